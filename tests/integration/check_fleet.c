/*
 * check_fleet.c: fleet-wide limits on a real redis-server (started here on
 * a Unix socket in a temporary directory, never the system's), with
 * several daemons against the test upstream: the aggregate rate and
 * in-flight limit, a daemon killed holding slots, Redis stopped, slow and
 * flushed, a wrong address, and reload.
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

#define NDAEMONS	3

static struct upstream up;
static struct redis rd;
static struct daemon dm[NDAEMONS];

static void
teardown(void)
{
	int i, rc = 0;

	for (i = 0; i < NDAEMONS; i++)
		if (dm[i].pid > 0 && daemon_stop(&dm[i]) != 0)
			rc = 1;
	upstream_stop(&up);
	redis_stop(&rd);
	memset(&rd, 0, sizeof(rd));
	ck_assert_msg(rc == 0, "a fanoutd did not exit 0");
}

/* Redis and the upstream; 0 when redis-server is missing (skipped). */
static int
start_redis(void)
{
	if (redis_start(&rd) == -1) {
		check_skip("redis-server is not installed");
		return 0;
	}
	upstream_start(&up);
	return 1;
}

/* Daemon i of the fleet: redis, the upstream's host at fleet_rate. */
static void
start_member(int i, const char *rate, const char *extra)
{
	char conf[1024];

	snprintf(conf, sizeof(conf), "redis = unix:%s\nhost_inflight = 64\n"
	    "%s\n[host 127.0.0.1]\nfleet_rate = %s\nfleet_burst = 1\n",
	    rd.sock, extra ? extra : "", rate);
	daemon_start(&dm[i], conf);
}

/* GET path on d, whose reply must be a 200 with JSON (caller decrefs). */
static json_t *
get(const struct daemon *d, const char *path)
{
	long status = 0;
	json_t *j = api_json(d->sock, "GET", path, NULL, &status);

	ck_assert_int_eq(status, 200);
	return j;
}

/* Is the daemon's /v1/stats fleet member key the string want? */
static int
fleet_is(const struct daemon *d, const char *key, const char *want)
{
	json_t *j = get(d, "/v1/stats");
	const char *v = jstr(json_object_get(j, "fleet"), key);
	int ok = v != NULL && strcmp(v, want) == 0;

	json_decref(j);
	return ok;
}

static long long
fleet_num(const struct daemon *d, const char *key)
{
	json_t *j = get(d, "/v1/stats");
	long long v = jnum(json_object_get(j, "fleet"), key);

	json_decref(j);
	return v;
}

/* The fleet state of the upstream's host in /v1/hosts ("" if none). */
static char *
host_state(const struct daemon *d)
{
	json_t *j = get(d, "/v1/hosts");
	json_t *h = json_array_get(json_object_get(j, "hosts"), 0);
	const char *s = jstr(json_object_get(h, "fleet"), "state");
	char *out = strdup(s != NULL ? s : "");

	json_decref(j);
	return out;
}

static int
state_is(const struct daemon *d, const char *want)
{
	char *s = host_state(d);
	int ok = strcmp(s, want) == 0;

	free(s);
	return ok;
}

/* Slots the daemon holds for the upstream's host (-1: no such host). */
static long long
host_slots(const struct daemon *d)
{
	json_t *j = get(d, "/v1/hosts");
	json_t *h = json_array_get(json_object_get(j, "hosts"), 0);
	long long n = h != NULL ? jnum(json_object_get(h, "fleet"), "slots") :
	    -1;

	json_decref(j);
	return n;
}

/* Every result of reply is a 200 and there are n of them. */
static void
all_ok(json_t *reply, size_t n)
{
	json_t *rs = json_object_get(reply, "results");
	size_t i;

	ck_assert_ptr_nonnull(reply);
	ck_assert_uint_eq(json_array_size(rs), n);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(jnum(json_array_get(rs, i), "status"), 200);
}

/* The upstream's arrival times of its last n requests, oldest first. */
static size_t
arrivals(double *out, size_t max)
{
	json_t *j = upstream_json(&up, "/arrivals"), *a =
	    json_object_get(j, "arrivals_ms"), *v;
	size_t i, n = 0;

	json_array_foreach(a, i, v)
		if (n < max)
			out[n++] = json_real_value(v);
	json_decref(j);
	return n;
}

