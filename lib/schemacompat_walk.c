/*
 * schemacompat_walk.c - the walk over the two schema trees: two views
 * compared (check(), recursive schemas and its budget bounded), the
 * writer's anyOf/oneOf split into one conjunction per branch, each
 * reader node's keywords (schemacompat_rules.c) and a reader's
 * anyOf/oneOf branches, and the schemas below: array items
 * (prefixItems, items) and object properties (properties,
 * patternProperties, additionalProperties, required, dependentRequired),
 * compared in turn.
 */
#include <stdlib.h>
#include <string.h>

#include "schemacompat_int.h"

/* ------------------------------------------------------------ checks */

static int check(struct cmp *cx, const struct view *w, const struct view *r,
		 const char *rule_b, const char *rule_f, const struct jv *at);

/* check one schema pair given as nodes (either may be NULL: true) */
int ev_sc_check_nodes(struct cmp *cx, const struct jv *ws, const struct jv *rs,
		      const char *rule_b, const char *rule_f,
		      const struct jv *at)
{
	struct view *w = malloc(sizeof(*w)), *r = malloc(sizeof(*r));
	int rc;

	if (w == NULL || r == NULL) {
		free(w);
		free(r);
		cx->res->oom = 1;
		return 0;
	}
	ev_sc_view_reset(w);
	ev_sc_view_reset(r);
	if (ws != NULL)
		ev_sc_view_add(w, ws, 0);
	if (rs != NULL)
		ev_sc_view_add(r, rs, 0);
	rc = check(cx, w, r, rule_b, rule_f, at);
	free(w);
	free(r);
	return rc;
}

/* Try a comparison without recording: 1 when it finds no incompatibility. */
/*
 * Try a comparison without recording: 1 when it finds no incompatibility.
 * What it assumed (warnings) must not be lost when it holds: the
 * outermost try runs it again, recording, which gives the warnings only.
 */
static int try_views(struct cmp *cx, const struct view *w, const struct view *r)
{
	size_t before = cx->silent_fail, wbefore = cx->silent_warn;
	int rc;

	cx->silent++;
	check(cx, w, r, "", "", NULL);
	cx->silent--;
	rc = cx->silent_fail == before;
	cx->silent_fail = before;
	if (!rc) {
		cx->silent_warn = wbefore;
	} else if (cx->silent == 0 && cx->silent_warn != wbefore) {
		cx->silent_warn = wbefore;
		check(cx, w, r, "", "", NULL);
	}
	return rc;
}

static int try_nodes(struct cmp *cx, const struct view *w, const struct jv *rs)
{
	struct view *r = malloc(sizeof(*r));
	int rc;

	if (r == NULL) {
		cx->res->oom = 1;
		return 0;
	}
	ev_sc_view_of(r, rs);
	rc = try_views(cx, w, r);
	free(r);
	return rc;
}

/* --------------------------------------------------------- arrays */

/* the schema at index i (or the rest, i = -1) of node n, or NULL: true */
static const struct jv *item_at(const struct jv *n, long i, int *is_rest)
{
	const struct jv *pi = ev_sc_get(n, "prefixItems"),
			*it = ev_sc_get(n, "items");
	const struct jv *ai = ev_sc_get(n, "additionalItems");

	*is_rest = 0;
	if (pi != NULL && pi->t == J_ARR) {
		if (i >= 0 && (uint32_t)i < pi->n)
			return &pi->a[i];
		*is_rest = 1;
		return it;
	}
	if (it != NULL && it->t == J_ARR) { /* draft-07 tuple */
		if (i >= 0 && (uint32_t)i < it->n)
			return &it->a[i];
		*is_rest = 1;
		return ai;
	}
	*is_rest = 1;
	return it;
}

static long tuple_len(const struct jv *n)
{
	const struct jv *pi = ev_sc_get(n, "prefixItems"),
			*it = ev_sc_get(n, "items");

	if (pi != NULL && pi->t == J_ARR)
		return pi->n;
	if (it != NULL && it->t == J_ARR)
		return it->n;
	return 0;
}

static void items_view(const struct view *w, long i, struct view *out)
{
	size_t k;
	int rest;

	ev_sc_view_reset(out);
	for (k = 0; k < w->len; k++) {
		const struct jv *s = item_at(w->n[k], i, &rest);

		if (s != NULL)
			ev_sc_view_add(out, s, 0);
	}
}

