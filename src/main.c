/*
 * main.c: fanoutd, the HTTP request fan-out daemon.
 *
 * Reads the configuration, binds the API socket, and runs one libevent loop
 * that serves the API (api.c) and drives every outbound transfer
 * (http_client.c) through the dispatcher (dispatch.c). Modules start in
 * order and stop in exact reverse. SIGINT/SIGTERM stop accepting, end what
 * is still running with error `shutdown`, let the waiting clients have their
 * replies, remove the socket and exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
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
#include "log.h"
#include "registry.h"
#include "xmalloc.h"

#define SHUTDOWN_GRACE_S	5	/* at most this long to flush replies */

static struct event_base *base;
static int stopping;

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
	event_base_loopexit(base, NULL);
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

static void
on_signal(evutil_socket_t sig, short kind, void *arg)
{
	struct timeval grace = { SHUTDOWN_GRACE_S, 0 };

	(void)kind;
	(void)arg;
	if (stopping) {
		log_info("signal %d again: exiting now", (int)sig);
		loop_exit();
		return;
	}
	stopping = 1;
	log_info("signal %d: shutting down (%zu batches, %zu in flight)",
	    (int)sig, dispatch_batches(), dispatch_inflight());
	event_base_once(base, -1, EV_TIMEOUT, grace_expired, NULL, &grace);
	api_stop(loop_exit);
	dispatch_cancel_all(RESULT_SHUTDOWN, "fanoutd is shutting down");
}

/* -s may be relative to the working directory; the config wants it whole. */
static int
absolute_socket(struct config *cfg, const char *sock, char **cause)
{
	char cwd[PATH_MAX], *abs;
	int rc;

	if (sock[0] == '/')
		return config_set(cfg, "socket", sock, cause);
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		xasprintf(cause, "getcwd: %s", strerror(errno));
		return -1;
	}
	xasprintf(&abs, "%s/%s", cwd, sock);
	rc = config_set(cfg, "socket", abs, cause);
	free(abs);
	return rc;
}

/* Load the file (given or default), then the command-line overrides. */
static int
load_config(struct config *cfg, const char *file, const char *sock,
    const char *level, char **cause)
{
	const char *deffile = SYSCONFDIR "/fanoutd/fanoutd.conf";

	config_defaults(cfg);
	if (file == NULL && access(deffile, F_OK) == 0)
		file = deffile;
	if (file != NULL && config_load(cfg, file, cause) == -1)
		return -1;
	if (sock != NULL && absolute_socket(cfg, sock, cause) == -1)
		return -1;
	if (level != NULL && config_set(cfg, "log_level", level, cause) == -1)
		return -1;
	return 0;
}

static void
seed_json(void)
{
	size_t seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		fatal("getrandom");
	json_object_seed(seed);
}

static void
on_sighup(evutil_socket_t sig, short kind, void *arg)
{
	(void)sig;
	(void)kind;
	(void)arg;
	log_warnx("SIGHUP: configuration reload is not supported yet; "
	    "restart fanoutd to apply a new configuration");
}

static int
run(struct config *cfg)
{
	struct event *sigint, *sigterm, *sighup;
	char *cause = NULL;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	seed_json();
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (http_client_init(base, &cause) == -1)
		fatalx("%s", cause);
	dispatch_init(base, cfg);
	registry_init(base, cfg);
	if ((fd = listener_open(cfg->socket, (mode_t)cfg->socket_mode, 1024,
	    &cause)) == -1 || api_init(base, fd, cfg, &cause) == -1) {
		log_error("%s", cause);
		free(cause);
		return 1;
	}
	sigint = evsignal_new(base, SIGINT, on_signal, NULL);
	sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
	sighup = evsignal_new(base, SIGHUP, on_sighup, NULL);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sighup, NULL);
	log_info("fanoutd %s listening on %s (max_inflight %llu, curl %s)",
	    PACKAGE_VERSION, cfg->socket,
	    (unsigned long long)cfg->max_inflight, http_client_version());

	event_base_dispatch(base);

	event_free(sighup);
	event_free(sigterm);
	event_free(sigint);
	api_shutdown();
	listener_remove(cfg->socket);
	/* Run completions that closing connections triggered, then free. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	registry_shutdown();
	dispatch_shutdown();
	http_client_shutdown();
	event_base_free(base);
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
	while ((ch = getopt_long(argc, argv, "c:s:l:nVh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 's': sock = optarg; break;
		case 'l': level = optarg; break;
		case 'n': check = 1; break;
		case 'V': printf("fanoutd %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (load_config(&cfg, file, sock, level, &cause) == -1) {
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
	rc = run(&cfg);
	config_clear(&cfg);
	return rc;
}
