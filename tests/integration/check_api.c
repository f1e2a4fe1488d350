/*
 * check_api.c: the real fanoutd against the real local upstream, driven
 * over its socket: results, errors, limits, the CLI and shutdown.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "check_main.h"

static struct upstream up;
static struct daemon fd_;

static void
setup(void)
{
	upstream_start(&up);
	daemon_start(&fd_, "drain_timeout_ms = 300\n");
}

/* The daemon must exit 0: under ASan a leak or error makes it fail. */
static void
teardown(void)
{
	char *log = fd_.pid > 0 ? daemon_log(&fd_) : NULL;
	int rc = fd_.pid > 0 ? daemon_stop(&fd_) : 0;

	upstream_stop(&up);
	ck_assert_msg(rc == 0, "fanoutd exited %d:\n%s", rc, log);
	free(log);
}

START_TEST(test_mixed_batch)
{
	char batch[4096];
	json_t *reply, *r, *sum;
	int closed = closed_port();

	snprintf(batch, sizeof(batch), "{\"requests\":["
	    "{\"id\":\"ok\",\"url\":\"%s\"},"
	    "{\"url\":\"%s\"},"
	    "{\"url\":\"%s\",\"timeout_ms\":300},"
	    "{\"url\":\"http://127.0.0.1:%d/\"},"
	    "{\"url\":\"%s\"},"
	    "{\"url\":\"%s\"},"
	    "{\"url\":\"%s\"},"
	    "{\"url\":\"%s\",\"method\":\"POST\",\"body\":\"hello\","
	    "\"headers\":{\"X-Test\":\"1\"}}],"
	    "\"defaults\":{\"headers\":{\"User-Agent\":\"check/1\"}}}",
	    upstream_url(&up, "/ok"), upstream_url(&up, "/status/404"),
	    upstream_url(&up, "/hang"), closed, upstream_url(&up, "/binary"),
	    upstream_url(&up, "/utf8"), upstream_url(&up, "/headers"),
	    upstream_url(&up, "/echo"));
	reply = api_submit(fd_.sock, batch);
	ck_assert_uint_eq(strlen(jstr(reply, "batch_id")), 32);
	sum = json_object_get(reply, "summary");
	ck_assert_int_eq(jnum(sum, "total"), 8);
	ck_assert_int_eq(jnum(sum, "errors"), 2);
	ck_assert_int_eq(jnum(sum, "responses"), 6);

	r = result_at(reply, 0);
	ck_assert_int_eq(jnum(r, "index"), 0);
	ck_assert_str_eq(jstr(r, "id"), "ok");
	ck_assert_int_eq(jnum(r, "status"), 200);
	ck_assert_str_eq(jstr(r, "body"), "ok");
	ck_assert_int_eq(jnum(r, "attempts"), 1);
	ck_assert_ptr_null(jerr(r));
	ck_assert(json_real_value(json_object_get(json_object_get(r,
	    "timings"), "total_ms")) > 0);

	r = result_at(reply, 1);
	ck_assert_int_eq(jnum(r, "status"), 404);
	ck_assert_ptr_null(jerr(r));	/* a 404 is a response */
	ck_assert(json_is_null(json_object_get(r, "id")));

	r = result_at(reply, 2);
	ck_assert_str_eq(jerr(r), "timeout");
	ck_assert_int_eq(jnum(r, "status"), 0);

	r = result_at(reply, 3);
	ck_assert_str_eq(jerr(r), "connect_failed");

	r = result_at(reply, 4);
	ck_assert_str_eq(jstr(r, "body_encoding"), "base64");
	ck_assert_int_eq(jnum(r, "body_bytes"), 256);

	r = result_at(reply, 5);
	ck_assert_str_eq(jstr(r, "body_encoding"), "utf-8");
	ck_assert_str_eq(jstr(r, "body"), "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93");

	r = result_at(reply, 6);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(r,
	    "headers"), "set-cookie")), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(
	    json_object_get(r, "headers"), "x-multi"), 1)), "two");

	r = result_at(reply, 7);
	ck_assert_int_eq(jnum(r, "status"), 200);
	ck_assert_ptr_nonnull(strstr(jstr(r, "body"), "POST /echo HTTP/1.1"));
	ck_assert_ptr_nonnull(strstr(jstr(r, "body"), "X-Test: 1"));
	ck_assert_ptr_nonnull(strstr(jstr(r, "body"), "User-Agent: check/1"));
	ck_assert_ptr_nonnull(strstr(jstr(r, "body"), "\r\n\r\nhello"));
	ck_assert_ptr_null(strstr(jstr(r, "body"), "x-www-form-urlencoded"));
	json_decref(reply);
}
END_TEST

/* A POST without a body sends Content-Length: 0 and no invented type. */
START_TEST(test_post_without_body)
{
	char batch[512];
	json_t *reply;
	const char *echo;

	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\","
	    "\"method\":\"POST\"},{\"url\":\"%s\",\"method\":\"HEAD\"}]}",
	    upstream_url(&up, "/echo"), upstream_url(&up, "/ok"));
	reply = api_submit(fd_.sock, batch);
	echo = jstr(result_at(reply, 0), "body");
	ck_assert_ptr_nonnull(strstr(echo, "POST /echo HTTP/1.1"));
	ck_assert_ptr_nonnull(strstr(echo, "Content-Length: 0"));
	ck_assert_ptr_null(strstr(echo, "Content-Type"));
	ck_assert_ptr_null(strstr(echo, "Expect"));
	ck_assert_int_eq(jnum(result_at(reply, 1), "status"), 200);
	ck_assert_int_eq(jnum(result_at(reply, 1), "body_bytes"), 0);
	json_decref(reply);
}
END_TEST

