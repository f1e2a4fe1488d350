/*
 * check_sched.c: the scheduler end to end: host rates and in-flight limits
 * across batches and clients, no head-of-line blocking, round-robin between
 * batches, retries with backoff and Retry-After, deadlines, redirects and
 * the circuit breaker, against the real local upstream. Timing bounds are
 * generous; speed is measured in bench/, not here.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "check_main.h"

static struct upstream up, up2;
static struct daemon dm;

/* Start both upstreams, then fanoutd with conf (PORT1 filled in). */
static void
start(const char *conf)
{
	char buf[2048], port[16];
	const char *p;

	upstream_start(&up);
	upstream_start(&up2);
	snprintf(port, sizeof(port), "%d", up.port);
	buf[0] = '\0';
	while (conf != NULL && (p = strstr(conf, "PORT1")) != NULL) {
		strncat(buf, conf, (size_t)(p - conf));
		strcat(buf, port);
		conf = p + 5;
	}
	if (conf != NULL)
		strcat(buf, conf);
	daemon_start(&dm, buf);
}

static void
teardown(void)
{
	int rc = dm.pid > 0 ? daemon_stop(&dm) : 0;

	upstream_stop(&up);
	upstream_stop(&up2);
	ck_assert_msg(rc == 0, "fanoutd exited %d", rc);
}

/* A batch of n copies of {"url": url ...extra}. */
static char *
repeat_batch(const char *head, size_t n, const char *url, const char *extra)
{
	size_t cap = n * (strlen(url) + strlen(extra) + 32) + strlen(head) + 8;
	char *b = malloc(cap), *p = b;
	size_t i;

	p += sprintf(p, "{%s\"requests\":[", head);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s{\"url\":\"%s\"%s}", i ? "," : "", url,
		    extra);
	strcpy(p, "]}");
	return b;
}

/* The upstream's arrival times (ms), sorted as they came. */
static size_t
arrivals(const struct upstream *u, double *out, size_t max)
{
	json_t *j = upstream_json(u, "/arrivals"), *a =
	    json_object_get(j, "arrivals_ms"), *v;
	size_t i, n = 0;

	json_array_foreach(a, i, v)
		if (n < max)
			out[n++] = json_number_value(v);
	json_decref(j);
	return n;
}

START_TEST(test_host_rate)
{
	double t[200], t0;
	size_t n, i, j, most = 0;
	char *batch;
	json_t *reply;

	start("[host 127.0.0.1:PORT1]\nrate = 20/s\nburst = 1\n");
	batch = repeat_batch("\"concurrency\":64,", 100,
	    upstream_url(&up, "/ok"), "");
	t0 = now_ms();
	reply = api_submit(dm.sock, batch);
	ck_assert_msg(now_ms() - t0 >= 4900, "100 requests at 20/s took "
	    "%.0f ms", now_ms() - t0);
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "errors"), 0);
	n = arrivals(&up, t, 200);
	ck_assert_uint_eq(n, 100);
	for (i = 0; i < n; i++) {	/* the busiest one-second window */
		for (j = i; j < n && t[j] < t[i] + 1000; j++)
			;
		if (j - i > most)
			most = j - i;
	}
	ck_assert_msg(most <= 21, "%zu requests in one second", most);
	json_decref(reply);
	free(batch);
}
END_TEST

