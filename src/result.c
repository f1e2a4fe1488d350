/*
 * result.c: what happened to one request, collected and encoded.
 *
 * The HTTP client fills a struct result while the transfer runs (status,
 * headers, a body capped as it is read, phase timings, a typed error); when
 * the request is finished the dispatcher encodes it once, here, to a compact
 * JSON object and frees the struct, so a finished request costs only its
 * encoded bytes until the reply is written.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base64.h"
#include "batch.h"
#include "log.h"
#include "result.h"
#include "xmalloc.h"

static const char *const error_codes[RESULT_NERRORS] = {
	[RESULT_OK] = NULL,
	[RESULT_DNS_FAILED] = "dns_failed",
	[RESULT_CONNECT_FAILED] = "connect_failed",
	[RESULT_TLS_FAILED] = "tls_failed",
	[RESULT_TIMEOUT] = "timeout",
	[RESULT_CONNECTION_CLOSED] = "connection_closed",
	[RESULT_PROTOCOL_ERROR] = "protocol_error",
	[RESULT_CANCELLED] = "cancelled",
	[RESULT_SHUTDOWN] = "shutdown",
	[RESULT_INTERNAL] = "internal",
	[RESULT_DEADLINE_EXCEEDED] = "deadline_exceeded",
	[RESULT_CIRCUIT_OPEN] = "circuit_open",
	[RESULT_TOO_MANY_REDIRECTS] = "too_many_redirects",
	[RESULT_BLOCKED] = "blocked",
};

const char *
result_error_code(enum result_error e)
{
	if ((unsigned)e >= RESULT_NERRORS)
		return "internal";
	return error_codes[e];
}

void
result_init(struct result *r)
{
	memset(r, 0, sizeof(*r));
}

void
result_reset_headers(struct result *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	r->nheaders = 0;
}

void
result_clear(struct result *r)
{
	result_reset_headers(r);
	free(r->headers);
	free(r->body);
	free(r->error_message);
	free(r->final_url);
	memset(r, 0, sizeof(*r));
}

void
result_add_header(struct result *r, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	struct result_header *h;
	size_t i;

	if (r->nheaders == r->headers_cap) {
		r->headers_cap = r->headers_cap ? r->headers_cap * 2 : 16;
		r->headers = xreallocarray(r->headers, r->headers_cap,
		    sizeof(*r->headers));
	}
	h = &r->headers[r->nheaders++];
	h->name = xmemdup(name, nlen);
	for (i = 0; i < nlen; i++)
		h->name[i] = (char)tolower((unsigned char)h->name[i]);
	h->value = xmemdup(value, vlen);
}

int
result_add_body(struct result *r, const void *data, size_t len, uint64_t cap)
{
	size_t room = cap > r->body_len ? (size_t)(cap - r->body_len) : 0;
	size_t take = len < room ? len : room;

	if (take > 0) {
		if (r->body_len + take > r->body_cap) {
			size_t want = r->body_cap ? r->body_cap : 4096;

			while (want < r->body_len + take)
				want *= 2;
			if (want > cap)
				want = (size_t)cap;
			r->body = xreallocarray(r->body, want, 1);
			r->body_cap = want;
		}
		memcpy(r->body + r->body_len, data, take);
		r->body_len += take;
	}
	if (take < len) {
		r->truncated = 1;
		return -1;
	}
	return 0;
}

void
result_replace_error(struct result *r, enum result_error e, const char *msg)
{
	free(r->error_message);
	r->error_message = xstrdup(msg);
	r->error = e;
}

void
result_set_error(struct result *r, enum result_error e, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (r->error != RESULT_OK)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	r->error = e;
	r->error_message = msg;
}

/* Set a key, stealing the value; fatal on allocation failure. */
static void
set(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL || json_object_set_new(obj, key, value) == -1)
		fatalx("json: out of memory encoding %s", key);
}

/*
 * Text from the network as a JSON string: UTF-8 stays as it is; anything
 * else is read as ISO-8859-1 (HTTP's historical obs-text), so no byte is
 * lost and no upstream can make encoding fail.
 */
static json_t *
net_string(const char *s, size_t len)
{
	unsigned char c;
	char *u, *p;
	json_t *j;
	size_t i;

	if ((j = json_stringn(s, len)) != NULL)
		return j;
	p = u = xmalloc(2 * len + 1);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c < 0x80)
			*p++ = (char)c;
		else {
			*p++ = (char)(0xc0 | (c >> 6));
			*p++ = (char)(0x80 | (c & 0x3f));
		}
	}
	j = json_stringn(u, (size_t)(p - u));
	free(u);
	if (j == NULL)
		fatalx("net_string: out of memory");
	return j;
}

