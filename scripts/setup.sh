#!/usr/bin/env bash
# Installs the system packages Tandem builds and tests against (Debian 12).
set -euo pipefail
need=(libssh-dev sqlite3 postgresql postgresql-client openssh-client rsync openssl asciinema util-linux pkg-config python3 python3-venv curl
      chromium chromium-driver python3-selenium fonts-dejavu-core haproxy)
bash "$(dirname "$0")/apt-need.sh" setup "${need[@]}"
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
# The console's terminal player: asciinema-player 3.12.1 (JS and CSS), from PyPI's
# sphinxcontrib-asciinema source package (npm is out of reach here), into a build folder the
# broker serves it from (console-assets). The broker checks the same checksums when it starts.
assets="$(cd "$(dirname "$0")/.." && pwd)/.build-console"
player_js=5684bcc1429b0fadeb58e98abeadc6d1162b6d601e56b4c26c5e6f975a965c1c
player_css=c9ab8b978c4547141eeb6131caefc5604df2ccd78e2f9076931d7691ba47f399
if ! (cd "$assets" 2>/dev/null && printf '%s  %s\n%s  %s\n' "$player_js" asciinema-player.js "$player_css" asciinema-player.css | sha256sum -c --quiet >/dev/null 2>&1); then
  echo "setup: fetching asciinema-player 3.12.1 into $assets"
  work="$(mktemp -d)"
  "$tools/bin/pip" download -q --no-deps --no-binary :all: "sphinxcontrib-asciinema==0.4.3" -d "$work"
  tar -xzf "$work"/sphinxcontrib_asciinema-0.4.3.tar.gz -C "$work"
  mkdir -p "$assets"
  static="$work/sphinxcontrib_asciinema-0.4.3/sphinxcontrib/asciinema/_static"
  cp "$static/asciinema-player_3.12.1.js" "$assets/asciinema-player.js"
  cp "$static/asciinema-player_3.12.1.css" "$assets/asciinema-player.css"
  rm -rf "$work"
  (cd "$assets" && printf '%s  %s\n%s  %s\n' "$player_js" asciinema-player.js "$player_css" asciinema-player.css | sha256sum -c --quiet) \
    || { echo "setup: asciinema-player does not match its checksums; not using it" >&2; rm -f "$assets"/asciinema-player.*; exit 1; }
fi
