#!/usr/bin/env bash
# Many concurrent sessions on one broker, simulated by tandem-loadgen in one process: broker
# memory per idle session, broker CPU, and latency while every session runs `echo` once a
# second. One Markdown row per N in $LOAD_SESSIONS (default "100 1000 5000").
source "$(dirname "$0")/lib.sh"
need_packages openssl
bin="${BENCH_BIN:-$bench_root/.build/release}"
loadgen="${LOADGEN:-$bench_root/.build/release/tandem-loadgen}"
# Each session holds two sockets and a recording file on the broker.
ulimit -n "$(ulimit -Hn)"
for n in ${LOAD_SESSIONS:-100 1000 5000}; do
  dir="$work/load-$n"
  mkdir -p "$dir"
  [ -d "$work/certs" ] || bash "$bench_root/certs/make-dev-certs.sh" "$work/certs" >/dev/null
  "$loadgen" keygen --out "$dir"
  "$bin/tandemd" init --data "$dir/broker" >/dev/null
  "$bin/tandemd" user add load --role technician --key "$dir/load.pub" --data "$dir/broker" >/dev/null
  ${BROKER_WRAP:-} "$bin/tandemd" serve --data "$dir/broker" --listen 127.0.0.1:0 --cert "$work/certs/broker.crt" --key "$work/certs/broker.key" \
    >"$dir/tandemd.out" 2>"$dir/tandemd.log" &
  broker_pid=$!
  pids+=($broker_pid)
  for _ in $(seq 1 100); do grep -q listening "$dir/tandemd.out" 2>/dev/null && break; sleep 0.1; done
  port=$(grep -o '127.0.0.1:[0-9]*' "$dir/tandemd.out" | cut -d: -f2)
  if [ -n "${PERF_AFTER:-}" ]; then
    # Profiling aid: a perf profile of the broker from PERF_AFTER seconds on, for 10 s.
    (sleep "$PERF_AFTER"; perf record -q -F 499 -g -p "$broker_pid" -o "${PERF_OUT:-$work/load.perf}" -- sleep 10 2>/dev/null) &
  fi
  timeout 1800 "$loadgen" run --broker "127.0.0.1:$port" --ca "$work/certs/ca.crt" --key "$dir/load.key" \
    --broker-pid "$broker_pid" --sessions "$n" --seconds "${LOAD_SECONDS:-20}" \
    || { echo "| $n | failed: see the broker log below | | | | | | | | |"; tail -5 "$dir/tandemd.log" >&2; }
  kill "$broker_pid" 2>/dev/null; wait "$broker_pid" 2>/dev/null || true
done
