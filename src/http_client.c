/*
 * http_client.c: libcurl's multi_socket API driven by the daemon's libevent
 * loop; the only file that knows libcurl.
 *
 * One multi handle serves the whole daemon, so connections and the DNS cache
 * are shared across batches and clients. Easy handles are kept in an idle
 * pool and reset for reuse. curl tells us which sockets to watch and when to
 * wake it (socket and timer callbacks, as in curl's multi-event.c); we never
 * poll. Safety defaults are set on every transfer: only http and https, no
 * redirects, no proxy from the environment, certificates verified against
 * the system store, and the body capped while it is read (CURLOPT_MAXFILESIZE
 * cannot stop chunked bodies in curl 7.88, see ../shared/LIBRARIES.md).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "clock.h"
#include "egress.h"
#include "http_client.h"
#include "log.h"
#include "xmalloc.h"

#define XFER_MAGIC	0x7e4f3a11u
#define IDLE_MAX	1024	/* easy handles kept for reuse */

struct http_transfer {
	uint32_t		 magic;
	CURL			*easy;
	struct curl_slist	*hdrs;
	struct result		*res;
	http_done_cb		 cb;
	void			*arg;
	uint64_t		 cap;		/* max_response_bytes */
	uint64_t		 timeout_ms;
	uint64_t		 connect_timeout_ms;
	uint64_t		 started_us;	/* monotonic */
	void			*who;		/* the policy's */
	int			 configured;	/* fixed options are set */
	int			 follow;	/* follows redirects */
	long			 status;	/* of the last status line */
	int			 blocked;	/* the policy refused */
	char			 blocked_why[256];
	char			 errbuf[CURL_ERROR_SIZE];
	TAILQ_ENTRY(http_transfer) entry;
};

TAILQ_HEAD(xferq, http_transfer);

/* The events curl asked us to watch on one socket. */
struct sockwatch {
	struct event	*ev;
};

static struct {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	struct xferq		 running;
	struct xferq		 idle;
	size_t			 nrunning;
	size_t			 nidle;
	char			 useragent[64];
	http_policy_fn		 policy;
	char			*proxy;		/* NULL: direct */
	char			 proxy_host[256];
	unsigned		 proxy_port;
} hc;

static void check_multi_info(void);

/* curl says: watch socket s for `what`, or stop watching it. */
static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp);

