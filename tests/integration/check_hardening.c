/*
 * check_hardening.c: the egress rules (names, CIDRs, ports; most specific
 * wins), per-user policy and caps from [user]/[group] sections, the proxy
 * judged on both ends, and slow API clients (slowloris) cut off without
 * slowing anyone else.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "check_main.h"

static struct upstream up;

static void
setup(void)
{
	upstream_start(&up);
}

static void
teardown(void)
{
	upstream_stop(&up);
}

static long long
upstream_stat(const char *key)
{
	json_t *j = upstream_json(&up, "/stats");
	long long n = jnum(j, key);

	json_decref(j);
	return n;
}

/* A batch of the given URLs (JSON-ready, comma separated objects). */
static json_t *
submit(const struct daemon *d, const char *requests)
{
	char *batch;
	json_t *reply;

	if (asprintf(&batch, "{\"requests\":[%s]}", requests) == -1)
		ck_abort();
	reply = api_submit(d->sock, batch);
	free(batch);
	return reply;
}

static const char *
message(json_t *r)
{
	return jstr(json_object_get(r, "error"), "message");
}

/* Names, addresses and ports, and which rule wins. */
START_TEST(test_rules)
{
	struct daemon d;
	char conf[512], reqs[1024];
	json_t *reply, *r;

	snprintf(conf, sizeof(conf), "deny_loopback = yes\n"
	    "allow = 127.0.0.1:%d\ndeny = *.blocked.test localhost\n",
	    up.port);
	daemon_start(&d, conf);
	snprintf(reqs, sizeof(reqs), "{\"url\":\"%s\"},"
	    "{\"url\":\"http://127.0.0.2:%d/ok\"},"
	    "{\"url\":\"http://localhost:%d/ok\"},"
	    "{\"url\":\"http://x.blocked.test/ok\"},"
	    "{\"url\":\"http://127.0.0.1:%d/redirect-to?url=http%%3A%%2F%%2F"
	    "localhost%%3A%d%%2Fok\",\"follow_redirects\":true}",
	    upstream_url(&up, "/ok"), up.port, up.port, up.port, up.port);
	reply = submit(&d, reqs);
	r = result_at(reply, 0);
	ck_assert_ptr_null(jerr(r));	/* the /32 rule opens one port */
	r = result_at(reply, 1);
	ck_assert_str_eq(jerr(r), "blocked");	/* loopback, built in */
	ck_assert_ptr_nonnull(strstr(message(r), "loopback"));
	r = result_at(reply, 2);
	ck_assert_str_eq(jerr(r), "blocked");	/* by name, before DNS */
	ck_assert_ptr_nonnull(strstr(message(r), "deny localhost"));
	r = result_at(reply, 3);
	ck_assert_str_eq(jerr(r), "blocked");
	ck_assert_ptr_nonnull(strstr(message(r), "deny *.blocked.test"));
	r = result_at(reply, 4);
	ck_assert_str_eq(jerr(r), "blocked");	/* the redirect's target */
	ck_assert_ptr_nonnull(strstr(message(r), "deny localhost"));
	json_decref(reply);
	/* only the allowed request and the redirect's first hop arrived */
	ck_assert_int_eq(upstream_stat("requests"), 2);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* A [user] section narrows what that user may reach. */
START_TEST(test_user_policy)
{
	struct daemon d;
	char conf[512], reqs[512];
	json_t *reply, *r, *cfg;
	long status;

	snprintf(conf, sizeof(conf), "[user %u]\ndeny = *\n"
	    "allow = 127.0.0.1\n", (unsigned)getuid());
	daemon_start(&d, conf);
	snprintf(reqs, sizeof(reqs), "{\"url\":\"%s\"},"
	    "{\"url\":\"http://localhost:%d/ok\"}",
	    upstream_url(&up, "/ok"), up.port);
	reply = submit(&d, reqs);
	ck_assert_ptr_null(jerr(result_at(reply, 0)));
	r = result_at(reply, 1);
	ck_assert_str_eq(jerr(r), "blocked");
	ck_assert_ptr_nonnull(strstr(message(r), "section [user"));
	json_decref(reply);
	cfg = api_json(d.sock, "GET", "/v1/config", NULL, &status);
	ck_assert_int_eq(status, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(cfg,
	    "config"), "clients")), 1);
	json_decref(cfg);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* Whether GET path, a batch, says it is still running. */
