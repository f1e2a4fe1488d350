/*
 * option.c: the single place an option is defined.
 *
 * Every [fanoutd] setting is one row of options[], with designated
 * initializers as in tmux's options-table.c: its type, default, bounds or
 * choices, the option it may not exceed, whether only a restart applies it
 * (as pgbouncer's CF_NO_RELOAD) and its help. Each type has one parser and
 * one formatter (kinds[]); the loader (config.c), reload (reload.c), GET
 * /v1/config and the documentation test all read this table.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "config.h"
#include "fleet.h"
#include "log.h"
#include "option.h"
#include "xmalloc.h"

#define OFF(f)	offsetof(struct config, f)
#define KIB	1024ull
#define MIB	(1024ull * 1024)
#define GIB	(1024ull * 1024 * 1024)

static const char *const log_levels[] = { "error", "warn", "info", "debug",
	NULL };	/* enum log_level's order */
static const char *const log_formats[] = { "text", "json", NULL };

static const struct option options[] = {
	{ .name = "socket", .type = OPT_PATH, .def = CONFIG_DEFAULT_SOCKET,
	  .max = 107, .offset = OFF(socket), .flags = OPT_RESTART,
	  .help = "Unix socket the API listens on (overridden by -s)." },
	{ .name = "socket_group", .type = OPT_GIDS, .def = "", .max = 1,
	  .offset = OFF(socket_group), .flags = OPT_RESTART,
	  .help = "Group (name or gid) the socket file is given to, with "
	  "socket_mode 0660 its members may connect; empty: the daemon's "
	  "group." },
	{ .name = "socket_mode", .type = OPT_MODE, .def = "0660", .max = 0777,
	  .offset = OFF(socket_mode), .flags = OPT_RESTART,
	  .help = "Permissions of the socket file (octal)." },
	{ .name = "log_level", .type = OPT_CHOICE, .def = "info",
	  .choices = log_levels, .offset = OFF(log_level),
	  .help = "error, warn, info (one line per batch) or debug "
	  "(overridden by -l)." },
	{ .name = "max_inflight", .type = OPT_NUMBER, .def = "256", .min = 1,
	  .max = 65536, .offset = OFF(max_inflight),
	  .help = "Transfers in flight across the whole daemon; also caps "
	  "a batch's concurrency." },
	{ .name = "workers", .type = OPT_THREADS, .def = "auto", .max = 64,
	  .offset = OFF(workers), .flags = OPT_RESTART,
	  .help = "Transfer threads besides the main loop, which runs "
	  "transfers too; each has its own event loop, curl multi handle "
	  "and connections, and one scheduler feeds them all (limits stay "
	  "exact). auto: one fewer than the online CPUs, so one loop per "
	  "CPU. Changes at the next restart." },
	{ .name = "max_batch_requests", .type = OPT_NUMBER, .def = "100000",
	  .min = 1, .max = 10000000, .offset = OFF(max_batch_requests),
	  .help = "Requests in one batch; more is 413 payload_too_large." },
	{ .name = "max_request_bytes", .type = OPT_SIZE, .def = "64M",
	  .min = 1024, .max = 4 * GIB, .offset = OFF(max_request_bytes),
	  .help = "Size of an API request body; more is 413 "
	  "payload_too_large." },
	{ .name = "default_timeout_ms", .type = OPT_NUMBER, .def = "30000",
	  .min = 1, .max = 86400000, .offset = OFF(default_timeout_ms),
	  .at_most = "max_timeout_ms",
	  .help = "timeout_ms of a request that sets none (whole attempt)." },
	{ .name = "default_connect_timeout_ms", .type = OPT_NUMBER,
	  .def = "10000", .min = 1, .max = 86400000,
	  .offset = OFF(default_connect_timeout_ms),
	  .at_most = "max_timeout_ms",
	  .help = "connect_timeout_ms of a request that sets none." },
	{ .name = "default_max_response_bytes", .type = OPT_SIZE, .def = "1M",
	  .max = 4 * GIB, .offset = OFF(default_max_response_bytes),
	  .at_most = "max_response_bytes_limit",
	  .help = "max_response_bytes of a request that sets none." },
	{ .name = "max_response_bytes_limit", .type = OPT_SIZE, .def = "64M",
	  .max = 4 * GIB, .offset = OFF(max_response_bytes_limit),
	  .help = "Largest max_response_bytes a request may ask for "
	  "(bounds memory)." },
	{ .name = "max_response_headers", .type = OPT_NUMBER, .def = "1000",
	  .min = 1, .max = 100000, .offset = OFF(max_response_headers),
	  .help = "Response headers kept per result; the rest are dropped "
	  "and the result says headers_truncated." },
	{ .name = "max_api_memory", .type = OPT_SIZE, .def = "256M",
	  .min = 1 * MIB, .max = 64 * GIB, .offset = OFF(max_api_memory),
	  .help = "Memory for API request bodies being received and "
	  "parsed, daemon-wide; a body that does not fit gets 503 "
	  "overloaded (413 if it never could)." },
	{ .name = "max_url_bytes", .type = OPT_NUMBER, .def = "8192",
	  .min = 16, .max = 1048576, .offset = OFF(max_url_bytes),
	  .help = "Longest URL a request may have." },
	{ .name = "max_headers", .type = OPT_NUMBER, .def = "100",
	  .max = 10000, .offset = OFF(max_headers),
	  .help = "Headers a request may send (its own and the defaults' "
	  "merged)." },
	{ .name = "max_header_bytes", .type = OPT_SIZE, .def = "64K",
	  .min = 64, .max = 16 * MIB, .offset = OFF(max_header_bytes),
	  .help = "Bytes of headers a request may send, names and values." },
	{ .name = "max_queued_requests", .type = OPT_NUMBER, .def = "1000000",
	  .min = 1, .max = 100000000, .offset = OFF(max_queued_requests),
	  .help = "Requests queued or running daemon-wide; a batch that "
	  "would pass it gets 429 overloaded (accepted work always "
	  "completes)." },
	{ .name = "max_batches_per_uid", .type = OPT_NUMBER, .def = "1000",
	  .min = 1, .max = 1000000, .offset = OFF(max_batches_per_uid),
	  .help = "Open batches one user may have (running, or async "
	  "kept); more is 429 overloaded." },
	{ .name = "max_timeout_ms", .type = OPT_NUMBER, .def = "3600000",
	  .min = 1, .max = 86400000, .offset = OFF(max_timeout_ms),
	  .help = "Largest timeout_ms or connect_timeout_ms a request may "
	  "ask for." },
	{ .name = "api_max_connections", .type = OPT_NUMBER, .def = "1024",
	  .min = 1, .max = 1000000, .offset = OFF(api_max_connections),
	  .help = "Concurrent API client connections; a new one closes the "
	  "one that waited longest for a request, else is refused." },
	{ .name = "host_inflight", .type = OPT_NUMBER, .def = "8", .min = 1,
	  .max = 65536, .offset = OFF(host_inflight),
	  .help = "Transfers in flight to one host (scheme, name, port) "
	  "unless its [host] section sets inflight." },
	{ .name = "max_retries", .type = OPT_NUMBER, .def = "10", .max = 100,
	  .offset = OFF(max_retries),
	  .help = "Largest `retries` a request may ask for." },
	{ .name = "max_retry_after_ms", .type = OPT_NUMBER, .def = "60000",
	  .max = 86400000, .offset = OFF(max_retry_after_ms),
	  .help = "Longest Retry-After honoured; longer ones are cut to "
	  "this." },
	{ .name = "retry_budget_percent", .type = OPT_NUMBER, .def = "20",
	  .max = 100, .offset = OFF(retry_budget_percent),
	  .help = "Retries in flight to a host may be at most this share "
	  "of its requests in flight..." },
	{ .name = "retry_budget_min", .type = OPT_NUMBER, .def = "3",
	  .max = 65536, .offset = OFF(retry_budget_min),
	  .help = "...or this many, whichever is more." },
	{ .name = "breaker_failures", .type = OPT_NUMBER, .def = "10",
	  .max = 1000000, .offset = OFF(breaker_failures),
	  .help = "Consecutive failures that open a host's circuit; 0 "
	  "turns the breaker off." },
	{ .name = "breaker_open_ms", .type = OPT_NUMBER, .def = "5000",
	  .min = 1, .max = 86400000, .offset = OFF(breaker_open_ms),
	  .help = "How long an open circuit fails requests before one "
	  "probe." },
	{ .name = "breaker_min_timeout_ms", .type = OPT_NUMBER, .def = "1000",
	  .max = 86400000, .offset = OFF(breaker_min_timeout_ms),
	  .help = "A timeout counts toward a host's circuit only when the "
	  "attempt's timeout_ms was at least this: a shorter one says "
	  "nothing about the host." },
	{ .name = "max_redirects_limit", .type = OPT_NUMBER, .def = "20",
	  .max = 100, .offset = OFF(max_redirects_limit),
	  .help = "Largest `max_redirects` a request may ask for." },
	{ .name = "result_ttl_s", .type = OPT_NUMBER, .def = "600", .min = 1,
	  .max = 604800, .offset = OFF(result_ttl_s),
	  .help = "How long a finished async batch's results are kept." },
	{ .name = "max_retained_bytes", .type = OPT_SIZE, .def = "256M",
	  .max = 64 * GIB, .offset = OFF(max_retained_bytes),
	  .help = "Encoded results kept for async batches, daemon-wide; "
	  "past it a new async batch gets 429 overloaded." },
	{ .name = "stream_high_water", .type = OPT_SIZE, .def = "1M",
	  .min = 4 * KIB, .max = 1 * GIB, .offset = OFF(stream_high_water),
	  .help = "A stream's unsent output past this pauses its batch..." },
	{ .name = "stream_low_water", .type = OPT_SIZE, .def = "256K",
	  .max = 1 * GIB, .offset = OFF(stream_low_water),
	  .at_most = "stream_high_water",
	  .help = "...until it drains below this." },
	{ .name = "allow_uids", .type = OPT_UIDS, .def = "",
	  .offset = OFF(allow_uids),
	  .help = "Users (names or uids) whose requests are served; with "
	  "allow_gids empty too, anyone who can open the socket. Others "
	  "get 403; root always may." },
	{ .name = "allow_gids", .type = OPT_GIDS, .def = "",
	  .offset = OFF(allow_gids),
	  .help = "Groups (names or gids) whose members' requests are "
	  "served (primary or supplementary group of the caller)." },
	{ .name = "deny_private", .type = OPT_BOOL, .def = "no", .max = 1,
	  .offset = OFF(deny_private),
	  .help = "Refuse connections to private addresses (10/8, "
	  "172.16/12, 192.168/16, 100.64/10, fc00::/7): the strict profile." },
	{ .name = "deny_loopback", .type = OPT_BOOL, .def = "no", .max = 1,
	  .offset = OFF(deny_loopback),
	  .help = "Refuse connections to loopback addresses (127/8, ::1)." },
	{ .name = "allow", .type = OPT_RULES, .def = "", .offset = OFF(egress),
	  .help = "Destinations opened up: CIDRs, addresses, host names "
	  "and *.globs, each maybe with :PORT; the most specific rule "
	  "wins. Repeatable." },
	{ .name = "deny", .type = OPT_RULES, .def = "", .offset = OFF(egress),
	  .help = "Destinations refused, in the same forms as allow (`deny "
	  "= *` with a list of allow names makes an allow list). "
	  "Repeatable." },
	{ .name = "proxy", .type = OPT_PROXY, .def = "", .offset = OFF(proxy),
	  .help = "Send every request through this proxy (http://, "
	  "https:// or socks5h://HOST:PORT); empty: direct. The policy "
	  "judges the proxy's address and each target's name." },
	{ .name = "redis", .type = OPT_REDIS, .def = "", .offset = OFF(redis),
	  .help = "Redis for fleet-wide limits (fleet_rate, "
	  "fleet_inflight in [host] sections): unix:/PATH or "
	  "tcp://IP:PORT[/DB]; empty: none. Daemons sharing it and "
	  "redis_prefix are one fleet." },
	{ .name = "redis_prefix", .type = OPT_PREFIX, .def = "fanoutd:",
	  .max = 64, .offset = OFF(redis_prefix),
	  .help = "Prefix of every key fanoutd writes in Redis." },
	{ .name = "redis_user", .type = OPT_PREFIX, .def = "", .max = 64,
	  .offset = OFF(redis_user),
	  .help = "The Redis ACL user fanoutd authenticates as (AUTH) with "
	  "the password in redis_password_file; empty: the default user." },
	{ .name = "redis_password_file", .type = OPT_SECRET, .def = "",
	  .max = 4096, .offset = OFF(redis_password_file),
	  .help = "A file whose first line is the Redis password, read at "
	  "start and at each reload (so it may be mode 0600 for the "
	  "daemon's user); empty: no AUTH." },
	{ .name = "redis_timeout_ms", .type = OPT_NUMBER, .def = "200",
	  .min = 10, .max = 60000, .offset = OFF(redis_timeout_ms),
	  .help = "A Redis call (or connect) slower than this counts as a "
	  "failure: limits fall back to this daemon's share until Redis "
	  "answers again." },
	{ .name = "fleet_lease_ms", .type = OPT_NUMBER, .def = "10000",
	  .min = 300, .max = 600000, .offset = OFF(fleet_lease_ms),
	  .help = "How long a fleet_inflight slot is held in Redis without "
	  "renewal (renewed every third of it): a daemon that dies or "
	  "loses Redis gives its slots back to the fleet this long after." },
	{ .name = "max_inflight_per_uid", .type = OPT_NUMBER, .def = "0",
	  .max = 65536, .offset = OFF(max_inflight_per_uid),
	  .help = "Transfers one user may have in flight; 0: no cap but "
	  "max_inflight ([user]/[group] max_inflight overrides)." },
	{ .name = "max_queued_per_uid", .type = OPT_NUMBER, .def = "0",
	  .max = 100000000, .offset = OFF(max_queued_per_uid),
	  .help = "Unfinished requests one user may have; a batch that "
	  "would pass it gets 429 overloaded (413 if it alone is bigger); "
	  "0: no cap but max_queued_requests." },
	{ .name = "max_json_keys", .type = OPT_NUMBER, .def = "1000", .min = 8,
	  .max = 1000000, .offset = OFF(max_json_keys),
	  .help = "Members one JSON object of a batch may have (the "
	  "headers object included); more is 400 invalid_json." },
	{ .name = "drain_timeout_ms", .type = OPT_NUMBER, .def = "30000",
	  .max = 86400000, .offset = OFF(drain_timeout_ms),
	  .help = "On SIGTERM, how long running batches may go on before "
	  "what is left ends with `shutdown`." },
	{ .name = "health_listen", .type = OPT_LISTEN, .def = "",
	  .offset = OFF(health_listen), .flags = OPT_RESTART,
	  .help = "Also serve /healthz, /readyz and /metrics over TCP on "
	  "this loopback address:port (e.g. 127.0.0.1:9180); empty: off." },
	{ .name = "metrics_max_hosts", .type = OPT_NUMBER, .def = "50",
	  .min = 1, .max = 10000, .offset = OFF(metrics_max_hosts),
	  .help = "Hosts named in /metrics labels; the rest are summed as "
	  "host=\"other\"." },
	{ .name = "host_idle_s", .type = OPT_NUMBER, .def = "600", .min = 1,
	  .max = 86400 * 30, .offset = OFF(host_idle_s),
	  .help = "A destination host nothing has been queued for or sent "
	  "to, without a Retry-After pause or an open circuit, for this "
	  "long is forgotten (its counters join host=\"other\"); the host "
	  "table cannot grow with every name clients use." },
	{ .name = "log_format", .type = OPT_CHOICE, .def = "text",
	  .choices = log_formats, .offset = OFF(log_format),
	  .help = "text, or json (one object per line) for log shippers." },
	{ .name = "api_timeout_ms", .type = OPT_NUMBER, .def = "60000",
	  .min = 100, .max = 86400000, .offset = OFF(api_timeout_ms),
	  .help = "An API connection that stalls this long while a request "
	  "is read or a reply written is closed." },
	{ .name = "api_request_timeout_ms", .type = OPT_NUMBER, .def = "30000",
	  .min = 100, .max = 86400000, .offset = OFF(api_request_timeout_ms),
	  .help = "Each request (line, headers and body) must arrive whole "
	  "within this long of the connection opening or of the previous "
	  "reply; slower clients, and idle ones, are disconnected "
	  "(slowloris)." },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

const struct option *
option_at(size_t i)
{
	return i < NOPTIONS ? &options[i] : NULL;
}

size_t
option_count(void)
{
	return NOPTIONS;
}

const struct option *
option_find(const char *name)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

/* Where o's value lives in cfg. */
#define SLOT(cfg, o, type)	((type *)((char *)(cfg) + (o)->offset))
#define CSLOT(cfg, o, type) \
	((const type *)((const char *)(cfg) + (o)->offset))

uint64_t
option_number(const struct config *cfg, const struct option *o)
{
	return *CSLOT(cfg, o, uint64_t);
}

/* Parse a decimal with an optional K/M/G suffix into *out. */
static int
parse_decimal(const char *s, int allow_suffix, uint64_t *out)
{
	char *end;
	unsigned long long v, mult = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (allow_suffix && *end != '\0') {
		switch (toupper((unsigned char)*end)) {
		case 'K': mult = KIB; break;
		case 'M': mult = MIB; break;
		case 'G': mult = GIB; break;
		default: return -1;
		}
		end++;
		if (toupper((unsigned char)*end) == 'I' &&
		    toupper((unsigned char)end[1]) == 'B')
			end += 2;
		else if (toupper((unsigned char)*end) == 'B')
			end++;
	}
	if (*end != '\0' || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

/* A number or size in min..max. */
static const char *
parse_number(struct config *cfg, const struct option *o, const char *s,
    char *why, size_t len)
{
	uint64_t v;

	if (parse_decimal(s, o->type == OPT_SIZE, &v) == -1)
		return o->type == OPT_SIZE ? "must be a size in bytes (suffix "
		    "K, M or G allowed)" : o->type == OPT_THREADS ? "must be "
		    "a number of threads or auto" : "must be a non-negative "
		    "integer";
	(void)why;
	(void)len;
	if (v < o->min || v > o->max)
		return "out of range";	/* config_set() adds the range */
	*SLOT(cfg, o, uint64_t) = v;
	return NULL;
}

/* CPUs online now; 1 if that cannot be known. */
static uint64_t
online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (uint64_t)n;
}

/* "auto" (the main loop plus one thread per other CPU) or a number. */
static const char *
parse_threads(struct config *cfg, const struct option *o, const char *s,
    char *why, size_t len)
{
	uint64_t v;

	if (strcmp(s, "auto") != 0)
		return parse_number(cfg, o, s, why, len);
	v = online_cpus() - 1;
	*SLOT(cfg, o, uint64_t) = v > o->max ? o->max : v;
	return NULL;
}

static const char *
parse_mode(struct config *cfg, const struct option *o, const char *s,
    char *why, size_t len)
{
	uint64_t v;
	char *end;

	(void)why;
	(void)len;
	errno = 0;
	v = strtoull(s, &end, 8);
	if (*s == '\0' || *end != '\0' || errno != 0 || v > o->max)
		return "must be an octal mode such as 0660";
	*SLOT(cfg, o, uint64_t) = v;
	return NULL;
}

static const char *
parse_choice(struct config *cfg, const struct option *o, const char *s,
    char *why, size_t len)
{
	size_t i, n;

	for (i = 0; o->choices[i] != NULL; i++)
		if (strcmp(s, o->choices[i]) == 0) {
			*SLOT(cfg, o, uint64_t) = i;
			return NULL;
		}
	n = (size_t)snprintf(why, len, "must be ");
	for (i = 0; o->choices[i] != NULL && n < len; i++)
		n += (size_t)snprintf(why + n, len - n, "%s%s", i == 0 ? "" :
		    o->choices[i + 1] == NULL ? " or " : ", ", o->choices[i]);
	return why;
}

int
option_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
			*out = strcmp(s, yes[i]) == 0;
			return 0;
		}
	}
	return -1;
}

