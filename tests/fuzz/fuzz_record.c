/*
 * fuzz_record.c - libFuzzer target for the record decoder and writers:
 * arbitrary bytes as one record, as a hostile file that passes its CRCs
 * would hand them over.
 *
 * Invariants: the fused ev_record_to_json accepts exactly what
 * ev_event_decode + ev_event_check_deep accept (or less) and writes the
 * same text as ev_event_to_json; every writer accepts a decoded event.
 * msgpack-c is the oracle of the reader: whatever value libevlog
 * accepts (a record, a value ev_mp_skip or ev_mp_check_json takes, the
 * map ev_event_to_msgpack writes), msgpack-c unpacks to the same value.
 */
#include <string.h>

#include "common.h"
#include "mporacle.h"

/* what libevlog accepted, msgpack-c unpacks to the same value */
static void record_oracle(const char *what, const uint8_t *b, size_t n)
{
	const char *why = "";

	if (mpo_check(b, n, &why) == MPO_DIFFERS)
		FUZZ_FAIL("%s: libevlog and msgpack-c differ: %s", what, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const record_paths[] = {
	"type",	  "id",		"time", "offset",      "version",
	"schema", "stream",	"key",	"data",	       "data.a",
	"data.0", "data.a.b.1", "meta", "meta.userId", "x",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ev_event ev;
	struct ev_error err;
	struct ev_buf fused = {0}, json = {0}, out = {0}, scratch = {0};
	struct ev_str type;
	const uint8_t *val;
	size_t vn, i;
	int decoded, deep = 0, fused_ok;
	uint8_t *rec;

	if (size > EV_MAX_RECORD)
		return 0;
	/* an exact-size copy, so ASan sees any read past the record */
	rec = malloc(size ? size : 1);
	if (rec == NULL)
		return 0;
	memcpy(rec, data, size);
	(void)ev_event_peek_type(rec, size, &type);
	memset(&ev, 0, sizeof(ev));
	decoded = ev_event_decode(rec, size, &ev, &err) == 0;
	if (decoded) {
		deep = ev_event_check_deep(&ev, &err) == 0;
		record_oracle("a decoded record", rec, size);
	}
	fused_ok = ev_record_to_json(rec, size, 42, &fused, &err) == 0;
	if (fused_ok && !(decoded && deep))
		FUZZ_FAIL("ev_record_to_json accepts a record the decoder "
			  "refuses");
	if (decoded) {
		ev.offset = 42;
		ev.append_time = 0;
		for (i = 0; i < sizeof(record_paths) / sizeof(record_paths[0]);
		     i++)
			(void)ev_event_path(&ev, record_paths[i], &scratch,
					    &val, &vn);
		if (ev_event_to_msgpack(&ev, &out, &err) == 0)
			record_oracle("ev_event_to_msgpack", out.p, out.len);
	}
	if (decoded && deep) {
		if (ev_event_to_json(&ev, &json, 0, &err) != 0)
			FUZZ_FAIL(
				"ev_event_to_json refuses a decoded event: %s",
				err.msg);
		else if (fused_ok && (fused.len != json.len ||
				      memcmp(fused.p, json.p, json.len) != 0))
			FUZZ_FAIL("the two JSON writers differ");
		out.len = 0;
		if (ev_event_to_cloudevent(&ev, &out, &err) != 0)
			FUZZ_FAIL("ev_event_to_cloudevent refuses a decoded "
				  "event: %s",
				  err.msg);
		out.len = 0;
		if (ev_event_to_pretty(&ev, &out, 0, &err) != 0)
			FUZZ_FAIL(
				"ev_event_to_pretty refuses a decoded event: %s",
				err.msg);
		if (ev.data != NULL && !ev.data_is_binary) {
			out.len = 0;
			if (ev_msgpack_to_json(ev.data, ev.data_len, &out,
					       &err) != 0)
				FUZZ_FAIL(
					"data of a decoded event does not print: "
					"%s",
					err.msg);
		}
	}
	/* the msgpack reader on the raw bytes */
	{
		const uint8_t *p = rec;
		const char *why;
		if (ev_mp_skip(&p, rec + size, 0) == 0)
			record_oracle("a value ev_mp_skip takes", rec,
				      (size_t)(p - rec));
		p = rec;
		if (ev_mp_check_json(&p, rec + size, 0, &why) == 0)
			record_oracle("a value ev_mp_check_json takes", rec,
				      (size_t)(p - rec));
		(void)ev_mp_path(rec, size, "a.0.b", &val, &vn);
		out.len = 0;
		(void)ev_msgpack_to_json(rec, size, &out, &err);
	}
	free(rec);
	ev_buf_free(&fused);
	ev_buf_free(&json);
	ev_buf_free(&out);
	ev_buf_free(&scratch);
	return 0;
}
