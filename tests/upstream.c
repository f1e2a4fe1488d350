/*
 * upstream: a small local HTTP/1.1 origin server for fanoutd's
 * integration tests.
 *
 * It serves a fixed set of endpoints (see routes[] below): some behave
 * like a well-mannered origin, others misbehave on purpose by hanging,
 * resetting the connection, sending garbage or streaming endless bodies.
 * Because part of that misbehaviour happens at the socket level it is
 * built on raw libevent bufferevents with its own small request parser
 * rather than on evhttp.  It also counts requests, concurrency and
 * arrival times so that tests can check what fanoutd really sent.
 *
 * usage: upstream [-r] [-p port] [-b addr]
 * Prints "port N" on stdout once listening; exits 0 on SIGTERM/SIGINT.
 * Requests to /stats, /stats/reset and /arrivals are not counted.
 * With -r it prints "connections N requests M" on stdout as it exits:
 * every connection ever accepted (those still waiting in the accept queue
 * included), even the /stats ones, so a test can prove that nothing at all
 * connected without connecting itself.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define MAX_HEAD	(64 * 1024)
#define MAX_BODY	(16 * 1024 * 1024)
#define MAX_BYTES	(1024ULL * 1024 * 1024)
#define MAX_CLEN	(1ULL << 60)
#define MAX_DELAY	(3600ULL * 1000)
#define MAX_LOCATION	1024
#define CHUNK		(16 * 1024)
#define FILL_MAX	(256 * 1024)
#define WRITE_LOWAT	(64 * 1024)
#define MAX_ARRIVALS	100000
#define LINGER_MS	2000
#define SLOW_MS		100
#define UNUSED		__attribute__((__unused__))

enum cstate { C_IDLE, C_DELAY, C_HANG, C_SEND, C_LINGER };
enum gen { G_NONE, G_BYTES, G_CHUNKED, G_SLOW };
enum after { A_NEXT, A_CLOSE, A_RESET };

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct bufferevent	*bev;
	struct event		*timer;		/* delay, slowbytes, linger */
	enum cstate		 state;
	enum gen		 gen;		/* body generator, if any */
	enum after		 after;		/* what to do once flushed */
	uint64_t		 remain;	/* generated body bytes left */
	int			 inf;		/* generate forever */
	unsigned int		 pos;		/* offset in the a..z pattern */
	size_t			 need;		/* bytes of request awaited */
	size_t			 reqlen;	/* raw length of request */
	uint64_t		 delay;		/* /delay milliseconds */
	int			 keepalive;
	int			 head;		/* HEAD request: no body */
	int			 counted;	/* included in inflight */
	int			 eof;		/* client shut down its side */
	int			 continued;	/* sent 100 Continue */
};

struct req {
	char		*buf;		/* nul-terminated copy of head */
	size_t		 headlen;
	const char	*method;
	const char	*path;
	const char	*query;		/* after '?', or "" */
	uint64_t	 clen;
	int		 haveclen;
	int		 chunked;
	int		 keepalive;
	int		 expect;
};

/*
 * A route's handler gets as arg what follows the path if it is a prefix,
 * otherwise the query string.
 */
struct route {
	const char	*path;
	int		 prefix;
	int		 control;	/* not counted in the stats */
	enum gen	 kind;		/* for h_stream */
	void		(*fn)(struct conn *, const char *, enum gen);
};

static struct event_base	*base;
static TAILQ_HEAD(, conn)	 conns = TAILQ_HEAD_INITIALIZER(conns);
static struct evconnlistener	*listener;
static struct event		*resume_ev;
static struct timespec		 start_ts;
static char			 pattern[CHUNK + 26];
static unsigned char		 binary[256];
static double			 arrivals[MAX_ARRIVALS];
static size_t			 narrivals, arrival_next;
static struct {
	unsigned long long	 requests;
	unsigned long long	 connections;
	unsigned long long	 proxied;	/* absolute-form targets */
	unsigned long		 inflight;
	unsigned long		 max_inflight;
} stats;

static void	process(struct conn *);
static void	conn_free(struct conn *);

/* Milliseconds since the server started, on the monotonic clock. */
static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((ts.tv_sec - start_ts.tv_sec) * 1e3 +
	    (ts.tv_nsec - start_ts.tv_nsec) / 1e6);
}