static const char *
parse_bool(struct config *cfg, const struct option *o, const char *s,
    char *why, size_t len)
{
	int b;

	(void)why;
	(void)len;
	if (option_parse_bool(s, &b) == -1)
		return "must be yes or no";
	*SLOT(cfg, o, uint64_t) = (uint64_t)b;
	return NULL;
}

/* Replace a string option's value. */
static void
set_string(struct config *cfg, const struct option *o, const char *s)
{
	free(*SLOT(cfg, o, char *));
	*SLOT(cfg, o, char *) = xstrdup(s);
}

static const char *
parse_path(struct config *cfg, const struct option *o, const char *s,
    char *why, size_t len)
{
	if (s[0] != '/')
		return "must be an absolute path";
	if (strlen(s) > o->max) {
		snprintf(why, len, "path too long for a Unix socket (max %"
		    PRIu64 " bytes)", o->max);
		return why;
	}
	set_string(cfg, o, s);
	return NULL;
}

/* "127.x.y.z:PORT" or "[::1]:PORT" (numeric: libevhtp does not resolve). */
static int
loopback_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	unsigned long port;
	char *end;

	if (colon == NULL)
		return 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port == 0 ||
	    port > 65535)
		return 0;
	if (strncmp(s, "[::1]:", 6) == 0 && colon == s + 5)
		return 1;
	return strncmp(s, "127.", 4) == 0 &&
	    strspn(s, "0123456789.") == (size_t)(colon - s);
}

