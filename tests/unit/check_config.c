/*
 * check_config.c: the option table and INI loader: defaults, values with
 * units, and errors that name file, line and key.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "option.h"
#include "check_main.h"

static char path[64];

/* Write text to a temporary file whose name is in path. */
static void
write_conf(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/check_config.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Load text; return the error (caller frees) or NULL when it loaded. */
static char *
load(const char *text, struct config *cfg)
{
	char *cause = NULL;

	config_defaults(cfg);
	write_conf(text);
	if (config_load(cfg, path, &cause) == 0)
		cause = NULL;
	unlink(path);
	return cause;
}

/* Assert text fails to load with an error starting "path:line: key". */
static void
load_fails(const char *text, int line, const char *key)
{
	struct config cfg;
	char *cause = load(text, &cfg), want[160];

	ck_assert_msg(cause != NULL, "loaded: %s", text);
	snprintf(want, sizeof(want), "%s:%d: %s", path, line, key);
	ck_assert_msg(strncmp(cause, want, strlen(want)) == 0,
	    "error \"%s\" does not start with \"%s\"", cause, want);
	free(cause);
	config_clear(&cfg);
}

START_TEST(test_defaults)
{
	struct config cfg;

	config_defaults(&cfg);
	ck_assert_str_eq(cfg.socket, "/run/fanoutd/fanoutd.sock");
	ck_assert_uint_eq(cfg.socket_mode, 0660);
	ck_assert_uint_eq(cfg.max_inflight, 256);
	ck_assert_uint_eq(cfg.max_batch_requests, 100000);
	ck_assert_uint_eq(cfg.max_request_bytes, 64u * 1024 * 1024);
	ck_assert_uint_eq(cfg.default_timeout_ms, 30000);
	ck_assert_uint_eq(cfg.default_connect_timeout_ms, 10000);
	ck_assert_uint_eq(cfg.default_max_response_bytes, 1024 * 1024);
	config_clear(&cfg);
}
END_TEST

/* workers: a count, or auto (one loop per CPU: the main one and CPUs-1). */
START_TEST(test_workers)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct config cfg;
	char *cause;

	config_defaults(&cfg);
	ck_assert_uint_eq(cfg.workers, cpus < 2 ? 0 : cpus > 65 ? 64 :
	    (uint64_t)cpus - 1);
	config_clear(&cfg);
	cause = load("[fanoutd]\nworkers = 0\n", &cfg);
	ck_assert_msg(cause == NULL, "%s", cause);
	ck_assert_uint_eq(cfg.workers, 0);
	config_clear(&cfg);
	cause = load("[fanoutd]\nworkers = 64\n", &cfg);
	ck_assert_msg(cause == NULL, "%s", cause);
	ck_assert_uint_eq(cfg.workers, 64);
	config_clear(&cfg);
}
END_TEST

START_TEST(test_load_values)
{
	struct config cfg;
	char *cause = load("; comment\n[fanoutd]\nmax_inflight = 12\n"
	    "max_request_bytes = 2M\nsocket_mode = 0600\n"
	    "socket = /tmp/x.sock ; inline comment\nlog_level = debug\n"
	    "default_max_response_bytes = 512KiB\n"
	    "allow_uids = root, 1000\n", &cfg);

	ck_assert_msg(cause == NULL, "%s", cause);
	ck_assert_uint_eq(cfg.max_inflight, 12);
	ck_assert_uint_eq(cfg.max_request_bytes, 2u * 1024 * 1024);
	ck_assert_uint_eq(cfg.socket_mode, 0600);
	ck_assert_str_eq(cfg.socket, "/tmp/x.sock");
	ck_assert_uint_eq(cfg.log_level, 3);
	ck_assert_uint_eq(cfg.default_max_response_bytes, 512 * 1024);
	ck_assert_uint_eq(cfg.allow_uids.n, 2);
	ck_assert_uint_eq(cfg.allow_uids.ids[0], 0);	/* root, by name */
	ck_assert_uint_eq(cfg.allow_uids.ids[1], 1000);
	ck_assert(idlist_has(&cfg.allow_uids, 1000));
	ck_assert(!idlist_has(&cfg.allow_uids, 1001));
	config_clear(&cfg);
}
END_TEST

