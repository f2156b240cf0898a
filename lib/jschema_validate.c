/*
 * jschema_validate.c - validating msgpack JSON images against compiled
 * schemas (struct ev_jschema, jschema_priv.h), and struct
 * ev_jschema_ctx with the errors of the last validation.
 *
 * One recursive walk does both jobs.  The first pass stops at the first
 * failure and allocates nothing (annotations for unevaluated* live on
 * the stack for containers of up to 256 members; uniqueItems over more
 * than 32 items sorts hashes in a scratch array); only an invalid value
 * is walked a second time, collecting its errors with their instance and
 * schema paths.
 *
 * The fast path of an object: one pass over its pairs, each key looked
 * up in the node's hash table, a subschema with only "type" checked from
 * the value's first byte, other leaves (no applicator, reference, object
 * or array keyword) without recursion; required names are bits of a
 * mask.  Every read is bounds-checked; types are checked where the
 * schema reads a value, so a value nothing looks at is only skipped.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jschema_validate_int.h"

/* ------------------------------------------------------------ the API */

static int validate(const struct ev_jschema *sc, const uint8_t *mp, size_t n,
		    const char *prefix, struct ev_jschema_ctx *cx,
		    int inst_depth, int eval_depth, uint64_t max_steps)
{
	struct vctx c;
	const uint8_t *p = mp;
	int r;

	cx->nerrs = 0;
	cx->noff = 0;
	cx->strs.len = 0;
	cx->path.len = 0;
	cx->max_errors = sc->doc->set->o.max_errors;
	if (prefix != NULL)
		ev_buf_puts(&cx->path, prefix);
	memset(&c, 0, sizeof(c));
	c.cx = cx;
	c.end = mp + n;
	c.max_depth = eval_depth;
	c.max_idepth = inst_depth;
	c.max_steps = max_steps;
	c.root = mp;
	r = ev_jv_v(&c, sc, mp, NULL, NULL);
	/* Every read of the walk is bounds-checked, and a walk over the
	 * root container's members (skipping each) ends where the value
	 * does; otherwise skip it here.  Types are checked where the schema
	 * reads values, depth as the walk goes down. */
	if (r != EV_ERR && c.root_end != mp + n &&
	    (p = mp, ev_mp_skip_fast(&p, mp + n) != 0 || p != mp + n)) {
		const char *why = NULL;

		p = mp;
		cx->noff = 0;
		cx->strs.len = 0;
		if (ev_mp_check_json(&p, mp + n, -100000, &why) != 0 ||
		    why == NULL)
			why = "not one msgpack value";
		c.collect = 1;
		ev_jv_err_add(&c, sc, "", "", "invalid instance: %s", why);
		ev_jv_finish(cx);
		return EV_EDATA;
	}
	if (r == 0) {
		cx->noff = 0;
		cx->strs.len = 0;
		c.collect = 1;
		c.depth = 0;
		c.idepth = 0;
		c.full = 0;
		c.steps = 0;
		r = ev_jv_v(&c, sc, mp, NULL, NULL);
		if (r == 1) /* cannot happen; say something */
			r = 0;
		if (r == 0 && cx->noff == 0)
			ev_jv_err_add(&c, sc, "", "", "invalid");
	}
	if (r == EV_EDATA && cx->noff == 0) {
		c.collect = 1;
		ev_jv_err_add(&c, sc, "", "",
			      "invalid instance: not a JSON value");
	}
	if (r == EV_EUSAGE) {
		c.collect = 1;
		ev_jv_err_add(&c, sc, "", "$ref",
			      "the schema set is not compiled: call "
			      "ev_jschema_set_compile");
	}
	ev_jv_finish(cx);
	return r;
}

int ev_jschema_validate(const struct ev_jschema *sc, const uint8_t *mp,
			size_t n, const char *prefix, struct ev_jschema_ctx *cx)
{
	return validate(sc, mp, n, prefix, cx, JS_MAX_INST_DEPTH,
			JS_MAX_EVAL_DEPTH, JS_MAX_STEPS);
}

