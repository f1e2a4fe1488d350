/*
 * hostsum.h: a batch's summary per origin (summary.hosts): how many
 * requests, their responses by class and errors by code, and latency
 * quantiles of total_ms and ttfb_ms.
 */
#ifndef FANOUTD_HOSTSUM_H
#define FANOUTD_HOSTSUM_H

#include <stddef.h>
#include <stdint.h>

#include "histo.h"
#include "result.h"

/* Origins summarised one by one; the rest are summed under "*". */
#define HOSTSUM_MAX	256

struct hostsum_entry;

struct hostsum {
	struct hostsum_entry	*byorigin;	/* uthash */
	struct hostsum_entry	*other;		/* "*": past HOSTSUM_MAX */
	size_t			 n;
};

struct jsonw;

/*
 * Count a finished request of origin whose result is r; started: it made
 * an attempt (its total_ms is then counted). Main thread.
 */
void	hostsum_add(struct hostsum *s, const char *origin,
	    const struct result *r, int started);

/*
 * Write the summary as an object, origin: {"count", "responses":
 * {"1xx".."5xx"}, "errors": {code: n}, "total_ms": {"p50", "p90", "p99",
 * "max"}, "ttfb_ms": {...}}, origins in the order first seen, "*" last.
 */
void	hostsum_encode(struct jsonw *w, const struct hostsum *s);

/* Free everything s holds; s is empty afterwards. */
void	hostsum_clear(struct hostsum *s);

#endif
