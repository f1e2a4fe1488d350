/*
 * reload.h: loading the configuration at start and again on SIGHUP.
 */
#ifndef FANOUTD_RELOAD_H
#define FANOUTD_RELOAD_H

struct config;
struct json_t;

/*
 * Load the file (the given one, else the default when it exists) over the
 * defaults, then the command-line overrides (-s, -l). Returns -1 with
 * *cause (caller frees). file, sock and level are kept (borrowed) for
 * reloads; cfg is the live configuration every module points at.
 */
int	reload_load(struct config *cfg, const char *file, const char *sock,
	    const char *level, char **cause);

/*
 * SIGHUP: load the file again into a scratch copy; if it loads, make it
 * the live configuration (same address, new contents) and tell the modules;
 * if not, keep the old one. Either way the outcome is logged and kept for
 * GET /v1/config. Returns 0 when the new configuration is live.
 */
int	reload_run(void);

/* {"file", "started", "last_reload": {"at", "ok", "error"}} (caller
 * decrefs). */
struct json_t *reload_status(void);

/* Free what reload keeps. */
void	reload_shutdown(void);

#endif
