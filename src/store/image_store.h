// ImageStore: the image repository behind the import service — where a converted image is put,
// read back, listed and deleted. A port with two adapters: a local directory (the embedded
// default) and an S3-compatible object store (s3_store.h). Keys are relative names such as
// "img-abcd1234.qcow2"; an adapter maps them under its root (a directory, a bucket and prefix).
//
// put() returns a ByteSink (io/sinks.h). Nothing is visible under the key until the sink's
// commit() succeeds, and then the whole object is (a rename, a completed multipart upload); a
// sink destroyed before commit() leaves nothing behind (the temporary file removed, the multipart
// upload aborted). The converter writes the qcow2 header last at offset 0 and everything else in
// increasing order (decision 0004); an adapter may refuse other write orders with kUnsupported.
//
// Thread safety: every method may be called from several threads; each sink is used by one.
// Errors: kNotFound for open() of a missing key, kIo for local failures, kUnavailable for a peer
// that cannot be reached or answers 5xx, kInvalidArgument for a malformed key or configuration.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "io/byte_source.h"
#include "io/sinks.h"

namespace ig::store {

struct StoredObject {
  std::string key;
  std::uint64_t size_bytes = 0;
};

class ImageStore {
 public:
  ImageStore() = default;
  ImageStore(const ImageStore&) = delete;
  ImageStore& operator=(const ImageStore&) = delete;
  virtual ~ImageStore() = default;

  // A sink for a new object under `key`. `size_hint` (0: unknown) is the expected size, which an
  // adapter may use to choose its part size.
  virtual Result<std::unique_ptr<ByteSink>> put(const std::string& key, std::uint64_t size_hint) = 0;
  // The stored object's bytes.
  virtual Result<SourcePtr> open(const std::string& key) const = 0;
  // Deletes the object; a key that does not exist is not an error.
  virtual Result<void> remove(const std::string& key) = 0;
  // Deletes every object whose key starts with `prefix`, and every unfinished put of such a key
  // (a crashed writer's temporary file or multipart upload). `prefix` must not be empty.
  virtual Result<void> remove_all(const std::string& prefix) = 0;
  // Every object whose key starts with `prefix`, in key order.
  virtual Result<std::vector<StoredObject>> list(const std::string& prefix) const = 0;
  // Whether the store answers now (for /readyz): kUnavailable or kIo naming what failed.
  virtual Result<void> ping() const = 0;
  // "/var/lib/imagegate/images" or "s3://bucket/prefix", for logs and errors.
  virtual std::string location() const = 0;
};

// Where the service keeps its images: a directory path (the embedded default), or
// "s3://bucket/prefix" with the S3 endpoint, region and credentials.
struct StoreConfig {
  std::string location;
  std::string endpoint;  // "http://127.0.0.1:18080" (path-style requests)
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  // S3 multipart: the part size (at least 5 MiB), grown by put() so that its size_hint fits in
  // max_part_count parts (at most 10,000 on AWS; Swift's s3api allows 1,000 unless raised).
  std::uint64_t part_size_bytes = 16ULL << 20;
  std::uint32_t max_part_count = 1000;
};

// Opens the adapter that `config.location` names. A directory is created if missing.
Result<std::unique_ptr<ImageStore>> open_image_store(const StoreConfig& config);

// Whether `key` is acceptable: 1 to 200 characters of [A-Za-z0-9._-], not starting with '.'.
bool valid_key(const std::string& key);

}  // namespace ig::store
