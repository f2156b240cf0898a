/*
 * arena.h - a bump allocator of chunks: what one operation allocates
 * (an upcast of one record) is let go at once by ev_arena_reset(), and
 * the chunks are kept for the next.  Most allocations are the next
 * bytes of the chunk in use, inline.
 */
#ifndef EVLOG_ARENA_H
#define EVLOG_ARENA_H

#include <stddef.h>

struct ev_arena_chunk {
	struct ev_arena_chunk *next;
	size_t cap, used;
	max_align_t mem[];
};

struct ev_arena {
	struct ev_arena_chunk *head, *cur;
};

/* ev_arena_alloc() when the chunk in use is full: NULL out of memory */
void *ev_arena_alloc_more(struct ev_arena *a, size_t n);
/* Everything allocated is free again (the chunks are kept). */
void ev_arena_reset(struct ev_arena *a);
/* The chunks too. */
void ev_arena_free(struct ev_arena *a);

/* n bytes, aligned for any type; NULL out of memory */
static inline void *ev_arena_alloc(struct ev_arena *a, size_t n)
{
	struct ev_arena_chunk *c = a->cur;
	size_t al = sizeof(max_align_t);
	void *p;

	n = (n + al - 1) / al * al;
	if (c != NULL && c->cap - c->used >= n) {
		p = (char *)c->mem + c->used;
		c->used += n;
		return p;
	}
	return ev_arena_alloc_more(a, n);
}

#endif
