// assess: the one place that turns an uploaded file into facts. It probes the content once,
// opens the image once, sizes it as qcow2 and inspects the guest, and returns the facts together
// with the open image, so that the caller converts the very image that was judged. `imagegate
// check` and the import worker both call it; rules/check.h only judges the facts it returns.
//
// What the image's bytes say — an unknown format, a refused qcow2, a corrupt partition table — is
// a fact (a refusal with its message), not an error: only an I/O error on the file itself is
// returned as an Error (kIo), so a caller can tell "this upload is bad" from "our disk failed".
// Thread safety: pure over the file; the returned image is safe to read from several threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "base/limits.h"
#include "formats/disk_image.h"
#include "formats/open_image.h"
#include "inspect/linux.h"
#include "io/byte_source.h"
#include "io/stage_meter.h"

namespace ig {

struct AssessOptions {
  std::optional<Format> declared_format;  // what the user said the file is
  std::string file_name;                  // its name, whose extension must agree with the content
  Limits limits;
  bool inspect_guest = true;  // false for a data disk: format and sizes only
  // An image larger than this is refused by its header alone: it is neither measured nor
  // inspected, whose work grows with the clusters it maps (0: no such cut-off).
  std::uint64_t max_virtual_size = 0;
  // When qemu-img's estimate of the qcow2 size is above this, the exact size the converter would
  // write is computed too (reading every allocated block; zeros are not written): a fixed VHD or
  // a non-sparse raw file is over the estimate only (0: never).
  std::uint64_t exact_above = 0;
  // For a file read as it arrives (io/arriving_source.h), where measuring walks the whole
  // allocation map and so waits for the whole download: when even a fully allocated qcow2 of the
  // virtual size would be within exact_above, the measure cannot change the verdict and is not
  // made; qcow2_size is then that bound. The inspection, whose bytes may arrive much sooner, goes
  // first. (The import worker; `check` always measures.)
  bool measure_only_if_decisive = false;
  // The exact scan's progress (bytes done, bytes in all) and its cancellation.
  std::function<void(std::uint64_t, std::uint64_t)> exact_progress;
  std::stop_token stop;
  // When set, the time and the file's bytes read of each stage are added to it (io/stage_meter.h);
  // it must outlive the call.
  StageMeter* meter = nullptr;
};

// One content match of the probe: "qcow2", "vhdx", "iso9660", "gzip" … and whether the format
// engine reads it.
struct ContentMatch {
  std::string name;
  std::string description;
  bool readable = false;
};

struct Facts {
  std::uint64_t actual_size = 0;  // bytes the file occupies
  std::vector<ContentMatch> matches;
  bool iso = false;  // an ISO 9660 image (read as raw, as qemu-img does)
  // The image as opened, or why it was refused (both empty when no readable format matched).
  std::optional<ImageInfo> info;
  std::string refused;
  // The file name claims another format: the refusal, unless a declared format overrode it.
  std::optional<NameMismatch> name_mismatch;
  bool too_large = false;  // virtual size above options.max_virtual_size: not measured nor inspected
  // The size as qcow2 (qemu-img measure's `required`). Measuring walks every allocation table
  // of the image (for a qcow2, after its metadata check: overlaps, refcounts, budgets, see
  // docs/formats/qcow2.md); when that fails, the image cannot be converted: `damaged` says
  // where, and nothing after is computed.
  std::optional<std::uint64_t> qcow2_size;
  std::string damaged;
  // The refusal or the damage is a file that ends before what its own tables place in it (a
  // cut upload: kTruncated).
  bool truncated = false;
  // The refusal or the damage is the format's own structures contradicting each other (kCorrupt:
  // overlapping tables, a checksum that does not match, a table pointing outside the file).
  bool corrupt = false;
  // The converter's exact output size, computed only when the estimate is over exact_above, or
  // why it could not be.
  std::optional<std::uint64_t> qcow2_exact_size;
  std::string exact_refused;
  // The guest, or why the disk could not be read (set only when inspect_guest and the image opened).
  std::optional<Inspection> inspection;
  std::string inspection_refused;
};

struct Assessment {
  Facts facts;
  std::shared_ptr<const DiskImage> image;  // null when the file is not a readable image
};

Result<Assessment> assess(SourcePtr file, const AssessOptions& options);

}  // namespace ig
