#include "fs/ntfs.h"

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <set>

#include "base/bytes.h"
#include "base/checked.h"
#include "base/text.h"
#include "fs/mapped_source.h"

namespace ig::ntfs {
namespace {

constexpr std::uint64_t kMftRecord = 0;
constexpr std::uint64_t kVolumeRecord = 3;
constexpr std::uint64_t kRootRecord = 5;
constexpr std::uint64_t kUpCaseRecord = 10;
constexpr std::size_t kUpCaseBytes = 65536 * 2;

constexpr std::uint32_t kAttrStandardInformation = 0x10;
constexpr std::uint32_t kAttrList = 0x20;
constexpr std::uint32_t kAttrVolumeName = 0x60;
constexpr std::uint32_t kAttrData = 0x80;
constexpr std::uint32_t kAttrIndexRoot = 0x90;
constexpr std::uint32_t kAttrIndexAllocation = 0xA0;
constexpr std::uint32_t kAttrReparsePoint = 0xC0;
constexpr std::uint32_t kAttrEnd = 0xFFFFFFFF;

constexpr std::uint16_t kFlagCompressed = 0x0001;
constexpr std::uint16_t kFlagEncrypted = 0x4000;

constexpr std::size_t kMaxAttributes = 1024;       // per file, over all its records
constexpr std::size_t kMaxExtensionRecords = 256;  // records an attribute list may name
constexpr std::size_t kMaxIndexDepth = 32;
constexpr std::uint64_t kMaxResidentListBytes = 1 << 20;
constexpr std::uint64_t kNtfsEpochOffset = 11644473600;  // seconds from 1601 to 1970

std::uint64_t record_number(std::uint64_t reference) {
  return reference & 0x0000FFFFFFFFFFFFULL;
}

template <class T>
Result<T> field(std::span<const std::byte> s, std::size_t offset, std::string_view what) {
  if (offset > s.size() || s.size() - offset < sizeof(T)) {
    return Error::corrupt(fmt::format("ntfs: {}: field at {} past the end ({} bytes)", what, offset, s.size()));
  }
  return load_le_ptr<T>(s.data() + offset);
}

// Undoes the update-sequence protection of a multi-sector record (MFT "FILE", index "INDX"):
// the last two bytes of every 512-byte sector must hold the sequence number; the array holds
// the bytes they replaced.
Result<void> apply_fixups(std::span<std::byte> rec, std::string_view what) {
  const std::uint16_t usa_offset = IG_TRY(field<std::uint16_t>(rec, 4, what));
  const std::uint16_t usa_count = IG_TRY(field<std::uint16_t>(rec, 6, what));
  if (usa_count < 2 || std::size_t{usa_count - 1U} * 512 != rec.size() ||
      std::size_t{usa_offset} + std::size_t{usa_count} * 2 > rec.size() || usa_offset < 8) {
    return Error::corrupt(fmt::format("ntfs: {}: update sequence array at {} with {} entries for {} bytes", what,
                                      usa_offset, usa_count, rec.size()));
  }
  const std::uint16_t usn = load_le_ptr<std::uint16_t>(rec.data() + usa_offset);
  for (std::size_t i = 1; i < usa_count; ++i) {
    std::byte* tail = rec.data() + i * 512 - 2;
    if (load_le_ptr<std::uint16_t>(tail) != usn) {
      return Error::corrupt(
          fmt::format("ntfs: {}: sector {} fails its update sequence check (torn write?)", what, i - 1));
    }
    tail[0] = rec[usa_offset + i * 2];
    tail[1] = rec[usa_offset + i * 2 + 1];
  }
  return ok();
}

struct Run {
  std::uint64_t vcn = 0;
  std::uint64_t count = 0;
  std::optional<std::uint64_t> lcn;  // nothing: sparse
};

struct Attribute {
  std::uint32_t type = 0;
  std::string name;  // UTF-8; "" for the unnamed stream
  std::uint16_t flags = 0;
  std::uint16_t id = 0;
  bool resident = true;
  std::vector<std::byte> value;  // resident
  std::uint64_t lowest_vcn = 0;  // non-resident
  std::uint64_t data_size = 0;
  std::uint64_t initialized_size = 0;
  std::vector<Run> runs;
};

Result<std::vector<Run>> parse_runlist(std::span<const std::byte> bytes, std::uint64_t first_vcn,
                                       const FsLimits& limits, std::string_view what) {
  std::vector<Run> runs;
  std::uint64_t vcn = first_vcn;
  std::int64_t lcn = 0;
  std::size_t p = 0;
  while (p < bytes.size()) {
    const auto header = std::to_integer<unsigned>(bytes[p]);
    if (header == 0) return runs;
    const unsigned len_size = header & 0xF;
    const unsigned off_size = header >> 4;
    if (len_size == 0 || len_size > 8 || off_size > 8 || p + 1 + len_size + off_size > bytes.size()) {
      return Error::corrupt(fmt::format("ntfs: {}: runlist entry {:#x} at byte {}", what, header, p));
    }
    std::uint64_t length = 0;
    for (unsigned i = 0; i < len_size; ++i)
      length |= std::uint64_t{std::to_integer<std::uint8_t>(bytes[p + 1 + i])} << (8 * i);
    std::uint64_t delta = 0;
    for (unsigned i = 0; i < off_size; ++i) {
      delta |= std::uint64_t{std::to_integer<std::uint8_t>(bytes[p + 1 + len_size + i])} << (8 * i);
    }
    if (off_size > 0 && off_size < 8 && (delta >> (8 * off_size - 1)) != 0) delta |= ~0ULL << (8 * off_size);  // sign
    p += 1 + len_size + off_size;
    if (length == 0 || length > (1ULL << 48)) {
      return Error::corrupt(fmt::format("ntfs: {}: run of {} clusters", what, length));
    }
    if (runs.size() >= limits.max_extents_per_file) {
      return Error::limit_exceeded(fmt::format("ntfs: {}: more than {} runs", what, limits.max_extents_per_file));
    }
    Run r{vcn, length, std::nullopt};
    if (off_size != 0) {
      const auto next = static_cast<std::int64_t>(static_cast<std::uint64_t>(lcn) + delta);
      if (next < 0) return Error::corrupt(fmt::format("ntfs: {}: run at negative cluster {}", what, next));
      lcn = next;
      r.lcn = static_cast<std::uint64_t>(lcn);
    }
    runs.push_back(r);
    vcn = IG_TRY(checked_add(vcn, length, "ntfs runlist vcn"));
  }
  return Error::corrupt(fmt::format("ntfs: {}: runlist without its terminator", what));
}

class Volume final : public FileSystem, public std::enable_shared_from_this<Volume> {
 public:
  Volume(SourcePtr dev, FsLimits limits) : dev_(std::move(dev)), limits_(limits) {}

