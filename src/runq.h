/*
 * runq.h: things that wake at a time, earliest first (a binary min-heap).
 */
#ifndef FANOUTD_RUNQ_H
#define FANOUTD_RUNQ_H

#include <stddef.h>
#include <stdint.h>

/* Embed one in whatever must wake; `at` and `index` belong to the runq. */
struct runq_entry {
	uint64_t	at;		/* monotonic microseconds */
	size_t		index;		/* heap position + 1; 0: not queued */
	int		kind;		/* the owner's tag */
	void		*obj;		/* the owner (borrowed) */
};

struct runq {
	struct runq_entry	**heap;
	size_t			  n, cap;
};

/* Queue e to wake at `at`, or move it there if already queued. */
void	runq_set(struct runq *rq, struct runq_entry *e, uint64_t at);

/* Unqueue e; a no-op when it is not queued. */
void	runq_del(struct runq *rq, struct runq_entry *e);

/* The earliest wake time, UINT64_MAX when empty. */
uint64_t runq_next(const struct runq *rq);

/* Remove and return an entry due at or before now, or NULL. */
struct runq_entry *runq_pop_due(struct runq *rq, uint64_t now);

/* Is e queued? */
int	runq_queued(const struct runq_entry *e);

/* Free the heap array (entries are the owners'). */
void	runq_free(struct runq *rq);

#endif
