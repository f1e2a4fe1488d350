/*
 * dispatch.h: running batches: attempts, retries, deadlines and results,
 * on the event loop, with sched.c deciding what starts when.
 */
#ifndef FANOUTD_DISPATCH_H
#define FANOUTD_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

struct batch;
struct config;
struct host;
struct event_base;

typedef void (*dispatch_done_cb)(struct batch *b, void *arg);
typedef void (*dispatch_result_cb)(struct batch *b, struct job *job,
    void *arg);

/* Set up on base with cfg (borrowed; see dispatch_set_config()). */
void	dispatch_init(struct event_base *base, const struct config *cfg);

/* Use a new configuration (limits apply to what starts from now on). */
void	dispatch_set_config(const struct config *cfg);

/*
 * Run batch b (steals it until done is called). now_us is when the batch
 * was accepted (monotonic). result(b, job, arg), unless NULL, runs as each
 * job's result is encoded (job->encoded is then the callee's to keep or
 * take). done(b, arg) runs from the event loop, never from inside this
 * call, once every job has a result; the callee then owns b.
 */
void	dispatch_submit(struct batch *b, uint64_t now_us,
	    dispatch_result_cb result, dispatch_done_cb done, void *arg);

/*
 * End every unfinished job of b now with error e and message msg: queued
 * and retry-waiting jobs are not started, running transfers are aborted.
 * Completion is reported through the batch's callback as usual. Idempotent.
 */
void	dispatch_cancel(struct batch *b, enum result_error e, const char *msg);

/*
 * Stop starting b's jobs (its reader has fallen behind), or start them
 * again. Jobs already running go on.
 */
void	dispatch_pause(struct batch *b, int paused);

/* dispatch_cancel() on every running batch (shutdown). */
void	dispatch_cancel_all(enum result_error e, const char *msg);

/* Call cb whenever the last open batch has been reported done. */
void	dispatch_set_idle_cb(void (*cb)(void));

/* Batches ended so far, by mode and whether they were cancelled. */
struct dispatch_counts {
	uint64_t	batches[3][2];	/* [mode][cancelled] */
};
const struct dispatch_counts *dispatch_counts(void);

/* Attempts in flight, jobs queued, and batches not yet reported done. */
size_t	dispatch_inflight(void);
size_t	dispatch_queued(void);
size_t	dispatch_batches(void);

/*
 * A user's own cap from the configuration of now: its [user] or [group]
 * section's max_queued (queued) or max_inflight, else max_queued_per_uid
 * or max_inflight_per_uid. 0: no cap of its own.
 */
size_t	dispatch_caller_limit(uint32_t uid, const uint32_t *gids, size_t ngids,
	    int queued);

/* Forget everything (batches must be done); the base is still the caller's. */
/* h's limits or tokens changed: start what now may. */
void	dispatch_host_changed(struct host *h);

void	dispatch_shutdown(void);

#endif