static void check_arrays(struct cmp *cx, const struct view *w,
			 const struct wsum *ws, const struct jv *rn)
{
	const struct jv *u = ev_sc_get(rn, "uniqueItems");
	long n = tuple_len(rn), i;
	size_t k;
	struct view *wi, *ri;

	ev_sc_check_count(cx, w, rn, "minItems", 1, ws, T_ARR);
	ev_sc_check_count(cx, w, rn, "maxItems", 0, ws, T_ARR);
	if (u != NULL && u->t == J_BOOL && u->v.b) {
		const struct jv t = {.t = J_BOOL, .v.b = 1};

		if (!ev_sc_view_has_equal(cx, w, "uniqueItems", &t))
			ev_sc_issue(cx, "unique-items-added",
				    "unique-items-removed", 0, rn,
				    "uniqueItems",
				    "%s requires unique items, %s does not",
				    RD(cx), WR(cx));
	}
	ev_sc_check_contains(cx, w, rn);
	ev_sc_check_uneval(cx, w, rn, "unevaluatedItems");
	if (ev_sc_get(rn, "items") == NULL &&
	    ev_sc_get(rn, "prefixItems") == NULL)
		return;
	for (k = 0; k < w->len; k++)
		if (tuple_len(w->n[k]) > n)
			n = tuple_len(w->n[k]);
	wi = malloc(sizeof(*wi));
	ri = malloc(sizeof(*ri));
	if (wi == NULL || ri == NULL) {
		cx->res->oom = 1;
		goto out;
	}
	for (i = -1; i < n; i++) {
		const struct jv *rs;
		int rest;

		rs = item_at(rn, i < 0 ? n : i, &rest);
		if (rs == NULL)
			continue;
		items_view(w, i < 0 ? n : i, wi);
		ev_sc_view_of(ri, rs);
		if (wi->is_false || (ri->len == 0 && !ri->is_false))
			continue;
		check(cx, wi, ri, "items-narrowed", "items-widened", rs);
	}
out:
	free(wi);
	free(ri);
}

/* --------------------------------------------------------- objects */

/* patternProperties of n compiled (once, kept on the node) */
static int pp_compile(struct cmp *cx, const struct jv *n, const struct jv **ppo)
{
	struct jv *pp = ev_sc_get(n, "patternProperties");
	uint32_t i;

	*ppo = NULL;
	if (pp == NULL || pp->t != J_OBJ || pp->n == 0)
		return 0;
	*ppo = pp;
	if (pp->re != NULL)
		return 0;
	pp->re = ev_sc_arena_alloc(cx->ar, pp->n * sizeof(*pp->re));
	if (pp->re == NULL)
		return -1;
	for (i = 0; i < pp->n; i++) {
		char why[128];

		pp->re[i] = NULL;
		(void)ev_ecmare_compile(pp->k[i], pp->kn[i], &pp->re[i], why,
					sizeof(why));
	}
	return 0;
}

/* Add to out what node n says about property name (k, kn): its
 * properties entry and the patternProperties matching it, else its
 * additionalProperties.  *unsure when a pattern could not be matched. */
static void prop_schema(struct cmp *cx, const struct jv *n, const char *k,
			size_t kn, struct view *out, int *unsure)
{
	const struct jv *p = ev_sc_getn(ev_sc_get(n, "properties"), k, kn), *pp;
	const struct jv *ap = ev_sc_get(n, "additionalProperties");
	int matched = 0;
	uint32_t i;

	if (p != NULL)
		ev_sc_view_add(out, p, 0);
	if (pp_compile(cx, n, &pp) != 0)
		cx->res->oom = 1;
	for (i = 0; pp != NULL && i < pp->n; i++) {
		int m = pp->re != NULL && pp->re[i] != NULL
				? ev_ecmare_search(pp->re[i], k, kn)
				: -1;

		if (m < 0)
			*unsure = 1;
		if (m == 1) {
			matched = 1;
			ev_sc_view_add(out, &pp->a[i], 0);
		}
	}
	if (p == NULL && !matched && ap != NULL)
		ev_sc_view_add(out, ap, 0);
}

