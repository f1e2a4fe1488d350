/*
 * clock.h: the monotonic clock, read only by event-loop glue.
 */
#ifndef FANOUTD_CLOCK_H
#define FANOUTD_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

/* Monotonic time in microseconds. Pure logic takes this as a `now` argument. */
uint64_t clock_now_us(void);

/* A duration in microseconds as a struct timeval (for libevent timers). */
struct timeval clock_tv(uint64_t us);

/* Wall-clock time in seconds since the epoch (for created/finished stamps). */
double	 clock_wall(void);

/* Wall-clock time t as RFC 3339 UTC with milliseconds, into buf[32]. */
void	 clock_rfc3339(double t, char *buf, size_t len);

/* The same as a JSON string, or JSON null when t is 0 (caller decrefs). */
struct json_t;
struct json_t *clock_json(double t);

#endif
