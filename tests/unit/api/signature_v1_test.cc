// Signature v1 (HmacSHA1, HmacSHA256) against the official SDK: the requests its own signer sent
// as GET queries and form POST bodies (v1_vectors.json, made by make_v1_vectors.js beside it),
// verified alone and through the API front end, whose handlers must receive the same parameters
// as the SDK was given; and the protocol's codes on v1 requests.
#include "api/signature_v1.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "api/server.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

// The error code of a verification, "" when the request is authentic.
std::string code_of(const api::ApiResult<std::string>& r) {
  return r ? "" : r.error().code;
}

using nlohmann::json;

const char* const kSecretId = "AKIDdummy0000000000000000000000000000";

std::optional<std::string> dummy_key(const std::string& id, const void* /*context*/) {
  if (id == kSecretId) return std::string("dummy-secret-key");
  return std::nullopt;
}

json vectors() {
  std::ifstream in(std::string(IG_SOURCE_DIR) + "/tests/unit/api/v1_vectors.json");
  return json::parse(in);
}

// The parameters as a GET query or form carries them: every leaf a string.
json as_strings(const json& j) {
  if (j.is_object() || j.is_array()) {
    json out = j;
    for (auto& e : out) e = as_strings(e);
    return out;
  }
  return j.is_string() ? j : json(j.dump());
}

api::V1Input input_of(const json& v) {
  const std::string method = v["method"];
  return {method,         v["host"],
          v["path"],      api::parse_query(v[method == "GET" ? "query" : "body"].get<std::string>()),
          v["timestamp"], 300};
}

// A form body of `pairs`, every byte but the unreserved ones escaped.
std::string form(const api::QueryPairs& pairs) {
  const auto escape = [](const std::string& s) {
    std::string out;
    for (const char c : s) {
      if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
        out += c;
      } else {
        out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
      }
    }
    return out;
  };
  std::string out;
  for (const auto& [k, v] : pairs) out += (out.empty() ? "" : "&") + escape(k) + "=" + escape(v);
  return out;
}

std::string replace_pair(api::V1Input& in, const std::string& name, const std::string& value) {
  for (auto& p : in.pairs) {
    if (p.first == name) p.second = value;
  }
  return value;
}

TEST(SignatureV1, KnownAnswerVectorsOfTheSdkSigner) {
  const json all = vectors();
  ASSERT_EQ(all.size(), 4u);
  int sha1 = 0;
  int get = 0;
  for (const json& v : all) {
    SCOPED_TRACE(v["name"].get<std::string>());
    api::V1Input in = input_of(v);
    // The text signed is the one the SDK's formatSignString built.
    EXPECT_EQ(api::v1_string_to_sign(in.method, in.host, in.path, in.pairs), v["signString"]);
    const std::string* method = api::find_pair(in.pairs, "SignatureMethod");
    ASSERT_NE(method, nullptr);
    sha1 += *method == "HmacSHA1" ? 1 : 0;
    get += in.method == "GET" ? 1 : 0;
    EXPECT_EQ(api::v1_signature("dummy-secret-key", *method, v["signString"].get<std::string>()),
              *api::find_pair(in.pairs, "Signature"));
    const auto who = api::verify_v1(in, dummy_key, nullptr);
    ASSERT_TRUE(who.has_value());
    EXPECT_EQ(*who, kSecretId);
    // Five minutes and one second later: expired. Another key, or a value changed: a failure.
    in.now += 301;
    EXPECT_EQ(code_of(api::verify_v1(in, dummy_key, nullptr)), "AuthFailure.SignatureExpire");
    in.now -= 301;
    auto wrong = [](const std::string&, const void*) -> std::optional<std::string> { return "another-key"; };
    EXPECT_EQ(code_of(api::verify_v1(in, wrong, nullptr)), "AuthFailure.SignatureFailure");
    auto unknown = [](const std::string&, const void*) -> std::optional<std::string> { return std::nullopt; };
    EXPECT_EQ(code_of(api::verify_v1(in, unknown, nullptr)), "AuthFailure.SecretIdNotFound");
    api::V1Input changed = in;
    replace_pair(changed, "Action", "DeleteImages");
    EXPECT_EQ(code_of(api::verify_v1(changed, dummy_key, nullptr)), "AuthFailure.SignatureFailure");
    // The Host is signed, port included; so is the method (HmacSHA1 with a tampered method
    // would otherwise replay a GET as a POST).
    changed = in;
    changed.host = "127.0.0.1";
    EXPECT_EQ(code_of(api::verify_v1(changed, dummy_key, nullptr)), "AuthFailure.SignatureFailure");
    changed = in;
    changed.method = in.method == "GET" ? "POST" : "GET";
    EXPECT_EQ(code_of(api::verify_v1(changed, dummy_key, nullptr)), "AuthFailure.SignatureFailure");
  }
  EXPECT_EQ(sha1, 2);
  EXPECT_EQ(get, 2);
}