/* A slow host never holds back a fast one, even in the same batch. */
START_TEST(test_no_head_of_line_blocking)
{
	char *batch, *p, *slow, *fast;
	json_t *reply, *r;
	double t[20];
	size_t i, n;

	start("[host 127.0.0.1:PORT1]\nrate = 2/s\nburst = 1\n");
	slow = repeat_batch("", 1000, upstream_url(&up, "/ok"), "");
	fast = repeat_batch("", 10, upstream_url(&up2, "/ok"), "");
	/* one batch: 1000 slow requests first, then 10 fast ones */
	batch = malloc(strlen(slow) + strlen(fast) + 64);
	p = batch + sprintf(batch, "{\"deadline_ms\":1500,");
	memcpy(p, slow + 1, strlen(slow) - 3);	/* without "]}" */
	p += strlen(slow) - 3;
	p += sprintf(p, ",%s", strstr(fast, "[") + 1);
	*p = '\0';
	reply = api_submit(dm.sock, batch);
	for (i = 1000; i < 1010; i++) {
		r = result_at(reply, i);
		ck_assert_int_eq(jnum(r, "status"), 200);
		ck_assert_msg(jreal(json_object_get(r, "timings"), "queue_ms") <
		    scaled_ms(500), "fast request %zu queued %.1f ms", i,
		    jreal(json_object_get(r, "timings"), "queue_ms"));
	}
	n = arrivals(&up2, t, 20);
	ck_assert_uint_eq(n, 10);
	ck_assert_msg(t[9] - t[0] < scaled_ms(500), "fast host took %.0f ms", t[9] - t[0]);
	ck_assert_str_eq(jerr(result_at(reply, 999)), "deadline_exceeded");
	json_decref(reply);
	free(batch);
	free(slow);
	free(fast);
}
END_TEST

/* Two batches on one saturated host take turns: the small one is not
 * starved by the big one that came first. */
START_TEST(test_batches_interleave)
{
	char *big, *small;
	double t0, small_ms;
	json_t *reply;
	pid_t child;
	int status;

	start("[host 127.0.0.1:PORT1]\nrate = 10/s\nburst = 1\ninflight = 1\n");
	big = repeat_batch("", 30, upstream_url(&up, "/ok"), "");
	small = repeat_batch("", 3, upstream_url(&up, "/ok"), "");
	if ((child = fork()) == 0) {
		char *out;

		api_call(dm.sock, "POST", "/v1/batches", big, &out);
		_exit(0);
	}
	/* the big batch is queued first */
	wait_until(api_num(dm.sock, "/healthz", "batches") == 1, 5000);
	t0 = now_ms();
	reply = api_submit(dm.sock, small);
	small_ms = now_ms() - t0;
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "errors"), 0);
	/* Round-robin: ~3 turns of 2 (0.6 s), not after the big one (3 s). */
	ck_assert_msg(small_ms < scaled_ms(1500), "small batch took %.0f ms", small_ms);
	waitpid(child, &status, 0);
	json_decref(reply);
	free(big);
	free(small);
}
END_TEST

START_TEST(test_retries_flaky)
{
	char batch[1024];
	json_t *reply, *r, *log;

	start(NULL);
	snprintf(batch, sizeof(batch), "{\"defaults\":{\"retry_base_ms\":10},"
	    "\"requests\":[{\"url\":\"%s\",\"retries\":2},"
	    "{\"url\":\"%s\",\"retries\":1},"
	    "{\"url\":\"%s\",\"method\":\"POST\",\"retries\":2},"
	    "{\"url\":\"%s\",\"method\":\"POST\",\"retries\":2,"
	    "\"headers\":{\"Idempotency-Key\":\"abc\"}}]}",
	    upstream_url(&up, "/flaky/2/a"), upstream_url(&up, "/flaky/2/b"),
	    upstream_url(&up, "/flaky/1/c"), upstream_url(&up, "/flaky/1/d"));
	reply = api_submit(dm.sock, batch);
	r = result_at(reply, 0);	/* 503, 503, then 200 */
	ck_assert_int_eq(jnum(r, "status"), 200);
	ck_assert_int_eq(jnum(r, "attempts"), 3);
	log = json_object_get(r, "attempt_log");
	ck_assert_uint_eq(json_array_size(log), 3);
	ck_assert_int_eq(jnum(json_array_get(log, 0), "status"), 503);
	ck_assert_int_eq(jnum(json_array_get(log, 2), "status"), 200);
	ck_assert(jreal(json_array_get(log, 1), "started_ms") >=
	    jreal(json_array_get(log, 0), "started_ms"));
	r = result_at(reply, 1);	/* out of retries: the last 503 stays */
	ck_assert_int_eq(jnum(r, "status"), 503);
	ck_assert_int_eq(jnum(r, "attempts"), 2);
	ck_assert_ptr_null(jerr(r));
	r = result_at(reply, 2);	/* POST is not retried */
	ck_assert_int_eq(jnum(r, "status"), 503);
	ck_assert_int_eq(jnum(r, "attempts"), 1);
	r = result_at(reply, 3);	/* unless it carries Idempotency-Key */
	ck_assert_int_eq(jnum(r, "status"), 200);
	ck_assert_int_eq(jnum(r, "attempts"), 2);
	json_decref(reply);
}
END_TEST

