/*
 * mpskip_int.h - passing over a msgpack value quickly, with the answers
 * of ev_mp_skip_fast() (mpread.c): a scalar by its first byte (the
 * table is upcast_plan.c's), fixmaps and fixarrays counted inline,
 * anything else by ev_mp_skip_fast().  The upcasters (upcast.c,
 * upcast_tree.c, upcast_run.c, upcast_plan.c) and the Lua conversion
 * (luaval.c) pass over most of a record's data this way.
 */
#ifndef EVLOG_MPSKIP_INT_H
#define EVLOG_MPSKIP_INT_H

#include "evlog_private.h"

/* The bytes of a msgpack value by its first byte, or 0: one that holds
 * others or gives its length after it (ev_mp_skip_fast() walks it). */
extern const uint8_t ev_upcast_vsize[256];

/* ev_mp_skip_fast(), quicker for a scalar */
static inline int ev_upcast_skip(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;

	if (p < end && ev_upcast_vsize[*p] != 0) {
		if ((size_t)(end - p) < ev_upcast_vsize[*p])
			return -1;
		*pp = p + ev_upcast_vsize[*p];
		return 0;
	}
	return ev_mp_skip_fast(pp, end);
}

/* ev_mp_skip_fast(), quicker for small objects and arrays too.  Each
 * turn takes at least a byte, so it ends within the bytes. */
static inline int ev_mp_skip_quick(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	size_t left = 1;
	uint8_t c;

	do {
		if (EV_UNLIKELY(p >= end))
			return -1;
		c = *p;
		if (EV_LIKELY(ev_upcast_vsize[c] != 0)) {
			if (EV_UNLIKELY((size_t)(end - p) < ev_upcast_vsize[c]))
				return -1;
			p += ev_upcast_vsize[c];
		} else if ((c & 0xe0) == 0x80) {
			p++;
			left += (c & 0x10) ? (size_t)(c & 0x0f)
					   : 2u * (size_t)(c & 0x0f);
		} else if (ev_mp_skip_fast(&p, end) != 0) {
			return -1;
		}
	} while (--left > 0);
	*pp = p;
	return 0;
}

#endif
