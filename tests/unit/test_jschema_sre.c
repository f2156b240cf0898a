/*
 * test_jschema_sre.c - the validator's own matcher for simple anchored
 * patterns (js_sre_compile in jschema_compile.c, ev_jv_sre_match in
 * jschema_scalar.c) against ECMA-262 on PCRE2 (ecmare.c): the same
 * answer on every string, for patterns it takes and those it leaves to
 * PCRE2.
 */
#include "unit.h"

#include "../../lib/jschema_validate_int.h"

/* 1: the simple matcher must take it; 0: it must leave it to PCRE2 */
static const struct {
	const char *pat;
	int simple;
} pats[] = {
	{"^(order|account)-[0-9]+$", 1},
	{"^[0-9A-HJKMNP-TV-Z]{26}$", 1},
	{"^user-[0-9]+$", 1},
	{"^cus_[1-9][0-9]*$", 1},
	{"^SKU-[0-9]{5}$", 1},
	{"^a*b$", 1},
	{"^a*a$", 0},
	{"^[a-c]{2,3}x?$", -1},
	{"^x?$", -1},
	{"^\\d+\\.\\d{1,2}$", -1},
	{"^(ab|a)$", -1},
	{"^(ab|cd)e*f$", -1},
	{"^a{0,}b$", -1},
	{"^a{2,}$", -1},
	{"^[a-]b$", -1},
	{"^[-a]+$", -1},
	{"^\\w+@\\w+$", -1},
	{"^$", -1},
	{"^a?b?$", -1},
	{"^[A-Z][a-z]*$", -1},
	{"^(x|y|z)+$", -1},
	{"^a{3}$", -1},
	{"^[.]+$", -1},
	{"^\\.$", -1},
	{"^[^a]$", -1},
	{"^.$", -1},
	{"abc", 0},
	{"^ab$c", -1},
	{"^a+?$", -1},
	{"^[a-z]+[0-9]+$", -1},
	{"^[a-z]+[a-z0-9]$", -1},
	{"^(GET|POST|PUT)$", -1},
	{"^\\/\\.$", -1},
	{"^a|b$", -1},
	{"^\xc3\xa9$", -1},
	{"^v[0-9]+(\\.[0-9]+)?$", -1},
	{"^(a|b)c$", -1},
	{"^[0-9]*[a-f]+$", -1},
};

static void test_sre_against_pcre2(void **state)
{
	static const char alpha[] =
		"abcxyz019AZ_-./@ef\xc3\xa9GETPOSToruscdSKUf\n";
	struct ev_jschema_set *set;
	struct ev_error err;
	unsigned long checks = 0, simple = 0;
	size_t pi;

	(void)state;
	assert_int_equal(ev_jschema_set_new(&set, NULL, &err), 0);
	srand(1);
	for (pi = 0; pi < sizeof(pats) / sizeof(pats[0]); pi++) {
		const char *pat = pats[pi].pat;
		struct ev_ecmare *re;
		struct jsre *r;
		char why[200];
		int t;

		if (ev_ecmare_compile(pat, strlen(pat), &re, why,
				      sizeof(why)) != 0)
			fail_msg("'%s' does not compile: %s", pat, why);
		r = js_sre_compile(set, pat, strlen(pat));
		if (pats[pi].simple >= 0 && (r != NULL) != pats[pi].simple)
			fail_msg("'%s' %s by the simple matcher", pat,
				 r ? "taken" : "not taken");
		if (r == NULL) {
			ev_ecmare_free(re);
			continue;
		}
		simple++;
		for (t = 0; t < 20000; t++) {
			char s[40];
			int n = rand() % 12, i, a, b;

			for (i = 0; i < n; i++)
				s[i] = alpha[rand() % (sizeof(alpha) - 1)];
			/* strings made of the pattern's own characters */
			if (t % 3 == 0)
				for (i = 0; i < n; i++)
					s[i] = pat[rand() % strlen(pat)];
			if (t % 7 == 0) {
				n = 26;
				for (i = 0; i < n; i++)
					s[i] = "0123456789ABCDEFGHIJKLMNOPQ"
					       "RSTUVWXYZ"[rand() % 36];
			}
			a = ev_ecmare_search(re, s, (size_t)n) > 0;
			b = ev_jv_sre_match(r, (const uint8_t *)s, (size_t)n);
			checks++;
			if (a != b)
				fail_msg("'%s' on '%.*s': PCRE2 %d, simple %d",
					 pat, n, s, a, b);
		}
		ev_ecmare_free(re);
	}
	print_message("# %lu patterns taken by the simple matcher, %lu "
		      "strings, no difference\n",
		      simple, checks);
	assert_true(simple >= 6);
	ev_jschema_set_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sre_against_pcre2),
	};

	return cmocka_run_group_tests_name("jschema_sre", tests, NULL, NULL);
}
