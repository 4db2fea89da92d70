// The service configuration and the GET query decoding, on bad input.
#include <gtest/gtest.h>

#include "api/server.h"

namespace ig {
namespace {

std::string config_error(const char* text) {
  const auto c = api::parse_api_config(nlohmann::json::parse(text));
  return c ? "" : c.error().message;
}

TEST(ApiConfig, EachMistakeIsNamed) {
  EXPECT_EQ(config_error(R"({"accounts": [{"secret_id": "AKID1", "secret_key": "k"}]})"), "");
  EXPECT_NE(config_error(R"({})").find("\"accounts\""), std::string::npos);
  EXPECT_NE(config_error(R"({"accounts": []})").find("non-empty \"accounts\""), std::string::npos);
  EXPECT_NE(config_error(R"({"accounts": [{"secret_id": "AKID1"}]})").find("\"secret_key\""), std::string::npos);
  EXPECT_NE(config_error(R"({"accounts": [{"secret_id": 5, "secret_key": "k"}]})").find("\"secret_id\""),
            std::string::npos);
  EXPECT_NE(
      config_error(R"({"accounts": [{"secret_id": "A", "secret_key": "k"}, {"secret_id": "A", "secret_key": "j"}]})")
          .find("appears twice"),
      std::string::npos);
  EXPECT_NE(
      config_error(R"({"accounts": [{"secret_id": "A", "secret_key": "k"}], "services": "cvm"})").find("\"services\""),
      std::string::npos);
  EXPECT_NE(config_error(R"({"accounts": [{"secret_id": "A", "secret_key": "k"}], "regions": ["ap-x", 5]})")
                .find("\"regions\" must be a non-empty array"),
            std::string::npos);
  EXPECT_EQ(config_error(R"({"accounts": [{"secret_id": "A", "secret_key": "k", "app_id": "1250000001"}]})"), "");
  // An account id is digits, as the cloud's are: sharing names accounts by it.
  for (const char* bad : {R"("team-a")", R"("")", R"(1250000001)", R"("123456789012345678901")"}) {
    EXPECT_NE(
        config_error(
            (R"({"accounts": [{"secret_id": "A", "secret_key": "k", "app_id": )" + std::string(bad) + "}]}").c_str())
            .find("\"app_id\" must be a string of 1 to 20 digits"),
        std::string::npos)
        << bad;
  }
  EXPECT_NE(config_error(R"({"accounts": [{"secret_id": "A", "secret_key": "k"}], "timestamp_window": -1})")
                .find("\"timestamp_window\""),
            std::string::npos);
}

TEST(UnflattenQuery, ListsObjectsTypesAndBounds) {
  const auto j = api::unflatten_query(
      "Filters.0.Name=image-type&Filters.0.Values.0=PRIVATE%5FIMAGE&Offset=0&Limit=10"
      "&DryRun=true&ImageName=a%20b");
  EXPECT_EQ(j["Filters"][0]["Name"], "image-type");
  EXPECT_EQ(j["Filters"][0]["Values"][0], "PRIVATE_IMAGE");
  // Types are the action schema's to give: the query only carries strings.
  EXPECT_EQ(j["Limit"], "10");
  EXPECT_EQ(j["DryRun"], "true");
  EXPECT_EQ(j["ImageName"], "a b");
  // An index past the bound is dropped rather than allocated; malformed escapes stay literal.
  const auto big = api::unflatten_query("ImageIds.99999=x&Bad=%zz");
  EXPECT_FALSE(big.contains("ImageIds") && big["ImageIds"].size() > 1000);
  EXPECT_EQ(big["Bad"], "%zz");
}

// The protocol's own codes, before any action runs (issue 13, point 6).
TEST(ApiProtocol, VersionAndAuthorizationCodes) {
  api::ApiConfig config;
  config.accounts.push_back({"AKIDexample", "example-key", "1250000001", "en"});
  const api::Api api(config);
  const auto code_of = [&](std::map<std::string, std::string> headers) {
    api::HttpRequest r{"POST", "/", "", std::move(headers), "{}"};
    const auto body = nlohmann::json::parse(api.handle(r).body);
    return body["Response"]["Error"].value("Code", "");
  };
  std::map<std::string, std::string> h = {
      {"x-tc-action", "DescribeImages"}, {"host", "cvm.example"}, {"content-type", "application/json"}};
  EXPECT_EQ(code_of(h), "MissingParameter");  // no X-TC-Version
  h["x-tc-version"] = "2099-01-01";
  EXPECT_EQ(code_of(h), "NoSuchVersion");
  h["x-tc-version"] = "2017-03-12";
  EXPECT_EQ(code_of(h), "AuthFailure.InvalidAuthorization");  // no Authorization
  h["authorization"] = "Bearer something";
  EXPECT_EQ(code_of(h), "AuthFailure.InvalidAuthorization");
  h["x-tc-token"] = "a-session-token";  // only temporary credentials carry one
  EXPECT_EQ(code_of(h), "AuthFailure.TokenFailure");
}

// X-TC-Region, checked once the caller is authenticated: missing, unknown, configured.
TEST(ApiProtocol, RegionCodes) {
  api::ApiConfig config;
  config.accounts.push_back({"AKIDexample", "example-key", "1250000001", "en"});
  config.regions = {"ap-guangzhou", "eu-frankfurt"};
  const std::int64_t now = 1767225600;  // 2026-01-01
  api::Api api(config, [now] { return now; });
  api.on("Ping", [](const api::Call& c) {
    api::Reply r;
    r.fields["Region"] = c.region;
    return r;
  });
  const auto call = [&](const std::string& region) {
    api::HttpRequest r{"POST", "/", "", {}, "{}"};
    r.headers = {{"x-tc-action", "Ping"},
                 {"x-tc-version", "2017-03-12"},
                 {"host", "cvm.example"},
                 {"content-type", "application/json"},
                 {"x-tc-timestamp", std::to_string(now)}};
    if (!region.empty()) r.headers["x-tc-region"] = region;
    const api::ReceivedRequest received{"POST", "/", "", "application/json", "cvm.example", "{}", {}};
    const std::string date = api::utc_date(now);
    const std::string signature =
        api::tc3_signature("example-key", now, date, "cvm", api::canonical_request(received, {"content-type", "host"}));
    r.headers["authorization"] = "TC3-HMAC-SHA256 Credential=AKIDexample/" + date +
                                 "/cvm/tc3_request, SignedHeaders=content-type;host, Signature=" + signature;
    return nlohmann::json::parse(api.handle(r).body)["Response"];
  };
  EXPECT_EQ(call("eu-frankfurt")["Region"], "eu-frankfurt");
  EXPECT_EQ(call("")["Error"]["Code"], "MissingParameter");
  EXPECT_EQ(call("ap-nowhere")["Error"]["Code"], "UnsupportedRegion");
  EXPECT_EQ(call("ap-shanghai")["Error"]["Code"], "UnsupportedRegion");  // real, but not configured here
}

}  // namespace
}  // namespace ig
