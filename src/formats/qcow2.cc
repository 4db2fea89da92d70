// qcow2 reader (versions 2 and 3), after qemu's docs/interop/qcow2.txt. See docs/formats/qcow2.md
// for the subset read, every check and every limit. All fields are big-endian.
//
// Read: the active L1/L2 tables (internal snapshots are ignored), normal, zero and compressed
// clusters (deflate and zstd), extended L2 entries with 32 subclusters.
// Refused with the reason: a backing file, an external data file, encryption, the corrupt bit,
// unknown incompatible feature bits.
#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "base/bytes.h"
#include "base/checked.h"
#include "formats/internal.h"

namespace ig::qcow2 {
namespace {

// Header layout (qcow2.txt "Header"), byte offsets.
constexpr std::size_t kMagic = 0;
constexpr std::size_t kVersion = 4;
constexpr std::size_t kBackingFileOffset = 8;
constexpr std::size_t kBackingFileSize = 16;
constexpr std::size_t kClusterBits = 20;
constexpr std::size_t kSize = 24;
constexpr std::size_t kCryptMethod = 32;
constexpr std::size_t kL1Size = 36;
constexpr std::size_t kL1TableOffset = 40;
constexpr std::size_t kRefcountTableOffset = 48;
constexpr std::size_t kRefcountTableClusters = 56;
constexpr std::size_t kNbSnapshots = 60;
constexpr std::size_t kSnapshotsOffset = 64;
constexpr std::size_t kIncompatibleFeatures = 72;
constexpr std::size_t kCompatibleFeatures = 80;
constexpr std::size_t kAutoclearFeatures = 88;
constexpr std::size_t kRefcountOrder = 96;
constexpr std::size_t kHeaderLength = 100;
constexpr std::size_t kCompressionType = 104;
constexpr std::size_t kV2HeaderLength = 72;
constexpr std::size_t kV3MinHeaderLength = 104;

constexpr std::uint32_t kQcowMagic = 0x514649fb;  // "QFI\xfb"

// Incompatible feature bits.
constexpr std::uint64_t kIncompatDirty = 1u << 0;
constexpr std::uint64_t kIncompatCorrupt = 1u << 1;
constexpr std::uint64_t kIncompatDataFile = 1u << 2;
constexpr std::uint64_t kIncompatCompression = 1u << 3;
constexpr std::uint64_t kIncompatExtendedL2 = 1u << 4;
constexpr std::uint64_t kIncompatKnown =
    kIncompatDirty | kIncompatCorrupt | kIncompatDataFile | kIncompatCompression | kIncompatExtendedL2;
constexpr std::uint64_t kCompatLazyRefcounts = 1u << 0;

// Header extension types.
constexpr std::uint32_t kExtEnd = 0;
constexpr std::uint32_t kExtFeatureTable = 0x6803f857;
constexpr std::uint32_t kExtBitmaps = 0x23852875;
constexpr std::uint32_t kExtEncryption = 0x0537be77;
constexpr std::uint32_t kExtDataFile = 0x44415441;

// L1 / L2 entry bits.
constexpr std::uint64_t kOffsetMask = 0x00fffffffffffe00ULL;  // bits 9-55
constexpr std::uint64_t kFlagCompressed = 1ULL << 62;
constexpr std::uint64_t kFlagZero = 1ULL << 0;
constexpr std::uint64_t kL1ReservedMask = 0x7f000000000001ffULL;

constexpr std::uint32_t kSubclusters = 32;  // per cluster with extended L2 entries

// Snapshot table (qcow2.txt "Snapshot table"): fixed part of an entry, and qemu's bounds
// (QCOW_MAX_SNAPSHOTS, QCOW_MAX_SNAPSHOT_EXTRA_DATA, QCOW_MAX_SNAPSHOTS_SIZE).
constexpr std::uint64_t kSnapshotEntryFixed = 40;
constexpr std::uint32_t kMaxSnapshots = 65536;
constexpr std::uint32_t kMaxSnapshotExtraData = 1024;
constexpr std::uint64_t kMaxSnapshotTableBytes = std::uint64_t{1024} * kMaxSnapshots;

struct Header {
  std::uint32_t version = 0;
  std::uint64_t backing_file_offset = 0;
  std::uint32_t backing_file_size = 0;
  std::uint32_t cluster_bits = 0;
  std::uint64_t size = 0;
  std::uint32_t crypt_method = 0;
  std::uint32_t l1_size = 0;
  std::uint64_t l1_table_offset = 0;
  std::uint64_t refcount_table_offset = 0;
  std::uint32_t refcount_table_clusters = 0;
  std::uint32_t nb_snapshots = 0;
  std::uint64_t snapshots_offset = 0;
  std::uint64_t incompatible_features = 0;
  std::uint64_t compatible_features = 0;
  std::uint64_t autoclear_features = 0;
  std::uint32_t refcount_order = 4;
  std::uint32_t header_length = kV2HeaderLength;
  std::uint8_t compression_type = 0;
};

Header parse_header(const std::array<std::byte, 112>& b) {
  Header h;
  h.version = load_be<std::uint32_t, kVersion>(b);
  h.backing_file_offset = load_be<std::uint64_t, kBackingFileOffset>(b);
  h.backing_file_size = load_be<std::uint32_t, kBackingFileSize>(b);
  h.cluster_bits = load_be<std::uint32_t, kClusterBits>(b);
  h.size = load_be<std::uint64_t, kSize>(b);
  h.crypt_method = load_be<std::uint32_t, kCryptMethod>(b);
  h.l1_size = load_be<std::uint32_t, kL1Size>(b);
  h.l1_table_offset = load_be<std::uint64_t, kL1TableOffset>(b);
  h.refcount_table_offset = load_be<std::uint64_t, kRefcountTableOffset>(b);
  h.refcount_table_clusters = load_be<std::uint32_t, kRefcountTableClusters>(b);
  h.nb_snapshots = load_be<std::uint32_t, kNbSnapshots>(b);
  h.snapshots_offset = load_be<std::uint64_t, kSnapshotsOffset>(b);
  if (h.version >= 3) {
    h.incompatible_features = load_be<std::uint64_t, kIncompatibleFeatures>(b);
    h.compatible_features = load_be<std::uint64_t, kCompatibleFeatures>(b);
    h.autoclear_features = load_be<std::uint64_t, kAutoclearFeatures>(b);
    h.refcount_order = load_be<std::uint32_t, kRefcountOrder>(b);
    h.header_length = load_be<std::uint32_t, kHeaderLength>(b);
    if (h.header_length > kCompressionType) h.compression_type = std::to_integer<std::uint8_t>(b[kCompressionType]);
  }
  return h;
}

// What one guest cluster (or subcluster) is, decoded from its L2 entry.
enum class Kind { kUnallocated, kZero, kNormal, kCompressed };

struct Mapping {
  Kind kind = Kind::kUnallocated;
  std::uint64_t host_offset = 0;      // normal: where the (sub)cluster's bytes start
  std::uint64_t length = 0;           // guest bytes this mapping covers from the lookup offset
  std::uint64_t compressed_size = 0;  // compressed: bytes to read at host_offset
};

class Image final : public DiskImage {
 public:
  Image(SourcePtr file, const Header& h, std::vector<std::uint64_t> l1, const Limits& limits, ImageInfo info)
      : file_(std::move(file)),
        h_(h),
        cluster_size_(std::uint64_t{1} << h.cluster_bits),
        extended_l2_((h.incompatible_features & kIncompatExtendedL2) != 0),
        l2_entries_(cluster_size_ / (extended_l2_ ? 16 : 8)),
        subcluster_size_(extended_l2_ ? cluster_size_ / kSubclusters : cluster_size_),
        csize_shift_(62 - (h.cluster_bits - 8)),
        l1_(std::move(l1)),
        l2_cache_(limits.max_metadata_cache_bytes),
        inflated_(kInflatedCacheBytes),
        max_table_bytes_(limits.max_table_bytes),
        limits_(limits),
        info_(std::move(info)) {}

