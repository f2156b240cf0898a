/*
 * test_mp_oracle.c - libevlog's MessagePack codec (lib/mpread.c,
 * lib/mpwrite.c and the writers built on them) against msgpack-c as the
 * oracle, both ways:
 *
 *   - everything libevlog writes (each encoder at the edges of its
 *     widths, records, ev_event_to_msgpack, the JSON transcoder) msgpack-c
 *     unpacks to the value libevlog reads back;
 *   - everything msgpack-c's packer writes (every type and width,
 *     non-minimal encodings, the timestamp extension in its three sizes,
 *     nested containers) libevlog reads as msgpack-c does.
 *
 * The comparison is tests/fuzz/mporacle.h, which the fuzz targets share.
 */
#include <dirent.h>
#include <math.h>

#include <msgpack.h>

#include "unit.h"
#include "../fuzz/mporacle.h"

struct pk {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void pk_init(struct pk *s)
{
	msgpack_sbuffer_init(&s->sb);
	msgpack_packer_init(&s->pk, &s->sb, msgpack_sbuffer_write);
}

static void pk_reset(struct pk *s)
{
	msgpack_sbuffer_clear(&s->sb);
}

/* the value at b is the same to both readers */
static void same(const char *what, const void *b, size_t n)
{
	const char *why = "";
	int r = mpo_check((const uint8_t *)b, n, &why);

	if (r != MPO_SAME)
		fail_msg("%s (%zu bytes): %s", what, n,
			 r == MPO_TOO_DEEP ? "too deep for msgpack-c" : why);
}

/* what msgpack-c packed is the same to both readers */
static void same_pk(const char *what, struct pk *s)
{
	same(what, s->sb.data, s->sb.size);
	pk_reset(s);
}

/* ------------------------------------------------- libevlog writes */

static const uint64_t uints[] = {
	0,	     1,
	0x7f,	     0x80,
	0xff,	     0x100,
	0xffff,	     0x10000,
	0xffffffffu, 0x100000000ull,
	INT64_MAX,   (uint64_t)INT64_MAX + 1,
	UINT64_MAX,
};
static const int64_t ints[] = {
	-1,	   -32,	      -33,
	-128,	   -129,      -32768,
	-32769,	   INT32_MIN, (int64_t)INT32_MIN - 1,
	INT64_MIN, 0,	      1,
	127,	   INT64_MAX,
};
static const size_t lens[] = {0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536};

static void test_encoders(void **state)
{
	static const double ds[] = {0.0, -0.0, 1.5, -1e300, 5e-324, 0.1};
	uint8_t buf[32], *o;
	struct ev_buf b = {0};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		o = ev_mp_uint(buf, uints[i]);
		same("ev_mp_uint", buf, (size_t)(o - buf));
	}
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		o = ev_mp_int(buf, ints[i]);
		same("ev_mp_int", buf, (size_t)(o - buf));
	}
	for (i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		o = ev_mp_double(buf, ds[i]);
		same("ev_mp_double", buf, (size_t)(o - buf));
	}
	o = ev_mp_double(buf, NAN);
	same("ev_mp_double NaN", buf, (size_t)(o - buf));
	o = ev_mp_double(buf, -INFINITY);
	same("ev_mp_double -inf", buf, (size_t)(o - buf));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		/* a string, a bin, and containers of nils, at each width */
		b.len = 0;
		assert_int_equal(ev_buf_reserve(&b, lens[i] + 16), 0);
		o = ev_mp_str_hdr(b.p, lens[i]);
		memset(o, 'x', lens[i]);
		same("ev_mp_str_hdr", b.p, (size_t)(o - b.p) + lens[i]);
		o = ev_mp_bin_hdr(b.p, lens[i]);
		memset(o, 0xff, lens[i]);
		same("ev_mp_bin_hdr", b.p, (size_t)(o - b.p) + lens[i]);
		assert_int_equal(ev_buf_reserve(&b, 2 * lens[i] + 16), 0);
		o = ev_mp_array_hdr(b.p, lens[i]);
		memset(o, 0xc0, lens[i]);
		same("ev_mp_array_hdr", b.p, (size_t)(o - b.p) + lens[i]);
		o = ev_mp_map_hdr(b.p, lens[i]);
		for (k = 0; k < lens[i]; k++) {
			*o++ = 0xa0; /* "" */
			*o++ = 0xc0;
		}
		same("ev_mp_map_hdr", b.p, (size_t)(o - b.p));
	}
	ev_buf_free(&b);
}

