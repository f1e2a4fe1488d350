/*
 * notify.h: telling systemd what the daemon is doing (sd_notify), and
 * taking the API socket from it (socket activation). Without libsystemd
 * (./configure --without-systemd) these do nothing.
 */
#ifndef FANOUTD_NOTIFY_H
#define FANOUTD_NOTIFY_H

struct event_base;

/* Start the watchdog keep-alive on base if systemd asked for one. */
void	notify_init(struct event_base *base);

/* READY=1: the API accepts requests. */
void	notify_ready(void);

/* RELOADING=1 with MONOTONIC_USEC, before a reload; READY=1 after. */
void	notify_reloading(void);

/* STOPPING=1: the daemon is draining to exit. */
void	notify_stopping(void);

/* A STATUS= line (shown by systemctl status). */
void	notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * The listening socket systemd passed (LISTEN_FDS, for this pid), or -1
 * when none was passed. More than one, or one that is not a listening
 * Unix stream socket, is an error: -2 with *cause (caller frees).
 */
int	notify_listen_fd(char **cause);

/* Stop the watchdog timer. */
void	notify_shutdown(void);

#endif
