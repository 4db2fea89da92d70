// DirectoryStore: the image repository in a local directory (the embedded default). An object is
// a file named by its key; put() writes beside it through AtomicFileSink (temporary file, fsync,
// rename), so a crash leaves either the whole file or a temporary file that list() skips and a
// later put() of the same key replaces.
// Thread safety and errors: as ImageStore.
#pragma once

#include "store/image_store.h"

namespace ig::store {

class DirectoryStore final : public ImageStore {
 public:
  static Result<std::unique_ptr<DirectoryStore>> create(const std::string& dir);

  Result<std::unique_ptr<ByteSink>> put(const std::string& key, std::uint64_t size_hint) override;
  Result<SourcePtr> open(const std::string& key) const override;
  Result<void> remove(const std::string& key) override;
  Result<void> remove_all(const std::string& prefix) override;
  Result<std::vector<StoredObject>> list(const std::string& prefix) const override;
  Result<void> ping() const override;
  std::string location() const override { return dir_; }
  // The file that holds `key` (tests, and `qemu-img compare` in the run command).
  std::string path_of(const std::string& key) const { return dir_ + "/" + key; }

 private:
  explicit DirectoryStore(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace ig::store
