#include "io/sinks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ig {

namespace {

constexpr std::uint64_t kWritebackBytes = 32 << 20;

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<std::unique_ptr<AtomicFileSink>> AtomicFileSink::create(const std::string& path,
                                                               const std::string& source_path) {
  if (path.empty()) return Error::invalid_argument("output path is empty");
  struct stat dst {};
  if (!source_path.empty() && ::stat(path.c_str(), &dst) == 0) {
    struct stat src {};
    if (::stat(source_path.c_str(), &src) == 0 && src.st_dev == dst.st_dev && src.st_ino == dst.st_ino) {
      return Error::invalid_argument(fmt::format("{}: the output is the source file; refusing to overwrite it", path));
    }
  }
  std::string temp = path + ".imagegate-XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return Error::from_errno(fmt::format("create a temporary file beside {}", path), errno);
  ::fchmod(fd, 0644);
  return std::unique_ptr<AtomicFileSink>(new AtomicFileSink(fd, path, std::move(temp)));
}

AtomicFileSink::~AtomicFileSink() {
  ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

Result<void> AtomicFileSink::write_at(std::uint64_t offset, std::span<const std::byte> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(fmt::format("write {} at {}", path_, offset + done), errno);
    }
    done += static_cast<std::size_t>(n);
  }
  size_ = std::max(size_, offset + data.size());
  dirty_begin_ = std::min(dirty_begin_, offset);
  dirty_end_ = std::max(dirty_end_, offset + data.size());
  unsynced_bytes_ += data.size();
  if (unsynced_bytes_ >= kWritebackBytes) start_writeback();
  return ok();
}

void AtomicFileSink::start_writeback() {
  // Best effort: a failure here changes nothing, fsync at commit() still decides.
  ::sync_file_range(fd_, static_cast<off_t>(dirty_begin_), static_cast<off_t>(dirty_end_ - dirty_begin_),
                    SYNC_FILE_RANGE_WRITE);
  unsynced_bytes_ = 0;
  dirty_begin_ = UINT64_MAX;
  dirty_end_ = 0;
}

Result<void> AtomicFileSink::set_size(std::uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    return Error::from_errno(fmt::format("set the size of {} to {}", path_, size), errno);
  }
  size_ = size;
  return ok();
}

Result<void> AtomicFileSink::commit() {
  if (::fsync(fd_) != 0) return Error::from_errno(fmt::format("fsync {}", path_), errno);
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return Error::from_errno(fmt::format("rename {} to {}", temp_path_, path_), errno);
  }
  committed_ = true;
  // Make the rename itself durable.
  const int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return ok();
}

Result<void> CountingSink::write_at(std::uint64_t offset, std::span<const std::byte> data) {
  size_ = std::max(size_, offset + data.size());
  bytes_written_ += data.size();
  return ok();
}

}  // namespace ig
