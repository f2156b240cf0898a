/*
 * test_corrindex.c - lib/corrindex.c, the correlation index (evlog(5)
 * CORRELATION INDEX), and lib/trace.c's tree.
 *
 * Logs are written through the public writer from JSON lines whose ids
 * and correlation ids the test chooses, so that every lookup can be
 * checked against a brute-force answer computed here: the offsets, in
 * order, of the events whose id or correlation id is the key.  The index
 * files are then damaged, lied to, made stale and removed, and every
 * answer must stay the same; the statistics say whether the index was
 * used or the log read.
 */
#include <dirent.h>

#include "logutil.h"

#define NEV 3000
#define NCORR 37

/* event i: id e<i>; correlation id c<i % NCORR>, except every 11th (no
 * meta), every 13th (a number), and every 17th (its own id) */
static void line_of(int i, char *out, size_t n)
{
	char meta[128];

	if (i % 11 == 0)
		meta[0] = '\0';
	else if (i % 13 == 0)
		snprintf(meta, sizeof(meta), ",\"meta\":{\"correlationId\":%d}",
			 i % NCORR);
	else if (i % 17 == 0)
		snprintf(meta, sizeof(meta),
			 ",\"meta\":{\"correlationId\":\"e%d\"}", i);
	else
		snprintf(meta, sizeof(meta),
			 ",\"meta\":{\"x\":[1,{\"correlationId\":\"no\"}],"
			 "\"correlationId\":\"c%d\",\"causationId\":\"e%d\"}",
			 i % NCORR, i - NCORR);
	snprintf(out, n,
		 "{\"id\":\"e%d\",\"type\":\"T\",\"time\":\"2026-01-01T00:00:"
		 "%02d.%03dZ\"%s}",
		 i, (i / 1000) % 60, i % 1000, meta);
}

/* does event i have key as its id or its (string) correlation id? */
static int has_key(int i, const char *key)
{
	char b[32];

	snprintf(b, sizeof(b), "e%d", i);
	if (strcmp(b, key) == 0)
		return 1;
	if (i % 11 == 0 || i % 13 == 0 || i % 17 == 0)
		return 0;
	snprintf(b, sizeof(b), "c%d", i % NCORR);
	return strcmp(b, key) == 0;
}

static void append(struct tlog *t, int from, int count)
{
	struct ev_parse_opts po;
	struct ev_parser *ps;
	struct ev_writer_opts o;
	struct ev_writer *w;
	struct ev_error err;
	const uint8_t *rec;
	char line[512];
	size_t n;
	ev_time_t tm;
	int i;

	memset(&po, 0, sizeof(po));
	ps = ev_parser_new(&po);
	assert_non_null(ps);
	memset(&o, 0, sizeof(o));
	o.batch_bytes = 4096; /* many batches */
	assert_int_equal(ev_writer_open(&w, t->log, &o, &err), 0);
	for (i = from; i < from + count; i++) {
		line_of(i, line, sizeof(line));
		if (ev_parser_line(ps, line, strlen(line), EV_TIME_NONE,
				   &err) != 1)
			fail_msg("line %d: %s", i, err.msg);
		ev_parser_record(ps, 0, &rec, &n, &tm);
		assert_int_equal(ev_writer_add(w, rec, n, tm, &err), 0);
	}
	assert_int_equal(ev_writer_close(w, &err), 0);
	ev_parser_free(ps);
}

struct got {
	uint64_t off[NEV * 2];
	size_t n;
};

static int collect(void *ctx, const struct ev_rec *rec)
{
	struct got *g = ctx;

	g->off[g->n++] = rec->offset;
	return 0;
}

/* look key up with flags, check it against the brute force over the
 * first `events` events, and return the stats */
static struct ev_corrindex_stats check(struct tlog *t, const char *key,
				       int flags, int events)
{
	struct ev_corrindex_stats st;
	struct ev_reader *rd;
	struct ev_error err;
	static struct got g;
	size_t k = 0;
	int i;

	g.n = 0;
	assert_int_equal(ev_reader_open(&rd, t->log, &err), 0);
	if (ev_corrindex_find(t->log, rd, key, strlen(key), flags, collect, &g,
			      &st, &err) != 0)
		fail_msg("find '%s': %s", key, err.msg);
	ev_reader_free(rd);
	for (i = 0; i < events; i++)
		if (has_key(i, key)) {
			if (k >= g.n || g.off[k] != (uint64_t)i)
				fail_msg("'%s': offset %d missing (got %zu)",
					 key, i, g.n);
			k++;
		}
	if (k != g.n)
		fail_msg("'%s': %zu found, %zu expected", key, g.n, k);
	return st;
}

