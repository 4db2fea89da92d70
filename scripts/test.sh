#!/usr/bin/env bash
# Installs, builds with ASan + UBSan and -Werror, runs every test, then builds the libFuzzer
# targets with clang and runs each for a short budget on seeds made by qemu-img. Between the two,
# the Debian 12 tier (a debootstrapped system judged by `imagegate check` and virt-inspector), the
# API tier (the official Node SDK), the web console in Chromium, the service tier (Swift, SMTP,
# webhooks, kill -9) and the scale tier (PostgreSQL and S3, several servers and workers, faults).
# This is what CI runs (.ci/run). FUZZ_SECONDS (default 30) sets each target's budget.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each section's header says how long the run has taken so far, so a slow tier shows in the log.
section() { echo "== $* [${SECONDS} s]"; }
scripts/install-deps.sh

section "format check"
files=$(git ls-files '*.cc' '*.h' 2>/dev/null || find src tests bench -name '*.cc' -o -name '*.h')
if ! clang-format --dry-run --Werror $files; then
  echo "clang-format: run 'clang-format -i \$(git ls-files \"*.cc\" \"*.h\")'" >&2
  exit 1
fi

section "build (asan)"
cmake --preset asan > /dev/null
cmake --build --preset asan

section "real servers for the catalog and store tests: PostgreSQL 15 and Swift + s3api on loopback"
servers=$(mktemp -d)
chmod 755 "$servers"  # PostgreSQL runs as nobody
pg_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop_servers() {
  tests/support/stop-postgres.sh "$servers/pg" > /dev/null 2>&1 || true
  tests/support/stop-swift.sh "$servers/swift" > /dev/null 2>&1 || true
  rm -rf "$servers"
}
trap stop_servers EXIT
IG_TEST_POSTGRES_URL=$(tests/support/start-postgres.sh "$servers/pg" "$pg_port")
IG_TEST_S3_ENDPOINT=$(tests/support/start-swift.sh "$servers/swift" 2> "$servers/swift.err") ||
  { cat "$servers/swift.err" >&2; exit 1; }
export IG_TEST_POSTGRES_URL IG_TEST_S3_ENDPOINT
echo "PostgreSQL $IG_TEST_POSTGRES_URL, S3 $IG_TEST_S3_ENDPOINT"

section "tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --preset asan -j "$(nproc)" --timeout 900
stop_servers
trap - EXIT

section "Debian 12 tier (debootstrap, imagegate check, virt-inspector)"
tests/integration/debian12.sh build/asan/src/cli/imagegate build/debian12

section "API against the official Node SDK (npm)"
tests/integration/api_sdk.sh build/asan/src/cli/imagegate build/api-sdk

section "the web console in Debian's Chromium (playwright-core, axe-core from npm); screenshots in build/console/screenshots"
tests/integration/console.sh build/asan/src/cli/imagegate build/console

section "the import service: Swift + s3api, SMTP, webhooks, a worker process, kill -9; on both pairs of backends"
for backends in sqlite-dir postgresql-s3; do
  tests/integration/service.sh build/asan/src/cli/imagegate "build/service-$backends" build/debian12/debian12.qcow2 "$backends"
done

section "scaled out: 2 serve + 3 worker processes on PostgreSQL and S3 (Swift), kill -9, a PostgreSQL restart"
tests/integration/scale.sh build/asan/src/cli/imagegate build/scale

section "fuzz (clang, ${FUZZ_SECONDS:-30} s per target)"
cmake --preset fuzz > /dev/null
cmake --build --preset fuzz
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
tests/fuzz/make-seeds.sh "$seeds" > /dev/null
for t in qcow2 vhd vmdk open_image partitions ext xfs btrfs ufs freebsd zfs lvm initramfs boot_config os_release inspect rpmdb kernel_image ntfs hive; do
  mkdir -p "$seeds/corpus-$t"
  # The campaign's corpus (tests/fuzz/campaign.sh) is where the short run starts from.
  if [ -f "tests/fuzz/corpus/$t.tar.xz" ]; then tar -xJf "tests/fuzz/corpus/$t.tar.xz" -C "$seeds/corpus-$t"; fi
  # max_len covers the seeds: a qemu-made dynamic VHD holds one whole 2 MiB block.
  max_len=3000000
  # -reload=0: one process, nothing else writes the corpus (rereading and hashing it each second
  # took a third of btrfs's time).
  if ! build/fuzz/tests/fuzz/fuzz_$t -max_total_time="${FUZZ_SECONDS:-30}" -rss_limit_mb=2048 -max_len=$max_len -reload=0 \
      -artifact_prefix="build/fuzz/crash-$t-" "$seeds/corpus-$t" "$seeds/$t" > "build/fuzz/fuzz-$t.log" 2>&1; then
    echo "fuzz_$t found a crash; artifact and log under build/fuzz/:" >&2
    tail -40 "build/fuzz/fuzz-$t.log" >&2
    exit 1
  fi
  echo "fuzz_$t: $(grep -E '^#[0-9]+' "build/fuzz/fuzz-$t.log" | tail -1)"
done
echo "all tests and fuzz targets passed in ${SECONDS} s"
