#!/usr/bin/env bash
# The fault harness. First scripts/faults.py: SIGKILLs writers, bundle importers, syncing clients
# and the relay at random points, fills a small tmpfs (as root), and fails on any acknowledged
# record lost or any store or relay database corrupt. Then the hostile network (the `hostile`
# example of carebank-scenarios, tests/src/hostile/): a relay proxy, phone channels and a bundle
# courier that drop, duplicate, reorder, replay, alter and withhold, failing on any forged record
# counted, honest record lost, request or bundle accepted twice, alteration not refused, or
# withheld record counted while withheld or not arriving afterwards. Prints one line per fault
# kind; fails if either part fails.
#
#   scripts/faults.sh                100 kills, 100 hostile rounds a kind (the test command's run)
#   scripts/faults.sh --long         1,000 kills, 1,000 hostile rounds a kind
#   scripts/faults.sh --seed N ...   another random sequence (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p carebank
# The device stores are encrypted: the harness reads them through this example, not Python's sqlite3.
cargo build --quiet -p carebank-scenarios --example store_check --example hostile
TARGET="${CARGO_TARGET_DIR:-target}"
status=0
python3 scripts/faults.py "$TARGET/debug/carebank" "$TARGET/debug/examples/store_check" "$@" || status=1
"$TARGET/debug/examples/hostile" "$@" || status=1
exit "$status"
