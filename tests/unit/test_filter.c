/*
 * test_filter.c - struct ev_filter: type and stream globs, categories,
 * --where expressions and their errors, time ranges, and the
 * raw-record pre-check agreeing with the full match.
 */
#include "unit.h"

/* An event from one NDJSON line, kept in buf. */
static void event(const char *line, struct ev_buf *buf, struct ev_event *ev)
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
}

/* Does f take line?  The pre-check must never reject what matches. */
static int takes(struct ev_filter *f, const char *line)
{
	struct ev_buf b = {0};
	struct ev_event ev;
	int m, pre;

	event(line, &b, &ev);
	pre = ev_filter_precheck(f, b.p, b.len);
	m = ev_filter_match(f, &ev);
	if (m)
		assert_true(pre);
	ev_buf_free(&b);
	return m;
}

static const char e1[] =
	"{\"type\":\"PaymentAuthorized\",\"stream\":\"order-7\","
	"\"time\":\"2025-01-10T09:30:00Z\",\"data\":{\"amount\":"
	"2500,\"city\":\"Paris\",\"items\":[{\"sku\":\"A\"}]},"
	"\"meta\":{\"userId\":\"u-1\"}}";
static const char e2[] =
	"{\"type\":\"OrderPlaced\",\"stream\":\"order\","
	"\"time\":\"2025-01-11T00:00:00Z\",\"data\":{\"amount\":"
	"99.5}}";
static const char e3[] =
	"{\"type\":\"Ping\",\"time\":\"2025-01-12T00:00:00Z\"}";

static void test_empty_takes_all(void **state)
{
	struct ev_filter *f = ev_filter_new();

	(void)state;
	assert_true(ev_filter_is_empty(f));
	assert_false(ev_filter_needs_event(f));
	assert_true(ev_filter_only_streams(f));
	assert_true(takes(f, e1) && takes(f, e2) && takes(f, e3));
	ev_filter_free(f);
	ev_filter_free(NULL);
}

static void test_types_are_ored_kinds_anded(void **state)
{
	struct ev_filter *f = ev_filter_new();

	(void)state;
	assert_int_equal(ev_filter_add_type(f, "Payment*"), 0);
	assert_int_equal(ev_filter_add_type(f, "Ping"), 0);
	assert_false(ev_filter_needs_event(f));
	assert_true(takes(f, e1));
	assert_false(takes(f, e2));
	assert_true(takes(f, e3));
	assert_int_equal(ev_filter_add_stream(f, "order-*"), 0);
	assert_true(ev_filter_needs_event(f));
	assert_false(ev_filter_only_streams(f));
	assert_true(takes(f, e1));
	assert_false(takes(f, e3)); /* no stream */
	ev_filter_free(f);
}

static void test_category(void **state)
{
	struct ev_filter *f = ev_filter_new();
	struct ev_error err;

	(void)state;
	assert_int_equal(ev_filter_add_category(f, "order", &err), 0);
	assert_true(ev_filter_only_streams(f));
	assert_true(takes(f, e1)); /* order-7 */
	assert_true(takes(f, e2)); /* order itself */
	assert_false(takes(f, e3));
	assert_int_equal(ev_filter_add_category(f, "ord*", &err), EV_EUSAGE);
	assert_string_equal(err.msg, "'ord*' is a name, not a pattern");
	assert_int_equal(ev_filter_add_category(f, "", &err), EV_EUSAGE);
	assert_true(ev_stream_in_category("order-7", 7, "order"));
	assert_true(ev_stream_in_category("order", 5, "order"));
	assert_false(ev_stream_in_category("orders-7", 8, "order"));
	assert_false(ev_stream_in_category("ord", 3, "order"));
	ev_filter_free(f);
}

