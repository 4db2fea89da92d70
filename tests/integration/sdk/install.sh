#!/usr/bin/env bash
# Installs the official Node SDK (tencentcloud-sdk-nodejs-cvm, from npm) into DIR/node_modules
# unless it is there.
#   tests/integration/sdk/install.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
if [ ! -d "$dir/node_modules/tencentcloud-sdk-nodejs-cvm" ]; then
  echo "sdk: npm install tencentcloud-sdk-nodejs-cvm"
  (cd "$dir" && npm install --silent --no-audit --no-fund tencentcloud-sdk-nodejs-cvm@4 > npm.log 2>&1) ||
    { tail -20 "$dir/npm.log" >&2; echo "sdk: npm install failed" >&2; exit 1; }
fi
