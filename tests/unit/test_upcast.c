/*
 * test_upcast.c - struct ev_upcaster (the upcasting of issue 10): every
 * declarative operation, chains across versions and renamed types,
 * splits and drops, Lua steps and what they may return, every check of
 * a set with its FILE:LINE message, failures and their counts, and
 * upcasting in a scan (filters see upcast events; -n; stop, skip and
 * dead-letter policies).
 */
#include "unit.h"

/* ------------------------------------------------------------ helpers */

struct fx {
	char *dir;
	char path[4200];
};

/* the directory of the set in use: cut from messages */
static const char *cur_dir;

/* s without every "DIR/" in it, in place */
static char *cut_dir(char *s)
{
	char pre[4300], *p;
	size_t n;

	if (cur_dir == NULL)
		return s;
	n = (size_t)snprintf(pre, sizeof(pre), "%s/", cur_dir);
	while ((p = strstr(s, pre)) != NULL)
		memmove(p, p + n, strlen(p + n) + 1);
	return s;
}

static void put(struct fx *x, const char *name, const char *text)
{
	char p[4400];

	snprintf(p, sizeof(p), "%s/%s", x->dir, name);
	assert_int_equal(unit_write_file(p, text, strlen(text)), 0);
}

static void fx_new(struct fx *x)
{
	x->dir = unit_tmpdir();
	snprintf(x->path, sizeof(x->path), "%s", x->dir);
	cur_dir = x->dir;
}

static void fx_free(struct fx *x)
{
	cur_dir = NULL;
	unit_rmtree(x->dir);
	x->dir = NULL;
}

/* The set of one spec file; fails the test when it does not load. */
static struct ev_upcaster *spec(struct fx *x, const char *text)
{
	struct ev_upcaster *u;
	struct ev_error err;

	fx_new(x);
	put(x, "a.upcast", text);
	if (ev_upcaster_load(&u, x->path, &err) != 0)
		fail_msg("load: %s", err.msg);
	return u;
}

/* The error a set in the files of x gives (its code in *code). */
static const char *bad_set(struct fx *x, int *code)
{
	static struct ev_error err;
	struct ev_upcaster *u = NULL;

	*code = ev_upcaster_load(&u, x->path, &err);
	assert_null(u);
	return cut_dir(err.msg);
}

/* The error of one spec file: "a.upcast:LINE: ..." with the directory
 * cut off. */
static void assert_bad_spec(const char *text, const char *want)
{
	struct fx x;
	const char *msg;
	int code;

	fx_new(&x);
	put(&x, "a.upcast", text);
	msg = bad_set(&x, &code);
	assert_int_equal(code, EV_EUSAGE);
	assert_string_equal(msg, want);
	fx_free(&x);
}

/* A record from one JSON line, into b. */
static void record(const char *line, struct ev_buf *b)
{
	struct ev_parse_opts po;
	struct ev_parser *ps;
	struct ev_error err;
	const uint8_t *rec;
	size_t n;
	ev_time_t t;

	memset(&po, 0, sizeof(po));
	ps = ev_parser_new(&po);
	assert_non_null(ps);
	if (ev_parser_line(ps, line, strlen(line), 0, &err) != 1)
		fail_msg("%s: %s", line, err.msg);
	ev_parser_record(ps, 0, &rec, &n, &t);
	b->len = 0;
	assert_int_equal(ev_buf_append(b, rec, n), 0);
	ev_parser_free(ps);
}

/* Upcast line: its records as JSON lines (without offsets' use: the
 * offset is 7), or "FAIL: message".  *changed as apply says. */
static char *upcast_changed(struct ev_upcaster *u, const char *line,
			    int *changed)
{
	struct ev_buf in = {0}, out = {0};
	struct ev_error err;
	const uint8_t *p;
	struct ev_event ev;
	size_t n;
	int r, i, ch;

	record(line, &in);
	r = ev_upcaster_apply(u, in.p, in.len, 7, &ch, &err);
	if (changed != NULL)
		*changed = ch;
	if (r < 0) {
		assert_int_equal(r, EV_EDATA);
		assert_int_equal(ev_buf_printf(&out, "FAIL: %s", err.msg), 0);
	}
	for (i = 0; i < r; i++) {
		ev_upcaster_record(u, i, &p, &n);
		/* what comes out is a record as stored */
		if (ev_event_decode(p, n, &ev, &err) != 0 ||
		    ev_event_check_deep(&ev, &err) != 0)
			fail_msg("upcast record does not decode: %s", err.msg);
		if (ev_record_to_json(p, n, 7, &out, &err) != 0)
			fail_msg("to JSON: %s", err.msg);
		ev_buf_putc(&out, '\n');
	}
	ev_buf_putc(&out, '\0');
	ev_buf_free(&in);
	return cut_dir((char *)out.p);
}

static char *upcast(struct ev_upcaster *u, const char *line)
{
	return upcast_changed(u, line, NULL);
}

/* The data of the events a line becomes, one per line. */
static char *datas(struct ev_upcaster *u, const char *line)
{
	char *all = upcast(u, line), *p, *q, *out;
	struct ev_buf b = {0};

	if (strncmp(all, "FAIL", 4) == 0)
		return all;
	for (p = all; (q = strchr(p, '\n')) != NULL; p = q + 1) {
		char *d = strstr(p, "\"data\":");
		*q = '\0';
		if (d == NULL || d > q) {
			ev_buf_puts(&b, "-\n");
			continue;
		}
		/* data is the envelope's last member but meta */
		d += 7;
		char *m = strstr(d, ",\"meta\":");
		if (m != NULL)
			ev_buf_append(&b, d, (size_t)(m - d));
		else
			ev_buf_append(&b, d, strlen(d) - 1);
		ev_buf_putc(&b, '\n');
	}
	ev_buf_putc(&b, '\0');
	free(all);
	out = (char *)b.p;
	return out;
}

#define EV_T(data)                                                         \
	"{\"id\":\"e1\",\"type\":\"T\",\"time\":\"2024-01-01T00:00:00Z\"," \
	"\"data\":" data "}"

static void assert_datas(struct ev_upcaster *u, const char *line,
			 const char *want)
{
	char *got = datas(u, line);

	assert_string_equal(got, want);
	free(got);
}

/* ------------------------------------------------------------ operations */

