#!/usr/bin/env bash
# Configures and builds annals into ./build (Release with debug info). Extra args are build targets.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs="${ANNALS_BUILD_JOBS:-$(nproc)}"
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
if [ $# -gt 0 ]; then
  for t in "$@"; do cmake --build build -j "$jobs" --target "$t"; done
else
  cmake --build build -j "$jobs"
fi
