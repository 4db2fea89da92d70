#!/usr/bin/env bash
# start-swift.sh — the project's S3-compatible store for tests: a single-node OpenStack Swift with
# its s3api middleware on 127.0.0.1, from Debian 12's packages
#   apt-get install --no-install-recommends swift swift-proxy swift-object swift-container \
#       swift-account memcached        (memcached optional: tempauth caches tokens in it)
#
#   tests/support/start-swift.sh [STATE_DIR]      (or IG_SWIFT_DIR; default /tmp/ig-swift-$UID)
#
# Prints one line on stdout, the S3 endpoint ("http://127.0.0.1:PORT"); everything else goes to
# stderr and STATE_DIR/log. Idempotent: if the servers of STATE_DIR are running they are left
# alone and the same endpoint is printed. Everything lives in STATE_DIR (etc/ data/ run/ log/);
# the packaged /etc/swift is never read, since the servers start through a small Python wrapper
# that points Swift at STATE_DIR/etc/swift.conf. tests/support/stop-swift.sh STATE_DIR stops them.
#
# Ports: IG_SWIFT_PORT for the S3 endpoint (default: a free port chosen at first start and kept
# in STATE_DIR/etc/ports); the account, container and object servers and memcached take other
# free loopback ports, also kept. Credentials: IG_SWIFT_ACCESS_KEY (account:user, default
# test:tester) and IG_SWIFT_SECRET_KEY (default testing). s3api is configured like AWS where
# Swift's defaults differ: 10,000 parts per multipart upload (Swift: 1,000) and 5 GiB parts.
# Exit status: 0 up, 1 failed to start, 2 bad usage, 3 Swift not installed.
set -euo pipefail

dir=${1:-${IG_SWIFT_DIR:-/tmp/ig-swift-$(id -u)}}
access=${IG_SWIFT_ACCESS_KEY:-test:tester}
secret=${IG_SWIFT_SECRET_KEY:-testing}
py=/usr/bin/python3
swift_py=/usr/lib/python3/dist-packages/swift
user=$(id -un)
say() { echo "start-swift: $*" >&2; }

case "$access" in *:*) ;; *) say "IG_SWIFT_ACCESS_KEY must be account:user"; exit 2 ;; esac
for f in common/middleware/s3api/s3api.py proxy/server.py obj/server.py container/server.py account/server.py; do
  if [ ! -f "$swift_py/$f" ]; then
    say "Swift is not installed ($swift_py/$f missing): apt-get install swift swift-proxy swift-object swift-container swift-account"
    exit 3
  fi
done

mkdir -p "$dir"/etc "$dir"/data/d1 "$dir"/run "$dir"/log
dir=$(cd "$dir" && pwd -P)
servers="account-server container-server object-server proxy-server"
if command -v memcached > /dev/null; then servers="memcached $servers"; fi

# Ports: kept from an earlier start, so that a restart keeps the endpoint (and the rings).
if [ ! -s "$dir/etc/ports" ]; then
  $py -c '
import socket, sys
socks, ports = [], []
for want in [int(sys.argv[1]), 0, 0, 0, 0]:
    s = socket.socket()
    s.bind(("127.0.0.1", want))
    socks.append(s)
    ports.append(s.getsockname()[1])
print("proxy=%d account=%d container=%d object=%d memcached=%d" % tuple(ports))
' "${IG_SWIFT_PORT:-0}" > "$dir/etc/ports.new"
  mv "$dir/etc/ports.new" "$dir/etc/ports"
fi
port() { tr ' ' '\n' < "$dir/etc/ports" | sed -n "s/^${1%-server}=//p"; }
if [ -n "${IG_SWIFT_PORT:-}" ] && [ "$(port proxy)" != "$IG_SWIFT_PORT" ]; then
  say "$dir was set up for port $(port proxy), not IG_SWIFT_PORT=$IG_SWIFT_PORT: stop-swift.sh --purge it first"
  exit 2
fi

# What /proc/PID/cmdline of each of our servers contains (stop-swift.sh checks it too).
marker() { if [ "$1" = memcached ]; then echo "-p $(port memcached) "; else echo "$dir/etc/$1.conf"; fi; }
running() {
  local pid
  pid=$(cat "$dir/run/$1.pid" 2> /dev/null) || return 1
  [ -r "/proc/$pid/cmdline" ] && { tr '\0' ' ' < "/proc/$pid/cmdline"; echo; } | grep -qF -- "$(marker "$1")"
}
listening() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# ---- configuration, rewritten at every start (running servers keep what they read)
printf '%s\n' \
  '[swift-hash]' \
  'swift_hash_path_suffix = imagegate-test' \
  'swift_hash_path_prefix = imagegate-test' \
  '[storage-policy:0]' \
  'name = Policy-0' \
  'default = yes' \
  '[swift-constraints]' \
  '# an S3 part (or PutObject) may be 5 GiB, as on AWS' \
  'max_file_size = 5368709122' > "$dir/etc/swift.conf"

