#!/usr/bin/python3
"""An independent SigV4 oracle for sigv4_test: botocore's own signer (Debian's python3-botocore).

  sigv4_oracle.py CASES.json

CASES.json is a list of {"method", "url", "headers": {name: value}, "body",
"access_key", "secret_key", "region", "time": "20150830T123600Z"}. For each case one line is
printed: the payload hash botocore's S3SigV4Auth sent (x-amz-content-sha256), a space, and the
Authorization header it computed at that time.
"""
import json
import sys

import botocore.auth
import botocore.awsrequest
import botocore.credentials


def sign(case):
    creds = botocore.credentials.Credentials(case["access_key"], case["secret_key"])
    auth = botocore.auth.S3SigV4Auth(creds, "s3", case["region"])
    request = botocore.awsrequest.AWSRequest(method=case["method"], url=case["url"],
                                             headers=dict(case.get("headers", {})),
                                             data=case.get("body", "").encode())
    # add_auth() without its clock (botocore versions read the time differently): the same steps
    # at the case's time.
    request.context["timestamp"] = case["time"]
    auth._modify_request_before_signing(request)
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    auth._inject_signature_to_request(request, signature)
    return request.headers["X-Amz-Content-SHA256"] + " " + request.headers["Authorization"]


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    for case in cases:
        print(sign(case))


if __name__ == "__main__":
    main()
