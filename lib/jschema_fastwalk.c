/*
 * jschema_fastwalk.c - running the fast walk's program (jschema_fast.c
 * makes it): a value, an object given as its pairs or a set of them, or
 * one pair's value, found valid without the general walk's dispatch, or
 * "cannot say"; the keys of those pairs named, and what the program
 * says of a key whatever its value.  What the program leaves, it hands
 * to the general walk (ev_jv_v, jschema_walk.c) at that value, and a
 * leaf's checks to jschema_scalar.c (through v_leaf()).
 */
#include <stdlib.h>
#include <string.h>

#include "jschema_fast_int.h"
#include "jschema_scalar_int.h"

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
