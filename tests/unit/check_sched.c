/*
 * check_sched.c: the scheduler's decisions with a hand-set clock: global,
 * host and batch limits together, host and batch rates, round-robin order
 * between batches and hosts, Retry-After pauses and the breaker.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "caller.h"
#include "config.h"
#include "host.h"
#include "sched.h"
#include "check_main.h"

#define S	1000000ull

static struct config cfg;

static void
setup(void)
{
	config_defaults(&cfg);
	host_init(&cfg);
	sched_init(&cfg);
}

static void
teardown(void)
{
	sched_shutdown();
	host_shutdown();
	config_clear(&cfg);
}

/* A batch of n GETs to each of the given origins, in turn. */
static struct batch *
make(const char *extra, size_t n, const char *o1, const char *o2)
{
	char *json = malloc(n * 2 * 64 + 256), *p = json;
	struct batch_error err;
	struct batch *b;
	size_t i;

	p += sprintf(p, "{%s\"requests\":[", extra);
	for (i = 0; i < n; i++) {
		p += sprintf(p, "%s{\"id\":\"%c%zu\",\"url\":\"%s/x\"}",
		    i ? "," : "", 'a', i, o1);
		if (o2 != NULL)
			p += sprintf(p, ",{\"id\":\"%c%zu\",\"url\":\"%s/x\"}",
			    'b', i, o2);
	}
	strcpy(p, "]}");
	b = batch_parse(json, strlen(json), &cfg, NULL, &err);
	ck_assert_msg(b != NULL, "%s", err.message);
	free(json);
	return b;
}

/* Start everything startable at now; returns how many started. */
static size_t
drain(uint64_t now, struct job **started, size_t max)
{
	enum sched_verdict v;
	struct job *job;
	size_t n = 0;

	while ((job = sched_next(now, &v)) != NULL) {
		ck_assert_int_eq(v, SCHED_START);
		if (n < max)
			started[n] = job;
		n++;
	}
	return n;
}

/* Finish every started job. */
static void
finish_all(struct job **jobs, size_t n, uint64_t now)
{
	size_t i;

	for (i = 0; i < n; i++) {
		sched_done(jobs[i], now);
		jobs[i]->state = JOB_DONE;
	}
}

static void
drop_cb(struct job *job, void *arg)
{
	(*(size_t *)arg)++;
	job->state = JOB_DONE;
}

static void
forget(struct batch *b)
{
	size_t n = 0;

	sched_drop(b, drop_cb, &n);
	sched_forget(b, 0);
	batch_free(b);
}

START_TEST(test_limits_together)
{
	struct job *started[64];
	struct batch *b;

	/* host_inflight 8 < concurrency 32 < nothing else */
	b = make("", 40, "http://h1", NULL);
	sched_add(b, 0);
	ck_assert_uint_eq(drain(0, started, 64), 8);
	ck_assert_uint_eq(sched_inflight(), 8);
	ck_assert_uint_eq(sched_queued(), 32);
	finish_all(started, 3, 1);
	ck_assert_uint_eq(drain(1, started, 64), 3);
	forget(b);
	finish_all(started, 0, 1);

	/* batch concurrency 2 beats host_inflight 8 */
	teardown();
	setup();
	b = make("\"concurrency\":2,", 10, "http://h1", "http://h2");
	sched_add(b, 0);
	ck_assert_uint_eq(drain(0, started, 64), 2);
	finish_all(started, 1, 1);
	ck_assert_uint_eq(drain(1, started, 64), 1);
	forget(b);

	/* max_inflight 5 caps two hosts of 8 */
	teardown();
	setup();
	cfg.max_inflight = 5;
	b = make("", 10, "http://h1", "http://h2");
	sched_add(b, 0);
	ck_assert_uint_eq(drain(0, started, 64), 5);
	forget(b);
}
END_TEST

START_TEST(test_host_rate_timer)
{
	struct job *started[8];
	struct host_rule *r;
	struct batch *b;

	cfg.hosts = calloc(1, sizeof(*cfg.hosts));
	cfg.nhosts = 1;
	r = &cfg.hosts[0];
	r->name = strdup("slow");
	r->rate = 2;
	r->burst = 1;
	b = make("", 3, "http://slow", "http://fast");
	sched_add(b, 0);
	/* one token for slow; fast is not held back */
	ck_assert_uint_eq(drain(0, started, 8), 4);
	ck_assert_uint_eq(sched_wake_at(), S / 2);	/* next slow token */
	ck_assert_uint_eq(drain(S / 2 - 1, started, 8), 0);
	ck_assert_uint_eq(drain(S / 2, started, 8), 1);
	ck_assert_str_eq(started[0]->host->name, "slow");
	ck_assert_uint_eq(sched_wake_at(), S);
	forget(b);
}
END_TEST

START_TEST(test_batch_rate)
{
	struct job *started[8];
	struct batch *b;

	b = make("\"rate\":{\"per_second\":10,\"burst\":2},", 3, "http://a",
	    "http://b");
	sched_add(b, 0);
	ck_assert_uint_eq(drain(0, started, 8), 2);
	ck_assert_uint_eq(sched_wake_at(), S / 10);
	ck_assert_uint_eq(drain(S / 10, started, 8), 1);
	ck_assert_uint_eq(drain(2 * S / 10, started, 8), 1);
	forget(b);
}
END_TEST

