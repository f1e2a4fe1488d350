/*
 * sched.c: the scheduler's decisions, pure: every call takes `now`.
 *
 * Each host (origin) has a ring of per-batch queues (struct bhq) with work
 * for it; hosts that may be able to start something are on a ready list.
 * sched_next() takes the host at the head of that list and checks, in
 * order, its circuit, its Retry-After pause, its in-flight limit and its
 * token bucket; then it walks the host's ring for the first batch under its
 * own concurrency and rate, starts that batch's oldest job and moves both
 * the batch (in the host's ring) and the host (in the ready list) to the
 * back. So:
 * - a host without a slot or token is simply not on the ready list: it
 *   never holds back other hosts (no head-of-line blocking);
 * - batches sharing a saturated host take turns (round-robin);
 * - a host waiting for time sits in a runq with its wake time, a host
 *   waiting for a slot is put back when one frees: nothing polls;
 * - choosing one job is O(1) plus the batches skipped on that host.
 * The event-loop glue (dispatch.c) runs the attempts and arms one timer at
 * sched_wake_at().
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "hash.h"

#include "batch.h"
#include "caller.h"
#include "config.h"
#include "fleet.h"
#include "host.h"
#include "log.h"
#include "runq.h"
#include "sched.h"
#include "xmalloc.h"

enum wake_kind { WAKE_HOST = 1, WAKE_BATCH };

/* The jobs of one batch queued for one host. */
struct bhq {
	struct batch	*b;
	struct host	*h;
	struct job	*head, *tail;
	size_t		 n;
	int		 in_ring;
	TAILQ_ENTRY(bhq) ring_entry;
	UT_hash_handle	 hh;		/* in b->sched.bhqs, keyed by host */
};

static void unstall(struct batch *);
static int fleet_held_back(struct host *, uint64_t);
static int slots_held_back(struct host *, uint64_t);

static struct {
	const struct config	*cfg;
	TAILQ_HEAD(, host)	 ready;
	struct runq		 rq;
	size_t			 inflight;
	size_t			 queued;
	struct sched_fleet	 fleet;
} s;

void
sched_init(const struct config *cfg)
{
	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	TAILQ_INIT(&s.ready);
}

void
sched_set_config(const struct config *cfg)
{
	s.cfg = cfg;
}

size_t
sched_inflight(void)
{
	return s.inflight;
}

size_t
sched_queued(void)
{
	return s.queued;
}

uint64_t
sched_wake_at(void)
{
	return runq_next(&s.rq);
}

static void
ready_add(struct host *h)
{
	h->sched.stalled = 0;
	if (!h->sched.ready) {
		TAILQ_INSERT_TAIL(&s.ready, h, sched.ready_entry);
		h->sched.ready = 1;
	}
}

static void
ready_remove(struct host *h)
{
	if (h->sched.ready) {
		TAILQ_REMOVE(&s.ready, h, sched.ready_entry);
		h->sched.ready = 0;
	}
}

static void
ring_add(struct bhq *q)
{
	if (!q->in_ring) {
		TAILQ_INSERT_TAIL(&q->h->sched.ring, q, ring_entry);
		q->in_ring = 1;
	}
}

static void
ring_remove(struct bhq *q)
{
	if (q->in_ring) {
		TAILQ_REMOVE(&q->h->sched.ring, q, ring_entry);
		q->in_ring = 0;
	}
}

static void
push(struct bhq *q, struct job *job)
{
	job->sched.next = NULL;
	job->sched.bhq = q;
	job->state = JOB_QUEUED;
	if (q->tail != NULL)
		q->tail->sched.next = job;
	else
		q->head = job;
	q->tail = job;
	q->n++;
	q->h->sched.queued++;
	s.queued++;
	ring_add(q);
}

static struct job *
pop(struct bhq *q)
{
	struct job *job = q->head;

	if ((q->head = job->sched.next) == NULL)
		q->tail = NULL;
	job->sched.next = NULL;
	q->n--;
	q->h->sched.queued--;
	s.queued--;
	if (q->n == 0)
		ring_remove(q);
	return job;
}

static struct bhq *
bhq_get(struct batch *b, struct host *h)
{
	struct bhq *q;

	if (h->sched.wake.obj == NULL) {	/* a new host: zeroed */
		TAILQ_INIT(&h->sched.ring);
		h->sched.wake.kind = WAKE_HOST;
		h->sched.wake.obj = h;
	}
	HASH_FIND_PTR(b->sched.bhqs, &h, q);
	if (q == NULL) {
		q = xcalloc(1, sizeof(*q));
		q->b = b;
		q->h = h;
		HASH_ADD_PTR(b->sched.bhqs, h, q);
		host_hold(h);
	}
	return q;
}

