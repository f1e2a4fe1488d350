/*
 * config.c: the single place an option is defined.
 *
 * Every setting has one row in options[] (name, type, default, bounds, help),
 * like tmux's options-table.c: the loader and its validation read that row,
 * and a unit test holds etc/fanoutd.conf and fanoutd.conf(5) to it. The
 * file is INI, read with inih; daemon settings live in [fanoutd], limits per
 * destination in [host NAME] sections (hostrule.c). A bad key, value or
 * section is an error naming file, line and key; nothing is silently
 * ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grp.h>
#include <unistd.h>
#include <pwd.h>

#include <ini.h>
#include <jansson.h>

#include "config.h"
#include "log.h"
#include "xmalloc.h"

enum opt_type {
	OPT_NUMBER,	/* decimal integer */
	OPT_SIZE,	/* bytes, optional K/M/G suffix (powers of 1024) */
	OPT_MODE,	/* octal file mode */
	OPT_LEVEL,	/* log level name */
	OPT_PATH,	/* absolute path */
	OPT_LISTEN,	/* "" or a loopback ADDR:PORT */
	OPT_FORMAT,	/* log format: text or json */
	OPT_BOOL,	/* yes/no, true/false, on/off, 1/0 */
	OPT_UIDS,	/* user names or uids, space or comma separated */
	OPT_GIDS,	/* group names or gids */
	OPT_RULES,	/* egress rules, added to the policy's list */
	OPT_PROXY,	/* "" or http|https|socks5h://host:port */
	OPT_THREADS	/* a number, or "auto": CPUs less one */
};

struct option {
	const char	*name;
	enum opt_type	 type;
	const char	*defval;
	uint64_t	 min, max;
	size_t		 offset;
	const char	*help;
};

#define OFF(f)	offsetof(struct config, f)
#define KIB	1024ull
#define MIB	(1024ull * 1024)
#define GIB	(1024ull * 1024 * 1024)

