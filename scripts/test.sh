#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every Tandem test (unit and end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
log="$(mktemp)"
# One PostgreSQL server for the whole run; each test makes its own database in it.
pg="$(mktemp -d)"
chmod 755 "$pg"
trap 'bash scripts/postgres.sh stop "$pg"; rm -rf "$pg" "$log"' EXIT
TANDEM_TEST_POSTGRES="$(bash scripts/postgres.sh start "$pg")"
export TANDEM_TEST_POSTGRES
status=0
swift test --skip-build --disable-swift-testing 2>&1 | tee "$log" || status=$?
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -1 || true)
total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failed=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
if [ -z "$summary" ]; then echo "no test summary found"; exit 1; fi
echo "$((total - failed)) passed, $failed failed"
# The fuzz targets keep building and running (a few seconds each; fuzz/run TARGET SECONDS for longer).
bash fuzz/run all 5 || status=1
exit "$status"
