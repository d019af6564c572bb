#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every Tandem test (unit and end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The Debian packages' release build (issue 15) runs beside everything else at idle priority: it
# takes only the CPU the debug build, the tests and the fuzz build leave, and is waited for at the end.
bash scripts/apt-need.sh test dpkg-dev lintian binutils debootstrap
release_log="$(mktemp)"
chrt --idle 0 nice -n 19 bash scripts/package.sh --build-only >"$release_log" 2>&1 &
release_pid=$!
# It stays in this script's process group (whoever stops the run stops it too); on exit, its tree.
# Only while it has not been waited for: afterwards its pid may be another process's.
stop_tree() { local child; for child in $(pgrep -P "$1" || true); do stop_tree "$child"; done; kill "$1" 2>/dev/null || true; }
stop_release() { if [ -n "$release_pid" ]; then stop_tree "$release_pid"; fi; }
trap 'set +e; stop_release; rm -f "$release_log"' EXIT
swift build --build-tests
log="$(mktemp)"
# One PostgreSQL server for the whole run; each test makes its own database in it.
pg="$(mktemp -d)"
chmod 755 "$pg"
# One Request Tracker and one Redmine for the whole run too (each test makes its own tickets).
hd="$(mktemp -d)"
debs="$(mktemp -d)"
trap 'set +e; stop_release; bash scripts/postgres.sh stop "$pg"; bash scripts/helpdesk.sh stop "$hd"; rm -rf "$pg" "$hd" "$log" "$release_log" "$debs"' EXIT
TANDEM_TEST_POSTGRES="$(bash scripts/postgres.sh start "$pg")"
TANDEM_TEST_RT="$(bash scripts/helpdesk.sh start-rt "$hd")"
TANDEM_TEST_RT_TOKEN_FILE="$hd/token"
TANDEM_TEST_REDMINE="$(bash scripts/helpdesk.sh start-redmine "$hd")"
TANDEM_TEST_REDMINE_KEY_FILE="$hd/key"
TANDEM_TEST_PYTHON="${XDG_CACHE_HOME:-$HOME/.cache}/tandem/venv/bin/python"
# The outbox tests stop and restart Request Tracker (same port and database) with scripts/helpdesk.sh.
TANDEM_TEST_HELPDESK_DIR="$hd"
export TANDEM_TEST_HELPDESK_DIR TANDEM_TEST_RT TANDEM_TEST_RT_TOKEN_FILE TANDEM_TEST_REDMINE TANDEM_TEST_REDMINE_KEY_FILE TANDEM_TEST_PYTHON
# psql reads PGPASSWORD; the brokers the tests start read TANDEM_DATABASE_PASSWORD, as an operator's would.
PGPASSWORD="$(cat "$pg/password")"
TANDEM_DATABASE_PASSWORD="$PGPASSWORD"
PGCONNECT_TIMEOUT=10
TANDEM_SCHEMATHESIS="${XDG_CACHE_HOME:-$HOME/.cache}/tandem/venv/bin/st"
export TANDEM_TEST_POSTGRES PGPASSWORD TANDEM_DATABASE_PASSWORD PGCONNECT_TIMEOUT TANDEM_SCHEMATHESIS
status=0
swift test --skip-build --disable-swift-testing 2>&1 | tee "$log" || status=$?
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with .*[0-9]+ failures?" "$log" | tail -1 || true)
if [ -z "$summary" ]; then echo "no test summary found"; exit 1; fi
total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failed=$(echo "$summary" | grep -oE '[0-9]+ failures?' | grep -oE '[0-9]+')
skipped=$(echo "$summary" | grep -oE '[0-9]+ tests? skipped' | grep -oE '[0-9]+' || echo 0)
# The core session, audit, file and lifecycle tests again, with the broker on PostgreSQL.
pglog="$(mktemp)"
TANDEM_TEST_DATABASE=postgres swift test --skip-build --disable-swift-testing \
  --filter 'EndToEndTests\.(SessionExecTests|ShellTests|FileTransferTests|ExecRecordingTests|AuditTests|LifecycleTests|EventOrderTests|HelpdeskTests/testAfterSIGKILL)' \
  2>&1 | tee "$pglog" || status=$?
pgsummary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with .*[0-9]+ failures?" "$pglog" | tail -1 || true)
rm -f "$pglog"
if [ -z "$pgsummary" ]; then echo "no summary from the PostgreSQL pass"; exit 1; fi
# The pass must have run its tests, not filtered them all away.
[ "$(echo "$pgsummary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')" -ge 20 ] || { echo "the PostgreSQL pass ran too few tests: $pgsummary"; status=1; }
pgtotal=$(echo "$pgsummary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
pgfailed=$(echo "$pgsummary" | grep -oE '[0-9]+ failures?' | grep -oE '[0-9]+')
echo "SQLite: $((total - failed - skipped)) passed, $failed failed, $skipped skipped; PostgreSQL pass: $((pgtotal - pgfailed)) passed, $pgfailed failed"
echo "$((total + pgtotal - failed - pgfailed - skipped)) passed, $((failed + pgfailed)) failed"
# The fuzz targets keep building and running (a few seconds each; fuzz/run TARGET SECONDS for longer).
bash fuzz/run all 5 || status=1
# The three Debian packages, linted, installed and used in a fresh debootstrapped Debian 12.
release_status=0
wait "$release_pid" || release_status=$?
release_pid=""
if [ "$release_status" = 0 ]; then
  cat "$release_log"
  if bash scripts/package.sh --no-build --out "$debs"; then
    python3 Tests/Packaging/package_test.py "$debs" || status=1
  else
    echo "packages: scripts/package.sh failed"; status=1
  fi
else
  cat "$release_log"; echo "packages: the release build failed"; status=1
fi
exit "$status"
