// TC3-HMAC-SHA256 against the official SDK: the known-answer vectors its own signer made, and
// every raw request it sent in ../shared/api/captures, verified with the verdict, canonical
// request and string to sign recorded beside it.
#include "api/tc3.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace ig::test {
namespace {

// The error code of a verification, "" when the request is authentic.
std::string code_of(const api::ApiResult<std::string>& r) {
  return r ? "" : r.error().code;
}

namespace fs = std::filesystem;

std::optional<std::string> dummy_key(const std::string& id, const void* /*context*/) {
  if (id == "AKIDdummy0000000000000000000000000000") return std::string("dummy-secret-key");
  return std::nullopt;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Tc3, KnownAnswerVectorsOfTheSdkSigner) {
  const fs::path captures = shared_dir() / "api/captures";
  if (!fs::is_directory(captures)) GTEST_SKIP() << captures.string() << " is absent (set IG_SHARED_DIR)";
  const auto vectors = nlohmann::json::parse(slurp(captures / "known-answer.json"));
  ASSERT_GE(vectors.size(), 3u);
  for (const auto& v : vectors) {
    SCOPED_TRACE(v["name"].get<std::string>());
    const std::string url = v["url"];
    const auto after_scheme = url.find("://") + 3;
    const auto slash = url.find('/', after_scheme);
    const auto q = url.find('?', slash);
    api::ReceivedRequest r;
    r.method = v["method"];
    r.path = url.substr(slash, q == std::string::npos ? std::string::npos : q - slash);
    r.query = q == std::string::npos ? "" : url.substr(q + 1);
    r.content_type = v["headers"]["Content-Type"];
    r.host = v["headers"]["Host"];
    r.body = v.value("body", "");
    EXPECT_EQ(api::sha256_hex(r.body), v["bodySha256"]);
    const auto auth = api::parse_authorization(v["authorization"].get<std::string>());
    ASSERT_TRUE(auth.has_value());
    const std::int64_t ts = v["timestamp"];
    EXPECT_EQ(api::utc_date(ts), auth->date);
    const std::string canonical = api::canonical_request(r, auth->signed_headers);
    EXPECT_EQ(api::tc3_signature(v["secretKey"].get<std::string>(), ts, auth->date, auth->service, canonical),
              auth->signature);
    api::VerifyInput in{r, v["authorization"], std::to_string(ts), ts, 300};
    const auto who = api::verify(in, {"cvm", "127"}, dummy_key, nullptr);
    ASSERT_TRUE(who.has_value());
    EXPECT_EQ(*who, "AKIDdummy0000000000000000000000000000");
    // Five minutes and one second later: expired. A different key: a signature failure.
    in.now = ts + 301;
    EXPECT_EQ(code_of(api::verify(in, {"cvm", "127"}, dummy_key, nullptr)), "AuthFailure.SignatureExpire");
    in.now = ts;
    auto wrong = [](const std::string&, const void*) -> std::optional<std::string> { return "another-key"; };
    EXPECT_EQ(code_of(api::verify(in, {"cvm", "127"}, wrong, nullptr)), "AuthFailure.SignatureFailure");
    auto unknown = [](const std::string&, const void*) -> std::optional<std::string> { return std::nullopt; };
    EXPECT_EQ(code_of(api::verify(in, {"cvm", "127"}, unknown, nullptr)), "AuthFailure.SecretIdNotFound");
    // The body changed after signing.
    in.request.body += " ";
    EXPECT_EQ(code_of(api::verify(in, {"cvm", "127"}, dummy_key, nullptr)), "AuthFailure.SignatureFailure");
  }
}

// A raw HTTP/1.1 request as captured: request line, headers, blank line, body.
struct RawRequest {
  api::ReceivedRequest request;
  std::map<std::string, std::string> headers;  // lower-case names
};

RawRequest parse_http(const std::string& raw) {
  RawRequest out;
  const auto end = raw.find("\r\n\r\n");
  out.request.body = raw.substr(end + 4);
  std::size_t pos = 0;
  bool first = true;
  while (pos < end) {
    const auto eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    pos = eol + 2;
    if (first) {
      first = false;
      const auto sp1 = line.find(' ');
      const auto sp2 = line.find(' ', sp1 + 1);
      out.request.method = line.substr(0, sp1);
      const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      const auto q = target.find('?');
      out.request.path = target.substr(0, q);
      out.request.query = q == std::string::npos ? "" : target.substr(q + 1);
      continue;
    }
    const auto colon = line.find(':');
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    out.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  out.request.content_type = out.headers["content-type"];
  out.request.host = out.headers["host"];
  return out;
}

TEST(Tc3, EveryCapturedSdkRequestVerifiesAsRecorded) {
  const fs::path captures = shared_dir() / "api/captures";
  if (!fs::is_directory(captures)) GTEST_SKIP() << captures.string() << " is absent (set IG_SHARED_DIR)";
  int checked = 0;
  for (const auto& e : fs::recursive_directory_iterator(captures)) {
    if (e.path().extension() != ".http") continue;
    SCOPED_TRACE(e.path().string());
    const RawRequest raw = parse_http(slurp(e.path()));
    fs::path verify_path = e.path();
    verify_path.replace_extension(".verify.txt");
    const std::string verify = slurp(verify_path);
    const bool ok = verify.rfind("verdict: OK", 0) == 0;
    const std::int64_t ts = std::stoll(raw.headers.at("x-tc-timestamp"));
    api::VerifyInput in{raw.request, raw.headers.at("authorization"), raw.headers.at("x-tc-timestamp"), ts, 300};
    EXPECT_EQ(code_of(api::verify(in, {"cvm", "127"}, dummy_key, nullptr)), ok ? "" : "AuthFailure.SignatureFailure");
    // The canonical request we build is the one recorded.
    const auto auth = api::parse_authorization(raw.headers.at("authorization"));
    ASSERT_TRUE(auth.has_value());
    const auto from = verify.find("--- canonical request ---\n") + 26;
    const auto to = verify.find("\n--- string to sign ---");
    EXPECT_EQ(api::canonical_request(raw.request, auth->signed_headers), verify.substr(from, to - from));
    ++checked;
  }
  EXPECT_GE(checked, 16);
}

TEST(Tc3, MalformedAuthorizationHeaders) {
  EXPECT_FALSE(api::parse_authorization("").has_value());
  EXPECT_FALSE(api::parse_authorization("Basic abc").has_value());
  EXPECT_FALSE(
      api::parse_authorization("TC3-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=00").has_value());
  EXPECT_FALSE(api::parse_authorization("TC3-HMAC-SHA256 Credential=AKID/2023-11-14/cvm/tc3_request, "
                                        "SignedHeaders=host, Signature=xyz")
                   .has_value());
  EXPECT_TRUE(api::parse_authorization("TC3-HMAC-SHA256 Credential=AKID/2023-11-14/cvm/tc3_request, "
                                       "SignedHeaders=content-type;host, Signature=" +
                                       std::string(64, 'a'))
                  .has_value());
  api::VerifyInput in{{},
                      "TC3-HMAC-SHA256 Credential=AKID/2023-11-14/cvm/tc3_request, SignedHeaders=content-type;host, "
                      "Signature=" +
                          std::string(64, 'a'),
                      "nope",
                      1700000000,
                      300};
  EXPECT_EQ(code_of(api::verify(in, {"cvm"}, dummy_key, nullptr)), "AuthFailure.SignatureFailure");
  in.timestamp = "1700000000";
  EXPECT_EQ(code_of(api::verify(in, {"cvm"}, dummy_key, nullptr)), "AuthFailure.SecretIdNotFound");
}

// Tencent's own examples sign content-type;host;x-tc-action: any signed set that holds
// content-type and host verifies, other headers canonicalised as documented (lower case, trimmed,
// in the order SignedHeaders lists them). A missing or garbled Authorization is
// AuthFailure.InvalidAuthorization; a set without host, or naming a header that was not sent,
// fails.
TEST(Tc3, AnySignedHeaderSetWithContentTypeAndHostVerifies) {
  api::ReceivedRequest r{"POST", "/", "", "application/json; charset=utf-8", "cvm.tencentcloudapi.com", "{}", {}};
  r.other_headers["x-tc-action"] = " DescribeInstances ";
  const std::string canonical =
      "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n"
      "x-tc-action:describeinstances\n\ncontent-type;host;x-tc-action\n" +
      api::sha256_hex("{}");
  const std::vector<std::string> names = {"content-type", "host", "x-tc-action"};
  EXPECT_EQ(api::canonical_request(r, names), canonical);
  const std::int64_t ts = 1700000000;
  const std::string date = api::utc_date(ts);
  const auto sign = [&](const std::string& signed_headers, const std::string& canon) {
    return "TC3-HMAC-SHA256 Credential=AKIDexample/" + date + "/cvm/tc3_request, SignedHeaders=" + signed_headers +
           ", Signature=" + api::tc3_signature("example-key", ts, date, "cvm", canon);
  };
  const auto key = [](const std::string&, const void*) -> std::optional<std::string> { return "example-key"; };
  api::VerifyInput in{r, sign("content-type;host;x-tc-action", canonical), std::to_string(ts), ts, 300};
  EXPECT_EQ(code_of(api::verify(in, {"cvm"}, key, nullptr)), "");
  in.request.other_headers.clear();  // signed, but not sent
  EXPECT_EQ(code_of(api::verify(in, {"cvm"}, key, nullptr)), "AuthFailure.SignatureFailure");
  in.request = r;
  in.authorization = sign("content-type;x-tc-action", canonical);  // no host
  EXPECT_EQ(code_of(api::verify(in, {"cvm"}, key, nullptr)), "AuthFailure.SignatureFailure");
  in.authorization = "";
  EXPECT_EQ(code_of(api::verify(in, {"cvm"}, key, nullptr)), "AuthFailure.InvalidAuthorization");
  in.authorization = "Basic abc";
  EXPECT_EQ(code_of(api::verify(in, {"cvm"}, key, nullptr)), "AuthFailure.InvalidAuthorization");
}

}  // namespace
}  // namespace ig::test
