// The SQLite adapter of the driver port: one connection (NOMUTEX: the catalog serialises calls), WAL, synchronous=FULL,
// foreign keys on, a busy timeout so a second process waits for the write lock instead of failing.
// Statements are prepared once and kept (by their SQL text, at most kMaxCachedStatements; driver.h).
#include <sqlite3.h>

#include <unordered_map>

#include "catalog/driver.h"

namespace ig::catalog {
namespace {

struct Finalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, Finalizer>;

// Resets a cached statement when a query is done with it, however it ends: a statement left
// stepping would hold its read transaction open.
struct Resetter {
  void operator()(sqlite3_stmt* s) const {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

class SqliteDriver final : public Driver {
 public:
  explicit SqliteDriver(sqlite3* db) : db_(db) {}
  ~SqliteDriver() override {
    statements_.clear();  // finalized before the connection closes
    sqlite3_close(db_);
  }
  SqliteDriver(const SqliteDriver&) = delete;
  SqliteDriver& operator=(const SqliteDriver&) = delete;

  std::string backend() const override { return "sqlite"; }

  Result<void> exec(const std::string& script) override {
    char* err = nullptr;
    if (sqlite3_exec(db_, script.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string why = err != nullptr ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      return Error::io(fmt::format("catalog: {}", why));
    }
    return ok();
  }

  Result<Rows> query(const std::string& sql, const std::vector<Param>& params) override {
    sqlite3_stmt* prepared = IG_TRY(statement(sql));
    std::unique_ptr<sqlite3_stmt, Resetter> s(prepared);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int at = static_cast<int>(i + 1);
      if (const auto* text = std::get_if<std::string>(&params[i])) {
        sqlite3_bind_text(s.get(), at, text->data(), static_cast<int>(text->size()), SQLITE_TRANSIENT);
      } else if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
        sqlite3_bind_int64(s.get(), at, *n);
      } else {
        sqlite3_bind_null(s.get(), at);
      }
    }
    Rows out;
    const int columns = sqlite3_column_count(s.get());
    int rc = 0;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      Row row;
      row.cells.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        const auto* p = sqlite3_column_text(s.get(), c);
        if (p == nullptr) {
          row.cells.emplace_back(std::nullopt);
        } else {
          row.cells.emplace_back(std::in_place, reinterpret_cast<const char*>(p),
                                 static_cast<std::size_t>(sqlite3_column_bytes(s.get(), c)));
        }
      }
      out.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) return error();
    out.changed = sqlite3_changes(db_);
    return out;
  }

  Result<void> begin(bool write) override {
    IG_TRY(query(write ? "BEGIN IMMEDIATE" : "BEGIN", {}));
    return ok();
  }
  Result<void> commit() override {
    IG_TRY(query("COMMIT", {}));
    return ok();
  }
  void rollback() override { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }
  Result<void> reconnect() override { return ok(); }  // a file does not go away between calls

  const char* claim_lock() const override { return ""; }
  std::string ddl(const std::string& sqlite_script) const override { return sqlite_script; }
  Result<int> lock_and_read_schema_version() override { return read_schema_version(); }
  Result<int> read_schema_version() override {
    auto rows = IG_TRY(query("PRAGMA user_version", {}));
    if (rows.rows.empty()) return Error::io("catalog: PRAGMA user_version returned nothing");
    return static_cast<int>(rows.rows[0].int64(0));
  }
  Result<void> write_schema_version(int version) override {
    return exec(fmt::format("PRAGMA user_version = {}", version));
  }

 private:
  // A unique or primary-key violation is the caller's duplicate; anything else names SQLite's
  // message.
  Error error() const {
    const int extended = sqlite3_extended_errcode(db_);
    if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return Error::already_exists(fmt::format("catalog: {}", sqlite3_errmsg(db_)));
    }
    return Error::io(fmt::format("catalog: {}", sqlite3_errmsg(db_)));
  }

  // The prepared statement of `sql`, from the cache or prepared now and kept.
  Result<sqlite3_stmt*> statement(const std::string& sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) return it->second.get();
    if (statements_.size() >= kMaxCachedStatements) statements_.clear();
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, nullptr) !=
        SQLITE_OK) {
      sqlite3_finalize(raw);
      return error();
    }
    return statements_.emplace(sql, Statement(raw)).first->second.get();
  }

  sqlite3* db_;
  std::unordered_map<std::string, Statement> statements_;
};

}  // namespace

Result<std::unique_ptr<Driver>> open_sqlite_driver(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    const std::string why = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Error::io(fmt::format("catalog {}: {}", path, why));
  }
  auto driver = std::make_unique<SqliteDriver>(db);
  sqlite3_busy_timeout(db, 10000);
  IG_TRY(driver->exec("PRAGMA journal_mode=WAL"));
  IG_TRY(driver->exec("PRAGMA synchronous=FULL"));
  IG_TRY(driver->exec("PRAGMA foreign_keys=ON"));
  return std::unique_ptr<Driver>(std::move(driver));
}

}  // namespace ig::catalog
