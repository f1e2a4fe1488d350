/*
 * api.c: the socket API, and the only file that knows libevhtp.
 *
 * Routes: POST /v1/batches (parse, dispatch, reply when every request has a
 * result), GET /healthz. Every error is {"error": {code, message, path}}.
 * libevhtp's sharp edges (../shared/LIBRARIES.md) are handled here: bodies
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
#include <jansson.h>

#include "api.h"
#include "batch.h"
#include "clock.h"
#include "config.h"
#include "dispatch.h"
#include "host.h"
#include "http_client.h"
#include "log.h"
#include "xmalloc.h"

#define CONN_MAGIC	0xc0aa3c71u
#define MAX_URI_LEN	1024
#define MAX_HEADERS	100

/* One client connection: who it is and the state of its current request. */
struct api_conn {
	uint32_t	 magic;
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	uint64_t	 body_bytes;
	size_t		 uri_len;
	unsigned	 nheaders;
	int		 too_large;
	evhtp_connection_t *conn;	/* borrowed */
	TAILQ_ENTRY(api_conn) entry;
};

/*
 * A paused request waiting for its batch; freed when both are gone. While
 * paused, libevhtp does not read, so it would not see the client leave:
 * `watch` does (a read event and recv(MSG_PEEK) returning 0).
 */
struct waiter {
	evhtp_request_t	*req;
	struct batch	*b;
	struct event	*watch;
};

static struct {
	struct event_base	*base;
	evhtp_t			*htp;
	const struct config	*cfg;
	uint64_t		 started_us;
	TAILQ_HEAD(, api_conn)	 conns;
	size_t			 nconns;
	size_t			 nwaiters;
	int			 stopping;
	void			(*idle_cb)(void);
	struct event		*idle_ev;
} api;

static void
add_header(evhtp_request_t *req, const char *k, const char *v)
{
	evhtp_headers_add_header(req->headers_out,
	    evhtp_header_new(k, v, 0, 1));
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
	evhtp_send_reply(req, status);
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

static struct api_conn *
conn_of(evhtp_request_t *req)
{
	struct api_conn *c = req->conn->hooks ?
	    req->conn->hooks->on_connection_fini_arg : NULL;

	if (c == NULL || c->magic != CONN_MAGIC)
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
	unwatch(w);	/* gone, or sent more (pipelining): stop looking */
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
	w->req = NULL;
	unwatch(w);
	if (w->b != NULL)
		dispatch_cancel(w->b, RESULT_CANCELLED,
		    "the client closed its connection");
	waiter_release(w);
	return EVHTP_RES_OK;
}

/* Every request of the batch has a result: reply, then resume. */
static void
batch_done(struct batch *b, void *arg)
{
	struct waiter *w = arg;
	evhtp_request_t *req = w->req;

	w->b = NULL;
	unwatch(w);
	if (req != NULL) {
		add_header(req, "Content-Type", "application/json");
		batch_write_reply(b, req->buffer_out);
		evhtp_send_reply(req, EVHTP_RES_OK);
		evhtp_request_resume(req);
	}
	batch_free(b);
	waiter_release(w);
}

static void
handle_batch(evhtp_request_t *req, struct api_conn *c)
{
	struct batch_error err;
	struct batch *b;
	struct waiter *w;
	size_t len = evbuffer_get_length(req->buffer_in);
	char msg[128];

	if (c->too_large) {
		snprintf(msg, sizeof(msg), "request body larger than %" PRIu64
		    " bytes (max_request_bytes)", api.cfg->max_request_bytes);
		reply_error(req, 413, "payload_too_large", msg, NULL);
		return;
	}
	if (len == 0) {
		reply_error(req, 400, "invalid_json",
		    "the request body is empty; send a JSON batch", NULL);
		return;
	}
	b = batch_parse((const char *)evbuffer_pullup(req->buffer_in, -1),
	    len, api.cfg, &err);
	if (b == NULL) {
		reply_error(req, err.status, err.code, err.message, err.path);
		return;
	}
	b->uid = c->uid;
	b->pid = c->pid;
	w = xcalloc(1, sizeof(*w));
	w->req = req;
	w->b = b;
	api.nwaiters++;
	evhtp_request_set_hook(req, evhtp_hook_on_request_fini,
	    (evhtp_hook)waiter_fini, w);
	w->watch = event_new(api.base, req->conn->sock, EV_READ | EV_PERSIST,
	    watch_cb, w);
	if (w->watch == NULL || event_add(w->watch, NULL) == -1)
		fatalx("api: cannot watch the client connection");
	dispatch_submit(b, clock_now_us(), batch_done, w);
	evhtp_request_pause(req);	/* must be the last thing we do */
}

static void
handle_health(evhtp_request_t *req)
{
	json_t *h;
	char *s;

	h = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}",
	    "status", api.stopping ? "stopping" : "ok",
	    "version", PACKAGE_VERSION,
	    "uptime_s", (json_int_t)((clock_now_us() - api.started_us) /
	    1000000),
	    "inflight", (json_int_t)dispatch_inflight(),
	    "queued", (json_int_t)dispatch_queued(),
	    "batches", (json_int_t)dispatch_batches());
	if (h == NULL || (s = json_dumps(h, JSON_COMPACT)) == NULL)
		fatalx("json: out of memory");
	json_decref(h);
	reply_json(req, api.stopping ? 503 : 200, s, strlen(s));
	free(s);
}

