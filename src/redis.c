/*
 * redis.c: the Redis connection, on the event loop (hiredis 0.14 and its
 * libevent adapter). The only hiredis code.
 *
 * hiredis 0.14 has no timeouts for async contexts, so this file keeps
 * them: the calls out are a FIFO (Redis answers in order) and one timer
 * watches the oldest call, the connect and the reconnect. Expiry frees
 * the context, which fails every call out (hiredis calls each callback
 * with no reply), and the connection is made again with backoff. Scripts
 * are loaded (SCRIPT LOAD) on each connect before Redis counts as up;
 * EVALSHA's NOSCRIPT (SCRIPT FLUSH, a restart behind a proxy) is retried
 * once as EVAL, which loads the script again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "backoff.h"
#include "clock.h"
#include "fleet.h"
#include "log.h"
#include "redis.h"
#include "xmalloc.h"

#define MAX_SCRIPTS	8
#define RETRY_BASE_MS	100
#define RETRY_MAX_MS	1000

const double redis_buckets[REDIS_NBUCKETS] = { 0.0005, 0.001, 0.002,
	0.005, 0.01, 0.05, 0.1, 0.5 };

enum call_kind { CALL_EVAL, CALL_LOAD, CALL_SELECT, CALL_AUTH };
enum state { R_OFF, R_DOWN, R_CONNECTING, R_LOADING, R_UP };

struct call {
	TAILQ_ENTRY(call) entry;
	enum call_kind	 kind;
	int		 id;		/* the script */
	int		 retried;	/* sent again as EVAL after NOSCRIPT */
	redis_cb	*cb;
	void		*arg;
	int		 nkeys;		/* argv's first nkeys are keys */
	int		 argc;		/* keys and arguments, for a retry */
	char		**argv;
	uint64_t	 at;		/* sent; monotonic us */
};

static struct {
	struct event_base *base;
	struct event	*timer;
	redisAsyncContext *ac;
	enum state	 state;
	char		 addr_s[256];
	char		*user;		/* NULL: the default user */
	char		*password;	/* NULL: no AUTH */
	struct fleet_addr addr;
	uint64_t	 timeout_us;
	uint64_t	 since;		/* connecting since */
	uint64_t	 retry_at;
	unsigned	 failures;	/* in a row, for the backoff */
	int		 loading;	/* SCRIPT LOADs out */
	struct {
		char	*lua;
		char	 sha[41];
	}		 scripts[MAX_SCRIPTS];
	int		 nscripts;
	TAILQ_HEAD(, call) calls;
	void		(*state_cb)(int);
	struct redis_stats st;
} r;

static void arm(uint64_t now_us);
static void go_down(const char *why);

static void
call_free(struct call *c)
{
	int i;

	for (i = 0; i < c->argc; i++)
		free(c->argv[i]);
	free(c->argv);
	free(c);
}

/* A call's end: its callback, once, then it is freed. */
static void
finish(struct call *c, const struct redis_reply *rep)
{
	if (!rep->ok)
		r.st.errors++;
	if (c->kind == CALL_EVAL && c->cb != NULL)
		c->cb(rep, c->arg);
	call_free(c);
}

static void
observe(uint64_t at_us)
{
	double s = (double)(clock_now_us() - at_us) / 1e6;
	size_t i;

	for (i = 0; i < REDIS_NBUCKETS && s > redis_buckets[i]; i++)
		;
	if (i < REDIS_NBUCKETS)
		r.st.bucket[i]++;
	r.st.count++;
	r.st.sum += s;
}

static void reply_cb(redisAsyncContext *ac, void *reply, void *privdata);

/* Send c: EVALSHA (EVAL once after NOSCRIPT), SCRIPT LOAD, SELECT or
 * AUTH. */
