// The catalog on both backends, a real SQLite file and a real PostgreSQL 15 database (a fresh one
// per test): migrations, durability across reopening, names unique per account, accounts isolated,
// filters and pages; task leases, concurrent claims, the bound on attempts, reconnecting after a
// server restart; the message center, subscriptions and the outbox, read back with the sqlite3 and
// psql command-line tools.
#include "catalog/catalog.h"

#include <set>
#include <thread>

#include "support/postgres.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

// The catalog's schema version now (migrations 1 to 4).
constexpr int kSchemaVersion = 7;

// What ModifyImageAttribute changes, by name: renamed("b"), in_family("web", true).
catalog::ImageChanges renamed(const std::string& name, std::optional<std::string> description = std::nullopt) {
  catalog::ImageChanges c;
  c.name = name;
  c.description = std::move(description);
  return c;
}
catalog::ImageChanges in_family(std::optional<std::string> family, bool deprecated) {
  catalog::ImageChanges c;
  c.family = std::move(family);
  c.deprecated = deprecated;
  return c;
}

catalog::Image image(const std::string& account, const std::string& id, const std::string& name) {
  catalog::Image i;
  i.image_id = id;
  i.account = account;
  i.name = name;
  i.os_name = "Debian";
  i.os_version = "12";
  i.architecture = "x86_64";
  i.platform = "Linux";
  i.image_url = "http://example.invalid/" + name;
  i.tags = {{"team", name == "a" ? "web" : "db"}};
  return i;
}

// The same tests on each backend: GetParam() is "sqlite" or "postgresql".
class CatalogTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      location_ = dir_.file("catalog.sqlite");
      return;
    }
    std::string why;
    auto server = postgres_server(&why);
    if (!server) GTEST_SKIP() << "no PostgreSQL: " << why;
    db_ = std::make_unique<PostgresDatabase>(*server, ::testing::UnitTest::GetInstance()->current_test_info()->name());
    location_ = db_->url();
  }
  Result<std::unique_ptr<catalog::Catalog>> open(catalog::CatalogOptions options = {}) {
    return catalog::open_catalog(location_, options);
  }
  // Rows as the sqlite3 tool prints them: "a|b\n".
  std::string sql(const std::string& query) {
    if (db_) return db_->sql(query);
    return run_ok("sqlite3 " + location_ + " " + shell_quote(query));
  }

  TempDir dir_;
  std::unique_ptr<PostgresDatabase> db_;
  std::string location_;
};

INSTANTIATE_TEST_SUITE_P(Backends, CatalogTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST_P(CatalogTest, MigratesPersistsAndIsolatesAccounts) {
  {
    auto c = open();
    ASSERT_THAT(c, IsOk());
    EXPECT_EQ((*c)->backend(), GetParam());
    EXPECT_THAT((*c)->ping(), IsOk());
    EXPECT_EQ((*c)->schema_version(), kSchemaVersion);
    ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
    ASSERT_THAT((*c)->create_import(image("1001", "img-bbbbbbbb", "b")), IsOk());
    ASSERT_THAT((*c)->create_import(image("1002", "img-cccccccc", "a")), IsOk());  // same name, other account
    EXPECT_THAT((*c)->create_import(image("1001", "img-dddddddd", "a")),
                HasError(ErrorCode::kAlreadyExists, "duplicate"));
  }
  auto c = open();  // reopened: the rows are durable, the schema not re-created
  ASSERT_THAT(c, IsOk());
  auto all = (*c)->describe("1001", {}, {}, 0, 20);
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->total, 2);
  EXPECT_EQ(all->images[0].state, "IMPORTING");
  auto web = (*c)->describe("1001", {}, {{"tag:team", {"web"}}}, 0, 20);
  ASSERT_EQ(web->total, 1);
  EXPECT_EQ(web->images[0].image_id, "img-aaaaaaaa");
  EXPECT_EQ((*c)->describe("1001", {}, {}, 1, 20)->images.size(), 1u);  // Offset
  EXPECT_FALSE((*c)->get("1002", "img-aaaaaaaa")->has_value());         // another account's image
  EXPECT_THAT((*c)->remove("1002", "img-aaaaaaaa"), HasError(ErrorCode::kNotFound, "img-aaaaaaaa"));
  EXPECT_THAT((*c)->modify("1001", "img-aaaaaaaa", renamed("b")), HasError(ErrorCode::kAlreadyExists, "duplicate"));
  ASSERT_THAT((*c)->modify("1001", "img-aaaaaaaa", renamed("renamed", "d")), IsOk());
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->name, "renamed");
  // Family and deprecation change alone; what is not set stays.
  ASSERT_THAT((*c)->modify("1001", "img-aaaaaaaa", in_family("web", true)), IsOk());
  const catalog::Image changed = **(*c)->get("1001", "img-aaaaaaaa");
  EXPECT_EQ(changed.image_family, "web");
  EXPECT_TRUE(changed.deprecated);
  EXPECT_EQ(changed.description, "d");
  EXPECT_EQ((*c)->describe("1001", {}, {{"image-family", {"web"}}}, 0, 20)->total, 1);
  ASSERT_THAT((*c)->modify("1001", "img-aaaaaaaa", in_family(std::nullopt, false)), IsOk());
  EXPECT_FALSE((*(*c)->get("1001", "img-aaaaaaaa"))->deprecated);
  ASSERT_THAT((*c)->remove("1001", "img-bbbbbbbb"), IsOk());
  EXPECT_EQ(*(*c)->count_images("1001"), 1);
  // The import tasks were queued with their images, and deleting an image removed its task.
  EXPECT_EQ(sql("SELECT image_id, state FROM import_tasks ORDER BY image_id"),
            "img-aaaaaaaa|QUEUED\nimg-cccccccc|QUEUED\n");
}

