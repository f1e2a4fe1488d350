/*
 * check_base64.c: strict base64 both ways (RFC 4648 test vectors).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "check_main.h"

static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba",
	"foobar" };
static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
	"Zm9vYmE=", "Zm9vYmFy" };

START_TEST(test_vectors)
{
	size_t i, len;
	char *e;
	unsigned char *d;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		e = base64_encode((const unsigned char *)plain[i],
		    strlen(plain[i]), &len);
		ck_assert_str_eq(e, coded[i]);
		ck_assert_uint_eq(len, strlen(coded[i]));
		free(e);
		d = base64_decode(coded[i], strlen(coded[i]), &len);
		ck_assert_ptr_nonnull(d);
		ck_assert_uint_eq(len, strlen(plain[i]));
		ck_assert_mem_eq(d, plain[i], len);
		free(d);
	}
}
END_TEST

START_TEST(test_binary_roundtrip)
{
	unsigned char all[256], *d;
	size_t i, len;
	char *e;

	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)i;
	e = base64_encode(all, sizeof(all), NULL);
	d = base64_decode(e, strlen(e), &len);
	ck_assert_uint_eq(len, sizeof(all));
	ck_assert_mem_eq(d, all, sizeof(all));
	free(e);
	free(d);
}
END_TEST

START_TEST(test_rejects)
{
	static const char *const bad[] = { "Zg=", "Zg", "Z===", "Zm9v\n",
		"Zm 9", "Zm9-", "=Zm9", "Zg=a", "Zm9vY===" };
	size_t i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(base64_decode(bad[i], strlen(bad[i]), &len) ==
		    NULL, "accepted \"%s\"", bad[i]);
}
END_TEST

static Suite *
base64_suite(void)
{
	Suite *s = suite_create("base64");

	check_add(s, test_vectors);
	check_add(s, test_binary_roundtrip);
	check_add(s, test_rejects);
	return s;
}

int
main(void)
{
	return check_run(base64_suite());
}
