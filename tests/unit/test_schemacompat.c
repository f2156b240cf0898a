/*
 * test_schemacompat.c - struct ev_compat (lib/schemacompat.c): every rule
 * both ways (each case compared in full mode, so that a change breaks
 * backward, forward, both or neither), what is conservative, bounded
 * recursion on recursive and hostile schemas, schema files with their
 * line:column errors, version directories and the reports.
 */
#include <dirent.h>

#include "unit.h"

/* JSON text -> msgpack */
static void mp_of(const char *json, struct ev_buf *b)
{
	struct ev_json js;

	b->len = 0;
	ev_json_init(&js, json, strlen(json));
	if (ev_json_value(&js, b) != 0) {
		print_message("# bad JSON in a test: %s\n", json);
		fail();
	}
}

/* The issues of comparing old and new in mode, one a line:
 * "[warn ]RULE b|f old|new:PATH" */
static char *issues(const char *old, const char *new, enum ev_compat_mode m)
{
	struct ev_buf a = {0}, b = {0}, out = {0};
	struct ev_compat *c = NULL;
	struct ev_error err;
	size_t i;

	mp_of(old, &a);
	mp_of(new, &b);
	assert_int_equal(ev_compat_check(&c, a.p, a.len, b.p, b.len, m, NULL,
					 NULL, &err),
			 0);
	for (i = 0; i < ev_compat_count(c); i++) {
		const struct ev_compat_issue *is = ev_compat_at(c, i);

		ev_buf_printf(&out, "%s%s %c %s:%s\n",
			      is->warning ? "warn " : "", is->rule,
			      is->direction == EV_COMPAT_BACKWARD ? 'b' : 'f',
			      is->in_new ? "new" : "old", is->path);
		assert_non_null(is->message);
		assert_true(strlen(is->message) > 0);
	}
	ev_buf_putc(&out, '\0');
	ev_compat_free(c);
	ev_buf_free(&a);
	ev_buf_free(&b);
	return (char *)out.p;
}

struct kase {
	const char *old, *new;
	const char *want; /* issues in full mode, "" when fully compatible */
};

static void run_cases(const struct kase *k, size_t n)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		char *got = issues(k[i].old, k[i].new, EV_COMPAT_FULL);

		if (strcmp(got, k[i].want) != 0) {
			print_message(
				"# case %zu: %s -> %s\n# want:\n%s# got:\n%s",
				i, k[i].old, k[i].new, k[i].want, got);
			bad = 1;
		}
		free(got);
	}
	assert_false(bad);
}

#define RUN(k) run_cases(k, sizeof(k) / sizeof(k[0]))

/* ------------------------------------------------------------ types */

static void test_types(void **state)
{
	static const struct kase k[] = {
		{"{\"type\":\"string\"}", "{\"type\":\"string\"}", ""},
		/* integer -> number widens: forward only */
		{"{\"type\":\"integer\"}", "{\"type\":\"number\"}",
		 "type-widened f old:/type\n"},
		{"{\"type\":\"number\"}", "{\"type\":\"integer\"}",
		 "type-narrowed b new:/type\n"},
		{"{\"type\":\"string\"}", "{\"type\":\"integer\"}",
		 "type-narrowed b new:/type\ntype-widened f old:/type\n"},
		{"{\"type\":[\"string\",\"integer\"]}", "{\"type\":\"string\"}",
		 "type-narrowed b new:/type\n"},
		/* nullable */
		{"{\"type\":\"string\"}", "{\"type\":[\"string\",\"null\"]}",
		 "nullable-added f old:/type\n"},
		{"{\"type\":[\"null\",\"string\"]}", "{\"type\":\"string\"}",
		 "nullable-removed b new:/type\n"},
		/* no type at all -> a type */
		{"{}", "{\"type\":\"object\"}", "type-narrowed b new:/type\n"},
		/* true and false schemas */
		{"true", "{}", ""},
		{"{}", "false", "schema-false-added b new:\n"},
		{"false", "{\"type\":\"string\"}",
		 "schema-false-removed f old:\n"},
	};

	(void)state;
	RUN(k);
}

/* ------------------------------------------------------------ values */

static void test_enum_const(void **state)
{
	static const struct kase k[] = {
		{"{\"enum\":[\"a\",\"b\"]}", "{\"enum\":[\"b\",\"a\"]}", ""},
		{"{\"enum\":[\"a\",\"b\",\"c\"]}", "{\"enum\":[\"a\",\"b\"]}",
		 "enum-value-removed b new:/enum\n"},
		{"{\"enum\":[\"a\"]}", "{\"enum\":[\"a\",2]}",
		 "enum-value-added f old:/enum\n"},
		/* 1 equals 1.0 */
		{"{\"enum\":[1,2]}", "{\"enum\":[1.0,2.0]}", ""},
		{"{\"type\":\"string\"}",
		 "{\"type\":\"string\",\"enum\":[\"x\"]}",
		 "enum-added b new:/enum\n"},
		{"{\"enum\":[\"x\"]}", "{}", "enum-removed f old:/enum\n"},
		{"{\"const\":1}", "{\"const\":2}",
		 "const-changed b new:/const\nconst-changed f old:/const\n"},
		{"{\"const\":\"a\"}", "{\"enum\":[\"a\",\"b\"]}",
		 "enum-value-added f old:/const\n"},
		{"{}", "{\"const\":{\"k\":[1]}}", "const-added b new:/const\n"},
		/* a finite writer checked against the reader's type */
		{"{\"enum\":[\"a\",null]}", "{\"type\":\"string\"}",
		 "nullable-removed b new:/type\nenum-removed f old:/enum\n"},
	};

	(void)state;
	RUN(k);
}

/* ------------------------------------------------------------ numbers */

static void test_numbers(void **state)
{
	static const struct kase k[] = {
		{"{\"type\":\"number\",\"minimum\":0}",
		 "{\"type\":\"number\",\"minimum\":1}",
		 "minimum-tightened b new:/minimum\n"},
		{"{\"type\":\"number\",\"minimum\":1}",
		 "{\"type\":\"number\",\"minimum\":0}",
		 "minimum-loosened f old:/minimum\n"},
		{"{\"type\":\"number\"}", "{\"type\":\"number\",\"maximum\":9}",
		 "maximum-added b new:/maximum\n"},
		{"{\"type\":\"number\",\"maximum\":9}", "{\"type\":\"number\"}",
		 "maximum-removed f old:/maximum\n"},
		/* exclusive bounds against inclusive ones */
		{"{\"type\":\"number\",\"exclusiveMinimum\":0}",
		 "{\"type\":\"number\",\"minimum\":0}",
		 "exclusive-minimum-loosened f old:/exclusiveMinimum\n"},
		{"{\"type\":\"number\",\"maximum\":5}",
		 "{\"type\":\"number\",\"exclusiveMaximum\":5}",
		 "exclusive-maximum-tightened b new:/exclusiveMaximum\n"},
		/* integers: > 0 is >= 1 */
		{"{\"type\":\"integer\",\"exclusiveMinimum\":0}",
		 "{\"type\":\"integer\",\"minimum\":1}", ""},
		/* a bound on numbers means nothing to strings */
		{"{\"type\":\"string\"}", "{\"type\":\"string\",\"minimum\":3}",
		 ""},
		/* a finite writer's values are checked themselves */
		{"{\"enum\":[2,4]}", "{\"enum\":[2,4],\"minimum\":1}", ""},
		{"{\"type\":\"integer\",\"multipleOf\":4}",
		 "{\"type\":\"integer\",\"multipleOf\":2}",
		 "multiple-of-changed f old:/multipleOf\n"},
		{"{\"type\":\"number\"}",
		 "{\"type\":\"number\",\"multipleOf\":0.5}",
		 "multiple-of-added b new:/multipleOf\n"},
		/* integers are multiples of 1 */
		{"{\"type\":\"integer\"}",
		 "{\"type\":\"integer\",\"multipleOf\":1}", ""},
		{"{\"type\":\"number\",\"multipleOf\":2}",
		 "{\"type\":\"number\"}",
		 "multiple-of-removed f old:/multipleOf\n"},
	};

	(void)state;
	RUN(k);
}

/* ------------------------------------------------------------ strings */