START_TEST(test_errors_name_line_and_key)
{
	load_fails("[fanoutd]\n\nmax_inflghts = 3\n", 3, "max_inflghts");
	load_fails("max_inflight = 3\n", 1, "max_inflight");
	load_fails("[fanoutd]\nmax_inflight = 0\n", 2, "max_inflight");
	load_fails("[fanoutd]\nmax_inflight = many\n", 2, "max_inflight");
	load_fails("[fanoutd]\nmax_inflight = -1\n", 2, "max_inflight");
	load_fails("[fanoutd]\nmax_request_bytes = 3X\n", 2,
	    "max_request_bytes");
	load_fails("[fanoutd]\nsocket_mode = 0999\n", 2, "socket_mode");
	load_fails("[fanoutd]\nworkers = 65\n", 2, "workers");
	load_fails("[fanoutd]\nworkers = some\n", 2, "workers");
	load_fails("[fanoutd]\nworkers = Auto\n", 2, "workers");
	load_fails("[fanoutd]\nlog_level = loud\n", 2, "log_level");
	load_fails("[fanoutd]\nsocket = relative.sock\n", 2, "socket");
	load_fails("[fanoutd]\nallow_uids = root nosuchuser_xyz\n", 2,
	    "allow_uids");
	load_fails("[fanoutd]\nallow_gids = nosuchgroup_xyz\n", 2,
	    "allow_gids");
	load_fails("[nope]\nmax_inflight = 3\n", 1, "unknown section [nope]");
	load_fails("[fanoutd]\nmax_inflight = 3\nthis is not ini\n", 3,
	    "syntax error");
	/* Defaults may not exceed the caps on what a request may ask for. */
	load_fails("[fanoutd]\ndefault_timeout_ms = 86400000\n", 2,
	    "default_timeout_ms");
	load_fails("[fanoutd]\nlog_level = warn\nmax_timeout_ms = 5000\n", 3,
	    "max_timeout_ms");
	load_fails("[fanoutd]\ndefault_max_response_bytes = 2M\n"
	    "max_response_bytes_limit = 1M\n", 2, "default_max_response_bytes");
}
END_TEST

START_TEST(test_host_sections)
{
	struct config cfg;
	char *cause = load("[fanoutd]\nhost_inflight = 6\n"
	    "[host api.example.com]\nrate = 20/s ; twenty a second\n"
	    "burst = 5\ninflight = 4\n\n[host 127.0.0.1:8080]\n"
	    "rate = 100/m\n[fanoutd]\nmax_inflight = 9\n", &cfg);

	ck_assert_msg(cause == NULL, "%s", cause);
	ck_assert_uint_eq(cfg.host_inflight, 6);
	ck_assert_uint_eq(cfg.max_inflight, 9);
	ck_assert_uint_eq(cfg.nhosts, 2);
	ck_assert_str_eq(cfg.hosts[0].name, "api.example.com");
	ck_assert(cfg.hosts[0].rate == 20);
	ck_assert(cfg.hosts[0].burst == 5);
	ck_assert_uint_eq(cfg.hosts[0].inflight, 4);
	ck_assert_uint_eq(cfg.hosts[1].port, 8080);
	ck_assert_int_eq(cfg.hosts[0].line, 3);		/* the title's line */
	ck_assert(cfg.hosts[1].rate > 1.66 && cfg.hosts[1].rate < 1.67);
	config_clear(&cfg);

	load_fails("[host a.com]\nrate = 20/s\nspeed = 3\n", 3, "speed");
	load_fails("[host a.com]\nrate = quick\n", 2, "rate");
	load_fails("[host a.com]\ninflight = 0\n", 2, "inflight");
	load_fails("[host a b]\nrate = 1/s\n", 1, "[host a b]: bad host");
	load_fails("[hots a.com]\nrate = 1/s\n", 1,
	    "unknown section [hots a.com]");
	/* "host" with no space after it is no host section (found by the
	 * config fuzzer: this read an unset pointer) */
	load_fails("[fanoutd]\n[host\xd9x]\n", 2, "unknown section [host");
	load_fails("[hostname]\nrate = 1/s\n", 1, "unknown section [hostname]");
	load_fails("[host a.com]\nrate = 1/s\n[host A.com]\nburst = 2\n", 4,
	    "burst: [host A.com]: the same host as the section at line 1");
	/* an empty section with a bad title is still an error */
	load_fails("[fanoutd]\n[host a:x]\n", 2, "[host a:x]: port");
	/* a repeat after another section is not merged silently */
	load_fails("[host a]\nrate = 1/s\n[fanoutd]\nmax_inflight = 2\n"
	    "[host a]\nburst = 2\n", 6, "burst: [host a]: the same host");
}
END_TEST

