/*
 * check_ops.c: fanoutd as ops run it: reload (good and bad files), drain
 * and its timeout, readiness, Prometheus metrics read by a strict parser,
 * the sd_notify conversation, socket activation, the TCP health listener,
 * JSON logs, and the service unit's exposure score.
 */
#include <check.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <ctype.h>
#include <errno.h>
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
static struct daemon dm;

static void
teardown(void)
{
	int rc = dm.pid > 0 ? daemon_stop(&dm) : 0;

	upstream_stop(&up);
	ck_assert_msg(rc == 0, "fanoutd exited %d", rc);
}

/* Exit status of `fanout -s SOCK args`. */
static int
fanout_status(const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "'%s' -s '%s' %s >/dev/null 2>&1",
	    getenv("FANOUT"), dm.sock, args);
	return run_cmd(cmd, NULL);
}

static char *
ten_requests(void)
{
	return batch_of("", 10, upstream_url(&up, "/ok"));
}

START_TEST(test_reload)
{
	char conf[512], *batch;
	json_t *c, *last, *reply;
	double t0;

	upstream_start(&up);
	snprintf(conf, sizeof(conf), "[host 127.0.0.1:%d]\nrate = 2/s\n",
	    up.port);
	daemon_start(&dm, conf);
	batch = ten_requests();
	/* A valid new rate applies to batches started after the reload. */
	snprintf(conf, sizeof(conf), "[fanoutd]\n[host 127.0.0.1:%d]\n"
	    "rate = 1000/s\nburst = 10\n", up.port);
	write_file(dm.conf, conf);
	c = daemon_reload(&dm, SIGHUP);
	last = json_object_get(c, "last_reload");
	ck_assert(json_is_true(json_object_get(last, "ok")));
	ck_assert(json_real_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(c, "config"), "hosts"), 0),
	    "rate_per_second")) == 1000);
	json_decref(c);
	t0 = now_ms();
	reply = api_submit(dm.sock, batch);
	ck_assert_msg(now_ms() - t0 < scaled_ms(2000), "10 requests took %.0f ms at the "
	    "new rate", now_ms() - t0);
	json_decref(reply);
	/* A broken file is refused: the old configuration stays. */
	write_file(dm.conf, "[fanoutd]\nmax_inflight = lots\n");
	c = daemon_reload(&dm, SIGHUP);
	last = json_object_get(c, "last_reload");
	ck_assert(json_is_false(json_object_get(last, "ok")));
	ck_assert_msg(strstr(jstr(last, "error"), ":2: max_inflight") != NULL,
	    "%s", jstr(last, "error"));
	ck_assert_int_eq(jnum(json_object_get(c, "config"), "max_inflight"),
	    256);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(c,
	    "config"), "hosts")), 1);
	json_decref(c);
	free(batch);
	ck_assert_int_eq(api_call(dm.sock, "GET", "/healthz", NULL, &batch),
	    200);
	free(batch);
}
END_TEST

/* A batch in flight survives a reload that changes its host's rate. */
START_TEST(test_reload_in_flight)
{
	char conf[512], batch[512];
	struct bg_client client;
	json_t *reply;

	upstream_start(&up);
	daemon_start(&dm, NULL);
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"},"
	    "{\"url\":\"%s\"}]}", upstream_url(&up, "/delay/700"),
	    upstream_url(&up, "/delay/700"));
	bg_submit(&client, dm.sock, batch);
	wait_until(upstream_count(&up, "inflight") == 2, 5000);
	snprintf(conf, sizeof(conf), "[fanoutd]\nhost_inflight = 1\n"
	    "[host 127.0.0.1:%d]\nrate = 4/h\n", up.port);
	write_file(dm.conf, conf);
	json_decref(daemon_reload(&dm, SIGHUP));
	reply = bg_reply(&client);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "errors"), 0);
	json_decref(reply);
}
END_TEST

/*
 * Reloads while transfer threads judge new connections: each /close/
 * response ends its connection, so every request connects again and the
 * egress policy runs on a thread, reading the rule lists a reload frees
 * and rebuilds. Under TSan or ASan, a missing lock is a finding here.
 */
