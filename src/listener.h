/*
 * listener.h: the API's Unix socket: bind it safely, remove it on exit.
 */
#ifndef FANOUTD_LISTENER_H
#define FANOUTD_LISTENER_H

#include <sys/types.h>

/*
 * Bind and listen on the Unix socket at path with permissions mode (and
 * group, unless it is (gid_t)-1). A stale
 * socket file left by a dead daemon is replaced; one where a live daemon
 * answers is not. Returns the listening fd (non-blocking, close-on-exec),
 * or -1 with *cause (caller frees).
 */
int	listener_open(const char *path, mode_t mode, gid_t group, int backlog,
	    char **cause);

/* Remove the socket file we created (at exit). */
void	listener_remove(const char *path);

#endif
