/*
 * http_client.c: libcurl's multi_socket API driven by libevent loops; the
 * only file that knows libcurl.
 *
 * Transfers run on loops, each with its own multi handle (connections, DNS
 * cache): loop 0 is the daemon's main loop, and `workers` more run on
 * threads of their own. The main loop gives each transfer to the thread
 * with the fewest running, or keeps it while it runs a third as many or
 * fewer (pick_loop()): a lone request never leaves the main thread (no
 * hand-off latency) and, under load, a loop that falls behind gets fewer.
 * A thread gets its transfers and aborts through a message box (mbox.c)
 * and gives them back through the main loop's; every callback to the
 * caller runs on the main loop, so the scheduler and the limits stay
 * single-threaded. A thread touches only its transfers, the
 * policy callback and the proxy reference each transfer holds.
 *
 * Easy handles are kept in a per-loop idle pool and reused without a
 * reset. curl tells us which sockets to watch and when to wake it (socket
 * and timer callbacks, as in curl's multi-event.c); we never poll. Safety
 * defaults are set on every transfer: only http and https, no redirects,
 * no proxy from the environment, certificates verified against the system
 * store, and the body capped while it is read (CURLOPT_MAXFILESIZE cannot
 * stop chunked bodies in curl 7.88, see docs/pitfalls.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "clock.h"
#include "egress.h"
#include "http_client.h"
#include "http_share.h"
#include "http_url.h"
#include "log.h"
#include "mbox.h"
#include "origin.h"
#include "xmalloc.h"

#define XFER_MAGIC	0x7e4f3a11u
#define IDLE_MAX	1024	/* easy handles kept for reuse, per loop */
#define MAIN_SHARE	3	/* the main loop takes 1/3 of a thread's load */

/* Messages: to a transfer thread, and back to the main loop. */
enum { MSG_START = 1, MSG_ABORT, MSG_STOP, MSG_FLUSH, MSG_DONE, MSG_ACK };

/*
 * The proxy in force when a transfer started. Shared by the transfers that
 * use it and freed by the last, so a reload can change it while transfer
 * threads still read the old one. Counted on the main thread only.
 */
struct proxy {
	unsigned	 refs;
	char		*url;
	char		 host[ORIGIN_HOST_MAX];
	unsigned	 port;
};

struct loop;

struct http_transfer {
	uint32_t		 magic;
	struct loop		*loop;		/* runs on this loop, always */
	CURL			*easy;
	struct curl_slist	*hdrs;
	struct http_request	 req;		/* copied; pointers borrowed */
	struct result		*res;
	http_done_cb		 cb;
	void			*arg;
	struct proxy		*proxy;		/* a reference, or NULL */
	struct http_share	*share;		/* its caller's connections */
	char			 host[ORIGIN_HOST_MAX];	/* the target's */
	char			*ascii_url;	/* req.url, punycode; or NULL */
	unsigned		 port;
	uint64_t		 started_us;	/* monotonic */
	int			 configured;	/* fixed options are set */
	int			 live;		/* in the loop's multi */
	int			 head_next;	/* a status line comes next */
	long			 status;	/* of the last status line */
	int			 blocked;	/* the policy refused */
	char			 blocked_why[256];
	char			 errbuf[CURL_ERROR_SIZE];
	/* The main thread's, for aborts that cross to a transfer thread. */
	int			 done;		/* cb has run */
	int			 aborting;
	unsigned		 acks;		/* aborts not acknowledged */
	enum result_error	 abort_error;
	char			 abort_msg[192];
	TAILQ_ENTRY(http_transfer) entry;	/* running, or idle */
};

TAILQ_HEAD(xferq, http_transfer);

/*
 * One event loop with its own curl multi handle (connections, DNS cache):
 * the main loop itself (workers = 0), or a transfer thread's.
 */
struct loop {
	int			 threaded;
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	struct xferq		 running;	/* the loop's thread's */
	struct http_shares	 shares;	/* the loop's thread's */
	/* Transfer threads only. */
	pthread_t		 thread;
	int			 thread_started;
	struct mbox		 in;		/* START, ABORT, STOP */
	struct event		*in_ev;
	struct mbox_msg		*inv;
	size_t			 incap;
	/* The main thread's. */
	struct xferq		 idle;
	size_t			 nidle;
	size_t			 load;		/* started, not yet ended */
	uint64_t		 started;
};

