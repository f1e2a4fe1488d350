/*
 * check_egress.c: the egress address policy: always-denied ranges, the
 * private and loopback switches, and IPv6 forms that carry IPv4 addresses.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "egress.h"
#include "check_main.h"

static const struct egress_policy open_p = { .builtin = 1 };
static const struct egress_policy strict = { 1, 1, 1, NULL, 0 };

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
	struct egress_policy only_private = { .deny_private = 1,
	    .builtin = 1 };
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

/* A policy with the built-in ranges and the given rules. */
static void
rules(struct egress_policy *p, const char *allow, const char *deny)
{
	const char *why;
	char *bad = NULL;

	memset(p, 0, sizeof(*p));
	p->builtin = 1;
	ck_assert_int_eq(egress_add_rules(p, allow, 1, &why, &bad), 0);
	ck_assert_int_eq(egress_add_rules(p, deny, 0, &why, &bad), 0);
}

/* Judge host:port at addr ("" for none); the reason must say something. */
static int
judge(const struct egress_policy *p, const char *host, unsigned port,
    const char *addr, char *why, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	int rc;

	why[0] = '\0';
	if (*addr != '\0') {
		ck_assert_int_eq(egress_parse_addr(addr, &ss, &sl), 0);
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		if (ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&ss)->sin6_port =
			    htons((uint16_t)port);
	}
	rc = egress_judge(p, host, port, *addr ? (struct sockaddr *)&ss :
	    NULL, sl, why, len);
	ck_assert(rc == 1 || why[0] != '\0');
	return rc;
}

START_TEST(test_rules_parse)
{
	static const char *const good[] = { "10.0.0.0/8", "10.1.2.3",
		"10.0.0.0/8:443", "[fd00::/8]:80", "fd00::/8", "::1",
		"[::1]:8080", "example.com", "Example.COM:443", "*.example.com",
		"*", "*:25", "0.0.0.0/0", "::/0", "a-b_c.example." };
	static const char *const bad[] = { "10.0.0.1/8", "10.0.0.0/33",
		"10.0.0.0/8:0", "10.0.0.0/8:70000", "[fd00::/8", "[::1]x",
		"exa!mple", "*example.com", "ex*ample.com", "*.", "host:",
		"host:abc", "::/129", "1.2.3.4.5/8", "/8" };
	struct egress_policy p;
	const char *why;
	char *badw;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&p, 0, sizeof(p));
		badw = NULL;
		ck_assert_msg(egress_add_rules(&p, good[i], 1, &why, &badw) ==
		    0, "%s refused: %s", good[i], badw ? why : "");
		ck_assert_uint_eq(p.nrules, 1);
		egress_clear(&p);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&p, 0, sizeof(p));
		badw = NULL;
		ck_assert_msg(egress_add_rules(&p, bad[i], 0, &why, &badw) ==
		    -1, "%s accepted", bad[i]);
		ck_assert_str_eq(badw, bad[i]);
		ck_assert_ptr_nonnull(why);
		free(badw);
		egress_clear(&p);
	}
	/* A list: spaces and commas; the first bad word stops it. */
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(egress_add_rules(&p, "10.0.0.0/8, *.a.b  c.d:80",
	    1, &why, &badw), 0);
	ck_assert_uint_eq(p.nrules, 3);
	ck_assert_str_eq(p.rules[2].text, "allow c.d:80");
	egress_clear(&p);
}
END_TEST