  Result<void> load() {
    std::array<std::byte, 512> boot{};
    IG_TRY(dev_->read_at(0, boot));
    if (text_at<3, 8>(boot) != "NTFS    ") return Error::corrupt("ntfs: boot sector signature missing");
    const std::uint16_t sector = load_le<std::uint16_t, 0x0B>(boot);
    const std::uint8_t spc = load_le<std::uint8_t, 0x0D>(boot);
    if (sector < 256 || sector > 4096 || (sector & (sector - 1)) != 0) {
      return Error::corrupt(fmt::format("ntfs: boot sector: {} bytes per sector", sector));
    }
    // Sectors per cluster: a count, or (above 0x80) a negative power of two: 2^(256 - code).
    const unsigned shift = spc <= 0x80 ? 0 : 256U - spc;
    if (shift > 16) return Error::corrupt(fmt::format("ntfs: boot sector: 2^{} sectors per cluster", shift));
    const std::uint64_t sectors_per_cluster = spc <= 0x80 ? spc : (1ULL << shift);
    cluster_ = sector * sectors_per_cluster;
    if (cluster_ == 0 || cluster_ > (2U << 20) || (cluster_ & (cluster_ - 1)) != 0) {
      return Error::corrupt(fmt::format("ntfs: boot sector: {}-byte clusters", cluster_));
    }
    record_size_ = IG_TRY(record_or_index_size(load_le<std::uint8_t, 0x40>(boot), cluster_, "MFT record"));
    index_size_ = IG_TRY(record_or_index_size(load_le<std::uint8_t, 0x44>(boot), cluster_, "index block"));
    if (record_size_ < 512 || record_size_ > 65536 || index_size_ < 512 || index_size_ > 65536) {
      return Error::corrupt(
          fmt::format("ntfs: boot sector: {}-byte MFT records, {}-byte index blocks", record_size_, index_size_));
    }
    serial_ = load_le<std::uint64_t, 0x48>(boot);
    const std::uint64_t mft_lcn = load_le<std::uint64_t, 0x30>(boot);
    const auto mft_byte = checked_mul(mft_lcn, cluster_, "ntfs $MFT position");
    if (!mft_byte || !range_within(*mft_byte, record_size_, dev_->size())) {
      return Error::corrupt(fmt::format("ntfs: $MFT at cluster {} lies outside the volume", mft_lcn));
    }
    // Record 0 describes the $MFT itself; read it in place to learn where the others are.
    std::vector<std::byte> rec(record_size_);
    IG_TRY(dev_->read_at(*mft_byte, rec));
    IG_TRY(apply_fixups(rec, "MFT record 0"));
    std::vector<Attribute> attrs = IG_TRY(parse_record(rec, kMftRecord));
    const Attribute* data = find(attrs, kAttrData, "");
    if (data == nullptr || data->resident) return Error::corrupt("ntfs: $MFT has no non-resident $DATA");
    mft_ = std::make_shared<MappedSource>(dev_, cluster_, data->data_size, to_file_runs(data->runs), "$MFT");
    // An $MFT fragmented beyond one record lists its other extents in an attribute list.
    if (find(attrs, kAttrList, "") != nullptr) {
      attrs = IG_TRY(attributes(kMftRecord));
      data = find(attrs, kAttrData, "");
      if (data == nullptr || data->resident) return Error::corrupt("ntfs: $MFT has no non-resident $DATA");
      mft_ = std::make_shared<MappedSource>(dev_, cluster_, data->data_size, to_file_runs(data->runs), "$MFT");
    }
    records_ = mft_->size() / record_size_;
    // $UpCase: the volume's own case mapping, 65536 UTF-16LE units, kept as read (upcase() decodes
    // the few units a lookup needs; converting all of them up front was most of a mount's work).
    auto upcase = open_data(kUpCaseRecord, "$UpCase");
    if (upcase && (*upcase)->size() >= kUpCaseBytes) {
      upcase_.resize(kUpCaseBytes);
      IG_TRY((*upcase)->read_at(0, upcase_));
    }
    if (auto vol = attributes(kVolumeRecord)) {
      if (const Attribute* name = find(*vol, kAttrVolumeName, ""); name != nullptr && name->resident) {
        label_ = utf16le_to_utf8(name->value);
      }
    }
    return ok();
  }