int ev_jschema_validate_prefix(const struct ev_jschema *sc, const uint8_t *mp,
			       size_t maxn, const char *prefix,
			       struct ev_jschema_ctx *cx, size_t *used)
{
	struct vctx c;
	const uint8_t *p = mp;
	int r;

	/* a valid container walked to its end: the common case, one pass
	 * (the walk reads nothing past the end of the value) */
	memset(&c, 0, sizeof(c));
	c.cx = cx;
	c.end = mp + maxn;
	c.max_depth = JS_MAX_EVAL_DEPTH;
	c.max_idepth = JS_MAX_INST_DEPTH;
	c.max_steps = JS_MAX_STEPS;
	c.root = mp;
	cx->nerrs = 0;
	cx->noff = 0;
	cx->strs.len = 0;
	cx->path.len = 0;
	cx->max_errors = sc->doc->set->o.max_errors;
	r = ev_jv_v(&c, sc, mp, NULL, NULL);
	if (r == 1 && c.root_end != NULL) {
		*used = (size_t)(c.root_end - mp);
		cx->noff = 0;
		cx->strs.len = 0;
		ev_jv_finish(cx);
		return 1;
	}
	/* anything else as ev_jschema_validate() has it */
	if (ev_mp_skip_fast(&p, mp + maxn) != 0) {
		*used = 0;
		cx->noff = 0;
		cx->strs.len = 0;
		ev_jv_finish(cx);
		return EV_EDATA;
	}
	*used = (size_t)(p - mp);
	return validate(sc, mp, *used, prefix, cx, JS_MAX_INST_DEPTH,
			JS_MAX_EVAL_DEPTH, JS_MAX_STEPS);
}

/* ------------------------------------------------------------ fast walk */

/*
 * The fast walk (ev_jschema_fast_*): a program made once from a schema
 * whose values are checked without the general walk's dispatch where
 * the schema is plain: objects of properties, required,
 * additionalProperties and min/max properties, arrays of items and
 * min/max items, and leaves (no applicator, reference, unevaluated*,
 * const or enum on a container).  Each value's check is decided when
 * the program is made; anything else is left to ev_jv_v(), from the same
 * vctx.  It answers only "valid" for sure: it counts at least the steps
 * of the general walk, goes no deeper, and anything invalid or
 * uncertain is "cannot say", for the general walk to decide (and to
 * collect the errors).
 */
enum {
	FK_SKIP,  /* nothing applies, or true */
	FK_TYPES, /* a node of "type" only */
	FK_LEAF,  /* a leaf (v_leaf) */
	FK_NODE,  /* a plain container node: fobj and farr */
	FK_WALK,  /* anything else: ev_jv_v() */
};

struct fobj;
struct farr;

/* what leaf_quick() does with a string, or a small integer */
enum {
	LQ_NO,	  /* invalid: not of the node's types */
	LQ_SLOW,  /* v_leaf() decides */
	LQ_YES,	  /* valid */
	LQ_CHECK, /* the checks of fcheck */
};

/* the checks of a string with LQ_CHECK */
enum {
	SQ_ALL,	 /* each of fcheck's, in turn */
	SQ_SRE,	 /* the pattern only */
	SQ_ENUM, /* the enum only, of values of 8 bytes at most: ew */
};

struct fcheck {
	uint8_t kind;
	/* FK_TYPES and FK_LEAF: strings and small integers checked here
	 * (else v_leaf() decides) */
	uint8_t str, num; /* LQ_* */
	uint8_t sq;	  /* SQ_* */
	/* FK_NODE: a fixmap (fixarray) goes straight to fw_map() (fw_list())
	 * where the node takes objects (arrays) */
	uint8_t map_direct, list_direct;
	const uint64_t *ew;	/* SQ_ENUM: each value as a word, and */
	const uint64_t *em;	/* its mask (as sre_word() has them) */
	int64_t minl, maxl;	/* -1: none */
	const struct jsre *sre; /* the pattern, when simple */
	const struct jenum *enm;
	int64_t imin, imax;
	/* float 64s: LQ_*, and the bounds (as scalar_fast() has them) */
	uint8_t flt;
	double fmin, fmax;
	const struct jnode *n;
	struct fobj *obj; /* FK_NODE: objects walked here, or NULL */
	struct farr *arr; /* FK_NODE: arrays walked here, or NULL */
};

