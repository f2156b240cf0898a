/*
 * test_template.c - lib/template.c: evtail --template.  ev_template_new
 * rejects what is not a template, with the column; ev_template_render
 * prints envelope fields, data. and meta. paths (strings bare, times as
 * RFC 3339, other values as compact JSON, absent ones as nothing),
 * literal braces and the escapes \n, \t and \\.
 *
 * The messages still start with the tool's flag ("--template: "), which
 * is due to move to the tool: only the part after it is checked.
 */
#include "unit.h"

/* ------------------------------------------------------------ helpers */

struct evt {
	struct ev_buf rec;
	struct ev_event ev;
};

/* An event from one envelope JSON line, decoded, at the given offset. */
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

static void free_event(struct evt *e)
{
	ev_buf_free(&e->rec);
}

/* spec rendered for ev must give want exactly */
static void expect_render(const struct ev_event *ev, const char *spec,
			  const char *want, size_t want_n)
{
	struct ev_template *t;
	struct ev_error err;
	struct ev_buf out = {0};

	if (ev_template_new(&t, spec, &err) != 0)
		fail_msg("'%s': ev_template_new: %s", spec, err.msg);
	assert_non_null(t);
	if (ev_template_render(t, ev, &out, &err) != 0)
		fail_msg("'%s': ev_template_render: %s", spec, err.msg);
	if (out.len != want_n ||
	    (want_n > 0 && memcmp(out.p, want, want_n) != 0))
		fail_msg("'%s': got '%.*s', expected '%s'", spec, (int)out.len,
			 out.p ? (const char *)out.p : "", want);
	ev_buf_free(&out);
	ev_template_free(t);
}

#define RENDER(ev, spec, want) \
	expect_render((ev), (spec), (want), sizeof(want) - 1)

/* ev_template_new must refuse spec with EV_EUSAGE and a message holding
 * want; *out is then NULL */
static void expect_refused(const char *spec, const char *want)
{
	struct ev_template *t = (struct ev_template *)&t;
	struct ev_error err;
	int r;

	ev_error_clear(&err);
	r = ev_template_new(&t, spec, &err);
	if (r != EV_EUSAGE)
		fail_msg("'%s': got %d, expected EV_EUSAGE", spec, r);
	assert_null(t);
	assert_int_equal(err.code, EV_EUSAGE);
	if (strstr(err.msg, want) == NULL)
		fail_msg("'%s': message '%s' does not contain '%s'", spec,
			 err.msg, want);
}

static const char ORDER[] =
	"{\"id\":\"e1\",\"type\":\"OrderPlaced\",\"stream\":\"order-1\","
	"\"version\":3,\"key\":\"k-9\",\"time\":\"2024-01-01T00:00:00.5Z\","
	"\"schema\":2,"
	"\"data\":{\"amount\":42,\"neg\":-7,\"pi\":1.5,\"tenth\":0.1,"
	"\"big\":18446744073709551615,\"min\":-9223372036854775808,"
	"\"ok\":true,\"no\":false,\"nil\":null,"
	"\"name\":\"caf\\u00e9 \\\"q\\\"\\n\\t\\\\\","
	"\"items\":[{\"sku\":\"A\"},{\"sku\":\"B\",\"qty\":2}],"
	"\"ship\":{\"city\":\"Tokyo\",\"first name\":\"Ann\"},"
	"\"esc\":{\"s\":\"a\\\"b\\n\\u0001\"},\"empty\":\"\",\"none\":{}},"
	"\"meta\":{\"userId\":\"u1\",\"n\":5}}";

/* ------------------------------------------------------------ parsing */

static void test_unmatched_close(void **state)
{
	(void)state;
	expect_refused("ab}", "unmatched '}' at column 3");
	expect_refused("}", "unmatched '}' at column 1");
	expect_refused("{type}}", "unmatched '}' at column 7");
	expect_refused("{type} }x", "unmatched '}' at column 8");
	/* with the hint */
	expect_refused("a}b", "(write '}}' for a brace)");
	/* "}}}" is a brace, then one too many */
	expect_refused("x}}}", "unmatched '}' at column 4");
}

