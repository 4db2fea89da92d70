// XFS open, then a bounded walk: list the root and a few levels, stat and read every file
// found, follow symlinks through the shared resolver.
#include <cstring>
#include <vector>

#include "fs/path.h"
#include "fs/xfs.h"
#include "io/sources.h"

namespace {

void walk(const ig::FileSystem& fs, std::uint64_t dir, int depth, int& budget) {
  auto entries = fs.list(dir);
  if (!entries) return;
  for (const auto& e : *entries) {
    if (--budget < 0) return;
    auto st = fs.stat(e.inode);
    if (!st) continue;
    if (st->type == ig::FileType::kDirectory && depth < 4) walk(fs, e.inode, depth + 1, budget);
    if (st->type == ig::FileType::kSymlink) (void)fs.read_link(e.inode);
    if (st->type == ig::FileType::kRegular) {
      auto src = fs.open(e.inode);
      if (src) {
        std::vector<std::byte> buf(static_cast<std::size_t>(std::min<std::uint64_t>((*src)->size(), 65536)));
        (void)(*src)->read_at(0, buf);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(size);
  if (size > 0) std::memcpy(bytes.data(), data, size);
  auto dev = std::make_shared<ig::MemorySource>(std::move(bytes), "fuzz input");
  ig::FsLimits limits;
  limits.max_dir_entries = 4096;
  limits.max_extents_per_file = 4096;
  auto fs = ig::xfs::open(dev, limits);
  if (!fs) return 0;
  int budget = 256;
  walk(**fs, (*fs)->root_inode(), 0, budget);
  (void)ig::resolve(**fs, "/etc/os-release", true, limits);
  return 0;
}
