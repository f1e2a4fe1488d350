/*
 * log.c: the daemon's only way of talking to its operator.
 *
 * fanoutd runs in the foreground under systemd, which adds timestamps and
 * the unit name, so a line is just "fanoutd: level: message" on stderr, or
 * one JSON object for log shippers (log_format = json). Level and format
 * can change at run time (reload). Modelled on OpenBSD's log.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"

static const char *log_progname = "fanoutd";
static enum log_level log_level = LOG_LVL_INFO;
static int log_json;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_level = level;
}

void
log_setjson(int json)
{
	log_json = json;
}

void
log_setlevel(enum log_level level)
{
	log_level = level;
}

int
log_level_parse(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return level_names[level];
}

/* {"program","level","message"[,"error"]} on one line; -1 if it fails. */
static int
json_line(enum log_level level, int errnum, const char *msg)
{
	json_t *j = json_pack("{s:s,s:s,s:s}", "program", log_progname,
	    "level", level_names[level], "message", msg);
	char *s;

	if (j != NULL && errnum >= 0)
		json_object_set_new(j, "error", json_string(strerror(errnum)));
	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		return -1;	/* text it is, then */
	}
	json_decref(j);
	fprintf(stderr, "%s\n", s);
	free(s);
	return 0;
}

static void vlog(enum log_level, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

/* Format one line; errnum >= 0 appends its strerror. */
static void
vlog(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char msg[2048];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_json && json_line(level, errnum, msg) == 0)
		return;
	if (errnum >= 0)
		fprintf(stderr, "%s: %s: %s: %s\n", log_progname,
		    level_names[level], msg, strerror(errnum));
	else
		fprintf(stderr, "%s: %s: %s\n", log_progname,
		    level_names[level], msg);
}

#define LOG_FN(name, level, witherrno)			\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	int saved = errno;				\
							\
	va_start(ap, fmt);				\
	vlog(level, witherrno ? saved : -1, fmt, ap);	\
	va_end(ap);					\
	errno = saved;					\
}

LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_error, LOG_LVL_ERROR, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, -1, fmt, ap);
	va_end(ap);
	exit(1);
}
