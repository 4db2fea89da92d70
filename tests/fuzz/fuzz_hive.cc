// The registry hive reader over arbitrary bytes: open, then a bounded walk of keys and values.
#include <cstring>
#include <vector>

#include "registry/hive.h"

namespace {

void walk(const ig::registry::Hive& h, ig::registry::KeyRef key, int depth, int& budget) {
  if (depth > 16 || --budget < 0) return;
  (void)h.key_name(key);
  if (auto values = h.values(key)) {
    for (const auto& v : *values) {
      (void)v.as_string();
      (void)v.as_dword();
      (void)v.as_multi_string();
    }
  }
  if (auto children = h.subkeys(key)) {
    for (auto k : *children) walk(h, k, depth + 1, budget);
  }
  (void)h.find("Microsoft\\Windows NT\\CurrentVersion");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(size);
  if (size > 0) std::memcpy(bytes.data(), data, size);
  ig::registry::HiveLimits limits;
  limits.max_subkeys = 4096;
  limits.max_values = 4096;
  limits.max_value_bytes = 1 << 20;
  auto h = ig::registry::Hive::open(std::move(bytes), limits);
  if (!h) return 0;
  int budget = 2000;
  walk(*h, h->root(), 0, budget);
  return 0;
}
