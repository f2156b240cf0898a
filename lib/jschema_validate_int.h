/*
 * jschema_validate_int.h - internals shared by the files of the JSON
 * Schema validator (jschema_validate.c and the files its top comment
 * names): the context of a walk, the FAIL/CHECK steps of a keyword, and
 * the inline readers and checks that the general walk and the fast walk
 * both take on their hot paths (jschema_scalar_int.h has those that call
 * into jschema_scalar.c).  Not for any other module.
 */
#ifndef JSCHEMA_VALIDATE_INT_H
#define JSCHEMA_VALIDATE_INT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "jschema_priv.h"

struct jerr_off {
	size_t ip, sp, kw, msg;
};

struct ev_jschema_ctx {
	struct ev_buf path; /* instance path under construction */
	struct ev_buf strs;
	struct jerr_off *off;
	size_t noff, capoff;
	struct ev_jschema_error *errs;
	size_t caperrs;
	size_t nerrs;
	unsigned max_errors;
};

struct vctx {
	struct ev_jschema_ctx *cx;
	const uint8_t *end;
	int collect;
	int depth, max_depth;
	int idepth, max_idepth;		/* instance nesting */
	const uint8_t *root, *root_end; /* the end of the root, once walked */
	const uint8_t *wp, *we;	   /* the container walked last, and its end */
	int full;		   /* max_errors reached */
	uint64_t steps, max_steps; /* node visits, the budget */
};

struct dscope {
	const struct jres *res;
	const struct dscope *up;
};

struct ann {
	uint64_t *bits;
	uint32_t n;
};

/* in a keyword's checks (ok, ret and the label out in scope): FAIL() a
 * failure, which stops the node unless errors are collected; CHECK(r) a
 * subschema's result r, <0 an error that stops it */
#define FAIL()                              \
	do {                                \
		ok = 0;                     \
		if (!c->collect || c->full) \
			goto out;           \
	} while (0)

#define CHECK(r)                  \
	do {                      \
		int r_ = (r);     \
		if (r_ < 0) {     \
			ret = r_; \
			goto out; \
		}                 \
		if (r_ == 0)      \
			FAIL();   \
	} while (0)

/* jschema_vctx.c: the errors, as the walk finds them */
void ev_jv_finish(struct ev_jschema_ctx *cx); /* cx->errs from the offsets */
void ev_jv_err_add(struct vctx *c, const struct jnode *n, const char *kwpath,
		   const char *kw, const char *fmt, ...) EV_PRINTF(5, 6);
/* the instance path: a segment pushed, and popped back to where it was */
size_t ev_jv_path_push_key(struct vctx *c, const char *k, size_t kn);
size_t ev_jv_path_push_idx(struct vctx *c, size_t i);
void ev_jv_path_pop(struct vctx *c, size_t at);
const char *ev_jv_qstr(char *b, size_t bn, const uint8_t *s, size_t n);
/* errors of the limits, that no applicator hides: a regex that hit
 * PCRE2's match limit, the step budget, the schema's and the instance's
 * nesting; each returns EV_EDATA */
int ev_jv_re_limit(struct vctx *c, const struct jnode *n, const char *kwpath,
		   const char *kw, const char *src, uint32_t srclen);
int ev_jv_over_budget(struct vctx *c, const struct jnode *n);
int ev_jv_too_deep(struct vctx *c, const struct jnode *n);
int ev_jv_inst_too_deep(struct vctx *c, const struct jnode *n);

/* jschema_equal.c (js_mp_equal and js_mp_hash: jschema_priv.h) */
/* uniqueItems for long arrays: sort by hash, compare equal hashes.  1
 * unique, 0 not (*first < *second the duplicates), <0 error */
int ev_jv_unique_hashed(const uint8_t *q, const uint8_t *end, uint32_t n,
			uint32_t *first, uint32_t *second);

/* jschema_scalar.c: const, enum, numbers, strings; the checks of a
 * scalar (scalar_fast() and v_leaf() in jschema_scalar_int.h have the
 * common ones, inline) */
int ev_jv_v_scalar(struct vctx *c, const struct jnode *n, const uint8_t *p,
		   const struct ev_mp_item *pit);
int ev_jv_sre_match(const struct jsre *r, const uint8_t *s, size_t n);
int ev_jv_utf8_at_least(const uint8_t *s, size_t n, int64_t min);

/* jschema_walk.c: the value at p against the node n, in the dynamic
 * scope sc, its annotations (for unevaluated*) added to a: 1 valid, 0
 * invalid (with its errors, when collecting), <0 an error */
