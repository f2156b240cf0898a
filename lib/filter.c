/*
 * filter.c - struct ev_filter: which events a reader passes on, by type
 * and stream globs, 'PATH OP VALUE' conditions and a time range.
 *
 * Kinds of filter are ANDed; repeated --type or --stream globs are ORed.
 * The type is checked on the raw record before anything is decoded, so
 * events a type filter drops cost a few bytes of reading.
 */
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_EXISTS };

struct where {
	char *path;
	int op;
	struct ev_buf value; /* msgpack */
	int is_time;
	ev_time_t t;
};

struct glob {
	char *pat;
	size_t len;
	int literal;
};

struct ev_filter {
	struct glob *types, *streams;
	size_t ntypes, nstreams;
	struct where *w;
	size_t nw;
	ev_time_t since, until;
	struct ev_buf scratch;
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
	for (i = 0; i < f->nw; i++) {
		free(f->w[i].path);
		ev_buf_free(&f->w[i].value);
	}
	free(f->types);
	free(f->streams);
	free(f->w);
	ev_buf_free(&f->scratch);
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
	struct where w, *nv;
	const char *p = expr, *ps, *pe, *v;
	struct ev_json js;
	size_t vn;

	memset(&w, 0, sizeof(w));
	while (*p == ' ' || *p == '\t')
		p++;
	ps = p;
	while (*p && !strchr(" \t<>=!", *p))
		p++;
	pe = p;
	if (pe == ps)
		return ev_seterr(err, EV_EUSAGE,
				 "'%s': expected a path such as data.amount",
				 expr);
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "==", 2) == 0)
		w.op = OP_EQ, p += 2;
	else if (strncmp(p, "!=", 2) == 0)
		w.op = OP_NE, p += 2;
	else if (strncmp(p, "<=", 2) == 0)
		w.op = OP_LE, p += 2;
	else if (strncmp(p, ">=", 2) == 0)
		w.op = OP_GE, p += 2;
	else if (*p == '<')
		w.op = OP_LT, p++;
	else if (*p == '>')
		w.op = OP_GT, p++;
	else if (strncmp(p, "exists", 6) == 0 && (p[6] == '\0' || p[6] == ' '))
		w.op = OP_EXISTS, p += 6;
	else
		return ev_seterr(err, EV_EUSAGE,
				 "'%s': expected an operator: ==, !=, <, "
				 "<=, >, >= or exists",
				 expr);
	while (*p == ' ' || *p == '\t')
		p++;
	v = p;
	vn = strlen(v);
	while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	if (w.op == OP_EXISTS && vn != 0)
		return ev_seterr(err, EV_EUSAGE,
				 "'%s': 'exists' takes no value", expr);
	if (w.op != OP_EXISTS && vn == 0)
		return ev_seterr(err, EV_EUSAGE, "'%s': expected a value",
				 expr);
	w.path = strndup(ps, (size_t)(pe - ps));
	if (w.path == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (w.op != OP_EXISTS) {
		if (strcmp(w.path, "time") == 0) {
			char tmp[128];
			const char *tv = v;
			size_t tn = vn;
			if (tn >= 2 && tv[0] == '"' && tv[tn - 1] == '"') {
				tv++;
				tn -= 2;
			}
			/* no time is this long: say so, rather than cut it */
			if (tn >= sizeof(tmp)) {
				free(w.path);
				return ev_seterr(err, EV_EUSAGE,
						 "'%.40s...': a time of %zu "
						 "characters is not a time",
						 expr, tn);
			}
			memcpy(tmp, tv, tn);
			tmp[tn] = '\0';
			if (ev_time_parse_user(tmp, ev_now(), &w.t) != 0) {
				free(w.path);
				return ev_seterr(err, EV_EUSAGE,
						 "'%s': '%s' is not a time",
						 expr, tmp);
			}
			w.is_time = 1;
		} else {
			/* a JSON value, or else a bare string */
			ev_json_init(&js, v, vn);
			if (ev_json_value(&js, &w.value) != 0 ||
			    ev_json_ws(&js) >= 0) {
				w.value.len = 0;
				if (ev_buf_mp_str(&w.value, v, vn) != 0) {
					free(w.path);
					return ev_seterr(err, EV_ERR,
							 "out of memory");
				}
			}
		}
	}
	nv = realloc(f->w, (f->nw + 1) * sizeof(*nv));
	if (nv == NULL) {
		free(w.path);
		ev_buf_free(&w.value);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	f->w = nv;
	f->w[f->nw++] = w;
	return 0;
}

int ev_filter_precheck(const struct ev_filter *f, const uint8_t *rec, size_t n)
{
	struct ev_str type;

	if (f->ntypes == 0)
		return 1;
	if (ev_event_peek_type(rec, n, &type) != 0)
		return 1; /* let the full decode report it */
	return glob_match((struct ev_filter *)f, f->types, f->ntypes, type.p,
			  type.n);
}

/* -1, 0, 1, or 2 when not comparable */
static int compare(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	struct ev_mp_item x, y;
	const uint8_t *pa = a, *pb = b;

	if (ev_mp_read(&pa, a + an, &x) != 0 ||
	    ev_mp_read(&pb, b + bn, &y) != 0)
		return 2;
	if ((x.type == EV_MP_UINT || x.type == EV_MP_INT ||
	     x.type == EV_MP_FLOAT) &&
	    (y.type == EV_MP_UINT || y.type == EV_MP_INT ||
	     y.type == EV_MP_FLOAT)) {
		if (x.type == EV_MP_UINT && y.type == EV_MP_UINT)
			return x.v.u < y.v.u ? -1 : x.v.u > y.v.u;
		if (x.type != EV_MP_FLOAT && y.type != EV_MP_FLOAT) {
			/* at least one negative int */
			if (x.type == EV_MP_INT && y.type == EV_MP_INT)
				return x.v.i < y.v.i ? -1 : x.v.i > y.v.i;
			return x.type == EV_MP_INT ? -1 : 1;
		}
		double dx = x.type == EV_MP_FLOAT  ? x.v.f
			    : x.type == EV_MP_UINT ? (double)x.v.u
						   : (double)x.v.i;
		double dy = y.type == EV_MP_FLOAT  ? y.v.f
			    : y.type == EV_MP_UINT ? (double)y.v.u
						   : (double)y.v.i;
		if (isnan(dx) || isnan(dy))
			return 2;
		return dx < dy ? -1 : dx > dy;
	}
	if (x.type == EV_MP_STR && y.type == EV_MP_STR) {
		size_t m = x.n < y.n ? x.n : y.n;
		int c = memcmp(x.p, y.p, m);
		if (c != 0)
			return c < 0 ? -1 : 1;
		return x.n < y.n ? -1 : x.n > y.n;
	}
	if (x.type == y.type && (x.type == EV_MP_NIL || x.type == EV_MP_BOOL)) {
		if (x.type == EV_MP_NIL || x.v.b == y.v.b)
			return 0;
		return 3; /* unequal, unordered */
	}
	/* containers and mixed types: equal only when byte-identical */
	if (an == bn && memcmp(a, b, an) == 0)
		return 0;
	return 3;
}

static int apply(int op, int c)
{
	switch (op) {
	case OP_EQ:
		return c == 0;
	case OP_NE:
		return c != 0;
	case OP_LT:
		return c == -1;
	case OP_LE:
		return c == -1 || c == 0;
	case OP_GT:
		return c == 1;
	case OP_GE:
		return c == 1 || c == 0;
	}
	return 0;
}

int ev_filter_match(struct ev_filter *f, const struct ev_event *ev)
{
	const uint8_t *v;
	size_t vn, i;
	int r, c;
	static const uint8_t nil = 0xc0;

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
	for (i = 0; i < f->nw; i++) {
		struct where *w = &f->w[i];
		if (w->is_time) {
			c = ev->time < w->t ? -1 : ev->time > w->t;
			if (!apply(w->op, c))
				return 0;
			continue;
		}
		r = ev_event_path(ev, w->path, &f->scratch, &v, &vn);
		if (r < 0)
			return 0;
		if (w->op == OP_EXISTS) {
			if (r == 0)
				return 0;
			continue;
		}
		if (r == 0) {
			v = &nil;
			vn = 1;
		}
		c = compare(v, vn, w->value.p, w->value.len);
		if (!apply(w->op, c))
			return 0;
	}
	return 1;
}
