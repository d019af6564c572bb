#!/usr/bin/env bash
# Several brokers on one PostgreSQL (issue 16): whole sessions per second and relay throughput
# with one replica and with two, the agent on one replica and the technician on the other.
# Prints Markdown rows, then CROSS lines for the ratios. Knobs: REPLICA_SESSIONS (200),
# REPLICA_SIZE_MIB (256), RUNS (3).
source "$(dirname "$0")/lib.sh"
need_packages openssl postgresql bc
bin="${BENCH_BIN:-$bench_root/.build/release}"
loadgen="$bin/tandem-loadgen"
sessions="${REPLICA_SESSIONS:-200}"
size_mib="${REPLICA_SIZE_MIB:-256}"
runs="${RUNS:-3}"
ulimit -n "$(ulimit -Hn)"

# Its own folder: the server runs as the postgres user, who cannot enter $work.
pg="$(mktemp -d /tmp/tandem-bench-pg.XXXXXX)"
chmod 755 "$pg"
# The replicas stop (and finish their sessions' records) before the database they write to.
stop_all() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  bash "$bench_root/scripts/postgres.sh" stop "$pg"
  rm -rf "$pg"
  cleanup
}
trap stop_all EXIT
server=$(bash "$bench_root/scripts/postgres.sh" start "$pg")
export PGPASSWORD TANDEM_DATABASE_PASSWORD
PGPASSWORD=$(cat "$pg/password")
TANDEM_DATABASE_PASSWORD=$PGPASSWORD
psql "$server/postgres" -q -c "CREATE DATABASE bench" >/dev/null
db="$server/bench?sslmode=disable"

bash "$bench_root/certs/make-dev-certs.sh" "$work/certs" >/dev/null
bash "$bench_root/certs/make-peer-certs.sh" "$work/peer" a b >/dev/null
mkdir -p "$work/load"
"$loadgen" keygen --out "$work/load" >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$work/tech"
"$bin/tandemd" init --data "$work/a" --database "$db" >/dev/null
"$bin/tandemd" user add load --role technician --key "$work/load/load.pub" --data "$work/a" --database "$db" >/dev/null
"$bin/tandemd" user add bench --role technician --key "$work/tech.pub" --data "$work/a" --database "$db" >/dev/null
# Every replica holds the same broker keys.
mkdir -m 700 "$work/b"
cp "$work/a"/*.key "$work/b/"

# start_replica NAME: serves from $work/NAME; sets port_NAME and writes $work/NAME.conf for the CLI.
start_replica() {
  local name=$1
  "$bin/tandemd" serve --data "$work/$name" --database "$db" --listen 127.0.0.1:0 \
    --cert "$work/certs/broker.crt" --key "$work/certs/broker.key" \
    --peer-listen 127.0.0.1:0 --peer-ca "$work/peer/peer-ca.crt" --peer-cert "$work/peer/$name.crt" --peer-key "$work/peer/$name.key" \
    --max-recording-bytes 68719476736 >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q listening "$work/$name.out" 2>/dev/null && grep -q "peers reach it" "$work/$name.log" && break; sleep 0.1; done
  local port fp
  port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/$name.out" | cut -d: -f2)
  fp=$(grep -o 'SHA256:[^ ]*' "$work/$name.out")
  eval "port_$name=$port"
  printf 'broker = 127.0.0.1:%s\nca = %s\nidentity = %s\nuser = bench\nfingerprint = %s\n' \
    "$port" "$work/certs/ca.crt" "$work/tech" "$fp" >"$work/$name.conf"
}

# lifecycles TECH AGENT N: seconds for N whole sessions at once (pairing, exec, shell, end).
lifecycles() {
  seconds timeout 300 "$loadgen" lifecycles --broker "127.0.0.1:$1" --agent-broker "127.0.0.1:$2" --ca "$work/certs/ca.crt" \
    --key "$work/load/load.key" --sessions "$3"
}

start_replica a
# One replica: both sides on it.
t1=$(lifecycles "$port_a" "$port_a" "$sessions")
start_replica b
# Two replicas, every session crossing: technicians on b, agents on a.
t2=$(lifecycles "$port_b" "$port_a" "$sessions")
# Two replicas sharing the load: half the sessions wholly on each, at once.
half=$((sessions / 2))
s=$(date +%s.%N)
lifecycles "$port_a" "$port_a" "$half" >/dev/null &
first=$!
lifecycles "$port_b" "$port_b" "$half" >/dev/null
wait "$first"
t3=$(echo "$(date +%s.%N) - $s" | bc -l)
rate() { echo "$1 / $2" | bc -l; }
printf '| 1 | both sides on it | %d | %.1f s | %.0f |\n' "$sessions" "$t1" "$(rate "$sessions" "$t1")"
printf '| 2 | agent on one, technician on the other | %d | %.1f s | %.0f |\n' "$sessions" "$t2" "$(rate "$sessions" "$t2")"
printf '| 2 | half the sessions wholly on each | %d | %.1f s | %.0f |\n' "$sessions" "$t3" "$(rate "$sessions" "$t3")"

# Relay throughput: one real agent on a, `tandem exec cat` from a technician on a, then on b.
export TANDEM_CONFIG="$work/a.conf"
"$bin/tandem" ticket new "Throughput" --requester bench >/dev/null
ticket=$("$bin/tandem" ticket list 2>/dev/null | grep -o '#[0-9]*' | tail -1 | tr -d '#')
"$bin/tandem" session new --ticket "$ticket" --scope shell --no-shell >"$work/session.out" 2>&1 &
request=$!
for _ in $(seq 1 100); do grep -q "Read this code" "$work/session.out" && break; sleep 0.1; done
code=$(grep -o 'user: [0-9 ]*' "$work/session.out" | cut -d' ' -f2-)
mkfifo "$work/agent.in"
"$bin/tandem-agent" $code --broker "127.0.0.1:$port_a" --ca "$work/certs/ca.crt" <"$work/agent.in" >"$work/agent.log" 2>&1 &
pids+=($!)
exec 7>"$work/agent.in"
echo y >&7
wait $request
session=$(grep -o 's-[0-9a-f]\{8\}' "$work/session.out" | head -1)
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/payload.bin"
declare -a same cross
for _ in $(seq 1 "$runs"); do
  same+=("$(seconds sh -c "TANDEM_CONFIG='$work/a.conf' '$bin/tandem' exec -n $session -- cat $work/payload.bin > $work/out.bin")")
  cmp -s "$work/payload.bin" "$work/out.bin" || { echo "replicas: exec cat on one replica gave a different file" >&2; exit 1; }
  cross+=("$(seconds sh -c "TANDEM_CONFIG='$work/b.conf' '$bin/tandem' exec -n $session -- cat $work/payload.bin > $work/out.bin")")
  cmp -s "$work/payload.bin" "$work/out.bin" || { echo "replicas: exec cat across replicas gave a different file" >&2; exit 1; }
done
m1=$(median "${same[@]}"); m2=$(median "${cross[@]}")
printf "| on the replica that holds the agent | %.0f MiB/s |\n" "$(rate "$size_mib" "$m1")"
printf '| on another replica than the agent | %.0f MiB/s |\n' "$(rate "$size_mib" "$m2")"
echo "CROSS sessions: $(printf '%.2f' "$(echo "$t1 / $t2" | bc -l)") of one replica's rate when every session crosses; $(printf '%.2f' "$(echo "$t1 / $t3" | bc -l)") when two replicas share the load"
echo "CROSS throughput: $(printf '%.2f' "$(echo "$m1 / $m2" | bc -l)") of the one-replica rate"
