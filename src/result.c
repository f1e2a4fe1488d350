/*
 * result.c: what happened to one request, collected and encoded.
 *
 * The HTTP client fills a struct result while the transfer runs (status,
 * headers, a body capped as it is read, phase timings, a typed error); when
 * the request is finished the dispatcher encodes it once, here, to a compact
 * JSON object (written directly, jsonw.c) and frees the struct, so a
 * finished request costs only its encoded bytes until the reply is written.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "body.h"
#include "hash.h"
#include "jsonw.h"
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

/* A distinct header name: where its first and last values are. */
struct result_name {
	const char	*name;		/* the first header's */
	size_t		 first, last;
	UT_hash_handle	 hh;
};

void
result_reset_headers(struct result *r)
{
	struct result_name *n, *tmp;
	size_t i;

	HASH_ITER(hh, r->names, n, tmp) {
		HASH_DEL(r->names, n);
		free(n);
	}
	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	r->nheaders = 0;
	r->headers_truncated = 0;
}

void
result_clear(struct result *r)
{
	result_reset_headers(r);
	free(r->headers);
	free(r->body);
	body_digest_free(r);
	free(r->error_message);
	free(r->final_url);
	free(r->redirect_url);
	free(r->cookies);
	memset(r, 0, sizeof(*r));
}

/*
 * Below this many headers a new one looks back for its name (cheaper than
 * hashing for the usual dozen); from it on, names are in a hash, so a
 * response of thousands stays linear.
 */
#define RESULT_HASH_FROM	16

/* Index header i's name (its first), with i as its last so far. */
static void
name_add(struct result *r, size_t i)
{
	struct result_name *n = xcalloc(1, sizeof(*n));
	size_t j;

	n->name = r->headers[i].name;
	n->first = n->last = i;
	for (j = i; r->headers[j].next != 0; j = r->headers[j].next)
		n->last = r->headers[j].next;
	HASH_ADD_KEYPTR(hh, r->names, n->name, strlen(n->name), n);
}

int
result_add_header(struct result *r, const char *name, size_t nlen,
    const char *value, size_t vlen, size_t max)
{
	struct result_header *h;
	struct result_name *n;
	size_t i, len;
	char *lower;

	if (r->nheaders >= max) {
		r->headers_truncated = 1;
		return -1;
	}
	lower = jsonw_netdup(name, nlen, &len);
	len = strlen(lower);	/* a NUL would make two names one on output */
	for (i = 0; i < len; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);
	if (r->nheaders == r->headers_cap) {
		r->headers_cap = r->headers_cap ? r->headers_cap * 2 : 16;
		r->headers = xreallocarray(r->headers, r->headers_cap,
		    sizeof(*r->headers));
	}
	h = &r->headers[r->nheaders];
	h->name = lower;
	h->value = xmemdup(value, vlen);
	h->next = 0;
	if (r->nheaders == RESULT_HASH_FROM)	/* many: index them */
		for (i = 0; i < r->nheaders; i++)
			if (!r->headers[i].repeat)
				name_add(r, i);
	if (r->nheaders < RESULT_HASH_FROM) {	/* few: look back */
		for (i = r->nheaders; i-- > 0; )
			if (strcmp(r->headers[i].name, lower) == 0)
				break;
		if ((h->repeat = i != (size_t)-1))
			r->headers[i].next = r->nheaders;
	} else {
		HASH_FIND(hh, r->names, lower, len, n);
		if ((h->repeat = n != NULL)) {
			r->headers[n->last].next = r->nheaders;
			n->last = r->nheaders;
		} else
			name_add(r, r->nheaders);
	}
	r->nheaders++;
	return 0;
}

const char *
result_header(const struct result *r, const char *name)
{
	struct result_name *n;
	size_t i;

	if (r->nheaders <= RESULT_HASH_FROM) {
		for (i = 0; i < r->nheaders; i++)
			if (strcmp(r->headers[i].name, name) == 0)
				return r->headers[i].value;
		return NULL;
	}
	HASH_FIND(hh, r->names, name, strlen(name), n);
	return n != NULL ? r->headers[n->first].value : NULL;
}

