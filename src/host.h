/*
 * host.h: what fanoutd knows and enforces per destination origin.
 */
#ifndef FANOUTD_HOST_H
#define FANOUTD_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "hash.h"

#include "breaker.h"
#include "fleet.h"
#include "ratelimit.h"
#include "result.h"
#include "runq.h"

struct bhq;
struct config;
struct tlsconf;

/* A latency histogram with fixed bucket bounds (HOST_BUCKETS). */
#define HOST_NBUCKETS	12
extern const double host_buckets[HOST_NBUCKETS];	/* seconds */
struct host_hist {
	uint64_t	bucket[HOST_NBUCKETS];	/* not cumulative */
	uint64_t	count;
	double		sum;
};

/* What a host has counted since it was made; kept when it expires. */
struct host_counters {
	uint64_t	 requests;	/* attempts started */
	uint64_t	 status_class[6];	/* [2] = 2xx responses, ... */
	uint64_t	 errors[RESULT_NERRORS];
	uint64_t	 retries_total;
	uint64_t	 rate_waits;	/* times it waited for a token */
	struct host_hist duration;	/* attempts, seconds */
	struct host_hist queue;		/* waiting to start, seconds */
};

/* A host in the scheduler (sched.c): what runs, what waits, and why. */
struct host_sched {
	size_t		 inflight;
	size_t		 queued;
	uint64_t	 paused_until;	/* Retry-After; monotonic us */
	TAILQ_HEAD(bhqring, bhq) ring;	/* batches with work here */
	TAILQ_ENTRY(host) ready_entry;
	int		 ready;
	int		 stalled;	/* only batch limits hold it back */
	struct runq_entry wake;
};

/* What the dispatcher learns from a host's outcomes (dispatch.c). */
struct host_dispatch {
	size_t		 retries;	/* retries waiting or in flight */
	struct breaker	 breaker;
};

/* A host's lifetime (host.c): its users are the batch queues naming it. */
struct host_life {
	size_t		 users;
	uint64_t	 idle_since;	/* monotonic us; while users == 0 */
	TAILQ_ENTRY(host) idle_entry;	/* oldest idle first */
};

struct host {
	char		*key;		/* origin: "scheme://host:port" */
	char		*name;		/* host, IPv6 without brackets */
	unsigned	 port;

	/* Limits, from the best [host] section or the defaults. */
	uint64_t	 inflight_limit;
	int		 has_rate;
	struct ratelimit rate;
	int		 rule_line;	/* 0: no section applies */
	int		 http2;		/* may offer h2 */
	struct retry_on	 breaker_on;	/* outcomes that count as failures */
	struct tlsconf	*tls;		/* a reference, or NULL */

	struct host_sched sched;
	struct host_dispatch dispatch;
	struct host_fleet fleet;	/* fleet.c's and fleet_link.c's */
	struct host_counters c;		/* host.c's: see host_count*() */
	struct host_life life;

	UT_hash_handle	 hh;
};

/* Add histogram from to to (the sums of several hosts). */
void	host_hist_add(struct host_hist *to, const struct host_hist *from);

/* Keep a pointer to cfg (borrowed) for limits of hosts made later. */
void	host_init(const struct config *cfg);

/*
 * The host for origin "scheme://host:port", created with its configured
 * limits on first use. A host nobody uses (host_hold) is freed by
 * host_expire() host_idle_s later; host_shutdown() frees the rest.
 */
struct host *host_get(const char *origin, uint64_t now_us);

/* A batch queue starts or stops naming h: h is kept while one does. */
void	host_hold(struct host *h);
void	host_release(struct host *h, uint64_t now_us);

/*
 * Free the hosts nobody has used for host_idle_s: nothing queued or in
 * flight, no Retry-After pause and no open circuit in that time (a pause
 * or an open circuit seen restarts the clock). unlink(h) is called first
 * so the scheduler forgets h; counters fold into host_retired(). Returns
 * when to call again (UINT64_MAX: no host is idle).
 */
uint64_t host_expire(uint64_t now_us, void (*unlink)(struct host *));

/* The counters of every host freed so far, summed. */
const struct host_counters *host_retired(void);

/* Re-apply the configuration's limits to every known host (reload). */
void	host_reconfigure(const struct config *cfg, uint64_t now_us);

/*
 * The counters are host.c's: the other modules count through these. An
 * attempt started, its outcome, a retry scheduled, a wait for a token.
 */
void	host_count_start(struct host *h);
void	host_count(struct host *h, long status, enum result_error e);
void	host_count_retry(struct host *h);
void	host_count_rate_wait(struct host *h);

/* Record an attempt's duration and queue time (milliseconds). */
void	host_observe(struct host *h, double total_ms, double queue_ms);

/* The host for origin if it is known; NULL otherwise. */
struct host *host_find(const char *origin);

/* Call fn on every known host. */
void	host_foreach(void (*fn)(struct host *, void *), void *arg);

/* Per-host figures for GET /v1/hosts (caller decrefs). */
struct json_t;
struct json_t *host_stats(uint64_t now_us);

/* Known hosts, and how many were freed since start. */
size_t	host_count_known(void);
uint64_t host_count_expired(void);

/* Free every host. */
void	host_shutdown(void);

#endif
