#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return ig::fuzz::run_one(data, size, [](ig::SourcePtr src) { return ig::vhd::open(src, ig::fuzz::fuzz_limits()); });
}
