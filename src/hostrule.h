/*
 * hostrule.h: [host NAME] sections: per-destination limits and matching.
 */
#ifndef FANOUTD_HOSTRULE_H
#define FANOUTD_HOSTRULE_H

#include <stddef.h>
#include <stdint.h>

#include "retry.h"

struct tlsconf;

struct host_rule {
	char		*name;		/* host, address or .suffix */
	unsigned	 port;		/* 0: every port */
	int		 wildcard;	/* name is "*.suffix" */
	int		 line;		/* where the section starts */
	double		 rate;		/* requests per second; 0: unlimited */
	double		 burst;		/* 0: 1 */
	uint64_t	 inflight;	/* 0: the daemon's host_inflight */
	double		 fleet_rate;	/* across the fleet (Redis); 0: none */
	double		 fleet_burst;	/* 0: 1 */
	uint64_t	 fleet_inflight; /* across the fleet; 0: none */
	int		 http2;		/* offer h2 by ALPN (default yes) */
	struct retry_on	 breaker_on;	/* what counts against the circuit */
	int		 has_breaker_on; /* set in the section */
	struct tlsconf	*tls;		/* a reference; NULL: the defaults */
};

/*
 * Parse a section title "host NAME[:PORT]" into r (r->name is allocated:
 * free with hostrule_clear()). Returns 0, 1 when the title is not a host
 * section, or -1 with a static reason in *why.
 */
int	hostrule_parse_title(const char *title, struct host_rule *r,
	    const char **why);

/*
 * Set a key of the section (hostrule.c's table: limits, http2, breaker_on,
 * the TLS keys, whose files are read now) from text. -1 with why[len] on
 * an unknown key or a bad value.
 */
int	hostrule_set(struct host_rule *r, const char *key, const char *value,
	    char *why, size_t len);

/* The section is complete: keys that go together. -1 with why[len]. */
int	hostrule_check(const struct host_rule *r, char *why, size_t len);

/* Free what r owns. */
void	hostrule_clear(struct host_rule *r);

/*
 * The most specific rule for host (lower-case, IPv6 without brackets) and
 * port: exact name and port, then exact name, then the longest wildcard
 * with the port, then the longest wildcard. NULL when none applies.
 */
const struct host_rule *hostrule_match(const struct host_rule *rules,
	    size_t n, const char *host, unsigned port);

#endif
