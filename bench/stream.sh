#!/bin/sh
# bench/stream.sh: one big streamed batch through fanoutd: daemon RSS over
# time (it should stay flat while results stream out) and its peak.
#
#   bench/stream.sh [N] [CONCURRENCY]     defaults: 1000000 64
#
# Needs a build (./quickstart.sh). Not part of make check.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_start "${1:-1000000}" "${2:-64}" stream

rss() { awk '/VmRSS/ {print $2}' "/proc/$dpid/status"; }
idle=$(rss)
t0=$(date +%s.%N)
curl -sN --unix-socket "$tmp/sock" -H 'Expect:' \
    --data-binary @"$tmp/batch.json" http://localhost/v1/batches |
    awk -v n="$n" -v pid="$dpid" '
	function rss(  f, l, v) {
		f = "/proc/" pid "/status"
		while ((getline l < f) > 0)
			if (l ~ /^VmRSS/) { split(l, v, " "); close(f); return v[2] }
		close(f)
	}
	/"type":"result"/ { r++; if (r % (n / 10) == 0)
		printf "  %3d%% of results: daemon RSS %.1f MiB\n",
		    100 * r / n, rss() / 1024 }
	END { printf "  %d result lines\n", r }'
t1=$(date +%s.%N)
peak=$(awk '/VmHWM/ {print $2}' "/proc/$dpid/status")
awk -v n="$n" -v t0="$t0" -v t1="$t1" -v idle="$idle" -v peak="$peak" \
    'BEGIN { printf "requests %d  wall %.1f s  %.0f req/s  idle RSS %.1f MiB  peak RSS %.1f MiB\n",
	n, t1 - t0, n / (t1 - t0), idle / 1024, peak / 1024 }'