static int name_in(const char *k, size_t kn, const char *const *names,
		   const uint32_t *lens, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lens[i] == kn && memcmp(names[i], k, kn) == 0)
			return 1;
	return 0;
}

static const struct jv *prop_of(const struct view *v, const char *k, size_t kn)
{
	size_t i;

	for (i = 0; i < v->len; i++) {
		const struct jv *p =
			ev_sc_getn(ev_sc_get(v->n[i], "properties"), k, kn);

		if (p != NULL)
			return p;
	}
	return NULL;
}

static int has_default(const struct view *r, const char *k, size_t kn)
{
	size_t i;

	for (i = 0; i < r->len; i++) {
		const struct jv *p =
			ev_sc_getn(ev_sc_get(r->n[i], "properties"), k, kn);

		if (p != NULL && p->t == J_OBJ &&
		    ev_sc_get(p, "default") != NULL)
			return 1;
	}
	return 0;
}

static int required_by(const struct view *w, const char *k, size_t kn)
{
	size_t i;
	uint32_t j;

	for (i = 0; i < w->len; i++) {
		const struct jv *rq = ev_sc_get(w->n[i], "required");

		if (rq == NULL || rq->t != J_ARR)
			continue;
		for (j = 0; j < rq->n; j++)
			if (rq->a[j].t == J_STR && rq->a[j].n == kn &&
			    memcmp(rq->a[j].s, k, kn) == 0)
				return 1;
	}
	return 0;
}

/* Property names and patterns: the writer's view of every named property
 * against the reader's, then the other names. */
