#!/bin/bash
# bench/soak.sh: a soak test: fanoutd under a mix of concurrent clients
# for a while, checking that every batch whose client stays connected gets
# exactly one result per request, and watching the daemon's memory and
# file descriptors over time.
#
#   bench/soak.sh [SECONDS]              default 600 (60 for a short run)
#
# Builds nothing: it runs fanoutd, fanout and tests/upstream from $BUILD
# (default build; see ./quickstart.sh). It starts two test upstreams and
# fanoutd (bench/lib.sh, plus result_ttl_s = 30 so that async results
# expire during the run, and breaker_failures = 0: with the breaker on,
# the failing host's circuit is open nearly all the time and its requests
# end as circuit_open without reaching it; EXTRA_CONF='breaker_failures =
# 10' puts it back). max_inflight and host_inflight are 64 (bench_start
# 1000 64), which the mix keeps busy. Then it runs $SOAK_CLIENTS (default
# 2) loops of each kind of client until SECONDS have passed:
#
#   good        wait batches of /ok and /bytes/N
#   slow        stream batches of /delay/200..2000
#   failing     wait and stream batches of /status/500, /status/503 and
#               /reset (retried once), /garbage, /hang and /delay/3000
#               with a short timeout_ms, a closed port and some /ok, on
#               the second upstream; every third one with a deadline_ms
#   async       async batches cancelled mid-way with DELETE, whose
#               results are then read with GET /v1/batches/ID/results:
#               one per request, "cancelled" for each one never started
#   disconnect  wait and stream batches of /delay/1000..3000 (origin
#               localhost, so that it has its own host counters) whose
#               client leaves mid-batch (curl --max-time, or kill -9):
#               counted as abandoned, not lost; a stream's batch must
#               be gone from /v1/batches/ID within 5 s
#
# Every $SOAK_SAMPLE_S (default 5) seconds the daemon's VmRSS, VmHWM,
# threads, open fds and CPU time (/proc) and /healthz figures go to
# bench/results/soak-STAMP.csv; the daemon's stderr (-l warn) goes to
# bench/results/soak-STAMP.log and the summary to soak-STAMP.txt.
#
# The summary gives, per kind, batches and requests submitted, results
# received, results lost (requests of batches whose client stayed
# connected minus the distinct results they got back), abandoned batches,
# error codes; RSS and fds at start, peak and end; /v1/stats checked
# against what the clients saw (batches per mode, attempts per origin,
# nothing left open); and fanoutd's exit status after SIGTERM.
#
# Exit status: 0 only if no result was lost or duplicated, no anomaly was
# seen, /v1/stats agrees and fanoutd exited 0 on SIGTERM; 1 otherwise.
# Needs bash (RANDOM, EPOCHREALTIME), curl and awk; not python3 or jq.
# $WRAP and $EXTRA_CONF as in bench/lib.sh. Not part of make check.
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh

secs=${1:-600}
nclients=${SOAK_CLIENTS:-2}
every=${SOAK_SAMPLE_S:-5}
case $secs$nclients$every in
*[!0-9]*) echo "usage: bench/soak.sh [SECONDS]" >&2; exit 2 ;;
esac
mkdir -p bench/results
stamp=$(date +%Y%m%d-%H%M%S)
csv=bench/results/soak-$stamp.csv
log=bench/results/soak-$stamp.log
txt=bench/results/soak-$stamp.txt

# Run copies of the binaries: $BUILD may be rebuilt during a long run.
src=${BUILD:-build}
snap=$(mktemp -d)
trap 'rm -rf "$snap"' EXIT
mkdir "$snap/src" "$snap/tests"
cp "$src/src/fanoutd" "$src/src/fanout" "$snap/src/" &&
    cp "$src/tests/upstream" "$snap/tests/" || exit 1
bdate=$(stat -c %y "$src/src/fanoutd" | cut -d. -f1)
binary="$src/src/fanoutd ($bdate, sha256 $(sha256sum "$snap/src/fanoutd" |
    cut -c1-12))"

