/*
 * upcast_val.c - what the two paths of upcasting (upcast_run.c and
 * upcast_tree.c, the general one, and upcast_plan.c, the plans) share
 * below them: the arena of one apply, the tables the chains are found
 * in, failures, and the operations that change one value (map, scale,
 * tonumber, tostring), on its bytes.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upcast_int.h"

/* a value an operation changes: its bytes, unless kind says it is an
 * object or an array opened in a tree ("an object", "an array") */
struct uval {
	const uint8_t *p;
	size_t n;
	const char *kind;
};

/* ------------------------------------------------------------ arena */

int ev_upcast_push_end(struct ev_upcaster *u, uint8_t *o, size_t start)
{
	if ((size_t)(o - u->out.p) - start > EV_MAX_RECORD)
		return 1;
	u->out.len = (size_t)(o - u->out.p);
	if (u->nrec == u->ends_cap) {
		size_t cap = u->ends_cap ? 2 * u->ends_cap : 16;
		size_t *ne = realloc(u->ends, cap * sizeof(*ne));
		if (ne == NULL)
			return -1;
		u->ends = ne;
		u->ends_cap = cap;
	}
	u->ends[u->nrec++] = u->out.len;
	return 0;
}

void *ev_upcast_dup(struct ev_upcaster *u, const void *p, size_t n)
{
	void *d = ev_upcast_alloc(u, n ? n : 1);

	if (d != NULL && n)
		memcpy(d, p, n);
	return d;
}

/* ------------------------------------------------------------ lookups */

struct chain **ev_upcast_chain_slot(struct chain **tab, size_t cap,
				    const char *type, size_t n)
{
	size_t i = ev_hash64(type, n) & (cap - 1);

	while (tab[i] != NULL &&
	       (tab[i]->type_n != n || memcmp(tab[i]->type, type, n) != 0))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/* A hash of a few of a type's bytes: the table the chains are looked
 * up in per record (ev_hash64() of a whole type costs more). */
static size_t qhash(const char *t, size_t n)
{
	uint32_t h;

	if (n == 0)
		return 0;
	h = (uint32_t)n * 0x9e3779b1u ^
	    (uint32_t)(unsigned char)t[0] * 0x85ebca6bu ^
	    (uint32_t)(unsigned char)t[n - 1] * 0xc2b2ae35u ^
	    (uint32_t)(unsigned char)t[n / 2] * 0x27d4eb2fu;
	return h ^ h >> 15;
}

/* The table of qhash(), once the set is loaded: 0 or -1 out of memory */
int ev_upcast_make_qtab(struct ev_upcaster *u)
{
	size_t cap = 16, i, j;

	while (cap < 4 * u->nchains)
		cap *= 2;
	if ((u->qtab = calloc(cap, sizeof(*u->qtab))) == NULL)
		return -1;
	u->qmask = cap - 1;
	for (i = 0; i < u->nchains; i++) {
		struct chain *c = u->chains[i];
		j = qhash(c->type, c->type_n) & u->qmask;
		while (u->qtab[j] != NULL)
			j = (j + 1) & u->qmask;
		u->qtab[j] = c;
	}
	return 0;
}

struct chain *ev_upcast_find_chain(const struct ev_upcaster *u,
				   const char *type, size_t n)
{
	size_t i;

	if (u->qtab != NULL) {
		for (i = qhash(type, n) & u->qmask; u->qtab[i] != NULL;
		     i = (i + 1) & u->qmask) {
			const struct chain *c = u->qtab[i];
			if (c->type_n != n)
				continue;
			if (memcmp(c->type, type, n) == 0)
				return u->qtab[i];
		}
		return NULL;
	}
	if (u->tab_cap == 0)
		return NULL;
	return *ev_upcast_chain_slot(u->tab, u->tab_cap, type, n);
}

/* ------------------------------------------------------------ failures */

int ev_upcast_fail(struct ev_upcaster *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->why, sizeof(u->why), fmt, ap);
	va_end(ap);
	return EV_EDATA;
}

int ev_upcast_oom(struct ev_upcaster *u)
{
	snprintf(u->why, sizeof(u->why), "out of memory");
	return EV_ERR;
}

