/*
 * test_jschema_fast.c - the validator's fast walk (ev_jschema_fast_*,
 * lib/jschema_fast.c, lib/jschema_fastwalk.c) against the full
 * validation: the fast walk may say "valid" only where
 * ev_jschema_validate_prefix() does, with the same length, and
 * ev_jschema_fast_pairs() only where ev_jschema_validate() of the object
 * of those pairs does.  Hand-written cases for each kind
 * of check (and that the fast walk does answer them), random schemas
 * with random instances near them, and the official suite when
 * $EVLOG_CONFORMANCE has it.
 */
#include <dirent.h>

#include "unit.h"
#include "jschema_int.h"

struct stats {
	long cases, fast_valid, full_valid, pairs, pairs_fast, pairs_before;
	long keysets;
};

static int to_mp(const char *json, struct ev_buf *b)
{
	struct ev_json js;

	b->len = 0;
	ev_json_init(&js, json, strlen(json));
	js.depth = -1000;
	return ev_json_value(&js, b);
}

/* The fast walk of mp against root agrees with the full validation;
 * returns the full answer, *fast the fast one. */
static int agree(const struct ev_jschema *root, const struct ev_jschema_fast *f,
		 const uint8_t *mp, size_t n, const char *what,
		 struct stats *st, int *fast)
{
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	uint8_t *padded = malloc(n + 3);
	size_t used = 0, fused = 0;
	int r, fr = 0;

	assert_non_null(cx);
	assert_non_null(padded);
	/* the value, then bytes after it that are not its */
	memcpy(padded, mp, n);
	memcpy(padded + n, "\xc1\xc1\xc1", 3);
	r = ev_jschema_validate_prefix(root, padded, n + 3, "/data", cx, &used);
	if (f != NULL) {
		/* the errors of cx stay as they are */
		size_t ne = ev_jschema_nerrors(cx);

		fr = ev_jschema_fast_prefix(f, padded, n + 3, cx, &fused);
		assert_int_equal(ev_jschema_nerrors(cx), ne);
		if (fr == 1 && (r != 1 || fused != used)) {
			print_error("# %s: fast walk says valid (%zu bytes), "
				    "full says %d (%zu bytes)\n",
				    what, fused, r, used);
			fail();
		}
		assert_true(fr == 0 || fr == 1);
	}
	st->cases++;
	st->fast_valid += fr == 1;
	st->full_valid += r == 1;
	if (fast != NULL)
		*fast = fr;
	ev_jschema_ctx_free(cx);
	free(padded);
	return r;
}

/* 1 when the uint 8 to 64 at p is not 0 */
static int pos_uint(const uint8_t *p, const uint8_t *end)
{
	size_t n = (size_t)1 << (*p - 0xcc), i;

	if ((size_t)(end - p) < 1 + n)
		return 0;
	for (i = 1; i <= n; i++)
		if (p[i] != 0)
			return 1;
	return 0;
}

/* The pairs of the map mp (distinct string keys) against f, as keys
 * named once, agree with the full validation of the map. */
