/*
 * schemacompat_view.c - what the walk compares, and how it records what
 * it finds: a view (a schema node with its local $ref targets and allOf
 * branches, one conjunction), the types a node or value has, what a
 * writer's view allows (struct wsum: its types, the values of a finite
 * writer), whether three views can share no instance (a reader's oneOf
 * needs exactly one branch), and ev_sc_issue(), which adds an issue to
 * struct ev_compat.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schemacompat_int.h"

/* ----------------------------------------------------------- the issues */

const char *ev_sc_side(const struct cmp *cx, int reader)
{
	return (reader ? cx->reader_is_new : !cx->reader_is_new) ? "new"
								 : "old";
}

void ev_sc_issue(struct cmp *cx, const char *rule_b, const char *rule_f,
		 int warning, const struct jv *at, const char *kw,
		 const char *fmt, ...)
{
	struct ev_compat *c = cx->res;
	struct ev_compat_issue *is;
	const char *rule = cx->reader_is_new ? rule_b : rule_f;
	int dir = cx->reader_is_new ? EV_COMPAT_BACKWARD : EV_COMPAT_FORWARD;
	char *path = NULL, *msg = NULL;
	size_t i;
	va_list ap;

	if (cx->silent) {
		if (!warning)
			cx->silent_fail++;
		else
			cx->silent_warn++;
		return;
	}
	if (at == NULL)
		return;
	if (kw != NULL) {
		if (asprintf(&path, "%s/%s", at->path, kw) < 0)
			path = NULL;
	} else {
		path = strdup(at->path);
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (path == NULL || msg == NULL)
		goto oom;
	for (i = 0; i < c->n; i++) {
		is = &c->v[i];
		if (is->direction == dir && is->in_new == at->doc->is_new &&
		    strcmp(is->rule, rule) == 0 &&
		    strcmp(is->path, path) == 0 &&
		    strcmp(is->message, msg) == 0) {
			free(path);
			free(msg);
			return;
		}
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct ev_compat_issue *v = realloc(c->v, cap * sizeof(*v));

		if (v == NULL)
			goto oom;
		c->v = v;
		c->cap = cap;
	}
	is = &c->v[c->n++];
	is->rule = rule;
	is->direction = dir;
	is->warning = warning;
	is->in_new = at->doc->is_new;
	is->path = path;
	is->message = msg;
	if (!warning)
		c->failures++;
	return;
oom:
	free(path);
	free(msg);
	c->oom = 1;
}

/* ---------------------------------------------------------------- views */

void ev_sc_view_add(struct view *vw, const struct jv *s, int depth)
{
	const struct jv *r, *all;
	size_t i;

	if (depth > 2 * EV_MAX_DEPTH) {
		vw->overflow = 1;
		return;
	}
	if (s->t == J_BOOL) {
		if (!s->v.b)
			vw->is_false = 1;
		return;
	}
	if (s->t != J_OBJ)
		return; /* not a schema: the validator rejects it */
	for (i = 0; i < vw->len; i++)
		if (vw->n[i] == s)
			return; /* a $ref cycle, or the same node twice */
	r = ev_sc_get(s, "$ref");
	if (r != NULL && r->t == J_STR) {
		const struct jv *t = ev_sc_resolve_local(s, r->s);

		if (t != NULL) {
			if (!s->doc->draft7) {
				if (vw->len == VIEW_MAX) {
					vw->overflow = 1;
					return;
				}
				vw->split[vw->len] = 0;
				vw->n[vw->len++] = s;
			}
			ev_sc_view_add(vw, t, depth + 1);
			if (s->doc->draft7)
				return;
			goto allof;
		}
	}
	if (vw->len == VIEW_MAX) {
		vw->overflow = 1;
		return;
	}
	vw->split[vw->len] = 0;
	vw->n[vw->len++] = s;
allof:
	all = ev_sc_get(s, "allOf");
	if (all != NULL && all->t == J_ARR)
		for (i = 0; i < all->n; i++)
			ev_sc_view_add(vw, &all->a[i], depth + 1);
}

void ev_sc_view_reset(struct view *vw)
{
	vw->len = 0;
	vw->is_false = 0;
	vw->overflow = 0;
	vw->tmask = 127; /* T_ALL */
}

void ev_sc_view_of(struct view *vw, const struct jv *s)
{
	ev_sc_view_reset(vw);
	ev_sc_view_add(vw, s, 0);
}

int ev_sc_view_same(const struct view *a, const struct view *b)
{
	size_t i;

	if (a->len != b->len || a->is_false != b->is_false ||
	    a->tmask != b->tmask)
		return 0;
	for (i = 0; i < a->len; i++)
		if (a->n[i] != b->n[i] || a->split[i] != b->split[i])
			return 0;
	return 1;
}

/* ---------------------------------------------------------------- types */

static int type_bit(const char *s)
{
	static const struct {
		const char *name;
		int bit;
	} t[] = {
		{"null", T_NULL},  {"boolean", T_BOOL}, {"object", T_OBJ},
		{"array", T_ARR},  {"string", T_STR},	{"integer", T_INT},
		{"number", T_NUM},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0)
			return t[i].bit;
	return 0;
}

/* the types a node's "type" allows (T_ALL when it has none) */
int ev_sc_node_types(const struct jv *n)
{
	const struct jv *t = ev_sc_get(n, "type");
	int m = 0;
	uint32_t i;

	if (t == NULL)
		return T_ALL;
	if (t->t == J_STR)
		return type_bit(t->s);
	if (t->t != J_ARR)
		return T_ALL;
	for (i = 0; i < t->n; i++)
		if (t->a[i].t == J_STR)
			m |= type_bit(t->a[i].s);
	return m;
}

int ev_sc_value_type(const struct jv *v)
{
	switch (v->t) {
	case J_NULL:
		return T_NULL;
	case J_BOOL:
		return T_BOOL;
	case J_OBJ:
		return T_OBJ;
	case J_ARR:
		return T_ARR;
	case J_STR:
		return T_STR;
	default:
		return ev_sc_is_integral(v) ? T_INT : T_FRAC;
	}
}

void ev_sc_types_name(int m, char *out, size_t n)
{
	static const struct {
		int bit;
		const char *name;
	} t[] = {
		{T_NULL, "null"},   {T_BOOL, "boolean"},
		{T_OBJ, "object"},  {T_ARR, "array"},
		{T_STR, "string"},  {T_NUM, "number"},
		{T_INT, "integer"}, {T_FRAC, "non-integer numbers"},
	};
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if ((m & t[i].bit) != t[i].bit)
			continue;
		m &= ~t[i].bit;
		len += (size_t)snprintf(out + len, len < n ? n - len : 0,
					"%s%s", len ? ", " : "", t[i].name);
		if (len >= n)
			return;
	}
}

