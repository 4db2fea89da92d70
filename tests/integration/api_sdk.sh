#!/usr/bin/env bash
# The API against the official Node SDK (tencentcloud-sdk-nodejs-cvm from npm, unmodified):
# DescribeImportImageOs answers SPEC §2's list; a wrong key is AuthFailure.SignatureFailure, an
# unknown SecretId AuthFailure.SecretIdNotFound, a 10-minute-old timestamp
# AuthFailure.SignatureExpire, an unknown action InvalidAction — each with a RequestId.
#
# Then imports through a local object store (python3 -m http.server on loopback): a data disk
# ends IMPORTFAILED with RootPartitionNotFound, a missing object InvalidUrl (deleted), a host
# that is not the configured object storage InvalidUrl; with DEBIAN_IMAGE (the Debian 12 tier's
# qcow2) a real system imports NORMAL and the stored qcow2 equals it (qemu-img compare).
#
#   tests/integration/api_sdk.sh IMAGEGATE [WORKDIR] [DEBIAN_IMAGE]
set -euo pipefail
imagegate=$(realpath "$1")
work=$(realpath -m "${2:-build/api-sdk}")
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
fail() { echo "api-sdk: FAIL: $*" >&2; exit 1; }

if [ ! -d "$work/node_modules/tencentcloud-sdk-nodejs-cvm" ]; then
  echo "api-sdk: npm install tencentcloud-sdk-nodejs-cvm"
  (cd "$work" && npm install --silent --no-audit --no-fund tencentcloud-sdk-nodejs-cvm@4 > npm.log 2>&1) ||
    { tail -20 "$work/npm.log" >&2; fail "npm install failed"; }
fi
rm -rf "$work/data"
cp "$here/sdk/calls.js" "$here/sdk/import.js" "$work/"
debian=${3:-}
store_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/config.json" <<'JSON'
{"accounts": [{"secret_id": "AKIDtest0000000000000000000000000001", "secret_key": "secret-one", "app_id": "1250000001"},
              {"secret_id": "AKIDtest0000000000000000000000000002", "secret_key": "secret-two", "app_id": "1250000002"}],
 "object_storage_hosts": ["127.0.0.1:STORE_PORT"]}
JSON
sed -i "s/STORE_PORT/$store_port/" "$work/config.json"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Phase 1 without workers, so that imports stay IMPORTING while the catalog is examined.
"$imagegate" serve --config "$work/config.json" --data "$work/data" --listen "127.0.0.1:$port" --workers 0 \
  > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2> /dev/null || true' EXIT
for _ in $(seq 1 50); do grep -q listening "$work/serve.log" && break; sleep 0.1; done
grep -q listening "$work/serve.log" || { cat "$work/serve.log"; fail "the server did not start"; }

