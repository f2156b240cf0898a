/*
 * foldout.c - what comes out of a struct ev_fold (fold.c): its rows,
 * the values it skipped for their type, and its whole state saved as an
 * opaque msgpack blob and restored, for a checkpoint.
 *
 * The blob (version 1) is an array: "evlog-fold", 1, the definition
 * (ev_fold_describe()), the skips of each fold, the records each path
 * was seen in, the records folded, the groups ([key tuple, [each fold's
 * accumulator]]) and the distinct values ([group, fold, value]).  It is
 * read back with every length and index checked: a blob that does not
 * check out is EV_EDATA, never a crash and never a silent reset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold_int.h"

static int oom(struct ev_error *err)
{
	return ev_seterr(err, EV_ERR, "out of memory");
}

/* ------------------------------------------------------------ rows */

static int put_int128(struct ev_buf *b, __int128 v)
{
	if (ev_buf_reserve(b, 16) != 0)
		return -1;
	b->len = (size_t)((v >= 0 ? ev_mp_uint(b->p + b->len, (uint64_t)v)
				  : ev_mp_int(b->p + b->len, (int64_t)v)) -
			  b->p);
	return 0;
}

static int put_double(struct ev_buf *b, double d)
{
	if (ev_buf_reserve(b, 16) != 0)
		return -1;
	b->len = (size_t)(ev_mp_double(b->p + b->len, d) - b->p);
	return 0;
}

/* The last event, as evtail -o json prints it, as a msgpack map. */
static int put_event(struct ev_buf *b, const struct acc *a, struct ev_buf *tmp,
		     struct ev_error *err)
{
	struct ev_json js;
	int r;

	tmp->len = 0;
	if ((r = ev_record_to_json(a->v.p, a->v.n, a->off, tmp, err)) != 0) {
		ev_err_prefix(err, "offset %llu: ", (unsigned long long)a->off);
		return r;
	}
	ev_json_init(&js, (const char *)tmp->p, tmp->len);
	if (ev_json_value(&js, b) != 0)
		return ev_seterr(err, EV_EDATA,
				 "offset %llu: the event does not convert",
				 (unsigned long long)a->off);
	return 0;
}

/* Fold i's cell for accumulator a into b: 1 put, 0 absent, <0. */
static int put_cell(struct ev_fold *f, size_t i, const struct acc *a,
		    struct ev_buf *b, struct ev_buf *tmp, struct ev_error *err)
{
	const struct fold_spec *fs = &f->folds[i];
	int r = 0;

	switch (fs->kind) {
	case EV_FOLD_COUNT:
	case EV_FOLD_DISTINCT:
		r = put_int128(b, a->n);
		break;
	case EV_FOLD_SUM:
		r = a->has_float ? put_double(b, (double)a->isum + a->fsum)
				 : put_int128(b, a->isum);
		break;
	case EV_FOLD_AVG:
		if (a->n == 0)
			return 0;
		r = put_double(b, ((double)a->isum + a->fsum) / (double)a->n);
		break;
	case EV_FOLD_MIN:
	case EV_FOLD_MAX:
		if (fs->nnum > 0) {
			if (!a->has_num)
				return 0;
			r = a->btype == EV_MP_FLOAT  ? put_double(b, a->best.f)
			    : a->btype == EV_MP_UINT ? put_int128(b, a->best.u)
						     : put_int128(b, a->best.i);
			break;
		}
		if (!a->has_str)
			return 0;
		if ((r = ev_buf_reserve(b, 8 + a->v.n)) == 0) {
			b->len = (size_t)(ev_mp_str_hdr(b->p + b->len, a->v.n) -
					  b->p);
			r = ev_buf_append(b, a->v.p, a->v.n);
		}
		break;
	case EV_FOLD_FIRST:
	case EV_FOLD_LAST:
		if (a->n == 0)
			return 0;
		r = ev_buf_append(b, a->v.p, a->v.n);
		break;
	case EV_FOLD_LAST_EVENT:
		if (a->n == 0)
			return 0;
		if ((r = put_event(b, a, tmp, err)) != 0)
			return r;
		break;
	}
	return r != 0 ? oom(err) : 1;
}

