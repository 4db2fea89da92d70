// The catalog on a real SQLite file: migrations, durability across reopening, names unique per
// account, accounts isolated, filters and pages; task leases; the message center, subscriptions
// and the outbox, read back with the sqlite3 command-line tool.
#include "catalog/catalog.h"

#include "support/test_support.h"

namespace ig::test {
namespace {

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

TEST(Catalog, MigratesPersistsAndIsolatesAccounts) {
  TempDir dir;
  const std::string path = dir.file("catalog.sqlite");
  {
    auto c = catalog::Catalog::open(path);
    ASSERT_THAT(c, IsOk());
    EXPECT_EQ((*c)->schema_version(), 2);
    ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
    ASSERT_THAT((*c)->create_import(image("1001", "img-bbbbbbbb", "b")), IsOk());
    ASSERT_THAT((*c)->create_import(image("1002", "img-cccccccc", "a")), IsOk());  // same name, other account
    EXPECT_THAT((*c)->create_import(image("1001", "img-dddddddd", "a")),
                HasError(ErrorCode::kAlreadyExists, "duplicate"));
  }
  auto c = catalog::Catalog::open(path);  // reopened: the rows are durable, the schema not re-created
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
  EXPECT_THAT((*c)->modify("1001", "img-aaaaaaaa", std::string("b"), std::nullopt),
              HasError(ErrorCode::kAlreadyExists, "duplicate"));
  ASSERT_THAT((*c)->modify("1001", "img-aaaaaaaa", std::string("renamed"), std::string("d")), IsOk());
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->name, "renamed");
  ASSERT_THAT((*c)->remove("1001", "img-bbbbbbbb"), IsOk());
  EXPECT_EQ(*(*c)->count_images("1001"), 1);
  // The import tasks were queued with their images, and deleting an image removed its task.
  EXPECT_EQ(run_ok("sqlite3 " + path + " \"SELECT image_id, state FROM import_tasks ORDER BY image_id\""),
            "img-aaaaaaaa|QUEUED\nimg-cccccccc|QUEUED\n");
}

TEST(Catalog, RefusesANewerSchema) {
  TempDir dir;
  const std::string path = dir.file("catalog.sqlite");
  run_ok("sqlite3 " + path + " 'PRAGMA user_version = 7'");
  EXPECT_THAT(catalog::Catalog::open(path), HasError(ErrorCode::kUnsupported, "schema version 7"));
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
  return o;
}

catalog::Outcome succeeded() {
  catalog::Outcome o;
  o.ok = true;
  return o;
}

TEST(Catalog, TaskLeasesRunOutAndStaleHoldersAreRefused) {
  TempDir dir;
  auto c = catalog::Catalog::open(dir.file("catalog.sqlite"));
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
  auto first = (*c)->claim_task(1000, 60);
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->attempt, 1);
  EXPECT_FALSE((*c)->claim_task(1059, 60)->has_value());  // held until 1060
  ASSERT_THAT((*c)->progress_task(**first, 40, 1100), IsOk());
  EXPECT_EQ((*(*c)->get("1001", "img-aaaaaaaa"))->progress, 40);
  EXPECT_FALSE((*c)->claim_task(1099, 60)->has_value());  // progress renewed the lease to 1100
  auto second = (*c)->claim_task(1101, 60);               // the first holder "crashed"
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->attempt, 2);
  EXPECT_THAT((*c)->progress_task(**first, 50, 2000), HasError(ErrorCode::kLeaseLost, "no longer held"));
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

TEST(Catalog, FinishingATaskWritesItsMessageAndOneDeliveryPerSubscription) {
  TempDir dir;
  const std::string path = dir.file("catalog.sqlite");
  auto c = catalog::Catalog::open(path);
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
  // The outbox as SQLite holds it: four deliveries of account 1001, none for 1002's subscription.
  EXPECT_EQ(run_ok("sqlite3 " + path + " \"SELECT channel, COUNT(*) FROM outbox GROUP BY channel\""),
            "EMAIL|2\nWEBHOOK|2\n");
  ASSERT_THAT((*c)->delete_messages("1001", {a_id}), IsOk());
  EXPECT_EQ(run_ok("sqlite3 " + path + " \"SELECT COUNT(*) FROM outbox\""), "2\n");  // its deliveries went with it
  ASSERT_THAT((*c)->delete_subscription("1001", "sub-00000001"), IsOk());
  EXPECT_THAT((*c)->delete_subscription("1001", "sub-00000003"), HasError(ErrorCode::kNotFound, "sub-00000003"));
  EXPECT_EQ((*c)->describe_subscriptions("1001")->size(), 1u);
}

TEST(Catalog, DeliveriesAreLeasedRetriedAndGivenUp) {
  TempDir dir;
  auto c = catalog::Catalog::open(dir.file("catalog.sqlite"));
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
  // Back to version 1 as an older imagegate left it: without the version 2 tables and columns.
  run_ok(
      "sqlite3 " + path +
      " 'DROP INDEX import_tasks_image; DROP TABLE outbox; DROP TABLE subscriptions; DROP TABLE messages; ALTER "
      "TABLE images DROP COLUMN "
      "language; ALTER TABLE images DROP COLUMN data_disks; ALTER TABLE images DROP COLUMN region; ALTER TABLE images "
      "DROP COLUMN source_sha256; PRAGMA "
      "user_version = 1'");
  auto c = catalog::Catalog::open(path);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ((*c)->schema_version(), 2);
  auto img = (*c)->get("1001", "img-aaaaaaaa");
  ASSERT_TRUE(img->has_value());
  EXPECT_EQ((*img)->language, "en");
  EXPECT_EQ(run_ok("sqlite3 " + path + " \"SELECT COUNT(*) FROM messages\""), "0\n");
}

}  // namespace
}  // namespace ig::test