static const struct option options[] = {
	{ "socket", OPT_PATH, CONFIG_DEFAULT_SOCKET, 0, 107, OFF(socket),
	  "Unix socket the API listens on (overridden by -s)." },
	{ "socket_group", OPT_GIDS, "", 0, 0, OFF(socket_group),
	  "Group (name or gid) the socket file is given to, with socket_mode "
	  "0660 its members may connect; empty: the daemon's group." },
	{ "socket_mode", OPT_MODE, "0660", 0, 0777, OFF(socket_mode),
	  "Permissions of the socket file (octal)." },
	{ "log_level", OPT_LEVEL, "info", 0, 3, OFF(log_level),
	  "error, warn, info (one line per batch) or debug (overridden by "
	  "-l)." },
	{ "max_inflight", OPT_NUMBER, "256", 1, 65536, OFF(max_inflight),
	  "Transfers in flight across the whole daemon; also caps a batch's "
	  "concurrency." },
	{ "workers", OPT_THREADS, "auto", 0, 64, OFF(workers),
	  "Transfer threads besides the main loop, which runs transfers too; "
	  "each has its own event loop, curl multi handle and connections, and "
	  "one scheduler feeds them all (limits stay exact). auto: one fewer "
	  "than the online CPUs, so one loop per CPU. Changes at the next "
	  "restart." },
	{ "max_batch_requests", OPT_NUMBER, "100000", 1, 10000000,
	  OFF(max_batch_requests),
	  "Requests in one batch; more is 413 payload_too_large." },
	{ "max_request_bytes", OPT_SIZE, "64M", 1024, 4 * GIB,
	  OFF(max_request_bytes),
	  "Size of an API request body; more is 413 payload_too_large." },
	{ "default_timeout_ms", OPT_NUMBER, "30000", 1, 86400000,
	  OFF(default_timeout_ms),
	  "timeout_ms of a request that sets none (whole attempt)." },
	{ "default_connect_timeout_ms", OPT_NUMBER, "10000", 1, 86400000,
	  OFF(default_connect_timeout_ms),
	  "connect_timeout_ms of a request that sets none." },
	{ "default_max_response_bytes", OPT_SIZE, "1M", 0, 4 * GIB,
	  OFF(default_max_response_bytes),
	  "max_response_bytes of a request that sets none." },
	{ "max_response_bytes_limit", OPT_SIZE, "64M", 0, 4 * GIB,
	  OFF(max_response_bytes_limit),
	  "Largest max_response_bytes a request may ask for (bounds memory)." },
	{ "max_response_headers", OPT_NUMBER, "1000", 1, 100000,
	  OFF(max_response_headers),
	  "Response headers kept per result; the rest are dropped and the "
	  "result says headers_truncated." },
	{ "max_api_memory", OPT_SIZE, "256M", 1 * MIB, 64 * GIB,
	  OFF(max_api_memory),
	  "Memory for API request bodies being received and parsed, "
	  "daemon-wide; a body that does not fit gets 503 overloaded (413 if "
	  "it never could)." },
	{ "max_url_bytes", OPT_NUMBER, "8192", 16, 1048576, OFF(max_url_bytes),
	  "Longest URL a request may have." },
	{ "max_headers", OPT_NUMBER, "100", 0, 10000, OFF(max_headers),
	  "Headers a request may send (its own and the defaults' merged)." },
	{ "max_header_bytes", OPT_SIZE, "64K", 64, 16 * MIB,
	  OFF(max_header_bytes),
	  "Bytes of headers a request may send, names and values." },
	{ "max_queued_requests", OPT_NUMBER, "1000000", 1, 100000000,
	  OFF(max_queued_requests),
	  "Requests queued or running daemon-wide; a batch that would pass "
	  "it gets 429 overloaded (accepted work always completes)." },
	{ "max_batches_per_uid", OPT_NUMBER, "1000", 1, 1000000,
	  OFF(max_batches_per_uid),
	  "Open batches one user may have (running, or async kept); more is "
	  "429 overloaded." },
	{ "max_timeout_ms", OPT_NUMBER, "3600000", 1, 86400000,
	  OFF(max_timeout_ms),
	  "Largest timeout_ms or connect_timeout_ms a request may ask for." },
	{ "api_max_connections", OPT_NUMBER, "1024", 1, 1000000,
	  OFF(api_max_connections),
	  "Concurrent API client connections; a new one closes the one that "
	  "waited longest for a request, else is refused." },
	{ "host_inflight", OPT_NUMBER, "8", 1, 65536, OFF(host_inflight),
	  "Transfers in flight to one host (scheme, name, port) unless its "
	  "[host] section sets inflight." },
	{ "max_retries", OPT_NUMBER, "10", 0, 100, OFF(max_retries),
	  "Largest `retries` a request may ask for." },
	{ "max_retry_after_ms", OPT_NUMBER, "60000", 0, 86400000,
	  OFF(max_retry_after_ms),
	  "Longest Retry-After honoured; longer ones are cut to this." },
	{ "retry_budget_percent", OPT_NUMBER, "20", 0, 100,
	  OFF(retry_budget_percent),
	  "Retries in flight to a host may be at most this share of its "
	  "requests in flight..." },
	{ "retry_budget_min", OPT_NUMBER, "3", 0, 65536, OFF(retry_budget_min),
	  "...or this many, whichever is more." },
	{ "breaker_failures", OPT_NUMBER, "10", 0, 1000000,
	  OFF(breaker_failures),
	  "Consecutive failures that open a host's circuit; 0 turns the "
	  "breaker off." },
	{ "breaker_open_ms", OPT_NUMBER, "5000", 1, 86400000,
	  OFF(breaker_open_ms),
	  "How long an open circuit fails requests before one probe." },
	{ "breaker_min_timeout_ms", OPT_NUMBER, "1000", 0, 86400000,
	  OFF(breaker_min_timeout_ms),
	  "A timeout counts toward a host's circuit only when the attempt's "
	  "timeout_ms was at least this: a shorter one says nothing about "
	  "the host." },
	{ "max_redirects_limit", OPT_NUMBER, "20", 0, 100,
	  OFF(max_redirects_limit),
	  "Largest `max_redirects` a request may ask for." },
	{ "result_ttl_s", OPT_NUMBER, "600", 1, 604800, OFF(result_ttl_s),
	  "How long a finished async batch's results are kept." },
	{ "max_retained_bytes", OPT_SIZE, "256M", 0, 64 * GIB,
	  OFF(max_retained_bytes),
	  "Encoded results kept for async batches, daemon-wide; past it a new "
	  "async batch gets 429 overloaded." },
	{ "stream_high_water", OPT_SIZE, "1M", 4 * KIB, 1 * GIB,
	  OFF(stream_high_water),
	  "A stream's unsent output past this pauses its batch..." },
	{ "stream_low_water", OPT_SIZE, "256K", 0, 1 * GIB,
	  OFF(stream_low_water),
	  "...until it drains below this." },
	{ "allow_uids", OPT_UIDS, "", 0, 0, OFF(allow_uids),
	  "Users (names or uids) whose requests are served; with allow_gids "
	  "empty too, anyone who can open the socket. Others get 403; root "
	  "always may." },
	{ "allow_gids", OPT_GIDS, "", 0, 0, OFF(allow_gids),
	  "Groups (names or gids) whose members' requests are served "
	  "(primary or supplementary group of the caller)." },
	{ "deny_private", OPT_BOOL, "no", 0, 1, OFF(deny_private),
	  "Refuse connections to private addresses (10/8, 172.16/12, "
	  "192.168/16, 100.64/10, fc00::/7): the strict profile." },
	{ "deny_loopback", OPT_BOOL, "no", 0, 1, OFF(deny_loopback),
	  "Refuse connections to loopback addresses (127/8, ::1)." },
	{ "allow", OPT_RULES, "", 0, 0, OFF(egress),
	  "Destinations opened up: CIDRs, addresses, host names and "
	  "*.globs, each maybe with :PORT; the most specific rule wins. "
	  "Repeatable." },
	{ "deny", OPT_RULES, "", 0, 0, OFF(egress),
	  "Destinations refused, in the same forms as allow (`deny = *` with "
	  "a list of allow names makes an allow list). Repeatable." },
	{ "proxy", OPT_PROXY, "", 0, 0, OFF(proxy),
	  "Send every request through this proxy (http://, https:// or "
	  "socks5h://HOST:PORT); empty: direct. The policy judges the proxy's "
	  "address and each target's name." },
	{ "max_inflight_per_uid", OPT_NUMBER, "0", 0, 65536,
	  OFF(max_inflight_per_uid),
	  "Transfers one user may have in flight; 0: no cap but "
	  "max_inflight ([user]/[group] max_inflight overrides)." },
	{ "max_queued_per_uid", OPT_NUMBER, "0", 0, 100000000,
	  OFF(max_queued_per_uid),
	  "Unfinished requests one user may have; a batch that would pass it "
	  "gets 429 overloaded (413 if it alone is bigger); 0: no cap but "
	  "max_queued_requests." },
	{ "max_json_keys", OPT_NUMBER, "1000", 8, 1000000,
	  OFF(max_json_keys),
	  "Members one JSON object of a batch may have (the headers object "
	  "included); more is 400 invalid_json." },
	{ "drain_timeout_ms", OPT_NUMBER, "30000", 0, 86400000,
	  OFF(drain_timeout_ms),
	  "On SIGTERM, how long running batches may go on before what is "
	  "left ends with `shutdown`." },
	{ "health_listen", OPT_LISTEN, "", 0, 0, OFF(health_listen),
	  "Also serve /healthz, /readyz and /metrics over TCP on this "
	  "loopback address:port (e.g. 127.0.0.1:9180); empty: off." },
	{ "metrics_max_hosts", OPT_NUMBER, "50", 1, 10000,
	  OFF(metrics_max_hosts),
	  "Hosts named in /metrics labels; the rest are summed as "
	  "host=\"other\"." },
	{ "host_idle_s", OPT_NUMBER, "600", 1, 86400 * 30, OFF(host_idle_s),
	  "A destination host nothing has been queued for or sent to, "
	  "without a Retry-After pause or an open circuit, for this long is "
	  "forgotten (its counters join host=\"other\"); the host table "
	  "cannot grow with every name clients use." },
	{ "log_format", OPT_FORMAT, "text", 0, 1, OFF(log_format),
	  "text, or json (one object per line) for log shippers." },
	{ "api_timeout_ms", OPT_NUMBER, "60000", 100, 86400000,
	  OFF(api_timeout_ms),
	  "An API connection that stalls this long while a request is read "
	  "or a reply written is closed." },
	{ "api_request_timeout_ms", OPT_NUMBER, "30000", 100, 86400000,
	  OFF(api_request_timeout_ms),
	  "Each request (line, headers and body) must arrive whole within "
	  "this long of the connection opening or of the previous reply; "
	  "slower clients, and idle ones, are disconnected (slowloris)." },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static const struct option *
option_find(const char *name)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

/* CPUs online now; 1 if that cannot be known. */
static uint64_t
online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (uint64_t)n;
}

