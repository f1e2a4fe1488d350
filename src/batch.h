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

#include "hostsum.h"

#include "ratelimit.h"
#include "result.h"
#include "retry.h"
#include "runq.h"

struct bhq;
struct config;
struct cookiejar;
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

/* One "params" key of the defaults, its pairs encoded ("k=v&k=w"). */
struct batch_param {
	char		*name;
	char		*pairs;		/* "" for an empty array */
	size_t		 len;
};

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
	int		 http_version;	/* enum http_version */
	int		 decompress;	/* offer encodings, decode the body */
	int		 response_body;	/* enum result_body */
	int		 history;	/* each hop in redirects_log */
};

/* What a request asked for, as parsed (batch.c); fixed from then on. */
struct job_spec {
	size_t		 index;		/* position in requests[] */
	char		*id;		/* NULL when the client gave none */
	char		*method;
	char		*url;
	char		**headers;	/* its own, "Name: value" */
	size_t		 nheaders;
	unsigned char	*dskip;		/* defaults it overrides (bits) */
	unsigned char	*body;		/* NULL when none */
	size_t		 body_len;
	char		*params;	/* its own query pairs, encoded */
	size_t		 params_len;
	unsigned char	*dpskip;	/* default params it overrides */
	char		*origin;	/* "scheme://host:port" */
	struct job_opts	 opt;
};

/* The redirect being followed (dispatch.c, with redirect.c's rules). */
struct job_hop {
	char		*url;		/* NULL: the spec's url itself */
	char		*origin;
	const char	*method;	/* static, or the spec's method */
	int		 no_body;	/* 301/302 POST, 303 */
	int		 cross_origin;	/* left the url's origin */
	unsigned	 redirects;	/* followed this attempt */
};

/* The scheduler's part of a job (sched.c). */
struct job_sched {
	struct bhq	*bhq;		/* its queue */
	struct job	*next;		/* next in that queue */
};

/*
 * One request of a batch: its spec, then its run-time state, which is
 * dispatch.c's but for the parts named after their owners.
 */
struct job {
	struct job_spec		 spec;

	struct batch		*batch;		/* borrowed back pointer */
	enum job_state		 state;
	struct host		*host;		/* this hop's (host.c's) */
	struct host		*home;		/* url's, where retries go */
	struct job_hop		 hop;
	struct job_sched	 sched;
	double			 try_ms;	/* this attempt's hops */
	int			 retry_held;	/* counted in home's retries */
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
	char			*url;		/* batch_job_url()'s */
	char			*history;	/* this attempt's hops, JSON */
	char			*cookies_sent;	/* the jar this hop was given */
	size_t			 history_len;
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

/* Who submitted a batch (the API, from SO_PEERCRED): logs, owner, policy. */
struct batch_owner {
	uid_t		 uid;
	pid_t		 pid;
	uint32_t	*gids;		/* primary and supplementary groups */
	size_t		 ngids;
};

/* A batch's run (dispatch.c). */
struct batch_run {
	int		 started;	/* an attempt has started */
	int		 paused;	/* its reader lags: start none */
	uint64_t	 accepted_us;	/* monotonic */
	uint64_t	 deadline_us;	/* 0: none */
	uint64_t	 finished_us;
	double		 finished;	/* wall clock; 0 while running */
	size_t		 done;
	size_t		 errors;
	struct hostsum	 hosts;		/* summary.hosts (hostsum.c) */
	int		 cancelled;
	enum result_error cancel_code;	/* why, when cancelled */
	struct runq_entry deadline_wake;
	struct event	*done_ev;	/* completion, deferred to the loop */
	void		(*result_cb)(struct batch *, struct job *, void *);
	void		(*done_cb)(struct batch *, void *);
	void		*done_arg;
	TAILQ_ENTRY(batch) entry;	/* every batch in dispatch */
};

/* A batch in the scheduler (sched.c). */
struct batch_sched {
	size_t		 inflight;
	struct ratelimit ratelimit;
	struct runq_entry rate_wake;	/* a batch token comes due */
	struct bhq	*bhqs;		/* its queue per host */
};

/* A batch among its caller's (caller.c). */
struct batch_link {
	struct caller	*caller;	/* while in dispatch */
	TAILQ_ENTRY(batch) entry;
};

/* A batch in the registry (registry.c); its hash handle is hh. */
struct batch_reg {
	double		 created;	/* wall clock, seconds */
	size_t		 retained_bytes;	/* encoded results kept */
	struct event	*expire_ev;	/* async: gone after result_ttl_s */
};

/*
 * A batch: what was asked (batch.c, fixed once parsed), then one part per
 * module that keeps state on it, each written by that module alone.
 */
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
	struct cookiejar *jar;		/* "cookies": true; else NULL */
	struct batch_param *dparams;	/* the defaults' params, in order */
	size_t		 ndparams;
	size_t		 dparam_bytes;	/* their pairs and '&'s */

	struct batch_owner owner;
	struct batch_run run;
	struct batch_sched sched;
	struct batch_link link;
	struct batch_reg reg;
	UT_hash_handle	 hh;		/* registry.c's, by id */
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

/*
 * The URL job sends: its url with the defaults' params and its own added
 * to the query (built on the first call and kept in job->url until
 * batch_job_url_drop(); the spec's url when there are none).
 */
const char *batch_job_url(struct job *job);
void	batch_job_url_drop(struct job *job);

/* Free a batch and everything its jobs own. batch_free(NULL) is a no-op. */
void	batch_free(struct batch *b);

/* "queued", "running", "done" or "cancelled". */
const char *batch_state(const struct batch *b);

/* "wait", "stream" or "async". */
const char *batch_mode_name(enum batch_mode m);

#endif