static void check_props(struct cmp *cx, const struct view *w,
			const struct view *r, const struct jv *rn)
{
	const char **names = NULL;
	uint32_t *lens = NULL;
	size_t nn = 0, total = 0, i, k;
	uint32_t j;
	struct view *wv = NULL, *rv = NULL;
	const struct jv *rap = ev_sc_get(rn, "additionalProperties"), *rpp;
	int unsure = 0;

	(void)r;
	/* every name either side lists, once (quadratic: schemas list tens
	 * of properties, and the budget bounds the rest) */
	for (i = 0; i < w->len + 1; i++) {
		const struct jv *ps =
			ev_sc_get(i < w->len ? w->n[i] : rn, "properties");

		if (ps != NULL && ps->t == J_OBJ)
			total += ps->n;
	}
	names = malloc((total + 1) * sizeof(*names));
	lens = malloc((total + 1) * sizeof(*lens));
	wv = malloc(sizeof(*wv));
	rv = malloc(sizeof(*rv));
	if (names == NULL || lens == NULL || wv == NULL || rv == NULL) {
		cx->res->oom = 1;
		goto out;
	}
	for (i = 0; i < w->len + 1; i++) {
		const struct jv *ps =
			ev_sc_get(i < w->len ? w->n[i] : rn, "properties");

		for (j = 0; ps != NULL && ps->t == J_OBJ && j < ps->n; j++) {
			if (name_in(ps->k[j], ps->kn[j], names, lens, nn))
				continue;
			names[nn] = ps->k[j];
			lens[nn] = ps->kn[j];
			nn++;
		}
	}
	for (i = 0; i < nn; i++) {
		const char *key = names[i];
		size_t kn = lens[i];
		const struct jv *rp, *wp;

		if (--cx->budget < 0) {
			ev_sc_issue(cx, "too-complex", "too-complex", 0, rn,
				    "properties",
				    "the schemas are too large to compare");
			break;
		}
		ev_sc_view_reset(wv);
		ev_sc_view_reset(rv);
		for (k = 0; k < w->len; k++)
			prop_schema(cx, w->n[k], key, kn, wv, &unsure);
		prop_schema(cx, rn, key, kn, rv, &unsure);
		if (wv->is_false || (rv->len == 0 && !rv->is_false))
			continue;
		rp = ev_sc_getn(ev_sc_get(rn, "properties"), key, kn);
		wp = prop_of(w, key, kn);
		if (rp != NULL && wp != NULL) {
			check(cx, wv, rv, "schema-false-added",
			      "schema-false-removed", rp);
			continue;
		}
		if (try_views(cx, wv, rv))
			continue;
		if (rp != NULL)
			ev_sc_issue(
				cx, "property-added", "property-removed", 0, rp,
				NULL,
				"'%s' is a property of %s only, and %s allows "
				"values of it (as an additional property) that "
				"%s rejects",
				key, RD(cx), WR(cx), RD(cx));
		else if (rv->is_false)
			ev_sc_issue(
				cx, "property-removed", "property-added", 0, wp,
				NULL,
				"'%s' is a property of %s only, and %s does not "
				"allow it (additionalProperties)",
				key, WR(cx), RD(cx));
		else
			ev_sc_issue(
				cx, "property-removed", "property-added", 0, wp,
				NULL,
				"'%s' is a property of %s only, and %s's "
				"additional properties reject values of it that "
				"%s allows",
				key, WR(cx), RD(cx), WR(cx));
	}
	if (unsure)
		ev_sc_issue(
			cx, "pattern-properties-unchecked",
			"pattern-properties-unchecked", 1, rn,
			"patternProperties",
			"a patternProperties regex could not be matched against "
			"property names");

	/* the reader's patterns: names matching them that the writer may
	 * write with its own identical pattern, or as additional ones */
	(void)pp_compile(cx, rn, &rpp);
	for (j = 0; rpp != NULL && j < rpp->n; j++) {
		ev_sc_view_reset(wv);
		for (k = 0; k < w->len; k++) {
			const struct jv *wpp =
				ev_sc_get(w->n[k], "patternProperties");
			const struct jv *s =
				ev_sc_getn(wpp, rpp->k[j], rpp->kn[j]);

			if (s != NULL) {
				ev_sc_view_add(wv, s, 0);
			} else if (wpp == NULL || wpp->t != J_OBJ ||
				   wpp->n == 0) {
				s = ev_sc_get(w->n[k], "additionalProperties");
				if (s != NULL)
					ev_sc_view_add(wv, s, 0);
			}
			/* a node with other patterns: nothing said (the
			 * names may match them), so nothing assumed */
		}
		if (wv->is_false)
			continue;
		ev_sc_view_of(rv, &rpp->a[j]);
		if (ev_sc_view_has_equal(cx, w, "patternProperties",
					 ev_sc_get(rn, "patternProperties")))
			check(cx, wv, rv, "schema-false-added",
			      "schema-false-removed", &rpp->a[j]);
		else if (!try_views(cx, wv, rv))
			ev_sc_issue(
				cx, "pattern-properties-added",
				"pattern-properties-removed", 0, &rpp->a[j],
				NULL,
				"names matching '%s' are constrained by %s, not "
				"in the same way by %s",
				rpp->k[j], RD(cx), WR(cx));
	}

	/* the reader's additionalProperties: the writer's additional
	 * properties, and names matching the writer's patterns the reader
	 * does not have */
	if (rap != NULL) {
		ev_sc_view_reset(wv);
		for (k = 0; k < w->len; k++) {
			const struct jv *s =
				ev_sc_get(w->n[k], "additionalProperties");

			if (s != NULL)
				ev_sc_view_add(wv, s, 0);
		}
		ev_sc_view_of(rv, rap);
		if (!wv->is_false && !try_views(cx, wv, rv))
			ev_sc_issue(
				cx, "additional-properties-narrowed",
				"additional-properties-widened", 0, rn,
				"additionalProperties",
				"%s's additionalProperties accept values %s's "
				"reject",
				WR(cx), RD(cx));
		for (k = 0; k < w->len; k++) {
			const struct jv *wpp =
				ev_sc_get(w->n[k], "patternProperties");

			for (j = 0;
			     wpp != NULL && wpp->t == J_OBJ && j < wpp->n;
			     j++) {
				if (ev_sc_getn(rpp, wpp->k[j], wpp->kn[j]) !=
				    NULL)
					continue;
				ev_sc_view_of(wv, &wpp->a[j]);
				if (wv->is_false || try_views(cx, wv, rv))
					continue;
				ev_sc_issue(
					cx, "pattern-properties-removed",
					"pattern-properties-added", 0,
					&wpp->a[j], NULL,
					"names matching '%s' are allowed by %s's "
					"patternProperties, and %s's "
					"additionalProperties reject them",
					wpp->k[j], WR(cx), RD(cx));
			}
		}
	}
out:
	free(names);
	free(lens);
	free(wv);
	free(rv);
}