/* Parse a decimal with an optional K/M/G suffix into *out. */
static int
parse_number(const char *s, int allow_suffix, uint64_t *out)
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

int
idlist_has(const struct idlist *l, uint32_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->ids[i] == id)
			return 1;
	return 0;
}

/* "alice, 1001 bob": names resolved now, so a typo fails at load time. */
static const char *
parse_ids(const char *value, int groups, struct idlist *out)
{
	char *copy = xstrdup(value), *tok, *save = NULL, *end;
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

/* Check and store one value; on error returns a static reason. */
static const char *
option_apply(struct config *cfg, const struct option *o, const char *value)
{
	static char badrule[160];
	const char *why;
	char *bad;
	uint64_t v;
	char *end;
	int lvl;

	switch (o->type) {
	case OPT_PATH:
		if (value[0] != '/')
			return "must be an absolute path";
		if (strlen(value) > o->max)
			return "path too long for a Unix socket "
			    "(max 107 bytes)";
		free(*(char **)((char *)cfg + o->offset));
		*(char **)((char *)cfg + o->offset) = xstrdup(value);
		return NULL;
	case OPT_LEVEL:
		if ((lvl = log_level_parse(value)) == -1)
			return "must be one of error, warn, info, debug";
		v = (uint64_t)lvl;
		break;
	case OPT_FORMAT:
		if (strcmp(value, "text") != 0 && strcmp(value, "json") != 0)
			return "must be text or json";
		v = strcmp(value, "json") == 0;
		break;
	case OPT_UIDS:
	case OPT_GIDS:
		if ((why = parse_ids(value, o->type == OPT_GIDS,
		    (struct idlist *)((char *)cfg + o->offset))) != NULL)
			return why;
		if (o->offset == OFF(socket_group) &&
		    cfg->socket_group.n > 1)
			return "names more than one group";
		return NULL;
	case OPT_RULES:
		if (egress_add_rules(&cfg->egress, value,
		    strcmp(o->name, "allow") == 0, &why,
		    &bad) == -1) {
			snprintf(badrule, sizeof(badrule), "rule \"%.64s\": %s",
			    bad, why);
			free(bad);
			return badrule;
		}
		return NULL;
	case OPT_PROXY:
		if (*value != '\0' && (why = check_proxy(value)) != NULL)
			return why;
		free(*(char **)((char *)cfg + o->offset));
		*(char **)((char *)cfg + o->offset) = xstrdup(value);
		return NULL;
	case OPT_BOOL:
		if (!strcmp(value, "yes") || !strcmp(value, "true") ||
		    !strcmp(value, "on") || !strcmp(value, "1"))
			v = 1;
		else if (!strcmp(value, "no") || !strcmp(value, "false") ||
		    !strcmp(value, "off") || !strcmp(value, "0"))
			v = 0;
		else
			return "must be yes or no";
		break;
	case OPT_LISTEN:
		if (*value != '\0' && !loopback_listen(value))
			return "must be empty or a loopback address and port "
			    "such as 127.0.0.1:9180 or [::1]:9180";
		free(*(char **)((char *)cfg + o->offset));
		*(char **)((char *)cfg + o->offset) = xstrdup(value);
		return NULL;
	case OPT_MODE:
		errno = 0;
		v = strtoull(value, &end, 8);
		if (*value == '\0' || *end != '\0' || errno != 0 ||
		    v > o->max)
			return "must be an octal mode such as 0660";
		break;
	case OPT_THREADS:
		if (strcmp(value, "auto") == 0) {
			v = online_cpus() - 1;	/* main loop + v */
			v = v > o->max ? o->max : v;
			break;
		}
		/* FALLTHROUGH */
	case OPT_NUMBER:
	case OPT_SIZE:
		if (parse_number(value, o->type == OPT_SIZE, &v) == -1)
			return o->type == OPT_SIZE ? "must be a size in "
			    "bytes (suffix K, M or G allowed)" :
			    o->type == OPT_THREADS ? "must be a number of "
			    "threads or auto" :
			    "must be a non-negative integer";
		if (v < o->min || v > o->max)
			return "out of range";
		break;
	default:
		fatalx("option %s: bad type", o->name);
	}
	*(uint64_t *)((char *)cfg + o->offset) = v;
	return NULL;
}

/* Settings computed from options. */
static void
derive(struct config *cfg)
{
	cfg->egress.deny_private = cfg->deny_private != 0;
	cfg->egress.deny_loopback = cfg->deny_loopback != 0;
	cfg->egress.builtin = 1;
}

void
config_defaults(struct config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NOPTIONS; i++)
		if (option_apply(cfg, &options[i], options[i].defval) != NULL)
			fatalx("default of %s is invalid", options[i].name);
	derive(cfg);
}

