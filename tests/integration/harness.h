/*
 * harness.h: helpers for integration tests: start the real fanoutd on a
 * temporary socket and the local test upstream, and talk to both.
 */
#ifndef FANOUTD_HARNESS_H
#define FANOUTD_HARNESS_H

#include <check.h>
#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

#include "check_main.h"

/*
 * Time bounds. An upper bound on time that a test waits for or asserts
 * ("done within 5 s", a poll's deadline) is written scaled_ms(ms): ms
 * times CK_TIMEOUT_MULTIPLIER (check_timeout_multiplier(), default 1),
 * which Check applies to the TCase timeouts itself; so valgrind, the
 * sanitizers or two busy cores can be given more time with one variable.
 * Lower bounds ("took at least 450 ms") are not scaled.
 */
double	scaled_ms(double ms);

/*
 * wait_until(cond, ms): evaluate cond every WAIT_POLL_MS until it is
 * true; if it is still false after scaled_ms(ms), the test fails at the
 * wait_until's line, naming cond. Every wait for the daemon, the upstream
 * or a child is one of these, never a fixed sleep. A test sleeps only
 * when time passing is what it tests (to show that something does not
 * happen, or to pace a slow client), and says so where it sleeps.
 */
#define WAIT_POLL_MS	10
#define wait_until(cond, ms) do {					\
	double wait_until_end_ = now_ms() + scaled_ms(ms);		\
									\
	while (!(cond)) {						\
		if (now_ms() >= wait_until_end_)			\
			ck_abort_msg("still not (%s) after %.0f ms",	\
			    #cond, scaled_ms(ms));			\
		usleep(WAIT_POLL_MS * 1000);				\
	}								\
} while (0)

struct upstream {
	pid_t	pid;
	int	port;
};

struct daemon {
	pid_t	pid;
	char	dir[64];	/* temporary directory */
	char	sock[128];
	char	conf[128];
	char	log[128];
};

/* A private redis-server on a Unix socket in a temporary directory. */
struct redis {
	pid_t	pid;
	char	dir[64];
	char	sock[128];
};

/*
 * Start redis-server (no port, no files: --save '' --appendonly no;
 * DEBUG allowed, for DEBUG SLEEP) on
 * r->sock, in a fresh directory unless r->dir is already set (a restart
 * on the same path); wait until it answers PING. Returns -1 when
 * redis-server is not installed (the test then skips).
 */
int	redis_start(struct redis *r);
/* Stop it (SIGTERM) and wait; the directory stays for a restart. */
void	redis_stop(struct redis *r);
/* Run redis-cli -s r->sock ARGS; its exit status, output in *out. */
int	redis_cli(const struct redis *r, const char *args, char **out);

/* Start tests/upstream on an ephemeral loopback port. */
void	upstream_start(struct upstream *u);
void	upstream_stop(struct upstream *u);

/* "http://127.0.0.1:PORT" + path, in a rotating static buffer. */
const char *upstream_url(const struct upstream *u, const char *path);

/* GET path on the upstream and parse the JSON reply (caller decrefs). */
json_t	*upstream_json(const struct upstream *u, const char *path);

/* Start the upstream's counting again (/stats/reset). */
void	upstream_reset(const struct upstream *u);

/* A number in the upstream's /stats ("inflight", "requests", ...). */
long long upstream_count(const struct upstream *u, const char *key);

/*
 * Start fanoutd with conf_body appended under [fanoutd] in a fresh config
 * file and a socket in a fresh directory; wait until it answers /healthz
 * (up to 10 s, scaled).
 */
void	daemon_start(struct daemon *d, const char *conf_body);

/* SIGTERM, wait, return the exit status (-1 if killed by a signal). */
int	daemon_stop(struct daemon *d);

/*
 * Send sig (SIGHUP) and wait, up to 3 s (scaled), for GET /v1/config to
 * show a new last_reload; returns that document (caller decrefs).
 */
json_t	*daemon_reload(struct daemon *d, int sig);

/* The daemon's stderr so far (caller frees). */
char	*daemon_log(const struct daemon *d);

/*
 * One HTTP request over the daemon's socket. Returns the status (0 when
 * the daemon could not be reached); the body is in *out (caller frees).
 */
long	api_call(const char *sock, const char *method, const char *path,
	    const char *body, char **out);

/* api_call() whose reply must be JSON; returns it (caller decrefs). */
json_t	*api_json(const char *sock, const char *method, const char *path,
	    const char *body, long *status);

/* The status of method path without a body (0: no answer). */
long	api_status(const char *sock, const char *method, const char *path);

/* GET path, whose reply must be JSON: its number key (0 when absent). */
long long api_num(const char *sock, const char *path, const char *key);

/* Members of a JSON object by type (NULL/0 when absent). */
const char *jstr(json_t *o, const char *key);
long long jnum(json_t *o, const char *key);
double	jreal(json_t *o, const char *key);

/* A result's error code, NULL when it has none. */
const char *jerr(json_t *result);

/* POST a batch, require 200 and return the reply (caller decrefs). */
json_t	*api_submit(const char *sock, const char *batch);

/*
 * A raw connection to the daemon's socket (for clients that misbehave):
 * raw_connect() just connects; raw_post() also writes a whole POST
 * /v1/batches of batch. Both return the fd (caller closes).
 */
int	raw_connect(const char *sock);
int	raw_post(const char *sock, const char *batch);

/* A batch submitted from a child process, whose reply is read later. */
struct bg_client {
	pid_t	pid;
	int	fd;		/* the reply arrives here */
};
void	bg_submit(struct bg_client *c, const char *sock, const char *batch);

/* Wait for the child; its reply parsed, or NULL (caller decrefs). */
json_t	*bg_reply(struct bg_client *c);

/* Write text to path (truncating). */
void	write_file(const char *path, const char *text);

/* A batch reply's results[i]. */
json_t	*result_at(json_t *reply, size_t i);

/* A loopback port with nothing listening on it. */
int	closed_port(void);

/*
 * Run fn(arg) in a child process as uid and gid (no supplementary
 * groups); returns its exit status (fn's return), -1 if it died. Needs
 * root: check can_switch_uid() first.
 */
int	as_uid(unsigned uid, int (*fn)(const char *), const char *arg);

/*
 * Whether this process may run clients as other uids (root). A test that
 * needs to and cannot calls check_skip() and returns: its program then
 * exits 77, SKIP (check_main.h says how and why).
 */
int	can_switch_uid(void);

/*
 * A "key: N kB" line of /proc/PID/status ("VmRSS", "VmHWM") in kB; -1
 * when the process or the line is not there.
 */
long	proc_status_kb(pid_t pid, const char *key);

/* Monotonic milliseconds. */
double	now_ms(void);

/* Run a shell command line, return its exit status; output into *out. */
int	run_cmd(const char *cmdline, char **out);

/*
 * A batch document: n GETs of url after the top-level members top ("" or
 * "\"concurrency\":5," and so on). Caller frees.
 */
char	*batch_of(const char *top, size_t n, const char *url);

#endif
