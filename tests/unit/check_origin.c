/*
 * check_origin.c: every spelling of a destination makes one origin, and
 * URLs parse to it as libcurl reads them (origin.c, http_url.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "http_url.h"
#include "origin.h"
#include "check_main.h"

/* origin_host() of s, or "ERR" when it refuses. */
static const char *
host(const char *s)
{
	static char out[ORIGIN_HOST_MAX];
	const char *why = NULL;

	if (origin_host(s, strlen(s), out, sizeof(out), &why) == -1) {
		ck_assert_ptr_nonnull(why);
		return "ERR";
	}
	return out;
}

START_TEST(test_host_spellings)
{
	static const struct { const char *in, *out; } t[] = {
		{ "x.test", "x.test" },
		{ "X.TEST", "x.test" },
		{ "x.test.", "x.test" },	/* one trailing dot */
		{ "X.Test.", "x.test" },
		{ ".", "." },
		{ "::1", "::1" },
		{ "[::1]", "::1" },
		{ "[0:0:0::1]", "::1" },
		{ "::FFFF:127.0.0.1", "::ffff:127.0.0.1" },
		{ "[2001:DB8:0:0:0:0:0:1]", "2001:db8::1" },
		{ "fe80::1%eth0", "fe80::1" },	/* the zone is not the host */
		{ "127.0.0.1", "127.0.0.1" },
		{ "127.1", "127.0.0.1" },
		{ "0x7f.0.0.1", "127.0.0.1" },
		{ "2130706433", "127.0.0.1" },
		{ "1e100.net", "1e100.net" },	/* a name, not a number */
		{ "b\xc3\xbc" "cher.example", "xn--bcher-kva.example" },
		{ "B\xc3\x9c" "CHER.example.", "xn--bcher-kva.example" },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
		{ "", "ERR" },
		{ "[]", "ERR" },
		{ "::g", "ERR" },
		{ "[1:2:3:4:5:6:7:8:9]", "ERR" },
		{ "b\xff" "cher.example", "ERR" },	/* not UTF-8 */
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(strcmp(host(t[i].in), t[i].out) == 0,
		    "%s: %s, want %s", t[i].in, host(t[i].in), t[i].out);
}
END_TEST

START_TEST(test_host_limits)
{
	char big[300], out[ORIGIN_HOST_MAX], small[4];
	const char *why;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_str_eq(host(big), "ERR");
	ck_assert_int_eq(origin_host("abcd", 4, small, sizeof(small), &why),
	    -1);
	ck_assert_int_eq(origin_host("abc", 3, small, sizeof(small), &why),
	    0);
	ck_assert_str_eq(small, "abc");
	/* n bytes, not up to a NUL: a NUL inside is refused */
	ck_assert_int_eq(origin_host("a\0b", 3, out, sizeof(out), &why), -1);
	ck_assert_int_eq(origin_host("abcdef", 3, out, sizeof(out), &why), 0);
	ck_assert_str_eq(out, "abc");
}
END_TEST

START_TEST(test_make_and_split)
{
	static const struct {
		const char *scheme, *host;
		unsigned port;
		const char *out;
	} t[] = {
		{ "http", "x.test", 0, "http://x.test:80" },
		{ "HTTP", "X.TEST.", 80, "http://x.test:80" },
		{ "https", "x.test", 0, "https://x.test:443" },
		{ "https", "x.test", 8443, "https://x.test:8443" },
		{ "http", "[::1]", 8080, "http://[::1]:8080" },
		{ "http", "0:0::1", 0, "http://[::1]:80" },
		{ "ftp", "x.test", 0, NULL },
		{ "http", "", 0, NULL },
		{ "http", "x.test", 70000, NULL },
	};
	struct origin_parts o;
	const char *why;
	char *s;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why = NULL;
		s = origin_make(t[i].scheme, t[i].host, t[i].port, &why);
		if (t[i].out == NULL) {
			ck_assert_ptr_null(s);
			ck_assert_ptr_nonnull(why);
			continue;
		}
		ck_assert_str_eq(s, t[i].out);
		ck_assert_int_eq(origin_split(s, &o), 0);
		ck_assert_str_eq(o.scheme, strncmp(s, "https", 5) == 0 ?
		    "https" : "http");
		ck_assert_uint_eq(o.port, t[i].port ? t[i].port :
		    strcmp(o.scheme, "https") == 0 ? 443 : 80);
		free(s);
	}
	ck_assert_int_eq(origin_split("http://[::1]:8080", &o), 0);
	ck_assert_str_eq(o.host, "::1");
	ck_assert_int_eq(origin_split("http://x.test", &o), -1);
	ck_assert_int_eq(origin_split("http://:80", &o), -1);
	ck_assert_int_eq(origin_split("http://x:0", &o), -1);
	ck_assert_int_eq(origin_split("http://x:80z", &o), -1);
	ck_assert_int_eq(origin_split("x.test:80", &o), -1);
	ck_assert_int_eq(origin_split("verylongscheme://x:80", &o), -1);
}
END_TEST

