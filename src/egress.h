/*
 * egress.h: which destinations fanoutd may connect to (pure).
 */
#ifndef FANOUTD_EGRESS_H
#define FANOUTD_EGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* One allow or deny rule: a host name glob or a CIDR, maybe with a port. */
struct egress_rule {
	char		*text;		/* as written, for messages */
	int		 allow;
	int		 is_name;
	char		*name;		/* lower-case; ".example.com" for a
					   glob, "" for "*" */
	int		 wildcard;
	uint8_t		 addr[16];	/* IPv4 as ::ffff:a.b.c.d */
	int		 bits;		/* prefix length, 0..128 */
	unsigned	 port;		/* 0: every port */
};

struct egress_policy {
	int		 deny_private;	/* 10/8, 172.16/12, 192.168/16, ... */
	int		 deny_loopback;	/* 127/8, ::1 */
	int		 builtin;	/* apply the built-in ranges at all */
	struct egress_rule *rules;	/* allow and deny lists */
	size_t		 nrules;
};

/*
 * Add the rules in text ("10.0.0.0/8, *.example.com:443 [fd00::/8]:80
 * *:25") to p as allow or deny rules. Returns -1 with *why (static) and
 * *bad (the offending word, caller frees) on a rule that does not parse;
 * p then holds the rules before it.
 */
int	egress_add_rules(struct egress_policy *p, const char *text, int allow,
	    const char **why, char **bad);

/* p's rules of one kind (allow or deny) as written, space separated. */
void	egress_format_rules(const struct egress_policy *p, int allow,
	    char *buf, size_t len);

/* Make dst a deep copy of src (dst's old rules are not freed). */
void	egress_copy(struct egress_policy *dst, const struct egress_policy *src);

/* Free p's rules (the struct is the caller's). */
void	egress_clear(struct egress_policy *p);

/*
 * May a connection go to host (lower-case name or address as written in
 * the URL; NULL: unknown) and port, at address sa (NULL: not known yet, as
 * for a target reached through a proxy; a literal host is its address)?
 * With p->builtin the built-in ranges refuse what no address allow rule
 * at least as specific opens; then the most specific matching rule
 * decides, name rules before address rules; no rule means yes. Returns 1
 * if allowed; 0 if denied, with why (at most len bytes) naming the
 * address or host and the rule.
 */
int	egress_judge(const struct egress_policy *p, const char *host,
	    unsigned port, const struct sockaddr *sa, socklen_t salen,
	    char *why, size_t len);

/*
 * The address alone (built-in ranges and address rules). Returns 1 if
 * allowed; 0 if denied, with *why naming the rule (points into p or is
 * static). IPv4-mapped, NAT64, 6to4 and Teredo IPv6 addresses are judged
 * by the IPv4 address they carry.
 */
int	egress_allowed(const struct egress_policy *p,
	    const struct sockaddr *sa, socklen_t len, const char **why);

/* Same, for an address in text form (tests, tools). -1 if it does not parse. */
int	egress_allowed_text(const struct egress_policy *p, const char *addr,
	    const char **why);

/* Fill sa from a numeric address in text; -1 if it is not one. */
int	egress_parse_addr(const char *text, struct sockaddr_storage *ss,
	    socklen_t *len);

#endif
