#!/usr/bin/env bash
# Builds annalsd and starts it on its embedded default: data in ./data, listening on 127.0.0.1:8080.
# Extra arguments go to annalsd (e.g. --listen 127.0.0.1:9090 or --config config/annals.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh annalsd annals
exec build/server/annalsd "$@"