  std::string kind() const override { return "ntfs"; }
  std::uint64_t root_inode() const override { return kRootRecord; }
  std::string label() const override { return label_; }
  std::string uuid() const override { return fmt::format("{:016X}", serial_); }

  Result<FileStat> stat(std::uint64_t inode) const override {
    const auto [flags, attrs] = IG_TRY(record_with_flags(inode));
    FileStat st;
    st.inode = inode;
    st.type = (flags & 0x02) != 0 ? FileType::kDirectory : FileType::kRegular;
    if (find(attrs, kAttrReparsePoint, "") != nullptr) st.type = FileType::kOther;
    if (const Attribute* d = find(attrs, kAttrData, "")) st.size = d->resident ? d->value.size() : d->data_size;
    if (const Attribute* si = find(attrs, kAttrStandardInformation, ""); si != nullptr && si->resident) {
      const std::uint64_t t = IG_TRY(field<std::uint64_t>(si->value, 8, "standard information"));
      st.mtime = static_cast<std::int64_t>(t / 10'000'000) - static_cast<std::int64_t>(kNtfsEpochOffset);
    }
    st.mode = st.type == FileType::kDirectory ? 0040755 : 0100644;
    return st;
  }

  Result<std::vector<DirEntry>> list(std::uint64_t inode) const override {
    std::vector<Named> named = IG_TRY(index_entries(inode));
    std::vector<DirEntry> out;
    out.reserve(named.size());
    for (Named& n : named) out.push_back(DirEntry{std::move(n.name), n.record});
    return out;
  }

