/*
 * egress.c: the address policy every outbound connection passes.
 *
 * The check runs on the address libcurl is about to connect to (its
 * open-socket callback, for every address tried and every redirect hop),
 * never on the host name a client wrote: names can resolve anywhere (DNS
 * rebinding) and addresses can be spelled many ways (0x7f.1, ::ffff:a.b.c.d).
 * Some ranges are never reachable (link-local and cloud metadata, "this
 * network", multicast, reserved, documentation); private and loopback
 * ranges are reachable unless the configuration denies them, because the
 * local callers can reach them anyway. IPv6 forms that carry an IPv4
 * address (mapped, NAT64, 6to4, Teredo) are judged by that address.
 *
 * On top come the configured allow and deny rules: CIDRs and host-name
 * globs, each maybe with a port, and the most specific matching rule wins:
 * a name rule (for a URL whose host is a name) over an address rule, an
 * exact name over a glob, a longer glob or prefix over a shorter one, a
 * rule with a port over one without, deny over allow on a tie. The
 * built-in ranges are opened only by an address allow rule at least as
 * specific as they are (`allow = 169.254.169.254/32` opens the metadata
 * address, `allow = 0.0.0.0/0` opens nothing, and no name rule does: a
 * name can resolve anywhere).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"
#include "origin.h"
#include "xmalloc.h"

enum class { ALLOW, DENY, PRIVATE, LOOPBACK };

struct range4 {
	uint32_t	 net;
	int		 bits;
	enum class	 cls;
	const char	*name;
};

static const struct range4 ranges4[] = {
	{ 0x00000000, 8, DENY, "\"this network\" 0.0.0.0/8" },
	{ 0x0a000000, 8, PRIVATE, "private 10.0.0.0/8" },
	{ 0x64400000, 10, PRIVATE, "shared address space 100.64.0.0/10" },
	{ 0x7f000000, 8, LOOPBACK, "loopback 127.0.0.0/8" },
	{ 0xa9fe0000, 16, DENY, "link-local 169.254.0.0/16 (cloud metadata)" },
	{ 0xac100000, 12, PRIVATE, "private 172.16.0.0/12" },
	{ 0xc0000000, 24, DENY, "IETF protocol assignments 192.0.0.0/24" },
	{ 0xc0000200, 24, DENY, "documentation 192.0.2.0/24" },
	{ 0xc0a80000, 16, PRIVATE, "private 192.168.0.0/16" },
	{ 0xc6120000, 15, DENY, "benchmarking 198.18.0.0/15" },
	{ 0xc6336400, 24, DENY, "documentation 198.51.100.0/24" },
	{ 0xcb007100, 24, DENY, "documentation 203.0.113.0/24" },
	{ 0xe0000000, 4, DENY, "multicast 224.0.0.0/4" },
	{ 0xf0000000, 4, DENY, "reserved 240.0.0.0/4 and broadcast" },
};

/* The built-in range of a; *bits: its prefix length as IPv6 (+96). */
static enum class
classify4(uint32_t a, const char **name, int *bits)
{
	size_t i;

	for (i = 0; i < sizeof(ranges4) / sizeof(ranges4[0]); i++)
		if ((a >> (32 - ranges4[i].bits)) ==
		    (ranges4[i].net >> (32 - ranges4[i].bits))) {
			*name = ranges4[i].name;
			*bits = 96 + ranges4[i].bits;
			return ranges4[i].cls;
		}
	*name = NULL;
	*bits = 0;
	return ALLOW;
}

static int
prefix6(const uint8_t *a, const uint8_t *p, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, p, (size_t)whole) != 0)
		return 0;
	return rest == 0 ||
	    (a[whole] >> (8 - rest)) == (p[whole] >> (8 - rest));
}

static uint32_t
v4at(const uint8_t *a, int off)
{
	return (uint32_t)a[off] << 24 | (uint32_t)a[off + 1] << 16 |
	    (uint32_t)a[off + 2] << 8 | a[off + 3];
}

/*
 * Does a carry an IPv4 address (mapped, NAT64, 6to4, Teredo)? Returns 1
 * with it in *v4.
 */
