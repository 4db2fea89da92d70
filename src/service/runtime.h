// The service's processes: `imagegate serve` (the API over HTTP, with in-process workers) and
// `imagegate worker` (import workers and the notification sender on their own). This is where the
// parts are wired: the configuration file, the catalog and image store it names, the API's
// actions, the worker threads, the HTTP server with /healthz, /readyz and /metrics, structured
// logs, and the signals. The CLI only parses arguments and calls these.
//
// Signals: SIGTERM and SIGINT stop a process gracefully. `serve` stops accepting connections and
// answers the requests in flight; workers stop claiming tasks and finish the import they hold (its
// lease keeps being renewed until it ends); then the process exits 0.
// Errors: kInvalidArgument for a configuration mistake (named), kUnavailable for an address in
// use or a catalog or store that cannot be reached at start.
#pragma once

#include <string>

#include "base/error.h"

namespace ig::service {

struct ServeOptions {
  std::string config_path;
  std::string data_dir;
  std::string listen = "127.0.0.1:9000";
  unsigned workers = 1;  // import threads in this process (0: none, and no notification sender)
};

struct WorkerOptions {
  std::string config_path;
  std::string data_dir;
  unsigned threads = 1;
  bool until_idle = false;  // exit once no task and no due delivery is left
};

Result<void> serve(const ServeOptions& options);
Result<void> run_workers(const WorkerOptions& options);

// One line of the structured log (JSON, on stderr): {"ts", "level", "msg", and the fields}.
// Values are escaped by the JSON writer, so guest or request text cannot forge a line.
void log_event(const char* level, const std::string& message,
               std::initializer_list<std::pair<const char*, std::string>> fields = {});

}  // namespace ig::service
