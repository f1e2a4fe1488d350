/*
 * backoff.c: retry delays.
 *
 * Full jitter (AWS's "Exponential Backoff And Jitter"): the ceiling doubles
 * with each retry up to max_ms, and the delay is uniform below it, so
 * clients that failed together do not retry together. The random value is
 * an argument so tests can pin it (OpenSMTPD's scheduler_backoff()).
 */
#include "backoff.h"

uint64_t
backoff_ms(uint64_t base_ms, uint64_t max_ms, unsigned retry, uint64_t rnd)
{
	uint64_t ceiling = base_ms;

	while (retry-- > 0 && ceiling < max_ms)
		ceiling *= 2;
	if (ceiling > max_ms)
		ceiling = max_ms;
	return rnd % (ceiling + 1);
}
