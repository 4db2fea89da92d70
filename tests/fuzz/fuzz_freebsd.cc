// The FreeBSD inspector over a fuzzed UFS2 image (seeded with a makefs image of a FreeBSD-shaped
// tree: freebsd-version, os-release, a kernel with driver names, loader.conf, rc.conf, cloud-init),
// and its text parsers over the same bytes.
#include <string_view>

#include "fs/ufs.h"
#include "fuzz/fuzz_input.h"
#include "inspect/freebsd.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)ig::parse_bsd_conf(text).size();
  (void)ig::parse_freebsd_version(text).size();
  auto dev = std::make_shared<ig::fuzz::InputSource>(data, size);
  ig::FsLimits limits;
  limits.max_dir_entries = 4096;
  limits.max_extents_per_file = 4096;
  auto fs = ig::ufs::open(ig::SourcePtr(dev), limits);
  if (!fs) return 0;
  if (auto g = ig::describe_freebsd(**fs)) (void)g->kernel.virtio.size();
  return 0;
}