int
config_set(struct config *cfg, const char *key, const char *value,
    char **cause)
{
	const struct option *o;
	const char *why;

	if ((o = option_find(key)) == NULL) {
		xasprintf(cause, "%s: unknown key", key);
		return -1;
	}
	if ((why = option_apply(cfg, o, value)) != NULL) {
		if (o->type == OPT_NUMBER || o->type == OPT_SIZE)
			xasprintf(cause, "%s: \"%s\" %s (%" PRIu64 "..%" PRIu64
			    ")", key, value, why, o->min, o->max);
		else
			xasprintf(cause, "%s: \"%s\" %s", key, value, why);
		return -1;
	}
	return 0;
}

/* State shared between the line-counting reader and the inih handler. */
struct load_ctx {
	struct config	*cfg;
	const char	*path;
	FILE		*fp;
	int		 lineno;	/* line the parser is on */
	int		 at_bol;	/* last chunk ended a line */
	char		*cause;		/* first error, owned */
	int		 lines[NOPTIONS];	/* where each key was set */
	char		*section;	/* the last host section title seen */
	struct host_rule *rule;		/* its rule, if a [host] */
	struct client_rule *client;	/* or if a [user] or [group] */
	int		 title_line;	/* line of the last [title] */
};

/* A new [host NAME] section: add its rule (same name twice is an error). */
static int
host_section(struct load_ctx *ctx, const char *title, char **why)
{
	struct config *cfg = ctx->cfg;
	struct host_rule r;
	const char *reason;
	size_t i;
	int rc;

	if ((rc = hostrule_parse_title(title, &r, &reason)) == 1) {
		xasprintf(why, "unknown section [%s]", title);
		return -1;
	}
	if (rc == -1) {
		xasprintf(why, "[%s]: %s", title, reason);
		return -1;
	}
	for (i = 0; i < cfg->nhosts; i++)
		if (strcmp(cfg->hosts[i].name, r.name) == 0 &&
		    cfg->hosts[i].wildcard == r.wildcard &&
		    cfg->hosts[i].port == r.port) {
			xasprintf(why, "[%s]: the same host as the section "
			    "at line %d", title, cfg->hosts[i].line);
			hostrule_clear(&r);
			return -1;
		}
	r.line = ctx->title_line;
	cfg->hosts = xreallocarray(cfg->hosts, cfg->nhosts + 1,
	    sizeof(*cfg->hosts));
	cfg->hosts[cfg->nhosts] = r;
	ctx->rule = &cfg->hosts[cfg->nhosts++];
	return 0;
}