static void test_unterminated_open(void **state)
{
	(void)state;
	expect_refused("{type", "unterminated '{' at column 1");
	expect_refused("ab {data.x", "unterminated '{' at column 4");
	expect_refused("{type} {", "unterminated '{' at column 8");
	/* "{{" is a brace; the third one opens a field */
	expect_refused("{{{type", "unterminated '{' at column 3");
}

static void test_empty_or_nested_field(void **state)
{
	(void)state;
	expect_refused("{}", "empty or nested field at column 1");
	expect_refused("x {}", "empty or nested field at column 3");
	expect_refused("{a{b}}", "empty or nested field at column 1");
	expect_refused("{type} {data.{x}}",
		       "empty or nested field at column 8");
}

static void test_bad_path(void **state)
{
	(void)state;
	expect_refused("{.a}",
		       "'{.a}' is not a dotted path such as data.amount");
	expect_refused("{a.}",
		       "'{a.}' is not a dotted path such as data.amount");
	expect_refused(
		"x{data..amount}y",
		"'{data..amount}' is not a dotted path such as data.amount");
	expect_refused("{.}", "'{.}' is not a dotted path");
}

/* the first error is the one reported */
static void test_first_error_wins(void **state)
{
	(void)state;
	expect_refused("} {", "unmatched '}' at column 1");
	expect_refused("{} }", "empty or nested field at column 1");
}

static void test_free_null(void **state)
{
	(void)state;
	ev_template_free(NULL);
}

/* ------------------------------------------------------------ literals */

static void test_literals(void **state)
{
	struct evt e;

	(void)state;
	make_event(&e, ORDER, 17);
	RENDER(&e.ev, "", "");
	RENDER(&e.ev, "plain text", "plain text");
	RENDER(&e.ev, "{{", "{");
	RENDER(&e.ev, "}}", "}");
	RENDER(&e.ev, "{{type}}", "{type}");
	RENDER(&e.ev, "{{{type}}}", "{OrderPlaced}");
	RENDER(&e.ev, "a{{b}}c", "a{b}c");
	RENDER(&e.ev, "x}}{{", "x}{");
	free_event(&e);
}

static void test_escapes(void **state)
{
	struct evt e;

	(void)state;
	make_event(&e, ORDER, 17);
	RENDER(&e.ev, "a\\nb", "a\nb");
	RENDER(&e.ev, "a\\tb", "a\tb");
	RENDER(&e.ev, "a\\\\nb", "a\\nb");
	RENDER(&e.ev, "{type}\\n", "OrderPlaced\n");
	/* other backslashes are themselves */
	RENDER(&e.ev, "a\\xb", "a\\xb");
	RENDER(&e.ev, "end\\", "end\\");
	/* a field name is not unescaped */
	RENDER(&e.ev, "{data.a\\nb}", "");
	free_event(&e);
}

/* ------------------------------------------------------------ fields */

static void test_envelope_fields(void **state)
{
	struct evt e;

	(void)state;
	make_event(&e, ORDER, 17);
	RENDER(&e.ev, "{offset} {type} {id} {stream} {version} {key} {schema}",
	       "17 OrderPlaced e1 order-1 3 k-9 2");
	RENDER(&e.ev, "{time}", "2024-01-01T00:00:00.500Z");
	RENDER(&e.ev, "[{offset}]", "[17]");
	RENDER(&e.ev, "{type}{type}", "OrderPlacedOrderPlaced");
	free_event(&e);

	/* the largest offset, and a time with nanoseconds */
	make_event(
		&e,
		"{\"type\":\"T\",\"time\":\"1999-12-31T23:59:59.123456789Z\"}",
		UINT64_MAX);
	RENDER(&e.ev, "{offset} {time}",
	       "18446744073709551615 1999-12-31T23:59:59.123456789Z");
	free_event(&e);
	make_event(&e,
		   "{\"type\":\"T\",\"time\":\"2024-02-29T12:00:00.000001Z\"}",
		   0);
	RENDER(&e.ev, "{time}", "2024-02-29T12:00:00.000001Z");
	free_event(&e);
}

