/*
 * clock.c: one place that reads the clocks.
 *
 * Durations (queue_ms, elapsed_ms, timeouts) use CLOCK_MONOTONIC so a wall
 * clock step cannot make them negative. Everything that decides something
 * from time takes `now` as a parameter so tests can drive it by hand.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "clock.h"

uint64_t
clock_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct timeval
clock_tv(uint64_t us)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	return tv;
}

double
clock_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
clock_rfc3339(double t, char *buf, size_t len)
{
	time_t secs = (time_t)t;
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)((t - (double)secs) * 1000));
}

json_t *
clock_json(double t)
{
	char buf[40];

	if (t <= 0)
		return json_null();
	clock_rfc3339(t, buf, sizeof(buf));
	return json_string(buf);
}
