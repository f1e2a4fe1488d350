/*
 * dispatch.c: turns accepted batches into running transfers.
 *
 * Batches with work waiting and room under their own `concurrency` sit on a
 * run queue; whenever a daemon-wide slot is free (max_inflight) the batch at
 * the head starts one job and goes to the tail, so batches share the daemon
 * round-robin and a huge batch cannot starve a small one. A finished job is
 * encoded at once (its result struct freed) and the batch is reported done
 * from the event loop, never from inside a call that might still touch it.
 * The scheduler (per-host limits, rates, retries) will slot in where a job
 * is picked and started.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "batch.h"
#include "clock.h"
#include "dispatch.h"
#include "http_client.h"
#include "log.h"
#include "xmalloc.h"

TAILQ_HEAD(batchq, batch);

static struct {
	struct event_base	*base;
	struct batchq		 runq;		/* can start a job */
	struct batchq		 all;
	size_t			 nbatches;
	size_t			 inflight;
	uint64_t		 max_inflight;
	int			 pumping;
	int			 repump;
} d;

static void pump(void);

void
dispatch_init(struct event_base *base, uint64_t max_inflight)
{
	memset(&d, 0, sizeof(d));
	d.base = base;
	d.max_inflight = max_inflight;
	TAILQ_INIT(&d.runq);
	TAILQ_INIT(&d.all);
}

void
dispatch_set_max_inflight(uint64_t max_inflight)
{
	d.max_inflight = max_inflight;
	pump();
}

size_t
dispatch_inflight(void)
{
	return d.inflight;
}

size_t
dispatch_batches(void)
{
	return d.nbatches;
}

static int
runnable(const struct batch *b)
{
	return !b->cancelled && b->next < b->njobs &&
	    b->inflight < b->concurrency;
}

static void
runq_update(struct batch *b)
{
	if (runnable(b) && !b->in_runq) {
		TAILQ_INSERT_TAIL(&d.runq, b, runq_entry);
		b->in_runq = 1;
	} else if (!runnable(b) && b->in_runq) {
		TAILQ_REMOVE(&d.runq, b, runq_entry);
		b->in_runq = 0;
	}
}

/* Deferred completion: the batch leaves dispatch, its owner takes it. */
static void
batch_done_ev(evutil_socket_t fd, short kind, void *arg)
{
	struct batch *b = arg;

	(void)fd;
	(void)kind;
	if (b->magic != BATCH_MAGIC)
		fatalx("batch_done_ev: bad batch magic");
	log_info("batch %s uid %u pid %d: %zu requests, %zu responses, "
	    "%zu errors, %.1f ms%s", b->id, (unsigned)b->uid, (int)b->pid,
	    b->njobs, b->njobs - b->errors, b->errors,
	    (double)(b->finished_us - b->accepted_us) / 1000.0,
	    b->cancelled ? " (cancelled)" : "");
	event_free(b->done_ev);
	b->done_ev = NULL;
	TAILQ_REMOVE(&d.all, b, all_entry);
	d.nbatches--;
	b->done_cb(b, b->done_arg);
}

/* Encode a job's result, free the working struct, count it. */
static void
job_complete(struct job *job)
{
	struct batch *b = job->batch;
	struct result *r = job->res;

	if (r->error != RESULT_OK) {
		b->errors++;
		log_debug("batch %s request %zu %s %s: %s: %s", b->id,
		    job->index, job->method, job->url,
		    result_error_code(r->error), r->error_message);
	}
	job->encoded = result_encode(job, r, &job->encoded_len);
	result_clear(r);
	free(r);
	job->res = NULL;
	if (++b->done == b->njobs) {
		b->finished_us = clock_now_us();
		event_active(b->done_ev, 0, 0);
	}
}

static void
job_done_cb(struct result *res, void *arg)
{
	struct job *job = arg;
	struct batch *b = job->batch;

	(void)res;
	job->xfer = NULL;
	b->inflight--;
	d.inflight--;
	job_complete(job);
	runq_update(b);
	pump();
}

static void
job_start(struct job *job, uint64_t now)
{
	struct batch *b = job->batch;
	struct http_request req = {
		.method = job->method,
		.url = job->url,
		.headers = job->headers,
		.nheaders = job->nheaders,
		.body = job->body,
		.body_len = job->body_len,
		.timeout_ms = job->timeout_ms,
		.connect_timeout_ms = job->connect_timeout_ms,
		.max_response_bytes = job->max_response_bytes,
	};

	job->res = xcalloc(1, sizeof(*job->res));
	result_init(job->res);
	job->res->queue_ms = (double)(now - b->accepted_us) / 1000.0;
	if ((job->xfer = http_client_start(&req, job->res, job_done_cb,
	    job)) == NULL) {
		job_complete(job);
		return;
	}
	b->inflight++;
	d.inflight++;
}

/* Start jobs while there is a free slot, one per batch in turn. */
static void
pump(void)
{
	struct batch *b;
	uint64_t now;

	if (d.pumping) {
		d.repump = 1;
		return;
	}
	d.pumping = 1;
	do {
		d.repump = 0;
		now = clock_now_us();
		while (d.inflight < d.max_inflight &&
		    (b = TAILQ_FIRST(&d.runq)) != NULL) {
			TAILQ_REMOVE(&d.runq, b, runq_entry);
			b->in_runq = 0;
			job_start(&b->jobs[b->next++], now);
			runq_update(b);
		}
	} while (d.repump);
	d.pumping = 0;
}

void
dispatch_submit(struct batch *b, uint64_t now_us, dispatch_done_cb cb,
    void *arg)
{
	if (b->magic != BATCH_MAGIC)
		fatalx("dispatch_submit: bad batch magic");
	b->accepted_us = now_us;
	b->done_cb = cb;
	b->done_arg = arg;
	if ((b->done_ev = event_new(d.base, -1, 0, batch_done_ev, b)) == NULL)
		fatalx("event_new");
	TAILQ_INSERT_TAIL(&d.all, b, all_entry);
	d.nbatches++;
	runq_update(b);
	pump();
}

void
dispatch_cancel(struct batch *b, enum result_error e, const char *msg)
{
	uint64_t now = clock_now_us();
	struct job *job;
	size_t i;

	if (b->cancelled)
		return;
	b->cancelled = 1;
	runq_update(b);
	for (; b->next < b->njobs; b->next++) {
		job = &b->jobs[b->next];
		job->res = xcalloc(1, sizeof(*job->res));
		result_init(job->res);
		job->res->queue_ms = (double)(now - b->accepted_us) / 1000.0;
		result_set_error(job->res, e, "%s", msg);
		job_complete(job);
	}
	for (i = 0; i < b->njobs && b->inflight > 0; i++)
		if (b->jobs[i].xfer != NULL)
			http_client_abort(b->jobs[i].xfer, e, msg);
}

void
dispatch_cancel_all(enum result_error e, const char *msg)
{
	struct batch *b;

	TAILQ_FOREACH(b, &d.all, all_entry)
		dispatch_cancel(b, e, msg);
}

void
dispatch_shutdown(void)
{
	if (d.nbatches != 0)
		log_warnx("dispatch_shutdown: %zu batches still open",
		    d.nbatches);
	memset(&d, 0, sizeof(d));
}
