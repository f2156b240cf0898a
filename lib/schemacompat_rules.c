/*
 * schemacompat_rules.c - the keywords of one reader node against the
 * writer's view, a family at a time: numeric bounds and multipleOf,
 * counts (lengths, items, properties), pattern and format, const and
 * enum, type, the keywords compared as written (not, if/then/else,
 * contains, unevaluated*, dependentSchemas, propertyNames), and a finite
 * writer's values validated against the reader.  Each records the rule it
 * breaks, named from the change OLD -> NEW (the rules table).  The
 * schemas below arrays and objects are compared by the walk, which
 * calls these.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "schemacompat_int.h"

/* bounds: the writer's tightest, as (value, exclusive) */
struct bound {
	int set;
	long double v;
	int excl;
	const struct jv *at; /* the node */
	const char *kw;
};

static void lower_of(const struct view *w, struct bound *b)
{
	size_t i;

	b->set = 0;
	b->v = 0;
	b->excl = 0;
	for (i = 0; i < w->len; i++) {
		const struct jv *m = ev_sc_get(w->n[i], "minimum");
		const struct jv *x = ev_sc_get(w->n[i], "exclusiveMinimum");

		if (ev_sc_is_num(m) && (!b->set || ev_sc_num(m) > b->v)) {
			b->set = 1;
			b->v = ev_sc_num(m);
			b->excl = 0;
		}
		if (ev_sc_is_num(x) && (!b->set || ev_sc_num(x) >= b->v)) {
			b->set = 1;
			b->v = ev_sc_num(x);
			b->excl = 1;
		}
	}
}

static void upper_of(const struct view *w, struct bound *b)
{
	size_t i;

	b->set = 0;
	b->v = 0;
	b->excl = 0;
	for (i = 0; i < w->len; i++) {
		const struct jv *m = ev_sc_get(w->n[i], "maximum");
		const struct jv *x = ev_sc_get(w->n[i], "exclusiveMaximum");

		if (ev_sc_is_num(m) && (!b->set || ev_sc_num(m) < b->v)) {
			b->set = 1;
			b->v = ev_sc_num(m);
			b->excl = 0;
		}
		if (ev_sc_is_num(x) && (!b->set || ev_sc_num(x) <= b->v)) {
			b->set = 1;
			b->v = ev_sc_num(x);
			b->excl = 1;
		}
	}
}

/* rule names of a keyword: when the writer has none (added, removed), and
 * when it has one (tightened or changed, loosened or changed) */
static const struct rules {
	const char *kw;
	const char *added, *removed, *tightened, *loosened;
} rules[] = {
	{"minimum", "minimum-added", "minimum-removed", "minimum-tightened",
	 "minimum-loosened"},
	{"maximum", "maximum-added", "maximum-removed", "maximum-tightened",
	 "maximum-loosened"},
	{"exclusiveMinimum", "exclusive-minimum-added",
	 "exclusive-minimum-removed", "exclusive-minimum-tightened",
	 "exclusive-minimum-loosened"},
	{"exclusiveMaximum", "exclusive-maximum-added",
	 "exclusive-maximum-removed", "exclusive-maximum-tightened",
	 "exclusive-maximum-loosened"},
	{"minLength", "min-length-added", "min-length-removed",
	 "min-length-tightened", "min-length-loosened"},
	{"maxLength", "max-length-added", "max-length-removed",
	 "max-length-tightened", "max-length-loosened"},
	{"minItems", "min-items-added", "min-items-removed",
	 "min-items-tightened", "min-items-loosened"},
	{"maxItems", "max-items-added", "max-items-removed",
	 "max-items-tightened", "max-items-loosened"},
	{"minProperties", "min-properties-added", "min-properties-removed",
	 "min-properties-tightened", "min-properties-loosened"},
	{"maxProperties", "max-properties-added", "max-properties-removed",
	 "max-properties-tightened", "max-properties-loosened"},
	/* compared as written */
	{"contains", "contains-added", "contains-removed", "contains-changed",
	 "contains-changed"},
	{"minContains", "min-contains-added", "min-contains-removed",
	 "min-contains-changed", "min-contains-changed"},
	{"maxContains", "max-contains-added", "max-contains-removed",
	 "max-contains-changed", "max-contains-changed"},
	{"unevaluatedItems", "unevaluated-items-added",
	 "unevaluated-items-removed", "unevaluated-items-changed",
	 "unevaluated-items-changed"},
	{"unevaluatedProperties", "unevaluated-properties-added",
	 "unevaluated-properties-removed", "unevaluated-properties-changed",
	 "unevaluated-properties-changed"},
	{"dependentSchemas", "dependent-schemas-added",
	 "dependent-schemas-removed", "dependent-schemas-changed",
	 "dependent-schemas-changed"},
	{"dependencies", "dependent-schemas-added", "dependent-schemas-removed",
	 "dependent-schemas-changed", "dependent-schemas-changed"},
	{"propertyNames", "property-names-added", "property-names-removed",
	 "property-names-changed", "property-names-changed"},
	{"not", "not-added", "not-removed", "not-changed", "not-changed"},
	{"if", "conditional-added", "conditional-removed",
	 "conditional-changed", "conditional-changed"},
	{"then", "conditional-added", "conditional-removed",
	 "conditional-changed", "conditional-changed"},
	{"else", "conditional-added", "conditional-removed",
	 "conditional-changed", "conditional-changed"},
};

