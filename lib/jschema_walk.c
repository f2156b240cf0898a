/*
 * jschema_walk.c - the general walk of the validator: a value against a
 * compiled node (ev_jv_v), with the keywords of objects and arrays, the
 * applicators (allOf, anyOf, oneOf, not, if/then/else), references
 * ($ref, and $dynamicRef and $recursiveRef through the dynamic scope of
 * resources the walk went through), and the annotations that
 * unevaluatedProperties and unevaluatedItems take.  They stay in one
 * file because they recurse into each other through ev_jv_v().
 *
 * The fast path of an object: one pass over its pairs, each key looked
 * up in the node's hash table, a subschema with only "type" checked from
 * the value's first byte, other leaves (no applicator, reference, object
 * or array keyword) without recursion; required names are bits of a
 * mask.  Every read is bounds-checked; types are checked where the
 * schema reads a value, so a value nothing looks at is only skipped.
 *
 * Calls jschema_scalar.c, jschema_equal.c and jschema_vctx.c, never the
 * files above it (jschema_validate.c, jschema_fastwalk.c).
 */
#include <stdlib.h>
#include <string.h>

#include "jschema_scalar_int.h"

/* is key name present in the map whose pairs start at q */
static int obj_has(const uint8_t *q, const uint8_t *end, uint32_t count,
		   const char *name, uint32_t len)
{
	struct ev_mp_item k;
	uint32_t i;

	for (i = 0; i < count; i++) {
		if (ev_mp_read(&q, end, &k) != 0)
			return 0;
		if (k.n == len && memcmp(k.p, name, len) == 0)
			return 1;
		if (ev_mp_skip_fast(&q, end) != 0)
			return 0;
	}
	return 0;
}

static void ann_mark(struct ann *a, uint32_t i)
{
	if (a != NULL && i < a->n)
		a->bits[i / 64] |= 1ull << (i % 64);
}

static int ann_has(const struct ann *a, uint32_t i)
{
	return (a->bits[i / 64] >> (i % 64)) & 1;
}

static void ann_merge(struct ann *dst, const struct ann *src)
{
	uint32_t w;

	if (dst == NULL)
		return;
	for (w = 0; w < (src->n + 63) / 64; w++)
		dst->bits[w] |= src->bits[w];
}

/* a scratch annotation of n bits: in buf when it fits */
static int ann_init(struct ann *a, uint32_t n, uint64_t *buf, size_t bufw)
{
	size_t w = (n + 63) / 64;

	a->n = n;
	if (w <= bufw) {
		a->bits = buf;
	} else {
		a->bits = malloc(w * sizeof(uint64_t));
		if (a->bits == NULL)
			return EV_ERR;
	}
	memset(a->bits, 0, (w ? w : 1) * sizeof(uint64_t));
	return 0;
}

static void ann_done(struct ann *a, uint64_t *buf)
{
	if (a->bits != buf)
		free(a->bits);
}

/* a child value: with its path segment when collecting */
static int vkey(struct vctx *c, const struct jnode *n, const uint8_t *p,
		const struct dscope *sc, const uint8_t *k, uint32_t kn)
{
	size_t at;
	int r;

	if (++c->idepth > c->max_idepth)
		return ev_jv_inst_too_deep(c, n);
	if (!c->collect) {
		r = ev_jv_v(c, n, p, sc, NULL);
		c->idepth--;
		return r;
	}
	at = ev_jv_path_push_key(c, (const char *)k, kn);
	r = ev_jv_v(c, n, p, sc, NULL);
	ev_jv_path_pop(c, at);
	c->idepth--;
	return r;
}

static int vidx(struct vctx *c, const struct jnode *n, const uint8_t *p,
		const struct dscope *sc, size_t i)
{
	size_t at;
	int r;

	if (++c->idepth > c->max_idepth)
		return ev_jv_inst_too_deep(c, n);
	if (!c->collect) {
		r = ev_jv_v(c, n, p, sc, NULL);
		c->idepth--;
		return r;
	}
	at = ev_jv_path_push_idx(c, i);
	r = ev_jv_v(c, n, p, sc, NULL);
	ev_jv_path_pop(c, at);
	c->idepth--;
	return r;
}

/* a yes/no answer, without errors */
static int vquiet(struct vctx *c, const struct jnode *n, const uint8_t *p,
		  const struct dscope *sc, struct ann *a)
{
	int saved = c->collect, r;

	c->collect = 0;
	r = ev_jv_v(c, n, p, sc, a);
	c->collect = saved;
	return r;
}

