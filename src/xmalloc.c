/*
 * xmalloc.c: allocation wrappers in the OpenBSD style.
 *
 * Running out of memory is not a recoverable condition for a daemon that
 * bounds every queue and buffer it owns, so these fatal() rather than make
 * every caller check. Bounds on what clients may make us allocate live at the
 * API boundary (max_request_bytes, max_batch_requests).
 *
 * The same rule holds for the libraries that share our data structures:
 * jansson, libevent and libevhtp allocate through xmalloc_lib() and
 * xrealloc_lib(), because a failed allocation inside them is worse than an
 * exit (tested with libfiu: jansson 2.14 can drop a byte of a string and
 * report success, turning http://127.0.0.1:1/ into http://127.0.01:1/;
 * libevhtp aborts in its parser and dereferences NULL when it accepts).
 * So every failed allocation ends the process with "out of memory" in the
 * log and exit status 1, for systemd to restart it (Restart=on-failure);
 * only libcurl keeps its own allocator: it fails the one transfer, which
 * ends with `internal`.
 */
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

void *
xmalloc(size_t size)
{
	void *p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		fatal("out of memory: malloc %zu", size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if ((p = calloc(nmemb ? nmemb : 1, size ? size : 1)) == NULL)
		fatal("out of memory: calloc %zu x %zu", nmemb, size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		fatalx("xreallocarray: %zu x %zu overflows", nmemb, size);
	if ((p = realloc(ptr, nmemb * size != 0 ? nmemb * size : 1)) == NULL)
		fatal("out of memory: realloc %zu x %zu", nmemb, size);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		fatal("out of memory: strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p;

	if ((p = strndup(s, n)) == NULL)
		fatal("out of memory: strndup");
	return p;
}

void *
xmemdup(const void *src, size_t n)
{
	void *p = xmalloc(n + 1);

	memcpy(p, src, n);
	((char *)p)[n] = '\0';
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("out of memory: vasprintf");
	return n;
}

void *
xmalloc_lib(size_t size)
{
	return xmalloc(size);
}

void *
xrealloc_lib(void *ptr, size_t size)
{
	void *p;

	if (size == 0) {	/* realloc(p, 0) is free(p) to libevent */
		free(ptr);
		return NULL;
	}
	if ((p = realloc(ptr, size)) == NULL)
		fatal("out of memory: realloc %zu", size);
	return p;
}

void
xmalloc_init(void)
{
	mallopt(M_MMAP_THRESHOLD, XMALLOC_MMAP_BYTES);
	mallopt(M_TRIM_THRESHOLD, XMALLOC_KEEP_BYTES);
}

void
xmalloc_trim(void)
{
	malloc_trim(0);
}
