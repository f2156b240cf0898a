/*
 * test_schemadir.c - lib/schemadir.c and lib/schemareport.c: type names
 * percent-encoded and back, a registry opened and records checked
 * (versions, missing files, the envelope, binary data, records that do
 * not decode), two threads checking with one registry, lint's problems,
 * and the report's counts.
 */
#include <pthread.h>

#include "unit.h"

/* ------------------------------------------------------------ names */

static void enc(const char *type, const char *want)
{
	struct ev_buf b = {0};

	assert_int_equal(ev_schemadir_encode_type(type, strlen(type), &b), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
	/* and back */
	b.len = 0;
	assert_int_equal(ev_schemadir_decode_type(want, &b), 0);
	assert_int_equal(b.len, strlen(type));
	assert_memory_equal(b.p, type, b.len);
	ev_buf_free(&b);
}

static void test_encode(void **state)
{
	(void)state;
	enc("OrderPlaced", "OrderPlaced");
	enc("billing/Invoice", "billing%2FInvoice");
	enc("100%", "100%25");
	enc(".hidden", "%2Ehidden");
	enc("_internal", "%5Finternal");
	enc("a.b_c", "a.b_c"); /* only a leading . or _ */
	enc("a\tb\x7f", "a%09b%7F");
	enc("Bestellung \xc3\xa4", "Bestellung \xc3\xa4");
	enc("c1\xc2\x85", "c1%C2%85"); /* U+0085, a C1 control */
	enc("..", "%2E.");
}

static void test_decode(void **state)
{
	static const char *const bad[] = {
		"", "%", "%2", "%zz", "a%G0", ".x", "_x", "%FF", "%C3", NULL,
	};
	struct ev_buf b = {0};
	const char *const *s;

	(void)state;
	for (s = bad; *s != NULL; s++) {
		b.len = 0;
		assert_int_equal(ev_schemadir_decode_type(*s, &b), EV_EDATA);
		assert_int_equal(b.len, 0);
	}
	b.len = 0;
	assert_int_equal(ev_schemadir_decode_type("a%2fb%2Fc", &b), 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.p, "a/b/c", 5);
	ev_buf_free(&b);
}

/* ------------------------------------------------------------ a registry */

static void put(const char *dir, const char *rel, const char *text)
{
	char path[4096], *slash;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0777);
	*slash = '/';
	assert_int_equal(unit_write_file(path, text, strlen(text)), 0);
}

static char *make_dir(void)
{
	char *d = unit_tmpdir();

	put(d, "Order/1.json",
	    "{\"type\":\"object\",\"required\":[\"amount\"],"
	    "\"properties\":{\"amount\":{\"minimum\":0}}}");
	put(d, "Order/3.json", "{\"type\":\"object\"}");
	put(d, "a%2Fb/1.json", "{\"type\":\"integer\"}");
	put(d, "Blob/1.json", "{\"title\":\"any\"}");
	return d;
}

/* An encoded record from an NDJSON envelope line. */
static void rec_of(const char *line, struct ev_buf *out)
{
	struct ev_parse_opts po;
	struct ev_parser *ps;
	struct ev_error err;
	const uint8_t *rec;
	size_t n;

	memset(&po, 0, sizeof(po));
	ps = ev_parser_new(&po);
	assert_non_null(ps);
	assert_int_equal(ev_parser_line(ps, line, strlen(line), 0, &err), 1);
	ev_parser_record(ps, 0, &rec, &n, NULL);
	out->len = 0;
	assert_int_equal(ev_buf_append(out, rec, n), 0);
	ev_parser_free(ps);
}

static int check(struct ev_schemadir *d, struct ev_jschema_ctx *cx,
		 const char *line)
{
	struct ev_buf b = {0};
	int r;

	rec_of(line, &b);
	r = ev_schemadir_check(d, b.p, b.len, cx);
	ev_buf_free(&b);
	return r;
}

static const struct ev_jschema_error *err0(struct ev_jschema_ctx *cx)
{
	assert_true(ev_jschema_nerrors(cx) >= 1);
	return ev_jschema_error_at(cx, 0);
}

