// SIGINT and SIGTERM while a command writes a file: stop cleanly and leave nothing behind.
//
// An InterruptGuard blocks SIGINT and SIGTERM in the calling thread (so in every thread started
// after it, which inherit the mask) and waits for them on its own thread with sigtimedwait(2):
// no code runs in signal context. The first signal requests a stop on stop_token(), which the
// converter honours (ConvertOptions::stop); the command then returns kCancelled and the
// AtomicFileSink's destructor removes its temporary file. A second signal, for a command that
// does not stop soon enough, unlinks the registered temporary file and exits at once with
// 128 + the signal number. Create it before the threads and the sink; destroy it after the sink.
// Not copyable; one per process at a time.
#pragma once

#include <signal.h>

#include <atomic>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

namespace ig {

class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  std::stop_token stop_token() const { return stop_.get_token(); }
  // The temporary file a second signal removes before exiting.
  void set_temp_path(std::string path);
  // The signal received (SIGINT, SIGTERM), or 0.
  int signal_received() const { return signal_.load(); }

 private:
  void watch();

  sigset_t set_{};
  sigset_t old_mask_{};
  std::stop_source stop_;
  std::atomic<int> signal_{0};
  std::atomic<bool> done_{false};
  std::atomic<bool> started_{false};  // watch() has begun
  std::mutex mutex_;
  std::string temp_path_;
  std::thread thread_;
};

}  // namespace ig