/* The events curl asked us to watch on one socket. */
struct sockwatch {
	struct event	*ev;
};

static struct {
	struct loop		*loops;		/* [0]: the main loop's */
	size_t			 nloops;
	struct mbox		 out;		/* DONE and ACK, from threads */
	struct event		*out_ev;
	struct mbox_msg		*outv;
	size_t			 outcap;
	char			 useragent[64];
	http_policy_fn		 policy;
	struct proxy		*proxy;		/* NULL: direct */
	unsigned		 gen;		/* policy generation (atomic) */
} hc;

static void check_multi_info(struct loop *);
static int has_name(const char *, const char *);
static const char *header_at(const struct http_request *, size_t);
static void transfer_put(struct http_transfer *);
static void proxy_unref(struct proxy *);
static void complete(struct http_transfer *);
static void settle(struct http_transfer *);
static void finish(struct http_transfer *, CURLcode, int);
static int loop_start(struct loop *, struct http_transfer *);

/* curl says: watch socket s for `what`, or stop watching it. */
static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp);

static void
event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct loop *l = arg;
	int action = 0, running;

	if (kind & EV_READ)
		action |= CURL_CSELECT_IN;
	if (kind & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(l->multi, fd, action, &running);
	check_multi_info(l);
}

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct loop *l = userp;
	struct sockwatch *w = sockp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (w != NULL) {
			event_free(w->ev);
			free(w);
			curl_multi_assign(l->multi, s, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (w == NULL) {
		w = xcalloc(1, sizeof(*w));
		curl_multi_assign(l->multi, s, w);
	} else
		event_free(w->ev);
	if ((w->ev = event_new(l->base, s, kind, event_cb, l)) == NULL)
		fatalx("event_new");
	event_add(w->ev, NULL);
	return 0;
}

static void
timer_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct loop *l = arg;
	int running;

	(void)fd;
	(void)kind;
	curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi_info(l);
}

/* curl's timer: -1 deletes it, 0 means "call me as soon as possible". */
static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct loop *l = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(l->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(l->timer, &tv);
	return 0;
}

/* A transfer thread: its messages from the main loop. */
static void
in_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct loop *l = arg;
	struct http_transfer *t;
	size_t i, n;

	(void)fd;
	(void)kind;
	n = mbox_take(&l->in, &l->inv, &l->incap);
	for (i = 0; i < n; i++) {
		t = l->inv[i].obj;
		switch (l->inv[i].kind) {
		case MSG_START:
			if (loop_start(l, t) == -1)
				mbox_put(&hc.out, MSG_DONE, t);
			break;
		case MSG_ABORT:	/* it may have ended already */
			if (t->live) {
				result_set_error(t->res, t->abort_error, "%s",
				    t->abort_msg);
				finish(t, CURLE_OK, 1);
			}
			mbox_put(&hc.out, MSG_ACK, t);
			break;
		case MSG_STOP:
			event_base_loopbreak(l->base);
			break;
		case MSG_FLUSH:
			http_share_flush(&l->shares,
			    __atomic_load_n(&hc.gen, __ATOMIC_ACQUIRE));
			break;
		}
	}
}

static void *
loop_main(void *arg)
{
	struct loop *l = arg;

	event_base_dispatch(l->base);
	return NULL;
}

/* The main loop: transfers that ended on a thread, aborts it handled. */
static void
out_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct http_transfer *t;
	size_t i, n;

	(void)fd;
	(void)kind;
	(void)arg;
	n = mbox_take(&hc.out, &hc.outv, &hc.outcap);
	for (i = 0; i < n; i++) {
		t = hc.outv[i].obj;
		if (hc.outv[i].kind == MSG_DONE)
			complete(t);
		else {
			t->acks--;
			settle(t);
		}
	}
}

/* Idle connections a loop keeps for each caller (a cap, not a reserve). */
#define HTTP_IDLE_CONNS	256L

