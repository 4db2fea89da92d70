#!/usr/bin/env bash
# The import service scaled out, under faults (issue 12): 2 `imagegate serve --workers 0` and 3
# `imagegate worker` processes, each with a data directory of its own, sharing a PostgreSQL
# catalog (tests/support/start-postgres.sh) and an s3:// image store in OpenStack Swift
# (tests/support/start-swift.sh); e-mail to an aiosmtpd sink writing a Maildir.
#
#   - 3 accounts each subscribe an e-mail address, then 30 imports go in 3 batches of 10,
#     alternating between the two API servers: good Debian 12 disks (one disk, uploaded under a
#     few names) and every asynchronous failure the worker reports — VirtioNotInstall,
#     CloudInitNotInstalled, PartitionNotPresent, RootPartitionNotFound (a data disk),
#     InvalidFormatSize (an xz file), InvalidUrl (a deleted object).
#   - Faults while the workers import: kill -9 of a busy worker (restarted) after batch 1, kill -9
#     of one API server and a PostgreSQL restart after batch 2 (the server restarted), kill -9 of
#     a busy worker (restarted) after batch 3, after SIGTERM of a busy one (it releases its import
#     and exits 0). Leases are 8 s, so killed tasks are taken again.
#   - Then: every image in its expected state with its expected error code (DescribeImages);
#     in PostgreSQL each image once, one task each, ended, one message each, no image IMPORTING;
#     the image store bucket holds exactly one <id>.qcow2 per NORMAL image and no unfinished
#     multipart upload; the Maildir holds every message's e-mail (duplicates of one
#     X-Imagegate-Message-Id dropped: delivery is at least once).
#
#   tests/integration/scale.sh IMAGEGATE WORKDIR
#
# Bounded: every wait has a limit and a watchdog ends the run after SCALE_TIMEOUT seconds
# (default 480). Prints one summary line; exit status 1 on any failed expectation. WORKDIR keeps
# the logs (serve-*.log, worker-*.log, smtp.log, swift.log, postgres.log, and catalog-dump.txt
# after a failure); everything else (PostgreSQL, Swift, the Maildir, data dirs) is removed.
# And: no scratch file is left once the imports end (killed workers' downloads are swept), and
# every import that ended during the PostgreSQL restart was recorded by its worker.
set -euo pipefail
imagegate=$(realpath "${1:?usage: scale.sh IMAGEGATE WORKDIR}")
work=$(realpath -m "${2:?usage: scale.sh IMAGEGATE WORKDIR}")
here=$(cd "$(dirname "$0")" && pwd)
support=$(cd "$here/../support" && pwd)
py=/usr/bin/python3
# Each call bounded: `wait` by its own limit (below) plus a margin, every other call by 120 s.
tool() {
  local bound=120
  [ "$1" = wait ] && bound=$(($3 + 30))
  env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY timeout $bound $py "$here/scale_tool.py" "$@"
}
say() { echo "scale: $*"; }
fail() { echo "scale: FAIL: $*" >&2; exit 1; }
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
started=$(date +%s)
limit=${SCALE_TIMEOUT:-480}

