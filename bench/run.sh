#!/usr/bin/env bash
# Measures, in one run and with the same client settings, the minimal Beast server (this
# machine's HTTP limit) and annalsd: durable POST /lessons and GET /lessons/{id}; then an offline
# rebuild of LESSONS lessons. Prints every number and the ratios.
# Usage: bench/run.sh [DURATION_S=10] [CONNECTIONS=64] [LESSONS=1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
conns=${2:-64}
lessons=${3:-1000000}
scripts/build.sh minimal_server annalsd annals seed_lessons >/dev/null
source bench/lib.sh

echo "machine: $(nproc) cores, $(uname -r); client: annals bench, $conns connections, ${duration}s, 1 client thread"
start "$work/minimal.log" build/bench/minimal_server 0 2
min_port=$(port_of "$work/minimal.log")
minimal=$(bench "$min_port" get /)
echo "minimal beast GET (60-byte JSON):   $minimal"

start "$work/annalsd.log" build/server/annalsd --data "$work/data" --listen 127.0.0.1:0 --log-level warn
ann_port=$(port_of "$work/annalsd.log")
post=$(bench "$ann_port" lessons)
echo "annalsd POST /lessons (durable):    $post"
get=$(bench "$ann_port" reads)
echo "annalsd GET /lessons/{id}:          $get"
stop_all

m=$(field rps "$minimal")
awk -v p="$(field rps "$post")" -v g="$(field rps "$get")" -v m="$m" -v p99="$(field p99_ms "$post")" 'BEGIN {
  printf "POST /lessons: %.0f req/s = %.1f%% of minimal (target >= 50%%), p99 %.2f ms (target < 10 ms)\n", p, 100*p/m, p99;
  printf "GET /lessons/{id}: %.0f req/s = %.1f%% of minimal (target >= 70%%)\n", g, 100*g/m }'

echo "seeding $lessons lessons (+10% updates) through the command path..."
build/bench/seed_lessons "$work/seed" "$lessons"
/usr/bin/time -v build/tools/annals rebuild --data "$work/seed" >"$work/rebuild.out" 2>"$work/rebuild.time"
cat "$work/rebuild.out"
echo "rebuild peak RSS: $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/rebuild.time") KiB (target < 524288)"