/*
 * The request helpers on the wire: a json body and a form body with the
 * Content-Type they imply, params merged into the query over the
 * defaults', a hand-written URL with a space and a non-ASCII character
 * percent-encoded, and the result's url the one sent; a gzip body decoded.
 */
START_TEST(test_request_helpers)
{
	char batch[2048], echo_url[256];
	json_t *reply, *r;
	const char *echo;

	snprintf(echo_url, sizeof(echo_url), "%s", upstream_url(&up, "/echo"));
	snprintf(batch, sizeof(batch), "{\"concurrency\":1,\"requests\":["
	    "{\"url\":\"%s\",\"method\":\"POST\",\"json\":{\"n\":0.1,"
	    "\"s\":\"caf\\u00e9\"}},"
	    "{\"url\":\"%s\",\"method\":\"POST\",\"form\":{\"q\":\"a b\","
	    "\"t\":[\"x\",\"&\"]}},"
	    "{\"url\":\"%s?x=1\",\"params\":{\"q\":\"a b\",\"key\":null}},"
	    "{\"url\":\"%s?w=a b&c=caf\\u00e9&q=\\\"1\\\"\"},"
	    "{\"url\":\"%s\"}],"
	    "\"defaults\":{\"params\":{\"key\":\"k\"}}}",
	    echo_url, echo_url, echo_url, echo_url,
	    upstream_url(&up, "/gzip"));
	reply = api_submit(fd_.sock, batch);

	echo = jstr(result_at(reply, 0), "body");
	ck_assert_msg(strstr(echo, "POST /echo?key=k HTTP/1.1\r\n") != NULL,
	    "%s", echo);
	ck_assert_ptr_nonnull(strstr(echo, "Content-Type: application/json"));
	ck_assert_ptr_nonnull(strstr(echo, "Content-Length: 21\r\n"));
	ck_assert_ptr_nonnull(strstr(echo,
	    "\r\n\r\n{\"n\":0.1,\"s\":\"caf\xc3\xa9\"}"));

	echo = jstr(result_at(reply, 1), "body");
	ck_assert_ptr_nonnull(strstr(echo,
	    "Content-Type: application/x-www-form-urlencoded\r\n"));
	ck_assert_ptr_nonnull(strstr(echo, "\r\n\r\nq=a+b&t=x&t=%26"));

	r = result_at(reply, 2);
	echo = jstr(r, "body");
	ck_assert_msg(strstr(echo, "GET /echo?x=1&q=a+b HTTP/1.1") != NULL,
	    "%s", echo);
	ck_assert_ptr_nonnull(strstr(jstr(r, "url"), "/echo?x=1&q=a+b"));

	r = result_at(reply, 3);
	echo = jstr(r, "body");
	ck_assert_msg(strstr(echo, "GET /echo?w=a%20b&c=caf%C3%A9&q=%221%22"
	    "&key=k HTTP/1.1") != NULL, "%s", echo);
	ck_assert_ptr_nonnull(strstr(jstr(r, "url"),
	    "/echo?w=a%20b&c=caf%C3%A9&q=%221%22&key=k"));

	/* decoded by default; body_bytes counts decoded bytes */
	r = result_at(reply, 4);
	ck_assert_str_eq(jstr(r, "content_encoding"), "gzip");
	ck_assert_str_eq(jstr(r, "body"),
	    "{\"hello\": \"decompressed\", \"n\": [1, 2, 3]}\n");
	ck_assert_int_eq(jnum(r, "body_bytes"), 42);
	json_decref(reply);
}
END_TEST

/*
 * "response_body" against the upstream: json parses a gzip body once
 * decoded, sha256 and none keep nothing but count, text and base64, and
 * auto cuts a truncated body at its last whole character.
 */
START_TEST(test_response_body)
{
	char batch[2048], gz[256], echo[256];
	json_t *reply, *r, *v;
	long long whole;

	snprintf(gz, sizeof(gz), "%s", upstream_url(&up, "/gzip"));
	snprintf(echo, sizeof(echo), "%s", upstream_url(&up, "/echo"));
	snprintf(batch, sizeof(batch), "{\"requests\":["
	    "{\"url\":\"%s\",\"response_body\":\"json\"},"
	    "{\"url\":\"%s\",\"response_body\":\"sha256\"},"
	    "{\"url\":\"%s\",\"response_body\":\"none\"},"
	    "{\"url\":\"%s\",\"response_body\":\"base64\"},"
	    "{\"url\":\"%s\",\"response_body\":\"json\",\"decompress\":false},"
	    "{\"url\":\"%s\",\"method\":\"POST\",\"body\":\"\\u00e9\\u00e9\"}"
	    "],\"defaults\":{\"response_body\":\"text\"}}",
	    gz, gz, gz, gz, gz, echo);
	reply = api_submit(fd_.sock, batch);
	r = result_at(reply, 0);
	ck_assert(json_is_null(json_object_get(r, "body")));
	ck_assert(json_is_null(json_object_get(r, "json_error")));
	v = json_object_get(r, "json");
	ck_assert_str_eq(json_string_value(json_object_get(v, "hello")),
	    "decompressed");
	ck_assert_int_eq(jnum(r, "body_bytes"), 42);
	r = result_at(reply, 1);
	ck_assert_str_eq(jstr(r, "sha256"), "d0116822b44fa35b608c94dc137fa1d4"
	    "a5586fc8d903b53fa47aae6831b525e8");
	ck_assert(json_is_null(json_object_get(r, "body")));
	ck_assert_int_eq(jnum(r, "body_bytes"), 42);
	r = result_at(reply, 2);
	ck_assert(json_is_null(json_object_get(r, "body")));
	ck_assert_ptr_null(json_object_get(r, "sha256"));
	ck_assert_int_eq(jnum(r, "body_bytes"), 42);
	r = result_at(reply, 3);
	ck_assert_str_eq(jstr(r, "body_encoding"), "base64");
	r = result_at(reply, 4);		/* gzip bytes: not JSON */
	ck_assert(json_is_null(json_object_get(r, "json")));
	ck_assert_ptr_nonnull(jstr(r, "json_error"));
	ck_assert_str_eq(jstr(r, "body_encoding"), "base64");
	r = result_at(reply, 5);		/* text, from the defaults */
	ck_assert_str_eq(jstr(r, "body_encoding"), "text");
	whole = jnum(r, "body_bytes");
	json_decref(reply);

	/* cut inside the last character: text up to the one before */
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\","
	    "\"method\":\"POST\",\"body\":\"\\u00e9\\u00e9\","
	    "\"max_response_bytes\":%lld}]}", echo, whole - 1);
	reply = api_submit(fd_.sock, batch);
	r = result_at(reply, 0);
	ck_assert(json_is_true(json_object_get(r, "truncated")));
	ck_assert_str_eq(jstr(r, "body_encoding"), "utf-8");
	ck_assert_int_eq(jnum(r, "body_bytes"), whole - 2);
	ck_assert_msg(strlen(jstr(r, "body")) >= 2 && strcmp(jstr(r, "body") +
	    strlen(jstr(r, "body")) - 2, "\xc3\xa9") == 0, "%s",
	    jstr(r, "body"));
	json_decref(reply);
}
END_TEST

