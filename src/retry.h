/*
 * retry.h: whether and when a failed attempt is tried again (pure).
 */
#ifndef FANOUTD_RETRY_H
#define FANOUTD_RETRY_H

#include <stdint.h>
#include <time.h>

#include "result.h"

/* What a request retries on: HTTP statuses and result error codes. */
struct retry_on {
	uint8_t		status[600 / 8];	/* bitmap of statuses 0..599 */
	uint32_t	errors;			/* bit per enum result_error */
};

/* The default: connect_failed, connection_closed, timeout, 429, 502-504. */
void	retry_on_default(struct retry_on *on);

/* Start empty, then add statuses (100..599) or error code names. */
void	retry_on_clear(struct retry_on *on);
int	retry_on_add_status(struct retry_on *on, long status);
int	retry_on_add_error(struct retry_on *on, const char *code);

/* Does this outcome match? Errors take precedence over the status. */
int	retry_on_match(const struct retry_on *on, long status,
	    enum result_error error);

/* GET, HEAD, PUT, DELETE, OPTIONS and TRACE are idempotent (RFC 9110). */
int	retry_method_idempotent(const char *method);

/*
 * Deadline arithmetic. retry_cap_ms: a timeout of want_ms cut to what is
 * left before deadline_us (0: no deadline), at least 1 ms. retry_fits:
 * can something that waits delay_ms from now still start before it?
 */
uint64_t retry_cap_ms(uint64_t want_ms, uint64_t deadline_us, uint64_t now_us);
int	retry_fits(uint64_t delay_ms, uint64_t deadline_us, uint64_t now_us);

/*
 * Parse a Retry-After value, delta-seconds or an HTTP-date (all three
 * forms), against wall-clock now. Returns the delay in ms, capped at
 * max_ms (a date in the past is 0), or -1 when the value is not valid.
 */
/*
 * A host's retry budget: retries waiting or in flight to it may be at
 * most percent of its requests queued or in flight, or min, whichever is
 * more.
 */
uint64_t retry_budget(uint64_t active, uint64_t percent, uint64_t min);

int64_t	retry_after_ms(const char *value, time_t now, uint64_t max_ms);

#endif
