/*
 * projtest.c - what evproject --test compares (evproject(1) TESTING
 * PROJECTIONS): the states a case expects against those a run printed,
 * and the events it expects emitted against those it emitted, as JSON
 * values (object keys in any order, 1 equal to 1.0), with a readable
 * account of each difference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

/* ------------------------------------------------------------ values */

/* A NUL after the text of b, not counted: callers print it as a C
 * string. */
static void terminate(struct ev_buf *b)
{
	if (ev_buf_putc(b, '\0') == 0)
		b->len--;
}

static int parse(const char *what, const char *s, size_t n, struct ev_buf *out,
		 struct ev_error *err)
{
	struct ev_json js;

	out->len = 0;
	ev_json_init(&js, s, n);
	if (ev_json_value(&js, out) != 0)
		return ev_seterr(err, EV_EDATA, "%s: %s", what,
				 js.errmsg ? js.errmsg : "not JSON");
	if (ev_json_ws(&js) != -1)
		return ev_seterr(err, EV_EDATA, "%s: more than one JSON value",
				 what);
	return 0;
}

static int is_num(const struct ev_mp_item *it)
{
	return it->type == EV_MP_UINT || it->type == EV_MP_INT ||
	       it->type == EV_MP_FLOAT;
}

static double num(const struct ev_mp_item *it)
{
	return it->type == EV_MP_FLOAT	? it->v.f
	       : it->type == EV_MP_UINT ? (double)it->v.u
					: (double)it->v.i;
}

static int value_equal(const uint8_t **pa, const uint8_t *ea,
		       const uint8_t **pb, const uint8_t *eb, int depth);

/* The value of key k (kn bytes) in the map whose entries start at p (n
 * of them): *vp, or NULL. */
static const uint8_t *map_find(const uint8_t *p, const uint8_t *end, uint32_t n,
			       const uint8_t *k, uint32_t kn)
{
	struct ev_mp_item key;
	const uint8_t *found = NULL;
	uint32_t i;

	for (i = 0; i < n; i++) {
		if (ev_mp_read(&p, end, &key) != 0)
			return NULL;
		if (key.type == EV_MP_STR && key.n == kn &&
		    memcmp(key.p, k, kn) == 0)
			found = p; /* the last of repeated keys */
		if (ev_mp_skip(&p, end, EV_MAX_DEPTH) != 0)
			return NULL;
	}
	return found;
}

static int value_equal(const uint8_t **pa, const uint8_t *ea,
		       const uint8_t **pb, const uint8_t *eb, int depth)
{
	struct ev_mp_item a, b, k;
	const uint8_t *ma, *mb, *v;
	uint32_t i;

	if (depth <= 0 || ev_mp_read(pa, ea, &a) != 0 ||
	    ev_mp_read(pb, eb, &b) != 0)
		return 0;
	if (is_num(&a) && is_num(&b)) {
		if (a.type != EV_MP_FLOAT && b.type != EV_MP_FLOAT)
			return ((a.type == EV_MP_INT && a.v.i < 0) ==
				(b.type == EV_MP_INT && b.v.i < 0)) &&
			       a.v.u == b.v.u;
		return num(&a) == num(&b);
	}
	if (a.type != b.type)
		return 0;
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
			return 0;
		for (i = 0; i < a.n; i++)
			if (!value_equal(pa, ea, pb, eb, depth - 1))
				return 0;
		return 1;
	case EV_MP_MAP:
		/* as sets of keys: every key of a in b with an equal value,
		 * and as many keys */
		ma = *pa;
		mb = *pb;
		for (i = 0; i < a.n; i++) {
			if (ev_mp_read(pa, ea, &k) != 0 || k.type != EV_MP_STR)
				return 0;
			v = map_find(mb, eb, b.n, k.p, k.n);
			if (v == NULL ||
			    !value_equal(pa, ea, &v, eb, depth - 1))
				return 0;
		}
		for (i = 0; i < b.n; i++) {
			if (ev_mp_read(pb, eb, &k) != 0 ||
			    k.type != EV_MP_STR ||
			    map_find(ma, ea, a.n, k.p, k.n) == NULL ||
			    ev_mp_skip(pb, eb, EV_MAX_DEPTH) != 0)
				return 0;
		}
		return 1;
	default:
		return 0;
	}
}

