#!/usr/bin/env bash
# Keystroke echo latency: tandem shell through the broker, ssh to a local sshd, and ssh -J via a bastion.
source "$(dirname "$0")/lib.sh"
need_packages openssh-server openssh-client bc
count="${KEYSTROKES:-2000}"
start_sshd
start_tandem shell
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }
read -r d50 d99 dn < <(python3 "$(dirname "$0")/keystroke.py" "$count" -- ssh "${ssh_opts[@]}" -tt direct)
read -r j50 j99 jn < <(python3 "$(dirname "$0")/keystroke.py" "$count" -- ssh "${ssh_opts[@]}" -tt viajump)
read -r t50 t99 tn < <(python3 "$(dirname "$0")/keystroke.py" "$count" -- "$bin/tandem" shell "$session")
row "ssh → local sshd" "$d50 ms" "$d99 ms" "$dn"
row "ssh -J bastion → sshd" "$j50 ms" "$j99 ms" "$jn"
row "tandem shell → broker → agent" "$t50 ms" "$t99 ms" "$tn"
echo "TARGET p99 ≤ bastion p99 + 1 ms: $(echo "$t99 <= $j99 + 1" | bc -l | sed 's/1/met/;s/0/missed/')"