static void
event_cb(evutil_socket_t fd, short kind, void *arg)
{
	int action = 0, running;

	(void)arg;
	if (kind & EV_READ)
		action |= CURL_CSELECT_IN;
	if (kind & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(hc.multi, fd, action, &running);
	check_multi_info();
}

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct sockwatch *w = sockp;
	short kind;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (w != NULL) {
			event_free(w->ev);
			free(w);
			curl_multi_assign(hc.multi, s, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (w == NULL) {
		w = xcalloc(1, sizeof(*w));
		curl_multi_assign(hc.multi, s, w);
	} else
		event_free(w->ev);
	if ((w->ev = event_new(hc.base, s, kind, event_cb, NULL)) == NULL)
		fatalx("event_new");
	event_add(w->ev, NULL);
	return 0;
}

static void
timer_cb(evutil_socket_t fd, short kind, void *arg)
{
	int running;

	(void)fd;
	(void)kind;
	(void)arg;
	curl_multi_socket_action(hc.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi_info();
}

/* curl's timer: -1 deletes it, 0 means "call me as soon as possible". */
static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct timeval tv;

	(void)multi;
	(void)userp;
	if (timeout_ms < 0) {
		evtimer_del(hc.timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(hc.timer, &tv);
	return 0;
}

int
http_client_init(struct event_base *base, char **cause)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		xasprintf(cause, "curl_global_init failed");
		return -1;
	}
	memset(&hc, 0, sizeof(hc));
	hc.base = base;
	TAILQ_INIT(&hc.running);
	TAILQ_INIT(&hc.idle);
	snprintf(hc.useragent, sizeof(hc.useragent), "fanoutd/%s",
	    PACKAGE_VERSION);
	if ((hc.multi = curl_multi_init()) == NULL) {
		xasprintf(cause, "curl_multi_init failed");
		return -1;
	}
	curl_multi_setopt(hc.multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(hc.multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	if ((hc.timer = evtimer_new(base, timer_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	return 0;
}

void
http_client_shutdown(void)
{
	struct http_transfer *t;

	if (hc.multi == NULL)
		return;
	if (hc.nrunning != 0)
		log_warnx("http_client_shutdown: %zu transfers still running",
		    hc.nrunning);
	while ((t = TAILQ_FIRST(&hc.idle)) != NULL) {
		TAILQ_REMOVE(&hc.idle, t, entry);
		curl_easy_cleanup(t->easy);
		free(t);
	}
	curl_multi_cleanup(hc.multi);
	event_free(hc.timer);
	curl_global_cleanup();
	free(hc.proxy);
	memset(&hc, 0, sizeof(hc));
}

size_t
http_client_running(void)
{
	return hc.nrunning;
}

const char *
http_client_version(void)
{
	return curl_version_info(CURLVERSION_NOW)->version;
}

void
http_client_set_policy(http_policy_fn fn)
{
	hc.policy = fn;
}

/*
 * Did a URL call succeed? Out of memory is fatal, as everywhere else: a
 * URL that "does not parse" for want of memory must not skip the policy.
 */
static int
uok(CURLUcode rc)
{
	if (rc == CURLUE_OUT_OF_MEMORY)
		fatalx("out of memory: curl URL API");
	return rc == CURLUE_OK;
}

/*
 * Host (lower-case, no brackets) and port of url, relative to base when
 * that is not NULL (a Location). Returns -1 if it does not parse.
 */
static int
url_host_port(const char *url, const char *base, char *host, size_t len,
    unsigned *port)
{
	CURLU *u = curl_url();
	char *h = NULL, *p = NULL, *c;
	int rc = -1;

	if (u == NULL)
		fatalx("out of memory: curl_url");
	if ((base == NULL || uok(curl_url_set(u, CURLUPART_URL, base, 0))) &&
	    uok(curl_url_set(u, CURLUPART_URL, url, 0)) &&
	    uok(curl_url_get(u, CURLUPART_HOST, &h, 0)) &&
	    uok(curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT)) &&
	    strlen(h) < len) {
		if (h[0] == '[') {	/* "[::1]" */
			snprintf(host, len, "%.*s", (int)strlen(h) - 2, h + 1);
			if ((c = strchr(host, '%')) != NULL)
				*c = '\0';	/* zone id */
		} else
			snprintf(host, len, "%s", h);
		for (c = host; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		if ((c = strrchr(host, '.')) != NULL && c[1] == '\0' &&
		    c != host)
			*c = '\0';	/* "example.com." */
		*port = (unsigned)strtoul(p, NULL, 10);
		rc = 0;
	}
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return rc;
}

void
http_client_set_proxy(const char *proxy)
{
	free(hc.proxy);
	hc.proxy = NULL;
	if (proxy == NULL || *proxy == '\0')
		return;
	if (url_host_port(proxy, NULL, hc.proxy_host, sizeof(hc.proxy_host),
	    &hc.proxy_port) == -1) {
		log_warnx("proxy %s does not parse; going direct", proxy);
		return;
	}
	hc.proxy = xstrdup(proxy);
}

/*
 * Host and port from an origin "scheme://host:port" (as made by
 * http_client_origin(): lower-case, IPv6 in brackets), without parsing
 * the URL again. -1 if it does not have that shape.
 */
static int
origin_host_port(const char *origin, char *host, size_t len,
    unsigned *port)
{
	const char *h = strstr(origin, "://"), *colon = strrchr(origin, ':');
	size_t n;

	if (h == NULL || colon == NULL || colon < h + 3)
		return -1;
	h += 3;
	n = (size_t)(colon - h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
		h++, n -= 2;
	if (n == 0 || n >= len)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	if (n > 1 && host[n - 1] == '.')
		host[n - 1] = '\0';	/* "example.com." */
	*port = (unsigned)strtoul(colon + 1, NULL, 10);
	return 0;
}

/*
 * A target, before anything is sent to it (the request's URL, each
 * redirect's Location): its name and port, and its address when the URL
 * spells one. With a proxy this is all fanoutd can see of the target.
 */
static int
target_allowed(struct http_transfer *t, const char *url, const char *base,
    const char *origin)
{
	unsigned port;
	char host[256];

	if (hc.policy == NULL)
		return 1;
	if ((origin == NULL || origin_host_port(origin, host, sizeof(host),
	    &port) == -1) &&
	    url_host_port(url, base, host, sizeof(host), &port) == -1)
		return 1;	/* curl refuses it on its own */
	/* a literal host is judged as its address by egress_judge() */
	if (hc.policy(t->who, host, port, NULL, 0, 0, t->blocked_why,
	    sizeof(t->blocked_why)))
		return 1;
	t->blocked = 1;
	return 0;
}

/*
 * Every connection curl makes, for every address it tries and every
 * redirect hop, comes through here: the egress policy judges the address
 * itself (a name may resolve anywhere), and nothing is sent if it says no.
 * Through a proxy, the connection is to the proxy, judged as such.
 */
static curl_socket_t
opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_transfer *t = arg;
	char host[256], *url = NULL;
	unsigned port = 0;
	int fd, proxied = hc.proxy != NULL;

	(void)purpose;
	if (hc.policy != NULL) {
		host[0] = '\0';
		if (proxied) {
			snprintf(host, sizeof(host), "%s", hc.proxy_host);
			port = hc.proxy_port;
		}
		else if (curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL,
		    &url) != CURLE_OK || url == NULL ||
		    url_host_port(url, NULL, host, sizeof(host), &port) == -1)
			host[0] = '\0';
		if (!hc.policy(t->who, host[0] ? host : NULL, port, &a->addr,
		    (unsigned)a->addrlen, proxied, t->blocked_why,
		    sizeof(t->blocked_why))) {
			t->blocked = 1;
			return CURL_SOCKET_BAD;
		}
	}
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return fd == -1 ? CURL_SOCKET_BAD : fd;
}

/* Response body bytes: keep up to the cap, then stop reading. */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_transfer *t = arg;
	size_t len = size * nmemb;

	if (result_add_body(t->res, data, len, t->cap) == -1)
		return CURL_WRITEFUNC_ERROR;	/* truncated: abort here */
	return len;
}

/* A redirect's target, judged before curl follows it. */
static int
redirect_allowed(struct http_transfer *t, const char *loc, size_t len)
{
	char *url = NULL, *target = xstrndup(loc, len);
	int ok;

	if (curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url) !=
	    CURLE_OK)
		url = NULL;
	ok = target_allowed(t, target, url, NULL);
	free(target);
	return ok;
}

/* One header line; a new status line (after 1xx) starts a fresh set. */
static size_t
header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	struct http_transfer *t = arg;
	size_t len = size * nmemb, nlen, vstart;
	char *colon;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		result_reset_headers(t->res);
		t->status = 0;
		if ((colon = memchr(line, ' ', len)) != NULL)
			t->status = strtol(colon + 1, NULL, 10);
		return len;
	}
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
	    line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0 || line[0] == ' ' || line[0] == '\t' ||
	    (colon = memchr(line, ':', len)) == NULL)
		return size * nmemb;
	nlen = (size_t)(colon - line);
	vstart = nlen + 1;
	while (vstart < len && (line[vstart] == ' ' || line[vstart] == '\t'))
		vstart++;
	result_add_header(t->res, line, nlen, line + vstart, len - vstart);
	if (t->follow && t->status >= 300 && t->status < 400 && nlen == 8 &&
	    strncasecmp(line, "location", 8) == 0 &&
	    !redirect_allowed(t, line + vstart, len - vstart))
		return 0;	/* abort: nothing is sent to it */
	return size * nmemb;
}

static int
has_header(const struct http_request *req, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < req->nheaders; i++)
		if (strncasecmp(req->headers[i], name, n) == 0 &&
		    req->headers[i][n] == ':')
			return 1;
	return 0;
}