/* 429 + Retry-After: 1 pauses the whole host for about a second. */
START_TEST(test_retry_after_pauses_host)
{
	char batch[1024];
	json_t *reply, *r;
	double t[8];
	size_t n;

	start(NULL);
	snprintf(batch, sizeof(batch), "{\"concurrency\":1,\"requests\":["
	    "{\"url\":\"%s\"},{\"url\":\"%s\"},{\"url\":\"%s\"}]}",
	    upstream_url(&up, "/throttle/1"), upstream_url(&up, "/ok"),
	    upstream_url(&up2, "/ok"));
	reply = api_submit(dm.sock, batch);
	r = result_at(reply, 0);
	ck_assert_int_eq(jnum(r, "status"), 429);
	ck_assert_int_eq(jnum(r, "attempts"), 1);
	n = arrivals(&up, t, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_msg(t[1] - t[0] >= 900 && t[1] - t[0] < scaled_ms(3000),
	    "second request %.0f ms after the 429", t[1] - t[0]);
	/* The other host was not paused. */
	ck_assert(jreal(json_object_get(result_at(reply, 2), "timings"),
	    "queue_ms") < scaled_ms(900));
	json_decref(reply);
}
END_TEST

START_TEST(test_deadline)
{
	char batch[1024];
	json_t *reply, *r;
	double t0, wall;

	start(NULL);
	snprintf(batch, sizeof(batch), "{\"deadline_ms\":500,\"requests\":["
	    "{\"url\":\"%s\"},{\"url\":\"%s\"},{\"url\":\"%s\","
	    "\"retries\":5}]}",
	    upstream_url(&up, "/delay/50"), upstream_url(&up, "/hang"),
	    upstream_url(&up2, "/throttle/2"));
	t0 = now_ms();
	reply = api_submit(dm.sock, batch);
	wall = now_ms() - t0;
	ck_assert_msg(wall >= 450 && wall < scaled_ms(1500), "wall %.0f ms", wall);
	ck_assert_int_eq(jnum(result_at(reply, 0), "status"), 200);
	r = result_at(reply, 1);
	ck_assert_str_eq(jerr(r), "deadline_exceeded");
	r = result_at(reply, 2);	/* Retry-After 2 s: past the deadline */
	ck_assert_int_eq(jnum(r, "status"), 429);
	ck_assert_int_eq(jnum(r, "attempts"), 1);
	ck_assert_ptr_null(jerr(r));
	json_decref(reply);
}
END_TEST

START_TEST(test_redirects)
{
	char batch[1024];
	json_t *reply, *r;

	start(NULL);
	snprintf(batch, sizeof(batch), "{\"requests\":["
	    "{\"url\":\"%s\",\"follow_redirects\":true},"
	    "{\"url\":\"%s\",\"follow_redirects\":true,\"max_redirects\":2},"
	    "{\"url\":\"%s\"}]}", upstream_url(&up, "/redirect/3"),
	    upstream_url(&up, "/redirect-loop"),
	    upstream_url(&up, "/redirect/1"));
	reply = api_submit(dm.sock, batch);
	r = result_at(reply, 0);
	ck_assert_int_eq(jnum(r, "status"), 200);
	ck_assert_int_eq(jnum(r, "redirects"), 3);
	ck_assert_str_eq(jstr(r, "final_url"), upstream_url(&up, "/redirect/0"));
	r = result_at(reply, 1);
	ck_assert_str_eq(jerr(r), "too_many_redirects");
	r = result_at(reply, 2);	/* not followed unless asked */
	ck_assert_int_eq(jnum(r, "status"), 302);
	ck_assert_int_eq(jnum(r, "redirects"), 0);
	json_decref(reply);
}
END_TEST

/* Whether /v1/hosts shows the first host's breaker in state. */
static int
breaker_is(const char *state)
{
	long status;
	json_t *hosts = api_json(dm.sock, "GET", "/v1/hosts", NULL, &status);
	json_t *h = json_array_get(json_object_get(hosts, "hosts"), 0);
	int is = strcmp(jstr(json_object_get(h, "state"), "breaker"),
	    state) == 0;

	json_decref(hosts);
	return is;
}

START_TEST(test_breaker)
{
	char batch[512], *b5;
	json_t *reply, *hosts, *h;
	long status;

	start("breaker_failures = 3\nbreaker_open_ms = 600\n");
	b5 = repeat_batch("\"concurrency\":1,", 6,
	    upstream_url(&up, "/status/503"), "");
	reply = api_submit(dm.sock, b5);
	ck_assert_int_eq(jnum(result_at(reply, 2), "status"), 503);
	ck_assert_str_eq(jerr(result_at(reply, 3)), "circuit_open");
	ck_assert_str_eq(jerr(result_at(reply, 5)), "circuit_open");
	json_decref(reply);
	hosts = api_json(dm.sock, "GET", "/v1/hosts", NULL, &status);
	h = json_array_get(json_object_get(hosts, "hosts"), 0);
	ck_assert_str_eq(jstr(json_object_get(h, "state"), "breaker"), "open");
	json_decref(hosts);
	wait_until(breaker_is("half_open"), 3000);	/* open_ms passes */
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"}]}",
	    upstream_url(&up, "/ok"));
	reply = api_submit(dm.sock, batch);
	ck_assert_int_eq(jnum(result_at(reply, 0), "status"), 200);
	json_decref(reply);
	hosts = api_json(dm.sock, "GET", "/v1/hosts", NULL, &status);
	h = json_array_get(json_object_get(hosts, "hosts"), 0);
	ck_assert_str_eq(jstr(json_object_get(h, "state"), "breaker"),
	    "closed");
	ck_assert_int_eq(jnum(json_object_get(json_object_get(h, "counters"),
	    "responses"), "5xx"), 3);
	json_decref(hosts);
	free(b5);
}
END_TEST

