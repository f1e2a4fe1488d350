#!/bin/sh
# bench/users.sh: N requests to one host split across U callers (uids) at
# once: wall time, requests/s, daemon CPU, and the connections the
# upstream accepted. Measures what keeping connections apart per caller
# costs: each uid opens its own, where one pool used to serve all.
#
#   bench/users.sh [N] [CONCURRENCY] [USERS]   defaults: 20000 64 8
#
# Each caller submits N/USERS GETs of /ok with concurrency C/USERS, as its
# own uid (60001, 60002, ...; run with setpriv, so this needs root), all
# at once; USERS=1 is the single-user case, run as root. BUILD=DIR runs
# another build (before/after). Not part of make check.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
users=${3:-8}
EXTRA_CONF='socket_mode = 0666' bench_start "${1:-20000}" "${2:-64}"
chmod 755 "$tmp"
per=$((n / users))
pc=$((c / users))
[ "$pc" -ge 1 ] || pc=1
awk -v n="$per" -v c="$pc" -v u="http://127.0.0.1:$port/ok" 'BEGIN {
	printf "{\"concurrency\":%d,\"requests\":[", c
	for (i = 0; i < n; i++)
		printf "%s{\"url\":\"%s\"}", i ? "," : "", u
	print "]}"
}' >"$tmp/part.json"
chmod 644 "$tmp/part.json"
curl -s "http://127.0.0.1:$port/stats/reset" >/dev/null

ticks() { awk '{print $14 + $15}' "/proc/$dpid/stat"; }
hz=$(getconf CLK_TCK)
cpu0=$(ticks)
t0=$(date +%s.%N)
pids=
i=1
while [ "$i" -le "$users" ]; do
	if [ "$users" -eq 1 ]; then
		as=
	else
		as="setpriv --reuid=$((60000 + i)) --regid=$((60000 + i)) --clear-groups"
	fi
	$as "$b/src/fanout" -s "$tmp/sock" submit "$tmp/part.json" \
	    >"$tmp/reply.$i" &
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do
	wait "$p"
done
t1=$(date +%s.%N)
cpu1=$(ticks)
results=$(cat "$tmp"/reply.* | grep -o '"index":' | wc -l)
conns=$(curl -s "http://127.0.0.1:$port/stats" |
    sed -n 's/.*"connections": \([0-9]*\).*/\1/p')
awk -v n=$((per * users)) -v c="$c" -v u="$users" -v t0="$t0" -v t1="$t1" \
    -v cpu=$((cpu1 - cpu0)) -v hz="$hz" -v res="$results" \
    -v conns="$conns" 'BEGIN {
	w = t1 - t0
	printf "users %d  requests %d  concurrency %d  results %d\n", u, n, c, res
	printf "wall %.3f s  %.0f req/s  daemon cpu %.2f s  upstream " \
	    "connections %d\n", w, n / w, cpu / hz, conns - 1
}'