mkdir -p "$work"
rm -rf "$work/run"
mkdir -p "$work/run"
run=$work/run        # everything but the logs; removed on exit
declare -A pid       # role -> pid of the processes started here
cleanup() {
  local rc=$?
  trap - EXIT TERM INT
  if [ -e "$run/timed-out" ]; then echo "scale: FAIL: the run took more than $limit s (watchdog)" >&2; rc=1; fi
  [ -n "${watchdog:-}" ] && { kill "$watchdog" 2> /dev/null; wait "$watchdog" 2> /dev/null; } || true
  for r in "${!pid[@]}"; do { kill -9 "${pid[$r]}" && wait "${pid[$r]}"; } 2> /dev/null || true; done
  if [ "$rc" != 0 ] && [ -n "${pg_url:-}" ]; then  # the catalog, for the post-mortem
    for t in images import_tasks messages outbox; do
      echo "== $t"; timeout 10 psql "$pg_url" -AqX -c "SELECT * FROM $t" 2>&1 | cut -c1-300
    done > "$work/catalog-dump.txt" 2>&1 || true
  fi
  [ -n "${pg_dir:-}" ] && { cp "$pg_dir/server.log" "$work/postgres.log" 2> /dev/null || true; bash "$support/stop-postgres.sh" "$pg_dir" > /dev/null 2>&1 || true; }
  bash "$support/stop-swift.sh" --purge "$run/swift" > /dev/null 2>&1 || true
  rm -rf "$run"
  exit $rc
}
trap cleanup EXIT
trap 'echo "scale: FAIL: interrupted" >&2; exit 1' INT
trap 'exit 1' TERM
# The watchdog: TERM to the script's children (the command it waits on), then to the script.
( trap 'kill "$nap" 2> /dev/null; exit 0' TERM
  sleep "$limit" & nap=$!
  wait "$nap" && { : > "$run/timed-out"; pkill -TERM -P $$; kill -TERM $$; } ) > /dev/null 2>&1 &
watchdog=$!

# --- Peers: PostgreSQL, Swift, SMTP -------------------------------------------------------------
pg_port=$(free_port)
pg_dir=$run/pg
pg_url=$(bash "$support/start-postgres.sh" "$pg_dir" "$pg_port") || fail "PostgreSQL did not start"
swift_port=$(free_port)
export IG_SWIFT_DIR=$run/swift IG_SWIFT_PORT=$swift_port
bash "$support/start-swift.sh" "$run/swift" > "$work/swift.log" 2>&1 || { tail -20 "$work/swift.log"; fail "Swift did not start"; }
s3="http://127.0.0.1:$swift_port"
smtp_port=$(free_port)
$py -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$run/maildir" > "$work/smtp.log" 2>&1 &
pid[smtp]=$!
tool mb "$s3" uploads
tool mb "$s3" store