static int
embedded4(const uint8_t *a, uint32_t *v4)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t sixto4[2] = { 0x20, 0x02 };
	static const uint8_t teredo[4] = { 0x20, 0x01, 0, 0 };

	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		*v4 = v4at(a, 12);
	else if (prefix6(a, sixto4, 16))
		*v4 = v4at(a, 2);
	else if (prefix6(a, teredo, 32))	/* client address, obfuscated */
		*v4 = ~v4at(a, 12);
	else
		return 0;
	return 1;
}

/* IPv6: its own ranges, or those of the IPv4 address it carries. */
static enum class
classify6(const uint8_t *a, const char **name, int *bits)
{
	static const uint8_t zero[16] = { 0 };
	static const uint8_t fc[1] = { 0xfc }, fe80[2] = { 0xfe, 0x80 };
	static const uint8_t ff[1] = { 0xff }, doc[4] = { 0x20, 0x01, 0x0d,
	    0xb8 };
	uint32_t v4;

	if (embedded4(a, &v4))
		return classify4(v4, name, bits);
	*bits = 128;
	if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1)) {
		*name = a[15] ? "loopback ::1" : "unspecified ::";
		return a[15] ? LOOPBACK : DENY;
	}
	if (prefix6(a, fe80, 10))
		return (*bits = 10, *name = "link-local fe80::/10", DENY);
	if (prefix6(a, ff, 8))
		return (*bits = 8, *name = "multicast ff00::/8", DENY);
	if (prefix6(a, doc, 32))
		return (*bits = 32, *name = "documentation 2001:db8::/32",
		    DENY);
	if (prefix6(a, fc, 7))
		return (*bits = 7, *name = "unique local fc00::/7", PRIVATE);
	*name = NULL;
	*bits = 0;
	return ALLOW;
}