static void agree_pairs(const struct ev_jschema *root,
			struct ev_jschema_fast *f, const uint8_t *mp, size_t n,
			const char *what, struct stats *st)
{
	const uint8_t *p = mp, *end = mp + n;
	struct ev_mp_item it, k;
	struct ev_jschema_pair pv[64], pv2[64], pv3[64];
	char *names[64];
	uint32_t i, j;
	struct ev_jschema_ctx *cx;
	size_t ne;
	int r, fr, fr2;

	if (f == NULL || ev_mp_read(&p, end, &it) != 0 ||
	    it.type != EV_MP_MAP || it.n > 64)
		return;
	for (i = 0; i < it.n; i++) {
		if (ev_mp_read(&p, end, &k) != 0 || k.type != EV_MP_STR ||
		    memchr(k.p, 0, k.n) != NULL) {
			it.n = i;
			goto out;
		}
		names[i] = strndup((const char *)k.p, k.n);
		for (j = 0; j < i; j++)
			if (strcmp(names[j], names[i]) == 0) {
				it.n = i + 1;
				goto out;
			}
		pv[i].key = i;
		pv[i].p = p;
		if (ev_mp_skip(&p, end, -1000) != 0) {
			it.n = i + 1;
			goto out;
		}
		pv[i].end = p;
	}
	assert_int_equal(ev_jschema_fast_keys(f, (const char *const *)names,
					      it.n),
			 0);
	cx = ev_jschema_ctx_new();
	r = ev_jschema_validate(root, mp, n, NULL, cx);
	ne = ev_jschema_nerrors(cx);
	fr = ev_jschema_fast_pairs(f, pv, it.n, cx);
	if (fr == 1 && r != 1) {
		print_error("# %s: fast pairs say valid, full says %d\n", what,
			    r);
		fail();
	}
	assert_true(fr == 0 || fr == 1);
	/* values checked before (each on its own, or of a kind any of
	 * which is valid) given as NULL: no more is valid, nothing less */
	for (i = 0; i < it.n; i++) {
		const uint8_t *v = pv[i].p, *pe = NULL;
		int any = ev_jschema_fast_any(f, i);
		uint8_t b = *v;

		pv2[i] = pv[i];
		if (ev_jschema_fast_pair_value(f, i, it.n, v, end, &pe, cx) ==
		    1) {
			assert_ptr_equal(pe, pv[i].end);
			pv2[i].p = pv2[i].end = NULL;
		} else if (((any & EV_JSCHEMA_ANY_STR) &&
			    ((b >= 0xa0 && b <= 0xbf) || b == 0xd9 ||
			     b == 0xda || b == 0xdb)) ||
			   ((any & EV_JSCHEMA_ANY_UINT) &&
			    (b <= 0x7f || (b >= 0xcc && b <= 0xcf))) ||
			   ((any & EV_JSCHEMA_ANY_POS) &&
			    ((b >= 0x01 && b <= 0x7f) ||
			     (b >= 0xcc && b <= 0xcf && pos_uint(v, end))))) {
			pv2[i].p = pv2[i].end = NULL;
		}
	}
	fr2 = ev_jschema_fast_pairs(f, pv2, it.n, cx);
	if (fr2 == 1 && r != 1) {
		print_error("# %s: fast pairs checked before say valid, full "
			    "says %d\n",
			    what, r);
		fail();
	}
	if (fr == 1)
		assert_int_equal(fr2, 1);
	/* the same as a set of keys, with only the pairs not checked */
	if (it.n <= 8) {
		unsigned present = 0;
		size_t n3 = 0;

		for (i = 0; i < it.n; i++) {
			present |= 1u << i;
			if (pv2[i].p != NULL)
				pv3[n3++] = pv2[i];
		}
		assert_int_equal(ev_jschema_fast_keyset(f, present, pv3, n3,
							cx),
				 fr2);
		st->keysets++;
	}
	assert_int_equal(ev_jschema_nerrors(cx), ne);
	st->pairs++;
	st->pairs_fast += fr == 1;
	st->pairs_before += fr2 == 1;
	ev_jschema_ctx_free(cx);
out:
	for (i = 0; i < it.n; i++)
		free(names[i]);
}

/* A set of one schema: 0, or -1 when it does not compile. */
static int compile(const char *schema, int formats, struct ev_jschema_set **set,
		   struct ev_jschema **root)
{
	struct ev_jschema_opts o = {0};
	struct ev_error err;

