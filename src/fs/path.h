// Guest path resolution, shared by every file system.
//
// resolve(fs, "/etc/os-release") walks from the root, one component at a time. Symbolic links
// are followed inside the guest: an absolute target restarts at the guest's root, a relative one
// continues from the link's directory, ".." at the root stays at the root. Hops are bounded
// (FsLimits::max_symlink_hops), so a loop is an error (kLimitExceeded), never a hang; nothing on
// the host is ever consulted. Errors: kNotFound naming the missing component, kInvalidArgument
// for a component that is not a directory, and the file system's own.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fs/filesystem.h"

namespace ig {

struct Resolved {
  std::uint64_t inode = 0;
  FileStat stat;
};

// Resolves `path` (absolute within the guest). With follow_final, a symlink in the last
// component is followed too.
Result<Resolved> resolve(const FileSystem& fs, std::string_view path, bool follow_final = true,
                         const FsLimits& limits = {});

// Reads a whole regular file of at most `max_bytes` (kLimitExceeded beyond).
Result<std::string> read_guest_file(const FileSystem& fs, std::string_view path, std::uint64_t max_bytes,
                                    const FsLimits& limits = {});

// Whether `path` resolves to a directory / a regular file (false when it does not resolve).
bool is_dir(const FileSystem& fs, std::string_view path);
bool is_regular(const FileSystem& fs, std::string_view path);

// The names in the directory `path`, sorted; empty when it is not a readable directory.
std::vector<std::string> list_names(const FileSystem& fs, std::string_view path);

}  // namespace ig