/*
 * Three daemons, a batch of 60 each at once, fleet_rate = 20/s with a
 * burst of 1: the upstream sees the 180 at 20/s in all (about 9 s), not
 * at 20/s each (3 s).
 */
START_TEST(test_rate_across_daemons)
{
	struct bg_client bg[NDAEMONS];
	char *batch;
	double t[400], rate;
	size_t n;
	int i;

	if (!start_redis())
		return;
	for (i = 0; i < NDAEMONS; i++)
		start_member(i, "20/s", NULL);
	for (i = 0; i < NDAEMONS; i++)
		wait_until(fleet_is(&dm[i], "redis", "up") &&
		    fleet_num(&dm[i], "peers") == NDAEMONS, 5000);
	batch = batch_of("", 60, upstream_url(&up, "/ok"));
	for (i = 0; i < NDAEMONS; i++)
		bg_submit(&bg[i], dm[i].sock, batch);
	for (i = 0; i < NDAEMONS; i++) {
		json_t *r = bg_reply(&bg[i]);

		all_ok(r, 60);
		json_decref(r);
	}
	free(batch);
	n = arrivals(t, 400);
	ck_assert_uint_eq(n, 180);
	rate = (double)(n - 1) / ((t[n - 1] - t[0]) / 1000.0);
	ck_assert_msg(rate > 18 && rate < 22, "aggregate %.2f/s, not 20/s",
	    rate);
	ck_assert(state_is(&dm[0], "shared"));
	/* one call per lease, not per request: here 20/s leaves 1 a lease */
	ck_assert_int_ge(fleet_num(&dm[0], "tokens"), 50);
}
END_TEST

/* Daemon i of the fleet: the upstream's host at fleet_inflight n. */
static void
start_slots(int i, int n, const char *extra)
{
	char conf[1024];

	snprintf(conf, sizeof(conf), "redis = unix:%s\nhost_inflight = 64\n"
	    "%s\n[host 127.0.0.1]\nfleet_inflight = %d\n", rd.sock,
	    extra ? extra : "", n);
	daemon_start(&dm[i], conf);
}

static long long
up_stat(const char *key)
{
	return upstream_count(&up, key);
}

/*
 * fleet_inflight = 4 across three daemons, each with 12 requests that
 * take 300 ms: the upstream never sees more than 4 at once, and sees 4
 * (not 4 per daemon, not 1 in all); every daemon gets slots.
 */
START_TEST(test_inflight_across_daemons)
{
	struct bg_client bg[NDAEMONS];
	json_t *j;
	char *batch;
	int i;

	if (!start_redis())
		return;
	for (i = 0; i < NDAEMONS; i++)
		start_slots(i, 4, NULL);
	for (i = 0; i < NDAEMONS; i++)
		wait_until(fleet_is(&dm[i], "redis", "up") &&
		    fleet_num(&dm[i], "peers") == NDAEMONS, 5000);
	upstream_reset(&up);
	batch = batch_of("", 12, upstream_url(&up, "/delay/300"));
	for (i = 0; i < NDAEMONS; i++)
		bg_submit(&bg[i], dm[i].sock, batch);
	for (i = 0; i < NDAEMONS; i++) {
		json_t *r = bg_reply(&bg[i]);

		all_ok(r, 12);
		json_decref(r);
	}
	free(batch);
	ck_assert_int_eq(up_stat("max_inflight"), 4);
	ck_assert_int_eq(up_stat("requests"), 36);
	for (i = 0; i < NDAEMONS; i++) {
		j = get(&dm[i], "/v1/hosts");
		ck_assert_int_ge(jnum(json_object_get(json_array_get(
		    json_object_get(j, "hosts"), 0), "fleet"),
		    "slots_acquired"), 1);
		json_decref(j);
	}
	/* Done: every slot went back (nothing queued), none is held. */
	for (i = 0; i < NDAEMONS; i++)
		wait_until(host_slots(&dm[i]) == 0, 3000);
}
END_TEST

/*
 * A daemon killed (SIGKILL) while it holds all 4 slots: another gets them
 * when the leases expire, within fleet_lease_ms (here 1500), not before
 * the dead one's last renewal ran out.
 */
