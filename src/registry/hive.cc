#include "registry/hive.h"

#include <algorithm>

#include "base/bytes.h"
#include "base/checked.h"
#include "base/checksum.h"
#include "base/text.h"

namespace ig::registry {
namespace {

constexpr std::uint64_t kBaseBlock = 4096;
constexpr std::uint32_t kBigDataSegment = 16344;  // bytes of data per db segment
constexpr std::uint32_t kNoCell = 0xFFFFFFFF;

template <class T>
Result<T> field(std::span<const std::byte> s, std::size_t offset, std::string_view what) {
  if (offset > s.size() || s.size() - offset < sizeof(T)) {
    return Error::corrupt(
        fmt::format("hive: {}: field at {} past the end of its {}-byte cell", what, offset, s.size()));
  }
  return load_le_ptr<T>(s.data() + offset);
}

// A name stored as Latin-1 (the "compressed" flag) or UTF-16LE.
std::string decode_name(std::span<const std::byte> raw, bool latin1) {
  if (!latin1) return utf16le_to_utf8(raw);
  std::string out;
  for (std::byte b : raw) {
    const auto c = std::to_integer<unsigned>(b);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

bool equal_ascii_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto up = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; };
           return up(x) == up(y);
         });
}

}  // namespace

Result<Hive> Hive::open(std::vector<std::byte> bytes, const HiveLimits& limits) {
  if (bytes.size() > limits.max_hive_bytes) {
    return Error::limit_exceeded(fmt::format("hive: {} bytes, more than {}", bytes.size(), limits.max_hive_bytes));
  }
  if (bytes.size() < kBaseBlock + 32) return Error::corrupt(fmt::format("hive: {} bytes, too short", bytes.size()));
  if (as_chars(std::span<const std::byte>(bytes).first(4)) != "regf") return Error::corrupt("hive: no regf signature");
  std::uint32_t x = 0;
  for (std::size_t i = 0; i < 508; i += 4) x ^= load_le_ptr<std::uint32_t>(bytes.data() + i);
  const std::uint32_t stored = load_le_ptr<std::uint32_t>(bytes.data() + 508);
  // Windows writes 1 where the XOR is 0, and 0xFFFFFFFE where it is 0xFFFFFFFF.
  const std::uint32_t expected = x == 0 ? 1 : x == 0xFFFFFFFF ? 0xFFFFFFFE : x;
  if (checksum_refuses(stored != expected && stored != x)) {
    return Error::corrupt(fmt::format("hive: base block checksum {:#x}, computed {:#x}", stored, expected));
  }
  Hive h(std::move(bytes), limits);
  const std::uint32_t seq1 = load_le_ptr<std::uint32_t>(h.bytes_.data() + 4);
  const std::uint32_t seq2 = load_le_ptr<std::uint32_t>(h.bytes_.data() + 8);
  h.sequence_ = seq1;
  h.dirty_ = seq1 != seq2;
  h.minor_ = load_le_ptr<std::uint32_t>(h.bytes_.data() + 0x18);
  const std::uint32_t major = load_le_ptr<std::uint32_t>(h.bytes_.data() + 0x14);
  if (major != 1) return Error::corrupt(fmt::format("hive: format version {}.{}", major, h.minor_));
  const std::uint32_t bins = load_le_ptr<std::uint32_t>(h.bytes_.data() + 0x28);
  if (bins == 0 || bins % 4096 != 0 || kBaseBlock + bins > h.bytes_.size()) {
    return Error::corrupt(fmt::format("hive: {} bytes of hive bins in a {}-byte file", bins, h.bytes_.size()));
  }
  h.bins_end_ = kBaseBlock + bins;
  if (as_chars(std::span<const std::byte>(h.bytes_).subspan(kBaseBlock, 4)) != "hbin") {
    return Error::corrupt("hive: the first hive bin has no hbin signature");
  }
  h.root_ = load_le_ptr<std::uint32_t>(h.bytes_.data() + 0x24);
  IG_TRY(h.key_cell(h.root_));
  return h;
}

