/*
 * tlsconf.h: the TLS settings of a [host] section as transfers see them:
 * an immutable snapshot with the files already read (so a key can be mode
 * 0600 for the daemon's user, and a bad file is a config error naming its
 * line), shared by reference by the transfers started under it. Threads
 * only read it; references are taken and dropped on the main thread.
 */
#ifndef FANOUTD_TLSCONF_H
#define FANOUTD_TLSCONF_H

#include <stddef.h>
#include <stdint.h>

#define TLSCONF_FILE_MAX	(1024 * 1024)	/* a PEM file, at most */

struct tlsconf {
	unsigned	 refs;
	uint64_t	 serial;	/* unique per snapshot, never reused */
	char		*ca_file;	/* paths, as configured (or NULL) */
	char		*cert_file;
	char		*key_file;
	unsigned char	*ca;		/* PEM: CAs added to the system's */
	size_t		 ca_len;
	int		 ca_only;	/* ca replaces the system store */
	unsigned char	*cert;		/* PEM client certificate (mTLS) */
	size_t		 cert_len;
	unsigned char	*key;		/* PEM private key; wiped on free */
	size_t		 key_len;
	char		*pin;		/* "sha256//...;sha256//..." */
	int		 tls_min;	/* 0: the library's; 12: 1.2; 13: 1.3 */
};

/* A new snapshot with nothing set (one reference, the caller's). */
struct tlsconf *tlsconf_new(void);

/* Take and drop a reference (main thread only); the last frees it. */
struct tlsconf *tlsconf_ref(struct tlsconf *c);
void	tlsconf_unref(struct tlsconf *c);

/*
 * Set key (ca_file, ca_only, client_cert, client_key, pinned_pubkey,
 * tls_min) from text, reading and checking a file at once. Returns 1 when
 * key is not a TLS key, 0 when set, -1 with why[len] saying what is wrong.
 */
int	tlsconf_set(struct tlsconf *c, const char *key, const char *value,
	    char *why, size_t len);

/*
 * Once every key of the section is set: the keys that only make sense
 * together (a certificate and its key, which must match; ca_only with a
 * ca_file). -1 with why[len].
 */
int	tlsconf_check(const struct tlsconf *c, char *why, size_t len);

#endif
