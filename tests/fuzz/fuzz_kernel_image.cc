// Kernel image headers (inspect/kernel_image.h): bzImage, arm64 Image, EFI zboot, gzip payloads.
// Every input must end in an answer or a read error, within the 4 KiB / 256 KiB bounds.
#include <cstring>
#include <vector>

#include "inspect/kernel_image.h"
#include "io/sources.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(size);
  if (size > 0) std::memcpy(bytes.data(), data, size);
  const ig::MemorySource file(std::move(bytes), "fuzz input");
  (void)ig::kernel_image(file);
  return 0;
}
