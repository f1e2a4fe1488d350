/*
 * batch.c: turning a client's JSON into a batch of jobs, or a precise 4xx.
 *
 * Everything a client sends is checked here, before anything is dispatched:
 * an invalid batch is rejected whole with the path of the field at fault
 * ("requests[3].url"), so a client can fix its input without guessing. The
 * parsed jobs own copies of what they need; the JSON tree is freed before
 * the batch runs.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <jansson.h>

#include "base64.h"
#include "batch.h"
#include "budget.h"
#include "config.h"
#include "cookiejar.h"
#include "http_url.h"
#include "jsonscan.h"
#include "jsonw.h"
#include "log.h"
#include "urlenc.h"
#include "xmalloc.h"

#define MAX_METHOD_LEN	32
#define MAX_CONCURRENCY	1000000

/* The ways to give a request a body: at most one per request. */
enum body_kind { BODY_TEXT, BODY_BASE64, BODY_JSON, BODY_FORM, NBODY };

/* The fields the table does not cover (borrowed from the JSON tree). */
struct fields {
	json_t	*url, *id, *method, *headers, *params, *auth;
	json_t	*body[NBODY];	/* body_kinds[]' */
};

enum field_kind {
	FIELD_UINT,		/* an integer in min..max (or the config's) */
	FIELD_BOOL,
	FIELD_RETRY_ON,		/* statuses and error codes */
	FIELD_CHOICE		/* one of the row's words, as its index */
};

#define NO_CAP	((size_t)-1)
#define OPT(f)	offsetof(struct job_opts, f)
#define CAP(f)	offsetof(struct config, f)

/* In the order of enum http_version. */
static const char *const http_versions[] = { "auto", "1.1", "2", NULL };

/* In the order of enum result_body. */
static const char *const body_forms[] = { "auto", "text", "base64", "json",
	"none", "sha256", NULL };

/*
 * The settings a request may give or inherit from "defaults": one row
 * each, parsed the same way in both places (its bounds from the row or
 * from the configuration option `cap` names).
 */
static const struct field {
	const char	*name;
	enum field_kind	 kind;
	uint64_t	 min, max;
	size_t		 cap;		/* a config limit's offset, or NO_CAP */
	size_t		 off;		/* in struct job_opts */
	const char *const *choices;	/* FIELD_CHOICE's words */
} fields[] = {
	{ "timeout_ms", FIELD_UINT, 1, 0, CAP(max_timeout_ms),
	  OPT(timeout_ms), NULL },
	{ "connect_timeout_ms", FIELD_UINT, 1, 0, CAP(max_timeout_ms),
	  OPT(connect_timeout_ms), NULL },
	{ "max_response_bytes", FIELD_UINT, 0, 0,
	  CAP(max_response_bytes_limit), OPT(max_response_bytes), NULL },
	{ "retries", FIELD_UINT, 0, 0, CAP(max_retries), OPT(retries),
	  NULL },
	{ "retry_base_ms", FIELD_UINT, 0, 600000, NO_CAP, OPT(retry_base_ms),
	  NULL },
	{ "retry_max_ms", FIELD_UINT, 0, 3600000, NO_CAP, OPT(retry_max_ms),
	  NULL },
	{ "retry_on", FIELD_RETRY_ON, 0, 0, NO_CAP, OPT(retry_on), NULL },
	{ "retry_non_idempotent", FIELD_BOOL, 0, 0, NO_CAP, OPT(may_retry),
	  NULL },
	{ "follow_redirects", FIELD_BOOL, 0, 0, NO_CAP,
	  OPT(follow_redirects), NULL },
	{ "max_redirects", FIELD_UINT, 0, 0, CAP(max_redirects_limit),
	  OPT(max_redirects), NULL },
	{ "http_version", FIELD_CHOICE, 0, 0, NO_CAP, OPT(http_version),
	  http_versions },
	{ "decompress", FIELD_BOOL, 0, 0, NO_CAP, OPT(decompress), NULL },
	{ "response_body", FIELD_CHOICE, 0, 0, NO_CAP, OPT(response_body),
	  body_forms },
	{ "history", FIELD_BOOL, 0, 0, NO_CAP, OPT(history), NULL },
};
#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

static const char *const request_keys[] = { "url", "id", "body",
	"body_base64", "json", "form", "method", "headers", "params", "auth",
	NULL };
static const char *const default_keys[] = { "method", "headers", "params",
	"auth", NULL };
static const char *const batch_keys[] = { "requests", "defaults",
	"concurrency", "rate", "deadline_ms", "mode", "progress_ms", "cookies",
	NULL };
static const char *const mode_names[] = { "wait", "stream", "async" };

static int fail(struct batch_error *, int, const char *, const char *,
    const char *, ...) __attribute__((format(printf, 5, 6)));

static int
fail(struct batch_error *err, int status, const char *code, const char *path,
    const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->code = code;
	snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

#define INVALID(err, path, ...) \
	fail(err, 400, "invalid_batch", path, __VA_ARGS__)

/* Is key one of the field table's? */
static int
is_field(const char *key)
{
	size_t i;

	for (i = 0; i < NFIELDS; i++)
		if (strcmp(key, fields[i].name) == 0)
			return 1;
	return 0;
}

/*
 * Reject keys not in allowed (nor, with table, the field table's);
 * "path.key" names the first unknown one.
 */
static int
check_keys(json_t *obj, const char *const *allowed, int table,
    const char *path, struct batch_error *err)
{
	const char *key;
	json_t *v;
	size_t i;
	char p[96];

	json_object_foreach(obj, key, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL && !(table && is_field(key))) {
			snprintf(p, sizeof(p), "%s%s%.40s", path,
			    *path ? "." : "", key);
			return INVALID(err, p, "unknown field \"%.40s\"", key);
		}
	}
	return 0;
}

