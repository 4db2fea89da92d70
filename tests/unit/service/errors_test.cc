// The one table from internal errors to API errors (issue 12): the code by ErrorCode, a safe
// sentence naming the RequestId for the client, never the internal message. And what DescribeImages
// says of an import beside the cloud's fields: its failure cause, its progress.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "service/actions.h"
#include "support/test_support.h"

namespace ig {
namespace {

TEST(InternalErrors, OneTableAndNoInternalTextForTheClient) {
  api::Call c;
  c.request_id = "0f3c2a9e-1111-2222-3333-444455556666";
  c.action = "DescribeImages";
  const std::string sql = "SQLITE_BUSY: UPDATE images SET state = ?2 WHERE image_id = ?1";
  const std::pair<Error, const char*> cases[] = {
      {Error::not_found(sql), "ResourceNotFound"},   {Error::already_exists(sql), "ResourceInUse"},
      {Error::limit_exceeded(sql), "LimitExceeded"}, {Error::unavailable(sql), "InternalError"},
      {Error::internal(sql), "InternalError"},       {Error::io(sql), "InternalError"},
      {Error::lease_lost(sql), "InternalError"},     {Error::corrupt(sql), "InternalError"},
  };
  for (const auto& [error, code] : cases) {
    const api::Reply r = service::internal_error(c, error);
    EXPECT_EQ(r.error_code, code) << error_code_name(error.code);
    for (const Lang lang : {Lang::kEn, Lang::kZh, Lang::kJa, Lang::kId, Lang::kPt}) {
      const std::string text = render(r.error_message, lang);
      EXPECT_EQ(text.find("SELECT"), std::string::npos) << text;
      EXPECT_EQ(text.find("UPDATE"), std::string::npos) << text;
      EXPECT_NE(text.find(c.request_id), std::string::npos) << text;
    }
  }
  EXPECT_EQ(service::internal_error(c, Error::unavailable(sql)).error_message.id, "api.unavailable");
  EXPECT_EQ(service::internal_error(c, Error::internal(sql)).error_message.id, "api.internal");
  EXPECT_EQ(render(service::internal_error(c, Error::internal(sql)).error_message, Lang::kZh),
            "发生内部错误；服务日志中以 RequestId 0f3c2a9e-1111-2222-3333-444455556666 记录了详细信息");
}

constexpr std::int64_t kNow = 1767225600;

// DescribeImages by the account AKIDexample, signed, in `language`: the reply's Response.
nlohmann::json describe_images(api::Api& api, const std::string& language) {
  api::HttpRequest r{"POST", "/", "", {}, "{}"};
  r.headers = {{"x-tc-action", "DescribeImages"},    {"x-tc-version", "2017-03-12"},
               {"x-tc-region", "ap-guangzhou"},      {"host", "cvm.example"},
               {"content-type", "application/json"}, {"x-tc-timestamp", std::to_string(kNow)},
               {"x-tc-language", language}};
  const api::ReceivedRequest received{"POST", "/", "", "application/json", "cvm.example", "{}", {}};
  const std::string date = api::utc_date(kNow);
  r.headers["authorization"] =
      "TC3-HMAC-SHA256 Credential=AKIDexample/" + date + "/cvm/tc3_request, SignedHeaders=content-type;host, " +
      "Signature=" +
      api::tc3_signature("example-key", kNow, date, "cvm", api::canonical_request(received, {"content-type", "host"}));
  return nlohmann::json::parse(api.handle(r).body)["Response"];
}

catalog::Image an_image() {
  catalog::Image img;
  img.image_id = "img-aaaaaaaa";
  img.account = "1250000001";
  img.name = "a";
  img.os_name = "Debian";
  img.os_version = "12";
  img.architecture = "x86_64";
  img.platform = "Linux";
  img.image_url = "http://example.invalid/a";
  return img;
}

// An import's failure cause is stored as its message id (migration 5) and DescribeImages renders
// it in each request's language; the account's language is the default.
TEST(ImportFailureCause, RenderedInTheRequestsLanguage) {
  test::TempDir dir;
  auto catalog = catalog::open_catalog(dir.file("catalog.sqlite"));
  ASSERT_TRUE(catalog) << catalog.error().message;
  ASSERT_TRUE((*catalog)->create_import(an_image()));
  auto task = (*catalog)->claim_task(100, 60);
  ASSERT_TRUE(task && task->has_value());
  catalog::Outcome out;
  out.error_code = "InternalError";
  out.error_message = "an internal error stopped the import: disk full";
  out.error_cause = R"({"id":"import.internal","args":["disk full"]})";
  catalog::InboxMessage note;
  note.kind = "IMPORT_FAILED";
  note.language = "en";
  ASSERT_TRUE((*catalog)->finish_task(**task, out, note));

  api::ApiConfig config;
  config.accounts.push_back({"AKIDexample", "example-key", "1250000001", "en"});
  api::Api api(config, [] { return kNow; });
  service::register_catalog_actions(api, **catalog);
  const auto describe = [&](const std::string& language) {
    const auto j = describe_images(api, language);
    EXPECT_EQ(j["ImageSet"].size(), 1u) << j.dump();
    return j["ImageSet"][0].value("ImportErrorMessage", "");
  };
  EXPECT_EQ(describe("en-US"), "an internal error stopped the import: disk full");
  EXPECT_EQ(describe("zh-CN"), render({"import.internal", {"disk full"}}, Lang::kZh));
  EXPECT_NE(describe("zh-CN"), describe("en-US"));
}

// While an import runs, DescribeImages gives its percent and, once the worker has recorded one,
// the detail: the disk, its bytes fetched and converted, the seconds left (null without an estimate).
TEST(ImportProgress, DescribedWithTheWorkersDetail) {
  test::TempDir dir;
  auto catalog = catalog::open_catalog(dir.file("catalog.sqlite"));
  ASSERT_TRUE(catalog) << catalog.error().message;
  ASSERT_TRUE((*catalog)->create_import(an_image()));
  api::ApiConfig config;
  config.accounts.push_back({"AKIDexample", "example-key", "1250000001", "en"});
  api::Api api(config, [] { return kNow; });
  service::register_catalog_actions(api, **catalog);
  auto image = [&] { return describe_images(api, "en-US")["ImageSet"][0]; };
  // Queued: no percent yet, and no detail.
  EXPECT_EQ(image()["ImportProgress"], 0);
  EXPECT_FALSE(image().contains("ImportProgressDetail")) << image().dump();
  auto task = (*catalog)->claim_task(100, 60);
  ASSERT_TRUE(task && task->has_value());
  ASSERT_TRUE((*catalog)->progress_task(**task,
                                        {.percent = 37,
                                         .disk = 1,
                                         .disks = 2,
                                         .fetched = 805306368,
                                         .bytes = 2147483648,
                                         .converted = 536870912,
                                         .virtual_bytes = 10737418240,
                                         .seconds_left = 42},
                                        200));
  EXPECT_EQ(image()["ImportProgress"], 37);
  EXPECT_EQ(image()["ImportProgressDetail"],
            nlohmann::json::parse(R"({"Disk": 1, "Disks": 2, "FetchedBytes": 805306368, "TotalBytes": 2147483648,
                                     "ConvertedBytes": 536870912, "VirtualBytes": 10737418240, "SecondsLeft": 42})"));
  ASSERT_TRUE((*catalog)->progress_task(**task, {.percent = 38, .disk = 1, .disks = 2, .seconds_left = -1}, 200));
  EXPECT_TRUE(image()["ImportProgressDetail"]["SecondsLeft"].is_null()) << image().dump();
  // Finished: neither.
  catalog::InboxMessage note;
  note.kind = "IMPORT_FAILED";
  note.language = "en";
  catalog::Outcome out;
  out.error_code = "InvalidUrl";
  out.error_message = "gone";
  ASSERT_TRUE((*catalog)->finish_task(**task, out, note));
  EXPECT_FALSE(image().contains("ImportProgress")) << image().dump();
  EXPECT_FALSE(image().contains("ImportProgressDetail")) << image().dump();
}

}  // namespace
}  // namespace ig
