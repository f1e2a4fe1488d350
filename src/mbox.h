/*
 * mbox.h: a message box from one or more threads to one event loop.
 */
#ifndef FANOUTD_MBOX_H
#define FANOUTD_MBOX_H

#include <pthread.h>
#include <stddef.h>

/* A message: the sender's tag and object (borrowed). */
struct mbox_msg {
	int	 kind;
	void	*obj;
};

struct mbox {
	pthread_mutex_t	 lock;
	struct mbox_msg	*v;		/* waiting, oldest first */
	size_t		 n, cap;
	int		 fd;		/* eventfd: readable while not taken */
};

/* Set up an empty box. Returns -1 with *cause (caller frees). */
int	mbox_init(struct mbox *mb, char **cause);

/* Free the box; messages still in it are dropped (objects borrowed). */
void	mbox_free(struct mbox *mb);

/* The descriptor to watch for reading: messages are waiting. */
int	mbox_fd(const struct mbox *mb);

/*
 * Append a message; from any thread. Wakes the reader only when the box
 * was empty, so a busy reader takes many messages per wake-up.
 */
void	mbox_put(struct mbox *mb, int kind, void *obj);

/*
 * Take every waiting message, oldest first: *v (capacity *cap, the
 * caller's, may be NULL) is swapped with the box's array, so neither side
 * allocates once both have grown. Returns how many are in *v. From the
 * reading thread only, when mbox_fd() is readable (or at any time).
 */
size_t	mbox_take(struct mbox *mb, struct mbox_msg **v, size_t *cap);

#endif
