/*
 * fleet.c: fleet limits, the arithmetic: leased tokens, lease sizes, the
 * degraded share and the Redis address. No I/O (fleet_link.c talks to
 * Redis through redis.c); every call takes `now`.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <jansson.h>

#include "fleet.h"
#include "log.h"

static struct fleet_view view = { .degraded = 0, .peers = 1 };

const struct fleet_view *
fleet_view(void)
{
	return &view;
}

void
fleet_set_view(int degraded, unsigned peers)
{
	view.degraded = degraded;
	view.peers = peers > 0 ? peers : 1;
}

int
fleet_addr_parse(const char *s, struct fleet_addr *a, const char **why)
{
	const char *hp, *colon, *slash;
	unsigned long n;
	char *end;
	size_t len;

	memset(a, 0, sizeof(*a));
	if (strncmp(s, "unix:", 5) == 0) {
		s += 5;
		if (*s != '/')
			return (*why = "unix: needs an absolute path", -1);
		if (strlen(s) >= sizeof(a->path))
			return (*why = "unix: path too long (107 bytes at "
			    "most)", -1);
		a->is_unix = 1;
		snprintf(a->path, sizeof(a->path), "%s", s);
		return 0;
	}
	if (strncmp(s, "tcp://", 6) != 0)
		return (*why = "must be unix:/PATH or tcp://IP:PORT[/DB]", -1);
	hp = s + 6;
	slash = strchr(hp, '/');
	len = slash != NULL ? (size_t)(slash - hp) : strlen(hp);
	colon = memrchr(hp, ':', len);
	if (colon == NULL || colon == hp)
		return (*why = "tcp:// needs IP:PORT", -1);
	if (hp[0] == '[') {	/* [v6]:port */
		if (colon[-1] != ']' || (size_t)(colon - hp - 2) >=
		    sizeof(a->ip))
			return (*why = "tcp://[IPv6]:PORT", -1);
		memcpy(a->ip, hp + 1, (size_t)(colon - hp - 2));
	} else {
		if ((size_t)(colon - hp) >= sizeof(a->ip))
			return (*why = "address too long", -1);
		memcpy(a->ip, hp, (size_t)(colon - hp));
	}
	{
		unsigned char buf[16];

		if (inet_pton(AF_INET, a->ip, buf) != 1 &&
		    inet_pton(AF_INET6, a->ip, buf) != 1)
			return (*why = "tcp:// takes an IP address, not a name "
			    "(resolving it would block the event loop)", -1);
	}
	errno = 0;
	n = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || end != hp + len ||
	    errno != 0 || n == 0 || n > 65535)
		return (*why = "port must be 1..65535", -1);
	a->port = (unsigned)n;
	if (slash != NULL) {
		errno = 0;
		n = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
		    errno != 0 || n > 65535)
			return (*why = "the database after / must be a "
			    "number", -1);
		a->db = (unsigned)n;
	}
	return 0;
}

void
fleet_setup(struct host_fleet *f, const struct fleet_limits *lim,
    uint64_t now_us)
{
	f->lim = *lim;
	if (f->lim.burst < 1)
		f->lim.burst = 1;
	f->share_peers = 0;	/* the share is cut again when next used */
	fleet_slots_setup(&f->slots, lim->inflight);
	(void)now_us;
}

int
fleet_on(const struct host_fleet *f)
{
	return f->lim.rate > 0;
}

void
fleet_free(struct host_fleet *f)
{
	fleet_slots_free(&f->slots);
}

double
fleet_share(double limit, unsigned peers)
{
	double s = limit / (peers > 0 ? peers : 1);

	return s < RATELIMIT_MIN_RATE ? RATELIMIT_MIN_RATE : s;
}

/* Drop the tokens whose time passed FLEET_TOKEN_TTL_US ago, unused. */
static void
drop_stale(struct host_fleet *f, uint64_t now_us)
{
	struct fleet_tokens *t = &f->tok;
	uint64_t from, k;

	if (t->n == 0)
		return;
	/* Token i lives until max(at + i * step, granted) + TTL. */
	if (now_us <= FLEET_TOKEN_TTL_US)
		return;
	from = now_us - FLEET_TOKEN_TTL_US;	/* tokens due before: stale */
	if (t->granted >= from || t->at >= from)
		return;
	k = t->step > 0 ? (from - t->at) / t->step + 1 : t->n;
	if (k > t->n)
		k = t->n;
	t->n -= (uint32_t)k;
	t->at += k * t->step;
	f->dropped += k;
}

/* The degraded share's bucket, cut for peers daemons. */
static struct ratelimit *
share(struct host_fleet *f, unsigned peers, uint64_t now_us)
{
	double burst;

	if (peers == 0)
		peers = 1;
	if (f->share_peers != peers) {
		burst = floor(f->lim.burst / peers);
		ratelimit_init(&f->share, fleet_share(f->lim.rate, peers),
		    burst < 1 ? 1 : burst, now_us);
		f->share_peers = peers;
	}
	return &f->share;
}