/*
 * A plain 500 is an answer, not an outage: by default it does not count
 * towards the breaker, so no request is refused; a [host] that says
 * breaker_on = 500 counts it.
 */
START_TEST(test_breaker_on)
{
	char *b;
	json_t *reply;
	long status;
	size_t i;

	start("breaker_failures = 3\nbreaker_open_ms = 60000\n"
	    "[host 127.0.0.1:PORT1]\nbreaker_on = connect_failed, 500\n");
	b = repeat_batch("\"concurrency\":1,", 10,
	    upstream_url(&up2, "/status/500"), "");
	reply = api_submit(dm.sock, b);	/* up2: the default set */
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(jnum(result_at(reply, i), "status"), 500);
		ck_assert_ptr_null(jerr(result_at(reply, i)));
	}
	json_decref(reply);
	free(b);
	b = repeat_batch("\"concurrency\":1,", 6,
	    upstream_url(&up2, "/status/502"), "");
	reply = api_submit(dm.sock, b);	/* but a 502 counts */
	ck_assert_int_eq(jnum(result_at(reply, 2), "status"), 502);
	ck_assert_str_eq(jerr(result_at(reply, 3)), "circuit_open");
	json_decref(reply);
	free(b);
	b = repeat_batch("\"concurrency\":1,", 6,
	    upstream_url(&up, "/status/500"), "");
	reply = api_submit(dm.sock, b);	/* up: breaker_on = 500 */
	ck_assert_int_eq(jnum(result_at(reply, 2), "status"), 500);
	ck_assert_str_eq(jerr(result_at(reply, 3)), "circuit_open");
	json_decref(reply);
	free(b);
	reply = api_json(dm.sock, "GET", "/v1/config", NULL, &status);
	b = json_dumps(reply, JSON_COMPACT);
	ck_assert_ptr_nonnull(strstr(b,
	    "\"breaker_on\":\"connect_failed, 500\""));
	json_decref(reply);
	free(b);
}
END_TEST