static void test_strings(void **state)
{
	static const struct kase k[] = {
		{"{\"type\":\"string\",\"maxLength\":10}",
		 "{\"type\":\"string\",\"maxLength\":5}",
		 "max-length-tightened b new:/maxLength\n"},
		{"{\"type\":\"string\",\"maxLength\":5}",
		 "{\"type\":\"string\",\"maxLength\":10}",
		 "max-length-loosened f old:/maxLength\n"},
		{"{\"type\":\"string\"}",
		 "{\"type\":\"string\",\"minLength\":1}",
		 "min-length-added b new:/minLength\n"},
		{"{\"type\":\"string\",\"minLength\":0}",
		 "{\"type\":\"string\"}", ""},
		{"{\"type\":\"string\",\"pattern\":\"^a\"}",
		 "{\"type\":\"string\",\"pattern\":\"^a\"}", ""},
		{"{\"type\":\"string\",\"pattern\":\"^a\"}",
		 "{\"type\":\"string\",\"pattern\":\"^[a]\"}",
		 "pattern-changed b new:/pattern\n"
		 "pattern-changed f old:/pattern\n"},
		{"{\"type\":\"string\"}",
		 "{\"type\":\"string\",\"pattern\":\"x\"}",
		 "pattern-added b new:/pattern\n"},
		{"{\"type\":\"string\",\"pattern\":\"x\"}",
		 "{\"type\":\"string\"}", "pattern-removed f old:/pattern\n"},
		/* a finite writer's strings are matched */
		{"{\"enum\":[\"ab\",\"ac\"]}",
		 "{\"enum\":[\"ab\",\"ac\"],\"pattern\":\"^a\",\"maxLength\":2}",
		 ""},
		{"{\"type\":\"string\"}",
		 "{\"type\":\"string\",\"format\":\"email\"}",
		 "warn format-added b new:/format\n"},
		{"{\"type\":\"string\",\"format\":\"uuid\"}",
		 "{\"type\":\"string\",\"format\":\"email\"}",
		 "warn format-changed b new:/format\n"
		 "warn format-changed f old:/format\n"},
	};

	(void)state;
	RUN(k);
}

/* ------------------------------------------------------------ objects */

static void test_required(void **state)
{
	static const struct kase k[] = {
		{"{\"type\":\"object\",\"required\":[\"a\"]}",
		 "{\"type\":\"object\",\"required\":[\"a\",\"b\"]}",
		 "required-added b new:/required/1\n"},
		{"{\"type\":\"object\",\"required\":[\"a\",\"b\"]}",
		 "{\"type\":\"object\",\"required\":[\"b\"]}",
		 "required-removed f old:/required/0\n"},
		/* with a default: a warning, readers fill it in */
		{"{\"type\":\"object\"}",
		 "{\"type\":\"object\",\"properties\":{\"c\":{\"default\":1}},"
		 "\"required\":[\"c\"]}",
		 "warn required-added-with-default b new:/required/0\n"},
		/* required only matters for objects */
		{"{\"type\":\"string\"}",
		 "{\"type\":\"string\",\"required\":[\"x\"]}", ""},
	};

	(void)state;
	RUN(k);
}

static void test_properties(void **state)
{
	static const struct kase k[] = {
		/* added to a closed object: old readers reject it */
		{"{\"properties\":{\"a\":{}},\"additionalProperties\":false}",
		 "{\"properties\":{\"a\":{},\"b\":{\"type\":\"string\"}},"
		 "\"additionalProperties\":false}",
		 "property-added f new:/properties/b\n"},
		/* added to an open object: old writers may have written any
		 * b (Confluent: PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL) */
		{"{\"properties\":{\"a\":{}}}",
		 "{\"properties\":{\"a\":{},\"b\":{\"type\":\"string\"}}}",
		 "property-added b new:/properties/b\n"},
		/* added, unconstrained: nothing changes */
		{"{\"properties\":{\"a\":{}}}",
		 "{\"properties\":{\"a\":{},\"b\":{}}}", ""},
		/* removed from a closed object, the new one open */
		{"{\"properties\":{\"a\":{},\"b\":{\"type\":\"integer\"}},"
		 "\"additionalProperties\":false}",
		 "{\"properties\":{\"a\":{}}}",
		 "property-removed f old:/properties/b\n"
		 "additional-properties-widened f old:/additionalProperties\n"},
		/* removed, both closed: old events with b fail new */
		{"{\"properties\":{\"a\":{},\"b\":{}},"
		 "\"additionalProperties\":false}",
		 "{\"properties\":{\"a\":{}},\"additionalProperties\":false}",
		 "property-removed b old:/properties/b\n"},
		/* a property's schema changed */
		{"{\"properties\":{\"a\":{\"type\":\"string\"}}}",
		 "{\"properties\":{\"a\":{\"type\":\"boolean\"}}}",
		 "type-narrowed b new:/properties/a/type\n"
		 "type-widened f old:/properties/a/type\n"},
		/* additionalProperties true -> false or a schema */
		{"{\"type\":\"object\"}",
		 "{\"type\":\"object\",\"additionalProperties\":false}",
		 "additional-properties-narrowed b new:/additionalProperties\n"},
		{"{\"type\":\"object\"}",
		 "{\"type\":\"object\",\"additionalProperties\":{\"type\":"
		 "\"string\"}}",
		 "additional-properties-narrowed b new:/additionalProperties\n"},
		{"{\"type\":\"object\",\"additionalProperties\":{\"type\":"
		 "\"integer\"}}",
		 "{\"type\":\"object\",\"additionalProperties\":{\"type\":"
		 "\"number\"}}",
		 "additional-properties-widened f old:/additionalProperties\n"},
		{"{\"type\":\"object\",\"minProperties\":1}",
		 "{\"type\":\"object\",\"minProperties\":2,\"maxProperties\":4}",
		 "min-properties-tightened b new:/minProperties\n"
		 "max-properties-added b new:/maxProperties\n"},
		{"{\"type\":\"object\",\"minProperties\":2,"
		 "\"maxProperties\":4}",
		 "{\"type\":\"object\"}",
		 "min-properties-removed f old:/minProperties\n"
		 "max-properties-removed f old:/maxProperties\n"},
	};

	(void)state;
	RUN(k);
}

static void test_pattern_properties(void **state)
{
	static const struct kase k[] = {
		{"{\"patternProperties\":{\"^x_\":{\"type\":\"string\"}}}",
		 "{\"patternProperties\":{\"^x_\":{\"type\":\"string\"}}}", ""},
		/* a named property matched by the reader's pattern */
		{"{\"properties\":{\"x_a\":{\"type\":\"integer\"}}}",
		 "{\"properties\":{\"x_a\":{\"type\":\"integer\"}},"
		 "\"patternProperties\":{\"^x_\":{\"type\":\"string\"}}}",
		 "type-narrowed b new:/patternProperties/^x_/type\n"
		 "pattern-properties-added b new:/patternProperties/^x_\n"},
		/* a pattern dropped from a closed object */
		{"{\"patternProperties\":{\"^x_\":{}},"
		 "\"additionalProperties\":false}",
		 "{\"additionalProperties\":false}",
		 "pattern-properties-removed b old:/patternProperties/^x_\n"},
	};

	(void)state;
	RUN(k);
}

static void test_dependencies(void **state)
{
	static const struct kase k[] = {
		{"{\"dependentRequired\":{\"a\":[\"b\"]}}",
		 "{\"dependentRequired\":{\"a\":[\"b\",\"c\"]}}",
		 "dependent-required-added b new:/dependentRequired/a/1\n"},
		/* implied by required */
		{"{\"required\":[\"b\"]}",
		 "{\"required\":[\"b\"],\"dependentRequired\":{\"a\":[\"b\"]}}",
		 ""},
		{"{\"dependentRequired\":{\"a\":[\"b\"]}}", "{}",
		 "dependent-required-removed f old:/dependentRequired/a/0\n"},
		{"{\"propertyNames\":{\"maxLength\":3}}",
		 "{\"propertyNames\":{\"maxLength\":2}}",
		 "property-names-changed b new:/propertyNames\n"
		 "property-names-changed f old:/propertyNames\n"},
	};

	(void)state;
	RUN(k);
}

/* ------------------------------------------------------------ arrays */

