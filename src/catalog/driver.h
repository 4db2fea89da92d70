// The database driver port under the SQL catalog (sql_catalog.cc): one connection, statements
// with positional parameters written `?1, ?2, ...` (a driver rewrites them to its own style),
// rows as text cells (NULL kept apart), explicit transactions, and the few dialect hooks the
// shared SQL needs. Adapters: SQLite (sqlite_driver.cc), PostgreSQL over libpq
// (postgres_driver.cc).
// Ownership: a Driver owns its connection. Thread safety: none; the catalog serialises calls.
// Errors: kAlreadyExists for a unique-constraint violation; kUnavailable when the connection is
// broken or the server cannot be reached (reconnect() then tries again); kIo for any other
// failure, naming the database's message.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/error.h"

namespace ig::catalog {

using Param = std::variant<std::nullptr_t, std::int64_t, std::string>;

// Both drivers prepare each statement once per connection and keep it, by its SQL text: the
// catalog runs the same few dozen statements all day, and parsing and planning them cost more than
// running them on a small catalog (docs/performance.md, "DescribeImages"). A statement that lists
// ids has one text per list length: past this many the cache is emptied and filled again.
constexpr std::size_t kMaxCachedStatements = 128;

struct Row {
  std::vector<std::optional<std::string>> cells;
  std::string text(std::size_t i) const { return cells.at(i).value_or(""); }
  // The cell's text moved out ("" for NULL); the cell is left empty.
  std::string take(std::size_t i) {
    std::optional<std::string>& cell = cells.at(i);
    return cell ? std::move(*cell) : std::string();
  }
  std::int64_t int64(std::size_t i) const;  // 0 for NULL
};

struct Rows {
  std::vector<Row> rows;
  std::int64_t changed = 0;  // rows inserted, updated or deleted by the statement
};

class Driver {
 public:
  virtual ~Driver() = default;

  virtual std::string backend() const = 0;
  // Runs a script of statements without parameters (migrations, pragmas).
  virtual Result<void> exec(const std::string& script) = 0;
  virtual Result<Rows> query(const std::string& sql, const std::vector<Param>& params) = 0;
  // `write`: the transaction will write (SQLite takes its write lock at once, so two writers
  // never deadlock upgrading their locks).
  virtual Result<void> begin(bool write) = 0;
  virtual Result<void> commit() = 0;
  virtual void rollback() = 0;
  // Drops a broken connection and opens a new one.
  virtual Result<void> reconnect() = 0;

  // Dialect.
  // Appended to the SELECT that picks a task or delivery to lease, inside the transaction that
  // leases it: "" for SQLite (its write lock already excludes other claimers), " FOR UPDATE SKIP
  // LOCKED" for PostgreSQL.
  virtual const char* claim_lock() const = 0;
  // The migration script as this database writes it (types of the ids and integers).
  virtual std::string ddl(const std::string& sqlite_script) const = 0;
  // Inside the migration transaction: serialises migrating processes, then reads the version.
  virtual Result<int> lock_and_read_schema_version() = 0;
  virtual Result<int> read_schema_version() = 0;
  virtual Result<void> write_schema_version(int version) = 0;
};

// The adapters. A SQLite file (created when missing; WAL, foreign keys on).
Result<std::unique_ptr<Driver>> open_sqlite_driver(const std::string& path);
// A PostgreSQL database named by a libpq URL ("postgresql://user@host:port/db").
Result<std::unique_ptr<Driver>> open_postgres_driver(const std::string& url);

}  // namespace ig::catalog
