/*
 * check_hostrule.c: [host] section titles, keys, and the most specific
 * match.
 */
#include <check.h>
#include <string.h>

#include "hostrule.h"
#include "retry.h"
#include "check_main.h"

static struct host_rule
rule(const char *title)
{
	struct host_rule r;
	const char *why = NULL;

	ck_assert_msg(hostrule_parse_title(title, &r, &why) == 0, "%s: %s",
	    title, why);
	return r;
}

START_TEST(test_titles)
{
	struct host_rule r;
	const char *why;

	r = rule("host API.Example.com");
	ck_assert_str_eq(r.name, "api.example.com");
	ck_assert_uint_eq(r.port, 0);
	hostrule_clear(&r);
	r = rule("host 127.0.0.1:8080");
	ck_assert_str_eq(r.name, "127.0.0.1");
	ck_assert_uint_eq(r.port, 8080);
	hostrule_clear(&r);
	r = rule("host [::1]:443");
	ck_assert_str_eq(r.name, "::1");
	ck_assert_uint_eq(r.port, 443);
	hostrule_clear(&r);
	r = rule("host ::1");		/* bare IPv6, every port */
	ck_assert_str_eq(r.name, "::1");
	ck_assert_uint_eq(r.port, 0);
	hostrule_clear(&r);
	r = rule("host *.example.com");
	ck_assert_int_eq(r.wildcard, 1);
	ck_assert_str_eq(r.name, ".example.com");
	hostrule_clear(&r);
	ck_assert_int_eq(hostrule_parse_title("fanoutd", &r, &why), 1);
	ck_assert_int_eq(hostrule_parse_title("hosts x", &r, &why), 1);
	ck_assert_int_eq(hostrule_parse_title("host ", &r, &why), -1);
	ck_assert_int_eq(hostrule_parse_title("host a:0", &r, &why), -1);
	ck_assert_int_eq(hostrule_parse_title("host a:99999", &r, &why), -1);
	ck_assert_int_eq(hostrule_parse_title("host a b", &r, &why), -1);
	ck_assert_int_eq(hostrule_parse_title("host *.", &r, &why), -1);
	ck_assert_int_eq(hostrule_parse_title("host [::1", &r, &why), -1);
}
END_TEST

START_TEST(test_keys)
{
	struct host_rule r = rule("host a");
	char why[512];

#define SET(k, v)	hostrule_set(&r, (k), (v), why, sizeof(why))
	ck_assert_int_eq(SET("rate", "20/s"), 0);
	ck_assert(r.rate == 20);
	ck_assert_int_eq(SET("rate", "0.5/s"), 0);
	ck_assert(r.rate == 0.5);
	ck_assert_int_eq(SET("burst", "5"), 0);
	ck_assert(r.burst == 5);
	ck_assert_int_eq(SET("inflight", "4"), 0);
	ck_assert_uint_eq(r.inflight, 4);
	ck_assert_int_eq(SET("fleet_inflight", "10000"), 0);
	ck_assert_uint_eq(r.fleet_inflight, 10000);
	ck_assert_int_eq(SET("fleet_inflight", "10001"), -1);
	ck_assert_str_eq(why, "must be an integer 1..10000");
	ck_assert_int_eq(SET("rate", "fast"), -1);
	ck_assert_int_eq(SET("burst", "0"), -1);
	ck_assert_int_eq(SET("inflight", "0"), -1);
	ck_assert_int_eq(SET("inflight", "2x"), -1);
	ck_assert_int_eq(SET("speed", "1"), -1);
	/* the message lists every key the section takes */
	ck_assert_ptr_nonnull(strstr(why, "breaker_on"));
	ck_assert_ptr_nonnull(strstr(why, "tls_min)"));
	/* connection keys: http2 on by default, breaker_on's default set */
	ck_assert_int_eq(r.http2, 1);
	ck_assert_int_eq(SET("http2", "no"), 0);
	ck_assert_int_eq(r.http2, 0);
	ck_assert_int_eq(SET("http2", "sometimes"), -1);
	ck_assert(retry_on_match(&r.breaker_on, 503, RESULT_OK));
	ck_assert(!retry_on_match(&r.breaker_on, 500, RESULT_OK));
	ck_assert_int_eq(SET("breaker_on", "500"), 0);
	ck_assert(retry_on_match(&r.breaker_on, 500, RESULT_OK));
	ck_assert(!retry_on_match(&r.breaker_on, 503, RESULT_OK));
	ck_assert_int_eq(SET("breaker_on", "418"), -1);
	/* a TLS key makes the section's snapshot */
	ck_assert_ptr_null(r.tls);
	ck_assert_int_eq(SET("tls_min", "1.3"), 0);
	ck_assert_ptr_nonnull(r.tls);
	ck_assert_int_eq(hostrule_check(&r, why, sizeof(why)), 0);
	ck_assert_int_eq(SET("ca_only", "yes"), 0);
	ck_assert_int_eq(hostrule_check(&r, why, sizeof(why)), -1);
	ck_assert_int_eq(SET("ca_file", "/nonexistent.pem"), -1);
	ck_assert_ptr_nonnull(strstr(why, "cannot read it"));
#undef SET
	hostrule_clear(&r);
	ck_assert_ptr_null(r.tls);
}
END_TEST

START_TEST(test_most_specific)
{
	struct host_rule rules[5];
	const struct host_rule *m;
	size_t i;

	rules[0] = rule("host *.example.com");
	rules[1] = rule("host *.api.example.com");
	rules[2] = rule("host api.example.com");
	rules[3] = rule("host api.example.com:8443");
	rules[4] = rule("host *.example.com:8080");
	m = hostrule_match(rules, 5, "api.example.com", 8443);
	ck_assert_ptr_eq(m, &rules[3]);
	m = hostrule_match(rules, 5, "api.example.com", 443);
	ck_assert_ptr_eq(m, &rules[2]);
	m = hostrule_match(rules, 5, "v1.api.example.com", 443);
	ck_assert_ptr_eq(m, &rules[1]);
	m = hostrule_match(rules, 5, "v1.api.example.com", 8080);
	ck_assert_ptr_eq(m, &rules[4]);	/* a port beats a longer suffix */
	m = hostrule_match(rules, 5, "www.example.com", 80);
	ck_assert_ptr_eq(m, &rules[0]);
	ck_assert_ptr_null(hostrule_match(rules, 5, "example.com", 80));
	ck_assert_ptr_null(hostrule_match(rules, 5, "badexample.com", 80));
	ck_assert_ptr_null(hostrule_match(rules, 5, "other.org", 80));
	for (i = 0; i < 5; i++)
		hostrule_clear(&rules[i]);
}
END_TEST

static Suite *
hostrule_suite(void)
{
	Suite *s = suite_create("hostrule");

	check_add(s, test_titles);
	check_add(s, test_keys);
	check_add(s, test_most_specific);
	return s;
}

int
main(void)
{
	return check_run(hostrule_suite());
}
