/*
 * test_unpacker.c - lib/unpacker.c: a MessagePack stream of event maps
 * into records (evpub --format msgpack), and struct ev_input over it.
 *
 * The JSON envelope parser is the reference: a line and the map the JSON
 * transcoder makes of it give the same record, or are both refused.  The
 * stream reads the same fed a byte at a time; each refusal is at the
 * offset of its object, and a malformed object ends the stream.
 */
#include <fcntl.h>

#include <msgpack.h>

#include "unit.h"

#define NOW 1736500000000000000LL

/* the results of a stream: records, refusals and their offsets */
struct got {
	int n;		       /* events and refusals, in order */
	int ok[64];	       /* 1 an event, 0 a refusal */
	struct ev_buf rec[64]; /* the event's record */
	char msg[64][160];     /* the refusal's message */
	uint64_t at[64];       /* the object's offset */
	int broken;
};

static void got_free(struct got *g)
{
	int i;

	for (i = 0; i < g->n; i++)
		ev_buf_free(&g->rec[i]);
	g->n = 0;
}

/* Read b, chunk bytes at a time (0: all at once). */
static void unpack(const void *b, size_t n, size_t chunk, struct got *g)
{
	struct ev_unpacker *u = ev_unpacker_new();
	struct ev_error err;
	const uint8_t *rec;
	size_t fed = 0, k, room, rn;
	char *dst;
	int r;

	memset(g, 0, sizeof(*g));
	assert_non_null(u);
	for (;;) {
		r = ev_unpacker_next(u, NOW, &err);
		if (r == 0 && fed < n) {
			k = chunk == 0 || n - fed < chunk ? n - fed : chunk;
			dst = ev_unpacker_buffer(u, k, &room);
			assert_non_null(dst);
			assert_true(room >= k);
			memcpy(dst, (const char *)b + fed, k);
			ev_unpacker_consumed(u, k);
			fed += k;
			continue;
		}
		if (r == 0)
			r = ev_unpacker_finish(u, &err);
		if (r == 0)
			break;
		assert_true(g->n < 64);
		g->at[g->n] = ev_unpacker_offset(u);
		g->ok[g->n] = r == 1;
		if (r == 1) {
			ev_unpacker_record(u, &rec, &rn, NULL);
			assert_int_equal(ev_buf_append(&g->rec[g->n], rec, rn),
					 0);
		} else {
			assert_int_equal(r, EV_EDATA);
			snprintf(g->msg[g->n], sizeof(g->msg[0]), "%.150s",
				 err.msg);
		}
		g->n++;
		if (ev_unpacker_broken(u)) {
			g->broken = 1;
			break;
		}
	}
	ev_unpacker_free(u);
}

/* ------------------------------------------------- against the parser */

/* Two records are the same but for their ids, which are random for
 * events given none. */
static int same_but_id(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	const uint8_t *p = a + 2, *q = b + 2;
	struct ev_mp_item it;

	if (an != bn || an < 2 || a[0] != b[0] || a[1] != EV_K_ID ||
	    b[1] != EV_K_ID || ev_mp_read(&p, a + an, &it) != 0 ||
	    ev_mp_read(&q, b + bn, &it) != 0 || p - a != q - b)
		return 0;
	return memcmp(p, q, an - (size_t)(p - a)) == 0;
}

/* The line and its map read the same: 1 both accepted, 0 both refused. */
static int same_as_json(const char *line, size_t len)
{
	struct ev_parser *ps = ev_parser_new(NULL);
	struct ev_buf map = {0};
	struct ev_error err;
	struct ev_json js;
	struct got g;
	const uint8_t *rec;
	size_t n;
	int r, ok;

	assert_non_null(ps);
	ev_json_init(&js, line, len);
	ev_json_ws(&js);
	if (ev_json_value(&js, &map) != 0)
		fail_msg("not JSON: %.*s", (int)len, line);
	r = ev_parser_line(ps, line, len, NOW, &err);
	unpack(map.p, map.len, 0, &g);
	assert_int_equal(g.n, 1);
	ok = g.ok[0];
	if ((r == 1) != ok)
		fail_msg("JSON %s, msgpack %s: %.*s",
			 r == 1 ? "accepts" : err.msg,
			 ok ? "accepts" : g.msg[0], (int)len, line);
	if (r == 1) {
		ev_parser_record(ps, 0, &rec, &n, NULL);
		if (!same_but_id(g.rec[0].p, g.rec[0].len, rec, n))
			fail_msg("another record: %.*s", (int)len, line);
	}
	got_free(&g);
	ev_buf_free(&map);
	ev_parser_free(ps);
	return ok;
}

