// ByteSource: the one abstraction every layer reads through.
//
// A ByteSource is a fixed-length sequence of bytes: a file, a slice of another source, a guest
// disk decoded from an image format, a partition, a file inside a file system. read_at(offset,
// out) fills `out` exactly or fails; there is no position and no short read, so callers never
// loop and two threads may read the same source at once.
//
// extent_at(offset) describes the run of bytes starting at `offset` as data, zero or
// unallocated (qemu calls this block status), so that copy and measure can skip holes without
// reading them. The default says "data to the end"; file and image sources override it.
//
// Ownership: sources are held by unique_ptr, or shared_ptr<const ByteSource> when several
// readers or decorators share one. A decorator keeps its parent alive.
// Thread safety: every const method of every implementation is safe to call concurrently.
// Errors: kOutOfRange for a read past size(); kIo for local failures; kCorrupt when the bytes
// behind a decoded source (an image format) are malformed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace ig {

enum class ExtentKind {
  kData,         // bytes stored in the container; must be read
  kZero,         // known to read as zeros (a zero cluster, a file hole)
  kUnallocated,  // not stored at all; reads as zeros because nothing lies beneath
};

std::string_view extent_kind_name(ExtentKind kind);

struct Extent {
  std::uint64_t length = 0;  // > 0 unless offset == size()
  ExtentKind kind = ExtentKind::kData;
};

class ByteSource {
 public:
  ByteSource() = default;
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  virtual ~ByteSource() = default;

  // The length in bytes, fixed at open.
  virtual std::uint64_t size() const = 0;

  // Fills `out` with the bytes [offset, offset + out.size()). Exact or an error.
  virtual Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const = 0;

  // The run starting at `offset` (< size()) that has one kind. The length may be shorter than
  // the real run (callers ask again), never longer.
  virtual Result<Extent> extent_at(std::uint64_t offset) const;

  // A human description for messages: a path, "partition 2 of mbr", "qcow2 guest disk".
  virtual std::string name() const = 0;

  // Bytes the source occupies on its storage when that is known (a local file's st_blocks),
  // else nothing. Only used to mirror qemu's heuristics that depend on it.
  virtual std::optional<std::uint64_t> stored_bytes() const { return std::nullopt; }

 protected:
  // The error for a read that does not fit in [0, size()).
  Error out_of_range(std::uint64_t offset, std::uint64_t length) const;
  bool fits(std::uint64_t offset, std::uint64_t length) const { return offset <= size() && length <= size() - offset; }
};

using SourcePtr = std::shared_ptr<const ByteSource>;

// The allocation map of `src` walked once, in order: visit(offset, extent) for every extent from
// 0 to size(), stopping at the first error of extent_at or of `visit`. Over an image this
// consults every allocation table once, so a table or data past the end of a cut file is found
// (kTruncated). measure and `imagegate info` walk images with it.
Result<void> for_each_extent(const ByteSource& src,
                             const std::function<Result<void>(std::uint64_t offset, const Extent& extent)>& visit);

// Reads `length` bytes at `offset` into a new vector (for bounded metadata reads).
Result<std::vector<std::byte>> read_vector(const ByteSource& src, std::uint64_t offset, std::size_t length);

}  // namespace ig