/* The address as 16 bytes (IPv4 mapped); -1 if sa is not IP. */
static int
addr16(const struct sockaddr *sa, socklen_t len, uint8_t *a, unsigned *port)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(*s4)) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(*s6)) {
		memcpy(a, s6->sin6_addr.s6_addr, 16);
		*port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

/*
 * How specifically an address rule fits a (0: not at all). The IPv4
 * address an IPv6 form carries is matched too, as for the built-in ranges.
 */
static int
addr_rank(const struct egress_rule *r, const uint8_t *a, unsigned port)
{
	uint8_t m[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint32_t v4;

	if (r->is_name || (r->port != 0 && r->port != port))
		return 0;
	if (!prefix6(a, r->addr, r->bits)) {
		if (!embedded4(a, &v4))
			return 0;
		v4 = htonl(v4);
		memcpy(m + 12, &v4, 4);
		if (!prefix6(m, r->addr, r->bits))
			return 0;
	}
	return 2 + r->bits * 4 + (r->port ? 2 : 0);	/* built-ins: 1 + */
}

/* How specifically a name rule fits host (0: not at all), as hostrule.c. */
static int
name_rank(const struct egress_rule *r, const char *host, unsigned port)
{
	size_t hl, nl;

	if (!r->is_name || (r->port != 0 && r->port != port))
		return 0;
	hl = strlen(host);
	nl = strlen(r->name);
	if (!r->wildcard)
		return strcmp(r->name, host) == 0 ?
		    (r->port ? 4000000 : 3000000) : 0;
	if (hl <= nl || strcmp(host + hl - nl, r->name) != 0)
		return 0;
	return (r->port ? 2000000 : 1000000) + (int)nl;
}

/* The best rule by rank(); on a tie, deny wins. */
static const struct egress_rule *
best_rule(const struct egress_policy *p, const char *host, const uint8_t *a,
    unsigned port, int *rank)
{
	const struct egress_rule *best = NULL, *r;
	size_t i;
	int k;

	*rank = 0;
	for (i = 0; i < p->nrules; i++) {
		r = &p->rules[i];
		k = host != NULL ? name_rank(r, host, port) :
		    addr_rank(r, a, port);
		if (k > *rank || (k > 0 && k == *rank && !r->allow)) {
			best = r;
			*rank = k;
		}
	}
	return best;
}

/*
 * The address alone: the built-in ranges refuse what they cover unless an
 * address allow rule at least as specific opens it; then the most
 * specific address rule decides, and no rule means yes. Returns 1 (yes),
 * 0 (no, by an address rule: a name rule may still say yes) or -1 (no, by
 * a built-in range: final). *why names the deciding rule (NULL: none),
 * *rule says whether it is a configured one.
 */
static int
judge_addr(const struct egress_policy *p, const uint8_t *a, unsigned port,
    const char **why, int *rule)
{
	const struct egress_rule *r;
	const char *name = NULL;
	enum class c;
	int rank, bits = 0, denied;

	r = best_rule(p, NULL, a, port, &rank);
	if (p->builtin) {
		c = classify6(a, &name, &bits);
		denied = c == DENY || (c == PRIVATE && p->deny_private) ||
		    (c == LOOPBACK && p->deny_loopback);
		if (denied && (r == NULL || !r->allow || 1 + bits * 4 > rank)) {
			*rule = r != NULL && !r->allow && rank > 1 + bits * 4;
			*why = *rule ? r->text : name;
			return -1;
		}
	}
	*rule = r != NULL;
	*why = r != NULL ? r->text : name;
	return r != NULL ? r->allow : 1;
}

int
egress_allowed(const struct egress_policy *p, const struct sockaddr *sa,
    socklen_t len, const char **why)
{
	uint8_t a[16];
	unsigned port;
	int rule;

	if (addr16(sa, len, a, &port) == -1) {
		*why = "not an IP address";
		return 0;
	}
	return judge_addr(p, a, port, why, &rule) == 1;
}

int
egress_parse_addr(const char *text, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

int
egress_allowed_text(const struct egress_policy *p, const char *addr,
    const char **why)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (egress_parse_addr(addr, &ss, &len) == -1)
		return -1;
	return egress_allowed(p, (struct sockaddr *)&ss, len, why);
}

int
egress_judge(const struct egress_policy *p, const char *host,
    unsigned port, const struct sockaddr *sa, socklen_t salen, char *why,
    size_t len)
{
	const struct egress_rule *rn = NULL;
	struct sockaddr_storage lit;
	socklen_t litlen;
	char addr[64];
	const char *name, *shown;
	uint8_t a[16];
	int rank, rule, is_name = host != NULL, ok;

	if (host != NULL && egress_parse_addr(host, &lit, &litlen) == 0) {
		is_name = 0;	/* a literal: the address rules judge it */
		if (sa == NULL) {
			((struct sockaddr_in *)&lit)->sin_port =
			    htons((uint16_t)port);
			if (lit.ss_family == AF_INET6)
				((struct sockaddr_in6 *)&lit)->sin6_port =
				    htons((uint16_t)port);
			sa = (struct sockaddr *)&lit;
			salen = litlen;
		}
	}
	if (is_name)
		rn = best_rule(p, host, NULL, port, &rank);
	if (sa != NULL) {
		if (addr16(sa, salen, a, &port) == -1) {
			snprintf(why, len, "not an IP address");
			return 0;
		}
		ok = judge_addr(p, a, port, &name, &rule);
		if (ok == -1 || (ok == 0 && rn == NULL)) {
			/* built-ins, or an address rule no name rule beats */
			if (inet_ntop(AF_INET6, a, addr, sizeof(addr)) == NULL)
				strcpy(addr, "?");
			shown = strncmp(addr, "::ffff:", 7) == 0 &&
			    strchr(addr, '.') ? addr + 7 : addr;
			if (rule)
				snprintf(why, len, "%s port %u matches \"%s\"",
				    shown, port, name);
			else
				snprintf(why, len, "%s is %s", shown, name);
			return 0;
		}
	}
	if (rn != NULL && !rn->allow) {
		snprintf(why, len, "host %s port %u matches \"%s\"", host,
		    port, rn->text);
		return 0;
	}
	return 1;
}

/* ":PORT" at colon (cut off there) into r->port. */
static int
parse_port(char *colon, struct egress_rule *r, const char **why)
{
	unsigned long port;
	char *end;

	*colon = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end != '\0' ||
	    port == 0 || port > 65535 || errno != 0)
		return (*why = "port must be 1..65535", -1);
	r->port = (unsigned)port;
	return 0;
}

/* "[v6]" or "[v6/bits]" with ":port", or "v4[/bits][:port]", or bare v6. */
static int
parse_cidr(char *s, struct egress_rule *r, const char **why)
{
	char *slash, *colon = NULL, *end;
	struct sockaddr_storage ss;
	unsigned long bits;
	unsigned dummy;
	socklen_t len;
	int v6, i;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return (*why = "unterminated [IPv6 address]", -1);
		*end = '\0';
		if (end[1] == ':')
			colon = end + 1;
		else if (end[1] != '\0')
			return (*why = "junk after ]", -1);
		s++;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') != NULL)
		colon = NULL;		/* a bare IPv6 address */
	if (colon != NULL && parse_port(colon, r, why) == -1)
		return -1;
	if ((slash = strchr(s, '/')) != NULL)
		*slash = '\0';
	if (egress_parse_addr(s, &ss, &len) == -1)
		return (*why = "not an IP address or CIDR", -1);
	v6 = ss.ss_family == AF_INET6;
	(void)addr16((struct sockaddr *)&ss, len, r->addr, &dummy);
	r->bits = 128;
	if (slash != NULL) {
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end != '\0' ||
		    bits > (v6 ? 128u : 32u))
			return (*why = v6 ? "prefix length must be 0..128" :
			    "prefix length must be 0..32", -1);
		r->bits = (int)bits + (v6 ? 0 : 96);
	}
	for (i = r->bits; i < 128; i++)
		if (r->addr[i / 8] & (0x80 >> (i % 8)))
			return (*why = "address has bits set past the prefix "
			    "length", -1);
	return 0;
}

