/*
 * main.c: fanoutd, the HTTP request fan-out daemon.
 *
 * Reads the configuration, binds the API socket, and runs the main libevent
 * loop, which serves the API (api*.c), schedules every request (dispatch.c,
 * sched.c) and runs transfers itself and on `workers` transfer threads with
 * loops of their own (http_client.c). Modules start in order and stop in
 * exact reverse; the transfer threads are joined first (http_client_stop),
 * since they read requests the registry and dispatcher free.
 * SIGINT/SIGTERM stop taking batches, let running ones finish for up to
 * drain_timeout_ms, end what is left with error `shutdown`, let the
 * waiting clients have their replies, remove the socket and exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "api.h"
#include "config.h"
#include "dispatch.h"
#include "http_client.h"
#include "listener.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "registry.h"
#include "reload.h"
#include "fleet_link.h"
#include "xmalloc.h"

#define SHUTDOWN_GRACE_S	5	/* at most this long to flush replies */

enum phase { RUNNING, DRAINING, STOPPING };

static struct {
	struct event_base	*base;
	struct config		*cfg;
	enum phase		 phase;
	struct event		*drain_timer;
	struct event		*status_timer;
	int			 activated;	/* socket from systemd */
	int			 on_api_idle;	/* STOPPING: replies are out */
} m;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: fanoutd [-n] [-c FILE] [-s PATH] [-l LEVEL]\n"
	    "       fanoutd -V | -h\n"
	    "\n"
	    "  -c, --config FILE      configuration file (default %s)\n"
	    "  -s, --socket PATH      API Unix socket (default %s)\n"
	    "  -l, --log-level LEVEL  error, warn, info or debug\n"
	    "  -n, --check-config     validate the configuration and exit\n"
	    "  -V, --version          print the version and exit\n"
	    "  -h, --help             print this help and exit\n",
	    SYSCONFDIR "/fanoutd/fanoutd.conf", CONFIG_DEFAULT_SOCKET);
}

static void
loop_exit(void)
{
	event_base_loopexit(m.base, NULL);
}

static void
grace_expired(evutil_socket_t fd, short kind, void *arg)
{
	(void)fd;
	(void)kind;
	(void)arg;
	log_warnx("replies not flushed after %d s; exiting",
	    SHUTDOWN_GRACE_S);
	loop_exit();
}

/*
 * STOPPING: exit once the replies are out and every batch has ended. A
 * transfer on a thread ends a moment after its abort, so the API may be
 * idle before the last batch is.
 */
static void
maybe_exit(void)
{
	if (m.phase == STOPPING && m.on_api_idle && dispatch_batches() == 0)
		loop_exit();
}

static void
on_api_idle(void)
{
	m.on_api_idle = 1;
	maybe_exit();
}

static void drained(void);

/* End what is left with `shutdown`, then exit once replies are out. */
static void
stop_now(void)
{
	struct timeval grace = { SHUTDOWN_GRACE_S, 0 };

	if (m.phase == STOPPING)
		return;
	m.phase = STOPPING;
	event_base_once(m.base, -1, EV_TIMEOUT, grace_expired, NULL, &grace);
	dispatch_set_idle_cb(drained);
	api_stop(on_api_idle);
	dispatch_cancel_all(RESULT_SHUTDOWN, "fanoutd is shutting down");
}

/* The last batch has ended: while draining, stop; while stopping, exit. */
static void
drained(void)
{
	if (m.phase == DRAINING && dispatch_batches() == 0) {
		log_info("drained");
		stop_now();
	}
	maybe_exit();
}

static void
drain_expired(evutil_socket_t fd, short kind, void *arg)
{
	(void)fd;
	(void)kind;
	(void)arg;
	log_warnx("drain_timeout_ms (%llu) passed with %zu batches open; "
	    "ending them", (unsigned long long)m.cfg->drain_timeout_ms,
	    dispatch_batches());
	stop_now();
}

/*
 * SIGTERM/SIGINT: drain (take no new batches, let the running ones finish
 * within drain_timeout_ms); a second signal skips the wait.
 */
static void
on_signal(evutil_socket_t sig, short kind, void *arg)
{
	struct timeval tv;

	(void)kind;
	(void)arg;
	if (m.phase != RUNNING) {
		log_info("signal %d again: not waiting", (int)sig);
		if (m.phase == STOPPING)
			loop_exit();
		stop_now();
		return;
	}
	m.phase = DRAINING;
	notify_stopping();
	log_info("signal %d: draining (%zu batches, %zu in flight, at most "
	    "%llu ms)", (int)sig, dispatch_batches(), dispatch_inflight(),
	    (unsigned long long)m.cfg->drain_timeout_ms);
	api_drain();
	tv = clock_tv(m.cfg->drain_timeout_ms * 1000);
	m.drain_timer = evtimer_new(m.base, drain_expired, NULL);
	evtimer_add(m.drain_timer, &tv);
	dispatch_set_idle_cb(drained);
	drained();
}