/* a property's name as a key of msgpack (a fixstr: its header, then
 * the name) in the first 16 bytes of w, under the mask m: a key of that
 * name where 16 bytes can be read compares equal in two words.  A name
 * of more than 15 bytes never does (m 0, w 1): prop_find() finds it. */
struct fkeym {
	uint64_t w[2], m[2];
	uint64_t bit;		 /* its bit in the required mask, or 0 */
	const struct fcheck *fc; /* its check: fobj's props[i] */
	uint32_t klen;		 /* the header and the name */
};

struct fobj {
	const struct jobj *o; /* NULL: no object keyword */
	struct fcheck *props; /* by property index: its schema, or addl */
	/* by property index, then one that matches no key (so that the
	 * next property's is there to compare, past the last one) */
	struct fkeym *km;
	struct fcheck addl; /* names not in properties */
};

struct farr {
	const struct jarr *a; /* NULL: no array keyword */
	struct fcheck items;
};

/* a name of ev_jschema_fast_keys(), looked up in the root's properties */
struct fkey {
	const struct fcheck *fc;
	uint64_t seen; /* its bit in the required mask */
};

#define FAST_KEYSET 8 /* keys ev_jschema_fast_keyset() takes */

struct ev_jschema_fast {
	struct fcheck root;
	struct fkey *keys;
	size_t nkeys;
	/* of the first FAST_KEYSET keys: those the root has a check of,
	 * and the required bits of each set of them */
	unsigned keys_ok;
	uint64_t set_seen[1u << FAST_KEYSET];
	void **allocs;
	size_t nallocs, capallocs;
	int oom;
};

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

/* the property check of the key k */
static inline __attribute__((always_inline)) const struct fcheck *
fw_prop(const struct fobj *fo, const uint8_t *k, uint32_t kn, uint32_t *g,
	uint64_t *seen)
{
	const struct jobj *o = fo->o;
	const struct jprop *pr;

	if (o == NULL)
		return &fo->addl;
	/* keys mostly come in the order of "properties" */
	if (*g < o->nprops && o->props[*g].len == kn &&
	    key_eq(o->props[*g].name, k, kn))
		pr = &o->props[*g];
	else if ((pr = prop_find(o, k, kn)) == NULL)
		return &fo->addl;
	*g = (uint32_t)(pr - o->props) + 1;
	if (pr->slot >= 0)
		*seen |= 1ull << pr->slot;
	return &fo->props[pr - o->props];
}

/* A string or a small integer against a leaf: 1 valid (its end in
 * *pe), 0 invalid, 2 when v_leaf() must say */
