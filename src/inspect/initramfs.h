// The initramfs scan: which files a kernel's initial RAM disk holds.
//
// The virtio rule (SPEC §2) needs virtio_blk and its transport inside the initramfs when they
// are modules: a module on the disk but not in the initramfs cannot mount the root. An initramfs
// is a concatenation of cpio "newc" archives, as the kernel unpacks it: usually an uncompressed
// early archive (CPU microcode), then one compressed main archive (gzip, xz, lzma, zstd, lz4,
// bzip2). The uncompressed archives are walked here, header by header, to find where the next
// one starts; a compressed archive is read with libarchive.
//
// Bounded: the file size, the number of archives and entries, the name length and the bytes
// decompressed (InitramfsLimits); nothing is extracted, only names are kept. Thread safety:
// pure. Errors: kCorrupt naming the archive and offset, kLimitExceeded, kUnsupported for a
// compression libarchive cannot read (lzo without its library, say).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "io/byte_source.h"

namespace ig {

struct InitramfsLimits {
  std::uint64_t max_archives = 16;
  std::uint64_t max_entries = 500'000;
  std::uint64_t max_name_bytes = 4096;
  std::uint64_t max_decompressed_bytes = 4ULL << 30;
};

struct InitramfsArchive {
  std::uint64_t offset = 0;
  std::string compression;  // "none", "gzip", "xz", "lzma", "zstd", "lz4", "bzip2", "lzo", "unknown"
  std::uint64_t entries = 0;
};

struct InitramfsContents {
  std::vector<InitramfsArchive> archives;
  std::set<std::string> modules;  // kernel module names ("virtio_blk"), from *.ko, *.ko.xz, ...
  std::uint64_t entries = 0;
};

// The compression a stream starting with `head` uses, by its magic ("none" for a newc header).
std::string initramfs_compression(std::span<const std::byte> head);

Result<InitramfsContents> scan_initramfs(const ByteSource& file, const InitramfsLimits& limits = {});

// The module name of a path, as modprobe spells it: ".../virtio_blk.ko.zst" -> "virtio_blk";
// "" when the path is not a kernel module (a name of more than 55 bytes is none).
std::string kernel_module_name(std::string_view path);

}  // namespace ig
