#include "inspect/rpmdb.h"

#include <sqlite3.h>

#include <memory>
#include <vector>

#include "base/bytes.h"
#include "base/checked.h"

namespace ig {
namespace {

constexpr std::uint32_t kMaxIndexEntries = 100'000;
constexpr std::uint32_t kMaxDataBytes = 256U << 20;
constexpr std::uint32_t kTagName = 1000;
constexpr std::uint32_t kTagVersion = 1001;
constexpr std::uint32_t kTagRelease = 1002;
constexpr std::uint32_t kTypeString = 6;
constexpr int kMaxVmSteps = 50'000'000;  // SQLite progress-handler calls x 1000 instructions

struct Closer {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct Finalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

}  // namespace

Result<RpmPackage> parse_rpm_header(std::span<const std::byte> blob) {
  if (blob.size() < 8) return Error::corrupt(fmt::format("rpm header: {} bytes, shorter than its counts", blob.size()));
  const std::uint32_t il = load_be_ptr<std::uint32_t>(blob.data());
  const std::uint32_t dl = load_be_ptr<std::uint32_t>(blob.data() + 4);
  if (il == 0 || il > kMaxIndexEntries || dl > kMaxDataBytes) {
    return Error::corrupt(fmt::format("rpm header: {} index entries, {} data bytes", il, dl));
  }
  const std::uint64_t data_at = 8 + std::uint64_t{il} * 16;
  if (data_at + dl > blob.size()) {
    return Error::corrupt(
        fmt::format("rpm header: {} entries and {} data bytes do not fit its {} bytes", il, dl, blob.size()));
  }
  const std::span<const std::byte> data = blob.subspan(data_at, dl);
  RpmPackage p;
  for (std::uint32_t i = 0; i < il; ++i) {
    const std::byte* e = blob.data() + 8 + std::size_t{i} * 16;
    const std::uint32_t tag = load_be_ptr<std::uint32_t>(e);
    const std::uint32_t type = load_be_ptr<std::uint32_t>(e + 4);
    const std::uint32_t offset = load_be_ptr<std::uint32_t>(e + 8);
    std::string* field = tag == kTagName      ? &p.name
                         : tag == kTagVersion ? &p.version
                         : tag == kTagRelease ? &p.release
                                              : nullptr;
    if (field == nullptr) continue;
    if (type != kTypeString || offset >= data.size()) {
      return Error::corrupt(fmt::format("rpm header: tag {} has type {} at offset {}", tag, type, offset));
    }
    const std::string_view rest = as_chars(data.subspan(offset));
    const auto nul = rest.find('\0');
    if (nul == std::string_view::npos) {
      return Error::corrupt(fmt::format("rpm header: tag {}'s string is not terminated", tag));
    }
    *field = std::string(rest.substr(0, nul));
  }
  if (p.name.empty()) return Error::corrupt("rpm header: no NAME tag");
  return p;
}

Result<std::optional<RpmPackage>> rpmdb_find(std::span<const std::byte> database, std::string_view name) {
  if (database.size() < 100 || as_chars(database.first(16)) != std::string_view("SQLite format 3\0", 16)) {
    return Error::corrupt("rpmdb: not an SQLite database");
  }
  // SQLite reads a deserialized database in place; the copy lets the header say "rollback
  // journal" (bytes 18-19 = 1) where rpm wrote "WAL" (2), which an in-memory database cannot use.
  // A WAL file that was never checkpointed is not read.
  std::vector<std::byte> copy(database.begin(), database.end());
  copy[18] = std::byte{1};
  copy[19] = std::byte{1};
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(raw);
    return Error::internal("rpmdb: SQLite cannot open an in-memory database");
  }
  std::unique_ptr<sqlite3, Closer> db(raw);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_limit(db.get(), SQLITE_LIMIT_LENGTH, static_cast<int>(kMaxDataBytes));
  int steps = 0;
  sqlite3_progress_handler(
      db.get(), 1000, [](void* n) { return ++*static_cast<int*>(n) > kMaxVmSteps / 1000 ? 1 : 0; }, &steps);
  const auto size = static_cast<sqlite3_int64>(copy.size());
  if (sqlite3_deserialize(db.get(), "main", reinterpret_cast<unsigned char*>(copy.data()), size, size,
                          SQLITE_DESERIALIZE_READONLY) != SQLITE_OK) {
    return Error::corrupt(fmt::format("rpmdb: SQLite refuses the database: {}", sqlite3_errmsg(db.get())));
  }
  sqlite3_stmt* raw_stmt = nullptr;
  constexpr const char* kQuery =
      "SELECT p.blob FROM Name n JOIN Packages p ON p.hnum = n.hnum WHERE n.key = ?1 LIMIT 1";
  if (sqlite3_prepare_v2(db.get(), kQuery, -1, &raw_stmt, nullptr) != SQLITE_OK) {
    return Error::corrupt(fmt::format("rpmdb: {}", sqlite3_errmsg(db.get())));
  }
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt(raw_stmt);
  sqlite3_bind_text(stmt.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return std::optional<RpmPackage>{};
  if (rc != SQLITE_ROW) {
    if (rc == SQLITE_INTERRUPT) return Error::limit_exceeded("rpmdb: the query took too many steps");
    return Error::corrupt(fmt::format("rpmdb: {}", sqlite3_errmsg(db.get())));
  }
  const auto* blob = static_cast<const std::byte*>(sqlite3_column_blob(stmt.get(), 0));
  const int blob_size = sqlite3_column_bytes(stmt.get(), 0);
  if (blob == nullptr || blob_size <= 0) return Error::corrupt("rpmdb: an empty package blob");
  RpmPackage p = IG_TRY(parse_rpm_header(std::span(blob, static_cast<std::size_t>(blob_size))));
  if (p.name != name) return Error::corrupt(fmt::format("rpmdb: the Name index points at package '{}'", p.name));
  return std::optional<RpmPackage>(std::move(p));
}

}  // namespace ig
