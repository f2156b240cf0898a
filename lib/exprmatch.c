/*
 * exprmatch.c - evaluating a compiled struct ev_expr (expr.c) on a
 * decoded event.  Envelope fields are read from the event, data and
 * meta paths straight from the stored msgpack, with no copy.  The rules
 * of comparison are in evtail(1), "Filter expressions".
 */
#include <fnmatch.h>
#include <math.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "expr_int.h"

/* what a path found: an item, and its bytes for arrays */
struct found {
	int present;
	struct ev_mp_item x;
	const uint8_t *start;	/* the whole value, when stored */
	const uint8_t *p, *end; /* after the header: array elements */
};

static int is_num(enum ev_mp_type t)
{
	return t == EV_MP_UINT || t == EV_MP_INT || t == EV_MP_FLOAT;
}

static double as_double(const struct ev_mp_item *x)
{
	return x->type == EV_MP_FLOAT  ? x->v.f
	       : x->type == EV_MP_UINT ? (double)x->v.u
				       : (double)x->v.i;
}

/* x (stored from start to end) against the literal y: -1, 0, 1; 2
 * when not ordered (NaN); 3 unequal and unordered (other kinds,
 * booleans that differ, arrays and maps not stored the same) */
static int compare(const struct ev_mp_item *x, const uint8_t *start,
		   const uint8_t *end, const struct ev_mp_item *y)
{
	if (y->type == EV_MP_ARRAY || y->type == EV_MP_MAP)
		return start != NULL && x->type == y->type &&
				       (size_t)(end - start) == y->n &&
				       memcmp(start, y->p, y->n) == 0
			       ? 0
			       : 3;
	if (is_num(x->type) && is_num(y->type)) {
		if (x->type == EV_MP_UINT && y->type == EV_MP_UINT)
			return x->v.u < y->v.u ? -1 : x->v.u > y->v.u;
		if (x->type != EV_MP_FLOAT && y->type != EV_MP_FLOAT) {
			/* at least one negative int */
			if (x->type == EV_MP_INT && y->type == EV_MP_INT)
				return x->v.i < y->v.i ? -1 : x->v.i > y->v.i;
			return x->type == EV_MP_INT ? -1 : 1;
		}
		double dx = as_double(x), dy = as_double(y);
		if (isnan(dx) || isnan(dy))
			return 2;
		return dx < dy ? -1 : dx > dy;
	}
	if (x->type == EV_MP_STR && y->type == EV_MP_STR) {
		size_t m = x->n < y->n ? x->n : y->n;
		int c = m ? memcmp(x->p, y->p, m) : 0;
		if (c != 0)
			return c < 0 ? -1 : 1;
		return x->n < y->n ? -1 : x->n > y->n;
	}
	if (x->type == EV_MP_NIL && y->type == EV_MP_NIL)
		return 0;
	if (x->type == EV_MP_BOOL && y->type == EV_MP_BOOL)
		return x->v.b == y->v.b ? 0 : 3;
	return 3;
}

static int apply(enum ex_op op, int c)
{
	switch (op) {
	case EXOP_EQ:
		return c == 0;
	case EXOP_NE:
		return c != 0;
	case EXOP_LT:
		return c == -1;
	case EXOP_LE:
		return c == -1 || c == 0;
	case EXOP_GT:
		return c == 1;
	case EXOP_GE:
		return c == 1 || c == 0;
	default:
		return 0;
	}
}

static void str_item(struct ev_mp_item *x, const char *p, size_t n)
{
	x->type = EV_MP_STR;
	x->p = (const uint8_t *)p;
	x->n = (uint32_t)n;
}

static void uint_item(struct ev_mp_item *x, uint64_t u)
{
	x->type = EV_MP_UINT;
	x->v.u = u;
}

/* Read the map at *pp into x, one entry per key, and move *pp past it.
 * A value that is not a map is skipped, and leaves x at -1.  0, or -1
 * when the bytes are not msgpack (or memory is short). */
