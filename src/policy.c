/*
 * policy.c: immutable, reference-counted egress policy snapshots.
 *
 * Transfer threads judge every connection (http_transfer.c); before this
 * they read the live configuration under a lock that a reload held while
 * it rewrote it, and each caller's uid and groups from its batch. Now a
 * transfer holds a snapshot taken when it started, with its caller's
 * section resolved on the main thread: what a thread reads never changes
 * under it and never belongs to a batch. References are taken and dropped
 * on the main thread only (a transfer starts and is recycled there), so a
 * plain counter does.
 */
#include <stdio.h>
#include <stdlib.h>

#include "clientrule.h"
#include "config.h"
#include "egress.h"
#include "log.h"
#include "policy.h"
#include "xmalloc.h"

/* One [user] or [group] section's rules. */
struct policy_caller {
	char			*title;		/* "user alice" */
	struct egress_policy	 rules;
};

struct policy {
	unsigned		 refs;
	struct egress_policy	 daemon;	/* [fanoutd] allow, deny */
	struct client_rule	*match;		/* ids only, for lookups */
	struct policy_caller	*callers;	/* parallel to match */
	size_t			 ncallers;
};

struct policy *
policy_make(const struct config *cfg)
{
	struct policy *p = xcalloc(1, sizeof(*p));
	size_t i;

	p->refs = 1;
	egress_copy(&p->daemon, &cfg->egress);
	p->ncallers = cfg->nclients;
	if (p->ncallers > 0) {
		p->match = xcalloc(p->ncallers, sizeof(*p->match));
		p->callers = xcalloc(p->ncallers, sizeof(*p->callers));
	}
	for (i = 0; i < p->ncallers; i++) {
		p->match[i].group = cfg->clients[i].group;
		p->match[i].id = cfg->clients[i].id;
		p->callers[i].title = xstrdup(cfg->clients[i].title);
		egress_copy(&p->callers[i].rules, &cfg->clients[i].policy);
	}
	return p;
}

struct policy *
policy_ref(struct policy *p)
{
	p->refs++;
	return p;
}

void
policy_unref(struct policy *p)
{
	size_t i;

	if (p == NULL || --p->refs > 0)
		return;
	egress_clear(&p->daemon);
	for (i = 0; i < p->ncallers; i++) {
		free(p->callers[i].title);
		egress_clear(&p->callers[i].rules);
	}
	free(p->callers);
	free(p->match);
	free(p);
}

int
policy_caller(const struct policy *p, uint32_t uid, const uint32_t *gids,
    size_t ngids)
{
	const struct client_rule *r;

	r = clientrule_match(p->match, p->ncallers, uid, gids, ngids);
	return r == NULL ? -1 : (int)(r - p->match);
}

int
policy_judge(const struct policy *p, int caller, const char *host,
    unsigned port, const struct sockaddr *sa, socklen_t salen, int proxy,
    char *why, size_t len)
{
	const struct policy_caller *c;
	char own[256];

	if (!egress_judge(&p->daemon, host, port, sa, salen, why, len))
		return 0;
	if (proxy || caller < 0 || (size_t)caller >= p->ncallers)
		return 1;
	c = &p->callers[caller];
	if (egress_judge(&c->rules, host, port, sa, salen, own, sizeof(own)))
		return 1;
	snprintf(why, len, "%s (section [%s])", own, c->title);
	return 0;
}