static void test_set_default(void **state)
{
	struct fx x;
	struct ev_upcaster *u =
		spec(&x, "type T\nfrom 1\n"
			 "  set data.a.b [1, {\"c\": null}]  # made objects\n"
			 "  default data.cur \"USD\"\n"
			 "  default data.n 5\n");

	(void)state;
	assert_datas(u, EV_T("{\"x\":1}"),
		     "{\"x\":1,\"a\":{\"b\":[1,{\"c\":null}]},\"cur\":\"USD\","
		     "\"n\":5}\n");
	/* a default keeps what is there, null included */
	assert_datas(u, EV_T("{\"cur\":\"EUR\",\"n\":null}"),
		     "{\"cur\":\"EUR\",\"n\":null,\"a\":{\"b\":[1,{\"c\":null}"
		     "]}}\n");
	/* no data: made */
	assert_datas(u, "{\"type\":\"T\",\"time\":\"2024-01-01T00:00:00Z\"}",
		     "{\"a\":{\"b\":[1,{\"c\":null}]},\"cur\":\"USD\",\"n\":5}"
		     "\n");
	/* through a string */
	assert_datas(u, EV_T("{\"a\":\"s\"}"),
		     "FAIL: offset 7: T version 1: step a.upcast:3: data.a is "
		     "a string, not an object or array");
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_set_arrays_and_whole(void **state)
{
	struct fx x;
	struct ev_upcaster *u = spec(&x, "type T\nfrom 1\n"
					 "  set data.l.1 \"b\"\n"
					 "  set data.l.2 \"c\"\n"
					 "type W\nfrom 1\n"
					 "  set data {\"w\": true}\n"
					 "  set meta {\"m\": 1}\n");
	char *got;

	(void)state;
	assert_datas(u, EV_T("{\"l\":[\"a\",\"x\"]}"),
		     "{\"l\":[\"a\",\"b\",\"c\"]}\n");
	assert_datas(u, EV_T("{\"l\":[]}"),
		     "FAIL: offset 7: T version 1: step a.upcast:3: data.l "
		     "has 0 elements: there is no 1");
	got = upcast(u,
		     "{\"id\":\"w\",\"type\":\"W\",\"time\":\"2024-01-01T00:"
		     "00:00Z\",\"data_base64\":\"AAE=\",\"meta\":{\"x\":1}}");
	assert_string_equal(got, "{\"offset\":7,\"id\":\"w\",\"type\":\"W\","
				 "\"time\":\"2024-01-01T00:00:00.000Z\","
				 "\"schema\":2,\"data\":{\"w\":true},"
				 "\"meta\":{\"m\":1}}\n");
	free(got);
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_move_copy_remove(void **state)
{
	struct fx x;
	struct ev_upcaster *u =
		spec(&x, "type T\nfrom 1\n"
			 "  move data.amount data.total.amount\n"
			 "  rename data.cur data.total.currency\n"
			 "  copy data.total data.copy\n"
			 "  set data.copy.amount 0   # the copy is its own\n"
			 "  move data.out.x data.x   # out of an object\n"
			 "  remove data.gone\n"
			 "  delete data.l.0\n"
			 "  move data.none data.other # absent: nothing\n");

	(void)state;
	assert_datas(u,
		     EV_T("{\"gone\":1,\"amount\":5,\"cur\":\"EUR\","
			  "\"out\":{\"x\":1,\"y\":2},\"gone\":2,"
			  "\"l\":[1,2,3]}"),
		     "{\"out\":{\"y\":2},\"l\":[2,3],\"total\":{\"amount\":5,"
		     "\"currency\":\"EUR\"},\"copy\":{\"amount\":0,"
		     "\"currency\":\"EUR\"},\"x\":1}\n");
	assert_datas(u, EV_T("{}"), "{\"copy\":{\"amount\":0}}\n");
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_move_between_data_and_meta(void **state)
{
	struct fx x;
	struct ev_upcaster *u =
		spec(&x, "type T\nfrom 1\n"
			 "  move data data.payload   # wrap\n"
			 "  move meta.user data.user\n"
			 "type U\nfrom 1\n"
			 "  move data.payload data   # unwrap\n");
	char *got;

	(void)state;
	got = upcast(u, "{\"id\":\"e\",\"type\":\"T\",\"time\":\"2024-01-01T00:"
			"00:00Z\",\"data\":[1],\"meta\":{\"user\":\"u\","
			"\"k\":2}}");
	assert_string_equal(got, "{\"offset\":7,\"id\":\"e\",\"type\":\"T\","
				 "\"time\":\"2024-01-01T00:00:00.000Z\","
				 "\"schema\":2,\"data\":{\"payload\":[1],"
				 "\"user\":\"u\"},\"meta\":{\"k\":2}}\n");
	free(got);
	got = upcast(u, "{\"id\":\"e\",\"type\":\"U\",\"time\":\"2024-01-01T00:"
			"00:00Z\",\"data\":{\"payload\":\"s\"}}");
	assert_non_null(strstr(got, "\"schema\":2,\"data\":\"s\"}"));
	free(got);
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_map(void **state)
{
	struct fx x;
	struct ev_upcaster *u =
		spec(&x, "type T\nfrom 1\n"
			 "  map data.s {\"new\": \"open\", \"done\": "
			 "\"closed\"}\n"
			 "  map data.n [[1, \"one\"], [true, \"yes\"], [null, "
			 "0]] else \"other\"\n");

	(void)state;
	assert_datas(u, EV_T("{\"s\":\"new\",\"n\":1.0}"),
		     "{\"s\":\"open\",\"n\":\"one\"}\n");
	assert_datas(u, EV_T("{\"s\":\"odd\",\"n\":true}"),
		     "{\"s\":\"odd\",\"n\":\"yes\"}\n");
	assert_datas(u, EV_T("{\"s\":\"done\",\"n\":null}"),
		     "{\"s\":\"closed\",\"n\":0}\n");
	assert_datas(u, EV_T("{\"n\":[1]}"), "{\"n\":\"other\"}\n");
	assert_datas(u, EV_T("{}"), "{}\n");
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_scale(void **state)
{
	struct fx x;
	struct ev_upcaster *u = spec(&x, "type T\nfrom 1\n"
					 "  scale data.i 100\n"
					 "  scale data.f 0.5\n"
					 "  scale data.r 100 round\n"
					 "  scale data.c 0.01\n");

	(void)state;
	assert_datas(u, EV_T("{\"i\":-3,\"f\":3,\"r\":12.345,\"c\":1234}"),
		     "{\"i\":-300,\"f\":1.5,\"r\":1235,\"c\":12.34}\n");
	assert_datas(u, EV_T("{\"r\":-0.125}"), "{\"r\":-13}\n");
	assert_datas(u, EV_T("{\"i\":92233720368547759}"),
		     "FAIL: offset 7: T version 1: step a.upcast:3: data.i "
		     "times 100 is out of the range of integers");
	assert_datas(u, EV_T("{\"f\":\"3\"}"),
		     "FAIL: offset 7: T version 1: step a.upcast:4: data.f is "
		     "a string, not a number");
	assert_datas(u, EV_T("{}"), "{}\n");
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_tonumber_tostring(void **state)
{
	struct fx x;
	struct ev_upcaster *u = spec(&x, "type T\nfrom 1\n"
					 "  tonumber data.a\n"
					 "  tonumber data.b\n"
					 "  tostring data.c\n"
					 "  tostring data.d\n"
					 "  tostring data.e\n");

	(void)state;
	assert_datas(u,
		     EV_T("{\"a\":\"12.50\",\"b\":-3,\"c\":12.5,\"d\":true,"
			  "\"e\":\"s\"}"),
		     "{\"a\":12.5,\"b\":-3,\"c\":\"12.5\",\"d\":\"true\","
		     "\"e\":\"s\"}\n");
	assert_datas(u, EV_T("{\"a\":\"-9223372036854775808\",\"c\":-7}"),
		     "{\"a\":-9223372036854775808,\"c\":\"-7\"}\n");
	assert_datas(u, EV_T("{\"a\":\"12,5\"}"),
		     "FAIL: offset 7: T version 1: step a.upcast:3: data.a is "
		     "\"12,5\", not a number");
	assert_datas(u, EV_T("{\"a\":\"1 \"}"),
		     "FAIL: offset 7: T version 1: step a.upcast:3: data.a is "
		     "\"1 \", not a number");
	assert_datas(u, EV_T("{\"b\":[1]}"),
		     "FAIL: offset 7: T version 1: step a.upcast:4: data.b is "
		     "an array, not a string or a number");
	assert_datas(u, EV_T("{\"c\":null}"),
		     "FAIL: offset 7: T version 1: step a.upcast:5: data.c is "
		     "null, not a number or a boolean");
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_retype_hands_on(void **state)
{
	struct fx x;
	struct ev_upcaster *u = spec(&x, "type Old\n"
					 "from 1\n  set data.v1 1\n"
					 "from 2\n  retype \"New Name\"\n"
					 "type \"New Name\"\n"
					 "from 3\n  set data.v3 3\n"
					 "from 4\n  set data.v4 4\n");
	char *got;

	(void)state;
	got = upcast(u,
		     "{\"id\":\"e\",\"type\":\"Old\",\"time\":\"2024-01-01T00:"
		     "00:00Z\",\"data\":{}}");
	assert_string_equal(got,
			    "{\"offset\":7,\"id\":\"e\",\"type\":\"New Name\","
			    "\"time\":\"2024-01-01T00:00:00.000Z\","
			    "\"schema\":5,\"data\":{\"v1\":1,\"v3\":3,"
			    "\"v4\":4}}\n");
	free(got);
	assert_true(ev_upcaster_has_chain(u, "Old", 3));
	assert_true(ev_upcaster_has_chain(u, "New Name", 8));
	assert_false(ev_upcaster_has_chain(u, "Other", 5));
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_split(void **state)
{
	struct fx x;
	struct ev_upcaster *u = spec(&x, "type Batch\nfrom 1\n"
					 "  split data.items data.item\n"
					 "  retype Item\n"
					 "  set data.n 1   # on each part\n"
					 "type Item\nfrom 2\n"
					 "  split data.item.tags\n"
					 "type R\nfrom 1\n"
					 "  split data\n");
	char *got;

	(void)state;
	got = upcast(u, "{\"id\":\"b\",\"type\":\"Batch\",\"stream\":\"s-1\","
			"\"time\":\"2024-01-01T00:00:00Z\",\"data\":{\"k\":0,"
			"\"items\":[{\"tags\":[\"x\"]},{\"tags\":[\"y\",\"z\"]}"
			"]}}");
	assert_string_equal(
		got,
		"{\"offset\":7,\"id\":\"b:1:1\",\"type\":\"Item\",\"stream\":"
		"\"s-1\",\"time\":\"2024-01-01T00:00:00.000Z\",\"schema\":3,"
		"\"data\":{\"k\":0,\"item\":{\"tags\":\"x\"},\"n\":1}}\n"
		"{\"offset\":7,\"id\":\"b:2:1\",\"type\":\"Item\",\"stream\":"
		"\"s-1\",\"time\":\"2024-01-01T00:00:00.000Z\",\"schema\":3,"
		"\"data\":{\"k\":0,\"item\":{\"tags\":\"y\"},\"n\":1}}\n"
		"{\"offset\":7,\"id\":\"b:2:2\",\"type\":\"Item\",\"stream\":"
		"\"s-1\",\"time\":\"2024-01-01T00:00:00.000Z\",\"schema\":3,"
		"\"data\":{\"k\":0,\"item\":{\"tags\":\"z\"},\"n\":1}}\n");
	free(got);
	/* an empty array drops the event */
	assert_datas(
		u,
		"{\"id\":\"b\",\"type\":\"Batch\",\"time\":\"2024-01-01T00:"
		"00:00Z\",\"data\":{\"items\":[]}}",
		"");
	assert_datas(
		u,
		"{\"id\":\"b\",\"type\":\"Batch\",\"time\":\"2024-01-01T00:"
		"00:00Z\",\"data\":{}}",
		"FAIL: offset 7: Batch version 1: step a.upcast:3: "
		"data.items: no such field to split");
	assert_datas(
		u,
		"{\"id\":\"b\",\"type\":\"Batch\",\"time\":\"2024-01-01T00:"
		"00:00Z\",\"data\":{\"items\":{}}}",
		"FAIL: offset 7: Batch version 1: step a.upcast:3: "
		"data.items is an object, not an array");
	assert_datas(u,
		     "{\"id\":\"r\",\"type\":\"R\",\"time\":\"2024-01-01T00:"
		     "00:00Z\",\"data\":[1,\"a\"]}",
		     "1\n\"a\"\n");
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_drop_and_unchanged(void **state)
{
	struct fx x;
	struct ev_upcaster *u = spec(&x, "type Gone\nfrom 1\n  drop\n"
					 "type T\nfrom 2\n  set data.x 1\n");
	struct ev_buf b = {0};
	struct ev_error err;
	const uint8_t *p;
	size_t n;
	int changed;
	char *got;

	(void)state;
	got = upcast_changed(u,
			     "{\"type\":\"Gone\",\"time\":\"2024-01-01T00:00:"
			     "00Z\"}",
			     &changed);
	assert_string_equal(got, "");
	assert_int_equal(changed, 1);
	free(got);
	/* current, and of a type with no steps: the record itself */
	record("{\"type\":\"T\",\"time\":\"2024-01-01T00:00:00Z\","
	       "\"schema\":3}",
	       &b);
	assert_int_equal(ev_upcaster_apply(u, b.p, b.len, 0, &changed, &err),
			 1);
	assert_int_equal(changed, 0);
	ev_upcaster_record(u, 0, &p, &n);
	assert_ptr_equal(p, b.p);
	assert_int_equal(n, b.len);
	record("{\"type\":\"Other\",\"time\":\"2024-01-01T00:00:00Z\"}", &b);
	assert_int_equal(ev_upcaster_apply(u, b.p, b.len, 0, &changed, &err),
			 1);
	assert_int_equal(changed, 0);
	assert_false(ev_upcaster_wants(u, b.p, b.len));
	/* below the first step */
	got = upcast(u, EV_T("{}"));
	assert_string_equal(got, "FAIL: offset 7: T version 1: no step from "
				 "version 1: the steps of T begin at version "
				 "2");
	free(got);
	record("{\"type\":\"T\",\"time\":\"2024-01-01T00:00:00Z\","
	       "\"schema\":2}",
	       &b);
	assert_true(ev_upcaster_wants(u, b.p, b.len));
	ev_buf_free(&b);
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_keeps_what_it_does_not_touch(void **state)
{
	struct fx x;
	struct ev_upcaster *u = spec(&x, "type T\nfrom 1\n  set data.z 0\n");
	char *got;

	(void)state;
	/* repeated keys, nested ones untouched, big numbers, the rest of
	 * the envelope */
	got = upcast(u, "{\"id\":\"e\",\"type\":\"T\",\"stream\":\"s\","
			"\"version\":3,\"time\":\"2024-01-01T00:00:00."
			"123456789Z\",\"key\":\"k\",\"data\":{\"a\":1,\"a\":2,"
			"\"o\":{\"q\":1,\"q\":2},\"u\":18446744073709551615,"
			"\"i\":-9223372036854775808,\"e\":[],\"m\":{}},"
			"\"meta\":{\"r\":1,\"r\":2}}");
	assert_string_equal(
		got,
		"{\"offset\":7,\"id\":\"e\",\"type\":\"T\",\"stream\":"
		"\"s\",\"version\":3,\"time\":\"2024-01-01T00:00:00."
		"123456789Z\",\"schema\":2,\"key\":\"k\",\"data\":{\"a\":1,"
		"\"a\":2,\"o\":{\"q\":1,\"q\":2},\"u\":18446744073709551615,"
		"\"i\":-9223372036854775808,\"e\":[],\"m\":{},\"z\":0},"
		"\"meta\":{\"r\":1,\"r\":2}}\n");
	free(got);
	/* binary data stays, when nothing touches it */
	got = upcast(u, "{\"id\":\"e\",\"type\":\"U\",\"time\":\"2024-01-01T00:"
			"00:00Z\",\"data_base64\":\"AAE=\"}");
	assert_non_null(strstr(got, "\"data_base64\":\"AAE=\""));
	free(got);
	got = upcast(u, "{\"id\":\"e\",\"type\":\"T\",\"time\":\"2024-01-01T00:"
			"00:00Z\",\"data_base64\":\"AAE=\"}");
	assert_string_equal(got, "FAIL: offset 7: T version 1: step "
				 "a.upcast:3: data is binary (data_base64): "
				 "it has no fields");
	free(got);
	ev_upcaster_free(u);
	fx_free(&x);
}

/* ------------------------------------------------------------ checks */

static void test_checks_name_file_and_line(void **state)
{
	(void)state;
	assert_bad_spec("type T\nfrom 1\n  set data.a 1\nfrom 3\n",
			"a.upcast:4: T has no step from version 2 (between "
			"the steps from 1 and 3)");
	assert_bad_spec("type T\nfrom 1\ntype U\nfrom 1\ntype T\nfrom 1\n",
			"a.upcast:6: a second step of T from version 1 (the "
			"first is at a.upcast:2)");
	assert_bad_spec("type T\nfrom 1\n  mvoe data.a data.b\n",
			"a.upcast:3: unknown operation 'mvoe'; did you mean "
			"'move'?");
	assert_bad_spec("type T\nfrom 1\n  frobnicate data.a\n",
			"a.upcast:3: unknown operation 'frobnicate'");
	assert_bad_spec("type T\nfrom 1\n  set data.a\n",
			"a.upcast:3: set: expected a JSON value");
	assert_bad_spec("type T\nfrom 1\n  set data.a {\"x\":}\n",
			"a.upcast:3: set: bad JSON value at column 19: "
			"expected value");
	assert_bad_spec("type T\nfrom 1\n  set data.a 1 2\n",
			"a.upcast:3: unexpected '2' after its arguments");
	assert_bad_spec("type T\nfrom 1\n  set\n",
			"a.upcast:3: set: expected a path such as "
			"data.amount");
	assert_bad_spec("type T\nfrom 1\n  remove stream\n",
			"a.upcast:3: remove: 'stream' is not in data or meta: "
			"operations change data and meta, retype the type, "
			"and a Lua step the rest");
	assert_bad_spec("type T\nfrom 1\n  remove amount\n",
			"a.upcast:3: remove: 'amount' is not a path in data "
			"or meta; did you mean 'data.amount'?");
	assert_bad_spec("type T\nfrom 1\n  remove data..a\n",
			"a.upcast:3: remove: 'data..a' is not a dotted path "
			"such as data.amount");
	assert_bad_spec("type T\nfrom 1\n  map data.a 5\n",
			"a.upcast:3: map: the table is an object {\"from\": "
			"to} or an array of [from, to] pairs");
	assert_bad_spec("type T\nfrom 1\n  map data.a [[1]]\n",
			"a.upcast:3: map: entry 1 of the table is not a "
			"[from, to] pair");
	assert_bad_spec("type T\nfrom 1\n  map data.a {} otherwise 1\n",
			"a.upcast:3: map: unexpected 'otherwise' after the "
			"table (else VALUE?)");
	assert_bad_spec("type T\nfrom 1\n  scale data.a \"2\"\n",
			"a.upcast:3: scale: the factor is a number");
	assert_bad_spec("type T\nfrom 1\n  scale data.a 2 floor\n",
			"a.upcast:3: scale: unexpected 'floor' after the "
			"factor (round?)");
	assert_bad_spec("type T\nfrom 1\n  set meta 1\n",
			"a.upcast:3: set: meta is an object");
	assert_bad_spec("type T\nfrom 1\n  drop\n  set data.a 1\n",
			"a.upcast:4: 'set' after 'drop': nothing follows a "
			"drop");
	assert_bad_spec("from 1\n", "a.upcast:1: 'from' before any 'type': "
				    "name the event type first");
	assert_bad_spec("type T\nfrom 0\n", "a.upcast:2: from: '0' is not a "
					    "version (1, 2, ...)");
	assert_bad_spec("type T\nfrom x\n", "a.upcast:2: from: 'x' is not a "
					    "version (1, 2, ...)");
	assert_bad_spec("type T\n  set data.a 1\n",
			"a.upcast:2: 'set' outside a step: begin one with "
			"'from N' after 'type NAME'");
	assert_bad_spec("\n# a comment\ntype T\n",
			"a.upcast:3: type T has no steps: give it one with "
			"'from N'");
	assert_bad_spec("type\n", "a.upcast:1: type: expected a type name");
	assert_bad_spec("type T x\n",
			"a.upcast:1: unexpected 'x' after the type");
	assert_bad_spec("type T\nfrom 1\n  retype\n",
			"a.upcast:3: retype: expected a type name");
}

static void test_checks_of_directories_and_lua(void **state)
{
	struct fx x;
	const char *msg;
	int code;

	(void)state;
	/* a step in each of two files */
	fx_new(&x);
	put(&x, "a.upcast", "type T\nfrom 1\n");
	put(&x, "b.upcast", "\n\ntype T\nfrom 1\n");
	msg = bad_set(&x, &code);
	assert_int_equal(code, EV_EUSAGE);
	assert_non_null(strstr(msg, "b.upcast:4: a second step of T from "
				    "version 1 (the first is at "));
	assert_non_null(strstr(msg, "a.upcast:2)"));
	fx_free(&x);
	/* a declarative and a Lua step from one version */
	fx_new(&x);
	put(&x, "a.upcast", "type T\nfrom 1\n");
	put(&x, "T.1.lua", "return function(e) return e end\n");
	msg = bad_set(&x, &code);
	assert_int_equal(code, EV_EUSAGE);
	assert_non_null(strstr(msg, "a.upcast:2: a second step of T from "
				    "version 1 (the first is at "));
	fx_free(&x);
	/* a gap across kinds */
	fx_new(&x);
	put(&x, "a.upcast", "type T\nfrom 1\n");
	put(&x, "T.3.lua", "return function(e) return e end\n");
	msg = bad_set(&x, &code);
	assert_non_null(strstr(msg, "T.3.lua:1: T has no step from version 2 "
				    "(between the steps from 1 and 3)"));
	fx_free(&x);
	/* a Lua syntax error, at its line */
	fx_new(&x);
	put(&x, "T.1.lua", "return function(e)\n  return e +\nend\n");
	msg = bad_set(&x, &code);
	assert_int_equal(code, EV_EUSAGE);
	assert_non_null(strstr(msg, "T.1.lua:3: unexpected symbol near "
				    "'end'"));
	fx_free(&x);
	/* a file that returns no function, or fails as it runs */
	fx_new(&x);
	put(&x, "T.1.lua", "local x = 1\n");
	msg = bad_set(&x, &code);
	assert_int_equal(code, EV_EUSAGE);
	assert_non_null(strstr(msg, "T.1.lua: returns nothing, not a "
				    "function"));
	fx_free(&x);
	fx_new(&x);
	put(&x, "T.1.lua", "return 5\n");
	msg = bad_set(&x, &code);
	assert_non_null(strstr(msg, "T.1.lua: returns a number value, not a "
				    "function"));
	fx_free(&x);
	fx_new(&x);
	put(&x, "T.1.lua", "\nerror('nope')\n");
	msg = bad_set(&x, &code);
	assert_int_equal(code, EV_EUSAGE);
	assert_non_null(strstr(msg, "T.1.lua:2: nope"));
	fx_free(&x);
	/* bytecode is refused */
	fx_new(&x);
	put(&x, "T.1.lua", "\x1bLua");
	msg = bad_set(&x, &code);
	assert_int_equal(code, EV_EUSAGE);
	assert_non_null(
		strstr(msg, "T.1.lua:1: attempt to load a binary chunk"));
	fx_free(&x);
	/* names */
	fx_new(&x);
	put(&x, "T.lua", "return function(e) return e end\n");
	msg = bad_set(&x, &code);
	assert_int_equal(code, EV_EUSAGE);
	assert_non_null(strstr(msg, "T.lua:1: a Lua step is named "
				    "TYPE.N.lua, N the version it upcasts "
				    "from (OrderCreated.1.lua)"));
	fx_free(&x);
	fx_new(&x);
	put(&x, "T.0.lua", "return function(e) return e end\n");
	msg = bad_set(&x, &code);
	assert_non_null(strstr(msg, "a Lua step is named TYPE.N.lua"));
	fx_free(&x);
	/* a directory with nothing to load; other files are left alone */
	fx_new(&x);
	put(&x, "README", "hello");
	msg = bad_set(&x, &code);
	assert_int_equal(code, EV_EUSAGE);
	assert_non_null(strstr(msg, "has no spec files (*.upcast) and no Lua "
				    "steps (TYPE.N.lua)"));
	fx_free(&x);
	/* missing */
	fx_new(&x);
	snprintf(x.path, sizeof(x.path), "%s/none", x.dir);
	msg = bad_set(&x, &code);
	assert_int_equal(code, EV_ENOENT);
	assert_string_equal(msg, "cannot open 'none': No such file or "
				 "directory");
	fx_free(&x);
}

static void test_dotted_type_and_mixed_chain(void **state)
{
	struct fx x;
	struct ev_upcaster *u;
	struct ev_error err;
	char *got;

	(void)state;
	fx_new(&x);
	put(&x, "a.upcast",
	    "type com.ex.Order\nfrom 1\n  set data.a 1\n"
	    "from 3\n  set data.c 3\n");
	put(&x, "com.ex.Order.2.lua",
	    "return function(e) e.data.b = e.data.a + 1 return e end\n");
	put(&x, "notes.txt", "left alone");
	if (ev_upcaster_load(&u, x.path, &err) != 0)
		fail_msg("load: %s", err.msg);
	got = datas(u, "{\"id\":\"e\",\"type\":\"com.ex.Order\",\"time\":"
		       "\"2024-01-01T00:00:00Z\",\"data\":{}}");
	assert_string_equal(got, "{\"a\":1,\"b\":2,\"c\":3}\n");
	free(got);
	ev_upcaster_free(u);
	/* a lone Lua file is a set too */
	snprintf(x.path, sizeof(x.path), "%s/com.ex.Order.2.lua", x.dir);
	if (ev_upcaster_load(&u, x.path, &err) != 0)
		fail_msg("load: %s", err.msg);
	ev_upcaster_free(u);
	fx_free(&x);
}

/* ------------------------------------------------------------ Lua */

static struct ev_upcaster *lua(struct fx *x, const char *body)
{
	struct ev_upcaster *u;
	struct ev_error err;

	fx_new(x);
	put(x, "T.1.lua", body);
	if (ev_upcaster_load(&u, x->path, &err) != 0)
		fail_msg("load: %s", err.msg);
	return u;
}

/* What a Lua step makes of EV_T(data): the data, or the failure. */
static void assert_lua(const char *body, const char *data, const char *want)
{
	struct fx x;
	struct ev_upcaster *u = lua(&x, body);
	char *got = datas(u, data);
	const char *g = got;

	/* the failure names the file by its path: cut the directory */
	if (strncmp(got, "FAIL: ", 6) == 0 && strstr(got, x.dir) != NULL) {
		static char buf[2048];
		const char *d;
		size_t at = 0;
		for (g = got; (d = strstr(g, x.dir)) != NULL;
		     g = d + strlen(x.dir) + 1) {
			memcpy(buf + at, g, (size_t)(d - g));
			at += (size_t)(d - g);
		}
		snprintf(buf + at, sizeof(buf) - at, "%s", g);
		g = buf;
	}
	assert_string_equal(g, want);
	free(got);
	ev_upcaster_free(u);
	fx_free(&x);
}

#define FAILED "FAIL: offset 7: T version 1: step T.1.lua: "

static void test_lua_steps(void **state)
{
	(void)state;
	assert_lua("return function(e) e.data.n = e.data.n * 2 "
		   "e.data.t = e.type .. '@' .. e.schema return e end\n",
		   EV_T("{\"n\":21}"), "{\"n\":42,\"t\":\"T@1\"}\n");
	/* a new table is the event */
	assert_lua("return function(e) return {type = 'U', time = e.time, "
		   "data = {list = {1, 2}, obj = {b = 1, a = 2}, "
		   "empty = {}, arr = evlog.array({}), n = evlog.null}} "
		   "end\n",
		   EV_T("{}"),
		   "{\"arr\":[],\"empty\":{},\"list\":[1,2],\"n\":null,"
		   "\"obj\":{\"a\":2,\"b\":1}}\n");
	/* nil drops, a list splits, an empty list drops */
	assert_lua("return function(e) return nil end\n", EV_T("{}"), "");
	assert_lua("return function(e) return evlog.array({}) end\n",
		   EV_T("{}"), "");
	assert_lua("return function(e) local out = {} "
		   "for i, v in ipairs(e.data) do out[i] = {type = 'P', "
		   "time = e.time, data = v} end return out end\n",
		   EV_T("[\"a\",{\"b\":1}]"), "\"a\"\n{\"b\":1}\n");
	/* parts of data never opened, split out: as they were */
	assert_lua("return function(e) local out = {} "
		   "for i, p in ipairs(e.data.parts) do out[i] = {type = 'P', "
		   "time = e.time, data = p} end return out end\n",
		   EV_T("{\"parts\":[{\"a\":1,\"a\":2},{\"b\":[1]}],"
			"\"n\":null}"),
		   "{\"a\":1,\"a\":2}\n{\"b\":[1]}\n");
	/* time and the envelope */
	assert_lua("return function(e) e.time = '2025-02-03T04:05:06.5+01:00' "
		   "e.stream = 's' e.key = 'k' e.version = 9 e.meta = {m = 1} "
		   "return e end\n",
		   EV_T("1"), "1\n");
}

/* A Kafka log's record: a Lua step sees its partition and its offset
 * there, and a failure names it P:O; a local log's, its offset alone. */
static void test_lua_kafka_place(void **state)
{
	struct fx x;
	struct ev_upcaster *u =
		lua(&x, "return function(e) if e.data == 0 then error('no') "
			"end e.data = tostring(e.partition) .. ':' .. e.offset "
			"return e end\n");
	const struct ev_upcast_failure *f;
	struct ev_buf in = {0}, out = {0};
	struct ev_error err;
	struct ev_rec at;
	const uint8_t *p;
	size_t n;
	int ch;

	(void)state;
	memset(&at, 0, sizeof(at));
	at.offset = 5; /* the records read */
	at.kafka = 1;
	at.partition = 2;
	at.koffset = 17;
	record(EV_T("1"), &in);
	assert_int_equal(ev_upcaster_apply_rec(u, in.p, in.len, &at, &ch, &err),
			 1);
	ev_upcaster_record(u, 0, &p, &n);
	assert_int_equal(ev_record_to_json(p, n, 5, &out, &err), 0);
	ev_buf_putc(&out, '\0');
	assert_non_null(strstr((char *)out.p, "\"data\":\"2:17\""));
	/* a local log's */
	assert_int_equal(ev_upcaster_apply(u, in.p, in.len, 5, &ch, &err), 1);
	ev_upcaster_record(u, 0, &p, &n);
	out.len = 0;
	assert_int_equal(ev_record_to_json(p, n, 5, &out, &err), 0);
	ev_buf_putc(&out, '\0');
	assert_non_null(strstr((char *)out.p, "\"data\":\"nil:5\""));
	/* the failure */
	record(EV_T("0"), &in);
	assert_int_equal(ev_upcaster_apply_rec(u, in.p, in.len, &at, &ch, &err),
			 EV_EDATA);
	assert_int_equal(strncmp(err.msg, "offset 2:17: T version 1: step ",
				 31),
			 0);
	f = ev_upcaster_last_failure(u);
	assert_int_equal(f->has_partition, 1);
	assert_int_equal(f->partition, 2);
	assert_int_equal(f->offset, 17);
	assert_int_equal(ev_upcaster_apply(u, in.p, in.len, 5, &ch, &err),
			 EV_EDATA);
	assert_int_equal(strncmp(err.msg, "offset 5: T version 1: step ", 28),
			 0);
	assert_int_equal(ev_upcaster_last_failure(u)->has_partition, 0);
	ev_buf_free(&in);
	ev_buf_free(&out);
	ev_upcaster_free(u);
	fx_free(&x);
}

/* A Lua error in a file whose path Lua cuts to "...END" still names the
 * whole file once, with the line */
static void test_lua_error_long_path(void **state)
{
	const char *sub = "a-directory-with-a-long-name-so-that-lua-cuts-"
			  "the-path-it-reports";
	char want[4400];
	struct ev_upcaster *u;
	struct ev_error err;
	struct fx x;
	char *got;

	(void)state;
	fx_new(&x);
	snprintf(x.path, sizeof(x.path), "%s/%s", x.dir, sub);
	assert_int_equal(mkdir(x.path, 0755), 0);
	put(&x,
	    "a-directory-with-a-long-name-so-that-lua-cuts-the-path-it-"
	    "reports/T.1.lua",
	    "return function(e)\n  error('bad event ' .. e.id)\nend\n");
	if (ev_upcaster_load(&u, x.path, &err) != 0)
		fail_msg("load: %s", err.msg);
	got = datas(u, EV_T("{}"));
	/* (the test's directory cut from the front, as elsewhere) */
	snprintf(want, sizeof(want),
		 "FAIL: offset 7: T version 1: step %s/T.1.lua:2: bad event e1",
		 sub);
	assert_string_equal(got, want);
	free(got);
	ev_upcaster_free(u);
	/* and so does one that does not load */
	put(&x,
	    "a-directory-with-a-long-name-so-that-lua-cuts-the-path-it-"
	    "reports/T.1.lua",
	    "return function(e)\n  return e +\nend\n");
	if (ev_upcaster_load(&u, x.path, &err) == 0)
		fail_msg("a syntax error loaded");
	snprintf(want, sizeof(want),
		 "%s/T.1.lua:3: unexpected symbol near 'end'", x.path);
	assert_string_equal(err.msg, want);
	fx_free(&x);
}

static void test_lua_split_ids_and_envelope(void **state)
{
	struct fx x;
	struct ev_upcaster *u =
		lua(&x, "return function(e) return {"
			"{type = 'A', time = e.time, id = 'ignored'},"
			"{type = 'B', time = '2025-02-03T04:05:06.5+01:00', "
			"stream = 's', key = 'k', version = 9, meta = {m = 1}, "
			"data_base64 = 'AAE='}} end\n");
	char *got = upcast(u, EV_T("{}"));

	(void)state;
	assert_string_equal(
		got,
		"{\"offset\":7,\"id\":\"e1:1\",\"type\":\"A\",\"time\":"
		"\"2024-01-01T00:00:00.000Z\",\"schema\":2}\n"
		"{\"offset\":7,\"id\":\"e1:2\",\"type\":\"B\",\"stream\":\"s\","
		"\"version\":9,\"time\":\"2025-02-03T03:05:06.500Z\",\"schema\":"
		"2,\"key\":\"k\",\"data_base64\":\"AAE=\",\"meta\":{\"m\":1}}\n");
	free(got);
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_lua_wrong_returns(void **state)
{
	(void)state;
	assert_lua("return function(e) return 5 end\n", EV_T("{}"),
		   FAILED "returned a number value, not an event, a list of "
			  "events or nil");
	assert_lua("return function(e) return 'x' end\n", EV_T("{}"),
		   FAILED "returned a string value, not an event, a list of "
			  "events or nil");
	assert_lua("return function(e) return {e, 3} end\n", EV_T("{}"),
		   FAILED "returned a list whose element 2 is a number value, "
			  "not an event");
	assert_lua("return function(e) return {time = e.time} end\n",
		   EV_T("{}"), FAILED "the event has no type");
	assert_lua("return function(e) e.type = '' return e end\n", EV_T("{}"),
		   FAILED "the event's type is empty");
	assert_lua("return function(e) e.type = 'a\\nb' return e end\n",
		   EV_T("{}"),
		   FAILED "the event's type has a control character");
	assert_lua("return function(e) e.stream = 5 return e end\n", EV_T("{}"),
		   FAILED "the event's stream is a number, not a string");
	assert_lua("return function(e) e.time = 'noon' return e end\n",
		   EV_T("{}"),
		   FAILED "the event's time 'noon' is not an RFC 3339 time");
	assert_lua("return function(e) e.time = nil return e end\n", EV_T("{}"),
		   FAILED "the event's time is missing, not an RFC 3339 "
			  "string");
	assert_lua("return function(e) e.version = 0 return e end\n",
		   EV_T("{}"),
		   FAILED "the event's version is not a positive integer");
	assert_lua("return function(e) e.tpye = 'x' return e end\n", EV_T("{}"),
		   FAILED "the event has a field 'tpye' that no event has");
	assert_lua("return function(e) e.data.f = function() end return e "
		   "end\n",
		   EV_T("{}"),
		   FAILED "data: a function value has no JSON form");
	assert_lua("return function(e) e.data.f = 0/0 return e end\n",
		   EV_T("{}"), FAILED "data: nan is not a JSON number");
	assert_lua("return function(e) e.data.f = math.huge return e end\n",
		   EV_T("{}"), FAILED "data: inf is not a JSON number");
	assert_lua("return function(e) e.data.f = {1, x = 2} return e end\n",
		   EV_T("{}"),
		   FAILED "data: a table is neither an array (keys 1 to n) "
			  "nor an object (string keys)");
	assert_lua("return function(e) e.data.f = {1, nil, 3} return e end\n",
		   EV_T("{}"),
		   FAILED "data: a table is neither an array (keys 1 to n) "
			  "nor an object (string keys)");
	assert_lua("return function(e) e.data.l[5] = 1 return e end\n",
		   EV_T("{\"l\":[1]}"),
		   FAILED "data: an array has a key other than 1 to 1");
	assert_lua("return function(e) e.data.s = '\\xff' return e end\n",
		   EV_T("{}"), FAILED "data: a string is not valid UTF-8");
	assert_lua("return function(e) local t = {} t.t = t e.data = t "
		   "return e end\n",
		   EV_T("{}"), FAILED "data: nested deeper than 64 levels");
	assert_lua("return function(e) e.meta = {1} return e end\n", EV_T("{}"),
		   FAILED "the event's meta is not an object");
	assert_lua("return function(e) e.data_base64 = 'AAAA' return e end\n",
		   EV_T("{}"),
		   FAILED "the event has both data and data_base64");
	assert_lua("return function(e) error('bad event ' .. e.id) end\n",
		   EV_T("{}"),
		   "FAIL: offset 7: T version 1: step T.1.lua:1: bad event e1");
	assert_lua("return function(e) error({}) end\n", EV_T("{}"),
		   FAILED "(error object is a table value)");
	assert_lua("return function(e) return e.data.x.y end\n", EV_T("{}"),
		   "FAIL: offset 7: T version 1: step T.1.lua:1: "
		   "attempt to index a nil value (field "
		   "'x')");
}

static void test_lua_sandbox(void **state)
{
	static const char *const escapes[][2] = {
		{"os.execute('true')", "global 'os'"},
		{"io.open('/etc/passwd')", "global 'io'"},
		{"require('os')", "global 'require'"},
		{"load('return 1')()", "global 'load'"},
		{"loadfile('/etc/passwd')", "global 'loadfile'"},
		{"dofile('/etc/passwd')", "global 'dofile'"},
		{"string.dump(print)", "field 'dump'"},
		{"('').dump(print)", "field 'dump'"},
		{"debug.getinfo(1)", "global 'debug'"},
		{"package.loadlib('x', 'y')", "global 'package'"},
		{"coroutine.create(print)", "global 'coroutine'"},
		{"collectgarbage('stop')", "global 'collectgarbage'"},
		{"print('x')", "global 'print'"},
		{"math.random()", "field 'random'"},
	};
	char body[256], want[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		snprintf(body, sizeof(body),
			 "return function(e) %s return e end\n", escapes[i][0]);
		snprintf(want, sizeof(want),
			 "FAIL: offset 7: T version 1: step T.1.lua:1: "
			 "attempt to call a nil value (%s)",
			 escapes[i][1]);
		if (strstr(escapes[i][0], "os.") == escapes[i][0] ||
		    strstr(escapes[i][0], "io.") == escapes[i][0] ||
		    strstr(escapes[i][0], "debug.") == escapes[i][0] ||
		    strstr(escapes[i][0], "package.") == escapes[i][0] ||
		    strstr(escapes[i][0], "coroutine.") == escapes[i][0])
			snprintf(want, sizeof(want),
				 "FAIL: offset 7: T version 1: step T.1.lua:1: "
				 "attempt to index a nil "
				 "value (%s)",
				 escapes[i][1]);
		assert_lua(body, EV_T("{}"), want);
	}
	/* globals are a file's own */
	assert_lua("x = 1 return function(e) e.data.x = x y = (y or 0) + 1 "
		   "e.data.y = y return e end\n",
		   EV_T("{}"), "{\"x\":1,\"y\":1}\n");
}

static void test_lua_limits(void **state)
{
	(void)state;
	/* pcall does not catch the end of the budget */
	assert_lua("return function(e) while true do "
		   "pcall(function() while true do end end) end end\n",
		   EV_T("{}"),
		   FAILED "the step ran for more than 100000000 instructions");
	assert_lua("return function(e) local t = {} for i = 1, 1e9 do "
		   "t[i] = string.rep('x', 65536) .. i end end\n",
		   EV_T("{}"),
		   FAILED "out of memory: Lua may use 256 MiB in all");
}

/* Lua runs finalizers with hooks off: no budget could stop one */
static void test_lua_finalizers(void **state)
{
	(void)state;
	assert_lua("return function(e) setmetatable({}, {__gc = function() "
		   "while true do end end}) return e end\n",
		   EV_T("{}"),
		   "FAIL: offset 7: T version 1: step T.1.lua:1: "
		   "setmetatable: __gc is not allowed in the sandbox");
	assert_lua("return function(e) error(setmetatable({}, {__gc = "
		   "false})) end\n",
		   EV_T("{}"),
		   "FAIL: offset 7: T version 1: step T.1.lua:1: "
		   "setmetatable: __gc is not allowed in the sandbox");
	/* the array metatable is out of reach: getmetatable() gives its
	 * name, a string, and setmetatable() refuses an array */
	assert_lua("return function(e) getmetatable(evlog.array()).__gc = "
		   "function() while true do end end e.data.a = "
		   "evlog.array() return e end\n",
		   EV_T("{}"),
		   "FAIL: offset 7: T version 1: step T.1.lua:1: attempt to "
		   "index a string value");
	assert_lua("return function(e) setmetatable(e.data.l, {__gc = pairs}) "
		   "return e end\n",
		   EV_T("{\"l\":[1]}"),
		   "FAIL: offset 7: T version 1: step T.1.lua:1: cannot change "
		   "a protected metatable");
	/* a __gc given after setmetatable() registers nothing (Lua 5.4) */
	assert_lua("local mt = {} return function(e) local t = "
		   "setmetatable({}, mt) mt.__gc = function() while true do "
		   "end end t = nil e.data.ok = true return e end\n",
		   EV_T("{}"), "{\"ok\":true}\n");
	/* __close runs with the hook on */
	assert_lua("return function(e) local x <close> = setmetatable({}, "
		   "{__close = function() while true do end end}) return e "
		   "end\n",
		   EV_T("{}"),
		   "FAIL: offset 7: T version 1: step T.1.lua:1: the step ran "
		   "for more than 100000000 instructions");
	/* __mode is harmless */
	assert_lua("return function(e) local w = setmetatable({}, {__mode = "
		   "'k'}) w[{}] = 1 e.data.ok = true return e end\n",
		   EV_T("{}"), "{\"ok\":true}\n");
}

/* A stop (a signal) ends a running step: EV_EAGAIN, no failure kept */
static void test_lua_stop(void **state)
{
	static volatile sig_atomic_t stop;
	struct fx x;
	struct ev_upcaster *u =
		lua(&x, "return function(e) while true do end end\n");
	struct ev_buf in = {0};
	struct ev_error err;
	size_t kept = 1;
	uint64_t total = 1;
	int ch;

	(void)state;
	ev_upcaster_set_counting(u, 1);
	ev_upcaster_set_stop(u, &stop);
	stop = 1;
	record(EV_T("{}"), &in);
	assert_int_equal(ev_upcaster_apply(u, in.p, in.len, 7, &ch, &err),
			 EV_EAGAIN);
	assert_string_equal(err.msg, "interrupted");
	ev_upcaster_failures(u, &kept, &total);
	assert_int_equal(kept, 0);
	assert_int_equal(total, 0);
	/* and the next call, with no stop, runs as before */
	stop = 0;
	assert_int_equal(ev_upcaster_apply(u, in.p, in.len, 7, &ch, &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "ran for more than"));
	ev_buf_free(&in);
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_lua_empty_array(void **state)
{
	(void)state;
	assert_lua("return function(e) e.data.a = evlog.array() e.data.b = "
		   "evlog.isarray(e.data.a) return e end\n",
		   EV_T("{}"), "{\"a\":[],\"b\":true}\n");
	assert_lua("return function(e) e.data.a = evlog.array(nil) return e "
		   "end\n",
		   EV_T("{}"),
		   "FAIL: offset 7: T version 1: step T.1.lua:1: bad argument "
		   "#1 to 'array' (table expected, got nil)");
}

static void test_lua_state_survives_failures(void **state)
{
	struct fx x;
	struct ev_upcaster *u =
		lua(&x, "return function(e) if e.data.loop then while true do "
			"end end e.data.ok = true return e end\n");
	char *got;

	(void)state;
	got = datas(u, EV_T("{\"loop\":true}"));
	assert_non_null(strstr(got, "ran for more than"));
	free(got);
	got = datas(u, EV_T("{}"));
	assert_string_equal(got, "{\"ok\":true}\n");
	free(got);
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_lua_lossless(void **state)
{
	const char *data =
		"{\"z\":null,\"a\":[],\"o\":{},\"n\":[null,{}],\"i\":"
		"-9223372036854775808,\"j\":9223372036854775807,\"u\":"
		"18446744073709551615,\"f\":0.1,\"d\":{\"k\":1,\"k\":2},"
		"\"s\":\"caf\\u00e9 \\\"q\\\"\",\"t\":true}";
	char want[1024];

	(void)state;
	/* a step that reads everything and changes nothing */
	snprintf(want, sizeof(want), "%s\n", data);
	assert_lua("return function(e) for k, v in pairs(e.data) do end "
		   "return e end\n",
		   EV_T("{\"z\":null,\"a\":[],\"o\":{},\"n\":[null,{}],\"i\":"
			"-9223372036854775808,\"j\":9223372036854775807,"
			"\"u\":18446744073709551615,\"f\":0.1,\"d\":{\"k\":1,"
			"\"k\":2},\"s\":\"caf\\u00e9 \\\"q\\\"\",\"t\":true}"),
		   "{\"z\":null,\"a\":[],\"o\":{},\"n\":[null,{}],\"i\":"
		   "-9223372036854775808,\"j\":9223372036854775807,\"u\":"
		   "18446744073709551615,\"f\":0.1,\"d\":{\"k\":1,\"k\":2},"
		   "\"s\":\"café \\\"q\\\"\",\"t\":true}\n");
	/* one that changes the object: new keys last, sorted; the repeated
	 * key it touched kept once, where it came last */
	assert_lua(
		"return function(e) e.data.y = 1 e.data.b = 2 "
		"e.data.d.x = 0 e.data.z = nil return e end\n",
		EV_T("{\"z\":null,\"c\":1,\"d\":{\"k\":1,\"k\":2},\"a\":3}"),
		"{\"c\":1,\"d\":{\"k\":2,\"x\":0},\"a\":3,\"b\":2,\"y\":1}\n");
	/* values as Lua sees them */
	assert_lua(
		"return function(e) local d = e.data "
		"e.data = {d.z == evlog.null, evlog.isarray(d.a), "
		"evlog.isarray(d.o), math.type(d.i), d.i == math.mininteger, "
		"math.type(d.u), #d.n, d.n[1] == evlog.null} return e end\n",
		EV_T("{\"z\":null,\"a\":[],\"o\":{},\"i\":-9223372036854775808,"
		     "\"u\":18446744073709551615,\"n\":[null,{}]}"),
		"[true,true,false,\"integer\",true,\"float\",2,true]\n");
	/* binary data */
	assert_lua("return function(e) e.data_base64 = "
		   "e.data_base64:sub(1, 3) .. 'C' return e end\n",
		   "{\"id\":\"e1\",\"type\":\"T\",\"time\":\"2024-01-01T00:00:"
		   "00Z\",\"data_base64\":\"AAE=\"}",
		   "-\n");
	(void)want;
}

/* ------------------------------------------------------------ counts */

static void test_counts_and_report(void **state)
{
	struct fx x;
	struct ev_upcaster *u = spec(&x, "type T\nfrom 1\n  scale data.n 2\n");
	const struct ev_upcast_count *v;
	const struct ev_upcast_failure *f;
	struct ev_buf out = {0};
	size_t n, kept, i;
	uint64_t total;
	char *got;

	(void)state;
	ev_upcaster_set_counting(u, 1);
	for (i = 0; i < 23; i++) {
		got = upcast(u, EV_T("{\"n\":\"x\"}"));
		free(got);
	}
	got = upcast(u, EV_T("{\"n\":1}"));
	free(got);
	got = upcast(u, "{\"type\":\"T\",\"time\":\"2024-01-01T00:00:00Z\","
			"\"schema\":2}");
	free(got);
	got = upcast(u, "{\"type\":\"U\",\"time\":\"2024-01-01T00:00:00Z\"}");
	free(got);
	assert_int_equal(ev_upcaster_counts(u, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].type, "T");
	assert_int_equal(v[0].version, 1);
	assert_int_equal(v[0].upcast, 1);
	assert_int_equal(v[0].failed, 23);
	assert_int_equal(v[1].version, 2);
	assert_int_equal(v[1].unchanged, 1);
	assert_string_equal(v[2].type, "U");
	f = ev_upcaster_failures(u, &kept, &total);
	assert_int_equal(kept, 20);
	assert_int_equal(total, 23);
	assert_int_equal(f[0].offset, 7);
	assert_string_equal(f[0].type, "T");
	assert_int_equal(f[0].version, 1);
	assert_string_equal(cut_dir((char *)f[0].step), "a.upcast:3");
	assert_string_equal(f[0].reason, "data.n is a string, not a number");
	assert_int_equal(ev_upcaster_report(u, &out), 0);
	ev_buf_putc(&out, '\0');
	assert_non_null(strstr((char *)out.p,
			       "TYPE  VERSION  UPCAST  UNCHANGED  FAILED\n"
			       "T           1       1          0      23\n"
			       "T           2       0          1       0\n"
			       "U           1       0          1       0\n"
			       "offset 7: T version 1: step "));
	assert_non_null(strstr((char *)out.p, "... and 3 more failures\n"));
	ev_buf_free(&out);
	ev_upcaster_free(u);
	fx_free(&x);
}

/* ------------------------------------------------------------ scans */

struct slog {
	char *dir;
	char path[4200];
	struct ev_log *log;
};

static void slog_new(struct slog *t, const char *const *lines, size_t n)
{
	struct ev_log_config cfg;
	struct ev_writer_opts wo;
	struct ev_writer *w;
	struct ev_error err;
	struct ev_buf b = {0};
	size_t i;

	t->dir = unit_tmpdir();
	snprintf(t->path, sizeof(t->path), "%s/log", t->dir);
	ev_log_config_init(&cfg);
	cfg.sync = EV_SYNC_NONE;
	if (ev_log_create(t->path, &cfg, &err) != 0 ||
	    ev_log_open(&t->log, t->path, &err) != 0)
		fail_msg("log: %s", err.msg);
	memset(&wo, 0, sizeof(wo));
	if (ev_writer_open(&w, t->log, &wo, &err) != 0)
		fail_msg("writer: %s", err.msg);
	for (i = 0; i < n; i++) {
		record(lines[i], &b);
		if (ev_writer_add(w, b.p, b.len, 0, &err) != 0)
			fail_msg("add: %s", err.msg);
	}
	if (ev_writer_close(w, &err) != 0)
		fail_msg("close: %s", err.msg);
	ev_buf_free(&b);
}

static void slog_free(struct slog *t)
{
	ev_log_close(t->log);
	unit_rmtree(t->dir);
}

struct dlq {
	int n;
	uint64_t offset;
	char why[600];
};

static int to_dlq(void *ctx, const struct ev_rec *rec,
		  const struct ev_error *why, struct ev_error *err)
{
	struct dlq *d = ctx;

	(void)err;
	d->n++;
	d->offset = rec->offset;
	snprintf(d->why, sizeof(d->why), "%.500s", why->msg);
	return 0;
}

/* The ids (and offsets) a scan gives, "id@offset ..." */
static int scan_ids(struct slog *t, struct ev_scan_opts *o, char *out,
		    size_t outn, struct ev_error *err)
{
	struct ev_reader *rd;
	struct ev_scan *s;
	struct ev_rec rec;
	const struct ev_event *ev;
	struct ev_event dec;
	size_t at = 0;
	int r;

	out[0] = '\0';
	if (ev_reader_open(&rd, t->log, err) != 0)
		fail_msg("reader: %s", err->msg);
	o->name = "log";
	if ((r = ev_scan_open(&s, t->log, rd, o, err)) != 0) {
		ev_reader_free(rd);
		return r;
	}
	while ((r = ev_scan_next(s, &rec, &ev, err)) > 0) {
		if (ev == NULL) {
			assert_int_equal(ev_event_decode(rec.p, rec.n, &dec,
							 err),
					 0);
			ev = &dec;
		}
		at += (size_t)snprintf(out + at, outn - at, "%s%.*s@%llu",
				       at ? " " : "", (int)ev->id.n, ev->id.p,
				       (unsigned long long)rec.offset);
	}
	if (r == 0 && o->upcaster != NULL)
		at += (size_t)snprintf(out + at, outn - at, " (pos %llu)",
				       (unsigned long long)ev_scan_position(s));
	ev_scan_free(s);
	ev_reader_free(rd);
	return r;
}

static const char *const scan_lines[] = {
	"{\"id\":\"a\",\"type\":\"Placed\",\"time\":\"2024-01-01T00:00:00Z\","
	"\"data\":{\"amount\":5}}",
	"{\"id\":\"b\",\"type\":\"Other\",\"time\":\"2024-01-01T00:00:01Z\","
	"\"data\":{\"amount\":50}}",
	"{\"id\":\"c\",\"type\":\"Batch\",\"time\":\"2024-01-01T00:00:02Z\","
	"\"data\":{\"items\":[10,20,30]}}",
	"{\"id\":\"d\",\"type\":\"Placed\",\"time\":\"2024-01-01T00:00:03Z\","
	"\"data\":{\"amount\":\"bad\"}}",
	"{\"id\":\"e\",\"type\":\"Placed\",\"time\":\"2024-01-01T00:00:04Z\","
	"\"schema\":2,\"data\":{\"amount\":7}}",
	"{\"id\":\"f\",\"type\":\"Gone\",\"time\":\"2024-01-01T00:00:05Z\"}",
};

static const char scan_spec[] = "type Placed\nfrom 1\n"
				"  scale data.amount 100\n"
				"  retype Created\n"
				"type Batch\nfrom 1\n"
				"  split data.items data.amount\n"
				"  retype Created\n"
				"type Gone\nfrom 1\n  drop\n";

static void test_scan_filters_see_upcast_events(void **state)
{
	struct fx x;
	struct slog t;
	struct ev_upcaster *u = spec(&x, scan_spec);
	struct ev_scan_opts o;
	struct ev_error err;
	char ids[512];

	(void)state;
	slog_new(&t, scan_lines, 6);
	memset(&o, 0, sizeof(o));
	o.upcaster = u;
	o.on_upcast_error = EV_UPCAST_SKIP;
	/* everything, upcast: a failure skipped, a drop, a split */
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), 0);
	assert_string_equal(ids, "a@0 b@1 c:1@2 c:2@2 c:3@2 e@4 (pos 6)");
	/* the new type name is what --type sees; the old one is gone */
	o.filter = ev_filter_new();
	assert_int_equal(ev_filter_add_type(o.filter, "Creat*"), 0);
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), 0);
	assert_string_equal(ids, "a@0 c:1@2 c:2@2 c:3@2 (pos 6)");
	ev_filter_free(o.filter);
	o.filter = ev_filter_new();
	assert_int_equal(ev_filter_add_type(o.filter, "Placed"), 0);
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), 0);
	assert_string_equal(ids, "e@4 (pos 6)");
	ev_filter_free(o.filter);
	/* --where on the upcast data */
	o.filter = ev_filter_new();
	assert_int_equal(ev_filter_add_where(o.filter, "data.amount >= 20",
					     &err),
			 0);
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), 0);
	assert_string_equal(ids, "a@0 b@1 c:2@2 c:3@2 (pos 6)");
	/* the last N of the upcast events, one split across the edge */
	o.last_set = 1;
	o.last = 3;
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), 0);
	assert_string_equal(ids, "b@1 c:2@2 c:3@2 (pos 6)");
	o.last = 1;
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), 0);
	assert_string_equal(ids, "c:3@2 (pos 6)");
	ev_filter_free(o.filter);
	o.filter = NULL;
	o.last = 4;
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), 0);
	assert_string_equal(ids, "c:1@2 c:2@2 c:3@2 e@4 (pos 6)");
	o.last = 0;
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), 0);
	assert_string_equal(ids, " (pos 6)");
	slog_free(&t);
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_scan_failure_policies(void **state)
{
	struct fx x;
	struct slog t;
	struct ev_upcaster *u = spec(&x, scan_spec);
	struct ev_scan_opts o;
	struct ev_error err;
	struct dlq d = {0};
	char ids[512];

	(void)state;
	slog_new(&t, scan_lines, 6);
	memset(&o, 0, sizeof(o));
	o.upcaster = u;
	/* stop: at the event, with its offset, type, version, step and
	 * reason */
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), EV_EDATA);
	assert_int_equal(ev_exit_code(EV_EDATA), 65);
	assert_string_equal(ids, "a@0 b@1 c:1@2 c:2@2 c:3@2");
	assert_non_null(strstr(err.msg, "upcast failed in 'log': offset 3: "
					"Placed version 1: step "));
	assert_non_null(strstr(cut_dir(err.msg), "step a.upcast:3: "
						 "data.amount is a string, not "
						 "a number"));
	/* to a dead-letter callback, which gets the stored event */
	o.on_upcast_error = EV_UPCAST_DLQ;
	o.upcast_failed = to_dlq;
	o.upcast_ctx = &d;
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), 0);
	assert_string_equal(ids, "a@0 b@1 c:1@2 c:2@2 c:3@2 e@4 (pos 6)");
	assert_int_equal(d.n, 1);
	assert_int_equal(d.offset, 3);
	assert_non_null(strstr(d.why, "offset 3: Placed version 1: step "));
	slog_free(&t);
	ev_upcaster_free(u);
	fx_free(&x);
}

