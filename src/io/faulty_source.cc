#include "io/faulty_source.h"

namespace ig {

Result<void> FaultySource::read_at(std::uint64_t offset, std::span<std::byte> out) const {
  const std::uint64_t n = ++reads_;
  if (plan_.fail_read_number && *plan_.fail_read_number == n) {
    return Error::io(fmt::format("{}: injected failure of read {}", name(), n));
  }
  if (!fits(offset, out.size())) return out_of_range(offset, out.size());
  if (plan_.visible_bytes && offset + out.size() > *plan_.visible_bytes) {
    return Error::io(fmt::format("{}: short read at {} (data ends at {})", name(), offset, *plan_.visible_bytes));
  }
  if (plan_.unreadable && offset < plan_.unreadable->second && offset + out.size() > plan_.unreadable->first) {
    return Error::io(fmt::format("{}: unreadable bytes [{}, {}) in the read at {}", name(), plan_.unreadable->first,
                                 plan_.unreadable->second, offset));
  }
  IG_TRY(parent_->read_at(offset, out));
  for (std::uint64_t flip : plan_.flip_offsets) {
    if (flip >= offset && flip - offset < out.size()) out[flip - offset] ^= std::byte{0xFF};
  }
  return ok();
}

}  // namespace ig
