#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, on 127.0.0.1 and a port the OS picks.
#   scripts/postgres.sh start DIR   initdb into DIR, start, print the server URL (postgres://tandem@127.0.0.1:PORT);
#                                   the password of "tandem" is in DIR/password (logins need it: scram-sha-256)
#   scripts/postgres.sh stop DIR    stop the server started in DIR, by its pid, and wait for it to exit
# As root it runs the server as the unprivileged "postgres" user (Debian's package makes it).
set -euo pipefail
cmd="${1:?start|stop}"
dir="${2:?folder}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "postgres.sh: PostgreSQL is not installed (run scripts/setup.sh)" >&2; exit 1; }
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi

case "$cmd" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  # A real password, so the tests go through the path an operator's broker takes.
  python3 -c 'import secrets; print(secrets.token_hex(16))' >"$dir/password"
  chmod 644 "$dir/password"
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U tandem --auth=scram-sha-256 --pwfile="$dir/password" -E UTF8 --no-locale \
    >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # fsync stays on: the tests exercise the durability the product promises.
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "postgres://tandem@127.0.0.1:$port"
  ;;
stop)
  pidfile="$dir/data/postmaster.pid"
  [ -f "$pidfile" ] || exit 0
  pid="$(head -1 "$pidfile")"
  kill -INT "$pid" 2>/dev/null || exit 0
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  echo "postgres.sh: server $pid did not stop within 30 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  ;;
*)
  echo "usage: postgres.sh start|stop DIR" >&2; exit 2
  ;;
esac