static int equal(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return value_equal(&a, a + an, &b, b + bn, EV_MAX_DEPTH);
}

static int put_json(struct ev_buf *out, const uint8_t *p, size_t n)
{
	struct ev_error e;

	return ev_json_put_mp(out, &p, p + n, EV_MAX_DEPTH, &e);
}

/* The value that follows *p (moved past it): its bytes. */
static int take(const uint8_t **p, const uint8_t *end, const uint8_t **v,
		size_t *n)
{
	*v = *p;
	if (ev_mp_skip(p, end, EV_MAX_DEPTH) != 0)
		return -1;
	*n = (size_t)(*p - *v);
	return 0;
}

/* ------------------------------------------------------------ states */

/* A Lua projection's -o json output, [{"partition":K,"state":S},...],
 * as the object {K: S} an expect.json holds (K as text). */
static int as_object(const uint8_t *p, size_t n, struct ev_buf *out)
{
	const uint8_t *end = p + n, *kv, *sv;
	struct ev_mp_item arr, m, k;
	struct ev_buf key = {0};
	size_t kn, sn;
	uint32_t i, j;
	uint8_t hdr[8], *o;
	int r = -1;

	out->len = 0;
	if (ev_mp_read(&p, end, &arr) != 0 || arr.type != EV_MP_ARRAY)
		return -1;
	o = ev_mp_map_hdr(hdr, arr.n);
	ev_buf_append(out, hdr, (size_t)(o - hdr));
	for (i = 0; i < arr.n; i++) {
		kv = sv = NULL;
		kn = sn = 0;
		if (ev_mp_read(&p, end, &m) != 0 || m.type != EV_MP_MAP)
			goto out;
		for (j = 0; j < m.n; j++) {
			if (ev_mp_read(&p, end, &k) != 0 || k.type != EV_MP_STR)
				goto out;
			if (k.n == 9 && memcmp(k.p, "partition", 9) == 0) {
				if (take(&p, end, &kv, &kn) != 0)
					goto out;
			} else if (k.n == 5 && memcmp(k.p, "state", 5) == 0) {
				if (take(&p, end, &sv, &sn) != 0)
					goto out;
			} else if (ev_mp_skip(&p, end, EV_MAX_DEPTH) != 0) {
				goto out;
			}
		}
		if (kv == NULL || sv == NULL)
			goto out;
		/* a string key as it is, any other as its JSON */
		key.len = 0;
		if (*kv >= 0xa0 && *kv <= 0xbf) {
			ev_buf_append(out, kv, kn);
		} else if (put_json(&key, kv, kn) != 0 ||
			   ev_buf_mp_str(out, (const char *)key.p, key.len)) {
			goto out;
		}
		ev_buf_append(out, sv, sn);
	}
	r = 0;
out:
	ev_buf_free(&key);
	return r;
}

/* A line of the account: "  what: JSON". */
static void line(struct ev_buf *d, const char *what, const uint8_t *v, size_t n)
{
	ev_buf_printf(d, "  %s: ", what);
	if (v == NULL)
		ev_buf_puts(d, "(none)");
	else
		put_json(d, v, n);
	ev_buf_putc(d, '\n');
}

