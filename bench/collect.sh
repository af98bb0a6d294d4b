#!/usr/bin/env bash
# `trailproof collect` against the AWS CLI's ways of mirroring a CloudTrail bucket, against the
# same local moto S3 server, in one run:
#
#   collect      trailproof collect s3://BUCKET DIR --endpoint-url S3
#                (objects, each digest's metadata sidecar from its own GET, public keys, record)
#   sync         aws s3 sync s3://BUCKET DIR                  (objects only, no signatures)
#   sync+loop    aws s3 sync s3://BUCKET DIR, then README's loop: one list-objects-v2 and one
#                `aws s3api head-object` process per digest, written as DIR/KEY.metadata.json
#                (the loop exactly as README shows it, with --endpoint-url added); the sync and
#                the loop are timed apart and together
#
# each into a fresh folder. The targets (the collect issue): collect at least as fast as sync
# alone, and >= 3x faster than sync + head-object loop.
#
# Run by hand (not in CI):   bench/collect.sh            sizes and options via the environment:
#
#   OBJECTS=5000       bucket objects (logs + digests; sidecars are not objects) to generate
#   SEED=1             generator seed
#   JOBS=              collect's --jobs for the main run (empty: collect's default, 32)
#   EXTRA_JOBS=""      more collect runs after the main ones, one per --jobs value ("8 16 64")
#   WORK_PARENT=/tmp   where the temporary work folder (mirror, server log, the downloads) goes
#
# Untimed set-up: release builds of trailproof and trailproof-testgen; a TEST-ONLY mirror by
# `trailproof-testgen scale` (two regions, one digest and 10-14 logs per region-hour, as
# CloudTrail delivers for a busy account: OBJECTS/26 hours; logs ~1 KB-4 MB gzipped, ~55 KB
# mean, so ~5,000 objects are ~270 MB); tests/servers/aws_local.py (moto in server mode, S3 +
# STS, plus a ListPublicKeys stub) filled with it, the digests' sidecars as S3 user metadata
# (uploading takes ~10 ms an object). All clients talk to moto directly (not the fault proxy),
# with dummy credentials and no AWS config files. One untimed warm-up GET and LIST first, and
# `sync` (flushing the previous run's writes to disk) before each timed run.
#
# For each timed run: wall time (EPOCHREALTIME), the CPU time of the client processes (this
# shell's reaped children), of the moto server process, and of the whole machine (/proc/stat,
# in cores busy, and cores waiting on I/O). moto is one Python process (a thread per
# connection, one GIL, `Connection: close` on every response): at about one core it is the
# bottleneck, whatever the client.
#
# Checks (any failure: exit 1): every run wrote one file per object (and collect and the loop
# one sidecar per digest); collect's objects are byte for byte the sync's; and
#   trailproof verify COLLECT_DIR --public-keys K1 --public-keys K2 ... --collected-at T
# with the keys collect saved, passes (exit 0). T is one minute after the newest digest's end:
# the generator's trail stopped on a fixed date long ago, so verify's default collection time
# (the record's end, i.e. now) would make every chain chain.ends_early only because of the
# fixture's dates. The sync+loop folder is verified the same way (with the generated keys), for
# information.
#
# Needs: cargo, jq, python3 with moto[server] and boto3, the AWS CLI (v1).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OBJECTS=${OBJECTS:-5000}
SEED=${SEED:-1}
JOBS=${JOBS:-}
EXTRA_JOBS=${EXTRA_JOBS:-}
WORK_PARENT=${WORK_PARENT:-/tmp}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "error: $*" >&2; exit 1; }
section() { printf '\n== %s\n' "$*"; }

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    "") ;;
    *) die "no arguments; sizes and options come from the environment (see --help)" ;;
esac
for tool in cargo jq python3 aws; do
    command -v "$tool" >/dev/null || die "$tool is needed"
done
python3 -c 'import moto.server, boto3' 2>/dev/null || die "python3 needs moto[server] and boto3"
[[ $OBJECTS =~ ^[0-9]+$ && $OBJECTS -ge 52 ]] || die "OBJECTS must be a number >= 52"
for j in $JOBS $EXTRA_JOBS; do [[ $j =~ ^[1-9][0-9]*$ ]] || die "bad --jobs value $j"; done

# Dummy credentials only, never the user's profiles, SSO or instance roles.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
    AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3

cd "$ROOT"
section "building (release)"
cargo build --release --quiet -p trailproof --bin trailproof
cargo build --release --quiet -p trailproof-testgen
TP=$ROOT/target/release/trailproof
GEN=$ROOT/target/release/trailproof-testgen
"$TP" collect --help >/dev/null 2>&1 || die "$TP has no collect command (feature collect off?)"