/*
 * "history": each hop's 3xx in redirects_log, in order, with its URL and
 * headers; none without it; the last attempt's only after a retry.
 */
START_TEST(test_redirect_history)
{
	char batch[1024];
	json_t *reply, *r, *log, *hop;

	snprintf(batch, sizeof(batch), "{\"requests\":["
	    "{\"url\":\"%s\",\"follow_redirects\":true,\"history\":true},"
	    "{\"url\":\"%s\",\"follow_redirects\":true},"
	    "{\"url\":\"%s\",\"history\":true}]}",
	    upstream_url(&up, "/redirect/2"), upstream_url(&up, "/redirect/2"),
	    upstream_url(&up, "/ok"));
	reply = api_submit(fd_.sock, batch);
	r = result_at(reply, 0);
	ck_assert_int_eq(jnum(r, "status"), 200);
	log = json_object_get(r, "redirects_log");
	ck_assert_uint_eq(json_array_size(log), 2);
	hop = json_array_get(log, 0);
	ck_assert_int_eq(jnum(hop, "status"), 302);
	ck_assert_ptr_nonnull(strstr(jstr(hop, "url"), "/redirect/2"));
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(
	    json_object_get(hop, "headers"), "location"), 0)), "/redirect/1");
	hop = json_array_get(log, 1);
	ck_assert_ptr_nonnull(strstr(jstr(hop, "url"), "/redirect/1"));
	ck_assert_ptr_nonnull(strstr(jstr(r, "final_url"), "/redirect/0"));
	ck_assert_ptr_null(json_object_get(result_at(reply, 1),
	    "redirects_log"));
	log = json_object_get(result_at(reply, 2), "redirects_log");
	ck_assert(json_is_array(log) && json_array_size(log) == 0);
	json_decref(reply);
}
END_TEST

/*
 * Easy handles are reused without curl_easy_reset(): one after another on
 * the same handle (concurrency 1), no method or body leaks into the next.
 */
START_TEST(test_handle_reuse_methods)
{
	static const char *const seq[] = { "\"method\":\"POST\",\"body\":\"abc\"",
	    "\"method\":\"HEAD\"", "\"method\":\"GET\"",
	    "\"method\":\"DELETE\"", "\"method\":\"PUT\"", "\"method\":\"GET\"",
	    "\"method\":\"PATCH\",\"body\":\"xyz\"", "\"method\":\"GET\"" };
	static const char *const want[] = { "POST /echo", NULL, "GET /echo",
	    "DELETE /echo", "PUT /echo", "GET /echo", "PATCH /echo",
	    "GET /echo" };
	char batch[2048], *p = batch;
	const char *echo;
	json_t *reply;
	size_t i;

	p += sprintf(p, "{\"concurrency\":1,\"requests\":[");
	for (i = 0; i < 8; i++)
		p += sprintf(p, "%s{\"url\":\"%s\",%s}", i ? "," : "",
		    upstream_url(&up, "/echo"), seq[i]);
	strcpy(p, "]}");
	reply = api_submit(fd_.sock, batch);
	for (i = 0; i < 8; i++) {
		echo = jstr(result_at(reply, i), "body");
		if (want[i] == NULL) {	/* HEAD: no body at all */
			ck_assert_int_eq(jnum(result_at(reply, i),
			    "body_bytes"), 0);
			continue;
		}
		ck_assert_msg(strncmp(echo, want[i], strlen(want[i])) == 0,
		    "request %zu: %.40s", i, echo);
		if (strncmp(want[i], "GET", 3) == 0 ||
		    strncmp(want[i], "DELETE", 6) == 0) {
			ck_assert_msg(strstr(echo, "Content-Length") == NULL,
			    "request %zu sent a body: %s", i, echo);
			ck_assert_ptr_null(strstr(echo, "abc"));
		}
	}
	ck_assert_ptr_nonnull(strstr(jstr(result_at(reply, 4), "body"),
	    "Content-Length: 0"));
	ck_assert_ptr_nonnull(strstr(jstr(result_at(reply, 6), "body"),
	    "\r\n\r\nxyz"));
	json_decref(reply);
}
END_TEST

