#!/usr/bin/env bash
# Incremental re-verification (issue 12): a mirror audited once, then extended by new logs,
# verified again in full and with --checkpoint --incremental, in one run, alternating.
#
# Run by hand (not in CI):   bench/incremental.sh [options]
#
#   --logs N          logs at the first audit                              (default 10000)
#   --new M           logs added since (the newest digests that list them) (default 100)
#   --cache-dir DIR   where the mirror lives (incremental-N-M/ under it)   (default /tmp/trailproof-bench)
#   --runs R          timed runs of each mode, median                      (default 5)
#   --results FILE    JSON results                                         (default DIR/results-incremental.json)
#
# The TEST-ONLY mirror has N + M tiny logs (`trailproof-testgen tiny`: 50 per digest, two
# regions); the newest digests listing M of them (and those logs) are set aside, the mirror is
# audited with --save-checkpoint, and the digests and logs are put back: the mirror grew by M logs
# since the audit. Then, page cache warm, R times each (alternating):
#   full          trailproof verify MIRROR --public-keys KEYS --checkpoint CP --format json
#   incremental   the same with --incremental
# measured by bench/run_io.py: wall time and bytes read (the kernel's rchar for the process).
# Both must pass; the report says how many logs each hashed (summary.logs.valid) and trusted.
#
# Needs: cargo, jq, python3.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOGS=10000
NEW=100
CACHE_DIR=/tmp/trailproof-bench
RUNS=5
RESULTS=

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --logs) LOGS=$2; shift 2 ;;
        --new) NEW=$2; shift 2 ;;
        --cache-dir) CACHE_DIR=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --results) RESULTS=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
RESULTS=${RESULTS:-$CACHE_DIR/results-incremental.json}
for tool in cargo jq python3; do
    command -v "$tool" >/dev/null || die "$tool is needed"
done
[ $((NEW % 100)) -eq 0 ] || die "--new must be a multiple of 100 (50 logs per digest, two regions)"

cd "$ROOT"
cargo build --release --quiet -p trailproof --bin trailproof
cargo build --release --quiet -p trailproof-testgen
TP=$ROOT/target/release/trailproof
GEN=$ROOT/target/release/trailproof-testgen
RUN_IO="python3 $ROOT/bench/run_io.py"

dir=$CACHE_DIR/incremental-$LOGS-$NEW
rm -rf "$dir"
mkdir -p "$dir"
echo "== generating $((LOGS + NEW)) tiny logs in $dir"
"$GEN" tiny "$dir" --logs $((LOGS + NEW)) > /dev/null
keys=$dir/public-keys.json
mirror=$dir/mirror

# Sets aside the newest digests of each region (NEW/100 each) with their sidecars and logs.
python3 - "$mirror" "$dir/aside" $((NEW / 100)) <<'PY'
import gzip, json, os, sys
mirror, aside, per_region = sys.argv[1], sys.argv[2], int(sys.argv[3])
digests = {}
for folder, _, names in os.walk(mirror):
    for name in names:
        if name.endswith(".json.gz") and "_CloudTrail-Digest_" in name:
            region = name.split("_")[2]
            digests.setdefault(region, []).append(os.path.join(folder, name))
moved = 0
for region, paths in digests.items():
    for path in sorted(paths, key=os.path.basename)[-per_region:]:
        with gzip.open(path) as f:
            listed = [entry["s3Object"] for entry in json.load(f)["logFiles"]]
        for file in [path, path + ".metadata.json"] + [os.path.join(mirror, key) for key in listed]:
            target = os.path.join(aside, os.path.relpath(file, mirror))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.rename(file, target)
            moved += 1
print(f"set aside {moved} files")
PY
checkpoint=$dir/first.checkpoint.json
"$TP" verify "$mirror" --public-keys "$keys" --format json --output "$dir/first.json" \
    --save-checkpoint "$checkpoint" || die "the first audit did not pass"
(cd "$dir/aside" && find . -type f -print0 | while IFS= read -r -d '' f; do
    mkdir -p "$mirror/$(dirname "$f")"; mv "$f" "$mirror/$f"; done)
echo "== first audit: $(jq '.summary.logs.valid' "$dir/first.json") logs; mirror now has $((LOGS + NEW))"
find "$mirror" -type f -print0 | xargs -0 -P "$(nproc)" -n 2000 cat > /dev/null

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A wall read
for mode in full incremental; do wall[$mode]=""; read[$mode]=""; done
for run in $(seq "$RUNS"); do
    for mode in full incremental; do
        extra=()
        [ "$mode" = incremental ] && extra=(--incremental)
        set -- $($RUN_IO "$TP" verify "$mirror" --public-keys "$keys" --checkpoint "$checkpoint" \
            "${extra[@]}" --format json --output "$dir/$mode.json")
        [ "$3" = 0 ] || die "$mode run exited $3"
        wall[$mode]+="$1 "; read[$mode]+="$2 "
        echo "run $run $mode: $1 s, $2 bytes read"
    done
done
row() {
    local mode=$1
    jq -n --arg mode "$mode" \
        --argjson wall "$(tr ' ' '\n' <<<"${wall[$mode]}" | grep . | median)" \
        --argjson read "$(tr ' ' '\n' <<<"${read[$mode]}" | grep . | median)" \
        --slurpfile r "$dir/$mode.json" \
        '{mode: $mode, wall_s: $wall, bytes_read: $read,
          logs_hashed: $r[0].summary.logs.valid, logs_trusted: $r[0].summary.logs.trusted,
          uncompressed_bytes_hashed: $r[0].summary.logs.uncompressed_bytes}'
}
full=$(row full)
incremental=$(row incremental)
jq -n --argjson full "$full" --argjson inc "$incremental" --argjson logs "$LOGS" --argjson new "$NEW" \
    --arg host "$(uname -n)" --arg cpus "$(nproc)" '{
        host: $host, cpus: ($cpus | tonumber), logs_at_first_audit: $logs, new_logs: $new,
        full: $full, incremental: $inc,
        time_ratio: (($inc.wall_s / $full.wall_s) * 1000 | round / 1000),
        read_ratio: (($inc.bytes_read / $full.bytes_read) * 1000 | round / 1000)}' > "$RESULTS"
echo "== results ($RESULTS)"
jq -r '"full: \(.full.wall_s) s, \(.full.bytes_read) bytes read, \(.full.logs_hashed) logs hashed\nincremental: \(.incremental.wall_s) s, \(.incremental.bytes_read) bytes read, \(.incremental.logs_hashed) logs hashed, \(.incremental.logs_trusted) trusted\nincremental / full: time \(.time_ratio), bytes read \(.read_ratio)"' "$RESULTS"
