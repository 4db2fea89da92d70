#!/usr/bin/env bash
# stop-swift.sh — stops the Swift that tests/support/start-swift.sh started in STATE_DIR, and
# nothing else: each PID comes from STATE_DIR/run/<server>.pid and is signalled only while its
# /proc/PID/cmdline still holds the marker written at start (our config path, our memcached
# port), so a reused PID is never hit. Idempotent.
#
#   tests/support/stop-swift.sh [--purge] [STATE_DIR]   (or IG_SWIFT_DIR; default /tmp/ig-swift-$UID)
#
# --purge also deletes STATE_DIR (data, rings, ports) once everything is stopped.
set -uo pipefail

purge=no
if [ "${1:-}" = --purge ]; then purge=yes; shift; fi
dir=${1:-${IG_SWIFT_DIR:-/tmp/ig-swift-$(id -u)}}
[ -d "$dir" ] || exit 0
dir=$(cd "$dir" && pwd -P)

ours() {  # $1 pid  $2 server
  [ -r "/proc/$1/cmdline" ] && [ -s "$dir/run/$2.marker" ] &&
    { tr '\0' ' ' < "/proc/$1/cmdline"; echo; } | grep -qF -- "$(cat "$dir/run/$2.marker")"
}

signalled=()
for s in proxy-server object-server container-server account-server memcached; do
  pid=$(cat "$dir/run/$s.pid" 2> /dev/null) || continue
  if ours "$pid" "$s" && kill -TERM "$pid" 2> /dev/null; then signalled+=("$pid:$s"); fi
done
for entry in "${signalled[@]}"; do
  pid=${entry%%:*}
  s=${entry#*:}
  for _ in $(seq 50); do ours "$pid" "$s" || break; sleep 0.1; done
  # Started by setsid: the process group is the server and what it forked, nothing else.
  if ours "$pid" "$s"; then kill -KILL -- "-$pid" 2> /dev/null; fi
done
rm -f "$dir"/run/*.pid "$dir"/run/*.marker
if [ $purge = yes ]; then
  # Only a directory that start-swift.sh made (its ports file and run/ are there).
  if [ -f "$dir/etc/ports" ] && [ -d "$dir/run" ]; then rm -rf "$dir"; fi
fi
echo "stop-swift: ${#signalled[@]} server(s) stopped in $dir" >&2
