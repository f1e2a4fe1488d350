/*
 * charset.c: a response body as UTF-8 text, from the charset its
 * Content-Type names ("response_body": "text").
 *
 * UTF-8 (the default, and nearly every body) is checked and repaired
 * here; any other charset goes through glibc's iconv, whose output is
 * checked the same way, so what reaches a result is always valid UTF-8
 * whatever the upstream sent. The cost is linear: every input byte makes
 * at most three output bytes (U+FFFD).
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charset.h"
#include "jsonw.h"
#include "urlenc.h"

static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */

int
charset_of(const char *ct, char *name, size_t len)
{
	const char *p = ct;
	size_t n;
	int quoted;

	name[0] = '\0';
	while (ct != NULL && (p = strchr(p, ';')) != NULL) {
		p++;
		p += strspn(p, " \t");
		if (strncasecmp(p, "charset", 7) != 0)
			continue;
		p += 7;
		p += strspn(p, " \t");
		if (*p++ != '=')
			continue;
		p += strspn(p, " \t");
		quoted = *p == '"';
		p += quoted;
		n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_.:+");
		if (n == 0 || n >= len || (quoted && p[n] != '"') ||
		    (!quoted && p[n] != '\0' && p[n] != ';' && p[n] != ' ' &&
		    p[n] != '\t'))
			return -1;
		memcpy(name, p, n);
		name[n] = '\0';
		return 0;
	}
	return -1;
}

/* s as valid UTF-8 into b: bad bytes become U+FFFD, a cut end dropped. */
static void
repair(struct urlbuf *b, const char *s, size_t n, int cut)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;
	int k;

	urlbuf_add(b, "", 0);
	while (i < n) {
		for (run = i; run < n && (k = utf8_char(p + run, n - run)) > 0;
		    run += (size_t)k)
			;
		urlbuf_add(b, s + i, run - i);
		if (run >= n)
			break;
		if (utf8_char(p + run, n - run) == -1 && cut)
			break;			/* cut mid-character: drop */
		urlbuf_add(b, replacement, 3);
		i = run + 1;
	}
}

static int
is_utf8(const char *cs)
{
	return cs == NULL || *cs == '\0' || strcasecmp(cs, "utf-8") == 0 ||
	    strcasecmp(cs, "utf8") == 0;
}

/* n bytes of s through cd into b, U+FFFD for what does not decode. */
static void
convert(iconv_t cd, struct urlbuf *raw, const char *s, size_t n, int cut)
{
	char out[4096], *in = (char *)s, *o;
	size_t inleft = n, outleft;

	while (inleft > 0) {
		o = out;
		outleft = sizeof(out);
		if (iconv(cd, &in, &inleft, &o, &outleft) != (size_t)-1) {
			urlbuf_add(raw, out, sizeof(out) - outleft);
			break;
		}
		urlbuf_add(raw, out, sizeof(out) - outleft);
		if (errno == E2BIG)
			continue;
		if (errno == EINVAL && cut)	/* cut mid-character */
			break;
		urlbuf_add(raw, replacement, 3);	/* EILSEQ, or EINVAL */
		in++;
		inleft--;
		iconv(cd, NULL, NULL, NULL, NULL);	/* a fresh state */
	}
	o = out;
	outleft = sizeof(out);
	if (iconv(cd, NULL, NULL, &o, &outleft) != (size_t)-1)
		urlbuf_add(raw, out, sizeof(out) - outleft);
}

char *
charset_decode(const char *charset, const char *s, size_t n, int cut,
    size_t *outlen, int *known)
{
	struct urlbuf raw, b;
	iconv_t cd;

	memset(&b, 0, sizeof(b));
	*known = 1;
	if (is_utf8(charset) ||
	    (cd = iconv_open("UTF-8", charset)) == (iconv_t)-1) {
		*known = is_utf8(charset);
		repair(&b, s, n, cut);
	} else {
		memset(&raw, 0, sizeof(raw));
		urlbuf_add(&raw, "", 0);
		convert(cd, &raw, s, n, cut);
		iconv_close(cd);
		repair(&b, raw.buf, raw.len, 0);	/* trust no decoder */
		free(raw.buf);
	}
	*outlen = b.len;
	return b.buf;
}