# --- The uploads -------------------------------------------------------------------------------
# make_disk OUT KIND: a small Debian 12 system disk (as scripts/sample-guest.sh, 64 MiB, MBR,
# ext4 root with 8 MiB of random data so the stored qcow2 takes two 5 MiB parts), or a broken
# variant: novirtio, nocloudinit, nopart (the bare file system), datadisk (no root), notimage (xz).
make_disk() {
  local out=$1 kind=$2 t root kernel=6.1.0-13-amd64 uuid=6a3a3c6e-7d4b-4e61-9d2b-5f7c0e1a2b3c m
  t=$(mktemp -d "$run/disk.XXXXXX")
  root=$t/root
  case $kind in
    notimage) head -c 1048576 /dev/urandom | xz -0 -c > "$out"; rm -rf "$t"; return ;;
    datadisk)
      mkdir -p "$t/files"
      echo "data" > "$t/files/readme.txt"
      mke2fs -q -F -t ext4 -d "$t/files" "$t/part.ext4" 16M > /dev/null 2>&1
      truncate -s 32M "$t/disk.raw"
      printf 'label: dos\nstart=2048,type=83\n' | sfdisk -q "$t/disk.raw"
      dd if="$t/part.ext4" of="$t/disk.raw" bs=1M seek=1 conv=notrunc status=none
      qemu-img convert -f raw -O qcow2 "$t/disk.raw" "$out"
      rm -rf "$t"
      return ;;
  esac
  mkdir -p "$root"/{etc,usr/bin,usr/lib/modules,boot/grub,var/lib/dpkg,srv}
  printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n' \
    > "$root/usr/lib/os-release"
  ln -s ../usr/lib/os-release "$root/etc/os-release"
  cp /usr/bin/dash "$root/usr/bin/dash"
  ln -s dash "$root/usr/bin/sh"
  ln -s usr/bin "$root/bin"
  ln -s usr/lib "$root/lib"
  printf 'UUID=%s / ext4 errors=remount-ro 0 1\n' "$uuid" > "$root/etc/fstab"
  head -c 8M /dev/urandom > "$root/srv/payload"
  if [ "$kind" = nocloudinit ]; then
    printf 'Package: dash\nStatus: install ok installed\nVersion: 0.5.12-2\n\n' > "$root/var/lib/dpkg/status"
  else
    mkdir -p "$root/etc/cloud" "$root/usr/lib/python3/dist-packages/cloudinit"
    printf '#!/usr/bin/python3\n' > "$root/usr/bin/cloud-init"
    printf 'datasource_list: [ ConfigDrive, None ]\n' > "$root/etc/cloud/cloud.cfg"
    printf 'Package: cloud-init\nStatus: install ok installed\nVersion: 22.4.2-1\n\n' > "$root/var/lib/dpkg/status"
  fi
  head -c 8192 /dev/urandom > "$root/boot/vmlinuz-$kernel"
  mkdir -p "$t/initramfs/main/usr/lib/modules/$kernel" "$t/initramfs/early/kernel/x86/microcode"
  if [ "$kind" = novirtio ]; then
    printf 'CONFIG_EXT4_FS=y\n# CONFIG_VIRTIO_BLK is not set\n' > "$root/boot/config-$kernel"
    mkdir -p "$root/usr/lib/modules/$kernel/kernel/fs/ext4"
    echo module > "$root/usr/lib/modules/$kernel/kernel/fs/ext4/ext4.ko"
    echo "kernel/fs/ext4/ext4.ko:" > "$root/usr/lib/modules/$kernel/modules.dep"
    echo module > "$t/initramfs/main/usr/lib/modules/$kernel/placeholder"
  else
    printf 'CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=m\nCONFIG_VIRTIO_PCI=m\nCONFIG_VIRTIO=m\n' > "$root/boot/config-$kernel"
    for m in block/virtio_blk.ko net/virtio_net.ko virtio/virtio_pci.ko virtio/virtio_ring.ko virtio/virtio.ko; do
      m=kernel/drivers/$m
      mkdir -p "$(dirname "$root/usr/lib/modules/$kernel/$m")" "$(dirname "$t/initramfs/main/usr/lib/modules/$kernel/$m")"
      echo "module $m" > "$root/usr/lib/modules/$kernel/$m"
      echo "$m:" >> "$root/usr/lib/modules/$kernel/modules.dep"
      echo module > "$t/initramfs/main/usr/lib/modules/$kernel/$m"
    done
  fi
  : > "$root/usr/lib/modules/$kernel/modules.builtin"
  echo microcode > "$t/initramfs/early/kernel/x86/microcode/AuthenticAMD.bin"
  printf '#!/bin/sh\n' > "$t/initramfs/main/init"
  (cd "$t/initramfs/early" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$root/boot/initrd.img-$kernel"
  (cd "$t/initramfs/main" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | zstd -q -c) >> "$root/boot/initrd.img-$kernel"
  printf "menuentry 'Debian GNU/Linux' {\n\tlinux\t/boot/vmlinuz-%s root=UUID=%s ro\n\tinitrd\t/boot/initrd.img-%s\n}\n" \
    "$kernel" "$uuid" "$kernel" > "$root/boot/grub/grub.cfg"
  mke2fs -q -F -t ext4 -U "$uuid" -L rootfs -d "$root" "$t/root.ext4" 48M > /dev/null
  if [ "$kind" = nopart ]; then
    qemu-img convert -f raw -O qcow2 "$t/root.ext4" "$out"
  else
    truncate -s 64M "$t/disk.raw"
    printf 'label: dos\nstart=2048,type=83,bootable\n' | sfdisk -q "$t/disk.raw"
    dd if="$t/root.ext4" of="$t/disk.raw" bs=1M seek=1 conv=notrunc status=none
    qemu-img convert -f raw -O qcow2 "$t/disk.raw" "$out"
  fi
  rm -rf "$t"
}
mkdir -p "$run/uploads"
for k in good novirtio nocloudinit nopart datadisk notimage; do make_disk "$run/uploads/$k" "$k"; done
for n in 0 1 2 3 4 5; do tool put "$s3" uploads "good-$n.qcow2" "$run/uploads/good"; done
for k in novirtio nocloudinit nopart datadisk; do tool put "$s3" uploads "$k.qcow2" "$run/uploads/$k"; done
tool put "$s3" uploads notimage.xz "$run/uploads/notimage"
declare -A url
for n in 0 1 2 3 4 5; do url[good-$n]=$(tool presign "$s3" uploads "good-$n.qcow2" 3600); done
for k in novirtio nocloudinit nopart datadisk; do url[$k]=$(tool presign "$s3" uploads "$k.qcow2" 3600); done
url[notimage]=$(tool presign "$s3" uploads notimage.xz 3600)
for n in 0 1; do
  tool put "$s3" uploads "deleted-$n.qcow2" "$run/uploads/good"
  url[deleted-$n]=$(tool presign "$s3" uploads "deleted-$n.qcow2" 3600)
  tool rm "$s3" uploads "deleted-$n.qcow2"