static const struct rules *rules_of(const char *kw)
{
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rules[i].kw, kw) == 0)
			return &rules[i];
	return NULL;
}

static void bound_issue(struct cmp *cx, const struct jv *rn, const char *kw,
			int writer_has, const char *msg)
{
	const struct rules *r = rules_of(kw);

	if (r == NULL)
		return;
	ev_sc_issue(cx, writer_has ? r->tightened : r->added,
		    writer_has ? r->loosened : r->removed, 0, rn, kw, "%s",
		    msg);
}

static void fmt_ld(char *o, size_t n, long double v)
{
	snprintf(o, n, "%.17Lg", v);
}

/* numeric keywords of reader node rn against the writer */
void ev_sc_check_numbers(struct cmp *cx, const struct view *w,
			 const struct wsum *ws, const struct jv *rn)
{
	static const char *const lows[] = {"minimum", "exclusiveMinimum"};
	static const char *const highs[] = {"maximum", "exclusiveMaximum"};
	struct bound lo, hi;
	char a[48], b[48], msg[160];
	size_t i, j;
	const struct jv *m;

	lower_of(w, &lo);
	upper_of(w, &hi);
	for (i = 0; i < 2; i++) {
		const struct jv *r = ev_sc_get(rn, lows[i]);
		int rex = i == 1, ok;

		if (!ev_sc_is_num(r))
			continue;
		if (ws->finite) {
			for (j = 0, ok = 1; j < ws->nvals && ok; j++)
				if (ev_sc_is_num(ws->vals[j]))
					ok = rex ? ev_sc_num(ws->vals[j]) >
							     ev_sc_num(r)
						 : ev_sc_num(ws->vals[j]) >=
							     ev_sc_num(r);
		} else {
			long double wv = lo.v;
			int wex = lo.excl;

			/* an integer-only writer: > 0 is >= 1 */
			if (lo.set && wex && !(ws->types & T_FRAC) &&
			    floorl(wv) == wv) {
				wv += 1;
				wex = 0;
			}
			ok = lo.set && (wv > ev_sc_num(r) ||
					(wv == ev_sc_num(r) && (!rex || wex)));
		}
		if (ok)
			continue;
		fmt_ld(b, sizeof(b), ev_sc_num(r));
		if (lo.set) {
			fmt_ld(a, sizeof(a), lo.v);
			snprintf(msg, sizeof(msg),
				 "%s requires %s%s, %s only %s%s", RD(cx),
				 rex ? "> " : ">= ", b, WR(cx),
				 lo.excl ? "> " : ">= ", a);
		} else {
			snprintf(msg, sizeof(msg),
				 "%s requires %s%s, %s has no lower bound",
				 RD(cx), rex ? "> " : ">= ", b, WR(cx));
		}
		bound_issue(cx, rn, lows[i], lo.set || ws->finite, msg);
	}
	for (i = 0; i < 2; i++) {
		const struct jv *r = ev_sc_get(rn, highs[i]);
		int rex = i == 1, ok;

		if (!ev_sc_is_num(r))
			continue;
		if (ws->finite) {
			for (j = 0, ok = 1; j < ws->nvals && ok; j++)
				if (ev_sc_is_num(ws->vals[j]))
					ok = rex ? ev_sc_num(ws->vals[j]) <
							     ev_sc_num(r)
						 : ev_sc_num(ws->vals[j]) <=
							     ev_sc_num(r);
		} else {
			long double wv = hi.v;
			int wex = hi.excl;

			if (hi.set && wex && !(ws->types & T_FRAC) &&
			    floorl(wv) == wv) {
				wv -= 1;
				wex = 0;
			}
			ok = hi.set && (wv < ev_sc_num(r) ||
					(wv == ev_sc_num(r) && (!rex || wex)));
		}
		if (ok)
			continue;
		fmt_ld(b, sizeof(b), ev_sc_num(r));
		if (hi.set) {
			fmt_ld(a, sizeof(a), hi.v);
			snprintf(msg, sizeof(msg),
				 "%s requires %s%s, %s only %s%s", RD(cx),
				 rex ? "< " : "<= ", b, WR(cx),
				 hi.excl ? "< " : "<= ", a);
		} else {
			snprintf(msg, sizeof(msg),
				 "%s requires %s%s, %s has no upper bound",
				 RD(cx), rex ? "< " : "<= ", b, WR(cx));
		}
		bound_issue(cx, rn, highs[i], hi.set || ws->finite, msg);
	}
	m = ev_sc_get(rn, "multipleOf");
	if (ev_sc_is_num(m) && ev_sc_num(m) > 0) {
		int ok = 0;

		if (ws->finite) {
			for (j = 0, ok = 1; j < ws->nvals && ok; j++)
				if (ev_sc_is_num(ws->vals[j])) {
					long double q = ev_sc_num(ws->vals[j]) /
							ev_sc_num(m);
					ok = fabsl(q - roundl(q)) < 1e-9L;
				}
		}
		for (i = 0; !ok && i < w->len; i++) {
			const struct jv *wm = ev_sc_get(w->n[i], "multipleOf");

			if (ev_sc_is_num(wm) && ev_sc_num(wm) > 0) {
				long double q = ev_sc_num(wm) / ev_sc_num(m);

				ok = q >= 1 - 1e-12L &&
				     fabsl(q - roundl(q)) < 1e-9L * q;
			}
		}
		if (!ok && ev_sc_num(m) == 1 && !(ws->types & T_FRAC))
			ok = 1; /* integers are multiples of 1 */
		if (!ok) {
			int has = 0;

			for (i = 0; i < w->len; i++)
				has |= ev_sc_is_num(
					ev_sc_get(w->n[i], "multipleOf"));
			fmt_ld(b, sizeof(b), ev_sc_num(m));
			ev_sc_issue(
				cx,
				has ? "multiple-of-changed"
				    : "multiple-of-added",
				has ? "multiple-of-changed"
				    : "multiple-of-removed",
				0, rn, "multipleOf",
				"%s requires multiples of %s, which %s does not",
				RD(cx), b, WR(cx));
		}
	}
}