Result<std::span<const std::byte>> Hive::cell(std::uint32_t offset, std::string_view what) const {
  const std::uint64_t at = kBaseBlock + std::uint64_t{offset};
  if (offset == kNoCell || at + 4 > bins_end_ || offset % 8 != 0) {
    return Error::corrupt(fmt::format("hive: {} at cell {:#x} lies outside the hive bins", what, offset));
  }
  const auto size = static_cast<std::int32_t>(load_le_ptr<std::uint32_t>(bytes_.data() + at));
  if (size >= 0) return Error::corrupt(fmt::format("hive: {} at cell {:#x} is a free cell", what, offset));
  const std::uint64_t length = static_cast<std::uint64_t>(-static_cast<std::int64_t>(size));
  if (length < 8 || at + length > bins_end_) {
    return Error::corrupt(fmt::format("hive: {} at cell {:#x} has size {}", what, offset, length));
  }
  return std::span<const std::byte>(bytes_).subspan(at + 4, length - 4);
}

Result<std::span<const std::byte>> Hive::key_cell(KeyRef key) const {
  const auto c = IG_TRY(cell(key, "key"));
  if (c.size() < 0x4C || as_chars(c.first(2)) != "nk") {
    return Error::corrupt(fmt::format("hive: cell {:#x} is not a key (nk)", key));
  }
  return c;
}

Result<std::string> Hive::key_name(KeyRef key) const {
  const auto c = IG_TRY(key_cell(key));
  const std::uint16_t flags = load_le_ptr<std::uint16_t>(c.data() + 2);
  const std::uint16_t length = load_le_ptr<std::uint16_t>(c.data() + 0x48);
  if (0x4CU + length > c.size()) return Error::corrupt(fmt::format("hive: key {:#x}: name runs past its cell", key));
  return decode_name(c.subspan(0x4C, length), (flags & 0x20) != 0);
}

Result<void> Hive::collect_subkeys(std::uint32_t list, std::uint32_t depth, std::vector<KeyRef>& out,
                                   std::uint64_t& list_refs) const {
  if (depth > limits_.max_list_depth) {
    return Error::corrupt(fmt::format("hive: subkey list {:#x} nested deeper than {}", list, limits_.max_list_depth));
  }
  const auto c = IG_TRY(cell(list, "subkey list"));
  if (c.size() < 4) return Error::corrupt(fmt::format("hive: subkey list {:#x} too short", list));
  const std::string_view sig = as_chars(c.first(2));
  const std::uint16_t count = load_le_ptr<std::uint16_t>(c.data() + 2);
  const std::size_t stride = sig == "lf" || sig == "lh" ? 8 : sig == "li" || sig == "ri" ? 4 : 0;
  if (stride == 0)
    return Error::corrupt(fmt::format("hive: subkey list {:#x} has signature '{}'", list, printable(sig)));
  if (4 + std::size_t{count} * stride > c.size()) {
    return Error::corrupt(fmt::format("hive: subkey list {:#x}: {} entries do not fit", list, count));
  }
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t ref = load_le_ptr<std::uint32_t>(c.data() + 4 + i * stride);
    if (sig == "ri") {
      // ri entries name lists, not keys: lists shared by many entries add no key, so only this
      // bounds them (N^4 visits over four levels of one shared list: the loop audit, 2026-12-07).
      if (++list_refs > limits_.max_subkeys) {
        return Error::limit_exceeded(fmt::format(
            "hive: subkey list {:#x}: more than {} lists named by its lists of lists", list, limits_.max_subkeys));
      }
      IG_TRY(collect_subkeys(ref, depth + 1, out, list_refs));
    } else {
      if (out.size() >= limits_.max_subkeys) {
        return Error::limit_exceeded(fmt::format("hive: more than {} subkeys", limits_.max_subkeys));
      }
      out.push_back(ref);
    }
  }
  return ok();
}

Result<std::vector<KeyRef>> Hive::subkeys(KeyRef key) const {
  const auto c = IG_TRY(key_cell(key));
  const std::uint32_t count = load_le_ptr<std::uint32_t>(c.data() + 0x14);
  const std::uint32_t list = load_le_ptr<std::uint32_t>(c.data() + 0x1C);
  std::vector<KeyRef> out;
  if (count == 0) return out;
  if (count > limits_.max_subkeys) {
    return Error::limit_exceeded(fmt::format("hive: key {:#x} has {} subkeys", key, count));
  }
  std::uint64_t list_refs = 0;
  IG_TRY(collect_subkeys(list, 0, out, list_refs));
  if (out.size() != count) {
    return Error::corrupt(fmt::format("hive: key {:#x} counts {} subkeys, its lists hold {}", key, count, out.size()));
  }
  for (KeyRef k : out) IG_TRY(key_cell(k));
  return out;
}

