// The import worker: takes queued import tasks from the catalog and carries them out — fetch the
// image once from object storage (libcurl, into a scratch file, size-capped); read it, judge it
// with the check rules and convert it to qcow2 in the sandbox (sandbox/sandbox.h), into a local
// scratch file; put that into the image repository, import its data disks beside it, and record
// NORMAL or IMPORTFAILED with the code and cause of SPEC §3 — and the account's message, in the
// language the account had when it asked — in one transaction.
//
// URLs are told apart as SPEC §3 asks: a host that is not configured object storage, an object in
// a region the import's region may not read (finance zones and regions outside the mainland read
// only their own region), an object that is private (an unsigned URL refused), a signature that
// expired (403 "Request has expired"), an object deleted (404).
// A task's lease (catalog.h) makes a crash safe: the worker extends it while it works; after a
// crash the task is taken again once the lease runs out, the previous attempt's partial files are
// removed first, its complete downloads reused (a signed URL may be single-use: each is fetched
// once), and a stale holder cannot finish it.
// Thread safety: one Worker per thread; several may share a Catalog.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "base/limits.h"
#include "catalog/catalog.h"
#include "io/arriving_source.h"
#include "rules/check.h"
#include "rules/report.h"
#include "service/metrics.h"
#include "service/progress_meter.h"
#include "store/image_store.h"

namespace ig::service {

// An object-storage endpoint of the cloud: "host", "host:port" or "*.suffix" (any bucket
// subdomain), and its region ("" when the endpoint serves every region).
struct StorageEndpoint {
  std::string host;
  std::string region;
};

struct WorkerConfig {
  std::string data_dir;  // images in DATA/images, downloads in DATA/scratch
  std::vector<StorageEndpoint> storage;
  std::uint64_t max_download_bytes = 600ULL << 30;
  std::int64_t lease_seconds = 20;  // renewed by a heartbeat every quarter of it while the task runs
  // A download that brings under 1 KiB/s for this long is abandoned (config "download_stall_seconds").
  std::int64_t stall_seconds = 120;
  // An image whose root imagegate cannot read (ZFS, LUKS, an unread file system) cannot be
  // verified: refused with InternalError naming the volume (false, the default), or imported
  // unverified (true). Config key "unverified_images": "refuse" | "import".
  bool import_unverified = false;
  // The bounds every import's read runs under, the sandbox's budgets included (base/limits.h).
  Limits limits;
};

// Whether an import asked in `import_region` may read an object of `object_region`: finance
// zones (*-fsi) and regions outside the Chinese mainland only from their own region.
bool region_allows(const std::string& import_region, const std::string& object_region);

// What fetching a URL gave: a file, or the code and its cause.
struct Fetched {
  bool ok = false;
  std::string path;
  std::uint64_t bytes = 0;
  std::string sha256;      // of the bytes received
  std::string error_code;  // "InvalidUrl", "InvalidFormatSize", "InternalError"
  ig::Message cause;
};

// Fetches `url` into `destination`, hashing it (SHA-256, and MD5 to compare with a single-part
// S3 ETag: a mismatch is a download damaged on the way). `region` is the import's; `on_progress(done, total)` is
// called as bytes arrive (total 0 when unknown) and may return false to abort.
// `front`, when given, is told the announced size and every byte as it is written, and ends
// complete (only once the bytes are all there and match the ETag) or failed: the readers of an
// ArrivingSource over `destination` follow it (io/arriving_source.h).
Fetched fetch_object(const std::string& url, const std::string& region, const std::string& destination,
                     const WorkerConfig& config,
                     const std::function<bool(std::uint64_t, std::uint64_t)>& on_progress = {},
                     ArrivalFront* front = nullptr);

// Fetches `url` into `path` once per import, even across crashes (a signed URL may be
// single-use): the download goes to PATH.part, becomes PATH when complete, and PATH.sha256
// records its hash. A later call reuses PATH, without a request, when its bytes still hash to
// the record; a missing, damaged or mismatched record means a fresh fetch.
Fetched fetch_once(const std::string& url, const std::string& region, const std::string& path,
                   const WorkerConfig& config, const std::function<bool(std::uint64_t, std::uint64_t)>& on_progress);
// fetch_once's two halves, for a caller that reads the download while it arrives: the download
// kept at PATH when its bytes still hash to its record (else nothing, and PATH and its record
// are removed); and, once a fetch into PATH.part has succeeded, PATH.part made PATH with its record.
std::optional<Fetched> kept_download(const std::string& path);
void keep_download(const std::string& path, Fetched& f);

// One disk of an import: where it comes from, where it goes, which rules judge it.
struct DiskJob {
  bool system_disk = true;  // false: a data disk (format and virtual size only)
  std::string url;
  std::string region;
  std::string scratch;  // the download's path
  std::string key;      // the converted image's key in the store
  CheckOptions rules;
  std::int64_t number = 1;         // 1 for the system disk, then the data disks
  std::int64_t progress_from = 0;  // the task's progress while this disk is imported, in percent
  std::int64_t progress_to = 100;
};

struct DiskOutcome {
  bool ok = false;
  std::string error_code;  // SPEC §3
  ig::Message cause;
  std::uint64_t virtual_size = 0;
  bool supports_cloudinit = false;
  std::string sha256;  // of the download
};

class Worker {
 public:
  // `metrics` (may be null) counts the imports, bytes fetched and bytes written.
  Worker(catalog::Catalog& catalog, store::ImageStore& store, WorkerConfig config, Metrics* metrics = nullptr)
      : catalog_(catalog), store_(store), config_(std::move(config)), metrics_(metrics) {}
  // Carries out one task if there is one: true when a task was taken.
  Result<bool> run_once();
  // Loops until `stop` is set, sleeping briefly when there is no work. Once `stop` is set, the
  // import in hand is stopped and its task released for another worker (SIGTERM: stop claiming,
  // give the work back, exit).
  void run(const std::atomic<bool>& stop);

 private:
  catalog::Outcome import(const catalog::Task& task, const std::stop_token& stop, ProgressMeter& progress);
  DiskOutcome import_disk(const DiskJob& job, const std::stop_token& stop, ProgressMeter& progress);
  // One pass of import_disk; `again` is set when the disk must be read once more from its complete
  // download (the end of the file named a format the first pass could not see).
  DiskOutcome import_disk_once(const DiskJob& job, const std::stop_token& stop, ProgressMeter& progress, bool& again);
  catalog::Catalog& catalog_;
  store::ImageStore& store_;
  WorkerConfig config_;
  Metrics* metrics_;
  const std::atomic<bool>* shutdown_ = nullptr;  // run()'s stop flag
};

// The store's keys of an image's system disk (<id>.qcow2) and its Nth data disk, from 1
// (<id>-dataN.qcow2).
std::string image_key(const std::string& image_id);
std::string data_disk_key(const std::string& image_id, std::int64_t n);

// Removes an image's files: its scratch files under DATA/scratch and its stored disks with any
// unfinished puts; `keep_downloads` spares complete downloads.
void remove_import_files(store::ImageStore& store, const std::string& data_dir, const std::string& image_id,
                         bool keep_downloads);

// Removes the files under DATA/scratch of images that are no longer IMPORTING (left by a worker
// killed mid-import whose task another worker finished); returns how many. Files of images the
// catalog cannot vouch for now are kept.
std::int64_t sweep_scratch(catalog::Catalog& catalog, const std::string& data_dir);

// The account's message for a finished task, rendered in the image's language.
catalog::InboxMessage message_for(const catalog::Image& image, const catalog::Outcome& outcome);

}  // namespace ig::service
