/*
 * egress.h: which addresses fanoutd may connect to (pure).
 */
#ifndef FANOUTD_EGRESS_H
#define FANOUTD_EGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct egress_policy {
	int	deny_private;	/* 10/8, 172.16/12, 192.168/16, ... */
	int	deny_loopback;	/* 127/8, ::1 */
};

/*
 * May a connection go to sa? Returns 1 if allowed; 0 if denied, with
 * *why naming the rule ("link-local 169.254.0.0/16 (cloud metadata)").
 * IPv4-mapped, NAT64, 6to4 and Teredo IPv6 addresses are judged by the
 * IPv4 address they carry.
 */
int	egress_allowed(const struct egress_policy *p,
	    const struct sockaddr *sa, socklen_t len, const char **why);

/* Same, for an address in text form (tests, tools). -1 if it does not parse. */
int	egress_allowed_text(const struct egress_policy *p, const char *addr,
	    const char **why);

#endif