static int
needs_empty_body(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0;
}

/*
 * The header list: curl drops a header given as "Name: " (empty value), so
 * send those as "Name;"; and stop curl adding headers the client did not ask
 * for (a form Content-Type on bodies, Expect: 100-continue). -1 when
 * libcurl runs out of memory.
 */
static int
build_headers(const struct http_request *req, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *n = NULL;
	size_t i, len;
	char *tmp;

	for (i = 0; i < req->nheaders; i++, l = n) {
		len = strlen(req->headers[i]);
		if (len >= 2 && strcmp(req->headers[i] + len - 2, ": ") == 0) {
			xasprintf(&tmp, "%.*s;", (int)(len - 2),
			    req->headers[i]);
			n = curl_slist_append(l, tmp);
			free(tmp);
		} else
			n = curl_slist_append(l, req->headers[i]);
		if (n == NULL)
			goto fail;
	}
	if ((req->body != NULL || needs_empty_body(req->method)) &&
	    !has_header(req, "Content-Type") &&
	    (l = n = curl_slist_append(l, "Content-Type:")) == NULL)
		goto fail;
	if (!has_header(req, "Expect") &&
	    (n = curl_slist_append(l, "Expect:")) == NULL)
		goto fail;
	*out = n;
	return 0;
fail:	/* libcurl's memory: this transfer fails, not the daemon */
	curl_slist_free_all(l);
	*out = NULL;
	return -1;
}

