// Shared body of the file-system fuzz targets: a bounded walk that lists directories a few levels
// deep, stats every entry, reads the start of every file, follows symlinks, and resolves a path.
#pragma once

#include <memory>
#include <vector>

#include "fs/filesystem.h"
#include "fs/path.h"
#include "fuzz/fuzz_input.h"
#include "io/sources.h"

namespace ig::fuzz {

inline void walk(const FileSystem& fs, std::uint64_t dir, int depth, int& budget) {
  auto entries = fs.list(dir);
  if (!entries) return;
  for (const auto& e : *entries) {
    if (--budget < 0) return;
    auto st = fs.stat(e.inode);
    if (!st) continue;
    if (st->type == FileType::kDirectory && depth < 4) walk(fs, e.inode, depth + 1, budget);
    if (st->type == FileType::kSymlink) (void)fs.read_link(e.inode);
    if (st->type == FileType::kRegular) {
      auto src = fs.open(e.inode);
      if (src) {
        std::vector<std::byte> buf(static_cast<std::size_t>(std::min<std::uint64_t>((*src)->size(), 65536)));
        (void)(*src)->read_at(0, buf);
      }
    }
  }
}

// Opens `dev` with `open` under small FsLimits and walks what it gives.
template <class Open>
int run_fs(std::shared_ptr<const ByteSource> dev, Open open) {
  FsLimits limits;
  limits.max_dir_entries = 4096;
  limits.max_extents_per_file = 4096;
  limits.max_tree_nodes_per_walk = 1024;  // btrfs: keeps a hostile tree of shared nodes fast
  auto fs = open(std::move(dev), limits);
  if (!fs) return 0;
  int budget = 256;
  walk(**fs, (*fs)->root_inode(), 0, budget);
  (void)resolve(**fs, "/etc/os-release", true, limits);
  return 0;
}

// The same, on the input as it is.
template <class Open>
int run_fs(const std::uint8_t* data, std::size_t size, Open open) {
  return run_fs(std::make_shared<InputSource>(data, size), std::move(open));
}

}  // namespace ig::fuzz