static int v_object(struct vctx *c, const struct jnode *n, const uint8_t *p,
		    const struct ev_mp_item *it, const uint8_t *q,
		    const struct dscope *sc, struct ann *a)
{
	const struct jobj *o = n->obj;
	uint64_t seen = 0;
	const uint8_t *kp = q;
	uint32_t i, j, g = 0;
	int ok = 1, ret = 1;
	char qb[128];

	if (o->minp >= 0 && (int64_t)it->n < o->minp) {
		if (c->collect)
			ev_jv_err_add(
				c, n, "minProperties", "minProperties",
				"must NOT have fewer than %lld properties",
				(long long)o->minp);
		FAIL();
	}
	if (o->maxp >= 0 && (int64_t)it->n > o->maxp) {
		if (c->collect)
			ev_jv_err_add(c, n, "maxProperties", "maxProperties",
				      "must NOT have more than %lld properties",
				      (long long)o->maxp);
		FAIL();
	}
	for (i = 0; i < it->n; i++) {
		struct ev_mp_item k;
		const uint8_t *kstart = kp, *vp;
		const struct jprop *pr;
		int matched = 0;

		if (rd(&kp, c->end, &k) != 0 || k.type != EV_MP_STR) {
			ret = EV_EDATA;
			goto out;
		}
		vp = kp;
		/* keys mostly come in the order of "properties": try the
		 * one after the last found before hashing */
		if (g < o->nprops && o->props[g].len == k.n &&
		    key_eq(o->props[g].name, k.p, k.n))
			pr = &o->props[g];
		else
			pr = prop_find(o, k.p, k.n);
		if (pr != NULL) {
			g = (uint32_t)(pr - o->props) + 1;
			if (pr->slot >= 0)
				seen |= 1ull << pr->slot;
			if (pr->sub != NULL) {
				matched = 1;
				const struct jnode *sub = pr->sub;

				if (c->collect)
					CHECK(vkey(c, sub, vp, sc, k.p, k.n));
				else if (sub->only_types)
					CHECK(type_quick(sub, vp, c->end) ||
					      v_leaf(c, sub, vp));
				else if (sub->leaf)
					CHECK(v_leaf(c, sub, vp));
				else
					CHECK(vkey(c, sub, vp, sc, k.p, k.n));
			}
		}
		for (j = 0; j < o->npp; j++) {
			int m = ev_ecmare_search(o->pp[j].re, (const char *)k.p,
						 k.n);

			if (m > 0) {
				matched = 1;
				CHECK(vkey(c, o->pp[j].sub, vp, sc, k.p, k.n));
			} else if (m < 0) {
				size_t at =
					ev_jv_path_push_key(c,
							    (const char *)k.p,
							    k.n);

				ret = ev_jv_re_limit(c, o->pp[j].sub, "",
						     "patternProperties",
						     o->pp[j].src,
						     o->pp[j].srclen);
				ev_jv_path_pop(c, at);
				goto out;
			}
		}
		if (!matched && o->addl != NULL) {
			matched = 1;
			if (o->addl->kind == JN_FALSE) {
				if (c->collect) {
					size_t at = ev_jv_path_push_key(
						c, (const char *)k.p, k.n);

					ev_jv_err_add(
						c, n, "additionalProperties",
						"additionalProperties",
						"must NOT have additional "
						"properties");
					ev_jv_path_pop(c, at);
				}
				FAIL();
			} else {
				CHECK(vkey(c, o->addl, vp, sc, k.p, k.n));
			}
		}
		if (matched)
			ann_mark(a, i);
		if (o->pnames != NULL) {
			int r = vquiet(c, o->pnames, kstart, sc, NULL);

			if (r < 0) {
				ret = r;
				goto out;
			}
			if (r == 0) {
				if (c->collect)
					ev_jv_err_add(
						c, n, "propertyNames",
						"propertyNames",
						"property name '%s' is invalid",
						ev_jv_qstr(qb, sizeof(qb), k.p,
							   k.n));
				FAIL();
			}
		}
		/* a container the walk went through ends where it said */
		if (c->wp == vp)
			kp = c->we;
		else if (skip1(&kp, c->end) != 0) {
			ret = EV_EDATA;
			goto out;
		}
	}
	c->wp = p;
	c->we = kp;
	if (p == c->root)
		c->root_end = kp;
	if ((seen & o->reqmask) != o->reqmask || o->slots_overflow) {
		for (j = 0; j < o->nprops; j++) {
			const struct jprop *pr = &o->props[j];

			if (!pr->required)
				continue;
			if (pr->slot >= 0 ? (int)((seen >> pr->slot) & 1)
					  : obj_has(q, c->end, it->n, pr->name,
						    pr->len))
				continue;
			if (c->collect)
				ev_jv_err_add(
					c, n, "required", "required",
					"must have required property '%s'",
					ev_jv_qstr(qb, sizeof(qb),
						   (const uint8_t *)pr->name,
						   pr->len));
			FAIL();
		}
	}
	if ((seen & o->depmask) || o->slots_overflow) {
		for (j = 0; j < o->nprops; j++) {
			const struct jprop *pr = &o->props[j];
			uint32_t d;

			if (!pr->dep_schema && !pr->ndep_req)
				continue;
			if (!(pr->slot >= 0 ? (int)((seen >> pr->slot) & 1)
					    : obj_has(q, c->end, it->n,
						      pr->name, pr->len)))
				continue;
			for (d = 0; d < pr->ndep_req; d++) {
				const struct jprop *dp;
				int has;

				dp = prop_find(o,
					       (const uint8_t *)pr->dep_req[d],
					       pr->dep_req_len[d]);
				has = dp && dp->slot >= 0
					      ? (int)((seen >> dp->slot) & 1)
					      : obj_has(q, c->end, it->n,
							pr->dep_req[d],
							pr->dep_req_len[d]);
				if (!has) {
					if (c->collect) {
						char qb2[128];

						ev_jv_err_add(
							c, n, pr->dep_kw,
							pr->dep_kw,
							"must have property "
							"'%s' when property "
							"'%s' is present",
							ev_jv_qstr(
								qb2,
								sizeof(qb2),
								(const uint8_t
									 *)pr->dep_req
									[d],
								pr->dep_req_len
									[d]),
							ev_jv_qstr(
								qb, sizeof(qb),
								(const uint8_t
									 *)pr
									->name,
								pr->len));
					}
					FAIL();
				}
			}
			if (pr->dep_schema != NULL)
				CHECK(ev_jv_v(c, pr->dep_schema, p, sc, a));
		}
	}
out:
	if (ret < 0)
		return ret;
	return ok;
}

