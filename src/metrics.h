/*
 * metrics.h: the daemon's figures for Prometheus (/metrics) and as JSON
 * (/v1/stats).
 */
#ifndef FANOUTD_METRICS_H
#define FANOUTD_METRICS_H

#include <stdint.h>

struct config;
struct evbuffer;
struct json_t;

/* Remember when the daemon started and the config (borrowed). */
void	metrics_init(const struct config *cfg, uint64_t started_us);

/* Append the Prometheus text exposition (format 0.0.4) to out. */
void	metrics_render(struct evbuffer *out, uint64_t now_us);

/* The same figures as one JSON document (caller decrefs). */
struct json_t *metrics_stats(uint64_t now_us);

#endif
