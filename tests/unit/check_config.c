/*
 * check_config.c: the option table and INI loader: defaults, values with
 * units, and errors that name file, line and key.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
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

START_TEST(test_load_values)
{
	struct config cfg;
	char *cause = load("; comment\n[fanoutd]\nmax_inflight = 12\n"
	    "max_request_bytes = 2M\nsocket_mode = 0600\n"
	    "socket = /tmp/x.sock ; inline comment\nlog_level = debug\n"
	    "default_max_response_bytes = 512KiB\n", &cfg);

	ck_assert_msg(cause == NULL, "%s", cause);
	ck_assert_uint_eq(cfg.max_inflight, 12);
	ck_assert_uint_eq(cfg.max_request_bytes, 2u * 1024 * 1024);
	ck_assert_uint_eq(cfg.socket_mode, 0600);
	ck_assert_str_eq(cfg.socket, "/tmp/x.sock");
	ck_assert_uint_eq(cfg.log_level, 3);
	ck_assert_uint_eq(cfg.default_max_response_bytes, 512 * 1024);
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
	load_fails("[fanoutd]\nlog_level = loud\n", 2, "log_level");
	load_fails("[fanoutd]\nsocket = relative.sock\n", 2, "socket");
	load_fails("[nope]\nmax_inflight = 3\n", 2, "max_inflight");
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

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("load");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_load_values);
	tcase_add_test(tc, test_errors_name_line_and_key);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_set_socket_too_long);
	tcase_add_test(tc, test_print_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(config_suite());
}
