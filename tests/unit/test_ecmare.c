/*
 * test_ecmare.c - lib/ecmare.c: ECMA-262 regular expressions (u flag) on
 * PCRE2, as JSON Schema `pattern` and the `regex` format use them.
 */
#include "unit.h"

#include "jschema_int.h"

/* 1 match, 0 no match, -2 the pattern does not compile */
static int search(const char *pat, const char *s)
{
	struct ev_ecmare *re;
	char why[200];
	int r;

	if (ev_ecmare_compile(pat, strlen(pat), &re, why, sizeof(why)) != 0)
		return -2;
	r = ev_ecmare_search(re, s, strlen(s));
	ev_ecmare_free(re);
	return r;
}

static void test_basic(void **state)
{
	(void)state;
	assert_int_equal(search("a+b", "xxaab"), 1);
	assert_int_equal(search("^a+b$", "xxaab"), 0);
	assert_int_equal(search("^abc$", "abc\n"), 0);
	assert_int_equal(search("(", ""), -2);
	assert_int_equal(ev_ecmare_valid("a(b", 3), 0);
	assert_int_equal(ev_ecmare_valid("a(b)", 4), 1);
}

static void test_match_limit(void **state)
{
	struct ev_ecmare *re;
	char why[200], s[64];
	const char *pat = "^(a+)+$";

	(void)state;
	memset(s, 'a', sizeof(s) - 2);
	s[sizeof(s) - 2] = 'b';
	s[sizeof(s) - 1] = '\0';
	assert_int_equal(ev_ecmare_compile(pat, strlen(pat), &re, why,
					   sizeof(why)),
			 0);
	assert_true(ev_ecmare_search(re, s, strlen(s)) < 0);
	ev_ecmare_free(re);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_match_limit),
	};

	return cmocka_run_group_tests_name("ecmare", tests, NULL, NULL);
}
