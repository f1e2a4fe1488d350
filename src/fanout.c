/*
 * fanout.c: the command-line client of fanoutd.
 *
 * Talks HTTP over the daemon's Unix socket with libcurl and prints what the
 * daemon answers: whole replies, or stream lines as they arrive. Exit
 * status: 0 when the batch ran (even if requests in it failed) or the
 * daemon is healthy; 1 on an API error or an unhealthy daemon; 2 when the
 * daemon cannot be reached; 130 when interrupted (Ctrl-C closes the
 * connection, which cancels a wait or stream batch in the daemon).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#define DEFAULT_SOCKET	"/run/fanoutd/fanoutd.sock"
#define EXIT_API	1
#define EXIT_UNREACH	2
#define EXIT_INTR	130

struct buf {
	char	*data;
	size_t	 len, cap;
};

/* A reply read as it arrives: whole lines go to on_line. */
struct reader {
	CURL		*curl;
	long		 status;	/* known once the body starts */
	struct buf	 pending;	/* part of a line, or an error body */
	void		(*on_line)(const char *, size_t, void *);
	void		*arg;
};

/* What `fanout get` shows while a stream runs. */
struct progress {
	int		 bar;		/* draw a bar on stderr */
	int		 json;		/* print the raw lines */
	int		 report;	/* a table per origin at the end */
	json_t		*summary;	/* the stream's summary line */
	size_t		 total, done, errors;
	double		 started;
};

static const char *sockpath;
static volatile sig_atomic_t interrupted;
static const char *intr_note = "";	/* what Ctrl-C means here */

static void
die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3),
    noreturn));

static void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("fanout: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void
on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 65536;
		if ((b->data = realloc(b->data, b->cap)) == NULL)
			die(EXIT_API, "out of memory");
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Body bytes: split into lines on a 2xx, keep whole otherwise. */
static size_t
write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct reader *r = arg;
	size_t len = size * n, start = 0, i;

	if (r->status == 0)
		curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->on_line == NULL || r->status < 200 || r->status > 299) {
		buf_add(&r->pending, p, len);
		return len;
	}
	for (i = 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		buf_add(&r->pending, p + start, i - start);
		r->on_line(r->pending.data, r->pending.len, r->arg);
		r->pending.len = 0;
		start = i + 1;
	}
	buf_add(&r->pending, p + start, len - start);
	return len;
}

/* Ctrl-C aborts the transfer (curl calls this at least once a second). */
static int
xferinfo_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	(void)arg;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return interrupted;
}

/*
 * One request to the daemon. With on_line, 2xx bodies are handed over
 * line by line as they arrive; otherwise the body ends up in r->pending.
 * Returns the HTTP status; exits 2 when the daemon cannot be reached.
 */
