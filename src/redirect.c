/*
 * redirect.c: fanoutd follows redirects itself.
 *
 * libcurl's own following checked each Location in the header callback,
 * and anything that callback misread (a header line starting "HTTP/", a
 * Location with a space that curl accepts and our parser did not) went
 * unchecked while curl followed it. Now curl never follows: it only
 * resolves Location (CURLINFO_REDIRECT_URL), this file decides whether
 * the request goes on, with which method and body, and dispatch.c judges
 * the target under the egress policy and queues the next hop on the
 * target's own host, under its limits, rate and circuit. The rules are
 * those of browsers and requests: 301 and 302 turn a POST into a GET
 * without body, 303 anything but HEAD, 307 and 308 keep both; other 3xx
 * are responses. Authorization, Cookie and a caller's Host are not sent
 * to another origin (the caller of this file drops them).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_url.h"
#include "redirect.h"
#include "xmalloc.h"

static int
followed_status(long status)
{
	return status == 301 || status == 302 || status == 303 ||
	    status == 307 || status == 308;
}

/* Does url start with http: or https: (any case)? */
static int
is_http_scheme(const char *url)
{
	return strncasecmp(url, "http:", 5) == 0 ||
	    strncasecmp(url, "https:", 6) == 0;
}

static enum redirect_verdict refuse(struct redirect *, enum result_error,
    const char *, ...) __attribute__((format(printf, 3, 4)));

static enum redirect_verdict
refuse(struct redirect *r, enum result_error e, const char *fmt, ...)
{
	va_list ap;

	r->error = e;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return REDIRECT_FAIL;
}

enum redirect_verdict
redirect_judge(struct redirect *r)
{
	char *cause = NULL;

	redirect_clear(r);	/* a judgement before this one */
	r->error = RESULT_OK;
	r->why[0] = '\0';
	if (!followed_status(r->status) || r->target == NULL ||
	    *r->target == '\0')
		return REDIRECT_NONE;
	if (r->followed >= r->max)
		return refuse(r, RESULT_TOO_MANY_REDIRECTS, "a redirect past "
		    "max_redirects (%u), to %.250s", r->max, r->target);
	if (!is_http_scheme(r->target))
		return refuse(r, RESULT_BLOCKED, "redirect to %.250s not "
		    "followed: only http and https", r->target);
	if ((r->origin = http_url_origin(r->target, &cause)) == NULL) {
		refuse(r, RESULT_BLOCKED, "redirect to %.200s not followed: "
		    "%.90s", r->target, cause);
		free(cause);
		return REDIRECT_FAIL;
	}
	r->url = xstrdup(r->target);
	r->next_method = r->method;
	r->drop_body = 0;
	if ((r->status == 303 && strcmp(r->method, "HEAD") != 0) ||
	    ((r->status == 301 || r->status == 302) &&
	    strcmp(r->method, "POST") == 0)) {
		r->next_method = "GET";
		r->drop_body = 1;
	}
	r->cross_origin = strcmp(r->origin, r->first_origin) != 0;
	return REDIRECT_FOLLOW;
}

void
redirect_clear(struct redirect *r)
{
	free(r->url);
	free(r->origin);
	r->url = r->origin = NULL;
}
