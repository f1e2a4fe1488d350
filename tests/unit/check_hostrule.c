/*
 * check_hostrule.c: [host] section titles, keys, and the most specific
 * match.
 */
#include <check.h>
#include <string.h>

#include "hostrule.h"
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
	const char *why;

	ck_assert_int_eq(hostrule_set(&r, "rate", "20/s", &why), 0);
	ck_assert(r.rate == 20);
	ck_assert_int_eq(hostrule_set(&r, "rate", "0.5/s", &why), 0);
	ck_assert(r.rate == 0.5);
	ck_assert_int_eq(hostrule_set(&r, "burst", "5", &why), 0);
	ck_assert(r.burst == 5);
	ck_assert_int_eq(hostrule_set(&r, "inflight", "4", &why), 0);
	ck_assert_uint_eq(r.inflight, 4);
	ck_assert_int_eq(hostrule_set(&r, "rate", "fast", &why), -1);
	ck_assert_int_eq(hostrule_set(&r, "burst", "0", &why), -1);
	ck_assert_int_eq(hostrule_set(&r, "inflight", "0", &why), -1);
	ck_assert_int_eq(hostrule_set(&r, "inflight", "2x", &why), -1);
	ck_assert_int_eq(hostrule_set(&r, "speed", "1", &why), -1);
	hostrule_clear(&r);
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
