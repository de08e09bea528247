#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a while and prints how many inputs each ran.
# Installs cargo-fuzz from the Rust package registry if it is missing; runs on the stable
# toolchain (RUSTC_BOOTSTRAP=1 lets cargo-fuzz use the sanitizer flags it needs).
#
#   scripts/fuzz.sh            10 seconds a target (the test command's short pass)
#   scripts/fuzz.sh SECONDS    that long a target (e.g. 600 for a long run)
#
# Each target starts from its committed corpus (fuzz/corpus/TARGET), from the regression
# inputs of past crashes (fuzz/regressions/TARGET, replayed first) and, for the sync_message
# and peer_frame targets, from seeds the code writes afresh on each run (the `fuzz_seeds`
# example of carebank-scenarios: the real frames and messages of a phone-to-phone sync, so they
# stay valid as the formats change). New corpus entries are left
# in fuzz/corpus; minimise them with `cargo fuzz cmin TARGET` before committing any. A crash
# fails the run and leaves the input in target/fuzz-artifacts/TARGET: add it to
# fuzz/regressions/TARGET with the fix.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_PER_TARGET="${1:-10}"
TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/../target}/fuzz"
SEEDS="${CARGO_TARGET_DIR:-$(pwd)/../target}/fuzz-seeds"
cargo run --quiet --manifest-path ../Cargo.toml -p carebank-scenarios --example fuzz_seeds -- "$SEEDS" >&2
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked --quiet >&2
fi

targets=$(cargo fuzz list)
status=0
for target in $targets; do
    corpus="corpus/$target"
    artifacts="../target/fuzz-artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    inputs=()
    [ -d "regressions/$target" ] && inputs=("regressions/$target")
    [ -d "$SEEDS/$target" ] && inputs+=("$SEEDS/$target")
    log="$(mktemp)"
    if cargo fuzz run --target-dir "$TARGET_DIR" "$target" "$corpus" "${inputs[@]}" -- \
        -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
        tail -n 40 "$log" >&2
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    echo "fuzz $target: ${runs:-0} inputs in ${SECONDS_PER_TARGET} s, corpus $(ls "$corpus" | wc -l) files: $result"
    rm -f "$log"
done
exit "$status"
