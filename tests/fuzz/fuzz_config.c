/*
 * fuzz_config.c: libFuzzer target for the configuration loader (inih plus
 * the option table and [host] sections). Any file must load or be refused
 * with a message naming file and line, never crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct config cfg;
	char path[64], *cause = NULL;

	if (fd == -1 && (fd = memfd_create("fuzz.conf", 0)) == -1)
		abort();
	if (ftruncate(fd, 0) == -1 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_defaults(&cfg);
	if (config_load(&cfg, path, &cause) == -1) {
		if (cause == NULL || strstr(cause, path) == NULL)
			__builtin_trap();	/* errors name the file */
		free(cause);
	}
	config_clear(&cfg);
	return 0;
}
