#!/usr/bin/env bash
# Installs what imagegate needs from Debian 12's packages. Run as root (or with sudo); safe to
# run again.
#   install-deps.sh --run   to build the release binary and run the main job (scripts/run.sh)
#   install-deps.sh         (or --test) everything to build, test and fuzz (scripts/test.sh)
set -euo pipefail

# The main job: the build, and the tools scripts/sample-guest.sh and scripts/run.sh use.
run_packages=(
  g++ cmake ninja-build pkg-config
  libexpected-dev libfmt-dev libcli11-dev nlohmann-json3-dev zlib1g-dev libdeflate-dev libzstd-dev
  libgtest-dev libgmock-dev libbenchmark-dev libarchive-dev libsqlite3-dev libssl-dev libmicrohttpd-dev
  libcurl4-openssl-dev libpq-dev libseccomp-dev
  qemu-utils python3 fdisk e2fsprogs cpio gzip zstd
)

packages=(
  # toolchain
  g++ clang libclang-rt-14-dev cmake ninja-build pkg-config clang-format
  # lld links the tiny aarch64 and i386 executables of the architecture tests (clang --target)
  lld
  # libraries
  libexpected-dev libfmt-dev libcli11-dev nlohmann-json3-dev zlib1g-dev libdeflate-dev libzstd-dev
  libgtest-dev libgmock-dev libbenchmark-dev libarchive-dev libsqlite3-dev libssl-dev libmicrohttpd-dev libcurl4-openssl-dev
  # the sandbox every parse of an uploaded image runs in (seccomp-bpf; docs/security.md)
  libseccomp-dev
  # the catalog on PostgreSQL: the client library, and the server its tests start
  libpq-dev postgresql
  # the real tools the tests use as oracles and fixture makers
  qemu-utils strace bzip2 xz-utils zstd lz4 gzip tar cpio genisoimage python3 coreutils time bc
  fdisk gdisk e2fsprogs dosfstools xfsprogs ntfs-3g btrfs-progs lvm2 cryptsetup-bin exfatprogs
  # FreeBSD UFS2 images (NetBSD's makefs, ported by Debian)
  makefs
  # ZFS pools made by a real ZFS for the vdev-label probe (zfs-fuse runs in user space over FUSE;
  # tests/support/make-zfs-vdev.sh starts and stops its daemon)
  zfs-fuse
  # the Debian 12 tier: a real system from the mirror, and libguestfs's inspector as the oracle
  debootstrap libguestfs-tools
  # rpm databases for RHEL-family fixtures (rpmbuild, rpm --initdb; sqlite3 loads the corpus dump)
  rpm sqlite3
  # NTFS volumes filled without a mount; registry hives edited and read back
  wimtools libhivex-bin libwin-hivex-perl
  # the service's real peers on loopback: an SMTP server writing a Maildir, OpenStack Swift with
  # s3api (../shared/tools/start-swift.sh) and botocore to upload and presign URLs
  python3-aiosmtpd swift swift-proxy swift-object swift-container swift-account memcached python3-botocore
  # the web console's end-to-end tests: Debian's Chromium, which playwright-core (npm) drives
  # headless, so that no browser is downloaded; a CJK font for the Chinese and Japanese screenshots
  chromium fonts-droid-fallback
)

# Node and npm drive the API tests with the official SDK; an existing Node (e.g. from NodeSource)
# is kept, since Debian's npm package conflicts with it.
command -v npm > /dev/null || packages+=(nodejs npm)

case "${1:---test}" in
  --run) packages=("${run_packages[@]}") ;;
  --test) ;;
  *) echo "usage: install-deps.sh [--run|--test]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
