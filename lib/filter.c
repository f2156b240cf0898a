/*
 * filter.c - struct ev_filter: which events a reader passes on, by type
 * and stream globs, --where expressions (expr.c) and a time range.
 *
 * Kinds of filter are ANDed; repeated --type or --stream globs are ORed.
 * The type is checked on the raw record before anything is decoded, so
 * events a type filter drops cost a few bytes of reading; --where
 * expressions are evaluated on the raw record too, in one pass over it,
 * and only the events they keep are decoded (and validated).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr_int.h"
#include "upcast_int.h"

struct glob {
	char *pat;
	size_t len;
	int literal;
};

struct ev_filter {
	struct glob *types, *streams;
	size_t ntypes, nstreams;
	struct ev_expr **w; /* each --where, all must hold */
	size_t nw;
	ev_time_t since, until;
	char name[512];
};

struct ev_filter *ev_filter_new(void)
{
	struct ev_filter *f = calloc(1, sizeof(*f));

	if (f != NULL) {
		f->since = EV_TIME_NONE;
		f->until = EV_TIME_NONE;
	}
	return f;
}

void ev_filter_free(struct ev_filter *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->ntypes; i++)
		free(f->types[i].pat);
	for (i = 0; i < f->nstreams; i++)
		free(f->streams[i].pat);
	for (i = 0; i < f->nw; i++)
		ev_expr_free(f->w[i]);
	free(f->types);
	free(f->streams);
	free(f->w);
	free(f);
}

static int add_glob(struct glob **v, size_t *n, const char *pat)
{
	struct glob *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (nv == NULL)
		return EV_ERR;
	*v = nv;
	nv[*n].pat = strdup(pat);
	if (nv[*n].pat == NULL)
		return EV_ERR;
	nv[*n].len = strlen(pat);
	nv[*n].literal = strpbrk(pat, "*?[\\") == NULL;
	(*n)++;
	return 0;
}

int ev_filter_add_type(struct ev_filter *f, const char *glob)
{
	return add_glob(&f->types, &f->ntypes, glob);
}

int ev_filter_add_stream(struct ev_filter *f, const char *glob)
{
	return add_glob(&f->streams, &f->nstreams, glob);
}

int ev_filter_add_stream_exact(struct ev_filter *f, const char *name)
{
	if (add_glob(&f->streams, &f->nstreams, name) != 0)
		return EV_ERR;
	f->streams[f->nstreams - 1].literal = 1; /* '*', '?' and '[' too */
	return 0;
}

int ev_filter_add_category(struct ev_filter *f, const char *category,
			   struct ev_error *err)
{
	char *glob;
	int r;

	/* Message DB: the category of order-7 is order, and a stream
	 * named just order is in it too */
	if (category[0] == '\0' || strpbrk(category, "*?[\\") != NULL)
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' is a name, not a pattern", category);
	if (asprintf(&glob, "%s-*", category) < 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	r = add_glob(&f->streams, &f->nstreams, category) != 0 ||
	    add_glob(&f->streams, &f->nstreams, glob) != 0;
	free(glob);
	return r ? ev_seterr(err, EV_ERR, "out of memory") : 0;
}

ev_time_t ev_filter_since(const struct ev_filter *f)
{
	return f->since;
}

ev_time_t ev_filter_until(const struct ev_filter *f)
{
	return f->until;
}

int ev_filter_only_streams(const struct ev_filter *f)
{
	return f->ntypes == 0 && f->nw == 0 && f->since == EV_TIME_NONE &&
	       f->until == EV_TIME_NONE;
}

void ev_filter_set_time(struct ev_filter *f, ev_time_t since, ev_time_t until)
{
	f->since = since;
	f->until = until;
}

int ev_filter_is_empty(const struct ev_filter *f)
{
	return f->ntypes == 0 && f->nstreams == 0 && f->nw == 0 &&
	       f->since == EV_TIME_NONE && f->until == EV_TIME_NONE;
}

int ev_filter_needs_event(const struct ev_filter *f)
{
	return f->nstreams != 0 || f->nw != 0 || f->since != EV_TIME_NONE ||
	       f->until != EV_TIME_NONE;
}

static int glob_match(struct ev_filter *f, const struct glob *g, size_t n,
		      const char *s, size_t sn)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (g[i].literal) {
			if (g[i].len == sn && memcmp(g[i].pat, s, sn) == 0)
				return 1;
			continue;
		}
		if (sn >= sizeof(f->name))
			continue;
		memcpy(f->name, s, sn);
		f->name[sn] = '\0';
		if (fnmatch(g[i].pat, f->name, 0) == 0)
			return 1;
	}
	return 0;
}

