/*
 * alloc_track.h - the largest single allocation made while tracking is
 * on, for tests that must show a declared size is never allocated.
 *
 * Including this file interposes malloc, calloc and realloc for the
 * whole test executable (the library and zstd included).  Under
 * AddressSanitizer, which owns the allocator, nothing is interposed,
 * track_stop() returns 0 and ASan's own checks stand in; UNIT_ASAN says
 * so.  Include it from one test file per executable only.
 */
#ifndef EVLOG_ALLOC_TRACK_H
#define EVLOG_ALLOC_TRACK_H

#include <stdint.h>
#include <stdlib.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNIT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define UNIT_ASAN 1
#endif

static size_t biggest_alloc;
static int tracking;

#ifndef UNIT_ASAN
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t a, size_t b);
extern void *__libc_realloc(void *p, size_t n);

void *malloc(size_t n)
{
	if (tracking && n > biggest_alloc)
		biggest_alloc = n;
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	size_t n = b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b;

	if (tracking && n > biggest_alloc)
		biggest_alloc = n;
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (tracking && n > biggest_alloc)
		biggest_alloc = n;
	return __libc_realloc(p, n);
}
#endif

static inline void track_start(void)
{
	biggest_alloc = 0;
	tracking = 1;
}

static inline size_t track_stop(void)
{
	tracking = 0;
	return biggest_alloc;
}

#endif
