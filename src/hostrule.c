/*
 * hostrule.c: limits configured per destination.
 *
 * A [host NAME] section names a host, an address, or a wildcard
 * "*.example.com", optionally with ":PORT"; without a port it covers every
 * port. Names are made canonical as origins are (origin.c), so
 * `[host API.example.com.]` is api.example.com. An IPv6 address is
 * written bare ("[host ::1]": INI titles end at the first "]", so neither
 * brackets nor a port can be used there). A
 * destination takes the most specific section that matches it, so
 * `[host api.example.com:443]` beats `[host api.example.com]` beats
 * `[host *.example.com]`.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "breaker.h"
#include "fleet_slots.h"
#include "hostrule.h"
#include "option.h"
#include "origin.h"
#include "ratelimit.h"
#include "tlsconf.h"
#include "xmalloc.h"

/* Split "name[:port]" or "[v6][:port]" into r; returns -1 with *why. */
static int
parse_name(char *s, struct host_rule *r, const char **why)
{
	char *colon = NULL, *end, name[ORIGIN_HOST_MAX + 1];
	unsigned long port;
	int ipv6 = 0;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return (*why = "unterminated [IPv6 address]", -1);
		*end = '\0';
		s++;
		ipv6 = 1;
		if (end[1] == ':')
			colon = end + 1;
		else if (end[1] != '\0')
			return (*why = "junk after ]", -1);
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL) {
		ipv6 = 1;	/* a bare IPv6 address: no port possible */
		colon = NULL;
	} else if (colon != NULL)
		*colon = '\0';
	if (colon != NULL) {
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || port == 0 ||
		    port > 65535 || errno != 0)
			return (*why = "port must be 1..65535", -1);
		r->port = (unsigned)port;
	}
	if (origin_pattern(s, ipv6, name, sizeof(name), &r->wildcard,
	    why) == -1)
		return (*why = *why ? *why : "bad host name or address", -1);
	r->name = xstrdup(name);
	return 0;
}

int
hostrule_parse_title(const char *title, struct host_rule *r,
    const char **why)
{
	char *copy;
	int rc;

	if (strncmp(title, "host", 4) != 0 ||
	    (title[4] != ' ' && title[4] != '\t'))
		return 1;
	title += 5;
	while (*title == ' ' || *title == '\t')
		title++;
	memset(r, 0, sizeof(*r));
	r->http2 = 1;
	breaker_on_default(&r->breaker_on);
	copy = xstrdup(title);
	rc = parse_name(copy, r, why);
	free(copy);
	if (rc == -1)
		hostrule_clear(r);
	return rc;
}

/* A key of a [host] section and what sets it. */
struct hostkey {
	const char	*name;
	int		(*set)(struct host_rule *, const struct hostkey *,
			    const char *, char *, size_t);
};

static int
set_rate(struct host_rule *r, const struct hostkey *k, const char *value,
    char *why, size_t len)
{
	const char *reason;

	if (ratelimit_parse(value, k->name[0] == 'r' ? &r->rate :
	    &r->fleet_rate, &reason) == -1) {
		snprintf(why, len, "%s", reason);
		return -1;
	}
	return 0;
}

static int
set_burst(struct host_rule *r, const struct hostkey *k, const char *value,
    char *why, size_t len)
{
	char *end;
	double d;

	d = strtod(value, &end);
	if (end == value || *end != '\0' || !(d >= 1 && d <= 1e6)) {
		snprintf(why, len, "must be 1..1000000");
		return -1;
	}
	*(k->name[0] == 'b' ? &r->burst : &r->fleet_burst) = d;
	return 0;
}

static int
set_inflight(struct host_rule *r, const struct hostkey *k,
    const char *value, char *why, size_t len)
{
	uint64_t max = k->name[0] == 'i' ? 65536 : FLEET_INFLIGHT_MAX;
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (!isdigit((unsigned char)*value) || *end != '\0' || errno != 0 ||
	    n < 1 || n > max) {
		snprintf(why, len, "must be an integer 1..%llu",
		    (unsigned long long)max);
		return -1;
	}
	*(k->name[0] == 'i' ? &r->inflight : &r->fleet_inflight) = n;
	return 0;
}

