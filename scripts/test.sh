#!/usr/bin/env bash
# Builds everything and runs every test (ctest). Installs missing Debian packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
ctest --output-on-failure -j "${ANNALS_TEST_JOBS:-2}" --timeout 600