Result<std::vector<std::byte>> Hive::value_data(std::span<const std::byte> vk, std::uint32_t at) const {
  const std::uint32_t raw_size = load_le_ptr<std::uint32_t>(vk.data() + 4);
  const std::uint32_t offset = load_le_ptr<std::uint32_t>(vk.data() + 8);
  if ((raw_size & 0x80000000U) != 0) {  // stored in the offset field itself
    const std::uint32_t size = raw_size & 0x7FFFFFFFU;
    if (size > 4) return Error::corrupt(fmt::format("hive: value {:#x}: {} inline bytes", at, size));
    std::vector<std::byte> d(vk.begin() + 8, vk.begin() + 8 + size);
    return d;
  }
  if (raw_size > limits_.max_value_bytes) {
    return Error::limit_exceeded(fmt::format("hive: value {:#x} has {} bytes", at, raw_size));
  }
  if (raw_size == 0) return std::vector<std::byte>{};
  const auto data = IG_TRY(cell(offset, "value data"));
  if (raw_size <= data.size()) return std::vector<std::byte>(data.begin(), data.begin() + raw_size);
  // Larger than its cell: big data (hive 1.4+), a db cell pointing at a list of segments.
  if (minor_ < 4 || data.size() < 8 || as_chars(data.first(2)) != "db") {
    return Error::corrupt(fmt::format("hive: value {:#x}: {} bytes in a {}-byte cell", at, raw_size, data.size()));
  }
  const std::uint16_t segments = load_le_ptr<std::uint16_t>(data.data() + 2);
  const std::uint32_t list_at = load_le_ptr<std::uint32_t>(data.data() + 4);
  const auto list = IG_TRY(cell(list_at, "big-data segment list"));
  if (std::size_t{segments} * 4 > list.size()) {
    return Error::corrupt(fmt::format("hive: value {:#x}: {} segments do not fit their list", at, segments));
  }
  std::vector<std::byte> out;
  out.reserve(raw_size);
  for (std::size_t i = 0; i < segments && out.size() < raw_size; ++i) {
    const auto seg = IG_TRY(cell(load_le_ptr<std::uint32_t>(list.data() + i * 4), "big-data segment"));
    const std::size_t take = std::min<std::size_t>({seg.size(), kBigDataSegment, raw_size - out.size()});
    out.insert(out.end(), seg.begin(), seg.begin() + static_cast<std::ptrdiff_t>(take));
  }
  if (out.size() != raw_size) {
    return Error::corrupt(fmt::format("hive: value {:#x}: segments hold {} of {} bytes", at, out.size(), raw_size));
  }
  return out;
}

Result<std::vector<std::uint32_t>> Hive::value_cells(KeyRef key) const {
  const auto c = IG_TRY(key_cell(key));
  const std::uint32_t count = load_le_ptr<std::uint32_t>(c.data() + 0x24);
  const std::uint32_t list_at = load_le_ptr<std::uint32_t>(c.data() + 0x28);
  std::vector<std::uint32_t> out;
  if (count == 0) return out;
  if (count > limits_.max_values)
    return Error::limit_exceeded(fmt::format("hive: key {:#x} has {} values", key, count));
  const auto list = IG_TRY(cell(list_at, "value list"));
  if (std::uint64_t{count} * 4 > list.size()) {
    return Error::corrupt(fmt::format("hive: key {:#x}: {} values do not fit their list", key, count));
  }
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(load_le_ptr<std::uint32_t>(list.data() + i * 4));
  return out;
}

