#!/usr/bin/env bash
# Installs the system packages Tandem builds and tests against (Debian 12).
set -euo pipefail
need=(libssh-dev sqlite3 postgresql postgresql-client openssh-client openssl asciinema util-linux pkg-config python3 python3-venv curl)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# schemathesis (PyPI) checks the HTTP API against docs/openapi.yaml; one virtualenv per machine.
tools="${XDG_CACHE_HOME:-$HOME/.cache}/tandem/venv"
schemathesis_version=4.32.5
if ! "$tools/bin/st" --version 2>/dev/null | grep -q "$schemathesis_version"; then
  echo "setup: installing schemathesis $schemathesis_version into $tools"
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q "schemathesis==$schemathesis_version"
fi
# The webhook receiver of the tests checks Ed25519 signatures with it.
cryptography_version=48.0.0
if ! "$tools/bin/python" -c "import cryptography, sys; sys.exit(cryptography.__version__ != '$cryptography_version')" 2>/dev/null; then
  echo "setup: installing cryptography $cryptography_version into $tools"
  "$tools/bin/pip" install -q "cryptography==$cryptography_version"
fi
# Request Tracker and Redmine for the helpdesk tests (once per machine).
bash "$(dirname "$0")/helpdesk-install.sh"
