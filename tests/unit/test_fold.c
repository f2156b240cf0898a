/*
 * test_fold.c - lib/fold.c, lib/foldout.c and lib/rows.c: the built-in
 * folds on stored records, their rows in every format, the numbers
 * (exact integer sums, overflow, decimals, wrong types), and a state
 * saved and restored folding on to what one run gives; a damaged state
 * is refused, never a crash.
 */
#include "unit.h"

/* Records made from NDJSON lines, each at its offset (its index). */
struct recs {
	struct ev_buf b;
	size_t off[64], len[64];
	size_t n;
};

static void recs_add(struct recs *r, const char *json)
{
	struct ev_parse_opts o;
	struct ev_parser *ps;
	struct ev_error err;
	const uint8_t *rec;
	size_t n;
	ev_time_t t;

	memset(&o, 0, sizeof(o));
	o.format = EV_FMT_ENVELOPE;
	ps = ev_parser_new(&o);
	assert_non_null(ps);
	if (ev_parser_line(ps, json, strlen(json), 1700000000000000000LL,
			   &err) != 1)
		fail_msg("ev_parser_line: %s", err.msg);
	ev_parser_record(ps, 0, &rec, &n, &t);
	assert_true(r->n < 64);
	r->off[r->n] = r->b.len;
	r->len[r->n] = n;
	assert_int_equal(ev_buf_append(&r->b, rec, n), 0);
	r->n++;
	ev_parser_free(ps);
}

static int apply(struct ev_fold *f, struct recs *r, size_t from, size_t to,
		 struct ev_error *err)
{
	struct ev_rec rec;
	size_t i;
	int rc;

	for (i = from; i < to; i++) {
		rec.offset = i;
		rec.p = r->b.p + r->off[i];
		rec.n = r->len[i];
		rec.append_time = 0;
		if ((rc = ev_fold_apply(f, &rec, err)) != 0)
			return rc;
	}
	return ev_fold_flush(f, err);
}

/* The rows of f in fmt, as a string the caller frees. */
static char *rows_of(struct ev_fold *f, enum ev_rows_format fmt,
		     const char *sort, uint64_t limit)
{
	const char *cols[32];
	struct ev_rows *rows;
	struct ev_buf out = {0};
	struct ev_error err;
	size_t i;

	for (i = 0; i < ev_fold_ncolumns(f); i++)
		cols[i] = ev_fold_column(f, i);
	assert_int_equal(ev_rows_new(&rows, cols, ev_fold_ncolumns(f),
				     ev_fold_nkeys(f), &err),
			 0);
	assert_int_equal(ev_rows_set_sort(rows, sort, &err), 0);
	if (ev_fold_rows(f, rows, &err) != 0)
		fail_msg("ev_fold_rows: %s", err.msg);
	assert_int_equal(ev_rows_sort(rows, &err), 0);
	if (limit > 0)
		ev_rows_limit(rows, limit);
	if (ev_rows_write(rows, fmt, &out, &err) != 0)
		fail_msg("ev_rows_write: %s", err.msg);
	ev_buf_putc(&out, '\0');
	ev_rows_free(rows);
	return (char *)out.p;
}

/* The rows of a fold restored from flipped bits: they may not print,
 * but they must not crash. */
static int rows_try(struct ev_fold *f)
{
	const char *cols[32];
	struct ev_rows *rows;
	struct ev_buf out = {0};
	struct ev_error err;
	size_t i;
	int r;

	for (i = 0; i < ev_fold_ncolumns(f); i++)
		cols[i] = ev_fold_column(f, i);
	assert_int_equal(ev_rows_new(&rows, cols, ev_fold_ncolumns(f),
				     ev_fold_nkeys(f), &err),
			 0);
	r = ev_fold_rows(f, rows, &err);
	if (r == 0)
		r = ev_rows_write(rows, EV_ROWS_TABLE, &out, &err);
	ev_rows_free(rows);
	ev_buf_free(&out);
	return r;
}

static struct ev_fold *fold_of(const char *const *spec)
{
	struct ev_fold *f;
	struct ev_error err;
	size_t i;
	int r;

