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

/* The value the path of n names in ev (not time). */
static void lookup(const struct ex_node *n, const struct ev_event *ev,
		   struct found *f)
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
		if (n->rest != NULL &&
		    ev_mp_path(base, blen, n->rest, &v, &vn) != 1)
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
	lookup(n, ev, &f);
	return test_found(e, n, &f);
}

int ev_expr_match(struct ev_expr *e, const struct ev_event *ev)
{
	return eval(e, e->root, ev);
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
