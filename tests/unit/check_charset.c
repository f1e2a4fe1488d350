/*
 * check_charset.c: the charset of a Content-Type, and bodies decoded to
 * valid UTF-8 whatever their bytes.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "check_main.h"
#include "jsonw.h"

START_TEST(test_charset_of)
{
	static const struct { const char *ct, *name; int rc; } v[] = {
		{ "text/html; charset=ISO-8859-1", "ISO-8859-1", 0 },
		{ "text/html;charset=\"utf-8\"", "utf-8", 0 },
		{ "text/plain; format=flowed; CharSet = koi8-r ; x=y",
		  "koi8-r", 0 },
		{ "text/plain", "", -1 },
		{ "text/plain; charset=", "", -1 },
		{ "text/plain; charset=\"utf-8", "", -1 },
		{ "text/plain; charset=a/b", "", -1 },
		{ "text/plain; charset=../../etc/x", "", -1 },
	};
	char name[48];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_int_eq(charset_of(v[i].ct, name, sizeof(name)),
		    v[i].rc);
		ck_assert_str_eq(name, v[i].name);
	}
	ck_assert_int_eq(charset_of(NULL, name, sizeof(name)), -1);
	ck_assert_int_eq(charset_of("text/x; charset=abcdefgh", name, 8), -1);
}
END_TEST

static char *
dec(const char *cs, const char *s, size_t n, int cut, int *known)
{
	size_t len;
	char *out = charset_decode(cs, s, n, cut, &len, known);

	ck_assert_uint_eq(strlen(out), len);
	ck_assert_msg(utf8_valid(out, len), "invalid UTF-8 out");
	return out;
}

START_TEST(test_decode)
{
	static const struct {
		const char *cs, *in, *out;
		int cut;
	} v[] = {
		{ NULL, "caf\xc3\xa9", "caf\xc3\xa9", 0 },
		{ "UTF-8", "a\xffz", "a\xef\xbf\xbdz", 0 },
		{ "utf8", "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd"
		  "\xef\xbf\xbd", 0 },			/* a surrogate */
		{ "utf-8", "ok\xe2\x82", "ok", 1 },	/* cut: dropped */
		{ "utf-8", "ok\xe2\x82", "ok\xef\xbf\xbd\xef\xbf\xbd", 0 },
		{ "ISO-8859-1", "caf\xe9", "caf\xc3\xa9", 0 },
		{ "windows-1252", "\x80", "\xe2\x82\xac", 0 },
		{ "koi8-r", "\xf0\xd2\xc9", "\xd0\x9f\xd1\x80\xd0\xb8", 0 },
		{ "Shift_JIS", "\x82\xa0\x82", "\xe3\x81\x82", 1 },
	};
	size_t i;
	int known;
	char *s;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		s = dec(v[i].cs, v[i].in, strlen(v[i].in), v[i].cut, &known);
		ck_assert_msg(strcmp(s, v[i].out) == 0, "%zu: %s", i, s);
		ck_assert_int_eq(known, 1);
		free(s);
	}
	/* an unknown charset is read as UTF-8, and said to be unknown */
	s = dec("x-no-such-charset", "caf\xc3\xa9\xff", 6, 0, &known);
	ck_assert_str_eq(s, "caf\xc3\xa9\xef\xbf\xbd");
	ck_assert_int_eq(known, 0);
	free(s);
	/* NUL is text like any other (JSON escapes it) */
	s = charset_decode(NULL, "a\0b", 3, 0, &i, &known);
	ck_assert_uint_eq(i, 3);
	ck_assert_mem_eq(s, "a\0b", 3);
	free(s);
}
END_TEST

/* Every byte value, every charset: valid UTF-8, at most 3 bytes each. */
START_TEST(test_decode_any_bytes)
{
	static const char *const cs[] = { "utf-8", "ISO-8859-1", "koi8-r",
		"Shift_JIS", "EUC-JP", "UTF-16LE", "GB18030" };
	unsigned char all[512];
	size_t i, len;
	int known;
	char *s;

	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(i * 7 + i / 256);
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		s = charset_decode(cs[i], (char *)all, sizeof(all), i % 2,
		    &len, &known);
		ck_assert_msg(utf8_valid(s, len), "%s", cs[i]);
		ck_assert_uint_le(len, 3 * sizeof(all));
		free(s);
	}
}
END_TEST

static Suite *
charset_suite(void)
{
	Suite *s = suite_create("charset");

	check_add(s, test_charset_of);
	check_add(s, test_decode);
	check_add(s, test_decode_any_bytes);
	return s;
}

int
main(void)
{
	return check_run(charset_suite());
}
