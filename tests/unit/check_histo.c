/*
 * check_histo.c: log-bucket quantiles against exact ones from sorted
 * samples, the bucket edges, the range's ends, and empty histograms.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "histo.h"

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The exact q-quantile of sorted v (rank ceil(q * n)). */
static double
exact(const double *v, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * (double)n);

	return v[rank > 0 ? rank - 1 : 0];
}

START_TEST(test_against_sorted)
{
	static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	static struct histo h;
	static double v[20000];
	size_t i, j, n = sizeof(v) / sizeof(v[0]);
	double got, want;

	srandom(7);
	for (j = 0; j < 3; j++) {
		memset(&h, 0, sizeof(h));
		for (i = 0; i < n; i++) {
			/* ms from 0.01 to 100,000, log-uniform, or a spike */
			v[i] = j == 2 && i % 3 ? 42.5 :
			    pow(10, -2 + 7 * (double)random() / RAND_MAX);
			histo_add(&h, v[i]);
		}
		qsort(v, n, sizeof(v[0]), cmp);
		ck_assert_uint_eq(h.count, n);
		for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
			got = histo_quantile(&h, qs[i]);
			want = exact(v, n, qs[i]);
			ck_assert_msg(fabs(got - want) <= want * 0.0625 + 0.001,
			    "q %g: %g, exact %g", qs[i], got, want);
		}
		ck_assert(histo_quantile(&h, 1.0) == v[n - 1]);
	}
}
END_TEST

START_TEST(test_edges)
{
	struct histo h;

	memset(&h, 0, sizeof(h));
	ck_assert(histo_quantile(&h, 0.5) == 0);
	histo_add(&h, 0.003);			/* 3 us: its own bucket */
	ck_assert(histo_quantile(&h, 0.5) == 0.003);
	histo_add(&h, -1);			/* as 0 */
	histo_add(&h, NAN);
	ck_assert_uint_eq(h.count, 3);
	ck_assert(histo_quantile(&h, 0.5) == 0);
	histo_add(&h, 1e12);			/* past the range: last bucket */
	ck_assert_uint_eq(h.n[HISTO_BUCKETS - 1], 1);
	ck_assert(histo_quantile(&h, 1.0) == 1e12);
	ck_assert(histo_quantile(&h, 0.99) > 4e6);	/* about 71 min */
	/* within [min, max]: one sample's quantiles are that sample */
	memset(&h, 0, sizeof(h));
	histo_add(&h, 1000.3);
	ck_assert(histo_quantile(&h, 0.5) == 1000.3);
	ck_assert(histo_quantile(&h, 0.99) == 1000.3);
}
END_TEST

static Suite *
histo_suite(void)
{
	Suite *s = suite_create("histo");

	check_add(s, test_against_sorted);
	check_add(s, test_edges);
	return s;
}

int
main(void)
{
	return check_run(histo_suite());
}