int ev_filter_add_where(struct ev_filter *f, const char *expr,
			struct ev_error *err)
{
	struct ev_expr *e, **nv;
	int r;

	if ((r = ev_expr_compile(&e, expr, err)) != 0)
		return r;
	nv = realloc(f->w, (f->nw + 1) * sizeof(*nv));
	if (nv == NULL) {
		ev_expr_free(e);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	f->w = nv;
	f->w[f->nw++] = e;
	return 0;
}

int ev_filter_precheck(const struct ev_filter *f, const uint8_t *rec, size_t n)
{
	struct ev_str type;
	size_t i;

	if (f->ntypes == 0 && f->nw == 0)
		return 1;
	if (ev_event_peek_type(rec, n, &type) != 0)
		return 1; /* let the full decode report it */
	if (f->ntypes != 0 && !glob_match((struct ev_filter *)f, f->types,
					  f->ntypes, type.p, type.n))
		return 0;
	for (i = 0; i < f->nw; i++)
		if (!ev_expr_precheck(f->w[i], &type))
			return 0;
	/* the whole expression on the stored record, in one pass over it:
	 * an event it drops is never decoded */
	for (i = 0; i < f->nw; i++)
		if (ev_expr_match_record(f->w[i], rec, n) == 0)
			return 0;
	return 1;
}

int ev_filter_match(struct ev_filter *f, const struct ev_event *ev)
{
	size_t i;

	if (f->ntypes &&
	    !glob_match(f, f->types, f->ntypes, ev->type.p, ev->type.n))
		return 0;
	if (f->nstreams &&
	    (ev->stream.p == NULL || !glob_match(f, f->streams, f->nstreams,
						 ev->stream.p, ev->stream.n)))
		return 0;
	if (f->since != EV_TIME_NONE && ev->time < f->since)
		return 0;
	if (f->until != EV_TIME_NONE && ev->time > f->until)
		return 0;
	for (i = 0; i < f->nw; i++)
		if (!ev_expr_match(f->w[i], ev))
			return 0;
	return 1;
}

/* ------------------------------------------------------------ skipping */

/*
 * What a read with this filter may pass by unread (evlog(5) Summaries):
 * a batch whose summary has none of the types the --type names can be,
 * or none of the categories the --stream globs can be in.  Only literal
 * names count: a type glob turns skipping by type off, and a stream glob
 * does so unless its literal start holds a '-' (every stream it matches
 * is then in the category before that '-').
 */

static int add_key(uint64_t **v, size_t *n, uint64_t k)
{
	uint64_t *nv;
	size_t i;

	for (i = 0; i < *n; i++)
		if ((*v)[i] == k)
			return 0;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (nv == NULL)
		return -1;
	*v = nv;
	nv[(*n)++] = k;
	return 0;
}

/* Can an event stored as chain c's type become type t (n bytes) through
 * its steps, retypes followed to other chains?  Lua steps can do
 * anything. */
static int can_become(const struct ev_upcaster *u, const struct chain *c,
		      const char *t, size_t n)
{
	const struct chain **stack, **seen;
	size_t ns = 0, nseen = 0, i, j, k;
	int r = 0;

	stack = calloc(u->nchains + 1, sizeof(*stack));
	seen = calloc(u->nchains + 1, sizeof(*seen));
	if (stack == NULL || seen == NULL) {
		r = 1; /* cannot tell: it may */
		goto out;
	}
	stack[ns++] = c;
	seen[nseen++] = c;
	while (ns > 0 && !r) {
		const struct chain *cc = stack[--ns];
		for (i = 0; i < cc->nsteps && !r; i++) {
			const struct step *st = cc->steps[i];
			if (st == NULL || st->is_lua) {
				r = 1;
				break;
			}
			for (j = 0; j < st->nops && !r; j++) {
				const struct op *op = &st->ops[j];
				const struct chain *to;
				if (op->kind != OP_RETYPE)
					continue;
				if (op->type_n == n &&
				    memcmp(op->type, t, n) == 0) {
					r = 1;
					break;
				}
				to = ev_upcast_find_chain(u, op->type,
							  op->type_n);
				if (to == NULL)
					continue;
				for (k = 0; k < nseen && seen[k] != to; k++)
					;
				if (k < nseen || nseen > u->nchains)
					continue;
				seen[nseen++] = to;
				stack[ns++] = to;
			}
		}
	}
out:
	free(stack);
	free(seen);
	return r;
}

static int type_keys(struct ev_skip *s, const struct ev_filter *f,
		     const struct ev_upcaster *up)
{
	size_t i, j;

	for (i = 0; i < f->ntypes; i++) {
		const struct glob *g = &f->types[i];
		if (!g->literal)
			return 0; /* a glob: any type may match */
		if (add_key(&s->tkeys, &s->nt,
			    ev_sum_type_key(g->pat, g->len)) != 0)
			return -1;
		/* upcast: every stored type that can become it */
		for (j = 0; up != NULL && j < up->nchains; j++) {
			const struct chain *c = up->chains[j];
			if (can_become(up, c, g->pat, g->len) &&
			    add_key(&s->tkeys, &s->nt,
				    ev_sum_type_key(c->type, c->type_n)) != 0)
				return -1;
		}
	}
	s->types = f->ntypes > 0;
	return 0;
}

static int cat_keys(struct ev_skip *s, const struct ev_filter *f,
		    const struct ev_upcaster *up)
{
	size_t i, lit;

	if (f->nstreams == 0 ||
	    (up != NULL && ev_upcaster_changes_envelope(up)))
		return 0;
	for (i = 0; i < f->nstreams; i++) {
		const struct glob *g = &f->streams[i];
		lit = g->literal ? g->len : strcspn(g->pat, "*?[\\");
		if (lit < g->len && memchr(g->pat, '-', lit) == NULL)
			return 0; /* its category is not known */
		if (add_key(&s->ckeys, &s->nc,
			    ev_sum_stream_key(g->pat, lit)) != 0)
			return -1;
	}
	s->cats = 1;
	return 0;
}

void ev_skip_free(struct ev_skip *s)
{
	if (s == NULL)
		return;
	free(s->tkeys);
	free(s->ckeys);
	free(s);
}

int ev_skip_off(void)
{
	const char *off = getenv("EVLOG_NO_SKIP");

	return off != NULL && *off != '\0' && strcmp(off, "0") != 0;
}

struct ev_skip *ev_filter_skip(const struct ev_filter *f,
			       const struct ev_upcaster *up)
{
	struct ev_skip *s;

	if (f == NULL || ev_skip_off())
		return NULL;
	/* --check counts every record it reads */
	if (up != NULL && up->counting)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL; /* a read that skips nothing is right too */
	if (type_keys(s, f, up) != 0 || cat_keys(s, f, up) != 0 ||
	    (!s->types && !s->cats)) {
		ev_skip_free(s);
		return NULL;
	}
	return s;
}

int ev_skip_may_match(const struct ev_skip *s, const uint8_t *body)
{
	if (s->types && !ev_sum_may_hold(body, s->tkeys, s->nt))
		return 0;
	if (s->cats && !ev_sum_may_hold(body, s->ckeys, s->nc))
		return 0;
	return 1;
}
