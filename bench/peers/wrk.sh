#!/bin/sh
# bench/peers/wrk.sh: the ceiling: wrk on one thread with C keep-alive
# connections for a fixed time, as fast as nginx answers.
#
#   wrk.sh URL C SECONDS
#
# wrk runs for a duration, not a count: n is the requests it completed.
# It does no more per request than parse the response, so its rate is
# what the loopback and nginx allow a client on one core. Prints one line
# for bench/run:
#
#   RESULT ok=K n=N wall_s=W user_s=U sys_s=S maxrss_kb=M [note=...]
#
# ok is n less the non-2xx/3xx responses; socket errors (connect, read,
# write, timeout) are a note, and make the run count as failed.
set -eu
[ $# -eq 3 ] || { echo "usage: wrk.sh URL C SECONDS" >&2; exit 2; }
url=$1 c=$2 secs=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rc=0
/usr/bin/time -f '%U %S %M' -o "$tmp/time" \
    wrk -t1 -c"$c" -d"${secs}s" "$url" >"$tmp/out" 2>&1 || rc=$?
# The last line: time adds "Command exited with non-zero status N"
# before it when the command fails.
# shellcheck disable=SC2046
set -- $(tail -n 1 "$tmp/time" 2>/dev/null || true)
user=${1:-0} sys=${2:-0} rss=${3:-0}
# "69817 requests in 3.01s, 17.51MB read"; "Non-2xx or 3xx responses: 5";
# "Socket errors: connect 0, read 1, write 0, timeout 0".
awk -v u="$user" -v s="$sys" -v m="$rss" -v rc="$rc" '
	/ requests in / { n = $1; w = $4; sub(/s,$/, "", w)
		if (w ~ /ms$/) { sub(/ms$/, "", w); w /= 1000 } }
	/Non-2xx/ { bad = $NF }
	/Socket errors/ { sock = $0; sub(/^ */, "", sock) }
	NF { last = $0 }
	END {
		note = rc != 0 ? "wrk exit " rc ": " last : ""
		if (sock != "") { note = note " " sock; bad = n }
		printf "RESULT ok=%d n=%d wall_s=%.3f user_s=%s sys_s=%s " \
		    "maxrss_kb=%s%s\n", n - bad, n, w, u, s, m,
		    note == "" ? "" : " note=" note
	}' "$tmp/out"