  // A B+tree search: entries are sorted by their upcased names (the FILENAME collation), so
  // one path from the root node down, not the whole directory.
  Result<std::uint64_t> lookup(std::uint64_t dir, std::string_view name) const override {
    const std::u16string want = upcase(utf8_to_utf16(name));
    Walk w = IG_TRY(open_index(dir));
    w.search = &want;
    IG_TRY(walk_node(w, std::span<const std::byte>(w.root_value).subspan(16), 0));
    if (w.found) return *w.found;
    return Error::not_found(fmt::format("'{}' not found", name));
  }

  Result<std::unique_ptr<ByteSource>> open(std::uint64_t inode) const override {
    return open_data(inode, fmt::format("MFT record {}", inode));
  }

  Result<std::string> read_link(std::uint64_t inode) const override {
    return Error::unsupported(fmt::format("ntfs: MFT record {} is a reparse point; they are not followed", inode));
  }

 private:
  struct Named {
    std::string name;
    std::u16string utf16;
    std::uint64_t record;
  };

  // A size code: a positive count of clusters, or a negative power of two in bytes.
  static Result<std::uint64_t> record_or_index_size(std::uint8_t raw, std::uint64_t cluster, std::string_view what) {
    const auto v = static_cast<std::int8_t>(raw);
    if (v > 0) return std::uint64_t{static_cast<std::uint8_t>(v)} * cluster;
    if (v < -31 || v == 0) return Error::corrupt(fmt::format("ntfs: boot sector: {} size code {}", what, v));
    return 1ULL << (-v);
  }

  // MappedSource wants device byte offsets; a run's cluster number beyond what 64 bits hold in
  // bytes cannot be on the volume, and the read fails there as lying past the device.
  std::vector<FileRun> to_file_runs(const std::vector<Run>& runs) const {
    std::vector<FileRun> out;
    for (const Run& r : runs) {
      std::optional<std::uint64_t> at;
      if (r.lcn) at = *r.lcn <= UINT64_MAX / cluster_ ? *r.lcn * cluster_ : UINT64_MAX;
      out.push_back(FileRun{r.vcn, r.count, at});
    }
    return out;
  }

  static const Attribute* find(const std::vector<Attribute>& attrs, std::uint32_t type, std::string_view name) {
    for (const Attribute& a : attrs) {
      if (a.type == type && a.name == name) return &a;
    }
    return nullptr;
  }

  std::u16string upcase(std::u16string s) const {
    for (char16_t& c : s) {
      if (!upcase_.empty()) {
        c = static_cast<char16_t>(load_le_ptr<std::uint16_t>(upcase_.data() + 2 * std::size_t{c}));
      } else if (c >= u'a' && c <= u'z') {
        c = static_cast<char16_t>(c - 32);
      }
    }
    return s;
  }

  // One record's attributes, after its fixups. Errors name the record.
  Result<std::vector<Attribute>> parse_record(std::span<const std::byte> rec, std::uint64_t number) const {
    const std::string what = fmt::format("MFT record {}", number);
    if (as_chars(rec.first(4)) != "FILE") return Error::corrupt(fmt::format("ntfs: {}: no FILE signature", what));
    const std::uint16_t first = IG_TRY(field<std::uint16_t>(rec, 0x14, what));
    const std::uint32_t used = IG_TRY(field<std::uint32_t>(rec, 0x18, what));
    if (used > rec.size() || first >= used) {
      return Error::corrupt(fmt::format("ntfs: {}: attributes at {}, {} bytes used", what, first, used));
    }
    std::vector<Attribute> out;
    std::size_t p = first;
    for (;;) {
      const std::uint32_t type = IG_TRY(field<std::uint32_t>(rec.first(used), p, what));
      if (type == kAttrEnd) return out;
      const std::uint32_t length = IG_TRY(field<std::uint32_t>(rec.first(used), p + 4, what));
      if (length < 24 || length % 8 != 0 || length > used - p) {
        return Error::corrupt(fmt::format("ntfs: {}: attribute {:#x} at {} has length {}", what, type, p, length));
      }
      if (out.size() >= kMaxAttributes)
        return Error::limit_exceeded(fmt::format("ntfs: {}: too many attributes", what));
      const std::span<const std::byte> a = rec.subspan(p, length);
      out.push_back(IG_TRY(parse_attribute(a, what)));
      p += length;
    }
  }

