#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Tandem, starts the broker on the embedded
# SQLite default and walks through one full session: ticket, code, consent, commands, timeline.
# The broker keeps running afterwards (Ctrl-C stops it). DEMO_EXIT=1 stops after the walkthrough.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build
bin="$(swift build --show-bin-path)"
demo="$PWD/demo-data"
port="${TANDEM_PORT:-8443}"
rm -rf "$demo"
mkdir -p "$demo"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

bash certs/make-dev-certs.sh "$demo/certs" >/dev/null
ssh-keygen -q -t ed25519 -N '' -C demo-technician -f "$demo/technician"
"$bin/tandemd" init --data "$demo/broker" >/dev/null
"$bin/tandemd" user add tech --role technician --key "$demo/technician.pub" --data "$demo/broker" >/dev/null

"$bin/tandemd" serve --data "$demo/broker" --listen "127.0.0.1:$port" \
  --cert "$demo/certs/broker.crt" --key "$demo/certs/broker.key" --console-assets "$PWD/.build-console" >"$demo/tandemd.out" 2>"$demo/tandemd.log" &
broker=$!
trap 'kill $broker 2>/dev/null; wait $broker 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q listening "$demo/tandemd.out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$demo/tandemd.out" || { echo "broker did not start:"; cat "$demo/tandemd.log"; exit 1; }
fingerprint=$(grep -o 'SHA256:[^ ]*' "$demo/tandemd.out")
cat >"$demo/tandem.conf" <<CONF
broker = 127.0.0.1:$port
ca = $demo/certs/ca.crt
identity = $demo/technician
user = tech
fingerprint = $fingerprint
CONF
cat >"$demo/agent.conf" <<CONF
broker = 127.0.0.1:$port
ca = $demo/certs/ca.crt
CONF
export TANDEM_CONFIG="$demo/tandem.conf"
tandem() { "$bin/tandem" "$@"; }
step "Broker listening on 127.0.0.1:$port (data in $demo/broker, SSH key $fingerprint)"

step "Technician: tandem ticket new \"Printer offline\" --requester jane"
tandem ticket new "Printer offline" --requester jane

step "Technician: tandem session new --ticket 1 --scope shell"
tandem session new --ticket 1 --scope shell --no-shell >"$demo/session.out" 2>&1 &
request=$!
for _ in $(seq 1 100); do grep -q "Read this code" "$demo/session.out" && break; sleep 0.1; done
cat "$demo/session.out"
code=$(grep -o 'user: [0-9 ]*' "$demo/session.out" | cut -d' ' -f2-)
session=$(grep -o 's-[0-9a-f]\{8\}' "$demo/session.out" | head -1)

step "End-user: tandem-agent $code   (answers y)"
echo y | "$bin/tandem-agent" $code --config "$demo/agent.conf" 2>&1 | sed 's/^/  [user] /' &
agent=$!
wait $request
tail -n +4 "$demo/session.out"

step "Technician: tandem exec $session -- uname -a"
tandem exec -n "$session" -- uname -a
step "Technician: tandem exec $session -- sh -c 'echo hello from \$(whoami) in \$PWD; exit 3'"
tandem exec -n "$session" -- sh -c 'echo hello from $(whoami) in $PWD; exit 3' || echo "(exit status $? came back to the technician)"

step "Technician: the same session with OpenSSH's own ssh (tandem ssh-config once, then ssh $session …)"
tandem ssh-config >"$demo/ssh_config"
sed 's/^/  /' "$demo/ssh_config"
ssh -F "$demo/ssh_config" "$session" 'echo "$(hostname): hello from ssh"'

step "Technician: tandem session end $session"
tandem session end "$session"
wait $agent || true

step "The ticket's timeline: tandem audit log --ticket 1"
tandem audit log --ticket 1

step "Auditor: tandem audit verify --ticket 1, then an export verified offline"
tandem audit verify --ticket 1
tandem audit export --ticket 1 -o "$demo/ticket-1.tar"
audit_key=$("$bin/tandemd" info --data "$demo/broker" | sed -n 's/^audit public key: //p')
"$bin/tandem" audit verify "$demo/ticket-1.tar" --public-key "$audit_key"

if [ "${DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
step "The broker keeps running. Try it yourself in another terminal:"
echo "  $bin/tandem --config $demo/tandem.conf session new --ticket 1 --scope shell"
echo "  $bin/tandem-agent CODE --config $demo/agent.conf"
echo "  $bin/tandem --config $demo/tandem.conf console      # the web console (timelines, replays) in your browser"
echo "Broker log: $demo/tandemd.log — press Ctrl-C to stop the broker."
wait $broker