EXTRA_CONF="result_ttl_s = 30\nbreaker_failures = 0${EXTRA_CONF:+\n$EXTRA_CONF}"
BUILD=$snap bench_start 1000 64 2>"$log"
sock=$tmp/sock
$b/tests/upstream -p 0 >"$tmp/port2" 2>>"$log" &
upid2=$!
while ! grep -q port "$tmp/port2" 2>/dev/null; do sleep 0.05; done
port2=$(sed -n 's/^port //p' "$tmp/port2")
A=http://127.0.0.1:$port	# good, slow, async
B=http://127.0.0.1:$port2	# failing
C=http://127.0.0.1:1		# failing: a closed port
D=http://localhost:$port	# disconnect
loops=
trap 'kill $loops $upid $upid2 $dpid 2>/dev/null; rm -rf "$tmp" "$snap"' EXIT
trap 'exit 130' INT TERM

# Count the results in a reply: a wait reply, a stream or /results NDJSON
# (the key "index" appears once per result, and never unescaped inside a
# string). Prints the batch's record for the summary:
#   B kind mode outcome requests distinct duplicates bad_index errors
#     not_started_but_not_cancelled summary_lines error_lines
# then "E kind code count" per error code and, unless the client left,
# "A origin attempts" per origin (summed "attempts" of the results).
# The client loops add "X kind what" lines for anomalies.
count_awk='
{
	if (index($0, "\"type\":\"summary\"")) summ++
	if (index($0, "\"type\":\"error\"")) errl++
	k = split($0, p, /"index":/)
	for (j = 2; j <= k; j++) {
		s = p[j]
		if (!match(s, /^[0-9]+/)) { bad++; continue }
		i = substr(s, 1, RLENGTH) + 0
		if (i >= n) { bad++; continue }
		if (seen[i]++) { dup++; continue }
		got++
		att = 0
		if (match(s, /"attempts":[0-9]+/))
			att = substr(s, RSTART + 11, RLENGTH - 11) + 0
		if (match(s, /"url":"https?:\/\/[^\/"]*/))
			O[substr(s, RSTART + 7, RLENGTH - 7)] += att
		code = ""
		if (match(s, /"error":[{]"code":"[a-z_]*"/)) {
			code = substr(s, RSTART + 17, RLENGTH - 18)
			errs++
			E[code]++
		}
		if (att == 0 && code != "cancelled")
			notrun++
	}
}
END {
	printf "B %s %s %s %d %d %d %d %d %d %d %d\n", kind, mode, oc, n,
	    got, dup, bad, errs, notrun, summ, errl
	for (c in E)
		printf "E %s %s %d\n", kind, c, E[c]
	if (oc != "abandoned")
		for (o in O)
			printf "A %s %d\n", o, O[o]
}'

# record KIND MODE OUTCOME N FILE: append the batch's record.
record() {
	awk -v kind="$1" -v mode="$2" -v oc="$3" -v n="$4" "$count_awk" \
	    "$5" >>"$rec"
}

# post BODY OUT [CURL_ARGS]: POST a batch; prints the HTTP status.
post() {
	: >"$2"
	curl -sS --unix-socket "$sock" -H 'Expect:' -o "$2" \
	    -w '%{http_code}' --data-binary @"$1" "${@:3}" \
	    http://localhost/v1/batches 2>>"$cerr"
}

# api METHOD PATH OUT: any other call; prints the HTTP status.
api() {
	: >"$3"
	curl -sS --unix-socket "$sock" -X "$1" -o "$3" -w '%{http_code}' \
	    --max-time 30 "http://localhost$2" 2>>"$cerr"
}

# outcome RC CODE WANT: ok if curl succeeded with status WANT.
outcome() {
	if [ "$1" -ne 0 ]; then echo lost
	elif [ "$2" != "$3" ]; then echo refused
	else echo ok
	fi
}

# add OBJECT: append a request object to $items.
add() { items+="${items:+,}$1"; }

