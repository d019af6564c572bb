#!/usr/bin/env python3
"""Keystroke echo latency of an interactive shell, as a person at a terminal feels it.

usage: keystroke.py COUNT -- COMMAND...
Starts COMMAND on a pseudo-terminal, waits for a shell prompt, then types one byte at a
time and measures how long until its echo comes back (the round trip through every hop).
Prints 'p50_ms p99_ms count' on one line.
"""
import os, pty, select, sys, time

def main():
    count = int(sys.argv[1])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["PS1"] = "$ "
        os.execvp(cmd[0], cmd)
    def read_until(pred, timeout):
        buf = b""
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
            if not r:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            if pred(buf):
                return buf
        raise SystemExit("timed out waiting; saw: %r" % buf[-200:])
    read_until(lambda b: b.rstrip().endswith((b"$", b"#")), 30)
    # A quiet prompt: no bracketed paste or colours in the way.
    os.write(fd, b"PS1='$ '; bind 'set enable-bracketed-paste off' 2>/dev/null; stty -echoctl\r")
    read_until(lambda b: b.endswith(b"$ "), 10)
    samples = []
    for i in range(count):
        ch = b"abcdefghijklmnopqrstuvwxyz"[i % 26:i % 26 + 1]
        start = time.perf_counter()
        os.write(fd, ch)
        read_until(lambda b: ch in b, 10)
        samples.append((time.perf_counter() - start) * 1000)
        if i % 50 == 49:
            os.write(fd, b"\x15")  # Ctrl-U clears the line
            read_until(lambda b: True, 10)
            time.sleep(0.002)
    os.write(fd, b"\x15exit\r")
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    samples.sort()
    p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    print("%.3f %.3f %d" % (p(0.50), p(0.99), len(samples)))

main()
