/*
 * fuzz_jschema_validate.c - libFuzzer target for the JSON Schema
 * validator (lib/jschema_validate.c): the input is a schema's JSON text,
 * a newline, and an instance's JSON text.  Formats are asserted.
 *
 * Invariants: no crash or leak; 1 with no errors, 0 with at least one,
 * or EV_EDATA; the same answer twice (the ctx carries nothing over).
 */
#include <string.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	struct ev_jschema_opts o = {0};
	struct ev_jschema_set *s = NULL;
	struct ev_jschema *sc = NULL;
	struct ev_jschema_ctx *cx;
	struct ev_error err;
	struct ev_json js;
	struct ev_buf inst = {0};
	size_t sn;
	int r, r2;

	if (nl == NULL || size > 65536)
		return 0;
	sn = (size_t)(nl - data);
	ev_json_init(&js, (const char *)nl + 1, size - sn - 1);
	if (ev_json_value(&js, &inst) != 0) {
		ev_buf_free(&inst);
		return 0;
	}
	o.formats_assert = 1;
	o.max_errors = 50;
	cx = ev_jschema_ctx_new();
	if (cx != NULL && ev_jschema_set_new(&s, &o, &err) == 0 &&
	    ev_jschema_add(s, (const char *)data, sn, "fuzz.json", NULL, &sc,
			   &err) == 0 &&
	    ev_jschema_set_compile(s, &err) == 0) {
		r = ev_jschema_validate(sc, inst.p, inst.len, NULL, cx);
		if (r == 1 && ev_jschema_nerrors(cx) != 0)
			FUZZ_FAIL("valid with errors");
		if (r == 0 && ev_jschema_nerrors(cx) == 0)
			FUZZ_FAIL("invalid with no error");
		if (r != 0 && r != 1 && r != EV_EDATA)
			FUZZ_FAIL("validate returned %d", r);
		r2 = ev_jschema_validate(sc, inst.p, inst.len, NULL, cx);
		if (r2 != r)
			FUZZ_FAIL("validated %d, then %d", r, r2);
	}
	ev_jschema_set_free(s);
	ev_jschema_ctx_free(cx);
	ev_buf_free(&inst);
	return 0;
}
