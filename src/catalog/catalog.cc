#include "catalog/catalog.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

namespace ig::catalog {
namespace {

constexpr int kSchemaVersion = 2;

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
    // 2: the message center, subscriptions and the outbox; each image's message language, its
    // imported data disks and the region the import was asked in.
    R"sql(
ALTER TABLE images ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE images ADD COLUMN data_disks TEXT NOT NULL DEFAULT '[]';
ALTER TABLE images ADD COLUMN region TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN source_sha256 TEXT NOT NULL DEFAULT '';
CREATE TABLE messages (
  message_id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  image_id TEXT NOT NULL,
  kind TEXT NOT NULL,              -- IMPORT_SUCCEEDED | IMPORT_FAILED
  language TEXT NOT NULL,
  title TEXT NOT NULL,
  content TEXT NOT NULL,
  error_code TEXT NOT NULL DEFAULT '',
  created_time TEXT NOT NULL,
  seq INTEGER NOT NULL,
  read INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_account ON messages (account, seq);
CREATE TABLE subscriptions (
  subscription_id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  channel TEXT NOT NULL,           -- EMAIL | WEBHOOK
  endpoint TEXT NOT NULL,
  secret TEXT NOT NULL DEFAULT '',
  created_time TEXT NOT NULL,
  UNIQUE (account, channel, endpoint)
);
CREATE TABLE outbox (
  delivery_id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id TEXT NOT NULL REFERENCES messages (message_id) ON DELETE CASCADE,
  subscription_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  secret TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,             -- PENDING | SENT | FAILED
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  sent_time TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (state, next_attempt);
CREATE INDEX import_tasks_image ON import_tasks (image_id);
)sql",
};

struct Finalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// A prepared statement whose parameters are bound in order: Query(db, sql).bind(a, b, c).
class Query {
 public:
  Query(sqlite3* db, const std::string& sql) : db_(db) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) prepare_error_ = sqlite3_errmsg(db);
    s_.reset(raw);
  }
  template <class... Args>
  Query& bind(const Args&... args) {
    (bind_one(++bound_, args), ...);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, SQLITE_CONSTRAINT, or another failure.
  int step() { return s_ ? sqlite3_step(s_.get()) : SQLITE_ERROR; }
  // Runs a statement that returns no rows.
  Result<void> run() {
    if (step() != SQLITE_DONE) return error();
    return ok();
  }
  Error error() const {
    return Error::io(fmt::format("catalog: {}", prepare_error_.empty() ? sqlite3_errmsg(db_) : prepare_error_));
  }
  std::string text(int i) const {
    const auto* p = sqlite3_column_text(s_.get(), i);
    return p == nullptr ? "" : std::string(reinterpret_cast<const char*>(p));
  }
  std::int64_t int64(int i) const { return sqlite3_column_int64(s_.get(), i); }

 private:
  void bind_one(int i, const std::string& v) {
    sqlite3_bind_text(s_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind_one(int i, const char* v) { sqlite3_bind_text(s_.get(), i, v, -1, SQLITE_TRANSIENT); }
  void bind_one(int i, std::int64_t v) { sqlite3_bind_int64(s_.get(), i, v); }
  void bind_one(int i, int v) { sqlite3_bind_int64(s_.get(), i, v); }
  void bind_one(int i, bool v) { sqlite3_bind_int64(s_.get(), i, v ? 1 : 0); }
  void bind_one(int i, const std::optional<std::string>& v) {
    if (v) {
      bind_one(i, *v);
    } else {
      sqlite3_bind_null(s_.get(), i);
    }
  }
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalizer> s_;
  std::string prepare_error_;
  int bound_ = 0;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {
    began_ = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~Transaction() {
    if (began_ && !committed_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Result<void> began() const {
    if (!began_) return Error::io(fmt::format("catalog: cannot begin a transaction: {}", sqlite3_errmsg(db_)));
    return ok();
  }
  Result<void> commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Error::io(fmt::format("catalog: commit: {}", sqlite3_errmsg(db_)));
    }
    committed_ = true;
    return ok();
  }

 private:
  sqlite3* db_;
  bool began_ = false;
  bool committed_ = false;
};

std::string iso_time(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string now_iso() {
  return iso_time(now_unix());
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
  for (const auto& t : j) {
    if (t.is_object()) out.push_back(Tag{t.value("Key", ""), t.value("Value", "")});
  }
  return out;
}

std::string disks_json(const std::vector<DataDisk>& disks) {
  nlohmann::json j = nlohmann::json::array();
  for (const DataDisk& d : disks) j.push_back({{"Index", d.index}, {"SizeGiB", d.size_gib}});
  return j.dump();
}

std::vector<DataDisk> disks_from(const std::string& text) {
  std::vector<DataDisk> out;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& d : j) {
    if (d.is_object()) out.push_back(DataDisk{d.value("Index", std::int64_t{0}), d.value("SizeGiB", std::int64_t{0})});
  }
  return out;
}

bool matches(const Image& img, const Filter& f) {
  auto any = [&](auto&& pred) { return std::any_of(f.values.begin(), f.values.end(), pred); };
  auto has_tag = [&](auto&& pred) { return std::any_of(img.tags.begin(), img.tags.end(), pred); };
  if (f.name == "image-id") return any([&](const std::string& v) { return v == img.image_id; });
  if (f.name == "image-name") return any([&](const std::string& v) { return v == img.name; });
  if (f.name == "image-type") return any([](const std::string& v) { return v == "PRIVATE_IMAGE"; });
  if (f.name == "platform") return any([&](const std::string& v) { return v == img.platform || v == img.os_name; });
  if (f.name == "tag-key") {
    return any([&](const std::string& v) { return has_tag([&](const Tag& t) { return t.key == v; }); });
  }
  if (f.name == "tag-value") {
    return any([&](const std::string& v) { return has_tag([&](const Tag& t) { return t.value == v; }); });
  }
  if (f.name.rfind("tag:", 0) == 0) {
    const std::string key = f.name.substr(4);
    return any(
        [&](const std::string& v) { return has_tag([&](const Tag& t) { return t.key == key && t.value == v; }); });
  }
  return false;
}

constexpr const char* kColumns =
    "images.image_id, images.account, name, description, os_name, os_version, architecture, platform, images.state, "
    "error_code, error_message, size_gib, license_type, boot_mode, image_family, created_time, supports_cloudinit, "
    "tags, image_url, force, data_disk_urls, language, data_disks, region, source_sha256, "
    "(SELECT MAX(progress) FROM import_tasks t WHERE t.image_id = images.image_id)";

Image read_image(const Query& q) {
  Image i;
  i.image_id = q.text(0);
  i.account = q.text(1);
  i.name = q.text(2);
  i.description = q.text(3);
  i.os_name = q.text(4);
  i.os_version = q.text(5);
  i.architecture = q.text(6);
  i.platform = q.text(7);
  i.state = q.text(8);
  i.error_code = q.text(9);
  i.error_message = q.text(10);
  i.size_gib = q.int64(11);
  i.license_type = q.text(12);
  i.boot_mode = q.text(13);
  i.image_family = q.text(14);
  i.created_time = q.text(15);
  i.supports_cloudinit = q.int64(16) != 0;
  i.tags = tags_from(q.text(17));
  i.image_url = q.text(18);
  i.force = q.int64(19) != 0;
  const auto urls = nlohmann::json::parse(q.text(20), nullptr, false);
  if (urls.is_array()) {
    for (const auto& d : urls) {
      if (d.is_string()) i.data_disk_urls.push_back(d);
    }
  }
  i.language = q.text(21);
  i.data_disks = disks_from(q.text(22));
  i.region = q.text(23);
  i.source_sha256 = q.text(24);
  i.progress = q.int64(25);
  return i;
}

constexpr const char* kMessageColumns =
    "message_id, account, image_id, kind, language, title, content, error_code, created_time, read";

InboxMessage read_message(const Query& q) {
  InboxMessage m;
  m.message_id = q.text(0);
  m.account = q.text(1);
  m.image_id = q.text(2);
  m.kind = q.text(3);
  m.language = q.text(4);
  m.title = q.text(5);
  m.content = q.text(6);
  m.error_code = q.text(7);
  m.created_time = q.text(8);
  m.read = q.int64(9) != 0;
  return m;
}

constexpr const char* kDeliveryColumns =
    "delivery_id, subscription_id, channel, endpoint, secret, state, attempts, next_attempt, last_error, sent_time";

Delivery read_delivery(const Query& q) {
  Delivery d;
  d.delivery_id = q.int64(0);
  d.subscription_id = q.text(1);
  d.channel = q.text(2);
  d.endpoint = q.text(3);
  d.secret = q.text(4);
  d.state = q.text(5);
  d.attempts = q.int64(6);
  d.next_attempt = q.int64(7);
  d.last_error = q.text(8);
  d.sent_time = q.text(9);
  return d;
}

// "(?N, ?N+1, ...)" for a list of `count` parameters starting at `first`.
std::string placeholders(std::size_t first, std::size_t count) {
  std::string out = "(";
  for (std::size_t i = 0; i < count; ++i) out += fmt::format("{}?{}", i == 0 ? "" : ", ", first + i);
  return out + ")";
}

}  // namespace

std::string new_id(const char* prefix) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = prefix;
  for (int i = 0; i < 8; ++i) id += kAlphabet[rng() % 36];
  return id;
}

std::string new_image_id() {
  return new_id("img-");
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
  sqlite3_busy_timeout(db, 10000);
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
  Query q(db_, "PRAGMA user_version");
  return q.step() == SQLITE_ROW ? static_cast<int>(q.int64(0)) : -1;
}

Result<void> Catalog::migrate() {
  for (;;) {
    Transaction tx(db_);
    IG_TRY(tx.began());
    // Read inside the transaction: another process (a worker) may be migrating the same file.
    const int have = schema_version();
    if (have > kSchemaVersion) {
      return Error::unsupported(
          fmt::format("catalog schema version {} is newer than this imagegate's {}", have, kSchemaVersion));
    }
    if (have == kSchemaVersion) return tx.commit();
    IG_TRY(exec(kMigrations[have]));
    IG_TRY(exec(fmt::format("PRAGMA user_version = {}", have + 1).c_str()));
    IG_TRY(tx.commit());
  }
}

Result<bool> Catalog::name_taken(const std::string& account, const std::string& name) {
  std::lock_guard lock(mu_);
  Query q(db_, "SELECT 1 FROM images WHERE account = ?1 AND name = ?2");
  const int rc = q.bind(account, name).step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return q.error();
  return rc == SQLITE_ROW;
}

Result<std::int64_t> Catalog::count_images(const std::string& account) {
  std::lock_guard lock(mu_);
  Query q(db_, "SELECT COUNT(*) FROM images WHERE account = ?1");
  if (q.bind(account).step() != SQLITE_ROW) return q.error();
  return q.int64(0);
}

Result<void> Catalog::create_import(const Image& img) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  IG_TRY(tx.began());
  Query insert(db_,
               "INSERT INTO images (image_id, account, name, description, os_name, os_version, "
               "architecture, platform, state, license_type, boot_mode, image_family, created_time, "
               "tags, image_url, force, data_disk_urls, language, region) VALUES (?1, ?2, ?3, ?4, ?5, "
               "?6, ?7, ?8, 'IMPORTING', ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)");
  insert.bind(img.image_id, img.account, img.name, img.description, img.os_name, img.os_version, img.architecture,
              img.platform, img.license_type, img.boot_mode, img.image_family,
              img.created_time.empty() ? now_iso() : img.created_time, tags_json(img.tags), img.image_url, img.force,
              nlohmann::json(img.data_disk_urls).dump(), img.language, img.region);
  const int rc = insert.step();
  if (rc == SQLITE_CONSTRAINT) return Error::invalid_argument("duplicate image name");
  if (rc != SQLITE_DONE) return insert.error();
  const std::int64_t now = now_unix();
  IG_TRY(
      Query(db_,
            "INSERT INTO import_tasks (image_id, account, state, created, updated) VALUES (?1, ?2, 'QUEUED', ?3, ?3)")
          .bind(img.image_id, img.account, now)
          .run());
  return tx.commit();
}

Result<ImagePage> Catalog::describe(const std::string& account, const std::vector<std::string>& ids,
                                    const std::vector<Filter>& filters, std::int64_t offset, std::int64_t limit) {
  std::lock_guard lock(mu_);
  ImagePage page;
  std::string where = "account = ?1";
  if (!ids.empty()) where += " AND image_id IN " + placeholders(2, ids.size());
  auto bound = [&](Query& q) -> Query& {
    q.bind(account);
    for (const std::string& id : ids) q.bind(id);
    return q;
  };
  const std::string order = "ORDER BY created_time DESC, image_id";
  if (filters.empty()) {
    // The page straight from SQLite.
    Query count(db_, fmt::format("SELECT COUNT(*) FROM images WHERE {}", where));
    if (bound(count).step() != SQLITE_ROW) return count.error();
    page.total = count.int64(0);
    Query q(db_,
            fmt::format("SELECT {} FROM images WHERE {} {} LIMIT {} OFFSET {}", kColumns, where, order, limit, offset));
    bound(q);
    int rc = 0;
    while ((rc = q.step()) == SQLITE_ROW) page.images.push_back(read_image(q));
    if (rc != SQLITE_DONE) return q.error();
    return page;
  }
  // Filters look into the tags (JSON): every row of the account, filtered here.
  Query q(db_, fmt::format("SELECT {} FROM images WHERE {} {}", kColumns, where, order));
  bound(q);
  std::vector<Image> all;
  int rc = 0;
  while ((rc = q.step()) == SQLITE_ROW) {
    Image img = read_image(q);
    if (std::all_of(filters.begin(), filters.end(), [&](const Filter& f) { return matches(img, f); })) {
      all.push_back(std::move(img));
    }
  }
  if (rc != SQLITE_DONE) return q.error();
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
  IG_TRY(Query(db_, "DELETE FROM images WHERE account = ?1 AND image_id = ?2").bind(account, image_id).run());
  if (sqlite3_changes(db_) == 0) return Error::not_found(image_id);
  return ok();
}

Result<void> Catalog::modify(const std::string& account, const std::string& image_id,
                             const std::optional<std::string>& name, const std::optional<std::string>& description) {
  std::lock_guard lock(mu_);
  Query q(db_,
          "UPDATE images SET name = COALESCE(?3, name), description = COALESCE(?4, description) "
          "WHERE account = ?1 AND image_id = ?2");
  const int rc = q.bind(account, image_id, name, description).step();
  if (rc == SQLITE_CONSTRAINT) return Error::invalid_argument("duplicate image name");
  if (rc != SQLITE_DONE) return q.error();
  if (sqlite3_changes(db_) == 0) return Error::not_found(image_id);
  return ok();
}

Result<std::optional<Task>> Catalog::claim_task(std::int64_t now, std::int64_t lease_seconds) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  IG_TRY(tx.began());
  Query pick(db_,
             "SELECT task_id, image_id, attempts FROM import_tasks WHERE state = 'QUEUED' OR "
             "(state = 'RUNNING' AND lease_until < ?1) ORDER BY task_id LIMIT 1");
  const int rc = pick.bind(now).step();
  if (rc == SQLITE_DONE) {
    IG_TRY(tx.commit());
    return std::optional<Task>{};
  }
  if (rc != SQLITE_ROW) return pick.error();
  Task t;
  t.task_id = pick.int64(0);
  const std::string image_id = pick.text(1);
  t.attempt = pick.int64(2) + 1;
  IG_TRY(Query(db_,
               "UPDATE import_tasks SET state = 'RUNNING', attempts = ?2, lease_until = ?3, progress = 0, updated = ?4 "
               "WHERE task_id = ?1")
             .bind(t.task_id, t.attempt, now + lease_seconds, now)
             .run());
  Query img(db_, fmt::format("SELECT {} FROM images WHERE image_id = ?1", kColumns));
  if (img.bind(image_id).step() != SQLITE_ROW)
    return Error::io(fmt::format("catalog: task {} has no image", t.task_id));
  t.image = read_image(img);
  IG_TRY(tx.commit());
  return std::optional<Task>(std::move(t));
}

