/*
 * jsonw.c: writing JSON text directly.
 *
 * A result is encoded once and never read back, so building a jansson
 * tree for it (one allocation per member, a hash table per object, then
 * a walk to print it) cost half of the daemon's CPU per request (see
 * docs/performance.md). This writer appends to one buffer instead. It
 * escapes strings as jansson does (quote, backslash, control characters;
 * UTF-8 passes through), so the text is what json_dumps(JSON_COMPACT)
 * would print, member order included.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonw.h"
#include "xmalloc.h"

void
jsonw_init(struct jsonw *w, size_t hint)
{
	w->cap = hint < 64 ? 64 : hint;
	w->buf = xmalloc(w->cap);
	w->len = 0;
}

static void
reserve(struct jsonw *w, size_t n)
{
	if (w->len + n + 1 <= w->cap)
		return;
	while (w->len + n + 1 > w->cap)
		w->cap *= 2;
	w->buf = xreallocarray(w->buf, 1, w->cap);
}

void
jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	reserve(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

void
jsonw_lit(struct jsonw *w, const char *s)
{
	jsonw_raw(w, s, strlen(s));
}

/* SWAR: eight bytes at a time (Hacker's Delight, "has less than"). */
#define ONES	0x0101010101010101ull
#define HIGHS	0x8080808080808080ull
#define LESS(x, n)	(((x) - ONES * (n)) & ~(x) & HIGHS)
#define HAS(x, c)	LESS((x) ^ (ONES * (c)), 1)

/* Bytes from p on that need no escape, a word at a time first. */
static size_t
plain_run(const unsigned char *p, const unsigned char *end)
{
	const unsigned char *q = p;
	uint64_t x;

	while (end - q >= 8) {
		memcpy(&x, q, 8);
		if (LESS(x, 0x20) | HAS(x, '"') | HAS(x, '\\'))
			break;
		q += 8;
	}
	while (q < end && *q >= 0x20 && *q != '"' && *q != '\\')
		q++;
	return (size_t)(q - p);
}

void
jsonw_str(struct jsonw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	const unsigned char *run;
	char *o;

	reserve(w, n + 2);
	w->buf[w->len++] = '"';
	while (p < end) {
		run = p;
		p += plain_run(p, end);
		jsonw_raw(w, (const char *)run, (size_t)(p - run));
		if (p == end)
			break;
		reserve(w, 6);
		o = w->buf + w->len;
		*o++ = '\\';
		switch (*p) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
		w->len = (size_t)(o - w->buf);
		p++;
	}
	reserve(w, 1);
	w->buf[w->len++] = '"';
}

char *
jsonw_netdup(const char *s, size_t n, size_t *lenp)
{
	char *u, *p;
	size_t i;

	if (utf8_valid(s, n)) {
		*lenp = n;
		return xmemdup(s, n);	/* NUL-terminated */
	}
	p = u = xmalloc(2 * n + 1);
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x80)
			*p++ = s[i];
		else {
			*p++ = (char)(0xc0 | ((unsigned char)s[i] >> 6));
			*p++ = (char)(0x80 | ((unsigned char)s[i] & 0x3f));
		}
	}
	*p = '\0';
	*lenp = (size_t)(p - u);
	return u;
}

void
jsonw_netstr(struct jsonw *w, const char *s, size_t n)
{
	char *u;
	size_t len;

	if (utf8_valid(s, n)) {
		jsonw_str(w, s, n);
		return;
	}
	u = jsonw_netdup(s, n, &len);
	jsonw_str(w, u, len);
	free(u);
}