static void test_check(void **state)
{
	struct ev_schemadir_opts o;
	struct ev_schemadir *d = NULL;
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_error err;
	char *dir = make_dir(), want[4200];
	const struct ev_jschema_error *e;
	static const uint8_t junk[] = {0x83, 0x01, 0xa1};

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_non_null(cx);
	assert_int_equal(ev_schemadir_open(&d, dir, &o, &err), 0);
	assert_int_equal(ev_schemadir_ntypes(d), 3);
	assert_false(ev_schemadir_has_envelope(d));
	assert_true(ev_schemadir_has_type(d, "a/b", 3));
	assert_false(ev_schemadir_has_type(d, "a%2Fb", 5));

	assert_int_equal(check(d, cx,
			       "{\"type\":\"Order\",\"data\":{\"amount\":1}}"),
			 1);
	assert_int_equal(check(d, cx,
			       "{\"type\":\"Order\",\"data\":{\"amount\":-1}}"),
			 0);
	e = err0(cx);
	assert_string_equal(e->instance_path, "/data/amount");
	assert_string_equal(e->keyword, "minimum");
	/* schema 3 exists, 2 does not */
	assert_int_equal(check(d, cx,
			       "{\"type\":\"Order\",\"schema\":3,\"data\":{}}"),
			 1);
	assert_int_equal(check(d, cx,
			       "{\"type\":\"Order\",\"schema\":2,\"data\":{}}"),
			 0);
	e = err0(cx);
	snprintf(want, sizeof(want), "%s/Order/2.json", dir);
	assert_string_equal(e->schema_path, want);
	assert_string_equal(e->instance_path, "/schema");
	assert_non_null(strstr(e->message, want));
	/* an event without data is checked as null */
	assert_int_equal(check(d, cx, "{\"type\":\"Order\"}"), 0);
	assert_int_equal(check(d, cx, "{\"type\":\"a/b\",\"data\":7}"), 1);
	assert_int_equal(check(d, cx, "{\"type\":\"a/b\",\"data\":\"x\"}"), 0);
	/* binary data */
	assert_int_equal(check(d, cx,
			       "{\"type\":\"Blob\",\"data_base64\":\"AA==\"}"),
			 1);
	assert_int_equal(check(d, cx,
			       "{\"type\":\"a/b\",\"data_base64\":\"AA==\"}"),
			 0);
	assert_string_equal(err0(cx)->message, "data is binary");
	/* no directory: valid */
	assert_int_equal(check(d, cx, "{\"type\":\"Ping\"}"), 1);
	assert_int_equal(ev_jschema_nerrors(cx), 0);
	/* a record that does not decode */
	assert_true(ev_schemadir_check(d, junk, sizeof(junk), cx) < 0);
	ev_schemadir_free(d);

	/* require_schemas */
	o.require_schemas = 1;
	assert_int_equal(ev_schemadir_open(&d, dir, &o, &err), 0);
	assert_int_equal(check(d, cx, "{\"type\":\"Ping\"}"), 0);
	assert_string_equal(err0(cx)->instance_path, "/type");
	ev_schemadir_free(d);

	/* the envelope: its errors after the data's */
	put(dir, "_envelope.json",
	    "{\"required\":[\"meta\"],\"properties\":{\"time\":{\"type\":"
	    "\"string\"},\"schema\":{\"type\":\"integer\"}}}");
	o.require_schemas = 0;
	assert_int_equal(ev_schemadir_open(&d, dir, &o, &err), 0);
	assert_true(ev_schemadir_has_envelope(d));
	assert_int_equal(check(d, cx, "{\"type\":\"Ping\",\"meta\":{\"a\":1}}"),
			 1);
	assert_int_equal(check(d, cx, "{\"type\":\"Ping\"}"), 0);
	assert_string_equal(err0(cx)->keyword, "required");
	assert_int_equal(check(d, cx,
			       "{\"type\":\"Order\",\"data\":{\"amount\":-1}}"),
			 0);
	assert_int_equal(ev_jschema_nerrors(cx), 2);
	assert_string_equal(ev_jschema_error_at(cx, 0)->instance_path,
			    "/data/amount");
	assert_string_equal(ev_jschema_error_at(cx, 1)->keyword, "required");
	ev_schemadir_free(d);

	ev_jschema_ctx_free(cx);
	unit_rmtree(dir);
}

