#!/usr/bin/python3
"""botocore as an independent S3 client for store_test (Debian's python3-botocore).

  s3_oracle.py ENDPOINT ACCESS SECRET mb BUCKET            create the bucket (exists: fine)
  s3_oracle.py ENDPOINT ACCESS SECRET uploads BUCKET PREFIX  print "key uploadId" per pending upload
  s3_oracle.py ENDPOINT ACCESS SECRET get BUCKET KEY FILE   download an object to FILE
"""
import sys

import botocore.config
import botocore.exceptions
import botocore.session


def main(argv):
    if len(argv) < 6:
        sys.exit(__doc__)
    endpoint, access, secret, command, args = argv[1], argv[2], argv[3], argv[4], argv[5:]
    s3 = botocore.session.get_session().create_client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}, proxies={}))
    if command == "mb":
        try:
            s3.create_bucket(Bucket=args[0])
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
    elif command == "uploads":
        answer = s3.list_multipart_uploads(Bucket=args[0], Prefix=args[1])
        for upload in answer.get("Uploads", []):
            print(upload["Key"], upload["UploadId"])
    elif command == "get":
        body = s3.get_object(Bucket=args[0], Key=args[1])["Body"]
        with open(args[2], "wb") as f:
            while True:
                chunk = body.read(1 << 20)
                if not chunk:
                    break
                f.write(chunk)
    else:
        sys.exit(f"unknown command {command}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv)