static int
send_call(struct call *c)
{
	const char *argv[4 + 16];
	size_t lens[4 + 16];
	char nkeys[16], db[16];
	int n = 0, i;

	switch (c->kind) {
	case CALL_EVAL:
		if (c->argc > 16)
			return -1;
		argv[n++] = c->retried ? "EVAL" : "EVALSHA";
		argv[n++] = c->retried ? r.scripts[c->id].lua :
		    r.scripts[c->id].sha;
		snprintf(nkeys, sizeof(nkeys), "%d", c->nkeys);
		argv[n++] = nkeys;
		for (i = 0; i < c->argc; i++)
			argv[n++] = c->argv[i];
		break;
	case CALL_LOAD:
		argv[n++] = "SCRIPT";
		argv[n++] = "LOAD";
		argv[n++] = r.scripts[c->id].lua;
		break;
	case CALL_SELECT:
		snprintf(db, sizeof(db), "%u", r.addr.db);
		argv[n++] = "SELECT";
		argv[n++] = db;
		break;
	case CALL_AUTH:
		argv[n++] = "AUTH";
		if (r.user != NULL)
			argv[n++] = r.user;
		argv[n++] = r.password;
		break;
	}
	for (i = 0; i < n; i++)
		lens[i] = strlen(argv[i]);
	if (redisAsyncCommandArgv(r.ac, reply_cb, c, n, argv, lens) !=
	    REDIS_OK)
		return -1;
	c->at = clock_now_us();
	TAILQ_INSERT_TAIL(&r.calls, c, entry);
	r.st.calls++;
	return 0;
}

/* Integers from a reply (an integer, or an array of them). */
static void
convert(const redisReply *x, struct redis_reply *rep)
{
	size_t i;

	if (x->type == REDIS_REPLY_INTEGER) {
		rep->v[rep->n++] = x->integer;
		return;
	}
	if (x->type != REDIS_REPLY_ARRAY) {
		rep->ok = 0;
		rep->why = "unexpected reply type";
		return;
	}
	for (i = 0; i < x->elements && i < REDIS_REPLY_MAX; i++)
		rep->v[rep->n++] = x->element[i]->type ==
		    REDIS_REPLY_INTEGER ? x->element[i]->integer :
		    x->element[i]->type == REDIS_REPLY_STRING ?
		    strtoll(x->element[i]->str, NULL, 10) : 0;
}

static void
loaded(struct call *c, const redisReply *x)
{
	if (x->type != REDIS_REPLY_STRING || x->len != 40) {
		call_free(c);
		go_down("SCRIPT LOAD failed");
		return;
	}
	memcpy(r.scripts[c->id].sha, x->str, 40);
	r.scripts[c->id].sha[40] = '\0';
	call_free(c);
	if (--r.loading == 0 && r.state == R_LOADING) {
		r.state = R_UP;
		r.failures = 0;
		r.st.connects++;
		log_info("redis: connected to %s", r.addr_s);
		if (r.state_cb != NULL)
			r.state_cb(1);
	}
}

static void
reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct call *c = privdata;
	const redisReply *x = reply;
	struct redis_reply rep = { .ok = 1 };
	static char why[160];

	(void)ac;
	TAILQ_REMOVE(&r.calls, c, entry);
	if (x == NULL) {
		rep.ok = 0;
		rep.why = "connection to Redis lost";
		finish(c, &rep);
		return;
	}
	observe(c->at);
	if (x->type == REDIS_REPLY_ERROR) {
		if (c->kind == CALL_EVAL && !c->retried &&
		    strncmp(x->str, "NOSCRIPT", 8) == 0) {
			c->retried = 1;
			if (send_call(c) == 0)
				return;
		}
		snprintf(why, sizeof(why), "Redis: %.140s", x->str);
		rep.ok = 0;
		rep.why = why;
		if (c->kind != CALL_EVAL) {
			log_warnx("redis %s: %s", r.addr_s, why);
			call_free(c);
			go_down(why);
			return;
		}
		finish(c, &rep);
		return;
	}
	switch (c->kind) {
	case CALL_LOAD:
		loaded(c, x);
		break;
	case CALL_SELECT:
	case CALL_AUTH:
		call_free(c);
		break;
	case CALL_EVAL:
		convert(x, &rep);
		finish(c, &rep);
		break;
	}
	arm(clock_now_us());
}

