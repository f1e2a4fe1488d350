/*
 * check_fleet_slots.c: fleet_inflight's arithmetic with a hand-set clock:
 * when to ask, what a grant or refusal does, what goes back and when,
 * renewals that lost slots, and the degraded share.
 */
#include <check.h>
#include <string.h>

#include "fleet_slots.h"
#include "check_main.h"

#define MS	1000ull

static struct fleet_slots
slots(uint32_t limit)
{
	struct fleet_slots s;

	memset(&s, 0, sizeof(s));
	fleet_slots_setup(&s, limit);
	return s;
}

START_TEST(test_share)
{
	ck_assert_uint_eq(fleet_slots_share(20, 1), 20);
	ck_assert_uint_eq(fleet_slots_share(20, 3), 6);
	ck_assert_uint_eq(fleet_slots_share(4, 3), 1);
	ck_assert_uint_eq(fleet_slots_share(2, 5), 1);	/* never 0 */
	ck_assert_uint_eq(fleet_slots_share(20, 0), 20);
}
END_TEST

START_TEST(test_ready_and_want)
{
	struct fleet_slots s = slots(4);
	uint64_t now = 10000 * MS;

	/* Nothing held: not ready, ask for the queue, at most the limit. */
	ck_assert(!fleet_slots_ready(&s, 0, 0, 3));
	ck_assert_uint_eq(fleet_slots_want(&s, 0, 2, now), 2);
	ck_assert_uint_eq(fleet_slots_want(&s, 0, 50, now), 4);
	ck_assert_uint_eq(fleet_slots_want(&s, 0, 0, now), 0);
	s.asking = 1;
	ck_assert_uint_eq(fleet_slots_want(&s, 0, 50, now), 0);
	fleet_slots_granted(&s, 100, 3, 4, 0, 0, now);
	ck_assert_int_eq(s.asking, 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert(fleet_slots_ready(&s, 2, 0, 3));
	ck_assert(!fleet_slots_ready(&s, 3, 0, 3));
	/* An idle slot held: no need to ask. */
	ck_assert_uint_eq(fleet_slots_want(&s, 2, 50, now + 50 * MS), 0);
	/* Degraded: the share (4 / 3 = 1), whatever is held. */
	ck_assert(fleet_slots_ready(&s, 0, 1, 3));
	ck_assert(!fleet_slots_ready(&s, 1, 1, 3));
	ck_assert(fleet_slots_ready(&s, 3, 1, 1));
	ck_assert(!fleet_slots_ready(&s, 4, 1, 1));
	fleet_slots_free(&s);
}
END_TEST

START_TEST(test_refusal_backs_off)
{
	struct fleet_slots s = slots(4);
	uint64_t now = 10000 * MS, prev;

	/* Refused: wait poll/2 + rnd % poll, and the wait doubles. */
	fleet_slots_granted(&s, 0, 0, 2, 2, 0, now);
	ck_assert_uint_eq(s.ask_after, now + FLEET_SLOT_POLL_MIN_US / 2);
	ck_assert_uint_eq(fleet_slots_want(&s, 0, 5, now + MS), 0);
	ck_assert_uint_eq(s.waiting, 2);
	fleet_slots_granted(&s, 0, 0, 2, 2, FLEET_SLOT_POLL_MIN_US * 2 - 1,
	    now);
	ck_assert_uint_eq(s.ask_after, now + FLEET_SLOT_POLL_MIN_US +
	    FLEET_SLOT_POLL_MIN_US * 2 - 1);
	prev = 0;
	while (s.poll_us != prev) {	/* it stops at the top */
		prev = s.poll_us;
		fleet_slots_granted(&s, 0, 0, 2, 2, 0, now);
	}
	ck_assert_uint_eq(s.poll_us, FLEET_SLOT_POLL_MAX_US);
	ck_assert_uint_eq(s.ask_after, now + FLEET_SLOT_POLL_MAX_US / 2);
	/* A full grant resets it. */
	fleet_slots_granted(&s, 7, 2, 2, 0, 0, now);
	ck_assert_uint_eq(s.ask_after, 0);
	ck_assert_uint_eq(s.poll_us, FLEET_SLOT_POLL_MIN_US);
	ck_assert_uint_eq(s.id[0], 7);
	ck_assert_uint_eq(s.id[1], 8);
	/* Never more than asked for, whatever the reply says. */
	fleet_slots_granted(&s, 20, 9, 1, 0, 0, now);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(s.acquired, 3);
	/* A failed call: ask again later. */
	s.asking = 1;
	fleet_slots_failed(&s, 20 * MS, now);
	ck_assert_int_eq(s.asking, 0);
	ck_assert_uint_eq(s.ask_after, now + 20 * MS);
	fleet_slots_free(&s);
}
END_TEST

START_TEST(test_excess)
{
	struct fleet_slots s = slots(4);
	uint64_t now = 10000 * MS, out[8];

	fleet_slots_granted(&s, 1, 4, 4, 0, 0, now);
	/* All busy: nothing to give. */
	ck_assert_uint_eq(fleet_slots_excess(&s, 4, 9, 3, now), 0);
	/* Nothing queued: every idle one goes. */
	ck_assert_uint_eq(fleet_slots_excess(&s, 1, 0, 3, now), 3);
	/* Queued, nobody else waiting, heard lately: kept for reuse. */
	ck_assert_uint_eq(fleet_slots_excess(&s, 3, 9, 3, now + 50 * MS), 0);
	/* Not heard for a while: the ones above the share (4/3 = 1) go,
	 * so asking again finds out. */
	ck_assert_uint_eq(fleet_slots_excess(&s, 3, 9, 3,
	    now + FLEET_SLOT_CHECK_US), 1);
	ck_assert_uint_eq(fleet_slots_excess(&s, 0, 9, 3,
	    now + FLEET_SLOT_CHECK_US), 3);
	/* Others wait: above the share goes at once. */
	s.waiting = 1;
	ck_assert_uint_eq(fleet_slots_excess(&s, 2, 9, 3, now), 2);
	/* Alone in the fleet: the share is everything. */
	ck_assert_uint_eq(fleet_slots_excess(&s, 2, 9, 1, now), 0);
	/* A reload lowered the limit: the slots above it go. */
	fleet_slots_setup(&s, 2);
	s.waiting = 0;
	ck_assert_uint_eq(fleet_slots_excess(&s, 1, 9, 1, now), 2);
	ck_assert_uint_eq(fleet_slots_excess(&s, 3, 9, 1, now), 1);
	/* The limit is gone: all of them. */
	fleet_slots_setup(&s, 0);
	ck_assert_uint_eq(fleet_slots_excess(&s, 4, 9, 1, now), 4);
	ck_assert_uint_eq(fleet_slots_pop(&s, 9, out), 4);
	ck_assert_uint_eq(out[0], 4);
	ck_assert_uint_eq(out[3], 1);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_uint_eq(s.released, 4);
	ck_assert_uint_eq(fleet_slots_excess(&s, 0, 0, 1, now), 0);
	fleet_slots_free(&s);
}
END_TEST

START_TEST(test_renewal)
{
	struct fleet_slots s = slots(10);
	uint64_t now = 10000 * MS, sent[5], out[1];

	ck_assert(!fleet_slots_renew_due(&s, 3000 * MS, now));	/* none */
	fleet_slots_granted(&s, 1, 5, 5, 0, 0, now);
	s.renewed_at = now;
	ck_assert(!fleet_slots_renew_due(&s, 3000 * MS, now + 999 * MS));
	ck_assert(fleet_slots_renew_due(&s, 3000 * MS, now + 1000 * MS));
	s.renewing = 1;
	ck_assert(!fleet_slots_renew_due(&s, 3000 * MS, now + 1000 * MS));
	memcpy(sent, s.id, sizeof(sent));	/* 1..5 */
	/* Meanwhile 5 was given back; Redis kept 1, 2 and lost 3..5. */
	ck_assert_uint_eq(fleet_slots_pop(&s, 1, out), 1);
	fleet_slots_renewed(&s, sent, 5, 2, 1, now + 1000 * MS);
	ck_assert_int_eq(s.renewing, 0);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_uint_eq(s.lost, 2);	/* 3 and 4; 5 was released */
	ck_assert_uint_eq(s.id[0] + s.id[1], 3);
	ck_assert_uint_eq(s.waiting, 1);
	/* All kept: nothing changes. */
	memcpy(sent, s.id, 2 * sizeof(*sent));
	fleet_slots_renewed(&s, sent, 2, 2, 0, now + 2000 * MS);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_uint_eq(s.renewed_at, now + 2000 * MS);
	fleet_slots_free(&s);
}
END_TEST

START_TEST(test_limit_capped)
{
	struct fleet_slots s = slots(FLEET_INFLIGHT_MAX + 5);

	ck_assert_uint_eq(s.limit, FLEET_INFLIGHT_MAX);
}
END_TEST

static Suite *
fleet_slots_suite(void)
{
	Suite *s = suite_create("fleet_slots");

	check_add(s, test_share);
	check_add(s, test_ready_and_want);
	check_add(s, test_refusal_backs_off);
	check_add(s, test_excess);
	check_add(s, test_renewal);
	check_add(s, test_limit_capped);
	return s;
}

int
main(void)
{
	return check_run(fleet_slots_suite());
}
