#include "support/kernel_images.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "base/bytes.h"

namespace ig::test {

std::vector<std::byte> arm64_image(std::size_t size, bool big_endian) {
  std::vector<std::byte> d(size);
  for (std::size_t i = 64; i < size; ++i) d[i] = static_cast<std::byte>((i * 131) & 0xff);
  std::byte* h = d.data();
  h[0] = std::byte{'M'};  // code0: "MZ" doubles as an instruction, as in the EFI stub
  h[1] = std::byte{'Z'};
  h[2] = std::byte{0x40};
  h[3] = std::byte{0xfa};
  store_le_ptr<std::uint32_t>(h + 4, 0x14000000 + 0x10);                               // code1: b stext
  store_le_ptr<std::uint64_t>(h + 8, 0);                                               // text_offset
  store_le_ptr<std::uint64_t>(h + 16, size);                                           // image_size
  store_le_ptr<std::uint64_t>(h + 24, (big_endian ? 1u : 0u) | 2u);                    // flags: endianness, 4 KiB pages
  for (std::size_t at = 32; at < 56; at += 8) store_le_ptr<std::uint64_t>(h + at, 0);  // res2-res4
  std::memcpy(h + 56, "ARM\x64", 4);
  store_le_ptr<std::uint32_t>(h + 60, 0x40);  // res5: the PE header's offset
  std::memcpy(h + 0x40, "PE\0\0", 4);
  store_le_ptr<std::uint16_t>(h + 0x44, 0xAA64);
  return d;
}

std::vector<std::byte> efi_zboot(const std::vector<std::byte>& compressed, const std::string& compression,
                                 std::uint16_t machine) {
  constexpr std::size_t kPayload = 4096;
  std::vector<std::byte> d(kPayload + compressed.size());
  std::byte* h = d.data();
  store_le_ptr<std::uint32_t>(h, 0x5a4d);  // MZ_MAGIC as a .long
  std::memcpy(h + 4, "zimg", 4);
  store_le_ptr<std::uint32_t>(h + 8, kPayload);
  store_le_ptr<std::uint32_t>(h + 12, static_cast<std::uint32_t>(compressed.size()));
  std::memcpy(h + 24, compression.data(), std::min<std::size_t>(compression.size(), 31));
  store_le_ptr<std::uint32_t>(h + 0x38, 0x818223cd);  // LINUX_PE_MAGIC
  store_le_ptr<std::uint32_t>(h + 0x3c, 0x40);
  std::memcpy(h + 0x40, "PE\0\0", 4);
  store_le_ptr<std::uint16_t>(h + 0x44, machine);
  std::copy(compressed.begin(), compressed.end(), d.begin() + kPayload);
  return d;
}

std::vector<std::byte> bzimage(std::uint16_t protocol, std::uint16_t xloadflags,
                               const std::vector<std::byte>& payload) {
  constexpr std::size_t kSetupSects = 4;
  constexpr std::size_t kCode = (kSetupSects + 1) * 512;  // the protected-mode code starts here
  constexpr std::size_t kPayloadOffset = 0x100;           // a decompressor stub before the payload
  std::vector<std::byte> d(kCode + kPayloadOffset + payload.size() + 512);
  std::byte* h = d.data();
  h[0x1f1] = std::byte{kSetupSects};
  store_le_ptr<std::uint16_t>(h + 0x1fe, 0xAA55);
  h[0x200] = std::byte{0xeb};  // jmp
  h[0x201] = std::byte{0x66};
  std::memcpy(h + 0x202, "HdrS", 4);
  store_le_ptr<std::uint16_t>(h + 0x206, protocol);
  store_le_ptr<std::uint32_t>(h + 0x214, 0x100000);  // code32_start
  store_le_ptr<std::uint16_t>(h + 0x236, xloadflags);
  store_le_ptr<std::uint32_t>(h + 0x248, kPayloadOffset);
  store_le_ptr<std::uint32_t>(h + 0x24c, static_cast<std::uint32_t>(payload.size()));
  std::copy(payload.begin(), payload.end(), d.begin() + kCode + kPayloadOffset);
  return d;
}

std::vector<std::byte> compress(const TempDir& dir, const std::string& command, const std::vector<std::byte>& data) {
  const std::string in = dir.file("compress.in");
  const std::string out = dir.file("compress.out");
  write_file(in, data);
  run_ok(command + " < " + in + " > " + out);
  return read_file(out);
}

std::string cross_elf(const TempDir& dir, const std::string& target) {
  const std::string src = dir.file("start.c");
  const std::string out = dir.file("start-" + target);
  std::ofstream(src) << "void _start(void) { for (;;) { } }\n";
  const CommandResult r = run("clang --target=" + target + " -nostdlib -static -fuse-ld=lld -O1 -o " + out + " " + src);
  return r.exit_code == 0 ? out : "";
}

}  // namespace ig::test