static inline __attribute__((always_inline)) int
leaf_quick(const struct fcheck *fc, const uint8_t *p, const uint8_t *end,
	   const uint8_t **pe)
{
	uint8_t b = *p;
	int64_t x;

	if ((b >= 0xa0 && b <= 0xbf) || b == 0xd9) {
		const uint8_t *s = p + 1;
		size_t n = b & 0x1f;
		uint32_t i;

		if (b == 0xd9) {
			if (end - p < 2)
				return 2;
			n = p[1];
			s = p + 2;
		}
		if ((size_t)(end - s) < n)
			return 2;
		if (fc->str != LQ_CHECK) {
			*pe = s + n;
			return fc->str == LQ_YES ? 1 : fc->str == LQ_NO ? 0 : 2;
		}
		if (fc->sq == SQ_SRE) {
			*pe = s + n;
			return sre_match_in(fc->sre, s, n);
		}
		if (fc->sq == SQ_ENUM && end - s >= 8) {
			const struct jenum *e = fc->enm;
			uint64_t w;

			memcpy(&w, s, 8);
			for (i = 0; i < e->nv; i++)
				if ((w & fc->em[i]) == fc->ew[i] &&
				    e->sl[i] == n)
					break;
			*pe = s + n;
			return i < e->nv;
		}
		if (fc->enm != NULL) {
			const struct jenum *e = fc->enm;

			for (i = 0; i < e->nv; i++)
				if (e->sl[i] == n &&
				    key_eq((const char *)e->sp[i], s,
					   (uint32_t)n))
					break;
			if (i == e->nv)
				return 0;
		}
		if (fc->minl > 0 && !ev_jv_utf8_at_least(s, n, fc->minl))
			return 0;
		if (fc->maxl >= 0 && (uint64_t)fc->maxl < n &&
		    (int64_t)utf8_len(s, n) > fc->maxl)
			return 0;
		if (fc->sre != NULL && !sre_match_in(fc->sre, s, n))
			return 0;
		*pe = s + n;
		return 1;
	}
	if (b <= 0x7f) {
		x = b;
		*pe = p + 1;
	} else if (b >= 0xe0) {
		x = (int8_t)b;
		*pe = p + 1;
	} else if (b == 0xcc && end - p >= 2) {
		x = p[1];
		*pe = p + 2;
	} else if (b == 0xcd && end - p >= 3) {
		x = ev_rbe16(p + 1);
		*pe = p + 3;
	} else if (b == 0xce && end - p >= 5) {
		x = ev_rbe32(p + 1);
		*pe = p + 5;
	} else if (b == 0xcb && end - p >= 9 && fc->flt != LQ_SLOW) {
		uint64_t w = ev_rbe64(p + 1);
		double d;

		memcpy(&d, &w, 8);
		*pe = p + 9;
		return fc->flt == LQ_YES ||
		       (!(d < fc->fmin) && !(d > fc->fmax));
	} else {
		return 2;
	}
	if (fc->num != LQ_CHECK)
		return fc->num == LQ_YES ? 1 : fc->num == LQ_NO ? 0 : 2;
	return x >= fc->imin && x <= fc->imax;
}

static int fw_node(struct vctx *c, const struct dscope *sc,
		   const struct fcheck *fc, const uint8_t *p, int lv,
		   const uint8_t **pe);
static int fw_map(struct vctx *c, const struct dscope *sc,
		  const struct fcheck *fc, const uint8_t *p, int lv,
		  const uint8_t **pe);
static int fw_list(struct vctx *c, const struct dscope *sc,
		   const struct fcheck *fc, const uint8_t *p, int lv,
		   const uint8_t **pe);

/* the value at p, at level lv (the root 0), against fc: 1 valid, its
 * end in *pe; 0 cannot say */
static inline __attribute__((always_inline)) int
fw_value(struct vctx *c, const struct dscope *sc, const struct fcheck *fc,
	 const uint8_t *p, const uint8_t *end, int lv, const uint8_t **pe)
{
	/* end is c->end, given by callers that have it at hand */
	if (fc->kind == FK_TYPES || fc->kind == FK_LEAF) {
		int r;

		if (EV_UNLIKELY(p >= end))
			return 0;
		r = leaf_quick(fc, p, end, pe);
		if (r != 2)
			return r;
	} else if (fc->kind == FK_SKIP) {
		*pe = p;
		return skip1(pe, end) == 0;
	} else if (fc->kind == FK_NODE && sc != NULL && sc->res == fc->n->res &&
		   EV_LIKELY(p < end)) {
		/* an object or array in the same resource as its parent,
		 * of fewer than 16 members: without fw_node()'s dispatch */
		if ((*p & 0xf0) == 0x80 && fc->map_direct)
			return fw_map(c, sc, fc, p, lv, pe);
		if ((*p & 0xf0) == 0x90 && fc->list_direct)
			return fw_list(c, sc, fc, p, lv, pe);
	}
	return fw_node(c, sc, fc, p, lv, pe);
}

