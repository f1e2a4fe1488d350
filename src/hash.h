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

#endif