/* ------------------------------------------------------ the writer side */

static int in_enum(const struct jv *n, const struct jv *v)
{
	const struct jv *e = ev_sc_get(n, "enum"), *c = ev_sc_get(n, "const");
	uint32_t i;

	if (c != NULL && !ev_sc_jv_equal(c, v, 0))
		return 0;
	if (e != NULL && e->t == J_ARR) {
		for (i = 0; i < e->n; i++)
			if (ev_sc_jv_equal(&e->a[i], v, 0))
				return 1;
		return 0;
	}
	return 1;
}

void ev_sc_summarize(const struct view *w, struct wsum *s)
{
	const struct jv *src = NULL, *c, *e;
	struct vset sets[VIEW_MAX];
	size_t i, j, nc;

	s->types = w->tmask;
	s->finite = 0;
	s->huge = 0;
	s->nvals = 0;
	s->vals = NULL;
	for (i = 0; i < w->len; i++) {
		s->types &= ev_sc_node_types(w->n[i]);
		if (src == NULL && (ev_sc_get(w->n[i], "const") != NULL ||
				    (ev_sc_get(w->n[i], "enum") != NULL &&
				     ev_sc_get(w->n[i], "enum")->t == J_ARR)))
			src = w->n[i];
	}
	if (src == NULL)
		return;
	c = ev_sc_get(src, "const");
	e = ev_sc_get(src, "enum");
	nc = c != NULL ? 1 : e->n;
	if (nc > FINITE_MAX) {
		s->huge = 1; /* not treated as finite: too-complex */
		return;
	}
	s->vals = malloc((nc + 1) * sizeof(*s->vals));
	if (s->vals == NULL)
		return;
	s->finite = 1;
	/* the other nodes' large enums as sets: n values, not n * m */
	for (i = 0; i < w->len; i++) {
		const struct jv *oe = ev_sc_get(w->n[i], "enum");

		sets[i].slot = NULL;
		sets[i].hash = NULL;
		if (oe != NULL && oe->t == J_ARR && oe->n >= SET_MIN &&
		    nc >= SET_MIN && (w->n[i] != src || c != NULL))
			ev_sc_vset_build(&sets[i],
					 oe); /* else: compared one by one */
	}
	for (j = 0; j < nc; j++) {
		const struct jv *v = c != NULL ? c : &e->a[j];
		int ok = (ev_sc_value_type(v) & s->types) != 0;

		for (i = 0; ok && i < w->len; i++) {
			const struct jv *oc;

			if (w->n[i] == src && c == NULL)
				continue; /* v is one of its own values */
			if (sets[i].slot == NULL) {
				ok = in_enum(w->n[i], v);
				continue;
			}
			oc = ev_sc_get(w->n[i], "const");
			ok = (oc == NULL || ev_sc_jv_equal(oc, v, 0)) &&
			     ev_sc_vset_has(&sets[i], v);
		}
		if (ok)
			s->vals[s->nvals++] = v;
	}
	for (i = 0; i < w->len; i++)
		ev_sc_vset_free(&sets[i]);
	s->types = 0;
	for (j = 0; j < s->nvals; j++)
		s->types |= ev_sc_value_type(s->vals[j]);
}

/* ------------------------------------------------------------ oneOf */

