/*
 * fold.c - struct ev_fold: the built-in folds of evproject(1) (count,
 * sum, min, max, avg, distinct, first, last, last_event), grouped by key
 * paths and time buckets.
 *
 * This is the fast path: a record is read once, straight from its stored
 * msgpack, as far as the last envelope key the paths need and no
 * further; each path is looked up once, however many folds read it; the
 * group is found by its key tuple (the key values, encoded in their
 * smallest msgpack form, end to end) in an open-addressing table that
 * grows with the groups, never with the events.  Integers sum exactly
 * (in 128 bits, checked against 64 at each step), decimals in double.
 * The rules for types are in evproject(1) FOLDS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fold_int.h"

static const struct {
	const char *name;
	enum fp_field field;
	int key; /* EV_K_*, or 0 */
} env_fields[] = {
	{"data", FP_DATA, EV_K_DATA},
	{"meta", FP_META, EV_K_META},
	{"offset", FP_OFFSET, 0},
	{"id", FP_ID, EV_K_ID},
	{"type", FP_TYPE, EV_K_TYPE},
	{"stream", FP_STREAM, EV_K_STREAM},
	{"version", FP_VERSION, EV_K_VERSION},
	{"time", FP_TIME, EV_K_TIME},
	{"schema", FP_SCHEMA, EV_K_SCHEMA},
	{"key", FP_KEY, EV_K_KEY},
};
#define NENV (sizeof(env_fields) / sizeof(env_fields[0]))

static const char *const kind_names[] = {
	"count",    "sum",   "min",  "max",	   "avg",
	"distinct", "first", "last", "last_event",
};

int ev_fold_new(struct ev_fold **out, struct ev_error *err)
{
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}

void ev_fold_free(struct ev_fold *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->npaths; i++) {
		free(f->paths[i].text);
		free(f->paths[i].rest);
	}
	for (i = 0; i < f->nfolds; i++)
		free(f->folds[i].col);
	for (i = 0; i < f->nkeys; i++)
		free(f->keys[i].col);
	for (i = 0; i < f->ngroups * f->nfolds; i++)
		free(f->accs[i].v.p);
	for (i = 0; i < FOLD_PIPE; i++) {
		ev_buf_free(&f->pipe[i].key);
		ev_buf_free(&f->pipe[i].vals);
		free(f->pipe[i].voff);
		free(f->pipe[i].vlen);
	}
	free(f->paths);
	free(f->folds);
	free(f->keys);
	free(f->cols);
	free(f->groups);
	free(f->accs);
	free(f->slots);
	free(f->dents);
	free(f->dslots);
	ev_buf_free(&f->desc);
	ev_buf_free(&f->karena);
	ev_buf_free(&f->kb);
	ev_buf_free(&f->dvals);
	ev_buf_free(&f->vb);
	free(f);
}

void ev_fold_reset(struct ev_fold *f)
{
	size_t i;

	for (i = 0; i < f->ngroups * f->nfolds; i++)
		free(f->accs[i].v.p);
	for (i = 0; i < f->nfolds; i++) {
		f->folds[i].nnum = f->folds[i].nstr = f->folds[i].nother = 0;
		f->folds[i].first_num = f->folds[i].first_str = 0;
		f->folds[i].first_other = 0;
	}
	for (i = 0; i < f->npaths; i++)
		f->paths[i].seen = 0;
	f->ngroups = f->ndents = 0;
	f->folded = 0;
	f->pushed = f->looked = f->done = 0;
	f->karena.len = f->dvals.len = 0;
	if (f->slots != NULL)
		memset(f->slots, 0, f->nslots * sizeof(*f->slots));
	if (f->dslots != NULL)
		memset(f->dslots, 0, f->ndslots * sizeof(*f->dslots));
}

static int oom(struct ev_error *err)
{
	return ev_seterr(err, EV_ERR, "out of memory");
}

/* The index of path (n bytes) in f->paths, added when new: >= 0, or a
 * status. */
static int path_index(struct ev_fold *f, const char *path, size_t n,
		      struct ev_error *err)
{
	struct fpath *np, *fp;
	size_t i, top;
	int r;

