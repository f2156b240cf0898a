/*
 * test_pubcheck.c - schemas at append time: the errors of an invalid
 * event in words, the dead letters of evpub --dlq read back (stage,
 * source, schemas, options, rounds, no offset), how evdlq lists them,
 * and their retry: appended and resolved, still invalid and left open,
 * in stream order, a bad schemas directory.
 */
#include "evutil.h"

struct pfx {
	char *dir; /* the schemas directory */
	struct elog log, dlq;
	struct ev_parser *ps;
	struct ev_schemadir *sd;
	struct ev_jschema_ctx *cx;
};

static void put(const struct pfx *x, const char *name, const char *text)
{
	char p[4300];

	snprintf(p, sizeof(p), "%s/%s", x->dir, name);
	assert_int_equal(unit_write_file(p, text, strlen(text)), 0);
}

static void open_registry(struct pfx *x)
{
	struct ev_schemadir_opts so;
	struct ev_error err;

	ev_schemadir_free(x->sd);
	memset(&so, 0, sizeof(so));
	if (ev_schemadir_open(&x->sd, x->dir, &so, &err) != 0)
		fail_msg("ev_schemadir_open: %s", err.msg);
}

static void pfx_setup(struct pfx *x)
{
	char p[4300];

	memset(x, 0, sizeof(*x));
	x->dir = unit_tmpdir();
	snprintf(p, sizeof(p), "%s/T", x->dir);
	assert_int_equal(mkdir(p, 0755), 0);
	put(x, "T/1.json",
	    "{\"properties\": {\"n\": {\"type\": \"integer\", \"minimum\": 0}},"
	    " \"required\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]}");
	put(x, "T/2.json", "{\"properties\": {\"n\": {\"minimum\": 0}}}");
	elog_create(&x->log, 0);
	elog_create(&x->dlq, 1);
	x->ps = ev_parser_new(NULL);
	x->cx = ev_jschema_ctx_new();
	assert_non_null(x->ps);
	assert_non_null(x->cx);
	open_registry(x);
}

static void pfx_free(struct pfx *x)
{
	ev_schemadir_free(x->sd);
	ev_jschema_ctx_free(x->cx);
	ev_parser_free(x->ps);
	elog_free(&x->log);
	elog_free(&x->dlq);
	unit_rmtree(x->dir);
}

/* The record of an NDJSON line, checked: 1 valid, 0 invalid. */
static int check(struct pfx *x, const char *line, const uint8_t **rec,
		 size_t *n)
{
	struct ev_error err;
	ev_time_t t;

	if (ev_parser_line(x->ps, line, strlen(line), 1700000000000000000LL,
			   &err) != 1)
		fail_msg("parse: %s", err.msg);
	ev_parser_record(x->ps, 0, rec, n, &t);
	return ev_schemadir_check(x->sd, *rec, *n, x->cx);
}

static void test_errors_text(void **state)
{
	struct pfx x;
	struct ev_buf b = {0};
	const uint8_t *rec;
	size_t n;
	char want[8192];

	(void)state;
	pfx_setup(&x);
	assert_int_equal(
		check(&x, "{\"type\":\"T\",\"schema\":2,\"data\":{\"n\":-1}}",
		      &rec, &n),
		0);
	assert_int_equal(ev_schema_errors_text(&b, "in:3: ", rec, n, x.cx, 5),
			 0);
	snprintf(want, sizeof(want),
		 "in:3: T (schema 2): /data/n: must be >= 0 "
		 "(%s/T/2.json#/properties/n/minimum)\n",
		 x.dir);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);

	/* 7 errors: 3 said, then how many more; no prefix */
	assert_int_equal(check(&x, "{\"type\":\"T\",\"data\":{}}", &rec, &n),
			 0);
	assert_int_equal(ev_jschema_nerrors(x.cx), 7);
	b.len = 0;
	assert_int_equal(ev_schema_errors_text(&b, NULL, rec, n, x.cx, 3), 0);
	assert_int_equal(ev_buf_putc(&b, '\0'), 0);
	assert_non_null(strstr(
		(char *)b.p,
		"T (schema 1): /data: must have required property 'a' ("));
	assert_non_null(strstr((char *)b.p, "\n... and 4 more\n"));
	assert_ptr_equal(strstr((char *)b.p, "... and"),
			 strrchr((char *)b.p, '\n') - strlen("... and 4 more"));
	ev_buf_free(&b);
	pfx_free(&x);
}

/* Write the letter of line (invalid), read at input, with d. */
static void dead_letter(struct pfx *x, struct ev_schema_dlq *d,
			const char *line, const char *input)
{
	const uint8_t *rec;
	size_t n;
	struct ev_error err;

	assert_int_equal(check(x, line, &rec, &n), 0);
	if (ev_schema_dlq_letter(d, rec, n, input, x->cx, &err) != 0)
		fail_msg("ev_schema_dlq_letter: %s", err.msg);
}

static void scan(struct pfx *x, struct ev_letter **v, size_t *n)
{
	struct ev_error err;

	if (ev_dlq_scan(x->dlq.log, v, n, &err) != 0)
		fail_msg("ev_dlq_scan: %s", err.msg);
}

