#!/usr/bin/env bash
# The API's throughput and latency on loopback: `imagegate serve` (embedded default, a catalog
# holding IMAGES images) driven by bench/api_load at increasing rates, open loop, signed requests
# on keep-alive connections. Two actions: DescribeImages (a page of 20 from the catalog) and
# ImportImage with DryRun (every validation, the name and quota queries, nothing written).
# Prints, per rate, the achieved rate and p50/p90/p99/max latency. Client and server share the
# machine's cores.
#
#   bench/api_bench.sh [BUILD_DIR] [WORKDIR]      (default build/release, build/api-bench)
#   RATES=250,500,1000,2000,4000 BENCH_SECONDS=5 CONNECTIONS=8 IMAGES=200
#   CATALOG=postgresql: the catalog in a PostgreSQL 15 of its own (tests/support/start-postgres.sh)
#   instead of SQLite.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-build/release}")
work=$(realpath -m "${2:-build/api-bench}")
rates=${RATES:-250,500,1000,2000,4000}
seconds=${BENCH_SECONDS:-5}
connections=${CONNECTIONS:-8}
images=${IMAGES:-200}
imagegate=$build/src/cli/imagegate
load=$build/bench/api_load
[ -x "$imagegate" ] && [ -x "$load" ] || { echo "build first: cmake --build --preset release" >&2; exit 2; }
rm -rf "$work" && mkdir -p "$work"
catalog=""
if [ "${CATALOG:-sqlite}" = postgresql ]; then
  chmod 755 "$work"  # PostgreSQL runs as nobody
  pg_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  pg_url=$("$top/tests/support/start-postgres.sh" "$work/pg" "$pg_port")
  catalog="\"catalog\": \"$pg_url\","
fi
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
id=AKIDbench00000000000000000000000001
key=bench-key
cat > "$work/config.json" <<JSON
{$catalog "accounts": [{"secret_id": "$id", "secret_key": "$key", "app_id": "1250000001"}],
 "object_storage_hosts": ["127.0.0.1:1"], "image_quota": 100000}
JSON
"$imagegate" serve --config "$work/config.json" --data "$work/data" --listen "127.0.0.1:$port" --workers 0 \
  > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2> /dev/null || true; [ -z "$catalog" ] || "$top/tests/support/stop-postgres.sh" "$work/pg" > /dev/null' EXIT
for _ in $(seq 1 100); do grep -q listening "$work/serve.log" && break; sleep 0.1; done
url=http://127.0.0.1:$port
import='{"ImageName": "bench-{n}", "ImageUrl": "http://127.0.0.1:1/images/bench.qcow2", "OsType": "Debian",
 "OsVersion": "12", "Architecture": "x86_64"'
"$load" "$url" "$id" "$key" ImportImage "$import}" --requests "$images"
echo "api bench: $images images in the ${CATALOG:-sqlite} catalog; $seconds s per rate, $connections connections, $(nproc) cores"
"$load" "$url" "$id" "$key" DescribeImages '{"Limit": 20}' --rates "$rates" --seconds "$seconds" \
  --connections "$connections"
"$load" "$url" "$id" "$key" ImportImage "${import/bench-/dry-}, \"DryRun\": true}" --expect DryRunOperation --rates "$rates" \
  --seconds "$seconds" --connections "$connections" | tail -n +2
echo "server peak RSS: $(awk '/VmHWM/ {print $2 / 1024 " MiB"}' /proc/$pid/status)"
