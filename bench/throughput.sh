#!/usr/bin/env bash
# Bulk throughput of a 512 MiB file: exec cat and get through the broker, against ssh cat and
# sftp get to a local sshd, direct and via a ProxyJump bastion. Median of $RUNS rounds, MiB/s.
source "$(dirname "$0")/lib.sh"
need_packages openssh-server openssh-client bc openssl
runs="${RUNS:-5}"
size_mib="${SIZE_MIB:-512}"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$work/payload.bin"
start_sshd
start_tandem shell,files
rate() { echo "$size_mib / $1" | bc -l; }
# A batch file, not <(…): a process substitution is read once and later runs would do nothing.
echo "get $work/payload.bin $work/o.bin" >"$work/get.batch"
# Tandem negotiates AES-256-GCM; OpenSSH's default here is chacha20-poly1305, slower on this CPU,
# which flatters the ratios. So OpenSSH also runs with the cipher Tandem uses (the destination leg).
gcm_cipher=(-c aes256-gcm@openssh.com)
# The transfers take turns in every round, so the machine's noise falls on all of them.
declare -a t_ssh t_jump t_cat t_sftp t_sftpj t_get t_sshg t_jumpg t_sftpg
for _ in $(seq 1 "$runs"); do
  t_ssh+=("$(seconds sh -c "ssh ${ssh_opts[*]} direct cat $work/payload.bin > $work/out.bin")")
  t_sshg+=("$(seconds sh -c "ssh ${ssh_opts[*]} ${gcm_cipher[*]} direct cat $work/payload.bin > $work/out.bin")")
  t_jumpg+=("$(seconds sh -c "ssh ${ssh_opts[*]} ${gcm_cipher[*]} viajump cat $work/payload.bin > $work/out.bin")")
  rm -f "$work/o.bin"; t_sftpg+=("$(seconds sftp "${ssh_opts[@]}" "${gcm_cipher[@]}" -b "$work/get.batch" direct)")
  t_jump+=("$(seconds sh -c "ssh ${ssh_opts[*]} viajump cat $work/payload.bin > $work/out.bin")")
  t_cat+=("$(seconds sh -c "'$bin/tandem' exec -n $session -- cat $work/payload.bin > $work/out.bin")")
  cmp -s "$work/payload.bin" "$work/out.bin" || { echo "tandem exec cat produced a different file" >&2; exit 1; }
  rm -f "$work/o.bin"; t_sftp+=("$(seconds sftp "${ssh_opts[@]}" -b "$work/get.batch" direct)")
  cmp -s "$work/payload.bin" "$work/o.bin" || { echo "sftp produced a different file" >&2; exit 1; }
  rm -f "$work/o.bin"; t_sftpj+=("$(seconds sftp "${ssh_opts[@]}" -b "$work/get.batch" viajump)")
  cmp -s "$work/payload.bin" "$work/o.bin" || { echo "sftp via the bastion produced a different file" >&2; exit 1; }
  t_get+=("$(seconds "$bin/tandem" get "$session" "$work/payload.bin" "$work/t.bin")")
  cmp -s "$work/payload.bin" "$work/t.bin" || { echo "tandem get produced a different file" >&2; exit 1; }
  rm -f "$work/t.bin"
