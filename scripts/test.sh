#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every Tandem test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
swift test --skip-build
