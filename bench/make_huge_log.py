#!/usr/bin/env python3
"""Writes one huge CloudTrail-like log file for the --huge benchmark (TEST-ONLY data).

    bench/make_huge_log.py OUT.json.gz [--mb 400] [--seed 1]

The body is {"Records":[...]} of realistic CloudTrail management/data event records
(AssumedRole/IAMUser/AWSService identities, many services and event names, random
request and event ids, access keys, IPs, resource names), about --mb * 10^6 bytes
uncompressed, compressed with `gzip -6 -n` (GNU gzip, as a stand-in for CloudTrail's
level-6 deflate). Deterministic for a given seed. Prints the sizes and ratio.
"""

import argparse
import json
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone

ACCOUNT = "111122223333"
REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "us-west-2", "ap-southeast-2"]
EVENTS = [
    ("s3.amazonaws.com", "GetObject", True, "Data"),
    ("s3.amazonaws.com", "PutObject", False, "Data"),
    ("s3.amazonaws.com", "ListBucket", True, "Data"),
    ("sts.amazonaws.com", "AssumeRole", True, "Management"),
    ("sts.amazonaws.com", "GetCallerIdentity", True, "Management"),
    ("ec2.amazonaws.com", "DescribeInstances", True, "Management"),
    ("ec2.amazonaws.com", "RunInstances", False, "Management"),
    ("ec2.amazonaws.com", "CreateTags", False, "Management"),
    ("kms.amazonaws.com", "Decrypt", True, "Management"),
    ("kms.amazonaws.com", "GenerateDataKey", True, "Management"),
    ("lambda.amazonaws.com", "Invoke", False, "Data"),
    ("dynamodb.amazonaws.com", "GetItem", True, "Data"),
    ("dynamodb.amazonaws.com", "PutItem", False, "Data"),
    ("ssm.amazonaws.com", "GetParameter", True, "Management"),
    ("logs.amazonaws.com", "CreateLogStream", False, "Management"),
    ("iam.amazonaws.com", "ListRoles", True, "Management"),
    ("secretsmanager.amazonaws.com", "GetSecretValue", True, "Management"),
]
AGENTS = [
    "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.53.1",
    "aws-sdk-java/2.25.16 Linux/5.10.213 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
    "console.amazonaws.com",
    "AWS Internal",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
]
FIRST = ["alice", "bob", "carol", "dmitri", "farid", "grace", "hiro", "ines", "jamal", "kofi", "lena", "mateo"]
LAST = ["smith", "haddad", "nakamura", "okafor", "silva", "novak", "larsen", "dubois", "kowalski", "ng"]
ROLES = ["AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess", "BillingAccess", "DataEngineer"]
SERVICE_ROLES = ["ecs-task-ingest", "lambda-thumbnailer", "batch-etl-nightly", "eks-node-group", "ci-deployer"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--mb", type=int, default=400, help="uncompressed size in 10^6 bytes")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    target = args.mb * 1_000_000

    def hexid(bits):
        return f"{rng.getrandbits(bits):0{bits // 4}x}"

    def uuid():
        h = hexid(128)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def key_id(prefix):
        return prefix + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))

    def ip():
        return f"{rng.randint(3, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

    people = [f"{rng.choice(FIRST)}.{rng.choice(LAST)}@acme.example" for _ in range(150)]
    role_ids = {r: "AROA" + key_id("")[:17] for r in ROLES + SERVICE_ROLES}
    sso_suffix = {r: hexid(64) for r in ROLES}

    def identity(when):
        kind = rng.random()
        if kind < 0.55:
            role, person = rng.choice(ROLES), rng.choice(people)
            name = f"AWSReservedSSO_{role}_{sso_suffix[role]}"
            return {
                "type": "AssumedRole",
                "principalId": f"{role_ids[role]}:{person}",
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/{person}",
                "accountId": ACCOUNT,
                "accessKeyId": key_id("ASIA"),
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": role_ids[role],
                        "arn": f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{name}",
                        "accountId": ACCOUNT,
                        "userName": name,
                    },
                    "webIdFederationData": {},
                    "attributes": {
                        "creationDate": (when - timedelta(minutes=rng.randint(1, 600))).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "mfaAuthenticated": "false",
                    },
                },
            }
        if kind < 0.85:
            role = rng.choice(SERVICE_ROLES)
            session = hexid(64)
            return {
                "type": "AssumedRole",
                "principalId": f"{role_ids[role]}:{session}",
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
                "accountId": ACCOUNT,
                "accessKeyId": key_id("ASIA"),
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "principalId": role_ids[role],
                                      "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                                      "accountId": ACCOUNT, "userName": role},
                    "attributes": {"creationDate": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "mfaAuthenticated": "false"},
                },
            }
        if kind < 0.95:
            user = rng.choice(people).split("@")[0]
            return {"type": "IAMUser", "principalId": "AIDA" + key_id("")[:17],
                    "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}", "accountId": ACCOUNT,
                    "accessKeyId": key_id("AKIA"), "userName": user}
        return {"type": "AWSService", "invokedBy": rng.choice(["ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com"])}

    def params(source, name):
        if source.startswith("s3"):
            bucket = f"acme-{rng.choice(['data', 'logs', 'assets', 'backups'])}-{rng.randint(1, 40)}"
            p = {"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com"}
            if name != "ListBucket":
                p["key"] = f"{rng.choice(['raw', 'curated', 'tmp'])}/{rng.randint(2020, 2026)}/{hexid(32)}.parquet"
            else:
                p["prefix"] = f"raw/{rng.randint(2020, 2026)}/"
            return p, [{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
        if source.startswith("kms"):
            k = uuid()
            return ({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{k}"},
                    [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{k}"}])
        if source.startswith("dynamodb"):
            return {"tableName": f"orders-{rng.randint(1, 9)}", "key": {"pk": hexid(48)}}, None
        if source.startswith("ec2") and name == "DescribeInstances":
            return {"instancesSet": {"items": [{"instanceId": f"i-{hexid(68)[:17]}"} for _ in range(rng.randint(1, 4))]},
                    "filterSet": {}}, None
        if source.startswith("ssm") or source.startswith("secretsmanager"):
            return {"name": f"/prod/{rng.choice(['app', 'db', 'api'])}/{hexid(24)}", "withDecryption": True}, None
        if source.startswith("lambda"):
            return {"functionName": f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:fn-{rng.randint(1, 60)}"}, None
        return None, None

    start = datetime(2026, 3, 5, 12, 0, tzinfo=timezone.utc)
    gz = subprocess.Popen(["gzip", "-6", "-n"], stdin=subprocess.PIPE, stdout=open(args.out, "wb"))
    written = 0
    n = 0
    buf = []

    def emit(s):
        nonlocal written
        b = s.encode()
        buf.append(b)
        written += len(b)
        if len(buf) >= 512:
            gz.stdin.write(b"".join(buf))
            buf.clear()

    emit('{"Records":[')
    while written < target:
        when = start + timedelta(milliseconds=n * 7 + rng.randint(0, 5))
        source, name, read_only, category = rng.choice(EVENTS)
        region = rng.choice(REGIONS)
        req, resources = params(source, name)
        rec = {
            "eventVersion": "1.11" if category == "Management" else "1.10",
            "userIdentity": identity(when),
            "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip() if rng.random() < 0.7 else rng.choice(["ec2.amazonaws.com", "AWS Internal"]),
            "userAgent": rng.choice(AGENTS),
            "requestParameters": req,
            "responseElements": None if read_only else {"requestId": uuid()},
            "requestID": uuid() if rng.random() < 0.8 else hexid(64)[:16].upper(),
            "eventID": uuid(),
            "readOnly": read_only,
            "eventType": "AwsApiCall",
            "managementEvent": category == "Management",
            "recipientAccountId": ACCOUNT,
            "eventCategory": category,
            "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                           "clientProvidedHostHeader": f"{source.split('.')[0]}.{region}.amazonaws.com"},
        }
        if resources:
            rec["resources"] = resources
        if category == "Data":
            rec["sharedEventID"] = uuid()
        emit(("," if n else "") + json.dumps(rec, separators=(",", ":")))
        n += 1
    emit("]}")
    gz.stdin.write(b"".join(buf))
    gz.stdin.close()
    if gz.wait() != 0:
        sys.exit("gzip failed")
    c = os.path.getsize(args.out)
    print(f"{args.out}: {n} records, {written} bytes uncompressed, {c} compressed (ratio {written / c:.2f})")


if __name__ == "__main__":
    main()
