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
  // Block numbers from the file system's map can be anything up to 2^64: their sums and byte
  // offsets saturate here rather than wrap (a run at block 2^52 of 4 KiB blocks ended at byte 0,
  // no byte was read, and the loop never ended: the fuzzers' audit, 2026-12-07).
  const auto sum = [](std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; };
  const auto bytes = [this](std::uint64_t blocks) { return blocks > UINT64_MAX / bs_ ? UINT64_MAX : blocks * bs_; };
  std::size_t done = 0;
  while (done < out.size()) {
    const std::uint64_t pos = offset + done;
    const std::uint64_t block = pos / bs_;
    // The run holding `block`, or the gap before the next one (a hole).
    auto it = std::upper_bound(runs_.begin(), runs_.end(), block,
                               [](std::uint64_t b, const FileRun& r) { return b < r.logical; });
    std::uint64_t end_byte = UINT64_MAX;
    std::optional<std::uint64_t> at;
    if (it != runs_.begin() && block < sum(std::prev(it)->logical, std::prev(it)->count)) {
      const FileRun& r = *std::prev(it);
      end_byte = bytes(sum(r.logical, r.count));
      if (r.device_byte) {
        const std::uint64_t into = bytes(block - r.logical);
        if (into == UINT64_MAX || *r.device_byte > UINT64_MAX - into - pos % bs_) {
          return Error::corrupt(fmt::format("{}: data of block {} lies past the end of the device", name_, block));
        }
        at = *r.device_byte + into + pos % bs_;
      }
    } else if (it != runs_.end()) {
      end_byte = bytes(it->logical);
    }
    // end_byte > pos: the run or hole holds `block`, and a saturated end lies past every offset.
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(end_byte - pos, out.size() - done));
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
