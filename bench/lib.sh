# Shared by the bench scripts (sourced): a work directory removed on exit, servers started in the
# background and stopped on exit, their ports, and one `annals bench` measurement.
# Needs: duration, conns.
work=$(mktemp -d /tmp/annals-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a server in the background; it prints "... listening on HOST:PORT" first.
start() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  pids+=($!)
}
# Stops every server started so far.
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}
# Waits for a started server's port.
port_of() {
  for _ in $(seq 1 100); do
    if grep -q "listening on" "$1"; then
      sed -n 's/.*listening on [^:]*:\([0-9]*\).*/\1/p' "$1" | head -1
      return
    fi
    sleep 0.1
  done
  echo "server did not start: $(cat "$1")" >&2
  exit 1
}
# bench PORT SCENARIO [PATH]: the RESULT line of `annals bench`.
bench() {
  build/tools/annals bench --url "http://127.0.0.1:$1" --duration "$duration" \
    --connections "$conns" --threads 1 --scenario "$2" ${3:+--path "$3"} | tee -a "$work/bench.log" |
    sed -n 's/^RESULT //p'
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