int ev_fold_rows(struct ev_fold *f, struct ev_rows *rows, struct ev_error *err)
{
	size_t nc = f->nkeys + f->nfolds, g, i, *offs = NULL, *lens = NULL;
	const uint8_t **cells = NULL, *p, *end;
	struct ev_buf b = {0}, tmp = {0};
	int r;

	if ((r = ev_fold_flush(f, err)) != 0)
		return r;
	r = EV_ERR;
	offs = calloc(nc + 1, sizeof(*offs));
	lens = calloc(nc + 1, sizeof(*lens));
	cells = calloc(nc + 1, sizeof(*cells));
	if (offs == NULL || lens == NULL || cells == NULL) {
		r = oom(err);
		goto out;
	}
	/* without keys there is one row, events or not */
	if (f->nkeys == 0 && f->ngroups == 0) {
		struct acc *zero = calloc(f->nfolds + 1, sizeof(*zero));
		if (zero == NULL) {
			r = oom(err);
			goto out;
		}
		for (i = 0, r = 0; i < f->nfolds && r >= 0; i++) {
			offs[i] = b.len;
			r = put_cell(f, i, &zero[i], &b, &tmp, err);
			lens[i] = r > 0 ? b.len - offs[i] : 0;
			offs[i] = r > 0 ? offs[i] : SIZE_MAX;
		}
		free(zero);
		for (i = 0; i < f->nfolds; i++)
			cells[i] = offs[i] == SIZE_MAX ? NULL : b.p + offs[i];
		if (r < 0 || (r = ev_rows_add(rows, cells, lens, err)) != 0)
			goto out;
	}
	for (g = 0; g < f->ngroups; g++) {
		p = f->karena.p + f->groups[g].key_off;
		end = p + f->groups[g].key_len;
		for (i = 0; i < f->nkeys; i++) {
			cells[i] = p;
			if (ev_mp_skip_fast(&p, end) != 0) {
				r = ev_seterr(err, EV_EDATA,
					      "a group's key cannot be read");
				goto out;
			}
			lens[i] = (size_t)(p - cells[i]);
		}
		b.len = 0;
		for (i = 0; i < f->nfolds; i++) {
			offs[i] = b.len;
			r = put_cell(f, i, &f->accs[g * f->nfolds + i], &b,
				     &tmp, err);
			if (r < 0)
				goto out;
			lens[f->nkeys + i] = r ? b.len - offs[i] : 0;
			offs[i] = r ? offs[i] : SIZE_MAX;
		}
		for (i = 0; i < f->nfolds; i++)
			cells[f->nkeys + i] =
				offs[i] == SIZE_MAX ? NULL : b.p + offs[i];
		if ((r = ev_rows_add(rows, cells, lens, err)) != 0)
			goto out;
	}
	r = 0;
out:
	free(offs);
	free(lens);
	free(cells);
	ev_buf_free(&b);
	ev_buf_free(&tmp);
	return r;
}

/* ------------------------------------------------------------ reports */

/* Fold i's finding: what it wanted, how many were not, the first. */
static int finding(const struct ev_fold *f, size_t i, struct ev_fold_issue *o)
{
	const struct fold_spec *fs = &f->folds[i];

	if (fs->path < 0)
		return 0;
	o->path = f->paths[fs->path].text;
	o->count = fs->nother;
	o->first_offset = fs->first_other;
	switch (fs->kind) {
	case EV_FOLD_SUM:
	case EV_FOLD_AVG:
		o->what = "numbers";
		o->what_one = "a number";
		break;
	case EV_FOLD_MIN:
	case EV_FOLD_MAX:
		if (fs->nnum > 0 && fs->nstr > 0) {
			/* numbers win: strings are the wrong type too */
			o->what = "numbers";
			o->what_one = "a number";
			if (fs->first_str < o->first_offset || o->count == 0)
				o->first_offset = fs->first_str;
			o->count += fs->nstr;
		} else if (fs->nnum > 0) {
			o->what = "numbers";
			o->what_one = "a number";
		} else if (fs->nstr > 0) {
			o->what = "strings";
			o->what_one = "a string";
		} else {
			o->what = "numbers or strings";
			o->what_one = "a number or a string";
		}
		break;
	default:
		return 0;
	}
	return o->count > 0;
}

int ev_fold_issue(const struct ev_fold *f, size_t i, struct ev_fold_issue *out)
{
	struct ev_fold_issue a, b;
	size_t k, j, n = 0;
	int dup;

	for (k = 0; k < f->nfolds; k++) {
		if (!finding(f, k, &a))
			continue;
		for (dup = 0, j = 0; j < k && !dup; j++)
			dup = finding(f, j, &b) && b.path == a.path &&
			      strcmp(b.what, a.what) == 0 && b.count == a.count;
		if (dup)
			continue;
		if (n++ == i) {
			*out = a;
			return 1;
		}
	}
	return 0;
}

