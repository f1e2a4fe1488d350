/*
 * option.h: the option table, the single place a [fanoutd] setting is
 * defined (name, type, default, bounds, choices, restart-only, help).
 */
#ifndef FANOUTD_OPTION_H
#define FANOUTD_OPTION_H

#include <stddef.h>
#include <stdint.h>

struct config;

enum opt_type {
	OPT_NUMBER,	/* decimal integer in min..max */
	OPT_SIZE,	/* bytes, optional K/M/G suffix (powers of 1024) */
	OPT_THREADS,	/* a number, or "auto": CPUs less one */
	OPT_MODE,	/* octal file mode up to max */
	OPT_CHOICE,	/* one of choices[], stored as its index */
	OPT_BOOL,	/* yes/no, true/false, on/off, 1/0 */
	OPT_PATH,	/* absolute path of at most max bytes */
	OPT_LISTEN,	/* "" or a loopback ADDR:PORT */
	OPT_PROXY,	/* "" or http|https|socks5h://host:port */
	OPT_REDIS,	/* "" or unix:/path or tcp://IP:PORT[/DB] */
	OPT_PREFIX,	/* printable, no spaces or braces, up to max bytes */
	OPT_SECRET,	/* "" or the absolute path of a file read now */
	OPT_UIDS,	/* user names or uids, space or comma separated */
	OPT_GIDS,	/* group names or gids; at most max of them if set */
	OPT_RULES,	/* egress rules, added to the policy's list */
	OPT_NTYPES
};

#define OPT_RESTART	0x1	/* read at start only; a reload keeps it */

struct option {
	const char		*name;
	enum opt_type		 type;
	const char		*def;		/* text, parsed as a value */
	uint64_t		 min, max;
	const char *const	*choices;	/* OPT_CHOICE; NULL ends */
	size_t			 offset;	/* in struct config */
	int			 flags;
	const char		*at_most;	/* an option it may not pass */
	const char		*help;
};

/* The i-th option, or NULL past the end. */
const struct option *option_at(size_t i);

/* The option called name, or NULL. */
const struct option *option_find(const char *name);

/* The options' count (for per-option arrays). */
size_t	option_count(void);

/*
 * Check value and store it in cfg; returns NULL, or a reason (static, or
 * in the caller's why[len]) naming what the value must be.
 */
const char *option_apply(struct config *cfg, const struct option *o,
	    const char *value, char *why, size_t len);

/* The text form of o's value in cfg, as option_apply() takes it. */
void	option_format(const struct config *cfg, const struct option *o,
	    char *buf, size_t len);

/* Is o's value a number (a JSON integer in GET /v1/config)? */
int	option_is_number(const struct option *o);

/* A yes/no word (yes, true, on, 1; no, false, off, 0) into *out; -1 else. */
int	option_parse_bool(const char *s, int *out);

/* o's value in cfg, for numeric options. */
uint64_t option_number(const struct config *cfg, const struct option *o);

/*
 * A reload: give next the live value of every OPT_RESTART option that
 * changed, calling said(o, live, wanted) for each. Returns how many.
 */
size_t	option_keep_restart(struct config *next, const struct config *live,
	    void (*said)(const struct option *, const char *, const char *));

#endif