START_TEST(test_reload_policy_on_threads)
{
	struct bg_client client;
	json_t *reply;
	char *batch, conf[256];
	int i;

	upstream_start(&up);
	daemon_start(&dm, "workers = 2\nhost_inflight = 64\n");
	batch = batch_of("\"concurrency\":64,", 2000,
	    upstream_url(&up, "/close/10"));
	bg_submit(&client, dm.sock, batch);
	for (i = 0; i < 40; i++) {
		snprintf(conf, sizeof(conf), "[fanoutd]\nworkers = 2\n"
		    "host_inflight = 64\ndeny = 192.0.2.%d/32\n"
		    "deny = *.example%d.test\n", i, i);
		write_file(dm.conf, conf);
		json_decref(daemon_reload(&dm, SIGHUP));
	}
	reply = bg_reply(&client);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "total"),
	    2000);
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "errors"), 0);
	json_decref(reply);
	free(batch);
}
END_TEST

START_TEST(test_drain)
{
	char batch[512];
	json_t *j, *reply;
	int status;
	long st;
	struct bg_client client;

	upstream_start(&up);
	daemon_start(&dm, NULL);
	j = api_json(dm.sock, "GET", "/readyz", NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(jstr(j, "status"), "ready");
	json_decref(j);
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"},"
	    "{\"url\":\"%s\"}]}", upstream_url(&up, "/delay/800"),
	    upstream_url(&up, "/delay/800"));
	bg_submit(&client, dm.sock, batch);
	wait_until(upstream_count(&up, "inflight") == 2, 5000);
	kill(dm.pid, SIGTERM);
	wait_until(api_status(dm.sock, "GET", "/readyz") == 503, 3000);
	/* Draining: no new batches, not ready, still alive. */
	j = api_json(dm.sock, "POST", "/v1/batches", batch, &st);
	ck_assert_int_eq(st, 503);
	ck_assert_str_eq(jstr(json_object_get(j, "error"), "code"),
	    "draining");
	json_decref(j);
	j = api_json(dm.sock, "GET", "/readyz", NULL, &st);
	ck_assert_int_eq(st, 503);
	ck_assert_str_eq(jstr(j, "status"), "draining");
	json_decref(j);
	j = api_json(dm.sock, "GET", "/healthz", NULL, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(jstr(j, "status"), "draining");
	json_decref(j);
	ck_assert_int_eq(fanout_status("health --ready"), 1);
	ck_assert_int_eq(fanout_status("health"), 0);
	/* The batch in flight completes; then the daemon exits 0. */
	reply = bg_reply(&client);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "errors"), 0);
	json_decref(reply);
	waitpid(dm.pid, &status, 0);
	dm.pid = 0;
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

START_TEST(test_drain_timeout)
{
	char batch[512];
	int status;
	json_t *reply;
	struct bg_client client;
	double t0;

	upstream_start(&up);
	daemon_start(&dm, "drain_timeout_ms = 300\n");
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"}]}",
	    upstream_url(&up, "/hang"));
	bg_submit(&client, dm.sock, batch);
	wait_until(upstream_count(&up, "inflight") == 1, 5000);
	t0 = now_ms();
	kill(dm.pid, SIGTERM);
	waitpid(dm.pid, &status, 0);
	dm.pid = 0;
	ck_assert_msg(now_ms() - t0 >= 250 && now_ms() - t0 < scaled_ms(3000),
	    "exit after %.0f ms", now_ms() - t0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	reply = bg_reply(&client);
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(jerr(result_at(reply, 0)), "shutdown");
	json_decref(reply);
}
END_TEST

/*
 * The drain times out while transfers run on threads: their aborts come
 * back a moment later, and fanoutd exits only once the batch has ended
 * (it used to exit with the batch open: LeakSanitizer's finding in CI).
 */
START_TEST(test_drain_timeout_threads)
{
	char *batch, *log, cmd[128];
	long status;
	int rc;

	upstream_start(&up);
	daemon_start(&dm, "drain_timeout_ms = 200\nworkers = 2\n");
	batch = batch_of("\"mode\":\"async\",", 6, upstream_url(&up,
	    "/hang"));
	json_decref(api_json(dm.sock, "POST", "/v1/batches", batch, &status));
	ck_assert_int_eq(status, 202);
	free(batch);
	wait_until(upstream_count(&up, "inflight") == 6, 5000);
	kill(dm.pid, SIGTERM);
	waitpid(dm.pid, &rc, 0);
	dm.pid = 0;
	log = daemon_log(&dm);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dm.dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s", log);
	ck_assert_msg(strstr(log, "6 requests, 0 responses, 6 errors") !=
	    NULL && strstr(log, "(cancelled)") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "still open") == NULL &&
	    strstr(log, "still running") == NULL, "%s", log);
	free(log);
}
END_TEST

