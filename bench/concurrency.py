#!/usr/bin/env python3
"""N active sessions on one broker, each shell echoing a small command every second.

usage: concurrency.py BIN_DIR BROKER_PORT CA_FILE BROKER_PID N SECONDS
Prints one Markdown row: N, broker RSS idle/active, RSS per session, broker CPU,
and keystroke p50/p99 of one more shell measured while the load runs.
"""
import os, pty, re, select, subprocess, sys, time

bin_dir, port, ca, broker_pid, n, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
env = dict(os.environ, TANDEM_ALLOW_TEST_FLAGS="1")
procs = []

def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def new_session():
    p = subprocess.Popen([bin_dir + "/tandem", "session", "new", "--ticket", "1", "--scope", "shell", "--no-shell"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    buf = b""
    while b"Read this code" not in buf:
        chunk = p.stdout.read1(4096)
        if not chunk: raise SystemExit("session new failed: %r" % buf)
        buf += chunk
    code = re.search(rb"user: (\d{3} \d{3} \d{3})", buf).group(1).decode().replace(" ", "")
    sid = re.search(rb"Session (s-[0-9a-f]{8})", buf).group(1).decode()
    agent = subprocess.Popen([bin_dir + "/tandem-agent", code, "--yes-for-tests", "--broker", "127.0.0.1:" + port, "--ca", ca],
                             env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(agent)
    p.stdout.read()
    if p.wait(timeout=60) != 0: raise SystemExit("session %s not approved" % sid)
    return sid

def open_shell(sid):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(bin_dir + "/tandem", [bin_dir + "/tandem", "shell", sid])
    procs.append(pid)
    deadline = time.time() + 30
    buf = b""
    while time.time() < deadline and not re.search(rb"[$#] $", buf):
        r, _, _ = select.select([fd], [], [], 0.5)
        if not r: continue
        try: buf += os.read(fd, 65536)
        except OSError: raise SystemExit("tandem shell %s ended before its prompt: %r" % (sid, buf[-300:]))
    return fd

def drain(fds, timeout):
    r, _, _ = select.select(fds, [], [], timeout)
    for fd in r:
        try: os.read(fd, 65536)
        except OSError: pass

try:
    rss0 = rss_kib(broker_pid)
    sessions = [new_session() for _ in range(n)]
    shells = [open_shell(s) for s in sessions]
    drain(shells, 0.5)
    rss_idle = rss_kib(broker_pid)
    probe = open_shell(new_session())
    cpu0, t0 = cpu_seconds(broker_pid), time.time()
    samples = []
    next_tick = time.time()
    end = time.time() + seconds
    i = 0
    while time.time() < end:
        if time.time() >= next_tick:
            for fd in shells: os.write(fd, b"echo tick\r")
            next_tick += 1.0
        drain(shells, 0)
        ch = b"abcdefghij"[i % 10:i % 10 + 1]; i += 1
        start = time.perf_counter()
        os.write(probe, ch)
        got = b""
        while ch not in got:
            r, _, _ = select.select([probe], [], [], 5)
            if not r: raise SystemExit("probe keystroke lost")
            got += os.read(probe, 65536)
        samples.append((time.perf_counter() - start) * 1000)
        if i % 40 == 0: os.write(probe, b"\x15")
        time.sleep(0.02)
    cpu = (cpu_seconds(broker_pid) - cpu0) / (time.time() - t0) * 100
    rss_active = rss_kib(broker_pid)
    samples.sort()
    q = lambda x: samples[min(len(samples) - 1, int(x * len(samples)))]
    print("| %d | %.1f MiB | %.1f MiB | %.0f KiB | %.0f %% | %.3f ms | %.3f ms |" % (
        n, rss_idle / 1024, rss_active / 1024, (rss_idle - rss0) / n, cpu, q(0.5), q(0.99)))
finally:
    for p in procs:
        try:
            if isinstance(p, int): os.kill(p, 9)
            else: p.kill()
        except Exception: pass
