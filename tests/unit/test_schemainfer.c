/*
 * test_schemainfer.c - struct ev_schemainfer (lib/schemainfer.c): the
 * merge rules (JSON types, integers and numbers, required properties,
 * nested objects and arrays, enums, null), the order-independence and
 * the exact layout of the output, entries per type and schema version,
 * records, binary and absent data, bad values, DIR/TYPE/N.json, and
 * the invariant: the validator (lib/jschema*.c) finds every value valid
 * against the schema inferred from it, on edge cases, on gen_events data
 * and on the GH Archive hour.
 */
#include "unit.h"

/* Allocations counted while counting is on (not under ASan, which owns
 * the allocator). */
#if defined(__SANITIZE_ADDRESS__)
#define UNIT_ASAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNIT_ASAN 1
#endif
#endif
static int counting;
static unsigned long nallocs;
#ifndef UNIT_ASAN
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t a, size_t b);
extern void *__libc_realloc(void *p, size_t n);

void *malloc(size_t n)
{
	nallocs += counting;
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	nallocs += counting;
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	nallocs += counting;
	return __libc_realloc(p, n);
}
#endif

/* ------------------------------------------------------------ helpers */

/* JSON text to msgpack; fails the test when it does not parse. */
static void mp_of(const char *json, struct ev_buf *out)
{
	struct ev_json js;

	out->len = 0;
	ev_json_init(&js, json, strlen(json));
	if (ev_json_value(&js, out) != 0)
		fail_msg("bad JSON in the test: %s", json);
}

static struct ev_schemainfer *new_si_props(unsigned enum_max, size_t max_props)
{
	struct ev_schemainfer_opts o;
	struct ev_schemainfer *si;
	struct ev_error err;

	ev_schemainfer_opts_init(&o);
	assert_int_equal(o.enum_max, 8);
	assert_int_equal(o.max_props, 1000);
	o.enum_max = enum_max;
	o.max_props = max_props;
	assert_int_equal(ev_schemainfer_new(&si, &o, &err), 0);
	return si;
}

static struct ev_schemainfer *new_si(unsigned enum_max)
{
	return new_si_props(enum_max, 0);
}

static void add(struct ev_schemainfer *si, const char *type, uint64_t schema,
		const char *json)
{
	struct ev_buf mp = {0};
	struct ev_error err;

	mp_of(json, &mp);
	assert_int_equal(ev_schemainfer_value(si, type, strlen(type), schema,
					      mp.p, mp.len, &err),
			 1);
	ev_buf_free(&mp);
}

/* s without whitespace outside strings, in place */
static char *compact(char *s)
{
	char *o = s, *p;
	int in_str = 0, esc = 0;

	for (p = s; *p; p++) {
		if (in_str) {
			if (esc)
				esc = 0;
			else if (*p == '\\')
				esc = 1;
			else if (*p == '"')
				in_str = 0;
		} else if (*p == ' ' || *p == '\n') {
			continue;
		} else if (*p == '"') {
			in_str = 1;
		}
		*o++ = *p;
	}
	*o = '\0';
	return s;
}

/* The schema of entry i, compact, without its $schema, title and
 * description (checked elsewhere); the caller frees it. */
static char *schema_of(struct ev_schemainfer *si, size_t i)
{
	struct ev_buf out = {0};
	struct ev_error err;
	char *s, *p, *q;

	assert_int_equal(ev_schemainfer_format(si, i, &out, &err), 0);
	assert_int_equal(ev_buf_putc(&out, '\0'), 0);
	s = compact((char *)out.p);
	/* {"$schema":...,"title":...,"description":"..."[,rest]} */
	p = strstr(s, "\"description\":\"");
	assert_non_null(p);
	q = strchr(p + 15, '"') + 1;
	if (*q == ',')
		q++;
	memmove(s + 1, q, strlen(q) + 1);
	return s;
}

/* The schema inferred from the data values vals (JSON texts). */
static char *infer_n(unsigned enum_max, const char *const *vals, size_t n)
{
	struct ev_schemainfer *si = new_si(enum_max);
	char *s;
	size_t i;

	for (i = 0; i < n; i++)
		add(si, "T", 1, vals[i]);
	assert_int_equal(ev_schemainfer_count(si), 1);
	s = schema_of(si, 0);
	ev_schemainfer_free(si);
	return s;
}

#define INFER(...)                                     \
	infer_n(8, (const char *const[]){__VA_ARGS__}, \
		sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))
#define INFER_ENUM(max, ...)                             \
	infer_n(max, (const char *const[]){__VA_ARGS__}, \
		sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

#define EXPECT(got, want)                      \
	do {                                   \
		char *g_ = (got);              \
		assert_string_equal(g_, want); \
		free(g_);                      \
	} while (0)

/* ------------------------------------------------------------ types */

static void test_scalar_types(void **state)
{
	(void)state;
	EXPECT(INFER("1", "-5", "0"), "{\"type\":\"integer\"}");
	EXPECT(INFER("1.5"), "{\"type\":\"number\"}");
	/* JSON Schema: 1.0 is an integer, and so is 1e300 */
	EXPECT(INFER("1.0", "2", "1e300", "-0.0"), "{\"type\":\"integer\"}");
	/* a fraction anywhere makes them all numbers */
	EXPECT(INFER("1", "2.25", "3"), "{\"type\":\"number\"}");
	/* beyond int64 */
	EXPECT(INFER("18446744073709551615", "-9223372036854775808"),
	       "{\"type\":\"integer\"}");
	EXPECT(INFER("true", "false"), "{\"type\":\"boolean\"}");
	EXPECT(INFER("null"), "{\"type\":\"null\"}");
	EXPECT(INFER("\"a\""), "{\"type\":\"string\"}");
}

static void test_mixed_types(void **state)
{
	(void)state;
	/* a type array in a fixed order: object, array, string, number
	 * or integer, boolean, null */
	EXPECT(INFER("null", "true", "1", "\"s\"", "[]", "{}"),
	       "{\"type\":[\"object\",\"array\",\"string\",\"integer\","
	       "\"boolean\",\"null\"]}");
	EXPECT(INFER("1.5", "1", "null"), "{\"type\":[\"number\",\"null\"]}");
	/* the keywords of each type apply to that type only */
	EXPECT(INFER("{\"a\":1}", "[true]", "null"),
	       "{\"type\":[\"object\",\"array\",\"null\"],\"properties\":{"
	       "\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"],"
	       "\"items\":{\"type\":\"boolean\"}}");
}

/* ------------------------------------------------------------ objects */

