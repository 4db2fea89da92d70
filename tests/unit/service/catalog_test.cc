// The catalog on a real SQLite file: migrations, durability across reopening, names unique per
// account, accounts isolated, filters and pages.
#include "service/catalog.h"

#include "support/test_support.h"

namespace ig::test {
namespace {

service::Image image(const std::string& account, const std::string& id, const std::string& name) {
  service::Image i;
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
    auto c = service::Catalog::open(path);
    ASSERT_THAT(c, IsOk());
    EXPECT_EQ((*c)->schema_version(), 1);
    ASSERT_THAT((*c)->create_import(image("1001", "img-aaaaaaaa", "a")), IsOk());
    ASSERT_THAT((*c)->create_import(image("1001", "img-bbbbbbbb", "b")), IsOk());
    ASSERT_THAT((*c)->create_import(image("1002", "img-cccccccc", "a")), IsOk());  // same name, other account
    EXPECT_THAT((*c)->create_import(image("1001", "img-dddddddd", "a")),
                HasError(ErrorCode::kInvalidArgument, "duplicate"));
  }
  auto c = service::Catalog::open(path);  // reopened: the rows are durable, the schema not re-created
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
              HasError(ErrorCode::kInvalidArgument, "duplicate"));
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
  EXPECT_THAT(service::Catalog::open(path), HasError(ErrorCode::kUnsupported, "schema version 7"));
}

}  // namespace
}  // namespace ig::test
