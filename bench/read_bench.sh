#!/usr/bin/env bash
# Reading all allocated data of a 4 GiB image holding ~1 GiB of data, imagegate against
# `qemu-img convert -O raw` to a sparse file, in the same run, warm page cache, best of N runs.
# Prints one row per format and the time ratio imagegate / qemu-img (goal <= 1.0).
# A benchmark, not a test: nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
cmake --preset release > /dev/null
cmake --build --preset release --target read_all > /dev/null
reader=build/release/bench/read_all

work=${BENCH_DIR:-$(mktemp -d /var/tmp/imagegate-bench.XXXXXX)}
trap 'rm -rf "$work"' EXIT
echo "making a 4 GiB disk with 1 GiB of data in 16 runs of 64 MiB ..."
truncate -s 4G "$work/disk.raw"
for i in $(seq 0 15); do
  head -c 64M /dev/urandom | dd of="$work/disk.raw" bs=1M seek=$((i * 256)) conv=notrunc status=none
done
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
qemu-img convert -f raw -O vmdk "$work/disk.raw" "$work/disk.vmdk"
qemu-img convert -f raw -O vpc -o force_size=on "$work/disk.raw" "$work/disk.vhd"

best() {  # best wall time of $runs runs of a command, in seconds
  local b=""
  for _ in $(seq "$runs"); do
    local s e t
    s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l)
    if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
  done
  echo "$b"
}

printf "%-8s %12s %12s %10s %8s\n" format data_MiB imagegate_s qemu-img_s ratio
for f in raw qcow2 vmdk vhd; do
  img="$work/disk.$f"
  qfmt=$f; [ "$f" = vhd ] && qfmt=vpc
  cat "$img" > /dev/null  # warm the page cache for both readers
  data=$($reader "$img" | awk '{print $1}')
  ours=$(best "$reader" "$img")
  theirs=$(best qemu-img convert -f "$qfmt" -O raw "$img" "$work/out.raw")
  rm -f "$work/out.raw"
  printf "%-8s %12d %12.3f %10.3f %8.2f\n" "$f" $((data / 1048576)) "$ours" "$theirs" "$(echo "$ours / $theirs" | bc -l)"
done
