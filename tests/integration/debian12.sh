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
#   4. cloud-init disabled: CloudInitNotInstalled; imports with --force;
#   5. the same release for i386 (linux-image-686): imports as i386, and virt-inspector agrees
#      (DEBIAN12_I386=0 skips it).
# The debootstrap root is cached in WORKDIR (default build/debian12) and reused; WORKDIR/debian12.qcow2
# (case 1's image) stays for bench/check_bench.sh.
set -euo pipefail
imagegate=$(realpath "$1")
work=$(realpath -m "${2:-build/debian12}")
mkdir -p "$work"
root="$work/root"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

fail() { echo "debian12: FAIL: $*" >&2; exit 1; }

# bootstrap ARCH ROOT KERNEL-PACKAGE: a minimal bookworm with a kernel, initramfs-tools and
# cloud-init, cached (ROOT/.complete marks a finished one).
bootstrap() {
  local arch=$1 dir=$2 kernel=$3
  [ -e "$dir/.complete" ] && return 0
  rm -rf "$dir"
  mkdir -p "$work/cache-$arch"
  echo "debian12: debootstrap bookworm/$arch into $dir (about 3 minutes)"
  # python3-cffi-backend: debootstrap does not resolve the virtual package cloud-init's
  # dependency python3-cryptography needs.
  debootstrap --arch="$arch" --variant=minbase --cache-dir="$work/cache-$arch" \
    --include="$kernel,initramfs-tools,cloud-init,python3-cffi-backend,systemd-sysv" \
    bookworm "$dir" "$mirror" > "$work/debootstrap-$arch.log" 2>&1 || {
    # A kernel without IA32 emulation cannot run the i386 system's programs: say so, and let
    # the caller skip (status 2) instead of failing.
    if grep -q 'Exec format error' "$dir/debootstrap/debootstrap.log" 2> /dev/null; then
      rm -rf "$dir"
      return 2
    fi
    tail -20 "$work/debootstrap-$arch.log" >&2
    fail "debootstrap $arch failed"
  }
  touch "$dir/.complete"
}
newest_kernel() { basename "$(ls "$1"/boot/vmlinuz-* | sort -V | tail -1)" | sed 's/^vmlinuz-//'; }

uuid=5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
# What the installer adds and debootstrap does not: the root in fstab, and GRUB's menu in the
# shape grub-mkconfig writes (grub-mkconfig itself needs the root mounted on a real device).
installer_files() {
  local dir=$1 kver=$2
  printf 'UUID=%s / ext4 errors=remount-ro 0 1\n' "$uuid" > "$dir/etc/fstab"
  mkdir -p "$dir/boot/grub"
  cat > "$dir/boot/grub/grub.cfg" <<GRUB
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
}

bootstrap amd64 "$root" linux-image-amd64
kver=$(newest_kernel "$root")
echo "debian12: kernel $kver"
installer_files "$root" "$kver"

# make_disk OUT [TREE]: the tree as partition 1 of an MBR disk, as qcow2.
make_disk() {
  local out=$1 tree=${2:-$root} raw="$work/disk.raw" part="$work/part.ext4"
  rm -f "$raw" "$part" "$out"
  truncate -s 2G "$raw"
  printf 'label: dos\nstart=2048,type=83,bootable\n' | sfdisk -q "$raw"
  mke2fs -q -F -t ext4 -U "$uuid" -L debroot -E root_owner=0:0 -d "$tree" "$part" 2045M > /dev/null 2>&1
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
# Debian's real amd64 bzImage: boot protocol 2.15, XLF_KERNEL_64 set.
[ "$(json_get "$work/check.json" "[k['architecture'] for k in d['os']['kernels'] if k['default']][0]")" = x86_64 ] ||
  fail "kernel image architecture: $(json_get "$work/check.json" "[k['image'] for k in d['os']['kernels']]")"
[ "$(json_get "$work/check.json" "d['os']['kernels'][-1]['virtio']['virtio_blk']['in-initramfs']")" = True ] ||
  fail "virtio_blk should be in Debian's initramfs"
[ "$(json_get "$work/check.json" "d['os']['cloud-init']['enabled']")" = True ] || fail "cloud-init"
echo "debian12: 1. installed system: pass ($(json_get "$work/check.json" "d['os']['kernels'][-1]['initramfs-archives']"))"

# 2. virt-inspector, the libguestfs oracle, on the same image.
if command -v virt-inspector > /dev/null; then
  mkdir -p /lib/modules
  export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
  export SUPERMIN_KERNEL="$root/boot/vmlinuz-$kver" SUPERMIN_MODULES="$root/lib/modules/$kver"
  xml() { python3 -c "import sys,xml.etree.ElementTree as E; print(E.parse(sys.argv[1]).getroot().find('operatingsystem/'+sys.argv[2]).text)" "$work/inspector.xml" "$1"; }
  agree() {  # IMAGE CHECK-JSON: virt-inspector and imagegate name the same OS
    virt-inspector --format=qcow2 -a "$1" > "$work/inspector.xml" 2> "$work/inspector.log" ||
      { tail -20 "$work/inspector.log" >&2; fail "virt-inspector failed on $1"; }
    [ "$(xml distro)" = "$(json_get "$2" "d['os']['distribution']")" ] || fail "distro: virt-inspector says $(xml distro)"
    [ "$(xml major_version)" = "$(json_get "$2" "d['os']['version']")" ] || fail "version: virt-inspector says $(xml major_version)"
    [ "$(xml arch)" = "$(json_get "$2" "d['os']['architecture']")" ] || fail "arch: virt-inspector says $(xml arch)"
    echo "$(xml distro) $(xml major_version) $(xml arch)"
  }
  echo "debian12: 2. virt-inspector agrees: $(agree "$image" "$work/check.json")"
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
# 5. The same release for i386 (linux-image-686): a 32-bit guest, which the cloud accepts.
root32="$work/root-i386"
i386=${DEBIAN12_I386:-1}
if [ "$i386" = 1 ]; then
  status=0
  bootstrap i386 "$root32" linux-image-686 || status=$?
  if [ $status = 2 ]; then
    echo "debian12: 5. skipped: this kernel cannot run i386 programs (chroot /bin/true: Exec format error; no IA32 emulation)"
    i386=0
  fi
fi
if [ "$i386" = 1 ]; then
  kver32=$(newest_kernel "$root32")
  installer_files "$root32" "$kver32"
  image32="$work/debian12-i386.qcow2"
  make_disk "$image32" "$root32"
  "$imagegate" check --output=json "$image32" > "$work/check-i386.json" ||
    fail "the i386 system should import: $(json_get "$work/check-i386.json" "d['reason']")"
  [ "$(json_get "$work/check-i386.json" "d['os']['architecture']")" = i386 ] || fail "i386 architecture"
  [ "$(json_get "$work/check-i386.json" "[k['version'] for k in d['os']['kernels'] if k['default']][0]")" = "$kver32" ] ||
    fail "i386 default kernel"
  # Debian's real -686 bzImage: XLF_KERNEL_64 clear.
  [ "$(json_get "$work/check-i386.json" "[k['architecture'] for k in d['os']['kernels'] if k['default']][0]")" = i386 ] ||
    fail "i386 kernel image: $(json_get "$work/check-i386.json" "[k['image'] for k in d['os']['kernels']]")"
  if command -v virt-inspector > /dev/null; then
    echo "debian12: 5. i386 ($kver32): pass; virt-inspector agrees: $(agree "$image32" "$work/check-i386.json")"
  else
    echo "debian12: 5. i386 ($kver32): pass"
  fi
  rm -f "$image32"
fi
echo "debian12: all cases passed"
