/*
 * check_host.c: the host table with a hand-set clock: a host nobody holds
 * is freed host_idle_s later, never while held, paused or with an open
 * circuit, and what it counted stays in host_retired(). Through the
 * scheduler: a batch's hosts go idle when it is forgotten, and a freed
 * host leaves neither the ready list nor the wake-up queue behind.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "breaker.h"
#include "config.h"
#include "host.h"
#include "hostrule.h"
#include "sched.h"
#include "check_main.h"

#define S	1000000ull

static struct config cfg;
static size_t unlinked;

static void
setup(void)
{
	config_defaults(&cfg);
	cfg.host_idle_s = 10;
	host_init(&cfg);
	sched_init(&cfg);
	unlinked = 0;
}

static void
teardown(void)
{
	sched_shutdown();
	host_shutdown();
	config_clear(&cfg);
}

static void
count_unlink(struct host *h)
{
	(void)h;
	unlinked++;
}

START_TEST(test_unheld_host_expires)
{
	struct host *h = host_get("http://a.test:80", 5 * S);

	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(host_count_known(), 1);
	/* Due 10 s after it was made, not before. */
	ck_assert_uint_eq(host_expire(6 * S, count_unlink), 15 * S);
	ck_assert_uint_eq(host_expire(15 * S - 1, count_unlink), 15 * S);
	ck_assert_uint_eq(host_count_known(), 1);
	ck_assert_uint_eq(host_expire(15 * S, count_unlink), UINT64_MAX);
	ck_assert_uint_eq(host_count_known(), 0);
	ck_assert_uint_eq(host_count_expired(), 1);
	ck_assert_uint_eq(unlinked, 1);
}
END_TEST

START_TEST(test_held_host_stays)
{
	struct host *h = host_get("http://a.test:80", 0);

	host_hold(h);
	host_hold(h);		/* two batch queues */
	ck_assert_uint_eq(host_expire(100 * S, count_unlink), UINT64_MAX);
	host_release(h, 100 * S);
	ck_assert_uint_eq(host_expire(200 * S, count_unlink), UINT64_MAX);
	ck_assert_uint_eq(host_count_known(), 1);
	host_release(h, 200 * S);	/* idle from here */
	ck_assert_uint_eq(host_expire(205 * S, count_unlink), 210 * S);
	host_hold(h);			/* used again before it was due */
	ck_assert_uint_eq(host_expire(300 * S, count_unlink), UINT64_MAX);
	ck_assert_uint_eq(host_count_known(), 1);
	host_release(h, 300 * S);
	host_expire(310 * S, count_unlink);
	ck_assert_uint_eq(host_count_known(), 0);
}
END_TEST

START_TEST(test_paused_and_open_hosts_stay)
{
	struct host *p = host_get("http://paused.test:80", 0);
	struct host *o = host_get("http://open.test:80", 0);
	struct host *q = host_get("http://quiet.test:80", 0);
	int i;

	p->sched.paused_until = 30 * S;	/* Retry-After */
	for (i = 0; i < 3; i++)
		breaker_record(&o->dispatch.breaker, BREAKER_FAILURE, 0, 3, 25 * S, 0);
	ck_assert(breaker_is_open(&o->dispatch.breaker, 10 * S));
	(void)q;
	/* At 10 s only the quiet one goes; the others start over. */
	ck_assert_uint_eq(host_expire(10 * S, count_unlink), 20 * S);
	ck_assert_uint_eq(host_count_known(), 2);
	/* At 20 s both are still held back: again at 30 s. */
	ck_assert_uint_eq(host_expire(20 * S, count_unlink), 30 * S);
	ck_assert_uint_eq(host_count_known(), 2);
	/* At 30 s the pause is over, the circuit is half-open: both go. */
	ck_assert_uint_eq(host_expire(30 * S, count_unlink), UINT64_MAX);
	ck_assert_uint_eq(host_count_known(), 0);
	ck_assert_uint_eq(unlinked, 3);
}
END_TEST