/* Two batches on a host with one slot alternate; hosts alternate too. */
START_TEST(test_round_robin)
{
	struct job *started[4];
	struct batch *big, *small;
	char order[32];
	size_t i;

	cfg.host_inflight = 1;
	big = make("", 10, "http://h", NULL);
	small = make("", 3, "http://h", NULL);
	sched_add(big, 0);
	sched_add(small, 0);
	for (i = 0; i < 8; i++) {
		ck_assert_uint_eq(drain(i, started, 4), 1);
		order[i] = started[0]->batch == big ? 'B' : 's';
		finish_all(started, 1, i);
	}
	order[i] = '\0';
	ck_assert_str_eq(order, "BsBsBsBB");
	forget(big);
	forget(small);
}
END_TEST

START_TEST(test_pause_and_breaker)
{
	struct job *started[16];
	enum sched_verdict v;
	struct batch *b;
	struct job *job;
	int probe;

	b = make("", 4, "http://p", NULL);
	sched_add(b, 0);
	job = sched_next(0, &v);
	ck_assert_ptr_nonnull(job);
	sched_pause_host(job->host, 2 * S);	/* Retry-After: 2 */
	sched_done(job, 1);
	job->state = JOB_DONE;
	ck_assert_uint_eq(drain(1, started, 16), 0);
	ck_assert_uint_eq(sched_wake_at(), 2 * S);
	ck_assert_uint_eq(drain(2 * S, started, 16), 3);
	finish_all(started, 3, 2 * S);
	forget(b);

	/* An open circuit drains the host's queue with CIRCUIT_OPEN. */
	b = make("", 3, "http://p", NULL);
	cfg.breaker_failures = 1;
	sched_add(b, 3 * S);
	breaker_record(&b->jobs[0].host->dispatch.breaker, BREAKER_FAILURE, 0, 1,
	    S, 3 * S);
	sched_host_changed(b->jobs[0].host);
	while ((job = sched_next(3 * S, &v)) != NULL) {
		ck_assert_int_eq(v, SCHED_CIRCUIT_OPEN);
		job->state = JOB_DONE;
	}
	ck_assert_uint_eq(sched_queued(), 0);
	ck_assert_int_eq(breaker_allow(&b->jobs[0].host->dispatch.breaker, 1, 4 * S,
	    &probe), 1);
	ck_assert_int_eq(probe, 1);
	forget(b);
}
END_TEST

/*
 * A user's in-flight cap holds across its batches and hosts; another
 * user is not held back by it, and a slot freed lets the capped user's
 * other batches go again.
 */
START_TEST(test_caller_cap)
{
	struct job *started[64], *other[64];
	struct batch *a1, *a2, *b1;
	size_t n, i;

	a1 = make("", 10, "http://h1", NULL);
	a2 = make("", 10, "http://h2", NULL);
	b1 = make("", 10, "http://h3", NULL);
	caller_attach(a1, 1000, 3);
	caller_attach(a2, 1000, 3);
	caller_attach(b1, 2000, 0);
	sched_add(a1, 0);
	sched_add(a2, 0);
	sched_add(b1, 0);
	n = drain(0, started, 64);
	/* uid 1000: 3 in all; uid 2000: its host limit (8) */
	ck_assert_uint_eq(n, 3 + 8);
	ck_assert_uint_eq(a1->sched.inflight + a2->sched.inflight, 3);
	ck_assert_uint_eq(a1->link.caller->inflight, 3);
	ck_assert_uint_eq(b1->sched.inflight, 8);
	/* one of uid 1000's slots frees: exactly one of its jobs starts */
	for (i = 0; i < n && started[i]->batch == b1; i++)
		;
	sched_done(started[i], 0);
	started[i]->state = JOB_DONE;
	ck_assert_uint_eq(drain(0, other, 64), 1);
	ck_assert(other[0]->batch == a1 || other[0]->batch == a2);
	ck_assert_uint_eq(a1->link.caller->inflight, 3);
	started[i] = other[0];
	finish_all(started, n, 0);
	while ((n = drain(0, started, 64)) > 0)
		finish_all(started, n, 0);
	caller_detach(a1);
	caller_detach(a2);
	caller_detach(b1);
	forget(a1);
	forget(a2);
	forget(b1);
}
END_TEST

static Suite *
sched_suite(void)
{
	Suite *s = suite_create("sched");
	const struct check_opts opts = { .setup = setup, .teardown = teardown };

	check_add_with(s, &opts, test_limits_together);
	check_add_with(s, &opts, test_host_rate_timer);
	check_add_with(s, &opts, test_batch_rate);
	check_add_with(s, &opts, test_round_robin);
	check_add_with(s, &opts, test_pause_and_breaker);
	check_add_with(s, &opts, test_caller_cap);
	return s;
}

int
main(void)
{
	return check_run(sched_suite());
}
