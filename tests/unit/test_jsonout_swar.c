/*
 * test_jsonout_swar.c - the cases of test_jsonout.c on lib/jsonout.c's
 * portable code (the 8-byte SWAR masks that machines without SSE2 use),
 * built into this test with EV_NO_SIMD: its definitions stand in for the
 * library's jsonout.o, which the link then leaves out.
 */
#define EV_NO_SIMD 1
#include "../../lib/jsonout.c"

#include "unit.h"

#include "jsonout_cases.h"
