#!/bin/sh
# bench/fleet.sh: fleet limits on Redis, measured. DAEMONS fanoutd daemons
# (3) share one redis-server (its own, on a Unix socket in a temporary
# directory) and send to one nginx (its own, on a free port) and, for the
# in-flight part, to tests/upstream:
#
#   accuracy  fleet_rate = R/s (burst 1) for R in RATES (100 6000): each
#             daemon gets a batch of R x SECS / DAEMONS GETs at once; the
#             fleet's achieved rate is read from nginx's access log
#             ($msec of each request): (n - 1) / (last - first), against
#             R. Redis calls per request: EVALSHA + EVAL calls counted by
#             Redis (INFO commandstats, reset before each run) over the
#             requests sent. At 6000/s each daemon sends 2,000/s.
#   inflight  fleet_inflight = 20: each daemon gets INF_N GETs of
#             tests/upstream's /delay/10 at once; the upstream's highest
#             count in flight (at most 20), the time against the floor
#             (all requests x 10 ms / 20), Redis calls per request.
#   cost      N GETs of /tiny at concurrency C on each daemon at once,
#             without fleet limits and with fleet_rate = 1000000/s and
#             burst 1000 (never the limit: what asking Redis costs), REPS
#             alternating runs each; medians of the fleet's req/s.
#
# Writes bench/results/fleet-STAMP.md and prints it. Environment: BUILD
# (build), DAEMONS (3), RATES (100 6000), SECS (10), INF_N (1000), N
# (20000), C (64), REPS (3). Needs nginx, redis-server and curl (bench/run
# or quickstart install them). Nothing here asserts a time.
set -eu
cd "$(dirname "$0")/.."
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

B=${BUILD:-build}
DAEMONS=${DAEMONS:-3}
RATES=${RATES:-100 6000}
SECS=${SECS:-10}
INF_N=${INF_N:-1000}
N=${N:-20000}
C=${C:-64}
REPS=${REPS:-3}
PY=${PYTHON:-python3}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

say() { printf '==> %s\n' "$*" >&2; }

for t in "$B/src/fanoutd" "$B/tests/upstream"; do
	[ -x "$t" ] || { echo "bench/fleet.sh: no $t (./quickstart.sh)" >&2; exit 1; }
done
command -v redis-server >/dev/null || { echo "bench/fleet.sh: needs redis-server" >&2; exit 1; }
[ -x "$NGINX" ] || { echo "bench/fleet.sh: needs nginx (nginx-light)" >&2; exit 1; }

