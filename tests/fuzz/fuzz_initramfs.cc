// The initramfs scan (newc walk, libarchive for compressed archives) over arbitrary bytes.

#include "fuzz/fuzz_input.h"
#include "inspect/initramfs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ig::fuzz::InputSource file(data, size);
  ig::InitramfsLimits limits;
  limits.max_decompressed_bytes = 64 << 20;
  limits.max_entries = 100'000;
  auto r = ig::scan_initramfs(file, limits);
  if (r) {
    for (const auto& m : r->modules) (void)m.size();
  }
  return 0;
}