static void test_required(void **state)
{
	(void)state;
	EXPECT(INFER("{\"a\":1,\"b\":\"x\"}", "{\"b\":\"y\",\"a\":2}"),
	       "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
	       "\"integer\"},\"b\":{\"type\":\"string\"}},\"required\":[\"a\","
	       "\"b\"]}");
	/* missing once: optional */
	EXPECT(INFER("{\"a\":1,\"b\":true}", "{\"a\":2}"),
	       "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
	       "\"integer\"},\"b\":{\"type\":\"boolean\"}},\"required\":"
	       "[\"a\"]}");
	/* a key repeated in one object counts once: b is not required */
	EXPECT(INFER("{\"b\":1,\"b\":2}", "{\"a\":1}"),
	       "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
	       "\"integer\"},\"b\":{\"type\":\"integer\"}}}");
	/* empty objects: no properties, nothing required */
	EXPECT(INFER("{}", "{}"), "{\"type\":\"object\"}");
	EXPECT(INFER("{}", "{\"a\":null}"),
	       "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
	       "\"null\"}}}");
	/* required counts the objects, not the values of the position */
	EXPECT(INFER("{\"a\":1}", "7"),
	       "{\"type\":[\"object\",\"integer\"],\"properties\":{\"a\":{"
	       "\"type\":\"integer\"}},\"required\":[\"a\"]}");
}

static void test_many_properties(void **state)
{
	struct ev_buf json = {0};
	struct ev_schemainfer *si = new_si(8);
	char *s;
	int i, k;

	(void)state;
	/* past the hash table's first sizes, keys in varying orders */
	for (k = 0; k < 3; k++) {
		json.len = 0;
		ev_buf_putc(&json, '{');
		for (i = 0; i < 300; i++)
			ev_buf_printf(&json, "%s\"k%03d\":%d", i ? "," : "",
				      (i * 7 + k * 13) % 300, i);
		ev_buf_printf(&json, "%s", k == 2 ? ",\"extra\":1}" : "}");
		ev_buf_putc(&json, '\0');
		add(si, "T", 1, (const char *)json.p);
	}
	s = schema_of(si, 0);
	assert_non_null(strstr(s, "\"k000\":{\"type\":\"integer\"},\"k001\""));
	assert_non_null(strstr(s, "\"required\":[\"k000\","));
	assert_non_null(strstr(s, "\"k299\"]}"));
	assert_null(strstr(s, "\"extra\"]"));
	free(s);
	ev_schemainfer_free(si);
	ev_buf_free(&json);
}

/* Objects with more distinct keys than max_props are maps. */
static char *infer_props(size_t max_props, const char *const *vals, size_t n)
{
	struct ev_schemainfer *si = new_si_props(8, max_props);
	struct ev_buf mp = {0};
	struct ev_error err;
	char *s;
	size_t i;

	for (i = 0; i < n; i++)
		add(si, "T", 1, vals[i]);
	s = schema_of(si, 0);
	/* and the values it comes from are valid */
	{
		struct ev_jschema_opts o;
		struct ev_jschema_set *set;
		struct ev_jschema *sc;
		struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
		memset(&o, 0, sizeof(o));
		assert_int_equal(ev_jschema_set_new(&set, &o, &err), 0);
		assert_int_equal(ev_jschema_add(set, s, strlen(s), "t.json",
						NULL, &sc, &err),
				 0);
		assert_int_equal(ev_jschema_set_compile(set, &err), 0);
		for (i = 0; i < n; i++) {
			mp_of(vals[i], &mp);
			if (ev_jschema_validate(sc, mp.p, mp.len, NULL, cx) !=
			    1)
				fail_msg("invalid: %s against %s", vals[i], s);
		}
		ev_jschema_ctx_free(cx);
		ev_jschema_set_free(set);
	}
	ev_buf_free(&mp);
	ev_schemainfer_free(si);
	return s;
}

#define INFER_PROPS(max, ...)                                    \
	infer_props(max, (const char *const[]){__VA_ARGS__},     \
		    sizeof((const char *const[]){__VA_ARGS__}) / \
			    sizeof(char *))

static void test_maps(void **state)
{
	struct ev_buf json = {0};
	const char *v[1];
	int i;

	(void)state;
	/* 3 keys in one object, over 2: a map */
	EXPECT(INFER_PROPS(2, "{\"a\":1,\"b\":\"x\",\"c\":null}"),
	       "{\"type\":\"object\",\"additionalProperties\":{\"type\":["
	       "\"string\",\"integer\",\"null\"]}}");
	/* 2 keys: still properties */
	EXPECT(INFER_PROPS(2, "{\"a\":1,\"b\":\"x\"}", "{\"a\":2}"),
	       "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
	       "\"integer\"},\"b\":{\"type\":\"string\"}},\"required\":[\"a\"]}");
	/* keys over many events (a dictionary by id): the values merged,
	 * with their own required properties, enums and formats */
	EXPECT(INFER_PROPS(
		       3, "{\"u1\":{\"n\":1,\"s\":\"a\"}}",
		       "{\"u2\":{\"n\":2,\"d\":\"2019-09-26\",\"s\":\"a\"}}",
		       "{\"u3\":{\"n\":3,\"s\":\"b\"},\"u4\":{\"n\":4,\"s\":"
		       "\"b\"}}",
		       "{\"u5\":{\"n\":5,\"d\":\"2019-09-27\"}}"),
	       "{\"type\":\"object\",\"additionalProperties\":{\"type\":"
	       "\"object\",\"properties\":{\"d\":{\"type\":\"string\","
	       "\"format\":\"date\"},\"n\":{\"type\":\"integer\"},\"s\":{"
	       "\"type\":\"string\",\"enum\":[\"a\",\"b\"]}},\"required\":["
	       "\"n\"]}}");
	/* values of keys merged while becoming a map have too many keys
	 * together: maps of maps */
	EXPECT(INFER_PROPS(3, "{\"k1\":{\"a\":1,\"b\":1},\"k2\":{\"c\":1,"
			      "\"d\":1},\"k3\":{\"a\":2},\"k4\":{\"e\":true}}"),
	       "{\"type\":\"object\",\"additionalProperties\":{\"type\":"
	       "\"object\",\"additionalProperties\":{\"type\":[\"integer\","
	       "\"boolean\"]}}}");
	/* a map inside a value that is merged into a map: its values join */
	EXPECT(INFER_PROPS(2, "{\"k1\":{\"a\":1,\"b\":2,\"c\":3}}",
			   "{\"k2\":{\"a\":\"x\"},\"k3\":[1]}"),
	       "{\"type\":\"object\",\"additionalProperties\":{\"type\":["
	       "\"object\",\"array\"],\"additionalProperties\":{\"type\":["
	       "\"string\",\"integer\"]},\"items\":{\"type\":\"integer\"}}}");
	/* arrays of objects and keys repeated inside a map */
	EXPECT(INFER_PROPS(1, "{\"a\":[{\"x\":1}],\"a\":[{\"y\":1}]}",
			   "{\"b\":[]}"),
	       "{\"type\":\"object\",\"additionalProperties\":{\"type\":"
	       "\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\""
	       ":{\"type\":\"integer\"}}}}");
	/* the default: 1000 keys are properties, 1001 a map */
	for (i = 1001; i >= 1000; i--) {
		int k;
		json.len = 0;
		ev_buf_putc(&json, '{');
		for (k = 0; k < i; k++)
			ev_buf_printf(&json, "%s\"k%d\":%d", k ? "," : "", k,
				      k);
		ev_buf_printf(&json, "}%c", 0);
		v[0] = (const char *)json.p;
		{
			char *s = infer_props(0, v, 1);
			if (i == 1001)
				assert_string_equal(
					s, "{\"type\":\"object\","
					   "\"additionalProperties\":{\"type\":"
					   "\"integer\"}}");
			else
				assert_non_null(strstr(s, "\"k999\":{"));
			free(s);
		}
	}
	ev_buf_free(&json);
}