const char *ev_upcast_kind(const uint8_t *p, size_t n)
{
	struct ev_mp_item it;
	const uint8_t *end = p + n;

	if (p == NULL || ev_mp_read(&p, end, &it) != 0)
		return "malformed";
	switch (it.type) {
	case EV_MP_NIL:
		return "null";
	case EV_MP_BOOL:
		return "a boolean";
	case EV_MP_UINT:
	case EV_MP_INT:
	case EV_MP_FLOAT:
		return "a number";
	case EV_MP_STR:
		return "a string";
	case EV_MP_ARRAY:
		return "an array";
	case EV_MP_MAP:
		return "an object";
	default:
		return "binary";
	}
}

static const char *uval_kind(const struct uval *v)
{
	return v->kind != NULL ? v->kind : ev_upcast_kind(v->p, v->n);
}

/* ------------------------------------------------------------ values */

/* Are the msgpack values a and b the same JSON value?  Numbers by
 * value, containers byte for byte. */
static int same_value(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	const uint8_t *pa = a, *pb = b;
	struct ev_mp_item x, y;
	double dx, dy;

	if (ev_mp_read(&pa, a + an, &x) != 0 ||
	    ev_mp_read(&pb, b + bn, &y) != 0)
		return 0;
	if ((x.type == EV_MP_UINT || x.type == EV_MP_INT ||
	     x.type == EV_MP_FLOAT) &&
	    (y.type == EV_MP_UINT || y.type == EV_MP_INT ||
	     y.type == EV_MP_FLOAT)) {
		if (x.type != EV_MP_FLOAT && y.type != EV_MP_FLOAT) {
			if ((x.type == EV_MP_INT && x.v.i < 0) !=
			    (y.type == EV_MP_INT && y.v.i < 0))
				return 0;
			return x.v.u == y.v.u;
		}
		dx = x.type == EV_MP_FLOAT  ? x.v.f
		     : x.type == EV_MP_UINT ? (double)x.v.u
					    : (double)x.v.i;
		dy = y.type == EV_MP_FLOAT  ? y.v.f
		     : y.type == EV_MP_UINT ? (double)y.v.u
					    : (double)y.v.i;
		return dx == dy;
	}
	return an == bn && memcmp(a, b, an) == 0;
}

static int op_map(const struct op *op, struct uval *v)
{
	size_t i;

	for (i = 0; i < op->nmap; i++) {
		if (same_value(v->p, v->n, op->map[i].from,
			       op->map[i].from_n)) {
			v->p = op->map[i].to;
			v->n = op->map[i].to_n;
			return 0;
		}
	}
	if (op->else_at) {
		v->p = op->val.p + op->else_at;
		v->n = op->val.len - op->else_at;
	}
	return 0;
}

static int put_number(struct ev_upcaster *u, struct uval *v, int is_int,
		      int64_t i, double d)
{
	uint8_t *o = ev_upcast_alloc(u, 9);

	if (o == NULL)
		return ev_upcast_oom(u);
	v->p = o;
	v->n = (size_t)((is_int ? ev_mp_int(o, i) : ev_mp_double(o, d)) - o);
	return 0;
}

static int op_scale(struct ev_upcaster *u, const struct op *op, struct uval *v)
{
	const uint8_t *p = v->p;
	struct ev_mp_item it;
	int64_t i;
	double d;

	if (v->kind != NULL || ev_mp_read(&p, v->p + v->n, &it) != 0 ||
	    (it.type != EV_MP_UINT && it.type != EV_MP_INT &&
	     it.type != EV_MP_FLOAT))
		return ev_upcast_fail(u, "%s is %s, not a number", op->a.text,
				      uval_kind(v));
	if (op->factor_int && it.type != EV_MP_FLOAT &&
	    (it.type == EV_MP_INT || it.v.u <= INT64_MAX)) {
		if (__builtin_mul_overflow(it.v.i, op->ifactor, &i))
			return ev_upcast_fail(u,
					      "%s times %" PRId64
					      " is out of the "
					      "range of integers",
					      op->a.text, op->ifactor);
		return put_number(u, v, 1, i, 0);
	}
	d = it.type == EV_MP_FLOAT  ? it.v.f
	    : it.type == EV_MP_UINT ? (double)it.v.u
				    : (double)it.v.i;
	d *= op->factor;
	if (!isfinite(d))
		return ev_upcast_fail(
			u, "%s times the factor is not a finite number",
			op->a.text);
	if (!op->round)
		return put_number(u, v, 0, 0, d);
	d = round(d);
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
		return ev_upcast_fail(
			u,
			"%s times the factor is out of the range of "
			"integers",
			op->a.text);
	return put_number(u, v, 1, (int64_t)d, 0);
}

