/*
 * origin.h: the one spelling of a destination that limits, rules,
 * metrics and breakers key on.
 */
#ifndef FANOUTD_ORIGIN_H
#define FANOUTD_ORIGIN_H

#include <stddef.h>

/* A DNS name is at most 253 bytes, an IPv6 address's text 45. */
#define ORIGIN_HOST_MAX	256

/* An origin split back into its parts. */
struct origin_parts {
	char		 scheme[8];		/* "http" or "https" */
	char		 host[ORIGIN_HOST_MAX];	/* IPv6 without brackets */
	unsigned	 port;
};

/*
 * Write the canonical form of host (n bytes, not NUL-terminated; an IPv6
 * address with or without brackets, a zone id dropped) to out: names in
 * lower case with one trailing dot removed, internationalised names in
 * their punycode form (UTS #46, as libcurl converts them), IPv4 and IPv6
 * addresses as inet_ntop(3) writes them. Returns 0, or -1 with a static
 * *why when host is empty, too long or not a valid name or address.
 */
int	origin_host(const char *host, size_t n, char *out, size_t len,
	    const char **why);

/*
 * The origin "scheme://host:port" (IPv6 hosts in brackets) of a URL's
 * scheme, host and port, each as a URL parser gave them; port 0 is the
 * scheme's default. Only http and https are origins. Returns an allocated
 * string, or NULL with a static *why.
 */
char	*origin_make(const char *scheme, const char *host, unsigned port,
	    const char **why);

/*
 * A host as configuration names it ([host] titles, allow/deny rules): a
 * name, an IPv6 address without brackets when ipv6, or "*.suffix", into
 * out as origin_host() spells it, a wildcard as ".suffix" with *wildcard
 * set. Names may hold letters, digits, '-', '.', '_' and UTF-8. -1 when
 * s is none of these; *why is then set for a bad wildcard only.
 */
int	origin_pattern(const char *s, int ipv6, char *out, size_t len,
	    int *wildcard, const char **why);

/* Split an origin made by origin_make(). Returns 0, or -1 if it is not. */
int	origin_split(const char *origin, struct origin_parts *o);

#endif