/* Fleet limits: redis and its address; fleet_* needs redis. */
START_TEST(test_fleet)
{
	struct config cfg;
	char *cause = load("[host api.example.com]\nfleet_rate = 100/s\n"
	    "fleet_burst = 20\n[fanoutd]\nredis = unix:/run/r.sock\n"
	    "redis_prefix = a:b:\n", &cfg);

	ck_assert_msg(cause == NULL, "%s", cause);
	ck_assert(cfg.hosts[0].fleet_rate == 100);
	ck_assert(cfg.hosts[0].fleet_burst == 20);
	ck_assert_str_eq(cfg.redis, "unix:/run/r.sock");
	ck_assert_str_eq(cfg.redis_prefix, "a:b:");
	ck_assert_uint_eq(cfg.redis_timeout_ms, 200);
	config_clear(&cfg);

	load_fails("[fanoutd]\nlog_level = info\n\n[host a.com]\n"
	    "fleet_rate = 5/s\n", 4, "[host a.com] sets fleet limits but "
	    "redis is not set");
	load_fails("[fanoutd]\nredis = tcp://localhost:6379\n", 2, "redis");
	load_fails("[fanoutd]\nredis = 127.0.0.1:6379\n", 2, "redis");
	load_fails("[fanoutd]\nredis_prefix = a b\n", 2, "redis_prefix");
	load_fails("[fanoutd]\nredis_prefix = {x}\n", 2, "redis_prefix");
	load_fails("[fanoutd]\nredis_timeout_ms = 1\n", 2,
	    "redis_timeout_ms");
	load_fails("[fanoutd]\nredis = unix:/r\n[host a.com]\n"
	    "fleet_rate = fast\n", 4, "fleet_rate");
	load_fails("[fanoutd]\nredis = unix:/r\n[host a.com]\n"
	    "fleet_burst = 0\n", 4, "fleet_burst");
	load_fails("[fanoutd]\nlog_level = info\n[host a.com]\n"
	    "fleet_inflight = 4\n", 3, "[host a.com] sets fleet limits");
	load_fails("[fanoutd]\nredis = unix:/r\n[host a.com]\n"
	    "fleet_inflight = 0\n", 4, "fleet_inflight");
	load_fails("[fanoutd]\nredis = unix:/r\n[host a.com]\n"
	    "fleet_inflight = 10001\n", 4, "fleet_inflight: \"10001\" must be "
	    "an integer 1..10000");
	load_fails("[fanoutd]\nfleet_lease_ms = 100\n", 2, "fleet_lease_ms");
}
END_TEST