static long
call(struct reader *r, const char *method, const char *path,
    const char *body, size_t len)
{
	struct curl_slist *h = NULL;
	char url[256], err[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	if ((r->curl = curl_easy_init()) == NULL)
		die(EXIT_API, "curl_easy_init failed");
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(r->curl, CURLOPT_URL, url);
	curl_easy_setopt(r->curl, CURLOPT_UNIX_SOCKET_PATH, sockpath);
	curl_easy_setopt(r->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(r->curl, CURLOPT_PROXY, "");
	curl_easy_setopt(r->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(r->curl, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	if (body != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body);
	}
	rc = curl_easy_perform(r->curl);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		if (isatty(2))
			fputs("\r\033[K", stderr);
		fprintf(stderr, "fanout: interrupted%s\n", intr_note);
		exit(EXIT_INTR);
	}
	if (rc == CURLE_COULDNT_CONNECT)
		die(EXIT_UNREACH, "cannot reach fanoutd at %s: %s", sockpath,
		    err[0] ? err : curl_easy_strerror(rc));
	if (rc != CURLE_OK)
		die(EXIT_UNREACH, "talking to fanoutd at %s: %s", sockpath,
		    err[0] ? err : curl_easy_strerror(rc));
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(r->curl);
	r->curl = NULL;
	return r->status;
}

/* Print an API error's message to stderr and exit 1. */
static void
api_error(long status, const struct buf *b)
{
	json_t *j = json_loadb(b->data ? b->data : "", b->len, 0, NULL);
	const char *code = NULL, *msg = NULL, *path = NULL;

	if (j != NULL)
		json_unpack(json_object_get(j, "error"), "{s?s,s?s,s?s}",
		    "code", &code, "message", &msg, "path", &path);
	fprintf(stderr, "fanout: error %ld %s: %s%s%s\n", status,
	    code ? code : "?", msg ? msg : (b->data ? b->data : ""),
	    path ? " at " : "", path ? path : "");
	json_decref(j);
	exit(EXIT_API);
}

/* A plain request whose 2xx body is printed as it is. */
static int
simple(const char *method, const char *path)
{
	struct reader r = { 0 };
	long status = call(&r, method, path, NULL, 0);

	if (status < 200 || status > 299)
		api_error(status, &r.pending);
	if (r.pending.data != NULL)
		fwrite(r.pending.data, 1, r.pending.len, stdout);
	free(r.pending.data);
	return 0;
}

static void
read_all(FILE *fp, struct buf *b)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(b, chunk, n);
	if (ferror(fp))
		die(EXIT_API, "read: %s", strerror(errno));
}

static void
print_line(const char *line, size_t len, void *arg)
{
	(void)arg;
	fwrite(line, 1, len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Set "mode" in a batch document; returns the new text (caller frees). */
static char *
with_mode(const struct buf *in, const char *mode)
{
	json_error_t e;
	json_t *j = json_loadb(in->data ? in->data : "", in->len, 0, &e);
	char *s;

	if (j == NULL || !json_is_object(j))
		die(EXIT_API, "the batch is not a JSON object: %s", j ? "" :
		    e.text);
	json_object_set_new(j, "mode", json_string(mode));
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static int
cmd_submit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stream", no_argument, NULL, 's' },
		{ "async", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct buf in = { 0 };
	struct reader r = { 0 };
	const char *mode = NULL;
	char *body = NULL;
	json_t *j;
	FILE *fp = stdin;
	long status;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': mode = "stream"; break;
		case 'a': mode = "async"; break;
		case 'h':
			printf("usage: fanout submit [--stream | --async] "
			    "[FILE|-]\nSend a batch (JSON, see docs/api.md); "
			    "print the reply, the stream lines as "
			    "they\narrive, "
			    "or with --async the batch id.\n");
			return 0;
		default: return EXIT_API;
		}
	}
	if (argc - optind > 1)
		die(EXIT_API, "usage: fanout submit [--stream|--async] "
		    "[FILE|-]");
	if (optind < argc && strcmp(argv[optind], "-") != 0 &&
	    (fp = fopen(argv[optind], "r")) == NULL)
		die(EXIT_API, "%s: %s", argv[optind], strerror(errno));
	read_all(fp, &in);
	if (fp != stdin)
		fclose(fp);
	if (mode != NULL)
		body = with_mode(&in, mode);
	if (mode != NULL && strcmp(mode, "stream") == 0)
		r.on_line = print_line;
	if (mode == NULL || strcmp(mode, "async") != 0)
		intr_note = "; the batch is cancelled";
	status = call(&r, "POST", "/v1/batches", body ? body : in.data ?
	    in.data : "", body ? strlen(body) : in.len);
	if (status != 200 && status != 202)
		api_error(status, &r.pending);
	if (status == 202) {
		j = json_loadb(r.pending.data, r.pending.len, 0, NULL);
		printf("%s\n", json_string_value(json_object_get(j,
		    "batch_id")));
		json_decref(j);
	} else if (r.on_line == NULL)
		fwrite(r.pending.data, 1, r.pending.len, stdout);
	free(in.data);
	free(body);
	free(r.pending.data);
	return 0;
}

static void
get_usage(FILE *fp)
{
	fprintf(fp, "usage: fanout get [-c N] [-t MS] [-X METHOD] "
	    "[-H 'Name: value']... [--rate R]\n"
	    "                  [--retries N] [--deadline MS] [--json] "
	    "[--quiet] [--report] [URL...]\n"
	    "Fetch the URLs (or one per line on stdin) as one streamed batch; "
	    "print\nSTATUS TOTAL_MS BYTES URL [error] per result as it "
	    "arrives, or the raw\nstream lines with --json. On a terminal a "
	    "progress bar runs on stderr.\n--report ends with a summary per "
	    "origin: counts, errors, latency quantiles.\n");
}

/* Add "Name: value" to the headers object. */
static void
add_header_arg(json_t *headers, const char *arg)
{
	const char *colon = strchr(arg, ':');
	char *name;

	if (colon == NULL || colon == arg)
		die(EXIT_API, "bad header \"%s\" (want 'Name: value')", arg);
	name = strndup(arg, (size_t)(colon - arg));
	colon++;
	while (*colon == ' ' || *colon == '\t')
		colon++;
	json_object_set_new(headers, name, json_string(colon));
	free(name);
}

static void
draw_bar(struct progress *p, int last)
{
	double el = now_s() - p->started, rate = el > 0 ? p->done / el : 0;
	double eta = rate > 0 ? (p->total - p->done) / rate : 0;

	if (!p->bar)
		return;
	if (last) {
		fputs("\r\033[K", stderr);
		return;
	}
	fprintf(stderr, "\r\033[K%zu/%zu %3.0f%%  %.0f req/s  %zu errors  "
	    "ETA %.0fs", p->done, p->total, p->total ? 100.0 * p->done /
	    p->total : 0, rate, p->errors, eta);
}

/* A stream line: a row per result, and the bar. */
static void
get_line(const char *line, size_t len, void *arg)
{
	struct progress *p = arg;
	json_t *j = json_loadb(line, len, 0, NULL), *err;
	const char *type = json_string_value(json_object_get(j, "type"));

	if (p->json)
		print_line(line, len, NULL);
	if (type == NULL) {
		json_decref(j);
		return;
	}
	if (strcmp(type, "batch") == 0)
		p->total = (size_t)json_integer_value(json_object_get(j,
		    "total"));
	else if (strcmp(type, "result") == 0) {
		p->done++;
		err = json_object_get(j, "error");
		if (json_is_object(err))
			p->errors++;
		if (!p->json) {
			draw_bar(p, 1);
			printf("%lld %.1f %lld %s",
			    (long long)json_integer_value(json_object_get(j,
			    "status")), json_number_value(json_object_get(
			    json_object_get(j, "timings"), "total_ms")),
			    (long long)json_integer_value(json_object_get(j,
			    "body_bytes")), json_string_value(
			    json_object_get(j, "url")));
			if (json_is_object(err))
				printf(" %s: %s", json_string_value(
				    json_object_get(err, "code")),
				    json_string_value(json_object_get(err,
				    "message")));
			putchar('\n');
			fflush(stdout);
		}
		draw_bar(p, 0);
	} else if (strcmp(type, "summary") == 0) {
		json_decref(p->summary);
		p->summary = json_incref(j);
	} else if (strcmp(type, "error") == 0) {
		err = json_object_get(j, "error");
		draw_bar(p, 1);
		fprintf(stderr, "fanout: the stream ended early: %s\n",
		    json_string_value(json_object_get(err, "message")));
	}
	json_decref(j);
}

/* "  total_ms   p50 12.100  p90 ...": one latency line of the report. */
static void
report_latency(const char *name, json_t *q)
{
	static const char *const keys[] = { "p50", "p90", "p99", "max" };
	size_t i;

	printf("  %-10s", name);
	if (!json_is_object(q)) {
		printf(" -\n");
		return;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		printf(" %s %.3f", keys[i], json_number_value(
		    json_object_get(q, keys[i])));
	putchar('\n');
}

/*
 * --report: the stream summary's hosts as a block per origin (requests,
 * responses by class, errors by code, latency), then the batch's totals.
 */
static void
print_report(json_t *sum)
{
	static const char *const classes[] = { "1xx", "2xx", "3xx", "4xx",
		"5xx" };
	const char *origin, *code;
	json_t *h, *errs, *n;
	long long nerr;
	size_t i;

	if (sum == NULL)
		return;
	json_object_foreach(json_object_get(sum, "hosts"), origin, h) {
		printf("%s\n  requests   %lld  ", origin, (long long)
		    json_integer_value(json_object_get(h, "count")));
		for (i = 0; i < 5; i++)
			printf(" %s %lld", classes[i], (long long)
			    json_integer_value(json_object_get(json_object_get(
			    h, "responses"), classes[i])));
		errs = json_object_get(h, "errors");
		nerr = 0;
		json_object_foreach(errs, code, n)
			nerr += json_integer_value(n);
		printf("   errors %lld", nerr);
		i = 0;
		json_object_foreach(errs, code, n)
			printf("%s%s %lld", i++ ? ", " : " (", code,
			    (long long)json_integer_value(n));
		printf("%s\n", i ? ")" : "");
		report_latency("total_ms", json_object_get(h, "total_ms"));
		report_latency("ttfb_ms", json_object_get(h, "ttfb_ms"));
	}
	printf("batch: %lld requests, %lld responses, %lld errors in %.3f "
	    "ms\n", (long long)json_integer_value(json_object_get(sum,
	    "total")), (long long)json_integer_value(json_object_get(sum,
	    "responses")), (long long)json_integer_value(json_object_get(sum,
	    "errors")), json_number_value(json_object_get(sum, "elapsed_ms")));
}

/* "20", "20/s", "100/m", "10/h": requests per second. */
static double
parse_rate(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v <= 0)
		die(EXIT_API, "bad rate \"%s\" (want 20, 20/s, 100/m or 10/h)",
		    s);
	if (strcmp(end, "/m") == 0)
		v /= 60;
	else if (strcmp(end, "/h") == 0)
		v /= 3600;
	else if (*end != '\0' && strcmp(end, "/s") != 0)
		die(EXIT_API, "bad rate unit in \"%s\"", s);
	return v;
}

static void
read_urls(json_t *reqs)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n > 0)
			json_array_append_new(reqs, json_pack("{s:s}", "url",
			    line));
	}
	free(line);
}

