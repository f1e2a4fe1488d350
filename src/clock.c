/*
 * clock.c: one place that reads the clocks.
 *
 * Durations (queue_ms, elapsed_ms, timeouts) use CLOCK_MONOTONIC so a wall
 * clock step cannot make them negative. Everything that decides something
 * from time takes `now` as a parameter so tests can drive it by hand.
 */
#include <time.h>

#include "clock.h"

uint64_t
clock_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

double
clock_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
