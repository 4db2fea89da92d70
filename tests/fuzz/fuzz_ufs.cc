// UFS2 open, then a bounded walk (fuzz_fs_common.h).
#include "fs/ufs.h"
#include "fuzz/fuzz_fs_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return ig::fuzz::run_fs(data, size, [](ig::SourcePtr dev, const ig::FsLimits& l) { return ig::ufs::open(dev, l); });
}
