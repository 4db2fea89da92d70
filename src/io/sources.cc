#include "io/sources.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ig {

// ---- FileSource ----

std::string_view file_type_name(unsigned mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a file";
}

Result<std::unique_ptr<FileSource>> FileSource::open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading blocks until a writer appears (forever, for a
  // hostile path), and a tty or device may act on open; the type is checked before anything
  // else, and the flag is cleared for the regular files and block devices that are read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return Error::from_errno(fmt::format("open {}", path), errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Error::from_errno(fmt::format("stat {}", path), err);
  }
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    ::close(fd);
    return Error::unsupported(
        fmt::format("{}: is {}, not a regular file or block device", path, file_type_name(st.st_mode)));
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    int err = errno;
    ::close(fd);
    return Error::from_errno(fmt::format("fcntl {}", path), err);
  }
  std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) {
      int err = errno;
      ::close(fd);
      return Error::from_errno(fmt::format("size of {}", path), err);
    }
    size = static_cast<std::uint64_t>(end);
  }
  return std::unique_ptr<FileSource>(new FileSource(fd, path, size, static_cast<std::uint64_t>(st.st_blocks) * 512));
}

FileSource::~FileSource() {
  ::close(fd_);
}

Result<void> pread_exact(int fd, std::uint64_t offset, std::span<std::byte> out, const std::string& name) {
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(fmt::format("read {} at {}", name, offset + done), errno);
    }
    if (n == 0) {
      // The file shrank after open: treat as a short read, never as zeros.
      return Error::io(fmt::format("read {} at {}: unexpected end of file", name, offset + done));
    }
    done += static_cast<std::size_t>(n);
  }
  return ok();
}

Extent file_extent_at(int fd, std::uint64_t offset, std::uint64_t end) {
  const auto off = static_cast<off_t>(offset);
  off_t data = ::lseek(fd, off, SEEK_DATA);
  if (data < 0) {
    if (errno == ENXIO) return Extent{end - offset, ExtentKind::kZero};  // trailing hole
    return Extent{end - offset, ExtentKind::kData};                      // no information: all data, as qemu assumes
  }
  if (data > off) {
    return Extent{std::min<std::uint64_t>(static_cast<std::uint64_t>(data), end) - offset, ExtentKind::kZero};
  }
  off_t hole = ::lseek(fd, off, SEEK_HOLE);
  if (hole < 0 || static_cast<std::uint64_t>(hole) > end) hole = static_cast<off_t>(end);
  if (hole <= off) return Extent{end - offset, ExtentKind::kData};
  return Extent{static_cast<std::uint64_t>(hole) - offset, ExtentKind::kData};
}

Result<void> FileSource::read_at(std::uint64_t offset, std::span<std::byte> out) const {
  if (!fits(offset, out.size())) return out_of_range(offset, out.size());
  return pread_exact(fd_, offset, out, path_);
}

Result<Extent> FileSource::extent_at(std::uint64_t offset) const {
  if (offset >= size_) return out_of_range(offset, 1);
  return file_extent_at(fd_, offset, size_);
}

// ---- MemorySource ----

Result<void> MemorySource::read_at(std::uint64_t offset, std::span<std::byte> out) const {
  if (!fits(offset, out.size())) return out_of_range(offset, out.size());
  if (!out.empty()) std::memcpy(out.data(), data_.data() + offset, out.size());
  return ok();
}

// ---- SliceSource ----

Result<std::unique_ptr<SliceSource>> SliceSource::create(SourcePtr parent, std::uint64_t offset, std::uint64_t length,
                                                         std::string name) {
  if (offset > parent->size() || length > parent->size() - offset) {
    return Error::out_of_range(fmt::format("{}: [{}, +{}) does not lie inside {} ({} bytes)", name, offset, length,
                                           parent->name(), parent->size()));
  }
  return std::unique_ptr<SliceSource>(new SliceSource(std::move(parent), offset, length, std::move(name)));
}

