/*
 * test_event.c - the event envelope: lib/event.c (records), parser.c,
 * builder.c, eventout.c and cloudevents.c.
 *
 * Parsing (envelope, --wrap and CloudEvents input), the envelope rules of
 * evpub(1), record encoding and decoding, the JSON writers (the fused
 * ev_record_to_json and ev_event_to_json must agree), the builder, the
 * CloudEvents conformance cases and the envelope -> CloudEvents ->
 * envelope round trip.
 */
#include <time.h>

#include "unit.h"

#define NOW 1700000000123456789LL

/* ------------------------------------------------------------ helpers */

/* One parsed line: its records copied out of the parser. */
struct parsed {
	int count;
	struct ev_buf rec[4];
	ev_time_t time[4];
	struct ev_error err;
};

static void parsed_free(struct parsed *p)
{
	int i;

	for (i = 0; i < 4; i++)
		ev_buf_free(&p->rec[i]);
}

static int parse_opts(const struct ev_parse_opts *o, const char *line,
		      size_t len, struct parsed *out)
{
	struct ev_parser *ps = ev_parser_new(o);
	const uint8_t *rec;
	size_t n;
	int i, r;

	assert_non_null(ps);
	memset(out, 0, sizeof(*out));
	ev_error_clear(&out->err);
	r = ev_parser_line(ps, line, len, NOW, &out->err);
	out->count = r;
	for (i = 0; i < r && i < 4; i++) {
		ev_parser_record(ps, i, &rec, &n, &out->time[i]);
		assert_int_equal(ev_buf_append(&out->rec[i], rec, n), 0);
	}
	ev_parser_free(ps);
	return r;
}

static int parse_fmt(enum ev_format fmt, const char *line, struct parsed *out)
{
	struct ev_parse_opts o;

	memset(&o, 0, sizeof(o));
	o.format = fmt;
	return parse_opts(&o, line, strlen(line), out);
}

/* An envelope line that must parse to one record. */
static void parse_ok(const char *line, struct parsed *out)
{
	if (parse_fmt(EV_FMT_ENVELOPE, line, out) != 1)
		fail_msg("'%s' was rejected: %s (column %zu)", line,
			 out->err.msg, out->err.column);
}

/* An envelope line that must fail with this message (and column, if
 * not 0). */
static void parse_fails(const char *line, const char *msg, size_t column)
{
	struct parsed p;
	int r = parse_fmt(EV_FMT_ENVELOPE, line, &p);

	if (r != EV_EDATA)
		fail_msg("'%s' gave %d, want EV_EDATA", line, r);
	if (strstr(p.err.msg, msg) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", line, p.err.msg, msg);
	if (column != 0 && p.err.column != column)
		fail_msg("'%s': column %zu, want %zu", line, p.err.column,
			 column);
	parsed_free(&p);
}

static void decode_ok(const struct ev_buf *rec, struct ev_event *ev,
		      uint64_t offset)
{
	struct ev_error err;

	memset(ev, 0, sizeof(*ev));
	if (ev_event_decode(rec->p, rec->len, ev, &err) != 0)
		fail_msg("record does not decode: %s", err.msg);
	if (ev_event_check_deep(ev, &err) != 0)
		fail_msg("record fails the deep check: %s", err.msg);
	ev->offset = offset;
}

/*
 * The envelope JSON of a record, written both ways: the fused
 * ev_record_to_json and decode + ev_event_to_json must give the same
 * text.  Returns a malloc'ed string.
 */
static char *rec_json(const struct ev_buf *rec, uint64_t offset)
{
	struct ev_buf a = {0}, b = {0};
	struct ev_event ev;
	struct ev_error err;
	char *s;

	if (ev_record_to_json(rec->p, rec->len, offset, &a, &err) != 0)
		fail_msg("ev_record_to_json: %s", err.msg);
	decode_ok(rec, &ev, offset);
	if (ev_event_to_json(&ev, &b, 0, &err) != 0)
		fail_msg("ev_event_to_json: %s", err.msg);
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		fail_msg("the two JSON writers differ:\n%.*s\n%.*s", (int)a.len,
			 a.p, (int)b.len, b.p);
	s = strndup((const char *)a.p, a.len);
	ev_buf_free(&a);
	ev_buf_free(&b);
	return s;
}

static int str_is(const struct ev_str *s, const char *want)
{
	return s->p != NULL && s->n == strlen(want) &&
	       memcmp(s->p, want, s->n) == 0;
}

/* JSON text of a msgpack value (data or meta), malloc'ed */
static char *mp_json(const uint8_t *p, size_t n)
{
	struct ev_buf b = {0};
	struct ev_error err;
	char *s;

	if (ev_msgpack_to_json(p, n, &b, &err) != 0)
		fail_msg("value does not print: %s", err.msg);
	s = strndup((const char *)b.p, b.len);
	ev_buf_free(&b);
	return s;
}

static ev_time_t utc(int y, int mo, int d, int h, int mi, int s, long ns)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (ev_time_t)timegm(&tm) * 1000000000 + ns;
}

/* ------------------------------------------------------------ envelope */

static void test_type_required(void **state)
{
	(void)state;
	parse_fails("{}", "missing required field 'type'", 1);
	parse_fails("{\"id\":\"x\",\"data\":1}",
		    "missing required field 'type'", 1);
	parse_fails("{\"type\":\"\"}",
		    "field 'type' must be a non-empty string", 9);
	parse_fails("{\"type\":5}", "field 'type' must be a non-empty string",
		    9);
	parse_fails("{\"type\":null}",
		    "field 'type' must be a non-empty string", 9);
	parse_fails("{\"type\":[\"a\"]}",
		    "field 'type' must be a non-empty string", 9);
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void check_uuid7(const struct ev_str *id, ev_time_t now)
{
	unsigned long long got, want;
	char ms[13];
	int i;

	assert_int_equal(id->n, 36);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(id->p[i], '-');
		else if (!is_hex(id->p[i]))
			fail_msg("id '%.36s' is not lowercase hex", id->p);
	}
	if (id->p[14] != '7')
		fail_msg("id '%.36s': version nibble is not 7", id->p);
	if (strchr("89ab", id->p[19]) == NULL)
		fail_msg("id '%.36s': variant is not 10", id->p);
	/* the first 48 bits are the Unix time in milliseconds; ids made
	 * faster than 4096 a millisecond borrow from the next one */
	snprintf(ms, sizeof(ms), "%.8s%.4s", id->p, id->p + 9);
	got = strtoull(ms, NULL, 16);
	want = (unsigned long long)(now / 1000000);
	if (got < want || got > want + 100)
		fail_msg("id '%.36s' has time %llu ms, want %llu", id->p, got,
			 want);
}

static void test_id_generated_uuid7(void **state)
{
	struct parsed a, b;
	struct ev_event ea, eb;
	char prev[37];

	(void)state;
	parse_ok("{\"type\":\"t\"}", &a);
	decode_ok(&a.rec[0], &ea, 0);
	check_uuid7(&ea.id, NOW);
	/* time-ordered: a later id sorts after */
	memcpy(prev, ea.id.p, 36);
	prev[36] = '\0';
	parse_ok("{\"type\":\"t\",\"id\":null}", &b);
	decode_ok(&b.rec[0], &eb, 0);
	check_uuid7(&eb.id, NOW);
	assert_true(memcmp(eb.id.p, prev, 36) > 0);
	parsed_free(&a);
	parsed_free(&b);
	/* given ids are kept */
	parse_ok("{\"type\":\"t\",\"id\":\"order-1 \\u00e9\"}", &a);
	decode_ok(&a.rec[0], &ea, 0);
	assert_true(str_is(&ea.id, "order-1 \xc3\xa9"));
	parsed_free(&a);
	parse_fails("{\"type\":\"t\",\"id\":\"\"}",
		    "field 'id' must be a "
		    "non-empty string",
		    18);
	parse_fails("{\"type\":\"t\",\"id\":7}", "field 'id'", 18);
	/* ev_uuid7 directly: strictly increasing within one millisecond */
	{
		char u1[37], u2[37];
		int i;
		ev_uuid7(NOW, u1);
		for (i = 0; i < 5000; i++) {
			ev_uuid7(NOW, u2);
			if (strcmp(u2, u1) <= 0)
				fail_msg("uuid7 '%s' after '%s'", u2, u1);
			memcpy(u1, u2, 37);
		}
	}
}

struct time_case {
	const char *text;
	ev_time_t want;
};

