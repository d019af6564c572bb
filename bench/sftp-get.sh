#!/usr/bin/env bash
# tandem get of a 256 MiB file through the broker, against OpenSSH's sftp from a local sshd.
# Same machine, same run; prints one Markdown table row per tool and the ratio.
source "$(dirname "$0")/lib.sh"
need_packages openssh-server openssh-client bc
runs="${RUNS:-5}"
size_mib="${SIZE_MIB:-256}"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/payload.bin"
start_sshd
start_tandem files

openssh=(); tandem=()
for _ in $(seq 1 "$runs"); do
  rm -f "$work/o.bin" "$work/t.bin"
  openssh+=("$(seconds sftp "${ssh_opts[@]}" -b <(echo "get $work/payload.bin $work/o.bin") direct)")
  tandem+=("$(seconds "$bin/tandem" get "$session" "$work/payload.bin" "$work/t.bin")")
done
cmp -s "$work/payload.bin" "$work/t.bin" || { echo "tandem get produced a different file" >&2; exit 1; }
cmp -s "$work/payload.bin" "$work/o.bin" || { echo "sftp produced a different file" >&2; exit 1; }
o=$(median "${openssh[@]}"); t=$(median "${tandem[@]}")
o_rate=$(echo "$size_mib / $o" | bc -l); t_rate=$(echo "$size_mib / $t" | bc -l)
printf '| OpenSSH sftp get, local sshd | %d MiB | %.2f s | %.1f MiB/s | 1.00 |\n' "$size_mib" "$o" "$o_rate"
printf '| tandem get through the broker | %d MiB | %.2f s | %.1f MiB/s | %.2f |\n' "$size_mib" "$t" "$t_rate" "$(echo "$t_rate / $o_rate" | bc -l)"