/* Objects a (expected) and b (got), key by key, into d. */
static void diff_objects(const uint8_t *a, size_t an, const uint8_t *b,
			 size_t bn, const char *label, struct ev_buf *d)
{
	const uint8_t *pa = a, *ea = a + an, *pb = b, *eb = b + bn, *v, *w;
	struct ev_mp_item ma, mb, k;
	struct ev_buf name = {0};
	size_t vn, wn;
	uint32_t i;

	if (ev_mp_read(&pa, ea, &ma) != 0 || ma.type != EV_MP_MAP ||
	    ev_mp_read(&pb, eb, &mb) != 0 || mb.type != EV_MP_MAP) {
		line(d, "expected", a, an);
		line(d, "got", b, bn);
		return;
	}
	for (i = 0; i < ma.n; i++) {
		if (ev_mp_read(&pa, ea, &k) != 0 || take(&pa, ea, &v, &vn))
			break;
		w = map_find(pb, eb, mb.n, k.p, k.n);
		wn = 0;
		if (w != NULL) {
			const uint8_t *q = w;
			(void)take(&q, eb, &w, &wn);
		}
		if (w != NULL && equal(v, vn, w, wn))
			continue;
		name.len = 0;
		ev_buf_printf(&name, "%s %.*s, expected", label, (int)k.n,
			      (const char *)k.p);
		line(d, (const char *)name.p, v, vn);
		name.len = 0;
		ev_buf_printf(&name, "%s %.*s, got", label, (int)k.n,
			      (const char *)k.p);
		line(d, (const char *)name.p, w, wn);
	}
	pa = a;
	(void)ev_mp_read(&pa, ea, &ma);
	for (i = 0; i < mb.n; i++) {
		if (ev_mp_read(&pb, eb, &k) != 0 || take(&pb, eb, &v, &vn))
			break;
		if (map_find(pa, ea, ma.n, k.p, k.n) != NULL)
			continue;
		name.len = 0;
		ev_buf_printf(&name, "%s %.*s, not expected", label, (int)k.n,
			      (const char *)k.p);
		line(d, (const char *)name.p, v, vn);
	}
	ev_buf_putc(&name, '\0');
	ev_buf_free(&name);
}

int ev_projtest_states(const char *expect, size_t en, const char *got,
		       size_t gn, int lua, struct ev_buf *diff,
		       struct ev_error *err)
{
	struct ev_buf a = {0}, b = {0}, o = {0};
	int r;

	if ((r = parse("expect.json", expect, en, &a, err)) != 0)
		goto out;
	if ((r = parse("the states printed", got, gn, &b, err)) != 0)
		goto out;
	if (lua) {
		if (as_object(b.p, b.len, &o) != 0) {
			r = ev_seterr(err, EV_EDATA,
				      "the states printed are not a list of "
				      "partitions and states");
			goto out;
		}
		ev_buf_free(&b);
		b = o;
		o.p = NULL;
	}
	if (equal(a.p, a.len, b.p, b.len)) {
		r = 0;
		goto out;
	}
	r = 1;
	if (lua)
		diff_objects(a.p, a.len, b.p, b.len, "partition", diff);
	else {
		line(diff, "expected", a.p, a.len);
		line(diff, "got", b.p, b.len);
	}
out:
	ev_buf_free(&a);
	ev_buf_free(&b);
	ev_buf_free(&o);
	terminate(diff);
	return r;
}

/* ------------------------------------------------------------ emitted */

/* Is every key of the expected event e (an object) in the event g with
 * an equal value?  What e leaves out (id, time, offset) is not checked. */
static int event_matches(const uint8_t *e, size_t en, const uint8_t *g,
			 size_t gn)
{
	const uint8_t *p = e, *end = e + en, *q = g, *v, *w;
	struct ev_mp_item m, gm, k;
	size_t vn, wn;
	uint32_t i;

	if (ev_mp_read(&p, end, &m) != 0 || m.type != EV_MP_MAP ||
	    ev_mp_read(&q, g + gn, &gm) != 0 || gm.type != EV_MP_MAP)
		return equal(e, en, g, gn);
	for (i = 0; i < m.n; i++) {
		if (ev_mp_read(&p, end, &k) != 0 || take(&p, end, &v, &vn))
			return 0;
		w = map_find(q, g + gn, gm.n, k.p, k.n);
		if (w == NULL)
			return 0;
		{
			const uint8_t *t = w;
			if (take(&t, g + gn, &w, &wn) != 0)
				return 0;
		}
		if (!equal(v, vn, w, wn))
			return 0;
	}
	return 1;
}

/* The lines of text as values, into vals (msgpack, one after another)
 * with their ends in ends. */
static int lines(const char *what, const char *s, size_t n, struct ev_buf *vals,
		 size_t **ends, size_t *count, struct ev_error *err)
{
	const char *p = s, *nl;
	struct ev_buf one = {0};
	size_t cap = 0, ln = 0;
	char label[64];
	int r = 0;

	*count = 0;
	*ends = NULL;
	while (p < s + n) {
		nl = memchr(p, '\n', (size_t)(s + n - p));
		if (nl == NULL)
			nl = s + n;
		ln++;
		if (nl > p) {
			snprintf(label, sizeof(label), "%s:%zu", what, ln);
			if ((r = parse(label, p, (size_t)(nl - p), &one,
				       err)) != 0)
				break;
			if (*count == cap) {
				size_t *ne;
				cap = cap ? 2 * cap : 16;
				ne = realloc(*ends, cap * sizeof(*ne));
				if (ne == NULL) {
					r = ev_seterr(err, EV_ERR,
						      "out of memory");
					break;
				}
				*ends = ne;
			}
			ev_buf_append(vals, one.p, one.len);
			(*ends)[(*count)++] = vals->len;
		}
		p = nl + 1;
	}
	ev_buf_free(&one);
	return r;
}

