// LVM2 physical volumes: the label, the metadata area and its text, and linear logical volumes.
// Layout after LVM2's lib/format_text/layout.h and lib/label/label.h; see docs/formats/lvm.md.
// Binary fields are little-endian; LVM's checksums are a CRC-32 (the reflected polynomial) started
// at 0xf597a6cf, without the final inversion.
#include "volumes/lvm.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <memory>
#include <variant>

#include "base/bytes.h"
#include "base/checked.h"
#include "base/checksum.h"
#include "io/sources.h"

namespace ig::lvm {
namespace {

constexpr std::uint32_t kInitialCrc = 0xf597a6cf;
constexpr std::size_t kSector = 512;
constexpr std::string_view kMdaMagic = " LVM2 x[5A%r0N*>";
constexpr std::uint64_t kMaxMetadataBytes = 4 << 20;
constexpr int kMaxDepth = 16;

std::uint32_t lvm_crc(std::span<const std::byte> data) {
  // zlib's crc32 inverts before and after; LVM's does neither.
  const auto z =
      crc32(~kInitialCrc & 0xffffffffu, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  return ~static_cast<std::uint32_t>(z);
}

// ---- The metadata language: `name { key = value ... }`, values numbers, strings or lists ----

using Scalar = std::variant<std::int64_t, std::string>;
using Value = std::variant<std::int64_t, std::string, std::vector<Scalar>>;

struct Section {
  std::map<std::string, Value> values;
  // Children by pointer: a section cannot hold its own (incomplete) type by value.
  std::vector<std::pair<std::string, std::unique_ptr<Section>>> children;
  const Section* child(std::string_view name) const {
    for (const auto& [n, s] : children) {
      if (n == name) return s.get();
    }
    return nullptr;
  }
  std::optional<std::int64_t> number(const std::string& key) const {
    auto it = values.find(key);
    if (it == values.end() || !std::holds_alternative<std::int64_t>(it->second)) return std::nullopt;
    return std::get<std::int64_t>(it->second);
  }
  std::optional<std::string> string(const std::string& key) const {
    auto it = values.find(key);
    if (it == values.end() || !std::holds_alternative<std::string>(it->second)) return std::nullopt;
    return std::get<std::string>(it->second);
  }
};

class Parser {
 public:
  explicit Parser(std::string_view text) : t_(text) {}

  Result<Section> parse() {
    Section root;
    IG_TRY(items(root, 0, true));
    return root;
  }

 private:
  void skip_space() {
    while (p_ < t_.size()) {
      if (t_[p_] == '#') {
        while (p_ < t_.size() && t_[p_] != '\n') ++p_;
      } else if (std::isspace(static_cast<unsigned char>(t_[p_])) != 0 || t_[p_] == '\0') {
        ++p_;
      } else {
        break;
      }
    }
  }
  Error error(std::string_view what) const {
    return Error::corrupt(fmt::format("lvm metadata: {} at byte {}", what, p_));
  }
  Result<std::string> ident() {
    skip_space();
    const std::size_t start = p_;
    while (p_ < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[p_])) != 0 ||
                              std::string_view("_.+-").find(t_[p_]) != std::string_view::npos)) {
      ++p_;
    }
    if (p_ == start) return error("name expected");
    return std::string(t_.substr(start, p_ - start));
  }
  Result<Scalar> scalar() {
    skip_space();
    if (p_ < t_.size() && t_[p_] == '"') {
      std::string s;
      for (++p_; p_ < t_.size() && t_[p_] != '"'; ++p_) {
        if (t_[p_] == '\\' && p_ + 1 < t_.size()) ++p_;
        s.push_back(t_[p_]);
      }
      if (p_ >= t_.size()) return error("unterminated string");
      ++p_;
      return Scalar(std::move(s));
    }
    const std::size_t start = p_;
    if (p_ < t_.size() && t_[p_] == '-') ++p_;
    std::int64_t v = 0;
    while (p_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[p_])) != 0) {
      if (v > (INT64_MAX - 9) / 10) return error("number too large");
      v = v * 10 + (t_[p_] - '0');
      ++p_;
    }
    if (p_ == start || (p_ == start + 1 && t_[start] == '-')) return error("value expected");
    // Floats (rare, e.g. in a "creation_time" extension) keep their integer part.
    while (p_ < t_.size() && (t_[p_] == '.' || std::isdigit(static_cast<unsigned char>(t_[p_])) != 0)) ++p_;
    return Scalar(t_[start] == '-' ? -v : v);
  }
  Result<void> items(Section& s, int depth, bool top) {
    if (depth > kMaxDepth) return error("sections nested too deep");
    for (;;) {
      skip_space();
      if (p_ >= t_.size()) {
        if (top) return ok();
        return error("unexpected end");
      }
      if (t_[p_] == '}') {
        if (top) return error("unbalanced '}'");
        ++p_;
        return ok();
      }
      if (++nodes_ > 200000) return error("too many entries");
      std::string name = IG_TRY(ident());
      skip_space();
      if (p_ < t_.size() && t_[p_] == '{') {
        ++p_;
        auto child = std::make_unique<Section>();
        IG_TRY(items(*child, depth + 1, false));
        s.children.emplace_back(std::move(name), std::move(child));
      } else if (p_ < t_.size() && t_[p_] == '=') {
        ++p_;
        skip_space();
        if (p_ < t_.size() && t_[p_] == '[') {
          ++p_;
          std::vector<Scalar> list;
          for (;;) {
            skip_space();
            if (p_ < t_.size() && t_[p_] == ']') {
              ++p_;
              break;
            }
            list.push_back(IG_TRY(scalar()));
            skip_space();
            if (p_ < t_.size() && t_[p_] == ',') ++p_;
            if (list.size() > 100000) return error("list too long");
          }
          s.values[name] = std::move(list);
        } else {
          Scalar v = IG_TRY(scalar());
          if (std::holds_alternative<std::int64_t>(v)) {
            s.values[name] = std::get<std::int64_t>(v);
          } else {
            s.values[name] = std::get<std::string>(v);
          }
        }
      } else {
        return error(fmt::format("'=' or '{{' expected after '{}'", printable(name, 40)));
      }
    }
  }

  std::string_view t_;
  std::size_t p_ = 0;
  std::size_t nodes_ = 0;
};

