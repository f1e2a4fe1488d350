/*
 * host.c: the registry of destinations.
 *
 * A host is an origin (scheme, name, port), the unit that limits apply to:
 * in-flight transfers, a token-bucket rate, a Retry-After pause and a
 * circuit breaker, shared by every batch and client of the daemon. Hosts
 * are created on first use with the limits of the most specific [host]
 * section (hostrule.c) and kept in a hash table keyed by origin.
 *
 * Origins come from clients, so the table must not grow with every name a
 * client ever used: a host that no batch queue names (host_hold) waits on
 * an idle list, oldest first, and is freed host_idle_s later unless it is
 * paused or its circuit is open; what it counted is kept in one sum (the
 * metrics' host="other"), so no counter goes down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "host.h"
#include "hostrule.h"
#include "log.h"
#include "origin.h"
#include "tlsconf.h"
#include "xmalloc.h"

static const struct config *host_cfg;
static struct host *hosts;
static size_t nhosts;
static TAILQ_HEAD(, host) idle = TAILQ_HEAD_INITIALIZER(idle);
static struct host_counters retired;
static uint64_t nexpired;

void
host_init(const struct config *cfg)
{
	host_cfg = cfg;
}

/* Apply the best rule (or the defaults) to h. */
static void
configure(struct host *h, const struct config *cfg, uint64_t now_us)
{
	const struct host_rule *r;

	r = hostrule_match(cfg->hosts, cfg->nhosts, h->name, h->port);
	h->inflight_limit = r && r->inflight ? r->inflight : cfg->host_inflight;
	h->rule_line = r ? r->line : 0;
	h->http2 = r == NULL || r->http2;
	if (r != NULL)
		h->breaker_on = r->breaker_on;
	else
		breaker_on_default(&h->breaker_on);
	tlsconf_unref(h->tls);
	h->tls = r != NULL ? tlsconf_ref(r->tls) : NULL;
	if (r != NULL && r->rate > 0) {
		if (h->has_rate)
			ratelimit_set(&h->rate, r->rate, r->burst, now_us);
		else
			ratelimit_init(&h->rate, r->rate, r->burst, now_us);
		h->has_rate = 1;
	} else
		h->has_rate = 0;
	fleet_setup(&h->fleet, &(struct fleet_limits){
	    .rate = r != NULL ? r->fleet_rate : 0,
	    .burst = r != NULL ? r->fleet_burst : 1,
	    .inflight = r != NULL ? (uint32_t)r->fleet_inflight : 0 }, now_us);
}

/* Split an origin (origin.c) into h's name and port. */
static void
parse_origin(struct host *h, const char *origin)
{
	struct origin_parts o;

	if (origin_split(origin, &o) == -1)
		fatalx("host: bad origin %s", origin);
	h->name = xstrdup(o.host);
	h->port = o.port;
}

struct host *
host_find(const char *origin)
{
	struct host *h;

	HASH_FIND_STR(hosts, origin, h);
	return h;
}

struct host *
host_get(const char *origin, uint64_t now_us)
{
	struct host *h;

	HASH_FIND_STR(hosts, origin, h);
	if (h != NULL)
		return h;
	h = xcalloc(1, sizeof(*h));
	h->key = xstrdup(origin);
	parse_origin(h, origin);
	configure(h, host_cfg, now_us);
	HASH_ADD_KEYPTR(hh, hosts, h->key, strlen(h->key), h);
	nhosts++;
	h->life.idle_since = now_us;		/* until a queue holds it */
	TAILQ_INSERT_TAIL(&idle, h, life.idle_entry);
	return h;
}

void
host_hold(struct host *h)
{
	if (h->life.users++ == 0)
		TAILQ_REMOVE(&idle, h, life.idle_entry);
}

void
host_release(struct host *h, uint64_t now_us)
{
	if (h->life.users == 0)
		fatalx("host_release: %s is not held", h->key);
	if (--h->life.users == 0) {
		h->life.idle_since = now_us;
		TAILQ_INSERT_TAIL(&idle, h, life.idle_entry);
	}
}

void
host_hist_add(struct host_hist *to, const struct host_hist *from)
{
	size_t i;

	for (i = 0; i < HOST_NBUCKETS; i++)
		to->bucket[i] += from->bucket[i];
	to->count += from->count;
	to->sum += from->sum;
}

/* Add what h counted to the sum of freed hosts. */
static void
retire(const struct host_counters *c)
{
	size_t i;

	retired.requests += c->requests;
	retired.retries_total += c->retries_total;
	retired.rate_waits += c->rate_waits;
	for (i = 0; i < 6; i++)
		retired.status_class[i] += c->status_class[i];
	for (i = 0; i < RESULT_NERRORS; i++)
		retired.errors[i] += c->errors[i];
	host_hist_add(&retired.duration, &c->duration);
	host_hist_add(&retired.queue, &c->queue);
}

static void
host_free(struct host *h)
{
	HASH_DEL(hosts, h);
	nhosts--;
	fleet_free(&h->fleet);
	free(h->key);
	tlsconf_unref(h->tls);
	free(h->name);
	free(h);
}

/* Has h anything going on that keeps it? */
static int
host_busy(const struct host *h, uint64_t now_us)
{
	const struct host_sched *s = &h->sched;

	return s->paused_until > now_us || s->inflight || s->queued ||
	    h->fleet.slots.n > 0 ||
	    h->dispatch.retries ||
	    breaker_state_at(&h->dispatch.breaker, now_us) == BREAKER_OPEN;
}

