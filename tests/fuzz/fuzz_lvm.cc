// LVM2 label, metadata area and metadata text over arbitrary bytes, then every LV mapped.
#include <vector>

#include "fuzz/fuzz_input.h"
#include "volumes/lvm.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto dev = std::make_shared<ig::fuzz::InputSource>(data, size);
  auto pv = ig::lvm::read_pv(*dev);
  if (!pv || !*pv) return 0;
  for (const auto& lv : (*pv)->vg.lvs) {
    auto src = ig::lvm::open_lv(dev, **pv, lv);
    if (src) {
      std::vector<std::byte> buf(512);
      if ((*src)->size() >= buf.size()) (void)(*src)->read_at(0, buf);
    }
  }
  return 0;
}
