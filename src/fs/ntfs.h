// NTFS, read-only, bounded. See src/fs/ntfs.cc and docs/formats/ntfs.md.
//
// Enough NTFS to inspect a Windows guest: the boot sector, $MFT records with their update-
// sequence fixups, attribute lists, resident and non-resident attributes with runlists (sparse
// runs read as zeros), directories as $INDEX_ROOT / $INDEX_ALLOCATION B+trees, names compared
// case-insensitively through the volume's own $UpCase table, and unnamed $DATA streams.
// Reparse points (symlinks, junctions) are reported as such and never followed; compressed and
// encrypted files are kUnsupported, by name.
#pragma once

#include <memory>

#include "fs/filesystem.h"

namespace ig::ntfs {

// True when `dev` starts with an NTFS boot sector ("NTFS    " at byte 3).
bool probe(const ByteSource& dev);

// Opens the volume. Errors: kCorrupt naming the structure (boot sector, MFT record N, attribute,
// runlist, index), kLimitExceeded for FsLimits and absurd geometry.
Result<std::unique_ptr<FileSystem>> open(SourcePtr dev, const FsLimits& limits = {});

}  // namespace ig::ntfs
