/*
 * check_runq.c: the timed wake-up heap: order, moves, removals.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runq.h"
#include "check_main.h"

START_TEST(test_order)
{
	struct runq rq = { 0 };
	struct runq_entry e[200];
	uint64_t last = 0;
	size_t i, n = 0;
	struct runq_entry *p;

	memset(e, 0, sizeof(e));
	for (i = 0; i < 200; i++)
		runq_set(&rq, &e[i], (i * 7919) % 1000);
	ck_assert_uint_eq(runq_next(&rq), 0);
	ck_assert_ptr_nonnull(runq_pop_due(&rq, 0));
	while ((p = runq_pop_due(&rq, 999)) != NULL) {
		ck_assert_uint_ge(p->at, last);
		ck_assert(!runq_queued(p));
		last = p->at;
		n++;
	}
	ck_assert_uint_eq(n, 199);	/* one was popped by the line above */
	ck_assert_uint_eq(runq_next(&rq), UINT64_MAX);
	runq_free(&rq);
}
END_TEST

START_TEST(test_move_and_delete)
{
	struct runq rq = { 0 };
	struct runq_entry a = { 0 }, b = { 0 }, c = { 0 };

	runq_set(&rq, &a, 100);
	runq_set(&rq, &b, 200);
	runq_set(&rq, &c, 300);
	ck_assert_ptr_null(runq_pop_due(&rq, 99));
	runq_set(&rq, &c, 50);		/* move earlier */
	ck_assert_uint_eq(runq_next(&rq), 50);
	runq_set(&rq, &c, 500);		/* and later */
	ck_assert_uint_eq(runq_next(&rq), 100);
	runq_del(&rq, &a);
	runq_del(&rq, &a);		/* twice is fine */
	ck_assert_uint_eq(runq_next(&rq), 200);
	ck_assert_ptr_eq(runq_pop_due(&rq, 1000), &b);
	ck_assert_ptr_eq(runq_pop_due(&rq, 1000), &c);
	ck_assert_ptr_null(runq_pop_due(&rq, 1000));
	runq_free(&rq);
}
END_TEST

/* Random operations against a brute-force model. */
START_TEST(test_random_model)
{
	struct runq rq = { 0 };
	struct runq_entry e[64];
	uint64_t min;
	int i, k, op;

	memset(e, 0, sizeof(e));
	srandom(42);
	for (i = 0; i < 20000; i++) {
		k = (int)(random() % 64);
		op = (int)(random() % 3);
		if (op == 0 || op == 1)
			runq_set(&rq, &e[k], (uint64_t)(random() % 100000));
		else
			runq_del(&rq, &e[k]);
		min = UINT64_MAX;
		for (k = 0; k < 64; k++)
			if (runq_queued(&e[k]) && e[k].at < min)
				min = e[k].at;
		ck_assert_uint_eq(runq_next(&rq), min);
	}
	runq_free(&rq);
}
END_TEST

static Suite *
runq_suite(void)
{
	Suite *s = suite_create("runq");

	check_add(s, test_order);
	check_add(s, test_move_and_delete);
	check_add(s, test_random_model);
	return s;
}

int
main(void)
{
	return check_run(runq_suite());
}
