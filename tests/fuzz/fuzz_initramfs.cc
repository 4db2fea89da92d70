// The initramfs scan (newc walk, libarchive for compressed archives) over arbitrary bytes.
#include <cstring>
#include <vector>

#include "inspect/initramfs.h"
#include "io/sources.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(size);
  if (size > 0) std::memcpy(bytes.data(), data, size);
  ig::MemorySource file(std::move(bytes), "fuzz input");
  ig::InitramfsLimits limits;
  limits.max_decompressed_bytes = 64 << 20;
  limits.max_entries = 100'000;
  auto r = ig::scan_initramfs(file, limits);
  if (r) {
    for (const auto& m : r->modules) (void)m.size();
  }
  return 0;
}
