#!/bin/sh
# netns.sh: the egress policy, end to end, in a private network namespace.
#
# Proves that no connection at all reaches a forbidden listener, whatever
# the spelling of its address. The script re-executes itself under
# `unshare -rnm` (user, network and mount namespaces: no root needed, and
# nothing leaks out), puts 169.254.169.254 (cloud metadata), 10.1.2.3
# (private) and 11.0.0.1 (public) on lo next to 127.0.0.1 and ::1, starts
# tests/upstream -r on port 80 of each, and bind-mounts a hosts file that
# gives them names. Then, with fresh listeners for each phase:
#
#   control   curl itself fetches every spelling directly: each one really
#             reaches its listener here, so a leak would be seen
#   strict    fanoutd with deny_private and deny_loopback: every spelling
#             of a metadata, private, loopback or "this network" address,
#             direct or as a redirect from the public upstream, ends with
#             error "blocked", and those listeners accept 0 connections
#   defaults  fanoutd as configured by default: private and loopback are
#             reached (the listeners work and the test can fail), metadata
#             and "this network" are still blocked, with 0 connections
#   callers   two real uids (root and 65534; only when run as root, which
#             then needs no user namespace): a [user 65534] rule denying
#             loopback holds although root has a kept-alive connection to
#             the same origin, 65534's smuggling batch is refused and
#             root's next request gets its own response, and after a
#             reload to deny_loopback root's pooled connection carries
#             nothing more
#
# The connection counts come from the upstreams' exit report (-r), which
# includes connections still in the accept queue; the test never connects
# to a forbidden listener to ask. Run by make check (FANOUTD, UPSTREAM);
# exit 77 (skip) when namespaces or ip(8) are not available, or when the
# callers phase cannot run (not root).
#
# URL lists are split on white space on purpose; set -f keeps the ? and
# [...] in them from ever being taken as globs. Counters are set by eval.
# shellcheck disable=SC2086,SC2046,SC2154
set -euf

: "${FANOUTD:?run through make check}" "${UPSTREAM:?run through make check}"
PORT=80

if [ "${NETNS_INSIDE:-}" != 1 ]; then
	for tool in unshare ip curl; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "netns.sh: SKIP: $tool not found"
			exit 77
		fi
	done
	# As root, no user namespace: then there are real uids to switch to.
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
	    unshare -nm true 2>/dev/null; then
		NETNS_INSIDE=1 NETNS_UIDS=1 exec unshare -nm sh "$0" "$@"
	fi
	if ! why=$(unshare -rnm true 2>&1); then
		echo "netns.sh: SKIP: cannot create namespaces: $why"
		exit 77
	fi
	NETNS_INSIDE=1 NETNS_UIDS=0 exec unshare -rnm sh "$0" "$@"
fi

