/*
 * check_result.c: result collection and encoding: UTF-8 vs base64 bodies,
 * truncation at the cap, header arrays, errors and timings.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "result.h"
#include "check_main.h"

static struct batch batch;
static struct job job;

static void
setup(void)
{
	memset(&job, 0, sizeof(job));
	memset(&batch, 0, sizeof(batch));
	job.batch = &batch;
	job.spec.index = 7;
	job.spec.method = "GET";
	job.spec.url = "http://a/x";
}

/* Encode r and parse it back for inspection. */
static json_t *
roundtrip(const struct result *r)
{
	size_t len;
	char *s = result_encode(&job, r, &len);
	json_error_t e;
	json_t *j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &e);

	ck_assert_msg(j != NULL, "bad JSON: %s", e.text);
	ck_assert_uint_eq(strlen(s), len);
	free(s);
	return j;
}

static const char *
str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

START_TEST(test_text_body)
{
	struct result r;
	json_t *j;

	result_init(&r);
	r.status = 200;
	ck_assert_int_eq(result_add_body(&r, "h\xc3\xa9llo", 6, 100), 0);
	job.spec.id = "u1";
	j = roundtrip(&r);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "index")), 7);
	ck_assert_str_eq(str(j, "id"), "u1");
	ck_assert_str_eq(str(j, "body"), "h\xc3\xa9llo");
	ck_assert_str_eq(str(j, "body_encoding"), "utf-8");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "body_bytes")),
	    6);
	ck_assert(json_is_false(json_object_get(j, "truncated")));
	ck_assert(json_is_null(json_object_get(j, "error")));
	json_decref(j);
	result_clear(&r);
}
END_TEST

START_TEST(test_binary_body)
{
	struct result r;
	json_t *j;

	result_init(&r);
	result_add_body(&r, "a\0b", 3, 100);
	j = roundtrip(&r);
	ck_assert_str_eq(str(j, "body"), "YQBi");
	ck_assert_str_eq(str(j, "body_encoding"), "base64");
	json_decref(j);
	result_clear(&r);

	result_init(&r);
	result_add_body(&r, "\xff\xfe", 2, 100);	/* not UTF-8 */
	j = roundtrip(&r);
	ck_assert_str_eq(str(j, "body_encoding"), "base64");
	ck_assert_str_eq(str(j, "body"), "//4=");
	json_decref(j);
	result_clear(&r);
}
END_TEST

START_TEST(test_empty_body)
{
	struct result r;
	json_t *j;

	result_init(&r);
	r.status = 204;
	j = roundtrip(&r);
	ck_assert(json_is_null(json_object_get(j, "body")));
	ck_assert(json_is_null(json_object_get(j, "id")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "body_bytes")),
	    0);
	json_decref(j);
	result_clear(&r);
}
END_TEST

START_TEST(test_truncation)
{
	struct result r;
	json_t *j;

	result_init(&r);
	ck_assert_int_eq(result_add_body(&r, "abcd", 4, 6), 0);
	ck_assert_int_eq(result_add_body(&r, "efgh", 4, 6), -1);
	ck_assert_uint_eq(r.body_len, 6);
	ck_assert_int_eq(r.truncated, 1);
	j = roundtrip(&r);
	ck_assert_str_eq(str(j, "body"), "abcdef");
	ck_assert(json_is_true(json_object_get(j, "truncated")));
	ck_assert(json_is_null(json_object_get(j, "error")));
	json_decref(j);
	result_clear(&r);

	result_init(&r);	/* a cap of 0 keeps nothing */
	ck_assert_int_eq(result_add_body(&r, "a", 1, 0), -1);
	ck_assert_uint_eq(r.body_len, 0);
	result_clear(&r);
}
END_TEST

