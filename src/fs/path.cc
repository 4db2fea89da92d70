#include "fs/path.h"

#include <algorithm>
#include <vector>

namespace ig {
namespace {

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) parts.emplace_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

}  // namespace

Result<std::uint64_t> FileSystem::lookup(std::uint64_t dir, std::string_view name) const {
  for (const DirEntry& e : IG_TRY(list(dir))) {
    if (e.name == name) return e.inode;
  }
  return Error::not_found(fmt::format("'{}' not found", name));
}

Result<Resolved> resolve(const FileSystem& fs, std::string_view path, bool follow_final, const FsLimits& limits) {
  // `stack` holds the inodes from the root to the current directory, so ".." never needs the
  // file system's own ".." entry and can never climb above the root.
  std::vector<std::uint64_t> stack{fs.root_inode()};
  std::vector<std::string> pending = split(path);
  std::reverse(pending.begin(), pending.end());  // a stack of components still to walk
  std::uint32_t hops = 0;
  std::uint64_t steps = 0;
  std::string walked;
  while (!pending.empty()) {
    if (++steps > limits.max_path_components) {
      return Error::limit_exceeded(fmt::format("{}: more than {} path components", path, limits.max_path_components));
    }
    const std::string name = std::move(pending.back());
    pending.pop_back();
    if (name == ".") continue;
    if (name == "..") {
      if (stack.size() > 1) stack.pop_back();
      continue;
    }
    const FileStat dir = IG_TRY(fs.stat(stack.back()));
    if (dir.type != FileType::kDirectory) {
      return Error::invalid_argument(fmt::format("{}: '{}' is not a directory", path, walked));
    }
    auto child = fs.lookup(stack.back(), name);
    if (!child) {
      if (child.error().code == ErrorCode::kNotFound) {
        return Error::not_found(fmt::format("{}: '{}' not found in '{}'", path, name, walked.empty() ? "/" : walked));
      }
      return child.error();
    }
    const FileStat st = IG_TRY(fs.stat(*child));
    walked += "/" + name;
    if (st.type == FileType::kSymlink && (follow_final || !pending.empty())) {
      if (++hops > limits.max_symlink_hops) {
        return Error::limit_exceeded(
            fmt::format("{}: more than {} symbolic links (a loop?)", path, limits.max_symlink_hops));
      }
      const std::string target = IG_TRY(fs.read_link(*child));
      if (!target.empty() && target[0] == '/') stack.resize(1);  // absolute: the guest's root
      std::vector<std::string> parts = split(target);
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) pending.push_back(*it);
      continue;
    }
    stack.push_back(*child);
  }
  const std::uint64_t inode = stack.back();
  return Resolved{inode, IG_TRY(fs.stat(inode))};
}

Result<std::string> read_guest_file(const FileSystem& fs, std::string_view path, std::uint64_t max_bytes,
                                    const FsLimits& limits) {
  const Resolved r = IG_TRY(resolve(fs, path, true, limits));
  if (r.stat.type != FileType::kRegular) {
    return Error::invalid_argument(fmt::format("{}: not a regular file", path));
  }
  if (r.stat.size > max_bytes) {
    return Error::limit_exceeded(fmt::format("{}: {} bytes, more than the {} read", path, r.stat.size, max_bytes));
  }
  auto src = IG_TRY(fs.open(r.inode));
  std::string out(static_cast<std::size_t>(r.stat.size), '\0');
  IG_TRY(src->read_at(0, std::span(reinterpret_cast<std::byte*>(out.data()), out.size())));
  return out;
}

bool is_dir(const FileSystem& fs, std::string_view path) {
  auto r = resolve(fs, path);
  return r && r->stat.type == FileType::kDirectory;
}

bool is_regular(const FileSystem& fs, std::string_view path) {
  auto r = resolve(fs, path);
  return r && r->stat.type == FileType::kRegular;
}

std::vector<std::string> list_names(const FileSystem& fs, std::string_view path) {
  std::vector<std::string> names;
  auto r = resolve(fs, path);
  if (!r || r->stat.type != FileType::kDirectory) return names;
  auto entries = fs.list(r->inode);
  if (!entries) return names;
  for (const auto& e : *entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace ig