Result<void> Catalog::progress_task(const Task& task, std::int64_t percent, std::int64_t lease_until) {
  std::lock_guard lock(mu_);
  IG_TRY(Query(db_,
               "UPDATE import_tasks SET progress = ?3, lease_until = ?4, updated = ?5 "
               "WHERE task_id = ?1 AND attempts = ?2 AND state = 'RUNNING'")
             .bind(task.task_id, task.attempt, std::clamp<std::int64_t>(percent, 0, 99), lease_until, now_unix())
             .run());
  if (sqlite3_changes(db_) == 0) {
    return Error::invalid_argument(fmt::format("task {} attempt {} is no longer held", task.task_id, task.attempt));
  }
  return ok();
}

Result<void> Catalog::finish_task(const Task& task, const Outcome& outcome, const InboxMessage& message) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  IG_TRY(tx.began());
  const std::int64_t now = now_unix();
  IG_TRY(Query(db_,
               "UPDATE import_tasks SET state = ?3, progress = 100, updated = ?4 "
               "WHERE task_id = ?1 AND attempts = ?2 AND state = 'RUNNING'")
             .bind(task.task_id, task.attempt, outcome.ok ? "DONE" : "FAILED", now)
             .run());
  if (sqlite3_changes(db_) == 0) {
    return Error::invalid_argument(fmt::format("task {} attempt {} is no longer held", task.task_id, task.attempt));
  }
  IG_TRY(Query(db_,
               "UPDATE images SET state = ?2, error_code = ?3, error_message = ?4, size_gib = ?5, "
               "supports_cloudinit = ?6, data_disks = ?7, source_sha256 = ?8 WHERE image_id = ?1")
             .bind(task.image.image_id, outcome.ok ? "NORMAL" : "IMPORTFAILED", outcome.error_code,
                   outcome.error_message, outcome.size_gib, outcome.supports_cloudinit, disks_json(outcome.data_disks),
                   outcome.source_sha256)
             .run());
  const std::string message_id = message.message_id.empty() ? new_id("msg-") : message.message_id;
  IG_TRY(Query(db_,
               "INSERT INTO messages (message_id, account, image_id, kind, language, title, content, error_code, "
               "created_time, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
               "(SELECT COALESCE(MAX(seq), 0) + 1 FROM messages))")
             .bind(message_id, task.image.account, task.image.image_id, message.kind, message.language, message.title,
                   message.content, message.error_code, iso_time(now))
             .run());
  IG_TRY(Query(db_,
               "INSERT INTO outbox (message_id, subscription_id, channel, endpoint, secret, state, next_attempt) "
               "SELECT ?1, subscription_id, channel, endpoint, secret, 'PENDING', ?3 FROM subscriptions "
               "WHERE account = ?2 ORDER BY created_time, subscription_id")
             .bind(message_id, task.image.account, now)
             .run());
  return tx.commit();
}