static int index_map(struct ex_index *x, const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp, *v;
	struct ev_mp_item it, k;
	uint32_t i;

	x->n = 0;
	x->state = -1;
	if (p >= end)
		return -1;
	if (!((*p >= 0x80 && *p <= 0x8f) || *p == 0xde || *p == 0xdf))
		return ev_mp_skip(pp, end, 2);
	if (ev_mp_read(&p, end, &it) != 0 || 2ull * it.n > (uint64_t)(end - p))
		return -1;
	if (it.n > x->cap) {
		struct ex_kv *nkv = realloc(x->kv, it.n * sizeof(*nkv));
		if (nkv == NULL)
			return -1;
		x->kv = nkv;
		x->cap = it.n;
	}
	for (i = 0; i < it.n; i++) {
		if (ev_mp_read(&p, end, &k) != 0 || k.type == EV_MP_ARRAY ||
		    k.type == EV_MP_MAP)
			return -1;
		v = p;
		if (ev_mp_skip(&p, end, 3) != 0)
			return -1;
		x->kv[i].k = k.type == EV_MP_STR ? k.p : NULL;
		x->kv[i].kn = k.n;
		x->kv[i].v = v;
		x->kv[i].vend = p;
	}
	x->n = it.n;
	x->state = 1;
	*pp = p;
	return 0;
}

/* The value of a data or meta path: through the index of the map's
 * entries when there is one, where the last of duplicate keys wins, as
 * in jq and ev_mp_path(). */
static int map_path(struct ev_expr *e, const struct ex_node *n,
		    const uint8_t *base, size_t blen, const uint8_t **v,
		    size_t *vn)
{
	struct ex_index *x = &e->idx[n->field == EXF_DATA ? 0 : 1];
	const uint8_t *p = base;
	size_t i;

	if (x->state == 0 && index_map(x, &p, base + blen) != 0)
		x->state = -1;
	if (x->state != 1)
		return ev_mp_path(base, blen, n->rest, v, vn);
	for (i = x->n; i-- > 0;) {
		const struct ex_kv *kv = &x->kv[i];
		if (kv->k == NULL || kv->kn != n->seg0n ||
		    memcmp(kv->k, n->rest, n->seg0n) != 0)
			continue;
		if (n->rest2 != NULL)
			return ev_mp_path(kv->v, (size_t)(kv->vend - kv->v),
					  n->rest2, v, vn);
		*v = kv->v;
		*vn = (size_t)(kv->vend - kv->v);
		return 1;
	}
	return 0;
}

/* The value the path of n names in ev (not time). */
static void lookup(struct ev_expr *e, const struct ex_node *n,
		   const struct ev_event *ev, struct found *f)
{
	const uint8_t *base, *v, *p;
	const struct ev_str *s = NULL;
	size_t blen, vn;

	f->present = 0;
	f->start = NULL;
	switch (n->field) {
	case EXF_DATA:
	case EXF_META:
		base = n->field == EXF_DATA ? ev->data : ev->meta;
		blen = n->field == EXF_DATA ? ev->data_len : ev->meta_len;
		if (base == NULL)
			return;
		if (n->field == EXF_DATA && ev->data_is_binary) {
			if (n->rest != NULL)
				return;
			f->x.type = EV_MP_BIN;
			f->x.p = base;
			f->x.n = (uint32_t)blen;
			f->present = 1;
			return;
		}
		v = base;
		vn = blen;
		if (n->rest != NULL && map_path(e, n, base, blen, &v, &vn) != 1)
			return;
		p = v;
		if (ev_mp_read(&p, v + vn, &f->x) != 0)
			return;
		f->start = v;
		f->p = p;
		f->end = v + vn;
		f->present = 1;
		return;
	case EXF_OFFSET:
		uint_item(&f->x, ev->offset);
		break;
	case EXF_PARTITION:
		if (!ev->has_partition)
			return;
		uint_item(&f->x, (uint64_t)ev->partition);
		break;
	case EXF_VERSION:
		if (ev->version == 0)
			return;
		uint_item(&f->x, ev->version);
		break;
	case EXF_SCHEMA:
		uint_item(&f->x, ev->schema);
		break;
	case EXF_ID:
		s = &ev->id;
		break;
	case EXF_TYPE:
		s = &ev->type;
		break;
	case EXF_STREAM:
		s = &ev->stream;
		break;
	case EXF_KEY:
		s = &ev->key;
		break;
	case EXF_TIME:
		return;
	}
	if (s != NULL) {
		if (s->p == NULL)
			return;
		str_item(&f->x, s->p, s->n);
	}
	f->present = 1;
}

