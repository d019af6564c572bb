#!/usr/bin/env bash
# Makes a development CA and a broker certificate for localhost/127.0.0.1.
# Usage: certs/make-dev-certs.sh [OUTDIR]   (default: certs/out; private keys stay there, uncommitted)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/out}"
mkdir -p "$out"
chmod 700 "$out"
cd "$out"
if [ -f broker.crt ] && [ -f ca.crt ]; then echo "certificates already in $out"; exit 0; fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
  -subj "/CN=Tandem development CA" -keyout ca.key -out ca.crt \
  -config "$here/openssl-broker.cnf" -extensions ca_ext 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout broker.key -out broker.csr -config "$here/openssl-broker.cnf" 2>/dev/null
openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
  -out broker.crt -extfile "$here/openssl-broker.cnf" -extensions broker_ext 2>/dev/null
rm -f broker.csr ca.srl
chmod 600 ca.key broker.key
echo "made $out/ca.crt (give to agents) and $out/broker.crt + broker.key (for tandemd serve)"
