#!/usr/bin/env bash
# Runs the ingest bench over PMQ_INGEST_CHUNK x PMQ_WORKER_CONCURRENCY and appends
# each run's JSON line to one file; `npx tsx bench/summarize.ts FILE` makes the table.
#
#   CHUNKS="50 100 250 500" WORKER_CONCURRENCIES="8" REPEAT=2 bench/sweep.sh var/sweep.jsonl
#
# Any other bench option passes through as a PMQ_BENCH_* variable (PMQ_BENCH_EVENTS, ...).
# Runs go one after another: two at once would share the two cores and measure nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-var/bench-sweep.jsonl}"
mkdir -p "$(dirname "$out")"
for chunk in ${CHUNKS:-50 100 250 500}; do
  for wc in ${WORKER_CONCURRENCIES:-8}; do
    for _ in $(seq "${REPEAT:-1}"); do
      echo "sweep: PMQ_INGEST_CHUNK=$chunk PMQ_WORKER_CONCURRENCY=$wc" >&2
      # A failed run (verification or a crash) is recorded as such and the sweep goes on.
      npx tsx bench/ingest.ts --quiet --chunk "$chunk" --worker-concurrency "$wc" | tail -n 1 >>"$out" || echo "sweep: run failed" >&2
    done
  done
done
echo "sweep: results in $out" >&2