static int glob_match(struct ev_expr *e, const char *glob,
		      const struct ev_mp_item *x)
{
	e->scratch.len = 0;
	if (ev_buf_append(&e->scratch, x->p, x->n) != 0 ||
	    ev_buf_putc(&e->scratch, '\0') != 0)
		return 0;
	return fnmatch(glob, (const char *)e->scratch.p, 0) == 0;
}

/* contains: a substring of a string, or an element of an array */
static int contains(const struct found *f, const struct ev_mp_item *lit)
{
	const uint8_t *p = f->p, *q;
	struct ev_mp_item y;
	uint32_t i;

	if (f->x.type == EV_MP_STR && lit->type == EV_MP_STR)
		return lit->n == 0 ||
		       memmem(f->x.p, f->x.n, lit->p, lit->n) != NULL;
	if (f->x.type != EV_MP_ARRAY)
		return 0;
	for (i = 0; i < f->x.n; i++) {
		q = p;
		if (ev_mp_read(&q, f->end, &y) != 0)
			return 0;
		q = p;
		if (ev_mp_skip(&p, f->end, 1) != 0)
			return 0;
		if (compare(&y, q, p, lit) == 0)
			return 1;
	}
	return 0;
}

/* A test on what its path found. */
static int test_found(struct ev_expr *e, const struct ex_node *n,
		      struct found *f)
{
	size_t i;

	switch (n->op) {
	case EXOP_EXISTS:
		return f->present;
	case EXOP_IN:
		if (!f->present)
			f->x.type = EV_MP_NIL;
		for (i = 0; i < n->nlits; i++)
			if (compare(&f->x, f->start, f->end, &n->lits[i].v) ==
			    0)
				return 1;
		return 0;
	case EXOP_MATCH:
		return f->present && f->x.type == EV_MP_STR &&
		       pcre2_match(n->re, f->x.p, f->x.n, 0, 0, n->md, NULL) >=
			       0;
	case EXOP_LIKE:
		return f->present && f->x.type == EV_MP_STR &&
		       glob_match(e, n->glob, &f->x);
	case EXOP_CONTAINS:
		return f->present && contains(f, &n->lits[0].v);
	default:
		/* like jq, a missing value is null: != holds, < does not */
		if (!f->present)
			f->x.type = EV_MP_NIL;
		return apply(n->op,
			     compare(&f->x, f->start, f->end, &n->lits[0].v));
	}
}

static int test_time(struct ev_expr *e, const struct ex_node *n, ev_time_t t)
{
	struct found f;
	char text[40];
	size_t i;

	switch (n->op) {
	case EXOP_EXISTS:
		return 1;
	case EXOP_IN:
		for (i = 0; i < n->nlits; i++)
			if (n->lits[i].t == t)
				return 1;
		return 0;
	case EXOP_MATCH:
	case EXOP_LIKE:
	case EXOP_CONTAINS:
		/* on its RFC 3339 text, as evtail prints it */
		memset(&f, 0, sizeof(f));
		f.present = 1;
		str_item(&f.x, text, ev_time_format(t, text));
		return test_found(e, n, &f);
	default:
		return apply(n->op, t < n->lits[0].t ? -1 : t > n->lits[0].t);
	}
}

static int eval(struct ev_expr *e, const struct ex_node *n,
		const struct ev_event *ev)
{
	struct found f;

	switch (n->kind) {
	case EX_AND:
		return eval(e, n->a, ev) && eval(e, n->b, ev);
	case EX_OR:
		return eval(e, n->a, ev) || eval(e, n->b, ev);
	case EX_NOT:
		return !eval(e, n->a, ev);
	case EX_TEST:
		break;
	}
	if (n->field == EXF_TIME)
		return test_time(e, n, ev->time);
	lookup(e, n, ev, &f);
	return test_found(e, n, &f);
}

int ev_expr_match(struct ev_expr *e, const struct ev_event *ev)
{
	e->idx[0].state = e->idx[1].state = 0;
	return eval(e, e->root, ev);
}

