/*
 * check_redirect.c: which 3xx responses are followed, with which method
 * and body, and how targets that must not be followed end the request.
 */
#include <check.h>
#include <string.h>

#include "redirect.h"
#include "check_main.h"

static struct redirect r;

/* Judge status and target for a method, from http://a.test:80. */
static enum redirect_verdict
judge(long status, const char *target, const char *method)
{
	redirect_clear(&r);
	memset(&r, 0, sizeof(r));
	r.status = status;
	r.target = target;
	r.method = method;
	r.first_origin = "http://a.test:80";
	r.max = 5;
	return redirect_judge(&r);
}

static void
teardown(void)
{
	redirect_clear(&r);
}

START_TEST(test_which_statuses)
{
	static const long followed[] = { 301, 302, 303, 307, 308 };
	static const long not[] = { 200, 300, 304, 305, 306, 399, 404 };
	size_t i;

	for (i = 0; i < sizeof(followed) / sizeof(followed[0]); i++)
		ck_assert_int_eq(judge(followed[i], "http://a.test/x", "GET"),
		    REDIRECT_FOLLOW);
	for (i = 0; i < sizeof(not) / sizeof(not[0]); i++)
		ck_assert_int_eq(judge(not[i], "http://a.test/x", "GET"),
		    REDIRECT_NONE);
	/* No Location, or an empty one: the 3xx is the response. */
	ck_assert_int_eq(judge(302, NULL, "GET"), REDIRECT_NONE);
	ck_assert_int_eq(judge(302, "", "GET"), REDIRECT_NONE);
}
END_TEST

START_TEST(test_methods)
{
	ck_assert_int_eq(judge(302, "http://a.test/x", "POST"),
	    REDIRECT_FOLLOW);
	ck_assert_str_eq(r.next_method, "GET");
	ck_assert_int_eq(r.drop_body, 1);
	judge(301, "http://a.test/x", "POST");
	ck_assert_str_eq(r.next_method, "GET");
	judge(301, "http://a.test/x", "PUT");		/* only POST turns */
	ck_assert_str_eq(r.next_method, "PUT");
	ck_assert_int_eq(r.drop_body, 0);
	judge(303, "http://a.test/x", "DELETE");	/* 303: all but HEAD */
	ck_assert_str_eq(r.next_method, "GET");
	ck_assert_int_eq(r.drop_body, 1);
	judge(303, "http://a.test/x", "HEAD");
	ck_assert_str_eq(r.next_method, "HEAD");
	judge(307, "http://a.test/x", "POST");
	ck_assert_str_eq(r.next_method, "POST");
	ck_assert_int_eq(r.drop_body, 0);
	judge(308, "http://a.test/x", "PATCH");
	ck_assert_str_eq(r.next_method, "PATCH");
}
END_TEST

START_TEST(test_origins)
{
	judge(302, "http://A.TEST:80/y", "GET");
	ck_assert_str_eq(r.origin, "http://a.test:80");
	ck_assert_int_eq(r.cross_origin, 0);
	ck_assert_str_eq(r.url, "http://A.TEST:80/y");
	judge(302, "http://a.test:81/y", "GET");	/* another port */
	ck_assert_int_eq(r.cross_origin, 1);
	judge(302, "https://a.test/y", "GET");		/* another scheme */
	ck_assert_str_eq(r.origin, "https://a.test:443");
	ck_assert_int_eq(r.cross_origin, 1);
}
END_TEST

/*
 * Fails closed. curl hands back a Location it cannot parse as it is
 * (spaces, brackets), and any scheme: none is followed, and no hop is
 * counted for them.
 */
START_TEST(test_refused)
{
	ck_assert_int_eq(judge(302, "ftp://a.test/x", "GET"), REDIRECT_FAIL);
	ck_assert_int_eq(r.error, RESULT_BLOCKED);
	ck_assert_ptr_nonnull(strstr(r.why, "only http and https"));
	ck_assert_ptr_null(r.url);
	ck_assert_int_eq(judge(302, "mailto:a@b", "GET"), REDIRECT_FAIL);
	ck_assert_int_eq(judge(302, "http://169.254.169.254/a b", "GET"),
	    REDIRECT_FAIL);
	ck_assert_int_eq(r.error, RESULT_BLOCKED);
	ck_assert_int_eq(judge(302, "http://[bad", "GET"), REDIRECT_FAIL);
	ck_assert_int_eq(r.error, RESULT_BLOCKED);
	ck_assert_int_eq(judge(302, "x\x7fy", "GET"), REDIRECT_FAIL);
}
END_TEST

START_TEST(test_max)
{
	judge(302, "http://a.test/x", "GET");
	r.followed = 5;
	ck_assert_int_eq(redirect_judge(&r), REDIRECT_FAIL);
	ck_assert_int_eq(r.error, RESULT_TOO_MANY_REDIRECTS);
	ck_assert_ptr_nonnull(strstr(r.why, "max_redirects (5)"));
	r.followed = 0;
	r.max = 0;
	ck_assert_int_eq(redirect_judge(&r), REDIRECT_FAIL);
	r.max = 1;
	ck_assert_int_eq(redirect_judge(&r), REDIRECT_FOLLOW);
}
END_TEST

static Suite *
redirect_suite(void)
{
	Suite *s = suite_create("redirect");
	const struct check_opts opts = { .teardown = teardown };

	check_add_with(s, &opts, test_which_statuses);
	check_add_with(s, &opts, test_methods);
	check_add_with(s, &opts, test_origins);
	check_add_with(s, &opts, test_refused);
	check_add_with(s, &opts, test_max);
	return s;
}

int
main(void)
{
	return check_run(redirect_suite());
}