/* Arm a connection's timer for ms milliseconds. */
static void
timer_ms(struct conn *c, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/* Account for a request that starts being served. */
static void
stats_begin(struct conn *c)
{
	stats.requests++;
	if (++stats.inflight > stats.max_inflight)
		stats.max_inflight = stats.inflight;
	c->counted = 1;
	arrivals[arrival_next] = now_ms();
	arrival_next = (arrival_next + 1) % MAX_ARRIVALS;
	if (narrivals < MAX_ARRIVALS)
		narrivals++;
}

/* Account for a request that is no longer being served. */
static void
stats_end(struct conn *c)
{
	if (c->counted)
		stats.inflight--;
	c->counted = 0;
}

/* Parse a decimal number no greater than max; -1 if it is not one. */
static int
parse_num(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;

	if (*s == '\0')
		return (-1);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return (-1);
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > max)
			return (-1);
	}
	*v = n;
	return (0);
}

/* The reason phrase for a status code. */
static const char *
reason(int status)
{
	static const struct {
		int		 code;
		const char	*text;
	} tab[] = {
		{ 100, "Continue" }, { 200, "OK" }, { 201, "Created" },
		{ 202, "Accepted" }, { 204, "No Content" },
		{ 206, "Partial Content" }, { 301, "Moved Permanently" },
		{ 302, "Found" }, { 303, "See Other" }, { 304, "Not Modified" },
		{ 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 408, "Request Timeout" },
		{ 411, "Length Required" }, { 413, "Content Too Large" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 502, "Bad Gateway" },
		{ 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].code == status)
			return (tab[i].text);
	return (status < 400 ? "Other" : "Error");
}

/*
 * Queue a response head; clen < 0 means no Content-Length.  Puts the
 * connection in C_SEND: the response is complete once output drains.
 */
static void
send_head(struct conn *c, int status, const char *ctype, const char *extra,
    long long clen)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	int nobody = status == 204 || status == 304;

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status, reason(status));
	if (!nobody)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	if (!nobody && clen >= 0)
		evbuffer_add_printf(out, "Content-Length: %lld\r\n", clen);
	evbuffer_add_printf(out, "Connection: %s\r\n%s\r\n",
	    c->keepalive ? "keep-alive" : "close", extra ? extra : "");
	c->state = C_SEND;
	c->gen = G_NONE;
	c->after = c->keepalive ? A_NEXT : A_CLOSE;
}

/* Queue a complete response with a body held in memory. */
static void
respond(struct conn *c, int status, const char *ctype, const char *extra,
    const void *body, size_t len)
{
	send_head(c, status, ctype, extra, (long long)len);
	if (!c->head && status != 204 && status != 304)
		evbuffer_add(bufferevent_get_output(c->bev), body, len);
}

/* Queue a text/plain response. */
static void
respond_str(struct conn *c, int status, const char *body)
{
	respond(c, status, "text/plain", NULL, body, strlen(body));
}

/* Queue a response whose body is moved out of an evbuffer. */
static void
respond_buf(struct conn *c, const char *ctype, struct evbuffer *body)
{
	send_head(c, 200, ctype, NULL, (long long)evbuffer_get_length(body));
	if (!c->head)
		evbuffer_add_buffer(bufferevent_get_output(c->bev), body);
}

/* Queue raw bytes, not necessarily HTTP, then do what after says. */
static void
send_raw(struct conn *c, const char *s, enum after after)
{
	evbuffer_add(bufferevent_get_output(c->bev), s, strlen(s));
	c->state = C_SEND;
	c->gen = G_NONE;
	c->after = after;
}

/* Answer a request we cannot or will not parse, then close. */
static void
fail(struct conn *c, int status)
{
	char body[64];

	c->need = 0;
	c->head = 0;
	c->keepalive = 0;
	snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
	respond_str(c, status, body);
}

/* Append n bytes of the a..z pattern to out. */
static void
add_pattern(struct conn *c, struct evbuffer *out, size_t n)
{
	evbuffer_add(out, pattern + c->pos, n);
	c->pos = (c->pos + n) % 26;
}

/* Top the output up to FILL_MAX from the body generator. */
static void
gen_fill(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t n;

	while ((c->gen == G_BYTES || c->gen == G_CHUNKED) &&
	    evbuffer_get_length(out) < FILL_MAX) {
		n = CHUNK;
		if (!c->inf && c->remain < n)
			n = c->remain;
		if (c->gen == G_CHUNKED && n > 0)
			evbuffer_add_printf(out, "%zx\r\n", n);
		add_pattern(c, out, n);
		if (c->gen == G_CHUNKED && n > 0)
			evbuffer_add(out, "\r\n", 2);
		if (c->inf)
			continue;
		c->remain -= n;
		if (c->remain == 0) {
			if (c->gen == G_CHUNKED)
				evbuffer_add(out, "0\r\n\r\n", 5);
			c->gen = G_NONE;
		}
	}
}

/* Start generating a body after its head was queued. */
static void
stream_start(struct conn *c, enum gen gen, uint64_t n, int inf)
{
	if (c->head)
		return;
	c->gen = gen;
	c->remain = n;
	c->inf = inf;
	c->pos = 0;
	if (gen != G_SLOW)
		gen_fill(c);
	else if (n > 0)
		timer_ms(c, SLOW_MS);
	else
		c->gen = G_NONE;
}

