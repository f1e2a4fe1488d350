/*
 * fleet_slots.c: fleet_inflight's arithmetic: which slots a daemon holds,
 * when it asks for more, when it gives them back. No I/O; every call
 * takes `now` (fleet_link.c talks to Redis).
 */
#include <stdlib.h>
#include <string.h>

#include "fleet_slots.h"
#include "xmalloc.h"

void
fleet_slots_setup(struct fleet_slots *s, uint32_t limit)
{
	s->limit = limit > FLEET_INFLIGHT_MAX ? FLEET_INFLIGHT_MAX : limit;
	if (s->poll_us == 0)
		s->poll_us = FLEET_SLOT_POLL_MIN_US;
}

void
fleet_slots_free(struct fleet_slots *s)
{
	free(s->id);
	s->id = NULL;
	s->n = s->cap = 0;
}

uint32_t
fleet_slots_share(uint32_t limit, unsigned peers)
{
	uint32_t share = limit / (peers > 0 ? peers : 1);

	return share > 0 ? share : 1;
}

int
fleet_slots_ready(const struct fleet_slots *s, uint64_t inflight,
    int degraded, unsigned peers)
{
	uint32_t have;

	if (degraded)
		return inflight < fleet_slots_share(s->limit, peers);
	have = s->n < s->limit ? s->n : s->limit;
	return inflight < have;
}

uint32_t
fleet_slots_want(const struct fleet_slots *s, uint64_t inflight,
    uint64_t queued, uint64_t now_us)
{
	uint64_t room;

	if (s->asking || s->ask_after > now_us || queued == 0 ||
	    inflight < s->n || s->n >= s->limit)
		return 0;
	room = s->limit - s->n;
	return (uint32_t)(queued < room ? queued : room);
}

void
fleet_slots_granted(struct fleet_slots *s, uint64_t first, uint32_t k,
    uint32_t want, uint32_t waiting, uint64_t rnd, uint64_t now_us)
{
	uint32_t i;

	s->asking = 0;
	s->waiting = waiting;
	s->heard_at = now_us;
	if (k > want)	/* never more than asked for */
		k = want;
	if (s->n + k > s->cap) {
		s->cap = s->n + k > 2 * s->cap ? s->n + k : 2 * s->cap;
		s->id = xreallocarray(s->id, s->cap, sizeof(*s->id));
	}
	for (i = 0; i < k; i++)
		s->id[s->n++] = first + i;
	s->acquired += k;
	if (k < want) {
		s->ask_after = now_us + s->poll_us / 2 + rnd % s->poll_us;
		s->poll_us *= 2;
		if (s->poll_us > FLEET_SLOT_POLL_MAX_US)
			s->poll_us = FLEET_SLOT_POLL_MAX_US;
	} else {
		s->ask_after = 0;
		s->poll_us = FLEET_SLOT_POLL_MIN_US;
	}
}

void
fleet_slots_failed(struct fleet_slots *s, uint64_t retry_us,
    uint64_t now_us)
{
	s->asking = 0;
	s->ask_after = now_us + retry_us;
}

uint32_t
fleet_slots_excess(const struct fleet_slots *s, uint64_t inflight,
    uint64_t queued, unsigned peers, uint64_t now_us)
{
	uint32_t idle, keep;

	if (s->n == 0)
		return 0;
	if (s->limit == 0)
		return s->n;	/* fleet_inflight is gone: all of them */
	idle = inflight < s->n ? s->n - (uint32_t)inflight : 0;
	if (idle == 0)
		return 0;
	if (queued == 0)
		return idle;
	if (s->n > s->limit)
		return idle < s->n - s->limit ? idle : s->n - s->limit;
	keep = s->limit / (peers > 0 ? peers : 1);
	if (s->n <= keep)
		return 0;
	if (s->waiting == 0 && s->heard_at != 0 &&
	    now_us < s->heard_at + FLEET_SLOT_CHECK_US)
		return 0;	/* nobody else wants them, lately */
	return idle < s->n - keep ? idle : s->n - keep;
}

uint32_t
fleet_slots_pop(struct fleet_slots *s, uint32_t n, uint64_t *out)
{
	uint32_t i;

	if (n > s->n)
		n = s->n;
	for (i = 0; i < n; i++)
		out[i] = s->id[--s->n];
	s->released += n;
	return n;
}

int
fleet_slots_renew_due(const struct fleet_slots *s, uint64_t lease_us,
    uint64_t now_us)
{
	return s->n > 0 && !s->renewing &&
	    now_us >= s->renewed_at + lease_us / 3;
}

static int
cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
fleet_slots_renewed(struct fleet_slots *s, const uint64_t *sent,
    uint32_t nsent, uint32_t kept, uint32_t waiting, uint64_t now_us)
{
	uint64_t *gone;
	uint32_t i, j, ngone;

	s->renewing = 0;
	s->renewed_at = now_us;
	s->waiting = waiting;
	s->heard_at = now_us;
	if (kept >= nsent)
		return;
	/* The ones Redis no longer has leave the held set, found by value
	 * (some may have been given back meanwhile): sorted, searched. */
	ngone = nsent - kept;
	gone = xmemdup(sent + kept, ngone * sizeof(*gone));
	qsort(gone, ngone, sizeof(*gone), cmp_id);
	for (i = j = 0; i < s->n; i++)
		if (bsearch(&s->id[i], gone, ngone, sizeof(*gone),
		    cmp_id) == NULL)
			s->id[j++] = s->id[i];
	s->lost += s->n - j;
	s->n = j;
	free(gone);
}
