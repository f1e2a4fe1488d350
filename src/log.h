/*
 * log.h: leveled logging to stderr and the fatal() exits.
 */
#ifndef FANOUTD_LOG_H
#define FANOUTD_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

/* Set the program name used as prefix and the initial level. */
void	log_init(const char *progname, enum log_level level);

/* Lines as text ("fanoutd: level: message") or one JSON object each. */
void	log_setjson(int json);

/* Change the level at run time (SIGHUP reload, -l). */
void	log_setlevel(enum log_level level);

/* Parse "error", "warn", "info" or "debug"; returns -1 on anything else. */
int	log_level_parse(const char *s);

/* Name of a level, for printing the effective configuration. */
const char *log_level_name(enum log_level level);

/* log_warn appends strerror(errno). */
void	log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_error(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* Out of memory or a broken invariant: log and exit(1). fatal appends errno. */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
