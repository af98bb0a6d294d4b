#!/usr/bin/env bash
# Many tiny log files (the common case of real archives): files per second against the floor of
# reading every file once on every core, and peak memory, in one run.
#
# Run by hand (not in CI):   bench/tiny.sh [options]
#
#   --sizes "N ..."   mirrors of N tiny log files to measure            (default "200000 1000000")
#   --cache-dir DIR   where the mirrors live (tiny-N/ under it)         (default /tmp/trailproof-bench)
#   --runs R          timed runs of the floor and of trailproof, median (default 3)
#   --results FILE    JSON results                                       (default DIR/results-tiny.json)
#
# For each size: build (or reuse) a clean TEST-ONLY mirror with `trailproof-testgen tiny`
# (written one account per million logs so the generator's memory stays bounded); read it once
# to warm the page cache; then, alternating so both see the same cache, R runs each of
#   floor        examples/read_floor.rs: list the mirror and read every file once on every core
#   trailproof   trailproof verify MIRROR --public-keys KEYS --format json --output F
#                --report junit=F --report html=F   (under /usr/bin/time -v: wall, peak RSS)
# and, once with R repetitions, examples/ceiling.rs: gunzip + SHA-256 of every log file from
# memory on every core (the work no verifier can skip, without the reading). The floor plus
# the ceiling is the same-work bound: read every file once, then inflate and hash every log.
# Report files/s (files = every file of the mirror: logs, digests, sidecars), trailproof's time
# as a multiple of the floor's and of the bound's, and trailproof's peak RSS. Every trailproof
# run must pass (exit 0).
# The targets (issue 11): >= 150,000 files/s and <= 2x the floor at 200,000 logs; peak RSS
# <= 256 MiB at 1,000,000 and 5,000,000 logs. Beyond what the page cache holds (a tiny file
# takes a 4 KiB page: 5,000,000 logs need ~21 GB), both the floor and trailproof read the disk.
#
# Needs: cargo, jq, GNU time (/usr/bin/time).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES="200000 1000000"
CACHE_DIR=/tmp/trailproof-bench
RUNS=3
RESULTS=

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) SIZES=$2; shift 2 ;;
        --cache-dir) CACHE_DIR=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --results) RESULTS=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
RESULTS=${RESULTS:-$CACHE_DIR/results-tiny.json}
for tool in cargo jq /usr/bin/time; do
    command -v "$tool" >/dev/null || die "$tool is needed"
done

cd "$ROOT"
cargo build --release --quiet -p trailproof --bin trailproof --example read_floor --example ceiling
cargo build --release --quiet -p trailproof-testgen
TP=$ROOT/target/release/trailproof
GEN=$ROOT/target/release/trailproof-testgen
FLOOR=$ROOT/target/release/examples/read_floor
CEILING=$ROOT/target/release/examples/ceiling
mkdir -p "$CACHE_DIR"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

results='[]'
for n in $SIZES; do
    dir=$CACHE_DIR/tiny-$n
    if [ ! -f "$dir/public-keys.json" ] || [ "$(cat "$dir/.logs" 2>/dev/null)" != "$n" ]; then
        accounts=$(( (n + 999999) / 1000000 ))
        echo "== generating $n tiny logs in $dir ($accounts account(s))"
        "$GEN" tiny "$dir" --logs "$n" --accounts "$accounts"
        echo "$n" > "$dir/.logs"
    fi
    echo "== $n: warming the page cache"
    find "$dir/mirror" -type f -print0 | xargs -0 -P "$(nproc)" -n 2000 cat > /dev/null
    out=$(mktemp -d)
    floors=() walls=() rss=()
    for run in $(seq "$RUNS"); do
        fl=$("$FLOOR" "$dir/mirror" 1)
        f=$(jq '.median_s' <<<"$fl")
        files=$(jq '.files' <<<"$fl")
        floors+=("$f")
        /usr/bin/time -v -o "$out/time" "$TP" verify "$dir/mirror" --public-keys "$dir/public-keys.json" \
            --format json --output "$out/r.json" --report "junit=$out/r.xml" --report "html=$out/r.html" \
            || die "trailproof did not pass on $dir (exit $?)"
        w=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$out/time")
        r=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time")
        walls+=("$w"); rss+=("$r")
        echo "run $run: floor ${f} s, trailproof ${w} s, peak RSS $((r / 1024)) MiB"
    done
    ceiling=null
    if [ "$n" -le 1000000 ]; then
        # (It holds every log in memory: above a million tiny logs it is left out.)
        ceiling=$("$CEILING" "$dir/mirror" --backend libdeflate --repeat "$RUNS" | tail -1 | jq '.best.median_s')
        echo "gunzip + SHA-256 of every log from memory (ceiling): ${ceiling} s"
    fi
    floor=$(printf '%s\n' "${floors[@]}" | median)
    wall=$(printf '%s\n' "${walls[@]}" | median)
    peak=$(printf '%s\n' "${rss[@]}" | sort -g | tail -1)
    row=$(jq -n --argjson logs "$n" --argjson files "$files" --argjson floor "$floor" \
        --argjson ceiling "$ceiling" --argjson wall "$wall" --argjson rss_kib "$peak" '{
            logs: $logs, files: $files, floor_s: $floor,
            ceiling_s: (if $ceiling == null then null else ($ceiling * 1000 | round / 1000) end),
            bound_s: (if $ceiling == null then null else (($floor + $ceiling) * 1000 | round / 1000) end),
            trailproof_s: $wall,
            files_per_s: ($files / $wall | floor), floor_files_per_s: ($files / $floor | floor),
            bound_files_per_s: (if $ceiling == null then null else $files / ($floor + $ceiling) | floor end),
            ratio_to_floor: (($wall / $floor) * 100 | round / 100),
            ratio_to_bound: (if $ceiling == null then null else ($wall / ($floor + $ceiling)) * 100 | round / 100 end),
            peak_rss_mib: ($rss_kib / 1024 | round)}')
    echo "$row"
    results=$(jq --argjson row "$row" '. + [$row]' <<<"$results")
    rm -rf "$out"
done
jq -n --argjson rows "$results" --arg host "$(uname -n)" --arg cpus "$(nproc)" \
    '{host: $host, cpus: ($cpus | tonumber), sizes: $rows}' > "$RESULTS"
echo "== results ($RESULTS)"
jq -r '.sizes[] | "\(.logs) logs, \(.files) files: trailproof \(.trailproof_s) s = \(.files_per_s) files/s (floor \(.floor_s) s = \(.floor_files_per_s) files/s, \(.ratio_to_floor)x the floor; floor + ceiling \(.bound_s) s = \(.bound_files_per_s) files/s, \(.ratio_to_bound)x that bound); peak RSS \(.peak_rss_mib) MiB"' "$RESULTS"
