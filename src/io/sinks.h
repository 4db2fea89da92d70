// ByteSink: where a conversion writes its output.
//
// A sink takes positioned writes (write_at), can be sized (set_size, for sparse raw output and a
// final truncate), and becomes durable and visible only at commit(). Until then nothing exists
// under the destination name: AtomicFileSink writes a temporary file beside the destination
// (same directory, so the final rename is atomic), and if it is destroyed before commit() (an
// error, ENOSPC, cancellation) the temporary file is removed. CountingSink writes nothing and
// reports the size the output would have: `measure --exact` runs the converter into one.
//
// Thread safety: a sink is used by one writer thread. Errors: kIo naming the path and errno
// (ENOSPC included), kInvalidArgument for a destination that would overwrite the source.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/error.h"

namespace ig {

class ByteSink {
 public:
  ByteSink() = default;
  ByteSink(const ByteSink&) = delete;
  ByteSink& operator=(const ByteSink&) = delete;
  virtual ~ByteSink() = default;

  virtual Result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) = 0;
  // Makes the output exactly `size` bytes long (extending with a hole, or truncating).
  virtual Result<void> set_size(std::uint64_t size) = 0;
  // Flushes to stable storage and makes the output visible under its final name.
  virtual Result<void> commit() = 0;
  // The output's size so far: the highest byte written or the size set, whichever is later.
  virtual std::uint64_t size() const = 0;
  virtual std::string name() const = 0;
};

class AtomicFileSink final : public ByteSink {
 public:
  // Creates the temporary file beside `path`, so that an unwritable or missing directory is
  // found before anything is converted. Refuses a `path` that is the same file as `source_path`
  // (a conversion must never modify its source), and a `path` that exists but is not a regular
  // file (a directory, a device: the commit's rename would replace it, or fail only at the end).
  static Result<std::unique_ptr<AtomicFileSink>> create(const std::string& path, const std::string& source_path = "");
  ~AtomicFileSink() override;

  Result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) override;
  Result<void> set_size(std::uint64_t size) override;
  Result<void> commit() override;
  std::uint64_t size() const override { return size_; }
  std::string name() const override { return path_; }
  const std::string& temp_path() const { return temp_path_; }
  // The temporary file's descriptor, for a sandboxed writer that must keep it (sandbox/sandbox.h).
  int fd() const { return fd_; }

 private:
  AtomicFileSink(int fd, std::string path, std::string temp_path)
      : fd_(fd), path_(std::move(path)), temp_path_(std::move(temp_path)) {}
  // Streams the output to the disk while it is being written, so that the fsync at commit()
  // finds little left to do and the page cache never holds more than a few windows of it.
  // Writeback is started for what lies more than kWritebackLag below the write head, and the
  // window before that is waited for and dropped from the cache. See write_at() for why.
  void stream_out();

  int fd_;
  std::string path_;
  std::string temp_path_;
  std::uint64_t size_ = 0;
  bool committed_ = false;
  std::uint64_t head_ = 0;             // the highest offset written
  std::uint64_t written_back_to_ = 0;  // writeback was started for [0, written_back_to_)
  std::uint64_t dropped_to_ = 0;       // [0, dropped_to_) was on the disk and left the cache
};

// Forwards writes to another sink and leaves its commit to the caller: the sandboxed converter
// (sandbox/sandbox.h) writes the file, and the parent, which may rename files and reach the
// store, commits. commit() does nothing; the wrapped sink must outlive this one.
class DeferredCommitSink final : public ByteSink {
 public:
  explicit DeferredCommitSink(ByteSink& sink) : sink_(sink) {}
  Result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    return sink_.write_at(offset, data);
  }
  Result<void> set_size(std::uint64_t size) override { return sink_.set_size(size); }
  Result<void> commit() override { return ok(); }
  std::uint64_t size() const override { return sink_.size(); }
  std::string name() const override { return sink_.name(); }

 private:
  ByteSink& sink_;
};

class CountingSink final : public ByteSink {
 public:
  Result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) override;
  Result<void> set_size(std::uint64_t size) override {
    size_ = size;
    return ok();
  }
  Result<void> commit() override { return ok(); }
  std::uint64_t size() const override { return size_; }
  std::string name() const override { return "(measure)"; }
  std::uint64_t bytes_written() const { return bytes_written_; }

 private:
  std::uint64_t size_ = 0;
  std::uint64_t bytes_written_ = 0;
};

}  // namespace ig