	if ((r = ev_path_check(path, n, err)) != 0)
		return r;
	for (i = 0; i < f->npaths; i++)
		if (strlen(f->paths[i].text) == n &&
		    memcmp(f->paths[i].text, path, n) == 0)
			return (int)i;
	np = realloc(f->paths, (f->npaths + 1) * sizeof(*np));
	if (np == NULL)
		return oom(err);
	f->paths = np;
	fp = &np[f->npaths];
	memset(fp, 0, sizeof(*fp));
	for (top = 0; top < n && path[top] != '.'; top++)
		;
	for (i = 0; i < NENV; i++)
		if (strlen(env_fields[i].name) == top &&
		    memcmp(env_fields[i].name, path, top) == 0)
			break;
	if (i == NENV) /* ev_path_check() knows no other */
		return ev_seterr(err, EV_EUSAGE, "unknown field '%.*s'", (int)n,
				 path);
	fp->field = env_fields[i].field;
	if ((fp->text = strndup(path, n)) == NULL ||
	    (top < n &&
	     (fp->rest = strndup(path + top + 1, n - top - 1)) == NULL)) {
		free(fp->text);
		return oom(err);
	}
	if (env_fields[i].key != 0) {
		f->need |= 1u << env_fields[i].key;
		if (env_fields[i].key > f->max_key)
			f->max_key = env_fields[i].key;
	}
	return (int)f->npaths++;
}

static int desc_add(struct ev_fold *f, const char *opt, const char *arg)
{
	if ((f->desc.len > 0 && ev_buf_putc(&f->desc, ' ') != 0) ||
	    ev_buf_puts(&f->desc, opt) != 0 ||
	    (arg != NULL && ev_buf_printf(&f->desc, " %s", arg) != 0) ||
	    ev_buf_putc(&f->desc, '\0') != 0)
		return -1;
	f->desc.len--; /* kept NUL-terminated */
	return 0;
}

/* Is col a column already?  Two columns of one name would make rows
 * whose objects have one key twice. */
static int column_taken(const struct ev_fold *f, const char *col,
			struct ev_error *err)
{
	size_t i;

	for (i = 0; i < f->nkeys + f->nfolds; i++)
		if (strcmp(ev_fold_column(f, i), col) == 0)
			return ev_seterr(err, EV_EUSAGE,
					 "the column '%s' is given twice", col);
	return 0;
}

static int frozen(struct ev_fold *f, struct ev_error *err)
{
	if (f->folded > 0 || f->ngroups > 0 || f->pushed > 0)
		return ev_seterr(err, EV_EUSAGE,
				 "a fold cannot change once it has folded");
	free(f->cols);
	f->cols = NULL;
	return 0;
}

int ev_fold_add(struct ev_fold *f, enum ev_fold_kind kind, const char *path,
		struct ev_error *err)
{
	struct fold_spec *nf, *fs;
	int with_path = kind != EV_FOLD_COUNT && kind != EV_FOLD_LAST_EVENT;
	char opt[32];
	int pi = -1;

	if ((unsigned)kind > EV_FOLD_LAST_EVENT)
		return ev_seterr(err, EV_EUSAGE, "no such fold");
	if (frozen(f, err) != 0)
		return EV_EUSAGE;
	if (with_path != (path != NULL))
		return ev_seterr(err, EV_EUSAGE, "%s %s a path",
				 kind_names[kind],
				 with_path ? "needs" : "takes no");
	if (path != NULL && (pi = path_index(f, path, strlen(path), err)) < 0)
		return pi;
	nf = realloc(f->folds, (f->nfolds + 1) * sizeof(*nf));
	if (nf == NULL)
		return oom(err);
	f->folds = nf;
	fs = &nf[f->nfolds];
	memset(fs, 0, sizeof(*fs));
	fs->kind = kind;
	fs->path = pi;
	if (pi >= 0)
		f->paths[pi].folded = 1;
	if (kind == EV_FOLD_LAST_EVENT)
		f->need_rec = 1;
	if (path != NULL) {
		size_t n = strlen(kind_names[kind]) + strlen(path) + 3;
		if ((fs->col = malloc(n)) != NULL)
			snprintf(fs->col, n, "%s(%s)", kind_names[kind], path);
	} else {
		fs->col = strdup(kind_names[kind]);
	}
	snprintf(opt, sizeof(opt), "--%s", kind_names[kind]);
	if (kind == EV_FOLD_LAST_EVENT)
		strcpy(opt, "--last-event");
	if (fs->col != NULL && column_taken(f, fs->col, err) != 0) {
		free(fs->col);
		return EV_EUSAGE;
	}
	if (fs->col == NULL || desc_add(f, opt, path) != 0) {
		free(fs->col);
		return oom(err);
	}
	f->nfolds++;
	return 0;
}

