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
 *   PREFIX{ORIGIN}:slots  fleet_inflight's semaphore: a sorted set of
 *                         lease ids ("TOKEN:N") -> expiry (ms)
 *   PREFIX{ORIGIN}:wait   daemons waiting for a slot -> when they began
 *   PREFIX{ORIGIN}:waitx  the same daemons -> when their wait lapses
 *   PREFIX{peers}         a sorted set: daemon id -> expiry (ms)
 * All expire when idle.
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
#define WAIT_TTL_MS	500		/* a waiter not heard from: gone */

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

/*
 * The semaphore's common start: Redis's time in ms, expired leases and
 * waiters swept (KEYS: slots, wait, waitx).
 */
#define SLOTS_PROLOGUE \
    "local t = redis.call('TIME')\n" \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / " \
    "1000)\n" \
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n" \
    "for _, w in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', " \
    "now)) do\n" \
    "  redis.call('ZREM', KEYS[2], w)\n" \
    "end\n" \
    "redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)\n" \
    "local id = ARGV[1]\n" \
    "local limit = tonumber(ARGV[2])\n" \
    "local lease = tonumber(ARGV[3])\n" \
    "local function others()\n" \
    "  local n = redis.call('ZCARD', KEYS[2])\n" \
    "  if redis.call('ZSCORE', KEYS[2], id) then n = n - 1 end\n" \
    "  return n\n" \
    "end\n" \
    "local function keep()\n" \
    "  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], lease * 2) end\n" \
    "end\n"

/*
 * Acquire: ARGV id, limit, lease_ms, first lease number, want, wait ttl.
 * Free slots go first to the daemons that have waited longest: this one
 * gets what is free beyond one for each waiter ahead of it. Short of
 * want, it waits (at the back again if it got some). Returns {granted,
 * other daemons waiting}.
 */
static const char acquire_lua[] = SLOTS_PROLOGUE
    "local first = tonumber(ARGV[4])\n"
    "local want = tonumber(ARGV[5])\n"
    "local free = limit - redis.call('ZCARD', KEYS[1])\n"
    "local ahead = redis.call('ZRANK', KEYS[2], id)\n"
    "if not ahead then ahead = redis.call('ZCARD', KEYS[2]) end\n"
    "local k = math.min(want, free - ahead)\n"
    "if k < 0 then k = 0 end\n"
    "for i = 0, k - 1 do\n"
    "  redis.call('ZADD', KEYS[1], now + lease, id .. ':' .. (first + i))\n"
    "end\n"
    "if k < want then\n"
    "  if k > 0 then redis.call('ZADD', KEYS[2], now, id)\n"
    "  else redis.call('ZADD', KEYS[2], 'NX', now, id) end\n"
    "  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), id)\n"
    "else\n"
    "  redis.call('ZREM', KEYS[2], id)\n"
    "  redis.call('ZREM', KEYS[3], id)\n"
    "end\n"
    "keep()\n"
    "return {k, others()}\n";

/*
 * Renew: ARGV id, limit, lease_ms, lease numbers ("1,2,3"). Each lease
 * gets a new expiry; one that expired is added again while there is
 * room; from the first that cannot be, the rest are given up (so what is
 * kept is a prefix of the list). Returns {kept, other daemons waiting}.
 */
static const char renew_lua[] = SLOTS_PROLOGUE
    "local kept, lost = 0, false\n"
    "for n in string.gmatch(ARGV[4], '%d+') do\n"
    "  local m = id .. ':' .. n\n"
    "  if not lost and (redis.call('ZSCORE', KEYS[1], m) or\n"
    "      redis.call('ZCARD', KEYS[1]) < limit) then\n"
    "    redis.call('ZADD', KEYS[1], now + lease, m)\n"
    "    kept = kept + 1\n"
    "  else\n"
    "    lost = true\n"
    "    redis.call('ZREM', KEYS[1], m)\n"
    "  end\n"
    "end\n"
    "keep()\n"
    "return {kept, others()}\n";

/*
 * Release: ARGV id, limit, lease_ms, lease numbers, and "1" when this
 * daemon no longer waits. Returns {released, other daemons waiting}.
 */
static const char release_lua[] = SLOTS_PROLOGUE
    "local k = 0\n"
    "for n in string.gmatch(ARGV[4], '%d+') do\n"
    "  k = k + redis.call('ZREM', KEYS[1], id .. ':' .. n)\n"
    "end\n"
    "if ARGV[5] == '1' then\n"
    "  redis.call('ZREM', KEYS[2], id)\n"
    "  redis.call('ZREM', KEYS[3], id)\n"
    "end\n"
    "return {k, others()}\n";

