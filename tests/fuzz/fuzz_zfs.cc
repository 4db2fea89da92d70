// ZFS vdev labels: the input as a packed nvlist, then as the start of a vdev (labels 0 and 1,
// zero-padded to 1 MiB so that labels 2 and 3 are looked for too), through zfs::probe and
// identify(). Every path must end in a value or a named error.
#include "fs/probe.h"
#include "fs/zfs.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)ig::zfs::pool_name_from_nvlist(std::span(reinterpret_cast<const std::byte*>(data), size));
  const ig::fuzz::InputSource dev(data, size, 1 << 20);
  (void)ig::zfs::probe(dev);
  (void)ig::identify(dev);
  return 0;
}
