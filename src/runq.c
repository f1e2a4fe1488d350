/*
 * runq.c: a queue of timed wake-ups.
 *
 * Hosts waiting for a token or a Retry-After pause, batches waiting for a
 * token or their deadline, requests waiting to retry: all are entries in a
 * runq, and the event loop keeps a single timer armed for the earliest one
 * (OpenSMTPD's runq.c). A binary heap gives O(log n) add, move and remove.
 */
#include <stdlib.h>

#include "log.h"
#include "runq.h"
#include "xmalloc.h"

static void
place(struct runq *rq, size_t i, struct runq_entry *e)
{
	rq->heap[i] = e;
	e->index = i + 1;
}

static void
sift_up(struct runq *rq, size_t i)
{
	struct runq_entry *e = rq->heap[i];
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (rq->heap[parent]->at <= e->at)
			break;
		place(rq, i, rq->heap[parent]);
		i = parent;
	}
	place(rq, i, e);
}

static void
sift_down(struct runq *rq, size_t i)
{
	struct runq_entry *e = rq->heap[i];
	size_t child;

	for (;;) {
		child = 2 * i + 1;
		if (child >= rq->n)
			break;
		if (child + 1 < rq->n &&
		    rq->heap[child + 1]->at < rq->heap[child]->at)
			child++;
		if (e->at <= rq->heap[child]->at)
			break;
		place(rq, i, rq->heap[child]);
		i = child;
	}
	place(rq, i, e);
}

void
runq_set(struct runq *rq, struct runq_entry *e, uint64_t at)
{
	if (e->index != 0) {
		e->at = at;
		sift_up(rq, e->index - 1);
		sift_down(rq, e->index - 1);
		return;
	}
	if (rq->n == rq->cap) {
		rq->cap = rq->cap ? rq->cap * 2 : 64;
		rq->heap = xreallocarray(rq->heap, rq->cap, sizeof(*rq->heap));
	}
	e->at = at;
	place(rq, rq->n++, e);
	sift_up(rq, rq->n - 1);
}

void
runq_del(struct runq *rq, struct runq_entry *e)
{
	struct runq_entry *moved;
	size_t i;

	if (e->index == 0)
		return;
	i = e->index - 1;
	if (i >= rq->n || rq->heap[i] != e)
		fatalx("runq_del: entry not in this queue");
	e->index = 0;
	if (i == --rq->n)
		return;
	moved = rq->heap[rq->n];
	place(rq, i, moved);
	sift_up(rq, i);
	sift_down(rq, moved->index - 1);
}

uint64_t
runq_next(const struct runq *rq)
{
	return rq->n ? rq->heap[0]->at : UINT64_MAX;
}

struct runq_entry *
runq_pop_due(struct runq *rq, uint64_t now)
{
	struct runq_entry *e;

	if (rq->n == 0 || rq->heap[0]->at > now)
		return NULL;
	e = rq->heap[0];
	runq_del(rq, e);
	return e;
}

int
runq_queued(const struct runq_entry *e)
{
	return e->index != 0;
}

void
runq_free(struct runq *rq)
{
	free(rq->heap);
	rq->heap = NULL;
	rq->n = rq->cap = 0;
}
