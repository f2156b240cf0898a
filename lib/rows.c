/*
 * rows.c - struct ev_rows: the rows evproject(1) prints, whatever made
 * them (the built-in folds, or the states of a Lua projection), sorted
 * and written as an aligned table, JSON, NDJSON, CSV or TSV.
 *
 * A cell is a msgpack value, or absent.  Values compare as JSON values
 * (jq's order: null, false, true, numbers, strings, arrays, objects),
 * numbers numerically whatever their encoding, strings bytewise, times
 * as times; values print as evtail -o json prints them (jsonout.c), with
 * times as RFC 3339 strings.
 */
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

#define ABSENT UINT32_MAX

struct cell {
	uint32_t len; /* ABSENT: no value */
	uint64_t off; /* in data */
};

struct sortkey {
	size_t col;
	int desc;
};

struct ev_rows {
	char **cols;
	size_t ncols, nkeys;
	struct ev_buf data;
	struct cell *cells; /* nrows * ncols */
	size_t nrows, cap;
	size_t *order; /* after a sort */
	size_t nshown;
	struct sortkey *sk;
	size_t nsk;
};

int ev_rows_format_parse(const char *s, enum ev_rows_format *fmt)
{
	static const char *const names[] = {"table", "json", "ndjson", "csv",
					    "tsv"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*fmt = (enum ev_rows_format)i;
			return 0;
		}
	return EV_EUSAGE;
}

int ev_rows_new(struct ev_rows **out, const char *const *cols, size_t ncols,
		size_t nkeys, struct ev_error *err)
{
	struct ev_rows *r = calloc(1, sizeof(*r));
	size_t i;

	*out = NULL;
	if (r == NULL || (r->cols = calloc(ncols + 1, sizeof(char *))) == NULL)
		goto oom;
	r->ncols = ncols;
	r->nkeys = nkeys > ncols ? ncols : nkeys;
	for (i = 0; i < ncols; i++)
		if ((r->cols[i] = strdup(cols[i])) == NULL)
			goto oom;
	*out = r;
	return 0;
oom:
	ev_rows_free(r);
	return ev_seterr(err, EV_ERR, "out of memory");
}

void ev_rows_free(struct ev_rows *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; r->cols != NULL && i < r->ncols; i++)
		free(r->cols[i]);
	free(r->cols);
	ev_buf_free(&r->data);
	free(r->cells);
	free(r->order);
	free(r->sk);
	free(r);
}

size_t ev_rows_count(const struct ev_rows *r)
{
	return r->order != NULL ? r->nshown : r->nrows;
}