static int v_array(struct vctx *c, const struct jnode *n, const uint8_t *p,
		   const struct ev_mp_item *it, const uint8_t *q,
		   const struct dscope *sc, struct ann *a)
{
	const struct jarr *ar = n->arr;
	const uint8_t *ip = q;
	uint32_t i, matches = 0;
	int ok = 1, ret = 1;

	if (ar->mini >= 0 && (int64_t)it->n < ar->mini) {
		if (c->collect)
			ev_jv_err_add(c, n, "minItems", "minItems",
				      "must NOT have fewer than %lld items",
				      (long long)ar->mini);
		FAIL();
	}
	if (ar->maxi >= 0 && (int64_t)it->n > ar->maxi) {
		if (c->collect)
			ev_jv_err_add(c, n, "maxItems", "maxItems",
				      "must NOT have more than %lld items",
				      (long long)ar->maxi);
		FAIL();
	}
	for (i = 0; i < it->n; i++) {
		const struct jnode *sub =
			i < ar->nprefix ? ar->prefix[i] : ar->items;

		if (sub != NULL) {
			ann_mark(a, i);
			if (sub->kind == JN_FALSE && i >= ar->nprefix) {
				if (c->collect)
					ev_jv_err_add(
						c, n, ar->items_kw,
						ar->items_kw,
						"must NOT have more than %u "
						"items",
						ar->nprefix);
				FAIL();
			} else {
				CHECK(vidx(c, sub, ip, sc, i));
			}
		}
		if (ar->contains != NULL) {
			int r = vquiet(c, ar->contains, ip, sc, NULL);

			if (r < 0) {
				ret = r;
				goto out;
			}
			if (r == 1) {
				matches++;
				if (n->draft == 2020)
					ann_mark(a, i);
			}
		}
		if (c->wp == ip)
			ip = c->we;
		else if (skip1(&ip, c->end) != 0) {
			ret = EV_EDATA;
			goto out;
		}
	}
	c->wp = p;
	c->we = ip;
	if (p == c->root)
		c->root_end = ip;
	if (ar->contains != NULL) {
		if ((int64_t)matches < ar->minc) {
			if (c->collect) {
				if (ar->minc == 1)
					ev_jv_err_add(
						c, n, "contains", "contains",
						"must contain at least 1 valid "
						"item(s)");
				else
					ev_jv_err_add(
						c, n, "minContains",
						"minContains",
						"must contain at least %lld "
						"valid item(s)",
						(long long)ar->minc);
			}
			FAIL();
		}
		if (ar->maxc >= 0 && (int64_t)matches > ar->maxc) {
			if (c->collect)
				ev_jv_err_add(c, n, "maxContains",
					      "maxContains",
					      "must contain at most %lld valid "
					      "item(s)",
					      (long long)ar->maxc);
			FAIL();
		}
	}
	if (ar->unique && it->n > 32) {
		int r = ev_jv_unique_hashed(q, c->end, it->n, &i, &matches);

		if (r < 0) {
			ret = r;
			goto out;
		}
		if (r == 0) {
			if (c->collect)
				ev_jv_err_add(
					c, n, "uniqueItems", "uniqueItems",
					"must NOT have duplicate items (items "
					"## %u and %u are identical)",
					matches, i);
			FAIL();
		}
	} else if (ar->unique && it->n > 1) {
		const uint8_t *pi = q;

		for (i = 0; i < it->n; i++) {
			const uint8_t *pj = pi, *ei = pi;
			uint32_t j;

			if (ev_mp_skip_fast(&ei, c->end) != 0) {
				ret = EV_EDATA;
				goto out;
			}
			pj = ei;
			for (j = i + 1; j < it->n; j++) {
				const uint8_t *ej = pj;

				if (ev_mp_skip_fast(&ej, c->end) != 0) {
					ret = EV_EDATA;
					goto out;
				}
				if (js_mp_equal(pi, ei, pj, ej, 0)) {
					if (c->collect)
						ev_jv_err_add(
							c, n, "uniqueItems",
							"uniqueItems",
							"must NOT have duplicate "
							"items (items ## %u and "
							"%u are identical)",
							j, i);
					FAIL();
					goto uniq_done;
				}
				pj = ej;
			}
			pi = ei;
		}
	}
uniq_done:
out:
	if (ret < 0)
		return ret;
	return ok;
}

