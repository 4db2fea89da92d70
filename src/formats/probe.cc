#include "formats/probe.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "base/bytes.h"

namespace ig {

std::string_view format_name(Format f) {
  switch (f) {
    case Format::kRaw: return "raw";
    case Format::kQcow2: return "qcow2";
    case Format::kVhd: return "vhd";
    case Format::kVmdk: return "vmdk";
  }
  return "raw";
}

std::optional<Format> parse_format_name(std::string_view s) {
  if (s == "raw") return Format::kRaw;
  if (s == "qcow2") return Format::kQcow2;
  if (s == "vhd" || s == "vpc") return Format::kVhd;
  if (s == "vmdk") return Format::kVmdk;
  return std::nullopt;
}

namespace {

constexpr std::size_t kHeadBytes = 40 * 1024;  // covers ISO 9660's volume descriptors at 32 KiB
constexpr std::size_t kTailBytes = 1536;       // VHD footer (512), DMG koly (512), VMDK footer

bool has(std::string_view hay, std::size_t offset, std::string_view needle) {
  return offset <= hay.size() && hay.size() - offset >= needle.size() && hay.substr(offset, needle.size()) == needle;
}

std::uint32_t be32_at(std::string_view s, std::size_t off) {
  if (off + 4 > s.size()) return 0;
  return load_be_ptr<std::uint32_t>(reinterpret_cast<const std::byte*>(s.data() + off));
}
std::uint32_t le32_at(std::string_view s, std::size_t off) {
  if (off + 4 > s.size()) return 0;
  return load_le_ptr<std::uint32_t>(reinterpret_cast<const std::byte*>(s.data() + off));
}

}  // namespace

Result<std::vector<FormatMatch>> probe(const ByteSource& file) {
  const std::uint64_t size = file.size();
  std::vector<std::byte> head_buf(static_cast<std::size_t>(std::min<std::uint64_t>(size, kHeadBytes)));
  IG_TRY(file.read_at(0, head_buf));
  std::vector<std::byte> tail_buf(static_cast<std::size_t>(std::min<std::uint64_t>(size, kTailBytes)));
  IG_TRY(file.read_at(size - tail_buf.size(), tail_buf));
  const std::string_view head = as_chars(head_buf);
  const std::string_view tail = as_chars(tail_buf);

  std::vector<FormatMatch> out;
  auto add = [&](std::string name, std::string desc, std::optional<Format> f = std::nullopt) {
    out.push_back({std::move(name), std::move(desc), f});
  };

  // The four accepted formats.
  if (has(head, 0, "QFI\xfb")) {
    const std::uint32_t version = be32_at(head, 4);
    if (version == 1) {
      add("qcow", "qcow version 1 image (only qcow2 is accepted)");
    } else {
      add("qcow2", "qcow2 image", Format::kQcow2);
    }
  }
  if (has(head, 0, "KDMV")) add("vmdk", "VMDK sparse extent", Format::kVmdk);
  // A VHD ends with its footer; a dynamic VHD also starts with a copy of it.
  const bool vhd_tail = tail.size() >= 512 && has(tail, tail.size() - 512, "conectix");
  if (has(head, 0, "conectix") || vhd_tail) add("vhd", "VHD image", Format::kVhd);

  // Formats the cloud does not accept, named so the user knows what they uploaded.
  if (has(head, 0, "vhdxfile")) add("vhdx", "VHDX (Hyper-V) image");
  if (head.size() >= 68 && le32_at(head, 64) == 0xbeda107f) add("vdi", "VDI (VirtualBox) image");
  if (has(head, 0, std::string_view("QED\0", 4))) add("qed", "QED image");
  if (has(head, 0, "COWD")) add("vmdk-cowd", "VMDK ESX sparse (COWD) extent");
  if (has(head, 0, "# Disk DescriptorFile")) add("vmdk-descriptor", "VMDK descriptor file (names other files)");
  if (has(head, 0, "WithoutFreeSpace") || has(head, 0, "WithouFreSpacExt")) add("parallels", "Parallels image");
  if (has(head, 0, "Bochs Virtual HD Image")) add("bochs", "Bochs image");
  if (has(head, 0, "#!/bin/sh") && head.substr(0, 256).find("#V2.0 Format") != std::string_view::npos) {
    add("cloop", "cloop compressed loop image");
  }
  for (std::size_t off : {std::size_t{0x8001}, std::size_t{0x8801}, std::size_t{0x9001}}) {
    if (has(head, off, "CD001")) {
      add("iso9660", "ISO 9660 CD/DVD image");
      break;
    }
  }
  if (tail.size() >= 512 && has(tail, tail.size() - 512, "koly")) add("dmg", "Apple disk image (DMG)");
  if (has(head, 0, "\x1f\x8b")) add("gzip", "gzip-compressed file");
  if (has(head, 0,
          std::string_view("\xfd"
                           "7zXZ\0",
                           6)))
    add("xz", "xz-compressed file");
  if (has(head, 0, "BZh") && head.size() >= 4 && head[3] >= '1' && head[3] <= '9')
    add("bzip2", "bzip2-compressed file");
  if (has(head, 0, "\x28\xb5\x2f\xfd")) add("zstd", "zstd-compressed file");
  if (has(head, 0, "\x04\x22\x4d\x18")) add("lz4", "lz4-compressed file");
  if (has(head, 257, "ustar")) add("tar", "tar archive (an OVA is one)");
  if (has(head, 0, "PK\x03\x04")) add("zip", "zip archive");
  if (has(head, 0, "7z\xbc\xaf\x27\x1c")) add("7z", "7-Zip archive");
  return out;
}

}  // namespace ig
