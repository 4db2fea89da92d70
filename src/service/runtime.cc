#include "service/runtime.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/server.h"
#include "base/text.h"
#include "service/actions.h"
#include "service/config.h"
#include "service/console.h"
#include "service/http.h"
#include "service/metrics.h"
#include "service/notify.h"
#include "service/worker.h"

namespace ig::service {
namespace {

// The parts a process runs on: its configuration, catalog and image store.
struct Parts {
  ServiceConfig config;
  std::unique_ptr<catalog::Catalog> catalog;
  std::unique_ptr<store::ImageStore> store;
};

Result<Parts> load(const std::string& config_path, const std::string& data) {
  std::ifstream in(config_path);
  if (!in) return Error::invalid_argument(fmt::format("{}: cannot read the configuration file", config_path));
  const auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return Error::invalid_argument(fmt::format("{}: the configuration is not JSON", config_path));
  auto config = parse_service_config(j, data);
  if (!config) return config.error().with_context(config_path);
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  if (ec) return Error::io(fmt::format("{}: cannot create the data directory: {}", data, ec.message()));
  Parts p;
  p.catalog = IG_TRY(catalog::open_catalog(config->catalog));
  p.store = IG_TRY(store::open_image_store(config->store));
  p.config = std::move(*config);
  p.config.limits.store = p.store.get();
  return p;
}

// Import workers and one notification sender on threads; stopped and joined on destruction
// (each worker finishes the import it holds).
class Background {
 public:
  Background(Parts& parts, unsigned workers, Metrics* metrics) {
    for (unsigned i = 0; i < workers; ++i) {
      workers_.push_back(std::make_unique<Worker>(*parts.catalog, *parts.store, parts.config.worker, metrics));
      threads_.emplace_back([this, w = workers_.back().get()] { w->run(stop_); });
    }
    if (workers > 0) {
      notifier_ = std::make_unique<Notifier>(*parts.catalog, parts.config.notify);
      threads_.emplace_back([this] { notifier_->run(stop_); });
    }
  }
  ~Background() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Notifier> notifier_;
  std::vector<std::thread> threads_;
};

// SIGTERM and SIGINT are blocked in every thread and awaited by one, so nothing runs in signal
// context; `on_signal` runs on that thread.
class SignalWaiter {
 public:
  // Blocks them in the calling thread, and so in every thread it starts afterwards; a signal
  // that arrives before a waiter exists stays pending until one does.
  static sigset_t block() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    return set;
  }
  explicit SignalWaiter(std::function<void()> on_signal) : set_(block()) {
    thread_ = std::thread([this, on_signal = std::move(on_signal)] {
      const timespec tick{0, 100'000'000};
      while (!done_) {
        if (sigtimedwait(&set_, nullptr, &tick) > 0) {
          log_event("info", "signal received: stopping");
          on_signal();
          return;
        }
      }
    });
  }
  ~SignalWaiter() {
    done_ = true;
    thread_.join();
  }
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

