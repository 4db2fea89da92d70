// VMDK reader: hosted sparse extents ("KDMV", VMware "Virtual Disk Format 5.0"), monolithicSparse
// and streamOptimized, with the embedded descriptor. See docs/formats/vmdk.md. Little-endian.
//
// Refused with the reason: descriptor-only files, flat / split / multi-extent layouts, parent
// links (parentCID, parentFileNameHint), ESX COWD extents, header versions above 3. No file named
// in a descriptor is ever opened: the sparse extent's own data is all that is read.
#include <algorithm>
#include <array>
#include <cstring>
#include <sstream>

#include "base/bytes.h"
#include "base/checked.h"
#include "base/text.h"
#include "formats/internal.h"

namespace ig::vmdk {
namespace {

// SparseExtentHeader layout.
constexpr std::size_t kVersion = 4;
constexpr std::size_t kFlags = 8;
constexpr std::size_t kCapacity = 12;
constexpr std::size_t kGrainSize = 20;
constexpr std::size_t kDescriptorOffset = 28;
constexpr std::size_t kDescriptorSize = 36;
constexpr std::size_t kNumGtesPerGt = 44;
constexpr std::size_t kRgdOffset = 48;
constexpr std::size_t kGdOffset = 56;
constexpr std::size_t kOverHead = 64;
constexpr std::size_t kUncleanShutdown = 72;
constexpr std::size_t kCompressAlgorithm = 77;

constexpr std::uint32_t kFlagRgd = 1u << 1;
constexpr std::uint32_t kFlagZeroGrain = 1u << 2;
constexpr std::uint32_t kFlagCompressed = 1u << 16;
constexpr std::uint32_t kFlagMarkers = 1u << 17;
constexpr std::uint16_t kCompressDeflate = 1;
constexpr std::uint64_t kGdAtEnd = 0xffffffffffffffffULL;

// Stream markers (streamOptimized).
constexpr std::uint32_t kMarkerEos = 0;
constexpr std::uint32_t kMarkerFooter = 3;

struct Header {
  std::uint32_t version = 0;
  std::uint32_t flags = 0;
  std::uint64_t capacity = 0;    // sectors
  std::uint64_t grain_size = 0;  // sectors
  std::uint64_t descriptor_offset = 0;
  std::uint64_t descriptor_size = 0;
  std::uint32_t num_gtes_per_gt = 0;
  std::uint64_t rgd_offset = 0;
  std::uint64_t gd_offset = 0;
  std::uint64_t over_head = 0;
  bool unclean_shutdown = false;
  std::uint16_t compress_algorithm = 0;
};

Header parse_header(const std::array<std::byte, 512>& b) {
  Header h;
  h.version = load_le<std::uint32_t, kVersion>(b);
  h.flags = load_le<std::uint32_t, kFlags>(b);
  h.capacity = load_le<std::uint64_t, kCapacity>(b);
  h.grain_size = load_le<std::uint64_t, kGrainSize>(b);
  h.descriptor_offset = load_le<std::uint64_t, kDescriptorOffset>(b);
  h.descriptor_size = load_le<std::uint64_t, kDescriptorSize>(b);
  h.num_gtes_per_gt = load_le<std::uint32_t, kNumGtesPerGt>(b);
  h.rgd_offset = load_le<std::uint64_t, kRgdOffset>(b);
  h.gd_offset = load_le<std::uint64_t, kGdOffset>(b);
  h.over_head = load_le<std::uint64_t, kOverHead>(b);
  h.unclean_shutdown = load_le<std::uint8_t, kUncleanShutdown>(b) != 0;
  h.compress_algorithm = load_le<std::uint16_t, kCompressAlgorithm>(b);
  return h;
}

// What the embedded descriptor says.
struct Descriptor {
  std::string create_type;
  std::optional<std::uint32_t> cid;
  std::optional<std::uint32_t> parent_cid;
  std::optional<std::string> parent_hint;
  struct ExtentLine {
    std::string access;
    std::uint64_t sectors = 0;
    std::string type;
    std::string file;
  };
  std::vector<ExtentLine> extents;
};

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

// Parses descriptor text: `key = value` lines and extent lines (`RW 2048 SPARSE "x.vmdk"`).
// Unknown lines are ignored; the text is already bounded by the caller.
Descriptor parse_descriptor(std::string_view text) {
  Descriptor d;
  for_each_line(text, [&](std::string_view raw) {
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') return;
    if (line.rfind("RW ", 0) == 0 || line.rfind("RDONLY ", 0) == 0 || line.rfind("NOACCESS ", 0) == 0) {
      Descriptor::ExtentLine e;
      std::istringstream in(line);
      std::string sectors;
      in >> e.access >> sectors >> e.type;
      std::string rest;
      std::getline(in, rest);
      rest = trim(rest);
      // The file name is quoted; anything after it (a flat extent's offset) is kept out of it.
      if (!rest.empty() && rest[0] == '"') {
        const auto close = rest.find('"', 1);
        e.file = rest.substr(1, close == std::string::npos ? std::string::npos : close - 1);
      } else {
        e.file = rest;
      }
      e.sectors = std::strtoull(sectors.c_str(), nullptr, 10);
      d.extents.push_back(std::move(e));
      return;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) return;
    const std::string key = trim(std::string_view(line).substr(0, eq));
    const std::string value = unquote(trim(std::string_view(line).substr(eq + 1)));
    if (key == "createType") d.create_type = value;
    if (key == "CID") d.cid = static_cast<std::uint32_t>(std::strtoul(value.c_str(), nullptr, 16));
    if (key == "parentCID") d.parent_cid = static_cast<std::uint32_t>(std::strtoul(value.c_str(), nullptr, 16));
    if (key == "parentFileNameHint") d.parent_hint = value;
  });
  return d;
}

class Image final : public DiskImage {
 public:
  Image(SourcePtr file, const Header& h, std::vector<std::uint32_t> gd, const Limits& limits, ImageInfo info)
      : file_(std::move(file)),
        h_(h),
        grain_bytes_(h.grain_size * 512),
        virtual_size_(h.capacity * 512),
        gd_(std::move(gd)),
        compressed_((h.flags & kFlagCompressed) != 0 || h.compress_algorithm == kCompressDeflate),
        markers_((h.flags & kFlagMarkers) != 0),
        zero_grain_((h.flags & kFlagZeroGrain) != 0),
        gt_cache_(limits.max_metadata_cache_bytes),
        inflated_(kInflatedCacheBytes),
        info_(std::move(info)) {}

