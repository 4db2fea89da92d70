#include "store/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <map>

namespace ig::store::sigv4 {

namespace {

using Digest = std::array<unsigned char, 32>;

std::string hex(std::span<const unsigned char> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

Digest hmac(std::span<const unsigned char> key, std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &len);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Canonical headers: lower-case name -> trimmed values (inner runs of spaces collapsed), joined
// by ',' when a header repeats; sorted by name.
std::map<std::string, std::string> canonical_headers(const Request& request) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : request.headers) {
    std::string v;
    bool space = false;
    for (char c : trim(value)) {
      if (c == ' ' || c == '\t') {
        space = true;
        continue;
      }
      if (space) v.push_back(' ');
      space = false;
      v.push_back(c);
    }
    auto [it, inserted] = out.emplace(to_lower(trim(name)), v);
    if (!inserted) it->second += "," + v;
  }
  return out;
}

std::string_view date_of(std::string_view amz_time) {
  return amz_time.substr(0, std::min<std::size_t>(8, amz_time.size()));
}

}  // namespace

std::string sha256_hex(std::span<const std::byte> data) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
  return hex(d);
}

std::string sha256_hex(std::string_view data) {
  return sha256_hex(std::as_bytes(std::span(data.data(), data.size())));
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || (c == '/' && keep_slash)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [k, v] : query) encoded.emplace_back(uri_encode(k, false), uri_encode(v, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

std::string signed_headers(const Request& request) {
  std::string out;
  for (const auto& [name, value] : canonical_headers(request)) {
    if (!out.empty()) out.push_back(';');
    out += name;
  }
  return out;
}

std::string canonical_request(const Request& request) {
  std::string out = request.method + "\n" + (request.canonical_uri.empty() ? "/" : request.canonical_uri) + "\n" +
                    canonical_query(request.query) + "\n";
  for (const auto& [name, value] : canonical_headers(request)) out += name + ":" + value + "\n";
  out += "\n" + signed_headers(request) + "\n" + request.payload_hash;
  return out;
}

std::string string_to_sign(const Request& request, const Credentials& credentials, std::string_view amz_time) {
  std::string out = "AWS4-HMAC-SHA256\n";
  out += amz_time;
  out += "\n";
  out += date_of(amz_time);
  out += "/" + credentials.region + "/" + credentials.service + "/aws4_request\n";
  out += sha256_hex(canonical_request(request));
  return out;
}

std::string signature(const Request& request, const Credentials& credentials, std::string_view amz_time) {
  const std::string secret = "AWS4" + credentials.secret_key;
  const Digest k_date =
      hmac(std::span(reinterpret_cast<const unsigned char*>(secret.data()), secret.size()), date_of(amz_time));
  const Digest k_region = hmac(k_date, credentials.region);
  const Digest k_service = hmac(k_region, credentials.service);
  const Digest k_signing = hmac(k_service, "aws4_request");
  return hex(hmac(k_signing, string_to_sign(request, credentials, amz_time)));
}

std::string authorization(const Request& request, const Credentials& credentials, std::string_view amz_time) {
  std::string out = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key + "/";
  out += date_of(amz_time);
  out += "/" + credentials.region + "/" + credentials.service +
         "/aws4_request, SignedHeaders=" + signed_headers(request) +
         ", Signature=" + signature(request, credentials, amz_time);
  return out;
}

std::string amz_time_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::array<char, 20> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf.data(), n);
}

}  // namespace ig::store::sigv4
