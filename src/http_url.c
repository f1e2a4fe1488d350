/*
 * http_url.c: URLs as libcurl reads them.
 *
 * Every URL fanoutd sends is parsed by libcurl's URL API here, so what
 * the limits and the egress policy key on (origin.c makes the parts
 * canonical) is what libcurl then connects to: one parser, not one of
 * ours that may disagree with curl's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_url.h"
#include "log.h"
#include "origin.h"
#include "xmalloc.h"

/*
 * Did a URL call succeed? Out of memory is fatal, as everywhere else: a
 * URL that "does not parse" for want of memory must not skip the policy.
 */
static int
uok(CURLUcode rc)
{
	if (rc == CURLUE_OUT_OF_MEMORY)
		fatalx("out of memory: curl URL API");
	return rc == CURLUE_OK;
}

static CURLU *
url_new(void)
{
	CURLU *u = curl_url();

	if (u == NULL)
		fatalx("out of memory: curl_url");
	return u;
}

char *
http_url_origin(const char *url, char **cause)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *origin = NULL;
	const char *why;
	unsigned long n = 0;
	CURLUcode rc;
	CURLU *u = url_new();

	if (!uok(rc = curl_url_set(u, CURLUPART_URL, url, 0))) {
		xasprintf(cause, "not a valid URL: %s", curl_url_strerror(rc));
		goto out;
	}
	if (!uok(curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		xasprintf(cause, "scheme must be http or https");
		goto out;
	}
	if (!uok(curl_url_get(u, CURLUPART_HOST, &host, 0)) ||
	    *host == '\0') {
		xasprintf(cause, "URL has no host");
		goto out;
	}
	if (!uok(curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) ||
	    (n = strtoul(port, NULL, 10)) == 0 || n > 65535) {
		xasprintf(cause, "URL has no usable port");
		goto out;
	}
	if ((origin = origin_make(scheme, host, (unsigned)n, &why)) == NULL)
		xasprintf(cause, "URL's host: %s", why);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return origin;
}

int
http_url_host_port(const char *url, char *host, size_t len, unsigned *port)
{
	CURLU *u = url_new();
	char *h = NULL, *p = NULL;
	const char *why;
	int rc = -1;

	if (uok(curl_url_set(u, CURLUPART_URL, url, 0)) &&
	    uok(curl_url_get(u, CURLUPART_HOST, &h, 0)) &&
	    uok(curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT)) &&
	    origin_host(h, strlen(h), host, len, &why) == 0) {
		*port = (unsigned)strtoul(p, NULL, 10);
		rc = 0;
	}
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return rc;
}

char *
http_url_resolve(const char *base, const char *location)
{
	CURLU *u = url_new();
	char *url = NULL, *out;

	if (uok(curl_url_set(u, CURLUPART_URL, base, 0)) &&
	    uok(curl_url_set(u, CURLUPART_URL, location,
	    CURLU_NON_SUPPORT_SCHEME)) &&
	    uok(curl_url_get(u, CURLUPART_URL, &url, 0)))
		out = xstrdup(url);
	else
		out = xstrdup(location);
	curl_free(url);
	curl_url_cleanup(u);
	return out;
}

/* Is s plain ASCII? */
static int
ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

char *
http_url_ascii(const char *url)
{
	char *h = NULL, *sent = NULL, *out = NULL, ace[ORIGIN_HOST_MAX];
	const char *why;
	CURLU *u;

	if (ascii(url))
		return NULL;	/* the common case: nothing to parse */
	u = url_new();
	if (uok(curl_url_set(u, CURLUPART_URL, url, 0)) &&
	    uok(curl_url_get(u, CURLUPART_HOST, &h, 0)) && !ascii(h) &&
	    origin_host(h, strlen(h), ace, sizeof(ace), &why) == 0 &&
	    uok(curl_url_set(u, CURLUPART_HOST, ace, 0)) &&
	    uok(curl_url_get(u, CURLUPART_URL, &sent, 0)))
		out = xstrdup(sent);
	curl_free(h);
	curl_free(sent);
	curl_url_cleanup(u);
	return out;
}
