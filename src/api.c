/*
 * api.c: the socket API, and the only file that knows libevhtp.
 *
 * Routes: POST /v1/batches (parse, dispatch, reply when every request has a
 * result), GET /healthz. Every error is {"error": {code, message, path}}.
 * libevhtp's sharp edges (docs/pitfalls.md) are handled here: bodies
 * over the limit are drained and answered 413 instead of a dropped
 * connection; header count and URI length are capped; a request waiting for
 * its batch is paused as the handler's last act and resumed only after its
 * reply is queued; a waiter outlives whichever of request and batch ends
 * first, so neither can touch freed memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <evhtp.h>
#pragma GCC diagnostic pop
#include <event2/bufferevent.h>
#include <jansson.h>

#include "api.h"
#include "batch.h"
#include "budget.h"
#include "caller.h"
#include "clock.h"
#include "config.h"
#include "dispatch.h"
#include "hash.h"
#include "host.h"
#include "metrics.h"
#include "registry.h"
#include "reload.h"
#include "http_client.h"
#include "log.h"
#include "xmalloc.h"

#define CONN_MAGIC	0xc0aa3c71u
#define MAX_URI_LEN	1024
#define MAX_HEADERS	100
#define BODY_MIN_ROOM	(64 * 1024)	/* a body's first allocation */

/* A uid with connections open: what its bodies hold of max_api_memory. */
struct api_user {
	uint32_t	 uid;
	uint64_t	 held;
	size_t		 conns;
	UT_hash_handle	 hh;
};

/* One client connection: who it is and the state of its current request. */
struct api_conn {
	uint32_t	 magic;
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	struct api_user	*user;		/* its uid's */
	uint64_t	 body_bytes;	/* of the body, seen so far */
	char		*body;		/* the body, kept (NULL: none yet) */
	uint64_t	 body_expect;	/* its Content-Length; 0: unknown */
	size_t		 body_len, body_cap;	/* body_cap: of api.mem */
	size_t		 uri_len;
	unsigned	 nheaders;
	int		 too_large;
	int		 no_room;	/* the body did not fit in api.mem */
	evhtp_connection_t *conn;	/* borrowed */
	gid_t		*groups;	/* supplementary (SO_PEERGROUPS) */
	int		 ngroups;
	uint64_t	 reading_us;	/* a request is arriving since; 0: no */
	struct waiter	*waiter;	/* its paused request, if any */
	evhtp_request_t	*replying;	/* its reply, sent from reply_ev */
	int		 reply_status;
	struct event	*reply_ev;
	int		 between;	/* no request begun since the last */
	int		 closing;	/* its last reply is going out */
	bufferevent_data_cb evhtp_readcb;	/* libevhtp's, wrapped */
	TAILQ_ENTRY(api_conn) entry;
};

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

static struct {
	struct event_base	*base;
	evhtp_t			*htp;
	const struct config	*cfg;
	uint64_t		 started_us;
	TAILQ_HEAD(, api_conn)	 conns;
	size_t			 nconns;
	size_t			 nwaiters;
	int			 draining;	/* no new batches */
	int			 stopping;	/* nor connections */
	evhtp_t			*health;	/* health_listen, or NULL */
	void			(*idle_cb)(void);
	struct event		*idle_ev;
	struct event		*sweep_ev;	/* api_request_timeout_ms */
	uint64_t		 evicted;	/* slow connections cut */
	struct budget		 mem;		/* max_api_memory */
	struct api_user		*users;		/* by uid, while connected */
} api;

static void method_not_allowed(evhtp_request_t *, const char *);
static struct api_conn *conn_ctx(evhtp_request_t *);
static void route_one(evhtp_request_t *, struct api_conn *);
static int health_open(const char *, char **);

static void
add_header(evhtp_request_t *req, const char *k, const char *v)
{
	evhtp_headers_add_header(req->headers_out,
	    evhtp_header_new(k, v, 0, 1));
}

/*
 * Send the reply queued in req (status, headers_out, buffer_out). On the
 * API socket it goes out from the loop, after route() has paused the
 * request: libevhtp parses a pipelined request only after resuming a
 * paused one; a reply sent from the handler left the next request unread
 * (the client hung) and logged "ODDITY, resuming when not paused" for
 * each one.
 */
static void
send_reply(evhtp_request_t *req, int status)
{
	struct api_conn *c = conn_ctx(req);

	if (c == NULL) {	/* health_listen */
		evhtp_send_reply(req, status);
		return;
	}
	c->replying = req;
	c->reply_status = status;
}

/*
 * Blank lines before a request line are to be ignored (RFC 9112 section
 * 2.2); libevhtp's parser takes each for a message of its own and then
 * waits for more input that a pipelining client never sends. Between two
 * requests, drop them before libevhtp reads.
 */
static void
skip_blank_lines(struct api_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->conn->bev);
	unsigned char *p;
	size_t n = 0, len = evbuffer_get_length(in);

	if (!c->between || len == 0)
		return;
	p = evbuffer_pullup(in, len < 64 ? (ssize_t)len : 64);
	while (n < len && n < 64 && (p[n] == '\r' || p[n] == '\n'))
		n++;
	evbuffer_drain(in, n);
}

/* A request has been answered: the next one may begin. */
static void
next_request(struct api_conn *c)
{
	c->between = 1;
	skip_blank_lines(c);
}

/* libevhtp's read callback, after blank lines between requests go. */
static void
readcb_wrap(struct bufferevent *bev, void *arg)
{
	evhtp_connection_t *conn = arg;
	struct api_conn *c = conn->hooks != NULL ?
	    conn->hooks->on_connection_fini_arg : NULL;
	bufferevent_data_cb cb;

	if (c == NULL || c->magic != CONN_MAGIC)
		fatalx("api: read on a connection without context");
	cb = c->evhtp_readcb;
	skip_blank_lines(c);
	cb(bev, arg);	/* may free conn and c */
}

