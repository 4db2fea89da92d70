#!/usr/bin/env bash
# Installs the console tests' npm packages into DIR/node_modules unless they are there:
# playwright-core (drives Debian's /usr/bin/chromium; it downloads no browser of its own) and
# axe-core (the accessibility rules), at the versions of tests/console/package.json.
#   tests/console/install.sh DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
mkdir -p "$dir"
cp "$here/package.json" "$dir/package.json"
if [ ! -f "$dir/node_modules/playwright-core/package.json" ] || [ ! -f "$dir/node_modules/axe-core/axe.min.js" ]; then
  echo "console: npm install playwright-core axe-core"
  (cd "$dir" && npm install --silent --no-audit --no-fund > npm.log 2>&1) ||
    { tail -20 "$dir/npm.log" >&2; echo "console: npm install failed" >&2; exit 1; }
fi
