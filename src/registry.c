/*
 * registry.c: the batches the daemon knows, by id.
 *
 * Every accepted batch is registered until its client has what it needs:
 * a wait or stream batch until its reply is written, an async batch for
 * result_ttl_s after it finishes. The registry answers "which batch is
 * this, and may this caller see it" (owner uid or root; anyone else gets
 * the same 404 as for a batch that does not exist), lists them, and keeps
 * the daemon-wide budget of retained result bytes that async batches use.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include "hash.h"

#include "batch.h"
#include "batchview.h"
#include "clock.h"
#include "config.h"
#include "jsonw.h"
#include "log.h"
#include "registry.h"
#include "xmalloc.h"

static struct {
	struct event_base	*base;
	const struct config	*cfg;
	struct batch		*byid;		/* uthash */
	size_t			 retained;	/* bytes, all batches */
} reg;

void
registry_init(struct event_base *base, const struct config *cfg)
{
	memset(&reg, 0, sizeof(reg));
	reg.base = base;
	reg.cfg = cfg;
}

void
registry_set_config(const struct config *cfg)
{
	reg.cfg = cfg;
}

size_t
registry_retained(void)
{
	return reg.retained;
}

size_t
registry_count_uid(uid_t uid)
{
	struct batch *b, *tmp;
	size_t n = 0;

	HASH_ITER(hh, reg.byid, b, tmp)
		if (b->owner.uid == uid)
			n++;
	return n;
}

void
registry_add(struct batch *b)
{
	b->reg.created = clock_wall();
	HASH_ADD_STR(reg.byid, id, b);
}

struct batch *
registry_find(const char *id, uid_t uid)
{
	struct batch *b;

	HASH_FIND_STR(reg.byid, id, b);
	if (b == NULL || (uid != 0 && uid != b->owner.uid))
		return NULL;
	return b;
}

void
registry_retain(struct batch *b, size_t len)
{
	b->reg.retained_bytes += len;
	reg.retained += len;
}

void
registry_remove(struct batch *b)
{
	HASH_DEL(reg.byid, b);
	reg.retained -= b->reg.retained_bytes;
	if (b->reg.expire_ev != NULL)
		event_free(b->reg.expire_ev);
	batch_free(b);
}

static void
expire_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct batch *b = arg;

	(void)fd;
	(void)kind;
	log_debug("batch %s: results expired", b->id);
	registry_remove(b);
}

void
registry_done(struct batch *b)
{
	struct timeval tv = { (time_t)reg.cfg->result_ttl_s, 0 };

	if (b->mode != BATCH_ASYNC)
		return;
	if ((b->reg.expire_ev = evtimer_new(reg.base, expire_cb, b)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(b->reg.expire_ev, &tv);
}

int
registry_admit(uint64_t *retry_after_s)
{
	struct batch *b, *tmp;
	double soonest = 0, at;

	if (reg.retained < reg.cfg->max_retained_bytes)
		return 0;
	/* Room comes when the first finished async batch expires. */
	HASH_ITER(hh, reg.byid, b, tmp)
		if (b->mode == BATCH_ASYNC && b->run.finished > 0) {
			at = b->run.finished + (double)reg.cfg->result_ttl_s;
			if (soonest == 0 || at < soonest)
				soonest = at;
		}
	at = soonest > 0 ? soonest - clock_wall() : 1;
	*retry_after_s = at < 1 ? 1 : (uint64_t)ceil(at);
	return -1;
}


void
registry_list(struct jsonw *w, uid_t uid)
{
	struct batch *b, *tmp;
	size_t n = 0;

	jsonw_lit(w, "{\"batches\":[");
	HASH_ITER(hh, reg.byid, b, tmp) {
		if (uid != 0 && uid != b->owner.uid)
			continue;
		if (n++ > 0)
			jsonw_raw(w, ",", 1);
		batchview_list_entry(w, b);
	}
	jsonw_lit(w, "]}");
}

void
registry_shutdown(void)
{
	struct batch *b, *tmp;

	HASH_ITER(hh, reg.byid, b, tmp)
		registry_remove(b);
	memset(&reg, 0, sizeof(reg));
}
