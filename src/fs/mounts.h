// MountedFs: several file systems seen as one guest tree, as the guest's fstab mounts them.
//
// The inspector finds the root file system, reads its /etc/fstab and mounts the separate /boot
// and /usr volumes over it; every reader above (kernels, initramfs, GRUB, cloud-init) then walks
// plain guest paths through resolve() and never cares which volume holds a file.
//
// Inodes of the view carry the volume's index in their top 8 bits. A directory that is a mount
// point is replaced, in its parent's listing and in stat(), by the mounted volume's root, so
// resolve()'s walk crosses into it; ".." is resolve()'s own stack and crosses back. Symlinks are
// resolved in the view, so an absolute target on /boot lands in the root volume as in the guest.
// Thread safety: mount() before use; afterwards every const method may be called concurrently.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fs/filesystem.h"

namespace ig {

class MountedFs final : public FileSystem {
 public:
  explicit MountedFs(std::shared_ptr<const FileSystem> root);

  // Mounts `fs` on the directory `path` of the current view. Errors: kInvalidArgument when the
  // path is not a directory, kLimitExceeded past 255 volumes, resolve()'s own.
  Result<void> mount(std::string_view path, std::shared_ptr<const FileSystem> fs);

  std::string kind() const override { return volumes_[0]->kind(); }
  std::uint64_t root_inode() const override { return encode(0, volumes_[0]->root_inode()); }
  std::string label() const override { return volumes_[0]->label(); }
  std::string uuid() const override { return volumes_[0]->uuid(); }

  Result<FileStat> stat(std::uint64_t inode) const override;
  Result<std::vector<DirEntry>> list(std::uint64_t inode) const override;
  Result<std::unique_ptr<ByteSource>> open(std::uint64_t inode) const override;
  Result<std::string> read_link(std::uint64_t inode) const override;
  Result<std::uint64_t> lookup(std::uint64_t dir, std::string_view name) const override;

 private:
  static constexpr int kShift = 56;
  static std::uint64_t encode(std::size_t volume, std::uint64_t inode) {
    return (static_cast<std::uint64_t>(volume) << kShift) | inode;
  }
  // The volume and its own inode number, after following mount points.
  Result<std::pair<const FileSystem*, std::uint64_t>> decode(std::uint64_t inode) const;
  std::uint64_t through_mounts(std::uint64_t inode) const;

  std::vector<std::shared_ptr<const FileSystem>> volumes_;
  std::map<std::uint64_t, std::uint64_t> mount_points_;  // view inode of the directory -> view root inode
};

}  // namespace ig