// The metadata text of the PV's first metadata area.
Result<std::string> read_metadata_text(const ByteSource& pv, std::uint64_t mda_offset, std::uint64_t mda_size) {
  if (mda_size < kSector || !range_within(mda_offset, mda_size, pv.size())) {
    return Error::corrupt(fmt::format("lvm: metadata area [{}, +{}) out of bounds", mda_offset, mda_size));
  }
  std::array<std::byte, kSector> h{};
  IG_TRY(pv.read_at(mda_offset, h));
  if (text_at<4, 16>(h) != kMdaMagic) return Error::corrupt("lvm: metadata area header magic missing");
  const std::uint32_t stored = load_le<std::uint32_t, 0>(h);
  const std::uint32_t computed = lvm_crc(std::span<const std::byte>(h).subspan(4));
  if (checksum_refuses(stored != computed))
    return Error::corrupt(fmt::format("lvm: metadata area header checksum {:#x}, computed {:#x}", stored, computed));
  const std::uint64_t offset = load_le<std::uint64_t, 40>(h);
  const std::uint64_t size = load_le<std::uint64_t, 48>(h);
  const std::uint32_t checksum = load_le<std::uint32_t, 56>(h);
  if (size == 0) return Error::not_found("lvm: the metadata area holds no metadata");
  if (size > kMaxMetadataBytes || offset < kSector || offset >= mda_size || size > mda_size - kSector) {
    return Error::corrupt(fmt::format("lvm: metadata text at {} ({} bytes) does not fit the area", offset, size));
  }
  // A circular buffer after the 512-byte header: the text may wrap to its start.
  std::string text(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<std::byte*>(text.data());
  const std::uint64_t first = std::min(size, mda_size - offset);
  IG_TRY(pv.read_at(mda_offset + offset, std::span(out, static_cast<std::size_t>(first))));
  if (first < size) {
    IG_TRY(pv.read_at(mda_offset + kSector, std::span(out + first, static_cast<std::size_t>(size - first))));
  }
  const std::uint32_t text_crc = lvm_crc(std::span<const std::byte>(out, text.size()));
  if (checksum_refuses(text_crc != checksum))
    return Error::corrupt(fmt::format("lvm: metadata text checksum {:#x}, computed {:#x}", checksum, text_crc));
  return text;
}

// The bytes of this PV that a linear segment on it maps: [first, first + length).
struct MappedRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
  std::string owner;  // "LV vg/lv"
};

