/*
 * mbox.c: a message box from other threads to one event loop.
 *
 * The transfer threads and the main loop talk only through these: a
 * mutex-protected array of messages and an eventfd that the reader's loop
 * watches. A sender writes the eventfd only when it makes the box
 * non-empty, and the reader takes the whole array at once (swapping in its
 * own, already grown, array), so under load one wake-up and one lock carry
 * hundreds of messages and nothing allocates. The boxes are bounded by
 * their users: at most a few messages per transfer in flight, and the
 * scheduler bounds those.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "log.h"
#include "mbox.h"
#include "xmalloc.h"

int
mbox_init(struct mbox *mb, char **cause)
{
	int rc;

	memset(mb, 0, sizeof(*mb));
	if ((mb->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		xasprintf(cause, "eventfd: %s", strerror(errno));
		return -1;
	}
	if ((rc = pthread_mutex_init(&mb->lock, NULL)) != 0) {
		xasprintf(cause, "pthread_mutex_init: %s", strerror(rc));
		close(mb->fd);
		mb->fd = -1;
		return -1;
	}
	return 0;
}

void
mbox_free(struct mbox *mb)
{
	if (mb->fd == -1)
		return;
	pthread_mutex_destroy(&mb->lock);
	close(mb->fd);
	free(mb->v);
	memset(mb, 0, sizeof(*mb));
	mb->fd = -1;
}

int
mbox_fd(const struct mbox *mb)
{
	return mb->fd;
}

void
mbox_put(struct mbox *mb, int kind, void *obj)
{
	uint64_t one = 1;
	int wake;

	pthread_mutex_lock(&mb->lock);
	if (mb->n == mb->cap) {
		mb->cap = mb->cap ? mb->cap * 2 : 64;
		mb->v = xreallocarray(mb->v, mb->cap, sizeof(*mb->v));
	}
	mb->v[mb->n].kind = kind;
	mb->v[mb->n].obj = obj;
	wake = mb->n++ == 0;
	pthread_mutex_unlock(&mb->lock);
	/*
	 * EAGAIN means the counter is full, which wakes the reader just the
	 * same; nothing else can fail on a valid eventfd.
	 */
	if (wake && write(mb->fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		fatal("mbox_put: eventfd write");
}

size_t
mbox_take(struct mbox *mb, struct mbox_msg **v, size_t *cap)
{
	struct mbox_msg *tmp;
	uint64_t count;
	size_t n, tcap;

	/* Read first: a message put after this read wakes us again. */
	if (read(mb->fd, &count, sizeof(count)) == -1 && errno != EAGAIN)
		fatal("mbox_take: eventfd read");
	pthread_mutex_lock(&mb->lock);
	tmp = mb->v;
	tcap = mb->cap;
	n = mb->n;
	mb->v = *v;
	mb->cap = *cap;
	mb->n = 0;
	pthread_mutex_unlock(&mb->lock);
	*v = tmp;
	*cap = tcap;
	return n;
}
