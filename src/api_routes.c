/*
 * api_routes.c: the resources behind each path, in one table.
 *
 * routes[] names each path's handler per method; route_one() answers 431,
 * 414 and 403 (allow_uids, allow_gids) before it, 405 with Allow for a
 * method a path does not take and 404 for a path no row has. The same
 * table, filtered to its R_HEALTH rows, serves health_listen. Batch
 * submission parses, asks admission.c, and hands the batch to
 * api_stream.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "api_int.h"
#include "batch.h"
#include "batchview.h"
#include "caller.h"
#include "clock.h"
#include "config.h"
#include "dispatch.h"
#include "host.h"
#include "jsonw.h"
#include "metrics.h"
#include "registry.h"
#include "reload.h"
#include "xmalloc.h"

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
		api_reply_error(req, 413, "payload_too_large", msg, NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "API request bodies being read and parsed "
	    "hold %" PRIu64 " MiB of max_api_memory (%" PRIu64 " MiB), %"
	    PRIu64 " MiB of them yours (at most half); this one (%" PRIu64
	    " bytes) does not fit now; retry later", api.mem.used >> 20,
	    api.mem.limit >> 20, c->user->held >> 20, c->body_bytes);
	api_add_header(req, "Retry-After", "1");
	api_reply_error(req, 503, "overloaded", msg, NULL);
}

/*
 * The caller's groups onto b, then the figures admission.c judges: the
 * daemon's open requests, the caller's batches and unfinished requests
 * against its cap, the room for retained async results.
 */
static int
admit(const struct api_conn *c, struct batch *b, struct admission_refusal *no)
{
	struct admission a = { 0 };
	int i;

	b->owner.gids = xreallocarray(NULL, (size_t)c->ngroups + 1,
	    sizeof(*b->owner.gids));
	b->owner.gids[0] = (uint32_t)c->gid;
	for (i = 0; i < c->ngroups; i++)
		b->owner.gids[i + 1] = (uint32_t)c->groups[i];
	b->owner.ngids = (size_t)i + 1;
	a.njobs = b->njobs;
	a.open = dispatch_queued() + dispatch_inflight();
	a.max_queued = api.cfg->max_queued_requests;
	a.user_batches = registry_count_uid(c->uid);
	a.max_user_batches = api.cfg->max_batches_per_uid;
	a.user_unfinished = caller_unfinished(c->uid);
	a.user_cap = dispatch_caller_limit(c->uid, b->owner.gids,
	    b->owner.ngids, 1);
	a.async = b->mode == BATCH_ASYNC;
	a.retained_full = a.async && registry_admit(&a.retained_retry_s) == -1;
	return admission_judge(&a, no);
}

/* POST /v1/batches: parse, admit, run; the reply depends on the mode. */
static void
handle_batch(evhtp_request_t *req, struct api_conn *c)
{
	struct batch_error err;
	struct admission_refusal no;
	struct batch *b;
	size_t len = c->body_len;
	char msg[128];

	if (c->too_large) {
		snprintf(msg, sizeof(msg), "request body larger than %" PRIu64
		    " bytes (max_request_bytes)", api.cfg->max_request_bytes);
		api_reply_error(req, 413, "payload_too_large", msg, NULL);
		return;
	}
	if (c->no_room) {
		reply_no_room(req, c);
		return;
	}
	if (len == 0) {
		api_reply_error(req, 400, "invalid_json",
		    "the request body is empty; send a JSON batch", NULL);
		return;
	}
	b = batch_parse(c->body, len, api.cfg, &api.mem, &err);
	api_release_body(c);
	if (len >= XMALLOC_TRIM_BYTES)
		xmalloc_trim();	/* the tree's memory back to the system */
	if (b == NULL) {
		if (err.status == 503)
			api_add_header(req, "Retry-After", "1");
		api_reply_error(req, err.status, err.code, err.message,
		    err.path);
		return;
	}
	if (admit(c, b, &no) == -1) {
		batch_free(b);
		if (no.retry_after_s != 0) {
			snprintf(msg, sizeof(msg), "%" PRIu64,
			    no.retry_after_s);
			api_add_header(req, "Retry-After", msg);
		}
		api_reply_error(req, no.status, no.code, no.message, no.path);
		return;
	}
	b->owner.uid = c->uid;
	b->owner.pid = c->pid;
	registry_add(b);
	if (b->mode == BATCH_ASYNC)
		api_submit_async(req, b);
	else if (api_submit_waiting(req, b) == -1) {
		registry_remove(b);
		api_reply_error(req, 503, "internal", "fanoutd cannot watch "
		    "this connection now; retry", NULL);
	}
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
		api_reply_error(req, 400, "invalid_request", "after and limit "
		    "must be non-negative integers (limit at least 1)", NULL);
		return;
	}
	api_add_header(req, "Content-Type", "application/x-ndjson");
	i = !have_after ? 0 : after >= b->njobs ? b->njobs : (size_t)after + 1;
	for (; i < b->njobs && n < limit; i++) {
		if (b->jobs[i].encoded == NULL)
			continue;
		evbuffer_add(req->buffer_out, b->jobs[i].encoded,
		    b->jobs[i].encoded_len);
		evbuffer_add(req->buffer_out, "\n", 1);
		n++;
	}
	api_send_reply(req, EVHTP_RES_OK);
}