static void test_time_rfc3339(void **state)
{
	const struct time_case good[] = {
		{"2025-01-10T09:30:00.123Z",
		 utc(2025, 1, 10, 9, 30, 0, 123000000)},
		{"2025-01-10T09:30:00Z", utc(2025, 1, 10, 9, 30, 0, 0)},
		{"2025-01-10T09:30:00+05:30", utc(2025, 1, 10, 4, 0, 0, 0)},
		{"2025-01-10T09:30:00-08:00", utc(2025, 1, 10, 17, 30, 0, 0)},
		{"2025-01-10T23:30:00-01:00", utc(2025, 1, 11, 0, 30, 0, 0)},
		{"2025-01-10T09:30:00.1Z",
		 utc(2025, 1, 10, 9, 30, 0, 100000000)},
		{"2025-01-10T09:30:00.123456789Z",
		 utc(2025, 1, 10, 9, 30, 0, 123456789)},
		{"2025-01-10T09:30:00.000000001+00:00",
		 utc(2025, 1, 10, 9, 30, 0, 1)},
		{"2025-01-10t09:30:00z", utc(2025, 1, 10, 9, 30, 0, 0)},
		{"2024-02-29T00:00:00Z", utc(2024, 2, 29, 0, 0, 0, 0)},
		{"2000-02-29T12:00:00Z", utc(2000, 2, 29, 12, 0, 0, 0)},
		{"1970-01-01T00:00:00Z", 0},
		{"1969-12-31T23:59:59.999999999Z", -1},
		{"1678-01-01T00:00:00Z", utc(1678, 1, 1, 0, 0, 0, 0)},
		{"2261-12-31T23:59:59.999999999Z",
		 utc(2261, 12, 31, 23, 59, 59, 999999999)},
		/* the ends of the range: all of int64 but EV_TIME_NONE */
		{"1677-09-21T00:12:43.145224193Z", EV_TIME_MIN},
		{"2262-04-11T23:47:16.854775807Z", EV_TIME_MAX},
		{"2262-04-12T01:47:16.854775807+02:00", EV_TIME_MAX},
		{"1677-09-20T23:12:43.145224193-01:00", EV_TIME_MIN},
	};
	static const char *const bad[] = {
		"2025-01-10T09:30:00.1234567890Z", /* 10 fraction digits */
		"2025-02-30T00:00:00Z",
		"2023-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z",
		"2025-04-31T00:00:00Z",
		"2025-13-01T00:00:00Z",
		"2025-00-10T00:00:00Z",
		"2025-01-00T00:00:00Z",
		"2025-01-10T24:00:00Z",
		"2025-01-10T09:60:00Z",
		"2025-01-10T09:30:61Z",
		"2025-01-10T09:30:00",
		"2025-01-10T09:30Z",
		"2025-01-10",
		"2025-01-10T09:30:00+05",
		"2025-01-10T09:30:00+0530",
		"2025-01-10T09:30:00+05:60",
		"2025-01-10T09:30:00+24:00",
		"2025-01-10T09:30:00.Z",
		"2025-01-10T09:30:00ZZ",
		"2025-01-10X09:30:00Z",
		"2025-1-10T09:30:00Z",
		" 2025-01-10T09:30:00Z",
		"1677-01-01T00:00:00Z", /* outside int64 nanoseconds */
		"1677-09-21T00:12:43.145224192Z", /* EV_TIME_NONE */
		"1677-09-21T00:12:43.145224191Z",
		"2262-04-11T23:47:16.854775808Z",
		"2262-04-12T01:47:16.854775807+01:59",
		"0001-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z",
		"2263-01-01T00:00:00Z",
		"",
	};
	char line[160];
	struct parsed p;
	struct ev_event ev;
	ev_time_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (ev_time_parse(good[i].text, strlen(good[i].text), &t) != 0)
			fail_msg("'%s' rejected", good[i].text);
		if (t != good[i].want)
			fail_msg("'%s' gave %lld, want %lld", good[i].text,
				 (long long)t, (long long)good[i].want);
		snprintf(line, sizeof(line), "{\"type\":\"t\",\"time\":\"%s\"}",
			 good[i].text);
		parse_ok(line, &p);
		assert_true(p.time[0] == good[i].want);
		decode_ok(&p.rec[0], &ev, 0);
		assert_true(ev.time == good[i].want);
		parsed_free(&p);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ev_time_parse(bad[i], strlen(bad[i]), &t) == 0)
			fail_msg("'%s' accepted as %lld", bad[i], (long long)t);
		snprintf(line, sizeof(line), "{\"type\":\"t\",\"time\":\"%s\"}",
			 bad[i]);
		parse_fails(line, "field 'time' is not an RFC 3339 time", 20);
	}
	parse_fails("{\"type\":\"t\",\"time\":1700000000}",
		    "field 'time' must be an RFC 3339 time string", 20);
	/* absent or null: the time given to the parser */
	parse_ok("{\"type\":\"t\",\"time\":null}", &p);
	assert_true(p.time[0] == NOW);
	decode_ok(&p.rec[0], &ev, 0);
	assert_true(ev.time == NOW);
	parsed_free(&p);
}

/* times print as UTC with 3, 6 or 9 fraction digits and read back */
static void test_time_format(void **state)
{
	static const struct {
		ev_time_t t;
		const char *text;
	} cases[] = {
		{0, "1970-01-01T00:00:00.000Z"},
		{-1, "1969-12-31T23:59:59.999999999Z"},
		{1700000000123000000LL, "2023-11-14T22:13:20.123Z"},
		{1700000000123456000LL, "2023-11-14T22:13:20.123456Z"},
		{1700000000123456789LL, "2023-11-14T22:13:20.123456789Z"},
		{EV_TIME_MIN, "1677-09-21T00:12:43.145224193Z"},
		{EV_TIME_MAX, "2262-04-11T23:47:16.854775807Z"},
	};
	char buf[40];
	ev_time_t back;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = ev_time_format(cases[i].t, buf);
		assert_int_equal(n, strlen(cases[i].text));
		assert_string_equal(buf, cases[i].text);
		assert_int_equal(ev_time_parse(buf, n, &back), 0);
		assert_true(back == cases[i].t);
	}
}

/* User times: relative ones are checked against the range, never wrapped;
 * a time out of range is EV_EDATA, not a time EV_EUSAGE. */
static void test_time_user_range(void **state)
{
	ev_time_t t;
	char age[16];

	(void)state;
	assert_int_equal(ev_time_parse_user("+9223372036854ms", 0, &t), 0);
	assert_true(t == 9223372036854000000LL);
	assert_int_equal(ev_time_parse_user("-9223372036854ms", 0, &t), 0);
	assert_true(t == -9223372036854000000LL);
	assert_int_equal(ev_time_parse_user("+9223372036855ms", 0, &t),
			 EV_EDATA);
	assert_int_equal(ev_time_parse_user("-9223372036855ms", 0, &t),
			 EV_EDATA);
	assert_int_equal(ev_time_parse_user("-1ms", EV_TIME_MIN + 999999, &t),
			 EV_EDATA);
	assert_int_equal(ev_time_parse_user("-1ms", EV_TIME_MIN + 1000000, &t),
			 0);
	assert_true(t == EV_TIME_MIN);
	assert_int_equal(ev_time_parse_user("+106751d", ev_now(), &t),
			 EV_EDATA);
	assert_int_equal(ev_time_parse_user("+99999999999999999999d", 0, &t),
			 EV_EDATA);
	assert_int_equal(ev_time_parse_user("2262-04-11T23:47:16.854775808Z", 0,
					    &t),
			 EV_EDATA);
	assert_int_equal(ev_time_parse_user("2262-04-12", 0, &t), EV_EDATA);
	assert_int_equal(ev_time_parse_user("2262-04-11", 0, &t), 0);
	assert_int_equal(ev_time_parse_user("+1x", 0, &t), EV_EUSAGE);
	assert_int_equal(ev_time_parse_user("2025-02-30", 0, &t), EV_EUSAGE);
	/* ages across the whole range do not overflow */
	ev_age_format(EV_TIME_MIN, EV_TIME_MAX, age, sizeof(age));
	assert_string_equal(age, "106751d");
	ev_age_format(EV_TIME_MAX, EV_TIME_MIN, age, sizeof(age));
	assert_string_equal(age, "0s");
}

static void test_version_schema(void **state)
{
	static const char *const fields[] = {"version", "schema"};
	static const char *const bad[] =
		{"0",	  "-1",	 "1.5",
		 "\"2\"", "1e2", "true",
		 "[1]",	  "{}",	 "18446744073709551616"};
	char line[128], msg[64];
	struct parsed p, q;
	struct ev_event ev;
	size_t i, f;

	(void)state;
	for (f = 0; f < 2; f++) {
		snprintf(msg, sizeof(msg),
			 "field '%s' must be a positive integer", fields[f]);
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(line, sizeof(line),
				 "{\"type\":\"t\",\"%s\":%s}", fields[f],
				 bad[i]);
			parse_fails(line, msg, 14 + strlen(fields[f]) + 2);
		}
		snprintf(line, sizeof(line),
			 "{\"type\":\"t\",\"%s\":18446744073709551615}",
			 fields[f]);
		parse_ok(line, &p);
		decode_ok(&p.rec[0], &ev, 0);
		assert_true((f ? ev.schema : ev.version) == UINT64_MAX);
		parsed_free(&p);
	}
	parse_ok("{\"type\":\"t\",\"version\":3,\"schema\":2}", &p);
	decode_ok(&p.rec[0], &ev, 0);
	assert_true(ev.version == 3 && ev.schema == 2);
	parsed_free(&p);
	/* schema defaults to 1; an explicit 1 is the same record */
	parse_ok("{\"id\":\"a\",\"type\":\"t\"}", &p);
	parse_ok("{\"id\":\"a\",\"type\":\"t\",\"schema\":1,\"version\":null}",
		 &q);
	decode_ok(&p.rec[0], &ev, 0);
	assert_true(ev.schema == 1 && ev.version == 0);
	assert_int_equal(p.rec[0].len, q.rec[0].len);
	assert_memory_equal(p.rec[0].p, q.rec[0].p, p.rec[0].len);
	parsed_free(&p);
	parsed_free(&q);
}

