/*
 * check_hostsum.c: per-origin counts, classes, errors and latency, the
 * cap on origins with the rest under "*", and the JSON written.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_main.h"
#include "hostsum.h"
#include "jsonw.h"

static json_t *
encoded(const struct hostsum *s)
{
	struct jsonw w;
	json_error_t e;
	json_t *j;
	char *text;

	jsonw_init(&w, 64);
	hostsum_encode(&w, s);
	text = jsonw_steal(&w, NULL);
	j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	ck_assert_msg(j != NULL, "%s: %s", text, e.text);
	free(text);
	return j;
}

static long long
at(json_t *o, const char *a, const char *b)
{
	return json_integer_value(json_object_get(json_object_get(o, a), b));
}

START_TEST(test_counts)
{
	struct hostsum s;
	struct result r;
	json_t *j, *h;
	int i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < 10; i++) {
		result_init(&r);
		r.status = i < 7 ? 200 : i < 9 ? 503 : 0;
		r.error = i == 9 ? RESULT_TIMEOUT : RESULT_OK;
		r.total_ms = 10.0 * (i + 1);
		r.ttfb_ms = 1.0 * (i + 1);
		hostsum_add(&s, "http://a:80", &r, 1);
	}
	result_init(&r);
	r.error = RESULT_CIRCUIT_OPEN;		/* never started */
	hostsum_add(&s, "http://b:80", &r, 0);
	j = encoded(&s);
	h = json_object_get(j, "http://a:80");
	ck_assert_int_eq(json_integer_value(json_object_get(h, "count")), 10);
	ck_assert_int_eq(at(h, "responses", "2xx"), 7);
	ck_assert_int_eq(at(h, "responses", "5xx"), 2);
	ck_assert_int_eq(at(h, "responses", "4xx"), 0);
	ck_assert_int_eq(at(h, "errors", "timeout"), 1);
	ck_assert_uint_eq(json_object_size(json_object_get(h, "errors")), 1);
	ck_assert(json_real_value(json_object_get(json_object_get(h,
	    "total_ms"), "max")) == 100.0);
	ck_assert(json_real_value(json_object_get(json_object_get(h,
	    "ttfb_ms"), "max")) == 9.0);		/* no ttfb without status */
	h = json_object_get(j, "http://b:80");
	ck_assert_int_eq(at(h, "errors", "circuit_open"), 1);
	ck_assert(json_is_null(json_object_get(h, "total_ms")));
	ck_assert(json_is_null(json_object_get(h, "ttfb_ms")));
	json_decref(j);
	hostsum_clear(&s);
	j = encoded(&s);
	ck_assert_uint_eq(json_object_size(j), 0);
	json_decref(j);
}
END_TEST

START_TEST(test_cap)
{
	struct hostsum s;
	struct result r;
	char origin[64];
	json_t *j;
	int i;

	memset(&s, 0, sizeof(s));
	result_init(&r);
	r.status = 200;
	for (i = 0; i < HOSTSUM_MAX + 50; i++) {
		snprintf(origin, sizeof(origin), "http://h%d:80", i);
		hostsum_add(&s, origin, &r, 1);
		hostsum_add(&s, origin, &r, 1);
	}
	hostsum_add(&s, "http://h0:80", &r, 1);	/* known: its own */
	j = encoded(&s);
	ck_assert_uint_eq(json_object_size(j), HOSTSUM_MAX + 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j,
	    "http://h0:80"), "count")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j,
	    "*"), "count")), 100);
	json_decref(j);
	hostsum_clear(&s);
}
END_TEST

static Suite *
hostsum_suite(void)
{
	Suite *s = suite_create("hostsum");

	check_add(s, test_counts);
	check_add(s, test_cap);
	return s;
}

int
main(void)
{
	return check_run(hostsum_suite());
}
