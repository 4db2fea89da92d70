#!/usr/bin/env bash
# Import at the speed of the download (issue 17): see bench/import_bench.py, which it runs.
#   bench/import_bench.sh [BUILD_DIR] [WORKDIR]     SIZE=2G RUNS=3
exec /usr/bin/python3 "$(dirname "$0")/import_bench.py" "$@"