static void test_unknown_field(void **state)
{
	char line[200];

	(void)state;
	parse_fails("{\"type\":\"t\",\"tpye\":\"x\"}",
		    "unknown field 'tpye' (did you mean 'type'?)", 13);
	parse_fails("{\"tpye\":\"x\"}",
		    "unknown field 'tpye' (did you mean 'type'?)", 2);
	parse_fails("{\"type\":\"t\",\"Data\":1}",
		    "unknown field 'Data' (did you mean 'data'?)", 13);
	parse_fails("{\"type\":\"t\",\"strem\":\"s\"}",
		    "did you mean 'stream'?", 13);
	parse_fails("{\"type\":\"t\",\"correlationId\":\"c\"}",
		    "unknown field 'correlationId'", 13);
	{
		struct parsed p;
		assert_int_equal(parse_fmt(EV_FMT_ENVELOPE,
					   "{\"type\":\"t\",\"zzzzz\":1}", &p),
				 EV_EDATA);
		assert_string_equal(p.err.msg, "unknown field 'zzzzz'");
	}
	/* a very long name is shortened in the message */
	snprintf(line, sizeof(line), "{\"type\":\"t\",\"%0100d\":1}", 0);
	parse_fails(line, "unknown field '000000", 13);
	{
		struct parsed p;
		parse_fmt(EV_FMT_ENVELOPE, line, &p);
		assert_true(strlen(p.err.msg) < 100);
	}
}

static void test_duplicate_field(void **state)
{
	(void)state;
	parse_fails("{\"type\":\"a\",\"type\":\"b\"}", "duplicate field 'type'",
		    13);
	parse_fails("{\"type\":\"a\",\"data\":1,\"data\":2}",
		    "duplicate field 'data'", 22);
	parse_fails("{\"type\":\"a\",\"meta\":{},\"meta\":{}}",
		    "duplicate field 'meta'", 23);
	parse_fails("{\"offset\":1,\"type\":\"a\",\"offset\":2}",
		    "duplicate field 'offset'", 24);
	parse_fails("{\"type\":\"a\",\"id\":null,\"id\":\"x\"}",
		    "duplicate field 'id'", 23);
}

/* inside data and meta, duplicate keys are kept in order */
static void test_duplicate_keys_inside(void **state)
{
	struct parsed p;
	struct ev_event ev;
	char *s;

	(void)state;
	parse_ok("{\"type\":\"t\",\"data\":{\"a\":\"b\",\"a\":\"c\"},"
		 "\"meta\":{\"k\":1,\"k\":2}}",
		 &p);
	decode_ok(&p.rec[0], &ev, 0);
	s = mp_json(ev.data, ev.data_len);
	assert_string_equal(s, "{\"a\":\"b\",\"a\":\"c\"}");
	free(s);
	s = mp_json(ev.meta, ev.meta_len);
	assert_string_equal(s, "{\"k\":1,\"k\":2}");
	free(s);
	parsed_free(&p);
}

static void test_meta_must_be_object(void **state)
{
	struct parsed p;
	struct ev_event ev;

	(void)state;
	parse_fails("{\"type\":\"t\",\"meta\":[1]}",
		    "field 'meta' must be an object", 20);
	parse_fails("{\"type\":\"t\",\"meta\":\"x\"}",
		    "field 'meta' must be an object", 20);
	parse_fails("{\"type\":\"t\",\"meta\":1}",
		    "field 'meta' must be an object", 20);
	parse_fails("{\"type\":\"t\",\"meta\":true}",
		    "field 'meta' must be an object", 20);
	parse_ok("{\"type\":\"t\",\"meta\":null}", &p);
	decode_ok(&p.rec[0], &ev, 0);
	assert_null(ev.meta);
	parsed_free(&p);
	parse_ok("{\"type\":\"t\",\"meta\":{}}", &p);
	decode_ok(&p.rec[0], &ev, 0);
	assert_non_null(ev.meta);
	assert_int_equal(ev.meta_len, 1);
	parsed_free(&p);
}

static void test_data_base64(void **state)
{
	struct parsed p;
	struct ev_event ev;
	char *s;

	(void)state;
	parse_ok("{\"id\":\"x\",\"type\":\"t\",\"data_base64\":\"AAEC/w==\"}",
		 &p);
	decode_ok(&p.rec[0], &ev, 3);
	assert_true(ev.data_is_binary);
	assert_int_equal(ev.data_len, 4);
	assert_memory_equal(ev.data, "\x00\x01\x02\xff", 4);
	s = rec_json(&p.rec[0], 3);
	assert_string_equal(s, "{\"offset\":3,\"id\":\"x\",\"type\":\"t\","
			       "\"time\":\"2023-11-14T22:13:20.123456789Z\","
			       "\"schema\":1,\"data_base64\":\"AAEC/w==\"}");
	free(s);
	parsed_free(&p);
	/* every length mod 3 */
	parse_ok("{\"type\":\"t\",\"data_base64\":\"YQ==\"}", &p);
	decode_ok(&p.rec[0], &ev, 0);
	assert_int_equal(ev.data_len, 1);
	parsed_free(&p);
	parse_ok("{\"type\":\"t\",\"data_base64\":\"YWI=\"}", &p);
	decode_ok(&p.rec[0], &ev, 0);
	assert_int_equal(ev.data_len, 2);
	parsed_free(&p);
	parse_fails("{\"type\":\"t\",\"data_base64\":\"AAE\"}",
		    "field 'data_base64' is not valid base64", 27);
	parse_fails("{\"type\":\"t\",\"data_base64\":\"AA=A\"}",
		    "not valid base64", 27);
	parse_fails("{\"type\":\"t\",\"data_base64\":\"A===\"}",
		    "not valid base64", 27);
	parse_fails("{\"type\":\"t\",\"data_base64\":\"AA AA\"}",
		    "not valid base64", 27);
	parse_fails("{\"type\":\"t\",\"data_base64\":5}",
		    "field 'data_base64' must be a base64 string", 27);
	parse_fails("{\"type\":\"t\",\"data\":1,\"data_base64\":\"AA==\"}",
		    "mutually exclusive", 0);
	parse_fails("{\"type\":\"t\",\"data_base64\":\"AA==\",\"data\":1}",
		    "mutually exclusive", 0);
}

/*
 * Empty binary data is data: "data_base64":"" must give an empty binary
 * value, whether or not the parser has parsed data before (its data
 * buffer is then still unallocated).
 */
static void test_data_base64_empty(void **state)
{
	static const char *const line = "{\"type\":\"t\",\"data_base64\":\"\"}";
	static const char *const first = "{\"type\":\"t\",\"data\":[1,2,3]}";
	struct ev_parser *ps;
	struct ev_error err;
	struct ev_event ev;
	const uint8_t *rec;
	size_t n;
	int round, bad = 0;

	(void)state;
	for (round = 0; round < 2; round++) {
		ps = ev_parser_new(NULL);
		assert_non_null(ps);
		if (round == 1)
			assert_int_equal(ev_parser_line(ps, first,
							strlen(first), NOW,
							&err),
					 1);
		assert_int_equal(ev_parser_line(ps, line, strlen(line), NOW,
						&err),
				 1);
		ev_parser_record(ps, 0, &rec, &n, NULL);
		assert_int_equal(ev_event_decode(rec, n, &ev, &err), 0);
		if (ev.data == NULL || !ev.data_is_binary || ev.data_len != 0) {
			print_error(
				"# %s parser: \"data_base64\":\"\" gave %s\n",
				round ? "a used" : "a fresh",
				ev.data == NULL ? "no data" : "other data");
			bad++;
		}
		ev_parser_free(ps);
	}
	if (bad)
		fail_msg("empty data_base64 is not kept");
}

static void test_offset_ignored(void **state)
{
	struct parsed p, q;

	(void)state;
	parse_ok("{\"offset\":42,\"id\":\"a\",\"type\":\"t\"}", &p);
	parse_ok("{\"id\":\"a\",\"type\":\"t\"}", &q);
	assert_int_equal(p.rec[0].len, q.rec[0].len);
	assert_memory_equal(p.rec[0].p, q.rec[0].p, p.rec[0].len);
	parsed_free(&p);
	parsed_free(&q);
}

/* A full envelope and its exact JSON form */
static void test_full_envelope(void **state)
{
	static const char *const line =
		"{\"offset\":42,\"id\":\"0190b6f4-aaaa\",\"type\":\"MoneyDeposited\","
		"\"stream\":\"account-123\",\"version\":2,"
		"\"time\":\"2025-01-10T09:30:00.123Z\",\"schema\":2,"
		"\"key\":\"account-123\",\"data\":{\"amount\":2000},"
		"\"meta\":{\"correlationId\":\"c\",\"causationId\":\"d\","
		"\"userId\":\"u-1\"}}";
	struct parsed p;
	struct ev_event ev;
	char *s;

	(void)state;
	parse_ok(line, &p);
	decode_ok(&p.rec[0], &ev, 42);
	assert_true(str_is(&ev.id, "0190b6f4-aaaa"));
	assert_true(str_is(&ev.type, "MoneyDeposited"));
	assert_true(str_is(&ev.stream, "account-123"));
	assert_true(str_is(&ev.key, "account-123"));
	assert_true(ev.version == 2 && ev.schema == 2);
	assert_true(ev.time == utc(2025, 1, 10, 9, 30, 0, 123000000));
	s = rec_json(&p.rec[0], 42);
	assert_string_equal(s, line);
	free(s);
	/* the type can be read without decoding */
	{
		struct ev_str t;
		assert_int_equal(ev_event_peek_type(p.rec[0].p, p.rec[0].len,
						    &t),
				 0);
		assert_true(str_is(&t, "MoneyDeposited"));
	}
	parsed_free(&p);
}