/* The time of a record, read inline when it is a timestamp 64 whose
 * nanoseconds since 1970 fit, else by ev_mp_time_decode(): the same
 * records taken, the same refused */
static void test_time_field(void **state)
{
	static const struct {
		uint64_t sec;
		uint32_t ns;
		int ok;
	} tc[] = {
		{0, 0, 1},
		{1704067200, 29000000, 1},
		{9223372035, 999999999, 1},
		{9223372036, 854775807, 1}, /* INT64_MAX */
		{9223372036, 854775808, 0},
		{(1ull << 34) - 1, 0, 0},
		{1, 1000000000, 0},
		{1, (1u << 30) - 1, 0},
	};
	struct ev_schemadir_opts o;
	struct ev_schemadir *d = NULL;
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_error err;
	char *dir = make_dir();
	size_t i;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_non_null(cx);
	assert_int_equal(ev_schemadir_open(&d, dir, &o, &err), 0);
	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		/* {id: "i", type: "Ping", time: timestamp 64} */
		uint8_t rec[] = {0x83, 0x01, 0xa1, 'i',	 0x02, 0xa4, 'P',
				 'i',  'n',  'g',  0x05, 0xd7, 0xff, 0,
				 0,    0,    0,	   0,	 0,    0,    0};
		uint64_t w = (uint64_t)tc[i].ns << 34 | tc[i].sec;
		int k;

		for (k = 0; k < 8; k++)
			rec[13 + k] = (uint8_t)(w >> (56 - 8 * k));
		if (tc[i].ok)
			assert_int_equal(ev_schemadir_check(d, rec, sizeof(rec),
							    cx),
					 1);
		else
			assert_true(ev_schemadir_check(d, rec, sizeof(rec),
						       cx) < 0);
	}
	ev_schemadir_free(d);
	ev_jschema_ctx_free(cx);
	unit_rmtree(dir);
}

/* A record's type that is not UTF-8 is not an event, whether or not
 * text data follows; the directory's types are UTF-8 */
static void test_type_utf8(void **state)
{
	/* {id: "i", type: T, time: 0[, data: 1]} */
	static const uint8_t bad[] = {0x83, 0x01, 0xa1, 'i',  0x02, 0xa2, 0xc3,
				      0x28, 0x05, 0xd7, 0xff, 0,    0,	  0,
				      0,    0,	  0,	0,    0};
	static const uint8_t bad_data[] = {0x84, 0x01, 0xa1, 'i',  0x02, 0xa2,
					   0xc3, 0x28, 0x05, 0xd7, 0xff, 0,
					   0,	 0,    0,    0,	   0,	 0,
					   0,	 0x08, 0x01};
	static const uint8_t good[] = {0x84, 0x01, 0xa1, 'i',  0x02, 0xa2,
				       0xc3, 0xa9, 0x05, 0xd7, 0xff, 0,
				       0,    0,	   0,	 0,    0,    0,
				       0,    0x08, 0x01};
	struct ev_schemadir_opts o;
	struct ev_schemadir *d = NULL;
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_error err;
	char *dir = make_dir();

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_non_null(cx);
	assert_int_equal(ev_schemadir_open(&d, dir, &o, &err), 0);
	assert_true(ev_schemadir_check(d, bad, sizeof(bad), cx) < 0);
	assert_true(ev_schemadir_check(d, bad_data, sizeof(bad_data), cx) < 0);
	assert_int_equal(ev_schemadir_check(d, good, sizeof(good), cx), 1);
	ev_schemadir_free(d);
	ev_jschema_ctx_free(cx);
	unit_rmtree(dir);
}

/* The envelope checked from the record's fields: meta as it is read,
 * values any of which is valid left out; the errors as the full check
 * gives them */
