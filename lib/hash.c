/*
 * hash.c - the 64-bit hash of names and ids (streams, the dedupe window,
 * snapshots, batch summaries, correlation indexes, folds).
 *
 * It is part of the format: snapshots are sorted by it and batch
 * summaries hold it, so it must not change nor depend on the machine.
 */
#include <stddef.h>
#include <stdint.h>

#include "evlog_private.h"

uint64_t ev_hash64(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull), w;

	/* little-endian loads: snapshots are sorted by this hash, so it
	 * must not depend on the machine */
	while (n >= 8) {
		w = ev_get64(s);
		h ^= w * 0xff51afd7ed558ccdull;
		h = ((h << 27) | (h >> 37)) * 0xc4ceb9fe1a85ec53ull;
		s += 8;
		n -= 8;
	}
	w = 0;
	while (n > 0)
		w = (w << 8) | s[--n];
	h ^= w * 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h | 1; /* never 0, the empty slot */
}