WORK=$(mktemp -d "$WORK_PARENT/trailproof-collect-bench.XXXXXX")
SERVER_PID=
cleanup() {
    exec 3>&- 2>/dev/null || true  # stdin EOF: the server shuts down
    if [ -n "$SERVER_PID" ]; then
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the TEST-ONLY mirror ------------------------------------------------------------------------
# scale: hours = ceil(logs / 24), 2 regions x (1 digest + 10..14 logs) an hour: 26 objects an hour.
HOURS=$(( (OBJECTS + 13) / 26 ))
section "generating a TEST-ONLY mirror: $HOURS hours x 2 regions (trailproof-testgen scale)"
"$GEN" scale "$WORK/gen" --logs $(( HOURS * 24 )) --seed "$SEED"
MIRROR=$WORK/gen/mirror
KEYS=$WORK/gen/public-keys.json
find "$MIRROR" -type f ! -name '*.metadata.json' -name '*_CloudTrail-Digest_*' > "$WORK/digests.txt"
N_OBJECTS=$(find "$MIRROR" -type f ! -name '*.metadata.json' | wc -l)
N_DIGESTS=$(wc -l < "$WORK/digests.txt")
N_SIDECARS=$(find "$MIRROR" -type f -name '*.metadata.json' | wc -l)
BYTES=$(find "$MIRROR" -type f ! -name '*.metadata.json' -printf '%s\n' | awk '{s += $1} END {print s}')
BUCKET=$(zcat "$(head -1 "$WORK/digests.txt")" | jq -r .digestS3Bucket)
NEWEST_END=$(xargs -d '\n' zcat < "$WORK/digests.txt" | jq -r .digestEndTime | sort | tail -1)
COLLECTED_AT=$(date -u -d "$NEWEST_END + 1 minute" +%Y-%m-%dT%H:%M:%SZ)
echo "$N_OBJECTS objects ($N_DIGESTS digests, $((N_OBJECTS - N_DIGESTS)) logs, $((BYTES / 1000000)) MB)," \
    "$N_SIDECARS digest sidecars; bucket $BUCKET; newest digest ends $NEWEST_END"

# --- the server ----------------------------------------------------------------------------------
section "starting moto and filling s3://$BUCKET (untimed, ~10 ms an object)"
mkfifo "$WORK/server.stdin"
python3 "$ROOT/tests/servers/aws_local.py" --bucket "$BUCKET" --mirror "$MIRROR" \
    --public-keys "$KEYS" < "$WORK/server.stdin" > "$WORK/ready.json" 2> "$WORK/server.log" &
SERVER_PID=$!
exec 3> "$WORK/server.stdin"  # held open until cleanup: the server serves until EOF
t0=$EPOCHREALTIME
until [ -s "$WORK/ready.json" ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "the server died"; }
    sleep 0.5
done
S3=$(jq -r .s3 "$WORK/ready.json")
CLOUDTRAIL=$(jq -r .cloudtrail "$WORK/ready.json")
uploaded=$(jq -r .objects "$WORK/ready.json")
[ "$uploaded" = "$N_OBJECTS" ] || die "the server uploaded $uploaded objects, not $N_OBJECTS"
echo "S3 $S3, ListPublicKeys $CLOUDTRAIL, $uploaded objects uploaded in" \
    "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }') s"

# Warm-up (untimed): one LIST and one GET, so no run pays for moto's first requests.
aws --endpoint-url "$S3" s3api list-objects-v2 --bucket "$BUCKET" --max-items 1 > /dev/null
first=$(head -1 "$WORK/digests.txt")
aws --endpoint-url "$S3" s3 cp "s3://$BUCKET/${first#"$MIRROR/"}" - > /dev/null

# --- measuring -----------------------------------------------------------------------------------
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
# utime+stime of a process; cutime+cstime of this shell (its reaped children and theirs).
proc_cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
children_cpu() { awk '{print $16 + $17}' "/proc/$$/stat"; }
# total (user..steal; guest time is inside user), idle and iowait ticks of the machine
machine() { awk '/^cpu / {t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $5, $6}' /proc/stat; }
declare -A WALL CLIENT MOTO BUSY IOWAIT ITEMS
ORDER=()
# measure NAME ITEMS CMD...: runs CMD once, timed.
measure() {
    local name=$1 items=$2; shift 2
    local w0 c0 m0 s0 w1 c1 m1 s1 rc=0
    sync
    s0=$(machine); m0=$(proc_cpu "$SERVER_PID"); c0=$(children_cpu); w0=$EPOCHREALTIME
    "$@" || rc=$?
    w1=$EPOCHREALTIME; c1=$(children_cpu); m1=$(proc_cpu "$SERVER_PID"); s1=$(machine)
    [ "$rc" = 0 ] || { tail -20 "$WORK/$name.log" >&2 || true; die "$name exited $rc"; }
    WALL[$name]=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.2f", b - a }')
    CLIENT[$name]=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN { printf "%.1f", (b - a) / hz }')
    MOTO[$name]=$(awk -v a="$m0" -v b="$m1" -v hz="$HZ" 'BEGIN { printf "%.1f", (b - a) / hz }')
    read -r BUSY[$name] IOWAIT[$name] < <(awk -v a="$s0" -v b="$s1" -v n="$NCPU" 'BEGIN {
        split(a, x, " "); split(b, y, " "); t = y[1] - x[1]
        printf "%.2f %.2f\n", (t - (y[2] - x[2]) - (y[3] - x[3])) / t * n, (y[3] - x[3]) / t * n }')
    ITEMS[$name]=$items
    ORDER+=("$name")
    echo "$name: ${WALL[$name]} s (client CPU ${CLIENT[$name]} s, moto CPU ${MOTO[$name]} s," \
        "machine ${BUSY[$name]} of $NCPU cores busy, ${IOWAIT[$name]} in I/O wait)"
}

collect() {  # collect NAME [--jobs N]
    local name=$1; shift
    AWS_ENDPOINT_URL_CLOUDTRAIL=$CLOUDTRAIL "$TP" collect "s3://$BUCKET" "$WORK/$name" \
        --endpoint-url "$S3" "$@" > "$WORK/$name.log" 2>&1
}
s3_sync() {  # s3_sync DIR LOG
    aws --endpoint-url "$S3" s3 sync "s3://$BUCKET" "$1" > "$2" 2>&1
}
# README's loop, as printed there (plus --endpoint-url): a process per digest.
head_object_loop() {  # head_object_loop DIR LOG (stderr)
    local bucket=$BUCKET
    {
    aws --endpoint-url "$S3" s3api list-objects-v2 --bucket "$bucket" --prefix AWSLogs/ \
        --query "Contents[?contains(Key, '/CloudTrail-Digest/')].Key" --output text |
      tr '\t' '\n' | while read -r key; do
        aws --endpoint-url "$S3" s3api head-object --bucket "$bucket" --key "$key" > "$1/$key.metadata.json"
      done
    } 2> "$2"
}

main_jobs=()
[ -n "$JOBS" ] && main_jobs=(--jobs "$JOBS")
section "timed runs, one each, against the same server"
measure collect "$N_OBJECTS" collect collect "${main_jobs[@]}"
measure sync "$N_OBJECTS" s3_sync "$WORK/sync" "$WORK/sync.log"
measure sync2 "$N_OBJECTS" s3_sync "$WORK/sync+loop" "$WORK/sync2.log"
measure loop "$N_DIGESTS" head_object_loop "$WORK/sync+loop" "$WORK/loop.log"
for j in $EXTRA_JOBS; do
    measure "collect-j$j" "$N_OBJECTS" collect "collect-j$j" --jobs "$j"
done

# --- checks --------------------------------------------------------------------------------------
section "checks"
problems=0
problem() { echo "PROBLEM: $*"; problems=$((problems + 1)); }
# count DIR: "objects sidecars" outside .trailproof-collection
count() {
    find "$1" -path "$1/.trailproof-collection" -prune -o -type f -print |
        awk '/\.metadata\.json$/ {s++; next} {o++} END {printf "%d %d\n", o, s}'
}
declare -A FILES
for d in collect sync sync+loop $(for j in $EXTRA_JOBS; do echo "collect-j$j"; done); do
    read -r o s < <(count "$WORK/$d")
    FILES[$d]="$o + $s"
    want_s=$N_DIGESTS
    [ "$d" = sync ] && want_s=0
    [ "$o" = "$N_OBJECTS" ] && [ "$s" = "$want_s" ] ||
        problem "$d has $o objects and $s sidecars (expected $N_OBJECTS and $want_s)"
done
# (the CLI's progress lines end in a carriage return)
cat "$WORK/sync.log" "$WORK/sync2.log" | tr '\r' '\n' | grep -vE '^(download: |Completed )' | grep . &&
    problem "aws s3 sync printed other lines" || true
# (errors of the loop's processes do not stop it: a failed head-object leaves an empty sidecar)
[ -s "$WORK/loop.log" ] && { head -5 "$WORK/loop.log"; problem "the head-object loop printed errors"; }
empty=$(find "$WORK/sync+loop" -name '*.metadata.json' -empty | wc -l)
[ "$empty" = 0 ] || problem "$empty empty sidecars from the head-object loop"
sed -n '1,/record:/p' "$WORK/collect.log" | sed 's/^/    /'
diff -rq --exclude=.trailproof-collection --exclude='*.metadata.json' "$WORK/collect" "$WORK/sync" &&
    echo "collect's objects are byte for byte the sync's" || problem "collect's objects differ from the sync's"
[ "$(jq -r '.complete' "$WORK/collect/.trailproof-collection/record.json")" = true ] ||
    problem "collect's record is not complete"
verify() {  # verify DIR KEYFILE...: runs trailproof verify, prints its summary
    local dir=$1; shift
    local args=() rc=0
    for k in "$@"; do args+=(--public-keys "$k"); done
    "$TP" verify "$dir" "${args[@]}" --collected-at "$COLLECTED_AT" > "$WORK/verify.txt" 2>&1 || rc=$?
    grep -E '^(total|findings) ' "$WORK/verify.txt" | sed 's/^/    /'
    return "$rc"
}
collected_keys=("$WORK"/collect/.trailproof-collection/public-keys/*.json)
echo "trailproof verify collect --public-keys (${#collected_keys[@]} files) --collected-at $COLLECTED_AT"
verify "$WORK/collect" "${collected_keys[@]}" && echo "  -> exit 0" || problem "verify of collect's folder failed (exit $?)"
echo "trailproof verify sync+loop --public-keys (generated) --collected-at $COLLECTED_AT (information)"
verify "$WORK/sync+loop" "$KEYS" && echo "  -> exit 0" || echo "  -> exit $? (information only)"
errors=$(grep -ciE 'traceback|error' "$WORK/server.log" || true)
[ "$errors" = 0 ] || echo "note: the server log has $errors error lines ($WORK/server.log)"

# --- results -------------------------------------------------------------------------------------
WALL[sync+loop]=$(awk -v a="${WALL[sync2]}" -v b="${WALL[loop]}" 'BEGIN { printf "%.2f", a + b }')
CLIENT[sync+loop]=$(awk -v a="${CLIENT[sync2]}" -v b="${CLIENT[loop]}" 'BEGIN { printf "%.1f", a + b }')
MOTO[sync+loop]=$(awk -v a="${MOTO[sync2]}" -v b="${MOTO[loop]}" 'BEGIN { printf "%.1f", a + b }')
ITEMS[sync+loop]=$N_OBJECTS
section "results: $N_OBJECTS objects ($N_DIGESTS digests, $((BYTES / 1000000)) MB), $NCPU CPUs" \
    "($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), moto" \
    "$(python3 -c 'import moto; print(moto.__version__)'), $(aws --version 2>&1 | cut -d' ' -f1)"
row() {  # row LABEL NAME RATE_UNIT FILES
    awk -v l="$1" -v w="${WALL[$2]}" -v n="${ITEMS[$2]}" -v u="$3" -v c="${CLIENT[$2]}" \
        -v m="${MOTO[$2]}" -v b="${BUSY[$2]:-}" -v io="${IOWAIT[$2]:-}" -v f="$4" 'BEGIN {
        printf "%-30s %8.2f %9.0f %-8s %12s %9s %8s %6s %6s\n", l, w, n / w, u, f, c, m, \
            (b == "" ? "-" : b), (io == "" ? "-" : io) }'
}
printf "%-30s %8s %18s %12s %9s %8s %6s %6s\n" run seconds rate "files+sidecars" "client" moto busy iowait
printf "%-30s %8s %18s %12s %9s %8s %6s %6s\n" "" "" "" "" "CPU s" "CPU s" cores cores
label_jobs=${JOBS:-32}
row "trailproof collect (j$label_jobs)" collect objects/s "${FILES[collect]}"
row "aws s3 sync" sync objects/s "${FILES[sync]}"
row "aws s3 sync (before the loop)" sync2 objects/s -
row "head-object loop" loop digests/s -
row "aws s3 sync + head-object loop" sync+loop objects/s "${FILES[sync+loop]}"
for j in $EXTRA_JOBS; do
    row "trailproof collect (j$j)" "collect-j$j" objects/s "${FILES[collect-j$j]}"
done
awk -v c="${WALL[collect]}" -v s="${WALL[sync]}" -v l="${WALL[sync+loop]}" 'BEGIN {
    printf "\nsync / collect:          %5.2fx   (target >= 1: %s)\n", s / c, (s / c >= 1 ? "met" : "NOT met")
    printf "(sync + loop) / collect: %5.2fx   (target >= 3: %s)\n", l / c, (l / c >= 3 ? "met" : "NOT met") }'
echo "(moto CPU s near seconds: the single-process server is the bottleneck; busy = cores in use)"
[ "$problems" = 0 ] || die "$problems problem(s) above"
