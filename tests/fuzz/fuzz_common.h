// Shared body of the format fuzz targets: open the input as one format (or by detection), then
// walk the allocation map, read the first MiB of the guest disk and measure it. Every path must
// end in a value or a named error, within the Limits, without a sanitizer report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "convert/measure.h"
#include "formats/internal.h"
#include "formats/open_image.h"
#include "fuzz/fuzz_input.h"
#include "io/sources.h"

namespace ig::fuzz {

inline Limits fuzz_limits() {
  Limits l;
  l.max_table_bytes = 1 << 20;  // keep each run's memory small; the same checks still apply
  l.max_metadata_cache_bytes = 1 << 20;
  l.max_metadata_entries = 1 << 20;  // bounds each run's qcow2 walk (and measure) to ~a million entries
  return l;
}

// Every image is measured, whatever its virtual size (up to the readers' 64 TiB, past the 500 GiB
// rule): the work of each format is bounded by its file, never by the disk it claims (qcow2's
// metadata check, VHD's BAT, VMDK's grain-table walk and the steps over absent tables), and the
// fuzzer must be able to show it (issue 15, finding 3).
inline void exercise(const DiskImage& image) {
  std::vector<std::byte> buf(64 * 1024);
  std::uint64_t off = 0;
  for (int i = 0; i < 16 && off < image.size(); ++i) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), image.size() - off));
    (void)image.read_at(off, std::span(buf).first(n));
    off += n;
  }
  off = 0;
  for (int i = 0; i < 64 && off < image.size(); ++i) {
    auto e = image.extent_at(off);
    if (!e || e->length == 0) break;
    off += e->length;
  }
  (void)measure_qcow2(image, Qcow2TargetOptions{});
}

template <class Open>
int run_one(const std::uint8_t* data, std::size_t size, Open open) {
  auto image = open(std::shared_ptr<const ByteSource>(std::make_shared<InputSource>(data, size)));
  if (image) exercise(**image);
  return 0;
}

}  // namespace ig::fuzz