 private:
  sigset_t set_{};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void log_event(const char* level, const std::string& message,
               std::initializer_list<std::pair<const char*, std::string>> fields) {
  nlohmann::ordered_json j;
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  j["ts"] = fmt::format("{}.{:03}", ms / 1000, ms % 1000);
  j["level"] = level;
  j["msg"] = message;
  for (const auto& [key, value] : fields) j[key] = value;
  static std::mutex mu;
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mu);
  std::cerr << line << std::flush;
}

Result<void> serve(const ServeOptions& options) {
  const auto colon = options.listen.rfind(':');
  if (colon == std::string::npos) {
    return Error::invalid_argument(fmt::format("{}: --listen wants HOST:PORT", options.listen));
  }
  const std::string host = options.listen.substr(0, colon);
  const int port = std::atoi(options.listen.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return Error::invalid_argument(fmt::format("{}: not a port", options.listen));
  Parts parts = IG_TRY(load(options.config_path, options.data_dir));
  Metrics metrics;
  api::Api api(parts.config.api);
  api::register_static_actions(api);
  register_catalog_actions(api, *parts.catalog, parts.config.limits);
  register_message_actions(api, *parts.catalog, parts.config.limits, parts.config.notify);
  metrics.set_known_actions(api.actions());

  // The API, three plain-text pages for operators (/healthz, /readyz, /metrics) and the web
  // console's files under /console/.
  auto text = [](int status, std::string body, const char* type = "text/plain") {
    api::HttpResponse r;
    r.status = status;
    r.headers["Content-Type"] = type;
    r.body = std::move(body);
    return r;
  };
  auto operator_page = [&](const api::HttpRequest& req) -> std::optional<api::HttpResponse> {
    if (req.method != "GET" || !req.query.empty()) return std::nullopt;
    if (req.path == "/healthz") return text(200, "ok\n");
    if (req.path == "/readyz") {
      auto catalog = parts.catalog->ping();
      auto store = parts.store->ping();
      std::string body =
          fmt::format("catalog ({}): {}\n", parts.catalog->backend(), catalog ? "ok" : catalog.error().message);
      body += fmt::format("image store ({}): {}\n", parts.store->location(), store ? "ok" : store.error().message);
      return text(catalog && store ? 200 : 503, std::move(body));
    }
    if (req.path == "/metrics") {
      auto depth = parts.catalog->queue_depth();
      return text(200, metrics.render(depth ? *depth : -1), "text/plain; version=0.0.4");
    }
    return std::nullopt;
  };
  auto counted = [&metrics](api::HttpResponse r, std::chrono::steady_clock::time_point start) {
    metrics.request(r.action, r.error_code, seconds_since(start));
    return r;
  };
  HttpHandlers handlers;
  handlers.screen = [&](const api::HttpRequest& head) -> std::optional<api::HttpResponse> {
    if (operator_page(head) || head.path == "/healthz" || head.path == "/readyz" || head.path == "/metrics") {
      return std::nullopt;
    }
    // The console's pages are answered from the head: a body sent to them is never held.
    if (is_console_path(head.path)) return console_page(head);
    const auto start = std::chrono::steady_clock::now();
    if (auto refused = api.screen(head)) return counted(std::move(*refused), start);
    return std::nullopt;
  };
  handlers.overflow = [&](const api::HttpRequest& head, Overflow why) {
    const auto start = std::chrono::steady_clock::now();
    if (why == Overflow::kBodyTooLarge) {
      return counted(api.refuse(head, "RequestSizeLimitExceeded",
                                {"api.body-too-large", {std::to_string(parts.config.http.max_body)}}),
                     start);
    }
    return counted(api.refuse(head, "RequestLimitExceeded", {"api.busy", {}}), start);
  };
  handlers.handle = [&](api::HttpRequest req) {
    if (auto page = operator_page(req)) return *page;
    const auto start = std::chrono::steady_clock::now();
    return counted(api.handle(std::move(req)), start);
  };
  SignalWaiter::block();  // before the server's threads start, so they inherit the mask
  auto server = IG_TRY(HttpServer::start(host, port, parts.config.http, std::move(handlers)));
  {
    SignalWaiter signals([&server] { server->stop(); });
    Background background(parts, options.workers, &metrics);
    log_event("info", "listening",
              {{"address", fmt::format("{}:{}", host, port)},
               {"catalog", parts.catalog->backend()},
               {"store", parts.store->location()},
               {"workers", std::to_string(options.workers)}});
    fmt::print("imagegate serve: listening on {}:{}\n", host, port);
    std::fflush(stdout);
    server->wait();
  }
  log_event("info", "stopped");
  return ok();
}

Result<void> run_workers(const WorkerOptions& options) {
  Parts parts = IG_TRY(load(options.config_path, options.data_dir));
  if (options.until_idle) {
    Worker worker(*parts.catalog, *parts.store, parts.config.worker);
    Notifier notifier(*parts.catalog, parts.config.notify);
    for (;;) {
      const bool imported = IG_TRY(worker.run_once());
      const bool notified = IG_TRY(notifier.run_once());
      if (!imported && !notified) return ok();
    }
  }
  std::atomic<bool> stop{false};
  {
    SignalWaiter signals([&stop] { stop = true; });
    Background background(parts, options.threads, nullptr);
    log_event("info", "worker started",
              {{"threads", std::to_string(options.threads)},
               {"catalog", parts.catalog->backend()},
               {"store", parts.store->location()}});
    fmt::print("imagegate worker: {} import thread(s) on {}\n", options.threads, options.data_dir);
    std::fflush(stdout);
    while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  log_event("info", "stopped");
  return ok();
}

}  // namespace ig::service
