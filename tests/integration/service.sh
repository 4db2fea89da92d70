#!/usr/bin/env bash
# The import service on its embedded default against real peers on loopback, driven by the
# official Node SDK (sdk/service.js):
#
#   - OpenStack Swift with s3api (tests/support/start-swift.sh) holds the images; URLs are
#     presigned with botocore (s3tool.py).
#   - Phase A: `imagegate serve --workers 0` and a separate `imagegate worker` process. The Debian
#     12 image with a data disk imports NORMAL (qemu-img compare: both disks identical), and so do
#     a FreeBSD 14.1 disk (UFS2 by makefs in a BSD disklabel inside an MBR slice, as VMDK) and an
#     openSUSE Leap 15.5 disk whose root is btrfs (mkfs.btrfs --rootdir), declared as such; an
#     expired URL, a deleted object, an unsigned private object, a host that is not object storage
#     and another region's bucket fail InvalidUrl with their causes; a data disk given as the
#     system disk fails RootPartitionNotFound. Each account gets its messages in its language;
#     a webhook receives every message, signed; the SMTP server is down meanwhile, and once it is
#     started (aiosmtpd, Debian's python3-aiosmtpd) every e-mail arrives.
#   - Phase B: `kill -9` of `imagegate serve` in the middle of an import, then the object is
#     deleted and the server restarted: the task is taken again and completes from the download
#     the first attempt finished (each URL is fetched once); no partial file, one message.
#   - Phase C: SIGTERM while converting: serve exits 0 within 20 s, the task queued again with
#     no partial output; restarted, the import ends NORMAL as attempt 2.
#
#
# The same cases run on either pair of backends, the catalog and the image store:
#   sqlite-dir (the embedded default): DATA/catalog.sqlite and DATA/images;
#   postgresql-s3: a PostgreSQL 15 of its own (tests/support/start-postgres.sh) and the bucket
#   s3://store/prod in the same Swift; partial outputs are then unfinished multipart uploads.
#
#   tests/integration/service.sh IMAGEGATE WORKDIR DEBIAN_IMAGE [sqlite-dir|postgresql-s3]
set -euo pipefail
imagegate=$(realpath "$1")
work=$(realpath -m "$2")
debian=$(realpath "$3")
backends=${4:-sqlite-dir}
case $backends in sqlite-dir | postgresql-s3) ;; *) echo "service: unknown backends '$backends'" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "service ($backends): FAIL: $*" >&2; exit 1; }
say() { echo "service ($backends): $*"; }
py=/usr/bin/python3
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
[ -f "$debian" ] || fail "no Debian image at $3 (the Debian 12 tier makes it)"
support=$(cd "$here/../support" && pwd)

mkdir -p "$work"
"$here/sdk/install.sh" "$work"
cp "$here/sdk/service.js" "$work/"
rm -rf "$work/data" "$work/maildir" "$work/store" "$work/got"
mkdir -p "$work/store" "$work/got"

# Object storage: Swift + s3api on free ports (start-swift.sh picks the backends' ports).
swift_port=$(free_port)
export IG_SWIFT_DIR="$work/swift" IG_SWIFT_PORT=$swift_port
pids=()
cleanup() {
  for p in "${pids[@]}"; do { kill -9 "$p" && wait "$p"; } 2> /dev/null || true; done
  bash "$support/stop-swift.sh" > /dev/null 2>&1 || true
  [ "$backends" = sqlite-dir ] || { "$support/stop-postgres.sh" "$work/pg" > /dev/null 2>&1 || true; rm -rf "$work/pg"; }
}
trap cleanup EXIT
bash "$support/stop-swift.sh" --purge > /dev/null 2>&1 || true
bash "$support/start-swift.sh" > "$work/swift.log" 2>&1 || { cat "$work/swift.log"; fail "Swift did not start"; }
s3="http://127.0.0.1:$swift_port"
s3tool() { env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY $py "$here/s3tool.py" "$s3" "$@"; }
s3tool mb images

