/*
 * jsonscan.h: a JSON text's depth, width and parse cost, from one pass.
 */
#ifndef FANOUTD_JSONSCAN_H
#define FANOUTD_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>

#define JSONSCAN_MAX_DEPTH	32	/* a batch needs four */

enum {
	JSONSCAN_OK = 0,
	JSONSCAN_TOO_DEEP = -1,		/* nested past JSONSCAN_MAX_DEPTH */
	JSONSCAN_TOO_WIDE = -2		/* an object with over max_keys */
};

/*
 * Scan p[len]: JSONSCAN_OK with *cost, the bytes jansson 2.14 would
 * allocate for its tree (an estimate on the high side), or why not. The
 * text need not be valid JSON: what jansson would refuse is priced too.
 */
int	jsonscan(const char *p, size_t len, uint64_t max_keys, uint64_t *cost);

#endif
