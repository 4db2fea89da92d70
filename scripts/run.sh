#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install, build (release), then make a sample
# disk image with qemu-img and ask imagegate what it is and how large it becomes as qcow2.
# (The import-service issue replaces the last step with a real import.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release > /dev/null
cmake --build --preset release

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo
echo "== A sample disk: 2 GiB virtual, some data, as a VMDK streamOptimized (what VMware exports)"
truncate -s 2G "$work/disk.raw"
head -c 64M /dev/urandom | dd of="$work/disk.raw" bs=1M seek=100 conv=notrunc status=none
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$work/disk.raw" "$work/sample.vmdk"

ig=build/release/src/cli/imagegate
echo
echo "\$ imagegate info sample.vmdk"
$ig info "$work/sample.vmdk"
echo
echo "\$ imagegate measure -O qcow2 sample.vmdk          (qemu-img measure says the same)"
$ig measure -O qcow2 "$work/sample.vmdk"
echo
echo "\$ imagegate measure --exact sample.vmdk            (the size of the file convert will write)"
$ig measure --exact "$work/sample.vmdk"
echo "\$ imagegate convert --output=json sample.vmdk sample.qcow2"
$ig convert --output=json "$work/sample.vmdk" "$work/sample.qcow2"
echo "\$ qemu-img check sample.qcow2 && qemu-img compare sample.vmdk sample.qcow2"
qemu-img check "$work/sample.qcow2" && qemu-img compare "$work/sample.vmdk" "$work/sample.qcow2"
echo
echo "== An image that names a file outside itself is refused, and that file is never opened:"
qemu-img create -q -f qcow2 -F raw -b /etc/passwd -u "$work/attack.qcow2" 1G
echo "\$ imagegate info attack.qcow2"
$ig info "$work/attack.qcow2" || echo "(exit $?: refused)"
