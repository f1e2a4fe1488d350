/*
 * clientrule.c: per-caller policy.
 *
 * fanoutd serves every local user who may open its socket; a [user] or
 * [group] section narrows what one of them may do: which destinations it
 * may reach (allow and deny rules judged like the daemon's own, after
 * them: a request must pass both) and how many of its requests may be in
 * flight or waiting at once, so one caller cannot take the whole daemon.
 * A caller is matched by the uid and groups the kernel reports for its
 * connection (SO_PEERCRED, SO_PEERGROUPS), never by anything it says.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "clientrule.h"
#include "xmalloc.h"

/* A uid/gid number or a name that exists now. */
static int
lookup_id(const char *s, int group, uint32_t *id)
{
	struct passwd *pw;
	struct group *gr;
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (isdigit((unsigned char)*s) && *end == '\0' && errno == 0 &&
	    v <= UINT32_MAX) {
		*id = (uint32_t)v;
		return 0;
	}
	if (group && (gr = getgrnam(s)) != NULL)
		*id = gr->gr_gid;
	else if (!group && (pw = getpwnam(s)) != NULL)
		*id = pw->pw_uid;
	else
		return -1;
	return 0;
}

int
clientrule_parse_title(const char *title, struct client_rule *r,
    const char **why)
{
	const char *name;
	int group;

	if (strncmp(title, "user", 4) == 0 && (title[4] == ' ' ||
	    title[4] == '\t'))
		group = 0, name = title + 5;
	else if (strncmp(title, "group", 5) == 0 && (title[5] == ' ' ||
	    title[5] == '\t'))
		group = 1, name = title + 6;
	else
		return 1;
	while (*name == ' ' || *name == '\t')
		name++;
	memset(r, 0, sizeof(*r));
	r->group = group;
	if (*name == '\0' || lookup_id(name, group, &r->id) == -1) {
		*why = group ? "names a group that does not exist" :
		    "names a user that does not exist";
		return -1;
	}
	xasprintf(&r->title, "%s %s", group ? "group" : "user", name);
	return 0;
}

static int
set_count(const char *value, uint64_t *out, const char **why)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (!isdigit((unsigned char)*value) || *end != '\0' || errno != 0 ||
	    n < 1 || n > 100000000)
		return (*why = "must be an integer 1..100000000", -1);
	*out = n;
	return 0;
}

int
clientrule_set(struct client_rule *r, const char *key, const char *value,
    const char **why)
{
	char *bad = NULL;
	int rc;

	if (strcmp(key, "allow") == 0 || strcmp(key, "deny") == 0) {
		rc = egress_add_rules(&r->policy, value, key[0] == 'a', why,
		    &bad);
		free(bad);
		return rc;
	}
	if (strcmp(key, "max_inflight") == 0)
		return set_count(value, &r->max_inflight, why);
	if (strcmp(key, "max_queued") == 0)
		return set_count(value, &r->max_queued, why);
	*why = "unknown key in a [user] or [group] section (allow, deny, "
	    "max_inflight, max_queued)";
	return -1;
}

void
clientrule_clear(struct client_rule *r)
{
	free(r->title);
	r->title = NULL;
	egress_clear(&r->policy);
}

const struct client_rule *
clientrule_match(const struct client_rule *rules, size_t n, uint32_t uid,
    const uint32_t *gids, size_t ngids)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		if (!rules[i].group && rules[i].id == uid)
			return &rules[i];
	for (i = 0; i < n; i++)
		for (j = 0; rules[i].group && j < ngids; j++)
			if (rules[i].id == gids[j])
				return &rules[i];
	return NULL;
}