/* The envelope of a stored record (evlog(5)) into ev, as
 * ev_event_decode() reads it but without its checks, and the entries of
 * data and meta into e's indexes on the way: one pass.  -1 when the
 * record is not as expected; ev_event_decode() will say why. */
static int peek(struct ev_expr *e, const uint8_t *rec, size_t n,
		struct ev_event *ev)
{
	const uint8_t *p = rec, *end = rec + n, *v;
	struct ev_mp_item m, k, it;
	struct ev_str *s;
	uint32_t i;

	memset(ev, 0, sizeof(*ev));
	ev->time = EV_TIME_NONE;
	ev->schema = 1;
	ev->prev = EV_NO_PREV;
	e->idx[0].state = e->idx[1].state = -1;
	if (ev_mp_read(&p, end, &m) != 0 || m.type != EV_MP_MAP)
		return -1;
	for (i = 0; i < m.n; i++) {
		if (ev_mp_read(&p, end, &k) != 0 || k.type != EV_MP_UINT)
			return -1;
		switch (k.v.u) {
		case EV_K_ID:
		case EV_K_TYPE:
		case EV_K_STREAM:
		case EV_K_KEY:
			s = k.v.u == EV_K_ID	   ? &ev->id
			    : k.v.u == EV_K_TYPE   ? &ev->type
			    : k.v.u == EV_K_STREAM ? &ev->stream
						   : &ev->key;
			if (ev_mp_read(&p, end, &it) != 0 ||
			    it.type != EV_MP_STR)
				return -1;
			s->p = (const char *)it.p;
			s->n = it.n;
			break;
		case EV_K_TIME:
			if (ev_mp_read(&p, end, &it) != 0 ||
			    ev_mp_time_decode(&it, &ev->time) != 0)
				return -1;
			break;
		case EV_K_VERSION:
		case EV_K_SCHEMA:
		case EV_K_PREV:
			if (ev_mp_read(&p, end, &it) != 0 ||
			    it.type != EV_MP_UINT)
				return -1;
			if (k.v.u == EV_K_VERSION)
				ev->version = it.v.u;
			else if (k.v.u == EV_K_SCHEMA)
				ev->schema = it.v.u;
			else
				ev->prev = it.v.u;
			break;
		case EV_K_DATA:
		case EV_K_META:
			v = p;
			if (k.v.u == EV_K_DATA && p < end &&
			    (*p == 0xc4 || *p == 0xc5 || *p == 0xc6)) {
				if (ev_mp_read(&p, end, &it) != 0)
					return -1;
				ev->data = it.p;
				ev->data_len = it.n;
				ev->data_is_binary = 1;
				break;
			}
			if (index_map(&e->idx[k.v.u == EV_K_DATA ? 0 : 1], &p,
				      end) != 0)
				return -1;
			if (k.v.u == EV_K_DATA) {
				ev->data = v;
				ev->data_len = (size_t)(p - v);
			} else {
				ev->meta = v;
				ev->meta_len = (size_t)(p - v);
			}
			break;
		default:
			return -1;
		}
	}
	if (ev->type.p == NULL || ev->id.p == NULL || ev->time == EV_TIME_NONE)
		return -1;
	return 0;
}

int ev_expr_match_record(struct ev_expr *e, const uint8_t *rec, size_t n)
{
	struct ev_event ev;

	if (e->has_offset || peek(e, rec, n, &ev) != 0)
		return -1;
	return eval(e, e->root, &ev);
}

static int precheck(struct ev_expr *e, const struct ex_node *n,
		    const struct ev_str *type)
{
	struct found f;

	if (n->kind == EX_AND)
		return precheck(e, n->a, type) && precheck(e, n->b, type);
	if (n->kind != EX_TEST || n->field != EXF_TYPE)
		return 1;
	memset(&f, 0, sizeof(f));
	f.present = 1;
	str_item(&f.x, type->p, type->n);
	return test_found(e, n, &f);
}

int ev_expr_precheck(struct ev_expr *e, const struct ev_str *type)
{
	return !e->has_type || precheck(e, e->root, type);
}