/* redis_password_file is read at load; redis_user needs it. */
START_TEST(test_redis_auth)
{
	struct config cfg;
	char pw[] = "/tmp/check_config_pw.XXXXXX", text[256], *cause;
	int fd = mkstemp(pw);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "s3cret\r\nmore\n", 14), 14);
	close(fd);
	snprintf(text, sizeof(text), "[fanoutd]\nredis = unix:/r\n"
	    "redis_user = fl\nredis_password_file = %s\n", pw);
	cause = load(text, &cfg);
	ck_assert_msg(cause == NULL, "%s", cause);
	ck_assert_str_eq(cfg.redis_password, "s3cret");
	ck_assert_str_eq(cfg.redis_user, "fl");
	ck_assert_str_eq(cfg.redis_password_file, pw);
	config_clear(&cfg);
	load_fails("[fanoutd]\nredis = unix:/r\n\nredis_user = fl\n", 4,
	    "redis_user: needs redis_password_file");
	load_fails("[fanoutd]\nredis_password_file = /nonexistent/pw\n", 2,
	    "redis_password_file");
	load_fails("[fanoutd]\nredis_password_file = pw\n", 2,
	    "redis_password_file");
	fd = open(pw, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, "\n", 1), 1);
	close(fd);
	snprintf(text, sizeof(text), "[fanoutd]\n\nredis_password_file = "
	    "%s\n", pw);
	load_fails(text, 3, "redis_password_file");
	unlink(pw);
}
END_TEST

/* allow/deny add up over lines; proxy is checked; [user]/[group] parse. */
START_TEST(test_egress_and_callers)
{
	struct config cfg;
	char *cause;
	const struct client_rule *cr;
	uint32_t gids[2] = { 4242, 0 };
	json_t *j;

	cause = load("[fanoutd]\nallow = 10.1.0.0/16, api.example.com\n"
	    "allow = [fd00::/8]:443\ndeny = *:25\n"
	    "proxy = http://127.0.0.1:3128\nmax_inflight_per_uid = 4\n"
	    "[user root]\ndeny = *\nallow = *.example.com\n"
	    "max_queued = 100\n[group 0]\nmax_inflight = 2\n", &cfg);
	ck_assert_msg(cause == NULL, "%s", cause);
	ck_assert_uint_eq(cfg.egress.nrules, 4);
	ck_assert_int_eq(cfg.egress.builtin, 1);
	ck_assert_str_eq(cfg.proxy, "http://127.0.0.1:3128");
	ck_assert_uint_eq(cfg.max_inflight_per_uid, 4);
	ck_assert_uint_eq(cfg.nclients, 2);
	cr = clientrule_match(cfg.clients, cfg.nclients, 0, gids, 2);
	ck_assert_str_eq(cr->title, "user root");
	ck_assert_uint_eq(cr->policy.nrules, 2);
	ck_assert_uint_eq(cr->max_queued, 100);
	cr = clientrule_match(cfg.clients, cfg.nclients, 4242, gids, 2);
	ck_assert_str_eq(cr->title, "group 0");	/* a supplementary group */
	ck_assert_uint_eq(cr->max_inflight, 2);
	ck_assert_ptr_null(clientrule_match(cfg.clients, cfg.nclients, 4242,
	    gids, 1));
	j = config_json(&cfg);
	ck_assert_str_eq(json_string_value(json_object_get(j, "allow")),
	    "10.1.0.0/16 api.example.com [fd00::/8]:443");
	ck_assert_uint_eq(json_array_size(json_object_get(j, "clients")), 2);
	json_decref(j);
	config_clear(&cfg);

	load_fails("[fanoutd]\nallow = 10.0.0.0/8\ndeny = 10.0.0.1/8\n", 3,
	    "deny: \"10.0.0.1/8\" rule \"10.0.0.1/8\": address has bits");
	load_fails("[fanoutd]\nproxy = ftp://p:21\n", 2, "proxy:");
	load_fails("[fanoutd]\nproxy = http://p\n", 2, "proxy:");
	load_fails("[fanoutd]\nproxy = http://u@p:8/x\n", 2, "proxy:");
	load_fails("[user nosuchuser-xyz]\nallow = *\n", 1,
	    "[user nosuchuser-xyz]: names a user");
	load_fails("[user root]\nmax_inflight = 0\n", 2, "max_inflight:");
	load_fails("[group root]\nrate = 1\n", 2, "rate: \"1\" unknown key");
	load_fails("[user 0]\nallow = x\n[user root]\ndeny = y\n", 4,
	    "deny: [user root]: the same user as the section at line 1");
	load_fails("[user root]\nallow = 1.2.3.4/40\n", 2, "allow:");
	load_fails("[usr root]\n", 1, "unknown section [usr root]");
}
END_TEST