done
ssh_cat=$(median "${t_ssh[@]}"); jump_cat=$(median "${t_jump[@]}"); tandem_cat=$(median "${t_cat[@]}")
sftp_direct=$(median "${t_sftp[@]}"); sftp_jump=$(median "${t_sftpj[@]}"); tandem_get=$(median "${t_get[@]}")
printf '| cat, ssh → sshd | %.0f MiB/s | 1.00 | |\n' "$(rate "$ssh_cat")"
printf '| cat, ssh -J bastion | %.0f MiB/s | %.2f | 1.00 |\n' "$(rate "$jump_cat")" "$(echo "$ssh_cat / $jump_cat" | bc -l)"
printf '| cat, tandem exec via broker | %.0f MiB/s | %.2f | %.2f |\n' "$(rate "$tandem_cat")" "$(echo "$ssh_cat / $tandem_cat" | bc -l)" "$(echo "$jump_cat / $tandem_cat" | bc -l)"
printf '| get, sftp → sshd | %.0f MiB/s | 1.00 | |\n' "$(rate "$sftp_direct")"
printf '| get, sftp -J bastion | %.0f MiB/s | %.2f | 1.00 |\n' "$(rate "$sftp_jump")" "$(echo "$sftp_direct / $sftp_jump" | bc -l)"
printf '| get, tandem get via broker | %.0f MiB/s | %.2f | %.2f |\n' "$(rate "$tandem_get")" "$(echo "$sftp_direct / $tandem_get" | bc -l)" "$(echo "$sftp_jump / $tandem_get" | bc -l)"
ssh_gcm=$(median "${t_sshg[@]}"); jump_gcm=$(median "${t_jumpg[@]}"); sftp_gcm=$(median "${t_sftpg[@]}")
printf '| cat, ssh -c aes256-gcm → sshd | %.0f MiB/s | 1.00 | |\n' "$(rate "$ssh_gcm")"
printf '| cat, ssh -c aes256-gcm -J bastion | %.0f MiB/s | %.2f | 1.00 |\n' "$(rate "$jump_gcm")" "$(echo "$ssh_gcm / $jump_gcm" | bc -l)"
printf '| cat, tandem exec against the aes256-gcm baselines | %.0f MiB/s | %.2f | %.2f |\n' "$(rate "$tandem_cat")" "$(echo "$ssh_gcm / $tandem_cat" | bc -l)" "$(echo "$jump_gcm / $tandem_cat" | bc -l)"
printf '| get, sftp -c aes256-gcm → sshd | %.0f MiB/s | 1.00 | |\n' "$(rate "$sftp_gcm")"
printf '| get, tandem get against the aes256-gcm baseline | %.0f MiB/s | %.2f | |\n' "$(rate "$tandem_get")" "$(echo "$sftp_gcm / $tandem_get" | bc -l)"
# The ceiling: one core's AES-256-GCM rate divided by the cipher passes on the broker path.
gcm=$(openssl speed -evp aes-256-gcm -bytes 16384 -seconds 2 2>/dev/null | awk 'tolower($1) == "aes-256-gcm" {print $NF}' | sed 's/k$//')
passes=8
echo "CEILING one core AES-256-GCM $(echo "$gcm * 1000 / 1048576" | bc -l | xargs printf '%.0f') MiB/s; $passes passes per byte (technician SSH+TLS, broker TLS+SSH in and SSH+TLS out, agent TLS+SSH) → $(echo "$gcm * 1000 / 1048576 / $passes" | bc -l | xargs printf '%.0f') MiB/s on one core"
# Targets: through the broker ≥ 50 % of OpenSSH direct and ≥ 60 % of the ProxyJump bastion.
verdict() { [ "$(echo "$1" | bc -l)" = 1 ] && echo met || echo missed; }
echo "TARGET exec cat: $(printf '%.2f' "$(echo "$ssh_cat / $tandem_cat" | bc -l)") of direct (≥ 0.50 $(verdict "$ssh_cat / $tandem_cat >= 0.5")), $(printf '%.2f' "$(echo "$jump_cat / $tandem_cat" | bc -l)") of the bastion (≥ 0.60 $(verdict "$jump_cat / $tandem_cat >= 0.6"))"
echo "TARGET get: $(printf '%.2f' "$(echo "$sftp_direct / $tandem_get" | bc -l)") of direct (≥ 0.50 $(verdict "$sftp_direct / $tandem_get >= 0.5")), $(printf '%.2f' "$(echo "$sftp_jump / $tandem_get" | bc -l)") of the bastion (≥ 0.60 $(verdict "$sftp_jump / $tandem_get >= 0.6"))"