  std::uint64_t size() const override { return h_.size; }
  std::string name() const override { return "qcow2 guest disk of " + file_->name(); }
  const ImageInfo& info() const override { return info_; }

  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    if (!fits(offset, out.size())) return out_of_range(offset, out.size());
    IG_TRY(checked());
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint64_t pos = offset + done;
      Mapping m = IG_TRY(lookup(pos));
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(m.length, out.size() - done));
      auto dst = out.subspan(done, n);
      switch (m.kind) {
        case Kind::kUnallocated:
        case Kind::kZero: std::memset(dst.data(), 0, n); break;
        case Kind::kNormal: {
          // Clusters that follow each other on the host too are read with one call.
          std::size_t run = n;
          while (done + run < out.size()) {
            const Mapping next = IG_TRY(lookup(pos + run));
            if (next.kind != Kind::kNormal || next.host_offset != m.host_offset + run) break;
            run += static_cast<std::size_t>(std::min<std::uint64_t>(next.length, out.size() - done - run));
          }
          dst = out.subspan(done, run);
          n = run;
          IG_TRY_CTX(file_->read_at(m.host_offset, dst), "qcow2: data cluster at host offset {:#x}", m.host_offset);
          break;
        }
        case Kind::kCompressed: {
          if (pos % cluster_size_ == 0 && n == cluster_size_) {
            IG_TRY(decompress(m, dst));  // a whole cluster inflates in place
            break;
          }
          // Part of a cluster: inflated once, kept for the reads of its other parts. The key is
          // the compressed data's offset: two descriptors naming one offset with different sizes
          // (no writer makes them) read as the first inflated; the conversion still inflates each.
          const auto cluster = IG_TRY(inflated_.get(m.host_offset, [&]() -> Result<std::vector<std::byte>> {
            std::vector<std::byte> whole(cluster_size_);
            IG_TRY(decompress(m, whole));
            return whole;
          }));
          std::memcpy(dst.data(), cluster->data() + (pos % cluster_size_), n);
          break;
        }
      }
      done += n;
    }
    return ok();
  }

  Result<Extent> extent_at(std::uint64_t offset) const override {
    if (offset >= h_.size) return out_of_range(offset, 1);
    IG_TRY(checked());
    Mapping first = IG_TRY(lookup(offset));
    if (first.kind == Kind::kNormal && IG_TRY(metadata_preallocated())) {
      // Like qemu, a preallocated image's data clusters are asked about the host file's holes.
      Extent host = IG_TRY(file_->extent_at(first.host_offset));
      return Extent{std::min(host.length, first.length),
                    host.kind == ExtentKind::kData ? ExtentKind::kData : ExtentKind::kZero};
    }
    const ExtentKind kind = to_extent_kind(first.kind);
    std::uint64_t length = first.length;
    // Coalesce following clusters of the same kind; a bounded number of lookups per call.
    for (int i = 0; i < 4096 && offset + length < h_.size; ++i) {
      Mapping next = IG_TRY(lookup(offset + length));
      if (to_extent_kind(next.kind) != kind) break;
      length += next.length;
    }
    return Extent{length, kind};
  }

 private:
  // qemu's qcow2_detect_metadata_preallocation: the image counts as metadata-preallocated when
  // clearly more clusters have a reference count than the file really stores. Then qemu's block
  // status (and so `qemu-img measure` and `map`) treats data clusters over host holes as zero;
  // imagegate does the same so that its numbers match qemu's. Computed once.
  Result<bool> metadata_preallocated() const {
    std::call_once(prealloc_once_, [this] { prealloc_ = detect_metadata_preallocation(); });
    if (!prealloc_) return prealloc_.error();
    return *prealloc_;
  }

  Result<bool> detect_metadata_preallocation() const {
    const std::optional<std::uint64_t> stored = file_->stored_bytes();
    if (!stored) return false;
    const std::uint64_t real_clusters = *stored / cluster_size_;
    const std::uint64_t threshold = std::max(real_clusters * 10 / 9, real_clusters + 2);
    const std::uint64_t end_cluster = div_round_up(file_->size(), cluster_size_);
    const std::uint64_t table_bytes = std::uint64_t{h_.refcount_table_clusters} * cluster_size_;
    if (table_bytes > max_table_bytes_ || !range_within(h_.refcount_table_offset, table_bytes, file_->size())) {
      return Error::corrupt(
          fmt::format("qcow2: refcount table [{:#x}, +{}) out of bounds", h_.refcount_table_offset, table_bytes));
    }
    std::vector<std::byte> table = IG_TRY(read_vector(*file_, h_.refcount_table_offset, table_bytes));
    const std::uint64_t bits = std::uint64_t{1} << h_.refcount_order;
    const std::uint64_t per_block = cluster_size_ * 8 / bits;
    std::uint64_t count = 0;
    std::vector<std::byte> block;
    std::uint64_t block_index = UINT64_MAX;
    for (std::uint64_t i = 0; i < end_cluster && count < threshold; ++i) {
      const std::uint64_t t = i / per_block;
      if (t * 8 >= table.size()) break;
      const std::uint64_t block_offset = load_be_ptr<std::uint64_t>(table.data() + t * 8) & kOffsetMask;
      if (block_offset == 0) {
        i = (t + 1) * per_block - 1;  // the whole block's clusters have refcount 0
        continue;
      }
      if (t != block_index) {
        if (!range_within(block_offset, cluster_size_, file_->size())) {
          return Error::corrupt(fmt::format("qcow2: refcount block at {:#x} past the end of the file", block_offset));
        }
        block = IG_TRY(read_vector(*file_, block_offset, cluster_size_));
        block_index = t;
      }
      const std::uint64_t bit = (i % per_block) * bits;
      bool nonzero = false;
      if (bits < 8) {
        nonzero = ((std::to_integer<unsigned>(block[bit / 8]) >> (bit % 8)) & ((1u << bits) - 1)) != 0;
      } else {
        nonzero = !all_zero(std::span(block).subspan(bit / 8, bits / 8));
      }
      count += nonzero ? 1 : 0;
    }
    return count >= threshold;
  }

  static ExtentKind to_extent_kind(Kind k) {
    switch (k) {
      case Kind::kUnallocated: return ExtentKind::kUnallocated;
      case Kind::kZero: return ExtentKind::kZero;
      case Kind::kNormal:
      case Kind::kCompressed: return ExtentKind::kData;
    }
    return ExtentKind::kData;
  }

  // Maps the guest byte `pos` to where its bytes come from, up to the end of its (sub)cluster or
  // of the disk.
  Result<Mapping> lookup(std::uint64_t pos) const {
    const std::uint64_t cluster_index = pos >> h_.cluster_bits;
    const std::uint64_t l1_index = cluster_index / l2_entries_;
    const std::uint64_t l2_index = cluster_index % l2_entries_;
    const std::uint64_t in_cluster = pos & (cluster_size_ - 1);
    const std::uint64_t to_disk_end = h_.size - pos;
    Mapping m;

    // l1_index < l1_.size() holds: open() checked l1_size covers the virtual size.
    const std::uint64_t l1_entry = l1_[l1_index];
    const std::uint64_t l2_offset = l1_entry & kOffsetMask;
    if (l2_offset == 0) {
      // The whole L2 range is unallocated.
      const std::uint64_t l2_span = l2_entries_ << h_.cluster_bits;
      m.length = std::min(l2_span - (pos % l2_span), to_disk_end);
      return m;
    }
    auto table = IG_TRY(l2_table(l2_offset));
    const std::uint64_t entry = (*table)[l2_index * (extended_l2_ ? 2 : 1)];
    const std::uint64_t bitmap = extended_l2_ ? (*table)[l2_index * 2 + 1] : 0;
    m.length = std::min(cluster_size_ - in_cluster, to_disk_end);

    if ((entry & kFlagCompressed) != 0) {
      // Compressed cluster descriptor (qcow2.txt "Compressed Clusters Descriptor").
      const std::uint64_t offset_mask = (std::uint64_t{1} << csize_shift_) - 1;
      const std::uint64_t csize_mask = (std::uint64_t{1} << (h_.cluster_bits - 8)) - 1;
      const std::uint64_t coffset = entry & offset_mask;
      const std::uint64_t nb_csectors = ((entry >> csize_shift_) & csize_mask) + 1;
      m.kind = Kind::kCompressed;
      m.host_offset = coffset;
      m.compressed_size = nb_csectors * 512 - (coffset & 511);
      if (extended_l2_ && bitmap != 0) {
        return Error::corrupt(
            fmt::format("qcow2: compressed cluster {} has a non-zero subcluster bitmap {:#x}", cluster_index, bitmap));
      }
      return m;
    }

    const std::uint64_t host = entry & kOffsetMask;
    if (!extended_l2_) {
      if ((entry & kFlagZero) != 0) {
        m.kind = Kind::kZero;
      } else if (host == 0) {
        m.kind = Kind::kUnallocated;
      } else {
        m.kind = Kind::kNormal;
      }
    } else {
      // Extended L2: bit x of the low half says subcluster x is allocated, bit 32 + x that it
      // reads as zero.
      const std::uint32_t sc = static_cast<std::uint32_t>(in_cluster / subcluster_size_);
      const std::uint32_t alloc_bits = static_cast<std::uint32_t>(bitmap);
      const std::uint32_t zero_bits = static_cast<std::uint32_t>(bitmap >> 32);
      if ((alloc_bits & zero_bits) != 0) {
        return Error::corrupt(
            fmt::format("qcow2: cluster {} subcluster bitmap {:#x} marks a subcluster both "
                        "allocated and zero",
                        cluster_index, bitmap));
      }
      if (host == 0 && alloc_bits != 0) {
        return Error::corrupt(
            fmt::format("qcow2: cluster {} has allocated subclusters but no host offset", cluster_index));
      }
      auto kind_of = [&](std::uint32_t i) {
        if ((zero_bits >> i) & 1u) return Kind::kZero;
        if ((alloc_bits >> i) & 1u) return Kind::kNormal;
        return Kind::kUnallocated;
      };
      m.kind = kind_of(sc);
      // Extend over following subclusters of the same kind within this cluster.
      std::uint32_t end = sc + 1;
      while (end < kSubclusters && kind_of(end) == m.kind) ++end;
      m.length = std::min(end * subcluster_size_ - in_cluster, to_disk_end);
    }
    if (m.kind == Kind::kNormal) {
      if ((host & (cluster_size_ - 1)) != 0) {
        return Error::corrupt(
            fmt::format("qcow2: cluster {} host offset {:#x} is not cluster-aligned", cluster_index, host));
      }
      m.host_offset = host + in_cluster;
      if (!range_within(m.host_offset, m.length, file_->size())) {
        return Error::truncated(fmt::format(
            "qcow2: cluster {} data at host offset {:#x} lies past the end of the file ({} bytes): truncated image?",
            cluster_index, host, file_->size()));
      }
    }
    return m;
  }

  Result<TableCache<std::uint64_t>::Table> l2_table(std::uint64_t l2_offset) const {
    return l2_cache_.get(l2_offset, [&]() -> Result<std::vector<std::uint64_t>> {
      if (!range_within(l2_offset, cluster_size_, file_->size())) {
        return Error::truncated(
            fmt::format("qcow2: L2 table at {:#x} lies past the end of the file ({} bytes)", l2_offset, file_->size()));
      }
      std::vector<std::byte> raw = IG_TRY(read_vector(*file_, l2_offset, cluster_size_));
      std::vector<std::uint64_t> entries(cluster_size_ / 8);
      for (std::size_t i = 0; i < entries.size(); ++i) entries[i] = load_be_ptr<std::uint64_t>(raw.data() + i * 8);
      return entries;
    });
  }

  // Decompresses the cluster `m` into `out`, which holds exactly one cluster.
  Result<void> decompress(const Mapping& m, std::span<std::byte> out) const {
    if (m.host_offset >= file_->size()) {
      return Error::truncated(
          fmt::format("qcow2: compressed cluster at host offset {:#x} past the end of the file", m.host_offset));
    }
    // The descriptor's sector count may overshoot the data (and the file); read what exists.
    const std::uint64_t csize = std::min({m.compressed_size, file_->size() - m.host_offset, 2 * cluster_size_ + 512});
    std::vector<std::byte> in = IG_TRY(read_vector(*file_, m.host_offset, static_cast<std::size_t>(csize)));
    const std::size_t produced =
        h_.compression_type == 1 ? IG_TRY(zstd_into(in, out)) : IG_TRY(inflate_into(in, out, false));
    if (produced != out.size()) {
      return Error::corrupt(fmt::format("qcow2: compressed cluster at {:#x} inflates to {} bytes, not {}",
                                        m.host_offset, produced, out.size()));
    }
    return ok();
  }

  // ---- Metadata check ----------------------------------------------------------------------
  //
  // qemu's `qemu-img check` algorithm (block/qcow2-refcount.c, qcow2_check_refcounts): count
  // the references to every cluster of the file (the header, the L1 tables, every L2 table, every
  // data and compressed cluster, the refcount table and blocks, the snapshot table), then compare
  // with the stored refcounts. Each cluster also remembers what it was first referenced as, so
  // that a cluster that is two kinds of metadata, or metadata and data, is named as the overlap
  // it is. The counters are sized by the file (bounded by the upload), and each distinct L2
  // table is read once however many L1 entries point at it: the work grows with the file, not
  // with the virtual size the tables map. Run once, before the first read.
  enum class Role : std::uint8_t {
    kNone,
    kHeader,
    kL1,
    kL2,
    kRefcountTable,
    kRefcountBlock,
    kSnapshotTable,
    kData,
    kCompressed
  };
  static constexpr std::uint32_t kCountMask = (1u << 28) - 1;  // low 28 bits count, top 4 the role

  static std::string_view role_name(Role r) {
    switch (r) {
      case Role::kNone: return "nothing";
      case Role::kHeader: return "header";
      case Role::kL1: return "L1 table";
      case Role::kL2: return "L2 table";
      case Role::kRefcountTable: return "refcount table";
      case Role::kRefcountBlock: return "refcount block";
      case Role::kSnapshotTable: return "snapshot table";
      case Role::kData: return "data cluster";
      case Role::kCompressed: return "compressed cluster";
    }
    return "?";
  }
  static bool is_data(Role r) { return r == Role::kData || r == Role::kCompressed; }

  Result<void> checked() const {
    std::call_once(check_once_, [this] { check_ = check_metadata(); });
    return check_;
  }

  struct CheckState {
    std::uint64_t clusters = 0;  // clusters of the file
    std::vector<std::uint32_t> refs;
    std::uint64_t entries = 0;  // metadata entries walked, against limits_.max_metadata_entries
  };

  Result<void> walked(CheckState& st, std::uint64_t n, std::string_view what) const {
    st.entries += n;
    if (st.entries > limits_.max_metadata_entries) {
      return Error::limit_exceeded(
          fmt::format("qcow2 check: more than {} metadata entries to walk (at the {}; Limits::max_metadata_entries)",
                      limits_.max_metadata_entries, what));
    }
    return ok();
  }

  // Counts `times` references of `role` to each cluster of [offset, offset + length).
  Result<void> add_refs(CheckState& st, std::uint64_t offset, std::uint64_t length, Role role, std::uint64_t times,
                        const std::string& what) const {
    if (length == 0) return ok();
    if (!range_within(offset, length, file_->size())) {
      return Error::truncated(fmt::format("qcow2: {} [{:#x}, +{}) lies past the end of the file ({} bytes)", what,
                                          offset, length, file_->size()));
    }
    const std::uint64_t first = offset >> h_.cluster_bits;
    const std::uint64_t last = (offset + length - 1) >> h_.cluster_bits;
    for (std::uint64_t c = first; c <= last; ++c) {
      std::uint32_t& r = st.refs[c];
      const Role old = static_cast<Role>(r >> 28);
      const bool shareable = role == Role::kL2 || is_data(role);
      if (old != Role::kNone && !(is_data(old) && is_data(role)) && (old != role || !shareable)) {
        return Error::corrupt(fmt::format("qcow2: {} at {:#x} overlaps the {} in cluster {} (host offset {:#x})", what,
                                          offset, role_name(old), c, c << h_.cluster_bits));
      }
      const std::uint64_t count = std::min<std::uint64_t>((r & kCountMask) + times, kCountMask);
      r = (static_cast<std::uint32_t>(role) << 28) | static_cast<std::uint32_t>(count);
    }
    return ok();
  }

  Result<std::vector<std::uint64_t>> read_table(std::uint64_t offset, std::uint64_t entries) const {
    std::vector<std::byte> raw = IG_TRY(read_vector(*file_, offset, static_cast<std::size_t>(entries * 8)));
    std::vector<std::uint64_t> table(static_cast<std::size_t>(entries));
    for (std::size_t i = 0; i < table.size(); ++i) table[i] = load_be_ptr<std::uint64_t>(raw.data() + i * 8);
    return table;
  }

  // The stored refcount of cluster `c`, reading refcount blocks through a one-block cache.
  struct RefcountReader {
    std::vector<std::uint64_t> table;
    std::uint64_t block_index = UINT64_MAX;
    std::vector<std::byte> block;
  };
  Result<std::uint64_t> stored_refcount(RefcountReader& rr, std::uint64_t c) const {
    const std::uint64_t bits = std::uint64_t{1} << h_.refcount_order;
    const std::uint64_t per_block = cluster_size_ * 8 / bits;
    const std::uint64_t t = c / per_block;
    if (t >= rr.table.size()) return std::uint64_t{0};
    const std::uint64_t block_offset = rr.table[t] & kOffsetMask;
    if (block_offset == 0) return std::uint64_t{0};
    if (t != rr.block_index) {
      rr.block = IG_TRY(read_vector(*file_, block_offset, static_cast<std::size_t>(cluster_size_)));
      rr.block_index = t;
    }
    const std::uint64_t bit = (c % per_block) * bits;
    if (bits < 8) return (std::to_integer<std::uint64_t>(rr.block[bit / 8]) >> (bit % 8)) & ((1u << bits) - 1);
    std::uint64_t v = 0;
    for (std::uint64_t i = 0; i < bits / 8; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(rr.block[bit / 8 + i]);
    return v;
  }

  struct L1Table {
    std::string name;  // "active L1 table", "snapshot 3's L1 table"
    std::vector<std::uint64_t> entries;
    bool active = false;
  };

  Result<void> check_metadata() const {
    CheckState st;
    st.clusters = div_round_up(file_->size(), cluster_size_);
    IG_TRY(walked(st, st.clusters, "file's clusters"));
    st.refs.assign(static_cast<std::size_t>(st.clusters), 0);

    IG_TRY(add_refs(st, 0, std::min(cluster_size_, file_->size()), Role::kHeader, 1, "header"));

    // The L1 tables: the active one whole (qemu checks every entry, used or not), and each
    // snapshot's.
    std::vector<L1Table> l1s;
    {
      L1Table active{"active L1 table", {}, true};
      IG_TRY(walked(st, h_.l1_size, active.name));
      IG_TRY(add_refs(st, h_.l1_table_offset, std::uint64_t{h_.l1_size} * 8, Role::kL1, 1, active.name));
      active.entries = IG_TRY(read_table(h_.l1_table_offset, h_.l1_size));
      l1s.push_back(std::move(active));
    }
    if (h_.nb_snapshots > 0) {
      if ((h_.snapshots_offset & (cluster_size_ - 1)) != 0) {
        return Error::corrupt(
            fmt::format("qcow2 header: snapshots_offset {:#x} not cluster-aligned", h_.snapshots_offset));
      }
      std::uint64_t pos = h_.snapshots_offset;
      for (std::uint32_t i = 0; i < h_.nb_snapshots; ++i) {
        IG_TRY(walked(st, 1, "snapshot table"));
        pos = align_up(pos, 8);  // each entry starts 8-aligned; the table ends where the last one does
        std::array<std::byte, kSnapshotEntryFixed> e{};
        if (!range_within(pos, e.size(), file_->size())) {
          return Error::truncated(
              fmt::format("qcow2: snapshot table entry {} at {:#x} lies past the end of the file ({} bytes)", i, pos,
                          file_->size()));
        }
        IG_TRY(file_->read_at(pos, e));
        const std::uint64_t l1_offset = load_be<std::uint64_t, 0>(e);
        const std::uint32_t l1_size = load_be<std::uint32_t, 8>(e);
        const std::uint16_t id_size = load_be<std::uint16_t, 12>(e);
        const std::uint16_t name_size = load_be<std::uint16_t, 14>(e);
        const std::uint32_t extra_size = load_be<std::uint32_t, 36>(e);
        if (extra_size > kMaxSnapshotExtraData) {
          return Error::corrupt(
              fmt::format("qcow2: snapshot {} extra_data_size {} exceeds {}", i, extra_size, kMaxSnapshotExtraData));
        }
        pos += kSnapshotEntryFixed + extra_size + id_size + name_size;
        if (pos - h_.snapshots_offset > kMaxSnapshotTableBytes) {
          return Error::corrupt(fmt::format("qcow2: snapshot table larger than {} bytes", kMaxSnapshotTableBytes));
        }
        L1Table sn{fmt::format("snapshot {}'s L1 table", i), {}, false};
        if (std::uint64_t{l1_size} * 8 > max_table_bytes_) {
          return Error::limit_exceeded(fmt::format("qcow2: {} of {} bytes exceeds the limit {}", sn.name,
                                                   std::uint64_t{l1_size} * 8, max_table_bytes_));
        }
        if ((l1_offset & (cluster_size_ - 1)) != 0) {
          return Error::corrupt(fmt::format("qcow2: {} offset {:#x} not cluster-aligned", sn.name, l1_offset));
        }
        IG_TRY(walked(st, l1_size, sn.name));
        IG_TRY(add_refs(st, l1_offset, std::uint64_t{l1_size} * 8, Role::kL1, 1, sn.name));
        sn.entries = IG_TRY(read_table(l1_offset, l1_size));
        l1s.push_back(std::move(sn));
      }
      IG_TRY(add_refs(st, h_.snapshots_offset, pos - h_.snapshots_offset, Role::kSnapshotTable, 1, "snapshot table"));
    }

    // The refcount table and its blocks.
    RefcountReader rr;
    {
      const std::uint64_t table_bytes = std::uint64_t{h_.refcount_table_clusters} * cluster_size_;
      if (table_bytes > max_table_bytes_) {
        return Error::limit_exceeded(
            fmt::format("qcow2: refcount table of {} bytes exceeds the limit {}", table_bytes, max_table_bytes_));
      }
      if ((h_.refcount_table_offset & (cluster_size_ - 1)) != 0) {
        return Error::corrupt(
            fmt::format("qcow2 header: refcount_table_offset {:#x} not cluster-aligned", h_.refcount_table_offset));
      }
      IG_TRY(walked(st, table_bytes / 8, "refcount table"));
      IG_TRY(add_refs(st, h_.refcount_table_offset, table_bytes, Role::kRefcountTable, 1, "refcount table"));
      rr.table = IG_TRY(read_table(h_.refcount_table_offset, table_bytes / 8));
      for (std::size_t i = 0; i < rr.table.size(); ++i) {
        const std::uint64_t block = rr.table[i] & kOffsetMask;
        if (block == 0) continue;
        if ((block & (cluster_size_ - 1)) != 0) {
          return Error::corrupt(fmt::format("qcow2: refcount block {} at {:#x} not cluster-aligned", i, block));
        }
        IG_TRY(add_refs(st, block, cluster_size_, Role::kRefcountBlock, 1, fmt::format("refcount block {}", i)));
      }
    }
    // With the dirty bit set, refcounts may lag behind (lazy refcounts): qemu rebuilds them when
    // it opens such an image writable. Overlaps and the budgets still hold; the counts are not
    // compared.
    const bool compare = (h_.incompatible_features & kIncompatDirty) == 0;

    // Every L1 entry references its L2 table. An L2 table referenced more often than its
    // refcount allows is corrupt before any of it is read.
    std::unordered_map<std::uint64_t, std::uint64_t> active_refs;  // L2 cluster -> active L1 entries
    for (const L1Table& t : l1s) {
      for (std::size_t i = 0; i < t.entries.size(); ++i) {
        const std::uint64_t l2 = t.entries[i] & kOffsetMask;
        if (l2 == 0) continue;
        if ((l2 & (cluster_size_ - 1)) != 0) {
          return Error::corrupt(
              fmt::format("qcow2: {} entry {} = {:#x} has an unaligned L2 offset", t.name, i, t.entries[i]));
        }
        if (!range_within(l2, cluster_size_, file_->size())) {
          return Error::truncated(
              fmt::format("qcow2: L2 table at {:#x} lies past the end of the file ({} bytes)", l2, file_->size()));
        }
        IG_TRY(add_refs(st, l2, cluster_size_, Role::kL2, 1, fmt::format("L2 table of {} entry {}", t.name, i)));
        if (t.active) ++active_refs[l2 >> h_.cluster_bits];
      }
    }
    std::vector<std::uint64_t> l2_clusters;
    for (std::uint64_t c = 0; c < st.clusters; ++c) {
      if (static_cast<Role>(st.refs[c] >> 28) != Role::kL2) continue;
      l2_clusters.push_back(c);
      if (l2_clusters.size() > limits_.max_l2_tables) {
        return Error::limit_exceeded(
            fmt::format("qcow2 check: more than {} distinct L2 tables (Limits::max_l2_tables)", limits_.max_l2_tables));
      }
      if (compare) {
        const std::uint64_t stored = IG_TRY(stored_refcount(rr, c));
        const std::uint64_t counted = st.refs[c] & kCountMask;
        if (counted > stored) {
          return Error::corrupt(
              fmt::format("qcow2: the L2 table at {:#x} is referenced by {} L1 entries, but its refcount is {}",
                          c << h_.cluster_bits, counted, stored));
        }
      }
    }

    // Each distinct L2 table is read once; its data clusters count once per L1 entry that
    // references it. The active layer's mapped clusters are counted for the output budget.
    const std::uint64_t per_l2 = l2_entries_;
    const std::uint64_t stride = extended_l2_ ? 2 : 1;
    const std::uint64_t offset_mask = (std::uint64_t{1} << csize_shift_) - 1;
    const std::uint64_t csize_mask = (std::uint64_t{1} << (h_.cluster_bits - 8)) - 1;
    std::vector<bool> active_data(static_cast<std::size_t>(st.clusters), false);
    std::vector<std::uint64_t> active_compressed;  // descriptor offsets the active layer maps
    std::uint64_t mapped = 0;                      // allocated guest clusters of the active layer
    std::uint64_t distinct = 0;                    // distinct host clusters they map
    for (const std::uint64_t c : l2_clusters) {
      const std::uint64_t l2 = c << h_.cluster_bits;
      const std::uint64_t times = st.refs[c] & kCountMask;
      const auto found = active_refs.find(c);
      const std::uint64_t active = found == active_refs.end() ? 0 : found->second;
      // Reading the disk walks a table once per active L1 entry that names it: that walk is
      // budgeted here, so that an L1 naming one table thousands of times (with refcounts to
      // match, which qemu accepts) is refused before reads multiply it.
      IG_TRY(walked(st, per_l2 * std::max<std::uint64_t>(active, 1), "L2 tables, once per active L1 entry"));
      const std::vector<std::uint64_t> table = IG_TRY(read_table(l2, cluster_size_ / 8));
      for (std::uint64_t i = 0; i < per_l2; ++i) {
        const std::uint64_t entry = table[i * stride];
        if ((entry & kFlagCompressed) != 0) {
          const std::uint64_t coffset = entry & offset_mask;
          const std::uint64_t nb_csectors = ((entry >> csize_shift_) & csize_mask) + 1;
          if (coffset >= file_->size()) {
            return Error::truncated(fmt::format(
                "qcow2: L2 table at {:#x} entry {}: compressed cluster at host offset {:#x} past the end of the file",
                l2, i, coffset));
          }
          // As qemu counts it: the sectors the descriptor names, here within the file (the read
          // is clamped to the file too).
          const std::uint64_t start = align_down(coffset, 512);
          const std::uint64_t length = std::min(nb_csectors * 512, file_->size() - start);
          IG_TRY(add_refs(st, start, length, Role::kCompressed, times,
                          fmt::format("compressed cluster of the L2 table at {:#x} entry {}", l2, i)));
          if (active > 0) {
            mapped += active;
            active_compressed.push_back(coffset);
          }
          continue;
        }
        const std::uint64_t host = entry & kOffsetMask;
        if (host == 0) continue;
        if ((host & (cluster_size_ - 1)) != 0) {
          return Error::corrupt(
              fmt::format("qcow2: L2 table at {:#x} entry {}: host offset {:#x} is not cluster-aligned", l2, i, host));
        }
        if (host >= file_->size()) {
          return Error::truncated(fmt::format(
              "qcow2: L2 table at {:#x} entry {}: data at host offset {:#x} lies past the end of the file ({} bytes): "
              "truncated image?",
              l2, i, host, file_->size()));
        }
        // The file may end inside the last data cluster (qemu writes subclusters and the tail
        // of an odd-sized disk as they are): the cluster counts, its bytes are checked on read.
        IG_TRY(add_refs(st, host, std::min(cluster_size_, file_->size() - host), Role::kData, times,
                        fmt::format("data cluster of the L2 table at {:#x} entry {}", l2, i)));
        // A preallocated zero cluster reads as zeros: no output.
        const bool zero = extended_l2_ ? static_cast<std::uint32_t>(table[i * 2 + 1]) == 0 : (entry & kFlagZero) != 0;
        if (active > 0 && !zero) {
          mapped += active;
          const std::size_t h = static_cast<std::size_t>(host >> h_.cluster_bits);
          if (!active_data[h]) ++distinct;
          active_data[h] = true;
        }
      }
    }
    if (compare) {
      for (std::uint64_t c = 0; c < st.clusters; ++c) {
        const std::uint64_t counted = st.refs[c] & kCountMask;
        if (counted == 0) continue;
        const std::uint64_t stored = IG_TRY(stored_refcount(rr, c));
        if (counted > stored) {
          return Error::corrupt(fmt::format(
              "qcow2: cluster {} (host offset {:#x}, {}) has refcount {} but {} references (qemu-img check: ERROR)", c,
              c << h_.cluster_bits, role_name(static_cast<Role>(st.refs[c] >> 28)), stored, counted));
        }
      }
    }
    std::sort(active_compressed.begin(), active_compressed.end());
    distinct += static_cast<std::uint64_t>(std::unique(active_compressed.begin(), active_compressed.end()) -
                                           active_compressed.begin());
    // The output budget: the converted data never exceeds the allocated clusters the active
    // layer maps, each shared cluster counted once.
    const std::uint64_t budget = std::min(distinct * cluster_size_, limits_.max_output_bytes);
    const std::uint64_t output = mapped > UINT64_MAX / cluster_size_ ? UINT64_MAX : mapped * cluster_size_;
    if (output > budget) {
      return Error::limit_exceeded(fmt::format(
          "qcow2: output budget exceeded: the active layer maps {} allocated clusters onto {} distinct ones; "
          "converting it would write {} bytes, over its budget of {} bytes (each shared cluster counted once, "
          "at most Limits::max_output_bytes)",
          mapped, distinct, output, budget));
    }

    return ok();
  }

  SourcePtr file_;
  Header h_;
  std::uint64_t cluster_size_;
  bool extended_l2_;
  std::uint64_t l2_entries_;
  std::uint64_t subcluster_size_;
  std::uint32_t csize_shift_;
  std::vector<std::uint64_t> l1_;
  TableCache<std::uint64_t> l2_cache_;
  TableCache<std::byte> inflated_;  // compressed clusters, by host offset
  std::uint64_t max_table_bytes_;
  Limits limits_;
  mutable std::once_flag check_once_;
  mutable Result<void> check_ = ok();
  mutable std::once_flag prealloc_once_;
  mutable Result<bool> prealloc_ = false;
  ImageInfo info_;
};