Result<void> SliceSource::read_at(std::uint64_t offset, std::span<std::byte> out) const {
  if (!fits(offset, out.size())) return out_of_range(offset, out.size());
  return parent_->read_at(offset_ + offset, out);
}

Result<Extent> SliceSource::extent_at(std::uint64_t offset) const {
  if (offset >= length_) return out_of_range(offset, 1);
  Extent e = IG_TRY(parent_->extent_at(offset_ + offset));
  e.length = std::min(e.length, length_ - offset);
  return e;
}

// ---- ConcatSource ----

ConcatSource::ConcatSource(std::vector<SourcePtr> pieces, std::string name)
    : pieces_(std::move(pieces)), name_(std::move(name)) {
  for (const auto& p : pieces_) {
    starts_.push_back(size_);
    size_ += p->size();
  }
}

Result<void> ConcatSource::read_at(std::uint64_t offset, std::span<std::byte> out) const {
  if (!fits(offset, out.size())) return out_of_range(offset, out.size());
  std::size_t done = 0;
  while (done < out.size()) {
    const std::uint64_t pos = offset + done;
    const auto it = std::upper_bound(starts_.begin(), starts_.end(), pos);
    const std::size_t i = static_cast<std::size_t>(std::distance(starts_.begin(), it)) - 1;
    const std::uint64_t in_piece = pos - starts_[i];
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(pieces_[i]->size() - in_piece, out.size() - done));
    IG_TRY(pieces_[i]->read_at(in_piece, out.subspan(done, n)));
    done += n;
  }
  return ok();
}

Result<Extent> ConcatSource::extent_at(std::uint64_t offset) const {
  if (offset >= size_) return out_of_range(offset, 1);
  const auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  const std::size_t i = static_cast<std::size_t>(std::distance(starts_.begin(), it)) - 1;
  return pieces_[i]->extent_at(offset - starts_[i]);
}

// ---- CacheSource ----

CacheSource::CacheSource(SourcePtr parent, std::uint32_t block_size, std::size_t capacity_blocks)
    : parent_(std::move(parent)), block_size_(block_size), capacity_(std::max<std::size_t>(1, capacity_blocks)) {}

Result<CacheSource::Block> CacheSource::block(std::uint64_t index) const {
  {
    std::lock_guard lock(mu_);
    auto it = blocks_.find(index);
    if (it != blocks_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      ++hits_;
      return it->second.first;
    }
    ++misses_;
  }
  // Read outside the lock so that other blocks can be served meanwhile; two threads missing the
  // same block both read it, which is harmless.
  const std::uint64_t start = index * block_size_;
  const std::uint64_t len = std::min<std::uint64_t>(block_size_, parent_->size() - start);
  auto data = std::make_shared<std::vector<std::byte>>(len);
  IG_TRY(parent_->read_at(start, *data));
  std::lock_guard lock(mu_);
  if (blocks_.find(index) == blocks_.end()) {
    lru_.push_front(index);
    blocks_.emplace(index, std::make_pair(Block(data), lru_.begin()));
    while (blocks_.size() > capacity_) {
      blocks_.erase(lru_.back());
      lru_.pop_back();
    }
  }
  return Block(data);
}

Result<void> CacheSource::read_at(std::uint64_t offset, std::span<std::byte> out) const {
  if (!fits(offset, out.size())) return out_of_range(offset, out.size());
  std::size_t done = 0;
  while (done < out.size()) {
    const std::uint64_t pos = offset + done;
    const std::uint64_t index = pos / block_size_;
    const std::uint64_t in_block = pos % block_size_;
    Block b = IG_TRY(block(index));
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(b->size() - in_block, out.size() - done));
    std::memcpy(out.data() + done, b->data() + in_block, n);
    done += n;
  }
  return ok();
}

std::uint64_t CacheSource::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}
std::uint64_t CacheSource::misses() const {
  std::lock_guard lock(mu_);
  return misses_;
}

}  // namespace ig
