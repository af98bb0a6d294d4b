#!/usr/bin/env python3
"""Local AWS stand-ins for `trailproof collect` integration tests.  Never contacts the internet.

Starts on 127.0.0.1 (OS-chosen ports):
  * moto in server mode (S3 + STS; account 123456789012),
  * a stub of CloudTrail ListPublicKeys (AWS JSON 1.1; one key per page),
  * a fault-injecting HTTP/1.1 reverse proxy in front of moto (+ GET /__stats),
fills a bucket, prints ONE JSON line on stdout, and serves until stdin reaches EOF
(or the parent dies, or SIGTERM/SIGINT).  Logs go to stderr.

  python3 aws_local.py --bucket B [--region R] [--versioned] [--mirror DIR]... [--prefix P]
      [--delete KEY]... [--overwrite KEY=FILE]... [--multipart KEY]... [--checksum-algorithm ALG]
      [--public-keys FILE] [--slowdown-every N] [--slowdown-list] [--reset-every N]
      [--delay-ms MS] [-v]
  python3 aws_local.py --selftest

Ready line: {"s3", "proxy", "cloudtrail": "http://127.0.0.1:PORT", "bucket", "region",
             "objects": mirror objects uploaded, "account": "123456789012"}
Proxy GET /__stats: {"slowdowns", "resets", "object_gets", "list_requests", "head_requests": n,
                     "public_key_requests": [{"operation", "region", "start", "end", "next_token"}]}
ListPublicKeys stub: keys whose validity overlaps [StartTime, EndTime] (a missing time means
"now", as AWS documents), in --public-keys file order, one key per page.
"""
import argparse, base64, datetime, hashlib, http.client, http.server, json, logging, os
import shutil, signal, socket, subprocess, sys, tempfile, threading, time
import urllib.parse, urllib.request

# Dummy credentials only, never the user's profiles/SSO/IMDS.  Must be set before boto3/moto
# import.  Tiny multipart parts are allowed (moto enforces S3's 5 MiB minimum otherwise).
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                  AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                  AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true",
                  S3_UPLOAD_PART_MIN_SIZE="1")
for var in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
    os.environ.pop(var, None)

ACCOUNT = "123456789012"  # moto's default account
SLOWDOWN_BODY = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                 b"<Message>Please reduce your request rate.</Message>"
                 b"<RequestId>x</RequestId></Error>")
CT_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
# Query parameters that make a GET on /BUCKET/KEY something other than GetObject.
NOT_OBJECT_GET = {"list-type", "versions", "location", "uploads", "uploadId", "tagging", "acl",
                  "attributes", "retention", "legal-hold", "torrent"}
LIST_PARAMS = {"list-type", "versions", "prefix", "delimiter", "continuation-token", "start-after",
               "max-keys", "fetch-owner", "encoding-type", "marker", "key-marker",
               "version-id-marker", "optional-object-attributes"}
VERBOSE = False


def log(msg):
    print(f"aws_local: {msg}", file=sys.stderr, flush=True)


def debug(msg):
    if VERBOSE:
        log(msg)


