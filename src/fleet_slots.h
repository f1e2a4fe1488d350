/*
 * fleet_slots.h: fleet_inflight, the pure part: the in-flight slots a
 * daemon holds of a host's fleet-wide semaphore in Redis. Every call
 * takes `now`; fleet_link.c does the I/O.
 *
 * The semaphore is a sorted set of lease ids scored by expiry. A daemon
 * asks for as many slots as its queue needs, keeps what it got while it
 * has work (a slot reused costs no Redis call), renews them in bulk every
 * lease/3, and gives back what it no longer needs when a transfer ends.
 * When it holds more than its share (fleet_inflight / peers) and other
 * daemons are waiting (or it has not heard for FLEET_SLOT_CHECK_US), it
 * gives back the slots above its share as its transfers end; waiters are
 * served in the order they began to wait (Redis keeps the queue). A
 * refused daemon asks again after a jittered wait that doubles up to
 * FLEET_SLOT_POLL_MAX_US. While Redis cannot be reached the host runs
 * on its share alone.
 */
#ifndef FANOUTD_FLEET_SLOTS_H
#define FANOUTD_FLEET_SLOTS_H

#include <stdint.h>

#define FLEET_INFLIGHT_MAX	10000u	/* fleet_inflight's top */
#define FLEET_SLOT_CHECK_US	100000ull	/* "nobody waits" stays true */
#define FLEET_SLOT_POLL_MIN_US	5000ull
#define FLEET_SLOT_POLL_MAX_US	20000ull

struct fleet_slots {
	uint32_t	 limit;		/* fleet_inflight; 0: none */
	uint64_t	*id;		/* lease ids held */
	uint32_t	 n, cap;
	int		 asking;	/* an acquire call is out */
	int		 renewing;	/* a renew call is out */
	uint64_t	 ask_after;	/* refused: not before then */
	uint64_t	 poll_us;	/* the next refusal's wait */
	uint32_t	 waiting;	/* other daemons waiting, last heard */
	uint64_t	 heard_at;	/* when; 0: never */
	uint64_t	 renewed_at;
	uint64_t	 acquired;	/* slots granted, in all */
	uint64_t	 released;	/* slots given back */
	uint64_t	 lost;		/* expired in Redis before renewal */
};

/* Set the limit (0: none); the slots held stay until given back. */
void	fleet_slots_setup(struct fleet_slots *s, uint32_t limit);

/* Free the ids (the slots in Redis expire on their own). */
void	fleet_slots_free(struct fleet_slots *s);

/* The in-flight share of one of peers daemons: limit / peers, >= 1. */
uint32_t fleet_slots_share(uint32_t limit, unsigned peers);

/*
 * May one more transfer start with inflight already running? Shared:
 * while fewer run than the slots held (and the limit). Degraded: while
 * fewer than the share.
 */
int	fleet_slots_ready(const struct fleet_slots *s, uint64_t inflight,
	    int degraded, unsigned peers);

/*
 * How many slots to ask for now (0: none): every slot held is busy,
 * work is queued, no call is out and no refusal says wait. At most the
 * queue, at most the limit less what is held.
 */
uint32_t fleet_slots_want(const struct fleet_slots *s, uint64_t inflight,
	    uint64_t queued, uint64_t now_us);

/*
 * An acquire call for want slots came back: k granted, ids first..first
 * + k - 1; waiting other daemons wait. Fewer than want: ask again after
 * a wait of poll_us/2 + rnd % poll_us (the jitter spreads the waiters),
 * and the next wait doubles.
 */
void	fleet_slots_granted(struct fleet_slots *s, uint64_t first,
	    uint32_t k, uint32_t want, uint32_t waiting, uint64_t rnd,
	    uint64_t now_us);

/* An acquire call failed: ask again no sooner than retry_us from now. */
void	fleet_slots_failed(struct fleet_slots *s, uint64_t retry_us,
	    uint64_t now_us);

/*
 * How many idle slots to give back now (shared limits): all of them with
 * nothing queued or no limit any more; those above the limit; those
 * above the share when other daemons wait or have not been heard of for
 * FLEET_SLOT_CHECK_US (asking again tells).
 */
uint32_t fleet_slots_excess(const struct fleet_slots *s, uint64_t inflight,
	    uint64_t queued, unsigned peers, uint64_t now_us);

/* Take up to n ids off the held set into out; returns how many. */
uint32_t fleet_slots_pop(struct fleet_slots *s, uint32_t n, uint64_t *out);

/* Is a bulk renewal due (every lease_us / 3)? */
int	fleet_slots_renew_due(const struct fleet_slots *s, uint64_t lease_us,
	    uint64_t now_us);

/*
 * A renewal of sent[0..nsent) came back: Redis kept the first kept of
 * them (re-adding any that had expired while there was room); the rest
 * are no longer held.
 */
void	fleet_slots_renewed(struct fleet_slots *s, const uint64_t *sent,
	    uint32_t nsent, uint32_t kept, uint32_t waiting, uint64_t now_us);

#endif
