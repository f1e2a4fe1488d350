/*
 * reload.c: the configuration's life: loaded at start, reloaded on SIGHUP.
 *
 * A reload reads the file into a scratch copy first; only a copy that
 * loads and validates replaces the live one (nginx's rule: a bad file
 * never takes a running daemon down). The live struct keeps its address,
 * so every module's pointer to it sees the new values; limits, timeouts
 * defaults and the log level apply to work started from then on, and
 * nothing in flight is dropped. Options marked restart-only in the table
 * (option.c: the socket and its mode and group, health_listen, workers)
 * keep their live values; a reload that changes one says so in the log.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "option.h"
#include "notify.h"
#include "registry.h"
#include "reload.h"
#include "fleet_link.h"
#include "xmalloc.h"

static struct {
	struct config	*live;
	const char	*file;		/* as given, or NULL */
	const char	*sock;		/* -s */
	const char	*level;		/* -l */
	char		*loaded;	/* the file actually read, or NULL */
	double		 at;		/* last reload, wall clock; 0: none */
	uint64_t	 count;		/* reloads tried */
	int		 ok;
	char		*error;
	double		 started;
} rl;

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

/* The file, defaults and overrides into cfg (already config_defaults()). */
static int
load(struct config *cfg, char **cause)
{
	const char *deffile = SYSCONFDIR "/fanoutd/fanoutd.conf";
	const char *file = rl.file;

	if (file == NULL && access(deffile, F_OK) == 0)
		file = deffile;
	free(rl.loaded);
	rl.loaded = file ? xstrdup(file) : NULL;
	if (file != NULL && config_load(cfg, file, cause) == -1)
		return -1;
	if (rl.sock != NULL && absolute_socket(cfg, rl.sock, cause) == -1)
		return -1;
	if (rl.level != NULL &&
	    config_set(cfg, "log_level", rl.level, cause) == -1)
		return -1;
	return 0;
}

int
reload_load(struct config *cfg, const char *file, const char *sock,
    const char *level, char **cause)
{
	rl.live = cfg;
	rl.file = file;
	rl.sock = sock;
	rl.level = level;
	rl.started = clock_wall();
	config_defaults(cfg);
	return load(cfg, cause);
}

static void
record(int ok, const char *error)
{
	rl.at = clock_wall();
	rl.count++;
	rl.ok = ok;
	free(rl.error);
	rl.error = error ? xstrdup(error) : NULL;
}

/* A restart-only option (option.c: OPT_RESTART) changed in the file. */
static void
restart_only(const struct option *o, const char *live, const char *wanted)
{
	log_warnx("reload: %s changes (\"%s\" to \"%s\") only at the next "
	    "restart; keeping \"%s\"", o->name, live, wanted, live);
}

int
reload_run(void)
{
	struct config next;
	char *cause = NULL;

	notify_reloading();
	config_defaults(&next);
	if (load(&next, &cause) == -1) {
		log_error("reload refused, the old configuration stays: %s",
		    cause);
		record(0, cause);
		free(cause);
		config_clear(&next);
		notify_ready();
		return -1;
	}
	option_keep_restart(&next, rl.live, restart_only);
	config_clear(rl.live);	/* threads read only policy snapshots */
	*rl.live = next;	/* the same address: every module sees it */
	log_setlevel((enum log_level)rl.live->log_level);
	log_setjson(rl.live->log_format == 1);
	dispatch_set_config(rl.live);
	fleet_link_configure(rl.live);
	registry_set_config(rl.live);
	record(1, NULL);
	log_info("reloaded %s", rl.loaded ? rl.loaded : "(defaults)");
	notify_ready();
	return 0;
}


json_t *
reload_status(void)
{
	json_t *last = json_null();

	if (rl.at > 0)
		last = json_pack("{s:o,s:I,s:b,s:s?}", "at",
		    clock_json(rl.at), "count", (json_int_t)rl.count, "ok",
		    rl.ok, "error", rl.error);
	return json_pack("{s:s?,s:o,s:o}", "file", rl.loaded,
	    "started", clock_json(rl.started), "last_reload", last);
}

void
reload_shutdown(void)
{
	free(rl.loaded);
	free(rl.error);
	memset(&rl, 0, sizeof(rl));
}
