#!/usr/bin/env bash
# Installs the system packages Tandem builds and tests against (Debian 12).
set -euo pipefail
need=(libssh-dev sqlite3 postgresql postgresql-client openssh-client openssl asciinema util-linux pkg-config python3)
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