static void
method_not_allowed(evhtp_request_t *req, const char *allow)
{
	api_add_header(req, "Allow", allow);
	api_reply_error(req, 405, "method_not_allowed",
	    "method not allowed on this resource", NULL);
}

/* GET /v1/batches/ID (also DELETE's reply), with_results or not. */
static void
reply_status(evhtp_request_t *req, const struct batch *b, int with_results)
{
	struct jsonw w;

	jsonw_init(&w, with_results ? 256 + b->reg.retained_bytes : 512);
	batchview_status(&w, b, with_results, clock_now_us());
	api_reply_json(req, 200, w.buf, w.len);
	free(w.buf);
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
		api_reply_error(req, 404, "not_found", "no such batch", NULL);
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
		reply_status(req, b, 0);
	} else if (m != htp_method_GET)
		method_not_allowed(req, "GET, DELETE");
	else if (query_uint(req, "results", 0, &with) == -1)
		api_reply_error(req, 400, "invalid_request", "results must be "
		    "0 or 1", NULL);
	else
		reply_status(req, b, with != 0);
}

/* Liveness: 200 while the loop runs, 503 once it is about to exit. */
static void
handle_health(evhtp_request_t *req, struct api_conn *c, const char *rest)
{
	(void)c;
	(void)rest;
	api_reply_doc(req, api.stopping ? 503 : 200, json_pack(
	    "{s:s,s:s,s:I,s:I,s:I,s:I}", "status", api.stopping ? "stopping" :
	    api.draining ? "draining" : "ok", "version", PACKAGE_VERSION,
	    "uptime_s", (json_int_t)((clock_now_us() - api.started_us) /
	    1000000), "inflight", (json_int_t)dispatch_inflight(),
	    "queued", (json_int_t)dispatch_queued(),
	    "batches", (json_int_t)dispatch_batches()));
}

/* Readiness: 200 while new batches are taken, 503 with why otherwise. */
static void
handle_ready(evhtp_request_t *req, struct api_conn *c, const char *rest)
{
	(void)c;
	(void)rest;
	const char *why = NULL;

	if (api.draining || api.stopping)
		why = "draining";
	else if (api.cfg->max_retained_bytes > 0 &&
	    registry_retained() >= api.cfg->max_retained_bytes)
		why = "overloaded";	/* async batches are refused now */
	if (why != NULL)
		api_add_header(req, "Retry-After", "10");
	api_reply_doc(req, why ? 503 : 200, json_pack("{s:s,s:I,s:I}", "status",
	    why ? why : "ready", "inflight", (json_int_t)dispatch_inflight(),
	    "queued", (json_int_t)dispatch_queued()));
}

