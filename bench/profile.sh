#!/usr/bin/env bash
# Where the broker spends its CPU while relaying: broker CPU time per MiB for `exec cat` and
# `tandem get` with their rates (median of $RUNS runs; CPU from /proc), and a
# perf profile of the hottest functions. perf counts cpu-clock samples: this machine has no
# hardware counters, and Debian 12's valgrind cannot read Swift 6.3's debug info.
source "$(dirname "$0")/lib.sh"
need_packages linux-perf bc
runs="${RUNS:-5}"
size_mib="${SIZE_MIB:-256}"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/payload.bin"
start_tandem shell,files
broker_pid=${pids[0]}
cpu_ms() { awk '{print ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"'}' "/proc/$broker_pid/stat"; }
# Prints "broker CPU ms per MiB" and "MiB/s", each the median of $runs transfers.
measure() {
  local cpu=() rate=() a b s e
  for _ in $(seq 1 "$runs"); do
    a=$(cpu_ms); s=$(date +%s.%N)
    "$@" >/dev/null 2>"$work/measure.err" || { echo "profile: '$*' failed: $(tail -c 300 "$work/measure.err")" >&2; exit 1; }
    e=$(date +%s.%N); b=$(cpu_ms)
    cpu+=("$(echo "($b - $a) / $size_mib" | bc -l)")
    rate+=("$(echo "$size_mib / ($e - $s)" | bc -l)")
  done
  echo "$(median "${cpu[@]}") $(median "${rate[@]}")"
}
read -r cat_cpu cat_rate < <(measure sh -c "'$bin/tandem' exec -n $session -- cat $work/payload.bin > $work/out.bin")
cmp -s "$work/payload.bin" "$work/out.bin" || { echo "tandem exec cat produced a different file" >&2; exit 1; }
read -r get_cpu get_rate < <(measure "$bin/tandem" get "$session" "$work/payload.bin" "$work/t.bin")
cmp -s "$work/payload.bin" "$work/t.bin" || { echo "tandem get produced a different file" >&2; exit 1; }
printf '| exec cat | %.2f ms | %.0f MiB/s |\n' "$cat_cpu" "$cat_rate"
printf '| get | %.2f ms | %.0f MiB/s |\n' "$get_cpu" "$get_rate"
# One perf profile per kind of transfer; prints the hottest functions of each.
profile() {
  local name=$1; shift
  perf record -q -F 999 -g -p "$broker_pid" -o "$work/$name.perf" 2>/dev/null &
  local perf_pid=$!
  sleep 0.5
  "$@" >/dev/null 2>&1
  kill -INT "$perf_pid"; wait "$perf_pid" || true
  [ -n "${PROFILE_KEEP:-}" ] && cp "$work/$name.perf" "$PROFILE_KEEP/$name.perf"
  echo "PROFILE $name"
  perf report -i "$work/$name.perf" --no-children --stdio --sort dso,symbol --percent-limit 1 -g none 2>/dev/null \
    | grep '%' | sed 's/^ *//' | swift demangle --simplified | cut -c1-150 | head -"${PROFILE_LINES:-25}"
}
if [ "${PROFILE:-1}" = 1 ]; then
  profile exec-cat sh -c "'$bin/tandem' exec -n $session -- cat $work/payload.bin > /dev/null"
  profile get "$bin/tandem" get "$session" "$work/payload.bin" "$work/t.bin"
fi