/* Every option of a transfer, set afresh on a reset handle. */
static CURLcode
setup_easy(struct http_transfer *t, const struct http_request *req)
{
	CURL *e = t->easy;
	CURLcode rc = CURLE_OK;

#define SET(opt, val) do {						\
	if (rc == CURLE_OK)						\
		rc = curl_easy_setopt(e, opt, val);			\
} while (0)
	if (!t->configured) {	/* once per handle: it is reused as is */
		SET(CURLOPT_PRIVATE, t);
		SET(CURLOPT_NOSIGNAL, 1L);
		SET(CURLOPT_ERRORBUFFER, t->errbuf);
		SET(CURLOPT_WRITEFUNCTION, write_cb);
		SET(CURLOPT_WRITEDATA, t);
		SET(CURLOPT_HEADERFUNCTION, header_cb);
		SET(CURLOPT_HEADERDATA, t);
		SET(CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
		SET(CURLOPT_OPENSOCKETDATA, t);
		SET(CURLOPT_PROTOCOLS_STR, "http,https");
		SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		SET(CURLOPT_NOPROXY, "");	/* nor no_proxy from env */
		SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
		SET(CURLOPT_USERAGENT, hc.useragent);
		t->configured = rc == CURLE_OK;
	}
	/* Every option a request may change is set again, every time. */
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_FOLLOWLOCATION, req->follow_redirects ? 1L : 0L);
	SET(CURLOPT_MAXREDIRS, req->follow_redirects ? req->max_redirects :
	    0L);
	SET(CURLOPT_PROXY, hc.proxy != NULL ? hc.proxy : "");
	SET(CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
	SET(CURLOPT_HTTPHEADER, t->hdrs);
	SET(CURLOPT_CUSTOMREQUEST, (char *)NULL);
	SET(CURLOPT_HTTPGET, 1L);	/* GET, no body, NOBODY off */
	if (strcmp(req->method, "HEAD") == 0 && req->body == NULL)
		SET(CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") == 0 && req->body == NULL)
		;
	else {
		if (req->body != NULL || needs_empty_body(req->method)) {
			SET(CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)req->body_len);
			SET(CURLOPT_POSTFIELDS,
			    req->body ? (const char *)req->body : "");
		}
		/*
		 * POST is curl's own, so a followed 301/302/303 becomes a
		 * GET as browsers do; a custom method is kept on redirects.
		 */
		if (strcmp(req->method, "POST") != 0 || req->body == NULL)
			SET(CURLOPT_CUSTOMREQUEST, req->method);
	}
#undef SET
	return rc;
}

static struct http_transfer *
transfer_get(void)
{
	struct http_transfer *t;

	if ((t = TAILQ_FIRST(&hc.idle)) != NULL) {
		TAILQ_REMOVE(&hc.idle, t, entry);
		hc.nidle--;
		return t;	/* no curl_easy_reset(): see setup_easy() */
	}
	t = xcalloc(1, sizeof(*t));
	if ((t->easy = curl_easy_init()) == NULL) {	/* libcurl's memory */
		free(t);
		return NULL;
	}
	return t;
}

