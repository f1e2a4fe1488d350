/*
 * http_int.h: what the http_*.c files share, and only they: a transfer as
 * both halves see it. http_client.c runs transfers on loops and threads;
 * http_transfer.c is everything libcurl is told about one transfer (its
 * options, the egress checks in its callbacks, its headers and body, and
 * what its outcome means).
 */
#ifndef FANOUTD_HTTP_INT_H
#define FANOUTD_HTTP_INT_H

#include <stdint.h>
#include <sys/queue.h>

#include <curl/curl.h>

#include "http_client.h"
#include "origin.h"
#include "result.h"

#define XFER_MAGIC	0x7e4f3a11u

struct loop;
struct http_share;

/*
 * The proxy in force when a transfer started. Shared by the transfers that
 * use it and freed by the last, so a reload can change it while transfer
 * threads still read the old one. Counted on the main thread only.
 */
struct proxy {
	unsigned	 refs;
	char		*url;
	char		 host[ORIGIN_HOST_MAX];
	unsigned	 port;
};

struct loop;

struct http_transfer {
	uint32_t		 magic;
	struct loop		*loop;		/* runs on this loop, always */
	CURL			*easy;
	struct curl_slist	*hdrs;
	struct http_request	 req;		/* copied; pointers borrowed */
	struct result		*res;
	http_done_cb		 cb;
	void			*arg;
	struct proxy		*proxy;		/* a reference, or NULL */
	struct http_share	*share;		/* its caller's connections */
	struct policy		*policy;	/* a reference, or NULL */
	struct tlsconf		*tls;		/* a reference, or NULL */
	uint64_t		 tls_set;	/* its tlsconf's serial, or 0 */
	char			 host[ORIGIN_HOST_MAX];	/* the target's */
	char			*ascii_url;	/* req.url, punycode; or NULL */
	unsigned		 port;
	uint64_t		 started_us;	/* monotonic */
	int			 configured;	/* fixed options are set */
	int			 cookie_engine;	/* ever on: emptied each time */
	int			 live;		/* in the loop's multi */
	int			 head_next;	/* a status line comes next */
	long			 status;	/* of the last status line */
	int			 blocked;	/* the policy refused */
	char			 blocked_why[256];
	char			 errbuf[CURL_ERROR_SIZE];
	/* The main thread's, for aborts that cross to a transfer thread. */
	int			 done;		/* cb has run */
	int			 aborting;
	unsigned		 acks;		/* aborts not acknowledged */
	enum result_error	 abort_error;
	char			 abort_msg[192];
	TAILQ_ENTRY(http_transfer) entry;	/* running, or idle */
};

/*
 * Before t is given to a loop (main thread): the proxy in force now, the
 * target's name and port, the URL in punycode, and the egress policy on
 * the target and its Host header. -1 with t->res set when it is refused.
 */
int	http_transfer_prepare(struct http_transfer *t);

/* On t's loop: its header list and every curl option; -1 with t->res set. */
int	http_transfer_setup(struct http_transfer *t);

/*
 * On t's loop, when it has ended: its status, timings and Location, and
 * curl's code as a result error (aborted: the error is set already, the
 * connection is not reused).
 */
void	http_transfer_ended(struct http_transfer *t, CURLcode code,
	    int aborted);

/* What prepare and setup took, given back before t is pooled or freed. */
void	http_transfer_clear(struct http_transfer *t);

/* Start-up and shutdown of the transfer half (user agent, proxy). */
void	http_transfer_init(void);
void	http_transfer_shutdown(void);

#endif