static int
running(const char *sock, const char *path)
{
	long status;
	json_t *st = api_json(sock, "GET", path, NULL, &status);
	int yes = strcmp(jstr(st, "state"), "running") == 0;

	json_decref(st);
	return yes;
}

/*
 * max_inflight in a [user] section caps that user's transfers across all
 * its batches; max_queued_per_uid refuses a batch that would pass it.
 */
START_TEST(test_caller_caps)
{
	struct daemon d;
	char conf[256], batch[2048], *p;
	json_t *reply, *a;
	long status;
	int i;

	snprintf(conf, sizeof(conf), "host_inflight = 32\n"
	    "max_queued_per_uid = 12\n[user %u]\nmax_inflight = 3\n",
	    (unsigned)getuid());
	daemon_start(&d, conf);
	p = batch + sprintf(batch, "{\"mode\":\"async\",\"concurrency\":10,"
	    "\"requests\":[");
	for (i = 0; i < 10; i++)
		p += sprintf(p, "%s{\"url\":\"%s\"}", i ? "," : "",
		    upstream_url(&up, "/delay/150"));
	strcpy(p, "]}");
	a = api_json(d.sock, "POST", "/v1/batches", batch, &status);
	ck_assert_int_eq(status, 202);
	/* 10 unfinished + 3 more > 12: refused at once */
	reply = api_json(d.sock, "POST", "/v1/batches", "{\"requests\":["
	    "{\"url\":\"http://127.0.0.1:1/\"},{\"url\":\"http://127.0.0.1:1/\"},"
	    "{\"url\":\"http://127.0.0.1:1/\"}]}", &status);
	ck_assert_int_eq(status, 429);
	ck_assert_str_eq(jstr(json_object_get(reply, "error"), "code"),
	    "overloaded");
	ck_assert_ptr_nonnull(strstr(jstr(json_object_get(reply, "error"),
	    "message"), "unfinished"));
	json_decref(reply);
	/* a batch bigger than the cap could never fit: 413, not 429 */
	p = batch + sprintf(batch, "{\"requests\":[");
	for (i = 0; i < 13; i++)
		p += sprintf(p, "%s{\"url\":\"http://127.0.0.1:1/\"}",
		    i ? "," : "");
	strcpy(p, "]}");
	reply = api_json(d.sock, "POST", "/v1/batches", batch, &status);
	ck_assert_int_eq(status, 413);
	json_decref(reply);
	/* a second batch of 2 fits, and shares the user's 3 slots */
	snprintf(batch, sizeof(batch), "{\"requests\":[{\"url\":\"%s\"},"
	    "{\"url\":\"%s\"}]}", upstream_url(&up, "/delay/150"),
	    upstream_url(&up, "/delay/150"));
	reply = api_submit(d.sock, batch);
	ck_assert_ptr_null(jerr(result_at(reply, 0)));
	json_decref(reply);
	snprintf(batch, sizeof(batch), "/v1/batches/%s",
	    jstr(a, "batch_id"));
	wait_until(!running(d.sock, batch), 5000);
	json_decref(a);
	ck_assert_int_eq(upstream_stat("requests"), 12);
	ck_assert_int_eq(upstream_stat("max_inflight"), 3);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/*
 * Through a proxy (the test upstream serves absolute-form requests
 * itself): targets are judged by name and literal address before
 * anything is sent, redirects too, and the proxy by its own address.
 */
START_TEST(test_proxy)
{
	struct daemon d;
	char conf[256], reqs[1024];
	json_t *reply, *r;

	snprintf(conf, sizeof(conf), "proxy = http://127.0.0.1:%d\n"
	    "deny = *.blocked.test\n", up.port);
	setenv("no_proxy", "*", 1);	/* ignored: it would bypass the proxy */
	setenv("NO_PROXY", "*", 1);
	daemon_start(&d, conf);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	snprintf(reqs, sizeof(reqs),
	    "{\"url\":\"http://origin.invalid/ok\"},"
	    "{\"url\":\"http://a.blocked.test/ok\"},"
	    "{\"url\":\"http://169.254.169.254/latest/meta-data/\"},"
	    "{\"url\":\"http://[::ffff:a9fe:a9fe]/\"},"
	    "{\"url\":\"http://origin.invalid/redirect-to?url=http%%3A%%2F%%2F"
	    "169.254.169.254%%2F\",\"follow_redirects\":true}");
	reply = submit(&d, reqs);
	ck_assert_ptr_null(jerr(result_at(reply, 0)));	/* via the proxy */
	ck_assert_str_eq(jerr(result_at(reply, 1)), "blocked");
	r = result_at(reply, 2);
	ck_assert_str_eq(jerr(r), "blocked");
	ck_assert_ptr_nonnull(strstr(message(r), "metadata"));
	ck_assert_str_eq(jerr(result_at(reply, 3)), "blocked");
	ck_assert_str_eq(jerr(result_at(reply, 4)), "blocked");
	json_decref(reply);
	/* the first request and the redirect's first hop, nothing else */
	ck_assert_int_eq(upstream_stat("proxied"), 2);
	ck_assert_int_eq(daemon_stop(&d), 0);

	/* strict: the proxy on loopback is refused until allowed */
	snprintf(conf, sizeof(conf), "proxy = http://127.0.0.1:%d\n"
	    "deny_loopback = yes\n", up.port);
	daemon_start(&d, conf);
	reply = submit(&d, "{\"url\":\"http://origin.invalid/ok\"}");
	r = result_at(reply, 0);
	ck_assert_str_eq(jerr(r), "blocked");
	ck_assert_ptr_nonnull(strstr(message(r), "127.0.0.1 is loopback"));
	json_decref(reply);
	ck_assert_int_eq(daemon_stop(&d), 0);
	snprintf(conf, sizeof(conf), "proxy = http://127.0.0.1:%d\n"
	    "deny_loopback = yes\nallow = 127.0.0.1:%d\n", up.port, up.port);
	daemon_start(&d, conf);
	reply = submit(&d, "{\"url\":\"http://origin.invalid/ok\"}");
	ck_assert_ptr_null(jerr(result_at(reply, 0)));
	json_decref(reply);
	ck_assert_int_eq(daemon_stop(&d), 0);
	/* a proxy named by host is judged with its name and port */
	snprintf(conf, sizeof(conf), "proxy = http://localhost:%d\n"
	    "deny = localhost:%d\n", up.port, up.port);
	daemon_start(&d, conf);
	reply = submit(&d, "{\"url\":\"http://origin.invalid/ok\"}");
	r = result_at(reply, 0);
	ck_assert_str_eq(jerr(r), "blocked");
	ck_assert_ptr_nonnull(strstr(message(r), "deny localhost:"));
	json_decref(reply);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

#define SLOW	2000

/*
 * 2,000 clients trickle a request a byte at a time: each is cut off
 * (api_request_timeout_ms, or evicted for a newer client at
 * api_max_connections) while /healthz and a batch go on being served.
 */
START_TEST(test_slowloris)
{
	static const char head[] = "POST /v1/batches HTTP/1.1\r\nHost: x\r\n"
	    "X-Slow: ";
	static const char ok[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	char drain[4096];
	ssize_t n;
	struct rlimit rl;
	struct daemon d;
	int *fds = calloc(SLOW, sizeof(int)), i, round, closed = 0;
	double t0, worst = 0, lat;
	char *out;
	long st;
	json_t *reply;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < SLOW + 256) {
		rl.rlim_cur = rl.rlim_max;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	ck_assert_msg(rl.rlim_cur >= SLOW + 256, "RLIMIT_NOFILE too low");
	daemon_start(&d, "api_request_timeout_ms = 1500\n"
	    "api_max_connections = 1024\n");
	for (i = 0; i < SLOW; i++) {
		fds[i] = raw_connect(d.sock);
		if (i < 100)	/* one whole request first: kept alive */
			ck_assert_int_eq(send(fds[i], ok, strlen(ok),
			    MSG_NOSIGNAL), (ssize_t)strlen(ok));
		ck_assert_int_eq(send(fds[i], head, 8, MSG_NOSIGNAL), 8);
	}
	/* trickle for 3 s, a byte per client per round, probing health */
	for (round = 0; round < 15; round++) {
		for (i = 0; i < SLOW; i++)
			if (fds[i] != -1 && send(fds[i], &head[8 + round % 20],
			    1, MSG_NOSIGNAL | MSG_DONTWAIT) == -1 &&
			    errno != EAGAIN) {
				close(fds[i]);
				fds[i] = -1;
				closed++;
			}
		t0 = now_ms();
		st = api_call(d.sock, "GET", "/healthz", NULL, &out);
		lat = now_ms() - t0;
		free(out);
		ck_assert_int_eq(st, 200);
		if (lat > worst)
			worst = lat;
		usleep(200000);	/* the trickle's pace: what is tested */
	}
	/* every slow client has been cut off by now */
	for (i = 0; i < SLOW; i++) {
		if (fds[i] == -1)
			continue;
		while ((n = recv(fds[i], drain, sizeof(drain),
		    MSG_DONTWAIT)) > 0)
			;	/* the reply to the whole request */
		ck_assert_msg(n == 0 || errno == ECONNRESET,
		    "client %d still connected", i);
		close(fds[i]);
		closed++;
	}
	ck_assert_int_eq(closed, SLOW);
	/* and the daemon counted them, for /metrics and /v1/stats */
	reply = api_json(d.sock, "GET", "/v1/stats", NULL, &st);
	ck_assert_int_ge(jnum(json_object_get(reply, "api"),
	    "connections_cut"), SLOW);
	json_decref(reply);
	st = api_call(d.sock, "GET", "/metrics", NULL, &out);
	ck_assert_ptr_nonnull(strstr(out,
	    "\nfanoutd_api_connections_cut_total "));
	free(out);
	reply = submit(&d, "{\"url\":\"http://127.0.0.1:1/\"}");
	ck_assert_str_eq(jerr(result_at(reply, 0)), "connect_failed");
	json_decref(reply);
	fprintf(stderr, "slowloris: %d slow clients cut off; /healthz "
	    "slowest %.1f ms\n", SLOW, worst);
	ck_assert_msg(worst < scaled_ms(1000), "/healthz took %.0f ms", worst);
	free(fds);
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

/* Too many header lines on the API: 431, and the daemon goes on. */
START_TEST(test_api_header_limit)
{
	struct daemon d;
	char *req, *p, reply[512] = "";
	int fd, i;
	ssize_t n, got = 0;

	daemon_start(&d, NULL);
	p = req = malloc(64 * 150 + 128);
	p += sprintf(p, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < 150; i++)
		p += sprintf(p, "X-H%d: v\r\n", i);
	strcpy(p, "Connection: close\r\n\r\n");
	fd = raw_connect(d.sock);
	ck_assert_int_eq(send(fd, req, strlen(req), MSG_NOSIGNAL),
	    (ssize_t)strlen(req));
	while ((n = recv(fd, reply + got, sizeof(reply) - 1 - (size_t)got,
	    0)) > 0 && got + n < (ssize_t)sizeof(reply) - 1)
		got += n;
	close(fd);
	free(req);
	ck_assert_msg(strncmp(reply, "HTTP/1.1 431", 12) == 0, "%s", reply);
	ck_assert_ptr_nonnull(strstr(reply, "headers_too_large"));
	ck_assert_int_eq(daemon_stop(&d), 0);
}
END_TEST

static Suite *
hardening_suite(void)
{
	Suite *s = suite_create("hardening");
	const struct check_opts opts = {
		.setup = setup, .teardown = teardown, .timeout_s = 60
	};

	check_add_with(s, &opts, test_rules);
	check_add_with(s, &opts, test_user_policy);
	check_add_with(s, &opts, test_caller_caps);
	check_add_with(s, &opts, test_proxy);
	check_add_with(s, &opts, test_slowloris);
	check_add_with(s, &opts, test_api_header_limit);
	return s;
}

int
main(void)
{
	return check_run(hardening_suite());
}
