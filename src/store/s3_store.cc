#include "store/s3_store.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "base/checked.h"
#include "store/sigv4.h"

namespace ig::store {

namespace {

constexpr std::uint64_t kMiB = 1ULL << 20;
constexpr std::uint64_t kMinPartBytes = 5 * kMiB;        // S3: every part but the last
constexpr std::uint64_t kMaxPartBytes = 5ULL << 30;      // S3: 5 GiB per part
constexpr std::uint32_t kMaxPartCount = 10000;           // S3's cap; Swift's default is 1000
constexpr std::size_t kMaxResponseBody = 8 * kMiB;       // XML answers (a 1000-key listing is ~0.3 MiB)
constexpr std::size_t kMaxListPages = 10000;             // ListObjectsV2 pages of up to 1000 keys
constexpr int kAttempts = 4;                             // for requests that may be repeated
constexpr std::chrono::milliseconds kFirstBackoff{250};  // doubled after each failed attempt
constexpr long kConnectTimeoutSeconds = 10;
constexpr long kLowSpeedBytesPerSecond = 1024;  // a transfer slower than this ...
constexpr long kLowSpeedSeconds = 60;           // ... for this long is a failure
constexpr std::size_t kMaxHandles = 16;         // idle curl handles kept for reuse

bool valid_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// ---- Minimal XML: S3's answers are flat documents of known elements. We search for
// <Name>text</Name> inside a bounded body and decode the five predefined entities and numeric
// character references; anything else (CDATA, attributes on the elements we read) is not used
// by S3 for these answers.

std::string xml_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    const std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out.push_back('&');
      continue;
    }
    const std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp")
      out.push_back('&');
    else if (ent == "lt")
      out.push_back('<');
    else if (ent == "gt")
      out.push_back('>');
    else if (ent == "quot")
      out.push_back('"');
    else if (ent == "apos")
      out.push_back('\'');
    else if (ent.size() >= 2 && ent[0] == '#') {
      unsigned long v = 0;
      const bool hexa = ent[1] == 'x' || ent[1] == 'X';
      bool good = ent.size() > (hexa ? 2u : 1u);
      for (char c : ent.substr(hexa ? 2 : 1)) {
        int d = -1;
        if (c >= '0' && c <= '9')
          d = c - '0';
        else if (hexa && c >= 'a' && c <= 'f')
          d = c - 'a' + 10;
        else if (hexa && c >= 'A' && c <= 'F')
          d = c - 'A' + 10;
        if (d < 0 || v > 0x10FFFF) {
          good = false;
          break;
        }
        v = v * (hexa ? 16 : 10) + static_cast<unsigned long>(d);
      }
      // Only ASCII is decoded; the keys we accept are ASCII, anything else is kept escaped.
      if (!good || v == 0 || v > 0x7F) {
        out.append(s.substr(i, semi - i + 1));
      } else {
        out.push_back(static_cast<char>(v));
      }
    } else {
      out.append(s.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

// The text of the first <name>...</name> at or after `pos` in `doc`; `pos` moves past it.
std::optional<std::string_view> xml_next(std::string_view doc, std::string_view name, std::size_t& pos) {
  const std::string open = "<" + std::string(name) + ">";
  const std::string close = "</" + std::string(name) + ">";
  const std::size_t a = doc.find(open, pos);
  if (a == std::string_view::npos) return std::nullopt;
  const std::size_t b = doc.find(close, a + open.size());
  if (b == std::string_view::npos) return std::nullopt;
  pos = b + close.size();
  return doc.substr(a + open.size(), b - a - open.size());
}

std::optional<std::string> xml_text(std::string_view doc, std::string_view name) {
  std::size_t pos = 0;
  auto v = xml_next(doc, name, pos);
  if (!v) return std::nullopt;
  return xml_decode(*v);
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::string shorten(std::string s, std::size_t n = 300) {
  if (s.size() > n) {
    s.resize(n);
    s += "...";
  }
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

}  // namespace

// ---- The HTTP client: one endpoint, one bucket, SigV4, a pool of curl handles ----

namespace detail {

struct Call {
  std::string what{};    // "UploadPart 3 of img.qcow2", for messages
  std::string method{};  // GET HEAD PUT POST DELETE
  std::string object{};  // the object name; empty for the bucket itself
  std::vector<std::pair<std::string, std::string>> query{};
  std::vector<std::pair<std::string, std::string>> headers{};  // signed, sent as given
  std::span<const std::byte> body{};
  std::span<std::byte> into{};  // a ranged GET's destination: the 206 body must fill it exactly
  bool repeatable = false;      // may be retried on 5xx and connection failures
};

struct Response {
  long status = 0;
  std::string body;                            // bounded by kMaxResponseBody (not for `into`)
  std::map<std::string, std::string> headers;  // lower-case names
  std::uint64_t into_bytes = 0;                // bytes written to Call::into
  bool range_ignored = false;                  // a 200 to a ranged GET: the transfer was stopped
};

class S3Client {
 public:
  static Result<std::shared_ptr<S3Client>> create(const StoreConfig& config, std::string bucket) {
    static std::once_flag once;
    static CURLcode global = CURLE_OK;
    std::call_once(once, [] { global = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (global != CURLE_OK) return Error::internal(fmt::format("s3: curl_global_init: {}", curl_easy_strerror(global)));

    std::string ep = config.endpoint;
    std::string scheme;
    if (ep.starts_with("http://"))
      scheme = "http";
    else if (ep.starts_with("https://"))
      scheme = "https";
    else
      return Error::invalid_argument(fmt::format("s3 endpoint '{}': not http:// or https://", shorten(ep, 100)));
    std::string authority = ep.substr(scheme.size() + 3);
    while (!authority.empty() && authority.back() == '/') authority.pop_back();
    if (authority.empty() || authority.find_first_of("/?#@ ") != std::string::npos) {
      return Error::invalid_argument(
          fmt::format("s3 endpoint '{}': want scheme://host[:port] with no path", shorten(ep, 100)));
    }
    if (config.access_key.empty() || config.secret_key.empty()) {
      return Error::invalid_argument("s3 store: access key and secret key are required");
    }
    if (config.region.empty()) return Error::invalid_argument("s3 store: no region");
    auto c = std::shared_ptr<S3Client>(new S3Client());
    c->base_url_ = scheme + "://" + authority;
    c->host_ = authority;
    c->https_ = scheme == "https";
    c->bucket_ = std::move(bucket);
    c->credentials_ = {config.access_key, config.secret_key, config.region, "s3"};
    return c;
  }

  ~S3Client() {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }

  const std::string& bucket() const { return bucket_; }
  bool https() const { return https_; }

  // Sends `call` (retrying a repeatable one on 5xx and connection failures) and returns the
  // last answer, whatever its status. Errors: kUnavailable when no answer came.
  Result<Response> send(const Call& call) const {
    const int attempts = call.repeatable ? kAttempts : 1;
    auto backoff = kFirstBackoff;
    for (int attempt = 1;; ++attempt) {
      auto r = send_once(call);
      const bool transient = !r ? r.error().code == ErrorCode::kUnavailable : r->status >= 500;
      if (!transient || attempt >= attempts) {
        if (!r) return r.error().with_context(fmt::format("after {} attempt(s)", attempt));
        return r;
      }
      std::this_thread::sleep_for(backoff);
      backoff *= 2;
    }
  }

  // send(), then any status but 2xx becomes an error.
  Result<Response> call(const Call& c) const {
    auto r = IG_TRY(send(c));
    if (r.status < 200 || r.status > 299) return status_error(c, r);
    return r;
  }

  // The error for a non-2xx answer: the request, the status, S3's Code and Message.
  Error status_error(const Call& c, const Response& r) const {
    std::string detail;
    if (auto code = xml_text(r.body, "Code")) detail += " " + shorten(*code, 100);
    if (auto msg = xml_text(r.body, "Message")) detail += ": " + shorten(*msg);
    const std::string m = fmt::format("{}: HTTP {}{}", describe(c), r.status, detail);
    if (r.status >= 500) return Error::unavailable(m);
    if (r.status == 404) return Error::not_found(m);
    if (r.status == 401 || r.status == 403) return Error{ErrorCode::kPermissionDenied, m};
    return Error::io(m);
  }

  std::string describe(const Call& c) const {
    return fmt::format("s3 {} ({} /{}{}{})", c.what, c.method, bucket_, c.object.empty() ? "" : "/", c.object);
  }

 private:
  S3Client() = default;

  struct Transfer {
    const Call* call = nullptr;
    Response* response = nullptr;
    CURL* handle = nullptr;
    bool body_too_large = false;
    bool into_overflow = false;
  };

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t len = size * n;
    std::string_view line(data, len);
    if (line.starts_with("HTTP/")) {
      t->response->headers.clear();  // a new status line (after a 100 Continue)
      return len;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || t->response->headers.size() > 200) return len;
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    t->response->headers[name] = std::string(value.substr(0, 1024));
    return len;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
    if (!t->call->into.empty() && status == 200) {
      // The server ignored Range and is sending the whole object: stop now.
      t->response->range_ignored = true;
      return 0;
    }
    if (!t->call->into.empty() && status == 206) {
      const std::uint64_t at = t->response->into_bytes;
      if (len > t->call->into.size() - at) {
        t->into_overflow = true;
        return 0;
      }
      std::memcpy(t->call->into.data() + at, data, len);
      t->response->into_bytes += len;
      return len;
    }
    if (len > kMaxResponseBody - t->response->body.size()) {
      t->body_too_large = true;
      return 0;
    }
    t->response->body.append(data, len);
    return len;
  }

  CURL* take_handle() const {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void give_back(CURL* h) const {
    std::lock_guard lock(mu_);
    if (idle_.size() < kMaxHandles) {
      idle_.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }

  Result<Response> send_once(const Call& c) const {
    const std::string canonical_uri =
        "/" + sigv4::uri_encode(bucket_, false) + (c.object.empty() ? "" : "/" + sigv4::uri_encode(c.object, true));
    const std::string query = sigv4::canonical_query(c.query);
    const std::string url = base_url_ + canonical_uri + (query.empty() ? "" : "?" + query);

    sigv4::Request sr;
    sr.method = c.method;
    sr.canonical_uri = canonical_uri;
    sr.query = c.query;
    // Over TLS the body's integrity is the transport's job; over plain HTTP the signature covers
    // it. An empty body is always hashed (a constant).
    sr.payload_hash = https_ && !c.body.empty() ? std::string(sigv4::kUnsignedPayload) : sigv4::sha256_hex(c.body);
    const std::string amz_time = sigv4::amz_time_now();
    sr.headers = c.headers;
    sr.headers.emplace_back("host", host_);
    sr.headers.emplace_back("x-amz-date", amz_time);
    sr.headers.emplace_back("x-amz-content-sha256", sr.payload_hash);
    const std::string auth = sigv4::authorization(sr, credentials_, amz_time);

    struct curl_slist* list = nullptr;
    for (const auto& [k, v] : sr.headers) list = curl_slist_append(list, (k + ": " + v).c_str());
    list = curl_slist_append(list, ("Authorization: " + auth).c_str());
    list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
    if (c.method == "POST" || c.method == "PUT") {
      bool has_type = false;
      for (const auto& [k, v] : c.headers) has_type = has_type || k == "content-type";
      if (!has_type) list = curl_slist_append(list, "Content-Type:");  // not curl's form default
    }

    CURL* h = take_handle();
    if (h == nullptr) {
      curl_slist_free_all(list);
      return Error::internal("s3: curl_easy_init failed");
    }
    curl_easy_reset(h);
    Response response;
    Transfer t{&c, &response, h};
    std::array<char, CURL_ERROR_SIZE> errbuf{};
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf.data());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");  // the store is reached directly, never via $http_proxy
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerSecond);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, kLowSpeedSeconds);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &S3Client::on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &S3Client::on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    if (c.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (c.method == "PUT" || c.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, c.body.empty() ? "" : reinterpret_cast<const char*>(c.body.data()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(c.body.size()));
      if (c.method == "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    } else if (c.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c.method.c_str());
    }
    const CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(list);
    give_back(h);
    response.status = status;

    if (response.range_ignored) {
      return Error::unsupported(
          fmt::format("{}: the server answered a ranged GET with the whole object (HTTP 200); "
                      "refusing to download everything",
                      describe(c)));
    }
    if (t.body_too_large) {
      return Error::limit_exceeded(fmt::format("{}: answer larger than {} bytes", describe(c), kMaxResponseBody));
    }
    if (t.into_overflow) {
      return Error::io(fmt::format("{}: answer longer than the {} bytes asked for", describe(c), c.into.size()));
    }
    if (rc != CURLE_OK) {
      return Error::unavailable(
          fmt::format("{}: {}{}{}", describe(c), curl_easy_strerror(rc), errbuf[0] != 0 ? ": " : "", errbuf.data()));
    }
    return response;
  }

  std::string base_url_;
  std::string host_;
  bool https_ = false;
  std::string bucket_;
  sigv4::Credentials credentials_;
  mutable std::mutex mu_;
  mutable std::vector<CURL*> idle_;
};

}  // namespace detail

using detail::Call;
using detail::S3Client;

// ---- Location ----

Result<S3Location> parse_s3_location(const std::string& location) {
  if (!location.starts_with("s3://")) {
    return Error::invalid_argument(fmt::format("s3 location '{}': not s3://bucket/prefix", shorten(location, 100)));
  }
  std::string rest = location.substr(5);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const std::size_t slash = rest.find('/');
  S3Location out;
  out.bucket = rest.substr(0, slash);
  out.prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (out.bucket.empty() || out.bucket.size() > 63 || out.bucket[0] == '.' || out.bucket[0] == '-' ||
      !std::all_of(out.bucket.begin(), out.bucket.end(), valid_name_char)) {
    return Error::invalid_argument(
        fmt::format("s3 location '{}': bucket must be 1-63 characters of [A-Za-z0-9._-]", shorten(location, 100)));
  }
  // The prefix: segments of [A-Za-z0-9._-], none empty, "." or "..", at most 512 characters.
  if (out.prefix.size() > 512) {
    return Error::invalid_argument(fmt::format("s3 location '{}': prefix longer than 512", shorten(location, 100)));
  }
  std::size_t start = 0;
  while (!out.prefix.empty() && start <= out.prefix.size()) {
    const std::size_t end = std::min(out.prefix.find('/', start), out.prefix.size());
    const std::string seg = out.prefix.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == ".." || !std::all_of(seg.begin(), seg.end(), valid_name_char)) {
      return Error::invalid_argument(fmt::format("s3 location '{}': prefix segment '{}' is not [A-Za-z0-9._-]+",
                                                 shorten(location, 100), shorten(seg, 64)));
    }
    start = end + 1;
  }
  return out;
}

// ---- Store ----

namespace {

Result<void> check_key(const std::string& key) {
  if (!valid_key(key)) return Error::invalid_argument(fmt::format("image store: invalid key '{}'", key.substr(0, 64)));
  return ok();
}

// A ByteSource over one object, read with ranged GETs.
class S3Source final : public ByteSource {
 public:
  S3Source(std::shared_ptr<S3Client> client, std::string object, std::uint64_t size)
      : client_(std::move(client)), object_(std::move(object)), size_(size) {}

  std::uint64_t size() const override { return size_; }
  std::string name() const override { return fmt::format("s3://{}/{}", client_->bucket(), object_); }

  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    if (!fits(offset, out.size())) return out_of_range(offset, out.size());
    if (out.empty()) return ok();
    const std::uint64_t last = offset + out.size() - 1;
    Call c;
    c.what = fmt::format("read [{}, {}]", offset, last);
    c.method = "GET";
    c.object = object_;
    c.headers = {{"range", fmt::format("bytes={}-{}", offset, last)}};
    c.into = out;
    c.repeatable = true;
    // A short body (a connection cut mid-transfer) is repeated like a connection failure.
    for (int attempt = 1;; ++attempt) {
      auto r = IG_TRY(client_->call(c));
      if (r.status != 206) {
        return Error::io(
            fmt::format("{}: HTTP {} where 206 Partial Content was expected", client_->describe(c), r.status));
      }
      const std::string want = fmt::format("bytes {}-{}/{}", offset, last, size_);
      const std::string& got = r.headers["content-range"];
      if (got != want) {
        return Error::io(fmt::format("{}: Content-Range '{}' where '{}' was expected (object replaced?)",
                                     client_->describe(c), shorten(got, 100), want));
      }
      if (r.into_bytes == out.size()) return ok();
      if (attempt >= kAttempts) {
        return Error::unavailable(fmt::format("{}: {} of {} bytes received after {} attempts", client_->describe(c),
                                              r.into_bytes, out.size(), attempt));
      }
    }
  }

 private:
  std::shared_ptr<S3Client> client_;
  std::string object_;
  std::uint64_t size_;
};

}  // namespace

S3Store::S3Store(std::shared_ptr<S3Client> client, S3Location where, const StoreConfig& config)
    : client_(std::move(client)),
      where_(std::move(where)),
      part_size_bytes_(config.part_size_bytes),
      max_part_count_(config.max_part_count) {}

S3Store::~S3Store() = default;

Result<std::unique_ptr<S3Store>> S3Store::create(const StoreConfig& config) {
  auto where = IG_TRY(parse_s3_location(config.location));
  if (config.part_size_bytes < kMinPartBytes || config.part_size_bytes > kMaxPartBytes) {
    return Error::invalid_argument(fmt::format("s3 store: part size {} not in [{}, {}] (S3's limits)",
                                               config.part_size_bytes, kMinPartBytes, kMaxPartBytes));
  }
  if (config.max_part_count < 1 || config.max_part_count > kMaxPartCount) {
    return Error::invalid_argument(
        fmt::format("s3 store: max part count {} not in [1, {}]", config.max_part_count, kMaxPartCount));
  }
  auto client = IG_TRY(S3Client::create(config, where.bucket));
  return std::unique_ptr<S3Store>(new S3Store(std::move(client), std::move(where), config));
}

std::string S3Store::location() const {
  return where_.prefix.empty() ? "s3://" + where_.bucket : "s3://" + where_.bucket + "/" + where_.prefix;
}

std::string S3Store::object_name(const std::string& key) const {
  return where_.prefix.empty() ? key : where_.prefix + "/" + key;
}

std::uint64_t S3Store::part_size_for(std::uint64_t size_hint) const {
  std::uint64_t p = part_size_bytes_;
  const std::uint64_t needed = size_hint / max_part_count_ + (size_hint % max_part_count_ != 0 ? 1 : 0);
  if (needed > p) p = (needed + kMiB - 1) / kMiB * kMiB;
  return p;
}

Result<std::unique_ptr<ByteSink>> S3Store::put(const std::string& key, std::uint64_t size_hint) {
  IG_TRY(check_key(key));
  const std::uint64_t p = part_size_for(size_hint);
  if (p > kMaxPartBytes) {
    return Error::limit_exceeded(fmt::format("s3 put {}: {} bytes do not fit in {} parts of at most {} bytes", key,
                                             size_hint, max_part_count_, kMaxPartBytes));
  }
  return std::unique_ptr<ByteSink>(std::make_unique<S3Sink>(client_, object_name(key), p, max_part_count_));
}

Result<SourcePtr> S3Store::open(const std::string& key) const {
  IG_TRY(check_key(key));
  // One byte with Range tells the size (Content-Range), that the object exists, and that the
  // server honours Range, before anyone reads through the source.
  std::byte probe[1];
  Call c;
  c.what = "open";
  c.method = "GET";
  c.object = object_name(key);
  c.headers = {{"range", "bytes=0-0"}};
  c.into = std::span(probe);
  c.repeatable = true;
  auto r = IG_TRY(client_->send(c));
  std::uint64_t size = 0;
  if (r.status == 416) {
    // An empty object has no byte 0; HEAD confirms it exists and is empty.
    Call head{.what = "open (empty?)", .method = "HEAD", .object = c.object, .repeatable = true};
    auto hr = IG_TRY(client_->call(head));
    auto len = parse_u64(hr.headers["content-length"]);
    if (!len || *len != 0) {
      return Error::io(fmt::format("{}: Range bytes=0-0 not satisfiable but Content-Length is '{}'",
                                   client_->describe(head), shorten(hr.headers["content-length"], 40)));
    }
  } else if (r.status == 206) {
    // "bytes 0-0/SIZE"
    const std::string& cr = r.headers["content-range"];
    const std::size_t slash = cr.find('/');
    auto total = slash == std::string::npos ? std::nullopt : parse_u64(std::string_view(cr).substr(slash + 1));
    if (!cr.starts_with("bytes 0-0/") || !total || r.into_bytes != 1) {
      return Error::io(fmt::format("{}: bad Content-Range '{}' for bytes=0-0", client_->describe(c), shorten(cr, 100)));
    }
    size = *total;
  } else {
    return client_->status_error(c, r);
  }
  return SourcePtr(std::make_shared<S3Source>(client_, c.object, size));
}

Result<void> S3Store::remove(const std::string& key) {
  IG_TRY(check_key(key));
  Call c{.what = "remove", .method = "DELETE", .object = object_name(key), .repeatable = true};
  auto r = IG_TRY(client_->send(c));
  if (r.status == 404 || (r.status >= 200 && r.status <= 299)) return ok();
  return client_->status_error(c, r);
}

Result<void> S3Store::remove_all(const std::string& prefix) {
  if (prefix.empty() || !valid_key(prefix)) {
    return Error::invalid_argument(fmt::format("image store: invalid prefix '{}'", shorten(prefix, 64)));
  }
  for (const StoredObject& o : IG_TRY(list(prefix))) IG_TRY(remove(o.key));
  // Unfinished multipart uploads of such keys (a writer that crashed): ListMultipartUploads, one
  // page of up to 1000 is plenty for one image's keys.
  const std::string base = where_.prefix.empty() ? "" : where_.prefix + "/";
  Call c{.what = fmt::format("list uploads '{}'", shorten(prefix, 64)),
         .method = "GET",
         .query = {{"uploads", ""}, {"prefix", base + prefix}},
         .repeatable = true};
  auto r = IG_TRY(client_->call(c));
  const std::string_view doc = r.body;
  std::size_t pos = 0;
  while (auto upload = xml_next(doc, "Upload", pos)) {
    auto key = xml_text(*upload, "Key");
    auto id = xml_text(*upload, "UploadId");
    if (!key || !id || !key->starts_with(base + prefix)) continue;
    Call abort{.what = "AbortMultipartUpload",
               .method = "DELETE",
               .object = *key,
               .query = {{"uploadId", *id}},
               .repeatable = true};
    auto a = IG_TRY(client_->send(abort));
    if (a.status != 404 && (a.status < 200 || a.status > 299)) return client_->status_error(abort, a);
  }
  return ok();
}

Result<std::vector<StoredObject>> S3Store::list(const std::string& prefix) const {
  const std::string base = where_.prefix.empty() ? "" : where_.prefix + "/";
  std::vector<StoredObject> out;
  std::string token;
  for (std::size_t page = 0;; ++page) {
    if (page >= kMaxListPages) {
      return Error::limit_exceeded(fmt::format("s3 list {}: more than {} pages", location(), kMaxListPages));
    }
    Call c{.what = fmt::format("list '{}' page {}", shorten(prefix, 64), page + 1),
           .method = "GET",
           .query = {{"list-type", "2"}, {"prefix", base + prefix}},
           .repeatable = true};
    if (!token.empty()) c.query.emplace_back("continuation-token", token);
    auto r = IG_TRY(client_->call(c));
    const std::string_view doc = r.body;
    if (doc.find("<ListBucketResult") == std::string_view::npos) {
      return Error::io(fmt::format("{}: answer is not a ListBucketResult: '{}'", client_->describe(c),
                                   shorten(std::string(doc.substr(0, 200)))));
    }
    std::size_t pos = 0;
    while (auto contents = xml_next(doc, "Contents", pos)) {
      auto key = xml_text(*contents, "Key");
      auto size = xml_text(*contents, "Size");
      auto bytes = size ? parse_u64(*size) : std::nullopt;
      if (!key || !bytes) {
        return Error::io(fmt::format("{}: a Contents entry without Key or Size: '{}'", client_->describe(c),
                                     shorten(std::string(*contents))));
      }
      if (!key->starts_with(base)) continue;
      std::string name = key->substr(base.size());
      // Objects in "subfolders" of the prefix, or with names we never make, are not ours.
      if (valid_key(name) && name.starts_with(prefix)) out.push_back({std::move(name), *bytes});
    }
    if (xml_text(doc, "IsTruncated").value_or("false") != "true") break;
    auto next = xml_text(doc, "NextContinuationToken");
    if (!next || next->empty() || *next == token) {
      return Error::io(fmt::format("{}: truncated listing without a new NextContinuationToken", client_->describe(c)));
    }
    token = std::move(*next);
  }
  std::sort(out.begin(), out.end(), [](const StoredObject& a, const StoredObject& b) { return a.key < b.key; });
  return out;
}

Result<void> S3Store::ping() const {
  Call c{.what = "ping", .method = "GET", .query = {{"list-type", "2"}, {"max-keys", "1"}}, .repeatable = false};
  if (!where_.prefix.empty()) c.query.emplace_back("prefix", where_.prefix + "/");
  IG_TRY(client_->call(c));
  return ok();
}

// ---- Sink ----

S3Sink::S3Sink(std::shared_ptr<S3Client> client, std::string object, std::uint64_t part_size_bytes,
               std::uint32_t max_part_count)
    : client_(std::move(client)),
      object_(std::move(object)),
      part_size_(part_size_bytes),
      max_part_count_(max_part_count) {}

S3Sink::~S3Sink() {
  if (!committed_) abort_upload();
}

std::string S3Sink::name() const {
  return fmt::format("s3://{}/{}", client_->bucket(), object_);
}

void S3Sink::grow(std::vector<std::byte>& buf, std::size_t n) {
  if (n <= buf.size()) return;
  if (n > buf.capacity()) {
    const auto cap = static_cast<std::size_t>(std::min<std::uint64_t>(part_size_, std::max(n, buf.capacity() * 2)));
    buf.reserve(std::max(cap, n));
  }
  buf.resize(n);
  peak_buffered_ = std::max<std::uint64_t>(peak_buffered_, first_.capacity() + cur_.capacity());
}

Result<void> S3Sink::fail(Error e) {
  failed_ = true;
  abort_upload();
  return e;
}

void S3Sink::abort_upload() {
  if (upload_id_.empty()) return;
  Call c{.what = "AbortMultipartUpload",
         .method = "DELETE",
         .object = object_,
         .query = {{"uploadId", upload_id_}},
         .repeatable = true};
  // Best effort: an upload that cannot be aborted now is left to the bucket's lifecycle rule
  // (docs/decisions/0010); there is no one to report it to from a destructor.
  (void)client_->send(c);
  upload_id_.clear();
}

Result<void> S3Sink::upload_part(std::uint32_t part, std::span<const std::byte> data) {
  if (upload_id_.empty()) {
    Call c{.what = "CreateMultipartUpload",
           .method = "POST",
           .object = object_,
           .query = {{"uploads", ""}},
           .headers = {{"content-type", "application/octet-stream"}}};
    auto r = IG_TRY(client_->call(c));
    auto id = xml_text(r.body, "UploadId");
    if (!id || id->empty() || id->size() > 1024) {
      return Error::io(fmt::format("{}: no UploadId in '{}'", client_->describe(c), shorten(r.body, 200)));
    }
    upload_id_ = std::move(*id);
  }
  Call c{.what = fmt::format("UploadPart {}", part),
         .method = "PUT",
         .object = object_,
         .query = {{"partNumber", std::to_string(part)}, {"uploadId", upload_id_}},
         .body = data,
         .repeatable = true};
  auto r = IG_TRY(client_->call(c));
  const std::string etag = r.headers["etag"];
  if (etag.empty()) return Error::io(fmt::format("{}: no ETag in the answer", client_->describe(c)));
  etags_.emplace_back(part, etag);
  return ok();
}

Result<void> S3Sink::flush_through(std::uint32_t part) {
  // The buffered part, padded with zeros to a whole part (parts before the last are full).
  if (cur_part_ != 0 && cur_part_ <= part) {
    grow(cur_, static_cast<std::size_t>(part_size_));
    IG_TRY(upload_part(cur_part_, cur_));
    uploaded_through_ = cur_part_;
    cur_part_ = 0;
    cur_.clear();
  }
  // Parts nothing was written into (a hole in raw output) are zeros.
  while (uploaded_through_ < part) {
    cur_.assign(static_cast<std::size_t>(part_size_), std::byte{0});
    peak_buffered_ = std::max<std::uint64_t>(peak_buffered_, first_.capacity() + cur_.capacity());
    IG_TRY(upload_part(uploaded_through_ + 1, cur_));
    ++uploaded_through_;
    cur_.clear();
  }
  return ok();
}

Result<void> S3Sink::write_at(std::uint64_t offset, std::span<const std::byte> data) {
  if (committed_ || failed_) {
    return Error::invalid_argument(
        fmt::format("s3 sink {}: write after {}", name(), committed_ ? "commit" : "failure"));
  }
  const std::uint64_t end = IG_TRY(checked_add(offset, data.size(), "s3 sink write"));
  // Split at part boundaries.
  while (!data.empty()) {
    const std::uint64_t in_part = part_size_ - offset % part_size_;
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(in_part, data.size()));
    IG_TRY(write_piece(offset, data.first(n)));
    offset += n;
    data = data.subspan(n);
  }
  size_ = std::max(size_, end);
  return ok();
}

Result<void> S3Sink::write_piece(std::uint64_t offset, std::span<const std::byte> data) {
  const std::uint64_t part64 = offset / part_size_ + 1;
  if (part64 > max_part_count_) {
    return Error::limit_exceeded(fmt::format("s3 sink {}: offset {} needs part {}, beyond {} parts of {} bytes", name(),
                                             offset, part64, max_part_count_, part_size_));
  }
  const auto part = static_cast<std::uint32_t>(part64);
  const auto at = static_cast<std::size_t>(offset % part_size_);
  if (part == 1) {
    grow(first_, at + data.size());
    std::memcpy(first_.data() + at, data.data(), data.size());
    return ok();
  }
  if (part <= uploaded_through_) {
    return Error::unsupported(
        fmt::format("s3 sink {}: write at offset {} goes back into part {}, already uploaded (parts after the first "
                    "must be written in increasing order)",
                    name(), offset, part));
  }
  if (part != cur_part_) {
    // Moving forward: everything before this part is complete.
    if (auto r = flush_through(part - 1); !r) return fail(r.error());
    cur_part_ = part;
  }
  grow(cur_, at + data.size());
  std::memcpy(cur_.data() + at, data.data(), data.size());
  if (cur_.size() == part_size_) {
    // Full: send it now, so the sink never holds more than this part and the first.
    if (auto r = flush_through(part); !r) return fail(r.error());
  }
  return ok();
}

Result<void> S3Sink::set_size(std::uint64_t size) {
  if (committed_ || failed_) {
    return Error::invalid_argument(
        fmt::format("s3 sink {}: set_size after {}", name(), committed_ ? "commit" : "failure"));
  }
  if (size >= size_) {
    size_ = size;
    return ok();
  }
  if (uploaded_through_ > 1 && size < uploaded_through_ * part_size_) {
    return Error::unsupported(fmt::format("s3 sink {}: cannot truncate to {} below the end of uploaded part {}", name(),
                                          size, uploaded_through_));
  }
  if (size < first_.size()) first_.resize(static_cast<std::size_t>(size));
  if (cur_part_ != 0) {
    const std::uint64_t start = (cur_part_ - 1) * part_size_;
    if (size <= start) {
      cur_.clear();
      cur_part_ = 0;
    } else if (size - start < cur_.size()) {
      cur_.resize(static_cast<std::size_t>(size - start));
    }
  }
  size_ = size;
  return ok();
}

Result<void> S3Sink::commit() {
  if (committed_) return ok();
  if (failed_) return Error::invalid_argument(fmt::format("s3 sink {}: commit after failure", name()));
  const std::uint64_t parts64 = size_ == 0 ? 1 : (size_ - 1) / part_size_ + 1;
  if (parts64 > max_part_count_) {
    return fail(Error::limit_exceeded(
        fmt::format("s3 sink {}: {} bytes need {} parts, beyond {}", name(), size_, parts64, max_part_count_)));
  }
  const auto parts = static_cast<std::uint32_t>(parts64);
  if (parts == 1) {
    // A multipart upload only starts for a part after the first, which a size of one part
    // rules out (set_size refuses to cut into uploaded parts).
    // Small enough for one PutObject: no multipart upload at all.
    grow(first_, static_cast<std::size_t>(size_));
    Call c{.what = "PutObject",
           .method = "PUT",
           .object = object_,
           .headers = {{"content-type", "application/octet-stream"}},
           .body = first_,
           .repeatable = true};
    if (auto r = client_->call(c); !r) return fail(r.error());
    etags_.emplace_back(1, "");
  } else {
    // The last part may be short: pad the buffered part only to the object's end.
    if (cur_part_ == parts) {
      grow(cur_, static_cast<std::size_t>(size_ - (parts - 1) * part_size_));
      if (auto r = upload_part(cur_part_, cur_); !r) return fail(r.error());
      uploaded_through_ = cur_part_;
      cur_part_ = 0;
      cur_.clear();
    }
    if (auto r = flush_through(parts - 1); !r) return fail(r.error());
    if (uploaded_through_ < parts) {  // a last part nothing was written into
      cur_.assign(static_cast<std::size_t>(size_ - (parts - 1) * part_size_), std::byte{0});
      if (auto r = upload_part(parts, cur_); !r) return fail(r.error());
      uploaded_through_ = parts;
      cur_.clear();
    }
    // Part 1, with the header, last; full, since a later part exists.
    grow(first_, static_cast<std::size_t>(part_size_));
    if (auto r = upload_part(1, first_); !r) return fail(r.error());
    std::sort(etags_.begin(), etags_.end());
    std::string xml = "<CompleteMultipartUpload>";
    for (const auto& [n, etag] : etags_) {
      std::string escaped;
      for (char ch : etag) escaped += ch == '"' ? std::string("&quot;") : std::string(1, ch);
      xml += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", n, escaped);
    }
    xml += "</CompleteMultipartUpload>";
    Call c{.what = fmt::format("CompleteMultipartUpload ({} parts)", etags_.size()),
           .method = "POST",
           .object = object_,
           .query = {{"uploadId", upload_id_}},
           .headers = {{"content-type", "application/xml"}},
           .body = std::as_bytes(std::span(xml))};
    auto r = client_->call(c);
    if (!r) return fail(r.error());
    // S3 may answer 200 and report the failure in the body.
    if (r->body.find("<Error>") != std::string::npos ||
        r->body.find("CompleteMultipartUploadResult") == std::string::npos) {
      return fail(Error::io(fmt::format("{}: failed: {} {}", client_->describe(c),
                                        xml_text(r->body, "Code").value_or("(no Code)"),
                                        shorten(xml_text(r->body, "Message").value_or(r->body)))));
    }
    upload_id_.clear();
  }
  committed_ = true;
  first_ = {};
  cur_ = {};
  return ok();
}

}  // namespace ig::store