/* GET /v1/hosts: limits, state and counters of every known host. */
static void
handle_hosts(evhtp_request_t *req)
{
	json_t *j = json_pack("{s:o}", "hosts", host_stats(clock_now_us()));
	char *s;

	if (j == NULL || (s = json_dumps(j, JSON_COMPACT |
	    JSON_REAL_PRECISION(15))) == NULL)
		fatalx("json: out of memory");
	json_decref(j);
	reply_json(req, 200, s, strlen(s));
	free(s);
}

static void
method_not_allowed(evhtp_request_t *req, const char *allow)
{
	add_header(req, "Allow", allow);
	reply_error(req, 405, "method_not_allowed",
	    "method not allowed on this resource", NULL);
}

/* The one request handler: route on path and method. */
static void
route(evhtp_request_t *req, void *arg)
{
	struct api_conn *c = conn_of(req);
	htp_method m = evhtp_request_get_method(req);
	const char *path = req->uri && req->uri->path ?
	    req->uri->path->full : "";

	(void)arg;
	if (c->nheaders > MAX_HEADERS) {
		reply_error(req, 431, "headers_too_large",
		    "too many request headers", NULL);
	} else if (c->uri_len > MAX_URI_LEN) {
		reply_error(req, 414, "uri_too_long",
		    "request URI too long; put parameters in the JSON body",
		    NULL);
	} else if (strcmp(path, "/v1/batches") == 0) {
		if (m != htp_method_POST)
			method_not_allowed(req, "POST");
		else if (api.stopping)
			reply_error(req, 503, "shutting_down",
			    "fanoutd is shutting down", NULL);
		else
			handle_batch(req, c);
	} else if (strcmp(path, "/v1/hosts") == 0) {
		if (m != htp_method_GET && m != htp_method_HEAD)
			method_not_allowed(req, "GET, HEAD");
		else
			handle_hosts(req);
	} else if (strcmp(path, "/healthz") == 0) {
		if (m != htp_method_GET && m != htp_method_HEAD)
			method_not_allowed(req, "GET, HEAD");
		else
			handle_health(req);
	} else
		reply_error(req, 404, "not_found", "no such resource", NULL);
}

static evhtp_res
on_headers(evhtp_request_t *req, evhtp_headers_t *hdrs, void *arg)
{
	struct api_conn *c = arg;
	const char *cl = evhtp_header_find(hdrs, "Content-Length");

	/* Measured here: evhtp may fill query_raw from a form body later. */
	c->uri_len = strlen(req->uri && req->uri->path && req->uri->path->full ?
	    req->uri->path->full : "") + (req->uri && req->uri->query_raw ?
	    strlen((const char *)req->uri->query_raw) : 0);
	c->body_bytes = 0;
	c->too_large = cl != NULL &&
	    strtoull(cl, NULL, 10) > api.cfg->max_request_bytes;
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
	c->nheaders = 0;
	c->uri_len = 0;
	c->too_large = 0;
	c->body_bytes = 0;
	return EVHTP_RES_OK;
}

/* Body bytes: past the limit they are drained, and the handler says 413. */
static evhtp_res
on_read(evhtp_request_t *req, struct evbuffer *buf, void *arg)
{
	struct api_conn *c = arg;
	size_t len = evbuffer_get_length(buf);

	c->body_bytes += len;
	if (c->body_bytes > api.cfg->max_request_bytes)
		c->too_large = 1;
	if (c->too_large) {
		evbuffer_drain(buf, len);
		evbuffer_drain(req->buffer_in,
		    evbuffer_get_length(req->buffer_in));
	}
	return EVHTP_RES_OK;
}

static evhtp_res
on_conn_fini(evhtp_connection_t *conn, void *arg)
{
	struct api_conn *c = arg;

	(void)conn;
	TAILQ_REMOVE(&api.conns, c, entry);
	api.nconns--;
	c->magic = 0;
	free(c);
	return EVHTP_RES_OK;
}

/* A new client: learn who it is (SO_PEERCRED) and hook its requests. */
static evhtp_res
on_accept(evhtp_connection_t *conn, void *arg)
{
	struct api_conn *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	(void)arg;
	if (api.stopping || api.nconns >= api.cfg->api_max_connections) {
		log_warnx("refusing API connection: %s", api.stopping ?
		    "shutting down" : "api_max_connections reached");
		return EVHTP_RES_ERROR;
	}
	c = xcalloc(1, sizeof(*c));
	c->magic = CONN_MAGIC;
	c->conn = conn;
	if (getsockopt(conn->sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
	} else
		c->uid = (uid_t)-1;
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

int
api_init(struct event_base *base, int fd, const struct config *cfg,
    char **cause)
{
	struct timeval timeout;

	memset(&api, 0, sizeof(api));
	api.base = base;
	api.cfg = cfg;
	api.started_us = clock_now_us();
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
	if ((api.idle_ev = event_new(base, -1, 0, idle_ev_cb, NULL)) == NULL)
		fatalx("event_new");
	if (evhtp_accept_socket(api.htp, fd, 1024) != 0) {
		xasprintf(cause, "evhtp_accept_socket: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

void
api_stop(void (*idle_cb)(void))
{
	api.stopping = 1;
	api.idle_cb = idle_cb;
	evhtp_unbind_socket(api.htp);
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
	if (api.idle_ev != NULL)
		event_free(api.idle_ev);
	memset(&api, 0, sizeof(api));
}
