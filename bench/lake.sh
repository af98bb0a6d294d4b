#!/usr/bin/env bash
# verify-query-results against sha256sum on the same CloudTrail Lake export, in one run of this
# script (by hand, not in CI):
#
#   sha256sum      sha256sum FILE...                 (one core: the hash alone)
#   sha256sum -P   xargs -P CORES sha256sum          (every core: the hash alone)
#   trailproof     trailproof verify-query-results EXPORT --public-keys KEYS
#
# The export: FILES result files of MIB MiB each (random bytes: hashing does not look inside),
# listed and signed in result_sign.json with the TEST-ONLY key 1 under a Lake-style fingerprint.
# Warm page cache; each command run RUNS times, the best time kept.
#
#   FILES=64 MIB=16 RUNS=3 bench/lake.sh
#
# Needs: cargo, python3 with cryptography, GNU coreutils.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
FILES=${FILES:-64}
MIB=${MIB:-16}
RUNS=${RUNS:-3}
cores=$(nproc)
cargo build --release --quiet --bin trailproof
bin=$PWD/target/release/trailproof
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export_dir=$work/export
mkdir -p "$export_dir"
for ((n = 1; n <= FILES; n++)); do
    head -c $((MIB << 20)) /dev/urandom >"$export_dir/result_$n.csv.gz"
done
python3 - "$export_dir" "$work/keys.json" testdata/keys/TEST-ONLY-key-1.pem <<'PY'
import base64, hashlib, json, os, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
export, keys, pem = sys.argv[1:4]
key = serialization.load_pem_private_key(open(pem, "rb").read(), None)
names = sorted((n for n in os.listdir(export)), key=lambda n: int(n.split("_")[1].split(".")[0]))
files = [{"fileHashValue": hashlib.sha256(open(os.path.join(export, n), "rb").read()).hexdigest(), "fileName": n} for n in names]
signed = " ".join(f["fileHashValue"] for f in files).encode()
signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256()).hex()
fingerprint = "7e570000000000000000000000000000"
json.dump({"region": "us-east-1", "files": files, "hashAlgorithm": "SHA-256",
           "signatureAlgorithm": "SHA256withRSA", "hashSignature": signature,
           "publicKeyFingerprint": fingerprint, "queryCompleteTime": "2026-03-01T12:00:00Z"},
          open(os.path.join(export, "result_sign.json"), "w"))
der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
json.dump({"PublicKeyList": [{"Value": base64.b64encode(der).decode(), "Fingerprint": fingerprint}]},
          open(keys, "w"))
PY
cat "$export_dir"/* >/dev/null
best() {
    local best=""
    for ((r = 0; r < RUNS; r++)); do
        local start end
        start=$(date +%s.%N)
        "$@" >/dev/null
        end=$(date +%s.%N)
        local t
        t=$(echo "$end - $start" | bc -l)
        if [[ -z $best ]] || (($(echo "$t < $best" | bc -l))); then best=$t; fi
    done
    echo "$best"
}
bytes=$((FILES * MIB))
one=$(best sha256sum "$export_dir"/result_*.csv.gz)
all=$(best bash -c "ls '$export_dir'/result_*.csv.gz | xargs -P $cores -n 1 sha256sum")
tp=$(best "$bin" verify-query-results "$export_dir" --public-keys "$work/keys.json" --format json)
"$bin" verify-query-results "$export_dir" --public-keys "$work/keys.json" >/dev/null
printf 'export: %d files x %d MiB = %d MiB, %d cores, best of %d\n' "$FILES" "$MIB" "$bytes" "$cores" "$RUNS"
printf '%-14s %7.3f s  %7.0f MiB/s\n' sha256sum "$one" "$(echo "$bytes / $one" | bc -l)"
printf '%-14s %7.3f s  %7.0f MiB/s\n' "sha256sum -P$cores" "$all" "$(echo "$bytes / $all" | bc -l)"
printf '%-14s %7.3f s  %7.0f MiB/s  (%.2fx sha256sum, %.2fx sha256sum -P%d)\n' trailproof "$tp" \
    "$(echo "$bytes / $tp" | bc -l)" "$(echo "$one / $tp" | bc -l)" "$(echo "$all / $tp" | bc -l)" "$cores"
