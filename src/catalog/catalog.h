// The catalog: the service's durable state on SQLite (WAL) or PostgreSQL, versioned migrations — custom images
// and their import tasks, the message center and its subscriptions, and the outbox of
// notifications still to deliver, per account. Accounts are isolated here: every query takes the
// caller's account, so one account never sees nor touches another's rows.
//
// An owner may share a NORMAL image with other accounts: it then appears to them too (describe
// and get mark it `shared`), read-only, and its owner cannot remove it until every share is
// cancelled.
//
// Image states: IMPORTING (a task is queued or running), NORMAL, IMPORTFAILED (with the error
// code and cause). A task's end, its message and the message's deliveries (one per subscription)
// are written in one transaction: a finished import always has its message, and every message
// its deliveries, whatever crashes afterwards.
// Thread safety: a Catalog holds one database connection, its methods serialised by a mutex;
// several Catalogs (threads, processes) may share one database: SQLite's WAL lets a separate
// worker process read and write the same file, PostgreSQL's row locks hand each task to one.
// Errors: kIo naming the database failure; kUnavailable when it cannot be reached;
// kAlreadyExists / kNotFound / kLeaseLost for the caller's mistakes and lost races, which the API
// layer turns into the cloud's error codes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

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

// How far a running import has come: DescribeImages' ImportProgress (percent) and its detail.
// Bytes are the disk being imported now: its object's bytes fetched of `bytes` (0 while the size
// is not known yet) and its virtual disk's bytes converted of `virtual_bytes`.
struct Progress {
  std::int64_t percent = 0;
  std::int64_t disk = 0;   // 1 for the system disk, then the data disks; 0 before the first starts
  std::int64_t disks = 0;  // how many the import has
  std::int64_t fetched = 0;
  std::int64_t bytes = 0;
  std::int64_t converted = 0;
  std::int64_t virtual_bytes = 0;
  std::int64_t seconds_left = -1;  // the worker's estimate for the whole import; -1: none yet
  bool operator==(const Progress&) const = default;
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
  std::string error_message;  // IMPORTFAILED: the cause, in the account's language
  std::string error_cause;    // the same as message_json() writes (text/messages.h), or "" (migration 5)
  std::int64_t size_gib = 0;
  std::string license_type = "TencentCloud";
  std::string boot_mode = "Legacy BIOS";
  std::string image_family;
  bool deprecated = false;   // ModifyImageAttribute ImageDeprecated: not chosen by DescribeImageFromFamily
  std::string created_time;  // ISO 8601 UTC
  bool supports_cloudinit = false;
  std::vector<Tag> tags;
  std::string image_url;
  bool force = false;
  std::vector<std::string> data_disk_urls;
  std::string language = "en";       // of the account when the import was asked for: its message's language
  std::string region;                // X-TC-Region of the ImportImage request
  Progress progress;                 // while IMPORTING
  std::vector<DataDisk> data_disks;  // NORMAL: the data disks imported
  std::string source_sha256;         // the SHA-256 of the object as downloaded
  // Another account's image that the caller sees because it is shared with it (SHARED_IMAGE):
  // `account` is its owner, and its tags (the owner's) are not shown.
  bool shared = false;
  std::int64_t share_count = 0;  // the accounts the image is shared with
};

// One account an image is shared with.
struct Share {
  std::string account;
  std::string created_time;  // ISO 8601 UTC
};

// What ModifyImageAttribute may change: each field that is set.
struct ImageChanges {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> family;
  std::optional<bool> deprecated;
};

struct Filter {
  // image-id, image-name, image-type (PRIVATE_IMAGE: the caller's own; SHARED_IMAGE: shared with
  // it), platform, tag-key, tag-value, tag:<key>; and image-family (exact), which the API uses
  // for DescribeImageFromFamily.
  std::string name;
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
  std::string error_cause;  // the cause as {"id", "args"} JSON, rendered per request (Image::error_cause)
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

// Options of a catalog, whatever its backend.
struct CatalogOptions {
  // A task whose lease ran out after this many attempts is not handed out again: claim_task
  // finishes it as IMPORTFAILED (InternalError), with its message and deliveries.
  std::int64_t max_task_attempts = 3;
};

// The port. Both adapters (SQLite, PostgreSQL) run the same SQL (sql_catalog.cc) over a database
// driver (driver.h); see docs/decisions/0009.
// Errors, besides those named at each method: kIo naming the database failure; kUnavailable when
// the database cannot be reached (PostgreSQL down or restarting; the next call reconnects).
class Catalog {
 public:
  // Kept for the callers that open a SQLite file: open_catalog(path).
  static Result<std::unique_ptr<Catalog>> open(const std::string& path);
  Catalog() = default;
  virtual ~Catalog() = default;
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // "sqlite" | "postgresql".
  virtual std::string backend() const = 0;
  // A round trip to the database (for /readyz); kUnavailable when it cannot be reached.
  virtual Result<void> ping() = 0;
  virtual int schema_version() const = 0;

  // Registers an image in state IMPORTING and queues its import task. kAlreadyExists when the
  // account already has an image of that name.
  virtual Result<void> create_import(const Image& image) = 0;
  virtual Result<std::int64_t> count_images(const std::string& account) = 0;
  // Import tasks queued or running, over every account (the /metrics gauge).
  virtual Result<std::int64_t> queue_depth() = 0;
  virtual Result<bool> name_taken(const std::string& account, const std::string& name) = 0;

