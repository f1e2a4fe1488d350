/*
 * batch.h: a batch of HTTP requests, parsed and validated from the API's JSON.
 */
#ifndef FANOUTD_BATCH_H
#define FANOUTD_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "hash.h"

#include "ratelimit.h"
#include "result.h"
#include "retry.h"
#include "runq.h"

struct bhq;
struct config;
struct event;
struct evbuffer;
struct host;
struct http_transfer;

enum batch_mode {
	BATCH_WAIT = 0,		/* one reply when every request has ended */
	BATCH_STREAM,		/* NDJSON lines as requests end */
	BATCH_ASYNC		/* 202 now; results kept to be fetched */
};

enum job_state {
	JOB_QUEUED = 0,		/* waiting in the scheduler */
	JOB_RUNNING,		/* an attempt is in flight */
	JOB_RETRY_WAIT,		/* waiting for its backoff to pass */
	JOB_DONE		/* encoded */
};

#define BATCH_MAGIC	0xba7c4e5u

/*
 * What a request may set or inherit from the batch's "defaults", each
 * parsed from one row of batch.c's field table.
 */
struct job_opts {
	uint64_t	 timeout_ms;
	uint64_t	 connect_timeout_ms;
	uint64_t	 max_response_bytes;
	uint64_t	 retries;	/* extra attempts allowed */
	struct retry_on	 retry_on;
	uint64_t	 retry_base_ms;
	uint64_t	 retry_max_ms;
	int		 may_retry;	/* idempotent, keyed or allowed */
	int		 follow_redirects;
	uint64_t	 max_redirects;
};

/* One request of a batch: its spec, then its run-time state. */
struct job {
	size_t		 index;		/* position in requests[] */
	char		*id;		/* NULL when the client gave none */
	char		*method;
	char		*url;
	char		**headers;	/* its own, "Name: value" */
	size_t		 nheaders;
	unsigned char	*dskip;		/* defaults it overrides (bits) */
	unsigned char	*body;		/* NULL when none */
	size_t		 body_len;
	char		*origin;	/* "scheme://host:port" */
	struct job_opts	 opt;

	struct batch		*batch;		/* borrowed back pointer */
	enum job_state		 state;
	struct host		*host;		/* this hop's (host.c's) */
	struct host		*home;		/* url's, where retries go */
	/* The redirect being followed (redirect.c); NULL/0: url itself. */
	char			*hop_url;
	char			*hop_origin;
	const char		*hop_method;	/* static, or method */
	int			 hop_no_body;	/* 301/302 POST, 303 */
	int			 cross_origin;	/* left url's origin */
	unsigned		 redirects;	/* followed this attempt */
	double			 try_ms;	/* this attempt's hops */
	int			 retry_held;	/* counted in home->retries */
	struct bhq		*bhq;		/* its queue in the scheduler */
	struct job		*qnext;		/* next in that queue */
	int			 probe;		/* the breaker's probe */
	int			 capped;	/* timeout cut by deadline */
	int			 capped_connect; /* and the connect timeout */
	uint64_t		 attempt_timeout_ms;	/* as started */
	uint64_t		 attempt_connect_timeout_ms;
	struct runq_entry	 wake;		/* retry backoff */
	struct http_transfer	*xfer;		/* while in flight */
	struct result		*res;		/* the latest attempt's */
	struct attempt		*attempts;	/* one per attempt */
	size_t			 nattempts;
	char			*encoded;	/* result JSON once done */
	size_t			 encoded_len;
};

/* Why a batch was refused: an HTTP status and the API error object. */
struct batch_error {
	int		 status;	/* 400, 413 or 503 */
	const char	*code;		/* "invalid_json", ... */
	char		 message[256];
	char		 path[96];	/* "" when no single field */
};

struct batch {
	uint32_t	 magic;
	char		 id[33];	/* 128 random bits, hex */
	struct job	*jobs;
	size_t		 njobs;
	size_t		 concurrency;	/* already capped by max_inflight */
	enum batch_mode	 mode;
	uint64_t	 progress_ms;	/* stream progress lines; 0: none */
	double		 rate;		/* per second; 0: none */
	double		 burst;
	uint64_t	 deadline_ms;	/* 0: none */
	char		**dheaders;	/* the defaults', "Name: value" */
	size_t		 ndheaders;
	size_t		 dheader_bytes;

	/* Caller identity (SO_PEERCRED), for logs, ownership and policy. */
	uid_t		 uid;
	pid_t		 pid;
	uint32_t	*gids;		/* primary and supplementary groups */
	size_t		 ngids;
	struct caller	*caller;	/* caller.c's, while in dispatch */
	TAILQ_ENTRY(batch) caller_entry;

	/* Run-time state, owned by dispatch.c and sched.c. */
	double		 created;	/* wall clock, seconds */
	double		 finished;	/* wall clock; 0 while running */
	int		 started;	/* an attempt has started */
	int		 paused;	/* its reader lags: start none */
	uint64_t	 accepted_us;	/* monotonic */
	uint64_t	 deadline_us;	/* 0: none */
	uint64_t	 finished_us;
	size_t		 inflight;
	size_t		 done;
	size_t		 errors;
	int		 cancelled;
	enum result_error cancel_code;	/* why, when cancelled */
	struct ratelimit ratelimit;
	struct runq_entry rate_wake;	/* a batch token comes due */
	struct runq_entry deadline_wake;
	struct bhq	*bhqs;		/* its queue per host (sched.c) */
	struct event	*done_ev;	/* completion, deferred to the loop */
	void		(*result_cb)(struct batch *, struct job *, void *);
	void		(*done_cb)(struct batch *, void *);
	void		*done_arg;
	TAILQ_ENTRY(batch) all_entry;

	/* The registry's (registry.c). */
	UT_hash_handle	 hh;		/* by id */
	size_t		 retained_bytes;	/* encoded results kept */
	struct event	*expire_ev;	/* async: gone after result_ttl_s */
};

/*
 * Parse and validate a POST /v1/batches body. Nothing is dispatched here.
 * The parse's memory, estimated before jansson allocates any, is taken
 * from mem for its duration (NULL: not counted): 503 overloaded when it
 * does not fit now, 413 when it never could. Returns a new batch (caller
 * frees with batch_free()), or NULL with *err filled (status, code,
 * message and the path of the field at fault).
 */
struct budget;
struct batch *batch_parse(const char *body, size_t len,
	    const struct config *cfg, struct budget *mem,
	    struct batch_error *err);

/*
 * Does job override the batch's i-th default header (b->dheaders[i])? A
 * job sends its own headers, then the defaults it does not override.
 */
int	batch_default_skipped(const struct job *job, size_t i);

/* Free a batch and everything its jobs own. batch_free(NULL) is a no-op. */
void	batch_free(struct batch *b);

/* "queued", "running", "done" or "cancelled". */
const char *batch_state(const struct batch *b);

/* "wait", "stream" or "async". */
const char *batch_mode_name(enum batch_mode m);

#endif
