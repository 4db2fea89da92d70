// Format detection by content.
//
// probe() looks for the signatures of every image, archive and compression format a user might
// upload (the four the cloud accepts, and the ones it does not: VHDX, VDI, QED, qcow v1, ISO 9660,
// Parallels, Bochs, cloop, DMG, gzip, xz, bzip2, zstd, lz4, tar, zip, VMDK descriptors and ESX
// COWD). It reports *every* match, so that a file built to look like two formats at once (a
// polyglot, e.g. an ISO with a qcow2 header in its system area) is seen as such. Raw is never
// probed: it is what a file is when nothing matches.
//
// Reads at most 40 KiB from the head and 1.5 KiB from the tail. Thread safety: pure over a
// ByteSource. Errors: only those of the source.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "formats/disk_image.h"

namespace ig {

struct FormatMatch {
  std::string name;                // "qcow2", "vhd", "vmdk", "vhdx", "iso9660", "gzip", ...
  std::string description;         // "VHDX (Hyper-V) image", "ISO 9660 CD/DVD image", ...
  std::optional<Format> readable;  // set for the four formats imagegate reads
};

Result<std::vector<FormatMatch>> probe(const ByteSource& file);

}  // namespace ig