/* The POST body of fanout get: the batch, its defaults and requests. */
static char *
get_body(json_t *batch, json_t *defs, json_t *hdrs, json_t *reqs)
{
	char *body;

	if (json_object_size(hdrs) > 0)
		json_object_set_new(defs, "headers", hdrs);
	else
		json_decref(hdrs);
	json_object_set_new(batch, "requests", reqs);
	if (json_object_size(defs) > 0)
		json_object_set_new(batch, "defaults", defs);
	else
		json_decref(defs);
	body = json_dumps(batch, JSON_COMPACT);
	json_decref(batch);
	return body;
}

static int
cmd_get(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "concurrency", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "method", required_argument, NULL, 'X' },
		{ "header", required_argument, NULL, 'H' },
		{ "rate", required_argument, NULL, 'r' },
		{ "retries", required_argument, NULL, 'R' },
		{ "deadline", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "report", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	json_t *batch = json_pack("{s:s}", "mode", "stream"), *reqs =
	    json_array(), *defs = json_object(), *hdrs = json_object();
	struct progress p = { 0 };
	struct reader r = { 0 };
	int ch, quiet = 0;
	char *body;
	long status;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:t:X:H:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			json_object_set_new(batch, "concurrency",
			    json_integer(atoll(optarg)));
			break;
		case 't':
			json_object_set_new(defs, "timeout_ms",
			    json_integer(atoll(optarg)));
			break;
		case 'X':
			json_object_set_new(defs, "method",
			    json_string(optarg));
			break;
		case 'H': add_header_arg(hdrs, optarg); break;
		case 'r':
			json_object_set_new(batch, "rate", json_pack("{s:f}",
			    "per_second", parse_rate(optarg)));
			break;
		case 'R':
			json_object_set_new(defs, "retries",
			    json_integer(atoll(optarg)));
			break;
		case 'd':
			json_object_set_new(batch, "deadline_ms",
			    json_integer(atoll(optarg)));
			break;
		case 'j': p.json = 1; break;
		case 'q': quiet = 1; break;
		case 'P': p.report = 1; break;
		case 'h': get_usage(stdout); return 0;
		default: get_usage(stderr); return EXIT_API;
		}
	}
	for (; optind < argc; optind++)
		json_array_append_new(reqs, json_pack("{s:s}", "url",
		    argv[optind]));
	if (json_array_size(reqs) == 0)
		read_urls(reqs);
	body = get_body(batch, defs, hdrs, reqs);
	p.bar = !quiet && !p.json && isatty(2);
	p.started = now_s();
	r.on_line = get_line;
	r.arg = &p;
	intr_note = "; the batch is cancelled";
	status = call(&r, "POST", "/v1/batches", body, strlen(body));
	draw_bar(&p, 1);
	free(body);
	if (status != 200)
		api_error(status, &r.pending);
	free(r.pending.data);
	if (p.report)
		print_report(p.summary);
	json_decref(p.summary);
	return 0;
}

