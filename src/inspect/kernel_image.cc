#include "inspect/kernel_image.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <vector>

#include "base/bytes.h"
#include "inspect/windows.h"

namespace ig {
namespace {

// Documentation/arm64/booting.rst: the 64-byte Image header.
constexpr std::uint32_t kArm64Magic = 0x644d5241;      // "ARM\x64" at 56, little-endian
constexpr std::uint32_t kRiscvMagic2 = 0x05435352;     // "RSC\x05" at 56 (RISC-V Image)
constexpr std::uint32_t kArmZimageMagic = 0x016f2818;  // 32-bit ARM zImage, at 0x24
// Documentation/x86/boot.rst: the setup header.
constexpr std::size_t kSetupSects = 0x1f1;
constexpr std::size_t kHeaderMagic = 0x202;  // "HdrS"
constexpr std::size_t kProtocolVersion = 0x206;
constexpr std::size_t kXloadflags = 0x236;     // protocol 2.12+
constexpr std::size_t kPayloadOffset = 0x248;  // protocol 2.08+, from the protected-mode code
constexpr std::size_t kPayloadLength = 0x24c;
constexpr std::uint16_t kXlfKernel64 = 1;

std::uint32_t le32_at(std::span<const std::byte> h, std::size_t at) {
  return h.size() >= at + 4 ? load_le_ptr<std::uint32_t>(h.data() + at) : 0;
}

bool starts(std::span<const std::byte> h, std::string_view magic) {
  return h.size() >= magic.size() && as_chars(h.first(magic.size())) == magic;
}

// The compression a stream starts with, by its magic, as the kernel's decompressors name them.
std::string compression_of(std::span<const std::byte> h) {
  if (starts(h, "\x1f\x8b")) return "gzip";
  if (starts(h, std::string_view("\xfd"
                                 "7zXZ\0",
                                 6)))
    return "xz";
  if (starts(h, "BZh")) return "bzip2";
  if (starts(h, std::string_view("\x5d\0\0", 3))) return "lzma";
  if (starts(h, "\x89LZO")) return "lzo";
  if (starts(h, "\x02\x21\x4c\x18")) return "lz4";
  if (starts(h, "\x28\xb5\x2f\xfd")) return "zstd";
  return "unknown";
}

// The first bytes (at most kKernelMaxInflatedBytes) of the gzip stream at `offset`, read from at
// most `max_in` bytes of the file (and never more than kKernelMaxCompressedBytes).
Result<std::vector<std::byte>> gunzip_head(const ByteSource& file, std::uint64_t offset, std::uint64_t max_in) {
  if (offset >= file.size()) return Error::corrupt(fmt::format("gzip stream at {}: past the end of the file", offset));
  const std::size_t n =
      static_cast<std::size_t>(std::min<std::uint64_t>({max_in, kKernelMaxCompressedBytes, file.size() - offset}));
  std::vector<std::byte> in(n);
  IG_TRY(file.read_at(offset, in));
  std::vector<std::byte> out(kKernelMaxInflatedBytes);
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Error::internal("gzip: inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int ret = inflate(&zs, Z_NO_FLUSH);
  const std::size_t produced = out.size() - zs.avail_out;
  const std::string msg = zs.msg != nullptr ? zs.msg : "invalid stream";
  inflateEnd(&zs);
  if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) {
    return Error::corrupt(fmt::format("gzip stream at {}: {}", offset, msg));
  }
  out.resize(produced);
  return out;
}

// What an uncompressed kernel head is: an ELF vmlinux, an arm64 Image, or an image for an
// architecture the cloud does not take. Nothing when it is none of these.
std::optional<KernelImage> from_head(std::span<const std::byte> h) {
  if (starts(h,
             "\x7f"
             "ELF")) {
    const std::string arch = elf_architecture(h);
    if (!arch.empty()) return KernelImage{arch, "ELF vmlinux"};
    return KernelImage{"", "ELF vmlinux for an architecture the cloud does not take"};
  }
  if (le32_at(h, 56) == kArm64Magic && h.size() >= 64) {
    if ((load_le_ptr<std::uint64_t>(h.data() + 24) & 1) != 0) {  // flags bit 0: big-endian kernel
      return KernelImage{"", "big-endian arm64 Image (aarch64_be), not an architecture the cloud takes"};
    }
    return KernelImage{"arm_64", "arm64 Image"};
  }
  if (le32_at(h, 56) == kRiscvMagic2) return KernelImage{"", "RISC-V Image, not an architecture the cloud takes"};
  if (le32_at(h, 0x24) == kArmZimageMagic) {
    return KernelImage{"", "32-bit ARM zImage, not an architecture the cloud takes"};
  }
  return std::nullopt;
}

// An EFI zboot image: the payload's Image header when it is gzip, else the PE header's Machine.
Result<KernelImage> from_zboot(const ByteSource& file, std::span<const std::byte> h) {
  const std::uint32_t payload_offset = le32_at(h, 8);
  const std::uint32_t payload_size = le32_at(h, 12);
  const auto type_bytes = h.subspan(24, 32);
  const auto nul = std::find(type_bytes.begin(), type_bytes.end(), std::byte{0});
  const std::string type =
      printable(as_chars(type_bytes.first(static_cast<std::size_t>(nul - type_bytes.begin()))), 16);
  const std::string pe = pe_architecture(h);
  KernelImage by_pe{pe, fmt::format("EFI zboot image, PE Machine {}; its {} payload is not decompressed",
                                    pe.empty() ? "not one the cloud takes" : pe, type)};
  if (type != "gzip") return by_pe;
  if (std::uint64_t{payload_offset} + payload_size > file.size() || payload_size == 0) {
    by_pe.format = fmt::format("EFI zboot image, PE Machine {}; its payload ({} bytes at {}) lies outside the file",
                               pe.empty() ? "not one the cloud takes" : pe, payload_size, payload_offset);
    return by_pe;
  }
  auto inner = gunzip_head(file, payload_offset, payload_size);
  if (!inner) {
    if (inner.error().code == ErrorCode::kIo) return inner.error();
    by_pe.format = fmt::format("EFI zboot image, PE Machine {}; {}", pe.empty() ? "not one the cloud takes" : pe,
                               inner.error().message);
    return by_pe;
  }
  if (auto image = from_head(*inner)) {
    image->format = "EFI zboot image, gzip payload: " + image->format;
    return *image;
  }
  by_pe.format = fmt::format("EFI zboot image, PE Machine {}; its gzip payload is not a kernel image",
                             pe.empty() ? "not one the cloud takes" : pe);
  return by_pe;
}

// An x86 bzImage: xloadflags from protocol 2.12, else the ELF header of a gzip payload.
Result<KernelImage> from_bzimage(const ByteSource& file, std::span<const std::byte> h) {
  const std::uint16_t version = load_le_ptr<std::uint16_t>(h.data() + kProtocolVersion);
  const std::string protocol = fmt::format("bzImage, boot protocol {}.{:02}", version >> 8, version & 0xff);
  if (version >= 0x020c) {
    const bool is64 = (load_le_ptr<std::uint16_t>(h.data() + kXloadflags) & kXlfKernel64) != 0;
    return KernelImage{is64 ? "x86_64" : "i386", fmt::format("{}, XLF_KERNEL_64 {}", protocol, is64 ? "set" : "clear")};
  }
  if (version < 0x0208) return KernelImage{"", protocol + ": too old to say 32 or 64 bits"};
  std::uint32_t setup_sects = std::to_integer<std::uint32_t>(h[kSetupSects]);
  if (setup_sects == 0) setup_sects = 4;
  const std::uint64_t payload =
      (std::uint64_t{setup_sects} + 1) * 512 + load_le_ptr<std::uint32_t>(h.data() + kPayloadOffset);
  const std::uint32_t length = load_le_ptr<std::uint32_t>(h.data() + kPayloadLength);
  if (payload + length > file.size() || length < 6) {
    return KernelImage{
        "", fmt::format("{}: its payload ({} bytes at {}) lies outside the file", protocol, length, payload)};
  }
  std::array<std::byte, 6> magic{};
  IG_TRY(file.read_at(payload, magic));
  const std::string compression = compression_of(magic);
  if (compression != "gzip") {
    return KernelImage{"", fmt::format("{}: its {} payload is not decompressed", protocol, compression)};
  }
  auto inner = gunzip_head(file, payload, length);
  if (!inner) {
    if (inner.error().code == ErrorCode::kIo) return inner.error();
    return KernelImage{"", fmt::format("{}: {}", protocol, inner.error().message)};
  }
  if (auto image = from_head(*inner)) {
    image->format = fmt::format("{}, gzip payload: {}", protocol, image->format);
    return *image;
  }
  return KernelImage{"", protocol + ": its gzip payload is not an ELF vmlinux"};
}

}  // namespace

std::string elf_architecture(std::span<const std::byte> h) {
  if (h.size() < 20 || !starts(h,
                               "\x7f"
                               "ELF"))
    return "";
  const auto data = std::to_integer<unsigned>(h[5]);  // 1 little-endian, 2 big-endian
  const std::uint16_t machine =
      data == 2 ? load_be_ptr<std::uint16_t>(h.data() + 18) : load_le_ptr<std::uint16_t>(h.data() + 18);
  switch (machine) {
    case 0x3e: return "x86_64";
    case 0x03: return "i386";
    case 0xb7: return "arm_64";
    default: return "";
  }
}

Result<KernelImage> kernel_image(const ByteSource& file) {
  std::vector<std::byte> head(static_cast<std::size_t>(std::min<std::uint64_t>(file.size(), kKernelHeadBytes)));
  IG_TRY(file.read_at(0, head));
  const std::span<const std::byte> h = head;
  if (auto image = from_head(h)) return *image;
  if (starts(h, "MZ") && h.size() >= 64 && as_chars(h.subspan(4, 4)) == "zimg") return from_zboot(file, h);
  if (h.size() >= 0x250 && as_chars(h.subspan(kHeaderMagic, 4)) == "HdrS") return from_bzimage(file, h);
  if (starts(h, "\x1f\x8b")) {
    auto inner = gunzip_head(file, 0, file.size());
    if (!inner) {
      if (inner.error().code == ErrorCode::kIo) return inner.error();
      return KernelImage{"", inner.error().message};
    }
    if (auto image = from_head(*inner)) {
      image->format += ", gzip-compressed";
      return *image;
    }
    return KernelImage{"", "gzip-compressed, but not a kernel image imagegate knows"};
  }
  if (const std::string pe = pe_architecture(h); !pe.empty()) return KernelImage{pe, "PE image (EFI application)"};
  const std::string compression = compression_of(h);
  if (compression != "unknown") return KernelImage{"", fmt::format("{}-compressed: not decompressed", compression)};
  return KernelImage{"", "not a kernel image imagegate knows (bzImage, arm64 Image, EFI zboot, ELF)"};
}

}  // namespace ig
