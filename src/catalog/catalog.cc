#include "catalog/catalog.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "catalog/driver.h"

namespace ig::catalog {
namespace {

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
    // 3: ModifyImageAttribute's ImageDeprecated.
    R"sql(
ALTER TABLE images ADD COLUMN deprecated INTEGER NOT NULL DEFAULT 0;
)sql",
    // 4: images shared with other accounts (ModifyImageSharePermission).
    R"sql(
CREATE TABLE image_shares (
  image_id TEXT NOT NULL REFERENCES images (image_id) ON DELETE CASCADE,
  account TEXT NOT NULL,
  created_time TEXT NOT NULL,
  PRIMARY KEY (image_id, account)
);
CREATE INDEX image_shares_account ON image_shares (account);
)sql",
    // 5: why an import failed as a message id and its arguments (JSON), rendered in each
    // request's language; error_message keeps the sentence in the account's language.
    R"sql(
ALTER TABLE images ADD COLUMN error_cause TEXT NOT NULL DEFAULT '';
)sql",
    // 6: DescribeImages' page in the order it is listed, read from the index alone (without it,
    // every image of the account was read and sorted to list 20: docs/performance.md).
    R"sql(
CREATE INDEX IF NOT EXISTS images_account_page ON images (account, created_time DESC, image_id);
)sql",
    // 7: a running task's progress beyond its percent: the disk, bytes fetched and converted, the
    // estimate of the time left (JSON, catalog::Progress; '' before the worker's first report).
    R"sql(
ALTER TABLE import_tasks ADD COLUMN progress_detail TEXT NOT NULL DEFAULT '';
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// One argument of a statement, as the driver takes it.
Param param(const std::string& v) {
  return v;
}
Param param(const char* v) {
  return std::string(v);
}
Param param(std::int64_t v) {
  return v;
}
Param param(bool v) {
  return std::int64_t{v ? 1 : 0};
}
Param param(const std::optional<std::string>& v) {
  return v ? Param(*v) : Param(nullptr);
}
Param param(const std::optional<bool>& v) {
  return v ? param(*v) : Param(nullptr);
}

template <class... Args>
std::vector<Param> params(const Args&... args) {
  return {param(args)...};
}

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
  if (text == "[]") return out;  // most images: no parse
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
  if (text == "[]") return out;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& d : j) {
    if (d.is_object()) out.push_back(DataDisk{d.value("Index", std::int64_t{0}), d.value("SizeGiB", std::int64_t{0})});
  }
  return out;
}

// A running task's progress beyond its percent (import_tasks.progress_detail, migration 7).
std::string progress_json(const Progress& p) {
  return nlohmann::json{{"disk", p.disk},
                        {"disks", p.disks},
                        {"fetched", p.fetched},
                        {"bytes", p.bytes},
                        {"converted", p.converted},
                        {"virtual_bytes", p.virtual_bytes},
                        {"seconds_left", p.seconds_left}}
      .dump();
}

Progress progress_from(std::int64_t percent, const std::string& text) {
  Progress p;
  p.percent = percent;
  if (text.empty()) return p;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return p;
  // The worker wrote it; still, a field that is not a count (or -1 for no estimate) is left unset.
  auto field = [&j](const char* key, std::int64_t& out) {
    if (const auto it = j.find(key); it != j.end() && it->is_number_integer() && it->get<std::int64_t>() >= out) {
      out = it->get<std::int64_t>();
    }
  };
  field("disk", p.disk);
  field("disks", p.disks);
  field("fetched", p.fetched);
  field("bytes", p.bytes);
  field("converted", p.converted);
  field("virtual_bytes", p.virtual_bytes);
  field("seconds_left", p.seconds_left);
  return p;
}

