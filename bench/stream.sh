#!/bin/sh
# bench/stream.sh: one big streamed batch through fanoutd: daemon RSS over
# time (it should stay flat while results stream out) and its peak.
#
#   bench/stream.sh [N] [CONCURRENCY]     defaults: 1000000 64
#
# Needs a build (./quickstart.sh). Not part of make check.
set -eu
cd "$(dirname "$0")/.."
n=${1:-1000000}
c=${2:-64}
b=${BUILD:-build}
tmp=$(mktemp -d)
trap 'kill $upid $dpid 2>/dev/null || true; rm -rf "$tmp"' EXIT

$b/tests/upstream -p 0 >"$tmp/port" &
upid=$!
while ! grep -q port "$tmp/port" 2>/dev/null; do sleep 0.05; done
port=$(sed -n 's/^port //p' "$tmp/port")
printf '[fanoutd]\nmax_inflight = %s\nhost_inflight = %s\n' "$c" "$c" \
    >"$tmp/conf"
printf 'max_batch_requests = %s\nmax_request_bytes = 1G\n' "$n" >>"$tmp/conf"
$b/src/fanoutd -c "$tmp/conf" -s "$tmp/sock" -l warn &
dpid=$!
while ! $b/src/fanout -s "$tmp/sock" health >/dev/null 2>&1; do
	sleep 0.05
done
awk -v n="$n" -v c="$c" -v u="http://127.0.0.1:$port/ok" 'BEGIN {
	printf "{\"mode\":\"stream\",\"concurrency\":%d,\"requests\":[", c
	for (i = 0; i < n; i++)
		printf "%s{\"url\":\"%s\"}", i ? "," : "", u
	print "]}"
}' >"$tmp/batch.json"
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