  std::uint64_t size() const override { return virtual_size_; }
  std::string name() const override { return "vmdk guest disk of " + file_->name(); }
  const ImageInfo& info() const override { return info_; }

  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    if (!fits(offset, out.size())) return out_of_range(offset, out.size());
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint64_t pos = offset + done;
      const std::uint64_t grain = pos / grain_bytes_;
      const std::uint64_t in_grain = pos % grain_bytes_;
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(grain_bytes_ - in_grain, out.size() - done));
      auto dst = out.subspan(done, n);
      const Gte g = IG_TRY(gte(grain));
      if (g.kind != ExtentKind::kData) {
        std::memset(dst.data(), 0, n);
      } else if (!compressed_) {
        const std::uint64_t host = g.sector * 512 + in_grain;
        if (!range_within(host, n, file_->size())) {
          return Error::truncated(
              fmt::format("vmdk: grain {} at sector {} lies past the end of the file: truncated?", grain, g.sector));
        }
        IG_TRY(file_->read_at(host, dst));
      } else if (in_grain == 0 && n == grain_bytes_) {
        const std::vector<std::byte> data = IG_TRY(inflate_grain(grain, g.sector));
        IG_TRY(copy_inflated(grain, data, in_grain, dst));
      } else {
        // Part of a grain: inflated once, kept for the reads of its other parts.
        const auto data = IG_TRY(inflated_.get(g.sector, [&] { return inflate_grain(grain, g.sector); }));
        IG_TRY(copy_inflated(grain, *data, in_grain, dst));
      }
      done += n;
    }
    return ok();
  }

  Result<Extent> extent_at(std::uint64_t offset) const override {
    if (offset >= virtual_size_) return out_of_range(offset, 1);
    const std::uint64_t first = offset / grain_bytes_;
    const ExtentKind kind = IG_TRY(gte(first)).kind;
    std::uint64_t end = (first + 1) * grain_bytes_;
    for (int i = 0; i < 65536 && end < virtual_size_; ++i) {
      const std::uint64_t grain = end / grain_bytes_;
      const std::uint64_t gd_index = grain / h_.num_gtes_per_gt;
      if (kind == ExtentKind::kUnallocated && gd_[gd_index] == 0) {
        // No grain table: its whole span is unallocated, one step however large the disk.
        end = (gd_index + 1) * h_.num_gtes_per_gt * grain_bytes_;
        continue;
      }
      if (IG_TRY(gte(grain)).kind != kind) break;
      end += grain_bytes_;
    }
    return Extent{std::min(end, virtual_size_) - offset, kind};
  }

 private:
  struct Gte {
    ExtentKind kind = ExtentKind::kUnallocated;
    std::uint64_t sector = 0;
  };

  Result<Gte> gte(std::uint64_t grain) const {
    const std::uint64_t gd_index = grain / h_.num_gtes_per_gt;
    const std::uint64_t gt_index = grain % h_.num_gtes_per_gt;
    // gd_index < gd_.size(): open() sized the directory to cover the capacity.
    const std::uint32_t gt_sector = gd_[gd_index];
    if (gt_sector == 0) return Gte{};
    auto table = IG_TRY(gt_cache_.get(gt_sector, [&]() -> Result<std::vector<std::uint32_t>> {
      const std::uint64_t bytes = std::uint64_t{h_.num_gtes_per_gt} * 4;
      if (!range_within(std::uint64_t{gt_sector} * 512, bytes, file_->size())) {
        return Error::truncated(fmt::format("vmdk: grain table at sector {} lies past the end of the file", gt_sector));
      }
      std::vector<std::byte> raw = IG_TRY(read_vector(*file_, std::uint64_t{gt_sector} * 512, bytes));
      std::vector<std::uint32_t> entries(h_.num_gtes_per_gt);
      for (std::size_t i = 0; i < entries.size(); ++i) entries[i] = load_le_ptr<std::uint32_t>(raw.data() + i * 4);
      return entries;
    }));
    const std::uint32_t e = (*table)[gt_index];
    if (e == 0) return Gte{};
    if (e == 1 && zero_grain_) return Gte{ExtentKind::kZero, 0};
    return Gte{ExtentKind::kData, e};
  }

  static Result<void> copy_inflated(std::uint64_t grain, const std::vector<std::byte>& data, std::uint64_t in_grain,
                                    std::span<std::byte> dst) {
    if (in_grain + dst.size() > data.size()) {
      return Error::corrupt(
          fmt::format("vmdk: grain {} inflates to {} bytes, {} needed", grain, data.size(), in_grain + dst.size()));
    }
    std::memcpy(dst.data(), data.data() + in_grain, dst.size());
    return ok();
  }

  Result<std::vector<std::byte>> inflate_grain(std::uint64_t grain, std::uint64_t sector) const {
    const std::uint64_t host = sector * 512;
    if (host >= file_->size()) {
      return Error::truncated(
          fmt::format("vmdk: compressed grain {} at sector {} past the end of the file", grain, sector));
    }
    std::uint64_t data_offset = host;
    std::uint64_t data_len = 0;
    if (markers_) {
      // Grain marker: lba (8), size (4), then the compressed bytes.
      std::array<std::byte, 12> marker{};
      if (!range_within(host, marker.size(), file_->size())) {
        return Error::corrupt(fmt::format("vmdk: grain marker at sector {} cut short by the end of the file", sector));
      }
      IG_TRY(file_->read_at(host, marker));
      data_len = load_le<std::uint32_t, 8>(marker);
      data_offset = host + 12;
      if (data_len == 0 || data_len > 2 * grain_bytes_ + 1024) {
        return Error::corrupt(fmt::format("vmdk: grain {} marker claims {} compressed bytes (grain is {})", grain,
                                          data_len, grain_bytes_));
      }
      if (!range_within(data_offset, data_len, file_->size())) {
        return Error::truncated(
            fmt::format("vmdk: compressed grain {} ({} bytes at {:#x}) runs past the end of the file", grain, data_len,
                        data_offset));
      }
    } else {
      data_len = std::min<std::uint64_t>(file_->size() - host, 2 * grain_bytes_);
    }
    std::vector<std::byte> in = IG_TRY(read_vector(*file_, data_offset, static_cast<std::size_t>(data_len)));
    std::vector<std::byte> out(grain_bytes_);
    const std::size_t produced = IG_TRY_CTX(inflate_into(in, out, true), "vmdk: grain {}", grain);
    out.resize(produced);
    return out;
  }

  SourcePtr file_;
  Header h_;
  std::uint64_t grain_bytes_;
  std::uint64_t virtual_size_;
  std::vector<std::uint32_t> gd_;
  bool compressed_;
  bool markers_;
  bool zero_grain_;
  TableCache<std::uint32_t> gt_cache_;
  TableCache<std::byte> inflated_;  // compressed grains, by sector
  ImageInfo info_;
};