static void test_scan_counts_skipped(void **state)
{
	struct fx x;
	struct slog t;
	struct ev_upcaster *u = spec(&x, scan_spec);
	struct ev_scan_opts o;
	struct ev_reader *rd;
	struct ev_scan *s;
	struct ev_rec rec;
	const struct ev_event *ev;
	struct ev_error err;
	int n = 0, r;

	(void)state;
	slog_new(&t, scan_lines, 6);
	memset(&o, 0, sizeof(o));
	o.upcaster = u;
	o.on_upcast_error = EV_UPCAST_SKIP;
	o.decode = 1;
	assert_int_equal(ev_reader_open(&rd, t.log, &err), 0);
	assert_int_equal(ev_scan_open(&s, t.log, rd, &o, &err), 0);
	while ((r = ev_scan_next(s, &rec, &ev, &err)) > 0) {
		assert_non_null(ev);
		if (ev->id.n == 3 && memcmp(ev->id.p, "c:2", 3) == 0) {
			/* a part before the last: not yet past its offset */
			assert_int_equal(ev_scan_position(s), 2);
			assert_int_equal(ev->schema, 2);
			assert_int_equal(ev->offset, 2);
		}
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 6);
	assert_int_equal(ev_scan_upcast_failures(s), 1);
	ev_scan_free(s);
	ev_reader_free(rd);
	slog_free(&t);
	ev_upcaster_free(u);
	fx_free(&x);
}

