/*
 * hash.h: uthash, failing like the rest of fanoutd when memory runs out.
 * Include this instead of <uthash.h>: by default uthash calls exit(-1)
 * with no word in the log.
 */
#ifndef FANOUTD_HASH_H
#define FANOUTD_HASH_H

#include "log.h"

#define uthash_fatal(msg)	fatalx("out of memory: uthash: %s", (msg))

#include <uthash.h>

/*
 * A table's head is its one element with no prev: uthash relies on it,
 * and clang's analyzer cannot see it (uthash issue #128). It takes
 * HASH_DELETE of the head down the branch for other elements, which
 * leaves the head pointing at the element, and reports a use after free
 * in every loop that deletes and frees. Checking the invariant first
 * closes that path, and catches a delete from the wrong table.
 */
#undef HASH_DELETE
#define HASH_DELETE(hh, head, delptr) do {				\
	if (((delptr)->hh.prev == NULL) != ((delptr) == (head)))	\
		fatalx("HASH_DELETE: %s not in %s", #delptr, #head);	\
	HASH_DELETE_HH(hh, head, &(delptr)->hh);			\
} while (0)

#endif