done
say "uploads ready ($(du -k "$run/uploads/good" | cut -f1) KiB good disk) after $(($(date +%s) - started)) s"

# --- The service ---------------------------------------------------------------------------------
accounts=(AKIDscale000000000000000000000000001 AKIDscale000000000000000000000000002 AKIDscale000000000000000000000000003)
keys=(scale-key-one scale-key-two scale-key-three)
cat > "$run/config.json" <<JSON
{"accounts": [{"secret_id": "${accounts[0]}", "secret_key": "${keys[0]}", "app_id": "1250000101"},
              {"secret_id": "${accounts[1]}", "secret_key": "${keys[1]}", "app_id": "1250000102"},
              {"secret_id": "${accounts[2]}", "secret_key": "${keys[2]}", "app_id": "1250000103"}],
 "object_storage": [{"host": "127.0.0.1:$swift_port", "region": "ap-guangzhou"}],
 "task_lease_seconds": 8,
 "catalog": "$pg_url",
 "image_store": {"location": "s3://store/prod", "endpoint": "$s3", "region": "us-east-1",
                 "access_key": "test:tester", "secret_key": "testing", "part_size_bytes": 5242880},
 "notify": {"smtp_url": "smtp://127.0.0.1:$smtp_port", "mail_from": "imagegate@example.com",
            "retry_min_seconds": 1, "retry_max_seconds": 2, "timeout_seconds": 5, "lease_seconds": 8}}
JSON
declare -A api_port=([a]=$(free_port) [b]=$(free_port))
endpoint() { echo "http://127.0.0.1:${api_port[$1]}"; }
ready() {  # PORT: /readyz answers 200 within 15 s
  for _ in $(seq 1 150); do
    curl -sf --noproxy '*' -m 2 -o /dev/null "http://127.0.0.1:$1/readyz" && return 0
    sleep 0.1
  done
  return 1
}
start_serve() {  # a | b
  "$imagegate" serve --config "$run/config.json" --data "$run/data-serve-$1" --listen "127.0.0.1:${api_port[$1]}" \
    --workers 0 >> "$work/serve-$1.log" 2>&1 &
  pid[serve-$1]=$!
  ready "${api_port[$1]}" || { tail -20 "$work/serve-$1.log"; fail "serve $1 is not ready"; }
}
start_worker() {  # 1 | 2 | 3 (what its scratch directory holds now is not a sign of work)
  ls "$run/data-worker-$1/scratch" 2> /dev/null > "$run/stale-$1" || true
  "$imagegate" worker --config "$run/config.json" --data "$run/data-worker-$1" >> "$work/worker-$1.log" 2>&1 &
  pid[worker-$1]=$!
}
rm -f "$work"/serve-*.log "$work"/worker-*.log
start_serve a
start_serve b
for w in 1 2 3; do start_worker $w; done
say "2 servers (:${api_port[a]}, :${api_port[b]}), 3 workers, PostgreSQL :$pg_port, Swift :$swift_port, SMTP :$smtp_port"