/* One stream read through its links, with -n, upcast. */
static void test_scan_stream_last(void **state)
{
	static const char *const lines[] = {
		"{\"id\":\"a\",\"type\":\"Batch\",\"stream\":\"s-1\","
		"\"time\":\"2024-01-01T00:00:00Z\",\"data\":{\"items\":[1,2]}}",
		"{\"id\":\"x\",\"type\":\"Batch\",\"stream\":\"s-2\","
		"\"time\":\"2024-01-01T00:00:01Z\",\"data\":{\"items\":[9]}}",
		"{\"id\":\"b\",\"type\":\"Batch\",\"stream\":\"s-1\","
		"\"time\":\"2024-01-01T00:00:02Z\",\"data\":{\"items\":[3,4]}}",
		"{\"id\":\"c\",\"type\":\"Gone\",\"stream\":\"s-1\","
		"\"time\":\"2024-01-01T00:00:03Z\"}",
	};
	struct fx x;
	struct slog t;
	struct ev_upcaster *u = spec(&x, scan_spec);
	struct ev_scan_opts o;
	struct ev_error err;
	char ids[512];

	(void)state;
	slog_new(&t, lines, 4);
	memset(&o, 0, sizeof(o));
	o.upcaster = u;
	o.stream = "s-1";
	o.filter = ev_filter_new();
	assert_int_equal(ev_filter_add_stream_exact(o.filter, "s-1"), 0);
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), 0);
	assert_string_equal(ids, "a:1@0 a:2@0 b:1@2 b:2@2 (pos 4)");
	o.last_set = 1;
	o.last = 3;
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), 0);
	assert_string_equal(ids, "a:2@0 b:1@2 b:2@2 (pos 4)");
	o.last = 1;
	assert_int_equal(scan_ids(&t, &o, ids, sizeof(ids), &err), 0);
	assert_string_equal(ids, "b:2@2 (pos 4)");
	ev_filter_free(o.filter);
	slog_free(&t);
	ev_upcaster_free(u);
	fx_free(&x);
}