static int
set_http2(struct host_rule *r, const struct hostkey *k, const char *value,
    char *why, size_t len)
{
	(void)k;
	if (option_parse_bool(value, &r->http2) == -1) {
		snprintf(why, len, "must be yes or no");
		return -1;
	}
	return 0;
}

static int
set_breaker_on(struct host_rule *r, const struct hostkey *k,
    const char *value, char *why, size_t len)
{
	(void)k;
	if (breaker_on_parse(value, &r->breaker_on, why, len) == -1)
		return -1;
	r->has_breaker_on = 1;
	return 0;
}

/* A TLS key: the section's snapshot holds it (made on the first). */
static int
set_tls(struct host_rule *r, const struct hostkey *k, const char *value,
    char *why, size_t len)
{
	if (r->tls == NULL)
		r->tls = tlsconf_new();
	return tlsconf_set(r->tls, k->name, value, why, len) == 0 ? 0 : -1;
}

/* Every key of a [host] section. */
static const struct hostkey hostkeys[] = {
	{ "rate",		set_rate },
	{ "burst",		set_burst },
	{ "inflight",		set_inflight },
	{ "fleet_rate",		set_rate },
	{ "fleet_burst",	set_burst },
	{ "fleet_inflight",	set_inflight },
	{ "http2",		set_http2 },
	{ "breaker_on",		set_breaker_on },
	{ "ca_file",		set_tls },
	{ "ca_only",		set_tls },
	{ "client_cert",	set_tls },
	{ "client_key",		set_tls },
	{ "pinned_pubkey",	set_tls },
	{ "tls_min",		set_tls },
};

int
hostrule_set(struct host_rule *r, const char *key, const char *value,
    char *why, size_t len)
{
	size_t i, n;

	for (i = 0; i < sizeof(hostkeys) / sizeof(hostkeys[0]); i++)
		if (strcmp(key, hostkeys[i].name) == 0)
			return hostkeys[i].set(r, &hostkeys[i], value, why,
			    len);
	n = (size_t)snprintf(why, len, "unknown key in a [host] section (");
	for (i = 0; i < sizeof(hostkeys) / sizeof(hostkeys[0]) && n < len;
	    i++)
		n += (size_t)snprintf(why + n, len - n, "%s%s", i ? ", " : "",
		    hostkeys[i].name);
	if (n < len)
		snprintf(why + n, len - n, ")");
	return -1;
}

int
hostrule_check(const struct host_rule *r, char *why, size_t len)
{
	return r->tls != NULL ? tlsconf_check(r->tls, why, len) : 0;
}

void
hostrule_clear(struct host_rule *r)
{
	free(r->name);
	r->name = NULL;
	tlsconf_unref(r->tls);	/* transfers keep theirs */
	r->tls = NULL;
}

/* How well r fits; 0: not at all. */
static size_t
score(const struct host_rule *r, const char *host, unsigned port)
{
	size_t hl = strlen(host), nl = strlen(r->name);

	if (r->port != 0 && r->port != port)
		return 0;
	if (!r->wildcard)
		return strcmp(r->name, host) == 0 ?
		    (r->port ? 4000000 : 3000000) : 0;
	if (hl <= nl || strcmp(host + hl - nl, r->name) != 0)
		return 0;
	return (r->port ? 2000000 : 1000000) + nl;
}

const struct host_rule *
hostrule_match(const struct host_rule *rules, size_t n, const char *host,
    unsigned port)
{
	const struct host_rule *best = NULL;
	size_t i, s, bests = 0;

	for (i = 0; i < n; i++)
		if ((s = score(&rules[i], host, port)) > bests) {
			best = &rules[i];
			bests = s;
		}
	return best;
}