int ev_rows_add(struct ev_rows *r, const uint8_t *const *cells,
		const size_t *lens, struct ev_error *err)
{
	struct cell *c;
	size_t i;

	if (r->nrows == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct cell *nc =
			realloc(r->cells,
				cap * (r->ncols ? r->ncols : 1) * sizeof(*nc));
		if (nc == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		r->cells = nc;
		r->cap = cap;
	}
	c = &r->cells[r->nrows * r->ncols];
	for (i = 0; i < r->ncols; i++) {
		if (cells[i] == NULL || lens[i] >= ABSENT) {
			c[i].len = ABSENT;
			c[i].off = 0;
			continue;
		}
		c[i].off = r->data.len;
		c[i].len = (uint32_t)lens[i];
		if (ev_buf_append(&r->data, cells[i], lens[i]) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	}
	r->nrows++;
	free(r->order);
	r->order = NULL;
	return 0;
}

int ev_rows_set_sort(struct ev_rows *r, const char *spec, struct ev_error *err)
{
	const char *p = spec, *e;
	struct sortkey *sk;
	size_t n, i;
	int desc;

	free(r->sk);
	r->sk = NULL;
	r->nsk = 0;
	if (spec == NULL)
		return 0;
	for (;;) {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		desc = *p == '-';
		if (desc || *p == '+')
			p++;
		n = (size_t)(e - p);
		for (i = 0; i < r->ncols; i++)
			if (strlen(r->cols[i]) == n &&
			    memcmp(r->cols[i], p, n) == 0)
				break;
		if (i == r->ncols) {
			struct ev_buf all = {0};
			for (i = 0; i < r->ncols; i++)
				ev_buf_printf(&all, "%s%s", i ? ", " : "",
					      r->cols[i]);
			ev_seterr(
				err, EV_EUSAGE,
				"'%.*s' is not a column; the columns are %.*s",
				(int)n, p, all.p ? (int)all.len : 0,
				all.p ? (const char *)all.p : "");
			ev_buf_free(&all);
			free(r->sk);
			r->sk = NULL;
			r->nsk = 0;
			return EV_EUSAGE;
		}
		sk = realloc(r->sk, (r->nsk + 1) * sizeof(*sk));
		if (sk == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		r->sk = sk;
		sk[r->nsk].col = i;
		sk[r->nsk].desc = desc;
		r->nsk++;
		if (*e == '\0')
			break;
		p = e + 1;
	}
	return 0;
}

/* ------------------------------------------------------------ order */

/* jq's order of kinds: null, false, true, numbers, strings, arrays,
 * objects; binary sorts with strings (it prints as one), as do times */
static int rank(const struct ev_mp_item *x)
{
	switch (x->type) {
	case EV_MP_NIL:
		return 0;
	case EV_MP_BOOL:
		return x->v.b ? 2 : 1;
	case EV_MP_UINT:
	case EV_MP_INT:
	case EV_MP_FLOAT:
		return 3;
	case EV_MP_STR:
	case EV_MP_BIN:
	case EV_MP_EXT:
		return 4;
	case EV_MP_ARRAY:
		return 5;
	default:
		return 6;
	}
}

static int num_cmp(const struct ev_mp_item *x, const struct ev_mp_item *y)
{
	double dx, dy;

	if (x->type == EV_MP_UINT && y->type == EV_MP_UINT)
		return x->v.u < y->v.u ? -1 : x->v.u > y->v.u;
	if (x->type == EV_MP_INT && y->type == EV_MP_INT)
		return x->v.i < y->v.i ? -1 : x->v.i > y->v.i;
	if (x->type != EV_MP_FLOAT && y->type != EV_MP_FLOAT)
		return x->type == EV_MP_INT ? -1 : 1;
	dx = x->type == EV_MP_FLOAT  ? x->v.f
	     : x->type == EV_MP_UINT ? (double)x->v.u
				     : (double)x->v.i;
	dy = y->type == EV_MP_FLOAT  ? y->v.f
	     : y->type == EV_MP_UINT ? (double)y->v.u
				     : (double)y->v.i;
	return dx < dy ? -1 : dx > dy;
}

static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
	size_t m = an < bn ? an : bn;
	int c = m ? memcmp(a, b, m) : 0;

	if (c != 0)
		return c < 0 ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

/* The text a string-like item sorts by: a string's bytes, a time's
 * RFC 3339 text, binary's bytes. */
static const void *str_of(const struct ev_mp_item *x, char tmp[40], size_t *n)
{
	ev_time_t t;

	if (x->type == EV_MP_EXT && ev_mp_time_decode(x, &t) == 0) {
		*n = ev_time_format(t, tmp);
		return tmp;
	}
	*n = x->n;
	return x->p;
}

static int value_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
		     int depth);

/* Arrays element by element, then by length. */
static int array_cmp(const uint8_t *pa, const uint8_t *ea, uint32_t na,
		     const uint8_t *pb, const uint8_t *eb, uint32_t nb,
		     int depth)
{
	const uint8_t *va, *vb;
	uint32_t i;
	int c;

	for (i = 0; i < na && i < nb; i++) {
		va = pa;
		vb = pb;
		if (ev_mp_skip_fast(&pa, ea) != 0 ||
		    ev_mp_skip_fast(&pb, eb) != 0)
			return 0;
		c = value_cmp(va, (size_t)(pa - va), vb, (size_t)(pb - vb),
			      depth + 1);
		if (c != 0)
			return c;
	}
	return na < nb ? -1 : na > nb;
}

/* Two values (absent: a NULL or empty one) as JSON values: -1, 0, 1.
 * Objects compare by their encoding, which is enough for an order. */
static int value_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
		     int depth)
{
	struct ev_mp_item x = {0}, y = {0};
	const uint8_t *pa = a, *pb = b;
	char ta[40], tb[40];
	const void *sa, *sb;
	size_t na, nb;
	int ra, rb;
	ev_time_t t1, t2;

	x.type = y.type = EV_MP_NIL;
	if (a != NULL && an > 0 && ev_mp_read(&pa, a + an, &x) != 0)
		x.type = EV_MP_NIL;
	if (b != NULL && bn > 0 && ev_mp_read(&pb, b + bn, &y) != 0)
		y.type = EV_MP_NIL;
	ra = rank(&x);
	rb = rank(&y);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (ra) {
	case 3:
		return num_cmp(&x, &y);
	case 4:
		if (x.type == EV_MP_EXT && y.type == EV_MP_EXT &&
		    ev_mp_time_decode(&x, &t1) == 0 &&
		    ev_mp_time_decode(&y, &t2) == 0)
			return t1 < t2 ? -1 : t1 > t2;
		sa = str_of(&x, ta, &na);
		sb = str_of(&y, tb, &nb);
		return bytes_cmp(sa, na, sb, nb);
	case 5:
		if (depth > EV_READ_DEPTH)
			return 0;
		return array_cmp(pa, a + an, x.n, pb, b + bn, y.n, depth);
	case 6:
		return bytes_cmp(a, an, b, bn);
	default:
		return 0;
	}
}

/* A string cell's bytes (the common key: a stream, a type): 1, or 0
 * when it is something else. */
static int str_cell(const struct ev_rows *r, const struct cell *c,
		    const uint8_t **s, size_t *n)
{
	const uint8_t *p = r->data.p + c->off;

	if (c->len == ABSENT || c->len == 0)
		return 0;
	if ((p[0] & 0xe0) == 0xa0) {
		*s = p + 1;
		*n = p[0] & 0x1f;
	} else if (p[0] == 0xd9 && c->len >= 2) {
		*s = p + 2;
		*n = p[1];
	} else if (p[0] == 0xda && c->len >= 3) {
		*s = p + 3;
		*n = ev_rbe16(p + 1);
	} else {
		return 0;
	}
	return *n <= c->len - (size_t)(*s - p);
}

static int cell_cmp(const struct ev_rows *r, const struct cell *a,
		    const struct cell *b)
{
	const uint8_t *sa, *sb;
	size_t na, nb;

	if (str_cell(r, a, &sa, &na) && str_cell(r, b, &sb, &nb))
		return bytes_cmp(sa, na, sb, nb);
	return value_cmp(a->len == ABSENT ? NULL : r->data.p + a->off,
			 a->len == ABSENT ? 0 : a->len,
			 b->len == ABSENT ? NULL : r->data.p + b->off,
			 b->len == ABSENT ? 0 : b->len, 0);
}

static int row_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct ev_rows *r = ctx;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb, i;
	const struct cell *a = &r->cells[ia * r->ncols];
	const struct cell *b = &r->cells[ib * r->ncols];
	int c;

	for (i = 0; i < r->nsk; i++) {
		c = cell_cmp(r, &a[r->sk[i].col], &b[r->sk[i].col]);
		if (c != 0)
			return r->sk[i].desc ? -c : c;
	}
	for (i = 0; i < r->nkeys; i++)
		if ((c = cell_cmp(r, &a[i], &b[i])) != 0)
			return c;
	/* equal as JSON (1 and 1.0): by their bytes, then as added */
	for (i = 0; i < r->nkeys; i++) {
		c = bytes_cmp(r->data.p + a[i].off,
			      a[i].len == ABSENT ? 0 : a[i].len,
			      r->data.p + b[i].off,
			      b[i].len == ABSENT ? 0 : b[i].len);
		if (c != 0)
			return c;
	}
	return ia < ib ? -1 : ia > ib;
}