int ev_jv_v(struct vctx *c, const struct jnode *n, const uint8_t *p,
	    const struct dscope *sc, struct ann *a);

/* skip one value: scalars inline, containers by ev_mp_skip_fast */
static inline __attribute__((always_inline)) int skip1(const uint8_t **pp,
						       const uint8_t *end)
{
	const uint8_t *p = *pp;
	uint8_t c;

	if (EV_LIKELY(p < end)) {
		c = *p;
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 ||
		    c == 0xc3) {
			*pp = p + 1;
			return 0;
		}
		if (c >= 0xa0 && c <= 0xbf) {
			if ((size_t)(end - p) <= (size_t)(c & 0x1f))
				return -1;
			*pp = p + 1 + (c & 0x1f);
			return 0;
		}
		if (c == 0xcb && end - p >= 9) {
			*pp = p + 9;
			return 0;
		}
		/* uint 8 to 64, int 8 to 64: 1 + 1, 2, 4, 8 bytes */
		if (c >= 0xcc && c <= 0xd3) {
			size_t k = (size_t)1 + (1u << ((c - 0xcc) & 3));

			if ((size_t)(end - p) < k)
				return -1;
			*pp = p + k;
			return 0;
		}
		if (c == 0xd9 && end - p >= 2) {
			if ((size_t)(end - p) < (size_t)2 + p[1])
				return -1;
			*pp = p + 2 + p[1];
			return 0;
		}
	}
	return ev_mp_skip_fast(pp, end);
}

static inline int key_eq(const char *a, const uint8_t *b, uint32_t n)
{
	uint64_t x, y;
	uint32_t u, w;

	if (n >= 8) {
		if (n > 16)
			return memcmp(a, b, n) == 0;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return 0;
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&w, b, 4);
		if (u != w)
			return 0;
		memcpy(&u, a + n - 4, 4);
		memcpy(&w, b + n - 4, 4);
		return u == w;
	}
	/* 0 to 3 bytes: the first, middle and last are all of them */
	return n == 0 || (a[0] == (char)b[0] && a[n / 2] == (char)b[n / 2] &&
			  a[n - 1] == (char)b[n - 1]);
}

/* ev_mp_read with the common cases of records inline */
static inline __attribute__((always_inline)) int
rd(const uint8_t **pp, const uint8_t *end, struct ev_mp_item *it)
{
	const uint8_t *p = *pp;
	uint8_t c;

	if (EV_LIKELY(p < end)) {
		c = *p;
		if (c >= 0xa0 && c <= 0xbf) {
			uint32_t n = c & 0x1f;

			if ((size_t)(end - p) <= n)
				return -1;
			it->type = EV_MP_STR;
			it->n = n;
			it->p = p + 1;
			*pp = p + 1 + n;
			return 0;
		}
		if (c <= 0x7f) {
			it->type = EV_MP_UINT;
			it->v.u = c;
			*pp = p + 1;
			return 0;
		}
		if (c >= 0x80 && c <= 0x8f) {
			it->type = EV_MP_MAP;
			it->n = c & 0x0f;
			*pp = p + 1;
			return 0;
		}
		if (c == 0xcb && end - p >= 9) {
			uint64_t w = ev_rbe64(p + 1);

			it->type = EV_MP_FLOAT;
			memcpy(&it->v.f, &w, sizeof(w));
			*pp = p + 9;
			return 0;
		}
		if (c == 0xcd && end - p >= 3) {
			it->type = EV_MP_UINT;
			it->v.u = ev_rbe16(p + 1);
			*pp = p + 3;
			return 0;
		}
		if (c == 0xce && end - p >= 5) {
			it->type = EV_MP_UINT;
			it->v.u = ev_rbe32(p + 1);
			*pp = p + 5;
			return 0;
		}
		if (c == 0xd9 && end - p >= 2) {
			uint32_t n = p[1];

			if ((size_t)(end - p) < 2 + (size_t)n)
				return -1;
			it->type = EV_MP_STR;
			it->n = n;
			it->p = p + 2;
			*pp = p + 2 + n;
			return 0;
		}
	}
	return ev_mp_read(pp, end, it);
}

static inline long double num_ld(const struct ev_mp_item *it)
{
	switch (it->type) {
	case EV_MP_UINT:
		return (long double)it->v.u;
	case EV_MP_INT:
		return (long double)it->v.i;
	default:
		return (long double)it->v.f;
	}
}

