/*
 * caller.c: what each local user (uid) has in the daemon right now.
 *
 * The scheduler shares slots fairly between batches, but one user with
 * many batches would still get most of them. A caller groups the batches
 * of one uid so that max_inflight_per_uid (or a [user]/[group] section's
 * max_inflight) caps that user's attempts in flight, and admission can
 * count its unfinished requests against max_queued_per_uid. A caller
 * exists while it has batches in dispatch.
 */
#include <stdlib.h>

#include "batch.h"
#include "caller.h"
#include "xmalloc.h"

static struct caller *callers;	/* by uid */

static struct caller *
find(uint32_t uid)
{
	struct caller *c;

	HASH_FIND(hh, callers, &uid, sizeof(uid), c);
	return c;
}

void
caller_attach(struct batch *b, uint32_t uid, size_t max_inflight)
{
	struct caller *c = find(uid);

	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->uid = uid;
		TAILQ_INIT(&c->batches);
		HASH_ADD(hh, callers, uid, sizeof(c->uid), c);
	}
	c->max_inflight = max_inflight;
	TAILQ_INSERT_TAIL(&c->batches, b, link.entry);
	c->nbatches++;
	b->link.caller = c;
}

void
caller_detach(struct batch *b)
{
	struct caller *c = b->link.caller;

	if (c == NULL)
		return;
	TAILQ_REMOVE(&c->batches, b, link.entry);
	b->link.caller = NULL;
	if (--c->nbatches == 0 && c->inflight == 0) {
		HASH_DEL(callers, c);
		free(c);
	}
}

size_t
caller_unfinished(uint32_t uid)
{
	struct caller *c = find(uid);
	struct batch *b;
	size_t n = 0;

	if (c != NULL)
		TAILQ_FOREACH(b, &c->batches, link.entry)
			n += b->njobs - b->run.done;
	return n;
}

int
caller_may_start(const struct caller *c)
{
	return c->max_inflight == 0 || c->inflight < c->max_inflight;
}

void
caller_shutdown(void)
{
	struct caller *c, *tmp;

	HASH_ITER(hh, callers, c, tmp) {
		HASH_DEL(callers, c);
		free(c);
	}
}
