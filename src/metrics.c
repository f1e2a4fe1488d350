/*
 * metrics.c: what operators scrape.
 *
 * Figures are gathered from where they are kept (dispatch, registry, each
 * host, the process) at scrape time into one snapshot, then written out as
 * Prometheus text or JSON, so both always agree. Per-host series are
 * bounded: the metrics_max_hosts busiest hosts are named, the rest are
 * summed under host="other", so label cardinality cannot grow with the
 * number of destinations clients use.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "config.h"
#include "dispatch.h"
#include "fleet_link.h"
#include "host.h"
#include "http_client.h"
#include "metrics.h"
#include "redis.h"
#include "registry.h"
#include "xmalloc.h"

/* One host's series, or the sum of the hosts folded into "other". */
struct hostrow {
	const char		*name;
	uint64_t		 attempts, retries, rate_waits;
	uint64_t		 status_class[6];
	uint64_t		 errors[RESULT_NERRORS];
	struct host_hist	 duration, queue;
	int			 breaker;	/* -1: none (other) */
};

struct snapshot {
	struct hostrow	*rows;
	size_t		 nrows, cap;
	struct host	**hosts;
	size_t		 nhosts;
};

static const struct config *mcfg;
static uint64_t mstarted;

void
metrics_init(const struct config *cfg, uint64_t started_us)
{
	mcfg = cfg;
	mstarted = started_us;
}

static void
collect_host(struct host *h, void *arg)
{
	struct snapshot *s = arg;

	if (s->nhosts == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->hosts = xreallocarray(s->hosts, s->cap, sizeof(*s->hosts));
	}
	s->hosts[s->nhosts++] = h;
}

static int
busiest_first(const void *a, const void *b)
{
	const struct host *x = *(struct host *const *)a;
	const struct host *y = *(struct host *const *)b;

	if (x->c.requests != y->c.requests)
		return x->c.requests < y->c.requests ? 1 : -1;
	return strcmp(x->key, y->key);
}

static void
row_add(struct hostrow *r, const struct host_counters *c)
{
	size_t i;

	r->attempts += c->requests;
	r->retries += c->retries_total;
	r->rate_waits += c->rate_waits;
	for (i = 0; i < 6; i++)
		r->status_class[i] += c->status_class[i];
	for (i = 0; i < RESULT_NERRORS; i++)
		r->errors[i] += c->errors[i];
	host_hist_add(&r->duration, &c->duration);
	host_hist_add(&r->queue, &c->queue);
}

/* Hosts freed (host_idle_s) and those past metrics_max_hosts: "other". */
static void
snapshot_take(struct snapshot *s, uint64_t now_us)
{
	const struct host_counters *gone = host_retired();
	size_t i, named;
	struct hostrow *other;

	memset(s, 0, sizeof(*s));
	host_foreach(collect_host, s);
	if (s->nhosts > 1)	/* with none, hosts is NULL: not for qsort */
		qsort(s->hosts, s->nhosts, sizeof(*s->hosts), busiest_first);
	named = s->nhosts < mcfg->metrics_max_hosts ? s->nhosts :
	    (size_t)mcfg->metrics_max_hosts;
	s->rows = xcalloc(named + 1, sizeof(*s->rows));
	for (i = 0; i < named; i++) {
		s->rows[i].name = s->hosts[i]->key;
		row_add(&s->rows[i], &s->hosts[i]->c);
		s->rows[i].breaker = (int)breaker_state_at(
		    &s->hosts[i]->dispatch.breaker, now_us);
	}
	s->nrows = named;
	if (s->nhosts == named && host_count_expired() == 0)
		return;
	other = &s->rows[s->nrows++];
	other->name = "other";
	other->breaker = -1;
	row_add(other, gone);
	for (i = named; i < s->nhosts; i++)
		row_add(other, &s->hosts[i]->c);
}

static void
snapshot_free(struct snapshot *s)
{
	free(s->rows);
	free(s->hosts);
}

/* Resident set size in bytes and open descriptors of this process. */
static void
process_figures(uint64_t *rss, uint64_t *fds)
{
	unsigned long pages = 0, resident = 0;
	struct dirent *de;
	FILE *fp;
	DIR *dir;

	*rss = *fds = 0;
	if ((fp = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(fp, "%lu %lu", &pages, &resident) == 2)
			*rss = (uint64_t)resident *
			    (uint64_t)sysconf(_SC_PAGESIZE);
		fclose(fp);
	}
	if ((dir = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(dir)) != NULL)
			if (de->d_name[0] != '.')
				(*fds)++;
		closedir(dir);
		if (*fds > 0)
			(*fds)--;	/* the one opendir() used */
	}
}