static void test_envelope_fast(void **state)
{
	struct ev_schemadir_opts o;
	struct ev_schemadir *d = NULL;
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_error err;
	char *dir = make_dir();
	const struct ev_jschema_error *e;
	static const char *const envs[] = {
		/* meta and stream checked; id, type, time of any string */
		"{\"type\":\"object\",\"required\":[\"id\",\"meta\"],"
		"\"properties\":{\"id\":{\"type\":\"string\",\"format\":"
		"\"uuid\"},\"stream\":{\"type\":\"string\",\"pattern\":"
		"\"^(order|account)-[0-9]+$\"},\"schema\":{\"type\":"
		"\"integer\",\"minimum\":1,\"maximum\":5},\"meta\":{\"type\":"
		"\"object\",\"required\":[\"u\"],\"additionalProperties\":"
		"false,\"properties\":{\"u\":{\"type\":\"string\",\"pattern\":"
		"\"^user-[0-9]+$\"},\"s\":{\"enum\":[\"web\",\"ios\"]}}}}}",
		/* the same, every value of its kind valid but meta's */
		"{\"type\":\"object\",\"required\":[\"id\",\"meta\"],"
		"\"properties\":{\"id\":true,\"type\":{},\"time\":{\"type\":"
		"\"string\"},\"version\":{"
		"\"type\":\"integer\"},\"schema\":{\"type\":\"integer\"},"
		"\"stream\":{\"type\":\"string\",\"pattern\":"
		"\"^(order|account)-[0-9]+$\"},\"meta\":{\"type\":"
		"\"object\",\"required\":[\"u\"],\"additionalProperties\":"
		"false,\"properties\":{\"u\":{\"type\":\"string\",\"pattern\":"
		"\"^user-[0-9]+$\"},\"s\":{\"enum\":[\"web\",\"ios\"]}}}}}",
	};
	size_t i;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_non_null(cx);
	for (i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		put(dir, "_envelope.json", envs[i]);
		assert_int_equal(ev_schemadir_open(&d, dir, &o, &err), 0);
		assert_int_equal(
			check(d, cx,
			      "{\"id\":\"d71ed84b-4bf8-485c-8986-21df1bb662fe\","
			      "\"type\":\"Ping\",\"stream\":\"order-1\","
			      "\"meta\":{\"u\":\"user-7\",\"s\":\"web\"}}"),
			1);
		assert_int_equal(check(d, cx,
				       "{\"type\":\"Order\",\"stream\":"
				       "\"order-1\",\"data\":{\"amount\":1},"
				       "\"meta\":{\"u\":\"user-7\"}}"),
				 1);
		/* meta's value, a name it does not take, or one missing */
		assert_int_equal(check(d, cx,
				       "{\"type\":\"Ping\",\"meta\":{\"u\":"
				       "\"user-x\",\"s\":\"web\"}}"),
				 0);
		e = err0(cx);
		assert_int_equal(ev_jschema_nerrors(cx), 1);
		assert_string_equal(e->instance_path, "/meta/u");
		assert_string_equal(e->keyword, "pattern");
		assert_int_equal(check(d, cx,
				       "{\"type\":\"Ping\",\"meta\":{\"u\":"
				       "\"user-1\",\"x\":1,\"s\":\"pos\"}}"),
				 0);
		assert_int_equal(ev_jschema_nerrors(cx), 2);
		assert_string_equal(ev_jschema_error_at(cx, 0)->instance_path,
				    "/meta/x");
		assert_string_equal(ev_jschema_error_at(cx, 0)->keyword,
				    "additionalProperties");
		assert_string_equal(ev_jschema_error_at(cx, 1)->instance_path,
				    "/meta/s");
		assert_int_equal(check(d, cx,
				       "{\"type\":\"Ping\",\"meta\":{\"s\":"
				       "\"ios\"}}"),
				 0);
		assert_string_equal(err0(cx)->keyword, "required");
		assert_string_equal(err0(cx)->instance_path, "/meta");
		assert_int_equal(check(d, cx,
				       "{\"type\":\"Ping\",\"meta\":{}}"),
				 0);
		/* meta deeper than the walk goes: still checked */
		assert_int_equal(
			check(d, cx,
			      "{\"type\":\"Ping\",\"meta\":{\"u\":\"user-1\","
			      "\"s\":{\"a\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}}}"),
			0);
		assert_string_equal(err0(cx)->instance_path, "/meta/s");
		/* the stream, data's errors before the envelope's */
		assert_int_equal(check(d, cx,
				       "{\"type\":\"Order\",\"stream\":"
				       "\"orders-1\",\"data\":{\"amount\":-1},"
				       "\"meta\":{\"u\":\"user-7\"}}"),
				 0);
		assert_int_equal(ev_jschema_nerrors(cx), 2);
		assert_string_equal(ev_jschema_error_at(cx, 0)->instance_path,
				    "/data/amount");
		assert_string_equal(ev_jschema_error_at(cx, 1)->instance_path,
				    "/stream");
		ev_schemadir_free(d);
	}
	/* schema and version: 1 or more, taken whatever they are only
	 * when the minimum is 1 at most and there is no maximum */
	put(dir, "_envelope.json",
	    "{\"properties\":{\"schema\":{\"type\":\"integer\","
	    "\"minimum\":1},\"version\":{\"minimum\":2}}}");
	assert_int_equal(ev_schemadir_open(&d, dir, &o, &err), 0);
	assert_int_equal(check(d, cx, "{\"type\":\"Ping\",\"schema\":7}"), 1);
	assert_int_equal(check(d, cx,
			       "{\"type\":\"Ping\",\"stream\":\"s\","
			       "\"version\":2}"),
			 1);
	assert_int_equal(check(d, cx,
			       "{\"type\":\"Ping\",\"stream\":\"s\","
			       "\"version\":1}"),
			 0);
	assert_string_equal(err0(cx)->instance_path, "/version");
	assert_string_equal(err0(cx)->keyword, "minimum");
	ev_schemadir_free(d);
	put(dir, "_envelope.json",
	    "{\"properties\":{\"schema\":{\"minimum\":2}}}");
	assert_int_equal(ev_schemadir_open(&d, dir, &o, &err), 0);
	assert_int_equal(check(d, cx, "{\"type\":\"Ping\",\"schema\":2}"), 1);
	assert_int_equal(check(d, cx, "{\"type\":\"Ping\"}"), 0);
	assert_string_equal(err0(cx)->instance_path, "/schema");
	ev_schemadir_free(d);
	/* the schema's bounds (envelope 0) */
	put(dir, "_envelope.json", envs[0]);
	assert_int_equal(ev_schemadir_open(&d, dir, &o, &err), 0);
	assert_int_equal(
		check(d, cx,
		      "{\"type\":\"Ping\",\"schema\":9,\"meta\":{\"u\":"
		      "\"user-7\"}}"),
		0);
	assert_string_equal(err0(cx)->instance_path, "/schema");
	assert_string_equal(err0(cx)->keyword, "maximum");
	ev_schemadir_free(d);
	ev_jschema_ctx_free(cx);
	unit_rmtree(dir);
}

