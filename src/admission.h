/*
 * admission.h: may a new batch be accepted now? Pure: the caller gathers
 * the figures (dispatch, registry, caller.c) and this decides.
 */
#ifndef FANOUTD_ADMISSION_H
#define FANOUTD_ADMISSION_H

#include <stddef.h>
#include <stdint.h>

/* What is known when a parsed batch asks to be accepted. */
struct admission {
	size_t		 njobs;		/* the batch's requests */
	size_t		 open;		/* requests queued or running */
	uint64_t	 max_queued;	/* max_queued_requests */
	size_t		 user_batches;	/* the caller's open batches */
	uint64_t	 max_user_batches;	/* max_batches_per_uid */
	size_t		 user_unfinished;	/* its requests not ended */
	size_t		 user_cap;	/* its cap on those; 0: none */
	int		 async;		/* the batch is mode async */
	int		 retained_full;	/* max_retained_bytes reached */
	uint64_t	 retained_retry_s;	/* when room is expected */
};

/* Why a batch was refused: the reply's status, error and Retry-After. */
struct admission_refusal {
	int		 status;	/* 413 or 429 */
	const char	*code;		/* payload_too_large, overloaded */
	const char	*path;		/* or NULL */
	uint64_t	 retry_after_s;	/* 0: no Retry-After */
	char		 message[256];
};

/*
 * 0 when the batch may be accepted; -1 with *r filled when it may not,
 * in this order: bigger than the caller's cap could ever take (413), the
 * daemon's max_queued_requests, the caller's open batches, the caller's
 * cap on unfinished requests, and for async batches the room left for
 * retained results (429, so that what was accepted can finish).
 */
int	admission_judge(const struct admission *a,
	    struct admission_refusal *r);

#endif