static const char *
parse_listen(struct config *cfg, const struct option *o, const char *s,
    char *why, size_t len)
{
	(void)why;
	(void)len;
	if (*s != '\0' && !loopback_listen(s))
		return "must be empty or a loopback address and port such as "
		    "127.0.0.1:9180 or [::1]:9180";
	set_string(cfg, o, s);
	return NULL;
}

/* "http://host:port" (https, socks5h too): a scheme, a host and a port. */
static const char *
check_proxy(const char *s)
{
	static const char *const schemes[] = { "http://", "https://",
	    "socks5h://" };
	const char *host = NULL, *colon;
	unsigned long port;
	char *end;
	size_t i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(s, schemes[i], strlen(schemes[i])) == 0)
			host = s + strlen(schemes[i]);
	if (host == NULL)
		return "must start with http://, https:// or socks5h://";
	if ((colon = strrchr(host, ':')) == NULL || colon == host ||
	    (host[0] == '[' && colon[-1] != ']'))
		return "must name a host and a port (http://HOST:PORT)";
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || (*end != '\0' &&
	    strcmp(end, "/") != 0) || errno != 0 || port == 0 || port > 65535)
		return "port must be 1..65535 (and nothing after it)";
	if (strpbrk(host, "@/?#") != NULL && strpbrk(host, "@/?#") < colon)
		return "must be scheme://HOST:PORT only (no user, no path)";
	return NULL;
}

