/*
 * test_ecmare.c - lib/ecmare.c: ECMA-262 regular expressions (u flag) on
 * PCRE2, as JSON Schema `pattern`, `patternProperties` and the `regex`
 * format use them: the ECMA meaning of . ^ $ \d \w \s \b, escapes,
 * properties, groups and references; Unicode-mode syntax errors; the
 * official suite's regex tests; hostile patterns; threads; the cost of a
 * search.
 */
#include <pthread.h>
#include <time.h>

#include "unit.h"

#include "jschema_int.h"

/* what a case expects */
#define NOMATCH 0
#define MATCH 1
#define SYNTAX (-2)	 /* not ECMA-262 (u flag): compile and valid fail */
#define UNSUPPORTED (-3) /* valid ECMA-262 that PCRE2 cannot run */

struct rcase {
	const char *pat, *s;
	int want;
};

/* 1 match, 0 no match, SYNTAX, UNSUPPORTED; checks that valid() agrees */
static int run(const char *pat, size_t pn, const char *s, size_t sn)
{
	struct ev_ecmare *re;
	char why[200];
	int r, v = ev_ecmare_valid(pat, pn);

	why[0] = '\0';
	r = ev_ecmare_compile(pat, pn, &re, why, sizeof(why));
	if (r != 0) {
		assert_int_equal(r, EV_EDATA);
		assert_null(re);
		if (strncmp(why, "at offset ", 10) != 0)
			fail_msg("'%s': message '%s'", pat, why);
		return v ? UNSUPPORTED : SYNTAX;
	}
	if (!v)
		fail_msg("'%s' compiles but is not valid", pat);
	r = ev_ecmare_search(re, s, sn);
	ev_ecmare_free(re);
	return r;
}

static int search(const char *pat, const char *s)
{
	return run(pat, strlen(pat), s, strlen(s));
}

static void check_cases(const struct rcase *c, size_t n)
{
	size_t i;
	int bad = 0, got;

	for (i = 0; i < n; i++) {
		got = search(c[i].pat, c[i].s);
		if (got != c[i].want) {
			print_error("/%s/ on '%s': got %d, want %d\n", c[i].pat,
				    c[i].s, got, c[i].want);
			bad++;
		}
	}
	if (bad)
		fail_msg("%d of %zu cases went wrong", bad, n);
}

#define CHECK(a) check_cases(a, sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------- the ECMA meaning */

static void test_classes_are_ecma(void **state)
{
	static const struct rcase c[] = {
		/* \d \w \b: ASCII only, even in Unicode mode */
		{"^\\d$", "7", MATCH},
		{"^\\d$", "\xd9\xa3", NOMATCH}, /* ARABIC-INDIC DIGIT THREE */
		{"^\\D$", "\xd9\xa3", MATCH},
		{"^\\w$", "_", MATCH},
		{"^\\w$", "\xc3\xa9", NOMATCH}, /* é */
		{"^\\W$", "\xc3\xa9", MATCH},
		{"a\\b", "a\xc3\xa9", MATCH},
		{"a\\B", "a\xc3\xa9", NOMATCH},
		{"\\b", "\xc3\xa9", NOMATCH},
		{"^\\p{digit}+$", "\xd9\xa3\xd9\xa4", MATCH},
		/* \s: ECMA WhiteSpace and LineTerminator */
		{"^\\s$", " ", MATCH},
		{"^\\s$", "\t", MATCH},
		{"^\\s$", "\v", MATCH},
		{"^\\s$", "\f", MATCH},
		{"^\\s$", "\n", MATCH},
		{"^\\s$", "\r", MATCH},
		{"^\\s$", "\xc2\xa0", MATCH},	    /* NBSP */
		{"^\\s$", "\xef\xbb\xbf", MATCH},   /* ZWNBSP */
		{"^\\s$", "\xe2\x80\xa8", MATCH},   /* LS */
		{"^\\s$", "\xe2\x80\xa9", MATCH},   /* PS */
		{"^\\s$", "\xe1\x9a\x80", MATCH},   /* OGHAM SPACE MARK, Zs */
		{"^\\s$", "\xe2\x80\x8a", MATCH},   /* HAIR SPACE, Zs */
		{"^\\s$", "\xe3\x80\x80", MATCH},   /* IDEOGRAPHIC SPACE */
		{"^\\s$", "\xc2\x85", NOMATCH},	    /* NEL is not */
		{"^\\s$", "\xe2\x80\x8b", NOMATCH}, /* ZWSP is not */
		{"^\\S$", "\xc2\xa0", NOMATCH},
		{"^\\S$", "\xc2\x85", MATCH},
		{"^[\\S]$", "x", MATCH},
		{"^[^\\s]$", "\xef\xbb\xbf", NOMATCH},
		{"^[\\s\\d]+$", "1 2\xc2\xa0", MATCH},
		{"^[^\\S\\d]$", " ", MATCH},
		{"^[^\\S\\d]$", "1", NOMATCH},
		/* . takes any code point but the line terminators */
		{"^.$", "a", MATCH},
		{"^.$", "\n", NOMATCH},
		{"^.$", "\r", NOMATCH},
		{"^.$", "\xe2\x80\xa8", NOMATCH},
		{"^.$", "\xe2\x80\xa9", NOMATCH},
		{"^.$", "\xc2\x85", MATCH},
		{"^.$", "\xf0\x9f\x98\x80", MATCH}, /* one code point */
		{"^..$", "\xf0\x9f\x98\x80", NOMATCH},
		/* ^ and $ at the ends only */
		{"^abc$", "abc", MATCH},
		{"^abc$", "abc\n", NOMATCH},
		{"^b", "a\nb", NOMATCH},
		{"a$", "a\nb", NOMATCH},
		{"abc", "xabcx", MATCH},
		/* case matters */
		{"a", "A", NOMATCH},
		/* PCRE2 syntax is literal, or an error */
		{"^[:alpha:]$", "p", MATCH},
		{"^[:alpha:]$", "b", NOMATCH},
		{"^a b#c$", "a b#c", MATCH},
		{"^\\$\\^\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\/\\\\$",
		 "$^.*+?()[]{}|/\\", MATCH},
	};

	(void)state;
	CHECK(c);
}

