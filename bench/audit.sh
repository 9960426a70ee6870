#!/usr/bin/env bash
# Issue #5 benchmarks: the offline rebuild of a large mixed log (events/s, peak RSS), the NDJSON
# export of GET /events, and the p99 of mixed reads at a fixed rate while every read model is
# rebuilt online.
# Usage: bench/audit.sh [REBUILD_EVENTS=10000000] [EXPORT_EVENTS=1000000] [RATE=5000]
#                       [REBUILD_READS_S=300]
set -euo pipefail
cd "$(dirname "$0")/.."
rebuild_events=${1:-10000000}
export_events=${2:-1000000}
rate=${3:-5000}
# The reads during the online rebuild run from its start to its swap (compaction included), for at
# most this long (the script says whether they covered all of it).
rebuild_reads=${4:-300}
duration=10
conns=32
scripts/build.sh seed_mixed annalsd annals >/dev/null
source bench/lib.sh

echo "machine: $(nproc) cores, $(uname -r)"
echo "== offline rebuild of $rebuild_events mixed events"
build/bench/seed_mixed "$work/big" "$rebuild_events"
/usr/bin/time -v build/tools/annals rebuild --data "$work/big" >"$work/rebuild.out" 2>"$work/rebuild.time"
head -1 "$work/rebuild.out"
echo "peak RSS: $(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/rebuild.time") KiB (target < 1048576)"
rm -rf "$work/big"

echo "== export and online rebuild over $export_events mixed events"
build/bench/seed_mixed "$work/mid" "$export_events"
build/tools/annals rebuild --data "$work/mid" | head -1
# Seeding and rebuilding leave a few hundred MB of dirty pages, which the kernel writes back 30 s
# later, in the middle of the reads below: write them now, so the reads measure the server.
sync
start "$work/annalsd.log" build/server/annalsd --data "$work/mid" --listen 127.0.0.1:0 --log-level warn
port=$(port_of "$work/annalsd.log")
# NDJSON export: page through GET /events with limit=10000 following Annals-Next-From, on one
# keep-alive connection (python3's http.client; the time is the server's and the transfer's).
python3 - "$port" <<'PY'
import http.client, sys, time
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
start, lines, nxt = time.monotonic(), 0, "1"
while nxt:
    conn.request("GET", f"/events?from={nxt}&limit=10000")
    r = conn.getresponse()
    lines += r.read().count(b"\n")
    nxt = r.getheader("Annals-Next-From")
secs = time.monotonic() - start
print(f"export: {lines} events in {secs:.2f} s = {lines / secs:.0f} events/s (target >= 200000)")
PY

# Mixed reads at a fixed rate: once alone, once while every read model is rebuilt online.
build/tools/annals bench --url "http://127.0.0.1:$port" --duration "$duration" --connections "$conns" \
  --rate "$rate" --scenario mixed | sed -n 's/^RESULT /reads alone:           /p'
wait_rebuild() {
  while curl -s "http://127.0.0.1:$port/admin/projections" | grep -q '"rebuild":{'; do sleep 0.2; done
}
(
  sleep 1
  r0=$(date +%s.%N)
  curl -s -XPOST "http://127.0.0.1:$port/admin/projections/all/rebuild" >/dev/null
  wait_rebuild
  r1=$(date +%s.%N)
  echo "$r0 $r1" >"$work/online.txt"
  touch "$work/rebuilt"  # ends the reads
) &
rebuilder=$!
b0=$(date +%s.%N)
build/tools/annals bench --url "http://127.0.0.1:$port" --duration "$rebuild_reads" \
  --stop-file "$work/rebuilt" --connections "$conns" --rate "$rate" --scenario mixed |
  sed -n 's/^RESULT /reads during rebuild:  /p'
b1=$(date +%s.%N)
wait "$rebuilder"
read -r r0 r1 <"$work/online.txt"
awk -v a="$r0" -v b="$r1" -v s="$b0" -v e="$b1" 'BEGIN {
  printf "online rebuild of every read model took %.1f s; the reads covered all of it: %s\n",
    b - a, (a >= s && b <= e + 0.2) ? "yes" : "no (raise REBUILD_READS_S)" }'
curl -s "http://127.0.0.1:$port/admin/projections" | grep -o '"name":"[a-z_]*","generation":[0-9]*' | head -3