static void test_arrays(void **state)
{
	static const struct kase k[] = {
		{"{\"type\":\"array\",\"items\":{\"type\":\"string\"}}",
		 "{\"type\":\"array\",\"items\":{\"type\":[\"string\","
		 "\"null\"]}}",
		 "nullable-added f old:/items/type\n"},
		{"{\"type\":\"array\"}",
		 "{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}",
		 "type-narrowed b new:/items/type\n"},
		{"{\"type\":\"array\",\"maxItems\":3}",
		 "{\"type\":\"array\",\"minItems\":1,\"maxItems\":2}",
		 "min-items-added b new:/minItems\n"
		 "max-items-tightened b new:/maxItems\n"},
		{"{\"type\":\"array\",\"minItems\":2,\"maxItems\":3}",
		 "{\"type\":\"array\",\"minItems\":1,\"maxItems\":4}",
		 "min-items-loosened f old:/minItems\n"
		 "max-items-loosened f old:/maxItems\n"},
		{"{\"type\":\"array\"}",
		 "{\"type\":\"array\",\"uniqueItems\":true}",
		 "unique-items-added b new:/uniqueItems\n"},
		/* tuples: a position, and the rest */
		{"{\"prefixItems\":[{\"type\":\"string\"}],\"items\":false}",
		 "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":"
		 "\"integer\"}],\"items\":false}",
		 "items-widened f old:/items\n"},
		{"{\"prefixItems\":[{\"type\":\"string\"}]}",
		 "{\"prefixItems\":[{\"type\":\"integer\"}]}",
		 "type-narrowed b new:/prefixItems/0/type\n"
		 "type-widened f old:/prefixItems/0/type\n"},
		/* draft-07 tuples */
		{"{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
		 "\"items\":[{\"type\":\"string\"}],\"additionalItems\":false}",
		 "{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
		 "\"items\":[{\"type\":\"string\"}]}",
		 "items-widened f old:/additionalItems\n"},
		{"{\"contains\":{\"type\":\"string\"}}",
		 "{\"contains\":{\"type\":\"integer\"}}",
		 "contains-changed b new:/contains\n"
		 "contains-changed f old:/contains\n"},
	};

	(void)state;
	RUN(k);
}

/* ------------------------------------------------------------ composition */

static void test_any_one_of(void **state)
{
	static const struct kase k[] = {
		{"{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}",
		 "{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}]}",
		 ""},
		{"{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}",
		 "{\"anyOf\":[{\"type\":\"string\"}]}",
		 "branch-removed b old:/anyOf/1\n"},
		{"{\"anyOf\":[{\"type\":\"string\"}]}",
		 "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}",
		 "branch-added f new:/anyOf/1\n"},
		/* a branch that covers the old schema */
		{"{\"type\":\"string\"}",
		 "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}",
		 "nullable-added f old:/type\n"},
		/* a type union became anyOf: same set */
		{"{\"type\":[\"string\",\"null\"]}",
		 "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", ""},
		/* oneOf: a branch accepts, and the others provably do not
		 * (distinct types, values, a required property's) */
		{"{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}",
		 "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}",
		 ""},
		{"{\"type\":\"string\"}",
		 "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}",
		 "type-widened f old:/type\n"},
		{"{\"type\":[\"string\",\"null\"]}",
		 "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", ""},
		{"{\"type\":\"object\",\"properties\":{\"k\":{\"const\":\"a\"},"
		 "\"n\":{\"type\":\"integer\"}},\"required\":[\"k\"]}",
		 "{\"type\":\"object\",\"oneOf\":[{\"properties\":{\"k\":"
		 "{\"const\":\"a\"}},\"required\":[\"k\"]},{\"properties\":"
		 "{\"k\":{\"enum\":[\"b\",\"c\"]}},\"required\":[\"k\"]}]}",
		 "property-removed f old:/properties/n\n"
		 "enum-value-added f old:/properties/k/const\n"
		 "enum-value-added f old:/properties/k/const\n"},
		/* overlapping branches: an integer >= 0 matches both, and is
		 * invalid under the new schema */
		{"{\"type\":\"integer\"}",
		 "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}",
		 "one-of-overlap b new:/oneOf\n"
		 "type-widened f old:/type\n"},
		/* the discriminator, but not only objects: "x" matches both */
		{"{\"properties\":{\"k\":{\"const\":\"a\"}},\"required\":[\"k\"]}",
		 "{\"oneOf\":[{\"properties\":{\"k\":{\"const\":\"a\"}},"
		 "\"required\":[\"k\"]},{\"properties\":{\"k\":{\"const\":"
		 "\"b\"}},\"required\":[\"k\"]}]}",
		 "one-of-overlap b new:/oneOf\n"
		 "const-changed f old:/properties/k/const\n"},
		/* the same oneOf in both: exactly one, as in the writer */
		{"{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}",
		 "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}", ""},
		/* a finite writer is validated: 1 and 2 match both */
		{"{\"enum\":[1,2]}",
		 "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}",
		 "enum-value-removed b new:/oneOf\n"
		 "enum-value-removed b new:/oneOf\n"
		 "enum-removed f old:/enum\n"},
		/* allOf is a conjunction on both sides */
		{"{\"allOf\":[{\"required\":[\"a\"]},{\"properties\":{\"a\":"
		 "{\"type\":\"string\"}}}]}",
		 "{\"required\":[\"a\"],\"properties\":{\"a\":{\"type\":"
		 "\"string\"}}}",
		 ""},
		{"{\"not\":{\"type\":\"null\"}}",
		 "{\"not\":{\"type\":\"null\"}}", ""},
		{"{}", "{\"not\":{\"type\":\"null\"}}",
		 "not-added b new:/not\n"},
		{"{\"if\":{\"required\":[\"a\"]},\"then\":{\"required\":[\"b\"]}}",
		 "{}", "conditional-removed f old:/if\n"},
	};

	(void)state;
	RUN(k);
}

/* ------------------------------------------------------------ refs */

static void test_refs(void **state)
{
	static const struct kase k[] = {
		/* local refs are followed, the path is the definition's */
		{"{\"$defs\":{\"a\":{\"type\":\"integer\"}},\"properties\":{\"x\":"
		 "{\"$ref\":\"#/$defs/a\"}}}",
		 "{\"$defs\":{\"a\":{\"type\":\"string\"}},\"properties\":{\"x\":"
		 "{\"$ref\":\"#/$defs/a\"}}}",
		 "type-narrowed b new:/$defs/a/type\n"
		 "type-widened f old:/$defs/a/type\n"},
		/* a ref on one side, inline on the other */
		{"{\"properties\":{\"x\":{\"type\":\"string\"}}}",
		 "{\"definitions\":{\"s\":{\"type\":\"string\"}},"
		 "\"properties\":{\"x\":{\"$ref\":\"#/definitions/s\"}}}",
		 ""},
		/* an anchor */
		{"{\"$defs\":{\"a\":{\"$anchor\":\"A\",\"type\":\"string\"}},"
		 "\"$ref\":\"#A\"}",
		 "{\"type\":\"string\"}", ""},
		/* recursive schemas end */
		{"{\"$defs\":{\"n\":{\"properties\":{\"next\":{\"$ref\":\"#/$defs/"
		 "n\"},\"v\":{\"type\":\"integer\"}}}},\"$ref\":\"#/$defs/n\"}",
		 "{\"$defs\":{\"n\":{\"properties\":{\"next\":{\"$ref\":\"#/$defs/"
		 "n\"},\"v\":{\"type\":\"number\"}}}},\"$ref\":\"#/$defs/n\"}",
		 "type-widened f old:/$defs/n/properties/v/type\n"},
		/* remote refs: the same one is assumed equal, with a warning;
		 * a different one is incompatible */
		{"{\"$ref\":\"other.json#/a\"}", "{\"$ref\":\"other.json#/a\"}",
		 "warn ref-not-followed b new:\nwarn ref-not-followed f old:\n"},
		{"{\"$ref\":\"other.json#/a\"}", "{\"$ref\":\"other.json#/b\"}",
		 "ref-changed b new:\nref-changed f old:\n"},
		/* "#..." inside a subschema with its own $id is relative to
		 * it: not followed */
		{"{\"$defs\":{\"e\":{\"$id\":\"http://x/e\",\"$defs\":{\"a\":"
		 "{\"type\":\"integer\"}},\"properties\":{\"p\":{\"$ref\":"
		 "\"#/$defs/a\"}}}},\"$ref\":\"#/$defs/e\"}",
		 "{\"$defs\":{\"e\":{\"$id\":\"http://x/e\",\"$defs\":{\"a\":"
		 "{\"type\":\"string\"}},\"properties\":{\"p\":{\"$ref\":"
		 "\"#/$defs/a\"}}}},\"$ref\":\"#/$defs/e\"}",
		 "warn ref-not-followed b new:/$defs/e/properties/p\n"
		 "warn ref-not-followed f old:/$defs/e/properties/p\n"},
		/* an unresolvable local ref is treated as remote */
		{"{}", "{\"$ref\":\"#/nowhere\"}", "ref-changed b new:\n"},
	};

	(void)state;
	RUN(k);
}

/* ------------------------------------------------------------ twins */

