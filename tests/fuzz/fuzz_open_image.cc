// Detection, polyglot and declared-format rules, then whichever reader the content selects.
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return ig::fuzz::run_one(data, size, [](ig::SourcePtr src) {
    ig::OpenOptions o;
    o.limits = ig::fuzz::fuzz_limits();
    return ig::open_image(src, o);
  });
}