START_TEST(test_timeout_accuracy)
{
	char batch[512];
	json_t *reply, *r;
	double t0 = now_ms(), wall, total;

	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\","
	    "\"timeout_ms\":300}]}", upstream_url(&up, "/hang"));
	reply = api_submit(fd_.sock, batch);
	wall = now_ms() - t0;
	r = result_at(reply, 0);
	ck_assert_str_eq(jerr(r), "timeout");
	ck_assert_ptr_nonnull(strstr(jstr(json_object_get(r, "error"),
	    "message"), "timeout_ms 300"));
	total = json_real_value(json_object_get(json_object_get(r, "timings"),
	    "total_ms"));
	ck_assert_msg(total >= 295 && total <= scaled_ms(600), "total_ms %.1f",
	    total);
	ck_assert_msg(wall >= 295 && wall <= scaled_ms(1500), "wall %.1f ms",
	    wall);
	json_decref(reply);
}
END_TEST

START_TEST(test_connect_refused)
{
	char batch[256];
	json_t *reply, *r;

	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":"
	    "\"http://127.0.0.1:%d/x\"}]}", closed_port());
	reply = api_submit(fd_.sock, batch);
	r = result_at(reply, 0);
	ck_assert_str_eq(jerr(r), "connect_failed");
	ck_assert_int_eq(jnum(r, "status"), 0);
	ck_assert(json_is_null(json_object_get(r, "body")));
	json_decref(reply);
}
END_TEST

START_TEST(test_concurrency_respected)
{
	char *batch = batch_of("\"concurrency\":5,", 40,
	    upstream_url(&up, "/delay/50"));
	json_t *reply, *stats;
	reply = api_submit(fd_.sock, batch);
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "errors"), 0);
	stats = upstream_json(&up, "/stats");
	ck_assert_int_eq(jnum(stats, "requests"), 40);
	ck_assert_msg(jnum(stats, "max_inflight") <= 5, "upstream saw %lld",
	    jnum(stats, "max_inflight"));
	ck_assert_msg(jnum(stats, "max_inflight") >= 2, "no parallelism: %lld",
	    jnum(stats, "max_inflight"));
	json_decref(stats);
	json_decref(reply);
	free(batch);
}
END_TEST

START_TEST(test_ten_thousand)
{
	size_t n = 10000, i, cap = n * 64 + 64;
	char *batch = malloc(cap), *p = batch;
	json_t *reply, *results;

	p += sprintf(p, "{\"concurrency\":64,\"requests\":[");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s{\"id\":\"r%zu\",\"url\":\"%s\"}",
		    i ? "," : "", i, upstream_url(&up, "/ok"));
	strcpy(p, "]}");
	reply = api_submit(fd_.sock, batch);
	results = json_object_get(reply, "results");
	ck_assert_uint_eq(json_array_size(results), n);
	for (i = 0; i < n; i++) {
		json_t *r = json_array_get(results, i);
		char id[16];

		snprintf(id, sizeof(id), "r%zu", i);
		ck_assert_int_eq(jnum(r, "index"), (long long)i);
		ck_assert_str_eq(jstr(r, "id"), id);
		ck_assert_int_eq(jnum(r, "status"), 200);
	}
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "errors"), 0);
	json_decref(reply);
	free(batch);
}
END_TEST

START_TEST(test_truncation)
{
	char batch[1024];
	json_t *reply, *r;

	snprintf(batch, sizeof(batch), "{\"requests\":["
	    "{\"url\":\"%s\",\"max_response_bytes\":1000},"
	    "{\"url\":\"%s\",\"max_response_bytes\":10000},"
	    "{\"url\":\"%s\",\"max_response_bytes\":5000}]}",
	    upstream_url(&up, "/bytes/5000"),
	    upstream_url(&up, "/chunked/inf"),
	    upstream_url(&up, "/bytes/5000"));
	reply = api_submit(fd_.sock, batch);
	r = result_at(reply, 0);
	ck_assert(json_is_true(json_object_get(r, "truncated")));
	ck_assert_int_eq(jnum(r, "body_bytes"), 1000);
	ck_assert_ptr_null(jerr(r));
	r = result_at(reply, 1);
	ck_assert(json_is_true(json_object_get(r, "truncated")));
	ck_assert_int_eq(jnum(r, "body_bytes"), 10000);
	ck_assert_ptr_null(jerr(r));
	r = result_at(reply, 2);
	ck_assert(json_is_false(json_object_get(r, "truncated")));
	ck_assert_int_eq(jnum(r, "body_bytes"), 5000);
	json_decref(reply);
}
END_TEST

START_TEST(test_upstream_faults)
{
	char batch[1024];
	json_t *reply, *r;

	snprintf(batch, sizeof(batch), "{\"requests\":["
	    "{\"url\":\"%s\"},{\"url\":\"%s\"},"
	    "{\"url\":\"http://nonexistent.invalid/\"}]}",
	    upstream_url(&up, "/reset"), upstream_url(&up, "/garbage"));
	reply = api_submit(fd_.sock, batch);
	r = result_at(reply, 0);
	ck_assert_str_eq(jerr(r), "connection_closed");
	ck_assert_int_eq(jnum(r, "status"), 200);	/* partial, not success */
	ck_assert_int_eq(jnum(r, "body_bytes"), 10);
	r = result_at(reply, 1);
	ck_assert_str_eq(jerr(r), "protocol_error");
	r = result_at(reply, 2);
	ck_assert_str_eq(jerr(r), "dns_failed");
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "errors"), 3);
	json_decref(reply);
}
END_TEST

