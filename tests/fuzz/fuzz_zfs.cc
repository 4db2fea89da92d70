// ZFS vdev labels: the input as a packed nvlist, then as the start of a vdev (labels 0 and 1,
// zero-padded to 1 MiB so that labels 2 and 3 are looked for too), through zfs::probe and
// identify(). Every path must end in a value or a named error.
#include <algorithm>
#include <cstring>
#include <vector>

#include "fs/probe.h"
#include "fs/zfs.h"
#include "io/sources.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(std::max<std::size_t>(size, 1 << 20));
  if (size > 0) std::memcpy(bytes.data(), data, size);
  (void)ig::zfs::pool_name_from_nvlist(std::span<const std::byte>(bytes.data(), size));
  const ig::MemorySource dev(std::move(bytes), "fuzz input");
  (void)ig::zfs::probe(dev);
  (void)ig::identify(dev);
  return 0;
}