static void test_escapes(void **state)
{
	static const struct rcase c[] = {
		{"^\\u0041$", "A", MATCH},
		{"^\\u{41}$", "A", MATCH},
		{"^\\u{0000041}$", "A", MATCH},
		{"^\\u{1F600}$", "\xf0\x9f\x98\x80", MATCH},
		{"^\\uD83D\\uDE00$", "\xf0\x9f\x98\x80", MATCH},
		{"^[\\uD83D\\uDE00]$", "\xf0\x9f\x98\x80", MATCH},
		{"\\uD83D", "\xf0\x9f\x98\x80", NOMATCH}, /* no half pairs */
		{"[\\uD800-\\uDFFF]", "\xf0\x9f\x98\x80", NOMATCH},
		{"^[^\\uD800-\\uDFFF]$", "\xf0\x9f\x98\x80", MATCH},
		{"^[\xf0\x9f\x98\x80-\xf0\x9f\x98\x82]$", "\xf0\x9f\x98\x81",
		 MATCH},
		{"^\xf0\x9f\x90\xb2*$", "\xf0\x9f\x90\xb2\xf0\x9f\x90\xb2",
		 MATCH},
		{"^\\x41$", "A", MATCH},
		{"^\\cJ$", "\n", MATCH},
		{"^\\cj$", "\n", MATCH},
		{"^\\t\\n\\v\\f\\r$", "\t\n\v\f\r", MATCH},
		{"^[\\b]$", "\b", MATCH},
		{"^[\\-]$", "-", MATCH},
		{"^\\0$", "", NOMATCH},
		{"^\\/$", "/", MATCH},
		{"\\u{110000}", "", SYNTAX},
		{"\\u{}", "", SYNTAX},
		{"\\u{41", "", SYNTAX},
		{"\\u12", "", SYNTAX},
		{"\\x4", "", SYNTAX},
		{"\\x{41}", "", SYNTAX},
		{"\\c1", "", SYNTAX},
		{"\\c", "", SYNTAX},
		{"[\\c_]", "", SYNTAX},
		{"\\00", "", SYNTAX},
		{"\\01", "", SYNTAX},
		{"\\", "", SYNTAX},
		/* identity escapes: only syntax characters and / */
		{"\\a", "", SYNTAX},
		{"\\e", "", SYNTAX},
		{"\\z", "", SYNTAX},
		{"\\Z", "", SYNTAX},
		{"\\A", "", SYNTAX},
		{"\\G", "", SYNTAX},
		{"\\K", "", SYNTAX},
		{"\\Q", "", SYNTAX},
		{"\\E", "", SYNTAX},
		{"\\h", "", SYNTAX},
		{"\\R", "", SYNTAX},
		{"\\X", "", SYNTAX},
		{"\\N", "", SYNTAX},
		{"\\g1", "", SYNTAX},
		{"\\-", "", SYNTAX},
		{"\\_", "", SYNTAX},
		{"\\ ", "", SYNTAX},
		{"\\\xc3\xa9", "", SYNTAX},
		{"[\\a]", "", SYNTAX},
		{"[\\1]", "", SYNTAX},
		{"[\\B]", "", SYNTAX},
		{"\\8", "", SYNTAX},
	};
	const char nul[] = "a\\0b";

	(void)state;
	CHECK(c);
	/* a NUL in the subject, and one in the pattern */
	assert_int_equal(run(nul, 4, "a\0b", 3), MATCH);
	assert_int_equal(run("a\0b", 3, "xa\0b", 4), MATCH);
	assert_int_equal(run("a\0b", 3, "ab", 2), NOMATCH);
}