/* Each bad request gets its status, code and path; the daemon stays up. */
START_TEST(test_bad_requests)
{
	static const struct {
		const char *method, *path, *body;
		long status;
		const char *code, *epath;
	} cases[] = {
		{ "POST", "/v1/batches", "nope", 400, "invalid_json", NULL },
		{ "POST", "/v1/batches", "", 400, "invalid_json", NULL },
		{ "POST", "/v1/batches", "{\"a\":1,\"a\":2}", 400,
		  "invalid_json", NULL },
		{ "POST", "/v1/batches", "{}", 400, "invalid_batch",
		  "requests" },
		{ "POST", "/v1/batches", "{\"requests\":[]}", 400,
		  "invalid_batch", "requests" },
		{ "POST", "/v1/batches", "{\"requests\":[{\"url\":\"ftp://x/\"}]}",
		  400, "invalid_batch", "requests[0].url" },
		{ "POST", "/v1/batches", "{\"requests\":[{\"url\":\"http://x/\","
		  "\"headers\":{\"A\":\"b\\r\\nc\"}}]}", 400, "invalid_batch",
		  "requests[0].headers.A" },
		{ "POST", "/v1/batches", "{\"requests\":[{\"url\":\"http://x/\","
		  "\"body\":\"a\",\"body_base64\":\"YQ==\"}]}", 400,
		  "invalid_batch", "requests[0].body_base64" },
		{ "POST", "/v1/batches", "{\"requests\":[{\"url\":\"http://x/\","
		  "\"timeout_ms\":-1}]}", 400, "invalid_batch",
		  "requests[0].timeout_ms" },
		{ "PUT", "/v1/batches", NULL, 405, "method_not_allowed", NULL },
		{ "GET", "/v1/batches/nope", NULL, 404, "not_found", NULL },
		{ "GET", "/v1/batches/0123456789abcdef0123456789abcdef", NULL,
		  404, "not_found", NULL },
		{ "DELETE", "/healthz", NULL, 405, "method_not_allowed", NULL },
		{ "GET", "/nope", NULL, 404, "not_found", NULL },
	};
	json_t *j, *e;
	long status;
	size_t i;
	char longuri[2100], *out, *big;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = api_json(fd_.sock, cases[i].method, cases[i].path,
		    cases[i].body, &status);
		e = json_object_get(j, "error");
		ck_assert_msg(status == cases[i].status, "case %zu: %ld", i,
		    status);
		ck_assert_str_eq(jstr(e, "code"), cases[i].code);
		ck_assert(jstr(e, "message") != NULL);
		if (cases[i].epath)
			ck_assert_str_eq(jstr(e, "path"), cases[i].epath);
		json_decref(j);
	}
	/*
	 * A big body labelled form-encoded (as curl -d does) is not parsed
	 * by libevhtp as a query string: that crashed it at ~8 MB.
	 */
	big = malloc(9 << 20);
	memset(big, 'a', 9 << 20);
	big[0] = '{';
	big[(9 << 20) - 1] = '\0';
	j = api_json(fd_.sock, "POST", "/v1/batches", big, &status);
	ck_assert_int_eq(status, 400);
	ck_assert_str_eq(jstr(json_object_get(j, "error"), "code"),
	    "invalid_json");
	json_decref(j);
	free(big);
	/* HEAD has no body; SIGHUP does not stop the daemon. */
	ck_assert_int_eq(api_call(fd_.sock, "HEAD", "/healthz", NULL, &out),
	    200);
	ck_assert_str_eq(out, "");
	free(out);
	json_decref(daemon_reload(&fd_, SIGHUP));
	/* Long URIs are refused, not mis-parsed (libevhtp #128, #147). */
	memset(longuri, 'a', sizeof(longuri) - 1);
	longuri[sizeof(longuri) - 1] = '\0';
	memcpy(longuri, "/healthz?q=", 11);
	ck_assert_int_eq(api_call(fd_.sock, "GET", longuri, NULL, &out), 414);
	ck_assert_ptr_nonnull(strstr(out, "uri_too_long"));
	free(out);
	j = api_json(fd_.sock, "GET", "/healthz", NULL, &status);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(jstr(j, "status"), "ok");
	json_decref(j);
}
END_TEST

START_TEST(test_limits_413)
{
	struct daemon d;
	char *big, *out;
	json_t *j;
	long status;
	size_t i;

	daemon_start(&d, "max_request_bytes = 4096\nmax_batch_requests = 2\n");
	big = malloc(100000);
	strcpy(big, "{\"requests\":[{\"url\":\"http://x/\",\"body\":\"");
	for (i = strlen(big); i < 99000; i++)
		big[i] = 'a';
	strcpy(big + i, "\"}]}");
	j = api_json(d.sock, "POST", "/v1/batches", big, &status);
	ck_assert_int_eq(status, 413);
	ck_assert_str_eq(jstr(json_object_get(j, "error"), "code"),
	    "payload_too_large");
	json_decref(j);
	j = api_json(d.sock, "POST", "/v1/batches", "{\"requests\":["
	    "{\"url\":\"http://x/\"},{\"url\":\"http://x/\"},"
	    "{\"url\":\"http://x/\"}]}", &status);
	ck_assert_int_eq(status, 413);
	ck_assert_str_eq(jstr(json_object_get(j, "error"), "path"), "requests");
	json_decref(j);
	ck_assert_int_eq(api_call(d.sock, "GET", "/healthz", NULL, &out), 200);
	free(out);
	free(big);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* A client that leaves mid-batch cancels it: transfers are aborted. */
START_TEST(test_disconnect_cancels)
{
	char batch[1024], *log;
	json_t *h;
	long status;
	int s;

	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"},"
	    "{\"url\":\"%s\"},{\"url\":\"%s\"}],\"concurrency\":2}",
	    upstream_url(&up, "/hang"), upstream_url(&up, "/hang"),
	    upstream_url(&up, "/hang"));
	s = raw_post(fd_.sock, batch);
	wait_until(upstream_count(&up, "inflight") == 2, 5000);
	close(s);
	/* aborted within a second */
	wait_until(upstream_count(&up, "inflight") == 0, 1000);
	h = api_json(fd_.sock, "GET", "/healthz", NULL, &status);
	ck_assert_int_eq(jnum(h, "batches"), 0);
	ck_assert_int_eq(jnum(h, "inflight"), 0);
	json_decref(h);
	log = daemon_log(&fd_);
	ck_assert_msg(strstr(log, "3 errors") && strstr(log, "(cancelled)"),
	    "%s", log);
	free(log);
}
END_TEST

