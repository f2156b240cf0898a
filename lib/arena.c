/*
 * arena.c - the bump allocator of arena.h: its chunks.
 */
#include <stdlib.h>

#include "arena.h"

void *ev_arena_alloc_more(struct ev_arena *a, size_t n)
{
	struct ev_arena_chunk *c = a->cur, *nc;
	size_t al = sizeof(max_align_t), cap;
	void *p;

	n = (n + al - 1) / al * al;
	while (c != NULL) {
		if (c->cap - c->used >= n) {
			p = (char *)c->mem + c->used;
			c->used += n;
			a->cur = c;
			return p;
		}
		if (c->next == NULL)
			break;
		c = c->next;
		c->used = 0;
	}
	cap = n > (64u << 10) ? n : (64u << 10);
	nc = malloc(sizeof(*nc) + cap);
	if (nc == NULL)
		return NULL;
	nc->next = NULL;
	nc->cap = cap;
	nc->used = n;
	if (c == NULL)
		a->head = nc;
	else
		c->next = nc;
	a->cur = nc;
	return nc->mem;
}

void ev_arena_reset(struct ev_arena *a)
{
	a->cur = a->head;
	if (a->head != NULL)
		a->head->used = 0;
}

void ev_arena_free(struct ev_arena *a)
{
	struct ev_arena_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = a->cur = NULL;
}
