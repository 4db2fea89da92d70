// ArrivingSource: a file that a download is still writing, read as its bytes arrive.
//
// The import worker fetches an upload once and reads it while it arrives (issue 17): the writer
// appends to a scratch file and publishes how far it has written in an ArrivalFront, a few atomics
// in memory shared with the readers (the sandboxed reader is another process). A
// read of [offset, offset + n) waits until the front has passed offset + n, and fails at once when
// the download has failed, so the check and the conversion follow the download and never see a
// byte that has not arrived. The size is the one the download announced (Content-Length), or,
// when none was announced, the size at its end; opening waits for it.
//
// The last bytes of a file are what a reader looks at first for some answers: a fixed VHD's
// footer and a DMG's trailer (the format probe), a backup GPT header (the partition reader). Waiting
// for them would hold every verdict until the whole download is in. With guess_tail(true), a read
// that lies within the last MiB (kGuessedTailBytes) and has not arrived yet returns zeros at once — what
// the end of a raw disk usually holds — and the guess is remembered; guesses_held() later says,
// once the end has arrived, whether every guessed byte really was zero. A caller that guessed
// treats what it concluded as provisional until then (the import worker, decision 0019).
//
// Waiting is polling with short sleeps (nanosleep is in the sandbox's allow-list; a futex on a
// shared page would need FUTEX_WAIT without FUTEX_PRIVATE_FLAG, which std::atomic::wait does not
// promise). A reader stops waiting when the front says complete or failed; the writer always ends
// in one of the two.
// Thread safety: every const method is safe concurrently (ByteSource); ArrivalFront's fields are
// atomics, written by one writer.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "io/byte_source.h"

namespace ig {

struct ArrivalFront {
  static constexpr std::uint64_t kUnknown = UINT64_MAX;
  enum State : std::uint32_t { kArriving = 0, kComplete = 1, kFailed = 2 };

  std::atomic<std::uint64_t> size{kUnknown};  // the announced length, kUnknown until known
  std::atomic<std::uint64_t> arrived{0};      // [0, arrived) is in the file, in order
  std::atomic<std::uint32_t> state{kArriving};

  // The writer's side.
  void announce(std::uint64_t length) { size.store(length, std::memory_order_release); }
  void advance(std::uint64_t bytes) { arrived.fetch_add(bytes, std::memory_order_release); }
  // The end: complete (the size becomes what arrived, if none was announced) or failed.
  void finish(bool complete);
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "an ArrivalFront is shared between processes");

// An ArrivalFront in a shared mapping of a memory file: made by the writer's process, mapped by
// a reader's process from the file's descriptor (the sandboxed reader is another program).
class SharedArrivalFront {
 public:
  static Result<SharedArrivalFront> create();
  // Maps the front another process made (`fd` is SharedArrivalFront::fd() there; not owned).
  static Result<SharedArrivalFront> map(int fd);
  SharedArrivalFront(SharedArrivalFront&& other) noexcept
      : front_(std::exchange(other.front_, nullptr)), fd_(std::exchange(other.fd_, -1)) {}
  SharedArrivalFront& operator=(SharedArrivalFront&&) = delete;
  SharedArrivalFront(const SharedArrivalFront&) = delete;
  ~SharedArrivalFront();
  ArrivalFront& operator*() const { return *front_; }
  ArrivalFront* operator->() const { return front_; }
  // The memory file's descriptor, to give a reader (-1 for a front mapped with map()).
  int fd() const { return fd_; }

 private:
  SharedArrivalFront(ArrivalFront* front, int fd) : front_(front), fd_(fd) {}
  ArrivalFront* front_;
  int fd_;  // owned, when made here
};

class ArrivingSource final : public ByteSource {
 public:
  // Reads `fd` (not owned: it must outlive the source) as `front` says its bytes arrive; `name`
  // names it in messages. Waits until the size is known; fails if the download fails first.
  static Result<std::unique_ptr<ArrivingSource>> open(int fd, const ArrivalFront& front, std::string name);

  std::uint64_t size() const override { return size_; }
  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override;
  Result<Extent> extent_at(std::uint64_t offset) const override;
  std::string name() const override { return name_; }
  int fd() const { return fd_; }

  // The probe reads the last 64 KiB, the partition reader the last sector, the ZFS probe of a disk
  // without partitions its last two labels (the last 512 KiB), an md superblock sits within 128 KiB.
  static constexpr std::uint64_t kGuessedTailBytes = 1 << 20;
  // Whether reads of the last bytes that have not arrived return zeros (see above); off by default.
  void guess_tail(bool on) const { guessing_.store(on, std::memory_order_release); }
  // Whether anything was guessed.
  bool guessed() const { return guessed_from_.load(std::memory_order_acquire) < size_; }
  // Waits for the end of the download; true when every byte guessed so far is zero in the file.
  Result<bool> guesses_held() const;

 private:
  ArrivingSource(int fd, const ArrivalFront& front, std::string name, std::uint64_t size)
      : fd_(fd), front_(front), name_(std::move(name)), size_(size) {}
  // Waits until [0, end) has arrived; fails when the download fails or ends before `end`.
  Result<void> wait_for(std::uint64_t end) const;

  int fd_;
  const ArrivalFront& front_;
  std::string name_;
  std::uint64_t size_;
  mutable std::atomic<bool> guessing_{false};
  mutable std::atomic<std::uint64_t> guessed_from_{UINT64_MAX};  // the first byte guessed
};

}  // namespace ig
