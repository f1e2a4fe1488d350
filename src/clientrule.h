/*
 * clientrule.h: [user NAME] and [group NAME] sections: what one caller may
 * reach and how much of the daemon it may hold.
 */
#ifndef FANOUTD_CLIENTRULE_H
#define FANOUTD_CLIENTRULE_H

#include <stddef.h>
#include <stdint.h>

#include "egress.h"

struct client_rule {
	char		*title;		/* "user alice", for messages */
	int		 group;		/* a [group] section */
	uint32_t	 id;		/* uid or gid */
	int		 line;		/* where the section starts */
	struct egress_policy policy;	/* allow and deny rules only */
	uint64_t	 max_inflight;	/* 0: max_inflight_per_uid */
	uint64_t	 max_queued;	/* 0: max_queued_per_uid */
};

/*
 * Parse a section title "user NAME|UID" or "group NAME|GID" into r (names
 * are looked up now, so a typo fails at load time). Returns 0, 1 when the
 * title is neither, or -1 with a static reason in *why. Free with
 * clientrule_clear().
 */
int	clientrule_parse_title(const char *title, struct client_rule *r,
	    const char **why);

/*
 * Set allow, deny (added to what the section has), max_inflight or
 * max_queued from text. -1 with *why (static) on a bad value.
 */
int	clientrule_set(struct client_rule *r, const char *key,
	    const char *value, const char **why);

/* Free what r owns. */
void	clientrule_clear(struct client_rule *r);

/*
 * The section for a caller: its [user] section, else the first [group]
 * section (in file order) of its primary or a supplementary group. NULL
 * when none applies.
 */
const struct client_rule *clientrule_match(const struct client_rule *rules,
	    size_t n, uint32_t uid, const uint32_t *gids, size_t ngids);

#endif
