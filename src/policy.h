/*
 * policy.h: the egress policy as transfers see it: an immutable snapshot
 * of the daemon's rules and every [user]/[group] section's, taken from a
 * configuration and shared, by reference, by the transfers started under
 * it. A reload makes a new one; the old one lives until its last transfer
 * ends. Threads only read it: no lock, no configuration, no batch memory.
 */
#ifndef FANOUTD_POLICY_H
#define FANOUTD_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct config;
struct policy;

/* A snapshot of cfg's egress rules (one reference, the caller's). */
struct policy *policy_make(const struct config *cfg);

/* Take and drop a reference (main thread only); the last frees it. */
struct policy *policy_ref(struct policy *p);
void	policy_unref(struct policy *p);

/* The caller's [user]/[group] section in p, as an index; -1: none. */
int	policy_caller(const struct policy *p, uint32_t uid,
	    const uint32_t *gids, size_t ngids);

/*
 * May a connection for caller (policy_caller()'s index, -1: the daemon's
 * rules alone) go to host:port, at address sa (NULL: not known yet)? The
 * daemon's rules, then the caller's section; a proxy is judged by the
 * daemon's alone. 1 if allowed; 0 with why[len] naming the rule (and the
 * section). Any thread.
 */
int	policy_judge(const struct policy *p, int caller, const char *host,
	    unsigned port, const struct sockaddr *sa, socklen_t salen,
	    int proxy, char *why, size_t len);

#endif