  Result<Attribute> parse_attribute(std::span<const std::byte> a, const std::string& what) const {
    Attribute at;
    at.type = load_le_ptr<std::uint32_t>(a.data());
    const std::uint8_t non_resident = IG_TRY(field<std::uint8_t>(a, 8, what));
    const std::uint8_t name_length = IG_TRY(field<std::uint8_t>(a, 9, what));
    const std::uint16_t name_offset = IG_TRY(field<std::uint16_t>(a, 10, what));
    at.flags = IG_TRY(field<std::uint16_t>(a, 12, what));
    at.id = IG_TRY(field<std::uint16_t>(a, 14, what));
    if (name_length > 0) {
      if (std::size_t{name_offset} + std::size_t{name_length} * 2 > a.size()) {
        return Error::corrupt(fmt::format("ntfs: {}: attribute {:#x}'s name lies outside it", what, at.type));
      }
      at.name = utf16le_to_utf8(a.subspan(name_offset, std::size_t{name_length} * 2));
    }
    if (non_resident == 0) {
      const std::uint32_t value_length = IG_TRY(field<std::uint32_t>(a, 16, what));
      const std::uint16_t value_offset = IG_TRY(field<std::uint16_t>(a, 20, what));
      if (std::uint64_t{value_offset} + value_length > a.size()) {
        return Error::corrupt(fmt::format("ntfs: {}: resident attribute {:#x} value runs past it", what, at.type));
      }
      const auto v = a.subspan(value_offset, value_length);
      at.value.assign(v.begin(), v.end());
      return at;
    }
    at.resident = false;
    at.lowest_vcn = IG_TRY(field<std::uint64_t>(a, 16, what));
    const std::uint16_t runs_offset = IG_TRY(field<std::uint16_t>(a, 32, what));
    at.data_size = IG_TRY(field<std::uint64_t>(a, 48, what));
    at.initialized_size = IG_TRY(field<std::uint64_t>(a, 56, what));
    if (runs_offset >= a.size()) {
      return Error::corrupt(
          fmt::format("ntfs: {}: attribute {:#x}'s runlist at {} lies outside it", what, at.type, runs_offset));
    }
    at.runs = IG_TRY(parse_runlist(a.subspan(runs_offset), at.lowest_vcn, limits_,
                                   fmt::format("{} attribute {:#x}", what, at.type)));
    return at;
  }

  Result<std::vector<std::byte>> read_record(std::uint64_t number) const {
    if (number >= records_) {
      return Error::corrupt(fmt::format("ntfs: MFT record {} beyond the {} records of $MFT", number, records_));
    }
    std::vector<std::byte> rec(record_size_);
    IG_TRY(mft_->read_at(number * record_size_, rec));
    IG_TRY(apply_fixups(rec, fmt::format("MFT record {}", number)));
    return rec;
  }