/* Send one byte of a /slowbytes body. */
static void
slow_tick(struct conn *c)
{
	add_pattern(c, bufferevent_get_output(c->bev), 1);
	if (--c->remain > 0)
		timer_ms(c, SLOW_MS);
	else
		c->gen = G_NONE;
}

/* / and /ok */
static void
h_ok(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	respond_str(c, 200, "ok");
}

/* /status/N: that status; anything invalid or 1xx gives 400. */
static void
h_status(struct conn *c, const char *arg, enum gen kind UNUSED)
{
	char body[32];
	uint64_t n;

	if (parse_num(arg, 599, &n) == -1 || n < 200)
		n = 400;
	snprintf(body, sizeof(body), "status %d\n", (int)n);
	respond_str(c, (int)n, body);
}

/* /delay/MS: answer after MS milliseconds. */
static void
h_delay(struct conn *c, const char *arg, enum gen kind UNUSED)
{
	if (parse_num(arg, MAX_DELAY, &c->delay) == -1) {
		respond_str(c, 400, "bad argument\n");
		return;
	}
	c->state = C_DELAY;
	timer_ms(c, c->delay);
}

/*
 * /bytes/N and /slowbytes/N: N pattern bytes with a Content-Length;
 * /chunked/N: chunked; /close/N: delimited by closing.  The last two
 * accept N = inf.
 */
static void
h_stream(struct conn *c, const char *arg, enum gen kind)
{
	uint64_t n = 0;
	int inf = 0, sized = kind == G_BYTES || kind == G_SLOW;

	if (!sized && strcmp(arg, "inf") == 0)
		inf = 1;
	else if (parse_num(arg, MAX_BYTES, &n) == -1) {
		respond_str(c, 400, "bad argument\n");
		return;
	}
	if (kind == G_NONE) {		/* /close */
		c->keepalive = 0;
		kind = G_BYTES;
	}
	send_head(c, 200, "text/plain", kind == G_CHUNKED ?
	    "Transfer-Encoding: chunked\r\n" : NULL, sized ? (long long)n : -1);
	stream_start(c, kind, n, inf);
}

/* /binary: the bytes 0x00..0xff. */
static void
h_binary(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	respond(c, 200, "application/octet-stream", NULL, binary,
	    sizeof(binary));
}

