#!/usr/bin/env bash
# The API against the official Node SDK (tencentcloud-sdk-nodejs-cvm from npm, unmodified):
# DescribeImportImageOs answers SPEC §2's list; a wrong key is AuthFailure.SignatureFailure, an
# unknown SecretId AuthFailure.SecretIdNotFound, a 10-minute-old timestamp
# AuthFailure.SignatureExpire, an unknown action InvalidAction — each with a RequestId.
#
# Then ImportImage's validation, the catalog's isolation between accounts, signature v1, the
# message center's refusals, image sharing between accounts, and the catalog across a restart. Imports themselves: tests/integration/service.sh.
# Last, the request limits under load (api_limits.py).
#
#   tests/integration/api_sdk.sh IMAGEGATE [WORKDIR]
set -euo pipefail
imagegate=$(realpath "$1")
work=$(realpath -m "${2:-build/api-sdk}")
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
fail() { echo "api-sdk: FAIL: $*" >&2; exit 1; }

"$here/sdk/install.sh" "$work"
rm -rf "$work/data" "$work/data-limits"
cp "$here/sdk/calls.js" "$work/"
cat > "$work/config.json" <<'JSON'
{"accounts": [{"secret_id": "AKIDtest0000000000000000000000000001", "secret_key": "secret-one", "app_id": "1250000001"},
              {"secret_id": "AKIDtest0000000000000000000000000002", "secret_key": "secret-two", "app_id": "1250000002"},
              {"secret_id": "AKIDtest0000000000000000000000000003", "secret_key": "secret-three", "app_id": "1250000003"},
              {"secret_id": "AKIDtest0000000000000000000000000004", "secret_key": "secret-four", "app_id": "1250000004"},
              {"secret_id": "AKIDtest0000000000000000000000000005", "secret_key": "secret-five"}],
 "object_storage_hosts": ["127.0.0.1:1"], "image_quota": 77, "share_quota": 2}
JSON
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Without workers, so that imports stay IMPORTING while the catalog is examined.
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
# X-TC-Language from the SDK's profile.language: the same code, its message in Chinese or English.
for l in zh-CN en-US; do
  [ "$(get "language-$l" "d['code']")" = InvalidImageId.NotFound ] || fail "language $l: $(get "language-$l" d)"
done
[ "$(get language-zh-CN "d['message']")" = "镜像 img-00000000 不存在" ] || fail "zh-CN: $(get language-zh-CN d)"
[ "$(get language-en-US "d['message']")" = "image img-00000000 does not exist" ] || fail "en-US: $(get language-en-US d)"
echo "api-sdk: X-TC-Language: zh-CN '$(get language-zh-CN "d['message']")', en-US '$(get language-en-US "d['message']")'"
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
         "import-long-name InvalidParameterValue.TooLarge" \
         "other-modify InvalidImageId.NotFound" \
         "other-delete InvalidImageId.NotFound" "delete-importing InvalidImageId.IncorrectState" \
         "describe-malformed InvalidImageId.Malformed" \
         "describe-coexist InvalidParameter.InvalidParameterCoexistImageIdsFilters" \
         "describe-101-ids InvalidParameterValue.LimitExceeded" \
         "describe-11-filters InvalidParameterValue.LimitExceeded" \
         "describe-6-values InvalidParameterValue.LimitExceeded" "import-chinese-name DryRunOperation" \
         "import-dry-run-string InvalidParameter" "import-misspelled UnknownParameter" \
         "describe-limit-string InvalidParameter" \
         "modify-long-description InvalidParameterValue.TooLarge" "modify-duplicate InvalidImageName.Duplicate" \
         "modify-malformed InvalidImageId.Malformed" "delete-malformed InvalidImageId.Malformed" \
         "delete-101-ids InvalidParameterValue.LimitExceeded" "describe-bad-limit InvalidParameterValue"; do
  set -- $c
  [ "$(get "$1" "d['code']")" = "$2" ] || fail "$1: got $(get "$1" "d.get('code')") ($(get "$1" "d.get('message')")), expected $2"
