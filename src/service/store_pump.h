// The converted image's way from the sandboxed reader into the image store.
//
// The reader converts in a child that cannot reach the store (an S3 store needs sockets), so the
// qcow2 crosses to the worker through a pipe as the converter writes it, and goes straight into
// the store: no local copy. Frames, in the order the converter makes them (host byte order):
//   'H' u64 size_hint               the store's object is opened (its part size depends on it)
//   'W' u64 offset  u64 n, n bytes  write_at, n ≤ 64 MiB
//   'S' u64 size                    set_size
// PipeSink is the child's side, a ByteSink. StorePump is the worker's: it applies the frames to
// the store's sink and never trusts them — a compromised child may write anything — so every
// frame is checked against the protocol and the output budget before the store sees it. The
// commit is the worker's, once the child has ended well.
// Thread safety: a PipeSink is used by one thread; a StorePump runs on one thread and is read
// (failure(), commit()) once run() has returned.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "base/error.h"
#include "io/sinks.h"
#include "store/image_store.h"

namespace ig::service {

// A pipe has no RLIMIT_FSIZE: the sink holds the output budget itself, and ends the child past it
// with the signal the rlimit would have sent (SIGXFSZ), which the sandbox names `output-budget`.
class PipeSink final : public ByteSink {
 public:
  PipeSink(int fd, std::uint64_t max_bytes) : fd_(fd), max_bytes_(max_bytes) {}
  Result<void> open(std::uint64_t size_hint) { return frame('H', size_hint, {}); }
  Result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) override;
  Result<void> set_size(std::uint64_t size) override;
  Result<void> commit() override { return ok(); }  // the worker commits
  std::uint64_t size() const override { return size_; }
  std::string name() const override { return "the store"; }

 private:
  Result<void> within_budget(std::uint64_t offset, std::uint64_t n);
  Result<void> frame(char tag, std::uint64_t value, std::span<const std::byte> data);
  int fd_;
  std::uint64_t max_bytes_;
  std::uint64_t size_ = 0;
};

class StorePump {
 public:
  // Writes into `store` under `key` (both must outlive the pump); nothing past `max_bytes`.
  StorePump(store::ImageStore& store, std::string key, std::uint64_t max_bytes)
      : store_(store), key_(std::move(key)), max_bytes_(max_bytes) {}
  // Applies the frames read from `fd` until the pipe ends. After the first failure (the store's, or
  // a frame that breaks the protocol or the budget) nothing more reaches the store, but the pipe
  // is read to its end, so that the writer never blocks on a full pipe.
  void run(int fd);
  // The first failure: the store's, or the stream's ("the converted image's stream …").
  const std::optional<Error>& failure() const { return failure_; }
  // Commits what the stream wrote: fails if anything failed or the store was never opened.
  Result<void> commit();

 private:
  void read_frames(int fd);
  void fail(Error e) {
    if (!failure_) failure_ = std::move(e);
  }
  store::ImageStore& store_;
  std::string key_;
  std::uint64_t max_bytes_;
  std::unique_ptr<ByteSink> sink_;
  std::optional<Error> failure_;
};

}  // namespace ig::service
