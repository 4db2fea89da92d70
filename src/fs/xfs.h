// XFS v4 and v5, read-only, bounded. See src/fs/xfs.cc and docs/formats/xfs.md.
#pragma once

#include <memory>

#include "fs/filesystem.h"

namespace ig::xfs {

bool probe(const ByteSource& dev);  // "XFSB" at byte 0

// Errors: kCorrupt naming the field, kUnsupported for other versions and unknown incompatible
// features.
Result<std::unique_ptr<FileSystem>> open(SourcePtr dev, const FsLimits& limits = {});

}  // namespace ig::xfs
