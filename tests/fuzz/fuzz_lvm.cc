// LVM2 label, metadata area and metadata text over arbitrary bytes, then every LV mapped.
#include <cstring>
#include <vector>

#include "io/sources.h"
#include "volumes/lvm.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(size);
  if (size > 0) std::memcpy(bytes.data(), data, size);
  auto dev = std::make_shared<ig::MemorySource>(std::move(bytes), "fuzz input");
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