/* /utf8: some non-ASCII text. */
static void
h_utf8(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	static const char s[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93";

	respond(c, 200, "text/plain; charset=utf-8", NULL, s, strlen(s));
}

/* /headers: repeated response headers. */
static void
h_headers(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	respond(c, 200, "text/plain", "X-Multi: one\r\nX-Multi: two\r\n"
	    "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n", "headers", 7);
}

/* /echo: the raw request, still at the front of the input. */
static void
h_echo(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	struct evbuffer *raw;

	if ((raw = evbuffer_new()) == NULL)
		err(1, "evbuffer_new");
	evbuffer_remove_buffer(bufferevent_get_input(c->bev), raw, c->reqlen);
	c->reqlen = 0;
	respond_buf(c, "text/plain", raw);
	evbuffer_free(raw);
}

/* /hang: never answer. */
static void
h_hang(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	c->state = C_HANG;
}

/* /reset: promise a body, send part of it, then reset. */
static void
h_reset(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	send_raw(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
	    "abcdefghij", A_RESET);
}

/* /garbage: not HTTP at all. */
static void
h_garbage(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	send_raw(c, "this is not http\r\n\r\n", A_CLOSE);
}

/* /stats: the counters as JSON. */
static void
h_stats(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	char body[256];
	int n;

	n = snprintf(body, sizeof(body), "{\"requests\": %llu, "
	    "\"inflight\": %lu, \"max_inflight\": %lu, \"connections\": %llu, "
	    "\"proxied\": %llu}", stats.requests, stats.inflight,
	    stats.max_inflight, stats.connections, stats.proxied);
	respond(c, 200, "application/json", NULL, body, (size_t)n);
}

/* /stats/reset: restart counting. */
static void
h_stats_reset(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	stats.requests = 0;
	stats.connections = 0;
	stats.proxied = 0;
	stats.max_inflight = stats.inflight;
	narrivals = arrival_next = 0;
	respond_str(c, 200, "reset");
}

/* /arrivals: recent request arrival times as JSON, oldest first. */
static void
h_arrivals(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	struct evbuffer *b;
	size_t i, first;

	if ((b = evbuffer_new()) == NULL)
		err(1, "evbuffer_new");
	first = (arrival_next + MAX_ARRIVALS - narrivals) % MAX_ARRIVALS;
	evbuffer_add_printf(b, "{\"arrivals_ms\": [");
	for (i = 0; i < narrivals; i++)
		evbuffer_add_printf(b, "%s%.3f", i ? ", " : "",
		    arrivals[(first + i) % MAX_ARRIVALS]);
	evbuffer_add_printf(b, "]}");
	respond_buf(c, "application/json", b);
	evbuffer_free(b);
}

/* /flaky/N/KEY: 503 for the first N requests with KEY, then 200. */
static void
h_flaky(struct conn *c, const char *arg, enum gen kind UNUSED)
{
	static struct {
		char		key[32];
		uint64_t	seen;
	} keys[64];
	static size_t nkeys;
	const char *slash = strchr(arg, '/');
	char n_text[24], body[64];
	uint64_t n;
	size_t i;

	if (slash == NULL || (size_t)(slash - arg) >= sizeof(n_text) ||
	    strlen(slash + 1) >= sizeof(keys[0].key)) {
		respond_str(c, 400, "bad argument\n");
		return;
	}
	memcpy(n_text, arg, (size_t)(slash - arg));
	n_text[slash - arg] = '\0';
	if (parse_num(n_text, 1000000, &n) == -1) {
		respond_str(c, 400, "bad argument\n");
		return;
	}
	for (i = 0; i < nkeys && strcmp(keys[i].key, slash + 1) != 0; i++)
		;
	if (i == nkeys) {
		if (nkeys == sizeof(keys) / sizeof(keys[0])) {
			respond_str(c, 500, "too many keys\n");
			return;
		}
		snprintf(keys[nkeys++].key, sizeof(keys[0].key), "%s",
		    slash + 1);
	}
	if (keys[i].seen++ < n) {
		respond_str(c, 503, "flaky\n");
		return;
	}
	snprintf(body, sizeof(body), "ok after %llu\n",
	    (unsigned long long)(keys[i].seen - 1));
	respond_str(c, 200, body);
}

/* /throttle/SECS: 429 with Retry-After: SECS. */
static void
h_throttle(struct conn *c, const char *arg, enum gen kind UNUSED)
{
	char extra[64];
	uint64_t n;

	if (parse_num(arg, 86400, &n) == -1) {
		respond_str(c, 400, "bad argument\n");
		return;
	}
	snprintf(extra, sizeof(extra), "Retry-After: %llu\r\n",
	    (unsigned long long)n);
	respond(c, 429, "text/plain", extra, "slow down\n", 10);
}

/* /redirect/N: 302 to /redirect/N-1; /redirect/0 answers 200. */
static void
h_redirect(struct conn *c, const char *arg, enum gen kind UNUSED)
{
	char extra[64];
	uint64_t n;

	if (parse_num(arg, 1000, &n) == -1) {
		respond_str(c, 400, "bad argument\n");
		return;
	}
	if (n == 0) {
		respond_str(c, 200, "redirected\n");
		return;
	}
	snprintf(extra, sizeof(extra), "Location: /redirect/%llu\r\n",
	    (unsigned long long)(n - 1));
	respond(c, 302, "text/plain", extra, "moved\n", 6);
}

/* The value of a hex digit, or -1. */
static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (ch - 'A' + 10);
	return (-1);
}

/*
 * /redirect-to?url=U[&status=N][&httpx=1]: a 302 (or status N, 300..399)
 * to U, percent-decoded and sent verbatim (any scheme or host), so that a
 * test can point a redirect anywhere; httpx=1 puts a header line starting
 * "HTTP/" before the Location (a parser that takes it for a status line
 * forgets the Location's check).
 */
static void
h_redirect_to(struct conn *c, const char *arg, enum gen kind UNUSED)
{
	char extra[MAX_LOCATION + 32], url[MAX_LOCATION];
	size_t n = 0;
	uint64_t st;
	int hi, lo, status, httpx = 0;

	if (strncmp(arg, "url=", 4) != 0) {
		respond_str(c, 400, "bad argument\n");
		return;
	}
	for (arg += 4; *arg != '\0' && *arg != '&'; arg++) {
		if (n == sizeof(url) - 1) {
			respond_str(c, 400, "bad argument\n");
			return;
		}
		if (*arg == '%' && (hi = hexval(arg[1])) != -1 &&
		    (lo = hexval(arg[2])) != -1) {
			url[n++] = (char)(hi << 4 | lo);
			arg += 2;
		} else
			url[n++] = *arg;
		if ((unsigned char)url[n - 1] < 0x20 || url[n - 1] == 0x7f) {
			respond_str(c, 400, "bad argument\n");
			return;
		}
	}
	url[n] = '\0';
	status = 302;
	for (; *arg == '&'; arg += strcspn(arg + 1, "&") + 1) {
		if (strncmp(arg, "&status=", 8) == 0 &&
		    parse_num(arg + 8, 399, &st) == 0 && st >= 300)
			status = (int)st;
		else if (strncmp(arg, "&httpx=1", 8) == 0)
			httpx = 1;
	}
	if (n == 0) {
		respond_str(c, 400, "bad argument\n");
		return;
	}
	snprintf(extra, sizeof(extra), "%sLocation: %s\r\n",
	    httpx ? "HTTP/x: 1\r\n" : "", url);
	respond(c, status, "text/plain", extra, "moved\n", 6);
}