/* count limits: min*: writer's max of min >= reader's; max*: <= */
void ev_sc_check_count(struct cmp *cx, const struct view *w,
		       const struct jv *rn, const char *kw, int is_min,
		       const struct wsum *ws, int finite_kind)
{
	const struct jv *r = ev_sc_get(rn, kw);
	long double best = 0;
	int set = 0, ok;
	size_t i;
	char a[48], b[48], msg[160];

	if (!ev_sc_is_num(r))
		return;
	if (ws->finite && finite_kind) {
		/* strings: lengths in code points; arrays, objects: counts */
		for (i = 0, ok = 1; i < ws->nvals && ok; i++) {
			const struct jv *v = ws->vals[i];
			long double len;

			if (ev_sc_value_type(v) != finite_kind)
				continue;
			if (v->t == J_STR) {
				size_t k, cps = 0;

				for (k = 0; k < v->n; k++)
					cps += ((unsigned char)v->s[k] &
						0xC0) != 0x80;
				len = (long double)cps;
			} else {
				len = v->n;
			}
			ok = is_min ? len >= ev_sc_num(r) : len <= ev_sc_num(r);
		}
		if (ok)
			return;
	}
	for (i = 0; i < w->len; i++) {
		const struct jv *x = ev_sc_get(w->n[i], kw);

		if (!ev_sc_is_num(x))
			continue;
		if (!set ||
		    (is_min ? ev_sc_num(x) > best : ev_sc_num(x) < best))
			best = ev_sc_num(x);
		set = 1;
	}
	if (is_min && !set && ev_sc_num(r) <= 0)
		return;
	ok = set && (is_min ? best >= ev_sc_num(r) : best <= ev_sc_num(r));
	if (ok)
		return;
	fmt_ld(b, sizeof(b), ev_sc_num(r));
	if (set) {
		fmt_ld(a, sizeof(a), best);
		snprintf(msg, sizeof(msg), "%s %s's is %s, %s's %s", kw, RD(cx),
			 b, WR(cx), a);
	} else {
		snprintf(msg, sizeof(msg), "%s %s's is %s, %s has none", kw,
			 RD(cx), b, WR(cx));
	}
	bound_issue(cx, rn, kw, set, msg);
}

