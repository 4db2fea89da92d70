#include "service/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace ig::service {

void Histogram::observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
  sum_ += value;
  ++count_;
}

std::string Histogram::render(const std::string& name, const std::string& labels) const {
  std::string out;
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, count_);
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, sum_, name, braces, count_);
  return out;
}

Metrics::Metrics()
    : import_seconds_({1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200}),
      request_seconds_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}) {}

void Metrics::set_known_actions(std::vector<std::string> actions) {
  std::lock_guard lock(mu_);
  known_actions_ = std::move(actions);
}

void Metrics::import_finished(const std::string& state, const std::string& error_code, double seconds) {
  std::lock_guard lock(mu_);
  ++imports_[{state, error_code}];
  import_seconds_.observe(seconds);
}

void Metrics::bytes_fetched(std::uint64_t n) {
  std::lock_guard lock(mu_);
  fetched_ += n;
}

void Metrics::bytes_written(std::uint64_t n) {
  std::lock_guard lock(mu_);
  written_ += n;
}

void Metrics::request(const std::string& action, const std::string& error_code, double seconds) {
  std::lock_guard lock(mu_);
  const bool known = std::find(known_actions_.begin(), known_actions_.end(), action) != known_actions_.end();
  // Error codes come from our own fixed table, never from the request.
  ++requests_[{known ? action : "unknown", error_code}];
  request_seconds_.observe(seconds);
}

std::string Metrics::render(std::int64_t queue_depth) const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP imagegate_imports_total Imports that ended, by final state and error code.\n";
  out += "# TYPE imagegate_imports_total counter\n";
  for (const auto& [key, n] : imports_) {
    out += fmt::format("imagegate_imports_total{{state=\"{}\",code=\"{}\"}} {}\n", key.first, key.second, n);
  }
  out += "# HELP imagegate_import_duration_seconds Time from a task's claim to its end.\n";
  out += "# TYPE imagegate_import_duration_seconds histogram\n";
  out += import_seconds_.render("imagegate_import_duration_seconds", "");
  out += "# HELP imagegate_import_queue_depth Import tasks queued or running, across all processes.\n";
  out += "# TYPE imagegate_import_queue_depth gauge\n";
  out += fmt::format("imagegate_import_queue_depth {}\n", queue_depth);
  out += "# HELP imagegate_fetched_bytes_total Bytes downloaded from object storage.\n";
  out += "# TYPE imagegate_fetched_bytes_total counter\n";
  out += fmt::format("imagegate_fetched_bytes_total {}\n", fetched_);
  out += "# HELP imagegate_written_bytes_total Bytes of converted images written to the image store.\n";
  out += "# TYPE imagegate_written_bytes_total counter\n";
  out += fmt::format("imagegate_written_bytes_total {}\n", written_);
  out += "# HELP imagegate_requests_total API requests by action and error code (\"\" on success).\n";
  out += "# TYPE imagegate_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += fmt::format("imagegate_requests_total{{action=\"{}\",code=\"{}\"}} {}\n", key.first, key.second, n);
  }
  out += "# HELP imagegate_request_duration_seconds API request latency.\n";
  out += "# TYPE imagegate_request_duration_seconds histogram\n";
  out += request_seconds_.render("imagegate_request_duration_seconds", "");
  return out;
}

}  // namespace ig::service
