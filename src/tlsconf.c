/*
 * tlsconf.c: per-host TLS settings, read and checked at load.
 *
 * Files are read when the configuration is loaded (start and reload), by
 * the daemon's user, and parsed with OpenSSL at once: a CA bundle without
 * a certificate, an encrypted key or a key that does not match its
 * certificate is a config error naming the line, not a tls_failed on every
 * request later. What transfers use is the bytes (libcurl's *_BLOB
 * options), never a path, and never anything a batch says: a client
 * cannot point the daemon at a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "option.h"
#include "tlsconf.h"
#include "xmalloc.h"

#define PIN_LEN		(8 + 44)	/* "sha256//" and 32 bytes' base64 */
#define MAX_PINS	16

static uint64_t serials;

struct tlsconf *
tlsconf_new(void)
{
	struct tlsconf *c = xcalloc(1, sizeof(*c));

	c->refs = 1;
	c->serial = ++serials;
	return c;
}

struct tlsconf *
tlsconf_ref(struct tlsconf *c)
{
	if (c != NULL)
		c->refs++;
	return c;
}

static void
wipe(unsigned char **p, size_t *len)
{
	if (*p != NULL)
		explicit_bzero(*p, *len);
	free(*p);
	*p = NULL;
	*len = 0;
}

void
tlsconf_unref(struct tlsconf *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	wipe(&c->ca, &c->ca_len);
	wipe(&c->cert, &c->cert_len);
	wipe(&c->key, &c->key_len);
	free(c->pin);
	free(c);
}

/* A key is never asked for a passphrase: encrypted keys are refused. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* Read path whole (a regular file of at most TLSCONF_FILE_MAX bytes). */
static int
read_file(const char *path, unsigned char **out, size_t *outlen, char *why,
    size_t len)
{
	unsigned char *buf;
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd;

	if (path[0] != '/') {
		snprintf(why, len, "must be an absolute path");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(why, len, "cannot read it: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > TLSCONF_FILE_MAX) {
		snprintf(why, len, "must be a regular file of at most %d "
		    "bytes", TLSCONF_FILE_MAX);
		close(fd);
		return -1;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size && (r = read(fd, buf + n,
	    (size_t)st.st_size - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(why, len, "cannot read it: %s",
			    strerror(errno));
			close(fd);
			explicit_bzero(buf, n);
			free(buf);
			return -1;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
}

/* How many PEM certificates data holds. */
static int
count_certs(const unsigned char *data, size_t n)
{
	BIO *bio = BIO_new_mem_buf(data, (int)n);
	X509 *x;
	int count = 0;

	if (bio == NULL)
		return 0;
	while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) !=
	    NULL) {
		X509_free(x);
		count++;
	}
	BIO_free(bio);
	ERR_clear_error();	/* the read past the last one */
	return count;
}

static EVP_PKEY *
parse_key(const unsigned char *data, size_t n)
{
	BIO *bio = BIO_new_mem_buf(data, (int)n);
	EVP_PKEY *k;

	if (bio == NULL)
		return NULL;
	k = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return k;
}

static X509 *
parse_cert(const unsigned char *data, size_t n)
{
	BIO *bio = BIO_new_mem_buf(data, (int)n);
	X509 *x;

	if (bio == NULL)
		return NULL;
	x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return x;
}

/* A file key: read it into *data (replacing), its path into *pathp. */
static int
set_file(const char *value, char **pathp, unsigned char **data,
    size_t *dlen, int key, char *why, size_t len)
{
	unsigned char *buf;
	size_t n;
	EVP_PKEY *k;

	if (read_file(value, &buf, &n, why, len) == -1)
		return -1;
	if (key) {
		if ((k = parse_key(buf, n)) == NULL) {
			snprintf(why, len, "holds no PEM private key (a key "
			    "with a passphrase is not supported)");
			explicit_bzero(buf, n);
			free(buf);
			return -1;
		}
		EVP_PKEY_free(k);
	} else if (count_certs(buf, n) == 0) {
		snprintf(why, len, "holds no PEM certificate");
		free(buf);
		return -1;
	}
	wipe(data, dlen);
	*data = buf;
	*dlen = n;
	free(*pathp);
	*pathp = xstrdup(value);
	return 0;
}

/* "sha256//BASE64[;sha256//BASE64...]": curl's format, hashes only. */
static int
set_pin(struct tlsconf *c, const char *value, char *why, size_t len)
{
	const char *p = value, *end;
	size_t i, n, pins = 0;

	for (;;) {
		end = strchr(p, ';');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n != PIN_LEN || strncmp(p, "sha256//", 8) != 0 ||
		    p[n - 1] != '=' || ++pins > MAX_PINS)
			goto bad;
		for (i = 8; i < n - 1; i++)
			if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
			    "qrstuvwxyz0123456789+/", p[i]) == NULL)
				goto bad;
		if (end == NULL)
			break;
		p = end + 1;
	}
	free(c->pin);
	c->pin = xstrdup(value);
	return 0;
bad:
	snprintf(why, len, "must be sha256//BASE64 (the base64 of a public "
	    "key's SHA-256, 44 characters), up to %d joined by ';'",
	    MAX_PINS);
	return -1;
}

int
tlsconf_set(struct tlsconf *c, const char *key, const char *value,
    char *why, size_t len)
{
	if (strcmp(key, "ca_file") == 0)
		return set_file(value, &c->ca_file, &c->ca, &c->ca_len, 0,
		    why, len);
	if (strcmp(key, "client_cert") == 0)
		return set_file(value, &c->cert_file, &c->cert, &c->cert_len,
		    0, why, len);
	if (strcmp(key, "client_key") == 0)
		return set_file(value, &c->key_file, &c->key, &c->key_len, 1,
		    why, len);
	if (strcmp(key, "ca_only") == 0)
	{
		if (option_parse_bool(value, &c->ca_only) == -1) {
			snprintf(why, len, "must be yes or no");
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "pinned_pubkey") == 0)
		return set_pin(c, value, why, len);
	if (strcmp(key, "tls_min") == 0) {
		if (strcmp(value, "1.2") == 0)
			c->tls_min = 12;
		else if (strcmp(value, "1.3") == 0)
			c->tls_min = 13;
		else {
			snprintf(why, len, "must be 1.2 or 1.3");
			return -1;
		}
		return 0;
	}
	return 1;
}

int
tlsconf_check(const struct tlsconf *c, char *why, size_t len)
{
	EVP_PKEY *k;
	X509 *x;
	int ok;

	if (c->ca_only && c->ca == NULL) {
		snprintf(why, len, "ca_only = yes needs a ca_file");
		return -1;
	}
	if ((c->cert == NULL) != (c->key == NULL)) {
		snprintf(why, len, "client_cert and client_key go together");
		return -1;
	}
	if (c->cert == NULL)
		return 0;
	x = parse_cert(c->cert, c->cert_len);
	k = parse_key(c->key, c->key_len);
	ok = x != NULL && k != NULL && X509_check_private_key(x, k) == 1;
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(k);
	if (!ok) {
		snprintf(why, len, "client_key %s does not match client_cert "
		    "%s", c->key_file, c->cert_file);
		return -1;
	}
	return 0;
}
