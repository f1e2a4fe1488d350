/*
 * check_cookiejar.c: merging what one transfer's cookie engine held
 * into a batch's jar: new, changed, deleted, concurrent changes kept,
 * and the limits.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "cookiejar.h"

#define C(dom, name, val) dom "\tFALSE\t/\tFALSE\t0\t" name "\t" val "\n"

START_TEST(test_merge)
{
	struct cookiejar *j = cookiejar_new();
	char *t;

	t = cookiejar_text(j);
	ck_assert_str_eq(t, "");
	free(t);
	cookiejar_merge(j, "", C("a.test", "sid", "1") C("a.test", "x", "y"));
	ck_assert_uint_eq(cookiejar_count(j), 2);
	t = cookiejar_text(j);
	ck_assert_ptr_nonnull(strstr(t, C("a.test", "sid", "1")));
	/* changed, and x deleted by the server */
	cookiejar_merge(j, t, C("a.test", "sid", "2"));
	free(t);
	t = cookiejar_text(j);
	ck_assert_str_eq(t, C("a.test", "sid", "2"));
	free(t);
	/* no report: nothing changes */
	cookiejar_merge(j, C("a.test", "sid", "2"), NULL);
	ck_assert_uint_eq(cookiejar_count(j), 1);
	/* HttpOnly is the same cookie, not another */
	cookiejar_merge(j, C("a.test", "sid", "2"),
	    C("#HttpOnly_a.test", "sid", "3"));
	t = cookiejar_text(j);
	ck_assert_str_eq(t, C("#HttpOnly_a.test", "sid", "3"));
	free(t);
	/* comments and junk lines are not cookies */
	cookiejar_merge(j, "", "# Netscape HTTP Cookie File\njunk\n");
	ck_assert_uint_eq(cookiejar_count(j), 1);
	cookiejar_free(j);
}
END_TEST

/* Two transfers at once: the one that ends last does not undo the other. */
START_TEST(test_concurrent)
{
	struct cookiejar *j = cookiejar_new();
	char *snap, *t;

	cookiejar_merge(j, "", C("a.test", "sid", "1") C("b.test", "k", "v"));
	snap = cookiejar_text(j);
	/* A sets sid=2; then B, given the old jar, ends unchanged */
	cookiejar_merge(j, snap, C("a.test", "sid", "2") C("b.test", "k", "v"));
	cookiejar_merge(j, snap, snap);
	t = cookiejar_text(j);
	ck_assert_ptr_nonnull(strstr(t, C("a.test", "sid", "2")));
	free(t);
	/* B's server deletes sid, which A changed meanwhile: A's stays */
	cookiejar_merge(j, snap, C("b.test", "k", "v"));
	t = cookiejar_text(j);
	ck_assert_ptr_nonnull(strstr(t, C("a.test", "sid", "2")));
	free(t);
	free(snap);
	cookiejar_free(j);
}
END_TEST

START_TEST(test_limits)
{
	struct cookiejar *j = cookiejar_new();
	char line[128], big[COOKIEJAR_MAX_BYTES + 16];
	size_t i;

	for (i = 0; i < COOKIEJAR_MAX + 10; i++) {
		snprintf(line, sizeof(line),
		    "a.test\tFALSE\t/\tFALSE\t0\tc%zu\tv\n", i);
		cookiejar_merge(j, "", line);
	}
	ck_assert_uint_eq(cookiejar_count(j), COOKIEJAR_MAX);
	ck_assert_uint_eq(cookiejar_dropped(j), 10);
	cookiejar_free(j);
	/* one cookie bigger than the jar */
	j = cookiejar_new();
	memset(big, 'v', sizeof(big));
	memcpy(big, "a.test\tFALSE\t/\tFALSE\t0\tbig\t", 27);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	cookiejar_merge(j, "", big);
	ck_assert_uint_eq(cookiejar_count(j), 0);
	ck_assert_uint_eq(cookiejar_dropped(j), 1);
	cookiejar_free(j);
}
END_TEST

static Suite *
cookiejar_suite(void)
{
	Suite *s = suite_create("cookiejar");

	check_add(s, test_merge);
	check_add(s, test_concurrent);
	check_add(s, test_limits);
	return s;
}

int
main(void)
{
	return check_run(cookiejar_suite());
}
