// Signature v1: the legacy signature of the Tencent Cloud API (HmacSHA1, HmacSHA256), which the
// official SDKs still send with `signMethod: "HmacSHA1"` or `"HmacSHA256"`. Everything travels
// as name=value pairs, in the GET query or in an application/x-www-form-urlencoded POST body:
// the action's own parameters, flattened ("Filters.0.Name"), beside the common ones (Action,
// Version, Region, Timestamp, Nonce, SecretId, SignatureMethod, Signature; Token and Language
// when set; the Node SDK adds RequestClient).
//
// The signed text is METHOD + Host + path + "?" + every pair but Signature, sorted by name and
// joined as "name=value" with '&', the values decoded (not re-encoded): exactly what the SDK's
// formatSignString builds (tests/unit/api/v1_vectors.json). The signature is the base64 HMAC of
// it under the SecretKey: SHA-256 when SignatureMethod is HmacSHA256, SHA-1 otherwise (as the
// documentation of the protocol has it). The Host is the header as received, port included,
// because the SDK signs its endpoint with its port.
// Thread safety: pure functions. Errors: ApiError values (ApiResult), never exceptions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/tc3.h"

namespace ig::api {

// Name=value pairs in the order sent, percent escapes decoded and '+' read as a space.
using QueryPairs = std::vector<std::pair<std::string, std::string>>;

// At most this many pairs are read from one query or form body; the rest are dropped (and a
// signature over them then fails).
inline constexpr std::size_t kMaxQueryPairs = 1000;

QueryPairs parse_query(std::string_view query);

// The value of the first pair named `name`, or nothing.
const std::string* find_pair(const QueryPairs& pairs, std::string_view name);

// The common parameters of the protocol, which are not the action's.
bool is_common_parameter(std::string_view name);

// The text a v1 signature covers (see above).
std::string v1_string_to_sign(std::string_view method, std::string_view host, std::string_view path,
                              const QueryPairs& pairs);
// The base64 signature of `text` under `secret_key`; `signature_method` "HmacSHA256" or anything
// else for HmacSHA1.
std::string v1_signature(std::string_view secret_key, std::string_view signature_method, std::string_view text);

struct V1Input {
  std::string method;  // "GET" | "POST"
  std::string host;    // the Host header, as received
  std::string path;
  QueryPairs pairs;           // the query (GET) or the form body (POST)
  std::int64_t now = 0;       // the server's clock
  std::int64_t window = 300;  // seconds either side of Timestamp
};

// Verifies a v1 request; its value is the caller's SecretId. Codes: MissingParameter (no
// SecretId, Signature, Timestamp or Nonce), AuthFailure.SignatureFailure (a Timestamp or Nonce
// that is not a number, or a signature that does not match), AuthFailure.SignatureExpire,
// AuthFailure.InvalidSecretId, AuthFailure.SecretIdNotFound.
ApiResult<std::string> verify_v1(const V1Input& in, SecretLookup lookup, const void* context);

}  // namespace ig::api
