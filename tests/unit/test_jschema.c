/*
 * test_jschema.c - the JSON Schema validator (lib/jschema*.c): the API,
 * errors with their instance and schema paths and ajv-like messages,
 * the bad inputs of issue 12 section 6, references through --ref-dir
 * mappings and the local root, the embedded metaschemas, two threads on
 * one compiled set, and a speed figure (printed, not asserted).
 */
#include <pthread.h>
#include <time.h>

#include "unit.h"
#include "jschema_int.h"

/* JSON text to msgpack (deep values allowed) */
static void to_mp(const char *json, struct ev_buf *b)
{
	struct ev_json js;

	b->len = 0;
	ev_json_init(&js, json, strlen(json));
	js.depth = -1000;
	if (ev_json_value(&js, b) != 0)
		fail_msg("test JSON does not parse: %s", json);
}

static struct ev_jschema_set *set_of(const struct ev_jschema_opts *o)
{
	struct ev_jschema_set *s = NULL;
	struct ev_error err = {0};

	if (ev_jschema_set_new(&s, o, &err) != 0)
		fail_msg("set_new: %s", err.msg);
	return s;
}

/* compile one schema; NULL and err filled on failure */
static struct ev_jschema *compile(struct ev_jschema_set *s, const char *json,
				  const char *name, struct ev_error *err)
{
	struct ev_jschema *sc = NULL;

	memset(err, 0, sizeof(*err));
	if (ev_jschema_add(s, json, strlen(json), name, NULL, &sc, err) != 0)
		return NULL;
	if (ev_jschema_set_compile(s, err) != 0)
		return NULL;
	return sc;
}

static int check(const struct ev_jschema *sc, const char *inst,
		 struct ev_jschema_ctx *cx, const char *prefix)
{
	struct ev_buf b = {0};
	int r;

	to_mp(inst, &b);
	r = ev_jschema_validate(sc, b.p, b.len, prefix, cx);
	ev_buf_free(&b);
	return r;
}

static const char *order_schema =
	"{\"type\":\"object\",\"required\":[\"id\",\"amount\"],"
	"\"additionalProperties\":false,"
	"\"properties\":{\"id\":{\"type\":\"string\",\"minLength\":3},"
	"\"amount\":{\"type\":\"number\",\"minimum\":0},"
	"\"currency\":{\"enum\":[\"EUR\",\"USD\"]},"
	"\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/item\"}},"
	"\"note\":{\"type\":[\"string\",\"null\"],\"maxLength\":5}},"
	"\"$defs\":{\"item\":{\"type\":\"object\",\"required\":[\"sku\"],"
	"\"properties\":{\"sku\":{\"type\":\"string\"},"
	"\"qty\":{\"type\":\"integer\",\"exclusiveMinimum\":0}}}}}";