void
sched_add(struct batch *b, uint64_t now_us)
{
	struct job *job;
	struct bhq *q, *tmp;
	size_t i;

	if (b->rate > 0)
		ratelimit_init(&b->sched.ratelimit, b->rate, b->burst, now_us);
	b->sched.rate_wake.kind = WAKE_BATCH;
	b->sched.rate_wake.obj = b;
	for (i = 0; i < b->njobs; i++) {
		job = &b->jobs[i];
		job->host = job->home = host_get(job->spec.origin, now_us);
		push(bhq_get(b, job->host), job);
	}
	HASH_ITER(hh, b->sched.bhqs, q, tmp)
		ready_add(q->h);
}

void
sched_requeue(struct job *job, struct host *h, uint64_t now_us)
{
	(void)now_us;
	job->host = h;
	push(bhq_get(job->batch, h), job);
	ready_add(h);
}

void
sched_batch_changed(struct batch *b)
{
	unstall(b);
}

/* Hosts held back only by b's limits may go again. */
static void
unstall(struct batch *b)
{
	struct bhq *q, *tmp;

	HASH_ITER(hh, b->sched.bhqs, q, tmp)
		if (q->h->sched.stalled && q->n > 0)
			ready_add(q->h);
}

/* May batch b start a job now? *wait_us: when its next token is due. */
static int
may_start(struct batch *b, uint64_t now_us, uint64_t *wait_us)
{
	*wait_us = 0;
	if (b->sched.inflight >= b->concurrency || b->run.paused ||
	    (b->link.caller != NULL && !caller_may_start(b->link.caller)))
		return 0;
	if (b->rate > 0 &&
	    (*wait_us = ratelimit_wait_us(&b->sched.ratelimit, now_us)) > 0)
		return 0;
	return 1;
}

/* The first batch in h's ring that may start; others rotate back. */
static struct bhq *
pick(struct host *h, uint64_t now_us)
{
	struct bhq *q, *last = TAILQ_LAST(&h->sched.ring, bhqring);
	uint64_t wait;

	while ((q = TAILQ_FIRST(&h->sched.ring)) != NULL) {
		if (may_start(q->b, now_us, &wait))
			return q;
		if (wait > 0 && (!runq_queued(&q->b->sched.rate_wake) ||
		    q->b->sched.rate_wake.at > now_us + wait))
			runq_set(&s.rq, &q->b->sched.rate_wake, now_us + wait);
		TAILQ_REMOVE(&h->sched.ring, q, ring_entry);
		TAILQ_INSERT_TAIL(&h->sched.ring, q, ring_entry);
		if (q == last)
			break;
	}
	return NULL;
}

/* Start job from q on h: take slots and tokens, rotate for fairness. */
static struct job *
take(struct host *h, struct bhq *q, int probe, uint64_t now_us)
{
	struct job *job;

	if (h->has_rate)
		(void)ratelimit_take(&h->rate, now_us);
	if (fleet_on(&h->fleet))
		fleet_take(&h->fleet, fleet_view()->degraded, now_us);
	if (q->b->rate > 0)
		(void)ratelimit_take(&q->b->sched.ratelimit, now_us);
	job = pop(q);
	if (q->in_ring) {	/* the batch goes to the back of the ring */
		ring_remove(q);
		ring_add(q);
	}
	job->probe = probe;
	job->state = JOB_RUNNING;
	h->sched.inflight++;
	q->b->sched.inflight++;
	if (q->b->link.caller != NULL)
		q->b->link.caller->inflight++;
	s.inflight++;
	ready_add(h);		/* and the host to the back of the list */
	return job;
}

/* Is h held back by its own state? Arms its wake-up when time will tell. */
static int
held_back(struct host *h, uint64_t now_us)
{
	uint64_t wait;

	if (h->sched.paused_until > now_us) {
		runq_set(&s.rq, &h->sched.wake, h->sched.paused_until);
		return 1;
	}
	if (h->sched.inflight >= h->inflight_limit)
		return 1;	/* sched_done() puts it back */
	if (h->has_rate && (wait = ratelimit_wait_us(&h->rate, now_us)) > 0) {
		host_count_rate_wait(h);
		runq_set(&s.rq, &h->sched.wake, now_us + wait);
		return 1;
	}
	if ((h->fleet.slots.limit > 0 || h->fleet.slots.n > 0) &&
	    slots_held_back(h, now_us))
		return 1;
	return fleet_on(&h->fleet) && fleet_held_back(h, now_us);
}

/* Is h waiting for a fleet in-flight slot? Asks for some if it needs. */
static int
slots_held_back(struct host *h, uint64_t now_us)
{
	const struct fleet_view *fv = fleet_view();
	struct fleet_slots *fs = &h->fleet.slots;
	uint32_t want;

	if (fs->limit == 0)	/* reloaded away: the rest goes back */
		return 0;
	if (fleet_slots_ready(fs, h->sched.inflight, fv->degraded, fv->peers))
		return 0;
	if (fv->degraded)
		return 1;	/* sched_done() puts it back */
	want = fleet_slots_want(fs, h->sched.inflight, h->sched.queued,
	    now_us);
	if (want > 0 && s.fleet.acquire != NULL)
		s.fleet.acquire(h, want, now_us);	/* its reply: back */
	else if (!fs->asking && fs->ask_after > now_us)
		runq_set(&s.rq, &h->sched.wake, fs->ask_after);
	return 1;
}