static int v_uneval(struct vctx *c, const struct jnode *n,
		    const struct ev_mp_item *it, const uint8_t *q,
		    const struct dscope *sc, struct ann *la)
{
	const uint8_t *kp = q;
	uint32_t i;
	int ok = 1, ret = 1;

	if (it->type == EV_MP_MAP && n->obj && n->obj->uneval) {
		for (i = 0; i < it->n; i++) {
			struct ev_mp_item k;

			if (ev_mp_read(&kp, c->end, &k) != 0) {
				ret = EV_EDATA;
				goto out;
			}
			if (!ann_has(la, i)) {
				ann_mark(la, i);
				if (n->obj->uneval->kind == JN_FALSE) {
					if (c->collect) {
						size_t at = ev_jv_path_push_key(
							c, (const char *)k.p,
							k.n);

						ev_jv_err_add(
							c, n,
							"unevaluatedProperties",
							"unevaluatedProperties",
							"must NOT have "
							"unevaluated "
							"properties");
						ev_jv_path_pop(c, at);
					}
					FAIL();
				} else {
					CHECK(vkey(c, n->obj->uneval, kp, sc,
						   k.p, k.n));
				}
			}
			ev_mp_skip_fast(&kp, c->end);
		}
	}
	if (it->type == EV_MP_ARRAY && n->arr && n->arr->uneval) {
		for (i = 0; i < it->n; i++) {
			if (!ann_has(la, i)) {
				ann_mark(la, i);
				if (n->arr->uneval->kind == JN_FALSE) {
					if (c->collect) {
						size_t at =
							ev_jv_path_push_idx(c,
									    i);

						ev_jv_err_add(
							c, n,
							"unevaluatedItems",
							"unevaluatedItems",
							"must NOT have "
							"unevaluated items");
						ev_jv_path_pop(c, at);
					}
					FAIL();
				} else {
					CHECK(vidx(c, n->arr->uneval, kp, sc,
						   i));
				}
			}
			ev_mp_skip_fast(&kp, c->end);
		}
	}
out:
	if (ret < 0)
		return ret;
	return ok;
}