static void test_same_as_json(void **state)
{
	static const char *const good[] = {
		"{\"type\":\"A\",\"id\":\"1\"}",
		"{\"offset\":9,\"id\":\"x\",\"type\":\"A\",\"stream\":\"s\","
		"\"version\":3,\"time\":\"2025-01-10T09:30:00.123456789Z\","
		"\"schema\":2,\"key\":\"k\",\"data\":{\"a\":[1,-1,0.5,null,"
		"true,\"\\u00e9\"],\"u\":18446744073709551615,"
		"\"i\":-9223372036854775808,\"d\":1,\"d\":2},"
		"\"meta\":{\"m\":\"a\",\"m\":{\"n\":[]}}}",
		"{\"type\":\"B\",\"id\":\"b\",\"data_base64\":\"AAEC/w==\"}",
		"{\"type\":\"E\",\"id\":\"e\",\"data_base64\":\"\"}",
		"{\"type\":\"N\",\"id\":\"n\",\"data\":null,\"meta\":null,"
		"\"version\":null,\"schema\":null,\"stream\":null,"
		"\"key\":null,\"time\":null}",
		"{\"type\":\"M\",\"id\":\"m\",\"meta\":{}}",
		"{\"type\":\"F\",\"id\":\"f\",\"data\":[1e300,-0.0,1.5e-300]}",
	};
	static const char *const bad[] = {
		"{}",
		"{\"data\":1}",
		"{\"type\":\"\"}",
		"{\"type\":1}",
		"{\"type\":null}",
		"{\"type\":\"A\",\"type\":\"B\"}",
		"{\"type\":\"A\",\"strem\":\"s\"}",
		"{\"type\":\"A\",\"id\":\"\"}",
		"{\"type\":\"A\",\"id\":5}",
		"{\"type\":\"A\",\"key\":[]}",
		"{\"type\":\"A\",\"stream\":{}}",
		"{\"type\":\"A\",\"version\":0}",
		"{\"type\":\"A\",\"version\":-1}",
		"{\"type\":\"A\",\"version\":1.5}",
		"{\"type\":\"A\",\"version\":\"1\"}",
		"{\"type\":\"A\",\"schema\":0}",
		"{\"type\":\"A\",\"time\":12}",
		"{\"type\":\"A\",\"time\":\"2025-13-01T00:00:00Z\"}",
		"{\"type\":\"A\",\"time\":\"3000-01-01T00:00:00Z\"}",
		"{\"type\":\"A\",\"meta\":[1]}",
		"{\"type\":\"A\",\"meta\":\"x\"}",
		"{\"type\":\"A\",\"data\":1,\"data_base64\":\"AA==\"}",
		"{\"type\":\"A\",\"data_base64\":\"!!\"}",
		"{\"type\":\"A\",\"data_base64\":1}",
		"{\"type\":\"A\\u0001\"}",
	};
	char path[4096], *text, *p, *nl;
	size_t i, len;
	int lines = 0;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(same_as_json(good[i], strlen(good[i])), 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(same_as_json(bad[i], strlen(bad[i])), 0);
	/* the golden input, event by event */
	snprintf(path, sizeof(path), "%s/tests/data/golden-input.ndjson",
		 getenv("TOP") && *getenv("TOP") ? getenv("TOP") : ".");
	text = unit_read_file(path, &len);
	if (text == NULL)
		fail_msg("cannot read '%s'", path);
	for (p = text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (nl > p) {
			assert_int_equal(same_as_json(p, (size_t)(nl - p)), 1);
			lines++;
		}
		if (*nl == '\0')
			break;
	}
	free(text);
	assert_true(lines > 50);
}

/* What evtail -o msgpack writes of a record reads back to it. */
static void test_round_trip(void **state)
{
	static const char *const lines[] = {
		"{\"type\":\"A\",\"id\":\"1\",\"time\":\"1970-01-01T00:00:00Z\"}",
		"{\"id\":\"x\",\"type\":\"A\",\"stream\":\"s\",\"version\":3,"
		"\"time\":\"2025-01-10T09:30:00.123456789Z\",\"schema\":2,"
		"\"key\":\"k\",\"data\":{\"a\":[1,{}]},\"meta\":{\"m\":1}}",
		"{\"type\":\"B\",\"id\":\"b\",\"time\":\"1677-09-22T00:00:00Z\","
		"\"data_base64\":\"AAEC/w==\"}",
		"{\"type\":\"C\",\"id\":\"c\",\"time\":\"2261-12-31T23:59:59.999999999Z\","
		"\"data\":null}",
		"{\"type\":\"D\",\"id\":\"d\",\"time\":\"2500-01-01T00:00:00Z\"}",
	};
	struct ev_parser *ps = ev_parser_new(NULL);
	struct ev_buf map = {0};
	struct ev_error err;
	struct ev_event ev;
	struct got g;
	const uint8_t *rec;
	size_t i, n;

	(void)state;
	assert_non_null(ps);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (ev_parser_line(ps, lines[i], strlen(lines[i]), NOW, &err) !=
		    1)
			continue; /* out of the time range */
		ev_parser_record(ps, 0, &rec, &n, NULL);
		assert_int_equal(ev_event_decode(rec, n, &ev, &err), 0);
		ev.offset = 42;
		map.len = 0;
		assert_int_equal(ev_event_to_msgpack(&ev, &map, &err), 0);
		unpack(map.p, map.len, 0, &g);
		assert_int_equal(g.n, 1);
		if (!g.ok[0])
			fail_msg("%s: %s", lines[i], g.msg[0]);
		assert_int_equal(g.rec[0].len, n);
		assert_memory_equal(g.rec[0].p, rec, n);
		got_free(&g);
	}
	ev_parser_free(ps);
	ev_buf_free(&map);
}

