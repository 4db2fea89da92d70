#!/usr/bin/python3
"""Import at the speed of the download (issue 17): imagegate's import against curl alone, same run.

  bench/import_bench.sh [BUILD_DIR] [WORKDIR]     (default build/release, build/import-bench)
  SIZE=2G  RUNS=3

Makes three raw disks of SIZE, every byte of them data (the sample guest's file system, then
random bytes to the end): a good one, one without virtio (VirtioNotInstall) and one without a
partition table (PartitionNotPresent); the deciding bytes of both lie in the first 300 MiB. Puts
them in Swift's S3 on loopback and presigns them. Then, RUNS times each, alternating:
  curl     curl -o FILE URL: the download alone, to disk
  import   ImportImage → the image leaves IMPORTING (DescribeImages polled every 20 ms), one
           `imagegate serve --workers 1` on the embedded default (SQLite + a directory)
Prints the medians, import / curl, and for the failing disks the fraction of the object fetched
when the verdict came (the worker's "download abandoned" log line). Swift, the service and the
client share the machine's cores.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(root, "tests", "integration"))
import scale_tool  # noqa: E402

support = os.path.join(root, "tests", "support")
sid, key = "AKIDbench00000000000000000000000001", "bench-key"



def size_bytes(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def make_disks(work, size):
    """good.raw, novirtio.raw, nopart.raw: SIZE bytes each, all data."""
    disks = {}
    for name, args in (("good", []), ("novirtio", ["--no-virtio"])):
        vmdk = os.path.join(work, f"{name}.vmdk")
        subprocess.run([os.path.join(root, "scripts", "sample-guest.sh"), *args, vmdk], check=True,
                       stdout=subprocess.DEVNULL)
        raw = os.path.join(work, f"{name}.raw")
        subprocess.run(["qemu-img", "convert", "-f", "vmdk", "-O", "raw", vmdk, raw], check=True)
        os.remove(vmdk)
        disks[name] = raw
    # After the 256 MiB file system (from 1 MiB), random bytes to the end: inside the partition,
    # outside the file system, so the disk stays good and every byte must be converted.
    for raw in disks.values():
        subprocess.run(f"head -c {size - (300 << 20)} /dev/urandom | dd of={raw} bs=1M seek=300 conv=notrunc "
                       f"status=none && truncate -s {size} {raw}", shell=True, check=True)
    nopart = os.path.join(work, "nopart.raw")
    shutil.copy(disks["good"], nopart)
    subprocess.run(f"dd if=/dev/zero of={nopart} bs=512 count=1 conv=notrunc status=none", shell=True, check=True)
    disks["nopart"] = nopart
    return disks


def curl_seconds(url, out):
    began = time.monotonic()
    subprocess.run(["curl", "-sSf", "-o", out, url], check=True)
    seconds = time.monotonic() - began
    os.remove(out)
    return seconds


def import_seconds(endpoint, url, n):
    began = time.monotonic()
    r = scale_tool.call(endpoint, sid, key, "ImportImage",
                        {"ImageName": f"bench-{n}", "ImageUrl": url, "OsType": "Debian", "OsVersion": "12",
                         "Architecture": "x86_64"}, tries=1)
    entry = {"id": r["ImageId"], "secret_id": sid, "secret_key": key}
    while True:
        got = scale_tool.describe([endpoint], [entry]).get(r["ImageId"])
        if got and got["ImageState"] != "IMPORTING":
            return time.monotonic() - began, got["ImageState"]
        if time.monotonic() - began > 1800:
            sys.exit("import bench: an import still running after 30 minutes")
        time.sleep(0.02)


def abandoned_fractions(log):
    fractions = []
    for line in open(log):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("msg", "").startswith("download abandoned") and event.get("announced", "").isdigit():
            fractions.append(int(event["fetched"]) / int(event["announced"]))
    return fractions


def main(argv):
    build = os.path.realpath(argv[1] if len(argv) > 1 else os.path.join(root, "build", "release"))
    work = os.path.realpath(argv[2] if len(argv) > 2 else os.path.join(root, "build", "import-bench"))
    size = size_bytes(os.environ.get("SIZE", "2G"))
    runs = int(os.environ.get("RUNS", "3"))
    imagegate = os.path.join(build, "src", "cli", "imagegate")
    if not os.access(imagegate, os.X_OK):
        sys.exit(f"import bench: no {imagegate} (cmake --preset release && cmake --build --preset release)")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    disks = make_disks(work, size)
    swift_dir = os.path.join(work, "swift")
    env = dict(os.environ, IG_SWIFT_PORT=str(scale_tool.free_port()))
    server = None
    try:
        s3 = subprocess.run([os.path.join(support, "start-swift.sh"), swift_dir], check=True, env=env,
                            capture_output=True, text=True).stdout.strip()
        client = scale_tool.s3client(s3)
        client.create_bucket(Bucket="uploads")
        urls = {}
        for name, path in disks.items():
            with open(path, "rb") as f:
                client.put_object(Bucket="uploads", Key=f"{name}.raw", Body=f)
            urls[name] = client.generate_presigned_url("get_object", Params={"Bucket": "uploads", "Key": f"{name}.raw"},
                                                       ExpiresIn=7200)
            os.remove(path)
        config = {"accounts": [{"secret_id": sid, "secret_key": key, "app_id": "1250000001"}],
                  "object_storage": [{"host": s3.removeprefix("http://"), "region": "ap-guangzhou"}],
                  "image_quota": 100000}
        with open(os.path.join(work, "config.json"), "w") as f:
            json.dump(config, f)
        port = scale_tool.free_port()
        log = os.path.join(work, "serve.log")
        server = subprocess.Popen([imagegate, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "1", "--config",
                                   os.path.join(work, "config.json"), "--data", os.path.join(work, "data")],
                                  stdout=open(log, "w"), stderr=subprocess.STDOUT)
        scale_tool.wait_listening(port, log, "import bench")
        endpoint = f"http://127.0.0.1:{port}"
        print(f"import bench: raw disks of {size / 2**30:.1f} GiB, all data, from Swift's S3 on loopback; "
              f"{runs} runs each, medians; {os.cpu_count()} cores shared by Swift, the service and the client")
        print(f"{'disk':<10} {'expected':<20} {'curl s':>7} {'import s':>9} {'import/curl':>12} {'fetched at verdict':>19}")
        expected = {"good": "NORMAL", "novirtio": "VirtioNotInstall", "nopart": "PartitionNotPresent"}
        n = 0
        for name in ("good", "novirtio", "nopart"):
            curls, imports = [], []
            before = len(abandoned_fractions(log))
            for _ in range(runs):
                curls.append(curl_seconds(urls[name], os.path.join(work, "curl.out")))
                n += 1
                seconds, state = import_seconds(endpoint, urls[name], n)
                if (state == "NORMAL") != (name == "good"):
                    sys.exit(f"import bench: {name} ended {state}")
                imports.append(seconds)
            c, i = statistics.median(curls), statistics.median(imports)
            fractions = abandoned_fractions(log)[before:]
            fetched = f"{statistics.median(fractions):.2f}" if fractions else "-"
            print(f"{name:<10} {expected[name]:<20} {c:>7.2f} {i:>9.2f} {i / c:>11.2f}x {fetched:>19}", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run([os.path.join(support, "stop-swift.sh"), swift_dir], capture_output=True)


if __name__ == "__main__":
    main(sys.argv)