/*
 * ev_event_peek_type() reads the usual layout directly and anything else
 * the long way: the same answers, and no read past the record.
 */
static void test_peek_type_layouts(void **state)
{
	/* fixmap 3: id fixstr "ab", type fixstr "T", time */
	static const uint8_t fix[] = {0x83, 1,	  0xa2, 'a', 'b',
				      2,    0xa1, 'T',	6,   0x00};
	/* map16 2: id str8 "a", type str16 "Ty" (read the long way) */
	static const uint8_t m16[] = {0xde, 0,	  2, 1, 0xd9, 1,  'a',
				      2,    0xda, 0, 2, 'T',  'y'};
	/* fixmap 2: id str8 "ab", type str8 "Typ" */
	static const uint8_t s8[] = {0x82, 1,	 0xd9, 2,   'a', 'b',
				     2,	   0xd9, 3,    'T', 'y', 'p'};
	/* fixmap 2: id, then key 3 where the type should be */
	static const uint8_t nokey[] = {0x82, 1, 0xa1, 'a', 3, 0xa1, 'T'};
	/* fixmap 2: the type's length runs past the end */
	static const uint8_t longer[] = {0x82, 1, 0xa1, 'a', 2, 0xa4, 'T'};
	/* fixmap 2: the id's length runs past the end */
	static const uint8_t idlong[] = {0x82, 1, 0xbf, 'a', 2, 0xa1, 'T'};
	/* fixmap 1: too few entries */
	static const uint8_t one[] = {0x81, 1, 0xa1, 'a', 2, 0xa1, 'T'};
	/* fixmap 2: the type is a number */
	static const uint8_t num[] = {0x82, 1, 0xa1, 'a', 2, 0x05};
	struct ev_str t;

	(void)state;
	assert_int_equal(ev_event_peek_type(fix, sizeof(fix), &t), 0);
	assert_true(str_is(&t, "T"));
	assert_ptr_equal(t.p, fix + 7);
	assert_int_equal(ev_event_peek_type(m16, sizeof(m16), &t), 0);
	assert_true(str_is(&t, "Ty"));
	assert_int_equal(ev_event_peek_type(s8, sizeof(s8), &t), 0);
	assert_true(str_is(&t, "Typ"));
	assert_int_equal(ev_event_peek_type(nokey, sizeof(nokey), &t),
			 EV_EDATA);
	assert_int_equal(ev_event_peek_type(longer, sizeof(longer), &t),
			 EV_EDATA);
	assert_int_equal(ev_event_peek_type(idlong, sizeof(idlong), &t),
			 EV_EDATA);
	assert_int_equal(ev_event_peek_type(one, sizeof(one), &t), EV_EDATA);
	assert_int_equal(ev_event_peek_type(num, sizeof(num), &t), EV_EDATA);
	/* every cut of a good record is refused, never read past */
	for (size_t k = 0; k < sizeof(s8); k++)
		assert_int_equal(ev_event_peek_type(s8, k, &t), EV_EDATA);
}

/*
 * parse -> record -> JSON -> parse -> record gives the same bytes, and
 * the two JSON writers agree at every step.
 */
static void test_roundtrip(void **state)
{
	static const char *const lines[] = {
		"{\"type\":\"t\"}",
		"{\"type\":\"t\",\"id\":\"x\",\"stream\":\"s\",\"key\":\"k\"}",
		"{\"type\":\"T\\u00e9\\ud83d\\ude00 \\\"\",\"stream\":\"s 1\","
		"\"version\":18446744073709551615,\"schema\":9,"
		"\"time\":\"1969-07-20T20:17:40.5-05:00\",\"key\":\"k\","
		"\"data\":{\"n\":[0,-1,1.5,-0.0,1e300,9223372036854775807,"
		"-9223372036854775808,18446744073709551615,0.1,true,false,null],"
		"\"s\":\"\\u0000\\u001f/\",\"o\":{},\"a\":[],\"d\":1,\"d\":2},"
		"\"meta\":{\"userId\":\"u\",\"x\":{\"y\":[1]}}}",
		"{\"type\":\"t\",\"data\":\"just a string\"}",
		"{\"type\":\"t\",\"data\":null}",
		"{\"type\":\"t\",\"data\":12.25,\"meta\":{}}",
		"{\"type\":\"t\",\"data_base64\":\"3q2+7w==\",\"meta\":{\"a\":1}}",
		"{\"type\":\"t\",\"time\":\"2261-12-31T23:59:59.999999999Z\"}",
		"{\"type\":\"t\",\"time\":\"1678-01-01T00:00:00.000000001Z\"}",
		"{\"type\":\"t\",\"data\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}",
	};
	struct parsed p, q;
	struct ev_event ev;
	size_t i;
	char *j1, *j2;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		parse_ok(lines[i], &p);
		decode_ok(&p.rec[0], &ev, 1000 + i);
		j1 = rec_json(&p.rec[0], 1000 + i);
		parse_ok(j1, &q);
		if (q.rec[0].len != p.rec[0].len ||
		    memcmp(q.rec[0].p, p.rec[0].p, p.rec[0].len) != 0)
			fail_msg("'%s' -> '%s' gives a different record",
				 lines[i], j1);
		assert_true(q.time[0] == p.time[0]);
		j2 = rec_json(&q.rec[0], 1000 + i);
		assert_string_equal(j1, j2);
		free(j1);
		free(j2);
		parsed_free(&p);
		parsed_free(&q);
	}
}

/* records the decoders disagree on are refused by both */
static void test_decode_rejects(void **state)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t n;
	} bad[] = {
#define R(name, s) {name, s, sizeof(s) - 1}
		R("not a map", "\x91\x01"),
		R("too few fields", "\x82\x01\xa1x\x02\xa1t"),
		R("missing time", "\x83\x01\xa1x\x02\xa1t\x03\xa1s"),
		R("keys out of order",
		  "\x83\x02\xa1t\x01\xa1x\x05\xd6\xff\x00\x00\x00\x00"),
		R("unknown key",
		  "\x84\x01\xa1x\x02\xa1t\x05\xd6\xff\x00\x00\x00\x00\x0b\x01"),
		R("field key not a fixint",
		  "\x83\x01\xa1x\x02\xa1t\xcc\x05\xd6\xff\x00\x00\x00\x00"),
		R("link not an offset",
		  "\x84\x01\xa1x\x02\xa1t\x05\xd6\xff\x00\x00\x00\x00\x0a\xa1x"),
		R("empty type",
		  "\x83\x01\xa1x\x02\xa0\x05\xd6\xff\x00\x00\x00\x00"),
		R("empty id",
		  "\x83\x01\xa0\x02\xa1t\x05\xd6\xff\x00\x00\x00\x00"),
		R("bad utf8 type",
		  "\x83\x01\xa1x\x02\xa1\xff\x05\xd6\xff\x00\x00\x00\x00"),
		R("time not a timestamp", "\x83\x01\xa1x\x02\xa1t\x05\x01"),
		R("version zero",
		  "\x84\x01\xa1x\x02\xa1t\x04\x00\x05\xd6\xff\x00\x00\x00\x00"),
		R("meta not a map",
		  "\x84\x01\xa1x\x02\xa1t\x05\xd6\xff\x00\x00\x00\x00\x09\x01"),
		R("trailing bytes",
		  "\x83\x01\xa1x\x02\xa1t\x05\xd6\xff\x00\x00\x00\x00\xc0"),
		R("truncated", "\x83\x01\xa1x\x02\xa1t\x05\xd6\xff\x00\x00"),
		R("data bin inside",
		  "\x84\x01\xa1x\x02\xa1t\x05\xd6\xff\x00\x00\x00\x00\x08\x91\xc4\x00"),
		R("data NaN",
		  "\x84\x01\xa1x\x02\xa1t\x05\xd6\xff\x00\x00\x00\x00"
		  "\x08\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"),
#undef R
	};
	struct ev_buf out = {0};
	struct ev_event ev;
	struct ev_error err;
	size_t i;
	uint8_t *b;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = malloc(bad[i].n);
		assert_non_null(b);
		memcpy(b, bad[i].bytes, bad[i].n);
		if (ev_event_decode(b, bad[i].n, &ev, &err) == 0 &&
		    ev_event_check_deep(&ev, &err) == 0)
			fail_msg("%s: decoded", bad[i].name);
		assert_non_null(strstr(err.msg, "invalid record"));
		out.len = 0;
		if (ev_record_to_json(b, bad[i].n, 0, &out, &err) == 0)
			fail_msg("%s: written as JSON '%.*s'", bad[i].name,
				 (int)out.len, out.p);
		free(b);
	}
	ev_buf_free(&out);
}

