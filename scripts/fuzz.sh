#!/usr/bin/env bash
# Runs trailproof's fuzz targets (fuzz/, cargo-fuzz on the nightly toolchain).
#
#   scripts/fuzz.sh SECONDS [TARGET...]
#
# Builds every target (release, debug assertions, AddressSanitizer), writes
# the seed corpora from the TEST-ONLY generator into fuzz/corpus/<target>/
# (kept between runs, like everything libFuzzer adds there), then runs each
# target for SECONDS, two at a time, and prints per target: run time, total
# executions, executions per second and the result (ok, or the crash and its
# artifact under fuzz/artifacts/<target>/). Full logs: fuzz/logs/<target>.log.
# Exit status 1 if any target crashed.
#
# Needs: rustup's nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Not run by CI. JOBS=N overrides the two parallel runs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 SECONDS [TARGET...]" >&2
    exit 2
fi
seconds=$1
shift
jobs=${JOBS:-2}

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz for the nightly toolchain is missing: rustup toolchain install nightly && cargo install cargo-fuzz" >&2
    exit 2
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

echo "== build (cargo +nightly fuzz build -a: release, debug assertions, AddressSanitizer)"
cargo +nightly fuzz build -a

echo "== seed corpora (fuzz/examples/seed.rs)"
cargo run --quiet --release --manifest-path fuzz/Cargo.toml --example seed -- fuzz/corpus

mkdir -p fuzz/logs
run_one() {
    local target=$1 log=fuzz/logs/$1.log
    local args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1)
    if [[ -f fuzz/dicts/$target.dict ]]; then
        args+=(-dict="$PWD/fuzz/dicts/$target.dict")
    fi
    local start end status=0
    start=$(date +%s)
    cargo +nightly fuzz run -a "$target" -- "${args[@]}" >"$log" 2>&1 || status=$?
    end=$(date +%s)
    echo "$((end - start)) $status" >"fuzz/logs/$target.status"
}

echo "== run ${#targets[@]} target(s) for ${seconds} s each, ${jobs} at a time (logs in fuzz/logs/)"
running=0
for target in "${targets[@]}"; do
    if ((running >= jobs)); then
        wait -n
        running=$((running - 1))
    fi
    echo "   $(date -u +%H:%M:%S) start $target"
    run_one "$target" &
    running=$((running + 1))
done
wait

echo
printf '%-14s %8s %14s %10s  %s\n' target seconds executions exec/s result
crashed=0
for target in "${targets[@]}"; do
    log=fuzz/logs/$target.log
    read -r wall status <"fuzz/logs/$target.status"
    # -print_final_stats=1 prints these at the end, crash or not; "Done N runs in S second(s)"
    # ends a run that reached -max_total_time.
    runs=$(grep -aoE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
    rate=$(grep -aoE 'stat::average_exec_per_sec: [0-9]+' "$log" | tail -1 | awk '{print $2}' || true)
    secs=$(grep -aoE 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 | awk '{print $5}' || true)
    secs=${secs:-$wall}
    runs=${runs:-$(grep -aoE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)}
    runs=${runs:-0}
    rate=${rate:-$((secs > 0 ? runs / secs : runs))}
    artifact=$(grep -aoE 'Test unit written to [^ ]+' "$log" | tail -1 | awk '{print $5}' || true)
    if [[ $status -eq 0 ]]; then
        result=ok
    else
        crashed=1
        kind=$(grep -aoE 'ERROR: libFuzzer: [a-z-]+|panicked at [^ ]+' "$log" | head -1 || true)
        result="crash (exit $status${kind:+, $kind})${artifact:+: $artifact}"
    fi
    printf '%-14s %8s %14s %10s  %s\n' "$target" "$secs" "$runs" "$rate" "$result"
done
rm -rf /dev/shm/trailproof-fuzz-* 2>/dev/null || true
exit $crashed
