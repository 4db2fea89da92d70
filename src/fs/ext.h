// ext2 / ext3 / ext4, read-only, bounded. See src/fs/ext.cc and docs/formats/ext4.md.
#pragma once

#include <memory>

#include "fs/filesystem.h"

namespace ig::ext {

// True when `dev` carries the ext superblock magic (0xEF53 at byte 1080).
bool probe(const ByteSource& dev);

// Opens the file system on `dev`. Errors: kCorrupt (naming the field), kUnsupported for external
// journal devices and unknown incompatible features, kLimitExceeded for absurd geometry.
Result<std::unique_ptr<FileSystem>> open(SourcePtr dev, const FsLimits& limits = {});

}  // namespace ig::ext
