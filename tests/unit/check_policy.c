/*
 * check_policy.c: egress policy snapshots: the daemon's rules then the
 * caller's section, the proxy judged by the daemon's alone, and a
 * snapshot that outlives the configuration it was taken from (a reload
 * frees that while transfers on threads still judge with the snapshot).
 */
#include <check.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"
#include "check_main.h"

static char path[] = "/tmp/check_policy.XXXXXX";

/* cfg loaded from text (asserts it loads). */
static void
load(const char *text, struct config *cfg)
{
	char *cause = NULL;
	FILE *fp;
	int fd;

	strcpy(path, "/tmp/check_policy.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
	fputs(text, fp);
	fclose(fp);
	config_defaults(cfg);
	ck_assert_msg(config_load(cfg, path, &cause) == 0, "%s", cause);
	unlink(path);
}

static struct sockaddr_in
v4(const char *a, unsigned port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET, a, &s.sin_addr), 1);
	return s;
}

START_TEST(test_daemon_then_caller)
{
	struct config cfg;
	struct policy *p;
	struct sockaddr_in a = v4("93.184.216.34", 443);
	uint32_t gids[1] = { 4242 };
	char why[256];
	int root, other;

	load("[fanoutd]\ndeny = *:25\n[user root]\ndeny = *\n"
	    "allow = *.example.com\n[group 4242]\ndeny = bad.test\n", &cfg);
	p = policy_make(&cfg);
	root = policy_caller(p, 0, NULL, 0);
	other = policy_caller(p, 1000, gids, 1);
	ck_assert_int_eq(root, 0);
	ck_assert_int_eq(other, 1);
	ck_assert_int_eq(policy_caller(p, 1000, NULL, 0), -1);
	/* The daemon's rule holds for everyone. */
	ck_assert_int_eq(policy_judge(p, -1, "mx.test", 25, NULL, 0, 0, why,
	    sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "*:25"));
	/* root's section: only *.example.com. */
	ck_assert_int_eq(policy_judge(p, root, "api.example.com", 443,
	    (struct sockaddr *)&a, sizeof(a), 0, why, sizeof(why)), 1);
	ck_assert_int_eq(policy_judge(p, root, "other.test", 443, NULL, 0, 0,
	    why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "(section [user root])"));
	/* The group's section; callers without one get the daemon's. */
	ck_assert_int_eq(policy_judge(p, other, "bad.test", 80, NULL, 0, 0,
	    why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "[group 4242]"));
	ck_assert_int_eq(policy_judge(p, -1, "bad.test", 80, NULL, 0, 0, why,
	    sizeof(why)), 1);
	/* A proxy is judged by the daemon's rules alone. */
	ck_assert_int_eq(policy_judge(p, root, "proxy.test", 3128, NULL, 0, 1,
	    why, sizeof(why)), 1);
	policy_unref(p);
	config_clear(&cfg);
}
END_TEST

/* A snapshot is a copy: freeing (reloading) the config leaves it whole. */
START_TEST(test_outlives_config)
{
	struct config cfg, next;
	struct policy *old, *now;
	char why[256];

	load("[fanoutd]\ndeny = old.test\n[user root]\ndeny = mine.test\n",
	    &cfg);
	old = policy_make(&cfg);
	policy_ref(old);		/* a running transfer's */
	config_clear(&cfg);		/* the reload frees the live config */
	memset(&cfg, 0x5a, sizeof(cfg));	/* and rewrites it */
	load("[fanoutd]\ndeny = new.test\n", &next);
	now = policy_make(&next);
	policy_unref(old);		/* dispatch's reference */
	ck_assert_int_eq(policy_judge(old, 0, "old.test", 80, NULL, 0, 0,
	    why, sizeof(why)), 0);
	ck_assert_int_eq(policy_judge(old, 0, "mine.test", 80, NULL, 0, 0,
	    why, sizeof(why)), 0);
	ck_assert_int_eq(policy_judge(old, 0, "new.test", 80, NULL, 0, 0,
	    why, sizeof(why)), 1);
	ck_assert_int_eq(policy_caller(now, 0, NULL, 0), -1);
	ck_assert_int_eq(policy_judge(now, -1, "new.test", 80, NULL, 0, 0,
	    why, sizeof(why)), 0);
	policy_unref(old);		/* the transfer ends: freed */
	policy_unref(now);
	config_clear(&next);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");

	check_add(s, test_daemon_then_caller);
	check_add(s, test_outlives_config);
	return s;
}

int
main(void)
{
	return check_run(policy_suite());
}
