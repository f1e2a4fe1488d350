/*
 * check_mbox.c: the thread-to-loop message box: order, the wake-up only
 * on the empty-to-non-empty edge, the swap of arrays, and many threads
 * putting at once with none of their messages lost or repeated.
 */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mbox.h"
#include "check_main.h"

static int
readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

START_TEST(test_order_and_wake)
{
	struct mbox mb;
	struct mbox_msg *v = NULL;
	size_t cap = 0, n, i;
	char *cause = NULL;
	int objs[300];

	ck_assert_int_eq(mbox_init(&mb, &cause), 0);
	ck_assert(!readable(mbox_fd(&mb), 0));
	ck_assert_uint_eq(mbox_take(&mb, &v, &cap), 0);	/* nothing: fine */
	for (i = 0; i < 300; i++)
		mbox_put(&mb, (int)i % 3, &objs[i]);
	ck_assert(readable(mbox_fd(&mb), 0));
	n = mbox_take(&mb, &v, &cap);
	ck_assert_uint_eq(n, 300);
	ck_assert_uint_ge(cap, 300);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(v[i].kind, (int)i % 3);
		ck_assert_ptr_eq(v[i].obj, &objs[i]);
	}
	ck_assert(!readable(mbox_fd(&mb), 0));	/* taken: quiet again */
	/* The box now holds the caller's old (empty) array, and grows it. */
	mbox_put(&mb, 7, NULL);
	ck_assert(readable(mbox_fd(&mb), 0));
	ck_assert_uint_eq(mbox_take(&mb, &v, &cap), 1);
	ck_assert_int_eq(v[0].kind, 7);
	free(v);
	mbox_free(&mb);
}
END_TEST

#define PRODUCERS	4
#define PER_PRODUCER	50000

struct producer {
	struct mbox	*mb;
	int		 id;
};

static void *
produce(void *arg)
{
	struct producer *p = arg;
	uintptr_t i;

	for (i = 0; i < PER_PRODUCER; i++)
		mbox_put(p->mb, p->id, (void *)(i + 1));
	return NULL;
}

/*
 * Four threads put 50,000 numbered messages each while this thread takes
 * them only when woken: every message arrives once, each producer's in
 * order, and no wake-up is lost (a lost one would hang the poll loop).
 */
START_TEST(test_producers)
{
	struct producer p[PRODUCERS];
	pthread_t th[PRODUCERS];
	uintptr_t next[PRODUCERS];
	struct mbox_msg *v = NULL;
	struct mbox mb;
	size_t cap = 0, got = 0, n, i, wakes = 0;
	char *cause = NULL;

	ck_assert_int_eq(mbox_init(&mb, &cause), 0);
	for (i = 0; i < PRODUCERS; i++) {
		p[i].mb = &mb;
		p[i].id = (int)i;
		next[i] = 1;
		ck_assert_int_eq(pthread_create(&th[i], NULL, produce, &p[i]),
		    0);
	}
	while (got < PRODUCERS * PER_PRODUCER) {
		ck_assert_msg(readable(mbox_fd(&mb),
		    (int)(10000 * check_timeout_multiplier())),
		    "no wake-up with %zu of %d taken", got,
		    PRODUCERS * PER_PRODUCER);
		wakes++;
		n = mbox_take(&mb, &v, &cap);
		for (i = 0; i < n; i++) {
			ck_assert_int_lt(v[i].kind, PRODUCERS);
			ck_assert_uint_eq((uintptr_t)v[i].obj,
			    next[v[i].kind]);
			next[v[i].kind]++;
		}
		got += n;
	}
	for (i = 0; i < PRODUCERS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_uint_eq(next[i], PER_PRODUCER + 1);
	}
	ck_assert_uint_le(wakes, got);
	ck_assert_uint_eq(mbox_take(&mb, &v, &cap), 0);
	free(v);
	mbox_free(&mb);
}
END_TEST

static Suite *
mbox_suite(void)
{
	Suite *s = suite_create("mbox");
	const struct check_opts opts = { .timeout_s = 60 };

	check_add_with(s, &opts, test_order_and_wake);
	check_add_with(s, &opts, test_producers);
	return s;
}

int
main(void)
{
	return check_run(mbox_suite());
}
