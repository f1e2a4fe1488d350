/*
 * notify.c: the daemon's side of the systemd service contract.
 *
 * Type=notify: READY=1 once the API accepts requests, RELOADING=1 (with
 * MONOTONIC_USEC, as systemd 253's notify-reload expects) and READY=1
 * around a reload, STOPPING=1 when draining starts, STATUS= lines, and
 * WATCHDOG=1 from the event loop at half of WatchdogSec, so a loop that
 * wedges gets the service restarted. Socket activation hands us the API
 * socket (sd_listen_fds checks LISTEN_PID). See docs/pitfalls.md for
 * systemd 252's limits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <event2/event.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
/* Built without libsystemd: not run by systemd, nothing to tell it. */
#define SD_LISTEN_FDS_START	3

static int
sd_notify(int unset, const char *state)
{
	(void)unset;
	(void)state;
	return 0;
}

static int
sd_notifyf(int unset, const char *fmt, ...)
{
	(void)unset;
	(void)fmt;
	return 0;
}

static int
sd_watchdog_enabled(int unset, uint64_t *usec)
{
	(void)unset;
	(void)usec;
	return 0;
}

static int
sd_listen_fds(int unset)
{
	(void)unset;
	return 0;
}

static int
sd_is_socket_unix(int fd, int type, int listening, const char *path,
    size_t len)
{
	(void)fd;
	(void)type;
	(void)listening;
	(void)path;
	(void)len;
	return 0;
}
#endif

#include "clock.h"
#include "log.h"
#include "notify.h"
#include "xmalloc.h"

static struct event *watchdog_ev;

static void
watchdog_cb(evutil_socket_t fd, short kind, void *arg)
{
	(void)fd;
	(void)kind;
	(void)arg;
	sd_notify(0, "WATCHDOG=1");
}

void
notify_init(struct event_base *base)
{
	uint64_t usec = 0;
	struct timeval tv;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	usec /= 2;
	tv = clock_tv(usec);
	watchdog_ev = event_new(base, -1, EV_PERSIST, watchdog_cb, NULL);
	if (watchdog_ev == NULL || event_add(watchdog_ev, &tv) == -1)
		fatalx("notify: watchdog timer");
	log_info("systemd watchdog: keep-alive every %llu ms",
	    (unsigned long long)(usec / 1000));
}

void
notify_shutdown(void)
{
	if (watchdog_ev != NULL)
		event_free(watchdog_ev);
	watchdog_ev = NULL;
}

void
notify_ready(void)
{
	sd_notify(0, "READY=1");
}

void
notify_reloading(void)
{
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)clock_now_us());
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void
notify_status(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", line);
}

int
notify_listen_fd(char **cause)
{
	int n = sd_listen_fds(1);

	if (n <= 0)
		return -1;
	if (n > 1) {
		xasprintf(cause, "systemd passed %d sockets; fanoutd takes one",
		    n);
		return -2;
	}
	if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL,
	    0) <= 0) {
		xasprintf(cause, "the socket systemd passed is not a listening "
		    "Unix stream socket");
		return -2;
	}
	/*
	 * systemd passes it blocking; libevent's listener accepts until
	 * EAGAIN, so a blocking socket would stall the loop at the second
	 * accept.
	 */
	if (fcntl(SD_LISTEN_FDS_START, F_SETFL, fcntl(SD_LISTEN_FDS_START,
	    F_GETFL) | O_NONBLOCK) == -1) {
		xasprintf(cause, "fcntl O_NONBLOCK on the systemd socket: %s",
		    strerror(errno));
		return -2;
	}
	return SD_LISTEN_FDS_START;
}
