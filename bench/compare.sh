#!/usr/bin/env bash
# Before / after: the relay benchmarks for two builds in the same run, interleaved, and writes
# bench/results/before-after.md (which bench/run puts into docs/performance.md).
# usage: bench/compare.sh BASELINE_COMMIT   (built in a scratch worktree, release)
#    or: BASELINE_BIN=dir bench/compare.sh   (release binaries already built)
# Each build is driven by its own load generator: the simulated clients are the same code, but
# since issue 10 the control requests are JSON, which an older broker does not read.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash scripts/setup.sh
swift build -c release >/dev/null
after_bin="$root/.build/release"
if [ -z "${BASELINE_BIN:-}" ]; then
  commit="${1:?usage: bench/compare.sh BASELINE_COMMIT}"
  tree=$(mktemp -d /tmp/tandem-baseline.XXXXXX)
  trap 'git -C "$root" worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
  git worktree add --detach "$tree" "$commit" >/dev/null
  (cd "$tree" && swift build -c release >/dev/null)
  BASELINE_BIN="$tree/.build/release"
fi
label_before="${BASELINE_LABEL:-${1:-baseline}}"
label_after="$(git rev-parse --short HEAD)"
declare -A relay keys load
for side in before after; do
  b=$BASELINE_BIN; [ $side = after ] && b=$after_bin
  relay[$side]=$(BENCH_BIN=$b PROFILE=0 RUNS="${RUNS:-5}" bash bench/profile.sh)
  keys[$side]=$(BENCH_BIN=$b bash bench/keystroke.sh | grep '^| tandem')
  load[$side]=$(BENCH_BIN=$b LOADGEN=$b/tandem-loadgen LOAD_SESSIONS="${LOAD_SESSIONS:-1000 5000}" bash bench/load.sh)
done
cell() { echo "$1" | grep "$2" | awk -F'|' -v c="$3" '{gsub(/^ +| +$/, "", $c); print $c}'; }
{
  echo "Measured $(date -u +%Y-%m-%d) by \`bench/compare.sh\`: before = \`$label_before\`, after = \`$label_after\`,"
  echo "each benchmark run for both builds in the same run, on the same machine."
  echo
  echo "| figure | before | after |"
  echo "| --- | --- | --- |"
  for what in "exec cat" "get"; do
    echo "| broker CPU per MiB, $what (256 MiB) | $(cell "${relay[before]}" "| $what |" 3) | $(cell "${relay[after]}" "| $what |" 3) |"
    echo "| rate, $what | $(cell "${relay[before]}" "| $what |" 4) | $(cell "${relay[after]}" "| $what |" 4) |"
  done
  echo "| keystroke p50 / p99, one idle session | $(cell "${keys[before]}" tandem 3) / $(cell "${keys[before]}" tandem 4) | $(cell "${keys[after]}" tandem 3) / $(cell "${keys[after]}" tandem 4) |"
  for n in ${LOAD_SESSIONS:-1000 5000}; do
    row_b=$(echo "${load[before]}" | grep "^| $n |"); row_a=$(echo "${load[after]}" | grep "^| $n |")
    echo "| $n sessions: broker CPU | $(cell "$row_b" . 6) | $(cell "$row_a" . 6) |"
    echo "| $n sessions: RSS per session | $(cell "$row_b" . 5) | $(cell "$row_a" . 5) |"
    echo "| $n sessions: keystroke p50 / p99 | $(cell "$row_b" . 7) / $(cell "$row_b" . 8) | $(cell "$row_a" . 7) / $(cell "$row_a" . 8) |"
    echo "| $n sessions: command round trip p99 | $(cell "$row_b" . 9) | $(cell "$row_a" . 9) |"
  done
} >bench/results/before-after.md
cat bench/results/before-after.md
