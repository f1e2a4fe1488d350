/*
 * backoff.h: how long to wait before a retry (pure).
 */
#ifndef FANOUTD_BACKOFF_H
#define FANOUTD_BACKOFF_H

#include <stdint.h>

/*
 * Exponential backoff with full jitter: a delay in [0, min(max_ms,
 * base_ms * 2^retry)] chosen by rnd (any 64-bit random value). retry is 0
 * for the first retry.
 */
uint64_t backoff_ms(uint64_t base_ms, uint64_t max_ms, unsigned retry,
	    uint64_t rnd);

#endif
