/*
 * fuzz_jschema_compile.c - libFuzzer target for the JSON Schema compiler
 * (lib/jschema_compile.c): the input is a schema's JSON text.  A schema that
 * compiles validates a few fixed instances and its own document; a
 * second set compiles it with the metaschema check.
 *
 * Invariants: no crash or leak; a validation answers 1 with no errors,
 * 0 with at least one (each with its four strings), or EV_EDATA for a
 * recursion that is too deep; a schema the metaschema check accepts
 * also compiles without it.
 */
#include <string.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fjc_instances[] = {
	"null",
	"true",
	"0",
	"-1.5",
	"\"ab\"",
	"[]",
	"[1,\"a\",[null],{\"b\":2}]",
	"{}",
	"{\"a\":1,\"b\":[true,{\"c\":\"d\"}],\"foo\":\"bar\"}",
};

static void fjc_check(const struct ev_jschema *sc, const uint8_t *mp, size_t n,
		      struct ev_jschema_ctx *cx)
{
	int r = ev_jschema_validate(sc, mp, n, "/x", cx);
	size_t i, ne = ev_jschema_nerrors(cx);

	if (r == 1 && ne != 0)
		FUZZ_FAIL("valid with %zu errors", ne);
	if (r == 0 && ne == 0)
		FUZZ_FAIL("invalid with no error");
	if (r != 1 && r != 0 && r != EV_EDATA)
		FUZZ_FAIL("validate returned %d", r);
	for (i = 0; i < ne; i++) {
		const struct ev_jschema_error *e = ev_jschema_error_at(cx, i);

		if (e == NULL || e->instance_path == NULL ||
		    strncmp(e->instance_path, "/x", 2) != 0 ||
		    e->schema_path == NULL || e->keyword == NULL ||
		    e->message == NULL)
			FUZZ_FAIL("error %zu is incomplete", i);
	}
}

static void fjc_validate_all(const struct ev_jschema *sc, const uint8_t *self,
			     size_t selfn)
{
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	struct ev_buf b = {0};
	size_t i;

	if (cx == NULL)
		return;
	for (i = 0; i < sizeof(fjc_instances) / sizeof(fjc_instances[0]); i++) {
		struct ev_json js;

		b.len = 0;
		ev_json_init(&js, fjc_instances[i], strlen(fjc_instances[i]));
		if (ev_json_value(&js, &b) == 0)
			fjc_check(sc, b.p, b.len, cx);
	}
	if (self != NULL)
		fjc_check(sc, self, selfn, cx);
	ev_buf_free(&b);
	ev_jschema_ctx_free(cx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ev_jschema_opts o = {0};
	struct ev_jschema_set *s = NULL;
	struct ev_jschema *sc = NULL;
	struct ev_error err;
	struct ev_json js;
	struct ev_buf self = {0};
	int ok;

	if (size > 65536)
		return 0;
	o.max_errors = 20;
	if (ev_jschema_set_new(&s, &o, &err) != 0)
		return 0;
	ok = ev_jschema_add(s, (const char *)data, size, "fuzz.json", NULL, &sc,
			    &err) == 0 &&
	     ev_jschema_set_compile(s, &err) == 0;
	if (ok) {
		ev_json_init(&js, (const char *)data, size);
		js.depth = -1000;
		if (ev_json_value(&js, &self) != 0)
			self.len = 0;
		fjc_validate_all(sc, self.len ? self.p : NULL, self.len);
	}
	ev_jschema_set_free(s);
	/* the same with the metaschema check */
	s = NULL;
	o.check_meta = 1;
	if (ev_jschema_set_new(&s, &o, &err) == 0) {
		int mok = ev_jschema_add(s, (const char *)data, size,
					 "fuzz.json", NULL, &sc, &err) == 0 &&
			  ev_jschema_set_compile(s, &err) == 0;

		if (mok && !ok && !fuzz_lax())
			FUZZ_FAIL("compiles with the metaschema check only");
		ev_jschema_set_free(s);
	}
	ev_buf_free(&self);
	return 0;
}