/* ------------------------------------------------------------ arrays */

static void test_arrays(void **state)
{
	(void)state;
	/* items merged across every element of every array */
	EXPECT(INFER("[1,2]", "[\"a\"]", "[]"),
	       "{\"type\":\"array\",\"items\":{\"type\":[\"string\","
	       "\"integer\"]}}");
	/* only empty arrays: nothing is known of the items */
	EXPECT(INFER("[]", "[]"), "{\"type\":\"array\"}");
	/* objects in arrays: required over every element */
	EXPECT(INFER("[{\"a\":1,\"b\":2},{\"a\":3}]", "[{\"a\":4,\"b\":5}]"),
	       "{\"type\":\"array\",\"items\":{\"type\":\"object\","
	       "\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":"
	       "\"integer\"}},\"required\":[\"a\"]}}");
	/* arrays of arrays */
	EXPECT(INFER("[[1],[]]", "[[2.5]]"),
	       "{\"type\":\"array\",\"items\":{\"type\":\"array\","
	       "\"items\":{\"type\":\"number\"}}}");
}

static void test_nested(void **state)
{
	(void)state;
	EXPECT(INFER("{\"o\":{\"p\":{\"q\":[{\"r\":null}]}}}",
		     "{\"o\":{\"p\":{\"q\":[]}}}"),
	       "{\"type\":\"object\",\"properties\":{\"o\":{\"type\":"
	       "\"object\",\"properties\":{\"p\":{\"type\":\"object\","
	       "\"properties\":{\"q\":{\"type\":\"array\",\"items\":{"
	       "\"type\":\"object\",\"properties\":{\"r\":{\"type\":"
	       "\"null\"}},\"required\":[\"r\"]}}},\"required\":[\"q\"]}},"
	       "\"required\":[\"p\"]}},\"required\":[\"o\"]}");
}

/* ------------------------------------------------------------ enums */

static void test_enum_rule(void **state)
{
	(void)state;
	/* 2 values in 4 observations: an enum, sorted */
	EXPECT(INFER("\"b\"", "\"a\"", "\"b\"", "\"a\""),
	       "{\"type\":\"string\",\"enum\":[\"a\",\"b\"]}");
	/* fewer than 4 observations: none */
	EXPECT(INFER("\"a\"", "\"a\"", "\"a\""), "{\"type\":\"string\"}");
	EXPECT(INFER("\"a\"", "\"a\"", "\"a\"", "\"a\""),
	       "{\"type\":\"string\",\"enum\":[\"a\"]}");
	/* fewer than twice as many observations as values: none */
	EXPECT(INFER("\"a\"", "\"b\"", "\"c\"", "\"a\"", "\"b\""),
	       "{\"type\":\"string\"}");
	EXPECT(INFER("\"a\"", "\"b\"", "\"c\"", "\"a\"", "\"b\"", "\"c\""),
	       "{\"type\":\"string\",\"enum\":[\"a\",\"b\",\"c\"]}");
	/* with null seen: null is in the enum */
	EXPECT(INFER("\"x\"", "null", "\"x\"", "\"y\"", "\"y\""),
	       "{\"type\":[\"string\",\"null\"],\"enum\":[\"x\",\"y\","
	       "null]}");
	/* with another type: no enum */
	EXPECT(INFER("\"x\"", "1", "\"x\"", "\"x\"", "\"x\""),
	       "{\"type\":[\"string\",\"integer\"]}");
	/* UTF-8 and escapes are kept */
	EXPECT(INFER("\"é\\\"\"", "\"é\\\"\"", "\"\\n\"", "\"\\n\""),
	       "{\"type\":\"string\",\"enum\":[\"\\n\",\"é\\\"\"]}");
	/* order of the enum: bytewise, a prefix first */
	EXPECT(INFER("\"ab\"", "\"a\"", "\"B\"", "\"ab\"", "\"a\"", "\"B\""),
	       "{\"type\":\"string\",\"enum\":[\"B\",\"a\",\"ab\"]}");
}

static void test_enum_max(void **state)
{
	const char *v9[18];
	char buf[18][8];
	int i;

	(void)state;
	/* 9 distinct values, each twice: over the default 8 */
	for (i = 0; i < 18; i++) {
		snprintf(buf[i], sizeof(buf[i]), "\"v%d\"", i % 9);
		v9[i] = buf[i];
	}
	EXPECT(infer_n(8, v9, 18), "{\"type\":\"string\"}");
	EXPECT(infer_n(9, v9, 18),
	       "{\"type\":\"string\",\"enum\":[\"v0\",\"v1\",\"v2\",\"v3\","
	       "\"v4\",\"v5\",\"v6\",\"v7\",\"v8\"]}");
	/* the set stays open once it overflowed, whatever comes after */
	EXPECT(INFER_ENUM(2, "\"a\"", "\"b\"", "\"c\"", "\"a\"", "\"a\"",
			  "\"a\"", "\"a\"", "\"a\""),
	       "{\"type\":\"string\"}");
	/* 0: no enums */
	EXPECT(INFER_ENUM(0, "\"a\"", "\"a\"", "\"a\"", "\"a\""),
	       "{\"type\":\"string\"}");
}

static void test_enum_max_range(void **state)
{
	struct ev_schemainfer_opts o;
	struct ev_schemainfer *si = (void *)1;
	struct ev_error err;

	(void)state;
	ev_schemainfer_opts_init(&o);
	o.enum_max = EV_SCHEMAINFER_ENUM_MAX + 1;
	assert_int_equal(ev_schemainfer_new(&si, &o, &err), EV_EUSAGE);
	assert_null(si);
	assert_string_equal(err.msg, "enum_max: 1001 is more than 1000");
	o.enum_max = EV_SCHEMAINFER_ENUM_MAX;
	assert_int_equal(ev_schemainfer_new(&si, &o, &err), 0);
	ev_schemainfer_free(si);
}