static int op_tonumber(struct ev_upcaster *u, const struct op *op,
		       struct uval *v)
{
	const uint8_t *p = v->p;
	struct ev_mp_item it = {.type = EV_MP_NIL};
	struct ev_json js;
	uint8_t c;

	if (v->kind == NULL && ev_mp_read(&p, v->p + v->n, &it) == 0 &&
	    (it.type == EV_MP_UINT || it.type == EV_MP_INT ||
	     it.type == EV_MP_FLOAT))
		return 0;
	if (v->kind != NULL || it.type != EV_MP_STR)
		return ev_upcast_fail(u, "%s is %s, not a string or a number",
				      op->a.text, uval_kind(v));
	if (it.n == 0 ||
	    !(it.p[0] == '-' || (it.p[0] >= '0' && it.p[0] <= '9')))
		goto bad;
	u->tmp.len = 0;
	ev_json_init(&js, (const char *)it.p, it.n);
	if (ev_json_value(&js, &u->tmp) != 0 || js.p != js.end)
		goto bad;
	c = u->tmp.p[0];
	if ((c >= 0x90 && c <= 0xc3) || (c >= 0xd9 && c <= 0xdf) ||
	    (c >= 0x80 && c <= 0x8f))
		goto bad;
	v->p = ev_upcast_dup(u, u->tmp.p, u->tmp.len);
	if (v->p == NULL)
		return ev_upcast_oom(u);
	v->n = u->tmp.len;
	return 0;
bad:
	return ev_upcast_fail(u, "%s is \"%.*s\", not a number", op->a.text,
			      (int)(it.n > 64 ? 64 : it.n), (const char *)it.p);
}

static int op_tostring(struct ev_upcaster *u, const struct op *op,
		       struct uval *v)
{
	const uint8_t *p = v->p;
	struct ev_mp_item it;
	char txt[40], *e;
	uint8_t *o;
	size_t n;

	if (v->kind != NULL || ev_mp_read(&p, v->p + v->n, &it) != 0)
		goto bad;
	switch (it.type) {
	case EV_MP_STR:
		return 0;
	case EV_MP_UINT:
		e = ev_fmt_u64(txt, it.v.u);
		break;
	case EV_MP_INT:
		e = ev_fmt_i64(txt, it.v.i);
		break;
	case EV_MP_FLOAT:
		e = ev_fmt_double(txt, it.v.f);
		break;
	case EV_MP_BOOL:
		e = txt + sprintf(txt, "%s", it.v.b ? "true" : "false");
		break;
	default:
		goto bad;
	}
	n = (size_t)(e - txt);
	o = ev_upcast_alloc(u, n + 1);
	if (o == NULL)
		return ev_upcast_oom(u);
	o[0] = (uint8_t)(0xa0 | n);
	memcpy(o + 1, txt, n);
	v->p = o;
	v->n = n + 1;
	return 0;
bad:
	return ev_upcast_fail(u, "%s is %s, not a number or a boolean",
			      op->a.text, uval_kind(v));
}

int ev_upcast_value_op(struct ev_upcaster *u, const struct op *op,
		       const char *kind, const uint8_t **p, size_t *n)
{
	struct uval v = {*p, *n, kind};
	int r;

	switch (op->kind) {
	case OP_MAP:
		r = op_map(op, &v);
		break;
	case OP_SCALE:
		r = op_scale(u, op, &v);
		break;
	case OP_TONUMBER:
		r = op_tonumber(u, op, &v);
		break;
	case OP_TOSTRING:
		r = op_tostring(u, op, &v);
		break;
	default:
		r = ev_upcast_fail(u, "unknown operation");
		break;
	}
	*p = v.p;
	*n = v.n;
	return r;
}