TEST(Catalog, RefusesANewerSchema) {
  TempDir dir;
  const std::string path = dir.file("catalog.sqlite");
  run_ok("sqlite3 " + path + " 'PRAGMA user_version = 8'");
  EXPECT_THAT(catalog::Catalog::open(path), HasError(ErrorCode::kUnsupported, "schema version 8"));
}

catalog::InboxMessage note(const std::string& title) {
  catalog::InboxMessage m;
  m.kind = "IMPORT_FAILED";
  m.language = "en";
  m.title = title;
  m.content = "body of " + title;
  m.error_code = "InvalidUrl";
  return m;
}

catalog::Outcome failed(const std::string& code) {
  catalog::Outcome o;
  o.error_code = code;
  o.error_message = "why";
  o.error_cause = R"({"id":"import.download-failed","args":["x"]})";
  return o;
}

catalog::Outcome succeeded() {
  catalog::Outcome o;
  o.ok = true;
  return o;
}

// A progress detail that is not what the worker writes reads as no detail, field by field: not
// JSON, not an object, a field that is not an integer count (or -1 for no estimate).
TEST_P(CatalogTest, AMalformedProgressDetailReadsAsNone) {
  auto c = open();
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
  auto t = (*c)->claim_task(1000, 60);
  ASSERT_TRUE(t->has_value());
  ASSERT_THAT((*c)->progress_task(**t, {.percent = 30}, 1100), IsOk());
  auto progress = [&](const std::string& detail) {
    sql("UPDATE import_tasks SET progress_detail = '" + detail + "'");
    return (*(*c)->get("1001", "img-aaaaaaaa"))->progress;
  };
  for (const char* detail : {"not json", "[1, 2]", "{\"disk\": \"1\", \"fetched\": 1.5, \"bytes\": -3}",
                             "{\"seconds_left\": -2, \"disks\": 18446744073709551615}"}) {
    SCOPED_TRACE(detail);
    EXPECT_EQ(progress(detail), catalog::Progress{.percent = 30});
  }
  EXPECT_EQ(progress("{\"disk\": 1, \"bytes\": \"x\", \"seconds_left\": -1}"),
            (catalog::Progress{.percent = 30, .disk = 1}));
}

