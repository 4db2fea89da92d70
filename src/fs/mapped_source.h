// MappedSource: a file's contents as a ByteSource, from the file system's block map.
//
// A file is a list of runs: file blocks [logical, logical + count) stored at a device byte
// offset, or not stored at all (a hole, an uninitialized or unwritten extent), which reads as
// zeros. Small files kept inside the inode (ext4 inline data, XFS local format) are a byte
// vector instead. Shared by every file system reader. Thread safety: immutable after
// construction; reads are concurrent-safe. Errors: kCorrupt when a run lies past the device.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "io/byte_source.h"

namespace ig {

struct FileRun {
  std::uint64_t logical = 0;                 // first file block
  std::uint64_t count = 0;                   // blocks
  std::optional<std::uint64_t> device_byte;  // where the run's first block is; nothing: reads as zeros
};

class MappedSource final : public ByteSource {
 public:
  // `runs` sorted by `logical`, not overlapping.
  MappedSource(SourcePtr device, std::uint64_t block_size, std::uint64_t size, std::vector<FileRun> runs,
               std::string name)
      : device_(std::move(device)), bs_(block_size), size_(size), runs_(std::move(runs)), name_(std::move(name)) {}
  // A file stored inside its inode.
  MappedSource(std::vector<std::byte> data, std::string name)
      : bs_(1), size_(data.size()), inline_(std::move(data)), name_(std::move(name)) {}

  std::uint64_t size() const override { return size_; }
  std::string name() const override { return name_; }
  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override;

 private:
  SourcePtr device_;
  std::uint64_t bs_;
  std::uint64_t size_;
  std::vector<FileRun> runs_;
  std::vector<std::byte> inline_;
  std::string name_;
};

}  // namespace ig