int
result_add_body(struct result *r, const void *data, size_t len, uint64_t cap)
{
	uint64_t room = cap > r->body_read ? cap - r->body_read : 0;
	size_t take = len < room ? len : (size_t)room, want;

	if (take > 0 && r->body_mode == RESULT_BODY_SHA256)
		body_digest(r, data, take);
	else if (take > 0 && r->body_mode != RESULT_BODY_NONE) {
		if (r->body_len + take > r->body_cap) {
			want = r->body_cap ? r->body_cap : 4096;
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
	r->body_read += take;
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
		fatal("out of memory: vasprintf");
	va_end(ap);
	r->error = e;
	r->error_message = msg;
}

/*
 * Headers as lower-case name -> array of values, repeats in order, each
 * name where it first appears; linear, following each name's chain.
 */
static void
encode_headers(struct jsonw *w, const struct result *r)
{
	const struct result_header *h;
	size_t i, j, n;

	jsonw_raw(w, "{", 1);
	for (i = 0, n = 0; i < r->nheaders; i++) {
		h = &r->headers[i];
		if (h->repeat)
			continue;	/* written with its first */
		if (n++ > 0)
			jsonw_raw(w, ",", 1);
		jsonw_str(w, h->name, strlen(h->name));
		jsonw_raw(w, ":[", 2);
		for (j = i; ; j = r->headers[j].next) {
			if (j > i)
				jsonw_raw(w, ",", 1);
			jsonw_netstr(w, r->headers[j].value,
			    strlen(r->headers[j].value));
			if (r->headers[j].next == 0)
				break;
		}
		jsonw_raw(w, "]", 1);
	}
	jsonw_raw(w, "}", 1);
	if (r->headers_truncated)
		jsonw_lit(w, ",\"headers_truncated\":true");
	else
		jsonw_lit(w, ",\"headers_truncated\":false");
}

char *
result_hop_encode(const struct result *r, const char *url, size_t *lenp)
{
	struct jsonw w;

	jsonw_init(&w, 256);
	jsonw_lit(&w, "{\"status\":");
	jsonw_int(&w, r->status);
	jsonw_lit(&w, ",\"url\":");
	jsonw_netstr(&w, url, strlen(url));
	jsonw_lit(&w, ",\"headers\":");
	encode_headers(&w, r);
	jsonw_raw(&w, "}", 1);
	return jsonw_steal(&w, lenp);
}

/*
 * How the response came: its HTTP version, the Content-Encoding it was
 * sent with (the body is decoded unless the request said otherwise), and
 * over https the TLS version or why TLS failed.
 */
static void
encode_wire(struct jsonw *w, const struct result *r)
{
	const char *ce = result_header(r, "content-encoding");

	jsonw_lit(w, ",\"http_version\":");
	if (r->http_version == 20)
		jsonw_lit(w, "\"2\"");
	else if (r->http_version == 11)
		jsonw_lit(w, "\"1.1\"");
	else if (r->http_version == 10)
		jsonw_lit(w, "\"1.0\"");
	else
		jsonw_lit(w, "null");
	jsonw_lit(w, ",\"content_encoding\":");
	if (ce != NULL)
		jsonw_netstr(w, ce, strlen(ce));
	else
		jsonw_lit(w, "null");
	if (!r->tls) {
		jsonw_lit(w, ",\"tls\":null");
		return;
	}
	jsonw_lit(w, ",\"tls\":{\"version\":");
	if (r->tls_version[0] != '\0')
		jsonw_netstr(w, r->tls_version, strlen(r->tls_version));
	else
		jsonw_lit(w, "null");
	if (r->tls_error[0] != '\0') {
		jsonw_lit(w, ",\"error\":");
		jsonw_netstr(w, r->tls_error, strlen(r->tls_error));
	}
	jsonw_raw(w, "}", 1);
}

static void
encode_timings(struct jsonw *w, const struct result *r)
{
	jsonw_lit(w, ",\"timings\":{\"queue_ms\":");
	jsonw_ms(w, r->queue_ms);
	jsonw_lit(w, ",\"dns_ms\":");
	jsonw_ms(w, r->dns_ms);
	jsonw_lit(w, ",\"connect_ms\":");
	jsonw_ms(w, r->connect_ms);
	jsonw_lit(w, ",\"tls_ms\":");
	jsonw_ms(w, r->tls_ms);
	jsonw_lit(w, ",\"ttfb_ms\":");
	jsonw_ms(w, r->ttfb_ms);
	jsonw_lit(w, ",\"total_ms\":");
	jsonw_ms(w, r->total_ms);
	jsonw_raw(w, "}", 1);
}

static void
encode_error(struct jsonw *w, const struct result *r)
{
	const char *code = result_error_code(r->error);

	if (r->error == RESULT_OK) {
		jsonw_lit(w, ",\"error\":null");
		return;
	}
	jsonw_lit(w, ",\"error\":{\"code\":\"");
	jsonw_lit(w, code);
	jsonw_lit(w, "\",\"message\":");
	if (r->error_message != NULL)
		jsonw_netstr(w, r->error_message, strlen(r->error_message));
	else
		jsonw_str(w, code, strlen(code));
	jsonw_raw(w, "}", 1);
}

static void
encode_attempts(struct jsonw *w, const struct job *job)
{
	const struct attempt *at;
	size_t i;

	jsonw_lit(w, ",\"attempt_log\":[");
	for (i = 0; i < job->nattempts; i++) {
		at = &job->attempts[i];
		jsonw_lit(w, i ? ",{\"started_ms\":" : "{\"started_ms\":");
		jsonw_ms(w, at->started_ms);
		jsonw_lit(w, ",\"status\":");
		jsonw_int(w, at->status);
		if (at->error == RESULT_OK)
			jsonw_lit(w, ",\"error\":null");
		else {
			jsonw_lit(w, ",\"error\":\"");
			jsonw_lit(w, result_error_code(at->error));
			jsonw_raw(w, "\"", 1);
		}
		jsonw_lit(w, ",\"total_ms\":");
		jsonw_ms(w, at->total_ms);
		jsonw_raw(w, "}", 1);
	}
	jsonw_raw(w, "]", 1);
}

/*
 * One compact JSON object, members in the documented order, written
 * directly (jsonw.c); the strings a client sent were checked as UTF-8 when
 * the batch was parsed, the ones from the network go through
 * jsonw_netstr().
 */
char *
result_encode(struct job *job, const struct result *r, size_t *lenp)
{
	struct jsonw w;
	const char *url;

	jsonw_init(&w, 512 + r->body_len + r->body_len / 3);
	jsonw_lit(&w, "{\"index\":");
	jsonw_int(&w, (long long)job->spec.index);
	jsonw_lit(&w, ",\"id\":");
	if (job->spec.id != NULL)
		jsonw_str(&w, job->spec.id, strlen(job->spec.id));
	else
		jsonw_lit(&w, "null");
	jsonw_lit(&w, ",\"method\":");
	jsonw_str(&w, job->spec.method, strlen(job->spec.method));
	url = batch_job_url(job);
	jsonw_lit(&w, ",\"url\":");
	jsonw_str(&w, url, strlen(url));
	jsonw_lit(&w, ",\"status\":");
	jsonw_int(&w, r->status);
	jsonw_lit(&w, ",\"headers\":");
	encode_headers(&w, r);
	body_encode(&w, r);
	jsonw_lit(&w, r->truncated ? ",\"truncated\":true" :
	    ",\"truncated\":false");
	jsonw_lit(&w, ",\"attempts\":");
	jsonw_int(&w, (long long)job->nattempts);
	encode_attempts(&w, job);
	jsonw_lit(&w, ",\"redirects\":");
	jsonw_int(&w, r->redirects);
	jsonw_lit(&w, ",\"final_url\":");
	if (r->final_url != NULL)
		jsonw_netstr(&w, r->final_url, strlen(r->final_url));
	else
		jsonw_str(&w, url, strlen(url));
	if (job->spec.opt.history) {
		jsonw_lit(&w, ",\"redirects_log\":[");
		if (job->history != NULL)
			jsonw_raw(&w, job->history, job->history_len);
		jsonw_raw(&w, "]", 1);
	}
	encode_wire(&w, r);
	encode_timings(&w, r);
	encode_error(&w, r);
	jsonw_raw(&w, "}", 1);
	return jsonw_steal(&w, lenp);
}