static void
on_sighup(evutil_socket_t sig, short kind, void *arg)
{
	(void)sig;
	(void)kind;
	(void)arg;
	if (reload_run() == 0)
		api_reconfigure();
}

/* STATUS= for systemctl status, refreshed every few seconds. */
static void
status_cb(evutil_socket_t fd, short kind, void *arg)
{
	(void)fd;
	(void)kind;
	(void)arg;
	notify_status("%s: %zu batches, %zu in flight, %zu queued",
	    m.phase == RUNNING ? "running" : "draining", dispatch_batches(),
	    dispatch_inflight(), dispatch_queued());
}

static void
seed_json(void)
{
	size_t seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		fatal("getrandom");
	json_object_seed(seed);
}

/* The API socket: from systemd when activated, else bound here. */
static int
open_socket(char **cause)
{
	int fd;

	if ((fd = notify_listen_fd(cause)) == -2)
		return -1;
	if (fd >= 0) {
		m.activated = 1;
		log_info("using the socket passed by systemd");
		return fd;
	}
	return listener_open(m.cfg->socket, (mode_t)m.cfg->socket_mode,
	    m.cfg->socket_group.n ? (gid_t)m.cfg->socket_group.ids[0] :
	    (gid_t)-1, 1024, cause);
}

/*
 * Every API connection and transfer is a descriptor: take the hard limit
 * as the soft one (systemd gives services 1024 soft, 512K hard), so that
 * api_max_connections plus max_inflight fit.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit RLIMIT_NOFILE");
}

static int
run(struct config *cfg)
{
	struct event *sigint, *sigterm, *sighup;
	struct timeval two = { 2, 0 };
	char *cause = NULL;
	int fd;

	m.cfg = cfg;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	seed_json();
	if ((m.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (http_client_init(m.base, (unsigned)cfg->workers, &cause) == -1)
		fatalx("%s", cause);
	dispatch_init(m.base, cfg);
	fleet_link_init(m.base, cfg);
	registry_init(m.base, cfg);
	metrics_init(cfg, clock_now_us());
	if ((fd = open_socket(&cause)) == -1 ||
	    api_init(m.base, fd, cfg, &cause) == -1) {
		log_error("%s", cause);
		free(cause);
		return 1;
	}
	sigint = evsignal_new(m.base, SIGINT, on_signal, NULL);
	sigterm = evsignal_new(m.base, SIGTERM, on_signal, NULL);
	sighup = evsignal_new(m.base, SIGHUP, on_sighup, NULL);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sighup, NULL);
	notify_init(m.base);
	m.status_timer = event_new(m.base, -1, EV_PERSIST, status_cb, NULL);
	evtimer_add(m.status_timer, &two);
	log_info("fanoutd %s listening on %s (max_inflight %llu, curl %s)",
	    PACKAGE_VERSION, m.activated ? "the socket from systemd" :
	    cfg->socket,
	    (unsigned long long)cfg->max_inflight, http_client_version());
	notify_ready();

	event_base_dispatch(m.base);

	notify_shutdown();
	event_free(m.status_timer);
	if (m.drain_timer != NULL)
		event_free(m.drain_timer);
	event_free(sighup);
	event_free(sigterm);
	event_free(sigint);
	api_shutdown();
	if (!m.activated)	/* systemd's socket stays systemd's */
		listener_remove(cfg->socket);
	/* Run completions that closing connections triggered, then free. */
	event_base_loop(m.base, EVLOOP_NONBLOCK);
	http_client_stop();	/* threads stop before jobs are freed */
	fleet_link_shutdown();
	registry_shutdown();
	dispatch_shutdown();
	http_client_shutdown();
	event_base_free(m.base);
	log_info("stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *file = NULL, *sock = NULL, *level = NULL;
	struct config cfg;
	char *cause = NULL;
	int ch, check = 0, rc;

	log_init("fanoutd", LOG_LVL_INFO);
	/* Libraries fail like we do on a failed allocation (xmalloc.c). */
	xmalloc_init();
	event_set_mem_functions(xmalloc_lib, xrealloc_lib, free);
	api_set_allocator();
	json_set_alloc_funcs(xmalloc_lib, free);
	while ((ch = getopt_long(argc, argv, "c:s:l:nVh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 's': sock = optarg; break;
		case 'l': level = optarg; break;
		case 'n': check = 1; break;
		case 'V':
			printf("fanoutd %s (systemd notify and socket "
			    "activation: %s)\n", PACKAGE_VERSION,
#ifdef HAVE_SYSTEMD
			    "yes");
#else
			    "no");
#endif
			return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (reload_load(&cfg, file, sock, level, &cause) == -1) {
		fprintf(stderr, "fanoutd: %s\n", cause);
		free(cause);
		config_clear(&cfg);
		return 1;
	}
	if (check) {
		printf("configuration OK\n");
		config_clear(&cfg);
		return 0;
	}
	log_setlevel((enum log_level)cfg.log_level);
	log_setjson(cfg.log_format == 1);
	rc = run(&cfg);
	reload_shutdown();
	config_clear(&cfg);
	return rc;
}
