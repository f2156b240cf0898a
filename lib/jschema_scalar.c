/*
 * jschema_scalar.c - the keywords of a value that is not a container:
 * const and enum, the number keywords (minimum, maximum, exclusive
 * bounds, multipleOf, decided exactly for integers and decimals), the
 * string keywords (lengths in characters, pattern, by the simple matcher
 * or PCRE2), format (when it asserts) and draft-07 content.  The general
 * walk and the fast walk reach it through ev_jv_v_scalar(), after the
 * inline scalar_fast() of jschema_scalar_int.h.  Calls only
 * jschema_vctx.c (errors) and jschema_equal.c (const and enum).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jschema_validate_int.h"

/* ------------------------------------------------------------ numbers */

/* compare the instance number with a schema number: <0, 0, >0 */
static int num_cmp(const struct ev_mp_item *x, const struct jnum *y)
{
	long double a, b;

	if (x->type == EV_MP_INT && y->kind == 0)
		return (x->v.i > y->i) - (x->v.i < y->i);
	if (x->type == EV_MP_UINT && y->kind == 0) {
		if (y->i < 0)
			return 1;
		return (x->v.u > (uint64_t)y->i) - (x->v.u < (uint64_t)y->i);
	}
	a = num_ld(x);
	b = y->kind == 0   ? (long double)y->i
	    : y->kind == 1 ? (long double)y->u
			   : (long double)y->d;
	return (a > b) - (a < b);
}

/* decimal mantissa and exponent of a double's shortest repr */
static int dec_of(double d, uint64_t *m, int *e)
{
	char b[40], *o = ev_fmt_double(b, fabs(d)), *p = b;
	uint64_t mm = 0;
	int ex = 0, nd = 0;

	*o = '\0';
	for (; *p && *p != 'e' && *p != 'E'; p++) {
		if (*p == '.') {
			for (p++; *p >= '0' && *p <= '9'; p++) {
				if (nd < 19) {
					mm = mm * 10 + (uint64_t)(*p - '0');
					ex--;
					nd++;
				}
			}
			break;
		}
		if (*p >= '0' && *p <= '9') {
			if (nd < 19) {
				mm = mm * 10 + (uint64_t)(*p - '0');
				nd += mm != 0;
			} else {
				ex++;
			}
		}
	}
	if (*p == 'e' || *p == 'E')
		ex += atoi(p + 1);
	while (mm != 0 && mm % 10 == 0) {
		mm /= 10;
		ex++;
	}
	*m = mm;
	*e = ex;
	return 0;
}

static int is_multiple(const struct ev_mp_item *x, const struct jnum *y)
{
	uint64_t mx, md;
	int ex, ed;

	if (y->kind == 0 && (x->type == EV_MP_INT || x->type == EV_MP_UINT)) {
		uint64_t ax = x->type == EV_MP_UINT ? x->v.u
			      : x->v.i < 0	    ? 0 - (uint64_t)x->v.i
						    : (uint64_t)x->v.i;

		return ax % (uint64_t)y->i == 0;
	}
	if (x->type == EV_MP_UINT) {
		mx = x->v.u;
		ex = 0;
	} else if (x->type == EV_MP_INT) {
		mx = x->v.i < 0 ? 0 - (uint64_t)x->v.i : (uint64_t)x->v.i;
		ex = 0;
	} else {
		if (!isfinite(x->v.f))
			return 0;
		dec_of(x->v.f, &mx, &ex);
	}
	if (y->kind == 0) {
		md = (uint64_t)y->i;
		ed = 0;
	} else if (y->kind == 1) {
		md = y->u;
		ed = 0;
	} else {
		dec_of(y->d, &md, &ed);
	}
	if (mx == 0)
		return 1;
	if (md == 0)
		return 0;
	while (mx % 10 == 0) {
		mx /= 10;
		ex++;
	}
	while (md % 10 == 0) {
		md /= 10;
		ed++;
	}
	if (ed <= ex) {
		unsigned __int128 r = mx % md;
		int k;

		for (k = 0; k < ex - ed && r != 0; k++)
			r = (r * 10) % md;
		if (r != 0 && ex - ed > 4000)
			return 0;
		return r == 0;
	} else {
		unsigned __int128 D = md;
		int k;

		if (ed - ex > 20)
			return 0;
		for (k = 0; k < ed - ex; k++)
			D *= 10;
		return (unsigned __int128)mx % D == 0;
	}
}

