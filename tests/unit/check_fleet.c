/*
 * check_fleet.c: fleet limits' arithmetic with a hand-set clock: leased
 * tokens and their expiry, lease sizes, the degraded share, the Redis
 * address.
 */
#include <check.h>
#include <string.h>

#include "fleet.h"
#include "check_main.h"

#define S	1000000ull	/* one second in microseconds */
#define MS	1000ull

static struct host_fleet
fleet(double rate, double burst)
{
	struct host_fleet f;

	memset(&f, 0, sizeof(f));
	fleet_setup(&f, &(struct fleet_limits){ .rate = rate,
	    .burst = burst }, 0);
	return f;
}

START_TEST(test_no_tokens_means_ask)
{
	struct host_fleet f = fleet(20, 1);
	uint64_t wait = 1;

	ck_assert(fleet_on(&f));
	ck_assert_int_eq(fleet_ready(&f, 0, 1, 10 * S, &wait), 0);
	ck_assert_uint_eq(wait, 0);
	ck_assert(fleet_wants(&f, 10 * S));
	f.asking = 1;	/* fleet_link.c marks the call out */
	ck_assert(!fleet_wants(&f, 10 * S));
}
END_TEST

START_TEST(test_lease_is_paced)
{
	struct host_fleet f = fleet(20, 1);
	uint64_t now = 10 * S, wait;

	f.asking = 1;
	/* 3 tokens: the first due 10 ms from now, then every 50 ms. */
	fleet_grant(&f, 3, 10 * MS, 50 * MS, now);
	ck_assert_int_eq(f.asking, 0);
	ck_assert_int_eq(fleet_ready(&f, 0, 1, now, &wait), 0);
	ck_assert_uint_eq(wait, 10 * MS);
	ck_assert_int_eq(fleet_ready(&f, 0, 1, now + 10 * MS, &wait), 1);
	fleet_take(&f, 0, now + 10 * MS);
	ck_assert_int_eq(fleet_ready(&f, 0, 1, now + 20 * MS, &wait), 0);
	ck_assert_uint_eq(wait, 40 * MS);
	fleet_take(&f, 0, now + 60 * MS);
	fleet_take(&f, 0, now + 110 * MS);
	ck_assert_uint_eq(fleet_tokens_held(&f, now + 110 * MS), 0);
	ck_assert_uint_eq(f.taken, 3);
	ck_assert_uint_eq(f.leased, 3);
	ck_assert(fleet_wants(&f, now + 110 * MS));
}
END_TEST

START_TEST(test_burst_tokens_due_at_once)
{
	struct host_fleet f = fleet(10, 5);
	uint64_t now = 10 * S, wait;
	int i;

	/* An idle host: the first token conformed 400 ms ago. */
	fleet_grant(&f, 5, -400 * (int64_t)MS, 100 * MS, now);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(fleet_ready(&f, 0, 1, now, &wait), 1);
		fleet_take(&f, 0, now);
	}
	ck_assert_uint_eq(f.dropped, 0);
	ck_assert_int_eq(fleet_ready(&f, 0, 1, now, &wait), 0);
}
END_TEST

START_TEST(test_unused_tokens_expire)
{
	struct host_fleet f = fleet(100, 1);
	uint64_t now = 10 * S, wait;

	fleet_grant(&f, 10, 0, 10 * MS, now);	/* due now .. now + 90 ms */
	/* Nothing used; 250 ms on, those due before now + 50 ms are stale. */
	ck_assert_uint_eq(fleet_tokens_held(&f, now + 250 * MS), 4);
	ck_assert_uint_eq(f.dropped, 6);
	ck_assert_int_eq(fleet_ready(&f, 0, 1, now + 250 * MS, &wait), 1);
	/* Long after: all gone, and a lease is wanted again. */
	ck_assert_uint_eq(fleet_tokens_held(&f, now + 10 * S), 0);
	ck_assert_uint_eq(f.dropped, 10);
	ck_assert(fleet_wants(&f, now + 10 * S));
}
END_TEST

START_TEST(test_nothing_granted_waits)
{
	struct host_fleet f = fleet(1, 1);
	uint64_t now = 10 * S, wait;

	f.asking = 1;
	fleet_grant(&f, 0, 700 * MS, 1 * S, now);
	ck_assert(!fleet_wants(&f, now + 699 * MS));
	ck_assert_int_eq(fleet_ready(&f, 0, 1, now, &wait), 0);
	ck_assert_uint_eq(wait, 700 * MS);
	ck_assert(fleet_wants(&f, now + 700 * MS));
	fleet_ask_failed(&f, 20 * MS, now + 700 * MS);
	ck_assert(!fleet_wants(&f, now + 710 * MS));
	ck_assert(fleet_wants(&f, now + 720 * MS));
}
END_TEST

