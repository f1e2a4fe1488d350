/*
 * batchview.c: the JSON that describes a batch, in one place.
 *
 * The wait reply, GET /v1/batches/ID, the list, and the stream's batch,
 * progress, summary and error lines all write their figures here with
 * jsonw, so they agree on names, order and number formats (elapsed_ms
 * with three decimals everywhere). A stored result is already JSON text:
 * it is copied in as it is, never parsed again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "batch.h"
#include "batchview.h"
#include "clock.h"
#include "hostsum.h"
#include "jsonw.h"
#include "log.h"
#include "result.h"

/* "key": with its comma (first: no comma). */
static void
key(struct jsonw *w, const char *k, int first)
{
	if (!first)
		jsonw_raw(w, ",", 1);
	jsonw_raw(w, "\"", 1);
	jsonw_lit(w, k);
	jsonw_raw(w, "\":", 2);
}

static void
num(struct jsonw *w, const char *k, long long v)
{
	key(w, k, 0);
	jsonw_int(w, v);
}

/* An RFC 3339 stamp, or null when t is 0 (not yet). */
static void
stamp(struct jsonw *w, const char *k, double t)
{
	char buf[40];

	key(w, k, 0);
	if (t <= 0) {
		jsonw_lit(w, "null");
		return;
	}
	clock_rfc3339(t, buf, sizeof(buf));
	jsonw_raw(w, "\"", 1);
	jsonw_lit(w, buf);
	jsonw_raw(w, "\"", 1);
}

static void
summary_members(struct jsonw *w, const struct batch *b, uint64_t now_us)
{
	uint64_t end = b->run.finished_us ? b->run.finished_us : now_us;

	key(w, "total", 1);
	jsonw_int(w, (long long)b->njobs);
	num(w, "responses", (long long)(b->run.done - b->run.errors));
	num(w, "errors", (long long)b->run.errors);
	key(w, "elapsed_ms", 0);
	jsonw_ms(w, end > b->run.accepted_us ?
	    (double)(end - b->run.accepted_us) / 1000.0 : 0.0);
	key(w, "hosts", 0);
	hostsum_encode(w, &b->run.hosts);
}

void
batchview_summary(struct jsonw *w, const struct batch *b, uint64_t now_us)
{
	jsonw_raw(w, "{", 1);
	summary_members(w, b, now_us);
	jsonw_raw(w, "}", 1);
}

static void
progress_members(struct jsonw *w, const struct batch *b)
{
	key(w, "total", 1);
	jsonw_int(w, (long long)b->njobs);
	num(w, "done", (long long)b->run.done);
	num(w, "inflight", (long long)b->sched.inflight);
	num(w, "queued",
	    (long long)(b->njobs - b->run.done - b->sched.inflight));
}

void
batchview_progress(struct jsonw *w, const struct batch *b)
{
	jsonw_raw(w, "{", 1);
	progress_members(w, b);
	jsonw_raw(w, "}", 1);
}

/* "batch_id", "state", "mode", "owner_uid": what names a batch. */
static void
head(struct jsonw *w, const struct batch *b)
{
	key(w, "batch_id", 1);
	jsonw_str(w, b->id, strlen(b->id));
	key(w, "state", 0);
	jsonw_str(w, batch_state(b), strlen(batch_state(b)));
	key(w, "mode", 0);
	jsonw_str(w, batch_mode_name(b->mode), strlen(batch_mode_name(
	    b->mode)));
	num(w, "owner_uid", (long long)b->owner.uid);
}