TEST_P(CatalogTest, TaskLeasesRunOutAndStaleHoldersAreRefused) {
  auto c = open();
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
  auto first = (*c)->claim_task(1000, 60);
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->attempt, 1);
  EXPECT_FALSE((*c)->claim_task(1059, 60)->has_value());  // held until 1060
  // The percent, and the detail beside it: which disk, bytes fetched and converted, time left.
  const catalog::Progress progress{.percent = 40,
                                   .disk = 1,
                                   .disks = 2,
                                   .fetched = 3'000'000'000,
                                   .bytes = 5'000'000'000,
                                   .converted = 2'500'000'000,
                                   .virtual_bytes = 10'737'418'240,
                                   .seconds_left = 75};
  ASSERT_THAT((*c)->progress_task(**first, progress, 1100), IsOk());
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->progress, progress);
  auto listed = (*c)->describe("1001", {}, {}, 0, 20);
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->images.size(), 1u);
  EXPECT_EQ(listed->images[0].progress, progress);
  EXPECT_FALSE((*c)->claim_task(1099, 60)->has_value());  // progress renewed the lease to 1100
  auto second = (*c)->claim_task(1101, 60);               // the first holder "crashed"
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->attempt, 2);
  EXPECT_THAT((*c)->progress_task(**first, {.percent = 50}, 2000), HasError(ErrorCode::kLeaseLost, "no longer held"));
  // A new attempt starts from nothing: no percent, no detail of the attempt before.
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->progress, catalog::Progress{});
  EXPECT_THAT((*c)->finish_task(**first, succeeded(), note("stale")),
              HasError(ErrorCode::kLeaseLost, "no longer held"));
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->state, "IMPORTING");
  EXPECT_EQ((*c)->describe_messages("1001", {}, false, 0, 20)->total, 0);  // the refused finish wrote nothing
  ASSERT_THAT((*c)->finish_task(**second, failed("InvalidUrl"), note("done")), IsOk());
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->state, "IMPORTFAILED");
  EXPECT_FALSE((*c)->claim_task(5000, 60)->has_value());  // finished tasks are never taken again
  EXPECT_THAT((*c)->finish_task(**second, failed("InvalidUrl"), note("twice")),
              HasError(ErrorCode::kLeaseLost, "no longer held"));
}

TEST_P(CatalogTest, FinishingATaskWritesItsMessageAndOneDeliveryPerSubscription) {
  auto c = open();
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->create_subscription({"sub-00000001", "1001", "EMAIL", "ops@example.com", "", ""}), IsOk());
  ASSERT_THAT((*c)->create_subscription({"sub-00000002", "1001", "WEBHOOK", "http://127.0.0.1:1/hook", "k", ""}),
              IsOk());
  ASSERT_THAT((*c)->create_subscription({"sub-00000003", "1002", "EMAIL", "other@example.com", "", ""}), IsOk());
  EXPECT_THAT((*c)->create_subscription({"sub-00000004", "1001", "EMAIL", "ops@example.com", "", ""}),
              HasError(ErrorCode::kAlreadyExists, "duplicate"));
  ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
  ASSERT_THAT((*c)->create_import(image("1001", "img-bbbbbbbb", "b")), IsOk());
  for (int i = 0; i < 2; ++i) {
    auto t = (*c)->claim_task(100, 60);
    ASSERT_TRUE(t->has_value());
    ASSERT_THAT((*c)->finish_task(**t, failed("InvalidUrl"), note((*t)->image.name)), IsOk());
  }
  auto page = (*c)->describe_messages("1001", {}, false, 0, 20);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->total, 2);
  EXPECT_EQ(page->unread, 2);
  EXPECT_EQ(page->messages[0].title, "b");  // newest first
  // The cause is kept as text and as its message id (migration 5).
  auto failed_image = (*c)->get("1001", "img-aaaaaaaa");
  ASSERT_TRUE(failed_image->has_value());
  EXPECT_EQ((*failed_image)->error_message, "why");
  EXPECT_EQ((*failed_image)->error_cause, R"({"id":"import.download-failed","args":["x"]})");
  ASSERT_EQ(page->messages[0].deliveries.size(), 2u);
  EXPECT_EQ(page->messages[0].deliveries[0].state, "PENDING");
  EXPECT_EQ((*c)->describe_messages("1002", {}, false, 0, 20)->total, 0);  // another account's inbox is empty
  const std::string a_id = page->messages[1].message_id;
  EXPECT_THAT((*c)->mark_read("1002", {a_id}), HasError(ErrorCode::kNotFound, a_id));
  EXPECT_THAT((*c)->describe_messages("1002", {a_id}, false, 0, 20), HasError(ErrorCode::kNotFound, a_id));
  ASSERT_THAT((*c)->mark_read("1001", {a_id}), IsOk());
  EXPECT_EQ((*c)->describe_messages("1001", {}, true, 0, 20)->total, 1);  // UnreadOnly
  EXPECT_THAT((*c)->delete_messages("1001", {a_id, "msg-nothere"}), HasError(ErrorCode::kNotFound, "msg-nothere"));
  EXPECT_EQ((*c)->describe_messages("1001", {}, false, 0, 20)->total, 2);  // all or nothing
  // The outbox as the database holds it: four deliveries of account 1001, none for 1002's subscription.
  EXPECT_EQ(sql("SELECT channel, COUNT(*) FROM outbox GROUP BY channel ORDER BY channel"), "EMAIL|2\nWEBHOOK|2\n");
  ASSERT_THAT((*c)->delete_messages("1001", {a_id}), IsOk());
  EXPECT_EQ(sql("SELECT COUNT(*) FROM outbox"), "2\n");  // its deliveries went with it
  ASSERT_THAT((*c)->delete_subscription("1001", "sub-00000001"), IsOk());
  EXPECT_THAT((*c)->delete_subscription("1001", "sub-00000003"), HasError(ErrorCode::kNotFound, "sub-00000003"));
  EXPECT_EQ((*c)->describe_subscriptions("1001")->size(), 1u);
}

