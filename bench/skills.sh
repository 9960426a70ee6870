#!/usr/bin/env bash
# Issue #4 throughput: durable POST /admin/skill-runs (≈2 KB runs) and POST .../divergence
# against annalsd, next to the minimal Beast server with the same client settings.
# Usage: bench/skills.sh [DURATION_S=10] [CONNECTIONS=64] [RUNS=10000]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
conns=${2:-64}
scripts/build.sh minimal_server annalsd annals >/dev/null
source bench/lib.sh

echo "machine: $(nproc) cores; client: annals bench, $conns connections, ${duration}s, 1 client thread"
start "$work/minimal.log" build/bench/minimal_server 0 2
minimal=$(bench "$(port_of "$work/minimal.log")" get /)
echo "minimal beast GET:                        $minimal"
stop_all
# Context, not the target: the same minimal server given the skill_runs request (a 1.8 KB POST)
# and answering with as many bytes as annalsd's reply to it (R+ and effects, 2,230 bytes).
start "$work/minimal_run.log" build/bench/minimal_server 0 2 2230
shape=$(bench "$(port_of "$work/minimal_run.log")" run_shape /admin/skill-runs)
echo "minimal beast, the run's request and reply: $shape"
stop_all
start "$work/annalsd.log" build/server/annalsd --data "$work/data" --listen 127.0.0.1:0 --log-level warn
port=$(port_of "$work/annalsd.log")
runs=$(bench "$port" skill_runs)
echo "annalsd POST /admin/skill-runs (durable):  $runs"
divs=$(bench "$port" divergences)
echo "annalsd POST .../divergence (durable):     $divs"
awk -v r="$(field rps "$runs")" -v d="$(field rps "$divs")" -v m="$(field rps "$minimal")" \
  -v t="$(field rps "$shape")" 'BEGIN {
  printf "skill runs: %.0f req/s = %.1f%% of minimal; divergences: %.0f req/s = %.1f%% (target >= 40%%)\n",
    r, 100*r/m, d, 100*d/m
  printf "the run-shaped minimal server: %.0f req/s = %.1f%% of minimal GET; skill runs = %.1f%% of it\n",
    t, 100*t/m, 100*r/t }'

# The evolution input package of a skill with RUNS runs and as many divergences (target < 50 ms).
runs_n=${3:-10000}
scripts/build.sh seed_skill >/dev/null
stop_all
skill=$(build/bench/seed_skill "$work/seeded" "$runs_n")
start "$work/seeded.log" build/server/annalsd --data "$work/seeded" --listen 127.0.0.1:0 --log-level warn
port=$(port_of "$work/seeded.log")
url="http://127.0.0.1:$port/admin/skills/$skill/evolution-input"
curl -s -o /dev/null "$url"  # warm the block cache
times=$(for _ in $(seq 1 20); do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done | sort -n)
bytes=$(curl -s "$url" | wc -c)
echo "evolution input ($runs_n runs and divergences, $bytes bytes): median $(sed -n 10p <<<"$times" | awk '{printf "%.1f", $1*1000}') ms, max $(tail -1 <<<"$times" | awk '{printf "%.1f", $1*1000}') ms over 20 requests (target < 50 ms)"