/* GET /v1/batches/ID until it has ended; prints it like a wait reply. */
static int
cmd_wait(const char *id)
{
	char path[128];
	struct reader r;
	const char *state;
	useconds_t nap = 100000;
	json_t *j, *out;
	long status;
	char *s;

	snprintf(path, sizeof(path), "/v1/batches/%s", id);
	for (;;) {
		memset(&r, 0, sizeof(r));
		if ((status = call(&r, "GET", path, NULL, 0)) != 200)
			api_error(status, &r.pending);
		j = json_loadb(r.pending.data, r.pending.len, 0, NULL);
		free(r.pending.data);
		state = json_string_value(json_object_get(j, "state"));
		if (state != NULL && (strcmp(state, "done") == 0 ||
		    strcmp(state, "cancelled") == 0))
			break;
		json_decref(j);
		usleep(nap);
		if (nap < 1000000)
			nap *= 2;
	}
	json_decref(j);
	snprintf(path, sizeof(path), "/v1/batches/%s?results=1", id);
	memset(&r, 0, sizeof(r));
	if ((status = call(&r, "GET", path, NULL, 0)) != 200)
		api_error(status, &r.pending);
	j = json_loadb(r.pending.data, r.pending.len, 0, NULL);
	out = json_pack("{s:O,s:O,s:O}", "batch_id", json_object_get(j,
	    "batch_id"), "summary", json_object_get(j, "summary"), "results",
	    json_object_get(j, "results"));
	s = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15));
	printf("%s\n", s);
	free(s);
	json_decref(out);
	json_decref(j);
	free(r.pending.data);
	return 0;
}