static inline uint32_t type_of(const struct ev_mp_item *it)
{
	switch (it->type) {
	case EV_MP_NIL:
		return JT_NULL;
	case EV_MP_BOOL:
		return JT_BOOL;
	case EV_MP_UINT:
	case EV_MP_INT:
		return JT_INT;
	case EV_MP_FLOAT:
		return (isfinite(it->v.f) && it->v.f == floor(it->v.f))
			       ? JT_INT
			       : JT_NUM;
	case EV_MP_STR:
		return JT_STR;
	case EV_MP_ARRAY:
		return JT_ARR;
	case EV_MP_MAP:
		return JT_OBJ;
	default:
		return 0;
	}
}

static inline __attribute__((always_inline)) const struct jprop *
prop_find(const struct jobj *o, const uint8_t *k, uint32_t kn)
{
	uint32_t h, i;

	if (o->tab == NULL)
		return NULL;
	h = js_key_hash(k, kn);
	i = h & o->tabmask;
	while (o->tab[i].idx) {
		if (o->tab[i].hash == h) {
			const struct jprop *pr = &o->props[o->tab[i].idx - 1];

			if (pr->len == kn && key_eq(pr->name, k, kn))
				return pr;
		}
		i = (i + 1) & o->tabmask;
	}
	return NULL;
}

/* 1 when the value at p has one of the types of n (a node with only
 * "type"), 0 when that takes the full walk */
static inline int type_quick(const struct jnode *n, const uint8_t *p,
			     const uint8_t *end)
{
	uint8_t c;
	uint32_t t;

	if (p >= end)
		return 0;
	c = *p;
	if (n->types == 0)
		return 1;
	if ((c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb))
		t = JT_STR;
	else if (c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3))
		t = JT_INT;
	else if (c == 0xc0)
		t = JT_NULL;
	else if (c == 0xc2 || c == 0xc3)
		t = JT_BOOL;
	else if (c == 0xca || c == 0xcb)
		t = JT_NUM; /* could be integral: only a quick yes for number */
	else
		return 0;
	return (n->types & t) != 0;
}

/* The patterns js_sre_compile() (jschema_compile.c) took, matched without
 * PCRE2: 1 when s matches, else 0 */
static inline __attribute__((always_inline)) int
sre_match_in(const struct jsre *r, const uint8_t *s, size_t n)
{
	const uint8_t *p = s, *e = s + n;
	const struct jsre_el *x = r->el, *xe = r->el + r->nel;
	uint64_t w;
	uint32_t k;

	for (; x < xe; x++) {
		size_t left = (size_t)(e - p);
		const uint8_t *t = x->tab;

		switch (x->kind) {
		case SRE_LIT:
			if (left >= 8 && x->wide) {
				memcpy(&w, p, 8);
				if ((w & x->lm) != x->lw)
					return 0;
			} else if (left < x->litlen ||
				   !key_eq(x->lit, p, x->litlen)) {
				return 0;
			}
			p += x->litlen;
			break;
		case SRE_CH:
			if (left < 1 || *p != (uint8_t)x->lit[0])
				return 0;
			p++;
			break;
		case SRE_ALT:
			if (left >= 8 && x->wide) {
				memcpy(&w, p, 8);
				for (k = 0; k < x->nalt; k++)
					if ((w & x->am[k]) == x->aw[k])
						break;
			} else {
				for (k = 0; k < x->nalt; k++)
					if (left >= x->altlen[k] &&
					    key_eq(x->alt[k], p, x->altlen[k]))
						break;
			}
			if (k == x->nalt)
				return 0;
			p += x->altlen[k];
			break;
		case SRE_FIX: {
			/* a fixed count: every character in the set */
			uint32_t m = x->min;
			unsigned acc = 1;

			if (left < m)
				return 0;
			for (k = 0; k + 8 <= m; k += 8)
				acc &= t[p[k]] & t[p[k + 1]] & t[p[k + 2]] &
				       t[p[k + 3]] & t[p[k + 4]] & t[p[k + 5]] &
				       t[p[k + 6]] & t[p[k + 7]];
			for (; k < m; k++)
				acc &= t[p[k]];
			if (!acc)
				return 0;
			p += m;
			break;
		}
		default: {
			const uint8_t *q = p;
			const uint8_t *lim = left > x->max ? p + x->max : e;

			while (lim - q >= 4 &&
			       (t[q[0]] & t[q[1]] & t[q[2]] & t[q[3]]))
				q += 4;
			while (q < lim && t[*q])
				q++;
			if ((size_t)(q - p) < x->min)
				return 0;
			p = q;
			break;
		}
		}
	}
	return p == e;
}

static inline size_t utf8_len(const uint8_t *s, size_t n)
{
	size_t k = 0, i;

	for (i = 0; i < n; i++)
		k += (s[i] & 0xC0) != 0x80;
	return k;
}

#endif
