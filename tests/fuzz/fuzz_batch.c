/*
 * fuzz_batch.c: libFuzzer target for the batch parser and validator, the
 * code every API client's bytes go through first. Any input must end in a
 * batch or a precise error, never a crash, a leak or undefined behaviour.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "batch.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static int ready;
	struct batch_error err;
	struct batch *b;

	if (!ready) {
		config_defaults(&cfg);
		cfg.max_batch_requests = 1000;	/* keep runs fast */
		ready = 1;
	}
	b = batch_parse((const char *)data, size, &cfg, NULL, &err);
	if (b == NULL && (err.code == NULL || err.message[0] == '\0'))
		__builtin_trap();	/* every refusal must say why */
	batch_free(b);
	return 0;
}
