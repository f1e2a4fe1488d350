/*
 * dispatch.c: the event-loop side of running batches.
 *
 * sched.c decides which job may start; this file starts its attempt on the
 * HTTP client, and when the attempt ends records it (attempt log, host
 * counters, circuit breaker, Retry-After pause), then either schedules a
 * retry after a backoff or encodes the job's final result. Deadlines and
 * retry backoffs wait in a runq; one libevent timer is armed for the
 * earliest of those and of the scheduler's own wake-ups. A batch is reported
 * done from the event loop, never from inside a call that might still touch
 * it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>

#include <event2/event.h>

#include "backoff.h"
#include "batch.h"
#include "caller.h"
#include "clock.h"
#include "cookiejar.h"
#include "config.h"
#include "dispatch.h"
#include "egress.h"
#include "host.h"
#include "http_client.h"
#include "log.h"
#include "origin.h"
#include "policy.h"
#include "redirect.h"
#include "retry.h"
#include "runq.h"
#include "sched.h"
#include "xmalloc.h"

enum wake_kind { WAKE_DEADLINE = 1, WAKE_RETRY };

static struct {
	struct event_base	*base;
	const struct config	*cfg;
	struct policy		*policy;	/* a snapshot of cfg's rules */
	struct event		*timer;
	struct runq		 rq;	/* deadlines and retry backoffs */
	TAILQ_HEAD(, batch)	 all;
	size_t			 nbatches;
	int			 pumping;
	int			 repump;
	void			(*idle_cb)(void);
	struct dispatch_counts	 counts;
	uint64_t		 rnd;	/* xorshift state for jitter */
} d;

static void pump(void);
static void arm_timer(uint64_t);
static void retry_unhold(struct job *);

static uint64_t
random64(void)
{
	d.rnd ^= d.rnd << 13;
	d.rnd ^= d.rnd >> 7;
	d.rnd ^= d.rnd << 17;
	return d.rnd;
}

static void
timer_cb(evutil_socket_t fd, short kind, void *arg)
{
	(void)fd;
	(void)kind;
	(void)arg;
	pump();
}

size_t
dispatch_caller_limit(uint32_t uid, const uint32_t *gids, size_t ngids,
    int queued)
{
	const struct client_rule *cr = clientrule_match(d.cfg->clients,
	    d.cfg->nclients, uid, gids, ngids);
	uint64_t own = cr == NULL ? 0 : queued ? cr->max_queued :
	    cr->max_inflight;

	if (own != 0)
		return (size_t)own;
	return (size_t)(queued ? d.cfg->max_queued_per_uid :
	    d.cfg->max_inflight_per_uid);
}