/* A shape seen before costs no allocation, whatever its values. */
static void test_no_alloc_for_repeated_shapes(void **state)
{
	struct ev_schemainfer *si;
	struct ev_buf json = {0}, mp = {0};
	struct ev_error err;
	int i;

	(void)state;
#ifdef UNIT_ASAN
	print_message("# skip: ASan owns the allocator\n");
	skip();
#endif
	si = new_si(8);
	for (i = 0; i < 2000; i++) {
		json.len = 0;
		ev_buf_printf(
			&json,
			"{\"id\":\"%d\",\"n\":%d,\"f\":%d.5,\"c\":\"%s\","
			"\"t\":\"2019-09-26T00:00:%02dZ\",\"a\":[{\"k\":%d},"
			"{\"k\":null,\"m\":[]}],\"o\":{\"p\":%s}}%c",
			i, i, i, i % 3 ? "USD" : "EUR", i % 60, i,
			i % 2 ? "true" : "\"x\"", 0);
		mp_of((const char *)json.p, &mp);
		/* the first ones make the nodes and fill the enums (id's
		 * overflows at 9) */
		counting = i >= 10;
		assert_int_equal(ev_schemainfer_value(si, "T", 1, 1, mp.p,
						      mp.len, &err),
				 1);
		counting = 0;
	}
	assert_int_equal(nallocs, 0);
	ev_buf_free(&json);
	ev_buf_free(&mp);
	ev_schemainfer_free(si);
}

/* ------------------------------------------------------------ formats */

static void test_formats(void **state)
{
	(void)state;
	EXPECT(INFER("\"2019-09-26T00:00:00Z\"",
		     "\"2024-01-01T10:00:00.5+02:00\""),
	       "{\"type\":\"string\",\"format\":\"date-time\"}");
	EXPECT(INFER("\"2019-09-26\""),
	       "{\"type\":\"string\",\"format\":\"date\"}");
	EXPECT(INFER("\"386ea3fa-e4c5-4244-a98f-053a7ba2b821\""),
	       "{\"type\":\"string\",\"format\":\"uuid\"}");
	EXPECT(INFER("\"user1@example.com\"", "\"a.b@c.org\""),
	       "{\"type\":\"string\",\"format\":\"email\"}");
	EXPECT(INFER("\"https://example.com/a?b\"", "\"urn:isbn:0451450523\""),
	       "{\"type\":\"string\",\"format\":\"uri\"}");
	/* one value without it: no format */
	EXPECT(INFER("\"2019-09-26\"", "\"2019-09-26T00:00:00Z\""),
	       "{\"type\":\"string\"}");
	EXPECT(INFER("\"2019-09-26\"", "\"2019-09-26\"", "\"2019-02-30\""),
	       "{\"type\":\"string\"}");
	EXPECT(INFER("\"https://example.com/\"", "\"example.com\""),
	       "{\"type\":\"string\"}");
	/* a format says more than an enum of its values; without one, the
	 * enum again */
	EXPECT(INFER("\"2019-09-26\"", "\"2019-09-26\"", "\"2019-09-26\"",
		     "\"2019-09-26\""),
	       "{\"type\":\"string\",\"format\":\"date\"}");
	EXPECT(INFER("\"2019-09-26\"", "\"2019-09-26\"", "\"x\"", "\"x\""),
	       "{\"type\":\"string\",\"enum\":[\"2019-09-26\",\"x\"]}");
	/* other types beside: the format is about the strings */
	EXPECT(INFER("\"2019-09-26\"", "null", "3"),
	       "{\"type\":[\"string\",\"integer\",\"null\"],\"format\":"
	       "\"date\"}");
	/* no strings, no format */
	EXPECT(INFER("null"), "{\"type\":\"null\"}");
	/* past an overflowing enum, every value is still checked */
	EXPECT(INFER_ENUM(1, "\"2019-09-26\"", "\"2019-09-27\"",
			  "\"2019-09-28\"", "\"nope\""),
	       "{\"type\":\"string\"}");
	EXPECT(INFER_ENUM(1, "\"2019-09-26\"", "\"2019-09-27\"",
			  "\"2019-09-28\"", "\"2019-09-29\""),
	       "{\"type\":\"string\",\"format\":\"date\"}");
}

/* ------------------------------------------------------------ output */

static void test_order_independent(void **state)
{
	static const char *const a[] = {
		"{\"z\":1,\"a\":{\"y\":\"u\",\"x\":[1]},\"m\":\"p\"}",
		"{\"a\":{\"x\":[],\"y\":\"u\"},\"m\":\"q\"}",
		"{\"m\":\"p\",\"z\":2.5,\"a\":{\"y\":\"v\"}}",
		"{\"m\":\"q\",\"a\":{\"y\":\"v\",\"w\":null}}",
	};
	static const char *const b[] = {a[3], a[1], a[2], a[0]};
	char *x, *y;

	(void)state;
	x = infer_n(8, a, 4);
	y = infer_n(8, b, 4);
	assert_string_equal(x, y);
	/* properties sorted, not in the order first seen */
	assert_non_null(strstr(x, "{\"a\":"));
	assert_non_null(strstr(x, "\"required\":[\"a\",\"m\"]"));
	assert_non_null(strstr(x, "\"enum\":[\"p\",\"q\"]"));
	free(x);
	free(y);
}

static void test_layout(void **state)
{
	struct ev_schemainfer *si = new_si(8);
	struct ev_buf out = {0};
	struct ev_error err;

	(void)state;
	add(si, "Order\"Placed", 3, "{\"n\":1,\"tags\":[],\"k\":\"a\"}");
	add(si, "Order\"Placed", 3, "{\"n\":2,\"tags\":[\"x\"],\"k\":\"a\"}");
	add(si, "Order\"Placed", 3, "{\"n\":3,\"k\":\"a\"}");
	add(si, "Order\"Placed", 3, "{\"n\":4,\"k\":\"a\"}");
	assert_int_equal(ev_schemainfer_format(si, 0, &out, &err), 0);
	assert_int_equal(ev_buf_putc(&out, '\0'), 0);
	assert_string_equal(
		(char *)out.p,
		"{\n"
		"  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n"
		"  \"title\": \"Order\\\"Placed (schema 3)\",\n"
		"  \"description\": \"inferred from 4 events\",\n"
		"  \"type\": \"object\",\n"
		"  \"properties\": {\n"
		"    \"k\": {\n"
		"      \"type\": \"string\",\n"
		"      \"enum\": [\n"
		"        \"a\"\n"
		"      ]\n"
		"    },\n"
		"    \"n\": {\n"
		"      \"type\": \"integer\"\n"
		"    },\n"
		"    \"tags\": {\n"
		"      \"type\": \"array\",\n"
		"      \"items\": {\n"
		"        \"type\": \"string\"\n"
		"      }\n"
		"    }\n"
		"  },\n"
		"  \"required\": [\n"
		"    \"k\",\n"
		"    \"n\"\n"
		"  ]\n"
		"}\n");
	/* out is appended to */
	out.len--;
	assert_int_equal(ev_schemainfer_format(si, 0, &out, &err), 0);
	assert_int_equal(out.len % 2, 0);
	assert_memory_equal(out.p, out.p + out.len / 2, out.len / 2);
	assert_int_equal(ev_schemainfer_format(si, 1, &out, &err), EV_EUSAGE);
	ev_buf_free(&out);
	ev_schemainfer_free(si);
}

