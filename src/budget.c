/*
 * budget.c: one limit on memory that many holders draw from.
 *
 * API request bodies are held twice while they arrive and are parsed (the
 * evbuffer, then the contiguous copy the parser reads), and a JSON tree
 * costs many times its text; one caller's 64 MiB body was gigabytes. Each
 * holder takes what it will need before it allocates it and gives it back
 * after, so the total stays under max_api_memory whatever the number of
 * connections, and what does not fit is refused at once rather than
 * allocated. The limit may change on reload; takes already made stand.
 * Holders that may wait on a client (a body arriving) draw as a user, one
 * per uid, so that one uid's stalled uploads cannot hold the whole budget.
 */
#include "budget.h"

void
budget_init(struct budget *b, uint64_t limit)
{
	b->limit = limit;
	b->used = b->peak = b->refused = 0;
}

int
budget_take(struct budget *b, uint64_t n)
{
	if (n > b->limit || b->used > b->limit - n) {
		b->refused++;
		return -1;
	}
	b->used += n;
	if (b->used > b->peak)
		b->peak = b->used;
	return 0;
}

void
budget_give(struct budget *b, uint64_t n)
{
	b->used = n < b->used ? b->used - n : 0;
}

int
budget_take_user(struct budget *b, uint64_t *held, uint64_t n)
{
	uint64_t share = b->limit / BUDGET_USER_SHARE;

	if (n > share || *held > share - n) {
		b->refused++;
		return -1;
	}
	if (budget_take(b, n) == -1)
		return -1;
	*held += n;
	return 0;
}

void
budget_give_user(struct budget *b, uint64_t *held, uint64_t n)
{
	budget_give(b, n);
	*held = n < *held ? *held - n : 0;
}