// Reads the string of `length` bytes (at most 1023, qemu's bound) at `offset`, for naming
// refused references; NUL padding and unprintable bytes are not shown. A name outside the file
// is shown as such (the refusal it belongs to still stands); a failed read is an error.
Result<std::string> read_name(const ByteSource& file, std::uint64_t offset, std::uint64_t length) {
  length = std::min<std::uint64_t>(length, 1023);
  if (!range_within(offset, length, file.size())) return std::string("<past the end of the file>");
  std::vector<std::byte> bytes = IG_TRY(read_vector(file, offset, static_cast<std::size_t>(length)));
  std::string_view text = as_chars(bytes);
  return printable(text.substr(0, text.find('\0')), 1023);
}

}  // namespace

Result<std::unique_ptr<DiskImage>> open(SourcePtr file, const Limits& limits) {
  std::array<std::byte, 112> b{};
  if (file->size() < kV2HeaderLength) {
    return Error::corrupt(
        fmt::format("qcow2 header: file has {} bytes, the header needs {}", file->size(), kV2HeaderLength));
  }
  IG_TRY(file->read_at(0, std::span(b).first(std::min<std::size_t>(b.size(), file->size()))));
  if (load_be<std::uint32_t, kMagic>(b) != kQcowMagic) return Error::corrupt("qcow2 header: bad magic");
  const Header h = parse_header(b);

  if (h.version != 2 && h.version != 3) {
    return Error::unsupported(fmt::format("qcow2 header: version {} (only 2 and 3 exist)", h.version));
  }
  if (h.cluster_bits < 9 || h.cluster_bits > 21) {
    return Error::corrupt(fmt::format("qcow2 header: cluster_bits {} not in [9, 21]", h.cluster_bits));
  }
  const std::uint64_t cluster_size = std::uint64_t{1} << h.cluster_bits;
  if (h.version == 3) {
    if (h.header_length < kV3MinHeaderLength || h.header_length % 8 != 0) {
      return Error::corrupt(
          fmt::format("qcow2 header: header_length {} (must be >= 104 and a multiple of 8)", h.header_length));
    }
    if (h.header_length > cluster_size) {
      return Error::corrupt(
          fmt::format("qcow2 header: header_length {} exceeds the cluster size {}", h.header_length, cluster_size));
    }
  }
  if (file->size() < h.header_length) {
    return Error::corrupt(
        fmt::format("qcow2 header: file has {} bytes, header_length is {}", file->size(), h.header_length));
  }
  if (h.refcount_order > 6) {
    return Error::corrupt(fmt::format("qcow2 header: refcount_order {} not in [0, 6]", h.refcount_order));
  }

  // Refusals, most fundamental first.
  if ((h.incompatible_features & kIncompatCorrupt) != 0) {
    return Error::unsupported(
        "qcow2: the corrupt bit is set (qemu marked this image as corrupt; repair it with "
        "`qemu-img check -r all` before uploading)");
  }
  if (h.crypt_method != 0) {
    return Error::unsupported(fmt::format("qcow2: encrypted image ({}); upload an unencrypted image",
                                          h.crypt_method == 1   ? "AES"
                                          : h.crypt_method == 2 ? "LUKS"
                                                                : "unknown method"));
  }
  if (h.backing_file_offset != 0) {
    return Error::unsupported(
        fmt::format("qcow2: backing file '{}' refused: imagegate never opens a file named inside an image; "
                    "flatten it first (qemu-img convert -O qcow2)",
                    IG_TRY(read_name(*file, h.backing_file_offset, h.backing_file_size))));
  }

  // Header extensions (v3: after header_length; v2: after the 72-byte header), within cluster 0.
  bool has_bitmaps = false;
  std::string data_file_name;
  std::vector<std::string> incompatible_names(64);  // from the feature name table, when present
  {
    const std::uint64_t ext_end = std::min<std::uint64_t>(cluster_size, file->size());
    std::uint64_t pos = h.header_length;
    for (std::uint32_t n = 0;; ++n) {
      if (n >= limits.max_header_extensions) {
        return Error::limit_exceeded(
            fmt::format("qcow2 header: more than {} header extensions", limits.max_header_extensions));
      }
      if (pos + 8 > ext_end) break;  // no end marker: qemu stops at the cluster end too
      std::array<std::byte, 8> eh{};
      IG_TRY(file->read_at(pos, eh));
      const std::uint32_t type = load_be<std::uint32_t, 0>(eh);
      const std::uint32_t len = load_be<std::uint32_t, 4>(eh);
      if (type == kExtEnd) break;
      if (len > ext_end - pos - 8) {
        return Error::corrupt(
            fmt::format("qcow2 header extension {:#x} at {}: length {} runs past the first cluster", type, pos, len));
      }
      if (type == kExtDataFile) data_file_name = IG_TRY(read_name(*file, pos + 8, len));
      if (type == kExtFeatureTable) {
        // Entries of 48 bytes: type (0 = incompatible), bit number, 46-byte name.
        for (std::uint64_t e = 0; e + 48 <= len; e += 48) {
          std::array<std::byte, 2> tb{};
          IG_TRY(file->read_at(pos + 8 + e, tb));
          const auto bit = std::to_integer<std::uint8_t>(tb[1]);
          if (std::to_integer<std::uint8_t>(tb[0]) == 0 && bit < 64) {
            incompatible_names[bit] = IG_TRY(read_name(*file, pos + 8 + e + 2, 46));
          }
        }
      }
      if (type == kExtBitmaps) has_bitmaps = true;
      if (type == kExtEncryption && h.crypt_method == 0) {
        return Error::corrupt("qcow2 header: encryption extension present but crypt_method is 0");
      }
      pos += 8 + align_up(len, 8);
    }
  }
  if (const std::uint64_t unknown = h.incompatible_features & ~kIncompatKnown; unknown != 0) {
    std::string names;
    for (unsigned bit = 0; bit < 64; ++bit) {
      if (((unknown >> bit) & 1u) != 0 && !incompatible_names[bit].empty()) {
        names += fmt::format("{}{} (bit {})", names.empty() ? "" : ", ", incompatible_names[bit], bit);
      }
    }
    return Error::unsupported(
        fmt::format("qcow2: unknown incompatible feature bits {:#x}{}{}", unknown, names.empty() ? "" : ": ", names));
  }
  if ((h.incompatible_features & kIncompatDataFile) != 0) {
    return Error::unsupported(
        fmt::format("qcow2: external data file '{}' refused: imagegate never opens a file named inside an image",
                    data_file_name.empty() ? "<unnamed>" : data_file_name));
  }
  if (h.compression_type > 1) {
    return Error::unsupported(fmt::format("qcow2 header: unknown compression_type {}", h.compression_type));
  }
  if (h.compression_type != 0 && (h.incompatible_features & kIncompatCompression) == 0) {
    return Error::corrupt("qcow2 header: compression_type set without the compression-type incompatible bit");
  }
  const bool extended_l2 = (h.incompatible_features & kIncompatExtendedL2) != 0;
  if (extended_l2 && h.cluster_bits < 14) {
    return Error::corrupt(
        fmt::format("qcow2 header: extended L2 entries need clusters of at least 16 KiB, not {}", cluster_size));
  }

  if (h.nb_snapshots > kMaxSnapshots) {
    return Error::corrupt(fmt::format("qcow2 header: nb_snapshots {} exceeds {} (qemu: snapshot table too large)",
                                      h.nb_snapshots, kMaxSnapshots));
  }

  // Virtual size and the L1 table.
  if (h.size > limits.max_virtual_size_bytes) {
    return Error::limit_exceeded(
        fmt::format("qcow2 header: virtual size {} exceeds the limit {}", h.size, limits.max_virtual_size_bytes));
  }
  const std::uint64_t l2_entries = cluster_size / (extended_l2 ? 16 : 8);
  const std::uint64_t l1_needed = div_round_up(div_round_up(h.size, cluster_size), l2_entries);
  if (h.l1_size < l1_needed) {
    return Error::corrupt(
        fmt::format("qcow2 header: l1_size {} too small for virtual size {} (needs {})", h.l1_size, h.size, l1_needed));
  }
  const std::uint64_t l1_bytes = std::uint64_t{h.l1_size} * 8;
  if (l1_bytes > limits.max_table_bytes) {
    return Error::limit_exceeded(
        fmt::format("qcow2 header: L1 table of {} bytes exceeds the limit {}", l1_bytes, limits.max_table_bytes));
  }
  if (h.l1_size > 0) {
    if ((h.l1_table_offset & (cluster_size - 1)) != 0) {
      return Error::corrupt(fmt::format("qcow2 header: l1_table_offset {:#x} not cluster-aligned", h.l1_table_offset));
    }
    if (!range_within(h.l1_table_offset, l1_bytes, file->size())) {
      return Error::truncated(
          fmt::format("qcow2 header: L1 table [{:#x}, +{}) lies past the end of the file ({} bytes)", h.l1_table_offset,
                      l1_bytes, file->size()));
    }
  }
  // Only the entries that cover the virtual size are read; the rest (vm state) is never used.
  const std::size_t l1_used = static_cast<std::size_t>(l1_needed);
  std::vector<std::byte> l1_raw = IG_TRY(read_vector(*file, h.l1_table_offset, l1_used * 8));
  std::vector<std::uint64_t> l1(l1_used);
  for (std::size_t i = 0; i < l1_used; ++i) {
    l1[i] = load_be_ptr<std::uint64_t>(l1_raw.data() + i * 8);
    if ((l1[i] & kL1ReservedMask) != 0 || ((l1[i] & kOffsetMask) & (cluster_size - 1)) != 0) {
      return Error::corrupt(
          fmt::format("qcow2: L1 entry {} = {:#x} has reserved bits set or an unaligned L2 offset", i, l1[i]));
    }
  }

  ImageInfo info;
  info.format = Format::kQcow2;
  info.virtual_size = h.size;
  info.cluster_size = cluster_size;
  info.subformat = h.version == 2 ? "v2" : "v3";
  info.compression = h.compression_type == 1 ? "zstd" : "zlib";
  info.dirty = (h.incompatible_features & kIncompatDirty) != 0;
  if (h.version == 2) {
    info.format_specific = {
        {"compat", std::string("0.10")}, {"compression-type", info.compression}, {"refcount-bits", std::uint64_t{16}}};
  } else {
    info.format_specific = {{"compat", std::string("1.1")},
                            {"compression-type", info.compression},
                            {"lazy-refcounts", (h.compatible_features & kCompatLazyRefcounts) != 0},
                            {"refcount-bits", std::uint64_t{1} << h.refcount_order},
                            {"corrupt", false},
                            {"extended-l2", extended_l2}};
  }
  if (info.dirty) info.notes.push_back("dirty bit set: the image was not closed cleanly; its data is read as written");
  if (h.nb_snapshots > 0) {
    info.notes.push_back(fmt::format("{} internal snapshot(s) ignored: the active layer is imported", h.nb_snapshots));
  }
  if (has_bitmaps) info.notes.push_back("persistent dirty bitmaps present (not imported)");
  return std::unique_ptr<DiskImage>(new Image(std::move(file), h, std::move(l1), limits, std::move(info)));
}

}  // namespace ig::qcow2