for n in 0 1 2; do
  s=$([ $((n % 2)) = 0 ] && echo a || echo b)
  tool subscribe "$(endpoint $s)" "${accounts[$n]}" "${keys[$n]}" "account$((n + 1))@example.com"
done

# --- The 30 imports, in 3 batches, with faults between them ---------------------------------------
# Import i: account i % 3, server a or b by turn; every 5 imports hold 2 failures (the 6 kinds in
# turn, each twice in all) and 3 good disks.
fails=(novirtio nocloudinit nopart datadisk notimage deleted)
declare -A code=([novirtio]=VirtioNotInstall [nocloudinit]=CloudInitNotInstalled [nopart]=PartitionNotPresent
                 [datadisk]=RootPartitionNotFound [notimage]=InvalidFormatSize [deleted]=InvalidUrl)
plan=$run/plan.jsonl
: > "$plan"
nfail=0
submit() {  # FIRST LAST
  local i a s kind u id expect c
  for i in $(seq "$1" "$2"); do
    a=$((i % 3))
    s=$([ $((i % 2)) = 0 ] && echo a || echo b)
    if [ $((i % 5)) = 1 ] || [ $((i % 5)) = 3 ]; then
      kind=${fails[$((nfail % 6))]}
      [ "$kind" = deleted ] && u=${url[deleted-$((nfail / 6))]} || u=${url[$kind]}
      expect=IMPORTFAILED c=${code[$kind]}
      nfail=$((nfail + 1))
    else
      kind=good u=${url[good-$((i % 6))]} expect=NORMAL c=
    fi
    id=$(tool import "$(endpoint $s)" "${accounts[$a]}" "${keys[$a]}" "scale-$i-$kind" "$u") ||
      fail "ImportImage $i at serve $s"
    printf '{"id": "%s", "account": %d, "secret_id": "%s", "secret_key": "%s", "name": "scale-%d-%s", "expect": "%s", "code": "%s"}\n' \
      "$id" "$a" "${accounts[$a]}" "${keys[$a]}" "$i" "$kind" "$expect" "$c" >> "$plan"
  done
}
# busy_worker: the number of a worker with a new file in its scratch directory (downloading or
# converting), one not killed yet first, waiting up to 20 s; a busy one is preferred but any
# will do.
declare -A killed
busy_worker() {
  local w
  for _ in $(seq 1 200); do
    for w in $(for w in 1 2 3; do echo "${killed[$w]:-0} $w"; done | sort -n | cut -d' ' -f2); do
      ls "$run/data-worker-$w/scratch" 2> /dev/null | grep -qvxFf "$run/stale-$w" && { echo "$w"; return; }
    done
    sleep 0.1
  done
  echo 1
}
kill_worker() {
  local w
  w=$(busy_worker)
  local busy
  busy=$(ls "$run/data-worker-$w/scratch" 2> /dev/null | grep -vxFf "$run/stale-$w" | paste -sd ' ' || true)
  killed[$w]=$((${killed[$w]:-0} + 1))
  { kill -9 "${pid[worker-$w]}"; wait "${pid[worker-$w]}"; } 2> /dev/null || true
  say "kill -9 worker $w (scratch: ${busy:-empty}) at $(($(date +%s) - started)) s"
  sleep 1
  start_worker "$w"
}
# term_worker: SIGTERM to a busy worker: it stops claiming, releases (or finishes) the import in
# hand and exits 0 within 15 s; then it is started again.
term_worker() {
  local w rc=0
  w=$(busy_worker)
  kill -TERM "${pid[worker-$w]}"
  for _ in $(seq 1 150); do kill -0 "${pid[worker-$w]}" 2> /dev/null || break; sleep 0.1; done
  kill -0 "${pid[worker-$w]}" 2> /dev/null && fail "worker $w still runs 15 s after SIGTERM"
  wait "${pid[worker-$w]}" || rc=$?
  [ $rc = 0 ] || fail "worker $w exited $rc after SIGTERM"
  released=$(grep -c '"import released for another worker"' "$work/worker-$w.log" || true)
  say "SIGTERM worker $w: exited 0 ($released import(s) released in all) at $(($(date +%s) - started)) s"
  start_worker "$w"
}

