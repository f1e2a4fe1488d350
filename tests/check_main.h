/*
 * check_main.h: the one main() every Check suite shares.
 */
#ifndef FANOUTD_CHECK_MAIN_H
#define FANOUTD_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

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
