#!/usr/bin/python3
"""Import at the speed of the download (issue 17): imagegate's import against curl alone, same run.

  bench/import_bench.sh [BUILD_DIR] [WORKDIR]     (default build/release, build/import-bench)
  SIZE=2G  RUNS=3  SCRATCH=DIR (the worker's scratch directory, DATA/scratch, is DIR: on a tmpfs,
                                the downloads never reach the disk the stored images are written to)

Makes three raw disks of SIZE, every byte of them data (the sample guest's file system, then
random bytes to the end): a good one, one without virtio (VirtioNotInstall) and one without a
partition table (PartitionNotPresent); the deciding bytes of both lie in the first 300 MiB. Puts
them in Swift's S3 on loopback and presigns them. Then, RUNS times each, alternating:
  curl     curl -o FILE URL: the download alone, to disk
  import   ImportImage → the image leaves IMPORTING (DescribeImages polled every 20 ms), one
           `imagegate serve --workers 1` on the embedded default (SQLite + a directory)
Prints the medians, import / curl, and for the failing disks the fraction of the object fetched
when the verdict came (the worker's "download abandoned" log line). Swift, the service and the
client share the machine's cores, so a second table says where the CPU went in each median run:
core-seconds of the whole machine (/proc/stat, idle and iowait excluded), of Swift's processes, and
of curl or of `imagegate serve` with the sandboxed readers it has reaped (/proc/PID/stat); the
bytes written to the work directory's disk meanwhile (/proc/diskstats: what reached the disk, not
the page cache), and for an import the second its download finished (the worker's "download
finished" log line).
"""
import json
import os
import resource
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


TICK = os.sysconf("SC_CLK_TCK")


def machine_cpu():
    """Core-seconds the machine has been busy since boot: user, nice, system, irq, softirq."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:8]]
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / TICK


def process_cpu(pids):
    """Core-seconds of PIDS and of the children they have reaped (utime, stime, cutime, cstime)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])
    return total / TICK


def pids_of(text):
    """The processes whose command line contains TEXT."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if text.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def disk_written(path):
    """Bytes written since boot to the disk (or partition) that holds PATH."""
    dev = os.stat(path).st_dev
    with open("/proc/diskstats") as f:
        for line in f:
            v = line.split()
            if int(v[0]) == os.major(dev) and int(v[1]) == os.minor(dev):
                return int(v[9]) * 512
    return 0


class Meter:
    """What was spent between start() and stop(): CPU of the machine, of Swift and of one party,
    and the bytes written to the disk of `path`."""

    def __init__(self, swift_pids, party, path):
        self.swift_pids, self.party, self.path = swift_pids, party, path

    def sample(self):
        return machine_cpu(), process_cpu(self.swift_pids), self.party(), disk_written(self.path)

    def start(self):
        self.began = self.sample()

    def stop(self):
        return tuple(b - a for a, b in zip(self.began, self.sample()))


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def curl_seconds(url, out, meter):
    meter.start()
    began = time.monotonic()
    subprocess.run(["curl", "-sSf", "-o", out, url], check=True)
    seconds = time.monotonic() - began
    cpu = meter.stop()
    os.remove(out)
    return seconds, cpu


def import_seconds(endpoint, url, n, meter):
    meter.start()
    began = time.monotonic()
    r = scale_tool.call(endpoint, sid, key, "ImportImage",
                        {"ImageName": f"bench-{n}", "ImageUrl": url, "OsType": "Debian", "OsVersion": "12",
                         "Architecture": "x86_64"}, tries=1)
    entry = {"id": r["ImageId"], "secret_id": sid, "secret_key": key}
    while True:
        got = scale_tool.describe([endpoint], [entry]).get(r["ImageId"])
        if got and got["ImageState"] != "IMPORTING":
            seconds = time.monotonic() - began
            return seconds, got["ImageState"], meter.stop(), r["ImageId"]
        if time.monotonic() - began > 1800:
            sys.exit("import bench: an import still running after 30 minutes")
        time.sleep(0.02)


def log_events(log):
    for line in open(log):
        try:
            yield json.loads(line)
        except ValueError:
            continue


def download_seconds(log, image_id):
    """When the import's download finished, in seconds after the worker started the import."""
    started = finished = None
    for event in log_events(log):
        if event.get("msg") == "import started" and event.get("ImageId") == image_id:
            started = float(event["ts"])
        elif event.get("msg") == "download finished" and event.get("key", "").startswith(image_id + "."):
            finished = float(event["ts"])
    return finished - started if started is not None and finished is not None else None


def abandoned_fractions(log):
    fractions = []
    for event in log_events(log):
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
        if os.environ.get("SCRATCH"):
            # The worker's scratch (DATA/scratch) elsewhere, as an operator mounts it.
            shutil.rmtree(os.environ["SCRATCH"], ignore_errors=True)
            os.makedirs(os.environ["SCRATCH"])
            os.makedirs(os.path.join(work, "data"))
            os.symlink(os.environ["SCRATCH"], os.path.join(work, "data", "scratch"))
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
        swift_pids = pids_of(swift_dir)
        curl_meter = Meter(swift_pids, children_cpu, work)
        import_meter = Meter(swift_pids, lambda: process_cpu([server.pid]), work)
        cpu_rows = []
        n = 0
        for name in ("good", "novirtio", "nopart"):
            curls, imports = [], []
            before = len(abandoned_fractions(log))
            for _ in range(runs):
                curls.append(curl_seconds(urls[name], os.path.join(work, "curl.out"), curl_meter))
                n += 1
                seconds, state, cpu, image_id = import_seconds(endpoint, urls[name], n, import_meter)
                if (state == "NORMAL") != (name == "good"):
                    sys.exit(f"import bench: {name} ended {state}")
                imports.append((seconds, cpu, download_seconds(log, image_id)))
            curls.sort()
            imports.sort()
            (c, c_cpu), (i, i_cpu, i_download) = curls[len(curls) // 2], imports[len(imports) // 2]
            cpu_rows.append((name, "curl", c, *c_cpu, c))
            cpu_rows.append((name, "import", i, *i_cpu, i_download))
            fractions = abandoned_fractions(log)[before:]
            fetched = f"{statistics.median(fractions):.2f}" if fractions else "-"
            print(f"{name:<10} {expected[name]:<20} {c:>7.2f} {i:>9.2f} {i / c:>11.2f}x {fetched:>19}", flush=True)
        print("CPU core-seconds of the median runs (the machine has "
              f"{os.cpu_count()} cores: at most {os.cpu_count()} core-seconds per second)")
        print(f"{'disk':<10} {'run':<7} {'wall s':>7} {'machine':>8} {'swift':>7} {'curl or imagegate':>18} "
              f"{'disk written MB':>16} {'downloaded at s':>16}")
        for name, run, wall, machine, swift, party, written, downloaded in cpu_rows:
            at = f"{downloaded:.2f}" if downloaded is not None else "-"
            print(f"{name:<10} {run:<7} {wall:>7.2f} {machine:>8.2f} {swift:>7.2f} {party:>18.2f} "
                  f"{written / 1e6:>16.0f} {at:>16}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run([os.path.join(support, "stop-swift.sh"), swift_dir], capture_output=True)


if __name__ == "__main__":
    main(sys.argv)
