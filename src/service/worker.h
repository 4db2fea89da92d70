// The import worker: takes queued import tasks from the catalog and carries them out — fetch the
// image once from object storage (libcurl, into a scratch file, size-capped), judge it with the
// check rules, convert it to qcow2 into the image repository (a local directory), and record
// NORMAL or IMPORTFAILED with the code and cause of SPEC §3 in the account's language.
//
// URLs are told apart as SPEC §3 asks: a host that is not configured object storage, an object
// that is private (403 without a signature), a signature that expired (403 "Request has
// expired"), an object deleted (404). A task's lease (catalog.h) makes a crash safe: the task is
// taken again after the lease, and a stale holder cannot finish it.
// Thread safety: one Worker per thread; several may share a Catalog.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "service/catalog.h"

namespace ig::service {

struct WorkerConfig {
  std::string data_dir;                    // images in DATA/images, downloads in DATA/scratch
  std::vector<std::string> storage_hosts;  // "host:port" (or "host") of the object storage
  std::uint64_t max_download_bytes = 600ULL << 30;
  std::int64_t lease_seconds = 900;
  std::string language = "en";  // of the causes recorded (the account's, later)
};

// What fetching a URL gave: a file, or the InvalidUrl cause.
struct Fetched {
  bool ok = false;
  std::string path;
  std::uint64_t bytes = 0;
  std::string error_code;  // "InvalidUrl", "InternalError"
  std::string cause;       // English detail
};

Fetched fetch_object(const std::string& url, const std::string& destination, const WorkerConfig& config);

class Worker {
 public:
  Worker(Catalog& catalog, WorkerConfig config) : catalog_(catalog), config_(std::move(config)) {}
  // Carries out one task if there is one: true when a task was taken.
  Result<bool> run_once();
  // Loops until `stop` is set, sleeping briefly when there is no work.
  void run(const std::atomic<bool>& stop);

 private:
  Outcome import(const Task& task);
  Catalog& catalog_;
  WorkerConfig config_;
};

}  // namespace ig::service
