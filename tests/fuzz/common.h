/*
 * common.h - what the fuzz targets share: how an invariant failure
 * is reported, and the EVLOG_FUZZ_LAX switch.
 *
 * Under libFuzzer a failed invariant aborts, so it is recorded as a crash
 * with its input.  tests/unit/test_fuzz_corpus.c defines FUZZ_FAIL before
 * including the targets, to count failures instead.
 *
 * EVLOG_FUZZ_LAX=1 checks memory safety only: the round-trip invariants
 * (an accepted value prints back, an accepted event decodes) are then not
 * checked, so a long run is not stopped by one known inconsistency.
 */
#ifndef EVLOG_FUZZ_COMMON_H
#define EVLOG_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "evlog.h"
#include "evlog_private.h"

#ifndef FUZZ_FAIL
#define FUZZ_FAIL(...)                                      \
	(fprintf(stderr, "invariant failed: " __VA_ARGS__), \
	 fputc('\n', stderr), abort())
#endif

static inline int fuzz_lax(void)
{
	static int lax = -1;

	if (lax < 0) {
		const char *s = getenv("EVLOG_FUZZ_LAX");
		lax = s != NULL && *s != '\0' && *s != '0';
	}
	return lax;
}

#endif