static const struct jnode *dyn_target(const struct jnode *n,
				      const struct dscope *sc)
{
	const struct jnode *t = n->dynref;
	const struct dscope *f;

	if (n->dyn_name == NULL)
		return t;
	for (f = sc; f != NULL; f = f->up) {
		const struct jdanchor *da;

		for (da = f->res->dyn; da; da = da->next)
			if (strcmp(da->name, n->dyn_name) == 0) {
				t = da->node;
				break;
			}
	}
	return t;
}

static const struct jnode *rec_target(const struct jnode *n,
				      const struct dscope *sc)
{
	const struct jnode *t = n->recref;
	const struct dscope *f;

	if (!t->recursive_anchor)
		return t;
	for (f = sc; f != NULL; f = f->up)
		if (f->res->root != NULL && f->res->root->recursive_anchor)
			t = f->res->root;
	return t;
}

static int v_body(struct vctx *c, const struct jnode *n, const uint8_t *p,
		  const struct dscope *sc, struct ann *a)
{
	struct ev_mp_item it;
	const uint8_t *q = p;
	uint32_t tm, i;
	int ok = 1, ret = 1;
	struct ann la, *aa = a;
	uint64_t lbits[4], tbits[4];
	struct ann ta;
	int have_ta = 0, have_la = 0;

	if (rd(&q, c->end, &it) != 0)
		return EV_EDATA;
	tm = type_of(&it);
	if (tm == 0)
		return EV_EDATA;
	if (it.type != EV_MP_MAP && it.type != EV_MP_ARRAY)
		aa = NULL;
	else if (n->has_uneval) {
		if (ann_init(&la, it.n, lbits, 4) != 0)
			return EV_ERR;
		have_la = 1;
		aa = &la;
	}
	if (n->types && !(n->types & tm)) {
		if (c->collect)
			ev_jv_err_add(c, n, "type", "type", "must be %s",
				      n->type_text);
		FAIL();
	}
	if (n->ref != NULL)
		CHECK(ev_jv_v(c, n->ref, p, sc, aa));
	else if (n->ref_uri != NULL) {
		ret = EV_EUSAGE;
		goto out;
	}
	if (n->dynref != NULL)
		CHECK(ev_jv_v(c, dyn_target(n, sc), p, sc, aa));
	if (n->recref != NULL)
		CHECK(ev_jv_v(c, rec_target(n, sc), p, sc, aa));
	if ((n->const_v || n->enm || n->num || n->str || n->format ||
	     n->content_b64 || n->content_json) &&
	    ev_jv_v_scalar(c, n, p, &it) == 0)
		FAIL();
	switch (it.type) {
	case EV_MP_ARRAY:
		if (n->arr != NULL)
			CHECK(v_array(c, n, p, &it, q, sc, aa));
		break;
	case EV_MP_MAP:
		if (n->obj != NULL)
			CHECK(v_object(c, n, p, &it, q, sc, aa));
		break;
	default:
		break;
	}
	if (n->nallof || n->nanyof || n->noneof || n->not_ || n->if_) {
		if (aa != NULL && (n->nanyof || n->noneof || n->if_)) {
			if (ann_init(&ta, aa->n, tbits, 4) != 0) {
				ret = EV_ERR;
				goto out;
			}
			have_ta = 1;
		}
		for (i = 0; i < n->nallof; i++)
			CHECK(ev_jv_v(c, n->allof[i], p, sc, aa));
		if (n->nanyof) {
			int any = 0;

			for (i = 0; i < n->nanyof; i++) {
				int r;

				if (have_ta)
					memset(ta.bits, 0,
					       ((ta.n + 63) / 64) * 8);
				r = vquiet(c, n->anyof[i], p, sc,
					   have_ta ? &ta : NULL);
				if (r < 0) {
					ret = r;
					goto out;
				}
				if (r == 1) {
					any = 1;
					if (!have_ta)
						break;
					ann_merge(aa, &ta);
				}
			}
			if (!any) {
				if (c->collect)
					ev_jv_err_add(
						c, n, "anyOf", "anyOf",
						"must match a schema in anyOf");
				FAIL();
			}
		}
		if (n->noneof) {
			int cnt = 0;
			uint32_t first = 0, second = 0;

			for (i = 0; i < n->noneof; i++) {
				int r;

				if (have_ta)
					memset(ta.bits, 0,
					       ((ta.n + 63) / 64) * 8);
				r = vquiet(c, n->oneof[i], p, sc,
					   have_ta ? &ta : NULL);
				if (r < 0) {
					ret = r;
					goto out;
				}
				if (r == 1) {
					if (cnt == 0)
						first = i;
					else
						second = i;
					if (++cnt > 1)
						break;
					if (have_ta)
						ann_merge(aa, &ta);
				}
			}
			if (cnt != 1) {
				if (c->collect) {
					if (cnt == 0)
						ev_jv_err_add(
							c, n, "oneOf", "oneOf",
							"must match exactly one "
							"schema in oneOf");
					else
						ev_jv_err_add(
							c, n, "oneOf", "oneOf",
							"must match exactly one "
							"schema in oneOf "
							"(matches %u and %u)",
							first, second);
				}
				FAIL();
			}
		}
		if (n->not_ != NULL) {
			int r = vquiet(c, n->not_, p, sc, NULL);

			if (r < 0) {
				ret = r;
				goto out;
			}
			if (r == 1) {
				if (c->collect)
					ev_jv_err_add(c, n, "not", "not",
						      "must NOT be valid");
				FAIL();
			}
		}
		if (n->if_ != NULL) {
			int r;

			if (have_ta)
				memset(ta.bits, 0, ((ta.n + 63) / 64) * 8);
			r = vquiet(c, n->if_, p, sc, have_ta ? &ta : NULL);
			if (r < 0) {
				ret = r;
				goto out;
			}
			if (r == 1 && have_ta)
				ann_merge(aa, &ta);
			if (r == 1 && n->then_ != NULL) {
				int r2 = ev_jv_v(c, n->then_, p, sc, aa);

				if (r2 < 0) {
					ret = r2;
					goto out;
				}
				if (r2 == 0) {
					if (c->collect)
						ev_jv_err_add(
							c, n, "if", "if",
							"must match \"then\" "
							"schema");
					FAIL();
				}
			} else if (r == 0 && n->else_ != NULL) {
				int r2 = ev_jv_v(c, n->else_, p, sc, aa);

				if (r2 < 0) {
					ret = r2;
					goto out;
				}
				if (r2 == 0) {
					if (c->collect)
						ev_jv_err_add(
							c, n, "if", "if",
							"must match \"else\" "
							"schema");
					FAIL();
				}
			}
		}
	}
	if (have_la)
		CHECK(v_uneval(c, n, &it, q, sc, &la));
out:
	if (have_ta)
		ann_done(&ta, tbits);
	if (have_la) {
		if (ok && ret > 0)
			ann_merge(a, &la);
		ann_done(&la, lbits);
	}
	if (ret < 0)
		return ret;
	return ok;
}

