// Metrics: the service's counters and histograms, rendered in the Prometheus text format for
// GET /metrics. Labels are fixed small sets (final states, the cloud's error codes, action
// names the API knows), so a label's cardinality is bounded by construction; an action name that
// is not registered is counted as "unknown".
// Thread safety: every method may be called from any thread (one mutex; updates are rare next to
// the work they count).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace ig::service {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}
  void observe(double value);
  // "name_bucket{le="…"} n" lines, then _sum and _count; `labels` is "" or `key="value"`.
  std::string render(const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  // An import that ended: its state (NORMAL, IMPORTFAILED), error code, and duration.
  void import_finished(const std::string& state, const std::string& error_code, double seconds);
  void bytes_fetched(std::uint64_t n);
  void bytes_written(std::uint64_t n);
  // An API request: its action (as the API recognised it; "" when none), its error code ("" on
  // success) and its latency.
  void request(const std::string& action, const std::string& error_code, double seconds);
  void set_known_actions(std::vector<std::string> actions);
  // The Prometheus text; `queue_depth` is read from the catalog by the caller (-1: unknown).
  std::string render(std::int64_t queue_depth) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> known_actions_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> imports_;
  Histogram import_seconds_;
  std::uint64_t fetched_ = 0;
  std::uint64_t written_ = 0;
  std::map<std::pair<std::string, std::string>, std::uint64_t> requests_;
  Histogram request_seconds_;
};

}  // namespace ig::service
