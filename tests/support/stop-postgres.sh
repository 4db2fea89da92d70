#!/usr/bin/env bash
# stop-postgres.sh DIR: stops the server start-postgres.sh started in DIR (if running) and
# removes DIR.
set -euo pipefail
dir=${1:?usage: stop-postgres.sh DIR}
bin=${IG_PG_BIN:-/usr/lib/postgresql/15/bin}
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u nobody --); fi
if [ -f "$dir/data/postmaster.pid" ]; then
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null 2>&1 || true
fi
rm -rf "$dir" "$dir.lock"
