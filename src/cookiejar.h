/*
 * cookiejar.h: a batch's cookie jar ("cookies": true): the cookies its
 * responses set, as libcurl's cookie engine writes them, for its later
 * requests.
 */
#ifndef FANOUTD_COOKIEJAR_H
#define FANOUTD_COOKIEJAR_H

#include <stddef.h>

#define COOKIEJAR_MAX		300		/* cookies */
#define COOKIEJAR_MAX_BYTES	(64 * 1024)	/* of their lines */

struct cookiejar;

struct cookiejar *cookiejar_new(void);
void	cookiejar_free(struct cookiejar *j);

/*
 * The jar as libcurl reads it (CURLOPT_COOKIELIST): one Netscape-format
 * line per cookie, each ended by '\n'; "" when empty. Caller frees.
 */
char	*cookiejar_text(const struct cookiejar *j);

/*
 * One transfer's outcome: before is the text it was given, after what
 * libcurl's engine held when it ended (lines, '\n' between; NULL: the
 * engine never reported, and nothing changes).
 * A cookie after has that before did not (new, or changed) goes in the
 * jar, over one of the same domain, path and name; one before had that
 * after lacks (expired, or deleted by the server) leaves the jar, unless
 * another transfer changed it meanwhile. A new cookie past COOKIEJAR_MAX
 * or COOKIEJAR_MAX_BYTES is dropped, and counted.
 */
void	cookiejar_merge(struct cookiejar *j, const char *before,
	    const char *after);

/* Cookies in the jar, and new ones dropped at its limits. */
size_t	cookiejar_count(const struct cookiejar *j);
size_t	cookiejar_dropped(const struct cookiejar *j);

#endif
