/*
 * body.c: a response body in its result, in the form the request asked
 * for ("response_body", docs/api.md):
 *
 *   auto    UTF-8 text when it is that (without NUL), else base64; a body
 *           truncated mid-character is cut at its last whole character
 *           rather than flipped to base64;
 *   text    decoded from the Content-Type's charset (charset.c), U+FFFD
 *           for what does not decode, never base64;
 *   base64  always base64;
 *   json    the parsed value in "json", or the body as auto and why not
 *           in "json_error";
 *   none    nothing kept, body_bytes counted;
 *   sha256  the SHA-256 of the bytes read (OpenSSL), nothing kept.
 *
 * One writer per mode, in a table. Every form is linear in the body; a
 * JSON body is parsed only when jsonscan prices its tree under
 * BODY_JSON_MAX_COST and it nests at most JSONSCAN_MAX_DEPTH deep.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "base64.h"
#include "body.h"
#include "charset.h"
#include "jsonscan.h"
#include "jsonw.h"
#include "log.h"
#include "result.h"

#define BODY_JSON_MAX_COST	((uint64_t)64 << 20)

void
body_digest(struct result *r, const void *data, size_t len)
{
	if (r->digest == NULL) {
		if ((r->digest = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(r->digest, EVP_sha256(), NULL) != 1)
			fatalx("EVP_DigestInit_ex: sha256");
	}
	if (EVP_DigestUpdate(r->digest, data, len) != 1)
		fatalx("EVP_DigestUpdate");
}

void
body_digest_free(struct result *r)
{
	EVP_MD_CTX_free(r->digest);
	r->digest = NULL;
}

static void
write_bytes(struct jsonw *w, uint64_t n)
{
	jsonw_lit(w, ",\"body_bytes\":");
	jsonw_int(w, (long long)n);
}

static void
write_null(struct jsonw *w, uint64_t n)
{
	jsonw_lit(w, ",\"body\":null,\"body_encoding\":null");
	write_bytes(w, n);
}

static void
write_base64(struct jsonw *w, const struct result *r)
{
	char *b64;

	if (r->body_len == 0) {
		write_null(w, 0);
		return;
	}
	b64 = base64_encode(r->body, r->body_len, NULL);
	jsonw_lit(w, ",\"body\":");
	jsonw_str(w, b64, strlen(b64));
	jsonw_lit(w, ",\"body_encoding\":\"base64\"");
	free(b64);
	write_bytes(w, r->body_len);
}

/* Text as it is when it can be, to its last whole character if cut. */
static void
write_auto(struct jsonw *w, const struct result *r)
{
	const char *s = (const char *)r->body;
	size_t n = r->body_len;

	if (n == 0) {
		write_null(w, 0);
		return;
	}
	if (r->truncated)
		n = utf8_whole(s, n);
	if (n == 0 || memchr(s, '\0', n) != NULL || !utf8_valid(s, n)) {
		write_base64(w, r);
		return;
	}
	jsonw_lit(w, ",\"body\":");
	jsonw_str(w, s, n);
	jsonw_lit(w, ",\"body_encoding\":\"utf-8\"");
	write_bytes(w, n);
}

static void
write_text(struct jsonw *w, const struct result *r)
{
	char cs[48], *text;
	size_t len;
	int known;

	if (r->body_len == 0) {
		write_null(w, 0);
		return;
	}
	charset_of(result_header(r, "content-type"), cs, sizeof(cs));
	text = charset_decode(cs, (const char *)r->body, r->body_len,
	    r->truncated, &len, &known);
	jsonw_lit(w, ",\"body\":");
	jsonw_str(w, text, len);
	jsonw_lit(w, ",\"body_encoding\":\"text\"");
	free(text);
	write_bytes(w, r->body_len);
}

static void
write_json_error(struct jsonw *w, const struct result *r, const char *why)
{
	write_auto(w, r);
	jsonw_lit(w, ",\"json\":null,\"json_error\":");
	jsonw_netstr(w, why, strlen(why));
}

static void
write_json(struct jsonw *w, const struct result *r)
{
	const char *s = (const char *)r->body;
	json_error_t jerr;
	uint64_t cost = 0;
	json_t *v;
	char why[320];
	int rc;

	if (r->body_len == 0) {
		write_json_error(w, r, "the body is empty");
		return;
	}
	if (r->truncated) {
		write_json_error(w, r, "the body was cut at "
		    "max_response_bytes; raise it to parse the whole body");
		return;
	}
	rc = jsonscan(s, r->body_len, UINT64_MAX, &cost);
	if (rc == JSONSCAN_TOO_DEEP) {
		snprintf(why, sizeof(why), "JSON nested deeper than %d levels",
		    JSONSCAN_MAX_DEPTH);
		write_json_error(w, r, why);
		return;
	}
	if (cost > BODY_JSON_MAX_COST) {
		snprintf(why, sizeof(why), "parsing it would take about %llu "
		    "MiB; at most %llu", (unsigned long long)(cost >> 20),
		    (unsigned long long)(BODY_JSON_MAX_COST >> 20));
		write_json_error(w, r, why);
		return;
	}
	v = json_loadb(s, r->body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL |
	    JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		snprintf(why, sizeof(why), "not JSON: line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		write_json_error(w, r, why);
		return;
	}
	write_null(w, r->body_len);
	jsonw_lit(w, ",\"json\":");
	jsonw_json(w, v);
	jsonw_lit(w, ",\"json_error\":null");
	json_decref(v);
}

static void
write_none(struct jsonw *w, const struct result *r)
{
	write_null(w, r->body_read);
}

static void
write_sha256(struct jsonw *w, const struct result *r)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	char text[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int n = 0, i;
	EVP_MD_CTX *c;

	if ((c = EVP_MD_CTX_new()) == NULL)
		fatalx("EVP_MD_CTX_new");
	if (r->digest != NULL ? EVP_MD_CTX_copy_ex(c, r->digest) != 1 ||
	    EVP_DigestFinal_ex(c, md, &n) != 1 :
	    EVP_Digest("", 0, md, &n, EVP_sha256(), NULL) != 1)
		fatalx("sha256");
	EVP_MD_CTX_free(c);
	for (i = 0; i < n; i++) {
		text[2 * i] = hex[md[i] >> 4];
		text[2 * i + 1] = hex[md[i] & 15];
	}
	write_null(w, r->body_read);
	jsonw_lit(w, ",\"sha256\":\"");
	jsonw_raw(w, text, 2 * n);
	jsonw_raw(w, "\"", 1);
}

/* In enum result_body's order. */
static void (*const writers[])(struct jsonw *, const struct result *) = {
	write_auto, write_text, write_base64, write_json, write_none,
	write_sha256,
};

void
body_encode(struct jsonw *w, const struct result *r)
{
	unsigned m = (unsigned)r->body_mode;

	writers[m < sizeof(writers) / sizeof(writers[0]) ? m : 0](w, r);
}
