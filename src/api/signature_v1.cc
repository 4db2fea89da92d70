#include "api/signature_v1.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace ig::api {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent escapes decoded, '+' read as a space (form encoding); a malformed escape stays literal.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

bool digits(const std::string& s, std::size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

QueryPairs parse_query(std::string_view query) {
  QueryPairs out;
  std::size_t pos = 0;
  while (pos < query.size() && out.size() < kMaxQueryPairs) {
    auto amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view pair = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    out.emplace_back(percent_decode(pair.substr(0, eq)),
                     eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1)));
  }
  return out;
}

const std::string* find_pair(const QueryPairs& pairs, std::string_view name) {
  for (const auto& p : pairs) {
    if (p.first == name) return &p.second;
  }
  return nullptr;
}

bool is_common_parameter(std::string_view name) {
  static constexpr std::array<std::string_view, 11> kCommon = {
      "Action", "Version",  "Region",          "Timestamp", "Nonce",        "SecretId",
      "Token",  "Language", "SignatureMethod", "Signature", "RequestClient"};
  return std::find(kCommon.begin(), kCommon.end(), name) != kCommon.end();
}

std::string v1_string_to_sign(std::string_view method, std::string_view host, std::string_view path,
                              const QueryPairs& pairs) {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  for (const auto& p : pairs) {
    if (p.first != "Signature") sorted.push_back(&p);
  }
  // By name, byte by byte: the SDK sorts its (ASCII) names with Array.prototype.sort.
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  std::string out = fmt::format("{}{}{}?", method, host, path);
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) out += '&';
    out += sorted[i]->first;
    out += '=';
    out += sorted[i]->second;
  }
  return out;
}

std::string v1_signature(std::string_view secret_key, std::string_view signature_method, std::string_view text) {
  return base64(signature_method == "HmacSHA256" ? hmac_sha256(secret_key, text) : hmac_sha1(secret_key, text));
}

ApiResult<std::string> verify_v1(const V1Input& in, SecretLookup lookup, const void* context) {
  for (const char* needed : {"SecretId", "Signature", "Timestamp", "Nonce"}) {
    if (find_pair(in.pairs, needed) == nullptr) {
      return refuse("MissingParameter", {"api.signature-parameter-missing", {needed}});
    }
  }
  const std::string& timestamp = *find_pair(in.pairs, "Timestamp");
  if (!digits(timestamp, 12)) return refuse("AuthFailure.SignatureFailure", {"api.timestamp-invalid", {"Timestamp"}});
  if (!digits(*find_pair(in.pairs, "Nonce"), 20)) {
    return refuse("AuthFailure.SignatureFailure", {"api.nonce-invalid", {}});
  }
  const std::int64_t ts = std::stoll(timestamp);
  if (ts < in.now - in.window || ts > in.now + in.window) {
    return refuse("AuthFailure.SignatureExpire",
                  {"api.timestamp-expired", {std::to_string(ts), std::to_string(in.window), std::to_string(in.now)}});
  }
  const std::string& id = *find_pair(in.pairs, "SecretId");
  if (id.size() < 4 || id.size() > 128) return refuse("AuthFailure.InvalidSecretId", {"api.secret-id-malformed", {}});
  const auto key = lookup(id, context);
  if (!key) return refuse("AuthFailure.SecretIdNotFound", {"api.secret-id-unknown", {id}});
  const std::string* method = find_pair(in.pairs, "SignatureMethod");
  const std::string expected = v1_signature(*key, method != nullptr ? *method : "HmacSHA1",
                                            v1_string_to_sign(in.method, in.host, in.path, in.pairs));
  if (!same_signature(expected, *find_pair(in.pairs, "Signature"))) {
    return refuse("AuthFailure.SignatureFailure", {"api.signature-mismatch", {}});
  }
  return id;
}

}  // namespace ig::api