/* Set up loop l on base (the main loop's), or on its own for a thread. */
static int
loop_init(struct loop *l, struct event_base *base, char **cause)
{
	TAILQ_INIT(&l->running);
	TAILQ_INIT(&l->idle);
	TAILQ_INIT(&l->shares.idle);
	if ((l->base = base) == NULL) {
		l->threaded = 1;
		if ((l->base = event_base_new()) == NULL) {
			xasprintf(cause, "event_base_new failed");
			return -1;
		}
		if (mbox_init(&l->in, cause) == -1)
			return -1;
		if ((l->in_ev = event_new(l->base, mbox_fd(&l->in),
		    EV_READ | EV_PERSIST, in_cb, l)) == NULL)
			fatalx("event_new");
		event_add(l->in_ev, NULL);
	}
	if ((l->multi = curl_multi_init()) == NULL) {
		xasprintf(cause, "curl_multi_init failed");
		return -1;
	}
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	/*
	 * libcurl's default keeps 4 idle connections per easy handle in the
	 * multi, and ours come and go with each transfer, so it closed
	 * pooled connections a moment before they were wanted (2,300-5,400
	 * connects per 40,000 requests to one host at concurrency 64).
	 */
	curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, HTTP_IDLE_CONNS);
	if ((l->timer = evtimer_new(l->base, timer_cb, l)) == NULL)
		fatalx("evtimer_new");
	return 0;
}

/* Start the transfer threads, which take no signals: main handles them. */
static int
threads_start(char **cause)
{
	sigset_t all, old;
	char name[16];
	size_t i;
	int rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < hc.nloops && rc == 0; i++) {
		if (!hc.loops[i].threaded)
			continue;
		if ((rc = pthread_create(&hc.loops[i].thread, NULL, loop_main,
		    &hc.loops[i])) != 0) {
			xasprintf(cause, "pthread_create: %s", strerror(rc));
			break;
		}
		hc.loops[i].thread_started = 1;
		snprintf(name, sizeof(name), "fanoutd-w%u", (unsigned char)i);
		pthread_setname_np(hc.loops[i].thread, name);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

int
http_client_init(struct event_base *base, unsigned workers, char **cause)
{
	size_t i;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		xasprintf(cause, "curl_global_init failed");
		return -1;
	}
	memset(&hc, 0, sizeof(hc));
	hc.out.fd = -1;
	snprintf(hc.useragent, sizeof(hc.useragent), "fanoutd/%s",
	    PACKAGE_VERSION);
	hc.nloops = (size_t)workers + 1;	/* the main loop is loop 0 */
	hc.loops = xcalloc(hc.nloops, sizeof(*hc.loops));
	for (i = 0; i < hc.nloops; i++)
		hc.loops[i].in.fd = -1;
	if (workers > 0) {
		if (mbox_init(&hc.out, cause) == -1)
			return -1;
		if ((hc.out_ev = event_new(base, mbox_fd(&hc.out),
		    EV_READ | EV_PERSIST, out_cb, NULL)) == NULL)
			fatalx("event_new");
		event_add(hc.out_ev, NULL);
	}
	for (i = 0; i < hc.nloops; i++)
		if (loop_init(&hc.loops[i], i == 0 ? base : NULL, cause) == -1)
			return -1;
	return workers > 0 ? threads_start(cause) : 0;
}

static void
transfer_free(struct http_transfer *t)
{
	curl_slist_free_all(t->hdrs);
	proxy_unref(t->proxy);
	curl_easy_cleanup(t->easy);
	free(t);
}

/* On t's loop: its easy handle leaves its caller's share. */
static void
share_detach(struct loop *l, struct http_transfer *t)
{
	if (t->share == NULL)
		return;
	curl_easy_setopt(t->easy, CURLOPT_SHARE, (CURLSH *)NULL);
	http_share_put(&l->shares, t->share);
	t->share = NULL;
}

/* Free a loop whose thread (if any) has stopped; transfers are dropped. */
static void
loop_free(struct loop *l)
{
	struct http_transfer *t;

	while ((t = TAILQ_FIRST(&l->running)) != NULL) {
		TAILQ_REMOVE(&l->running, t, entry);
		curl_multi_remove_handle(l->multi, t->easy);
		share_detach(l, t);
		transfer_free(t);
	}
	while ((t = TAILQ_FIRST(&l->idle)) != NULL) {
		TAILQ_REMOVE(&l->idle, t, entry);
		transfer_free(t);
	}
	http_share_free_all(&l->shares);
	if (l->multi != NULL)
		curl_multi_cleanup(l->multi);
	if (l->timer != NULL)
		event_free(l->timer);
	if (l->threaded) {
		if (l->in_ev != NULL)
			event_free(l->in_ev);
		if (l->in.fd != -1)
			mbox_free(&l->in);
		free(l->inv);
		if (l->base != NULL)
			event_base_free(l->base);
	}
}

