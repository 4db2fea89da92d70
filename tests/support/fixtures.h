// The fixture matrix: every format and subformat qemu-img writes, across cluster sizes,
// compression, zero clusters and virtual sizes that are not a multiple of the cluster. Made at
// test time from a patterned sparse raw disk (make_pattern_raw) by qemu-img and qemu-io.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace ig::test {

struct Case {
  std::string name;
  std::string qemu_format;   // qemu's driver name: qcow2, vmdk, vpc, raw
  std::string extension;     // .qcow2, .vmdk, .vhd, .raw
  std::string convert_args;  // extra `qemu-img convert` arguments
  std::uint64_t raw_size;    // size of the pattern disk converted
  std::string qemu_io;       // qemu-io commands applied afterwards (zero clusters and the like)
};

inline std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name;
}

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kOdd = 20 * kMiB + 3 * 512;  // not a multiple of any cluster size

inline const std::vector<Case>& qemu_fixtures() {
  static const std::vector<Case> cases = {
      {"raw_sparse", "raw", ".raw", "", 20 * kMiB, ""},
      {"raw_odd", "raw", ".raw", "", kOdd, ""},
      {"qcow2_v3_64k", "qcow2", ".qcow2", "", 20 * kMiB, ""},
      {"qcow2_v3_512", "qcow2", ".qcow2", "-o cluster_size=512", 20 * kMiB, ""},
      {"qcow2_v3_2m", "qcow2", ".qcow2", "-o cluster_size=2M", 20 * kMiB, ""},
      {"qcow2_v3_odd", "qcow2", ".qcow2", "", kOdd, ""},
      {"qcow2_v2_64k", "qcow2", ".qcow2", "-o compat=0.10", 20 * kMiB, ""},
      {"qcow2_v2_512_odd", "qcow2", ".qcow2", "-o compat=0.10,cluster_size=512", kOdd, ""},
      {"qcow2_zlib_64k", "qcow2", ".qcow2", "-c", 20 * kMiB, ""},
      {"qcow2_zlib_512", "qcow2", ".qcow2", "-c -o cluster_size=512", 20 * kMiB, ""},
      {"qcow2_zlib_2m_odd", "qcow2", ".qcow2", "-c -o cluster_size=2M", kOdd, ""},
      {"qcow2_zstd_64k", "qcow2", ".qcow2", "-c -o compression_type=zstd", 20 * kMiB, ""},
      {"qcow2_zstd_512_odd", "qcow2", ".qcow2", "-c -o compression_type=zstd,cluster_size=512", kOdd, ""},
      {"qcow2_v2_zlib", "qcow2", ".qcow2", "-c -o compat=0.10", 20 * kMiB, ""},
      {"qcow2_zero_clusters", "qcow2", ".qcow2", "", 20 * kMiB, "write -z 0 256k;write -z 5M 1M;write -z 19M 1M"},
      {"qcow2_zero_clusters_512", "qcow2", ".qcow2", "-o cluster_size=512", 20 * kMiB,
       "write -z 4096 8192;write -z 12M 1M"},
      {"qcow2_extended_l2", "qcow2", ".qcow2", "-o extended_l2=on", 20 * kMiB, ""},
      {"qcow2_extended_l2_subclusters", "qcow2", ".qcow2", "-o extended_l2=on,cluster_size=2M", kOdd,
       "write -z 4k 8k;write -P 0x5a 3M 4k;write -z 16M 64k;write -P 0x77 18M 2k"},
      {"qcow2_extended_l2_zstd", "qcow2", ".qcow2", "-c -o extended_l2=on,compression_type=zstd", 20 * kMiB, ""},
      {"qcow2_prealloc_metadata", "qcow2", ".qcow2", "-o preallocation=metadata", 20 * kMiB, ""},
      {"qcow2_lazy_refcounts", "qcow2", ".qcow2", "-o lazy_refcounts=on", 20 * kMiB, "write -P 0x11 2M 64k"},
      {"vmdk_monolithic_sparse", "vmdk", ".vmdk", "", 20 * kMiB, ""},
      {"vmdk_monolithic_sparse_odd", "vmdk", ".vmdk", "", kOdd, ""},
      {"vmdk_zeroed_grain", "vmdk", ".vmdk", "-o zeroed_grain=on", 20 * kMiB, "write -z 0 128k;write -z 6M 1M"},
      {"vmdk_stream_optimized", "vmdk", ".vmdk", "-o subformat=streamOptimized", 20 * kMiB, ""},
      {"vmdk_stream_optimized_odd", "vmdk", ".vmdk", "-o subformat=streamOptimized", kOdd, ""},
      {"vhd_dynamic", "vpc", ".vhd", "", 20 * kMiB, ""},
      {"vhd_dynamic_force_size", "vpc", ".vhd", "-o force_size=on", kOdd, ""},
      {"vhd_fixed", "vpc", ".vhd", "-o subformat=fixed", 20 * kMiB, ""},
      {"vhd_fixed_force_size", "vpc", ".vhd", "-o subformat=fixed,force_size=on", kOdd, ""},
  };
  return cases;
}

// An MBR disk (128 MiB, as raw) whose partition 1 (type 0x8E, from sector 2048) is an LVM2 PV of
// a VG of its own (`vg`: "vgt" + the process id + a counter, so that tests running at the same
// time, in this process or another, never share a name) with one linear LV "root" of 40 MiB in two
// segments stored out of order (LV extents 0-3 on PV extents 10-13, LV extents 4-9 on PV extents
// 0-5; 4 MiB extents). `lv_image`, exactly 40 MiB, becomes the LV's content. Made with pvcreate,
// vgcreate and vgcfgrestore on a loop device (lvcreate needs device-mapper, which these machines
// lack), every LVM command restricted to that device (`--devices`), so that no other PV on the
// machine is scanned. When it cannot be made, `path` is "" and `error` says which command failed
// and what it printed, for the caller's skip message.
struct LvmDisk {
  std::string path;
  std::string vg;
  std::string error;
};
LvmDisk make_lvm_disk(const TempDir& dir, const std::string& lv_image);

// One segment line of `lvs` on that disk, as LVM itself reads the image.
struct LvsSegment {
  std::string lv_name;
  std::uint64_t start_extent = 0;
  std::uint64_t extent_count = 0;
  std::string pe_ranges;  // "/dev/loopN:10-13"
};
// `lvs` of the disk's VG. Lines that are not four fields with numeric extents (warnings, notices)
// are left out; `error` is set when lvs could not run.
struct LvsResult {
  std::vector<LvsSegment> segments;
  std::string error;
};
LvsResult lvs_of(const LvmDisk& disk);

// A file made a one-vdev ZFS pool by Debian's zfs-fuse (tests/support/make-zfs-vdev.sh: the
// daemon is started if none runs, `zpool create` on the file, then `zpool export`), `size`
// bytes (64 MiB is ZFS's smallest vdev). `pool` is unique to the process and call; `zdb` is
// `zdb -l`'s listing of the four labels. When zfs-fuse is not installed or cannot run here,
// `path` is "" and `skip` says why; any other failure fails the test.
struct ZfsVdev {
  std::string path;
  std::string pool;
  std::string zdb;
  std::string skip;
};
ZfsVdev make_zfs_vdev(const TempDir& dir, const std::string& size = "64M");

// Makes `c` in `dir` and returns its path ("image" + extension).
std::string make_fixture(const Case& c, const TempDir& dir);

}  // namespace ig::test
