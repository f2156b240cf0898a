/*
 * test_projtest.c - what evproject --test compares: states as JSON
 * values (keys in any order, 1 equal to 1.0) and emitted events by the
 * keys the expected ones give, with an account of what differs.
 */
#include "unit.h"

static int states(const char *e, const char *g, int lua, struct ev_buf *d)
{
	struct ev_error err;

	d->len = 0;
	return ev_projtest_states(e, strlen(e), g, strlen(g), lua, d, &err);
}

static void test_states(void **state)
{
	struct ev_buf d = {0};
	struct ev_error err;
	const char *got = "[{\"partition\":\"a\",\"state\":{\"n\":1,\"x\":[1,"
			  "2]}},{\"partition\":7,\"state\":2.0}]";

	(void)state;
	assert_int_equal(states("{\"7\":2,\"a\":{\"x\":[1,2.0],\"n\":1}}", got,
				1, &d),
			 0);
	assert_int_equal(d.len, 0);
	assert_int_equal(states("{\"a\":{\"n\":2,\"x\":[1,2]},\"b\":1}", got, 1,
				&d),
			 1);
	ev_buf_putc(&d, '\0');
	assert_string_equal((char *)d.p,
			    "  partition a, expected: {\"n\":2,\"x\":[1,2]}\n"
			    "  partition a, got: {\"n\":1,\"x\":[1,2]}\n"
			    "  partition b, expected: 1\n"
			    "  partition b, got: (none)\n"
			    "  partition 7, not expected: 2.0\n");
	/* rows of folds: as they are, order included */
	assert_int_equal(states("[{\"count\":2}]", "[{\"count\":2.0}]", 0, &d),
			 0);
	assert_int_equal(states("[{\"count\":2}]", "[{\"count\":3}]", 0, &d),
			 1);
	assert_int_equal(states("[1,2]", "[2,1]", 0, &d), 1);
	/* not JSON */
	assert_int_equal(ev_projtest_states("{", 1, "[]", 2, 0, &d, &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "expect.json: "));
	assert_int_equal(ev_projtest_states("{} {}", 5, "[]", 2, 0, &d, &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "more than one JSON value"));
	assert_int_equal(ev_projtest_states("{}", 2, "{}", 2, 1, &d, &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "not a list of partitions"));
	ev_buf_free(&d);
}

static void test_emitted(void **state)
{
	struct ev_buf d = {0};
	struct ev_error err;
	const char *got =
		"{\"id\":\"x1\",\"type\":\"a.b\",\"time\":\"2026-01-01T00:00:00Z\","
		"\"data\":{\"n\":1}}\n"
		"{\"id\":\"x2\",\"type\":\"c\",\"data\":{}}\n";
	const char *exp1 = "{\"type\":\"a.b\",\"data\":{\"n\":1.0}}\n\n"
			   "{\"type\":\"c\",\"data\":{}}\n";
	const char *exp2 = "{\"type\":\"a.b\",\"id\":\"zz\"}\n";

	(void)state;
	assert_int_equal(ev_projtest_emitted(exp1, strlen(exp1), got,
					     strlen(got), &d, &err),
			 0);
	assert_int_equal(ev_projtest_emitted(exp2, strlen(exp2), got,
					     strlen(got), &d, &err),
			 1);
	ev_buf_putc(&d, '\0');
	assert_string_equal(
		(char *)d.p,
		"  emitted event 1, expected: {\"type\":\"a.b\",\"id\":\"zz\"}\n"
		"  emitted event 1, got: {\"id\":\"x1\",\"type\":\"a.b\","
		"\"time\":\"2026-01-01T00:00:00Z\",\"data\":{\"n\":1}}\n"
		"  emitted event 2, expected: (none)\n"
		"  emitted event 2, got: {\"id\":\"x2\",\"type\":\"c\",\"data\":{}}\n");
	assert_int_equal(ev_projtest_emitted("{\"a\":\n", 6, "", 0, &d, &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "expect-emitted.ndjson:1: "));
	ev_buf_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_emitted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
