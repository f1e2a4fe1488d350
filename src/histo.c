/*
 * histo.c: a fixed-memory latency histogram with log buckets.
 *
 * Samples are microseconds. Below HISTO_SUB each value has its bucket;
 * from there each power of two [2^p, 2^(p+1)) is split in HISTO_SUB equal
 * buckets, so a bucket is at most 1/8 of its values wide and its middle
 * within 6.25% of any sample in it. Values past 2^32 us (71 min) go in the
 * last bucket; max is kept exactly. Pure: no clock, no allocation.
 */
#include <math.h>
#include <stdint.h>

#include "histo.h"

#define TOP	((UINT64_C(1) << 32) - 1)

static unsigned
bucket_of(uint64_t us)
{
	unsigned p, shift;

	if (us > TOP)
		us = TOP;
	if (us < HISTO_SUB)
		return (unsigned)us;
	p = 63u - (unsigned)__builtin_clzll(us);	/* 3..31 */
	shift = p - 3;
	return HISTO_SUB + (p - 3) * HISTO_SUB +
	    (unsigned)((us >> shift) - HISTO_SUB);
}

/* The middle of bucket i, in us. */
static double
middle_of(unsigned i)
{
	unsigned p, sub;
	uint64_t lo, width;

	if (i < HISTO_SUB)
		return (double)i;
	p = (i - HISTO_SUB) / HISTO_SUB + 3;
	sub = (i - HISTO_SUB) % HISTO_SUB;
	width = UINT64_C(1) << (p - 3);
	lo = (UINT64_C(1) << p) + sub * width;
	return (double)lo + (double)(width - 1) / 2.0;
}

void
histo_add(struct histo *h, double ms)
{
	double us = ms * 1000.0;

	if (!(us > 0))		/* negative, zero or NaN */
		us = 0, ms = 0;
	h->n[bucket_of(us >= (double)TOP ? TOP : (uint64_t)llround(us))]++;
	if (h->count++ == 0 || ms < h->min)
		h->min = ms;
	if (ms > h->max)
		h->max = ms;
}

double
histo_quantile(const struct histo *h, double q)
{
	uint64_t rank, seen = 0;
	double v;
	unsigned i;

	if (h->count == 0)
		return 0;
	if (q >= 1)
		return h->max;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank == 0)
		rank = 1;
	for (i = 0; i < HISTO_BUCKETS; i++) {
		seen += h->n[i];
		if (seen >= rank)
			break;
	}
	v = middle_of(i < HISTO_BUCKETS ? i : HISTO_BUCKETS - 1) / 1000.0;
	return v < h->min ? h->min : v > h->max ? h->max : v;
}
