/*
 * api_stream.c: requests that wait for their batch, and async submission.
 *
 * A wait or stream request is paused as its handler's last act and
 * resumed only after its reply is queued. A waiter outlives whichever of
 * request and batch ends first, so neither can touch freed memory. A
 * stream sends its 200 and first line from the loop, then each result as
 * it ends; a client that stops reading holds its batch between the water
 * marks and is cut after api_timeout_ms. Async batches are answered 202
 * at once and kept by the registry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>

#include "api_int.h"
#include "batch.h"
#include "batchview.h"
#include "clock.h"
#include "config.h"
#include "dispatch.h"
#include "jsonw.h"
#include "log.h"
#include "registry.h"
#include "xmalloc.h"

/*
 * A paused request waiting for its batch (wait or stream mode); freed when
 * both are gone. While paused, libevhtp does not read, so it would not see
 * the client leave: `watch` does (a read event and recv(MSG_PEEK) returning
 * 0). A stream also watches its output buffer: past stream_high_water the
 * batch stops starting requests until the client has read down to
 * stream_low_water (libevhtp's chunked replies have no flow control).
 */
struct waiter {
	evhtp_request_t	*req;
	struct api_conn	*c;		/* NULL once the connection is gone */
	struct batch	*b;
	struct event	*watch;
	int		 stream;	/* mode stream */
	int		 streaming;	/* its 200 and first line are out */
	struct event	*start_ev;	/* starts the stream from the loop */
	struct event	*progress_ev;
	struct event	*stall_ev;	/* a client that stopped reading */
	uint64_t	 progress_us;	/* when output last drained */
	struct evbuffer	*out;		/* the connection's output (borrowed) */
	struct evbuffer_cb_entry *out_cb;
};

static void
unwatch(struct waiter *w)
{
	if (w->watch != NULL) {
		event_free(w->watch);
		w->watch = NULL;
	}
	if (w->out_cb != NULL) {
		evbuffer_remove_cb_entry(w->out, w->out_cb);
		w->out_cb = NULL;
	}
	if (w->progress_ev != NULL) {
		event_free(w->progress_ev);
		w->progress_ev = NULL;
	}
	if (w->stall_ev != NULL) {
		event_free(w->stall_ev);
		w->stall_ev = NULL;
	}
	if (w->start_ev != NULL) {
		event_free(w->start_ev);
		w->start_ev = NULL;
	}
}

static void watch_cb(evutil_socket_t, short, void *);

/*
 * The client pipelined its next request: its socket stays readable, so
 * only the peer's close can be watched for now (EPOLLRDHUP, libevent's
 * EV_CLOSED); without that feature nothing is watched until the reply.
 */
static void
watch_close(struct waiter *w, evutil_socket_t fd)
{
	if (!(event_base_get_features(api.base) & EV_FEATURE_EARLY_CLOSE))
		return;
	w->watch = event_new(api.base, fd, EV_CLOSED | EV_PERSIST, watch_cb,
	    w);
	if (w->watch == NULL || event_add(w->watch, NULL) == -1) {
		log_warnx("cannot watch a pipelining client for its close");
		if (w->watch != NULL)
			event_free(w->watch);
		w->watch = NULL;
	}
}

/*
 * The paused client's socket is readable: EOF or error means it left;
 * bytes mean a pipelined request (then only its close is watched).
 */
static void
watch_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct waiter *w = arg;
	ssize_t n = 0;
	char c;

	if (!(kind & EV_CLOSED)) {
		n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
	}
	event_free(w->watch);
	w->watch = NULL;
	if (n > 0) {
		watch_close(w, fd);
		return;
	}
	if (w->b != NULL)
		dispatch_cancel(w->b, RESULT_CANCELLED,
		    "the client closed its connection");
}

static void
waiter_release(struct waiter *w)
{
	if (w->req != NULL || w->b != NULL)
		return;
	free(w);
	api.nwaiters--;
	api_check_idle();
}

/* The request is being freed (reply written, or connection gone). */
static evhtp_res
waiter_fini(evhtp_request_t *req, void *arg)
{
	struct waiter *w = arg;

	(void)req;
	if (w->c != NULL) {	/* libevhtp may free the connection first */
		w->c->waiter = NULL;
		w->c->reading_us = clock_now_us();	/* the next is due */
		w->c = NULL;
	}
	w->req = NULL;
	unwatch(w);	/* the connection's buffers are still there */
	if (w->b != NULL)
		dispatch_cancel(w->b, RESULT_CANCELLED,
		    "the client closed its connection");
	waiter_release(w);
	return EVHTP_RES_OK;
}

