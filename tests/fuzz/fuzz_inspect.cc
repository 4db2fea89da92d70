// The whole inspection (inspect_disk) over a fuzzed disk: partition table, volume identification,
// file systems, and the Linux, Windows and FreeBSD inspectors on what they find. Seeded with a
// bare ext4 root holding every file the Linux inspector reads (make-seeds.sh), so mutations reach
// its own parsing (the dpkg database, module lists, kernel configs, boot menus, the initramfs
// choice) as well as the readers under it. The disk is 8 MiB, zero-padded past the input.
#include "fuzz/fuzz_input.h"
#include "inspect/linux.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = ig::inspect_disk(std::make_shared<ig::fuzz::InputSource>(data, size, 8 << 20));
  if (r && r->linux_guest) (void)r->linux_guest->boot_kernel();
  return 0;
}
