/*
 * charset.h: a response body as UTF-8 text, from the charset its
 * Content-Type names.
 */
#ifndef FANOUTD_CHARSET_H
#define FANOUTD_CHARSET_H

#include <stddef.h>

/*
 * The charset parameter of a Content-Type value ("text/html;
 * charset=\"ISO-8859-1\"" gives "ISO-8859-1") into name (len bytes);
 * 0, or -1 with name "" when there is none or it is not a plain name
 * (letters, digits, "-_.:+", at most len - 1).
 */
int	charset_of(const char *content_type, char *name, size_t len);

/*
 * n bytes in charset (NULL or "": UTF-8) as valid UTF-8 (caller frees;
 * *outlen its length): each byte that does not decode becomes U+FFFD, and
 * a character cut short at the end is dropped when cut (the body was
 * truncated), else U+FFFD too. A charset iconv does not know is read as
 * UTF-8, and *known is set to 0 (else 1).
 */
char	*charset_decode(const char *charset, const char *s, size_t n,
	    int cut, size_t *outlen, int *known);

#endif
