#!/bin/sh
# quickstart.sh: install what is missing, build, and show fanoutd working.
#
#   ./quickstart.sh         build, start fanoutd and a demo upstream, run a
#                           demo batch, print its JSON results, stop both
#   ./quickstart.sh test    build, then run the whole test suite (make check)
#
# Works from a fresh clone on Debian 12 as root or as a user with sudo.
# The build lives in ./build (out of tree); runtime files in ./run.
set -eu

cd "$(dirname "$0")"
top=$(pwd)
mode=${1:-demo}

# Debian packages the build and the tests need.
DEPS="autoconf automake make gcc pkg-config libevent-dev libevhtp-dev
libonig-dev libssl-dev libjansson-dev check libcurl4-openssl-dev
libinih-dev libidn2-dev libhiredis-dev uthash-dev libsubunit-dev
libsystemd-dev systemd ca-certificates curl iproute2 fiu-utils python3
redis-server nginx-light openssl"

say() { printf '==> %s\n' "$*"; }

install_deps() {
	missing=
	for p in $DEPS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	say "installing:$missing"
	if [ "$(id -u)" -eq 0 ]; then
		SUDO=
	elif command -v sudo >/dev/null; then
		SUDO=sudo
	else
		echo "quickstart: need root or sudo to install:$missing" >&2
		exit 1
	fi
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
	    --no-install-recommends $missing >/dev/null
}

build() {
	if [ ! -x configure ] || [ configure.ac -nt configure ] ||
	    [ Makefile.am -nt configure ]; then
		say "autoreconf"
		autoreconf -fi
	fi
	mkdir -p build
	if [ ! -f build/Makefile ] || [ configure -nt build/Makefile ]; then
		say "configure"
		(cd build && ../configure -q)
	fi
	say "make"
	make -C build -s -j"$(nproc)" all tests/upstream
}

pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}

demo() {
	mkdir -p run
	sock=$top/run/fanoutd.sock
	trap cleanup EXIT INT TERM

	build/tests/upstream -p 0 >run/upstream.out &
	pids="$pids $!"
	for _ in $(seq 50); do
		grep -q '^port ' run/upstream.out 2>/dev/null && break
		sleep 0.1
	done
	port=$(sed -n 's/^port //p' run/upstream.out)
	up="http://127.0.0.1:$port"
	say "demo upstream on $up"

	build/src/fanoutd -s "$sock" -l info &
	pids="$pids $!"
	for _ in $(seq 50); do
		build/src/fanout -s "$sock" health >/dev/null 2>&1 && break
		sleep 0.1
	done
	say "fanoutd on $sock"

	cat >run/demo.json <<JSON
{
  "concurrency": 8,
  "defaults": {"timeout_ms": 2000, "headers": {"User-Agent": "quickstart/1.0"}},
  "requests": [
    {"id": "ok-1", "url": "$up/ok"},
    {"id": "ok-2", "url": "$up/utf8"},
    {"id": "ok-3", "url": "$up/headers"},
    {"id": "ok-4", "url": "$up/bytes/64"},
    {"id": "ok-5", "url": "$up/delay/200"},
    {"id": "binary", "url": "$up/binary"},
    {"id": "post", "method": "POST", "url": "$up/echo", "body": "hello fanoutd"},
    {"id": "created", "url": "$up/status/201"},
    {"id": "not-found", "url": "$up/status/404"},
    {"id": "truncated", "url": "$up/bytes/100000", "max_response_bytes": 1000},
    {"id": "slow-times-out", "url": "$up/delay/5000", "timeout_ms": 500},
    {"id": "refused", "url": "http://127.0.0.1:1/"}
  ]
}
JSON
	say "submitting run/demo.json (12 requests) with: fanout submit"
	build/src/fanout -s "$sock" submit run/demo.json >run/demo.out
	if command -v python3 >/dev/null; then
		python3 -m json.tool run/demo.out
	else
		cat run/demo.out
	fi
	say "the same as one line per request: fanout get"
	build/src/fanout -s "$sock" get -t 500 "$up/ok" "$up/status/404" \
	    "$up/delay/5000" "http://127.0.0.1:1/"
	cleanup
	pids=
	say "done: fanoutd and the demo upstream are stopped"
}

install_deps
build
case $mode in
demo) demo ;;
test)
	say "make check"
	make -C build -j"$(nproc)" check || {
		cat build/test-suite.log >&2 2>/dev/null || true
		exit 1
	}
	;;
*)
	echo "usage: ./quickstart.sh [test]" >&2
	exit 1
	;;
esac
