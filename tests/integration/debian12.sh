#!/usr/bin/env bash
# The Debian 12 tier: a real installed system, made with debootstrap from Debian's mirror
# (linux-image-amd64, initramfs-tools, cloud-init), exported as an MBR qcow2 disk, judged by
# `imagegate check` and, for distribution, version and architecture, by virt-inspector.
#
#   tests/integration/debian12.sh IMAGEGATE [WORKDIR]
#
# Cases, each asserting the verdict and the exact cause:
#   1. the system as debootstrap installed it, plus fstab and a GRUB menu: it imports;
#   2. virt-inspector agrees on distro, version and architecture (skipped without libguestfs);
#   3. its initramfs rebuilt by update-initramfs with MODULES=list and no virtio listed:
#      VirtioNotInstall, virtio_blk on the disk but not in the initramfs;
#   4. cloud-init disabled: CloudInitNotInstalled; imports with --force.
# The debootstrap root is cached in WORKDIR (default build/debian12) and reused; WORKDIR/debian12.qcow2
# (case 1's image) stays for bench/check_bench.sh.
set -euo pipefail
imagegate=$(realpath "$1")
work=$(realpath -m "${2:-build/debian12}")
mkdir -p "$work"
root="$work/root"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

fail() { echo "debian12: FAIL: $*" >&2; exit 1; }

if [ ! -e "$root/.complete" ]; then
  rm -rf "$root"
  echo "debian12: debootstrap bookworm into $root (about 3 minutes)"
  # python3-cffi-backend: debootstrap does not resolve the virtual package cloud-init's
  # dependency python3-cryptography needs.
  debootstrap --variant=minbase --cache-dir="$work/cache" \
    --include=linux-image-amd64,initramfs-tools,cloud-init,python3-cffi-backend,systemd-sysv \
    bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
  touch "$root/.complete"
fi
kver=$(basename "$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)" | sed 's/^vmlinuz-//')
echo "debian12: kernel $kver"

uuid=5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
# What the installer adds and debootstrap does not: the root in fstab, and GRUB's menu in the
# shape grub-mkconfig writes (grub-mkconfig itself needs the root mounted on a real device).
printf 'UUID=%s / ext4 errors=remount-ro 0 1\n' "$uuid" > "$root/etc/fstab"
mkdir -p "$root/boot/grub"
cat > "$root/boot/grub/grub.cfg" <<GRUB
if [ "\${next_entry}" ] ; then
   set default="\${next_entry}"
else
   set default="0"
fi
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux \$menuentry_id_option 'gnulinux-simple-$uuid' {
	insmod part_msdos
	insmod ext2
	search --no-floppy --fs-uuid --set=root $uuid
	linux	/boot/vmlinuz-$kver root=UUID=$uuid ro quiet
	initrd	/boot/initrd.img-$kver
}
GRUB

# make_disk OUT: the tree as partition 1 of an MBR disk, as qcow2.
make_disk() {
  local out=$1 raw="$work/disk.raw" part="$work/part.ext4"
  rm -f "$raw" "$part" "$out"
  truncate -s 2G "$raw"
  printf 'label: dos\nstart=2048,type=83,bootable\n' | sfdisk -q "$raw"
  mke2fs -q -F -t ext4 -U "$uuid" -L debroot -E root_owner=0:0 -d "$root" "$part" 2045M > /dev/null 2>&1
  dd if="$part" of="$raw" bs=1M seek=1 conv=notrunc,sparse status=none
  qemu-img convert -f raw -O qcow2 "$raw" "$out"
  rm -f "$raw" "$part"
}

json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# 1. As installed.
image="$work/debian12.qcow2"
make_disk "$image"
"$imagegate" check --output=json "$image" > "$work/check.json" || { cat "$work/check.json"; fail "the installed system should import"; }
[ "$(json_get "$work/check.json" "d['result']")" = pass ] || fail "result is not pass"
[ "$(json_get "$work/check.json" "d['os']['distribution']")" = debian ] || fail "distribution"
[ "$(json_get "$work/check.json" "d['os']['version']")" = 12 ] || fail "version"
[ "$(json_get "$work/check.json" "d['os']['architecture']")" = x86_64 ] || fail "architecture"
[ "$(json_get "$work/check.json" "[k['version'] for k in d['os']['kernels'] if k['default']][0]")" = "$kver" ] ||
  fail "default kernel"