/* Headers as lower-case name -> array of values, repeats in order. */
static json_t *
encode_headers(const struct result *r)
{
	json_t *obj = json_object(), *arr, *name;
	const char *key;
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		name = net_string(r->headers[i].name,
		    strlen(r->headers[i].name));
		key = json_string_value(name);
		if ((arr = json_object_get(obj, key)) == NULL) {
			arr = json_array();
			set(obj, key, arr);
		}
		json_decref(name);
		if (json_array_append_new(arr, net_string(r->headers[i].value,
		    strlen(r->headers[i].value))) == -1)
			fatalx("json: out of memory");
	}
	return obj;
}

/* The body as text when it is UTF-8 without NUL, else base64. */
static void
encode_body(json_t *obj, const struct result *r)
{
	json_t *text = NULL;
	char *b64;

	if (r->body_len == 0) {
		set(obj, "body", json_null());
		set(obj, "body_encoding", json_null());
		return;
	}
	if (memchr(r->body, '\0', r->body_len) == NULL)
		text = json_stringn((const char *)r->body, r->body_len);
	if (text != NULL) {
		set(obj, "body", text);
		set(obj, "body_encoding", json_string("utf-8"));
		return;
	}
	b64 = base64_encode(r->body, r->body_len, NULL);
	set(obj, "body", json_string(b64));
	set(obj, "body_encoding", json_string("base64"));
	free(b64);
}

static json_t *
encode_timings(const struct result *r)
{
	json_t *t = json_object();

	set(t, "queue_ms", json_real(r->queue_ms));
	set(t, "dns_ms", json_real(r->dns_ms));
	set(t, "connect_ms", json_real(r->connect_ms));
	set(t, "tls_ms", json_real(r->tls_ms));
	set(t, "ttfb_ms", json_real(r->ttfb_ms));
	set(t, "total_ms", json_real(r->total_ms));
	return t;
}

static json_t *
encode_error(const struct result *r)
{
	json_t *e;

	if (r->error == RESULT_OK)
		return json_null();
	e = json_object();
	set(e, "code", json_string(result_error_code(r->error)));
	if (r->error_message != NULL)
		set(e, "message", net_string(r->error_message,
		    strlen(r->error_message)));
	else
		set(e, "message", json_string(result_error_code(r->error)));
	return e;
}

static json_t *
encode_attempts(const struct job *job)
{
	json_t *log = json_array(), *a;
	const struct attempt *at;
	size_t i;

	for (i = 0; i < job->nattempts; i++) {
		at = &job->attempts[i];
		a = json_object();
		set(a, "started_ms", json_real(at->started_ms));
		set(a, "status", json_integer(at->status));
		set(a, "error", at->error == RESULT_OK ? json_null() :
		    json_string(result_error_code(at->error)));
		set(a, "total_ms", json_real(at->total_ms));
		if (json_array_append_new(log, a) == -1)
			fatalx("json: out of memory");
	}
	return log;
}

char *
result_encode(const struct job *job, const struct result *r, size_t *lenp)
{
	json_t *obj = json_object();
	char *out;

	set(obj, "index", json_integer((json_int_t)job->index));
	set(obj, "id", job->id ? json_string(job->id) : json_null());
	set(obj, "method", json_string(job->method));
	set(obj, "url", json_string(job->url));
	set(obj, "status", json_integer(r->status));
	set(obj, "headers", encode_headers(r));
	encode_body(obj, r);
	set(obj, "body_bytes", json_integer((json_int_t)r->body_len));
	set(obj, "truncated", json_boolean(r->truncated));
	set(obj, "attempts", json_integer((json_int_t)job->nattempts));
	set(obj, "attempt_log", encode_attempts(job));
	set(obj, "redirects", json_integer(r->redirects));
	set(obj, "final_url", r->final_url ? net_string(r->final_url,
	    strlen(r->final_url)) : json_string(job->url));
	set(obj, "timings", encode_timings(r));
	set(obj, "error", encode_error(r));
	out = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(obj);
	if (out == NULL)
		fatalx("json_dumps: out of memory");
	if (lenp != NULL)
		*lenp = strlen(out);
	return out;
}
