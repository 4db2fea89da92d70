#include "assess/assess.h"

#include <algorithm>

#include "base/checked.h"
#include "convert/convert.h"
#include "convert/measure.h"
#include "formats/open_image.h"
#include "formats/probe.h"

namespace ig {
namespace {

// The guest inspection, the last stage: a data disk has none.
Result<Assessment> inspect(Assessment& a, const AssessOptions& options, StageMeter* meter) {
  if (!options.inspect_guest) return std::move(a);
  auto inspection = inspect_disk(a.image, meter);  // names its own stages
  if (inspection) {
    a.facts.inspection = std::move(*inspection);
  } else {
    if (inspection.error().code == ErrorCode::kIo) return inspection.error();
    a.facts.inspection_refused = inspection.error().message;
  }
  return std::move(a);
}

}  // namespace

Result<Assessment> assess(SourcePtr file, const AssessOptions& options) {
  Assessment a;
  Facts& f = a.facts;
  StageMeter* meter = options.meter;
  if (meter != nullptr) file = std::make_shared<CountingSource>(std::move(file), *meter);
  std::optional<StageScope> stage(std::in_place, meter, Stage::kOpen);
  f.actual_size = file->stored_bytes().value_or(file->size());
  for (const FormatMatch& m : IG_TRY(probe(*file))) {
    f.iso = f.iso || m.name == "iso9660";
    f.matches.push_back({m.name, m.description, m.readable.has_value()});
  }
  const bool readable =
      std::any_of(f.matches.begin(), f.matches.end(), [](const ContentMatch& m) { return m.readable; });
  const bool iso_only = f.iso && f.matches.size() == 1;
  if (!f.matches.empty() && !readable && !iso_only) return a;  // not a format the cloud takes

  // Opened without its name, then the file-name rule is applied here, so that a mismatch is a
  // fact the report can give the fix for (and an overriding -f a fact it can show).
  OpenOptions open;
  open.declared = options.declared_format;
  open.limits = options.limits;
  auto image = open_image(file, open);
  const bool as_iso = !image && iso_only;
  if (as_iso) {
    // An ISO is raw to qemu-img; the cloud takes the bytes as a disk and finds no root in them.
    OpenOptions raw = open;
    raw.declared = Format::kRaw;
    image = open_image(file, raw);
  }
  if (!image) {
    if (image.error().code == ErrorCode::kIo) return image.error();
    f.refused = image.error().message;
    f.truncated = image.error().code == ErrorCode::kTruncated;
    f.corrupt = image.error().code == ErrorCode::kCorrupt;
    return a;
  }
  if (!as_iso) {
    OpenOptions named = open;
    named.file_name = options.file_name;
    f.name_mismatch = name_mismatch(named, (*image)->info().format);
    if (f.name_mismatch && !f.name_mismatch->overridden) {
      f.refused = f.name_mismatch->message;
      return a;
    }
  }
  a.image = std::shared_ptr<const DiskImage>(std::move(*image));
  f.info = a.image->info();
  if (options.max_virtual_size != 0 && f.info->virtual_size > options.max_virtual_size) {
    f.too_large = true;
    return a;
  }

  if (options.measure_only_if_decisive && options.exact_above != 0) {
    const Qcow2TargetOptions target;
    const std::uint64_t bound = qcow2_fully_allocated_size(align_up(f.info->virtual_size, target.cluster_size), target);
    if (bound <= options.exact_above) {
      f.qcow2_size = bound;
      stage.reset();
      return inspect(a, options, meter);
    }
  }
  stage.emplace(meter, Stage::kMeasure);
  auto measured = measure_qcow2(*a.image, Qcow2TargetOptions{});
  if (!measured) {
    if (measured.error().code == ErrorCode::kIo) return measured.error();
    f.damaged = measured.error().message;
    f.truncated = measured.error().code == ErrorCode::kTruncated;
    f.corrupt = measured.error().code == ErrorCode::kCorrupt;
    return a;
  }
  f.qcow2_size = measured->required;
  if (f.qcow2_size && options.exact_above != 0 && *f.qcow2_size > options.exact_above) {
    ConvertOptions dry;
    dry.progress = options.exact_progress;
    dry.stop = options.stop;
    auto exact = measure_exact(*a.image, dry);
    if (exact) {
      f.qcow2_exact_size = exact->output_size;
    } else {
      if (exact.error().code == ErrorCode::kIo || exact.error().code == ErrorCode::kCancelled) return exact.error();
      f.exact_refused = exact.error().message;
    }
  }
  stage.reset();
  return inspect(a, options, meter);
}

}  // namespace ig
