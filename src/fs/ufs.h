// UFS2 (FreeBSD's Fast File System, version 2), read-only, bounded. See src/fs/ufs.cc and
// docs/formats/ufs.md.
//
// Reads little-endian UFS2 as FreeBSD's newfs and makefs write it: the superblock at 64 KiB (or at
// 8 KiB when its fs_sblockloc says so, as NetBSD-derived makefs writes it), inodes in their
// cylinder groups, files through direct, single, double and triple indirect blocks (holes read as
// zeros), directories, fast and slow symlinks. Soft updates and journaling state are ignored: the
// image is never written. label() is fs_volname, uuid() the 16 hex digits of fs_id (FreeBSD's
// /dev/ufsid/ name).
//
// Thread safety: as FileSystem. Errors: kCorrupt naming the field or the inode; kUnsupported for
// UFS1 and big-endian UFS; kLimitExceeded for the bounds of FsLimits.
#pragma once

#include <memory>

#include "fs/filesystem.h"

namespace ig::ufs {

// Where a UFS superblock was found, and which.
enum class Flavor { kNone, kUfs2, kUfs1, kUfs2BigEndian, kUfs1BigEndian };
Flavor probe(const ByteSource& dev);

Result<std::unique_ptr<FileSystem>> open(SourcePtr dev, const FsLimits& limits = {});

}  // namespace ig::ufs
