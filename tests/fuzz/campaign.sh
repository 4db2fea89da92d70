#!/usr/bin/env bash
# The fuzz campaign (issue 15): runs libFuzzer targets (ASan + UBSan, the `fuzz` preset) for a
# while each, on the corpus kept in the repository, and records what each run did. Runs outside
# CI (CI runs each target for 30 s in scripts/test.sh); the totals are in docs/security.md.
#
#   tests/fuzz/campaign.sh SECONDS [TARGET...]      (default: every target)
#   EXECS=N  stop each target after N executions instead (SECONDS is then a cap, 0 for none): a
#            run paused (SIGSTOP, to free its core for a benchmark) still does its N
#   nice level 10
#   SIGINT to a running fuzz_TARGET stops it early: the run is recorded, executions counted (exit
#   72, libFuzzer's "run interrupted"), not a crash, and the campaign goes on to the next target.
#
# For each target: its kept corpus is tests/fuzz/corpus/TARGET.tar.xz (disk images are mostly
# zeros: 138 MB of inputs pack into about 1 MB), seeded from make-seeds.sh when absent; the
# target runs SECONDS on a scratch copy of it; the new inputs are merged back minimised
# (-merge=1: only inputs that add coverage stay) and packed again; a line goes to
# tests/fuzz/campaign.tsv:
#   date  target  executions  seconds  corpus-files  corpus-bytes  crashes  checksums
# `checksums` is `skipped` for a fuzz tree whose readers let a wrong checksum through
# (src/base/checksum.h; every fuzz build since 2026-12-07), `refused` for the runs before.
# A crash stops the campaign, its input and log kept under build/fuzz/campaign/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:?usage: tests/fuzz/campaign.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(qcow2 vhd vmdk open_image partitions ext xfs btrfs ufs freebsd zfs lvm initramfs
  boot_config os_release inspect rpmdb kernel_image ntfs hive)
bin=build/fuzz/tests/fuzz
work=build/fuzz/campaign
mkdir -p "$work"
[ -f tests/fuzz/campaign.tsv ] ||
  printf 'date\ttarget\texecutions\tseconds\tcorpus_files\tcorpus_bytes\tcrashes\tchecksums\n' > tests/fuzz/campaign.tsv
checksums=refused
grep -q FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION build/fuzz/compile_commands.json 2> /dev/null && checksums=skipped
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
tests/fuzz/make-seeds.sh "$seeds" > /dev/null

# The longest input each target is given: the format targets' seeds are made small, the file
# systems need a few of their blocks (btrfs's are block-mapped: only those that are not zeros).
# LVM's label, metadata header and text sit in the PV's first few KiB (the 64 MiB device is padded
# behind the input): given 3 MB, its inputs grew to 400 KB and its rate fell from ~4,000 to ~1,500
# a second (2026-12-07).
max_len() {
  case $1 in
    ext | xfs | ufs | freebsd | zfs | ntfs | partitions | open_image | vhd) echo 3000000 ;;
    lvm) echo 65536 ;;
    *) echo 1100000 ;;
  esac
}

for t in "${targets[@]}"; do
  [ -x "$bin/fuzz_$t" ] || { echo "no $bin/fuzz_$t: cmake --preset fuzz && cmake --build --preset fuzz" >&2; exit 2; }
  pack=tests/fuzz/corpus/$t.tar.xz
  run=$work/$t
  kept=$run/kept
  rm -rf "$run"
  mkdir -p "$run/corpus" "$kept"
  if [ -f "$pack" ]; then tar -xJf "$pack" -C "$kept"; else cp "$seeds/$t"/* "$kept/"; fi
  cp "$kept"/* "$run/corpus/"
  log=$work/$t.log
  status=0
  began=$SECONDS
  # -reload=0: nothing else writes the corpus; rereading and hashing it every second took a third
  # of the btrfs target's time.
  nice -n 10 "$bin/fuzz_$t" -max_total_time="$seconds" -runs="${EXECS:--1}" -rss_limit_mb=2048 \
    -max_len="$(max_len "$t")" -reload=0 -print_final_stats=1 -artifact_prefix="$work/crash-$t-" "$run/corpus" > "$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  took=$(sed -n 's/^stat::.*//;s/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log" | tail -1)
  [ -n "$took" ] || took=$((SECONDS - began))  # interrupted: no "Done" line
  crashes=0
  if [ "$status" -ne 0 ] && [ "$status" -ne 72 ]; then
    crashes=1
  fi
  # Minimise: the kept corpus and the new inputs, merged into the inputs that cover something.
  mkdir -p "$run/merged"
  nice -n 10 "$bin/fuzz_$t" -merge=1 -rss_limit_mb=2048 -max_len="$(max_len "$t")" "$run/merged" "$kept" \
    "$run/corpus" > "$work/$t.merge.log" 2>&1
  mkdir -p tests/fuzz/corpus
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$run/merged" -cf - . | xz -9 -T1 > "$pack"
  files=$(find "$run/merged" -type f | wc -l)
  bytes=$(du -sb "$run/merged" | cut -f1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%F)" "$t" "${execs:-0}" "${took:-$seconds}" "$files" \
    "$bytes" "$crashes" "$checksums" >> tests/fuzz/campaign.tsv
  echo "fuzz_$t: ${execs:-0} executions in ${took:-$seconds} s; corpus $files files, $bytes bytes"
  if [ "$crashes" -ne 0 ]; then
    echo "fuzz_$t found a crash: $log and $work/crash-$t-*" >&2
    tail -40 "$log" >&2
    exit 1
  fi
done