/* A new [user NAME] or [group NAME] section (each name once). */
static int
client_section(struct load_ctx *ctx, const char *title, char **why)
{
	struct config *cfg = ctx->cfg;
	struct client_rule r;
	const char *reason;
	size_t i;
	int rc;

	if ((rc = clientrule_parse_title(title, &r, &reason)) == 1)
		return 1;
	if (rc == -1) {
		xasprintf(why, "[%s]: %s", title, reason);
		return -1;
	}
	for (i = 0; i < cfg->nclients; i++)
		if (cfg->clients[i].group == r.group &&
		    cfg->clients[i].id == r.id) {
			xasprintf(why, "[%s]: the same %s as the section at "
			    "line %d", title, r.group ? "group" : "user",
			    cfg->clients[i].line);
			clientrule_clear(&r);
			return -1;
		}
	r.line = ctx->title_line;
	cfg->clients = xreallocarray(cfg->clients, cfg->nclients + 1,
	    sizeof(*cfg->clients));
	cfg->clients[cfg->nclients] = r;
	ctx->client = &cfg->clients[cfg->nclients++];
	return 0;
}

/* One key of a [host], [user] or [group] section. */
static void
section_key(struct load_ctx *ctx, const char *section, const char *name,
    const char *value, char **why)
{
	const char *reason = NULL;
	char *reason_owned;
	int rc;

	if (ctx->section == NULL) {	/* the first key of a section */
		ctx->section = xstrdup(section);
		ctx->rule = NULL;
		ctx->client = NULL;
		if ((rc = client_section(ctx, section, &reason_owned)) == 1)
			rc = host_section(ctx, section, &reason_owned);
		if (rc == -1) {
			xasprintf(why, "%s: %s", name, reason_owned);
			free(reason_owned);
			return;
		}
	}
	if (ctx->rule != NULL &&
	    hostrule_set(ctx->rule, name, value, &reason) == -1)
		xasprintf(why, "%s: \"%s\" %s", name, value, reason);
	else if (ctx->client != NULL &&
	    clientrule_set(ctx->client, name, value, &reason) == -1)
		xasprintf(why, "%s: \"%s\" %s", name, value, reason);
}

