#!/bin/sh
# bench/peers/curl.sh: curl's own parallel mode: N URLs from a config file,
# at most C transfers at once on one curl process (curl -Z).
#
#   curl.sh CONFIG N C
#
# CONFIG holds N pairs of lines `url = "..."` and `output = "/dev/null"`
# (bench/run writes it). --parallel-immediate makes curl open up to C
# connections at once rather than wait to see whether the first one can
# multiplex (it cannot: plain HTTP/1.1), as the other peers do. curl caps
# --parallel-max at 300. Prints one line for bench/run:
#
#   RESULT ok=K n=N wall_s=W user_s=U sys_s=S maxrss_kb=M busy_stop=T
#   [note=...]
#
# ok counts transfers that ended with status 200 (-w '%{http_code}'; a
# failed transfer writes 000). CPU and peak RSS are curl's (/usr/bin/time).
set -eu
[ $# -eq 3 ] || { echo "usage: curl.sh CONFIG N C" >&2; exit 2; }
cfg=$1 n=$2 c=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

t0=$(date +%s.%N)
rc=0
/usr/bin/time -f '%U %S %M' -o "$tmp/time" \
    curl -sS --no-progress-meter -Z --parallel-immediate \
    --parallel-max "$c" -K "$cfg" -w '%{http_code}\n' \
    >"$tmp/codes" 2>"$tmp/err" || rc=$?
t1=$(date +%s.%N)
# The machine's busy CPU ticks now, before counting: bench/run takes the
# counting below off what it calls other load.
busy=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat)
ok=$(grep -c '^200$' "$tmp/codes" || true)
note=
[ "$rc" -ne 0 ] && note="curl exit $rc: $(sort "$tmp/err" | uniq -c |
    sort -rn | head -2 | tr -s ' \n' ' ')"
[ "$ok" -ne "$n" ] && note="$note $(sort "$tmp/codes" | uniq -c |
    sort -rn | head -3 | tr -s ' \n' ' ')"
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
