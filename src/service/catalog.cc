#include "service/catalog.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

namespace ig::service {
namespace {

constexpr int kSchemaVersion = 1;

// Each migration takes the schema from version i to i + 1, in one transaction.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE images (
  image_id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  os_name TEXT NOT NULL,
  os_version TEXT NOT NULL,
  architecture TEXT NOT NULL,
  platform TEXT NOT NULL,
  state TEXT NOT NULL,
  error_code TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  size_gib INTEGER NOT NULL DEFAULT 0,
  license_type TEXT NOT NULL,
  boot_mode TEXT NOT NULL,
  image_family TEXT NOT NULL DEFAULT '',
  created_time TEXT NOT NULL,
  supports_cloudinit INTEGER NOT NULL DEFAULT 0,
  tags TEXT NOT NULL DEFAULT '[]',
  image_url TEXT NOT NULL,
  force INTEGER NOT NULL DEFAULT 0,
  data_disk_urls TEXT NOT NULL DEFAULT '[]',
  UNIQUE (account, name)
);
CREATE INDEX images_account ON images (account, created_time);
CREATE TABLE import_tasks (
  task_id INTEGER PRIMARY KEY AUTOINCREMENT,
  image_id TEXT NOT NULL REFERENCES images (image_id) ON DELETE CASCADE,
  account TEXT NOT NULL,
  state TEXT NOT NULL,             -- QUEUED | RUNNING | DONE | FAILED
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_until INTEGER NOT NULL DEFAULT 0,
  progress INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
);
CREATE INDEX import_tasks_state ON import_tasks (state, lease_until);
)sql",
};

struct Finalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, Finalizer>;

std::string now_iso() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string text_column(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_text(s, i);
  return p == nullptr ? "" : std::string(reinterpret_cast<const char*>(p));
}

std::string tags_json(const std::vector<Tag>& tags) {
  nlohmann::json j = nlohmann::json::array();
  for (const Tag& t : tags) j.push_back({{"Key", t.key}, {"Value", t.value}});
  return j.dump();
}

std::vector<Tag> tags_from(const std::string& text) {
  std::vector<Tag> out;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& t : j) out.push_back(Tag{t.value("Key", ""), t.value("Value", "")});
  return out;
}

bool matches(const Image& img, const Filter& f) {
  auto any = [&](auto&& pred) { return std::any_of(f.values.begin(), f.values.end(), pred); };
  if (f.name == "image-id") return any([&](const std::string& v) { return v == img.image_id; });
  if (f.name == "image-name") return any([&](const std::string& v) { return v == img.name; });
  if (f.name == "image-type") return any([](const std::string& v) { return v == "PRIVATE_IMAGE"; });
  if (f.name == "platform") return any([&](const std::string& v) { return v == img.platform || v == img.os_name; });
  if (f.name == "tag-key") {
    return any([&](const std::string& v) {
      return std::any_of(img.tags.begin(), img.tags.end(), [&](const Tag& t) { return t.key == v; });
    });
  }
  if (f.name == "tag-value") {
    return any([&](const std::string& v) {
      return std::any_of(img.tags.begin(), img.tags.end(), [&](const Tag& t) { return t.value == v; });
    });
  }
  if (f.name.rfind("tag:", 0) == 0) {
    const std::string key = f.name.substr(4);
    return any([&](const std::string& v) {
      return std::any_of(img.tags.begin(), img.tags.end(), [&](const Tag& t) { return t.key == key && t.value == v; });
    });
  }
  return false;
}

constexpr const char* kColumns =
    "image_id, account, name, description, os_name, os_version, architecture, platform, state, error_code, "
    "error_message, size_gib, license_type, boot_mode, image_family, created_time, supports_cloudinit, tags, "
    "image_url, force, data_disk_urls";

Image read_image(sqlite3_stmt* s) {
  Image i;
  i.image_id = text_column(s, 0);
  i.account = text_column(s, 1);
  i.name = text_column(s, 2);
  i.description = text_column(s, 3);
  i.os_name = text_column(s, 4);
  i.os_version = text_column(s, 5);
  i.architecture = text_column(s, 6);
  i.platform = text_column(s, 7);
  i.state = text_column(s, 8);
  i.error_code = text_column(s, 9);
  i.error_message = text_column(s, 10);
  i.size_gib = sqlite3_column_int64(s, 11);
  i.license_type = text_column(s, 12);
  i.boot_mode = text_column(s, 13);
  i.image_family = text_column(s, 14);
  i.created_time = text_column(s, 15);
  i.supports_cloudinit = sqlite3_column_int(s, 16) != 0;
  i.tags = tags_from(text_column(s, 17));
  i.image_url = text_column(s, 18);
  i.force = sqlite3_column_int(s, 19) != 0;
  const auto disks = nlohmann::json::parse(text_column(s, 20), nullptr, false);
  if (disks.is_array()) {
    for (const auto& d : disks) {
      if (d.is_string()) i.data_disk_urls.push_back(d);
    }
  }
  return i;
}

}  // namespace