good() {
	local n=$((10 + RANDOM % 191)) j rc code
	items=
	for ((j = 0; j < n; j++)); do
		if ((RANDOM % 2)); then add "{\"url\":\"$A/ok\"}"
		else add "{\"url\":\"$A/bytes/$((RANDOM % 32768))\"}"
		fi
	done
	printf '{"concurrency":32,"requests":[%s]}\n' "$items" >"$f"
	code=$(post "$f" "$out"); rc=$?
	record good wait "$(outcome $rc "$code" 200)" $n "$out"
}

slow() {
	local n=$((4 + RANDOM % 37)) j rc code pr=
	items=
	for ((j = 0; j < n; j++)); do
		add "{\"url\":\"$A/delay/$((200 + RANDOM % 1801))\"}"
	done
	((iter % 2)) && pr='"progress_ms":250,'
	printf '{"mode":"stream",%s"concurrency":16,"requests":[%s]}\n' \
	    "$pr" "$items" >"$f"
	code=$(post "$f" "$out" -N); rc=$?
	record slow stream "$(outcome $rc "$code" 200)" $n "$out"
	[ "$rc" -eq 0 ] && ! grep -q '"type":"summary"' "$out" &&
	    echo "X slow stream_without_summary" >>"$rec"
}

failing() {
	local n=$((5 + RANDOM % 46)) j rc code mode=wait extra=
	items=
	for ((j = 0; j < n; j++)); do
		case $((RANDOM % 8)) in
		0) add "{\"url\":\"$B/status/500\"}" ;;
		1) add "{\"url\":\"$B/status/503\",\"retries\":1}" ;;
		2) add "{\"url\":\"$B/reset\",\"retries\":1}" ;;
		3) add "{\"url\":\"$B/garbage\"}" ;;
		4) add "{\"url\":\"$B/hang\",\"timeout_ms\":$((200 +
		    RANDOM % 401))}" ;;
		5) add "{\"url\":\"$B/delay/3000\",\"timeout_ms\":300}" ;;
		6) add "{\"url\":\"$C/\"}" ;;
		7) add "{\"url\":\"$B/ok\"}" ;;
		esac
	done
	((iter % 2)) && mode=stream
	((iter % 3 == 0)) && extra="\"deadline_ms\":$((400 + RANDOM % 601)),"
	printf '{"mode":"%s",%s"concurrency":16,"defaults":{%s%s},' $mode \
	    "$extra" '"timeout_ms":2000,"connect_timeout_ms":500,' \
	    '"retry_base_ms":20' >"$f"
	printf '"requests":[%s]}\n' "$items" >>"$f"
	code=$(post "$f" "$out" -N); rc=$?
	record failing $mode "$(outcome $rc "$code" 200)" $n "$out"
	[ $mode = stream ] && [ "$rc" -eq 0 ] &&
	    ! grep -q '"type":"summary"' "$out" &&
	    echo "X failing stream_without_summary" >>"$rec"
}

async() {
	local n=$((20 + RANDOM % 181)) j rc code id state pd oc ms
	items=
	for ((j = 0; j < n; j++)); do
		if ((RANDOM % 4)); then
			add "{\"url\":\"$A/delay/$((100 + RANDOM % 901))\"}"
		else
			add "{\"url\":\"$A/ok\"}"
		fi
	done
	printf '{"mode":"async","concurrency":8,"requests":[%s]}\n' \
	    "$items" >"$f"
	code=$(post "$f" "$out"); rc=$?
	oc=$(outcome $rc "$code" 202)
	id=$(sed -n 's/.*"batch_id":"\([0-9a-f]*\)".*/\1/p' "$out")
	if [ "$oc" != ok ] || [ -z "$id" ]; then
		: >"$out"
		record async async "$oc" $n "$out"
		return
	fi
	# Cancel at once a quarter of the time (often still queued), else
	# after 0 to 1.5 s.
	ms=$((RANDOM % 1500))
	((RANDOM % 4)) && sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	code=$(api DELETE "/v1/batches/$id" "$out"); rc=$?
	state=$(sed -n 's/.*"state":"\([a-z]*\)".*/\1/p' "$out")
	pd=$(sed -n 's/.*"progress":{"total":\([0-9]*\),"done":\([0-9]*\).*/'\
'\1 \2/p' "$out")
	if [ "$rc" -ne 0 ] || [ "$code" != 200 ]; then
		echo "X async delete_failed($code)" >>"$rec"
	elif [ "$state" != cancelled ] && [ "$state" != done ]; then
		echo "X async delete_left_state_$state" >>"$rec"
	elif [ "$pd" != "$n $n" ]; then
		echo "X async delete_progress_not_done($pd)" >>"$rec"
	fi
	code=$(api GET "/v1/batches/$id/results?limit=100000" "$out"); rc=$?
	oc=$(outcome $rc "$code" 200)
	[ "$oc" = ok ] && oc=${state:-unknown}
	record async async "$oc" $n "$out"
}