START_TEST(test_counters_kept)
{
	struct host *h = host_get("http://a.test:80", 0);
	const struct host_counters *r = host_retired();

	h->c.requests = 7;
	h->c.retries_total = 2;
	host_count(h, 200, RESULT_OK);
	host_count(h, 503, RESULT_OK);
	host_count(h, 0, RESULT_TIMEOUT);
	host_observe(h, 3.0, 1.0);
	host_expire(10 * S, count_unlink);
	ck_assert_uint_eq(host_count_known(), 0);
	ck_assert_uint_eq(r->requests, 7);
	ck_assert_uint_eq(r->retries_total, 2);
	ck_assert_uint_eq(r->status_class[2], 1);
	ck_assert_uint_eq(r->status_class[5], 1);
	ck_assert_uint_eq(r->errors[RESULT_TIMEOUT], 1);
	ck_assert_uint_eq(r->duration.count, 1);
	/* The same origin later is a new host with its own counters. */
	h = host_get("http://a.test:80", 11 * S);
	ck_assert_uint_eq(h->c.requests, 0);
	h->c.requests = 1;
	host_expire(21 * S, count_unlink);
	ck_assert_uint_eq(r->requests, 8);
	ck_assert_uint_eq(host_count_expired(), 2);
}
END_TEST

START_TEST(test_follows_host_idle_s)
{
	host_get("http://a.test:80", 0);
	cfg.host_idle_s = 1;		/* a reload lowered it */
	ck_assert_uint_eq(host_expire(1 * S, count_unlink), UINT64_MAX);
	ck_assert_uint_eq(host_count_known(), 0);
}
END_TEST

static struct batch *
one_batch(const char *json)
{
	struct batch_error err;
	struct batch *b;

	b = batch_parse(json, strlen(json), &cfg, NULL, &err);
	ck_assert_msg(b != NULL, "%s", err.message);
	return b;
}

static void
drop_cb(struct job *job, void *arg)
{
	(void)arg;
	job->state = JOB_DONE;
}

/*
 * A rate-limited host waiting for a token sits in the scheduler's wake-up
 * queue; when its batch is forgotten and it expires, nothing is left
 * pointing at it (ASan and valgrind see a use after free otherwise).
 */
START_TEST(test_through_sched)
{
	struct host_rule *r;
	struct batch *b;
	enum sched_verdict v;
	struct job *job;

	cfg.hosts = calloc(1, sizeof(*cfg.hosts));
	cfg.nhosts = 1;
	r = &cfg.hosts[0];
	r->name = strdup("r.test");
	r->rate = 1;
	r->burst = 1;
	b = one_batch("{\"requests\":[{\"url\":\"http://r.test/1\"},"
	    "{\"url\":\"http://r.test/2\"}]}");
	sched_add(b, 0);
	ck_assert_uint_eq(host_count_known(), 1);
	ck_assert_ptr_nonnull(job = sched_next(0, &v));
	ck_assert_int_eq(v, SCHED_START);
	ck_assert_ptr_null(sched_next(0, &v));	/* waits for a token */
	ck_assert_uint_lt(sched_wake_at(), UINT64_MAX);
	sched_done(job, 0);
	job->state = JOB_DONE;
	sched_drop(b, drop_cb, NULL);
	sched_forget(b, 0);
	batch_free(b);
	/* Held while the batch lived; idle from its end. */
	ck_assert_uint_eq(sched_expire_hosts(5 * S), 10 * S);
	ck_assert_uint_eq(sched_expire_hosts(10 * S), UINT64_MAX);
	ck_assert_uint_eq(host_count_known(), 0);
	ck_assert_uint_eq(sched_wake_at(), UINT64_MAX);
	ck_assert_ptr_null(sched_next(10 * S, &v));
}
END_TEST

static Suite *
host_suite(void)
{
	Suite *s = suite_create("host");

	check_add_fixture(s, "test_unheld_host_expires",
	    test_unheld_host_expires, setup, teardown);
	check_add_fixture(s, "test_held_host_stays", test_held_host_stays,
	    setup, teardown);
	check_add_fixture(s, "test_paused_and_open_hosts_stay",
	    test_paused_and_open_hosts_stay, setup, teardown);
	check_add_fixture(s, "test_counters_kept", test_counters_kept,
	    setup, teardown);
	check_add_fixture(s, "test_follows_host_idle_s",
	    test_follows_host_idle_s, setup, teardown);
	check_add_fixture(s, "test_through_sched", test_through_sched,
	    setup, teardown);
	return s;
}

int
main(void)
{
	return check_run(host_suite());
}