	o.formats_assert = formats;
	assert_int_equal(ev_jschema_set_new(set, &o, &err), 0);
	if (ev_jschema_add(*set, schema, strlen(schema), "s.json", NULL, root,
			   &err) != 0 ||
	    ev_jschema_set_compile(*set, &err) != 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ by hand */

struct hcase {
	const char *schema;
	const char *instance;
	int valid; /* the full validation's answer */
	int fast;  /* 1: the fast walk must say valid itself */
};

static const struct hcase hcases[] = {
	/* leaves: strings */
	{"{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\"}}}",
	 "{\"s\":\"x\"}", 1, 1},
	{"{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\"}}}",
	 "{\"s\":1}", 0, 0},
	{"{\"properties\":{\"s\":{\"type\":\"string\",\"minLength\":2,"
	 "\"maxLength\":3}}}",
	 "{\"s\":\"ab\"}", 1, 1},
	{"{\"properties\":{\"s\":{\"type\":\"string\",\"minLength\":2}}}",
	 "{\"s\":\"\\u00e9\"}", 0, 0},
	{"{\"properties\":{\"s\":{\"maxLength\":2}}}",
	 "{\"s\":\"\\u00e9\\u00e9\"}", 1, 1},
	{"{\"properties\":{\"s\":{\"maxLength\":2}}}", "{\"s\":\"abc\"}", 0, 0},
	{"{\"properties\":{\"s\":{\"pattern\":\"^SKU-[0-9]{5}$\"}}}",
	 "{\"s\":\"SKU-12345\"}", 1, 1},
	{"{\"properties\":{\"s\":{\"pattern\":\"^SKU-[0-9]{5}$\"}}}",
	 "{\"s\":\"SKU-1234\"}", 0, 0},
	{"{\"properties\":{\"s\":{\"pattern\":\"(a|b)+c\"}}}",
	 "{\"s\":\"xxabac\"}", 1, 0},
	{"{\"properties\":{\"s\":{\"pattern\":\"(a|b)+c\"}}}",
	 "{\"s\":\"xxd\"}", 0, 0},
	{"{\"properties\":{\"s\":{\"enum\":[\"web\",\"ios\"]}}}",
	 "{\"s\":\"ios\"}", 1, 1},
	{"{\"properties\":{\"s\":{\"enum\":[\"web\",\"ios\"]}}}",
	 "{\"s\":\"io\"}", 0, 0},
	{"{\"properties\":{\"s\":{\"enum\":[\"web\",\"ios\"]}}}", "{\"s\":1}",
	 0, 0},
	{"{\"properties\":{\"s\":{\"enum\":[\"a\",1,null]}}}", "{\"s\":1}", 1,
	 0},
/* enums of short strings compared as words, where 8 bytes can be
 * read: a value, its prefix, a longer string, one of 8 bytes */
#define EW                                                             \
	"{\"properties\":{\"s\":{\"enum\":[\"web\",\"android\",\"a\"," \
	"\"12345678\"]},\"t\":{}}}"
	{EW, "{\"s\":\"web\",\"t\":\"padding\"}", 1, 1},
	{EW, "{\"s\":\"we\",\"t\":\"padding\"}", 0, 0},
	{EW, "{\"s\":\"webx\",\"t\":\"padding\"}", 0, 0},
	{EW, "{\"s\":\"\",\"t\":\"padding\"}", 0, 0},
	{EW, "{\"s\":\"a\",\"t\":\"padding\"}", 1, 1},
	{EW, "{\"s\":\"android\",\"t\":\"padding\"}", 1, 1},
	{EW, "{\"s\":\"androie\",\"t\":\"padding\"}", 0, 0},
	{EW, "{\"s\":\"12345678\",\"t\":\"padding\"}", 1, 1},
	{EW, "{\"s\":\"123456789\",\"t\":\"padding\"}", 0, 0},
	{EW, "{\"s\":\"12345670\",\"t\":\"padding\"}", 0, 0},
	{EW, "{\"s\":\"a\"}", 1, 1},
	{EW, "{\"s\":\"ab\"}", 0, 0},
#undef EW
	{"{\"properties\":{\"s\":{\"const\":\"a\"}}}", "{\"s\":\"a\"}", 1, 0},
	{"{\"properties\":{\"s\":{\"const\":\"a\"}}}", "{\"s\":\"b\"}", 0, 0},
	{"{\"properties\":{\"s\":{\"format\":\"date\"}}}",
	 "{\"s\":\"not a date\"}", 1, 1},
/* leaves: floats (float 64s: JSON numbers with a fraction) */
#define FN                                                           \
	"{\"properties\":{\"n\":{\"type\":\"number\",\"minimum\":0," \
	"\"maximum\":1}}}"
	{FN, "{\"n\":0.19}", 1, 1},
	{FN, "{\"n\":1.5}", 0, 0},
	{FN, "{\"n\":-0.5}", 0, 0},
	{FN, "{\"n\":1.0e0}", 1, 1},
	{FN, "{\"n\":-0.0}", 1, 1},
#undef FN
	{"{\"properties\":{\"n\":{\"minimum\":0.25,\"maximum\":0.75}}}",
	 "{\"n\":0.25}", 1, 1},
	{"{\"properties\":{\"n\":{\"minimum\":0.25,\"maximum\":0.75}}}",
	 "{\"n\":0.2499}", 0, 0},
	{"{\"properties\":{\"n\":{\"maximum\":0.75}}}", "{\"n\":0.7501}", 0, 0},
	{"{\"properties\":{\"n\":{\"type\":\"number\"}}}", "{\"n\":1e300}", 1,
	 1},
	{"{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":2.5}", 0,
	 0},
	{"{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":2.0}", 1,
	 1},
	{"{\"properties\":{\"n\":{\"type\":\"string\"}}}", "{\"n\":2.5}", 0, 0},
	{"{\"properties\":{\"n\":{\"exclusiveMinimum\":0.5}}}", "{\"n\":0.5}",
	 0, 0},
	{"{\"properties\":{\"n\":{\"exclusiveMinimum\":0.5}}}", "{\"n\":0.75}",
	 1, 1},
	{"{\"properties\":{\"n\":{\"multipleOf\":0.5}}}", "{\"n\":0.75}", 0, 0},
	{"{\"properties\":{\"n\":{\"minimum\":18014398509481985}}}",
	 "{\"n\":0.5}", 0, 0},
	{"{\"properties\":{\"n\":{\"enum\":[0.5,1]}}}", "{\"n\":0.5}", 1, 0},
	{"{\"properties\":{\"n\":{\"enum\":[\"a\"]}}}", "{\"n\":0.5}", 0, 0},
	/* leaves: numbers */
	{"{\"properties\":{\"n\":{\"type\":\"integer\",\"minimum\":1,"
	 "\"maximum\":300}}}",
	 "{\"n\":300}", 1, 1},
	{"{\"properties\":{\"n\":{\"type\":\"integer\",\"minimum\":1}}}",
	 "{\"n\":0}", 0, 0},
	{"{\"properties\":{\"n\":{\"type\":\"integer\",\"minimum\":-5}}}",
	 "{\"n\":-6}", 0, 0},
	{"{\"properties\":{\"n\":{\"type\":\"integer\",\"maximum\":70000}}}",
	 "{\"n\":70001}", 0, 0},
	{"{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":1.5}", 0,
	 0},
	{"{\"properties\":{\"n\":{\"type\":\"integer\"}}}", "{\"n\":2.0}", 1,
	 0},
	{"{\"properties\":{\"n\":{\"type\":\"number\",\"exclusiveMinimum\":0,"
	 "\"maximum\":1}}}",
	 "{\"n\":0}", 0, 0},
	{"{\"properties\":{\"n\":{\"type\":\"number\",\"exclusiveMinimum\":0,"
	 "\"maximum\":1}}}",
	 "{\"n\":0.5}", 1, 0},
	{"{\"properties\":{\"n\":{\"multipleOf\":10}}}", "{\"n\":25}", 0, 0},
	{"{\"properties\":{\"n\":{\"minimum\":1.5}}}", "{\"n\":1}", 0, 0},
	{"{\"properties\":{\"n\":{\"type\":\"number\"}}}",
	 "{\"n\":18446744073709551615}", 1, 0},
	{"{\"properties\":{\"n\":{\"type\":[\"integer\",\"null\"]}}}",
	 "{\"n\":null}", 1, 0},
	{"{\"properties\":{\"n\":{\"type\":\"string\"}}}", "{\"n\":null}", 0,
	 0},
	/* objects */
	{"{\"type\":\"object\",\"required\":[\"a\",\"b\"]}", "{\"a\":1}", 0, 0},
	{"{\"type\":\"object\",\"required\":[\"a\",\"b\"]}",
	 "{\"b\":1,\"a\":2}", 1, 1},
	{"{\"properties\":{\"a\":{}},\"additionalProperties\":false}",
	 "{\"a\":1}", 1, 1},
	{"{\"properties\":{\"a\":{}},\"additionalProperties\":false}",
	 "{\"a\":1,\"b\":2}", 0, 0},
	{"{\"additionalProperties\":{\"type\":\"integer\"}}",
	 "{\"x\":1,\"y\":2}", 1, 1},
	{"{\"additionalProperties\":{\"type\":\"integer\"}}", "{\"x\":\"1\"}",
	 0, 0},
	{"{\"required\":[\"r\"],\"additionalProperties\":false}", "{\"r\":1}",
	 0, 0},
	{"{\"minProperties\":2,\"maxProperties\":3}", "{\"a\":1}", 0, 0},
	{"{\"minProperties\":2,\"maxProperties\":3}", "{\"a\":1,\"b\":2}", 1,
	 1},
	{"{\"type\":\"object\"}", "[]", 0, 0},
	{"{\"type\":[\"object\",\"null\"],\"properties\":{\"a\":"
	 "{\"type\":\"string\"}}}",
	 "null", 1, 0},
	{"{\"properties\":{\"o\":{\"properties\":{\"p\":{\"properties\":"
	 "{\"q\":{\"type\":\"integer\"}}}}}}}",
	 "{\"o\":{\"p\":{\"q\":\"x\"}}}", 0, 0},
	{"{\"properties\":{\"o\":{\"properties\":{\"p\":{\"properties\":"
	 "{\"q\":{\"type\":\"integer\"}}}}}}}",
	 "{\"o\":{\"p\":{\"q\":1}},\"z\":[1,{\"a\":[]}]}", 1, 1},
	{"{\"properties\":{\"a\":true,\"b\":false}}", "{\"a\":[1,2]}", 1, 1},
	{"{\"properties\":{\"a\":true,\"b\":false}}", "{\"b\":1}", 0, 0},
	/* arrays */
	{"{\"properties\":{\"l\":{\"type\":\"array\",\"items\":"
	 "{\"type\":\"object\",\"required\":[\"k\"]},\"minItems\":1}}}",
	 "{\"l\":[{\"k\":1},{\"k\":2}]}", 1, 1},
	{"{\"properties\":{\"l\":{\"type\":\"array\",\"items\":"
	 "{\"type\":\"object\",\"required\":[\"k\"]},\"minItems\":1}}}",
	 "{\"l\":[{\"k\":1},{}]}", 0, 0},
	{"{\"properties\":{\"l\":{\"maxItems\":1}}}", "{\"l\":[1,2]}", 0, 0},
	{"{\"properties\":{\"l\":{\"items\":false}}}", "{\"l\":[]}", 1, 1},
	{"{\"properties\":{\"l\":{\"items\":false}}}", "{\"l\":[1]}", 0, 0},
	{"{\"properties\":{\"l\":{\"uniqueItems\":true}}}", "{\"l\":[1,1]}", 0,
	 0},
	{"{\"properties\":{\"l\":{\"uniqueItems\":true}}}", "{\"l\":[1,2]}", 1,
	 0},
	{"{\"properties\":{\"l\":{\"prefixItems\":[{\"type\":\"string\"}]}}}",
	 "{\"l\":[1]}", 0, 0},
	{"{\"properties\":{\"l\":{\"contains\":{\"const\":2}}}}",
	 "{\"l\":[1,3]}", 0, 0},
	{"{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}", "[1,2,3]", 1,
	 1},
	{"{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}", "[1,\"2\"]",
	 0, 0},
	/* what the general walk does, inside a fast one */
	{"{\"$defs\":{\"pos\":{\"minimum\":0}},\"properties\":{\"a\":"
	 "{\"$ref\":\"#/$defs/pos\"}}}",
	 "{\"a\":-1}", 0, 0},
	{"{\"$defs\":{\"pos\":{\"minimum\":0}},\"properties\":{\"a\":"
	 "{\"$ref\":\"#/$defs/pos\"}}}",
	 "{\"a\":1}", 1, 1},
	{"{\"properties\":{\"a\":{\"anyOf\":[{\"type\":\"string\"},"
	 "{\"type\":\"null\"}]}}}",
	 "{\"a\":2}", 0, 0},
	{"{\"properties\":{\"a\":{\"properties\":{\"b\":{\"type\":"
	 "\"string\"}},\"unevaluatedProperties\":false}}}",
	 "{\"a\":{\"b\":\"x\",\"c\":1}}", 0, 0},
	{"{\"properties\":{\"a\":{\"patternProperties\":{\"^x\":"
	 "{\"type\":\"string\"}}}}}",
	 "{\"a\":{\"xa\":1}}", 0, 0},
	{"{\"properties\":{\"a\":{\"dependentRequired\":{\"b\":[\"c\"]}}}}",
	 "{\"a\":{\"b\":1}}", 0, 0},
	{"{\"properties\":{\"a\":{\"propertyNames\":{\"maxLength\":1}}}}",
	 "{\"a\":{\"bb\":1}}", 0, 0},
	{"{\"properties\":{\"a\":{\"if\":{\"type\":\"string\"},\"then\":"
	 "{\"minLength\":2}}}}",
	 "{\"a\":\"x\"}", 0, 0},
	{"{\"$id\":\"https://x.example/r\",\"$dynamicAnchor\":\"n\","
	 "\"properties\":{\"a\":{\"$dynamicRef\":\"#n\"},\"v\":{\"type\":"
	 "\"integer\"}}}",
	 "{\"a\":{\"a\":{\"v\":\"x\"}}}", 0, 0},
	{"{\"$id\":\"https://x.example/r\",\"$dynamicAnchor\":\"n\","
	 "\"properties\":{\"a\":{\"$dynamicRef\":\"#n\"},\"v\":{\"type\":"
	 "\"integer\"}}}",
	 "{\"a\":{\"a\":{\"v\":1}}}", 1, 1},
};

