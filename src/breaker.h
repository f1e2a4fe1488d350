/*
 * breaker.h: a per-host circuit breaker (pure: every call takes `now`).
 */
#ifndef FANOUTD_BREAKER_H
#define FANOUTD_BREAKER_H

#include <stdint.h>

enum breaker_state {
	BREAKER_CLOSED = 0,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN
};

enum breaker_outcome {
	BREAKER_SUCCESS,	/* a response that is not 5xx or 429 */
	BREAKER_FAILURE,	/* a transport error or a 5xx */
	BREAKER_NEUTRAL		/* 429, cancelled, deadline, policy: no say */
};

struct breaker {
	enum breaker_state	state;
	unsigned		failures;	/* consecutive, while closed */
	uint64_t		open_until_us;
	int			probing;	/* half-open probe in flight */
};

/*
 * May a request to this host start now? Returns 1 and sets *probe when it
 * is the single half-open probe; 0 while the circuit is open (or a probe
 * is already out). threshold 0 turns the breaker off.
 */
int	breaker_allow(struct breaker *b, unsigned threshold, uint64_t now_us,
	    int *probe);

/*
 * Record how a request ended. Only the probe's outcome moves a half-open
 * breaker; late results from before it opened do not.
 */
void	breaker_record(struct breaker *b, enum breaker_outcome o, int probe,
	    unsigned threshold, uint64_t open_us, uint64_t now_us);

/* Is the circuit open now (requests to the host fail at once)? */
int	breaker_is_open(const struct breaker *b, uint64_t now_us);

/* "closed", "open" or "half_open". */
const char *breaker_state_name(enum breaker_state s);

/* The state as of now: an open circuit whose time is up is half-open. */
enum breaker_state breaker_state_at(const struct breaker *b, uint64_t now_us);

#endif
