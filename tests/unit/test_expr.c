/*
 * test_expr.c - the --where parser (expr.c): the shape of the tree it
 * builds (precedence of not, and, or), how it types literals, where it
 * puts the column of an error, the type pre-check it derives, and
 * evaluation on the stored record agreeing with that on the event.
 */
#include "unit.h"

#include "expr_int.h"

/* The tree as text: (and A B), (or A B), (not A), and a test as its
 * field number and operator. */
static void shape(const struct ex_node *n, char *out, size_t cap)
{
	size_t len = strlen(out);

	switch (n->kind) {
	case EX_AND:
	case EX_OR:
		snprintf(out + len, cap - len, "(%s ",
			 n->kind == EX_AND ? "and" : "or");
		shape(n->a, out, cap);
		len = strlen(out);
		snprintf(out + len, cap - len, " ");
		shape(n->b, out, cap);
		len = strlen(out);
		snprintf(out + len, cap - len, ")");
		return;
	case EX_NOT:
		snprintf(out + len, cap - len, "(not ");
		shape(n->a, out, cap);
		len = strlen(out);
		snprintf(out + len, cap - len, ")");
		return;
	case EX_TEST:
		snprintf(out + len, cap - len, "%s", n->rest ? n->rest : "?");
		return;
	}
}

static void test_precedence(void **state)
{
	static const struct {
		const char *src, *shape;
	} cases[] = {
		{"data.a == 1", "a"},
		{"data.a == 1 or data.b == 1 and data.c == 1",
		 "(or a (and b c))"},
		{"data.a == 1 and data.b == 1 or data.c == 1",
		 "(or (and a b) c)"},
		{"not data.a exists and data.b exists", "(and (not a) b)"},
		{"not (data.a exists and data.b exists)", "(not (and a b))"},
		{"data.a == 1 and (data.b == 1 or data.c == 1)",
		 "(and a (or b c))"},
		{"data.a == 1 and data.b == 1 and data.c == 1",
		 "(and (and a b) c)"},
		{"  ( ( data.a exists ) )  ", "a"},
		{"data.and == 1 or data.or == 2", "(or and or)"},
	};
	struct ev_expr *e;
	struct ev_error err;
	char got[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (ev_expr_compile(&e, cases[i].src, &err) != 0)
			fail_msg("%s: %s", cases[i].src, err.msg);
		got[0] = '\0';
		shape(e->root, got, sizeof(got));
		if (strcmp(got, cases[i].shape) != 0)
			fail_msg("'%s' gave %s, not %s", cases[i].src, got,
				 cases[i].shape);
		ev_expr_free(e);
	}
}

static void test_literals(void **state)
{
	static const struct {
		const char *src;
		enum ev_mp_type type;
		const char *text; /* a str's text, or a number printed */
	} cases[] = {
		{"data.x == 5", EV_MP_UINT, "5"},
		{"data.x == -5", EV_MP_INT, "-5"},
		{"data.x == 1.5", EV_MP_FLOAT, "1.5"},
		{"data.x == 2e3", EV_MP_FLOAT, "2000"},
		{"data.x == 18446744073709551615", EV_MP_UINT,
		 "18446744073709551615"},
		{"data.x == 18446744073709551616", EV_MP_FLOAT, "1.84467e+19"},
		{"data.x == -9223372036854775809", EV_MP_FLOAT, "-9.22337e+18"},
		{"data.x == \"5\"", EV_MP_STR, "5"},
		{"data.x == '5'", EV_MP_STR, "5"},
		{"data.x == 05", EV_MP_STR, "05"},
		{"data.x == 1.", EV_MP_STR, "1."},
		{"data.x == Paris", EV_MP_STR, "Paris"},
		{"data.x == \"a \\\"b\\\" \\\\ c\"", EV_MP_STR, "a \"b\" \\ c"},
		{"data.x == 'it''s'", EV_MP_STR, "it"}, /* then an error */
		{"data.x == true", EV_MP_BOOL, "1"},
		{"data.x == null", EV_MP_NIL, ""},
		{"data.x == \"null\"", EV_MP_STR, "null"},
		{"type == 5", EV_MP_STR, "5"},
		{"key == null", EV_MP_STR, "null"},
		{"data.x contains 5", EV_MP_UINT, "5"},
		{"data.x like 5*", EV_MP_STR, "5*"},
	};
	struct ev_expr *e;
	struct ev_error err;
	const struct ev_mp_item *v;
	char got[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (ev_expr_compile(&e, cases[i].src, &err) != 0) {
			/* 'it''s': two strings side by side are two tokens */
			assert_string_equal(cases[i].src, "data.x == 'it''s'");
			assert_int_equal(err.column, 15);
			continue;
		}
		assert_int_equal(e->root->kind, EX_TEST);
		assert_int_equal(e->root->nlits, 1);
		v = &e->root->lits[0].v;
		if (v->type != cases[i].type)
			fail_msg("'%s': type %d, not %d", cases[i].src, v->type,
				 cases[i].type);
		switch (v->type) {
		case EV_MP_UINT:
			snprintf(got, sizeof(got), "%llu",
				 (unsigned long long)v->v.u);
			break;
		case EV_MP_INT:
			snprintf(got, sizeof(got), "%lld", (long long)v->v.i);
			break;
		case EV_MP_FLOAT:
			snprintf(got, sizeof(got), "%g", v->v.f);
			break;
		case EV_MP_BOOL:
			snprintf(got, sizeof(got), "%d", v->v.b);
			break;
		case EV_MP_STR:
			snprintf(got, sizeof(got), "%.*s", (int)v->n,
				 (const char *)v->p);
			break;
		default:
			got[0] = '\0';
		}
		if (strcmp(got, cases[i].text) != 0)
			fail_msg("'%s': '%s', not '%s'", cases[i].src, got,
				 cases[i].text);
		ev_expr_free(e);
	}
}

