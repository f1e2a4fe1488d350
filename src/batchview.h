/*
 * batchview.h: every JSON text that describes a batch, written one way.
 */
#ifndef FANOUTD_BATCHVIEW_H
#define FANOUTD_BATCHVIEW_H

#include <stddef.h>
#include <stdint.h>

struct batch;
struct evbuffer;
struct jsonw;

/* {"total","responses","errors","elapsed_ms"} (elapsed: to now if open). */
void	batchview_summary(struct jsonw *w, const struct batch *b,
	    uint64_t now_us);

/* {"total","done","inflight","queued"}. */
void	batchview_progress(struct jsonw *w, const struct batch *b);

/*
 * GET /v1/batches/ID: id, state, mode, owner, progress, summary, created,
 * finished and, with_results, the results held, embedded as they were
 * encoded (never parsed again).
 */
void	batchview_status(struct jsonw *w, const struct batch *b,
	    int with_results, uint64_t now_us);

/* One entry of GET /v1/batches. */
void	batchview_list_entry(struct jsonw *w, const struct batch *b);

/*
 * The wait-mode reply: {"batch_id","summary","results":[...]}, every
 * result handed to out without a copy (the jobs give them up).
 */
void	batchview_reply(struct batch *b, struct evbuffer *out);

/* Stream lines (NDJSON, without the newline). */
void	batchview_stream_start(struct jsonw *w, const struct batch *b);
void	batchview_stream_progress(struct jsonw *w, const struct batch *b);
void	batchview_stream_summary(struct jsonw *w, const struct batch *b,
	    uint64_t now_us);
/* The line for a stream cut short (0: none is due, nothing written). */
int	batchview_stream_error(struct jsonw *w, const struct batch *b);

#endif
