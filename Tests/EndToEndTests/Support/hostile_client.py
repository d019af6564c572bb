#!/usr/bin/env python3
"""A hostile broker client for the end-to-end tests.

usage: hostile_client.py PORT CAFILE ALPN MODE
MODE: garbage (random bytes after TLS), oversized (a 4 GiB frame header),
      silent (TLS, then nothing). Prints how the broker ended the connection.
"""
import os, socket, ssl, sys, time

port, cafile, alpn, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=cafile)
ctx.set_alpn_protocols([alpn])
raw = socket.create_connection(("127.0.0.1", port), timeout=5)
tls = ctx.wrap_socket(raw, server_hostname="localhost")
tls.settimeout(30)
start = time.time()
if mode == "garbage":
    tls.sendall(os.urandom(2048) + b"\r\n" + os.urandom(2048))
elif mode == "oversized":
    tls.sendall(b"\xff\xff\xff\xff" + b"A" * 1024)
try:
    while True:
        data = tls.recv(4096)
        if not data:
            break
except (ssl.SSLError, ConnectionResetError, OSError) as e:
    print("error", type(e).__name__)
print("closed after %.1f s" % (time.time() - start))
