"""Knocks on a broker's peer port as a replica would, or as a stranger: prints what it got.

usage: peer_probe.py PORT CA [CERT KEY] [--alpn NAME] [--timeout SECONDS]
  'banner SSH-2.0-…' when the broker let it in and started SSH, 'refused: …' when the TLS handshake
  or the first read failed, 'closed' when the broker closed the connection without a word.
"""
import socket
import ssl
import sys

args = sys.argv[1:]
alpn = "tandem-peer/1"
if "--alpn" in args:
    i = args.index("--alpn")
    alpn = args[i + 1]
    del args[i:i + 2]
timeout = 10.0
if "--timeout" in args:
    i = args.index("--timeout")
    timeout = float(args[i + 1])
    del args[i:i + 2]
port, ca = int(args[0]), args[1]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.load_verify_locations(ca)
context.set_alpn_protocols([alpn])
if len(args) >= 4:
    context.load_cert_chain(args[2], args[3])
try:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with context.wrap_socket(raw) as tls:
            # TLS 1.3: the server judges the client's certificate after the client thinks it is done,
            # so the verdict comes with the first read.
            data = tls.recv(64)
            if not data:
                print("closed")
            else:
                print("banner " + data.decode("ascii", "replace").strip())
except (ssl.SSLError, ConnectionError, socket.timeout) as error:
    print("refused: %s" % error)
