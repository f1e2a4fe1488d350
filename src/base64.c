/*
 * base64.c: base64 for request bodies in and binary response bodies out.
 *
 * OpenSSL (already linked through libevhtp) does the coding; this file adds
 * the strictness an API boundary wants: EVP_DecodeBlock() accepts stray
 * whitespace and reports padding as data, so the text is checked first and
 * the padding subtracted here.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base64.h"
#include "log.h"
#include "xmalloc.h"

char *
base64_encode(const unsigned char *src, size_t len, size_t *outlen)
{
	char *out;
	int n;

	if (len > (size_t)1 << 30)
		fatalx("base64_encode: %zu bytes", len);
	out = xmalloc(4 * ((len + 2) / 3) + 1);
	n = EVP_EncodeBlock((unsigned char *)out, src, (int)len);
	out[n] = '\0';
	if (outlen != NULL)
		*outlen = (size_t)n;
	return out;
}

static int
is_b64(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

unsigned char *
base64_decode(const char *src, size_t len, size_t *outlen)
{
	unsigned char *out;
	size_t i, pad = 0;
	int n;

	if (len % 4 != 0 || len > (size_t)1 << 30)
		return NULL;
	if (len > 0 && src[len - 1] == '=')
		pad = (len > 1 && src[len - 2] == '=') ? 2 : 1;
	for (i = 0; i < len - pad; i++)
		if (!is_b64((unsigned char)src[i]))
			return NULL;
	out = xmalloc(len / 4 * 3 + 1);
	n = EVP_DecodeBlock(out, (const unsigned char *)src, (int)len);
	if (n < 0 || (size_t)n < pad) {
		free(out);
		return NULL;
	}
	*outlen = (size_t)n - pad;
	out[*outlen] = '\0';
	return out;
}
