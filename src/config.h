/*
 * config.h: fanoutd's settings, their one option table, and the INI loader.
 */
#ifndef FANOUTD_CONFIG_H
#define FANOUTD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clientrule.h"
#include "egress.h"
#include "hostrule.h"

#define CONFIG_DEFAULT_SOCKET	"/run/fanoutd/fanoutd.sock"

/* A list of user or group ids (allow_uids, allow_gids). */
struct idlist {
	uint32_t	*ids;
	size_t		 n;
};

/* Is id in the list? */
int	idlist_has(const struct idlist *l, uint32_t id);

struct config {
	char		*socket;		/* Unix socket path */
	uint64_t	 socket_mode;		/* chmod of the socket */
	uint64_t	 log_level;		/* enum log_level */
	uint64_t	 max_inflight;		/* daemon-wide */
	uint64_t	 workers;		/* transfer threads */
	uint64_t	 max_batch_requests;	/* requests in one batch */
	uint64_t	 max_request_bytes;	/* API request body */
	uint64_t	 default_timeout_ms;
	uint64_t	 default_connect_timeout_ms;
	uint64_t	 default_max_response_bytes;
	uint64_t	 max_response_bytes_limit;	/* its cap */
	uint64_t	 max_timeout_ms;		/* cap on timeout_ms */
	uint64_t	 max_url_bytes;
	uint64_t	 max_headers;
	uint64_t	 max_header_bytes;
	uint64_t	 max_queued_requests;
	uint64_t	 max_batches_per_uid;
	uint64_t	 api_max_connections;
	uint64_t	 api_timeout_ms;
	uint64_t	 api_request_timeout_ms;
	uint64_t	 host_inflight;		/* per host without a rule */
	uint64_t	 max_retries;
	uint64_t	 max_retry_after_ms;
	uint64_t	 retry_budget_percent;
	uint64_t	 retry_budget_min;
	uint64_t	 breaker_failures;	/* 0: no breaker */
	uint64_t	 breaker_open_ms;
	uint64_t	 max_redirects_limit;
	uint64_t	 result_ttl_s;
	uint64_t	 max_retained_bytes;
	uint64_t	 stream_high_water;
	uint64_t	 stream_low_water;
	struct idlist	 socket_group;		/* at most one gid */
	struct idlist	 allow_uids;		/* empty: anyone */
	struct idlist	 allow_gids;
	uint64_t	 deny_private;		/* egress policy */
	uint64_t	 deny_loopback;
	uint64_t	 drain_timeout_ms;
	char		*health_listen;		/* "" or ADDR:PORT */
	uint64_t	 metrics_max_hosts;
	uint64_t	 host_idle_s;		/* unused hosts are freed */
	uint64_t	 log_format;		/* 0 text, 1 json */
	char		*proxy;			/* "" or scheme://host:port */
	char		*redis;			/* "" or unix:/p, tcp://... */
	char		*redis_prefix;
	uint64_t	 redis_timeout_ms;
	char		*redis_user;		/* "": the default user */
	char		*redis_password_file;	/* "": no AUTH */
	char		*redis_password;	/* read from it; NULL: none */
	uint64_t	 fleet_lease_ms;
	uint64_t	 max_inflight_per_uid;	/* 0: no cap of its own */
	uint64_t	 max_queued_per_uid;
	uint64_t	 max_json_keys;		/* members of one object */
	uint64_t	 max_response_headers;	/* kept per result */
	uint64_t	 max_api_memory;	/* bodies read and parsed */
	uint64_t	 breaker_min_timeout_ms; /* shorter: not counted */

	struct egress_policy egress;		/* deny_private, allow, ... */
	struct host_rule *hosts;		/* [host NAME] sections */
	size_t		 nhosts;
	struct client_rule *clients;		/* [user], [group] sections */
	size_t		 nclients;
};

/* Fill cfg with the table's defaults. Caller frees with config_clear(). */
void	config_defaults(struct config *cfg);

/*
 * Read an INI file over the defaults already in cfg. On error returns -1
 * and sets *cause to "FILE:LINE: KEY: why" (caller frees); cfg may then be
 * partly updated, so load into a scratch copy when the old one must survive.
 */
int	config_load(struct config *cfg, const char *path, char **cause);

/*
 * Set one option by name from its text form, as the loader does; used for
 * command-line overrides. Returns -1 with *cause ("KEY: why") on error.
 */
int	config_set(struct config *cfg, const char *key, const char *value,
	    char **cause);

/* Free what cfg owns (strings, host rules); the struct is the caller's. */
void	config_clear(struct config *cfg);

/* The effective configuration as JSON (caller decrefs). */
struct json_t;
struct json_t *config_json(const struct config *cfg);

/* Print every option as "key = value" lines (effective configuration). */
void	config_print(const struct config *cfg, FILE *fp);

/* Name and default (text) of the i-th option, or NULL past the end. */
const char *config_option_name(size_t i);
const char *config_option_default(size_t i);

#endif