/* ------------------------------------------------- msgpack-c's encodings */

static void pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* An event packed by msgpack-c in wide and non-minimal forms reads as
 * the JSON line of the same event. */
static void test_packer_event(void **state)
{
	static const char line[] =
		"{\"id\":\"x\",\"type\":\"T\",\"stream\":\"s\",\"version\":1,"
		"\"time\":\"2025-01-10T09:30:00.5Z\",\"schema\":2,\"data\":"
		"{\"n\":5,\"m\":-5,\"f\":1.5,\"s\":\"hi\",\"a\":[true,null]}}";
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_timestamp ts = {1736501400, 500000000};
	struct ev_parser *ps = ev_parser_new(NULL);
	struct ev_error err;
	const uint8_t *rec;
	struct got g;
	size_t n;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 7);
	pk_str(&pk, "id");
	pk_str(&pk, "x");
	pk_str(&pk, "type");
	pk_str(&pk, "T");
	pk_str(&pk, "stream");
	pk_str(&pk, "s");
	pk_str(&pk, "version");
	msgpack_pack_fix_int64(&pk, 1);
	pk_str(&pk, "time");
	msgpack_pack_timestamp(&pk, &ts);
	pk_str(&pk, "schema");
	msgpack_pack_fix_uint32(&pk, 2);
	pk_str(&pk, "data");
	msgpack_pack_map(&pk, 5);
	pk_str(&pk, "n");
	msgpack_pack_fix_uint64(&pk, 5);
	pk_str(&pk, "m");
	msgpack_pack_fix_int32(&pk, -5);
	pk_str(&pk, "f");
	msgpack_pack_float(&pk, 1.5f);
	pk_str(&pk, "s");
	pk_str(&pk, "hi");
	pk_str(&pk, "a");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_true(&pk);
	msgpack_pack_nil(&pk);
	unpack(sb.data, sb.size, 0, &g);
	assert_int_equal(g.n, 1);
	if (!g.ok[0])
		fail_msg("%s", g.msg[0]);
	assert_int_equal(ev_parser_line(ps, line, sizeof(line) - 1, NOW, &err),
			 1);
	ev_parser_record(ps, 0, &rec, &n, NULL);
	assert_int_equal(g.rec[0].len, n);
	assert_memory_equal(g.rec[0].p, rec, n);
	got_free(&g);
	ev_parser_free(ps);
	msgpack_sbuffer_destroy(&sb);
}

/* The timestamp in each size gives the time, within the years evlog
 * holds. */
