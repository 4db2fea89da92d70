#include "store/image_store.h"

#include "store/directory_store.h"
#include "store/s3_store.h"

namespace ig::store {

Result<std::unique_ptr<ImageStore>> open_image_store(const StoreConfig& config) {
  if (config.location.empty()) return Error::invalid_argument("image store: no location");
  if (config.location.starts_with("s3://")) {
    auto s3 = IG_TRY(S3Store::create(config));
    return std::unique_ptr<ImageStore>(std::move(s3));
  }
  if (config.location.find("://") != std::string::npos) {
    return Error::invalid_argument(
        fmt::format("image store: '{}' is neither a directory nor s3://bucket/prefix", config.location));
  }
  auto dir = IG_TRY(DirectoryStore::create(config.location));
  return std::unique_ptr<ImageStore>(std::move(dir));
}

}  // namespace ig::store