/* A row to sort: its place, and a prefix of its first sort cell that
 * orders as the cell does, or ties (then the rows are compared in
 * full).  Comparing prefixes keeps a sort of many rows out of the
 * scattered cells (1M distinct ids sort in a third of the time). */
struct sortent {
	uint64_t pre;
	size_t row;
};

/* The prefix of a cell: its rank in the top byte, then the first 7
 * bytes of a string (as it sorts), or the top bits of a number as an
 * order-preserving double.  Never finer than value_cmp(). */
static uint64_t prefix(const struct ev_rows *r, const struct cell *c)
{
	const uint8_t *p, *s;
	struct ev_mp_item x = {0};
	char tmp[40];
	uint64_t pre, u;
	size_t n, i;
	double d;
	int rk;

	if (c->len == ABSENT || c->len == 0)
		return 0;
	p = r->data.p + c->off;
	if (ev_mp_read(&p, r->data.p + c->off + c->len, &x) != 0)
		return 0;
	rk = rank(&x);
	pre = (uint64_t)rk << 56;
	if (rk == 4) {
		s = str_of(&x, tmp, &n);
		for (i = 0; i < 7 && i < n; i++)
			pre |= (uint64_t)s[i] << (48 - 8 * i);
	} else if (rk == 3) {
		d = x.type == EV_MP_FLOAT  ? x.v.f
		    : x.type == EV_MP_UINT ? (double)x.v.u
					   : (double)x.v.i;
		memcpy(&u, &d, sizeof(u));
		u = (u >> 63) ? ~u : u | (1ull << 63);
		pre |= u >> 8;
	}
	return pre;
}