static void test_by_hand(void **state)
{
	struct ev_buf mp = {0};
	struct stats st = {0};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(hcases) / sizeof(hcases[0]); i++) {
		const struct hcase *h = &hcases[i];
		struct ev_jschema_set *set = NULL;
		struct ev_jschema *root = NULL;
		struct ev_jschema_fast *f;
		char what[512];
		int r, fast = 0;

		snprintf(what, sizeof(what), "case %zu: %s against %s", i,
			 h->instance, h->schema);
		assert_int_equal(compile(h->schema, 0, &set, &root), 0);
		assert_int_equal(to_mp(h->instance, &mp), 0);
		f = ev_jschema_fast_new(root);
		if (h->fast && f == NULL)
			fail_msg("%s: no fast walk", what);
		r = agree(root, f, mp.p, mp.len, what, &st, &fast);
		if (r != h->valid)
			fail_msg("%s: full validation says %d", what, r);
		if (h->fast && fast != 1)
			fail_msg("%s: the fast walk does not say valid", what);
		agree_pairs(root, f, mp.p, mp.len, what, &st);
		ev_jschema_fast_free(f);
		ev_jschema_set_free(set);
	}
	ev_buf_free(&mp);
}

/* ------------------------------------------------------------ random */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static const char *const names[] = {"a",    "bb",  "ccc",
				    "dddd", "e/f", "correlationId"};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static void gen_leaf(struct ev_buf *b)
{
	static const char *const leaves[] = {
		"{\"type\":\"string\"}",
		"{\"type\":\"string\",\"minLength\":1}",
		"{\"type\":\"string\",\"maxLength\":2}",
		"{\"type\":\"string\",\"pattern\":\"^x-[0-9]+$\"}",
		"{\"pattern\":\"^[a-c]{2}$\"}",
		"{\"pattern\":\"b\"}",
		"{\"pattern\":\"(a|b)+$\"}",
		"{\"enum\":[\"a\",\"bb\",\"x-1\"]}",
		"{\"enum\":[\"a\",1,null,[1]]}",
		"{\"const\":\"a\"}",
		"{\"type\":\"string\",\"format\":\"date\"}",
		"{\"format\":\"ipv4\"}",
		"{\"type\":\"integer\"}",
		"{\"type\":\"integer\",\"minimum\":1}",
		"{\"type\":\"integer\",\"minimum\":-3,\"maximum\":200}",
		"{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":1}",
		"{\"maximum\":70000}",
		"{\"multipleOf\":2}",
		"{\"minimum\":0.5}",
		"{\"type\":\"number\"}",
		"{\"type\":\"boolean\"}",
		"{\"type\":\"null\"}",
		"{\"type\":[\"string\",\"null\"]}",
		"{\"type\":[\"integer\",\"string\"],\"minLength\":2,"
		"\"minimum\":3}",
		"true",
		"false",
		"{}",
		"{\"$ref\":\"#/$defs/d\"}",
		"{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":5}]}",
		"{\"not\":{\"type\":\"null\"}}",
	};

	ev_buf_puts(b, leaves[rnd(sizeof(leaves) / sizeof(leaves[0]))]);
}