void
http_client_shutdown(void)
{
	struct http_transfer *t;
	size_t i, n;

	if (hc.loops == NULL)
		return;
	if (http_client_running() != 0)
		log_warnx("http_client_shutdown: %zu transfers still running",
		    http_client_running());
	for (i = 0; i < hc.nloops; i++)	/* threads first: nothing moves */
		if (hc.loops[i].thread_started) {
			mbox_put(&hc.loops[i].in, MSG_STOP, NULL);
			if (pthread_join(hc.loops[i].thread, NULL) != 0)
				fatalx("pthread_join");
			hc.loops[i].thread_started = 0;
		}
	if (hc.out.fd != -1) {	/* ended on a thread, never reported */
		n = mbox_take(&hc.out, &hc.outv, &hc.outcap);
		for (i = 0; i < n; i++) {
			t = hc.outv[i].obj;
			if (hc.outv[i].kind == MSG_DONE)
				t->done = 1;
			else
				t->acks--;
			settle(t);
		}
	}
	for (i = 0; i < hc.nloops; i++)
		loop_free(&hc.loops[i]);
	free(hc.loops);
	if (hc.out_ev != NULL)
		event_free(hc.out_ev);
	if (hc.out.fd != -1)
		mbox_free(&hc.out);
	free(hc.outv);
	proxy_unref(hc.proxy);
	curl_global_cleanup();
	memset(&hc, 0, sizeof(hc));
}

size_t
http_client_running(void)
{
	size_t i, n = 0;

	for (i = 0; i < hc.nloops; i++)
		n += hc.loops[i].load;
	return n;
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

void
http_client_flush(void)
{
	size_t i;

	__atomic_add_fetch(&hc.gen, 1, __ATOMIC_RELEASE);
	for (i = 0; i < hc.nloops; i++) {
		if (hc.loops[i].threaded)
			mbox_put(&hc.loops[i].in, MSG_FLUSH, NULL);
		else
			http_share_flush(&hc.loops[i].shares, hc.gen);
	}
}

static void
proxy_unref(struct proxy *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	free(p->url);
	free(p);
}

void
http_client_set_proxy(const char *proxy)
{
	struct proxy *p;

	proxy_unref(hc.proxy);
	hc.proxy = NULL;
	if (proxy == NULL || *proxy == '\0')
		return;
	p = xcalloc(1, sizeof(*p));
	if (http_url_host_port(proxy, p->host, sizeof(p->host),
	    &p->port) == -1) {
		log_warnx("proxy %s does not parse; going direct", proxy);
		free(p);
		return;
	}
	p->url = xstrdup(proxy);
	p->refs = 1;
	hc.proxy = p;
}

/*
 * The target, before anything is sent to it: its name and port, and its
 * address when the URL spells one (egress_judge() reads a literal host as
 * its address). With a proxy this is all fanoutd can see of the target.
 * Fails closed: a target whose origin does not split is refused.
 */
static int
target_allowed(struct http_transfer *t)
{
	if (hc.policy == NULL)
		return 1;
	if (t->host[0] == '\0') {
		snprintf(t->blocked_why, sizeof(t->blocked_why), "the URL's "
		    "host does not parse");
	} else if (hc.policy(t->req.who, t->host, t->port, NULL, 0, 0,
	    t->blocked_why, sizeof(t->blocked_why)))
		return 1;
	t->blocked = 1;
	return 0;
}

/*
 * A caller's Host header names the virtual host the upstream serves, so
 * it is judged by name too: `deny = admin.corp` must also hold against
 * http://www.corp/ sent with Host: admin.corp. (batch.c made it
 * host[:port].)
 */
static int
host_header_allowed(struct http_transfer *t)
{
	const struct http_request *req = &t->req;
	const char *h = NULL, *v, *end, *why;
	char name[ORIGIN_HOST_MAX];
	unsigned port = t->port;
	size_t i, n;

	if (hc.policy == NULL || req->cross_origin)
		return 1;	/* not sent to another origin */
	for (i = 0; i < req->nheaders + req->ndefaults && h == NULL; i++)
		if ((v = header_at(req, i)) != NULL && has_name(v, "Host"))
			h = v;
	if (h == NULL)
		return 1;
	for (v = h + 5; *v == ' ' || *v == '\t'; v++)
		;
	end = *v == '[' ? strchr(v, ']') : strchr(v, ':');
	if (end != NULL && *end == ']')
		end++;
	n = end != NULL ? (size_t)(end - v) : strlen(v);
	if (origin_host(v, n, name, sizeof(name), &why) == -1) {
		snprintf(t->blocked_why, sizeof(t->blocked_why), "Host "
		    "header: %s", why);
		t->blocked = 1;
		return 0;
	}
	if ((end = strrchr(v + n, ':')) != NULL)
		port = (unsigned)strtoul(end + 1, NULL, 10);
	if (strcmp(name, t->host) == 0 && port == t->port)
		return 1;
	if (hc.policy(t->req.who, name, port, NULL, 0, 0, t->blocked_why,
	    sizeof(t->blocked_why)))
		return 1;
	t->blocked = 1;
	return 0;
}

/* Judge the connection at sa for t: the target's, or the proxy's. */
static int
connection_allowed(struct http_transfer *t, const struct sockaddr *sa,
    unsigned salen)
{
	int proxied = t->proxy != NULL;

	if (hc.policy == NULL || hc.policy(t->req.who, proxied ?
	    t->proxy->host : t->host, proxied ? t->proxy->port : t->port, sa,
	    salen, proxied, t->blocked_why, sizeof(t->blocked_why)))
		return 1;
	t->blocked = 1;
	return 0;
}

/*
 * Every connection curl makes, for every address it tries, comes through
 * here before it connects: the egress policy judges the address itself (a
 * name may resolve anywhere), and nothing is sent if it says no. Through
 * a proxy, the connection is to the proxy, judged as such.
 */
static curl_socket_t
opensocket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_transfer *t = arg;
	int fd;

	(void)purpose;
	if (!connection_allowed(t, &a->addr, (unsigned)a->addrlen))
		return CURL_SOCKET_BAD;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return fd == -1 ? CURL_SOCKET_BAD : fd;
}

