#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Every size is measured, up to the reader's 64 TiB: the metadata check bounds the walk by the
  // file, not by the virtual size (issue 15, finding 3), and the fuzzer must be able to show it.
  return ig::fuzz::run_one(
      data, size, [](ig::SourcePtr src) { return ig::qcow2::open(src, ig::fuzz::fuzz_limits()); }, UINT64_MAX);
}