	assert_int_equal(ev_fold_new(&f, &err), 0);
	for (i = 0; spec[i] != NULL; i += 2) {
		const char *o = spec[i], *a = spec[i + 1];
		if (strcmp(o, "by") == 0)
			r = ev_fold_by(f, a, &err);
		else if (strcmp(o, "every") == 0)
			r = ev_fold_every(f, a, &err);
		else
			r = ev_fold_add(f,
					strcmp(o, "count") == 0 ? EV_FOLD_COUNT
					: strcmp(o, "sum") == 0 ? EV_FOLD_SUM
					: strcmp(o, "min") == 0 ? EV_FOLD_MIN
					: strcmp(o, "max") == 0 ? EV_FOLD_MAX
					: strcmp(o, "avg") == 0 ? EV_FOLD_AVG
					: strcmp(o, "distinct") == 0
						? EV_FOLD_DISTINCT
					: strcmp(o, "first") == 0
						? EV_FOLD_FIRST
					: strcmp(o, "last") == 0
						? EV_FOLD_LAST
						: EV_FOLD_LAST_EVENT,
					a, &err);
		if (r != 0)
			fail_msg("%s %s: %s", o, a ? a : "", err.msg);
	}
	return f;
}

static void sample(struct recs *r)
{
	memset(r, 0, sizeof(*r));
	recs_add(r, "{\"type\":\"Dep\",\"stream\":\"a\",\"time\":\"2025-01-"
		    "10T09:01:00Z\",\"data\":{\"amount\":5,\"who\":\"x\"}}");
	recs_add(r, "{\"type\":\"Dep\",\"stream\":\"b\",\"time\":\"2025-01-"
		    "10T09:02:00Z\",\"data\":{\"amount\":2.5,\"who\":\"y\"}}");
	recs_add(r,
		 "{\"type\":\"Wd\",\"stream\":\"a\",\"time\":\"2025-01-"
		 "10T09:07:00Z\",\"data\":{\"amount\":\"x\",\"who\":\"x\"}}");
	recs_add(r, "{\"type\":\"Dep\",\"stream\":\"a\",\"time\":\"2025-01-"
		    "10T10:00:00Z\",\"data\":{\"amount\":-7,\"who\":\"z\"}}");
	recs_add(r, "{\"type\":\"Dep\",\"time\":\"2025-01-"
		    "10T10:01:00Z\",\"data\":{\"amount\":1}}");
}

static void test_folds(void **state)
{
	static const char *const spec[] = {
		"by",	    "stream",	   "count", NULL,
		"sum",	    "data.amount", "min",   "data.amount",
		"max",	    "data.amount", "avg",   "data.amount",
		"distinct", "data.who",	   "first", "data.who",
		"last",	    "data.who",	   NULL,
	};
	struct ev_fold *f = fold_of(spec);
	struct ev_fold_issue is;
	struct ev_error err;
	struct recs r;
	char *s;

	(void)state;
	sample(&r);
	assert_int_equal(apply(f, &r, 0, r.n, &err), 0);
	assert_int_equal(ev_fold_groups(f), 3);
	s = rows_of(f, EV_ROWS_NDJSON, NULL, 0);
	assert_string_equal(
		s, "{\"stream\":null,\"count\":1,\"sum(data.amount)\":1,"
		   "\"min(data.amount)\":1,\"max(data.amount)\":1,"
		   "\"avg(data.amount)\":1.0,\"distinct(data.who)\":0,"
		   "\"first(data.who)\":null,\"last(data.who)\":null}\n"
		   "{\"stream\":\"a\",\"count\":3,\"sum(data.amount)\":-2,"
		   "\"min(data.amount)\":-7,\"max(data.amount)\":5,"
		   "\"avg(data.amount)\":-1.0,\"distinct(data.who)\":2,"
		   "\"first(data.who)\":\"x\",\"last(data.who)\":\"z\"}\n"
		   "{\"stream\":\"b\",\"count\":1,\"sum(data.amount)\":2.5,"
		   "\"min(data.amount)\":2.5,\"max(data.amount)\":2.5,"
		   "\"avg(data.amount)\":2.5,\"distinct(data.who)\":1,"
		   "\"first(data.who)\":\"y\",\"last(data.who)\":\"y\"}\n");
	free(s);
	/* the string "x" is not a number: once, for sum, min, max and avg */
	assert_int_equal(ev_fold_issue(f, 0, &is), 1);
	assert_string_equal(is.path, "data.amount");
	assert_string_equal(is.what, "numbers");
	assert_int_equal(is.count, 1);
	assert_int_equal(is.first_offset, 2);
	assert_int_equal(ev_fold_issue(f, 1, &is), 0);
	assert_string_equal(ev_fold_describe(f),
			    "--by stream --count --sum data.amount --min "
			    "data.amount --max data.amount --avg data.amount "
			    "--distinct data.who --first data.who --last "
			    "data.who");
	ev_fold_free(f);
	ev_buf_free(&r.b);
}