/* "name", "*.suffix" or "*", each maybe with ":port". */
static int
parse_name(char *s, struct egress_rule *r, const char **why)
{
	char name[ORIGIN_HOST_MAX + 1], *colon;

	if ((colon = strchr(s, ':')) != NULL &&
	    parse_port(colon, r, why) == -1)
		return -1;
	if (strcmp(s, "*") == 0) {
		r->wildcard = 1;
		name[0] = '\0';
	} else if (origin_pattern(s, 0, name, sizeof(name), &r->wildcard,
	    why) == -1)
		return (*why = *why ? *why : "not a host name, *.suffix, CIDR "
		    "or address", -1);
	r->is_name = 1;
	r->name = xstrdup(name);
	return 0;
}

/* Does word look like an address or CIDR rather than a name? */
static int
looks_numeric(const char *w)
{
	if (*w == '[' || strchr(w, '/') != NULL)
		return 1;
	if (strchr(w, ':') != NULL && strchr(strchr(w, ':') + 1, ':'))
		return 1;	/* bare IPv6 */
	return strspn(w, "0123456789.:") == strlen(w) && strchr(w, '.');
}

int
egress_add_rules(struct egress_policy *p, const char *text, int allow,
    const char **why, char **bad)
{
	char *copy = xstrdup(text), *w, *save = NULL, *buf;
	struct egress_rule r;
	int rc = 0;

	for (w = strtok_r(copy, " ,\t", &save); w != NULL;
	    w = strtok_r(NULL, " ,\t", &save)) {
		memset(&r, 0, sizeof(r));
		r.allow = allow;
		buf = xstrdup(w);
		rc = looks_numeric(w) ? parse_cidr(buf, &r, why) :
		    parse_name(buf, &r, why);
		free(buf);
		if (rc == -1) {
			free(r.name);
			*bad = xstrdup(w);
			break;
		}
		xasprintf(&r.text, "%s %s", allow ? "allow" : "deny", w);
		p->rules = xreallocarray(p->rules, p->nrules + 1,
		    sizeof(*p->rules));
		p->rules[p->nrules++] = r;
	}
	free(copy);
	return rc;
}

void
egress_format_rules(const struct egress_policy *p, int allow, char *buf,
    size_t len)
{
	size_t i, n = 0, skip = allow ? 6 : 5;	/* "allow " or "deny " */

	buf[0] = '\0';
	for (i = 0; i < p->nrules && n < len; i++)
		if (p->rules[i].allow == allow)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
			    n ? " " : "", p->rules[i].text + skip);
}

void
egress_copy(struct egress_policy *dst, const struct egress_policy *src)
{
	size_t i;

	*dst = *src;
	dst->rules = src->nrules ? xreallocarray(NULL, src->nrules,
	    sizeof(*dst->rules)) : NULL;
	for (i = 0; i < src->nrules; i++) {
		dst->rules[i] = src->rules[i];
		dst->rules[i].text = xstrdup(src->rules[i].text);
		dst->rules[i].name = src->rules[i].name ?
		    xstrdup(src->rules[i].name) : NULL;
	}
}

void
egress_clear(struct egress_policy *p)
{
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		free(p->rules[i].text);
		free(p->rules[i].name);
	}
	free(p->rules);
	p->rules = NULL;
	p->nrules = 0;
}