static void test_valid_and_errors(void **state)
{
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_error err;
	struct ev_jschema *sc = compile(s, order_schema, "order.json", &err);
	const struct ev_jschema_error *e;

	(void)state;
	if (sc == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(ev_jschema_draft_of(sc), EV_JS_DRAFT_2020_12);
	assert_int_equal(check(sc,
			       "{\"id\":\"abc\",\"amount\":1.5,\"currency\":"
			       "\"EUR\",\"items\":[{\"sku\":\"x\",\"qty\":2}],"
			       "\"note\":null}",
			       cx, NULL),
			 1);
	assert_int_equal(ev_jschema_nerrors(cx), 0);
	/* 1 == 1.0 for integer */
	assert_int_equal(check(sc,
			       "{\"id\":\"abc\",\"amount\":0,\"items\":"
			       "[{\"sku\":\"x\",\"qty\":1.0}]}",
			       cx, NULL),
			 1);

	assert_int_equal(check(sc, "{\"id\":\"abc\"}", cx, "/data"), 0);
	assert_int_equal(ev_jschema_nerrors(cx), 1);
	e = ev_jschema_error_at(cx, 0);
	assert_string_equal(e->instance_path, "/data");
	assert_string_equal(e->keyword, "required");
	assert_string_equal(e->message, "must have required property 'amount'");
	assert_string_equal(e->schema_path, "order.json#/required");
	assert_null(ev_jschema_error_at(cx, 1));

	assert_int_equal(
		check(sc,
		      "{\"id\":\"ab\",\"amount\":-1,\"currency\":\"GBP\","
		      "\"x\":1,\"items\":[{\"qty\":0}],\"note\":7}",
		      cx, ""),
		0);
	assert_int_equal(ev_jschema_nerrors(cx), 7);
	e = ev_jschema_error_at(cx, 0);
	assert_string_equal(e->instance_path, "/id");
	assert_string_equal(e->message,
			    "must NOT have fewer than 3 characters");
	assert_string_equal(e->schema_path,
			    "order.json#/properties/id/minLength");
	e = ev_jschema_error_at(cx, 1);
	assert_string_equal(e->instance_path, "/amount");
	assert_string_equal(e->message, "must be >= 0");
	assert_string_equal(e->keyword, "minimum");
	e = ev_jschema_error_at(cx, 2);
	assert_string_equal(e->instance_path, "/currency");
	assert_string_equal(e->message,
			    "must be equal to one of the allowed values");
	e = ev_jschema_error_at(cx, 3);
	assert_string_equal(e->instance_path, "/x");
	assert_string_equal(e->message, "must NOT have additional properties");
	assert_string_equal(e->schema_path, "order.json#/additionalProperties");
	e = ev_jschema_error_at(cx, 4);
	assert_string_equal(e->instance_path, "/items/0/qty");
	assert_string_equal(e->message, "must be > 0");
	assert_string_equal(e->schema_path,
			    "order.json#/$defs/item/properties/qty/"
			    "exclusiveMinimum");
	e = ev_jschema_error_at(cx, 5);
	assert_string_equal(e->instance_path, "/items/0");
	assert_string_equal(e->message, "must have required property 'sku'");
	e = ev_jschema_error_at(cx, 6);
	assert_string_equal(e->instance_path, "/note");
	assert_string_equal(e->message, "must be string,null");

	/* a scalar where an object is expected */
	assert_int_equal(check(sc, "[1]", cx, NULL), 0);
	e = ev_jschema_error_at(cx, 0);
	assert_string_equal(e->message, "must be object");
	assert_string_equal(e->instance_path, "");
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

/* the registry's own errors join the validator's (jschema_int.h) */
static void test_ctx_add_error(void **state)
{
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_error err;
	struct ev_jschema *sc =
		compile(s, "{\"type\":\"string\"}", "t.json", &err);
	const struct ev_jschema_error *e;

	(void)state;
	assert_int_equal(check(sc, "1", cx, "/data"), 0);
	assert_int_equal(ev_jschema_ctx_add_error(cx, "", "schemas/T/2.json",
						  "schema", "no schema file"),
			 0);
	assert_int_equal(ev_jschema_nerrors(cx), 2);
	e = ev_jschema_error_at(cx, 0);
	assert_string_equal(e->message, "must be string");
	e = ev_jschema_error_at(cx, 1);
	assert_string_equal(e->schema_path, "schemas/T/2.json");
	assert_string_equal(e->message, "no schema file");
	ev_jschema_ctx_clear(cx);
	assert_int_equal(ev_jschema_nerrors(cx), 0);
	assert_int_equal(check(sc, "\"x\"", cx, NULL), 1);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

static void test_max_errors(void **state)
{
	struct ev_jschema_opts o = {0};
	struct ev_jschema_set *s;
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_error err;
	struct ev_jschema *sc;

	(void)state;
	o.max_errors = 2;
	s = set_of(&o);
	sc = compile(s, "{\"items\":{\"type\":\"string\"}}", NULL, &err);
	assert_non_null(sc);
	assert_int_equal(check(sc, "[1,2,3,4]", cx, NULL), 0);
	assert_int_equal(ev_jschema_nerrors(cx), 2);
	assert_string_equal(ev_jschema_error_at(cx, 1)->instance_path, "/1");
	/* a generated URI names a schema added without a name */
	assert_non_null(strstr(ev_jschema_error_at(cx, 0)->schema_path,
			       "#/items/type"));
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

static void test_keywords(void **state)
{
	static const struct {
		const char *schema, *inst;
		int valid;
		const char *msg;
	} t[] = {
		{"{\"multipleOf\":0.0001}", "0.0075", 1, NULL},
		{"{\"multipleOf\":0.01}", "19.99", 1, NULL},
		{"{\"multipleOf\":0.01}", "19.991", 0,
		 "must be multiple of 0.01"},
		{"{\"multipleOf\":3}", "9007199254740993", 1, NULL},
		{"{\"multipleOf\":3}", "9007199254740994", 0, NULL},
		{"{\"maxLength\":2}", "\"\\u00e9\\u00e9\"", 1, NULL},
		{"{\"maxLength\":1}", "\"\\ud83d\\ude00\"", 1, NULL},
		{"{\"pattern\":\"b\"}", "\"abc\"", 1, NULL},
		{"{\"pattern\":\"^b\"}", "\"abc\"", 0,
		 "must match pattern \"^b\""},
		{"{\"const\":{\"a\":[1,{\"b\":2}],\"c\":null}}",
		 "{\"c\":null,\"a\":[1.0,{\"b\":2.0}]}", 1, NULL},
		{"{\"const\":{\"a\":1}}", "{\"a\":1,\"b\":1}", 0,
		 "must be equal to constant"},
		{"{\"uniqueItems\":true}", "[1,{\"a\":1},1.0]", 0,
		 "must NOT have duplicate items (items ## 2 and 0 are "
		 "identical)"},
		{"{\"uniqueItems\":true}",
		 "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}]", 0, NULL},
		{"{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":3}]}", "2", 0,
		 "must match a schema in anyOf"},
		{"{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":3}]}", "4", 0,
		 "must match exactly one schema in oneOf (matches 0 and 1)"},
		{"{\"not\":{\"type\":\"null\"}}", "null", 0,
		 "must NOT be valid"},
		{"{\"allOf\":[{\"type\":\"integer\"},{\"maximum\":3}]}", "4", 0,
		 "must be <= 3"},
		{"{\"if\":{\"minimum\":5},\"then\":{\"multipleOf\":5}}", "6", 0,
		 "must be multiple of 5"},
		{"{\"contains\":{\"type\":\"string\"}}", "[1]", 0,
		 "must contain at least 1 valid item(s)"},
		{"{\"prefixItems\":[{\"type\":\"integer\"}],\"items\":false}",
		 "[1,2]", 0, "must NOT have more than 1 items"},
		{"{\"dependentRequired\":{\"a\":[\"b\"]}}", "{\"a\":1}", 0,
		 "must have property 'b' when property 'a' is present"},
		{"{\"propertyNames\":{\"maxLength\":2}}", "{\"abc\":1}", 0,
		 "property name 'abc' is invalid"},
		{"{\"properties\":{\"a\":true},\"unevaluatedProperties\":false}",
		 "{\"a\":1,\"b\":2}", 0,
		 "must NOT have unevaluated properties"},
		{"{\"minProperties\":1}", "{}", 0,
		 "must NOT have fewer than 1 properties"},
		{"false", "1", 0, "boolean schema is false"},
		{"{\"format\":\"date\"}", "\"nope\"", 1, NULL},
		{"{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
		 "\"$ref\":\"#/definitions/a\",\"maximum\":0,"
		 "\"definitions\":{\"a\":{\"type\":\"integer\"}}}",
		 "5", 1, NULL},
		{"{\"$ref\":\"#/$defs/a\",\"maximum\":0,"
		 "\"$defs\":{\"a\":{\"type\":\"integer\"}}}",
		 "5", 0, "must be <= 0"},
	};
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ev_jschema_set *s = set_of(NULL);
		struct ev_error err;
		struct ev_jschema *sc = compile(s, t[i].schema, "t", &err);
		int r;

		if (sc == NULL)
			fail_msg("%s: %s", t[i].schema, err.msg);
		r = check(sc, t[i].inst, cx, NULL);
		if (r != t[i].valid)
			fail_msg("%s against %s: got %d", t[i].inst,
				 t[i].schema, r);
		if (t[i].msg != NULL &&
		    strcmp(ev_jschema_error_at(cx, 0)->message, t[i].msg) != 0)
			fail_msg("%s against %s: message '%s'", t[i].inst,
				 t[i].schema,
				 ev_jschema_error_at(cx, 0)->message);
		ev_jschema_set_free(s);
	}
	ev_jschema_ctx_free(cx);
}

/* ------------------------------------------------------------ bad input */

static void expect_compile_error(const struct ev_jschema_opts *o,
				 const char *json, const char *name,
				 const char *want)
{
	struct ev_jschema_set *s = set_of(o);
	struct ev_error err;

	if (compile(s, json, name, &err) != NULL)
		fail_msg("'%s' compiles", json);
	assert_int_equal(err.code, EV_EDATA);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	ev_jschema_set_free(s);
}

static void test_bad_json(void **state)
{
	(void)state;
	expect_compile_error(NULL, "{\"type\":\n  \"string\",}", "s.json",
			     "s.json:2:12: invalid JSON");
	expect_compile_error(NULL, "{} x", "s.json",
			     "s.json:1:4: invalid JSON");
	expect_compile_error(NULL, "", "e.json", "e.json:1:1: invalid JSON");
	/* schemas nest to 512 levels: the message says so (not events' 64) */
	{
		struct ev_buf b = {0};
		struct ev_jschema_set *s = set_of(NULL);
		struct ev_error err;
		int i;

		ev_buf_puts(&b, "{\"const\":");
		for (i = 0; i < 511; i++)
			ev_buf_putc(&b, '[');
		for (i = 0; i < 511; i++)
			ev_buf_putc(&b, ']');
		ev_buf_puts(&b, "}");
		ev_buf_putc(&b, '\0');
		if (compile(s, (const char *)b.p, "d.json", &err) == NULL)
			fail_msg("512 levels: %s", err.msg);
		ev_jschema_set_free(s);
		b.len = 0;
		ev_buf_puts(&b, "{\"const\":");
		for (i = 0; i < 512; i++)
			ev_buf_putc(&b, '[');
		for (i = 0; i < 512; i++)
			ev_buf_putc(&b, ']');
		ev_buf_puts(&b, "}");
		ev_buf_putc(&b, '\0');
		expect_compile_error(NULL, (const char *)b.p, "d.json",
				     "d.json:1:521: invalid JSON: nesting "
				     "deeper than 512 levels");
		ev_buf_free(&b);
	}
}

