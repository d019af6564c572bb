#!/usr/bin/env bash
# Many active sessions on one broker: broker memory per session, CPU, and keystroke latency
# of one more shell while each session echoes a command every second. N from $CONCURRENCY.
source "$(dirname "$0")/lib.sh"
need_packages openssh-client bc
start_tandem shell
broker_pid=${pids[0]}
port=$(grep -o '127.0.0.1:[0-9]*' "$work/tandemd.out" | cut -d: -f2)
ulimit -n 65536 2>/dev/null || true
for n in ${CONCURRENCY:-100}; do
  python3 "$(dirname "$0")/concurrency.py" "$bin" "$port" "$work/certs/ca.crt" "$broker_pid" "$n" "${LOAD_SECONDS:-20}"
done
