// open_image: from an uploaded file to a guest disk, or a refusal that says why.
//
// The format is detected by content (probe.h). The detected format must agree with what the user
// declared (`-f`), or, when nothing was declared, with what the file name claims (.qcow2, .vhd,
// .vmdk, .raw): the user's word overrides the name's. A file that matches two formats (a
// polyglot) is refused; "raw" declared over a header
// of any image format is refused, so that a qcow2 can never be imported byte-for-byte as a disk
// whose first sector is a qcow2 header pointing at a backing file. Files in formats the cloud
// does not accept are named ("unsupported format: VHDX (Hyper-V) image").
//
// Errors: kUnsupported for every refusal (format, polyglot, mismatch, references to other files,
// encryption), kCorrupt for malformed metadata, kLimitExceeded for Limits, and the source's own.
// Thread safety: pure; the returned image is safe for concurrent reads.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/limits.h"
#include "formats/disk_image.h"

namespace ig {

struct OpenOptions {
  std::optional<Format> declared;  // what the user said the format is
  std::string file_name;           // the name the upload came with; its extension is a claim
  Limits limits;
};

Result<std::unique_ptr<DiskImage>> open_image(SourcePtr file, const OpenOptions& options);

// What the file name's extension claims, if anything (".img" claims nothing: it is used for raw
// and qcow2 alike).
std::optional<Format> format_claimed_by_name(std::string_view file_name);

// A file name whose extension claims another format than its content: "disk.vhd" holding a
// qcow2. `renamed` is the name with the content's extension ("disk.qcow2"). `overridden`: a
// format was declared, which overrides the name, so open_image() does not refuse the file.
struct NameMismatch {
  std::string file_name;
  Format claimed = Format::kRaw;
  Format content = Format::kRaw;
  std::string renamed;
  bool overridden = false;
  std::string message;  // the refusal, naming the fix
};
// The one file-name rule: a mismatch of options.file_name with `content`, if any.
std::optional<NameMismatch> name_mismatch(const OpenOptions& options, Format content);

}  // namespace ig