static void test_encode_time(void **state)
{
	static const ev_time_t ts[] = {
		0,
		1,
		999999999,
		1700000000LL * 1000000000 + 123456789,
		4294967295LL * 1000000000,
		4294967296LL * 1000000000,
		(1LL << 33) * 1000000000 + 999999999,
		9223372035LL * 1000000000 + 999999999,
		-1,
		-9223372035LL * 1000000000,
	};
	msgpack_unpacked res;
	msgpack_timestamp mts = {0, 0};
	struct ev_mp_item it;
	const uint8_t *p;
	uint8_t buf[16], *o;
	ev_time_t back;
	size_t i, off;

	(void)state;
	msgpack_unpacked_init(&res);
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		o = ev_mp_time(buf, ts[i]);
		same("ev_mp_time", buf, (size_t)(o - buf));
		/* and both read the same time from it */
		off = 0;
		assert_int_equal(msgpack_unpack_next(&res, (const char *)buf,
						     (size_t)(o - buf), &off),
				 MSGPACK_UNPACK_SUCCESS);
		assert_true(msgpack_object_to_timestamp(&res.data, &mts));
		p = buf;
		assert_int_equal(ev_mp_read(&p, o, &it), 0);
		assert_int_equal(ev_mp_time_decode(&it, &back), 0);
		assert_true(back == ts[i]);
		assert_true((int64_t)mts.tv_sec * 1000000000 + mts.tv_nsec ==
			    ts[i]);
	}
	msgpack_unpacked_destroy(&res);
}

/* records, and the event map evtail -o msgpack writes of each */
static void test_records(void **state)
{
	static const char *const lines[] = {
		"{\"type\":\"A\"}",
		"{\"id\":\"e1\",\"type\":\"T\",\"stream\":\"s\",\"version\":7,"
		"\"time\":\"2025-01-10T09:30:00.123456789Z\",\"schema\":3,"
		"\"key\":\"k\",\"data\":{\"a\":[1,-1,1.5,null,true,\"x\"],"
		"\"u\":18446744073709551615,\"i\":-9223372036854775808},"
		"\"meta\":{\"m\":\"v\",\"m\":{}}}",
		"{\"type\":\"B\",\"time\":\"1700-01-01T00:00:00Z\","
		"\"data_base64\":\"AAEC/w==\"}",
		"{\"type\":\"N\",\"data\":null,\"meta\":{}}",
		"{\"type\":\"S\",\"data\":\"" /* a str16 */
		"0123456789012345678901234567890123456789012345678901234567890123"
		"0123456789012345678901234567890123456789012345678901234567890123"
		"0123456789012345678901234567890123456789012345678901234567890123"
		"0123456789012345678901234567890123456789012345678901234567890123"
		"\"}",
	};
	struct ev_parser *ps = ev_parser_new(NULL);
	struct ev_buf out = {0};
	struct ev_error err;
	struct ev_event ev;
	const uint8_t *rec;
	size_t i, n;

	(void)state;
	assert_non_null(ps);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(ev_parser_line(ps, lines[i], strlen(lines[i]),
						1, &err),
				 1);
		ev_parser_record(ps, 0, &rec, &n, NULL);
		same("record", rec, n);
		assert_int_equal(ev_event_decode(rec, n, &ev, &err), 0);
		ev.offset = 1ull << 40;
		out.len = 0;
		assert_int_equal(ev_event_to_msgpack(&ev, &out, &err), 0);
		same("ev_event_to_msgpack", out.p, out.len);
	}
	ev_parser_free(ps);
	ev_buf_free(&out);
}

