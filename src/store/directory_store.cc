#include "store/directory_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "io/sources.h"

namespace ig::store {

namespace fs = std::filesystem;

bool valid_key(const std::string& key) {
  if (key.empty() || key.size() > 200 || key[0] == '.') return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

namespace {

Result<void> check_key(const std::string& key) {
  if (!valid_key(key)) return Error::invalid_argument(fmt::format("image store: invalid key '{}'", key.substr(0, 64)));
  return ok();
}

}  // namespace

Result<std::unique_ptr<DirectoryStore>> DirectoryStore::create(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::io(fmt::format("image store {}: {}", dir, ec.message()));
  if (!fs::is_directory(dir, ec)) return Error::invalid_argument(fmt::format("image store {}: not a directory", dir));
  return std::unique_ptr<DirectoryStore>(new DirectoryStore(dir));
}

Result<std::unique_ptr<ByteSink>> DirectoryStore::put(const std::string& key, std::uint64_t) {
  IG_TRY(check_key(key));
  auto sink = IG_TRY(AtomicFileSink::create(path_of(key)));
  return std::unique_ptr<ByteSink>(std::move(sink));
}

Result<SourcePtr> DirectoryStore::open(const std::string& key) const {
  IG_TRY(check_key(key));
  std::error_code ec;
  if (!fs::exists(path_of(key), ec)) return Error::not_found(fmt::format("image store: no object {}", key));
  auto file = IG_TRY(FileSource::open(path_of(key)));
  return SourcePtr(std::move(file));
}

Result<void> DirectoryStore::remove(const std::string& key) {
  IG_TRY(check_key(key));
  std::error_code ec;
  fs::remove(path_of(key), ec);
  if (ec) return Error::io(fmt::format("image store: removing {}: {}", path_of(key), ec.message()));
  return ok();
}

Result<void> DirectoryStore::remove_all(const std::string& prefix) {
  if (prefix.empty() || !valid_key(prefix)) {
    return Error::invalid_argument(fmt::format("image store: invalid prefix '{}'", prefix.substr(0, 64)));
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    // The objects and AtomicFileSink's temporary files beside them ("KEY.imagegate-XXXXXX").
    if (!e.path().filename().string().starts_with(prefix)) continue;
    std::error_code remove_ec;
    fs::remove(e.path(), remove_ec);
    if (remove_ec)
      return Error::io(fmt::format("image store: removing {}: {}", e.path().string(), remove_ec.message()));
  }
  if (ec) return Error::io(fmt::format("image store {}: {}", dir_, ec.message()));
  return ok();
}

Result<std::vector<StoredObject>> DirectoryStore::list(const std::string& prefix) const {
  std::vector<StoredObject> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    // AtomicFileSink's temporary files are not objects.
    if (!valid_key(name) || name.find(".imagegate-") != std::string::npos || !name.starts_with(prefix)) continue;
    std::error_code size_ec;
    const auto size = e.file_size(size_ec);
    if (!size_ec && e.is_regular_file(size_ec)) out.push_back({name, size});
  }
  if (ec) return Error::io(fmt::format("image store {}: {}", dir_, ec.message()));
  std::sort(out.begin(), out.end(), [](const StoredObject& a, const StoredObject& b) { return a.key < b.key; });
  return out;
}

Result<void> DirectoryStore::ping() const {
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0) return Error::from_errno(fmt::format("image store {}", dir_), errno);
  if (::access(dir_.c_str(), W_OK) != 0) return Error::from_errno(fmt::format("image store {}", dir_), errno);
  return ok();
}

}  // namespace ig::store