#define DISJOINT_DEPTH 8     /* nested properties looked into */
#define DISJOINT_VALS 10000  /* finite values tried one by one */
#define DISJOINT_BUDGET 4096 /* comparisons per oneOf branch */

/* the types a conjunction allows */
static int view_types(const struct view *v)
{
	int t = v->tmask;
	size_t i;

	if (v->is_false)
		return 0;
	for (i = 0; i < v->len; i++)
		t &= ev_sc_node_types(v->n[i]);
	return t;
}

/* Is v rejected by every instance-level reading of the conjunction: by its
 * type, const or enum? */
static int view_rejects(const struct view *r, const struct jv *v)
{
	size_t i;

	if ((ev_sc_value_type(v) & view_types(r)) == 0)
		return 1;
	for (i = 0; i < r->len; i++) {
		const struct jv *e = ev_sc_get(r->n[i], "enum");

		if (e != NULL && e->t == J_ARR && e->n > DISJOINT_VALS)
			continue; /* not looked at: may accept */
		if (!in_enum(r->n[i], v))
			return 1;
	}
	return 0;
}

/* a finite conjunction whose every value another rejects */
static int finite_outside(const struct view *a, const struct view *b)
{
	struct wsum ws;
	size_t k;
	int out;

	ev_sc_summarize(a, &ws);
	out = ws.finite && ws.nvals <= DISJOINT_VALS;
	for (k = 0; out && k < ws.nvals; k++)
		out = view_rejects(b, ws.vals[k]);
	free(ws.vals);
	return out;
}

static void prop_view(const struct view *v, const char *k, size_t kn,
		      struct view *out)
{
	size_t i;

	ev_sc_view_reset(out);
	for (i = 0; i < v->len; i++) {
		const struct jv *ps = ev_sc_get(v->n[i], "properties");
		const struct jv *p = ps != NULL ? ev_sc_getn(ps, k, kn) : NULL;

		if (p != NULL)
			ev_sc_view_add(out, p, 0);
	}
}

static int disjoint3(const struct view *const v[3], int depth, long *budget);

/* the objects of the three: a property one requires, whose schemas in
 * the three (properties, which apply when it is present) are disjoint */
static int props_disjoint(const struct view *const v[3], int depth,
			  long *budget)
{
	struct view *pv = malloc(3 * sizeof(*pv));
	const struct view *pp[3];
	int d = 0, s;
	size_t i;
	uint32_t j;

	if (pv == NULL)
		return 0;
	for (s = 0; s < 3 && !d; s++)
		for (i = 0; i < v[s]->len && !d; i++) {
			const struct jv *rq = ev_sc_get(v[s]->n[i], "required");

			if (rq == NULL || rq->t != J_ARR)
				continue;
			for (j = 0; j < rq->n && !d; j++) {
				const struct jv *k = &rq->a[j];
				int t;

				if (k->t != J_STR)
					continue;
				for (t = 0; t < 3; t++) {
					prop_view(v[t], k->s, k->n, &pv[t]);
					pp[t] = &pv[t];
				}
				d = disjoint3(pp, depth + 1, budget);
			}
		}
	free(pv);
	return d;
}

/* Can no instance satisfy all three conjunctions?  1 only when proved
 * (by types, finite values, or a required property); 0 when unsure. */
static int disjoint3(const struct view *const v[3], int depth, long *budget)
{
	int t = T_ALL, s, o;

	if (depth > DISJOINT_DEPTH || --*budget < 0)
		return 0;
	for (s = 0; s < 3; s++) {
		if (v[s]->is_false)
			return 1;
		t &= view_types(v[s]);
	}
	if (t == 0)
		return 1;
	for (s = 0; s < 3; s++)
		for (o = 0; o < 3; o++)
			if (o != s && v[s]->len > 0 &&
			    finite_outside(v[s], v[o]))
				return 1;
	return (t & ~T_OBJ) == 0 && props_disjoint(v, depth, budget);
}

/* Does the writer, accepted by branch i of a reader's oneOf, match no
 * other branch?  Each other branch must be disjoint from the writer and
 * branch i together (a writer with its own same oneOf is asked before). */
int ev_sc_one_branch(struct cmp *cx, const struct view *w, const struct jv *br,
		     uint32_t i, uint32_t *other)
{
	struct view *bi = malloc(sizeof(*bi)), *bj = malloc(sizeof(*bj));
	uint32_t j;
	long budget = DISJOINT_BUDGET;
	int ok = 1;

	if (bi == NULL || bj == NULL) {
		free(bi);
		free(bj);
		cx->res->oom = 1;
		return 0;
	}
	ev_sc_view_of(bi, &br->a[i]);
	for (j = 0; j < br->n && ok; j++) {
		const struct view *v[3] = {w, bi, bj};

		if (j == i)
			continue;
		ev_sc_view_of(bj, &br->a[j]);
		ok = disjoint3(v, 0, &budget);
		if (!ok)
			*other = j;
	}
	free(bi);
	free(bj);
	return ok;
}
