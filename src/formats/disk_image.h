// DiskImage: a guest disk decoded from an image file.
//
// A DiskImage *is* a ByteSource of the guest-visible disk (size() is the virtual size) whose
// extent_at() comes from the format's own allocation tables, plus info(): the facts `imagegate
// info` prints. Images are opened by open_image() (formats/open_image.h), which detects the
// format by content, checks it against what the user declared, and refuses what must not be
// read (backing files, external data, encryption, parent links, polyglots).
//
// Ownership: an image shares its container source. Thread safety: read_at and extent_at may be
// called concurrently (metadata caches are internally locked). Errors: kCorrupt for malformed
// metadata met while reading, kLimitExceeded when a table or decompressed size passes Limits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "io/byte_source.h"

namespace ig {

enum class Format { kRaw, kQcow2, kVhd, kVmdk };

std::string_view format_name(Format f);                       // "raw", "qcow2", "vhd", "vmdk"
std::optional<Format> parse_format_name(std::string_view s);  // also accepts qemu's "vpc"

// One format-specific fact, in qemu-img's key spelling where qemu reports the same fact.
struct InfoField {
  std::string key;
  std::variant<std::string, std::uint64_t, bool> value;
};

struct ImageInfo {
  Format format = Format::kRaw;
  std::uint64_t virtual_size = 0;             // bytes
  std::optional<std::uint64_t> cluster_size;  // qcow2 cluster, VHD block, VMDK grain (bytes)
  std::string subformat;                      // "v3", "dynamic", "streamOptimized", ...
  std::string compression;                    // "none", "zlib", "zstd", "deflate"
  std::string creator;                        // VHD creator application, VMDK creator, or ""
  bool dirty = false;                         // qcow2 dirty bit, VMDK uncleanShutdown
  std::vector<InfoField> format_specific;     // qemu-img's "format-specific" data
  std::vector<std::string> notes;             // facts a reader should know (e.g. "dirty bit set")
};

class DiskImage : public ByteSource {
 public:
  virtual const ImageInfo& info() const = 0;
};

}  // namespace ig