/* Are two schemas equal as written, and so are the local $ref targets in
 * them?  A pair met again (a recursive schema) is taken as equal. */
static int schema_equal(struct cmp *cx, const struct jv *a, const struct jv *b,
			int depth)
{
	const struct jv *ra, *rb;
	size_t i;
	uint32_t k;
	int eq = 1;

	if (depth > 2 * EV_MAX_DEPTH + 8)
		return 0;
	if (a->t != J_OBJ || b->t != J_OBJ) {
		if (a->t == J_ARR && b->t == J_ARR) {
			if (a->n != b->n)
				return 0;
			for (k = 0; k < a->n; k++)
				if (!schema_equal(cx, &a->a[k], &b->a[k],
						  depth + 1))
					return 0;
			return 1;
		}
		return ev_sc_jv_equal(a, b, 0);
	}
	if (a->n != b->n)
		return 0;
	for (i = 0; i + 1 < cx->eq_depth; i += 2)
		if (cx->eq_stack[i] == a && cx->eq_stack[i + 1] == b)
			return 1;
	if (cx->eq_depth + 2 > sizeof(cx->eq_stack) / sizeof(cx->eq_stack[0]))
		return 0;
	cx->eq_stack[cx->eq_depth++] = a;
	cx->eq_stack[cx->eq_depth++] = b;
	for (k = 0; k < a->n && eq; k++) {
		const struct jv *o = ev_sc_getn(b, a->k[k], a->kn[k]);

		eq = o != NULL && schema_equal(cx, &a->a[k], o, depth + 1);
	}
	ra = ev_sc_get(a, "$ref");
	rb = ev_sc_get(b, "$ref");
	if (eq && ra != NULL && rb != NULL && ra->t == J_STR &&
	    rb->t == J_STR) {
		const struct jv *ta = ev_sc_resolve_local(a, ra->s);
		const struct jv *tb = ev_sc_resolve_local(b, rb->s);

		if (ta != NULL || tb != NULL)
			eq = ta != NULL && tb != NULL &&
			     schema_equal(cx, ta, tb, depth + 1);
	}
	cx->eq_depth -= 2;
	return eq;
}

int ev_sc_view_has_equal(struct cmp *cx, const struct view *w, const char *kw,
			 const struct jv *rv)
{
	size_t i;

	for (i = 0; i < w->len; i++) {
		const struct jv *x = ev_sc_get(w->n[i], kw);

		if (x != NULL && schema_equal(cx, x, rv, 0))
			return 1;
	}
	return 0;
}