static void test_formats(void **state)
{
	static const char *const spec[] = {"every", "1h", "by", "type",
					   "count", NULL, NULL};
	struct ev_fold *f = fold_of(spec);
	struct ev_error err;
	struct recs r;
	char *s;

	(void)state;
	sample(&r);
	assert_int_equal(apply(f, &r, 0, r.n, &err), 0);
	s = rows_of(f, EV_ROWS_CSV, NULL, 0);
	assert_string_equal(s, "every(1h),type,count\n"
			       "2025-01-10T09:00:00.000Z,Dep,2\n"
			       "2025-01-10T09:00:00.000Z,Wd,1\n"
			       "2025-01-10T10:00:00.000Z,Dep,2\n");
	free(s);
	s = rows_of(f, EV_ROWS_TSV, "-count,type", 2);
	assert_string_equal(s, "every(1h)\ttype\tcount\n"
			       "2025-01-10T09:00:00.000Z\tDep\t2\n"
			       "2025-01-10T10:00:00.000Z\tDep\t2\n");
	free(s);
	s = rows_of(f, EV_ROWS_TABLE, "-count", 1);
	assert_string_equal(s, "every(1h)                 type  count\n"
			       "2025-01-10T09:00:00.000Z  Dep       2\n");
	free(s);
	s = rows_of(f, EV_ROWS_JSON, NULL, 2);
	assert_string_equal(s, "[\n{\"every(1h)\":\"2025-01-10T09:00:00.000Z\","
			       "\"type\":\"Dep\",\"count\":2},\n"
			       "{\"every(1h)\":\"2025-01-10T09:00:00.000Z\","
			       "\"type\":\"Wd\",\"count\":1}\n]\n");
	free(s);
	ev_fold_free(f);
	ev_buf_free(&r.b);
}

static void test_numbers(void **state)
{
	static const char *const spec[] = {"sum", "data.n", NULL};
	struct ev_fold *f = fold_of(spec);
	struct ev_error err;
	struct recs r;
	char *s;

	(void)state;
	memset(&r, 0, sizeof(r));
	/* beyond INT64_MAX and back: exact */
	recs_add(&r, "{\"type\":\"T\",\"data\":{\"n\":18446744073709551615}}");
	recs_add(&r, "{\"type\":\"T\",\"data\":{\"n\":-9223372036854775808}}");
	recs_add(&r, "{\"type\":\"T\",\"data\":{\"n\":-9223372036854775807}}");
	recs_add(&r, "{\"type\":\"T\",\"data\":{\"n\":1}}");
	assert_int_equal(apply(f, &r, 0, r.n, &err), 0);
	s = rows_of(f, EV_ROWS_NDJSON, NULL, 0);
	assert_string_equal(s, "{\"sum(data.n)\":1}\n");
	free(s);
	ev_fold_free(f);
	ev_buf_free(&r.b);

	f = fold_of((const char *const[]){"by", "type", "sum", "data.n", NULL});
	memset(&r, 0, sizeof(r));
	recs_add(&r, "{\"type\":\"T\",\"data\":{\"n\":18446744073709551615}}");
	recs_add(&r, "{\"type\":\"T\",\"data\":{\"n\":1}}");
	assert_int_equal(apply(f, &r, 0, r.n, &err), EV_EDATA);
	assert_string_equal(err.msg, "offset 1: sum(data.n) overflows 64-bit "
				     "integers in group {\"type\":\"T\"}");
	ev_fold_free(f);
	ev_buf_free(&r.b);

	f = fold_of(
		(const char *const[]){"sum", "data.n", "max", "data.n", NULL});
	ev_fold_set_strict(f, 1);
	memset(&r, 0, sizeof(r));
	recs_add(&r, "{\"type\":\"T\",\"data\":{\"n\":1}}");
	recs_add(&r, "{\"type\":\"T\",\"data\":{\"n\":null}}");
	recs_add(&r, "{\"type\":\"T\",\"data\":{\"n\":true}}");
	assert_int_equal(apply(f, &r, 0, r.n, &err), EV_EDATA);
	assert_string_equal(err.msg,
			    "offset 2: data.n is a boolean, not a number");
	ev_fold_free(f);
	ev_buf_free(&r.b);
}

