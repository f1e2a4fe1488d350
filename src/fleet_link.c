/*
 * fleet_link.c: fleet limits on the event loop. Asks Redis (redis.c) for
 * leases of tokens when the scheduler needs them, beats this daemon's
 * heart into the fleet's peer set, and switches between shared limits
 * (Redis up) and local shares (Redis down or slow). The arithmetic is
 * fleet.c's.
 *
 * Keys, under redis_prefix, each with the host's origin as its {hash
 * tag} so a script's keys share a Redis Cluster slot:
 *   PREFIX{ORIGIN}:rate   the host's GCRA time (us, Redis's clock)
 *   PREFIX{peers}         a sorted set: daemon id -> expiry (ms)
 * Both expire when idle.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>

#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "dispatch.h"
#include "fleet.h"
#include "fleet_link.h"
#include "host.h"
#include "log.h"
#include "redis.h"
#include "sched.h"
#include "xmalloc.h"

#define BEAT_US		1000000ull	/* heartbeat period */
#define PEER_TTL_MS	3000		/* a peer silent this long is gone */
#define ASK_RETRY_US	20000ull	/* after a failed lease call */

/*
 * GCRA with leases: reserve up to ARGV[3] tokens whose conformance time
 * falls within ARGV[4] us from now (Redis's TIME). Token j of the lease
 * conforms at c0 + j * step. Returns {granted, c0 - now (us), step}.
 */
static const char rate_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local step = tonumber(ARGV[1])\n"
    "local tau = (tonumber(ARGV[2]) - 1) * step\n"
    "local want = tonumber(ARGV[3])\n"
    "local horizon = tonumber(ARGV[4])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if tat < now then tat = now end\n"
    "local c0 = tat - tau\n"
    "local k = 0\n"
    "if c0 <= now + horizon then\n"
    "  k = math.floor((now + horizon - c0) / step) + 1\n"
    "  if k > want then k = want end\n"
    "end\n"
    "if k > 0 then\n"
    "  tat = tat + k * step\n"
    "  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX',\n"
    "    math.ceil((tat - now) / 1000) + 1000)\n"
    "end\n"
    "return {k, math.floor(c0 - now), step}\n";

/* Heartbeat: ARGV[1] is alive for ARGV[2] ms; returns the live count. */
static const char peers_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / "
    "1000)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])\n"
    "redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)\n"
    "return redis.call('ZCARD', KEYS[1])\n";

static struct {
	const struct config *cfg;
	struct event	*beat;
	int		 rate_id, peers_id;
	char		 id[128];	/* this daemon in the peer set */
	int		 on;		/* redis is configured */
	int		 closing;
	uint64_t	 down_since;	/* degraded since; 0: not */
	double		 degraded_s;	/* over earlier spells */
	uint64_t	 leases;	/* lease calls made */
	uint64_t	 tokens;	/* tokens they brought */
} fl;

static void
each_host_changed(struct host *h, void *arg)
{
	(void)arg;
	if (fleet_on(&h->fleet))
		dispatch_host_changed(h);
}

static void
set_view(int degraded, unsigned peers)
{
	uint64_t now = clock_now_us();
	int was = fleet_view()->degraded;

	if (degraded && !was)
		fl.down_since = now;
	else if (!degraded && was && fl.down_since != 0) {
		fl.degraded_s += (double)(now - fl.down_since) / 1e6;
		fl.down_since = 0;
	}
	fleet_set_view(degraded, peers);
	if (degraded != was && !fl.closing)
		host_foreach(each_host_changed, NULL);
}

static void
lease_reply(const struct redis_reply *rep, void *arg)
{
	char *origin = arg;
	struct host *h;
	uint64_t now = clock_now_us();

	h = fl.closing ? NULL : host_find(origin);
	free(origin);
	if (h == NULL)
		return;
	if (!rep->ok || rep->n < 3 || rep->v[0] < 0 || rep->v[2] <= 0)
		fleet_ask_failed(&h->fleet, ASK_RETRY_US, now);
	else {
		fleet_grant(&h->fleet, (uint32_t)rep->v[0], rep->v[1],
		    (uint64_t)rep->v[2], now);
		fl.tokens += (uint64_t)rep->v[0];
	}
	dispatch_host_changed(h);
}

