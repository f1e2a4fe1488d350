/*
 * check_jsonw.c: the direct JSON writer against jansson: the same text for
 * the same strings (random bytes, every control character, UTF-8 edge
 * cases), the same verdict on UTF-8, and numbers that parse back.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "check_main.h"

/* jsonw_str(s) must print what json_dumps() prints for it. */
static void
same_as_jansson(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *want, *got;
	struct jsonw w;

	ck_assert_ptr_nonnull(j);
	want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	jsonw_init(&w, 0);
	jsonw_str(&w, s, n);
	got = jsonw_steal(&w, NULL);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	json_decref(j);
}

START_TEST(test_strings)
{
	static const char *const cases[] = { "", "plain", "q\"b\\s/",
	    "\b\f\n\r\t\x01\x1f\x7f", "h\xc3\xa9llo", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80", "\xef\xbf\xbf" };
	char all[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		same_as_jansson(cases[i], strlen(cases[i]));
	for (i = 0; i < 32; i++)
		all[i] = (char)i;
	same_as_jansson(all, sizeof(all));	/* NUL included */
}
END_TEST

/* Random bytes: the same UTF-8 verdict, and the same text when valid. */
START_TEST(test_random_against_jansson)
{
	unsigned char s[24];
	json_t *j;
	size_t n, i, valid = 0;
	int round;

	srandom(7);
	for (round = 0; round < 200000; round++) {
		n = (size_t)random() % sizeof(s);
		for (i = 0; i < n; i++)	/* bias to the interesting bytes */
			s[i] = (unsigned char)(random() % 4 == 0 ?
			    random() % 0x80 : 0x80 + random() % 0x80);
		j = json_stringn((const char *)s, n);
		ck_assert_msg(utf8_valid((const char *)s, n) == (j != NULL),
		    "round %d: UTF-8 verdicts differ", round);
		if (j != NULL) {
			json_decref(j);
			same_as_jansson((const char *)s, n);
			valid++;
		}
	}
	ck_assert_uint_gt(valid, 1000);
}
END_TEST

/* Latin-1 from the network becomes UTF-8; nothing is lost. */
START_TEST(test_netstr)
{
	struct jsonw w;
	char *got;

	jsonw_init(&w, 0);
	jsonw_netstr(&w, "caf\xe9", 4);
	jsonw_raw(&w, ",", 1);
	jsonw_netstr(&w, "caf\xc3\xa9", 5);
	got = jsonw_steal(&w, NULL);
	ck_assert_str_eq(got, "\"caf\xc3\xa9\",\"caf\xc3\xa9\"");
	free(got);
}
END_TEST

START_TEST(test_numbers)
{
	struct jsonw w;
	size_t len;
	char *got;

	jsonw_init(&w, 0);
	jsonw_int(&w, 0);
	jsonw_raw(&w, " ", 1);
	jsonw_int(&w, -42);
	jsonw_raw(&w, " ", 1);
	jsonw_int(&w, 9223372036854775807LL);
	jsonw_raw(&w, " ", 1);
	jsonw_ms(&w, 0);
	jsonw_raw(&w, " ", 1);
	jsonw_ms(&w, 1.23456);
	jsonw_raw(&w, " ", 1);
	jsonw_ms(&w, 12.0005);
	jsonw_raw(&w, " ", 1);
	jsonw_ms(&w, -3);
	got = jsonw_steal(&w, &len);
	ck_assert_str_eq(got, "0 -42 9223372036854775807 0.000 1.235 12.001 "
	    "0.000");
	ck_assert_uint_eq(len, strlen(got));
	free(got);
}
END_TEST

/* Reals: the fewest digits that read back the same, always a real. */
START_TEST(test_reals)
{
	static const double v[] = { 0.1, 2.0, -0.5, 1e300, 1.0 / 3,
	    5e-324, 123456789012345678.0 };
	struct jsonw w;
	size_t i;
	char *got;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		jsonw_init(&w, 8);
		jsonw_real(&w, v[i]);
		got = jsonw_steal(&w, NULL);
		ck_assert_msg(strtod(got, NULL) == v[i], "%s", got);
		ck_assert_msg(strpbrk(got, ".e") != NULL, "%s", got);
		free(got);
	}
	jsonw_init(&w, 8);
	jsonw_real(&w, 0.1);
	jsonw_raw(&w, " ", 1);
	jsonw_real(&w, 2.0);
	jsonw_raw(&w, " ", 1);
	jsonw_real(&w, 1e300);
	got = jsonw_steal(&w, NULL);
	ck_assert_str_eq(got, "0.1 2.0 1e+300");
	free(got);
}
END_TEST

static Suite *
jsonw_suite(void)
{
	Suite *s = suite_create("jsonw");

	check_add(s, test_strings);
	check_add(s, test_random_against_jansson);
	check_add(s, test_netstr);
	check_add(s, test_numbers);
	check_add(s, test_reals);
	return s;
}

int
main(void)
{
	return check_run(jsonw_suite());
}
