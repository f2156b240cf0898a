/*
 * test_mp.c - lib/mpread.c (the bounds-checked msgpack reader) and
 * lib/mpwrite.c (the encoders), cross-checked against msgpack-c.
 *
 * Every truncation of a valid encoding must fail cleanly, and declared
 * lengths larger than the bytes that remain must fail without any
 * allocation of that size (msgpack-c issue #1013: 5 bytes, 96 GB).
 */
#include <math.h>

#include <msgpack.h>

#include "unit.h"
#include "alloc_track.h"

/* ------------------------------------------------- helpers */

/* an exact-size heap copy, so a sanitizer sees any over-read */
static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);

	assert_non_null(q);
	if (n)
		memcpy(q, p, n);
	return q;
}

struct enc {
	const char *name;
	const uint8_t *p;
	size_t n;
};

/* bytes as a string literal of \x escapes; its NUL is not counted */
#define ENC(name, bytes)                                          \
	{                                                         \
		name, (const uint8_t *)(bytes), sizeof(bytes) - 1 \
	}

/* one valid encoding of each msgpack form */
static const struct enc encs[] = {
	ENC("positive fixint", "\x05"),
	ENC("negative fixint", "\xe0"),
	ENC("nil", "\xc0"),
	ENC("false", "\xc2"),
	ENC("true", "\xc3"),
	ENC("uint8", "\xcc\xff"),
	ENC("uint16", "\xcd\x12\x34"),
	ENC("uint32", "\xce\x12\x34\x56\x78"),
	ENC("uint64", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
	ENC("int8", "\xd0\x80"),
	ENC("int16", "\xd1\x80\x00"),
	ENC("int32", "\xd2\x80\x00\x00\x00"),
	ENC("int64", "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
	ENC("float32", "\xca\x3f\xc0\x00\x00"),
	ENC("float64", "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"),
	ENC("fixstr", "\xa3\x61\x62\x63"),
	ENC("str8", "\xd9\x03\x61\x62\x63"),
	ENC("str16", "\xda\x00\x03\x61\x62\x63"),
	ENC("str32", "\xdb\x00\x00\x00\x03\x61\x62\x63"),
	ENC("bin8", "\xc4\x02\x00\xff"),
	ENC("bin16", "\xc5\x00\x02\x00\xff"),
	ENC("bin32", "\xc6\x00\x00\x00\x02\x00\xff"),
	ENC("fixarray", "\x92\x01\xa1\x78"),
	ENC("array16", "\xdc\x00\x02\x01\xa1\x78"),
	ENC("array32", "\xdd\x00\x00\x00\x02\x01\xa1\x78"),
	ENC("fixmap", "\x81\xa1\x6b\x92\xc0\xc3"),
	ENC("map16", "\xde\x00\x01\xa1\x6b\x07"),
	ENC("map32", "\xdf\x00\x00\x00\x01\xa1\x6b\x07"),
	ENC("fixext1", "\xd4\x01\xaa"),
	ENC("fixext2", "\xd5\x01\xaa\xbb"),
	ENC("fixext4", "\xd6\xff\x00\x00\x00\x01"),
	ENC("fixext8", "\xd7\xff\x00\x00\x00\x00\x00\x00\x00\x01"),
	ENC("fixext16",
	    "\xd8\x05\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"),
	ENC("ext8", "\xc7\x03\x05\x01\x02\x03"),
	ENC("ext16", "\xc8\x00\x03\x05\x01\x02\x03"),
	ENC("ext32", "\xc9\x00\x00\x00\x03\x05\x01\x02\x03"),
	ENC("ext96 timestamp",
	    "\xc7\x0c\xff\x00\x00\x00\x01\xff\xff\xff\xff\xff\xff\xff\xff"),
	ENC("nested",
	    "\x82\xa1\x61\x91\x92\xcd\x01\x00\xa2\x68\x69\xa1\x62\x80"),
};
#define NENC (sizeof(encs) / sizeof(encs[0]))

/* msgpack-c's view of a buffer: consumed bytes, or 0 when it fails */
static size_t mpc_consumed(const uint8_t *p, size_t n, msgpack_unpacked *res)
{
	size_t off = 0;
	int r;

	r = msgpack_unpack_next(res, (const char *)p, n, &off);
	return r == MSGPACK_UNPACK_SUCCESS ? off : 0;
}

/* ------------------------------------------------- reading */

/* each form reads as msgpack-c reads it */
static void test_read_forms(void **state)
{
	msgpack_unpacked res;
	struct ev_mp_item it;
	const uint8_t *p;
	uint8_t *b;
	size_t i;

	(void)state;
	msgpack_unpacked_init(&res);
	for (i = 0; i < NENC; i++) {
		b = dup_exact(encs[i].p, encs[i].n);
		p = b;
		if (ev_mp_read(&p, b + encs[i].n, &it) != 0)
			fail_msg("%s: ev_mp_read failed", encs[i].name);
		assert_int_equal(mpc_consumed(b, encs[i].n, &res), encs[i].n);
		const msgpack_object *o = &res.data;
		switch (o->type) {
		case MSGPACK_OBJECT_NIL:
			assert_int_equal(it.type, EV_MP_NIL);
			break;
		case MSGPACK_OBJECT_BOOLEAN:
			assert_int_equal(it.type, EV_MP_BOOL);
			assert_int_equal(it.v.b, o->via.boolean);
			break;
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
			assert_int_equal(it.type, EV_MP_UINT);
			assert_true(it.v.u == o->via.u64);
			break;
		case MSGPACK_OBJECT_NEGATIVE_INTEGER:
			assert_int_equal(it.type, EV_MP_INT);
			assert_true(it.v.i == o->via.i64);
			break;
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64:
			assert_int_equal(it.type, EV_MP_FLOAT);
			assert_true(it.v.f == o->via.f64);
			break;
		case MSGPACK_OBJECT_STR:
			assert_int_equal(it.type, EV_MP_STR);
			assert_int_equal(it.n, o->via.str.size);
			assert_memory_equal(it.p, o->via.str.ptr, it.n);
			break;
		case MSGPACK_OBJECT_BIN:
			assert_int_equal(it.type, EV_MP_BIN);
			assert_int_equal(it.n, o->via.bin.size);
			assert_memory_equal(it.p, o->via.bin.ptr, it.n);
			break;
		case MSGPACK_OBJECT_EXT:
			assert_int_equal(it.type, EV_MP_EXT);
			assert_int_equal(it.ext_type, o->via.ext.type);
			assert_int_equal(it.n, o->via.ext.size);
			assert_memory_equal(it.p, o->via.ext.ptr, it.n);
			break;
		case MSGPACK_OBJECT_ARRAY:
			assert_int_equal(it.type, EV_MP_ARRAY);
			assert_int_equal(it.n, o->via.array.size);
			break;
		case MSGPACK_OBJECT_MAP:
			assert_int_equal(it.type, EV_MP_MAP);
			assert_int_equal(it.n, o->via.map.size);
			break;
		default:
			fail_msg("%s: unexpected msgpack-c type", encs[i].name);
		}
		/* skip consumes exactly the value */
		p = b;
		assert_int_equal(ev_mp_skip(&p, b + encs[i].n, 0), 0);
		assert_ptr_equal(p, b + encs[i].n);
		free(b);
	}
	msgpack_unpacked_destroy(&res);
	/* 0xc1 is never used */
	{
		static const uint8_t c1[] = {0xc1};
		p = c1;
		assert_int_equal(ev_mp_read(&p, c1 + 1, &it), -1);
		p = c1;
		assert_int_equal(ev_mp_skip(&p, c1 + 1, 0), -1);
	}
}

/* every proper prefix of every encoding fails, and nothing over-reads */
static void test_truncations(void **state)
{
	struct ev_mp_item it;
	const uint8_t *p;
	const char *why;
	uint8_t *b;
	size_t i, k;

	(void)state;
	for (i = 0; i < NENC; i++) {
		for (k = 0; k < encs[i].n; k++) {
			b = dup_exact(encs[i].p, k);
			p = b;
			if (ev_mp_skip(&p, b + k, 0) != -1)
				fail_msg(
					"%s: ev_mp_skip accepted %zu of %zu bytes",
					encs[i].name, k, encs[i].n);
			p = b;
			why = NULL;
			if (ev_mp_check_json(&p, b + k, 0, &why) != -1 ||
			    why == NULL)
				fail_msg("%s: ev_mp_check_json accepted %zu of "
					 "%zu bytes",
					 encs[i].name, k, encs[i].n);
			/* a header alone may be complete; anything with a
			 * payload is not */
			p = b;
			if (ev_mp_read(&p, b + k, &it) == 0 &&
			    (it.type != EV_MP_ARRAY && it.type != EV_MP_MAP))
				fail_msg(
					"%s: ev_mp_read accepted %zu of %zu bytes",
					encs[i].name, k, encs[i].n);
			free(b);
		}
	}
}

/* declared lengths far beyond the input fail, without a big allocation */
static void test_huge_declared_lengths(void **state)
{
	static const struct enc huge[] = {
		ENC("msgpack-c #1013: array32 of 4 billion",
		    "\xdd\xff\xff\xff\xff"),
		ENC("map32 of 4 billion", "\xdf\xff\xff\xff\xff"),
		ENC("str32 of 4 GB", "\xdb\xff\xff\xff\xff\x61"),
		ENC("bin32 of 4 GB", "\xc6\xff\xff\xff\xff\x00"),
		ENC("ext32 of 4 GB", "\xc9\xff\xff\xff\xff\x01\x00"),
		ENC("array16 of 65535", "\xdc\xff\xff\xc0\xc0"),
		ENC("nested array32", "\x91\x91\xdd\xff\xff\xff\xff\xc0"),
		ENC("map with array32 value",
		    "\x81\xa1\x61\xdd\x10\x00\x00\x00\xc0"),
	};
	struct ev_buf out = {0};
	struct ev_error err;
	struct ev_event ev;
	const uint8_t *p, *val;
	const char *why;
	size_t i, vn, big;
	uint8_t *b, rec[64], *o;

	(void)state;
	for (i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		b = dup_exact(huge[i].p, huge[i].n);
		track_start();
		p = b;
		assert_int_equal(ev_mp_skip(&p, b + huge[i].n, 0), -1);
		p = b;
		assert_int_equal(ev_mp_check_json(&p, b + huge[i].n, 0, &why),
				 -1);
		assert_true(ev_mp_path(b, huge[i].n, "a.b", &val, &vn) <= 0);
		out.len = 0;
		assert_int_equal(ev_msgpack_to_json(b, huge[i].n, &out, &err),
				 EV_EDATA);
		/* the same value as the data of a record */
		o = rec;
		*o++ = 0x84;
		*o++ = EV_K_ID;
		*o++ = 0xa1;
		*o++ = 'i';
		*o++ = EV_K_TYPE;
		*o++ = 0xa1;
		*o++ = 't';
		*o++ = EV_K_TIME;
		o = ev_mp_time(o, 0);
		*o++ = EV_K_DATA;
		memcpy(o, huge[i].p, huge[i].n);
		o += huge[i].n;
		free(b);
		b = dup_exact(rec, (size_t)(o - rec));
		if (ev_event_decode(b, (size_t)(o - rec), &ev, &err) == 0)
			assert_int_not_equal(ev_event_check_deep(&ev, &err), 0);
		out.len = 0;
		assert_int_equal(ev_record_to_json(b, (size_t)(o - rec), 0,
						   &out, &err),
				 EV_EDATA);
		big = track_stop();
		free(b);
		if (big > (1u << 20))
			fail_msg("%s: an allocation of %zu bytes", huge[i].name,
				 big);
	}
	ev_buf_free(&out);
#ifdef UNIT_ASAN
	print_message("# sanitizer build: allocations are checked by ASan\n");
#else
	/* the tracker sees the library's allocations */
	track_start();
	assert_int_equal(ev_buf_reserve(&out, 3u << 20), 0);
	big = track_stop();
	ev_buf_free(&out);
	assert_true(big >= (3u << 20));
#endif
}

static uint8_t *nest_arrays(int depth, size_t *n)
{
	uint8_t *b = malloc((size_t)depth + 1);
	int i;

	assert_non_null(b);
	for (i = 0; i < depth; i++)
		b[i] = 0x91;
	b[depth] = 0xc0;
	*n = (size_t)depth + 1;
	return b;
}

static void test_depth_limit(void **state)
{
	const uint8_t *p;
	const char *why;
	uint8_t *b;
	size_t n;

	(void)state;
	/* depth is the level of the value read; a top-level value is at
	 * level 1, and 66 levels are allowed: 64 for an event, 2 more for
	 * the dead letter that holds it */
	b = nest_arrays(EV_READ_DEPTH, &n);
	p = b;
	assert_int_equal(ev_mp_skip(&p, b + n, 1), 0);
	assert_ptr_equal(p, b + n);
	p = b;
	assert_int_equal(ev_mp_check_json(&p, b + n, 1, &why), 0);
	free(b);
	b = nest_arrays(EV_READ_DEPTH + 1, &n);
	p = b;
	assert_int_equal(ev_mp_skip(&p, b + n, 1), -1);
	p = b;
	assert_int_equal(ev_mp_check_json(&p, b + n, 1, &why), -1);
	assert_non_null(strstr(why, "nesting"));
	free(b);
	/* very deep input does not recurse without bound */
	b = nest_arrays(200000, &n);
	p = b;
	assert_int_equal(ev_mp_skip(&p, b + n, 0), -1);
	p = b;
	assert_int_equal(ev_mp_check_json(&p, b + n, 0, &why), -1);
	free(b);
}

static void test_check_json(void **state)
{
	static const struct enc good[] = {
		ENC("int", "\x05"),
		ENC("map", "\x82\xa1\x61\xc0\xa1\x61\xc3"),
		ENC("float", "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"),
		ENC("utf8", "\xa2\xc3\xa9"),
		ENC("empty containers", "\x92\x80\x90"),
	};
	static const struct enc bad[] = {
		ENC("bin", "\xc4\x01\x00"),
		ENC("ext", "\xd4\x01\x00"),
		ENC("timestamp", "\xd6\xff\x00\x00\x00\x00"),
		ENC("NaN", "\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"),
		ENC("inf", "\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00"),
		ENC("-inf32", "\xca\xff\x80\x00\x00"),
		ENC("int key", "\x81\x01\x02"),
		ENC("nil key", "\x81\xc0\x02"),
		ENC("bad utf8 value", "\xa1\xff"),
		ENC("bad utf8 key", "\x81\xa1\xc3\x01"),
		ENC("surrogate", "\xa3\xed\xa0\x80"),
		ENC("bin in array", "\x91\xc4\x00"),
		ENC("c1", "\xc1"),
	};
	const uint8_t *p;
	const char *why;
	uint8_t *b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		b = dup_exact(good[i].p, good[i].n);
		p = b;
		if (ev_mp_check_json(&p, b + good[i].n, 0, &why) != 0)
			fail_msg("%s rejected: %s", good[i].name, why);
		assert_ptr_equal(p, b + good[i].n);
		free(b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = dup_exact(bad[i].p, bad[i].n);
		p = b;
		why = NULL;
		if (ev_mp_check_json(&p, b + bad[i].n, 0, &why) != -1)
			fail_msg("%s accepted", bad[i].name);
		assert_non_null(why);
		free(b);
	}
}

static void test_path(void **state)
{
	/* {"a":{"b":[10,{"c":"x"}]},"d":1,"d":2,"e":null} */
	static const uint8_t doc[] = {
		0x84, 0xa1, 'a',  0x81, 0xa1, 'b',  0x92, 0x0a,
		0x81, 0xa1, 'c',  0xa1, 'x',  0xa1, 'd',  0x01,
		0xa1, 'd',  0x02, 0xa1, 'e',  0xc0,
	};
	const uint8_t *v;
	uint8_t *b;
	size_t vn, k;

	(void)state;
	b = dup_exact(doc, sizeof(doc));
	assert_int_equal(ev_mp_path(b, sizeof(doc), "a.b.0", &v, &vn), 1);
	assert_int_equal(vn, 1);
	assert_int_equal(v[0], 0x0a);
	assert_int_equal(ev_mp_path(b, sizeof(doc), "a.b.1.c", &v, &vn), 1);
	assert_int_equal(vn, 2);
	assert_memory_equal(v, "\xa1x", 2);
	assert_int_equal(ev_mp_path(b, sizeof(doc), "a.b", &v, &vn), 1);
	assert_int_equal(vn, 7);
	/* the last of duplicate keys wins, as in jq */
	assert_int_equal(ev_mp_path(b, sizeof(doc), "d", &v, &vn), 1);
	assert_int_equal(v[0], 0x02);
	assert_int_equal(ev_mp_path(b, sizeof(doc), "e", &v, &vn), 1);
	assert_int_equal(v[0], 0xc0);
	assert_int_equal(ev_mp_path(b, sizeof(doc), "", &v, &vn), 1);
	assert_int_equal(vn, sizeof(doc));
	/* absent */
	assert_int_equal(ev_mp_path(b, sizeof(doc), "z", &v, &vn), 0);
	assert_int_equal(ev_mp_path(b, sizeof(doc), "a.b.2", &v, &vn), 0);
	assert_int_equal(ev_mp_path(b, sizeof(doc), "a.b.x", &v, &vn), 0);
	assert_int_equal(ev_mp_path(b, sizeof(doc), "d.x", &v, &vn), 0);
	assert_int_equal(ev_mp_path(b, sizeof(doc), "a.b.-1", &v, &vn), 0);
	free(b);
	/* truncated documents: an error or absent, never a read past */
	for (k = 0; k < sizeof(doc); k++) {
		b = dup_exact(doc, k);
		assert_true(ev_mp_path(b, k, "e", &v, &vn) <= 0);
		assert_true(ev_mp_path(b, k, "a.b.1.c", &v, &vn) <= 0 ||
			    (size_t)(v + vn - b) <= k);
		free(b);
	}
}

/* ------------------------------------------------- timestamps */

static int time_of(const uint8_t *p, size_t n, ev_time_t *t)
{
	struct ev_mp_item it;
	const uint8_t *q;
	uint8_t *b = dup_exact(p, n);
	int r;

	q = b;
	r = ev_mp_read(&q, b + n, &it);
	if (r == 0)
		r = ev_mp_time_decode(&it, t);
	free(b);
	return r;
}

static void test_timestamp_forms(void **state)
{
	static const struct enc bad[] = {
		ENC("ext type 0", "\xd6\x00\x00\x00\x00\x01"),
		ENC("5 bytes", "\xc7\x05\xff\x00\x00\x00\x00\x01"),
		ENC("16 bytes",
		    "\xd8\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
		/* 64-bit form with nanoseconds of 10^9 */
		ENC("ns 1e9 (64)", "\xd7\xff\xee\x6b\x28\x00\x00\x00\x00\x00"),
		ENC("ns 1e9 (96)",
		    "\xc7\x0c\xff\x3b\x9a\xca\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
		ENC("sec beyond int64 ns",
		    "\xc7\x0c\xff\x00\x00\x00\x00\x7f\xff\xff\xff\xff\xff\xff\xff"),
		ENC("sec far before 1678",
		    "\xc7\x0c\xff\x00\x00\x00\x00\x80\x00\x00\x00\x00\x00\x00\x00"),
		ENC("not ext", "\xce\x00\x00\x00\x01"),
	};
	static const uint8_t t32[] = {0xd6, 0xff, 0x65, 0x53, 0xf1, 0x00};
	static const uint8_t t64[] = {0xd7, 0xff, 0x00, 0x00, 0x00,
				      0x04, 0x65, 0x53, 0xf1, 0x00};
	static const uint8_t t96[] = {0xc7, 0x0c, 0xff, 0x00, 0x00,
				      0x01, 0xf4, 0xff, 0xff, 0xff,
				      0xff, 0xff, 0xff, 0xff, 0xff};
	ev_time_t t;
	size_t i;

	(void)state;
	assert_int_equal(time_of(t32, sizeof(t32), &t), 0);
	assert_true(t == 1700000000LL * 1000000000);
	/* 64-bit form: ns 1 in the top 30 bits, seconds below */
	assert_int_equal(time_of(t64, sizeof(t64), &t), 0);
	assert_true(t == 1700000000LL * 1000000000 + 1);
	/* 96-bit form: -1 s and 500 ns */
	assert_int_equal(time_of(t96, sizeof(t96), &t), 0);
	assert_true(t == -1000000000LL + 500);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (time_of(bad[i].p, bad[i].n, &t) == 0)
			fail_msg("timestamp '%s' accepted", bad[i].name);
}

/* ------------------------------------------------- encoders vs msgpack-c */

struct sbuf_pk {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void pk_init(struct sbuf_pk *s)
{
	msgpack_sbuffer_init(&s->sb);
	msgpack_packer_init(&s->pk, &s->sb, msgpack_sbuffer_write);
}

static void pk_reset(struct sbuf_pk *s)
{
	msgpack_sbuffer_clear(&s->sb);
}

static void same_bytes(const char *what, unsigned long long v,
		       const uint8_t *ours, size_t on, const struct sbuf_pk *s)
{
	if (on != s->sb.size || memcmp(ours, s->sb.data, on) != 0)
		fail_msg("%s %llu: our %zu bytes differ from msgpack-c's %zu",
			 what, v, on, s->sb.size);
}

static void test_encode_ints(void **state)
{
	static const uint64_t us[] = {
		0,
		1,
		0x7f,
		0x80,
		0xff,
		0x100,
		0xffff,
		0x10000,
		0xffffffffu,
		0x100000000ull,
		(1ull << 53) + 1,
		INT64_MAX,
		(uint64_t)INT64_MAX + 1,
		UINT64_MAX,
	};
	static const int64_t is[] = {
		0,
		1,
		-1,
		-31,
		-32,
		-33,
		127,
		128,
		-128,
		-129,
		255,
		256,
		-32768,
		-32769,
		65535,
		65536,
		INT32_MIN,
		(int64_t)INT32_MIN - 1,
		INT32_MAX,
		(int64_t)INT32_MAX + 1,
		INT64_MIN,
		INT64_MAX,
		-(1ll << 53) - 1,
	};
	struct sbuf_pk s;
	msgpack_unpacked res;
	uint8_t buf[16], *e;
	size_t i;

	(void)state;
	pk_init(&s);
	msgpack_unpacked_init(&res);
	for (i = 0; i < sizeof(us) / sizeof(us[0]); i++) {
		e = ev_mp_uint(buf, us[i]);
		pk_reset(&s);
		msgpack_pack_uint64(&s.pk, us[i]);
		same_bytes("uint", us[i], buf, (size_t)(e - buf), &s);
		assert_int_equal(mpc_consumed(buf, (size_t)(e - buf), &res),
				 (size_t)(e - buf));
		assert_int_equal(res.data.type,
				 MSGPACK_OBJECT_POSITIVE_INTEGER);
		assert_true(res.data.via.u64 == us[i]);
	}
	for (i = 0; i < sizeof(is) / sizeof(is[0]); i++) {
		e = ev_mp_int(buf, is[i]);
		pk_reset(&s);
		msgpack_pack_int64(&s.pk, is[i]);
		same_bytes("int", (unsigned long long)is[i], buf,
			   (size_t)(e - buf), &s);
		assert_int_equal(mpc_consumed(buf, (size_t)(e - buf), &res),
				 (size_t)(e - buf));
		if (is[i] < 0) {
			assert_int_equal(res.data.type,
					 MSGPACK_OBJECT_NEGATIVE_INTEGER);
			assert_true(res.data.via.i64 == is[i]);
		} else {
			assert_int_equal(res.data.type,
					 MSGPACK_OBJECT_POSITIVE_INTEGER);
			assert_true(res.data.via.u64 == (uint64_t)is[i]);
		}
	}
	msgpack_unpacked_destroy(&res);
	msgpack_sbuffer_destroy(&s.sb);
}

enum hdr_kind { H_STR, H_BIN, H_MAP, H_ARRAY };

static void test_encode_headers(void **state)
{
	static const size_t ns[] = {0,	 1,   15,    16,    31,	  32,
				    255, 256, 65535, 65536, 70000};
	static const char *const kname[] = {"str", "bin", "map", "array"};
	struct sbuf_pk s;
	msgpack_unpacked res;
	uint8_t hbuf[8], *e, *full;
	size_t i, hn, body, total;
	int k;

	(void)state;
	pk_init(&s);
	msgpack_unpacked_init(&res);
	for (k = H_STR; k <= H_ARRAY; k++) {
		for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
			size_t n = ns[i];
			pk_reset(&s);
			switch (k) {
			case H_STR:
				e = ev_mp_str_hdr(hbuf, n);
				msgpack_pack_str(&s.pk, n);
				body = n;
				break;
			case H_BIN:
				e = ev_mp_bin_hdr(hbuf, n);
				msgpack_pack_bin(&s.pk, n);
				body = n;
				break;
			case H_MAP:
				e = ev_mp_map_hdr(hbuf, n);
				msgpack_pack_map(&s.pk, n);
				body = 2 * n;
				break;
			default:
				e = ev_mp_array_hdr(hbuf, n);
				msgpack_pack_array(&s.pk, n);
				body = n;
				break;
			}
			hn = (size_t)(e - hbuf);
			same_bytes(kname[k], n, hbuf, hn, &s);
			/* msgpack-c decodes header + body to the same count;
			 * map and array bodies are nils, keys included */
			total = hn + body;
			full = malloc(total);
			assert_non_null(full);
			memcpy(full, hbuf, hn);
			memset(full + hn, k >= H_MAP ? 0xc0 : 'z', body);
			assert_int_equal(mpc_consumed(full, total, &res),
					 total);
			switch (k) {
			case H_STR:
				assert_int_equal(res.data.type,
						 MSGPACK_OBJECT_STR);
				assert_int_equal(res.data.via.str.size, n);
				break;
			case H_BIN:
				assert_int_equal(res.data.type,
						 MSGPACK_OBJECT_BIN);
				assert_int_equal(res.data.via.bin.size, n);
				break;
			case H_MAP:
				assert_int_equal(res.data.type,
						 MSGPACK_OBJECT_MAP);
				assert_int_equal(res.data.via.map.size, n);
				break;
			default:
				assert_int_equal(res.data.type,
						 MSGPACK_OBJECT_ARRAY);
				assert_int_equal(res.data.via.array.size, n);
			}
			/* and our reader agrees */
			{
				const uint8_t *p = full;
				assert_int_equal(ev_mp_skip(&p, full + total,
							    0),
						 0);
				assert_ptr_equal(p, full + total);
			}
			free(full);
		}
	}
	/* ev_buf_mp_str: header and bytes */
	{
		struct ev_buf b = {0};
		assert_int_equal(ev_buf_mp_str(&b, "hello", 5), 0);
		assert_int_equal(b.len, 6);
		assert_memory_equal(b.p, "\xa5hello", 6);
		ev_buf_free(&b);
	}
	msgpack_unpacked_destroy(&res);
	msgpack_sbuffer_destroy(&s.sb);
}

static void test_encode_double(void **state)
{
	static const double ds[] = {0.0,	  -0.0,
				    0.1,	  1.5,
				    -2.25,	  1e300,
				    5e-324,	  1.7976931348623157e308,
				    123456789.125};
	struct sbuf_pk s;
	msgpack_unpacked res;
	uint8_t buf[16], *e;
	size_t i;

	(void)state;
	pk_init(&s);
	msgpack_unpacked_init(&res);
	for (i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		e = ev_mp_double(buf, ds[i]);
		assert_int_equal(e - buf, 9);
		pk_reset(&s);
		msgpack_pack_double(&s.pk, ds[i]);
		same_bytes("double", i, buf, 9, &s);
		assert_int_equal(mpc_consumed(buf, 9, &res), 9);
		assert_int_equal(res.data.type, MSGPACK_OBJECT_FLOAT64);
		assert_memory_equal(&res.data.via.f64, &ds[i], sizeof(double));
	}
	msgpack_unpacked_destroy(&res);
	msgpack_sbuffer_destroy(&s.sb);
}

static void test_encode_time(void **state)
{
	static const ev_time_t ts[] = {
		0,
		1,
		999999999,
		1000000000,
		1700000000LL * 1000000000,
		1700000000LL * 1000000000 + 123456789,
		4294967295LL * 1000000000, /* last 32-bit second */
		4294967296LL * 1000000000, /* first 64-bit-only one */
		9223372035LL * 1000000000 + 999999999, /* near INT64_MAX */
		-1,
		-1000000000,
		-1000000000 + 500,
		-9223372035LL * 1000000000, /* near INT64_MIN */
	};
	struct sbuf_pk s;
	msgpack_unpacked res;
	msgpack_timestamp mts;
	uint8_t buf[16], *e;
	ev_time_t back;
	size_t i, n;

	(void)state;
	pk_init(&s);
	msgpack_unpacked_init(&res);
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		int64_t sec = ts[i] / 1000000000, ns = ts[i] % 1000000000;
		if (ns < 0) {
			ns += 1000000000;
			sec--;
		}
		e = ev_mp_time(buf, ts[i]);
		n = (size_t)(e - buf);
		assert_true(n <= 15);
		mts.tv_sec = sec;
		mts.tv_nsec = (uint32_t)ns;
		pk_reset(&s);
		msgpack_pack_timestamp(&s.pk, &mts);
		same_bytes("time", (unsigned long long)ts[i], buf, n, &s);
		assert_int_equal(mpc_consumed(buf, n, &res), n);
		memset(&mts, 0, sizeof(mts));
		assert_true(msgpack_object_to_timestamp(&res.data, &mts));
		assert_true(mts.tv_sec == sec);
		assert_true(mts.tv_nsec == (uint32_t)ns);
		assert_int_equal(time_of(buf, n, &back), 0);
		assert_true(back == ts[i]);
	}
	msgpack_unpacked_destroy(&res);
	msgpack_sbuffer_destroy(&s.sb);
}

/* ------------------------------------------------- random structures */

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void gen(msgpack_packer *pk, int depth)
{
	unsigned k = (unsigned)(rnd() % (depth > 5 ? 9 : 11)), n, i;
	char s[300];

	switch (k) {
	case 0:
		msgpack_pack_nil(pk);
		break;
	case 1:
		msgpack_pack_uint64(pk, rnd() >> (rnd() % 64));
		break;
	case 2:
		msgpack_pack_int64(pk, -(int64_t)(rnd() >> (1 + rnd() % 63)));
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
		if (rnd() & 1)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case 9:
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

/* random values packed by msgpack-c: we skip exactly what it reads, and
 * fail on every truncation, as it does */
static void test_random_vs_msgpack_c(void **state)
{
	struct sbuf_pk s;
	msgpack_unpacked res;
	const uint8_t *p;
	uint8_t *b;
	size_t k, n;
	int i;

	(void)state;
	pk_init(&s);
	msgpack_unpacked_init(&res);
	for (i = 0; i < 300; i++) {
		pk_reset(&s);
		gen(&s.pk, 0);
		n = s.sb.size;
		b = dup_exact((const uint8_t *)s.sb.data, n);
		assert_int_equal(mpc_consumed(b, n, &res), n);
		p = b;
		assert_int_equal(ev_mp_skip(&p, b + n, 0), 0);
		assert_ptr_equal(p, b + n);
		free(b);
		for (k = n > 64 ? n - 64 : 0; k < n; k++) {
			b = dup_exact((const uint8_t *)s.sb.data, k);
			p = b;
			if (ev_mp_skip(&p, b + k, 0) != -1)
				fail_msg("random value %d: %zu of %zu bytes "
					 "accepted",
					 i, k, n);
			assert_int_equal(mpc_consumed(b, k, &res), 0);
			free(b);
		}
	}
	msgpack_unpacked_destroy(&res);
	msgpack_sbuffer_destroy(&s.sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_forms),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_huge_declared_lengths),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_check_json),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_timestamp_forms),
		cmocka_unit_test(test_encode_ints),
		cmocka_unit_test(test_encode_headers),
		cmocka_unit_test(test_encode_double),
		cmocka_unit_test(test_encode_time),
		cmocka_unit_test(test_random_vs_msgpack_c),
	};

	return cmocka_run_group_tests_name("mp", tests, NULL, NULL);
}