static int key_add(struct ev_fold *f, int path, int64_t every, const char *col,
		   struct ev_error *err)
{
	struct key_spec *nk;

	if (column_taken(f, col, err) != 0)
		return EV_EUSAGE;
	if ((nk = realloc(f->keys, (f->nkeys + 1) * sizeof(*nk))) == NULL)
		return oom(err);
	f->keys = nk;
	nk[f->nkeys].path = path;
	nk[f->nkeys].every_ns = every;
	if ((nk[f->nkeys].col = strdup(col)) == NULL)
		return oom(err);
	f->nkeys++;
	return 0;
}

int ev_fold_by(struct ev_fold *f, const char *paths, struct ev_error *err)
{
	const char *p = paths, *e;
	char *one;
	int pi, r;

	if (frozen(f, err) != 0)
		return EV_EUSAGE;
	do {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		if ((pi = path_index(f, p, (size_t)(e - p), err)) < 0)
			return pi;
		if ((one = strndup(p, (size_t)(e - p))) == NULL)
			return oom(err);
		r = key_add(f, pi, 0, one, err);
		if (r == 0 && desc_add(f, "--by", one) != 0)
			r = oom(err);
		free(one);
		if (r != 0)
			return r;
		p = *e == ',' ? e + 1 : e;
	} while (*e != '\0');
	return 0;
}

/* 250ms, 30s, 5m, 1h, 1d into nanoseconds: 0, or -1. */
static int duration_ns(const char *s, int64_t *ns)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = {
		{"ms", 1000000LL},	 {"s", 1000000000LL},
		{"m", 60000000000LL},	 {"h", 3600000000000LL},
		{"d", 86400000000000LL},
	};
	char *end;
	unsigned long long v;
	size_t i;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || v == 0 || v > INT64_MAX)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0)
			return __builtin_mul_overflow((int64_t)v, units[i].ns,
						      ns)
				       ? -1
				       : 0;
	return -1;
}

int ev_fold_every(struct ev_fold *f, const char *dur, struct ev_error *err)
{
	char col[96];
	int64_t ns;
	int r;

	if (frozen(f, err) != 0)
		return EV_EUSAGE;
	if (duration_ns(dur, &ns) != 0)
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' is not a duration such as 30s, 5m, 1h "
				 "or 1d",
				 dur);
	snprintf(col, sizeof(col), "every(%s)", dur);
	if ((r = key_add(f, -1, ns, col, err)) != 0)
		return r;
	f->need |= 1u << EV_K_TIME;
	if (EV_K_TIME > f->max_key)
		f->max_key = EV_K_TIME;
	f->need_time = 1;
	return desc_add(f, "--every", dur) ? oom(err) : 0;
}

void ev_fold_set_strict(struct ev_fold *f, int strict)
{
	f->strict = strict;
}

size_t ev_fold_ncolumns(const struct ev_fold *f)
{
	return f->nkeys + f->nfolds;
}

size_t ev_fold_nkeys(const struct ev_fold *f)
{
	return f->nkeys;
}

const char *ev_fold_column(const struct ev_fold *f, size_t i)
{
	if (i < f->nkeys)
		return f->keys[i].col;
	if (i < f->nkeys + f->nfolds)
		return f->folds[i - f->nkeys].col;
	return NULL;
}

uint64_t ev_fold_groups(const struct ev_fold *f)
{
	return f->ngroups;
}

const char *ev_fold_describe(const struct ev_fold *f)
{
	return f->desc.p != NULL ? (const char *)f->desc.p : "";
}

uint64_t ev_fold_hash(const struct ev_fold *f)
{
	return ev_hash64(f->desc.p, f->desc.len);
}

/* ------------------------------------------------------------ values */

/* v (its head item it) in its smallest msgpack form, appended to b:
 * numbers and string headers are encoded afresh, so that 5 stored as an
 * int64 and 5 stored as a fixint are one key and one distinct value. */
