/*
 * breaker.c: stop sending to a host that keeps failing.
 *
 * After `threshold` consecutive failures the circuit opens for open_us:
 * requests to the host end at once with `circuit_open` instead of piling
 * onto a broken upstream. Then one probe is let through (half-open); its
 * outcome alone closes the circuit or opens it again. Results of requests
 * that were already in flight when it opened do not count. What counts as
 * a failure is a set per host (breaker_on): by default the outcomes of a
 * host in trouble, not a plain 500.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void
breaker_on_default(struct retry_on *fails)
{
	retry_on_clear(fails);
	fails->errors = 1u << RESULT_CONNECT_FAILED | 1u << RESULT_TIMEOUT |
	    1u << RESULT_CONNECTION_CLOSED;
	retry_on_add_status(fails, 502);
	retry_on_add_status(fails, 503);
	retry_on_add_status(fails, 504);
}

int
breaker_on_parse(const char *text, struct retry_on *fails, char *why,
    size_t len)
{
	char word[32], *end;
	const char *p = text;
	size_t n, words = 0;
	long st;

	retry_on_clear(fails);
	if (strcmp(text, "none") == 0)
		return 0;
	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		n = strcspn(p, ", \t");
		if (n >= sizeof(word))
			n = sizeof(word) - 1;
		memcpy(word, p, n);
		word[n] = '\0';
		p += strcspn(p, ", \t");
		words++;
		st = strtol(word, &end, 10);
		if (*end == '\0' && end != word) {
			if (st < 500 || st > 599) {
				snprintf(why, len, "status %s: only 500..599 "
				    "count against a host", word);
				return -1;
			}
			retry_on_add_status(fails, st);
		} else if (retry_on_add_error(fails, word) == -1) {
			snprintf(why, len, "\"%s\" is not one of dns_failed, "
			    "connect_failed, tls_failed, timeout, "
			    "connection_closed, protocol_error or a status "
			    "500..599", word);
			return -1;
		}
	}
	if (words == 0) {
		snprintf(why, len, "names nothing (write none for an empty "
		    "set)");
		return -1;
	}
	return 0;
}

void
breaker_on_format(const struct retry_on *fails, char *buf, size_t len)
{
	size_t n = 0;
	long st;
	int e;

	buf[0] = '\0';
	for (e = 1; e < RESULT_NERRORS && n < len; e++)
		if (fails->errors & (1u << e))
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
			    n ? ", " : "", result_error_code(e));
	for (st = 500; st < 600 && n < len; st++)
		if (retry_on_match(fails, st, RESULT_OK))
			n += (size_t)snprintf(buf + n, len - n, "%s%ld",
			    n ? ", " : "", st);
	if (n == 0)
		snprintf(buf, len, "none");
}

enum breaker_outcome
breaker_classify(const struct retry_on *fails, long status,
    enum result_error e, int connecting, uint64_t timeout_ms,
    uint64_t connect_timeout_ms, uint64_t min_timeout_ms)
{
	uint64_t limit = timeout_ms;

	if (connecting && connect_timeout_ms < limit)
		limit = connect_timeout_ms;	/* the one that was hit */
	if (e == RESULT_TIMEOUT && limit < min_timeout_ms)
		return BREAKER_NEUTRAL;
	if (retry_on_match(fails, status, e))
		return BREAKER_FAILURE;
	if (e != RESULT_OK || status == 429)
		return BREAKER_NEUTRAL;
	return BREAKER_SUCCESS;
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
