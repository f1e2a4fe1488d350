/*
 * metrics.h: the daemon's figures for Prometheus (/metrics) and as JSON
 * (/v1/stats).
 */
#ifndef FANOUTD_METRICS_H
#define FANOUTD_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct evbuffer;
struct json_t;

/* Remember when the daemon started and the config (borrowed). */
void	metrics_init(const struct config *cfg, uint64_t started_us);

/* The API server's figures, handed in: metrics.c knows no api*.c. */
struct metrics_api {
	size_t		 connections;	/* open now */
	uint64_t	 cut;		/* closed as slow or idle */
	uint64_t	 mem_used, mem_peak;	/* of max_api_memory */
	uint64_t	 mem_refused;
};

/* Append the Prometheus text exposition (format 0.0.4) to out. */
void	metrics_render(struct evbuffer *out, const struct metrics_api *api,
	    uint64_t now_us);

/* The same figures as one JSON document (caller decrefs). */
struct json_t *metrics_stats(const struct metrics_api *api, uint64_t now_us);

#endif
