// PostgreSQL for the tests: the server named by IG_TEST_POSTGRES_URL, or one this test process
// starts (tests/support/start-postgres.sh, in a temporary directory on a free loopback port) and
// stops at exit. Each test takes a fresh database of its own, so tests may run in parallel.
#pragma once

#include <optional>
#include <string>

namespace ig::test {

// The URL of a server ("postgresql://user@host:port", without a database), or nothing with the
// reason in `why` (no IG_TEST_POSTGRES_URL and no PostgreSQL binaries, or the start failed).
std::optional<std::string> postgres_server(std::string* why);
// A server this process started itself, which a test may restart; nothing (with `why`) when the
// binaries are missing.
std::optional<std::string> own_postgres_server(std::string* why);
// Restarts the server own_postgres_server() started (pg_ctl restart -m fast).
void restart_own_postgres_server();
// Stops it (pg_ctl stop -m fast), and starts it again on the same port.
void stop_own_postgres_server();
void start_own_postgres_server();

// A new empty database on `server`, named by pid, a counter and `label`; dropped by its destructor.
class PostgresDatabase {
 public:
  PostgresDatabase(const std::string& server, const std::string& label);
  ~PostgresDatabase();
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;
  const std::string& url() const { return url_; }
  // Runs `sql` with psql: rows one a line, columns separated by '|' (as the sqlite3 tool prints).
  std::string sql(const std::string& sql) const;

 private:
  std::string server_;
  std::string name_;
  std::string url_;
};

}  // namespace ig::test