for s in account container object; do
  printf '%s\n' \
    '[DEFAULT]' \
    'bind_ip = 127.0.0.1' \
    "bind_port = $(port $s)" \
    "devices = $dir/data" \
    'mount_check = false' \
    "swift_dir = $dir/etc" \
    "user = $user" \
    'workers = 0' \
    "log_name = $s-server" \
    '[pipeline:main]' \
    "pipeline = $s-server" \
    "[app:$s-server]" \
    "use = egg:swift#$s" > "$dir/etc/$s-server.conf"
done

filters=""
for f in dlo copy listing_formats healthcheck gatekeeper catch_errors; do
  filters="$filters[filter:$f]"$'\n'"use = egg:swift#$f"$'\n'
done
printf '%s\n' \
  '[DEFAULT]' \
  'bind_ip = 127.0.0.1' \
  "bind_port = $(port proxy)" \
  "swift_dir = $dir/etc" \
  "user = $user" \
  'workers = 0' \
  'log_name = proxy-server' \
  '[pipeline:main]' \
  'pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server' \
  '[app:proxy-server]' \
  'use = egg:swift#proxy' \
  'account_autocreate = true' \
  '[filter:s3api]' \
  'use = egg:swift#s3api' \
  'location = us-east-1' \
  'max_upload_part_num = 10000' \
  '[filter:tempauth]' \
  'use = egg:swift#tempauth' \
  "user_${access%%:*}_${access#*:} = $secret .admin" \
  '[filter:slo]' \
  'use = egg:swift#slo' \
  '# a completed multipart upload is an SLO manifest with one segment per part' \
  'max_manifest_segments = 10000' \
  'max_manifest_size = 16777216' \
  '[filter:cache]' \
  'use = egg:swift#memcache' \
  "memcache_servers = 127.0.0.1:$(port memcached)" \
  '[filter:proxy-logging]' \
  'use = egg:swift#proxy_logging' \
  "$filters" > "$dir/etc/proxy-server.conf"

# Swift reads /etc/swift/swift.conf when its modules are imported unless told otherwise first.
printf '%s\n' \
  'import sys' \
  'import swift.common.utils as utils' \
  "utils.SWIFT_CONF_FILE = '$dir/etc/swift.conf'" \
  'from swift.common.wsgi import run_wsgi' \
  'name, conf = sys.argv[1], sys.argv[2]' \
  'extra = {}' \
  'if name == "object-server":' \
  '    from swift.obj import server' \
  '    extra["global_conf_callback"] = server.global_conf_callback' \
  'sys.exit(run_wsgi(conf, name, verbose=True, **extra))' > "$dir/etc/run-server.py"

# ---- rings: one device, one replica
if [ ! -f "$dir/etc/object.ring.gz" ] || [ ! -f "$dir/etc/container.ring.gz" ] || [ ! -f "$dir/etc/account.ring.gz" ]; then
  $py -c '
import os, sys
from swift.common.ring import RingBuilder
etc = sys.argv[1]
for name, port in zip(("object", "container", "account"), map(int, sys.argv[2:5])):
    b = RingBuilder(6, 1, 1)
    b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": port, "device": "d1", "weight": 1.0})
    b.rebalance(seed=1)
    b.get_ring().save(os.path.join(etc, name + ".ring.gz"))
' "$dir/etc" "$(port object)" "$(port container)" "$(port account)"
fi

# ---- start what is not running, each in its own session so stop-swift.sh can signal its group
for s in $servers; do
  running "$s" && continue
  if listening "$(port "$s")"; then
    say "127.0.0.1:$(port "$s") ($s) is taken by a process that is not ours"
    exit 1
  fi
  if [ "$s" = memcached ]; then
    setsid memcached -l 127.0.0.1 -p "$(port memcached)" -U 0 -m 32 -u "$user" >> "$dir/log/$s.log" 2>&1 < /dev/null &
  else
    setsid "$py" "$dir/etc/run-server.py" "$s" "$dir/etc/$s.conf" >> "$dir/log/$s.log" 2>&1 < /dev/null &
  fi
  echo $! > "$dir/run/$s.pid"
  marker "$s" > "$dir/run/$s.marker"
done

# ---- wait for every port and for the proxy's health check
deadline=$((SECONDS + 60))
for s in $servers; do
  until listening "$(port "$s")"; do
    if ! running "$s"; then
      say "$s exited; the end of $dir/log/$s.log:"
      tail -n 20 "$dir/log/$s.log" >&2
      exit 1
    fi
    [ $SECONDS -lt $deadline ] || { say "$s did not listen on $(port "$s") within 60 s"; exit 1; }
    sleep 0.1
  done
done
until [ "$(curl --noproxy '*' -s -m 2 "http://127.0.0.1:$(port proxy)/healthcheck" || true)" = OK ]; do
  [ $SECONDS -lt $deadline ] || { say "the proxy's /healthcheck did not answer OK within 60 s"; exit 1; }
  sleep 0.1
done
echo "http://127.0.0.1:$(port proxy)"
