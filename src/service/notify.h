// Notifications: the sender that empties the outbox (catalog.h). Each delivery is one message to
// one subscription — e-mail over SMTP (libcurl), or an HTTPS/HTTP POST to a webhook signed with
// the subscription's secret. A failed attempt is retried later with exponential back-off, so an
// SMTP or webhook outage delays mail but loses none; after `max_attempts` the delivery is FAILED
// and keeps its last error for DescribeMessages.
//
// Webhook requests carry the message as JSON and two headers: X-Imagegate-Timestamp (unix
// seconds) and X-Imagegate-Signature ("sha256=" and the hex HMAC-SHA256 of
// "<timestamp>.<body>" under the secret), so a receiver can check origin and freshness.
// Thread safety: one Notifier per thread; several may share a Catalog.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "catalog/catalog.h"

namespace ig::service {

struct NotifyConfig {
  std::string smtp_url;  // "smtp://host:port" or "smtps://..."; empty: e-mail deliveries wait
  std::string mail_from = "imagegate@localhost";
  std::string smtp_user;
  std::string smtp_password;
  std::int64_t retry_min_seconds = 10;   // the first retry's delay; doubled each time
  std::int64_t retry_max_seconds = 900;  // the longest delay
  std::int64_t max_attempts = 200;       // then FAILED (at the longest delay: about two days)
  std::int64_t timeout_seconds = 30;     // of one attempt
  std::int64_t lease_seconds = 120;      // a claimed delivery is retried after this if its sender dies
};

// The delay before attempt `attempts + 1`, after `attempts` failures.
std::int64_t retry_delay(const NotifyConfig& config, std::int64_t attempts);

// The e-mail (RFC 5322, UTF-8, base64 body) of a delivery; `date` is an RFC 5322 date.
std::string mail_text(const NotifyConfig& config, const catalog::Delivery& d, const std::string& date);
// A message's fields as the API and the webhook show them: MessageId, ImageId, Kind, Language,
// Title, Content, ErrorCode, CreatedTime.
nlohmann::ordered_json message_json(const catalog::InboxMessage& m);
// The webhook's JSON body, and its signature header value for a timestamp.
std::string webhook_body(const catalog::InboxMessage& m);
std::string webhook_signature(const std::string& secret, std::int64_t timestamp, const std::string& body);

// One attempt: an empty string when delivered, else what went wrong.
std::string send_mail(const NotifyConfig& config, const catalog::Delivery& d);
std::string post_webhook(const NotifyConfig& config, const catalog::Delivery& d);

class Notifier {
 public:
  Notifier(catalog::Catalog& catalog, NotifyConfig config) : catalog_(catalog), config_(std::move(config)) {}
  // Attempts one due delivery if there is one: true when one was attempted.
  Result<bool> run_once();
  void run(const std::atomic<bool>& stop);

 private:
  catalog::Catalog& catalog_;
  NotifyConfig config_;
};

// Subscription endpoints as the API accepts them: an e-mail address (no display name, no
// line breaks, at most 254 bytes), an http(s) URL.
bool valid_mail_address(const std::string& address);
bool valid_webhook_url(const std::string& url);

}  // namespace ig::service