static void test_error_columns(void **state)
{
	static const struct {
		const char *src;
		size_t column;
		const char *starts;
	} cases[] = {
		{"", 1, "column 1: expected a condition"},
		{"commits > 1", 1, "column 1: 'commits' is neither"},
		{"data.x >> 1", 8, "column 8: unknown operator '>>'"},
		{"data.x == 1 x", 13, "column 13: unexpected 'x'"},
		{"data.x == 1e400", 11, "column 11: '1e400' is out of range"},
		{"data.x == -1e400", 11, "column 11: '-1e400' is out of range"},
		{"data.x == 1e-400", 11, "column 11: '1e-400' is out of range"},
		{"data.é == 1 or data.é >> 1", 23,
		 "column 23: unknown operator"},
		{"data.x =~ /(/", 13, "column 13: bad regex: missing closing"},
		{"(data.x == 1", 1, "column 1: this ( has no closing )"},
		{"data.x in [1,", 14, "column 14: expected a value"},
		{"not", 4, "column 4: expected a condition"},
	};
	struct ev_expr *e;
	struct ev_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ev_expr_compile(&e, cases[i].src, &err),
				 EV_EUSAGE);
		assert_null(e);
		if (err.column != cases[i].column ||
		    strncmp(err.msg, cases[i].starts,
			    strlen(cases[i].starts)) != 0)
			fail_msg("'%s': column %zu, '%s'", cases[i].src,
				 err.column, err.msg);
		/* the caret line ends the message */
		assert_non_null(strstr(err.msg, "\n  "));
		assert_int_equal(err.msg[strlen(err.msg) - 1], '^');
	}
}

static void test_type_precheck(void **state)
{
	static const struct {
		const char *src;
		int has_type, a, b; /* precheck of types A and B */
	} cases[] = {
		{"data.x == 1", 0, 1, 1},
		{"type == A", 1, 1, 0},
		{"type == A and data.x == 1", 1, 1, 0},
		{"data.x == 1 and (type in [A, C] and data.y exists)", 1, 1, 0},
		{"type == A or data.x == 1", 0, 1, 1},
		{"not type == A", 0, 1, 1},
		{"type like \"[AB]\" and type != B", 1, 1, 0},
		{"type =~ /^B$/", 1, 0, 1},
	};
	struct ev_str ta = {"A", 1}, tb = {"B", 1};
	struct ev_expr *e;
	struct ev_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (ev_expr_compile(&e, cases[i].src, &err) != 0)
			fail_msg("%s: %s", cases[i].src, err.msg);
		if (e->has_type != cases[i].has_type ||
		    ev_expr_precheck(e, &ta) != cases[i].a ||
		    ev_expr_precheck(e, &tb) != cases[i].b)
			fail_msg("'%s': has_type %d, A %d, B %d", cases[i].src,
				 e->has_type, ev_expr_precheck(e, &ta),
				 ev_expr_precheck(e, &tb));
		ev_expr_free(e);
	}
}

/* A record from one NDJSON line, kept in buf, and its decoded event. */
static void record(const char *line, struct ev_buf *buf, struct ev_event *ev)
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
	buf->len = 0;
	assert_int_equal(ev_buf_append(buf, rec, n), 0);
	ev_parser_free(ps);
	assert_int_equal(ev_event_decode(buf->p, buf->len, ev, &err), 0);
	ev->offset = 7;
}

