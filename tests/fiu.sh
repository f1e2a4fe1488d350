#!/bin/sh
# fiu.sh: fanoutd under random allocation failures (libfiu).
#
# Starts the test upstream and fanoutd under fiu-run (libfiu's POSIX
# preload, Debian package fiu-utils) with every failure point off, so the
# daemon starts cleanly. Then, for FIU_SECONDS, fiu-ctrl makes malloc,
# calloc and realloc fail at random:
#
#   fiu-ctrl -c 'enable_random name=libc/mm/*,probability=P' PID
#
# while FIU_CLIENTS clients submit batches of FIU_N requests to the local
# upstream (wait and stream mode, one stream in four) and read /v1/stats.
#
# The contract under test (src/xmalloc.c): a failed allocation inside
# libcurl ends that one transfer with error "internal"; anywhere else
# (fanoutd, jansson, libevent, libevhtp, uthash) it ends the daemon with
# "out of memory" in its log and exit status 1, for systemd to restart.
# So each round passes in one of two ways:
#
#   survived: failures turned off ('disable name=libc/mm/*'), the daemon
#     answers GET /healthz and a normal batch (one 200 result per
#     request), has no batch left open, and exits 0 on SIGTERM;
#   ended cleanly: it exited 1 with "out of memory" in its log.
#
# and fails on anything else: death by a signal (SIGSEGV, SIGABRT) or
# another exit status, a hang, a 4xx or other non-200 reply to a valid
# batch, a complete reply without exactly one result per request, a
# result whose "url" is not one that was submitted (jansson 2.14 can
# corrupt a string on a failed allocation and report success), or a
# result error other than "internal".
#
# Environment (all optional):
#   FANOUTD, UPSTREAM  binaries (make check sets them; default build/...)
#   FIU_ROUNDS    rounds, each a fresh daemon with its own seed (default 1)
#   FIU_PROB      failure probability per allocation (default 0.001;
#                 1e-4 gets further into dispatch and result encoding)
#   FIU_SECONDS   how long failures are on (default 15)
#   FIU_N         requests per batch (default 100)
#   FIU_CLIENTS   concurrent clients (default 3)
#   FIU_POINTS    failure point names (default libc/mm/*: malloc, calloc,
#                 realloc; also try libc/str/* for strdup/strndup)
#   FIU_ENABLE    a whole fiu-ctrl command instead of the enable_random one,
#                 e.g. 'enable_stack_by_name name=libc/mm/*,func_name=
#                 curl_multi_socket_action' (libfiu 1.1: the function must
#                 be in the dynamic symbol table; it then fails every
#                 allocation made under it, or the first with ,onetime)
#   FIU_SEED      libfiu's PRNG seed (FIU_PRNG_SEED), for a repeatable
#                 sequence of decisions (timing still varies)
#   FIU_KEEP=1    keep the scratch directory (logs, replies)
#
# Exit 0 pass, 1 fail, 77 skip (no fiu-run, fiu-ctrl or curl, or a
# sanitizer build, whose allocator libfiu cannot wrap), 99 harness error.
# A round takes FIU_SECONDS plus a few seconds. With none of FIU_ROUNDS
# and FIU_ENABLE set (make check), it runs 5 random rounds of 3 s at 1e-4
# and one round where only libcurl fails; by hand, from the top:
#
#   tests/fiu.sh
#   FIU_ROUNDS=20 FIU_PROB=0.0001 FIU_SECONDS=20 tests/fiu.sh
#
# fiu-run's preload applies to fanoutd only, never to this script or curl.
# Failures are injected into every library of the process (libevhtp,
# libevent, jansson, libcurl, libc) as well as fanoutd's own code.
set -u

# With no FIU_ROUNDS or FIU_ENABLE (as in make check): random failures in
# 5 short rounds, then a round where only libcurl's allocations fail (under
# curl_multi_socket_action), which the daemon must survive with every
# affected request ending "internal".
if [ -z "${FIU_ROUND:-}${FIU_ROUNDS:-}${FIU_ENABLE:-}" ]; then
	FIU_ROUNDS=5 FIU_SECONDS=${FIU_SECONDS:-3} \
	    FIU_PROB=${FIU_PROB:-0.0001} sh "$0" || exit $?
	FIU_ROUND=1 FIU_SECONDS=${FIU_SECONDS:-3} FIU_ENABLE='enable_stack_by_name'\