disconnect() {
	local n=$((10 + RANDOM % 41)) j rc code pid mode=wait id t
	local cerr=/dev/null	# curl errors are expected here
	items=
	for ((j = 0; j < n; j++)); do
		add "{\"url\":\"$D/delay/$((1000 + RANDOM % 2001))\"}"
	done
	((iter % 2)) && mode=stream
	printf '{"mode":"%s","concurrency":16,"requests":[%s]}\n' \
	    $mode "$items" >"$f"
	t=0.$((2 + RANDOM % 8))
	: >"$out"
	if (((iter / 2) % 2)); then
		code=$(post "$f" "$out" -N --max-time "$t"); rc=$?
	else
		# curl itself, not a subshell running post(), must be killed
		curl -sS --unix-socket "$sock" -H 'Expect:' -o "$out" -N \
		    -w '%{http_code}' --data-binary @"$f" \
		    http://localhost/v1/batches >"$out.code" 2>/dev/null &
		pid=$!
		sleep "$t"
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null; rc=$?
		code=$(cat "$out.code")
	fi
	if [ "$rc" -eq 0 ]; then
		record disconnect $mode "$(outcome $rc "$code" 200)" $n "$out"
		return
	fi
	record disconnect $mode abandoned $n "$out"
	id=$(sed -n '1s/.*"batch_id":"\([0-9a-f]*\)".*/\1/p' "$out")
	[ -n "$id" ] || return
	# The daemon must notice the client left and end the batch at
	# once; the batch is then forgotten. Else note it (and how long it
	# stayed, up to 60 s) in the record and in $tmp/ghosts.
	for ((j = 0; j < 600; j++)); do
		code=$(api GET "/v1/batches/$id" "$out.st")
		[ $j = 50 ] && cp "$out.st" "$out.st5"
		[ "$code" = 404 ] && break
		[ "$code" = 000 ] && return	# the daemon is gone
		sleep 0.1
	done
	[ $j -lt 50 ] && return
	echo "X disconnect stream_batch_still_there_5s_after_client_left" \
	    >>"$rec"
	{
		echo "batch $id: client left after ${t}s by" \
		    "$([ $((iter / 2 % 2)) = 1 ] && echo --max-time ||
		    echo kill-9), curl rc $rc, $(grep -c '' "$out")" \
		    "lines received; still there after 5 s:"
		cat "$out.st5"
		echo "polls until 404: $j ($code)"
	} >>"$tmp/ghosts"
}