// Reads every grain table the directory names, once per naming, before any grain is read: the
// tables walked are bounded by Limits::max_metadata_entries and the grains they map by the output
// budget (check_output_budget), so a directory naming one table many times, or tables whose
// entries share one grain, is refused before a conversion multiplies it.
Result<void> check_grain_tables(const ByteSource& file, const Header& h, const std::vector<std::uint32_t>& gd,
                                bool compressed, const Limits& limits) {
  const std::uint64_t named =
      static_cast<std::uint64_t>(std::count_if(gd.begin(), gd.end(), [](std::uint32_t s) { return s != 0; }));
  if (named > limits.max_metadata_entries / h.num_gtes_per_gt) {
    return Error::limit_exceeded(
        fmt::format("vmdk: the grain directory names {} grain tables of {} entries, more than {} entries to walk "
                    "(Limits::max_metadata_entries)",
                    named, h.num_gtes_per_gt, limits.max_metadata_entries));
  }
  const bool zero_grain = (h.flags & kFlagZeroGrain) != 0;
  const std::uint64_t grains = div_round_up(h.capacity, h.grain_size);
  const std::uint64_t table_bytes = std::uint64_t{h.num_gtes_per_gt} * 4;
  std::vector<std::uint64_t> mapped;  // file offsets of the grains, once per mapping
  std::vector<std::byte> raw(static_cast<std::size_t>(table_bytes));
  for (std::size_t i = 0; i < gd.size(); ++i) {
    if (gd[i] == 0) continue;
    const std::uint64_t at = std::uint64_t{gd[i]} * 512;
    if (!range_within(at, table_bytes, file.size())) {
      return Error::truncated(fmt::format("vmdk: grain table at sector {} lies past the end of the file", gd[i]));
    }
    IG_TRY(file.read_at(at, raw));
    for (std::uint64_t j = 0; j < h.num_gtes_per_gt && i * h.num_gtes_per_gt + j < grains; ++j) {
      const std::uint32_t e = load_le_ptr<std::uint32_t>(raw.data() + j * 4);
      if (e == 0 || (e == 1 && zero_grain)) continue;
      mapped.push_back(std::uint64_t{e} * 512);
    }
  }
  // A compressed grain's length is its marker's, so distinct grains are told apart by their
  // first sector; an uncompressed grain spans grain_size sectors of the file.
  const std::uint64_t grain_bytes = h.grain_size * 512;
  return check_output_budget(mapped, compressed ? 512 : grain_bytes, grain_bytes, limits.max_output_bytes, "vmdk",
                             "grain");
}

}  // namespace