static void test_absent_fields(void **state)
{
	struct evt e;

	(void)state;
	/* no stream, version, key, data or meta; schema defaults to 1 */
	make_event(
		&e,
		"{\"id\":\"x\",\"type\":\"Bare\",\"time\":\"2024-01-01T00:00:00Z\"}",
		0);
	RENDER(&e.ev, "[{stream}][{version}][{key}][{data}][{meta}][{data.a}]",
	       "[][][][][][]");
	/* times have at least milliseconds */
	RENDER(&e.ev, "{schema} {time}", "1 2024-01-01T00:00:00.000Z");
	free_event(&e);
}

/* a field no event can have is refused, with a suggestion */
static void test_unknown_fields(void **state)
{
	(void)state;
	expect_refused("{actor}",
		       "unknown field 'actor'; did you mean 'data.actor'?");
	expect_refused("x {Type} y",
		       "unknown field 'Type'; did you mean 'type'?");
	expect_refused("{tpye}", "unknown field 'tpye'; did you mean 'type'?");
	expect_refused("{actor.login}", "unknown field 'actor.login'; did you "
					"mean 'data.actor.login'?");
	expect_refused("{type.x}", "unknown field 'type.x': type has no "
				   "fields inside (data and meta do)");
	expect_refused("{offset.0}", "unknown field 'offset.0'");
	expect_refused("{data.x:yaml}",
		       "'{data.x:yaml}': unknown form ':yaml' (use :json or "
		       ":csv)");
	expect_refused("{:json}", "'{:json}' is not a dotted path");
	expect_refused("{nope:csv}", "unknown field 'nope'");
}

/* {PATH:json} is a JSON value, null when absent; {PATH:csv} a CSV field */
static void test_quoted_forms(void **state)
{
	struct evt e;

	(void)state;
	make_event(&e, ORDER, 17);
	RENDER(&e.ev, "{data.name:json}",
	       "\"caf\xc3\xa9 \\\"q\\\"\\n\\t\\\\\"");
	RENDER(&e.ev, "{data.amount:json} {data.ok:json} {data.nil:json}",
	       "42 true null");
	RENDER(&e.ev, "{data.nope:json},{stream:json},{time:json}",
	       "null,\"order-1\",\"2024-01-01T00:00:00.500Z\"");
	RENDER(&e.ev, "{data.name:csv}", "\"caf\xc3\xa9 \"\"q\"\"\n\t\\\"");
	RENDER(&e.ev, "{type:csv},{data.nope:csv},{data.amount:csv}",
	       "OrderPlaced,,42");
	RENDER(&e.ev, "{data.esc:csv}",
	       "\"{\"\"s\"\":\"\"a\\\"\"b\\n\\u0001\"\"}\"");
	free_event(&e);
	make_event(&e, "{\"type\":\"Blob\",\"data_base64\":\"AAEC/w==\"}", 1);
	RENDER(&e.ev, "{data:json}", "\"AAEC/w==\"");
	free_event(&e);
}

static void test_data_and_meta_paths(void **state)
{
	struct evt e;

	(void)state;
	make_event(&e, ORDER, 17);
	RENDER(&e.ev, "{data.ship.city}", "Tokyo");
	RENDER(&e.ev, "{data.ship.first name}", "Ann");
	RENDER(&e.ev,
	       "{data.items.0.sku} {data.items.1.sku} {data.items.1.qty}",
	       "A B 2");
	RENDER(&e.ev, "{meta.userId} {meta.n}", "u1 5");
	/* whole values: compact JSON, keys in their order */
	RENDER(&e.ev, "{data.ship}",
	       "{\"city\":\"Tokyo\",\"first name\":\"Ann\"}");
	RENDER(&e.ev, "{data.items}",
	       "[{\"sku\":\"A\"},{\"sku\":\"B\",\"qty\":2}]");
	RENDER(&e.ev, "{meta}", "{\"userId\":\"u1\",\"n\":5}");
	RENDER(&e.ev, "{data.none}", "{}");
	free_event(&e);
}

