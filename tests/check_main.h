/*
 * check_main.h: the one main() every Check suite shares, and what the
 * suites share around it: each test in a TCase of its own, skips that
 * automake counts as SKIP, and time bounds that stretch for slow runs.
 *
 * One TCase per test, named as the test, so that CK_RUN_CASE=test_x runs
 * test_x alone (CK_RUN_SUITE selects the program's one suite).
 *
 * Skips. A test that cannot run here (not root, a tool missing, a feature
 * not built) calls check_skip("why") and returns. Check has no skip of its
 * own, and runs each test in a child process (CK_FORK=no: in this one), so
 * check_skip() appends "test: why" to a file that check_run() made before
 * srunner_run_all() and named in $CHECK_SKIPS. check_run() then returns
 *   1 (FAIL) when any test failed;
 *   77 (SKIP to automake) when none failed and one or more skipped: PASS
 *      would say every test of the program ran, which it did not. The
 *      list of the tests skipped and why ends the program's log
 *      (e.g. tests/integration/check_ops.log), after Check's own summary,
 *      which counts a skipped test as passed; the tests that ran and
 *      passed are in the same log;
 *   0 (PASS) when every test ran and passed.
 * With CK_RUN_CASE, only the test run counts: a case that ran and passed
 * is PASS even if others of its program would have skipped; a program
 * with no case of that name ran nothing, and says SKIP, not PASS.
 *
 * Time. check_timeout_multiplier() is CK_TIMEOUT_MULTIPLIER, read once (a
 * positive number; else 1). Check multiplies every TCase timeout by it itself;
 * every other upper time bound in a test is multiplied by it too (the
 * integration tests' scaled_ms() and wait_until(), in harness.h), so a
 * slow run (valgrind, sanitizers, two busy cores) stretches them alike.
 */
#ifndef FANOUTD_CHECK_MAIN_H
#define FANOUTD_CHECK_MAIN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The exit status automake's test driver reads as SKIP. */
#define CHECK_EXIT_SKIP	77

/*
 * What the tests of a suite share, each in its own TCase: checked
 * fixtures (either may be NULL) and a timeout in seconds (0: Check's
 * default, CK_DEFAULT_TIMEOUT or 4 s; either way times the multiplier).
 */
struct check_opts {
	void	(*setup)(void);
	void	(*teardown)(void);
	double	  timeout_s;
};

/* Add test t to s in a TCase of its own called name, with opts o. */
static inline TCase *
check_add_opts(Suite *s, const char *name, const TTest *t,
    const struct check_opts *o)
{
	TCase *tc = tcase_create(name);

	if (o != NULL && (o->setup != NULL || o->teardown != NULL))
		tcase_add_checked_fixture(tc, o->setup, o->teardown);
	if (o != NULL && o->timeout_s > 0)
		tcase_set_timeout(tc, o->timeout_s);
	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
	return tc;
}

/*
 * Add test t to s in a TCase of its own named as the test, with fixture
 * functions setup and teardown (either may be NULL), so that
 * CK_RUN_CASE=test_name runs that test alone.
 */
static inline TCase *
check_add_fixture(Suite *s, const char *name, const TTest *t,
    void (*setup)(void), void (*teardown)(void))
{
	const struct check_opts o = { setup, teardown, 0 };

	return check_add_opts(s, name, t, &o);
}

/* check_add(s, test_x): test_x in a TCase of its own. */
#define check_add(s, t)	check_add_opts((s), #t, (t), NULL)

/* check_add_with(s, &opts, test_x): the same, with fixtures and timeout. */
#define check_add_with(s, o, t)	check_add_opts((s), #t, (t), (o))

/*
 * This test cannot run here: say why on stderr and record it for
 * check_run(). The test then returns (it must not go on and pass).
 */
static inline void
check_skip(const char *why)
{
	const char *path = getenv("CHECK_SKIPS");
	FILE *fp;

	fprintf(stderr, "%s: SKIP: %s\n", tcase_name(), why);
	if (path == NULL || (fp = fopen(path, "a")) == NULL) {
		ck_abort_msg("check_skip: cannot record the skip (CHECK_SKIPS "
		    "%s)", path != NULL ? path : "not set");
	}
	fprintf(fp, "%s: %s\n", tcase_name(), why);
	fclose(fp);
}

/* CK_TIMEOUT_MULTIPLIER as Check reads it, read once; 1 when unset. */
static inline double
check_timeout_multiplier(void)
{
	static double m;
	const char *env;
	char *end;

	if (m > 0)
		return m;
	m = 1;
	if ((env = getenv("CK_TIMEOUT_MULTIPLIER")) != NULL) {
		double v = strtod(env, &end);

		if (end != env && *end == '\0' && v > 0)
			m = v;
	}
	return m;
}

/* Print the skips recorded in path; return how many there were. */
static inline int
check_report_skips(const char *path, int ntests)
{
	char line[512];
	int n = 0;
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (n++ == 0)
			printf("Skipped:\n");
		printf("  %s", line);
	}
	fclose(fp);
	if (n > 0)
		printf("%d of %d tests skipped.\n", n, ntests);
	return n;
}

/*
 * Run suite s and print Check's summary; exit 1 if a test failed, else
 * 77 if one skipped, else 0 (see the top of this file).
 */
static inline int
check_run(Suite *s)
{
	char path[] = "/tmp/check-skips.XXXXXX";
	SRunner *sr = srunner_create(s);
	int failed, skipped, ntests, fd;

	if ((fd = mkstemp(path)) == -1) {
		perror("check_run: mkstemp");
		return EXIT_FAILURE;
	}
	close(fd);
	setenv("CHECK_SKIPS", path, 1);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	ntests = srunner_ntests_run(sr);
	srunner_free(sr);
	fflush(stdout);
	skipped = check_report_skips(path, ntests);
	unlink(path);
	if (failed > 0)
		return EXIT_FAILURE;
	if (ntests == 0) {	/* a CK_RUN_CASE naming none of ours */
		printf("No test ran (exit %d, SKIP).\n", CHECK_EXIT_SKIP);
		return CHECK_EXIT_SKIP;
	}
	return skipped > 0 ? CHECK_EXIT_SKIP : EXIT_SUCCESS;
}

#endif