static void test_properties(void **state)
{
	static const struct rcase c[] = {
		{"^\\p{Lu}$", "\xc3\x89", MATCH}, /* É */
		{"^\\p{Lu}$", "\xc3\xa9", NOMATCH},
		{"^\\p{L}+$", "\xc3\xa9t\xc3\xa9", MATCH},
		{"^\\p{Letter}+$", "\xce\xb1\xce\xb2", MATCH},
		{"^\\p{gc=Lu}$", "A", MATCH},
		{"^\\p{General_Category=Uppercase_Letter}$", "A", MATCH},
		{"^\\p{LC}$", "a", MATCH},
		{"^\\p{Cased_Letter}$", "\xca\xb0", NOMATCH}, /* Lm */
		{"^\\P{L}$", "1", MATCH},
		{"^[\\P{L}]$", "a", NOMATCH},
		{"^[^\\P{L}]$", "a", MATCH},
		{"^\\p{Script=Greek}$", "\xce\xb1", MATCH},
		{"^\\p{sc=Grek}$", "a", NOMATCH},
		{"^\\p{scx=Latn}$", "a", MATCH},
		{"^\\p{Script_Extensions=Latin}$", "a", MATCH},
		{"^\\p{ASCII}+$", "az~", MATCH},
		{"^\\p{ASCII}$", "\xc3\xa9", NOMATCH},
		{"^\\P{ASCII}$", "\xc3\xa9", MATCH},
		{"^\\p{Any}$", "\n", MATCH},
		{"\\P{Any}", "abc", NOMATCH},
		{"^\\p{Assigned}$", "a", MATCH},
		{"^\\p{Alphabetic}$", "a", MATCH},
		{"^\\p{White_Space}$", "\xc2\x85", MATCH},
		{"^\\p{Emoji_Presentation}$", "\xf0\x9f\x98\x80", MATCH},
		{"^\\p{ID_Start}$", "1", NOMATCH},
		/* exact names only, no PCRE2 loose matching or extensions */
		{"\\p{letter}", "", SYNTAX},
		{"\\p{Lowercase Letter}", "", SYNTAX},
		{"\\p{lu}", "", SYNTAX},
		{"\\p{Latin}", "", SYNTAX},
		{"\\p{Script=latin}", "", SYNTAX},
		{"\\p{sc:Latin}", "", SYNTAX},
		{"\\p{Xan}", "", SYNTAX},
		{"\\p{L&}", "", SYNTAX},
		{"\\p{^L}", "", SYNTAX},
		{"\\pL", "", SYNTAX},
		{"\\p{L", "", SYNTAX},
		{"\\p{}", "", SYNTAX},
		{"\\p", "", SYNTAX},
		{"\\p{=L}", "", SYNTAX},
		{"\\p{gc=}", "", SYNTAX},
		{"\\p{gc=L=L}", "", SYNTAX},
		{"\\p{Basic_Emoji}", "", SYNTAX}, /* v flag only */
		{"\\p{Bidi_Class=L}", "", SYNTAX},
		{"[\\p{L}-z]", "", SYNTAX},
	};

	(void)state;
	CHECK(c);
}