START_TEST(test_headers)
{
	struct result r;
	json_t *j, *h;

	result_init(&r);
	result_add_header(&r, "Set-Cookie", 10, "a=1", 3, 100);
	result_add_header(&r, "Content-Type", 12, "text/plain", 10, 100);
	result_add_header(&r, "SET-COOKIE", 10, "b=2", 3, 100);
	j = roundtrip(&r);
	h = json_object_get(j, "headers");
	ck_assert_uint_eq(json_object_size(h), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(h, "set-cookie")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(h,
	    "set-cookie"), 1)), "b=2");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(h,
	    "content-type"), 0)), "text/plain");
	json_decref(j);
	result_reset_headers(&r);
	ck_assert_uint_eq(r.nheaders, 0);
	result_clear(&r);
}
END_TEST

/* Bytes that are not UTF-8 in header names or values must not fail. */
START_TEST(test_headers_not_utf8)
{
	struct result r;
	json_t *j, *h;

	result_init(&r);
	result_add_header(&r, "X-\xe9t\xe9", 6, "caf\xe9", 4, 100);
	result_add_header(&r, "X-Ok", 4, "\xc3\xa9", 2, 100);
	j = roundtrip(&r);
	h = json_object_get(j, "headers");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(h,
	    "x-\xc3\xa9t\xc3\xa9"), 0)), "caf\xc3\xa9");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(h,
	    "x-ok"), 0)), "\xc3\xa9");
	json_decref(j);
	result_set_error(&r, RESULT_PROTOCOL_ERROR, "bad \xff byte");
	j = roundtrip(&r);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "error"), "message")), "bad \xc3\xbf byte");
	json_decref(j);
	result_clear(&r);
}
END_TEST

/*
 * One name, however spelt: "caf\xc3\xa9" (UTF-8) and "caf\xe9" (Latin-1)
 * both read as "caf\u00e9", and must be one key (the JSON is parsed with
 * duplicates refused), its values in arrival order; a NUL ends a name.
 */
START_TEST(test_headers_one_name)
{
	struct result r;
	json_t *j, *v;

	result_init(&r);
	result_add_header(&r, "caf\xc3\xa9", 5, "1", 1, 100);
	result_add_header(&r, "X", 1, "x", 1, 100);
	result_add_header(&r, "CAF\xe9", 4, "2", 1, 100);
	result_add_header(&r, "a\0b", 3, "3", 1, 100);
	result_add_header(&r, "a\0c", 3, "4", 1, 100);
	j = roundtrip(&r);
	v = json_object_get(json_object_get(j, "headers"), "caf\xc3\xa9");
	ck_assert_uint_eq(json_array_size(v), 2);
	ck_assert_str_eq(json_string_value(json_array_get(v, 0)), "1");
	ck_assert_str_eq(json_string_value(json_array_get(v, 1)), "2");
	v = json_object_get(json_object_get(j, "headers"), "a");
	ck_assert_uint_eq(json_array_size(v), 2);
	ck_assert_uint_eq(json_object_size(json_object_get(j, "headers")), 3);
	ck_assert_str_eq(result_header(&r, "caf\xc3\xa9"), "1");
	ck_assert_ptr_null(result_header(&r, "nope"));
	json_decref(j);
	result_clear(&r);
}
END_TEST

/* Names repeated across the point where they start being hashed. */
START_TEST(test_headers_across_hash)
{
	struct result r;
	json_t *j, *a, *b;
	char v[8];
	int i;

	result_init(&r);
	for (i = 0; i < 40; i++) {
		snprintf(v, sizeof(v), "%d", i);
		result_add_header(&r, i % 2 ? "B" : "a", 1, v, strlen(v), 100);
	}
	j = roundtrip(&r);
	a = json_object_get(json_object_get(j, "headers"), "a");
	b = json_object_get(json_object_get(j, "headers"), "b");
	ck_assert_uint_eq(json_array_size(a), 20);
	ck_assert_uint_eq(json_array_size(b), 20);
	for (i = 0; i < 20; i++) {
		snprintf(v, sizeof(v), "%d", 2 * i);
		ck_assert_str_eq(json_string_value(json_array_get(a, i)), v);
		snprintf(v, sizeof(v), "%d", 2 * i + 1);
		ck_assert_str_eq(json_string_value(json_array_get(b, i)), v);
	}
	ck_assert_str_eq(result_header(&r, "b"), "1");
	json_decref(j);
	result_clear(&r);
}
END_TEST