/* Every spelling of one destination in a URL: one origin. */
START_TEST(test_url_origins)
{
	static const struct { const char *url, *origin; } t[] = {
		{ "http://x.test/", "http://x.test:80" },
		{ "http://x.test./a", "http://x.test:80" },
		{ "http://X.TEST/", "http://x.test:80" },
		{ "HTTP://x.test:80/", "http://x.test:80" },
		{ "http://x.test", "http://x.test:80" },
		{ "http://%58.test/", "http://x.test:80" },
		{ "https://x.test.:443/", "https://x.test:443" },
		{ "http://[0:0::1]:8080/", "http://[::1]:8080" },
		{ "http://[::FFFF:127.0.0.1]/", "http://[::ffff:127.0.0.1]:80" },
		{ "http://127.1/", "http://127.0.0.1:80" },
		{ "http://b\xc3\xbc" "cher.example/", "http://xn--bcher-kva.example:80" },
		{ "http://xn--bcher-kva.example./",
		    "http://xn--bcher-kva.example:80" },
		/* libcurl reads one to three slashes as two, as curl(1) */
		{ "http:///x.test/path", "http://x.test:80" },
	};
	char *o, *cause;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cause = NULL;
		o = http_url_origin(t[i].url, &cause);
		ck_assert_msg(o != NULL, "%s: %s", t[i].url, cause);
		ck_assert_msg(strcmp(o, t[i].origin) == 0, "%s: %s, want %s",
		    t[i].url, o, t[i].origin);
		free(o);
	}
}
END_TEST

START_TEST(test_url_refused)
{
	static const char bad_utf8[] = { 'h', 't', 't', 'p', ':', '/', '/',
		'b', '\xff', 'c', 'h', 'e', 'r', '.', 't', 'e', 's', 't', '/',
		'\0' };
	static const char *bad[] = { "ftp://x.test/", "x.test/path",
		"http://", "http://x.test:99999/", "http://[::g]/", bad_utf8 };
	char *o, *cause;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cause = NULL;
		o = http_url_origin(bad[i], &cause);
		ck_assert_msg(o == NULL, "%s: %s", bad[i], o);
		ck_assert_ptr_nonnull(cause);
		free(cause);
	}
}
END_TEST

START_TEST(test_url_host_port)
{
	char h[ORIGIN_HOST_MAX];
	unsigned port;

	ck_assert_int_eq(http_url_host_port("http://Proxy.Test.:3128", h,
	    sizeof(h), &port), 0);
	ck_assert_str_eq(h, "proxy.test");
	ck_assert_uint_eq(port, 3128);
	ck_assert_int_eq(http_url_host_port("http://[::1]/", h, sizeof(h),
	    &port), 0);
	ck_assert_str_eq(h, "::1");
	ck_assert_uint_eq(port, 80);
	ck_assert_int_eq(http_url_host_port("not a url", h, sizeof(h),
	    &port), -1);
}
END_TEST

START_TEST(test_url_ascii_and_resolve)
{
	char *s;

	ck_assert_ptr_null(http_url_ascii("http://x.test/caf\xc3\xa9"));
	s = http_url_ascii("http://b\xc3\xbc" "cher.example:8080/p?q=1");
	ck_assert_str_eq(s, "http://xn--bcher-kva.example:8080/p?q=1");
	free(s);
	s = http_url_resolve("http://a.test/b/c", "../d?e");
	ck_assert_str_eq(s, "http://a.test/d?e");
	free(s);
	s = http_url_resolve("http://a.test/b", "//c.test/");
	ck_assert_str_eq(s, "http://c.test/");
	free(s);
	s = http_url_resolve("http://a.test/b", "ftp://c.test/");
	ck_assert_str_eq(s, "ftp://c.test/");
	free(s);
}
END_TEST

/* Configured names: one spelling, wildcards keep their dot, junk refused. */
START_TEST(test_pattern)
{
	char out[ORIGIN_HOST_MAX + 1];
	const char *why;
	int w;

	ck_assert_int_eq(origin_pattern("API.Example.COM.", 0, out,
	    sizeof(out), &w, &why), 0);
	ck_assert_str_eq(out, "api.example.com");
	ck_assert_int_eq(w, 0);
	ck_assert_int_eq(origin_pattern("*.Example.com", 0, out, sizeof(out),
	    &w, &why), 0);
	ck_assert_str_eq(out, ".example.com");
	ck_assert_int_eq(w, 1);
	ck_assert_int_eq(origin_pattern("b\303\274cher.example", 0, out,
	    sizeof(out), &w, &why), 0);
	ck_assert_str_eq(out, "xn--bcher-kva.example");
	ck_assert_int_eq(origin_pattern("::1", 1, out, sizeof(out), &w, &why),
	    0);
	ck_assert_str_eq(out, "::1");
	ck_assert_int_eq(origin_pattern("*.", 0, out, sizeof(out), &w, &why),
	    -1);
	ck_assert_ptr_nonnull(why);	/* a bad wildcard says so */
	ck_assert_int_eq(origin_pattern("a*b.test", 0, out, sizeof(out), &w,
	    &why), -1);
	ck_assert_ptr_null(why);	/* the caller words the rest */
	ck_assert_int_eq(origin_pattern("a b", 0, out, sizeof(out), &w, &why),
	    -1);
	ck_assert_int_eq(origin_pattern("", 0, out, sizeof(out), &w, &why),
	    -1);
	ck_assert_int_eq(origin_pattern("::1", 0, out, sizeof(out), &w, &why),
	    -1);		/* colons only as an IPv6 address */
}
END_TEST

static Suite *
origin_suite(void)
{
	Suite *s = suite_create("origin");

	check_add(s, test_host_spellings);
	check_add(s, test_pattern);
	check_add(s, test_host_limits);
	check_add(s, test_make_and_split);
	check_add(s, test_url_origins);
	check_add(s, test_url_refused);
	check_add(s, test_url_host_port);
	check_add(s, test_url_ascii_and_resolve);
	return s;
}

int
main(void)
{
	return check_run(origin_suite());
}