/* One NDJSON line on the stream: prefix (may be NULL) then text. */
static void
stream_line(struct waiter *w, const char *prefix, const char *text,
    size_t len)
{
	struct evbuffer *chunk = evbuffer_new();

	if (chunk == NULL)
		fatalx("evbuffer_new");
	if (prefix != NULL)
		evbuffer_add(chunk, prefix, strlen(prefix));
	evbuffer_add(chunk, text, len);
	evbuffer_add(chunk, "\n", 1);
	evhtp_send_reply_chunk(w->req, chunk);
	evbuffer_free(chunk);
}

/* One line written by a batchview.c function. */
static void
stream_view(struct waiter *w, const struct batch *b,
    void (*view)(struct jsonw *, const struct batch *))
{
	struct jsonw j;

	jsonw_init(&j, 128);
	view(&j, b);
	stream_line(w, NULL, j.buf, j.len);
	free(j.buf);
}

/* A finished result goes out at once and is not kept. */
static void
stream_result(struct batch *b, struct job *job, void *arg)
{
	struct waiter *w = arg;

	(void)b;
	if (w->req == NULL || !w->streaming)
		return;		/* kept until the stream starts */
	/* {"index":... becomes {"type":"result","index":... */
	stream_line(w, "{\"type\":\"result\",", job->encoded + 1,
	    job->encoded_len - 1);
	free(job->encoded);
	job->encoded = NULL;
}

/* The client reads slowly: hold the batch between the water marks. */
static void
stream_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct waiter *w = arg;
	size_t len = evbuffer_get_length(buf);

	if (info->n_deleted > 0)	/* the client read some */
		w->progress_us = clock_now_us();
	if (w->b == NULL)
		return;
	if (len > api.cfg->stream_high_water && !w->b->run.paused)
		dispatch_pause(w->b, 1);
	else if (len <= api.cfg->stream_low_water && w->b->run.paused)
		dispatch_pause(w->b, 0);
}

static void
stream_progress_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct waiter *w = arg;
	struct batch *b = w->b;

	(void)fd;
	(void)kind;
	if (b == NULL || w->req == NULL || b->run.paused)
		return;		/* held back: the client is not reading */
	stream_view(w, b, batchview_stream_progress);
}

/*
 * A stream's client has not read anything for api_timeout_ms while output
 * waits. libevhtp's own write timeout cannot end a paused request (it only
 * marks the connection), so streams use this instead: cancel the batch and
 * drop the connection.
 */
static void
stream_stall_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct waiter *w = arg;
	evhtp_request_t *req = w->req;

	(void)fd;
	(void)kind;
	if (req == NULL || w->out == NULL || evbuffer_get_length(w->out) == 0 ||
	    clock_now_us() - w->progress_us < api.cfg->api_timeout_ms * 1000) {
		if (w->out != NULL && evbuffer_get_length(w->out) == 0)
			w->progress_us = clock_now_us();
		return;
	}
	log_warnx("batch %s: the stream's client read nothing for %llu ms; "
	    "cancelling it", w->b ? w->b->id : "?",
	    (unsigned long long)api.cfg->api_timeout_ms);
	if (w->b != NULL)
		dispatch_cancel(w->b, RESULT_CANCELLED,
		    "the client stopped reading the stream");
	evhtp_connection_free(evhtp_request_get_connection(req));
}

/*
 * An event of one stream could not be armed: that stream's batch is
 * cancelled and its connection closed; the daemon and others go on (the
 * api*.c policy: what fails for one client fails that client).
 */
static void
stream_fail(struct waiter *w, const char *why)
{
	log_warnx("batch %s: the stream %s; cancelling it", w->b ?
	    w->b->id : "?", why);
	if (w->b != NULL)
		dispatch_cancel(w->b, RESULT_INTERNAL, "fanoutd could not keep "
		    "the stream going");
	evhtp_connection_free(evhtp_request_get_connection(w->req));
}