/*
 * A [title] line: remember where it is, and refuse a bad title even when
 * the section has no keys (inih only reports sections through their keys).
 */
static void
check_title(struct load_ctx *ctx, const char *line)
{
	const char *why = NULL, *end;
	struct client_rule cr;
	struct host_rule r;
	char *title;
	int rc;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != '[' || (end = strchr(line, ']')) == NULL)
		return;
	ctx->title_line = ctx->lineno;
	title = xstrndup(line + 1, (size_t)(end - line - 1));
	if (strcmp(title, "fanoutd") != 0 && ctx->cause == NULL) {
		/* 1: not such a section at all ("hostx"): unknown */
		if ((rc = clientrule_parse_title(title, &cr, &why)) == 0)
			clientrule_clear(&cr);
		else if (rc == 1 &&
		    (rc = hostrule_parse_title(title, &r, &why)) == 0)
			hostrule_clear(&r);
		else if (rc == -1)
			xasprintf(&ctx->cause, "%s:%d: [%s]: %s", ctx->path,
			    ctx->lineno, title, why);
		else
			xasprintf(&ctx->cause, "%s:%d: unknown section [%s]",
			    ctx->path, ctx->lineno, title);
	}
	free(title);
	free(ctx->section);	/* a new section starts, even a repeat */
	ctx->section = NULL;
}

/* fgets() that counts lines, so the handler can name the line it is on. */
static char *
counting_reader(char *str, int num, void *arg)
{
	struct load_ctx *ctx = arg;
	char *s;

	if ((s = fgets(str, num, ctx->fp)) == NULL)
		return NULL;
	if (ctx->at_bol) {
		ctx->lineno++;
		check_title(ctx, s);
	}
	ctx->at_bol = strchr(s, '\n') != NULL;
	return s;
}

static int
load_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct load_ctx *ctx = arg;
	char *why = NULL;

	if (ctx->cause != NULL)
		return 0;
	if (*section == '\0')
		xasprintf(&why, "%s: key outside any section (put it under "
		    "[fanoutd])", name);
	else if (strcmp(section, "fanoutd") != 0)
		section_key(ctx, section, name, value, &why);
	else if (config_set(ctx->cfg, name, value, &why) == 0)
		ctx->lines[option_find(name) - options] = ctx->lineno;
	if (why == NULL)
		return 1;
	xasprintf(&ctx->cause, "%s:%d: %s", ctx->path, ctx->lineno, why);
	free(why);
	return 0;
}

