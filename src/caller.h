/*
 * caller.h: per-user run-time state: attempts in flight and open batches.
 */
#ifndef FANOUTD_CALLER_H
#define FANOUTD_CALLER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "hash.h"

struct batch;

struct caller {
	uint32_t	 uid;
	size_t		 inflight;	/* its attempts running */
	size_t		 max_inflight;	/* 0: no cap of its own */
	size_t		 nbatches;
	TAILQ_HEAD(, batch) batches;	/* in dispatch, oldest first */
	UT_hash_handle	 hh;
};

/*
 * Attach b to the caller of uid (made on first use) and set that caller's
 * in-flight cap (0: none) from the configuration of now.
 */
void	caller_attach(struct batch *b, uint32_t uid, size_t max_inflight);

/* b leaves dispatch; a caller with nothing left is freed. */
void	caller_detach(struct batch *b);

/* Requests of uid's batches in dispatch that have no result yet. */
size_t	caller_unfinished(uint32_t uid);

/* May c start another attempt? (pure) */
int	caller_may_start(const struct caller *c);

/* Free every caller (shutdown). */
void	caller_shutdown(void);

#endif
