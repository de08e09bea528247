#!/usr/bin/env bash
# Runs the workspace's Rust tests with the machine's clock set to other dates (libfaketime), to
# prove that no test depends on the day it is run. Each date starts the clock at that instant
# and lets it run on, so a date a few minutes before midnight China Standard Time crosses the day
# (and the month) while the tests run. Installs Debian's faketime package if it is missing.
#
#   scripts/faketime.sh                  every date below
#   scripts/faketime.sh DATE [DATE ...]  these dates ("YYYY-MM-DD HH:MM:SS", UTC)
#
# Test binaries are built first with the real clock; then each runs under the fake one, as do
# the programs it starts (the carebank binary, the relay). Needs PostgreSQL as the test command
# starts it (CAREBANK_TEST_POSTGRES_URL) for the relay's PostgreSQL tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each date in UTC; CST is UTC+8, so 15:58 UTC is 23:58 CST.
DEFAULT_DATES=(
    "2026-11-30 15:58:00" # two minutes before 1 December CST: a month's last day, then the next
    "2026-12-31 15:58:00" # New Year's Eve CST, crossing into 1 January 2027
    "2031-06-15 04:00:00" # years ahead of every fixture
    "2026-03-01 04:00:00" # months before the fixtures' first morning (2 November 2026)
)
if [ "$#" -gt 0 ]; then DATES=("$@"); else DATES=("${DEFAULT_DATES[@]}"); fi

if ! command -v faketime >/dev/null; then
    echo "faketime: installing Debian's faketime package" >&2
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq faketime >&2
fi

mapfile -t BINARIES < <(cargo test --workspace --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["manifest_path"].rsplit("/", 1)[0] + "\t" + m["executable"])
')
[ "${#BINARIES[@]}" -gt 0 ] || { echo "faketime: no test binaries built" >&2; exit 1; }

failed=0
for date in "${DATES[@]}"; do
    passed=0 failing=0
    for entry in "${BINARIES[@]}"; do
        # Each runs in its package's folder, as cargo test runs it; monotonic clocks stay real.
        dir=${entry%%$'\t'*} bin=${entry#*$'\t'}
        if out=$(cd "$dir" && TZ=UTC FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "@$date" "$bin" -q 2>&1); then
            passed=$((passed + 1))
        else
            failing=$((failing + 1))
            echo "faketime @$date: $(basename "$bin") failed:" >&2
            printf '%s\n' "$out" | tail -n 40 >&2
        fi
    done
    echo "faketime @$date UTC: $passed test binaries passed, $failing failed"
    [ "$failing" = 0 ] || failed=1
done
exit "$failed"
