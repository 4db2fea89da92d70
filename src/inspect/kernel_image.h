// The architecture a Linux kernel image (/boot/vmlinuz-<version>) is built for, from its own
// headers, without running or unpacking it.
//
// Told apart (docs/inspect.md, "Architecture"):
//   - an x86 bzImage (the setup header's "HdrS" at 0x202): boot protocol 2.12 and later say
//     64 bits in xloadflags (XLF_KERNEL_64, bit 0 at 0x236); for 2.08 to 2.11 the ELF header at
//     the start of the gzip payload (payload_offset at 0x248) is read;
//   - an arm64 Image (Documentation/arm64/booting.rst: magic "ARM\x64" at 56, flags bit 0 the
//     kernel's endianness), as it is or gzip-compressed (Debian, Ubuntu, RHEL ship it so);
//   - an EFI zboot image (drivers/firmware/efi/libstub/zboot-header.S: "MZ", "zimg" at 4, the
//     payload's offset and size at 8 and 12, its compression's name at 24): a gzip payload is
//     decompressed far enough to read the Image header inside; for any other compression
//     (zstd22, lzma, xzkern, lz4, lzo) the payload is not decompressed and the PE header's
//     Machine says the architecture;
//   - an ELF vmlinux, and a PE image (a unified kernel image) by its Machine.
// Anything else, or an architecture the cloud does not take (big-endian arm64, RISC-V, 32-bit
// ARM), gives no architecture and says what was found.
//
// Bounded: reads the first 4 KiB, and for a compressed payload at most 256 KiB of it, from which
// at most 4 KiB are decompressed. Thread safety: pure. Errors: the file's own read errors only;
// a malformed image is an answer without an architecture, naming what was wrong.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "io/byte_source.h"

namespace ig {

inline constexpr std::size_t kKernelHeadBytes = 4096;
inline constexpr std::size_t kKernelMaxCompressedBytes = 256 * 1024;
inline constexpr std::size_t kKernelMaxInflatedBytes = 4096;

struct KernelImage {
  std::string architecture;  // "x86_64", "i386", "arm_64", or "" when not told
  std::string format;        // what was read, as evidence: "arm64 Image, gzip-compressed", ...
};

Result<KernelImage> kernel_image(const ByteSource& file);

// The architecture an ELF header names ("x86_64", "i386", "arm_64"), or "" for anything else.
std::string elf_architecture(std::span<const std::byte> header);

}  // namespace ig
