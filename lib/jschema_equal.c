/*
 * jschema_equal.c - JSON equality and hashes of msgpack values, as JSON
 * Schema compares them (numbers by value whatever their encoding, maps
 * whatever the order of their keys): for const, enum and uniqueItems,
 * and for the compiler's enum tables (js_mp_equal, js_mp_hash), with
 * uniqueItems over long arrays by sorted hashes.  Calls nothing of the
 * other files of the validator.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jschema_validate_int.h"

static int num_is(const struct ev_mp_item *it)
{
	return it->type == EV_MP_UINT || it->type == EV_MP_INT ||
	       it->type == EV_MP_FLOAT;
}

static int num_eq(const struct ev_mp_item *a, const struct ev_mp_item *b)
{
	if (a->type == EV_MP_UINT && b->type == EV_MP_UINT)
		return a->v.u == b->v.u;
	if (a->type == EV_MP_INT && b->type == EV_MP_INT)
		return a->v.i == b->v.i;
	return num_ld(a) == num_ld(b);
}

static int mp_eq(const uint8_t **pa, const uint8_t **pb, const uint8_t *ae,
		 const uint8_t *be, int depth)
{
	struct ev_mp_item a, b;
	uint32_t i, j;

	if (depth > JS_MAX_SCHEMA_DEPTH || ev_mp_read(pa, ae, &a) != 0 ||
	    ev_mp_read(pb, be, &b) != 0)
		return -1;
	if (num_is(&a) && num_is(&b))
		return num_eq(&a, &b);
	if (a.type != b.type)
		goto differ;
	switch (a.type) {
	case EV_MP_NIL:
		return 1;
	case EV_MP_BOOL:
		return a.v.b == b.v.b;
	case EV_MP_STR:
	case EV_MP_BIN:
		return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
	case EV_MP_ARRAY:
		if (a.n != b.n)
			goto differ;
		for (i = 0; i < a.n; i++) {
			int r = mp_eq(pa, pb, ae, be, depth + 1);

			if (r != 1) {
				if (r < 0)
					return r;
				/* consume the rest */
				for (j = i + 1; j < a.n; j++)
					if (ev_mp_skip(pa, ae, JS_SKIP_DEPTH) !=
						    0 ||
					    ev_mp_skip(pb, be, JS_SKIP_DEPTH) !=
						    0)
						return -1;
				return 0;
			}
		}
		return 1;
	case EV_MP_MAP: {
		const uint8_t *bstart = *pb;
		int all = 1;

		if (a.n != b.n)
			goto differ;
		for (i = 0; i < a.n; i++) {
			struct ev_mp_item ka, kb;
			const uint8_t *bp = bstart;
			int found = 0;

			if (ev_mp_read(pa, ae, &ka) != 0)
				return -1;
			for (j = 0; j < b.n; j++) {
				if (ev_mp_read(&bp, be, &kb) != 0)
					return -1;
				if (kb.type == ka.type && kb.n == ka.n &&
				    memcmp(kb.p, ka.p, ka.n) == 0) {
					const uint8_t *va = *pa;
					int r = mp_eq(&va, &bp, ae, be,
						      depth + 1);

					if (r < 0)
						return r;
					found = r;
					break;
				}
				if (ev_mp_skip(&bp, be, JS_SKIP_DEPTH) != 0)
					return -1;
			}
			if (ev_mp_skip(pa, ae, JS_SKIP_DEPTH) != 0)
				return -1;
			if (!found)
				all = 0;
		}
		*pb = bstart;
		for (j = 0; j < 2 * b.n; j++)
			if (ev_mp_skip(pb, be, JS_SKIP_DEPTH) != 0)
				return -1;
		return all;
	}
	default:
		goto differ;
	}