# The catalog and the image store, as the cases see them: sql QUERY prints rows as sqlite3 -list
# does; stored KEY gives a local path of a stored object; stored_keys PREFIX and unfinished
# PREFIX list the store's objects and its unfinished outputs (temporary files, multipart uploads).
backend_config=""
if [ "$backends" = postgresql-s3 ]; then
  rm -rf "$work/pg"
  pg_url=$("$support/start-postgres.sh" "$work/pg" "$(free_port)") || fail "PostgreSQL did not start"
  s3tool mb store
  backend_config="\"catalog\": \"$pg_url\",
 \"image_store\": {\"location\": \"s3://store/prod\", \"endpoint\": \"$s3\", \"region\": \"us-east-1\",
                 \"access_key\": \"test:tester\", \"secret_key\": \"testing\", \"part_size_bytes\": 5242880},"
  sql() { psql "$pg_url" -AtqX -c "$1"; }
  stored() { s3tool get store "prod/$1" "$work/got/$1" && echo "$work/got/$1"; }
  stored_keys() { s3tool ls store "prod/$1" | sed 's|^prod/||'; }
  unfinished() { s3tool uploads store "prod/$1" | sed 's|^prod/||'; }
else
  sql() { sqlite3 "$work/data/catalog.sqlite" "$1"; }
  stored() { echo "$work/data/images/$1"; }
  stored_keys() { ls "$work/data/images" | grep -e "^$1" | grep -v -e '\.imagegate-' || true; }
  unfinished() { ls "$work/data/images" | grep -e "^$1.*\.imagegate-" || true; }
fi

# The objects: the Debian system, a data disk (one ext4 partition with a file), and copies.
mkdir -p "$work/store/files"
echo "imagegate data disk" > "$work/store/files/readme.txt"
truncate -s 64M "$work/store/data-disk.raw"
printf 'label: dos\nstart=2048,type=83\n' | sfdisk -q "$work/store/data-disk.raw"
mke2fs -q -F -t ext4 -d "$work/store/files" "$work/store/part.ext4" 40M > /dev/null 2>&1
dd if="$work/store/part.ext4" of="$work/store/data-disk.raw" bs=512 seek=2048 conv=notrunc status=none
# An encrypted system disk (LUKS made by cryptsetup): imagegate cannot read its root, so it
# cannot verify it, and this service (unverified_images: the default "refuse") refuses it.
printf pw > "$work/store/luks.key"
truncate -s 20M "$work/store/luks.part"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
  --key-file "$work/store/luks.key" "$work/store/luks.part"
truncate -s 32M "$work/store/encrypted.raw"
printf 'label: dos\nstart=2048,type=83\n' | sfdisk -q "$work/store/encrypted.raw"
dd if="$work/store/luks.part" of="$work/store/encrypted.raw" bs=512 seek=2048 conv=notrunc status=none
s3tool put images encrypted.raw "$work/store/encrypted.raw"
encrypted=$(s3tool presign images encrypted.raw 3600)
# A FreeBSD 14.1 system disk, laid out as bsdinstall lays out an MBR disk: slice 1 (type 0xa5)
# holds a BSD disklabel whose partition 'a' is the UFS2 root (made by makefs from a tree shaped
# like a FreeBSD install) and 'b' swap. The kernel is a real ELF (the host's /bin/true) carrying,
# added by objcopy, the strings a GENERIC kernel has: its @(#) ident and the DRIVER_MODULE names
# of the virtio drivers compiled into it. The cloud-init port is installed and enabled.
bsd="$work/store/freebsd-tree"
rm -rf "$bsd"
mkdir -p "$bsd/bin" "$bsd/etc" "$bsd/var/run" "$bsd/boot/kernel" "$bsd/usr/local/bin" "$bsd/usr/local/etc/cloud" \
  "$bsd/usr/local/lib/python3.11/site-packages/cloudinit"
printf '#!/bin/sh\nset -e\n\nUSERLAND_VERSION="14.1-RELEASE-p5"\n' > "$bsd/bin/freebsd-version"
printf 'NAME=FreeBSD\nVERSION="14.1-RELEASE-p5"\nVERSION_ID="14.1"\nID=freebsd\nPRETTY_NAME="FreeBSD 14.1-RELEASE-p5"\n' \
  > "$bsd/var/run/os-release"
