#include "service/store_pump.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "sandbox/sandbox.h"

namespace ig::service {
namespace {

// The largest 'W' frame: the converter writes at most a few MiB at once.
constexpr std::uint64_t kMaxFrameBytes = std::uint64_t{64} << 20;

// 1: read whole; 0: the pipe ended before the first byte; -1: it ended midway or failed.
int read_fully(int fd, void* data, std::size_t size) {
  auto* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, p + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return got == 0 && n == 0 ? 0 : -1;
    got += static_cast<std::size_t>(n);
  }
  return 1;
}

// Reads and drops what is left in the pipe, until it ends.
void drain(int fd) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
  }
}

}  // namespace

Result<void> PipeSink::write_at(std::uint64_t offset, std::span<const std::byte> data) {
  IG_TRY(within_budget(offset, data.size()));
  for (std::uint64_t done = 0; done < data.size();) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(data.size() - done, kMaxFrameBytes));
    IG_TRY(frame('W', offset + done, data.subspan(static_cast<std::size_t>(done), n)));
    done += n;
  }
  size_ = std::max(size_, offset + data.size());
  return ok();
}

Result<void> PipeSink::set_size(std::uint64_t size) {
  IG_TRY(within_budget(size, 0));
  IG_TRY(frame('S', size, {}));
  size_ = size;
  return ok();
}

Result<void> PipeSink::within_budget(std::uint64_t offset, std::uint64_t n) {
  if (offset <= max_bytes_ && n <= max_bytes_ - offset) return ok();
  ::raise(SIGXFSZ);
  return Error::limit_exceeded(fmt::format("the converted image grows past the output budget of {} bytes", max_bytes_));
}

Result<void> PipeSink::frame(char tag, std::uint64_t value, std::span<const std::byte> data) {
  const std::uint64_t n = data.size();
  const bool sent = write_all(fd_, &tag, 1) && write_all(fd_, &value, sizeof value) &&
                    (tag != 'W' || (write_all(fd_, &n, sizeof n) && write_all(fd_, data.data(), data.size())));
  if (!sent) return Error::io(fmt::format("writing the converted image to the worker: {}", std::strerror(errno)));
  return ok();
}

void StorePump::run(int fd) {
  read_frames(fd);
  // Whatever ended the frames, the writer must not block on a full pipe: the rest is dropped (its
  // own budgets bound what it can still write).
  drain(fd);
}

void StorePump::read_frames(int fd) {
  std::vector<std::byte> buffer;
  auto malformed = [&](std::string_view what) {
    fail(Error::internal(fmt::format("the converted image's stream is malformed: {}", what)));
  };
  auto over_budget = [&](std::string_view what, std::uint64_t value) {
    fail(Error::limit_exceeded(fmt::format("the converted image's stream {} {} bytes, past the output budget of {}",
                                           what, value, max_bytes_)));
  };
  for (;;) {
    char tag = 0;
    std::uint64_t value = 0;
    const int head = read_fully(fd, &tag, 1);
    if (head == 0) return;
    if (head < 0 || read_fully(fd, &value, sizeof value) != 1) {
      return fail(Error::internal("the converted image's stream was cut"));
    }
    if (tag == 'H') {
      if (sink_) return malformed("it opened the store twice");
      if (value > max_bytes_) return over_budget("announced", value);
      auto opened = store_.put(key_, value);
      if (!opened) {
        fail(opened.error());
      } else {
        sink_ = std::move(*opened);
      }
    } else if (tag == 'W') {
      std::uint64_t n = 0;
      if (read_fully(fd, &n, sizeof n) != 1) return fail(Error::internal("the converted image's stream was cut"));
      if (n > kMaxFrameBytes) return malformed(fmt::format("a write of {} bytes, over {}", n, kMaxFrameBytes));
      buffer.resize(static_cast<std::size_t>(n));
      if (n != 0 && read_fully(fd, buffer.data(), buffer.size()) != 1) {
        return fail(Error::internal("the converted image's stream was cut"));
      }
      if (failure_) continue;
      if (value > max_bytes_ || n > max_bytes_ - value) {
        over_budget("reached", value + n);
      } else if (!sink_) {
        malformed("it wrote before it opened the store");
      } else if (auto w = sink_->write_at(value, buffer); !w) {
        fail(w.error());
      }
    } else if (tag == 'S') {
      if (failure_) continue;
      if (value > max_bytes_) {
        over_budget("sized the image to", value);
      } else if (!sink_) {
        malformed("it sized the image before it opened the store");
      } else if (auto w = sink_->set_size(value); !w) {
        fail(w.error());
      }
    } else {
      return malformed(fmt::format("unknown frame 0x{:02x}", static_cast<unsigned char>(tag)));
    }
  }
}

Result<void> StorePump::commit() {
  if (failure_) return *failure_;
  if (!sink_) return Error::internal("the converted image never reached the store");
  return sink_->commit();
}

}  // namespace ig::service
