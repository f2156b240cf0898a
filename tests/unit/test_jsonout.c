/*
 * test_jsonout.c - lib/jsonout.c's msgpack-to-JSON writer as the library
 * builds it (16 bytes of a string at a time with SSE2 on x86-64) against
 * a byte-at-a-time oracle: random values, cut and changed; strings of
 * every length with a byte to escape at every place; nesting at the
 * limit; integers and times against printf and strftime.  The cases are
 * in jsonout_cases.h, shared with test_jsonout_swar.c.
 */
#include "unit.h"

#include "jsonout_cases.h"