Result<std::vector<Delivery>> Catalog::deliveries_of(const std::string& message_id) {
  Query q(db_, fmt::format("SELECT {} FROM outbox WHERE message_id = ?1 ORDER BY delivery_id", kDeliveryColumns));
  q.bind(message_id);
  std::vector<Delivery> out;
  int rc = 0;
  while ((rc = q.step()) == SQLITE_ROW) out.push_back(read_delivery(q));
  if (rc != SQLITE_DONE) return q.error();
  return out;
}

namespace {

// Checks that every id names a row of the account's in `table`: kNotFound naming the first that
// does not.
Result<void> all_owned(sqlite3* db, const char* table, const char* column, const std::string& account,
                       const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    Query q(db, fmt::format("SELECT 1 FROM {} WHERE account = ?1 AND {} = ?2", table, column));
    const int rc = q.bind(account, id).step();
    if (rc == SQLITE_DONE) return Error::not_found(id);
    if (rc != SQLITE_ROW) return q.error();
  }
  return ok();
}

}  // namespace

Result<InboxPage> Catalog::describe_messages(const std::string& account, const std::vector<std::string>& ids,
                                             bool unread_only, std::int64_t offset, std::int64_t limit) {
  std::lock_guard lock(mu_);
  IG_TRY(all_owned(db_, "messages", "message_id", account, ids));
  InboxPage page;
  std::string where = "account = ?1";
  if (unread_only) where += " AND read = 0";
  if (!ids.empty()) where += " AND message_id IN " + placeholders(2, ids.size());
  {
    Query count(db_, fmt::format("SELECT COUNT(*), COALESCE(SUM(read = 0), 0) FROM messages WHERE {}", where));
    count.bind(account);
    for (const std::string& id : ids) count.bind(id);
    if (count.step() != SQLITE_ROW) return count.error();
    page.total = count.int64(0);
    page.unread = count.int64(1);
  }
  Query q(db_, fmt::format("SELECT {} FROM messages WHERE {} ORDER BY seq DESC LIMIT {} OFFSET {}", kMessageColumns,
                           where, limit, offset));
  q.bind(account);
  for (const std::string& id : ids) q.bind(id);
  int rc = 0;
  while ((rc = q.step()) == SQLITE_ROW) page.messages.push_back(read_message(q));
  if (rc != SQLITE_DONE) return q.error();
  for (InboxMessage& m : page.messages) m.deliveries = IG_TRY(deliveries_of(m.message_id));
  return page;
}

