// btrfs, read-only, bounded, single device. See src/fs/btrfs.cc and docs/formats/btrfs.md.
//
// A btrfs volume holds many file trees (subvolumes); a BtrfsFs is one FileSystem view rooted at
// one of them. open() gives the view of the default subvolume (the root tree's "default" entry,
// else the top level, FS_TREE 5), as the kernel mounts it without subvol=; open_subvolume() gives
// others, by id (subvolid=) or by path from the top level (subvol=), as fstab names them. All
// views of a volume share its device, chunk map and caches.
//
// Inode numbers: a directory entry may cross into a nested subvolume, so an inode number names
// its tree too: inode = (tree_id << 36) | objectid, with tree_id < 2^20 and objectid < 2^36. The
// top 8 bits stay zero, free for MountedFs. A tree id or objectid that does not fit is
// kUnsupported. A nested subvolume lists as a directory whose inode is its root directory.
//
// Ownership: a view shares the device source and the volume. Thread safety: every const method
// may be called concurrently. Errors: kCorrupt naming the structure (superblock, node, chunk,
// item) and the logical address or inode; kUnsupported for non-crc32c checksums, multi-device
// and RAID profiles, lzo compression, encryption and unknown incompatible features;
// kLimitExceeded for FsLimits bounds (tree nodes per walk, extents per file, directory entries).
#pragma once

#include <memory>
#include <string_view>

#include "fs/filesystem.h"

namespace ig::btrfs {

constexpr std::uint64_t kFsTreeObjectid = 5;  // the top-level subvolume

namespace detail {
class Volume;
}

class BtrfsFs final : public FileSystem {
 public:
  BtrfsFs(std::shared_ptr<const detail::Volume> volume, std::uint64_t tree, std::uint64_t root_dir);

  std::string kind() const override { return "btrfs"; }
  std::uint64_t root_inode() const override;
  std::string label() const override;
  std::string uuid() const override;

  Result<FileStat> stat(std::uint64_t inode) const override;
  Result<std::vector<DirEntry>> list(std::uint64_t inode) const override;
  Result<std::unique_ptr<ByteSource>> open(std::uint64_t inode) const override;
  Result<std::string> read_link(std::uint64_t inode) const override;
  // By the DIR_ITEM name hash, without listing the directory.
  Result<std::uint64_t> lookup(std::uint64_t dir, std::string_view name) const override;

  // The subvolume (tree id) this view shows, and the volume's default subvolume.
  std::uint64_t subvolume() const { return tree_; }
  std::uint64_t default_subvolume() const;

  // A view of the subvolume with this id (5 is the top level). kNotFound when no such tree.
  Result<std::unique_ptr<BtrfsFs>> open_subvolume(std::uint64_t id) const;
  // A view of the subvolume at `path` from the top level ("@", "@/.snapshots/1/snapshot",
  // "/root"; "" and "/" are the top level). Symlinks are not followed. kNotFound for a missing
  // component, kInvalidArgument when the path names something that is not a subvolume.
  Result<std::unique_ptr<BtrfsFs>> open_subvolume(std::string_view path) const;

 private:
  std::shared_ptr<const detail::Volume> vol_;
  std::uint64_t tree_;
  std::uint64_t root_dir_;
};

bool probe(const ByteSource& dev);  // "_BHRfS_M" at byte 65600

// The view of the default subvolume. Errors: see above.
Result<std::unique_ptr<BtrfsFs>> open(SourcePtr dev, const FsLimits& limits = {});

}  // namespace ig::btrfs
