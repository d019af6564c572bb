#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that can cut its connections, as a dead network would.

usage: dropping_proxy.py TARGET_PORT [TARGET_PORT ...]
Prints "listening PORT" once ready, then forwards every connection to 127.0.0.1:TARGET_PORT.
  SIGUSR1  reset every open connection, on both sides (new ones are still accepted); with
           several targets, new connections go to the next one from then on ("now PORT")
  SIGUSR2  from now on, refuse new connections (reset at once); again to accept them
  SIGTERM  stop
Each action is printed on stdout ("cut N", "refusing", "accepting").
"""
import selectors, signal, socket, struct, sys

targets = [int(a) for a in sys.argv[1:]]
current = 0
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
listener.setblocking(False)
print("listening", listener.getsockname()[1], flush=True)

sel = selectors.DefaultSelector()
sel.register(listener, selectors.EVENT_READ, None)
pairs = {}  # socket -> partner
flags = {"cut": False, "refuse": False, "stop": False}


def on_signal(number, _frame):
    if number == signal.SIGUSR1:
        flags["cut"] = True
    elif number == signal.SIGUSR2:
        flags["refuse"] = not flags["refuse"]
        print("refusing" if flags["refuse"] else "accepting", flush=True)
    else:
        flags["stop"] = True


for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM):
    signal.signal(s, on_signal)


def reset(sock):
    # Linger 0: close sends RST, so neither side sees an orderly end.
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sel.unregister(sock)
    except (KeyError, ValueError):
        pass
    sock.close()


def drop(sock):
    partner = pairs.pop(sock, None)
    reset(sock)
    if partner is not None:
        pairs.pop(partner, None)
        reset(partner)


for _ in range(10_000_000):
    if flags["stop"]:
        break
    if flags["cut"]:
        flags["cut"] = False
        count = len(pairs) // 2
        for sock in list(pairs):
            if sock in pairs:
                drop(sock)
        print("cut", count, flush=True)
        if len(targets) > 1:
            current = (current + 1) % len(targets)
            print("now", targets[current], flush=True)
    try:
        events = sel.select(timeout=0.05)
    except InterruptedError:
        continue
    for key, _ in events:
        sock = key.fileobj
        if sock is listener:
            try:
                client, _ = listener.accept()
            except OSError:
                continue
            if flags["refuse"]:
                reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", targets[current]), timeout=5)
            except OSError:
                reset(client)
                continue
            for s in (client, upstream):
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ, None)
            pairs[client] = upstream
            pairs[upstream] = client
            continue
        if sock not in pairs:
            continue
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            data = b""
        if not data:
            drop(sock)
            continue
        partner = pairs[sock]
        try:
            partner.setblocking(True)
            partner.sendall(data)
            partner.setblocking(False)
        except OSError:
            drop(sock)