submit 0 9
kill_worker
kills=1
submit 10 19
{ kill -9 "${pid[serve-a]}"; wait "${pid[serve-a]}"; } 2> /dev/null || true
say "kill -9 serve a at $(($(date +%s) - started)) s"
runuser -u nobody -- "${IG_PG_BIN:-/usr/lib/postgresql/15/bin}/pg_ctl" -D "$pg_dir/data" -m fast -w -t 30 restart \
  -l "$pg_dir/server.log" > /dev/null || fail "pg_ctl restart"
say "PostgreSQL restarted at $(($(date +%s) - started)) s"
start_serve a
submit 20 29
term_worker
kill_worker
kills=2

# --- Waiting, then the checks ------------------------------------------------------------------
left=$(tool wait "$plan" 240 "$(endpoint a)" "$(endpoint b)") || left="the wait failed ($?):"
if [ "$left" != 0 ]; then
  for w in 1 2 3; do echo "== worker $w, last lines"; tail -5 "$work/worker-$w.log" | cut -c1-300; done >&2
  fail "$left images still importing after 240 s (catalog in $work/catalog-dump.txt)"
fi
say "all imports ended at $(($(date +%s) - started)) s"
# E-mail is sent after the message: wait (bounded) for every delivery to be SENT.
for _ in $(seq 1 300); do
  [ "$(psql "$pg_url" -AtqXc "SELECT COUNT(*) FROM outbox WHERE state <> 'SENT'")" = 0 ] && break
  sleep 0.2
done
sleep 1  # a duplicate send still in flight lands in the Maildir
result=$(tool verify "$plan" "$pg_url" "$s3" store prod "$run/maildir" "$(endpoint a)" "$(endpoint b)") ||
  { echo "$result"; fail "the checks failed (logs in $work)"; }
# A worker killed after its download leaves it in its scratch directory; once another worker
# has finished that import, the restarted worker sweeps it (at start, then every 10 s idle).
leftover=x
for _ in $(seq 1 100); do
  leftover=$(cd "$run" && ls -d data-worker-*/scratch/* 2> /dev/null | paste -sd ' ' || true)
  [ -z "$leftover" ] && break
  sleep 0.2
done
[ -z "$leftover" ] || fail "scratch files left 20 s after the imports ended: $leftover"
# An import that ends while PostgreSQL restarts is recorded once the catalog is back (the
# worker retries finish_task), not done again.
unrecorded=$(cat "$work"/worker-*.log | grep -c '"import not recorded"' || true)
[ "$unrecorded" = 0 ] || fail "$unrecorded finished import(s) not recorded across the PostgreSQL restart"
retried=$(cat "$work"/worker-*.log | grep -c 'the catalog is unavailable, retrying' || true)
j() { $py -c "import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$result" "$1"; }
normal=$(j normal) failed=$(j failed)
[ "$((normal + failed))" = 30 ] || fail "$normal NORMAL + $failed failed is not 30"
say "catalog: $(j images) images, $(j messages) messages; store: $(j objects) objects; Maildir: $(j mails) mails ($(j mail_duplicates) duplicate); $(j retried_tasks) tasks taken again; $retried waits for the catalog to record an import"
echo "scale: 30 imports ($normal NORMAL, $failed failed as expected), $kills worker kills, 1 serve kill, 1 PostgreSQL restart, 0 duplicates, store == catalog, mails == messages, in $(($(date +%s) - started)) s"
