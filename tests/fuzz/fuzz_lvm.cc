// LVM2 over arbitrary bytes, two ways: as the start of a PV (label, metadata area and metadata
// text, read_pv), and as metadata text alone (parse_metadata), then every LV of either mapped. The
// second way matters: read_pv checks three CRCs before the text parser sees a byte, which a
// mutation of a PV rarely keeps. The device is 64 MiB, zero-padded past the input, as the seed PV:
// its seed ends at its last non-zero byte, 6 KiB where the metadata area's 1 MiB had been carried.
#include <string_view>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "volumes/lvm.h"

namespace {

// The PV the text seed (make-seeds.sh) describes as the one being read, without its dashes.
constexpr std::string_view kSeedPvUuid = "FuzzPV00000000000000000000000000";

void map_lvs(const ig::SourcePtr& dev, const ig::lvm::PhysicalVolume& pv) {
  for (const auto& lv : pv.vg.lvs) {
    auto src = ig::lvm::open_lv(dev, pv, lv);
    if (src) {
      std::vector<std::byte> buf(512);
      if ((*src)->size() >= buf.size()) (void)(*src)->read_at(0, buf);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto dev = std::make_shared<ig::fuzz::InputSource>(data, size, 64 << 20);
  if (auto pv = ig::lvm::read_pv(*dev); pv && *pv) map_lvs(dev, **pv);
  auto vg = ig::lvm::parse_metadata(std::string_view(reinterpret_cast<const char*>(data), size), kSeedPvUuid);
  if (vg) {
    ig::lvm::PhysicalVolume pv;
    pv.uuid = kSeedPvUuid;
    pv.vg = std::move(*vg);
    map_lvs(dev, pv);
  }
  return 0;
}