static void test_bad_schemas(void **state)
{
	struct ev_jschema_opts o = {0};

	(void)state;
	/* not a schema where one must be */
	expect_compile_error(NULL, "{\"properties\":{\"a\":3}}", "s.json",
			     "s.json: /properties/a: a schema must be an "
			     "object or a boolean");
	expect_compile_error(NULL, "{\"type\":\"strin\"}", "s.json",
			     "s.json: /type: unknown type 'strin'");
	expect_compile_error(NULL, "{\"minLength\":-1}", "s.json",
			     "'minLength' must be a non-negative integer");
	/* a regex PCRE2 (or ECMA) rejects, with its keyword path */
	expect_compile_error(
		NULL, "{\"properties\":{\"n\":{\"pattern\":\"(\"}}}", "s.json",
		"s.json: /properties/n/pattern: invalid regex '('");
	expect_compile_error(NULL, "{\"patternProperties\":{\"[\":true}}",
			     "s.json",
			     "s.json: /patternProperties/[: invalid regex");
	/* a key twice in one object, at the root and deeper (one of them
	 * was once a crash in validation) */
	expect_compile_error(NULL,
			     "{\"patternProperties\":{\"^x\":true},"
			     "\"patternProperties\":{\"^x\":false}}",
			     "k.json",
			     "k.json: /: duplicate key 'patternProperties'");
	expect_compile_error(NULL,
			     "{\"properties\":{\"a/b\":{\"type\":\"array\","
			     "\"type\":\"integer\"}}}",
			     "k.json",
			     "k.json: /properties/a~1b: duplicate key 'type'");
	expect_compile_error(NULL, "{\"enum\":[1,{\"x\":1,\"x\":2}]}", "k.json",
			     "k.json: /enum/1: duplicate key 'x'");
	/* cycles with no progress */
	expect_compile_error(NULL, "{\"$ref\":\"#\"}", "c.json",
			     "c.json: /: $ref cycle with no progress");
	expect_compile_error(NULL,
			     "{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},"
			     "\"b\":{\"allOf\":[{\"$ref\":\"#/$defs/a\"}]}},"
			     "\"$ref\":\"#/$defs/a\"}",
			     "c.json", "$ref cycle with no progress");
	/* unresolvable */
	expect_compile_error(NULL, "{\"$ref\":\"https://x/y.json\"}", "r.json",
			     "r.json: /$ref: unresolvable $ref "
			     "'https://x/y.json': not in the schema "
			     "directory; map it with --ref-dir");
	expect_compile_error(NULL, "{\"$ref\":\"#/$defs/nope\"}", "r.json",
			     "no such location");
	expect_compile_error(NULL, "{\"$ref\":\"#nope\"}", "r.json",
			     "no such anchor");
	expect_compile_error(NULL,
			     "{\"$schema\":\"http://json-schema.org/draft-04/"
			     "schema#\"}",
			     "d4.json",
			     "d4.json: /$schema: unsupported $schema "
			     "'http://json-schema.org/draft-04/schema#'");
	/* a metaschema violation */
	o.check_meta = 1;
	expect_compile_error(&o, "{\"type\":\"object\",\"minLength\":\"3\"}",
			     "m.json",
			     "m.json: /minLength: must be integer (metaschema "
			     "https://json-schema.org/draft/2020-12/meta/"
			     "validation#/$defs/nonNegativeInteger/type)");
	expect_compile_error(&o,
			     "{\"$schema\":\"http://json-schema.org/draft-07/"
			     "schema#\",\"required\":\"a\"}",
			     "m7.json", "m7.json: /required: must be array");
	expect_compile_error(&o, "{\"$schema\":\"http://example.com/unknown\"}",
			     "u.json",
			     "u.json: /$schema: unknown $schema "
			     "'http://example.com/unknown'");
}

/* a failed document leaves the set usable; one $id for two documents is
 * an error */
