#include "inspect/initramfs.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <array>
#include <memory>

#include "base/bytes.h"
#include "base/checked.h"

namespace ig {
namespace {

constexpr std::size_t kNewcHeader = 110;
constexpr std::string_view kTrailer = "TRAILER!!!";

bool starts_with(std::span<const std::byte> head, std::initializer_list<unsigned> magic) {
  if (head.size() < magic.size()) return false;
  std::size_t i = 0;
  for (unsigned m : magic) {
    if (std::to_integer<unsigned>(head[i++]) != m) return false;
  }
  return true;
}

Result<std::uint64_t> hex_field(std::string_view header, std::size_t index, std::uint64_t at) {
  const std::string_view digits = header.substr(6 + index * 8, 8);
  std::uint64_t v = 0;
  for (char c : digits) {
    int d = 0;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return Error::corrupt(fmt::format("initramfs: cpio header at {} has a field that is not hex", at));
    }
    v = v * 16 + static_cast<std::uint64_t>(d);
  }
  return v;
}

void note_name(InitramfsContents& out, std::string_view name) {
  std::string module = kernel_module_name(name);
  if (!module.empty()) out.modules.insert(std::move(module));
}

// Walks one uncompressed newc archive starting at `offset`; returns the offset after its trailer.
Result<std::uint64_t> walk_newc(const ByteSource& file, std::uint64_t offset, InitramfsContents& out,
                                InitramfsArchive& archive, const InitramfsLimits& limits) {
  std::array<std::byte, kNewcHeader> raw{};
  std::string name;
  for (;;) {
    if (++out.entries > limits.max_entries) {
      return Error::limit_exceeded(fmt::format("initramfs: more than {} entries", limits.max_entries));
    }
    if (offset > file.size() || file.size() - offset < kNewcHeader) {
      return Error::corrupt(fmt::format("initramfs: cpio archive at {} ends without its trailer", archive.offset));
    }
    IG_TRY(file.read_at(offset, raw));
    const std::string_view header = as_chars(raw);
    if (header.substr(0, 6) != "070701" && header.substr(0, 6) != "070702") {
      return Error::corrupt(fmt::format("initramfs: no cpio header at offset {}", offset));
    }
    const std::uint64_t file_size = IG_TRY(hex_field(header, 6, offset));
    const std::uint64_t name_size = IG_TRY(hex_field(header, 11, offset));
    if (name_size == 0 || name_size > limits.max_name_bytes) {
      return Error::corrupt(fmt::format("initramfs: cpio entry at {} has a name of {} bytes", offset, name_size));
    }
    if (!range_within(offset + kNewcHeader, name_size, file.size())) {
      return Error::corrupt(fmt::format("initramfs: cpio entry at {} runs past the end of the file", offset));
    }
    name.resize(name_size);
    IG_TRY(file.read_at(offset + kNewcHeader, std::as_writable_bytes(std::span(name))));
    if (name.back() != '\0') {
      return Error::corrupt(fmt::format("initramfs: cpio entry at {} has an unterminated name", offset));
    }
    name.pop_back();
    const std::uint64_t data = align_up(offset + kNewcHeader + name_size, 4);
    const auto next = checked_add(data, file_size, "cpio entry end");
    if (!next || *next > file.size()) {
      return Error::corrupt(
          fmt::format("initramfs: the data of '{}' at {} runs past the end of the file", printable(name), offset));
    }
    if (name == kTrailer) return align_up(*next, 4);
    ++archive.entries;
    note_name(out, name);
    offset = align_up(*next, 4);
  }
}

// Skips the zero padding between archives, 4 bytes at a time as the kernel does.
Result<std::uint64_t> skip_padding(const ByteSource& file, std::uint64_t offset) {
  std::array<std::byte, 4096> block{};
  while (offset < file.size()) {
    const std::uint64_t n = std::min<std::uint64_t>(block.size(), file.size() - offset);
    const auto chunk = std::span(block).first(n);
    IG_TRY(file.read_at(offset, chunk));
    const auto first = std::find_if(chunk.begin(), chunk.end(), [](std::byte b) { return b != std::byte{0}; });
    if (first != chunk.end()) return (offset + static_cast<std::uint64_t>(first - chunk.begin())) & ~3ULL;
    offset += n;
  }
  return offset;
}

// libarchive reads the compressed archive through this callback, straight from the source.
struct Reader {
  const ByteSource* file;
  std::uint64_t offset;
  std::vector<std::byte> buffer;
  std::string error;
};

la_ssize_t read_callback(struct archive* /*a*/, void* data, const void** out) {
  auto* r = static_cast<Reader*>(data);
  const std::uint64_t n = std::min<std::uint64_t>(r->buffer.size(), r->file->size() - r->offset);
  if (n == 0) return 0;
  if (auto ok = r->file->read_at(r->offset, std::span(r->buffer).first(n)); !ok) {
    r->error = ok.error().message;
    return -1;
  }
  r->offset += n;
  *out = r->buffer.data();
  return static_cast<la_ssize_t>(n);
}

Result<void> read_compressed(const ByteSource& file, std::uint64_t offset, InitramfsContents& out,
                             InitramfsArchive& archive, const InitramfsLimits& limits) {
  std::unique_ptr<struct archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  if (!a) return Error::internal("initramfs: libarchive could not allocate a reader");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_cpio(a.get());
  Reader reader{&file, offset, std::vector<std::byte>(256 * 1024), {}};
  if (archive_read_open(a.get(), &reader, nullptr, read_callback, nullptr) != ARCHIVE_OK) {
    const char* why = archive_error_string(a.get());
    // The magic named a compression libarchive reads, so a failure here is a damaged stream.
    return Error::corrupt(fmt::format("initramfs: the {} archive at offset {} cannot be read: {}", archive.compression,
                                      offset, why != nullptr ? why : "unknown format"));
  }
  for (;;) {
    struct archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) return ok();
    if (rc < ARCHIVE_WARN) {
      const char* why = archive_error_string(a.get());
      return Error::corrupt(fmt::format("initramfs: the {} archive at offset {}: {}", archive.compression, offset,
                                        !reader.error.empty() ? reader.error
                                        : why != nullptr      ? why
                                                              : "read error"));
    }
    if (++out.entries > limits.max_entries) {
      return Error::limit_exceeded(fmt::format("initramfs: more than {} entries", limits.max_entries));
    }
    ++archive.entries;
    if (const char* name = archive_entry_pathname(entry); name != nullptr) note_name(out, name);
    if (archive_filter_bytes(a.get(), 0) > static_cast<la_int64_t>(limits.max_decompressed_bytes)) {
      return Error::limit_exceeded(
          fmt::format("initramfs: more than {} bytes decompressed", limits.max_decompressed_bytes));
    }
  }
}

}  // namespace