static void test_timestamps(void **state)
{
	static const struct {
		const char *b;
		size_t n;
		ev_time_t t;
		int ok;
	} ts[] = {
#define T(bytes, t, ok) {bytes, sizeof(bytes) - 1, t, ok}
		T("\xd6\xff\x67\x80\xe8\x98", 1736501400LL * 1000000000, 1),
		T("\xd7\xff\x1d\x6f\x34\x54\x67\x80\xe8\x98",
		  1736501400LL * 1000000000 + 123456789, 1),
		T("\xc7\x0c\xff\x1d\xcd\x65\x00\xff\xff\xff\xff\xff\xff\xff\xff",
		  -500000000, 1),
		/* a small time in the 12-byte form */
		T("\xc7\x0c\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01",
		  1000000000, 1),
		/* nanoseconds over 999999999 */
		T("\xd7\xff\xff\xff\xff\xff\x00\x00\x00\x00", 0, 0),
		/* the year 2514 */
		T("\xc7\x0c\xff\x00\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff",
		  0, 0),
		/* two bytes is no timestamp size */
		T("\xd5\xff\x00\x00", 0, 0),
#undef T
	};
	uint8_t b[64];
	struct ev_event ev;
	struct ev_error err;
	struct got g;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		/* {"type":"A","time":TS} */
		memcpy(b,
		       "\x82\xa4type\xa1"
		       "A\xa4time",
		       13);
		memcpy(b + 13, ts[i].b, ts[i].n);
		n = 13 + ts[i].n;
		unpack(b, n, 0, &g);
		assert_int_equal(g.n, 1);
		assert_int_equal(g.ok[0], ts[i].ok);
		if (ts[i].ok) {
			assert_int_equal(ev_event_decode(g.rec[0].p,
							 g.rec[0].len, &ev,
							 &err),
					 0);
			assert_true(ev.time == ts[i].t);
		} else {
			assert_string_equal(
				g.msg[0],
				"field 'time' is not a timestamp from " EV_TIME_RANGE);
		}
		got_free(&g);
	}
}

/* ------------------------------------------------- the stream */

static void test_stream(void **state)
{
	/* A, 5, A, {"id":"x"}, A, then a malformed object and an A */
	static const char s[] = "\x81\xa4type\xa1"
				"A"
				"\x05"
				"\x81\xa4type\xa1"
				"A"
				"\x81\xa2id\xa1x"
				"\x81\xa4type\xa1"
				"A"
				"\xc1"
				"\x81\xa4type\xa1"
				"A";
	static const uint64_t at[] = {0, 8, 9, 17, 23, 31};
	struct got whole, bytewise;
	size_t chunk;
	int i;

	(void)state;
	unpack(s, sizeof(s) - 1, 0, &whole);
	assert_int_equal(whole.n, 6);
	assert_true(whole.broken);
	for (i = 0; i < 6; i++)
		assert_true(whole.at[i] == at[i]);
	assert_int_equal(whole.ok[0], 1);
	assert_string_equal(whole.msg[1],
			    "expected a map: an event is a MessagePack map");
	assert_int_equal(whole.ok[2], 1);
	assert_string_equal(whole.msg[3], "missing required field 'type'");
	assert_int_equal(whole.ok[4], 1);
	assert_string_equal(whole.msg[5], "not valid MessagePack");
	/* the same, however it is fed */
	for (chunk = 1; chunk <= 9; chunk += 4) {
		unpack(s, sizeof(s) - 1, chunk, &bytewise);
		assert_int_equal(bytewise.n, whole.n);
		for (i = 0; i < whole.n; i++) {
			assert_true(bytewise.at[i] == whole.at[i]);
			assert_int_equal(bytewise.ok[i], whole.ok[i]);
			assert_string_equal(bytewise.msg[i], whole.msg[i]);
		}
		got_free(&bytewise);
	}
	got_free(&whole);
}