START_TEST(test_degraded_share)
{
	struct host_fleet f = fleet(30, 6);
	uint64_t now = 10 * S, wait;
	int i, n = 0;

	ck_assert(fleet_share(30, 3) == 10);
	ck_assert(fleet_share(30, 0) == 30);
	ck_assert(fleet_share(0.001, 1000) >= RATELIMIT_MIN_RATE);
	/* Three peers: 10/s, a bucket of 2, in this daemon. */
	for (i = 0; i < 100; i++)
		if (fleet_ready(&f, 1, 3, now, &wait)) {
			fleet_take(&f, 1, now);
			n++;
		}
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(wait, 100 * MS);
	/* A second later, 10 more have come. */
	for (i = 0, n = 0; i < 1000; i++) {
		uint64_t t = now + 1 * MS * (uint64_t)i;

		if (fleet_ready(&f, 1, 3, t, &wait)) {
			fleet_take(&f, 1, t);
			n++;
		}
	}
	ck_assert_int_ge(n, 9);
	ck_assert_int_le(n, 11);
	/* Leased tokens are good while degraded, before the share. */
	fleet_grant(&f, 1, 0, 33 * MS, now + 2 * S);
	ck_assert_int_eq(fleet_ready(&f, 1, 3, now + 2 * S, &wait), 1);
	fleet_take(&f, 1, now + 2 * S);
	ck_assert_uint_eq(f.tok.n, 0);
}
END_TEST

START_TEST(test_lease_size)
{
	/* Demand, capped by the peer's share of what 100 ms holds. */
	ck_assert_uint_eq(fleet_lease_size(20, 0, 1), 1);
	ck_assert_uint_eq(fleet_lease_size(20, 50, 1), 2);
	ck_assert_uint_eq(fleet_lease_size(6000, 1000, 3), 200);
	ck_assert_uint_eq(fleet_lease_size(6000, 17, 3), 17);
	ck_assert_uint_eq(fleet_lease_size(100, 1000, 50), 1);
	ck_assert_uint_eq(fleet_lease_size(1e6, 1e9, 1), FLEET_LEASE_MAX);
	/* At 2,000 req/s for one daemon: one call per 200 requests. */
	ck_assert_uint_ge(fleet_lease_size(2000, 5000, 1), 200);
}
END_TEST

START_TEST(test_addr)
{
	struct fleet_addr a;
	const char *why;
	static const char *const bad[] = { "", "redis://x", "unix:rel",
	    "tcp://", "tcp://127.0.0.1", "tcp://127.0.0.1:0",
	    "tcp://127.0.0.1:70000", "tcp://localhost:6379",
	    "tcp://127.0.0.1:6379/x", "tcp://[::1:6379" };
	size_t i;

	ck_assert_int_eq(fleet_addr_parse("unix:/run/redis/r.sock", &a, &why),
	    0);
	ck_assert(a.is_unix);
	ck_assert_str_eq(a.path, "/run/redis/r.sock");
	ck_assert_int_eq(fleet_addr_parse("tcp://127.0.0.1:6379/3", &a, &why),
	    0);
	ck_assert_str_eq(a.ip, "127.0.0.1");
	ck_assert_uint_eq(a.port, 6379);
	ck_assert_uint_eq(a.db, 3);
	ck_assert_int_eq(fleet_addr_parse("tcp://[::1]:6380", &a, &why), 0);
	ck_assert_str_eq(a.ip, "::1");
	ck_assert_uint_eq(a.port, 6380);
	ck_assert_uint_eq(a.db, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(fleet_addr_parse(bad[i], &a, &why) == -1 &&
		    why != NULL, "%s", bad[i]);
	}
}
END_TEST

static Suite *
fleet_suite(void)
{
	Suite *s = suite_create("fleet");

	check_add(s, test_no_tokens_means_ask);
	check_add(s, test_lease_is_paced);
	check_add(s, test_burst_tokens_due_at_once);
	check_add(s, test_unused_tokens_expire);
	check_add(s, test_nothing_granted_waits);
	check_add(s, test_degraded_share);
	check_add(s, test_lease_size);
	check_add(s, test_addr);
	return s;
}

int
main(void)
{
	return check_run(fleet_suite());
}