/* status, wait, results, cancel, list: the batch resources. */
static int
cmd_batch(int argc, char **argv)
{
	const char *cmd = argv[0], *after = NULL;
	char path[160];

	if (strcmp(cmd, "list") == 0)
		return simple("GET", "/v1/batches");
	if (argc >= 4 && strcmp(cmd, "results") == 0 &&
	    strcmp(argv[2], "--after") == 0)
		after = argv[3];
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0 || (argc > 2 && after == NULL)) {
		printf("usage: fanout %s ID%s\n", cmd, strcmp(cmd, "results") ?
		    "" : " [--after K]");
		return argc < 2 || argc > 2 ? EXIT_API : 0;
	}
	if (strspn(argv[1], "0123456789abcdef") != strlen(argv[1]) ||
	    strlen(argv[1]) != 32)
		die(EXIT_API, "\"%s\" is not a batch id", argv[1]);
	if (strcmp(cmd, "wait") == 0)
		return cmd_wait(argv[1]);
	if (strcmp(cmd, "results") == 0) {
		snprintf(path, sizeof(path), "/v1/batches/%s/results%s%s",
		    argv[1], after ? "?after=" : "", after ? after : "");
		return simple("GET", path);
	}
	snprintf(path, sizeof(path), "/v1/batches/%s", argv[1]);
	return simple(strcmp(cmd, "cancel") == 0 ? "DELETE" : "GET", path);
}

static int
cmd_health(int argc, char **argv)
{
	struct reader r = { 0 };
	const char *path = "/healthz";
	long status;

	if (argc > 1 && strcmp(argv[1], "--ready") == 0)
		path = "/readyz";
	else if (argc > 1) {
		printf("usage: fanout health [--ready]\n"
		    "Print the daemon's health (with --ready: whether it takes "
		    "new batches);\nexit 0 healthy or ready, 1 not, 2 "
		    "unreachable.\n");
		return strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "--help") == 0 ? 0 : EXIT_API;
	}
	status = call(&r, "GET", path, NULL, 0);
	if (r.pending.data != NULL)
		fwrite(r.pending.data, 1, r.pending.len, stdout);
	free(r.pending.data);
	return status == 200 ? 0 : EXIT_API;
}

/* One host's row of `fanout stats`. */
static void
stats_host(json_t *h)
{
	json_t *resp = json_object_get(h, "responses"), *errs =
	    json_object_get(h, "errors"), *v;
	json_t *dur = json_object_get(h, "attempt_duration");
	long long nerr = 0;
	const char *k;
	double n = json_number_value(json_object_get(dur, "count"));

	json_object_foreach(errs, k, v)
		nerr += json_integer_value(v);
	printf("  %-40s %8lld %7lld %6lld %6lld %6lld %7lld %7lld %8.1f %s\n",
	    json_string_value(json_object_get(h, "host")),
	    (long long)json_integer_value(json_object_get(h, "attempts")),
	    (long long)json_integer_value(json_object_get(resp, "2xx")),
	    (long long)json_integer_value(json_object_get(resp, "3xx")),
	    (long long)json_integer_value(json_object_get(resp, "4xx")),
	    (long long)json_integer_value(json_object_get(resp, "5xx")),
	    nerr, (long long)json_integer_value(json_object_get(h,
	    "retries")), n > 0 ? 1000 * json_number_value(json_object_get(dur,
	    "sum_seconds")) / n : 0.0, json_is_string(json_object_get(h,
	    "breaker")) ? json_string_value(json_object_get(h, "breaker")) :
	    "-");
}