ln -s ../var/run/os-release "$bsd/etc/os-release"
printf 'hostname="freebsd"\nifconfig_DEFAULT="SYNCDHCP"\nsshd_enable="YES"\ncloudinit_enable="YES"\n' > "$bsd/etc/rc.conf"
printf 'autoboot_delay="-1"\nconsole="comconsole,vidconsole"\n' > "$bsd/boot/loader.conf"
printf '@(#)FreeBSD 14.1-RELEASE-p5 releng/14.1-n267718-2a7d1e3ae5a3 GENERIC\n\0virtio_pci/virtio_blk\0virtio_pci/vtnet\0pci/virtio_pci_legacy\0pci/virtio_pci_modern\0' \
  > "$work/store/kernel-strings"
objcopy --add-section .kernel_strings="$work/store/kernel-strings" /bin/true "$bsd/boot/kernel/kernel"
printf '#!/usr/local/bin/python3.11\n' > "$bsd/usr/local/bin/cloud-init"
printf '__VERSION__ = "24.1.4"\n' > "$bsd/usr/local/lib/python3.11/site-packages/cloudinit/version.py"
printf 'users:\n  - default\n' > "$bsd/usr/local/etc/cloud/cloud.cfg"
rm -f "$work/store/freebsd.ufs" "$work/store/freebsd.raw" "$work/store/freebsd.vmdk"
makefs -t ffs -o version=2 -s 12m "$work/store/freebsd.ufs" "$bsd" > /dev/null
truncate -s 24M "$work/store/freebsd.raw"
printf 'label: dos\nstart=2048,size=40960,type=a5,bootable\n' | sfdisk -q "$work/store/freebsd.raw"
# struct disklabel (sys/sys/disklabel.h) at sector 1 of the slice, as bsdlabel(8) writes it: 'a'
# 4.2BSD from sector 16 (12 MiB), 'b' swap after it, 'c' the whole slice; d_checksum makes the
# XOR of its 16-bit words zero.
$py - "$work/store/freebsd.raw" << 'PY'
import struct, sys
label = bytearray(512)
struct.pack_into("<I8s", label, 0, 0x82564557, b"amnesiac")
struct.pack_into("<IIIII", label, 40, 512, 63, 255, 0, 63 * 255)
struct.pack_into("<IHH", label, 60, 40960, 0, 0)
struct.pack_into("<HH", label, 72, 3600, 1)
struct.pack_into("<I", label, 132, 0x82564557)
struct.pack_into("<HII", label, 138, 8, 8192, 0)
parts = [(12 * 2048, 16, 4096, 7, 8), (8 * 2048 - 16, 16 + 12 * 2048, 0, 1, 0), (40960, 0, 0, 0, 0)]
for i, (size, offset, fsize, fstype, frag) in enumerate(parts):
    struct.pack_into("<IIIBBH", label, 148 + 16 * i, size, offset, fsize, fstype, frag, 0)
checksum = 0
for i in range(0, 148 + 8 * 16, 2):
    checksum ^= struct.unpack_from("<H", label, i)[0]
struct.pack_into("<H", label, 136, checksum)
with open(sys.argv[1], "r+b") as disk:
    disk.seek((2048 + 1) * 512)
    disk.write(label)
PY
dd if="$work/store/freebsd.ufs" of="$work/store/freebsd.raw" bs=512 seek=$((2048 + 16)) conv=notrunc status=none
qemu-img convert -f raw -O vmdk "$work/store/freebsd.raw" "$work/store/freebsd.vmdk"
s3tool put images freebsd14.vmdk "$work/store/freebsd.vmdk"
freebsd=$(s3tool presign images freebsd14.vmdk 3600)
# openSUSE Leap 15.5 on btrfs: a tree with openSUSE's os-release, a real ELF /bin/sh, a kernel
# whose config has the virtio drivers built in (=y) and cloud-init, in snapper's layout: the
# system in @/.snapshots/1/snapshot, the default subvolume, written under compress=zstd on a
# loop mount (as root; elsewhere mkfs.btrfs --rootdir puts it at the top level). One MBR
# partition, uploaded as qcow2.
suse="$work/store/opensuse-tree"
kver=5.14.21-150500.55.39-default
rm -rf "$suse"
mkdir -p "$suse/etc" "$suse/usr/bin" "$suse/usr/lib/modules/$kver" "$suse/boot" \
  "$suse/usr/lib/python3.6/site-packages/cloudinit" "$suse/etc/cloud"
