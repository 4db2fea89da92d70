// The basic ByteSource implementations.
//
// FileSource    a local file read with pread; extent_at from SEEK_DATA / SEEK_HOLE.
// MemorySource  bytes owned in memory (tests, fuzz targets, small decoded metadata).
// SliceSource   the range [offset, offset + length) of a parent (a partition, an LV segment).
// CacheSource   an LRU cache of aligned blocks in front of a parent that is slow to reach
//               (network) or read in many small pieces (parsers). Bounded by block count.
//
// All are final, immutable after open except for CacheSource's internal cache (behind a mutex),
// and safe for concurrent reads. Factories that do I/O return Result<unique_ptr<...>>.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/byte_source.h"

namespace ig {

// What a path is when it is not a regular file or block device ("a directory", "a FIFO"), from
// its st_mode, for messages.
std::string_view file_type_name(unsigned mode);

// Reads exactly out.size() bytes of the open file `fd` at `offset`; an end of file is an error
// naming `name`, never zeros.
Result<void> pread_exact(int fd, std::uint64_t offset, std::span<std::byte> out, const std::string& name);
// The run at `offset` (< end) of the open file `fd`, its first `end` bytes considered: data or a
// hole (zeros), from SEEK_DATA and SEEK_HOLE; data when the file system cannot tell.
Extent file_extent_at(int fd, std::uint64_t offset, std::uint64_t end);

class FileSource final : public ByteSource {
 public:
  // Opens `path` read-only (O_RDONLY | O_CLOEXEC | O_NOFOLLOW is not used: the user names the
  // file, and a symlink they made is theirs to follow).
  static Result<std::unique_ptr<FileSource>> open(const std::string& path);
  ~FileSource() override;

  std::uint64_t size() const override { return size_; }
  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override;
  Result<Extent> extent_at(std::uint64_t offset) const override;
  std::string name() const override { return path_; }

  // Bytes the file occupies on its file system (st_blocks * 512): qemu-img's "actual-size".
  std::uint64_t allocated_bytes() const { return allocated_bytes_; }
  std::optional<std::uint64_t> stored_bytes() const override { return allocated_bytes_; }
  // The open descriptor, for a sandboxed reader that must keep it (sandbox/sandbox.h). Owned by
  // the FileSource.
  int fd() const { return fd_; }

 private:
  FileSource(int fd, std::string path, std::uint64_t size, std::uint64_t allocated)
      : fd_(fd), path_(std::move(path)), size_(size), allocated_bytes_(allocated) {}
  int fd_;
  std::string path_;
  std::uint64_t size_;
  std::uint64_t allocated_bytes_;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::vector<std::byte> data, std::string name = "memory")
      : data_(std::move(data)), name_(std::move(name)) {}
  std::uint64_t size() const override { return data_.size(); }
  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override;
  std::string name() const override { return name_; }

 private:
  std::vector<std::byte> data_;
  std::string name_;
};

class SliceSource final : public ByteSource {
 public:
  // Fails with kOutOfRange when the slice does not lie inside the parent.
  static Result<std::unique_ptr<SliceSource>> create(SourcePtr parent, std::uint64_t offset, std::uint64_t length,
                                                     std::string name);
  std::uint64_t size() const override { return length_; }
  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override;
  Result<Extent> extent_at(std::uint64_t offset) const override;
  std::string name() const override { return name_; }

 private:
  SliceSource(SourcePtr parent, std::uint64_t offset, std::uint64_t length, std::string name)
      : parent_(std::move(parent)), offset_(offset), length_(length), name_(std::move(name)) {}
  SourcePtr parent_;
  std::uint64_t offset_;
  std::uint64_t length_;
  std::string name_;
};

// ConcatSource: pieces of other sources laid end to end (an LVM logical volume's segments).
class ConcatSource final : public ByteSource {
 public:
  explicit ConcatSource(std::vector<SourcePtr> pieces, std::string name);
  std::uint64_t size() const override { return size_; }
  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override;
  Result<Extent> extent_at(std::uint64_t offset) const override;
  std::string name() const override { return name_; }

 private:
  std::vector<SourcePtr> pieces_;
  std::vector<std::uint64_t> starts_;  // offset of each piece
  std::uint64_t size_ = 0;
  std::string name_;
};

class CacheSource final : public ByteSource {
 public:
  // block_size must be a power of two; capacity_blocks >= 1.
  CacheSource(SourcePtr parent, std::uint32_t block_size, std::size_t capacity_blocks);
  std::uint64_t size() const override { return parent_->size(); }
  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override;
  Result<Extent> extent_at(std::uint64_t offset) const override { return parent_->extent_at(offset); }
  std::string name() const override { return parent_->name(); }

  std::uint64_t hits() const;
  std::uint64_t misses() const;

 private:
  using Block = std::shared_ptr<const std::vector<std::byte>>;
  Result<Block> block(std::uint64_t index) const;

  SourcePtr parent_;
  std::uint32_t block_size_;
  std::size_t capacity_;
  mutable std::mutex mu_;
  mutable std::list<std::uint64_t> lru_;  // front = most recent
  mutable std::unordered_map<std::uint64_t, std::pair<Block, std::list<std::uint64_t>::iterator>> blocks_;
  mutable std::uint64_t hits_ = 0;
  mutable std::uint64_t misses_ = 0;
};

}  // namespace ig