/* GET /v1/stats, printed for people. */
static int
cmd_stats(int argc, char **argv)
{
	struct reader r = { 0 };
	json_t *j, *b, *p, *h;
	const char *mode;
	size_t i;
	long status;

	if (argc > 1) {
		printf("usage: fanout stats\nPrint the daemon's figures "
		    "(GET /v1/stats) for people.\n");
		return strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "--help") == 0 ? 0 : EXIT_API;
	}
	if ((status = call(&r, "GET", "/v1/stats", NULL, 0)) != 200)
		api_error(status, &r.pending);
	j = json_loadb(r.pending.data, r.pending.len, 0, NULL);
	b = json_object_get(j, "batches");
	p = json_object_get(j, "process");
	printf("fanoutd %s (curl %s), up %.0f s\n", json_string_value(
	    json_object_get(j, "version")), json_string_value(json_object_get(
	    j, "curl")), json_number_value(json_object_get(j, "uptime_s")));
	printf("batches: %lld open;", (long long)json_integer_value(
	    json_object_get(b, "open")));
	json_object_foreach(b, mode, h)
		if (json_is_object(h))
			printf(" %s %lld done, %lld cancelled;", mode,
			    (long long)json_integer_value(json_object_get(h,
			    "done")), (long long)json_integer_value(
			    json_object_get(h, "cancelled")));
	printf("\nrequests: %lld in flight, %lld queued; retained results "
	    "%lld bytes\nprocess: %.1f MiB resident, %lld open files\n",
	    (long long)json_integer_value(json_object_get(j, "inflight")),
	    (long long)json_integer_value(json_object_get(j, "queued")),
	    (long long)json_integer_value(json_object_get(j,
	    "retained_result_bytes")), json_number_value(json_object_get(p,
	    "resident_bytes")) / 1048576.0, (long long)json_integer_value(
	    json_object_get(p, "open_fds")));
	printf("hosts, busiest first:\n  %-40s %8s %7s %6s %6s %6s %7s %7s "
	    "%8s %s\n", "HOST", "ATTEMPTS", "2XX", "3XX", "4XX", "5XX",
	    "ERRORS", "RETRIES", "MEAN_MS", "BREAKER");
	json_array_foreach(json_object_get(j, "hosts"), i, h)
		stats_host(h);
	json_decref(j);
	free(r.pending.data);
	return 0;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: fanout [-s PATH] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  submit [--stream|--async] [FILE|-]  send a batch file\n"
	    "  get [OPTS] [URL...]   fetch URLs as one streamed batch\n"
	    "  status ID             a batch's state and progress\n"
	    "  wait ID               wait for a batch, print its results\n"
	    "  results ID [--after K]  its finished results (NDJSON)\n"
	    "  cancel ID             cancel a batch\n"
	    "  list                  the batches you may see\n"
	    "  health [--ready]      the daemon's health, or readiness\n"
	    "  stats                 the daemon's figures, for people\n"
	    "\n"
	    "  -s, --socket PATH  daemon socket (default $FANOUT_SOCKET or\n"
	    "                     %s)\n"
	    "  -h, --help         this help; COMMAND --help for a command's "
	    "options\n",
	    DEFAULT_SOCKET);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const batch_cmds[] = { "status", "wait", "results",
		"cancel", "list" };
	size_t i;
	int ch, rc;

	if ((sockpath = getenv("FANOUT_SOCKET")) == NULL || *sockpath == '\0')
		sockpath = DEFAULT_SOCKET;
	while ((ch = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': sockpath = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_API;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EXIT_API;
	}
	signal(SIGINT, on_sigint);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = -1;
	if (strcmp(argv[0], "submit") == 0)
		rc = cmd_submit(argc, argv);
	else if (strcmp(argv[0], "get") == 0)
		rc = cmd_get(argc, argv);
	else if (strcmp(argv[0], "health") == 0)
		rc = cmd_health(argc, argv);
	else if (strcmp(argv[0], "stats") == 0)
		rc = cmd_stats(argc, argv);
	for (i = 0; rc == -1 && i < sizeof(batch_cmds) / sizeof(*batch_cmds);
	    i++)
		if (strcmp(argv[0], batch_cmds[i]) == 0)
			rc = cmd_batch(argc, argv);
	if (rc == -1) {
		fprintf(stderr, "fanout: unknown command \"%s\"\n", argv[0]);
		usage(stderr);
		rc = EXIT_API;
	}
	curl_global_cleanup();
	return rc;
}