static struct ev_schema_dlq *open_dlq(struct pfx *x, int require,
				      const char *const *ref_dirs)
{
	struct ev_schema_dlq *d;
	struct ev_schemadir_opts so;
	struct ev_error err;

	memset(&so, 0, sizeof(so));
	so.require_schemas = require;
	so.js.formats_assert = require;
	so.js.ref_dirs = ref_dirs;
	if (ev_schema_dlq_open(&d, x->dlq.log, x->log.log, x->dir, &so, &err) !=
	    0)
		fail_msg("ev_schema_dlq_open: %s", err.msg);
	return d;
}

static void test_letters(void **state)
{
	static const char *const refs[] = {"r1", "http://x/=r2", NULL};
	static const char *const line =
		"{\"type\":\"T\",\"id\":\"e1\",\"stream\":\"s\",\"schema\":2,"
		"\"data\":{\"n\":-5}}";
	struct pfx x;
	struct ev_schema_dlq *d;
	struct ev_letter *v;
	struct ev_error err;
	struct ev_buf b = {0};
	unsigned char sel[3] = {1, 1, 1};
	size_t n;
	char id[200];

	(void)state;
	pfx_setup(&x);
	d = open_dlq(&x, 1, refs);
	dead_letter(&x, d, line, "stdin:17");
	dead_letter(&x, d, line, "stdin:18"); /* the same event: round 2 */
	assert_int_equal(ev_schema_dlq_count(d), 2);
	assert_int_equal(ev_schema_dlq_flush(d, &err), 0);
	assert_int_equal(ev_schema_dlq_close(d, &err), 0);
	assert_int_equal(ev_schema_dlq_close(NULL, &err), 0);

	scan(&x, &v, &n);
	assert_int_equal(n, 2);
	assert_null(v[0].malformed);
	assert_string_equal(v[0].stage, "schema");
	assert_true(v[0].no_source_offset);
	assert_string_equal(v[0].input, "stdin:17");
	assert_string_equal(v[1].input, "stdin:18");
	assert_string_equal(v[0].schemas, x.dir);
	assert_string_equal(v[0].source_log, x.log.path);
	assert_string_equal(v[0].source_log_id, ev_log_id(x.log.log));
	assert_string_equal(v[0].group, "");
	assert_null(v[0].handler);
	assert_true(v[0].require_schemas);
	assert_true(v[0].formats_assert);
	assert_non_null(v[0].ref_dirs);
	/* made absolute: a retry runs wherever evdlq runs (r1 and r2 do
	 * not exist: joined to the working directory) */
	{
		char *cwd = getcwd(NULL, 0), want[8192];

		assert_non_null(cwd);
		snprintf(want, sizeof(want), "%s/r1", cwd);
		assert_string_equal(v[0].ref_dirs[0], want);
		snprintf(want, sizeof(want), "http://x/=%s/r2", cwd);
		assert_string_equal(v[0].ref_dirs[1], want);
		free(cwd);
	}
	assert_null(v[0].ref_dirs[2]);
	assert_string_equal(v[0].orig_id, "e1");
	assert_string_equal(v[0].orig_stream, "s");
	assert_int_equal(v[0].attempts, 1);
	assert_int_equal(v[0].round, 1);
	assert_int_equal(v[1].round, 2);
	snprintf(id, sizeof(id), "deadletter:schema:%s:e1:2",
		 ev_log_id(x.log.log));
	assert_string_equal(v[1].id, id);
	assert_non_null(strstr(v[0].error, "T (schema 2): /data/n: must be "
					   ">= 0 ("));
	/* the event as given, without an offset it never had */
	assert_non_null(strstr(v[0].original_json, "{\"id\":\"e1\","));
	assert_null(strstr(v[0].original_json, "\"offset\""));
	assert_int_equal(ev_dlq_schema_next_round(v, n, ev_log_id(x.log.log),
						  "e1"),
			 3);
	assert_int_equal(ev_dlq_schema_next_round(v, n, ev_log_id(x.log.log),
						  "e2"),
			 1);

	/* as evdlq lists it */
	assert_int_equal(ev_letter_to_json(&b, &v[0], ev_now()), 0);
	assert_int_equal(ev_buf_putc(&b, '\0'), 0);
	assert_non_null(strstr((char *)b.p, ",\"offset\":null},"));
	assert_non_null(strstr((char *)b.p, ",\"stage\":\"schema\"}"));
	b.len = 0;
	assert_int_equal(ev_letters_table(&b, v, n, sel, 0, ev_now()), 0);
	assert_int_equal(ev_buf_putc(&b, '\0'), 0);
	assert_non_null(strstr((char *)b.p, "\n0        -          T "));
	ev_buf_free(&b);
	ev_letters_free(v, n);
	pfx_free(&x);
}

/* What a retry reported, letter by letter. */
struct seen {
	char what[8];
	size_t n;
	uint64_t offset[8];
};

