#!/bin/sh
# bench/https.sh: N GETs at concurrency C over HTTPS (TLS 1.3, keep-alive)
# to one local nginx that speaks HTTP/2 and HTTP/1.1, by
#
#   fanoutd-h2   a wait batch through the fanout CLI, HTTP/2 by ALPN (the
#                default), the CA trusted through its [host] ca_file
#   fanoutd-h1   the same batch with "http_version": "1.1"
#   curl-h2      curl -Z --http2 --parallel-max C: one curl process
#                multiplexing its transfers, the reference
#   aiohttp      ClientSession, TCPConnector(limit=C), gather (HTTP/1.1)
#
#   bench/https.sh [--quick]
#
# Peers take turns within each of REPS repetitions (the order rotates);
# the table shows the median wall time of each, req/s, the client's and
# (for fanoutd) the daemon's CPU seconds, and the ratio of fanoutd-h2's
# req/s to each peer's. A run counts only when all N requests got a 200.
# bench/run calls this at the end of a full run and adds the table to
# its report; alone it prints the table (markdown) on stdout.
#
# Needs nginx-light, openssl, curl, python3-aiohttp and /usr/bin/time
# (bench/run installs them) and a build in $BUILD (build). Environment:
# N (10000), C (64), REPS (3); --quick: N=2000, REPS=1. Nothing here
# asserts a time: numbers on shared machines are noisy.
set -eu
cd "$(dirname "$0")/.."
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
if [ "${1:-}" = --quick ]; then
	N=${N:-2000} REPS=${REPS:-1}
else
	N=${N:-10000} REPS=${REPS:-3}
fi
C=${C:-64}
B=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
for t in nginx openssl curl /usr/bin/time; do
	command -v "$t" >/dev/null 2>&1 || [ -x "$t" ] ||
	    { echo "bench/https.sh: $t is missing" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d)
ngpid= dpid=
trap 'kill $ngpid $dpid 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
mkdir -p "$tmp/www" "$tmp/temp" "$tmp/certs"
chmod 755 "$tmp" "$tmp/www"	# nginx's worker runs as nobody
printf 'hello, world\n' >"$tmp/www/tiny"
chmod 644 "$tmp/www/tiny"
sh tests/integration/mkcerts.sh "$tmp/certs"
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# nginx: one worker, TLS 1.3, h2 and 1.1 on one port, no connection limits.
cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 1000000;
	keepalive_timeout 120s;
	http2_max_concurrent_streams 256;
	client_body_temp_path $tmp/temp/body;
	proxy_temp_path $tmp/temp/proxy;
	fastcgi_temp_path $tmp/temp/fastcgi;
	uwsgi_temp_path $tmp/temp/uwsgi;
	scgi_temp_path $tmp/temp/scgi;
	server {
		listen 127.0.0.1:$port ssl http2;
		ssl_certificate $tmp/certs/server.pem;
		ssl_certificate_key $tmp/certs/server.key;
		ssl_protocols TLSv1.3;
		root $tmp/www;
	}
}
EOF
"$NGINX" -p "$tmp" -e "$tmp/error.log" -c "$tmp/nginx.conf" -g 'daemon off;' &
ngpid=$!
url="https://127.0.0.1:$port/tiny"
i=0
until curl -sf --cacert "$tmp/certs/ca.pem" -o /dev/null "$url"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$tmp/error.log" >&2; exit 1; }
	sleep 0.05
done

# fanoutd, trusting the CA for this host only.
cat >"$tmp/fanoutd.conf" <<EOF
[fanoutd]
max_inflight = $C
host_inflight = $C
max_batch_requests = $N
max_request_bytes = 1G

[host 127.0.0.1:$port]
ca_file = $tmp/certs/ca.pem
EOF
"$B/src/fanoutd" -c "$tmp/fanoutd.conf" -s "$tmp/sock" -l warn \
    2>"$tmp/fanoutd.log" &
dpid=$!
until "$B/src/fanout" -s "$tmp/sock" health >/dev/null 2>&1; do sleep 0.05; done

for v in auto 1.1; do
	awk -v n="$N" -v c="$C" -v u="$url" -v v="$v" 'BEGIN {
		printf "{\"concurrency\":%d,\"defaults\":{\"http_version\":" \
		    "\"%s\",\"response_body\":\"auto\"},\"requests\":[", c, v
		for (i = 0; i < n; i++)
			printf "%s{\"url\":\"%s\"}", i ? "," : "", u
		print "]}"
	}' >"$tmp/batch-$v.json"
done
awk -v n="$N" -v u="$url" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "url = \"%s\"\noutput = \"/dev/null\"\n", u
}' >"$tmp/curl.cfg"
cat >"$tmp/aio.py" <<'EOF'
import asyncio, ssl, sys
import aiohttp

