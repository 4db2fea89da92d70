#!/usr/bin/env bash
# imagegate check against virt-inspector on the same Debian 12 image, in one run.
#
#   bench/check_bench.sh [IMAGEGATE] [WORKDIR]
#
# The image is the one tests/integration/debian12.sh leaves in WORKDIR (it makes it first when
# missing). Prints each tool's wall time (imagegate: the median of RUNS runs), the ratio, peak
# RSS, and the bytes imagegate read from the image file (pread64 calls on it, counted by strace),
# then the stage table of one more run (`check --stages`: per stage, its time and the bytes it
# read from the file; the bytes add up to strace's count), so that the slowest stage is visible.
# virt-inspector runs its appliance under TCG here (no KVM), as ../shared/notes/machine.md says.
set -euo pipefail
imagegate=$(realpath "${1:-build/release/src/cli/imagegate}")
work=$(realpath -m "${2:-build/debian12}")
runs=${RUNS:-5}
image="$work/debian12.qcow2"
[ -f "$image" ] || "$(dirname "$0")/../tests/integration/debian12.sh" "$imagegate" "$work" > /dev/null
kver=$(basename "$(ls "$work"/root/boot/vmlinuz-* | sort -V | tail -1)" | sed 's/^vmlinuz-//')

seconds() { /usr/bin/time -f '%e %M' -o "$work/time.out" "$@" > /dev/null 2>&1 || true; cat "$work/time.out"; }

sync
declare -a times
for i in $(seq 1 "$runs"); do
  read -r t rss < <(seconds "$imagegate" check --output=json "$image")
  times+=("$t")
done
ig_time=$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(( (runs + 1) / 2 ))p")
ig_rss=$rss
strace -f -e trace=pread64 -o "$work/strace.out" "$imagegate" check "$image" > /dev/null 2>&1 || true
ig_bytes=$(awk -F' = ' '/pread64/ && $NF ~ /^[0-9]+$/ {s += $NF} END {print s + 0}' "$work/strace.out")
image_bytes=$(stat -c %s "$image")
"$imagegate" check --stages "$image" > /dev/null 2> "$work/stages.out" || true

mkdir -p /lib/modules
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
export SUPERMIN_KERNEL="$work/root/boot/vmlinuz-$kver" SUPERMIN_MODULES="$work/root/lib/modules/$kver"
virt-inspector --format=qcow2 -a "$image" > /dev/null 2>&1 || true  # builds the appliance cache once
read -r vi_time vi_rss < <(seconds virt-inspector --format=qcow2 -a "$image")

printf '%-16s %10s %12s %16s\n' tool seconds "peak RSS" "bytes read"
printf '%-16s %10s %9s MiB %16s\n' "imagegate check" "$ig_time" $((ig_rss / 1024)) "$ig_bytes"
printf '%-16s %10s %9s MiB %16s\n' virt-inspector "$vi_time" $((vi_rss / 1024)) "-"
echo "image: $image_bytes bytes; imagegate read $(awk -v a="$ig_bytes" -v b="$image_bytes" 'BEGIN {printf "%.2f%%", 100 * a / b}') of it"
echo "stages of imagegate check (one run):"
cat "$work/stages.out"
echo "speed-up: $(awk -v a="$vi_time" -v b="$ig_time" 'BEGIN {if (b > 0) printf "%.0fx", a / b; else print "inf"}') (goal: >= 300x, issue 17)"