/* From the loop: the reply route() deferred, then the next request. */
static void
reply_ev_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct api_conn *c = arg;
	evhtp_request_t *req = c->replying;

	(void)fd;
	(void)kind;
	if (req == NULL)
		return;
	c->replying = NULL;
	if (!(req->flags & EVHTP_REQ_FLAG_KEEPALIVE)) {
		/* Closed once written: what was pipelined is not served. */
		c->closing = 1;
		evbuffer_drain(bufferevent_get_input(c->conn->bev), (size_t)-1);
	} else
		next_request(c);
	evhtp_send_reply(req, c->reply_status);
	evhtp_request_resume(req);
}

/* Send a complete JSON reply (body copied, a newline added). */
static void
reply_json(evhtp_request_t *req, int status, const char *body, size_t len)
{
	add_header(req, "Content-Type", "application/json");
	if (evhtp_request_get_method(req) != htp_method_HEAD) {
		evbuffer_add(req->buffer_out, body, len);
		evbuffer_add(req->buffer_out, "\n", 1);
	}
	send_reply(req, status);
}

static void
reply_error(evhtp_request_t *req, int status, const char *code,
    const char *message, const char *path)
{
	json_t *err = json_pack("{s:{s:s,s:s}}", "error", "code", code,
	    "message", message);
	char *s;

	if (err == NULL)
		fatalx("json_pack: out of memory");
	if (path != NULL && *path != '\0')
		json_object_set_new(json_object_get(err, "error"), "path",
		    json_string(path));
	if ((s = json_dumps(err, JSON_COMPACT)) == NULL)
		fatalx("json_dumps: out of memory");
	json_decref(err);
	reply_json(req, status, s, strlen(s));
	free(s);
}

/* The API connection of req, or NULL (a health_listen one). */
static struct api_conn *
conn_ctx(evhtp_request_t *req)
{
	struct api_conn *c = req->conn->hooks ?
	    req->conn->hooks->on_connection_fini_arg : NULL;

	if (c != NULL && c->magic != CONN_MAGIC)
		fatalx("api: connection with a bad context");
	return c;
}

static struct api_conn *
conn_of(evhtp_request_t *req)
{
	struct api_conn *c = conn_ctx(req);

	if (c == NULL)
		fatalx("api: connection without context");
	return c;
}

static void
check_idle(void)
{
	if (api.stopping && api.nwaiters == 0 && api.idle_cb != NULL)
		event_active(api.idle_ev, 0, 0);
}

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

/* The paused client's socket is readable: EOF or error means it left. */
static void
watch_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct waiter *w = arg;
	ssize_t n;
	char c;

	(void)kind;
	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	event_free(w->watch);	/* gone, or sent more (pipelining) */
	w->watch = NULL;
	if (n <= 0 && w->b != NULL)
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
	check_idle();
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

static void
stream_json(struct waiter *w, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));

	if (s == NULL)
		fatalx("json_dumps: out of memory");
	json_decref(j);
	stream_line(w, NULL, s, strlen(s));
	free(s);
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
	if (len > api.cfg->stream_high_water && !w->b->paused)
		dispatch_pause(w->b, 1);
	else if (len <= api.cfg->stream_low_water && w->b->paused)
		dispatch_pause(w->b, 0);
}

static void
stream_progress_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct waiter *w = arg;
	struct batch *b = w->b;

	(void)fd;
	(void)kind;
	if (b == NULL || w->req == NULL || b->paused)
		return;		/* held back: the client is not reading */
	stream_json(w, json_pack("{s:s,s:I,s:I,s:I,s:I}", "type", "progress",
	    "done", (json_int_t)b->done, "total", (json_int_t)b->njobs,
	    "inflight", (json_int_t)b->inflight,
	    "queued", (json_int_t)(b->njobs - b->done - b->inflight)));
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
	add_header(w->req, "Content-Type", "application/x-ndjson");
	evhtp_send_reply_chunk_start(w->req, EVHTP_RES_OK);
	w->streaming = 1;
	stream_json(w, json_pack("{s:s,s:s,s:I}", "type", "batch", "batch_id",
	    b->id, "total", (json_int_t)b->njobs));
	for (i = 0; i < b->njobs; i++)	/* any that finished already */
		if (b->jobs[i].encoded != NULL)
			stream_result(b, &b->jobs[i], w);
	w->out = bufferevent_get_output(evhtp_request_get_bev(w->req));
	if ((w->out_cb = evbuffer_add_cb(w->out, stream_out_cb, w)) == NULL)
		fatalx("evbuffer_add_cb");
	/* Our stall check replaces libevhtp's timeouts on this connection. */
	bufferevent_set_timeouts(evhtp_request_get_bev(w->req), NULL, NULL);
	w->progress_us = clock_now_us();
	tv.tv_sec = (time_t)(api.cfg->api_timeout_ms / 4000);
	tv.tv_usec = (suseconds_t)(api.cfg->api_timeout_ms / 4 % 1000) * 1000;
	w->stall_ev = event_new(api.base, -1, EV_PERSIST, stream_stall_cb, w);
	if (w->stall_ev == NULL || event_add(w->stall_ev, &tv) == -1)
		fatalx("api: stall timer");
	if (b->progress_ms != 0) {
		tv.tv_sec = (time_t)(b->progress_ms / 1000);
		tv.tv_usec = (suseconds_t)(b->progress_ms % 1000) * 1000;
		w->progress_ev = event_new(api.base, -1, EV_PERSIST,
		    stream_progress_cb, w);
		if (w->progress_ev == NULL || event_add(w->progress_ev,
		    &tv) == -1)
			fatalx("api: progress timer");
	}
}

/* The end of a stream: summary, an error line if it was cut short. */
static void
stream_end(struct waiter *w, struct batch *b)
{
	json_t *sum = registry_status(b, 0), *s;

	if (!w->streaming)
		stream_start_cb(-1, 0, w);
	s = json_pack("{s:s}", "type", "summary");
	json_object_update(s, json_object_get(sum, "summary"));
	json_decref(sum);
	stream_json(w, s);
	if (b->cancelled && (b->cancel_code == RESULT_SHUTDOWN ||
	    b->cancel_code == RESULT_CANCELLED))
		stream_json(w, json_pack("{s:s,s:{s:s,s:s}}", "type", "error",
		    "error", "code", result_error_code(b->cancel_code),
		    "message", b->cancel_code == RESULT_SHUTDOWN ?
		    "fanoutd is shutting down" : "the batch was cancelled"));
	evhtp_send_reply_chunk_end(w->req);
}

