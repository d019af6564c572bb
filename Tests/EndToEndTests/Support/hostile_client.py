#!/usr/bin/env python3
"""A hostile broker client for the end-to-end tests.

usage: hostile_client.py PORT CAFILE ALPN MODE [ARGS...]
MODE: garbage (random bytes after TLS), oversized (a 4 GiB frame header),
      silent (TLS, then nothing): prints how the broker ended the connection.
      join CODE COUNT SOURCE [HOSTNAME [USERNAME]]: COUNT joins with CODE, each on its own
      connection from the address SOURCE; prints one line per answer (the rejection
      reason, or "offer" followed by a refusal of it).
      resume SESSION TOKEN: an agent's way back into SESSION with TOKEN; prints the
      rejection's reason and message, or "startSSH".
      resume-early SESSION TOKEN: the same, with SSH bytes sent at once behind the frame,
      before any answer.
"""
import json, os, socket, ssl, struct, sys, time

port, cafile, alpn, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=cafile)
ctx.set_alpn_protocols([alpn])


def connect(source=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10,
                                   source_address=(source, 0) if source else None)
    tls = ctx.wrap_socket(raw, server_hostname="localhost")
    tls.settimeout(30)
    return tls


def send_frame(tls, message):
    body = json.dumps(message).encode()
    tls.sendall(struct.pack(">I", len(body)) + body)


def read_frame(tls):
    data = b""
    while len(data) < 4:
        chunk = tls.recv(4 - len(data))
        if not chunk:
            return None
        data += chunk
    (length,) = struct.unpack(">I", data)
    body = b""
    while len(body) < length:
        chunk = tls.recv(length - len(body))
        if not chunk:
            return None
        body += chunk
    return json.loads(body)


if mode == "join":
    code, count, source = sys.argv[5], int(sys.argv[6]), sys.argv[7]
    hostname = sys.argv[8] if len(sys.argv) > 8 else "pc"
    username = sys.argv[9] if len(sys.argv) > 9 else "guesser"
    for _ in range(count):
        tls = connect(source)
        send_frame(tls, {"join": {"_0": {"code": code, "hostname": hostname, "username": username}}})
        answer = read_frame(tls)
        if answer is None:
            print("closed")
        elif "rejected" in answer:
            print(answer["rejected"]["_0"]["reason"])
        elif "offer" in answer:
            print("offer")
            send_frame(tls, {"consent": {"_0": {"approved": False}}})
        else:
            print("other")
        sys.stdout.flush()
        tls.close()
    sys.exit(0)

if mode in ("resume", "resume-early"):
    session, token = sys.argv[5], sys.argv[6]
    tls = connect()
    message = {"resume": {"_0": {"sessionID": session, "token": token, "next": "f" * 64}}}
    if mode == "resume":
        send_frame(tls, message)
    else:
        body = json.dumps(message).encode()
        tls.sendall(struct.pack(">I", len(body)) + body + b"SSH-2.0-early\r\n" + os.urandom(600))
    answer = read_frame(tls)
    if answer is None:
        print("closed")
    elif "rejected" in answer:
        print(answer["rejected"]["_0"]["reason"], answer["rejected"]["_0"]["message"])
    elif "startSSH" in answer:
        print("startSSH")
    else:
        print("other")
    tls.close()
    sys.exit(0)

tls = connect()
start = time.time()
if mode == "garbage":
    tls.sendall(os.urandom(2048) + b"\r\n" + os.urandom(2048))
elif mode == "oversized":
    tls.sendall(b"\xff\xff\xff\xff" + b"A" * 1024)
elif mode == "bad-preamble":
    # What a hostile 'tandem proxy' might name instead of a session.
    tls.sendall(b"TANDEM-PROXY/1 ../../etc/passwd " + b"0" * 32 + b"\nSSH-2.0-x\r\n")
elif mode == "long-preamble":
    tls.sendall(b"TANDEM-PROXY/1 " + b"A" * 4096)
try:
    while True:
        data = tls.recv(4096)
        if not data:
            break
except (ssl.SSLError, ConnectionResetError, OSError) as e:
    print("error", type(e).__name__)
print("closed after %.1f s" % (time.time() - start))
