#!/usr/bin/env bash
# Instructions per engine turn, per kind of message, counted by callgrind: repeatable on a
# noisy shared machine where timings are not. Each kind's messages (bench/engine_bench.cc) run
# ROUNDS times after a warm-up round; only those turns are counted.
#   bench/engine_instructions.sh [BENCH_BINARY] [ROUNDS]
# Prints one line per kind: kind, turns, instructions per turn. Needs valgrind.
set -euo pipefail
bench=${1:-build/bench/backline_engine_bench}
rounds=${2:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-14s %6s %12s\n' kind turns Ir/turn
for kind in faq misspelt red_flag negated unanswerable small_talk rambling; do
  turns=$(valgrind --tool=callgrind --callgrind-out-file="$out/$kind.out" \
      --toggle-collect='*MeasuredTurns*' "$bench" --turns="$kind,$rounds" 2>/dev/null |
    sed -n 's/.*, \([0-9]*\) measured turns.*/\1/p')
  ir=$(callgrind_annotate "$out/$kind.out" 2>/dev/null |
    sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
  printf '%-14s %6s %12s\n' "$kind" "$turns" "$((ir / turns))"
done