static void
start_loading(void)
{
	struct call *c;
	int i;

	r.state = R_LOADING;
	if (r.password != NULL) {	/* first: nothing else runs before */
		c = xcalloc(1, sizeof(*c));
		c->kind = CALL_AUTH;
		if (send_call(c) == -1) {
			call_free(c);
			go_down("AUTH could not be sent");
			return;
		}
	}
	if (r.addr.db != 0) {
		c = xcalloc(1, sizeof(*c));
		c->kind = CALL_SELECT;
		if (send_call(c) == -1) {
			call_free(c);
			go_down("SELECT could not be sent");
			return;
		}
	}
	r.loading = r.nscripts;
	for (i = 0; i < r.nscripts; i++) {
		c = xcalloc(1, sizeof(*c));
		c->kind = CALL_LOAD;
		c->id = i;
		if (send_call(c) == -1) {
			call_free(c);
			go_down("SCRIPT LOAD could not be sent");
			return;
		}
	}
	if (r.nscripts == 0) {
		r.state = R_UP;
		if (r.state_cb != NULL)
			r.state_cb(1);
	}
}

static void
connect_cb(const redisAsyncContext *ac, int status)
{
	if (ac != r.ac)
		return;
	if (status != REDIS_OK) {
		r.ac = NULL;	/* hiredis frees it after this */
		go_down(ac->errstr[0] ? ac->errstr : "connect failed");
		return;
	}
	start_loading();
	arm(clock_now_us());
}

static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
	(void)status;
	if (ac != r.ac)
		return;		/* one we dropped */
	r.ac = NULL;
	go_down(ac->errstr[0] ? ac->errstr : "Redis closed the connection");
}

/* Drop the connection: every call out fails (hiredis runs reply_cb). */
static void
drop(void)
{
	redisAsyncContext *ac = r.ac;

	r.ac = NULL;
	if (ac != NULL)
		redisAsyncFree(ac);	/* deferred if inside a callback */
}

/* Redis is not usable: say so once, drop, and plan a reconnect. */
static void
go_down(const char *why)
{
	int was_up = r.state == R_UP, first = r.failures == 0;
	uint64_t rnd = 0, now = clock_now_us();

	drop();
	if (r.state == R_OFF)
		return;
	r.state = R_DOWN;
	(void)getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
	r.retry_at = now + 1000 * (RETRY_BASE_MS / 2 +
	    backoff_ms(RETRY_BASE_MS, RETRY_MAX_MS, r.failures, rnd));
	if (r.failures < 16)
		r.failures++;
	if (was_up) {
		log_warnx("redis %s down: %s; fleet limits are local shares "
		    "until it is back", r.addr_s, why);
		if (r.state_cb != NULL)
			r.state_cb(0);
	} else if (first)
		log_warnx("redis %s: %s; fleet limits are local shares until "
		    "it is reachable", r.addr_s, why);
	else
		log_debug("redis %s: %s", r.addr_s, why);
	arm(now);
}

