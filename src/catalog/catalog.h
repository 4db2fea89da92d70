// The catalog: the service's durable state on SQLite (WAL, versioned migrations) — custom images
// and their import tasks, the message center and its subscriptions, and the outbox of
// notifications still to deliver, per account. Accounts are isolated here: every query takes the
// caller's account, so one account never sees nor touches another's rows.
//
// Image states: IMPORTING (a task is queued or running), NORMAL, IMPORTFAILED (with the error
// code and cause). A task's end, its message and the message's deliveries (one per subscription)
// are written in one transaction: a finished import always has its message, and every message
// its deliveries, whatever crashes afterwards.
// Thread safety: one Catalog per process, its methods serialised by a mutex; SQLite's WAL lets a
// separate worker process read and write the same file.
// Errors: kIo naming the SQLite failure; kInvalidArgument / kNotFound for the caller's mistakes,
// which the API layer turns into the cloud's error codes.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

struct sqlite3;

namespace ig::catalog {

struct Tag {
  std::string key;
  std::string value;
};

// A data disk imported with its system disk (ImportImageDataDiskList), stored beside it.
struct DataDisk {
  std::int64_t index = 0;  // 0-based, in the order of the request
  std::int64_t size_gib = 0;
};

struct Image {
  std::string image_id;
  std::string account;
  std::string name;
  std::string description;
  std::string os_name;
  std::string os_version;
  std::string architecture;
  std::string platform;  // "Linux" | "Windows"
  std::string state;     // IMPORTING | NORMAL | IMPORTFAILED
  std::string error_code;
  std::string error_message;
  std::int64_t size_gib = 0;
  std::string license_type = "TencentCloud";
  std::string boot_mode = "Legacy BIOS";
  std::string image_family;
  std::string created_time;  // ISO 8601 UTC
  bool supports_cloudinit = false;
  std::vector<Tag> tags;
  std::string image_url;
  bool force = false;
  std::vector<std::string> data_disk_urls;
  std::string language = "en";       // of the account when the import was asked for: its message's language
  std::string region;                // X-TC-Region of the ImportImage request
  std::int64_t progress = 0;         // percent, while IMPORTING
  std::vector<DataDisk> data_disks;  // NORMAL: the data disks imported
  std::string source_sha256;         // the SHA-256 of the object as downloaded
};

struct Filter {
  std::string name;  // image-id, image-name, image-type, platform, tag-key, tag-value, tag:<key>
  std::vector<std::string> values;
};

struct ImagePage {
  std::vector<Image> images;
  std::int64_t total = 0;
};

// An import task a worker holds: its lease runs out at `lease_until` unless it finishes first;
// then another worker may take it again (attempt + 1). A finish by a stale holder is refused.
struct Task {
  std::int64_t task_id = 0;
  std::int64_t attempt = 0;
  Image image;
};

struct Outcome {
  bool ok = false;
  std::string error_code;  // IMPORTFAILED: the code of SPEC §3
  std::string error_message;
  std::int64_t size_gib = 0;
  bool supports_cloudinit = false;
  std::vector<DataDisk> data_disks;
  std::string source_sha256;
};

// A message of the message center: what the account is told when an import ends.
struct Delivery;
struct InboxMessage {
  std::string message_id;  // "msg-" and 8 letters and digits
  std::string account;
  std::string image_id;
  std::string kind;  // IMPORT_SUCCEEDED | IMPORT_FAILED
  std::string language;
  std::string title;
  std::string content;
  std::string error_code;
  std::string created_time;
  bool read = false;
  std::vector<Delivery> deliveries;
};

struct InboxPage {
  std::vector<InboxMessage> messages;
  std::int64_t total = 0;
  std::int64_t unread = 0;
};

// Where an account's messages are also sent: an e-mail address, or a webhook URL whose requests
// are signed with `secret`.
struct Subscription {
  std::string subscription_id;  // "sub-" and 8 letters and digits
  std::string account;
  std::string channel;  // EMAIL | WEBHOOK
  std::string endpoint;
  std::string secret;
  std::string created_time;
};

// One message to one subscription, in the outbox until sent. A sender leases it (next_attempt
// moves past the lease), then records success, or failure with the next attempt's time; after
// `max_attempts` the delivery is FAILED and stays listed with its last error.
struct Delivery {
  std::int64_t delivery_id = 0;
  std::string subscription_id;
  std::string channel;
  std::string endpoint;
  std::string secret;
  std::string state;  // PENDING | SENT | FAILED
  std::int64_t attempts = 0;
  std::int64_t next_attempt = 0;
  std::string last_error;
  std::string sent_time;
  InboxMessage message;  // filled by claim_delivery (without its deliveries)
};

class Catalog {
 public:
  static Result<std::unique_ptr<Catalog>> open(const std::string& path);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  int schema_version() const;

