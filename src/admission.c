/*
 * admission.c: the one place that decides whether a batch is accepted.
 *
 * fanoutd accepts work only when it can finish it: a batch that would
 * take the daemon past max_queued_requests, its user past
 * max_batches_per_uid or the user's cap on unfinished requests
 * (max_queued_per_uid, or a [user]/[group] section's max_queued), or an
 * async batch when retained results are at max_retained_bytes, is refused
 * at once with 429 and a Retry-After; a batch bigger than the user's cap
 * could ever be is 413 (split it). The figures come from the caller.
 */
#include <stdio.h>
#include <string.h>

#include "admission.h"

/* Fill r for a refusal; the message is the caller's snprintf. */
static int
refuse(struct admission_refusal *r, int status, const char *code,
    const char *path, uint64_t retry_s)
{
	r->status = status;
	r->code = code;
	r->path = path;
	r->retry_after_s = retry_s;
	return -1;
}

int
admission_judge(const struct admission *a, struct admission_refusal *r)
{
	memset(r, 0, sizeof(*r));
	if (a->user_cap != 0 && a->njobs > a->user_cap) {
		snprintf(r->message, sizeof(r->message), "the batch has %zu "
		    "requests, more than your cap of %zu unfinished requests "
		    "(max_queued_per_uid or max_queued in your [user]/[group] "
		    "section); split it", a->njobs, a->user_cap);
		return refuse(r, 413, "payload_too_large", "requests", 0);
	}
	if (a->open + a->njobs > a->max_queued) {
		snprintf(r->message, sizeof(r->message), "%zu requests are "
		    "queued or running; %zu more would pass "
		    "max_queued_requests (%llu)", a->open, a->njobs,
		    (unsigned long long)a->max_queued);
		return refuse(r, 429, "overloaded", NULL, 1);
	}
	if (a->user_batches >= a->max_user_batches) {
		snprintf(r->message, sizeof(r->message), "you have %zu open "
		    "batches (max_batches_per_uid %llu)", a->user_batches,
		    (unsigned long long)a->max_user_batches);
		return refuse(r, 429, "overloaded", NULL, 1);
	}
	if (a->user_cap != 0 && a->user_unfinished + a->njobs > a->user_cap) {
		snprintf(r->message, sizeof(r->message), "you have %zu "
		    "requests unfinished; %zu more would pass your cap of %zu "
		    "(max_queued_per_uid or max_queued in your [user]/[group] "
		    "section)", a->user_unfinished, a->njobs, a->user_cap);
		return refuse(r, 429, "overloaded", NULL, 1);
	}
	if (a->async && a->retained_full) {
		snprintf(r->message, sizeof(r->message), "retained async "
		    "results are at max_retained_bytes; retry later");
		return refuse(r, 429, "overloaded", NULL,
		    a->retained_retry_s ? a->retained_retry_s : 1);
	}
	return 0;
}
