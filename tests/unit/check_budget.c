/*
 * check_budget.c: the byte budget: takes that fit, refusals that take
 * nothing, exact give-backs, a limit lowered under its holders.
 */
#include <check.h>
#include <stdint.h>

#include "budget.h"
#include "check_main.h"

START_TEST(test_take_give)
{
	struct budget b;

	budget_init(&b, 100);
	ck_assert_int_eq(budget_take(&b, 60), 0);
	ck_assert_int_eq(budget_take(&b, 41), -1);	/* nothing taken */
	ck_assert_uint_eq(b.used, 60);
	ck_assert_int_eq(budget_take(&b, 40), 0);	/* exactly full */
	ck_assert_int_eq(budget_take(&b, 1), -1);
	ck_assert_uint_eq(b.refused, 2);
	budget_give(&b, 60);
	ck_assert_uint_eq(b.used, 40);
	ck_assert_uint_eq(b.peak, 100);
	budget_give(&b, 40);
	ck_assert_uint_eq(b.used, 0);
}
END_TEST

START_TEST(test_edges)
{
	struct budget b;

	budget_init(&b, 100);
	ck_assert_int_eq(budget_take(&b, UINT64_MAX), -1);	/* no wrap */
	ck_assert_int_eq(budget_take(&b, 0), 0);
	ck_assert_int_eq(budget_take(&b, 90), 0);
	b.limit = 50;		/* a reload lowered it: holders keep theirs */
	ck_assert_int_eq(budget_take(&b, 1), -1);
	budget_give(&b, 90);
	ck_assert_int_eq(budget_take(&b, 50), 0);
	budget_give(&b, 1000);	/* more than held: clamps, never wraps */
	ck_assert_uint_eq(b.used, 0);
}
END_TEST

START_TEST(test_user_share)
{
	struct budget b;
	uint64_t alice = 0, bob = 0;

	budget_init(&b, 100);
	ck_assert_int_eq(budget_take_user(&b, &alice, 50), 0);
	ck_assert_int_eq(budget_take_user(&b, &alice, 1), -1);	/* her half */
	ck_assert_uint_eq(alice, 50);
	ck_assert_int_eq(budget_take_user(&b, &bob, 40), 0);	/* his room */
	ck_assert_int_eq(budget_take(&b, 11), -1);		/* the total */
	ck_assert_int_eq(budget_take(&b, 10), 0);
	budget_give_user(&b, &alice, 50);
	ck_assert_uint_eq(alice, 0);
	ck_assert_uint_eq(b.used, 50);
	ck_assert_int_eq(budget_take_user(&b, &bob, UINT64_MAX), -1);
	ck_assert_uint_eq(bob, 40);
}
END_TEST

static Suite *
budget_suite(void)
{
	Suite *s = suite_create("budget");

	check_add(s, test_take_give);
	check_add(s, test_edges);
	check_add(s, test_user_share);
	return s;
}

int
main(void)
{
	return check_run(budget_suite());
}
