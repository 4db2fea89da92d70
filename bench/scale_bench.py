#!/usr/bin/python3
"""Imports per minute with 1, 2 and 3 worker processes, on both pairs of backends, in one run.

  bench/scale_bench.py [BUILD_DIR] [WORKDIR]       (default build/release, build/scale-bench)
  IMPORTS=12 WORKERS=1,2,3 IMAGE=path/to/image (default: scripts/sample-guest.sh's VMDK)

For each pair — SQLite + a directory (the embedded default: every process on one data directory)
and PostgreSQL 15 + an s3:// store in Swift (a data directory per process) — and each worker
count: a fresh catalog and store, one `imagegate serve --workers 0` and N `imagegate worker`
processes (one import thread each), IMPORTS imports of the same upload (presigned from Swift)
submitted at once, timed from the first ImportImage until the last image leaves IMPORTING
(DescribeImages polled every 0.1 s). Every import must end NORMAL. Prints a table. The peers
(PostgreSQL, Swift) and the client share the machine's cores with the service.
"""
import json
import os
import shutil
import subprocess
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "tests", "integration"))
import scale_tool  # noqa: E402

support = os.path.join(root, "tests", "support")
sid, key = "AKIDbench00000000000000000000000001", "bench-key"



def run(imagegate, work, backends, workers, imports, url, pg_url, s3, n):
    run_dir = os.path.join(work, f"{backends}-{workers}")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    config = {"accounts": [{"secret_id": sid, "secret_key": key, "app_id": "1250000001"}],
              "object_storage": [{"host": s3.removeprefix("http://"), "region": "ap-guangzhou"}],
              "image_quota": 100000}
    if backends == "postgresql-s3":
        db = f"bench_{n}"
        scale_tool.psql(pg_url.rsplit("/", 1)[0] + "/postgres", f"CREATE DATABASE {db}")
        config["catalog"] = pg_url.rsplit("/", 1)[0] + "/" + db
        config["image_store"] = {"location": f"s3://store/run-{n}", "endpoint": s3, "region": "us-east-1",
                                 "access_key": "test:tester", "secret_key": "testing"}
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump(config, f)
    port = scale_tool.free_port()
    procs = []

    def start(*args, data, log):
        out = open(os.path.join(run_dir, log), "w")
        procs.append(subprocess.Popen([imagegate, *args, "--config", os.path.join(run_dir, "config.json"),
                                       "--data", os.path.join(run_dir, data)], stdout=out, stderr=out))

    try:
        start("serve", "--listen", f"127.0.0.1:{port}", "--workers", "0", data="data", log="serve.log")
        scale_tool.wait_listening(port, os.path.join(run_dir, "serve.log"), "scale bench")
        for w in range(workers):
            data = "data" if backends == "sqlite-dir" else f"data-worker-{w}"
            start("worker", "--threads", "1", data=data, log=f"worker-{w}.log")
        endpoint = f"http://127.0.0.1:{port}"
        began = time.monotonic()
        entries = []
        for i in range(imports):
            r = scale_tool.call(endpoint, sid, key, "ImportImage",
                                {"ImageName": f"bench-{i}", "ImageUrl": url, "OsType": "Debian", "OsVersion": "12",
                                 "Architecture": "x86_64"}, tries=1)
            entries.append({"id": r["ImageId"], "secret_id": sid, "secret_key": key})
        while True:
            got = scale_tool.describe([endpoint], entries)
            if all(i["ImageState"] != "IMPORTING" for i in got.values()) and len(got) == imports:
                break
            if time.monotonic() - began > 1800:
                sys.exit("scale bench: imports still running after 30 minutes")
            time.sleep(0.1)
        seconds = time.monotonic() - began
        bad = [i for i in got.values() if i["ImageState"] != "NORMAL"]
        if bad:
            sys.exit(f"scale bench: imports failed: {[(i['ImageId'], i['ImageState']) for i in bad]}")
        return seconds
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def main(argv):
    build = os.path.realpath(argv[1] if len(argv) > 1 else os.path.join(root, "build", "release"))
    work = os.path.realpath(argv[2] if len(argv) > 2 else os.path.join(root, "build", "scale-bench"))
    imports = int(os.environ.get("IMPORTS", "12"))
    counts = [int(w) for w in os.environ.get("WORKERS", "1,2,3").split(",")]
    imagegate = os.path.join(build, "src", "cli", "imagegate")
    if not os.access(imagegate, os.X_OK):
        sys.exit(f"scale bench: no {imagegate} (cmake --preset release && cmake --build --preset release)")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chmod(work, 0o755)  # PostgreSQL runs as nobody
    image = os.environ.get("IMAGE")
    if not image:
        image = os.path.join(work, "sample.vmdk")
        subprocess.run([os.path.join(root, "scripts", "sample-guest.sh"), image], check=True,
                       stdout=subprocess.DEVNULL)
    pg_dir, swift_dir = os.path.join(work, "pg"), os.path.join(work, "swift")
    env = dict(os.environ, IG_SWIFT_PORT=str(scale_tool.free_port()))
    try:
        pg_url = subprocess.run([os.path.join(support, "start-postgres.sh"), pg_dir, str(scale_tool.free_port())], check=True,
                                capture_output=True, text=True).stdout.strip()
        s3 = subprocess.run([os.path.join(support, "start-swift.sh"), swift_dir], check=True, env=env,
                            capture_output=True, text=True).stdout.strip()
        client = scale_tool.s3client(s3)
        client.create_bucket(Bucket="uploads")
        client.create_bucket(Bucket="store")
        with open(image, "rb") as f:
            client.put_object(Bucket="uploads", Key="image", Body=f)
        url = client.generate_presigned_url("get_object", Params={"Bucket": "uploads", "Key": "image"},
                                            ExpiresIn=7200)
        size = os.path.getsize(image)
        print(f"scale bench: {imports} imports of {os.path.basename(image)} ({size / 2**20:.1f} MiB) per run, "
              f"one import thread per worker process, {os.cpu_count()} cores shared with PostgreSQL, Swift and "
              f"the client")
        print(f"{'backends':<16} {'workers':>7} {'seconds':>8} {'imports/min':>12} {'vs 1 worker':>12}")
        n = 0
        for backends in ("sqlite-dir", "postgresql-s3"):
            first = None
            for workers in counts:
                n += 1
                seconds = run(imagegate, work, backends, workers, imports, url, pg_url, s3, n)
                rate = imports * 60 / seconds
                first = first or rate
                print(f"{backends:<16} {workers:>7} {seconds:>8.1f} {rate:>12.1f} {rate / first:>11.2f}x", flush=True)
    finally:
        subprocess.run([os.path.join(support, "stop-postgres.sh"), pg_dir], capture_output=True)
        subprocess.run([os.path.join(support, "stop-swift.sh"), swift_dir], capture_output=True)


if __name__ == "__main__":
    main(sys.argv)