/* A long scan is upcast a batch ahead on a thread of its own: it gives
 * what a scan that upcasts as it reads gives (one counting for --check
 * does), across batches, with splits, drops and failures, and the
 * dead-letter callback sees the failure of the event it gets. */
struct dlq_check {
	struct ev_upcaster *u;
	int n, mismatched;
};

static int to_dlq_check(void *ctx, const struct ev_rec *rec,
			const struct ev_error *why, struct ev_error *err)
{
	struct dlq_check *d = ctx;

	(void)why;
	(void)err;
	d->n++;
	if (ev_upcaster_last_failure(d->u)->offset != rec->offset)
		d->mismatched++;
	return 0;
}

static void test_scan_ahead_same(void **state)
{
	enum { N = 1500 };
	static char text[N][160];
	static const char *lines[N];
	struct fx x;
	struct slog t;
	struct ev_upcaster *u = spec(&x, scan_spec);
	struct ev_scan_opts o;
	struct ev_error err;
	struct dlq_check d = {u, 0, 0};
	char *ahead = malloc(1 << 16), *inline_ = malloc(1 << 16);
	int i, counting, r;

	(void)state;
	assert_non_null(ahead);
	assert_non_null(inline_);
	for (i = 0; i < N; i++) {
		const char *type = i % 11 == 0	? "Gone"
				   : i % 7 == 0 ? "Batch"
				   : i % 3 == 0 ? "Other"
						: "Placed";
		if (i % 7 == 0 && i % 11 != 0)
			snprintf(text[i], sizeof(text[i]),
				 "{\"id\":\"e%d\",\"type\":\"Batch\","
				 "\"time\":\"2024-01-01T00:00:00Z\","
				 "\"data\":{\"items\":[1,2]}}",
				 i);
		else
			snprintf(text[i], sizeof(text[i]),
				 "{\"id\":\"e%d\",\"type\":\"%s\","
				 "\"time\":\"2024-01-01T00:00:00Z\","
				 "\"data\":{\"amount\":%s}}",
				 i, type, i % 97 == 5 ? "\"bad\"" : "1");
		lines[i] = text[i];
	}
	slog_new(&t, lines, N);
	for (counting = 0; counting <= 1; counting++) {
		char *out = counting ? inline_ : ahead;
		ev_upcaster_set_counting(u, counting);
		memset(&o, 0, sizeof(o));
		o.upcaster = u;
		o.on_upcast_error = EV_UPCAST_DLQ;
		o.upcast_failed = to_dlq_check;
		o.upcast_ctx = &d;
		d.n = d.mismatched = 0;
		assert_int_equal(scan_ids(&t, &o, out, 1 << 16, &err), 0);
		assert_int_equal(d.n, 8);
		assert_int_equal(d.mismatched, 0);
	}
	assert_non_null(strstr(ahead, " e1499@1499 (pos 1500)"));
	assert_null(strstr(ahead, "e5@"));
	assert_non_null(strstr(ahead, " e7:1@7 e7:2@7 "));
	assert_string_equal(ahead, inline_);
	/* stopping at the first failure, and at an offset */
	for (counting = 0; counting <= 1; counting++) {
		char *out = counting ? inline_ : ahead;
		ev_upcaster_set_counting(u, counting);
		memset(&o, 0, sizeof(o));
		o.upcaster = u;
		r = scan_ids(&t, &o, out, 1 << 16, &err);
		assert_int_equal(r, EV_EDATA);
		assert_non_null(strstr(err.msg, "offset 5: Placed version 1"));
		o.to.kind = EV_POS_OFFSET;
		o.to.offset = 900;
		o.on_upcast_error = EV_UPCAST_SKIP;
		assert_int_equal(scan_ids(&t, &o, out, 1 << 16, &err), 0);
	}
	assert_non_null(strstr(ahead, " e900@900 (pos 901)"));
	assert_string_equal(ahead, inline_);
	slog_free(&t);
	ev_upcaster_free(u);
	fx_free(&x);
	free(ahead);
	free(inline_);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_default),
		cmocka_unit_test(test_set_arrays_and_whole),
		cmocka_unit_test(test_move_copy_remove),
		cmocka_unit_test(test_move_between_data_and_meta),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_tonumber_tostring),
		cmocka_unit_test(test_retype_hands_on),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_drop_and_unchanged),
		cmocka_unit_test(test_keeps_what_it_does_not_touch),
		cmocka_unit_test(test_checks_name_file_and_line),
		cmocka_unit_test(test_checks_of_directories_and_lua),
		cmocka_unit_test(test_dotted_type_and_mixed_chain),
		cmocka_unit_test(test_lua_steps),
		cmocka_unit_test(test_lua_split_ids_and_envelope),
		cmocka_unit_test(test_lua_wrong_returns),
		cmocka_unit_test(test_lua_sandbox),
		cmocka_unit_test(test_lua_finalizers),
		cmocka_unit_test(test_lua_empty_array),
		cmocka_unit_test(test_lua_stop),
		cmocka_unit_test(test_lua_error_long_path),
		cmocka_unit_test(test_lua_kafka_place),
		cmocka_unit_test(test_lua_limits),
		cmocka_unit_test(test_lua_state_survives_failures),
		cmocka_unit_test(test_lua_lossless),
		cmocka_unit_test(test_counts_and_report),
		cmocka_unit_test(test_scan_filters_see_upcast_events),
		cmocka_unit_test(test_scan_failure_policies),
		cmocka_unit_test(test_scan_counts_skipped),
		cmocka_unit_test(test_scan_stream_last),
		cmocka_unit_test(test_scan_ahead_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