Result<void> Catalog::mark_read(const std::string& account, const std::vector<std::string>& ids) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  IG_TRY(tx.began());
  IG_TRY(all_owned(db_, "messages", "message_id", account, ids));
  for (const std::string& id : ids) {
    IG_TRY(Query(db_, "UPDATE messages SET read = 1 WHERE account = ?1 AND message_id = ?2").bind(account, id).run());
  }
  return tx.commit();
}

Result<void> Catalog::delete_messages(const std::string& account, const std::vector<std::string>& ids) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  IG_TRY(tx.began());
  IG_TRY(all_owned(db_, "messages", "message_id", account, ids));
  for (const std::string& id : ids) {
    IG_TRY(Query(db_, "DELETE FROM messages WHERE account = ?1 AND message_id = ?2").bind(account, id).run());
  }
  return tx.commit();
}

Result<void> Catalog::create_subscription(const Subscription& s) {
  std::lock_guard lock(mu_);
  Query q(db_,
          "INSERT INTO subscriptions (subscription_id, account, channel, endpoint, secret, created_time) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  const int rc = q.bind(s.subscription_id, s.account, s.channel, s.endpoint, s.secret,
                        s.created_time.empty() ? now_iso() : s.created_time)
                     .step();
  if (rc == SQLITE_CONSTRAINT) return Error::invalid_argument("duplicate subscription");
  if (rc != SQLITE_DONE) return q.error();
  return ok();
}