' name=libc/mm/*,func_name=curl_multi_socket_action' sh "$0"
	case $? in
	0)	exit 0 ;;
	77)	exit 77 ;;
	*)	echo "fiu.sh: FAIL: the daemon must survive libcurl's" \
		    "allocation failures"; exit 1 ;;
	esac
fi

# Several rounds: this script again, once per round, with its own seed.
if [ "${FIU_ROUNDS:-1}" -gt 1 ] && [ -z "${FIU_ROUND:-}" ]; then
	r=0 survived=0 ended=0
	while [ $r -lt "$FIU_ROUNDS" ]; do
		r=$((r + 1))
		FIU_ROUND=$r FIU_SEED=${FIU_SEED:-$$}$r sh "$0"
		case $? in
		0)	survived=$((survived + 1)) ;;
		3)	ended=$((ended + 1)) ;;
		77)	exit 77 ;;
		*)	echo "fiu.sh: FAIL in round $r"; exit 1 ;;
		esac
	done
	echo "fiu.sh: PASS: $FIU_ROUNDS rounds: $survived survived the" \
	    "failures, $ended ended cleanly (out of memory, exit 1)"
	exit 0
fi

top=$(cd "$(dirname "$0")/.." && pwd)
build=${TOP_BUILDDIR:-$top/build}
FANOUTD=${FANOUTD:-$build/src/fanoutd}
UPSTREAM=${UPSTREAM:-$build/tests/upstream}
prob=${FIU_PROB:-0.001}
secs=${FIU_SECONDS:-15}
n=${FIU_N:-100}
nclients=${FIU_CLIENTS:-3}
points=${FIU_POINTS:-libc/mm/*}
enable=${FIU_ENABLE:-enable_random name=$points,probability=$prob}

say() { echo "fiu.sh: $*"; }
skip() { say "SKIP: $*"; exit 77; }
# N polls, times CK_TIMEOUT_MULTIPLIER (as the Check tests' time bounds).
scaled() {
	awk -v n="$1" -v m="${CK_TIMEOUT_MULTIPLIER:-1}" \
	    'BEGIN { m += 0; print int(n * (m > 0 ? m : 1)) }'
}
polls100=$(scaled 100)
polls50=$(scaled 50)

for tool in fiu-run fiu-ctrl curl; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not found" \
	    "(apt-get install fiu-utils curl)"
done
point=$(echo "$enable" | sed -n 's/^[a-z_]* name=\([^,]*\).*/\1/p')
disable="disable name=$point"
for f in "$FANOUTD" "$UPSTREAM"; do
	[ -x "$f" ] || { say "no $f: build first"; exit 99; }
done
if ldd "$FANOUTD" 2>/dev/null | grep -q -e libasan -e libtsan; then
	skip "$FANOUTD is a sanitizer build"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fiu.XXXXXX") || exit 99
upid='' dpid='' cpids=''
# shellcheck disable=SC2317
cleanup() {
	for p in $cpids $dpid $upid; do kill "$p" 2>/dev/null; done
	if [ "${FIU_KEEP:-0}" = 1 ]; then
		say "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP

# The upstream, a config with room for the load, and the batches.
"$UPSTREAM" -p 0 >"$tmp/port" 2>"$tmp/upstream.log" &
upid=$!
i=0
while ! grep -q '^port ' "$tmp/port" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt "$polls100" ] && { say "upstream did not start"; exit 99; }
	sleep 0.05
done
port=$(sed -n 's/^port //p' "$tmp/port")
cat >"$tmp/conf" <<EOF
[fanoutd]
max_inflight = 64
host_inflight = 64
api_timeout_ms = 5000
${FANOUTD_TEST_WORKERS:+workers = $FANOUTD_TEST_WORKERS}
EOF
mkbatch() {	# MODE FILE
	awk -v n="$n" -v m="$1" -v p="$port" 'BEGIN {
		printf "{\"mode\":\"%s\",\"concurrency\":32,\"requests\":[", m
		for (i = 0; i < n; i++)
			printf "%s{\"id\":\"r%d\",\"url\":\"http://127.0.0.1:%d/%s\"}",
			    i ? "," : "", i, p, i % 4 ? "ok" : "delay/20"
		print "]}"
	}' >"$2"
}
mkbatch wait "$tmp/wait.json"
mkbatch stream "$tmp/stream.json"
printf '"url":"http://127.0.0.1:%d/%s"\n' "$port" ok "$port" delay/20 \
    >"$tmp/urls"

