// S3Store: the image repository in an S3-compatible object store ("s3://bucket/prefix"), reached
// with path-style requests at StoreConfig::endpoint, signed with SigV4 (sigv4.h), sent through
// libcurl. An object is named "<prefix>/<key>" in the bucket (just "<key>" without a prefix).
//
// put() returns an S3Sink: a multipart upload cut in parts of P bytes, part n holding
// [(n-1)P, nP). The first part is held in memory until commit(), because the converter writes the
// qcow2 header last at offset 0 (decision 0004); every later part is uploaded as soon as it is
// full, so the sink holds at most two parts. A write into a part already uploaded is refused with
// kUnsupported. An object that fits in the first part is sent with one PutObject at commit() and
// never starts a multipart upload. A sink destroyed before commit(), or whose upload failed,
// aborts its multipart upload. P is StoreConfig::part_size_bytes, grown (to a whole MiB) so that
// size_hint fits in StoreConfig::max_part_count parts; an object that outgrows P × max_part_count
// fails with kLimitExceeded. See docs/decisions/0010-s3-image-store.md.
//
// open() returns a ByteSource that reads with HTTP Range GETs, no cache; a server that answers a
// ranged GET with the whole object is refused (kUnsupported) rather than downloaded.
//
// Retries: requests that can be repeated without effect (GET but ping's, HEAD, DELETE, PutObject and
// UploadPart of a held buffer, AbortMultipartUpload) are retried on a 5xx answer or a
// connection failure, 4 attempts with backoff from 250 ms doubling. CreateMultipartUpload and
// CompleteMultipartUpload are sent once, and so is ping(), which reports the store as it is now.
//
// Thread safety: as ImageStore; sources are safe for concurrent read_at; each sink is used by
// one thread. Sources and sinks keep the connection pool alive and may outlive the store.
// Errors: kUnavailable for a connection failure or a 5xx answer (naming the request and status),
// kNotFound for 404, kPermissionDenied for 401/403, kIo for other 4xx answers and for answers
// that break the protocol, each with S3's error Code and Message when the body has them;
// kInvalidArgument for a bad location, endpoint, key or part size.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/image_store.h"

namespace ig::store {

namespace detail {
class S3Client;
}

// The bucket and prefix of "s3://bucket/prefix" (the prefix without slashes at either end).
struct S3Location {
  std::string bucket;
  std::string prefix;
};
Result<S3Location> parse_s3_location(const std::string& location);

class S3Store final : public ImageStore {
 public:
  static Result<std::unique_ptr<S3Store>> create(const StoreConfig& config);
  ~S3Store() override;

  Result<std::unique_ptr<ByteSink>> put(const std::string& key, std::uint64_t size_hint) override;
  Result<SourcePtr> open(const std::string& key) const override;
  Result<void> remove(const std::string& key) override;
  Result<void> remove_all(const std::string& prefix) override;
  Result<std::vector<StoredObject>> list(const std::string& prefix) const override;
  Result<void> ping() const override;
  std::string location() const override;

  // The bucket's object name for `key` ("prefix/key").
  std::string object_name(const std::string& key) const;
  // The part size put() would choose for `size_hint`.
  std::uint64_t part_size_for(std::uint64_t size_hint) const;

 private:
  S3Store(std::shared_ptr<detail::S3Client> client, S3Location where, const StoreConfig& config);

  std::shared_ptr<detail::S3Client> client_;
  S3Location where_;
  std::uint64_t part_size_bytes_;
  std::uint32_t max_part_count_;
};

// The sink put() returns (see above). Used by one thread.
class S3Sink final : public ByteSink {
 public:
  S3Sink(std::shared_ptr<detail::S3Client> client, std::string object, std::uint64_t part_size_bytes,
         std::uint32_t max_part_count);
  ~S3Sink() override;

  Result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) override;
  // Growing records the size (the bytes never written are sent as zeros); shrinking is refused
  // with kUnsupported below the end of the parts already uploaded.
  Result<void> set_size(std::uint64_t size) override;
  Result<void> commit() override;
  std::uint64_t size() const override { return size_; }
  std::string name() const override;

  std::uint64_t part_size_bytes() const { return part_size_; }
  // The most memory the part buffers ever held (capacity, bytes): at most two parts.
  std::uint64_t peak_buffered_bytes() const { return peak_buffered_; }
  // Parts sent so far (UploadPart calls that succeeded; PutObject counts as one).
  std::uint32_t parts_uploaded() const { return static_cast<std::uint32_t>(etags_.size()); }

 private:
  Result<void> write_piece(std::uint64_t offset, std::span<const std::byte> data);
  // Makes `buf` at least `n` bytes (new bytes zero) without its capacity passing the part size.
  void grow(std::vector<std::byte>& buf, std::size_t n);
  // Uploads cur_ as part `part` (creating the multipart upload first if needed).
  Result<void> upload_part(std::uint32_t part, std::span<const std::byte> data);
  // Uploads cur_ (padded) and then zero parts up to and including `part`.
  Result<void> flush_through(std::uint32_t part);
  Result<void> fail(Error e);
  void abort_upload();

  std::shared_ptr<detail::S3Client> client_;
  std::string object_;
  std::uint64_t part_size_;
  std::uint32_t max_part_count_;
  std::uint64_t size_ = 0;
  std::vector<std::byte> first_;        // part 1, [0, first_.size())
  std::vector<std::byte> cur_;          // part cur_part_, from its start
  std::uint32_t cur_part_ = 0;          // 0: none buffered
  std::uint32_t uploaded_through_ = 1;  // parts 2..uploaded_through_ are uploaded (1: none)
  std::string upload_id_;
  std::vector<std::pair<std::uint32_t, std::string>> etags_;
  std::uint64_t peak_buffered_ = 0;
  bool committed_ = false;
  bool failed_ = false;
};

}  // namespace ig::store