/* Defaults a request inherits may not exceed what a request may ask for. */
static const struct {
	const char	*key, *cap;
} caps[] = {
	{ "default_timeout_ms", "max_timeout_ms" },
	{ "default_connect_timeout_ms", "max_timeout_ms" },
	{ "default_max_response_bytes", "max_response_bytes_limit" },
	{ "stream_low_water", "stream_high_water" },
};

static uint64_t
value_of(const struct config *cfg, const char *key)
{
	return *(const uint64_t *)((const char *)cfg +
	    option_find(key)->offset);
}

static int
check_caps(const struct config *cfg, const struct load_ctx *ctx,
    char **cause)
{
	const char *key;
	size_t i;
	int line;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (value_of(cfg, caps[i].key) <= value_of(cfg, caps[i].cap))
			continue;
		line = ctx->lines[option_find(caps[i].key) - options];
		key = caps[i].key;
		if (line == 0) {
			line = ctx->lines[option_find(caps[i].cap) - options];
			key = caps[i].cap;
		}
		xasprintf(cause, "%s:%d: %s: %s (%" PRIu64 ") is more than "
		    "%s (%" PRIu64 ")", ctx->path, line, key, caps[i].key,
		    value_of(cfg, caps[i].key), caps[i].cap,
		    value_of(cfg, caps[i].cap));
		return -1;
	}
	return 0;
}

int
config_load(struct config *cfg, const char *path, char **cause)
{
	struct load_ctx ctx = { .cfg = cfg, .path = path, .at_bol = 1 };
	int rc;

	if ((ctx.fp = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = ini_parse_stream(counting_reader, &ctx, load_handler, &ctx);
	fclose(ctx.fp);
	free(ctx.section);
	if (ctx.cause != NULL) {
		*cause = ctx.cause;
		return -1;
	}
	if (rc != 0) {
		xasprintf(cause, "%s:%d: syntax error (expected [section] or "
		    "key = value)", path, rc);
		return -1;
	}
	derive(cfg);
	return check_caps(cfg, &ctx, cause);
}

void
config_clear(struct config *cfg)
{
	size_t i;

	free(cfg->socket);
	cfg->socket = NULL;
	free(cfg->health_listen);
	cfg->health_listen = NULL;
	free(cfg->socket_group.ids);
	free(cfg->allow_uids.ids);
	free(cfg->allow_gids.ids);
	memset(&cfg->allow_uids, 0, sizeof(cfg->allow_uids));
	memset(&cfg->socket_group, 0, sizeof(cfg->socket_group));
	memset(&cfg->allow_gids, 0, sizeof(cfg->allow_gids));
	for (i = 0; i < cfg->nhosts; i++)
		hostrule_clear(&cfg->hosts[i]);
	free(cfg->hosts);
	cfg->hosts = NULL;
	cfg->nhosts = 0;
	for (i = 0; i < cfg->nclients; i++)
		clientrule_clear(&cfg->clients[i]);
	free(cfg->clients);
	cfg->clients = NULL;
	cfg->nclients = 0;
	egress_clear(&cfg->egress);
	free(cfg->proxy);
	cfg->proxy = NULL;
}

/* The rules of one kind ("allow" or "deny") as written, space separated. */
static void
format_rules(const struct egress_policy *p, int allow, char *buf,
    size_t len)
{
	size_t i, n = 0, skip = allow ? 6 : 5;	/* "allow " or "deny " */

	buf[0] = '\0';
	for (i = 0; i < p->nrules && n < len; i++)
		if (p->rules[i].allow == allow)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
			    n ? " " : "", p->rules[i].text + skip);
}

static void
format_ids(const struct idlist *l, char *buf, size_t len)
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%u", i ? " " : "",
		    (unsigned)l->ids[i]);
}