static void check_objects(struct cmp *cx, const struct view *w,
			  const struct wsum *ws, const struct view *r,
			  const struct jv *rn)
{
	const struct jv *rq = ev_sc_get(rn, "required"), *dr, *pn;
	uint32_t j, m;

	ev_sc_check_count(cx, w, rn, "minProperties", 1, ws, T_OBJ);
	ev_sc_check_count(cx, w, rn, "maxProperties", 0, ws, T_OBJ);
	for (j = 0; rq != NULL && rq->t == J_ARR && j < rq->n; j++) {
		const struct jv *p = &rq->a[j];

		if (p->t != J_STR || required_by(w, p->s, p->n))
			continue;
		if (has_default(r, p->s, p->n))
			ev_sc_issue(
				cx, "required-added-with-default",
				"required-removed-with-default", 1, p, NULL,
				"'%s' is required by %s, not by %s; %s gives "
				"it a default, which readers must fill in",
				p->s, RD(cx), WR(cx), RD(cx));
		else
			ev_sc_issue(
				cx, "required-added", "required-removed", 0, p,
				NULL,
				"'%s' is required by %s, not by %s, and has no "
				"default",
				p->s, RD(cx), WR(cx));
	}
	check_props(cx, w, r, rn);
	/* dependentRequired, and draft-07 dependencies with arrays */
	for (m = 0; m < 2; m++) {
		dr = ev_sc_get(rn, m ? "dependencies" : "dependentRequired");
		for (j = 0; dr != NULL && dr->t == J_OBJ && j < dr->n; j++) {
			const struct jv *need = &dr->a[j];
			uint32_t q;
			size_t i;

			if (need->t != J_ARR) {
				/* a schema dependency */
				if (m)
					ev_sc_check_same(cx, w, rn,
							 "dependencies");
				continue;
			}
			for (q = 0; q < need->n; q++) {
				int ok;

				if (need->a[q].t != J_STR)
					continue;
				ok = required_by(w, need->a[q].s, need->a[q].n);
				for (i = 0; !ok && i < w->len; i++) {
					const struct jv *wd = ev_sc_getn(
						ev_sc_get(
							w->n[i],
							m ? "dependencies"
							  : "dependentRequired"),
						dr->k[j], dr->kn[j]);
					uint32_t z;

					for (z = 0; wd != NULL &&
						    wd->t == J_ARR && z < wd->n;
					     z++)
						ok |= ev_sc_jv_equal(
							&wd->a[z], &need->a[q],
							0);
				}
				if (!ok)
					ev_sc_issue(
						cx, "dependent-required-added",
						"dependent-required-removed", 0,
						&need->a[q], NULL,
						"%s requires '%s' with '%s', %s "
						"does not",
						RD(cx), need->a[q].s, dr->k[j],
						WR(cx));
			}
		}
	}
	ev_sc_check_same(cx, w, rn, "dependentSchemas");
	pn = ev_sc_get(rn, "propertyNames");
	if (pn != NULL && !(pn->t == J_BOOL && pn->v.b))
		ev_sc_check_same(cx, w, rn, "propertyNames");
	ev_sc_check_uneval(cx, w, rn, "unevaluatedProperties");
}

/* --------------------------------------------------------- anyOf, oneOf */

/* A writer of several types against branches: each type on its own
 * (["string", "null"] against anyOf [{string}, {null}]). */
static int split_by_type(struct cmp *cx, const struct view *w,
			 const struct jv *br, int one_of, uint32_t *bad,
			 uint32_t *other)
{
	static const int bits[] = {T_NULL, T_BOOL, T_OBJ, T_ARR,
				   T_STR,  T_INT,  T_FRAC};
	struct wsum *ws = malloc(sizeof(*ws));
	struct view *w2 = malloc(sizeof(*w2));
	size_t k, nbits = 0;
	uint32_t i;
	int ok = 1;

	if (ws != NULL)
		ws->vals = NULL;
	if (ws == NULL || w2 == NULL) {
		cx->res->oom = 1;
		ok = 0;
		goto out;
	}
	ev_sc_summarize(w, ws);
	for (k = 0; k < sizeof(bits) / sizeof(bits[0]); k++)
		nbits += (ws->types & bits[k]) != 0;
	if (nbits < 2) {
		ok = 0;
		goto out;
	}
	for (k = 0; k < sizeof(bits) / sizeof(bits[0]) && ok; k++) {
		int one = 0;

		if (!(ws->types & bits[k]))
			continue;
		*w2 = *w;
		w2->tmask = w->tmask & bits[k];
		for (i = 0; i < br->n && !one; i++) {
			struct view *r = malloc(sizeof(*r));

			if (r == NULL) {
				cx->res->oom = 1;
				break;
			}
			ev_sc_view_of(r, &br->a[i]);
			one = try_views(cx, w2, r);
			free(r);
			if (one && one_of &&
			    !ev_sc_one_branch(cx, w2, br, i, other)) {
				*bad = i; /* may match two branches */
				ok = 0;
				goto out;
			}
		}
		ok = one;
	}
out:
	if (ws != NULL)
		free(ws->vals);
	free(ws);
	free(w2);
	return ok;
}