  // The account's images and those shared with it, newest first.
  virtual Result<ImagePage> describe(const std::string& account, const std::vector<std::string>& ids,
                                     const std::vector<Filter>& filters, std::int64_t offset, std::int64_t limit) = 0;
  // One of the images describe() lists: the account's own, or one shared with it (`shared`).
  virtual Result<std::optional<Image>> get(const std::string& account, const std::string& image_id) = 0;
  // Whether an image of that id, in any account, is still IMPORTING (a worker's scratch files
  // for an image that is not are left over from a crash).
  virtual Result<bool> importing(const std::string& image_id) = 0;
  // kNotFound unless the account owns the image; kUnsupported while it is shared (it is kept).
  virtual Result<void> remove(const std::string& account, const std::string& image_id) = 0;
  // Changes what is set in `changes`; kAlreadyExists when the new name is another image's.
  virtual Result<void> modify(const std::string& account, const std::string& image_id, const ImageChanges& changes) = 0;

  // Sharing, by the image's owner; kNotFound unless `owner` owns the image. share_image shares it
  // with every account of `accounts` or with none: kUnsupported unless the image is NORMAL,
  // kAlreadyExists naming an account it is already shared with, kLimitExceeded when it would be
  // shared with more than `max_accounts`. unshare_image stops sharing with `accounts` (one it is
  // not shared with is no change). image_shares lists the accounts, oldest share first.
  virtual Result<void> share_image(const std::string& owner, const std::string& image_id,
                                   const std::vector<std::string>& accounts, std::int64_t max_accounts) = 0;
  virtual Result<void> unshare_image(const std::string& owner, const std::string& image_id,
                                     const std::vector<std::string>& accounts) = 0;
  virtual Result<std::vector<Share>> image_shares(const std::string& owner, const std::string& image_id) = 0;

  // The oldest queued task, or one whose holder's lease ran out (a crashed worker), now leased
  // to the caller for `lease_seconds` (attempt + 1). Nothing when there is no work. Several
  // processes may claim at once: a task is handed to one of them only. A lease-expired task that
  // had its last attempt (CatalogOptions) is finished as IMPORTFAILED instead.
  virtual Result<std::optional<Task>> claim_task(std::int64_t now, std::int64_t lease_seconds) = 0;
  // Records a running task's progress and extends its lease; kLeaseLost when the caller no longer
  // holds it.
  virtual Result<void> progress_task(const Task& task, const Progress& progress, std::int64_t lease_until) = 0;
  // Gives a running task back to the queue (a worker that is shutting down): any worker may take
  // it at once, without waiting for the lease to run out. The next claim is still a new attempt
  // (the attempt number fences off the releasing holder), but a queued task is never given up:
  // only a holder that dies uses up the bound. kLeaseLost when the caller no longer holds it.
  virtual Result<void> release_task(const Task& task) = 0;
  // Records the outcome and the image's final state, the account's message and one delivery per
  // subscription, in one transaction; kLeaseLost when the caller no longer holds the task (its
  // lease ran out and another worker took it, or the task is already finished): an image ends
  // exactly once.
  virtual Result<void> finish_task(const Task& task, const Outcome& outcome, const InboxMessage& message) = 0;

  // The message center. Unknown ids (or another account's) are kNotFound naming the id.
  virtual Result<InboxPage> describe_messages(const std::string& account, const std::vector<std::string>& ids,
                                              bool unread_only, std::int64_t offset, std::int64_t limit) = 0;
  virtual Result<void> mark_read(const std::string& account, const std::vector<std::string>& ids) = 0;
  virtual Result<void> delete_messages(const std::string& account, const std::vector<std::string>& ids) = 0;

  // kAlreadyExists when the account already subscribes that endpoint on that channel.
  virtual Result<void> create_subscription(const Subscription& s) = 0;
  virtual Result<std::vector<Subscription>> describe_subscriptions(const std::string& account) = 0;
  virtual Result<void> delete_subscription(const std::string& account, const std::string& subscription_id) = 0;

  // The oldest delivery due at `now`, leased for `lease_seconds` (its attempt counted). Its
  // delivery_id is the same on every attempt (receivers may deduplicate on it).
  virtual Result<std::optional<Delivery>> claim_delivery(std::int64_t now, std::int64_t lease_seconds) = 0;
  // Records an attempt: sent, or failed with `error` and retried at `retry_at` (FAILED for good
  // when `retry_at` is 0). kLeaseLost when the attempt is not the current one.
  virtual Result<void> finish_delivery(const Delivery& d, bool sent, const std::string& error,
                                       std::int64_t retry_at) = 0;
};

// Opens (creating and migrating as needed) the catalog at `location`: a SQLite file path, or a
// PostgreSQL URL ("postgresql://..." or "postgres://...", libpq's syntax).
Result<std::unique_ptr<Catalog>> open_catalog(const std::string& location, const CatalogOptions& options = {});

// New ids: "img-", "msg-", "sub-" and 8 lower-case letters and digits.
std::string new_image_id();
std::string new_id(const char* prefix);

}  // namespace ig::catalog