static int view_has(const struct view *w, const char *kw)
{
	size_t i;

	for (i = 0; i < w->len; i++)
		if (ev_sc_get(w->n[i], kw) != NULL)
			return 1;
	return 0;
}

/* keywords the walk cannot decide: the writer must have the same value */
void ev_sc_check_same(struct cmp *cx, const struct view *w, const struct jv *rn,
		      const char *kw)
{
	const struct jv *rv = ev_sc_get(rn, kw);
	const struct rules *r = rules_of(kw);

	if (rv == NULL || r == NULL || ev_sc_view_has_equal(cx, w, kw, rv))
		return;
	if (view_has(w, kw))
		ev_sc_issue(
			cx, r->tightened, r->loosened, 0, rn, kw,
			"%s differs between old and new (compared as written)",
			kw);
	else
		ev_sc_issue(cx, r->added, r->removed, 0, rn, kw,
			    "%s has %s, %s has none (compared as written)",
			    RD(cx), kw, WR(cx));
}

/* what a node's keyword kw is, for comparisons: NULL when absent */
static int same_or_absent(struct cmp *cx, const struct jv *a,
			  const struct jv *b, const char *kw)
{
	const struct jv *x = ev_sc_get(a, kw), *y = ev_sc_get(b, kw);

	if (x == NULL || y == NULL)
		return x == y;
	return schema_equal(cx, x, y, 0);
}

/* if/then/else: one writer node with the same three */
void ev_sc_check_cond(struct cmp *cx, const struct view *w, const struct jv *rn)
{
	const struct rules *r = rules_of("if");
	size_t i;
	int any = 0;

	if (ev_sc_get(rn, "if") == NULL ||
	    (ev_sc_get(rn, "then") == NULL && ev_sc_get(rn, "else") == NULL))
		return;
	for (i = 0; i < w->len; i++) {
		if (same_or_absent(cx, w->n[i], rn, "if") &&
		    same_or_absent(cx, w->n[i], rn, "then") &&
		    same_or_absent(cx, w->n[i], rn, "else"))
			return;
		any |= ev_sc_get(w->n[i], "if") != NULL;
	}
	if (any)
		ev_sc_issue(
			cx, r->tightened, r->loosened, 0, rn, "if",
			"if/then/else differs between old and new (compared as "
			"written)");
	else
		ev_sc_issue(
			cx, r->added, r->removed, 0, rn, "if",
			"%s has if/then/else, %s has none (compared as written)",
			RD(cx), WR(cx));
}

/* unevaluatedProperties/Items depend on everything around them: the
 * writer must have the whole node as the reader has it */
void ev_sc_check_uneval(struct cmp *cx, const struct view *w,
			const struct jv *rn, const char *kw)
{
	const struct jv *rv = ev_sc_get(rn, kw);
	const struct rules *r = rules_of(kw);
	size_t i;

	if (rv == NULL || r == NULL || (rv->t == J_BOOL && rv->v.b) ||
	    (rv->t == J_OBJ && rv->n == 0))
		return;
	for (i = 0; i < w->len; i++)
		if (schema_equal(cx, w->n[i], rn, 0))
			return;
	if (view_has(w, kw))
		ev_sc_issue(
			cx, r->tightened, r->loosened, 0, rn, kw,
			"%s, or the schema around it, differs between old and "
			"new (compared as written)",
			kw);
	else
		ev_sc_issue(cx, r->added, r->removed, 0, rn, kw,
			    "%s has %s, %s has none (compared as written)",
			    RD(cx), kw, WR(cx));
}

/* contains with minContains/maxContains: one writer node with the same
 * contains, and counts at least as strict */