std::string new_image_id() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = "img-";
  for (int i = 0; i < 8; ++i) id += kAlphabet[rng() % 36];
  return id;
}

Result<std::unique_ptr<Catalog>> Catalog::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    const std::string why = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Error::io(fmt::format("catalog {}: {}", path, why));
  }
  std::unique_ptr<Catalog> c(new Catalog(db));
  sqlite3_busy_timeout(db, 5000);
  IG_TRY(c->exec("PRAGMA journal_mode=WAL"));
  IG_TRY(c->exec("PRAGMA synchronous=FULL"));
  IG_TRY(c->exec("PRAGMA foreign_keys=ON"));
  IG_TRY(c->migrate());
  return c;
}

Catalog::~Catalog() {
  sqlite3_close(db_);
}

Result<void> Catalog::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err != nullptr ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Error::io(fmt::format("catalog: {}", why));
  }
  return ok();
}

int Catalog::schema_version() const {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &raw, nullptr);
  Stmt s(raw);
  return sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int(s.get(), 0) : -1;
}

Result<void> Catalog::migrate() {
  const int have = schema_version();
  if (have > kSchemaVersion) {
    return Error::unsupported(
        fmt::format("catalog schema version {} is newer than this imagegate's {}", have, kSchemaVersion));
  }
  for (int v = have; v < kSchemaVersion; ++v) {
    IG_TRY(exec("BEGIN IMMEDIATE"));
    auto step = exec(kMigrations[v]);
    if (step) step = exec(fmt::format("PRAGMA user_version = {}", v + 1).c_str());
    if (!step) {
      (void)exec("ROLLBACK");
      return step.error();
    }
    IG_TRY(exec("COMMIT"));
  }
  return ok();
}

Result<bool> Catalog::name_taken(const std::string& account, const std::string& name) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_, "SELECT 1 FROM images WHERE account = ?1 AND name = ?2", -1, &raw, nullptr);
  Stmt s(raw);
  sqlite3_bind_text(s.get(), 1, account.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 2, name.c_str(), -1, SQLITE_TRANSIENT);
  return sqlite3_step(s.get()) == SQLITE_ROW;
}

Result<std::int64_t> Catalog::count_images(const std::string& account) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM images WHERE account = ?1", -1, &raw, nullptr);
  Stmt s(raw);
  sqlite3_bind_text(s.get(), 1, account.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return Error::io(fmt::format("catalog: {}", sqlite3_errmsg(db_)));
  return sqlite3_column_int64(s.get(), 0);
}