int ev_projtest_emitted(const char *expect, size_t en, const char *got,
			size_t gn, struct ev_buf *diff, struct ev_error *err)
{
	struct ev_buf a = {0}, b = {0};
	size_t *ea = NULL, *eb = NULL, na, nb, i;
	int r;

	if ((r = lines("expect-emitted.ndjson", expect, en, &a, &ea, &na,
		       err)) != 0 ||
	    (r = lines("the events emitted", got, gn, &b, &eb, &nb, err)) != 0)
		goto out;
	r = 0;
	for (i = 0; i < na || i < nb; i++) {
		size_t a0 = i == 0 ? 0 : ea[i - 1], b0 = i == 0 ? 0 : eb[i - 1];
		char what[64];
		if (i < na && i < nb &&
		    event_matches(a.p + a0, ea[i] - a0, b.p + b0, eb[i] - b0))
			continue;
		r = 1;
		snprintf(what, sizeof(what), "emitted event %zu, expected",
			 i + 1);
		line(diff, what, i < na ? a.p + a0 : NULL,
		     i < na ? ea[i] - a0 : 0);
		snprintf(what, sizeof(what), "emitted event %zu, got", i + 1);
		line(diff, what, i < nb ? b.p + b0 : NULL,
		     i < nb ? eb[i] - b0 : 0);
	}
out:
	ev_buf_free(&a);
	ev_buf_free(&b);
	free(ea);
	free(eb);
	terminate(diff);
	return r;
}

/* ------------------------------------------------------------ SQL */

/* A row as sqlite3 prints it: a|b|c. */
static int sql_row(void *ctx, const uint8_t *map, size_t n)
{
	struct ev_buf *b = ctx;
	const uint8_t *p = map, *end = map + n;
	struct ev_mp_item m, k, v;
	char tmp[40];
	uint32_t i;

	if (ev_mp_read(&p, end, &m) != 0)
		return EV_EDATA;
	for (i = 0; i < m.n; i++) {
		if (ev_mp_read(&p, end, &k) != 0 ||
		    ev_mp_read(&p, end, &v) != 0)
			return EV_EDATA;
		if (i > 0)
			ev_buf_putc(b, '|');
		if (v.type == EV_MP_STR || v.type == EV_MP_BIN) {
			ev_buf_append(b, v.p, v.n);
		} else if (v.type == EV_MP_INT) {
			ev_buf_printf(b, "%lld", (long long)v.v.i);
		} else if (v.type == EV_MP_UINT) {
			ev_buf_printf(b, "%llu", (unsigned long long)v.v.u);
		} else if (v.type == EV_MP_FLOAT) {
			snprintf(tmp, sizeof(tmp), "%.15g", v.v.f);
			ev_buf_printf(b, "%s%s", tmp,
				      strpbrk(tmp, ".eni") ? "" : ".0");
		}
	}
	return ev_buf_putc(b, '\n');
}

int ev_projtest_sql(const char *db, const char *sql, struct ev_buf *out,
		    struct ev_error *err)
{
	struct ev_readmodel *rm = NULL;
	int r;

	if ((r = ev_readmodel_open(&rm, db, "evproject_test", 0, 10, err)) != 0)
		return r;
	r = ev_readmodel_exec(rm, sql, NULL, 0, sql_row, out, err);
	ev_readmodel_close(rm);
	terminate(out);
	return r;
}

int ev_projtest_setup(const char *db, const char *sql, struct ev_error *err)
{
	struct ev_readmodel *rm = NULL;
	int r;

	if ((r = ev_readmodel_open(&rm, db, "evproject_test", 1, 10, err)) != 0)
		return r;
	r = ev_readmodel_script(rm, sql, err);
	ev_readmodel_close(rm);
	return r;
}