// Sharing (ModifyImageSharePermission): a NORMAL image shared by its owner appears to the other
// account as shared, without the owner's tags; the owner cannot remove it while it is shared; only
// the owner shares, unshares or lists; all-or-nothing shares and the bound on accounts. The rows
// are read back with the database's own tool.
TEST_P(CatalogTest, SharedImagesAppearToTheirAccountsAndBlockRemoval) {
  auto c = open();
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
  auto t = (*c)->claim_task(100, 60);
  ASSERT_TRUE(t->has_value());
  ASSERT_THAT((*c)->finish_task(**t, succeeded(), note("a")), IsOk());
  ASSERT_THAT((*c)->create_import(image("1001", "img-bbbbbbbb", "b")), IsOk());  // stays IMPORTING
  ASSERT_THAT((*c)->create_import(image("1002", "img-cccccccc", "c")), IsOk());
  EXPECT_THAT((*c)->share_image("1001", "img-bbbbbbbb", {"1002"}, 500), HasError(ErrorCode::kUnsupported, "IMPORTING"));
  EXPECT_THAT((*c)->share_image("1002", "img-aaaaaaaa", {"1003"}, 500), HasError(ErrorCode::kNotFound, "img-aaaaaaaa"));
  ASSERT_THAT((*c)->share_image("1001", "img-aaaaaaaa", {"1002"}, 500), IsOk());
  EXPECT_EQ(sql("SELECT image_id, account FROM image_shares"), "img-aaaaaaaa|1002\n");

  // 1002 sees its own image and the shared one; a filter on the type tells them apart.
  auto seen = (*c)->describe("1002", {}, {}, 0, 20);
  ASSERT_THAT(seen, IsOk());
  ASSERT_EQ(seen->total, 2);
  auto shared = (*c)->get("1002", "img-aaaaaaaa");
  ASSERT_TRUE(shared->has_value());
  EXPECT_TRUE((*shared)->shared);
  EXPECT_EQ((*shared)->account, "1001");
  EXPECT_TRUE((*shared)->tags.empty());  // the owner's tags stay the owner's
  EXPECT_FALSE((*(*c)->get("1002", "img-cccccccc"))->shared);
  EXPECT_FALSE((*(*c)->get("1001", "img-aaaaaaaa"))->shared);
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->share_count, 1);
  const auto ids_of = [&](const std::string& account, const std::string& type) {
    const auto page = (*c)->describe(account, {}, {{"image-type", {type}}}, 0, 20);
    std::string out;
    for (const auto& i : page->images) out += i.image_id + " ";
    return out;
  };
  EXPECT_EQ(ids_of("1002", "SHARED_IMAGE"), "img-aaaaaaaa ");
  EXPECT_EQ(ids_of("1002", "PRIVATE_IMAGE"), "img-cccccccc ");
  EXPECT_EQ(ids_of("1001", "SHARED_IMAGE"), "");
  EXPECT_EQ((*c)->describe("1002", {}, {{"tag:team", {"web"}}}, 0, 20)->total, 0);
  EXPECT_EQ((*c)->describe("1003", {}, {}, 0, 20)->total, 0);  // nobody else sees it
  EXPECT_EQ(*(*c)->count_images("1002"), 1);                   // nor does it count in 1002's quota

  // The receiver can neither remove, change, share nor list it; the owner cannot remove it now.
  EXPECT_THAT((*c)->remove("1002", "img-aaaaaaaa"), HasError(ErrorCode::kNotFound, "img-aaaaaaaa"));
  EXPECT_THAT((*c)->modify("1002", "img-aaaaaaaa", renamed("mine")), HasError(ErrorCode::kNotFound, "img-aaaaaaaa"));
  EXPECT_THAT((*c)->share_image("1002", "img-aaaaaaaa", {"1003"}, 500), HasError(ErrorCode::kNotFound, ""));
  EXPECT_THAT((*c)->image_shares("1002", "img-aaaaaaaa"), HasError(ErrorCode::kNotFound, ""));
  EXPECT_THAT((*c)->remove("1001", "img-aaaaaaaa"), HasError(ErrorCode::kUnsupported, "shared with 1 account"));
  ASSERT_TRUE((*c)->get("1001", "img-aaaaaaaa")->has_value());

  // Already shared with one of them, or past the bound: nothing is shared.
  EXPECT_THAT((*c)->share_image("1001", "img-aaaaaaaa", {"1003", "1002"}, 500),
              HasError(ErrorCode::kAlreadyExists, "1002"));
  EXPECT_THAT((*c)->share_image("1001", "img-aaaaaaaa", {"1003", "1004"}, 2),
              HasError(ErrorCode::kLimitExceeded, "shared with 1"));
  EXPECT_EQ(sql("SELECT COUNT(*) FROM image_shares"), "1\n");
  ASSERT_THAT((*c)->share_image("1001", "img-aaaaaaaa", {"1003"}, 2), IsOk());
  auto shares = (*c)->image_shares("1001", "img-aaaaaaaa");
  ASSERT_THAT(shares, IsOk());
  ASSERT_EQ(shares->size(), 2u);
  EXPECT_EQ((*shares)[0].created_time.size(), 20u);  // YYYY-MM-DDThh:mm:ssZ
  EXPECT_TRUE((*c)->get("1003", "img-aaaaaaaa")->has_value());

  // Cancelled (an account it was not shared with is no change), then removable; the shares go too.
  ASSERT_THAT((*c)->unshare_image("1001", "img-aaaaaaaa", {"1002", "1009"}), IsOk());
  EXPECT_FALSE((*c)->get("1002", "img-aaaaaaaa")->has_value());
  EXPECT_THAT((*c)->remove("1001", "img-aaaaaaaa"), HasError(ErrorCode::kUnsupported, "shared"));
  ASSERT_THAT((*c)->unshare_image("1001", "img-aaaaaaaa", {"1003"}), IsOk());
  EXPECT_THAT((*c)->unshare_image("1002", "img-aaaaaaaa", {"1003"}), HasError(ErrorCode::kNotFound, ""));
  ASSERT_THAT((*c)->remove("1001", "img-aaaaaaaa"), IsOk());
  EXPECT_EQ(sql("SELECT COUNT(*) FROM image_shares"), "0\n");
}

