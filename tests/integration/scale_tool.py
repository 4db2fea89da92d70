#!/usr/bin/python3
"""The helper of tests/integration/scale.sh: signed API calls (scripts/tc3call.py), the S3 side
(botocore) and the final checks. Standard library + Debian's python3-botocore.

  scale_tool.py subscribe ENDPOINT SECRET_ID SECRET_KEY EMAIL
  scale_tool.py import ENDPOINT SECRET_ID SECRET_KEY NAME URL      prints the ImageId
  scale_tool.py wait PLAN SECONDS ENDPOINT...     until no image of PLAN is IMPORTING (bounded)
  scale_tool.py verify PLAN PG_URL S3_ENDPOINT BUCKET PREFIX MAILDIR ENDPOINT...
PLAN: one JSON object a line {"id", "account", "secret_id", "secret_key", "name", "expect", "code"}.
verify prints one JSON line of counts and exits 1 naming every failed expectation.
"""
import email
import email.policy
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import tc3call  # noqa: E402


def free_port():
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, log, who):
    """Waits up to 10 s for a server on loopback PORT; exits naming WHO with its LOG if none comes."""
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{who}: the server did not start:\n{open(log).read()}")


def call(endpoint, sid, key, action, params, tries=20):
    """A call; connection errors (a server being restarted) are retried a bounded number of times.
    Only used for idempotent reads and for writes made while both servers are up."""
    os.environ["TC_SECRET_ID"], os.environ["TC_SECRET_KEY"] = sid, key
    for attempt in range(tries):
        try:
            r = tc3call.call(endpoint, action, params)
        except OSError:
            if attempt == tries - 1:
                raise
            time.sleep(0.5)
            continue
        if "Error" in r:
            raise SystemExit(f"{action} at {endpoint}: {r['Error']}")
        return r


def plan(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def describe(endpoints, entries):
    """{image id: ImageSet entry} for every entry, asking each account's images at the endpoints
    in turn (the first that answers)."""
    out = {}
    by_account = {}
    for e in entries:
        by_account.setdefault((e["secret_id"], e["secret_key"]), []).append(e["id"])
    for (sid, key), ids in by_account.items():
        for i in range(0, len(ids), 50):
            last = None
            for ep in endpoints:
                try:
                    r = call(ep, sid, key, "DescribeImages", {"ImageIds": ids[i:i + 50], "Limit": 100}, tries=2)
                    break
                except OSError as e:
                    last = e
            else:
                raise last
            for img in r["ImageSet"]:
                out[img["ImageId"]] = img
    return out


def s3client(endpoint):
    import botocore.config
    import botocore.session
    return botocore.session.get_session().create_client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=os.environ.get("SWIFT_S3_ACCESS_KEY", "test:tester"),
        aws_secret_access_key=os.environ.get("SWIFT_S3_SECRET_KEY", "testing"),
        config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}, proxies={}))


