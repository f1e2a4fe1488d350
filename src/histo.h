/*
 * histo.h: a fixed-memory latency histogram with log buckets (as HDR
 * histograms do): quantiles within about 6% of the true value, from 1 us
 * to 71 minutes, in under a kilobyte, whatever the number of samples.
 */
#ifndef FANOUTD_HISTO_H
#define FANOUTD_HISTO_H

#include <stdint.h>

#define HISTO_SUB	8	/* buckets per power of two */
#define HISTO_BUCKETS	(HISTO_SUB + 29 * HISTO_SUB)	/* to 2^32 us */

struct histo {
	uint32_t	 n[HISTO_BUCKETS];
	uint64_t	 count;
	double		 min, max;	/* ms, exact */
};

/* Count one sample of ms milliseconds (negative and NaN count as 0). */
void	histo_add(struct histo *h, double ms);

/*
 * The q-quantile (0 < q <= 1) in ms: the middle of the bucket holding the
 * sample of rank ceil(q * count), within [min, max] (so one sample's
 * quantiles are that sample). 0 with no samples.
 */
double	histo_quantile(const struct histo *h, double q);

#endif
