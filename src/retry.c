/*
 * retry.c: the rules for trying a request again.
 *
 * A request is retried only when its outcome is one the client listed (or
 * the default transient set), only for idempotent methods unless the client
 * says otherwise, and never sooner than the upstream's Retry-After. The
 * decisions are pure so tests can state them exactly; the scheduler does
 * the waiting.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "retry.h"

void
retry_on_clear(struct retry_on *on)
{
	memset(on, 0, sizeof(*on));
}

int
retry_on_add_status(struct retry_on *on, long status)
{
	if (status < 100 || status > 599)
		return -1;
	on->status[status / 8] |= (uint8_t)(1u << (status % 8));
	return 0;
}

/* Only outcomes a retry can change are accepted. */
int
retry_on_add_error(struct retry_on *on, const char *code)
{
	static const enum result_error retryable[] = { RESULT_DNS_FAILED,
		RESULT_CONNECT_FAILED, RESULT_TLS_FAILED, RESULT_TIMEOUT,
		RESULT_CONNECTION_CLOSED, RESULT_PROTOCOL_ERROR };
	size_t i;

	for (i = 0; i < sizeof(retryable) / sizeof(retryable[0]); i++)
		if (strcmp(code, result_error_code(retryable[i])) == 0) {
			on->errors |= 1u << retryable[i];
			return 0;
		}
	return -1;
}

void
retry_on_default(struct retry_on *on)
{
	retry_on_clear(on);
	on->errors = 1u << RESULT_CONNECT_FAILED |
	    1u << RESULT_CONNECTION_CLOSED | 1u << RESULT_TIMEOUT;
	retry_on_add_status(on, 429);
	retry_on_add_status(on, 502);
	retry_on_add_status(on, 503);
	retry_on_add_status(on, 504);
}

int
retry_on_match(const struct retry_on *on, long status, enum result_error e)
{
	if (e != RESULT_OK)
		return (on->errors & (1u << e)) != 0;
	if (status < 100 || status > 599)
		return 0;
	return (on->status[status / 8] & (1u << (status % 8))) != 0;
}

int
retry_method_idempotent(const char *method)
{
	static const char *const idem[] = { "GET", "HEAD", "PUT", "DELETE",
		"OPTIONS", "TRACE" };
	size_t i;

	for (i = 0; i < sizeof(idem) / sizeof(idem[0]); i++)
		if (strcmp(method, idem[i]) == 0)
			return 1;
	return 0;
}

uint64_t
retry_cap_ms(uint64_t want_ms, uint64_t deadline_us, uint64_t now_us)
{
	uint64_t left_ms;

	if (deadline_us == 0)
		return want_ms;
	left_ms = deadline_us > now_us ? (deadline_us - now_us + 999) / 1000 :
	    1;
	return left_ms < want_ms ? left_ms : want_ms;
}

uint64_t
retry_budget(uint64_t active, uint64_t percent, uint64_t min)
{
	uint64_t b = active / 100 * percent + active % 100 * percent / 100;

	return b < min ? min : b;
}

int
retry_fits(uint64_t delay_ms, uint64_t deadline_us, uint64_t now_us)
{
	return deadline_us == 0 || now_us + delay_ms * 1000 < deadline_us;
}

/* An HTTP-date in any of RFC 9110's three forms, as UTC seconds. */
static int
parse_http_date(const char *s, time_t *out)
{
	static const char *const formats[] = {
		"%a, %d %b %Y %H:%M:%S GMT",	/* IMF-fixdate */
		"%A, %d-%b-%y %H:%M:%S GMT",	/* RFC 850 */
		"%a %b %e %H:%M:%S %Y",		/* asctime */
	};
	struct tm tm;
	const char *end;
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, formats[i], &tm);
		if (end != NULL && *end == '\0') {
			*out = timegm(&tm);
			return 0;
		}
	}
	return -1;
}

int64_t
retry_after_ms(const char *value, time_t now, uint64_t max_ms)
{
	unsigned long long secs;
	uint64_t ms;
	time_t when;
	char *end;

	while (isspace((unsigned char)*value))
		value++;
	if (isdigit((unsigned char)*value)) {
		errno = 0;
		secs = strtoull(value, &end, 10);
		while (isspace((unsigned char)*end))
			end++;
		if (*end != '\0')
			return -1;
		if (errno == ERANGE || secs > max_ms / 1000)
			return (int64_t)max_ms;
		return (int64_t)(secs * 1000);
	}
	if (parse_http_date(value, &when) == -1)
		return -1;
	if (when <= now)
		return 0;
	ms = (uint64_t)(when - now) * 1000;
	return (int64_t)(ms > max_ms ? max_ms : ms);
}
