// The worker reads an upload while it arrives (issue 17): one request, the check and the
// conversion following the download, the verdict as soon as its bytes are in, and every way a
// download can end badly named. The object store is a small Python server on loopback that
// serves a file as asked: at a given rate, stalling or closing after some bytes, or announcing
// more bytes than it sends; it logs, per request, the bytes it sent before the end.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "service/worker.h"
#include "store/image_store.h"
#include "support/guest.h"
#include "text/messages.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kServer = R"py(
import hashlib, http.server, sys, time, urllib.parse
path, log = sys.argv[1], open(sys.argv[2], "a", buffering=1)
def md5():
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        mode = q.get("mode", ["full"])[0]
        rate = int(q.get("rate", ["0"])[0])
        after = int(q.get("after", ["-1"])[0])
        with open(path, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data) + (1 << 20 if mode == "short" else 0)))
        self.send_header("ETag", '"%s"' % hashlib.md5(data).hexdigest())
        self.end_headers()
        sent = 0
        try:
            while sent < len(data):
                if 0 <= after <= sent:
                    while mode == "stall":
                        time.sleep(0.2)
                        self.wfile.write(b"")
                    break
                n = min(65536, len(data) - sent)
                if after >= 0:
                    n = min(n, after - sent)
                self.wfile.write(data[sent:sent + n])
                self.wfile.flush()
                sent += n
                if rate:
                    time.sleep(n / rate)
        except (BrokenPipeError, ConnectionResetError):
            pass
        log.write("%s %d\n" % (mode, sent))
        self.close_connection = True
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print(s.server_address[1], flush=True)
s.serve_forever()
)py";

class StreamedImport : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = catalog::open_catalog(dir_.file("catalog.sqlite"));
    ASSERT_THAT(c, IsOk());
    catalog_ = std::move(*c);
    store::StoreConfig sc;
    sc.location = dir_.file("images");
    auto s = store::open_image_store(sc);
    ASSERT_THAT(s, IsOk());
    store_ = std::move(*s);
    config_.data_dir = (dir_.path() / "data").string();
  }
  void TearDown() override { stop_serving(); }
  void stop_serving() {
    if (!pid_.empty()) run("kill " + pid_ + "; while kill -0 " + pid_ + " 2>/dev/null; do sleep 0.05; done");
    pid_.clear();
    port_.clear();
    run("rm -f " + dir_.file("requests"));
  }
  // The bytes the server sent for the one request it has logged (it logs a request when it
  // ends: once the worker has closed the connection).
  std::uint64_t sent_by_the_only_request() {
    for (int i = 0; i < 200 && requests().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::vector<std::string> log = requests();
    EXPECT_EQ(log.size(), 1u);
    return log.empty() ? UINT64_MAX : std::stoull(log[0].substr(log[0].find(' ') + 1));
  }
  // Serves `file` until the test ends.
  void serve(const std::string& file) {
    write_file(dir_.file("server.py"), text(kServer));
    pid_ = run_ok("/usr/bin/python3 " + dir_.file("server.py") + " " + file + " " + dir_.file("requests") + " > " +
                  dir_.file("port") + " 2>&1 & echo $!");
    while (!pid_.empty() && pid_.back() == '\n') pid_.pop_back();
    for (int i = 0; i < 100 && port_.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      port_ = run_ok("cat " + dir_.file("port"));
      while (!port_.empty() && port_.back() == '\n') port_.pop_back();
    }
    ASSERT_FALSE(port_.empty()) << "the test object store did not start";
    config_.storage = {{"127.0.0.1:" + port_, ""}};
  }
  // Queues the import of the served file under `id` with the query `query` ("mode=cut&after=N").
  void queue(const std::string& id, const std::string& query, const std::string& ext = ".raw") {
    catalog::Image i;
    i.image_id = id;
    i.account = "1001";
    i.name = id;
    i.image_url = "http://127.0.0.1:" + port_ + "/" + id + ext + (query.empty() ? "" : "?" + query);
    EXPECT_THAT(catalog_->create_import(i), IsOk());
  }
  // Imports it with one worker; returns the image.
  catalog::Image import(const std::string& id, const std::string& query, const std::string& ext = ".raw") {
    queue(id, query, ext);
    service::Worker worker(*catalog_, *store_, config_);
    auto took = worker.run_once();
    EXPECT_THAT(took, IsOk());
    auto page = catalog_->describe("1001", {id}, {}, 0, 10);
    EXPECT_THAT(page, IsOk());
    return page->images.empty() ? catalog::Image{} : page->images.front();
  }
  // The server's log: one "mode bytes-sent" line per request.
  std::vector<std::string> requests() const {
    return split_lines(run("cat " + dir_.file("requests") + " 2>/dev/null").out);
  }
  static std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1) {
      lines.push_back(s.substr(start, nl - start));
    }
    return lines;
  }
  void expect_scratch_empty() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_.path() / "data" / "scratch", ec)) ADD_FAILURE() << e.path();
  }

  TempDir dir_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<store::ImageStore> store_;
  service::WorkerConfig config_;
  std::string pid_;
  std::string port_;
};