Result<void> Catalog::create_import(const Image& img) {
  std::lock_guard lock(mu_);
  IG_TRY(exec("BEGIN IMMEDIATE"));
  auto rollback = [&](Error e) -> Result<void> {
    (void)exec("ROLLBACK");
    return e;
  };
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_,
                     fmt::format("INSERT INTO images ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'IMPORTING', '', '', "
                                 "0, ?9, ?10, ?11, ?12, 0, ?13, ?14, ?15, ?16)",
                                 kColumns)
                         .c_str(),
                     -1, &raw, nullptr);
  Stmt s(raw);
  int i = 0;
  for (const std::string* v :
       {&img.image_id, &img.account, &img.name, &img.description, &img.os_name, &img.os_version, &img.architecture,
        &img.platform, &img.license_type, &img.boot_mode, &img.image_family}) {
    sqlite3_bind_text(s.get(), ++i, v->c_str(), -1, SQLITE_TRANSIENT);
  }
  const std::string created = img.created_time.empty() ? now_iso() : img.created_time;
  const std::string tags = tags_json(img.tags);
  const std::string disks = nlohmann::json(img.data_disk_urls).dump();
  sqlite3_bind_text(s.get(), 12, created.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 13, tags.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 14, img.image_url.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(s.get(), 15, img.force ? 1 : 0);
  sqlite3_bind_text(s.get(), 16, disks.c_str(), -1, SQLITE_TRANSIENT);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_CONSTRAINT) return rollback(Error::invalid_argument("duplicate image name"));
  if (rc != SQLITE_DONE) return rollback(Error::io(fmt::format("catalog: {}", sqlite3_errmsg(db_))));
  sqlite3_stmt* raw_task = nullptr;
  sqlite3_prepare_v2(db_,
                     "INSERT INTO import_tasks (image_id, account, state, created, updated) VALUES (?1, ?2, 'QUEUED', "
                     "?3, ?3)",
                     -1, &raw_task, nullptr);
  Stmt t(raw_task);
  sqlite3_bind_text(t.get(), 1, img.image_id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(t.get(), 2, img.account.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(t.get(), 3, now_unix());
  if (sqlite3_step(t.get()) != SQLITE_DONE) return rollback(Error::io(fmt::format("catalog: {}", sqlite3_errmsg(db_))));
  IG_TRY(exec("COMMIT"));
  return ok();
}

Result<ImagePage> Catalog::describe(const std::string& account, const std::vector<std::string>& ids,
                                    const std::vector<Filter>& filters, std::int64_t offset, std::int64_t limit) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(
      db_,
      fmt::format("SELECT {} FROM images WHERE account = ?1 ORDER BY created_time DESC, image_id", kColumns).c_str(),
      -1, &raw, nullptr);
  Stmt s(raw);
  sqlite3_bind_text(s.get(), 1, account.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<Image> all;
  int rc = 0;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    Image img = read_image(s.get());
    if (!ids.empty() && std::find(ids.begin(), ids.end(), img.image_id) == ids.end()) continue;
    bool keep = true;
    for (const Filter& f : filters) keep = keep && matches(img, f);
    if (keep) all.push_back(std::move(img));
  }
  if (rc != SQLITE_DONE) return Error::io(fmt::format("catalog: {}", sqlite3_errmsg(db_)));
  ImagePage page;
  page.total = static_cast<std::int64_t>(all.size());
  for (std::int64_t i = offset; i < page.total && i < offset + limit; ++i) {
    page.images.push_back(std::move(all[static_cast<std::size_t>(i)]));
  }
  return page;
}

Result<std::optional<Image>> Catalog::get(const std::string& account, const std::string& image_id) {
  auto page = IG_TRY(describe(account, {image_id}, {}, 0, 1));
  if (page.images.empty()) return std::optional<Image>{};
  return std::optional<Image>(std::move(page.images.front()));
}

Result<void> Catalog::remove(const std::string& account, const std::string& image_id) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_, "DELETE FROM images WHERE account = ?1 AND image_id = ?2", -1, &raw, nullptr);
  Stmt s(raw);
  sqlite3_bind_text(s.get(), 1, account.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 2, image_id.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Error::io(fmt::format("catalog: {}", sqlite3_errmsg(db_)));
  if (sqlite3_changes(db_) == 0) return Error::not_found(image_id);
  return ok();
}

Result<void> Catalog::modify(const std::string& account, const std::string& image_id,
                             const std::optional<std::string>& name, const std::optional<std::string>& description) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_,
                     "UPDATE images SET name = COALESCE(?3, name), description = COALESCE(?4, description) "
                     "WHERE account = ?1 AND image_id = ?2",
                     -1, &raw, nullptr);
  Stmt s(raw);
  sqlite3_bind_text(s.get(), 1, account.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 2, image_id.c_str(), -1, SQLITE_TRANSIENT);
  if (name) {
    sqlite3_bind_text(s.get(), 3, name->c_str(), -1, SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_null(s.get(), 3);
  }
  if (description) {
    sqlite3_bind_text(s.get(), 4, description->c_str(), -1, SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_null(s.get(), 4);
  }
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_CONSTRAINT) return Error::invalid_argument("duplicate image name");
  if (rc != SQLITE_DONE) return Error::io(fmt::format("catalog: {}", sqlite3_errmsg(db_)));
  if (sqlite3_changes(db_) == 0) return Error::not_found(image_id);
  return ok();
}

