/*
 * sched.h: which queued request starts next, under every limit at once.
 */
#ifndef FANOUTD_SCHED_H
#define FANOUTD_SCHED_H

#include <stddef.h>
#include <stdint.h>

struct batch;
struct config;
struct host;
struct job;

enum sched_verdict {
	SCHED_START,		/* start an attempt now */
	SCHED_CIRCUIT_OPEN	/* end it with circuit_open */
};

/* Use cfg (borrowed) for max_inflight and the breaker settings. */
void	sched_init(const struct config *cfg);
void	sched_set_config(const struct config *cfg);

/* Queue every job of b (hosts are looked up or created). */
void	sched_add(struct batch *b, uint64_t now_us);

/*
 * Queue job again at host h, its host from now on: a retry whose backoff
 * has passed (h: its url's), or a redirect's next hop (the target's).
 */
void	sched_requeue(struct job *job, struct host *h, uint64_t now_us);

/*
 * The next job that may start now, its slots and tokens taken, or NULL.
 * *v says whether to start it or end it at once (open circuit).
 */
struct job *sched_next(uint64_t now_us, enum sched_verdict *v);

/* The attempt of job started by sched_next() has ended: free its slots. */
void	sched_done(struct job *job, uint64_t now_us);

/* b's own limits changed (unpaused): its hosts may go again. */
void	sched_batch_changed(struct batch *b);

/* Send nothing new to h before until_us (Retry-After). */
void	sched_pause_host(struct host *h, uint64_t until_us);

/* Something about h changed (its breaker): look at it again. */
void	sched_host_changed(struct host *h);

/*
 * How the scheduler asks for fleet limits (fleet.h, fleet_slots.h); each
 * reply calls sched_host_changed(h). lease: h, held back by its fleet
 * rate, needs tokens. acquire: h needs want more in-flight slots.
 * release: n of h's slots are idle and not needed (an attempt ended).
 */
struct sched_fleet {
	void	(*lease)(struct host *h, uint64_t now_us);
	void	(*acquire)(struct host *h, uint32_t want, uint64_t now_us);
	void	(*release)(struct host *h, uint32_t n, uint64_t now_us);
};

void	sched_set_fleet(const struct sched_fleet *f);

/* Take every queued job of b out of the scheduler, calling fn on each. */
void	sched_drop(struct batch *b, void (*fn)(struct job *, void *),
	    void *arg);

/* b is done: free its queues. */
void	sched_forget(struct batch *b, uint64_t now_us);

/*
 * Free the hosts unused for host_idle_s (host_expire); returns when to
 * call again (UINT64_MAX: no host is idle).
 */
uint64_t sched_expire_hosts(uint64_t now_us);

/* When something waiting for time can go (UINT64_MAX: nothing waits). */
uint64_t sched_wake_at(void);

/* Attempts in flight, and jobs queued, across the daemon. */
size_t	sched_inflight(void);
size_t	sched_queued(void);

/* Free what the scheduler owns. */
void	sched_shutdown(void);

#endif