  // Registers an image in state IMPORTING and queues its import task. kInvalidArgument
  // "duplicate" when the account already has an image of that name.
  Result<void> create_import(const Image& image);
  Result<std::int64_t> count_images(const std::string& account);
  Result<bool> name_taken(const std::string& account, const std::string& name);

  Result<ImagePage> describe(const std::string& account, const std::vector<std::string>& ids,
                             const std::vector<Filter>& filters, std::int64_t offset, std::int64_t limit);
  Result<std::optional<Image>> get(const std::string& account, const std::string& image_id);
  Result<void> remove(const std::string& account, const std::string& image_id);
  Result<void> modify(const std::string& account, const std::string& image_id, const std::optional<std::string>& name,
                      const std::optional<std::string>& description);

  // The oldest queued task, or one whose holder's lease ran out (a crashed worker), now leased
  // to the caller for `lease_seconds`. Nothing when there is no work.
  Result<std::optional<Task>> claim_task(std::int64_t now, std::int64_t lease_seconds);
  // Records a running task's progress (percent) and extends its lease; kInvalidArgument when the
  // caller no longer holds it.
  Result<void> progress_task(const Task& task, std::int64_t percent, std::int64_t lease_until);
  // Records the outcome and the image's final state, the account's message and one delivery per
  // subscription, in one transaction; kInvalidArgument when the caller no longer holds the task
  // (its lease ran out and another worker took it).
  Result<void> finish_task(const Task& task, const Outcome& outcome, const InboxMessage& message);

  // The message center. Unknown ids (or another account's) are kNotFound naming the id.
  Result<InboxPage> describe_messages(const std::string& account, const std::vector<std::string>& ids, bool unread_only,
                                      std::int64_t offset, std::int64_t limit);
  Result<void> mark_read(const std::string& account, const std::vector<std::string>& ids);
  Result<void> delete_messages(const std::string& account, const std::vector<std::string>& ids);

  // kInvalidArgument "duplicate" when the account already subscribes that endpoint on that channel.
  Result<void> create_subscription(const Subscription& s);
  Result<std::vector<Subscription>> describe_subscriptions(const std::string& account);
  Result<void> delete_subscription(const std::string& account, const std::string& subscription_id);

  // The oldest delivery due at `now`, leased for `lease_seconds` (its attempt counted).
  Result<std::optional<Delivery>> claim_delivery(std::int64_t now, std::int64_t lease_seconds);
  // Records an attempt: sent, or failed with `error` and retried at `retry_at` (FAILED for good
  // when `retry_at` is 0). Refused (kInvalidArgument) when the attempt is not the current one.
  Result<void> finish_delivery(const Delivery& d, bool sent, const std::string& error, std::int64_t retry_at);

 private:
  explicit Catalog(sqlite3* db) : db_(db) {}
  Result<void> exec(const char* sql);
  Result<void> migrate();
  Result<std::vector<Delivery>> deliveries_of(const std::string& message_id);
  sqlite3* db_;
  mutable std::mutex mu_;
};

// New ids: "img-", "msg-", "sub-" and 8 lower-case letters and digits.
std::string new_image_id();
std::string new_id(const char* prefix);

}  // namespace ig::catalog