# From here on we are alone in the namespace.
dir=$(mktemp -d "${TMPDIR:-/tmp}/fanoutd-netns.XXXXXX")
up_pids=
dpid=
cleanup() {
	for p in $up_pids $dpid; do
		kill "$p" 2>/dev/null || :
	done
	wait 2>/dev/null || :
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
# Polls of 10 ms: 5 s, times CK_TIMEOUT_MULTIPLIER (as the Check tests').
polls=$(awk -v m="${CK_TIMEOUT_MULTIPLIER:-1}" \
    'BEGIN { m += 0; print int(500 * (m > 0 ? m : 1)) }')

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

die() {
	echo "netns.sh: $*"
	for f in "$dir"/*.log "$dir"/*.err; do
		[ -s "$f" ] && { echo "--- $f"; tail -20 "$f"; }
	done
	exit 1
}

skip() {
	echo "netns.sh: SKIP: $*"
	exit 77
}

ip link set lo up || skip "cannot bring lo up"
for a in 169.254.169.254/32 10.1.2.3/32 11.0.0.1/32; do
	ip addr add "$a" dev lo || skip "cannot add $a to lo"
done

# Names for the addresses: a hosts file of our own, seen only in here.
cat >"$dir/hosts" <<EOF
127.0.0.1	localhost
::1	localhost
169.254.169.254	metadata.test metadata.google.internal
10.1.2.3	private.test
11.0.0.1	public.test
127.0.0.1	loop.test
EOF
names=no
if mount --bind "$dir/hosts" /etc/hosts 2>"$dir/mount.err"; then
	names=yes
else
	echo "note: no host names checked: $(cat "$dir/mount.err")"
fi

# The listeners: NAME ADDRESS. ::1 is optional (IPv6 may be disabled).
LISTENERS="meta 169.254.169.254 private 10.1.2.3 loop 127.0.0.1 loop6 ::1
public 11.0.0.1"
have_loop6=yes

# upstreams_start: one tests/upstream -r per listener, each on PORT.
upstreams_start() {
	set -- $LISTENERS
	while [ $# -gt 0 ]; do
		: >"$dir/$1.out"
		"$UPSTREAM" -r -b "$2" -p "$PORT" >"$dir/$1.out" \
		    2>"$dir/$1.err" &
		p=$!
		eval "pid_$1=$p"
		up_pids="$up_pids $p"
		i=0
		until grep -q '^port ' "$dir/$1.out"; do
			if ! kill -0 "$p" 2>/dev/null; then
				[ "$1" = loop6 ] ||
				    die "upstream $2 did not start"
				have_loop6=no
				eval "pid_$1="
				break
			fi
			i=$((i + 1))
			[ $i -lt "$polls" ] || die "upstream $2 did not start"
			sleep 0.01
		done
		shift 2
	done
}

# upstreams_stop: stop them; conn_NAME and req_NAME get their counts.
upstreams_stop() {
	set -- $LISTENERS
	while [ $# -gt 0 ]; do
		p=$(eval echo "\$pid_$1")
		c=0 r=0
		if [ -n "$p" ]; then
			kill -TERM "$p"
			wait "$p" || die "upstream $2 exited $?"
			f="$dir/$1.out"
			c=$(sed -n 's/^connections \([0-9]*\) .*/\1/p' "$f")
			r=$(sed -n 's/^connections .* requests //p' "$f")
			if [ -z "$c" ] || [ -z "$r" ]; then
				die "upstream $2 gave no counts"
			fi
		fi
		eval "conn_$1=$c req_$1=$r"
		shift 2
	done
	up_pids=
}

# daemon_reload: SIGHUP, then wait for the log to say it took.
daemon_reload() {
	n=$(grep -c 'reloaded' "$dir/$dname.log" || :)
	kill -HUP "$dpid"
	i=0
	until [ "$(grep -c 'reloaded' "$dir/$dname.log" || :)" -gt "$n" ]; do
		grep 'reload refused' "$dir/$dname.log" && die "reload refused"
		i=$((i + 1))
		[ $i -lt "$polls" ] || die "fanoutd did not reload"
		sleep 0.01
	done
}

# daemon_start NAME CONFIG-LINES: fanoutd on a socket of its own.
daemon_start() {
	sock="$dir/$1.sock"
	dname=$1
	{
		echo '[fanoutd]'
		if [ -n "${FANOUTD_TEST_WORKERS:-}" ]; then
			echo "workers = $FANOUTD_TEST_WORKERS"
		fi
		printf '%s\n' "$2"
	} >"$dir/$1.conf"
	"$FANOUTD" -c "$dir/$1.conf" -s "$sock" -l debug 2>"$dir/$1.log" &
	dpid=$!
	i=0
	until curl -sf --noproxy '*' --unix-socket "$sock" -o /dev/null \
	    http://localhost/healthz; do
		kill -0 "$dpid" 2>/dev/null || die "fanoutd exited at start-up"
		i=$((i + 1))
		[ $i -lt "$polls" ] || die "fanoutd did not answer /healthz"
		sleep 0.01
	done
}

daemon_stop() {
	kill -TERM "$dpid"
	wait "$dpid" || die "fanoutd exited $?"
	dpid=
}

# outcome URL: submit a batch of that one request (following redirects)
# and print its outcome: the error code, or the HTTP status it got. With
# as="setpriv ...", as another uid.
nl='
'
as=
outcome() {
	body="{\"requests\":[{\"url\":\"$1\",\"follow_redirects\":true,"
	body="$body\"timeout_ms\":3000}]}"
	reply=$($as curl -sS --noproxy '*' --unix-socket "$sock" -m 20 \
	    -H 'Content-Type: application/json' -w '\n%{http_code}' \
	    -d "$body" http://localhost/v1/batches) ||
	    { echo "curl failed"; return; }
	http=${reply##*"$nl"}
	reply=${reply%"$nl"*}
	if [ "$http" != 200 ]; then
		echo "http $http: $reply"
		return
	fi
	# The reply is one compact JSON line; a result's own "error" is its
	# last member (attempt_log errors are strings, not objects).
	code=$(echo "$reply" | sed -n \
	    's/.*"error":{"code":"\([a-z_]*\)".*/\1/p')
	if [ -n "$code" ]; then
		echo "$code"
	elif echo "$reply" | grep -q '"error":null}\]}$'; then
		echo "$reply" | sed -n \
		    's/.*"url":"[^"]*","status":\([0-9]*\),.*/status \1/p'
	else
		echo "unparsed: $reply"
	fi
}

# redirect URL: a URL of the public upstream that answers 302 to URL.
redirect() {
	printf 'http://11.0.0.1:%s/redirect-to?url=%s\n' "$PORT" \
	    "$(printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n' |
	    sed 's/\(..\)/%\1/g')"
}

# check WANT URL LABEL: the outcome of URL must be WANT.
nexpect=0
check() {
	got=$(outcome "$2")
	nexpect=$((nexpect + 1))
	if [ "$got" = "$1" ]; then
		printf '  %-10s %s\n' "$got" "$3"
	else
		fail "$phase: $3: want $1, got $got"
	fi
}

# expect WANT URL...: each URL's outcome must be WANT.
expect() {
	want=$1
	shift
	for u in "$@"; do
		check "$want" "$u" "$u"
	done
}

# expect_redirect WANT URL...: the same, reached by a 302 from the public
# upstream (the first hop is allowed, the policy must judge the second).
expect_redirect() {
	want=$1
	shift
	for u in "$@"; do
		check "$want" "$(redirect "$u")" "302 to $u"
	done
}

# count NAME OP N: a listener's connections (or requests, for req_) test.
count() {
	v=$(eval echo "\$$1")
	if ! test "$v" "$2" "$3"; then
		fail "$phase: $1 is $v, want $2 $3"
	fi
}

# The spellings. P is ":PORT" for the forms that need it (none, for 80).
P=
[ "$PORT" = 80 ] || P=":$PORT"
META="http://169.254.169.254$P/ok
http://169.254.169.254:$PORT/ok
http://[::ffff:169.254.169.254]$P/ok
http://[::ffff:a9fe:a9fe]$P/ok
http://[0:0:0:0:0:ffff:a9fe:a9fe]$P/ok
http://0xa9fea9fe$P/ok
http://0xA9.0xFE.0xA9.0xFE$P/ok
http://2852039166$P/ok
http://0251.0376.0251.0376$P/ok
http://169.254.43518$P/ok
http://169.16689662$P/ok"
META_NAMES="http://metadata.test$P/ok
http://metadata.google.internal$P/ok"
# Carry the metadata address but are not routed here: the policy alone.
META_UNROUTED="http://[64:ff9b::a9fe:a9fe]$P/ok
http://[2002:a9fe:a9fe::1]$P/ok"
PRIV="http://10.1.2.3$P/ok
http://[::ffff:10.1.2.3]$P/ok
http://[::ffff:a01:203]$P/ok
http://012.1.2.3$P/ok
http://0xa010203$P/ok
http://167838211$P/ok
http://10.66051$P/ok"
PRIV_NAMES="http://private.test$P/ok"
LOOP="http://127.0.0.1$P/ok
http://localhost$P/ok
http://127.1$P/ok
http://0x7f000001$P/ok
http://2130706433$P/ok
http://017700000001$P/ok
http://[::ffff:127.0.0.1]$P/ok
http://[::ffff:7f00:1]$P/ok"
LOOP6="http://[::1]$P/ok
http://[0:0:0:0:0:0:0:1]$P/ok"
# "This network": Linux delivers these to the local host.
ZERO="http://0.0.0.0$P/ok
http://0$P/ok
http://0x0$P/ok"
ZERO6="http://[::]$P/ok"

if [ "$names" = no ]; then
	META_NAMES=
	PRIV_NAMES=
fi

# --- control: curl itself reaches every spelling. ---
phase=control
echo "$phase: curl fetches each spelling directly"
upstreams_start
[ "$have_loop6" = yes ] || { echo "note: no ::1 listener"; LOOP6=; ZERO6=; }
ndirect=0
for u in $META $META_NAMES $PRIV $PRIV_NAMES $LOOP $LOOP6 $ZERO $ZERO6; do
	got=$(curl -sS --noproxy '*' -m 5 "$u" 2>&1) || :
	ndirect=$((ndirect + 1))
	[ "$got" = ok ] || fail "$phase: curl $u: $got"
done
upstreams_stop
count req_meta -eq "$(echo $META $META_NAMES | wc -w)"
count req_private -eq "$(echo $PRIV $PRIV_NAMES | wc -w)"
count req_public -eq 0
# 0.0.0.0 and :: land on the loopback listeners (localhost on either).
[ $((req_loop + req_loop6)) -eq "$(echo $LOOP $LOOP6 $ZERO $ZERO6 | wc -w)" ] ||
    fail "$phase: loopback listeners served $((req_loop + req_loop6))"
echo "  $ndirect spellings reached their listeners directly" \
    "(169.254.169.254: $req_meta, 10.1.2.3: $req_private," \
    "127.0.0.1: $req_loop, ::1: $req_loop6)"

# --- strict: all of them blocked, nothing connects. ---
phase=strict
echo "$phase: deny_private = yes, deny_loopback = yes"
upstreams_start
daemon_start strict 'deny_private = yes
deny_loopback = yes'
expect "status 200" "http://11.0.0.1$P/ok"
[ "$names" = no ] || expect "status 200" "http://public.test$P/ok"
npublic=$nexpect
forbidden="$META $META_NAMES $META_UNROUTED $PRIV $PRIV_NAMES $LOOP $LOOP6
$ZERO $ZERO6"
expect blocked $forbidden
expect_redirect blocked $forbidden
# A chain: public -> public -> metadata.
check blocked "$(redirect "$(redirect "http://169.254.169.254$P/ok")")" \
    "302 to 302 to http://169.254.169.254$P/ok"
nstrict=$((nexpect - npublic))
daemon_stop
upstreams_stop
for l in meta private loop loop6; do
	count "conn_$l" -eq 0
done
# The public upstream served every first hop: the redirects were made.
count req_public -eq "$((npublic + $(echo $forbidden | wc -w) + 2))"
echo "  strict: $nstrict blocked; connections: 169.254.169.254 $conn_meta," \
    "10.1.2.3 $conn_private, 127.0.0.1 $conn_loop, ::1 $conn_loop6;" \
    "11.0.0.1 served $req_public"

# --- defaults: private and loopback reached, metadata still blocked. ---
phase=defaults
echo "$phase: no deny_* options"
upstreams_start
daemon_start defaults ''
nexpect=0
expect "status 200" $PRIV $PRIV_NAMES $LOOP $LOOP6
expect_redirect "status 200" "http://10.1.2.3$P/ok" "http://012.1.2.3$P/ok" \
    "http://127.0.0.1$P/ok"
nreach=$nexpect
always="$META $META_NAMES $META_UNROUTED $ZERO $ZERO6"
expect blocked $always
expect_redirect blocked $always
ndefblocked=$((nexpect - nreach))
daemon_stop
upstreams_stop
count conn_meta -eq 0
count req_private -eq "$(($(echo $PRIV $PRIV_NAMES | wc -w) + 2))"
count req_public -eq "$((3 + $(echo $always | wc -w)))"
# localhost may go to 127.0.0.1 or ::1; together they got every one.
nloop=$(($(echo $LOOP $LOOP6 | wc -w) + 1))
[ $((req_loop + req_loop6)) -eq "$nloop" ] ||
    fail "$phase: loopback listeners served $((req_loop + req_loop6))," \
    "want $nloop (a \"this network\" form got through?)"
echo "  defaults: $nreach reached, $ndefblocked blocked; connections:" \
    "169.254.169.254 $conn_meta; requests: 10.1.2.3 $req_private," \
    "127.0.0.1 $req_loop, ::1 $req_loop6"

# --- callers: two real uids, one connection pool each. ---
ncallers=0
skipped=
if [ "${NETNS_UIDS:-0}" = 1 ]; then
	phase=callers
	echo "$phase: root and uid 65534, [user 65534] deny = loopback"
	upstreams_start
	daemon_start callers 'socket_mode = 0666
workers = 0
[user 65534]
deny = 127.0.0.0/8 ::1'
	chmod 755 "$dir"
	nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
	nexpect=0
	check "status 200" "http://loop.test$P/ok" "root: loop.test"
	as=$nobody
	check blocked "http://loop.test$P/ok" "65534: loop.test, root's pooled"
	check blocked "$(redirect "http://loop.test$P/ok")" \
	    "65534: 302 to loop.test"
	# 65534 tries to smuggle a request onto a shared connection.
	smuggle="{\"concurrency\":1,\"requests\":[{\"method\":\"POST\","
	smuggle="$smuggle\"url\":\"http://loop.test$P/echo\",\"headers\":"
	smuggle="$smuggle{\"Content-Length\":\"3\"},\"body\":\"abcGET "
	smuggle="$smuggle/status/418 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\"}]}"
	got=$($as curl -sS --noproxy '*' --unix-socket "$sock" -m 20 \
	    -o /dev/null -w '%{http_code}' -d "$smuggle" \
	    http://localhost/v1/batches) || got="curl failed"
	[ "$got" = 400 ] || fail "$phase: 65534's smuggling batch got $got"
	as=
	check "status 200" "http://loop.test$P/ok" "root: loop.test again"
	# Strict now: root's kept-alive connection to loopback must not serve.
	printf '[fanoutd]\ndeny_loopback = yes\n' >>"$dir/callers.conf"
	daemon_reload
	check blocked "http://loop.test$P/ok" "root after reload to strict"
	ncallers=$nexpect
	daemon_stop
	upstreams_stop
	count req_loop -eq 2
	count conn_loop -eq 1
	echo "  callers: $ncallers checks; loopback served root's 2 requests" \
	    "on $conn_loop connection"
else
	echo "callers: SKIPPED (two real uids need root)"
	skipped="callers (two real uids need root)"
fi

if [ "$failures" -ne 0 ]; then
	echo "netns.sh: $failures failures"
	for f in "$dir"/strict.log "$dir"/defaults.log; do
		[ -s "$f" ] && { echo "--- $f"; tail -10 "$f"; }
	done
	exit 1
fi
echo "netns.sh: $nstrict forms blocked (strict), $ndefblocked" \
    "(defaults), 0 connections to forbidden listeners ($ndirect direct" \
    "control fetches reached them)"
# A phase that could not run makes the whole script SKIP, not PASS, as a
# skipped test makes its Check program SKIP (tests/check_main.h).
if [ -n "$skipped" ]; then
	echo "netns.sh: SKIP: not run: $skipped"
	exit 77
fi
echo "netns.sh: PASS"
