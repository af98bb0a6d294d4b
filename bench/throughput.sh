#!/usr/bin/env bash
# Log-hashing throughput of `trailproof verify` against `zcat FILE | sha256sum`.
#
# Run by hand (not in CI):   bench/throughput.sh [options]
#
#   --logs N          log files in the generated mirror            (default 10000)
#   --seed S          generator seed                               (default 1)
#   --cache-dir DIR   where the mirror and its size cache live
#                     (default /tmp/trailproof-bench/mirror-N)
#   --results FILE    where the JSON results go                    (default /tmp/trailproof-bench/results.json)
#   --runs R          timed runs per command, after one warm-up    (default 3)
#   --regenerate      rebuild the mirror even if the cache holds one
#   --allow-unrealistic  carry on when the size checks fail
#   --quiet-wait SECS wait up to SECS for other processes to leave the CPUs idle (default 300)
#
# Other processes skew the numbers: the script waits for an idle machine, then reports how
# much CPU time processes other than its own used during each measurement ("foreign CPU").
# Page cache: some hosts page out file pages nobody touched for a minute or so (e.g. a DAMON
# "pageout" scheme), so the mirror is re-read right before every measured run (hyperfine
# --prepare) and `fincore` reports how much of it was cached.
#
# Steps: build the release binaries; build (or reuse) a clean TEST-ONLY mirror with
# `trailproof-testgen scale`; check its sizes look like CloudTrail's and cache the total
# uncompressed size; warm the page cache; one `/usr/bin/time -v` run per job count for
# peak RSS and CPU% (with `mpstat -P ALL 1` alongside) that also checks the verdict;
# then hyperfine (or a plain loop) over
#   baseline        find | xargs -P$(nproc) sh -c 'zcat "$f" | sha256sum'  (every core)
#   trailproof      trailproof verify MIRROR --public-keys KEYS --format json
#   trailproof-j1   the same with --jobs 1
# and report medians, uncompressed MB/s (10^6 bytes/s), ratios, RSS and CPU%.
#
# Needs: cargo, jq, GNU time (/usr/bin/time); hyperfine and mpstat (sysstat) are used if
# present. Missing Debian packages are installed with apt-get when running as root.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOGS=10000
SEED=1
CACHE_DIR=
RESULTS=/tmp/trailproof-bench/results.json
RUNS=3
REGENERATE=0
ALLOW_UNREALISTIC=0
QUIET_WAIT=300

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --logs) LOGS=${2:?--logs needs a value}; shift 2 ;;
        --seed) SEED=${2:?--seed needs a value}; shift 2 ;;
        --cache-dir) CACHE_DIR=${2:?--cache-dir needs a value}; shift 2 ;;
        --results) RESULTS=${2:?--results needs a value}; shift 2 ;;
        --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
        --regenerate) REGENERATE=1; shift ;;
        --allow-unrealistic) ALLOW_UNREALISTIC=1; shift ;;
        --quiet-wait) QUIET_WAIT=${2:?--quiet-wait needs a value}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ "$LOGS" =~ ^[1-9][0-9]*$ ]] || die "--logs must be a positive integer"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[[ "$QUIET_WAIT" =~ ^[0-9]+$ ]] || die "--quiet-wait must be a number of seconds"