void ev_sc_check_contains(struct cmp *cx, const struct view *w,
			  const struct jv *rn)
{
	const struct jv *c = ev_sc_get(rn, "contains");
	const struct jv *rmin = ev_sc_get(rn, "minContains");
	const struct jv *rmax = ev_sc_get(rn, "maxContains");
	const struct rules *r = rules_of("contains");
	size_t i;

	if (c == NULL ||
	    (ev_sc_is_num(rmin) && ev_sc_num(rmin) == 0 && rmax == NULL))
		return;
	for (i = 0; i < w->len; i++) {
		const struct jv *wc = ev_sc_get(w->n[i], "contains");
		const struct jv *wmin = ev_sc_get(w->n[i], "minContains");
		const struct jv *wmax = ev_sc_get(w->n[i], "maxContains");
		long double lo = ev_sc_is_num(wmin) ? ev_sc_num(wmin) : 1;

		if (wc == NULL || !schema_equal(cx, wc, c, 0))
			continue;
		if (lo < (ev_sc_is_num(rmin) ? ev_sc_num(rmin) : 1))
			continue;
		if (ev_sc_is_num(rmax) &&
		    !(ev_sc_is_num(wmax) && ev_sc_num(wmax) <= ev_sc_num(rmax)))
			continue;
		return;
	}
	if (view_has(w, "contains"))
		ev_sc_issue(
			cx, r->tightened, r->loosened, 0, rn, "contains",
			"contains, minContains or maxContains differ between "
			"old and new (compared as written)");
	else
		ev_sc_issue(
			cx, r->added, r->removed, 0, rn, "contains",
			"%s has contains, %s has none (compared as written)",
			RD(cx), WR(cx));
}

void ev_sc_check_strings(struct cmp *cx, const struct view *w,
			 const struct wsum *ws, const struct jv *rn)
{
	const struct jv *p = ev_sc_get(rn, "pattern"),
			*f = ev_sc_get(rn, "format");
	size_t i;

	ev_sc_check_count(cx, w, rn, "minLength", 1, ws, T_STR);
	ev_sc_check_count(cx, w, rn, "maxLength", 0, ws, T_STR);
	if (p != NULL && p->t == J_STR &&
	    !ev_sc_view_has_equal(cx, w, "pattern", p)) {
		int ok = 0;

		if (ws->finite) {
			struct ev_ecmare *re = NULL;
			char why[128];

			if (ev_ecmare_compile(p->s, p->n, &re, why,
					      sizeof(why)) == 0) {
				for (i = 0, ok = 1; i < ws->nvals && ok; i++)
					if (ws->vals[i]->t == J_STR)
						ok = ev_ecmare_search(
							     re, ws->vals[i]->s,
							     ws->vals[i]->n) ==
						     1;
				ev_ecmare_free(re);
			}
		}
		if (!ok && view_has(w, "pattern"))
			ev_sc_issue(
				cx, "pattern-changed", "pattern-changed", 0, rn,
				"pattern",
				"pattern '%s' of %s is not in %s (patterns are "
				"compared as written)",
				p->s, RD(cx), WR(cx));
		else if (!ok)
			ev_sc_issue(cx, "pattern-added", "pattern-removed", 0,
				    rn, "pattern",
				    "%s requires pattern '%s', %s does not",
				    RD(cx), p->s, WR(cx));
	}
	if (f != NULL && f->t == J_STR && !ws->finite &&
	    !ev_sc_view_has_equal(cx, w, "format", f)) {
		if (view_has(w, "format"))
			ev_sc_issue(
				cx, "format-changed", "format-changed", 1, rn,
				"format",
				"format '%s' of %s differs from %s's: it fails "
				"only with --formats assert",
				f->s, RD(cx), WR(cx));
		else
			ev_sc_issue(
				cx, "format-added", "format-removed", 1, rn,
				"format",
				"%s has format '%s', %s has none: it fails only "
				"with --formats assert",
				RD(cx), f->s, WR(cx));
	}
}

/* --------------------------------------------------------- a node */

