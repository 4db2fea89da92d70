#include "convert/measure.h"

#include <bit>

#include "base/checked.h"

namespace ig {
namespace {

constexpr std::uint64_t kL1EntrySize = 8;
constexpr std::uint64_t kRefTableEntrySize = 8;

// Refcount blocks and table clusters needed to count `clusters` clusters, including themselves:
// the fixed point of qemu's qcow2_refcount_metadata_size (without its generous_increase).
std::uint64_t refcount_metadata_size(std::uint64_t clusters, std::uint64_t cluster_size, std::uint32_t refcount_order) {
  const std::uint64_t blocks_per_table_cluster = cluster_size / kRefTableEntrySize;
  const std::uint64_t refcounts_per_block = cluster_size * 8 / (std::uint64_t{1} << refcount_order);
  std::uint64_t table = 0;
  std::uint64_t blocks = 0;
  std::uint64_t n = 0;
  std::uint64_t last = 0;
  do {
    last = n;
    blocks = div_round_up(clusters + table + blocks, refcounts_per_block);
    table = div_round_up(blocks, blocks_per_table_cluster);
    n = clusters + blocks + table;
  } while (n != last);
  return (blocks + table) * cluster_size;
}

}  // namespace

Result<void> validate(const Qcow2TargetOptions& o) {
  if (!is_power_of_two(o.cluster_size) || o.cluster_size < 512 || o.cluster_size > (2u << 20)) {
    return Error::invalid_argument(
        fmt::format("cluster_size {} must be a power of two between 512 and 2M", o.cluster_size));
  }
  if (!is_power_of_two(o.refcount_bits) || o.refcount_bits > 64) {
    return Error::invalid_argument(fmt::format("refcount_bits {} must be a power of two up to 64", o.refcount_bits));
  }
  if (o.extended_l2 && o.cluster_size < 16384) {
    return Error::invalid_argument("extended_l2 needs a cluster_size of at least 16K");
  }
  return ok();
}

std::uint64_t qcow2_fully_allocated_size(std::uint64_t virtual_size, const Qcow2TargetOptions& o) {
  const std::uint64_t cs = o.cluster_size;
  const std::uint64_t l2e_size = o.extended_l2 ? 16 : 8;
  const std::uint64_t aligned_total = align_up(virtual_size, cs);
  std::uint64_t meta = cs;  // header
  std::uint64_t nl2e = aligned_total / cs;
  nl2e = align_up(nl2e, cs / l2e_size);
  meta += nl2e * l2e_size;
  std::uint64_t nl1e = nl2e * l2e_size / cs;
  nl1e = align_up(nl1e, cs / kL1EntrySize);
  meta += nl1e * kL1EntrySize;
  meta += refcount_metadata_size((meta + aligned_total) / cs, cs,
                                 static_cast<std::uint32_t>(std::countr_zero(o.refcount_bits)));
  return meta + aligned_total;
}

Result<MeasureResult> measure_qcow2(const DiskImage& image, const Qcow2TargetOptions& o) {
  IG_TRY(validate(o));
  const std::uint64_t cs = o.cluster_size;
  const std::uint64_t ssize = image.size();
  MeasureResult r;
  std::uint64_t required = 0;
  std::uint64_t counted_to = 0;  // target clusters below this are counted
  IG_TRY(for_each_extent(image, [&](std::uint64_t offset, const Extent& e) -> Result<void> {
    if (e.kind != ExtentKind::kData) return ok();
    r.data_bytes += e.length;
    // Every target cluster the data touches is written, once.
    const std::uint64_t end = align_up(offset + e.length, cs);
    const std::uint64_t begin = std::max(align_down(offset, cs), counted_to);
    if (end > begin) required += end - begin;
    counted_to = std::max(counted_to, end);
    return ok();
  }));
  const std::uint64_t virtual_size = align_up(ssize, cs);
  r.fully_allocated = qcow2_fully_allocated_size(virtual_size, o);
  r.required = o.preallocated ? r.fully_allocated : r.fully_allocated - virtual_size + required;
  // qemu reports bitmaps only for sources that can hold persistent bitmaps: qcow2 v3.
  if (image.info().format == Format::kQcow2 && image.info().subformat == "v3") r.bitmaps = 0;
  return r;
}

}  // namespace ig
