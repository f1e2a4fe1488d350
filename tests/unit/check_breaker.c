/*
 * check_breaker.c: circuit breaker transitions with a hand-set clock.
 */
#include <check.h>
#include <string.h>

#include "breaker.h"
#include "check_main.h"

#define MS	1000ull

static void
fail_n(struct breaker *b, int n, uint64_t now)
{
	while (n-- > 0)
		breaker_record(b, BREAKER_FAILURE, 0, 3, 5000 * MS, now);
}

START_TEST(test_opens_after_threshold)
{
	struct breaker b;
	int probe;

	memset(&b, 0, sizeof(b));
	fail_n(&b, 2, 0);
	breaker_record(&b, BREAKER_SUCCESS, 0, 3, 5000 * MS, 0); /* resets */
	fail_n(&b, 2, 0);
	ck_assert_int_eq(b.state, BREAKER_CLOSED);
	breaker_record(&b, BREAKER_NEUTRAL, 0, 3, 5000 * MS, 0); /* 429 */
	fail_n(&b, 1, 10 * MS);
	ck_assert_int_eq(b.state, BREAKER_OPEN);
	ck_assert(breaker_is_open(&b, 10 * MS));
	ck_assert_int_eq(breaker_allow(&b, 3, 5009 * MS, &probe), 0);
	ck_assert_str_eq(breaker_state_name(b.state), "open");
}
END_TEST

START_TEST(test_half_open_probe)
{
	struct breaker b;
	int probe;

	memset(&b, 0, sizeof(b));
	fail_n(&b, 3, 0);
	/* After open_ms one probe goes; a second request waits. */
	ck_assert_int_eq(breaker_allow(&b, 3, 5000 * MS, &probe), 1);
	ck_assert_int_eq(probe, 1);
	ck_assert_int_eq(b.state, BREAKER_HALF_OPEN);
	ck_assert_int_eq(breaker_allow(&b, 3, 5001 * MS, &probe), 0);
	/* A late result from before it opened changes nothing. */
	breaker_record(&b, BREAKER_SUCCESS, 0, 3, 5000 * MS, 5002 * MS);
	ck_assert_int_eq(b.state, BREAKER_HALF_OPEN);
	/* The probe fails: open again, for open_ms from now. */
	breaker_record(&b, BREAKER_FAILURE, 1, 3, 5000 * MS, 6000 * MS);
	ck_assert_int_eq(b.state, BREAKER_OPEN);
	ck_assert_int_eq(breaker_allow(&b, 3, 10999 * MS, &probe), 0);
	ck_assert_int_eq(breaker_allow(&b, 3, 11000 * MS, &probe), 1);
	/* The probe succeeds: closed, everything flows. */
	breaker_record(&b, BREAKER_SUCCESS, 1, 3, 5000 * MS, 11001 * MS);
	ck_assert_int_eq(b.state, BREAKER_CLOSED);
	ck_assert_int_eq(breaker_allow(&b, 3, 11002 * MS, &probe), 1);
	ck_assert_int_eq(probe, 0);
	ck_assert_int_eq(breaker_allow(&b, 3, 11002 * MS, &probe), 1);
}
END_TEST

START_TEST(test_neutral_probe_and_off)
{
	struct breaker b;
	int probe, i;

	memset(&b, 0, sizeof(b));
	fail_n(&b, 3, 0);
	ck_assert_int_eq(breaker_allow(&b, 3, 5000 * MS, &probe), 1);
	breaker_record(&b, BREAKER_NEUTRAL, 1, 3, 5000 * MS, 5001 * MS);
	ck_assert_int_eq(breaker_allow(&b, 3, 5002 * MS, &probe), 1);
	ck_assert_int_eq(probe, 1);
	/* threshold 0: never opens. */
	memset(&b, 0, sizeof(b));
	for (i = 0; i < 100; i++)
		breaker_record(&b, BREAKER_FAILURE, 0, 0, 5000 * MS, 0);
	ck_assert_int_eq(breaker_allow(&b, 0, 0, &probe), 1);
	ck_assert_int_eq(b.state, BREAKER_CLOSED);
}
END_TEST

/* What each outcome means for the circuit, and short timeouts saying nothing. */
/* The default failure set's verdict. */
static enum breaker_outcome
classify(long status, enum result_error e, int connecting,
    uint64_t timeout_ms, uint64_t connect_timeout_ms, uint64_t min_ms)
{
	struct retry_on fails;

	breaker_on_default(&fails);
	return breaker_classify(&fails, status, e, connecting, timeout_ms,
	    connect_timeout_ms, min_ms);
}

