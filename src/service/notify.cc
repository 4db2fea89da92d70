#include "service/notify.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/tc3.h"
#include "base/text.h"

namespace ig::service {
namespace {

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// An RFC 2047 encoded word for a header that may hold any UTF-8 text.
std::string encoded_word(const std::string& text) {
  return "=?UTF-8?B?" + api::base64(text) + "?=";
}

std::string rfc5322_date(std::int64_t unix_seconds) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

struct Upload {
  std::string_view data;
  std::size_t at = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  const std::size_t len = std::min(size * n, u->data.size() - u->at);
  std::copy_n(u->data.data() + u->at, len, buffer);
  u->at += len;
  return len;
}

std::size_t discard(char*, std::size_t size, std::size_t n, void*) {
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

std::int64_t retry_delay(const NotifyConfig& config, std::int64_t attempts) {
  std::int64_t delay = std::max<std::int64_t>(config.retry_min_seconds, 1);
  for (std::int64_t i = 1; i < attempts && delay < config.retry_max_seconds; ++i) delay *= 2;
  return std::min(delay, std::max<std::int64_t>(config.retry_max_seconds, 1));
}

std::string mail_text(const NotifyConfig& config, const catalog::Delivery& d, const std::string& date) {
  std::string body = api::base64(d.message.content + "\r\n");
  std::string wrapped;
  for (std::size_t i = 0; i < body.size(); i += 76) wrapped += body.substr(i, 76) + "\r\n";
  return fmt::format(
      "From: imagegate <{}>\r\nTo: <{}>\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}.{}@imagegate>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n"
      "Content-Language: {}\r\nX-Imagegate-Message-Id: {}\r\nX-Imagegate-Image-Id: {}\r\n\r\n{}",
      config.mail_from, d.endpoint, encoded_word(d.message.title), date, d.message.message_id, d.delivery_id,
      d.message.language, d.message.message_id, d.message.image_id, wrapped);
}

nlohmann::ordered_json message_json(const catalog::InboxMessage& m) {
  return {{"MessageId", m.message_id},
          {"ImageId", m.image_id},
          {"Kind", m.kind},
          {"Language", m.language},
          {"Title", m.title},
          {"Content", m.content},
          {"ErrorCode", m.error_code},
          {"CreatedTime", m.created_time}};
}

std::string webhook_body(const catalog::InboxMessage& m) {
  return message_json(m).dump();
}

std::string webhook_signature(const std::string& secret, std::int64_t timestamp, const std::string& body) {
  return "sha256=" + to_hex(api::hmac_sha256(secret, fmt::format("{}.{}", timestamp, body)));
}

std::string send_mail(const NotifyConfig& config, const catalog::Delivery& d) {
  if (config.smtp_url.empty()) return "no SMTP server is configured (notify.smtp_url)";
  const std::string text = mail_text(config, d, rfc5322_date(now_unix()));
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return "libcurl could not start";
  std::unique_ptr<curl_slist, ListDeleter> rcpt(curl_slist_append(nullptr, ("<" + d.endpoint + ">").c_str()));
  Upload upload{text};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, config.smtp_url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, ("<" + config.mail_from + ">").c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(config.timeout_seconds));
  if (!config.smtp_user.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, config.smtp_user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, config.smtp_password.c_str());
  }
  char why[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why);
  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) return "";
  return fmt::format("SMTP {}: {}", config.smtp_url, why[0] != '\0' ? why : curl_easy_strerror(rc));
}

std::string post_webhook(const NotifyConfig& config, const catalog::Delivery& d) {
  const std::string body = webhook_body(d.message);
  const std::int64_t ts = now_unix();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return "libcurl could not start";
  curl_slist* raw = curl_slist_append(nullptr, "Content-Type: application/json");
  raw = curl_slist_append(raw, fmt::format("X-Imagegate-Timestamp: {}", ts).c_str());
  raw = curl_slist_append(raw, ("X-Imagegate-Signature: " + webhook_signature(d.secret, ts, body)).c_str());
  raw = curl_slist_append(raw, ("X-Imagegate-Message-Id: " + d.message.message_id).c_str());
  std::unique_ptr<curl_slist, ListDeleter> headers(raw);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, d.endpoint.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(config.timeout_seconds));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  char why[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why);
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK) return fmt::format("webhook: {}", why[0] != '\0' ? why : curl_easy_strerror(rc));
  if (status < 200 || status > 299) return fmt::format("webhook answered HTTP {}", status);
  return "";
}

Result<bool> Notifier::run_once() {
  const std::int64_t now = now_unix();
  auto claimed = IG_TRY(catalog_.claim_delivery(now, config_.lease_seconds));
  if (!claimed) return false;
  const catalog::Delivery& d = *claimed;
  const std::string error = d.channel == "EMAIL"     ? send_mail(config_, d)
                            : d.channel == "WEBHOOK" ? post_webhook(config_, d)
                                                     : "unknown channel " + d.channel;
  const bool sent = error.empty();
  const std::int64_t retry_at =
      sent || d.attempts >= config_.max_attempts ? 0 : now_unix() + retry_delay(config_, d.attempts);
  IG_TRY(catalog_.finish_delivery(d, sent, error, retry_at));
  return true;
}

void Notifier::run(const std::atomic<bool>& stop) {
  while (!stop) {
    auto worked = run_once();
    if (!worked || !*worked) {
      for (int i = 0; i < 5 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

bool valid_mail_address(const std::string& address) {
  const auto at = address.find('@');
  if (address.size() > 254 || at == std::string::npos || at == 0 || at + 1 >= address.size()) return false;
  if (address.find('@', at + 1) != std::string::npos) return false;
  return std::none_of(address.begin(), address.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7F || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' || c == ';' || c == ':' ||
           c == '"' || c == '\\' || c == '[' || c == ']';
  });
}

bool valid_webhook_url(const std::string& url) {
  const bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  const auto host_at = url.find("://") + 3;
  return scheme && url.size() <= 2048 && host_at < url.size() && url[host_at] != '/' &&
         std::none_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20; });
}

}  // namespace ig::service