static int ent_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct sortent *a = pa, *b = pb;

	if (a->pre != b->pre)
		return a->pre < b->pre ? -1 : 1;
	return row_cmp(&a->row, &b->row, ctx);
}

int ev_rows_sort(struct ev_rows *r, struct ev_error *err)
{
	struct sortent *v;
	size_t i, col = 0;
	int desc = 0, use = r->nkeys > 0 || r->nsk > 0;

	if (r->nsk > 0) {
		col = r->sk[0].col;
		desc = r->sk[0].desc;
	}
	free(r->order);
	r->order = malloc((r->nrows + 1) * sizeof(*r->order));
	v = malloc((r->nrows + 1) * sizeof(*v));
	if (r->order == NULL || v == NULL) {
		free(v);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	for (i = 0; i < r->nrows; i++) {
		v[i].row = i;
		v[i].pre = use ? prefix(r, &r->cells[i * r->ncols + col]) : 0;
		if (desc)
			v[i].pre = UINT64_MAX - v[i].pre;
	}
	qsort_r(v, r->nrows, sizeof(*v), ent_cmp, r);
	for (i = 0; i < r->nrows; i++)
		r->order[i] = v[i].row;
	free(v);
	r->nshown = r->nrows;
	return 0;
}

void ev_rows_limit(struct ev_rows *r, uint64_t n)
{
	struct ev_error err;

	if (r->order == NULL && ev_rows_sort(r, &err) != 0)
		return;
	if (n < r->nshown)
		r->nshown = (size_t)n;
}

/* ------------------------------------------------------------ output */

static const uint8_t *cell_p(const struct ev_rows *r, const struct cell *c)
{
	return r->data.p + c->off;
}

/* A cell as JSON; absent is null. */
static int put_json(struct ev_rows *r, const struct cell *c, struct ev_buf *out,
		    struct ev_error *err)
{
	if (c->len == ABSENT)
		return ev_buf_puts(out, "null") ? EV_ERR : 0;
	return ev_value_to_json(cell_p(r, c), c->len, out, err);
}

static int put_object(struct ev_rows *r, const struct cell *c,
		      struct ev_buf *out, struct ev_error *err)
{
	size_t i;
	int rc;

	if (ev_buf_putc(out, '{') != 0)
		return EV_ERR;
	for (i = 0; i < r->ncols; i++) {
		if ((i > 0 && ev_buf_putc(out, ',') != 0) ||
		    ev_json_put_str(out, r->cols[i], strlen(r->cols[i])) != 0 ||
		    ev_buf_putc(out, ':') != 0)
			return EV_ERR;
		if ((rc = put_json(r, &c[i], out, err)) != 0)
			return rc;
	}
	return ev_buf_putc(out, '}') ? EV_ERR : 0;
}

/* A cell as text: strings bare, times RFC 3339, the rest JSON; absent
 * is empty. */
static int put_text(struct ev_rows *r, const struct cell *c, struct ev_buf *out,
		    struct ev_error *err)
{
	if (c->len == ABSENT)
		return 0;
	return ev_value_to_text(cell_p(r, c), c->len, out, err);
}

static int is_number(const struct ev_rows *r, const struct cell *c)
{
	if (c->len == ABSENT)
		return 0;
	return *cell_p(r, c) <= 0x7f || *cell_p(r, c) >= 0xe0 ||
	       (*cell_p(r, c) >= 0xca && *cell_p(r, c) <= 0xd3);
}

/* Characters in a UTF-8 text, for alignment. */
static size_t width(const uint8_t *p, size_t n)
{
	size_t w = 0, i;

	for (i = 0; i < n; i++)
		w += (p[i] & 0xc0) != 0x80;
	return w;
}

static int pad(struct ev_buf *out, size_t n)
{
	while (n-- > 0)
		if (ev_buf_putc(out, ' ') != 0)
			return -1;
	return 0;
}

static int write_table(struct ev_rows *r, struct ev_buf *out,
		       struct ev_error *err)
{
	size_t nr = r->nshown, nc = r->ncols, i, j, w;
	size_t *wid = calloc(nc + 1, sizeof(size_t));
	size_t *tw = calloc(nr * nc + 1, sizeof(size_t));
	size_t *toff = calloc(nr * nc + 1, sizeof(size_t));
	int *right = calloc(nc + 1, sizeof(int));
	struct ev_buf txt = {0};
	const struct cell *c;
	int rc = EV_ERR, seen;

	if (wid == NULL || tw == NULL || toff == NULL || right == NULL)
		goto out;
	for (j = 0; j < nc; j++) {
		wid[j] = width((const uint8_t *)r->cols[j], strlen(r->cols[j]));
		/* numbers right-aligned: a column of numbers only */
		right[j] = 1;
		seen = 0;
		for (i = 0; i < nr; i++) {
			c = &r->cells[r->order[i] * nc + j];
			if (c->len == ABSENT)
				continue;
			seen = 1;
			if (!is_number(r, c))
				right[j] = 0;
		}
		right[j] &= seen;
	}
	for (i = 0; i < nr; i++)
		for (j = 0; j < nc; j++) {
			c = &r->cells[r->order[i] * nc + j];
			toff[i * nc + j] = txt.len;
			if ((rc = put_text(r, c, &txt, err)) != 0)
				goto out;
			/* one line a row: control characters as spaces */
			for (w = toff[i * nc + j]; w < txt.len; w++)
				if (txt.p[w] < 0x20)
					txt.p[w] = ' ';
			tw[i * nc + j] = width(txt.p + toff[i * nc + j],
					       txt.len - toff[i * nc + j]);
			if (tw[i * nc + j] > wid[j])
				wid[j] = tw[i * nc + j];
		}
	rc = EV_ERR;
	for (j = 0; j < nc; j++) {
		w = width((const uint8_t *)r->cols[j], strlen(r->cols[j]));
		if ((j > 0 && ev_buf_puts(out, "  ") != 0) ||
		    (right[j] && pad(out, wid[j] - w) != 0) ||
		    ev_buf_puts(out, r->cols[j]) != 0 ||
		    (!right[j] && j + 1 < nc && pad(out, wid[j] - w) != 0))
			goto out;
	}
	if (ev_buf_putc(out, '\n') != 0)
		goto out;
	for (i = 0; i < nr; i++) {
		for (j = 0; j < nc; j++) {
			size_t k = i * nc + j,
			       end = k + 1 < nr * nc ? toff[k + 1] : txt.len;
			if ((j > 0 && ev_buf_puts(out, "  ") != 0) ||
			    (right[j] && pad(out, wid[j] - tw[k]) != 0) ||
			    ev_buf_append(out, txt.p + toff[k],
					  end - toff[k]) != 0 ||
			    (!right[j] && j + 1 < nc &&
			     pad(out, wid[j] - tw[k]) != 0))
				goto out;
		}
		if (ev_buf_putc(out, '\n') != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc == EV_ERR && err->msg[0] == '\0')
		ev_seterr(err, EV_ERR, "out of memory");
	free(wid);
	free(tw);
	free(toff);
	free(right);
	ev_buf_free(&txt);
	return rc;
}

static int write_sv(struct ev_rows *r, int sep, struct ev_buf *out,
		    struct ev_error *err)
{
	struct ev_buf txt = {0};
	size_t i, j;
	int rc = EV_ERR;

	for (j = 0; j < r->ncols; j++)
		if ((j > 0 && ev_buf_putc(out, sep) != 0) ||
		    (sep == ','
			     ? ev_csv_field(out, r->cols[j], strlen(r->cols[j]))
			     : ev_tsv_field(out, r->cols[j],
					    strlen(r->cols[j]))) != 0)
			goto out;
	if (ev_buf_putc(out, '\n') != 0)
		goto out;
	for (i = 0; i < r->nshown; i++) {
		for (j = 0; j < r->ncols; j++) {
			txt.len = 0;
			if ((rc = put_text(
				     r, &r->cells[r->order[i] * r->ncols + j],
				     &txt, err)) != 0)
				goto out;
			rc = EV_ERR;
			if ((j > 0 && ev_buf_putc(out, sep) != 0) ||
			    (sep == ',' ? ev_csv_field(out, (const char *)txt.p,
						       txt.len)
					: ev_tsv_field(out, (const char *)txt.p,
						       txt.len)) != 0)
				goto out;
		}
		if (ev_buf_putc(out, '\n') != 0)
			goto out;
	}
	rc = 0;
out:
	ev_buf_free(&txt);
	if (rc == EV_ERR)
		ev_seterr(err, EV_ERR, "out of memory");
	return rc;
}

int ev_rows_write(struct ev_rows *r, enum ev_rows_format fmt,
		  struct ev_buf *out, struct ev_error *err)
{
	size_t i;
	int rc;

	ev_error_clear(err);
	if (r->order == NULL && (rc = ev_rows_sort(r, err)) != 0)
		return rc;
	switch (fmt) {
	case EV_ROWS_TABLE:
		if (r->nshown == 0)
			return 0;
		return write_table(r, out, err);
	case EV_ROWS_CSV:
		return write_sv(r, ',', out, err);
	case EV_ROWS_TSV:
		return write_sv(r, '\t', out, err);
	case EV_ROWS_JSON:
	case EV_ROWS_NDJSON:
		break;
	}
	if (fmt == EV_ROWS_JSON &&
	    ev_buf_puts(out, r->nshown ? "[\n" : "[") != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	for (i = 0; i < r->nshown; i++) {
		if ((rc = put_object(r, &r->cells[r->order[i] * r->ncols], out,
				     err)) != 0)
			return rc == EV_ERR && err->msg[0] == '\0'
				       ? ev_seterr(err, EV_ERR, "out of memory")
				       : rc;
		if (ev_buf_puts(out, fmt == EV_ROWS_JSON && i + 1 < r->nshown
					     ? ",\n"
					     : "\n") != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	}
	if (fmt == EV_ROWS_JSON && ev_buf_puts(out, "]\n") != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}