/* two heads are the same: the same fields, pointing at the same bytes */
static void heads_equal(const struct ev_event *a, const struct ev_event *b,
			const char *what)
{
	if (a->type.p != b->type.p || a->type.n != b->type.n ||
	    a->id.p != b->id.p || a->id.n != b->id.n ||
	    a->stream.p != b->stream.p || a->stream.n != b->stream.n ||
	    a->key.p != b->key.p || a->time != b->time ||
	    a->version != b->version || a->schema != b->schema ||
	    a->data != b->data || a->meta != b->meta || a->prev != b->prev)
		fail_msg("%s: the trusted head differs", what);
}

/* the trusted head decode (evpub's records) reads what the full one
 * reads, and what it cannot read fast goes the full way */
static void test_decode_head_trusted(void **state)
{
	static const char *const lines[] = {
		"{\"type\":\"t\"}",
		"{\"type\":\"t\",\"id\":\"x\",\"stream\":\"s\",\"key\":\"k\"}",
		"{\"type\":\"t\",\"stream\":\"s\",\"version\":5,"
		"\"time\":\"2020-01-01T00:00:00Z\"}",
		"{\"type\":\"t\",\"stream\":\"s\",\"version\":127,"
		"\"time\":\"2020-01-01T00:00:00.001Z\"}",
		"{\"type\":\"t\",\"stream\":\"s\",\"version\":128}",
		"{\"type\":\"T\\u00e9\\ud83d\\ude00 \\\"\",\"stream\":\"s 1\","
		"\"version\":18446744073709551615,\"schema\":9,"
		"\"time\":\"1969-07-20T20:17:40.5-05:00\",\"key\":\"k\","
		"\"data\":{\"a\":1},\"meta\":{\"userId\":\"u\"}}",
		"{\"type\":\"t\",\"time\":\"2261-12-31T23:59:59.999999999Z\"}",
		"{\"type\":\"t\",\"time\":\"1678-01-01T00:00:00.000000001Z\"}",
		"{\"type\":\"t\",\"time\":\"2106-02-07T06:28:16Z\"}",
		"{\"type\":\"t\",\"id\":\"0123456789abcdef0123456789abcdef\","
		"\"stream\":\"0123456789abcdef0123456789abcdef0123456789\"}",
	};
	static const struct {
		const char *name;
		const char *bytes;
		size_t n;
	} bad[] = {
#define R(name, s) {name, s, sizeof(s) - 1}
		R("not a map", "\x91\x01"),
		R("too few fields", "\x82\x01\xa1x\x02\xa1t"),
		R("missing time", "\x83\x01\xa1x\x02\xa1t\x03\xa1s"),
		R("fields past the count",
		  "\x83\x01\xa1x\x02\xa1t\x03\xa1s\x05\xd6\xff\x00\x00\x00\x00"),
		R("keys out of order",
		  "\x83\x02\xa1t\x01\xa1x\x05\xd6\xff\x00\x00\x00\x00"),
		R("empty type",
		  "\x83\x01\xa1x\x02\xa0\x05\xd6\xff\x00\x00\x00\x00"),
		R("empty id",
		  "\x83\x01\xa0\x02\xa1t\x05\xd6\xff\x00\x00\x00\x00"),
		R("empty stream", "\x84\x01\xa1x\x02\xa1t\x03\xa0"
				  "\x05\xd6\xff\x00\x00\x00\x00"),
		R("time not a timestamp", "\x83\x01\xa1x\x02\xa1t\x05\x01"),
		R("bad nanoseconds", "\x83\x01\xa1x\x02\xa1t\x05\xd7\xff"
				     "\xff\xff\xff\xff\x00\x00\x00\x00"),
		R("version zero",
		  "\x84\x01\xa1x\x02\xa1t\x04\x00\x05\xd6\xff\x00\x00\x00\x00"),
		R("truncated", "\x83\x01\xa1x\x02\xa1t\x05\xd6\xff\x00\x00"),
		R("truncated id", "\x83\x01\xa5x"),
		R("truncated time", "\x83\x01\xa1x\x02\xa1t\x05\xd7\xff\x00"),
#undef R
	};
	struct ev_event a, b;
	struct ev_error err;
	struct parsed p;
	size_t i;
	uint8_t *m;
	char name[32];

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		parse_ok(lines[i], &p);
		assert_int_equal(ev_event_decode_head(p.rec[0].p, p.rec[0].len,
						      &a, &err),
				 0);
		memset(&b, 0x5a, sizeof(b));
		assert_int_equal(ev_event_decode_head_trusted(p.rec[0].p,
							      p.rec[0].len, &b,
							      &err),
				 0);
		heads_equal(&a, &b, lines[i]);
		parsed_free(&p);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* on the heap, so that a read past the end is seen */
		m = malloc(bad[i].n);
		assert_non_null(m);
		memcpy(m, bad[i].bytes, bad[i].n);
		snprintf(name, sizeof(name), "%s", bad[i].name);
		if (ev_event_decode_head_trusted(m, bad[i].n, &b, &err) == 0)
			fail_msg("%s: decoded", name);
		assert_non_null(strstr(err.msg, "invalid record"));
		free(m);
	}
}

/*
 * Whatever a parser accepts is a record the decoders accept: nothing an
 * evpub can append may later read as damage.  Probed at the nesting
 * limit, in all three input formats.
 */
static void test_accepted_nesting_decodes(void **state)
{
	static const char *const pre[] = {
		"{\"type\":\"t\",\"data\":",
		"{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\","
		"\"type\":\"t\",\"data\":",
		"",
	};
	static const char *const post[] = {"}", "}", ""};
	struct ev_parse_opts o;
	struct parsed p;
	struct ev_event ev;
	struct ev_error err;
	struct ev_buf out = {0};
	char line[512];
	int fmt, depth, n, i, bad = 0;

	(void)state;
	for (fmt = 0; fmt < 3; fmt++) {
		for (depth = EV_MAX_DEPTH - 3; depth <= EV_MAX_DEPTH + 1;
		     depth++) {
			n = snprintf(line, sizeof(line), "%s", pre[fmt]);
			for (i = 0; i < depth; i++)
				line[n++] = '[';
			for (i = 0; i < depth; i++)
				line[n++] = ']';
			n += snprintf(line + n, sizeof(line) - (size_t)n, "%s",
				      post[fmt]);
			memset(&o, 0, sizeof(o));
			o.format = (enum ev_format)fmt;
			o.type = "t";
			if (parse_opts(&o, line, (size_t)n, &p) != 1) {
				parsed_free(&p);
				continue; /* refused: fine */
			}
			out.len = 0;
			if (ev_event_decode(p.rec[0].p, p.rec[0].len, &ev,
					    &err) != 0 ||
			    ev_event_check_deep(&ev, &err) != 0 ||
			    ev_record_to_json(p.rec[0].p, p.rec[0].len, 0, &out,
					      &err) != 0) {
				print_error(
					"# format %d: data nested %d deep is "
					"accepted but its record fails: %s\n",
					fmt, depth, err.msg);
				bad++;
			}
			parsed_free(&p);
		}
	}
	ev_buf_free(&out);
	if (bad)
		fail_msg("%d accepted events do not decode", bad);
}

/* ------------------------------------------------------------ --wrap */

static const char *const gh_line =
	"{\"id\":12345,\"type\":\"PushEvent\",\"repo\":{\"name\":\"a/b\"},"
	"\"actor\":{\"id\":42},\"created_at\":\"2019-09-26T00:00:01Z\","
	"\"payload\":{\"size\":1,\"f\":1.5},\"empty\":\"\"}";

static int wrap(const char *line, const char *type, const char *type_from,
		const char *id_from, const char *stream_from,
		const char *time_from, const char *key_from, struct parsed *p)
{
	struct ev_parse_opts o;

	memset(&o, 0, sizeof(o));
	o.format = EV_FMT_WRAP;
	o.type = type;
	o.type_from = type_from;
	o.id_from = id_from;
	o.stream_from = stream_from;
	o.time_from = time_from;
	o.key_from = key_from;
	return parse_opts(&o, line, strlen(line), p);
}

static void wrap_fails(const char *type_from, const char *id_from,
		       const char *stream_from, const char *time_from,
		       const char *msg)
{
	struct parsed p;

	if (wrap(gh_line, NULL, type_from, id_from, stream_from, time_from,
		 NULL, &p) != EV_EDATA)
		fail_msg("wrap did not fail (want '%s')", msg);
	if (strcmp(p.err.msg, msg) != 0)
		fail_msg("wrap: '%s', want '%s'", p.err.msg, msg);
	parsed_free(&p);
}

