/*
 * check_main.h: the one main() every Check suite shares.
 */
#ifndef FANOUTD_CHECK_MAIN_H
#define FANOUTD_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/*
 * Add test t to s in a TCase of its own named as the test, with fixture
 * functions setup and teardown (either may be NULL), so that
 * CK_RUN_CASE=test_name runs that test alone.
 */
static inline TCase *
check_add_fixture(Suite *s, const char *name, const TTest *t,
    void (*setup)(void), void (*teardown)(void))
{
	TCase *tc = tcase_create(name);

	if (setup != NULL || teardown != NULL)
		tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
	return tc;
}

/* check_add(s, test_x): test_x in a TCase of its own. */
#define check_add(s, t)	check_add_fixture((s), #t, (t), NULL, NULL)

/* Run suite s, print Check's summary, exit 0 only if every test passed. */
static inline int
check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