/* What the API server hands metrics.c (which knows no api*.c). */
static const struct metrics_api *
api_figures(struct metrics_api *f)
{
	f->connections = api.nconns;
	f->cut = api.evicted;
	f->mem_used = api.mem.used;
	f->mem_peak = api.mem.peak;
	f->mem_refused = api.mem.refused;
	return f;
}

static void
handle_metrics(evhtp_request_t *req, struct api_conn *c, const char *rest)
{
	struct metrics_api f;

	(void)c;
	(void)rest;
	api_add_header(req, "Content-Type", "text/plain; version=0.0.4; "
	    "charset=utf-8");
	if (evhtp_request_get_method(req) != htp_method_HEAD)
		metrics_render(req->buffer_out, api_figures(&f),
		    clock_now_us());
	api_send_reply(req, EVHTP_RES_OK);
}

/* GET /v1/config: the effective configuration and the last reload. */
static void
handle_config(evhtp_request_t *req, struct api_conn *c, const char *rest)
{
	(void)c;
	(void)rest;
	json_t *j = reload_status();

	json_object_set_new(j, "config", config_json(api.cfg));
	api_reply_doc(req, 200, j);
}

/* GET /v1/hosts: limits, state and counters of every known host. */
static void
handle_hosts(evhtp_request_t *req, struct api_conn *c, const char *rest)
{
	(void)c;
	(void)rest;
	api_reply_doc(req, 200, json_pack("{s:o}", "hosts",
	    host_stats(clock_now_us())));
}

/*
 * allow_uids/allow_gids: when either is set, only those users, members of
 * those groups (primary or supplementary) and root are served.
 */
static int
uid_allowed(const struct api_conn *c)
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

/* GET /v1/batches: the caller's batches. */
static void
handle_list(evhtp_request_t *req, struct api_conn *c, const char *rest)
{
	struct jsonw w;

	(void)rest;
	jsonw_init(&w, 4096);
	registry_list(&w, c->uid);
	api_reply_json(req, 200, w.buf, w.len);
	free(w.buf);
}

/* POST /v1/batches, unless the daemon is draining. */
static void
handle_submit(evhtp_request_t *req, struct api_conn *c, const char *rest)
{
	(void)rest;
	if (api.draining || api.stopping) {
		api_add_header(req, "Retry-After", "10");
		api_reply_error(req, 503, "draining", "fanoutd is draining to "
		    "stop; submit to its successor", NULL);
		return;
	}
	handle_batch(req, c);
}

static void
handle_stats(evhtp_request_t *req, struct api_conn *c, const char *rest)
{
	struct metrics_api f;

	(void)c;
	(void)rest;
	api_reply_doc(req, 200, metrics_stats(api_figures(&f),
	    clock_now_us()));
}

#define M_GET		(1u << htp_method_GET)
#define M_HEAD		(1u << htp_method_HEAD)
#define M_POST		(1u << htp_method_POST)
#define M_DELETE	(1u << htp_method_DELETE)

#define R_PREFIX	0x1	/* a prefix; the handler gets the rest */
#define R_ANYONE	0x2	/* also for callers allow_uids/gids leave out */
#define R_HEALTH	0x4	/* also served on health_listen */

/*
 * Every resource: the handler per method. A path with no row is 404, a
 * method with no handler 405 with the row's Allow.
 */
static const struct route {
	const char	*path;
	int		 flags;
	unsigned	 methods;	/* 0: the handler checks */
	const char	*allow;
	void		(*fn)(evhtp_request_t *, struct api_conn *,
			    const char *);
} routes[] = {
	{ "/v1/batches", 0, M_GET, "GET, POST", handle_list },
	{ "/v1/batches", 0, M_POST, "GET, POST", handle_submit },
	{ "/v1/batches/", R_PREFIX, 0, NULL, handle_one },
	{ "/v1/hosts", 0, M_GET | M_HEAD, "GET, HEAD", handle_hosts },
	{ "/v1/stats", 0, M_GET | M_HEAD, "GET, HEAD", handle_stats },
	{ "/v1/config", 0, M_GET | M_HEAD, "GET, HEAD", handle_config },
	{ "/healthz", R_ANYONE | R_HEALTH, M_GET | M_HEAD, "GET, HEAD",
	  handle_health },
	{ "/readyz", R_ANYONE | R_HEALTH, M_GET | M_HEAD, "GET, HEAD",
	  handle_ready },
	{ "/metrics", R_HEALTH, M_GET | M_HEAD, "GET, HEAD", handle_metrics },
};

