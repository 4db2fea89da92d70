// Limits: the one place that bounds what untrusted metadata may make imagegate do.
//
// Every table size, metadata allocation, decompressed byte count and chain length that an image
// controls is checked against a field here before memory is allocated or a loop runs. Going past
// one is kLimitExceeded, naming the structure and both numbers. The defaults are generous for
// real images (a 2 TiB qcow2 with 512-byte clusters has a 32 MiB L1 table) and small enough that
// a hostile image cannot make a worker use more than a few hundred MiB.
// Thread safety: a plain value.
#pragma once

#include <cstdint>

namespace ig {

struct Limits {
  // The largest guest disk any format may describe (the cloud's own cap is 500 GiB; `info` still
  // reports images up to this size so that the rule, not the reader, refuses them).
  std::uint64_t max_virtual_size_bytes = std::uint64_t{64} << 40;  // 64 TiB
  // One top-level table read whole into memory: qcow2 L1, VHD BAT, VMDK grain directory.
  std::uint64_t max_table_bytes = std::uint64_t{32} << 20;  // 32 MiB, qemu's QCOW_MAX_L1_SIZE
  // Second-level tables (qcow2 L2, VMDK grain tables) kept in memory at once.
  std::uint64_t max_metadata_cache_bytes = std::uint64_t{32} << 20;
  // Output of one compressed cluster or grain; the format's cluster size is the real bound,
  // this caps what a header may claim.
  std::uint64_t max_cluster_bytes = std::uint64_t{2} << 20;  // qcow2's largest cluster
  // Bytes of a VMDK embedded descriptor or other text metadata.
  std::uint64_t max_descriptor_bytes = std::uint64_t{1} << 20;
  // Header extensions a qcow2 header may carry.
  std::uint32_t max_header_extensions = 64;

  // Budgets of the qcow2 metadata check (docs/formats/qcow2.md, "Metadata check"), which counts
  // the references to every cluster of the file as `qemu-img check` does before anything is read
  // through the image. Its work and memory grow with the file, never with the virtual size.
  // Entries walked: the file's clusters (one counter each, 4 bytes), L1, L2 and refcount table
  // entries, snapshot table entries.
  std::uint64_t max_metadata_entries = std::uint64_t{1} << 26;
  // Distinct L2 tables, active and in snapshots (a 500 GiB disk of 64 KiB clusters has 1000).
  std::uint64_t max_l2_tables = std::uint64_t{1} << 22;
  // Guest data a conversion may produce. Below this cap, a qcow2's output budget is its
  // allocated clusters, each counted once however many guest clusters map it.
  std::uint64_t max_output_bytes = std::uint64_t{64} << 40;  // 64 TiB

  // The sandbox (src/sandbox) that every parse of an untrusted image runs in: a child process
  // whose end past one of these budgets is a named outcome, never a hang (docs/security.md).
  // Memory the child may hold: its address space (RLIMIT_AS) in a plain build, its resident set
  // (watched by the parent) in every build, the only bound under ASan, whose shadow reserves
  // terabytes of address space.
  std::uint64_t sandbox_memory_bytes = std::uint64_t{4} << 30;
  // CPU seconds of the child, all its threads together (RLIMIT_CPU).
  std::uint64_t sandbox_cpu_seconds = 3600;
  // Seconds from the fork to the child's end (the parent's watchdog).
  std::uint64_t sandbox_wall_seconds = 7200;
  // The largest file the child may write (RLIMIT_FSIZE): the converted image. A conversion's
  // output cannot be larger than the cloud's 500 GiB disk, plus its qcow2 metadata.
  std::uint64_t sandbox_output_bytes = std::uint64_t{512} << 30;
  // What the child sends back: its result and the text it prints.
  std::uint64_t sandbox_result_bytes = std::uint64_t{16} << 20;
};

}  // namespace ig