void
jsonw_int(struct jsonw *w, long long v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v :
	    (unsigned long long)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	jsonw_raw(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
jsonw_real(struct jsonw *w, double v)
{
	char tmp[40];
	int prec, n = 0;

	if (v != v || v - v != 0)	/* NaN or infinite: not JSON */
		v = 0;
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	if (strpbrk(tmp, ".e") == NULL)		/* still a real: "2.0" */
		n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, ".0");
	jsonw_raw(w, tmp, (size_t)n);
}

void
jsonw_json(struct jsonw *w, const json_t *v)
{
	const char *key;
	json_t *item, *o = (json_t *)v;	/* jansson's iterators */
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		jsonw_raw(w, "{", 1);
		i = 0;
		json_object_foreach(o, key, item) {
			if (i++ > 0)
				jsonw_raw(w, ",", 1);
			jsonw_str(w, key, strlen(key));
			jsonw_raw(w, ":", 1);
			jsonw_json(w, item);
		}
		jsonw_raw(w, "}", 1);
		break;
	case JSON_ARRAY:
		jsonw_raw(w, "[", 1);
		json_array_foreach(o, i, item) {
			if (i > 0)
				jsonw_raw(w, ",", 1);
			jsonw_json(w, item);
		}
		jsonw_raw(w, "]", 1);
		break;
	case JSON_STRING:
		jsonw_str(w, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		jsonw_int(w, (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		jsonw_real(w, json_real_value(v));
		break;
	case JSON_TRUE:
		jsonw_lit(w, "true");
		break;
	case JSON_FALSE:
		jsonw_lit(w, "false");
		break;
	case JSON_NULL:
		jsonw_lit(w, "null");
		break;
	}
}

void
jsonw_ms(struct jsonw *w, double ms)
{
	long long us;
	char frac[5];

	if (!(ms > 0))		/* negative, zero or NaN */
		ms = 0;
	if (ms > 9e12)
		ms = 9e12;
	us = (long long)(ms * 1000.0 + 0.5);
	jsonw_int(w, us / 1000);
	frac[0] = '.';
	frac[1] = (char)('0' + us / 100 % 10);
	frac[2] = (char)('0' + us / 10 % 10);
	frac[3] = (char)('0' + us % 10);
	jsonw_raw(w, frac, 4);
}

char *
jsonw_steal(struct jsonw *w, size_t *len)
{
	char *s;

	reserve(w, 0);
	if (w->cap - w->len > 128)	/* kept until the reply: no slack */
		w->buf = xreallocarray(w->buf, 1, w->len + 1);
	s = w->buf;
	s[w->len] = '\0';
	if (len != NULL)
		*len = w->len;
	w->buf = NULL;
	w->len = w->cap = 0;
	return s;
}

int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	uint64_t x;
	uint32_t cp;
	int k, i;

	while (p < end) {
		if (*p < 0x80) {	/* ASCII: skip it a word at a time */
			while (end - p >= 8) {
				memcpy(&x, p, 8);
				if (x & HIGHS)
					break;
				p += 8;
			}
			while (p < end && *p < 0x80)
				p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			k = 1, cp = *p & 0x1f;
		else if (*p >= 0xe0 && *p <= 0xef)
			k = 2, cp = *p & 0x0f;
		else if (*p >= 0xf0 && *p <= 0xf4)
			k = 3, cp = *p & 0x07;
		else
			return 0;
		if (end - p <= k)
			return 0;
		for (i = 1; i <= k; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
		    || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		p += k + 1;
	}
	return 1;
}

int
utf8_char(const unsigned char *p, size_t left)
{
	size_t k, i;

	if (left == 0)
		return 0;
	if (*p < 0x80)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf)
		k = 1;
	else if (*p >= 0xe0 && *p <= 0xef)
		k = 2;
	else if (*p >= 0xf0 && *p <= 0xf4)
		k = 3;
	else
		return 0;
	for (i = 1; i <= k; i++) {
		if (i >= left)
			break;
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		/* the second byte rules out overlongs and surrogates */
		if (i == 1 && ((k == 2 && ((*p == 0xe0 && p[1] < 0xa0) ||
		    (*p == 0xed && p[1] > 0x9f))) || (k == 3 &&
		    ((*p == 0xf0 && p[1] < 0x90) || (*p == 0xf4 &&
		    p[1] > 0x8f)))))
			return 0;
	}
	if (i <= k)
		return -1;	/* a good start, cut short */
	return (int)k + 1;
}

size_t
utf8_whole(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t back;

	for (back = 1; back <= 3 && back <= n; back++) {
		if ((p[n - back] & 0xc0) == 0x80)
			continue;	/* a continuation: look further */
		return utf8_char(p + n - back, back) == -1 ? n - back : n;
	}
	return n;
}
