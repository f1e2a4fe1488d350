/*
 * latency: time one HTTP/1.1 request at a time over one keep-alive
 * connection, for bench/run's "latency added" measurement.
 *
 *   latency unix SOCKET BODYFILE COUNT WARMUP   POST BODYFILE (a 1-request
 *                                               batch) to fanoutd's
 *                                               /v1/batches, over and over
 *   latency tcp HOST PORT PATH COUNT WARMUP     GET PATH from HOST:PORT
 *
 * A process per request would measure process start-up, not fanoutd: this
 * keeps one connection open (reconnecting only if the server closes it,
 * and counting that), sends a request, reads the whole response
 * (Content-Length or chunked), and times each round trip with the
 * monotonic clock. WARMUP requests are sent first and not counted.
 *
 * Prints one line:
 *   RESULT n=COUNT ok=K p50_us=.. p90_us=.. p99_us=.. min_us=.. max_us=..
 *   mean_us=.. reconnects=R [batch_p50_us=.. batch_p99_us=..]
 * batch_*: in unix mode, the batch's own "elapsed_ms" from the reply's
 * summary (from acceptance to its last result, as fanoutd measures it),
 * so that the time added can be split into batch and API.
 * A response counts as ok if its status is 200 and, in unix mode, its body
 * holds "responses":1,"errors":0 (the upstream answered, nothing failed).
 * Links nothing but libc: bench/run builds it with cc.
 */

#define _GNU_SOURCE

#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct target {
	int		 unix_mode;
	const char	*path;		/* socket path (unix) */
	const char	*host;		/* address (tcp) */
	int		 port;
};

static char	*buf;		/* response bytes not yet consumed */
static size_t	 blen, bcap;
static char	*body;		/* decoded body of the last response */
static size_t	 bodylen, bodycap;

