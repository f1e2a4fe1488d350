/*
 * ratelimit.h: a token bucket, pure: every call takes `now`.
 */
#ifndef FANOUTD_RATELIMIT_H
#define FANOUTD_RATELIMIT_H

#include <stdint.h>

/*
 * Rates a bucket may have, per second: below the minimum a wait would
 * pass any timer's range (5e-14/s once switched a batch's limit off), so
 * parsers refuse it; waits are cut to RATELIMIT_MAX_WAIT_US besides.
 */
#define RATELIMIT_MIN_RATE	0.001
#define RATELIMIT_MAX_RATE	1e6
#define RATELIMIT_MAX_WAIT_US	(1000000ull * 86400 * 365)

struct ratelimit {
	double		rate;		/* tokens per second; 0: unlimited */
	double		burst;		/* bucket size, at least 1 */
	double		tokens;
	uint64_t	last_us;	/* when tokens was brought up to date */
};

/* A full bucket of `burst` tokens refilling at `rate` per second. */
void	ratelimit_init(struct ratelimit *rl, double rate, double burst,
	    uint64_t now_us);

/* Change rate and burst, keeping the tokens earned so far (capped). */
void	ratelimit_set(struct ratelimit *rl, double rate, double burst,
	    uint64_t now_us);

/*
 * Microseconds until a token is available: 0 when one is there now, at
 * most RATELIMIT_MAX_WAIT_US.
 */
uint64_t ratelimit_wait_us(struct ratelimit *rl, uint64_t now_us);

/* Take one token; returns -1 (taking nothing) when none is available. */
int	ratelimit_take(struct ratelimit *rl, uint64_t now_us);

/* Tokens available now (for display). */
double	ratelimit_tokens(struct ratelimit *rl, uint64_t now_us);

/*
 * Parse "20/s", "0.5/s", "100/m", "10/h" (also "20" as per second) into
 * tokens per second, RATELIMIT_MIN_RATE to RATELIMIT_MAX_RATE. Returns -1
 * with a static reason in *why.
 */
int	ratelimit_parse(const char *s, double *per_second, const char **why);

#endif
