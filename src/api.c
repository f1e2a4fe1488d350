/*
 * api.c: the API server: connections, request bodies, replies.
 *
 * Every error is {"error": {code, message, path}}. libevhtp's sharp edges
 * (docs/pitfalls.md) are handled here: bodies go into one allocation of
 * their own, priced against max_api_memory, and bodies over the limit are
 * drained and answered 413 instead of a dropped connection; a reply goes
 * out from the loop after the handler paused its request (pipelining);
 * malformed HTTP gets a JSON 400/414/431 before libevhtp closes; slow
 * clients are swept (api_request_timeout_ms) and the longest-waiting one
 * makes room at api_max_connections. The routes are in api_routes.c, the
 * requests that wait for their batch in api_stream.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>

#include "api.h"
#include "api_int.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "xmalloc.h"

struct api_state api;

static struct api_conn *conn_ctx(evhtp_request_t *);
static int health_open(const char *, char **);

void
api_add_header(evhtp_request_t *req, const char *k, const char *v)
{
	evhtp_headers_add_header(req->headers_out,
	    evhtp_header_new(k, v, 0, 1));
}

/*
 * Send the reply queued in req (status, headers_out, buffer_out). On the
 * API socket it goes out from the loop, after api_route() has paused the
 * request: libevhtp parses a pipelined request only after resuming a
 * paused one; a reply sent from the handler left the next request unread
 * (the client hung) and logged "ODDITY, resuming when not paused" for
 * each one.
 */
void
api_send_reply(evhtp_request_t *req, int status)
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
void
api_next_request(struct api_conn *c)
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

/* From the loop: the reply api_route() deferred, then the next request. */
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
		api_next_request(c);
	evhtp_send_reply(req, c->reply_status);
	evhtp_request_resume(req);
}

/* Send a complete JSON reply (body copied, a newline added). */
void
api_reply_json(evhtp_request_t *req, int status, const char *body, size_t len)
{
	api_add_header(req, "Content-Type", "application/json");
	if (evhtp_request_get_method(req) != htp_method_HEAD) {
		evbuffer_add(req->buffer_out, body, len);
		evbuffer_add(req->buffer_out, "\n", 1);
	}
	api_send_reply(req, status);
}

void
api_reply_error(evhtp_request_t *req, int status, const char *code,
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
	api_reply_json(req, status, s, strlen(s));
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

struct api_conn *
api_conn_of(evhtp_request_t *req)
{
	struct api_conn *c = conn_ctx(req);

	if (c == NULL)
		fatalx("api: connection without context");
	return c;
}

void
api_check_idle(void)
{
	if (api.stopping && api.nwaiters == 0 && api.idle_cb != NULL)
		event_active(api.idle_ev, 0, 0);
}

/* Reply with a JSON document (stolen). */
void
api_reply_doc(evhtp_request_t *req, int status, json_t *j)
{
	char *s;

	if (j == NULL || (s = json_dumps(j, JSON_COMPACT |
	    JSON_REAL_PRECISION(15))) == NULL)
		fatalx("json: out of memory");
	json_decref(j);
	api_reply_json(req, status, s, strlen(s));
	free(s);
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
void
api_release_body(struct api_conn *c)
{
	budget_give_user(&api.mem, &c->user->held, c->body_cap);
	free(c->body);
	c->body = NULL;
	c->body_len = c->body_cap = 0;
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
	api_release_body(c);
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
		api_release_body(c);
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
	api_release_body(c);
	if (--c->user->conns == 0) {
		HASH_DEL(api.users, c->user);
		free(c->user);
	}
	bad_request_reply(c, conn);
	event_free(c->reply_ev);
	if (c->waiter != NULL)
		api_waiter_conn_gone(c->waiter);
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
	evhtp_set_gencb(api.htp, api_route, NULL);
	timeout = clock_tv(cfg->api_timeout_ms * 1000);
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
	timeout = clock_tv(100000);	/* a tenth of the shortest timeout */
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
	evhtp_set_gencb(api.health, api_route_health, NULL);
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

	timeout = clock_tv(api.cfg->api_timeout_ms * 1000);
	evhtp_set_timeouts(api.htp, &timeout, &timeout);
	api.mem.limit = api.cfg->max_api_memory;
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
	api_check_idle();
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
