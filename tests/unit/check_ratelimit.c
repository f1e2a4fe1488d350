/*
 * check_ratelimit.c: the token bucket with a hand-set clock.
 */
#include <check.h>
#include <string.h>

#include "ratelimit.h"
#include "check_main.h"

#define S	1000000ull	/* one second in microseconds */

START_TEST(test_rate_and_burst)
{
	struct ratelimit rl;
	uint64_t now = 5 * S;
	int i;

	ratelimit_init(&rl, 20, 5, now);
	for (i = 0; i < 5; i++)		/* the burst is there at once */
		ck_assert_int_eq(ratelimit_take(&rl, now), 0);
	ck_assert_int_eq(ratelimit_take(&rl, now), -1);
	ck_assert_uint_eq(ratelimit_wait_us(&rl, now), 50000);	/* 1/20 s */
	ck_assert_int_eq(ratelimit_take(&rl, now + 49999), -1);
	ck_assert_int_eq(ratelimit_take(&rl, now + 50000), 0);
	ck_assert_int_eq(ratelimit_take(&rl, now + 50000), -1);
}
END_TEST

START_TEST(test_one_second_window)
{
	struct ratelimit rl;
	uint64_t now = 0;
	int taken = 0;

	/* 20/s with burst 1 over ten seconds of 1 ms ticks: ~200, never 21/s */
	ratelimit_init(&rl, 20, 1, now);
	for (now = 0; now < 10 * S; now += 1000)
		if (ratelimit_take(&rl, now) == 0)
			taken++;
	ck_assert_int_ge(taken, 199);
	ck_assert_int_le(taken, 201);
}
END_TEST

START_TEST(test_fractional_and_idle)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 0.5, 1, 0);
	ck_assert_int_eq(ratelimit_take(&rl, 0), 0);
	ck_assert_uint_eq(ratelimit_wait_us(&rl, 0), 2 * S);
	ck_assert_uint_eq(ratelimit_wait_us(&rl, S), S);
	ck_assert_int_eq(ratelimit_take(&rl, 2 * S), 0);
	/* A long idle fills the bucket to burst, no further. */
	ratelimit_set(&rl, 10, 3, 2 * S);
	ck_assert(ratelimit_tokens(&rl, 1000 * S) == 3);
	ck_assert_int_eq(ratelimit_take(&rl, 1000 * S), 0);
	ck_assert_int_eq(ratelimit_take(&rl, 1000 * S), 0);
	ck_assert_int_eq(ratelimit_take(&rl, 1000 * S), 0);
	ck_assert_int_eq(ratelimit_take(&rl, 1000 * S), -1);
}
END_TEST

START_TEST(test_unlimited_and_clock)
{
	struct ratelimit rl;
	int i;

	ratelimit_init(&rl, 0, 1, 0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(ratelimit_take(&rl, 0), 0);
	/* A clock that goes backwards earns nothing and loses nothing. */
	ratelimit_init(&rl, 1, 1, 10 * S);
	ck_assert_int_eq(ratelimit_take(&rl, 10 * S), 0);
	ck_assert_int_eq(ratelimit_take(&rl, 5 * S), -1);
	ck_assert_int_eq(ratelimit_take(&rl, 11 * S), 0);
}
END_TEST

START_TEST(test_parse)
{
	const char *why;
	double r;

	ck_assert_int_eq(ratelimit_parse("20/s", &r, &why), 0);
	ck_assert(r == 20);
	ck_assert_int_eq(ratelimit_parse("0.5/s", &r, &why), 0);
	ck_assert(r == 0.5);
	ck_assert_int_eq(ratelimit_parse("120/m", &r, &why), 0);
	ck_assert(r == 2);
	ck_assert_int_eq(ratelimit_parse("7200/h", &r, &why), 0);
	ck_assert(r == 2);
	ck_assert_int_eq(ratelimit_parse("15", &r, &why), 0);
	ck_assert(r == 15);
	ck_assert_int_eq(ratelimit_parse("0/s", &r, &why), -1);
	ck_assert_int_eq(ratelimit_parse("-1/s", &r, &why), -1);
	ck_assert_int_eq(ratelimit_parse("fast", &r, &why), -1);
	ck_assert_int_eq(ratelimit_parse("5/d", &r, &why), -1);
	ck_assert_int_eq(ratelimit_parse("nan/s", &r, &why), -1);
	ck_assert_int_eq(ratelimit_parse("1/h", &r, &why), -1);
	ck_assert_int_eq(ratelimit_parse("0.0009/s", &r, &why), -1);
	ck_assert_int_eq(ratelimit_parse("0.001/s", &r, &why), 0);
	ck_assert_int_eq(ratelimit_parse("4/h", &r, &why), 0);
	ck_assert_ptr_nonnull(why);
}
END_TEST

/*
 * A rate so small that the wait passes uint64_t: the conversion was
 * undefined and came out 0 (no limit at all); it saturates now.
 */
START_TEST(test_tiny_rate_saturates)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 5e-14, 1, 0);
	ck_assert_int_eq(ratelimit_take(&rl, 0), 0);
	ck_assert_uint_eq(ratelimit_wait_us(&rl, 1), RATELIMIT_MAX_WAIT_US);
	ck_assert_int_eq(ratelimit_take(&rl, 1000 * S), -1);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");

	check_add(s, test_rate_and_burst);
	check_add(s, test_one_second_window);
	check_add(s, test_fractional_and_idle);
	check_add(s, test_unlimited_and_clock);
	check_add(s, test_parse);
	check_add(s, test_tiny_rate_saturates);
	return s;
}

int
main(void)
{
	return check_run(ratelimit_suite());
}