/* The API timeout closes idle connections but not a waiting client. */
START_TEST(test_api_timeout)
{
	struct daemon d;
	char batch[512], c;
	json_t *reply;
	long status;
	int s;

	daemon_start(&d, "api_timeout_ms = 300\n");
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"}]}",
	    upstream_url(&up, "/delay/1000"));
	reply = api_json(d.sock, "POST", "/v1/batches", batch, &status);
	ck_assert_int_eq(status, 200);
	ck_assert_int_eq(jnum(result_at(reply, 0), "status"), 200);
	json_decref(reply);
	s = raw_connect(d.sock);
	/* closed, with nothing written, once api_timeout_ms has passed */
	wait_until(recv(s, &c, 1, MSG_PEEK | MSG_DONTWAIT) != -1, 800);
	ck_assert_int_eq(recv(s, &c, 1, MSG_DONTWAIT), 0);
	close(s);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* The egress policy judges the address connected to, however written. */
START_TEST(test_egress_policy)
{
	struct daemon d;
	char batch[1024];
	json_t *reply, *r, *stats;
	size_t i;

	/* Always denied: cloud metadata, in any spelling. */
	reply = api_submit(fd_.sock, "{\"requests\":["
	    "{\"url\":\"http://169.254.169.254/latest/meta-data/\"},"
	    "{\"url\":\"http://[::ffff:169.254.169.254]/\"},"
	    "{\"url\":\"http://0xa9.0xfe.0xa9.0xfe/\"}]}");
	for (i = 0; i < 3; i++) {
		r = result_at(reply, i);
		ck_assert_str_eq(jerr(r), "blocked");
		ck_assert_ptr_nonnull(strstr(jstr(json_object_get(r, "error"),
		    "message"), "metadata"));
		ck_assert_int_eq(jnum(r, "attempts"), 1);
	}
	json_decref(reply);
	/* deny_loopback: nothing reaches the upstream on 127.0.0.1. */
	daemon_start(&d, "deny_loopback = yes\n");
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"},"
	    "{\"url\":\"http://0x7f.1:%d/ok\"},{\"url\":\"http://"
	    "localhost:%d/ok\"}]}", upstream_url(&up, "/ok"), up.port,
	    up.port);
	reply = api_submit(d.sock, batch);
	for (i = 0; i < 3; i++)
		ck_assert_str_eq(jerr(result_at(reply, i)), "blocked");
	json_decref(reply);
	stats = upstream_json(&up, "/stats");
	ck_assert_int_eq(jnum(stats, "requests"), 0);
	json_decref(stats);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* Proxy variables in the environment must not reroute requests. */
START_TEST(test_env_proxy_ignored)
{
	struct daemon d;
	char proxy[64], batch[512];
	json_t *reply;
	long status;

	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", closed_port());
	setenv("http_proxy", proxy, 1);
	setenv("HTTPS_PROXY", proxy, 1);
	setenv("ALL_PROXY", proxy, 1);
	daemon_start(&d, NULL);
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"}]}",
	    upstream_url(&up, "/ok"));
	reply = api_json(d.sock, "POST", "/v1/batches", batch, &status);
	ck_assert_int_eq(status, 200);
	ck_assert_int_eq(jnum(result_at(reply, 0), "status"), 200);
	json_decref(reply);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