/* ------------------------------------------------------------ entries */

static void test_entries(void **state)
{
	struct ev_schemainfer *si = new_si(8);
	struct ev_schemainfer_entry e;
	struct ev_buf out = {0};
	struct ev_error err;

	(void)state;
	add(si, "b", 2, "1");
	add(si, "a", 0, "1"); /* 0 is 1 */
	add(si, "b", 1, "1");
	add(si, "b", 10, "1");
	add(si, "a", 1, "2");
	add(si, "b", 2, "3");
	add(si, "a\xc3\xa9", 1, "3");
	assert_int_equal(ev_schemainfer_count(si), 5);
	ev_schemainfer_entry(si, 0, &e);
	assert_string_equal(e.type, "a");
	assert_int_equal(e.schema, 1);
	assert_int_equal(e.events, 2);
	ev_schemainfer_entry(si, 1, &e);
	assert_string_equal(e.type, "a\xc3\xa9");
	ev_schemainfer_entry(si, 2, &e);
	assert_string_equal(e.type, "b");
	assert_int_equal(e.schema, 1);
	ev_schemainfer_entry(si, 3, &e);
	assert_int_equal(e.schema, 2);
	assert_int_equal(e.events, 2);
	ev_schemainfer_entry(si, 4, &e);
	assert_int_equal(e.schema, 10);
	ev_schemainfer_entry(si, 5, &e);
	assert_null(e.type);
	/* a new entry after a listing is listed too */
	add(si, "0", 1, "1");
	assert_int_equal(ev_schemainfer_count(si), 6);
	ev_schemainfer_entry(si, 0, &e);
	assert_string_equal(e.type, "0");
	assert_int_equal(ev_schemainfer_format(si, 5, &out, &err), 0);
	assert_int_equal(ev_buf_putc(&out, '\0'), 0);
	assert_non_null(strstr((char *)out.p, "\"title\": \"b (schema 10)\""));
	assert_non_null(strstr((char *)out.p,
			       "\"description\": \"inferred from 1 "
			       "event\","));
	ev_buf_free(&out);
	ev_schemainfer_free(si);
}

static void test_only(void **state)
{
	struct ev_schemainfer *si = new_si(8);
	struct ev_schemainfer_entry e;
	struct ev_buf mp = {0};
	struct ev_error err;

	(void)state;
	assert_int_equal(ev_schemainfer_only(si, "b", &err), 0);
	assert_int_equal(ev_schemainfer_only(si, "c", &err), 0);
	mp_of("1", &mp);
	assert_int_equal(ev_schemainfer_value(si, "a", 1, 1, mp.p, mp.len,
					      &err),
			 0);
	assert_int_equal(ev_schemainfer_value(si, "bb", 1, 1, mp.p, mp.len,
					      &err),
			 1); /* "b": the length counts */
	assert_int_equal(ev_schemainfer_value(si, "c", 1, 1, mp.p, mp.len,
					      &err),
			 1);
	assert_int_equal(ev_schemainfer_value(si, "a", 1, 1, mp.p, mp.len,
					      &err),
			 0);
	assert_int_equal(ev_schemainfer_count(si), 2);
	ev_schemainfer_entry(si, 0, &e);
	assert_string_equal(e.type, "b");
	ev_buf_free(&mp);
	ev_schemainfer_free(si);
}

/* Records from the parser, as evctl schema infer reads NDJSON. */
static void test_records(void **state)
{
	static const char *const lines[] = {
		"{\"id\":\"1\",\"type\":\"A\",\"data\":{\"x\":1}}",
		"{\"id\":\"2\",\"type\":\"A\",\"schema\":2,\"data\":{\"y\":1}}",
		"{\"id\":\"3\",\"type\":\"A\"}", /* no data: null */
		"{\"id\":\"4\",\"type\":\"B\",\"data_base64\":\"AAEC\"}",
		"{\"id\":\"5\",\"type\":\"B\",\"data\":{\"z\":1}}",
		"{\"id\":\"6\",\"type\":\"C\",\"data\":[1]}",
	};
	struct ev_parse_opts po;
	struct ev_parser *ps;
	struct ev_schemainfer *si = new_si(8);
	struct ev_error err;
	const uint8_t *rec;
	size_t i, n;
	ev_time_t t;
	char *s;

	(void)state;
	memset(&po, 0, sizeof(po));
	po.format = EV_FMT_ENVELOPE;
	assert_non_null(ps = ev_parser_new(&po));
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(ev_parser_line(ps, lines[i], strlen(lines[i]),
						0, &err),
				 1);
		ev_parser_record(ps, 0, &rec, &n, &t);
		assert_int_equal(ev_schemainfer_record(si, rec, n, &err), 1);
	}
	assert_int_equal(ev_schemainfer_record(si, (const uint8_t *)"\x81", 1,
					       &err),
			 EV_EDATA);
	assert_int_equal(ev_schemainfer_count(si), 4);
	EXPECT(schema_of(si, 0),
	       "{\"type\":[\"object\",\"null\"],\"properties\":{\"x\":{"
	       "\"type\":\"integer\"}},\"required\":[\"x\"]}");
	EXPECT(schema_of(si, 1),
	       "{\"type\":\"object\",\"properties\":{\"y\":{\"type\":"
	       "\"integer\"}},\"required\":[\"y\"]}");
	/* binary data: only a schema with no assertion takes it */
	s = schema_of(si, 2);
	assert_string_equal(s, "{}");
	free(s);
	{
		struct ev_buf out = {0};
		assert_int_equal(ev_schemainfer_format(si, 2, &out, &err), 0);
		assert_int_equal(ev_buf_putc(&out, '\0'), 0);
		assert_non_null(strstr((char *)out.p,
				       "\"description\": \"inferred from 2 "
				       "events; 1 with binary data, so any "
				       "value is valid\"\n}\n"));
		ev_buf_free(&out);
	}
	EXPECT(schema_of(si, 3),
	       "{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}");
	ev_parser_free(ps);
	ev_schemainfer_free(si);
}

