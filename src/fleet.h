/*
 * fleet.h: limits shared by a fleet of daemons through Redis, the pure
 * part: every call takes `now`.
 *
 * A host with fleet_rate holds tokens leased from Redis: a lease is n
 * reservations on Redis's own timeline (GCRA), the first usable `first`
 * microseconds after the reply and one every `step` after it, so the
 * fleet's aggregate rate is set by Redis alone, whatever the daemons'
 * clocks say. A token not used within FLEET_TOKEN_TTL_US of its time is
 * dropped (never sent late in a burst). While Redis cannot be reached
 * the host runs on its share: fleet_rate / peers in a local bucket.
 */
#ifndef FANOUTD_FLEET_H
#define FANOUTD_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "fleet_slots.h"
#include "ratelimit.h"

/* How far ahead one lease may reserve, and the most tokens in one. */
#define FLEET_HORIZON_US	100000ull
#define FLEET_LEASE_MAX		1000u
/* A leased token unused this long after its time is dropped. */
#define FLEET_TOKEN_TTL_US	200000ull

/* A host's fleet limits, from its [host] section. */
struct fleet_limits {
	double		 rate;		/* fleet_rate, per second; 0: none */
	double		 burst;		/* fleet_burst, at least 1 */
	uint32_t	 inflight;	/* fleet_inflight; 0: none */
};

/* Tokens in hand: n, token i usable from at + i * step. */
struct fleet_tokens {
	uint32_t	 n;
	uint64_t	 at;		/* monotonic us */
	uint64_t	 step;		/* us */
	uint64_t	 granted;	/* when the lease arrived */
};

/* A host's fleet state (fleet.c's, and fleet_link.c's I/O flags). */
struct host_fleet {
	struct fleet_limits lim;
	struct fleet_tokens tok;
	int		 asking;	/* a lease call is out */
	uint64_t	 ask_after;	/* Redis said: none before then */
	struct ratelimit share;		/* degraded: rate / peers */
	unsigned	 share_peers;	/* the peers share was cut for */
	uint64_t	 taken;		/* tokens used, shared or local */
	uint64_t	 leased;	/* tokens received from Redis */
	uint64_t	 dropped;	/* leased, never used */
	struct fleet_slots slots;	/* fleet_inflight (fleet_slots.h) */
};

/*
 * The fleet as this daemon sees it, set by fleet_link.c: is Redis out of
 * reach (limits are local shares) and how many daemons were last alive.
 */
struct fleet_view {
	int		 degraded;
	unsigned	 peers;		/* at least 1 */
};

const struct fleet_view *fleet_view(void);
void	fleet_set_view(int degraded, unsigned peers);

/* Where Redis is: "unix:/path" or "tcp://IP:PORT[/DB]". */
struct fleet_addr {
	int		 is_unix;
	char		 path[108];
	char		 ip[64];
	unsigned	 port;
	unsigned	 db;
};

/* Parse a redis address; -1 with a static reason in *why. */
int	fleet_addr_parse(const char *s, struct fleet_addr *a,
	    const char **why);

/* Set h's limits (a reload keeps the tokens it holds). */
void	fleet_setup(struct host_fleet *f, const struct fleet_limits *lim,
	    uint64_t now_us);

/* Does f have a fleet rate at all? */
int	fleet_on(const struct host_fleet *f);

/* Free what f holds (the host is going). */
void	fleet_free(struct host_fleet *f);

/*
 * May a transfer start now? Shared (Redis up): a leased token is due.
 * Degraded: the local share has a token. 0 with *wait_us > 0 when time
 * will tell, 0 with *wait_us == 0 when a lease is needed (fleet_wants()).
 */
int	fleet_ready(struct host_fleet *f, int degraded, unsigned peers,
	    uint64_t now_us, uint64_t *wait_us);

/* Use the token fleet_ready() found. */
void	fleet_take(struct host_fleet *f, int degraded, uint64_t now_us);

/* Should a lease be asked for now (none in hand, none out, not told to
 * wait)? */
int	fleet_wants(const struct host_fleet *f, uint64_t now_us);

/*
 * How many tokens to ask for: the host's queued demand, at most its
 * share of what the horizon holds (rate * FLEET_HORIZON_US / peers), at
 * least 1, at most FLEET_LEASE_MAX.
 */
uint32_t fleet_lease_size(double rate, size_t queued, unsigned peers);

/*
 * A lease arrived at now: n tokens, the first usable first_us from now
 * (negative: already due), one every step_us. n == 0: none before
 * first_us from now.
 */
void	fleet_grant(struct host_fleet *f, uint32_t n, int64_t first_us,
	    uint64_t step_us, uint64_t now_us);

/* A lease call failed: ask again no sooner than retry_us from now. */
void	fleet_ask_failed(struct host_fleet *f, uint64_t retry_us,
	    uint64_t now_us);

/* A share of a fleet-wide limit for one of peers daemons (peers >= 1). */
double	fleet_share(double limit, unsigned peers);

/* Tokens usable now or later (for display). */
uint32_t fleet_tokens_held(struct host_fleet *f, uint64_t now_us);

/* A host's fleet limits and state for GET /v1/hosts (caller decrefs). */
struct json_t *fleet_json(struct host_fleet *f, uint64_t now_us);

#endif