static const char *
parse_proxy(struct config *cfg, const struct option *o, const char *s,
    char *why, size_t len)
{
	const char *bad;

	(void)why;
	(void)len;
	if (*s != '\0' && (bad = check_proxy(s)) != NULL)
		return bad;
	set_string(cfg, o, s);
	return NULL;
}

static const char *
parse_redis(struct config *cfg, const struct option *o, const char *s,
    char *why, size_t len)
{
	struct fleet_addr a;
	const char *bad;

	(void)why;
	(void)len;
	if (*s != '\0' && fleet_addr_parse(s, &a, &bad) == -1)
		return bad;
	set_string(cfg, o, s);
	return NULL;
}

/*
 * A secret's file: "" (none) or an absolute path, read now; its first line
 * (without the line end) is the secret, kept in cfg->redis_password.
 */
static const char *
parse_secret(struct config *cfg, const struct option *o, const char *s,
    char *why, size_t len)
{
	char buf[1024];
	size_t n;
	FILE *fp;

	if (cfg->redis_password != NULL) {
		explicit_bzero(cfg->redis_password,
		    strlen(cfg->redis_password));
		free(cfg->redis_password);
		cfg->redis_password = NULL;
	}
	if (*s == '\0') {
		set_string(cfg, o, s);
		return NULL;
	}
	if (s[0] != '/' || strlen(s) > o->max)
		return "must be an absolute path";
	if ((fp = fopen(s, "re")) == NULL) {
		snprintf(why, len, "cannot read it: %s", strerror(errno));
		return why;
	}
	if (fgets(buf, sizeof(buf), fp) == NULL)
		buf[0] = '\0';
	fclose(fp);
	n = strcspn(buf, "\r\n");
	if (n == 0 || n >= sizeof(buf) - 1) {
		explicit_bzero(buf, sizeof(buf));
		return "its first line must hold the secret (1 to 1022 bytes)";
	}
	cfg->redis_password = xstrndup(buf, n);
	explicit_bzero(buf, sizeof(buf));
	set_string(cfg, o, s);
	return NULL;
}