/* Is h waiting for a fleet token? Asks for a lease when it needs one. */
static int
fleet_held_back(struct host *h, uint64_t now_us)
{
	const struct fleet_view *fv = fleet_view();
	uint64_t wait;

	if (fleet_ready(&h->fleet, fv->degraded, fv->peers, now_us, &wait))
		return 0;
	if (wait == 0 && fleet_wants(&h->fleet, now_us) &&
	    s.fleet.lease != NULL)
		s.fleet.lease(h, now_us);	/* its reply puts h back */
	if (wait == 0 && !h->fleet.asking && h->fleet.ask_after > now_us)
		wait = h->fleet.ask_after - now_us;	/* the call failed */
	if (wait > 0) {
		host_count_rate_wait(h);
		runq_set(&s.rq, &h->sched.wake, now_us + wait);
	}
	return 1;
}

struct job *
sched_next(uint64_t now_us, enum sched_verdict *v)
{
	struct runq_entry *e;
	struct host *h;
	struct bhq *q;
	int probe;

	while ((e = runq_pop_due(&s.rq, now_us)) != NULL) {
		if (e->kind == WAKE_HOST)
			ready_add(e->obj);
		else
			unstall(e->obj);
	}
	while ((h = TAILQ_FIRST(&s.ready)) != NULL) {
		if (s.inflight >= s.cfg->max_inflight &&
		    !breaker_is_open(&h->dispatch.breaker, now_us))
			break;	/* failing open circuits needs no slot */
		ready_remove(h);
		if ((q = TAILQ_FIRST(&h->sched.ring)) == NULL)
			continue;
		if (breaker_is_open(&h->dispatch.breaker, now_us)) {
			ready_add(h);	/* drain the rest next */
			*v = SCHED_CIRCUIT_OPEN;
			return pop(q);
		}
		if (held_back(h, now_us))
			continue;
		if ((q = pick(h, now_us)) == NULL) {
			h->sched.stalled = 1;	/* unstall() puts it back */
			continue;
		}
		if (!breaker_allow(&h->dispatch.breaker,
		    (unsigned)s.cfg->breaker_failures, now_us, &probe))
			continue;	/* the probe's end puts it back */
		*v = SCHED_START;
		return take(h, q, probe, now_us);
	}
	return NULL;
}

void
sched_done(struct job *job, uint64_t now_us)
{
	struct host *h = job->host;
	struct batch *b = job->batch, *cb;
	struct caller *c = b->link.caller;
	int was_full = b->sched.inflight >= b->concurrency;
	int caller_full = c != NULL && !caller_may_start(c);
	uint32_t excess;

	h->sched.inflight--;
	b->sched.inflight--;
	s.inflight--;
	if (c != NULL)
		c->inflight--;
	if (h->fleet.slots.n > 0 && !fleet_view()->degraded &&
	    s.fleet.release != NULL && (excess = fleet_slots_excess(
	    &h->fleet.slots, h->sched.inflight, h->sched.queued,
	    fleet_view()->peers, now_us)) > 0)
		s.fleet.release(h, excess, now_us);
	if (!TAILQ_EMPTY(&h->sched.ring))
		ready_add(h);
	if (caller_full)	/* each of its batches may go again */
		TAILQ_FOREACH(cb, &c->batches, link.entry)
			unstall(cb);
	else if (was_full)
		unstall(b);
}

void
sched_pause_host(struct host *h, uint64_t until_us)
{
	if (until_us > h->sched.paused_until)
		h->sched.paused_until = until_us;
}

void
sched_set_fleet(const struct sched_fleet *f)
{
	s.fleet = *f;
}

void
sched_host_changed(struct host *h)
{
	if (!TAILQ_EMPTY(&h->sched.ring))
		ready_add(h);
}

void
sched_drop(struct batch *b, void (*fn)(struct job *, void *), void *arg)
{
	struct bhq *q, *tmp;

	HASH_ITER(hh, b->sched.bhqs, q, tmp)
		while (q->n > 0)
			fn(pop(q), arg);
}

void
sched_forget(struct batch *b, uint64_t now_us)
{
	struct bhq *q, *tmp;

	runq_del(&s.rq, &b->sched.rate_wake);
	HASH_ITER(hh, b->sched.bhqs, q, tmp) {
		if (q->n != 0)
			fatalx("sched_forget: batch %s still has queued jobs",
			    b->id);
		ring_remove(q);
		HASH_DEL(b->sched.bhqs, q);
		host_release(q->h, now_us);
		free(q);
	}
}

/* host_expire() is about to free h: nothing here may point at it. */
static void
unlink_host(struct host *h)
{
	ready_remove(h);
	runq_del(&s.rq, &h->sched.wake);
}

uint64_t
sched_expire_hosts(uint64_t now_us)
{
	return host_expire(now_us, unlink_host);
}

void
sched_shutdown(void)
{
	runq_free(&s.rq);
	memset(&s, 0, sizeof(s));
}
