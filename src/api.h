/*
 * api.h: the HTTP/1.1 + JSON API on the Unix socket. Only the api*.c files
 * include libevhtp's headers (api_int.h); this interface has none.
 */
#ifndef FANOUTD_API_H
#define FANOUTD_API_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct event_base;

/*
 * Make libevhtp (and through it libevent) allocate with xmalloc_lib():
 * call before anything else uses libevent.
 */
void	api_set_allocator(void);

/*
 * Serve the API on the already-listening socket fd (steals it), with limits
 * from cfg (borrowed; it must outlive the API). Returns -1 with *cause.
 */
int	api_init(struct event_base *base, int fd, const struct config *cfg,
	    char **cause);

/* Take no new batches (503 draining); /readyz says so. Health goes on. */
void	api_drain(void);

/* The configuration changed (reload): apply what the API uses. */
void	api_reconfigure(void);

/*
 * Stop accepting connections; requests on open connections get 503. Once
 * no client is waiting for a batch reply (now, or when the last reply has
 * been written), idle_cb runs once from the loop.
 */
void	api_stop(void (*idle_cb)(void));

/* Free the server (connections still open are dropped). */
void	api_shutdown(void);

#endif
