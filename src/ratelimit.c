/*
 * ratelimit.c: token buckets for host and batch rates.
 *
 * A bucket holds up to `burst` tokens and gains `rate` per second; a
 * request may start only with a token in hand. The bucket does not tick:
 * it is brought up to date from the elapsed time whenever it is asked, and
 * it can say exactly when the next token is due, so the scheduler sleeps on
 * a timer instead of polling (curl's lib/ratelimit.c works the same way).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

static void
refill(struct ratelimit *rl, uint64_t now_us)
{
	if (now_us > rl->last_us) {
		rl->tokens += (double)(now_us - rl->last_us) * rl->rate / 1e6;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
	}
	rl->last_us = now_us;
}

void
ratelimit_init(struct ratelimit *rl, double rate, double burst,
    uint64_t now_us)
{
	rl->rate = rate;
	rl->burst = burst < 1 ? 1 : burst;
	rl->tokens = rl->burst;
	rl->last_us = now_us;
}

void
ratelimit_set(struct ratelimit *rl, double rate, double burst,
    uint64_t now_us)
{
	refill(rl, now_us);
	rl->rate = rate;
	rl->burst = burst < 1 ? 1 : burst;
	if (rl->tokens > rl->burst)
		rl->tokens = rl->burst;
}

uint64_t
ratelimit_wait_us(struct ratelimit *rl, uint64_t now_us)
{
	double wait;

	if (rl->rate <= 0)
		return 0;
	refill(rl, now_us);
	if (rl->tokens >= 1)
		return 0;
	wait = ceil((1 - rl->tokens) * 1e6 / rl->rate);
	/* A double past the range is undefined as an integer: saturate. */
	return wait < (double)RATELIMIT_MAX_WAIT_US ? (uint64_t)wait :
	    RATELIMIT_MAX_WAIT_US;
}

int
ratelimit_take(struct ratelimit *rl, uint64_t now_us)
{
	if (rl->rate <= 0)
		return 0;
	if (ratelimit_wait_us(rl, now_us) != 0)
		return -1;
	rl->tokens -= 1;
	return 0;
}

double
ratelimit_tokens(struct ratelimit *rl, uint64_t now_us)
{
	if (rl->rate <= 0)
		return rl->burst;
	refill(rl, now_us);
	return rl->tokens;
}

int
ratelimit_parse(const char *s, double *per_second, const char **why)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || !isfinite(v) || v <= 0) {
		*why = "must be a positive number of requests per unit, "
		    "such as 20/s, 0.5/s, 100/m or 10/h";
		return -1;
	}
	if (*end == '\0' || strcmp(end, "/s") == 0)
		*per_second = v;
	else if (strcmp(end, "/m") == 0)
		*per_second = v / 60;
	else if (strcmp(end, "/h") == 0)
		*per_second = v / 3600;
	else {
		*why = "unit must be /s, /m or /h";
		return -1;
	}
	if (*per_second > RATELIMIT_MAX_RATE) {
		*why = "more than 1000000/s";
		return -1;
	}
	if (*per_second < RATELIMIT_MIN_RATE) {
		*why = "less than 0.001/s (3.6/h)";
		return -1;
	}
	return 0;
}
