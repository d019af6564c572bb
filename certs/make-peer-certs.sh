#!/usr/bin/env bash
# Makes the peer link's CA and one certificate per replica, for several brokers on one database.
# Usage: certs/make-peer-certs.sh OUTDIR NAME...
#   OUTDIR/peer-ca.crt (every replica's peer-ca), and NAME.crt + NAME.key (one replica's peer-cert, peer-key).
# The peer CA signs replicas and nothing else: keep its key (peer-ca.key) off the brokers.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: make-peer-certs.sh OUTDIR NAME...}"
shift
[ "$#" -gt 0 ] || { echo "make-peer-certs.sh: name at least one replica" >&2; exit 2; }
mkdir -p "$out"
chmod 700 "$out"
cd "$out"
if [ ! -f peer-ca.crt ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=Tandem replicas CA" -keyout peer-ca.key -out peer-ca.crt \
    -config "$here/openssl-broker.cnf" -extensions ca_ext 2>/dev/null
  chmod 600 peer-ca.key
fi
for name in "$@"; do
  case "$name" in *[!A-Za-z0-9._-]*|'') echo "make-peer-certs.sh: '$name' is not a plain name" >&2; exit 2 ;; esac
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
    -keyout "$name.key" -out "$name.csr" -config "$here/openssl-broker.cnf" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA peer-ca.crt -CAkey peer-ca.key -CAcreateserial -days 825 \
    -out "$name.crt" -extfile "$here/openssl-broker.cnf" -extensions replica_ext 2>/dev/null
  rm -f "$name.csr"
  chmod 600 "$name.key"
done
rm -f peer-ca.srl
echo "made $out/peer-ca.crt and a certificate for: $*"
