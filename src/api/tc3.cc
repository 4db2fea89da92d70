#include "api/tc3.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <ctime>

#include "base/text.h"

namespace ig::api {
namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(' ');
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

std::optional<Authorization> parse_authorization(std::string_view header) {
  constexpr std::string_view kScheme = "TC3-HMAC-SHA256 ";
  if (header.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  Authorization a;
  std::string_view rest = header.substr(kScheme.size());
  bool credential = false;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string part = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto eq = part.find('=');
    if (eq == std::string::npos) return std::nullopt;
    const std::string key = part.substr(0, eq);
    const std::string value = part.substr(eq + 1);
    if (key == "Credential") {
      // <SecretId>/<date>/<service>/tc3_request
      std::vector<std::string> f;
      std::size_t pos = 0;
      while (f.size() < 5) {
        const auto slash = value.find('/', pos);
        f.push_back(value.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos));
        if (slash == std::string::npos) break;
        pos = slash + 1;
      }
      if (f.size() != 4 || f[3] != "tc3_request" || f[0].empty() || f[1].size() != 10 || f[2].empty()) {
        return std::nullopt;
      }
      a.secret_id = f[0];
      a.date = f[1];
      a.service = f[2];
      credential = true;
    } else if (key == "SignedHeaders") {
      std::size_t pos = 0;
      while (pos <= value.size() && a.signed_headers.size() < 16) {
        const auto semi = value.find(';', pos);
        a.signed_headers.push_back(
            to_lower(value.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos)));
        if (semi == std::string::npos) break;
        pos = semi + 1;
      }
    } else if (key == "Signature") {
      a.signature = to_lower(value);
    }
  }
  if (!credential || a.signed_headers.empty() || a.signature.size() != 64) return std::nullopt;
  return a;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
  return to_hex(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &n);
  return std::string(reinterpret_cast<const char*>(out.data()), n);
}

std::string hmac_sha1(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int n = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &n);
  return std::string(reinterpret_cast<const char*>(out.data()), n);
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool same_signature(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned>(a[i] ^ b[i]);
  return diff == 0;
}

std::string canonical_request(const ReceivedRequest& r, const std::vector<std::string>& signed_headers) {
  std::string host = r.host;
  if (const auto colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos) {
    host.resize(colon);  // the SDK signs the hostname without its port
  }
  std::string headers;
  std::string names;
  for (const std::string& h : signed_headers) {
    std::string value;
    if (h == "content-type") {
      value = r.content_type;
    } else if (h == "host") {
      value = host;
    } else if (const auto it = r.other_headers.find(h); it != r.other_headers.end()) {
      // As the signature's documentation has it: the value in lower case, without surrounding spaces.
      const auto first = it->second.find_first_not_of(" \t");
      const auto last = it->second.find_last_not_of(" \t");
      value = first == std::string::npos ? "" : it->second.substr(first, last - first + 1);
      std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
    }
    headers += h + ":" + value + "\n";
    names += (names.empty() ? "" : ";") + h;
  }
  return r.method + "\n" + r.path + "\n" + r.query + "\n" + headers + "\n" + names + "\n" + sha256_hex(r.body);
}

std::string string_to_sign(std::int64_t timestamp, std::string_view date, std::string_view service,
                           std::string_view canonical) {
  return fmt::format("TC3-HMAC-SHA256\n{}\n{}/{}/tc3_request\n{}", timestamp, date, service, sha256_hex(canonical));
}

std::string tc3_signature(std::string_view secret_key, std::int64_t timestamp, std::string_view date,
                          std::string_view service, std::string_view canonical) {
  const std::string k_date = hmac_sha256("TC3" + std::string(secret_key), date);
  const std::string k_service = hmac_sha256(k_date, service);
  const std::string k_signing = hmac_sha256(k_service, "tc3_request");
  const std::string sig = hmac_sha256(k_signing, string_to_sign(timestamp, date, service, canonical));
  return to_hex(sig);
}

std::string utc_date(std::int64_t timestamp) {
  const auto t = static_cast<std::time_t>(timestamp);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

namespace {

// Everything verify() checks; the signature only with `signature`, as it needs the body. Its
// value is the caller's SecretId.
ApiResult<std::string> verify_parts(const VerifyInput& in, const std::vector<std::string>& services,
                                    SecretLookup lookup, const void* context, bool signature) {
  const auto auth = parse_authorization(in.authorization);
  if (!auth) {
    return refuse("AuthFailure.InvalidAuthorization",
                  {in.authorization.empty() ? "api.auth-missing" : "api.auth-not-tc3", {}});
  }
  std::int64_t ts = 0;
  if (in.timestamp.empty() || in.timestamp.size() > 12 ||
      !std::all_of(in.timestamp.begin(), in.timestamp.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return refuse("AuthFailure.SignatureFailure", {"api.timestamp-invalid", {"X-TC-Timestamp"}});
  }
  ts = std::stoll(in.timestamp);
  if (ts < in.now - in.window || ts > in.now + in.window) {
    return refuse("AuthFailure.SignatureExpire",
                  {"api.timestamp-expired", {std::to_string(ts), std::to_string(in.window), std::to_string(in.now)}});
  }
  if (auth->date != utc_date(ts)) {
    return refuse("AuthFailure.SignatureFailure", {"api.credential-date", {auth->date, utc_date(ts)}});
  }
  if (std::find(services.begin(), services.end(), auth->service) == services.end()) {
    return refuse("AuthFailure.SignatureFailure", {"api.credential-service", {auth->service}});
  }
  // Any set of signed headers that holds content-type and host, each one present in the request.
  for (const char* needed : {"content-type", "host"}) {
    if (std::find(auth->signed_headers.begin(), auth->signed_headers.end(), needed) == auth->signed_headers.end()) {
      return refuse("AuthFailure.SignatureFailure", {"api.signed-headers-need", {needed}});
    }
  }
  for (const std::string& h : auth->signed_headers) {
    if (h != "content-type" && h != "host" && !in.request.other_headers.contains(h)) {
      return refuse("AuthFailure.SignatureFailure", {"api.signed-header-absent", {h.substr(0, 64)}});
    }
  }
  if (auth->secret_id.size() < 4 || auth->secret_id.size() > 128) {
    return refuse("AuthFailure.InvalidSecretId", {"api.secret-id-malformed", {}});
  }
  const auto key = lookup(auth->secret_id, context);
  if (!key) return refuse("AuthFailure.SecretIdNotFound", {"api.secret-id-unknown", {auth->secret_id}});
  if (!signature) return auth->secret_id;
  const std::string expected =
      tc3_signature(*key, ts, auth->date, auth->service, canonical_request(in.request, auth->signed_headers));
  if (!same_signature(expected, auth->signature)) {
    return refuse("AuthFailure.SignatureFailure", {"api.signature-mismatch", {}});
  }
  return auth->secret_id;
}

}  // namespace

ApiResult<> verify_head(const VerifyInput& in, const std::vector<std::string>& services, SecretLookup lookup,
                        const void* context) {
  auto verified = verify_parts(in, services, lookup, context, false);
  if (!verified) return tl::unexpected(std::move(verified.error()));
  return {};
}

ApiResult<std::string> verify(const VerifyInput& in, const std::vector<std::string>& services, SecretLookup lookup,
                              const void* context) {
  return verify_parts(in, services, lookup, context, true);
}

}  // namespace ig::api