static void test_where_operators(void **state)
{
	static const struct {
		const char *expr;
		int e1, e2, e3;
	} cases[] = {
		{"data.amount == 2500", 1, 0, 0},
		{"data.amount != 2500", 0, 1, 1}, /* absent is not equal */
		{"data.amount < 100", 0, 1, 0},
		{"data.amount <= 99.5", 0, 1, 0},
		{"data.amount > 99.5", 1, 0, 0},
		{"data.amount >= 99.5", 1, 1, 0},
		{"data.amount>=2500", 1, 0, 0},
		{"data.amount exists", 1, 1, 0},
		{"data.city == Paris", 1, 0, 0},
		{"data.city == \"Paris\"", 1, 0, 0},
		{"data.items.0.sku == A", 1, 0, 0},
		{"meta.userId == u-1", 1, 0, 0},
		{"type == Ping", 0, 0, 1},
		{"stream == order", 0, 1, 0},
		{"time >= 2025-01-11", 0, 1, 1},
		{"time < \"2025-01-11T00:00:00Z\"", 1, 0, 0},
	};
	struct ev_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ev_filter *f = ev_filter_new();
		if (ev_filter_add_where(f, cases[i].expr, &err) != 0)
			fail_msg("%s: %s", cases[i].expr, err.msg);
		assert_true(ev_filter_needs_event(f));
		if (takes(f, e1) != cases[i].e1 ||
		    takes(f, e2) != cases[i].e2 || takes(f, e3) != cases[i].e3)
			fail_msg("'%s' matched %d %d %d, not %d %d %d",
				 cases[i].expr, takes(f, e1), takes(f, e2),
				 takes(f, e3), cases[i].e1, cases[i].e2,
				 cases[i].e3);
		ev_filter_free(f);
	}
}

static void test_where_errors(void **state)
{
	static const struct {
		const char *expr, *msg;
	} cases[] = {
		{"== 3", "column 1: expected a path such as data.amount\n"
			 "  == 3\n"
			 "  ^"},
		{"data.x ~ 3", "column 8: unknown operator '~': use ==, !=, <, "
			       "<=, >, >=, =~, in, like, contains or exists\n"
			       "  data.x ~ 3\n"
			       "         ^"},
		{"data.x exists 3",
		 "column 15: unexpected '3' after a complete condition: "
		 "expected and, or or the end\n"
		 "  data.x exists 3\n"
		 "                ^"},
		{"data.x ==", "column 10: expected a value\n"
			      "  data.x ==\n"
			      "           ^"},
		{"time > yesterday",
		 "column 8: 'yesterday' is not a time (RFC 3339, a date, or "
		 "-1h)\n"
		 "  time > yesterday\n"
		 "         ^"},
	};
	struct ev_filter *f = ev_filter_new();
	struct ev_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ev_filter_add_where(f, cases[i].expr, &err),
				 EV_EUSAGE);
		assert_string_equal(err.msg, cases[i].msg);
	}
	/* a failed condition leaves nothing behind */
	assert_true(ev_filter_is_empty(f));
	ev_filter_free(f);
}

static void test_time_range(void **state)
{
	struct ev_filter *f = ev_filter_new();
	ev_time_t a, b;

	(void)state;
	assert_int_equal(ev_time_parse("2025-01-11T00:00:00Z", 20, &a), 0);
	assert_int_equal(ev_time_parse("2025-01-11T12:00:00Z", 20, &b), 0);
	ev_filter_set_time(f, a, EV_TIME_NONE);
	assert_int_equal(ev_filter_since(f), a);
	assert_int_equal(ev_filter_until(f), EV_TIME_NONE);
	assert_false(ev_filter_is_empty(f));
	assert_false(ev_filter_only_streams(f));
	assert_false(takes(f, e1));
	assert_true(takes(f, e2)); /* at since: inside */
	assert_true(takes(f, e3));
	ev_filter_set_time(f, a, b);
	assert_true(takes(f, e2));
	assert_false(takes(f, e3));
	ev_filter_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_takes_all),
		cmocka_unit_test(test_types_are_ored_kinds_anded),
		cmocka_unit_test(test_category),
		cmocka_unit_test(test_where_operators),
		cmocka_unit_test(test_where_errors),
		cmocka_unit_test(test_time_range),
	};

	return cmocka_run_group_tests_name("filter", tests, NULL, NULL);
}