int ev_fold_unseen(const struct ev_fold *f, size_t i, const char **path)
{
	size_t k, n = 0;

	if (f->folded == 0)
		return 0;
	for (k = 0; k < f->npaths; k++)
		if (f->paths[k].seen == 0 && n++ == i) {
			*path = f->paths[k].text;
			return 1;
		}
	return 0;
}

/* ------------------------------------------------------------ save */

#define MAGIC "evlog-fold"
#define BLOB_VERSION 1

static int w_uint(struct ev_buf *b, uint64_t v)
{
	if (ev_buf_reserve(b, 16) != 0)
		return -1;
	b->len = (size_t)(ev_mp_uint(b->p + b->len, v) - b->p);
	return 0;
}

static int w_int(struct ev_buf *b, int64_t v)
{
	if (ev_buf_reserve(b, 16) != 0)
		return -1;
	b->len = (size_t)(ev_mp_int(b->p + b->len, v) - b->p);
	return 0;
}

static int w_double(struct ev_buf *b, double v)
{
	if (ev_buf_reserve(b, 16) != 0)
		return -1;
	b->len = (size_t)(ev_mp_double(b->p + b->len, v) - b->p);
	return 0;
}

static int w_array(struct ev_buf *b, size_t n)
{
	if (ev_buf_reserve(b, 8) != 0)
		return -1;
	b->len = (size_t)(ev_mp_array_hdr(b->p + b->len, n) - b->p);
	return 0;
}

static int w_bin(struct ev_buf *b, const void *p, size_t n)
{
	if (ev_buf_reserve(b, 8 + n) != 0)
		return -1;
	b->len = (size_t)(ev_mp_bin_hdr(b->p + b->len, n) - b->p);
	return ev_buf_append(b, p, n);
}

static int w_acc(struct ev_buf *b, const struct acc *a)
{
	uint64_t bits;

	memcpy(&bits, &a->best, sizeof(bits));
	return w_array(b, 9) || w_uint(b, a->n) ||
	       w_int(b, (int64_t)(a->isum >> 64)) ||
	       w_uint(b, (uint64_t)a->isum) || w_double(b, a->fsum) ||
	       w_uint(b, (uint64_t)(a->has_float | a->has_num << 1 |
				    a->has_str << 2)) ||
	       w_uint(b, a->btype) || w_uint(b, bits) ||
	       (a->v.p != NULL ? w_bin(b, a->v.p, a->v.n)
			       : ev_buf_putc(b, 0xc0)) ||
	       w_uint(b, a->off);
}

int ev_fold_save(const struct ev_fold *f, struct ev_buf *out,
		 struct ev_error *err)
{
	const struct fold_spec *fs;
	const struct dent *d;
	size_t i, k;
	int r;

	/* what is taken is part of the state: fold it in first */
	if ((r = ev_fold_flush((struct ev_fold *)f, err)) != 0)
		return r;
	if (w_array(out, 8) || ev_buf_mp_str(out, MAGIC, strlen(MAGIC)) ||
	    w_uint(out, BLOB_VERSION) ||
	    ev_buf_mp_str(out, ev_fold_describe(f), f->desc.len) ||
	    w_array(out, f->nfolds))
		return oom(err);
	for (i = 0; i < f->nfolds; i++) {
		fs = &f->folds[i];
		if (w_array(out, 6) || w_uint(out, fs->nnum) ||
		    w_uint(out, fs->nstr) || w_uint(out, fs->nother) ||
		    w_uint(out, fs->first_num) || w_uint(out, fs->first_str) ||
		    w_uint(out, fs->first_other))
			return oom(err);
	}
	if (w_array(out, f->npaths))
		return oom(err);
	for (i = 0; i < f->npaths; i++)
		if (w_uint(out, f->paths[i].seen))
			return oom(err);
	if (w_uint(out, f->folded) || w_array(out, f->ngroups))
		return oom(err);
	for (i = 0; i < f->ngroups; i++) {
		if (w_array(out, 2) ||
		    w_bin(out, f->karena.p + f->groups[i].key_off,
			  f->groups[i].key_len) ||
		    w_array(out, f->nfolds))
			return oom(err);
		for (k = 0; k < f->nfolds; k++)
			if (w_acc(out, &f->accs[i * f->nfolds + k]))
				return oom(err);
	}
	if (w_array(out, f->ndents))
		return oom(err);
	for (i = 0; i < f->ndents; i++) {
		d = &f->dents[i];
		if (w_array(out, 3) || w_uint(out, d->group) ||
		    w_uint(out, d->fold) ||
		    w_bin(out, f->dvals.p + d->off, d->len))
			return oom(err);
	}
	return 0;
}