// Refuses a layout whose logical volumes would read what is not theirs: the label sector, a
// metadata area, or extents another LV (or another segment of the same LV) also maps. LVM never
// writes such a layout; a crafted one could make one LV's file system the other's, or turn the
// metadata into file-system blocks.
Result<void> check_layout(const PhysicalVolume& pv, std::uint64_t label_sector, std::uint64_t device_size) {
  const VolumeGroup& vg = pv.vg;
  const auto self = std::find_if(vg.pvs.begin(), vg.pvs.end(), [](const VgPv& p) { return p.is_this_pv; });
  if (self == vg.pvs.end()) return ok();  // nothing of this PV is mapped: open_lv refuses each LV
  const std::uint64_t extent_bytes = IG_TRY(checked_mul(vg.extent_size_sectors, kSector, "lvm extent_size"));
  const std::uint64_t pe_start_bytes = IG_TRY(checked_mul(self->pe_start_sectors, kSector, "lvm pe_start"));
  std::vector<MappedRange> reserved;
  reserved.push_back({0, (label_sector + 1) * kSector, "the PV label"});
  for (std::size_t i = 0; i < pv.metadata_areas.size(); ++i) {
    const auto& [offset, size] = pv.metadata_areas[i];
    reserved.push_back({offset, size, fmt::format("metadata area {} [{}, +{})", i + 1, offset, size)});
  }
  std::vector<MappedRange> mapped;
  for (const LogicalVolume& lv : vg.lvs) {
    for (const Segment& s : lv.segments) {
      if (s.pv_name != self->name || s.extent_count == 0) continue;
      const std::uint64_t first = IG_TRY(checked_add(
          pe_start_bytes, IG_TRY(checked_mul(s.pv_start_extent, extent_bytes, "lvm extent")), "lvm extent"));
      const std::uint64_t length = IG_TRY(checked_mul(s.extent_count, extent_bytes, "lvm segment"));
      IG_TRY(checked_add(first, length, "lvm segment"));
      if (mapped.size() >= 4096) {
        return Error::limit_exceeded(fmt::format("lvm: VG {} maps more than 4096 segments on this PV", vg.name));
      }
      mapped.push_back(
          {first, length,
           fmt::format("LV {}/{} (PV extents {}+{})", vg.name, lv.name, s.pv_start_extent, s.extent_count)});
    }
  }
  auto overlap = [](const MappedRange& a, const MappedRange& b) {
    return a.first < b.first + b.length && b.first < a.first + a.length;  // sums checked above
  };
  for (const MappedRange& m : mapped) {
    for (const MappedRange& r : reserved) {
      if (r.first > device_size || r.length > device_size - r.first) continue;  // not on this device
      if (overlap(m, r)) {
        return Error::corrupt(fmt::format("lvm: {} at byte {} overlaps {}", m.owner, m.first, r.owner));
      }
    }
  }
  std::vector<const MappedRange*> sorted;
  for (const MappedRange& m : mapped) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(),
            [](const MappedRange* a, const MappedRange* b) { return a->first < b->first; });
  for (std::size_t i = 1; i < sorted.size(); ++i) {
    if (overlap(*sorted[i - 1], *sorted[i])) {
      return Error::corrupt(fmt::format("lvm: {} and {} map the same bytes of the PV at byte {}", sorted[i - 1]->owner,
                                        sorted[i]->owner, sorted[i]->first));
    }
  }
  return ok();
}

}  // namespace