/* Every request of the batch has a result: reply, then resume. */
static void
batch_done(struct batch *b, void *arg)
{
	struct waiter *w = arg;
	evhtp_request_t *req = w->req;

	unwatch(w);
	if (req != NULL && w->stream)
		stream_end(w, b);
	else if (req != NULL) {
		add_header(req, "Content-Type", "application/json");
		batch_write_reply(b, req->buffer_out);
		evhtp_send_reply(req, EVHTP_RES_OK);
	}
	if (req != NULL) {
		if (w->c != NULL)
			next_request(w->c);
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

/* Reply with a JSON document (stolen). */
static void
reply_doc(evhtp_request_t *req, int status, json_t *j)
{
	char *s;

	if (j == NULL || (s = json_dumps(j, JSON_COMPACT |
	    JSON_REAL_PRECISION(15))) == NULL)
		fatalx("json: out of memory");
	json_decref(j);
	reply_json(req, status, s, strlen(s));
	free(s);
}

static void
submit_async(evhtp_request_t *req, struct batch *b)
{
	char url[64];

	b->result_cb = async_result;
	dispatch_submit(b, clock_now_us(), async_done, NULL);
	snprintf(url, sizeof(url), "/v1/batches/%s", b->id);
	reply_doc(req, 202, json_pack("{s:s,s:s,s:s}", "batch_id", b->id,
	    "state", "running", "status_url", url));
}

/* Wait and stream: the request waits, paused, for the batch. */
static void
submit_waiting(evhtp_request_t *req, struct batch *b)
{
	struct waiter *w = xcalloc(1, sizeof(*w));

	w->req = req;
	w->b = b;
	api.nwaiters++;
	w->c = conn_of(req);
	w->c->waiter = w;
	evhtp_request_set_hook(req, evhtp_hook_on_request_fini,
	    (evhtp_hook)waiter_fini, w);
	w->watch = event_new(api.base, req->conn->sock, EV_READ | EV_PERSIST,
	    watch_cb, w);
	if (w->watch == NULL || event_add(w->watch, NULL) == -1)
		fatalx("api: cannot watch the client connection");
	if (b->mode == BATCH_STREAM) {
		w->stream = 1;
		b->result_cb = stream_result;
		if ((w->start_ev = event_new(api.base, -1, 0, stream_start_cb,
		    w)) == NULL)
			fatalx("event_new");
		event_active(w->start_ev, 0, 0);
	}
	dispatch_submit(b, clock_now_us(), batch_done, w);
	evhtp_request_pause(req);	/* must be the last thing we do */
}

/*
 * Admission: a batch that would take the daemon past max_queued_requests,
 * or its user past max_batches_per_uid, is refused at once (429) so that
 * what was accepted can finish.
 */
static int
admit(evhtp_request_t *req, const struct api_conn *c, struct batch *b)
{
	size_t open = dispatch_queued() + dispatch_inflight(), mine, cap;
	char msg[200];
	int i;

	b->gids = xreallocarray(NULL, (size_t)c->ngroups + 1,
	    sizeof(*b->gids));
	b->gids[0] = (uint32_t)c->gid;
	for (i = 0; i < c->ngroups; i++)
		b->gids[i + 1] = (uint32_t)c->groups[i];
	b->ngids = (size_t)i + 1;
	cap = dispatch_caller_limit(c->uid, b->gids, b->ngids, 1);
	if (cap != 0 && b->njobs > cap) {	/* it could never fit */
		snprintf(msg, sizeof(msg), "the batch has %zu requests, more "
		    "than your cap of %zu unfinished requests "
		    "(max_queued_per_uid or max_queued in your [user]/[group] "
		    "section); split it", b->njobs, cap);
		reply_error(req, 413, "payload_too_large", msg, "requests");
		return -1;
	}
	if (open + b->njobs > api.cfg->max_queued_requests)
		snprintf(msg, sizeof(msg), "%zu requests are queued or "
		    "running; %zu more would pass max_queued_requests (%llu)",
		    open,
		    b->njobs,
		    (unsigned long long)api.cfg->max_queued_requests);
	else if ((mine = registry_count_uid(c->uid)) >=
	    api.cfg->max_batches_per_uid)
		snprintf(msg, sizeof(msg), "you have %zu open batches "
		    "(max_batches_per_uid %llu)", mine,
		    (unsigned long long)api.cfg->max_batches_per_uid);
	else if (cap != 0 && (mine = caller_unfinished(c->uid)) + b->njobs >
	    cap)
		snprintf(msg, sizeof(msg), "you have %zu requests unfinished; "
		    "%zu more would pass your cap of %zu (max_queued_per_uid "
		    "or max_queued in your [user]/[group] section)", mine,
		    b->njobs, cap);
	else
		return 0;
	add_header(req, "Retry-After", "1");
	reply_error(req, 429, "overloaded", msg, NULL);
	return -1;
}

/*
 * Room for a body of want bytes in c->body, its capacity taken from
 * max_api_memory first. The body is kept in one allocation of its own:
 * libevhtp's evbuffer took twice its size (chains rounded up to a power of
 * two) and a pullup a third time. A Content-Length is taken whole, before
 * its bytes arrive, so that what is admitted can finish (growing bodies
 * side by side all ran out together); a chunked body grows by doubling.
 * Bodies are taken as their uid's, and one uid may hold at most half of
 * max_api_memory: four of its stalled clients declaring 64 MiB each held
 * the whole budget, and everyone else's batches got 503. -1 when it does
 * not fit: the body is then drained, never kept.
 */
static int
hold_body(struct api_conn *c, size_t want)
{
	size_t cap = c->body_cap, most = c->body_expect > 0 ?
	    (size_t)c->body_expect : (size_t)api.cfg->max_request_bytes;

	if (want <= cap)
		return 0;
	if (want < 2 * cap)
		want = 2 * cap;
	if (want < BODY_MIN_ROOM)
		want = BODY_MIN_ROOM;
	if (want > most)
		want = most;
	if (budget_take_user(&api.mem, &c->user->held, want - cap) == -1)
		return -1;
	c->body = xreallocarray(c->body, want, 1);
	c->body_cap = want;
	return 0;
}

/* Free the body and give its memory back. */
static void
release_body(struct api_conn *c)
{
	budget_give_user(&api.mem, &c->user->held, c->body_cap);
	free(c->body);
	c->body = NULL;
	c->body_len = c->body_cap = 0;
}

/* A body that did not fit in max_api_memory: 413 if it never could. */
static void
reply_no_room(evhtp_request_t *req, const struct api_conn *c)
{
	char msg[256];

	if (c->body_bytes > api.mem.limit / BUDGET_USER_SHARE) {
		snprintf(msg, sizeof(msg), "a body of %" PRIu64 " bytes is "
		    "more than one user may hold, half of max_api_memory (%"
		    PRIu64 " MiB); split it", c->body_bytes,
		    api.mem.limit >> 20);
		reply_error(req, 413, "payload_too_large", msg, NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "API request bodies being read and parsed "
	    "hold %" PRIu64 " MiB of max_api_memory (%" PRIu64 " MiB), %"
	    PRIu64 " MiB of them yours (at most half); this one (%" PRIu64
	    " bytes) does not fit now; retry later", api.mem.used >> 20,
	    api.mem.limit >> 20, c->user->held >> 20, c->body_bytes);
	add_header(req, "Retry-After", "1");
	reply_error(req, 503, "overloaded", msg, NULL);
}

static void
handle_batch(evhtp_request_t *req, struct api_conn *c)
{
	struct batch_error err;
	struct batch *b;
	size_t len = c->body_len;
	uint64_t retry_s;
	char msg[128];

	if (c->too_large) {
		snprintf(msg, sizeof(msg), "request body larger than %" PRIu64
		    " bytes (max_request_bytes)", api.cfg->max_request_bytes);
		reply_error(req, 413, "payload_too_large", msg, NULL);
		return;
	}
	if (c->no_room) {
		reply_no_room(req, c);
		return;
	}
	if (len == 0) {
		reply_error(req, 400, "invalid_json",
		    "the request body is empty; send a JSON batch", NULL);
		return;
	}
	b = batch_parse(c->body, len, api.cfg, &api.mem, &err);
	release_body(c);
	if (len >= XMALLOC_TRIM_BYTES)
		xmalloc_trim();	/* the tree's memory back to the system */
	if (b == NULL) {
		if (err.status == 503)
			add_header(req, "Retry-After", "1");
		reply_error(req, err.status, err.code, err.message, err.path);
		return;
	}
	if (admit(req, c, b) == -1) {
		batch_free(b);
		return;
	}
	if (b->mode == BATCH_ASYNC && registry_admit(&retry_s) == -1) {
		batch_free(b);
		snprintf(msg, sizeof(msg), "%" PRIu64, retry_s);
		add_header(req, "Retry-After", msg);
		reply_error(req, 429, "overloaded", "retained async results "
		    "are at max_retained_bytes; retry later", NULL);
		return;
	}
	b->uid = c->uid;
	b->pid = c->pid;
	registry_add(b);
	if (b->mode == BATCH_ASYNC)
		submit_async(req, b);
	else
		submit_waiting(req, b);
}

/* A non-negative integer query parameter; -1 when malformed. */
static int
query_uint(evhtp_request_t *req, const char *key, uint64_t def,
    uint64_t *out)
{
	const char *v = req->uri && req->uri->query ?
	    evhtp_kv_find(req->uri->query, key) : NULL;
	char *end;

	*out = def;
	if (v == NULL)
		return 0;
	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return *end == '\0' && errno == 0 ? 0 : -1;
}

/* GET /v1/batches/ID/results?after=K&limit=N: NDJSON, index order. */
static void
handle_results(evhtp_request_t *req, struct batch *b)
{
	uint64_t after, limit;
	size_t i, n = 0;
	int have_after = req->uri && req->uri->query &&
	    evhtp_kv_find(req->uri->query, "after") != NULL;

	if (query_uint(req, "after", 0, &after) == -1 ||
	    query_uint(req, "limit", 10000, &limit) == -1 || limit == 0) {
		reply_error(req, 400, "invalid_request", "after and limit must "
		    "be non-negative integers (limit at least 1)", NULL);
		return;
	}
	add_header(req, "Content-Type", "application/x-ndjson");
	i = !have_after ? 0 : after >= b->njobs ? b->njobs : (size_t)after + 1;
	for (; i < b->njobs && n < limit; i++) {
		if (b->jobs[i].encoded == NULL)
			continue;
		evbuffer_add(req->buffer_out, b->jobs[i].encoded,
		    b->jobs[i].encoded_len);
		evbuffer_add(req->buffer_out, "\n", 1);
		n++;
	}
	send_reply(req, EVHTP_RES_OK);
}

/* /v1/batches/ID[/results]: GET status, GET results, DELETE cancels. */
static void
handle_one(evhtp_request_t *req, struct api_conn *c, const char *rest)
{
	htp_method m = evhtp_request_get_method(req);
	char id[33];
	uint64_t with;
	struct batch *b;
	size_t idlen = strcspn(rest, "/");

	if (idlen != 32 || strspn(rest, "0123456789abcdef") != 32 ||
	    (rest[32] != '\0' && strcmp(rest + 32, "/results") != 0) ||
	    (memcpy(id, rest, 32), id[32] = '\0',
	    (b = registry_find(id, c->uid)) == NULL)) {
		reply_error(req, 404, "not_found", "no such batch", NULL);
		return;
	}
	if (rest[32] == '/') {
		if (m != htp_method_GET)
			method_not_allowed(req, "GET");
		else
			handle_results(req, b);
		return;
	}
	if (m == htp_method_DELETE) {
		dispatch_cancel(b, RESULT_CANCELLED,
		    "cancelled by DELETE /v1/batches/ID");
		reply_doc(req, 200, registry_status(b, 0));
	} else if (m != htp_method_GET)
		method_not_allowed(req, "GET, DELETE");
	else if (query_uint(req, "results", 0, &with) == -1)
		reply_error(req, 400, "invalid_request", "results must be 0 "
		    "or 1", NULL);
	else
		reply_doc(req, 200, registry_status(b, with != 0));
}

/* Liveness: 200 while the loop runs, 503 once it is about to exit. */
static void
handle_health(evhtp_request_t *req)
{
	reply_doc(req, api.stopping ? 503 : 200, json_pack(
	    "{s:s,s:s,s:I,s:I,s:I,s:I}", "status", api.stopping ? "stopping" :
	    api.draining ? "draining" : "ok", "version", PACKAGE_VERSION,
	    "uptime_s", (json_int_t)((clock_now_us() - api.started_us) /
	    1000000), "inflight", (json_int_t)dispatch_inflight(),
	    "queued", (json_int_t)dispatch_queued(),
	    "batches", (json_int_t)dispatch_batches()));
}

/* Readiness: 200 while new batches are taken, 503 with why otherwise. */
static void
handle_ready(evhtp_request_t *req)
{
	const char *why = NULL;

	if (api.draining || api.stopping)
		why = "draining";
	else if (api.cfg->max_retained_bytes > 0 &&
	    registry_retained() >= api.cfg->max_retained_bytes)
		why = "overloaded";	/* async batches are refused now */
	if (why != NULL)
		add_header(req, "Retry-After", "10");
	reply_doc(req, why ? 503 : 200, json_pack("{s:s,s:I,s:I}", "status",
	    why ? why : "ready", "inflight", (json_int_t)dispatch_inflight(),
	    "queued", (json_int_t)dispatch_queued()));
}

static void
handle_metrics(evhtp_request_t *req)
{
	add_header(req, "Content-Type", "text/plain; version=0.0.4; "
	    "charset=utf-8");
	if (evhtp_request_get_method(req) != htp_method_HEAD)
		metrics_render(req->buffer_out, clock_now_us());
	send_reply(req, EVHTP_RES_OK);
}

/* GET /v1/config: the effective configuration and the last reload. */
static void
handle_config(evhtp_request_t *req)
{
	json_t *j = reload_status();

	json_object_set_new(j, "config", config_json(api.cfg));
	reply_doc(req, 200, j);
}

/* The routes anyone may use, also served on health_listen. */
static int
route_common(evhtp_request_t *req, const char *path, htp_method m)
{
	void (*fn)(evhtp_request_t *);

	if (strcmp(path, "/healthz") == 0)
		fn = handle_health;
	else if (strcmp(path, "/readyz") == 0)
		fn = handle_ready;
	else if (strcmp(path, "/metrics") == 0)
		fn = handle_metrics;
	else
		return 0;
	if (m != htp_method_GET && m != htp_method_HEAD)
		method_not_allowed(req, "GET, HEAD");
	else
		fn(req);
	return 1;
}

/* GET /v1/hosts: limits, state and counters of every known host. */
static void
handle_hosts(evhtp_request_t *req)
{
	reply_doc(req, 200, json_pack("{s:o}", "hosts",
	    host_stats(clock_now_us())));
}

static void
method_not_allowed(evhtp_request_t *req, const char *allow)
{
	add_header(req, "Allow", allow);
	reply_error(req, 405, "method_not_allowed",
	    "method not allowed on this resource", NULL);
}

/*
 * allow_uids/allow_gids: when either is set, only those users, members of
 * those groups (primary or supplementary) and root are served.
 */
static int
caller_allowed(const struct api_conn *c)
{
	int i;

	if ((api.cfg->allow_uids.n == 0 && api.cfg->allow_gids.n == 0) ||
	    c->uid == 0 || idlist_has(&api.cfg->allow_uids, c->uid) ||
	    idlist_has(&api.cfg->allow_gids, c->gid))
		return 1;
	for (i = 0; i < c->ngroups; i++)
		if (idlist_has(&api.cfg->allow_gids, c->groups[i]))
			return 1;
	return 0;
}

/* The one request handler: route on path and method. */
static void
route(evhtp_request_t *req, void *arg)
{
	struct api_conn *c = conn_of(req);

	(void)arg;
	c->reading_us = 0;	/* it has all arrived */
	route_one(req, c);
	release_body(c);	/* a body no route read */
	if (c->waiter == NULL)	/* answered: the next request is due */
		c->reading_us = clock_now_us();
	if (c->replying == req) {
		event_active(c->reply_ev, 0, 0);
		evhtp_request_pause(req);	/* must be the last thing */
	}
}

static void
route_one(evhtp_request_t *req, struct api_conn *c)
{
	htp_method m = evhtp_request_get_method(req);
	const char *path = req->uri && req->uri->path ?
	    req->uri->path->full : "";

	if (c->nheaders > MAX_HEADERS) {
		reply_error(req, 431, "headers_too_large",
		    "too many request headers", NULL);
	} else if (c->uri_len > MAX_URI_LEN) {
		reply_error(req, 414, "uri_too_long",
		    "request URI too long; put parameters in the JSON body",
		    NULL);
	} else if (!caller_allowed(c) && strcmp(path, "/healthz") != 0 &&
	    strcmp(path, "/readyz") != 0) {
		reply_error(req, 403, "forbidden", "this user may not use "
		    "fanoutd (allow_uids, allow_gids)", NULL);
	} else if (strcmp(path, "/v1/batches") == 0) {
		if (m == htp_method_GET)
			reply_doc(req, 200, registry_list(c->uid));
		else if (m != htp_method_POST)
			method_not_allowed(req, "GET, POST");
		else if (api.draining || api.stopping) {
			add_header(req, "Retry-After", "10");
			reply_error(req, 503, "draining", "fanoutd is draining "
			    "to stop; submit to its successor", NULL);
		} else
			handle_batch(req, c);
	} else if (strncmp(path, "/v1/batches/", 12) == 0) {
		handle_one(req, c, path + 12);
	} else if (strcmp(path, "/v1/hosts") == 0) {
		if (m != htp_method_GET && m != htp_method_HEAD)
			method_not_allowed(req, "GET, HEAD");
		else
			handle_hosts(req);
	} else if (strcmp(path, "/v1/stats") == 0 ||
	    strcmp(path, "/v1/config") == 0) {
		if (m != htp_method_GET && m != htp_method_HEAD)
			method_not_allowed(req, "GET, HEAD");
		else if (path[4] == 's')
			reply_doc(req, 200, metrics_stats(clock_now_us()));
		else
			handle_config(req);
	} else if (!route_common(req, path, m))
		reply_error(req, 404, "not_found", "no such resource", NULL);
}

/* health_listen: only /healthz, /readyz and /metrics, over TCP. */
static void
route_health(evhtp_request_t *req, void *arg)
{
	const char *path = req->uri && req->uri->path ?
	    req->uri->path->full : "";

	(void)arg;
	if (!route_common(req, path, evhtp_request_get_method(req)))
		reply_error(req, 404, "not_found", "only /healthz, /readyz "
		    "and /metrics are served here", NULL);
}

static evhtp_res
on_headers(evhtp_request_t *req, evhtp_headers_t *hdrs, void *arg)
{
	struct api_conn *c = arg;
	const char *cl = evhtp_header_find(hdrs, "Content-Length");
	evhtp_kv_t *ct;
	uint64_t len;

	/*
	 * libevhtp parses a form-encoded body as a query string, and crashes
	 * on large ones (a 7 MB body did). Bodies here are JSON whatever the
	 * client labels them, so hide that label from it.
	 */
	while ((ct = evhtp_kvs_find_kv(hdrs, "Content-Type")) != NULL)
		evhtp_kv_rm_and_free(hdrs, ct);
	/* Measured here: evhtp may fill query_raw from a form body later. */
	c->uri_len = strlen(req->uri && req->uri->path && req->uri->path->full ?
	    req->uri->path->full : "") + (req->uri && req->uri->query_raw ?
	    strlen((const char *)req->uri->query_raw) : 0);
	c->body_bytes = 0;
	len = cl != NULL ? strtoull(cl, NULL, 10) : 0;
	c->too_large = len > api.cfg->max_request_bytes;
	c->body_expect = c->too_large ? 0 : len;
	if (!c->too_large && len > 0 && hold_body(c, (size_t)len) == -1) {
		c->no_room = 1;
		c->body_bytes = len;	/* for the message */
	}
	return EVHTP_RES_OK;
}

static evhtp_res
on_header(evhtp_request_t *req, evhtp_header_t *hdr, void *arg)
{
	struct api_conn *c = arg;

	(void)req;
	(void)hdr;
	c->nheaders++;
	return EVHTP_RES_OK;
}

static evhtp_res
on_headers_start(evhtp_request_t *req, void *arg)
{
	struct api_conn *c = arg;

	(void)req;
	c->between = 0;
	c->nheaders = 0;
	c->uri_len = 0;
	c->too_large = 0;
	c->no_room = 0;
	c->body_bytes = 0;
	c->body_expect = 0;
	release_body(c);
	return EVHTP_RES_OK;
}

/*
 * Body bytes go into c->body, never into libevhtp's buffer. Past
 * max_request_bytes, or when max_api_memory has no room for them, they are
 * drained, and the handler says 413 or 503.
 */
static evhtp_res
on_read(evhtp_request_t *req, struct evbuffer *buf, void *arg)
{
	struct api_conn *c = arg;
	size_t len = evbuffer_get_length(buf);

	(void)req;
	if (!c->no_room)
		c->body_bytes += len;
	if (c->body_bytes > api.cfg->max_request_bytes)
		c->too_large = 1;
	if (!c->too_large && !c->no_room &&
	    hold_body(c, c->body_len + len) == -1)
		c->no_room = 1;
	if (c->too_large || c->no_room)
		release_body(c);
	else {
		evbuffer_copyout(buf, c->body + c->body_len, len);
		c->body_len += len;
	}
	evbuffer_drain(buf, len);
	return EVHTP_RES_OK;
}

/* What libevhtp's parser found wrong, in words. */
static const char *const parse_errors[] = {
	[htparse_error_inval_method] = "not a valid method",
	[htparse_error_inval_reqline] = "not a valid request line (not "
	    "HTTP/1.x, a bare LF, or an HTTP/2 preface)",
	[htparse_error_inval_schema] = "not a valid URI scheme",
	[htparse_error_inval_proto] = "not a valid protocol",
	[htparse_error_inval_ver] = "not a valid HTTP version",
	[htparse_error_inval_hdr] = "not a valid header line (or a bare LF)",
	[htparse_error_inval_chunk_sz] = "not a valid chunk size",
	[htparse_error_inval_chunk] = "not a valid chunk",
	[htparse_error_inval_state] = "the parser lost its place",
};

/*
 * libevhtp frees a connection whose request does not parse, without a
 * word to the client. Before it goes (from on_conn_fini, while the socket
 * is open and the parser's error readable), flush what was queued and
 * say what was wrong, in the JSON envelope: 414 for a request line past
 * the parser's 8 KiB token limit, 431 for such a header (libevhtp reports
 * a malformed Content-Length the same way), 400 for anything else (not
 * HTTP, bare LF, a bad chunk size, the HTTP/2 preface). Then it closes.
 */
static void
bad_request_reply(const struct api_conn *c, evhtp_connection_t *conn)
{
	htparser *p = conn->parser;
	struct evbuffer *out;
	const char *code, *msg, *line;
	char reply[512], body[320];
	int status, n;
	size_t e;

	if (p == NULL || htparser_get_error(p) == htparse_error_none ||
	    conn->bev == NULL || c->closing)
		return;
	if (htparser_get_error(p) == htparse_error_too_big &&
	    htparser_get_major(p) == 0 && (conn->request == NULL ||
	    conn->request->uri == NULL)) {
		status = 414, code = "uri_too_long", line = "URI Too Long";
		msg = "request line longer than 8 KiB; put parameters in the "
		    "JSON body";
	} else if (htparser_get_error(p) == htparse_error_too_big) {
		status = 431, code = "headers_too_large";
		line = "Request Header Fields Too Large";
		msg = "a request header longer than 8 KiB, or a malformed "
		    "Content-Length";
	} else {
		status = 400, code = "bad_request", line = "Bad Request";
		e = (size_t)htparser_get_error(p);
		msg = e < sizeof(parse_errors) / sizeof(parse_errors[0]) &&
		    parse_errors[e] != NULL ? parse_errors[e] :
		    "not valid HTTP/1.1";
	}
	snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\","
	    "\"message\":\"malformed HTTP request: %s\"}}\n", code, msg);
	n = snprintf(reply, sizeof(reply), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: "
	    "close\r\n\r\n%s", status, line, strlen(body), body);
	out = bufferevent_get_output(conn->bev);
	while (evbuffer_get_length(out) > 0 &&
	    evbuffer_write(out, conn->sock) > 0)
		;	/* replies before the bad one go first */
	if (evbuffer_get_length(out) == 0 && n > 0)
		(void)send(conn->sock, reply, (size_t)n, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
	log_debug("API connection: %s (%d)", msg, status);
}

static evhtp_res
on_conn_fini(evhtp_connection_t *conn, void *arg)
{
	struct api_conn *c = arg;

	(void)conn;
	TAILQ_REMOVE(&api.conns, c, entry);
	api.nconns--;
	release_body(c);
	if (--c->user->conns == 0) {
		HASH_DEL(api.users, c->user);
		free(c->user);
	}
	bad_request_reply(c, conn);
	event_free(c->reply_ev);
	if (c->waiter != NULL)
		c->waiter->c = NULL;
	c->magic = 0;
	free(c->groups);
	free(c);
	return EVHTP_RES_OK;
}

/* Is a reply still on its way out to c's client? */
static int
writing(const struct api_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->conn->bev)) != 0;
}

/*
 * Slow clients (slowloris): libevhtp's read timeout restarts with every
 * byte, so a client trickling a byte now and then would hold its
 * connection forever. Each request must arrive whole within
 * api_request_timeout_ms of the connection opening or of the previous
 * reply going out (so an idle keep-alive connection is closed after that
 * long too); this sweep cuts those that do not. Time spent writing a
 * reply to a slow reader does not count (api_timeout_ms covers that).
 */
static void
sweep_cb(evutil_socket_t fd, short kind, void *arg)
{
	uint64_t now = clock_now_us(),
	    limit = api.cfg->api_request_timeout_ms * 1000;
	struct api_conn *c, *next;

	(void)fd;
	(void)kind;
	(void)arg;
	for (c = TAILQ_FIRST(&api.conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->reading_us == 0)
			continue;	/* being served */
		if (writing(c))
			c->reading_us = now;
		else if (now - c->reading_us > limit) {
			log_debug("API connection uid %u pid %d: no whole "
			    "request in %llu ms, closing", (unsigned)c->uid,
			    (int)c->pid, (unsigned long long)
			    api.cfg->api_request_timeout_ms);
			api.evicted++;
			evhtp_connection_free(c->conn);
		}
	}
}

/*
 * At api_max_connections, make room for a new client by closing the one
 * that has waited longest for its next request (slow or idle), never one
 * whose request is being served or whose reply is still going out.
 */
static void
evict(void)
{
	struct api_conn *c, *victim = NULL;

	TAILQ_FOREACH(c, &api.conns, entry)
		if (c->reading_us != 0 && !writing(c) && (victim == NULL ||
		    c->reading_us < victim->reading_us))
			victim = c;
	if (victim == NULL)
		return;
	log_debug("api_max_connections: closing the connection of uid %u "
	    "that waited longest for a request", (unsigned)victim->uid);
	api.evicted++;
	evhtp_connection_free(victim->conn);
}

/*
 * The caller's supplementary groups, all of them: SO_PEERGROUPS says how
 * much room it needs (ERANGE) when the first guess is too small.
 */
static void
peer_groups(struct api_conn *c, int fd)
{
	socklen_t len = 64 * sizeof(gid_t);
	int rc;

	c->groups = xmalloc(len);
	rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &len);
	if (rc == -1 && errno == ERANGE && len > 0) {
		c->groups = xreallocarray(c->groups, 1, len);
		rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, c->groups, &len);
	}
	c->ngroups = rc == -1 ? 0 : (int)(len / sizeof(gid_t));
}

