// ZFS vdev labels: the input as a packed nvlist, then as the start of a vdev (labels 0 and 1,
// zero-padded to 1 MiB so that labels 2 and 3 are looked for too), through identify() and so
// zfs::probe. Every path must end in a value or a named error.
#include "fs/probe.h"
#include "fs/zfs.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)ig::zfs::pool_name_from_nvlist(std::span(reinterpret_cast<const std::byte*>(data), size));
  // identify() ends with zfs::probe when no other signature matches (the seeds match none).
  const ig::fuzz::InputSource dev(data, size, 1 << 20);
  (void)ig::identify(dev);
  return 0;
}
