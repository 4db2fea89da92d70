#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return ig::fuzz::run_one(data, size, [](ig::SourcePtr src) { return ig::qcow2::open(src, ig::fuzz::fuzz_limits()); });
}
