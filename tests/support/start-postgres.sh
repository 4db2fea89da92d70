#!/usr/bin/env bash
# start-postgres.sh DIR PORT: a throw-away PostgreSQL 15 for the tests, in DIR, listening on
# 127.0.0.1:PORT only (trust authentication, fsync off: speed over durability). Prints the URL of
# its database `imagegate`. Idempotent: a server already running in DIR is reused. Serialised by
# a lock on DIR.lock, so parallel tests may all call it. As root, the server runs as `nobody`
# (PostgreSQL refuses root). Stop it with tests/support/stop-postgres.sh DIR.
set -euo pipefail
dir=${1:?usage: start-postgres.sh DIR PORT}
port=${2:?usage: start-postgres.sh DIR PORT}
bin=${IG_PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$bin/initdb" ] || { echo "start-postgres: $bin/initdb not found (apt-get install postgresql)" >&2; exit 2; }
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u nobody --); fi

mkdir -p "$dir"
exec 9> "$dir.lock"
flock 9
if [ "$(id -u)" -eq 0 ]; then
  chown nobody "$dir"
  runuser -u nobody -- test -x "$dir" ||
    { echo "start-postgres: $dir is not reachable by the user nobody the server runs as (a parent directory is not searchable, e.g. a mktemp -d one: chmod 755 it)" >&2; exit 1; }
fi
if [ ! -f "$dir/data/PG_VERSION" ]; then
  rm -rf "$dir/data"
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 > "$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
fi
if ! "${as[@]}" "$bin/pg_ctl" -D "$dir/data" status > /dev/null 2>&1; then
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start > /dev/null 9>&- || { tail -20 "$dir/server.log" >&2; exit 1; }
fi
url="postgresql://postgres@127.0.0.1:$port"
if ! psql "$url/postgres" -Atqc "SELECT 1 FROM pg_database WHERE datname = 'imagegate'" | grep -q 1; then
  psql "$url/postgres" -qc "CREATE DATABASE imagegate" > /dev/null
fi
echo "$url/imagegate"
