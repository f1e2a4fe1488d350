/*
 * fanout.c: the command-line client of fanoutd.
 *
 * Talks HTTP over the daemon's Unix socket with libcurl and prints what the
 * daemon answers. Exit status: 0 when the batch ran (even if requests in it
 * failed) or the daemon is healthy; 1 on an API error or an unhealthy
 * daemon; 2 when the daemon cannot be reached.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#define DEFAULT_SOCKET	"/run/fanoutd/fanoutd.sock"
#define EXIT_API	1
#define EXIT_UNREACH	2

struct buf {
	char	*data;
	size_t	 len, cap;
};

static const char *sockpath;

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

static size_t
write_cb(char *p, size_t size, size_t n, void *arg)
{
	buf_add(arg, p, size * n);
	return size * n;
}

/* One request to the daemon; returns the HTTP status, body in *out. */
static long
call(const char *method, const char *path, const char *body, size_t len,
    struct buf *out)
{
	struct curl_slist *h = NULL;
	char url[256], err[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	long status = 0;
	CURL *c;

	if ((c = curl_easy_init()) == NULL)
		die(EXIT_API, "curl_easy_init failed");
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sockpath);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (body != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_COULDNT_CONNECT)
		die(EXIT_UNREACH, "cannot reach fanoutd at %s: %s", sockpath,
		    err[0] ? err : curl_easy_strerror(rc));
	if (rc != CURLE_OK)
		die(EXIT_UNREACH, "talking to fanoutd at %s: %s", sockpath,
		    err[0] ? err : curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
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

static int
cmd_submit(int argc, char **argv)
{
	struct buf in = { 0 }, out = { 0 };
	FILE *fp = stdin;
	long status;

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		printf("usage: fanout submit [FILE|-]\n"
		    "Send a batch (JSON, see docs/api.md) and print the "
		    "reply.\n");
		return 0;
	}
	if (argc > 2)
		die(EXIT_API, "usage: fanout submit [FILE|-]");
	if (argc == 2 && strcmp(argv[1], "-") != 0 &&
	    (fp = fopen(argv[1], "r")) == NULL)
		die(EXIT_API, "%s: %s", argv[1], strerror(errno));
	read_all(fp, &in);
	if (fp != stdin)
		fclose(fp);
	status = call("POST", "/v1/batches", in.data ? in.data : "", in.len,
	    &out);
	if (status != 200)
		api_error(status, &out);
	fwrite(out.data, 1, out.len, stdout);
	free(in.data);
	free(out.data);
	return 0;
}

static void
get_usage(FILE *fp)
{
	fprintf(fp, "usage: fanout get [-c N] [-t MS] [-X METHOD] "
	    "[-H 'Name: value']... [--json] [URL...]\n"
	    "Fetch the URLs (or one per line on stdin) as one batch; print\n"
	    "STATUS TOTAL_MS BYTES URL [error] per result, or the reply with "
	    "--json.\n");
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
add_url(json_t *reqs, const char *url)
{
	json_array_append_new(reqs, json_pack("{s:s}", "url", url));
}

static void
print_rows(const struct buf *out)
{
	json_t *reply, *results, *r, *err;
	size_t i;

	if ((reply = json_loadb(out->data, out->len, 0, NULL)) == NULL)
		die(EXIT_API, "the daemon's reply is not JSON");
	results = json_object_get(reply, "results");
	json_array_foreach(results, i, r) {
		err = json_object_get(r, "error");
		printf("%lld %.1f %lld %s",
		    (long long)json_integer_value(json_object_get(r, "status")),
		    json_number_value(json_object_get(json_object_get(r,
		    "timings"), "total_ms")),
		    (long long)json_integer_value(json_object_get(r,
		    "body_bytes")),
		    json_string_value(json_object_get(r, "url")));
		if (json_is_object(err))
			printf(" %s: %s", json_string_value(json_object_get(err,
			    "code")), json_string_value(json_object_get(err,
			    "message")));
		putchar('\n');
	}
	json_decref(reply);
}

static int
cmd_get(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "concurrency", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "method", required_argument, NULL, 'X' },
		{ "header", required_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	json_t *batch = json_object(), *reqs = json_array(), *defs =
	    json_object(), *hdrs = json_object();
	struct buf out = { 0 };
	char *line = NULL, *body;
	size_t cap = 0;
	ssize_t n;
	int ch, as_json = 0;
	long status;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:t:X:H:h", opts, NULL)) != -1) {
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
		case 'j': as_json = 1; break;
		case 'h': get_usage(stdout); return 0;
		default: get_usage(stderr); return EXIT_API;
		}
	}
	for (; optind < argc; optind++)
		add_url(reqs, argv[optind]);
	if (json_array_size(reqs) == 0) {
		while ((n = getline(&line, &cap, stdin)) > 0) {
			while (n > 0 && (line[n - 1] == '\n' ||
			    line[n - 1] == '\r'))
				line[--n] = '\0';
			if (n > 0)
				add_url(reqs, line);
		}
		free(line);
	}
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
	status = call("POST", "/v1/batches", body, strlen(body), &out);
	free(body);
	if (status != 200)
		api_error(status, &out);
	if (as_json)
		fwrite(out.data, 1, out.len, stdout);
	else
		print_rows(&out);
	free(out.data);
	return 0;
}

static int
cmd_health(int argc, char **argv)
{
	struct buf out = { 0 };
	long status;

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		printf("usage: fanout health\n"
		    "Print the daemon's health; exit 0 "
		    "healthy, 1 not, 2 unreachable.\n");
		return 0;
	}
	status = call("GET", "/healthz", NULL, 0, &out);
	if (out.data != NULL)
		fwrite(out.data, 1, out.len, stdout);
	free(out.data);
	return status == 200 ? 0 : EXIT_API;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: fanout [-s PATH] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  submit [FILE|-]   send a batch file, print the reply JSON\n"
	    "  get [OPTS] [URL...]  fetch URLs as one batch, one line each\n"
	    "  health            print the daemon's health\n"
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
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(argv[0], "submit") == 0)
		rc = cmd_submit(argc, argv);
	else if (strcmp(argv[0], "get") == 0)
		rc = cmd_get(argc, argv);
	else if (strcmp(argv[0], "health") == 0)
		rc = cmd_health(argc, argv);
	else {
		fprintf(stderr, "fanout: unknown command \"%s\"\n", argv[0]);
		usage(stderr);
		rc = EXIT_API;
	}
	curl_global_cleanup();
	return rc;
}