/* Text form of one option's current value. */
static void
option_format(const struct config *cfg, const struct option *o, char *buf,
    size_t len)
{
	uint64_t v = *(const uint64_t *)((const char *)cfg + o->offset);

	switch (o->type) {
	case OPT_RULES:
		format_rules(&cfg->egress, strcmp(o->name, "allow") == 0, buf,
		    len);
		break;
	case OPT_PATH:
	case OPT_LISTEN:
	case OPT_PROXY:
		snprintf(buf, len, "%s",
		    *(char *const *)((const char *)cfg + o->offset));
		break;
	case OPT_FORMAT:
		snprintf(buf, len, "%s", v ? "json" : "text");
		break;
	case OPT_BOOL:
		snprintf(buf, len, "%s", v ? "yes" : "no");
		break;
	case OPT_UIDS:
	case OPT_GIDS:
		format_ids((const struct idlist *)((const char *)cfg +
		    o->offset), buf, len);
		break;
	case OPT_LEVEL:
		snprintf(buf, len, "%s", log_level_name((enum log_level)v));
		break;
	case OPT_MODE:
		snprintf(buf, len, "0%03" PRIo64, v);
		break;
	default:
		snprintf(buf, len, "%" PRIu64, v);
		break;
	}
}

/* [user] and [group] sections, for GET /v1/config. */
static json_t *
clients_json(const struct config *cfg)
{
	const struct client_rule *c;
	json_t *a = json_array(), *o;
	char buf[4096];
	size_t i;

	for (i = 0; i < cfg->nclients; i++) {
		c = &cfg->clients[i];
		o = json_pack("{s:s,s:i,s:I,s:I}", "section", c->title,
		    "line", c->line, "max_inflight",
		    (json_int_t)c->max_inflight, "max_queued",
		    (json_int_t)c->max_queued);
		format_rules(&c->policy, 1, buf, sizeof(buf));
		json_object_set_new(o, "allow", json_string(buf));
		format_rules(&c->policy, 0, buf, sizeof(buf));
		json_object_set_new(o, "deny", json_string(buf));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *
config_json(const struct config *cfg)
{
	json_t *o = json_object(), *hosts = json_array(), *h;
	const struct option *opt;
	char buf[4096];
	size_t i;

	for (i = 0; i < NOPTIONS; i++) {
		opt = &options[i];
		option_format(cfg, opt, buf, sizeof(buf));
		if (opt->type == OPT_NUMBER || opt->type == OPT_SIZE ||
		    opt->type == OPT_THREADS)
			json_object_set_new(o, opt->name, json_integer(
			    (json_int_t)*(const uint64_t *)((const char *)cfg +
			    opt->offset)));
		else
			json_object_set_new(o, opt->name, json_string(buf));
	}
	for (i = 0; i < cfg->nhosts; i++) {
		h = json_pack("{s:s,s:i,s:i}", "name", cfg->hosts[i].name,
		    "port", (int)cfg->hosts[i].port, "line",
		    cfg->hosts[i].line);
		if (cfg->hosts[i].wildcard)
			json_object_set_new(h, "name", json_pack("s+",
			    "*", cfg->hosts[i].name));
		if (cfg->hosts[i].rate > 0) {
			json_object_set_new(h, "rate_per_second",
			    json_real(cfg->hosts[i].rate));
			json_object_set_new(h, "burst", json_real(
			    cfg->hosts[i].burst ? cfg->hosts[i].burst : 1));
		}
		if (cfg->hosts[i].inflight)
			json_object_set_new(h, "inflight", json_integer(
			    (json_int_t)cfg->hosts[i].inflight));
		json_array_append_new(hosts, h);
	}
	json_object_set_new(o, "hosts", hosts);
	json_object_set_new(o, "clients", clients_json(cfg));
	return o;
}

void
config_print(const struct config *cfg, FILE *fp)
{
	char buf[4096];
	size_t i;

	for (i = 0; i < NOPTIONS; i++) {
		option_format(cfg, &options[i], buf, sizeof(buf));
		fprintf(fp, "%s = %s\n", options[i].name, buf);
	}
}

const char *
config_option_name(size_t i)
{
	return i < NOPTIONS ? options[i].name : NULL;
}

const char *
config_option_default(size_t i)
{
	return i < NOPTIONS ? options[i].defval : NULL;
}
