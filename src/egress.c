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
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "egress.h"

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

static enum class
classify4(uint32_t a, const char **name)
{
	size_t i;

	for (i = 0; i < sizeof(ranges4) / sizeof(ranges4[0]); i++)
		if ((a >> (32 - ranges4[i].bits)) ==
		    (ranges4[i].net >> (32 - ranges4[i].bits))) {
			*name = ranges4[i].name;
			return ranges4[i].cls;
		}
	*name = NULL;
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

/* IPv6: its own ranges, or those of the IPv4 address it carries. */
static enum class
classify6(const uint8_t *a, const char **name)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t sixto4[2] = { 0x20, 0x02 };
	static const uint8_t teredo[4] = { 0x20, 0x01, 0, 0 };
	static const uint8_t zero[16] = { 0 };
	static const uint8_t fc[1] = { 0xfc }, fe80[2] = { 0xfe, 0x80 };
	static const uint8_t ff[1] = { 0xff }, doc[4] = { 0x20, 0x01, 0x0d,
	    0xb8 };

	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return classify4(v4at(a, 12), name);
	if (prefix6(a, sixto4, 16))
		return classify4(v4at(a, 2), name);
	if (prefix6(a, teredo, 32))	/* client address, obfuscated */
		return classify4(~v4at(a, 12), name);
	if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1)) {
		*name = a[15] ? "loopback ::1" : "unspecified ::";
		return a[15] ? LOOPBACK : DENY;
	}
	if (prefix6(a, fe80, 10))
		return (*name = "link-local fe80::/10", DENY);
	if (prefix6(a, ff, 8))
		return (*name = "multicast ff00::/8", DENY);
	if (prefix6(a, doc, 32))
		return (*name = "documentation 2001:db8::/32", DENY);
	if (prefix6(a, fc, 7))
		return (*name = "unique local fc00::/7", PRIVATE);
	*name = NULL;
	return ALLOW;
}

static int
decide(const struct egress_policy *p, enum class c, const char *name,
    const char **why)
{
	*why = name;
	switch (c) {
	case ALLOW:
		return 1;
	case PRIVATE:
		return !p->deny_private;
	case LOOPBACK:
		return !p->deny_loopback;
	default:
		return 0;
	}
}

int
egress_allowed(const struct egress_policy *p, const struct sockaddr *sa,
    socklen_t len, const char **why)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const char *name;
	enum class c;

	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(*s4))
		c = classify4(ntohl(s4->sin_addr.s_addr), &name);
	else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(*s6))
		c = classify6(s6->sin6_addr.s6_addr, &name);
	else {
		*why = "not an IP address";
		return 0;
	}
	return decide(p, c, name, why);
}

int
egress_allowed_text(const struct egress_policy *p, const char *addr,
    const char **why)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1)
		return egress_allowed(p, (struct sockaddr *)&s4, sizeof(s4),
		    why);
	if (inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1)
		return egress_allowed(p, (struct sockaddr *)&s6, sizeof(s6),
		    why);
	return -1;
}