Result<Value> Hive::read_value(std::uint32_t at, bool with_data) const {
  const auto vk = IG_TRY(cell(at, "value"));
  if (vk.size() < 0x14 || as_chars(vk.first(2)) != "vk") {
    return Error::corrupt(fmt::format("hive: cell {:#x} is not a value (vk)", at));
  }
  const std::uint16_t name_length = load_le_ptr<std::uint16_t>(vk.data() + 2);
  const std::uint16_t flags = IG_TRY(field<std::uint16_t>(vk, 0x10, "value"));
  if (0x14U + name_length > vk.size()) return Error::corrupt(fmt::format("hive: value {:#x}: name runs past it", at));
  Value v;
  v.name = decode_name(vk.subspan(0x14, name_length), (flags & 0x01) != 0);
  v.type = load_le_ptr<std::uint32_t>(vk.data() + 0x0C);
  if (with_data) v.data = IG_TRY(value_data(vk, at));
  return v;
}

Result<std::vector<Value>> Hive::values(KeyRef key) const {
  std::vector<Value> out;
  // Entries may all name one value of max_value_bytes: the data of one key's values is bounded
  // as the hive is, since distinct cells cannot hold more than it (the review of 2026-12-07).
  std::uint64_t bytes = 0;
  for (const std::uint32_t at : IG_TRY(value_cells(key))) {
    out.push_back(IG_TRY(read_value(at, true)));
    if ((bytes += out.back().data.size()) > limits_.max_hive_bytes) {
      return Error::limit_exceeded(fmt::format("hive: key {:#x}: its values hold more than the {} bytes of a hive", key,
                                               limits_.max_hive_bytes));
    }
  }
  return out;
}

Result<std::optional<KeyRef>> Hive::subkey(KeyRef key, std::string_view name) const {
  for (KeyRef k : IG_TRY(subkeys(key))) {
    if (equal_ascii_nocase(IG_TRY(key_name(k)), name)) return std::optional<KeyRef>(k);
  }
  return std::optional<KeyRef>{};
}

Result<std::optional<KeyRef>> Hive::find(std::string_view path) const {
  KeyRef at = root_;
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t sep = path.find_first_of("\\/", pos);
    if (sep == std::string_view::npos) sep = path.size();
    if (sep > pos) {
      const auto next = IG_TRY(subkey(at, path.substr(pos, sep - pos)));
      if (!next) return std::optional<KeyRef>{};
      at = *next;
    }
    pos = sep + 1;
  }
  return std::optional<KeyRef>(at);
}

Result<std::optional<Value>> Hive::value(KeyRef key, std::string_view name) const {
  // Names first: only the value asked for has its data decoded.
  for (const std::uint32_t at : IG_TRY(value_cells(key))) {
    if (equal_ascii_nocase(IG_TRY(read_value(at, false)).name, name))
      return std::optional<Value>(IG_TRY(read_value(at, true)));
  }
  return std::optional<Value>{};
}

Result<std::string> Value::as_string() const {
  if (type != kRegSz && type != kRegExpandSz && type != kRegLink) {
    return Error::invalid_argument(fmt::format("registry value '{}' has type {}, not a string", name, type));
  }
  std::size_t units = data.size() / 2;
  for (std::size_t i = 0; i < units; ++i) {
    if (data[2 * i] == std::byte{0} && data[2 * i + 1] == std::byte{0}) {
      units = i;
      break;
    }
  }
  return utf16le_to_utf8(std::span(data).first(units * 2));
}

Result<std::uint32_t> Value::as_dword() const {
  if ((type != kRegDword && type != kRegDwordBigEndian) || data.size() != 4) {
    return Error::invalid_argument(
        fmt::format("registry value '{}' ({} bytes, type {}) is not a DWORD", name, data.size(), type));
  }
  return type == kRegDword ? load_le_ptr<std::uint32_t>(data.data()) : load_be_ptr<std::uint32_t>(data.data());
}

Result<std::uint64_t> Value::as_qword() const {
  if (type != kRegQword || data.size() != 8) {
    return Error::invalid_argument(fmt::format("registry value '{}' is not a QWORD", name));
  }
  return load_le_ptr<std::uint64_t>(data.data());
}

Result<std::vector<std::string>> Value::as_multi_string() const {
  if (type != kRegMultiSz) return Error::invalid_argument(fmt::format("registry value '{}' is not REG_MULTI_SZ", name));
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i + 1 < data.size(); i += 2) {
    if (data[i] == std::byte{0} && data[i + 1] == std::byte{0}) {
      if (i == start) break;
      out.push_back(utf16le_to_utf8(std::span(data).subspan(start, i - start)));
      start = i + 2;
    }
  }
  return out;
}

}  // namespace ig::registry
