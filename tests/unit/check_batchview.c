/*
 * check_batchview.c: the JSON texts about a batch are valid JSON, agree
 * on their figures and embed stored results byte for byte.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "batchview.h"
#include "config.h"
#include "jsonw.h"
#include "check_main.h"

static struct config cfg;

static struct batch *
two_done(void)
{
	static const char doc[] = "{\"requests\":[{\"url\":\"http://a.test/\"},"
	    "{\"url\":\"http://b.test/\"}]}";
	struct batch_error err;
	struct batch *b;

	config_defaults(&cfg);
	b = batch_parse(doc, strlen(doc), &cfg, NULL, &err);
	ck_assert_msg(b != NULL, "%s", err.message);
	b->jobs[0].encoded = strdup("{\"index\":0,\"status\":200,"
	    "\"odd\":\"\\u00e9\"}");
	b->jobs[0].encoded_len = strlen(b->jobs[0].encoded);
	b->run.done = 1;
	b->run.started = 1;
	b->run.accepted_us = 1000000;
	return b;
}

static json_t *
parsed(struct jsonw *w)
{
	json_error_t e;
	json_t *j = json_loadb(w->buf, w->len, 0, &e);

	ck_assert_msg(j != NULL, "not JSON: %s: %.*s", e.text, (int)w->len,
	    w->buf);
	return j;
}

START_TEST(test_status)
{
	struct batch *b = two_done();
	struct jsonw w;
	json_t *j, *r;

	jsonw_init(&w, 64);
	batchview_status(&w, b, 1, 1000000 + 12345);
	ck_assert_ptr_nonnull(strstr(w.buf, "\"elapsed_ms\":12.345"));
	/* The stored result is in the text as it was stored. */
	ck_assert_ptr_nonnull(strstr(w.buf, b->jobs[0].encoded));
	j = parsed(&w);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")),
	    "running");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    j, "progress"), "queued")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    j, "summary"), "responses")), 1);
	ck_assert(json_is_null(json_object_get(j, "finished")));
	r = json_object_get(j, "results");
	ck_assert_int_eq(json_array_size(r), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(r,
	    0), "status")), 200);
	json_decref(j);
	w.len = 0;
	batchview_status(&w, b, 0, 1000000);
	j = parsed(&w);
	ck_assert_ptr_null(json_object_get(j, "results"));
	json_decref(j);
	free(w.buf);
	batch_free(b);
	config_clear(&cfg);
}
END_TEST

START_TEST(test_stream_lines)
{
	struct batch *b = two_done();
	struct jsonw w;
	json_t *j;

	jsonw_init(&w, 64);
	batchview_stream_start(&w, b);
	j = parsed(&w);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")),
	    "batch");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "total")), 2);
	json_decref(j);
	w.len = 0;
	batchview_stream_progress(&w, b);
	j = parsed(&w);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "done")), 1);
	json_decref(j);
	w.len = 0;
	batchview_stream_summary(&w, b, 1000000 + 500);
	j = parsed(&w);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")),
	    "summary");
	ck_assert(json_real_value(json_object_get(j, "elapsed_ms")) == 0.5);
	json_decref(j);
	w.len = 0;
	ck_assert_int_eq(batchview_stream_error(&w, b), 0);	/* not cut */
	b->run.cancelled = 1;
	b->run.cancel_code = RESULT_SHUTDOWN;
	ck_assert_int_eq(batchview_stream_error(&w, b), 1);
	j = parsed(&w);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "error"), "code")), "shutdown");
	json_decref(j);
	w.len = 0;
	batchview_list_entry(&w, b);
	j = parsed(&w);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")),
	    "cancelled");
	json_decref(j);
	free(w.buf);
	batch_free(b);
	config_clear(&cfg);
}
END_TEST

static Suite *
batchview_suite(void)
{
	Suite *s = suite_create("batchview");

	check_add(s, test_status);
	check_add(s, test_stream_lines);
	return s;
}

int
main(void)
{
	return check_run(batchview_suite());
}