(cd "$work" && unset http_proxy https_proxy && node calls.js "$port") > "$work/results.jsonl"
get() { python3 -c "
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d['case'] == sys.argv[2]:
        print(eval(sys.argv[3]))" "$work/results.jsonl" "$1" "$2"; }

[ "$(get os-list "d['ok']")" = True ] || fail "DescribeImportImageOs: $(get os-list d)"
[ "$(get os-list "'Debian' in d['response']['ImportImageOsListSupported']['Linux']")" = True ] || fail "no Debian in the list"
[ "$(get os-list "'Windows Server 2022' in d['response']['ImportImageOsListSupported']['Windows']")" = True ] ||
  fail "no Windows Server 2022 in the list"
[ "$(get os-list "len(d['response']['RequestId']) == 36")" = True ] || fail "RequestId"
echo "api-sdk: DescribeImportImageOs: $(get os-list "len(d['response']['ImportImageOsVersionSet'])") operating systems"
for c in "wrong-key AuthFailure.SignatureFailure" "unknown-id AuthFailure.SecretIdNotFound" \
         "stale AuthFailure.SignatureExpire" "unknown-action InvalidAction"; do
  set -- $c
  [ "$(get "$1" "d['ok']")" = False ] || fail "$1 should fail"
  [ "$(get "$1" "d['code']")" = "$2" ] || fail "$1: got $(get "$1" "d['code']"), expected $2"
  [ "$(get "$1" "len(d['requestId'] or '')")" = 36 ] || fail "$1: no RequestId"
  [ "$(get "$1" "len(d['traceId'] or '')")" = 36 ] || fail "$1: X-TC-TraceId not echoed"
  echo "api-sdk: $1: $2 ($(get "$1" "d['message']"))"
done
# The catalog: ImportImage validation and its synchronous codes, then isolation between accounts.
[ "$(get import-dry-run "d['code']")" = DryRunOperation ] || fail "DryRun: $(get import-dry-run d)"
[ "$(get import "d['ok']")" = True ] || fail "ImportImage: $(get import d)"
id=$(get import "d['response']['ImageId']")
[[ "$id" =~ ^img-[a-z0-9]{8}$ ]] || fail "ImageId '$id'"
first=$id
for c in "import-duplicate InvalidImageName.Duplicate" "import-bad-os InvalidImageOsType.Unsupported" \
         "import-bad-version InvalidImageOsVersion.Unsupported" \
         "import-bad-url InvalidParameter.InvalidParameterUrlError" \
         "import-iso InvalidParameterValue.ISOMustImportByForce" \
         "import-boot-mode InvalidParameterValue.InvalidBootMode" \
         "import-license InvalidParameterValue.InvalidLicenseType" "import-missing MissingParameter" \
         "import-long-name InvalidParameterValue.TooLong" \
         "other-describe InvalidImageId.NotFound" "other-modify InvalidImageId.NotFound" \
         "other-delete InvalidImageId.NotFound" "delete-importing InvalidImageState"; do
  set -- $c
  [ "$(get "$1" "d['code']")" = "$2" ] || fail "$1: got $(get "$1" "d.get('code')") ($(get "$1" "d.get('message')")), expected $2"
done
[ "$(get describe-all "d['response']['TotalCount']")" = 1 ] || fail "DescribeImages: $(get describe-all d)"
[ "$(get describe-all "d['response']['ImageSet'][0]['ImageState']")" = IMPORTING ] || fail "state"
[ "$(get describe-all "d['response']['ImageSet'][0]['ImageSource']")" = EXTERNAL_IMPORT ] || fail "source"
[ "$(get describe-filter "d['response']['TotalCount']")" = 1 ] || fail "tag filter"
[ "$(get other-list "d['response']['TotalCount']")" = 0 ] || fail "another account sees the image"
[ "$(get describe-after-modify "d['response']['ImageSet'][0]['ImageName']")" = debian-web-2 ] || fail "modify"
echo "api-sdk: ImportImage $id (IMPORTING); 13 refusals with their codes; another account sees nothing"
# Phase 2: the same data directory served again, now with a worker: the catalog survived the
# restart, and the import left IMPORTING above is taken up (and fails: its host is not storage).
kill "$pid"
wait "$pid" 2> /dev/null || true
"$imagegate" serve --config "$work/config.json" --data "$work/data" --listen "127.0.0.1:$port" > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q listening "$work/serve.log" && break; sleep 0.1; done

# Imports through the worker, from a local object store.
store="$work/store"
rm -rf "$store" && mkdir -p "$store/data"
echo hello > "$store/data/readme.txt"
truncate -s 64M "$store/data-disk.raw"
printf 'label: dos\nstart=2048,type=83\n' | sfdisk -q "$store/data-disk.raw"
mke2fs -q -F -t ext4 -d "$store/data" "$work/data-part.ext4" 40M > /dev/null 2>&1
dd if="$work/data-part.ext4" of="$store/data-disk.raw" bs=512 seek=2048 conv=notrunc status=none
[ -n "$debian" ] && ln -sf "$(realpath "$debian")" "$store/debian12.qcow2"
(cd "$store" && exec python3 -m http.server --bind 127.0.0.1 "$store_port" > "$work/store.log" 2>&1) &
store_pid=$!
trap 'kill $pid $store_pid 2> /dev/null || true' EXIT
sleep 1
(cd "$work" && unset http_proxy https_proxy && node import.js "$port" "http://127.0.0.1:$store_port" \
  "http://127.0.0.2:$store_port" ${debian:+debian12.qcow2}) > "$work/imports.jsonl" || { cat "$work/imports.jsonl"; fail "imports"; }
imp() { python3 -c "
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d['name'] == sys.argv[2]:
        print(eval(sys.argv[3]))" "$work/imports.jsonl" "$1" "$2"; }
[ "$(imp data-disk "d['state'] + ' ' + d['code']")" = "IMPORTFAILED RootPartitionNotFound" ] || fail "data disk: $(imp data-disk d)"
[ "$(imp deleted "d['state'] + ' ' + d['code']")" = "IMPORTFAILED InvalidUrl" ] || fail "deleted: $(imp deleted d)"
[ "$(imp not-storage "d['state'] + ' ' + d['code']")" = "IMPORTFAILED InvalidUrl" ] || fail "not storage: $(imp not-storage d)"
echo "api-sdk: data disk: $(imp data-disk "d['message']")"
echo "api-sdk: missing object: $(imp deleted "d['message']")"
echo "api-sdk: other host: $(imp not-storage "d['message']")"
if [ -n "$debian" ]; then
  [ "$(imp debian12 "d['state']")" = NORMAL ] || fail "debian12: $(imp debian12 d)"
  [ "$(imp debian12 "d['cloudinit']")" = True ] || fail "debian12 cloud-init"
  id=$(imp debian12 "d['id']")
  qemu-img compare -q "$debian" "$work/data/images/$id.qcow2" || fail "the stored image differs from the upload"
  qemu-img check -q "$work/data/images/$id.qcow2" || fail "qemu-img check"
  echo "api-sdk: debian12 imported as $id, NORMAL, $(imp debian12 "d['size']") GiB; qemu-img compare: identical"
fi
[ -z "$(ls -A "$work/data/scratch" 2> /dev/null)" ] || fail "scratch files left behind"
state=$(sqlite3 "$work/data/catalog.sqlite" "SELECT state || ' ' || error_code FROM images WHERE image_id = '$first'")
[ "$state" = "IMPORTFAILED InvalidUrl" ] || fail "the import queued before the restart: $state"
echo "api-sdk: the import queued before the restart ended $state"
echo "api-sdk: all cases passed"