/*
 * A hostile upstream's 40,000 distinct headers: at most max are kept and
 * the result says so; each is one hash lookup, so this is linear (it took
 * seconds when each name was compared with every earlier one).
 */
START_TEST(test_headers_capped)
{
	struct result r;
	json_t *j;
	char name[16];
	int i;

	result_init(&r);
	for (i = 0; i < 40000; i++) {
		snprintf(name, sizeof(name), "x-%d", i);
		ck_assert_int_eq(result_add_header(&r, name, strlen(name), "v",
		    1, 1000), i < 1000 ? 0 : -1);
	}
	ck_assert_uint_eq(r.nheaders, 1000);
	j = roundtrip(&r);
	ck_assert_uint_eq(json_object_size(json_object_get(j, "headers")),
	    1000);
	ck_assert(json_is_true(json_object_get(j, "headers_truncated")));
	json_decref(j);
	result_reset_headers(&r);
	ck_assert_int_eq(r.headers_truncated, 0);
	for (i = 0; i < 40000; i++)	/* one name: still one key */
		result_add_header(&r, "x", 1, "v", 1, 100000);
	j = roundtrip(&r);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j,
	    "headers"), "x")), 40000);
	ck_assert(json_is_false(json_object_get(j, "headers_truncated")));
	json_decref(j);
	result_clear(&r);
}
END_TEST

START_TEST(test_error_and_timings)
{
	struct result r;
	json_t *j, *e, *t;

	result_init(&r);
	r.status = 200;
	result_set_error(&r, RESULT_CONNECTION_CLOSED, "reset after %d bytes",
	    10);
	result_set_error(&r, RESULT_TIMEOUT, "ignored: first error wins");
	r.total_ms = 41.7;
	r.queue_ms = 0.02;
	j = roundtrip(&r);
	e = json_object_get(j, "error");
	ck_assert_str_eq(str(e, "code"), "connection_closed");
	ck_assert_str_eq(str(e, "message"), "reset after 10 bytes");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 200);
	t = json_object_get(j, "timings");
	ck_assert(json_real_value(json_object_get(t, "total_ms")) == 41.7);
	ck_assert(json_real_value(json_object_get(t, "queue_ms")) == 0.02);
	ck_assert_uint_eq(json_object_size(t), 6);
	json_decref(j);
	result_clear(&r);
}
END_TEST

START_TEST(test_error_codes)
{
	ck_assert_ptr_null(result_error_code(RESULT_OK));
	ck_assert_str_eq(result_error_code(RESULT_DNS_FAILED), "dns_failed");
	ck_assert_str_eq(result_error_code(RESULT_SHUTDOWN), "shutdown");
	ck_assert_str_eq(result_error_code(RESULT_INTERNAL), "internal");
	ck_assert_str_eq(result_error_code((enum result_error)99), "internal");
}
END_TEST

static Suite *
result_suite(void)
{
	Suite *s = suite_create("result");
	const struct check_opts opts = { .setup = setup };

	check_add_with(s, &opts, test_text_body);
	check_add_with(s, &opts, test_binary_body);
	check_add_with(s, &opts, test_empty_body);
	check_add_with(s, &opts, test_truncation);
	check_add_with(s, &opts, test_headers);
	check_add_with(s, &opts, test_headers_not_utf8);
	check_add_with(s, &opts, test_headers_one_name);
	check_add_with(s, &opts, test_headers_across_hash);
	check_add_with(s, &opts, test_headers_capped);
	check_add_with(s, &opts, test_error_and_timings);
	check_add_with(s, &opts, test_error_codes);
	return s;
}

int
main(void)
{
	return check_run(result_suite());
}
