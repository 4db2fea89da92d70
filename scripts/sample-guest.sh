#!/usr/bin/env bash
# Makes a sample Linux system disk, as a user would upload it: MBR, one ext4 root partition
# holding a Debian 12 layout — os-release, fstab, a kernel with its config, modules and an
# initramfs (early microcode cpio + zstd cpio) carrying the virtio drivers, GRUB 2's grub.cfg,
# cloud-init installed (dpkg) — then written as a VMDK streamOptimized, VMware's export format.
# It satisfies every import rule; it does not boot (the kernel and modules are placeholders).
# With --no-virtio the kernel is built without virtio and no virtio module is on the disk or in
# the initramfs: the import fails VirtioNotInstall.
#   scripts/sample-guest.sh [--no-virtio] OUT.vmdk
set -euo pipefail
virtio=yes
if [ "${1:-}" = --no-virtio ]; then
  virtio=no
  shift
fi
out=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
kernel=6.1.0-13-amd64
uuid=6a3a3c6e-7d4b-4e61-9d2b-5f7c0e1a2b3c
mkdir -p "$root"/{etc/cloud,usr/bin,usr/lib/modules,boot/grub,var/lib/dpkg,usr/lib/python3/dist-packages/cloudinit}
cat > "$root/usr/lib/os-release" <<OS
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
OS
ln -s ../usr/lib/os-release "$root/etc/os-release"
cp /usr/bin/dash "$root/usr/bin/dash"
ln -s dash "$root/usr/bin/sh"
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
printf 'UUID=%s / ext4 errors=remount-ro 0 1\n' "$uuid" > "$root/etc/fstab"
printf '#!/usr/bin/python3\n' > "$root/usr/bin/cloud-init"
printf 'datasource_list: [ ConfigDrive, None ]\n' > "$root/etc/cloud/cloud.cfg"
printf 'Package: cloud-init\nStatus: install ok installed\nVersion: 22.4.2-1\n\n' > "$root/var/lib/dpkg/status"
# The kernel, its configuration and its modules.
head -c 8192 /dev/urandom > "$root/boot/vmlinuz-$kernel"
if [ "$virtio" = yes ]; then
  printf 'CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=m\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO=m\n' > "$root/boot/config-$kernel"
  mods="kernel/drivers/block/virtio_blk.ko kernel/drivers/net/virtio_net.ko kernel/drivers/virtio/virtio_pci.ko
        kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko"
else
  printf 'CONFIG_EXT4_FS=m\n# CONFIG_VIRTIO_BLK is not set\n# CONFIG_VIRTIO_NET is not set\n' > "$root/boot/config-$kernel"
  mods="kernel/fs/ext4/ext4.ko"
fi
for m in $mods; do
  mkdir -p "$(dirname "$root/usr/lib/modules/$kernel/$m")"
  echo "module $m" > "$root/usr/lib/modules/$kernel/$m"
  echo "$m:" >> "$root/usr/lib/modules/$kernel/modules.dep"
  mkdir -p "$(dirname "$work/initramfs/main/usr/lib/modules/$kernel/$m")"
  echo module > "$work/initramfs/main/usr/lib/modules/$kernel/$m"
done
: > "$root/usr/lib/modules/$kernel/modules.builtin"
mkdir -p "$work/initramfs/early/kernel/x86/microcode"
echo microcode > "$work/initramfs/early/kernel/x86/microcode/AuthenticAMD.bin"
printf '#!/bin/sh\n' > "$work/initramfs/main/init"
(cd "$work/initramfs/early" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$root/boot/initrd.img-$kernel"
(cd "$work/initramfs/main" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -q -c) >> "$root/boot/initrd.img-$kernel"
cat > "$root/boot/grub/grub.cfg" <<GRUB
set default="0"
menuentry 'Debian GNU/Linux, with Linux $kernel' --class debian {
	linux	/boot/vmlinuz-$kernel root=UUID=$uuid ro quiet
	initrd	/boot/initrd.img-$kernel
}
GRUB
# The disk: 2 GiB, MBR, the root file system from 1 MiB.
mke2fs -q -F -t ext4 -U "$uuid" -L rootfs -d "$root" "$work/root.ext4" 256M > /dev/null
truncate -s 2G "$work/disk.raw"
printf 'label: dos\nstart=2048,type=83,bootable\n' | sfdisk -q "$work/disk.raw"
dd if="$work/root.ext4" of="$work/disk.raw" bs=1M seek=1 conv=notrunc status=none
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$work/disk.raw" "$out"
