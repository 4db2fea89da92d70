// Windows registry hives (regf), read-only and bounded: how imagegate reads a guest's SOFTWARE
// and SYSTEM hives (Windows version, edition, control set, driver services) without hivex.
//
// A hive is read whole into memory (at most HiveLimits::max_hive_bytes) and checked before use:
// the base block's signature and checksum, the hive-bins size, and for every cell it touches,
// that the cell is allocated and lies inside the bins. Keys (nk) are found through their subkey
// lists (lf, lh, li, and ri of those), values (vk) through the value list, value data inline,
// in one cell or in big-data (db) segments. Names compare case-insensitively, as Windows does
// for ASCII (every name imagegate asks for is ASCII). A dirty hive (its two sequence numbers
// differ: the .LOG transaction files were not replayed) is read as it is and reported; the log
// files are never opened. Decision 0007 says why this is ours and not hivex.
//
// Thread safety: a Hive is immutable after open; every method may be called concurrently.
// Errors: kCorrupt naming the cell and structure, kLimitExceeded for HiveLimits.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace ig::registry {

struct HiveLimits {
  std::uint64_t max_hive_bytes = 512ULL << 20;
  std::uint32_t max_subkeys = 1 << 20;  // per key
  std::uint32_t max_values = 1 << 20;   // per key
  std::uint32_t max_list_depth = 4;     // ri lists of lists
  std::uint32_t max_path_depth = 512;   // key nesting, for a full walk
  std::uint64_t max_value_bytes = 64 << 20;
};

// Registry value types.
inline constexpr std::uint32_t kRegNone = 0;
inline constexpr std::uint32_t kRegSz = 1;
inline constexpr std::uint32_t kRegExpandSz = 2;
inline constexpr std::uint32_t kRegBinary = 3;
inline constexpr std::uint32_t kRegDword = 4;
inline constexpr std::uint32_t kRegDwordBigEndian = 5;
inline constexpr std::uint32_t kRegLink = 6;
inline constexpr std::uint32_t kRegMultiSz = 7;
inline constexpr std::uint32_t kRegQword = 11;

struct Value {
  std::string name;  // UTF-8; "" is the key's default value
  std::uint32_t type = kRegNone;
  std::vector<std::byte> data;

  // REG_SZ / REG_EXPAND_SZ / REG_LINK as UTF-8, up to the first NUL.
  Result<std::string> as_string() const;
  // REG_DWORD (and REG_DWORD_BIG_ENDIAN).
  Result<std::uint32_t> as_dword() const;
  Result<std::uint64_t> as_qword() const;
  Result<std::vector<std::string>> as_multi_string() const;
};

using KeyRef = std::uint32_t;  // a key's cell offset

class Hive {
 public:
  static Result<Hive> open(std::vector<std::byte> bytes, const HiveLimits& limits = {});

  bool dirty() const { return dirty_; }  // primary and secondary sequence numbers differ
  std::uint32_t sequence() const { return sequence_; }
  KeyRef root() const { return root_; }

  Result<std::string> key_name(KeyRef key) const;
  Result<std::vector<KeyRef>> subkeys(KeyRef key) const;
  Result<std::vector<Value>> values(KeyRef key) const;

  // The subkey called `name` (ASCII case-insensitive), or nothing.
  Result<std::optional<KeyRef>> subkey(KeyRef key, std::string_view name) const;
  // A key by its path from the root: "Microsoft\Windows NT\CurrentVersion" ('\' or '/').
  Result<std::optional<KeyRef>> find(std::string_view path) const;
  Result<std::optional<Value>> value(KeyRef key, std::string_view name) const;

 private:
  Hive(std::vector<std::byte> bytes, HiveLimits limits) : bytes_(std::move(bytes)), limits_(limits) {}
  Result<std::span<const std::byte>> cell(std::uint32_t offset, std::string_view what) const;
  Result<std::span<const std::byte>> key_cell(KeyRef key) const;
  // `list_refs`: the ri entries followed so far for this key, bounded by max_subkeys.
  Result<void> collect_subkeys(std::uint32_t list, std::uint32_t depth, std::vector<KeyRef>& out,
                               std::uint64_t& list_refs) const;
  Result<std::vector<std::byte>> value_data(std::span<const std::byte> vk, std::uint32_t at) const;
  // The offsets of a key's value cells, and one value cell read: its data only `with_data`.
  Result<std::vector<std::uint32_t>> value_cells(KeyRef key) const;
  Result<Value> read_value(std::uint32_t at, bool with_data) const;

  std::vector<std::byte> bytes_;
  HiveLimits limits_;
  std::uint64_t bins_end_ = 0;
  KeyRef root_ = 0;
  std::uint32_t sequence_ = 0;
  std::uint32_t minor_ = 0;
  bool dirty_ = false;
};

}  // namespace ig::registry