/* the pairs of a map of count pairs from q, values at level lv */
static inline __attribute__((always_inline)) int
fw_obj(struct vctx *c, const struct dscope *sc, const struct fobj *fo,
       const uint8_t *q, uint32_t count, int lv, const uint8_t **pe)
{
	const struct jobj *o = fo->o;
	/* in locals: nothing the walk calls changes them */
	const uint8_t *const end = c->end;
	const struct fkeym *const km = fo->km;
	uint64_t seen = 0;
	uint32_t i, g = 0;

	if (o != NULL && ((o->minp >= 0 && (int64_t)count < o->minp) ||
			  (o->maxp >= 0 && (int64_t)count > o->maxp)))
		return 0;
	/* a step for each value: at least those ev_jv_v() takes */
	if ((c->steps += count) > c->max_steps)
		return 0;
	for (i = 0; i < count; i++) {
		const struct fcheck *fc;
		const uint8_t *vq, *ve;
		struct ev_mp_item k;

		/* the key that comes next in "properties", most often */
		if (end - q >= 16) {
			const struct fkeym *m = &km[g];
			uint64_t a, b;

			memcpy(&a, q, 8);
			memcpy(&b, q + 8, 8);
			if ((((a & m->m[0]) ^ m->w[0]) |
			     ((b & m->m[1]) ^ m->w[1])) == 0) {
				q += m->klen;
				seen |= m->bit;
				fc = m->fc;
				g++;
				goto value;
			}
		}
		if (q < end && *q >= 0xa0 && *q <= 0xbf) {
			k.n = *q & 0x1f;
			k.p = q + 1;
			if ((size_t)(end - k.p) < k.n)
				return 0;
			q = k.p + k.n;
		} else {
			vq = q;
			if (rd(&vq, end, &k) != 0 || k.type != EV_MP_STR)
				return 0;
			q = vq;
		}
		fc = fw_prop(fo, k.p, k.n, &g, &seen);
value:
		/* the cursor's address is not taken: it stays in a
		 * register */
		if (!fw_value(c, sc, fc, q, end, lv, &ve))
			return 0;
		q = ve;
	}
	if (o != NULL && (seen & o->reqmask) != o->reqmask)
		return 0;
	*pe = q;
	return 1;
}

static inline __attribute__((always_inline)) int
fw_arr(struct vctx *c, const struct dscope *sc, const struct farr *fa,
       const uint8_t *q, uint32_t count, int lv, const uint8_t **pe)
{
	const struct jarr *a = fa->a;
	const uint8_t *const end = c->end;
	uint32_t i;

	if (a != NULL && ((a->mini >= 0 && (int64_t)count < a->mini) ||
			  (a->maxi >= 0 && (int64_t)count > a->maxi)))
		return 0;
	if ((c->steps += count) > c->max_steps)
		return 0;
	for (i = 0; i < count; i++) {
		const uint8_t *ve;

		if (!fw_value(c, sc, &fa->items, q, end, lv, &ve))
			return 0;
		q = ve;
	}
	*pe = q;
	return 1;
}

/* fw_node() of a fixmap (fixarray) at p, sc the node's scope already */
static int fw_map(struct vctx *c, const struct dscope *sc,
		  const struct fcheck *fc, const uint8_t *p, int lv,
		  const uint8_t **pe)
{
	if (lv >= c->max_depth || lv > c->max_idepth ||
	    ++c->steps > c->max_steps)
		return 0;
	return fw_obj(c, sc, fc->obj, p + 1, *p & 0x0f, lv + 1, pe);
}

static int fw_list(struct vctx *c, const struct dscope *sc,
		   const struct fcheck *fc, const uint8_t *p, int lv,
		   const uint8_t **pe)
{
	if (lv >= c->max_depth || lv > c->max_idepth ||
	    ++c->steps > c->max_steps)
		return 0;
	return fw_arr(c, sc, fc->arr, p + 1, *p & 0x0f, lv + 1, pe);
}