/* every JSONTestSuite file the transcoder accepts */
static void test_json_transcoder(void **state)
{
	struct dirent **list;
	struct ev_buf mp = {0};
	struct ev_json js;
	char dir[4096], path[8192];
	char *text;
	size_t len;
	int n, i, accepted = 0;

	(void)state;
	unit_corpus("JSONTestSuite/test_parsing", dir, sizeof(dir));
	n = scandir(dir, &list, NULL, alphasort);
	assert_true(n > 300);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		free(list[i]);
		if (strstr(path, ".json") == NULL)
			continue;
		text = unit_read_file(path, &len);
		assert_non_null(text);
		ev_json_init(&js, text, len);
		mp.len = 0;
		if (ev_json_ws(&js) >= 0 && ev_json_value(&js, &mp) == 0 &&
		    ev_json_ws(&js) < 0) {
			same(path, mp.p, mp.len);
			accepted++;
		}
		free(text);
	}
	free(list);
	ev_buf_free(&mp);
	assert_true(accepted > 90);
}

/* ------------------------------------------------- msgpack-c writes */

static void test_packer_scalars(void **state)
{
	struct pk s;
	size_t i;

	(void)state;
	pk_init(&s);
	msgpack_pack_nil(&s.pk);
	same_pk("nil", &s);
	msgpack_pack_true(&s.pk);
	same_pk("true", &s);
	msgpack_pack_false(&s.pk);
	same_pk("false", &s);
	for (i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		msgpack_pack_uint64(&s.pk, uints[i]);
		same_pk("uint64", &s);
		/* every width msgpack-c can force: small values in wide forms
		 */
		msgpack_pack_fix_uint64(&s.pk, uints[i]);
		same_pk("fix_uint64", &s);
		msgpack_pack_fix_uint32(&s.pk, (uint32_t)uints[i]);
		same_pk("fix_uint32", &s);
		msgpack_pack_fix_uint16(&s.pk, (uint16_t)uints[i]);
		same_pk("fix_uint16", &s);
		msgpack_pack_fix_uint8(&s.pk, (uint8_t)uints[i]);
		same_pk("fix_uint8", &s);
	}
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		msgpack_pack_int64(&s.pk, ints[i]);
		same_pk("int64", &s);
		msgpack_pack_fix_int64(&s.pk, ints[i]);
		same_pk("fix_int64", &s);
		msgpack_pack_fix_int32(&s.pk, (int32_t)ints[i]);
		same_pk("fix_int32", &s);
		msgpack_pack_fix_int16(&s.pk, (int16_t)ints[i]);
		same_pk("fix_int16", &s);
		msgpack_pack_fix_int8(&s.pk, (int8_t)ints[i]);
		same_pk("fix_int8", &s);
		msgpack_pack_char(&s.pk, (char)ints[i]);
		same_pk("char", &s);
		msgpack_pack_short(&s.pk, (short)ints[i]);
		same_pk("short", &s);
		msgpack_pack_long_long(&s.pk, (long long)ints[i]);
		same_pk("long long", &s);
	}
	msgpack_pack_float(&s.pk, 1.5f);
	same_pk("float32", &s);
	msgpack_pack_float(&s.pk, 0.1f);
	same_pk("float32", &s);
	msgpack_pack_float(&s.pk, -INFINITY);
	same_pk("float32 -inf", &s);
	msgpack_pack_double(&s.pk, 0.1);
	same_pk("float64", &s);
	msgpack_pack_double(&s.pk, -0.0);
	same_pk("float64 -0", &s);
	msgpack_pack_double(&s.pk, NAN);
	same_pk("float64 NaN", &s);
	msgpack_sbuffer_destroy(&s.sb);
}

static void test_packer_bytes(void **state)
{
	static const size_t exts[] = {1, 2, 4, 8, 16, 0, 3, 255, 256, 65536};
	struct pk s;
	char *body = malloc(70000);
	size_t i;

	(void)state;
	assert_non_null(body);
	memset(body, 'y', 70000);
	pk_init(&s);
	/* fixstr, str8, str16, str32; bin8, bin16, bin32 */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		msgpack_pack_str_with_body(&s.pk, body, lens[i]);
		same_pk("str", &s);
		msgpack_pack_bin_with_body(&s.pk, body, lens[i]);
		same_pk("bin", &s);
	}
	/* fixext 1 to 16, ext8, ext16, ext32 */
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		msgpack_pack_ext_with_body(&s.pk, body, exts[i], 42);
		same_pk("ext", &s);
		msgpack_pack_ext_with_body(&s.pk, body, exts[i], -128);
		same_pk("ext -128", &s);
	}
	/* msgpack-c also takes the old raw names */
	msgpack_pack_v4raw(&s.pk, 3);
	msgpack_pack_v4raw_body(&s.pk, "abc", 3);
	same_pk("v4raw", &s);
	msgpack_sbuffer_destroy(&s.sb);
	free(body);
}

