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

constexpr std::uint32_t kMaxLzmaDictionary = 256U << 20;

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

// A forward-only byte stream: the file itself for uncompressed archives, libarchive's
// decompressor for the others. The newc walker below reads both the same way.
class Stream {
 public:
  virtual ~Stream() = default;
  // Fills `out` exactly; false at a clean end of stream before the first byte.
  virtual Result<bool> read(std::span<std::byte> out) = 0;
  virtual std::uint64_t position() const = 0;
  Result<void> skip(std::uint64_t n) {
    std::array<std::byte, 16384> scratch{};
    while (n > 0) {
      const auto chunk = std::min<std::uint64_t>(n, scratch.size());
      if (!IG_TRY(read(std::span(scratch).first(chunk))))
        return Error::corrupt("initramfs: the archive ends in a file's data");
      n -= chunk;
    }
    return ok();
  }
};

class SourceStream final : public Stream {
 public:
  SourceStream(const ByteSource& file, std::uint64_t offset) : file_(file), pos_(offset) {}
  Result<bool> read(std::span<std::byte> out) override {
    if (pos_ >= file_.size()) return false;
    if (file_.size() - pos_ < out.size()) {
      return Error::corrupt(fmt::format("initramfs: cpio archive cut short at offset {}", file_.size()));
    }
    IG_TRY(file_.read_at(pos_, out));
    pos_ += out.size();
    return true;
  }
  std::uint64_t position() const override { return pos_; }

 private:
  const ByteSource& file_;
  std::uint64_t pos_;
};

// libarchive as a decompressor only ("raw" format): it never parses the cpio itself, so the
// archive's sizes never become its allocations.
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

// The one libarchive filter for a compression initramfs_compression() names, or ARCHIVE_FATAL
// for one it is not given: archive_read_support_filter_all() adds the filters libarchive has no
// library for as external programs (lzop), and no program may run on an image's bytes (in the
// sandboxed reader the exec was a forbidden call, and the whole check died with SIGSYS).
int support_filter(struct archive* a, std::string_view compression) {
  if (compression == "gzip") return archive_read_support_filter_gzip(a);
  if (compression == "xz") return archive_read_support_filter_xz(a);
  if (compression == "lzma") return archive_read_support_filter_lzma(a);
  if (compression == "zstd") return archive_read_support_filter_zstd(a);
  if (compression == "lz4") return archive_read_support_filter_lz4(a);
  if (compression == "bzip2") return archive_read_support_filter_bzip2(a);
  return ARCHIVE_FATAL;
}

class ArchiveStream final : public Stream {
 public:
  ArchiveStream(const ByteSource& file, std::uint64_t offset, std::string compression, std::uint64_t max_bytes)
      : a_(archive_read_new(), archive_read_free),
        start_(offset),
        reader_{&file, offset, std::vector<std::byte>(256 * 1024), {}},
        compression_(std::move(compression)),
        max_(max_bytes) {}

  Result<void> open() {
    if (!a_) return Error::internal("initramfs: libarchive could not allocate a reader");
    // ARCHIVE_WARN too: libarchive says so when it would run a program for the filter.
    if (support_filter(a_.get(), compression_) != ARCHIVE_OK) {
      return Error::unsupported(fmt::format(
          "initramfs: the {} archive at offset {}: imagegate does not read {}-compressed initramfs (the kernel may)",
          compression_, start_, compression_));
    }
    archive_read_support_format_raw(a_.get());
    struct archive_entry* entry = nullptr;
    if (archive_read_open(a_.get(), &reader_, nullptr, read_callback, nullptr) != ARCHIVE_OK ||
        archive_read_next_header(a_.get(), &entry) != ARCHIVE_OK) {
      return Error::corrupt(
          fmt::format("initramfs: the {} archive at offset {} cannot be read: {}", compression_, start_, why()));
    }
    return ok();
  }

  Result<bool> read(std::span<std::byte> out) override {
    std::size_t got = 0;
    while (got < out.size()) {
      const la_ssize_t n = archive_read_data(a_.get(), out.data() + got, out.size() - got);
      if (n < 0) return Error::corrupt(fmt::format("initramfs: the {} stream: {}", compression_, why()));
      if (n == 0) {
        if (got == 0) return false;
        return Error::corrupt(fmt::format("initramfs: the {} stream ends inside a cpio entry", compression_));
      }
      got += static_cast<std::size_t>(n);
    }
    pos_ += got;
    if (pos_ > max_) return Error::limit_exceeded(fmt::format("initramfs: more than {} bytes decompressed", max_));
    return true;
  }
  std::uint64_t position() const override { return pos_; }

 private:
  std::string why() const {
    if (!reader_.error.empty()) return reader_.error;
    const char* e = archive_error_string(a_.get());
    return e != nullptr ? e : "unknown error";
  }
  std::unique_ptr<struct archive, decltype(&archive_read_free)> a_;
  std::uint64_t start_;  // where the archive begins in the file (reader_.offset moves on)
  Reader reader_;
  std::string compression_;
  std::uint64_t max_;
  std::uint64_t pos_ = 0;
};