/* ------------------------------------------------------------ bad data */

static void bad(const char *mp, size_t n, const char *msg)
{
	struct ev_schemainfer *si = new_si(8);
	struct ev_error err;

	assert_int_equal(ev_schemainfer_value(si, "T", 1, 1,
					      (const uint8_t *)mp, n, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, msg);
	ev_schemainfer_free(si);
}

static void test_bad_values(void **state)
{
	struct ev_buf deep = {0};
	int i;

	(void)state;
	bad("\x92\x01", 2, "data is not a JSON value: truncated msgpack");
	bad("\x81\x01\x02", 3,
	    "data is not a JSON value: a map key is not a string");
	bad("\x91\xc4\x01\x00", 4,
	    "data is not a JSON value: binary inside data");
	bad("\xd4\x01\x00", 3, "data is not a JSON value: a msgpack extension");
	bad("\x01\x02", 2, "data is not a JSON value: bytes after the value");
	bad("\x81\xa1\xff\x01", 4,
	    "data is not a JSON value: a string is not UTF-8");
	bad("\x92\xa1\xff\xa1\xff", 5,
	    "data is not a JSON value: a string is not UTF-8");
	for (i = 0; i < 100; i++)
		ev_buf_putc(&deep, 0x91);
	ev_buf_putc(&deep, 0x01);
	{
		/* 100 levels of arrays around an integer: 101 */
		struct ev_schemainfer *si = new_si(8);
		struct ev_error err;
		assert_int_equal(ev_schemainfer_value(si, "T", 1, 1, deep.p,
						      deep.len - 1, &err),
				 EV_EDATA);
		assert_int_equal(ev_schemainfer_value(si, "T", 1, 1, deep.p + 1,
						      deep.len - 1, &err),
				 1);
		ev_schemainfer_free(si);
	}
	deep.len = 0;
	for (i = 0; i < 101; i++)
		ev_buf_putc(&deep, 0x91);
	ev_buf_putc(&deep, 0x01);
	bad((const char *)deep.p, deep.len,
	    "data is nested deeper than 100 levels");
	ev_buf_free(&deep);
}

/* ------------------------------------------------------------ the invariant */

/*
 * Every value observed validates against the schema inferred from it,
 * with the validator (formats asserted, which is the stricter).  The
 * values come from records: fed is called twice, first to infer, then to
 * validate each record against its (type, schema version)'s schema.
 */
struct check {
	struct ev_schemainfer *si;
	struct ev_jschema_set *set;
	struct ev_jschema **sc; /* by entry */
	struct ev_jschema_ctx *cx;
	size_t n;
	uint64_t checked;
};

static void check_compile(struct check *c)
{
	struct ev_jschema_opts o;
	struct ev_buf text = {0};
	struct ev_error err;
	size_t i;

	memset(&o, 0, sizeof(o));
	o.formats_assert = 1;
	o.check_meta = 1;
	assert_int_equal(ev_jschema_set_new(&c->set, &o, &err), 0);
	c->n = ev_schemainfer_count(c->si);
	assert_true(c->n > 0);
	c->sc = calloc(c->n, sizeof(*c->sc));
	for (i = 0; i < c->n; i++) {
		char name[64];
		text.len = 0;
		assert_int_equal(ev_schemainfer_format(c->si, i, &text, &err),
				 0);
		snprintf(name, sizeof(name), "inferred-%zu.json", i);
		if (ev_jschema_add(c->set, (const char *)text.p, text.len, name,
				   NULL, &c->sc[i], &err) != 0)
			fail_msg("%s: %s", name, err.msg);
	}
	if (ev_jschema_set_compile(c->set, &err) != 0)
		fail_msg("compile: %s", err.msg);
	c->cx = ev_jschema_ctx_new();
	assert_non_null(c->cx);
	ev_buf_free(&text);
}

/* Validate one record's data against its schema. */
static void check_record(struct check *c, const uint8_t *rec, size_t n,
			 const char *where)
{
	static const uint8_t nil[1] = {0xc0};
	struct ev_schemainfer_entry e;
	struct ev_event ev;
	struct ev_error err;
	size_t i;
	int r;

	assert_int_equal(ev_event_decode(rec, n, &ev, &err), 0);
	for (i = 0; i < c->n; i++) {
		ev_schemainfer_entry(c->si, i, &e);
		if (e.type_n == ev.type.n &&
		    memcmp(e.type, ev.type.p, e.type_n) == 0 &&
		    e.schema == (ev.schema ? ev.schema : 1))
			break;
	}
	assert_true(i < c->n);
	assert_false(ev.data_is_binary);
	r = ev_jschema_validate(c->sc[i], ev.data ? ev.data : nil,
				ev.data ? ev.data_len : 1, "/data", c->cx);
	if (r != 1) {
		const struct ev_jschema_error *x =
			ev_jschema_error_at(c->cx, 0);
		struct ev_buf text = {0};
		ev_schemainfer_format(c->si, i, &text, &err);
		ev_buf_putc(&text, '\0');
		fail_msg("%s: %d: %s: %s (%s)\n%s", where, r,
			 x ? x->instance_path : "?", x ? x->message : "?",
			 x ? x->schema_path : "?", (char *)text.p);
	}
	c->checked++;
}

static void check_free(struct check *c)
{
	ev_jschema_ctx_free(c->cx);
	ev_jschema_set_free(c->set);
	free(c->sc);
	ev_schemainfer_free(c->si);
}

/* Each line of text (NDJSON) through the parser: inferred, then checked. */
static void check_ndjson(const char *text, size_t len,
			 const struct ev_parse_opts *po, unsigned enum_max,
			 uint64_t *events)
{
	struct check c;
	struct ev_parser *ps;
	struct ev_error err;
	int pass;

	memset(&c, 0, sizeof(c));
	c.si = new_si(enum_max);
	assert_non_null(ps = ev_parser_new(po));
	for (pass = 0; pass < 2; pass++) {
		const char *p = text, *end = text + len, *nl;
		uint64_t line = 0;
		if (pass == 1)
			check_compile(&c);
		for (; p < end; p = nl + 1) {
			const uint8_t *rec;
			size_t n;
			ev_time_t t;
			int k, i;
			char where[64];
			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL)
				nl = end;
			line++;
			if (nl == p)
				continue;
			k = ev_parser_line(ps, p, (size_t)(nl - p), 1, &err);
			if (k < 0)
				fail_msg("line %llu: %s",
					 (unsigned long long)line, err.msg);
			for (i = 0; i < k; i++) {
				ev_parser_record(ps, i, &rec, &n, &t);
				if (pass == 0) {
					assert_int_equal(
						ev_schemainfer_record(c.si, rec,
								      n, &err),
						1);
					continue;
				}
				snprintf(where, sizeof(where), "line %llu",
					 (unsigned long long)line);
				check_record(&c, rec, n, where);
			}
		}
	}
	*events = c.checked;
	ev_parser_free(ps);
	check_free(&c);
}