/* On the stored record and on the decoded event, the same answer. */
static void test_record_agrees(void **state)
{
	static const char *const lines[] = {
		"{\"type\":\"A\",\"id\":\"i\",\"time\":\"2025-01-10T09:00:00Z\","
		"\"stream\":\"s-1\",\"key\":\"k\",\"version\":3,\"schema\":2,"
		"\"data\":{\"a\":1,\"b\":{\"c\":[1,\"x\"]},\"a\":2,\"s\":\"Paris\"},"
		"\"meta\":{\"u\":\"u-1\",\"n\":null}}",
		"{\"type\":\"B\",\"id\":\"j\",\"time\":\"2025-01-11T09:00:00Z\","
		"\"data\":[{\"a\":1},2]}",
		"{\"type\":\"C\",\"id\":\"k\",\"time\":\"2025-01-12T09:00:00Z\","
		"\"data\":\"text\"}",
		"{\"type\":\"D\",\"id\":\"l\",\"time\":\"2025-01-12T09:00:00Z\","
		"\"data_base64\":\"AAEC\"}",
	};
	static const char *const exprs[] = {
		"data.a == 2",
		"data.a == 1",
		"data.b.c.1 == x",
		"data.b.c contains 1",
		"data.0.a == 1",
		"data.1 == 2",
		"data == text",
		"data exists",
		"data.s =~ /^P/ and meta.u == u-1",
		"meta.n == null and meta.u exists",
		"meta.zz != null or stream like \"s-*\"",
		"key == k and version == 3 and schema == 2",
		"id in [i, k] or time > 2025-01-11T12:00:00Z",
		"not type == A",
	};
	struct ev_buf b = {0};
	struct ev_event ev;
	struct ev_expr *e;
	struct ev_error err;
	size_t i, j;
	int m, r;

	(void)state;
	for (i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		if (ev_expr_compile(&e, exprs[i], &err) != 0)
			fail_msg("%s: %s", exprs[i], err.msg);
		for (j = 0; j < sizeof(lines) / sizeof(lines[0]); j++) {
			record(lines[j], &b, &ev);
			r = ev_expr_match_record(e, b.p, b.len);
			m = ev_expr_match(e, &ev);
			if (r != m)
				fail_msg(
					"'%s' on line %zu: record %d, event %d",
					exprs[i], j, r, m);
		}
		ev_expr_free(e);
	}
	/* the last of duplicate keys wins, as in jq */
	assert_int_equal(ev_expr_compile(&e, "data.a == 2", &err), 0);
	record(lines[0], &b, &ev);
	assert_int_equal(ev_expr_match_record(e, b.p, b.len), 1);
	assert_int_equal(ev_expr_match(e, &ev), 1);
	ev_expr_free(e);
	/* a record holds no offset: the record cannot tell */
	assert_int_equal(ev_expr_compile(&e, "offset == 7", &err), 0);
	assert_int_equal(ev_expr_match_record(e, b.p, b.len), -1);
	assert_int_equal(ev_expr_match(e, &ev), 1);
	ev_expr_free(e);
	/* nor can a record that is not one */
	assert_int_equal(ev_expr_compile(&e, "data.a == 2", &err), 0);
	assert_int_equal(ev_expr_match_record(e, (const uint8_t *)"\x91\x01",
					      2),
			 -1);
	assert_int_equal(ev_expr_match_record(e, b.p, b.len / 2), -1);
	ev_expr_free(e);
	ev_buf_free(&b);
}

/* Hostile expressions: deep nesting and endless chains are refused
 * with a message, not by running out of stack (parsing, evaluating or
 * freeing the tree recurses). */
static char *repeat(const char *pre, const char *unit, size_t n,
		    const char *post)
{
	size_t a = strlen(pre), u = strlen(unit), b = strlen(post), i;
	char *s = malloc(a + u * n + b + 1);

	assert_non_null(s);
	memcpy(s, pre, a);
	for (i = 0; i < n; i++)
		memcpy(s + a + i * u, unit, u);
	memcpy(s + a + u * n, post, b + 1);
	return s;
}

static void test_limits(void **state)
{
	static const struct {
		const char *pre, *unit, *post, *msg;
		size_t ok, bad;
	} cases[] = {
		{"", "(", "data.a exists", "nested more than 64 levels", 64,
		 200000},
		{"", "not ", "data.a exists", "nested more than 64 levels", 64,
		 200000},
		{"", "data.a exists and ", "data.b exists",
		 "more than 1024 conditions", 1023, 300000},
		{"", "data.a exists or ", "data.b exists",
		 "more than 1024 conditions", 1023, 1024},
	};
	struct ev_expr *e;
	struct ev_error err;
	size_t i;
	char *src;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* the most that is allowed (closing what was opened) */
		src = repeat(cases[i].pre, cases[i].unit, cases[i].ok,
			     cases[i].post);
		if (cases[i].unit[0] == '(') {
			char *c = repeat(src, ")", cases[i].ok, "");

			free(src);
			src = c;
		}
		if (ev_expr_compile(&e, src, &err) != 0)
			fail_msg("%zu: %s", i, err.msg);
		ev_expr_free(e);
		free(src);
		src = repeat(cases[i].pre, cases[i].unit, cases[i].bad,
			     cases[i].post);
		assert_int_equal(ev_expr_compile(&e, src, &err), EV_EUSAGE);
		assert_null(e);
		if (strstr(err.msg, cases[i].msg) == NULL)
			fail_msg("%zu: %s", i, err.msg);
		free(src);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_error_columns),
		cmocka_unit_test(test_type_precheck),
		cmocka_unit_test(test_record_agrees),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests_name("expr", tests, NULL, NULL);
}
