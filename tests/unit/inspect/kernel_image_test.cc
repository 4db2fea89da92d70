// The architecture of kernel images (inspect/kernel_image.h). The headers a kernel build writes
// are made from their documentation (support/kernel_images.h); every wrapper (gzip, zstd, xz)
// and every ELF inside one (the host's own x86_64 dash; clang-built i386 and aarch64
// executables) is made by the real tool, and the real compressor's output is what is parsed.
#include "inspect/kernel_image.h"

#include <cstring>

#include "base/bytes.h"
#include "io/sources.h"
#include "support/kernel_images.h"

namespace ig::test {
namespace {

KernelImage read(const std::vector<std::byte>& bytes) {
  MemorySource file(bytes, "vmlinuz");
  auto k = kernel_image(file);
  EXPECT_THAT(k, IsOk());
  return k ? *k : KernelImage{};
}

TEST(KernelImage, Arm64ImageRawAndGzipCompressed) {
  TempDir dir;
  const std::vector<std::byte> image = arm64_image();
  KernelImage k = read(image);
  EXPECT_EQ(k.architecture, "arm_64");
  EXPECT_EQ(k.format, "arm64 Image");
  // Debian's and Ubuntu's /boot/vmlinuz-*-arm64: the Image through gzip -9.
  k = read(compress(dir, "gzip -9 -n -c", image));
  EXPECT_EQ(k.architecture, "arm_64");
  EXPECT_EQ(k.format, "arm64 Image, gzip-compressed");
  // flags bit 0: a big-endian kernel, which the cloud does not run.
  k = read(compress(dir, "gzip -9 -n -c", arm64_image(256 * 1024, true)));
  EXPECT_EQ(k.architecture, "");
  EXPECT_EQ(k.format.rfind("big-endian arm64 Image", 0), 0u) << k.format;
  // An Image compressed another way than gzip is named, not decompressed.
  k = read(compress(dir, "xz -c", image));
  EXPECT_EQ(k.architecture, "");
  EXPECT_EQ(k.format, "xz-compressed: not decompressed");
}

TEST(KernelImage, EfiZbootGzipPayloadIsReadOthersByPeMachine) {
  TempDir dir;
  const std::vector<std::byte> image = arm64_image();
  KernelImage k = read(efi_zboot(compress(dir, "gzip -9 -n -c", image), "gzip"));
  EXPECT_EQ(k.architecture, "arm_64");
  EXPECT_EQ(k.format, "EFI zboot image, gzip payload: arm64 Image");
  // zstd22 (Fedora's, Ubuntu's): its window may need 128 MiB; the PE header's Machine decides.
  k = read(efi_zboot(compress(dir, "zstd -q --ultra -22 -c", image), "zstd22"));
  EXPECT_EQ(k.architecture, "arm_64");
  EXPECT_EQ(k.format, "EFI zboot image, PE Machine arm_64; its zstd22 payload is not decompressed");
  // A RISC-V zboot (Machine 0x5064): not an architecture the cloud takes.
  k = read(efi_zboot(compress(dir, "gzip -9 -n -c", image), "lzma", 0x5064));
  EXPECT_EQ(k.architecture, "");
  EXPECT_EQ(k.format, "EFI zboot image, PE Machine not one the cloud takes; its lzma payload is not decompressed");
  // The payload's size reaching past the file: the header alone speaks.
  std::vector<std::byte> cut = efi_zboot(compress(dir, "gzip -9 -n -c", image), "gzip");
  store_le_ptr<std::uint32_t>(cut.data() + 12, 0x7fffffff);
  k = read(cut);
  EXPECT_EQ(k.architecture, "arm_64");
  EXPECT_NE(k.format.find("lies outside the file"), std::string::npos) << k.format;
  // A gzip payload that is not gzip: the inflate error is named, the PE Machine still speaks.
  std::vector<std::byte> garbage = compress(dir, "gzip -9 -n -c", image);
  for (std::size_t i = 10; i < 200; ++i) garbage[i] = std::byte{0xff};
  k = read(efi_zboot(garbage, "gzip"));
  EXPECT_EQ(k.architecture, "arm_64");
  EXPECT_NE(k.format.find("gzip stream at 4096"), std::string::npos) << k.format;
}

// i386 and x86_64 bzImages: xloadflags from boot protocol 2.12 (Linux 3.8), the ELF header of
// the gzip payload before that.
TEST(KernelImage, BzImageTellsI386FromX86_64) {
  TempDir dir;
  KernelImage k =
      read(bzimage(0x020f, 0x0001 | 0x0002 | 0x0008));  // XLF_KERNEL_64, CAN_BE_LOADED_ABOVE_4G, EFI_HANDOVER_64
  EXPECT_EQ(k.architecture, "x86_64");
  EXPECT_EQ(k.format, "bzImage, boot protocol 2.15, XLF_KERNEL_64 set");
  k = read(bzimage(0x020f, 0x0004));  // XLF_EFI_HANDOVER_32 only: a 32-bit kernel (Debian's -686)
  EXPECT_EQ(k.architecture, "i386");
  EXPECT_EQ(k.format, "bzImage, boot protocol 2.15, XLF_KERNEL_64 clear");
  // Protocol 2.10 (CentOS 6's 2.6.32): the gzip payload is a compressed vmlinux ELF.
  k = read(bzimage(0x020a, 0, compress(dir, "gzip -9 -n -c", read_file("/usr/bin/dash"))));
  EXPECT_EQ(k.architecture, "x86_64");
  EXPECT_EQ(k.format, "bzImage, boot protocol 2.10, gzip payload: ELF vmlinux");
  const std::string i386 = cross_elf(dir, "i386-linux-gnu");
  if (!i386.empty()) {
    k = read(bzimage(0x020a, 0, compress(dir, "gzip -9 -n -c", read_file(i386))));
    EXPECT_EQ(k.architecture, "i386");
  }
  k = read(bzimage(0x020a, 0, compress(dir, "xz -c", read_file("/usr/bin/dash"))));
  EXPECT_EQ(k.architecture, "");
  EXPECT_EQ(k.format, "bzImage, boot protocol 2.10: its xz payload is not decompressed");
  k = read(bzimage(0x0204, 0));
  EXPECT_EQ(k.architecture, "");
  EXPECT_EQ(k.format, "bzImage, boot protocol 2.04: too old to say 32 or 64 bits");
  std::vector<std::byte> cut = bzimage(0x020a, 0, compress(dir, "gzip -9 -n -c", read_file("/usr/bin/dash")));
  store_le_ptr<std::uint32_t>(cut.data() + 0x24c, 0xfffffff0);
  EXPECT_NE(read(cut).format.find("lies outside the file"), std::string::npos);
}

TEST(KernelImage, ElfAndUnknownFiles) {
  EXPECT_EQ(read(read_file("/usr/bin/dash")).architecture, "x86_64");
  EXPECT_EQ(read(read_file("/usr/bin/dash")).format, "ELF vmlinux");
  std::vector<std::byte> noise(8192);
  for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<std::byte>((i * 7 + 3) & 0xff);
  EXPECT_EQ(read(noise).architecture, "");
  EXPECT_EQ(read(noise).format, "not a kernel image imagegate knows (bzImage, arm64 Image, EFI zboot, ELF)");
  EXPECT_EQ(read({}).architecture, "");
  // Images for architectures the cloud does not take are named: a RISC-V Image ("RSC\x05" at 56,
  // Documentation/riscv/boot-image-header.rst) and a 32-bit ARM zImage (0x016f2818 at 0x24).
  std::vector<std::byte> riscv(4096);
  std::memcpy(riscv.data() + 48, "RISCV\0\0\0RSC\x05", 12);
  EXPECT_EQ(read(riscv).architecture, "");
  EXPECT_EQ(read(riscv).format, "RISC-V Image, not an architecture the cloud takes");
  std::vector<std::byte> zimage(4096);
  store_le_ptr<std::uint32_t>(zimage.data() + 0x24, 0x016f2818);
  EXPECT_EQ(read(zimage).format, "32-bit ARM zImage, not an architecture the cloud takes");
}

// A gzip header whose file name runs past the input read: no output within the bound, no
// architecture, and never more than kKernelMaxCompressedBytes read.
TEST(KernelImage, GzipInputIsBounded) {
  TempDir dir;
  std::vector<std::byte> gz = {std::byte{0x1f}, std::byte{0x8b}, std::byte{8}, std::byte{8}};  // FNAME
  gz.resize(10);
  gz.resize(10 + kKernelMaxCompressedBytes + 4096, std::byte{'A'});
  gz.push_back(std::byte{0});
  const std::vector<std::byte> deflated = compress(dir, "gzip -9 -n -c", arm64_image());
  gz.insert(gz.end(), deflated.begin() + 10, deflated.end());
  const KernelImage k = read(gz);
  EXPECT_EQ(k.architecture, "");
  EXPECT_EQ(k.format, "gzip-compressed, but not a kernel image imagegate knows");
}

}  // namespace
}  // namespace ig::test
