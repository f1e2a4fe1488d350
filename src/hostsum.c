/*
 * hostsum.c: a batch's summary per origin (summary.hosts).
 *
 * Each origin costs one fixed-size entry (two histo.c histograms, about
 * 2 KB) however many requests went to it, and a batch keeps at most
 * HOSTSUM_MAX of them: the requests to origins past those are summed in
 * one more entry, "*", so a batch of 100,000 distinct hosts holds half a
 * megabyte of summary, not a sample per request. Counted as each request
 * finishes, on the main thread; written with the wait reply, the stream's
 * summary line and GET /v1/batches/ID.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "hostsum.h"
#include "jsonw.h"
#include "xmalloc.h"

struct hostsum_entry {
	char		*origin;
	uint64_t	 count;
	uint64_t	 classes[5];		/* 1xx..5xx */
	uint64_t	 errors[RESULT_NERRORS];
	struct histo	 total, ttfb;
	UT_hash_handle	 hh;
};

static struct hostsum_entry *
entry_new(const char *origin)
{
	struct hostsum_entry *e = xcalloc(1, sizeof(*e));

	e->origin = xstrdup(origin);
	return e;
}

static struct hostsum_entry *
entry_for(struct hostsum *s, const char *origin)
{
	struct hostsum_entry *e;

	HASH_FIND_STR(s->byorigin, origin, e);
	if (e != NULL)
		return e;
	if (s->n >= HOSTSUM_MAX) {
		if (s->other == NULL)
			s->other = entry_new("*");
		return s->other;
	}
	e = entry_new(origin);
	HASH_ADD_KEYPTR(hh, s->byorigin, e->origin, strlen(e->origin), e);
	s->n++;
	return e;
}

void
hostsum_add(struct hostsum *s, const char *origin, const struct result *r,
    int started)
{
	struct hostsum_entry *e = entry_for(s, origin);

	e->count++;
	if (r->error != RESULT_OK) {
		if ((unsigned)r->error < RESULT_NERRORS)
			e->errors[r->error]++;
	} else if (r->status >= 100 && r->status <= 599)
		e->classes[r->status / 100 - 1]++;
	if (started)
		histo_add(&e->total, r->total_ms);
	if (r->status > 0)
		histo_add(&e->ttfb, r->ttfb_ms);
}

static void
quantiles(struct jsonw *w, const char *name, const struct histo *h)
{
	static const struct { const char *key; double q; } qs[] = {
		{ "{\"p50\":", 0.50 }, { ",\"p90\":", 0.90 },
		{ ",\"p99\":", 0.99 }, { ",\"max\":", 1.0 },
	};
	size_t i;

	jsonw_lit(w, name);
	if (h->count == 0) {
		jsonw_lit(w, "null");
		return;
	}
	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		jsonw_lit(w, qs[i].key);
		jsonw_ms(w, histo_quantile(h, qs[i].q));
	}
	jsonw_raw(w, "}", 1);
}

static void
entry_encode(struct jsonw *w, const struct hostsum_entry *e)
{
	static const char *const classes[] = { "\"1xx\":", ",\"2xx\":",
		",\"3xx\":", ",\"4xx\":", ",\"5xx\":" };
	const char *code;
	size_t i, n = 0;

	jsonw_str(w, e->origin, strlen(e->origin));
	jsonw_lit(w, ":{\"count\":");
	jsonw_int(w, (long long)e->count);
	jsonw_lit(w, ",\"responses\":{");
	for (i = 0; i < 5; i++) {
		jsonw_lit(w, classes[i]);
		jsonw_int(w, (long long)e->classes[i]);
	}
	jsonw_lit(w, "},\"errors\":{");
	for (i = 1; i < RESULT_NERRORS; i++) {
		if (e->errors[i] == 0 ||
		    (code = result_error_code((enum result_error)i)) == NULL)
			continue;
		if (n++ > 0)
			jsonw_raw(w, ",", 1);
		jsonw_str(w, code, strlen(code));
		jsonw_raw(w, ":", 1);
		jsonw_int(w, (long long)e->errors[i]);
	}
	jsonw_raw(w, "}", 1);
	quantiles(w, ",\"total_ms\":", &e->total);
	quantiles(w, ",\"ttfb_ms\":", &e->ttfb);
	jsonw_raw(w, "}", 1);
}

void
hostsum_encode(struct jsonw *w, const struct hostsum *s)
{
	const struct hostsum_entry *e;
	size_t n = 0;

	jsonw_raw(w, "{", 1);
	for (e = s->byorigin; e != NULL; e = e->hh.next) {
		if (n++ > 0)
			jsonw_raw(w, ",", 1);
		entry_encode(w, e);
	}
	if (s->other != NULL) {
		if (n > 0)
			jsonw_raw(w, ",", 1);
		entry_encode(w, s->other);
	}
	jsonw_raw(w, "}", 1);
}

void
hostsum_clear(struct hostsum *s)
{
	struct hostsum_entry *e, *tmp;

	HASH_ITER(hh, s->byorigin, e, tmp) {
		HASH_DELETE(hh, s->byorigin, e);
		free(e->origin);
		free(e);
	}
	if (s->other != NULL) {
		free(s->other->origin);
		free(s->other);
	}
	memset(s, 0, sizeof(*s));
}
