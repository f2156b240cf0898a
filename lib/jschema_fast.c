/*
 * jschema_fast.c - the fast walk's program, made once from a compiled
 * schema (ev_jschema_fast_new) and freed: for each value, the check the
 * fast walk does (jschema_fast_int.h has what the program is), decided
 * from the node's keywords here so that running it decides nothing.
 * jschema_fastwalk.c runs it.  Calls nothing of the other files of the
 * validator.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jschema_fast_int.h"

#define FAST_MAX_NEST 32 /* plain levels a program has; then ev_jv_v() */

static void *fast_alloc(struct ev_jschema_fast *f, size_t n)
{
	void *p;

	if (f->nallocs == f->capallocs) {
		size_t cap = f->capallocs ? 2 * f->capallocs : 16;
		void **v = realloc(f->allocs, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		f->allocs = v;
		f->capallocs = cap;
	}
	if ((p = calloc(1, n ? n : 1)) == NULL)
		return NULL;
	f->allocs[f->nallocs++] = p;
	return p;
}

/* a node whose applicators, references and whole-value keywords leave
 * its object and array keywords to decide */
static int plain_node(const struct jnode *n)
{
	return n->kind == JN_OBJ && !n->has_uneval && !n->ref && !n->ref_uri &&
	       !n->dynref && !n->dynref_uri && !n->recref && !n->recref_uri &&
	       !n->const_v && !n->enm && !n->nallof && !n->nanyof &&
	       !n->noneof && !n->not_ && !n->if_;
}

static int plain_obj(const struct jobj *o)
{
	return o == NULL ||
	       (o->npp == 0 && o->pnames == NULL && o->uneval == NULL &&
		o->depmask == 0 && !o->slots_overflow);
}

static int plain_arr(const struct jarr *a)
{
	return a == NULL || (a->nprefix == 0 && a->contains == NULL &&
			     a->uneval == NULL && !a->unique);
}

/* what leaf_quick() needs of a leaf */
/* the enum of strings e as words, when each has 8 bytes at most */
static void fc_enum_words(struct ev_jschema_fast *f, struct fcheck *fc,
			  const struct jenum *e)
{
	uint64_t *ew, *em;
	uint32_t i;

	for (i = 0; i < e->nv; i++)
		if (e->sl[i] > 8)
			return;
	ew = fast_alloc(f, e->nv * sizeof(*ew));
	em = fast_alloc(f, e->nv * sizeof(*em));
	if (ew == NULL || em == NULL)
		return; /* SQ_ALL does without */
	for (i = 0; i < e->nv; i++) {
		uint8_t wb[8] = {0}, mb[8] = {0};

		memcpy(wb, e->sp[i], e->sl[i]);
		memset(mb, 0xff, e->sl[i]);
		memcpy(&ew[i], wb, 8);
		memcpy(&em[i], mb, 8);
	}
	fc->ew = ew;
	fc->em = em;
	fc->sq = SQ_ENUM;
}

/* a bound of a float as scalar_fast() compares it: 1, or 0 when it
 * cannot */
static int fc_bound(const struct jnum *b, double *out)
{
	if (b == NULL)
		return 1;
	if (b->kind == 2) {
		*out = b->d;
		return 1;
	}
	if (b->kind == 0 && b->i <= (1ll << 53) && b->i >= -(1ll << 53)) {
		*out = (double)b->i;
		return 1;
	}
	return 0;
}

static void fc_leaf(struct ev_jschema_fast *f, struct fcheck *fc,
		    const struct jnode *n)
{
	const struct jenum *e = n->enm;
	const struct jstr *st = n->str;
	const struct jnumk *k = n->num;
	int whole = !n->const_v && !n->content_b64 && !n->content_json &&
		    !(n->format != NULL && n->format_assert) &&
		    (e == NULL || (e->all_str && e->tab == NULL));

	fc->minl = st != NULL ? st->minl : -1;
	fc->maxl = st != NULL ? st->maxl : -1;
	fc->sre = st != NULL ? st->sre : NULL;
	fc->enm = e;
	if (n->types && !(n->types & JT_STR))
		fc->str = LQ_NO;
	else if (!whole || (st != NULL && st->re != NULL && st->sre == NULL))
		fc->str = LQ_SLOW;
	else if (e == NULL && fc->minl <= 0 && fc->maxl < 0 && fc->sre == NULL)
		fc->str = LQ_YES;
	else
		fc->str = LQ_CHECK;
	fc->sq = SQ_ALL;
	if (fc->str == LQ_CHECK && fc->minl <= 0 && fc->maxl < 0) {
		if (e == NULL && fc->sre != NULL)
			fc->sq = SQ_SRE;
		else if (e != NULL && fc->sre == NULL)
			fc_enum_words(f, fc, e);
	}
	fc->imin = INT64_MIN;
	fc->imax = INT64_MAX;
	if ((n->types && !(n->types & JT_INT)) || (whole && e != NULL))
		fc->num =
			LQ_NO; /* not a number, or not in an enum of strings */
	else if (!whole || (k != NULL && (k->exmin || k->exmax || k->mult ||
					  (k->min && k->min->kind != 0) ||
					  (k->max && k->max->kind != 0))))
		fc->num = LQ_SLOW;
	else if (k == NULL || (k->min == NULL && k->max == NULL))
		fc->num = LQ_YES;
	else
		fc->num = LQ_CHECK;
	/* floats: of every type a number has (else the type of each
	 * decides), checked here as scalar_fast() does */
	fc->flt = LQ_SLOW;
	fc->fmin = -INFINITY;
	fc->fmax = INFINITY;
	if (whole && e == NULL &&
	    (!n->types ||
	     (n->types & (JT_INT | JT_NUM)) == (JT_INT | JT_NUM))) {
		if (k == NULL)
			fc->flt = LQ_YES;
		else if (!k->exmin && !k->exmax && !k->mult &&
			 fc_bound(k->min, &fc->fmin) &&
			 fc_bound(k->max, &fc->fmax))
			fc->flt = LQ_CHECK;
	}
	if (k != NULL && k->min != NULL)
		fc->imin = k->min->i;
	if (k != NULL && k->max != NULL)
		fc->imax = k->max->i;
}

/* an fkeym that matches no key */
static void fk_none(struct fkeym *km)
{
	km->w[0] = km->w[1] = 1;
	km->m[0] = km->m[1] = 0;
	km->bit = 0;
	km->fc = NULL;
	km->klen = 0;
}

static void fk_build(struct fkeym *km, const struct jprop *pr)
{
	uint8_t w[16] = {0}, m[16] = {0};

	km->bit = pr->slot >= 0 ? 1ull << pr->slot : 0;
	km->klen = 1 + pr->len;
	if (pr->len > 15) {
		km->w[0] = km->w[1] = 1;
		km->m[0] = km->m[1] = 0;
		return;
	}
	w[0] = (uint8_t)(0xa0 | pr->len);
	memcpy(w + 1, pr->name, pr->len);
	memset(m, 0xff, 1 + pr->len);
	memcpy(km->w, w, 16);
	memcpy(km->m, m, 16);
}

static void fc_build(struct ev_jschema_fast *f, struct fcheck *fc,
		     const struct jnode *n, int depth)
{
	memset(fc, 0, sizeof(*fc));
	fc->n = n;
	if (n == NULL || n->kind == JN_TRUE) {
		fc->kind = FK_SKIP;
		return;
	}
	if (n->kind != JN_OBJ || f->oom) {
		fc->kind = FK_WALK;
		return;
	}
	if (n->only_types || n->leaf) {
		fc->kind = n->only_types ? FK_TYPES : FK_LEAF;
		fc_leaf(f, fc, n);
		return;
	}
	if (!plain_node(n) || depth >= FAST_MAX_NEST) {
		fc->kind = FK_WALK;
		return;
	}
	fc->kind = FK_NODE;
	if (plain_obj(n->obj)) {
		fc->map_direct = !n->types || (n->types & JT_OBJ);
		const struct jobj *o = n->obj;
		struct fobj *fo = fast_alloc(f, sizeof(*fo));
		uint32_t i;

		if (fo == NULL)
			goto oom;
		fo->o = o;
		fo->km = fast_alloc(f, ((o != NULL ? o->nprops : 0) + 1) *
					       sizeof(*fo->km));
		if (fo->km == NULL)
			goto oom;
		fk_none(&fo->km[o != NULL ? o->nprops : 0]);
		if (o != NULL) {
			fc_build(f, &fo->addl, o->addl, depth + 1);
			fo->props =
				fast_alloc(f, o->nprops * sizeof(*fo->props));
			if (fo->props == NULL)
				goto oom;
			for (i = 0; i < o->nprops; i++) {
				fk_build(&fo->km[i], &o->props[i]);
				fo->km[i].fc = &fo->props[i];
			}
			for (i = 0; i < o->nprops; i++) {
				if (o->props[i].sub != NULL)
					fc_build(f, &fo->props[i],
						 o->props[i].sub, depth + 1);
				else
					fo->props[i] = fo->addl;
			}
		} else {
			fo->addl.kind = FK_SKIP;
		}
		fc->obj = fo;
	}
	if (plain_arr(n->arr)) {
		struct farr *fa = fast_alloc(f, sizeof(*fa));

		fc->list_direct = !n->types || (n->types & JT_ARR);
		if (fa == NULL)
			goto oom;
		fa->a = n->arr;
		if (n->arr != NULL)
			fc_build(f, &fa->items, n->arr->items, depth + 1);
		else
			fa->items.kind = FK_SKIP;
		fc->arr = fa;
	}
	return;
oom:
	f->oom = 1;
	fc->kind = FK_WALK;
}

struct ev_jschema_fast *ev_jschema_fast_new(const struct ev_jschema *sc)
{
	struct ev_jschema_fast *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	fc_build(f, &f->root, sc, 0);
	if (f->oom || f->root.kind == FK_WALK) {
		ev_jschema_fast_free(f);
		return NULL;
	}
	return f;
}

void ev_jschema_fast_free(struct ev_jschema_fast *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nallocs; i++)
		free(f->allocs[i]);
	free(f->allocs);
	free(f->keys);
	free(f);
}