/* A new client: learn who it is (SO_PEERCRED) and hook its requests. */
static evhtp_res
on_accept(evhtp_connection_t *conn, void *arg)
{
	struct api_conn *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	bufferevent_data_cb wcb;
	bufferevent_event_cb ecb;
	void *cbarg;

	(void)arg;
	if (!api.stopping && api.nconns >= api.cfg->api_max_connections)
		evict();
	if (api.stopping || api.nconns >= api.cfg->api_max_connections) {
		log_warnx("refusing API connection: %s", api.stopping ?
		    "shutting down" : "api_max_connections reached and none "
		    "is idle or slow");
		return EVHTP_RES_ERROR;
	}
	c = xcalloc(1, sizeof(*c));
	c->magic = CONN_MAGIC;
	c->conn = conn;
	if ((c->reply_ev = event_new(api.base, -1, 0, reply_ev_cb, c)) == NULL)
		fatalx("event_new");
	c->between = 1;
	bufferevent_getcb(conn->bev, &c->evhtp_readcb, &wcb, &ecb, &cbarg);
	bufferevent_setcb(conn->bev, readcb_wrap, wcb, ecb, cbarg);
	c->reading_us = clock_now_us();	/* its first request is due */
	if (getsockopt(conn->sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
	} else
		c->uid = c->gid = (uid_t)-1;
	HASH_FIND(hh, api.users, &c->uid, sizeof(uint32_t), c->user);
	if (c->user == NULL) {
		c->user = xcalloc(1, sizeof(*c->user));
		c->user->uid = (uint32_t)c->uid;
		HASH_ADD(hh, api.users, uid, sizeof(uint32_t), c->user);
	}
	c->user->conns++;
	peer_groups(c, conn->sock);
	TAILQ_INSERT_TAIL(&api.conns, c, entry);
	api.nconns++;
	evhtp_connection_set_hook(conn, evhtp_hook_on_connection_fini,
	    (evhtp_hook)on_conn_fini, c);
	evhtp_connection_set_hook(conn, evhtp_hook_on_headers_start,
	    (evhtp_hook)on_headers_start, c);
	evhtp_connection_set_hook(conn, evhtp_hook_on_header,
	    (evhtp_hook)on_header, c);
	evhtp_connection_set_hook(conn, evhtp_hook_on_headers,
	    (evhtp_hook)on_headers, c);
	evhtp_connection_set_hook(conn, evhtp_hook_on_read,
	    (evhtp_hook)on_read, c);
	return EVHTP_RES_OK;
}

static void
idle_ev_cb(evutil_socket_t fd, short kind, void *arg)
{
	void (*cb)(void) = api.idle_cb;

	(void)fd;
	(void)kind;
	(void)arg;
	api.idle_cb = NULL;
	if (cb != NULL)
		cb();
}

size_t
api_connections(void)
{
	return api.nconns;
}

uint64_t
api_connections_cut(void)
{
	return api.evicted;
}

void
api_set_allocator(void)
{
	evhtp_set_mem_functions(xmalloc_lib, xrealloc_lib, free);
}

int
api_init(struct event_base *base, int fd, const struct config *cfg,
    char **cause)
{
	struct timeval timeout;

	memset(&api, 0, sizeof(api));
	api.base = base;
	api.cfg = cfg;
	api.started_us = clock_now_us();
	budget_init(&api.mem, cfg->max_api_memory);
	TAILQ_INIT(&api.conns);
	if ((api.htp = evhtp_new(base, NULL)) == NULL) {
		xasprintf(cause, "evhtp_new failed");
		close(fd);
		return -1;
	}
	evhtp_set_gencb(api.htp, route, NULL);
	timeout.tv_sec = (time_t)(cfg->api_timeout_ms / 1000);
	timeout.tv_usec = (suseconds_t)(cfg->api_timeout_ms % 1000) * 1000;
	evhtp_set_timeouts(api.htp, &timeout, &timeout);
	evhtp_set_post_accept_cb(api.htp, on_accept, NULL);
	/*
	 * No evhtp max_body_size: it drops the connection without a reply.
	 * Bodies past max_request_bytes are drained (on_read) into a 413.
	 */
	if ((api.idle_ev = event_new(base, -1, 0, idle_ev_cb, NULL)) == NULL ||
	    (api.sweep_ev = event_new(base, -1, EV_PERSIST, sweep_cb,
	    NULL)) == NULL)
		fatalx("event_new");
	timeout.tv_sec = 0;	/* a tenth of the shortest allowed timeout */
	timeout.tv_usec = 100000;
	event_add(api.sweep_ev, &timeout);
	if (evhtp_accept_socket(api.htp, fd, 1024) != 0) {
		xasprintf(cause, "evhtp_accept_socket: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return health_open(cfg->health_listen, cause);
}

/* health_listen = ADDR:PORT, validated as loopback by config.c. */
static int
health_open(const char *spec, char **cause)
{
	struct timeval tv = { 10, 0 };
	const char *colon = strrchr(spec, ':');
	char addr[64];
	size_t alen;

	if (*spec == '\0')
		return 0;
	alen = (size_t)(colon - spec);
	if (spec[0] == '[')	/* [::1]:PORT -> ipv6:::1 */
		snprintf(addr, sizeof(addr), "ipv6:%.*s", (int)alen - 2,
		    spec + 1);
	else
		snprintf(addr, sizeof(addr), "%.*s", (int)alen, spec);
	if ((api.health = evhtp_new(api.base, NULL)) == NULL)
		fatalx("evhtp_new");
	evhtp_set_gencb(api.health, route_health, NULL);
	evhtp_set_timeouts(api.health, &tv, &tv);
	if (evhtp_bind_socket(api.health, addr, (uint16_t)atoi(colon + 1),
	    128) != 0) {
		xasprintf(cause, "health_listen %s: %s", spec, strerror(errno));
		return -1;
	}
	log_info("health endpoints also on http://%s", spec);
	return 0;
}

void
api_reconfigure(void)
{
	struct timeval timeout;

	timeout.tv_sec = (time_t)(api.cfg->api_timeout_ms / 1000);
	timeout.tv_usec = (suseconds_t)(api.cfg->api_timeout_ms % 1000) * 1000;
	evhtp_set_timeouts(api.htp, &timeout, &timeout);
	api.mem.limit = api.cfg->max_api_memory;
}

const struct budget *
api_memory(void)
{
	return &api.mem;
}

void
api_drain(void)
{
	api.draining = 1;
}

void
api_stop(void (*idle_cb)(void))
{
	api.stopping = 1;
	api.idle_cb = idle_cb;
	evhtp_unbind_socket(api.htp);
	if (api.health != NULL)
		evhtp_unbind_socket(api.health);
	check_idle();
}

size_t
api_waiting(void)
{
	return api.nwaiters;
}

void
api_shutdown(void)
{
	struct api_conn *c;

	/* evhtp_free() leaves connections open: close them (fini hooks run). */
	while ((c = TAILQ_FIRST(&api.conns)) != NULL)
		evhtp_connection_free(c->conn);
	if (api.htp != NULL)
		evhtp_free(api.htp);
	if (api.health != NULL)
		evhtp_free(api.health);
	if (api.idle_ev != NULL)
		event_free(api.idle_ev);
	if (api.sweep_ev != NULL)
		event_free(api.sweep_ev);
	memset(&api, 0, sizeof(api));
}