# client KIND ID: run batches of KIND until $tmp/stop appears.
client() {
	kind=$1
	rec=$tmp/rec.$1.$2 cerr=$tmp/curlerr.$1.$2
	f=$tmp/body.$1.$2 out=$tmp/out.$1.$2
	RANDOM=$(($2 * 7919 + ${#1} * 104729 + $$))
	iter=0
	: >"$rec"
	while [ ! -e "$tmp/stop" ]; do
		iter=$((iter + 1))
		$kind
	done
}

now_us() { local t=$EPOCHREALTIME; echo $((${t/./})); }
alive() { [ -r "/proc/$dpid/status" ] &&
    ! grep -q '^State:.*Z' "/proc/$dpid/status"; }

# sample: one CSV line of the daemon's figures.
sample() {
	local el st fds h cpu
	el=$(awk -v a="$t0" -v b="$(now_us)" 'BEGIN {
	    printf "%.1f", (b - a) / 1e6 }')
	st=$(awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 }
	    /^Threads/ { t = $2 } END { print r "," h "," t }' \
	    "/proc/$dpid/status" 2>/dev/null)
	fds=$(ls "/proc/$dpid/fd" 2>/dev/null | wc -l)
	cpu=$(awk -v hz="$hz" '{ printf "%.2f", ($14 + $15) / hz }' \
	    "/proc/$dpid/stat" 2>/dev/null)
	h=$(curl -s --max-time 2 --unix-socket "$sock" \
	    http://localhost/healthz | awk '{
	    split("inflight queued batches", k, " ")
	    for (i = 1; i <= 3; i++) {
		v = ""
		if (match($0, "\"" k[i] "\":[0-9]+"))
			v = substr($0, RSTART + length(k[i]) + 3,
			    RLENGTH - length(k[i]) - 3)
		printf "%s%s", (i > 1 ? "," : ""), v
	    } }')
	echo "$el,$st,$fds,$cpu,${h:-,,},$(cat "$tmp"/rec.* 2>/dev/null |
	    grep -c '^B ')" >>"$csv"
}

hz=$(getconf CLK_TCK)
echo "elapsed_s,rss_kb,hwm_kb,threads,fds,cpu_s,inflight,queued,"\
"open_batches,batches_finished" >"$csv"
t0=$(now_us)
sample
for kind in good slow failing async disconnect; do
	for ((k = 1; k <= nclients; k++)); do
		client $kind $k &
		loops="$loops $!"
	done
done
echo "soak: $secs s, $nclients clients per kind, fanoutd pid $dpid;" \
    "samples in $csv, daemon log in $log"

crashed=0
next=$every
end=$((t0 + secs * 1000000))
while [ "$(now_us)" -lt $end ]; do
	if ! alive; then crashed=1; break; fi
	if [ $(($(now_us) - t0)) -ge $((next * 1000000)) ]; then
		sample
		next=$((next + every))
	fi
	sleep 0.5
done
t1=$(now_us)
touch "$tmp/stop"
# Let the loops finish the batch they are on (60 s at most).
for ((k = 0; k < 600; k++)); do
	left=0
	for p in $loops; do kill -0 $p 2>/dev/null && left=1; done
	[ $left = 0 ] && break
	sleep 0.1
done
[ $left = 1 ] && echo "soak: client loops did not stop in 60 s" >&2
kill $loops 2>/dev/null
wait $loops 2>/dev/null
alive || crashed=1
sleep 1
if [ $crashed = 0 ]; then
	sample
	curl -s --max-time 10 --unix-socket "$sock" http://localhost/v1/stats \
	    >"$tmp/stats.json"
	curl -s --max-time 10 --unix-socket "$sock" \
	    http://localhost/v1/batches >"$tmp/batches.json"
	t2=$(now_us)
	kill -TERM $dpid
	while alive && [ $(($(now_us) - t2)) -lt 40000000 ]; do sleep 0.1; done
	alive && { echo "soak: fanoutd still runs 40 s after SIGTERM" >&2
	    kill -KILL $dpid; }
	stop_s=$(awk -v a="$t2" -v b="$(now_us)" 'BEGIN {
	    printf "%.2f", (b - a) / 1e6 }')
else
	: >"$tmp/stats.json"
	: >"$tmp/batches.json"
	stop_s=-
fi
wait $dpid
drc=$?
kill $upid $upid2 2>/dev/null
wait $upid $upid2 2>/dev/null
loops=

cat "$tmp"/rec.* >"$tmp/all"
{
	echo "== fanoutd soak $stamp: $binary; $nclients clients per kind"
	awk -v secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN {
	    printf "%.1f", (b - a) / 1e6 }')" -v crashed=$crashed \
	    -v drc=$drc -v stop_s="$stop_s" -v csv="$csv" \
	    -v A="$A" -v B="$B" -v C="$C" -v D="$D" '
	function num(s, key,   m) {
		if (!match(s, "\"" key "\":[0-9]+"))
			return -1
		m = substr(s, RSTART, RLENGTH)
		sub(/.*:/, "", m)
		return m + 0
	}
	FILENAME == csv {
		if (FNR == 1) next
		split($0, v, ",")
		ns++
		if (ns == 1) { r0 = v[2]; f0 = v[5] }
		r1 = v[2]; f1 = v[5]; cpu = v[6]
		if (v[2] > rmax) rmax = v[2]
		if (v[5] > fmax) fmax = v[5]
		if (v[3] > hwm) hwm = v[3]
		next
	}
	FILENAME ~ /stats.json$/ { stats = stats $0; next }
	FILENAME ~ /batches.json$/ { blist = blist $0; next }
	$1 == "B" {
		k = $2; K[k] = 1; M[k "," $3] = 1
		bat[k]++; req[k] += $5
		if ($4 == "abandoned") {
			ab[k]++; abreq[k] += $5; partial[k] += $6
			acc[$3]++
			next
		}
		if ($4 == "refused") refused[k]++
		else acc[$3]++
		if ($4 == "lost") curlfail[k]++
		if ($4 == "cancelled") canc[k]++
		if ($4 == "done") adone[k]++
		conreq[k] += $5; got[k] += $6
		lost[k] += $5 - $6; dup[k] += $7 + $8
		if (k == "async") notrun += $10
		next
	}
	$1 == "E" { EC[$2 "," $3] += $4; next }
	$1 == "A" { att[$2] += $3; next }
	$1 == "X" { X[$2 " " $3]++; nx++; next }
	END {
		fail = 0
		printf "duration %s s%s\n", secs, crashed ? \
		    "  ** fanoutd DIED during the run **" : ""
		printf "%-10s %-11s %7s %8s %8s %5s %4s %12s\n", "kind",
		    "mode", "batches", "requests", "results", "lost", "dup",
		    "abandoned"
		split("good slow failing async disconnect", order, " ")
		for (i = 1; i <= 5; i++) {
			k = order[i]
			if (!(k in K)) continue
			md = ""
			split("wait stream async", mm, " ")
			for (j = 1; j <= 3; j++)
				if ((k "," mm[j]) in M)
					md = md (md == "" ? "" : "+") mm[j]
			printf "%-10s %-11s %7d %8d %8d %5d %4d %5d/%-6d\n",
			    k, md, bat[k], req[k], got[k], lost[k], dup[k],
			    ab[k], abreq[k]
			tb += bat[k]; tr += req[k]; tg += got[k]
			tl += lost[k]; td += dup[k]; tab += abreq[k]
		}
		printf "%-10s %-11s %7d %8d %8d %5d %4d %12d\n", "total", "",
		    tb, tr, tg, tl, td, tab
		for (i = 1; i <= 5; i++) {
			k = order[i]
			if (refused[k]) printf "  %s: %d batches refused " \
			    "(non-2xx)\n", k, refused[k]
			if (curlfail[k]) printf "  %s: %d batches whose " \
			    "connection failed (curl error)\n", k, curlfail[k]
			line = ""
			for (x in EC)
				if (index(x, k ",") == 1)
					line = line sprintf(", %s %d",
					    substr(x, length(k) + 2), EC[x])
			if (line != "")
				printf "  %s errors:%s\n", k, substr(line, 2)
		}
		printf "  async: %d cancelled by DELETE (%d results " \
		    "\"cancelled\"), %d had finished before it; results " \
		    "never started and not \"cancelled\": %d\n",
		    canc["async"], EC["async,cancelled"], adone["async"], notrun
		printf "  disconnect: %d batches abandoned, %d of their " \
		    "results arrived before the client left\n",
		    ab["disconnect"], partial["disconnect"]
		printf "results lost: %d, duplicated or bad index: %d\n",
		    tl, td
		if (tl != 0 || td != 0 || notrun != 0) fail = 1
		for (x in X)
			printf "  ANOMALY %s: %d\n", x, X[x]
		if (nx) fail = 1
		printf "RSS kB: start %d  peak %d (VmHWM %d)  end %d\n",
		    r0, rmax, hwm, r1
		printf "fds: start %d  max %d  end %d   (%d samples)\n",
		    f0, fmax, f1, ns
		printf "daemon CPU: %s s\n", cpu
		if (stats == "") {
			print "/v1/stats: not read (daemon gone)"
			fail = 1
		} else {
			split("wait stream async", mm, " ")
			line = "/v1/stats batches (done+cancelled vs " \
			    "accepted):"
			for (j = 1; j <= 3; j++) {
				m = mm[j]
				s = stats
				if (!match(s, "\"" m "\":[{][^}]*[}]")) {
					line = line " " m " ?"; fail = 1
					continue
				}
				s = substr(s, RSTART, RLENGTH)
				d = num(s, "done"); c = num(s, "cancelled")
				line = line sprintf(" %s %d+%d", m, d, c)
				if (d + c != acc[m] + 0) {
					line = line sprintf("!=%d", acc[m])
					fail = 1
				} else
					line = line " ok"
				line = line ","
			}
			print line
			o = num(stats, "open"); fi = num(stats, "inflight")
			q = num(stats, "queued")
			printf "/v1/stats at the end: open %d, inflight %d, " \
			    "queued %d, retained_result_bytes %d, " \
			    "resident %d kB, open_fds %d\n", o, fi, q,
			    num(stats, "retained_result_bytes"),
			    num(stats, "resident_bytes") / 1024,
			    num(stats, "open_fds")
			if (o != 0 || fi != 0 || q != 0) fail = 1
			n = split(stats, h, /[{]"host":"/)
			for (j = 2; j <= n; j++) {
				o = substr(h[j], 1, index(h[j], "\"") - 1)
				datt[o] = num(h[j], "attempts")
			}
			split(A " " B " " C, oo, " ")
			line = "/v1/stats attempts per origin (daemon vs " \
			    "summed from results):"
			for (j = 1; j <= 3; j++) {
				o = oo[j]
				line = line sprintf(" %s %d/%d", o, datt[o],
				    att[o])
				if (datt[o] != att[o] + 0) {
					line = line " MISMATCH"; fail = 1
				}
				line = line ","
			}
			print line
			printf "  %s (disconnect clients): %d attempts\n", D,
			    datt[D]
			n = split(blist, h, /"mode":"/)
			for (j = 2; j <= n; j++) {
				lm[substr(h[j], 1, index(h[j], "\"") - 1)]++
				if (h[j - 1] ~ /"state":"(queued|running)",$/)
					lrun++
			}
			printf "/v1/batches at the end: %d async (results " \
			    "kept for result_ttl_s), %d wait, %d stream, " \
			    "%d still running\n", lm["async"], lm["wait"],
			    lm["stream"], lrun
			if (lm["wait"] || lm["stream"] || lrun) fail = 1
		}
		if (crashed)
			printf "fanoutd died during the run: wait status " \
			    "%d%s\n", drc, (drc > 128 ? sprintf(" (signal %d)",
			    drc - 128) : "")
		else
			printf "fanoutd after SIGTERM: exit status %d (in %s" \
			    " s)\n", drc, stop_s
		if (drc != 0 || crashed) fail = 1
		print fail ? "RESULT: FAIL" : "RESULT: PASS"
		exit fail
	}' "$csv" "$tmp/stats.json" "$tmp/batches.json" "$tmp/all"
	echo "rc=$?" >"$tmp/verdict"
	nw=$(grep -c '' "$log")
	echo "daemon log: $nw lines ($log)"
	[ "$nw" -gt 0 ] && sed 's/^/  /' "$log" | sort | uniq -c |
	    sort -rn | head -15
	if [ -s "$tmp/ghosts" ]; then
		echo "stream batches still there 5 s after their client left:"
		sed 's/^/  /' "$tmp/ghosts"
	fi
	nc=$(cat "$tmp"/curlerr.* 2>/dev/null | grep -c '')
	if [ "$nc" -gt 0 ]; then
		echo "curl errors from clients that stayed connected: $nc"
		cat "$tmp"/curlerr.* | sort | uniq -c | sort -rn | head -5
	fi
	echo "samples: $csv"
} | tee "$txt"
. "$tmp/verdict"
exit $rc