static void test_bad_specs(void **state)
{
	struct ev_fold *f;
	struct ev_error err;

	(void)state;
	assert_int_equal(ev_fold_new(&f, &err), 0);
	assert_int_equal(ev_fold_add(f, EV_FOLD_SUM, "amount", &err),
			 EV_EUSAGE);
	assert_string_equal(err.msg, "unknown field 'amount'; did you mean "
				     "'data.amount'?");
	assert_int_equal(ev_fold_add(f, EV_FOLD_SUM, NULL, &err), EV_EUSAGE);
	assert_int_equal(ev_fold_by(f, "stream,", &err), EV_EUSAGE);
	assert_int_equal(ev_fold_every(f, "5x", &err), EV_EUSAGE);
	assert_string_equal(err.msg, "'5x' is not a duration such as 30s, "
				     "5m, 1h or 1d");
	assert_int_equal(ev_fold_every(f, "0s", &err), EV_EUSAGE);
	ev_fold_free(f);
	ev_fold_free(NULL);
	ev_rows_free(NULL);
}

/* Save after k events, restore, fold the rest: as one run, for every k. */
static void test_save_restore(void **state)
{
	static const char *const spec[] = {
		"by",	      "stream",	     "every",	 "1h",
		"count",      NULL,	     "sum",	 "data.amount",
		"min",	      "data.who",    "max",	 "data.amount",
		"avg",	      "data.amount", "distinct", "data.who",
		"first",      "data.who",    "last",	 "data",
		"last-event", NULL,	     NULL,
	};
	struct ev_fold *all = fold_of(spec), *a, *b;
	struct ev_buf blob = {0};
	struct ev_error err;
	struct recs r;
	char *want, *got;
	size_t k, cut;

	(void)state;
	sample(&r);
	assert_int_equal(apply(all, &r, 0, r.n, &err), 0);
	want = rows_of(all, EV_ROWS_NDJSON, NULL, 0);
	for (k = 0; k <= r.n; k++) {
		a = fold_of(spec);
		b = fold_of(spec);
		assert_int_equal(apply(a, &r, 0, k, &err), 0);
		blob.len = 0;
		assert_int_equal(ev_fold_save(a, &blob, &err), 0);
		if (ev_fold_restore(b, blob.p, blob.len, &err) != 0)
			fail_msg("restore after %zu: %s", k, err.msg);
		assert_int_equal(apply(b, &r, k, r.n, &err), 0);
		got = rows_of(b, EV_ROWS_NDJSON, NULL, 0);
		assert_string_equal(got, want);
		free(got);
		assert_int_equal(ev_fold_hash(a), ev_fold_hash(b));
		ev_fold_free(a);
		ev_fold_free(b);
	}
	/* every cut is refused; flipped bits are refused or read, never
	 * a crash */
	for (cut = 0; cut < blob.len; cut++) {
		b = fold_of(spec);
		assert_int_equal(ev_fold_restore(b, blob.p, cut, &err),
				 EV_EDATA);
		ev_fold_free(b);
	}
	for (cut = 0; cut < blob.len * 8; cut += 3) {
		int rc;
		blob.p[cut / 8] ^= (uint8_t)(1u << (cut % 8));
		b = fold_of(spec);
		rc = ev_fold_restore(b, blob.p, blob.len, &err);
		assert_true(rc == 0 || rc == EV_EDATA);
		if (rc == 0) {
			rc = rows_try(b);
			assert_true(rc == 0 || rc == EV_EDATA);
		}
		ev_fold_free(b);
		blob.p[cut / 8] ^= (uint8_t)(1u << (cut % 8));
	}
	/* another definition's state */
	b = fold_of((const char *const[]){"count", NULL, NULL});
	assert_int_equal(ev_fold_restore(b, blob.p, blob.len, &err), EV_EDATA);
	assert_string_equal(err.msg, "bad fold state: it is the state of "
				     "another definition");
	assert_true(ev_fold_hash(b) != ev_fold_hash(all));
	ev_fold_free(b);
	free(want);
	ev_fold_free(all);
	ev_buf_free(&blob);
	ev_buf_free(&r.b);
}

/* Rows sort as JSON values: null, false, true, numbers numerically
 * (whatever their encoding), strings bytewise, arrays, objects; '-'
 * reverses, ties go by the key. */