/*
 * A strict reading of the text format: every line a HELP or TYPE comment
 * or a sample of a family already TYPEd; returns the value of the sample
 * whose name and labels are exactly `want`, or -1.
 */
static double
metric(const char *text, const char *want)
{
	char *copy = strdup(text), *line, *save = NULL, *sp, *name_end;
	char types[64][96];
	size_t ntypes = 0, i, flen;
	double found = -1;

	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			sp = strchr(line + 7, ' ');
			ck_assert_msg(sp && (!strcmp(sp + 1, "counter") ||
			    !strcmp(sp + 1, "gauge") ||
			    !strcmp(sp + 1, "histogram")), "bad TYPE: %s",
			    line);
			ck_assert(ntypes < 64);
			snprintf(types[ntypes++], sizeof(types[0]), "%.*s",
			    (int)(sp - line - 7), line + 7);
			continue;
		}
		ck_assert_msg(line[0] != '#', "stray comment: %s", line);
		name_end = line + strspn(line, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");
		ck_assert_msg(*name_end == '{' || *name_end == ' ',
		    "bad sample: %s", line);
		for (i = 0; i < ntypes; i++) {
			flen = strlen(types[i]);
			if (strncmp(line, types[i], flen) == 0 &&
			    (line + flen == name_end ||
			    strcmp(name_end - 7, "_bucket") == 0 ||
			    !strncmp(line + flen, "_sum", 4) ||
			    !strncmp(line + flen, "_count", 6) ||
			    !strncmp(line + flen, "_bucket", 7)))
				break;
		}
		ck_assert_msg(i < ntypes, "sample before its TYPE: %s", line);
		sp = strrchr(line, ' ');
		ck_assert_msg(sp != NULL && sp > name_end - 1, "no value: %s",
		    line);
		if (strncmp(line, want, strlen(want)) == 0 &&
		    line + strlen(want) == sp)
			found = strtod(sp + 1, NULL);
	}
	free(copy);
	return found;
}

START_TEST(test_metrics)
{
	char batch[1024], *text, want[256], host[64];
	json_t *reply, *stats;
	long status;

	upstream_start(&up);
	daemon_start(&dm, NULL);
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"},"
	    "{\"url\":\"%s\"},{\"url\":\"%s\"},{\"url\":\"%s\"},"
	    "{\"url\":\"http://127.0.0.1:%d/\"}]}", upstream_url(&up, "/ok"),
	    upstream_url(&up, "/ok"), upstream_url(&up, "/ok"),
	    upstream_url(&up, "/status/500"), closed_port());
	json_decref(api_submit(dm.sock, batch));
	ck_assert_int_eq(api_call(dm.sock, "GET", "/metrics", NULL, &text),
	    200);
	snprintf(host, sizeof(host), "http://127.0.0.1:%d", up.port);
	snprintf(want, sizeof(want), "fanoutd_responses_total{host=\"%s\","
	    "class=\"2xx\"}", host);
	ck_assert_msg(metric(text, want) == 3, "%s in\n%s", want, text);
	snprintf(want, sizeof(want), "fanoutd_responses_total{host=\"%s\","
	    "class=\"5xx\"}", host);
	ck_assert(metric(text, want) == 1);
	snprintf(want, sizeof(want), "fanoutd_attempt_duration_seconds_count"
	    "{host=\"%s\"}", host);
	ck_assert(metric(text, want) == 4);
	snprintf(want, sizeof(want), "fanoutd_attempt_duration_seconds_bucket"
	    "{host=\"%s\",le=\"+Inf\"}", host);
	ck_assert(metric(text, want) == 4);
	ck_assert(metric(text, "fanoutd_batches_total{mode=\"wait\","
	    "outcome=\"done\"}") == 1);
	ck_assert(metric(text, "fanoutd_requests_inflight") == 0);
	ck_assert(metric(text, "process_resident_memory_bytes") > 0);
	ck_assert(metric(text, "fanoutd_hosts") == 2);
	free(text);
	snprintf(want, sizeof(want), "'%s' -s '%s' stats", getenv("FANOUT"),
	    dm.sock);
	ck_assert_int_eq(run_cmd(want, &text), 0);
	ck_assert_msg(strstr(text, "hosts, busiest first") != NULL &&
	    strstr(text, host) != NULL, "%s", text);
	free(text);
	ck_assert_int_eq(fanout_status("health --ready"), 0);
	stats = api_json(dm.sock, "GET", "/v1/stats", NULL, &status);
	ck_assert_int_eq(status, 200);
	ck_assert_int_eq(jnum(json_object_get(json_object_get(stats,
	    "batches"), "wait"), "done"), 1);
	json_decref(stats);
	(void)reply;
}
END_TEST