# The daemon, under fiu-run with nothing enabled yet. fiu-run execs, so
# $! is fanoutd itself; its control FIFOs are $tmp/fiu-PID.{in,out}.
sock=$tmp/sock
if [ -n "${FIU_SEED:-}" ]; then
	FIU_PRNG_SEED=$FIU_SEED
	export FIU_PRNG_SEED
fi
fiu-run -x -f "$tmp/fiu" "$FANOUTD" -c "$tmp/conf" -s "$sock" -l warn \
    2>"$tmp/daemon.log" &
dpid=$!
unset FIU_PRNG_SEED
api() {	# PATH [curl options...]: print the body; status in $tmp/code
	p=$1
	shift
	curl -sS -m 10 --unix-socket "$sock" -H Expect: -w '%{http_code}' \
	    -o "$tmp/body" "$@" "http://localhost$p" >"$tmp/code" 2>/dev/null
	r=$?
	cat "$tmp/body" 2>/dev/null
	return $r
}
i=0
until [ -p "$tmp/fiu-$dpid.out" ] && api /healthz >/dev/null; do
	i=$((i + 1))
	if [ $i -gt "$polls100" ] || ! kill -0 "$dpid" 2>/dev/null; then
		say "fanoutd did not start"
		cat "$tmp/daemon.log"
		exit 99
	fi
	sleep 0.05
done

fiuctl() {	# COMMAND: fiu-ctrl exits 0 even when the command fails
	out=$(fiu-ctrl -f "$tmp/fiu" -c "$1" "$dpid" 2>&1)
	if [ -n "$out" ]; then
		say "fiu-ctrl -c '$1': $out"
		return 1
	fi
}

