#!/usr/bin/env python3
"""The AWS CLI v1's own log-hashing code, timed on local log files.

    bench/cli_logic.py MIRROR LIST [--repeat 3] [--json OUT]

Calls the installed awscli's
``awscli.customizations.cloudtrail.validation.CloudTrailValidateLogs._download_log``
(zlib.decompressobj(MAX_WBITS | 16) + hashlib.sha256, fed 2048-byte reads of the
response body) unchanged, single-threaded as `aws cloudtrail validate-logs` runs it,
through a fake S3 client whose get_object reads the file from MIRROR/<key> into a
BytesIO. The expected hashValue of each file comes from the mirror's digest files
(every CloudTrail-Digest/*.json.gz), so each pass also checks every hash: it fails
unless the CLI code counts every file valid.

LIST has one log file per line: a path under MIRROR, or the bench's size-cache format
"COMPRESSED<TAB>UNCOMPRESSED<TAB>PATH" (then the uncompressed total is taken from it;
otherwise it is measured once, untimed). One untimed warm-up pass, then --repeat timed
passes; prints bytes, seconds per pass, the median and uncompressed MB/s (10^6 B/s).
Time excludes reading the digests and building the log list, as the CLI's own digest
work is not part of the log-hashing path measured here.
"""

import argparse
import gzip
import io
import json
import os
import ssl
import statistics
import sys
import time
import zlib


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mirror", help="mirror root (holds AWSLogs/...)")
    ap.add_argument("list", help="file listing the log files to hash")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes after one warm-up")
    ap.add_argument("--json", help="also write the results as JSON here")
    args = ap.parse_args()

    try:
        import awscli
        from awscli.customizations.cloudtrail.validation import CloudTrailValidateLogs
    except ImportError as e:
        sys.exit(f"cli_logic.py: the AWS CLI v1 is not installed ({e}); pip install awscli")

    mirror = os.path.abspath(args.mirror)

    # Expected hashes: every log file every digest lists.
    listed = {}
    for dirpath, _dirs, names in os.walk(mirror):
        if os.sep + "CloudTrail-Digest" not in dirpath:
            continue
        for name in names:
            if not name.endswith(".json.gz"):
                continue
            with gzip.open(os.path.join(dirpath, name), "rb") as f:
                digest = json.load(f)
            for log in digest.get("logFiles") or []:
                listed[log["s3Object"]] = log

    logs, sizes = [], []
    with open(args.list, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            fields = line.split("\t")
            path = fields[-1]
            key = os.path.relpath(os.path.abspath(path), mirror)
            if key not in listed:
                sys.exit(f"cli_logic.py: {key} is listed by no digest in {mirror}")
            logs.append(listed[key])
            sizes.append(int(fields[1]) if len(fields) == 3 else None)
    if not logs:
        sys.exit("cli_logic.py: empty list")

    compressed = sum(os.path.getsize(os.path.join(mirror, log["s3Object"])) for log in logs)
    if None in sizes:
        uncompressed = 0
        for log in logs:
            with gzip.open(os.path.join(mirror, log["s3Object"]), "rb") as f:
                while chunk := f.read(1 << 20):
                    uncompressed += len(chunk)
        size_source = "measured (untimed)"
    else:
        uncompressed = sum(sizes)
        size_source = "from the list"

    class LocalS3Client:
        """get_object as the CLI calls it, serving MIRROR/<key> from disk."""

        def get_object(self, Bucket, Key):  # noqa: N803 (boto3's parameter names)
            with open(os.path.join(mirror, Key), "rb") as f:
                return {"Body": io.BytesIO(f.read())}

    class LocalClientProvider:
        def get_client(self, bucket_name):
            return LocalS3Client()

    def one_pass():
        cmd = CloudTrailValidateLogs(None)
        cmd.s3_client_provider = LocalClientProvider()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for log in logs:
            cmd._download_log(log)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        if cmd._valid_logs != len(logs) or cmd._invalid_logs != 0:
            sys.exit(
                f"cli_logic.py: the CLI code found {cmd._valid_logs} valid and "
                f"{cmd._invalid_logs} invalid of {len(logs)} log files"
            )
        return wall, cpu

    repeat = max(1, args.repeat)
    print(
        f"AWS CLI {awscli.__version__} log-hashing code (CloudTrailValidateLogs._download_log), "
        f"1 thread; Python {sys.version.split()[0]}, zlib {zlib.ZLIB_RUNTIME_VERSION}, "
        f"{ssl.OPENSSL_VERSION}"
    )
    print(
        f"{len(logs)} log files, {compressed} compressed bytes, {uncompressed} uncompressed "
        f"bytes ({size_source}); 1 warm-up + {repeat} timed passes"
    )
    walls, cpus = [], []
    for rep in range(repeat + 1):
        wall, cpu = one_pass()
        label = "warm-up" if rep == 0 else f"run {rep}"
        print(f"  {label:<8} {wall:8.3f} s wall, {cpu:8.3f} s CPU; every hash matched its digest")
        if rep > 0:
            walls.append(wall)
            cpus.append(cpu)
    med = statistics.median(walls)
    mbs = uncompressed / med / 1e6
    print(f"median {med:.3f} s (min {min(walls):.3f}, max {max(walls):.3f}) = {mbs:.1f} MB/s uncompressed")
    result = {
        "awscli_version": awscli.__version__,
        "python": sys.version.split()[0],
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
        "openssl": ssl.OPENSSL_VERSION,
        "threads": 1,
        "files": len(logs),
        "compressed_bytes": compressed,
        "uncompressed_bytes": uncompressed,
        "warmup_runs": 1,
        "runs": repeat,
        "times_s": [round(t, 6) for t in walls],
        "cpu_s": [round(t, 6) for t in cpus],
        "median_s": round(med, 6),
        "min_s": round(min(walls), 6),
        "max_s": round(max(walls), 6),
        "uncompressed_mb_per_s": round(mbs, 1),
    }
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
