/*
 * breaker.c: stop sending to a host that keeps failing.
 *
 * After `threshold` consecutive failures the circuit opens for open_us:
 * requests to the host end at once with `circuit_open` instead of piling
 * onto a broken upstream. Then one probe is let through (half-open); its
 * outcome alone closes the circuit or opens it again. Results of requests
 * that were already in flight when it opened do not count.
 */
#include "breaker.h"

int
breaker_allow(struct breaker *b, unsigned threshold, uint64_t now_us,
    int *probe)
{
	*probe = 0;
	if (threshold == 0 || b->state == BREAKER_CLOSED)
		return 1;
	if (b->state == BREAKER_OPEN) {
		if (now_us < b->open_until_us)
			return 0;
		b->state = BREAKER_HALF_OPEN;
		b->probing = 0;
	}
	if (b->probing)
		return 0;
	b->probing = 1;
	*probe = 1;
	return 1;
}

static void
trip(struct breaker *b, uint64_t open_us, uint64_t now_us)
{
	b->state = BREAKER_OPEN;
	b->open_until_us = now_us + open_us;
	b->probing = 0;
	b->failures = 0;
}

void
breaker_record(struct breaker *b, enum breaker_outcome o, int probe,
    unsigned threshold, uint64_t open_us, uint64_t now_us)
{
	if (threshold == 0 || o == BREAKER_NEUTRAL) {
		if (probe)	/* the probe said nothing: let another go */
			b->probing = 0;
		return;
	}
	if (b->state != BREAKER_CLOSED) {
		if (!probe)
			return;
		if (o == BREAKER_SUCCESS) {
			b->state = BREAKER_CLOSED;
			b->failures = 0;
			b->probing = 0;
		} else
			trip(b, open_us, now_us);
		return;
	}
	if (o == BREAKER_SUCCESS)
		b->failures = 0;
	else if (++b->failures >= threshold)
		trip(b, open_us, now_us);
}

enum breaker_outcome
breaker_classify(long status, enum result_error e, int connecting,
    uint64_t timeout_ms, uint64_t connect_timeout_ms, uint64_t min_timeout_ms)
{
	uint64_t limit = timeout_ms;

	if (connecting && connect_timeout_ms < limit)
		limit = connect_timeout_ms;	/* the one that was hit */
	switch (e) {
	case RESULT_OK:
		if (status >= 500)
			return BREAKER_FAILURE;
		return status == 429 ? BREAKER_NEUTRAL : BREAKER_SUCCESS;
	case RESULT_TIMEOUT:
		return limit < min_timeout_ms ? BREAKER_NEUTRAL :
		    BREAKER_FAILURE;
	case RESULT_DNS_FAILED:
	case RESULT_CONNECT_FAILED:
	case RESULT_TLS_FAILED:
	case RESULT_CONNECTION_CLOSED:
	case RESULT_PROTOCOL_ERROR:
		return BREAKER_FAILURE;
	default:
		return BREAKER_NEUTRAL;
	}
}

int
breaker_is_open(const struct breaker *b, uint64_t now_us)
{
	return b->state == BREAKER_OPEN && now_us < b->open_until_us;
}

enum breaker_state
breaker_state_at(const struct breaker *b, uint64_t now_us)
{
	if (b->state == BREAKER_OPEN && now_us >= b->open_until_us)
		return BREAKER_HALF_OPEN;
	return b->state;
}

const char *
breaker_state_name(enum breaker_state s)
{
	switch (s) {
	case BREAKER_OPEN:
		return "open";
	case BREAKER_HALF_OPEN:
		return "half_open";
	default:
		return "closed";
	}
}
