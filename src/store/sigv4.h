// sigv4: AWS Signature Version 4 for requests to an S3-compatible store, on OpenSSL.
//
// The signer is pure: it turns a described request (method, URI path already percent-encoded,
// query parameters, headers, payload hash) and credentials into the canonical request, the
// string to sign and the Authorization header value, following
// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html. It does no I/O
// and reads no clock: the caller passes the request time ("20150830T123600Z"), which must also
// be sent as the x-amz-date header. The canonical form is S3's: the path is not normalised
// (no "." / ".." removal, no double encoding), query keys and values are encoded once.
//
// Thread safety: plain functions of their arguments. Errors: none; an input that is not a
// valid request (an empty method, a time of the wrong shape) yields a signature the server
// rejects, which the caller reports with the server's error code.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ig::store::sigv4 {

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string region;  // "us-east-1"
  std::string service = "s3";
};

struct Request {
  std::string method;                                        // "GET"
  std::string canonical_uri;                                 // "/bucket/key", already URI-encoded
  std::vector<std::pair<std::string, std::string>> query;    // raw (unencoded) names and values
  std::vector<std::pair<std::string, std::string>> headers;  // every header to sign, host included
  std::string payload_hash;                                  // hex SHA-256, or "UNSIGNED-PAYLOAD"
};

// The payload hash S3 accepts for a body the signer does not hash.
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::span<const std::byte> data);
std::string sha256_hex(std::string_view data);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - _ . ~) are
// kept, every other byte becomes %XX (upper case); '/' is kept when `keep_slash`.
std::string uri_encode(std::string_view s, bool keep_slash);

// The canonical query string: encoded "name=value" pairs sorted by name, then value, joined by '&'.
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);

// The canonical request (method, URI, query, headers, signed header names, payload hash).
std::string canonical_request(const Request& request);
// The ';'-joined lower-case header names, sorted: what "SignedHeaders=" lists.
std::string signed_headers(const Request& request);
// "AWS4-HMAC-SHA256\n<time>\n<date>/<region>/<service>/aws4_request\n<hex sha256(canonical)>".
std::string string_to_sign(const Request& request, const Credentials& credentials, std::string_view amz_time);
// The hex signature of the string to sign with the key derived from the secret, date, region
// and service.
std::string signature(const Request& request, const Credentials& credentials, std::string_view amz_time);
// "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
std::string authorization(const Request& request, const Credentials& credentials, std::string_view amz_time);

// The current UTC time as SigV4 writes it ("20150830T123600Z").
std::string amz_time_now();

}  // namespace ig::store::sigv4
