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
