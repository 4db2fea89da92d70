// The output budget of the formats without reference counts (see internal.h).
#include <algorithm>

#include "formats/internal.h"

namespace ig {

Result<void> check_output_budget(std::vector<std::uint64_t>& host_offsets, std::uint64_t span_bytes,
                                 std::uint64_t output_per_unit, std::uint64_t max_output_bytes, std::string_view format,
                                 std::string_view unit) {
  std::sort(host_offsets.begin(), host_offsets.end());
  // The file bytes the entries cover, each byte once.
  std::uint64_t covered = 0;
  for (std::size_t i = 0; i < host_offsets.size(); ++i) {
    const std::uint64_t next = i + 1 < host_offsets.size() ? host_offsets[i + 1] : UINT64_MAX;
    covered += std::min(span_bytes, next - host_offsets[i]);
  }
  // covered ≤ entries × span_bytes, so the budget never passes the output it bounds. The tables
  // that feed this hold at most 2^32 entries of at most 256 MiB, so neither product wraps; the
  // products saturate all the same.
  const auto times = [](std::uint64_t a, std::uint64_t b) { return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b; };
  const std::uint64_t scaled =
      times(covered / span_bytes, output_per_unit) + times(covered % span_bytes, output_per_unit) / span_bytes;
  const std::uint64_t budget = std::min(scaled, max_output_bytes);
  const std::uint64_t wanted = times(host_offsets.size(), output_per_unit);
  if (wanted > budget) {
    return Error::limit_exceeded(fmt::format(
        "{}: output budget exceeded: {} allocated {}s map only {} distinct bytes of the file; converting it would "
        "write {} bytes, over its budget of {} bytes (shared file bytes counted once, at most "
        "Limits::max_output_bytes)",
        format, host_offsets.size(), unit, covered, wanted, budget));
  }
  return ok();
}

}  // namespace ig
