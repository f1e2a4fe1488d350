/*
 * base64.h: strict RFC 4648 base64 (standard alphabet, padded).
 */
#ifndef FANOUTD_BASE64_H
#define FANOUTD_BASE64_H

#include <stddef.h>

/* Encode len bytes; returns a NUL-terminated string the caller frees. */
char	*base64_encode(const unsigned char *src, size_t len, size_t *outlen);

/*
 * Decode strictly: length a multiple of 4, only the alphabet, '=' only as
 * final padding. Returns bytes the caller frees (NUL-terminated for
 * convenience) and their count in *outlen, or NULL if the text is not valid.
 */
unsigned char *base64_decode(const char *src, size_t len, size_t *outlen);

#endif