void
batchview_status(struct jsonw *w, const struct batch *b, int with_results,
    uint64_t now_us)
{
	size_t i, n = 0;

	jsonw_raw(w, "{", 1);
	head(w, b);
	key(w, "progress", 0);
	batchview_progress(w, b);
	key(w, "summary", 0);
	batchview_summary(w, b, now_us);
	stamp(w, "created", b->reg.created);
	stamp(w, "finished", b->run.finished);
	if (with_results) {
		key(w, "results", 0);
		jsonw_raw(w, "[", 1);
		for (i = 0; i < b->njobs; i++) {
			if (b->jobs[i].encoded == NULL)
				continue;
			if (n++ > 0)
				jsonw_raw(w, ",", 1);
			jsonw_raw(w, b->jobs[i].encoded,
			    b->jobs[i].encoded_len);
		}
		jsonw_raw(w, "]", 1);
	}
	jsonw_raw(w, "}", 1);
}

void
batchview_list_entry(struct jsonw *w, const struct batch *b)
{
	jsonw_raw(w, "{", 1);
	head(w, b);
	num(w, "total", (long long)b->njobs);
	num(w, "done", (long long)b->run.done);
	num(w, "errors", (long long)b->run.errors);
	stamp(w, "created", b->reg.created);
	jsonw_raw(w, "}", 1);
}

static void
free_cleanup(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	free(arg);
}

void
batchview_reply(struct batch *b, struct evbuffer *out)
{
	struct jsonw w;
	struct job *job;
	char *s;
	size_t i, len;

	jsonw_init(&w, 256);
	jsonw_raw(&w, "{", 1);
	key(&w, "batch_id", 1);
	jsonw_str(&w, b->id, strlen(b->id));
	key(&w, "summary", 0);
	batchview_summary(&w, b, b->run.finished_us);
	key(&w, "results", 0);
	jsonw_raw(&w, "[", 1);
	s = jsonw_steal(&w, &len);
	evbuffer_add_reference(out, s, len, free_cleanup, s);
	for (i = 0; i < b->njobs; i++) {
		job = &b->jobs[i];
		if (i > 0)
			evbuffer_add(out, ",", 1);
		if (job->encoded == NULL)
			fatalx("batch %s: job %zu has no result", b->id, i);
		evbuffer_add_reference(out, job->encoded, job->encoded_len,
		    free_cleanup, job->encoded);
		job->encoded = NULL;
	}
	evbuffer_add(out, "]}\n", 3);
}

/* {"type":"T", and the members of what follows. */
static void
line_type(struct jsonw *w, const char *type)
{
	jsonw_raw(w, "{", 1);
	key(w, "type", 1);
	jsonw_str(w, type, strlen(type));
}

void
batchview_stream_start(struct jsonw *w, const struct batch *b)
{
	line_type(w, "batch");
	key(w, "batch_id", 0);
	jsonw_str(w, b->id, strlen(b->id));
	num(w, "total", (long long)b->njobs);
	jsonw_raw(w, "}", 1);
}

void
batchview_stream_progress(struct jsonw *w, const struct batch *b)
{
	line_type(w, "progress");
	jsonw_raw(w, ",", 1);
	progress_members(w, b);
	jsonw_raw(w, "}", 1);
}

void
batchview_stream_summary(struct jsonw *w, const struct batch *b,
    uint64_t now_us)
{
	line_type(w, "summary");
	jsonw_raw(w, ",", 1);
	summary_members(w, b, now_us);
	jsonw_raw(w, "}", 1);
}

int
batchview_stream_error(struct jsonw *w, const struct batch *b)
{
	const char *code, *msg;

	if (!b->run.cancelled || (b->run.cancel_code != RESULT_SHUTDOWN &&
	    b->run.cancel_code != RESULT_CANCELLED))
		return 0;
	code = result_error_code(b->run.cancel_code);
	msg = b->run.cancel_code == RESULT_SHUTDOWN ?
	    "fanoutd is shutting down" : "the batch was cancelled";
	line_type(w, "error");
	key(w, "error", 0);
	jsonw_raw(w, "{", 1);
	key(w, "code", 1);
	jsonw_str(w, code, strlen(code));
	key(w, "message", 0);
	jsonw_str(w, msg, strlen(msg));
	jsonw_raw(w, "}}", 2);
	return 1;
}
