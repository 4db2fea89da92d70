#!/usr/bin/env bash
# make-zfs-vdev.sh VDEV SIZE POOL [ZDB_OUT]
#
# Makes VDEV (a file of SIZE, e.g. 64M, ZFS's smallest) a one-vdev ZFS pool named POOL with
# Debian's zfs-fuse, then exports the pool, so that the file holds what `zpool create` writes on
# a partition: four vdev labels, the uberblock rings and the pool's first transaction groups.
# With ZDB_OUT, `zdb -l VDEV` (the labels as ZFS itself reads them) is written there.
#
# zfs-fuse is a daemon listening on a fixed socket (/var/run/zfs/zfs_socket): callers are
# serialised by a lock, a daemon already running is used as it is, and one started here is
# stopped before the script ends. Exit 77 (skip) when zfs-fuse is not installed or this is not
# root; any other failure exits 1 with the failing command's output.
set -euo pipefail
vdev=$1 size=$2 pool=$3 zdb_out=${4:-}

if ! command -v zfs-fuse > /dev/null || ! command -v zpool > /dev/null; then
  echo "zfs-fuse is not installed (Debian package zfs-fuse)"
  exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "zfs-fuse needs root (FUSE and /var/run/zfs)"
  exit 77
fi

exec 9> /run/lock/imagegate-zfs-fuse.lock
flock -w 120 9

tmp=$(mktemp -d)
started=""
cleanup() {
  zpool export "$pool" > /dev/null 2>&1 || true
  if [ -n "$started" ] && kill -0 "$started" 2> /dev/null; then
    kill "$started"
    # zfs-fuse takes a few seconds to sync and leave; the socket goes with it.
    for _ in $(seq 1 200); do kill -0 "$started" 2> /dev/null || break; sleep 0.1; done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

if ! zpool list > /dev/null 2>&1; then
  zfs-fuse --no-kstat-mount -p "$tmp/pid" > "$tmp/daemon.log" 2>&1
  for _ in $(seq 1 100); do
    [ -s "$tmp/pid" ] && zpool list > /dev/null 2>&1 && break
    sleep 0.1
  done
  started=$(cat "$tmp/pid" 2> /dev/null || true)
  if ! zpool list > /dev/null 2>&1; then
    echo "zfs-fuse did not start:"
    cat "$tmp/daemon.log"
    exit 1
  fi
fi

rm -f "$vdev"
truncate -s "$size" "$vdev"
# cachefile=none: the pool is not recorded in /etc/zfs/zpool.cache; -m none: nothing is mounted.
zpool create -f -o cachefile=none -m none "$pool" "$(realpath "$vdev")"
[ -z "$zdb_out" ] || zdb -l "$(realpath "$vdev")" > "$zdb_out"
zpool export "$pool"
