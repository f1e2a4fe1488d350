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
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fleet_slots.h"
#include "hostrule.h"
#include "origin.h"
#include "ratelimit.h"
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
	copy = xstrdup(title);
	rc = parse_name(copy, r, why);
	free(copy);
	if (rc == -1)
		hostrule_clear(r);
	return rc;
}

int
hostrule_set(struct host_rule *r, const char *key, const char *value,
    const char **why)
{
	unsigned long long n;
	char *end;
	double d;

	if (strcmp(key, "rate") == 0)
		return ratelimit_parse(value, &r->rate, why);
	if (strcmp(key, "fleet_rate") == 0)
		return ratelimit_parse(value, &r->fleet_rate, why);
	if (strcmp(key, "burst") == 0 || strcmp(key, "fleet_burst") == 0) {
		d = strtod(value, &end);
		if (end == value || *end != '\0' || !(d >= 1 && d <= 1e6))
			return (*why = "must be 1..1000000", -1);
		*(key[0] == 'b' ? &r->burst : &r->fleet_burst) = d;
		return 0;
	}
	if (strcmp(key, "inflight") == 0 ||
	    strcmp(key, "fleet_inflight") == 0) {
		errno = 0;
		n = strtoull(value, &end, 10);
		if (key[0] == 'i' && (!isdigit((unsigned char)*value) ||
		    *end != '\0' || errno != 0 || n < 1 || n > 65536))
			return (*why = "must be an integer 1..65536", -1);
		if (key[0] == 'f' && (!isdigit((unsigned char)*value) ||
		    *end != '\0' || errno != 0 || n < 1 ||
		    n > FLEET_INFLIGHT_MAX))
			return (*why = "must be an integer 1..10000", -1);
		*(key[0] == 'i' ? &r->inflight : &r->fleet_inflight) = n;
		return 0;
	}
	*why = "unknown key in a [host] section (rate, burst, inflight, "
	    "fleet_rate, fleet_burst, fleet_inflight)";
	return -1;
}

void
hostrule_clear(struct host_rule *r)
{
	free(r->name);
	r->name = NULL;
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