// A front end whose handlers echo the parameters they receive.
struct EchoApi {
  EchoApi() : api(config(), [] { return std::int64_t{1700000000}; }) {
    for (const char* action :
         {"DescribeImages", "ImportImage", "DescribeImportImageOs", "ModifyImageSharePermission"}) {
      api.on(action, [](const api::Call& c) {
        api::Reply r;
        r.fields["Params"] = c.params;
        r.fields["Account"] = c.account->app_id;
        r.fields["Region"] = c.region;
        r.fields["Language"] = c.language;
        r.fields["FromQuery"] = c.from_query;
        return r;
      });
    }
  }
  static api::ApiConfig config() {
    api::ApiConfig c;
    c.accounts.push_back({kSecretId, "dummy-secret-key", "1250000001", "en"});
    return c;
  }
  json call(const json& v) const {
    api::HttpRequest r{v["method"], v["path"], v["query"], {{"host", v["host"]}}, v["body"]};
    if (!v["contentType"].get<std::string>().empty()) r.headers["content-type"] = v["contentType"];
    return json::parse(api.handle(r).body)["Response"];
  }
  api::HttpRequest request(const json& v) const {
    api::HttpRequest r{v["method"], v["path"], v["query"], {{"host", v["host"]}}, v["body"]};
    if (!v["contentType"].get<std::string>().empty()) r.headers["content-type"] = v["contentType"];
    return r;
  }
  api::Api api;
};

TEST(SignatureV1, TheApiUnflattensWhatTheSdkSent) {
  const EchoApi echo;
  for (const json& v : vectors()) {
    SCOPED_TRACE(v["name"].get<std::string>());
    const json r = echo.call(v);
    ASSERT_FALSE(r.contains("Error")) << r.dump();
    // The action receives its own parameters only, as the SDK was given them (strings, typed
    // later by the action's schema): no Action, Nonce, Signature or RequestClient among them.
    EXPECT_EQ(r["Params"], as_strings(v["params"]));
    EXPECT_EQ(r["Account"], "1250000001");
    EXPECT_EQ(r["Region"], "ap-guangzhou");
    EXPECT_TRUE(r["FromQuery"].get<bool>());
    if (v["action"] == "DescribeImportImageOs") {
      EXPECT_EQ(r["Language"], "en-US");
    }
    // A GET is verified before any body could arrive; a form POST's signature is in its body.
    const auto screened = echo.api.screen(echo.request(v));
    EXPECT_FALSE(screened.has_value()) << (screened ? screened->body : "");
  }
}