static void
transfer_put(struct http_transfer *t)
{
	curl_slist_free_all(t->hdrs);
	t->hdrs = NULL;
	t->res = NULL;
	t->cb = NULL;
	t->magic = 0;
	if (hc.nidle >= IDLE_MAX) {
		curl_easy_cleanup(t->easy);
		free(t);
		return;
	}
	TAILQ_INSERT_HEAD(&hc.idle, t, entry);
	hc.nidle++;
}

struct http_transfer *
http_client_start(const struct http_request *req, struct result *res,
    http_done_cb cb, void *arg)
{
	struct http_transfer *t = transfer_get();
	CURLcode rc;
	CURLMcode mrc;

	if (t == NULL) {
		result_set_error(res, RESULT_INTERNAL, "curl_easy_init: out of "
		    "memory");
		return NULL;
	}
	t->magic = XFER_MAGIC;
	t->res = res;
	t->cb = cb;
	t->arg = arg;
	t->cap = req->max_response_bytes;
	t->timeout_ms = req->timeout_ms;
	t->connect_timeout_ms = req->connect_timeout_ms;
	t->errbuf[0] = '\0';
	t->started_us = clock_now_us();
	t->blocked = 0;
	t->who = req->who;
	t->follow = req->follow_redirects;
	t->status = 0;
	if (!target_allowed(t, req->url, NULL, req->origin)) {
		result_set_error(res, RESULT_BLOCKED, "blocked by the egress "
		    "policy: %s", t->blocked_why);
		transfer_put(t);
		return NULL;
	}
	if (build_headers(req, &t->hdrs) == -1) {
		result_set_error(res, RESULT_INTERNAL, "curl_slist_append: "
		    "out of memory");
		transfer_put(t);
		return NULL;
	}
	if ((rc = setup_easy(t, req)) != CURLE_OK) {
		result_set_error(res, RESULT_INTERNAL, "curl option: %s",
		    curl_easy_strerror(rc));
		transfer_put(t);
		return NULL;
	}
	if ((mrc = curl_multi_add_handle(hc.multi, t->easy)) != CURLM_OK) {
		result_set_error(res, RESULT_INTERNAL, "curl_multi_add_handle: "
		    "%s", curl_multi_strerror(mrc));
		transfer_put(t);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&hc.running, t, entry);
	hc.nrunning++;
	return t;
}

/* Map curl's outcome to the result's error code and message. */
static void
set_curl_error(struct http_transfer *t, CURLcode code)
{
	struct result *r = t->res;
	const char *detail = t->errbuf[0] ? t->errbuf :
	    curl_easy_strerror(code);
	curl_off_t connected = 0;

	if (t->blocked && code != CURLE_OK) {
		result_set_error(r, RESULT_BLOCKED, "blocked by the egress "
		    "policy: %s", t->blocked_why);
		return;
	}
	switch (code) {
	case CURLE_OK:
		return;
	case CURLE_WRITE_ERROR:
		if (r->truncated)
			return;	/* we stopped reading at the cap */
		result_set_error(r, RESULT_INTERNAL, "%s", detail);
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		result_set_error(r, RESULT_DNS_FAILED, "%s", detail);
		return;
	case CURLE_COULDNT_CONNECT:
		result_set_error(r, RESULT_CONNECT_FAILED, "%s", detail);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		/* Nothing sent yet (pretransfer unset): still connecting. */
		curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T,
		    &connected);
		r->connect_timeout = connected == 0;
		if (connected == 0)
			result_set_error(r, RESULT_TIMEOUT, "connect timeout "
			    "(connect_timeout_ms %llu, timeout_ms %llu): %s",
			    (unsigned long long)t->connect_timeout_ms,
			    (unsigned long long)t->timeout_ms, detail);
		else
			result_set_error(r, RESULT_TIMEOUT, "request timeout "
			    "(timeout_ms %llu): %s",
			    (unsigned long long)t->timeout_ms, detail);
		return;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		result_set_error(r, RESULT_TLS_FAILED, "%s", detail);
		return;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		result_set_error(r, RESULT_CONNECTION_CLOSED, "%s", detail);
		return;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP3:
		result_set_error(r, RESULT_PROTOCOL_ERROR, "%s", detail);
		return;
	case CURLE_TOO_MANY_REDIRECTS:
		result_set_error(r, RESULT_TOO_MANY_REDIRECTS, "%s", detail);
		return;
	case CURLE_OUT_OF_MEMORY:
		/*
		 * curl 7.88's word for response headers past its cap, which
		 * it cannot tell from a failed allocation at that point.
		 */
		if (r->status != 0) {
			result_set_error(r, RESULT_PROTOCOL_ERROR, "the "
			    "response headers are too large (libcurl keeps "
			    "at most 100 KB), or libcurl ran out of memory "
			    "reading them");
			return;
		}
		result_set_error(r, RESULT_INTERNAL, "%s", detail);
		return;
	default:
		result_set_error(r, RESULT_INTERNAL, "%s (curl error %d)",
		    detail, (int)code);
		return;
	}
}