/* ------------------------------------------------------------ restore */

/* A reader of the blob: the first thing wrong sticks in why. */
struct rd {
	const uint8_t *p, *end;
	const char *why;
};

static int rd_item(struct rd *r, struct ev_mp_item *it, enum ev_mp_type want,
		   const char *what)
{
	if (r->why != NULL)
		return -1;
	if (ev_mp_read(&r->p, r->end, it) != 0 || it->type != want) {
		r->why = what;
		return -1;
	}
	return 0;
}

static uint64_t rd_uint(struct rd *r, const char *what)
{
	struct ev_mp_item it;

	return rd_item(r, &it, EV_MP_UINT, what) == 0 ? it.v.u : 0;
}

static int64_t rd_int(struct rd *r, const char *what)
{
	struct ev_mp_item it;

	if (r->why != NULL || ev_mp_read(&r->p, r->end, &it) != 0 ||
	    (it.type != EV_MP_INT && it.type != EV_MP_UINT) ||
	    (it.type == EV_MP_UINT && it.v.u > INT64_MAX)) {
		if (r->why == NULL)
			r->why = what;
		return 0;
	}
	return it.v.i;
}

/* An array of exactly n items (n 0: any), its length. */
static uint32_t rd_array(struct rd *r, uint32_t n, const char *what)
{
	struct ev_mp_item it;

	if (rd_item(r, &it, EV_MP_ARRAY, what) != 0)
		return 0;
	if (n != 0 && it.n != n) {
		r->why = what;
		return 0;
	}
	return it.n;
}

static int rd_acc(struct rd *r, const struct fold_spec *fs, struct acc *a)
{
	struct ev_mp_item it;
	uint64_t flags, bits, lo;
	int64_t hi;

	rd_array(r, 9, "an accumulator is not an array of 9");
	a->n = rd_uint(r, "a count is not a number");
	hi = rd_int(r, "a sum is not a number");
	lo = rd_uint(r, "a sum is not a number");
	a->isum = (__int128)(((unsigned __int128)(uint64_t)hi << 64) | lo);
	if (rd_item(r, &it, EV_MP_FLOAT, "a decimal sum is not a number") == 0)
		a->fsum = it.v.f;
	flags = rd_uint(r, "flags are not a number");
	a->has_float = flags & 1;
	a->has_num = (flags >> 1) & 1;
	a->has_str = (flags >> 2) & 1;
	a->btype = (uint8_t)rd_uint(r, "a type is not a number");
	bits = rd_uint(r, "a bound is not a number");
	memcpy(&a->best, &bits, sizeof(bits));
	if (r->why == NULL && r->p < r->end && *r->p == 0xc0) {
		r->p++;
	} else if (rd_item(r, &it, EV_MP_BIN, "a value is not binary") == 0 &&
		   ev_vbox_set(&a->v, it.p, it.n) != 0) {
		r->why = "out of memory";
	}
	a->off = rd_uint(r, "an offset is not a number");
	if (r->why != NULL)
		return -1;
	if (flags > 7 ||
	    (a->has_num && a->btype != EV_MP_UINT && a->btype != EV_MP_INT &&
	     a->btype != EV_MP_FLOAT) ||
	    (fs->kind == EV_FOLD_SUM && (a->isum > (__int128)UINT64_MAX ||
					 a->isum < (__int128)INT64_MIN)) ||
	    (a->has_str && a->v.p == NULL) ||
	    ((fs->kind == EV_FOLD_FIRST || fs->kind == EV_FOLD_LAST ||
	      fs->kind == EV_FOLD_LAST_EVENT) &&
	     a->n > 0 && a->v.p == NULL)) {
		r->why = "an accumulator does not fit its fold";
		return -1;
	}
	if (fs->kind == EV_FOLD_DISTINCT)
		a->n = 0; /* counted again from the values */
	return 0;
}

/* A key tuple: exactly nkeys msgpack values. */
static int key_ok(const struct ev_fold *f, const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	size_t i;

	for (i = 0; i < f->nkeys; i++)
		if (ev_mp_skip(&p, end, 0) != 0)
			return 0;
	return p == end;
}