static void gen_schema(struct ev_buf *b, int depth);

static void gen_object(struct ev_buf *b, int depth)
{
	unsigned i, n = rnd(4), first = 1;

	ev_buf_puts(b, "{");
	if (rnd(3))
		ev_buf_puts(b, rnd(5) ? "\"type\":\"object\""
				      : "\"type\":[\"object\",\"null\"]"),
			first = 0;
	if (n) {
		ev_buf_puts(b,
			    first ? "\"properties\":{" : ",\"properties\":{");
		first = 0;
		for (i = 0; i < n; i++) {
			ev_buf_printf(b, "%s\"%s\":", i ? "," : "",
				      names[(i * 2 + rnd(2)) % NNAMES]);
			gen_schema(b, depth + 1);
		}
		ev_buf_puts(b, "}");
	}
	if (rnd(2)) {
		unsigned k = rnd(3) + 1;

		ev_buf_puts(b, first ? "\"required\":[" : ",\"required\":[");
		first = 0;
		for (i = 0; i < k; i++)
			ev_buf_printf(b, "%s\"%s\"", i ? "," : "",
				      names[(i * 3 + rnd(3)) % NNAMES]);
		ev_buf_puts(b, "]");
	}
	switch (rnd(6)) {
	case 0:
		ev_buf_puts(b, first ? "" : ",");
		ev_buf_puts(b, "\"additionalProperties\":false");
		first = 0;
		break;
	case 1:
		ev_buf_puts(b, first ? "" : ",");
		ev_buf_puts(b, "\"additionalProperties\":");
		gen_schema(b, depth + 1);
		first = 0;
		break;
	default:
		break;
	}
	switch (rnd(12)) {
	case 0:
		ev_buf_printf(b, "%s\"minProperties\":%u", first ? "" : ",",
			      rnd(3));
		first = 0;
		break;
	case 1:
		ev_buf_printf(b, "%s\"maxProperties\":%u", first ? "" : ",",
			      rnd(3));
		first = 0;
		break;
	case 2:
		ev_buf_printf(b,
			      "%s\"patternProperties\":{\"^c\":"
			      "{\"type\":\"integer\"}}",
			      first ? "" : ",");
		first = 0;
		break;
	case 3:
		ev_buf_printf(b, "%s\"dependentRequired\":{\"a\":[\"bb\"]}",
			      first ? "" : ",");
		first = 0;
		break;
	case 4:
		ev_buf_printf(b, "%s\"unevaluatedProperties\":false",
			      first ? "" : ",");
		first = 0;
		break;
	default:
		break;
	}
	ev_buf_puts(b, "}");
}