/* A Redis key prefix: printable, no space, no {} (the hash tags). */
static const char *
parse_prefix(struct config *cfg, const struct option *o, const char *s,
    char *why, size_t len)
{
	const char *p;

	(void)why;
	(void)len;
	if (strlen(s) > o->max)
		return "too long";
	for (p = s; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || *p == '{' || *p == '}')
			return "may hold printable characters but no space, "
			    "{ or }";
	set_string(cfg, o, s);
	return NULL;
}

/* "alice, 1001 bob": names resolved now, so a typo fails at load time. */
static const char *
parse_ids(struct config *cfg, const struct option *o, const char *value,
    char *why, size_t len)
{
	struct idlist *out = SLOT(cfg, o, struct idlist);
	char *copy = xstrdup(value), *tok, *save = NULL, *end;
	int groups = o->type == OPT_GIDS;
	struct passwd *pw;
	struct group *gr;
	unsigned long v;

	free(out->ids);
	memset(out, 0, sizeof(*out));
	for (tok = strtok_r(copy, " ,", &save); tok != NULL;
	    tok = strtok_r(NULL, " ,", &save)) {
		errno = 0;
		v = strtoul(tok, &end, 10);
		if (*end != '\0' || errno != 0 || v > UINT32_MAX) {
			if (groups && (gr = getgrnam(tok)) != NULL)
				v = gr->gr_gid;
			else if (!groups && (pw = getpwnam(tok)) != NULL)
				v = pw->pw_uid;
			else {
				free(copy);
				return groups ?
				    "names a group that does not exist" :
				    "names a user that does not exist";
			}
		}
		out->ids = xreallocarray(out->ids, out->n + 1,
		    sizeof(*out->ids));
		out->ids[out->n++] = (uint32_t)v;
	}
	free(copy);
	if (o->max != 0 && out->n > o->max) {
		if (o->max == 1)
			snprintf(why, len, "names more than one group");
		else
			snprintf(why, len, "names more than %" PRIu64
			    " groups", o->max);
		return why;
	}
	return NULL;
}