/* Does r's path match path? *rest: what follows a prefix. */
static int
route_matches(const struct route *r, const char *path, const char **rest)
{
	size_t n = strlen(r->path);

	if (r->flags & R_PREFIX) {
		*rest = path + n;
		return strncmp(path, r->path, n) == 0;
	}
	*rest = "";
	return strcmp(path, r->path) == 0;
}

/* May callers allow_uids/allow_gids leave out use path (any method)? */
static int
route_open(const char *path)
{
	const char *rest;
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if ((routes[i].flags & R_ANYONE) &&
		    route_matches(&routes[i], path, &rest))
			return 1;
	return 0;
}

/*
 * The row for path and method m among those with all of need's flags:
 * NULL with *allow set when the path is known but not the method, NULL
 * with *allow NULL when the path is not known.
 */
static const struct route *
route_find(const char *path, htp_method m, int need, const char **rest,
    const char **allow)
{
	const struct route *r;
	size_t i;

	*allow = NULL;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		r = &routes[i];
		if ((r->flags & need) != need || !route_matches(r, path, rest))
			continue;
		if (r->methods == 0 || (m < 32 && (r->methods & (1u << m))))
			return r;
		*allow = r->allow;
	}
	return NULL;
}

static void
route_one(evhtp_request_t *req, struct api_conn *c)
{
	const char *path = req->uri && req->uri->path ?
	    req->uri->path->full : "", *rest, *allow;
	const struct route *r;

	if (c->nheaders > MAX_HEADERS) {
		api_reply_error(req, 431, "headers_too_large",
		    "too many request headers", NULL);
		return;
	}
	if (c->uri_len > MAX_URI_LEN) {
		api_reply_error(req, 414, "uri_too_long", "request URI too "
		    "long; put parameters in the JSON body", NULL);
		return;
	}
	if (!uid_allowed(c) && !route_open(path)) {
		api_reply_error(req, 403, "forbidden", "this user may not use "
		    "fanoutd (allow_uids, allow_gids)", NULL);
		return;
	}
	r = route_find(path, evhtp_request_get_method(req), 0, &rest, &allow);
	if (r != NULL)
		r->fn(req, c, rest);
	else if (allow != NULL)
		method_not_allowed(req, allow);
	else
		api_reply_error(req, 404, "not_found", "no such resource",
		    NULL);
}

/* health_listen: only /healthz, /readyz and /metrics, over TCP. */
void
api_route_health(evhtp_request_t *req, void *arg)
{
	const char *path = req->uri && req->uri->path ?
	    req->uri->path->full : "", *rest, *allow;
	const struct route *r;

	(void)arg;
	r = route_find(path, evhtp_request_get_method(req), R_HEALTH, &rest,
	    &allow);
	if (r != NULL)
		r->fn(req, NULL, rest);
	else if (allow != NULL)
		method_not_allowed(req, allow);
	else
		api_reply_error(req, 404, "not_found", "only /healthz, /readyz "
		    "and /metrics are served here", NULL);
}

/* The one request handler: route on path and method. */
void
api_route(evhtp_request_t *req, void *arg)
{
	struct api_conn *c = api_conn_of(req);

	(void)arg;
	c->reading_us = 0;	/* it has all arrived */
	route_one(req, c);
	api_release_body(c);	/* a body no route read */
	if (c->waiter == NULL)	/* answered: the next request is due */
		c->reading_us = clock_now_us();
	if (c->replying == req) {
		event_active(c->reply_ev, 0, 0);
		evhtp_request_pause(req);	/* must be the last thing */
	}
}
