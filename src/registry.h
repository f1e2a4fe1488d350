/*
 * registry.h: every open batch by id, its owner, and retained results.
 */
#ifndef FANOUTD_REGISTRY_H
#define FANOUTD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct batch;
struct config;
struct event_base;
struct json_t;

/* Set up on base with cfg (borrowed). */
void	registry_init(struct event_base *base, const struct config *cfg);
void	registry_set_config(const struct config *cfg);

/* Register b (steals it: the registry frees it in registry_remove()). */
void	registry_add(struct batch *b);

/*
 * The batch with this id if uid may see it (its owner, or root); NULL
 * otherwise, whether or not it exists.
 */
struct batch *registry_find(const char *id, uid_t uid);

/* b's results are complete: an async batch is kept result_ttl_s more. */
void	registry_done(struct batch *b);

/* Count an async batch's retained result of len bytes. */
void	registry_retain(struct batch *b, size_t len);

/* Unregister and free b now. */
void	registry_remove(struct batch *b);

/*
 * May a new async batch be accepted? 0 yes; -1 no (retained results are
 * at max_retained_bytes) with *retry_after_s, when room should come.
 */
int	registry_admit(uint64_t *retry_after_s);

/* {"batches": [...]} of what uid may see (root: every batch). */
struct jsonw;
void	registry_list(struct jsonw *w, uid_t uid);

/* Batches registered for uid (running, or async and kept). */
size_t	registry_count_uid(uid_t uid);

/* Encoded result bytes kept for async batches. */
size_t	registry_retained(void);

/* Free every batch (they must be done). */
void	registry_shutdown(void);

#endif