[ "$(json_get "$work/check.json" "d['os']['kernels'][-1]['virtio']['virtio_blk']['in-initramfs']")" = True ] ||
  fail "virtio_blk should be in Debian's initramfs"
[ "$(json_get "$work/check.json" "d['os']['cloud-init']['enabled']")" = True ] || fail "cloud-init"
echo "debian12: 1. installed system: pass ($(json_get "$work/check.json" "d['os']['kernels'][-1]['initramfs-archives']"))"

# 2. virt-inspector, the libguestfs oracle, on the same image.
if command -v virt-inspector > /dev/null; then
  mkdir -p /lib/modules
  export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
  export SUPERMIN_KERNEL="$root/boot/vmlinuz-$kver" SUPERMIN_MODULES="$root/lib/modules/$kver"
  virt-inspector --format=qcow2 -a "$image" > "$work/inspector.xml" 2> "$work/inspector.log" ||
    { tail -20 "$work/inspector.log" >&2; fail "virt-inspector failed"; }
  xml() { python3 -c "import sys,xml.etree.ElementTree as E; print(E.parse(sys.argv[1]).getroot().find('operatingsystem/'+sys.argv[2]).text)" "$work/inspector.xml" "$1"; }
  [ "$(xml distro)" = "$(json_get "$work/check.json" "d['os']['distribution']")" ] || fail "distro: virt-inspector says $(xml distro)"
  [ "$(xml major_version)" = "$(json_get "$work/check.json" "d['os']['version']")" ] || fail "version: virt-inspector says $(xml major_version)"
  [ "$(xml arch)" = "$(json_get "$work/check.json" "d['os']['architecture']")" ] || fail "arch: virt-inspector says $(xml arch)"
  echo "debian12: 2. virt-inspector agrees: $(xml distro) $(xml major_version) $(xml arch)"
else
  echo "debian12: 2. skipped: virt-inspector is not installed (libguestfs-tools)"
fi

# 3. The initramfs rebuilt without virtio: MODULES=list loads only what modules lists.
cp "$root/boot/initrd.img-$kver" "$work/initrd.orig"
cp "$root/etc/initramfs-tools/initramfs.conf" "$work/initramfs.conf.orig"
sed -i 's/^MODULES=.*/MODULES=list/' "$root/etc/initramfs-tools/initramfs.conf"
chroot "$root" update-initramfs -u -k "$kver" > "$work/update-initramfs.log" 2>&1 || { cat "$work/update-initramfs.log"; fail "update-initramfs"; }
restore() {
  cp "$work/initrd.orig" "$root/boot/initrd.img-$kver"
  cp "$work/initramfs.conf.orig" "$root/etc/initramfs-tools/initramfs.conf"
}
trap restore EXIT
chroot "$root" lsinitramfs "/boot/initrd.img-$kver" > "$work/initrd.list"
if grep -q 'virtio_blk.ko' "$work/initrd.list"; then fail "the rebuilt initramfs still holds virtio_blk"; fi
variant="$work/variant.qcow2"
make_disk "$variant"
set +e
"$imagegate" check --output=json "$variant" > "$work/check.json"
rc=$?
set -e
[ $rc = 1 ] || fail "exit $rc, expected 1"
[ "$(json_get "$work/check.json" "d['error-code']")" = VirtioNotInstall ] || fail "$(json_get "$work/check.json" "d['reason']")"
[ "$(json_get "$work/check.json" "[c['message-id'] for c in d['checks'] if c['name']=='virtio'][0]")" = virtio.not-in-initramfs ] ||
  fail "cause: $(json_get "$work/check.json" "d['reason']")"
echo "debian12: 3. $(json_get "$work/check.json" "d['reason']")"
restore
trap - EXIT

# 4. cloud-init disabled; --force imports anyway.
touch "$root/etc/cloud/cloud-init.disabled"
make_disk "$variant"
rm -f "$root/etc/cloud/cloud-init.disabled"
set +e
"$imagegate" check --output=json "$variant" > "$work/check.json"
rc=$?
set -e
[ $rc = 1 ] && [ "$(json_get "$work/check.json" "d['error-code']")" = CloudInitNotInstalled ] ||
  fail "cloud-init disabled: $(json_get "$work/check.json" "d['reason']")"
"$imagegate" check --force "$variant" > /dev/null || fail "--force should import"
rm -f "$variant"
echo "debian12: 4. $(json_get "$work/check.json" "d['reason']"); imports with --force"
echo "debian12: all cases passed"