/* A datagram socket standing in for systemd's notify socket. */
static int
notify_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct timeval tv = { 0, 100000 };

	strcpy(sun.sun_path, path);
	unlink(path);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return s;
}

/* Read notifications until one contains want, for up to ms (scaled). */
static int
saw(int s, const char *want, double ms)
{
	double deadline = now_ms() + scaled_ms(ms);
	char buf[1024];
	ssize_t n;

	while (now_ms() < deadline) {
		if ((n = recv(s, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, want) != NULL)
			return 1;
	}
	return 0;
}

/* Was fanoutd built with libsystemd? (-V says.) If not, the test skips. */
static int
with_systemd(void)
{
	char cmd[256], *out;
	int yes;

	snprintf(cmd, sizeof(cmd), "'%s' -V", getenv("FANOUTD"));
	run_cmd(cmd, &out);
	yes = strstr(out, "activation: yes") != NULL;
	free(out);
	if (!yes)
		check_skip("fanoutd was built without libsystemd");
	return yes;
}

/*
 * workers = 2: the transfers spread over the main loop and both threads,
 * each counted once; /v1/stats and /metrics show the loops; a reload
 * cannot change their number (it says so and keeps it).
 */
/* /v1/stats' figure key, as a number. */
static long long
stat_of(const char *key)
{
	json_t *stats;
	long status;
	long long v;

	stats = api_json(dm.sock, "GET", "/v1/stats", NULL, &status);
	ck_assert_int_eq(status, 200);
	v = jnum(stats, key);
	json_decref(stats);
	return v;
}

/* The daemon's resident memory, from /v1/stats. */
static long long
rss_now(void)
{
	json_t *stats;
	long status;
	long long v;

	stats = api_json(dm.sock, "GET", "/v1/stats", NULL, &status);
	v = jnum(json_object_get(stats, "process"), "resident_bytes");
	json_decref(stats);
	ck_assert(v > 0);
	return v;
}

/* Wait (10 s at most, scaled for slow builds) for the host table to empty. */
static void
wait_no_hosts(void)
{
	wait_until(stat_of("hosts_known") == 0, 10000);
}

/* n GETs, each to its own origin http://10.B.C.D/ from the nth on. */
static char *
distinct_origins(size_t from, size_t n)
{
	char *b = malloc(n * 48 + 64), *p = b;
	size_t i, k;

	p += sprintf(p, "{\"requests\":[");
	for (i = 0; i < n; i++) {
		k = from + i;
		p += sprintf(p, "%s{\"url\":\"http://10.%zu.%zu.%zu/\"}",
		    i ? "," : "", (k >> 16) & 255, (k >> 8) & 255, k & 255);
	}
	strcpy(p, "]}");
	return b;
}

/*
 * Hosts are keyed by what clients send: one nobody uses is forgotten
 * host_idle_s later, its counters kept under host="other", so a client
 * naming 100,000 origins does not grow the daemon. (10/8 is refused by
 * deny_private: each request ends at once as blocked, no network.)
 */
START_TEST(test_idle_hosts_expire)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	const size_t rounds = 3;	/* slow; ASan keeps freed memory */
#else
	const size_t rounds = 10;
#endif
	char *batch, *text;
	json_t *reply;
	long long rss0 = 0, rss;
	size_t i;

	daemon_start(&dm, "host_idle_s = 1\ndeny_private = yes\n");
	batch = distinct_origins(0, 50);
	reply = api_submit(dm.sock, batch);
	ck_assert_int_eq(jnum(json_object_get(reply, "summary"), "errors"), 50);
	ck_assert_str_eq(jerr(result_at(reply, 49)), "blocked");
	json_decref(reply);
	free(batch);
	wait_no_hosts();
	ck_assert_int_eq(stat_of("hosts_expired"), 50);
	ck_assert_int_eq(api_call(dm.sock, "GET", "/metrics", NULL, &text),
	    200);
	ck_assert(metric(text, "fanoutd_hosts_expired_total") == 50);
	ck_assert(metric(text, "fanoutd_hosts") == 0);
	ck_assert(metric(text, "fanoutd_errors_total{host=\"other\","
	    "code=\"blocked\"}") == 50);
	ck_assert(metric(text, "fanoutd_attempts_total{host=\"other\"}") ==
	    50);
	free(text);

	for (i = 0; i < rounds; i++) {
		batch = distinct_origins(100 + i * 10000, 10000);
		json_decref(api_submit(dm.sock, batch));
		free(batch);
		wait_no_hosts();
		rss = rss_now();
		if (i == 1)
			rss0 = rss;
	}
	ck_assert_int_eq(stat_of("hosts_expired"), 50 + rounds * 10000);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	ck_assert_msg(rss - rss0 < 8 << 20, "RSS grew %lld KiB over %zu "
	    "origins", (rss - rss0) >> 10, (rounds - 2) * 10000);
#endif
	(void)rss0;
}
END_TEST