/*
 * /setcookie?NAME=VALUE[&to=PATH]: Set-Cookie: NAME=VALUE; Path=/, with a
 * 302 to PATH, or a 200. Letters, digits, '=', '_', '-', '.' and '/' only.
 */
static void
h_setcookie(struct conn *c, const char *arg, enum gen kind UNUSED)
{
	char extra[512];
	const char *to = strstr(arg, "&to=");
	size_t n = to != NULL ? (size_t)(to - arg) : strlen(arg);

	if (n == 0 || n > 200 || strspn(arg, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=_-./&") < strlen(arg) ||
	    (to != NULL && strlen(to + 4) > 200)) {
		respond_str(c, 400, "bad argument\n");
		return;
	}
	if (to == NULL) {
		snprintf(extra, sizeof(extra), "Set-Cookie: %.*s; Path=/\r\n",
		    (int)n, arg);
		respond(c, 200, "text/plain", extra, "set\n", 4);
		return;
	}
	snprintf(extra, sizeof(extra), "Set-Cookie: %.*s; Path=/\r\n"
	    "Location: %s\r\n", (int)n, arg, to + 4);
	respond(c, 302, "text/plain", extra, "moved\n", 6);
}

/* /bigheader: a 200 whose one header line is 1 MB long. */
static void
h_bigheader(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	static char *extra;
	size_t n = 1024 * 1024;

	if (extra == NULL) {
		if ((extra = malloc(n + 16)) == NULL) {
			respond_str(c, 500, "out of memory\n");
			return;
		}
		memcpy(extra, "X-Big: ", 7);
		memset(extra + 7, 'a', n);
		memcpy(extra + 7 + n, "\r\n", 3);
	}
	respond(c, 200, "text/plain", extra, "big\n", 4);
}

/*
 * /manyheaders/N: N distinct tiny headers (X-0: v ...), as a hostile
 * upstream sends them to make encoding the result expensive.
 */
static void
h_manyheaders(struct conn *c, const char *arg, enum gen kind UNUSED)
{
	struct evbuffer *b;
	uint64_t n, i;

	if (parse_num(arg, 100000, &n) == -1 || (b = evbuffer_new()) == NULL) {
		respond_str(c, 400, "bad argument\n");
		return;
	}
	for (i = 0; i < n; i++)
		evbuffer_add_printf(b, "X-%llu: v\r\n", (unsigned long long)i);
	evbuffer_add(b, "", 1);
	respond(c, 200, "text/plain", (const char *)evbuffer_pullup(b, -1),
	    "many\n", 5);
	evbuffer_free(b);
}

/*
 * /gzip: a small JSON document sent gzip-encoded (Content-Encoding: gzip),
 * whatever the request's Accept-Encoding, as some servers do.
 */
static void
h_gzip(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	static const char gz[] =
	    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff\xab\x56\xca\x48\xcd\xc9"
	    "\xc9\x57\xb2\x52\x50\x4a\x49\x4d\xce\xcf\x2d\x28\x4a\x2d\x2e\x4e"
	    "\x4d\x51\xd2\x51\x50\xca\x03\x0a\x46\x1b\xea\x28\x18\xe9\x28\x18"
	    "\xc7\xd6\x72\x01\x00\xfa\x9a\xf2\x10\x2a\x00\x00\x00";

	respond(c, 200, "application/json", "Content-Encoding: gzip\r\n", gz,
	    sizeof(gz) - 1);
}

/* /redirect-loop: 302 to itself. */
static void
h_redirect_loop(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	respond(c, 302, "text/plain", "Location: /redirect-loop\r\n",
	    "loop\n", 5);
}

/* Anything else. */
static void
h_notfound(struct conn *c, const char *arg UNUSED, enum gen kind UNUSED)
{
	respond_str(c, 404, "not found\n");
}

static const struct route routes[] = {
	{ "/", 0, 0, G_NONE, h_ok },
	{ "/ok", 0, 0, G_NONE, h_ok },
	{ "/status/", 1, 0, G_NONE, h_status },
	{ "/delay/", 1, 0, G_NONE, h_delay },
	{ "/bytes/", 1, 0, G_BYTES, h_stream },
	{ "/chunked/", 1, 0, G_CHUNKED, h_stream },
	{ "/close/", 1, 0, G_NONE, h_stream },
	{ "/slowbytes/", 1, 0, G_SLOW, h_stream },
	{ "/binary", 0, 0, G_NONE, h_binary },
	{ "/utf8", 0, 0, G_NONE, h_utf8 },
	{ "/headers", 0, 0, G_NONE, h_headers },
	{ "/echo", 0, 0, G_NONE, h_echo },
	{ "/gzip", 0, 0, G_NONE, h_gzip },
	{ "/setcookie", 0, 0, G_NONE, h_setcookie },
	{ "/hang", 0, 0, G_NONE, h_hang },
	{ "/reset", 0, 0, G_NONE, h_reset },
	{ "/garbage", 0, 0, G_NONE, h_garbage },
	{ "/stats", 0, 1, G_NONE, h_stats },
	{ "/stats/reset", 0, 1, G_NONE, h_stats_reset },
	{ "/arrivals", 0, 1, G_NONE, h_arrivals },
	{ "/flaky/", 1, 0, G_NONE, h_flaky },
	{ "/throttle/", 1, 0, G_NONE, h_throttle },
	{ "/redirect/", 1, 0, G_NONE, h_redirect },
	{ "/redirect-loop", 0, 0, G_NONE, h_redirect_loop },
	{ "/redirect-to", 0, 0, G_NONE, h_redirect_to },
	{ "/bigheader", 0, 0, G_NONE, h_bigheader },
	{ "/manyheaders/", 1, 0, G_NONE, h_manyheaders },
};

/* Find the route for path; *arg gets what follows a prefix. */
static const struct route *
route_find(const char *path, const char **arg)
{
	static const struct route notfound = { "", 0, 0, G_NONE, h_notfound };
	const struct route *r;
	size_t i, len;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		r = &routes[i];
		len = strlen(r->path);
		if (r->prefix ? strncmp(path, r->path, len) == 0 :
		    strcmp(path, r->path) == 0) {
			*arg = path + len;
			return (r);
		}
	}
	*arg = "";
	return (&notfound);
}

