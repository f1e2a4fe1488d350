/*
 * listener.c: binding the Unix socket the API is served on.
 *
 * libevhtp's own "unix:" binding leaves the mode to the umask, fails on a
 * stale socket file and silently truncates long paths (docs/pitfalls.md),
 * so we bind the socket here and hand the fd to libevhtp. The socket is
 * created 0600 under a tight umask and only then opened up to socket_mode, so
 * there is no window where it is wider than configured.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"
#include "xmalloc.h"

static int
fill_addr(struct sockaddr_un *sun, const char *path, char **cause)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		xasprintf(cause, "socket path %s is too long for a Unix socket "
		    "(%zu bytes, at most %zu)", path, strlen(path),
		    sizeof(sun->sun_path) - 1);
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Is a live server accepting on this socket file? */
static int
socket_is_live(const struct sockaddr_un *sun)
{
	int fd, live;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

static int
bind_once(int fd, const struct sockaddr_un *sun)
{
	mode_t old = umask(0177);
	int rc;

	rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	umask(old);
	return rc;
}

int
listener_open(const char *path, mode_t mode, gid_t group, int backlog,
    char **cause)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	if (fill_addr(&sun, path, cause) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind_once(fd, &sun) == -1) {
		if (errno != EADDRINUSE)
			goto bindfail;
		if (socket_is_live(&sun)) {
			xasprintf(cause, "%s: another fanoutd is already "
			    "listening there", path);
			goto fail;
		}
		if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			xasprintf(cause, "%s exists and is not a socket; "
			    "not replacing it", path);
			goto fail;
		}
		log_info("removing stale socket %s", path);
		if (unlink(path) == -1 && errno != ENOENT)
			goto bindfail;
		if (bind_once(fd, &sun) == -1)
			goto bindfail;
	}
	if ((group != (gid_t)-1 && chown(path, (uid_t)-1, group) == -1) ||
	    chmod(path, mode) == -1 || listen(fd, backlog) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	return fd;
bindfail:
	xasprintf(cause, "bind %s: %s", path, strerror(errno));
fail:
	close(fd);
	return -1;
}

void
listener_remove(const char *path)
{
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("unlink %s", path);
}
