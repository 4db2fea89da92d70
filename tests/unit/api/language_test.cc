// The language of error messages (issue 13, point 12): X-TC-Language when it names one of the
// five languages, else the account's configured language, else English; the code stays English.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/server.h"

namespace ig {
namespace {

constexpr std::int64_t kNow = 1767225600;  // 2026-01-01

api::Api make_api(const std::string& account_language) {
  api::ApiConfig config;
  config.accounts.push_back({"AKIDexample", "example-key", "1250000001", account_language});
  api::Api api(config, [] { return kNow; });
  api.on("Lookup", [](const api::Call&) {
    return api::Reply::error("InvalidImageId.NotFound", {"api.image-not-found", {"img-12345678"}});
  });
  return api;
}

// A signed TC3 call of Lookup, with X-TC-Language when `language` is not empty.
nlohmann::json call(const api::Api& api, const std::string& language, bool sign = true) {
  api::HttpRequest r{"POST", "/", "", {}, "{}"};
  r.headers = {
      {"x-tc-action", "Lookup"}, {"x-tc-version", "2017-03-12"},       {"x-tc-region", "ap-guangzhou"},
      {"host", "cvm.example"},   {"content-type", "application/json"}, {"x-tc-timestamp", std::to_string(kNow)}};
  if (!language.empty()) r.headers["x-tc-language"] = language;
  if (sign) {
    const api::ReceivedRequest received{"POST", "/", "", "application/json", "cvm.example", "{}", {}};
    const std::string date = api::utc_date(kNow);
    const std::string signature = api::tc3_signature("example-key", kNow, date, "cvm",
                                                     api::canonical_request(received, {"content-type", "host"}));
    r.headers["authorization"] = "TC3-HMAC-SHA256 Credential=AKIDexample/" + date +
                                 "/cvm/tc3_request, SignedHeaders=content-type;host, Signature=" + signature;
  }
  return nlohmann::json::parse(api.handle(r).body)["Response"]["Error"];
}

TEST(ApiLanguage, TheHeaderChoosesTheLanguage) {
  const api::Api api = make_api("en");
  const std::pair<const char*, const char*> cases[] = {
      {"en-US", "image img-12345678 does not exist"},    {"zh-CN", "镜像 img-12345678 不存在"},
      {"ja-JP", "イメージ img-12345678 は存在しません"}, {"id-ID", "citra img-12345678 tidak ada"},
      {"pt-BR", "a imagem img-12345678 não existe"},
  };
  for (const auto& [language, text] : cases) {
    const auto error = call(api, language);
    EXPECT_EQ(error["Code"], "InvalidImageId.NotFound") << language;
    EXPECT_EQ(error["Message"], text) << language;
  }
}

TEST(ApiLanguage, WithoutAHeaderTheAccountsLanguageElseEnglish) {
  EXPECT_EQ(call(make_api("pt"), "")["Message"], "a imagem img-12345678 não existe");
  EXPECT_EQ(call(make_api("zh"), "")["Message"], "镜像 img-12345678 不存在");
  // A language the service does not speak is ignored, as the cloud ignores it: the account's.
  EXPECT_EQ(call(make_api("ja"), "fr-FR")["Message"], "イメージ img-12345678 は存在しません");
  EXPECT_EQ(call(make_api("ja"), "fr-FR")["Code"], "InvalidImageId.NotFound");
  // The header wins over the account.
  EXPECT_EQ(call(make_api("ja"), "en-US")["Message"], "image img-12345678 does not exist");
}

TEST(ApiLanguage, RefusalsBeforeAuthenticationSpeakTheHeaderElseEnglish) {
  const api::Api api = make_api("pt");
  // No Authorization: no account is known yet, so English unless the header says otherwise.
  EXPECT_EQ(call(api, "", false)["Message"], "the Authorization header is missing");
  EXPECT_EQ(call(api, "zh-CN", false)["Message"], "缺少 Authorization 请求头");
  EXPECT_EQ(call(api, "zh-CN", false)["Code"], "AuthFailure.InvalidAuthorization");
}

}  // namespace
}  // namespace ig