START_TEST(test_missing_file)
{
	struct config cfg;
	char *cause = NULL;

	config_defaults(&cfg);
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/fanoutd.conf",
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "/nonexistent/fanoutd.conf"));
	free(cause);
	config_clear(&cfg);
}
END_TEST

START_TEST(test_set_socket_too_long)
{
	struct config cfg;
	char longpath[200], *cause = NULL;

	config_defaults(&cfg);
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(config_set(&cfg, "socket", longpath, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "too long"));
	free(cause);
	ck_assert_int_eq(config_set(&cfg, "nope", "1", &cause), -1);
	free(cause);
	config_clear(&cfg);
}
END_TEST

START_TEST(test_print_roundtrip)
{
	struct config cfg, again;
	char *text = NULL, *cause;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	config_defaults(&cfg);
	cfg.max_inflight = 77;
	fputs("[fanoutd]\n", fp);
	config_print(&cfg, fp);
	fclose(fp);
	cause = load(text, &again);
	ck_assert_msg(cause == NULL, "%s", cause);
	ck_assert_uint_eq(again.max_inflight, 77);
	ck_assert_uint_eq(again.socket_mode, 0660);
	free(text);
	config_clear(&cfg);
	config_clear(&again);
}
END_TEST

/* Every option in the table is documented where operators look. */
START_TEST(test_options_documented)
{
	static const char *const docs[] = { "etc/fanoutd.conf",
		"docs/fanoutd.conf.5" };
	const char *top = getenv("TOP_SRCDIR"), *name;
	char file[512], *text, want[128];
	size_t d, i, len = 0;
	FILE *fp;

	ck_assert_msg(top != NULL, "TOP_SRCDIR not set (run via make check)");
	for (d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		snprintf(file, sizeof(file), "%s/%s", top, docs[d]);
		ck_assert_msg((fp = fopen(file, "r")) != NULL, "%s", file);
		text = calloc(1, 1 << 20);
		len = fread(text, 1, (1 << 20) - 1, fp);
		fclose(fp);
		ck_assert_uint_gt(len, 0);
		for (i = 0; (name = config_option_name(i)) != NULL; i++) {
			/* etc/: ";name = default"; the man page: "Cm name" */
			if (d == 0 && *config_option_default(i) == '\0')
				snprintf(want, sizeof(want), ";%s =\n", name);
			else if (d == 0)
				snprintf(want, sizeof(want), ";%s = %s\n", name,
				    config_option_default(i));
			else
				snprintf(want, sizeof(want), "Cm %s ", name);
			ck_assert_msg(strstr(text, want) != NULL,
			    "%s does not document %s", docs[d], name);
		}
		free(text);
	}
	ck_assert_uint_gt(i, 10);
}
END_TEST

/* The comment block right above ";name =" in text, or NULL. */
static char *
comment_above(const char *text, const char *name)
{
	char want[128];
	const char *at, *p;

	snprintf(want, sizeof(want), "\n;%s =", name);
	if ((at = strstr(text, want)) == NULL)
		return NULL;
	for (p = at; p > text && !(p[-1] == '\n' && p[0] == '\n'); p--)
		;
	return strndup(p, (size_t)(at - p));
}

/*
 * Restart-only options are the table's OPT_RESTART rows, no more, no less:
 * etc/fanoutd.conf says so above each, and fanoutd.conf(5)'s RELOADING
 * list names exactly them.
 */
