#!/bin/sh
# bench/batch.sh: one big batch through fanoutd against the local test
# upstream: wall time, requests/s, daemon CPU and peak RSS.
#
#   bench/batch.sh [N] [CONCURRENCY] [PATH]   defaults: 20000 64 /ok
#
# Needs a build (./quickstart.sh). Not part of make check: numbers on
# shared machines are noisy, so run it a few times and compare medians.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
BENCH_PATH=${3:-/ok}
bench_start "${1:-20000}" "${2:-64}"

ticks() { awk '{print $14 + $15}' "/proc/$dpid/stat"; }
faults() { awk '{print $10}' "/proc/$dpid/stat"; }
switches() { awk '/ctxt_switches/ {s += $2} END {print s}' \
    "/proc/$dpid/status"; }
hz=$(getconf CLK_TCK)
cpu0=$(ticks) flt0=$(faults) sw0=$(switches)
t0=$(date +%s.%N)
$b/src/fanout -s "$tmp/sock" submit "$tmp/batch.json" >"$tmp/reply.json"
t1=$(date +%s.%N)
cpu1=$(ticks) flt1=$(faults) sw1=$(switches)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$dpid/status")
results=$(grep -o '"index":' "$tmp/reply.json" | wc -l)
errors=$(grep -o '"errors":[0-9]*' "$tmp/reply.json" | head -1 | cut -d: -f2)
awk -v n="$n" -v c="$c" -v t0="$t0" -v t1="$t1" -v cpu=$((cpu1 - cpu0)) \
    -v hz="$hz" -v rss="$rss" -v res="$results" -v err="$errors" \
    -v flt=$((flt1 - flt0)) -v sw=$((sw1 - sw0)) 'BEGIN {
	w = t1 - t0
	printf "requests %d  concurrency %d  results %d  errors %d\n", n, c, res, err
	printf "wall %.3f s  %.0f req/s  daemon cpu %.2f s  daemon peak RSS %.1f MiB\n",
	    w, n / w, cpu / hz, rss / 1024
	printf "daemon minor faults %d  context switches %d\n", flt, sw
}'