/* A host limit in the config holds across two clients at once. */
START_TEST(test_limit_across_clients)
{
	char *batch;
	json_t *stats, *hosts;
	pid_t kids[2];
	long status;
	int i;

	start("[host 127.0.0.1:PORT1]\ninflight = 2\n");
	batch = repeat_batch("\"concurrency\":10,", 10,
	    upstream_url(&up, "/delay/100"), "");
	for (i = 0; i < 2; i++)
		if ((kids[i] = fork()) == 0) {
			char *out;

			_exit(api_call(dm.sock, "POST", "/v1/batches", batch,
			    &out) == 200 ? 0 : 1);
		}
	for (i = 0; i < 2; i++) {
		waitpid(kids[i], NULL, 0);
	}
	stats = upstream_json(&up, "/stats");
	ck_assert_int_eq(jnum(stats, "requests"), 20);
	ck_assert_msg(jnum(stats, "max_inflight") == 2, "upstream saw %lld",
	    jnum(stats, "max_inflight"));
	json_decref(stats);
	hosts = api_json(dm.sock, "GET", "/v1/hosts", NULL, &status);
	ck_assert_int_eq(jnum(json_object_get(json_array_get(json_object_get(
	    hosts, "hosts"), 0), "limits"), "inflight"), 2);
	json_decref(hosts);
	free(batch);
}
END_TEST

/*
 * One host, however its name is spelled: a [host] limit keyed on
 * localhost held http://localhost:P/ but not http://localhost.:P/, which
 * got a host entry of its own with the default inflight (and a real
 * name's trailing dot escaped every [host] rate). Case, a trailing dot
 * and the default port all name one host now.
 */
START_TEST(test_host_spellings_are_one_host)
{
	/* localhost. does not resolve here: the dot is in the second part */
	const char *spell[] = { "localhost", "LOCALHOST", "LocalHost",
	    "localHOST" };
	char *batch, *p;
	json_t *stats, *hosts, *h, *reply;
	long status;
	size_t i, j;

	start("[host localhost:PORT1]\ninflight = 1\n");
	batch = malloc(4096);
	p = batch + sprintf(batch, "{\"concurrency\":8,\"requests\":[");
	for (i = 0; i < 8; i++)
		p += sprintf(p, "%s{\"url\":\"http://%s:%d/delay/100\"}",
		    i ? "," : "", spell[i % 4], up.port);
	strcpy(p, "]}");
	reply = api_submit(dm.sock, batch);
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "errors"), 0);
	json_decref(reply);
	stats = upstream_json(&up, "/stats");
	ck_assert_int_eq(jnum(stats, "requests"), 8);
	ck_assert_msg(jnum(stats, "max_inflight") == 1, "upstream saw %lld "
	    "at once", jnum(stats, "max_inflight"));
	json_decref(stats);
	hosts = api_json(dm.sock, "GET", "/v1/hosts", NULL, &status);
	h = json_object_get(hosts, "hosts");
	ck_assert_int_eq(json_array_size(h), 1);
	ck_assert_int_eq(jnum(json_object_get(json_array_get(h, 0), "limits"),
	    "inflight"), 1);
	json_decref(hosts);

	/* Names that do not resolve: one host entry all the same. */
	sprintf(batch, "{\"requests\":[{\"url\":\"http://x.test./\"},"
	    "{\"url\":\"http://X.TEST/\"},{\"url\":\"http://x.test:80/\"},"
	    "{\"url\":\"HTTP://x.Test:80/a\"}]}");
	json_decref(api_submit(dm.sock, batch));
	hosts = api_json(dm.sock, "GET", "/v1/hosts", NULL, &status);
	h = json_object_get(hosts, "hosts");
	ck_assert_int_eq(json_array_size(h), 2);
	for (i = 0, j = 0; i < json_array_size(h); i++)
		if (strcmp(jstr(json_array_get(h, i), "host"),
		    "http://x.test:80") == 0)
			j++;
	ck_assert_msg(j == 1, "no single http://x.test:80 in /v1/hosts");
	json_decref(hosts);
	free(batch);
}
END_TEST

