#include "fs/mounts.h"

#include "fs/path.h"

namespace ig {

MountedFs::MountedFs(std::shared_ptr<const FileSystem> root) {
  volumes_.push_back(std::move(root));
}

Result<void> MountedFs::mount(std::string_view path, std::shared_ptr<const FileSystem> fs) {
  if (volumes_.size() >= 255) return Error::limit_exceeded("more than 255 mounted volumes");
  const Resolved at = IG_TRY(resolve(*this, path));
  if (at.stat.type != FileType::kDirectory) {
    return Error::invalid_argument(fmt::format("cannot mount on {}: not a directory", path));
  }
  if (fs->root_inode() >> kShift != 0) return Error::unsupported("the mounted volume's root inode is too large");
  volumes_.push_back(std::move(fs));
  mount_points_[at.inode] = encode(volumes_.size() - 1, volumes_.back()->root_inode());
  return ok();
}

std::uint64_t MountedFs::through_mounts(std::uint64_t inode) const {
  // Mounts stack (a volume mounted over a mount point), so follow until none applies; each hop
  // reaches a later volume, so the walk ends.
  for (std::size_t hops = 0; hops < volumes_.size(); ++hops) {
    const auto m = mount_points_.find(inode);
    if (m == mount_points_.end()) break;
    inode = m->second;
  }
  return inode;
}

Result<std::pair<const FileSystem*, std::uint64_t>> MountedFs::decode(std::uint64_t inode) const {
  const std::uint64_t view = through_mounts(inode);
  const std::uint64_t volume = view >> kShift;
  if (volume >= volumes_.size()) return Error::invalid_argument(fmt::format("inode {:#x}: no such volume", inode));
  return std::pair<const FileSystem*, std::uint64_t>{volumes_[volume].get(), view & ((1ULL << kShift) - 1)};
}

Result<FileStat> MountedFs::stat(std::uint64_t inode) const {
  const auto [fs, own] = IG_TRY(decode(inode));
  FileStat st = IG_TRY(fs->stat(own));
  st.inode = through_mounts(inode);
  return st;
}

Result<std::vector<DirEntry>> MountedFs::list(std::uint64_t inode) const {
  const auto [fs, own] = IG_TRY(decode(inode));
  const std::uint64_t volume = through_mounts(inode) >> kShift;
  std::vector<DirEntry> entries = IG_TRY(fs->list(own));
  for (DirEntry& e : entries) {
    if (e.inode >> kShift != 0) {
      return Error::unsupported(fmt::format("inode {} of '{}' is too large for a mounted view", e.inode, e.name));
    }
    e.inode = through_mounts(encode(volume, e.inode));
  }
  return entries;
}

Result<std::uint64_t> MountedFs::lookup(std::uint64_t dir, std::string_view name) const {
  const auto [fs, own] = IG_TRY(decode(dir));
  const std::uint64_t volume = through_mounts(dir) >> kShift;
  const std::uint64_t found = IG_TRY(fs->lookup(own, name));
  if (found >> kShift != 0) {
    return Error::unsupported(fmt::format("inode {} of '{}' is too large for a mounted view", found, name));
  }
  return through_mounts(encode(volume, found));
}

Result<std::unique_ptr<ByteSource>> MountedFs::open(std::uint64_t inode) const {
  const auto [fs, own] = IG_TRY(decode(inode));
  return fs->open(own);
}

Result<std::string> MountedFs::read_link(std::uint64_t inode) const {
  const auto [fs, own] = IG_TRY(decode(inode));
  return fs->read_link(own);
}

}  // namespace ig
