/*
 * http_client.h: outbound HTTP transfers on the daemon's event loop.
 * The only interface to libcurl; nothing else includes curl headers.
 */
#ifndef FANOUTD_HTTP_CLIENT_H
#define FANOUTD_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

struct event_base;
struct http_transfer;
struct policy;
struct tlsconf;

/* The HTTP version a request asks for. */
enum http_version {
	HTTP_VERSION_AUTO = 0,	/* https: h2 by ALPN, else 1.1; http: 1.1 */
	HTTP_VERSION_1_1,	/* 1.1 only */
	HTTP_VERSION_2		/* http: h2 prior knowledge (h2c) */
};

/* What to send. Copied; what it points to must outlive the transfer. */
struct http_request {
	const char	*method;
	const char	*url;
	char *const	*headers;	/* "Name: value" lines */
	size_t		 nheaders;
	char *const	*defaults;	/* sent after, unless skipped */
	size_t		 ndefaults;
	const unsigned char *skip;	/* bit i: not defaults[i]; or NULL */
	const unsigned char *body;	/* NULL: no body */
	size_t		 body_len;
	uint64_t	 timeout_ms;
	uint64_t	 connect_timeout_ms;
	uint64_t	 max_response_bytes;
	size_t		 max_response_headers;	/* kept; the rest dropped */
	int		 want_redirect;	/* a 3xx: its target in redirect_url */
	int		 cross_origin;	/* no Authorization, Cookie or Host */
	uint32_t	 caller;	/* whose connections it may use (uid) */
	struct policy	*policy;	/* judges it; NULL: anything goes */
	int		 policy_caller;	/* its section there (policy.h) */
	const char	*origin;	/* http_url_origin(url) */
	struct tlsconf	*tls;		/* its host's; NULL: the defaults */
	int		 http2;		/* its host may use h2 */
	enum http_version http_version;
	int		 decompress;	/* offer and decode encodings */
	const char	*cookies;	/* a jar's lines (cookiejar.h); NULL: */
					/* no cookie engine; "": an empty jar */
};

/*
 * Called once per transfer when it ends, however it ends (also from
 * http_client_abort()). res is the caller's struct passed to start, now
 * filled; the transfer is gone when this is called.
 */
typedef void (*http_done_cb)(struct result *res, void *arg);

/*
 * Send everything through proxy ("scheme://host:port", copied; NULL or
 * "": direct). Applies to transfers started from now on.
 */
void	http_client_set_proxy(const char *proxy);

/*
 * Set up the transfer loops: loop 0 on base (the main loop), and workers
 * more on threads, each with its own event base and multi handle. Every
 * other function here is called from the main loop's thread only; the
 * policy callback also runs on the threads. Returns -1 with *cause.
 */
int	http_client_init(struct event_base *base, unsigned workers,
	    char **cause);

/*
 * Stop and join the transfer threads: from then on nothing reads a
 * request or a result but the main thread. Transfers that ended on a
 * thread and were not yet reported are not (their callbacks never run).
 */
void	http_client_stop(void);

/*
 * Free everything (stopping the threads first if http_client_stop() was
 * not called); transfers still running are dropped without their
 * callbacks (callers first end their transfers).
 */
void	http_client_shutdown(void);

/*
 * Start a transfer. The result is written into res (caller-owned, already
 * result_init()ed; not to be touched until cb) and cb(res, arg) runs on
 * the main loop when it ends. Returns the transfer handle, valid until
 * cb; or NULL if it could not start: res then holds the error (`blocked`,
 * `internal`) and cb is not called.
 */
struct http_transfer *http_client_start(const struct http_request *req,
	    struct result *res, http_done_cb cb, void *arg);

/*
 * End a running transfer with error e and message msg, keeping the status
 * and body received so far. For a transfer on the main loop cb runs
 * before this returns; for one on a thread it runs later, from the main
 * loop, and a transfer that ended meanwhile keeps its own outcome. Once
 * per transfer counts; later calls are ignored.
 */
void	http_client_abort(struct http_transfer *t, enum result_error e,
	    const char *msg);

/* Transfers currently running. */
size_t	http_client_running(void);

/* Transfer loops: the main loop (0) and one per thread. */
size_t	http_client_loops(void);

/* Loop i's transfers running now and started since it began. */
void	http_client_loop_stats(size_t i, size_t *running, uint64_t *started);

/*
 * The egress policy changed (reload): connections kept idle are closed,
 * and none opened before now is used again.
 */
void	http_client_flush(void);

/* libcurl's version string, for -V and /healthz. */
const char *http_client_version(void);

#endif