static void check_keys(struct tlog *t, int flags, int events)
{
	static const char *keys[] = {"c0", "c1",  "c5",	  "c36",  "e0",
				     "e1", "e17", "e500", "e13",  "nope",
				     "no", "c",	  "e",	  "e2999"};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		check(t, keys[i], flags, events);
}

static size_t runs_on_disk(struct tlog *t, char names[][64], size_t max)
{
	char dir[4300];
	struct dirent **v;
	int n, i;
	size_t k = 0;

	snprintf(dir, sizeof(dir), "%s/corrindex", t->path);
	n = scandir(dir, &v, NULL, alphasort);
	if (n < 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (strlen(v[i]->d_name) == 45 &&
		    strstr(v[i]->d_name, ".cix") != NULL && k < max)
			snprintf(names[k++], 64, "%.63s", v[i]->d_name);
		free(v[i]);
	}
	free(v);
	return k;
}

static void run_path(struct tlog *t, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/corrindex/%s", t->path, name);
}

/* ------------------------------------------------------------ tests */

static void test_first_use_then_index(void **state)
{
	struct tlog t;
	struct ev_corrindex_stats st;
	char names[8][64];

	(void)state;
	tlog_create(&t, 0, 1);
	append(&t, 0, NEV);
	st = check(&t, "c3", 0, NEV);
	assert_int_equal(st.scanned, NEV);
	assert_int_equal(st.written, 1);
	assert_int_equal(runs_on_disk(&t, names, 8), 1);
	assert_string_equal(names[0],
			    "00000000000000000000-00000000000000003000.cix");
	/* now every key through the index, without reading the log */
	st = check(&t, "c3", 0, NEV);
	assert_int_equal(st.scanned, 0);
	assert_int_equal(st.runs, 1);
	assert_true(st.candidates >= st.matched);
	check_keys(&t, 0, NEV);
	/* ignoring the index, or not writing it: the same answers */
	check_keys(&t, EV_CIX_IGNORE, NEV);
	st = check(&t, "c4", EV_CIX_IGNORE, NEV);
	assert_int_equal(st.scanned, NEV);
	tlog_free(&t);
}

static void test_no_write(void **state)
{
	struct tlog t;
	struct ev_corrindex_stats st;
	char names[8][64];

	(void)state;
	tlog_create(&t, 0, 0);
	append(&t, 0, 500);
	st = check(&t, "c7", EV_CIX_NO_WRITE, 500);
	assert_int_equal(st.written, 0);
	assert_int_equal(runs_on_disk(&t, names, 8), 0);
	assert_false(ev_corrindex_exists(t.log));
	tlog_free(&t);
}

static void test_incremental_and_merge(void **state)
{
	struct tlog t;
	struct ev_corrindex_stats st;
	char names[8][64];

	(void)state;
	tlog_create(&t, 0, 1);
	append(&t, 0, 1000);
	check(&t, "c1", 0, 1000);
	append(&t, 1000, 100);
	st = check(&t, "c1", 0, 1100);
	assert_int_equal(st.scanned, 100);
	assert_int_equal(runs_on_disk(&t, names, 8), 2);
	assert_string_equal(names[1],
			    "00000000000000001000-00000000000000001100.cix");
	/* 1000 more: as big as the first run, so the three become one */
	append(&t, 1100, 1000);
	st = check(&t, "c2", 0, 2100);
	assert_int_equal(st.scanned, 1000);
	assert_int_equal(runs_on_disk(&t, names, 8), 1);
	assert_string_equal(names[0],
			    "00000000000000000000-00000000000000002100.cix");
	check_keys(&t, 0, 2100);
	st = check(&t, "e2099", 0, 2100);
	assert_int_equal(st.scanned, 0);
	tlog_free(&t);
}

/* every kind of damage to the run: the same answers, read from the log,
 * and the run written again */