static void test_stream_ends(void **state)
{
	uint8_t *b;
	size_t n;
	struct got g;

	(void)state;
	/* truncated: the input ends inside the second object */
	unpack("\x81\xa4type\xa1"
	       "A\x81\xa4ty",
	       13, 0, &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.msg[1],
			    "truncated object: the input ends inside it");
	assert_true(g.at[1] == 8 && g.broken);
	got_free(&g);
	/* an empty stream, and one of a nil: not an event */
	unpack("", 0, 0, &g);
	assert_int_equal(g.n, 0);
	unpack("\xc0", 1, 0, &g);
	assert_int_equal(g.n, 1);
	assert_false(g.broken);
	/* an object over 4 MiB: a str32 of 5 MiB in data */
	n = 14 + (5u << 20);
	b = calloc(1, n);
	assert_non_null(b);
	memcpy(b,
	       "\x82\xa4type\xa1"
	       "A\xa4"
	       "data\xdb\x00\x50\x00\x00",
	       18);
	unpack(b, n, 1u << 20, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.msg[0], "object larger than 4194304 bytes");
	assert_true(g.broken);
	got_free(&g);
	free(b);
	/* 32 levels of containers, the event map and 31 arrays, are
	 * unpacked; 33 are not */
	b = calloc(1, 64);
	assert_non_null(b);
	memcpy(b,
	       "\x82\xa4type\xa1"
	       "A\xa4"
	       "data",
	       13);
	memset(b + 13, 0x91, 31);
	b[44] = 0x01;
	unpack(b, 45, 0, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.ok[0], 1);
	got_free(&g);
	memset(b + 13, 0x91, 32);
	b[45] = 0x01;
	unpack(b, 46, 0, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(
		g.msg[0], "msgpack-c cannot unpack this object: nested deeper "
			  "than 32 levels, or out of memory");
	assert_true(g.broken);
	free(b);
}

/* data and meta hold what JSON holds */
static void test_values(void **state)
{
	static const struct {
		const char *data; /* msgpack, after "data" */
		size_t n;
		const char *msg;
	} bad[] = {
#define B(bytes, msg) {bytes, sizeof(bytes) - 1, msg}
		B("\x91\xc4\x00",
		  "field 'data': binary value inside data or meta"),
		B("\x91\xd4\x01\x00",
		  "field 'data': msgpack extension value inside data or meta"),
		B("\x81\x01\x02", "field 'data': map key is not a string"),
		B("\xa2\xc3\x28", "field 'data': string is not valid UTF-8"),
		B("\xca\x7f\x80\x00\x00", "field 'data': non-finite float"),
		B("\xcb\xff\xf0\x00\x00\x00\x00\x00\x00",
		  "field 'data': non-finite float"),
#undef B
	};
	uint8_t b[64];
	struct got g;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(b,
		       "\x82\xa4type\xa1"
		       "A\xa4"
		       "data",
		       13);
		memcpy(b + 13, bad[i].data, bad[i].n);
		unpack(b, 13 + bad[i].n, 0, &g);
		assert_int_equal(g.n, 1);
		assert_string_equal(g.msg[0], bad[i].msg);
		assert_false(g.broken);
		memcpy(b,
		       "\x82\xa4type\xa1"
		       "A\xa4meta\x81\xa1k",
		       16);
		memcpy(b + 16, bad[i].data, bad[i].n);
		unpack(b, 16 + bad[i].n, 0, &g);
		assert_int_equal(g.n, 1);
		assert_non_null(strstr(g.msg[0], "field 'meta': "));
	}
	unpack("\x82\xa4type\xa1"
	       "A\x01\x02",
	       10, 0, &g);
	assert_string_equal(g.msg[0], "a key of the event map is not a string");
	unpack("\x82\xa4type\xa1"
	       "A\xa1\xff\x02",
	       11, 0, &g);
	assert_string_equal(g.msg[0],
			    "a key of the event map is not valid UTF-8");
}

/* struct ev_input over a MessagePack stream */
static void test_input(void **state)
{
	struct ev_parse_opts o;
	struct ev_input *in;
	struct ev_input_pos pos;
	struct ev_error err;
	int fds[2];

	(void)state;
	memset(&o, 0, sizeof(o));
	o.format = EV_FMT_MSGPACK;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(ev_input_new(&in, fds[0], "pipe", &o, &err), 0);
	assert_int_equal(ev_input_next(in, 1, NOW, &err), EV_EAGAIN);
	assert_int_equal(write(fds[1], "\x81\xa4type\xa1", 7), 7);
	assert_int_equal(ev_input_next(in, 1, NOW, &err), EV_EAGAIN);
	assert_int_equal(write(fds[1], "A\x05\xc1", 3), 3);
	assert_int_equal(ev_input_next(in, 1, NOW, &err), 1);
	ev_input_where(in, &pos);
	assert_true(pos.byte == 0 && pos.line == 0);
	assert_int_equal(ev_input_next(in, 1, NOW, &err), EV_EDATA);
	assert_false(ev_input_broken(in));
	ev_input_where(in, &pos);
	assert_true(pos.byte == 8);
	assert_int_equal(ev_input_next(in, 1, NOW, &err), EV_EDATA);
	assert_string_equal(err.msg, "not valid MessagePack");
	assert_true(ev_input_broken(in));
	ev_input_where(in, &pos);
	assert_true(pos.byte == 9);
	ev_input_free(in);
	close(fds[0]);
	close(fds[1]);
	/* the line parser has no MessagePack */
	{
		struct ev_parser *ps = ev_parser_new(&o);
		assert_int_equal(ev_parser_line(ps, "{}", 2, NOW, &err),
				 EV_EUSAGE);
		ev_parser_free(ps);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_json),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_packer_event),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_ends),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_input),
	};

	return cmocka_run_group_tests_name("unpacker", tests, NULL, NULL);
}