static void test_invariant_edges(void **state)
{
	static const char text[] =
		/* integers beyond int64, integral floats, fractions */
		"{\"id\":\"1\",\"type\":\"N\",\"data\":18446744073709551615}\n"
		"{\"id\":\"2\",\"type\":\"N\",\"data\":-9223372036854775808}\n"
		"{\"id\":\"3\",\"type\":\"N\",\"data\":1.0}\n"
		"{\"id\":\"4\",\"type\":\"N\",\"data\":1e300}\n"
		"{\"id\":\"5\",\"type\":\"N\",\"data\":-0.0}\n"
		"{\"id\":\"6\",\"type\":\"I\",\"data\":1.0}\n"
		"{\"id\":\"7\",\"type\":\"I\",\"data\":1e300}\n"
		"{\"id\":\"8\",\"type\":\"I\",\"data\":18446744073709551615}\n"
		"{\"id\":\"9\",\"type\":\"F\",\"data\":0.1}\n"
		"{\"id\":\"10\",\"type\":\"F\",\"data\":5e-324}\n"
		"{\"id\":\"11\",\"type\":\"F\",\"data\":3}\n"
		/* empty arrays and objects, arrays of everything */
		"{\"id\":\"12\",\"type\":\"A\",\"data\":[]}\n"
		"{\"id\":\"13\",\"type\":\"A\",\"data\":[[],{},null,1,\"s\"]}\n"
		"{\"id\":\"14\",\"type\":\"E\",\"data\":{}}\n"
		"{\"id\":\"15\",\"type\":\"E\",\"data\":{\"a\":[]}}\n"
		/* repeated keys, keys that are keywords, odd keys */
		"{\"id\":\"16\",\"type\":\"K\",\"data\":{\"a\":1,\"a\":\"x\"}}\n"
		"{\"id\":\"17\",\"type\":\"K\",\"data\":{\"$ref\":\"#/x\","
		"\"required\":[1],\"\":null,\"\\u0000\":\"\\\"\"}}\n"
		/* no data (null), enums with null and UTF-8 */
		"{\"id\":\"18\",\"type\":\"S\"}\n"
		"{\"id\":\"19\",\"type\":\"S\",\"data\":\"\\u00e9\"}\n"
		"{\"id\":\"20\",\"type\":\"S\",\"data\":\"\\u00e9\"}\n"
		"{\"id\":\"21\",\"type\":\"S\",\"schema\":2,\"data\":\"\\ud83d\\ude00\"}\n"
		"{\"id\":\"22\",\"type\":\"S\",\"schema\":2,\"data\":\"\\ud83d\\ude00\"}\n"
		"{\"id\":\"23\",\"type\":\"S\",\"schema\":2,\"data\":\"\\ud83d\\ude00\"}\n"
		"{\"id\":\"24\",\"type\":\"S\",\"schema\":2,\"data\":\"\\ud83d\\ude00\"}\n"
		/* formats */
		"{\"id\":\"25\",\"type\":\"D\",\"data\":{\"t\":\"2019-09-26T00:00:00Z\","
		"\"d\":\"2019-09-26\",\"u\":\"386ea3fa-e4c5-4244-a98f-053a7ba2b821\","
		"\"e\":\"a@b.example\",\"w\":\"https://x.example/\"}}\n";
	struct ev_parse_opts po;
	uint64_t n;
	unsigned max;

	(void)state;
	memset(&po, 0, sizeof(po));
	po.format = EV_FMT_ENVELOPE;
	for (max = 0; max <= 8; max += 4) {
		check_ndjson(text, sizeof(text) - 1, &po, max, &n);
		assert_int_equal(n, 25);
	}
}

/* The check can fail: values the data did not have are invalid. */
static void test_invariant_can_fail(void **state)
{
	static const char *const bad[] = {
		"{\"a\":\"x\",\"b\":true}",	    /* a: a string */
		"{\"b\":true}",			    /* a missing */
		"{\"a\":1.5,\"b\":true}",	    /* a: not an integer */
		"{\"a\":1,\"b\":true,\"e\":\"z\"}", /* e: not in the enum */
		"{\"a\":1,\"b\":true,\"d\":\"2019-13-01\"}", /* not a date */
		"[]",
	};
	struct check c;
	struct ev_buf mp = {0};
	size_t i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.si = new_si(8);
	add(c.si, "T", 1,
	    "{\"a\":1,\"b\":true,\"e\":\"y\",\"d\":\"2019-09-26\"}");
	add(c.si, "T", 1, "{\"a\":2,\"b\":false,\"e\":\"y\"}");
	add(c.si, "T", 1, "{\"a\":3,\"b\":false,\"e\":\"y\"}");
	add(c.si, "T", 1, "{\"a\":4,\"b\":false,\"e\":\"y\"}");
	check_compile(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mp_of(bad[i], &mp);
		if (ev_jschema_validate(c.sc[0], mp.p, mp.len, NULL, c.cx) != 0)
			fail_msg("valid: %s", bad[i]);
	}
	mp_of("{\"a\":-1,\"b\":true,\"e\":\"y\",\"x\":null}", &mp);
	assert_int_equal(ev_jschema_validate(c.sc[0], mp.p, mp.len, NULL, c.cx),
			 1);
	ev_buf_free(&mp);
	check_free(&c);
}

/* $EVLOG_DATA/file, or a skip with the reason (a failure when
 * EVLOG_REQUIRE_CORPORA is set), as tests/helper.bash need_data */
static const char *data_path(const char *file, char *buf, size_t n)
{
	const char *dir = getenv("EVLOG_DATA");
	const char *req = getenv("EVLOG_REQUIRE_CORPORA");

	if (dir == NULL || *dir == '\0') {
		if (req != NULL && *req != '\0')
			fail_msg("EVLOG_DATA is not set, and "
				 "EVLOG_REQUIRE_CORPORA is: this test needs %s",
				 file);
		print_message("# skip: needs %s from ../shared: set EVLOG_DATA "
			      "(tests/run sets it when ../shared/data "
			      "exists)\n",
			      file);
		skip();
	}
	snprintf(buf, n, "%s/%s", dir, file);
	if (access(buf, R_OK) != 0)
		fail_msg("EVLOG_DATA is set but '%s' is missing", buf);
	return buf;
}

