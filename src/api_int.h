/*
 * api_int.h: what the api*.c files share, and only they: the libevhtp
 * types live here and in them. api.c is the server (connections, bodies,
 * replies, the health listener), api_routes.c the resources behind each
 * path, api_stream.c the requests that wait for their batch (wait and
 * stream modes) and async submission.
 */
#ifndef FANOUTD_API_INT_H
#define FANOUTD_API_INT_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <evhtp.h>
#pragma GCC diagnostic pop
#include <jansson.h>

#include "budget.h"
#include "hash.h"

struct batch;
struct config;
struct waiter;

#define CONN_MAGIC	0xc0aa3c71u
#define MAX_URI_LEN	1024
#define MAX_HEADERS	100
#define BODY_MIN_ROOM	(64 * 1024)	/* a body's first allocation */

/* A uid with connections open: what its bodies hold of max_api_memory. */
struct api_user {
	uint32_t	 uid;
	uint64_t	 held;
	size_t		 conns;
	UT_hash_handle	 hh;
};

/* One client connection: who it is and the state of its current request. */
struct api_conn {
	uint32_t	 magic;
	uid_t		 uid;
	gid_t		 gid;
	pid_t		 pid;
	struct api_user	*user;		/* its uid's */
	uint64_t	 body_bytes;	/* of the body, seen so far */
	char		*body;		/* the body, kept (NULL: none yet) */
	uint64_t	 body_expect;	/* its Content-Length; 0: unknown */
	size_t		 body_len, body_cap;	/* body_cap: of api.mem */
	size_t		 uri_len;
	unsigned	 nheaders;
	int		 too_large;
	int		 no_room;	/* the body did not fit in api.mem */
	evhtp_connection_t *conn;	/* borrowed */
	gid_t		*groups;	/* supplementary (SO_PEERGROUPS) */
	int		 ngroups;
	uint64_t	 reading_us;	/* a request is arriving since; 0: no */
	struct waiter	*waiter;	/* its paused request, if any */
	evhtp_request_t	*replying;	/* its reply, sent from reply_ev */
	int		 reply_status;
	struct event	*reply_ev;
	int		 between;	/* no request begun since the last */
	int		 closing;	/* its last reply is going out */
	bufferevent_data_cb evhtp_readcb;	/* libevhtp's, wrapped */
	TAILQ_ENTRY(api_conn) entry;
};

/* The API server's state, one per daemon (api.c owns it). */
struct api_state {
	struct event_base	*base;
	evhtp_t			*htp;
	const struct config	*cfg;
	uint64_t		 started_us;
	TAILQ_HEAD(, api_conn)	 conns;
	size_t			 nconns;
	size_t			 nwaiters;
	int			 draining;	/* no new batches */
	int			 stopping;	/* nor connections */
	evhtp_t			*health;	/* health_listen, or NULL */
	void			(*idle_cb)(void);
	struct event		*idle_ev;
	struct event		*sweep_ev;	/* api_request_timeout_ms */
	uint64_t		 evicted;	/* slow connections cut */
	struct budget		 mem;		/* max_api_memory */
	struct api_user		*users;		/* by uid, while connected */
};
extern struct api_state api;

/* api.c: replies. Each is queued and goes out from the loop. */
void	api_add_header(evhtp_request_t *req, const char *k, const char *v);
void	api_send_reply(evhtp_request_t *req, int status);
/* A complete JSON reply (body copied, a newline added). */
void	api_reply_json(evhtp_request_t *req, int status, const char *body,
	    size_t len);
/* {"error": {code, message[, path]}}. */
void	api_reply_error(evhtp_request_t *req, int status, const char *code,
	    const char *message, const char *path);
/* A JSON document (stolen). */
void	api_reply_doc(evhtp_request_t *req, int status, json_t *j);

/* api.c: connections. */
struct api_conn *api_conn_of(evhtp_request_t *req);
/* A request has been answered: the next one may begin. */
void	api_next_request(struct api_conn *c);
/* Free c's body and give its memory back to max_api_memory. */
void	api_release_body(struct api_conn *c);
/* Stopping and nothing waits: call the idle callback from the loop. */
void	api_check_idle(void);

/* api_routes.c: the request handlers of the socket and of health_listen. */
void	api_route(evhtp_request_t *req, void *arg);
void	api_route_health(evhtp_request_t *req, void *arg);

/*
 * api_stream.c: an accepted batch runs; its request is 202'd (async) or
 * waits (wait, stream). -1: it cannot wait (the client's connection cannot
 * be watched): nothing has started, the caller answers.
 */
void	api_submit_async(evhtp_request_t *req, struct batch *b);
int	api_submit_waiting(evhtp_request_t *req, struct batch *b);
/* c's connection is gone: its waiter (if any) must forget it. */
void	api_waiter_conn_gone(struct waiter *w);

#endif
