/*
 * http_client.c: libcurl's multi_socket API driven by libevent loops.
 * libcurl is known only here and in the other http_*.c files; what one
 * transfer tells curl is in http_transfer.c.
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
 * and timer callbacks, as in curl's multi-event.c); we never poll.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "clock.h"
#include "http_int.h"
#include "http_share.h"
#include "log.h"
#include "mbox.h"
#include "xmalloc.h"
#define IDLE_MAX	1024	/* easy handles kept for reuse, per loop */
#define MAIN_SHARE	3	/* the main loop takes 1/3 of a thread's load */

/* Messages: to a transfer thread, and back to the main loop. */
enum { MSG_START = 1, MSG_ABORT, MSG_STOP, MSG_FLUSH, MSG_DONE, MSG_ACK };

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
	unsigned		 gen;		/* policy generation (atomic) */
} hc;

static void check_multi_info(struct loop *);
static void transfer_put(struct http_transfer *);
static void complete(struct http_transfer *);
static void settle(struct http_transfer *);
static void finish(struct http_transfer *, CURLcode, int);
static void detach(struct http_transfer *, CURLcode, int);
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
	tv = clock_tv((uint64_t)timeout_ms * 1000);
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
			if (t->live) {	/* a thread's: reported, not recycled */
				result_set_error(t->res, t->abort_error, "%s",
				    t->abort_msg);
				detach(t, CURLE_OK, 1);
				mbox_put(&hc.out, MSG_DONE, t);
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
	http_transfer_init();
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
	http_transfer_clear(t);
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
http_client_stop(void)
{
	struct http_transfer *t;
	size_t i, n;

	if (hc.loops == NULL)
		return;
	for (i = 0; i < hc.nloops; i++)
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
}

void
http_client_shutdown(void)
{
	size_t i;

	if (hc.loops == NULL)
		return;
	if (http_client_running() != 0)
		log_warnx("http_client_shutdown: %zu transfers still running",
		    http_client_running());
	http_client_stop();	/* if the caller has not: nothing moves */
	for (i = 0; i < hc.nloops; i++)
		loop_free(&hc.loops[i]);
	free(hc.loops);
	if (hc.out_ev != NULL)
		event_free(hc.out_ev);
	if (hc.out.fd != -1)
		mbox_free(&hc.out);
	free(hc.outv);
	http_transfer_shutdown();
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

	http_transfer_clear(t);
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

	if (http_transfer_setup(t) == -1)
		return -1;
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

	if (t == NULL) {
		result_set_error(res, RESULT_INTERNAL, "curl_easy_init: out of "
		    "memory");
		return NULL;
	}
	t->magic = XFER_MAGIC;
	t->req = *req;
	t->res = res;
	t->cb = cb;
	t->arg = arg;
	t->errbuf[0] = '\0';
	t->started_us = clock_now_us();
	t->blocked = 0;
	t->status = 0;
	t->head_next = 1;
	if (http_transfer_prepare(t) == -1) {
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

/* On t's loop: t has ended; take it out of the loop and its share. */
static void
detach(struct http_transfer *t, CURLcode code, int aborted)
{
	struct loop *l = t->loop;

	if (t->magic != XFER_MAGIC)
		fatalx("finish: bad transfer magic");
	http_transfer_ended(t, code, aborted);
	curl_multi_remove_handle(l->multi, t->easy);
	share_detach(l, t);
	TAILQ_REMOVE(&l->running, t, entry);
	t->live = 0;
}

/*
 * On t's loop: detach a finished transfer, then report it, directly on
 * the main loop or through the main loop's box from a thread.
 */
static void
finish(struct http_transfer *t, CURLcode code, int aborted)
{
	detach(t, code, aborted);
	if (t->loop->threaded)
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
