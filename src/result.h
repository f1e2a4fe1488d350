/*
 * result.h: the outcome of one request, and its JSON form.
 */
#ifndef FANOUTD_RESULT_H
#define FANOUTD_RESULT_H

#include <stddef.h>
#include <stdint.h>

struct job;

/* The closed set of error codes a result can carry (docs/api.md). */
enum result_error {
	RESULT_OK = 0,
	RESULT_DNS_FAILED,
	RESULT_CONNECT_FAILED,
	RESULT_TLS_FAILED,
	RESULT_TIMEOUT,
	RESULT_CONNECTION_CLOSED,
	RESULT_PROTOCOL_ERROR,
	RESULT_CANCELLED,
	RESULT_SHUTDOWN,
	RESULT_INTERNAL,
	RESULT_DEADLINE_EXCEEDED,
	RESULT_CIRCUIT_OPEN,
	RESULT_TOO_MANY_REDIRECTS,
	RESULT_BLOCKED,
	RESULT_NERRORS
};

struct result_name;

/* What a result keeps of the body and how it shows it (body.c). */
enum result_body {
	RESULT_BODY_AUTO = 0,	/* UTF-8 text, else base64 */
	RESULT_BODY_TEXT,	/* decoded from its charset, always text */
	RESULT_BODY_BASE64,	/* always base64 */
	RESULT_BODY_JSON,	/* parsed, in "json" */
	RESULT_BODY_NONE,	/* counted, not kept */
	RESULT_BODY_SHA256	/* hashed, not kept */
};

struct result_header {
	char	*name;		/* lower-cased, UTF-8 */
	char	*value;
	size_t	 next;		/* the next of this name; 0: none */
	int	 repeat;	/* an earlier one has this name */
};

struct result {
	long			 status;	/* 0 when no response */
	struct result_header	*headers;	/* in arrival order */
	size_t			 nheaders, headers_cap;
	struct result_name	*names;		/* distinct names (uthash) */
	int			 headers_truncated; /* some were dropped */
	enum result_body	 body_mode;	/* set before the transfer */
	unsigned char		*body;		/* kept (not NONE, SHA256) */
	size_t			 body_len, body_cap;
	uint64_t		 body_read;	/* bytes read, kept or not */
	void			*digest;	/* SHA256's EVP_MD_CTX */
	int			 truncated;
	double			 queue_ms, dns_ms, connect_ms, tls_ms;
	double			 ttfb_ms, total_ms;
	int			 connect_timeout; /* while connecting */
	int			 http_version;	/* 11, 20; 0: no response */
	int			 tls;		/* over TLS (https) */
	char			 tls_version[8];	/* "1.3"; "": none */
	char			 tls_error[256];	/* why it was refused */
	long			 redirects;
	char			*final_url;	/* NULL: the request's URL */
	char			*redirect_url;	/* a 3xx's Location, resolved */
	char			*cookies;	/* the engine's, after */
	enum result_error	 error;
	char			*error_message;
};

/* One attempt of a request, for its result's attempt_log. */
struct attempt {
	double			 started_ms;	/* since batch accepted */
	long			 status;
	enum result_error	 error;
	double			 total_ms;
};

/* The wire name of an error code ("timeout"), or NULL for RESULT_OK. */
const char *result_error_code(enum result_error e);

/* Zero a result for a new attempt. */
void	result_init(struct result *r);

/* Free everything a result owns; the struct itself is the caller's. */
void	result_clear(struct result *r);

/* Forget headers collected so far (a new status line began). */
void	result_reset_headers(struct result *r);

/*
 * Append one header, keeping at most max (then headers_truncated is set
 * and -1 returned). The name is lower-cased and, like the value when it is
 * encoded, read as ISO-8859-1 unless it is UTF-8, so that two spellings of
 * one name are one name. Copies both. Constant time.
 */
int	result_add_header(struct result *r, const char *name, size_t nlen,
	    const char *value, size_t vlen, size_t max);

/* The first value of header name (lower-case), or NULL. */
const char *result_header(const struct result *r, const char *name);

/*
 * Take body bytes, at most cap in total: kept, hashed or only counted as
 * body_mode says. Returns 0 when all were taken, -1 when the cap was hit
 * (truncated is then set).
 */
int	result_add_body(struct result *r, const void *data, size_t len,
	    uint64_t cap);

/* Set the error, replacing any earlier one (cancel, deadline). */
void	result_replace_error(struct result *r, enum result_error e,
	    const char *msg);

/* Set the error (first one wins) with a printf-style message. */
void	result_set_error(struct result *r, enum result_error e,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * One redirect hop of a "history" request: {"status", "url", "headers"}
 * of the 3xx r that url got. Caller frees; its length in *lenp.
 */
char	*result_hop_encode(const struct result *r, const char *url,
	    size_t *lenp);

/*
 * Encode the result of job (its index, id, method, url with its params,
 * attempt log) as one compact JSON object. Returns a NUL-terminated
 * string the caller frees; its length in *lenp.
 */
char	*result_encode(struct job *job, const struct result *r,
	    size_t *lenp);

#endif