bool matches(const Image& img, const Filter& f) {
  auto any = [&](auto&& pred) { return std::any_of(f.values.begin(), f.values.end(), pred); };
  auto has_tag = [&](auto&& pred) { return std::any_of(img.tags.begin(), img.tags.end(), pred); };
  if (f.name == "image-id") return any([&](const std::string& v) { return v == img.image_id; });
  // image-name and platform match fuzzily (a substring), as the cloud documents them.
  if (f.name == "image-name") return any([&](const std::string& v) { return img.name.find(v) != std::string::npos; });
  if (f.name == "image-type") {
    return any([&](const std::string& v) { return v == (img.shared ? "SHARED_IMAGE" : "PRIVATE_IMAGE"); });
  }
  if (f.name == "image-family") return any([&](const std::string& v) { return v == img.image_family; });
  if (f.name == "platform") {
    return any([&](const std::string& v) {
      return img.platform.find(v) != std::string::npos || img.os_name.find(v) != std::string::npos;
    });
  }
  // Accepted, as documented, but no imported image is on a dedicated cluster or cached in a CDC.
  if (f.name == "dedicated-cluster-id" || f.name == "cdc-cache-status") return false;
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
    "(SELECT MAX(progress) FROM import_tasks t WHERE t.image_id = images.image_id), deprecated, "
    "(SELECT COUNT(*) FROM image_shares s WHERE s.image_id = images.image_id), error_cause, "
    "(SELECT progress_detail FROM import_tasks t WHERE t.image_id = images.image_id AND t.state = 'RUNNING' "
    "ORDER BY t.task_id DESC LIMIT 1)";

// Moves the row's cells into the image (a page of rows is read once).
Image read_image(Row& q) {
  Image i;
  i.image_id = q.take(0);
  i.account = q.take(1);
  i.name = q.take(2);
  i.description = q.take(3);
  i.os_name = q.take(4);
  i.os_version = q.take(5);
  i.architecture = q.take(6);
  i.platform = q.take(7);
  i.state = q.take(8);
  i.error_code = q.take(9);
  i.error_message = q.take(10);
  i.size_gib = q.int64(11);
  i.license_type = q.take(12);
  i.boot_mode = q.take(13);
  i.image_family = q.take(14);
  i.created_time = q.take(15);
  i.supports_cloudinit = q.int64(16) != 0;
  i.tags = tags_from(q.take(17));
  i.image_url = q.take(18);
  i.force = q.int64(19) != 0;
  if (const std::string text = q.take(20); text != "[]") {
    const auto urls = nlohmann::json::parse(text, nullptr, false);
    if (urls.is_array()) {
      for (const auto& d : urls) {
        if (d.is_string()) i.data_disk_urls.push_back(d);
      }
    }
  }
  i.language = q.take(21);
  i.data_disks = disks_from(q.take(22));
  i.region = q.take(23);
  i.source_sha256 = q.take(24);
  i.progress = progress_from(q.int64(25), q.take(29));
  i.deprecated = q.int64(26) != 0;
  i.share_count = q.int64(27);
  i.error_cause = q.take(28);
  return i;
}

// An image as `account` sees it: its own, or another's shared with it (without the owner's tags).
Image seen_by(const std::string& account, Image img) {
  if (img.account != account) {
    img.shared = true;
    img.tags.clear();
  }
  return img;
}

constexpr const char* kMessageColumns =
    "message_id, account, image_id, kind, language, title, content, error_code, created_time, read";

InboxMessage read_message(const Row& q) {
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

Delivery read_delivery(const Row& q) {
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

std::int64_t Row::int64(std::size_t i) const {
  const std::optional<std::string>& cell = cells.at(i);
  if (!cell) return 0;
  std::int64_t v = 0;
  std::from_chars(cell->data(), cell->data() + cell->size(), v);
  return v;
}

namespace {

// The message of a task given up after its last attempt, in the image's language (en, zh).
InboxMessage gave_up_message(const Image& img, std::int64_t attempts) {
  InboxMessage m;
  m.kind = "IMPORT_FAILED";
  m.language = img.language == "zh" ? "zh" : "en";
  m.error_code = "InternalError";
  if (m.language == "zh") {
    m.title = fmt::format("镜像 {} 导入失败", img.name);
    m.content =
        fmt::format("您的镜像 {}（{}）无法导入。错误码 InternalError：已尝试 {} 次，执行导入的进程均已退出或超时",
                    img.name, img.image_id, attempts);
  } else {
    m.title = fmt::format("Import of image {} failed", img.name);
    m.content = fmt::format(
        "Your image {} ({}) could not be imported. Error code InternalError: attempted {} times; the workers died or "
        "timed out",
        img.name, img.image_id, attempts);
  }
  return m;
}

// The catalog's SQL, written once, over a driver. Every method is one transaction ("unit"): a
// unit that fails because the connection broke is run once more on a new connection, unless the
// failure came at COMMIT (then whether it was applied is unknown, and the caller is told so).
class SqlCatalog final : public Catalog {
 public:
  SqlCatalog(std::unique_ptr<Driver> db, CatalogOptions options) : db_(std::move(db)), options_(options) {}

  Result<void> migrate();

  std::string backend() const override { return db_->backend(); }
  Result<void> ping() override;
  int schema_version() const override;
  Result<void> create_import(const Image& image) override;
  Result<std::int64_t> count_images(const std::string& account) override;
  Result<std::int64_t> queue_depth() override;
  Result<bool> name_taken(const std::string& account, const std::string& name) override;
  Result<ImagePage> describe(const std::string& account, const std::vector<std::string>& ids,
                             const std::vector<Filter>& filters, std::int64_t offset, std::int64_t limit) override;
  Result<std::optional<Image>> get(const std::string& account, const std::string& image_id) override;
  Result<bool> importing(const std::string& image_id) override;
  Result<void> remove(const std::string& account, const std::string& image_id) override;
  Result<void> modify(const std::string& account, const std::string& image_id, const ImageChanges& changes) override;
  Result<void> share_image(const std::string& owner, const std::string& image_id,
                           const std::vector<std::string>& accounts, std::int64_t max_accounts) override;
  Result<void> unshare_image(const std::string& owner, const std::string& image_id,
                             const std::vector<std::string>& accounts) override;
  Result<std::vector<Share>> image_shares(const std::string& owner, const std::string& image_id) override;
  Result<std::optional<Task>> claim_task(std::int64_t now, std::int64_t lease_seconds) override;
  Result<void> progress_task(const Task& task, const Progress& progress, std::int64_t lease_until) override;
  Result<void> release_task(const Task& task) override;
  Result<void> finish_task(const Task& task, const Outcome& outcome, const InboxMessage& message) override;
  Result<InboxPage> describe_messages(const std::string& account, const std::vector<std::string>& ids, bool unread_only,
                                      std::int64_t offset, std::int64_t limit) override;
  Result<void> mark_read(const std::string& account, const std::vector<std::string>& ids) override;
  Result<void> delete_messages(const std::string& account, const std::vector<std::string>& ids) override;
  Result<void> create_subscription(const Subscription& s) override;
  Result<std::vector<Subscription>> describe_subscriptions(const std::string& account) override;
  Result<void> delete_subscription(const std::string& account, const std::string& subscription_id) override;
  Result<std::optional<Delivery>> claim_delivery(std::int64_t now, std::int64_t lease_seconds) override;
  Result<void> finish_delivery(const Delivery& d, bool sent, const std::string& error, std::int64_t retry_at) override;

 private:
  template <class F>
  auto unit(bool write, F&& body) -> decltype(body());
  Result<Rows> query(const std::string& sql, const std::vector<Param>& p) { return db_->query(sql, p); }
  Result<void> record_finish(const Task& task, const Outcome& outcome, const InboxMessage& message, std::int64_t now);
  Result<std::vector<Delivery>> deliveries_of(const std::string& message_id);
  Result<void> all_owned(const char* table, const char* column, const std::string& account,
                         const std::vector<std::string>& ids);
  Result<void> lock_owned_image(const std::string& owner, const std::string& image_id);

  std::unique_ptr<Driver> db_;
  CatalogOptions options_;
  mutable std::mutex mu_;
};

template <class F>
auto SqlCatalog::unit(bool write, F&& body) -> decltype(body()) {
  using R = decltype(body());
  std::lock_guard lock(mu_);
  for (int run = 0;; ++run) {
    bool committing = false;
    R r = [&]() -> R {
      if (auto began = db_->begin(write); !began) return began.error();
      R out = body();
      if (!out) {
        db_->rollback();
        return out;
      }
      committing = true;
      if (auto done = db_->commit(); !done) {
        return done.error().with_context("commit (the transaction may or may not have been applied)");
      }
      return out;
    }();
    if (r || r.error().code != ErrorCode::kUnavailable || committing || run > 0) return r;
    if (auto again = db_->reconnect(); !again) return again.error();
  }
}

Result<void> SqlCatalog::migrate() {
  std::lock_guard lock(mu_);
  for (;;) {
    IG_TRY(db_->begin(true));
    auto done = [&]() -> Result<bool> {
      // Read inside the transaction: another process (a worker) may be migrating the same database.
      const int have = IG_TRY(db_->lock_and_read_schema_version());
      if (have > kSchemaVersion || have < 0) {
        return Error::unsupported(
            fmt::format("catalog schema version {} is newer than this imagegate's {}", have, kSchemaVersion));
      }
      if (have == kSchemaVersion) return true;
      IG_TRY(db_->exec(db_->ddl(kMigrations[have])));
      IG_TRY(db_->write_schema_version(have + 1));
      return false;
    }();
    if (!done) {
      db_->rollback();
      return done.error();
    }
    IG_TRY(db_->commit());
    if (*done) return ok();
  }
}

Result<void> SqlCatalog::ping() {
  return unit(false, [&]() -> Result<void> {
    IG_TRY(query("SELECT 1", {}));
    return ok();
  });
}

int SqlCatalog::schema_version() const {
  std::lock_guard lock(mu_);
  auto v = db_->read_schema_version();
  return v ? *v : -1;
}

Result<bool> SqlCatalog::name_taken(const std::string& account, const std::string& name) {
  return unit(false, [&]() -> Result<bool> {
    auto rows = IG_TRY(query("SELECT 1 FROM images WHERE account = ?1 AND name = ?2", params(account, name)));
    return !rows.rows.empty();
  });
}

Result<std::int64_t> SqlCatalog::count_images(const std::string& account) {
  return unit(false, [&]() -> Result<std::int64_t> {
    auto rows = IG_TRY(query("SELECT COUNT(*) FROM images WHERE account = ?1", params(account)));
    return rows.rows.at(0).int64(0);
  });
}

Result<std::int64_t> SqlCatalog::queue_depth() {
  return unit(false, [&]() -> Result<std::int64_t> {
    auto rows = IG_TRY(query("SELECT COUNT(*) FROM import_tasks WHERE state IN ('QUEUED', 'RUNNING')", params()));
    return rows.rows.at(0).int64(0);
  });
}

Result<bool> SqlCatalog::importing(const std::string& image_id) {
  return unit(false, [&]() -> Result<bool> {
    auto rows =
        IG_TRY(query("SELECT COUNT(*) FROM images WHERE image_id = ?1 AND state = 'IMPORTING'", params(image_id)));
    return rows.rows.at(0).int64(0) != 0;
  });
}

Result<void> SqlCatalog::create_import(const Image& img) {
  return unit(true, [&]() -> Result<void> {
    auto inserted = query(
        "INSERT INTO images (image_id, account, name, description, os_name, os_version, "
        "architecture, platform, state, license_type, boot_mode, image_family, created_time, "
        "tags, image_url, force, data_disk_urls, language, region) VALUES (?1, ?2, ?3, ?4, ?5, "
        "?6, ?7, ?8, 'IMPORTING', ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        params(img.image_id, img.account, img.name, img.description, img.os_name, img.os_version, img.architecture,
               img.platform, img.license_type, img.boot_mode, img.image_family,
               img.created_time.empty() ? now_iso() : img.created_time, tags_json(img.tags), img.image_url, img.force,
               nlohmann::json(img.data_disk_urls).dump(), img.language, img.region));
    if (!inserted && inserted.error().code == ErrorCode::kAlreadyExists) {
      return Error::already_exists("duplicate image name");
    }
    IG_TRY(inserted);
    IG_TRY(
        query("INSERT INTO import_tasks (image_id, account, state, created, updated) VALUES (?1, ?2, 'QUEUED', ?3, ?3)",
              params(img.image_id, img.account, now_unix())));
    return ok();
  });
}

Result<ImagePage> SqlCatalog::describe(const std::string& account, const std::vector<std::string>& ids,
                                       const std::vector<Filter>& filters, std::int64_t offset, std::int64_t limit) {
  return unit(false, [&]() -> Result<ImagePage> {
    ImagePage page;
    std::string where =
        "(images.account = ?1 OR images.image_id IN (SELECT image_id FROM image_shares WHERE image_shares.account = "
        "?1))";
    if (!ids.empty()) where += " AND image_id IN " + placeholders(2, ids.size());
    std::vector<Param> bound = params(account);
    for (const std::string& id : ids) bound.push_back(id);
    const std::string order = "ORDER BY created_time DESC, image_id";
    if (filters.empty() && ids.empty()) {
      // The page straight from the database. The account's own images and those shared with it
      // are two disjoint sets, each read in page order from an index (images_account_page,
      // image_shares_account), so that only the page's rows are read whole; the OR of the two
      // would read and sort every row of the account.
      auto count =
          IG_TRY(query("SELECT (SELECT COUNT(*) FROM images WHERE account = ?1) + (SELECT COUNT(*) FROM image_shares "
                       "JOIN images ON images.image_id = image_shares.image_id WHERE image_shares.account = ?1 AND "
                       "images.account <> ?1)",
                       bound));
      page.total = count.rows.at(0).int64(0);
      bound.push_back(limit);
      bound.push_back(offset);
      auto rows =
          IG_TRY(query(fmt::format("SELECT {} FROM images WHERE images.image_id IN (SELECT image_id FROM ("
                                   "SELECT image_id, created_time FROM images WHERE account = ?1 UNION ALL "
                                   "SELECT images.image_id, images.created_time FROM image_shares JOIN images "
                                   "ON images.image_id = image_shares.image_id WHERE image_shares.account = ?1 "
                                   "AND images.account <> ?1 ORDER BY 2 DESC, 1 LIMIT ?2 OFFSET ?3) AS page) {}",
                                   kColumns, order),
                       bound));
      for (Row& r : rows.rows) page.images.push_back(seen_by(account, read_image(r)));
      return page;
    }
    if (filters.empty()) {
      // Named images: the page straight from the database.
      auto count = IG_TRY(query(fmt::format("SELECT COUNT(*) FROM images WHERE {}", where), bound));
      page.total = count.rows.at(0).int64(0);
      const std::size_t at = bound.size() + 1;
      bound.push_back(limit);
      bound.push_back(offset);
      auto rows = IG_TRY(query(
          fmt::format("SELECT {} FROM images WHERE {} {} LIMIT ?{} OFFSET ?{}", kColumns, where, order, at, at + 1),
          bound));
      for (Row& r : rows.rows) page.images.push_back(seen_by(account, read_image(r)));
      return page;
    }
    // Filters look into the tags (JSON): every row of the account, filtered here.
    auto rows = IG_TRY(query(fmt::format("SELECT {} FROM images WHERE {} {}", kColumns, where, order), bound));
    std::vector<Image> all;
    for (Row& r : rows.rows) {
      Image img = seen_by(account, read_image(r));
      if (std::all_of(filters.begin(), filters.end(), [&](const Filter& f) { return matches(img, f); })) {
        all.push_back(std::move(img));
      }
    }
    page.total = static_cast<std::int64_t>(all.size());
    for (std::int64_t i = offset; i < page.total && i < offset + limit; ++i) {
      page.images.push_back(std::move(all[static_cast<std::size_t>(i)]));
    }
    return page;
  });
}

Result<std::optional<Image>> SqlCatalog::get(const std::string& account, const std::string& image_id) {
  auto page = IG_TRY(describe(account, {image_id}, {}, 0, 1));
  if (page.images.empty()) return std::optional<Image>{};
  return std::optional<Image>(std::move(page.images.front()));
}

// Locks the owner's image row for the rest of the transaction (an update that changes nothing
// does it in both databases), so that sharing and removing one image take turns; kNotFound unless
// `owner` owns it.
Result<void> SqlCatalog::lock_owned_image(const std::string& owner, const std::string& image_id) {
  auto locked =
      IG_TRY(query("UPDATE images SET state = state WHERE account = ?1 AND image_id = ?2", params(owner, image_id)));
  if (locked.changed == 0) return Error::not_found(image_id);
  return ok();
}

Result<void> SqlCatalog::remove(const std::string& account, const std::string& image_id) {
  return unit(true, [&]() -> Result<void> {
    IG_TRY(lock_owned_image(account, image_id));
    auto shares = IG_TRY(query("SELECT COUNT(*) FROM image_shares WHERE image_id = ?1", params(image_id)));
    if (const std::int64_t n = shares.rows.at(0).int64(0); n > 0) {
      return Error::unsupported(fmt::format("image {} is shared with {} account(s)", image_id, n));
    }
    IG_TRY(query("DELETE FROM images WHERE account = ?1 AND image_id = ?2", params(account, image_id)));
    return ok();
  });
}

Result<void> SqlCatalog::share_image(const std::string& owner, const std::string& image_id,
                                     const std::vector<std::string>& accounts, std::int64_t max_accounts) {
  return unit(true, [&]() -> Result<void> {
    IG_TRY(lock_owned_image(owner, image_id));
    auto state = IG_TRY(query("SELECT state FROM images WHERE image_id = ?1", params(image_id)));
    if (const std::string s = state.rows.at(0).text(0); s != "NORMAL") {
      return Error::unsupported(fmt::format("image {} is {}: only a NORMAL image is shared", image_id, s));
    }
    for (const std::string& a : accounts) {
      auto has = IG_TRY(query("SELECT 1 FROM image_shares WHERE image_id = ?1 AND account = ?2", params(image_id, a)));
      if (!has.rows.empty()) return Error::already_exists(a);
    }
    auto count = IG_TRY(query("SELECT COUNT(*) FROM image_shares WHERE image_id = ?1", params(image_id)));
    const std::int64_t now_shared = count.rows.at(0).int64(0);
    if (now_shared + static_cast<std::int64_t>(accounts.size()) > max_accounts) {
      return Error::limit_exceeded(fmt::format("image {} is shared with {} account(s); {} more would pass {}", image_id,
                                               now_shared, accounts.size(), max_accounts));
    }
    const std::string now = now_iso();
    for (const std::string& a : accounts) {
      IG_TRY(query("INSERT INTO image_shares (image_id, account, created_time) VALUES (?1, ?2, ?3)",
                   params(image_id, a, now)));
    }
    return ok();
  });
}

Result<void> SqlCatalog::unshare_image(const std::string& owner, const std::string& image_id,
                                       const std::vector<std::string>& accounts) {
  return unit(true, [&]() -> Result<void> {
    IG_TRY(lock_owned_image(owner, image_id));
    for (const std::string& a : accounts) {
      IG_TRY(query("DELETE FROM image_shares WHERE image_id = ?1 AND account = ?2", params(image_id, a)));
    }
    return ok();
  });
}

Result<std::vector<Share>> SqlCatalog::image_shares(const std::string& owner, const std::string& image_id) {
  return unit(false, [&]() -> Result<std::vector<Share>> {
    auto owned = IG_TRY(query("SELECT 1 FROM images WHERE account = ?1 AND image_id = ?2", params(owner, image_id)));
    if (owned.rows.empty()) return Error::not_found(image_id);
    auto rows = IG_TRY(
        query("SELECT account, created_time FROM image_shares WHERE image_id = ?1 ORDER BY created_time, account",
              params(image_id)));
    std::vector<Share> out;
    for (const Row& r : rows.rows) out.push_back(Share{r.text(0), r.text(1)});
    return out;
  });
}

Result<void> SqlCatalog::modify(const std::string& account, const std::string& image_id, const ImageChanges& changes) {
  return unit(true, [&]() -> Result<void> {
    auto done = query(
        "UPDATE images SET name = COALESCE(?3, name), description = COALESCE(?4, description), "
        "image_family = COALESCE(?5, image_family), deprecated = COALESCE(?6, deprecated) "
        "WHERE account = ?1 AND image_id = ?2",
        params(account, image_id, changes.name, changes.description, changes.family, changes.deprecated));
    if (!done && done.error().code == ErrorCode::kAlreadyExists) return Error::already_exists("duplicate image name");
    IG_TRY(done);
    if (done->changed == 0) return Error::not_found(image_id);
    return ok();
  });
}

Result<std::optional<Task>> SqlCatalog::claim_task(std::int64_t now, std::int64_t lease_seconds) {
  return unit(true, [&]() -> Result<std::optional<Task>> {
    // Each round either leases a task or gives one up for good, so this ends; the bound only
    // keeps one call short when many tasks are given up at once.
    for (int round = 0; round < 100; ++round) {
      auto pick = IG_TRY(query(fmt::format("SELECT task_id, image_id, attempts, state FROM import_tasks "
                                           "WHERE state = 'QUEUED' OR (state = 'RUNNING' AND lease_until < ?1) "
                                           "ORDER BY task_id LIMIT 1{}",
                                           db_->claim_lock()),
                               params(now)));
      if (pick.rows.empty()) return std::optional<Task>{};
      const Row& row = pick.rows[0];
      Task t;
      t.task_id = row.int64(0);
      const std::string image_id = row.text(1);
      const std::int64_t attempts = row.int64(2);
      auto img = IG_TRY(query(fmt::format("SELECT {} FROM images WHERE image_id = ?1", kColumns), params(image_id)));
      if (img.rows.empty()) return Error::io(fmt::format("catalog: task {} has no image", t.task_id));
      t.image = read_image(img.rows[0]);
      if (row.text(3) == "RUNNING" && attempts >= options_.max_task_attempts) {
        // Every attempt's worker died or ran out of time: the import ends here, as any other.
        t.attempt = attempts;
        Outcome gave_up;
        gave_up.error_code = "InternalError";
        gave_up.error_message = fmt::format("attempted {} times; the workers died or timed out", attempts);
        IG_TRY(record_finish(t, gave_up, gave_up_message(t.image, attempts), now));
        continue;
      }
      t.attempt = attempts + 1;
      IG_TRY(
          query("UPDATE import_tasks SET state = 'RUNNING', attempts = ?2, lease_until = ?3, progress = 0, "
                "progress_detail = '', updated = ?4 WHERE task_id = ?1",
                params(t.task_id, t.attempt, now + lease_seconds, now)));
      t.image.progress = {};
      return std::optional<Task>(std::move(t));
    }
    return std::optional<Task>{};
  });
}

Result<void> SqlCatalog::progress_task(const Task& task, const Progress& progress, std::int64_t lease_until) {
  return unit(true, [&]() -> Result<void> {
    auto done =
        IG_TRY(query("UPDATE import_tasks SET progress = ?3, lease_until = ?4, updated = ?5, progress_detail = ?6 "
                     "WHERE task_id = ?1 AND attempts = ?2 AND state = 'RUNNING'",
                     params(task.task_id, task.attempt, std::clamp<std::int64_t>(progress.percent, 0, 99), lease_until,
                            now_unix(), progress_json(progress))));
    if (done.changed == 0) {
      return Error::lease_lost(fmt::format("task {} attempt {} is no longer held", task.task_id, task.attempt));
    }
    return ok();
  });
}

Result<void> SqlCatalog::release_task(const Task& task) {
  return unit(true, [&]() -> Result<void> {
    auto done =
        IG_TRY(query("UPDATE import_tasks SET state = 'QUEUED', lease_until = 0, progress = 0, "
                     "progress_detail = '', updated = ?3 WHERE task_id = ?1 AND attempts = ?2 AND state = 'RUNNING'",
                     params(task.task_id, task.attempt, now_unix())));
    if (done.changed == 0) {
      return Error::lease_lost(fmt::format("task {} attempt {} is no longer held", task.task_id, task.attempt));
    }
    return ok();
  });
}

Result<void> SqlCatalog::record_finish(const Task& task, const Outcome& outcome, const InboxMessage& message,
                                       std::int64_t now) {
  auto ended =
      IG_TRY(query("UPDATE import_tasks SET state = ?3, progress = 100, updated = ?4 "
                   "WHERE task_id = ?1 AND attempts = ?2 AND state = 'RUNNING'",
                   params(task.task_id, task.attempt, outcome.ok ? "DONE" : "FAILED", now)));
  if (ended.changed == 0) {
    auto now_held = IG_TRY(query("SELECT state, attempts FROM import_tasks WHERE task_id = ?1", params(task.task_id)));
    std::string why = "the task is gone";
    if (!now_held.rows.empty()) {
      const Row& r = now_held.rows[0];
      why = r.text(0) == "DONE" || r.text(0) == "FAILED" ? fmt::format("the task is already finished ({})", r.text(0))
                                                         : fmt::format("attempt {} holds it", r.int64(1));
    }
    return Error::lease_lost(fmt::format("task {} attempt {} is no longer held: {}", task.task_id, task.attempt, why));
  }
  IG_TRY(
      query("UPDATE images SET state = ?2, error_code = ?3, error_message = ?4, size_gib = ?5, "
            "supports_cloudinit = ?6, data_disks = ?7, source_sha256 = ?8, error_cause = ?9 WHERE image_id = ?1",
            params(task.image.image_id, outcome.ok ? "NORMAL" : "IMPORTFAILED", outcome.error_code,
                   outcome.error_message, outcome.size_gib, outcome.supports_cloudinit, disks_json(outcome.data_disks),
                   outcome.source_sha256, outcome.error_cause)));
  const std::string message_id = message.message_id.empty() ? new_id("msg-") : message.message_id;
  IG_TRY(
      query("INSERT INTO messages (message_id, account, image_id, kind, language, title, content, error_code, "
            "created_time, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM messages))",
            params(message_id, task.image.account, task.image.image_id, message.kind, message.language, message.title,
                   message.content, message.error_code, iso_time(now))));
  IG_TRY(
      query("INSERT INTO outbox (message_id, subscription_id, channel, endpoint, secret, state, next_attempt) "
            "SELECT ?1, subscription_id, channel, endpoint, secret, 'PENDING', ?3 FROM subscriptions "
            "WHERE account = ?2 ORDER BY created_time, subscription_id",
            params(message_id, task.image.account, now)));
  return ok();
}

Result<void> SqlCatalog::finish_task(const Task& task, const Outcome& outcome, const InboxMessage& message) {
  return unit(true, [&]() -> Result<void> { return record_finish(task, outcome, message, now_unix()); });
}

Result<std::vector<Delivery>> SqlCatalog::deliveries_of(const std::string& message_id) {
  auto rows =
      IG_TRY(query(fmt::format("SELECT {} FROM outbox WHERE message_id = ?1 ORDER BY delivery_id", kDeliveryColumns),
                   params(message_id)));
  std::vector<Delivery> out;
  for (const Row& r : rows.rows) out.push_back(read_delivery(r));
  return out;
}

// Checks that every id names a row of the account's in `table`: kNotFound naming the first that
// does not.
Result<void> SqlCatalog::all_owned(const char* table, const char* column, const std::string& account,
                                   const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    auto rows = IG_TRY(
        query(fmt::format("SELECT 1 FROM {} WHERE account = ?1 AND {} = ?2", table, column), params(account, id)));
    if (rows.rows.empty()) return Error::not_found(id);
  }
  return ok();
}

Result<InboxPage> SqlCatalog::describe_messages(const std::string& account, const std::vector<std::string>& ids,
                                                bool unread_only, std::int64_t offset, std::int64_t limit) {
  return unit(false, [&]() -> Result<InboxPage> {
    IG_TRY(all_owned("messages", "message_id", account, ids));
    InboxPage page;
    std::string where = "account = ?1";
    if (unread_only) where += " AND read = 0";
    if (!ids.empty()) where += " AND message_id IN " + placeholders(2, ids.size());
    std::vector<Param> bound = params(account);
    for (const std::string& id : ids) bound.push_back(id);
    auto count = IG_TRY(query(
        fmt::format("SELECT COUNT(*), COALESCE(SUM(CASE WHEN read = 0 THEN 1 ELSE 0 END), 0) FROM messages WHERE {}",
                    where),
        bound));
    page.total = count.rows.at(0).int64(0);
    page.unread = count.rows.at(0).int64(1);
    const std::size_t at = bound.size() + 1;
    bound.push_back(limit);
    bound.push_back(offset);
    auto rows = IG_TRY(query(fmt::format("SELECT {} FROM messages WHERE {} ORDER BY seq DESC LIMIT ?{} OFFSET ?{}",
                                         kMessageColumns, where, at, at + 1),
                             bound));
    for (const Row& r : rows.rows) page.messages.push_back(read_message(r));
    for (InboxMessage& m : page.messages) m.deliveries = IG_TRY(deliveries_of(m.message_id));
    return page;
  });
}

Result<void> SqlCatalog::mark_read(const std::string& account, const std::vector<std::string>& ids) {
  return unit(true, [&]() -> Result<void> {
    IG_TRY(all_owned("messages", "message_id", account, ids));
    for (const std::string& id : ids) {
      IG_TRY(query("UPDATE messages SET read = 1 WHERE account = ?1 AND message_id = ?2", params(account, id)));
    }
    return ok();
  });
}

Result<void> SqlCatalog::delete_messages(const std::string& account, const std::vector<std::string>& ids) {
  return unit(true, [&]() -> Result<void> {
    IG_TRY(all_owned("messages", "message_id", account, ids));
    for (const std::string& id : ids) {
      IG_TRY(query("DELETE FROM messages WHERE account = ?1 AND message_id = ?2", params(account, id)));
    }
    return ok();
  });
}

Result<void> SqlCatalog::create_subscription(const Subscription& s) {
  return unit(true, [&]() -> Result<void> {
    auto done = query(
        "INSERT INTO subscriptions (subscription_id, account, channel, endpoint, secret, created_time) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params(s.subscription_id, s.account, s.channel, s.endpoint, s.secret,
               s.created_time.empty() ? now_iso() : s.created_time));
    if (!done && done.error().code == ErrorCode::kAlreadyExists) return Error::already_exists("duplicate subscription");
    IG_TRY(done);
    return ok();
  });
}

Result<std::vector<Subscription>> SqlCatalog::describe_subscriptions(const std::string& account) {
  return unit(false, [&]() -> Result<std::vector<Subscription>> {
    auto rows =
        IG_TRY(query("SELECT subscription_id, account, channel, endpoint, secret, created_time FROM "
                     "subscriptions WHERE account = ?1 ORDER BY created_time, subscription_id",
                     params(account)));
    std::vector<Subscription> out;
    for (const Row& r : rows.rows)
      out.push_back(Subscription{r.text(0), r.text(1), r.text(2), r.text(3), r.text(4), r.text(5)});
    return out;
  });
}

Result<void> SqlCatalog::delete_subscription(const std::string& account, const std::string& subscription_id) {
  return unit(true, [&]() -> Result<void> {
    auto done = IG_TRY(query("DELETE FROM subscriptions WHERE account = ?1 AND subscription_id = ?2",
                             params(account, subscription_id)));
    if (done.changed == 0) return Error::not_found(subscription_id);
    return ok();
  });
}

Result<std::optional<Delivery>> SqlCatalog::claim_delivery(std::int64_t now, std::int64_t lease_seconds) {
  return unit(true, [&]() -> Result<std::optional<Delivery>> {
    auto pick = IG_TRY(query(fmt::format("SELECT {}, message_id FROM outbox WHERE state = 'PENDING' AND "
                                         "next_attempt <= ?1 ORDER BY next_attempt, delivery_id LIMIT 1{}",
                                         kDeliveryColumns, db_->claim_lock()),
                             params(now)));
    if (pick.rows.empty()) return std::optional<Delivery>{};
    Delivery d = read_delivery(pick.rows[0]);
    const std::string message_id = pick.rows[0].text(10);
    d.attempts += 1;
    d.next_attempt = now + lease_seconds;
    IG_TRY(query("UPDATE outbox SET attempts = ?2, next_attempt = ?3 WHERE delivery_id = ?1",
                 params(d.delivery_id, d.attempts, d.next_attempt)));
    auto m = IG_TRY(
        query(fmt::format("SELECT {} FROM messages WHERE message_id = ?1", kMessageColumns), params(message_id)));
    if (m.rows.empty()) return Error::io(fmt::format("catalog: delivery {} has no message", d.delivery_id));
    d.message = read_message(m.rows[0]);
    return std::optional<Delivery>(std::move(d));
  });
}

Result<void> SqlCatalog::finish_delivery(const Delivery& d, bool sent, const std::string& error,
                                         std::int64_t retry_at) {
  return unit(true, [&]() -> Result<void> {
    const std::string state = sent ? "SENT" : retry_at == 0 ? "FAILED" : "PENDING";
    auto done =
        IG_TRY(query("UPDATE outbox SET state = ?3, last_error = ?4, next_attempt = ?5, sent_time = ?6 "
                     "WHERE delivery_id = ?1 AND attempts = ?2 AND state = 'PENDING'",
                     params(d.delivery_id, d.attempts, state, sent ? std::string() : error, retry_at,
                            sent ? now_iso() : std::string())));
    if (done.changed == 0) {
      return Error::lease_lost(fmt::format("delivery {} attempt {} is no longer held", d.delivery_id, d.attempts));
    }
    return ok();
  });
}

bool is_postgres_url(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

}  // namespace

Result<std::unique_ptr<Catalog>> open_catalog(const std::string& location, const CatalogOptions& options) {
  if (options.max_task_attempts < 1) {
    return Error::invalid_argument(
        fmt::format("catalog: max_task_attempts {} is not at least 1", options.max_task_attempts));
  }
  auto driver = IG_TRY(is_postgres_url(location) ? open_postgres_driver(location) : open_sqlite_driver(location));
  auto c = std::make_unique<SqlCatalog>(std::move(driver), options);
  IG_TRY(c->migrate());
  return std::unique_ptr<Catalog>(std::move(c));
}

Result<std::unique_ptr<Catalog>> Catalog::open(const std::string& path) {
  return open_catalog(path);
}

}  // namespace ig::catalog