static void
connect_now(void)
{
	redisAsyncContext *ac;
	char why[160];

	ac = r.addr.is_unix ? redisAsyncConnectUnix(r.addr.path) :
	    redisAsyncConnect(r.addr.ip, (int)r.addr.port);
	if (ac == NULL || ac->err) {
		snprintf(why, sizeof(why), "cannot connect: %s", ac != NULL ?
		    ac->errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		r.state = R_CONNECTING;	/* so go_down() plans a retry */
		go_down(why);
		return;
	}
	r.ac = ac;
	redisLibeventAttach(ac, r.base);
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	r.state = R_CONNECTING;
	r.since = clock_now_us();
	arm(r.since);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = clock_now_us();
	struct call *c;

	(void)fd;
	(void)what;
	(void)arg;
	if ((r.state == R_CONNECTING || r.state == R_LOADING) &&
	    now >= r.since + r.timeout_us) {
		r.st.timeouts++;
		go_down("connect timed out");
		return;
	}
	if ((c = TAILQ_FIRST(&r.calls)) != NULL &&
	    now >= c->at + r.timeout_us) {
		r.st.timeouts++;
		go_down("a call timed out (redis_timeout_ms)");
		return;
	}
	if (r.state == R_DOWN && now >= r.retry_at) {
		connect_now();
		return;
	}
	arm(now);
}

/* One timer: the connect's, the oldest call's or the reconnect's time. */
static void
arm(uint64_t now_us)
{
	uint64_t at = UINT64_MAX;
	struct call *c;
	struct timeval tv;

	if (r.state == R_CONNECTING || r.state == R_LOADING)
		at = r.since + r.timeout_us;
	if ((c = TAILQ_FIRST(&r.calls)) != NULL && c->at + r.timeout_us < at)
		at = c->at + r.timeout_us;
	if (r.state == R_DOWN && r.retry_at < at)
		at = r.retry_at;
	if (at == UINT64_MAX) {
		evtimer_del(r.timer);
		return;
	}
	tv = clock_tv(at > now_us ? at - now_us : 0);
	evtimer_add(r.timer, &tv);
}

void
redis_init(struct event_base *base)
{
	r.base = base;
	r.timer = evtimer_new(base, timer_cb, NULL);
	if (r.timer == NULL)
		fatalx("redis: evtimer_new failed");
	TAILQ_INIT(&r.calls);
	r.state = R_OFF;
}

int
redis_script(const char *lua)
{
	if (r.nscripts == MAX_SCRIPTS)
		fatalx("redis: too many scripts");
	r.scripts[r.nscripts].lua = xstrdup(lua);
	return r.nscripts++;
}

/* Set *dst to a copy of src ("" or NULL: none); 1 if it changed. */
static int
set_secret(char **dst, const char *src)
{
	int changed;

	if (src != NULL && *src == '\0')
		src = NULL;
	changed = (*dst == NULL) != (src == NULL) ||
	    (src != NULL && strcmp(*dst, src) != 0);
	if (!changed)
		return 0;
	if (*dst != NULL) {
		explicit_bzero(*dst, strlen(*dst));
		free(*dst);
	}
	*dst = src != NULL ? xstrdup(src) : NULL;
	return 1;
}

void
redis_configure(const char *addr, uint64_t timeout_ms, const char *user,
    const char *password)
{
	const char *why;
	int auth;

	r.timeout_us = timeout_ms * 1000;
	auth = set_secret(&r.user, password != NULL ? user : NULL);
	auth |= set_secret(&r.password, password);
	if (strcmp(addr, r.addr_s) == 0 && !auth &&
	    (r.state != R_OFF || !*addr))
		return;
	if (r.state != R_OFF) {
		r.state = R_OFF;	/* no reconnect to the old one */
		drop();
		if (r.state_cb != NULL)
			r.state_cb(0);
	}
	snprintf(r.addr_s, sizeof(r.addr_s), "%s", addr);
	if (*addr == '\0')
		return;
	if (fleet_addr_parse(addr, &r.addr, &why) == -1) {
		log_warnx("redis %s: %s", addr, why);	/* config.c checked */
		return;
	}
	r.failures = 0;
	connect_now();
}

void
redis_on_state(void (*cb)(int up))
{
	r.state_cb = cb;
}

int
redis_up(void)
{
	return r.state == R_UP;
}

int
redis_eval(int id, int nkeys, const char **keys, int argc,
    const char **argv, redis_cb *cb, void *arg)
{
	struct call *c;
	int i;

	if (r.state != R_UP || r.ac == NULL || id < 0 || id >= r.nscripts ||
	    nkeys < 1 || argc < 0 || nkeys + argc > 16)
		return -1;
	c = xcalloc(1, sizeof(*c));
	c->kind = CALL_EVAL;
	c->id = id;
	c->cb = cb;
	c->arg = arg;
	c->nkeys = nkeys;
	c->argc = nkeys + argc;
	c->argv = xcalloc((size_t)c->argc, sizeof(*c->argv));
	for (i = 0; i < nkeys; i++)
		c->argv[i] = xstrdup(keys[i]);
	for (i = 0; i < argc; i++)
		c->argv[nkeys + i] = xstrdup(argv[i]);
	if (send_call(c) == -1) {
		call_free(c);
		return -1;
	}
	arm(c->at);
	return 0;
}

const struct redis_stats *
redis_stats(void)
{
	return &r.st;
}

void
redis_shutdown(void)
{
	int i;

	r.state = R_OFF;
	drop();
	if (r.timer != NULL)
		event_free(r.timer);
	r.timer = NULL;
	for (i = 0; i < r.nscripts; i++)
		free(r.scripts[i].lua);
	r.nscripts = 0;
	(void)set_secret(&r.user, NULL);
	(void)set_secret(&r.password, NULL);
}