static int enum_has(const struct jenum *e, const uint8_t *p, const uint8_t *end,
		    const struct ev_mp_item *it)
{
	const uint8_t *pe = p;
	uint32_t i;

	if (e->all_str && e->tab == NULL) {
		if (it->type != EV_MP_STR)
			return 0;
		for (i = 0; i < e->nv; i++)
			if (e->sl[i] == it->n &&
			    key_eq((const char *)e->sp[i], it->p, it->n))
				return 1;
		return 0;
	}
	if (ev_mp_skip_fast(&pe, end) != 0)
		return 0;
	if (e->tab != NULL) {
		uint32_t h = (uint32_t)js_mp_hash(p, pe, 0) & e->tabmask;

		while (e->tab[h]) {
			i = e->tab[h] - 1;
			if (js_mp_equal(p, pe, e->v[i], e->v[i] + e->vn[i], 0))
				return 1;
			h = (h + 1) & e->tabmask;
		}
		return 0;
	}
	for (i = 0; i < e->nv; i++)
		if (js_mp_equal(p, pe, e->v[i], e->v[i] + e->vn[i], 0))
			return 1;
	return 0;
}

/* ------------------------------------------------------ simple patterns */

/* the patterns js_sre_compile() (jschema_compile.c) took, matched without
 * PCRE2 by sre_match_in() (jschema_validate_int.h) */
int ev_jv_sre_match(const struct jsre *r, const uint8_t *s, size_t n)
{
	return sre_match_in(r, s, n);
}

/* 1 when s has at least min characters: counts only as far as it must */
int ev_jv_utf8_at_least(const uint8_t *s, size_t n, int64_t min)
{
	size_t k = 0, i;

	if (min <= 0)
		return 1;
	if ((uint64_t)min > n)
		return 0;
	for (i = 0; i < n; i++)
		if ((s[i] & 0xC0) != 0x80 && (int64_t)++k >= min)
			return 1;
	return 0;
}

/* draft-07 contentEncoding base64 / contentMediaType application/json */
static int content_ok(const struct jnode *n, const char *s, size_t len)
{
	struct ev_buf dec = {0}, mp = {0};
	struct ev_json js;
	int ok = 1;

	if (n->content_b64) {
		if (ev_base64_decode(s, len, &dec) != 0)
			ok = 0;
		s = dec.p ? (const char *)dec.p : "";
		len = dec.len;
	}
	if (ok && n->content_json) {
		ev_json_init(&js, s, len);
		ok = ev_json_value(&js, &mp) == 0 && ev_json_ws(&js) == -1;
	}
	ev_buf_free(&dec);
	ev_buf_free(&mp);
	return ok;
}