def psql(url, sql):
    out = subprocess.run(["psql", url, "-AtqX", "-F", "\t", "-c", sql], check=True, capture_output=True, text=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def verify(plan_path, pg, s3_endpoint, bucket, prefix, maildir, endpoints):
    entries = plan(plan_path)
    problems = []
    got = describe(endpoints, entries)
    normal = failed = 0
    for e in entries:
        img = got.get(e["id"])
        if img is None:
            problems.append(f"{e['name']} ({e['id']}): not in DescribeImages")
            continue
        state, code = img["ImageState"], img.get("ImportErrorCode") or ""
        if (state, code) != (e["expect"], e["code"]):
            problems.append(f"{e['name']} ({e['id']}): {state} {code}, expected {e['expect']} {e['code']}"
                            f" ({img.get('ImportErrorMessage', '')[:200]})")
        elif state == "NORMAL":
            normal += 1
        else:
            failed += 1
    ids = {e["id"] for e in entries}

    # The catalog: every image once, finished once (one message), its task ended.
    images = {r[0]: r[1] for r in psql(pg, "SELECT image_id, state FROM images")}
    if set(images) != ids:
        problems.append(f"catalog images {sorted(set(images) ^ ids)} differ from the imports")
    importing = [i for i, s in images.items() if s == "IMPORTING"]
    if importing:
        problems.append(f"images left IMPORTING: {importing}")
    dup = psql(pg, "SELECT image_id, COUNT(*) FROM messages GROUP BY image_id HAVING COUNT(*) <> 1")
    dup += [[i, "0"] for i in ids - {r[0] for r in psql(pg, "SELECT DISTINCT image_id FROM messages")}]
    if dup:
        problems.append(f"images without exactly one message: {dup}")
    kinds = {r[0]: r[1] for r in psql(pg, "SELECT image_id, kind || ' ' || error_code FROM messages")}
    for e in entries:
        want = "IMPORT_SUCCEEDED " if e["expect"] == "NORMAL" else f"IMPORT_FAILED {e['code']}"
        if e["id"] in kinds and kinds[e["id"]] != want:
            problems.append(f"{e['name']} ({e['id']}): message {kinds[e['id']]}, expected {want}")
    tasks = psql(pg, "SELECT image_id, state, attempts FROM import_tasks")
    open_tasks = [t for t in tasks if t[1] in ("RUNNING", "QUEUED")]
    if open_tasks:
        problems.append(f"tasks left open: {open_tasks}")
    task_dups = [r for r in psql(pg, "SELECT image_id, COUNT(*) FROM import_tasks GROUP BY image_id HAVING COUNT(*) <> 1")]
    if task_dups or len(tasks) != len(ids):
        problems.append(f"tasks: {len(tasks)} for {len(ids)} images, duplicated {task_dups}")
    retried = sum(1 for t in tasks if int(t[2]) > 1)

    # The image store holds exactly the catalog's NORMAL images, and no unfinished upload.
    s3 = s3client(s3_endpoint)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    base = prefix + "/" if prefix else ""
    want_keys = {f"{base}{i}.qcow2" for i, s in images.items() if s == "NORMAL"}
    if set(keys) != want_keys or len(keys) != len(set(keys)):
        problems.append(f"store: extra {sorted(set(keys) - want_keys)}, missing {sorted(want_keys - set(keys))}")
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    if uploads:
        problems.append(f"pending multipart uploads: {[(u['Key'], u['UploadId']) for u in uploads]}")
    # Swift's s3api keeps the parts in BUCKET+segments: none may be left by an aborted upload.

    # Mail: every message's e-mail arrived, each once after dropping duplicate message ids.
    messages = {r[0]: r[1] for r in psql(pg, "SELECT message_id, account FROM messages")}
    mails = {}
    for d in ("new", "cur"):
        path = os.path.join(maildir, d)
        for name in sorted(os.listdir(path)) if os.path.isdir(path) else []:
            with open(os.path.join(path, name), "rb") as f:
                m = email.message_from_binary_file(f, policy=email.policy.default)
            mid = m["X-Imagegate-Message-Id"]
            mails.setdefault(str(mid), []).append(str(m["To"]))
    if set(mails) != set(messages):
        problems.append(f"mails: for unknown messages {sorted(set(mails) - set(messages))}, "
                        f"missing {sorted(set(messages) - set(mails))}")
    mail_dups = sum(len(v) - 1 for v in mails.values())
    outbox = psql(pg, "SELECT state, COUNT(*) FROM outbox WHERE channel = 'EMAIL' GROUP BY state")
    if [r[0] for r in outbox] != ["SENT"]:
        stuck = psql(pg, "SELECT message_id, state, attempts, next_attempt - EXTRACT(EPOCH FROM now())::bigint, "
                         "last_error FROM outbox WHERE channel = 'EMAIL' AND state <> 'SENT'")
        problems.append(f"e-mail deliveries: {outbox}; not sent (message, state, attempts, "
                        f"seconds to the next attempt, last error): {stuck}")
    print(json.dumps({"normal": normal, "failed": failed, "images": len(images), "objects": len(keys),
                      "messages": len(messages), "mails": sum(len(v) for v in mails.values()),
                      "mail_duplicates": mail_dups, "retried_tasks": retried}))
    for p in problems:
        print("scale: FAIL: " + p, file=sys.stderr)
    return 1 if problems else 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "subscribe":
        ep, sid, key, addr = args
        call(ep, sid, key, "CreateMessageSubscription", {"Channel": "EMAIL", "Endpoint": addr})
    elif cmd == "import":
        ep, sid, key, name, url = args
        r = call(ep, sid, key, "ImportImage", {"ImageName": name, "ImageUrl": url, "OsType": "Debian",
                                               "OsVersion": "12", "Architecture": "x86_64"}, tries=1)
        print(r["ImageId"])
    elif cmd == "wait":
        entries, deadline = plan(args[0]), time.time() + float(args[1])
        while True:
            try:
                got = describe(args[2:], entries)
                left = [i for i in got.values() if i["ImageState"] == "IMPORTING"]
            except OSError as e:
                left = [str(e)]
            if not left or time.time() > deadline:
                print(len(left))
                return 0
            time.sleep(1)
    elif cmd == "put":  # ENDPOINT BUCKET KEY FILE
        s3 = s3client(args[0])
        with open(args[3], "rb") as f:
            s3.put_object(Bucket=args[1], Key=args[2], Body=f)
    elif cmd == "mb":
        s3client(args[0]).create_bucket(Bucket=args[1])
    elif cmd == "rm":
        s3client(args[0]).delete_object(Bucket=args[1], Key=args[2])
    elif cmd == "presign":
        print(s3client(args[0]).generate_presigned_url("get_object", Params={"Bucket": args[1], "Key": args[2]},
                                                        ExpiresIn=int(args[3])))
    elif cmd == "verify":
        return verify(args[0], args[1], args[2], args[3], args[4], args[5], args[6:])
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
