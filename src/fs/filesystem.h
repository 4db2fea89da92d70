// FileSystem: a read-only file system over a ByteSource (a partition, a logical volume, a whole
// disk), addressed by inode.
//
// Paths are resolved by one shared function, resolve() (fs/path.h), over this small interface,
// so every file system gets the same symlink handling and the same guarantee: a path never
// leaves the guest's root. File contents are ByteSources, bounded and readable like any other.
//
// Ownership: a FileSystem shares its device source; the sources it returns share the FileSystem's
// internals. Thread safety: every const method may be called concurrently. Errors: kCorrupt for
// malformed metadata (naming the structure and inode), kUnsupported for features read as refused
// (encryption, compression), kLimitExceeded for the bounds in FsLimits, kNotFound for a missing
// name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/byte_source.h"

namespace ig {

enum class FileType { kRegular, kDirectory, kSymlink, kOther };

struct FileStat {
  std::uint64_t inode = 0;
  FileType type = FileType::kOther;
  std::uint32_t mode = 0;  // permission bits and type, as stored
  std::uint64_t size = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t mtime = 0;  // seconds since the epoch
};

struct DirEntry {
  std::string name;
  std::uint64_t inode = 0;
};

struct FsLimits {
  std::uint64_t max_dir_entries = 1 << 20;       // entries returned by one list()
  std::uint64_t max_dir_bytes = 256 << 20;       // bytes of one directory read by list() (ext)
  std::uint64_t max_extents_per_file = 1 << 20;  // extent / block-map runs held for one file
  std::uint32_t max_extent_depth = 5;            // ext4's own maximum
  std::uint32_t max_symlink_hops = 40;           // as Linux's MAXSYMLINKS
  std::uint64_t max_symlink_bytes = 4096;
  std::uint64_t max_path_components = 4096;
  // Tree nodes read by one lookup or listing (btrfs), or map blocks read to map one file (ext extent
  // and indirect blocks, XFS extent btree blocks): shared children add no entries or runs.
  std::uint64_t max_tree_nodes_per_walk = 1 << 16;
};

class FileSystem {
 public:
  FileSystem() = default;
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;
  virtual ~FileSystem() = default;

  virtual std::string kind() const = 0;  // "ext2", "ext3", "ext4", "xfs", "ntfs", "btrfs", "ufs2"
  virtual std::uint64_t root_inode() const = 0;
  virtual std::string label() const = 0;
  virtual std::string uuid() const = 0;  // canonical lower-case form

  virtual Result<FileStat> stat(std::uint64_t inode) const = 0;
  virtual Result<std::vector<DirEntry>> list(std::uint64_t inode) const = 0;  // without "." and ".."
  virtual Result<std::unique_ptr<ByteSource>> open(std::uint64_t inode) const = 0;
  virtual Result<std::string> read_link(std::uint64_t inode) const = 0;

  // The inode `name` names in the directory `dir` (kNotFound when none). The default compares
  // the names of list() exactly; a case-insensitive file system (NTFS) overrides it.
  virtual Result<std::uint64_t> lookup(std::uint64_t dir, std::string_view name) const;
};

}  // namespace ig