// Walks newc archives on `in` from its current position: headers, names and data up to the
// trailer. With `more_after_trailer` (a decompressed stream), zero padding and further archives
// may follow, as the kernel accepts; anything else after a trailer ends the walk.
Result<void> walk_newc(Stream& in, InitramfsContents& out, InitramfsArchive& archive, const InitramfsLimits& limits,
                       bool more_after_trailer) {
  std::array<std::byte, kNewcHeader> raw{};
  std::string name;
  bool after_trailer = false;
  bool any = false;
  for (;;) {
    const std::uint64_t at = in.position();
    if (!IG_TRY(in.read(std::span(raw).first(4)))) {
      if (after_trailer) return ok();
      return Error::corrupt(any ? fmt::format("initramfs: cpio archive ends without its trailer at {}", at)
                                : fmt::format("initramfs: the {} archive is empty", archive.compression));
    }
    const std::string_view magic = as_chars(std::span<const std::byte>(raw).first(4));
    if (after_trailer && magic == std::string_view("\0\0\0\0", 4)) continue;  // padding between archives
    if (after_trailer && magic != "0707") return ok();  // not another archive: the kernel stops too
    if (!IG_TRY(in.read(std::span(raw).subspan(4)))) {
      return Error::corrupt(fmt::format("initramfs: cpio header at {} cut short", at));
    }
    any = true;
    if (++out.entries > limits.max_entries) {
      return Error::limit_exceeded(fmt::format("initramfs: more than {} entries", limits.max_entries));
    }
    const std::string_view header = as_chars(raw);
    if (header.substr(0, 6) != "070701" && header.substr(0, 6) != "070702") {
      return Error::corrupt(fmt::format("initramfs: no cpio header at offset {}", at));
    }
    const std::uint64_t file_size = IG_TRY(hex_field(header, 6, at));
    const std::uint64_t name_size = IG_TRY(hex_field(header, 11, at));
    if (name_size == 0 || name_size > limits.max_name_bytes) {
      return Error::corrupt(fmt::format("initramfs: cpio entry at {} has a name of {} bytes", at, name_size));
    }
    name.resize(name_size);
    if (!IG_TRY(in.read(std::as_writable_bytes(std::span(name))))) {
      return Error::corrupt(fmt::format("initramfs: cpio entry at {} runs past the end of the file", at));
    }
    if (name.back() != '\0') {
      return Error::corrupt(fmt::format("initramfs: cpio entry at {} has an unterminated name", at));
    }
    name.pop_back();
    IG_TRY(in.skip(align_up(kNewcHeader + name_size, 4) - (kNewcHeader + name_size)));
    IG_TRY(in.skip(align_up(file_size, 4)));
    if (name == kTrailer) {
      if (!more_after_trailer) return ok();
      after_trailer = true;
      continue;
    }
    after_trailer = false;
    ++archive.entries;
    note_name(out, name);
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
  // The kernel's MODULE_NAME_LEN is 56 with its NUL: a longer file is no module it loads, and
  // names up to the cpio limit of 4 KiB over 500,000 entries were 2 GiB of set (the review of
  // 2026-12-07).
  if (ko > 55) return "";
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
    std::array<std::byte, 16> head{};
    const auto n = std::min<std::uint64_t>(head.size(), file.size() - offset);
    IG_TRY(file.read_at(offset, std::span(head).first(n)));
    InitramfsArchive archive{offset, initramfs_compression(std::span(head).first(n)), 0};
    if (archive.compression == "none") {
      SourceStream in(file, offset);
      IG_TRY(walk_newc(in, out, archive, limits, false));
      out.archives.push_back(archive);
      offset = IG_TRY(skip_padding(file, in.position()));
      continue;
    }
    if (archive.compression == "unknown") {
      if (out.archives.empty()) return Error::corrupt("initramfs: neither a cpio archive nor a known compression");
      break;  // trailing bytes after the last archive: the kernel ignores them too
    }
    if (archive.compression == "lzma" && n >= 13) {
      // liblzma allocates the dictionary the header asks for, and libarchive sets no limit for
      // this format: bound it here.
      const std::uint32_t dictionary = load_le_ptr<std::uint32_t>(head.data() + 1);
      if (dictionary > kMaxLzmaDictionary) {
        return Error::limit_exceeded(
            fmt::format("initramfs: the lzma archive at {} asks for a {}-byte dictionary", offset, dictionary));
      }
    }
    ArchiveStream in(file, offset, archive.compression, limits.max_decompressed_bytes);
    auto walked = in.open();
    if (walked) walked = walk_newc(in, out, archive, limits, true);
    out.archives.push_back(archive);
    if (!walked) return walked.error();
    break;  // a compressed stream's end is libarchive's to know; the main archive is the last
  }
  if (out.archives.empty()) return Error::corrupt("initramfs: the file is empty");
  return out;
}

}  // namespace ig
