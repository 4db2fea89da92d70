// Kernel image headers (inspect/kernel_image.h): bzImage, arm64 Image, EFI zboot, gzip payloads.
// Every input must end in an answer or a read error, within the 4 KiB / 256 KiB bounds.

#include "fuzz/fuzz_input.h"
#include "inspect/kernel_image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ig::fuzz::InputSource file(data, size);
  (void)ig::kernel_image(file);
  return 0;
}