/* The scheduler's lease_cb: ask Redis for h's next tokens. */
static void
ask(struct host *h, uint64_t now_us)
{
	char key[512], step[32], burst[32], want[32], horizon[32];
	const char *argv[4] = { step, burst, want, horizon };
	struct host_fleet *f = &h->fleet;
	double st = 1e6 / f->lim.rate;

	snprintf(key, sizeof(key), "%s{%s}:rate", fl.cfg->redis_prefix,
	    h->key);
	snprintf(step, sizeof(step), "%.0f", st < 1 ? 1 : st);
	snprintf(burst, sizeof(burst), "%.0f", f->lim.burst);
	snprintf(want, sizeof(want), "%" PRIu32, fleet_lease_size(
	    f->lim.rate, h->sched.queued, fleet_view()->peers));
	snprintf(horizon, sizeof(horizon), "%llu",
	    (unsigned long long)FLEET_HORIZON_US);
	if (redis_eval(fl.rate_id, key, 4, argv, lease_reply,
	    xstrdup(h->key)) == -1) {
		/* Not up (the switch to degraded is on its way). */
		fleet_ask_failed(f, ASK_RETRY_US, now_us);
		return;
	}
	f->asking = 1;
	fl.leases++;
}

static void
beat_reply(const struct redis_reply *rep, void *arg)
{
	(void)arg;
	if (fl.closing || !rep->ok || rep->n < 1 || rep->v[0] < 1)
		return;
	if ((unsigned)rep->v[0] != fleet_view()->peers)
		log_info("fleet: %lld daemons alive", rep->v[0]);
	set_view(fleet_view()->degraded, (unsigned)rep->v[0]);
}

static void
beat_now(void)
{
	char key[128], ttl[16];
	const char *argv[2] = { fl.id, ttl };

	snprintf(key, sizeof(key), "%s{peers}", fl.cfg->redis_prefix);
	snprintf(ttl, sizeof(ttl), "%d", PEER_TTL_MS);
	(void)redis_eval(fl.peers_id, key, 2, argv, beat_reply, NULL);
}

static void
beat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = clock_tv(BEAT_US);

	(void)fd;
	(void)what;
	(void)arg;
	if (redis_up())
		beat_now();
	evtimer_add(fl.beat, &tv);
}

static void
redis_state(int up)
{
	if (fl.closing)
		return;
	set_view(!up, fleet_view()->peers);
	if (up)
		beat_now();
}

void
fleet_link_init(struct event_base *base, const struct config *cfg)
{
	char host[64] = "";
	uint64_t rnd = 0;

	redis_init(base);
	fl.rate_id = redis_script(rate_lua);
	fl.peers_id = redis_script(peers_lua);
	redis_on_state(redis_state);
	(void)gethostname(host, sizeof(host) - 1);
	(void)getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
	snprintf(fl.id, sizeof(fl.id), "%s:%ld:%016" PRIx64, host,
	    (long)getpid(), rnd);
	if ((fl.beat = evtimer_new(base, beat_cb, NULL)) == NULL)
		fatalx("fleet: evtimer_new failed");
	sched_set_lease_cb(ask);
	fleet_link_configure(cfg);
}

void
fleet_link_configure(const struct config *cfg)
{
	struct timeval tv = clock_tv(BEAT_US);

	fl.cfg = cfg;
	fl.on = *cfg->redis != '\0';
	if (fl.on && !evtimer_pending(fl.beat, NULL))
		evtimer_add(fl.beat, &tv);
	else if (!fl.on)
		evtimer_del(fl.beat);
	/* Until Redis answers, limits are shares (of 1: the whole). */
	if (fl.on && !redis_up())
		set_view(1, fleet_view()->peers);
	else if (!fl.on)
		set_view(0, 1);
	redis_configure(cfg->redis, cfg->redis_timeout_ms);
}

struct fleet_link_stats
fleet_link_stats(void)
{
	struct fleet_link_stats st = {
		.configured = fl.on,
		.up = redis_up(),
		.peers = fleet_view()->peers,
		.degraded_s = fl.degraded_s,
		.leases = fl.leases,
		.tokens = fl.tokens,
		.redis = redis_stats(),
	};

	if (fl.down_since != 0 && fl.on)
		st.degraded_s += (double)(clock_now_us() - fl.down_since) /
		    1e6;
	return st;
}

void
fleet_link_shutdown(void)
{
	fl.closing = 1;
	redis_shutdown();
	if (fl.beat != NULL)
		event_free(fl.beat);
	fl.beat = NULL;
}