printf 'NAME="openSUSE Leap"\nVERSION="15.5"\nID="opensuse-leap"\nID_LIKE="suse opensuse"\nVERSION_ID="15.5"\nPRETTY_NAME="openSUSE Leap 15.5"\n' \
  > "$suse/usr/lib/os-release"
ln -s ../usr/lib/os-release "$suse/etc/os-release"
ln -s usr/bin "$suse/bin"
ln -s usr/lib "$suse/lib"
cp /usr/bin/dash "$suse/usr/bin/sh"
head -c 8192 /dev/urandom > "$suse/boot/vmlinuz-$kver"
printf 'CONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_NET=y\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO=y\n' > "$suse/boot/config-$kver"
: > "$suse/usr/lib/modules/$kver/modules.dep"
: > "$suse/usr/lib/modules/$kver/modules.builtin"
printf '#!/usr/bin/python3\n' > "$suse/usr/bin/cloud-init"
printf 'UUID=0f0e0d0c-0b0a-4908-8706-050403020100 / btrfs defaults 0 0\n' > "$suse/etc/fstab"
rm -f "$work/store/opensuse.btrfs" "$work/store/opensuse.raw" "$work/store/opensuse.qcow2"
truncate -s 200M "$work/store/opensuse.btrfs"
suse_layout="top level (mkfs.btrfs --rootdir)"
if [ "$(id -u)" = 0 ]; then
  mkfs.btrfs -q -f -U 0f0e0d0c-0b0a-4908-8706-050403020100 "$work/store/opensuse.btrfs" > /dev/null 2>&1
  mkdir -p "$work/store/opensuse-mnt"
  if mount -o loop,compress=zstd "$work/store/opensuse.btrfs" "$work/store/opensuse-mnt" 2> /dev/null; then
    made=0
    (cd "$work/store/opensuse-mnt" && btrfs -q subvolume create @ && btrfs -q subvolume create @/.snapshots &&
      mkdir @/.snapshots/1 && btrfs -q subvolume create @/.snapshots/1/snapshot && btrfs -q subvolume create @/home &&
      cp -a "$suse/." @/.snapshots/1/snapshot/ &&
      printf 'UUID=0f0e0d0c-0b0a-4908-8706-050403020100 /home btrfs subvol=/@/home 0 0\n' \
        >> @/.snapshots/1/snapshot/etc/fstab &&
      btrfs subvolume set-default @/.snapshots/1/snapshot) || made=$?
    umount "$work/store/opensuse-mnt"
    [ "$made" = 0 ] || fail "the openSUSE snapper layout could not be made on the loop mount"
    suse_layout="snapper's default snapshot, zstd extents"
  fi
fi
[ "$suse_layout" = "snapper's default snapshot, zstd extents" ] ||
  mkfs.btrfs -q -f -U 0f0e0d0c-0b0a-4908-8706-050403020100 --rootdir "$suse" "$work/store/opensuse.btrfs" > /dev/null 2>&1
