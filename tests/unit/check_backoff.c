/*
 * check_backoff.c: full-jitter bounds.
 */
#include <check.h>

#include "backoff.h"
#include "check_main.h"

START_TEST(test_bounds)
{
	uint64_t r;
	unsigned n;

	/* The ceiling is min(max, base * 2^n); rnd picks inside [0, it]. */
	for (n = 0; n < 20; n++) {
		uint64_t ceiling = 100ull << n;

		if (ceiling > 10000)
			ceiling = 10000;
		ck_assert_uint_eq(backoff_ms(100, 10000, n, 0), 0);
		ck_assert_uint_eq(backoff_ms(100, 10000, n, ceiling), ceiling);
		ck_assert_uint_eq(backoff_ms(100, 10000, n, ceiling + 1), 0);
		for (r = 0; r < 1000; r += 7)
			ck_assert_uint_le(backoff_ms(100, 10000, n,
			    r * 2654435761u), ceiling);
	}
	/* Many retries do not overflow. */
	ck_assert_uint_le(backoff_ms(100, 10000, 200, UINT64_MAX), 10000);
	ck_assert_uint_eq(backoff_ms(0, 10000, 3, 12345), 0);
}
END_TEST

static Suite *
backoff_suite(void)
{
	Suite *s = suite_create("backoff");

	check_add(s, test_bounds);
	return s;
}

int
main(void)
{
	return check_run(backoff_suite());
}