static void test_groups_and_references(void **state)
{
	static const struct rcase c[] = {
		{"^(?<year>\\d{4})-\\k<year>$", "2020-2020", MATCH},
		{"^(?<year>\\d{4})-\\k<year>$", "2020-2021", NOMATCH},
		{"^\\k<a>(?<a>x)$", "x", MATCH}, /* forward: empty */
		{"^(?<a\\u0062>x)\\k<ab>$", "xx", MATCH},
		{"^(?<\xc3\xa9>x)\\k<\xc3\xa9>$", "xx", MATCH},
		{"^(?<$_1>x)\\k<$_1>$", "xx", MATCH},
		{"(?<a>x)\\k<b>", "", SYNTAX},
		{"(?<a>x)(?<a>y)", "", SYNTAX},
		{"(?<1a>x)", "", SYNTAX},
		{"(?<>x)", "", SYNTAX},
		{"(?<a b>x)", "", SYNTAX},
		{"\\k<a>", "", SYNTAX},
		{"\\k", "", SYNTAX},
		{"(?<a>x)\\k", "", SYNTAX},
		{"(?P<n>x)", "", SYNTAX},
		{"(?P=n)", "", SYNTAX},
		{"(?'n'x)", "", SYNTAX},
		{"^(a)\\1$", "aa", MATCH},
		{"^(a)\\1$", "ab", NOMATCH},
		{"^\\1(a)$", "a", MATCH},
		{"^(?:(a)|b)\\1$", "b", MATCH}, /* unset: empty */
		{"^(a\\1)$", "a", MATCH},	/* inside itself: empty */
		{"^(a\\1){2}$", "aa", MATCH},
		{"\\1{1,2}a(b)", "ab",
		 MATCH}, /* PCRE2 10.42 JIT: see backref() */
		{"\\k<n>+?a(?<n>b)", "ab", MATCH},
		{"^(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\\10$", "abcdefghijj", MATCH},
		{"(a)\\2", "", SYNTAX},
		{"\\2(a)", "", SYNTAX},
		{"(a)\\10", "", SYNTAX},
		{"^(?:ab)+$", "abab", MATCH},
		{"^(|a)+$", "aa", MATCH},
		{"^()$", "", MATCH},
		/* lookaround */
		{"^(?=a)\\w+$", "abc", MATCH},
		{"^(?!a)\\w+$", "abc", NOMATCH},
		{"(?<=\\$)\\d+", "$12", MATCH},
		{"(?<=\\$)\\d+", "12", NOMATCH},
		{"(?<!a)b", "ab", NOMATCH},
		{"(?<!a)b", "cb", MATCH},
		{"(?<=ab|c)d", "cd", MATCH},
		{"(?<=a+)b", "aab",
		 UNSUPPORTED}, /* PCRE2 10.42: fixed length */
		{"(?=a)*", "", SYNTAX},
		{"(?!a){2}", "", SYNTAX},
		{"(?<=a)?", "", SYNTAX},
		{"^*", "", SYNTAX},
		{"$+", "", SYNTAX},
		{"\\b*", "", SYNTAX},
		{"\\B{1}", "", SYNTAX},
		/* other PCRE2 groups */
		{"(?:a)", "a", MATCH},
		{"(?#x)a", "", SYNTAX},
		{"(?i)a", "", SYNTAX},
		{"(?i:a)", "", SYNTAX},
		{"(?ims)abc", "", SYNTAX},
		{"(?>a)", "", SYNTAX},
		{"(?|a)", "", SYNTAX},
		{"(*ACCEPT)", "", SYNTAX},
		{"(?R)", "", SYNTAX},
		{"(a", "", SYNTAX},
		{"a)", "", SYNTAX},
		{")", "", SYNTAX},
		{"(?", "", SYNTAX},
		{"(?<", "", SYNTAX},
	};

	(void)state;
	CHECK(c);
}

static void test_quantifiers_and_classes(void **state)
{
	static const struct rcase c[] = {
		{"^a{2}$", "aa", MATCH},
		{"^a{2,}$", "aaaa", MATCH},
		{"^a{2,3}$", "aaaa", NOMATCH},
		{"^a{0}$", "", MATCH},
		{"^a+?$", "aa", MATCH},
		{"^a{1,2}?b$", "aab", MATCH},
		{"^a{65535}$", "a", NOMATCH},
		{"a{70000}", "", UNSUPPORTED}, /* PCRE2's largest count */
		{"a{1,99999999999999999999}", "", UNSUPPORTED},
		{"x{2,1}", "", SYNTAX},
		{"a**", "", SYNTAX},
		{"a*+", "", SYNTAX},
		{"a++", "", SYNTAX},
		{"a?+", "", SYNTAX},
		{"a{2}{3}", "", SYNTAX},
		{"a{2}*", "", SYNTAX},
		{"*", "", SYNTAX},
		{"+a", "", SYNTAX},
		{"?", "", SYNTAX},
		{"a|*", "", SYNTAX},
		{"(*)", "", SYNTAX},
		/* lone brackets are errors with the u flag */
		{"{", "", SYNTAX},
		{"a{", "", SYNTAX},
		{"a{1", "", SYNTAX},
		{"a{1,", "", SYNTAX},
		{"a{,2}", "", SYNTAX},
		{"a{x}", "", SYNTAX},
		{"{2}", "", SYNTAX},
		{"}", "", SYNTAX},
		{"a}", "", SYNTAX},
		{"]", "", SYNTAX},
		{"[[:alpha:]]", "", SYNTAX},
		/* classes */
		{"^[a-c]+$", "abc", MATCH},
		{"^[a-]$", "-", MATCH},
		{"^[-a]$", "-", MATCH},
		{"^[a-c-e]$", "-", MATCH},
		{"^[a-c-e]$", "d", NOMATCH},
		{"^[--0]$", "/", MATCH},
		{"^[^a]$", "\n", MATCH},
		{"^[]$", "", NOMATCH},
		{"a[]", "a", NOMATCH},
		{"^[^]$", "\n", MATCH},
		{"^[\\]]$", "]", MATCH},
		{"^[\\d-]$", "-", MATCH},
		{"^[\\w.]+$", "a.b", MATCH},
		{"^[\\^]$", "^", MATCH},
		{"^[a^]$", "^", MATCH},
		{"[z-a]", "", SYNTAX},
		{"[\\d-z]", "", SYNTAX},
		{"[a-\\d]", "", SYNTAX},
		{"[\\s-\\d]", "", SYNTAX},
		{"[a", "", SYNTAX},
		{"[\\", "", SYNTAX},
		{"[a-", "", SYNTAX},
		{"^[a|b]$", "|", MATCH},
		{"^a|b$", "xa", NOMATCH},
		{"^a|b$", "ax", MATCH},
		{"|", "x", MATCH},
	};

	(void)state;
	/* "[]]": ECMA reads [] and then ], a lone bracket: a syntax error */
	assert_int_equal(search("[]]", ""), SYNTAX);
	CHECK(c);
}