static void test_damage(void **state)
{
	static const struct {
		off_t at; /* from the start; < 0 from the end */
		uint8_t mask;
		off_t truncate_to; /* >= 0: truncate instead */
	} cases[] = {
		{0, 0x01, -1},	{8, 0x02, -1},	  {12, 0x80, -1},
		{20, 0x10, -1}, {33, 0x01, -1},	  {41, 0x01, -1},
		{49, 0x40, -1}, {57, 0x01, -1},	  {62, 0x01, -1},
		{64, 0x01, -1}, {5000, 0x20, -1}, {-2, 0x01, -1},
		{0, 0, 0},	{0, 0, 63},	  {0, 0, 64},
		{0, 0, 100000},
	};
	struct tlog t;
	struct ev_corrindex_stats st;
	struct ev_error err;
	char names[8][64], path[4400];
	size_t i;

	(void)state;
	tlog_create(&t, 0, 1);
	append(&t, 0, NEV);
	check(&t, "c0", 0, NEV);
	assert_int_equal(runs_on_disk(&t, names, 8), 1);
	run_path(&t, names[0], path, sizeof(path));
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		off_t size = tlog_size(path);
		if (cases[i].truncate_to >= 0)
			assert_int_equal(truncate(path, cases[i].truncate_to),
					 0);
		else
			tlog_flip(path,
				  cases[i].at >= 0 ? cases[i].at
						   : size + cases[i].at,
				  cases[i].mask);
		st = check(&t, "c9", 0, NEV);
		/* damage to the header or the size is seen at once; a
		 * damaged page only by a look that reads it */
		if (st.scanned == 0 && (cases[i].truncate_to >= 0 ||
					(cases[i].at >= 0 && cases[i].at < 64)))
			fail_msg("case %zu: the damaged run was used", i);
		check_keys(&t, 0, NEV);
		if (st.scanned == 0) {
			/* the page nobody read: rebuild to go on */
			assert_int_equal(ev_corrindex_rebuild(t.log, &st, &err),
					 0);
			continue;
		}
		assert_int_equal(tlog_size(path), size);
		/* rebuilt: the next look reads nothing */
		st = check(&t, "c10", 0, NEV);
		assert_int_equal(st.scanned, 0);
	}
	tlog_free(&t);
}

/* a run of a later epoch (written before a repair), one past the end of
 * the log, and files that are not runs */
static void test_stale_and_foreign(void **state)
{
	struct tlog t;
	struct ev_corrindex_stats st;
	struct ev_error err;
	char names[8][64], path[4400], other[4400];

	(void)state;
	tlog_create(&t, 0, 1);
	append(&t, 0, 400);
	check(&t, "c0", 0, 400);
	/* the epoch moves on, as a repair's cut or a trim makes it */
	assert_int_equal(ev_state_bump_epoch(t.log, &err), 0);
	st = check(&t, "c0", 0, 400);
	assert_int_equal(st.scanned, 400);
	st = check(&t, "c0", 0, 400);
	assert_int_equal(st.scanned, 0);
	/* a name that claims more than the log holds */
	assert_int_equal(runs_on_disk(&t, names, 8), 1);
	run_path(&t, names[0], path, sizeof(path));
	run_path(&t, "00000000000000000000-00000000000000000900.cix", other,
		 sizeof(other));
	assert_int_equal(rename(path, other), 0);
	st = check(&t, "c3", 0, 400);
	assert_int_equal(st.scanned, 400);
	if (runs_on_disk(&t, names, 8) != 1)
		fail_msg("runs: %s %s", names[0], names[1]);
	assert_string_equal(names[0],
			    "00000000000000000000-00000000000000000400.cix");
	/* files that are no runs are left alone, and not read */
	run_path(&t, "notes.txt", other, sizeof(other));
	assert_int_equal(unit_write_file(other, "x", 1), 0);
	run_path(&t, "0-400.cix", other, sizeof(other));
	assert_int_equal(unit_write_file(other, "x", 1), 0);
	st = check(&t, "c3", 0, 400);
	assert_int_equal(st.scanned, 0);
	assert_int_equal(access(other, F_OK), 0);
	/* rebuild: every run goes, one comes back */
	assert_int_equal(ev_corrindex_rebuild(t.log, &st, &err), 0);
	assert_int_equal(st.scanned, 400);
	assert_int_equal(runs_on_disk(&t, names, 8), 1);
	st = check(&t, "c3", 0, 400);
	assert_int_equal(st.scanned, 0);
	tlog_free(&t);
}