int ev_jv_v_scalar(struct vctx *c, const struct jnode *n, const uint8_t *p,
		   const struct ev_mp_item *pit)
{
	struct ev_mp_item it = *pit;
	int ok = 1;

	if (n->const_v != NULL &&
	    !js_mp_equal(p, c->end, n->const_v, n->const_v + n->const_n, 0)) {
		if (c->collect)
			ev_jv_err_add(c, n, "const", "const",
				      "must be equal to constant");
		FAIL();
	}
	if (n->enm != NULL && !enum_has(n->enm, p, c->end, &it)) {
		if (c->collect)
			ev_jv_err_add(
				c, n, "enum", "enum",
				"must be equal to one of the allowed values");
		FAIL();
	}
	switch (it.type) {
	case EV_MP_UINT:
	case EV_MP_INT:
	case EV_MP_FLOAT:
		if (n->num != NULL) {
			const struct jnumk *k = n->num;

			if (k->min && num_cmp(&it, k->min) < 0) {
				if (c->collect)
					ev_jv_err_add(c, n, "minimum",
						      "minimum",
						      "must be >= %s",
						      k->min->text);
				FAIL();
			}
			if (k->max && num_cmp(&it, k->max) > 0) {
				if (c->collect)
					ev_jv_err_add(c, n, "maximum",
						      "maximum",
						      "must be <= %s",
						      k->max->text);
				FAIL();
			}
			if (k->exmin && num_cmp(&it, k->exmin) <= 0) {
				if (c->collect)
					ev_jv_err_add(c, n, "exclusiveMinimum",
						      "exclusiveMinimum",
						      "must be > %s",
						      k->exmin->text);
				FAIL();
			}
			if (k->exmax && num_cmp(&it, k->exmax) >= 0) {
				if (c->collect)
					ev_jv_err_add(c, n, "exclusiveMaximum",
						      "exclusiveMaximum",
						      "must be < %s",
						      k->exmax->text);
				FAIL();
			}
			if (k->mult && !is_multiple(&it, k->mult)) {
				if (c->collect)
					ev_jv_err_add(c, n, "multipleOf",
						      "multipleOf",
						      "must be multiple of %s",
						      k->mult->text);
				FAIL();
			}
		}
		break;
	case EV_MP_STR:
		if (n->str != NULL) {
			const struct jstr *s = n->str;

			/* a character is one to four bytes */
			if (s->minl > 0 ||
			    (s->maxl >= 0 && (uint64_t)s->maxl < it.n)) {
				if (s->minl > 0 &&
				    !ev_jv_utf8_at_least(it.p, it.n, s->minl)) {
					if (c->collect)
						ev_jv_err_add(
							c, n, "minLength",
							"minLength",
							"must NOT have fewer "
							"than %lld characters",
							(long long)s->minl);
					FAIL();
				}
				if (s->maxl >= 0 && (uint64_t)s->maxl < it.n &&
				    (int64_t)utf8_len(it.p, it.n) > s->maxl) {
					if (c->collect)
						ev_jv_err_add(
							c, n, "maxLength",
							"maxLength",
							"must NOT have more "
							"than %lld characters",
							(long long)s->maxl);
					FAIL();
				}
			}
			if (s->re != NULL) {
				int m = s->sre != NULL
						? ev_jv_sre_match(s->sre, it.p,
								  it.n)
						: ev_ecmare_search(
							  s->re,
							  (const char *)it.p,
							  it.n);

				if (m < 0)
					return ev_jv_re_limit(c, n, "pattern",
							      "pattern",
							      s->pattern,
							      s->patlen);
				if (m == 0) {
					if (c->collect)
						ev_jv_err_add(
							c, n, "pattern",
							"pattern",
							"must match pattern "
							"\"%s\"",
							s->pattern);
					FAIL();
				}
			}
		}
		if ((n->content_b64 || n->content_json) &&
		    !content_ok(n, (const char *)it.p, it.n)) {
			if (c->collect)
				ev_jv_err_add(c, n,
					      n->content_json
						      ? "contentMediaType"
						      : "contentEncoding",
					      n->content_json
						      ? "contentMediaType"
						      : "contentEncoding",
					      "must be %s",
					      n->content_json ? "JSON text"
							      : "base64");
			FAIL();
		}
		if (n->format != NULL && n->format_assert &&
		    ev_jsformat_check(n->format, (const char *)it.p, it.n) ==
			    0) {
			if (c->collect)
				ev_jv_err_add(c, n, "format", "format",
					      "must match format \"%s\"",
					      n->format);
			FAIL();
		}
		break;
	default:
		break;
	}
out:
	return ok;
}