static void test_messages(void **state)
{
	struct ev_ecmare *re = (struct ev_ecmare *)1;
	char why[200];

	(void)state;
	assert_int_equal(ev_ecmare_compile("ab(c", 4, &re, why, sizeof(why)),
			 EV_EDATA);
	assert_null(re);
	assert_string_equal(why, "at offset 2: unterminated group");
	ev_ecmare_compile("ab\\a", 4, &re, why, sizeof(why));
	assert_string_equal(why, "at offset 2: invalid escape \\a");
	ev_ecmare_compile("a\\\n", 3, &re, why, sizeof(why));
	assert_string_equal(why, "at offset 1: invalid escape");
	ev_ecmare_compile("x(?<=a+)", 8, &re, why, sizeof(why));
	assert_string_equal(why, "at offset 1: not supported by PCRE2: "
				 "lookbehind assertion is not fixed length");
	ev_ecmare_compile("a{99999}", 8, &re, why, sizeof(why));
	assert_string_equal(why, "at offset 1: not supported: a repeat "
				 "count above 65535 (a PCRE2 limit)");
	ev_ecmare_compile("a\xff", 2, &re, why, sizeof(why));
	assert_string_equal(why, "at offset 1: not valid UTF-8");
	/* no room for a message is fine */
	assert_int_equal(ev_ecmare_compile("(", 1, &re, NULL, 0), EV_EDATA);
	assert_int_equal(ev_ecmare_compile("(", 1, &re, why, 1), EV_EDATA);
	assert_string_equal(why, "");
	ev_ecmare_free(NULL);
}

static void test_nesting(void **state)
{
	char pat[2 * 300 + 2], s[2];
	int d;

	(void)state;
	s[0] = 'a';
	s[1] = '\0';
	for (d = 1; d <= 300; d += 299) {
		memset(pat, '(', (size_t)d);
		pat[d] = 'a';
		memset(pat + d + 1, ')', (size_t)d);
		pat[2 * d + 1] = '\0';
		assert_int_equal(search(pat, s), d <= 200 ? MATCH : SYNTAX);
	}
	memset(pat, '(', 200);
	strcpy(pat + 200, "?:a");
	assert_int_equal(search(pat, s), SYNTAX); /* unterminated */
}

