/*
 * check_retry.c: retry_on matching, idempotency, Retry-After parsing.
 */
#include <check.h>

#include "retry.h"
#include "check_main.h"

START_TEST(test_default_set)
{
	struct retry_on on;

	retry_on_default(&on);
	ck_assert(retry_on_match(&on, 503, RESULT_OK));
	ck_assert(retry_on_match(&on, 429, RESULT_OK));
	ck_assert(retry_on_match(&on, 502, RESULT_OK));
	ck_assert(retry_on_match(&on, 504, RESULT_OK));
	ck_assert(!retry_on_match(&on, 500, RESULT_OK));
	ck_assert(!retry_on_match(&on, 404, RESULT_OK));
	ck_assert(!retry_on_match(&on, 200, RESULT_OK));
	ck_assert(retry_on_match(&on, 0, RESULT_TIMEOUT));
	ck_assert(retry_on_match(&on, 0, RESULT_CONNECT_FAILED));
	ck_assert(retry_on_match(&on, 200, RESULT_CONNECTION_CLOSED));
	ck_assert(!retry_on_match(&on, 0, RESULT_DNS_FAILED));
	ck_assert(!retry_on_match(&on, 0, RESULT_CANCELLED));
}
END_TEST

START_TEST(test_custom_set)
{
	struct retry_on on;

	retry_on_clear(&on);
	ck_assert_int_eq(retry_on_add_status(&on, 500), 0);
	ck_assert_int_eq(retry_on_add_error(&on, "dns_failed"), 0);
	ck_assert_int_eq(retry_on_add_status(&on, 99), -1);
	ck_assert_int_eq(retry_on_add_status(&on, 600), -1);
	ck_assert_int_eq(retry_on_add_error(&on, "cancelled"), -1);
	ck_assert_int_eq(retry_on_add_error(&on, "nope"), -1);
	ck_assert(retry_on_match(&on, 500, RESULT_OK));
	ck_assert(!retry_on_match(&on, 503, RESULT_OK));
	ck_assert(retry_on_match(&on, 0, RESULT_DNS_FAILED));
	ck_assert(!retry_on_match(&on, 0, RESULT_TIMEOUT));
}
END_TEST

START_TEST(test_idempotent)
{
	ck_assert(retry_method_idempotent("GET"));
	ck_assert(retry_method_idempotent("PUT"));
	ck_assert(retry_method_idempotent("DELETE"));
	ck_assert(retry_method_idempotent("HEAD"));
	ck_assert(retry_method_idempotent("OPTIONS"));
	ck_assert(retry_method_idempotent("TRACE"));
	ck_assert(!retry_method_idempotent("POST"));
	ck_assert(!retry_method_idempotent("PATCH"));
	ck_assert(!retry_method_idempotent("get"));
}
END_TEST

START_TEST(test_retry_after)
{
	time_t now = 784111777;	/* Sun, 06 Nov 1994 08:49:37 GMT */

	ck_assert_int_eq(retry_after_ms("1", now, 60000), 1000);
	ck_assert_int_eq(retry_after_ms(" 120 ", now, 60000), 60000);
	ck_assert_int_eq(retry_after_ms("0", now, 60000), 0);
	ck_assert_int_eq(retry_after_ms("99999999999999999999999", now,
	    60000), 60000);
	ck_assert_int_eq(retry_after_ms("Sun, 06 Nov 1994 08:49:39 GMT", now,
	    60000), 2000);
	ck_assert_int_eq(retry_after_ms("Sunday, 06-Nov-94 08:49:40 GMT", now,
	    60000), 3000);
	ck_assert_int_eq(retry_after_ms("Sun Nov  6 08:49:41 1994", now,
	    60000), 4000);
	ck_assert_int_eq(retry_after_ms("Sun, 06 Nov 1994 08:00:00 GMT", now,
	    60000), 0);	/* in the past */
	ck_assert_int_eq(retry_after_ms("Sun, 06 Nov 1994 18:49:37 GMT", now,
	    60000), 60000);	/* capped */
	ck_assert_int_eq(retry_after_ms("soon", now, 60000), -1);
	ck_assert_int_eq(retry_after_ms("5s", now, 60000), -1);
	ck_assert_int_eq(retry_after_ms("-1", now, 60000), -1);
	ck_assert_int_eq(retry_after_ms("", now, 60000), -1);
	ck_assert_int_eq(retry_after_ms("Sun, 06 Nov 1994 08:49:39 GMT x", now,
	    60000), -1);
}
END_TEST

START_TEST(test_deadline_arithmetic)
{
	uint64_t s = 1000000;

	/* no deadline: untouched */
	ck_assert_uint_eq(retry_cap_ms(30000, 0, 5 * s), 30000);
	/* 2.5 s left caps a 30 s timeout; a shorter timeout stays */
	ck_assert_uint_eq(retry_cap_ms(30000, 10 * s, 7500000), 2500);
	ck_assert_uint_eq(retry_cap_ms(300, 10 * s, 7500000), 300);
	/* partial milliseconds round up; past the deadline leaves 1 ms */
	ck_assert_uint_eq(retry_cap_ms(30000, 10 * s, 10 * s - 1), 1);
	ck_assert_uint_eq(retry_cap_ms(30000, 10 * s, 11 * s), 1);
	/* a retry after 1 s fits with 1.5 s left, not with exactly 1 s */
	ck_assert(retry_fits(1000, 10 * s, 8500000));
	ck_assert(!retry_fits(1000, 10 * s, 9 * s));
	ck_assert(retry_fits(1000000, 0, 9 * s));
}
END_TEST

/* The retry budget: a share of the host's active requests, or the minimum. */
START_TEST(test_budget)
{
	ck_assert_uint_eq(retry_budget(0, 20, 3), 3);
	ck_assert_uint_eq(retry_budget(10, 20, 3), 3);	/* 2 < 3 */
	ck_assert_uint_eq(retry_budget(100, 20, 3), 20);
	ck_assert_uint_eq(retry_budget(99, 20, 3), 19);	/* rounds down */
	ck_assert_uint_eq(retry_budget(1000, 0, 0), 0);	/* no retries */
	ck_assert_uint_eq(retry_budget(1000, 100, 0), 1000);
	/* No overflow for the largest counts. */
	ck_assert_uint_eq(retry_budget(UINT64_MAX, 100, 0), UINT64_MAX);
	ck_assert_uint_eq(retry_budget(UINT64_MAX / 2, 50, 0),
	    UINT64_MAX / 4);
}
END_TEST

static Suite *
retry_suite(void)
{
	Suite *s = suite_create("retry");

	check_add(s, test_default_set);
	check_add(s, test_budget);
	check_add(s, test_custom_set);
	check_add(s, test_idempotent);
	check_add(s, test_retry_after);
	check_add(s, test_deadline_arithmetic);
	return s;
}

int
main(void)
{
	return check_run(retry_suite());
}