/*
 * Every request, on a new connection or a reused one, just before it is
 * sent: its connection's address is judged again, under the policy in
 * force now for this caller. A connection opened before a reload (or,
 * were one ever shared, for another caller) carries nothing the policy
 * would not allow today. Refused: CURLE_ABORTED_BY_CALLBACK, and curl
 * closes the connection.
 */
static int
prereq_cb(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct http_transfer *t = arg;
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	(void)local_ip;
	(void)local_port;
	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, ip, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		s4.sin_port = htons((uint16_t)port);
		return connection_allowed(t, (struct sockaddr *)&s4,
		    sizeof(s4)) ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
	}
	if (inet_pton(AF_INET6, ip, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons((uint16_t)port);
		return connection_allowed(t, (struct sockaddr *)&s6,
		    sizeof(s6)) ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
	}
	snprintf(t->blocked_why, sizeof(t->blocked_why), "the connection's "
	    "address (%.64s) is not known", ip);
	t->blocked = 1;
	return CURL_PREREQFUNC_ABORT;
}

/* Response body bytes: keep up to the cap, then stop reading. */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_transfer *t = arg;
	size_t len = size * nmemb;

	if (result_add_body(t->res, data, len, t->req.max_response_bytes) ==
	    -1) {
		/* The rest is unread: the connection must not be reused. */
		curl_easy_setopt(t->easy, CURLOPT_FORBID_REUSE, 1L);
		return CURL_WRITEFUNC_ERROR;	/* truncated: abort here */
	}
	return len;
}

/*
 * One header line. The first line of each response is its status line;
 * after a 1xx's blank line a new response starts a fresh set. Position
 * decides, not content: a header line that merely starts "HTTP/" is a
 * header like any other.
 */
static size_t
header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	struct http_transfer *t = arg;
	size_t len = size * nmemb, nlen, vstart;
	char *colon;

	if (t->head_next && len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		t->head_next = 0;
		result_reset_headers(t->res);
		t->status = 0;
		if ((colon = memchr(line, ' ', len)) != NULL)
			t->status = strtol(colon + 1, NULL, 10);
		return len;
	}
	t->head_next = len <= 2 && (line[0] == '\r' || line[0] == '\n');
	if (t->head_next)	/* the end of one response's head */
		return len;
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
	result_add_header(t->res, line, nlen, line + vstart, len - vstart,
	    t->req.max_response_headers);
	return size * nmemb;
}