START_TEST(test_restart_only_documented)
{
	const char *top = getenv("TOP_SRCDIR");
	char file[512], *conf, *man, *list, *end, *above, want[128], nl[128];
	const struct option *o;
	size_t i, n = 0;
	FILE *fp;

	ck_assert_ptr_nonnull(top);
	snprintf(file, sizeof(file), "%s/etc/fanoutd.conf", top);
	ck_assert_ptr_nonnull(fp = fopen(file, "r"));
	conf = calloc(1, 1 << 20);
	fread(conf, 1, (1 << 20) - 1, fp);
	fclose(fp);
	snprintf(file, sizeof(file), "%s/docs/fanoutd.conf.5", top);
	ck_assert_ptr_nonnull(fp = fopen(file, "r"));
	man = calloc(1, 1 << 20);
	fread(man, 1, (1 << 20) - 1, fp);
	fclose(fp);
	ck_assert_ptr_nonnull(list = strstr(man, "Only with a restart:"));
	ck_assert_ptr_nonnull(end = strstr(list, "\n.El"));
	*end = '\0';	/* the list's last item */
	if ((end = strstr(list, "\n.It")) != NULL)
		*end = '\0';
	for (i = 0; (o = option_at(i)) != NULL; i++) {
		snprintf(want, sizeof(want), ".Cm %s ", o->name);
		snprintf(nl, sizeof(nl), ".Cm %s\n", o->name);
		above = comment_above(conf, o->name);
		ck_assert_msg(above != NULL, "no ;%s = in etc/fanoutd.conf",
		    o->name);
		if (o->flags & OPT_RESTART) {
			n++;
			ck_assert_msg(strstr(above, "restart") != NULL,
			    "etc/fanoutd.conf: say %s changes at a restart",
			    o->name);
			ck_assert_msg(strstr(list, want) || strstr(list, nl),
			    "fanoutd.conf(5) RELOADING: %s is restart-only",
			    o->name);
		} else
			ck_assert_msg(!strstr(list, want) && !strstr(list, nl),
			    "fanoutd.conf(5) RELOADING: %s applies on reload",
			    o->name);
		free(above);
	}
	ck_assert_uint_eq(n, 5);
	free(conf);
	free(man);
}
END_TEST

static const struct option *kept[8];
static size_t nkept;

static void
note_kept(const struct option *o, const char *live, const char *wanted)
{
	(void)live;
	(void)wanted;
	if (nkept < 8)
		kept[nkept++] = o;
}

/* A reload keeps the live value of restart-only options and no other. */
START_TEST(test_keep_restart)
{
	struct config live, next;
	char *cause = NULL;

	config_defaults(&live);
	config_defaults(&next);
	ck_assert_int_eq(config_set(&live, "workers", "2", &cause), 0);
	ck_assert_int_eq(config_set(&next, "workers", "5", &cause), 0);
	ck_assert_int_eq(config_set(&next, "socket", "/tmp/other.sock",
	    &cause), 0);
	ck_assert_int_eq(config_set(&next, "max_inflight", "7", &cause), 0);
	ck_assert_int_eq(config_set(&next, "socket_group", "0", &cause), 0);
	nkept = 0;
	ck_assert_uint_eq(option_keep_restart(&next, &live, note_kept), 3);
	ck_assert_uint_eq(nkept, 3);
	ck_assert_uint_eq(next.workers, 2);
	ck_assert_str_eq(next.socket, live.socket);
	ck_assert_uint_eq(next.socket_group.n, 0);
	ck_assert_uint_eq(next.max_inflight, 7);	/* reloads */
	ck_assert_uint_eq(option_keep_restart(&next, &live, note_kept), 0);
	config_clear(&live);
	config_clear(&next);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");

	check_add(s, test_defaults);
	check_add(s, test_restart_only_documented);
	check_add(s, test_keep_restart);
	check_add(s, test_workers);
	check_add(s, test_load_values);
	check_add(s, test_errors_name_line_and_key);
	check_add(s, test_host_sections);
	check_add(s, test_fleet);
	check_add(s, test_redis_auth);
	check_add(s, test_missing_file);
	check_add(s, test_egress_and_callers);
	check_add(s, test_set_socket_too_long);
	check_add(s, test_print_roundtrip);
	check_add(s, test_options_documented);
	return s;
}

int
main(void)
{
	return check_run(config_suite());
}