# The load: each client loops until the deadline, one line per
# submission in $tmp/c.K.log: "MODE HTTP_STATUS CURL_EXIT BODY_FILE".
client() {	# K DEADLINE
	k=0
	while [ "$(date +%s)" -lt "$2" ] && kill -0 "$dpid" 2>/dev/null; do
		k=$((k + 1))
		mode='wait'
		[ $((k % 4)) = 0 ] && mode=stream
		b=$tmp/r.$1.$k
		code=$(curl -sS -m 15 --unix-socket "$sock" -H Expect: \
		    -o "$b" -w '%{http_code}' --data-binary "@$tmp/$mode.json" \
		    http://localhost/v1/batches 2>/dev/null)
		echo "$mode ${code:-000} $? $b" >>"$tmp/c.$1.log"
		curl -sS -m 5 --unix-socket "$sock" -o /dev/null \
		    -w '%{http_code}\n' http://localhost/v1/stats \
		    >>"$tmp/stats.$1.log" 2>/dev/null
	done
}

say "$enable for ${secs}s; $nclients clients, batches of $n"
fiuctl "$enable" || exit 99
deadline=$(( $(date +%s) + secs ))
c=0
while [ $c -lt "$nclients" ]; do
	c=$((c + 1))
	client $c $deadline &
	cpids="$cpids $!"
done
t0=$(date +%s)
while [ "$(date +%s)" -lt $deadline ] && kill -0 "$dpid" 2>/dev/null; do
	sleep 0.2
done
el=$(( $(date +%s) - t0 ))
died_during=0
if kill -0 "$dpid" 2>/dev/null; then
	fiuctl "$disable" || exit 99
else
	died_during=1
fi
for p in $cpids; do
	wait "$p"
done
cpids=

# Tally. A result is matched by its "index" member, and its error by the
# last "error" that is null or an object before the next index (the
# attempt_log's errors come first; the upstream's bodies, "ok", contain
# neither). Of a stream only the result lines count.
results() {	# REPLY MODE: "INDEX CODE" per result, CODE null if none
	if [ "$2" = stream ]; then
		grep '^{"type":"result"' "$1"
	else
		cat "$1"
	fi | grep -o -e '"index":[0-9]*' -e '"error":null' \
	    -e '"error":{"code":"[a-z_]*"' | awk -F: '
	/^"index"/ { if (i != "") print i, e; i = $2; e = "?"; next }
	{ e = ($2 == "null" ? "null" : $3); gsub(/"/, "", e) }
	END { if (i != "") print i, e }'
}
cat "$tmp"/c.*.log >"$tmp/all.log" 2>/dev/null
: >"$tmp/outcomes"
: >"$tmp/badurls"
: >"$tmp/badproto"
: >"$tmp/results.codes"
: >"$tmp/api.codes"
short=0 complete=0 sent=0
while read -r mode code rc b; do
	sent=$((sent + 1))
	if [ "$code" = 200 ] && [ "$rc" = 0 ]; then
		echo "$mode 200" >>"$tmp/outcomes"
		complete=$((complete + 1))
		results "$b" "$mode" >"$tmp/one"
		got=$(wc -l <"$tmp/one")
		uniq=$(cut -d' ' -f1 "$tmp/one" | sort -u | wc -l)
		end=ok
		if [ "$mode" = stream ] &&
		    ! grep -q '^{"type":"summary"' "$b"; then
			end="no summary line"
		fi
		if [ "$got" -ne "$n" ] || [ "$uniq" -ne "$n" ] ||
		    [ "$end" != ok ]; then
			short=$((short + 1))
			say "FAIL: $mode reply $b: $got results," \
			    "$uniq distinct, for $n requests ($end)"
		fi
		cut -d' ' -f2 "$tmp/one" | sed 's/^null$/none/' \
		    >>"$tmp/results.codes"
		grep -o '"url":"[^"]*"' "$b" |
		    grep -v -x -F -f "$tmp/urls" >>"$tmp/badurls" || true
		# libcurl 7.88 reports a failed allocation while reading
		# response headers as it does headers past its cap: that one
		# protocol_error, and only with that message, is allowed.
		grep -o '"code":"protocol_error","message":"[^"]*"' "$b" |
		    grep -v 'or libcurl ran out of memory' \
		    >>"$tmp/badproto" || true
	elif [ "$code" = 000 ]; then
		case $rc in
		7)	echo "refused (curl 7)" ;;
		28)	echo "timed out (curl 28)" ;;
		52)	echo "empty reply (curl 52)" ;;
		55)	echo "reset while sending (curl 55)" ;;
		56)	echo "connection reset (curl 56)" ;;
		*)	echo "curl error $rc" ;;
		esac >>"$tmp/outcomes"
	elif [ "$rc" != 0 ]; then
		echo "$mode $code, then cut (curl $rc)" >>"$tmp/outcomes"
	else
		e=$(sed -n 's/^{"error":{"code":"\([a-z_]*\)".*/\1/p' "$b")
		echo "$mode $code" >>"$tmp/outcomes"
		echo "$code ${e:-?}" >>"$tmp/api.codes"
	fi
done <"$tmp/all.log"
tally() { sort "$1" 2>/dev/null | uniq -c | sort -rn | awk '{
	c = $1; $1 = ""; printf "%s%s=%d", (NR > 1 ? ", " : ""), substr($0, 2), c }
	END { if (NR == 0) printf "none"; print "" }'; }
say "submissions: $sent; $(tally "$tmp/outcomes" 2>/dev/null)"
say "API errors: $(tally "$tmp/api.codes")"
say "results: $(wc -l <"$tmp/results.codes") in $complete complete" \
    "replies of $n requests; by error: $(tally "$tmp/results.codes")"
cat "$tmp"/stats.*.log 2>/dev/null >"$tmp/stats.all"
say "GET /v1/stats: $(tally "$tmp/stats.all")"