static void test_missing_paths(void **state)
{
	struct evt e;

	(void)state;
	make_event(&e, ORDER, 17);
	RENDER(&e.ev, "[{data.nope}]", "[]");
	RENDER(&e.ev, "[{data.ship.zip}]", "[]");
	RENDER(&e.ev, "[{data.items.2}]", "[]");
	RENDER(&e.ev, "[{data.items.x}]", "[]");
	RENDER(&e.ev, "[{data.amount.x}]", "[]");
	RENDER(&e.ev, "[{meta.nope}]", "[]");
	/* keys match exactly */
	RENDER(&e.ev, "[{data.Amount}][{data.amoun}][{data.amount2}]",
	       "[][][]");
	/* an empty string is there, and prints as nothing too */
	RENDER(&e.ev, "[{data.empty}]", "[]");
	free_event(&e);
}

static void test_scalars(void **state)
{
	struct evt e;

	(void)state;
	make_event(&e, ORDER, 17);
	RENDER(&e.ev, "{data.amount} {data.neg} {data.pi} {data.tenth}",
	       "42 -7 1.5 0.1");
	RENDER(&e.ev, "{data.big} {data.min}",
	       "18446744073709551615 -9223372036854775808");
	RENDER(&e.ev, "{data.ok} {data.no} {data.nil}", "true false null");
	free_event(&e);
}

static void test_strings(void **state)
{
	struct evt e;

	(void)state;
	make_event(&e, ORDER, 17);
	/* a string prints bare: its bytes, escapes resolved, no quotes */
	RENDER(&e.ev, "{data.name}", "caf\xc3\xa9 \"q\"\n\t\\");
	/* inside a value it is JSON, escaped */
	RENDER(&e.ev, "{data.esc}", "{\"s\":\"a\\\"b\\n\\u0001\"}");
	free_event(&e);
}

static void test_binary_data(void **state)
{
	struct evt e;

	(void)state;
	make_event(&e, "{\"type\":\"Blob\",\"data_base64\":\"AAEC/w==\"}", 1);
	RENDER(&e.ev, "{data}", "AAEC/w==");
	RENDER(&e.ev, "[{data.x}]", "[]");
	free_event(&e);
}

/* one template, many events: nothing of one event stays for the next */
static void test_reuse(void **state)
{
	struct ev_template *t;
	struct ev_error err;
	struct ev_buf out = {0};
	struct evt a, b;

	(void)state;
	make_event(&a, ORDER, 1);
	make_event(&b, "{\"type\":\"Other\",\"data\":{\"amount\":7}}", 2);
	assert_int_equal(ev_template_new(&t, "{offset}:{data.amount}:{stream};",
					 &err),
			 0);
	assert_int_equal(ev_template_render(t, &a.ev, &out, &err), 0);
	assert_int_equal(ev_template_render(t, &b.ev, &out, &err), 0);
	assert_int_equal(ev_template_render(t, &a.ev, &out, &err), 0);
	assert_int_equal(ev_buf_putc(&out, '\0'), 0);
	/* render appends */
	assert_string_equal((const char *)out.p,
			    "1:42:order-1;2:7:;1:42:order-1;");
	ev_buf_free(&out);
	ev_template_free(t);
	free_event(&a);
	free_event(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unmatched_close),
		cmocka_unit_test(test_unterminated_open),
		cmocka_unit_test(test_empty_or_nested_field),
		cmocka_unit_test(test_bad_path),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_free_null),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_envelope_fields),
		cmocka_unit_test(test_absent_fields),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_quoted_forms),
		cmocka_unit_test(test_data_and_meta_paths),
		cmocka_unit_test(test_missing_paths),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_binary_data),
		cmocka_unit_test(test_reuse),
	};

	return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