/* the other half of each pair of rules */
static void test_twins(void **state)
{
	static const struct kase k[] = {
		{"{\"type\":\"array\",\"uniqueItems\":true}",
		 "{\"type\":\"array\"}",
		 "unique-items-removed f old:/uniqueItems\n"},
		{"{\"prefixItems\":[{}],\"items\":{\"type\":\"string\"}}",
		 "{\"prefixItems\":[{}],\"items\":false}",
		 "items-narrowed b new:/items\n"},
		{"{\"const\":1}", "{}", "const-removed f old:/const\n"},
		{"{\"not\":{\"type\":\"null\"}}", "{}",
		 "not-removed f old:/not\n"},
		{"{\"not\":{\"type\":\"null\"}}",
		 "{\"not\":{\"type\":\"string\"}}",
		 "not-changed b new:/not\nnot-changed f old:/not\n"},
		{"{}",
		 "{\"if\":{\"required\":[\"a\"]},\"then\":{\"required\":[\"b\"]}}",
		 "conditional-added b new:/if\n"},
		{"{\"if\":{\"required\":[\"a\"]},\"then\":{\"required\":[\"b\"]}}",
		 "{\"if\":{\"required\":[\"a\"]},\"then\":{\"required\":[\"c\"]}}",
		 "conditional-changed b new:/if\nconditional-changed f "
		 "old:/if\n"},
		/* if and then in separate allOf branches are not the same */
		{"{\"allOf\":[{\"if\":{\"minimum\":0}},{\"then\":{\"maximum\":9}}]}",
		 "{\"if\":{\"minimum\":0},\"then\":{\"maximum\":9}}",
		 "conditional-changed b new:/if\n"},
		{"{\"type\":\"array\"}",
		 "{\"type\":\"array\",\"contains\":{\"type\":\"string\"}}",
		 "contains-added b new:/contains\n"},
		{"{\"type\":\"array\",\"contains\":{\"type\":\"string\"},"
		 "\"minContains\":2}",
		 "{\"type\":\"array\",\"contains\":{\"type\":\"string\"}}",
		 "contains-changed f old:/contains\n"},
		{"{\"type\":\"object\"}",
		 "{\"type\":\"object\",\"propertyNames\":{\"maxLength\":3}}",
		 "property-names-added b new:/propertyNames\n"},
		{"{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}",
		 "{\"dependentSchemas\":{\"a\":{\"required\":[\"c\"]}}}",
		 "dependent-schemas-changed b new:/dependentSchemas\n"
		 "dependent-schemas-changed f old:/dependentSchemas\n"},
		/* the same unevaluatedProperties around other keywords */
		{"{\"properties\":{\"a\":{}},\"unevaluatedProperties\":false}",
		 "{\"allOf\":[{\"properties\":{\"a\":{}}}],"
		 "\"unevaluatedProperties\":false}",
		 "unevaluated-properties-changed b new:/unevaluatedProperties\n"
		 "unevaluated-properties-changed f "
		 "old:/unevaluatedProperties\n"},
		{"{\"type\":\"array\"}",
		 "{\"type\":\"array\",\"unevaluatedItems\":false}",
		 "unevaluated-items-added b new:/unevaluatedItems\n"},
		{"{\"additionalProperties\":false}",
		 "{\"patternProperties\":{\"^x\":{\"type\":\"string\"}},"
		 "\"additionalProperties\":false}",
		 "pattern-properties-added f new:/patternProperties/^x\n"},
		{"{\"required\":[\"a\"],\"properties\":{\"a\":{\"default\":1}}}",
		 "{\"properties\":{\"a\":{\"default\":1}}}",
		 "warn required-removed-with-default f old:/required/0\n"},
		/* annotations are not compared */
		{"{\"title\":\"a\",\"description\":\"b\",\"examples\":[1],"
		 "\"deprecated\":false}",
		 "{\"title\":\"c\",\"$comment\":\"d\",\"deprecated\":true}",
		 ""},
	};

	(void)state;
	RUN(k);
}

/* ------------------------------------------------------------ random */

/* Random schemas and instances over a small vocabulary, so that they
 * meet: a schema and a variant of it (one decision taken otherwise). */
struct gen {
	uint64_t x;
	int count, flip;
	struct ev_buf *b;
};

static uint32_t gen_rand(struct gen *g)
{
	g->x ^= g->x << 13;
	g->x ^= g->x >> 7;
	g->x ^= g->x << 17;
	return (uint32_t)(g->x >> 11);
}

static int pick(struct gen *g, int n)
{
	int r = (int)(gen_rand(g) % (uint32_t)n);

	if (g->count++ == g->flip && n > 1)
		r = (r + 1 + (int)(gen_rand(g) % (uint32_t)(n - 1))) % n;
	return r;
}

static const char *const gen_vals[] = {
	"null",	 "true", "false", "0",	   "1",		"2",
	"-1",	 "1.5",	 "\"\"",  "\"a\"", "\"ab\"",	"\"b\"",
	"\"x\"", "[]",	 "[1]",	  "{}",	   "{\"a\":1}",
};
static const char *const gen_names[] = {"a", "b", "c", "x1"};
static const char *const gen_types[] = {"null",	  "boolean", "object", "array",
					"string", "integer", "number"};

static void gen_schema(struct gen *g, int depth);

static void gen_list(struct gen *g, int depth, int n)
{
	int i;

	ev_buf_putc(g->b, '[');
	for (i = 0; i < n; i++) {
		if (i)
			ev_buf_putc(g->b, ',');
		gen_schema(g, depth + 1);
	}
	ev_buf_putc(g->b, ']');
}

static void gen_schema(struct gen *g, int depth)
{
	int n, i, first = 1;
	uint32_t used = 0; /* no key twice */

	if (depth > 2 || pick(g, 8) == 0) {
		ev_buf_puts(g->b, pick(g, 4) ? "true" : "false");
		return;
	}
	ev_buf_putc(g->b, '{');
	n = 1 + pick(g, 3);
	for (i = 0; i < n; i++) {
		int k = pick(g, 27), j, m;

		/* a keyword once: "type" by 0-2, bounds by kind */
		m = k <= 2 ? 0 : k;
		if (used & (1u << m))
			continue;
		used |= 1u << m;
		if (!first)
			ev_buf_putc(g->b, ',');
		first = 0;
		switch (k) {
		case 0:
		case 1:
			ev_buf_printf(g->b, "\"type\":\"%s\"",
				      gen_types[pick(g, 7)]);
			break;
		case 2:
			ev_buf_printf(g->b, "\"type\":[\"%s\",\"%s\"]",
				      gen_types[pick(g, 7)],
				      gen_types[pick(g, 7)]);
			break;
		case 3:
			ev_buf_puts(g->b, "\"enum\":[");
			for (j = 0; j < 3; j++)
				ev_buf_printf(g->b, "%s%s", j ? "," : "",
					      gen_vals[pick(g, 17)]);
			ev_buf_putc(g->b, ']');
			break;
		case 4:
			ev_buf_printf(g->b, "\"const\":%s",
				      gen_vals[pick(g, 17)]);
			break;
		case 5:
			ev_buf_printf(g->b, "\"%s\":%d",
				      pick(g, 2) ? "minimum"
						 : "exclusiveMinimum",
				      pick(g, 4) - 1);
			break;
		case 6:
			ev_buf_printf(g->b, "\"%s\":%d",
				      pick(g, 2) ? "maximum"
						 : "exclusiveMaximum",
				      pick(g, 4));
			break;
		case 7:
			ev_buf_printf(g->b, "\"multipleOf\":%s",
				      pick(g, 2) ? "2" : "0.5");
			break;
		case 8:
			ev_buf_printf(g->b, "\"%s\":%d",
				      pick(g, 2) ? "minLength" : "maxLength",
				      pick(g, 3));
			break;
		case 9:
			ev_buf_printf(g->b, "\"pattern\":\"%s\"",
				      pick(g, 2) ? "^a" : "b$");
			break;
		case 10:
			ev_buf_puts(g->b, "\"properties\":{");
			j = pick(g, 4);
			ev_buf_printf(g->b, "\"%s\":", gen_names[j]);
			gen_schema(g, depth + 1);
			ev_buf_printf(g->b, ",\"%s\":",
				      gen_names[(j + 1 + pick(g, 3)) % 4]);
			gen_schema(g, depth + 1);
			ev_buf_putc(g->b, '}');
			break;
		case 11:
			ev_buf_printf(g->b, "\"required\":[\"%s\"]",
				      gen_names[pick(g, 4)]);
			break;
		case 12:
			ev_buf_puts(g->b, "\"additionalProperties\":");
			gen_schema(g, depth + 1);
			break;
		case 13:
			ev_buf_puts(g->b, "\"patternProperties\":{\"^x\":");
			gen_schema(g, depth + 1);
			ev_buf_putc(g->b, '}');
			break;
		case 14:
			ev_buf_puts(g->b, "\"items\":");
			gen_schema(g, depth + 1);
			break;
		case 15:
			ev_buf_puts(g->b, "\"prefixItems\":");
			gen_list(g, depth, 1 + pick(g, 2));
			break;
		case 16:
			ev_buf_printf(g->b, "\"%s\":%d",
				      pick(g, 2) ? "minItems" : "maxItems",
				      pick(g, 3));
			break;
		case 17:
			ev_buf_printf(g->b, "\"%s\":",
				      pick(g, 3) == 0	? "allOf"
				      : pick(g, 2) == 0 ? "anyOf"
							: "oneOf");
			gen_list(g, depth, 1 + pick(g, 2));
			break;
		case 18:
			ev_buf_puts(g->b, "\"not\":");
			gen_schema(g, depth + 1);
			break;
		case 19:
			ev_buf_puts(g->b, "\"$defs\":{\"d\":");
			gen_schema(g, depth + 1);
			ev_buf_puts(g->b, "},\"$ref\":\"#/$defs/d\"");
			break;
		case 20:
			ev_buf_printf(g->b, "\"%s\":%d",
				      pick(g, 2) ? "minProperties"
						 : "maxProperties",
				      pick(g, 3));
			break;
		case 22:
			ev_buf_puts(g->b, "\"if\":");
			gen_schema(g, depth + 1);
			ev_buf_puts(g->b,
				    pick(g, 2) ? ",\"then\":" : ",\"else\":");
			gen_schema(g, depth + 1);
			break;
		case 23:
			ev_buf_puts(g->b, "\"contains\":");
			gen_schema(g, depth + 1);
			if (pick(g, 2))
				ev_buf_printf(g->b, ",\"minContains\":%d",
					      pick(g, 3));
			break;
		case 24:
			ev_buf_printf(g->b,
				      "\"dependentRequired\":{\"%s\":[\"%s\"]}",
				      gen_names[pick(g, 4)],
				      gen_names[pick(g, 4)]);
			break;
		case 25:
			ev_buf_printf(g->b,
				      "\"propertyNames\":{\"maxLength\":%d}",
				      1 + pick(g, 2));
			break;
		case 26:
			ev_buf_printf(g->b, "\"%s\":",
				      pick(g, 2) ? "unevaluatedProperties"
						 : "unevaluatedItems");
			gen_schema(g, depth + 1);
			break;
		default:
			ev_buf_puts(g->b, "\"uniqueItems\":true");
			break;
		}
	}
	ev_buf_putc(g->b, '}');
}