differ:
	/* consume both */
	{
		uint64_t k, cnt;

		cnt = a.type == EV_MP_MAP     ? 2ull * a.n
		      : a.type == EV_MP_ARRAY ? a.n
					      : 0;
		for (k = 0; k < cnt; k++)
			if (ev_mp_skip(pa, ae, JS_SKIP_DEPTH) != 0)
				return -1;
		cnt = b.type == EV_MP_MAP     ? 2ull * b.n
		      : b.type == EV_MP_ARRAY ? b.n
					      : 0;
		for (k = 0; k < cnt; k++)
			if (ev_mp_skip(pb, be, JS_SKIP_DEPTH) != 0)
				return -1;
	}
	return 0;
}

int js_mp_equal(const uint8_t *a, const uint8_t *ae, const uint8_t *b,
		const uint8_t *be, int depth)
{
	return mp_eq(&a, &b, ae, be, depth) == 1;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_at(const uint8_t **p, const uint8_t *end, int depth)
{
	struct ev_mp_item it;
	uint64_t h = 0;
	uint32_t i;

	if (depth > JS_MAX_SCHEMA_DEPTH || ev_mp_read(p, end, &it) != 0)
		return 0;
	switch (it.type) {
	case EV_MP_NIL:
		return 0x11;
	case EV_MP_BOOL:
		return 0x22 + (uint64_t)it.v.b;
	case EV_MP_UINT:
		return mix(it.v.u);
	case EV_MP_INT:
		return mix((uint64_t)it.v.i);
	case EV_MP_FLOAT: {
		double f = it.v.f;

		if (f == floor(f) && f >= -9223372036854775808.0 &&
		    f < 18446744073709551616.0)
			return f < 0 ? mix((uint64_t)(int64_t)f)
				     : mix((uint64_t)f);
		memcpy(&h, &f, sizeof(h));
		return mix(h ^ 0x5555);
	}
	case EV_MP_STR:
	case EV_MP_BIN:
		h = 1469598103934665603ull;
		for (i = 0; i < it.n; i++)
			h = (h ^ it.p[i]) * 1099511628211ull;
		return mix(h);
	case EV_MP_ARRAY:
		h = 0x77;
		for (i = 0; i < it.n; i++)
			h = mix(h * 31 + hash_at(p, end, depth + 1));
		return h;
	case EV_MP_MAP:
		h = 0x99;
		for (i = 0; i < it.n; i++) {
			uint64_t hk = hash_at(p, end, depth + 1);
			uint64_t hv = hash_at(p, end, depth + 1);

			h += mix(hk ^ (hv * 0x9e3779b97f4a7c15ull));
		}
		return h;
	default:
		return 0;
	}
}

uint64_t js_mp_hash(const uint8_t *p, const uint8_t *end, int depth)
{
	return hash_at(&p, end, depth);
}

struct uitem {
	uint64_t h;
	const uint8_t *p, *e;
	uint32_t i;
};

static int uitem_cmp(const void *a, const void *b)
{
	const struct uitem *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* uniqueItems for long arrays: sort by hash, compare equal hashes.  1
 * unique, 0 not (*first < *second the duplicates), <0 error */
int ev_jv_unique_hashed(const uint8_t *q, const uint8_t *end, uint32_t n,
			uint32_t *first, uint32_t *second)
{
	struct uitem *v = malloc(n * sizeof(*v));
	uint32_t i, j;
	int r = 1;

	if (v == NULL)
		return EV_ERR;
	for (i = 0; i < n; i++) {
		v[i].p = q;
		if (ev_mp_skip_fast(&q, end) != 0) {
			free(v);
			return EV_EDATA;
		}
		v[i].e = q;
		v[i].i = i;
		v[i].h = js_mp_hash(v[i].p, v[i].e, 0);
	}
	qsort(v, n, sizeof(*v), uitem_cmp);
	*first = n;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n && v[j].h == v[i].h; j++)
			if (js_mp_equal(v[i].p, v[i].e, v[j].p, v[j].e, 0)) {
				uint32_t a = v[i].i < v[j].i ? v[i].i : v[j].i;
				uint32_t b = v[i].i < v[j].i ? v[j].i : v[i].i;

				if (r == 1 || b < *second ||
				    (b == *second && a < *first)) {
					*first = a;
					*second = b;
				}
				r = 0;
			}
	free(v);
	return r;
}