class Stats:
    """Counters shared by the proxy and the CloudTrail stub (one process, many threads)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.data = {"slowdowns": 0, "resets": 0, "object_gets": 0, "list_requests": 0,
                     "head_requests": 0, "public_key_requests": []}

    def bump(self, name):
        with self.lock:
            self.data[name] += 1

    def record_key_request(self, entry):
        with self.lock:
            self.data["public_key_requests"].append(entry)

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.data))


class Faults:
    """Decides, per request, which fault (if any) the proxy injects.

    Distinct object keys are numbered 1, 2, ... in order of their first GET.  Key number i gets
    a SlowDown 503 if i % slowdown_every == 0 and a mid-body reset if i % reset_every == 0; a key
    selected for both gets the 503 on its 1st GET and the reset on its 2nd.  Later GETs pass."""

    def __init__(self, args):
        self.args, self.lock = args, threading.Lock()
        self.pending = {}  # key -> list of faults still to inject
        self.list_slowdown_left = 1 if args.slowdown_list else 0

    def for_object_get(self, key):
        with self.lock:
            if key not in self.pending:
                n, todo = len(self.pending) + 1, []
                if self.args.slowdown_every and n % self.args.slowdown_every == 0:
                    todo.append("slowdown")
                if self.args.reset_every and n % self.args.reset_every == 0:
                    todo.append("reset")
                self.pending[key] = todo
            return self.pending[key].pop(0) if self.pending[key] else None

    def give_back(self, key, fault):
        """A fault that could not be applied (e.g. reset on an empty/error body) stays pending."""
        with self.lock:
            self.pending[key].insert(0, fault)

    def for_list_v2(self):
        with self.lock:
            if self.list_slowdown_left:
                self.list_slowdown_left -= 1
                return "slowdown"
            return None


def read_raw_chunked(rfile):
    """Read a chunked request body and return its exact bytes (re-sent verbatim upstream)."""
    raw = bytearray()
    while True:
        line = rfile.readline(65537)
        raw += line
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, up to the empty line
                line = rfile.readline(65537)
                raw += line
                if line in (b"\r\n", b"\n", b""):
                    return bytes(raw)
        raw += rfile.read(size + 2)  # data + CRLF


def make_proxy_handler(upstream_port, faults, stats, args):
    class ProxyHandler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):  # silence per-request logging
            pass

        def do_any(self):
            self.close_connection = True  # every response carries `Connection: close`
            path, _, query = self.path.partition("?")
            if self.command == "GET" and path == "/__stats":
                return self.reply(200, "application/json", json.dumps(stats.snapshot()).encode())
            q = urllib.parse.parse_qs(query, keep_blank_values=True)
            bucket, _, key = path.lstrip("/").partition("/")
            fault = object_key = None
            if self.command == "HEAD":
                stats.bump("head_requests")
            elif self.command == "GET" and key and not NOT_OBJECT_GET & q.keys():
                stats.bump("object_gets")
                if args.delay_ms:
                    time.sleep(args.delay_ms / 1000)
                object_key = urllib.parse.unquote(key)
                fault = faults.for_object_get(object_key)
            elif self.command == "GET" and bucket and not key and q.keys() <= LIST_PARAMS:
                stats.bump("list_requests")
                if q.get("list-type") == ["2"]:
                    fault = faults.for_list_v2()
            body = self.read_body()
            if fault == "slowdown":
                stats.bump("slowdowns")
                debug(f"injecting SlowDown on {self.command} {self.path}")
                return self.reply(503, "application/xml", SLOWDOWN_BODY)
            if not self.forward(body, fault == "reset") and fault == "reset":
                faults.give_back(object_key, fault)

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_any

        def read_body(self):
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return read_raw_chunked(self.rfile)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else None

        def reply(self, status, ctype, body):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def forward(self, body, reset):
            """Relay to moto; returns whether a requested reset was actually injected."""
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():  # unchanged, incl. Host/Authorization
                    if name.lower() != "expect":  # 100-continue was answered by this server
                        conn.putheader(name, value)
                conn.endheaders(body)
                resp = conn.getresponse()
            except OSError as e:
                conn.close()
                self.reply(502, "text/plain", f"upstream error: {e}".encode())
                return False
            try:
                self.wfile.write(f"HTTP/1.1 {resp.status} {resp.reason}\r\n".encode("latin-1"))
                for name, value in resp.getheaders():
                    # http.client de-chunks; without Content-Length the body ends at close.
                    if name.lower() not in ("connection", "keep-alive", "transfer-encoding"):
                        self.wfile.write(f"{name}: {value}\r\n".encode("latin-1"))
                self.wfile.write(b"Connection: close\r\n\r\n")
                length = int(resp.getheader("Content-Length") or 0)
                if reset and resp.status in (200, 206) and length > 1:
                    # The real status line and headers, half the body, then drop the connection.
                    self.wfile.write(resp.read(length // 2))
                    stats.bump("resets")
                    debug(f"injecting reset after {length // 2}/{length} bytes of {self.path}")
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return True
                while chunk := resp.read(65536):
                    self.wfile.write(chunk)
            except OSError:  # client went away
                pass
            finally:
                conn.close()

    return ProxyHandler


def parse_time(value):
    """Epoch number or ISO 8601 string (naive = UTC) -> epoch seconds."""
    if not isinstance(value, (int, float)):
        dt = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        value = (dt if dt.tzinfo else dt.replace(tzinfo=datetime.timezone.utc)).timestamp()
    return int(value) if value == int(value) else float(value)  # JSON: 1704067200, not ...200.0


def load_public_keys(path):
    """AWS CLI `cloudtrail list-public-keys` output -> list of stub key records (file order)."""
    if not path:
        return []
    with open(path) as f:
        entries = json.load(f)["PublicKeyList"]
    keys = []
    for e in entries:
        der = base64.b64decode(e["Value"])
        keys.append({"Value": base64.b64encode(der).decode(),
                     "ValidityStartTime": parse_time(e["ValidityStartTime"]),
                     "ValidityEndTime": parse_time(e["ValidityEndTime"]),
                     "Fingerprint": e.get("Fingerprint") or hashlib.md5(der).hexdigest()})
    return keys


def make_cloudtrail_handler(keys, stats):
    class CloudTrailHandler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
            self.end_headers()
            self.wfile.write(body)

        def error(self, kind, message):
            self.reply(400, {"__type": kind, "message": message})

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            # "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.X" (AWS CLI) or
            # "CloudTrail_20131101.X" (AWS SDK for Rust): the operation is the last part.
            op = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
            auth = self.headers.get("Authorization", "")
            # Credential=AKID/DATE/REGION/cloudtrail/aws4_request
            scope = auth.partition("Credential=")[2].split(",")[0].split("/")
            try:
                req = json.loads(raw or b"{}")
            except ValueError:
                return self.error("SerializationException", "request body is not JSON")
            entry = {"operation": op, "region": scope[2] if len(scope) > 2 else None,
                     "start": req.get("StartTime"), "end": req.get("EndTime"),
                     "next_token": req.get("NextToken")}
            stats.record_key_request(entry)
            debug(f"cloudtrail stub: {entry}")
            if op != "ListPublicKeys":
                return self.error("UnknownOperationException", f"unknown operation {op!r}")
            # As documented by AWS: a missing StartTime/EndTime means "now".
            now = time.time()
            try:
                start, end = float(req.get("StartTime", now)), float(req.get("EndTime", now))
            except (TypeError, ValueError):
                return self.error("SerializationException", "StartTime/EndTime must be numbers")
            if start > end:
                return self.error("InvalidTimeRangeException", "StartTime is after EndTime")
            hits = [k for k in keys  # validity overlaps [start, end]
                    if k["ValidityStartTime"] <= end and k["ValidityEndTime"] >= start]
            token, index = req.get("NextToken"), 0
            if token is not None:  # tokens are "page-<index into hits>", as handed out below
                digits = str(token).removeprefix("page-") if str(token).startswith("page-") else ""
                if not digits.isdigit() or not 0 < int(digits) < len(hits):
                    return self.error("InvalidTokenException", f"invalid NextToken {token!r}")
                index = int(digits)
            out = {"PublicKeyList": hits[index:index + 1]}  # one key per page
            if index + 1 < len(hits):
                out["NextToken"] = f"page-{index + 1}"
            self.reply(200, out)

        def do_GET(self):
            self.error("UnknownOperationException", "use POST")

    return CloudTrailHandler


def fill_bucket(endpoint, args):
    """Create the bucket and upload the mirror; returns the number of mirror objects uploaded."""
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=args.region,
                      config=Config(s3={"addressing_style": "path"},
                                    request_checksum_calculation="when_required",
                                    response_checksum_validation="when_required"))
    create = {"Bucket": args.bucket}
    if args.region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": args.region}
    s3.create_bucket(**create)
    if args.versioned:
        s3.put_bucket_versioning(Bucket=args.bucket, VersioningConfiguration={"Status": "Enabled"})

    def full_key(rel):
        return f"{args.prefix.strip('/')}/{rel}" if args.prefix else rel

    def put(key, data, metadata=None):
        extra = {"Metadata": metadata} if metadata else {}
        if key.endswith(".json.gz"):  # like CloudTrail's own deliveries
            extra.update(ContentType="application/json", ContentEncoding="gzip")
        if args.checksum_algorithm:
            extra["ChecksumAlgorithm"] = args.checksum_algorithm
        if key not in (args.multipart or []) or len(data) < 2:
            return s3.put_object(Bucket=args.bucket, Key=key, Body=data, **extra)
        upload = s3.create_multipart_upload(Bucket=args.bucket, Key=key, **extra)
        parts, half = [], len(data) // 2
        part_extra = {k: v for k, v in extra.items() if k == "ChecksumAlgorithm"}
        for number, chunk in ((1, data[:half]), (2, data[half:])):
            r = s3.upload_part(Bucket=args.bucket, Key=key, UploadId=upload["UploadId"],
                               PartNumber=number, Body=chunk, **part_extra)
            parts.append({"PartNumber": number, "ETag": r["ETag"],
                          **{k: v for k, v in r.items() if k.startswith("Checksum")}})
        s3.complete_multipart_upload(Bucket=args.bucket, Key=key, UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": parts})

    files, sidecars = {}, {}
    for root in args.mirror or []:
        for dirpath, _, names in os.walk(root):
            for name in names:
                path = os.path.join(dirpath, name)
                if not os.path.isfile(path) or os.path.islink(path):
                    continue
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                if rel.endswith(".metadata.json"):
                    sidecars[full_key(rel.removesuffix(".metadata.json"))] = path
                else:
                    files[full_key(rel)] = path
    for key, path in sorted(sidecars.items()):
        if key not in files:
            log(f"warning: sidecar {path} has no digest file next to it")
    overwritten = {spec.partition("=")[0] for spec in args.overwrite or []}
    for key in set(args.multipart or []) - set(files) - overwritten:
        log(f"warning: --multipart {key}: no such key is uploaded")
    for key in sorted(files):
        metadata = None
        if key in sidecars:
            with open(sidecars[key]) as f:
                metadata = {k: str(v) for k, v in (json.load(f).get("Metadata") or {}).items()}
        with open(files[key], "rb") as f:
            put(key, f.read(), metadata)
    for key in args.delete or []:
        s3.delete_object(Bucket=args.bucket, Key=key)
    for spec in args.overwrite or []:
        key, _, path = spec.partition("=")
        with open(path, "rb") as f:
            put(key, f.read())
    return len(files)


def serve_http(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                     daemon=True).start()
    return server


def run(args):
    for name in ("werkzeug", "moto", "botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)  # port 0: OS picks
    moto.start()
    moto_port = moto.get_host_and_port()[1]  # the port actually bound
    stats, keys = Stats(), load_public_keys(args.public_keys)
    proxy = serve_http(make_proxy_handler(moto_port, Faults(args), stats, args))
    stub = serve_http(make_cloudtrail_handler(keys, stats))
    s3_url = f"http://127.0.0.1:{moto_port}"
    objects = fill_bucket(s3_url, args)
    ready = {"s3": s3_url, "proxy": f"http://127.0.0.1:{proxy.server_address[1]}",
             "cloudtrail": f"http://127.0.0.1:{stub.server_address[1]}", "bucket": args.bucket,
             "region": args.region, "objects": objects, "account": ACCOUNT}
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()

    # Serve until stdin EOF, parent death, or SIGTERM/SIGINT.
    done, parent = threading.Event(), os.getppid()

    def watch_stdin():
        try:
            while sys.stdin.buffer.read1(65536):
                pass
        except (OSError, ValueError):
            pass
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(0.2):
        if os.getppid() != parent:
            break
    stoppers = [threading.Thread(target=s.shutdown, daemon=True)
                for s in (proxy, stub, moto._server)]  # in parallel: each polls every 0.2-0.5 s
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join(timeout=0.8)
    sys.stderr.flush()
    os._exit(0)  # don't wait for in-flight handler threads


def selftest():
    """Spawn this script on a generated mirror and check it end to end (boto3 + AWS CLI v1)."""
    import gzip, boto3, botocore.exceptions
    from botocore.config import Config
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    tmp = tempfile.mkdtemp(prefix="aws_local_selftest.")
    log_key = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/log_1.json.gz"
    digest_key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/02/digest_1.json.gz"
    meta = {"signature": "ab" * 256, "signature-algorithm": "SHA256withRSA"}
    for rel, data in ((log_key, gzip.compress(b'{"Records":[]}')),
                      (digest_key, gzip.compress(b'{"digestStartTime":"2024-01-02T00:00:00Z"}')),
                      (digest_key + ".metadata.json", json.dumps({"Metadata": meta}).encode())):
        os.makedirs(os.path.dirname(f"{tmp}/mirror/{rel}"), exist_ok=True)
        with open(f"{tmp}/mirror/{rel}", "wb") as f:
            f.write(data)
    def iso(t):
        return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat()

    now, keys = int(time.time()), []  # 3 keys: expired, current, future; ISO and epoch times
    for i, (start, end) in enumerate(((-30, -10), (-10, 10), (10, 30))):  # days around now
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = private.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
        s, e = now + start * 86400, now + end * 86400
        keys.append({"Value": base64.b64encode(der).decode(),
                     "Fingerprint": hashlib.md5(der).hexdigest(),
                     "ValidityStartTime": iso(s) if i % 2 else s,
                     "ValidityEndTime": iso(e) if i % 2 else e})
    with open(f"{tmp}/keys.json", "w") as f:
        json.dump({"PublicKeyList": keys}, f)

    t0 = time.monotonic()
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--bucket", "selftest",
                              "--mirror", f"{tmp}/mirror", "--public-keys", f"{tmp}/keys.json",
                              "--slowdown-every", "1", "--reset-every", "2", "--slowdown-list",
                              "--delay-ms", "5"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    ready = json.loads(child.stdout.readline())
    startup = time.monotonic() - t0
    log(f"ready after {startup:.2f}s: {ready}")
    try:
        cfg = Config(s3={"addressing_style": "path"},
                     retries={"mode": "standard", "max_attempts": 5})
        s3 = boto3.client("s3", endpoint_url=ready["proxy"], region_name="us-east-1", config=cfg)
        listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="selftest")["Contents"])
        assert listed == sorted([log_key, digest_key]) and ready["objects"] == 2, listed
        for key in listed:  # SlowDown is retried by botocore; a mid-body reset is retried here
            for attempt in range(3):
                try:
                    got = s3.get_object(Bucket="selftest", Key=key)
                    body = got["Body"].read()
                    break
                except botocore.exceptions.BotoCoreError as e:
                    log(f"GET {key} attempt {attempt + 1}: {type(e).__name__} (expected once)")
            assert gzip.decompress(body) and got["ContentEncoding"] == "gzip"
            assert got["Metadata"] == (meta if key == digest_key else {}), got["Metadata"]
        sts = boto3.client("sts", endpoint_url=ready["proxy"], region_name="us-east-1", config=cfg)
        assert sts.get_caller_identity()["Account"] == ACCOUNT
        cli = ["aws", "cloudtrail", "list-public-keys", "--endpoint-url", ready["cloudtrail"],
               "--region", "us-east-1", "--output", "json"]
        def aws(*extra):  # the real AWS CLI v1, dummy credentials from os.environ
            return json.loads(subprocess.run(cli + list(extra), check=True,
                                             capture_output=True).stdout)

        current = aws()  # no times: AWS semantics are "now", so only the current key
        assert [k["Fingerprint"] for k in current["PublicKeyList"]] == [keys[1]["Fingerprint"]]
        every = aws("--start-time", str(now - 40 * 86400), "--end-time", str(now + 40 * 86400))
        assert [k["Value"] for k in every["PublicKeyList"]] == [k["Value"] for k in keys], every
        stats = json.loads(urllib.request.urlopen(ready["proxy"] + "/__stats", timeout=5).read())
        log(f"stats: {json.dumps(stats)}")
        assert stats["slowdowns"] == 3 and stats["resets"] == 1, stats  # 2 objects + 1 list
        assert stats["object_gets"] == 5 and stats["list_requests"] == 2, stats
        assert len(stats["public_key_requests"]) == 4, stats  # 1 + 3 pages
        assert all(r["region"] == "us-east-1" for r in stats["public_key_requests"]), stats
    finally:
        t1 = time.monotonic()
        child.stdin.close()
        rc = child.wait(timeout=10)
        stopped = time.monotonic() - t1
        log(f"exit {rc} {stopped:.2f}s after stdin EOF")
        shutil.rmtree(tmp, ignore_errors=True)
    assert rc == 0 and stopped < 1.5, (rc, stopped)
    print(f"selftest passed (startup {startup:.2f}s, exit {stopped:.2f}s after stdin EOF)")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bucket", help="bucket to create and fill (required unless --selftest)")
    p.add_argument("--region", default="us-east-1", help="bucket region (default us-east-1)")
    p.add_argument("--versioned", action="store_true", help="enable versioning before uploading")
    p.add_argument("--mirror", action="append", metavar="DIR",
                   help="upload DIR's files (repeatable)")
    p.add_argument("--prefix", default="", help="put every mirror key under PREFIX/")
    p.add_argument("--delete", action="append", metavar="KEY", help="DeleteObject after upload")
    p.add_argument("--overwrite", action="append", metavar="KEY=FILE",
                   help="PutObject after the deletes")
    p.add_argument("--multipart", action="append", metavar="KEY", help="upload KEY in 2 parts")
    p.add_argument("--checksum-algorithm", choices=["CRC32", "CRC32C", "SHA1", "SHA256"],
                   help="store a flexible checksum with every upload (default: none)")
    p.add_argument("--public-keys", metavar="FILE", help="`aws cloudtrail list-public-keys` JSON")
    p.add_argument("--slowdown-every", type=int, default=0, metavar="N")
    p.add_argument("--slowdown-list", action="store_true", help="503 the first ListObjectsV2")
    p.add_argument("--reset-every", type=int, default=0, metavar="N")
    p.add_argument("--delay-ms", type=int, default=0, metavar="MS", help="delay each object GET")
    p.add_argument("-v", "--verbose", action="store_true", help="log injected faults to stderr")
    p.add_argument("--selftest", action="store_true")
    args = p.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    if args.selftest:
        return selftest()
    if not args.bucket:
        p.error("--bucket is required")
    if any("=" not in spec for spec in args.overwrite or []):
        p.error("--overwrite takes KEY=FILE")
    run(args)


if __name__ == "__main__":
    main()
