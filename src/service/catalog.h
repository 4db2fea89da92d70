// The catalog: the service's durable state on SQLite (WAL, versioned migrations) — custom images
// and their import tasks, per account. Accounts are isolated here: every query takes the
// caller's account, so one account never sees nor touches another's rows.
//
// Image states: IMPORTING (a task is queued or running), NORMAL, IMPORTFAILED (with the error
// code and cause). Thread safety: one Catalog per process, its methods serialised by a mutex;
// SQLite's WAL lets a separate worker process read and write the same file.
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

namespace ig::service {

struct Tag {
  std::string key;
  std::string value;
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
  // Records the outcome and the image's final state, in one transaction; kInvalidArgument when
  // the caller no longer holds the task (its lease ran out and another worker took it).
  Result<void> finish_task(const Task& task, const Outcome& outcome);

 private:
  explicit Catalog(sqlite3* db) : db_(db) {}
  Result<void> exec(const char* sql);
  Result<void> migrate();
  sqlite3* db_;
  mutable std::mutex mu_;
};

// A new image id: "img-" and 8 lower-case letters and digits.
std::string new_image_id();

}  // namespace ig::service