/* a search that would take forever ends with an error */
static void test_match_limit(void **state)
{
	struct ev_ecmare *re;
	char why[200], s[64];
	const char *pats[] = {"^(a+)+$", "^(a|a)*$", "^(a|aa)+$",
			      "^(\\w+\\s?)*$"};
	size_t i;
	struct timespec t0, t1;

	(void)state;
	memset(s, 'a', sizeof(s) - 2);
	s[sizeof(s) - 2] = '!';
	s[sizeof(s) - 1] = '\0';
	for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		assert_int_equal(ev_ecmare_compile(pats[i], strlen(pats[i]),
						   &re, why, sizeof(why)),
				 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_true(ev_ecmare_search(re, s, strlen(s)) < 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_true(t1.tv_sec - t0.tv_sec < 2);
		ev_ecmare_free(re);
	}
}

/* a subject that is not UTF-8 (a msgpack str can hold anything) */
static void test_invalid_subject(void **state)
{
	(void)state;
	assert_int_equal(run("^.$", 3, "\xff", 1), NOMATCH);
	assert_int_equal(run("b", 1,
			     "a\xff\xfe"
			     "b",
			     4),
			 MATCH);
	assert_int_equal(run("^a", 2, "a\xc3", 2), MATCH);
}

/* ------------------------------------------------------- hostile patterns */

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* random bytes, and random strings of regex tokens: never a crash, and
 * compile and valid agree */
static void test_fuzz(void **state)
{
	static const char *const toks[] = {
		"a",	"(",	  ")",	    "(?:",   "(?=",	 "(?<=",
		"(?<!", "(?<n>",  "\\k<n>", "\\1",   "[",	 "]",
		"[^",	"-",	  "*",	    "+",     "?",	 "{2}",
		"{1,",	"{",	  "}",	    "|",     "\\",	 "\\u",
		"\\u{", "D83D",	  "\\x",    "\\c",   "\\p{",	 "L}",
		"\\P{", "Script", "=",	    "Greek", "\\d",	 "\\S",
		"\\b",	".",	  "^",	    "$",     "\xf0\x9f", "\x98\x80",
		"\xc3", "\0",	  "\\0",    "0",     "9",	 "<",
		">",	",",	  "\\-",    "\\]",   "\\uDE00",	 "}",
	};
	static const char alpha[] =
		"()[]{}\\?*+|^$.-<>=!:,upPkdx0123456789aDEF";
	char pat[256];
	struct ev_ecmare *re;
	char why[200];
	size_t n, j;
	int i, r, v;

	(void)state;
	for (i = 0; i < 40000; i++) {
		n = 0;
		if (i % 2 == 0) {
			n = next_rand() % 40;
			for (j = 0; j < n; j++)
				pat[j] =
					(char)(i % 4 == 0
						       ? next_rand()
						       : (uint64_t)alpha
								 [next_rand() %
								  (sizeof(alpha) -
								   1)]);
		} else {
			size_t k = next_rand() % 12;
			for (j = 0; j < k; j++) {
				const char *t =
					toks[next_rand() %
					     (sizeof(toks) / sizeof(toks[0]))];
				size_t tl = t[0] ? strlen(t) : 1;
				memcpy(pat + n, t, tl);
				n += tl;
			}
		}
		v = ev_ecmare_valid(pat, n);
		r = ev_ecmare_compile(pat, n, &re, why, sizeof(why));
		if (r == 0) {
			assert_int_equal(v, 1);
			r = ev_ecmare_search(re, pat, n);
			assert_true(r == 0 || r == 1 || r == EV_ERR);
			ev_ecmare_free(re);
		} else {
			assert_int_equal(r, EV_EDATA);
		}
	}
}

/* ---------------------------------------------------------------- threads */

struct thr {
	const struct ev_ecmare *re;
	int bad;
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	char s[32];
	int i;

	for (i = 0; i < 20000; i++) {
		int n = snprintf(s, sizeof(s), "order-%d", i);
		if (ev_ecmare_search(t->re, s, (size_t)n) != 1 ||
		    ev_ecmare_search(t->re, "Order 1", 7) != 0)
			t->bad++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct ev_ecmare *re;
	struct thr t[4];
	pthread_t th[4];
	char why[200];
	int i;

	(void)state;
	assert_int_equal(ev_ecmare_compile("^[a-z]+-\\d+$", 12, &re, why,
					   sizeof(why)),
			 0);
	for (i = 0; i < 4; i++) {
		t[i].re = re;
		t[i].bad = 0;
		assert_int_equal(pthread_create(&th[i], NULL, thread_main,
						&t[i]),
				 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].bad, 0);
	}
	ev_ecmare_free(re);
}

/* the cost of one search on a short string, as a TAP comment */
static void test_search_cost(void **state)
{
	static const char *const pats[] = {"^[a-z]+-\\d+$", "\\p{L}",
					   "^\\S+@\\S+$"};
	struct ev_ecmare *re;
	struct timespec t0, t1;
	char why[200];
	size_t i;
	int k, hits = 0;
	double ns;

	(void)state;
	for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		assert_int_equal(ev_ecmare_compile(pats[i], strlen(pats[i]),
						   &re, why, sizeof(why)),
				 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (k = 0; k < 200000; k++)
			hits += ev_ecmare_search(re, "order-12345", 11);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
		      (double)(t1.tv_nsec - t0.tv_nsec)) /
		     200000.0;
		print_message("# search /%s/ on \"order-12345\": %.0f ns\n",
			      pats[i], ns);
		ev_ecmare_free(re);
	}
	assert_int_equal(hits, 400000);
}

/* ------------------------------------------------------------- the suite */

/*
 * The official JSON-Schema-Test-Suite's regex tests, through a tiny
 * evaluator of the keywords those schemas use (pattern, format: regex,
 * patternProperties, additionalProperties, type, maximum).  A schema with
 * any other keyword is skipped and counted.
 */

static int mp_str_eq(const struct ev_mp_item *it, const char *s)
{
	return it->type == EV_MP_STR && it->n == strlen(s) &&
	       memcmp(it->p, s, it->n) == 0;
}

static int mp_skip(const uint8_t **p, const uint8_t *end)
{
	return ev_mp_skip(p, end, 0);
}

