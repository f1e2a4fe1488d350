/*
 * origin.c: the one spelling of a destination.
 *
 * Every per-host limit, rate, breaker, [host] section, egress name rule
 * and metric keys on an origin, so two spellings of one destination must
 * make one origin, or a caller escapes a limit by writing
 * "http://api.example.com./" or "HTTP://API.EXAMPLE.COM:80/". A URL is
 * parsed by libcurl (http_url.c); this file makes its parts canonical:
 * scheme and name in lower case, one trailing dot removed (the root
 * label: the same name to DNS), the default port made explicit, IPv4 and
 * IPv6 addresses in inet_ntop(3)'s spelling, and internationalised names
 * in punycode, converted as libcurl converts them (libidn2, UTS #46
 * non-transitional, then transitional), so the origin names what is
 * resolved and sent. Pure: no state, no I/O.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>

#include "log.h"
#include "origin.h"
#include "xmalloc.h"

/* Punycode of a UTF-8 name into out; -1 if it is not a valid name. */
static int
idn_host(const char *name, char *out, size_t len)
{
	char *ace = NULL;
	int rc;

	rc = idn2_lookup_u8((const uint8_t *)name, (uint8_t **)&ace,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK)
		rc = idn2_lookup_u8((const uint8_t *)name, (uint8_t **)&ace,
		    IDN2_TRANSITIONAL);
	if (rc == IDN2_MALLOC)
		fatalx("out of memory: idn2");
	if (rc != IDN2_OK || strlen(ace) >= len) {
		idn2_free(ace);
		return -1;
	}
	memcpy(out, ace, strlen(ace) + 1);
	idn2_free(ace);
	return 0;
}

/*
 * An IPv4 address in any spelling inet_aton(3) and URL parsers accept
 * ("127.1", "0x7f.0.0.1") as dotted quad; 0 if name is not one. Only
 * names of digits, hex letters, x and dots that start with a digit are
 * tried, so "1e100.net" stays a name.
 */
static int
ipv4_host(const char *name, char *out, size_t len)
{
	struct in_addr a;

	if (!isdigit((unsigned char)name[0]) ||
	    strspn(name, "0123456789abcdefABCDEFxX.") != strlen(name) ||
	    inet_aton(name, &a) == 0)
		return 0;
	return inet_ntop(AF_INET, &a, out, (socklen_t)len) != NULL;
}

/* The characters a configured name may use (UTF-8: origin_host() checks). */
static int
name_chars(const char *s, int ipv6)
{
	for (; *s != '\0'; s++) {
		if (ipv6 ? (isxdigit((unsigned char)*s) || *s == ':' ||
		    *s == '.') : (isalnum((unsigned char)*s) || *s == '-' ||
		    *s == '.' || *s == '_' || (unsigned char)*s >= 0x80))
			continue;
		return 0;
	}
	return 1;
}

int
origin_pattern(const char *s, int ipv6, char *out, size_t len,
    int *wildcard, const char **why)
{
	const char *ignored;

	*wildcard = 0;
	*why = NULL;
	if (strncmp(s, "*.", 2) == 0 && !ipv6) {
		*wildcard = 1;
		if (len < 2 || s[2] == '\0' || !name_chars(s + 2, 0) ||
		    origin_host(s + 2, strlen(s + 2), out + 1, len - 1,
		    &ignored) == -1)
			return (*why = "bad wildcard (want *.example.com)", -1);
		out[0] = '.';	/* keep the dot: ".example.com" */
		return 0;
	}
	if (*s == '\0' || !name_chars(s, ipv6) ||
	    origin_host(s, strlen(s), out, len, &ignored) == -1)
		return -1;
	return 0;
}

int
origin_host(const char *host, size_t n, char *out, size_t len,
    const char **why)
{
	char buf[ORIGIN_HOST_MAX], *c;
	struct in6_addr a6;
	size_t i;
	int ascii = 1;

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
		host++, n -= 2;
	if (n == 0)
		return (*why = "empty host", -1);
	if (n >= sizeof(buf) || len < 2)
		return (*why = "host name too long", -1);
	memcpy(buf, host, n);
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL)
		return (*why = "host name has a NUL byte", -1);
	if (strchr(buf, ':') != NULL) {
		if ((c = strchr(buf, '%')) != NULL)
			*c = '\0';	/* zone id: not part of the origin */
		if (inet_pton(AF_INET6, buf, &a6) != 1 ||
		    inet_ntop(AF_INET6, &a6, out, (socklen_t)len) == NULL)
			return (*why = "not a valid IPv6 address", -1);
		return 0;
	}
	if (n > 1 && buf[n - 1] == '.')
		buf[--n] = '\0';	/* "example.com." is example.com */
	for (i = 0; i < n; i++) {
		if ((unsigned char)buf[i] >= 0x80)
			ascii = 0;
		buf[i] = (char)tolower((unsigned char)buf[i]);
	}
	if (!ascii) {
		if (idn_host(buf, out, len) == -1)
			return (*why = "not a valid internationalised host "
			    "name", -1);
		return 0;
	}
	if (ipv4_host(buf, out, len))
		return 0;
	if (n >= len)
		return (*why = "host name too long", -1);
	memcpy(out, buf, n + 1);
	return 0;
}

char *
origin_make(const char *scheme, const char *host, unsigned port,
    const char **why)
{
	char h[ORIGIN_HOST_MAX], *origin;
	int https;

	if (strcasecmp(scheme, "http") == 0)
		https = 0;
	else if (strcasecmp(scheme, "https") == 0)
		https = 1;
	else
		return (*why = "scheme must be http or https", NULL);
	if (port > 65535)
		return (*why = "port must be 1..65535", NULL);
	if (origin_host(host, strlen(host), h, sizeof(h), why) == -1)
		return NULL;
	if (port == 0)
		port = https ? 443 : 80;
	xasprintf(&origin, "%s://%s%s%s:%u", https ? "https" : "http",
	    strchr(h, ':') ? "[" : "", h, strchr(h, ':') ? "]" : "", port);
	return origin;
}

int
origin_split(const char *origin, struct origin_parts *o)
{
	const char *h = strstr(origin, "://"), *colon = strrchr(origin, ':');
	size_t n;
	char *end;
	unsigned long port;

	if (h == NULL || colon == NULL || colon < h + 3 ||
	    (size_t)(h - origin) >= sizeof(o->scheme))
		return -1;
	memcpy(o->scheme, origin, (size_t)(h - origin));
	o->scheme[h - origin] = '\0';
	h += 3;
	n = (size_t)(colon - h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
		h++, n -= 2;
	if (n == 0 || n >= sizeof(o->host))
		return -1;
	memcpy(o->host, h, n);
	o->host[n] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port == 0 || port > 65535)
		return -1;
	o->port = (unsigned)port;
	return 0;
}