static void test_open_errors(void **state)
{
	struct ev_schemadir *d = NULL;
	struct ev_error err;
	char *dir = unit_tmpdir(), path[4200];

	(void)state;
	snprintf(path, sizeof(path), "%s/nope", dir);
	assert_int_equal(ev_schemadir_open(&d, path, NULL, &err), EV_ENOENT);
	assert_null(d);
	put(dir, "T/1.json", "{\"pattern\": \"(\"}");
	assert_int_equal(ev_schemadir_open(&d, dir, NULL, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "/T/1.json: /pattern: invalid regex"));
	put(dir, "T/1.json", "{}");
	/* every positive uint64 is a version, and nothing above */
	put(dir, "T/18446744073709551610.json", "{}");
	put(dir, "T/18446744073709551615.json", "{}");
	assert_int_equal(ev_schemadir_open(&d, dir, NULL, &err), 0);
	ev_schemadir_free(d);
	d = NULL;
	put(dir, "T/18446744073709551616.json", "{}");
	assert_int_equal(ev_schemadir_open(&d, dir, NULL, &err), EV_EDATA);
	assert_non_null(
		strstr(err.msg, "/T/18446744073709551616.json: not a schema"));
	snprintf(path, sizeof(path), "%s/T/18446744073709551616.json", dir);
	unlink(path);
	put(dir, "T/x.json", "{}");
	assert_int_equal(ev_schemadir_open(&d, dir, NULL, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "/T/x.json: not a schema file"));
	unit_rmtree(dir);
}

