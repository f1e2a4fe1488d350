/*
 * check_egress.c: the egress address policy: always-denied ranges, the
 * private and loopback switches, and IPv6 forms that carry IPv4 addresses.
 */
#include <check.h>
#include <string.h>

#include "egress.h"
#include "check_main.h"

static const struct egress_policy open_p = { 0, 0 };
static const struct egress_policy strict = { 1, 1 };

static int
ok(const struct egress_policy *p, const char *addr)
{
	const char *why = NULL;
	int rc = egress_allowed_text(p, addr, &why);

	ck_assert_msg(rc != -1, "%s does not parse", addr);
	ck_assert_msg(rc == 1 || why != NULL, "%s denied without a reason",
	    addr);
	return rc;
}

START_TEST(test_always_denied)
{
	static const char *const denied[] = { "169.254.169.254", "169.254.0.1",
		"0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250",
		"240.0.0.1", "255.255.255.255", "192.0.2.10", "198.51.100.1",
		"203.0.113.5", "192.0.0.8", "198.18.0.1", "fe80::1", "ff02::1",
		"::", "2001:db8::1",
		"::ffff:169.254.169.254",	/* mapped */
		"64:ff9b::a9fe:a9fe",		/* NAT64 of 169.254.169.254 */
		"2002:a9fe:a9fe::1",		/* 6to4 of it */
		"2001:0:4136:e378:8000:63bf:5601:5601",	/* Teredo: ~ */
	};
	size_t i;

	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		ck_assert_msg(ok(&open_p, denied[i]) == 0, "%s allowed",
		    denied[i]);
		ck_assert_msg(ok(&strict, denied[i]) == 0, "%s allowed",
		    denied[i]);
	}
}
END_TEST

START_TEST(test_private_and_loopback)
{
	static const char *const priv[] = { "10.1.2.3", "172.16.0.1",
		"172.31.255.255", "192.168.1.1", "100.64.0.1", "fd00::1",
		"::ffff:10.0.0.1", "2002:0a01:0203::1", "64:ff9b::a01:203" };
	static const char *const loop[] = { "127.0.0.1", "127.1.2.3", "::1",
		"::ffff:127.0.0.1" };
	struct egress_policy only_private = { 1, 0 };
	size_t i;

	for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
		ck_assert_msg(ok(&open_p, priv[i]) == 1, "%s denied", priv[i]);
		ck_assert_msg(ok(&strict, priv[i]) == 0, "%s allowed",
		    priv[i]);
		ck_assert_msg(ok(&only_private, priv[i]) == 0, "%s allowed",
		    priv[i]);
	}
	for (i = 0; i < sizeof(loop) / sizeof(loop[0]); i++) {
		ck_assert_msg(ok(&open_p, loop[i]) == 1, "%s denied", loop[i]);
		ck_assert_msg(ok(&strict, loop[i]) == 0, "%s allowed",
		    loop[i]);
		ck_assert_msg(ok(&only_private, loop[i]) == 1, "%s denied",
		    loop[i]);
	}
}
END_TEST

START_TEST(test_public_and_edges)
{
	const char *why;

	ck_assert(ok(&strict, "93.184.216.34") == 1);
	ck_assert(ok(&strict, "2606:2800:220:1:248:1893:25c8:1946") == 1);
	ck_assert(ok(&strict, "172.15.255.255") == 1);	/* just outside */
	ck_assert(ok(&strict, "172.32.0.0") == 1);
	ck_assert(ok(&strict, "169.253.255.255") == 1);
	ck_assert(ok(&strict, "fec0::1") == 1);		/* not fe80::/10 */
	ck_assert_int_eq(egress_allowed_text(&strict, "example.com", &why),
	    -1);
	ck_assert_int_eq(egress_allowed_text(&open_p, "169.254.169.254",
	    &why), 0);
	ck_assert_ptr_nonnull(strstr(why, "metadata"));
}
END_TEST

static Suite *
egress_suite(void)
{
	Suite *s = suite_create("egress");
	TCase *tc = tcase_create("policy");

	tcase_add_test(tc, test_always_denied);
	tcase_add_test(tc, test_private_and_loopback);
	tcase_add_test(tc, test_public_and_edges);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(egress_suite());
}
