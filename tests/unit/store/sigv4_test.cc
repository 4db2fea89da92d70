// The SigV4 signer against AWS's published answers (the SigV4 test suite's "vanilla" requests
// and the S3 documentation's GET-with-Range example) and against botocore's signer as an
// independent oracle for S3-shaped requests (sigv4_oracle.py).
#include "store/sigv4.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/test_support.h"

namespace ig::store::sigv4 {
namespace {

// The credentials and time of AWS's SigV4 test suite (aws-sig-v4-test-suite).
Credentials suite_credentials() {
  return {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"};
}
constexpr std::string_view kSuiteTime = "20150830T123600Z";

Request suite_request(std::string method, std::vector<std::pair<std::string, std::string>> query = {}) {
  Request r;
  r.method = std::move(method);
  r.canonical_uri = "/";
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", std::string(kSuiteTime)}};
  r.payload_hash = sha256_hex(std::string_view());
  return r;
}

TEST(Sigv4, GetVanilla) {
  const Request r = suite_request("GET");
  EXPECT_EQ(canonical_request(r),
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(string_to_sign(r, suite_credentials(), kSuiteTime),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(authorization(r, suite_credentials(), kSuiteTime),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(Sigv4, GetVanillaQueryOrderKeyCase) {
  const Request r = suite_request("GET", {{"Param2", "value2"}, {"Param1", "value1"}});
  EXPECT_EQ(canonical_query(r.query), "Param1=value1&Param2=value2");
  EXPECT_EQ(signature(r, suite_credentials(), kSuiteTime),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(Sigv4, GetVanillaQuery) {
  EXPECT_EQ(signature(suite_request("GET", {{"Param1", "value1"}}), suite_credentials(), kSuiteTime),
            "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb");
}

TEST(Sigv4, PostVanilla) {
  EXPECT_EQ(signature(suite_request("POST"), suite_credentials(), kSuiteTime),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

// "Example: GET Object" of the S3 SigV4 documentation (sig-v4-header-based-auth.html).
TEST(Sigv4, S3DocumentationGetObjectWithRange) {
  const Credentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};
  Request r;
  r.method = "GET";
  r.canonical_uri = "/test.txt";
  r.payload_hash = sha256_hex(std::string_view());
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", r.payload_hash},
               {"x-amz-date", "20130524T000000Z"}};
  EXPECT_EQ(authorization(r, c, "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(Sigv4, UriEncode) {
  EXPECT_EQ(uri_encode("a b/c~d_e.f-g", true), "a%20b/c~d_e.f-g");
  EXPECT_EQ(uri_encode("a b/c", false), "a%20b%2Fc");
  EXPECT_EQ(uri_encode("\xff=+*", false), "%FF%3D%2B%2A");
  EXPECT_EQ(canonical_query({{"uploads", ""}, {"b", "x y"}, {"a", "2"}}), "a=2&b=x%20y&uploads=");
}

TEST(Sigv4, HeaderValuesAreTrimmedAndCollapsed) {
  Request r = suite_request("GET");
  r.headers.emplace_back("My-Header1", "  value1   with  spaces ");
  EXPECT_NE(canonical_request(r).find("my-header1:value1 with spaces\n"), std::string::npos) << canonical_request(r);
  EXPECT_EQ(signed_headers(r), "host;my-header1;x-amz-date");
}

TEST(Sigv4, AmzTimeShape) {
  const std::string t = amz_time_now();
  ASSERT_EQ(t.size(), 16u);
  EXPECT_EQ(t[8], 'T');
  EXPECT_EQ(t[15], 'Z');
}

// S3-shaped requests (path-style, query parameters that need encoding, Range, a hashed body)
// signed by botocore and by us must agree.
TEST(Sigv4, AgreesWithBotocore) {
  const auto oracle = std::string(IG_SOURCE_DIR) + "/tests/unit/store/sigv4_oracle.py";
  if (test::run("/usr/bin/python3 -c 'import botocore.auth'").exit_code != 0) {
    GTEST_SKIP() << "python3-botocore is not installed (/usr/bin/python3 cannot import botocore.auth)";
  }
  struct Case {
    std::string method, host, path, body;
    std::vector<std::pair<std::string, std::string>> query;
    std::vector<std::pair<std::string, std::string>> extra_headers;
  };
  const std::vector<Case> cases = {
      {"GET", "127.0.0.1:18080", "/bucket", "", {{"list-type", "2"}, {"prefix", "img/a b"}, {"max-keys", "1"}}, {}},
      {"GET", "127.0.0.1:18080", "/bucket/pre/img-1.qcow2", "", {}, {{"Range", "bytes=0-65535"}}},
      {"PUT", "s3.example.com", "/bucket/k", "part two", {{"partNumber", "2"}, {"uploadId", "2~x/y+z="}}, {}},
      {"POST", "s3.example.com", "/bucket/k", "<CompleteMultipartUpload/>", {{"uploads", ""}}, {}},
      {"DELETE", "s3.example.com", "/bucket/k", "", {{"uploadId", "abc"}}, {}},
  };
  test::TempDir dir;
  nlohmann::json js = nlohmann::json::array();
  for (const Case& c : cases) {
    std::string url = "http://" + c.host + uri_encode(c.path, true);
    const std::string q = canonical_query(c.query);
    if (!q.empty()) url += "?" + q;
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [k, v] : c.extra_headers) headers[k] = v;
    js.push_back({{"method", c.method},
                  {"url", url},
                  {"headers", headers},
                  {"body", c.body},
                  {"access_key", "test:tester"},
                  {"secret_key", "testing"},
                  {"region", "us-east-1"},
                  {"time", "20261205T101112Z"}});
  }
  std::ofstream(dir.file("cases.json")) << js.dump();
  const std::string out = test::run_ok("/usr/bin/python3 " + test::shell_quote(oracle) + " " + dir.file("cases.json"));
  std::istringstream lines(out);
  const Credentials creds{"test:tester", "testing", "us-east-1", "s3"};
  for (const Case& c : cases) {
    std::string hash, expected;
    lines >> hash;
    std::getline(lines, expected);
    expected.erase(0, expected.find_first_not_of(' '));
    Request r;
    r.method = c.method;
    r.canonical_uri = uri_encode(c.path, true);
    r.query = c.query;
    r.payload_hash = sha256_hex(c.body);
    EXPECT_EQ(hash, r.payload_hash) << c.method << " " << c.path;
    r.headers = {{"host", c.host}, {"x-amz-date", "20261205T101112Z"}, {"x-amz-content-sha256", r.payload_hash}};
    for (const auto& h : c.extra_headers) r.headers.push_back(h);
    EXPECT_EQ(authorization(r, creds, "20261205T101112Z"), expected) << c.method << " " << c.path << "\n"
                                                                     << canonical_request(r);
  }
}

}  // namespace
}  // namespace ig::store::sigv4