static int put_canonical(struct ev_buf *b, const uint8_t *v, size_t n,
			 const struct ev_mp_item *it)
{
	uint8_t *o;

	if (ev_buf_reserve(b, 16) != 0)
		return -1;
	o = b->p + b->len;
	switch (it->type) {
	case EV_MP_UINT:
		o = ev_mp_uint(o, it->v.u);
		break;
	case EV_MP_INT:
		o = it->v.i >= 0 ? ev_mp_uint(o, (uint64_t)it->v.i)
				 : ev_mp_int(o, it->v.i);
		break;
	case EV_MP_FLOAT:
		o = ev_mp_double(o, it->v.f);
		break;
	case EV_MP_STR:
		o = ev_mp_str_hdr(o, it->n);
		b->len = (size_t)(o - b->p);
		return ev_buf_append(b, it->p, it->n);
	default:
		return ev_buf_append(b, v, n);
	}
	b->len = (size_t)(o - b->p);
	return 0;
}

/* The value of key (n bytes) in the map at *p: 1 with [*v, *vend), 0
 * when absent or not a map, -1 when the bytes are not msgpack.  The last
 * of duplicate keys wins, as in jq and ev_mp_path(). */
static int map_get(const uint8_t *p, const uint8_t *end, const char *key,
		   size_t n, const uint8_t **v, const uint8_t **vend)
{
	const uint8_t *kp, *vs;
	uint32_t cnt, i;
	size_t kn;
	int found = 0;

	if (p >= end)
		return -1;
	if ((*p & 0xf0) == 0x80) {
		cnt = *p++ & 0x0f;
	} else if (*p == 0xde && end - p >= 3) {
		cnt = ev_rbe16(p + 1);
		p += 3;
	} else if (*p == 0xdf && end - p >= 5) {
		cnt = ev_rbe32(p + 1);
		p += 5;
	} else {
		return 0;
	}
	for (i = 0; i < cnt; i++) {
		if (p >= end)
			return -1;
		kp = NULL;
		kn = 0;
		if ((*p & 0xe0) == 0xa0) {
			kn = *p & 0x1f;
			kp = p + 1;
		} else if (*p == 0xd9 && end - p >= 2) {
			kn = p[1];
			kp = p + 2;
		}
		if (kp != NULL) {
			if (kn > (size_t)(end - kp))
				return -1;
			p = kp + kn;
		} else if (ev_mp_skip_fast(&p, end) != 0) {
			return -1;
		}
		vs = p;
		if (ev_mp_skip_fast(&p, end) != 0)
			return -1;
		if (kn == n && kp != NULL && memcmp(kp, key, n) == 0) {
			*v = vs;
			*vend = p;
			found = 1;
		}
	}
	return found;
}

/* The value at the dotted path rest inside the value at v: 1 with [*v,
 * *v + *vn), 0 absent, -1 not msgpack. */
static int path_get(const uint8_t *v, const uint8_t *end, const char *rest,
		    const uint8_t **out, size_t *vn)
{
	const uint8_t *vend = end;
	const char *seg = rest, *dot;
	size_t n;
	int r;

	for (;;) {
		dot = strchr(seg, '.');
		n = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
		if (v < vend && (*v & 0xf0) != 0x80 && *v != 0xde &&
		    *v != 0xdf) {
			/* an array index, the slow way */
			r = ev_mp_path(v, (size_t)(vend - v), seg, out, vn);
			return r < 0 ? -1 : r;
		}
		if ((r = map_get(v, vend, seg, n, &v, &vend)) <= 0)
			return r;
		if (dot == NULL)
			break;
		seg = dot + 1;
	}
	*out = v;
	*vn = (size_t)(vend - v);
	return 1;
}

/* The value of each path in the record, into paths[].  0, or -1 when
 * the record cannot be read. */