static const char *
parse_rules(struct config *cfg, const struct option *o, const char *value,
    char *why, size_t len)
{
	const char *reason;
	char *bad;

	if (egress_add_rules(&cfg->egress, value, strcmp(o->name, "allow") ==
	    0, &reason, &bad) == -1) {
		snprintf(why, len, "rule \"%.64s\": %s", bad, reason);
		free(bad);
		return why;
	}
	return NULL;
}

static void
format_number(const struct config *cfg, const struct option *o, char *buf,
    size_t len)
{
	snprintf(buf, len, "%" PRIu64, *CSLOT(cfg, o, uint64_t));
}

static void
format_mode(const struct config *cfg, const struct option *o, char *buf,
    size_t len)
{
	snprintf(buf, len, "0%03" PRIo64, *CSLOT(cfg, o, uint64_t));
}

static void
format_choice(const struct config *cfg, const struct option *o, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s", o->choices[*CSLOT(cfg, o, uint64_t)]);
}

static void
format_bool(const struct config *cfg, const struct option *o, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s", *CSLOT(cfg, o, uint64_t) ? "yes" : "no");
}

static void
format_string(const struct config *cfg, const struct option *o, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s", *CSLOT(cfg, o, char *));
}

static void
format_ids(const struct config *cfg, const struct option *o, char *buf,
    size_t len)
{
	const struct idlist *l = CSLOT(cfg, o, struct idlist);
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%u", i ? " " : "",
		    (unsigned)l->ids[i]);
}

