#!/usr/bin/env bash
# Session set-up: from `tandem session new` to the first shell prompt, the agent answering yes
# through the test-only flag; against `ssh -tt` to a local sshd until the same shell's prompt.
# Both start the same login shell, whose own start-up time is in both figures.
# Prints: tandem p50 p99 n, then ssh p50 p99 n.
source "$(dirname "$0")/lib.sh"
need_packages openssh-server openssh-client bc
sessions="${SESSIONS:-50}"
start_sshd
start_tandem shell
port=$(grep -o '127.0.0.1:[0-9]*' "$work/tandemd.out" | cut -d: -f2)
python3 - "$bin" "$port" "$work" "$sessions" <<'PY'
import os, pty, re, select, subprocess, sys, time
bin, port, work, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
env = dict(os.environ, TANDEM_ALLOW_TEST_FLAGS="1")

def until_prompt(argv, on_output=None, after=b""):
    """Runs argv on a pty; returns ms until a shell prompt appears after `after`."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    buf, prompt, extra = b"", None, None
    deadline = time.time() + 30
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if not r: continue
        try: buf += os.read(fd, 65536)
        except OSError: break
        if on_output: extra = on_output(buf) or extra
        if re.search(rb"[$#] $", buf.split(after)[-1] if after else buf) and (not after or after in buf):
            prompt = time.perf_counter()
            break
    if prompt is None: sys.exit("no prompt: %r" % buf[-300:])
    os.write(fd, b"exit\r")
    os.waitpid(pid, 0)
    if extra: extra.wait(timeout=10)
    return (prompt - start) * 1000

def agent_for(buf, started=[]):
    m = re.search(rb"user: (\d{3} \d{3} \d{3})", buf)
    if m and not started:
        started.append(subprocess.Popen([bin + "/tandem-agent", m.group(1).decode().replace(" ", ""), "--yes-for-tests",
                                         "--broker", "127.0.0.1:" + port, "--ca", work + "/certs/ca.crt"],
                                        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return started[0] if started else None

def summary(samples):
    samples.sort()
    return "%.1f %.1f %d" % (samples[len(samples) // 2], samples[min(len(samples) - 1, int(0.99 * len(samples)))], len(samples))

tandem, ssh = [], []
for i in range(n):
    started = []
    tandem.append(until_prompt([bin + "/tandem", "session", "new", "--ticket", "1", "--scope", "shell"],
                               on_output=lambda b: agent_for(b, started), after=b"active."))
    ssh.append(until_prompt(["/usr/bin/ssh", "-F", work + "/ssh_config", "-tt", "direct"]))
print(summary(tandem))
print(summary(ssh))
PY