// A raw guest disk, read, judged and converted while it arrives: NORMAL from one request, the
// stored qcow2 identical to the upload, nothing left in scratch.
TEST_F(StreamedImport, AGoodDiskImportsFromOneRequestWhileItArrives) {
  LinuxTree tree(dir_.path() / "tree");
  DiskSpec spec;
  spec.format = "raw";
  const std::string disk = make_guest_disk(dir_, (dir_.path() / "tree").string(), spec);
  serve(disk);
  const catalog::Image img = import("img-stream1", "rate=67108864");
  ASSERT_EQ(img.state, "NORMAL") << img.error_code << ": " << img.error_message;
  EXPECT_TRUE(img.supports_cloudinit);
  run_ok("qemu-img compare -f raw " + disk + " " + dir_.file("images/img-stream1.qcow2"));
  EXPECT_EQ(requests().size(), 1u);
  expect_scratch_empty();
}

// While the import runs, the catalog holds its progress as the worker measures it (recorded once
// a second at most): the disk, its bytes fetched of the announced size and converted of the
// virtual size, both only growing, and an estimate of the time left once there is a rate. After
// the end, no detail is left. (A 48 MiB raw disk served at 8 MiB/s: six seconds of download.)
TEST_F(StreamedImport, TheProgressSaysTheBytesFetchedAndConvertedAndTheTimeLeft) {
  LinuxTree tree(dir_.path() / "tree");
  DiskSpec spec;
  spec.format = "raw";
  const std::string disk = make_guest_disk(dir_, (dir_.path() / "tree").string(), spec);
  const std::uint64_t size = 48 << 20;
  run_ok("truncate -s " + std::to_string(size) + " " + disk);
  serve(disk);
  const std::string id = "img-progress";
  queue(id, "rate=8388608");
  std::atomic<bool> finished{false};
  std::thread working([&] {
    service::Worker worker(*catalog_, *store_, config_);
    EXPECT_THAT(worker.run_once(), IsOk());
    finished = true;
  });
  std::vector<catalog::Progress> seen;
  while (!finished) {
    auto img = catalog_->get("1001", id);
    ASSERT_THAT(img, IsOk());
    if ((*img)->state == "IMPORTING" && (*img)->progress.disk != 0 &&
        (seen.empty() || !((*img)->progress == seen.back()))) {
      seen.push_back((*img)->progress);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  working.join();
  ASSERT_GE(seen.size(), 3u) << "progress recorded about once a second over a six-second download";
  bool estimated = false;
  for (std::size_t n = 0; n < seen.size(); ++n) {
    const catalog::Progress& p = seen[n];
    SCOPED_TRACE(n);
    EXPECT_EQ(p.disk, 1);
    EXPECT_EQ(p.disks, 1);
    EXPECT_LE(p.fetched, p.bytes);
    EXPECT_LE(p.converted, p.virtual_bytes);
    if (p.bytes != 0) {
      EXPECT_EQ(p.bytes, static_cast<std::int64_t>(size));
    }
    if (p.virtual_bytes != 0) {
      EXPECT_EQ(p.virtual_bytes, static_cast<std::int64_t>(size));
    }
    if (n > 0) {
      EXPECT_GE(p.fetched, seen[n - 1].fetched);
      EXPECT_GE(p.converted, seen[n - 1].converted);
      EXPECT_GE(p.percent, seen[n - 1].percent);
    }
    if (p.fetched > 0 && p.fetched < p.bytes && p.seconds_left > 0) estimated = true;
  }
  EXPECT_TRUE(estimated) << "no estimate of the time left while the download ran";
  EXPECT_GT(seen.back().fetched, seen.front().fetched);
  auto done = catalog_->get("1001", id);
  ASSERT_THAT(done, IsOk());
  EXPECT_EQ((*done)->state, "NORMAL") << (*done)->error_message;
  EXPECT_EQ((*done)->progress.disk, 0);  // the detail was the running task's
  expect_scratch_empty();
}

// The last 64 KiB (where a fixed VHD keeps its footer and a GPT disk its backup header) are read
// as zeros while they have not arrived, and checked once they have: a raw disk whose end holds
// data is judged again and imports; a fixed VHD (its footer unseen until the end) is read again
// from the complete download, as a VHD when its name claims nothing and refused when it says .raw.
TEST_F(StreamedImport, TheEndOfTheFileIsCheckedOnceItArrives) {
  LinuxTree tree(dir_.path() / "tree");
  DiskSpec spec;
  spec.format = "raw";
  const std::string disk = make_guest_disk(dir_, (dir_.path() / "tree").string(), spec);
  run_ok("head -c 65536 /dev/urandom | dd of=" + disk + " bs=64K seek=1023 conv=notrunc status=none");
  const std::string vhd = dir_.file("fixed.vhd");
  run_ok("qemu-img convert -f raw -O vpc -o subformat=fixed " + disk + " " + vhd);
  serve(disk);
  const catalog::Image raw = import("img-tail1", "rate=67108864");
  ASSERT_EQ(raw.state, "NORMAL") << raw.error_code << ": " << raw.error_message;
  run_ok("qemu-img compare -f raw " + disk + " " + dir_.file("images/img-tail1.qcow2"));
  stop_serving();
  serve(vhd);
  const catalog::Image img = import("img-tail2", "rate=33554432", ".img");
  ASSERT_EQ(img.state, "NORMAL") << img.error_code << ": " << img.error_message;
  run_ok("qemu-img compare -f vpc " + vhd + " " + dir_.file("images/img-tail2.qcow2"));
  const catalog::Image named_raw = import("img-tail3", "rate=33554432", ".raw");
  EXPECT_EQ(named_raw.state, "IMPORTFAILED");
  EXPECT_EQ(named_raw.error_code, "InvalidFormatSize") << named_raw.error_message;
  expect_scratch_empty();
}

// The verdict comes when the bytes that decide it have arrived: the disk's partitions, file
// systems and initramfs lie in its first 64 MiB of 256; served at 32 MiB/s, the worker fails the
// import and closes the connection before the server has sent half of the file.
TEST_F(StreamedImport, AFailingDiskIsFailedBeforeHalfOfItArrives) {
  LinuxTree tree(dir_.path() / "tree");
  tree.remove("/boot/initrd.img-6.1.0-13-amd64");
  tree.remove("/usr/lib/modules");
  tree.add_kernel(
      LinuxTree::kKernel, "CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=m\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO=y\n",
      {"kernel/drivers/block/virtio_blk.ko", "kernel/drivers/net/virtio_net.ko"}, {"kernel/drivers/net/virtio_net.ko"});
  DiskSpec spec;
  spec.format = "raw";
  const std::string disk = make_guest_disk(dir_, (dir_.path() / "tree").string(), spec);
  const std::uint64_t size = 256 << 20;
  run_ok("truncate -s " + std::to_string(size) + " " + disk);
  serve(disk);
  const catalog::Image img = import("img-stream2", "rate=33554432");
  EXPECT_EQ(img.state, "IMPORTFAILED");
  EXPECT_EQ(img.error_code, "VirtioNotInstall") << img.error_message;
  EXPECT_LT(sent_by_the_only_request(), size / 2) << "the verdict waited for the download";
  expect_scratch_empty();
  EXPECT_FALSE(fs::exists(dir_.file("images/img-stream2.qcow2")));

  // Without its partition table, the disk is probed whole for bare file systems, ZFS's labels in
  // its last 512 KiB among them (read as zeros until they arrive): PartitionNotPresent, early too.
  run_ok("dd if=/dev/zero of=" + disk + " bs=512 count=1 conv=notrunc status=none");
  stop_serving();
  serve(disk);
  const catalog::Image bare = import("img-stream3", "rate=33554432");
  EXPECT_EQ(bare.state, "IMPORTFAILED");
  EXPECT_EQ(bare.error_code, "PartitionNotPresent") << bare.error_message;
  EXPECT_LT(sent_by_the_only_request(), size / 2) << "the verdict waited for the download";
  expect_scratch_empty();
}

// A download that stalls, one cut halfway and one shorter than it announced each fail the import
// with InternalError naming what happened, and leave nothing in scratch or in the store.
TEST_F(StreamedImport, ADownloadThatStallsIsCutOrIsShortFailsNamingWhy) {
  // A good disk (64 MiB): no verdict can come before the download ends badly.
  LinuxTree tree(dir_.path() / "tree");
  DiskSpec spec;
  spec.format = "raw";
  const std::string disk = make_guest_disk(dir_, (dir_.path() / "tree").string(), spec);
  serve(disk);
  config_.stall_seconds = 2;
  struct Case {
    std::string query;
    std::string cause;
    std::string message;
  };
  int n = 0;
  for (const Case& c :
       {Case{"mode=stall&after=1048576", "url.stalled", "the download stalled: no data arrived for 2 seconds after"},
        Case{"mode=cut&after=4194304", "url.cut", "the download ended after 4194304 of the 67108864 bytes"},
        Case{"mode=short", "url.cut", "the download ended after 67108864 of the 68157440 bytes"}}) {
    SCOPED_TRACE(c.query);
    const catalog::Image img = import("img-bad" + std::to_string(n++), c.query);
    EXPECT_EQ(img.state, "IMPORTFAILED");
    EXPECT_EQ(img.error_code, "InternalError");
    const std::optional<Message> cause = parse_message_json(img.error_cause);
    ASSERT_TRUE(cause.has_value()) << img.error_cause;
    EXPECT_EQ(cause->id, c.cause);
    EXPECT_NE(img.error_message.find(c.message), std::string::npos) << img.error_message;
    expect_scratch_empty();
  }
  for (const auto& e : fs::directory_iterator(dir_.file("images"))) ADD_FAILURE() << e.path();
}

// A worker killed (SIGKILL) in the middle of a download: its sandboxed reader dies with it, the
// task stays RUNNING until its lease runs out, then the next worker takes it again (attempt 2),
// downloads it anew over the partial file and imports it NORMAL; nothing is left in scratch.
TEST_F(StreamedImport, AWorkerKilledMidDownloadLeavesTheImportToTheNext) {
  LinuxTree tree(dir_.path() / "tree");
  DiskSpec spec;
  spec.format = "raw";
  const std::string disk = make_guest_disk(dir_, (dir_.path() / "tree").string(), spec);
  serve(disk);
  queue("img-killed", "rate=8388608");  // 64 MiB in 8 s
  config_.lease_seconds = 2;
  // The first worker is a process of its own (its catalog and store opened there), as a
  // `imagegate worker` is.
  pid_t worker = ::fork();
  ASSERT_GE(worker, 0);
  if (worker == 0) {
    auto c = catalog::open_catalog(dir_.file("catalog.sqlite"));
    store::StoreConfig sc;
    sc.location = dir_.file("images");
    auto s = store::open_image_store(sc);
    if (!c || !s) ::_exit(3);
    service::Worker w(**c, **s, config_);
    (void)w.run_once();
    ::_exit(0);
  }
  struct Reaper {  // however the test ends, the first worker does not outlive it
    pid_t& pid;
    ~Reaper() {
      if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
    }
  } reaper{worker};
  const fs::path part = dir_.path() / "data" / "scratch" / "img-killed.src.part";
  std::error_code ec;
  auto partial = [&] {
    const std::uint64_t n = fs::file_size(part, ec);
    return ec ? std::uint64_t{0} : n;
  };
  for (int n = 0; n < 400 && partial() < (8u << 20); ++n) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  const std::uint64_t fetched = partial();
  auto state = [&] {
    auto page = catalog_->describe("1001", {"img-killed"}, {}, 0, 10);
    return page && !page->images.empty() ? page->images.front().state + " " + page->images.front().error_message
                                         : std::string("?");
  };
  ASSERT_GE(fetched, 8u << 20) << "the first worker's download did not get going: " << state();
  ASSERT_LT(fetched, 64u << 20) << "the download ended before the kill";
  // Its sandboxed reader, started with the worker's pid among its arguments, dies with it (the
  // bracket keeps pgrep from finding the shell that runs it).
  const std::string reader = "pgrep -f -- '[-]-ig-sandbox-child import-upload-reader " + std::to_string(worker) + " '";
  EXPECT_EQ(run(reader).exit_code, 0) << "no sandboxed reader runs beside the download";
  ::kill(worker, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(worker, &status, 0), worker);
  worker = -1;
  ASSERT_TRUE(WIFSIGNALED(status));
  bool reader_gone = false;
  for (int n = 0; n < 100 && !reader_gone; ++n) {
    reader_gone = run(reader).exit_code != 0;
    if (!reader_gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(reader_gone) << "the sandboxed reader outlived its worker";
  auto before = catalog_->describe("1001", {"img-killed"}, {}, 0, 10);
  ASSERT_THAT(before, IsOk());
  ASSERT_EQ(before->images.size(), 1u);
  EXPECT_EQ(before->images.front().state, "IMPORTING");

  // The next worker: nothing to take while the lease holds, then the import again.
  service::Worker next(*catalog_, *store_, config_);
  bool took = false;
  for (int n = 0; n < 100 && !took; ++n) {
    auto worked = next.run_once();
    ASSERT_THAT(worked, IsOk());
    took = *worked;
    if (!took) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(took) << "the task was not taken again after its lease ran out";
  auto after = catalog_->describe("1001", {"img-killed"}, {}, 0, 10);
  ASSERT_THAT(after, IsOk());
  const catalog::Image img = after->images.front();
  ASSERT_EQ(img.state, "NORMAL") << img.error_code << ": " << img.error_message;
  run_ok("qemu-img compare -f raw " + disk + " " + dir_.file("images/img-killed.qcow2"));
  // The server logs a request when its connection ends.
  for (int n = 0; n < 200 && requests().size() < 2; ++n) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(requests().size(), 2u) << "one request cut by the kill, one whole";
  expect_scratch_empty();
}

}  // namespace
}  // namespace ig::test
