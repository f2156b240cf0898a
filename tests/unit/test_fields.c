/*
 * test_fields.c - lib/fields.c: which names are fields an event can
 * have, --fields lists as nested JSON and as CSV or TSV rows, and the
 * CSV and TSV quoting of one field.
 */
#include "unit.h"

struct evt {
	struct ev_buf rec;
	struct ev_event ev;
};

static void make_event(struct evt *e, const char *json, uint64_t offset)
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
	memset(&e->rec, 0, sizeof(e->rec));
	assert_int_equal(ev_buf_append(&e->rec, rec, n), 0);
	ev_parser_free(ps);
	if (ev_event_decode(e->rec.p, e->rec.len, &e->ev, &err) != 0)
		fail_msg("ev_event_decode: %s", err.msg);
	e->ev.offset = offset;
}

static void check_path(const char *path, const char *want)
{
	struct ev_error err;
	int r;

	ev_error_clear(&err);
	r = ev_path_check(path, strlen(path), &err);
	if (want == NULL) {
		if (r != 0)
			fail_msg("'%s': refused: %s", path, err.msg);
		return;
	}
	if (r != EV_EUSAGE || strcmp(err.msg, want) != 0)
		fail_msg("'%s': got %d '%s', expected '%s'", path, r, err.msg,
			 want);
}

static void test_path_check(void **state)
{
	(void)state;
	check_path("offset", NULL);
	check_path("data", NULL);
	check_path("data.a.0.b", NULL);
	check_path("meta.userId", NULL);
	check_path("key", NULL);
	check_path("actor",
		   "unknown field 'actor'; did you mean 'data.actor'?");
	check_path("strem", "unknown field 'strem'; did you mean 'stream'?");
	check_path("time.x", "unknown field 'time.x': time has no fields "
			     "inside (data and meta do)");
	check_path("data.", "'data.' is not a dotted path such as data.amount");
	check_path("", "'' is not a dotted path such as data.amount");
}

static void expect_quoted(int csv, const char *in, const char *want)
{
	struct ev_buf b = {0};

	assert_int_equal(csv ? ev_csv_field(&b, in, strlen(in))
			     : ev_tsv_field(&b, in, strlen(in)),
			 0);
	if (b.len != strlen(want) || (b.len && memcmp(b.p, want, b.len)))
		fail_msg("'%s': got '%.*s', expected '%s'", in, (int)b.len,
			 b.p ? (const char *)b.p : "", want);
	ev_buf_free(&b);
}

static void test_quoting(void **state)
{
	(void)state;
	expect_quoted(1, "", "");
	expect_quoted(1, "plain text", "plain text");
	expect_quoted(1, "a,b", "\"a,b\"");
	expect_quoted(1, "say \"hi\"", "\"say \"\"hi\"\"\"");
	expect_quoted(1, "a\nb", "\"a\nb\"");
	expect_quoted(1, "a\rb", "\"a\rb\"");
	expect_quoted(1, "tab\there", "tab\there");
	expect_quoted(0, "tab\there", "tab\\there");
	expect_quoted(0, "a\nb\rc\\d,\"e\"", "a\\nb\\rc\\\\d,\"e\"");
}

static void expect_json(const char *spec, const struct ev_event *ev,
			const char *want)
{
	struct ev_fieldlist *fl;
	struct ev_error err;
	struct ev_buf b = {0};

	if (ev_fieldlist_new(&fl, spec, &err) != 0)
		fail_msg("'%s': %s", spec, err.msg);
	assert_int_equal(ev_fieldlist_json(fl, ev, &b, &err), 0);
	if (b.len != strlen(want) || memcmp(b.p, want, b.len))
		fail_msg("'%s': got '%.*s', expected '%s'", spec, (int)b.len,
			 (const char *)b.p, want);
	ev_buf_free(&b);
	ev_fieldlist_free(fl);
}

static void test_lists(void **state)
{
	struct ev_fieldlist *fl;
	struct ev_error err;
	struct ev_buf b = {0};
	struct evt e;

	(void)state;
	make_event(&e,
		   "{\"id\":\"x\",\"type\":\"T\",\"stream\":\"s\","
		   "\"time\":\"2024-01-01T00:00:00Z\","
		   "\"data\":{\"a\":{\"b\":1,\"c\":[true]},\"d\":\"e,f\"}}",
		   7);
	expect_json("type", &e.ev, "{\"type\":\"T\"}");
	expect_json("data.a.b,offset,data.d", &e.ev,
		    "{\"data\":{\"a\":{\"b\":1},\"d\":\"e,f\"},\"offset\":7}");
	/* a whole value swallows the paths inside it, either way round */
	expect_json("data.a.b,data.a", &e.ev,
		    "{\"data\":{\"a\":{\"b\":1,"
		    "\"c\":[true]}}}");
	expect_json("data.a,data.a.b", &e.ev,
		    "{\"data\":{\"a\":{\"b\":1,"
		    "\"c\":[true]}}}");
	/* absent fields, and objects left empty, are left out */
	expect_json("key,data.z.y,meta.q,id", &e.ev, "{\"id\":\"x\"}");
	expect_json("key", &e.ev, "{}");

	assert_int_equal(ev_fieldlist_new(&fl, "id,data.d,key,data.a.c", &err),
			 0);
	assert_int_equal(ev_fieldlist_header(fl, ',', &b), 0);
	assert_int_equal(ev_buf_putc(&b, '|'), 0);
	assert_int_equal(ev_fieldlist_row(fl, &e.ev, ',', &b, &err), 0);
	assert_int_equal(ev_buf_putc(&b, '|'), 0);
	assert_int_equal(ev_fieldlist_row(fl, &e.ev, '\t', &b, &err), 0);
	assert_int_equal(ev_buf_putc(&b, 0), 0);
	assert_string_equal((const char *)b.p,
			    "id,data.d,key,data.a.c|x,\"e,f\",,[true]|"
			    "x\te,f\t\t[true]");
	ev_fieldlist_free(fl);
	ev_buf_free(&b);

	assert_int_equal(ev_fieldlist_new(&fl, "id,,type", &err), EV_EUSAGE);
	assert_null(fl);
	assert_string_equal(err.msg,
			    "'id,,type' has an empty field at column 4");
	assert_int_equal(ev_fieldlist_new(&fl, "id,who", &err), EV_EUSAGE);
	assert_string_equal(err.msg,
			    "unknown field 'who'; did you mean 'data.who'?");
	ev_fieldlist_free(NULL);
	ev_buf_free(&e.rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_check),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_lists),
	};

	return cmocka_run_group_tests_name("fields", tests, NULL, NULL);
}