void
dispatch_init(struct event_base *base, const struct config *cfg)
{
	memset(&d, 0, sizeof(d));
	d.base = base;
	d.cfg = cfg;
	TAILQ_INIT(&d.all);
	if (getrandom(&d.rnd, sizeof(d.rnd), 0) != (ssize_t)sizeof(d.rnd))
		fatal("getrandom");
	d.rnd |= 1;
	if ((d.timer = evtimer_new(base, timer_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	d.policy = policy_make(cfg);
	host_init(cfg);
	sched_init(cfg);
	http_client_set_proxy(cfg->proxy);
}

/* b's caller's section in the policy in force (policy.h). */
static int
section_of(const struct batch *b)
{
	return policy_caller(d.policy, b->owner.uid, b->owner.gids,
	    b->owner.ngids);
}

void
dispatch_set_config(const struct config *cfg)
{
	d.cfg = cfg;
	policy_unref(d.policy);	/* running transfers keep theirs */
	d.policy = policy_make(cfg);
	host_reconfigure(cfg, clock_now_us());
	sched_set_config(cfg);
	http_client_set_proxy(cfg->proxy);
	http_client_flush();	/* no connection outlives the old policy */
	pump();
}

void
dispatch_set_idle_cb(void (*cb)(void))
{
	d.idle_cb = cb;
}

const struct dispatch_counts *
dispatch_counts(void)
{
	return &d.counts;
}

size_t
dispatch_inflight(void)
{
	return sched_inflight();
}

size_t
dispatch_queued(void)
{
	return sched_queued();
}

size_t
dispatch_batches(void)
{
	return d.nbatches;
}

static double
ms_since(uint64_t from_us, uint64_t now_us)
{
	return now_us > from_us ? (double)(now_us - from_us) / 1000.0 : 0.0;
}

/* Deferred completion: the batch leaves dispatch, its owner takes it. */
static void
done_ev_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct batch *b = arg;

	(void)fd;
	(void)kind;
	if (b->magic != BATCH_MAGIC)
		fatalx("done_ev_cb: bad batch magic");
	log_info("batch %s uid %u pid %d: %zu requests, %zu responses, "
	    "%zu errors, %.1f ms%s", b->id, (unsigned)b->owner.uid,
	    (int)b->owner.pid,
	    b->njobs, b->njobs - b->run.errors, b->run.errors,
	    ms_since(b->run.accepted_us, b->run.finished_us),
	    b->run.cancelled ? " (cancelled)" : "");
	event_free(b->run.done_ev);
	b->run.done_ev = NULL;
	runq_del(&d.rq, &b->run.deadline_wake);
	sched_forget(b, clock_now_us());
	arm_timer(clock_now_us());	/* its hosts may be idle now */
	caller_detach(b);
	TAILQ_REMOVE(&d.all, b, run.entry);
	d.nbatches--;
	d.counts.batches[b->mode][b->run.cancelled ? 1 : 0]++;
	b->run.done_cb(b, b->run.done_arg);
	if (d.nbatches == 0 && d.idle_cb != NULL)
		d.idle_cb();
}

/* The job's result is final: encode it, free the working struct. */
static void
job_finish(struct job *job, uint64_t now_us)
{
	struct batch *b = job->batch;
	struct result *r = job->res;

	if (r->error != RESULT_OK) {
		b->run.errors++;
		log_debug("batch %s request %zu %s %s: %s: %s", b->id,
		    job->spec.index, job->spec.method, job->spec.url,
		    result_error_code(r->error), r->error_message);
	}
	hostsum_add(&b->run.hosts, job->spec.origin, r, job->nattempts > 0);
	job->encoded = result_encode(job, r, &job->encoded_len);
	batch_job_url_drop(job);	/* its params' URL, if it had one */
	free(job->history);
	job->history = NULL;
	result_clear(r);
	free(r);
	job->res = NULL;
	job->state = JOB_DONE;
	b->run.done++;
	if (b->run.result_cb != NULL)	/* before the batch is done */
		b->run.result_cb(b, job, b->run.done_arg);
	if (b->run.done == b->njobs) {
		b->run.finished_us = now_us;
		b->run.finished = clock_wall();
		event_active(b->run.done_ev, 0, 0);
	}
}

/* End a job that is not running (queued, or waiting to retry) with e. */
static void
job_fail(struct job *job, enum result_error e, const char *msg,
    uint64_t now_us)
{
	struct attempt *at;

	retry_unhold(job);		/* a retry that will not happen */
	if (job->res == NULL) {
		job->res = xcalloc(1, sizeof(*job->res));
		result_init(job->res);
		job->res->queue_ms = ms_since(job->batch->run.accepted_us,
		    now_us);
	}
	result_replace_error(job->res, e, msg);
	if (job->hop.url != NULL) {	/* ended waiting to send a hop */
		at = &job->attempts[job->nattempts - 1];
		job->res->total_ms = job->try_ms;
		at->status = job->res->status;
		at->error = e;
		at->total_ms = job->try_ms;
	}
	job_finish(job, now_us);
}

static void
attempt_done_cb(struct result *res, void *arg);

/*
 * Start the next hop of job: the first of an attempt (its own url, a new
 * attempt_log entry) or a redirect's. The attempt's timeout_ms covers all
 * of its hops; each is capped by the batch deadline.
 */
static void
attempt_start(struct job *job, uint64_t now_us)
{
	struct batch *b = job->batch;
	const struct job_opts *o = &job->spec.opt;
	struct attempt *at;
	int first = job->hop.url == NULL;
	uint64_t spent = (uint64_t)job->try_ms, left;
	struct http_request req = {
		.method = job->hop.method != NULL ? job->hop.method :
		    job->spec.method,
		.url = first ? batch_job_url(job) : job->hop.url,
		.headers = job->spec.headers,
		.nheaders = job->spec.nheaders,
		.defaults = b->dheaders,
		.ndefaults = b->ndheaders,
		.skip = job->spec.dskip,
		.body = job->hop.no_body ? NULL : job->spec.body,
		.body_len = job->hop.no_body ? 0 : job->spec.body_len,
		.max_response_bytes = o->max_response_bytes,
		.max_response_headers = (size_t)d.cfg->max_response_headers,
		.want_redirect = o->follow_redirects,
		.cross_origin = job->hop.cross_origin,
		.caller = (uint32_t)b->owner.uid,
		.policy = d.policy,
		.policy_caller = section_of(b),
		.origin = first ? job->spec.origin : job->hop.origin,
		.tls = job->host->tls,
		.http2 = job->host->http2,
		.http_version = (enum http_version)o->http_version,
		.decompress = o->decompress,
	};

	left = first || spent < o->timeout_ms ? o->timeout_ms -
	    (first ? 0 : spent) : 1;
	req.timeout_ms = retry_cap_ms(left, b->run.deadline_us, now_us);
	req.connect_timeout_ms = retry_cap_ms(o->connect_timeout_ms,
	    b->run.deadline_us, now_us);
	job->attempt_timeout_ms = req.timeout_ms;
	job->attempt_connect_timeout_ms = req.connect_timeout_ms;
	job->capped = req.timeout_ms < left;
	job->capped_connect = req.connect_timeout_ms <
	    o->connect_timeout_ms;
	if (job->res != NULL) {		/* the previous hop's or attempt's */
		result_clear(job->res);
		free(job->res);
	}
	job->res = xcalloc(1, sizeof(*job->res));
	result_init(job->res);
	job->res->body_mode = (enum result_body)o->response_body;
	if (b->jar != NULL) {	/* the jar as it is now, for this hop */
		free(job->cookies_sent);
		job->cookies_sent = cookiejar_text(b->jar);
		req.cookies = job->cookies_sent;
	}
	b->run.started = 1;
	if (first) {
		job->attempts = xreallocarray(job->attempts,
		    job->nattempts + 1, sizeof(*job->attempts));
		at = &job->attempts[job->nattempts++];
		memset(at, 0, sizeof(*at));
		at->started_ms = ms_since(b->run.accepted_us, now_us);
		job->try_ms = 0;
	}
	job->res->queue_ms = job->attempts[job->nattempts - 1].started_ms;
	host_count_start(job->host);
	if ((job->xfer = http_client_start(&req, job->res, attempt_done_cb,
	    job)) == NULL)
		attempt_done_cb(job->res, job);
}

static void
record_breaker(struct job *job, const struct result *r, uint64_t now_us)
{
	struct host *h = job->host;
	enum breaker_state before = h->dispatch.breaker.state;
	enum breaker_outcome o;

	o = breaker_classify(&h->breaker_on, r->status, r->error,
	    r->connect_timeout, job->attempt_timeout_ms,
	    job->attempt_connect_timeout_ms, d.cfg->breaker_min_timeout_ms);
	breaker_record(&h->dispatch.breaker, o, job->probe,
	    (unsigned)d.cfg->breaker_failures, d.cfg->breaker_open_ms * 1000,
	    now_us);
	job->probe = 0;
	if (h->dispatch.breaker.state == before)
		return;
	if (h->dispatch.breaker.state == BREAKER_OPEN)
		log_warnx("host %s: circuit open for %llu ms (%s; the last: "
		    "%s from uid %u, batch %s)", h->key,
		    (unsigned long long)d.cfg->breaker_open_ms,
		    before == BREAKER_CLOSED ? "consecutive failures" :
		    "the probe failed", r->error != RESULT_OK ?
		    result_error_code(r->error) : "a 5xx response",
		    (unsigned)job->batch->owner.uid, job->batch->id);
	else if (h->dispatch.breaker.state == BREAKER_CLOSED)
		log_info("host %s: circuit closed", h->key);
	sched_host_changed(h);
}

/* Retry-After on 429/503 pauses the whole host. Returns the pause in ms. */
static int64_t
record_retry_after(struct job *job, const struct result *r, uint64_t now_us)
{
	const char *v;
	int64_t ms;

	if (r->error != RESULT_OK || (r->status != 429 && r->status != 503))
		return 0;
	if ((v = result_header(r, "retry-after")) == NULL ||
	    (ms = retry_after_ms(v, (time_t)clock_wall(),
	    d.cfg->max_retry_after_ms)) <= 0)
		return 0;
	sched_pause_host(job->host, now_us + (uint64_t)ms * 1000);
	log_debug("host %s: Retry-After %s: paused %lld ms", job->host->key,
	    v, (long long)ms);
	return ms;
}

/*
 * The retry budget's counter, one owner: a job holds one unit of its home
 * host's from the moment a retry is scheduled until that retry's attempt
 * is over, or the job ends without it.
 */
static void
retry_hold(struct job *job)
{
	job->home->dispatch.retries++;
	host_count_retry(job->home);
	job->retry_held = 1;
}

static void
retry_unhold(struct job *job)
{
	if (!job->retry_held)
		return;
	job->home->dispatch.retries--;
	job->retry_held = 0;
}

/* Should job try again, and after how long (ms)? */
static int
want_retry(struct job *job, const struct result *r, int64_t pause_ms,
    uint64_t now_us, uint64_t *delay_ms)
{
	struct host *h = job->home;	/* a retry starts from url again */
	const struct job_opts *o = &job->spec.opt;
	uint64_t budget;

	if (job->nattempts > o->retries || !o->may_retry ||
	    !retry_on_match(&o->retry_on, r->status, r->error))
		return 0;
	budget = retry_budget(h->sched.inflight + h->sched.queued,
	    d.cfg->retry_budget_percent, d.cfg->retry_budget_min);
	if (h->dispatch.retries >= budget) {
		log_debug("host %s: retry budget (%llu) spent", h->key,
		    (unsigned long long)budget);
		return 0;
	}
	*delay_ms = backoff_ms(o->retry_base_ms, o->retry_max_ms,
	    (unsigned)job->nattempts - 1, random64());
	if (pause_ms > 0 && (uint64_t)pause_ms > *delay_ms)
		*delay_ms = (uint64_t)pause_ms;
	/* A retry that could not start before the deadline is not tried. */
	return retry_fits(*delay_ms, job->batch->run.deadline_us, now_us);
}

/* Back to the request's own url, for a retry. */
static void
hop_reset(struct job *job)
{
	free(job->hop.url);
	free(job->hop.origin);
	job->hop.url = job->hop.origin = NULL;
	job->hop.method = NULL;
	job->hop.no_body = job->hop.cross_origin = 0;
	job->hop.redirects = 0;
	free(job->history);	/* redirects_log is the last attempt's */
	job->history = NULL;
	job->history_len = 0;
}

/* With "history": the 3xx r, which the hop now ending got, in its log. */
static void
log_hop(struct job *job, const struct result *r)
{
	const char *url = job->hop.url != NULL ? job->hop.url :
	    batch_job_url(job);
	size_t len;
	char *hop;

	if (!job->spec.opt.history)
		return;
	hop = result_hop_encode(r, url, &len);
	job->history = xreallocarray(job->history, job->history_len + len +
	    2, 1);
	if (job->history_len > 0)
		job->history[job->history_len++] = ',';
	memcpy(job->history + job->history_len, hop, len + 1);
	job->history_len += len;
	free(hop);
}

/*
 * A 3xx that redirect_judge() follows, to a target the caller's egress
 * policy allows, within the attempt's timeout: queue the next hop on the
 * target's own host (its limits, rate and circuit) and return 1. Else
 * return 0 with r as the outcome: the 3xx itself, or an error that keeps
 * its status and headers (blocked, too_many_redirects, timeout).
 */
static int
follow(struct job *job, struct result *r, uint64_t now_us)
{
	struct redirect rd = {
		.status = r->status,
		.target = r->redirect_url,
		.method = job->hop.method != NULL ? job->hop.method :
		    job->spec.method,
		.first_origin = job->spec.origin,
		.followed = job->hop.redirects,
		.max = (unsigned)job->spec.opt.max_redirects,	/* <= 100 */
	};
	char why[256] = "its origin does not parse", msg[320];
	struct origin_parts o;

	if (!job->spec.opt.follow_redirects || r->error != RESULT_OK)
		return 0;
	switch (redirect_judge(&rd)) {
	case REDIRECT_NONE:
		return 0;
	case REDIRECT_FAIL:
		result_replace_error(r, rd.error, rd.why);
		return 0;
	case REDIRECT_FOLLOW:
		break;
	}
	if ((uint64_t)job->try_ms >= job->spec.opt.timeout_ms) {
		snprintf(why, sizeof(why), "request timeout (timeout_ms %llu) "
		    "spent over %u redirects", (unsigned long long)
		    job->spec.opt.timeout_ms, job->hop.redirects);
		result_replace_error(r, RESULT_TIMEOUT, why);
	} else if (origin_split(rd.origin, &o) == -1 || !policy_judge(d.policy,
	    section_of(job->batch), o.host, o.port, NULL, 0, 0, why,
	    sizeof(why))) {
		snprintf(msg, sizeof(msg), "blocked by the egress policy: %s",
		    why);
		result_replace_error(r, RESULT_BLOCKED, msg);
	} else {
		log_hop(job, r);
		free(job->hop.url);
		free(job->hop.origin);
		job->hop.url = rd.url;
		job->hop.origin = rd.origin;
		job->hop.method = rd.next_method;
		job->hop.no_body |= rd.drop_body;
		job->hop.cross_origin |= rd.cross_origin;
		job->hop.redirects++;
		sched_requeue(job, host_get(job->hop.origin, now_us), now_us);
		return 1;
	}
	redirect_clear(&rd);
	return 0;
}

/* The attempt (all its hops) is over: retry it or finish the job. */
static void
attempt_over(struct job *job, struct result *r, int64_t pause,
    uint64_t now_us)
{
	struct attempt *at = &job->attempts[job->nattempts - 1];
	uint64_t delay;

	r->total_ms = job->try_ms;
	at->status = r->status;
	at->error = r->error;
	at->total_ms = r->total_ms;
	retry_unhold(job);		/* this attempt was a retry */
	if (!job->batch->run.cancelled &&
	    want_retry(job, r, pause, now_us, &delay)) {
		hop_reset(job);
		job->state = JOB_RETRY_WAIT;
		retry_hold(job);
		job->wake.kind = WAKE_RETRY;
		job->wake.obj = job;
		runq_set(&d.rq, &job->wake, now_us + delay * 1000);
		return;
	}
	job_finish(job, now_us);
}

/*
 * A hop ended: account for it on its host, then follow its redirect, or
 * retry or finish the job.
 */
static void
attempt_end(struct job *job, uint64_t now_us)
{
	struct result *r = job->res;
	struct host *h = job->host;
	int64_t pause;

	sched_done(job, now_us);
	if (job->batch->jar != NULL && r->cookies != NULL)
		cookiejar_merge(job->batch->jar, job->cookies_sent, r->cookies);
	free(job->cookies_sent);
	job->cookies_sent = NULL;
	if (r->error == RESULT_TIMEOUT && (r->connect_timeout ?
	    job->capped_connect : job->capped))
		result_replace_error(r, RESULT_DEADLINE_EXCEEDED,
		    "the batch deadline passed during the attempt");
	host_count(h, r->status, r->error);
	host_observe(h, r->total_ms, r->queue_ms);
	record_breaker(job, r, now_us);
	pause = record_retry_after(job, r, now_us);
	job->try_ms += r->total_ms;
	r->redirects = job->hop.redirects;
	if (job->hop.url != NULL)
		r->final_url = xstrdup(job->hop.url);
	if (!job->batch->run.cancelled && follow(job, r, now_us))
		return;
	attempt_over(job, r, pause, now_us);
}

static void
attempt_done_cb(struct result *res, void *arg)
{
	struct job *job = arg;

	(void)res;
	job->xfer = NULL;
	attempt_end(job, clock_now_us());
	pump();
}

/* Free hosts unused for host_idle_s, then wake at the next due time. */
static void
arm_timer(uint64_t now_us)
{
	uint64_t at = sched_wake_at(), other = runq_next(&d.rq);
	uint64_t expiry = sched_expire_hosts(now_us);
	struct timeval tv;

	if (other < at)
		at = other;
	if (expiry < at)
		at = expiry;
	if (at == UINT64_MAX) {
		evtimer_del(d.timer);
		return;
	}
	at = at > now_us ? at - now_us : 0;
	tv = clock_tv(at);
	evtimer_add(d.timer, &tv);
}

static void
wake(struct runq_entry *e, uint64_t now_us)
{
	struct batch *b;
	char msg[96];

	if (e->kind == WAKE_DEADLINE) {
		b = e->obj;
		snprintf(msg, sizeof(msg), "the batch deadline (deadline_ms "
		    "%llu) passed", (unsigned long long)b->deadline_ms);
		dispatch_cancel(b, RESULT_DEADLINE_EXCEEDED, msg);
		return;
	}
	sched_requeue(e->obj, ((struct job *)e->obj)->home, now_us);
}

/* Start whatever may start; runs until nothing more can, then arms. */
static void
pump(void)
{
	struct runq_entry *e;
	enum sched_verdict v;
	struct job *job;
	uint64_t now;
	char msg[160];

	if (d.pumping) {
		d.repump = 1;
		return;
	}
	d.pumping = 1;
	do {
		d.repump = 0;
		now = clock_now_us();
		while ((e = runq_pop_due(&d.rq, now)) != NULL)
			wake(e, now);
		while ((job = sched_next(now, &v)) != NULL) {
			if (v == SCHED_START) {
				attempt_start(job, now);
				continue;
			}
			snprintf(msg, sizeof(msg), "the circuit for %s is open "
			    "after repeated failures", job->host->key);
			job_fail(job, RESULT_CIRCUIT_OPEN, msg, now);
		}
	} while (d.repump);
	d.pumping = 0;
	arm_timer(now);
}

void
dispatch_host_changed(struct host *h)
{
	sched_host_changed(h);
	pump();
}

void
dispatch_submit(struct batch *b, uint64_t now_us, dispatch_result_cb result,
    dispatch_done_cb done, void *arg)
{
	if (b->magic != BATCH_MAGIC)
		fatalx("dispatch_submit: bad batch magic");
	b->run.accepted_us = now_us;
	b->run.result_cb = result;
	b->run.done_cb = done;
	b->run.done_arg = arg;
	if ((b->run.done_ev = event_new(d.base, -1, 0, done_ev_cb, b)) == NULL)
		fatalx("event_new");
	TAILQ_INSERT_TAIL(&d.all, b, run.entry);
	d.nbatches++;
	caller_attach(b, b->owner.uid, dispatch_caller_limit(b->owner.uid,
	    b->owner.gids, b->owner.ngids, 0));
	if (b->deadline_ms != 0) {
		b->run.deadline_us = now_us + b->deadline_ms * 1000;
		b->run.deadline_wake.kind = WAKE_DEADLINE;
		b->run.deadline_wake.obj = b;
		runq_set(&d.rq, &b->run.deadline_wake, b->run.deadline_us);
	}
	sched_add(b, now_us);
	pump();
}

struct fail_arg {
	enum result_error	 e;
	const char		*msg;
	uint64_t		 now;
};

static void
drop_cb(struct job *job, void *arg)
{
	struct fail_arg *fa = arg;

	job_fail(job, fa->e, fa->msg, fa->now);
}

void
dispatch_cancel(struct batch *b, enum result_error e, const char *msg)
{
	struct fail_arg fa = { e, msg, clock_now_us() };
	struct job *job;
	size_t i;

	if (b->run.cancelled || b->run.done == b->njobs)
		return;
	b->run.cancelled = 1;
	b->run.cancel_code = e;
	runq_del(&d.rq, &b->run.deadline_wake);
	sched_drop(b, drop_cb, &fa);
	for (i = 0; i < b->njobs; i++) {
		job = &b->jobs[i];
		if (job->state == JOB_RETRY_WAIT) {
			runq_del(&d.rq, &job->wake);
			job_fail(job, e, msg, fa.now);
		} else if (job->state == JOB_RUNNING && job->xfer != NULL)
			http_client_abort(job->xfer, e, msg);
	}
}

void
dispatch_pause(struct batch *b, int paused)
{
	if (b->run.paused == paused)
		return;
	b->run.paused = paused;
	if (!paused) {
		sched_batch_changed(b);
		pump();
	}
}

void
dispatch_cancel_all(enum result_error e, const char *msg)
{
	struct batch *b;

	TAILQ_FOREACH(b, &d.all, run.entry)
		dispatch_cancel(b, e, msg);
}

void
dispatch_shutdown(void)
{
	if (d.nbatches != 0)
		log_warnx("dispatch_shutdown: %zu batches still open",
		    d.nbatches);
	if (d.timer != NULL)
		event_free(d.timer);
	runq_free(&d.rq);
	policy_unref(d.policy);
	sched_shutdown();
	caller_shutdown();
	host_shutdown();
	memset(&d, 0, sizeof(d));
}