START_TEST(test_inflight_killed_daemon)
{
	char *batch, cmd[200];
	json_t *r;
	double t0, took;
	int fd, status;

	if (!start_redis())
		return;
	for (fd = 0; fd < 2; fd++)
		start_slots(fd, 4, "fleet_lease_ms = 1500");
	for (fd = 0; fd < 2; fd++)
		wait_until(fleet_num(&dm[fd], "peers") == 2, 5000);
	batch = batch_of("", 4, upstream_url(&up, "/delay/20000"));
	fd = raw_post(dm[0].sock, batch);
	free(batch);
	wait_until(up_stat("inflight") == 4, 5000);
	kill(dm[0].pid, SIGKILL);
	waitpid(dm[0].pid, &status, 0);
	dm[0].pid = 0;
	close(fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dm[0].dir);
	ck_assert_int_eq(system(cmd), 0);
	batch = batch_of("", 4, upstream_url(&up, "/ok"));
	t0 = now_ms();
	r = api_submit(dm[1].sock, batch);
	took = now_ms() - t0;
	all_ok(r, 4);
	json_decref(r);
	free(batch);
	/* renewed at most 500 ms before the kill: 1000 ms at least */
	ck_assert_msg(took >= 900, "slots back after %.0f ms: they were "
	    "not held", took);
	ck_assert_msg(took < scaled_ms(1500) + 1000, "slots back after "
	    "%.0f ms, more than fleet_lease_ms", took);
}
END_TEST

/*
 * Redis stopped: two daemons of fleet_inflight 4 run 2 at once each (the
 * share), and go back to the shared semaphore when Redis is back.
 */
START_TEST(test_inflight_degraded_share)
{
	char *batch;
	json_t *r;
	int i;

	if (!start_redis())
		return;
	for (i = 0; i < 2; i++)
		start_slots(i, 4, NULL);
	for (i = 0; i < 2; i++)
		wait_until(fleet_num(&dm[i], "peers") == 2, 5000);
	redis_stop(&rd);
	wait_until(fleet_is(&dm[0], "redis", "down"), 3000);
	upstream_reset(&up);
	batch = batch_of("", 6, upstream_url(&up, "/delay/200"));
	r = api_submit(dm[0].sock, batch);
	all_ok(r, 6);
	json_decref(r);
	ck_assert_int_eq(up_stat("max_inflight"), 2);
	ck_assert(state_is(&dm[0], "degraded"));
	ck_assert_int_eq(redis_start(&rd), 0);
	wait_until(fleet_is(&dm[0], "redis", "up"), 3000);
	upstream_reset(&up);
	r = api_submit(dm[0].sock, batch);
	all_ok(r, 6);
	json_decref(r);
	free(batch);
	ck_assert_int_eq(up_stat("max_inflight"), 4);
}
END_TEST

/*
 * Redis stopped: each daemon runs on its share (20/s over 2 peers: 10/s)
 * at once, says so, and goes back to shared limits when Redis is back.
 */
START_TEST(test_redis_down_and_back)
{
	char *batch;
	json_t *r;
	double t0, took;
	int i;

	if (!start_redis())
		return;
	for (i = 0; i < 2; i++)
		start_member(i, "20/s", NULL);
	for (i = 0; i < 2; i++)
		wait_until(fleet_num(&dm[i], "peers") == 2, 5000);
	redis_stop(&rd);
	wait_until(fleet_is(&dm[0], "redis", "down"), 3000);
	batch = batch_of("", 11, upstream_url(&up, "/ok"));
	t0 = now_ms();
	r = api_submit(dm[0].sock, batch);
	took = now_ms() - t0;
	all_ok(r, 11);
	json_decref(r);
	/* 11 at 10/s with a burst of 1: 1 s; at the whole 20/s, 0.5 s */
	ck_assert_msg(took >= 900, "11 requests in %.0f ms: not the share",
	    took);
	ck_assert(state_is(&dm[0], "degraded"));
	{
		char *log = daemon_log(&dm[0]);

		ck_assert_ptr_nonnull(strstr(log, "fleet limits are local "
		    "shares until it is back"));
		free(log);
	}
	ck_assert_int_eq(redis_start(&rd), 0);	/* the same socket, empty */
	/* Neither takes itself for alone while the peer set fills again. */
	t0 = now_ms();
	while (now_ms() - t0 < 1500)
		for (i = 0; i < 2; i++)
			ck_assert_int_eq(fleet_num(&dm[i], "peers"), 2);
	for (i = 0; i < 2; i++)
		wait_until(fleet_is(&dm[i], "redis", "up"), 3000);
	ck_assert(state_is(&dm[0], "shared"));
	r = api_submit(dm[1].sock, batch);
	all_ok(r, 11);
	json_decref(r);
	free(batch);
	ck_assert_int_gt(fleet_num(&dm[0], "degraded_s"), -1);
}
END_TEST

