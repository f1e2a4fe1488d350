/*
 * redirect.h: what a 3xx response means for the request that got it.
 */
#ifndef FANOUTD_REDIRECT_H
#define FANOUTD_REDIRECT_H

#include <stddef.h>

#include "result.h"

enum redirect_verdict {
	REDIRECT_NONE = 0,	/* not a redirect to follow: the response */
	REDIRECT_FOLLOW,	/* send the next hop (out fields set) */
	REDIRECT_FAIL		/* end the request with error and why */
};

struct redirect {
	/* In: the response and the request as this hop sent it. */
	long		 status;
	const char	*target;	/* curl's resolution of Location */
	const char	*method;
	const char	*first_origin;	/* of the request's own url */
	unsigned	 followed;	/* hops followed so far */
	unsigned	 max;		/* max_redirects */
	/* Out, for REDIRECT_FOLLOW. */
	char		*url;		/* the next hop (caller frees) */
	char		*origin;	/* its origin (caller frees) */
	const char	*next_method;	/* static or in's method */
	int		 drop_body;	/* 301/302 POST, 303: no body */
	int		 cross_origin;	/* another origin than the first */
	/* Out, for REDIRECT_FAIL. */
	enum result_error error;
	char		 why[320];
};

/*
 * Judge r's response: follow a 301, 302, 303, 307 or 308 whose Location
 * libcurl could resolve (target, NULL when there was none) to an http or
 * https URL, within max hops; everything else is the response itself or
 * an error. Fails closed: a Location that does not parse is `blocked`.
 * The egress policy is the caller's to apply to r->origin. r starts
 * zeroed (or as an earlier call left it).
 */
enum redirect_verdict redirect_judge(struct redirect *r);

/* Free what redirect_judge() left in r. */
void	redirect_clear(struct redirect *r);

#endif