static void gen_value(struct gen *g, struct ev_buf *b, int depth)
{
	int k = (int)(gen_rand(g) % (depth > 2 ? 12u : 16u)), i, n;

	if (k < 12) {
		ev_buf_puts(b, gen_vals[k + (k >= 9 ? 0 : 0)]);
		return;
	}
	n = (int)(gen_rand(g) % 3);
	if (k < 14) {
		ev_buf_putc(b, '[');
		for (i = 0; i < n; i++) {
			if (i)
				ev_buf_putc(b, ',');
			gen_value(g, b, depth + 1);
		}
		ev_buf_putc(b, ']');
		return;
	}
	ev_buf_putc(b, '{');
	k = (int)(gen_rand(g) % 4);
	for (i = 0; i < n; i++) {
		ev_buf_printf(b, "%s\"%s\":", i ? "," : "",
			      gen_names[(k + i) % 4]);
		gen_value(g, b, depth + 1);
	}
	ev_buf_putc(b, '}');
}

static struct ev_jschema_set *compile(const struct ev_buf *mp,
				      struct ev_jschema **sc)
{
	struct ev_jschema_set *set = NULL;
	struct ev_jschema_opts o = {0};
	struct ev_error err;

	o.check_meta = 1; /* ["string", "string"] is not a type */
	assert_int_equal(ev_jschema_set_new(&set, &o, &err), 0);
	if (ev_jschema_add_mp(set, mp->p, mp->len, "s", NULL, sc, &err) != 0 ||
	    ev_jschema_set_compile(set, &err) != 0) {
		ev_jschema_set_free(set);
		return NULL;
	}
	return set;
}

/* Two rounds in three: a oneOf of the schema (or of its variant) and
 * another, often overlapping, schema, in either order: {"oneOf":[S, X]}. */
static void one_of_wrap(size_t round, struct ev_buf *ta, struct ev_buf *tb)
{
	static const char *const simple[] = {
		"{\"minimum\":0}",
		"{\"type\":\"integer\"}",
		"{\"type\":\"string\"}",
		"{\"required\":[\"a\"]}",
		"{\"maxLength\":1}",
		"{\"enum\":[1,\"a\",null]}",
		"{\"type\":\"object\",\"properties\":{\"a\":{\"const\":2}},"
		"\"required\":[\"a\"]}",
	};
	struct gen g = {.x = 0xd1b54a32d192ed03ull * (round + 7)};
	struct ev_buf x = {0}, t = {0};
	struct ev_buf *which = round % 6 == 1 ? ta : tb;
	const char *s = (char *)which->p;

	g.flip = -1;
	if (round % 5 < 3) {
		ev_buf_puts(&x, simple[gen_rand(&g) % 7]);
	} else {
		g.b = &x;
		gen_schema(&g, 1);
	}
	ev_buf_putc(&x, '\0');
	if (round % 4 < 2)
		ev_buf_printf(&t, "{\"oneOf\":[%s,%s]}", s, (char *)x.p);
	else
		ev_buf_printf(&t, "{\"oneOf\":[%s,%s]}", (char *)x.p, s);
	ev_buf_putc(&t, '\0');
	which->len = 0;
	ev_buf_puts(which, (char *)t.p);
	ev_buf_putc(which, '\0');
	ev_buf_free(&x);
	ev_buf_free(&t);
}

/* Whenever compat finds a schema and its variant compatible, exit 0 (either
 * way), no random instance valid under the writer fails the reader;
 * also with oneOf of overlapping branches on either side. */
static void test_sound_random(void **state)
{
	struct ev_buf ta = {0}, tb = {0}, a = {0}, b = {0}, iv = {0}, im = {0};
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	size_t round, compatible = 0, bad = 0, k, rounds = 3000;
	const char *env = getenv("COMPAT_ROUNDS"); /* for longer runs */

	(void)state;
	if (env != NULL)
		rounds = strtoul(env, NULL, 10);
	for (round = 0; round < rounds; round++) {
		struct gen g = {.x = 0x9e3779b97f4a7c15ull * (round + 1)};
		struct ev_jschema_set *sa, *sb;
		struct ev_jschema *ca = NULL, *cb = NULL;
		struct ev_compat *c = NULL;
		struct ev_error err;
		int dir;

		ta.len = tb.len = 0;
		g.b = &ta;
		g.flip = -1;
		gen_schema(&g, 0);
		ev_buf_putc(&ta, '\0');
		g.x = 0x9e3779b97f4a7c15ull * (round + 1);
		g.b = &tb;
		g.flip = (int)(round % (size_t)(g.count ? g.count : 1));
		g.count = 0;
		gen_schema(&g, 0);
		ev_buf_putc(&tb, '\0');
		if (round % 3 != 0)
			one_of_wrap(round, &ta, &tb);
		mp_of((char *)ta.p, &a);
		mp_of((char *)tb.p, &b);
		sa = compile(&a, &ca);
		sb = compile(&b, &cb);
		for (dir = 0; sa != NULL && sb != NULL && dir < 2; dir++) {
			const struct ev_buf *o = dir ? &b : &a;
			const struct ev_buf *n = dir ? &a : &b;
			const struct ev_jschema *wo = dir ? cb : ca;
			const struct ev_jschema *rn = dir ? ca : cb;
			struct gen vg = {.x = 0x2545f4914f6cdd1dull +
					      round * 7919};

			assert_int_equal(ev_compat_check(&c, o->p, o->len, n->p,
							 n->len,
							 EV_COMPAT_BACKWARD,
							 NULL, NULL, &err),
					 0);
			if (getenv("COMPAT_TRACE") != NULL) {
				FILE *f = fopen(getenv("COMPAT_TRACE"), "w");

				fprintf(f, "%s\n%s\n", (char *)ta.p,
					(char *)tb.p);
				fclose(f);
			}
			if (ev_compat_failures(c) == 0) { /* exit 0 */
				compatible++;
				for (k = 0; k < 300; k++) {
					iv.len = 0;
					gen_value(&vg, &iv, 0);
					ev_buf_putc(&iv, '\0');
					mp_of((char *)iv.p, &im);
					if (ev_jschema_validate(wo, im.p,
								im.len, NULL,
								cx) == 1 &&
					    ev_jschema_validate(rn, im.p,
								im.len, NULL,
								cx) != 1) {
						print_message(
							"# unsound: %s -> %s: "
							"%s\n",
							(char *)(dir ? tb.p
								     : ta.p),
							(char *)(dir ? ta.p
								     : tb.p),
							(char *)iv.p);
						bad++;
						break;
					}
				}
			}
			ev_compat_free(c);
		}
		ev_jschema_set_free(sa);
		ev_jschema_set_free(sb);
	}
	print_message("# %zu random pairs found compatible, %zu unsound\n",
		      compatible, bad);
	assert_true(compatible > 500);
	assert_int_equal(bad, 0);
	ev_jschema_ctx_free(cx);
	ev_buf_free(&ta);
	ev_buf_free(&tb);
	ev_buf_free(&a);
	ev_buf_free(&b);
	ev_buf_free(&iv);
	ev_buf_free(&im);
}