uint64_t
host_expire(uint64_t now_us, void (*unlink)(struct host *))
{
	uint64_t idle_us = host_cfg->host_idle_s * 1000000;
	struct host *h;

	while ((h = TAILQ_FIRST(&idle)) != NULL) {
		if (h->life.idle_since + idle_us > now_us)
			return h->life.idle_since + idle_us;
		TAILQ_REMOVE(&idle, h, life.idle_entry);
		if (host_busy(h, now_us)) {	/* not idle: again later */
			h->life.idle_since = now_us;
			TAILQ_INSERT_TAIL(&idle, h, life.idle_entry);
			continue;
		}
		unlink(h);
		retire(&h->c);
		nexpired++;
		host_free(h);
	}
	return UINT64_MAX;
}

const struct host_counters *
host_retired(void)
{
	return &retired;
}

uint64_t
host_count_expired(void)
{
	return nexpired;
}

void
host_reconfigure(const struct config *cfg, uint64_t now_us)
{
	struct host *h, *tmp;

	host_cfg = cfg;
	HASH_ITER(hh, hosts, h, tmp)
		configure(h, cfg, now_us);
}

const double host_buckets[HOST_NBUCKETS] = { 0.001, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };

static void
observe(struct host_hist *hh, double seconds)
{
	size_t i;

	for (i = 0; i < HOST_NBUCKETS && seconds > host_buckets[i]; i++)
		;
	if (i < HOST_NBUCKETS)
		hh->bucket[i]++;
	hh->count++;
	hh->sum += seconds;
}

void
host_observe(struct host *h, double total_ms, double queue_ms)
{
	observe(&h->c.duration, total_ms / 1000.0);
	observe(&h->c.queue, queue_ms / 1000.0);
}

void
host_foreach(void (*fn)(struct host *, void *), void *arg)
{
	struct host *h, *tmp;

	HASH_ITER(hh, hosts, h, tmp)
		fn(h, arg);
}

void
host_count_start(struct host *h)
{
	h->c.requests++;
}

void
host_count(struct host *h, long status, enum result_error e)
{
	if (e != RESULT_OK && (unsigned)e < RESULT_NERRORS)
		h->c.errors[e]++;
	else if (status >= 100 && status < 600)
		h->c.status_class[status / 100]++;
}

void
host_count_retry(struct host *h)
{
	h->c.retries_total++;
}

void
host_count_rate_wait(struct host *h)
{
	h->c.rate_waits++;
}

size_t
host_count_known(void)
{
	return nhosts;
}

static json_t *
one_host(struct host *h, uint64_t now_us)
{
	json_t *o, *lim, *st, *cnt, *errs;
	unsigned i;
	char cls[8];

	lim = json_pack("{s:I,s:o,s:o}", "inflight",
	    (json_int_t)h->inflight_limit,
	    "rate_per_second", h->has_rate ? json_real(h->rate.rate) :
	    json_null(), "burst", h->has_rate ? json_real(h->rate.burst) :
	    json_null());
	errs = json_object();
	for (i = 1; i < RESULT_NERRORS; i++)
		if (h->c.errors[i] != 0)
			json_object_set_new(errs, result_error_code(i),
			    json_integer((json_int_t)h->c.errors[i]));
	cnt = json_pack("{s:I,s:I,s:o,s:o}", "requests",
	    (json_int_t)h->c.requests, "retries",
	    (json_int_t)h->c.retries_total,
	    "responses", json_object(), "errors", errs);
	for (i = 1; i < 6; i++) {
		snprintf(cls, sizeof(cls), "%uxx", i);
		json_object_set_new(json_object_get(cnt, "responses"), cls,
		    json_integer((json_int_t)h->c.status_class[i]));
	}
	st = json_pack("{s:I,s:I,s:o,s:f,s:s}", "inflight",
	    (json_int_t)h->sched.inflight,
	    "queued", (json_int_t)h->sched.queued,
	    "tokens", h->has_rate ? json_real(ratelimit_tokens(&h->rate,
	    now_us)) : json_null(),
	    "paused_ms", h->sched.paused_until > now_us ?
	    (double)(h->sched.paused_until - now_us) / 1000.0 : 0.0,
	    "breaker", breaker_state_name(breaker_state_at(&h->dispatch.breaker,
	    now_us)));
	o = json_pack("{s:s,s:o,s:o,s:o}", "host", h->key, "limits", lim,
	    "state", st, "counters", cnt);
	if (o == NULL)
		fatalx("host_stats: out of memory");
	if (h->rule_line)
		json_object_set_new(json_object_get(o, "limits"),
		    "config_line", json_integer(h->rule_line));
	if (fleet_on(&h->fleet) || h->fleet.slots.limit > 0 ||
	    h->fleet.slots.n > 0)
		json_object_set_new(o, "fleet", fleet_json(&h->fleet, now_us));
	return o;
}

json_t *
host_stats(uint64_t now_us)
{
	json_t *arr = json_array();
	struct host *h, *tmp;

	HASH_ITER(hh, hosts, h, tmp)
		json_array_append_new(arr, one_host(h, now_us));
	return arr;
}

void
host_shutdown(void)
{
	struct host *h, *tmp;

	HASH_ITER(hh, hosts, h, tmp)
		host_free(h);
	TAILQ_INIT(&idle);
	memset(&retired, 0, sizeof(retired));
	nexpired = 0;
}
