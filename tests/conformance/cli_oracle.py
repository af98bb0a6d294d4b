"""Run the AWS CLI v1's own `cloudtrail validate-logs` logic over a local mirror.

Everything that decides a verdict -- the digest traverser, the digest provider's
listing, the SHA256withRSA validator, the log hashing and the messages -- is the
installed CLI's code (awscli.customizations.cloudtrail.validation). Only the
network is replaced: fake S3, CloudTrail and Organizations clients serve
objects, listings, user metadata and public keys from files on disk.

Input (stdin, JSON):
  {"roots": {"<bucket>": "<dir>", ...},
   "keys": "<list-public-keys JSON file>",
   "metadata": {"<bucket>/<key>": {"signature": ..., ...}, ...}   # optional: S3 metadata
                                              # for digests whose mirror copy has none
   "runs": [{"trail_arn", "region", "bucket", "prefix", "account", "org_id",
             "start", "end"}, ...]}
Output (stdout, JSON):
  {"verdicts": [{"kind": "digest"|"log", "backfill": bool, "object": "s3://b/k",
                 "verdict": "valid" | "INVALID: <reason>"}, ...],
   "runs": [{"rc": 0|1, "stdout": "...", "stderr": "..."}]}

TEST-ONLY: used by tests/conformance to compare trailproof with the CLI.
"""
import contextlib
import io
import json
import os
import sys

from botocore.exceptions import ClientError
from dateutil import parser as dateparser

from awscli.customizations.cloudtrail import validation

SIDECAR = ".metadata.json"


def no_such_key():
    return ClientError(
        {"Error": {"Code": "NoSuchKey", "Message": "The specified key does not exist."}},
        "GetObject",
    )


class FakeS3:
    """One bucket, served from a mirror directory."""

    def __init__(self, bucket, root, metadata):
        self.bucket = bucket
        self.root = os.path.realpath(root)
        self.metadata = metadata

    def _path(self, key):
        path = os.path.realpath(os.path.join(self.root, key))
        if not path.startswith(self.root + os.sep) or not os.path.isfile(path):
            return None
        return path

    def _keys(self):
        keys = []
        for directory, _, files in os.walk(self.root):
            for name in files:
                if name.endswith(SIDECAR):
                    continue
                full = os.path.join(directory, name)
                keys.append(os.path.relpath(full, self.root).replace(os.sep, "/"))
        return sorted(keys, key=lambda k: k.encode("utf-8"))

    def get_paginator(self, name):
        assert name == "list_objects", name
        s3 = self

        class Pages:
            def __init__(self, keys):
                self.keys = keys

            def search(self, expression):
                assert expression == "Contents[*].Key", expression
                return iter(self.keys)

        class Paginator:
            def paginate(self, Bucket, Marker, Prefix):
                return Pages([k for k in s3._keys() if k > Marker and k.startswith(Prefix)])

        return Paginator()

    def _saved_metadata(self, path, key):
        sidecar = path + SIDECAR
        if os.path.isfile(sidecar):
            with open(sidecar, "rb") as handle:
                try:
                    saved = json.load(handle)
                except ValueError:
                    return {}
            if isinstance(saved, dict):
                inner = saved.get("Metadata", saved)
                return {k: v for k, v in inner.items() if isinstance(v, str)}
            return {}
        found = {}
        try:
            for name in os.listxattr(path):
                if name.startswith("user."):
                    found[name[len("user."):]] = os.getxattr(path, name).decode("utf-8", "replace")
        except OSError:
            pass
        if found:
            return found
        return dict(self.metadata.get(f"{self.bucket}/{key}", {}))

    def get_object(self, Bucket, Key):
        path = self._path(Key)
        if path is None:
            raise no_such_key()
        with open(path, "rb") as handle:
            body = handle.read()
        return {"Body": io.BytesIO(body), "Metadata": self._saved_metadata(path, Key)}


class FakeS3Provider:
    def __init__(self, roots, metadata):
        self.clients = {b: FakeS3(b, r, metadata) for b, r in roots.items()}

    def get_client(self, bucket):
        if bucket not in self.clients:
            # A bucket that is not mirrored holds nothing.
            return FakeS3(bucket, "/nonexistent-bucket-root", {})
        return self.clients[bucket]


class FakeCloudTrail:
    def __init__(self, keys_file, trail):
        with open(keys_file) as handle:
            self.keys = json.load(handle)["PublicKeyList"]
        self.trail = trail

    def list_public_keys(self, StartTime, EndTime):
        start, end = StartTime.timestamp(), EndTime.timestamp()
        # The CLI sees `Value` as base64 text (blob parsing is disabled).
        return {
            "PublicKeyList": [
                k for k in self.keys
                if k["ValidityStartTime"] <= end and k["ValidityEndTime"] >= start
            ]
        }

    def describe_trails(self, **_):
        return {"trailList": [self.trail]}


class FakeOrganizations:
    def __init__(self, org_id):
        self.org_id = org_id

    def describe_organization(self):
        return {"Organization": {"Id": self.org_id}}


def parse_lines(text):
    verdicts = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 3:
            continue
        label, url, verdict = fields
        backfill = label.startswith("(backfill) ")
        label = label.removeprefix("(backfill) ")
        if label == "Digest file":
            kind = "digest"
        elif label == "Log file":
            kind = "log"
        else:
            continue
        verdicts.append({"kind": kind, "backfill": backfill, "object": url, "verdict": verdict})
    return verdicts


def run_one(job, run):
    trail = {
        "TrailARN": run["trail_arn"],
        "S3BucketName": run["bucket"],
        "IsOrganizationTrail": bool(run.get("org_id")),
    }
    if run.get("prefix"):
        trail["S3KeyPrefix"] = run["prefix"]
    command = validation.CloudTrailValidateLogs(None)
    command.trail_arn = run["trail_arn"]
    command.is_verbose = True
    # Organization trails: let the CLI find bucket, prefix and org id itself
    # (with --s3-bucket it never uses the org id, SPEC section 7).
    command.s3_bucket = None if run.get("org_id") else run["bucket"]
    command.s3_prefix = None if run.get("org_id") else run.get("prefix")
    command.account_id = run.get("account")
    command.start_time = validation.normalize_date(dateparser.parse(run["start"]))
    command.end_time = validation.normalize_date(dateparser.parse(run["end"]))
    command._source_region = run["region"]
    command.s3_client_provider = FakeS3Provider(job["roots"], job.get("metadata", {}))
    command.cloudtrail_client = FakeCloudTrail(job["keys"], trail)
    command.organization_client = FakeOrganizations(run.get("org_id"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            command._call()
            invalid = (
                command._invalid_digests + command._invalid_backfill_digests + command._invalid_logs
            )
            rc = 1 if invalid else 0
        except Exception as error:  # the CLI aborts the run (rc 255)
            err.write(f"ABORTED: {type(error).__name__}: {error}\n")
            rc = 255
    return rc, out.getvalue(), err.getvalue()


def main():
    job = json.load(sys.stdin)
    result = {"verdicts": [], "runs": []}
    for run in job["runs"]:
        rc, out, err = run_one(job, run)
        result["runs"].append({"rc": rc, "stdout": out, "stderr": err})
        result["verdicts"].extend(parse_lines(out + "\n" + err))
    json.dump(result, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
