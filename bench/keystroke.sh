#!/usr/bin/env bash
# Keystroke echo latency: tandem shell through the broker, ssh to a local sshd, and ssh -J via a
# bastion. $KEYSTROKE_RUNS rounds (default 5) of $KEYSTROKES each (default 2000), the three
# paths taking turns in every round so the machine's noise falls on all of them; each figure
# is the median over the rounds of that round's p50 and p99.
source "$(dirname "$0")/lib.sh"
need_packages openssh-server openssh-client bc
count="${KEYSTROKES:-2000}"
rounds="${KEYSTROKE_RUNS:-5}"
start_sshd
start_tandem shell
declare -a d50 d99 j50 j99 t50 t99 g50 g99
for _ in $(seq 1 "$rounds"); do
  read -r a b _ < <(python3 "$(dirname "$0")/keystroke.py" "$count" -- ssh "${ssh_opts[@]}" -tt direct); d50+=("$a"); d99+=("$b")
  # The cipher Tandem negotiates, as well as OpenSSH's default.
  read -r a b _ < <(python3 "$(dirname "$0")/keystroke.py" "$count" -- ssh "${ssh_opts[@]}" -c aes256-gcm@openssh.com -tt direct); g50+=("$a"); g99+=("$b")
  read -r a b _ < <(python3 "$(dirname "$0")/keystroke.py" "$count" -- ssh "${ssh_opts[@]}" -tt viajump); j50+=("$a"); j99+=("$b")
  read -r a b _ < <(python3 "$(dirname "$0")/keystroke.py" "$count" -- "$bin/tandem" shell "$session"); t50+=("$a"); t99+=("$b")
done
m() { median "$@" | xargs printf '%.3f'; }
tp99=$(m "${t99[@]}"); jp99=$(m "${j99[@]}")
printf '| ssh → local sshd | %s ms | %s ms | %s × %s |\n' "$(m "${d50[@]}")" "$(m "${d99[@]}")" "$rounds" "$count"
printf '| ssh -c aes256-gcm → local sshd | %s ms | %s ms | %s × %s |\n' "$(m "${g50[@]}")" "$(m "${g99[@]}")" "$rounds" "$count"
printf '| ssh -J bastion → sshd | %s ms | %s ms | %s × %s |\n' "$(m "${j50[@]}")" "$jp99" "$rounds" "$count"
printf '| tandem shell → broker → agent | %s ms | %s ms | %s × %s |\n' "$(m "${t50[@]}")" "$tp99" "$rounds" "$count"
echo "TARGET p99 ≤ bastion p99 + 1 ms: $(echo "$tp99 <= $jp99 + 1" | bc -l | sed 's/1/met/;s/0/missed/') (every round's tandem p99: ${t99[*]} ms)"