std::string initramfs_compression(std::span<const std::byte> head) {
  if (head.size() >= 6 && (as_chars(head.first(6)) == "070701" || as_chars(head.first(6)) == "070702")) return "none";
  if (starts_with(head, {0x1f, 0x8b})) return "gzip";
  if (starts_with(head, {0xfd, '7', 'z', 'X', 'Z', 0x00})) return "xz";
  if (starts_with(head, {0x28, 0xb5, 0x2f, 0xfd})) return "zstd";
  if (starts_with(head, {0x02, 0x21, 0x4c, 0x18}) || starts_with(head, {0x04, 0x22, 0x4d, 0x18})) return "lz4";
  if (starts_with(head, {'B', 'Z', 'h'})) return "bzip2";
  if (starts_with(head, {0x89, 'L', 'Z', 'O'})) return "lzo";
  if (starts_with(head, {0x5d, 0x00, 0x00})) return "lzma";
  return "unknown";
}

std::string kernel_module_name(std::string_view path) {
  const auto slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const auto ko = base.rfind(".ko");
  if (ko == std::string_view::npos || ko == 0) return "";
  const std::string_view rest = base.substr(ko);
  if (rest != ".ko" && rest != ".ko.xz" && rest != ".ko.zst" && rest != ".ko.gz") return "";
  std::string name(base.substr(0, ko));
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

Result<InitramfsContents> scan_initramfs(const ByteSource& file, const InitramfsLimits& limits) {
  InitramfsContents out;
  std::uint64_t offset = 0;
  while (offset < file.size()) {
    if (out.archives.size() >= limits.max_archives) {
      return Error::limit_exceeded(fmt::format("initramfs: more than {} archives", limits.max_archives));
    }
    std::array<std::byte, 8> head{};
    const auto n = std::min<std::uint64_t>(head.size(), file.size() - offset);
    IG_TRY(file.read_at(offset, std::span(head).first(n)));
    InitramfsArchive archive{offset, initramfs_compression(std::span(head).first(n)), 0};
    if (archive.compression == "none") {
      const std::uint64_t end = IG_TRY(walk_newc(file, offset, out, archive, limits));
      out.archives.push_back(archive);
      offset = IG_TRY(skip_padding(file, end));
      continue;
    }
    if (archive.compression == "unknown") {
      if (out.archives.empty()) return Error::corrupt("initramfs: neither a cpio archive nor a known compression");
      break;  // trailing bytes after the last archive: the kernel ignores them too
    }
    auto read = read_compressed(file, offset, out, archive, limits);
    out.archives.push_back(archive);
    if (!read) return read.error();
    break;  // libarchive does not say where a compressed stream ends; the main archive is the last
  }
  if (out.archives.empty()) return Error::corrupt("initramfs: the file is empty");
  return out;
}

}  // namespace ig