static void test_invariant_gen_events(void **state)
{
	char path[4200], cmd[4400];
	struct ev_parse_opts po;
	struct ev_buf text = {0};
	size_t k;
	uint64_t n;
	FILE *f;

	(void)state;
	/* the generator beside the data: ../shared/bench */
	data_path("../bench/gen_events.py", path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "python3 '%s' 20000 --seed 3", path);
	assert_non_null(f = popen(cmd, "r"));
	do {
		assert_int_equal(ev_buf_reserve(&text, 65536), 0);
		k = fread(text.p + text.len, 1, 65536, f);
		text.len += k;
	} while (k > 0);
	assert_int_equal(pclose(f), 0);
	memset(&po, 0, sizeof(po));
	po.format = EV_FMT_ENVELOPE;
	check_ndjson((const char *)text.p, text.len, &po, 8, &n);
	assert_int_equal(n, 20000);
	ev_buf_free(&text);
}

static void test_invariant_gharchive(void **state)
{
	char path[4200], *text;
	struct ev_parse_opts po;
	size_t len;
	uint64_t n;

	(void)state;
	data_path("gharchive-minimized-2019-09-26-0.ndjson", path,
		  sizeof(path));
	assert_non_null(text = unit_read_file(path, &len));
	memset(&po, 0, sizeof(po));
	po.format = EV_FMT_WRAP;
	po.type_from = "type";
	check_ndjson(text, len, &po, 8, &n);
	assert_true(n > 60000);
	free(text);
}

/* Random bytes, mostly msgpack headers: never a crash, a leak or a
 * read out of bounds (run under ASan), and what is taken formats. */
static void test_random_bytes(void **state)
{
	static const uint8_t heads[] = {0x80, 0x81, 0x82, 0x8f, 0x90, 0x91,
					0x93, 0xa1, 0xa3, 0xc0, 0xc2, 0xc3,
					0xcb, 0xcf, 0xd3, 0xd9, 0xdc, 0xde,
					0xc4, 0xd4, 0x01, 0xff, 0xca, 0x7f};
	struct ev_schemainfer *si = new_si(2);
	struct ev_buf out = {0};
	struct ev_error err;
	uint8_t buf[64];
	uint64_t x = 42;
	size_t i, k, n;
	int r, ok = 0;

	(void)state;
	for (i = 0; i < 200000; i++) {
		n = 1 + (size_t)((x >> 33) % sizeof(buf));
		for (k = 0; k < n; k++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			buf[k] = (x >> 60) < 10
					 ? heads[(x >> 40) % sizeof(heads)]
				 : (uint8_t)(x >> 50) % 4 == 0
					 ? (uint8_t)'a'
					 : (uint8_t)(x >> 33);
		}
		r = ev_schemainfer_value(si, "T", 1, 1 + (x >> 62), buf, n,
					 &err);
		assert_true(r == 1 || r == EV_EDATA);
		ok += r == 1;
	}
	assert_true(ok > 1000);
	for (i = 0; i < ev_schemainfer_count(si); i++)
		assert_int_equal(ev_schemainfer_format(si, i, &out, &err), 0);
	ev_buf_free(&out);
	ev_schemainfer_free(si);
}

/* ------------------------------------------------------------ files */

static void test_write_dir(void **state)
{
	struct ev_schemainfer *si = new_si(8);
	struct ev_buf written = {0}, one = {0};
	struct ev_error err;
	char *dir = unit_tmpdir(), path[4400], *text;
	size_t n;

	(void)state;
	add(si, "a/b", 1, "1");
	add(si, ".hidden", 2, "1");
	add(si, "_x%y", 1, "1");
	add(si, "Plain", 1, "{\"a\":1}");
	add(si, "Plain", 3, "{\"a\":1}");
	snprintf(path, sizeof(path), "%s/schemas/", dir);
	assert_int_equal(ev_schemainfer_write_dir(si, path, &written, &err), 0);
	assert_int_equal(ev_buf_putc(&written, '\0'), 0);
	snprintf(path, sizeof(path),
		 "%s/schemas/%%2Ehidden/2.json\n"
		 "%s/schemas/Plain/1.json\n"
		 "%s/schemas/Plain/3.json\n"
		 "%s/schemas/%%5Fx%%25y/1.json\n"
		 "%s/schemas/a%%2Fb/1.json\n",
		 dir, dir, dir, dir, dir);
	assert_string_equal((char *)written.p, path);
	snprintf(path, sizeof(path), "%s/schemas/Plain/3.json", dir);
	assert_non_null(text = unit_read_file(path, &n));
	assert_int_equal(ev_schemainfer_format(si, 2, &one, &err), 0);
	assert_int_equal(n, one.len);
	assert_memory_equal(text, one.p, n);
	free(text);

	/* nothing replaced, nothing new written when one file exists */
	add(si, "New", 1, "1");
	written.len = 0;
	snprintf(path, sizeof(path), "%s/schemas", dir);
	assert_int_equal(ev_schemainfer_write_dir(si, path, &written, &err),
			 EV_EEXIST);
	snprintf(path, sizeof(path), "'%s/schemas/%%2Ehidden/2.json' exists",
		 dir);
	assert_string_equal(err.msg, path);
	assert_int_equal(written.len, 0);
	snprintf(path, sizeof(path), "%s/schemas/New", dir);
	assert_int_equal(access(path, F_OK), -1);

	/* a file where a directory should be */
	snprintf(path, sizeof(path), "%s/file", dir);
	assert_int_equal(unit_write_file(path, "x", 1), 0);
	assert_int_equal(ev_schemainfer_write_dir(si, path, NULL, &err),
			 EV_EIO);
	assert_non_null(strstr(err.msg, "cannot create '"));
	assert_non_null(strstr(err.msg, "/file': Not a directory"));
	/* a parent that does not exist */
	snprintf(path, sizeof(path), "%s/no/such", dir);
	assert_int_equal(ev_schemainfer_write_dir(si, path, NULL, &err),
			 EV_EIO);
	assert_non_null(strstr(err.msg, "No such file or directory"));

	ev_buf_free(&written);
	ev_buf_free(&one);
	ev_schemainfer_free(si);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalar_types),
		cmocka_unit_test(test_mixed_types),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_many_properties),
		cmocka_unit_test(test_maps),
		cmocka_unit_test(test_no_alloc_for_repeated_shapes),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_enum_rule),
		cmocka_unit_test(test_enum_max),
		cmocka_unit_test(test_enum_max_range),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_only),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_write_dir),
		cmocka_unit_test(test_invariant_edges),
		cmocka_unit_test(test_invariant_can_fail),
		cmocka_unit_test(test_invariant_gen_events),
		cmocka_unit_test(test_invariant_gharchive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