START_TEST(test_classify)
{
	ck_assert_int_eq(classify(200, RESULT_OK, 0, 5000, 1000, 1000),
	    BREAKER_SUCCESS);
	ck_assert_int_eq(classify(404, RESULT_OK, 0, 5000, 1000, 1000),
	    BREAKER_SUCCESS);
	ck_assert_int_eq(classify(503, RESULT_OK, 0, 5000, 1000, 1000),
	    BREAKER_FAILURE);
	ck_assert_int_eq(classify(502, RESULT_OK, 0, 5000, 1000, 1000),
	    BREAKER_FAILURE);
	ck_assert_int_eq(classify(504, RESULT_OK, 0, 5000, 1000, 1000),
	    BREAKER_FAILURE);
	/* A plain 500 is an answer from a host that is up. */
	ck_assert_int_eq(classify(500, RESULT_OK, 0, 5000, 1000, 1000),
	    BREAKER_SUCCESS);
	ck_assert_int_eq(classify(429, RESULT_OK, 0, 5000, 1000, 1000),
	    BREAKER_NEUTRAL);
	ck_assert_int_eq(classify(0, RESULT_CONNECT_FAILED, 0, 5000,
	    1000, 1000), BREAKER_FAILURE);
	ck_assert_int_eq(classify(0, RESULT_CONNECTION_CLOSED, 0, 5000,
	    1000, 1000), BREAKER_FAILURE);
	/* Not in the default set: no say either way. */
	ck_assert_int_eq(classify(0, RESULT_DNS_FAILED, 0, 5000, 1000,
	    1000), BREAKER_NEUTRAL);
	ck_assert_int_eq(classify(0, RESULT_TLS_FAILED, 0, 5000, 1000,
	    1000), BREAKER_NEUTRAL);
	ck_assert_int_eq(classify(0, RESULT_BLOCKED, 0, 5000, 1000,
	    1000), BREAKER_NEUTRAL);
	ck_assert_int_eq(classify(0, RESULT_CANCELLED, 0, 5000, 1000,
	    1000), BREAKER_NEUTRAL);
	/* Timeouts: counted from min_timeout_ms up, not below. */
	ck_assert_int_eq(classify(0, RESULT_TIMEOUT, 0, 1000, 1000,
	    1000), BREAKER_FAILURE);
	ck_assert_int_eq(classify(0, RESULT_TIMEOUT, 0, 999, 1000,
	    1000), BREAKER_NEUTRAL);
	/* Still connecting: the connect timeout, when shorter, was hit. */
	ck_assert_int_eq(classify(0, RESULT_TIMEOUT, 1, 5000, 10,
	    1000), BREAKER_NEUTRAL);
	ck_assert_int_eq(classify(0, RESULT_TIMEOUT, 0, 5000, 10,
	    1000), BREAKER_FAILURE);
	ck_assert_int_eq(classify(0, RESULT_TIMEOUT, 1, 5000, 2000,
	    1000), BREAKER_FAILURE);
}
END_TEST

START_TEST(test_breaker_on)
{
	struct retry_on f;
	char why[256], buf[256];

	ck_assert_int_eq(breaker_on_parse("500, 503 dns_failed", &f, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(breaker_classify(&f, 500, RESULT_OK, 0, 5000, 1000,
	    1000), BREAKER_FAILURE);
	ck_assert_int_eq(breaker_classify(&f, 502, RESULT_OK, 0, 5000, 1000,
	    1000), BREAKER_SUCCESS);
	ck_assert_int_eq(breaker_classify(&f, 0, RESULT_DNS_FAILED, 0, 5000,
	    1000, 1000), BREAKER_FAILURE);
	ck_assert_int_eq(breaker_classify(&f, 0, RESULT_TIMEOUT, 0, 5000,
	    1000, 1000), BREAKER_NEUTRAL);
	breaker_on_format(&f, buf, sizeof(buf));
	ck_assert_str_eq(buf, "dns_failed, 500, 503");
	breaker_on_default(&f);
	breaker_on_format(&f, buf, sizeof(buf));
	ck_assert_str_eq(buf, "connect_failed, timeout, connection_closed, "
	    "502, 503, 504");
	ck_assert_int_eq(breaker_on_parse("none", &f, why, sizeof(why)), 0);
	breaker_on_format(&f, buf, sizeof(buf));
	ck_assert_str_eq(buf, "none");
	ck_assert_int_eq(breaker_classify(&f, 503, RESULT_OK, 0, 5000, 1000,
	    1000), BREAKER_SUCCESS);
	ck_assert_int_eq(breaker_on_parse("404", &f, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "500..599"));
	ck_assert_int_eq(breaker_on_parse("cancelled", &f, why, sizeof(why)),
	    -1);
	ck_assert_int_eq(breaker_on_parse(" , ", &f, why, sizeof(why)), -1);
	ck_assert_int_eq(breaker_on_parse("", &f, why, sizeof(why)), -1);
}
END_TEST

static Suite *
breaker_suite(void)
{
	Suite *s = suite_create("breaker");

	check_add(s, test_opens_after_threshold);
	check_add(s, test_classify);
	check_add(s, test_breaker_on);
	check_add(s, test_half_open_probe);
	check_add(s, test_neutral_probe_and_off);
	return s;
}

int
main(void)
{
	return check_run(breaker_suite());
}
