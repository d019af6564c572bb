# Shared helpers for the benchmarks: a private sshd, a private Tandem broker and agent.
# Sourced by the bench scripts; everything binds to 127.0.0.1 and is stopped on exit.
set -euo pipefail

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d /tmp/tandem-bench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

need_packages() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    # policy-rc.d keeps Debian from starting the system sshd: we run our own on a loopback port.
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null; $sudo chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    $sudo rm -f /usr/sbin/policy-rc.d
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Median of numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# Seconds (with fractions) a command takes.
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }

# Two private sshd on loopback ports: "direct" is the target, "bastion" the ProxyJump hop.
# Writes $work/ssh_config with hosts direct, bastion and viajump.
start_sshd() {
  ssh-keygen -q -t ed25519 -N '' -f "$work/ssh_host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
  cp "$work/client_key.pub" "$work/authorized_keys"
  mkdir -p /run/sshd
  local name port
  for name in direct bastion; do
    port=$(free_port)
    cat >"$work/sshd_$name.conf" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $work/ssh_host_key
AuthorizedKeysFile $work/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $work/sshd_$name.pid
Subsystem sftp internal-sftp
CONF
    /usr/sbin/sshd -f "$work/sshd_$name.conf" -D -e 2>"$work/sshd_$name.log" &
    pids+=($!)
    for _ in $(seq 1 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
    eval "${name}_port=$port"
  done
  sshd_port=$direct_port
  cat >"$work/ssh_config" <<CONF
Host direct bastion viajump
  HostName 127.0.0.1
  User $(id -un)
  IdentityFile $work/client_key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  BatchMode yes
  LogLevel ERROR
Host direct viajump
  Port $direct_port
Host bastion
  Port $bastion_port
Host viajump
  ProxyJump bastion
CONF
  ssh_opts=(-F "$work/ssh_config")
}

# Starts tandemd (release build) and an approved agent; sets $session and exports TANDEM_CONFIG.
start_tandem() {
  local scope="${1:-shell,files}"
  bin="${BENCH_BIN:-$bench_root/.build/release}"
  bash "$bench_root/certs/make-dev-certs.sh" "$work/certs" >/dev/null
  ssh-keygen -q -t ed25519 -N '' -f "$work/tech"
  "$bin/tandemd" init --data "$work/broker" >/dev/null
  "$bin/tandemd" user add bench --role technician --key "$work/tech.pub" --data "$work/broker" >/dev/null
  # Exec output is recorded, and 256 MiB of random bytes is over 1 GiB as asciicast JSON: the
  # default cap (1 GiB a session) would end the session after the first run.
  "$bin/tandemd" serve --data "$work/broker" --listen 127.0.0.1:0 --cert "$work/certs/broker.crt" --key "$work/certs/broker.key" \
    --max-recording-bytes "${BENCH_MAX_RECORDING_BYTES:-68719476736}" >"$work/tandemd.out" 2>"$work/tandemd.log" &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q listening "$work/tandemd.out" 2>/dev/null && break; sleep 0.1; done
  local port fp
  port=$(grep -o '127.0.0.1:[0-9]*' "$work/tandemd.out" | cut -d: -f2)
  fp=$(grep -o 'SHA256:[^ ]*' "$work/tandemd.out")
  printf 'broker = 127.0.0.1:%s\nca = %s\nidentity = %s\nuser = bench\nfingerprint = %s\n' \
    "$port" "$work/certs/ca.crt" "$work/tech" "$fp" >"$work/tandem.conf"
  export TANDEM_CONFIG="$work/tandem.conf"
  "$bin/tandem" ticket new "Benchmark" --requester bench >/dev/null
  "$bin/tandem" session new --ticket 1 --scope "$scope" --no-shell >"$work/session.out" 2>&1 &
  local request=$!
  for _ in $(seq 1 100); do grep -q "Read this code" "$work/session.out" && break; sleep 0.1; done
  local code
  code=$(grep -o 'user: [0-9 ]*' "$work/session.out" | cut -d' ' -f2-)
  mkfifo "$work/agent.in"
  "$bin/tandem-agent" $code --broker "127.0.0.1:$port" --ca "$work/certs/ca.crt" <"$work/agent.in" >"$work/agent.log" 2>&1 &
  pids+=($!)
  exec 7>"$work/agent.in"
  echo y >&7
  wait $request
  session=$(grep -o 's-[0-9a-f]\{8\}' "$work/session.out" | head -1)
}
