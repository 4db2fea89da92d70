#include "fs/mapped_source.h"

#include <algorithm>
#include <cstring>

#include "base/checked.h"

namespace ig {

Result<void> MappedSource::read_at(std::uint64_t offset, std::span<std::byte> out) const {
  if (!fits(offset, out.size())) return out_of_range(offset, out.size());
  if (!device_) {
    if (!out.empty()) std::memcpy(out.data(), inline_.data() + offset, out.size());
    return ok();
  }
  std::size_t done = 0;
  while (done < out.size()) {
    const std::uint64_t pos = offset + done;
    const std::uint64_t block = pos / bs_;
    // The run holding `block`, or the gap before the next one (a hole).
    auto it = std::upper_bound(runs_.begin(), runs_.end(), block,
                               [](std::uint64_t b, const FileRun& r) { return b < r.logical; });
    std::uint64_t end_block = UINT64_MAX / bs_;
    std::optional<std::uint64_t> at;
    if (it != runs_.begin() && block < std::prev(it)->logical + std::prev(it)->count) {
      const FileRun& r = *std::prev(it);
      end_block = r.logical + r.count;
      if (r.device_byte) at = *r.device_byte + (block - r.logical) * bs_ + pos % bs_;
    } else if (it != runs_.end()) {
      end_block = it->logical;
    }
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(end_block * bs_ - pos, out.size() - done));
    if (!at) {
      std::memset(out.data() + done, 0, n);
    } else {
      if (!range_within(*at, n, device_->size())) {
        return Error::corrupt(fmt::format("{}: data at byte {} lies past the end of the device", name_, *at));
      }
      IG_TRY(device_->read_at(*at, out.subspan(done, n)));
    }
    done += n;
  }
  return ok();
}

}  // namespace ig