/*
 * Redis stopped in the middle of a run and started again: every request
 * gets exactly one result and reaches the upstream once, and the daemons
 * never stall across either switch (no gap between arrivals much longer
 * than the share's interval).
 */
START_TEST(test_redis_stopped_mid_run)
{
	struct bg_client bg[2];
	char *batch;
	double t[200], gap = 0;
	size_t n, k;
	int i;

	if (!start_redis())
		return;
	for (i = 0; i < 2; i++)	/* both limits, across both switches */
		start_member(i, "20/s\nfleet_inflight = 4", "");
	for (i = 0; i < 2; i++)
		wait_until(fleet_num(&dm[i], "peers") == 2, 5000);
	upstream_reset(&up);
	batch = batch_of("", 30, upstream_url(&up, "/ok"));
	for (i = 0; i < 2; i++)
		bg_submit(&bg[i], dm[i].sock, batch);
	free(batch);
	wait_until(up_stat("requests") >= 15, 5000);
	redis_stop(&rd);
	wait_until(up_stat("requests") >= 35, 5000);
	ck_assert(state_is(&dm[0], "degraded"));
	ck_assert_int_eq(redis_start(&rd), 0);
	for (i = 0; i < 2; i++) {
		json_t *r = bg_reply(&bg[i]);

		all_ok(r, 30);
		json_decref(r);
	}
	ck_assert_int_eq(up_stat("requests"), 60);
	ck_assert_int_le(up_stat("max_inflight"), 4);
	n = arrivals(t, 200);
	ck_assert_uint_eq(n, 60);
	for (k = 1; k < n; k++)
		if (t[k] - t[k - 1] > gap)
			gap = t[k] - t[k - 1];
	/* 20/s: 50 ms apart; the share, 10/s each: 100 ms at worst */
	ck_assert_msg(gap < scaled_ms(600), "a %.0f ms gap", gap);
}
END_TEST

/* Does Redis answer PING within 100 ms? */
static int
redis_quick(void)
{
	char cmd[256], *out = NULL;
	int ok;

	snprintf(cmd, sizeof(cmd), "timeout 0.1 redis-cli -s '%s' ping",
	    rd.sock);
	ok = run_cmd(cmd, &out) == 0 && strstr(out, "PONG") != NULL;
	free(out);
	return ok;
}

/*
 * Redis stuck (DEBUG SLEEP 3): a lease call times out after
 * redis_timeout_ms and the batch goes on with the local share, long
 * before Redis answers again; then shared limits come back.
 */