// An existing version-3 catalog (before sharing and stored failure causes) is migrated in place,
// its images kept.
TEST_P(CatalogTest, MigratesAVersionThreeCatalogToSharing) {
  {
    auto c = open();
    ASSERT_THAT(c, IsOk());
    ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
  }
  sql(GetParam() == "sqlite"
          ? "DROP TABLE image_shares; ALTER TABLE images DROP COLUMN error_cause; ALTER TABLE import_tasks DROP "
            "COLUMN progress_detail; PRAGMA user_version = 3"
          : "DROP TABLE image_shares; ALTER TABLE images DROP COLUMN error_cause; ALTER TABLE import_tasks DROP "
            "COLUMN progress_detail; UPDATE schema_version SET version = 3");
  EXPECT_EQ(sql(GetParam() == "sqlite" ? "SELECT COUNT(*) FROM sqlite_master WHERE name = 'image_shares'"
                                       : "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'image_shares'"),
            "0\n");
  auto c = open();
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ((*c)->schema_version(), kSchemaVersion);
  auto img = (*c)->get("1001", "img-aaaaaaaa");
  ASSERT_TRUE(img->has_value());
  EXPECT_EQ((*img)->share_count, 0);
  EXPECT_EQ((*img)->error_cause, "");  // migration 5's column, empty for an image from before
  auto t = (*c)->claim_task(100, 60);
  ASSERT_TRUE(t->has_value());
  ASSERT_THAT((*c)->progress_task(**t, {.percent = 5, .disk = 1, .disks = 1}, 200), IsOk());  // migration 7's column
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->progress.disk, 1);
  ASSERT_THAT((*c)->finish_task(**t, succeeded(), note("a")), IsOk());
  ASSERT_THAT((*c)->share_image("1001", "img-aaaaaaaa", {"1002"}, 500), IsOk());
  EXPECT_TRUE((*(*c)->get("1002", "img-aaaaaaaa"))->shared);
}