static void test_wrap(void **state)
{
	struct parsed p;
	struct ev_event ev;
	struct ev_buf whole = {0};
	struct ev_json js;

	(void)state;
	assert_int_equal(wrap(gh_line, NULL, "type", "id", "repo.name",
			      "created_at", "actor.id", &p),
			 1);
	decode_ok(&p.rec[0], &ev, 0);
	assert_true(str_is(&ev.type, "PushEvent"));
	assert_true(str_is(&ev.id, "12345")); /* integers in decimal */
	assert_true(str_is(&ev.stream, "a/b"));
	assert_true(str_is(&ev.key, "42"));
	assert_true(ev.time == utc(2019, 9, 26, 0, 0, 1, 0));
	assert_true(p.time[0] == ev.time);
	assert_null(ev.meta);
	/* data is the whole line */
	ev_json_init(&js, gh_line, strlen(gh_line));
	assert_int_equal(ev_json_value(&js, &whole), 0);
	assert_int_equal(ev.data_len, whole.len);
	assert_memory_equal(ev.data, whole.p, whole.len);
	ev_buf_free(&whole);
	parsed_free(&p);

	/* a fixed type, no other paths: generated id, time now */
	assert_int_equal(wrap("  \"a log line\"  ", "Log", NULL, NULL, NULL,
			      NULL, NULL, &p),
			 1);
	decode_ok(&p.rec[0], &ev, 0);
	assert_true(str_is(&ev.type, "Log"));
	check_uuid7(&ev.id, NOW);
	assert_true(ev.time == NOW);
	assert_null(ev.stream.p);
	assert_int_equal(ev.data_len, 11); /* fixstr header + 10 bytes */
	parsed_free(&p);

	/* an absent --id-from path means a generated id */
	assert_int_equal(wrap(gh_line, NULL, "type", "nope", NULL, NULL, NULL,
			      &p),
			 1);
	decode_ok(&p.rec[0], &ev, 0);
	check_uuid7(&ev.id, NOW);
	parsed_free(&p);

	wrap_fails("nope", NULL, NULL, NULL,
		   "type_from 'nope': no value at that path");
	wrap_fails("empty", NULL, NULL, NULL,
		   "type_from 'empty': no non-empty value at that path");
	wrap_fails("payload", NULL, NULL, NULL,
		   "type_from 'payload': value is not a string or integer");
	wrap_fails("payload.f", NULL, NULL, NULL,
		   "type_from 'payload.f': value is not a string or integer");
	wrap_fails("type", NULL, NULL, "type",
		   "time_from 'type': value is not an RFC 3339 time");
	wrap_fails("type", NULL, "payload", NULL,
		   "stream_from 'payload': value is not a string or integer");
	wrap_fails("type", "repo", NULL, NULL,
		   "id_from 'repo': value is not a string or integer");

	/* bad lines */
	assert_int_equal(wrap("{\"type\":\"x\",}", NULL, "type", NULL, NULL,
			      NULL, NULL, &p),
			 EV_EDATA);
	assert_string_equal(p.err.msg, "expected string key in object");
	assert_int_equal(p.err.column, 13);
	parsed_free(&p);
	assert_int_equal(wrap("{\"type\":\"x\"} {}", NULL, "type", NULL, NULL,
			      NULL, NULL, &p),
			 EV_EDATA);
	assert_int_equal(p.err.column, 14);
	parsed_free(&p);
	assert_int_equal(wrap("   ", "T", NULL, NULL, NULL, NULL, NULL, &p),
			 EV_EDATA);
	assert_string_equal(p.err.msg, "empty line, expected a JSON value");
	parsed_free(&p);
}

/* ------------------------------------------------------------ builder */

static void test_builder(void **state)
{
	struct ev_builder *b = ev_builder_new();
	struct ev_buf out = {0};
	struct ev_error err;
	struct ev_event ev;
	ev_time_t t;
	char *s;

	(void)state;
	assert_non_null(b);
	assert_int_equal(ev_builder_set(b, "type", "OrderPlaced", &err), 0);
	assert_int_equal(ev_builder_set(b, "id", "id-1", &err), 0);
	assert_int_equal(ev_builder_set(b, "stream", "s-1", &err), 0);
	assert_int_equal(ev_builder_set(b, "key", "k-1", &err), 0);
	assert_int_equal(ev_builder_set(b, "time", "2025-01-10T09:30:00+01:00",
					&err),
			 0);
	assert_int_equal(ev_builder_set(b, "schema", "2", &err), 0);
	assert_int_equal(ev_builder_set(b, "version", "7", &err), 0);
	assert_int_equal(ev_builder_data(b, "amount", "2000", 4, 1, &err), 0);
	assert_int_equal(ev_builder_data(b, "note", "hi \"you\"", 8, 0, &err),
			 0);
	{
		const char *v = " [1, {\"a\":null}] ";
		assert_int_equal(ev_builder_data(b, "tags", v, strlen(v), 1,
						 &err),
				 0);
	}
	assert_int_equal(ev_builder_meta(b, "userId", "u-1", &err), 0);
	assert_int_equal(ev_builder_meta(b, "source", "cli", &err), 0);
	assert_int_equal(ev_builder_finish(b, NOW, &out, &t, &err), 0);
	assert_true(t == utc(2025, 1, 10, 8, 30, 0, 0));
	decode_ok(&out, &ev, 5);
	s = rec_json(&out, 5);
	assert_string_equal(
		s, "{\"offset\":5,\"id\":\"id-1\",\"type\":\"OrderPlaced\","
		   "\"stream\":\"s-1\",\"version\":7,"
		   "\"time\":\"2025-01-10T08:30:00.000Z\",\"schema\":2,"
		   "\"key\":\"k-1\",\"data\":{\"amount\":2000,"
		   "\"note\":\"hi \\\"you\\\"\",\"tags\":[1,{\"a\":null}]},"
		   "\"meta\":{\"userId\":\"u-1\",\"source\":\"cli\"}}");
	free(s);
	/* the same event from evpub's arguments */
	{
		struct ev_builder *b2 = ev_builder_new();
		struct ev_buf out2 = {0};
		static const char *const args[] = {"amount:=2000",
						   "note=hi \"you\"",
						   "tags:= [1, {\"a\":null}] "};
		size_t i;
		assert_non_null(b2);
		assert_int_equal(ev_builder_set(b2, "type", "OrderPlaced",
						&err),
				 0);
		assert_int_equal(ev_builder_set(b2, "id", "id-1", &err), 0);
		assert_int_equal(ev_builder_set(b2, "stream", "s-1", &err), 0);
		assert_int_equal(ev_builder_set(b2, "key", "k-1", &err), 0);
		assert_int_equal(ev_builder_set(b2, "time",
						"2025-01-10T09:30:00+01:00",
						&err),
				 0);
		assert_int_equal(ev_builder_set(b2, "schema", "2", &err), 0);
		assert_int_equal(ev_builder_set(b2, "version", "7", &err), 0);
		for (i = 0; i < 3; i++)
			assert_int_equal(ev_builder_arg(b2, args[i], &err), 0);
		assert_int_equal(ev_builder_meta_arg(b2, "userId=u-1", &err),
				 0);
		assert_int_equal(ev_builder_meta_arg(b2, "source=cli", &err),
				 0);
		assert_int_equal(ev_builder_finish(b2, NOW, &out2, &t, &err),
				 0);
		assert_int_equal(out2.len, out.len);
		assert_memory_equal(out2.p, out.p, out.len);
		ev_buf_free(&out2);
		ev_builder_free(b2);
	}
	/* a later set replaces */
	assert_int_equal(ev_builder_set(b, "type", "Other", &err), 0);
	out.len = 0;
	assert_int_equal(ev_builder_finish(b, NOW, &out, &t, &err), 0);
	decode_ok(&out, &ev, 0);
	assert_true(str_is(&ev.type, "Other"));
	ev_builder_free(b);

	/* the minimal event: type only */
	b = ev_builder_new();
	assert_int_equal(ev_builder_set(b, "type", "T", &err), 0);
	out.len = 0;
	assert_int_equal(ev_builder_finish(b, NOW, &out, &t, &err), 0);
	decode_ok(&out, &ev, 0);
	assert_null(ev.data);
	assert_null(ev.meta);
	assert_true(ev.time == NOW && t == NOW);
	check_uuid7(&ev.id, NOW);
	ev_builder_free(b);

	/* errors */
	b = ev_builder_new();
	assert_int_equal(ev_builder_set(b, "type", "", &err), EV_EUSAGE);
	assert_int_equal(ev_builder_set(b, "id", "", &err), EV_EUSAGE);
	assert_int_equal(ev_builder_set(b, "bogus", "x", &err), EV_EUSAGE);
	assert_non_null(strstr(err.msg, "unknown field 'bogus'"));
	assert_int_equal(ev_builder_set(b, "schema", "0", &err), EV_EUSAGE);
	assert_int_equal(ev_builder_set(b, "schema", "-1", &err), EV_EUSAGE);
	assert_int_equal(ev_builder_set(b, "version", "abc", &err), EV_EUSAGE);
	/* messages name the field, never a front end's flag */
	assert_string_equal(err.msg,
			    "version: 'abc' is not a positive integer");
	assert_int_equal(ev_builder_set(b, "version", "99999999999999999999",
					&err),
			 EV_EUSAGE);
	assert_int_equal(ev_builder_set(b, "time", "yesterday", &err),
			 EV_EUSAGE);
	assert_string_equal(err.msg,
			    "time: 'yesterday' is not an RFC 3339 time");
	assert_int_equal(ev_builder_set(b, "stream", "\xff", &err), EV_EUSAGE);
	assert_string_equal(err.msg, "stream: value is not valid UTF-8");
	assert_int_equal(ev_builder_meta(b, "a", "\xff", &err), EV_EUSAGE);
	assert_string_equal(err.msg, "meta: not valid UTF-8");
	/* the argument form's arguments */
	assert_int_equal(ev_builder_arg(b, "bad", &err), EV_EUSAGE);
	assert_string_equal(err.msg, "'bad' is not name=value or name:=json");
	assert_int_equal(ev_builder_arg(b, "=x", &err), EV_EUSAGE);
	assert_string_equal(err.msg, "'=x' is not name=value or name:=json");
	assert_int_equal(ev_builder_arg(b, ":=1", &err), EV_EUSAGE);
	assert_string_equal(err.msg, "':=1' has an empty name");
	assert_int_equal(ev_builder_arg(b, "a:=[1", &err), EV_EUSAGE);
	assert_string_equal(
		err.msg,
		"'a:=[1': unexpected end of input in array at column 3");
	assert_int_equal(ev_builder_meta_arg(b, "foo", &err), EV_EUSAGE);
	assert_string_equal(err.msg, "meta: expected NAME=VALUE, got 'foo'");
	assert_int_equal(ev_builder_data(b, "x", "{\"a\":", 5, 1, &err),
			 EV_EUSAGE);
	assert_non_null(strstr(err.msg, "column"));
	assert_int_equal(ev_builder_data(b, "x", "1 2", 3, 1, &err), EV_EUSAGE);
	assert_int_equal(ev_builder_data(b, "x", "\xc3", 1, 0, &err),
			 EV_EUSAGE);
	assert_int_equal(ev_builder_meta(b, "k", "\xff", &err), EV_EUSAGE);
	out.len = 0;
	assert_int_equal(ev_builder_finish(b, NOW, &out, &t, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "missing required field 'type'"));
	ev_builder_free(b);
	ev_builder_free(NULL);
	ev_buf_free(&out);
}