static void test_rows_order(void **state)
{
	static const char *const vals[] = {
		"\"b\"",
		"-7",
		"2.5",
		"18446744073709551615",
		"null",
		"-9223372036854775808",
		"0",
		"1e300",
		"\"a\"",
		"true",
		"[1,2]",
		"\"ab\"",
		"false",
		"{\"k\":1}",
		"2",
		"[1]",
		"\"abcdefghij\"",
		"\"abcdefgh\"",
		"-0.5",
	};
	const char *cols[] = {"k", "n"};
	const uint8_t *cells[2];
	size_t lens[2], i;
	struct ev_rows *rows;
	struct ev_buf b = {0}, out = {0};
	struct ev_error err;
	struct ev_json js;
	uint8_t num[16];

	(void)state;
	assert_int_equal(ev_rows_new(&rows, cols, 2, 1, &err), 0);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		b.len = 0;
		ev_json_init(&js, vals[i], strlen(vals[i]));
		assert_int_equal(ev_json_value(&js, &b), 0);
		cells[0] = b.p;
		lens[0] = b.len;
		cells[1] = num;
		lens[1] = (size_t)(ev_mp_uint(num, i % 3) - num);
		assert_int_equal(ev_rows_add(rows, cells, lens, &err), 0);
	}
	assert_int_equal(ev_rows_sort(rows, &err), 0);
	assert_int_equal(ev_rows_write(rows, EV_ROWS_CSV, &out, &err), 0);
	ev_buf_putc(&out, '\0');
	assert_string_equal((char *)out.p,
			    "k,n\nnull,1\nfalse,0\ntrue,0\n"
			    "-9223372036854775808,2\n-7,1\n-0.5,0\n0,0\n"
			    "2,2\n2.5,2\n18446744073709551615,0\n1e+300,1\n"
			    "a,2\nab,2\nabcdefgh,2\nabcdefghij,1\nb,0\n"
			    "[1],0\n\"[1,2]\",1\n\"{\"\"k\"\":1}\",1\n");
	out.len = 0;
	assert_int_equal(ev_rows_set_sort(rows, "-n,k", &err), 0);
	assert_int_equal(ev_rows_sort(rows, &err), 0);
	ev_rows_limit(rows, 3);
	assert_int_equal(ev_rows_count(rows), 3);
	assert_int_equal(ev_rows_write(rows, EV_ROWS_TSV, &out, &err), 0);
	ev_buf_putc(&out, '\0');
	assert_string_equal((char *)out.p, "k\tn\n-9223372036854775808\t2\n"
					   "2\t2\n2.5\t2\n");
	assert_int_equal(ev_rows_set_sort(rows, "n,x", &err), EV_EUSAGE);
	assert_string_equal(err.msg,
			    "'x' is not a column; the columns are k, n");
	ev_rows_free(rows);
	ev_buf_free(&b);
	ev_buf_free(&out);
}

/* Damaged records: every cut and every flipped bit is folded or
 * refused (EV_EDATA), never a crash, and the rows still print or say
 * why not. */
static void test_damaged_records(void **state)
{
	static const char *const spec[] = {
		"by",	"stream",     "by",	  "data.who", "every",
		"1m",	"count",      NULL,	  "sum",      "data.amount",
		"min",	"data.who",   "distinct", "meta",     "first",
		"data", "last-event", NULL,	  NULL,
	};
	struct ev_fold *f;
	struct ev_error err;
	struct ev_rec rec;
	struct recs r;
	uint8_t buf[512];
	size_t i, k, n;
	int rc;

	(void)state;
	sample(&r);
	for (i = 0; i < r.n; i++) {
		n = r.len[i];
		assert_true(n <= sizeof(buf));
		for (k = 0; k <= n * 8; k++) {
			memcpy(buf, r.b.p + r.off[i], n);
			rec.p = buf;
			rec.n = n;
			if (k < n * 8)
				buf[k / 8] ^= (uint8_t)(1u << (k % 8));
			else
				rec.n = n / 2; /* cut */
			rec.offset = k;
			rec.append_time = 0;
			f = fold_of(spec);
			rc = ev_fold_apply(f, &rec, &err);
			if (rc == 0)
				rc = ev_fold_flush(f, &err);
			assert_true(rc == 0 || rc == EV_EDATA);
			if (rc == 0) {
				rc = rows_try(f);
				assert_true(rc == 0 || rc == EV_EDATA);
			}
			ev_fold_free(f);
		}
	}
	ev_buf_free(&r.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folds),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_save_restore),
		cmocka_unit_test(test_rows_order),
		cmocka_unit_test(test_damaged_records),
	};

	return cmocka_run_group_tests_name("fold", tests, NULL, NULL);
}