static double
us_to_ms(curl_off_t us)
{
	return us > 0 ? (double)us / 1000.0 : 0.0;
}

/* Phase timings in curl's terms (cumulative from transfer start). */
static void
collect_timings(struct http_transfer *t)
{
	curl_off_t nl = 0, conn = 0, app = 0, pre = 0, start = 0, total = 0;
	struct result *r = t->res;
	long status = 0;
	char *url = NULL;

	curl_easy_getinfo(t->easy, CURLINFO_NAMELOOKUP_TIME_T, &nl);
	curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &conn);
	curl_easy_getinfo(t->easy, CURLINFO_APPCONNECT_TIME_T, &app);
	curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
	curl_easy_getinfo(t->easy, CURLINFO_STARTTRANSFER_TIME_T, &start);
	curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total);
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_COUNT, &r->redirects);
	curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url);
	if (url != NULL && r->redirects > 0)
		r->final_url = xstrdup(url);
	r->status = status;
	r->dns_ms = us_to_ms(nl);
	r->connect_ms = conn > nl ? us_to_ms(conn - nl) : 0.0;
	r->tls_ms = app > conn ? us_to_ms(app - conn) : 0.0;
	r->ttfb_ms = start > pre ? us_to_ms(start - pre) : 0.0;
	r->total_ms = us_to_ms(total);
}

/* Detach a finished transfer, recycle it, then tell its owner. */
static void
finish(struct http_transfer *t, CURLcode code, int aborted)
{
	struct result *res = t->res;
	http_done_cb cb = t->cb;
	void *arg = t->arg;

	if (t->magic != XFER_MAGIC)
		fatalx("finish: bad transfer magic");
	collect_timings(t);
	if (!aborted)
		set_curl_error(t, code);
	else	/* curl's clock stopped at its last action, ours did not */
		res->total_ms = (double)(clock_now_us() - t->started_us) /
		    1000.0;
	curl_multi_remove_handle(hc.multi, t->easy);
	TAILQ_REMOVE(&hc.running, t, entry);
	hc.nrunning--;
	transfer_put(t);
	cb(res, arg);
}

static void
check_multi_info(void)
{
	struct http_transfer *t;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(hc.multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&t);
		finish(t, msg->data.result, 0);
	}
}

void
http_client_abort(struct http_transfer *t, enum result_error e,
    const char *msg)
{
	result_set_error(t->res, e, "%s", msg);
	finish(t, CURLE_OK, 1);
}

char *
http_client_origin(const char *url, char **cause)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *origin = NULL, *p;
	CURLUcode rc;
	CURLU *u;

	if ((u = curl_url()) == NULL)
		fatalx("out of memory: curl_url");
	if (!uok(rc = curl_url_set(u, CURLUPART_URL, url, 0))) {
		xasprintf(cause, "not a valid URL: %s", curl_url_strerror(rc));
		goto out;
	}
	if (!uok(curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		xasprintf(cause, "scheme must be http or https");
		goto out;
	}
	if (!uok(curl_url_get(u, CURLUPART_HOST, &host, 0)) ||
	    *host == '\0') {
		xasprintf(cause, "URL has no host");
		goto out;
	}
	if (!uok(curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT))) {
		xasprintf(cause, "URL has no usable port");
		goto out;
	}
	for (p = host; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	xasprintf(&origin, "%s://%s:%s", scheme, host, port);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return origin;
}
