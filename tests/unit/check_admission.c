/*
 * check_admission.c: which batch is accepted, which refused and how: each
 * limit alone, at its edge, and the order when several are hit.
 */
#include <check.h>
#include <string.h>

#include "admission.h"
#include "check_main.h"

/* Room everywhere: a 10-request batch of a user with no cap. */
static struct admission
roomy(void)
{
	struct admission a = {
		.njobs = 10, .open = 0, .max_queued = 1000,
		.user_batches = 0, .max_user_batches = 5,
		.user_unfinished = 0, .user_cap = 0,
	};

	return a;
}

START_TEST(test_accepts)
{
	struct admission a = roomy();
	struct admission_refusal r;

	ck_assert_int_eq(admission_judge(&a, &r), 0);
	a.open = 990;			/* exactly fills max_queued */
	a.user_batches = 4;
	ck_assert_int_eq(admission_judge(&a, &r), 0);
	a.user_cap = 20;
	a.user_unfinished = 10;		/* exactly fills the cap */
	ck_assert_int_eq(admission_judge(&a, &r), 0);
	a.retained_full = 1;		/* only async batches care */
	ck_assert_int_eq(admission_judge(&a, &r), 0);
}
END_TEST

START_TEST(test_daemon_full)
{
	struct admission a = roomy();
	struct admission_refusal r;

	a.open = 991;
	ck_assert_int_eq(admission_judge(&a, &r), -1);
	ck_assert_int_eq(r.status, 429);
	ck_assert_str_eq(r.code, "overloaded");
	ck_assert_uint_eq(r.retry_after_s, 1);
	ck_assert_ptr_nonnull(strstr(r.message, "max_queued_requests (1000)"));
	ck_assert_ptr_nonnull(strstr(r.message, "991 requests"));
}
END_TEST

START_TEST(test_user_batches)
{
	struct admission a = roomy();
	struct admission_refusal r;

	a.user_batches = 5;
	ck_assert_int_eq(admission_judge(&a, &r), -1);
	ck_assert_int_eq(r.status, 429);
	ck_assert_ptr_nonnull(strstr(r.message, "max_batches_per_uid 5"));
}
END_TEST

START_TEST(test_user_cap)
{
	struct admission a = roomy();
	struct admission_refusal r;

	a.user_cap = 15;
	a.user_unfinished = 6;
	ck_assert_int_eq(admission_judge(&a, &r), -1);
	ck_assert_int_eq(r.status, 429);
	ck_assert_ptr_nonnull(strstr(r.message, "6 requests unfinished"));
	/* Bigger than the cap could ever take: 413, split it. */
	a.user_unfinished = 0;
	a.njobs = 16;
	ck_assert_int_eq(admission_judge(&a, &r), -1);
	ck_assert_int_eq(r.status, 413);
	ck_assert_str_eq(r.code, "payload_too_large");
	ck_assert_str_eq(r.path, "requests");
	ck_assert_uint_eq(r.retry_after_s, 0);
}
END_TEST

START_TEST(test_async_retained)
{
	struct admission a = roomy();
	struct admission_refusal r;

	a.async = 1;
	a.retained_full = 1;
	a.retained_retry_s = 42;
	ck_assert_int_eq(admission_judge(&a, &r), -1);
	ck_assert_int_eq(r.status, 429);
	ck_assert_uint_eq(r.retry_after_s, 42);
	ck_assert_ptr_nonnull(strstr(r.message, "max_retained_bytes"));
}
END_TEST

/* A 413 (never fits) wins over a 429 (later), the daemon over the user. */
START_TEST(test_order)
{
	struct admission a = roomy();
	struct admission_refusal r;

	a.open = 1000;
	a.user_batches = 5;
	a.user_cap = 5;
	a.async = a.retained_full = 1;
	ck_assert_int_eq(admission_judge(&a, &r), -1);
	ck_assert_int_eq(r.status, 413);
	a.user_cap = 0;
	ck_assert_int_eq(admission_judge(&a, &r), -1);
	ck_assert_ptr_nonnull(strstr(r.message, "max_queued_requests"));
	a.open = 0;
	ck_assert_int_eq(admission_judge(&a, &r), -1);
	ck_assert_ptr_nonnull(strstr(r.message, "max_batches_per_uid"));
	a.user_batches = 0;
	ck_assert_int_eq(admission_judge(&a, &r), -1);
	ck_assert_ptr_nonnull(strstr(r.message, "max_retained_bytes"));
}
END_TEST

static Suite *
admission_suite(void)
{
	Suite *s = suite_create("admission");

	check_add(s, test_accepts);
	check_add(s, test_daemon_full);
	check_add(s, test_user_batches);
	check_add(s, test_user_cap);
	check_add(s, test_async_retained);
	check_add(s, test_order);
	return s;
}

int
main(void)
{
	return check_run(admission_suite());
}
