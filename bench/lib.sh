# bench/lib.sh: what the bench/ scripts share (sourced, not run).
#
# bench_start N C [MODE]: start the test upstream and fanoutd from build
# directory $BUILD (default build) with max_inflight and host_inflight C
# and room for N requests, and write a batch of N GETs of $BENCH_PATH
# (default /ok) with concurrency C (and "mode": MODE if given) to
# $tmp/batch.json. Sets tmp, port, upid, dpid; cleans up on exit.
# $WRAP prefixes the daemon's command (valgrind, perf), $EXTRA_CONF adds
# config lines.

bench_start() {
	n=$1
	c=$2
	mode=${3:-}
	b=${BUILD:-build}
	tmp=$(mktemp -d)
	upid= dpid=
	trap 'kill $upid $dpid 2>/dev/null || true; rm -rf "$tmp"' EXIT
	$b/tests/upstream -p 0 >"$tmp/port" &
	upid=$!
	while ! grep -q port "$tmp/port" 2>/dev/null; do sleep 0.05; done
	port=$(sed -n 's/^port //p' "$tmp/port")
	# host_inflight = C so the per-host default (8) does not cap the
	# run; builds from before the scheduler do not know the key.
	printf '[fanoutd]\nmax_inflight = %s\nmax_batch_requests = %s\n' \
	    "$c" "$n" >"$tmp/conf"
	printf 'max_request_bytes = 1G\nhost_inflight = %s\n' "$c" \
	    >>"$tmp/conf"
	$b/src/fanoutd -n -c "$tmp/conf" >/dev/null 2>&1 ||
	    sed -i '/^host_inflight/d' "$tmp/conf"
	if [ -n "${EXTRA_CONF:-}" ]; then
		printf '%b\n' "$EXTRA_CONF" >>"$tmp/conf"
	fi
	${WRAP:-} $b/src/fanoutd -c "$tmp/conf" -s "$tmp/sock" -l warn &
	dpid=$!
	while ! $b/src/fanout -s "$tmp/sock" health >/dev/null 2>&1; do
		sleep 0.05
	done
	awk -v n="$n" -v c="$c" -v m="$mode" \
	    -v u="http://127.0.0.1:$port${BENCH_PATH:-/ok}" 'BEGIN {
		printf "{%s\"concurrency\":%d,\"requests\":[",
		    m == "" ? "" : "\"mode\":\"" m "\",", c
		for (i = 0; i < n; i++)
			printf "%s{\"url\":\"%s\"}", i ? "," : "", u
		print "]}"
	}' >"$tmp/batch.json"
}