/* A slots call's context: the host, and what was sent. */
struct slots_call {
	char		*origin;
	uint64_t	 first;		/* acquire: the first lease number */
	uint32_t	 want;
	uint32_t	 nsent;		/* renew: the lease numbers sent */
	uint64_t	*sent;
};

static struct {
	const struct config *cfg;
	struct event	*beat;
	struct event	*tick;		/* renewals */
	int		 rate_id, peers_id;
	int		 acquire_id, renew_id, release_id;
	char		 id[128];	/* this daemon in the peer set */
	char		 token[24];	/* and in its lease ids */
	uint64_t	 next_lease;	/* lease numbers */
	int		 on;		/* redis is configured */
	int		 closing;
	uint64_t	 down_since;	/* degraded since; 0: not */
	uint64_t	 up_since;	/* Redis up since */
	double		 degraded_s;	/* over earlier spells */
	uint64_t	 leases;	/* lease calls made */
	uint64_t	 tokens;	/* tokens they brought */
	uint64_t	 slot_calls;	/* slots calls made */
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
	if (redis_eval(fl.rate_id, 1, (const char *[]){ key }, 4, argv,
	    lease_reply, xstrdup(h->key)) == -1) {
		/* Not up (the switch to degraded is on its way). */
		fleet_ask_failed(f, ASK_RETRY_US, now_us);
		return;
	}
	f->asking = 1;
	fl.leases++;
}

/* The semaphore's three keys for h. */
static void
slots_keys(const struct host *h, char key[3][512])
{
	snprintf(key[0], 512, "%s{%s}:slots", fl.cfg->redis_prefix, h->key);
	snprintf(key[1], 512, "%s{%s}:wait", fl.cfg->redis_prefix, h->key);
	snprintf(key[2], 512, "%s{%s}:waitx", fl.cfg->redis_prefix, h->key);
}

/* Run a slots script for h with ARGV id, limit, lease_ms and more. */
static int
slots_eval(int script, const struct host *h, int argc, const char **more,
    redis_cb *cb, struct slots_call *sc)
{
	char key[3][512], limit[16], lease[32];
	const char *keys[3] = { key[0], key[1], key[2] };
	const char *argv[8] = { fl.token, limit, lease };
	int i;

	slots_keys(h, key);
	snprintf(limit, sizeof(limit), "%" PRIu32, h->fleet.slots.limit);
	snprintf(lease, sizeof(lease), "%llu",
	    (unsigned long long)fl.cfg->fleet_lease_ms);
	for (i = 0; i < argc && i < 5; i++)
		argv[3 + i] = more[i];
	if (redis_eval(script, 3, keys, 3 + i, argv, cb, sc) == -1)
		return -1;
	fl.slot_calls++;
	return 0;
}

static void
slots_call_free(struct slots_call *sc)
{
	free(sc->origin);
	free(sc->sent);
	free(sc);
}

/* The host a slots call was for, if it is still there. */
static struct host *
slots_host(struct slots_call *sc)
{
	return fl.closing ? NULL : host_find(sc->origin);
}

static void
acquire_reply(const struct redis_reply *rep, void *arg)
{
	struct slots_call *sc = arg;
	struct host *h = slots_host(sc);
	uint64_t now = clock_now_us(), rnd = 0;

	if (h != NULL) {
		if (!rep->ok || rep->n < 2 || rep->v[0] < 0 || rep->v[1] < 0)
			fleet_slots_failed(&h->fleet.slots, ASK_RETRY_US, now);
		else {
			(void)getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
			fleet_slots_granted(&h->fleet.slots, sc->first,
			    (uint32_t)rep->v[0], sc->want, (uint32_t)rep->v[1],
			    rnd, now);
		}
		dispatch_host_changed(h);
	}
	slots_call_free(sc);
}

/* The scheduler's acquire: ask Redis for want more slots of h. */
static void
acquire(struct host *h, uint32_t want, uint64_t now_us)
{
	struct slots_call *sc = xcalloc(1, sizeof(*sc));
	char first[32], wantb[16], ttl[16];
	const char *more[3] = { first, wantb, ttl };

	sc->origin = xstrdup(h->key);
	sc->first = fl.next_lease;
	sc->want = want;
	snprintf(first, sizeof(first), "%" PRIu64, sc->first);
	snprintf(wantb, sizeof(wantb), "%" PRIu32, want);
	snprintf(ttl, sizeof(ttl), "%d", WAIT_TTL_MS);
	if (slots_eval(fl.acquire_id, h, 3, more, acquire_reply, sc) == -1) {
		slots_call_free(sc);
		fleet_slots_failed(&h->fleet.slots, ASK_RETRY_US, now_us);
		return;
	}
	fl.next_lease += want;
	h->fleet.slots.asking = 1;
}

