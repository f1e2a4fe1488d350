/*
 * breaker.h: a per-host circuit breaker (pure: every call takes `now`).
 */
#ifndef FANOUTD_BREAKER_H
#define FANOUTD_BREAKER_H

#include <stdint.h>

#include "result.h"
#include "retry.h"

enum breaker_state {
	BREAKER_CLOSED = 0,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN
};

enum breaker_outcome {
	BREAKER_SUCCESS,	/* an answer the failure set does not name */
	BREAKER_FAILURE,	/* an outcome the failure set names */
	BREAKER_NEUTRAL		/* 429, cancelled, policy, ...: no say */
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

/*
 * The outcomes that mean a host is in trouble, by default: connect_failed,
 * timeout, connection_closed, 502, 503 and 504. A plain 500 is an answer
 * from a host that is up (one endpoint's bug), not an outage.
 */
void	breaker_on_default(struct retry_on *fails);

/*
 * A [host] section's breaker_on: error codes (dns_failed, connect_failed,
 * tls_failed, timeout, connection_closed, protocol_error) and statuses
 * 500..599, separated by commas or spaces; "none" for an empty set. -1
 * with why[len].
 */
int	breaker_on_parse(const char *text, struct retry_on *fails, char *why,
	    size_t len);

/* The set as breaker_on_parse() reads it, for GET /v1/config. */
void	breaker_on_format(const struct retry_on *fails, char *buf,
	    size_t len);

/*
 * What an attempt's outcome means for its host's circuit: an outcome in
 * fails is a failure, a 429 or an error not in fails says nothing, any
 * other response succeeded. A timeout shorter than min_timeout_ms (the
 * connect timeout when it was still connecting, if shorter) was the
 * caller's choice, not the host failing, and says nothing either: else
 * anyone could open a healthy host's circuit for everyone with timeout_ms 1.
 */
enum breaker_outcome breaker_classify(const struct retry_on *fails,
	    long status, enum result_error e, int connecting,
	    uint64_t timeout_ms, uint64_t connect_timeout_ms,
	    uint64_t min_timeout_ms);

/* Is the circuit open now (requests to the host fail at once)? */
int	breaker_is_open(const struct breaker *b, uint64_t now_us);

/* "closed", "open" or "half_open". */
const char *breaker_state_name(enum breaker_state s);

/* The state as of now: an open circuit whose time is up is half-open. */
enum breaker_state breaker_state_at(const struct breaker *b, uint64_t now_us);

#endif
