// TC3-HMAC-SHA256: the request signature of the Tencent Cloud API 3.0 protocol, as the official
// SDKs compute it (../shared/api/NOTES.md), and its server-side verification.
//
// The canonical request is built from what was received, never re-serialised: the method, the
// path, the raw query string, the Content-Type exactly as sent, the Host without its port, and
// the SHA-256 of the raw body. The service in the credential scope is taken from the
// Authorization header (the SDK derives it from the endpoint's first label: "cvm", or "127"
// when pointed at an IP), and must be one the server accepts.
// Thread safety: pure functions. Errors: ApiError values (ApiResult), never exceptions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "text/messages.h"

namespace ig::api {

struct Authorization {
  std::string secret_id;
  std::string date;     // yyyy-mm-dd, UTC
  std::string service;  // "cvm", "127", ...
  std::vector<std::string> signed_headers;
  std::string signature;  // 64 lower-case hex digits
};

// Parses "TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=a;b,
// Signature=<hex>". Nothing when it is not of that form.
std::optional<Authorization> parse_authorization(std::string_view header);

struct ReceivedRequest {
  std::string method;        // "POST", "GET"
  std::string path;          // "/", "/cvm-api/"
  std::string query;         // raw, without '?'
  std::string content_type;  // as sent
  std::string host;          // the Host header, possibly with ":port"
  std::string body;          // raw bytes
  // Every other header, by lower-case name: what a client may sign besides content-type and host
  // (Tencent's own examples sign x-tc-action too).
  std::map<std::string, std::string> other_headers;
};

std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string hmac_sha1(std::string_view key, std::string_view data);    // raw 20 bytes (signature v1)
std::string base64(std::string_view data);                             // RFC 4648, padded
// Whether two signatures are equal, in a time that does not depend on where they differ.
bool same_signature(std::string_view a, std::string_view b);
std::string canonical_request(const ReceivedRequest& r, const std::vector<std::string>& signed_headers);
std::string string_to_sign(std::int64_t timestamp, std::string_view date, std::string_view service,
                           std::string_view canonical);
// The hex signature the secret key gives this request.
std::string tc3_signature(std::string_view secret_key, std::int64_t timestamp, std::string_view date,
                          std::string_view service, std::string_view canonical);
// "yyyy-mm-dd" of a unix timestamp, UTC.
std::string utc_date(std::int64_t timestamp);

// Why the API refuses a request: the cloud's error code and a message of the product's table
// (text/messages.h), rendered in the request's language when the reply is sent.
struct ApiError {
  std::string code;  // "AuthFailure.SignatureFailure", "AuthFailure.SignatureExpire", ...
  Message message;
};
// A value or the API's refusal.
template <class T = void>
using ApiResult = tl::expected<T, ApiError>;
inline tl::unexpected<ApiError> refuse(std::string code, Message message) {
  return tl::unexpected(ApiError{std::move(code), std::move(message)});
}

struct VerifyInput {
  ReceivedRequest request;
  std::string authorization;  // the header
  std::string timestamp;      // X-TC-Timestamp
  std::int64_t now = 0;       // the server's clock
  std::int64_t window = 300;  // seconds either side
};

// Looks up a secret key by SecretId (nothing: unknown id).
using SecretLookup = std::optional<std::string> (*)(const std::string& secret_id, const void* context);

// Everything verify() checks that the body does not enter: the Authorization header's form, the
// timestamp, the scope, the signed headers and the SecretId. A request that fails it can be
// refused before its body is read.
ApiResult<> verify_head(const VerifyInput& in, const std::vector<std::string>& services, SecretLookup lookup,
                        const void* context);
// Verifies the signature; its value is the caller's SecretId.
ApiResult<std::string> verify(const VerifyInput& in, const std::vector<std::string>& services, SecretLookup lookup,
                              const void* context);

}  // namespace ig::api
