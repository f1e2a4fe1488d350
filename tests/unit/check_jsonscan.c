/*
 * check_jsonscan.c: the pre-scan's limits (depth, members per object,
 * strings and escapes skipped) and its prices (every token by length,
 * open strings and bare words too).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "jsonscan.h"
#include "check_main.h"

static int
scan(const char *s, uint64_t max_keys, uint64_t *cost)
{
	return jsonscan(s, strlen(s), max_keys, cost);
}

START_TEST(test_depth)
{
	char deep[2 * JSONSCAN_MAX_DEPTH + 8];
	uint64_t c;
	size_t i;

	for (i = 0; i < JSONSCAN_MAX_DEPTH; i++)
		deep[i] = '[';
	for (i = 0; i < JSONSCAN_MAX_DEPTH; i++)
		deep[JSONSCAN_MAX_DEPTH + i] = ']';
	deep[2 * JSONSCAN_MAX_DEPTH] = '\0';
	ck_assert_int_eq(scan(deep, 10, &c), JSONSCAN_OK);
	memmove(deep + 1, deep, strlen(deep) + 1);
	deep[0] = '{';		/* one level more */
	ck_assert_int_eq(scan(deep, 10, &c), JSONSCAN_TOO_DEEP);
	/* Brackets inside strings are text, escaped quotes too. */
	ck_assert_int_eq(scan("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[\"]",
	    10, &c), JSONSCAN_OK);
}
END_TEST

START_TEST(test_width)
{
	uint64_t c;

	ck_assert_int_eq(scan("{\"a\":1,\"b\":2,\"c\":3}", 3, &c),
	    JSONSCAN_OK);
	ck_assert_int_eq(scan("{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", 3, &c),
	    JSONSCAN_TOO_WIDE);
	/* Members are counted per object, and colons in strings are not. */
	ck_assert_int_eq(scan("[{\"a\":1,\"b\":2},{\"c\":3,\"d\":\"x:y:z\"}]",
	    2, &c), JSONSCAN_OK);
}
END_TEST

START_TEST(test_cost)
{
	uint64_t small, big, open, word;

	ck_assert_int_eq(scan("[1]", 10, &small), JSONSCAN_OK);
	ck_assert_int_eq(scan("[1111111111]", 10, &big), JSONSCAN_OK);
	ck_assert_uint_gt(big, small);		/* tokens by length */
	ck_assert_uint_ge(big - small, 27);	/* 9 bytes more, 3 each */
	/* An empty object costs an object; an open string its whole tail. */
	ck_assert_int_eq(scan("{}", 10, &small), JSONSCAN_OK);
	ck_assert_uint_ge(small, 200);
	ck_assert_int_eq(scan("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 10,
	    &open), JSONSCAN_OK);
	ck_assert_uint_ge(open, 40 * 3);
	ck_assert_int_eq(scan("[nonsensewordthatjanssonrefuses]", 10, &word),
	    JSONSCAN_OK);
	ck_assert_uint_ge(word, 3 * 30);
}
END_TEST

static Suite *
jsonscan_suite(void)
{
	Suite *s = suite_create("jsonscan");

	check_add(s, test_depth);
	check_add(s, test_width);
	check_add(s, test_cost);
	return s;
}

int
main(void)
{
	return check_run(jsonscan_suite());
}
