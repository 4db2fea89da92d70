#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install, build (release), then a real import on
# the embedded default — `imagegate serve` with its SQLite catalog and local image directory — of
# a sample Linux disk served from a local object store on loopback, through the cloud API; then
# the resulting image, and the message the account received.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --run
cmake --preset release > /dev/null
cmake --build --preset release

ig=$PWD/build/release/src/cli/imagegate
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done; rm -rf "$work"' EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do { exec 3<> "/dev/tcp/127.0.0.1/$1"; } 2> /dev/null && { exec 3>&-; return 0; }; sleep 0.1; done; return 1; }

echo
echo "== A sample Linux system disk (Debian 12 layout, virtio, cloud-init), exported as VMware does"
mkdir -p "$work/bucket"
scripts/sample-guest.sh "$work/bucket/debian12.vmdk"
echo "\$ imagegate check --os-type Debian --os-version 12 --arch x86_64 debian12.vmdk"
NO_COLOR=1 "$ig" check --os-type Debian --os-version 12 --arch x86_64 "$work/bucket/debian12.vmdk" | head -3

echo
echo "== The object store (loopback) and the import service on its embedded default"
store=$(free_port)
api=$(free_port)
(cd "$work/bucket" && exec /usr/bin/python3 -m http.server --bind 127.0.0.1 "$store" > "$work/store.log" 2>&1) &
pids+=($!)
cat > "$work/service.json" <<JSON
{"accounts": [{"secret_id": "AKIDdemo000000000000000000000000001", "secret_key": "demo-key", "app_id": "1250000001"}],
 "object_storage_hosts": ["127.0.0.1:$store"]}
JSON
"$ig" serve --config "$work/service.json" --data "$work/data" --listen "127.0.0.1:$api" > "$work/serve.log" 2>&1 &
pids+=($!)
wait_port "$store" && wait_port "$api" || { cat "$work/serve.log" "$work/store.log"; exit 1; }
echo "imagegate serve --data DATA: listening on 127.0.0.1:$api; object store on 127.0.0.1:$store"
export TC_SECRET_ID=AKIDdemo000000000000000000000000001 TC_SECRET_KEY=demo-key
call() { scripts/tc3call.py "http://127.0.0.1:$api" "$@"; }

echo
echo "\$ ImportImage {ImageUrl: http://127.0.0.1:$store/debian12.vmdk, OsType: Debian, OsVersion: 12, ...}"
id=$(call ImportImage "{\"ImageName\": \"debian12-sample\", \"ImageUrl\": \"http://127.0.0.1:$store/debian12.vmdk\",
  \"OsType\": \"Debian\", \"OsVersion\": \"12\", \"Architecture\": \"x86_64\"}" |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["ImageId"])')
echo "ImageId: $id"
for _ in $(seq 1 600); do
  state=$(call DescribeImages "{\"ImageIds\": [\"$id\"]}" |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["ImageSet"][0]["ImageState"])')
  [ "$state" != IMPORTING ] && break
  sleep 0.2
done
echo
echo "\$ DescribeImages {ImageIds: [$id]}"
call DescribeImages "{\"ImageIds\": [\"$id\"]}"
echo
echo "\$ DescribeMessages {}"
call DescribeMessages '{}'
echo
echo "\$ qemu-img compare debian12.vmdk DATA/images/$id.qcow2"
qemu-img compare "$work/bucket/debian12.vmdk" "$work/data/images/$id.qcow2"
[ "$state" = NORMAL ]
