// measure: how large an image becomes as qcow2, computed as `qemu-img measure -O qcow2` does.
//
// `required` is the size of a qcow2 file holding the source's allocated data: every target
// cluster that any data extent of the source touches, plus the metadata of a fully allocated
// image of the same virtual size (qemu's deliberate overestimate). `fully-allocated` is the size
// with every cluster allocated. Both follow qemu 7.2's qcow2_measure() and
// qcow2_calc_prealloc_size() to the byte; tests compare them with qemu-img on every fixture.
// These numbers feed the cloud's 50 GiB rule; `measure --exact` (the converter's own output size)
// belongs to the converter.
//
// Thread safety: reads the image through its const interface. Errors: the image's read errors.
#pragma once

#include <cstdint>
#include <optional>

#include "formats/disk_image.h"

namespace ig {

struct Qcow2TargetOptions {
  std::uint64_t cluster_size = 65536;  // power of two in [512, 2 MiB]
  std::uint32_t refcount_bits = 16;    // power of two in [1, 64]
  bool extended_l2 = false;
  // preallocation=falloc or full: every cluster is allocated, so `required` is the fully
  // allocated size (qemu-img measure; preallocation=metadata leaves `required` as it is).
  bool preallocated = false;
};

struct MeasureResult {
  std::uint64_t required = 0;
  std::uint64_t fully_allocated = 0;
  std::optional<std::uint64_t> bitmaps;  // qemu reports it for qcow2 sources (always 0 here)
  std::uint64_t data_bytes = 0;          // bytes of the source marked as data
};

// Validates target options: kInvalidArgument naming the bad option.
Result<void> validate(const Qcow2TargetOptions& options);

Result<MeasureResult> measure_qcow2(const DiskImage& image, const Qcow2TargetOptions& options);

// qemu's qcow2_calc_prealloc_size: file size of a fully allocated qcow2 of `virtual_size` bytes.
std::uint64_t qcow2_fully_allocated_size(std::uint64_t virtual_size, const Qcow2TargetOptions& options);

}  // namespace ig
