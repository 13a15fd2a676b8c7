#!/usr/bin/env bash
# Instructions per stored turn, counted by callgrind: repeatable on a noisy shared machine
# where timings are not. Runs `backline_store_bench --groups=N` for N and 2N groups (each
# after the same warm-up) and divides the difference by N's turns, so the setup, the warm-up
# and the shutdown cancel out. Every thread counts: the store's writer does the work.
#   bench/store_instructions.sh [STORE_BENCH_BINARY] [N] [SESSIONS]
# SESSIONS: conversations the turns are spread over (default 64; see store_bench.cc).
# Needs valgrind. Also prints the bytes written and write calls per turn of the plain run.
set -euo pipefail
bench=${1:-build/bench/backline_store_bench}
n=${2:-100}
sessions=${3:-64}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
total() {
  valgrind --tool=callgrind --callgrind-out-file="$out/$1.out" "$bench" --groups="$1,200,$sessions" \
    >/dev/null 2>&1
  callgrind_annotate "$out/$1.out" 2>/dev/null |
    sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,
}
one=$(total "$n")
two=$(total "$((2 * n))")
plain=$("$bench" --groups="$n,200,$sessions")
turns=$(echo "$plain" | sed -n 's/.*: \([0-9]*\) measured turns/\1/p')
echo "$plain" | grep -E "per turn|commits"
echo "instructions per turn $(((two - one) / turns))"