static void test_after_errors(void **state)
{
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *sc = NULL;
	struct ev_error err;
	const char *bad = "{\"properties\":{\"a\":{\"$ref\":\"#/x\"},"
			  "\"b\":{\"pattern\":\"(\"}}}";
	const char *a = "{\"$id\":\"http://e.com/a\",\"type\":\"string\"}";
	const char *b = "{\"$id\":\"http://e.com/a\",\"type\":\"null\"}";

	(void)state;
	assert_int_equal(ev_jschema_add(s, bad, strlen(bad), "bad.json", NULL,
					&sc, &err),
			 EV_EDATA);
	assert_int_equal(ev_jschema_add(s, a, strlen(a), "a.json", NULL, &sc,
					&err),
			 0);
	assert_int_equal(ev_jschema_set_compile(s, &err), 0);
	assert_int_equal(check(sc, "\"x\"", cx, NULL), 1);
	assert_int_equal(ev_jschema_add(s, b, strlen(b), "b.json", NULL, &sc,
					&err),
			 EV_EDATA);
	assert_string_equal(err.msg, "b.json: /: '$id' 'http://e.com/a' is "
				     "also the '$id' of 'a.json'");
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

static void test_check_meta_passes(void **state)
{
	struct ev_jschema_opts o = {0};
	struct ev_jschema_set *s;
	struct ev_error err;

	(void)state;
	o.check_meta = 1;
	s = set_of(&o);
	if (compile(s, order_schema, "order.json", &err) == NULL)
		fail_msg("%s", err.msg);
	if (compile(s,
		    "{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
		    "\"$id\":\"http://e.com/x\",\"type\":\"object\","
		    "\"definitions\":{\"a\":{}}}",
		    "d7.json", &err) == NULL)
		fail_msg("%s", err.msg);
	if (compile(s,
		    "{\"$schema\":\"https://json-schema.org/draft/2019-09/"
		    "schema\",\"$id\":\"http://e.com/y\","
		    "\"properties\":{\"a\":{\"$recursiveRef\":\"#\"}}}",
		    "d19.json", &err) == NULL)
		fail_msg("%s", err.msg);
	ev_jschema_set_free(s);
}

/* 100 levels of properties: compiles and validates */
static void test_deep_schema(void **state)
{
	struct ev_buf sch = {0}, inst = {0};
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *sc;
	struct ev_error err;
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		ev_buf_puts(&sch,
			    "{\"type\":\"object\",\"properties\":{\"a\":");
	ev_buf_puts(&sch, "{\"type\":\"integer\"}");
	for (i = 0; i < 100; i++)
		ev_buf_puts(&sch, "}}");
	ev_buf_putc(&sch, '\0');
	sc = compile(s, (const char *)sch.p, "deep.json", &err);
	if (sc == NULL)
		fail_msg("%s", err.msg);
	for (i = 0; i < 60; i++)
		ev_buf_puts(&inst, "{\"a\":");
	ev_buf_puts(&inst, "{}");
	for (i = 0; i < 60; i++)
		ev_buf_putc(&inst, '}');
	ev_buf_putc(&inst, '\0');
	assert_int_equal(check(sc, (const char *)inst.p, cx, NULL), 1);
	inst.p[60 * 5] = '1'; /* {} becomes 1} */
	inst.p[60 * 5 + 1] = ' ';
	assert_int_equal(check(sc, (const char *)inst.p, cx, NULL), 0);
	assert_int_equal(strlen(ev_jschema_error_at(cx, 0)->instance_path),
			 60 * 2);
	assert_string_equal(ev_jschema_error_at(cx, 0)->message,
			    "must be object");
	ev_buf_free(&sch);
	ev_buf_free(&inst);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

/* an instance 64 levels deep validates; one far deeper is an error */
static void test_deep_instance(void **state)
{
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *sc;
	struct ev_error err;
	struct ev_buf inst = {0}, mp = {0};
	int i;

	(void)state;
	sc = compile(s,
		     "{\"$defs\":{\"n\":{\"type\":[\"array\",\"integer\"],"
		     "\"items\":{\"$ref\":\"#/$defs/n\"}}},"
		     "\"$ref\":\"#/$defs/n\"}",
		     "n.json", &err);
	if (sc == NULL)
		fail_msg("%s", err.msg);
	for (i = 0; i < 63; i++)
		ev_buf_putc(&inst, '[');
	ev_buf_putc(&inst, '1');
	for (i = 0; i < 63; i++)
		ev_buf_putc(&inst, ']');
	ev_buf_putc(&inst, '\0');
	assert_int_equal(check(sc, (const char *)inst.p, cx, NULL), 1);
	/* msgpack of 1000 nested arrays: 0x91 * 1000, then 1 */
	for (i = 0; i < 1000; i++)
		ev_buf_putc(&mp, 0x91);
	ev_buf_putc(&mp, 0x01);
	assert_int_equal(ev_jschema_validate(sc, mp.p, mp.len, NULL, cx),
			 EV_EDATA);
	assert_int_equal(ev_jschema_nerrors(cx), 1);
	assert_non_null(strstr(ev_jschema_error_at(cx, 0)->message,
			       "invalid instance"));
	/* not a JSON image: bin, truncated */
	mp.len = 0;
	ev_buf_append(&mp, "\xc4\x01x", 3);
	assert_int_equal(ev_jschema_validate(sc, mp.p, mp.len, NULL, cx),
			 EV_EDATA);
	assert_int_equal(ev_jschema_validate(sc, mp.p, 1, NULL, cx), EV_EDATA);
	ev_buf_free(&inst);
	ev_buf_free(&mp);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* a chain of n $refs d0 -> d1 -> ... -> dn = {"type":"integer"} */
static void ref_chain(struct ev_buf *sch, int n)
{
	int i;

	sch->len = 0;
	ev_buf_puts(sch, "{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
	for (i = 0; i < n; i++)
		ev_buf_printf(sch, "\"d%d\":{\"$ref\":\"#/$defs/d%d\"},", i,
			      i + 1);
	ev_buf_printf(sch, "\"d%d\":{\"type\":\"integer\"}}}", n);
	ev_buf_putc(sch, '\0');
}

/* A chain of $refs deeper than the runtime recursion would fail every
 * value: an error when compiled, found in linear time.  A shorter one
 * works; recursion through the instance still stops at run time. */
static void test_runtime_depth(void **state)
{
	struct ev_buf sch = {0}, inst = {0};
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *sc;
	struct ev_error err;
	double t0;
	int i;

	(void)state;
	ref_chain(&sch, 2000);
	assert_null(compile(s, (const char *)sch.p, "chain.json", &err));
	assert_int_equal(err.code, EV_EDATA);
	assert_string_equal(err.msg,
			    "chain.json: /$defs/d1499: references nest deeper "
			    "than 500 levels (a chain of $ref or "
			    "allOf/anyOf/oneOf/not/if)");
	ev_jschema_set_free(s);
	/* the root and 500 links: 501 levels */
	s = set_of(NULL);
	ref_chain(&sch, 500);
	assert_null(compile(s, (const char *)sch.p, "chain.json", &err));
	assert_non_null(strstr(err.msg, "chain.json: /: references nest"));
	ev_jschema_set_free(s);
	/* 499 links: 500 levels */
	s = set_of(NULL);
	ref_chain(&sch, 499);
	sc = compile(s, (const char *)sch.p, "chain.json", &err);
	if (sc == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(check(sc, "1", cx, NULL), 1);
	assert_int_equal(check(sc, "\"x\"", cx, NULL), 0);
	assert_string_equal(ev_jschema_error_at(cx, 0)->schema_path,
			    "chain.json#/$defs/d499/type");
	ev_jschema_set_free(s);
	/* linear: 100,000 links took minutes */
	s = set_of(NULL);
	ref_chain(&sch, 100000);
	t0 = now_s();
	assert_null(compile(s, (const char *)sch.p, "chain.json", &err));
	assert_non_null(strstr(err.msg, "references nest deeper than 500"));
	if (now_s() - t0 > 20)
		fail_msg("100000 $refs compile in %.1f s", now_s() - t0);
	ev_jschema_set_free(s);
	/* 400 levels per level of the instance: the third is too deep */
	s = set_of(NULL);
	sch.len = 0;
	ev_buf_puts(&sch, "{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
	for (i = 0; i < 400; i++)
		ev_buf_printf(&sch, "\"d%d\":{\"$ref\":\"#/$defs/d%d\"},", i,
			      i + 1);
	ev_buf_puts(&sch, "\"d400\":{\"type\":\"array\",\"items\":"
			  "{\"$ref\":\"#/$defs/d0\"}}}}");
	ev_buf_putc(&sch, '\0');
	sc = compile(s, (const char *)sch.p, "chain.json", &err);
	if (sc == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(check(sc, "[[]]", cx, NULL), 1);
	assert_int_equal(check(sc, "[[[]]]", cx, NULL), EV_EDATA);
	assert_non_null(
		strstr(ev_jschema_error_at(cx, 0)->message,
		       "schema recursion too deep at chain.json#/$defs/"));
	ev_buf_free(&sch);
	ev_buf_free(&inst);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

/* Work that doubles with each level: in place, a compile error; through
 * the instance's nesting, an error of that value once it has taken the
 * budget of steps */
static void test_step_budget(void **state)
{
	struct ev_buf sch = {0}, inst = {0};
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *sc;
	struct ev_error err;
	double t0;
	int i;

	(void)state;
	ev_buf_puts(&sch, "{\"$ref\":\"#/$defs/d0\",\"$defs\":{");
	for (i = 0; i < 40; i++)
		ev_buf_printf(&sch,
			      "\"d%d\":{\"allOf\":[{\"$ref\":\"#/$defs/d%d\"},"
			      "{\"$ref\":\"#/$defs/d%d\"}]},",
			      i, i + 1, i + 1);
	ev_buf_puts(&sch, "\"d40\":{\"type\":\"integer\"}}}");
	ev_buf_putc(&sch, '\0');
	assert_null(compile(s, (const char *)sch.p, "exp.json", &err));
	assert_int_equal(err.code, EV_EDATA);
	assert_string_equal(err.msg,
			    "exp.json: /$defs/d18: the schema branches "
			    "exponentially: validating one value would take "
			    "more than 10000000 steps");
	ev_jschema_set_free(s);
	/* 2^n through nested arrays that fail both branches */
	s = set_of(NULL);
	sc = compile(s,
		     "{\"$defs\":{\"a\":{\"type\":\"array\",\"anyOf\":["
		     "{\"items\":{\"$ref\":\"#/$defs/a\"}},"
		     "{\"items\":{\"$ref\":\"#/$defs/a\"}}]}},"
		     "\"$ref\":\"#/$defs/a\"}",
		     "exp.json", &err);
	if (sc == NULL)
		fail_msg("%s", err.msg);
	for (i = 0; i < 40; i++)
		ev_buf_putc(&inst, '[');
	ev_buf_puts(&inst, "\"x\"");
	for (i = 0; i < 40; i++)
		ev_buf_putc(&inst, ']');
	ev_buf_putc(&inst, '\0');
	t0 = now_s();
	assert_int_equal(check(sc, (const char *)inst.p, cx, "/data"),
			 EV_EDATA);
	if (now_s() - t0 > 30)
		fail_msg("the budget took %.1f s", now_s() - t0);
	assert_int_equal(ev_jschema_nerrors(cx), 1);
	assert_string_equal(ev_jschema_error_at(cx, 0)->message,
			    "validation exceeded its budget of 10000000 steps "
			    "in 'exp.json': the schema branches exponentially");
	assert_non_null(
		strstr(ev_jschema_error_at(cx, 0)->schema_path, "exp.json#/"));
	/* a shallow one is answered */
	assert_int_equal(check(sc, "[[[[\"x\"]]]]", cx, NULL), 0);
	assert_int_equal(check(sc, "[[[[]]]]", cx, NULL), 1);
	ev_buf_free(&sch);
	ev_buf_free(&inst);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

/* properties compile in linear time (hashed): 200,000 names that differ
 * in a few bytes took minutes */
static void test_many_properties(void **state)
{
	struct ev_buf sch = {0};
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *sc;
	struct ev_error err;
	double t0, dt;
	int i;

	(void)state;
	ev_buf_puts(&sch, "{\"required\":[\"p199999\"],\"properties\":{");
	for (i = 0; i < 200000; i++)
		ev_buf_printf(&sch, "%s\"p%d\":{\"type\":\"integer\"}",
			      i ? "," : "", i);
	ev_buf_puts(&sch, "}}");
	ev_buf_putc(&sch, '\0');
	t0 = now_s();
	sc = compile(s, (const char *)sch.p, "many.json", &err);
	dt = now_s() - t0;
	if (sc == NULL)
		fail_msg("%s", err.msg);
	if (dt > 20)
		fail_msg("200000 properties compile in %.1f s", dt);
	assert_int_equal(check(sc, "{\"p5\":1,\"p199999\":2,\"q\":\"x\"}", cx,
			       NULL),
			 1);
	assert_int_equal(check(sc, "{\"p123456\":\"x\",\"p199999\":2}", cx,
			       NULL),
			 0);
	assert_string_equal(ev_jschema_error_at(cx, 0)->schema_path,
			    "many.json#/properties/p123456/type");
	assert_int_equal(check(sc, "{\"p5\":1}", cx, NULL), 0);
	assert_string_equal(ev_jschema_error_at(cx, 0)->keyword, "required");
	ev_buf_free(&sch);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

/* uniqueItems on long arrays goes by hashes, with the same answer */
static void test_unique_long(void **state)
{
	struct ev_buf a = {0};
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *sc;
	struct ev_error err;
	int i;

	(void)state;
	sc = compile(s, "{\"uniqueItems\":true}", "u.json", &err);
	assert_non_null(sc);
	ev_buf_putc(&a, '[');
	for (i = 0; i < 20000; i++)
		ev_buf_printf(&a, "%s{\"k\":%d,\"v\":[%d]}", i ? "," : "", i,
			      i % 7);
	ev_buf_puts(&a, ",{\"v\":[6.0],\"k\":13}]");
	ev_buf_putc(&a, '\0');
	assert_int_equal(check(sc, (const char *)a.p, cx, NULL), 0);
	assert_string_equal(ev_jschema_error_at(cx, 0)->message,
			    "must NOT have duplicate items (items ## 20000 and "
			    "13 are identical)");
	a.len -= 21; /* the duplicate, "]" and the NUL */
	ev_buf_puts(&a, "]");
	ev_buf_putc(&a, '\0');
	assert_int_equal(check(sc, (const char *)a.p, cx, NULL), 1);
	ev_buf_free(&a);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

static void test_huge_enum(void **state)
{
	struct ev_buf sch = {0};
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *sc;
	struct ev_error err;
	struct timespec a, b;
	int i;

	(void)state;
	ev_buf_puts(&sch, "{\"enum\":[");
	for (i = 0; i < 100000; i++)
		ev_buf_printf(&sch, "%s\"v%d\",%d", i ? "," : "", i, i);
	ev_buf_puts(&sch, ",{\"a\":[1,2]}]}");
	ev_buf_putc(&sch, '\0');
	sc = compile(s, (const char *)sch.p, "enum.json", &err);
	if (sc == NULL)
		fail_msg("%s", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(check(sc, "\"v99999\"", cx, NULL), 1);
		assert_int_equal(check(sc, "99999.0", cx, NULL), 1);
		assert_int_equal(check(sc, "\"v100000\"", cx, NULL), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(check(sc, "{\"a\":[1.0,2]}", cx, NULL), 1);
	/* hashed: 3000 lookups in well under a second */
	assert_true((b.tv_sec - a.tv_sec) * 1000000000L +
			    (b.tv_nsec - a.tv_nsec) <
		    1000000000L);
	ev_buf_free(&sch);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

/* ------------------------------------------------------------- references */

static char tmpdir[4096];

static void write_file(const char *rel, const char *text)
{
	char path[8192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_ref_dirs_and_local_root(void **state)
{
	char map[8300], plain[8300], path[8400], root[8300];
	const char *dirs[3] = {map, plain, NULL};
	struct ev_jschema_opts o = {0};
	struct ev_jschema_set *s;
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *sc = NULL;
	struct ev_error err = {0};

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_jschema.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/remote", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/host.example", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/reg", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/reg/common dir", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/reg/A", tmpdir);
	mkdir(path, 0755);
	write_file("remote/money.json", "{\"type\":\"number\",\"minimum\":0}");
	write_file("host.example/id.json", "{\"type\":\"string\"}");
	write_file("reg/common dir/cur.json", "{\"enum\":[\"EUR\"]}");
	write_file("reg/A/1.json",
		   "{\"properties\":{\"amount\":{\"$ref\":"
		   "\"https://schemas.example/money.json\"},"
		   "\"id\":{\"$ref\":\"http://host.example/id.json\"},"
		   "\"cur\":{\"$ref\":\"../common%20dir/cur.json\"}}}");
	write_file("outside.json", "{}");
	snprintf(map, sizeof(map), "https://schemas.example/=%s/remote",
		 tmpdir);
	snprintf(plain, sizeof(plain), "%s", tmpdir);
	snprintf(root, sizeof(root), "%s/reg", tmpdir);
	o.ref_dirs = dirs;
	o.local_root = root;
	s = set_of(&o);
	snprintf(path, sizeof(path), "%s/reg/A/1.json", tmpdir);
	if (ev_jschema_add_file(s, path, &sc, &err) != 0 ||
	    ev_jschema_set_compile(s, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(check(sc,
			       "{\"amount\":1,\"id\":\"x\",\"cur\":\"EUR\"}",
			       cx, NULL),
			 1);
	assert_int_equal(check(sc, "{\"amount\":-1}", cx, NULL), 0);
	assert_non_null(strstr(ev_jschema_error_at(cx, 0)->schema_path,
			       "/remote/money.json#/minimum"));
	assert_int_equal(check(sc, "{\"cur\":\"USD\"}", cx, NULL), 0);
	assert_int_equal(check(sc, "{\"id\":1}", cx, NULL), 0);
	ev_jschema_set_free(s);

	/* outside the local root: an error naming the URI */
	s = set_of(&o);
	write_file("reg/A/2.json", "{\"$ref\":\"../../outside.json\"}");
	snprintf(path, sizeof(path), "%s/reg/A/2.json", tmpdir);
	assert_int_equal(ev_jschema_add_file(s, path, &sc, &err), 0);
	assert_int_equal(ev_jschema_set_compile(s, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "unresolvable $ref 'file://"));
	assert_non_null(strstr(err.msg, "outside.json'"));
	ev_jschema_set_free(s);

	/* a missing file */
	s = set_of(&o);
	snprintf(path, sizeof(path), "%s/reg/nope.json", tmpdir);
	assert_int_equal(ev_jschema_add_file(s, path, &sc, &err), EV_ENOENT);
	ev_jschema_set_free(s);
	ev_jschema_ctx_free(cx);
	{
		char cmd[8300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		assert_int_equal(system(cmd), 0);
	}
}

/* a $ref to a FIFO or a directory: an error naming it, never a hang
 * (alarm: a hang fails the test) */
static void test_ref_not_regular(void **state)
{
	char root[8300], path[8400];
	struct ev_jschema_opts o = {0};
	struct ev_jschema_set *s;
	struct ev_jschema *sc = NULL;
	struct ev_error err = {0};
	const char *refs[2] = {"{\"$ref\":\"f\"}", "{\"$ref\":\"../B/\"}"};
	const char *want[2] = {"/reg/A/f' is not a regular file (a FIFO)",
			       "/reg/B' is not a regular file (a directory)"};
	int i;

	(void)state;
	alarm(30);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_jschema.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(root, sizeof(root), "%s/reg", tmpdir);
	mkdir(root, 0755);
	snprintf(path, sizeof(path), "%s/reg/A", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/reg/B", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/reg/A/f", tmpdir);
	assert_int_equal(mkfifo(path, 0644), 0);
	o.local_root = root;
	for (i = 0; i < 2; i++) {
		s = set_of(&o);
		write_file("reg/A/1.json", refs[i]);
		snprintf(path, sizeof(path), "%s/reg/A/1.json", tmpdir);
		assert_int_equal(ev_jschema_add_file(s, path, &sc, &err), 0);
		assert_int_equal(ev_jschema_set_compile(s, &err), EV_EDATA);
		if (strstr(err.msg, "/reg/A/1.json: /$ref: '") == NULL ||
		    strstr(err.msg, want[i]) == NULL)
			fail_msg("message '%s' lacks '%s'", err.msg, want[i]);
		ev_jschema_set_free(s);
	}
	/* the file itself */
	s = set_of(&o);
	snprintf(path, sizeof(path), "%s/reg/A/f", tmpdir);
	assert_int_equal(ev_jschema_add_file(s, path, &sc, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "is not a regular file (a FIFO)"));
	snprintf(path, sizeof(path), "%s/reg/B", tmpdir);
	assert_int_equal(ev_jschema_add_file(s, path, &sc, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "is not a regular file (a directory)"));
	ev_jschema_set_free(s);
	alarm(0);
	{
		char cmd[8300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		assert_int_equal(system(cmd), 0);
	}
}

static void test_ids_and_anchors(void **state)
{
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *sc, *other;
	struct ev_error err;

	(void)state;
	sc = compile(s,
		     "{\"$id\":\"https://e.com/root.json\","
		     "\"properties\":{\"a\":{\"$ref\":\"item.json\"},"
		     "\"b\":{\"$ref\":\"#pos\"},"
		     "\"c\":{\"$ref\":\"urn:x:y\"}},"
		     "\"$defs\":{\"i\":{\"$id\":\"item.json\","
		     "\"type\":\"string\"},"
		     "\"p\":{\"$anchor\":\"pos\",\"minimum\":0},"
		     "\"u\":{\"$id\":\"urn:x:y\",\"type\":\"null\"}}}",
		     "ids.json", &err);
	if (sc == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(check(sc, "{\"a\":\"x\",\"b\":1,\"c\":null}", cx,
			       NULL),
			 1);
	assert_int_equal(check(sc, "{\"a\":1}", cx, NULL), 0);
	assert_int_equal(check(sc, "{\"b\":-1}", cx, NULL), 0);
	assert_int_equal(check(sc, "{\"c\":0}", cx, NULL), 0);
	other = ev_jschema_get(s, "https://e.com/item.json", &err);
	assert_ptr_not_equal(other, NULL);
	assert_int_equal(check(other, "\"x\"", cx, NULL), 1);
	other = ev_jschema_get(s, "https://e.com/root.json#/$defs/p", &err);
	assert_ptr_not_equal(other, NULL);
	assert_int_equal(check(other, "-1", cx, NULL), 0);
	assert_null(ev_jschema_get(s, "https://e.com/root.json#nope", &err));
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

/* a URI names one document: an $id may not take another file's URI, or
 * another $id, whichever loads first */
static void add_two(const char *j1, const char *u1, const char *j2,
		    const char *u2, const char *want, const char *want2)
{
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_error err = {0};
	int r;

	r = ev_jschema_add(s, j1, strlen(j1), u1 + 7, u1, NULL, &err);
	assert_int_equal(r, 0);
	r = ev_jschema_add(s, j2, strlen(j2), u2 + 7, u2, NULL, &err);
	if (r == 0)
		r = ev_jschema_set_compile(s, &err);
	assert_int_equal(r, EV_EDATA);
	if (strstr(err.msg, want) == NULL || strstr(err.msg, want2) == NULL)
		fail_msg("message '%s' lacks '%s' or '%s'", err.msg, want,
			 want2);
	ev_jschema_set_free(s);
}

static void test_id_collisions(void **state)
{
	const char *id2 = "{\"$id\":\"2.json\",\"type\":\"object\"}";
	const char *two = "{\"required\":[\"x\"]}";
	const char *idb = "{\"$id\":\"../B/1.json\"}";

	(void)state;
	/* the $id first, then the file it names */
	add_two(id2, "file:///r/A/1.json", two, "file:///r/A/2.json",
		"/r/A/2.json: its URI 'file:///r/A/2.json' is also the '$id' "
		"of '/r/A/1.json'",
		"");
	/* the file first, then the $id */
	add_two(two, "file:///r/A/2.json", id2, "file:///r/A/1.json",
		"/r/A/1.json: /: '$id' 'file:///r/A/2.json' is also the URI "
		"of '/r/A/2.json'",
		"");
	/* across types */
	add_two(idb, "file:///r/A/1.json", two, "file:///r/B/1.json",
		"/r/B/1.json", "'$id' of '/r/A/1.json'");
	add_two(two, "file:///r/B/1.json", idb, "file:///r/A/1.json",
		"/r/A/1.json", "URI of '/r/B/1.json'");
	/* two $ids, nested ones too */
	add_two("{\"$id\":\"http://x/y\"}", "file:///r/A/1.json",
		"{\"$defs\":{\"a\":{\"$id\":\"http://x/y\"}}}",
		"file:///r/B/1.json",
		"/r/B/1.json: /$defs/a: '$id' 'http://x/y' is also the '$id' "
		"of '/r/A/1.json'",
		"");
}

/* a regex that hits the match limit has no answer: an error of the
 * instance at the pattern's schema path, which not/anyOf do not hide */
static void expect_re_limit(const char *schema, const char *inst,
			    const char *ipath, const char *spath)
{
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_error err;
	struct ev_jschema *sc = compile(s, schema, "re.json", &err);
	const struct ev_jschema_error *e;

	if (sc == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(check(sc, inst, cx, "/data"), EV_EDATA);
	assert_int_equal(ev_jschema_nerrors(cx), 1);
	e = ev_jschema_error_at(cx, 0);
	assert_string_equal(
		e->message,
		"regex match limit exceeded for pattern '(.*a){20}'");
	assert_string_equal(e->instance_path, ipath);
	assert_string_equal(e->schema_path, spath);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

static void test_regex_limit(void **state)
{
	(void)state;
	expect_re_limit("{\"type\":\"object\",\"patternProperties\":"
			"{\"(.*a){20}\":{\"type\":\"integer\"}}}",
			"{\"aaaaaaaaaaaaaaaaaaaa\":\"not an integer\"}",
			"/data/aaaaaaaaaaaaaaaaaaaa",
			"re.json#/patternProperties/(.*a){20}");
	/* with additionalProperties: false, no second error */
	expect_re_limit("{\"patternProperties\":{\"(.*a){20}\":true},"
			"\"additionalProperties\":false}",
			"{\"aaaaaaaaaaaaaaaaaaaa\":1}",
			"/data/aaaaaaaaaaaaaaaaaaaa",
			"re.json#/patternProperties/(.*a){20}");
	expect_re_limit("{\"pattern\":\"(.*a){20}\"}",
			"\"aaaaaaaaaaaaaaaaaaaa\"", "/data",
			"re.json#/pattern");
	expect_re_limit("{\"not\":{\"pattern\":\"(.*a){20}\"}}",
			"\"aaaaaaaaaaaaaaaaaaaa\"", "/data",
			"re.json#/not/pattern");
	expect_re_limit("{\"anyOf\":[{\"pattern\":\"(.*a){20}\"},"
			"{\"type\":\"integer\"}]}",
			"\"aaaaaaaaaaaaaaaaaaaa\"", "/data",
			"re.json#/anyOf/0/pattern");
}

static void test_metaschema_get(void **state)
{
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *m;
	struct ev_error err;

	(void)state;
	m = ev_jschema_get(s, "https://json-schema.org/draft/2020-12/schema",
			   &err);
	if (m == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(ev_jschema_draft_of(m), EV_JS_DRAFT_2020_12);
	assert_int_equal(check(m, order_schema, cx, NULL), 1);
	assert_int_equal(check(m, "{\"properties\":{\"a\":{\"type\":1}}}", cx,
			       NULL),
			 0);
	assert_string_equal(ev_jschema_error_at(cx, 0)->instance_path,
			    "/properties/a/type");
	m = ev_jschema_get(s, "http://json-schema.org/draft-07/schema#", &err);
	if (m == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(ev_jschema_draft_of(m), EV_JS_DRAFT_7);
	assert_int_equal(check(m, "{\"required\":[1]}", cx, NULL), 0);
	m = ev_jschema_get(s, "https://json-schema.org/draft/2019-09/schema",
			   &err);
	if (m == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(check(m, "{\"$recursiveAnchor\":1}", cx, NULL), 0);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

/* 2019-09: $recursiveRef extends a recursive schema */
static void test_recursive_ref(void **state)
{
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *strict = NULL, *tree = NULL, *m;
	struct ev_error err;
	const char *t = "{\"$schema\":\"https://json-schema.org/draft/2019-09/"
			"schema\",\"$id\":\"http://e.com/tree.json\","
			"\"$recursiveAnchor\":true,\"type\":\"object\","
			"\"properties\":{\"data\":true,\"children\":{"
			"\"type\":\"array\",\"items\":{\"$recursiveRef\":"
			"\"#\"}}}}";
	const char *st = "{\"$schema\":\"https://json-schema.org/draft/"
			 "2019-09/schema\",\"$id\":\"http://e.com/strict\","
			 "\"$recursiveAnchor\":true,\"$ref\":\"tree.json\","
			 "\"unevaluatedProperties\":false}";

	(void)state;
	assert_int_equal(ev_jschema_add(s, t, strlen(t), "tree.json", NULL,
					&tree, &err),
			 0);
	assert_int_equal(ev_jschema_add(s, st, strlen(st), "strict.json", NULL,
					&strict, &err),
			 0);
	assert_int_equal(ev_jschema_set_compile(s, &err), 0);
	assert_int_equal(ev_jschema_draft_of(strict), EV_JS_DRAFT_2019_09);
	assert_int_equal(check(tree, "{\"children\":[{\"daat\":1}]}", cx, NULL),
			 1);
	assert_int_equal(check(strict, "{\"children\":[{\"data\":1}]}", cx,
			       NULL),
			 1);
	assert_int_equal(check(strict, "{\"children\":[{\"daat\":1}]}", cx,
			       NULL),
			 0);
	assert_string_equal(ev_jschema_error_at(cx, 0)->instance_path,
			    "/children/0/daat");
	m = ev_jschema_get(s, "https://json-schema.org/draft/2019-09/schema",
			   &err);
	assert_non_null(m);
	assert_int_equal(check(m,
			       "{\"properties\":{\"a\":{\"properties\":{"
			       "\"b\":{\"type\":3}}}}}",
			       cx, NULL),
			 0);
	assert_int_equal(check(m,
			       "{\"properties\":{\"a\":{\"properties\":{"
			       "\"b\":{\"type\":\"string\"}}}}}",
			       cx, NULL),
			 1);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

static void test_add_mp(void **state)
{
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *sc = NULL;
	struct ev_error err;
	struct ev_buf b = {0};

	(void)state;
	to_mp("{\"type\":\"integer\"}", &b);
	assert_int_equal(ev_jschema_add_mp(s, b.p, b.len, "mp", NULL, &sc,
					   &err),
			 0);
	assert_int_equal(ev_jschema_set_compile(s, &err), 0);
	assert_int_equal(check(sc, "3", cx, NULL), 1);
	assert_int_equal(check(sc, "3.5", cx, NULL), 0);
	/* trailing bytes */
	assert_int_equal(ev_jschema_add_mp(s, b.p, b.len - 1, "mp2", NULL, &sc,
					   &err),
			 EV_EDATA);
	ev_buf_free(&b);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

/* ---------------------------------------------------- threads and speed */

struct thr {
	const struct ev_jschema *sc;
	const uint8_t *good, *bad;
	size_t gn, bn;
	int fails;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	int i;

	for (i = 0; i < 20000; i++) {
		if (ev_jschema_validate(t->sc, t->good, t->gn, NULL, cx) != 1)
			t->fails++;
		if (ev_jschema_validate(t->sc, t->bad, t->bn, "/d", cx) != 0 ||
		    ev_jschema_nerrors(cx) != 1 ||
		    strcmp(ev_jschema_error_at(cx, 0)->instance_path,
			   "/d/amount") != 0)
			t->fails++;
	}
	ev_jschema_ctx_free(cx);
	return NULL;
}

static void test_threads(void **state)
{
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema *sc;
	struct ev_error err;
	struct ev_buf g = {0}, b = {0};
	struct thr t[2];
	pthread_t th[2];
	int i;

	(void)state;
	sc = compile(s, order_schema, "order.json", &err);
	assert_non_null(sc);
	to_mp("{\"id\":\"abc\",\"amount\":2,\"items\":[{\"sku\":\"a\"}]}", &g);
	to_mp("{\"id\":\"abc\",\"amount\":-2}", &b);
	for (i = 0; i < 2; i++) {
		t[i].sc = sc;
		t[i].good = g.p;
		t[i].gn = g.len;
		t[i].bad = b.p;
		t[i].bn = b.len;
		t[i].fails = 0;
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]),
				 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(t[i].fails, 0);
	}
	ev_buf_free(&g);
	ev_buf_free(&b);
	ev_jschema_set_free(s);
}

static void test_speed(void **state)
{
	static const char *schema =
		"{\"type\":\"object\",\"required\":[\"orderId\",\"customerId\","
		"\"amount\",\"currency\",\"status\"],"
		"\"properties\":{\"orderId\":{\"type\":\"string\"},"
		"\"customerId\":{\"type\":\"string\"},"
		"\"amount\":{\"type\":\"number\",\"minimum\":0},"
		"\"currency\":{\"enum\":[\"EUR\",\"USD\",\"GBP\"]},"
		"\"status\":{\"enum\":[\"new\",\"paid\",\"shipped\"]},"
		"\"items\":{\"type\":\"integer\",\"minimum\":1},"
		"\"channel\":{\"type\":\"string\"},"
		"\"coupon\":{\"type\":[\"string\",\"null\"]},"
		"\"createdAt\":{\"type\":\"string\",\"format\":\"date-time\"},"
		"\"express\":{\"type\":\"boolean\"}},"
		"\"additionalProperties\":false}";
	static const char *rec =
		"{\"orderId\":\"o-1234567\",\"customerId\":\"c-998\","
		"\"amount\":129.95,\"currency\":\"EUR\",\"status\":\"paid\","
		"\"items\":3,\"channel\":\"web\",\"coupon\":null,"
		"\"createdAt\":\"2024-05-01T10:00:00Z\",\"express\":false}";
	struct ev_jschema_set *s = set_of(NULL);
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_jschema *sc;
	struct ev_error err;
	struct ev_buf b = {0};
	struct timespec t0, t1, c0, c1;
	int i, ok = 0;
	double ns, cpu;

	(void)state;
	sc = compile(s, schema, "speed.json", &err);
	assert_non_null(sc);
	to_mp(rec, &b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (i = 0; i < 200000; i++)
		ok += ev_jschema_validate(sc, b.p, b.len, NULL, cx);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(ok, 200000);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	      (double)(t1.tv_nsec - t0.tv_nsec)) /
	     200000;
	cpu = ((double)(c1.tv_sec - c0.tv_sec) * 1e9 +
	       (double)(c1.tv_nsec - c0.tv_nsec)) /
	      200000;
	print_message("# jschema speed: %.0f ns/record wall, %.0f ns/record "
		      "CPU (10 properties, 200000 records)\n",
		      ns, cpu);
	ev_buf_free(&b);
	ev_jschema_ctx_free(cx);
	ev_jschema_set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_and_errors),
		cmocka_unit_test(test_ctx_add_error),
		cmocka_unit_test(test_max_errors),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_bad_schemas),
		cmocka_unit_test(test_after_errors),
		cmocka_unit_test(test_check_meta_passes),
		cmocka_unit_test(test_deep_schema),
		cmocka_unit_test(test_deep_instance),
		cmocka_unit_test(test_runtime_depth),
		cmocka_unit_test(test_step_budget),
		cmocka_unit_test(test_many_properties),
		cmocka_unit_test(test_unique_long),
		cmocka_unit_test(test_huge_enum),
		cmocka_unit_test(test_ref_dirs_and_local_root),
		cmocka_unit_test(test_ref_not_regular),
		cmocka_unit_test(test_ids_and_anchors),
		cmocka_unit_test(test_id_collisions),
		cmocka_unit_test(test_regex_limit),
		cmocka_unit_test(test_metaschema_get),
		cmocka_unit_test(test_recursive_ref),
		cmocka_unit_test(test_add_mp),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