Result<VolumeGroup> parse_metadata(std::string_view text, std::string_view pv_uuid) {
  VolumeGroup vg_out;
  const Section root = IG_TRY(Parser(text).parse());
  // The volume group is the one section at the top level.
  const Section* vg = nullptr;
  for (const auto& [name, s] : root.children) {
    vg = s.get();
    vg_out.name = name;
    break;
  }
  if (vg == nullptr) return Error::corrupt("lvm metadata: no volume group section");
  const std::int64_t extent_size = vg->number("extent_size").value_or(0);
  if (extent_size <= 0 || extent_size > (std::int64_t{1} << 40))
    return Error::corrupt(fmt::format("lvm metadata: extent_size {}", extent_size));
  vg_out.extent_size_sectors = static_cast<std::uint64_t>(extent_size);
  if (const Section* pvs = vg->child("physical_volumes")) {
    for (const auto& [name, sp] : pvs->children) {
      const Section& s = *sp;
      VgPv p;
      p.name = name;
      p.uuid = s.string("id").value_or("");
      p.pe_start_sectors = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.number("pe_start").value_or(0)));
      p.pe_count = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.number("pe_count").value_or(0)));
      // The PV's own UUID, without dashes, identifies it here.
      std::string bare = p.uuid;
      bare.erase(std::remove(bare.begin(), bare.end(), '-'), bare.end());
      p.is_this_pv = bare == pv_uuid;
      vg_out.pvs.push_back(std::move(p));
    }
  }
  if (const Section* lvs = vg->child("logical_volumes")) {
    for (const auto& [name, sp] : lvs->children) {
      const Section& s = *sp;
      LogicalVolume lv;
      lv.name = name;
      for (const auto& [seg_name, seg_ptr] : s.children) {
        const Section& seg = *seg_ptr;
        if (seg_name.rfind("segment", 0) != 0) continue;
        Segment g;
        g.start_extent = static_cast<std::uint64_t>(std::max<std::int64_t>(0, seg.number("start_extent").value_or(-1)));
        g.extent_count = static_cast<std::uint64_t>(std::max<std::int64_t>(0, seg.number("extent_count").value_or(0)));
        g.type = seg.string("type").value_or("");
        g.stripe_count = static_cast<std::uint32_t>(std::max<std::int64_t>(0, seg.number("stripe_count").value_or(0)));
        auto st = seg.values.find("stripes");
        if (st != seg.values.end() && std::holds_alternative<std::vector<Scalar>>(st->second)) {
          const auto& list = std::get<std::vector<Scalar>>(st->second);
          if (list.size() >= 2 && std::holds_alternative<std::string>(list[0]) &&
              std::holds_alternative<std::int64_t>(list[1])) {
            g.pv_name = std::get<std::string>(list[0]);
            g.pv_start_extent = static_cast<std::uint64_t>(std::max<std::int64_t>(0, std::get<std::int64_t>(list[1])));
          }
        }
        lv.segments.push_back(std::move(g));
      }
      std::sort(lv.segments.begin(), lv.segments.end(),
                [](const Segment& a, const Segment& b) { return a.start_extent < b.start_extent; });
      vg_out.lvs.push_back(std::move(lv));
    }
  }
  return vg_out;
}

Result<std::optional<PhysicalVolume>> read_pv(const ByteSource& pv) {
  // The label is in one of the first four sectors.
  for (std::uint64_t sector = 0; sector < 4; ++sector) {
    if (!range_within(sector * kSector, kSector, pv.size())) break;
    std::array<std::byte, kSector> l{};
    IG_TRY(pv.read_at(sector * kSector, l));
    if (text_at<0, 8>(l) != "LABELONE" || text_at<24, 8>(l) != "LVM2 001") continue;
    const std::uint32_t stored = load_le<std::uint32_t, 16>(l);
    const std::uint32_t computed = lvm_crc(std::span<const std::byte>(l).subspan(20));
    if (checksum_refuses(stored != computed))
      return Error::corrupt(fmt::format("lvm label: checksum {:#x}, computed {:#x}", stored, computed));
    const std::uint32_t offset = load_le<std::uint32_t, 20>(l);
    if (offset < 32 || std::uint64_t{offset} + 32 + 8 > kSector)  // 64 bits: 0xFFFFFFE0 + 40 wraps to 8
      return Error::corrupt(fmt::format("lvm label: pv header offset {}", offset));
    PhysicalVolume out;
    out.uuid = printable(as_chars(std::span<const std::byte>(l).subspan(offset, 32)));
    // Data areas, then metadata areas: (offset, size) pairs, each list ended by zeros.
    ByteReader r(std::span<const std::byte>(l).subspan(offset + 40), "lvm pv header");
    for (int list = 0; list < 2; ++list) {
      for (int i = 0; i < 16; ++i) {
        const std::uint64_t o = IG_TRY(r.le64());
        const std::uint64_t s = IG_TRY(r.le64());
        if (o == 0 && s == 0) break;
        if (list == 1 && out.metadata_areas.size() < 4) out.metadata_areas.emplace_back(o, s);
      }
    }
    if (out.metadata_areas.empty())
      return Error::unsupported("lvm: this PV carries no metadata area (metadata lives on another PV)");
    const std::string text = IG_TRY(read_metadata_text(pv, out.metadata_areas[0].first, out.metadata_areas[0].second));
    out.metadata_text = text;
    out.vg = IG_TRY(parse_metadata(text, out.uuid));
    IG_TRY(check_layout(out, sector, pv.size()));
    return std::optional<PhysicalVolume>(std::move(out));
  }
  return std::optional<PhysicalVolume>{};
}