/* the writer keeps the index of a log with correlation-index on */
static void test_writer_keeps_it(void **state)
{
	struct tlog t;
	struct ev_log_config cfg;
	struct ev_corrindex_stats st;
	struct ev_error err;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.dir = unit_tmpdir();
	snprintf(t.path, sizeof(t.path), "%s/log", t.dir);
	ev_log_config_init(&cfg);
	cfg.sync = EV_SYNC_NONE;
	cfg.correlation_index = 1;
	assert_int_equal(ev_log_create(t.path, &cfg, &err), 0);
	tlog_open(&t);
	assert_true(ev_log_get_config(t.log)->correlation_index);
	append(&t, 0, 700);
	st = check(&t, "c11", 0, 700);
	assert_int_equal(st.scanned, 0);
	append(&t, 700, 50);
	st = check(&t, "c11", 0, 750);
	assert_int_equal(st.scanned, 0);
	/* two writers at once, their batches interleaved: each indexes
	 * its own ranges, and the other's are not taken for its own */
	{
		struct ev_writer_opts o;
		struct ev_writer *w[2];
		struct ev_parse_opts po;
		struct ev_parser *ps;
		const uint8_t *rec;
		char line[512];
		size_t n;
		ev_time_t tm;
		int i;

		memset(&po, 0, sizeof(po));
		ps = ev_parser_new(&po);
		memset(&o, 0, sizeof(o));
		assert_int_equal(ev_writer_open(&w[0], t.log, &o, &err), 0);
		assert_int_equal(ev_writer_open(&w[1], t.log, &o, &err), 0);
		for (i = 750; i < 1150; i++) {
			line_of(i, line, sizeof(line));
			assert_int_equal(ev_parser_line(ps, line, strlen(line),
							EV_TIME_NONE, &err),
					 1);
			ev_parser_record(ps, 0, &rec, &n, &tm);
			assert_int_equal(ev_writer_add(w[(i / 10) % 2], rec, n,
						       tm, &err),
					 0);
			if (i % 10 == 9)
				assert_int_equal(
					ev_writer_flush(w[(i / 10) % 2], &err),
					0);
		}
		assert_int_equal(ev_writer_close(w[0], &err), 0);
		assert_int_equal(ev_writer_close(w[1], &err), 0);
		ev_parser_free(ps);
	}
	st = check(&t, "c11", 0, 1150);
	assert_int_equal(st.scanned, 0);
	check_keys(&t, 0, 1150);
	tlog_free(&t);
}

/* ------------------------------------------------------------ trees */

static struct ev_trace *trace_of(struct tlog *t, const char *id)
{
	struct ev_reader *rd;
	struct ev_trace *tr;
	struct ev_error err;

	assert_int_equal(ev_reader_open(&rd, t->log, &err), 0);
	if (ev_trace_build(&tr, t->log, rd, id, strlen(id), 0, &err) != 0)
		fail_msg("trace '%s': %s", id, err.msg);
	ev_reader_free(rd);
	return tr;
}

static char *format(struct ev_trace *tr, enum ev_trace_format f)
{
	struct ev_buf b = {0};
	struct ev_error err;

	assert_int_equal(ev_trace_format(tr, f, 0, &b, &err), 0);
	assert_int_equal(ev_buf_putc(&b, '\0'), 0);
	return (char *)b.p;
}

static void test_trace_tree(void **state)
{
	struct tlog t;
	struct ev_trace *tr;
	char *s;

	(void)state;
	tlog_create(&t, 0, 1);
	append(&t, 0, 400);
	/* c5: events 5, 42, 79, ... each caused by the one NCORR before
	 * (the first by e-32, not in the log): one chain */
	tr = trace_of(&t, "c5");
	s = format(tr, EV_TRACE_TEXT);
	assert_non_null(strstr(s, "trace 'c5': "));
	assert_non_null(strstr(s, "\xe2\x94\x94\xe2\x94\x80 T #79"));
	assert_non_null(
		strstr(s,
		       "[orphan: caused by 'e-32', which is not in the log]"));
	free(s);
	s = format(tr, EV_TRACE_JSON);
	assert_memory_equal(s, "{\"trace\":\"c5\",", 13);
	assert_int_equal(s[strlen(s) - 1], '\n');
	free(s);
	s = format(tr, EV_TRACE_CHROME);
	assert_memory_equal(s, "{\"traceEvents\":[", 16);
	free(s);
	assert_true(ev_trace_count(tr) > 5);
	ev_trace_free(tr);
	/* an unknown id: no event, no error */
	tr = trace_of(&t, "nobody");
	assert_int_equal(ev_trace_count(tr), 0);
	ev_trace_free(tr);
	ev_trace_free(NULL);
	tlog_free(&t);
}

static int setup(void **state)
{
	(void)state;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_use_then_index),
		cmocka_unit_test(test_no_write),
		cmocka_unit_test(test_incremental_and_merge),
		cmocka_unit_test(test_damage),
		cmocka_unit_test(test_stale_and_foreign),
		cmocka_unit_test(test_writer_keeps_it),
		cmocka_unit_test(test_trace_tree),
	};

	return cmocka_run_group_tests_name("corrindex", tests, setup, NULL);
}
