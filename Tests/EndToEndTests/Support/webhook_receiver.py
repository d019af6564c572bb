#!/usr/bin/env python3
"""A webhook receiver for the tests, verifying Standard Webhooks signatures as a helpdesk would.

usage: webhook_receiver.py LOG SECRET PUBLIC_KEY [--fail-first N] [--refuse-type TYPE]
  LOG         one JSON line per request: {"id", "type", "outcome", "v1", "v1a", "status"}
  SECRET      the whsec_ secret (HMAC-SHA256, "v1,")
  PUBLIC_KEY  the broker's whpk_ key (Ed25519, "v1a,")
Prints "listening PORT" once it listens on 127.0.0.1 (a port the OS picks). Answers 500 to the
first N requests that verify by either signature (to test retries), 422 the first time it sees each message of TYPE
(a refusal for good, until the broker is told to resync), 400 to any that does not verify, 200
otherwise; a message id seen before (and answered 200) is logged as "duplicate".
"""
import base64, hashlib, hmac, http.server, json, sys, time
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature

log_path, secret, public_key = sys.argv[1], sys.argv[2], sys.argv[3]
options = dict(zip(sys.argv[4::2], sys.argv[5::2]))
fail_first = int(options.get("--fail-first", "0"))
refuse_type = options.get("--refuse-type")
refused = set()
hmac_key = base64.b64decode(secret[len("whsec_"):])
ed_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key[len("whpk_"):]))
TOLERANCE = 300
MAX_BODY = 1 << 20
seen = set()
failed = 0


def verify(msg_id, timestamp, body, header):
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(hmac_key, content, hashlib.sha256).digest()).decode()
    v1 = v1a = False
    for part in header.split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            v1 = True
        elif version == "v1a":
            try:
                ed_key.verify(base64.b64decode(sig), content)
                v1a = True
            except (InvalidSignature, ValueError):
                pass
    return v1, v1a


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global failed
        length = int(self.headers.get("Content-Length", "0"))
        if length > MAX_BODY:
            return self.answer(413, {"outcome": "too large"})
        body = self.rfile.read(length)
        msg_id = self.headers.get("webhook-id", "")
        timestamp = self.headers.get("webhook-timestamp", "")
        entry = {"id": msg_id}
        try:
            entry["type"] = json.loads(body).get("type")
        except ValueError:
            entry["type"] = None
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE:
            return self.answer(400, dict(entry, outcome="stale timestamp"))
        v1, v1a = verify(msg_id, timestamp, body, self.headers.get("webhook-signature", ""))
        entry.update(v1=v1, v1a=v1a)
        # As the spec says: one valid signature is enough (the log shows which ones verified).
        if not (v1 or v1a):
            return self.answer(400, dict(entry, outcome="bad signature"))
        if failed < fail_first:
            failed += 1
            return self.answer(500, dict(entry, outcome="failed on purpose"))
        if entry["type"] == refuse_type and msg_id not in refused:
            refused.add(msg_id)
            return self.answer(422, dict(entry, outcome="refused on purpose"))
        if msg_id in seen:
            return self.answer(200, dict(entry, outcome="duplicate"))
        seen.add(msg_id)
        entry["body"] = body.decode()
        self.answer(200, dict(entry, outcome="accepted"))

    def answer(self, status, entry):
        entry["status"] = status
        with open(log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("listening", server.server_address[1], flush=True)
server.serve_forever()