START_TEST(test_health_and_socket)
{
	struct stat st;
	json_t *j;
	long status;

	j = api_json(fd_.sock, "GET", "/healthz", NULL, &status);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(jstr(j, "status"), "ok");
	ck_assert_ptr_nonnull(jstr(j, "version"));
	ck_assert(json_is_integer(json_object_get(j, "uptime_s")));
	ck_assert_int_eq(jnum(j, "inflight"), 0);
	ck_assert_int_eq(jnum(j, "batches"), 0);
	json_decref(j);
	ck_assert_int_eq(stat(fd_.sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0660);
}
END_TEST

START_TEST(test_socket_group)
{
	struct daemon d;
	struct stat st;

	if (getuid() != 0) {
		check_skip("needs root to give the socket away");
		return;
	}
	daemon_start(&d, "socket_group = 65534\nsocket_mode = 0640\n");
	ck_assert_int_eq(stat(d.sock, &st), 0);
	ck_assert_uint_eq(st.st_gid, 65534);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* SIGTERM mid-batch: results say shutdown, the socket goes, exit 0. */
START_TEST(test_sigterm_in_flight)
{
	char batch[1024];
	int status;
	json_t *reply;
	struct bg_client client;
	size_t i;

	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"},"
	    "{\"url\":\"%s\"},{\"url\":\"%s\"}],\"concurrency\":2}",
	    upstream_url(&up, "/hang"), upstream_url(&up, "/hang"),
	    upstream_url(&up, "/hang"));
	bg_submit(&client, fd_.sock, batch);
	wait_until(upstream_count(&up, "inflight") == 2, 5000);
	kill(fd_.pid, SIGTERM);
	waitpid(fd_.pid, &status, 0);
	fd_.pid = 0;
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(access(fd_.sock, F_OK), -1);
	reply = bg_reply(&client);
	ck_assert_msg(reply != NULL, "the waiting client got no JSON reply");
	for (i = 0; i < 3; i++)
		ck_assert_str_eq(jerr(result_at(reply, i)), "shutdown");
	json_decref(reply);
}
END_TEST

START_TEST(test_socket_ownership)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct daemon d;
	char cmd[512], *out;
	int s;

	/* A live daemon's socket is not taken over. */
	snprintf(cmd, sizeof(cmd), "'%s' -s '%s' 2>&1", getenv("FANOUTD"),
	    fd_.sock);
	ck_assert_int_eq(run_cmd(cmd, &out), 1);
	ck_assert_msg(strstr(out, "already listening") != NULL, "%s", out);
	free(out);
	/* A stale socket file is replaced. */
	snprintf(d.sock, sizeof(d.sock), "/tmp/fanoutd-stale.%d.sock",
	    (int)getpid());
	strcpy(sun.sun_path, d.sock);
	unlink(d.sock);		/* left by an earlier run with this pid */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(s);
	daemon_start(&d, NULL);
	ck_assert_int_eq(daemon_stop(&d), 0);
	unlink(sun.sun_path);
	/* A file that is not a socket is never removed. */
	snprintf(d.sock, sizeof(d.sock), "/tmp/fanoutd-file.%d", (int)getpid());
	s = open(d.sock, O_WRONLY | O_CREAT, 0600);
	close(s);
	snprintf(cmd, sizeof(cmd), "'%s' -s '%s' 2>&1", getenv("FANOUTD"),
	    d.sock);
	ck_assert_int_eq(run_cmd(cmd, &out), 1);
	ck_assert_msg(strstr(out, "not a socket") != NULL, "%s", out);
	free(out);
	ck_assert_int_eq(access(d.sock, F_OK), 0);
	unlink(d.sock);
	/* A path too long for a Unix socket is a clear error. */
	memset(cmd, 0, sizeof(cmd));
	snprintf(cmd, sizeof(cmd), "'%s' -s /tmp/%0150d.sock 2>&1",
	    getenv("FANOUTD"), 0);
	ck_assert_int_eq(run_cmd(cmd, &out), 1);
	ck_assert_msg(strstr(out, "too long") != NULL, "%s", out);
	free(out);
}
END_TEST

START_TEST(test_check_config)
{
	char cmd[512], *out, path[] = "/tmp/fanoutd-conf.XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_gt(write(fd, "[fanoutd]\nmax_inflight = 8\n", 27), 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "'%s' -n -c %s 2>&1", getenv("FANOUTD"),
	    path);
	ck_assert_int_eq(run_cmd(cmd, &out), 0);
	ck_assert_str_eq(out, "configuration OK\n");
	free(out);
	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_gt(write(fd, "max_inflite = 3\n", 16), 0);
	close(fd);
	ck_assert_int_eq(run_cmd(cmd, &out), 1);
	ck_assert_msg(strstr(out, ":3: max_inflite: unknown key") != NULL,
	    "%s", out);
	free(out);
	unlink(path);
}
END_TEST