Result<std::optional<Task>> Catalog::claim_task(std::int64_t now, std::int64_t lease_seconds) {
  std::lock_guard lock(mu_);
  IG_TRY(exec("BEGIN IMMEDIATE"));
  auto rollback = [&](Error e) -> Result<std::optional<Task>> {
    (void)exec("ROLLBACK");
    return e;
  };
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_,
                     "SELECT task_id, image_id, account, attempts FROM import_tasks WHERE state = 'QUEUED' OR "
                     "(state = 'RUNNING' AND lease_until < ?1) ORDER BY task_id LIMIT 1",
                     -1, &raw, nullptr);
  Stmt s(raw);
  sqlite3_bind_int64(s.get(), 1, now);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) {
    IG_TRY(exec("COMMIT"));
    return std::optional<Task>{};
  }
  if (rc != SQLITE_ROW) return rollback(Error::io(fmt::format("catalog: {}", sqlite3_errmsg(db_))));
  Task t;
  t.task_id = sqlite3_column_int64(s.get(), 0);
  const std::string image_id = text_column(s.get(), 1);
  const std::string account = text_column(s.get(), 2);
  t.attempt = sqlite3_column_int64(s.get(), 3) + 1;
  sqlite3_stmt* raw_update = nullptr;
  sqlite3_prepare_v2(db_,
                     "UPDATE import_tasks SET state = 'RUNNING', attempts = ?2, lease_until = ?3, updated = ?4 "
                     "WHERE task_id = ?1",
                     -1, &raw_update, nullptr);
  Stmt u(raw_update);
  sqlite3_bind_int64(u.get(), 1, t.task_id);
  sqlite3_bind_int64(u.get(), 2, t.attempt);
  sqlite3_bind_int64(u.get(), 3, now + lease_seconds);
  sqlite3_bind_int64(u.get(), 4, now);
  if (sqlite3_step(u.get()) != SQLITE_DONE) return rollback(Error::io(fmt::format("catalog: {}", sqlite3_errmsg(db_))));
  sqlite3_stmt* raw_img = nullptr;
  sqlite3_prepare_v2(db_, fmt::format("SELECT {} FROM images WHERE image_id = ?1", kColumns).c_str(), -1, &raw_img,
                     nullptr);
  Stmt i(raw_img);
  sqlite3_bind_text(i.get(), 1, image_id.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(i.get()) != SQLITE_ROW)
    return rollback(Error::io(fmt::format("catalog: task {} has no image", t.task_id)));
  t.image = read_image(i.get());
  IG_TRY(exec("COMMIT"));
  (void)account;
  return std::optional<Task>(std::move(t));
}

Result<void> Catalog::finish_task(const Task& task, const Outcome& outcome) {
  std::lock_guard lock(mu_);
  IG_TRY(exec("BEGIN IMMEDIATE"));
  auto rollback = [&](Error e) -> Result<void> {
    (void)exec("ROLLBACK");
    return e;
  };
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_,
                     "UPDATE import_tasks SET state = ?3, progress = 100, updated = ?4 "
                     "WHERE task_id = ?1 AND attempts = ?2 AND state = 'RUNNING'",
                     -1, &raw, nullptr);
  Stmt s(raw);
  sqlite3_bind_int64(s.get(), 1, task.task_id);
  sqlite3_bind_int64(s.get(), 2, task.attempt);
  sqlite3_bind_text(s.get(), 3, outcome.ok ? "DONE" : "FAILED", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s.get(), 4, now_unix());
  if (sqlite3_step(s.get()) != SQLITE_DONE) return rollback(Error::io(fmt::format("catalog: {}", sqlite3_errmsg(db_))));
  if (sqlite3_changes(db_) == 0) {
    return rollback(
        Error::invalid_argument(fmt::format("task {} attempt {} is no longer held", task.task_id, task.attempt)));
  }
  sqlite3_stmt* raw_img = nullptr;
  sqlite3_prepare_v2(db_,
                     "UPDATE images SET state = ?2, error_code = ?3, error_message = ?4, size_gib = ?5, "
                     "supports_cloudinit = ?6 WHERE image_id = ?1",
                     -1, &raw_img, nullptr);
  Stmt i(raw_img);
  sqlite3_bind_text(i.get(), 1, task.image.image_id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(i.get(), 2, outcome.ok ? "NORMAL" : "IMPORTFAILED", -1, SQLITE_STATIC);
  sqlite3_bind_text(i.get(), 3, outcome.error_code.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(i.get(), 4, outcome.error_message.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(i.get(), 5, outcome.size_gib);
  sqlite3_bind_int(i.get(), 6, outcome.supports_cloudinit ? 1 : 0);
  if (sqlite3_step(i.get()) != SQLITE_DONE) return rollback(Error::io(fmt::format("catalog: {}", sqlite3_errmsg(db_))));
  IG_TRY(exec("COMMIT"));
  return ok();
}

}  // namespace ig::service
