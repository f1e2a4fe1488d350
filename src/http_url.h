/*
 * http_url.h: URLs as libcurl reads them.
 */
#ifndef FANOUTD_HTTP_URL_H
#define FANOUTD_HTTP_URL_H

#include <stddef.h>

/*
 * Check that url parses and is absolute http or https with a host, and
 * return its origin (origin.h: the canonical "scheme://host:port"; caller
 * frees). Returns NULL with *cause (caller frees) otherwise.
 */
char	*http_url_origin(const char *url, char **cause);

/*
 * Canonical host (origin_host(), no brackets) and port of url. Returns -1
 * if it does not parse.
 */
int	 http_url_host_port(const char *url, char *host, size_t len,
	    unsigned *port);

/*
 * A Location resolved against base as libcurl resolves it (any scheme,
 * so that redirect.c can refuse it by name); Location as it is when it
 * does not resolve. Caller frees.
 */
char	*http_url_resolve(const char *base, const char *location);

/*
 * url with an internationalised host written in punycode, as it must be
 * sent (libcurl converts only in a UTF-8 locale, and the daemon runs in
 * C); NULL when url's host is ASCII already, or url does not parse.
 * Caller frees.
 */
char	*http_url_ascii(const char *url);

#endif