static int read_paths(struct ev_fold *f, const struct ev_rec *rec)
{
	const uint8_t *fld[EV_K_MAX + 1] = {0};
	const uint8_t *p = rec->p, *end = rec->p + rec->n, *q, *v;
	struct ev_mp_item m;
	struct fpath *fp;
	size_t i, vn;
	unsigned k;
	uint32_t c;
	int r;

	if (ev_mp_read(&p, end, &m) != 0 || m.type != EV_MP_MAP)
		return -1;
	for (c = 0; c < m.n; c++) {
		/* keys are positive fixints, ascending (evlog(5)) */
		if (p >= end || (k = *p++) == 0 || k > EV_K_MAX)
			return -1;
		if ((int)k > f->max_key)
			break;
		if (f->need & (1u << k)) {
			fld[k] = p;
			if ((int)k == f->max_key)
				break;
		}
		if (ev_mp_skip_fast(&p, end) != 0)
			return -1;
	}
	for (i = 0; i < f->npaths; i++) {
		fp = &f->paths[i];
		fp->p = NULL;
		switch (fp->field) {
		case FP_DATA:
		case FP_META:
			v = fld[fp->field == FP_DATA ? EV_K_DATA : EV_K_META];
			if (v == NULL)
				continue;
			if (fp->rest == NULL) {
				q = v;
				if (ev_mp_skip_fast(&q, end) != 0)
					return -1;
				vn = (size_t)(q - v);
				break;
			}
			if (*v == 0xc4 || *v == 0xc5 || *v == 0xc6)
				continue; /* binary data has no fields */
			r = path_get(v, end, fp->rest, &v, &vn);
			if (r < 0)
				return -1;
			if (r == 0)
				continue;
			break;
		case FP_OFFSET:
			v = fp->syn;
			vn = (size_t)(ev_mp_uint(fp->syn, rec->offset) - v);
			break;
		case FP_SCHEMA:
			if ((v = fld[EV_K_SCHEMA]) == NULL) {
				fp->syn[0] = 1; /* the default */
				v = fp->syn;
				vn = 1;
				break;
			}
			/* fall through */
		default:
			k = fp->field == FP_ID	      ? EV_K_ID
			    : fp->field == FP_TYPE    ? EV_K_TYPE
			    : fp->field == FP_STREAM  ? EV_K_STREAM
			    : fp->field == FP_VERSION ? EV_K_VERSION
			    : fp->field == FP_TIME    ? EV_K_TIME
			    : fp->field == FP_SCHEMA  ? EV_K_SCHEMA
						      : EV_K_KEY;
			if ((v = fld[k]) == NULL)
				continue;
			q = v;
			if (ev_mp_skip_fast(&q, end) != 0)
				return -1;
			vn = (size_t)(q - v);
			break;
		}
		q = v;
		if (ev_mp_read(&q, v + vn, &fp->it) != 0)
			return -1;
		if (fp->it.type == EV_MP_NIL)
			continue;
		fp->p = v;
		fp->n = vn;
		fp->seen++;
	}
	if (f->need_time) {
		/* the time buckets' */
		p = fld[EV_K_TIME];
		if (p == NULL || ev_mp_read(&p, end, &m) != 0 ||
		    ev_mp_time_decode(&m, &f->time) != 0)
			return -1;
	}
	return 0;
}

/* The group's key, as JSON, for messages. */
static void key_text(struct ev_fold *f, const uint8_t *k, size_t n, char *out,
		     size_t outn)
{
	const uint8_t *p = k, *end = k + n, *v;
	struct ev_buf b = {0};
	struct ev_error err;
	size_t i;

	if (f->nkeys == 0) {
		snprintf(out, outn, "(the only group)");
		return;
	}
	ev_buf_putc(&b, '{');
	for (i = 0; i < f->nkeys && p < end; i++) {
		v = p;
		if (ev_mp_skip_fast(&p, end) != 0)
			break;
		if (i > 0)
			ev_buf_putc(&b, ',');
		ev_json_put_str(&b, f->keys[i].col, strlen(f->keys[i].col));
		ev_buf_putc(&b, ':');
		if (ev_value_to_json(v, (size_t)(p - v), &b, &err) != 0)
			ev_buf_puts(&b, "?");
	}
	ev_buf_putc(&b, '}');
	snprintf(out, outn, "%.*s", b.p ? (int)b.len : 0,
		 b.p ? (const char *)b.p : "");
	ev_buf_free(&b);
}