/* Is line ("Name: value") a header called name (any case)? */
static int
has_name(const char *line, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/*
 * The i-th header line the request sends: its own, then the defaults it
 * does not override (NULL for those, and past the end).
 */
static const char *
header_at(const struct http_request *req, size_t i)
{
	if (i < req->nheaders)
		return req->headers[i];
	i -= req->nheaders;
	if (i >= req->ndefaults || (req->skip != NULL &&
	    (req->skip[i / 8] & (1u << (i % 8)))))
		return NULL;
	return req->defaults[i];
}

static int
has_header(const struct http_request *req, const char *name)
{
	const char *h;
	size_t i;

	for (i = 0; i < req->nheaders + req->ndefaults; i++)
		if ((h = header_at(req, i)) != NULL && has_name(h, name))
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
 * for (a form Content-Type on bodies, Expect: 100-continue). A redirect to
 * another origin gets no Authorization, Cookie or Host of the caller's.
 * -1 when libcurl runs out of memory.
 */
static int
build_headers(const struct http_request *req, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *n = NULL;
	const char *h;
	size_t i, len;
	char *tmp;

	for (i = 0; i < req->nheaders + req->ndefaults; i++, l = n) {
		if ((h = header_at(req, i)) == NULL)
			continue;	/* a default the request overrides */
		if (req->cross_origin && (has_name(h, "Authorization") ||
		    has_name(h, "Cookie") || has_name(h, "Host")))
			continue;	/* not for another origin */
		len = strlen(h);
		if (len >= 2 && strcmp(h + len - 2, ": ") == 0) {
			xasprintf(&tmp, "%.*s;", (int)(len - 2), h);
			n = curl_slist_append(l, tmp);
			free(tmp);
		} else
			n = curl_slist_append(l, h);
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
		SET(CURLOPT_PREREQFUNCTION, prereq_cb);
		SET(CURLOPT_PREREQDATA, t);
		SET(CURLOPT_PROTOCOLS_STR, "http,https");
		SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		SET(CURLOPT_FOLLOWLOCATION, 0L);	/* redirect.c does */
		SET(CURLOPT_NOPROXY, "");	/* nor no_proxy from env */
		SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
		SET(CURLOPT_USERAGENT, hc.useragent);
		t->configured = rc == CURLE_OK;
	}
	/* Every option a request may change is set again, every time. */
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_FORBID_REUSE, 0L);	/* a framing anomaly sets it */
	SET(CURLOPT_PROXY, t->proxy != NULL ? t->proxy->url : "");
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
		/* curl never follows: redirect.c decides the next method. */
		if (strcmp(req->method, "POST") != 0 || req->body == NULL)
			SET(CURLOPT_CUSTOMREQUEST, req->method);
	}
#undef SET
	return rc;
}

/* A recycled transfer of loop l, or a new one; NULL if curl has no memory. */
static struct http_transfer *
transfer_get(struct loop *l)
{
	struct http_transfer *t;

	if ((t = TAILQ_FIRST(&l->idle)) != NULL) {
		TAILQ_REMOVE(&l->idle, t, entry);
		l->nidle--;
		return t;	/* no curl_easy_reset(): see setup_easy() */
	}
	t = xcalloc(1, sizeof(*t));
	if ((t->easy = curl_easy_init()) == NULL) {	/* libcurl's memory */
		free(t);
		return NULL;
	}
	t->loop = l;
	return t;
}

/* Back to its loop's idle pool (main thread; nothing else holds it). */
static void
transfer_put(struct http_transfer *t)
{
	struct loop *l = t->loop;

	curl_slist_free_all(t->hdrs);
	t->hdrs = NULL;
	free(t->ascii_url);
	t->ascii_url = NULL;
	proxy_unref(t->proxy);
	t->proxy = NULL;
	t->res = NULL;
	t->cb = NULL;
	t->magic = 0;
	t->done = t->aborting = 0;
	if (l->nidle >= IDLE_MAX) {
		transfer_free(t);
		return;
	}
	TAILQ_INSERT_HEAD(&l->idle, t, entry);
	l->nidle++;
}

