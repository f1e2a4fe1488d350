/*
 * urlenc.c: percent-encoding for query strings, form bodies and the URLs
 * callers write by hand.
 *
 * Pure byte-level rules, no parsing: libcurl's URL parser still reads the
 * result (http_url.c), so the origin the limits and the egress policy see
 * is the one of the very string that is sent.
 */
#include <stdlib.h>
#include <string.h>

#include "urlenc.h"
#include "xmalloc.h"

static const char hex[] = "0123456789ABCDEF";

void
urlbuf_add(struct urlbuf *b, const char *s, size_t n)
{
	if (b->buf == NULL || b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->buf = xreallocarray(b->buf, b->cap, 1);
	}
	if (n > 0)		/* s may be NULL for nothing */
		memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static void
add_pct(struct urlbuf *b, unsigned char c)
{
	char e[3] = { '%', hex[c >> 4], hex[c & 15] };

	urlbuf_add(b, e, 3);
}

void
urlenc_form(struct urlbuf *b, const char *s, size_t n)
{
	size_t i, run;
	unsigned char c;

	urlbuf_add(b, "", 0);	/* room, even for nothing */
	for (i = 0; i < n; i += run) {
		for (run = 0; i + run < n; run++) {
			c = (unsigned char)s[i + run];
			if (!is_alnum(c) && (c == '\0' ||
			    strchr("*-._", c) == NULL))
				break;
		}
		if (run > 0) {
			urlbuf_add(b, s + i, run);
			continue;
		}
		c = (unsigned char)s[i];
		if (c == ' ')
			urlbuf_add(b, "+", 1);
		else
			add_pct(b, c);
		run = 1;
	}
}

static int
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* May byte s[i] stand in a URL as it is (requests' requote_uri)? */
static int
keeps(const char *s, size_t i)
{
	unsigned char c = (unsigned char)s[i];

	if (c == '%')
		return is_hex((unsigned char)s[i + 1]) &&
		    is_hex((unsigned char)s[i + 2]);
	return is_alnum(c) || (c != '\0' && strchr("-._~"	/* unreserved */
	    ":/?#[]@" "!$&'()*+,;=", c) != NULL);		/* reserved */
}

/* Where url's path, query or fragment starts (after "scheme://host"). */
static size_t
after_authority(const char *url)
{
	const char *p = strstr(url, "://");

	if (p == NULL)
		return 0;
	p += 3;
	return (size_t)(p - url) + strcspn(p, "/?#");
}

char *
urlenc_requote(const char *url)
{
	struct urlbuf b;
	size_t i, start = after_authority(url);

	for (i = start; url[i] != '\0' && keeps(url, i); i++)
		;
	if (url[i] == '\0')
		return NULL;	/* the common case: nothing to encode */
	memset(&b, 0, sizeof(b));
	urlbuf_add(&b, url, i);
	for (; url[i] != '\0'; i++) {
		if (keeps(url, i))
			urlbuf_add(&b, url + i, 1);
		else
			add_pct(&b, (unsigned char)url[i]);
	}
	return b.buf;
}

char *
urlenc_add_query(const char *url, const char *query, size_t qlen)
{
	size_t start = after_authority(url), frag, q;
	struct urlbuf b;

	frag = start + strcspn(url + start, "#");
	q = start + strcspn(url + start, "?");
	memset(&b, 0, sizeof(b));
	urlbuf_add(&b, url, frag);
	if (q >= frag)			/* no query yet */
		urlbuf_add(&b, "?", 1);
	else if (frag > q + 1 && url[frag - 1] != '&')
		urlbuf_add(&b, "&", 1);
	urlbuf_add(&b, query, qlen);
	urlbuf_add(&b, url + frag, strlen(url + frag));
	return b.buf;
}