Result<std::vector<Subscription>> Catalog::describe_subscriptions(const std::string& account) {
  std::lock_guard lock(mu_);
  Query q(db_,
          "SELECT subscription_id, account, channel, endpoint, secret, created_time FROM subscriptions "
          "WHERE account = ?1 ORDER BY created_time, subscription_id");
  q.bind(account);
  std::vector<Subscription> out;
  int rc = 0;
  while ((rc = q.step()) == SQLITE_ROW) {
    out.push_back(Subscription{q.text(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5)});
  }
  if (rc != SQLITE_DONE) return q.error();
  return out;
}

Result<void> Catalog::delete_subscription(const std::string& account, const std::string& subscription_id) {
  std::lock_guard lock(mu_);
  IG_TRY(Query(db_, "DELETE FROM subscriptions WHERE account = ?1 AND subscription_id = ?2")
             .bind(account, subscription_id)
             .run());
  if (sqlite3_changes(db_) == 0) return Error::not_found(subscription_id);
  return ok();
}

Result<std::optional<Delivery>> Catalog::claim_delivery(std::int64_t now, std::int64_t lease_seconds) {
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  IG_TRY(tx.began());
  Query pick(db_, fmt::format("SELECT {}, message_id FROM outbox WHERE state = 'PENDING' AND next_attempt <= ?1 "
                              "ORDER BY next_attempt, delivery_id LIMIT 1",
                              kDeliveryColumns));
  const int rc = pick.bind(now).step();
  if (rc == SQLITE_DONE) {
    IG_TRY(tx.commit());
    return std::optional<Delivery>{};
  }
  if (rc != SQLITE_ROW) return pick.error();
  Delivery d = read_delivery(pick);
  const std::string message_id = pick.text(10);
  d.attempts += 1;
  d.next_attempt = now + lease_seconds;
  IG_TRY(Query(db_, "UPDATE outbox SET attempts = ?2, next_attempt = ?3 WHERE delivery_id = ?1")
             .bind(d.delivery_id, d.attempts, d.next_attempt)
             .run());
  Query m(db_, fmt::format("SELECT {} FROM messages WHERE message_id = ?1", kMessageColumns));
  if (m.bind(message_id).step() != SQLITE_ROW) return m.error();
  d.message = read_message(m);
  IG_TRY(tx.commit());
  return std::optional<Delivery>(std::move(d));
}

Result<void> Catalog::finish_delivery(const Delivery& d, bool sent, const std::string& error, std::int64_t retry_at) {
  std::lock_guard lock(mu_);
  const std::string state = sent ? "SENT" : retry_at == 0 ? "FAILED" : "PENDING";
  IG_TRY(Query(db_,
               "UPDATE outbox SET state = ?3, last_error = ?4, next_attempt = ?5, sent_time = ?6 "
               "WHERE delivery_id = ?1 AND attempts = ?2 AND state = 'PENDING'")
             .bind(d.delivery_id, d.attempts, state, sent ? std::string() : error, retry_at,
                   sent ? now_iso() : std::string())
             .run());
  if (sqlite3_changes(db_) == 0) {
    return Error::invalid_argument(fmt::format("delivery {} attempt {} is no longer held", d.delivery_id, d.attempts));
  }
  return ok();
}

}  // namespace ig::catalog
