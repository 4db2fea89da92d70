// Kernel images for the architecture tests (inspect/kernel_image.h). No tool here builds a Linux
// kernel, so the part a kernel build writes is made byte by byte from its documented header, and
// every wrapper around it by the real tool that makes that wrapper:
//   - arm64_image(): an arm64 Image (Documentation/arm64/booting.rst) as an EFI-stub kernel
//     starts: code0 "MZ" and a branch, text_offset 0, image_size, flags (bit 0 the endianness,
//     4 KiB pages), res2-4 zero, magic "ARM\x64" at 56, res5 the PE header's offset (0x40),
//     then "PE\0\0" and Machine 0xAA64; the rest a pattern;
//   - efi_zboot(): drivers/firmware/efi/libstub/zboot-header.S: "MZ\0\0", "zimg", the payload's
//     offset and size, two reserved words, the compression's name at 24, LINUX_PE_MAGIC at 0x38,
//     the PE header's offset at 0x3c, "PE\0\0" and Machine; the payload at 4 KiB, as the stub's
//     .p2align 12 puts it, compressed by the caller with gzip or zstd;
//   - bzimage(): Documentation/x86/boot.rst's real-mode setup: 4 setup sectors, boot_flag 0xAA55
//     at 0x1FE, "HdrS" at 0x202, the protocol version at 0x206, xloadflags at 0x236,
//     payload_offset and payload_length at 0x248 and 0x24C; the payload after the setup.
// The compressors (gzip -9 -n, zstd --ultra -22, xz) and the ELF files (clang and lld, for the
// cross targets) are the real tools.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace ig::test {

std::vector<std::byte> arm64_image(std::size_t size = 256 * 1024, bool big_endian = false);
std::vector<std::byte> efi_zboot(const std::vector<std::byte>& compressed, const std::string& compression,
                                 std::uint16_t machine = 0xAA64);
std::vector<std::byte> bzimage(std::uint16_t protocol, std::uint16_t xloadflags,
                               const std::vector<std::byte>& payload = {});

// `command` (e.g. "gzip -9 -n -c", "zstd -q --ultra -22 -c", "xz -c") over `data`, through files
// in `dir`.
std::vector<std::byte> compress(const TempDir& dir, const std::string& command, const std::vector<std::byte>& data);

// A tiny static ELF executable for `target` ("aarch64-linux-gnu", "i386-linux-gnu"), compiled by
// clang and linked by lld into `dir`; "" when they are not installed (callers skip, saying so).
std::string cross_elf(const TempDir& dir, const std::string& target);

}  // namespace ig::test