/* ------------------------------------------------------------ CloudEvents */

/* lines of a corpus file, and the matching expected.txt verdicts */
static char **read_lines(const char *path, int *n)
{
	size_t len;
	char *text = unit_read_file(path, &len), *p, *nl;
	char **v = NULL;
	int cap = 0;

	if (text == NULL)
		fail_msg("cannot read '%s'", path);
	*n = 0;
	for (p = text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, (size_t)cap * sizeof(*v));
			assert_non_null(v);
		}
		v[(*n)++] = strndup(p, (size_t)(nl - p));
		if (*nl == '\0')
			break;
	}
	free(text);
	return v;
}

static void free_lines(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void run_ce_cases(const char *stem, int batches)
{
	char dir[4096], path[8192];
	char **lines, **want, **ids;
	int n, nw, ni, i, r, bad = 0;
	struct parsed p;
	struct ev_event ev;

	unit_corpus("cloudevents/cases", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s.ndjson", dir, stem);
	lines = read_lines(path, &n);
	snprintf(path, sizeof(path), "%s/%s.expected.txt", dir, stem);
	want = read_lines(path, &nw);
	snprintf(path, sizeof(path), "%s/%s.ids.txt", dir, stem);
	ids = read_lines(path, &ni);
	assert_int_equal(n, nw);
	assert_int_equal(n, ni);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		int valid = strcmp(want[i], "valid") == 0;
		if (!valid && strcmp(want[i], "invalid") != 0)
			fail_msg("%s.expected.txt line %d: '%s'", stem, i + 1,
				 want[i]);
		r = parse_fmt(EV_FMT_CLOUDEVENTS, lines[i], &p);
		if (valid && r < 0) {
			print_error("# %s (line %d) rejected: %s\n", ids[i],
				    i + 1, p.err.msg);
			bad++;
		} else if (!valid && r >= 0) {
			print_error("# %s (line %d) accepted\n", ids[i], i + 1);
			bad++;
		} else if (valid) {
			int k;
			/* a batch yields one record per element */
			if (!batches)
				assert_int_equal(r, 1);
			for (k = 0; k < r && k < 4; k++)
				decode_ok(&p.rec[k], &ev, 0);
		} else if (p.err.msg[0] == '\0') {
			fail_msg("%s rejected without a message", ids[i]);
		}
		parsed_free(&p);
	}
	free_lines(lines, n);
	free_lines(want, nw);
	free_lines(ids, ni);
	if (bad)
		fail_msg("%d %s cases went the wrong way", bad, stem);
}

static void test_cloudevents_cases(void **state)
{
	(void)state;
	run_ce_cases("events", 0);
}

static void test_cloudevents_batches(void **state)
{
	struct parsed p;

	(void)state;
	run_ce_cases("batches", 1);
	assert_int_equal(parse_fmt(EV_FMT_CLOUDEVENTS, "[]", &p), 0);
	parsed_free(&p);
	assert_int_equal(
		parse_fmt(
			EV_FMT_CLOUDEVENTS,
			"[{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\","
			"\"type\":\"a\"},{\"specversion\":\"1.0\",\"id\":\"2\","
			"\"source\":\"s\",\"type\":\"b\"}]",
			&p),
		2);
	{
		struct ev_event ev;
		decode_ok(&p.rec[1], &ev, 0);
		assert_true(str_is(&ev.id, "2") && str_is(&ev.type, "b"));
	}
	parsed_free(&p);
}

/* meta as a sorted list of (key, value) byte strings */
struct kv {
	const uint8_t *k, *v;
	size_t kn, vn;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	size_t n = x->kn < y->kn ? x->kn : y->kn;
	int c = memcmp(x->k, y->k, n);

	if (c == 0 && x->kn != y->kn)
		return x->kn < y->kn ? -1 : 1;
	if (c != 0)
		return c;
	n = x->vn < y->vn ? x->vn : y->vn;
	c = memcmp(x->v, y->v, n);
	if (c == 0 && x->vn != y->vn)
		return x->vn < y->vn ? -1 : 1;
	return c;
}

static size_t meta_pairs(const struct ev_event *ev, struct kv *out, size_t max)
{
	const uint8_t *p = ev->meta, *end = ev->meta + ev->meta_len, *v;
	struct ev_mp_item it, key;
	uint32_t i;

	if (ev->meta == NULL)
		return 0;
	assert_int_equal(ev_mp_read(&p, end, &it), 0);
	assert_true(it.n <= max);
	for (i = 0; i < it.n; i++) {
		assert_int_equal(ev_mp_read(&p, end, &key), 0);
		v = p;
		assert_int_equal(ev_mp_skip(&p, end, 0), 0);
		out[i].k = key.p;
		out[i].kn = key.n;
		out[i].v = v;
		out[i].vn = (size_t)(p - v);
	}
	qsort(out, it.n, sizeof(*out), kv_cmp);
	return it.n;
}

/* envelope -> CloudEvent -> envelope; failures listed in *why */
static int ce_roundtrip(const char *line, char *why, size_t wn)
{
	struct parsed p, q;
	struct ev_event a, b;
	struct ev_buf ce = {0};
	struct ev_error err;
	struct kv ma[64], mb[64];
	size_t na, nb, i;
	int ok = 1;

	why[0] = '\0';
	parse_ok(line, &p);
	decode_ok(&p.rec[0], &a, 77);
	if (ev_event_to_cloudevent(&a, &ce, &err) != 0) {
		snprintf(why, wn, "no CloudEvent: %s", err.msg);
		parsed_free(&p);
		return 0;
	}
	if (parse_fmt(EV_FMT_CLOUDEVENTS, strndupa((const char *)ce.p, ce.len),
		      &q) != 1) {
		snprintf(why, wn, "our CloudEvent '%.*s' is rejected: %s",
			 (int)ce.len, ce.p, q.err.msg);
		ev_buf_free(&ce);
		parsed_free(&p);
		return 0;
	}
	decode_ok(&q.rec[0], &b, 77);
#define LOST(what)                                                      \
	do {                                                            \
		size_t l = strlen(why);                                 \
		snprintf(why + l, wn - l, "%s%s", l ? ", " : "", what); \
		ok = 0;                                                 \
	} while (0)
#define SAME_STR(f)                                                     \
	if ((a.f.p == NULL) != (b.f.p == NULL) ||                       \
	    (a.f.p && (a.f.n != b.f.n || memcmp(a.f.p, b.f.p, a.f.n)))) \
	LOST(#f)
	SAME_STR(id);
	SAME_STR(type);
	SAME_STR(stream);
	SAME_STR(key);
#undef SAME_STR
	if (a.time != b.time)
		LOST("time");
	if (a.version != b.version)
		LOST("version");
	if (a.schema != b.schema)
		LOST("schema");
	if ((a.data == NULL) != (b.data == NULL) ||
	    a.data_is_binary != b.data_is_binary ||
	    (a.data &&
	     (a.data_len != b.data_len || memcmp(a.data, b.data, a.data_len))))
		LOST(a.data_is_binary ? "data_base64" : "data");
	if ((a.meta == NULL) != (b.meta == NULL))
		LOST("meta");
	na = meta_pairs(&a, ma, 64);
	nb = meta_pairs(&b, mb, 64);
	if (na != nb)
		LOST("meta keys");
	for (i = 0; i < na && i < nb; i++)
		if (kv_cmp(&ma[i], &mb[i]) != 0) {
			char k[80];
			snprintf(k, sizeof(k), "meta.%.*s", (int)ma[i].kn,
				 (const char *)ma[i].k);
			LOST(k);
		}
#undef LOST
	if (!ok) {
		size_t l = strlen(why);
		snprintf(why + l, wn - l, " lost in '%.*s'", (int)ce.len, ce.p);
	}
	ev_buf_free(&ce);
	parsed_free(&p);
	parsed_free(&q);
	return ok;
}

static void test_cloudevents_roundtrip(void **state)
{
	static const char *const lines[] = {
		/* every field, and meta keys of every kind: mapped ones,
		 * legal extension names, names and values that must travel
		 * in evlogmeta */
		"{\"id\":\"i1\",\"type\":\"MoneyDeposited\",\"stream\":\"account-123\","
		"\"version\":5,\"time\":\"2025-01-10T09:30:00.123456789Z\","
		"\"schema\":3,\"key\":\"k\",\"data\":{\"amount\":2000,\"l\":[1,2.5]},"
		"\"meta\":{\"correlationId\":\"c\",\"causationId\":\"d\","
		"\"userId\":\"u-1\",\"source\":\"https://example.com/x\","
		"\"dataschema\":\"https://example.com/s\","
		"\"datacontenttype\":\"application/json\",\"tags\":[1,2],"
		"\"nested\":{\"a\":{\"b\":null}},\"tenant\":\"acme\",\"n\":-5,"
		"\"flag\":true,\"big\":5000000000,\"f\":1.5,\"nil\":null,"
		"\"id\":\"meta-id\",\"type\":\"meta-type\",\"data\":1,"
		"\"Upper\":\"x\",\"with-dash\":\"y\",\"ctl\":\"a\\nb\","
		"\"evlogmeta\":\"z\",\"evlogoffset\":3,\"correlationid\":\"lc\"}}",
		/* binary data, a big schema, a non-URI source */
		"{\"id\":\"i2\",\"type\":\"t\",\"schema\":4294967296,"
		"\"data_base64\":\"AAECAwQF\",\"meta\":{\"source\":\"not a uri\"}}",
		/* the defaults */
		"{\"id\":\"i3\",\"type\":\"t\",\"time\":\"1970-01-01T00:00:00Z\"}",
		"{\"id\":\"i4\",\"type\":\"t\",\"data\":\"text\",\"version\":1}",
		"{\"id\":\"i5\",\"type\":\"t\",\"data\":[1,{\"x\":\"\\u00e9\"}],"
		"\"meta\":{\"userId\":\"\\ud83d\\ude00\"}}",
	};
	char why[2048];
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (!ce_roundtrip(lines[i], why, sizeof(why))) {
			print_error("# event %zu: %s\n", i + 1, why);
			bad++;
		}
	if (bad)
		fail_msg("%d events do not survive the CloudEvents round trip",
			 bad);
}

/* null data and empty values are fields too */
static void test_cloudevents_roundtrip_empty_values(void **state)
{
	static const char *const lines[] = {
		"{\"id\":\"e1\",\"type\":\"t\",\"data\":null}",
		"{\"id\":\"e4\",\"type\":\"t\",\"meta\":{}}",
	};
	/* empty identifiers cannot be CloudEvents attributes: refused */
	static const char *const refused[] = {
		"{\"id\":\"e2\",\"type\":\"t\",\"stream\":\"\"}",
		"{\"id\":\"e3\",\"type\":\"t\",\"key\":\"\"}",
	};
	struct parsed p;
	char why[2048];
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (!ce_roundtrip(lines[i], why, sizeof(why))) {
			print_error("# %s: %s\n", lines[i], why);
			bad++;
		}
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (parse_fmt(EV_FMT_ENVELOPE, refused[i], &p) >= 0 ||
		    strstr(p.err.msg, "must be a non-empty string") == NULL) {
			print_error("# %s: not refused as expected\n",
				    refused[i]);
			bad++;
		}
		parsed_free(&p);
	}
	if (bad)
		fail_msg("%d events do not survive the CloudEvents round trip",
			 bad);
}

/*
 * Envelope identifiers (id, type, stream, key) may not hold control
 * characters, which CloudEvents String attributes may not hold either,
 * so evtail --output cloudevents | evpub --format cloudevents never fails
 * on evtail's own output.
 */
static void test_cloudevents_output_is_readable(void **state)
{
	static const char *const lines[] = {
		"{\"id\":\"a\\u0001b\",\"type\":\"t\"}",
		"{\"id\":\"i\",\"type\":\"T\\tab\"}",
		"{\"id\":\"i\",\"type\":\"t\",\"stream\":\"s\\n\"}",
		"{\"id\":\"i\",\"type\":\"t\",\"key\":\"\\u007f\"}",
		"{\"id\":\"i\",\"type\":\"t\",\"stream\":\"\\u0085\"}",
	};
	struct parsed p;
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (parse_fmt(EV_FMT_ENVELOPE, lines[i], &p) >= 0 ||
		    strstr(p.err.msg, "contains a control character") == NULL) {
			print_error("# %s: accepted or wrong message '%s'\n",
				    lines[i], p.err.msg);
			bad++;
		}
		parsed_free(&p);
	}
	if (bad)
		fail_msg("%d identifiers with control characters accepted",
			 bad);
}