static const char *type_name(enum ev_mp_type t)
{
	switch (t) {
	case EV_MP_BOOL:
		return "a boolean";
	case EV_MP_STR:
		return "a string";
	case EV_MP_ARRAY:
		return "an array";
	case EV_MP_MAP:
		return "an object";
	case EV_MP_UINT:
	case EV_MP_INT:
	case EV_MP_FLOAT:
		return "a number";
	default:
		return "binary";
	}
}

/* A value of the wrong type: counted, or an error when strict. */
static int wrong(struct ev_fold *f, struct fold_spec *fs, uint64_t *count,
		 uint64_t *first, uint64_t off, const char *want,
		 struct ev_error *err)
{
	const struct fpath *fp = &f->paths[fs->path];

	if ((*count)++ == 0)
		*first = off;
	if (!f->strict)
		return 0;
	return ev_seterr(err, EV_EDATA, "offset %llu: %s is %s, not %s",
			 (unsigned long long)off, fp->text,
			 type_name(fp->it.type), want);
}

static int num_cmp(const struct acc *a, const struct ev_mp_item *x)
{
	double dx, dy;

	if (x->type == EV_MP_UINT && a->btype == EV_MP_UINT)
		return x->v.u < a->best.u ? -1 : x->v.u > a->best.u;
	if (x->type == EV_MP_INT && a->btype == EV_MP_INT)
		return x->v.i < a->best.i ? -1 : x->v.i > a->best.i;
	if (x->type != EV_MP_FLOAT && a->btype != EV_MP_FLOAT)
		return x->type == EV_MP_INT ? -1 : 1; /* a negative int */
	dx = x->type == EV_MP_FLOAT  ? x->v.f
	     : x->type == EV_MP_UINT ? (double)x->v.u
				     : (double)x->v.i;
	dy = a->btype == EV_MP_FLOAT  ? a->best.f
	     : a->btype == EV_MP_UINT ? (double)a->best.u
				      : (double)a->best.i;
	return dx < dy ? -1 : dx > dy;
}

static int is_num(enum ev_mp_type t)
{
	return t == EV_MP_UINT || t == EV_MP_INT || t == EV_MP_FLOAT;
}

static int minmax(struct ev_fold *f, struct fold_spec *fs, struct acc *a,
		  uint64_t off, struct ev_error *err)
{
	const struct fpath *fp = &f->paths[fs->path];
	const struct ev_mp_item *x = &fp->it;
	int sign = fs->kind == EV_FOLD_MIN ? -1 : 1;
	size_t m;
	int c;

	if (is_num(x->type)) {
		if (x->type == EV_MP_FLOAT && x->v.f != x->v.f)
			return 0; /* NaN is no bound */
		if (f->strict && fs->nstr > 0)
			return wrong(f, fs, &fs->nnum, &fs->first_num, off,
				     "a string like the values before it", err);
		if (fs->nnum++ == 0)
			fs->first_num = off;
		if (!a->has_num || num_cmp(a, x) == sign) {
			a->has_num = 1;
			a->btype = (uint8_t)x->type;
			if (x->type == EV_MP_FLOAT)
				a->best.f = x->v.f;
			else
				a->best.u = x->v.u;
		}
		return 0;
	}
	if (x->type != EV_MP_STR)
		return wrong(f, fs, &fs->nother, &fs->first_other, off,
			     "a number or a string", err);
	if (f->strict && fs->nnum > 0)
		return wrong(f, fs, &fs->nstr, &fs->first_str, off,
			     "a number like the values before it", err);
	if (fs->nstr++ == 0)
		fs->first_str = off;
	if (a->has_str) {
		m = x->n < a->v.n ? x->n : a->v.n;
		c = m ? memcmp(x->p, a->v.p, m) : 0;
		if (c == 0)
			c = x->n < a->v.n ? -1 : x->n > a->v.n;
		if ((c < 0 ? -1 : c > 0) != sign)
			return 0;
	}
	if (ev_vbox_set(&a->v, x->p, x->n) != 0)
		return oom(err);
	a->has_str = 1;
	return 0;
}

/* Fold the values of the record (at offset off) into group g. */
static int fold_into(struct ev_fold *f, size_t g, const struct ev_rec *rec,
		     struct ev_error *err)
{
	struct acc *a = &f->accs[g * f->nfolds];
	struct fold_spec *fs;
	const struct fpath *fp;
	const struct ev_mp_item *x;
	const struct group *gr;
	char key[512];
	size_t i;
	int r;