/* a JSON Schema type name against an instance item */
static int type_ok(const struct ev_mp_item *ty, const struct ev_mp_item *d)
{
	if (mp_str_eq(ty, "string"))
		return d->type == EV_MP_STR;
	if (mp_str_eq(ty, "object"))
		return d->type == EV_MP_MAP;
	if (mp_str_eq(ty, "array"))
		return d->type == EV_MP_ARRAY;
	if (mp_str_eq(ty, "null"))
		return d->type == EV_MP_NIL;
	if (mp_str_eq(ty, "boolean"))
		return d->type == EV_MP_BOOL;
	if (mp_str_eq(ty, "number"))
		return d->type == EV_MP_INT || d->type == EV_MP_UINT ||
		       d->type == EV_MP_FLOAT;
	if (mp_str_eq(ty, "integer"))
		return d->type == EV_MP_INT || d->type == EV_MP_UINT ||
		       (d->type == EV_MP_FLOAT &&
			d->v.f == (double)(int64_t)d->v.f);
	return -1;
}

static double num(const struct ev_mp_item *it)
{
	return it->type == EV_MP_FLOAT ? it->v.f
	       : it->type == EV_MP_INT ? (double)it->v.i
				       : (double)it->v.u;
}

static int is_num(const struct ev_mp_item *it)
{
	return it->type == EV_MP_INT || it->type == EV_MP_UINT ||
	       it->type == EV_MP_FLOAT;
}

/* does the str item s match the pattern in the str item pat?  1, 0, -1 */
static int pat_match(const struct ev_mp_item *pat, const uint8_t *s, size_t n)
{
	struct ev_ecmare *re;
	char why[200];
	int r;

	if (ev_ecmare_compile((const char *)pat->p, pat->n, &re, why,
			      sizeof(why)) != 0) {
		print_message("# pattern '%.*s': %s\n", (int)pat->n, pat->p,
			      why);
		return -1;
	}
	r = ev_ecmare_search(re, (const char *)s, n);
	ev_ecmare_free(re);
	return r;
}

/* 1 valid, 0 invalid, -1 the schema uses something this cannot do */
static int eval(const uint8_t *sc, const uint8_t *send, const uint8_t *d,
		const uint8_t *dend)
{
	struct ev_mp_item s, k, v, di, dk;
	const uint8_t *p = sc, *dp, *addl = NULL, *pp_at = NULL;
	uint32_t i, j;
	int ok = 1, r;

	if (ev_mp_read(&p, send, &s) != 0)
		return -1;
	if (s.type == EV_MP_BOOL)
		return s.v.b;
	if (s.type != EV_MP_MAP)
		return -1;
	dp = d;
	if (ev_mp_read(&dp, dend, &di) != 0)
		return -1;
	for (i = 0; i < s.n; i++) {
		const uint8_t *vstart;
		if (ev_mp_read(&p, send, &k) != 0 || k.type != EV_MP_STR)
			return -1;
		vstart = p;
		if (ev_mp_read(&p, send, &v) != 0)
			return -1;
		if (mp_str_eq(&k, "$schema")) {
		} else if (mp_str_eq(&k, "type")) {
			if ((r = type_ok(&v, &di)) < 0)
				return -1;
			ok &= r;
		} else if (mp_str_eq(&k, "pattern")) {
			if (v.type != EV_MP_STR)
				return -1;
			if (di.type == EV_MP_STR) {
				if ((r = pat_match(&v, di.p, di.n)) < 0)
					return -1;
				ok &= r;
			}
		} else if (mp_str_eq(&k, "format")) {
			if (!mp_str_eq(&v, "regex"))
				return -1;
			if (di.type == EV_MP_STR)
				ok &= ev_ecmare_valid((const char *)di.p, di.n);
		} else if (mp_str_eq(&k, "maximum")) {
			if (!is_num(&v))
				return -1;
			if (is_num(&di))
				ok &= num(&di) <= num(&v);
		} else if (mp_str_eq(&k, "patternProperties")) {
			if (v.type != EV_MP_MAP)
				return -1;
			pp_at = vstart;
		} else if (mp_str_eq(&k, "additionalProperties")) {
			addl = vstart;
		} else {
			return -1;
		}
		p = vstart;
		if (mp_skip(&p, send) != 0)
			return -1;
	}
	if (di.type != EV_MP_MAP || (pp_at == NULL && addl == NULL))
		return ok;
	/* each property against every pattern that matches its name, and
	 * against additionalProperties when none does */
	for (i = 0; i < di.n; i++) {
		const uint8_t *val;
		int matched = 0;
		if (ev_mp_read(&dp, dend, &dk) != 0 || dk.type != EV_MP_STR)
			return -1;
		val = dp;
		if (pp_at != NULL) {
			struct ev_mp_item m, pk;
			const uint8_t *q = pp_at;
			ev_mp_read(&q, send, &m);
			for (j = 0; j < m.n; j++) {
				if (ev_mp_read(&q, send, &pk) != 0)
					return -1;
				if ((r = pat_match(&pk, dk.p, dk.n)) < 0)
					return -1;
				if (r) {
					matched = 1;
					if ((r = eval(q, send, val, dend)) < 0)
						return -1;
					ok &= r;
				}
				if (mp_skip(&q, send) != 0)
					return -1;
			}
		}
		if (!matched && addl != NULL) {
			if ((r = eval(addl, send, val, dend)) < 0)
				return -1;
			ok &= r;
		}
		if (mp_skip(&dp, dend) != 0)
			return -1;
	}
	return ok;
}