std::string describe_descriptor_file(std::string_view text) {
  const Descriptor d = parse_descriptor(text.substr(0, 64 * 1024));
  std::string names;
  for (std::size_t i = 0; i < d.extents.size() && i < 4; ++i) {
    names += fmt::format("{}'{}' ({})", i == 0 ? "" : ", ", printable(d.extents[i].file), printable(d.extents[i].type));
  }
  if (d.extents.size() > 4) names += fmt::format(" and {} more", d.extents.size() - 4);
  return fmt::format(
      "VMDK descriptor file (createType '{}'): its data lives in other files{}{}, which imagegate "
      "never opens; upload a single-file monolithicSparse or streamOptimized VMDK",
      printable(d.create_type), names.empty() ? "" : ": ", names);
}

Result<std::unique_ptr<DiskImage>> open(SourcePtr file, const Limits& limits) {
  const std::uint64_t file_size = file->size();
  if (file_size < 512)
    return Error::corrupt(fmt::format("vmdk header: file has {} bytes, the header needs 512", file_size));
  std::array<std::byte, 512> b{};
  IG_TRY(file->read_at(0, b));
  if (text_at<0, 4>(b) != "KDMV") return Error::corrupt("vmdk header: bad magic");
  Header h = parse_header(b);
  if (h.version == 0 || h.version > 3)
    return Error::unsupported(fmt::format("vmdk header: version {} (1 to 3 are read)", h.version));

  bool from_footer = false;
  if (h.gd_offset == kGdAtEnd) {
    // streamOptimized: the real header is in the footer, 1024 bytes before the end: footer
    // marker sector, footer (a header copy), end-of-stream marker.
    if (file_size < 1536 + 512)
      return Error::corrupt("vmdk: grain directory at the end, but the file is too short for a footer");
    std::array<std::byte, 1536> f{};
    const std::uint64_t at = align_up(file_size, 512) - 1536;
    if (at + 1536 > file_size) return Error::corrupt("vmdk: file size is not a multiple of 512; footer unreadable");
    IG_TRY(file->read_at(at, f));
    const bool footer_ok = load_le<std::uint32_t, 8>(f) == 0 && load_le<std::uint32_t, 12>(f) == kMarkerFooter &&
                           text_at<512, 4>(f) == "KDMV" && load_le<std::uint64_t, 1024>(f) == 0 &&
                           load_le<std::uint32_t, 1032>(f) == 0 && load_le<std::uint32_t, 1036>(f) == kMarkerEos;
    if (!footer_ok) {
      return Error::truncated(
          "vmdk: streamOptimized footer (footer marker, footer, end-of-stream marker) missing: "
          "truncated upload?");
    }
    std::array<std::byte, 512> fb{};
    std::memcpy(fb.data(), f.data() + 512, 512);
    h = parse_header(fb);
    from_footer = true;
    if (h.gd_offset == kGdAtEnd) return Error::corrupt("vmdk footer: grain directory offset still unknown");
  }

  // Divided, not multiplied: grainSize 2^56 times 512 wraps to 0 (fuzz_open_image, 2026-12-07).
  if (h.grain_size == 0 || !is_power_of_two(h.grain_size) || h.grain_size > limits.max_cluster_bytes / 512) {
    return Error::corrupt(fmt::format("vmdk header: grainSize {} sectors (must be a power of two up to {} bytes)",
                                      h.grain_size, limits.max_cluster_bytes));
  }
  if (h.num_gtes_per_gt == 0 || h.num_gtes_per_gt > 512) {
    return Error::corrupt(fmt::format("vmdk header: numGTEsPerGT {} not in [1, 512]", h.num_gtes_per_gt));
  }
  const std::uint64_t gt_coverage = std::uint64_t{h.num_gtes_per_gt} * h.grain_size;
  const std::uint64_t gd_entries = div_round_up(h.capacity, gt_coverage);
  if (gd_entries > limits.max_table_bytes / 4) {
    return Error::limit_exceeded(fmt::format("vmdk header: grain directory (L1) of {} entries too big (limit {} bytes)",
                                             gd_entries, limits.max_table_bytes));
  }
  if (h.capacity > limits.max_virtual_size_bytes / 512) {
    return Error::limit_exceeded(fmt::format("vmdk header: capacity {} sectors exceeds the limit of {} bytes",
                                             h.capacity, limits.max_virtual_size_bytes));
  }
  const bool compressed = (h.flags & kFlagCompressed) != 0 || h.compress_algorithm == kCompressDeflate;
  if (compressed && h.compress_algorithm != kCompressDeflate) {
    return Error::unsupported(
        fmt::format("vmdk header: compressAlgorithm {} (only 1, deflate, exists)", h.compress_algorithm));
  }

  // The embedded descriptor: parent links and foreign extents are refused.
  Descriptor desc;
  if (h.descriptor_offset != 0 && h.descriptor_size != 0) {
    const std::uint64_t bytes = std::min<std::uint64_t>(h.descriptor_size * 512, limits.max_descriptor_bytes);
    if (h.descriptor_size > limits.max_descriptor_bytes / 512 || h.descriptor_offset > file_size / 512 ||
        !range_within(h.descriptor_offset * 512, bytes, file_size)) {
      return Error::corrupt(fmt::format("vmdk header: descriptor at sector {} ({} sectors) out of bounds",
                                        h.descriptor_offset, h.descriptor_size));
    }
    std::vector<std::byte> text =
        IG_TRY(read_vector(*file, h.descriptor_offset * 512, static_cast<std::size_t>(bytes)));
    std::string_view sv = as_chars(text);
    sv = sv.substr(0, sv.find('\0'));
    desc = parse_descriptor(sv);
  }
  if (desc.parent_hint) {
    return Error::unsupported(
        fmt::format("vmdk: parent link to '{}' refused: imagegate never opens a file named inside "
                    "an image; upload a standalone disk",
                    printable(*desc.parent_hint)));
  }
  if (desc.parent_cid && *desc.parent_cid != 0xffffffffu) {
    return Error::unsupported(
        fmt::format("vmdk: parentCID {:08x} says this is a delta disk of a parent imagegate never "
                    "opens; upload a standalone disk",
                    *desc.parent_cid));
  }
  if (desc.extents.size() > 1) {
    return Error::unsupported(
        fmt::format("vmdk: {} extents (multi-extent or split layout); only single-extent "
                    "monolithicSparse and streamOptimized files are read",
                    desc.extents.size()));
  }
  if (desc.extents.size() == 1 && desc.extents[0].type != "SPARSE") {
    return Error::unsupported(
        fmt::format("vmdk: extent '{}' of type {} names another file, which imagegate never opens",
                    printable(desc.extents[0].file), printable(desc.extents[0].type)));
  }
  if (desc.extents.size() == 1) {
    // The one SPARSE extent is this file. qemu-img and VMware write its bare file name
    // ("disk.vmdk"), stale after a rename, so the name itself is not compared with the upload's;
    // but a path, a drive or a URL ("/etc/shadow", "../x.vmdk", "C:x", "nbd://host/x") names
    // something outside the upload and is refused like any other reference out of it.
    const std::string& file_name = desc.extents[0].file;
    const bool bare = !file_name.empty() && file_name != "." && file_name != ".." && file_name.size() <= 255 &&
                      file_name.find_first_of("/\\:") == std::string::npos &&
                      std::none_of(file_name.begin(), file_name.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
    if (!bare) {
      return Error::unsupported(
          fmt::format("vmdk: sparse extent '{}' is not the file itself but a path or URL outside the upload, "
                      "which imagegate never opens",
                      printable(file_name)));
    }
    if (desc.extents[0].sectors != h.capacity) {
      return Error::unsupported(
          fmt::format("vmdk: sparse extent '{}' of {} sectors, but the header's capacity is {}: not a single "
                      "extent covering this disk",
                      printable(file_name), desc.extents[0].sectors, h.capacity));
    }
  }
  std::string create_type = desc.create_type;
  if (create_type.empty()) create_type = compressed ? "streamOptimized" : "monolithicSparse";
  if (create_type != "monolithicSparse" && create_type != "streamOptimized") {
    return Error::unsupported(fmt::format("vmdk: createType '{}' (only monolithicSparse and streamOptimized are read)",
                                          printable(create_type)));
  }

  // The grain directory.
  const std::uint64_t gd_bytes = gd_entries * 4;
  if (!range_within(h.gd_offset * 512, gd_bytes, file_size) || h.gd_offset > file_size / 512) {
    return Error::truncated(
        fmt::format("vmdk: grain directory at sector {} ({} bytes) lies past the end of the file "
                    "({} bytes)",
                    h.gd_offset, gd_bytes, file_size));
  }
  std::vector<std::byte> raw = IG_TRY(read_vector(*file, h.gd_offset * 512, static_cast<std::size_t>(gd_bytes)));
  std::vector<std::uint32_t> gd(static_cast<std::size_t>(gd_entries));
  for (std::size_t i = 0; i < gd.size(); ++i) gd[i] = load_le_ptr<std::uint32_t>(raw.data() + i * 4);

  IG_TRY(check_grain_tables(*file, h, gd, compressed, limits));

  ImageInfo info;
  info.format = Format::kVmdk;
  info.virtual_size = h.capacity * 512;
  info.cluster_size = h.grain_size * 512;
  info.subformat = create_type;
  info.compression = compressed ? "deflate" : "none";
  info.dirty = h.unclean_shutdown;
  if (desc.cid) info.format_specific.push_back({"cid", std::uint64_t{*desc.cid}});
  info.format_specific.push_back({"parent-cid", std::uint64_t{desc.parent_cid.value_or(0xffffffffu)}});
  info.format_specific.push_back({"create-type", create_type});
  info.format_specific.push_back({"version", std::uint64_t{h.version}});
  if (from_footer) info.notes.push_back("grain directory read from the stream footer");
  if (h.unclean_shutdown) info.notes.push_back("uncleanShutdown is set: the disk was not closed cleanly");
  (void)kFlagRgd;
  (void)h.rgd_offset;
  (void)h.over_head;
  return std::unique_ptr<DiskImage>(new Image(std::move(file), h, std::move(gd), limits, std::move(info)));
}

}  // namespace ig::vmdk