	for (i = 0; i < f->nfolds; i++, a++) {
		fs = &f->folds[i];
		if (fs->kind == EV_FOLD_COUNT) {
			a->n++;
			continue;
		}
		if (fs->kind == EV_FOLD_LAST_EVENT) {
			if (ev_vbox_set(&a->v, rec->p, rec->n) != 0)
				return oom(err);
			a->off = rec->offset;
			a->n = 1;
			continue;
		}
		fp = &f->paths[fs->path];
		if (fp->p == NULL)
			continue;
		x = &fp->it;
		switch (fs->kind) {
		case EV_FOLD_SUM:
		case EV_FOLD_AVG:
			if (x->type == EV_MP_FLOAT) {
				a->fsum += x->v.f;
				a->has_float = 1;
			} else if (x->type == EV_MP_UINT) {
				a->isum += x->v.u;
			} else if (x->type == EV_MP_INT) {
				a->isum += x->v.i;
			} else {
				if ((r = wrong(f, fs, &fs->nother,
					       &fs->first_other, rec->offset,
					       "a number", err)) != 0)
					return r;
				continue;
			}
			a->n++;
			if (fs->kind == EV_FOLD_SUM &&
			    (a->isum > (__int128)UINT64_MAX ||
			     a->isum < (__int128)INT64_MIN)) {
				gr = &f->groups[g];
				key_text(f, f->karena.p + gr->key_off,
					 gr->key_len, key, sizeof(key));
				return ev_seterr(err, EV_EDATA,
						 "offset %llu: %s overflows "
						 "64-bit integers in group %s",
						 (unsigned long long)
							 rec->offset,
						 fs->col, key);
			}
			break;
		case EV_FOLD_MIN:
		case EV_FOLD_MAX:
			if ((r = minmax(f, fs, a, rec->offset, err)) != 0)
				return r;
			break;
		case EV_FOLD_DISTINCT:
			f->vb.len = 0;
			if (put_canonical(&f->vb, fp->p, fp->n, x) != 0 ||
			    (r = ev_fold_distinct_add(f, (uint32_t)g,
						      (uint32_t)i, f->vb.p,
						      f->vb.len)) < 0)
				return oom(err);
			a->n += (uint64_t)r;
			break;
		case EV_FOLD_FIRST:
			if (a->n > 0)
				break;
			/* fall through */
		case EV_FOLD_LAST:
			if (ev_vbox_set(&a->v, fp->p, fp->n) != 0)
				return oom(err);
			a->n = 1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Copy the record's key (in kb) and the values its folds read into e,
 * and prefetch the slot its group is looked up in. */
static int pend_fill(struct ev_fold *f, struct pend *e,
		     const struct ev_rec *rec)
{
	const struct fpath *fp;
	size_t i;

	if (e->voff == NULL &&
	    ((e->voff = calloc(f->npaths + 1, sizeof(size_t))) == NULL ||
	     (e->vlen = calloc(f->npaths + 1, sizeof(size_t))) == NULL))
		return -1;
	e->key.len = e->vals.len = 0;
	if (ev_buf_append(&e->key, f->kb.p, f->kb.len) != 0)
		return -1;
	e->hash = ev_hash64(f->kb.p, f->kb.len);
	e->offset = rec->offset;
	e->g = -1;
	for (i = 0; i < f->npaths; i++) {
		fp = &f->paths[i];
		e->vlen[i] = SIZE_MAX;
		if (!fp->folded || fp->p == NULL)
			continue;
		e->voff[i] = e->vals.len;
		e->vlen[i] = fp->n;
		if (ev_buf_append(&e->vals, fp->p, fp->n) != 0)
			return -1;
	}
	if (f->need_rec) {
		e->rec_off = e->vals.len;
		e->rec_len = rec->n;
		if (ev_buf_append(&e->vals, rec->p, rec->n) != 0)
			return -1;
	}
	if (f->nslots > 0)
		__builtin_prefetch(
			&f->slots[(size_t)(e->hash >> 1) & (f->nslots - 1)]);
	return 0;
}

/* Fold e into its group, looked up before. */
static int pend_fold(struct ev_fold *f, struct pend *e, struct ev_error *err)
{
	struct ev_rec rec;
	struct fpath *fp;
	const uint8_t *q;
	size_t i;

	for (i = 0; i < f->npaths; i++) {
		fp = &f->paths[i];
		if (!fp->folded)
			continue;
		fp->p = NULL;
		if (e->vlen[i] == SIZE_MAX)
			continue;
		fp->p = e->vals.p + e->voff[i];
		fp->n = e->vlen[i];
		q = fp->p;
		if (ev_mp_read(&q, fp->p + fp->n, &fp->it) != 0)
			return ev_seterr(err, EV_EDATA,
					 "offset %llu: the record cannot be "
					 "read",
					 (unsigned long long)e->offset);
	}
	rec.offset = e->offset;
	rec.p = f->need_rec ? e->vals.p + e->rec_off : NULL;
	rec.n = f->need_rec ? e->rec_len : 0;
	rec.append_time = 0;
	f->folded++;
	return fold_into(f, (size_t)e->g, &rec, err);
}

/* Look up the groups of all but the last `lookup` records pushed, and
 * fold all but the last `fold` of them. */
static int pipe_run(struct ev_fold *f, uint64_t lookup, uint64_t fold,
		    struct ev_error *err)
{
	struct pend *e;
	int r;

	while (f->looked + lookup < f->pushed) {
		e = &f->pipe[f->looked % FOLD_PIPE];
		if ((e->g = ev_fold_group(f, e->key.p, e->key.len, e->hash)) <
		    0)
			return oom(err);
		__builtin_prefetch(&f->accs[(size_t)e->g * f->nfolds]);
		__builtin_prefetch(
			(const char *)&f->accs[(size_t)e->g * f->nfolds] + 64);
		f->looked++;
	}
	while (f->done + fold < f->pushed) {
		e = &f->pipe[f->done % FOLD_PIPE];
		f->done++;
		if ((r = pend_fold(f, e, err)) != 0)
			return r;
	}
	return 0;
}

int ev_fold_flush(struct ev_fold *f, struct ev_error *err)
{
	return pipe_run(f, 0, 0, err);
}

int ev_fold_sink_flush(void *ctx, struct ev_error *err)
{
	return ev_fold_flush(ctx, err);
}

int ev_fold_apply(struct ev_fold *f, const struct ev_rec *rec,
		  struct ev_error *err)
{
	const struct key_spec *ks;
	const struct fpath *fp;
	__int128 b;
	size_t i;

	if (EV_UNLIKELY(read_paths(f, rec) != 0))
		return ev_seterr(err, EV_EDATA,
				 "offset %llu: the record cannot be read",
				 (unsigned long long)rec->offset);
	f->kb.len = 0;
	if (EV_UNLIKELY(f->kb.p == NULL) && ev_buf_reserve(&f->kb, 64) != 0)
		return oom(err);
	for (i = 0; i < f->nkeys; i++) {
		ks = &f->keys[i];
		if (ks->path < 0) {
			/* the bucket: floor(time / every) * every */
			b = (__int128)f->time / ks->every_ns;
			if ((__int128)f->time % ks->every_ns < 0)
				b--;
			b *= ks->every_ns;
			if (b < EV_TIME_MIN)
				b = EV_TIME_MIN;
			if (ev_buf_reserve(&f->kb, 16) != 0)
				return oom(err);
			f->kb.len = (size_t)(ev_mp_time(f->kb.p + f->kb.len,
							(ev_time_t)b) -
					     f->kb.p);
			continue;
		}
		fp = &f->paths[ks->path];
		if (fp->p == NULL) {
			if (ev_buf_putc(&f->kb, 0xc0) != 0)
				return oom(err);
		} else if (put_canonical(&f->kb, fp->p, fp->n, &fp->it) != 0) {
			return oom(err);
		}
	}
	if (pend_fill(f, &f->pipe[f->pushed % FOLD_PIPE], rec) != 0)
		return oom(err);
	f->pushed++;
	return pipe_run(f, 1, 2, err);
}

int ev_fold_sink(void *ctx, const struct ev_rec *rec, const struct ev_event *ev,
		 struct ev_error *err)
{
	(void)ev;
	return ev_fold_apply(ctx, rec, err);
}
