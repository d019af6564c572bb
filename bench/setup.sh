#!/usr/bin/env bash
# Session set-up: from `tandem session new` to the first shell prompt, agent answering yes
# through the test-only flag. p50 and p99 over $SESSIONS sessions.
source "$(dirname "$0")/lib.sh"
need_packages openssh-client bc
sessions="${SESSIONS:-50}"
start_tandem shell
port=$(grep -o '127.0.0.1:[0-9]*' "$work/tandemd.out" | cut -d: -f2)
python3 - "$bin" "$port" "$work" "$sessions" <<'PY'
import os, pty, re, select, subprocess, sys, time
bin, port, work, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
env = dict(os.environ, TANDEM_ALLOW_TEST_FLAGS="1")
samples = []
for i in range(n):
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(bin + "/tandem", [bin + "/tandem", "session", "new", "--ticket", "1", "--scope", "shell"])
    buf, agent, prompt = b"", None, None
    deadline = time.time() + 30
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if not r: continue
        try: chunk = os.read(fd, 65536)
        except OSError: break
        buf += chunk
        m = re.search(rb"user: (\d{3} \d{3} \d{3})", buf)
        if m and agent is None:
            agent = subprocess.Popen([bin + "/tandem-agent", m.group(1).decode().replace(" ", ""), "--yes-for-tests",
                                      "--broker", "127.0.0.1:" + port, "--ca", work + "/certs/ca.crt"],
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if agent is not None and re.search(rb"[$#] $", buf.split(b"active.")[-1]):
            prompt = time.perf_counter()
            break
    if prompt is None: sys.exit("no prompt: %r" % buf[-300:])
    samples.append((prompt - start) * 1000)
    os.write(fd, b"exit\r")
    os.waitpid(pid, 0)
    agent.wait(timeout=10)
samples.sort()
print("%.1f %.1f %d" % (samples[len(samples) // 2], samples[min(len(samples) - 1, int(0.99 * len(samples)))], len(samples)))
PY
