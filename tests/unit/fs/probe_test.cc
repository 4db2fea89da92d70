// Every kind of volume a disk image may carry, made by its own tool, must be named.
#include "fs/probe.h"

#include <unistd.h>

#include "support/test_support.h"

namespace ig::test {
namespace {

struct Made {
  std::string name;
  std::string make;  // writes $V (a 320 MiB sparse file already exists there)
  VolumeKind kind;
};

TEST(Identify, EveryVolumeKindFromItsOwnTool) {
  const std::vector<Made> cases = {
      {"ext4", "mkfs.ext4 -q -F $V", VolumeKind::kExt},
      {"ext2", "mkfs.ext2 -q -F $V", VolumeKind::kExt},
      {"xfs", "mkfs.xfs -q -f $V", VolumeKind::kXfs},
      {"btrfs", "mkfs.btrfs -q -f $V", VolumeKind::kBtrfs},
      {"swap", "mkswap $V", VolumeKind::kSwap},
      {"vfat", "mkfs.vfat $V", VolumeKind::kFat},
      {"fat16", "mkfs.vfat -F 16 $V", VolumeKind::kFat},
      {"ntfs", "mkntfs -q -F -f $V", VolumeKind::kNtfs},
      {"exfat", "mkfs.exfat $V", VolumeKind::kExfat},
      {"iso", "genisoimage -quiet -o $V /etc/hostname", VolumeKind::kIso9660},
      // pvcreate wants a block device: a loop device over the file (root only; skipped otherwise).
      {"lvm2",
       "d=$(losetup -f --show $V) && LVM_SUPPRESS_FD_WARNINGS=1 pvcreate -q -ff -y --devices $d $d; "
       "r=$?; losetup -d $d; exit $r",
       VolumeKind::kLvm2Pv},
      {"luks", "echo -n pw | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 $V -",
       VolumeKind::kLuks},
      {"zeros", "true", VolumeKind::kUnknown},
  };
  TempDir dir;
  for (const Made& m : cases) {
    const std::string v = dir.file(m.name + ".img");
    run_ok("truncate -s 320M " + v);
    std::string cmd = m.make;
    for (auto pos = cmd.find("$V"); pos != std::string::npos; pos = cmd.find("$V")) cmd.replace(pos, 2, v);
    const CommandResult r = run(cmd);
    if (m.kind == VolumeKind::kLvm2Pv && r.exit_code != 0 && getuid() != 0) continue;  // no loop devices
    if (r.exit_code != 0) {
      ADD_FAILURE() << m.name << ": " << cmd << "\n" << r.out;
      continue;
    }
    auto file = FileSource::open(v);
    ASSERT_THAT(file, IsOk());
    auto id = identify(**file);
    ASSERT_THAT(id, IsOk());
    EXPECT_EQ(id->kind, m.kind) << m.name << " identified as " << id->name;
    std::filesystem::remove(v);
  }
}

TEST(Identify, TinyVolumesAreUnknownNotErrors) {
  MemorySource empty(std::vector<std::byte>(10));
  auto id = identify(empty);
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->kind, VolumeKind::kUnknown);
}

}  // namespace
}  // namespace ig::test