/* The rules of one kind ("allow" or "deny") as written, space separated. */
static void
format_rules(const struct config *cfg, const struct option *o, char *buf,
    size_t len)
{
	egress_format_rules(&cfg->egress, strcmp(o->name, "allow") == 0, buf,
	    len);
}

/* Each type's parser and formatter. */
static const struct {
	const char	*(*parse)(struct config *, const struct option *,
			    const char *, char *, size_t);
	void		 (*format)(const struct config *,
			    const struct option *, char *, size_t);
	int		 number;	/* a JSON integer in /v1/config */
} kinds[OPT_NTYPES] = {
	[OPT_NUMBER] =	{ parse_number, format_number, 1 },
	[OPT_SIZE] =	{ parse_number, format_number, 1 },
	[OPT_THREADS] =	{ parse_threads, format_number, 1 },
	[OPT_MODE] =	{ parse_mode, format_mode, 0 },
	[OPT_CHOICE] =	{ parse_choice, format_choice, 0 },
	[OPT_BOOL] =	{ parse_bool, format_bool, 0 },
	[OPT_PATH] =	{ parse_path, format_string, 0 },
	[OPT_LISTEN] =	{ parse_listen, format_string, 0 },
	[OPT_PROXY] =	{ parse_proxy, format_string, 0 },
	[OPT_REDIS] =	{ parse_redis, format_string, 0 },
	[OPT_PREFIX] =	{ parse_prefix, format_string, 0 },
	[OPT_SECRET] =	{ parse_secret, format_string, 0 },
	[OPT_UIDS] =	{ parse_ids, format_ids, 0 },
	[OPT_GIDS] =	{ parse_ids, format_ids, 0 },
	[OPT_RULES] =	{ parse_rules, format_rules, 0 },
};

const char *
option_apply(struct config *cfg, const struct option *o, const char *value,
    char *why, size_t len)
{
	return kinds[o->type].parse(cfg, o, value, why, len);
}

void
option_format(const struct config *cfg, const struct option *o, char *buf,
    size_t len)
{
	kinds[o->type].format(cfg, o, buf, len);
}

int
option_is_number(const struct option *o)
{
	return kinds[o->type].number;
}

size_t
option_keep_restart(struct config *next, const struct config *live,
    void (*said)(const struct option *, const char *, const char *))
{
	char was[4096], now[4096], why[160];
	size_t i, n = 0;

	for (i = 0; i < NOPTIONS; i++) {
		if (!(options[i].flags & OPT_RESTART))
			continue;
		option_format(live, &options[i], was, sizeof(was));
		option_format(next, &options[i], now, sizeof(now));
		if (strcmp(was, now) == 0)
			continue;
		said(&options[i], was, now);
		if (option_apply(next, &options[i], was, why,
		    sizeof(why)) != NULL)
			fatalx("option %s: live value \"%s\" does not parse: "
			    "%s", options[i].name, was, why);
		n++;
	}
	return n;
}