fail=0
status() {	# describe how the daemon ended
	wait "$dpid"
	s=$?
	dpid=
	if [ $s -gt 128 ]; then
		say "fanoutd was killed by signal $((s - 128))"
	else
		say "fanoutd exited $s"
	fi
	say "its log ends:"
	tail -5 "$tmp/daemon.log" | sed 's/^/    /'
	return $s
}
strict() {	# what no round may show, alive or not
	grep -v -e ' 200$' "$tmp/outcomes" >"$tmp/bad"
	if [ "$1" = dead ]; then	# its last clients saw it go
		grep -v -e 'refused' -e 'empty reply' -e 'reset' \
		    -e 'then cut' "$tmp/bad" >"$tmp/bad2"
		mv "$tmp/bad2" "$tmp/bad"
	fi
	if [ -s "$tmp/bad" ]; then
		say "FAIL: submissions that did not complete: $(tally \
		    "$tmp/bad")"
		fail=1
	fi
	grep -v -e '^none$' -e '^internal$' -e '^protocol_error$' \
	    "$tmp/results.codes" >"$tmp/bad"
	cat "$tmp/badproto" >>"$tmp/bad"
	if [ -s "$tmp/bad" ]; then
		say "FAIL: result errors other than internal: $(tally \
		    "$tmp/bad")"
		fail=1
	fi
	if [ -s "$tmp/badurls" ]; then
		say "FAIL: results whose url was not submitted:" \
		    "$(head -3 "$tmp/badurls")"
		fail=1
	fi
	if [ $short -gt 0 ]; then
		say "FAIL: $short complete replies without one result per" \
		    "request"
		fail=1
	fi
}
if [ $died_during = 1 ] || ! kill -0 "$dpid" 2>/dev/null; then
	status
	s=$?
	strict dead
	if [ $s -eq 1 ] && grep -q 'out of memory' "$tmp/daemon.log"; then
		[ $fail = 0 ] && say "PASS: ended cleanly (out of memory," \
		    "exit 1) within ${el}s of ${secs}s"
		[ $fail = 0 ] && exit 3
		exit 1
	fi
	say "FAIL: fanoutd died while allocations were failing, not by" \
	    "its out-of-memory exit, within ${el}s of ${secs}s"
	exit 1
fi

# Failures off: the daemon must work normally again.
h=$(api /healthz)
if [ "$(cat "$tmp/code")" != 200 ]; then
	say "FAIL: GET /healthz after the failures: $(cat "$tmp/code") $h"
	fail=1
fi
api /v1/batches --data-binary "@$tmp/wait.json" >"$tmp/final.json"
results "$tmp/final.json" wait >"$tmp/one"
got=$(cut -d' ' -f1 "$tmp/one" | sort -u | wc -l)
ok=$(grep -c ' null$' "$tmp/one")
if [ "$(cat "$tmp/code")" != 200 ] || [ "$got" -ne "$n" ] ||
    [ "$ok" -ne "$n" ]; then
	say "FAIL: normal batch after the failures: HTTP $(cat "$tmp/code")," \
	    "$got results, $ok without error, for $n requests"
	fail=1
else
	say "after: healthz ok; a normal batch of $n: 200, $n results, none" \
	    "failed"
fi
i=0
while h=$(api /healthz) && ! echo "$h" | grep -q '"batches":0[,}]'; do
	i=$((i + 1))
	if [ $i -gt "$polls50" ]; then
		say "FAIL: batches still open 5 s after the load: $h"
		fail=1
		break
	fi
	sleep 0.1
done
strict alive

kill -TERM "$dpid"
i=0
while kill -0 "$dpid" 2>/dev/null && [ $i -lt "$polls100" ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$dpid" 2>/dev/null; then
	say "FAIL: fanoutd still running 10 s after SIGTERM"
	exit 1
fi
status >/dev/null || { say "FAIL: fanoutd did not exit 0 on SIGTERM"; \
    tail -5 "$tmp/daemon.log"; fail=1; }
[ $fail = 0 ] && say "PASS"
exit $fail