/* Serve a complete request whose raw bytes start the input. */
static void
dispatch(struct conn *c, struct req *r)
{
	const struct route *rt;
	const char *arg;

	c->need = 0;
	c->continued = 0;
	c->keepalive = r->keepalive;
	c->head = strcmp(r->method, "HEAD") == 0;
	c->reqlen = r->headlen + r->clen;
	rt = route_find(r->path, &arg);
	if (!rt->prefix)
		arg = r->query;
	if (!rt->control)
		stats_begin(c);
	rt->fn(c, arg, rt->kind);
	evbuffer_drain(bufferevent_get_input(c->bev), c->reqlen);
	c->reqlen = 0;
}

/* Handle one header field; 0 or an error status. */
static int
parse_field(struct req *r, char *name, char *value)
{
	char *tok, *last;
	uint64_t n;

	if (strcasecmp(name, "content-length") == 0) {
		if (parse_num(value, MAX_CLEN, &n) == -1 ||
		    (r->haveclen && n != r->clen))
			return (400);
		r->clen = n;
		r->haveclen = 1;
	} else if (strcasecmp(name, "transfer-encoding") == 0)
		r->chunked = 1;
	else if (strcasecmp(name, "expect") == 0)
		r->expect = strcasecmp(value, "100-continue") == 0;
	else if (strcasecmp(name, "connection") == 0) {
		for (tok = strtok_r(value, ", \t", &last); tok != NULL;
		    tok = strtok_r(NULL, ", \t", &last)) {
			if (strcasecmp(tok, "close") == 0)
				r->keepalive = 0;
			else if (strcasecmp(tok, "keep-alive") == 0)
				r->keepalive = 1;
		}
	}
	return (0);
}

