#!/usr/bin/env bash
# One audit split into shards against the same audit in one run, on one mirror, in one run of
# this script:
#
#   single     trailproof verify MIRROR --public-keys KEYS --format json --output F
#   shards-N   trailproof plan MIRROR --shards N; then the N shards at once, each
#              trailproof verify ... --plan PLAN --shard K --jobs CORES/N (so that the N
#              processes share this machine's cores as N nodes would not); then
#              trailproof merge PART... --format json
#   shard-K    each shard of the largest N alone, with every core (what one node does)
#
# each under GNU time (wall time, peak RSS per process). Checks (any failure: exit 1): every
# merged report equals the single run's byte for byte, apart from the run's times, command
# line and the shard list (tests/common's `comparable`, in Python here).
#
# Run by hand (not in CI):   bench/shards.sh
#
#   LOGS=400000        tiny one-record log files (trailproof-testgen tiny), the many-small-files
#                      case of real archives
#   ACCOUNTS=8         accounts (each with two regions: 2 x ACCOUNTS places to shard; with
#                      ACCOUNTS=1 each place is larger than a shard and is cut into windows of days)
#   SHARDS="2 4"       shard counts
#   CACHE_DIR=/tmp/trailproof-bench
#
# Needs: cargo, GNU time (/usr/bin/time), python3.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
LOGS=${LOGS:-400000}
ACCOUNTS=${ACCOUNTS:-8}
SHARDS=${SHARDS:-"2 4"}
CACHE_DIR=${CACHE_DIR:-/tmp/trailproof-bench}
cores=$(nproc)

cargo build --release --quiet --bin trailproof
cargo build --release --quiet -p trailproof-testgen
bin=$PWD/target/release/trailproof
data=$CACHE_DIR/shards-$LOGS-$ACCOUNTS
if [[ ! -d $data/mirror ]]; then
    ./target/release/trailproof-testgen tiny "$data" --logs "$LOGS" --accounts "$ACCOUNTS" >/dev/null
fi
mirror=$data/mirror
keys=$data/public-keys.json
files=$(find "$mirror" -type f | wc -l)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Warm the page cache, as every timed run then finds it.
find "$mirror" -type f -exec cat {} + >/dev/null

# `/usr/bin/time -f "%e %M"` of a command: "seconds peak-KiB" in $2.
timed() {
    local out=$1
    shift
    /usr/bin/time -f "%e %M" -o "$out" "$@"
}

echo "mirror: $files files ($LOGS logs, $ACCOUNTS accounts x 2 regions), $cores cores"
timed "$work/single.time" "$bin" verify "$mirror" --public-keys "$keys" --quiet \
    --format json --output "$work/single.json" --fail-on never
read -r single_s single_kb <"$work/single.time"
printf '%-10s %8.2f s  %9.0f files/s  peak RSS %4d MiB\n' single "$single_s" \
    "$(echo "$files / $single_s" | bc -l)" $((single_kb / 1024))

for n in $SHARDS; do
    "$bin" plan "$mirror" --shards "$n" --output "$work/plan-$n.json" 2>/dev/null
    jobs=$(( cores / n > 0 ? cores / n : 1 ))
    start=$(date +%s.%N)
    for ((k = 0; k < n; k++)); do
        timed "$work/shard-$n-$k.time" "$bin" verify "$mirror" --public-keys "$keys" --quiet \
            --plan "$work/plan-$n.json" --shard "$k" --jobs "$jobs" --fail-on never \
            --format json --output "$work/part-$n-$k.json" &
    done
    wait
    end=$(date +%s.%N)
    timed "$work/merge-$n.time" "$bin" merge "$work"/part-"$n"-*.json --fail-on never \
        --format json --output "$work/merged-$n.json"
    read -r merge_s merge_kb <"$work/merge-$n.time"
    peak=0
    for ((k = 0; k < n; k++)); do
        read -r _ kb <"$work/shard-$n-$k.time"
        ((kb > peak)) && peak=$kb
    done
    wall=$(echo "$end - $start" | bc -l)
    printf '%-10s %8.2f s  (shards at once, --jobs %d)  largest shard RSS %4d MiB; merge %.2f s, %d MiB\n' \
        "shards-$n" "$wall" "$jobs" $((peak / 1024)) "$merge_s" $((merge_kb / 1024))
    python3 - "$work/single.json" "$work/merged-$n.json" <<'EOF'
import sys
def comparable(text):
    out, skip = [], None
    for line in text.splitlines():
        if skip is not None:
            if line == skip:
                skip = None
            continue
        if line.startswith('  "generated_at": '):
            continue
        if line == '  "run": {':
            skip = '  },'
            continue
        if line == '    "shards": [':
            skip = '    ]'
            continue
        out.append(line)
    return "\n".join(out).replace(",\n  },", "\n  },")
single, merged = (open(p).read() for p in sys.argv[1:3])
if comparable(single) != comparable(merged):
    sys.exit(f"merged report {sys.argv[2]} differs from the single run's")
print("           merged report == single run's (but run times and the shard list)")
EOF
done

# Each shard of the largest plan alone, with every core: one node's work.
n=${SHARDS##* }
for ((k = 0; k < n; k++)); do
    timed "$work/alone-$k.time" "$bin" verify "$mirror" --public-keys "$keys" --quiet \
        --plan "$work/plan-$n.json" --shard "$k" --fail-on never \
        --format json --output "$work/alone-$k.json"
    read -r s kb <"$work/alone-$k.time"
    shard_files=$(python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(p['shards'][int(sys.argv[2])]['load']['files'])" "$work/plan-$n.json" "$k")
    printf 'shard %d/%d %8.2f s  %9.0f own files/s  peak RSS %4d MiB  (%d of the files)\n' \
        "$k" "$n" "$s" "$(echo "$shard_files / $s" | bc -l)" $((kb / 1024)) "$shard_files"
done
