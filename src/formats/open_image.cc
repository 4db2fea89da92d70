#include "formats/open_image.h"

#include <algorithm>

#include "base/bytes.h"
#include "formats/internal.h"
#include "formats/probe.h"

namespace ig {

std::optional<Format> format_claimed_by_name(std::string_view file_name) {
  const auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string ext(file_name.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == "qcow2") return Format::kQcow2;
  if (ext == "vhd") return Format::kVhd;
  if (ext == "vmdk") return Format::kVmdk;
  if (ext == "raw") return Format::kRaw;
  return std::nullopt;
}

std::optional<NameMismatch> name_mismatch(const OpenOptions& options, Format content) {
  const std::optional<Format> claimed = format_claimed_by_name(options.file_name);
  if (!claimed || *claimed == content) return std::nullopt;
  NameMismatch m;
  m.file_name = options.file_name;
  m.claimed = *claimed;
  m.content = content;
  m.renamed = options.file_name.substr(0, options.file_name.rfind('.') + 1) + std::string(format_name(content));
  m.overridden = options.declared.has_value();
  m.message = fmt::format("the file name '{}' says {}, but the content is {}: rename it to '{}', or declare it as {}",
                          m.file_name, format_name(m.claimed), format_name(content), m.renamed, format_name(content));
  return m;
}

namespace {

Result<std::unique_ptr<DiskImage>> open_as(Format f, SourcePtr file, const Limits& limits) {
  switch (f) {
    case Format::kRaw: return raw::open(std::move(file), limits);
    case Format::kQcow2: return qcow2::open(std::move(file), limits);
    case Format::kVhd: return vhd::open(std::move(file), limits);
    case Format::kVmdk: return vmdk::open(std::move(file), limits);
  }
  return Error::internal("open_as: unknown format");
}

Result<std::string> descriptor_refusal(const ByteSource& file) {
  std::vector<std::byte> text =
      IG_TRY(read_vector(file, 0, static_cast<std::size_t>(std::min<std::uint64_t>(file.size(), 64 * 1024))));
  return vmdk::describe_descriptor_file(as_chars(text));
}

}  // namespace

Result<std::unique_ptr<DiskImage>> open_image(SourcePtr file, const OpenOptions& options) {
  if (file->size() == 0) return Error::corrupt(fmt::format("{}: empty file", file->name()));
  std::vector<FormatMatch> matches = IG_TRY(probe(*file));

  if (matches.size() > 1) {
    std::string names;
    for (const auto& m : matches) names += (names.empty() ? "" : " and ") + m.description;
    return Error::unsupported(fmt::format("polyglot file refused: its content matches {} at once", names));
  }

  std::optional<Format> detected;
  if (matches.size() == 1) {
    const FormatMatch& m = matches[0];
    if (!m.readable) {
      // ISO 9660 is a byte-for-byte disk: readable as raw when the user says so.
      const bool iso_as_raw = m.name == "iso9660" && options.declared == Format::kRaw;
      if (!iso_as_raw) {
        if (m.name == "vmdk-descriptor") return Error::unsupported(IG_TRY(descriptor_refusal(*file)));
        return Error::unsupported(
            fmt::format("unsupported format: {} (the cloud accepts raw, qcow2, vhd and vmdk)", m.description));
      }
    } else {
      detected = m.readable;
    }
  }

  if (options.declared) {
    if (*options.declared == Format::kRaw && detected) {
      return Error::unsupported(fmt::format("declared raw, but the file starts with a {} header; declare it as {}",
                                            format_name(*detected), format_name(*detected)));
    }
    if (*options.declared != Format::kRaw && detected != options.declared) {
      return Error::unsupported(fmt::format("declared {}, but the content is {}", format_name(*options.declared),
                                            detected ? std::string(format_name(*detected)) : "raw (no image header)"));
    }
  }
  const Format format = detected.value_or(Format::kRaw);
  if (auto m = name_mismatch(options, format); m && !m->overridden) return Error::unsupported(m->message);
  return open_as(format, std::move(file), options.limits);
}

}  // namespace ig