CACHE_DIR=${CACHE_DIR:-/tmp/trailproof-bench/mirror-$LOGS}
MIRROR=$CACHE_DIR/mirror
KEYS=$CACHE_DIR/public-keys.json
NPROC=$(nproc)
WORK=$(mktemp -d /tmp/trailproof-bench-run.XXXXXX)
MPSTAT_PID=
cleanup() {
    if [ -n "$MPSTAT_PID" ]; then kill "$MPSTAT_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

section() { printf '\n== %s\n' "$*"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# CPU accounting. /proc/stat gives busy ticks of the whole machine; /proc/$$/stat fields 16-17
# (cutime, cstime) give the CPU ticks of this script's waited-for descendants (hyperfine, time,
# trailproof, zcat ...). The difference is CPU time other processes took.
cpu_mark() { # -> "busy_ticks children_ticks epoch_seconds"
    local busy children
    busy=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat)
    children=$(sed 's/^.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }')  # fields 16, 17
    echo "$busy $children $(date +%s.%N)"
}
foreign_pct() { # mark-before mark-after -> foreign CPU as % of one core, averaged over the interval
    awk -v a="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        wall = y[3] - x[3]; if (wall <= 0) { print 0; exit }
        f = ((y[1] - x[1]) - (y[2] - x[2])) / hz / wall * 100
        printf "%.0f", (f < 0 ? 0 : f) }'
}
machine_busy_pct() { # seconds -> busy % of one core, summed over cores, over that many seconds
    local a b
    a=$(cpu_mark); sleep "$1"; b=$(cpu_mark)
    awk -v a="$a" -v b="$b" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", (y[1] - x[1]) / hz / (y[3] - x[3]) * 100 }'
}
wait_for_quiet() { # waits until the machine is (nearly) idle, at most QUIET_WAIT seconds
    local waited=0 busy
    while :; do
        busy=$(machine_busy_pct 3)
        if [ "$busy" -le 15 ]; then echo "machine idle (${busy}% of one core busy over 3 s)"; return 0; fi
        if [ "$waited" -ge "$QUIET_WAIT" ]; then
            echo "WARNING: other processes keep ${busy}% of one core busy; measuring anyway, numbers will be skewed" >&2
            ps -eo pid,pcpu,etime,comm --sort=-pcpu | sed -n '2,6p' >&2
            return 0
        fi
        [ "$waited" -gt 0 ] || { echo "waiting up to ${QUIET_WAIT}s for an idle machine; busiest processes:"; ps -eo pid,pcpu,etime,comm --sort=-pcpu | sed -n '2,6p'; }
        sleep 7; waited=$((waited + 10))
    done
}

# ---------------------------------------------------------------- tools
section "tools"
need_pkgs=()
[ -x /usr/bin/time ] || need_pkgs+=(time)
command -v jq >/dev/null || need_pkgs+=(jq)
command -v hyperfine >/dev/null || need_pkgs+=(hyperfine)
command -v mpstat >/dev/null || need_pkgs+=(sysstat)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing: ${need_pkgs[*]}"
        apt-get update -qq
        apt-get install -y -qq "${need_pkgs[@]}" >/dev/null || echo "warning: apt-get install failed" >&2
    else
        echo "warning: missing ${need_pkgs[*]} (run as root to install them with apt-get)" >&2
    fi
fi
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time, Debian package 'time') is required"
command -v jq >/dev/null || die "jq is required"
HYPERFINE=$(command -v hyperfine || true)
MPSTAT=$(command -v mpstat || true)
echo "cores: $NPROC ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))"
echo "hyperfine: ${HYPERFINE:-absent, using a date +%s.%N loop}; mpstat: ${MPSTAT:-absent}"
echo "zcat: $(gzip --version | head -1); sha256sum: $(sha256sum --version | head -1)"

# ---------------------------------------------------------------- build
section "build (cargo build --release -p trailproof -p trailproof-testgen)"
(cd "$ROOT" && cargo build --release -p trailproof -p trailproof-testgen)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
TP=$TARGET_DIR/release/trailproof
TESTGEN=$TARGET_DIR/release/trailproof-testgen
[ -x "$TP" ] && [ -x "$TESTGEN" ] || die "release binaries not found under $TARGET_DIR/release"