/* Address rules: the longest prefix wins; built-ins lose ties. */
START_TEST(test_rules_addresses)
{
	struct egress_policy p;
	char why[256];

	rules(&p, "10.1.0.0/16 169.254.169.254/32 0.0.0.0/0 127.0.0.1:8080",
	    "10.0.0.0/8 10.1.2.0/24:443");
	p.deny_loopback = 1;
	ck_assert_int_eq(judge(&p, NULL, 80, "10.2.0.1", why, sizeof(why)),
	    0);
	ck_assert_ptr_nonnull(strstr(why, "deny 10.0.0.0/8"));
	ck_assert_int_eq(judge(&p, NULL, 80, "10.1.2.3", why, sizeof(why)),
	    1);
	ck_assert_int_eq(judge(&p, NULL, 443, "10.1.2.3", why, sizeof(why)),
	    0);
	ck_assert_int_eq(judge(&p, NULL, 443, "10.1.3.3", why, sizeof(why)),
	    1);
	/* the v4-mapped and NAT64 forms meet the same rules */
	ck_assert_int_eq(judge(&p, NULL, 80, "::ffff:10.2.0.1", why,
	    sizeof(why)), 0);
	ck_assert_int_eq(judge(&p, NULL, 80, "64:ff9b::a01:203", why,
	    sizeof(why)), 1);
	/* a /32 opens the metadata address; 0.0.0.0/0 opens nothing */
	ck_assert_int_eq(judge(&p, NULL, 80, "169.254.169.254", why,
	    sizeof(why)), 1);
	ck_assert_int_eq(judge(&p, NULL, 80, "169.254.169.253", why,
	    sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "metadata"));
	ck_assert_int_eq(judge(&p, NULL, 80, "224.0.0.1", why, sizeof(why)),
	    0);
	/* loopback denied, but one port opened */
	ck_assert_int_eq(judge(&p, NULL, 80, "127.0.0.1", why, sizeof(why)),
	    0);
	ck_assert_int_eq(judge(&p, NULL, 8080, "127.0.0.1", why,
	    sizeof(why)), 1);
	ck_assert_int_eq(judge(&p, NULL, 8080, "127.0.0.2", why,
	    sizeof(why)), 0);
	egress_clear(&p);
	/* the same rule in both lists: deny wins */
	rules(&p, "192.0.2.0/24 8.8.8.8", "8.8.8.8");
	ck_assert_int_eq(judge(&p, NULL, 53, "8.8.8.8", why, sizeof(why)), 0);
	ck_assert_int_eq(judge(&p, NULL, 80, "192.0.2.7", why, sizeof(why)),
	    1);		/* documentation range opened by a rule inside it */
	egress_clear(&p);
}
END_TEST

/* Name rules: exact over glob, longer glob over shorter, port over none. */
START_TEST(test_rules_names)
{
	struct egress_policy p;
	char why[256];

	rules(&p, "api.example.com *.ok.example.com *:443", "* *.example.com "
	    "bad.ok.example.com 93.184.216.0/24");
	ck_assert_int_eq(judge(&p, "api.example.com", 80, "", why,
	    sizeof(why)), 1);
	ck_assert_int_eq(judge(&p, "x.ok.example.com", 80, "", why,
	    sizeof(why)), 1);
	ck_assert_int_eq(judge(&p, "bad.ok.example.com", 80, "", why,
	    sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "deny bad.ok.example.com"));
	ck_assert_int_eq(judge(&p, "www.example.com", 80, "", why,
	    sizeof(why)), 0);
	ck_assert_int_eq(judge(&p, "other.org", 80, "", why, sizeof(why)), 0);
	ck_assert_int_eq(judge(&p, "other.org", 443, "", why, sizeof(why)),
	    1);
	ck_assert_int_eq(judge(&p, "example.com", 80, "", why, sizeof(why)),
	    0);		/* "*.example.com" does not cover example.com... */
	ck_assert_ptr_nonnull(strstr(why, "deny *\""));	/* ...but * does */
	/* no name rule opens a built-in range... */
	ck_assert_int_eq(judge(&p, "api.example.com", 80, "169.254.169.254",
	    why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "metadata"));
	p.deny_private = 1;
	ck_assert_int_eq(judge(&p, "api.example.com", 80, "10.1.2.3", why,
	    sizeof(why)), 0);
	/* ...but a name rule outranks an address rule */
	ck_assert_int_eq(judge(&p, "api.example.com", 80, "93.184.216.34",
	    why, sizeof(why)), 1);
	ck_assert_int_eq(judge(&p, "other.org", 443, "93.184.216.34", why,
	    sizeof(why)), 1);
	ck_assert_int_eq(judge(&p, "other.org", 80, "8.8.8.8", why,
	    sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "host other.org port 80"));
	/* a literal host is an address: name rules ("*") do not apply */
	ck_assert_int_eq(judge(&p, "8.8.8.8", 80, "", why, sizeof(why)), 1);
	ck_assert_int_eq(judge(&p, "93.184.216.34", 80, "", why, sizeof(why)),
	    0);
	ck_assert_ptr_nonnull(strstr(why, "deny 93.184.216.0/24"));
	ck_assert_int_eq(judge(&p, "10.1.2.3", 80, "", why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "private"));
	egress_clear(&p);
}
END_TEST

static Suite *
egress_suite(void)
{
	Suite *s = suite_create("egress");

	check_add(s, test_always_denied);
	check_add(s, test_private_and_loopback);
	check_add(s, test_public_and_edges);
	check_add(s, test_rules_parse);
	check_add(s, test_rules_addresses);
	check_add(s, test_rules_names);
	return s;
}

int
main(void)
{
	return check_run(egress_suite());
}