int ev_jv_v(struct vctx *c, const struct jnode *n, const uint8_t *p,
	    const struct dscope *sc, struct ann *a)
{
	struct dscope fr;
	int r;

	if (EV_UNLIKELY(++c->steps > c->max_steps))
		return ev_jv_over_budget(c, n);
	if (n->kind != JN_OBJ) {
		if (n->kind == JN_TRUE)
			return 1;
		if (c->collect)
			ev_jv_err_add(c, n, "", "false schema",
				      "boolean schema is false");
		return 0;
	}
	if (n->leaf) {
		struct ev_mp_item it;
		const uint8_t *q = p;
		uint32_t tm;

		if (rd(&q, c->end, &it) != 0 || (tm = type_of(&it)) == 0)
			return EV_EDATA;
		if (n->types && !(n->types & tm)) {
			if (!c->collect)
				return 0;
			ev_jv_err_add(c, n, "type", "type", "must be %s",
				      n->type_text);
			ev_jv_v_scalar(c, n, p, &it);
			return 0;
		}
		if (!c->collect && (r = scalar_fast(n, &it)) != 2)
			return r;
		return ev_jv_v_scalar(c, n, p, &it);
	}
	if (c->depth >= c->max_depth)
		return ev_jv_too_deep(c, n);
	if (sc == NULL || sc->res != n->res) {
		fr.res = n->res;
		fr.up = sc;
		sc = &fr;
	}
	c->depth++;
	r = v_body(c, n, p, sc, a);
	c->depth--;
	return r;
}
