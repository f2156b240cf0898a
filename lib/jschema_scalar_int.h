/*
 * jschema_scalar_int.h - the inline front of jschema_scalar.c, for the
 * general walk (jschema_walk.c) and the fast walk (jschema_fastwalk.c):
 * the common checks of a scalar, and a leaf node checked without
 * recursion, on their hot paths; what these leave is
 * ev_jv_v_scalar()'s.  Not for any other module.
 */
#ifndef JSCHEMA_SCALAR_INT_H
#define JSCHEMA_SCALAR_INT_H

#include "jschema_validate_int.h"

/* const, enum, and the keywords of numbers and strings */
/* The common checks of a scalar, inline: 1 valid, 0 invalid, 2 when
 * ev_jv_v_scalar() must decide (const, enums of other values, formats,
 * content, PCRE2 patterns, numbers not compared exactly as doubles) */
static inline __attribute__((always_inline)) int
scalar_fast(const struct jnode *n, const struct ev_mp_item *it)
{
	const struct jnumk *k;
	double f;

	if (n->const_v || n->content_b64 || n->content_json ||
	    (n->format != NULL && n->format_assert))
		return 2;
	if (n->enm != NULL) {
		const struct jenum *e = n->enm;
		uint32_t i;

		if (!e->all_str || e->tab != NULL)
			return 2;
		if (it->type != EV_MP_STR)
			return 0;
		for (i = 0; i < e->nv; i++)
			if (e->sl[i] == it->n &&
			    key_eq((const char *)e->sp[i], it->p, it->n))
				break;
		if (i == e->nv)
			return 0;
	}
	switch (it->type) {
	case EV_MP_STR: {
		const struct jstr *s = n->str;

		if (s == NULL)
			return 1;
		if (s->minl > 0 && !ev_jv_utf8_at_least(it->p, it->n, s->minl))
			return 0;
		if (s->maxl >= 0 && (uint64_t)s->maxl < it->n &&
		    (int64_t)utf8_len(it->p, it->n) > s->maxl)
			return 0;
		if (s->re != NULL)
			return s->sre != NULL
				       ? ev_jv_sre_match(s->sre, it->p, it->n)
				       : 2;
		return 1;
	}
	case EV_MP_UINT:
		if ((k = n->num) == NULL)
			return 1;
		if (k->exmin || k->exmax || k->mult ||
		    (k->min && k->min->kind != 0) ||
		    (k->max && k->max->kind != 0))
			return 2;
		if (k->min && k->min->i >= 0 && it->v.u < (uint64_t)k->min->i)
			return 0;
		if (k->max && (k->max->i < 0 || it->v.u > (uint64_t)k->max->i))
			return 0;
		return 1;
	case EV_MP_FLOAT:
		/* exact as doubles: double bounds, integers up to 2^53 */
		if ((k = n->num) == NULL)
			return 1;
		if (k->exmin || k->exmax || k->mult)
			return 2;
		f = it->v.f;
		if (k->min) {
			if (k->min->kind == 2) {
				if (f < k->min->d)
					return 0;
			} else if (k->min->kind == 0 &&
				   k->min->i <= (1ll << 53) &&
				   k->min->i >= -(1ll << 53)) {
				if (f < (double)k->min->i)
					return 0;
			} else {
				return 2;
			}
		}
		if (k->max) {
			if (k->max->kind == 2) {
				if (f > k->max->d)
					return 0;
			} else if (k->max->kind == 0 &&
				   k->max->i <= (1ll << 53) &&
				   k->max->i >= -(1ll << 53)) {
				if (f > (double)k->max->i)
					return 0;
			} else {
				return 2;
			}
		}
		return 1;
	default:
		return n->num == NULL && n->str == NULL ? 1 : 2;
	}
}

/* a leaf node on the fast path: no errors to collect */
static inline __attribute__((always_inline)) int
v_leaf(struct vctx *c, const struct jnode *n, const uint8_t *p)
{
	struct ev_mp_item it;
	const uint8_t *q = p;
	uint32_t tm;
	int r;

	if (n->kind != JN_OBJ)
		return n->kind == JN_TRUE;
	if (rd(&q, c->end, &it) != 0 || (tm = type_of(&it)) == 0)
		return EV_EDATA;
	if (n->types && !(n->types & tm))
		return 0;
	if (!(n->const_v || n->enm || n->num || n->str || n->format ||
	      n->content_b64 || n->content_json))
		return 1;
	if ((r = scalar_fast(n, &it)) != 2)
		return r;
	return ev_jv_v_scalar(c, n, p, &it);
}

#endif
