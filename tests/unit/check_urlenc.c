/*
 * check_urlenc.c: form encoding, requoting hand-written URLs, and adding
 * a query before a fragment.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "urlenc.h"

static char *
form(const char *s, size_t n)
{
	struct urlbuf b;

	memset(&b, 0, sizeof(b));
	urlenc_form(&b, s, n);
	return b.buf;
}

START_TEST(test_form)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" },
		{ "abcXYZ019", "abcXYZ019" },
		{ "*-._", "*-._" },
		{ "a b", "a+b" },
		{ "a+b&c=d", "a%2Bb%26c%3Dd" },
		{ "~!'()", "%7E%21%27%28%29" },
		{ "caf\xc3\xa9", "caf%C3%A9" },
		{ "%20", "%2520" },
		{ "/?#", "%2F%3F%23" },
	};
	size_t i;
	char *s;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		s = form(v[i].in, strlen(v[i].in));
		ck_assert_str_eq(s, v[i].out);
		free(s);
	}
	s = form("a\0b", 3);		/* NUL is a byte like any other */
	ck_assert_str_eq(s, "a%00b");
	free(s);
}
END_TEST

START_TEST(test_requote)
{
	static const struct { const char *in, *out; } v[] = {
		{ "http://h/a b?q=a b#f g", "http://h/a%20b?q=a%20b#f%20g" },
		{ "http://h/caf\xc3\xa9", "http://h/caf%C3%A9" },
		{ "http://h/%zz%4", "http://h/%25zz%254" },
		{ "http://h/\"<>\\^`{|}",
		  "http://h/%22%3C%3E%5C%5E%60%7B%7C%7D" },
		{ "http://h/\t", "http://h/%09" },
		/* the authority is not touched: curl judges it */
		{ "http://b\xc3\xbc" "cher.de/\xc3\xbc",
		  "http://b\xc3\xbc" "cher.de/%C3%BC" },
	};
	static const char *const kept[] = { "http://h/", "http://h",
		"http://h/a%20b?x=1&y=%2F#frag",
		"http://h/-._~:/?#[]@!$&'()*+,;=", "https://u:p@h:8/p" };
	size_t i;
	char *s;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		s = urlenc_requote(v[i].in);
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(s, v[i].out);
		free(s);
	}
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		ck_assert_msg(urlenc_requote(kept[i]) == NULL, "changed %s",
		    kept[i]);
}
END_TEST

START_TEST(test_add_query)
{
	static const struct { const char *in, *out; } v[] = {
		{ "http://h", "http://h?a=1" },
		{ "http://h/", "http://h/?a=1" },
		{ "http://h/p?", "http://h/p?a=1" },
		{ "http://h/p?x=2", "http://h/p?x=2&a=1" },
		{ "http://h/p?x=2&", "http://h/p?x=2&a=1" },
		{ "http://h/p#frag", "http://h/p?a=1#frag" },
		{ "http://h/p?x#f?g", "http://h/p?x&a=1#f?g" },
		{ "http://h#f", "http://h?a=1#f" },
	};
	size_t i;
	char *s;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		s = urlenc_add_query(v[i].in, "a=1", 3);
		ck_assert_str_eq(s, v[i].out);
		free(s);
	}
}
END_TEST

static Suite *
urlenc_suite(void)
{
	Suite *s = suite_create("urlenc");

	check_add(s, test_form);
	check_add(s, test_requote);
	check_add(s, test_add_query);
	return s;
}

int
main(void)
{
	return check_run(urlenc_suite());
}