/* The reader's anyOf/oneOf: some branch accepts the writer.  For oneOf,
 * no other branch may accept any of it, unless the writer has the same
 * oneOf: what cannot be proved disjoint is an incompatibility. */
static void check_branches(struct cmp *cx, const struct view *w,
			   const struct jv *rn, const char *kw,
			   const struct jv *wfrom)
{
	const struct jv *br = ev_sc_get(rn, kw);
	uint32_t i, bad = UINT32_MAX, other = 0;
	int ok = 0, one_of = strcmp(kw, "oneOf") == 0;

	if (br == NULL || br->t != J_ARR)
		return;
	if (one_of && ev_sc_view_has_equal(cx, w, "oneOf", br))
		one_of = 0; /* the writer's instances match exactly one */
	for (i = 0; i < br->n && !ok; i++)
		ok = try_nodes(cx, w, &br->a[i]);
	if (ok && one_of && !ev_sc_one_branch(cx, w, br, i - 1, &other)) {
		bad = i - 1;
		ok = 0;
	} else if (!ok) {
		ok = split_by_type(cx, w, br, one_of, &bad, &other);
	}
	if (bad != UINT32_MAX) {
		ev_sc_issue(
			cx, "one-of-overlap", "one-of-overlap", 0, rn, kw,
			"a value %s allows may match both branch %u and branch "
			"%u of %s's oneOf, which needs exactly one",
			WR(cx), (unsigned)(bad < other ? bad : other),
			(unsigned)(bad < other ? other : bad), RD(cx));
		return;
	}
	if (!ok) {
		if (wfrom != NULL)
			ev_sc_issue(
				cx, "branch-removed", "branch-added", 0, wfrom,
				NULL,
				"this branch of %s has no counterpart in %s's "
				"%s",
				WR(cx), RD(cx), kw);
		else
			ev_sc_issue(
				cx, "branch-added", "branch-removed", 0, rn, kw,
				"no branch of %s's %s accepts everything %s "
				"allows",
				RD(cx), kw, WR(cx));
	}
}

/* every reader node's keywords against the writer conjunction */
static void check_conj(struct cmp *cx, const struct view *w,
		       const struct view *r, const struct jv *wfrom)
{
	struct wsum *ws = malloc(sizeof(*ws));
	size_t i;

	if (ws == NULL) {
		cx->res->oom = 1;
		return;
	}
	ev_sc_summarize(w, ws);
	if (ws->types == 0)
		goto out; /* the writer allows nothing */
	if (ws->finite && ev_sc_check_finite(cx, w, ws, r))
		goto out;
	for (i = 0; i < r->len; i++) {
		const struct jv *rn = r->n[i], *x = ev_sc_ext_ref(rn);

		if (x != NULL) {
			size_t k;
			int same = 0;

			for (k = 0; k < w->len && !same; k++) {
				const struct jv *y = ev_sc_ext_ref(w->n[k]);

				same = y != NULL && ev_sc_jv_equal(x, y, 0);
			}
			if (same)
				ev_sc_issue(
					cx, "ref-not-followed",
					"ref-not-followed", 1, rn, NULL,
					"'%s' is not followed: assumed the same "
					"in old and new",
					x->s);
			else
				ev_sc_issue(
					cx, "ref-changed", "ref-changed", 0, rn,
					NULL,
					"'%s' is not followed, and %s does not "
					"have it at the same place",
					x->s, WR(cx));
		}
		ev_sc_check_types(cx, ws, rn);
		ev_sc_check_values(cx, w, ws, rn);
		if (ws->types & T_NUM)
			ev_sc_check_numbers(cx, w, ws, rn);
		if (ws->types & T_STR)
			ev_sc_check_strings(cx, w, ws, rn);
		if (ws->types & T_ARR)
			check_arrays(cx, w, ws, rn);
		if (ws->types & T_OBJ)
			check_objects(cx, w, ws, r, rn);
		ev_sc_check_same(cx, w, rn, "not");
		ev_sc_check_cond(cx, w, rn);
		check_branches(cx, w, rn, "anyOf", wfrom);
		check_branches(cx, w, rn, "oneOf", wfrom);
	}
out:
	free(ws->vals);
	free(ws);
}