static void on_report(void *ctx, const struct ev_retry_report *r)
{
	struct seen *s = ctx;

	if (s->n < 8) {
		s->what[s->n] = "WROLN"[r->what];
		s->offset[s->n++] = r->what == EV_RETRY_RESOLVED
					    ? r->appended_offset
					    : r->letter->offset;
	}
}

static int retry(struct pfx *x, const char *schemas, uint64_t *resolved,
		 struct seen *s, struct ev_error *err)
{
	struct ev_schema_retry_opts o;
	struct ev_letter *v;
	unsigned char sel[8];
	volatile sig_atomic_t stop = 0;
	size_t n;
	int r;

	scan(x, &v, &n);
	memset(sel, 1, sizeof(sel));
	memset(&o, 0, sizeof(o));
	memset(s, 0, sizeof(*s));
	o.schemas = schemas;
	o.report = on_report;
	o.ctx = s;
	*resolved = 0;
	r = ev_dlq_retry_schema(x->dlq.log, v, n, sel, &o, &stop, resolved,
				err);
	ev_letters_free(v, n);
	return r;
}

static void test_retry(void **state)
{
	struct pfx x;
	struct ev_schema_dlq *d;
	struct ev_letter *v;
	struct ev_error err;
	struct ev_log_info info;
	struct seen s;
	uint64_t resolved;
	size_t n;

	(void)state;
	pfx_setup(&x);
	d = open_dlq(&x, 0, NULL);
	dead_letter(
		&x, d,
		"{\"type\":\"T\",\"id\":\"a\",\"stream\":\"s\",\"schema\":2,"
		"\"data\":{\"n\":-20}}",
		"in:1");
	dead_letter(
		&x, d,
		"{\"type\":\"T\",\"id\":\"b\",\"stream\":\"s\",\"schema\":2,"
		"\"data\":{\"n\":-1}}",
		"in:2");
	dead_letter(&x, d,
		    "{\"type\":\"T\",\"id\":\"c\",\"schema\":2,"
		    "\"data\":{\"n\":-1}}",
		    "in:3");
	assert_int_equal(ev_schema_dlq_close(d, &err), 0);

	/* still invalid: a, and b behind it in stream s; c passes */
	put(&x, "T/2.json", "{\"properties\": {\"n\": {\"minimum\": -10}}}");
	assert_int_equal(retry(&x, NULL, &resolved, &s, &err), 0);
	assert_int_equal(resolved, 1);
	assert_int_equal(s.n, 3);
	assert_memory_equal(s.what, "OLR", 3);
	assert_int_equal(s.offset[0], 0);
	assert_int_equal(s.offset[1], 1);
	assert_int_equal(s.offset[2], 0); /* c, at offset 0 of the log */
	assert_int_equal(ev_log_info(x.log.log, &info, &err), 0);
	assert_int_equal(info.events, 1);
	free(info.seg);
	scan(&x, &v, &n);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].state, EV_LETTER_OPEN);
	assert_int_equal(v[0].attempts, 2);
	assert_non_null(strstr(v[0].error, "must be >= -10"));
	assert_int_equal(v[1].state, EV_LETTER_OPEN);
	assert_int_equal(v[1].attempts, 1);
	assert_int_equal(v[2].state, EV_LETTER_RESOLVED);
	ev_letters_free(v, n);

	/* against another directory, where all pass, in stream order */
	put(&x, "T/2.json", "true");
	assert_int_equal(retry(&x, x.dir, &resolved, &s, &err), 0);
	assert_int_equal(resolved, 2);
	assert_memory_equal(s.what, "RR", 2);
	assert_int_equal(s.offset[0], 1);
	assert_int_equal(s.offset[1], 2);

	/* nothing open: nothing done */
	assert_int_equal(retry(&x, NULL, &resolved, &s, &err), 0);
	assert_int_equal(s.n, 0);
	pfx_free(&x);
}

static void test_retry_bad_schemas(void **state)
{
	struct pfx x;
	struct ev_schema_dlq *d;
	struct ev_error err;
	struct seen s;
	uint64_t resolved;
	struct ev_letter *v;
	size_t n;

	(void)state;
	pfx_setup(&x);
	d = open_dlq(&x, 0, NULL);
	dead_letter(&x, d,
		    "{\"type\":\"T\",\"id\":\"a\",\"schema\":2,"
		    "\"data\":{\"n\":-20}}",
		    "in:1");
	assert_int_equal(ev_schema_dlq_close(d, &err), 0);
	put(&x, "T/2.json", "{\"minimum\": ");
	assert_int_equal(retry(&x, NULL, &resolved, &s, &err), EV_EUSAGE);
	assert_non_null(strstr(err.msg, "T/2.json"));
	assert_int_equal(resolved, 0);
	scan(&x, &v, &n);
	assert_int_equal(n, 1); /* nothing recorded */
	assert_int_equal(v[0].attempts, 1);
	ev_letters_free(v, n);
	pfx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors_text),
		cmocka_unit_test(test_letters),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_retry_bad_schemas),
	};

	return cmocka_run_group_tests_name("pubcheck", tests, NULL, NULL);
}