/* fw_value() of containers, and of what leaf_quick() leaves */
static int fw_node(struct vctx *c, const struct dscope *sc,
		   const struct fcheck *fc, const uint8_t *p, int lv,
		   const uint8_t **pe)
{
	const struct jnode *n = fc->n;
	struct dscope fr;
	struct ev_mp_item it;
	const uint8_t *q;
	int r;

	switch (fc->kind) {
	case FK_SKIP:
		break;
	case FK_TYPES:
		if (!type_quick(n, p, c->end) && v_leaf(c, n, p) != 1)
			return 0;
		break;
	case FK_LEAF:
		if (v_leaf(c, n, p) != 1)
			return 0;
		break;
	case FK_NODE:
		/* as ev_jv_v() and v_body() have it, on the way to v_object()
		 * or v_array() */
		if (lv >= c->max_depth || lv > c->max_idepth ||
		    ++c->steps > c->max_steps)
			return 0;
		q = p;
		if (rd(&q, c->end, &it) != 0)
			return 0;
		if (sc == NULL || sc->res != n->res) {
			fr.res = n->res;
			fr.up = sc;
			sc = &fr;
		}
		if (it.type == EV_MP_MAP && fc->obj != NULL) {
			if (n->types && !(n->types & JT_OBJ))
				return 0;
			return fw_obj(c, sc, fc->obj, q, it.n, lv + 1, pe);
		}
		if (it.type == EV_MP_ARRAY && fc->arr != NULL) {
			if (n->types && !(n->types & JT_ARR))
				return 0;
			return fw_arr(c, sc, fc->arr, q, it.n, lv + 1, pe);
		}
		goto walk;
	default:
walk:
		/* as vkey() or vidx() and ev_jv_v() have it at this level */
		if (lv > c->max_idepth)
			return 0;
		c->depth = lv;
		c->idepth = lv;
		c->wp = NULL;
		r = ev_jv_v(c, n, p, sc, NULL);
		if (r != 1)
			return 0;
		if (c->wp == p) {
			*pe = c->we;
			return 1;
		}
		break;
	}
	*pe = p;
	return skip1(pe, c->end) == 0;
}

/* a vctx for the fast walk of values up to end: cx holds no error it
 * did not have (none is added with no room); restored by fw_done() */
static void fw_init(struct vctx *c, struct ev_jschema_ctx *cx, const uint8_t *p,
		    const uint8_t *end)
{
	memset(c, 0, sizeof(*c));
	c->cx = cx;
	c->end = end;
	c->root = p;
	c->max_depth = JS_MAX_EVAL_DEPTH;
	c->max_idepth = JS_MAX_INST_DEPTH;
	c->max_steps = JS_MAX_STEPS;
}

int ev_jschema_fast_prefix(const struct ev_jschema_fast *f, const uint8_t *mp,
			   size_t maxn, struct ev_jschema_ctx *cx, size_t *used)
{
	size_t path_len = cx->path.len;
	unsigned max_errors = cx->max_errors;
	const uint8_t *pe = mp;
	struct dscope fr;
	struct vctx c;
	int r;

	fw_init(&c, cx, mp, mp + maxn);
	cx->max_errors = 0;
	/* the root's scope, as fw_node() or ev_jv_v() would make it: the root
	 * object goes straight to its members */
	fr.res = f->root.n != NULL ? f->root.n->res : NULL;
	fr.up = NULL;
	r = fw_value(&c, f->root.n != NULL ? &fr : NULL, &f->root, mp, c.end, 0,
		     &pe);
	cx->max_errors = max_errors;
	cx->path.len = path_len;
	if (r != 1)
		return 0;
	*used = (size_t)(pe - mp);
	return 1;
}

