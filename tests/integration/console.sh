#!/usr/bin/env bash
# The web console end to end in Debian's Chromium (tests/console/console.test.mjs, driven by
# playwright-core from npm, axe-core judging each page), against `imagegate serve` on loopback:
#
#   - two accounts (English; Chinese), serve without workers so that imports stay IMPORTING until
#     the test runs `imagegate worker --until-idle` itself;
#   - OpenStack Swift + s3api (tests/support/start-swift.sh) holding two small sample disks made by
#     scripts/sample-guest.sh — a good one and one without virtio — behind presigned URLs;
#   - account 2 has imported one image before the browser arrives, through the API.
#
# Screenshots of every page (English and Japanese, some in Chinese, one at 360 px) are written to
# WORKDIR/screenshots.
#   tests/integration/console.sh IMAGEGATE WORKDIR
set -euo pipefail
imagegate=$(realpath "$1")
work=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
support=$root/tests/support
py=/usr/bin/python3
fail() { echo "console: FAIL: $*" >&2; exit 1; }
say() { echo "console: $*"; }
free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
[ -x /usr/bin/chromium ] || fail "no /usr/bin/chromium (scripts/install-deps.sh installs Debian's chromium)"

mkdir -p "$work"
"$root/tests/console/install.sh" "$work"
cp "$root/tests/console/console.test.mjs" "$work/"
rm -rf "$work/data" "$work/files" "$work/screenshots" "$work/serve.log"
mkdir -p "$work/files"

swift_port=$(free_port)
export IG_SWIFT_DIR="$work/swift" IG_SWIFT_PORT=$swift_port
pids=()
cleanup() {
  for p in "${pids[@]}"; do { kill "$p" && wait "$p"; } 2> /dev/null || true; done
  bash "$support/stop-swift.sh" > /dev/null 2>&1 || true
}
trap cleanup EXIT
bash "$support/stop-swift.sh" --purge > /dev/null 2>&1 || true
bash "$support/start-swift.sh" > "$work/swift.log" 2>&1 || { cat "$work/swift.log"; fail "Swift did not start"; }
s3="http://127.0.0.1:$swift_port"
s3tool() { env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY $py "$here/s3tool.py" "$s3" "$@"; }

"$root/scripts/sample-guest.sh" "$work/files/debian12.vmdk"
"$root/scripts/sample-guest.sh" --no-virtio "$work/files/debian12-novirtio.vmdk"
s3tool mb images
s3tool put images debian12.vmdk "$work/files/debian12.vmdk"
s3tool put images debian12-novirtio.vmdk "$work/files/debian12-novirtio.vmdk"
good=$(s3tool presign images debian12.vmdk 3600)
bad=$(s3tool presign images debian12-novirtio.vmdk 3600)
say "Swift on $s3: a good disk and one without virtio ($(stat -c %s "$work/files/debian12.vmdk") bytes each), presigned"

api_port=$(free_port)
id_a=AKIDconsole00000000000000000000000001
id_b=AKIDconsole00000000000000000000000002
cat > "$work/config.json" <<JSON
{"accounts": [{"secret_id": "$id_a", "secret_key": "console-key-one", "app_id": "1250000101"},
              {"secret_id": "$id_b", "secret_key": "console-key-two", "app_id": "1250000102", "language": "zh"}],
 "object_storage": [{"host": "127.0.0.1:$swift_port", "region": "ap-guangzhou"}]}
JSON
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
"$imagegate" serve --config "$work/config.json" --data "$work/data" --listen "127.0.0.1:$api_port" --workers 0 \
  > "$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  { exec 3<> "/dev/tcp/127.0.0.1/$api_port"; } 2> /dev/null && { exec 3>&-; break; }
  sleep 0.1
done

# Account 2's own image, imported through the API before the browser comes.
other=$(TC_SECRET_ID=$id_b TC_SECRET_KEY=console-key-two env -u http_proxy $py "$root/scripts/tc3call.py" \
  "http://127.0.0.1:$api_port" ImportImage \
  "{\"ImageName\": \"account-two-image\", \"OsType\": \"Debian\", \"OsVersion\": \"12\", \"Architecture\": \"x86_64\", \"ImageUrl\": \"$(s3tool presign images debian12.vmdk 3600)\"}") ||
  fail "account 2's import: $other"
"$imagegate" worker --config "$work/config.json" --data "$work/data" --until-idle > "$work/worker.log" 2>&1 ||
  { cat "$work/worker.log"; fail "the worker for account 2's image"; }
say "account 2 imported account-two-image ($(echo "$other" | $py -c 'import json,sys; print(json.load(sys.stdin)["ImageId"])'))"

(cd "$work" && env -u http_proxy -u https_proxy \
  IG_BASE="http://127.0.0.1:$api_port" IG_IMAGEGATE="$imagegate" IG_CONFIG="$work/config.json" IG_DATA="$work/data" \
  IG_SCREENSHOTS="$work/screenshots" IG_ID_A=$id_a IG_KEY_A=console-key-one IG_ID_B=$id_b IG_KEY_B=console-key-two \
  IG_GOOD_URL="$good" IG_BAD_URL="$bad" IG_GOOD_FILE="$work/files/debian12.vmdk" \
  IG_BAD_FILE="$work/files/debian12-novirtio.vmdk" IG_OTHER_IMAGE=account-two-image \
  timeout 600 node console.test.mjs) || { tail -30 "$work/serve.log"; fail "the browser tests (screenshots in $work/screenshots)"; }
say "screenshots: $(ls "$work/screenshots" | wc -l) in $work/screenshots"