/* Waiting for a token is queue time, never counted against timeout_ms. */
START_TEST(test_queue_time_is_not_timeout)
{
	char *batch;
	json_t *reply;

	start("[host 127.0.0.1:PORT1]\nrate = 4/s\nburst = 1\n");
	batch = repeat_batch("", 4, upstream_url(&up, "/ok"),
	    ",\"timeout_ms\":200");
	reply = api_submit(dm.sock, batch);
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "errors"), 0);
	ck_assert(jreal(json_object_get(result_at(reply, 3), "timings"),
	    "queue_ms") > 500);
	json_decref(reply);
	free(batch);
}
END_TEST

START_TEST(test_batch_rate_and_validation)
{
	char *batch;
	json_t *reply, *j;
	double t0;
	long status;

	start(NULL);
	batch = repeat_batch("\"rate\":{\"per_second\":10,\"burst\":1},", 6,
	    upstream_url(&up, "/ok"), "");
	t0 = now_ms();
	reply = api_submit(dm.sock, batch);
	ck_assert_msg(now_ms() - t0 >= 450, "6 at 10/s took %.0f ms",
	    now_ms() - t0);
	json_decref(reply);
	free(batch);
	j = api_json(dm.sock, "POST", "/v1/batches", "{\"requests\":[{\"url\":"
	    "\"http://x/\",\"retry_on\":[\"cancelled\"]}]}", &status);
	ck_assert_int_eq(status, 400);
	ck_assert_str_eq(jstr(json_object_get(j, "error"), "path"),
	    "requests[0].retry_on[0]");
	json_decref(j);
	j = api_json(dm.sock, "POST", "/v1/batches", "{\"requests\":[{\"url\":"
	    "\"http://x/\",\"retries\":11}]}", &status);
	ck_assert_int_eq(status, 400);
	json_decref(j);
	j = api_json(dm.sock, "POST", "/v1/batches", "{\"rate\":{\"per_second\""
	    ":0},\"requests\":[{\"url\":\"http://x/\"}]}", &status);
	ck_assert_int_eq(status, 400);
	ck_assert_str_eq(jstr(json_object_get(j, "error"), "path"),
	    "rate.per_second");
	json_decref(j);
}
END_TEST

static Suite *
sched_suite(void)
{
	Suite *s = suite_create("sched");
	const struct check_opts opts = {
		.teardown = teardown, .timeout_s = 60
	};

	check_add_with(s, &opts, test_host_rate);
	check_add_with(s, &opts, test_no_head_of_line_blocking);
	check_add_with(s, &opts, test_batches_interleave);
	check_add_with(s, &opts, test_retries_flaky);
	check_add_with(s, &opts, test_retry_after_pauses_host);
	check_add_with(s, &opts, test_deadline);
	check_add_with(s, &opts, test_redirects);
	check_add_with(s, &opts, test_breaker);
	check_add_with(s, &opts, test_breaker_on);
	check_add_with(s, &opts, test_limit_across_clients);
	check_add_with(s, &opts, test_host_spellings_are_one_host);
	check_add_with(s, &opts, test_queue_time_is_not_timeout);
	check_add_with(s, &opts, test_batch_rate_and_validation);
	return s;
}

int
main(void)
{
	return check_run(sched_suite());
}