static void
collect(json_t *obj, struct fields *f)
{
	memset(f, 0, sizeof(*f));
	f->url = json_object_get(obj, "url");
	f->id = json_object_get(obj, "id");
	f->method = json_object_get(obj, "method");
	f->headers = json_object_get(obj, "headers");
	f->params = json_object_get(obj, "params");
	f->auth = json_object_get(obj, "auth");
	f->body[BODY_TEXT] = json_object_get(obj, "body");
	f->body[BODY_BASE64] = json_object_get(obj, "body_base64");
	f->body[BODY_JSON] = json_object_get(obj, "json");
	f->body[BODY_FORM] = json_object_get(obj, "form");
}

static int
get_bool(json_t *v, const char *path, int *out, struct batch_error *err)
{
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return INVALID(err, path, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

/* One of choices (a NULL-ended list): its index in *out. */
static int
get_choice(json_t *v, const char *path, const char *const *choices,
    int *out, struct batch_error *err)
{
	char list[128];
	size_t i, n = 0;

	if (v == NULL)
		return 0;
	for (i = 0; json_is_string(v) && choices[i] != NULL; i++)
		if (strcmp(json_string_value(v), choices[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	list[0] = '\0';
	for (i = 0; choices[i] != NULL && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s\"%s\"",
		    i == 0 ? "" : choices[i + 1] == NULL ? " or " : ", ",
		    choices[i]);
	return INVALID(err, path, "must be %s", list);
}

/* retry_on: statuses (100..599) and retryable error codes. */
static int
get_retry_on(json_t *v, const char *path, struct retry_on *on,
    struct batch_error *err)
{
	json_t *item;
	size_t i;
	char p[128];

	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return INVALID(err, path, "must be an array of statuses and "
		    "error codes");
	retry_on_clear(on);
	json_array_foreach(v, i, item) {
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (json_is_integer(item)) {
			if (retry_on_add_status(on,
			    (long)json_integer_value(item)) == -1)
				return INVALID(err, p, "status must be "
				    "100..599");
		} else if (!json_is_string(item) ||
		    retry_on_add_error(on, json_string_value(item)) == -1)
			return INVALID(err, p, "must be a status or one of "
			    "dns_failed, connect_failed, tls_failed, timeout, "
			    "connection_closed, protocol_error");
	}
	return 0;
}

/* An unsigned integer field within [min, max]; absent leaves *out alone. */
static int
get_uint(json_t *v, const char *path, uint64_t min, uint64_t max,
    uint64_t *out, struct batch_error *err)
{
	json_int_t n;

	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return INVALID(err, path, "must be an integer");
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return INVALID(err, path, "%lld is out of range (%llu..%llu)",
		    (long long)n, (unsigned long long)min,
		    (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

static int
is_tchar(unsigned char c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
is_token(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!is_tchar((unsigned char)s[i]) || i >= max)
			return 0;
	return i > 0;
}

/*
 * Headers that frame the message or belong to one connection (RFC 9112
 * section 6, RFC 9110 section 7.6.1). libcurl sends a caller's
 * Content-Length as given and then the whole body, so a short one makes the
 * rest of the body a second request on a kept-alive connection (request
 * smuggling); the others change how the upstream or a proxy reads the
 * stream. fanoutd frames every request itself.
 */
static const char *const framing_headers[] = { "Content-Length",
	"Transfer-Encoding", "Connection", "Keep-Alive", "TE", "Trailer",
	"Upgrade", "Proxy-Connection", "Proxy-Authorization", NULL };

/*
 * A Host header's value: host[:port], the host a name of letters, digits,
 * '-', '.' and '_' or an IPv6 literal in brackets, the port 1..65535.
 */
static int
valid_host(const char *s)
{
	const char *p = s, *close;
	char *end;
	unsigned long port;

	if (*p == '[') {
		if ((close = strchr(p, ']')) == NULL || close == p + 1 ||
		    strspn(p + 1, "0123456789abcdefABCDEF:.") !=
		    (size_t)(close - p - 1))
			return 0;
		p = close + 1;
	} else {
		while (isalnum((unsigned char)*p) || *p == '-' || *p == '.' ||
		    *p == '_')
			p++;
		if (p == s)
			return 0;
	}
	if (*p == '\0')
		return 1;
	if (*p != ':' || !isdigit((unsigned char)p[1]))
		return 0;
	port = strtoul(p + 1, &end, 10);
	return *end == '\0' && port >= 1 && port <= 65535 && end - p <= 6;
}

/* The rule a header breaks beyond its syntax, or NULL. */
static const char *
header_refused(const char *name, json_t *v)
{
	size_t i;

	for (i = 0; framing_headers[i] != NULL; i++)
		if (strcasecmp(name, framing_headers[i]) == 0)
			return "a framing or hop-by-hop header: fanoutd frames "
			    "the request and manages connections itself";
	if (strcasecmp(name, "Host") == 0 &&
	    !valid_host(json_string_value(v)))
		return "Host must be host[:port]";
	return NULL;
}

/*
 * Header names are tokens; values carry no CR, LF or NUL; no framing or
 * hop-by-hop header; Host is host[:port].
 */
static int
check_headers(json_t *h, const char *path, struct batch_error *err)
{
	const char *name, *why;
	json_t *v;
	char p[96];
	size_t vlen;

	if (h == NULL)
		return 0;
	if (!json_is_object(h))
		return INVALID(err, path, "must be an object of name: value");
	json_object_foreach(h, name, v) {
		snprintf(p, sizeof(p), "%s.%.40s", path, name);
		if (!is_token(name, 256))
			return INVALID(err, p, "invalid header name");
		if (!json_is_string(v))
			return INVALID(err, p, "header value must be a string");
		vlen = json_string_length(v);
		if (memchr(json_string_value(v), '\r', vlen) ||
		    memchr(json_string_value(v), '\n', vlen) ||
		    memchr(json_string_value(v), '\0', vlen))
			return INVALID(err, p,
			    "header value contains CR, LF or NUL");
		if ((why = header_refused(name, v)) != NULL)
			return INVALID(err, p, "%s", why);
	}
	return 0;
}

/* Is line ("Name: value") a header called name (any case)? */
static int
header_is(const char *line, const char *name, size_t n)
{
	return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

int
batch_default_skipped(const struct job *job, size_t i)
{
	const unsigned char *skip = job->spec.dskip;

	return skip != NULL && (skip[i / 8] & (1u << (i % 8)));
}

static int
has_header(const struct job *job, const char *name)
{
	const struct batch *b = job->batch;
	size_t i, n = strlen(name);

	for (i = 0; i < job->spec.nheaders; i++)
		if (header_is(job->spec.headers[i], name, n))
			return 1;
	for (i = 0; i < b->ndheaders; i++)
		if (!batch_default_skipped(job, i) &&
		    header_is(b->dheaders[i], name, n))
			return 1;
	return 0;
}

/*
 * The defaults' headers, once for the batch ("Name: value"), then the
 * Authorization line of their auth (taken; NULL: none).
 */
static void
default_headers(struct batch *b, json_t *def, char *auth)
{
	size_t n = json_object_size(def) + (auth != NULL);
	const char *name;
	json_t *v;

	if (n == 0)
		return;
	b->dheaders = xcalloc(n, sizeof(char *));
	json_object_foreach(def, name, v) {
		xasprintf(&b->dheaders[b->ndheaders], "%s: %s", name,
		    json_string_value(v));
		b->dheader_bytes += strlen(b->dheaders[b->ndheaders++]);
	}
	if (auth != NULL) {
		b->dheaders[b->ndheaders] = auth;
		b->dheader_bytes += strlen(b->dheaders[b->ndheaders++]);
	}
}

/* Mark the defaults' headers called name (n bytes) as overridden. */
static void
skip_defaults(struct job *job, const char *name, size_t n)
{
	const struct batch *b = job->batch;
	struct job_spec *s = &job->spec;
	size_t i;

	for (i = 0; i < b->ndheaders; i++) {
		if (!header_is(b->dheaders[i], name, n))
			continue;
		if (s->dskip == NULL)
			s->dskip = xcalloc((b->ndheaders + 7) / 8, 1);
		s->dskip[i / 8] |= (unsigned char)(1u << (i % 8));
	}
}

/* Add line ("Name: value", taken) to job's own headers, over defaults. */
static void
add_header(struct job *job, char *line)
{
	struct job_spec *s = &job->spec;

	/* room doubles at each power of two: linear in the headers */
	if (s->nheaders == 0 || (s->nheaders >= 4 &&
	    (s->nheaders & (s->nheaders - 1)) == 0))
		s->headers = xreallocarray(s->headers, s->nheaders ?
		    2 * s->nheaders : 4, sizeof(char *));
	s->headers[s->nheaders++] = line;
	skip_defaults(job, line, strcspn(line, ":"));
}

/*
 * The request's own headers, and which of the defaults' they override.
 * The defaults' are the batch's, never copied into each job: 100 default
 * headers of 640 bytes on 100,000 requests were 6.4 GB of copies from a
 * 3 MB body.
 */
static void
merge_headers(struct job *job, json_t *req)
{
	const char *name;
	json_t *v;
	char *line;

	json_object_foreach(req, name, v) {
		xasprintf(&line, "%s: %s", name, json_string_value(v));
		add_header(job, line);
	}
}

/* The merged headers within max_headers and max_header_bytes. */
static int
check_header_limits(const struct job *job, const char *path,
    const struct config *cfg, struct batch_error *err)
{
	const struct batch *b = job->batch;
	size_t i, bytes = b->dheader_bytes, count = b->ndheaders;

	for (i = 0; i < job->spec.nheaders; i++)
		bytes += strlen(job->spec.headers[i]);
	for (i = 0; job->spec.dskip != NULL && i < b->ndheaders; i++)
		if (batch_default_skipped(job, i)) {
			bytes -= strlen(b->dheaders[i]);
			count--;
		}
	count += job->spec.nheaders;
	if (count > cfg->max_headers)
		return INVALID(err, path, "%zu headers; at most %llu "
		    "(max_headers)", count,
		    (unsigned long long)cfg->max_headers);
	if (bytes > cfg->max_header_bytes)
		return INVALID(err, path, "%zu bytes of headers; at most %llu "
		    "(max_header_bytes)", bytes,
		    (unsigned long long)cfg->max_header_bytes);
	return 0;
}

/* A "params" or "form" value's text: a string, a number or a boolean. */
static int
pair_text(json_t *v, struct jsonw *w)
{
	if (json_is_string(v))
		jsonw_raw(w, json_string_value(v), json_string_length(v));
	else if (json_is_number(v) || json_is_boolean(v))
		jsonw_json(w, v);
	else
		return -1;
	return 0;
}

/*
 * The pairs of one "params" or "form" key, encoded ("k=v", "k=v&k=w" for
 * an array, "" for an empty array or null) and appended to out.
 */
static int
encode_key(const char *key, json_t *v, const char *path, struct urlbuf *out,
    struct batch_error *err)
{
	struct jsonw w;
	json_t *item;
	size_t i, n = json_is_array(v) ? json_array_size(v) : 1;
	char p[128];

	if (json_is_null(v))
		return 0;
	for (i = 0; i < n; i++) {
		item = json_is_array(v) ? json_array_get(v, i) : v;
		jsonw_init(&w, 64);
		if (pair_text(item, &w) == -1) {
			free(w.buf);
			if (json_is_array(v))
				snprintf(p, sizeof(p), "%s.%.40s[%zu]", path,
				    key, i);
			else
				snprintf(p, sizeof(p), "%s.%.40s", path, key);
			return INVALID(err, p, "must be a string, a number, "
			    "a boolean, an array of those, or null");
		}
		if (i > 0)
			urlbuf_add(out, "&", 1);
		urlenc_form(out, key, strlen(key));
		urlbuf_add(out, "=", 1);
		urlenc_form(out, w.buf, w.len);
		free(w.buf);
	}
	return 0;
}

/* Every key of a "params" or "form" object, joined by '&'. */
static int
encode_pairs(json_t *obj, const char *path, struct urlbuf *out,
    struct batch_error *err)
{
	const char *key;
	size_t mark;
	json_t *v;

	if (!json_is_object(obj))
		return INVALID(err, path, "must be an object of name: value");
	urlbuf_add(out, "", 0);
	json_object_foreach(obj, key, v) {
		mark = out->len;
		if (mark > 0)
			urlbuf_add(out, "&", 1);
		if (encode_key(key, v, path, out, err) == -1)
			return -1;
		if (out->len == mark + (mark > 0))	/* nothing: no '&' */
			out->buf[out->len = mark] = '\0';
	}
	return 0;
}

static int
body_text(struct job_spec *s, json_t *v, const char *p,
    struct batch_error *err)
{
	if (!json_is_string(v))
		return INVALID(err, p, "must be a string");
	s->body_len = json_string_length(v);
	s->body = xmemdup(json_string_value(v), s->body_len);
	return 0;
}

static int
body_base64(struct job_spec *s, json_t *v, const char *p,
    struct batch_error *err)
{
	if (json_is_string(v))
		s->body = base64_decode(json_string_value(v),
		    json_string_length(v), &s->body_len);
	if (s->body == NULL)
		return INVALID(err, p, "must be valid base64 (RFC 4648, "
		    "padded)");
	return 0;
}

static int
body_json(struct job_spec *s, json_t *v, const char *p,
    struct batch_error *err)
{
	struct jsonw w;

	(void)p;
	(void)err;
	jsonw_init(&w, 256);
	jsonw_json(&w, v);
	s->body = (unsigned char *)jsonw_steal(&w, &s->body_len);
	return 0;
}

static int
body_form(struct job_spec *s, json_t *v, const char *p,
    struct batch_error *err)
{
	struct urlbuf b;

	memset(&b, 0, sizeof(b));
	if (encode_pairs(v, p, &b, err) == -1) {
		free(b.buf);
		return -1;
	}
	s->body = (unsigned char *)b.buf;
	s->body_len = b.len;
	return 0;
}

/* The body fields, in enum body_kind's order. */
static const struct body_kind_row {
	const char	*name;
	const char	*type;		/* the Content-Type it implies */
	int		(*parse)(struct job_spec *, json_t *, const char *,
			    struct batch_error *);
} body_kinds[NBODY] = {
	{ "body", NULL, body_text },
	{ "body_base64", NULL, body_base64 },
	{ "json", "application/json", body_json },
	{ "form", "application/x-www-form-urlencoded", body_form },
};

/*
 * The request's body from the one body field it gives (null is none),
 * and the Content-Type that field implies unless a header sets one.
 */
static int
parse_body(struct job *job, struct fields *f, const char *path,
    struct batch_error *err)
{
	size_t i, which = NBODY;
	char p[96], *line;

	for (i = 0; i < NBODY; i++) {
		if (f->body[i] == NULL || json_is_null(f->body[i]))
			continue;
		snprintf(p, sizeof(p), "%s.%s", path, body_kinds[i].name);
		if (which != NBODY)
			return INVALID(err, p, "%s and %s are exclusive: a "
			    "request has one body", body_kinds[which].name,
			    body_kinds[i].name);
		which = i;
	}
	if (which == NBODY)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, body_kinds[which].name);
	if (body_kinds[which].parse(&job->spec, f->body[which], p, err) == -1)
		return -1;
	if (body_kinds[which].type != NULL &&
	    !has_header(job, "Content-Type")) {
		xasprintf(&line, "Content-Type: %s", body_kinds[which].type);
		add_header(job, line);
	}
	return 0;
}

static int
is_token68(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (isalnum((unsigned char)s[i]) || (s[i] != '\0' &&
	    strchr("-._~+/", s[i]) != NULL)))
		i++;
	if (i == 0)
		return 0;
	while (i < n && s[i] == '=')
		i++;
	return i == n;
}

/*
 * "auth": {"basic": [user, password]} or {"bearer": token}, as the
 * Authorization line it sends (caller frees). No message carries the
 * secret.
 */
static int
parse_auth(json_t *v, const char *path, char **line, struct batch_error *err)
{
	static const char *const keys[] = { "basic", "bearer", NULL };
	json_t *basic, *bearer, *user, *pw;
	struct urlbuf up;
	char p[128], *b64;

	*line = NULL;
	if (!json_is_object(v) || json_object_size(v) != 1)
		return INVALID(err, path, "must be {\"basic\": [user, "
		    "password]} or {\"bearer\": token}");
	if (check_keys(v, keys, 0, path, err) == -1)
		return -1;
	basic = json_object_get(v, "basic");
	bearer = json_object_get(v, "bearer");
	if (bearer != NULL) {
		snprintf(p, sizeof(p), "%s.bearer", path);
		if (!json_is_string(bearer) || !is_token68(
		    json_string_value(bearer), json_string_length(bearer)))
			return INVALID(err, p, "must be a token: letters, "
			    "digits and -._~+/, then any '='");
		xasprintf(line, "Authorization: Bearer %s",
		    json_string_value(bearer));
		return 0;
	}
	snprintf(p, sizeof(p), "%s.basic", path);
	if (!json_is_array(basic) || json_array_size(basic) != 2 ||
	    !json_is_string(user = json_array_get(basic, 0)) ||
	    !json_is_string(pw = json_array_get(basic, 1)))
		return INVALID(err, p, "must be [user, password], two strings");
	if (memchr(json_string_value(user), ':', json_string_length(user)))
		return INVALID(err, p, "the user must not contain ':' "
		    "(RFC 7617)");
	memset(&up, 0, sizeof(up));
	urlbuf_add(&up, json_string_value(user), json_string_length(user));
	urlbuf_add(&up, ":", 1);
	urlbuf_add(&up, json_string_value(pw), json_string_length(pw));
	b64 = base64_encode((unsigned char *)up.buf, up.len, NULL);
	explicit_bzero(up.buf, up.len);
	free(up.buf);
	xasprintf(line, "Authorization: Basic %s", b64);
	explicit_bzero(b64, strlen(b64));
	free(b64);
	return 0;
}

/* Does a "headers" object set name (any case)? */
static int
headers_set(json_t *h, const char *name)
{
	const char *key;
	json_t *v;

	json_object_foreach(h, key, v)
		if (strcasecmp(key, name) == 0)
			return 1;
	return 0;
}

/*
 * A request's or the defaults' auth: its Authorization line in *line
 * (NULL: none). Setting Authorization in headers as well is refused.
 */
static int
get_auth(struct fields *f, const char *path, char **line,
    struct batch_error *err)
{
	char p[96];

	*line = NULL;
	if (f->auth == NULL || json_is_null(f->auth))
		return 0;
	snprintf(p, sizeof(p), "%s%sauth", path, *path ? "." : "");
	if (f->headers != NULL && headers_set(f->headers, "Authorization"))
		return INVALID(err, p, "auth and headers.Authorization both "
		    "set the Authorization header; give one");
	return parse_auth(f->auth, p, line, err);
}

/* The defaults' params, a key each, encoded once for the batch. */
static int
default_params(struct batch *b, json_t *params, struct batch_error *err)
{
	struct batch_param *bp;
	struct urlbuf u;
	const char *key;
	json_t *v;

	if (params == NULL || json_is_null(params))
		return 0;
	if (!json_is_object(params))
		return INVALID(err, "defaults.params", "must be an object of "
		    "name: value");
	b->dparams = xcalloc(json_object_size(params) + 1, sizeof(*bp));
	json_object_foreach(params, key, v) {
		memset(&u, 0, sizeof(u));
		urlbuf_add(&u, "", 0);
		if (encode_key(key, v, "defaults.params", &u, err) == -1) {
			free(u.buf);
			return -1;
		}
		bp = &b->dparams[b->ndparams++];
		bp->name = xstrdup(key);
		bp->pairs = u.buf;
		bp->len = u.len;
		b->dparam_bytes += u.len + 1;
	}
	return 0;
}

static int
param_skipped(const struct job *job, size_t i)
{
	const unsigned char *skip = job->spec.dpskip;

	return skip != NULL && (skip[i / 8] & (1u << (i % 8)));
}

/*
 * A request's own params, and which of the defaults' keys they replace
 * (a key set to null drops the default's); the URL they make within
 * max_url_bytes.
 */
static int
parse_params(struct job *job, json_t *params, const char *path,
    const struct config *cfg, struct batch_error *err)
{
	const struct batch *b = job->batch;
	struct job_spec *s = &job->spec;
	struct urlbuf u;
	const char *key;
	size_t i, len;
	json_t *v;
	char p[96];

	snprintf(p, sizeof(p), "%s.params", path);
	if (params != NULL && !json_is_null(params)) {
		memset(&u, 0, sizeof(u));
		if (encode_pairs(params, p, &u, err) == -1) {
			free(u.buf);
			return -1;
		}
		if (u.len > 0) {
			s->params = u.buf;
			s->params_len = u.len;
		} else
			free(u.buf);
		json_object_foreach(params, key, v)
			for (i = 0; i < b->ndparams; i++)
				if (strcmp(key, b->dparams[i].name) == 0) {
					if (s->dpskip == NULL)
						s->dpskip = xcalloc(
						    (b->ndparams + 7) / 8, 1);
					s->dpskip[i / 8] |=
					    (unsigned char)(1u << (i % 8));
				}
	}
	len = strlen(s->url) + 1 + s->params_len + b->dparam_bytes;
	for (i = 0; s->dpskip != NULL && i < b->ndparams; i++)
		if (param_skipped(job, i))
			len -= b->dparams[i].len + 1;
	if (len > cfg->max_url_bytes)
		return INVALID(err, p, "the URL with its params would be about "
		    "%zu bytes; at most %llu (max_url_bytes)", len,
		    (unsigned long long)cfg->max_url_bytes);
	return 0;
}

const char *
batch_job_url(struct job *job)
{
	const struct batch *b = job->batch;
	struct urlbuf q;
	size_t i;

	if (job->url != NULL)
		return job->url;
	memset(&q, 0, sizeof(q));
	for (i = 0; i < b->ndparams; i++) {
		if (param_skipped(job, i) || b->dparams[i].len == 0)
			continue;
		if (q.len > 0)
			urlbuf_add(&q, "&", 1);
		urlbuf_add(&q, b->dparams[i].pairs, b->dparams[i].len);
	}
	if (job->spec.params_len > 0) {
		if (q.len > 0)
			urlbuf_add(&q, "&", 1);
		urlbuf_add(&q, job->spec.params, job->spec.params_len);
	}
	if (q.len == 0)
		return job->spec.url;
	job->url = urlenc_add_query(job->spec.url, q.buf, q.len);
	free(q.buf);
	return job->url;
}

void
batch_job_url_drop(struct job *job)
{
	free(job->url);
	job->url = NULL;
}

/*
 * The field table's settings present in obj, over what *o has (the
 * defaults', or the daemon's); "path.name" names one that is wrong.
 */
static int
parse_opts(json_t *obj, struct job_opts *o, const char *path,
    const struct config *cfg, struct batch_error *err)
{
	const struct field *fd;
	uint64_t max;
	json_t *v;
	char p[96];
	size_t i;

	for (i = 0; i < NFIELDS; i++) {
		fd = &fields[i];
		if ((v = json_object_get(obj, fd->name)) == NULL)
			continue;
		snprintf(p, sizeof(p), "%s.%s", path, fd->name);
		max = fd->cap == NO_CAP ? fd->max :
		    *(const uint64_t *)((const char *)cfg + fd->cap);
		if ((fd->kind == FIELD_UINT && get_uint(v, p, fd->min, max,
		    (uint64_t *)((char *)o + fd->off), err) == -1) ||
		    (fd->kind == FIELD_BOOL && get_bool(v, p,
		    (int *)((char *)o + fd->off), err) == -1) ||
		    (fd->kind == FIELD_RETRY_ON && get_retry_on(v, p,
		    (struct retry_on *)((char *)o + fd->off), err) == -1) ||
		    (fd->kind == FIELD_CHOICE && get_choice(v, p, fd->choices,
		    (int *)((char *)o + fd->off), err) == -1))
			return -1;
	}
	return 0;
}

static int
parse_method(json_t *m, const char *path, struct batch_error *err)
{
	char p[96];

	if (m == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s.method", path);
	if (!json_is_string(m) || !is_token(json_string_value(m),
	    MAX_METHOD_LEN))
		return INVALID(err, p, "must be an HTTP method token "
		    "(e.g. \"GET\")");
	return 0;
}

/* Validate the defaults object and load its settings into *dopt. */
static int
parse_defaults(json_t *def, struct job_opts *dopt, const struct config *cfg,
    struct fields *df, struct batch_error *err)
{
	dopt->timeout_ms = cfg->default_timeout_ms;
	dopt->connect_timeout_ms = cfg->default_connect_timeout_ms;
	dopt->max_response_bytes = cfg->default_max_response_bytes;
	dopt->retry_base_ms = 100;
	dopt->retry_max_ms = 10000;
	dopt->max_redirects = 5 < cfg->max_redirects_limit ? 5 :
	    cfg->max_redirects_limit;
	retry_on_default(&dopt->retry_on);
	dopt->decompress = 1;
	memset(df, 0, sizeof(*df));
	if (def == NULL)
		return 0;
	if (!json_is_object(def))
		return INVALID(err, "defaults", "must be an object");
	if (check_keys(def, default_keys, 1, "defaults", err) == -1)
		return -1;
	collect(def, df);
	if (parse_method(df->method, "defaults", err) == -1 ||
	    check_headers(df->headers, "defaults.headers", err) == -1)
		return -1;
	return parse_opts(def, dopt, "defaults", cfg, err);
}

static int
parse_request(struct job *job, json_t *req, const struct job_opts *dopt,
    const struct fields *df, const struct config *cfg,
    struct batch_error *err)
{
	struct fields f;
	char path[48], p[96], *cause = NULL, *auth, *sent;
	json_t *m;

	snprintf(path, sizeof(path), "requests[%zu]", job->spec.index);
	if (!json_is_object(req))
		return INVALID(err, path, "must be an object");
	if (check_keys(req, request_keys, 1, path, err) == -1)
		return -1;
	collect(req, &f);
	snprintf(p, sizeof(p), "%s.url", path);
	if (f.url == NULL)
		return INVALID(err, p, "is required");
	if (!json_is_string(f.url))
		return INVALID(err, p, "must be a string");
	if (strlen(json_string_value(f.url)) != json_string_length(f.url))
		return INVALID(err, p, "contains NUL");
	/* spaces, non-ASCII and the like are encoded, as requests does */
	if ((sent = urlenc_requote(json_string_value(f.url))) == NULL)
		sent = xstrdup(json_string_value(f.url));
	job->spec.url = sent;
	if (strlen(sent) > cfg->max_url_bytes)
		return INVALID(err, p, "URL of %zu bytes%s; at most %llu "
		    "(max_url_bytes)", strlen(sent), strlen(sent) !=
		    json_string_length(f.url) ? " once percent-encoded" : "",
		    (unsigned long long)cfg->max_url_bytes);
	if ((job->spec.origin = http_url_origin(sent, &cause)) == NULL) {
		INVALID(err, p, "%s", cause);
		free(cause);
		return -1;
	}
	snprintf(p, sizeof(p), "%s.id", path);
	if (f.id != NULL && !json_is_null(f.id) && !json_is_string(f.id))
		return INVALID(err, p, "must be a string");
	if (f.id != NULL && json_is_string(f.id))
		job->spec.id = xstrdup(json_string_value(f.id));
	if (parse_method(f.method, path, err) == -1)
		return -1;
	m = f.method ? f.method : df->method;
	job->spec.method = xstrdup(m ? json_string_value(m) : "GET");
	snprintf(p, sizeof(p), "%s.headers", path);
	if (check_headers(f.headers, p, err) == -1)
		return -1;
	merge_headers(job, f.headers);
	if (get_auth(&f, path, &auth, err) == -1)
		return -1;
	if (auth != NULL)
		add_header(job, auth);
	else if (f.auth != NULL)	/* null: not the defaults' either */
		skip_defaults(job, "Authorization", 13);
	if (parse_body(job, &f, path, err) == -1 ||
	    check_header_limits(job, p, cfg, err) == -1 ||
	    parse_params(job, f.params, path, cfg, err) == -1)
		return -1;
	job->spec.opt = *dopt;		/* then the request's own */
	if (parse_opts(req, &job->spec.opt, path, cfg, err) == -1)
		return -1;
	if (retry_method_idempotent(job->spec.method) ||
	    has_header(job, "Idempotency-Key"))
		job->spec.opt.may_retry = 1;
	return 0;
}

static void
batch_new_id(struct batch *b)
{
	unsigned char raw[16];
	size_t i;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		fatal("getrandom");
	for (i = 0; i < sizeof(raw); i++)
		snprintf(b->id + 2 * i, 3, "%02x", raw[i]);
}

/* "rate": {"per_second": 10, "burst": 1} */
static int
parse_rate(json_t *rate, struct batch *b, struct batch_error *err)
{
	static const char *const keys[] = { "per_second", "burst", NULL };
	json_t *ps, *burst;

	if (rate == NULL)
		return 0;
	if (!json_is_object(rate))
		return INVALID(err, "rate", "must be an object like "
		    "{\"per_second\": 10, \"burst\": 1}");
	if (check_keys(rate, keys, 0, "rate", err) == -1)
		return -1;
	ps = json_object_get(rate, "per_second");
	burst = json_object_get(rate, "burst");
	if (ps == NULL || !json_is_number(ps) ||
	    !(json_number_value(ps) >= RATELIMIT_MIN_RATE) ||
	    json_number_value(ps) > RATELIMIT_MAX_RATE)
		return INVALID(err, "rate.per_second", "must be a number "
		    "from 0.001 to 1000000");
	if (burst != NULL && (!json_is_number(burst) ||
	    !(json_number_value(burst) >= 1) || json_number_value(burst) > 1e6))
		return INVALID(err, "rate.burst", "must be a number from 1 to "
		    "1000000");
	b->rate = json_number_value(ps);
	b->burst = burst ? json_number_value(burst) : 1;
	return 0;
}

/* "mode": "wait" | "stream" | "async", and "progress_ms" for streams. */
static int
parse_mode(json_t *root, struct batch *b, struct batch_error *err)
{
	json_t *mode = json_object_get(root, "mode");
	size_t i;

	if (mode != NULL) {
		for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
			if (json_is_string(mode) &&
			    strcmp(json_string_value(mode), mode_names[i]) == 0)
				break;
		if (i == sizeof(mode_names) / sizeof(mode_names[0]))
			return INVALID(err, "mode", "must be \"wait\", "
			    "\"stream\" or \"async\"");
		b->mode = (enum batch_mode)i;
	}
	if (get_uint(json_object_get(root, "progress_ms"), "progress_ms", 10,
	    3600000, &b->progress_ms, err) == -1)
		return -1;
	if (b->progress_ms != 0 && b->mode != BATCH_STREAM)
		return INVALID(err, "progress_ms", "only with \"mode\": "
		    "\"stream\"");
	return 0;
}

static int
parse_top(json_t *root, const struct config *cfg, struct batch *b,
    struct batch_error *err)
{
	json_t *reqs, *req;
	struct job_opts dopt;
	struct fields df;
	uint64_t conc = 32;
	size_t i;
	char *auth;
	int cookies = 0;

	if (!json_is_object(root))
		return INVALID(err, NULL, "the body must be a JSON object");
	if (check_keys(root, batch_keys, 0, "", err) == -1)
		return -1;
	if ((reqs = json_object_get(root, "requests")) == NULL)
		return INVALID(err, "requests", "is required");
	if (!json_is_array(reqs))
		return INVALID(err, "requests", "must be an array");
	if (json_array_size(reqs) == 0)
		return INVALID(err, "requests", "must not be empty");
	if (json_array_size(reqs) > cfg->max_batch_requests)
		return fail(err, 413, "payload_too_large", "requests",
		    "%zu requests; at most %llu per batch (max_batch_requests)",
		    json_array_size(reqs),
		    (unsigned long long)cfg->max_batch_requests);
	if (get_uint(json_object_get(root, "concurrency"), "concurrency", 1,
	    MAX_CONCURRENCY, &conc, err) == -1)
		return -1;
	b->concurrency = conc < cfg->max_inflight ? conc : cfg->max_inflight;
	if (get_uint(json_object_get(root, "deadline_ms"), "deadline_ms", 1,
	    86400000, &b->deadline_ms, err) == -1 ||
	    parse_rate(json_object_get(root, "rate"), b, err) == -1 ||
	    parse_mode(root, b, err) == -1 ||
	    get_bool(json_object_get(root, "cookies"), "cookies", &cookies,
	    err) == -1)
		return -1;
	if (cookies)
		b->jar = cookiejar_new();
	memset(&dopt, 0, sizeof(dopt));
	if (parse_defaults(json_object_get(root, "defaults"), &dopt, cfg, &df,
	    err) == -1)
		return -1;
	if (get_auth(&df, "defaults", &auth, err) == -1)
		return -1;
	default_headers(b, df.headers, auth);
	if (default_params(b, df.params, err) == -1)
		return -1;
	b->jobs = xcalloc(json_array_size(reqs), sizeof(*b->jobs));
	json_array_foreach(reqs, i, req) {
		b->jobs[i].spec.index = i;
		b->jobs[i].batch = b;
		b->njobs = i + 1;
		if (parse_request(&b->jobs[i], req, &dopt, &df, cfg, err) == -1)
			return -1;
	}
	return 0;
}

/* The parse's cost from mem: 503 while it does not fit, 413 if never. */
static int
take_cost(struct budget *mem, uint64_t cost, struct batch_error *err)
{
	if (mem == NULL || budget_take(mem, cost) == 0)
		return 0;
	if (cost > mem->limit)
		return fail(err, 413, "payload_too_large", NULL, "parsing this "
		    "batch would take about %" PRIu64 " MiB, more than "
		    "max_api_memory (%" PRIu64 " MiB); split it",
		    cost >> 20, mem->limit >> 20);
	return fail(err, 503, "overloaded", NULL, "parsing this batch would "
	    "take about %" PRIu64 " MiB, and API requests being read and "
	    "parsed hold %" PRIu64 " of max_api_memory (%" PRIu64 " MiB); "
	    "retry later", cost >> 20, mem->used >> 20, mem->limit >> 20);
}

struct batch *
batch_parse(const char *body, size_t len, const struct config *cfg,
    struct budget *mem, struct batch_error *err)
{
	struct batch *b;
	json_error_t jerr;
	json_t *root;
	char *near;
	uint64_t cost = 0;
	int rc;

	memset(err, 0, sizeof(*err));
	if (len > cfg->max_request_bytes) {
		fail(err, 413, "payload_too_large", NULL, "body of %zu bytes; "
		    "at most %llu (max_request_bytes)", len,
		    (unsigned long long)cfg->max_request_bytes);
		return NULL;
	}
	rc = jsonscan(body, len, cfg->max_json_keys, &cost);
	if (rc != JSONSCAN_OK) {
		fail(err, 400, "invalid_json", NULL, rc == JSONSCAN_TOO_DEEP ?
		    "JSON nested deeper than %d levels" : "a JSON object has "
		    "more than %d members (max_json_keys)", rc ==
		    JSONSCAN_TOO_DEEP ? JSONSCAN_MAX_DEPTH :
		    (int)cfg->max_json_keys);
		return NULL;
	}
	if (take_cost(mem, cost, err) == -1)
		return NULL;
	b = NULL;
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		/*
		 * Not jansson's " near '...'": that quotes the input, which
		 * may be a secret (an auth token); the position says where.
		 */
		if ((near = strstr(jerr.text, " near '")) != NULL)
			*near = '\0';
		fail(err, 400, "invalid_json", NULL, "line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		goto out;
	}
	b = xcalloc(1, sizeof(*b));
	b->magic = BATCH_MAGIC;
	if (parse_top(root, cfg, b, err) == -1) {
		batch_free(b);
		b = NULL;
	} else
		batch_new_id(b);
	json_decref(root);
out:
	if (mem != NULL)
		budget_give(mem, cost);
	return b;
}

static void
job_clear(struct job *job)
{
	size_t i;

	free(job->spec.id);
	free(job->spec.method);
	free(job->spec.url);
	for (i = 0; i < job->spec.nheaders; i++)
		free(job->spec.headers[i]);
	free(job->spec.headers);
	free(job->spec.dskip);
	free(job->spec.body);
	free(job->spec.params);
	free(job->spec.dpskip);
	free(job->spec.origin);
	free(job->url);
	free(job->history);
	free(job->cookies_sent);
	free(job->hop.url);
	free(job->hop.origin);
	free(job->attempts);
	free(job->encoded);
	if (job->res != NULL) {
		result_clear(job->res);
		free(job->res);
	}
}

void
batch_free(struct batch *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->njobs; i++)
		job_clear(&b->jobs[i]);
	free(b->jobs);
	for (i = 0; i < b->ndheaders; i++)
		free(b->dheaders[i]);
	free(b->dheaders);
	for (i = 0; i < b->ndparams; i++) {
		free(b->dparams[i].name);
		free(b->dparams[i].pairs);
	}
	free(b->dparams);
	hostsum_clear(&b->run.hosts);
	cookiejar_free(b->jar);
	free(b->owner.gids);
	b->magic = 0;
	free(b);
}

const char *
batch_state(const struct batch *b)
{
	if (b->run.cancelled)
		return "cancelled";
	if (b->run.done == b->njobs)
		return "done";
	return b->run.started ? "running" : "queued";
}

const char *
batch_mode_name(enum batch_mode m)
{
	return mode_names[m];
}
