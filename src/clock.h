/*
 * clock.h: the monotonic clock, read only by event-loop glue.
 */
#ifndef FANOUTD_CLOCK_H
#define FANOUTD_CLOCK_H

#include <stdint.h>

/* Monotonic time in microseconds. Pure logic takes this as a `now` argument. */
uint64_t clock_now_us(void);

/* Wall-clock time in seconds since the epoch (for created/finished stamps). */
double	 clock_wall(void);

#endif