/* a value for messages: its JSON, cut short */
static void value_text(const struct jv *v, char *out, size_t n)
{
	struct ev_buf b = {0};
	struct ev_error err;
	const uint8_t *p = v->mp;

	if (v->mp == NULL ||
	    ev_json_put_mp(&b, &p, v->mp + v->mpn, 0, &err) != 0 ||
	    b.len == 0) {
		snprintf(out, n, "a value");
	} else if (b.len < n) {
		snprintf(out, n, "%.*s", (int)b.len, (const char *)b.p);
	} else {
		size_t k = n - 4;

		while (k > 0 && ((unsigned char)b.p[k] & 0xC0) == 0x80)
			k--; /* not inside a UTF-8 sequence */
		snprintf(out, n, "%.*s...", (int)k, (const char *)b.p);
	}
	ev_buf_free(&b);
}

/* The compiled schema at node n, or NULL. */
static const struct ev_jschema *schema_at(struct cmp *cx, const struct jv *n)
{
	static const char keep[] = "-._~/!$&'()*+,;=:@";
	struct ev_jschema_set *set = cx->set[n->doc->is_new];
	struct ev_buf u = {0};
	const struct ev_jschema *sc = NULL;
	const char *p;

	if (set == NULL)
		return NULL;
	ev_buf_puts(&u, n->doc->is_new ? "urn:evlog:compat:new#"
				       : "urn:evlog:compat:old#");
	for (p = n->path; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(keep, c) != NULL)
			ev_buf_putc(&u, c);
		else
			ev_buf_printf(&u, "%%%02X", c);
	}
	if (ev_buf_putc(&u, '\0') == 0)
		sc = ev_jschema_get(set, (const char *)u.p, NULL);
	ev_buf_free(&u);
	return sc;
}

static int valid_at(struct cmp *cx, const struct ev_jschema *sc,
		    const struct jv *v)
{
	return ev_jschema_validate(sc, v->mp, v->mpn, NULL, cx->jcx);
}

/*
 * A finite writer (enum, const): its values, kept when every writer node
 * accepts them, validated against every reader node.  1 when done, 0 to
 * compare structurally (a node the validator cannot compile alone).
 */
int ev_sc_check_finite(struct cmp *cx, const struct view *w,
		       const struct wsum *ws, const struct view *r)
{
	const struct ev_jschema *wsc[VIEW_MAX], *rsc[VIEW_MAX];
	size_t i, k;

	if (cx->jcx == NULL)
		return 0;
	for (i = 0; i < w->len; i++)
		if ((wsc[i] = schema_at(cx, w->n[i])) == NULL)
			return 0;
	for (i = 0; i < r->len; i++)
		if ((rsc[i] = schema_at(cx, r->n[i])) == NULL)
			return 0;
	for (k = 0; k < ws->nvals; k++) {
		const struct jv *v = ws->vals[k];
		int ok = 1;

		for (i = 0; i < w->len && ok; i++)
			ok = valid_at(cx, wsc[i], v) != 0;
		for (i = 0; i < r->len && ok; i++) {
			const struct jv *rn = r->n[i];
			const struct ev_jschema_error *e;
			const struct rules *ru;
			const char *kw = "", *sp, *rb = "enum-value-removed",
				   *rf = "enum-value-added";
			char text[128];
			struct jv at = *rn;

			if (valid_at(cx, rsc[i], v) == 1)
				continue;
			value_text(v, text, sizeof(text));
			/* the validator's first error says where and why */
			e = ev_jschema_error_at(cx->jcx, 0);
			if (e != NULL && e->keyword != NULL)
				kw = e->keyword;
			sp = e != NULL && e->schema_path != NULL
				     ? strchr(e->schema_path, '#')
				     : NULL;
			if (sp != NULL &&
			    strncmp(sp + 1, rn->path, strlen(rn->path)) == 0)
				at.path = (char *)sp + 1;
			if (strcmp(kw, "type") == 0 && v->t == J_NULL) {
				rb = "nullable-removed";
				rf = "nullable-added";
			} else if (strcmp(kw, "type") == 0) {
				rb = "type-narrowed";
				rf = "type-widened";
			} else if (strcmp(kw, "const") == 0 && ws->nvals == 1) {
				rb = rf = "const-changed";
			} else if ((ru = rules_of(kw)) != NULL &&
				   strcmp(kw, "if") != 0) {
				rb = ru->tightened;
				rf = ru->loosened;
			}
			ev_sc_issue(cx, rb, rf, 0, &at, NULL,
				    "%s allows %s, %s does not: %s", WR(cx),
				    text, RD(cx),
				    e != NULL && e->message ? e->message
							    : "invalid");
		}
	}
	return 1;
}