/* the writer's anyOf/oneOf, split: each branch must pass (split[] bit 1:
 * the node's anyOf is split, bit 2: its oneOf) */
static void split_writer(struct cmp *cx, const struct view *w,
			 const struct view *r, const struct jv *wfrom,
			 int *splits)
{
	struct view *w2;
	const struct jv *br = NULL;
	size_t i;
	uint32_t b;
	int bit = 0;

	for (i = 0; i < w->len && br == NULL; i++) {
		const struct jv *any = ev_sc_get(w->n[i], "anyOf");
		const struct jv *one = ev_sc_get(w->n[i], "oneOf");

		if (any != NULL && any->t == J_ARR && !(w->split[i] & 1)) {
			br = any;
			bit = 1;
		} else if (one != NULL && one->t == J_ARR &&
			   !(w->split[i] & 2)) {
			br = one;
			bit = 2;
		}
	}
	if (br == NULL) {
		/* no disjunction left: one conjunction */
		check_conj(cx, w, r, wfrom);
		return;
	}
	i--;
	w2 = malloc(sizeof(*w2));
	if (w2 == NULL) {
		cx->res->oom = 1;
		return;
	}
	for (b = 0; b < br->n; b++) {
		if (++*splits > SPLIT_MAX) {
			ev_sc_issue(
				cx, "too-complex", "too-complex", 0, w->n[i],
				NULL,
				"too many anyOf/oneOf combinations to compare");
			break;
		}
		*w2 = *w;
		w2->split[i] |= (unsigned char)bit;
		ev_sc_view_add(w2, &br->a[b], 0);
		split_writer(cx, w2, r, &br->a[b], splits);
	}
	free(w2);
}

static int check(struct cmp *cx, const struct view *w, const struct view *r,
		 const char *rule_b, const char *rule_f, const struct jv *at)
{
	size_t i;
	int splits = 0;

	if (w->is_false || (r->len == 0 && !r->is_false))
		return 0;
	if (--cx->budget < 0) {
		if (cx->budget == -1)
			ev_sc_issue(cx, "too-complex", "too-complex", 0,
				    at ? at : (r->len ? r->n[0] : NULL), NULL,
				    "the schemas are too large to compare");
		else if (cx->silent)
			cx->silent_fail++;
		return 0;
	}
	if (w->overflow || r->overflow) {
		ev_sc_issue(cx, "too-complex", "too-complex", 0,
			    at ? at : (r->len ? r->n[0] : NULL), NULL,
			    "allOf/$ref nesting too deep to compare");
		return 0;
	}
	if (r->is_false) {
		ev_sc_issue(cx, rule_b, rule_f, 0,
			    at ? at : (r->len ? r->n[0] : NULL), NULL,
			    "%s allows no value here, %s does", RD(cx), WR(cx));
		return 0;
	}
	/* a pair being compared already (a recursive schema): assume it
	 * holds, as the enclosing comparison decides it */
	for (i = 0; i < cx->depth; i++)
		if (ev_sc_view_same(cx->stack[i].w, w) &&
		    ev_sc_view_same(cx->stack[i].r, r))
			return 0;
	if (cx->depth == STACK_MAX) {
		ev_sc_issue(cx, "too-complex", "too-complex", 0,
			    at ? at : r->n[0], NULL,
			    "the schemas nest too deep to compare");
		return 0;
	}
	cx->stack[cx->depth].w = w;
	cx->stack[cx->depth].r = r;
	cx->depth++;
	split_writer(cx, w, r, NULL, &splits);
	cx->depth--;
	return 0;
}