/* the timestamp extension in its three sizes, as msgpack-c packs each
 * time (the smallest that holds it) and in the larger sizes too */
static void test_packer_timestamps(void **state)
{
	static const msgpack_timestamp ts[] = {
		{0, 0},
		{1736501400, 0},
		{4294967295LL, 0},
		{1736501400, 123456789},
		{(1LL << 33) - 1, 999999999},
		{-1, 500000000},
		{-9223372035LL, 0},
		{9223372035LL, 999999999},
	};
	struct pk s;
	msgpack_unpacked res;
	msgpack_timestamp back = {0, 0};
	struct ev_mp_item it;
	const uint8_t *p;
	ev_time_t t;
	char body[12];
	uint64_t w;
	size_t i, off;

	(void)state;
	pk_init(&s);
	msgpack_unpacked_init(&res);
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		msgpack_pack_timestamp(&s.pk, &ts[i]);
		/* the time libevlog reads is the one msgpack-c reads */
		off = 0;
		assert_int_equal(msgpack_unpack_next(&res, s.sb.data, s.sb.size,
						     &off),
				 MSGPACK_UNPACK_SUCCESS);
		assert_true(msgpack_object_to_timestamp(&res.data, &back));
		p = (const uint8_t *)s.sb.data;
		assert_int_equal(ev_mp_read(&p, p + s.sb.size, &it), 0);
		if (ev_mp_time_decode(&it, &t) != 0)
			fail_msg("timestamp %zu: libevlog cannot read it", i);
		assert_true(t == back.tv_sec * 1000000000 + back.tv_nsec);
		assert_true(back.tv_sec == ts[i].tv_sec &&
			    back.tv_nsec == ts[i].tv_nsec);
		same_pk("timestamp", &s);
		/* 12 bytes for any time; 8 for those it holds */
		ev_be32((uint8_t *)body, ts[i].tv_nsec);
		ev_be64((uint8_t *)body + 4, (uint64_t)ts[i].tv_sec);
		msgpack_pack_ext_with_body(&s.pk, body, 12, -1);
		p = (const uint8_t *)s.sb.data;
		assert_int_equal(ev_mp_read(&p, p + s.sb.size, &it), 0);
		assert_int_equal(ev_mp_time_decode(&it, &t), 0);
		assert_true(t == ts[i].tv_sec * 1000000000 + ts[i].tv_nsec);
		same_pk("timestamp96", &s);
		if (ts[i].tv_sec < 0 || ts[i].tv_sec >= (1LL << 34))
			continue;
		w = (uint64_t)ts[i].tv_nsec << 34 | (uint64_t)ts[i].tv_sec;
		ev_be64((uint8_t *)body, w);
		msgpack_pack_ext_with_body(&s.pk, body, 8, -1);
		p = (const uint8_t *)s.sb.data;
		assert_int_equal(ev_mp_read(&p, p + s.sb.size, &it), 0);
		assert_int_equal(ev_mp_time_decode(&it, &t), 0);
		assert_true(t == ts[i].tv_sec * 1000000000 + ts[i].tv_nsec);
		same_pk("timestamp64", &s);
	}
	msgpack_unpacked_destroy(&res);
	msgpack_sbuffer_destroy(&s.sb);
}

/* hand-made encodings the packer never chooses: wide headers for small
 * sizes */
