#!/usr/bin/python3
"""Calls an action of a Tencent Cloud API 3.0 endpoint (imagegate serve) and prints the Response.

  tc3call.py ENDPOINT ACTION [JSON]     e.g. tc3call.py http://127.0.0.1:9000 DescribeImages '{}'

Signs with TC3-HMAC-SHA256 as the official SDKs do (../shared/api/NOTES.md), from
TC_SECRET_ID / TC_SECRET_KEY, region TC_REGION (default ap-guangzhou). Standard library only.
Exit status 1 with the error code and message when the Response holds an Error.
"""
import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.parse
import urllib.request


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signed_headers(endpoint, action, body_sha256, secret_id, secret_key, method="POST", query="",
                   content_type="application/json; charset=utf-8", timestamp=None):
    """The headers of a TC3-signed request whose body has the given SHA-256 (hex)."""
    host = urllib.parse.urlsplit(endpoint).netloc
    ts = int(time.time()) if timestamp is None else timestamp
    date = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d")
    service = "cvm"
    canonical = "\n".join([method, "/", query, f"content-type:{content_type}\nhost:{host.split(':')[0]}\n",
                           "content-type;host", body_sha256])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(ts), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = sign(sign(sign(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {"Authorization": f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, "
                             f"Signature={signature}",
            "Content-Type": content_type, "Host": host, "X-TC-Action": action, "X-TC-Timestamp": str(ts),
            "X-TC-Version": "2017-03-12", "X-TC-Region": os.environ.get("TC_REGION", "ap-guangzhou")}


def call(endpoint, action, params):
    body = json.dumps(params).encode()
    headers = signed_headers(endpoint, action, hashlib.sha256(body).hexdigest(), os.environ["TC_SECRET_ID"],
                             os.environ["TC_SECRET_KEY"])
    request = urllib.request.Request(endpoint, data=body, method="POST", headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=60) as r:
        return json.load(r)["Response"]


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    response = call(argv[1], argv[2], json.loads(argv[3]) if len(argv) > 3 else {})
    print(json.dumps(response, ensure_ascii=False, indent=2))
    if "Error" in response:
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv)