  // A file's record flags and all its attributes: those of its base record and, through an
  // attribute list, of its extension records; non-resident pieces of one attribute are joined.
  Result<std::pair<std::uint16_t, std::vector<Attribute>>> record_with_flags(std::uint64_t number) const {
    const std::vector<std::byte> rec = IG_TRY(read_record(number));
    const std::uint16_t flags = IG_TRY(field<std::uint16_t>(rec, 0x16, "MFT record"));
    if ((flags & 0x01) == 0) return Error::not_found(fmt::format("ntfs: MFT record {} is not in use", number));
    std::vector<Attribute> attrs = IG_TRY(parse_record(rec, number));
    const Attribute* list = find(attrs, kAttrList, "");
    if (list == nullptr) return std::pair{flags, std::move(attrs)};
    std::vector<std::byte> entries;
    if (list->resident) {
      entries = list->value;
    } else {
      if (list->data_size > kMaxResidentListBytes) {
        return Error::limit_exceeded(
            fmt::format("ntfs: MFT record {}: attribute list of {} bytes", number, list->data_size));
      }
      MappedSource src(dev_, cluster_, list->data_size, to_file_runs(list->runs), "attribute list");
      entries.resize(list->data_size);
      IG_TRY(src.read_at(0, entries));
    }
    std::set<std::uint64_t> extension;
    for (std::size_t p = 0; p + 26 <= entries.size();) {
      const std::uint16_t len = load_le_ptr<std::uint16_t>(entries.data() + p + 4);
      if (len < 26 || p + len > entries.size()) {
        return Error::corrupt(
            fmt::format("ntfs: MFT record {}: attribute list entry at {} of length {}", number, p, len));
      }
      const std::uint64_t ref = record_number(load_le_ptr<std::uint64_t>(entries.data() + p + 16));
      if (ref != number) extension.insert(ref);
      if (extension.size() > kMaxExtensionRecords) {
        return Error::limit_exceeded(
            fmt::format("ntfs: MFT record {}: more than {} extension records", number, kMaxExtensionRecords));
      }
      p += len;
    }
    for (std::uint64_t ext : extension) {
      const std::vector<std::byte> er = IG_TRY(read_record(ext));
      const std::uint64_t base = record_number(IG_TRY(field<std::uint64_t>(er, 0x20, "MFT record")));
      if (base != number) {
        return Error::corrupt(
            fmt::format("ntfs: MFT record {} listed by record {} belongs to record {}", ext, number, base));
      }
      for (Attribute& a : IG_TRY(parse_record(er, ext))) {
        if (attrs.size() >= kMaxAttributes) return Error::limit_exceeded("ntfs: too many attributes");
        attrs.push_back(std::move(a));
      }
    }
    // Join the pieces of each non-resident attribute, in VCN order; sizes come from the first.
    std::stable_sort(attrs.begin(), attrs.end(), [](const Attribute& x, const Attribute& y) {
      return std::tie(x.type, x.name, x.lowest_vcn) < std::tie(y.type, y.name, y.lowest_vcn);
    });
    std::vector<Attribute> joined;
    for (Attribute& a : attrs) {
      if (!joined.empty() && !a.resident && !joined.back().resident && joined.back().type == a.type &&
          joined.back().name == a.name && a.lowest_vcn > 0) {
        for (const Run& r : a.runs) {
          if (joined.back().runs.size() >= limits_.max_extents_per_file)
            return Error::limit_exceeded("ntfs: too many runs");
          joined.back().runs.push_back(r);
        }
        continue;
      }
      joined.push_back(std::move(a));
    }
    return std::pair{flags, std::move(joined)};
  }

  Result<std::vector<Attribute>> attributes(std::uint64_t number) const {
    auto r = IG_TRY(record_with_flags(number));
    return std::move(r.second);
  }

  Result<std::unique_ptr<ByteSource>> open_data(std::uint64_t inode, const std::string& name) const {
    const std::vector<Attribute> attrs = IG_TRY(attributes(inode));
    const Attribute* d = find(attrs, kAttrData, "");
    if (d == nullptr) return Error::invalid_argument(fmt::format("ntfs: {} has no data stream", name));
    if ((d->flags & kFlagEncrypted) != 0) return Error::unsupported(fmt::format("ntfs: {} is encrypted", name));
    if ((d->flags & kFlagCompressed) != 0) return Error::unsupported(fmt::format("ntfs: {} is compressed", name));
    if (d->resident) return std::unique_ptr<ByteSource>(std::make_unique<MappedSource>(d->value, name));
    std::uint64_t clusters = 0;
    const std::uint64_t volume_clusters = dev_->size() / cluster_;
    for (const Run& r : d->runs) {
      // Counted in clusters: in bytes, an LCN or VCN of 2^52 wraps to a small number.
      if (r.lcn && (*r.lcn > volume_clusters || r.count > volume_clusters - *r.lcn)) {
        return Error::corrupt(fmt::format("ntfs: {}: run at cluster {} lies outside the volume", name, *r.lcn));
      }
      clusters = std::max(clusters, r.vcn > UINT64_MAX - r.count ? UINT64_MAX : r.vcn + r.count);
    }
    if (clusters <= UINT64_MAX / cluster_ && d->data_size > clusters * cluster_) {
      return Error::corrupt(fmt::format("ntfs: {}: {} bytes but runs for {} clusters", name, d->data_size, clusters));
    }
    return std::unique_ptr<ByteSource>(
        std::make_unique<MappedSource>(dev_, cluster_, d->data_size, to_file_runs(d->runs), name));
  }

  // Every name of a directory, from its $I30 index: the root node in $INDEX_ROOT, the others in
  // $INDEX_ALLOCATION blocks, walked in order. DOS 8.3 aliases are left out.
  Result<std::vector<Named>> index_entries(std::uint64_t dir) const {
    Walk w = IG_TRY(open_index(dir));
    IG_TRY(walk_node(w, std::span<const std::byte>(w.root_value).subspan(16), 0));
    return std::move(w.out);
  }

