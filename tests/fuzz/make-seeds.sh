#!/usr/bin/env bash
# Writes small seed images for the fuzz targets into DIR/<target>/, made by qemu-img.
set -euo pipefail
out=$1
mkdir -p "$out"/{qcow2,vhd,vmdk,open_image,partitions,ext,xfs,btrfs,ufs,freebsd,zfs,lvm,initramfs,boot_config,os_release,inspect,rpmdb,kernel_image,ntfs,hive}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 300000 < <(yes 'imagegate seed line') > "$tmp/src.raw"
truncate -s 1M "$tmp/src.raw"
qemu-img convert -f raw -O qcow2 -o cluster_size=512 "$tmp/src.raw" "$out/qcow2/plain.qcow2"
qemu-img convert -c -f raw -O qcow2 -o cluster_size=4096 "$tmp/src.raw" "$out/qcow2/zlib.qcow2"
qemu-img convert -c -f raw -O qcow2 -o cluster_size=16384,compression_type=zstd,extended_l2=on "$tmp/src.raw" "$out/qcow2/zstd-l2.qcow2"
qemu-img convert -f raw -O qcow2 -o compat=0.10,cluster_size=1024 "$tmp/src.raw" "$out/qcow2/v2.qcow2"
# A snapshot: the metadata check parses its table and walks its L1 (shared L2s, refcount 2).
qemu-img convert -f raw -O qcow2 -o cluster_size=4096,refcount_bits=8 "$tmp/src.raw" "$out/qcow2/snapshot.qcow2"
qemu-img snapshot -c s1 "$out/qcow2/snapshot.qcow2"
qemu-img convert -f raw -O vpc -o force_size=on "$tmp/src.raw" "$out/vhd/dynamic.vhd"
qemu-img convert -f raw -O vpc -o subformat=fixed "$tmp/src.raw" "$out/vhd/fixed.vhd"
qemu-img convert -f raw -O vmdk "$tmp/src.raw" "$out/vmdk/sparse.vmdk"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$tmp/src.raw" "$out/vmdk/stream.vmdk"
cp "$out"/qcow2/* "$out"/vhd/* "$out"/vmdk/* "$out/open_image/"
# Partition tables: the first 64 KiB and last 64 KiB of small disks (GPT keeps a backup at the end).
truncate -s 4M "$tmp/mbr.raw" "$tmp/gpt.raw"
printf 'label: dos\n,1M,83,*\n,+,5\n,1M,82\n,,83\n' | sfdisk -q "$tmp/mbr.raw"
head -c 1M "$tmp/mbr.raw" > "$out/partitions/mbr-logical.bin"
sgdisk -n 1:2048:+1M -t 1:8300 -n 2:0:0 -t 2:ef00 "$tmp/gpt.raw" > /dev/null  # (sgdisk -q means quit)
cp "$tmp/gpt.raw" "$out/partitions/gpt.bin"
# Small ext file systems with a tree (1 KiB blocks keep them small).
mkdir -p "$tmp/tree/etc" "$tmp/tree/d"
echo 'ID=debian' > "$tmp/tree/etc/os-release"
ln -s /etc/os-release "$tmp/tree/link"
for i in $(seq 1 40); do echo "$i" > "$tmp/tree/d/f$i"; done
mke2fs -q -F -t ext4 -b 1024 -d "$tmp/tree" "$out/ext/ext4.img" 1M
mke2fs -q -F -t ext2 -b 1024 -d "$tmp/tree" "$out/ext/ext2.img" 1M
mke2fs -q -F -t ext4 -b 1024 -O inline_data -d "$tmp/tree" "$out/ext/inline.img" 1M
# XFS needs 300 MB; its first MiB holds the superblock, the AG 0 headers and the root inodes.
printf '/dev/null\n0 0\nd--755 0 0\netc d--755 0 0\nos-release ---644 0 0 %s\n$\nlink l--777 0 0 /etc/os-release\n$\n' \
  "$tmp/tree/etc/os-release" > "$tmp/xfs.proto"
truncate -s 300M "$tmp/xfs.img"
mkfs.xfs -q -f -p "$tmp/xfs.proto" "$tmp/xfs.img"
head -c 1M "$tmp/xfs.img" > "$out/xfs/v5.img"
mkfs.xfs -q -f -m crc=0 -p "$tmp/xfs.proto" "$tmp/xfs.img" 2> /dev/null
head -c 1M "$tmp/xfs.img" > "$out/xfs/v4.img"
# btrfs (mixed data and metadata, 4 KiB nodes, shrunk): the fuzz target reads its input as a block
# map of a 32 MiB device (block_map.py keeps the blocks that are not zeros: about 120 KiB).
if command -v mkfs.btrfs > /dev/null; then
  truncate -s 120M "$tmp/btrfs.img"
  mkfs.btrfs -q -f --mixed --nodesize 4096 --sectorsize 4096 --rootdir "$tmp/tree" --shrink "$tmp/btrfs.img" > /dev/null 2>&1
  "$(dirname "$0")/block_map.py" "$tmp/btrfs.img" "$out/btrfs/mixed.img"
fi
# UFS2 by makefs (4 KiB blocks, 512-byte fragments keep it small): a 60 KiB file reaches the single
# indirect block; a symlink of 150 bytes is a slow one, kept in a block.
if command -v makefs > /dev/null; then
  mkdir -p "$tmp/ufstree"
  cp -r "$tmp/tree/." "$tmp/ufstree/"
  head -c 61440 < <(yes 'ufs seed') > "$tmp/ufstree/indirect.bin"
  ln -s "$(printf 'x%.0s' $(seq 1 150))/../etc/os-release" "$tmp/ufstree/slow-link"
  makefs -t ffs -o version=2,bsize=4096,fsize=512 -s 1m "$out/ufs/ufs2.img" "$tmp/ufstree" > /dev/null
  # A FreeBSD root for the inspector: the files it reads, the kernel holding the strings it
  # searches for (docs/inspect.md), small.
  b="$tmp/bsdtree"
  mkdir -p "$b/bin" "$b/etc" "$b/boot/kernel" "$b/boot/loader.conf.d" "$b/usr/local/bin" \
    "$b/usr/local/lib/python3.11/site-packages/cloudinit" "$b/root/bsd-cloudinit"
  printf 'set -e\nUSERLAND_VERSION="14.1-RELEASE-p5"\n' > "$b/bin/freebsd-version"
  printf 'NAME=FreeBSD\nVERSION_ID="14.1"\nID=freebsd\n' > "$b/etc/os-release"
  printf '@(#)FreeBSD 14.1-RELEASE-p5 GENERIC\n\0virtio_pci/virtio_blk\0virtio_pci/vtnet\0pci/virtio_pci_modern\0' \
    > "$b/boot/kernel/kernel"
  printf 'kernel="kernel"\nvirtio_blk_load="YES"\nmodule_path="/boot/modules;/boot/kernel"\n' > "$b/boot/loader.conf"
  printf 'if_vtnet_load="YES"\n' > "$b/boot/loader.conf.d/virtio.conf"
  printf 'ELF' > "$b/boot/kernel/virtio_blk.ko"
  printf 'cloudinit_enable="YES"\n' > "$b/etc/rc.conf"
  printf '/root/bsd-cloudinit/run.py\n' > "$b/etc/rc.local"
  : > "$b/root/bsd-cloudinit/run.py"
  printf '#!/usr/local/bin/python3.11\n' > "$b/usr/local/bin/cloud-init"
  printf '__VERSION__ = "24.1.4"\n' > "$b/usr/local/lib/python3.11/site-packages/cloudinit/version.py"
  makefs -t ffs -o version=2,bsize=4096,fsize=512 -s 1m "$out/freebsd/root.img" "$b" > /dev/null
fi
# Kernel images: an arm64 Image header (Documentation/arm64/booting.rst) raw, through gzip, and
# inside an EFI zboot header; a bzImage setup header (boot protocol 2.10) around a gzip payload.
python3 - "$out/kernel_image" << 'PY'
import gzip, struct, sys
d = sys.argv[1]
image = bytearray(16384)
image[0:2] = b"MZ"
struct.pack_into("<QQQ", image, 8, 0, len(image), 2)
image[56:64] = b"ARM\x64" + struct.pack("<I", 0x40)
open(d + "/arm64.Image", "wb").write(image)
gz = gzip.compress(bytes(image), 9, mtime=0)
open(d + "/arm64.Image.gz", "wb").write(gz)
zboot = bytearray(4096)
struct.pack_into("<I4sII", zboot, 0, 0x5A4D, b"zimg", 4096, len(gz))
zboot[24:28] = b"gzip"
struct.pack_into("<II", zboot, 0x38, 0x818223CD, 0x40)
zboot[0x40:0x46] = b"PE\0\0" + struct.pack("<H", 0xAA64)
open(d + "/zboot.efi", "wb").write(bytes(zboot) + gz)
setup = bytearray(5 * 512 + 0x100)
setup[0x1F1] = 4
struct.pack_into("<H", setup, 0x1FE, 0xAA55)
setup[0x202:0x206] = b"HdrS"
struct.pack_into("<H", setup, 0x206, 0x020A)
elf = gzip.compress(b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HH", 2, 0x3E) + bytes(40), 9, mtime=0)
struct.pack_into("<II", setup, 0x248, 0x100, len(elf))
open(d + "/bzImage", "wb").write(bytes(setup) + elf)
PY
# ZFS (zfs-fuse, when installed and run as root): a pool's first two labels, and label 0's nvlist.
if "$(dirname "$0")/../support/make-zfs-vdev.sh" "$tmp/zfs.vdev" 64M igzfsseed > /dev/null; then
  head -c 524288 "$tmp/zfs.vdev" > "$out/zfs/labels01.bin"
  dd if="$tmp/zfs.vdev" of="$out/zfs/nvlist.bin" bs=1024 skip=16 count=112 status=none
fi
# A FreeBSD MBR slice (type 0xA5) with a BSD disklabel at its sector 1: 'a' 4.2BSD, 'b' swap, 'c' raw.
truncate -s 2M "$tmp/bsd.raw"
printf 'label: dos\nstart=64, size=4032, type=a5\n' | sfdisk -q "$tmp/bsd.raw"
python3 - "$tmp/bsd.raw" << 'PY'
import struct, sys
label = bytearray(512)
struct.pack_into('<I', label, 0, 0x82564557)                   # d_magic
struct.pack_into('<I', label, 40, 512)                         # d_secsize
struct.pack_into('<I', label, 132, 0x82564557)                 # d_magic2
struct.pack_into('<H', label, 138, 8)                          # d_npartitions
for i, (size, offset, fstype) in enumerate([(2048, 16, 7), (1968, 2064, 1), (4032, 0, 0)]):
    struct.pack_into('<IIIBBH', label, 148 + 16 * i, size, offset, 0, fstype, 0, 0)
checksum = 0
for i in range(0, 148 + 8 * 16, 2):
    checksum ^= struct.unpack_from('<H', label, i)[0]
struct.pack_into('<H', label, 136, checksum)                   # d_checksum: the XOR comes to zero
with open(sys.argv[1], 'r+b') as f:
    f.seek(65 * 512)
    f.write(label)
PY
head -c 64K "$tmp/bsd.raw" > "$out/partitions/mbr-bsdlabel.bin"
# An LVM2 PV with a VG: label and metadata area are in its first MiB (needs a loop device: root),
# kept up to its last non-zero byte.
truncate -s 64M "$tmp/pv.raw"
if loop=$(losetup -f --show "$tmp/pv.raw" 2> /dev/null); then
  opts=(--devicesfile '' --config 'backup { backup=0 archive=0 }')
  LVM_SUPPRESS_FD_WARNINGS=1 pvcreate -q -y "${opts[@]}" "$loop" > /dev/null 2>&1 &&
    LVM_SUPPRESS_FD_WARNINGS=1 vgcreate -q "${opts[@]}" vgseed "$loop" > /dev/null 2>&1 || true
  losetup -d "$loop"
  head -c 1M "$tmp/pv.raw" | python3 -c 'import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().rstrip(b"\0"))' \
    > "$out/lvm/pv.bin"  # the target pads it back to 64 MiB
fi
# The same as metadata text alone, written here with a linear LV in two segments; its PV's id is
# the one fuzz_lvm.cc reads as its own.
cat > "$out/lvm/metadata.txt" << 'EOF'
vgseed {
id = "Fuzz00-0000-0000-0000-0000-0000-000000"
seqno = 2
format = "lvm2"
status = ["RESIZEABLE", "READ", "WRITE"]
extent_size = 8192
max_lv = 0
max_pv = 0
physical_volumes {
pv0 {
id = "FuzzPV-0000-0000-0000-0000-0000-000000"
device = "/dev/loop0"
status = ["ALLOCATABLE"]
dev_size = 131072
pe_start = 2048
pe_count = 15
}
}
logical_volumes {
root {
id = "FuzzLV-0000-0000-0000-0000-0000-000000"
status = ["READ", "WRITE", "VISIBLE"]
segment_count = 2
segment1 {
start_extent = 0
extent_count = 2
type = "striped"
stripe_count = 1
stripes = ["pv0", 0]
}
segment2 {
start_extent = 2
extent_count = 1
type = "striped"
stripe_count = 1
stripes = ["pv0", 5]
}
}
}
}
EOF
# Initramfs: an early newc cpio, then the main one compressed by each tool the kernel knows.
(cd "$tmp/tree" && find . | LC_ALL=C sort | cpio -o -H newc --quiet > "$tmp/early.cpio")
cp "$tmp/early.cpio" "$out/initramfs/plain.cpio"
n=0
for z in "gzip -c" "xz --check=crc32 -c" "zstd -q -c" "lz4 -l -q -c" "bzip2 -c" "xz --format=lzma -c"; do
  n=$((n + 1))
  { cat "$tmp/early.cpio"; $z "$tmp/early.cpio"; } > "$out/initramfs/$n-${z%% *}.img"
done
# Release files; the first byte picks the parser: 14 (one past the legacy files) os-release, else
# the legacy file at that index of kLegacyReleaseFiles (inspect/os_release.h).
printf '\016PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n# c\nX="a\\"b\\$c"\nY=\x27single\x27\n' \
  > "$out/os_release/os-release"
printf '\016ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\nNAME="Rocky Linux"\n' > "$out/os_release/rocky"
printf '\002Kylin Linux Advanced Server release V10 (Halberd)\n' > "$out/os_release/kylin-release"
printf '\010Red Hat Enterprise Linux Server release 7.9 (Maipo)\n' > "$out/os_release/redhat-release"
printf '\012SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n' > "$out/os_release/SuSE-release"
printf '\014DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=14.04\n' > "$out/os_release/lsb-release"
printf '\015bookworm/sid\n' > "$out/os_release/debian_version"
# A whole disk for the inspection: a bare ext4 root of a Debian-shaped guest holding every file
# the Linux inspector reads (os-release, fstab, /bin/sh's ELF header, grub.cfg, a kernel with its
# config, modules and an initramfs, the dpkg database naming cloud-init), bare and partitioned,
# each cut after its last non-zero byte (the target pads the disk to 8 MiB).
g="$tmp/guest"
v=6.1.0-13-amd64
m="$g/usr/lib/modules/$v/kernel/drivers"
mkdir -p "$g/etc/cloud" "$g/usr/bin" "$g/boot/grub" "$g/var/lib/dpkg" "$m/block" "$m/virtio" "$g/initrd/usr/lib/modules"
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' \
  > "$g/etc/os-release"
printf 'UUID=0a1b / ext4 errors=remount-ro 0 1\n/dev/sr0 /media/cdrom0 udf,iso9660 user,noauto 0 0\n' > "$g/etc/fstab"
# ELF64, little-endian, x86-64 (e_machine 62): all the architecture check reads.
printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\003\000\076\000' > "$g/usr/bin/dash"
ln -s dash "$g/usr/bin/sh"
ln -s usr/bin "$g/bin"
ln -s usr/lib "$g/lib"
printf '#!/usr/bin/python3\n' > "$g/usr/bin/cloud-init"
printf 'datasource_list: [ NoCloud ]\n' > "$g/etc/cloud/cloud.cfg"
printf 'Package: dash\nStatus: install ok installed\nVersion: 0.5.12-2\n\nPackage: cloud-init\nStatus: install ok installed\nVersion: 22.4.2-1\n\n' \
  > "$g/var/lib/dpkg/status"
cp "$out/kernel_image/bzImage" "$g/boot/vmlinuz-$v"
printf 'CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=y\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO=y\n' > "$g/boot/config-$v"
for k in block/virtio_blk virtio/virtio_pci; do printf 'module' > "$m/$k.ko"; done
printf 'kernel/drivers/block/virtio_blk.ko:\nkernel/drivers/virtio/virtio_pci.ko:\n' > "$g/usr/lib/modules/$v/modules.dep"
printf 'kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_ring.ko\n' > "$g/usr/lib/modules/$v/modules.builtin"
cp -r "$g/usr/lib/modules/$v" "$g/initrd/usr/lib/modules/"
(cd "$g/initrd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9 -c) > "$g/boot/initrd.img-$v"
rm -r "$g/initrd"
printf 'set default="0"\nmenuentry '"'"'Debian GNU/Linux'"'"' {\n\tlinux\t/boot/vmlinuz-%s root=UUID=0a1b ro quiet\n\tinitrd\t/boot/initrd.img-%s\n}\n' \
  "$v" "$v" > "$g/boot/grub/grub.cfg"
mke2fs -q -F -t ext4 -b 1024 -N 64 -d "$g" "$tmp/guest.img" 256K  # small: its data then sits in the first 70 KiB
# The same file system as the one partition of an MBR disk, at sector 63 (DOS's old alignment,
# which keeps the disk small).
truncate -s 1M "$tmp/guest-disk.img"
printf 'label: dos\n63,512,83,*\n' | sfdisk -q "$tmp/guest-disk.img" 2> /dev/null
dd if="$tmp/guest.img" of="$tmp/guest-disk.img" bs=512 seek=63 conv=notrunc status=none
for f in guest guest-disk; do
  python3 -c 'import sys; sys.stdout.buffer.write(open(sys.argv[1], "rb").read().rstrip(b"\0"))' "$tmp/$f.img" \
    > "$out/inspect/debian-$f.img"
done
# Boot configuration text; the first byte picks the parser (0 fstab, 1 grub.cfg, 2 BLS, 3 menu.lst).
printf '\000UUID=0a1b / ext4 defaults 0 1\nLABEL=boot /boot ext4 defaults 0 2\n/dev/mapper/vg--a-usr /usr xfs defaults\n' \
  > "$out/boot_config/fstab"
printf "\001set default=\"0\"\nmenuentry 'A' --id a {\n linux /vmlinuz-1 ro\n initrd /initrd.img-1\n}\nsubmenu 'S' {\n menuentry 'B' {\n  linux /vmlinuz-2\n }\n}\n" \
  > "$out/boot_config/grub.cfg"
printf '\002title T\nversion 5.14\nlinux /vmlinuz-5.14\ninitrd /initramfs-5.14.img\n' > "$out/boot_config/bls.conf"
printf '\003default=0\ntitle C\n\tkernel /vmlinuz-2.6.32 ro\n\tinitrd /initramfs-2.6.32.img\n' > "$out/boot_config/menu.lst"
# An rpm database (rpm 4.18, SQLite) holding cloud-init, made by rpmbuild and rpm --justdb.
if command -v rpmbuild > /dev/null; then
  mkdir -p "$tmp/rpm/root/var/lib/rpm"
  printf 'Name: cloud-init\nVersion: 23.4\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\n%%description\nd\n%%files\n' \
    > "$tmp/rpm/ci.spec"
  rpmbuild --quiet --define "_topdir $tmp/rpm/top" -bb "$tmp/rpm/ci.spec" > /dev/null 2>&1
  rpm --root "$tmp/rpm/root" --dbpath /var/lib/rpm --initdb
  rpm --root "$tmp/rpm/root" --dbpath /var/lib/rpm -i --nodeps --justdb --noscripts "$tmp"/rpm/top/RPMS/noarch/*.rpm 2> /dev/null
  cp "$tmp/rpm/root/var/lib/rpm/rpmdb.sqlite" "$out/rpmdb/"
fi
# NTFS: the smallest volume mkntfs makes, filled by wimlib (a directory with an index block).
if command -v wimlib-imagex > /dev/null; then
  mkdir -p "$tmp/ntfs/Windows/System32"
  for i in $(seq 1 60); do echo "$i" > "$tmp/ntfs/Windows/System32/file-$i.dll"; done
  head -c 5000 < <(yes 'ntoskrnl') > "$tmp/ntfs/Windows/System32/ntoskrnl.exe"
  wimlib-imagex capture "$tmp/ntfs" "$tmp/ntfs.wim" --no-acls > /dev/null
  truncate -s 2M "$out/ntfs/small.ntfs"
  mkntfs -q -F -f -c 512 "$out/ntfs/small.ntfs" > /dev/null 2>&1
  wimlib-imagex apply "$tmp/ntfs.wim" 1 "$out/ntfs/small.ntfs" > /dev/null 2>&1
fi
# Registry hives: hivex's corpus images, and one grown by hivexregedit from a corpus .reg dump.
corpus="${IG_SHARED_DIR:-$(dirname "$0")/../../../shared}/corpus"
if [ -d "$corpus/hivex/images" ]; then
  cp "$corpus"/hivex/images/* "$corpus"/libguestfs/guest-aux-2013/* "$out/hive/"
  if command -v hivexregedit > /dev/null; then
    cp "$corpus/hivex/images/minimal" "$out/hive/w2k22" && chmod u+w "$out/hive/w2k22"
    hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SOFTWARE' "$out/hive/w2k22" \
      "$corpus/virt-v2v/test-data/phony-guests/win2k22-software.reg"
  fi
fi
echo "seeds in $out"
