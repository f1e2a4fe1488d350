/*
 * dispatch.h: running batches: start their jobs within the concurrency
 * limits, collect results, and report each batch once it is complete.
 */
#ifndef FANOUTD_DISPATCH_H
#define FANOUTD_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

struct batch;
struct event_base;

typedef void (*dispatch_done_cb)(struct batch *b, void *arg);

/* Set up on base with the daemon-wide in-flight limit. */
void	dispatch_init(struct event_base *base, uint64_t max_inflight);

/* Change the daemon-wide in-flight limit (applies to new starts). */
void	dispatch_set_max_inflight(uint64_t max_inflight);

/*
 * Run batch b (steals it until cb is called). now_us is when the batch was
 * accepted (monotonic). cb(b, arg) runs from the event loop, never from
 * inside this call, once every job has a result; the callee then owns b
 * and frees it with batch_free().
 */
void	dispatch_submit(struct batch *b, uint64_t now_us, dispatch_done_cb cb,
	    void *arg);

/*
 * End every unfinished job of b now with error e and message msg: queued
 * jobs are not started, running transfers are aborted. Completion is
 * reported through the batch's callback as usual. Idempotent.
 */
void	dispatch_cancel(struct batch *b, enum result_error e, const char *msg);

/* dispatch_cancel() on every running batch (shutdown). */
void	dispatch_cancel_all(enum result_error e, const char *msg);

/* Transfers in flight, and batches not yet reported done. */
size_t	dispatch_inflight(void);
size_t	dispatch_batches(void);

/* Forget everything (batches must be done); the base is still the caller's. */
void	dispatch_shutdown(void);

#endif
