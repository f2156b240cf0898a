/*
 * fuzz_json.c - libFuzzer target for the JSON transcoder (lib/json.c)
 * and the three input formats of ev_parser_line (envelope, CloudEvents,
 * --wrap).
 *
 * Besides memory safety it checks the round-trip laws: a value the
 * transcoder accepts prints back and reads back to the same msgpack; an
 * event any parser accepts decodes, prints the same through both JSON
 * writers, and reads back from its envelope JSON to the same record.
 * And msgpack-c is the oracle of what libevlog writes: the transcoded
 * value, each record and its ev_event_to_msgpack map unpack there to the
 * values libevlog reads.
 */
#include <string.h>

#include "common.h"
#include "mporacle.h"

static void json_oracle(const char *what, const uint8_t *b, size_t n)
{
	const char *why = "";

	if (mpo_check(b, n, &why) == MPO_DIFFERS)
		FUZZ_FAIL("%s: libevlog and msgpack-c differ: %s", what, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void json_check_record(const uint8_t *rec, size_t n, int envelope)
{
	struct ev_event ev;
	struct ev_error err;
	struct ev_buf a = {0}, b = {0}, c = {0};
	struct ev_parser *ps;
	const uint8_t *rec2;
	size_t n2;

	if (ev_event_decode(rec, n, &ev, &err) != 0 ||
	    ev_event_check_deep(&ev, &err) != 0) {
		if (!fuzz_lax())
			FUZZ_FAIL("an accepted event does not decode: %s",
				  err.msg);
		return;
	}
	ev.offset = 1;
	ev.append_time = 0;
	if (ev_record_to_json(rec, n, 1, &a, &err) != 0) {
		FUZZ_FAIL("ev_record_to_json refuses a decoded event: %s",
			  err.msg);
		goto out;
	}
	if (ev_event_to_json(&ev, &b, 0, &err) != 0) {
		FUZZ_FAIL("ev_event_to_json refuses a decoded event: %s",
			  err.msg);
		goto out;
	}
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0) {
		FUZZ_FAIL("the two JSON writers differ");
		goto out;
	}
	(void)ev_event_to_cloudevent(&ev, &c, &err);
	c.len = 0;
	(void)ev_event_to_pretty(&ev, &c, 1, &err);
	c.len = 0;
	json_oracle("a record", rec, n);
	if (ev_event_to_msgpack(&ev, &c, &err) == 0)
		json_oracle("ev_event_to_msgpack", c.p, c.len);
	/* the envelope JSON reads back to the same record */
	if (envelope) {
		ps = ev_parser_new(NULL);
		if (ps == NULL)
			goto out;
		if (ev_parser_line(ps, (const char *)a.p, a.len, 0, &err) !=
		    1) {
			FUZZ_FAIL("envelope JSON of an event is refused: %s",
				  err.msg);
		} else {
			ev_parser_record(ps, 0, &rec2, &n2, NULL);
			if (n2 != n || memcmp(rec2, rec, n) != 0)
				FUZZ_FAIL(
					"record -> JSON -> record changes it");
		}
		ev_parser_free(ps);
	}
out:
	ev_buf_free(&a);
	ev_buf_free(&b);
	ev_buf_free(&c);
}

static void json_transcode(const char *p, size_t n)
{
	struct ev_json js, js2;
	struct ev_buf mp = {0}, text = {0}, mp2 = {0};
	struct ev_error err;

	ev_json_init(&js, p, n);
	if (ev_json_ws(&js) < 0 || ev_json_value(&js, &mp) != 0 ||
	    ev_json_ws(&js) >= 0)
		goto out;
	json_oracle("a transcoded value", mp.p, mp.len);
	if (ev_msgpack_to_json(mp.p, mp.len, &text, &err) != 0) {
		if (!fuzz_lax())
			FUZZ_FAIL("an accepted value does not print: %s",
				  err.msg);
		goto out;
	}
	ev_json_init(&js2, (const char *)text.p, text.len);
	if (ev_json_value(&js2, &mp2) != 0 || js2.p != js2.end) {
		FUZZ_FAIL("printed JSON is refused: %s",
			  js2.errmsg ? js2.errmsg : "trailing bytes");
		goto out;
	}
	if (mp2.len != mp.len || memcmp(mp2.p, mp.p, mp.len) != 0)
		FUZZ_FAIL(
			"JSON -> msgpack -> JSON -> msgpack changes the value");
out:
	ev_buf_free(&mp);
	ev_buf_free(&text);
	ev_buf_free(&mp2);
}

static void json_parse_line(enum ev_format fmt, const char *p, size_t n)
{
	struct ev_parse_opts o;
	struct ev_parser *ps;
	struct ev_error err;
	const uint8_t *rec;
	size_t rn;
	ev_time_t t;
	int r, i;

	memset(&o, 0, sizeof(o));
	o.format = fmt;
	if (fmt == EV_FMT_WRAP) {
		o.type_from = "type";
		o.id_from = "id";
		o.stream_from = "a.b";
		o.time_from = "time";
		o.key_from = "k.0";
	}
	ps = ev_parser_new(&o);
	if (ps == NULL)
		return;
	r = ev_parser_line(ps, p, n, 1700000000000000000LL, &err);
	if (r < 0 &&
	    (err.msg[0] == '\0' || err.column == 0 || err.column > n + 1))
		FUZZ_FAIL("error without a message or a column in the line: "
			  "'%s' at %zu",
			  err.msg, err.column);
	for (i = 0; i < r; i++) {
		ev_parser_record(ps, i, &rec, &rn, &t);
		json_check_record(rec, rn, 1);
	}
	ev_parser_free(ps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;

	if (size > EV_MAX_LINE)
		return 0;
	json_transcode(p, size);
	json_parse_line(EV_FMT_ENVELOPE, p, size);
	json_parse_line(EV_FMT_CLOUDEVENTS, p, size);
	json_parse_line(EV_FMT_WRAP, p, size);
	return 0;
}
