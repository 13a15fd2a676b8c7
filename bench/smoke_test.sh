#!/usr/bin/env bash
# Not a benchmark (nothing is timed or compared): checks that the load generator can talk to
# the echo server and to `backline serve` (in-memory store): 2 connections for 1 s, every
# connection up, replies received, zero errors. Run by ctest as bench_loadgen_smoke.
#   bench/smoke_test.sh BACKLINE ECHO_SERVER LOADGEN CONFIG
set -euo pipefail
backline="$1" echo_server="$2" loadgen="$3" config="$4"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/backline-smoke.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_port() {  # wait_port FILE MARKER
  for _ in $(seq 1 3000); do
    if grep -q "$2" "$1" 2>/dev/null; then
      grep -ho "$2[0-9.:]*" "$1" | head -1 | grep -o '[0-9]*$'
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$1" >&2; return 1; }
    sleep 0.01
  done
  echo "not ready after 30 s" >&2
  return 1
}

"$echo_server" --port 0 --threads 1 > "$tmp/echo.out" 2>&1 &
pid=$!
port=$(wait_port "$tmp/echo.out" 'ready port=')
"$loadgen" --port "$port" --protocol echo --connections 2 --duration 1 --warmup 0.2 \
  --server-pid "$pid" --check
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""

"$backline" serve --config "$config" --store memory > "$tmp/backline.out" 2>&1 &
pid=$!
port=$(wait_port "$tmp/backline.out" 'listening on http://')
"$loadgen" --port "$port" --protocol backline --connections 2 --duration 1 --warmup 0.2 \
  --server-pid "$pid" --check
# Only loopback: anything else is refused before a connection is made.
if "$loadgen" --host 10.0.0.1 --port "$port" --duration 1 2>/dev/null; then
  echo "the load generator accepted a non-loopback address" >&2
  exit 1
fi
echo "bench smoke: ok"
