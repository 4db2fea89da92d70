#!/usr/bin/python3
"""A small S3 client for the service tests (botocore, Debian's python3-botocore).

  s3tool.py ENDPOINT mb BUCKET
  s3tool.py ENDPOINT put BUCKET KEY FILE
  s3tool.py ENDPOINT presign BUCKET KEY SECONDS    prints a presigned GET URL (SigV4)
  s3tool.py ENDPOINT rm BUCKET KEY
  s3tool.py ENDPOINT get BUCKET KEY FILE
  s3tool.py ENDPOINT ls BUCKET PREFIX              prints the keys, one per line
  s3tool.py ENDPOINT uploads BUCKET PREFIX         prints the keys of unfinished multipart uploads

Credentials: SWIFT_S3_ACCESS_KEY / SWIFT_S3_SECRET_KEY (start-swift.sh's defaults otherwise).
"""
import os
import sys

import botocore.config
import botocore.session


def client(endpoint):
    session = botocore.session.get_session()
    return session.create_client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=os.environ.get("SWIFT_S3_ACCESS_KEY", "test:tester"),
        aws_secret_access_key=os.environ.get("SWIFT_S3_SECRET_KEY", "testing"),
        config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      proxies={}),
    )


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    s3 = client(argv[1])
    command, args = argv[2], argv[3:]
    if command == "mb":
        s3.create_bucket(Bucket=args[0])
    elif command == "put":
        with open(args[2], "rb") as f:
            s3.put_object(Bucket=args[0], Key=args[1], Body=f)
    elif command == "presign":
        print(s3.generate_presigned_url("get_object", Params={"Bucket": args[0], "Key": args[1]},
                                        ExpiresIn=int(args[2])))
    elif command == "rm":
        s3.delete_object(Bucket=args[0], Key=args[1])
    elif command == "get":
        body = s3.get_object(Bucket=args[0], Key=args[1])["Body"]
        with open(args[2], "wb") as f:
            for chunk in iter(lambda: body.read(1 << 20), b""):
                f.write(chunk)
    elif command == "ls":
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args[0], Prefix=args[1]):
            for o in page.get("Contents", []):
                print(o["Key"])
    elif command == "uploads":
        for u in s3.list_multipart_uploads(Bucket=args[0], Prefix=args[1]).get("Uploads", []):
            print(u["Key"])
    else:
        sys.exit(f"unknown command {command}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv)
