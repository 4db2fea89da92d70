#!/usr/bin/env bash
# imagegate convert against qemu-img convert, in the same run, warm page cache, best of N.
# Sources: raw sparse (8 GiB virtual, 2 GiB data: half random, half base64 text), and the same
# disk as VMDK monolithicSparse, VHD dynamic, qcow2, VMDK streamOptimized and compressed qcow2.
# Prints wall times, the ratio imagegate / qemu-img, and both peak RSS values; then the peak
# RSS of converting a 500 GiB-virtual sparse image.
# Goals (issue 5): ratio <= 0.7 for uncompressed sources, <= 0.5 for compressed ones; < 64 MiB RSS.
# A benchmark, not a test: nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-2}
cmake --preset release > /dev/null
cmake --build --preset release --target imagegate > /dev/null
ig=$PWD/build/release/src/cli/imagegate

work=${BENCH_DIR:-$(mktemp -d /var/tmp/imagegate-bench.XXXXXX)}
trap 'rm -rf "$work"' EXIT
echo "making an 8 GiB disk holding 2 GiB (32 runs of 64 MiB, random and text alternating) ..."
truncate -s 8G "$work/disk.raw"
for i in $(seq 0 31); do
  if [ $((i % 2)) -eq 0 ]; then
    head -c 64M /dev/urandom > "$work/run.bin"
  else
    head -c 64M < <(base64 -w 76 /dev/urandom) > "$work/run.bin"
  fi
  dd if="$work/run.bin" of="$work/disk.raw" bs=1M seek=$((i * 256)) conv=notrunc status=none
done
rm -f "$work/run.bin"
qemu-img convert -f raw -O vmdk "$work/disk.raw" "$work/sparse.vmdk"
qemu-img convert -f raw -O vpc -o force_size=on "$work/disk.raw" "$work/dynamic.vhd"
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/plain.qcow2"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$work/disk.raw" "$work/stream.vmdk"
qemu-img convert -c -f raw -O qcow2 "$work/disk.raw" "$work/compressed.qcow2"

# best wall seconds and the peak RSS (KiB) of that run, of $runs runs
best() {
  local best_t="" best_m=""
  for _ in $(seq "$runs"); do
    rm -f "$work/out.qcow2"
    /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" > /dev/null
    read -r t m < "$work/time.txt"
    if [ -z "$best_t" ] || [ "$(echo "$t < $best_t" | bc -l)" = 1 ]; then best_t=$t; best_m=$m; fi
  done
  echo "$best_t $best_m"
}

# imagegate fsyncs its output before renaming it into place; qemu-img does not sync the data it
# converts. The "+sync" column times qemu-img followed by `sync` of its output: the same
# durability, for a fair second ratio.
row() {  # row LABEL SOURCE QEMU_FORMAT [extra args for both tools]
  local label=$1 src=$2 qfmt=$3
  shift 3
  cat "$src" > /dev/null
  read -r ours ours_m < <(best "$ig" convert "$@" "$src" "$work/out.qcow2")
  read -r theirs theirs_m < <(best qemu-img convert -f "$qfmt" -O qcow2 "$@" "$src" "$work/out.qcow2")
  read -r synced _ < <(best bash -c 'qemu-img convert -f "$0" -O qcow2 "${@:3}" "$1" "$2" && sync "$2"' \
    "$qfmt" "$src" "$work/out.qcow2" "$@")
  printf "%-22s %10.2f %10.2f %10.2f %7.2f %7.2f %10d %10d\n" "$label" "$ours" "$theirs" "$synced" \
    "$(echo "$ours / $theirs" | bc -l)" "$(echo "$ours / $synced" | bc -l)" $((ours_m / 1024)) $((theirs_m / 1024))
}

printf "%-22s %10s %10s %10s %7s %7s %10s %10s\n" source imagegate_s qemu-img_s +sync_s ratio ratio_s ig_MiB qemu_MiB
row "raw sparse" "$work/disk.raw" raw
row "vmdk monolithicSparse" "$work/sparse.vmdk" vmdk
row "vhd dynamic" "$work/dynamic.vhd" vpc
row "qcow2" "$work/plain.qcow2" qcow2
row "vmdk streamOptimized" "$work/stream.vmdk" vmdk
row "qcow2 compressed" "$work/compressed.qcow2" qcow2
row "raw -> qcow2 -c" "$work/disk.raw" raw -c

# What any converter that makes its output durable needs on this disk at the least: the time to
# flush 2 GiB (what the uncompressed outputs hold) from the page cache to the disk, with no
# reading, converting or copying timed at all. Best of $runs.
floor=""
for _ in $(seq "$runs"); do
  dd if=/dev/urandom of="$work/floor.bin" bs=4M count=512 status=none
  /usr/bin/time -f "%e" -o "$work/time.txt" sync "$work/floor.bin"
  t=$(cat "$work/time.txt")
  if [ -z "$floor" ] || [ "$(echo "$t < $floor" | bc -l)" = 1 ]; then floor=$t; fi
  rm -f "$work/floor.bin"
done
read -r raw_qemu _ < <(best qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/out.qcow2")
printf "\nflush floor: 2 GiB from the page cache to the disk takes %.2f s = %.2f x qemu-img's raw conversion (%.2f s)\n" \
  "$floor" "$(echo "$floor / $raw_qemu" | bc -l)" "$raw_qemu"

echo
echo "500 GiB-virtual sparse qcow2 holding 256 MiB:"
rm -f "$work"/*.raw "$work"/*.vmdk "$work"/*.vhd "$work"/*.qcow2
qemu-img create -q -f qcow2 "$work/huge.qcow2" 500G
qemu-io -c "write -P 0x5a 0 128M" -c "write -P 0xa5 400G 128M" "$work/huge.qcow2" > /dev/null
read -r t m < <(best "$ig" convert "$work/huge.qcow2" "$work/out.qcow2")
read -r qt qm < <(best qemu-img convert -O qcow2 "$work/huge.qcow2" "$work/out.qcow2")
printf "imagegate %.2f s, peak RSS %d MiB; qemu-img %.2f s, peak RSS %d MiB\n" "$t" $((m / 1024)) "$qt" $((qm / 1024))
