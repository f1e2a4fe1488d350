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

/*
 * Set the heap up for a daemon that handles a few big blocks among many
 * small ones: blocks of XMALLOC_MMAP_BYTES or more are mapped on their own
 * and unmapped when freed. glibc otherwise raises that threshold after the
 * first big free, and big blocks freed in the heap keep RSS up (a 16 MiB
 * body parsed twice peaked 16 MiB higher the second time).
 */
#define XMALLOC_MMAP_BYTES	(1024 * 1024)
#define XMALLOC_KEEP_BYTES	(8 * 1024 * 1024)
void	 xmalloc_init(void);

/*
 * Give the heap's free pages back to the system (glibc's malloc_trim()),
 * after work that allocated and freed a lot, such as parsing a body of
 * XMALLOC_TRIM_BYTES or more: otherwise RSS stays at its peak.
 */
#define XMALLOC_TRIM_BYTES	(1024 * 1024)
void	 xmalloc_trim(void);

#endif
