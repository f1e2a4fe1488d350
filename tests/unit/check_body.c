/*
 * check_body.c: each "response_body" form of a result's body, parsed
 * back as JSON: auto's text and base64 and its cut at a whole character,
 * text from a charset, base64, json and json_error, none and sha256.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "body.h"
#include "check_main.h"
#include "jsonw.h"
#include "result.h"

static struct result r;

static void
setup(void)
{
	result_init(&r);
}

static void
teardown(void)
{
	result_clear(&r);
}

/* Take body (n bytes) in mode, capped at cap. */
static void
take(enum result_body mode, const char *body, size_t n, uint64_t cap)
{
	r.body_mode = mode;
	result_add_body(&r, body, n, cap);
}

/* The members body_encode() writes, as an object. */
static json_t *
members(void)
{
	struct jsonw w;
	json_error_t e;
	json_t *j;
	char *s;

	jsonw_init(&w, 64);
	jsonw_lit(&w, "{\"x\":0");
	body_encode(&w, &r);
	jsonw_raw(&w, "}", 1);
	s = jsonw_steal(&w, NULL);
	j = json_loads(s, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
	ck_assert_msg(j != NULL, "%s: %s", s, e.text);
	free(s);
	return j;
}

static const char *
str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static long long
num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

START_TEST(test_auto)
{
	json_t *j;

	take(RESULT_BODY_AUTO, "caf\xc3\xa9", 5, 100);
	j = members();
	ck_assert_str_eq(str(j, "body"), "caf\xc3\xa9");
	ck_assert_str_eq(str(j, "body_encoding"), "utf-8");
	ck_assert_int_eq(num(j, "body_bytes"), 5);
	ck_assert_ptr_null(json_object_get(j, "json"));
	json_decref(j);
	result_clear(&r);
	take(RESULT_BODY_AUTO, "a\0b", 3, 100);
	j = members();
	ck_assert_str_eq(str(j, "body"), "YQBi");
	ck_assert_str_eq(str(j, "body_encoding"), "base64");
	json_decref(j);
	result_clear(&r);
	j = members();				/* no body */
	ck_assert(json_is_null(json_object_get(j, "body")));
	ck_assert(json_is_null(json_object_get(j, "body_encoding")));
	ck_assert_int_eq(num(j, "body_bytes"), 0);
	json_decref(j);
}
END_TEST

/* Cut mid-character by the cap: text to the last whole one, not base64. */
START_TEST(test_auto_cut)
{
	json_t *j;

	take(RESULT_BODY_AUTO, "ab\xe2\x82\xac", 5, 4);
	ck_assert(r.truncated);
	j = members();
	ck_assert_str_eq(str(j, "body"), "ab");
	ck_assert_str_eq(str(j, "body_encoding"), "utf-8");
	ck_assert_int_eq(num(j, "body_bytes"), 2);
	json_decref(j);
	/* an invalid byte before the cut is still base64 */
	result_clear(&r);
	take(RESULT_BODY_AUTO, "\xff" "b\xe2\x82\xac", 5, 4);
	j = members();
	ck_assert_str_eq(str(j, "body_encoding"), "base64");
	ck_assert_int_eq(num(j, "body_bytes"), 4);
	json_decref(j);
	/* not truncated: a cut character is not ours to hide */
	result_clear(&r);
	take(RESULT_BODY_AUTO, "ab\xe2\x82", 4, 100);
	j = members();
	ck_assert_str_eq(str(j, "body_encoding"), "base64");
	json_decref(j);
}
END_TEST

START_TEST(test_text)
{
	json_t *j;

	result_add_header(&r, "Content-Type", 12, "text/plain; charset=latin1",
	    26, 100);
	take(RESULT_BODY_TEXT, "caf\xe9\0", 5, 100);
	j = members();
	ck_assert_mem_eq(str(j, "body"), "caf\xc3\xa9\0", 6);
	ck_assert_str_eq(str(j, "body_encoding"), "text");
	ck_assert_int_eq(num(j, "body_bytes"), 5);
	json_decref(j);
	result_clear(&r);
	take(RESULT_BODY_TEXT, "\xff\xfe", 2, 100);	/* UTF-8 by default */
	j = members();
	ck_assert_str_eq(str(j, "body"), "\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(j);
}
END_TEST

START_TEST(test_base64)
{
	json_t *j;

	take(RESULT_BODY_BASE64, "hi", 2, 100);
	j = members();
	ck_assert_str_eq(str(j, "body"), "aGk=");
	ck_assert_str_eq(str(j, "body_encoding"), "base64");
	json_decref(j);
}
END_TEST

START_TEST(test_json)
{
	static const char doc[] = " {\"a\": [1, 0.5, \"x\"],\n \"b\": null} ";
	json_t *j, *v;

	take(RESULT_BODY_JSON, doc, strlen(doc), 100);
	j = members();
	ck_assert(json_is_null(json_object_get(j, "body")));
	ck_assert(json_is_null(json_object_get(j, "json_error")));
	ck_assert_int_eq(num(j, "body_bytes"), (long long)strlen(doc));
	v = json_object_get(j, "json");
	ck_assert(json_is_array(json_object_get(v, "a")));
	ck_assert(json_real_value(json_array_get(json_object_get(v, "a"), 1))
	    == 0.5);
	json_decref(j);
}
END_TEST

START_TEST(test_json_error)
{
	static const char *const bad[] = { "{\"a\":", "{\"a\":1,\"a\":2}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		"" };
	size_t i;
	json_t *j;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		result_clear(&r);
		take(RESULT_BODY_JSON, bad[i], strlen(bad[i]), 100);
		j = members();
		ck_assert(json_is_null(json_object_get(j, "json")));
		ck_assert_msg(str(j, "json_error") != NULL, "%s", bad[i]);
		if (*bad[i] != '\0')		/* the body, as auto */
			ck_assert_str_eq(str(j, "body"), bad[i]);
		json_decref(j);
	}
	result_clear(&r);
	take(RESULT_BODY_JSON, "[1,2,3]", 7, 4);	/* truncated */
	j = members();
	ck_assert_ptr_nonnull(strstr(str(j, "json_error"),
	    "max_response_bytes"));
	ck_assert_str_eq(str(j, "body"), "[1,2");
	json_decref(j);
}
END_TEST

START_TEST(test_none_and_sha256)
{
	json_t *j;

	take(RESULT_BODY_NONE, "abc", 3, 100);
	take(RESULT_BODY_NONE, "def", 3, 100);
	ck_assert_ptr_null(r.body);
	j = members();
	ck_assert(json_is_null(json_object_get(j, "body")));
	ck_assert_int_eq(num(j, "body_bytes"), 6);
	json_decref(j);
	result_clear(&r);
	take(RESULT_BODY_SHA256, "ab", 2, 100);
	take(RESULT_BODY_SHA256, "c", 1, 100);
	ck_assert_ptr_null(r.body);
	j = members();
	ck_assert_str_eq(str(j, "sha256"), "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");		/* FIPS 180-2 "abc" */
	ck_assert_int_eq(num(j, "body_bytes"), 3);
	json_decref(j);
	result_clear(&r);
	r.body_mode = RESULT_BODY_SHA256;		/* no body at all */
	j = members();
	ck_assert_str_eq(str(j, "sha256"), "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	json_decref(j);
	/* capped: the digest of the bytes read, truncated */
	result_clear(&r);
	take(RESULT_BODY_SHA256, "abcdef", 6, 3);
	ck_assert(r.truncated);
	j = members();
	ck_assert_str_eq(str(j, "sha256"), "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	json_decref(j);
}
END_TEST

static Suite *
body_suite(void)
{
	Suite *s = suite_create("body");
	const struct check_opts opts = { .setup = setup, .teardown = teardown };

	check_add_with(s, &opts, test_auto);
	check_add_with(s, &opts, test_auto_cut);
	check_add_with(s, &opts, test_text);
	check_add_with(s, &opts, test_base64);
	check_add_with(s, &opts, test_json);
	check_add_with(s, &opts, test_json_error);
	check_add_with(s, &opts, test_none_and_sha256);
	return s;
}

int
main(void)
{
	return check_run(body_suite());
}