tmp=$(mktemp -d)
chmod 755 "$tmp"	# nginx's worker (www-data) reads www/ under it
rpid='' npid='' upid='' dpids=''
cleanup() {
	# shellcheck disable=SC2086
	kill $dpids $upid $npid $rpid 2>/dev/null || true
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

rcli() { redis-cli -s "$tmp/r.sock" "$@"; }

# Redis, nginx (with an access log of arrival times under /log/) and the
# test upstream.
start_services() {
	redis-server --port 0 --unixsocket "$tmp/r.sock" --save '' \
	    --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
	rpid=$!
	mkdir -p "$tmp/www/log" "$tmp/ntemp"
	printf 'hello, bench\n' >"$tmp/www/tiny"
	cp "$tmp/www/tiny" "$tmp/www/log/tiny"
	nport=$($PY -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 16384; }
http {
	access_log off;
	log_format t '\$msec';
	keepalive_requests 1000000;
	keepalive_timeout 120s;
	client_body_temp_path $tmp/ntemp/b;
	proxy_temp_path $tmp/ntemp/p;
	fastcgi_temp_path $tmp/ntemp/f;
	uwsgi_temp_path $tmp/ntemp/u;
	scgi_temp_path $tmp/ntemp/s;
	server {
		listen 127.0.0.1:$nport reuseport;
		root $tmp/www;
		location /log/ { access_log $tmp/arrivals.log t; }
	}
}
EOF
	"$NGINX" -p "$tmp" -c "$tmp/nginx.conf" -g 'daemon off;' \
	    2>>"$tmp/nginx-error.log" &
	npid=$!
	"$B/tests/upstream" -p 0 >"$tmp/uport" &
	upid=$!
	for _ in $(seq 100); do
		rcli ping >/dev/null 2>&1 &&
		    curl -sf -o /dev/null "http://127.0.0.1:$nport/tiny" &&
		    grep -q port "$tmp/uport" && break
		sleep 0.1
	done
	rcli ping >/dev/null
	curl -sf -o /dev/null "http://127.0.0.1:$nport/tiny"
	uport=$(sed -n 's/^port //p' "$tmp/uport")
}

# start_fleet HOSTLINES: DAEMONS daemons with these [host 127.0.0.1]
# lines (none: no section), once all see each other.
start_fleet() {
	stop_fleet
	i=0
	while [ $i -lt "$DAEMONS" ]; do
		{
			printf '[fanoutd]\nredis = unix:%s\n' "$tmp/r.sock"
			printf 'max_inflight = %s\nhost_inflight = %s\n' 256 256
			printf 'max_batch_requests = 1000000\n'
			printf 'max_queued_requests = 1000000\n'
			printf 'max_request_bytes = 1G\n'
			if [ -n "$1" ]; then
				printf '[host 127.0.0.1]\n%b\n' "$1"
			fi
		} >"$tmp/d$i.conf"
		rm -f "$tmp/d$i.sock"
		"$B/src/fanoutd" -c "$tmp/d$i.conf" -s "$tmp/d$i.sock" \
		    -l warn 2>>"$tmp/fanoutd.log" &
		dpids="$dpids $!"
		i=$((i + 1))
	done
	i=0
	while [ $i -lt "$DAEMONS" ]; do
		for _ in $(seq 100); do
			p=$(curl -s --unix-socket "$tmp/d$i.sock" \
			    http://x/v1/stats 2>/dev/null | $PY -c '
import json, sys
try:
    print(json.load(sys.stdin)["fleet"]["peers"])
except Exception:
    print(0)')
			[ "$p" = "$DAEMONS" ] && break
			sleep 0.1
		done
		[ "$p" = "$DAEMONS" ] || { echo "daemon $i: peers $p" >&2; exit 1; }
		i=$((i + 1))
	done
}

stop_fleet() {
	# shellcheck disable=SC2086
	[ -z "$dpids" ] || { kill $dpids 2>/dev/null || true; wait $dpids 2>/dev/null || true; }
	dpids=
}

# batch FILE URL N C: N GETs of URL at concurrency C.
batch() {
	awk -v n="$3" -v c="$4" -v u="$2" 'BEGIN {
		printf "{\"concurrency\":%d,\"requests\":[", c
		for (i = 0; i < n; i++)
			printf "%s{\"url\":\"%s\"}", i ? "," : "", u
		print "]}"
	}' >"$1"
}

# fire FILE: the batch to every daemon at once; prints the wall seconds;
# fails unless every daemon returned every result with a 200.
fire() {
	t0=$(date +%s%N)
	i=0 cur=''
	while [ $i -lt "$DAEMONS" ]; do
		curl -s --unix-socket "$tmp/d$i.sock" -XPOST \
		    -H 'Content-Type: application/json' \
		    --data-binary @"$1" -o "$tmp/out$i.json" \
		    http://x/v1/batches &
		cur="$cur $!"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	wait $cur
	t1=$(date +%s%N)
	i=0
	while [ $i -lt "$DAEMONS" ]; do
		$PY - "$tmp/out$i.json" "$1" <<'EOF'
import json, sys
out = json.load(open(sys.argv[1]))
want = len(json.load(open(sys.argv[2]))["requests"])
rs = out["results"]
bad = [r for r in rs if r.get("status") != 200]
if len(rs) != want or bad:
    sys.exit("%s: %d results of %d, %d not 200: %s" % (sys.argv[1],
        len(rs), want, len(bad), bad[:1]))
EOF
		i=$((i + 1))
	done
	echo $(((t1 - t0) / 1000000))
}

# Redis EVALSHA + EVAL calls since the last reset.
evals() {
	rcli info commandstats | tr -d '\r' | $PY -c '
import re, sys
n = 0
for line in sys.stdin:
    m = re.match(r"cmdstat_(evalsha|eval):calls=(\d+)", line)
    if m:
        n += int(m.group(2))
print(n)'
}

start_services
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p bench/results
rep=bench/results/fleet-$stamp.md
{
	echo "# Fleet limits on Redis: $DAEMONS daemons, one Redis, one nginx"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
	    "$(redis-server --version | sed 's/ sha=.*//')," \
	    "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')."
	echo "Command: \`DAEMONS=$DAEMONS RATES=\"$RATES\" SECS=$SECS" \
	    "INF_N=$INF_N N=$N C=$C REPS=$REPS bench/fleet.sh\`"
	echo
	echo "## Accuracy: fleet_rate, burst 1, all daemons sending at once"
	echo
	echo "| fleet_rate | per daemon | requests | achieved | accuracy | Redis calls / request |"
	echo "|--:|--:|--:|--:|--:|--:|"
} >"$rep"

for r in $RATES; do
	say "accuracy at $r/s"
	start_fleet "fleet_rate = $r/s\nfleet_burst = 1"
	per=$((r * SECS / DAEMONS))
	batch "$tmp/b.json" "http://127.0.0.1:$nport/log/tiny" "$per" 256
	: >"$tmp/arrivals.log"
	rcli config resetstat >/dev/null
	fire "$tmp/b.json" >/dev/null
	calls=$(evals)
	# nginx writes each line as the request ends: wait for all of them
	total=$((per * DAEMONS))
	for _ in $(seq 50); do
		[ "$(wc -l <"$tmp/arrivals.log")" -ge $total ] && break
		sleep 0.1
	done
	$PY - "$tmp/arrivals.log" "$r" "$calls" "$DAEMONS" <<'EOF' >>"$rep"
import sys
t = sorted(float(x) for x in open(sys.argv[1]) if x.strip())
rate, calls, d = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
got = (len(t) - 1) / (t[-1] - t[0])
print("| %g/s | %.4g/s | %d | %.1f/s | %.1f%% | %.4f |" % (rate, rate / d,
    len(t), got, 100 * got / rate, calls / len(t)))
EOF
done

say "in flight"
start_fleet "fleet_inflight = 20"
batch "$tmp/b.json" "http://127.0.0.1:$uport/delay/10" "$INF_N" 256
curl -s "http://127.0.0.1:$uport/stats/reset" >/dev/null
rcli config resetstat >/dev/null
ms=$(fire "$tmp/b.json")
calls=$(evals)
max=$(curl -s "http://127.0.0.1:$uport/stats" | $PY -c \
    'import json, sys; print(json.load(sys.stdin)["max_inflight"])')
total=$((INF_N * DAEMONS))
{
	echo
	echo "## In flight: fleet_inflight = 20, /delay/10, all daemons at once"
	echo
	echo "| requests | upstream's most in flight | time | floor (n x 10 ms / 20) | Redis calls / request |"
	echo "|--:|--:|--:|--:|--:|"
	$PY -c "print('| %d | %s | %.2f s | %.2f s | %.4f |' % ($total, '$max',
	    $ms / 1000, $total * 0.010 / 20, $calls / $total))"
} >>"$rep"

