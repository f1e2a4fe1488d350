/*
 * http_share.h: connections kept apart per caller: one libcurl share, with
 * its own connection and TLS session caches, per uid and transfer loop.
 * For http_client.c; every call is made on the loop's own thread.
 */
#ifndef FANOUTD_HTTP_SHARE_H
#define FANOUTD_HTTP_SHARE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <curl/curl.h>

#include "hash.h"

/* Idle shares (no transfer running) one loop keeps; the oldest go first. */
#define HTTP_SHARES_IDLE_MAX	64

struct http_share {
	uint32_t		 uid;
	unsigned		 gen;		/* policy generation made in */
	CURLSH			*sh;
	size_t			 users;		/* transfers running on it */
	int			 retired;	/* out of the table */
	UT_hash_handle		 hh;
	TAILQ_ENTRY(http_share)	 idle_entry;
};

TAILQ_HEAD(http_share_idle, http_share);

/* One loop's shares. Zero it, then TAILQ_INIT(&idle). */
struct http_shares {
	struct http_share	*byuid;
	struct http_share_idle	 idle;
	size_t			 nidle;
};

/*
 * The share uid's next transfer uses, counted as in use until
 * http_share_put(). One made before policy generation gen is retired (its
 * connections are never used again) and a new one made. NULL when libcurl
 * has no memory.
 */
struct http_share *http_share_get(struct http_shares *s, uint32_t uid,
	    unsigned gen);

/* A transfer on sh ended (its easy handle no longer set to sh). */
void	http_share_put(struct http_shares *s, struct http_share *sh);

/* Close the idle shares made before gen now; the busy ones when idle. */
void	http_share_flush(struct http_shares *s, unsigned gen);

/* Free every share (no transfer may be using one). */
void	http_share_free_all(struct http_shares *s);

/* Shares and idle shares of s. */
size_t	http_share_count(const struct http_shares *s);

#endif