/* Parse the header lines starting at s; 0 or an error status. */
static int
parse_fields(struct req *r, char *s)
{
	char *eol, *colon, *v, *e;
	int rv;

	for (; (eol = strstr(s, "\r\n")) != NULL && eol != s; s = eol + 2) {
		*eol = '\0';
		if ((colon = strchr(s, ':')) == NULL || colon == s ||
		    strcspn(s, " \t") < (size_t)(colon - s))
			return (400);
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (e = eol; e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		if ((rv = parse_field(r, s, v)) != 0)
			return (rv);
	}
	return (r->chunked ? 411 : 0);
}

/* Parse the request line and headers in r->buf; 0 or error status. */
static int
parse_head(struct req *r)
{
	char *line = r->buf, *target, *version, *eol, *p;

	eol = strstr(line, "\r\n");
	*eol = '\0';
	if ((target = strchr(line, ' ')) == NULL)
		return (400);
	*target++ = '\0';
	if ((version = strchr(target, ' ')) == NULL)
		return (400);
	*version++ = '\0';
	if (*line == '\0' || strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-") !=
	    strlen(line) || *target == '\0' || strchr(version, ' ') != NULL)
		return (400);
	if (strcmp(version, "HTTP/1.1") == 0)
		r->keepalive = 1;
	else if (strcmp(version, "HTTP/1.0") != 0)
		return (400);
	r->query = "";
	if ((p = strchr(target, '?')) != NULL) {
		*p = '\0';
		r->query = p + 1;
	}
	if (strncasecmp(target, "http://", 7) == 0 &&
	    (p = strchr(target + 7, '/')) != NULL) {
		target = p;	/* asked as a proxy: serve it ourselves */
		stats.proxied++;
	}
	r->method = line;
	r->path = target;
	return (parse_fields(r, eol + 2));
}

/* Find and parse a request head in the input; -1 if incomplete. */
static int
read_head(struct evbuffer *in, struct req *r)
{
	size_t len = evbuffer_get_length(in);
	unsigned char *data, *end;

	if (len > MAX_HEAD)
		len = MAX_HEAD;
	if ((data = evbuffer_pullup(in, len)) == NULL)
		err(1, "evbuffer_pullup");
	if ((end = memmem(data, len, "\r\n\r\n", 4)) == NULL)
		return (len == MAX_HEAD ? 431 : -1);
	r->headlen = end + 4 - data;
	if ((r->buf = malloc(r->headlen + 1)) == NULL)
		err(1, "malloc");
	memcpy(r->buf, data, r->headlen);
	r->buf[r->headlen] = '\0';
	return (parse_head(r));
}

/* If idle, serve the next request once it has fully arrived. */
static void
process(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in);
	struct req r;
	int rv;

	if (c->state != C_IDLE || len == 0 || len < c->need)
		return;
	memset(&r, 0, sizeof(r));
	if ((rv = read_head(in, &r)) == 0 && r.clen > MAX_BODY)
		rv = 413;
	if (rv > 0)
		fail(c, rv);
	else if (rv == 0 && len < r.headlen + r.clen) {
		c->need = r.headlen + r.clen;
		if (r.expect && !c->continued) {
			evbuffer_add_printf(bufferevent_get_output(c->bev),
			    "HTTP/1.1 100 Continue\r\n\r\n");
			c->continued = 1;
		}
	} else if (rv == 0)
		dispatch(c, &r);
	free(r.buf);
}

/* Close after a response: send FIN, discard input until EOF. */
static void
linger(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	c->state = C_LINGER;
	c->gen = G_NONE;
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	evbuffer_drain(in, evbuffer_get_length(in));
	timer_ms(c, LINGER_MS);
}

/* Abort the connection with a TCP RST. */
static void
reset(struct conn *c)
{
	struct linger l;

	l.l_onoff = 1;
	l.l_linger = 0;
	setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_LINGER, &l,
	    sizeof(l));
	conn_free(c);
}

/* The current response has been written out completely. */
static void
finish(struct conn *c)
{
	stats_end(c);
	if (c->after == A_RESET)
		reset(c);
	else if (c->after == A_CLOSE && c->eof)
		conn_free(c);
	else if (c->after == A_CLOSE)
		linger(c);
	else {
		c->state = C_IDLE;
		process(c);
		if (c->state == C_IDLE && c->eof)
			conn_free(c);
	}
}

/* Bufferevent read callback: more request bytes arrived. */
static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->state == C_LINGER)
		evbuffer_drain(in, evbuffer_get_length(in));
	else
		process(c);
}

/* Bufferevent write callback: output fell below the low watermark. */
static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *out = bufferevent_get_output(bev);

	if (c->state != C_SEND)
		return;
	gen_fill(c);
	if (c->gen == G_NONE && evbuffer_get_length(out) == 0)
		finish(c);
}

/*
 * Bufferevent event callback.  A client EOF while a response is being
 * written lets it finish (the client may have only half-closed);
 * otherwise EOF or any error frees the connection.
 */
static void
event_cb(struct bufferevent *bev UNUSED, short what, void *arg)
{
	struct conn *c = arg;

	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) &&
	    c->state == C_SEND)
		c->eof = 1;
	else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(c);
}

/* Connection timer: delay over, slow byte due, or linger over. */
static void
timer_cb(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct conn *c = arg;
	char body[64];

	if (c->state == C_DELAY) {
		snprintf(body, sizeof(body), "delayed %llu\n",
		    (unsigned long long)c->delay);
		respond_str(c, 200, body);
	} else if (c->state == C_SEND && c->gen == G_SLOW)
		slow_tick(c);
	else if (c->state == C_LINGER)
		conn_free(c);
}

