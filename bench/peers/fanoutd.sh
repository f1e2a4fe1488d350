#!/bin/sh
# bench/peers/fanoutd.sh: fanoutd end to end: one batch file submitted over
# the Unix socket with the fanout CLI, the whole JSON reply received.
#
#   fanoutd.sh SOCKET BATCH N
#
# BATCH is a wait-mode batch of N requests (bench/run writes it, with its
# "concurrency"); the daemon must already run on SOCKET. $FANOUT is the
# client (default ${BUILD:-build}/src/fanout). Prints one line for
# bench/run:
#
#   RESULT ok=K n=N wall_s=W user_s=U sys_s=S maxrss_kb=M busy_stop=T
#   [note=...]
#
# ok counts results with status 200; the run is good only if the reply
# holds exactly N results. wall_s is the fanout process from start to
# exit; user_s, sys_s and maxrss_kb are that client's (/usr/bin/time), not
# the daemon's: bench/run reads the daemon's from /proc. With
# $FANOUT_REPLY set, the JSON reply is kept there.
set -eu
[ $# -eq 3 ] || { echo "usage: fanoutd.sh SOCKET BATCH N" >&2; exit 2; }
sock=$1 batch=$2 n=$3
fanout=${FANOUT:-${BUILD:-build}/src/fanout}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

t0=$(date +%s.%N)
rc=0
/usr/bin/time -f '%U %S %M' -o "$tmp/time" \
    "$fanout" -s "$sock" submit "$batch" >"$tmp/reply" 2>"$tmp/err" || rc=$?
t1=$(date +%s.%N)
# The machine's busy CPU ticks now, before counting: bench/run takes the
# counting below off what it calls other load.
busy=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat)
# Counted after the clock stops. Each result has one "index" key and, if
# the upstream answered, "status":N,"headers" (the attempt log's status
# is followed by "error", so it is not counted twice).
results=$(grep -o '"index":' "$tmp/reply" | wc -l)
ok=$(grep -o '"status":200,"headers"' "$tmp/reply" | wc -l)
errors=$(grep -o '"errors":[0-9]*' "$tmp/reply" | head -1 | cut -d: -f2)
note=
[ "$rc" -ne 0 ] && note="fanout exit $rc: $(head -c 200 "$tmp/err" |
    tr '\n' ' ')"
[ "$results" -ne "$n" ] && note="$note $results results for $n requests"
[ "${errors:-0}" != 0 ] && note="$note errors=$errors: $(grep -o \
    '"code":"[a-z_]*"' "$tmp/reply" | sort | uniq -c | sort -rn | head -3 |
    tr -s ' \n' ' ')"
[ "$results" -ne "$n" ] && ok=0
if [ -n "${FANOUT_REPLY:-}" ]; then
	mv "$tmp/reply" "$FANOUT_REPLY"
fi
# The last line: time adds "Command exited with non-zero status N"
# before it when the command fails.
# shellcheck disable=SC2046
set -- $(tail -n 1 "$tmp/time" 2>/dev/null || true)
user=${1:-0} sys=${2:-0} rss=${3:-0}
awk -v ok="$ok" -v n="$n" -v t0="$t0" -v t1="$t1" -v u="$user" \
    -v s="$sys" -v m="$rss" -v b="$busy" -v note="$note" 'BEGIN {
	printf "RESULT ok=%d n=%d wall_s=%.3f user_s=%s sys_s=%s " \
	    "maxrss_kb=%s busy_stop=%s%s\n", ok, n, t1 - t0, u, s, m, b,
	    note == "" ? "" : " note=" note
}'