/*
 * Where a new transfer runs: the least busy thread, or the main loop while
 * it runs at most a third as many as that thread. The main loop also
 * parses, schedules and encodes everything, so it takes a smaller share;
 * on an idle daemon it takes the transfer itself (no hand-off latency).
 * With bench/batch.sh 40000 64 on 2 CPUs, a third beat an equal share by
 * about 4% and balanced the two threads' CPU (docs/performance.md).
 */
static struct loop *
pick_loop(void)
{
	struct loop *best;
	size_t i;

	if (hc.nloops == 1)
		return &hc.loops[0];
	best = &hc.loops[1];
	for (i = 2; i < hc.nloops; i++)
		if (hc.loops[i].load < best->load)
			best = &hc.loops[i];
	return hc.loops[0].load * MAIN_SHARE <= best->load ? &hc.loops[0] :
	    best;
}

/* On t's loop: build and add it. -1 with t->res set if that fails. */
static int
loop_start(struct loop *l, struct http_transfer *t)
{
	CURLcode rc;
	CURLMcode mrc;

	if (build_headers(&t->req, &t->hdrs) == -1) {
		result_set_error(t->res, RESULT_INTERNAL, "curl_slist_append: "
		    "out of memory");
		return -1;
	}
	if ((rc = setup_easy(t, &t->req)) != CURLE_OK) {
		result_set_error(t->res, RESULT_INTERNAL, "curl option: %s",
		    curl_easy_strerror(rc));
		return -1;
	}
	if ((t->share = http_share_get(&l->shares, t->req.caller,
	    __atomic_load_n(&hc.gen, __ATOMIC_ACQUIRE))) == NULL) {
		result_set_error(t->res, RESULT_INTERNAL, "curl_share_init: "
		    "out of memory");
		return -1;
	}
	if ((rc = curl_easy_setopt(t->easy, CURLOPT_SHARE, t->share->sh)) !=
	    CURLE_OK) {
		http_share_put(&l->shares, t->share);
		t->share = NULL;
		result_set_error(t->res, RESULT_INTERNAL, "curl option: %s",
		    curl_easy_strerror(rc));
		return -1;
	}
	if ((mrc = curl_multi_add_handle(l->multi, t->easy)) != CURLM_OK) {
		share_detach(l, t);
		result_set_error(t->res, RESULT_INTERNAL,
		    "curl_multi_add_handle: %s", curl_multi_strerror(mrc));
		return -1;
	}
	t->live = 1;
	TAILQ_INSERT_TAIL(&l->running, t, entry);
	return 0;
}

struct http_transfer *
http_client_start(const struct http_request *req, struct result *res,
    http_done_cb cb, void *arg)
{
	struct loop *l = pick_loop();
	struct http_transfer *t = transfer_get(l);
	struct origin_parts o;

	if (t == NULL) {
		result_set_error(res, RESULT_INTERNAL, "curl_easy_init: out of "
		    "memory");
		return NULL;
	}
	t->magic = XFER_MAGIC;
	t->req = *req;
	t->req.origin = NULL;	/* used here only */
	t->res = res;
	t->cb = cb;
	t->arg = arg;
	if ((t->proxy = hc.proxy) != NULL)
		t->proxy->refs++;
	t->errbuf[0] = '\0';
	t->started_us = clock_now_us();
	t->blocked = 0;
	t->status = 0;
	t->head_next = 1;
	if (req->origin == NULL || origin_split(req->origin, &o) == -1)
		t->host[0] = '\0';
	else {
		memcpy(t->host, o.host, sizeof(t->host));
		t->port = o.port;
	}
	if ((t->ascii_url = http_url_ascii(req->url)) != NULL)
		t->req.url = t->ascii_url;	/* an IDN host, in punycode */
	if (!target_allowed(t) || !host_header_allowed(t)) {
		result_set_error(res, RESULT_BLOCKED, "blocked by the egress "
		    "policy: %s", t->blocked_why);
		transfer_put(t);
		return NULL;
	}
	if (l->threaded)
		mbox_put(&l->in, MSG_START, t);
	else if (loop_start(l, t) == -1) {
		transfer_put(t);
		return NULL;
	}
	l->load++;
	l->started++;
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
			    (unsigned long long)t->req.connect_timeout_ms,
			    (unsigned long long)t->req.timeout_ms, detail);
		else
			result_set_error(r, RESULT_TIMEOUT, "request timeout "
			    "(timeout_ms %llu): %s",
			    (unsigned long long)t->req.timeout_ms, detail);
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

