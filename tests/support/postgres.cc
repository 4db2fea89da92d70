#include "support/postgres.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "support/test_support.h"

namespace ig::test {
namespace {

// Where PostgreSQL 15's initdb and pg_ctl are; IG_PG_BIN overrides it, as for the scripts.
std::string bin() {
  const char* env = std::getenv("IG_PG_BIN");
  return env != nullptr && env[0] != '\0' ? env : "/usr/lib/postgresql/15/bin";
}

std::string script(const char* name) {
  return (std::filesystem::path(IG_SOURCE_DIR) / "tests/support" / name).string();
}

// The server this process started: stopped when the process exits.
struct OwnServer {
  std::string dir;
  std::string port;
  std::string url;
  std::string why;
  ~OwnServer() {
    if (!dir.empty()) run(script("stop-postgres.sh") + " " + dir);
  }
};

OwnServer& own() {
  static OwnServer server;
  static std::once_flag once;
  std::call_once(once, [] {
    if (!std::filesystem::exists(bin() + "/initdb")) {
      server.why = bin() + "/initdb is missing: PostgreSQL 15 is not installed (scripts/install-deps.sh)";
      return;
    }
    server.port = run_ok(
        "/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); "
        "print(s.getsockname()[1])'");
    server.dir = "/tmp/imagegate-test-pg-" + std::to_string(getpid());
    server.port.erase(server.port.find_last_not_of('\n') + 1);
    const CommandResult started = run(script("start-postgres.sh") + " " + server.dir + " " + server.port);
    if (started.exit_code != 0) {
      server.why = "start-postgres.sh failed: " + started.out;
      return;
    }
    std::string url = started.out.substr(0, started.out.find('\n'));
    server.url = url.substr(0, url.rfind('/'));
  });
  return server;
}

}  // namespace

std::optional<std::string> own_postgres_server(std::string* why) {
  OwnServer& s = own();
  if (s.url.empty()) {
    *why = s.why;
    return std::nullopt;
  }
  return s.url;
}

std::optional<std::string> postgres_server(std::string* why) {
  if (const char* env = std::getenv("IG_TEST_POSTGRES_URL"); env != nullptr && env[0] != '\0') {
    std::string url = env;
    // Accept a URL with or without a database: the tests make their own.
    const auto authority = url.find("://");
    const auto slash = url.find('/', authority == std::string::npos ? 0 : authority + 3);
    if (slash != std::string::npos) url.resize(slash);
    return url;
  }
  return own_postgres_server(why);
}

void restart_own_postgres_server() {
  const std::string as = geteuid() == 0 ? "runuser -u nobody -- " : "";
  run_ok(as + bin() + "/pg_ctl -D " + own().dir + "/data -m fast -w restart > /dev/null");
}

void stop_own_postgres_server() {
  const std::string as = geteuid() == 0 ? "runuser -u nobody -- " : "";
  run_ok(as + bin() + "/pg_ctl -D " + own().dir + "/data -m fast -w stop > /dev/null");
}

void start_own_postgres_server() {
  run_ok(script("start-postgres.sh") + " " + own().dir + " " + own().port);
}

PostgresDatabase::PostgresDatabase(const std::string& server, const std::string& label) : server_(server) {
  static std::atomic<int> counter{0};
  name_ = "ig_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_";
  for (char c : label) {
    if (name_.size() >= 60) break;
    name_ += std::isalnum(static_cast<unsigned char>(c)) != 0 ? static_cast<char>(std::tolower(c)) : '_';
  }
  run_ok("psql " + shell_quote(server_ + "/postgres") + " -qc " + shell_quote("CREATE DATABASE " + name_));
  url_ = server_ + "/" + name_;
}

PostgresDatabase::~PostgresDatabase() {
  run("psql " + shell_quote(server_ + "/postgres") + " -qc " +
      shell_quote("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"));
}

std::string PostgresDatabase::sql(const std::string& sql) const {
  return run_ok("psql " + shell_quote(url_) + " -qAt -F '|' -c " + shell_quote(sql));
}

}  // namespace ig::test