/* ------------------------------------------------------------ big enums */

#define WARN_R                                        \
	"warn ref-not-followed b new:/properties/r\n" \
	"warn ref-not-followed f old:/properties/r\n"

/* {PREFIX"enum":[0, ..., n-1 EXTRA]} */
static void big_enum(struct ev_buf *mp, const char *prefix, int n,
		     const char *extra)
{
	struct ev_buf t = {0};
	int i;

	ev_buf_printf(&t, "{%s\"enum\":[", prefix);
	for (i = 0; i < n; i++)
		ev_buf_printf(&t, "%s%d", i ? "," : "", i);
	ev_buf_printf(&t, "%s]}", extra);
	ev_buf_putc(&t, '\0');
	mp_of((char *)t.p, mp);
	ev_buf_free(&t);
}

/* Large enums are compared as sets, by value (1 is 1.0), in time: a value
 * added to 200,000 is backward compatible, not "enum-added". */
static void test_big_enum(void **state)
{
	/* a remote ref: not compiled alone, so compared structurally */
	static const char *const prefix[] =
		{"", "\"properties\":{\"r\":{\"$ref\":\"https://e.com/x\"}},"};
	struct ev_buf a = {0}, b = {0};
	struct ev_compat *c = NULL;
	struct ev_error err;
	size_t p;

	(void)state;
	for (p = 0; p < 2; p++) {
		big_enum(&a, prefix[p], 200000, "");
		big_enum(&b, prefix[p], 200000, ",200000");
		assert_int_equal(ev_compat_check(&c, a.p, a.len, b.p, b.len,
						 EV_COMPAT_BACKWARD, NULL, NULL,
						 &err),
				 0);
		assert_int_equal(ev_compat_count(c), 0);
		ev_compat_free(c);
		assert_int_equal(ev_compat_check(&c, a.p, a.len, b.p, b.len,
						 EV_COMPAT_FORWARD, NULL, NULL,
						 &err),
				 0);
		assert_int_equal(ev_compat_count(c), 1);
		assert_string_equal(ev_compat_at(c, 0)->rule,
				    "enum-value-added");
		assert_string_equal(ev_compat_at(c, 0)->path, "/enum");
		assert_non_null(strstr(ev_compat_at(c, 0)->message, "200000"));
		ev_compat_free(c);
	}
	/* equal by value: floats, negative numbers, reordered objects */
	{
		static const struct kase k[] = {
			{"{\"enum\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,-1,"
			 "-9223372036854775808,18446744073709551615,{\"a\":1,"
			 "\"b\":[1]},\"s\"]}",
			 "{\"enum\":[\"s\",{\"b\":[1.0],\"a\":1},"
			 "18446744073709551615,-9223372036854775808.0,-1.0,15.0,"
			 "14,13,12,11,10,9,8,7,6,5,4,3,2,1,0.0,-0.0]}",
			 ""},
			{"{\"enum\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}",
			 "{\"enum\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,"
			 "16.5]}",
			 "enum-value-removed b new:/enum\n"
			 "enum-value-added f old:/enum\n"},
		};
		size_t i;

		/* both as they are (the validator) and structurally */
		RUN(k);
		for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
			struct ev_buf t1 = {0}, t2 = {0};
			struct kase k2 = k[i];
			char *got;

			ev_buf_printf(&t1, "{%s\"allOf\":[%s]}", prefix[1],
				      k[i].old);
			ev_buf_putc(&t1, '\0');
			ev_buf_printf(&t2, "{%s\"allOf\":[%s]}", prefix[1],
				      k[i].new);
			ev_buf_putc(&t2, '\0');
			k2.old = (char *)t1.p;
			k2.new = (char *)t2.p;
			got = issues(k2.old, k2.new, EV_COMPAT_FULL);
			if (i == 0)
				assert_string_equal(got, WARN_R);
			else
				assert_string_equal(got, "enum-value-removed b "
							 "new:/allOf/0/enum\n"
							 "enum-value-added f "
							 "old:/allOf/0/enum\n");
			free(got);
			ev_buf_free(&t1);
			ev_buf_free(&t2);
		}
	}
	ev_buf_free(&a);
	ev_buf_free(&b);
}

/* ------------------------------------------------------------ modes */

static void test_modes(void **state)
{
	char *s;

	(void)state;
	s = issues("{\"type\":\"integer\"}", "{\"type\":\"number\"}",
		   EV_COMPAT_BACKWARD);
	assert_string_equal(s, "");
	free(s);
	s = issues("{\"type\":\"integer\"}", "{\"type\":\"number\"}",
		   EV_COMPAT_FORWARD);
	assert_string_equal(s, "type-widened f old:/type\n");
	free(s);
	s = issues("{\"required\":[]}", "{\"required\":[\"a\"]}",
		   EV_COMPAT_FORWARD);
	assert_string_equal(s, "");
	free(s);
}

static void test_mode_names(void **state)
{
	enum ev_compat_mode m;

	(void)state;
	assert_int_equal(ev_compat_mode_parse("backward", &m), 0);
	assert_int_equal(m, EV_COMPAT_BACKWARD);
	assert_int_equal(ev_compat_mode_parse("full", &m), 0);
	assert_int_equal(m, EV_COMPAT_FULL);
	assert_int_equal(ev_compat_mode_parse("FULL", &m), EV_EUSAGE);
	assert_string_equal(ev_compat_mode_name(EV_COMPAT_FORWARD), "forward");
}

/* ------------------------------------------------------------ hostile */