truncate -s 220M "$work/store/opensuse.raw"
printf 'label: dos\nstart=2048,type=83,bootable\n' | sfdisk -q "$work/store/opensuse.raw"
dd if="$work/store/opensuse.btrfs" of="$work/store/opensuse.raw" bs=512 seek=2048 conv=notrunc,sparse status=none
qemu-img convert -f raw -O qcow2 "$work/store/opensuse.raw" "$work/store/opensuse.qcow2"
s3tool put images opensuse-btrfs.qcow2 "$work/store/opensuse.qcow2"
opensuse=$(s3tool presign images opensuse-btrfs.qcow2 3600)
s3tool put images debian12.qcow2 "$debian"
for k in data-disk.raw doomed.raw private.raw; do s3tool put images "$k" "$work/store/data-disk.raw"; done
good=$(s3tool presign images debian12.qcow2 3600)
disk=$(s3tool presign images data-disk.raw 3600)
short=$(s3tool presign images data-disk.raw 1)
doomed=$(s3tool presign images doomed.raw 3600)
s3tool rm images doomed.raw
other_host=${good/127.0.0.1/127.0.0.2}
sleep 2  # the 1-second URL has expired

api_port=$(free_port)
smtp_port=$(free_port)
hook_port=$(free_port)
cat > "$work/config.json" <<JSON
{"accounts": [{"secret_id": "AKIDtest0000000000000000000000000001", "secret_key": "secret-one", "app_id": "1250000001"},
              {"secret_id": "AKIDtest0000000000000000000000000002", "secret_key": "secret-two", "app_id": "1250000002",
               "language": "zh"}],
 "object_storage": [{"host": "127.0.0.1:$swift_port", "region": "ap-guangzhou"}],
 $backend_config
 "task_lease_seconds": 8,
 "notify": {"smtp_url": "smtp://127.0.0.1:$smtp_port", "mail_from": "imagegate@example.com",
            "retry_min_seconds": 1, "retry_max_seconds": 2, "timeout_seconds": 5}}
JSON
cat > "$work/spec.json" <<JSON
{"webhook_port": $hook_port, "imports": [
  {"account": 1, "name": "debian12", "url": "$good", "disks": ["$disk"]},
  {"account": 1, "name": "expired", "url": "$short"},
  {"account": 1, "name": "deleted", "url": "$doomed"},
  {"account": 1, "name": "private", "url": "$s3/images/private.raw"},
  {"account": 1, "name": "not-storage", "url": "$other_host"},
  {"account": 1, "name": "data-disk", "url": "$disk"},
  {"account": 1, "name": "encrypted", "url": "$encrypted"},
  {"account": 1, "name": "freebsd14", "url": "$freebsd", "os": {"OsType": "FreeBSD", "OsVersion": "14"}},
  {"account": 1, "name": "opensuse-btrfs", "url": "$opensuse", "os": {"OsType": "openSUSE", "OsVersion": "15.5"}},
  {"account": 2, "name": "elsewhere", "url": "$good"}]}
JSON

start_serve() {  # $1: --workers N
  "$imagegate" serve --config "$work/config.json" --data "$work/data" --listen "127.0.0.1:$api_port" --workers "$1" \
    >> "$work/serve.log" 2>&1 &
  serve_pid=$!
  pids+=("$serve_pid")
  for _ in $(seq 1 100); do
    { exec 3<> "/dev/tcp/127.0.0.1/$api_port"; } 2> /dev/null && { exec 3>&-; return 0; }
    sleep 0.1
  done
  cat "$work/serve.log"
  fail "the server did not start"
}

# Phase A: the API without workers, and a worker process of its own.
start_serve 0
"$imagegate" worker --config "$work/config.json" --data "$work/data" > "$work/worker.log" 2>&1 &
worker_pid=$!
pids+=("$worker_pid")
(cd "$work" && unset http_proxy https_proxy && node service.js imports "$api_port" spec.json) > "$work/phase-a.jsonl" ||
  { cat "$work/phase-a.jsonl" "$work/worker.log"; fail "phase A"; }
