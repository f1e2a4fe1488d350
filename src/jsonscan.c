/*
 * jsonscan.c: a JSON text's shape and cost, before jansson parses it.
 *
 * jansson accepts nesting to 2048 and any number of members per object
 * (each one hashed and allocated), and allocates several times a
 * document's size; a batch needs four levels and a few dozen members.
 * One pass over the text refuses deep or wide documents and prices the
 * tree jansson would build, so that max_api_memory can be asked first.
 * Pure.
 */
#include <string.h>

#include "jsonscan.h"

/*
 * What jansson 2.14 allocates for a parsed document, from one pass over
 * its text (measured with mallinfo2(), glibc's overheads included, and
 * rounded up): each object 240 bytes, array 140, string 80 and number 40,
 * 8 for every slot in an array or object, and for every token, string or
 * not, three times its length: the lexer copies each token into a buffer
 * that doubles as it grows (old and new both live at the last doubling),
 * and a string keeps it. Strings are counted from their opening quote, so
 * one left open to the end is priced too, and so is any bare word jansson
 * will buffer before refusing it. Within 10% of the real figure for the
 * shapes a client can send, over for short tokens: a 63 MiB `[{},{},...]`
 * is 5 GB, refused before a byte of it is allocated.
 */
#define COST_OBJECT	240
#define COST_ARRAY	140
#define COST_STRING	80
#define COST_NUMBER	40
#define COST_SLOT	8
#define COST_PER_BYTE	3

/*
 * One pass: strings are skipped, escapes honoured; a member is the ':' at
 * an object's own level.
 */
int
jsonscan(const char *p, size_t len, uint64_t max_keys, uint64_t *cost)
{
	uint64_t keys[JSONSCAN_MAX_DEPTH + 1], c = 0;
	char kind[JSONSCAN_MAX_DEPTH + 1];
	size_t i, start = 0;
	int depth = 0, instr = 0;

	kind[0] = '\0';
	for (i = 0; i < len; i++) {
		if (instr) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"') {
				instr = 0;
				c += COST_PER_BYTE * (i - start + 1);
			}
		} else if (p[i] == '"') {
			instr = 1;
			start = i;
			c += COST_STRING;
		} else if (p[i] == '[' || p[i] == '{') {
			if (++depth > JSONSCAN_MAX_DEPTH)
				return JSONSCAN_TOO_DEEP;
			kind[depth] = p[i];
			keys[depth] = 0;
			c += p[i] == '{' ? COST_OBJECT : COST_ARRAY;
		} else if (p[i] == ']' || p[i] == '}') {
			if (depth > 0)
				depth--;
		} else if (p[i] == ',' || p[i] == ':') {
			c += COST_SLOT;
			if (p[i] == ':' && depth > 0 && kind[depth] == '{' &&
			    ++keys[depth] > max_keys)
				return JSONSCAN_TOO_WIDE;
		} else if (strchr(" \t\r\n", p[i]) == NULL) {
			/* a number, a literal, or a word jansson refuses */
			start = i;
			while (i + 1 < len && strchr(" \t\r\n,:[]{}\"",
			    p[i + 1]) == NULL)
				i++;
			c += COST_NUMBER + COST_PER_BYTE * (i - start + 1);
		}
	}
	if (instr)	/* open to the end: jansson buffers it all first */
		c += COST_PER_BYTE * (len - start);
	*cost = c;
	return JSONSCAN_OK;
}