static void gen_array(struct ev_buf *b, int depth)
{
	ev_buf_puts(b, "{\"type\":\"array\"");
	if (rnd(4))
		ev_buf_puts(b, ",\"items\":"), gen_schema(b, depth + 1);
	switch (rnd(8)) {
	case 0:
		ev_buf_printf(b, ",\"minItems\":%u", rnd(3));
		break;
	case 1:
		ev_buf_printf(b, ",\"maxItems\":%u", rnd(3));
		break;
	case 2:
		ev_buf_puts(b, ",\"uniqueItems\":true");
		break;
	case 3:
		ev_buf_puts(b, ",\"contains\":{\"type\":\"integer\"}");
		break;
	default:
		break;
	}
	ev_buf_puts(b, "}");
}

static void gen_schema(struct ev_buf *b, int depth)
{
	unsigned k = depth >= 3 ? 0 : rnd(5);

	if (k == 1)
		gen_object(b, depth);
	else if (k == 2)
		gen_array(b, depth);
	else
		gen_leaf(b);
}

static void gen_value(struct ev_buf *b, int depth)
{
	static const char *const scalars[] = {
		"\"a\"",
		"\"bb\"",
		"\"x-12\"",
		"\"\"",
		"\"ab\"",
		"\"\\u00e9\"",
		"\"2024-02-30\"",
		"\"2024-02-03\"",
		"\"10.0.0.1\"",
		"0",
		"1",
		"2",
		"-1",
		"-4",
		"3",
		"200",
		"201",
		"70000",
		"70001",
		"0.5",
		"0.25",
		"2.0",
		"1e300",
		"-128",
		"-129",
		"255",
		"256",
		"65536",
		"4294967296",
		"18446744073709551615",
		"true",
		"false",
		"null",
	};
	unsigned k = depth >= 4 ? 0 : rnd(6), i, n;

	if (k == 1) {
		n = rnd(5);
		ev_buf_puts(b, "{");
		for (i = 0; i < n; i++) {
			ev_buf_printf(b, "%s\"%s\":", i ? "," : "",
				      names[rnd(NNAMES)]);
			gen_value(b, depth + 1);
		}
		ev_buf_puts(b, "}");
	} else if (k == 2) {
		n = rnd(4);
		ev_buf_puts(b, "[");
		for (i = 0; i < n; i++) {
			if (i)
				ev_buf_puts(b, ",");
			gen_value(b, depth + 1);
		}
		ev_buf_puts(b, "]");
	} else {
		ev_buf_puts(b,
			    scalars[rnd(sizeof(scalars) / sizeof(scalars[0]))]);
	}
}

