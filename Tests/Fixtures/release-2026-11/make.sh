#!/usr/bin/env bash
# Makes the release database fixture: a broker run by the release binaries in BIN
# (default: this checkout's debug build) through users, tickets, a refused and an
# approved session with commands and files, then stopped with SIGTERM. What it keeps
# is the database, the recordings and the audit public key; the broker's private keys
# stay in the temporary folder. Tests read the fixture back with today's code and
# check that every event still verifies and decodes to the same canonical bytes.
#
#   bash Tests/Fixtures/release-2026-11/make.sh [BIN]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$(cd "$here/../../.." && swift build --show-bin-path)}"
work="$(mktemp -d)"
broker=""
cleanup() { [ -n "$broker" ] && kill "$broker" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
gone() { # PID: waits up to 10 s for it to exit
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  echo "process $1 did not exit" >&2; return 1
}
wait_for() { # FILE PATTERN: up to 10 s
  for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

bash "$here/../../../certs/make-dev-certs.sh" "$work/certs" >/dev/null
for who in tech auditor admin spare; do ssh-keygen -q -t ed25519 -N '' -C "$who" -f "$work/$who"; done
d="$work/broker"
"$bin/tandemd" init --data "$d" >/dev/null
"$bin/tandemd" user add tech --role technician --key "$work/tech.pub" --data "$d" >/dev/null
"$bin/tandemd" user add audrey --role auditor --key "$work/auditor.pub" --data "$d" >/dev/null
"$bin/tandemd" user add root-admin --role admin --key "$work/admin.pub" --data "$d" >/dev/null
"$bin/tandemd" user key add tech "$work/spare.pub" --data "$d" >/dev/null
"$bin/tandemd" user key remove tech "$work/spare.pub" --data "$d" >/dev/null
"$bin/tandemd" user disable audrey --data "$d" >/dev/null
"$bin/tandemd" user enable audrey --data "$d" >/dev/null

"$bin/tandemd" serve --data "$d" --listen 127.0.0.1:0 --cert "$work/certs/broker.crt" --key "$work/certs/broker.key" \
  >"$work/out" 2>"$work/log" &
broker=$!
wait_for "$work/out" listening
port=$(grep -o '127.0.0.1:[0-9]*' "$work/out" | head -1 | cut -d: -f2)
fingerprint=$(grep -o 'SHA256:[^ ]*' "$work/out")
printf 'broker = 127.0.0.1:%s\nca = %s\nidentity = %s\nuser = tech\nfingerprint = %s\n' \
  "$port" "$work/certs/ca.crt" "$work/tech" "$fingerprint" >"$work/tandem.conf"
printf 'broker = 127.0.0.1:%s\nca = %s\n' "$port" "$work/certs/ca.crt" >"$work/agent.conf"
export TANDEM_CONFIG="$work/tandem.conf"
tandem() { "$bin/tandem" "$@"; }

tandem ticket new "Imprimante hors ligne — café ✓" --requester "jane <jane@example.com>" >/dev/null
tandem ticket new "VPN drops every hour" --requester bob >/dev/null
tandem ticket assign 2 root-admin >/dev/null

session() { # TICKET SCOPES ANSWER: prints the session id
  tandem session new --ticket "$1" --scope "$2" --no-shell >"$work/session.out" 2>&1 &
  local request=$!
  wait_for "$work/session.out" "Read this code"
  local code; code=$(grep -o 'user: [0-9 ]*' "$work/session.out" | cut -d' ' -f2-)
  echo "$3" | "$bin/tandem-agent" $code --config "$work/agent.conf" >"$work/agent-$1-$3.out" 2>&1 &
  echo $! >"$work/agent.pid"
  wait $request || true
  grep -o 's-[0-9a-f]\{8\}' "$work/session.out" | head -1
}

"$bin/tandem-agent" 111 111 111 --config "$work/agent.conf" </dev/null >/dev/null 2>&1 || true
refused=$(session 2 shell n)
gone "$(cat "$work/agent.pid")"
id=$(session 1 shell,files y)
tandem exec -n "$id" -- uname -s >/dev/null
tandem exec -n "$id" -- sh -c 'echo "naïve output"; exit 3' >/dev/null || true
printf 'fixed = true\n' >"$work/app.conf"
tandem put "$id" "$work/app.conf" app.conf >/dev/null
tandem get "$id" app.conf "$work/back.conf" >/dev/null
tandem ls "$id" . >/dev/null
tandem session end "$id" >/dev/null
gone "$(cat "$work/agent.pid")"
tandem audit export --ticket 1 -o "$work/t1.tar" >/dev/null
echo "sessions: $refused (refused), $id (approved)" >&2

kill -TERM "$broker"
wait "$broker"
broker=""

rm -rf "$here/broker"
mkdir -p "$here/broker/recordings"
sqlite3 "$d/tandem.db" ".backup '$here/broker/tandem.db'"
cp "$d"/recordings/*.cast "$here/broker/recordings/"
"$bin/tandemd" info --data "$d" | sed -n 's/^audit public key: //p' >"$here/audit-public-key.txt"
"$bin/tandemd" check --data "$d" >&2
echo "fixture written to $here" >&2