done
[ "$(get describe-all "d['response']['TotalCount']")" = 1 ] || fail "DescribeImages: $(get describe-all d)"
[ "$(get describe-all "d['response']['ImageSet'][0]['ImageState']")" = IMPORTING ] || fail "state"
[ "$(get describe-all "d['response']['ImageSet'][0]['ImageSource']")" = EXTERNAL_IMPORT ] || fail "source"
[ "$(get describe-filter "d['response']['TotalCount']")" = 1 ] || fail "tag filter"
[ "$(get other-list "d['response']['TotalCount']")" = 0 ] || fail "another account sees the image"
# Issue 13: ids the account does not have are an empty set; fuzzy filters; documented filters accepted.
for c in "other-describe 0" "describe-unknown 0" "describe-fuzzy-name 1" "describe-fuzzy-platform 1" \
         "describe-shared 0" "describe-cdc 0"; do
  set -- $c
  [ "$(get "$1" "d['response']['TotalCount']")" = "$2" ] || fail "$1: $(get "$1" d), expected TotalCount $2"
done
[ "$(get describe-all "d['response']['ImageSet'][0]['CdcCacheStatus']")" = "" ] || fail "CdcCacheStatus"
[ "$(get describe-arm "d['response']['ImageSet'][0]['Architecture']")" = arm ] || fail "arm_64 is reported as arm: $(get describe-arm d)"
[ "$(get describe-after-modify "d['response']['ImageSet'][0]['ImageName']")" = debian-web-2 ] || fail "modify"
[ "$(get quota "d['response']['ImageNumQuota']")" = 77 ] || fail "DescribeImageQuota: $(get quota d)"
[ "$(get family-read "[d['response']['ImageSet'][0][k] for k in ('ImageFamily', 'ImageDeprecated')]")" = "['web', True]" ] ||
  fail "ModifyImageAttribute ImageFamily / ImageDeprecated: $(get family-read d)"
[ "$(get family-importing "d['response'].get('Image')")" = None ] || fail "DescribeImageFromFamily chose an importing image: $(get family-importing d)"
[ "$(get family-missing "d['code']")" = MissingParameter ] || fail "DescribeImageFromFamily without ImageFamily: $(get family-missing d)"
[ "$(get family-long "d['code']")" = InvalidParameterValue.TooLarge ] || fail "a 61-character ImageFamily: $(get family-long d)"
[ "$(get quota-unknown "d['code']")" = UnknownParameter ] || fail "DescribeImageQuota with a parameter: $(get quota-unknown d)"
echo "api-sdk: ImportImage $id (IMPORTING); each refusal with its documented code; another account sees nothing"
# Signature v1 (HmacSHA256, HmacSHA1; GET query and form POST) from the SDK's own signer.
for c in v1-sha256-get v1-sha256-post v1-sha1-get v1-sha1-post-modify v1-sha1-post-read; do
  [ "$(get "$c" "d['ok']")" = True ] || fail "$c: $(get "$c" d)"
done
[ "$(get v1-sha256-get "d['response']['TotalCount']")" = 1 ] || fail "v1 GET with filters: $(get v1-sha256-get d)"
[ "$(get v1-sha1-get "d['response']['ImageSet'][0]['ImageId']")" = "$id" ] || fail "v1 GET by id"
[ "$(get v1-sha256-post "len(d['response']['ImportImageOsVersionSet']) > 0")" = True ] || fail "v1 POST"
[ "$(get v1-sha1-post-read "d['response']['ImageSet'][0]['ImageDescription']")" = "描述 a+b&c=d%e" ] ||
  fail "v1 form POST of escaped characters: $(get v1-sha1-post-read d)"
for c in "v1-sha256-post-dry-run DryRunOperation" "v1-sha256-post-wrong-key AuthFailure.SignatureFailure" \
         "v1-sha1-get-wrong-key AuthFailure.SignatureFailure"; do
  set -- $c
  [ "$(get "$1" "d.get('code')")" = "$2" ] || fail "$1: got $(get "$1" "d.get('code')") ($(get "$1" "d.get('message')")), expected $2"
done
echo "api-sdk: signature v1: HmacSHA256 and HmacSHA1, GET and form POST, verified; a wrong key is AuthFailure.SignatureFailure"
for c in "messages-bad-limit InvalidParameterValue" "messages-unknown InvalidMessageId.NotFound" \
         "messages-missing MissingParameter" "subscribe-bad-channel InvalidParameterValue" \
         "subscribe-bad-mail InvalidParameterValue" "subscribe-bad-hook InvalidParameterValue" \
         "subscribe-duplicate InvalidParameterValue.DuplicateSubscription" \
         "other-unsubscribe InvalidSubscriptionId.NotFound"; do
  set -- $c
  [ "$(get "$1" "d['code']")" = "$2" ] || fail "$1: got $(get "$1" "d.get('code')") ($(get "$1" "d.get('message')")), expected $2"