/* ------------------------------------------------------------ threads */

struct worker {
	struct ev_schemadir *d;
	const struct ev_buf *ok, *bad; /* made before the threads start */
	int valid, invalid;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	int i;

	for (i = 0; cx != NULL && i < 20000; i++) {
		if (ev_schemadir_check(w->d, w->ok->p, w->ok->len, cx) == 1)
			w->valid++;
		if (ev_schemadir_check(w->d, w->bad->p, w->bad->len, cx) == 0 &&
		    ev_jschema_nerrors(cx) == 1 &&
		    strcmp(ev_jschema_error_at(cx, 0)->instance_path,
			   "/data/amount") == 0)
			w->invalid++;
	}
	ev_jschema_ctx_free(cx);
	return NULL;
}

static void test_threads(void **state)
{
	struct ev_schemadir *d = NULL;
	struct ev_error err;
	struct worker w[2];
	pthread_t th[2];
	char *dir = make_dir();
	int i;

	struct ev_buf ok = {0}, bad = {0};

	(void)state;
	rec_of("{\"type\":\"Order\",\"data\":{\"amount\":1}}", &ok);
	rec_of("{\"type\":\"Order\",\"data\":{\"amount\":-1}}", &bad);
	assert_int_equal(ev_schemadir_open(&d, dir, NULL, &err), 0);
	for (i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].d = d;
		w[i].ok = &ok;
		w[i].bad = &bad;
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].valid, 20000);
		assert_int_equal(w[i].invalid, 20000);
	}
	ev_schemadir_free(d);
	ev_buf_free(&ok);
	ev_buf_free(&bad);
	unit_rmtree(dir);
}

/* ------------------------------------------------------------ lint */

static void test_lint(void **state)
{
	struct ev_schemadir_lint *l = NULL;
	struct ev_error err;
	struct ev_buf out = {0};
	char *dir = make_dir();
	const char *file, *msg;
	size_t types, files;

	(void)state;
	assert_int_equal(ev_schemadir_lint(&l, dir, NULL, &err), 0);
	/* Order has 1 and 3: 2 is missing, and only lint minds */
	assert_int_equal(ev_schemadir_lint_count(l), 1);
	assert_int_equal(ev_schemadir_lint_problem(l, 0, &file, &msg), 1);
	assert_non_null(strstr(msg, "/Order/2.json: missing"));
	assert_false(ev_schemadir_lint_stops_open(l, 0));
	assert_int_equal(ev_schemadir_lint_problem(l, 1, &file, &msg), 0);
	ev_schemadir_lint_totals(l, &types, &files);
	assert_int_equal(types, 3);
	assert_int_equal(files, 4);
	assert_int_equal(ev_schemadir_lint_write(l, 1, &out), 0);
	assert_non_null(memmem(out.p, out.len, "\"problems\":[{\"file\":", 20));
	ev_schemadir_lint_free(l);

	put(dir, "stray.txt", "x");
	put(dir, "Bad/1.json", "{");
	assert_int_equal(ev_schemadir_lint(&l, dir, NULL, &err), 0);
	assert_int_equal(ev_schemadir_lint_count(l), 3);
	assert_true(ev_schemadir_lint_stops_open(l, 0));
	ev_schemadir_lint_free(l);
	ev_buf_free(&out);
	unit_rmtree(dir);

	/* the whole directory in one set, as ev_schemadir_open() has it */
	dir = unit_tmpdir();
	put(dir, "A/1.json", "{\"$id\":\"urn:x\",\"type\":\"string\"}");
	put(dir, "C/1.json", "{\"$ref\":\"urn:x\"}");
	assert_int_equal(ev_schemadir_lint(&l, dir, NULL, &err), 0);
	assert_int_equal(ev_schemadir_lint_count(l), 0);
	ev_schemadir_lint_free(l);
	put(dir, "A/2.json", "{\"$id\":\"urn:x\",\"type\":\"string\"}");
	assert_int_equal(ev_schemadir_lint(&l, dir, NULL, &err), 0);
	assert_int_equal(ev_schemadir_lint_count(l), 1);
	assert_int_equal(ev_schemadir_lint_problem(l, 0, &file, &msg), 1);
	assert_non_null(strstr(file, "/A/2.json"));
	assert_non_null(strstr(msg, "is also the "));
	assert_true(ev_schemadir_lint_stops_open(l, 0));
	ev_schemadir_lint_free(l);
	unit_rmtree(dir);
}