TEST_P(CatalogTest, DeliveriesAreLeasedRetriedAndGivenUp) {
  auto c = open();
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->create_subscription({"sub-00000001", "1001", "EMAIL", "ops@example.com", "", ""}), IsOk());
  ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
  auto t = (*c)->claim_task(100, 60);
  ASSERT_THAT((*c)->finish_task(**t, failed("InvalidUrl"), note("a")), IsOk());
  const std::int64_t now = 4'000'000'000;  // past the finish's own clock
  auto d = (*c)->claim_delivery(now, 30);
  ASSERT_THAT(d, IsOk());
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->attempts, 1);
  EXPECT_EQ((*d)->message.title, "a");
  EXPECT_EQ((*d)->endpoint, "ops@example.com");
  EXPECT_FALSE((*c)->claim_delivery(now + 29, 30)->has_value());  // leased
  ASSERT_THAT((*c)->finish_delivery(**d, false, "SMTP down", now + 100), IsOk());
  EXPECT_FALSE((*c)->claim_delivery(now + 99, 30)->has_value());  // waiting for its retry
  auto again = (*c)->claim_delivery(now + 100, 30);
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->attempts, 2);
  EXPECT_EQ((*again)->last_error, "SMTP down");
  EXPECT_THAT((*c)->finish_delivery(**d, true, "", 0), HasError(ErrorCode::kLeaseLost, "no longer held"));
  // A sender that died holding it: the lease runs out and the delivery is taken again.
  auto third = (*c)->claim_delivery(now + 131, 30);
  ASSERT_TRUE(third->has_value());
  EXPECT_EQ((*third)->attempts, 3);
  ASSERT_THAT((*c)->finish_delivery(**third, false, "550 mailbox unavailable", 0), IsOk());  // given up
  EXPECT_FALSE((*c)->claim_delivery(now + 1'000'000, 30)->has_value());
  auto page = (*c)->describe_messages("1001", {}, false, 0, 20);
  ASSERT_EQ(page->messages[0].deliveries.size(), 1u);
  EXPECT_EQ(page->messages[0].deliveries[0].state, "FAILED");
  EXPECT_EQ(page->messages[0].deliveries[0].last_error, "550 mailbox unavailable");
}

TEST(Catalog, MigratesAVersionOneCatalogKeepingItsRows) {
  TempDir dir;
  const std::string path = dir.file("catalog.sqlite");
  {
    auto c = catalog::Catalog::open(path);
    ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
  }
  // Back to version 1 as an older imagegate left it: without the version 2 to 7 tables and columns.
  run_ok(
      "sqlite3 " + path +
      " 'ALTER TABLE import_tasks DROP COLUMN progress_detail; ALTER TABLE images DROP COLUMN error_cause; DROP TABLE "
      "image_shares; ALTER TABLE images DROP COLUMN "
      "deprecated; DROP INDEX import_tasks_image; DROP TABLE "
      "outbox; DROP TABLE "
      "subscriptions; DROP TABLE messages; ALTER "
      "TABLE images DROP COLUMN "
      "language; ALTER TABLE images DROP COLUMN data_disks; ALTER TABLE images DROP COLUMN region; ALTER TABLE images "
      "DROP COLUMN source_sha256; PRAGMA "
      "user_version = 1'");
  auto c = catalog::Catalog::open(path);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ((*c)->schema_version(), kSchemaVersion);
  auto img = (*c)->get("1001", "img-aaaaaaaa");
  ASSERT_TRUE(img->has_value());
  EXPECT_EQ((*img)->language, "en");
  EXPECT_EQ(run_ok("sqlite3 " + path + " \"SELECT COUNT(*) FROM messages\""), "0\n");
}

TEST_P(CatalogTest, RefusesANewerSchemaItFinds) {
  ASSERT_THAT(open(), IsOk());
  sql(GetParam() == "sqlite" ? "PRAGMA user_version = 8" : "UPDATE schema_version SET version = 8");
  EXPECT_THAT(open(), HasError(ErrorCode::kUnsupported, "schema version 8"));
}

// Several processes starting at once on a new database: one migrates, the others wait for it.
TEST_P(CatalogTest, CatalogsOpenedAtOnceMigrateOnce) {
  constexpr int kOpeners = 4;
  std::vector<std::string> errors(kOpeners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      auto c = open();
      errors[static_cast<std::size_t>(i)] = c ? "" : c.error().message;
      if (c && (*c)->schema_version() != kSchemaVersion) errors[static_cast<std::size_t>(i)] = "old schema version";
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& e : errors) EXPECT_EQ(e, "");
}