done
[ "$(get messages-empty "d['response']['TotalCount']")" = 0 ] || fail "DescribeMessages: $(get messages-empty d)"
[[ "$(get subscribe "d['response']['SubscriptionId']")" =~ ^sub-[a-z0-9]{8}$ ]] || fail "subscribe: $(get subscribe d)"
[ "$(get other-subscriptions "d['response']['TotalCount']")" = 0 ] || fail "another account sees the subscription"
[ "$(get unsubscribe "d['ok']")" = True ] || fail "unsubscribe: $(get unsubscribe d)"
echo "api-sdk: message center: subscriptions checked and isolated; 8 refusals with their codes"

# Sharing (issue 13, point 9). Only a NORMAL image is shared, and this server runs no worker (the
# imports of tests/integration/service.sh make real NORMAL images): two of the images are marked
# NORMAL in the catalog here, as a worker's finish would leave them.
sqlite3 "$work/data/catalog.sqlite" "UPDATE images SET state = 'NORMAL', size_gib = 2 WHERE name IN ('debian-arm', 'byol-image');
  UPDATE import_tasks SET state = 'DONE' WHERE image_id IN (SELECT image_id FROM images WHERE state = 'NORMAL')"
(cd "$work" && unset http_proxy https_proxy && node calls.js "$port" share) > "$work/results-share.jsonl"
getshare() { python3 -c "
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d['case'] == sys.argv[2]:
        print(eval(sys.argv[3]))" "$work/results-share.jsonl" "$1" "$2"; }
for c in share share-describe other-shared other-private other-by-id owner-type third-by-id share-third \
         share-describe-v1 share-cancel other-after-cancel owner-delete-after-cancel; do
  [ "$(getshare "$c" "d['ok']")" = True ] || fail "$c: $(getshare "$c" d)"
done
arm=$(getshare other-by-id "d['response']['ImageSet'][0]['ImageId']")
[ "$(getshare share-describe "[s['AccountId'] for s in d['response']['SharePermissionSet']]")" = "['1250000002']" ] ||
  fail "DescribeImageSharePermission: $(getshare share-describe d)"
[ "$(getshare share-describe "len(d['response']['SharePermissionSet'][0]['CreatedTime'])")" = 20 ] || fail "CreatedTime"
[ "$(getshare other-shared "[(i['ImageId'], i['ImageType'], i['ImageCreator']) for i in d['response']['ImageSet']]")" = \
  "[('$arm', 'SHARED_IMAGE', '1250000001')]" ] || fail "the receiver's SHARED_IMAGE filter: $(getshare other-shared d)"
[ "$(getshare other-private "d['response']['TotalCount']")" = 0 ] || fail "a shared image is no PRIVATE_IMAGE: $(getshare other-private d)"
[ "$(getshare owner-type "d['response']['ImageSet'][0]['ImageType']")" = PRIVATE_IMAGE ] || fail "the owner's type"
[ "$(getshare third-by-id "d['response']['TotalCount']")" = 0 ] || fail "an account it is not shared with sees it"
[ "$(getshare share-describe-v1 "sorted(s['AccountId'] for s in d['response']['SharePermissionSet'])")" = \
  "['1250000002', '1250000003']" ] || fail "shared with two, read over signature v1: $(getshare share-describe-v1 d)"
[ "$(getshare other-after-cancel "d['response']['TotalCount']")" = 0 ] || fail "cancelled, still seen"
for c in "share-importing InvalidParameterValue.InvalidImageState" \
         "other-delete-shared InvalidParameterValue.InvalidImageIdIsShared" \
         "other-rename-shared InvalidImageId.IncorrectState" \
         "other-reshare UnauthorizedOperation.ImageNotBelongToAccount" \
         "other-describe-share UnauthorizedOperation.ImageNotBelongToAccount" \
         "owner-delete-shared InvalidImageId.InShared" "share-again FailedOperation.AccountAlreadyExists" \
         "share-self InvalidAccountIs.YourSelf" "share-unknown-account InvalidAccountId.NotFound" \
         "share-bad-account InvalidParameterValue.InvalidAppIdFormat" "share-malformed-image InvalidImageId.Malformed" \
         "share-unknown-image InvalidImageId.NotFound" "share-bad-permission InvalidParameterValue" \
         "share-too-many InvalidParameterValue.LimitExceeded" "share-over-quota OverQuota" \
         "share-byol FailedOperation.BYOLImageShareFailed" "share-no-app-id FailedOperation.NotMasterAccount"; do
  set -- $c
  [ "$(getshare "$1" "d.get('code')")" = "$2" ] ||
    fail "$1: got $(getshare "$1" "d.get('code')") ($(getshare "$1" "d.get('message')")), expected $2"
done
echo "api-sdk: sharing: $arm shared, seen as SHARED_IMAGE by its account only, cancelled and deleted; 17 refusals with their codes"
# The SDK's own models (cvm_models.d.ts): every request field of each implemented action accepted,
# every response field present with its type (sdk/conformance.js).
cp "$here/sdk/conformance.js" "$work/"
(cd "$work" && unset http_proxy https_proxy && node conformance.js "$port") || fail "conformance to the SDK's models"
# The catalog survives a restart: the same data directory served again.
kill "$pid"
wait "$pid" 2> /dev/null || true
"$imagegate" serve --config "$work/config.json" --data "$work/data" --listen "127.0.0.1:$port" --workers 0 \
  > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q listening "$work/serve.log" && break; sleep 0.1; done
state=$(sqlite3 "$work/data/catalog.sqlite" "SELECT name || ' ' || state FROM images WHERE image_id = '$first'")
[ "$state" = "debian-web-2 IMPORTING" ] || fail "after the restart: $state"
echo "api-sdk: after a restart $first is still there ($state); imports run in tests/integration/service.sh"

# Request limits and the load test (api_limits.py): refused from the headers, bodies dropped
# unheld, serve's peak RSS under its size before the load + the 64 MiB body budget
# (http.request_memory_bytes, set here as the default is) + a margin. Its own server, on a fresh data directory, with ASan's
# quarantine off: the quarantine keeps freed bodies resident and would measure ASan, not serve.
kill "$pid"
wait "$pid" 2> /dev/null || true
python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c["image_quota"] = 1; c.setdefault("http", {})["request_memory_bytes"] = 64 << 20; print(json.dumps(c))' \
  "$work/config.json" > "$work/config-limits.json"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" \
  "$imagegate" serve --config "$work/config-limits.json" --data "$work/data-limits" --listen "127.0.0.1:$port" \
  --workers 0 > "$work/serve-limits.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q listening "$work/serve-limits.log" && break; sleep 0.1; done
grep -q listening "$work/serve-limits.log" || { cat "$work/serve-limits.log"; fail "the server did not start"; }
# Raw signed calls (scripts/tc3call.py) on this server, whose image_quota is 1: the second import
# is over the quota, and an unknown filter is named.
tc3() { TC_SECRET_ID=AKIDtest0000000000000000000000000001 TC_SECRET_KEY=secret-one \
  /usr/bin/python3 "$here/../../scripts/tc3call.py" "http://127.0.0.1:$port" "$@" 2>&1 || true; }
import_params() { echo "{\"Architecture\": \"x86_64\", \"OsType\": \"Debian\", \"OsVersion\": \"12\",
  \"ImageUrl\": \"http://127.0.0.1:1/bucket/debian12.qcow2\", \"ImageName\": \"$1\"}"; }
tc3 ImportImage "$(import_params quota-1)" | grep -q '"ImageId"' || fail "the first import under a quota of 1"
tc3 ImportImage "$(import_params quota-2)" | grep -q ImageQuotaLimitExceeded || fail "no ImageQuotaLimitExceeded"
tc3 DescribeImageQuota | grep -q '"ImageNumQuota": 1' || fail "DescribeImageQuota: $(tc3 DescribeImageQuota)"
tc3 DescribeImages '{"Filters": [{"Name": "no-such-filter", "Values": ["x"]}]}' | grep -q '"InvalidFilter"' ||
  fail "an unknown filter is not InvalidFilter"
echo "api-sdk: raw signed calls: ImageQuotaLimitExceeded over a quota of 1 (DescribeImageQuota says 1), InvalidFilter"
/usr/bin/python3 "$here/api_limits.py" "http://127.0.0.1:$port" "$pid" AKIDtest0000000000000000000000000001 \
  secret-one 64 || fail "request limits (serve's log: $work/serve-limits.log)"
echo "api-sdk: all cases passed"