void ev_sc_check_values(struct cmp *cx, const struct view *w,
			const struct wsum *ws, const struct jv *rn)
{
	const struct jv *c = ev_sc_get(rn, "const"), *e = ev_sc_get(rn, "enum");
	size_t i;
	uint32_t j;

	if (ws->huge && (c != NULL || (e != NULL && e->t == J_ARR)) &&
	    !ev_sc_view_has_equal(cx, w, c != NULL ? "const" : "enum",
				  c != NULL ? c : e)) {
		ev_sc_issue(cx, "too-complex", "too-complex", 0, rn,
			    c != NULL ? "const" : "enum",
			    "the enums are too large to compare");
		return;
	}
	if (c != NULL) {
		for (i = 0; ws->finite && i < ws->nvals; i++)
			if (!ev_sc_jv_equal(ws->vals[i], c, 0))
				break;
		if (!ws->finite)
			ev_sc_issue(cx, "const-added", "const-removed", 0, rn,
				    "const", "%s allows one value only, %s any",
				    RD(cx), WR(cx));
		else if (i < ws->nvals && ws->nvals == 1)
			ev_sc_issue(cx, "const-changed", "const-changed", 0, rn,
				    "const", "%s allows a value %s does not",
				    WR(cx), RD(cx));
		else if (i < ws->nvals)
			ev_sc_issue(cx, "enum-value-removed",
				    "enum-value-added", 0, rn, "const",
				    "%s allows values %s does not", WR(cx),
				    RD(cx));
	}
	if (e != NULL && e->t == J_ARR &&
	    !ev_sc_view_has_equal(cx, w, "enum", e)) {
		struct vset set = {0};
		int use_set;

		if (ws->huge) {
			ev_sc_issue(cx, "too-complex", "too-complex", 0, rn,
				    "enum",
				    "the enums are too large to compare");
			return;
		}
		if (!ws->finite) {
			ev_sc_issue(cx, "enum-added", "enum-removed", 0, rn,
				    "enum",
				    "%s allows listed values only, %s any",
				    RD(cx), WR(cx));
			return;
		}
		use_set = ws->nvals >= SET_MIN && e->n >= SET_MIN;
		if (use_set && ev_sc_vset_build(&set, e) != 0) {
			cx->res->oom = 1;
			return;
		}
		for (i = 0; i < ws->nvals; i++) {
			char text[128];

			if (use_set) {
				if (ev_sc_vset_has(&set, ws->vals[i]))
					continue;
			} else {
				for (j = 0; j < e->n; j++)
					if (ev_sc_jv_equal(ws->vals[i],
							   &e->a[j], 0))
						break;
				if (j < e->n)
					continue;
			}
			value_text(ws->vals[i], text, sizeof(text));
			ev_sc_issue(cx, "enum-value-removed",
				    "enum-value-added", 0, rn, "enum",
				    "%s allows %s, %s does not", WR(cx), text,
				    RD(cx));
		}
		ev_sc_vset_free(&set);
	}
}

void ev_sc_check_types(struct cmp *cx, const struct wsum *ws,
		       const struct jv *rn)
{
	int rt = ev_sc_node_types(rn), miss = ws->types & ~rt;
	char names[128];

	if (miss == 0)
		return;
	ev_sc_types_name(miss, names, sizeof(names));
	if (miss == T_NULL)
		ev_sc_issue(cx, "nullable-removed", "nullable-added", 0, rn,
			    "type", "%s allows null, %s does not", WR(cx),
			    RD(cx));
	else
		ev_sc_issue(cx, "type-narrowed", "type-widened", 0, rn, "type",
			    "%s allows %s, %s's type does not", WR(cx), names,
			    RD(cx));
}
