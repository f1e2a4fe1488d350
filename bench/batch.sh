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
n=${1:-20000}
c=${2:-64}
path=${3:-/ok}
b=${BUILD:-build}		# another build directory to compare builds
tmp=$(mktemp -d)
trap 'kill $upid $dpid 2>/dev/null || true; rm -rf "$tmp"' EXIT

$b/tests/upstream -p 0 >"$tmp/port" &
upid=$!
while ! grep -q port "$tmp/port" 2>/dev/null; do sleep 0.05; done
port=$(sed -n 's/^port //p' "$tmp/port")
# host_inflight = C so the per-host default (8) does not cap the run;
# builds from before the scheduler do not know the key.
printf '[fanoutd]\nmax_inflight = %s\nmax_batch_requests = %s\n' "$c" "$n" \
    >"$tmp/conf"
printf 'host_inflight = %s\n' "$c" >>"$tmp/conf"
$b/src/fanoutd -n -c "$tmp/conf" >/dev/null 2>&1 ||
    sed -i '/^host_inflight/d' "$tmp/conf"
if [ -n "${EXTRA_CONF:-}" ]; then printf '%b\n' "$EXTRA_CONF" >>"$tmp/conf"; fi
${WRAP:-} $b/src/fanoutd -c "$tmp/conf" -s "$tmp/sock" -l warn &
dpid=$!
while ! $b/src/fanout -s "$tmp/sock" health >/dev/null 2>&1; do
	sleep 0.05
done

awk -v n="$n" -v c="$c" -v u="http://127.0.0.1:$port$path" 'BEGIN {
	printf "{\"concurrency\":%d,\"requests\":[", c
	for (i = 0; i < n; i++)
		printf "%s{\"url\":\"%s\"}", i ? "," : "", u
	print "]}"
}' >"$tmp/batch.json"

ticks() { awk '{print $14 + $15}' "/proc/$dpid/stat"; }
hz=$(getconf CLK_TCK)
cpu0=$(ticks)
t0=$(date +%s.%N)
$b/src/fanout -s "$tmp/sock" submit "$tmp/batch.json" >"$tmp/reply.json"
t1=$(date +%s.%N)
cpu1=$(ticks)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$dpid/status")
results=$(grep -o '"index":' "$tmp/reply.json" | wc -l)
errors=$(grep -o '"errors":[0-9]*' "$tmp/reply.json" | head -1 | cut -d: -f2)
awk -v n="$n" -v c="$c" -v t0="$t0" -v t1="$t1" -v cpu=$((cpu1 - cpu0)) \
    -v hz="$hz" -v rss="$rss" -v res="$results" -v err="$errors" 'BEGIN {
	w = t1 - t0
	printf "requests %d  concurrency %d  results %d  errors %d\n", n, c, res, err
	printf "wall %.3f s  %.0f req/s  daemon cpu %.2f s  daemon peak RSS %.1f MiB\n",
	    w, n / w, cpu / hz, rss / 1024
}'
