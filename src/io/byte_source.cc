#include "io/byte_source.h"

#include <vector>

namespace ig {

std::string_view extent_kind_name(ExtentKind kind) {
  switch (kind) {
    case ExtentKind::kData: return "data";
    case ExtentKind::kZero: return "zero";
    case ExtentKind::kUnallocated: return "unallocated";
  }
  return "data";
}

Result<Extent> ByteSource::extent_at(std::uint64_t offset) const {
  if (offset >= size()) return out_of_range(offset, 1);
  return Extent{size() - offset, ExtentKind::kData};
}

Error ByteSource::out_of_range(std::uint64_t offset, std::uint64_t length) const {
  return Error::out_of_range(
      fmt::format("{}: read of {} bytes at offset {} past the end ({} bytes)", name(), length, offset, size()));
}

Result<void> for_each_extent(const ByteSource& src,
                             const std::function<Result<void>(std::uint64_t offset, const Extent& extent)>& visit) {
  for (std::uint64_t offset = 0; offset < src.size();) {
    const Extent e = IG_TRY(src.extent_at(offset));
    if (e.length == 0 || e.length > src.size() - offset) {
      return Error::internal(fmt::format("{}: extent of {} bytes at {}", src.name(), e.length, offset));
    }
    IG_TRY(visit(offset, e));
    offset += e.length;
  }
  return ok();
}

Result<std::vector<std::byte>> read_vector(const ByteSource& src, std::uint64_t offset, std::size_t length) {
  std::vector<std::byte> buf(length);
  IG_TRY(src.read_at(offset, buf));
  return buf;
}

}  // namespace ig