/* CloudEvents input: the mapping table of evpub(1) */
static void test_cloudevents_mapping(void **state)
{
	static const char *const line =
		"{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"https://src\","
		"\"type\":\"com.x\",\"subject\":\"acct-1\","
		"\"time\":\"2018-04-05T17:31:00.5+01:00\",\"sequence\":\"9\","
		"\"partitionkey\":\"pk\",\"schemaversion\":2,"
		"\"correlationid\":\"c1\",\"causationid\":\"c0\","
		"\"dataschema\":\"https://schema\","
		"\"datacontenttype\":\"application/json\",\"extbool\":true,"
		"\"extint\":-3,\"extstr\":\"v\",\"evlogoffset\":\"99\","
		"\"evlogmeta\":\"{\\\"userId\\\":\\\"u\\\"}\",\"data\":{\"x\":[1,2]}}";
	struct parsed p;
	struct ev_event ev;
	char *s;

	(void)state;
	assert_int_equal(parse_fmt(EV_FMT_CLOUDEVENTS, line, &p), 1);
	decode_ok(&p.rec[0], &ev, 0);
	assert_true(str_is(&ev.id, "e1"));
	assert_true(str_is(&ev.type, "com.x"));
	assert_true(str_is(&ev.stream, "acct-1"));
	assert_true(str_is(&ev.key, "pk"));
	assert_true(ev.version == 9 && ev.schema == 2);
	assert_true(ev.time == utc(2018, 4, 5, 16, 31, 0, 500000000));
	s = mp_json(ev.data, ev.data_len);
	assert_string_equal(s, "{\"x\":[1,2]}");
	free(s);
	s = mp_json(ev.meta, ev.meta_len);
	assert_string_equal(s,
			    "{\"userId\":\"u\",\"correlationId\":\"c1\","
			    "\"causationId\":\"c0\",\"source\":\"https://src\","
			    "\"dataschema\":\"https://schema\","
			    "\"datacontenttype\":\"application/json\","
			    "\"extbool\":true,\"extint\":-3,\"extstr\":\"v\"}");
	free(s);
	parsed_free(&p);
	/* data_base64 is binary data; the default source is not kept */
	assert_int_equal(
		parse_fmt(EV_FMT_CLOUDEVENTS,
			  "{\"specversion\":\"1.0\",\"id\":\"e2\","
			  "\"source\":\"urn:evlog:default\",\"type\":\"t\","
			  "\"data_base64\":\"AAEC\"}",
			  &p),
		1);
	decode_ok(&p.rec[0], &ev, 0);
	assert_true(ev.data_is_binary);
	assert_int_equal(ev.data_len, 3);
	assert_null(ev.meta);
	assert_true(ev.time == NOW);
	parsed_free(&p);
	/* and the other way: source defaults, sequence and offset */
	{
		struct ev_buf ce = {0};
		struct ev_error err;
		parse_ok("{\"id\":\"x\",\"type\":\"t\",\"version\":4,"
			 "\"time\":\"2020-01-01T00:00:00Z\"}",
			 &p);
		decode_ok(&p.rec[0], &ev, 12);
		assert_int_equal(ev_event_to_cloudevent(&ev, &ce, &err), 0);
		s = strndup((const char *)ce.p, ce.len);
		assert_string_equal(
			s, "{\"specversion\":\"1.0\",\"id\":\"x\","
			   "\"source\":\"urn:evlog:default\","
			   "\"type\":\"t\","
			   "\"time\":\"2020-01-01T00:00:00.000Z\","
			   "\"sequence\":\"4\",\"evlogoffset\":\"12\"}");
		free(s);
		ev_buf_free(&ce);
		parsed_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_required),
		cmocka_unit_test(test_id_generated_uuid7),
		cmocka_unit_test(test_time_rfc3339),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_time_user_range),
		cmocka_unit_test(test_version_schema),
		cmocka_unit_test(test_unknown_field),
		cmocka_unit_test(test_duplicate_field),
		cmocka_unit_test(test_duplicate_keys_inside),
		cmocka_unit_test(test_meta_must_be_object),
		cmocka_unit_test(test_data_base64),
		cmocka_unit_test(test_data_base64_empty),
		cmocka_unit_test(test_offset_ignored),
		cmocka_unit_test(test_full_envelope),
		cmocka_unit_test(test_peek_type_layouts),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_decode_head_trusted),
		cmocka_unit_test(test_accepted_nesting_decodes),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_builder),
		cmocka_unit_test(test_cloudevents_cases),
		cmocka_unit_test(test_cloudevents_batches),
		cmocka_unit_test(test_cloudevents_mapping),
		cmocka_unit_test(test_cloudevents_roundtrip),
		cmocka_unit_test(test_cloudevents_roundtrip_empty_values),
		cmocka_unit_test(test_cloudevents_output_is_readable),
	};

	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
