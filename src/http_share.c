/*
 * http_share.c: no caller's request rides another caller's connection.
 *
 * libcurl keys its connection cache by scheme, host and port, not by who
 * asked, so a connection one uid opened carried the next uid's request to
 * the same origin: any desync on it (a smuggled request, a response left
 * in the stream) reached the other caller, and a connection opened under
 * one user's egress rules served a user with stricter ones. Each uid's
 * transfers on a loop use a share of their own (CURLSHOPT_SHARE with
 * CURL_LOCK_DATA_CONNECT and CURL_LOCK_DATA_SSL_SESSION): its own
 * connection cache and TLS sessions; the multi handle's cache is never
 * used. One uid's batches still reuse their connections as before.
 *
 * A share is used by one loop's thread only, so it needs no lock
 * callbacks. It cannot be freed while an easy handle is set to it
 * (CURLSHE_IN_USE): http_client.c unsets CURLOPT_SHARE when a transfer
 * ends, then calls http_share_put(). curl_share_cleanup() closes the
 * share's idle connections; curl watches no idle socket (each was removed
 * from the loop when its transfer ended), so no socket callback is due.
 * When the egress policy changes, shares made before it are retired:
 * their connections were opened under the old rules.
 */
#include <stdlib.h>

#include "http_share.h"
#include "log.h"
#include "xmalloc.h"

static void
share_free(struct http_share *sh)
{
	CURLSHcode rc;

	if ((rc = curl_share_cleanup(sh->sh)) != CURLSHE_OK)
		fatalx("curl_share_cleanup: %s", curl_share_strerror(rc));
	free(sh);
}

static void
idle_remove(struct http_shares *s, struct http_share *sh)
{
	TAILQ_REMOVE(&s->idle, sh, idle_entry);
	s->nidle--;
}

/* Out of the table: no new transfer uses it; freed once idle. */
static void
retire(struct http_shares *s, struct http_share *sh)
{
	HASH_DEL(s->byuid, sh);
	sh->retired = 1;
	if (sh->users == 0) {
		idle_remove(s, sh);
		share_free(sh);
	}
}

static struct http_share *
share_new(uint32_t uid, unsigned gen)
{
	struct http_share *sh;
	CURLSH *h;

	if ((h = curl_share_init()) == NULL)
		return NULL;
	if (curl_share_setopt(h, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) !=
	    CURLSHE_OK || curl_share_setopt(h, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
		curl_share_cleanup(h);
		return NULL;
	}
	/* On a transfer thread: no memory fails the transfer, not fanoutd. */
	if ((sh = calloc(1, sizeof(*sh))) == NULL) {
		curl_share_cleanup(h);
		return NULL;
	}
	sh->uid = uid;
	sh->gen = gen;
	sh->sh = h;
	return sh;
}

struct http_share *
http_share_get(struct http_shares *s, uint32_t uid, unsigned gen)
{
	struct http_share *sh;

	HASH_FIND(hh, s->byuid, &uid, sizeof(uid), sh);
	if (sh != NULL && sh->gen != gen) {
		retire(s, sh);
		sh = NULL;
	}
	if (sh == NULL) {
		if ((sh = share_new(uid, gen)) == NULL)
			return NULL;
		HASH_ADD(hh, s->byuid, uid, sizeof(sh->uid), sh);
	} else if (sh->users == 0)
		idle_remove(s, sh);
	sh->users++;
	return sh;
}

void
http_share_put(struct http_shares *s, struct http_share *sh)
{
	struct http_share *old;

	if (--sh->users > 0)
		return;
	if (sh->retired) {
		share_free(sh);
		return;
	}
	TAILQ_INSERT_TAIL(&s->idle, sh, idle_entry);
	if (++s->nidle > HTTP_SHARES_IDLE_MAX) {
		old = TAILQ_FIRST(&s->idle);
		retire(s, old);
	}
}

void
http_share_flush(struct http_shares *s, unsigned gen)
{
	struct http_share *sh, *tmp;

	HASH_ITER(hh, s->byuid, sh, tmp)
		if (sh->gen != gen)
			retire(s, sh);
}

void
http_share_free_all(struct http_shares *s)
{
	struct http_share *sh, *tmp;

	HASH_ITER(hh, s->byuid, sh, tmp) {
		if (sh->users != 0)
			fatalx("http_share_free_all: uid %u's share in use",
			    (unsigned)sh->uid);
		retire(s, sh);
	}
	s->nidle = 0;
}

size_t
http_share_count(const struct http_shares *s)
{
	return HASH_COUNT(s->byuid);
}
