#!/usr/bin/env bash
# The fault harness (scripts/faults.py): SIGKILLs writers, bundle importers, syncing clients and
# the relay at random points, fills a small tmpfs (as root), and fails on any acknowledged record
# lost or any store or relay database corrupt. Prints one line per fault kind.
#
#   scripts/faults.sh                100 kills (the test command's short run)
#   scripts/faults.sh --long         1,000 kills
#   scripts/faults.sh --seed N ...   another random sequence (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p carebank
# The device stores are encrypted: the harness reads them through this example, not Python's sqlite3.
cargo build --quiet -p carebank-scenarios --example store_check
TARGET="${CARGO_TARGET_DIR:-target}"
exec python3 scripts/faults.py "$TARGET/debug/carebank" "$TARGET/debug/examples/store_check" "$@"