/* ------------------------------------------------------------ reports */

static void test_report(void **state)
{
	static const char input[] =
		"{\"type\":\"Order\",\"data\":{\"amount\":1}}\n"
		"{\"type\":\"Order\",\"data\":{\"amount\":-1}}\n"
		"oops\n"
		"{\"type\":\"Ping\"}\n";
	struct ev_schemadir *d = NULL;
	struct ev_schemareport *rp = NULL;
	struct ev_input *in = NULL;
	struct ev_error err;
	struct ev_buf out = {0};
	enum ev_schemareport_format f;
	char *dir = make_dir(), *tmp = unit_tmpdir(), path[4200];

	(void)state;
	/* not in the registry, where it would be a stray file */
	snprintf(path, sizeof(path), "%s/in.ndjson", tmp);
	assert_int_equal(unit_write_file(path, input, strlen(input)), 0);
	assert_int_equal(ev_schemareport_format_parse("junit", &f), 0);
	assert_int_equal(f, EV_SREPORT_JUNIT);
	assert_int_equal(ev_schemareport_format_parse("xml", &f), EV_EUSAGE);
	assert_int_equal(ev_schemadir_open(&d, dir, NULL, &err), 0);
	assert_int_equal(ev_schemareport_new(&rp, d, 1, &err), 0);
	assert_int_equal(ev_input_open(&in, path, NULL, &err), 0);
	if (ev_schemareport_check_input(rp, in, "in", NULL, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ev_schemareport_events(rp), 4);
	assert_int_equal(ev_schemareport_invalid(rp), 2);
	assert_int_equal(ev_schemareport_write(rp, EV_SREPORT_HUMAN, &out,
					       &err),
			 0);
	assert_int_equal(ev_buf_putc(&out, '\0'), 0);
	assert_non_null(strstr((char *)out.p, "    in:2: /data/amount\n"));
	assert_non_null(strstr((char *)out.p, "(not an event): 1 event"));
	assert_non_null(strstr((char *)out.p, "    in:3: column 1\n"));
	out.len = 0;
	assert_int_equal(ev_schemareport_write(rp, EV_SREPORT_TAP, &out, &err),
			 0);
	assert_int_equal(ev_buf_putc(&out, '\0'), 0);
	assert_non_null(strstr((char *)out.p, "1..3\nnot ok 1 - Order: "));
	assert_non_null(strstr((char *)out.p, "ok 2 - Ping: 1 event # SKIP"));
	ev_input_free(in);
	ev_schemareport_free(rp);
	ev_schemadir_free(d);
	ev_buf_free(&out);
	unit_rmtree(dir);
	unit_rmtree(tmp);
}

/* The report of n lines (some invalid, some not events) on `threads`
 * threads, appended to out. */
static void report_of(const char *dir, const char *path, int threads,
		      struct ev_buf *out)
{
	struct ev_schemadir *d = NULL;
	struct ev_schemareport *rp = NULL;
	struct ev_input *in = NULL;
	struct ev_error err;

	assert_int_equal(ev_schemadir_open(&d, dir, NULL, &err), 0);
	assert_int_equal(ev_schemareport_new(&rp, d, 4, &err), 0);
	ev_schemareport_set_threads(rp, threads);
	assert_int_equal(ev_input_open(&in, path, NULL, &err), 0);
	assert_int_equal(ev_schemareport_check_input(rp, in, "in", NULL, &err),
			 0);
	assert_int_equal(ev_schemareport_write(rp, EV_SREPORT_JSON, out, &err),
			 0);
	ev_input_free(in);
	ev_schemareport_free(rp);
	ev_schemadir_free(d);
}

/* Groups of as many events are listed by schema path and message, not
 * in the order they were made (by threads, in any order) */
static void test_report_ties(void **state)
{
	static const char input[] =
		"{\"type\":\"Req\",\"data\":{\"alpha\":1}}\n"
		"{\"type\":\"Req\",\"data\":{\"zeta\":1}}\n";
	struct ev_schemadir *d = NULL;
	struct ev_schemareport *rp = NULL;
	struct ev_input *in = NULL;
	struct ev_error err;
	struct ev_buf out = {0};
	char *dir = make_dir(), *tmp = unit_tmpdir(), path[4200];
	const char *a, *z;

	(void)state;
	put(dir, "Req/1.json", "{\"required\":[\"zeta\",\"alpha\"]}");
	snprintf(path, sizeof(path), "%s/in.ndjson", tmp);
	assert_int_equal(unit_write_file(path, input, strlen(input)), 0);
	assert_int_equal(ev_schemadir_open(&d, dir, NULL, &err), 0);
	assert_int_equal(ev_schemareport_new(&rp, d, 1, &err), 0);
	assert_int_equal(ev_input_open(&in, path, NULL, &err), 0);
	if (ev_schemareport_check_input(rp, in, "in", NULL, &err) != 65 &&
	    ev_schemareport_invalid(rp) != 2)
		fail_msg("%s", err.msg);
	assert_int_equal(ev_schemareport_invalid(rp), 2);
	assert_int_equal(ev_schemareport_write(rp, EV_SREPORT_HUMAN, &out,
					       &err),
			 0);
	assert_int_equal(ev_buf_putc(&out, '\0'), 0);
	a = strstr((char *)out.p, "must have required property 'alpha'");
	z = strstr((char *)out.p, "must have required property 'zeta'");
	assert_non_null(a);
	assert_non_null(z);
	assert_true(a < z);
	ev_input_free(in);
	ev_schemareport_free(rp);
	ev_schemadir_free(d);
	ev_buf_free(&out);
	unit_rmtree(dir);
	unit_rmtree(tmp);
}

static void test_threads_same_report(void **state)
{
	char *dir = make_dir(), *tmp = unit_tmpdir(), path[4200];
	struct ev_buf text = {0}, one = {0}, two = {0};
	int i;

	(void)state;
	for (i = 0; i < 30000; i++) {
		if (i % 997 == 0)
			ev_buf_puts(&text, "not an event\n");
		else if (i % 3 == 0)
			ev_buf_printf(&text,
				      "{\"type\":\"Order\",\"data\":"
				      "{\"amount\":%d}}\n",
				      i % 7 == 0 ? -i : i);
		else if (i % 3 == 1)
			ev_buf_printf(&text, "{\"type\":\"a/b\",\"data\":%s}\n",
				      i % 11 == 0 ? "\"x\"" : "1");
		else
			ev_buf_printf(&text, "{\"type\":\"T%d\"}\n", i % 5);
	}
	snprintf(path, sizeof(path), "%s/in.ndjson", tmp);
	assert_int_equal(unit_write_file(path, text.p, text.len), 0);
	report_of(dir, path, 1, &one);
	report_of(dir, path, 2, &two);
	assert_true(one.len > 1000);
	assert_int_equal(one.len, two.len);
	assert_memory_equal(one.p, two.p, one.len);
	ev_buf_free(&text);
	ev_buf_free(&one);
	ev_buf_free(&two);
	unit_rmtree(dir);
	unit_rmtree(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_time_field),
		cmocka_unit_test(test_type_utf8),
		cmocka_unit_test(test_envelope_fast),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_lint),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_report_ties),
		cmocka_unit_test(test_threads_same_report),
	};

	return cmocka_run_group_tests_name("schemadir", tests, NULL, NULL);
}