/* Free a connection and everything it holds. */
static void
conn_free(struct conn *c)
{
	stats_end(c);
	TAILQ_REMOVE(&conns, c, entry);
	event_free(c->timer);
	bufferevent_free(c->bev);
	free(c);
}

/* Listener callback: set up a new connection. */
static void
accept_cb(struct evconnlistener *l UNUSED, evutil_socket_t fd,
    struct sockaddr *sa UNUSED, int salen UNUSED, void *arg UNUSED)
{
	struct conn *c;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->timer = evtimer_new(base, timer_cb, c)) == NULL ||
	    (c->bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		err(1, "accept_cb");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, MAX_HEAD + MAX_BODY);
	bufferevent_setwatermark(c->bev, EV_WRITE, WRITE_LOWAT, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	stats.connections++;
}

/* Listener error (e.g. out of descriptors): pause accepting a bit. */
static void
accept_error_cb(struct evconnlistener *l, void *arg UNUSED)
{
	struct timeval tv = { 0, 100 * 1000 };

	warn("accept");
	evconnlistener_disable(l);
	evtimer_add(resume_ev, &tv);
}

/* Resume accepting after accept_error_cb paused. */
static void
resume_cb(evutil_socket_t fd UNUSED, short what UNUSED, void *arg UNUSED)
{
	evconnlistener_enable(listener);
}

/* SIGTERM/SIGINT: leave the event loop. */
static void
signal_cb(evutil_socket_t sig UNUSED, short what UNUSED, void *arg UNUSED)
{
	event_base_loopbreak(base);
}

/* Start listening on addr:port and print the port chosen. */
static void
listen_on(const char *addr, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	} else
		errx(1, "bad address: %s", addr);
	listener = evconnlistener_new_bind(base, accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
	    (struct sockaddr *)&ss, (int)len);
	if (listener == NULL)
		err(1, "listen on %s port %d", addr, port);
	evconnlistener_set_error_cb(listener, accept_error_cb);
	len = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(listener),
	    (struct sockaddr *)&ss, &len) == -1)
		err(1, "getsockname");
	printf("port %d\n", ntohs(ss.ss_family == AF_INET ? sin->sin_port :
	    sin6->sin6_port));
	fflush(stdout);
}

/*
 * -r: count the connections still waiting in the accept queue (a client
 * may have connected just before SIGTERM), then print the counters.
 */
static void
report(void)
{
	evutil_socket_t fd, lfd = evconnlistener_get_fd(listener);

	evutil_make_socket_nonblocking(lfd);
	while ((fd = accept(lfd, NULL, NULL)) != -1) {
		stats.connections++;
		close(fd);
	}
	printf("connections %llu requests %llu\n", stats.connections,
	    stats.requests);
	fflush(stdout);
}

/* Fill the static tables and allow as many descriptors as we may. */
static void
setup(void)
{
	struct rlimit rl;
	size_t i;

	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = 'a' + i % 26;
	for (i = 0; i < sizeof(binary); i++)
		binary[i] = (unsigned char)i;
	clock_gettime(CLOCK_MONOTONIC, &start_ts);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
}

static void
usage(void)
{
	fprintf(stderr, "usage: upstream [-r] [-p port] [-b addr]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct event *sigterm, *sigint;
	struct conn *c, *next;
	const char *addr = "127.0.0.1";
	uint64_t port = 0;
	int ch, rflag = 0;

	while ((ch = getopt(argc, argv, "b:p:r")) != -1) {
		switch (ch) {
		case 'b':
			addr = optarg;
			break;
		case 'p':
			if (parse_num(optarg, 65535, &port) == -1)
				errx(1, "bad port: %s", optarg);
			break;
		case 'r':
			rflag = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	setup();
	if ((base = event_base_new()) == NULL)
		errx(1, "event_base_new");
	listen_on(addr, (int)port);
	sigterm = evsignal_new(base, SIGTERM, signal_cb, NULL);
	sigint = evsignal_new(base, SIGINT, signal_cb, NULL);
	resume_ev = evtimer_new(base, resume_cb, NULL);
	if (sigterm == NULL || sigint == NULL || resume_ev == NULL ||
	    evsignal_add(sigterm, NULL) == -1 || evsignal_add(sigint, NULL) == -1)
		errx(1, "cannot set up events");
	event_base_dispatch(base);
	if (rflag)
		report();

	for (c = TAILQ_FIRST(&conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);	/* conn_free() unlinks c */
		conn_free(c);
	}
	evconnlistener_free(listener);
	event_free(sigterm);
	event_free(sigint);
	event_free(resume_ev);
	event_base_free(base);
	return (0);
}