/* "1,2,3": the lease numbers of ids[0..n) (caller frees). */
static char *
lease_list(const uint64_t *ids, uint32_t n)
{
	char *s = xmalloc((size_t)n * 21 + 1), *p = s;
	uint32_t i;

	*p = '\0';
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%" PRIu64, i ? "," : "", ids[i]);
	return s;
}

static void
release_reply(const struct redis_reply *rep, void *arg)
{
	struct slots_call *sc = arg;
	struct host *h = slots_host(sc);

	if (h != NULL && rep->ok && rep->n >= 2 && rep->v[1] >= 0) {
		h->fleet.slots.waiting = (uint32_t)rep->v[1];
		h->fleet.slots.heard_at = clock_now_us();
	}
	slots_call_free(sc);	/* a lost release expires in Redis */
}

/* The scheduler's release: give n of h's slots back to the fleet. */
static void
release(struct host *h, uint32_t n, uint64_t now_us)
{
	struct slots_call *sc;
	uint64_t *ids = xcalloc(n, sizeof(*ids));
	char *list;
	const char *more[2];

	(void)now_us;
	n = fleet_slots_pop(&h->fleet.slots, n, ids);
	if (n == 0) {
		free(ids);
		return;
	}
	list = lease_list(ids, n);
	free(ids);
	sc = xcalloc(1, sizeof(*sc));
	sc->origin = xstrdup(h->key);
	more[0] = list;
	more[1] = h->sched.queued == 0 ? "1" : "0";	/* done waiting */
	if (slots_eval(fl.release_id, h, 2, more, release_reply, sc) == -1)
		slots_call_free(sc);	/* down: they expire in Redis */
	free(list);
}

static void
renew_reply(const struct redis_reply *rep, void *arg)
{
	struct slots_call *sc = arg;
	struct host *h = slots_host(sc);
	uint32_t lost;

	if (h != NULL) {
		if (!rep->ok || rep->n < 2 || rep->v[0] < 0 || rep->v[1] < 0)
			h->fleet.slots.renewing = 0;	/* again next tick */
		else {
			lost = h->fleet.slots.lost;
			fleet_slots_renewed(&h->fleet.slots, sc->sent,
			    sc->nsent, (uint32_t)rep->v[0],
			    (uint32_t)rep->v[1], clock_now_us());
			if (h->fleet.slots.lost != lost)
				log_warnx("fleet: %s: %" PRIu64 " in-flight "
				    "slots had expired in Redis and were "
				    "taken", h->key,
				    h->fleet.slots.lost - lost);
		}
		dispatch_host_changed(h);
	}
	slots_call_free(sc);
}

/* Renew every slot h holds, in one call. */
static void
renew(struct host *h)
{
	struct fleet_slots *fs = &h->fleet.slots;
	struct slots_call *sc;
	char *list;
	const char *more[1];

	if (fs->n == 0 || fs->renewing)
		return;
	sc = xcalloc(1, sizeof(*sc));
	sc->origin = xstrdup(h->key);
	sc->nsent = fs->n;
	sc->sent = xmemdup(fs->id, fs->n * sizeof(*fs->id));
	list = lease_list(fs->id, fs->n);
	more[0] = list;
	if (slots_eval(fl.renew_id, h, 1, more, renew_reply, sc) == -1)
		slots_call_free(sc);
	else
		fs->renewing = 1;
	free(list);
}

/* Each tick: renew what is due, give back what is idle and unwanted. */
static void
tick_host(struct host *h, void *arg)
{
	struct fleet_slots *fs = &h->fleet.slots;
	uint64_t now = *(uint64_t *)arg;
	uint32_t excess;

	if (fs->n == 0 || !redis_up() || fleet_view()->degraded)
		return;
	excess = fleet_slots_excess(fs, h->sched.inflight, h->sched.queued,
	    fleet_view()->peers, now);
	if (excess > 0)
		release(h, excess, now);
	if (fleet_slots_renew_due(fs, fl.cfg->fleet_lease_ms * 1000, now))
		renew(h);
}

