#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, then checks formatting, lints,
# the independent verifiers, every Rust test (once more on another day), the fault harness and a
# short fuzz pass.
# Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "tools"
python3 -c "import cryptography, zstandard" 2>/dev/null || python3 -m pip install --quiet cryptography zstandard
# SQLCipher (the store's encryption at rest) links the system's libcrypto on this host
# (docs/decisions/0015-sqlcipher-at-rest.md); Android builds vendor OpenSSL instead.
if command -v dpkg >/dev/null && ! dpkg -s libssl-dev >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq libssl-dev pkg-config
fi
# The district page's browser test (tests/tests/district.rs, which fails under CI=1 without
# them): Debian's chromium, and playwright-core from npm into the cargo target dir's tools/
# (nothing global), as scripts/mobile.sh installs the Kotlin compiler.
PLAYWRIGHT_VERSION=1.65.2
PLAYWRIGHT_DIR="${CARGO_TARGET_DIR:-$PWD/target}/tools/playwright"
if command -v dpkg >/dev/null && ! dpkg -s chromium >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium
fi
if ! grep -qs "\"version\": \"$PLAYWRIGHT_VERSION\"" "$PLAYWRIGHT_DIR/node_modules/playwright-core/package.json"; then
    npm install --silent --no-audit --no-fund --prefix "$PLAYWRIGHT_DIR" "playwright-core@$PLAYWRIGHT_VERSION"
fi

step "format"
cargo fmt --all -- --check

step "lints"
cargo clippy --workspace --all-targets -- -D warnings

step "independent verifiers (docs/tools/): record format, phone frames, sealed bundles, authority chains"
python3 docs/tools/verify_record.py
python3 docs/tools/verify_sync_vectors.py
python3 docs/tools/verify_authority.py

step "PostgreSQL on loopback (for the relay's PostgreSQL tests)"
eval "$(bash scripts/start-postgres.sh)"

step "mobile: committed Kotlin/Swift bindings current, Kotlin tests on the JVM (android/, ios/)"
./scripts/mobile.sh ci

step "tests"
cargo test --workspace

step "bench --quick: every figure of the reference workload on a few days, so the bench cannot rot (full run: docs/performance.md)"
cargo run -p carebank-bench -- --quick --json "${CARGO_TARGET_DIR:-target}/bench-quick.json"

step "tests on another day: the clock set to two minutes before a month ends (CST), by libfaketime"
./scripts/faketime.sh "2026-11-30 15:58:00"

step "faults: writers, importers, syncing clients and the relay killed at random, a full disk (scripts/faults.sh)"
./scripts/faults.sh

step "fuzz: every cargo-fuzz target for a few seconds from its committed corpus (scripts/fuzz.sh)"
./scripts/fuzz.sh 5