async def main(url, n, c, ca):
    ctx = ssl.create_default_context(cafile=ca)
    ok = 0
    conn = aiohttp.TCPConnector(limit=c, ssl=ctx)
    async with aiohttp.ClientSession(connector=conn) as s:
        async def one():
            nonlocal ok
            async with s.get(url) as r:
                await r.read()
                ok += r.status == 200
        await asyncio.gather(*(one() for _ in range(n)))
    print(ok)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
EOF

# ticks PID: utime + stime of the process, in clock ticks.
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# run PEER: one run; prints "PEER ok wall_s client_cpu_s daemon_cpu_s".
run() {
	d0=$(ticks "$dpid")
	t0=$(date +%s.%N)
	case $1 in
	fanoutd-h2|fanoutd-h1)
		f=$tmp/batch-auto.json
		[ "$1" = fanoutd-h1 ] && f=$tmp/batch-1.1.json
		/usr/bin/time -f '%U %S' -o "$tmp/time" "$B/src/fanout" \
		    -s "$tmp/sock" submit "$f" >"$tmp/out"
		# the summary's 2xx count (the reply is one JSON line)
		ok=$(grep -o '"2xx":[0-9]*' "$tmp/out" | head -n 1 | cut -d: -f2)
		ok=${ok:-0} ;;
	curl-h2)
		/usr/bin/time -f '%U %S' -o "$tmp/time" curl -sS -Z --http2 \
		    --parallel-max "$C" --cacert "$tmp/certs/ca.pem" \
		    -K "$tmp/curl.cfg" -w '%{http_code}\n' >"$tmp/out"
		ok=$(grep -c '^200$' "$tmp/out" || true) ;;
	aiohttp)
		/usr/bin/time -f '%U %S' -o "$tmp/time" "$PY" "$tmp/aio.py" \
		    "$url" "$N" "$C" "$tmp/certs/ca.pem" >"$tmp/out"
		ok=$(cat "$tmp/out") ;;
	esac
	t1=$(date +%s.%N)
	d1=$(ticks "$dpid")
	set -- "$1" $(tail -n 1 "$tmp/time")
	awk -v p="$1" -v ok="$ok" -v t0="$t0" -v t1="$t1" -v u="$2" \
	    -v s="$3" -v d="$((d1 - d0))" -v hz="$hz" -v f="${1%%-*}" \
	    'BEGIN { printf "%s %d %.3f %.2f %.2f\n", p, ok, t1 - t0, u + s,
	    f == "fanoutd" ? d / hz : 0 }'
}

peers="fanoutd-h2 fanoutd-h1 curl-h2"
"$PY" -c 'import aiohttp' 2>/dev/null && peers="$peers aiohttp"
: >"$tmp/rows"
r=0
while [ $r -lt "$REPS" ]; do
	# rotate the order by one each repetition
	set -- $peers
	k=0
	while [ $k -lt $((r % $#)) ]; do
		p=$1; shift; set -- "$@" "$p"; k=$((k + 1))
	done
	for p in "$@"; do
		run "$p" >>"$tmp/rows"
	done
	r=$((r + 1))
done

echo "### HTTPS: $N GETs of a 13-byte file at C=$C (TLS 1.3, nginx $("$NGINX" -v 2>&1 | sed 's,.*/,,'), $(curl -V | head -n 1 | cut -d' ' -f1-2))"
echo
echo "| peer | good runs | wall s (median) | req/s | client CPU s | daemon CPU s | fanoutd-h2 req/s ÷ peer's |"
echo "|---|---|---|---|---|---|---|"
"$PY" - "$tmp/rows" "$N" "$REPS" <<'EOF'
import statistics, sys
rows, n, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = {}
order = []
for line in open(rows):
    p, ok, wall, cpu, dcpu = line.split()
    if p not in runs:
        runs[p] = []
        order.append(p)
    if int(ok) == n:
        runs[p].append((float(wall), float(cpu), float(dcpu)))
def med(p, i):
    return statistics.median(r[i] for r in runs[p]) if runs[p] else None
ref = med("fanoutd-h2", 0)
for p in order:
    w = med(p, 0)
    if w is None:
        print(f"| {p} | 0/{reps} | failed | | | | |")
        continue
    ratio = f"{w / ref:.2f}x" if ref else "-"
    d = med(p, 2)
    print(f"| {p} | {len(runs[p])}/{reps} | {w:.3f} | {n / w:,.0f} | "
          f"{med(p, 1):.2f} | {d:.2f} | {ratio} |" if p.startswith("fanoutd")
          else f"| {p} | {len(runs[p])}/{reps} | {w:.3f} | {n / w:,.0f} | "
          f"{med(p, 1):.2f} | | {ratio} |")
EOF
