/*
 * jsonw.h: JSON text written straight into a growing buffer.
 */
#ifndef FANOUTD_JSONW_H
#define FANOUTD_JSONW_H

#include <stddef.h>

struct jsonw {
	char	*buf;
	size_t	 len, cap;
};

/* Start empty with room for about hint bytes. */
void	jsonw_init(struct jsonw *w, size_t hint);

/* Append bytes as they are (punctuation, keys known to need no escape). */
void	jsonw_raw(struct jsonw *w, const char *s, size_t n);

/* Append a C string as it is. */
void	jsonw_lit(struct jsonw *w, const char *s);

/*
 * Append a JSON string of s (n bytes, valid UTF-8; NUL allowed), escaped
 * as jansson does: quote, backslash and control characters only.
 */
void	jsonw_str(struct jsonw *w, const char *s, size_t n);

/*
 * Text from the network: valid UTF-8 stays as it is, anything else is
 * read as ISO-8859-1 (HTTP's obs-text), so no byte is lost and no
 * upstream can make encoding fail.
 */
void	jsonw_netstr(struct jsonw *w, const char *s, size_t n);

/*
 * Text from the network as UTF-8, read as jsonw_netstr() reads it: a
 * NUL-terminated copy (caller frees), its length in *lenp.
 */
char	*jsonw_netdup(const char *s, size_t n, size_t *lenp);

/* Append an integer. */
void	jsonw_int(struct jsonw *w, long long v);

/*
 * Append a real in the fewest digits (15 to 17) that read back as v,
 * with ".0" when they would read as an integer; NaN and infinities, which
 * JSON cannot carry, as 0.0.
 */
void	jsonw_real(struct jsonw *w, double v);

/*
 * Append a jansson value as compact JSON: what json_dumps(JSON_COMPACT)
 * prints, members in their order, but reals by jsonw_real() (0.1, not
 * 0.10000000000000001). Recursive: the caller bounds the depth.
 */
struct json_t;
void	jsonw_json(struct jsonw *w, const struct json_t *v);

/* Append a non-negative duration in ms with microsecond precision. */
void	jsonw_ms(struct jsonw *w, double ms);

/*
 * The text, NUL-terminated and trimmed to size (caller frees); *len its
 * length. w is empty afterwards.
 */
char	*jsonw_steal(struct jsonw *w, size_t *len);

/* Is s (n bytes) valid UTF-8 (no overlongs, surrogates or > U+10FFFF)? */
int	utf8_valid(const char *s, size_t n);

/*
 * The UTF-8 character at p (left bytes on): its length (1..4); 0 when
 * the bytes are not a valid character; -1 when they are a valid start of
 * one that left cuts short.
 */
int	utf8_char(const unsigned char *p, size_t left);

/*
 * n, less the bytes of a character cut short at the end of s (a body
 * truncated mid-character): the length of its whole characters.
 */
size_t	utf8_whole(const char *s, size_t n);

#endif