int ev_jschema_fast_keys(struct ev_jschema_fast *f, const char *const *names,
			 size_t n)
{
	struct fkey *k = calloc(n ? n : 1, sizeof(*k));
	size_t i;

	if (k == NULL)
		return EV_ERR;
	for (i = 0; i < n; i++) {
		uint32_t g = 0;
		size_t len = strlen(names[i]);

		if (f->root.obj == NULL || len > UINT32_MAX)
			k[i].fc = NULL;
		else
			k[i].fc =
				fw_prop(f->root.obj, (const uint8_t *)names[i],
					(uint32_t)len, &g, &k[i].seen);
	}
	free(f->keys);
	f->keys = k;
	f->nkeys = n;
	f->keys_ok = 0;
	for (i = 0; i < n && i < FAST_KEYSET; i++)
		if (k[i].fc != NULL)
			f->keys_ok |= 1u << i;
	for (i = 0; i < (1u << FAST_KEYSET); i++) {
		uint64_t seen = 0;
		size_t j;

		for (j = 0; j < n && j < FAST_KEYSET; j++)
			if (i & (1u << j))
				seen |= k[j].seen;
		f->set_seen[i] = seen;
	}
	return 0;
}

/* the bits set in x, of 8 (no popcnt instruction assumed) */
static inline unsigned nbits8(unsigned x)
{
	x = (x & 0x55) + ((x >> 1) & 0x55);
	x = (x & 0x33) + ((x >> 2) & 0x33);
	return (x & 0x0f) + (x >> 4);
}

int ev_jschema_fast_keyset(const struct ev_jschema_fast *f, unsigned present,
			   const struct ev_jschema_pair *pv, size_t n,
			   struct ev_jschema_ctx *cx)
{
	const struct fcheck *root = &f->root;
	const struct jobj *o;
	size_t i, count;
	uint64_t seen;
	int r = 1;

	if ((present & ~f->keys_ok) != 0 || root->obj == NULL ||
	    (root->n->types && !(root->n->types & JT_OBJ)))
		return 0;
	o = root->obj->o;
	count = (size_t)nbits8(present);
	if (o != NULL && ((o->minp >= 0 && (int64_t)count < o->minp) ||
			  (o->maxp >= 0 && (int64_t)count > o->maxp)))
		return 0;
	seen = f->set_seen[present];
	if (n > 0) {
		size_t path_len = cx->path.len;
		unsigned max_errors = cx->max_errors;
		struct dscope fr;
		struct vctx c;

		fr.res = root->n->res;
		fr.up = NULL;
		fw_init(&c, cx, NULL, NULL);
		c.steps = 1 + count;
		cx->max_errors = 0;
		for (i = 0; i < n && r == 1; i++) {
			const uint8_t *pe;

			if (pv[i].key >= FAST_KEYSET ||
			    !(present & (1u << pv[i].key))) {
				r = 0;
				break;
			}
			c.end = pv[i].end;
			r = fw_value(&c, &fr, f->keys[pv[i].key].fc, pv[i].p,
				     c.end, 1, &pe) == 1 &&
			    pe == pv[i].end;
		}
		cx->max_errors = max_errors;
		cx->path.len = path_len;
	}
	if (r != 1)
		return 0;
	return o == NULL || (seen & o->reqmask) == o->reqmask;
}

int ev_jschema_fast_pairs(const struct ev_jschema_fast *f,
			  const struct ev_jschema_pair *pv, size_t n,
			  struct ev_jschema_ctx *cx)
{
	const struct fcheck *root = &f->root;
	const struct jobj *o;
	size_t i, path_len = cx->path.len;
	unsigned max_errors = cx->max_errors;
	uint64_t seen = 0;
	struct dscope fr;
	struct vctx c;
	int r = 1;