# ---------------------------------------------------------------- mirror
section "mirror: $LOGS log files, seed $SEED, in $CACHE_DIR"
MARKER=$CACHE_DIR/.bench-mirror
SIZES=$CACHE_DIR/log-sizes.tsv  # compressed <TAB> uncompressed <TAB> path, one per log file
want="testgen scale --logs $LOGS --seed $SEED"
if [ "$REGENERATE" = 0 ] && [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$want" ] \
    && [ -d "$MIRROR" ] && [ -f "$KEYS" ]; then
    echo "reusing the cached mirror ($want)"
else
    mkdir -p "$CACHE_DIR"
    rm -f "$MARKER" "$SIZES"
    gen_start=$(date +%s.%N)
    "$TESTGEN" scale "$CACHE_DIR" --logs "$LOGS" --seed "$SEED"
    echo "generated in $(awk -v a="$gen_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
    echo "$want" > "$MARKER"
fi

# Log files are the *.json.gz under .../CloudTrail/... (digests live under CloudTrail-Digest/).
LOG_FIND=(find "$MIRROR" -type f -path '*/CloudTrail/*' -name '*.json.gz')
"${LOG_FIND[@]}" -print0 > "$WORK/logs.0"
NFILES=$(tr -cd '\0' < "$WORK/logs.0" | wc -c)
[ "$NFILES" -gt 0 ] || die "no log files under $MIRROR"

if [ -f "$SIZES" ] && [ "$(wc -l < "$SIZES")" = "$NFILES" ]; then
    echo "reusing cached sizes: $SIZES"
else
    echo "gunzipping every log file once to measure its size (cached in $SIZES)"
    # Each worker line is far below PIPE_BUF, so lines from parallel workers do not interleave.
    xargs -0 -P "$NPROC" -n 64 sh -c \
        'for f; do printf "%s\t%s\t%s\n" "$(stat -c %s "$f")" "$(gzip -dc "$f" | wc -c)" "$f"; done' _ \
        < "$WORK/logs.0" | sort -t "$(printf '\t')" -k3,3 > "$SIZES.tmp"
    [ "$(wc -l < "$SIZES.tmp")" = "$NFILES" ] || die "size scan incomplete"
    mv "$SIZES.tmp" "$SIZES"
fi

# Totals and distribution (uncompressed sizes; KiB = 1024 B, MiB = 1048576 B).
read -r COMPRESSED UNCOMPRESSED N_SMALL N_MID N_BIG MAX_U MIN_U < <(awk -F'\t' '
    { c += $1; u += $2
      if ($2 < 10240) s++; else if ($2 <= 1048576) m++; else b++
      if (NR == 1 || $2 > max) max = $2; if (NR == 1 || $2 < min) min = $2 }
    END { printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f\n", c, u, s, m, b, max, min }' "$SIZES")  # %.0f: mawk %d is 32-bit
DIGEST_FILES=$(find "$MIRROR" -type f -path '*/CloudTrail-Digest/*' -name '*.json.gz' | wc -l)
MIRROR_BYTES=$(du -sb "$MIRROR" | cut -f1)
sort -n -t "$(printf '\t')" -k2,2 "$SIZES" | cut -f2 > "$WORK/usorted"
pct() { sed -n "$(( ( $1 * (NFILES - 1) ) / 100 + 1 ))p" "$WORK/usorted"; }
P10=$(pct 10); P50=$(pct 50); P90=$(pct 90); P99=$(pct 99)
printf 'log files: %d (+ %d digest files), mirror on disk %s MiB\n' "$NFILES" "$DIGEST_FILES" "$(mib "$MIRROR_BYTES")"
printf 'total compressed:   %15d bytes (%s MiB)\n' "$COMPRESSED" "$(mib "$COMPRESSED")"
printf 'total uncompressed: %15d bytes (%s MiB), ratio %.2f\n' "$UNCOMPRESSED" "$(mib "$UNCOMPRESSED")" \
    "$(awk -v u="$UNCOMPRESSED" -v c="$COMPRESSED" 'BEGIN { print u / c }')"
printf 'uncompressed per file: min %s KiB, p10 %s KiB, median %s KiB, p90 %s KiB, p99 %s KiB, max %s MiB\n' \
    "$((MIN_U / 1024))" "$((P10 / 1024))" "$((P50 / 1024))" "$((P90 / 1024))" "$((P99 / 1024))" "$(mib "$MAX_U")"
printf 'files < 10 KiB: %d; 10 KiB..1 MiB: %d (%.1f%%); > 1 MiB: %d (%.2f%%)\n' "$N_SMALL" "$N_MID" \
    "$(awk -v a="$N_MID" -v n="$NFILES" 'BEGIN { print 100 * a / n }')" "$N_BIG" \
    "$(awk -v a="$N_BIG" -v n="$NFILES" 'BEGIN { print 100 * a / n }')"

# Compression level: recompress an evenly spread sample (plus the largest file) with gzip -1/-6/-9;
# a level-6 deflate should be within a few percent of gzip -6 and nearer to it than to -1.
# (The generator's zlib-rs output is not byte-identical to GNU gzip, so compare sizes.) XFL must be 0
# (neither "fastest" nor "maximum compression").
sort -n -t "$(printf '\t')" -k2,2 "$SIZES" | awk -F'\t' -v n="$NFILES" \
    'NR % int(n / 24 + 1) == 1 || NR == n { print $3 }' > "$WORK/sample"
read -r S_ACT S_G1 S_G6 S_G9 S_XFL_BAD S_N < <(while IFS= read -r f; do
        printf '%s %s %s %s %s\n' "$(stat -c %s "$f")" "$(gzip -dc "$f" | gzip -1 -n | wc -c)" \
            "$(gzip -dc "$f" | gzip -6 -n | wc -c)" "$(gzip -dc "$f" | gzip -9 -n | wc -c)" \
            "$(od -An -tu1 -j8 -N1 "$f" | tr -d ' ')"
    done < "$WORK/sample" | awk '{ a += $1; g1 += $2; g6 += $3; g9 += $4; if ($5 != 0) x++; n++ }
        END { printf "%.0f %.0f %.0f %.0f %d %d\n", a, g1, g6, g9, x, n }')
RATIO_G6=$(awk -v a="$S_ACT" -v b="$S_G6" 'BEGIN { printf "%.3f", a / b }')
printf 'gzip level (sample of %d files): size / gzip -6 = %s (gzip -1 would be %.3f, gzip -9 %.3f); XFL != 0 in %d\n' \
    "$S_N" "$RATIO_G6" "$(awk -v a="$S_G1" -v b="$S_G6" 'BEGIN { print a / b }')" \
    "$(awk -v a="$S_G9" -v b="$S_G6" 'BEGIN { print a / b }')" "$S_XFL_BAD"

problems=()
awk -v a="$N_MID" -v n="$NFILES" 'BEGIN { exit !(a >= 0.9 * n) }' \
    || problems+=("fewer than 90% of log files are 10 KiB..1 MiB uncompressed")
[ "$N_BIG" -ge 1 ] || problems+=("no log file is larger than 1 MiB")
awk -v b="$N_BIG" -v n="$NFILES" 'BEGIN { exit !(b <= 0.05 * n) }' \
    || problems+=("more than 5% of log files are larger than 1 MiB")
[ "$MAX_U" -ge $((8 << 20)) ] || problems+=("the largest log file is under 8 MiB (not 'much larger')")
awk -v r="$RATIO_G6" -v a="$S_ACT" -v g1="$S_G1" -v g6="$S_G6" \
    'BEGIN { exit !(r >= 0.95 && r <= 1.05 && (a - g6) ^ 2 < (a - g1) ^ 2) }' \
    || problems+=("compressed sizes do not look like gzip level 6")
[ "$S_XFL_BAD" = 0 ] || problems+=("gzip XFL byte is not 0 (level 6) in $S_XFL_BAD sampled files")
if [ ${#problems[@]} -eq 0 ]; then
    echo "size check: OK (looks like CloudTrail: mostly 10 KiB..1 MiB, a few much larger, gzip -6)"
    SIZE_OK=true
else
    for p in "${problems[@]}"; do echo "size check FAILED: $p" >&2; done
    SIZE_OK=false
    [ "$ALLOW_UNREALISTIC" = 1 ] || die "mirror does not look like real CloudTrail (use --allow-unrealistic to carry on)"
fi

# ---------------------------------------------------------------- page cache
warm() { find "$MIRROR" -type f -print0 | xargs -0 cat > /dev/null; }
cached() { # -> "% of the log files' bytes in the page cache" (needs fincore, util-linux)
    if command -v fincore > /dev/null; then
        xargs -0 fincore -nb -o PAGES,SIZE < "$WORK/logs.0" | awk -v ps="$(getconf PAGESIZE)" \
            '{ r += $1; s += int(($2 + ps - 1) / ps) } END { printf "%.1f%%", 100 * r / s }'
    else
        echo "unknown (no fincore)"
    fi
}
section "warming the page cache"
mem_avail_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
if [ $((MIRROR_BYTES / 1024 * 2)) -gt "$mem_avail_kb" ]; then
    echo "warning: mirror ($(mib "$MIRROR_BYTES") MiB) is large for available memory ($((mem_avail_kb / 1024)) MiB); runs may hit the disk" >&2
fi
warm
warm
echo "read $(mib "$MIRROR_BYTES") MiB twice; log files cached: $(cached)"

# ---------------------------------------------------------------- commands
q() { printf '%q' "$1"; }
BASELINE_CMD="find $(q "$MIRROR") -type f -path '*/CloudTrail/*' -name '*.json.gz' -print0 | xargs -0 -P $NPROC -n 64 sh -c 'for f; do zcat \"\$f\" | sha256sum; done' _ > /dev/null"
TP_CMD="$(q "$TP") verify $(q "$MIRROR") --public-keys $(q "$KEYS") --format json > /dev/null"
TP1_CMD="$(q "$TP") verify $(q "$MIRROR") --public-keys $(q "$KEYS") --format json --jobs 1 > /dev/null"

# ---------------------------------------------------------------- check + RSS + CPU
# One run per job count under /usr/bin/time -v, with mpstat sampling every core each second.
# The default-jobs run's report is checked: verdict pass, every listed log file valid.
time_v() { # label, extra args...
    local label=$1; shift
    local rc=0 m0 m1
    warm
    echo "log files cached before the run: $(cached)"
    if [ -n "$MPSTAT" ]; then
        S_TIME_FORMAT=ISO "$MPSTAT" -P ALL 1 > "$WORK/mpstat-$label.txt" 2>&1 &
        MPSTAT_PID=$!
        sleep 1.2  # let mpstat print its header and first interval
    fi
    m0=$(cpu_mark)
    /usr/bin/time -v -o "$WORK/time-$label.txt" \
        "$TP" verify "$MIRROR" --public-keys "$KEYS" --format json "$@" > "$WORK/report-$label.json" || rc=$?
    m1=$(cpu_mark)
    FOREIGN[$label]=$(foreign_pct "$m0" "$m1")
    if [ -n "$MPSTAT_PID" ]; then
        sleep 1.2
        kill "$MPSTAT_PID" 2>/dev/null || true
        wait "$MPSTAT_PID" 2>/dev/null || true
        MPSTAT_PID=
    fi
    [ "$rc" = 0 ] || { cat "$WORK/time-$label.txt" >&2; die "trailproof ($label) exited with status $rc"; }
}
tv() { # label, field prefix -> value after ': '
    awk -F': ' -v k="$2" 'index($0, k) { gsub(/^[ \t]+/, "", $1); if ($1 == k) { print $2; exit } }' "$WORK/time-$1.txt"
}
mpstat_busy() { # label -> per-second busy% of each core while trailproof ran
    [ -f "$WORK/mpstat-$1.txt" ] || return 0
    awk '$2 ~ /^[0-9]+$/ && $1 ~ /^[0-9][0-9]:/ { busy[$1] = busy[$1] sprintf(" cpu%s %5.1f%%", $2, 100 - $NF); t[++n] = $1 }
         END { last = ""; for (i = 1; i <= n; i++) if (t[i] != last) { print "  " t[i] busy[t[i]]; last = t[i] } }' \
        "$WORK/mpstat-$1.txt"
}

declare -A FOREIGN
section "verdict check, peak RSS and CPU (/usr/bin/time -v, default --jobs = $NPROC)"
wait_for_quiet
time_v jobsN
R=$WORK/report-jobsN.json
jq -e --argjson n "$NFILES" --argjson u "$UNCOMPRESSED" '
    .verdict == "pass" and .summary.logs.listed == $n and .summary.logs.valid == $n
    and .summary.logs.invalid == 0 and .summary.logs.unverified == 0 and .summary.logs.unreferenced == 0
    and .summary.digests.invalid == 0 and .summary.findings.errors == 0
    and .summary.logs.uncompressed_bytes == $u' "$R" > /dev/null \
    || { jq '{verdict, summary}' "$R" >&2; die "report is not a clean pass over all $NFILES log files"; }
echo "report: verdict $(jq -r .verdict "$R"); $(jq -r '.summary.digests | "\(.valid)/\(.total) digests valid"' "$R"); $(jq -r '.summary.logs | "\(.valid)/\(.listed) log files valid, \(.uncompressed_bytes) uncompressed bytes"' "$R") (matches the gunzip total)"
RSS_KB=$(tv jobsN "Maximum resident set size (kbytes)")
CPU_PCT=$(tv jobsN "Percent of CPU this job got" | tr -d '%')
echo "wall $(tv jobsN "Elapsed (wall clock) time (h:mm:ss or m:ss)"), user $(tv jobsN "User time (seconds)") s, sys $(tv jobsN "System time (seconds)") s, CPU ${CPU_PCT}%, peak RSS $(mib $((RSS_KB * 1024))) MiB; foreign CPU ${FOREIGN[jobsN]}% (of one core)"
echo "context switches: voluntary $(tv jobsN "Voluntary context switches"), involuntary $(tv jobsN "Involuntary context switches"); major page faults $(tv jobsN "Major (requiring I/O) page faults")"
if [ -n "$MPSTAT" ]; then echo "mpstat -P ALL 1 (busy = 100 - %idle; first/last second are partly outside the run):"; mpstat_busy jobsN; fi

section "peak RSS and CPU with --jobs 1"
time_v jobs1 --jobs 1
RSS1_KB=$(tv jobs1 "Maximum resident set size (kbytes)")
CPU1_PCT=$(tv jobs1 "Percent of CPU this job got" | tr -d '%')
echo "wall $(tv jobs1 "Elapsed (wall clock) time (h:mm:ss or m:ss)"), user $(tv jobs1 "User time (seconds)") s, sys $(tv jobs1 "System time (seconds)") s, CPU ${CPU1_PCT}%, peak RSS $(mib $((RSS1_KB * 1024))) MiB; foreign CPU ${FOREIGN[jobs1]}% (of one core)"
[ "$(jq -r .verdict "$WORK/report-jobs1.json")" = pass ] || die "--jobs 1 verdict is not pass"

# ---------------------------------------------------------------- timing
NAMES=(baseline trailproof trailproof-j1)
CMDS=("$BASELINE_CMD" "$TP_CMD" "$TP1_CMD")
section "timing: 1 warm-up + $RUNS runs each"
for i in 0 1 2; do printf '  %-14s %s\n' "${NAMES[$i]}" "${CMDS[$i]}"; done
wait_for_quiet
T0=$(cpu_mark)
if [ -n "$HYPERFINE" ]; then
    WARM_CMD="find $(q "$MIRROR") -type f -print0 | xargs -0 cat > /dev/null"
    "$HYPERFINE" --shell bash --warmup 1 --runs "$RUNS" --style basic --export-json "$WORK/hyperfine.json" \
        --prepare "$WARM_CMD" \
        -n "${NAMES[0]}" "${CMDS[0]}" -n "${NAMES[1]}" "${CMDS[1]}" -n "${NAMES[2]}" "${CMDS[2]}"
    for i in 0 1 2; do
        jq -r --arg n "${NAMES[$i]}" '.results[] | select(.command == $n) | .times[]' "$WORK/hyperfine.json" \
            > "$WORK/times-${NAMES[$i]}"
    done
    TOOL="hyperfine $("$HYPERFINE" --version | awk '{ print $2 }')"
else
    for i in 0 1 2; do
        : > "$WORK/times-${NAMES[$i]}"
        for run in $(seq 0 "$RUNS"); do
            warm
            t0=$(date +%s.%N)
            bash -c "${CMDS[$i]}" || die "${NAMES[$i]} failed"
            t1=$(date +%s.%N)
            if [ "$run" -gt 0 ]; then awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }' >> "$WORK/times-${NAMES[$i]}"; fi
        done
        echo "  ${NAMES[$i]}: $(tr '\n' ' ' < "$WORK/times-${NAMES[$i]}")s"
    done
    TOOL="date +%s.%N loop"
fi
FOREIGN[timing]=$(foreign_pct "$T0" "$(cpu_mark)")
echo "foreign CPU during the timing runs: ${FOREIGN[timing]}% of one core"
echo "log files cached after the timing runs: $(cached)"
stats() { # file -> "median min max"
    sort -g "$1" | awk '{ t[NR] = $1 } END {
        m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
        printf "%.3f %.3f %.3f\n", m, t[1], t[NR] }'
}
declare -A MED MIN MAX MBS
for n in "${NAMES[@]}"; do
    read -r MED[$n] MIN[$n] MAX[$n] < <(stats "$WORK/times-$n")
    MBS[$n]=$(awk -v u="$UNCOMPRESSED" -v t="${MED[$n]}" 'BEGIN { printf "%.1f", u / t / 1e6 }')
done
RATIO_TP_BASE=$(awk -v a="${MED[baseline]}" -v b="${MED[trailproof]}" 'BEGIN { printf "%.2f", a / b }')
RATIO_SCALING=$(awk -v a="${MED[trailproof-j1]}" -v b="${MED[trailproof]}" 'BEGIN { printf "%.2f", a / b }')

# ---------------------------------------------------------------- report
section "results ($NFILES log files, $(mib "$UNCOMPRESSED") MiB uncompressed, $(mib "$COMPRESSED") MiB compressed; $NPROC cores; $TOOL; median of $RUNS)"
printf '%-44s %9s %9s %9s %12s\n' "command" "median s" "min s" "max s" "MB/s uncomp"
label() { case "$1" in
    baseline) echo "baseline: zcat | sha256sum, xargs -P $NPROC" ;;
    trailproof) echo "trailproof verify (default --jobs = $NPROC)" ;;
    trailproof-j1) echo "trailproof verify --jobs 1" ;;
esac; }
for n in "${NAMES[@]}"; do
    printf '%-44s %9s %9s %9s %12s\n' "$(label "$n")" "${MED[$n]}" "${MIN[$n]}" "${MAX[$n]}" "${MBS[$n]}"
done
echo
echo "throughput ratio trailproof / baseline:              ${RATIO_TP_BASE}x"
echo "scaling trailproof ($NPROC jobs) / trailproof (1 job):     ${RATIO_SCALING}x"
echo "trailproof peak RSS: $(mib $((RSS_KB * 1024))) MiB ($NPROC jobs), $(mib $((RSS1_KB * 1024))) MiB (1 job)"
echo "trailproof CPU (time -v): ${CPU_PCT}% ($NPROC jobs; $((NPROC * 100))% = all cores busy), ${CPU1_PCT}% (1 job)"
echo "CPU taken by other processes: ${FOREIGN[timing]}% of one core during timing, ${FOREIGN[jobsN]}% / ${FOREIGN[jobs1]}% during the time -v runs"
for k in timing jobsN jobs1; do
    if [ "${FOREIGN[$k]}" -gt 10 ]; then echo "WARNING: other processes used ${FOREIGN[$k]}% of one core during '$k'; the numbers are skewed" >&2; fi
done
if [ "$SIZE_OK" != true ]; then echo "WARNING: the mirror failed the CloudTrail size checks" >&2; fi

mkdir -p "$(dirname "$RESULTS")"
GIT_REV=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$([ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] && echo true || echo false)
cmd_json() { # name
    jq -n --arg name "$1" --arg cmd "$2" --argjson med "${MED[$1]}" --argjson min "${MIN[$1]}" \
        --argjson max "${MAX[$1]}" --argjson mbs "${MBS[$1]}" --slurpfile times <(cat "$WORK/times-$1") \
        '{name: $name, command: $cmd, median_s: $med, min_s: $min, max_s: $max, times_s: $times,
          uncompressed_mb_per_s: $mbs}'
}
time_json() { # label
    jq -n --argjson foreign "${FOREIGN[$1]}" --arg wall "$(tv "$1" "Elapsed (wall clock) time (h:mm:ss or m:ss)")" \
        --argjson user "$(tv "$1" "User time (seconds)")" --argjson sys "$(tv "$1" "System time (seconds)")" \
        --argjson cpu "$(tv "$1" "Percent of CPU this job got" | tr -d '%')" \
        --argjson rss "$(tv "$1" "Maximum resident set size (kbytes)")" \
        --argjson vcs "$(tv "$1" "Voluntary context switches")" \
        '{wall_clock: $wall, user_s: $user, system_s: $sys, cpu_percent: $cpu, peak_rss_kib: $rss,
          peak_rss_mib: (($rss / 1024 * 10 | round) / 10), foreign_cpu_percent_of_one_core: $foreign,
          voluntary_context_switches: $vcs}'
}
jq -n \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg rev "$GIT_REV" --argjson dirty "$GIT_DIRTY" \
    --arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" --argjson nproc "$NPROC" \
    --arg kernel "$(uname -r)" --arg rustc "$(rustc --version 2>/dev/null || echo unknown)" \
    --arg tool "$TOOL" --argjson runs "$RUNS" --arg gzip "$(gzip --version | head -1)" \
    --arg mirror "$MIRROR" --argjson logs "$LOGS" --argjson seed "$SEED" --argjson nfiles "$NFILES" \
    --argjson ndigests "$DIGEST_FILES" --argjson comp "$COMPRESSED" --argjson uncomp "$UNCOMPRESSED" \
    --argjson nsmall "$N_SMALL" --argjson nmid "$N_MID" --argjson nbig "$N_BIG" --argjson maxu "$MAX_U" \
    --argjson p50 "$P50" --argjson g6 "$RATIO_G6" --argjson sizeok "$SIZE_OK" \
    --argjson base "$(cmd_json baseline "$BASELINE_CMD")" --argjson tp "$(cmd_json trailproof "$TP_CMD")" \
    --argjson tp1 "$(cmd_json trailproof-j1 "$TP1_CMD")" \
    --argjson tvn "$(time_json jobsN)" --argjson tv1 "$(time_json jobs1)" \
    --argjson r1 "$RATIO_TP_BASE" --argjson r2 "$RATIO_SCALING" --argjson ft "${FOREIGN[timing]}" \
    '{date: $date, git_rev: $rev, git_dirty: $dirty, rustc: $rustc,
      host: {cpu: $cpu, cores: $nproc, kernel: $kernel}, timing_tool: $tool, runs: $runs, warmup_runs: 1,
      baseline_gzip: $gzip,
      mirror: {path: $mirror, generator: {logs: $logs, seed: $seed}, log_files: $nfiles, digest_files: $ndigests,
               compressed_bytes: $comp, uncompressed_bytes: $uncomp, median_uncompressed_bytes: $p50,
               max_uncompressed_bytes: $maxu, files_under_10kib: $nsmall, files_10kib_to_1mib: $nmid,
               files_over_1mib: $nbig, sample_size_vs_gzip6: $g6, looks_like_cloudtrail: $sizeok},
      throughput_unit: "uncompressed MB/s (10^6 bytes per second, median wall time)",
      results: [$base, $tp, $tp1], foreign_cpu_percent_of_one_core_during_timing: $ft,
      ratios: {trailproof_over_baseline: $r1, trailproof_jobs_default_over_jobs1: $r2},
      time_v: {jobs_default: $tvn, jobs_1: $tv1}}' > "$RESULTS"
echo "results written to $RESULTS"
