/*
 * urlenc.h: percent-encoding for query strings, form bodies and the URLs
 * callers write by hand.
 */
#ifndef FANOUTD_URLENC_H
#define FANOUTD_URLENC_H

#include <stddef.h>

/* A growing NUL-terminated string. Start it zeroed. */
struct urlbuf {
	char	*buf;
	size_t	 len, cap;
};

/* Append n bytes as they are. */
void	urlbuf_add(struct urlbuf *b, const char *s, size_t n);

/*
 * Append n bytes encoded as application/x-www-form-urlencoded (WHATWG
 * URL, "urlencoded serializer"): ASCII letters, digits and "*-._" kept,
 * space as '+', every other byte as %XX (upper-case hex).
 */
void	urlenc_form(struct urlbuf *b, const char *s, size_t n);

/*
 * url with the path, query and fragment made sendable, as Python's
 * requests does (requote_uri): a byte that is neither unreserved nor
 * reserved (RFC 3986), such as a space, '"', '<', '>', '\', '^', '`',
 * '{', '|', '}', a control character or any byte of a non-ASCII
 * character, becomes %XX, and so does a '%' that does not start %XX.
 * The scheme and authority are left alone (an internationalised host is
 * http_url_ascii()'s). NULL when nothing needs encoding; else caller
 * frees.
 */
char	*urlenc_requote(const char *url);

/*
 * url with query (qlen bytes, already encoded) added to its query: after
 * '?' or '&', before any fragment. Caller frees.
 */
char	*urlenc_add_query(const char *url, const char *query, size_t qlen);

#endif