static void test_random(void **state)
{
	struct ev_buf sb = {0}, vb = {0}, mp = {0};
	struct stats st = {0};
	int i, j;

	(void)state;
	for (i = 0; i < 3000; i++) {
		struct ev_jschema_set *set = NULL;
		struct ev_jschema *root = NULL;
		struct ev_jschema_fast *f;
		int formats = rnd(2);

		sb.len = 0;
		ev_buf_puts(&sb, "{\"$defs\":{\"d\":{\"type\":\"string\"}},"
				 "\"allOf\":[");
		gen_schema(&sb, 0);
		ev_buf_puts(&sb, "]}");
		ev_buf_putc(&sb, '\0');
		/* the root without allOf: what the fast walk takes */
		{
			const char *s = (const char *)sb.p;
			char *inner =
				strdup(s + strlen("{\"$defs\":{\"d\":"
						  "{\"type\":\"string\"}},"
						  "\"allOf\":["));

			inner[strlen(inner) - 2] = '\0';
			if (inner[0] == '{' && inner[1] != '}') {
				sb.len = 0;
				ev_buf_printf(&sb,
					      "{\"$defs\":{\"d\":{\"type\":"
					      "\"string\"}},%s",
					      inner + 1);
				ev_buf_putc(&sb, '\0');
			}
			free(inner);
		}
		if (compile((const char *)sb.p, formats, &set, &root) != 0) {
			ev_jschema_set_free(set);
			continue;
		}
		f = ev_jschema_fast_new(root);
		for (j = 0; j < 20; j++) {
			char what[4096];

			vb.len = 0;
			gen_value(&vb, rnd(2));
			ev_buf_putc(&vb, '\0');
			assert_int_equal(to_mp((const char *)vb.p, &mp), 0);
			snprintf(what, sizeof(what), "%s against %s%s",
				 (const char *)vb.p, (const char *)sb.p,
				 formats ? " (formats asserted)" : "");
			agree(root, f, mp.p, mp.len, what, &st, NULL);
			agree_pairs(root, f, mp.p, mp.len, what, &st);
		}
		ev_jschema_fast_free(f);
		ev_jschema_set_free(set);
	}
	print_message("# random: %ld cases, %ld valid, %ld of them by the "
		      "fast walk; %ld as pairs, %ld valid by the fast walk, "
		      "%ld with values checked before\n",
		      st.cases, st.full_valid, st.fast_valid, st.pairs,
		      st.pairs_fast, st.pairs_before);
	/* the fast walk does answer */
	assert_true(st.fast_valid * 4 > st.full_valid);
	assert_true(st.pairs_fast > 0);
	assert_true(st.pairs_before >= st.pairs_fast);
	assert_true(st.keysets > 0);
	ev_buf_free(&sb);
	ev_buf_free(&vb);
	ev_buf_free(&mp);
}