START_TEST(test_workers)
{
	json_t *reply, *stats, *l, *c;
	char *batch, *text, want[96];
	long long started = 0;
	long status;
	size_t i;

	upstream_start(&up);
	daemon_start(&dm, "workers = 2\nhost_inflight = 20\n");
	batch = batch_of("\"concurrency\":20,", 40,
	    upstream_url(&up, "/delay/50"));
	reply = api_submit(dm.sock, batch);
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(jnum(result_at(reply, i), "status"), 200);
	json_decref(reply);
	stats = api_json(dm.sock, "GET", "/v1/stats", NULL, &status);
	l = json_object_get(stats, "loops");
	ck_assert_uint_eq(json_array_size(l), 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(jnum(json_array_get(l, i), "running"), 0);
		ck_assert_int_gt(jnum(json_array_get(l, i), "started"), 0);
		started += jnum(json_array_get(l, i), "started");
	}
	ck_assert_int_eq(started, 40);
	json_decref(stats);
	ck_assert_int_eq(api_call(dm.sock, "GET", "/metrics", NULL, &text),
	    200);
	ck_assert(metric(text, "fanoutd_workers") == 2);
	started = 0;
	for (i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "fanoutd_loop_transfers_total"
		    "{loop=\"%zu\"}", i);
		started += (long long)metric(text, want);
	}
	ck_assert_int_eq(started, 40);
	free(text);
	write_file(dm.conf, "[fanoutd]\nworkers = 5\n");
	c = daemon_reload(&dm, SIGHUP);
	ck_assert(json_is_true(json_object_get(json_object_get(c,
	    "last_reload"), "ok")));
	ck_assert_int_eq(jnum(json_object_get(c, "config"), "workers"), 2);
	json_decref(c);
	text = daemon_log(&dm);
	ck_assert_msg(strstr(text, "workers changes (\"2\" to \"5\") only at "
	    "the next restart; keeping \"2\"") != NULL, "%s", text);
	free(text);
	free(batch);
}
END_TEST

/* workers = 0: every transfer on the main loop, the only loop. */
START_TEST(test_workers_none)
{
	json_t *reply, *stats, *l;
	char *text, *batch;
	long status;

	upstream_start(&up);
	daemon_start(&dm, "workers = 0\n");
	batch = ten_requests();
	reply = api_submit(dm.sock, batch);
	free(batch);
	ck_assert_int_eq(jnum(result_at(reply, 9), "status"), 200);
	json_decref(reply);
	stats = api_json(dm.sock, "GET", "/v1/stats", NULL, &status);
	l = json_object_get(stats, "loops");
	ck_assert_uint_eq(json_array_size(l), 1);
	ck_assert_int_eq(jnum(json_array_get(l, 0), "started"), 10);
	json_decref(stats);
	ck_assert_int_eq(api_call(dm.sock, "GET", "/metrics", NULL, &text),
	    200);
	ck_assert(metric(text, "fanoutd_workers") == 0);
	ck_assert(metric(text, "fanoutd_loop_transfers_total{loop=\"0\"}") ==
	    10);
	ck_assert(strstr(text, "{loop=\"1\"}") == NULL);
	free(text);
}
END_TEST

