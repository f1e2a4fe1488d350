/*
 * cookiejar.c: a batch's cookie jar.
 *
 * libcurl's cookie engine does the cookie rules (parsing Set-Cookie,
 * domain and path matching, expiry, public suffixes): each transfer of a
 * batch with "cookies" is handed the jar's lines and gives back the
 * engine's (http_transfer.c), and only the difference is merged here, so
 * transfers running at once on different threads do not undo each
 * other's cookies. A cookie is keyed by its domain, path and name, the
 * first, third and sixth of the Netscape format's seven tab-separated
 * fields; the domain without libcurl's "#HttpOnly_" mark. The jar is
 * bounded in cookies and bytes, and freed with its batch: never shared
 * across batches.
 */
#include <stdlib.h>
#include <string.h>

#include "cookiejar.h"
#include "hash.h"
#include "xmalloc.h"

struct cookie {
	char		*key;		/* domain \t path \t name */
	char		*line;		/* as libcurl wrote it, no '\n' */
	UT_hash_handle	 hh;
};

struct cookiejar {
	struct cookie	*byid;
	size_t		 count, bytes, dropped;
};

struct cookiejar *
cookiejar_new(void)
{
	return xcalloc(1, sizeof(struct cookiejar));
}

static void
cookie_free(struct cookie *c)
{
	free(c->key);
	free(c->line);
	free(c);
}

void
cookiejar_free(struct cookiejar *j)
{
	struct cookie *c, *tmp;

	if (j == NULL)
		return;
	HASH_ITER(hh, j->byid, c, tmp) {
		HASH_DELETE(hh, j->byid, c);
		cookie_free(c);
	}
	free(j);
}

/* The key of line (n bytes), or NULL when it is not a cookie line. */
static char *
key_of(const char *line, size_t n)
{
	const char *f[7], *p = line, *end = line + n, *tab;
	size_t i, dlen;
	char *key;

	for (i = 0; i < 7; i++) {
		f[i] = p;
		tab = memchr(p, '\t', (size_t)(end - p));
		if (i < 6 && tab == NULL)
			return NULL;
		p = tab != NULL ? tab + 1 : end;
	}
	if (strncmp(f[0], "#HttpOnly_", 10) == 0)
		f[0] += 10;
	else if (f[0][0] == '#')
		return NULL;			/* a comment */
	dlen = (size_t)(f[1] - f[0] - 1);
	xasprintf(&key, "%.*s\t%.*s\t%.*s", (int)dlen, f[0],
	    (int)(f[3] - f[2] - 1), f[2], (int)(f[6] - f[5] - 1), f[5]);
	return key;
}

/* Each cookie line of text: fn(set, line, n, key, arg), key the callee's. */
static void
each_line(const char *text, void (*fn)(struct cookie **, const char *,
    size_t, char *, void *), struct cookie **set, void *arg)
{
	const char *p = text, *nl;
	size_t n;
	char *key;

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if ((key = key_of(p, n)) != NULL)
			fn(set, p, n, key, arg);
		p = nl != NULL ? nl + 1 : NULL;
	}
}

/* Into a scratch set (before's or after's lines by key). */
static void
index_line(struct cookie **set, const char *line, size_t n, char *key,
    void *arg)
{
	struct cookie *c;

	(void)arg;
	HASH_FIND_STR(*set, key, c);
	if (c != NULL) {		/* a repeat: the last one counts */
		free(c->line);
		c->line = xstrndup(line, n);
		free(key);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->key = key;
	c->line = xstrndup(line, n);
	HASH_ADD_KEYPTR(hh, *set, c->key, strlen(c->key), c);
}

static void
set_free(struct cookie **set)
{
	struct cookie *c, *tmp;

	HASH_ITER(hh, *set, c, tmp) {
		HASH_DELETE(hh, *set, c);
		cookie_free(c);
	}
}

static void
jar_remove(struct cookiejar *j, struct cookie *c)
{
	HASH_DELETE(hh, j->byid, c);
	j->count--;
	j->bytes -= strlen(c->line) + 1;
	cookie_free(c);
}

/* Put line (key's) in the jar, over the same key, within the limits. */
static void
jar_put(struct cookiejar *j, const char *key, const char *line)
{
	struct cookie *c;
	size_t n = strlen(line) + 1;

	HASH_FIND_STR(j->byid, key, c);
	if (c != NULL) {
		if (j->bytes - (strlen(c->line) + 1) + n >
		    COOKIEJAR_MAX_BYTES) {
			j->dropped++;
			return;
		}
		j->bytes = j->bytes - (strlen(c->line) + 1) + n;
		free(c->line);
		c->line = xstrdup(line);
		return;
	}
	if (j->count >= COOKIEJAR_MAX || j->bytes + n > COOKIEJAR_MAX_BYTES) {
		j->dropped++;
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->key = xstrdup(key);
	c->line = xstrdup(line);
	HASH_ADD_KEYPTR(hh, j->byid, c->key, strlen(c->key), c);
	j->count++;
	j->bytes += n;
}

void
cookiejar_merge(struct cookiejar *j, const char *before, const char *after)
{
	struct cookie *b = NULL, *a = NULL, *c, *o, *tmp;

	if (after == NULL)
		return;
	each_line(before, index_line, &b, NULL);
	each_line(after, index_line, &a, NULL);
	for (c = a; c != NULL; c = c->hh.next) {
		HASH_FIND_STR(b, c->key, o);
		if (o == NULL || strcmp(o->line, c->line) != 0)
			jar_put(j, c->key, c->line);	/* new or changed */
	}
	HASH_ITER(hh, b, c, tmp) {
		HASH_FIND_STR(a, c->key, o);
		if (o != NULL)
			continue;
		HASH_FIND_STR(j->byid, c->key, o);
		if (o != NULL && strcmp(o->line, c->line) == 0)
			jar_remove(j, o);		/* gone, not changed */
	}
	set_free(&b);
	set_free(&a);
}

char *
cookiejar_text(const struct cookiejar *j)
{
	const struct cookie *c;
	char *text = xmalloc(j->bytes + 1), *p = text;
	size_t n;

	for (c = j->byid; c != NULL; c = c->hh.next) {
		n = strlen(c->line);
		memcpy(p, c->line, n);
		p[n] = '\n';
		p += n + 1;
	}
	*p = '\0';
	return text;
}

size_t
cookiejar_count(const struct cookiejar *j)
{
	return j->count;
}

size_t
cookiejar_dropped(const struct cookiejar *j)
{
	return j->dropped;
}