	/* as fw_value() has the object at the root */
	if (root->obj == NULL || (root->n->types && !(root->n->types & JT_OBJ)))
		return 0;
	o = root->obj->o;
	if (o != NULL && ((o->minp >= 0 && (int64_t)n < o->minp) ||
			  (o->maxp >= 0 && (int64_t)n > o->maxp)))
		return 0;
	fr.res = root->n->res;
	fr.up = NULL;
	fw_init(&c, cx, NULL, NULL);
	c.steps = 1 + n;
	cx->max_errors = 0;
	for (i = 0; i < n && r == 1; i++) {
		const struct fkey *k;
		const uint8_t *pe;

		if (pv[i].key >= f->nkeys || f->keys[pv[i].key].fc == NULL) {
			r = 0;
			break;
		}
		k = &f->keys[pv[i].key];
		seen |= k->seen;
		if (pv[i].p == NULL)
			continue; /* checked before */
		c.end = pv[i].end;
		r = fw_value(&c, &fr, k->fc, pv[i].p, c.end, 1, &pe) == 1 &&
		    pe == pv[i].end;
	}
	cx->max_errors = max_errors;
	cx->path.len = path_len;
	if (r != 1)
		return 0;
	return o == NULL || (seen & o->reqmask) == o->reqmask;
}

int ev_jschema_fast_pair_value(const struct ev_jschema_fast *f, unsigned key,
			       size_t npairs, const uint8_t *p,
			       const uint8_t *end, const uint8_t **pe,
			       struct ev_jschema_ctx *cx)
{
	const struct fcheck *root = &f->root;
	size_t path_len = cx->path.len;
	unsigned max_errors = cx->max_errors;
	struct dscope fr;
	struct vctx c;
	int r;

	if (root->obj == NULL || key >= f->nkeys || f->keys[key].fc == NULL)
		return 0;
	/* as ev_jschema_fast_pairs() has it: only containers take steps,
	 * and there is no other container among the pairs */
	fr.res = root->n->res;
	fr.up = NULL;
	fw_init(&c, cx, NULL, end);
	c.steps = 1 + npairs;
	cx->max_errors = 0;
	r = fw_value(&c, &fr, f->keys[key].fc, p, end, 1, pe);
	cx->max_errors = max_errors;
	cx->path.len = path_len;
	return r == 1;
}

int ev_jschema_fast_any(const struct ev_jschema_fast *f, unsigned key)
{
	const struct fcheck *fc;
	int any = 0;

	if (key >= f->nkeys || (fc = f->keys[key].fc) == NULL)
		return 0;
	if (fc->kind == FK_SKIP)
		return EV_JSCHEMA_ANY_STR | EV_JSCHEMA_ANY_UINT |
		       EV_JSCHEMA_ANY_POS;
	if (fc->kind != FK_TYPES && fc->kind != FK_LEAF)
		return 0;
	if (fc->str == LQ_YES)
		any |= EV_JSCHEMA_ANY_STR;
	if (fc->num == LQ_YES)
		any |= EV_JSCHEMA_ANY_UINT | EV_JSCHEMA_ANY_POS;
	else if (fc->num == LQ_CHECK && fc->imin <= 1 && fc->n->num != NULL &&
		 fc->n->num->max == NULL)
		any |= EV_JSCHEMA_ANY_POS; /* a minimum of 1 at most */
	return any;
}

int ev_jschema_fast_string_blind(const struct ev_jschema_fast *f, unsigned key)
{
	const struct fcheck *fc;

	if (key >= f->nkeys || (fc = f->keys[key].fc) == NULL)
		return 0;
	return fc->kind == FK_SKIP || fc->kind == FK_TYPES;
}

int js_check_meta(struct ev_jschema_set *s, struct jnode *meta, struct jdoc *d,
		  struct ev_error *err)
{
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	int r;

	(void)s;
	if (cx == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	r = validate(meta, d->mp, d->n, NULL, cx, JS_MAX_SCHEMA_DEPTH, 4000,
		     UINT64_MAX);
	if (r == 0) {
		const struct ev_jschema_error *e = ev_jschema_error_at(cx, 0);

		ev_seterr(err, EV_EDATA, "%s: %s: %s (metaschema %s)", d->name,
			  *e->instance_path ? e->instance_path : "/",
			  e->message, e->schema_path);
	} else if (r < 0) {
		const struct ev_jschema_error *e = ev_jschema_error_at(cx, 0);

		ev_seterr(err, EV_EDATA, "%s: metaschema check failed: %s",
			  d->name, e ? e->message : "error");
	}
	ev_jschema_ctx_free(cx);
	return r;
}