static void test_hostile(void **state)
{
	struct ev_buf a = {0}, b = {0}, big = {0};
	struct ev_compat *c = NULL;
	struct ev_error err;
	int i;

	(void)state;
	/* a ref cycle with no progress: a bad schema, as the validator
	 * (and so the registry) says, on either side */
	mp_of("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":"
	      "\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}",
	      &a);
	mp_of("{\"type\":\"string\"}", &b);
	assert_int_equal(ev_compat_check(&c, a.p, a.len, b.p, b.len,
					 EV_COMPAT_FULL, "o.json", "n.json",
					 &err),
			 EV_EDATA);
	assert_null(c);
	assert_string_equal(err.msg,
			    "o.json: /$defs/a: $ref cycle with no progress");
	mp_of("{\"$ref\":\"#\"}", &a);
	mp_of("{}", &b);
	assert_int_equal(ev_compat_check(&c, b.p, b.len, a.p, a.len,
					 EV_COMPAT_BACKWARD, "o.json", "n.json",
					 &err),
			 EV_EDATA);
	assert_null(c);
	assert_string_equal(err.msg, "n.json: /: $ref cycle with no progress");
	assert_int_equal(ev_compat_check(&c, a.p, a.len, b.p, b.len,
					 EV_COMPAT_BACKWARD, "o.json", "n.json",
					 &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "o.json: /: $ref cycle with no progress");
	mp_of("{\"type\":\"string\"}", &b);
	/* many anyOf combinations: bounded, reported */
	ev_buf_puts(&big, "{\"allOf\":[");
	for (i = 0; i < 12; i++)
		ev_buf_printf(&big,
			      "%s{\"anyOf\":[{\"type\":\"string\"},{\"type\":"
			      "\"integer\"}]}",
			      i ? "," : "");
	ev_buf_puts(&big, "]}");
	ev_buf_putc(&big, '\0');
	mp_of((char *)big.p, &a);
	assert_int_equal(ev_compat_check(&c, a.p, a.len, b.p, b.len,
					 EV_COMPAT_BACKWARD, NULL, NULL, &err),
			 0);
	assert_true(ev_compat_failures(c) > 0);
	assert_string_equal(ev_compat_at(c, ev_compat_count(c) - 1)->rule,
			    "too-complex");
	ev_compat_free(c);
	/* a large enum against itself */
	big.len = 0;
	ev_buf_puts(&big, "{\"enum\":[");
	for (i = 0; i < 5000; i++)
		ev_buf_printf(&big, "%s%d", i ? "," : "", i);
	ev_buf_puts(&big, "]}");
	ev_buf_putc(&big, '\0');
	mp_of((char *)big.p, &a);
	assert_int_equal(ev_compat_check(&c, a.p, a.len, a.p, a.len,
					 EV_COMPAT_FULL, NULL, NULL, &err),
			 0);
	assert_int_equal(ev_compat_failures(c), 0);
	ev_compat_free(c);
	/* many properties, each compared once */
	big.len = 0;
	ev_buf_puts(&big, "{\"properties\":{");
	for (i = 0; i < 3000; i++)
		ev_buf_printf(&big, "%s\"p%d\":{\"type\":\"string\"}",
			      i ? "," : "", i);
	ev_buf_puts(&big, "}}");
	ev_buf_putc(&big, '\0');
	mp_of((char *)big.p, &a);
	assert_int_equal(ev_compat_check(&c, a.p, a.len, a.p, a.len,
					 EV_COMPAT_FULL, NULL, NULL, &err),
			 0);
	assert_int_equal(ev_compat_count(c), 0);
	ev_compat_free(c);
	/* a schema that violates its metaschema, a bad regex */
	mp_of("{\"type\":5}", &a);
	assert_int_equal(ev_compat_check(&c, a.p, a.len, b.p, b.len,
					 EV_COMPAT_FULL, "o.json", "n.json",
					 &err),
			 EV_EDATA);
	assert_null(c);
	assert_true(strncmp(err.msg, "o.json: /type: ", 15) == 0);
	mp_of("{\"properties\":{\"a\":{\"pattern\":\"((\"}}}", &a);
	assert_int_equal(ev_compat_check(&c, b.p, b.len, a.p, a.len,
					 EV_COMPAT_FULL, "o.json", "n.json",
					 &err),
			 EV_EDATA);
	assert_true(strncmp(err.msg,
			    "n.json: /properties/a/pattern: invalid regex",
			    44) == 0);
	/* a key twice: refused, parsers differ on what it means */
	mp_of("{\"properties\":{\"a\":{},\"a\":{}}}", &a);
	assert_int_equal(ev_compat_check(&c, b.p, b.len, a.p, a.len,
					 EV_COMPAT_FULL, "o.json", "n.json",
					 &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "n.json: /properties: key 'a' twice");
	mp_of("{\"type\":\"string\",\"type\":\"integer\"}", &a);
	assert_int_equal(ev_compat_check(&c, a.p, a.len, b.p, b.len,
					 EV_COMPAT_FULL, "o.json", "n.json",
					 &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "o.json: /: key 'type' twice");
	/* not a JSON image */
	{
		static const uint8_t bin[] = {0xc4, 0x01, 0x00};

		assert_int_equal(ev_compat_check(&c, bin, sizeof(bin), b.p,
						 b.len, EV_COMPAT_FULL, NULL,
						 NULL, &err),
				 EV_EDATA);
		assert_null(c);
		assert_string_equal(err.msg, "old: not a JSON image");
	}
	ev_buf_free(&a);
	ev_buf_free(&b);
	ev_buf_free(&big);
}

/* ------------------------------------------------------------ files */

static char tmpdir[256];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_schemacompat.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int nftw_rm(const char *p, const struct stat *st, int flag,
		   struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int teardown_dir(void **state)
{
	(void)state;
	return nftw(tmpdir, nftw_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_load(void **state)
{
	struct ev_buf b = {0};
	struct ev_error err;
	char p[512], want[600];

	(void)state;
	put("ok.json", "\n  {\"type\": \"string\"}\n");
	snprintf(p, sizeof(p), "%s/ok.json", tmpdir);
	assert_int_equal(ev_compat_load(p, &b, &err), 0);
	assert_true(b.len > 0);
	put("bad.json", "{\n  \"type\": \"string\",\n  }\n");
	snprintf(p, sizeof(p), "%s/bad.json", tmpdir);
	assert_int_equal(ev_compat_load(p, &b, &err), EV_EDATA);
	assert_true(strncmp(err.msg, p, strlen(p)) == 0);
	assert_true(strncmp(err.msg + strlen(p), ":3:3: ", 6) == 0);
	put("trail.json", "{} x");
	snprintf(p, sizeof(p), "%s/trail.json", tmpdir);
	assert_int_equal(ev_compat_load(p, &b, &err), EV_EDATA);
	snprintf(want, sizeof(want),
		 "%s:1:4: unexpected text after the JSON value", p);
	assert_string_equal(err.msg, want);
	put("empty.json", "");
	snprintf(p, sizeof(p), "%s/empty.json", tmpdir);
	assert_int_equal(ev_compat_load(p, &b, &err), EV_EDATA);
	snprintf(want, sizeof(want), "%s:1:1: expected a JSON value", p);
	assert_string_equal(err.msg, want);
	put("num.json", "42");
	snprintf(p, sizeof(p), "%s/num.json", tmpdir);
	assert_int_equal(ev_compat_load(p, &b, &err), EV_EDATA);
	snprintf(want, sizeof(want),
		 "%s: not a schema: a schema is a JSON object or a boolean", p);
	assert_string_equal(err.msg, want);
	snprintf(p, sizeof(p), "%s/missing.json", tmpdir);
	assert_int_equal(ev_compat_load(p, &b, &err), EV_ENOENT);
	assert_int_equal(ev_compat_load(tmpdir, &b, &err), EV_EDATA);
	ev_buf_free(&b);
}

static void test_versions(void **state)
{
	struct ev_error err;
	uint64_t *v;
	size_t n;
	char d[512];

	(void)state;
	snprintf(d, sizeof(d), "%s/T", tmpdir);
	assert_int_equal(ev_compat_versions(d, &v, &n, &err), EV_ENOENT);
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(ev_compat_versions(d, &v, &n, &err), EV_EDATA);
	put("T/10.json", "{}");
	put("T/2.json", "{}");
	put("T/1.json", "{}");
	put("T/README", "not a schema");
	assert_int_equal(ev_compat_versions(d, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], 2);
	assert_int_equal(v[2], 10);
	free(v);
	put("T/02.json", "{}");
	assert_int_equal(ev_compat_versions(d, &v, &n, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "02.json: not a version"));
}

static void test_type_of(void **state)
{
	struct ev_error err;
	char *t, p[512];

	(void)state;
	assert_int_equal(mkdir(strcat(strcpy(p, tmpdir), "/a%2Fb"), 0755), 0);
	put("a%2Fb/1.json", "{}");
	snprintf(p, sizeof(p), "%s/a%%2Fb/1.json", tmpdir);
	assert_int_equal(ev_compat_type_of(p, &t, &err), 0);
	assert_string_equal(t, "a/b");
	free(t);
	assert_int_equal(mkdir(strcat(strcpy(p, tmpdir), "/bad%zz"), 0755), 0);
	put("bad%zz/1.json", "{}");
	snprintf(p, sizeof(p), "%s/bad%%zz/1.json", tmpdir);
	assert_int_equal(ev_compat_type_of(p, &t, &err), EV_EDATA);
	snprintf(p, sizeof(p), "%s/none/1.json", tmpdir);
	assert_int_equal(ev_compat_type_of(p, &t, &err), EV_ENOENT);
}

/* ------------------------------------------------------------ reports */

static void test_report(void **state)
{
	struct ev_buf a = {0}, b = {0}, out = {0};
	struct ev_compat *c = NULL;
	struct ev_error err;

	(void)state;
	mp_of("{\"type\":\"string\"}", &a);
	mp_of("{\"type\":\"string\",\"format\":\"uuid\",\"maxLength\":3}", &b);
	assert_int_equal(ev_compat_check(&c, a.p, a.len, b.p, b.len,
					 EV_COMPAT_BACKWARD, NULL, NULL, &err),
			 0);
	assert_int_equal(ev_compat_report(&out, c, "o.json", "n.json",
					  EV_COMPAT_BACKWARD, 0),
			 0);
	ev_buf_putc(&out, '\0');
	assert_string_equal(
		(char *)out.p,
		"n.json#/maxLength: max-length-added (backward): maxLength "
		"new's is 3, old has none\n"
		"warning: n.json#/format: format-added (backward): new has "
		"format 'uuid', old has none: it fails only with --formats "
		"assert\n"
		"incompatible (backward): o.json -> n.json: 1 "
		"incompatibility, 1 warning\n");
	out.len = 0;
	assert_int_equal(ev_compat_report(&out, c, "o.json", "n.json",
					  EV_COMPAT_BACKWARD, 1),
			 0);
	ev_buf_putc(&out, '\0');
	assert_string_equal(
		(char *)out.p,
		"{\"old\":\"o.json\",\"new\":\"n.json\",\"mode\":\"backward\","
		"\"compatible\":false,\"incompatibilities\":[{\"rule\":\"max-"
		"length-added\",\"direction\":\"backward\",\"schema\":\"new\","
		"\"path\":\"/maxLength\",\"message\":\"maxLength new's is 3, "
		"old has none\"}],\"warnings\":[{\"rule\":\"format-added\","
		"\"direction\":\"backward\",\"schema\":\"new\",\"path\":\"/"
		"format\",\"message\":\"new has format 'uuid', old has none: "
		"it fails only with --formats assert\"}]}");
	ev_compat_free(c);
	mp_of("{}", &b);
	assert_int_equal(ev_compat_check(&c, a.p, a.len, b.p, b.len,
					 EV_COMPAT_BACKWARD, NULL, NULL, &err),
			 0);
	out.len = 0;
	assert_int_equal(ev_compat_report(&out, c, "o.json", "n.json",
					  EV_COMPAT_BACKWARD, 0),
			 0);
	ev_buf_putc(&out, '\0');
	assert_string_equal((char *)out.p,
			    "compatible (backward): o.json -> n.json\n");
	ev_compat_free(c);
	ev_buf_free(&a);
	ev_buf_free(&b);
	ev_buf_free(&out);
}

/* ------------------------------------------------------------ soundness */

/* The span of the msgpack value at p. */
static size_t mp_span(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p;

	assert_int_equal(ev_mp_skip(&q, end, 0), 0);
	return (size_t)(q - p);
}

/* The value of key k in the msgpack map at p, or NULL. */
static const uint8_t *mp_get(const uint8_t *p, const uint8_t *end,
			     const char *k, size_t *n)
{
	struct ev_mp_item it, key;
	uint32_t i;

	assert_int_equal(ev_mp_read(&p, end, &it), 0);
	if (it.type != EV_MP_MAP)
		return NULL;
	for (i = 0; i < it.n; i++) {
		assert_int_equal(ev_mp_read(&p, end, &key), 0);
		if (key.type == EV_MP_STR && key.n == strlen(k) &&
		    memcmp(key.p, k, key.n) == 0) {
			*n = mp_span(p, end);
			return p;
		}
		assert_int_equal(ev_mp_skip(&p, end, 0), 0);
	}
	return NULL;
}

struct group {
	const uint8_t *schema;
	size_t schema_n;
	struct ev_jschema_set *set;
	struct ev_jschema *sc;
};

/*
 * Whenever two schemas of one suite file are found backward compatible
 * with no warning, every instance of that file valid under the old one
 * must be valid under the new one (the validator is the judge).
 */
static void sound_file(const char *path, const char *remotes, size_t *pairs,
		       size_t *compatible, size_t *bad)
{
	struct ev_buf mp = {0};
	struct ev_json js;
	struct ev_mp_item it;
	struct group g[128];
	const uint8_t *inst[2048];
	size_t inst_n[2048], ng = 0, ni = 0, i, j, k, len;
	const char *dirs[2] = {remotes, NULL};
	struct ev_jschema_opts o = {0};
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	char *text = unit_read_file(path, &len);
	const uint8_t *p, *end;
	uint32_t q;

	assert_non_null(text);
	assert_non_null(cx);
	o.ref_dirs = dirs;
	ev_json_init(&js, text, len);
	assert_int_equal(ev_json_value(&js, &mp), 0);
	p = mp.p;
	end = mp.p + mp.len;
	assert_int_equal(ev_mp_read(&p, end, &it), 0);
	assert_int_equal(it.type, EV_MP_ARRAY);
	for (q = 0; q < it.n && ng < 128; q++) {
		size_t gn = mp_span(p, end), tn, n;
		const uint8_t *tests = mp_get(p, end, "tests", &tn), *t;
		struct ev_mp_item ti;
		struct ev_error err;
		uint32_t z;

		g[ng].schema = mp_get(p, end, "schema", &g[ng].schema_n);
		g[ng].set = NULL;
		g[ng].sc = NULL;
		if (g[ng].schema != NULL &&
		    ev_jschema_set_new(&g[ng].set, &o, &err) == 0 &&
		    (ev_jschema_add_mp(g[ng].set, g[ng].schema, g[ng].schema_n,
				       "s", NULL, &g[ng].sc, &err) != 0 ||
		     ev_jschema_set_compile(g[ng].set, &err) != 0))
			g[ng].sc = NULL;
		ng++;
		t = tests;
		if (t != NULL) {
			assert_int_equal(ev_mp_read(&t, end, &ti), 0);
			for (z = 0; z < ti.n; z++) {
				const uint8_t *d = mp_get(t, end, "data", &n);

				if (d != NULL && ni < 2048) {
					inst[ni] = d;
					inst_n[ni++] = n;
				}
				t += mp_span(t, end);
			}
		}
		p += gn;
	}
	for (i = 0; i < ng; i++)
		for (j = 0; j < ng; j++) {
			struct ev_compat *c = NULL;
			struct ev_error err;

			if (i == j || g[i].sc == NULL || g[j].sc == NULL)
				continue;
			(*pairs)++;
			assert_int_equal(ev_compat_check(&c, g[i].schema,
							 g[i].schema_n,
							 g[j].schema,
							 g[j].schema_n,
							 EV_COMPAT_BACKWARD,
							 NULL, NULL, &err),
					 0);
			/* no warning either: ref-not-followed assumes */
			if (ev_compat_count(c) == 0) {
				(*compatible)++;
				for (k = 0; k < ni; k++) {
					int a = ev_jschema_validate(g[i].sc,
								    inst[k],
								    inst_n[k],
								    NULL, cx);
					int b = ev_jschema_validate(g[j].sc,
								    inst[k],
								    inst_n[k],
								    NULL, cx);

					if (a == 1 && b != 1) {
						print_message(
							"# %s: group %zu -> "
							"%zu said compatible, "
							"instance %zu is valid "
							"under the old only\n",
							path, i, j, k);
						(*bad)++;
						break;
					}
				}
			}
			ev_compat_free(c);
		}
	for (i = 0; i < ng; i++)
		ev_jschema_set_free(g[i].set);
	ev_jschema_ctx_free(cx);
	ev_buf_free(&mp);
	free(text);
}

static void sound_dir(const char *dir, const char *remotes, size_t *pairs,
		      size_t *compatible, size_t *bad)
{
	char path[8400];
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		sound_file(path, remotes, pairs, compatible, bad);
	}
	closedir(d);
}

static void test_sound_on_suite(void **state)
{
	static const char draft7[] =
		"/usr/share/json-schema-test-suite/tests/draft7";
	char dir[4096], remotes[4200];
	size_t pairs = 0, compatible = 0, bad = 0;
	struct stat st;

	(void)state;
	unit_corpus("JSON-Schema-Test-Suite/tests/draft2020-12", dir,
		    sizeof(dir));
	snprintf(remotes, sizeof(remotes),
		 "http://localhost:1234/=%s/../../remotes", dir);
	sound_dir(dir, remotes, &pairs, &compatible, &bad);
	/* Debian's json-schema-test-suite (.ci/deps test) */
	if (stat(draft7, &st) == 0) {
		snprintf(remotes, sizeof(remotes),
			 "http://localhost:1234/=%s/../../remotes", draft7);
		sound_dir(draft7, remotes, &pairs, &compatible, &bad);
	} else {
		print_message("# draft-07: %s is missing (json-schema-test-"
			      "suite, .ci/deps test): not compared\n",
			      draft7);
	}
	print_message("# %zu pairs compared, %zu found compatible, %zu of "
		      "them unsound\n",
		      pairs, compatible, bad);
	assert_true(compatible > 100);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_enum_const),
		cmocka_unit_test(test_big_enum),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_properties),
		cmocka_unit_test(test_pattern_properties),
		cmocka_unit_test(test_dependencies),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_any_one_of),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_twins),
		cmocka_unit_test(test_sound_random),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_mode_names),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_type_of),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_sound_on_suite),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