/* A label value, escaped as the text format wants. */
static void
label(struct evbuffer *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(out, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, v, 1);
	}
}

static void
family(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static void
sample_host(struct evbuffer *out, const char *name, const struct hostrow *r,
    const char *extra, double v)
{
	evbuffer_add_printf(out, "%s{host=\"", name);
	label(out, r->name);
	evbuffer_add_printf(out, "\"%s} %.17g\n", extra ? extra : "", v);
}

static void
histogram(struct evbuffer *out, const char *name, const char *help,
    const struct snapshot *s, int queue)
{
	const struct host_hist *hh;
	uint64_t cum;
	size_t i, b;
	char extra[64], full[96];

	family(out, name, "histogram", help);
	for (i = 0; i < s->nrows; i++) {
		hh = queue ? &s->rows[i].queue : &s->rows[i].duration;
		snprintf(full, sizeof(full), "%s_bucket", name);
		for (cum = 0, b = 0; b < HOST_NBUCKETS; b++) {
			cum += hh->bucket[b];
			snprintf(extra, sizeof(extra), ",le=\"%g\"",
			    host_buckets[b]);
			sample_host(out, full, &s->rows[i], extra, (double)cum);
		}
		sample_host(out, full, &s->rows[i], ",le=\"+Inf\"",
		    (double)hh->count);
		snprintf(full, sizeof(full), "%s_sum", name);
		sample_host(out, full, &s->rows[i], NULL, hh->sum);
		snprintf(full, sizeof(full), "%s_count", name);
		sample_host(out, full, &s->rows[i], NULL, (double)hh->count);
	}
}

static void
render_hosts(struct evbuffer *out, const struct snapshot *s)
{
	char extra[64];
	size_t i, c;

	family(out, "fanoutd_attempts_total", "counter",
	    "Attempts started, per host (retries included).");
	for (i = 0; i < s->nrows; i++)
		sample_host(out, "fanoutd_attempts_total", &s->rows[i], NULL,
		    (double)s->rows[i].attempts);
	family(out, "fanoutd_responses_total", "counter",
	    "Attempts that got a response, per host and status class.");
	for (i = 0; i < s->nrows; i++)
		for (c = 1; c < 6; c++) {
			snprintf(extra, sizeof(extra), ",class=\"%zuxx\"", c);
			sample_host(out, "fanoutd_responses_total", &s->rows[i],
			    extra, (double)s->rows[i].status_class[c]);
		}
	family(out, "fanoutd_errors_total", "counter",
	    "Attempts that ended with an error, per host and error code.");
	for (i = 0; i < s->nrows; i++)
		for (c = 1; c < RESULT_NERRORS; c++) {
			if (s->rows[i].errors[c] == 0)
				continue;
			snprintf(extra, sizeof(extra), ",code=\"%s\"",
			    result_error_code((enum result_error)c));
			sample_host(out, "fanoutd_errors_total", &s->rows[i],
			    extra, (double)s->rows[i].errors[c]);
		}
	family(out, "fanoutd_retries_total", "counter",
	    "Retries scheduled, per host.");
	for (i = 0; i < s->nrows; i++)
		sample_host(out, "fanoutd_retries_total", &s->rows[i], NULL,
		    (double)s->rows[i].retries);
	family(out, "fanoutd_rate_limit_waits_total", "counter",
	    "Times a host had work but had to wait for a rate token.");
	for (i = 0; i < s->nrows; i++)
		sample_host(out, "fanoutd_rate_limit_waits_total",
		    &s->rows[i], NULL, (double)s->rows[i].rate_waits);
	family(out, "fanoutd_breaker_state", "gauge",
	    "Circuit breaker per host: 0 closed, 1 open, 2 half-open.");
	for (i = 0; i < s->nrows; i++)
		if (s->rows[i].breaker >= 0)
			sample_host(out, "fanoutd_breaker_state", &s->rows[i],
			    NULL, s->rows[i].breaker);
	histogram(out, "fanoutd_attempt_duration_seconds", "Attempt "
	    "durations (curl's total time), per host.", s, 0);
	histogram(out, "fanoutd_queue_duration_seconds", "Time from a "
	    "batch's acceptance to the start of an attempt, per host.", s, 1);
}

static void
gauge(struct evbuffer *out, const char *name, const char *help, double v)
{
	family(out, name, "gauge", help);
	evbuffer_add_printf(out, "%s %.17g\n", name, v);
}

/* Transfer loops: how many threads, how the transfers spread over them. */
static void
render_loops(struct evbuffer *out)
{
	size_t i, n = http_client_loops(), running;
	uint64_t started;

	gauge(out, "fanoutd_workers", "Transfer threads besides the main "
	    "loop.", (double)(n - 1));
	family(out, "fanoutd_loop_transfers_running", "gauge",
	    "Transfers running on each loop (0: the main loop).");
	for (i = 0; i < n; i++) {
		http_client_loop_stats(i, &running, &started);
		evbuffer_add_printf(out, "fanoutd_loop_transfers_running"
		    "{loop=\"%zu\"} %zu\n", i, running);
	}
	family(out, "fanoutd_loop_transfers_total", "counter",
	    "Transfers each loop has started (0: the main loop).");
	for (i = 0; i < n; i++) {
		http_client_loop_stats(i, &running, &started);
		evbuffer_add_printf(out, "fanoutd_loop_transfers_total"
		    "{loop=\"%zu\"} %llu\n", i, (unsigned long long)started);
	}
}

/* The same for /v1/stats: one object per loop, the main loop first. */
static json_t *
loops_json(void)
{
	json_t *a = json_array();
	size_t i, n = http_client_loops(), running;
	uint64_t started;

	for (i = 0; i < n; i++) {
		http_client_loop_stats(i, &running, &started);
		json_array_append_new(a, json_pack("{s:I,s:I}", "running",
		    (json_int_t)running, "started", (json_int_t)started));
	}
	return a;
}

/* Fleet limits: Redis's state, its calls and their latency. */
static void
render_fleet(struct evbuffer *out)
{
	struct fleet_link_stats f = fleet_link_stats();
	const struct redis_stats *r = f.redis;
	uint64_t cum = 0;
	size_t i;

	if (!f.configured)
		return;
	gauge(out, "fanoutd_fleet_redis_up", "1 when Redis is reachable "
	    "and fleet limits are shared; 0: local shares.", f.up);
	gauge(out, "fanoutd_fleet_peers", "Daemons of the fleet last seen "
	    "alive (this one included).", f.peers);
	family(out, "fanoutd_fleet_degraded_seconds_total", "counter",
	    "Seconds spent on local shares with Redis out of reach.");
	evbuffer_add_printf(out, "fanoutd_fleet_degraded_seconds_total "
	    "%.3f\n", f.degraded_s);
	family(out, "fanoutd_fleet_leases_total", "counter",
	    "Lease calls made to Redis for tokens.");
	evbuffer_add_printf(out, "fanoutd_fleet_leases_total %llu\n",
	    (unsigned long long)f.leases);
	family(out, "fanoutd_fleet_tokens_total", "counter",
	    "Tokens the fleet's leases granted this daemon.");
	evbuffer_add_printf(out, "fanoutd_fleet_tokens_total %llu\n",
	    (unsigned long long)f.tokens);
	gauge(out, "fanoutd_fleet_slots_held", "fleet_inflight slots (leases "
	    "in Redis) this daemon holds now.", f.slots_held);
	family(out, "fanoutd_fleet_slot_calls_total", "counter",
	    "fleet_inflight calls made to Redis (acquire, renew, release).");
	evbuffer_add_printf(out, "fanoutd_fleet_slot_calls_total %llu\n",
	    (unsigned long long)f.slot_calls);
	family(out, "fanoutd_fleet_redis_errors_total", "counter",
	    "Redis calls that failed, timeouts included.");
	evbuffer_add_printf(out, "fanoutd_fleet_redis_errors_total %llu\n",
	    (unsigned long long)r->errors);
	family(out, "fanoutd_fleet_redis_timeouts_total", "counter",
	    "Redis calls or connects slower than redis_timeout_ms.");
	evbuffer_add_printf(out, "fanoutd_fleet_redis_timeouts_total %llu\n",
	    (unsigned long long)r->timeouts);
	family(out, "fanoutd_fleet_redis_call_seconds", "histogram",
	    "Time Redis took to answer a call.");
	for (i = 0; i < REDIS_NBUCKETS; i++) {
		cum += r->bucket[i];
		evbuffer_add_printf(out, "fanoutd_fleet_redis_call_seconds_"
		    "bucket{le=\"%g\"} %llu\n", redis_buckets[i],
		    (unsigned long long)cum);
	}
	evbuffer_add_printf(out, "fanoutd_fleet_redis_call_seconds_bucket"
	    "{le=\"+Inf\"} %llu\nfanoutd_fleet_redis_call_seconds_sum "
	    "%.17g\nfanoutd_fleet_redis_call_seconds_count %llu\n",
	    (unsigned long long)r->count, r->sum,
	    (unsigned long long)r->count);
}

/* The same for /v1/stats; null without redis. */
static json_t *
fleet_json_stats(void)
{
	struct fleet_link_stats f = fleet_link_stats();
	const struct redis_stats *r = f.redis;

	if (!f.configured)
		return json_null();
	return json_pack("{s:s,s:I,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:I}", "redis", f.up ? "up" : "down", "peers",
	    (json_int_t)f.peers, "degraded_s", f.degraded_s, "leases",
	    (json_int_t)f.leases, "tokens", (json_int_t)f.tokens,
	    "slots_held", (json_int_t)f.slots_held, "slot_calls",
	    (json_int_t)f.slot_calls, "slots_lost",
	    (json_int_t)f.slots_lost, "redis_calls",
	    (json_int_t)r->calls, "redis_errors", (json_int_t)r->errors,
	    "redis_timeouts", (json_int_t)r->timeouts, "redis_connects",
	    (json_int_t)r->connects);
}

void
metrics_render(struct evbuffer *out, const struct metrics_api *api,
    uint64_t now_us)
{
	static const char *const modes[] = { "wait", "stream", "async" };
	const struct dispatch_counts *dc = dispatch_counts();
	struct snapshot s;
	uint64_t rss, fds;
	size_t m;

	snapshot_take(&s, now_us);
	process_figures(&rss, &fds);
	family(out, "fanoutd_build_info", "gauge",
	    "Version of fanoutd and of libcurl; always 1.");
	evbuffer_add_printf(out, "fanoutd_build_info{version=\"%s\","
	    "curl=\"%s\"} 1\n", PACKAGE_VERSION, http_client_version());
	gauge(out, "fanoutd_uptime_seconds", "Seconds since start.",
	    (double)(now_us - mstarted) / 1e6);
	family(out, "fanoutd_batches_total", "counter",
	    "Batches ended, by mode and outcome.");
	for (m = 0; m < 3; m++)
		evbuffer_add_printf(out, "fanoutd_batches_total{mode=\"%s\","
		    "outcome=\"done\"} %llu\nfanoutd_batches_total{mode="
		    "\"%s\",outcome=\"cancelled\"} %llu\n", modes[m],
		    (unsigned long long)dc->batches[m][0], modes[m],
		    (unsigned long long)dc->batches[m][1]);
	gauge(out, "fanoutd_batches_open", "Batches not yet ended.",
	    (double)dispatch_batches());
	gauge(out, "fanoutd_requests_inflight", "Attempts in flight.",
	    (double)dispatch_inflight());
	gauge(out, "fanoutd_requests_queued", "Requests waiting to start.",
	    (double)dispatch_queued());
	gauge(out, "fanoutd_retained_result_bytes", "Encoded results kept "
	    "for async batches.", (double)registry_retained());
	gauge(out, "fanoutd_hosts", "Destinations known.",
	    (double)s.nhosts);
	family(out, "fanoutd_hosts_expired_total", "counter",
	    "Destinations forgotten after host_idle_s unused (their counters "
	    "are in host=\"other\").");
	evbuffer_add_printf(out, "fanoutd_hosts_expired_total %llu\n",
	    (unsigned long long)host_count_expired());
	gauge(out, "fanoutd_api_connections", "API client connections open.",
	    (double)api->connections);
	family(out, "fanoutd_api_connections_cut_total", "counter",
	    "API connections closed for not sending a whole request in "
	    "api_request_timeout_ms, or to make room at api_max_connections.");
	evbuffer_add_printf(out, "fanoutd_api_connections_cut_total %llu\n",
	    (unsigned long long)api->cut);
	gauge(out, "fanoutd_api_memory_bytes", "Memory held by API request "
	    "bodies being read and parsed (max_api_memory).",
	    (double)api->mem_used);
	family(out, "fanoutd_api_memory_refused_total", "counter",
	    "API request bodies and parses refused for want of room in "
	    "max_api_memory.");
	evbuffer_add_printf(out, "fanoutd_api_memory_refused_total %llu\n",
	    (unsigned long long)api->mem_refused);
	render_loops(out);
	render_fleet(out);
	render_hosts(out, &s);
	gauge(out, "process_resident_memory_bytes", "Resident memory size "
	    "in bytes.", (double)rss);
	gauge(out, "process_open_fds", "Number of open file descriptors.",
	    (double)fds);
	snapshot_free(&s);
}

static json_t *
hist_json(const struct host_hist *hh)
{
	json_t *b = json_object();
	uint64_t cum = 0;
	char le[32];
	size_t i;

	for (i = 0; i < HOST_NBUCKETS; i++) {
		cum += hh->bucket[i];
		snprintf(le, sizeof(le), "%g", host_buckets[i]);
		json_object_set_new(b, le, json_integer((json_int_t)cum));
	}
	return json_pack("{s:I,s:f,s:o}", "count", (json_int_t)hh->count,
	    "sum_seconds", hh->sum, "le", b);
}

static json_t *
row_json(const struct hostrow *r)
{
	json_t *resp = json_object(), *errs = json_object(), *o;
	char cls[8];
	size_t i;

	for (i = 1; i < 6; i++) {
		snprintf(cls, sizeof(cls), "%zuxx", i);
		json_object_set_new(resp, cls,
		    json_integer((json_int_t)r->status_class[i]));
	}
	for (i = 1; i < RESULT_NERRORS; i++)
		if (r->errors[i] != 0)
			json_object_set_new(errs, result_error_code(
			    (enum result_error)i), json_integer(
			    (json_int_t)r->errors[i]));
	o = json_pack("{s:s,s:I,s:I,s:I,s:o,s:o,s:o,s:o}", "host", r->name,
	    "attempts", (json_int_t)r->attempts, "retries",
	    (json_int_t)r->retries, "rate_limit_waits",
	    (json_int_t)r->rate_waits, "responses", resp, "errors", errs,
	    "attempt_duration", hist_json(&r->duration), "queue_duration",
	    hist_json(&r->queue));
	if (r->breaker >= 0)
		json_object_set_new(o, "breaker", json_string(
		    breaker_state_name((enum breaker_state)r->breaker)));
	return o;
}

json_t *
metrics_stats(const struct metrics_api *api, uint64_t now_us)
{
	const struct dispatch_counts *dc = dispatch_counts();
	json_t *hosts = json_array(), *batches;
	struct snapshot s;
	uint64_t rss, fds;
	size_t i;

	snapshot_take(&s, now_us);
	process_figures(&rss, &fds);
	for (i = 0; i < s.nrows; i++)
		json_array_append_new(hosts, row_json(&s.rows[i]));
	batches = json_pack("{s:{s:I,s:I},s:{s:I,s:I},s:{s:I,s:I},s:I}",
	    "wait", "done", (json_int_t)dc->batches[0][0], "cancelled",
	    (json_int_t)dc->batches[0][1], "stream", "done",
	    (json_int_t)dc->batches[1][0], "cancelled",
	    (json_int_t)dc->batches[1][1], "async", "done",
	    (json_int_t)dc->batches[2][0], "cancelled",
	    (json_int_t)dc->batches[2][1], "open",
	    (json_int_t)dispatch_batches());
	snapshot_free(&s);
	return json_pack("{s:s,s:s,s:f,s:o,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I},"
	    "s:{s:I,s:I,s:I,s:I,s:I},s:o,s:o,s:o}",
	    "version", PACKAGE_VERSION, "curl", http_client_version(),
	    "uptime_s", (double)(now_us - mstarted) / 1e6, "batches", batches,
	    "inflight", (json_int_t)dispatch_inflight(), "queued",
	    (json_int_t)dispatch_queued(), "retained_result_bytes",
	    (json_int_t)registry_retained(), "hosts_known",
	    (json_int_t)host_count_known(), "hosts_expired",
	    (json_int_t)host_count_expired(), "process", "resident_bytes",
	    (json_int_t)rss, "open_fds", (json_int_t)fds, "api",
	    "connections", (json_int_t)api->connections, "connections_cut",
	    (json_int_t)api->cut, "memory_bytes", (json_int_t)api->mem_used,
	    "memory_peak_bytes", (json_int_t)api->mem_peak, "memory_refused",
	    (json_int_t)api->mem_refused, "loops", loops_json(),
	    "fleet", fleet_json_stats(), "hosts", hosts);
}
