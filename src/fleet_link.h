/*
 * fleet_link.h: fleet-wide limits on the event loop: leases from Redis,
 * the peers heartbeat, and the shared/degraded switch (fleet_link.c).
 */
#ifndef FANOUTD_FLEET_LINK_H
#define FANOUTD_FLEET_LINK_H

#include <stdint.h>

struct config;
struct event_base;
struct redis_stats;

/* Start on base with cfg (borrowed until the next configure). */
void	fleet_link_init(struct event_base *base, const struct config *cfg);

/* Apply cfg's redis settings (start and reload). */
void	fleet_link_configure(const struct config *cfg);

struct fleet_link_stats {
	int		 configured;	/* redis is set */
	int		 up;		/* connected, scripts loaded */
	unsigned	 peers;		/* daemons last seen alive, >= 1 */
	double		 degraded_s;	/* seconds spent on local shares */
	uint64_t	 leases;	/* lease calls made */
	uint64_t	 tokens;	/* tokens those leases brought */
	uint64_t	 slot_calls;	/* fleet_inflight calls made */
	uint64_t	 slots_held;	/* in-flight slots held now */
	uint64_t	 slots_lost;	/* expired before renewal, current
					 * hosts */
	const struct redis_stats *redis;
};

struct fleet_link_stats fleet_link_stats(void);

/* Fail the calls out and close (before the hosts are freed). */
void	fleet_link_shutdown(void);

#endif