int
fleet_ready(struct host_fleet *f, int degraded, unsigned peers,
    uint64_t now_us, uint64_t *wait_us)
{
	*wait_us = 0;
	drop_stale(f, now_us);
	if (f->tok.n > 0) {	/* leased tokens are good in either mode */
		if (f->tok.at <= now_us)
			return 1;
		*wait_us = f->tok.at - now_us;
		return 0;
	}
	if (degraded) {
		*wait_us = ratelimit_wait_us(share(f, peers, now_us), now_us);
		return *wait_us == 0;
	}
	if (!f->asking && f->ask_after > now_us)
		*wait_us = f->ask_after - now_us;
	return 0;
}

void
fleet_take(struct host_fleet *f, int degraded, uint64_t now_us)
{
	f->taken++;
	if (f->tok.n > 0 && f->tok.at <= now_us) {
		f->tok.n--;
		f->tok.at += f->tok.step;
		return;
	}
	if (degraded)
		(void)ratelimit_take(&f->share, now_us);
}

int
fleet_wants(const struct host_fleet *f, uint64_t now_us)
{
	return fleet_on(f) && f->tok.n == 0 && !f->asking &&
	    f->ask_after <= now_us;
}

uint32_t
fleet_lease_size(double rate, size_t queued, unsigned peers)
{
	double cap = floor(rate * (double)FLEET_HORIZON_US / 1e6 /
	    (peers > 0 ? peers : 1));

	if (cap < 1)
		cap = 1;
	if (cap > FLEET_LEASE_MAX)
		cap = FLEET_LEASE_MAX;
	if (queued < 1)
		queued = 1;
	return (double)queued < cap ? (uint32_t)queued : (uint32_t)cap;
}

void
fleet_grant(struct host_fleet *f, uint32_t n, int64_t first_us,
    uint64_t step_us, uint64_t now_us)
{
	uint64_t at = first_us >= 0 ? now_us + (uint64_t)first_us :
	    ((uint64_t)-first_us > now_us ? 0 : now_us - (uint64_t)-first_us);

	f->asking = 0;
	if (n == 0) {	/* nothing within the horizon: ask when due */
		f->ask_after = first_us > 0 ? now_us + (uint64_t)first_us :
		    now_us;
		return;
	}
	/* Any tokens still held were stale or used: a lease replaces them. */
	f->dropped += f->tok.n;
	f->tok.n = n;
	f->tok.at = at;
	f->tok.step = step_us;
	f->tok.granted = now_us;
	f->leased += n;
	f->ask_after = 0;
}

void
fleet_ask_failed(struct host_fleet *f, uint64_t retry_us, uint64_t now_us)
{
	f->asking = 0;
	f->ask_after = now_us + retry_us;
}

uint32_t
fleet_tokens_held(struct host_fleet *f, uint64_t now_us)
{
	drop_stale(f, now_us);
	return f->tok.n;
}

json_t *
fleet_json(struct host_fleet *f, uint64_t now_us)
{
	const struct fleet_slots *sl = &f->slots;
	json_t *o;

	o = json_pack("{s:s,s:I}", "state", view.degraded ? "degraded" :
	    "shared", "peers", (json_int_t)view.peers);
	if (o == NULL)
		fatalx("fleet_json: out of memory");
	if (fleet_on(f)) {
		json_object_update_new(o, json_pack("{s:f,s:f,s:I,s:I,s:I,"
		    "s:I}", "rate_per_second", f->lim.rate, "burst",
		    f->lim.burst, "tokens",
		    (json_int_t)fleet_tokens_held(f, now_us),
		    "leased", (json_int_t)f->leased, "taken",
		    (json_int_t)f->taken, "dropped", (json_int_t)f->dropped));
		if (view.degraded)
			json_object_set_new(o, "share_per_second",
			    json_real(fleet_share(f->lim.rate, view.peers)));
	}
	if (sl->limit > 0 || sl->n > 0) {
		json_object_update_new(o, json_pack("{s:I,s:I,s:I,s:I,s:I,"
		    "s:I}", "inflight", (json_int_t)sl->limit, "slots",
		    (json_int_t)sl->n, "waiting", (json_int_t)sl->waiting,
		    "slots_acquired", (json_int_t)sl->acquired,
		    "slots_released", (json_int_t)sl->released,
		    "slots_lost", (json_int_t)sl->lost));
		if (view.degraded)
			json_object_set_new(o, "share_inflight", json_integer(
			    fleet_slots_share(sl->limit, view.peers)));
	}
	return o;
}