q() { $py -c "
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if all(str(d.get(k)) == v for k, v in (a.split('=', 1) for a in sys.argv[3:])):
        print(eval(sys.argv[2]))" "$work/phase-a.jsonl" "$@"; }
expect() {  # NAME "STATE CODE" CAUSE-FRAGMENT
  local got
  got=$(q "d['state'] + ' ' + (d.get('code') or '')" kind=image name="$1")
  [ "$got" = "$2" ] || fail "$1: $got, expected $2 ($(q "d.get('message')" kind=image name="$1"))"
  [ -z "${3:-}" ] || q "d.get('message')" kind=image name="$1" | grep -qF -- "$3" ||
    fail "$1: the cause does not say '$3': $(q "d.get('message')" kind=image name="$1")"
  say "$1: $got${3:+ — $(q "d.get('message')" kind=image name="$1")}"
}
expect debian12 "NORMAL "
expect expired "IMPORTFAILED InvalidUrl" "expired"
expect deleted "IMPORTFAILED InvalidUrl" "deleted"
expect private "IMPORTFAILED InvalidUrl" "private and the URL is not signed"
expect not-storage "IMPORTFAILED InvalidUrl" "127.0.0.2:$swift_port is not an object-storage address"
expect data-disk "IMPORTFAILED RootPartitionNotFound"
expect encrypted "IMPORTFAILED InternalError" "could not be verified"
expect freebsd14 "NORMAL "
expect opensuse-btrfs "NORMAL "
expect elsewhere "IMPORTFAILED InvalidUrl" "ap-singapore"  # account 2 asks in ap-singapore, in Chinese
q "d.get('message')" kind=image name=elsewhere | grep -q "地域" || fail "account 2's cause is not in Chinese"

id=$(q "d['id']" kind=image name=debian12)
[ "$(stored_keys "$id" | LC_ALL=C sort | paste -sd ' ')" = "$id-data1.qcow2 $id.qcow2" ] || fail "stored for $id: $(stored_keys "$id")"
qemu-img compare -q "$debian" "$(stored "$id.qcow2")" || fail "the stored system disk differs from the upload"
qemu-img compare -q -f raw "$work/store/data-disk.raw" "$(stored "$id-data1.qcow2")" ||
  fail "the stored data disk differs from the upload"
qemu-img check -q "$(stored "$id-data1.qcow2")" || fail "qemu-img check of the data disk"
rm -f "$work/got/"*
[ "$(q "[s['DiskUsage'] for s in d['snapshots']]" kind=image name=debian12)" = "['SYSTEM_DISK', 'DATA_DISK']" ] ||
  fail "SnapshotSet: $(q "d['snapshots']" kind=image name=debian12)"
[ "$(q "d['sha256']" kind=image name=debian12)" = "$(sha256sum < "$debian" | cut -c1-64)" ] ||
  fail "ImportSourceSha256 is not the upload's SHA-256"
say "debian12 ($id): system and data disk stored, qemu-img compare identical, SHA-256 of the download recorded"
for pair in freebsd14:freebsd.vmdk opensuse-btrfs:opensuse.qcow2; do
  name=${pair%%:*}
  upload=$work/store/${pair#*:}
  other=$(q "d['id']" kind=image name="$name")
  [ "$(stored_keys "$other")" = "$other.qcow2" ] || fail "stored for $name ($other): $(stored_keys "$other")"
  qemu-img compare -q "$upload" "$(stored "$other.qcow2")" || fail "the stored $name disk differs from the upload"
  [ "$(q "d['cloudinit']" kind=image name="$name")" = True ] || fail "$name: IsSupportCloudinit is not true"
  say "$name ($other): stored, qemu-img compare identical to the upload, IsSupportCloudinit true"
done
say "opensuse-btrfs's root: $suse_layout"
rm -f "$work/got/"*
family=$(cd "$work" && unset http_proxy https_proxy && node service.js family "$api_port" "$id")
[ "$family" = "{\"kind\":\"family\",\"chosen\":\"$id\",\"deprecated_chosen\":null,\"family\":\"debian-web\",\"deprecated\":true}" ] ||
  fail "ImageFamily / ImageDeprecated / DescribeImageFromFamily: $family"
say "debian12 in family debian-web: DescribeImageFromFamily chooses it, and nothing once it is deprecated"
failed_id=$(q "d['id']" kind=image name=data-disk)
[ -z "$(stored_keys "$failed_id")$(unfinished "$failed_id")" ] || fail "a failed import left files"
[ -z "$(unfinished img-)" ] || fail "unfinished outputs left: $(unfinished img-)"
[ -z "$(ls -A "$work/data/scratch")" ] || fail "scratch files left: $(ls "$work/data/scratch")"

# Messages: one per import, in the account's language; the webhook got account 1's, signed.
[ "$(q "d['total']" kind=inbox account=1)" = 9 ] || fail "account 1 has $(q "d['total']" kind=inbox account=1) messages"
[ "$(q "d['total']" kind=inbox account=2)" = 1 ] || fail "account 2's inbox"
q "d['Title']" kind=message account=1 ImageId="$id" | grep -q "Image debian12 imported" || fail "the success message"
q "d['Content']" kind=message account=2 | grep -q "错误码 InvalidUrl" || fail "account 2's message is not in Chinese"
[ "$(q "d['verified']" kind=webhook | sort -u)" = True ] || fail "webhook signatures: $(q "d['verified']" kind=webhook)"
[ "$(q "d['message']['MessageId']" kind=webhook | wc -l)" = 9 ] || fail "the webhook got $(q 1 kind=webhook | wc -l) messages"
say "messages: account 1 has 9 (en), account 2 has 1 (zh: $(q "d['Title']" kind=message account=2)); 9 signed webhooks"

# E-mail: the SMTP server has been down all along; the deliveries wait, naming the failure.
pending=$(sql "SELECT COUNT(*) FROM outbox WHERE channel = 'EMAIL' AND state = 'PENDING' AND last_error LIKE 'SMTP%'")
[ "$pending" = 9 ] || fail "e-mail deliveries pending with an SMTP error: $pending"
say "SMTP down: 9 e-mails pending ($(sql "SELECT last_error FROM outbox WHERE channel = 'EMAIL' LIMIT 1"))"
$py -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$work/maildir" > "$work/smtp.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
  [ "$(ls "$work/maildir/new" 2> /dev/null | wc -l)" -ge 9 ] && break
  sleep 0.1
done
[ "$(ls "$work/maildir/new" 2> /dev/null | wc -l)" = 9 ] || fail "$(ls "$work/maildir/new" 2> /dev/null | wc -l) e-mails arrived, expected 9"
sleep 0.5
[ "$(sql "SELECT COUNT(*) FROM outbox WHERE state = 'SENT'")" = 18 ] ||
  fail "deliveries: $(sql "SELECT channel, state, last_error FROM outbox")"
subjects=$(for m in "$work"/maildir/new/*; do
  $py -c "import email, email.policy, sys; print(email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)['Subject'])" "$m"
done | sort)
echo "$subjects" | grep -q "^Image debian12 imported$" || fail "no success e-mail: $subjects"
say "SMTP back: all 9 e-mails delivered ($(echo "$subjects" | head -2 | paste -sd ';'))"

# Phase B: kill -9 of the server in the middle of an import, then a restart.
kill "$worker_pid" "$serve_pid"
wait "$worker_pid" "$serve_pid" 2> /dev/null || true
start_serve 1
again=$(s3tool presign images debian12.qcow2 3600)
id=$(cd "$work" && unset http_proxy https_proxy && node service.js import-one "$api_port" debian12-b "$again")
# Killed while converting, once the download is complete and kept with its record (the
# conversion follows the download, so it starts before the download ends): the qcow2 is being
# written beside its final name.
for _ in $(seq 1 1200); do
  [ -n "$(unfinished "$id.qcow2")" ] && [ -e "$work/data/scratch/$id.src.sha256" ] && break
  sleep 0.05
done
state=$(sql "SELECT state FROM import_tasks WHERE image_id = '$id'")
[ "$state" = RUNNING ] || fail "the import is not converting ($state)"
kill -9 "$serve_pid"
wait "$serve_pid" 2> /dev/null || true
progress=$(sql "SELECT progress FROM import_tasks WHERE image_id = '$id'")
[ "$(sql "SELECT state FROM images WHERE image_id = '$id'")" = IMPORTING ] ||
  fail "the killed import is not IMPORTING"
partial=$(unfinished "$id.qcow2" | wc -l)
say "killed the server while converting $id (task RUNNING at $progress %, $partial partial file)"
# The URL is fetched once: with the object now gone, the restarted import can only succeed from
# the download the killed attempt completed.
s3tool rm images debian12.qcow2
start_serve 1
(cd "$work" && unset http_proxy https_proxy && node service.js wait "$api_port" "$id") > "$work/phase-b.jsonl"
state=$($py -c "import json; d = json.loads(open('$work/phase-b.jsonl').readline()); print(d['state'])")
[ "$state" = NORMAL ] || fail "after the restart: $(cat "$work/phase-b.jsonl")"
attempts=$(sql "SELECT attempts || ' ' || state FROM import_tasks WHERE image_id = '$id'")
[ "$attempts" = "2 DONE" ] || fail "task: $attempts"
qemu-img compare -q "$debian" "$(stored "$id.qcow2")" || fail "the image imported after the crash differs"
[ -z "$(ls -A "$work/data/scratch")" ] || fail "scratch files left after the crash: $(ls "$work/data/scratch")"
[ -z "$(unfinished img-)" ] || fail "partial outputs left: $(unfinished img-)"
[ "$(sql "SELECT COUNT(*) FROM messages WHERE image_id = '$id'")" = 1 ] ||
  fail "messages for $id"
say "after the restart $id was taken again (attempt 2) and imported NORMAL from the first attempt's download (the object is deleted); qemu-img compare identical; no partial files, one message"
# Phase C: SIGTERM while converting: the server stops claiming, stops the import, gives its
# task back to the queue and exits 0; restarted, it imports the image as attempt 2.
s3tool put images debian12-c.qcow2 "$debian"
again=$(s3tool presign images debian12-c.qcow2 3600)
id=$(cd "$work" && unset http_proxy https_proxy && node service.js import-one "$api_port" debian12-c "$again")
for _ in $(seq 1 1200); do
  [ -n "$(unfinished "$id.qcow2")" ] && break
  sleep 0.05
done
[ -n "$(unfinished "$id.qcow2")" ] || fail "phase C: the import of $id never started converting"
kill -TERM "$serve_pid"
for _ in $(seq 1 200); do kill -0 "$serve_pid" 2> /dev/null || break; sleep 0.1; done
kill -0 "$serve_pid" 2> /dev/null && fail "serve still runs 20 s after SIGTERM"
rc=0
wait "$serve_pid" || rc=$?
[ $rc = 0 ] || fail "serve exited $rc after SIGTERM"
[ "$(sql "SELECT state || ' ' || attempts FROM import_tasks WHERE image_id = '$id'")" = "QUEUED 1" ] ||
  fail "after SIGTERM the task is $(sql "SELECT state || ' ' || attempts FROM import_tasks WHERE image_id = '$id'")"
[ "$(sql "SELECT state FROM images WHERE image_id = '$id'")" = IMPORTING ] || fail "after SIGTERM $id is not IMPORTING"
[ -z "$(unfinished "$id")$(stored_keys "$id")" ] || fail "after SIGTERM outputs are left: $(unfinished "$id") $(stored_keys "$id")"
grep -q '"import released for another worker"' "$work/serve.log" || fail "serve.log does not say the import was released"
say "SIGTERM while converting $id: serve exited 0, the task is queued again (attempt 1 given back), no partial output"
start_serve 1
(cd "$work" && unset http_proxy https_proxy && node service.js wait "$api_port" "$id") > "$work/phase-c.jsonl"
state=$($py -c "import json; d = json.loads(open('$work/phase-c.jsonl').readline()); print(d['state'])")
[ "$state" = NORMAL ] || fail "after SIGTERM and a restart: $(cat "$work/phase-c.jsonl")"
[ "$(sql "SELECT attempts || ' ' || state FROM import_tasks WHERE image_id = '$id'")" = "2 DONE" ] ||
  fail "task after the restart: $(sql "SELECT attempts || ' ' || state FROM import_tasks WHERE image_id = '$id'")"
qemu-img compare -q "$debian" "$(stored "$id.qcow2")" || fail "the image imported after SIGTERM differs"
say "after the restart $id imported NORMAL as attempt 2; qemu-img compare identical"
say "all cases passed"