/*
 * A 3xx's Location, resolved against the request's URL as libcurl would
 * (CURLINFO_REDIRECT_URL is only filled for a transfer that ended without
 * error: a redirect whose body passed max_response_bytes would not be
 * followed). NULL without a Location (caller frees).
 */
static char *
resolve_location(struct http_transfer *t)
{
	const char *loc = result_header(t->res, "location");

	if (loc == NULL || *loc == '\0')
		return NULL;
	return http_url_resolve(t->req.url, loc);
}

/* Phase timings in curl's terms (cumulative from transfer start). */
static void
collect_timings(struct http_transfer *t)
{
	curl_off_t nl = 0, conn = 0, app = 0, pre = 0, start = 0, total = 0;
	struct result *r = t->res;
	long status = 0;

	curl_easy_getinfo(t->easy, CURLINFO_NAMELOOKUP_TIME_T, &nl);
	curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &conn);
	curl_easy_getinfo(t->easy, CURLINFO_APPCONNECT_TIME_T, &app);
	curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
	curl_easy_getinfo(t->easy, CURLINFO_STARTTRANSFER_TIME_T, &start);
	curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total);
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (t->req.want_redirect && status >= 300 && status < 400)
		r->redirect_url = resolve_location(t);
	r->status = status;
	r->dns_ms = us_to_ms(nl);
	r->connect_ms = conn > nl ? us_to_ms(conn - nl) : 0.0;
	r->tls_ms = app > conn ? us_to_ms(app - conn) : 0.0;
	r->ttfb_ms = start > pre ? us_to_ms(start - pre) : 0.0;
	r->total_ms = us_to_ms(total);
}

/*
 * On t's loop: detach a finished transfer, then report it, directly on
 * the main loop or through the main loop's box from a thread.
 */
static void
finish(struct http_transfer *t, CURLcode code, int aborted)
{
	struct loop *l = t->loop;

	if (t->magic != XFER_MAGIC)
		fatalx("finish: bad transfer magic");
	collect_timings(t);
	if (!aborted)
		set_curl_error(t, code);
	else {	/* curl's clock stopped at its last action, ours did not */
		t->res->total_ms = (double)(clock_now_us() - t->started_us) /
		    1000.0;
		/* Cut mid-exchange: never reuse (curl would close it too). */
		curl_easy_setopt(t->easy, CURLOPT_FORBID_REUSE, 1L);
	}
	curl_multi_remove_handle(l->multi, t->easy);
	share_detach(l, t);
	TAILQ_REMOVE(&l->running, t, entry);
	t->live = 0;
	if (l->threaded)
		mbox_put(&hc.out, MSG_DONE, t);
	else
		complete(t);
}

/*
 * On the main loop: a transfer has ended; recycle it (unless an abort is
 * still on its way to its thread), then tell its owner.
 */
static void
complete(struct http_transfer *t)
{
	struct result *res = t->res;
	http_done_cb cb = t->cb;
	void *arg = t->arg;

	t->loop->load--;
	t->done = 1;
	settle(t);
	cb(res, arg);
}

/* Recycle t once it has ended and its thread has seen every abort. */
static void
settle(struct http_transfer *t)
{
	if (t->done && t->acks == 0)
		transfer_put(t);
}

static void
check_multi_info(struct loop *l)
{
	struct http_transfer *t;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(l->multi, &left)) != NULL) {
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
	if (t->magic != XFER_MAGIC)
		fatalx("http_client_abort: bad transfer magic");
	if (!t->loop->threaded) {
		result_set_error(t->res, e, "%s", msg);
		finish(t, CURLE_OK, 1);
		return;
	}
	if (t->aborting)
		return;
	t->aborting = 1;
	t->abort_error = e;
	snprintf(t->abort_msg, sizeof(t->abort_msg), "%s", msg);
	t->acks++;
	mbox_put(&t->loop->in, MSG_ABORT, t);
}

size_t
http_client_loops(void)
{
	return hc.nloops;
}

void
http_client_loop_stats(size_t i, size_t *running, uint64_t *started)
{
	*running = hc.loops[i].load;
	*started = hc.loops[i].started;
}