/* the value of key in the map at *p (advanced past the map), or NULL */
static const uint8_t *map_get(const uint8_t *p, const uint8_t *end,
			      const char *key)
{
	struct ev_mp_item m, k;
	const uint8_t *found = NULL;
	uint32_t i;

	if (ev_mp_read(&p, end, &m) != 0 || m.type != EV_MP_MAP)
		return NULL;
	for (i = 0; i < m.n; i++) {
		if (ev_mp_read(&p, end, &k) != 0)
			return NULL;
		if (mp_str_eq(&k, key))
			found = p;
		if (mp_skip(&p, end) != 0)
			return NULL;
	}
	return found;
}

/* Run one suite file; counts in *pass, *total, *skipped. */
static void suite_file(const char *rel, int *pass, int *total, int *skipped)
{
	char dir[4096], path[8192];
	struct ev_buf mp = {0};
	struct ev_json js;
	struct ev_mp_item arr, tarr, vi;
	const uint8_t *p, *end;
	char *text;
	size_t len;
	uint32_t g, i;

	unit_corpus("JSON-Schema-Test-Suite/tests/draft2020-12", dir,
		    sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	text = unit_read_file(path, &len);
	if (text == NULL)
		fail_msg("cannot read '%s'", path);
	ev_json_init(&js, text, len);
	if (ev_json_value(&js, &mp) != 0)
		fail_msg("'%s': %s", path, js.errmsg);
	p = mp.p;
	end = mp.p + mp.len;
	assert_int_equal(ev_mp_read(&p, end, &arr), 0);
	assert_int_equal(arr.type, EV_MP_ARRAY);
	*pass = *total = *skipped = 0;
	for (g = 0; g < arr.n; g++) {
		const uint8_t *grp = p, *schema, *tests, *desc;
		struct ev_mp_item di;
		schema = map_get(grp, end, "schema");
		tests = map_get(grp, end, "tests");
		desc = map_get(grp, end, "description");
		assert_non_null(schema);
		assert_non_null(tests);
		assert_non_null(desc);
		ev_mp_read(&desc, end, &di);
		assert_int_equal(ev_mp_read(&tests, end, &tarr), 0);
		for (i = 0; i < tarr.n; i++) {
			const uint8_t *t = tests, *data, *valid, *td;
			struct ev_mp_item tdi;
			int r;
			data = map_get(t, end, "data");
			valid = map_get(t, end, "valid");
			td = map_get(t, end, "description");
			assert_non_null(data);
			assert_non_null(valid);
			ev_mp_read(&valid, end, &vi);
			ev_mp_read(&td, end, &tdi);
			(*total)++;
			r = eval(schema, end, data, end);
			if (r < 0) {
				(*skipped)++;
			} else if (r == vi.v.b) {
				(*pass)++;
			} else {
				print_message("# %s: %.*s: %.*s: got %s\n", rel,
					      (int)di.n, di.p, (int)tdi.n,
					      tdi.p, r ? "valid" : "invalid");
			}
			assert_int_equal(mp_skip(&tests, end), 0);
		}
		assert_int_equal(mp_skip(&p, end), 0);
	}
	print_message("# %s: %d of %d%s", rel, *pass, *total,
		      *skipped ? "" : "\n");
	if (*skipped)
		print_message(" (%d skipped: keywords beyond this test)\n",
			      *skipped);
	ev_buf_free(&mp);
	free(text);
}

static void test_suite(void **state)
{
	static const char *const files[] = {
		"optional/ecmascript-regex.json",
		"optional/non-bmp-regex.json",
		"optional/format/regex.json",
		"optional/format/ecmascript-regex.json",
		"pattern.json",
		"patternProperties.json",
	};
	size_t f;
	int pass, total, skipped, bad = 0;

	(void)state;
	for (f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		suite_file(files[f], &pass, &total, &skipped);
		assert_true(total > 0);
		bad += total - skipped - pass;
	}
	if (bad)
		fail_msg("%d suite cases went wrong", bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes_are_ecma),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_groups_and_references),
		cmocka_unit_test(test_quantifiers_and_classes),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_match_limit),
		cmocka_unit_test(test_invalid_subject),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_search_cost),
		cmocka_unit_test(test_suite),
	};

	return cmocka_run_group_tests_name("ecmare", tests, NULL, NULL);
}