/* ------------------------------------------------------------ the suite */

/* a field of the map at p */
static const uint8_t *field(const uint8_t *p, const uint8_t *end,
			    const char *name)
{
	struct ev_mp_item it, k;
	uint32_t i;

	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_MAP)
		return NULL;
	for (i = 0; i < it.n; i++) {
		if (ev_mp_read(&p, end, &k) != 0)
			return NULL;
		if (k.type == EV_MP_STR && k.n == strlen(name) &&
		    memcmp(k.p, name, k.n) == 0)
			return p;
		if (ev_mp_skip(&p, end, -1000) != 0)
			return NULL;
	}
	return NULL;
}

static size_t value_len(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p;

	return ev_mp_skip(&q, end, -1000) == 0 ? (size_t)(q - p) : 0;
}

static void suite_file(const char *path, const char *remotes, struct stats *st)
{
	char map[8300];
	const char *ref_dirs[2] = {map, NULL};
	struct ev_buf b = {0};
	struct ev_json js;
	struct ev_mp_item arr, tarr;
	const uint8_t *p, *end;
	size_t len;
	char *text = unit_read_file(path, &len);
	uint32_t g, t;

	snprintf(map, sizeof(map), "http://localhost:1234/=%s", remotes);
	assert_non_null(text);
	ev_json_init(&js, text, len);
	js.depth = -1000;
	assert_int_equal(ev_json_value(&js, &b), 0);
	p = b.p;
	end = b.p + b.len;
	assert_int_equal(ev_mp_read(&p, end, &arr), 0);
	for (g = 0; g < arr.n; g++) {
		const uint8_t *gp = p, *schema = field(gp, end, "schema"),
			      *tests = field(gp, end, "tests");
		struct ev_jschema_opts o = {0};
		struct ev_jschema_set *set = NULL;
		struct ev_jschema *root = NULL;
		struct ev_jschema_fast *f = NULL;
		struct ev_error err;

		ev_mp_skip(&p, end, -1000);
		assert_non_null(schema);
		assert_non_null(tests);
		o.ref_dirs = ref_dirs;
		if (ev_jschema_set_new(&set, &o, &err) != 0 ||
		    ev_jschema_add_mp(set, schema, value_len(schema, end), path,
				      NULL, &root, &err) != 0 ||
		    ev_jschema_set_compile(set, &err) != 0) {
			ev_jschema_set_free(set);
			continue;
		}
		f = ev_jschema_fast_new(root);
		ev_mp_read(&tests, end, &tarr);
		for (t = 0; t < tarr.n; t++) {
			const uint8_t *tp = tests,
				      *data = field(tp, end, "data");
			char what[8800];

			ev_mp_skip(&tests, end, -1000);
			assert_non_null(data);
			snprintf(what, sizeof(what), "%s, group %u, test %u",
				 path, g, t);
			agree(root, f, data, value_len(data, end), what, st,
			      NULL);
			agree_pairs(root, f, data, value_len(data, end), what,
				    st);
		}
		ev_jschema_fast_free(f);
		ev_jschema_set_free(set);
	}
	ev_buf_free(&b);
	free(text);
}

static int is_json(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static void suite_dir(const char *dir, const char *remotes, struct stats *st)
{
	struct dirent **list = NULL;
	char path[8704];
	int n, i;

	n = scandir(dir, &list, is_json, alphasort);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		suite_file(path, remotes, st);
		free(list[i]);
	}
	free(list);
}

static void test_suite(void **state)
{
	char base[4096], tests[8192], remotes[8192];
	struct stats st = {0};

	(void)state;
	unit_corpus("JSON-Schema-Test-Suite", base, sizeof(base));
	snprintf(tests, sizeof(tests), "%s/tests/draft2020-12", base);
	snprintf(remotes, sizeof(remotes), "%s/remotes", base);
	suite_dir(tests, remotes, &st);
	print_message("# suite: %ld cases, %ld valid, %ld of them by the fast "
		      "walk; %ld as pairs, %ld valid by the fast walk, %ld "
		      "with values checked before\n",
		      st.cases, st.full_valid, st.fast_valid, st.pairs,
		      st.pairs_fast, st.pairs_before);
	assert_true(st.cases > 1000);
	assert_true(st.fast_valid > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_hand),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_suite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