static int restore(struct ev_fold *f, struct rd *r)
{
	struct ev_mp_item it;
	uint32_t n, i, k;
	uint64_t g, fo;
	long gi;

	if (rd_array(r, 8, "not a fold state") == 0 ||
	    rd_item(r, &it, EV_MP_STR, "not a fold state") != 0 ||
	    it.n != strlen(MAGIC) || memcmp(it.p, MAGIC, it.n) != 0) {
		r->why = "not a fold state";
		return -1;
	}
	if (rd_uint(r, "no version") != BLOB_VERSION) {
		r->why = r->why ? r->why : "a version this evlog does not read";
		return -1;
	}
	if (rd_item(r, &it, EV_MP_STR, "no definition") != 0)
		return -1;
	if (it.n != f->desc.len ||
	    (it.n > 0 && memcmp(it.p, f->desc.p, it.n) != 0)) {
		r->why = "it is the state of another definition";
		return -1;
	}
	if (rd_array(r, (uint32_t)f->nfolds, "the folds do not match") == 0 &&
	    f->nfolds > 0)
		return -1;
	for (i = 0; i < f->nfolds; i++) {
		struct fold_spec *fs = &f->folds[i];
		rd_array(r, 6, "a fold's counts are not an array of 6");
		fs->nnum = rd_uint(r, "a count is not a number");
		fs->nstr = rd_uint(r, "a count is not a number");
		fs->nother = rd_uint(r, "a count is not a number");
		fs->first_num = rd_uint(r, "an offset is not a number");
		fs->first_str = rd_uint(r, "an offset is not a number");
		fs->first_other = rd_uint(r, "an offset is not a number");
	}
	if (rd_array(r, (uint32_t)f->npaths, "the paths do not match") == 0 &&
	    f->npaths > 0)
		return -1;
	for (i = 0; i < f->npaths; i++)
		f->paths[i].seen = rd_uint(r, "a count is not a number");
	f->folded = rd_uint(r, "the records folded are not a number");
	n = rd_array(r, 0, "the groups are not an array");
	for (i = 0; i < n && r->why == NULL; i++) {
		rd_array(r, 2, "a group is not an array of 2");
		if (rd_item(r, &it, EV_MP_BIN, "a group's key is not binary") !=
		    0)
			return -1;
		if (!key_ok(f, it.p, it.n)) {
			r->why = "a group's key does not fit the --by paths";
			return -1;
		}
		if ((gi = ev_fold_group(f, it.p, it.n, ev_hash64(it.p, it.n))) <
		    0) {
			r->why = "out of memory";
			return -1;
		}
		if ((size_t)gi != i) {
			r->why = "two groups have one key";
			return -1;
		}
		rd_array(r, (uint32_t)f->nfolds,
			 "a group's folds do not match");
		for (k = 0; k < f->nfolds && r->why == NULL; k++)
			rd_acc(r, &f->folds[k], &f->accs[i * f->nfolds + k]);
	}
	n = rd_array(r, 0, "the distinct values are not an array");
	for (i = 0; i < n && r->why == NULL; i++) {
		rd_array(r, 3, "a distinct value is not an array of 3");
		g = rd_uint(r, "a group is not a number");
		fo = rd_uint(r, "a fold is not a number");
		if (rd_item(r, &it, EV_MP_BIN,
			    "a distinct value is not binary"))
			return -1;
		if (g >= f->ngroups || fo >= f->nfolds ||
		    f->folds[fo].kind != EV_FOLD_DISTINCT) {
			r->why = "a distinct value of no group or fold";
			return -1;
		}
		switch (ev_fold_distinct_add(f, (uint32_t)g, (uint32_t)fo, it.p,
					     it.n)) {
		case 1:
			f->accs[g * f->nfolds + fo].n++;
			break;
		case 0:
			r->why = "a distinct value is there twice";
			return -1;
		default:
			r->why = "out of memory";
			return -1;
		}
	}
	if (r->why == NULL && r->p != r->end)
		r->why = "bytes after the state";
	return r->why != NULL ? -1 : 0;
}

int ev_fold_restore(struct ev_fold *f, const uint8_t *p, size_t n,
		    struct ev_error *err)
{
	struct rd r = {p, p + n, NULL};

	if (f->folded > 0 || f->ngroups > 0 || f->pushed > 0)
		return ev_seterr(err, EV_EUSAGE,
				 "a fold state is restored into a new fold");
	if (restore(f, &r) == 0)
		return 0;
	ev_fold_reset(f);
	if (strcmp(r.why, "out of memory") == 0)
		return oom(err);
	return ev_seterr(err, EV_EDATA, "bad fold state: %s", r.why);
}
