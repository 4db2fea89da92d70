#include "service/progress_meter.h"

#include <algorithm>
#include <cmath>

namespace ig::service {

void ProgressMeter::start_disk(std::int64_t n, std::int64_t percent_from, std::int64_t percent_to,
                               Clock::time_point at) {
  std::lock_guard lock(m_);
  disk_ = n;
  from_ = percent_from;
  to_ = percent_to;
  started_ = at;
  fetched_ = bytes_ = converted_ = virtual_bytes_ = 0;
  ++version_;
}

void ProgressMeter::fetched(std::uint64_t done, std::uint64_t total) {
  std::lock_guard lock(m_);
  fetched_ = done;
  bytes_ = total;
  ++version_;
}

void ProgressMeter::converted(std::uint64_t done, std::uint64_t total) {
  std::lock_guard lock(m_);
  converted_ = std::min(done, total);
  virtual_bytes_ = total;
  ++version_;
}

std::uint64_t ProgressMeter::version() const {
  std::lock_guard lock(m_);
  return version_;
}

namespace {

std::int64_t permille(std::uint64_t done, std::uint64_t all) {
  return all == 0 ? 0 : static_cast<std::int64_t>(std::min(done, all) * 1000 / all);
}

// Seconds to finish `all` at the rate `done` took `elapsed`; -1 when nothing has been done yet.
double seconds_to_finish(std::uint64_t done, std::uint64_t all, double elapsed) {
  if (done >= all) return 0;
  if (done == 0) return -1;
  return static_cast<double>(all - done) * elapsed / static_cast<double>(done);
}

}  // namespace

catalog::Progress ProgressMeter::at(Clock::time_point now) const {
  std::lock_guard lock(m_);
  catalog::Progress p;
  p.disk = disk_;
  p.disks = disks_;
  p.fetched = static_cast<std::int64_t>(fetched_);
  p.bytes = static_cast<std::int64_t>(bytes_);
  p.converted = static_cast<std::int64_t>(converted_);
  p.virtual_bytes = static_cast<std::int64_t>(virtual_bytes_);
  p.percent = std::clamp<std::int64_t>(
      from_ + (to_ - from_) * (permille(fetched_, bytes_) + permille(converted_, virtual_bytes_)) / 2000, 0, 99);
  // An estimate needs a second of history and a known size; before that, none.
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  if (disk_ == 0 || elapsed < 1 || bytes_ == 0) return p;
  const double fetch = seconds_to_finish(fetched_, bytes_, elapsed);
  const double convert = virtual_bytes_ == 0 ? -1 : seconds_to_finish(converted_, virtual_bytes_, elapsed);
  // Before the conversion has a rate, it is taken to end with the download it follows; once the
  // download is in and the conversion has not started (a format whose tables are at its end),
  // there is nothing to go by.
  const double left = convert >= 0 ? std::max(fetch, convert) : fetch > 0 ? fetch : -1;
  if (left >= 0) p.seconds_left = static_cast<std::int64_t>(std::ceil(left));
  return p;
}

}  // namespace ig::service
