/*
 * xmalloc.h: allocation that cannot fail (it calls fatal() instead).
 */
#ifndef FANOUTD_XMALLOC_H
#define FANOUTD_XMALLOC_H

#include <stddef.h>

/* All return memory the caller frees with free(); they never return NULL. */
void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
void	*xmemdup(const void *p, size_t n);
int	 xasprintf(char **ret, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * malloc() and realloc() for libraries (jansson, libevent, libevhtp): the
 * same fatal() on failure; xrealloc_lib(p, 0) frees p and returns NULL.
 */
void	*xmalloc_lib(size_t size);
void	*xrealloc_lib(void *ptr, size_t size);

#endif