static void
die(const char *what)
{
	fprintf(stderr, "latency: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
diex(const char *what)
{
	fprintf(stderr, "latency: %s\n", what);
	exit(1);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
connect_to(const struct target *t)
{
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	int fd, one = 1;

	if (t->unix_mode) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			die("socket");
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(t->path) >= sizeof(sun.sun_path))
			diex("socket path too long");
		strcpy(sun.sun_path, t->path);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			die(t->path);
		return fd;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(t->port);
	if (inet_pton(AF_INET, t->host, &sin.sin_addr) != 1)
		diex("bad IPv4 address");
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Read more bytes into buf; 0 on EOF, -1 on error. */
static int
fill(int fd)
{
	ssize_t n;

	if (bcap - blen < 65536) {
		bcap = bcap ? bcap * 2 : 131072;
		if ((buf = realloc(buf, bcap)) == NULL)
			die("realloc");
	}
	do
		n = read(fd, buf + blen, bcap - blen);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		blen += (size_t)n;
	return n > 0 ? 1 : (int)n;
}

static void
consume(size_t n)
{
	memmove(buf, buf + n, blen - n);
	blen -= n;
}

static void
body_add(const char *p, size_t n)
{
	if (bodylen + n + 1 > bodycap) {
		bodycap = (bodylen + n + 1) * 2;
		if ((body = realloc(body, bodycap)) == NULL)
			die("realloc");
	}
	memcpy(body + bodylen, p, n);
	bodylen += n;
	body[bodylen] = '\0';
}

/* Index of the end of the line starting at off, or -1 if not yet read. */
static long
line_end(size_t off)
{
	char *p = memmem(buf + off, blen - off, "\r\n", 2);

	return p == NULL ? -1 : p - buf;
}

/* Move n body bytes from buf to body, reading as needed. */
static int
take(int fd, size_t n)
{
	size_t k;

	while (n > 0) {
		if (blen == 0 && fill(fd) <= 0)
			return -1;
		k = blen < n ? blen : n;
		body_add(buf, k);
		consume(k);
		n -= k;
	}
	return 0;
}

static int
read_chunked(int fd)
{
	long e;
	unsigned long sz;

	for (;;) {
		while ((e = line_end(0)) == -1)
			if (fill(fd) <= 0)
				return -1;
		sz = strtoul(buf, NULL, 16);
		consume((size_t)e + 2);
		if (sz == 0)
			break;
		if (take(fd, sz) == -1)
			return -1;
		while (blen < 2)
			if (fill(fd) <= 0)
				return -1;
		consume(2);
	}
	/* Trailers, up to the empty line. */
	for (;;) {
		while ((e = line_end(0)) == -1)
			if (fill(fd) <= 0)
				return -1;
		consume((size_t)e + 2);
		if (e == 0)
			return 0;
	}
}

/*
 * Read one response: its status, its body into body; *close set if the
 * server will close. -1 if the connection ended first.
 */
static int
read_response(int fd, int *status, int *close_after)
{
	char *h, *line, *save;
	long clen = -1;
	int chunked = 0;
	char *end;
	size_t hlen;

	bodylen = 0;
	body_add("", 0);	/* body is a string, empty if nothing comes */
	while ((end = memmem(buf, blen, "\r\n\r\n", 4)) == NULL)
		if (fill(fd) <= 0)
			return -1;
	hlen = (size_t)(end - buf) + 4;
	if ((h = strndup(buf, hlen - 4)) == NULL)
		die("strndup");
	consume(hlen);
	*status = 0;
	*close_after = 0;
	if (strncmp(h, "HTTP/1.", 7) == 0 && strlen(h) > 12)
		*status = atoi(h + 9);
	for (line = strtok_r(h, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = strtol(line + 15, NULL, 10);
		else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 &&
		    strstr(line, "chunked") != NULL)
			chunked = 1;
		else if (strncasecmp(line, "Connection:", 11) == 0 &&
		    strstr(line, "close") != NULL)
			*close_after = 1;
	}
	free(h);
	if (chunked)
		return read_chunked(fd);
	if (clen < 0)
		diex("response without Content-Length or chunked");
	return take(fd, (size_t)clen);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[n]. */
static double
pct(const double *v, int n, double q)
{
	int k = (int)(q * n + 0.999999);

	if (k < 1)
		k = 1;
	return v[k - 1];
}

static void
usage(void)
{
	fprintf(stderr, "usage: latency unix SOCKET BODYFILE COUNT WARMUP\n"
	    "       latency tcp HOST PORT PATH COUNT WARMUP\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct target t;
	char *req, *payload = NULL;
	size_t reqlen, plen = 0;
	double *v, *in, t0, sum = 0;
	char *e;
	int count, warmup, i, fd, status, cl, ok = 0, reconnects = 0;
	FILE *f;

	memset(&t, 0, sizeof(t));
	if (argc == 6 && strcmp(argv[1], "unix") == 0) {
		t.unix_mode = 1;
		t.path = argv[2];
		if ((f = fopen(argv[3], "r")) == NULL)
			die(argv[3]);
		if (getdelim(&payload, &plen, '\0', f) == -1)
			die("read body");
		fclose(f);
		plen = strlen(payload);
		count = atoi(argv[4]);
		warmup = atoi(argv[5]);
		if (asprintf(&req, "POST /v1/batches HTTP/1.1\r\n"
		    "Host: localhost\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n%s", plen, payload) == -1)
			die("asprintf");
	} else if (argc == 7 && strcmp(argv[1], "tcp") == 0) {
		t.host = argv[2];
		t.port = atoi(argv[3]);
		count = atoi(argv[5]);
		warmup = atoi(argv[6]);
		if (asprintf(&req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
		    "User-Agent: latency\r\n\r\n", argv[4], t.host,
		    t.port) == -1)
			die("asprintf");
	} else
		usage();
	if (count < 1 || warmup < 0)
		usage();
	reqlen = strlen(req);
	if ((v = calloc((size_t)count, sizeof(*v))) == NULL ||
	    (in = calloc((size_t)count, sizeof(*in))) == NULL)
		die("calloc");

	fd = connect_to(&t);
	for (i = -warmup; i < count; i++) {
		t0 = now_us();
		if (write(fd, req, reqlen) != (ssize_t)reqlen ||
		    read_response(fd, &status, &cl) == -1) {
			/* The server closed an idle connection: once more. */
			close(fd);
			blen = 0;
			reconnects++;
			fd = connect_to(&t);
			t0 = now_us();
			if (write(fd, req, reqlen) != (ssize_t)reqlen ||
			    read_response(fd, &status, &cl) == -1)
				diex("connection lost twice in a row");
		}
		if (i >= 0) {
			v[i] = now_us() - t0;
			sum += v[i];
			if (status == 200 && (!t.unix_mode ||
			    strstr(body, "\"responses\":1,\"errors\":0")))
				ok++;
			if (t.unix_mode && (e = strstr(body,
			    "\"elapsed_ms\":")) != NULL)
				in[i] = strtod(e + 13, NULL) * 1000;
		}
		if (cl) {
			close(fd);
			blen = 0;
			reconnects++;
			fd = connect_to(&t);
		}
	}
	close(fd);
	qsort(v, (size_t)count, sizeof(*v), cmp);
	printf("RESULT n=%d ok=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f "
	    "min_us=%.1f max_us=%.1f mean_us=%.1f reconnects=%d", count, ok,
	    pct(v, count, 0.50), pct(v, count, 0.90), pct(v, count, 0.99),
	    v[0], v[count - 1], sum / count, reconnects);
	if (t.unix_mode) {
		qsort(in, (size_t)count, sizeof(*in), cmp);
		printf(" batch_p50_us=%.1f batch_p99_us=%.1f",
		    pct(in, count, 0.50), pct(in, count, 0.99));
	}
	printf("\n");
	return ok == count ? 0 : 1;
}
