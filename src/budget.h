/*
 * budget.h: a byte budget shared by many holders, pure.
 */
#ifndef FANOUTD_BUDGET_H
#define FANOUTD_BUDGET_H

#include <stdint.h>

struct budget {
	uint64_t	limit;		/* bytes; may change (reload) */
	uint64_t	used;
	uint64_t	peak;		/* the most ever used at once */
	uint64_t	refused;	/* takes that did not fit */
};

/* An empty budget of limit bytes. */
void	budget_init(struct budget *b, uint64_t limit);

/*
 * Take n bytes: 0 when they fit under the limit, else -1 and nothing is
 * taken. A holder gives back exactly what it took.
 */
int	budget_take(struct budget *b, uint64_t n);

/* Give back n bytes taken earlier. */
void	budget_give(struct budget *b, uint64_t n);

/*
 * The same for one of many users, *held being what that user holds now:
 * a user may hold at most BUDGET_USER_SHARE of the limit (so no one user
 * can starve the others), and the total stays under the limit. -1 and
 * nothing taken otherwise.
 */
#define BUDGET_USER_SHARE	2	/* a user: at most limit / 2 */
int	budget_take_user(struct budget *b, uint64_t *held, uint64_t n);
void	budget_give_user(struct budget *b, uint64_t *held, uint64_t n);

#endif
