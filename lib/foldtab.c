/*
 * foldtab.c - the tables of struct ev_fold (fold.c): its groups, found
 * by their key tuples, and the distinct values of each group's folds.
 * Both are open-addressing tables that grow with what they hold, never
 * with the events folded; a lookup that hits costs one cache line of
 * the table (a slot holds its group's hash and a short key), which
 * fold.c prefetches a record ahead.
 */
#include <stdlib.h>
#include <string.h>

#include "fold_int.h"

/* A slot holds its group's hash and a short key (most are: a stream
 * name, a type), so that finding a group costs one cache line. */
static void slot_fill(struct slot *s, uint64_t h, uint32_t g, const uint8_t *k,
		      size_t n)
{
	s->hash = h;
	s->g = g;
	s->n = (uint32_t)n;
	memset(s->key, 0, sizeof(s->key));
	if (n > 0 && n <= sizeof(s->key))
		memcpy(s->key, k, n);
}

static int slots_grow(struct ev_fold *f)
{
	size_t n = f->nslots ? f->nslots * 2 : 1024, i, j;
	struct slot *ns = calloc(n, sizeof(*ns));
	const struct group *g;

	if (ns == NULL)
		return -1;
	for (i = 0; i < f->ngroups; i++) {
		g = &f->groups[i];
		j = (size_t)(g->hash >> 1) & (n - 1);
		while (ns[j].hash != 0)
			j = (j + 1) & (n - 1);
		slot_fill(&ns[j], g->hash, (uint32_t)i,
			  f->karena.p + g->key_off, g->key_len);
	}
	free(f->slots);
	f->slots = ns;
	f->nslots = n;
	return 0;
}

long ev_fold_group(struct ev_fold *f, const uint8_t *k, size_t n, uint64_t h)
{
	const struct slot *s;
	uint8_t q[SLOT_KEY] = {0};
	size_t j;

	if (EV_UNLIKELY(f->nslots == 0) && slots_grow(f) != 0)
		return -1;
	if (n > 0 && n <= SLOT_KEY)
		memcpy(q, k, n);
	j = (size_t)(h >> 1) & (f->nslots - 1);
	while ((s = &f->slots[j])->hash != 0) {
		if (s->hash == h && s->n == n &&
		    (n <= SLOT_KEY
			     ? memcmp(s->key, q, SLOT_KEY) == 0
			     : memcmp(f->karena.p + f->groups[s->g].key_off, k,
				      n) == 0))
			return (long)s->g;
		j = (j + 1) & (f->nslots - 1);
	}
	if (f->ngroups >= UINT32_MAX - 1 || n > UINT32_MAX)
		return -1;
	if (f->ngroups == f->gcap) {
		size_t cap = f->gcap ? f->gcap * 2 : 256;
		struct group *ng = realloc(f->groups, cap * sizeof(*ng));
		struct acc *na;
		if (ng == NULL)
			return -1;
		f->groups = ng;
		na = realloc(f->accs,
			     cap * (f->nfolds ? f->nfolds : 1) * sizeof(*na));
		if (na == NULL)
			return -1;
		f->accs = na;
		f->gcap = cap;
	}
	if (ev_buf_append(&f->karena, k, n) != 0)
		return -1;
	f->groups[f->ngroups].hash = h;
	f->groups[f->ngroups].key_off = f->karena.len - n;
	f->groups[f->ngroups].key_len = (uint32_t)n;
	memset(&f->accs[f->ngroups * f->nfolds], 0,
	       f->nfolds * sizeof(*f->accs));
	slot_fill(&f->slots[j], h, (uint32_t)f->ngroups, k, n);
	f->ngroups++;
	if (2 * f->ngroups > f->nslots && slots_grow(f) != 0)
		return -1;
	return (long)f->ngroups - 1;
}

static int dslots_grow(struct ev_fold *f)
{
	size_t n = f->ndslots ? f->ndslots * 2 : 1024, i, j;
	uint32_t *ns = calloc(n, sizeof(*ns));

	if (ns == NULL)
		return -1;
	for (i = 0; i < f->ndents; i++) {
		j = (size_t)(f->dents[i].hash >> 1) & (n - 1);
		while (ns[j] != 0)
			j = (j + 1) & (n - 1);
		ns[j] = (uint32_t)i + 1;
	}
	free(f->dslots);
	f->dslots = ns;
	f->ndslots = n;
	return 0;
}

int ev_fold_distinct_add(struct ev_fold *f, uint32_t g, uint32_t i,
			 const uint8_t *v, size_t n)
{
	uint64_t h = ev_hash64(v, n) ^
		     (((uint64_t)g << 20 | i) * 0x9e3779b97f4a7c15ull);
	const struct dent *d;
	size_t j;
	uint32_t s;

	if (EV_UNLIKELY(f->ndslots == 0) && dslots_grow(f) != 0)
		return -1;
	j = (size_t)(h >> 1) & (f->ndslots - 1);
	while ((s = f->dslots[j]) != 0) {
		d = &f->dents[s - 1];
		if (d->hash == h && d->group == g && d->fold == i &&
		    d->len == n && memcmp(f->dvals.p + d->off, v, n) == 0)
			return 0;
		j = (j + 1) & (f->ndslots - 1);
	}
	if (f->ndents >= UINT32_MAX - 1 || n > UINT32_MAX)
		return -1;
	if (f->ndents == f->dcap) {
		size_t cap = f->dcap ? f->dcap * 2 : 256;
		struct dent *nd = realloc(f->dents, cap * sizeof(*nd));
		if (nd == NULL)
			return -1;
		f->dents = nd;
		f->dcap = cap;
	}
	if (ev_buf_append(&f->dvals, v, n) != 0)
		return -1;
	f->dents[f->ndents] =
		(struct dent){h, g, i, f->dvals.len - n, (uint32_t)n};
	f->dslots[j] = (uint32_t)f->ndents + 1;
	f->ndents++;
	if (2 * f->ndents > f->ndslots && dslots_grow(f) != 0)
		return -1;
	return 1;
}

int ev_vbox_set(struct vbox *b, const uint8_t *p, size_t n)
{
	if (n > UINT32_MAX)
		return -1;
	if (n > b->cap || b->p == NULL) {
		size_t cap = n < 32 ? 32 : n;
		uint8_t *np = realloc(b->p, cap);
		if (np == NULL)
			return -1;
		b->p = np;
		b->cap = (uint32_t)cap;
	}
	memcpy(b->p, p, n);
	b->n = (uint32_t)n;
	return 0;
}