// The protocol's codes on v1 requests: what is missing or wrong is named as a parameter.
TEST(SignatureV1, ProtocolCodes) {
  const EchoApi echo;
  const json all = vectors();
  const json& get = all[0];   // GET, HmacSHA256
  const json& post = all[1];  // POST form, HmacSHA1
  const auto code_of = [&](const json& v) { return echo.call(v).value("Error", json::object()).value("Code", ""); };
  const auto edit = [](json v, const std::string& field, const std::string& from, const std::string& to) {
    std::string text = v[field];
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    v[field] = text.replace(at, from.size(), to);
    return v;
  };
  // Signed with another key: refused at the screen already for a GET.
  const json wrong_get = edit(get, "query", "Signature=Ayp", "Signature=Ayq");
  EXPECT_EQ(code_of(wrong_get), "AuthFailure.SignatureFailure");
  const auto screened = echo.api.screen(echo.request(wrong_get));
  ASSERT_TRUE(screened.has_value());
  EXPECT_EQ(json::parse(screened->body)["Response"]["Error"]["Code"], "AuthFailure.SignatureFailure");
  EXPECT_EQ(code_of(edit(post, "body", "Signature=%2Fpd3", "Signature=%2Fpd4")), "AuthFailure.SignatureFailure");
  // A form without its signature says so, rather than asking for an X-TC-Action header.
  const json unsigned_post = edit(post, "body", "&Signature=", "&Unsigned=");
  EXPECT_EQ(code_of(unsigned_post), "MissingParameter");
  EXPECT_NE(echo.call(unsigned_post)["Error"]["Message"].get<std::string>().find("Signature parameter"),
            std::string::npos);
  EXPECT_EQ(code_of(edit(post, "body", "&Action=ImportImage", "")), "MissingParameter");
  EXPECT_EQ(code_of(edit(post, "body", "&Version=2017-03-12", "&Version=2099-01-01")), "NoSuchVersion");
  EXPECT_EQ(code_of(edit(post, "body", "&Region=ap-guangzhou", "&Token=t")), "AuthFailure.TokenFailure");
  EXPECT_EQ(code_of(edit(post, "body", "&Timestamp=1700000000", "&Timestamp=soon")), "AuthFailure.SignatureFailure");
  EXPECT_EQ(code_of(edit(post, "body", "&SecretId=AKIDdummy", "&SecretId=AKIDother")), "AuthFailure.SecretIdNotFound");
  EXPECT_EQ(code_of(edit(post, "body", "Architecture=x86_64&", "Architecture=x86_64&Architecture=arm_64&")),
            "InvalidParameter");
  // A form POST naming its action in X-TC-Action speaks TC3 (curl -d sends this content type
  // unasked): without Authorization it is AuthFailure.InvalidAuthorization.
  api::HttpRequest tc3_form = echo.request(post);
  tc3_form.headers["x-tc-action"] = "ImportImage";
  tc3_form.headers["x-tc-version"] = "2017-03-12";
  EXPECT_EQ(json::parse(echo.api.handle(tc3_form).body)["Response"]["Error"]["Code"],
            "AuthFailure.InvalidAuthorization");
  // The region is checked once the signature holds: the form re-signed without it, or with one
  // not served.
  const auto resigned = [&](const std::string& region) {
    api::V1Input in = input_of(post);
    std::erase_if(in.pairs, [](const auto& p) { return p.first == "Region" || p.first == "Signature"; });
    if (!region.empty()) in.pairs.emplace_back("Region", region);
    const std::string text = api::v1_string_to_sign("POST", post["host"].get<std::string>(), "/", in.pairs);
    in.pairs.emplace_back("Signature", api::v1_signature("dummy-secret-key", "HmacSHA1", text));
    json v = post;
    v["body"] = form(in.pairs);
    return v;
  };
  EXPECT_EQ(code_of(resigned("ap-guangzhou")), "");
  EXPECT_EQ(code_of(resigned("")), "MissingParameter");
  EXPECT_NE(echo.call(resigned(""))["Error"]["Message"].get<std::string>().find("Region parameter"), std::string::npos);
  EXPECT_EQ(code_of(resigned("ap-nowhere")), "UnsupportedRegion");
}

// SignatureMethod absent: HmacSHA1, as the protocol's documentation has it.
TEST(SignatureV1, WithoutSignatureMethodItIsHmacSha1) {
  api::V1Input in{"GET", "cvm.example", "/", {}, 1700000000, 300};
  in.pairs = {{"Action", "DescribeImages"},
              {"Version", "2017-03-12"},
              {"Region", "ap-guangzhou"},
              {"Timestamp", "1700000000"},
              {"Nonce", "7"},
              {"SecretId", kSecretId}};
  const std::string text = api::v1_string_to_sign(in.method, in.host, in.path, in.pairs);
  EXPECT_EQ(text, "GETcvm.example/?Action=DescribeImages&Nonce=7&Region=ap-guangzhou&SecretId=" +
                      std::string(kSecretId) + "&Timestamp=1700000000&Version=2017-03-12");
  in.pairs.emplace_back("Signature", api::base64(api::hmac_sha1("dummy-secret-key", text)));
  EXPECT_EQ(code_of(api::verify_v1(in, dummy_key, nullptr)), "");
  in.pairs.back().second = api::base64(api::hmac_sha256("dummy-secret-key", text));
  EXPECT_EQ(code_of(api::verify_v1(in, dummy_key, nullptr)), "AuthFailure.SignatureFailure");
  in.pairs.erase(in.pairs.begin() + 4);  // no Nonce
  EXPECT_EQ(code_of(api::verify_v1(in, dummy_key, nullptr)), "MissingParameter");
}

TEST(SignatureV1, QueryDecoding) {
  const api::QueryPairs p = api::parse_query("a=1&&b=%E9%95%9C+x%2B&c&d=%zz&=e");
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[1], (std::pair<std::string, std::string>{"b", "镜 x+"}));
  EXPECT_EQ(p[2], (std::pair<std::string, std::string>{"c", ""}));
  EXPECT_EQ(p[3].second, "%zz");
  EXPECT_EQ(p[4].first, "");
  std::string many;
  for (int i = 0; i < 1500; ++i) many += "k" + std::to_string(i) + "=v&";
  EXPECT_EQ(api::parse_query(many).size(), api::kMaxQueryPairs);
}

}  // namespace
}  // namespace ig::test