START_TEST(test_slow_redis_is_down)
{
	char cmd[256], *batch;
	json_t *r;
	double t0, took;
	pid_t sleeper;

	if (!start_redis())
		return;
	start_member(0, "100/s", "redis_timeout_ms = 200");
	wait_until(fleet_is(&dm[0], "redis", "up"), 5000);
	snprintf(cmd, sizeof(cmd), "redis-cli -s '%s' debug sleep 3 "
	    ">/dev/null", rd.sock);
	if ((sleeper = fork()) == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	wait_until(!redis_quick(), 3000);
	batch = batch_of("", 10, upstream_url(&up, "/ok"));
	t0 = now_ms();
	r = api_submit(dm[0].sock, batch);
	took = now_ms() - t0;
	all_ok(r, 10);
	json_decref(r);
	free(batch);
	/* 200 ms of timeout, then 10 at 100/s: far less than the 3 s */
	ck_assert_msg(took < scaled_ms(2000), "took %.0f ms", took);
	ck_assert_int_ge(fleet_num(&dm[0], "redis_timeouts"), 1);
	waitpid(sleeper, NULL, 0);
	wait_until(fleet_is(&dm[0], "redis", "up") &&
	    state_is(&dm[0], "shared"), 3000);
}
END_TEST

/* SCRIPT FLUSH: the next EVALSHA gets NOSCRIPT and is sent as EVAL. */
START_TEST(test_noscript_after_flush)
{
	char *batch, *out = NULL;
	json_t *r;
	long long errors;

	if (!start_redis())
		return;
	start_member(0, "1000/s", NULL);
	wait_until(fleet_is(&dm[0], "redis", "up"), 5000);
	batch = batch_of("", 5, upstream_url(&up, "/ok"));
	r = api_submit(dm[0].sock, batch);
	all_ok(r, 5);
	json_decref(r);
	errors = fleet_num(&dm[0], "redis_errors");
	ck_assert_int_eq(redis_cli(&rd, "script flush", &out), 0);
	free(out);
	r = api_submit(dm[0].sock, batch);
	all_ok(r, 5);
	json_decref(r);
	free(batch);
	ck_assert_int_eq(fleet_num(&dm[0], "redis_errors"), errors);
	ck_assert(fleet_is(&dm[0], "redis", "up"));
	ck_assert(state_is(&dm[0], "shared"));
}
END_TEST

/*
 * A redis that is not there: the daemon starts, says why in its log and
 * runs on its share (the whole limit: no peer was ever seen).
 */
START_TEST(test_wrong_address)
{
	char *batch, *log;
	json_t *r;

	upstream_start(&up);
	daemon_start(&dm[0], "redis = unix:/nonexistent/redis.sock\n"
	    "[host 127.0.0.1]\nfleet_rate = 1000/s\n");
	wait_until((log = daemon_log(&dm[0])) != NULL &&
	    strstr(log, "redis unix:/nonexistent/redis.sock: cannot connect")
	    != NULL, 3000);
	free(log);
	ck_assert(fleet_is(&dm[0], "redis", "down"));
	batch = batch_of("", 5, upstream_url(&up, "/ok"));
	r = api_submit(dm[0].sock, batch);
	all_ok(r, 5);
	json_decref(r);
	free(batch);
	ck_assert(state_is(&dm[0], "degraded"));
}
END_TEST

/* A reload changes fleet_rate; /v1/config and /v1/hosts show it. */
START_TEST(test_reload_applies)
{
	char conf[1024], *batch;
	json_t *r, *h;

	if (!start_redis())
		return;
	start_member(0, "10/s", NULL);
	wait_until(fleet_is(&dm[0], "redis", "up"), 5000);
	batch = batch_of("", 2, upstream_url(&up, "/ok"));
	r = api_submit(dm[0].sock, batch);
	json_decref(r);
	snprintf(conf, sizeof(conf), "[fanoutd]\nredis = unix:%s\n"
	    "[host 127.0.0.1]\nfleet_rate = 500/s\nfleet_burst = 7\n",
	    rd.sock);
	write_file(dm[0].conf, conf);
	json_decref(daemon_reload(&dm[0], SIGHUP));
	r = get(&dm[0], "/v1/config");
	h = json_array_get(json_object_get(json_object_get(r, "config"),
	    "hosts"), 0);
	ck_assert(jreal(h, "fleet_rate_per_second") == 500);
	json_decref(r);
	r = get(&dm[0], "/v1/hosts");
	h = json_object_get(json_array_get(json_object_get(r, "hosts"), 0),
	    "fleet");
	ck_assert(jreal(h, "rate_per_second") == 500);
	ck_assert(jreal(h, "burst") == 7);
	json_decref(r);
	free(batch);
}
END_TEST

/* The ACL docs/fleet.md gives the fleet's user, quoted for the shell. */
#define FLEET_ACL "acl setuser fl on '>s3cret' resetkeys '~fanoutd:*' " \
    "resetchannels -@all +evalsha +eval '+script|load' +select +time " \
    "+get +set +zadd +zrem +zcard +zrank +zscore +zrangebyscore " \
    "+zremrangebyscore +pexpire"

/*
 * AUTH as a Redis ACL user limited to the prefix, with the ACL line of
 * docs/fleet.md: both limits work under it. A wrong password is a clear
 * log line and local shares, not a crash.
 */
START_TEST(test_acl_user)
{
	char conf[1024], pw[200], *out = NULL, *batch, *log;
	json_t *r;

	if (!start_redis())
		return;
	ck_assert_int_eq(redis_cli(&rd, FLEET_ACL, &out), 0);
	ck_assert_msg(strstr(out, "OK") != NULL, "ACL SETUSER: %s", out);
	free(out);
	snprintf(pw, sizeof(pw), "%s.pw", rd.sock);
	write_file(pw, "s3cret\n");
	snprintf(conf, sizeof(conf), "redis = unix:%s\nredis_user = fl\n"
	    "redis_password_file = %s\n[host 127.0.0.1]\n"
	    "fleet_rate = 1000/s\nfleet_inflight = 2\n", rd.sock, pw);
	daemon_start(&dm[0], conf);
	wait_until(fleet_is(&dm[0], "redis", "up"), 5000);
	batch = batch_of("", 8, upstream_url(&up, "/ok"));
	r = api_submit(dm[0].sock, batch);
	all_ok(r, 8);
	json_decref(r);
	ck_assert_int_eq(fleet_num(&dm[0], "redis_errors"), 0);
	ck_assert(state_is(&dm[0], "shared"));
	/* the password never shows; its file's path does */
	ck_assert_int_eq(api_call(dm[0].sock, "GET", "/v1/config", NULL,
	    &out), 200);
	ck_assert_ptr_null(strstr(out, "s3cret"));
	ck_assert_ptr_nonnull(strstr(out, pw));
	free(out);
	write_file(pw, "wrong\n");
	snprintf(conf, sizeof(conf), "redis = unix:%s\nredis_user = fl\n"
	    "redis_password_file = %s\n[host 127.0.0.1]\n"
	    "fleet_rate = 1000/s\n", rd.sock, pw);
	daemon_start(&dm[1], conf);
	wait_until((log = daemon_log(&dm[1])) != NULL && strstr(log,
	    "WRONGPASS") != NULL, 3000);
	ck_assert_ptr_null(strstr(log, "wrong"));
	free(log);
	ck_assert(fleet_is(&dm[1], "redis", "down"));
	r = api_submit(dm[1].sock, batch);
	all_ok(r, 8);
	json_decref(r);
	free(batch);
}
END_TEST

/* /metrics carries the fleet families, in the text format. */
START_TEST(test_metrics)
{
	char *out = NULL;

	if (!start_redis())
		return;
	start_member(0, "50/s", NULL);
	wait_until(fleet_is(&dm[0], "redis", "up"), 5000);
	ck_assert_int_eq(api_call(dm[0].sock, "GET", "/metrics", NULL, &out),
	    200);
	ck_assert_ptr_nonnull(strstr(out, "\nfanoutd_fleet_redis_up 1\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nfanoutd_fleet_peers 1\n"));
	ck_assert_ptr_nonnull(strstr(out,
	    "fanoutd_fleet_redis_call_seconds_bucket{le=\"+Inf\"}"));
	ck_assert_ptr_nonnull(strstr(out, "fanoutd_fleet_tokens_total"));
	free(out);
}
END_TEST

static Suite *
fleet_suite(void)
{
	Suite *s = suite_create("fleet");
	const struct check_opts opts = {
		.teardown = teardown, .timeout_s = 60
	};

	check_add_with(s, &opts, test_rate_across_daemons);
	check_add_with(s, &opts, test_inflight_across_daemons);
	check_add_with(s, &opts, test_inflight_killed_daemon);
	check_add_with(s, &opts, test_inflight_degraded_share);
	check_add_with(s, &opts, test_redis_down_and_back);
	check_add_with(s, &opts, test_redis_stopped_mid_run);
	check_add_with(s, &opts, test_slow_redis_is_down);
	check_add_with(s, &opts, test_noscript_after_flush);
	check_add_with(s, &opts, test_wrong_address);
	check_add_with(s, &opts, test_reload_applies);
	check_add_with(s, &opts, test_acl_user);
	check_add_with(s, &opts, test_metrics);
	return s;
}

int
main(void)
{
	return check_run(fleet_suite());
}
