/*
 * check_tlsconf.c: [host] TLS keys: files read and checked at load, the
 * errors a config gets for each kind of bad file, and the pairing rules.
 * The keys and certificates are made here with OpenSSL (EC P-256).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tlsconf.h"
#include "check_main.h"

static char dir[32];	/* made afresh per test: CK_FORK=no reuses it */
static char path[6][96];	/* cert, key, other key, encrypted key, junk */

enum { CERT, KEY, KEY2, KEY_ENC, JUNK, EMPTY };

static EVP_PKEY *
make_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	ck_assert_ptr_nonnull(k);
	return k;
}

static void
write_key(const char *p, EVP_PKEY *k, int encrypt)
{
	FILE *fp = fopen(p, "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(PEM_write_PrivateKey(fp, k, encrypt ?
	    EVP_aes_128_cbc() : NULL, encrypt ? (unsigned char *)"secret" :
	    NULL, encrypt ? 6 : 0, NULL, NULL), 1);
	fclose(fp);
}

static void
setup(void)
{
	EVP_PKEY *k = make_key(), *k2 = make_key();
	X509 *x = X509_new();
	FILE *fp;
	int i;

	snprintf(dir, sizeof(dir), "/tmp/check_tlsconf.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (i = 0; i < 6; i++)
		snprintf(path[i], sizeof(path[i]), "%s/f%d.pem", dir, i);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"client", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
	ck_assert_ptr_nonnull(fp = fopen(path[CERT], "w"));
	PEM_write_X509(fp, x);
	fclose(fp);
	write_key(path[KEY], k, 0);
	write_key(path[KEY2], k2, 0);
	write_key(path[KEY_ENC], k, 1);
	ck_assert_ptr_nonnull(fp = fopen(path[JUNK], "w"));
	fputs("not PEM at all\n", fp);
	fclose(fp);
	ck_assert_ptr_nonnull(fp = fopen(path[EMPTY], "w"));
	fclose(fp);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

static void
teardown(void)
{
	int i;

	for (i = 0; i < 6; i++)
		unlink(path[i]);
	rmdir(dir);
}

START_TEST(test_files)
{
	struct tlsconf *c = tlsconf_new();
	char why[256];

	ck_assert_int_eq(tlsconf_set(c, "ca_file", path[CERT], why,
	    sizeof(why)), 0);
	ck_assert_ptr_nonnull(c->ca);
	ck_assert_str_eq(c->ca_file, path[CERT]);
	ck_assert_int_eq(tlsconf_set(c, "client_cert", path[CERT], why,
	    sizeof(why)), 0);
	ck_assert_int_eq(tlsconf_set(c, "client_key", path[KEY], why,
	    sizeof(why)), 0);
	ck_assert_int_eq(tlsconf_check(c, why, sizeof(why)), 0);
	/* a key that is not the certificate's */
	ck_assert_int_eq(tlsconf_set(c, "client_key", path[KEY2], why,
	    sizeof(why)), 0);
	ck_assert_int_eq(tlsconf_check(c, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "does not match"));
	/* bad files: each says why */
	ck_assert_int_eq(tlsconf_set(c, "client_key", path[KEY_ENC], why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "passphrase"));
	ck_assert_int_eq(tlsconf_set(c, "ca_file", path[JUNK], why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "no PEM certificate"));
	ck_assert_int_eq(tlsconf_set(c, "ca_file", path[KEY], why,
	    sizeof(why)), -1);
	ck_assert_int_eq(tlsconf_set(c, "client_key", path[CERT], why,
	    sizeof(why)), -1);
	ck_assert_int_eq(tlsconf_set(c, "ca_file", path[EMPTY], why,
	    sizeof(why)), -1);
	ck_assert_int_eq(tlsconf_set(c, "ca_file", dir, why, sizeof(why)),
	    -1);
	ck_assert_ptr_nonnull(strstr(why, "regular file"));
	ck_assert_int_eq(tlsconf_set(c, "ca_file", "/nonexistent/ca.pem",
	    why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "No such file"));
	ck_assert_int_eq(tlsconf_set(c, "ca_file", "ca.pem", why,
	    sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "absolute"));
	/* a failed set keeps what was there */
	ck_assert_str_eq(c->ca_file, path[CERT]);
	tlsconf_unref(c);
}
END_TEST

START_TEST(test_unreadable_key)
{
	struct tlsconf *c;
	char why[256];
	pid_t pid;
	int status;

	ck_assert_int_eq(chmod(path[KEY], 0), 0);
	/* root reads any file: try it as nobody, in a child */
	if ((pid = fork()) == 0) {
		if (geteuid() == 0 && (setgid(65534) == -1 ||
		    setuid(65534) == -1))
			_exit(3);
		int rc;

		c = tlsconf_new();
		rc = tlsconf_set(c, "client_key", path[KEY], why, sizeof(why));
		tlsconf_unref(c);
		if (rc != -1)
			_exit(1);
		_exit(strstr(why, "Permission denied") != NULL ? 0 : 2);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(chmod(path[KEY], 0600), 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(test_pairs)
{
	struct tlsconf *c = tlsconf_new();
	char why[256];

	ck_assert_int_eq(tlsconf_set(c, "ca_only", "yes", why, sizeof(why)),
	    0);
	ck_assert_int_eq(tlsconf_check(c, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "needs a ca_file"));
	ck_assert_int_eq(tlsconf_set(c, "ca_only", "no", why, sizeof(why)),
	    0);
	ck_assert_int_eq(tlsconf_check(c, why, sizeof(why)), 0);
	ck_assert_int_eq(tlsconf_set(c, "client_cert", path[CERT], why,
	    sizeof(why)), 0);
	ck_assert_int_eq(tlsconf_check(c, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "go together"));
	ck_assert_int_eq(tlsconf_set(c, "ca_only", "maybe", why,
	    sizeof(why)), -1);
	tlsconf_unref(c);
}
END_TEST

START_TEST(test_pin_and_version)
{
	struct tlsconf *c = tlsconf_new(), *d = tlsconf_new();
	const char *pin = "sha256//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE=";
	char why[256], two[160];

	ck_assert_uint_ne(c->serial, d->serial);
	ck_assert_int_eq(tlsconf_set(c, "pinned_pubkey", pin, why,
	    sizeof(why)), 0);
	ck_assert_str_eq(c->pin, pin);
	snprintf(two, sizeof(two), "%s;%s", pin, pin);
	ck_assert_int_eq(tlsconf_set(c, "pinned_pubkey", two, why,
	    sizeof(why)), 0);
	/* a path (curl would read a file) or anything but sha256// */
	ck_assert_int_eq(tlsconf_set(c, "pinned_pubkey", "/etc/key.pem", why,
	    sizeof(why)), -1);
	ck_assert_int_eq(tlsconf_set(c, "pinned_pubkey", "sha256//short=",
	    why, sizeof(why)), -1);
	ck_assert_int_eq(tlsconf_set(c, "pinned_pubkey",
	    "sha512//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE=", why,
	    sizeof(why)), -1);
	snprintf(two, sizeof(two), "%s;", pin);
	ck_assert_int_eq(tlsconf_set(c, "pinned_pubkey", two, why,
	    sizeof(why)), -1);
	ck_assert_int_eq(tlsconf_set(c, "tls_min", "1.3", why, sizeof(why)),
	    0);
	ck_assert_int_eq(c->tls_min, 13);
	ck_assert_int_eq(tlsconf_set(c, "tls_min", "1.2", why, sizeof(why)),
	    0);
	ck_assert_int_eq(c->tls_min, 12);
	ck_assert_int_eq(tlsconf_set(c, "tls_min", "1.1", why, sizeof(why)),
	    -1);
	ck_assert_int_eq(tlsconf_set(c, "rate", "1/s", why, sizeof(why)), 1);
	ck_assert_ptr_eq(tlsconf_ref(c), c);
	ck_assert_uint_eq(c->refs, 2);
	tlsconf_unref(c);
	tlsconf_unref(c);
	tlsconf_unref(d);
}
END_TEST

static Suite *
tlsconf_suite(void)
{
	Suite *s = suite_create("tlsconf");
	struct check_opts o = { setup, teardown, 0 };

	check_add_with(s, &o, test_files);
	check_add_with(s, &o, test_unreadable_key);
	check_add_with(s, &o, test_pairs);
	check_add_with(s, &o, test_pin_and_version);
	return s;
}

int
main(void)
{
	return check_run(tlsconf_suite());
}