  // A walk over one directory's index: every entry in order (list), or one search path (lookup).
  struct Walk {
    std::uint64_t dir = 0;
    std::uint32_t block = 0;
    std::uint64_t vcn_bytes = 0;
    std::vector<std::byte> root_value;
    std::shared_ptr<MappedSource> alloc;
    std::vector<Named> out;
    std::set<std::uint64_t> seen;
    std::uint64_t entries = 0;
    const std::u16string* search = nullptr;  // set: descend toward this upcased name only
    std::optional<std::uint64_t> found;
  };

  Result<Walk> open_index(std::uint64_t dir) const {
    const auto [flags, attrs] = IG_TRY(record_with_flags(dir));
    if ((flags & 0x02) == 0) return Error::invalid_argument(fmt::format("ntfs: MFT record {} is not a directory", dir));
    const Attribute* root = find(attrs, kAttrIndexRoot, "$I30");
    if (root == nullptr || !root->resident) {
      return Error::corrupt(fmt::format("ntfs: directory {} has no $I30 index root", dir));
    }
    Walk w;
    w.dir = dir;
    w.root_value = root->value;
    if (const Attribute* a = find(attrs, kAttrIndexAllocation, "$I30"); a != nullptr && !a->resident) {
      w.alloc = std::make_shared<MappedSource>(dev_, cluster_, a->data_size, to_file_runs(a->runs), "$I30");
    }
    w.block = IG_TRY(field<std::uint32_t>(root->value, 8, "index root"));
    if (w.block < 512 || w.block > 65536 || (w.block & (w.block - 1)) != 0 || root->value.size() < 32) {
      return Error::corrupt(fmt::format("ntfs: directory {}: {}-byte index blocks", dir, w.block));
    }
    w.vcn_bytes = w.block >= cluster_ ? cluster_ : 512;
    return w;
  }

  // One index node: `node` starts at its index header.
  Result<void> walk_node(Walk& w, std::span<const std::byte> node, std::size_t depth) const {
    const std::string what = fmt::format("directory {} index", w.dir);
    if (depth > kMaxIndexDepth) return Error::corrupt(fmt::format("ntfs: {} deeper than {}", what, kMaxIndexDepth));
    const std::uint32_t first = IG_TRY(field<std::uint32_t>(node, 0, what));
    const std::uint32_t end = IG_TRY(field<std::uint32_t>(node, 4, what));
    if (end > node.size() || first >= end || first < 16) {
      return Error::corrupt(fmt::format("ntfs: {}: entries [{}, {}) in a {}-byte node", what, first, end, node.size()));
    }
    std::size_t p = first;
    for (;;) {
      if (p + 16 > end) return Error::corrupt(fmt::format("ntfs: {}: entry at {} runs past the node", what, p));
      const std::uint64_t ref = load_le_ptr<std::uint64_t>(node.data() + p);
      const std::uint16_t len = load_le_ptr<std::uint16_t>(node.data() + p + 8);
      const std::uint16_t key_len = load_le_ptr<std::uint16_t>(node.data() + p + 10);
      const std::uint16_t flags = load_le_ptr<std::uint16_t>(node.data() + p + 12);
      if (len < 16 || p + len > end || 16U + key_len > len) {
        return Error::corrupt(fmt::format("ntfs: {}: entry at {} of length {} (key {})", what, p, len, key_len));
      }
      const bool last = (flags & 0x02) != 0;  // the last entry carries no key
      std::optional<std::uint64_t> subnode;   // a subnode: its VCN is the entry's last 8 bytes
      if ((flags & 0x01) != 0) {
        if (len < 24) return Error::corrupt(fmt::format("ntfs: {}: subnode entry at {} too short", what, p));
        subnode = load_le_ptr<std::uint64_t>(node.data() + p + len - 8);
      }
      if (w.search != nullptr) {
        // Search: stop at the first entry not below the name; equal is found, above means the
        // name can only be in that entry's subnode.
        int order = 1;
        if (!last) {
          auto key_name = entry_name(node.subspan(p + 16, key_len), what, p);
          if (!key_name) return key_name.error();
          const std::u16string k = upcase(key_name->second);
          order = k == *w.search ? 0 : (*w.search < k ? 1 : -1);
          if (order == 0) {
            w.found = record_number(ref);
            return ok();
          }
        }
        if (order > 0) return subnode ? walk_block(w, *subnode, depth + 1) : ok();
        p += len;
        continue;
      }
      if (subnode) IG_TRY(walk_block(w, *subnode, depth + 1));
      if (last) return ok();
      if (++w.entries > limits_.max_dir_entries) {
        return Error::limit_exceeded(fmt::format("ntfs: {}: more than {} entries", what, limits_.max_dir_entries));
      }
      auto key_name = entry_name(node.subspan(p + 16, key_len), what, p);
      if (!key_name) return key_name.error();
      if (key_name->first != 2) {  // namespace 2: a DOS 8.3 alias of a name listed anyway
        std::string name = utf16le_to_utf8(std::as_bytes(std::span(key_name->second)));
        if (name != ".") w.out.push_back(Named{std::move(name), std::move(key_name->second), record_number(ref)});
      }
      p += len;
    }
  }