START_TEST(test_sd_notify)
{
	char path[64];
	int s, status;

	if (!with_systemd())
		return;
	snprintf(path, sizeof(path), "/tmp/fanoutd-notify.%d", (int)getpid());
	s = notify_socket(path);
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	upstream_start(&up);
	daemon_start(&dm, NULL);
	ck_assert_msg(saw(s, "READY=1", 2000), "no READY=1");
	ck_assert_msg(saw(s, "WATCHDOG=1", 1000), "no WATCHDOG=1");
	kill(dm.pid, SIGHUP);
	ck_assert_msg(saw(s, "RELOADING=1", 2000), "no RELOADING=1");
	ck_assert_msg(saw(s, "READY=1", 2000), "no READY=1 after reload");
	kill(dm.pid, SIGTERM);
	ck_assert_msg(saw(s, "STOPPING=1", 2000), "no STOPPING=1");
	waitpid(dm.pid, &status, 0);
	dm.pid = 0;
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(s);
	unlink(path);
}
END_TEST

static int
have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

START_TEST(test_socket_activation)
{
	char dir[] = "/tmp/fanoutd-sa.XXXXXX", sock[128], *out;
	struct stat st;
	pid_t pid;
	int status;

	if (!with_systemd())
		return;
	if (!have("systemd-socket-activate")) {
		check_skip("systemd-socket-activate is not installed");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	if ((pid = fork()) == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 2);
		execlp("systemd-socket-activate", "systemd-socket-activate",
		    "-l", sock, getenv("FANOUTD"), "-s", "/nonexistent/x.sock",
		    (char *)NULL);
		_exit(127);
	}
	wait_until(stat(sock, &st) == 0, 5000);
	/* The first connection starts fanoutd, which takes the socket. */
	ck_assert_int_eq(api_call(sock, "GET", "/healthz", NULL, &out), 200);
	free(out);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(sock);
	rmdir(dir);
}
END_TEST

START_TEST(test_health_listen_and_json_logs)
{
	char conf[256], url[96], *out, *log, *line, *save = NULL;
	int port = closed_port();
	json_t *j;
	CURL *c;
	long code = 0;

	snprintf(conf, sizeof(conf), "health_listen = 127.0.0.1:%d\n"
	    "log_format = json\n", port);
	upstream_start(&up);
	daemon_start(&dm, conf);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", port);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	ck_assert_int_eq(code, 200);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/batches", port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	ck_assert_int_eq(code, 404);	/* only health over TCP */
	curl_easy_cleanup(c);
	log = daemon_log(&dm);
	for (line = strtok_r(log, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg((j = json_loads(line, 0, NULL)) != NULL,
		    "not a JSON log line: %s", line);
		ck_assert_ptr_nonnull(jstr(j, "level"));
		ck_assert_ptr_nonnull(jstr(j, "message"));
		json_decref(j);
	}
	free(log);
	(void)out;
}
END_TEST

START_TEST(test_unit_exposure)
{
	char cmd[512], *out, *p;
	double score;

	if (!have("systemd-analyze")) {
		check_skip("systemd-analyze is not installed");
		return;
	}
	ck_assert_msg(getenv("TOP_BUILDDIR") != NULL, "TOP_BUILDDIR not set "
	    "(run through make check)");
	snprintf(cmd, sizeof(cmd), "cd %s/systemd && systemd-analyze security "
	    "--offline=true fanoutd.service 2>&1", getenv("TOP_BUILDDIR"));
	run_cmd(cmd, &out);
	p = strstr(out, "Overall exposure level for fanoutd.service:");
	ck_assert_msg(p != NULL, "%s", out);
	score = strtod(p + strlen("Overall exposure level for "
	    "fanoutd.service:"), NULL);
	ck_assert_msg(score <= 2.0, "exposure %.1f > 2.0:\n%s", score, out);
	free(out);
}
END_TEST

static Suite *
ops_suite(void)
{
	Suite *s = suite_create("ops");
	const struct check_opts opts = {
		.teardown = teardown, .timeout_s = 60
	};

	check_add_with(s, &opts, test_reload);
	check_add_with(s, &opts, test_reload_in_flight);
	check_add_with(s, &opts, test_reload_policy_on_threads);
	check_add_with(s, &opts, test_drain);
	check_add_with(s, &opts, test_drain_timeout);
	check_add_with(s, &opts, test_drain_timeout_threads);
	check_add_with(s, &opts, test_metrics);
	check_add_with(s, &opts, test_idle_hosts_expire);
	check_add_with(s, &opts, test_workers);
	check_add_with(s, &opts, test_workers_none);
	check_add_with(s, &opts, test_sd_notify);
	check_add_with(s, &opts, test_socket_activation);
	check_add_with(s, &opts, test_health_listen_and_json_logs);
	check_add_with(s, &opts, test_unit_exposure);
	return s;
}

int
main(void)
{
	return check_run(ops_suite());
}
