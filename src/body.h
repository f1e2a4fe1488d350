/*
 * body.h: a response body in its result, in the form the request asked
 * for ("response_body").
 */
#ifndef FANOUTD_BODY_H
#define FANOUTD_BODY_H

#include <stddef.h>

struct jsonw;
struct result;

/* Hash len more bytes of r's body (RESULT_BODY_SHA256). */
void	body_digest(struct result *r, const void *data, size_t len);

/* Free r's digest state. */
void	body_digest_free(struct result *r);

/*
 * Write r's body members: ,"body":...,"body_encoding":...,"body_bytes":N
 * and, by mode, ,"json":...,"json_error":... or ,"sha256":"HEX".
 */
void	body_encode(struct jsonw *w, const struct result *r);

#endif