/* From the loop, after the handler paused: the 200 and the first line. */
static void
stream_start_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct waiter *w = arg;
	struct batch *b = w->b;
	struct timeval tv;
	size_t i;

	(void)fd;
	(void)kind;
	if (w->req == NULL || b == NULL)
		return;
	api_add_header(w->req, "Content-Type", "application/x-ndjson");
	evhtp_send_reply_chunk_start(w->req, EVHTP_RES_OK);
	w->streaming = 1;
	stream_view(w, b, batchview_stream_start);
	for (i = 0; i < b->njobs; i++)	/* any that finished already */
		if (b->jobs[i].encoded != NULL)
			stream_result(b, &b->jobs[i], w);
	w->out = bufferevent_get_output(evhtp_request_get_bev(w->req));
	if ((w->out_cb = evbuffer_add_cb(w->out, stream_out_cb, w)) == NULL)
		fatalx("evbuffer_add_cb");
	/* Our stall check replaces libevhtp's timeouts on this connection. */
	bufferevent_set_timeouts(evhtp_request_get_bev(w->req), NULL, NULL);
	w->progress_us = clock_now_us();
	tv = clock_tv(api.cfg->api_timeout_ms * 1000 / 4);
	w->stall_ev = event_new(api.base, -1, EV_PERSIST, stream_stall_cb, w);
	if (w->stall_ev == NULL || event_add(w->stall_ev, &tv) == -1) {
		stream_fail(w, "cannot arm its stall timer");
		return;
	}
	if (b->progress_ms != 0) {
		tv = clock_tv(b->progress_ms * 1000);
		w->progress_ev = event_new(api.base, -1, EV_PERSIST,
		    stream_progress_cb, w);
		if (w->progress_ev == NULL || event_add(w->progress_ev,
		    &tv) == -1)
			stream_fail(w, "cannot arm its progress timer");
	}
}

/* The end of a stream: summary, an error line if it was cut short. */
static void
stream_end(struct waiter *w, struct batch *b)
{
	struct jsonw j;

	if (!w->streaming)
		stream_start_cb(-1, 0, w);
	if (w->req == NULL)	/* stream_fail() closed it */
		return;
	jsonw_init(&j, 128);
	batchview_stream_summary(&j, b, clock_now_us());
	stream_line(w, NULL, j.buf, j.len);
	j.len = 0;
	if (batchview_stream_error(&j, b))
		stream_line(w, NULL, j.buf, j.len);
	free(j.buf);
	evhtp_send_reply_chunk_end(w->req);
}

/* Every request of the batch has a result: reply, then resume. */
static void
waiter_done(struct batch *b, void *arg)
{
	struct waiter *w = arg;
	evhtp_request_t *req = w->req;

	unwatch(w);
	if (req != NULL && w->stream)
		stream_end(w, b);
	else if (req != NULL) {
		api_add_header(req, "Content-Type", "application/json");
		batchview_reply(b, req->buffer_out);
		evhtp_send_reply(req, EVHTP_RES_OK);
	}
	if (req != NULL) {
		if (w->c != NULL)
			api_next_request(w->c);
		evhtp_request_resume(req);
	}
	w->b = NULL;
	registry_remove(b);
	waiter_release(w);
}

/* Async: results are kept (and counted) until the batch expires. */
static void
async_result(struct batch *b, struct job *job, void *arg)
{
	(void)arg;
	registry_retain(b, job->encoded_len);
}

static void
async_done(struct batch *b, void *arg)
{
	(void)arg;
	registry_done(b);
}

void
api_submit_async(evhtp_request_t *req, struct batch *b)
{
	char url[64];

	dispatch_submit(b, clock_now_us(), async_result, async_done, NULL);
	snprintf(url, sizeof(url), "/v1/batches/%s", b->id);
	api_reply_doc(req, 202, json_pack("{s:s,s:s,s:s}", "batch_id", b->id,
	    "state", "running", "status_url", url));
}

/* Wait and stream: the request waits, paused, for the batch. */
int
api_submit_waiting(evhtp_request_t *req, struct batch *b)
{
	struct waiter *w = xcalloc(1, sizeof(*w));

	/* Unable to see the client leave: refuse the batch, not the daemon. */
	w->watch = event_new(api.base, req->conn->sock, EV_READ | EV_PERSIST,
	    watch_cb, w);
	if (w->watch == NULL || event_add(w->watch, NULL) == -1) {
		log_warn("batch %s: cannot watch the client's connection",
		    b->id);
		if (w->watch != NULL)
			event_free(w->watch);
		free(w);
		return -1;
	}
	w->req = req;
	w->b = b;
	api.nwaiters++;
	w->c = api_conn_of(req);
	w->c->waiter = w;
	evhtp_request_set_hook(req, evhtp_hook_on_request_fini,
	    (evhtp_hook)waiter_fini, w);
	if (b->mode == BATCH_STREAM) {
		w->stream = 1;
		if ((w->start_ev = event_new(api.base, -1, 0, stream_start_cb,
		    w)) == NULL)
			fatalx("event_new");
		event_active(w->start_ev, 0, 0);
	}
	dispatch_submit(b, clock_now_us(), w->stream ? stream_result : NULL,
	    waiter_done, w);
	evhtp_request_pause(req);	/* must be the last thing we do */
	return 0;
}

void
api_waiter_conn_gone(struct waiter *w)
{
	w->c = NULL;
}