// Several catalogs (connections) claiming from as many threads: each task is handed out once.
TEST_P(CatalogTest, ConcurrentClaimsNeverHandTheSameTaskTwice) {
  constexpr int kTasks = 24;
  constexpr int kClaimers = 4;
  {
    auto c = open();
    ASSERT_THAT(c, IsOk());
    for (int i = 0; i < kTasks; ++i) {
      ASSERT_THAT((*c)->create_import(image("1001", fmt::format("img-{:08}", i), fmt::format("n{}", i))), IsOk());
    }
  }
  std::vector<std::unique_ptr<catalog::Catalog>> catalogs;
  for (int i = 0; i < kClaimers; ++i) {
    auto c = open();
    ASSERT_THAT(c, IsOk());
    catalogs.push_back(std::move(*c));
  }
  std::vector<std::vector<std::int64_t>> claimed(kClaimers);
  std::vector<std::string> errors(kClaimers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClaimers; ++i) {
    threads.emplace_back([&, i] {
      for (;;) {
        auto t = catalogs[static_cast<std::size_t>(i)]->claim_task(1000, 600);
        if (!t) {
          errors[static_cast<std::size_t>(i)] = t.error().message;
          return;
        }
        if (!t->has_value()) return;
        claimed[static_cast<std::size_t>(i)].push_back((*t)->task_id);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::multiset<std::int64_t> all;
  for (int i = 0; i < kClaimers; ++i) {
    EXPECT_EQ(errors[static_cast<std::size_t>(i)], "");
    all.insert(claimed[static_cast<std::size_t>(i)].begin(), claimed[static_cast<std::size_t>(i)].end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(std::set<std::int64_t>(all.begin(), all.end()).size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(sql("SELECT COUNT(*) FROM import_tasks WHERE state = 'RUNNING' AND attempts = 1"),
            std::to_string(kTasks) + "\n");
}

// A lease that runs out is taken again (attempt + 1); after the last attempt the import fails
// with InternalError, its message and deliveries written as for any finish.
TEST_P(CatalogTest, ExpiredLeasesAreRetakenUpToTheLastAttempt) {
  auto c = open(catalog::CatalogOptions{3});
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->create_subscription({"sub-00000001", "1001", "EMAIL", "ops@example.com", "", ""}), IsOk());
  ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
  std::optional<catalog::Task> last;
  for (std::int64_t attempt = 1; attempt <= 3; ++attempt) {
    auto t = (*c)->claim_task(1000 + 100 * attempt, 60);
    ASSERT_THAT(t, IsOk());
    ASSERT_TRUE(t->has_value()) << attempt;
    EXPECT_EQ((*t)->attempt, attempt);
    last = **t;
  }
  EXPECT_FALSE((*c)->claim_task(1361, 60)->has_value());  // the third lease ran out at 1360: given up
  auto img = (*c)->get("1001", "img-aaaaaaaa");
  ASSERT_TRUE(img->has_value());
  EXPECT_EQ((*img)->state, "IMPORTFAILED");
  EXPECT_EQ((*img)->error_code, "InternalError");
  EXPECT_THAT((*img)->error_message, ::testing::HasSubstr("attempted 3 times; the workers died or timed out"));
  auto page = (*c)->describe_messages("1001", {}, false, 0, 20);
  ASSERT_EQ(page->total, 1);
  EXPECT_EQ(page->messages[0].error_code, "InternalError");
  EXPECT_THAT(page->messages[0].content, ::testing::HasSubstr("attempted 3 times"));
  ASSERT_EQ(page->messages[0].deliveries.size(), 1u);
  // The last holder comes back too late.
  EXPECT_THAT((*c)->finish_task(*last, succeeded(), note("late")), HasError(ErrorCode::kLeaseLost, "already finished"));
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->state, "IMPORTFAILED");
}

// An image becomes NORMAL once: a second finish, by the holder or a stale one, is refused and
// writes nothing. A delivery keeps its id over its attempts.
TEST_P(CatalogTest, FinishHappensExactlyOnceAndDeliveryIdsAreStable) {
  auto c = open();
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->create_subscription({"sub-00000001", "1001", "EMAIL", "ops@example.com", "", ""}), IsOk());
  ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
  auto first = (*c)->claim_task(1000, 60);
  auto second = (*c)->claim_task(1061, 60);
  ASSERT_TRUE(second->has_value());
  EXPECT_THAT((*c)->progress_task(**first, {.percent = 10}, 2000), HasError(ErrorCode::kLeaseLost, "no longer held"));
  const auto importing = [&](const std::string& id) {
    auto r = (*c)->importing(id);
    EXPECT_THAT(r, IsOk());
    return r && *r;
  };
  EXPECT_TRUE(importing("img-aaaaaaaa"));
  ASSERT_THAT((*c)->finish_task(**second, succeeded(), note("ok")), IsOk());
  EXPECT_FALSE(importing("img-aaaaaaaa"));
  EXPECT_FALSE(importing("img-zzzzzzzz"));
  EXPECT_THAT((*c)->finish_task(**second, succeeded(), note("again")),
              HasError(ErrorCode::kLeaseLost, "already finished (DONE)"));
  EXPECT_THAT((*c)->finish_task(**first, succeeded(), note("stale")),
              HasError(ErrorCode::kLeaseLost, "no longer held"));
  EXPECT_THAT((*c)->progress_task(**second, {.percent = 10}, 2000), HasError(ErrorCode::kLeaseLost, "no longer held"));
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->state, "NORMAL");
  EXPECT_EQ(sql("SELECT COUNT(*) FROM messages"), "1\n");
  EXPECT_EQ(sql("SELECT COUNT(*) FROM outbox"), "1\n");
  const std::int64_t now = 4'000'000'000;
  auto d1 = (*c)->claim_delivery(now, 30);
  ASSERT_TRUE(d1->has_value());
  ASSERT_THAT((*c)->finish_delivery(**d1, false, "down", now + 10), IsOk());
  auto d2 = (*c)->claim_delivery(now + 10, 30);
  ASSERT_TRUE(d2->has_value());
  EXPECT_EQ((*d2)->delivery_id, (*d1)->delivery_id);
  EXPECT_EQ((*d2)->message.message_id, (*d1)->message.message_id);
  EXPECT_THAT((*c)->finish_delivery(**d1, true, "", 0), HasError(ErrorCode::kLeaseLost, "no longer held"));
}

TEST_P(CatalogTest, AReleasedTaskIsTakenAgainAtOnce) {
  auto c = open();
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
  auto first = (*c)->claim_task(1000, 60);
  ASSERT_TRUE(first->has_value());
  ASSERT_THAT((*c)->release_task(**first), IsOk());
  EXPECT_EQ(sql("SELECT state, attempts FROM import_tasks"), "QUEUED|1\n");
  EXPECT_THAT((*c)->release_task(**first), HasError(ErrorCode::kLeaseLost, "no longer held"));
  // Taken again at once, well before the first lease would have run out; the releasing holder
  // can no longer finish it.
  auto second = (*c)->claim_task(1001, 60);
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->attempt, 2);
  EXPECT_THAT((*c)->finish_task(**first, succeeded(), note("stale")),
              HasError(ErrorCode::kLeaseLost, "no longer held"));
  ASSERT_THAT((*c)->finish_task(**second, succeeded(), note("ok")), IsOk());
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->state, "NORMAL");
}

// PostgreSQL restarts under a running catalog: the next calls reconnect.
TEST(CatalogPostgres, ReconnectsAfterAServerRestart) {
  std::string why;
  auto server = own_postgres_server(&why);
  if (!server) GTEST_SKIP() << "no PostgreSQL server of its own to restart: " << why;
  PostgresDatabase db(*server, "restart");
  auto c = catalog::open_catalog(db.url());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
  restart_own_postgres_server();
  EXPECT_THAT((*c)->ping(), IsOk());
  restart_own_postgres_server();
  auto t = (*c)->claim_task(1000, 60);  // a write, on a connection the restart broke
  ASSERT_THAT(t, IsOk());
  ASSERT_TRUE(t->has_value());
  restart_own_postgres_server();
  ASSERT_THAT((*c)->finish_task(**t, succeeded(), note("a")), IsOk());
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->state, "NORMAL");
  // While the server is down the catalog says so (kUnavailable, not kIo), and recovers after.
  stop_own_postgres_server();
  EXPECT_THAT((*c)->ping(), HasError(ErrorCode::kUnavailable, "PostgreSQL"));
  EXPECT_THAT((*c)->count_images("1001"), HasError(ErrorCode::kUnavailable, ""));
  start_own_postgres_server();
  EXPECT_THAT((*c)->ping(), IsOk());
  EXPECT_EQ(*(*c)->count_images("1001"), 1);
}

TEST(CatalogPostgres, AnUnreachableServerIsUnavailable) {
  EXPECT_THAT(catalog::open_catalog("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2"),
              HasError(ErrorCode::kUnavailable, "cannot connect to PostgreSQL"));
}

}  // namespace
}  // namespace ig::test
