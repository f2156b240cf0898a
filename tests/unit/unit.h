/*
 * unit.h - common includes for the cmocka unit tests.  The tests link
 * lib/libevlog.a and may use its private header to test internals.
 */
#ifndef EVLOG_UNIT_H
#define EVLOG_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evlog.h"
#include "evlog_private.h"

/* Directory of the public corpora, or NULL (tests then fail loudly when
 * EVLOG_CONFORMANCE was set but is missing). */
static inline const char *unit_conformance(void)
{
	return getenv("EVLOG_CONFORMANCE");
}

#endif