Result<SourcePtr> open_lv(const SourcePtr& pv_device, const PhysicalVolume& pv, const LogicalVolume& lv) {
  const VolumeGroup& vg = pv.vg;
  const std::uint64_t extent_bytes = IG_TRY(checked_mul(vg.extent_size_sectors, kSector, "lvm extent_size"));
  std::vector<SourcePtr> pieces;
  std::uint64_t expected = 0;
  for (const Segment& s : lv.segments) {
    if (s.type != "striped" || s.stripe_count != 1) {
      return Error::unsupported(fmt::format("lvm: LV {}/{} has a {} segment{}; only linear volumes are read", vg.name,
                                            lv.name, printable(s.type, 40),
                                            s.type == "striped" ? fmt::format(" of {} stripes", s.stripe_count) : ""));
    }
    if (s.start_extent != expected) {
      return Error::corrupt(fmt::format("lvm: LV {}/{}: segment at extent {} leaves a gap after {}", vg.name, lv.name,
                                        s.start_extent, expected));
    }
    const auto p = std::find_if(vg.pvs.begin(), vg.pvs.end(), [&](const VgPv& v) { return v.name == s.pv_name; });
    if (p == vg.pvs.end())
      return Error::corrupt(
          fmt::format("lvm: LV {}/{} names an unknown PV '{}'", vg.name, lv.name, printable(s.pv_name, 40)));
    if (!p->is_this_pv) {
      return Error::unsupported(
          fmt::format("lvm: LV {}/{} lies on PV {} ({}), which is not in this image: the volume "
                      "group spans several disks",
                      vg.name, lv.name, p->name, printable(p->uuid, 40)));
    }
    if (s.pv_start_extent > p->pe_count || s.extent_count > p->pe_count - s.pv_start_extent) {
      return Error::corrupt(fmt::format("lvm: LV {}/{}: extents {}+{} beyond the PV's {}", vg.name, lv.name,
                                        s.pv_start_extent, s.extent_count, p->pe_count));
    }
    const std::uint64_t pe_start_bytes = IG_TRY(checked_mul(p->pe_start_sectors, kSector, "lvm pe_start"));
    const std::uint64_t start = IG_TRY(
        checked_add(pe_start_bytes, IG_TRY(checked_mul(s.pv_start_extent, extent_bytes, "lvm extent")), "lvm extent"));
    const std::uint64_t length = IG_TRY(checked_mul(s.extent_count, extent_bytes, "lvm segment"));
    pieces.push_back(
        SourcePtr(IG_TRY(SliceSource::create(pv_device, start, length, fmt::format("LV {}/{}", vg.name, lv.name)))));
    expected = IG_TRY(checked_add(s.start_extent, s.extent_count, "lvm segment"));
    if (pieces.size() > 4096)
      return Error::limit_exceeded(fmt::format("lvm: LV {}/{} has more than 4096 segments", vg.name, lv.name));
  }
  return SourcePtr(std::make_shared<ConcatSource>(std::move(pieces), fmt::format("LV {}/{}", vg.name, lv.name)));
}

}  // namespace ig::lvm