static void test_non_minimal_headers(void **state)
{
	static const struct {
		const char *name, *b;
		size_t n;
	} forms[] = {
#define F(name, bytes) {name, bytes, sizeof(bytes) - 1}
		F("str8 of 3", "\xd9\x03"
			       "abc"),
		F("str16 of 3", "\xda\x00\x03"
				"abc"),
		F("str32 of 3", "\xdb\x00\x00\x00\x03"
				"abc"),
		F("bin16 of 1", "\xc5\x00\x01\x00"),
		F("bin32 of 1", "\xc6\x00\x00\x00\x01\x00"),
		F("array16 of 1", "\xdc\x00\x01\x01"),
		F("array32 of 1", "\xdd\x00\x00\x00\x01\x01"),
		F("map16 of 1", "\xde\x00\x01\xa1k\x01"),
		F("map32 of 1", "\xdf\x00\x00\x00\x01\xa1k\x01"),
		F("ext8 of 1", "\xc7\x01\x05\x00"),
		F("ext16 of 1", "\xc8\x00\x01\x05\x00"),
		F("ext32 of 1", "\xc9\x00\x00\x00\x01\x05\x00"),
		F("timestamp as ext8", "\xc7\x04\xff\x00\x00\x00\x01"),
		F("uint64 of 1", "\xcf\x00\x00\x00\x00\x00\x00\x00\x01"),
		F("int8 of 1", "\xd0\x01"),
		F("empty map32", "\xdf\x00\x00\x00\x00"),
#undef F
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		same(forms[i].name, forms[i].b, forms[i].n);
}

/* random nested values of every type */
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void gen(msgpack_packer *pk, int depth)
{
	unsigned k = (unsigned)(rnd() % (depth > 6 ? 10 : 12)), n, i;
	char s[300];

	switch (k) {
	case 0:
		msgpack_pack_nil(pk);
		break;
	case 1:
		msgpack_pack_uint64(pk, rnd() >> (rnd() % 64));
		break;
	case 2:
		msgpack_pack_fix_int64(pk, (int64_t)(rnd() >> (rnd() % 64)));
		break;
	case 3:
		msgpack_pack_double(pk, (double)(int64_t)rnd() / 7.0);
		break;
	case 4:
		msgpack_pack_float(pk, (float)(rnd() % 1000) / 8.0f);
		break;
	case 5:
		n = (unsigned)(rnd() % 300);
		memset(s, 'a' + (int)(rnd() % 26), n);
		msgpack_pack_str_with_body(pk, s, n);
		break;
	case 6:
		n = (unsigned)(rnd() % 300);
		memset(s, (int)(rnd() & 0xff), n);
		msgpack_pack_bin_with_body(pk, s, n);
		break;
	case 7:
		n = (unsigned)(rnd() % 20);
		memset(s, 1, n);
		msgpack_pack_ext_with_body(pk, s, n, (int8_t)(rnd() % 100));
		break;
	case 8:
		msgpack_pack_int32(pk, -(int32_t)(rnd() % 100000));
		break;
	case 9:
		if (rnd() & 1)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case 10:
		n = (unsigned)(rnd() % 20);
		msgpack_pack_array(pk, n);
		for (i = 0; i < n; i++)
			gen(pk, depth + 1);
		break;
	default:
		n = (unsigned)(rnd() % 20);
		msgpack_pack_map(pk, n);
		for (i = 0; i < 2 * n; i++)
			gen(pk, depth + 1);
		break;
	}
}

static void test_packer_random(void **state)
{
	struct pk s;
	int i;

	(void)state;
	pk_init(&s);
	for (i = 0; i < 500; i++) {
		gen(&s.pk, 0);
		same_pk("random value", &s);
	}
	msgpack_sbuffer_destroy(&s.sb);
}

/* the depth that msgpack-c unpacks is under libevlog's: the oracle says
 * so rather than fail */
static void test_depth(void **state)
{
	uint8_t b[EV_MAX_DEPTH + 1];
	const char *why;

	(void)state;
	memset(b, 0x91, sizeof(b));
	b[MPO_MAX_DEPTH] = 0x01;
	assert_int_equal(mpo_check(b, MPO_MAX_DEPTH + 1, &why), MPO_SAME);
	memset(b, 0x91, sizeof(b));
	b[MPO_MAX_DEPTH + 1] = 0x01;
	assert_int_equal(mpo_check(b, MPO_MAX_DEPTH + 2, &why), MPO_TOO_DEEP);
	/* and a value that differs is caught */
	assert_int_equal(mpo_check((const uint8_t *)"\x92\x01", 2, &why),
			 MPO_DIFFERS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoders),
		cmocka_unit_test(test_encode_time),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_json_transcoder),
		cmocka_unit_test(test_packer_scalars),
		cmocka_unit_test(test_packer_bytes),
		cmocka_unit_test(test_packer_timestamps),
		cmocka_unit_test(test_non_minimal_headers),
		cmocka_unit_test(test_packer_random),
		cmocka_unit_test(test_depth),
	};

	return cmocka_run_group_tests_name("mp_oracle", tests, NULL, NULL);
}