  // The namespace and UTF-16 name of an index entry's FILE_NAME key.
  static Result<std::pair<unsigned, std::u16string>> entry_name(std::span<const std::byte> key, std::string_view what,
                                                                std::size_t at) {
    if (key.size() < 0x42)
      return Error::corrupt(fmt::format("ntfs: {}: entry at {} has a {}-byte key", what, at, key.size()));
    const std::size_t chars = std::to_integer<std::size_t>(key[0x40]);
    const auto space = std::to_integer<unsigned>(key[0x41]);
    if (0x42 + chars * 2 > key.size()) {
      return Error::corrupt(fmt::format("ntfs: {}: file name at {} runs past its key", what, at));
    }
    std::u16string u16(chars, u'\0');
    for (std::size_t i = 0; i < chars; ++i)
      u16[i] = static_cast<char16_t>(load_le_ptr<std::uint16_t>(key.data() + 0x42 + 2 * i));
    return std::pair{space, std::move(u16)};
  }

  Result<void> walk_block(Walk& w, std::uint64_t vcn, std::size_t depth) const {
    if (!w.alloc) {
      return Error::corrupt(fmt::format("ntfs: directory {}: a subnode but no $INDEX_ALLOCATION", w.dir));
    }
    if (!w.seen.insert(vcn).second) {
      return Error::corrupt(fmt::format("ntfs: directory {}: index block {} reached twice (a loop)", w.dir, vcn));
    }
    const auto at = checked_mul(vcn, w.vcn_bytes, "ntfs index block");
    if (!at || !range_within(*at, w.block, w.alloc->size())) {
      return Error::corrupt(fmt::format("ntfs: directory {}: index block {} outside $INDEX_ALLOCATION", w.dir, vcn));
    }
    std::vector<std::byte> b(w.block);
    IG_TRY(w.alloc->read_at(*at, b));
    const std::string what = fmt::format("directory {} index block {}", w.dir, vcn);
    if (as_chars(std::span<const std::byte>(b).first(4)) != "INDX") {
      return Error::corrupt(fmt::format("ntfs: {}: no INDX signature", what));
    }
    IG_TRY(apply_fixups(b, what));
    return walk_node(w, std::span<const std::byte>(b).subspan(0x18), depth);
  }

  SourcePtr dev_;
  FsLimits limits_;
  std::uint64_t cluster_ = 0;
  std::uint64_t record_size_ = 0;
  std::uint64_t index_size_ = 0;
  std::uint64_t serial_ = 0;
  std::uint64_t records_ = 0;
  std::shared_ptr<MappedSource> mft_;
  std::vector<std::byte> upcase_;  // $UpCase, kUpCaseBytes of UTF-16LE, or empty: ASCII only
  std::string label_;
};

}  // namespace

bool probe(const ByteSource& dev) {
  std::array<std::byte, 11> head{};
  if (dev.size() < 512 || !dev.read_at(0, head)) return false;
  return as_chars(std::span<const std::byte>(head).subspan(3, 8)) == "NTFS    ";
}

Result<std::unique_ptr<FileSystem>> open(SourcePtr dev, const FsLimits& limits) {
  auto v = std::make_unique<Volume>(std::move(dev), limits);
  IG_TRY(v->load());
  return std::unique_ptr<FileSystem>(std::move(v));
}

}  // namespace ig::ntfs