START_TEST(test_cli)
{
	char cmd[1024], *out;
	const char *fanout = getenv("FANOUT");

	snprintf(cmd, sizeof(cmd), "'%s' -s '%s' get '%s' '%s'", fanout,
	    fd_.sock, upstream_url(&up, "/ok"), upstream_url(&up, "/status/503"));
	ck_assert_int_eq(run_cmd(cmd, &out), 0);
	/* one line each, in completion order (either may finish first) */
	ck_assert_msg((strncmp(out, "200 ", 4) == 0 &&
	    strstr(out, "\n503 ") != NULL) || (strncmp(out, "503 ", 4) == 0 &&
	    strstr(out, "\n200 ") != NULL), "%s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "echo '%s' | FANOUT_SOCKET='%s' '%s' get "
	    "--json", upstream_url(&up, "/ok"), fd_.sock, fanout);
	ck_assert_int_eq(run_cmd(cmd, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"batch_id\""));
	free(out);
	snprintf(cmd, sizeof(cmd), "echo '{\"requests\":[]}' | '%s' -s '%s' "
	    "submit - 2>&1", fanout, fd_.sock);
	ck_assert_int_eq(run_cmd(cmd, &out), 1);
	ck_assert_msg(strstr(out, "invalid_batch") != NULL, "%s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "'%s' -s '%s' health", fanout, fd_.sock);
	ck_assert_int_eq(run_cmd(cmd, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"ok\""));
	free(out);
	snprintf(cmd, sizeof(cmd), "'%s' -s /tmp/no-such-fanoutd.sock health "
	    "2>/dev/null", fanout);
	ck_assert_int_eq(run_cmd(cmd, NULL), 2);
}
END_TEST

/* Has the batch at path (/v1/batches/ID) ended with state done? */
static int
batch_done(const char *path)
{
	long status;
	json_t *st = api_json(fd_.sock, "GET", path, NULL, &status);
	int done = jstr(st, "state") != NULL &&
	    strcmp(jstr(st, "state"), "done") == 0;

	json_decref(st);
	return done;
}

/* The latency object q of summary.hosts: p50 <= p90 <= p99 <= max. */
static void
ordered(json_t *q)
{
	ck_assert(json_is_object(q));
	ck_assert(jreal(q, "p50") <= jreal(q, "p90"));
	ck_assert(jreal(q, "p90") <= jreal(q, "p99"));
	ck_assert(jreal(q, "p99") <= jreal(q, "max"));
	ck_assert(jreal(q, "max") > 0);
}

/*
 * summary.hosts: per origin, counts by class and error, latency
 * quantiles; in the wait reply, the stream's summary line and GET
 * /v1/batches/ID alike.
 */
START_TEST(test_summary_hosts)
{
	char batch[1536], origin[128], path[96], *out;
	json_t *reply, *h, *st;
	long status;

	snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", up.port);
	snprintf(batch, sizeof(batch), "{\"requests\":["
	    "{\"url\":\"%s\"},{\"url\":\"%s\"},{\"url\":\"%s\"},"
	    "{\"url\":\"%s\"},{\"url\":\"http://127.0.0.1:1/\"}]}",
	    upstream_url(&up, "/ok"), upstream_url(&up, "/delay/30"),
	    upstream_url(&up, "/status/503"), upstream_url(&up, "/status/404"));
	reply = api_submit(fd_.sock, batch);
	h = json_object_get(json_object_get(json_object_get(reply, "summary"),
	    "hosts"), origin);
	ck_assert_msg(h != NULL, "no %s", origin);
	ck_assert_int_eq(jnum(h, "count"), 4);
	ck_assert_int_eq(jnum(json_object_get(h, "responses"), "2xx"), 2);
	ck_assert_int_eq(jnum(json_object_get(h, "responses"), "4xx"), 1);
	ck_assert_int_eq(jnum(json_object_get(h, "responses"), "5xx"), 1);
	ck_assert_uint_eq(json_object_size(json_object_get(h, "errors")), 0);
	ordered(json_object_get(h, "total_ms"));
	ordered(json_object_get(h, "ttfb_ms"));
	ck_assert_msg(jreal(json_object_get(h, "total_ms"), "max") >= 25,
	    "%g", jreal(json_object_get(h, "total_ms"), "max"));
	h = json_object_get(json_object_get(json_object_get(reply, "summary"),
	    "hosts"), "http://127.0.0.1:1");
	ck_assert_int_eq(jnum(json_object_get(h, "errors"), "connect_failed"),
	    1);
	ck_assert(json_is_null(json_object_get(h, "ttfb_ms")));
	json_decref(reply);

	/* async: GET /v1/batches/ID once done */
	snprintf(batch, sizeof(batch), "{\"mode\":\"async\",\"requests\":"
	    "[{\"url\":\"%s\"}]}", upstream_url(&up, "/ok"));
	reply = api_json(fd_.sock, "POST", "/v1/batches", batch, &status);
	ck_assert_int_eq(status, 202);
	snprintf(path, sizeof(path), "/v1/batches/%s", jstr(reply, "batch_id"));
	json_decref(reply);
	wait_until(batch_done(path), 5000);
	st = api_json(fd_.sock, "GET", path, NULL, &status);
	h = json_object_get(json_object_get(json_object_get(st, "summary"),
	    "hosts"), origin);
	ck_assert_int_eq(jnum(h, "count"), 1);
	json_decref(st);

	/* the stream's summary line, through fanout get --report */
	snprintf(batch, sizeof(batch), "'%s' -s '%s' get --report '%s' '%s'",
	    getenv("FANOUT"), fd_.sock, upstream_url(&up, "/ok"),
	    upstream_url(&up, "/status/503"));
	ck_assert_int_eq(run_cmd(batch, &out), 0);
	ck_assert_msg(strstr(out, origin) != NULL &&
	    strstr(out, "2xx 1 3xx 0 4xx 0 5xx 1") != NULL &&
	    strstr(out, "total_ms   p50 ") != NULL &&
	    strstr(out, "batch: 2 requests, 2 responses, 0 errors") != NULL,
	    "%s", out);
	free(out);
}
END_TEST

static Suite *
api_suite(void)
{
	Suite *s = suite_create("api");
	const struct check_opts opts = {
		.setup = setup, .teardown = teardown, .timeout_s = 60
	};

	check_add_with(s, &opts, test_mixed_batch);
	check_add_with(s, &opts, test_post_without_body);
	check_add_with(s, &opts, test_request_helpers);
	check_add_with(s, &opts, test_response_body);
	check_add_with(s, &opts, test_redirect_history);
	check_add_with(s, &opts, test_summary_hosts);
	check_add_with(s, &opts, test_handle_reuse_methods);
	check_add_with(s, &opts, test_timeout_accuracy);
	check_add_with(s, &opts, test_connect_refused);
	check_add_with(s, &opts, test_concurrency_respected);
	check_add_with(s, &opts, test_ten_thousand);
	check_add_with(s, &opts, test_truncation);
	check_add_with(s, &opts, test_upstream_faults);
	check_add_with(s, &opts, test_bad_requests);
	check_add_with(s, &opts, test_limits_413);
	check_add_with(s, &opts, test_env_proxy_ignored);
	check_add_with(s, &opts, test_egress_policy);
	check_add_with(s, &opts, test_disconnect_cancels);
	check_add_with(s, &opts, test_api_timeout);
	check_add_with(s, &opts, test_health_and_socket);
	check_add_with(s, &opts, test_socket_group);
	check_add_with(s, &opts, test_sigterm_in_flight);
	check_add_with(s, &opts, test_socket_ownership);
	check_add_with(s, &opts, test_check_config);
	check_add_with(s, &opts, test_cli);
	return s;
}

int
main(void)
{
	return check_run(api_suite());
}