static uint64_t
tick_us(void)
{
	uint64_t us = fl.cfg->fleet_lease_ms * 1000 / 6;

	return us < BEAT_US ? us : BEAT_US;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = clock_tv(tick_us());
	uint64_t now = clock_now_us();

	(void)fd;
	(void)what;
	(void)arg;
	host_foreach(tick_host, &now);
	evtimer_add(fl.tick, &tv);
}

/* Redis is back: renew at once what was held (re-taking it if lost). */
static void
renew_now(struct host *h, void *arg)
{
	(void)arg;
	h->fleet.slots.renewing = 0;
	h->fleet.slots.asking = 0;
	renew(h);
}

static void
beat_reply(const struct redis_reply *rep, void *arg)
{
	(void)arg;
	unsigned peers;

	if (fl.closing || !rep->ok || rep->n < 1 || rep->v[0] < 1)
		return;
	/*
	 * A Redis that came back empty knows only the daemons that beat
	 * since: for a peer TTL after connecting, a lower count is not
	 * believed (each would take itself for alone and size its leases and
	 * shares for that).
	 */
	peers = (unsigned)rep->v[0];
	if (peers < fleet_view()->peers &&
	    clock_now_us() < fl.up_since + PEER_TTL_MS * 1000ull)
		return;
	if (peers != fleet_view()->peers)
		log_info("fleet: %u daemons alive", peers);
	set_view(fleet_view()->degraded, peers);
}

static void
beat_now(void)
{
	char key[128], ttl[16];
	const char *argv[2] = { fl.id, ttl };

	snprintf(key, sizeof(key), "%s{peers}", fl.cfg->redis_prefix);
	snprintf(ttl, sizeof(ttl), "%d", PEER_TTL_MS);
	(void)redis_eval(fl.peers_id, 1, (const char *[]){ key }, 2, argv,
	    beat_reply, NULL);
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
	if (up) {
		fl.up_since = clock_now_us();
		beat_now();
		host_foreach(renew_now, NULL);
	}
}

void
fleet_link_init(struct event_base *base, const struct config *cfg)
{
	char host[64] = "";
	uint64_t rnd = 0;

	redis_init(base);
	fl.rate_id = redis_script(rate_lua);
	fl.peers_id = redis_script(peers_lua);
	fl.acquire_id = redis_script(acquire_lua);
	fl.renew_id = redis_script(renew_lua);
	fl.release_id = redis_script(release_lua);
	redis_on_state(redis_state);
	(void)gethostname(host, sizeof(host) - 1);
	(void)getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
	snprintf(fl.token, sizeof(fl.token), "%016" PRIx64, rnd);
	snprintf(fl.id, sizeof(fl.id), "%s:%ld:%s", host, (long)getpid(),
	    fl.token);
	if ((fl.beat = evtimer_new(base, beat_cb, NULL)) == NULL ||
	    (fl.tick = evtimer_new(base, tick_cb, NULL)) == NULL)
		fatalx("fleet: evtimer_new failed");
	sched_set_fleet(&(struct sched_fleet){ .lease = ask,
	    .acquire = acquire, .release = release });
	fleet_link_configure(cfg);
}

void
fleet_link_configure(const struct config *cfg)
{
	struct timeval tv = clock_tv(BEAT_US);

	struct timeval ttv;

	fl.cfg = cfg;
	fl.on = *cfg->redis != '\0';
	ttv = clock_tv(tick_us());
	if (fl.on && !evtimer_pending(fl.beat, NULL))
		evtimer_add(fl.beat, &tv);
	else if (!fl.on)
		evtimer_del(fl.beat);
	if (fl.on)
		evtimer_add(fl.tick, &ttv);	/* the lease may have changed */
	else
		evtimer_del(fl.tick);
	/* Until Redis answers, limits are shares (of 1: the whole). */
	if (fl.on && !redis_up())
		set_view(1, fleet_view()->peers);
	else if (!fl.on)
		set_view(0, 1);
	redis_configure(cfg->redis, cfg->redis_timeout_ms, cfg->redis_user,
	    cfg->redis_password);
}

static void
count_slots(struct host *h, void *arg)
{
	struct fleet_link_stats *st = arg;

	st->slots_held += h->fleet.slots.n;
	st->slots_lost += h->fleet.slots.lost;
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
		.slot_calls = fl.slot_calls,
		.redis = redis_stats(),
	};

	host_foreach(count_slots, &st);
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
	if (fl.tick != NULL)
		event_free(fl.tick);
	fl.beat = fl.tick = NULL;
}
