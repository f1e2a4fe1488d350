/*
 * redis.h: one connection to Redis on the event loop (hiredis's libevent
 * adapter), for Lua scripts only. Never blocks: a call slower than the
 * timeout, a failed connect or a lost connection fails every call out,
 * marks Redis down and reconnects with backoff. The only hiredis code.
 */
#ifndef FANOUTD_REDIS_H
#define FANOUTD_REDIS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* A script's reply: integers (an array's first REDIS_REPLY_MAX). */
#define REDIS_REPLY_MAX	8
struct redis_reply {
	int		 ok;		/* 0: failed; why says why */
	const char	*why;
	size_t		 n;
	long long	 v[REDIS_REPLY_MAX];
};

typedef void redis_cb(const struct redis_reply *r, void *arg);

/* Latency bounds of the call histogram, seconds. */
#define REDIS_NBUCKETS	8
extern const double redis_buckets[REDIS_NBUCKETS];

struct redis_stats {
	uint64_t	 calls;
	uint64_t	 errors;	/* failed calls, timeouts included */
	uint64_t	 timeouts;
	uint64_t	 connects;	/* connections made */
	uint64_t	 bucket[REDIS_NBUCKETS];	/* not cumulative */
	uint64_t	 count;
	double		 sum;		/* seconds */
};

/* Set up on base; nothing connects until redis_configure(). */
void	redis_init(struct event_base *base);

/* Register a Lua script (before redis_configure()); returns its id. */
int	redis_script(const char *lua);

/*
 * Connect to addr ("unix:/path" or "tcp://IP:PORT[/DB]"; "" for none)
 * with timeout_ms for every call and connect, authenticating (AUTH
 * [user] password) first when password is set. A changed address or
 * credentials drop the connection and its calls; the same keep it.
 */
void	redis_configure(const char *addr, uint64_t timeout_ms,
	    const char *user, const char *password);

/* Called with 1 when Redis becomes usable, 0 when it stops being so. */
void	redis_on_state(void (*cb)(int up));

/* Is Redis connected, its scripts loaded? */
int	redis_up(void);

/*
 * Run script id with nkeys keys (KEYS) and argc arguments (ARGV), all
 * copied; 16 in all at most. cb runs once, later, never from inside this
 * call: with the reply, or ok = 0. Returns -1 (cb never runs) when Redis
 * is not up.
 */
int	redis_eval(int id, int nkeys, const char **keys, int argc,
	    const char **argv, redis_cb *cb, void *arg);

const struct redis_stats *redis_stats(void);

/* Fail every call and close. */
void	redis_shutdown(void);

#endif