say "cost: $REPS x (none, fleet_rate 1000000/s)"
batch "$tmp/b.json" "http://127.0.0.1:$nport/tiny" "$N" "$C"
: >"$tmp/cost"
k=0
while [ $k -lt "$REPS" ]; do
	for kind in none fleet; do
		if [ $kind = none ]; then
			start_fleet ""
		else
			start_fleet "fleet_rate = 1000000/s\nfleet_burst = 1000"
		fi
		rcli config resetstat >/dev/null
		ms=$(fire "$tmp/b.json")
		echo "$kind $ms $(evals)" >>"$tmp/cost"
	done
	k=$((k + 1))
done
stop_fleet
$PY - "$tmp/cost" "$N" "$DAEMONS" "$C" <<'EOF' >>"$rep"
import statistics, sys
n, d, c = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
runs = {"none": [], "fleet": []}
calls = []
for line in open(sys.argv[1]):
    kind, ms, ev = line.split()
    runs[kind].append(n * d / (int(ms) / 1000))
    if kind == "fleet":
        calls.append(int(ev) / (n * d))
med = {k: statistics.median(v) for k, v in runs.items()}
print()
print("## Cost: %d x /tiny at C=%d on each daemon at once, %d runs each"
    % (n, c, len(runs["none"])))
print()
print("| | fleet req/s (median) | runs | Redis calls / request |")
print("|---|--:|---|--:|")
print("| no fleet limits | %.0f | %s | 0 |" % (med["none"],
    ", ".join("%.0f" % x for x in runs["none"])))
print("| fleet_rate = 1000000/s | %.0f | %s | %.4f |" % (med["fleet"],
    ", ".join("%.0f" % x for x in runs["fleet"]),
    statistics.median(calls)))
print()
print("Ratio fleet / none: %.3f" % (med["fleet"] / med["none"]))
EOF
if [ -s "$tmp/fanoutd.log" ]; then
	cp "$tmp/fanoutd.log" "bench/results/fleet-$stamp-fanoutd.log"
fi
cat "$rep"
