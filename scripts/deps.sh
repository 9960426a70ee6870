#!/usr/bin/env bash
# Installs the Debian packages annals needs to build, test and benchmark, when any is missing.
# Runs apt-get directly as root, or through sudo otherwise. Safe to run repeatedly.
set -euo pipefail
packages=(
  build-essential cmake ccache pkg-config
  librocksdb-dev libflatbuffers-dev flatbuffers-compiler
  libboost-dev libspdlog-dev nlohmann-json3-dev libyaml-cpp-dev libssl-dev
  libsimdjson-dev libgtest-dev librapidcheck-dev libbenchmark-dev libhowardhinnant-date-dev tzdata
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "annals: installing missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
