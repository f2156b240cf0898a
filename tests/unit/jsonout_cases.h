/*
 * jsonout_cases.h - the tests of lib/jsonout.c's writer, shared by
 * test_jsonout.c (the library as built: SSE2 on x86-64) and
 * test_jsonout_swar.c (the portable code, lib/jsonout.c built into the
 * test with EV_NO_SIMD).
 *
 * The oracle is the writer as it was before strings were checked 16 bytes
 * at a time and containers followed on a stack: recursive, a byte at a
 * time, numbers through snprintf.  Every input is in a buffer of its exact
 * size, so a read past it is an error under the sanitizers and valgrind.
 */
#include <math.h>
#include <time.h>

/* ---------------------------------------------------------------- oracle */

struct ref {
	struct ev_buf b;
	const char *why;
};

static void ref_put(struct ref *r, const void *p, size_t n)
{
	if (ev_buf_append(&r->b, p, n) != 0)
		fail_msg("out of memory");
}

static void ref_lit(struct ref *r, const char *s)
{
	ref_put(r, s, strlen(s));
}

static int ref_str(struct ref *r, const uint8_t *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;
	char e[7];
	int k;

	ref_lit(r, "\"");
	while (i < n) {
		uint8_t c = s[i];
		if (c >= 0x80) {
			k = ev_utf8_seq(s + i, s + n);
			if (k == 0) {
				r->why = "string is not valid UTF-8";
				return -1;
			}
			ref_put(r, s + i, (size_t)k);
			i += (size_t)k;
			continue;
		}
		if (c == '"')
			ref_lit(r, "\\\"");
		else if (c == '\\')
			ref_lit(r, "\\\\");
		else if (c == '\n')
			ref_lit(r, "\\n");
		else if (c == '\t')
			ref_lit(r, "\\t");
		else if (c == '\r')
			ref_lit(r, "\\r");
		else if (c == '\b')
			ref_lit(r, "\\b");
		else if (c == '\f')
			ref_lit(r, "\\f");
		else if (c < 0x20) {
			memcpy(e, "\\u00", 4);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			ref_put(r, e, 6);
		} else {
			ref_put(r, &c, 1);
		}
		i++;
	}
	ref_lit(r, "\"");
	return 0;
}

static void ref_u64(struct ref *r, uint64_t v)
{
	char t[32];

	ref_put(r, t,
		(size_t)snprintf(t, sizeof(t), "%llu", (unsigned long long)v));
}

static void ref_i64(struct ref *r, int64_t v)
{
	char t[32];

	ref_put(r, t, (size_t)snprintf(t, sizeof(t), "%lld", (long long)v));
}

#define RNEED(k)                                            \
	do {                                                \
		if ((size_t)(end - p) < (size_t)(k)) {      \
			r->why = "truncated msgpack value"; \
			return -1;                          \
		}                                           \
	} while (0)

static int ref_val(struct ref *r, const uint8_t **pp, const uint8_t *end,
		   int depth)
{
	const uint8_t *p = *pp;
	uint32_t n = 0, i;
	int is_map = -1; /* -1: a string */
	uint8_t c;
	double d;
	uint64_t u;
	char t[40];

	RNEED(1);
	c = *p++;
	if (c <= 0x7f) {
		ref_u64(r, c);
	} else if (c >= 0xe0) {
		ref_i64(r, (int8_t)c);
	} else if (c >= 0xa0 && c <= 0xbf) {
		n = c & 0x1f;
		goto str;
	} else if (c <= 0x8f) {
		n = c & 0x0f;
		is_map = 1;
		goto container;
	} else if (c <= 0x9f) {
		n = c & 0x0f;
		is_map = 0;
		goto container;
	} else {
		switch (c) {
		case 0xc0:
			ref_lit(r, "null");
			break;
		case 0xc2:
			ref_lit(r, "false");
			break;
		case 0xc3:
			ref_lit(r, "true");
			break;
		case 0xca: {
			float f;
			uint32_t w;
			RNEED(4);
			w = ev_rbe32(p);
			memcpy(&f, &w, 4);
			d = f;
			p += 4;
			goto flt;
		}
		case 0xcb:
			RNEED(8);
			u = ev_rbe64(p);
			memcpy(&d, &u, 8);
			p += 8;
			goto flt;
		case 0xcc:
			RNEED(1);
			ref_u64(r, *p);
			p += 1;
			break;
		case 0xcd:
			RNEED(2);
			ref_u64(r, ev_rbe16(p));
			p += 2;
			break;
		case 0xce:
			RNEED(4);
			ref_u64(r, ev_rbe32(p));
			p += 4;
			break;
		case 0xcf:
			RNEED(8);
			ref_u64(r, ev_rbe64(p));
			p += 8;
			break;
		case 0xd0:
			RNEED(1);
			ref_i64(r, (int8_t)*p);
			p += 1;
			break;
		case 0xd1:
			RNEED(2);
			ref_i64(r, (int16_t)ev_rbe16(p));
			p += 2;
			break;
		case 0xd2:
			RNEED(4);
			ref_i64(r, (int32_t)ev_rbe32(p));
			p += 4;
			break;
		case 0xd3:
			RNEED(8);
			ref_i64(r, (int64_t)ev_rbe64(p));
			p += 8;
			break;
		case 0xd9:
			RNEED(1);
			n = *p++;
			goto str;
		case 0xda:
			RNEED(2);
			n = ev_rbe16(p);
			p += 2;
			goto str;
		case 0xdb:
			RNEED(4);
			n = ev_rbe32(p);
			p += 4;
			goto str;
		case 0xdc:
		case 0xde:
			RNEED(2);
			n = ev_rbe16(p);
			p += 2;
			is_map = c == 0xde;
			goto container;
		case 0xdd:
		case 0xdf:
			RNEED(4);
			n = ev_rbe32(p);
			p += 4;
			is_map = c == 0xdf;
			goto container;
		case 0xc4:
		case 0xc5:
		case 0xc6:
			r->why = "binary value inside data or meta";
			return -1;
		case 0xc1:
			r->why = "invalid msgpack byte 0xc1";
			return -1;
		default:
			r->why = "msgpack extension value inside data or meta";
			return -1;
		}
	}
	*pp = p;
	return 0;
str:
	RNEED(n);
	if (ref_str(r, p, n) != 0)
		return -1;
	*pp = p + n;
	return 0;
flt:
	if (!isfinite(d)) {
		r->why = "non-finite float";
		return -1;
	}
	ref_put(r, t, (size_t)(ev_fmt_double(t, d) - t));
	*pp = p;
	return 0;
container:
	if (depth > EV_READ_DEPTH) {
		r->why = "nesting deeper than 66 levels";
		return -1;
	}
	if ((uint64_t)n * (is_map ? 2 : 1) > (uint64_t)(end - p)) {
		r->why = "container larger than the record";
		return -1;
	}
	ref_lit(r, is_map ? "{" : "[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			ref_lit(r, ",");
		if (is_map) {
			uint32_t kn;
			RNEED(1);
			c = *p++;
			if (c >= 0xa0 && c <= 0xbf) {
				kn = c & 0x1f;
			} else if (c == 0xd9 && end - p >= 1) {
				kn = *p++;
			} else if (c == 0xda && end - p >= 2) {
				kn = ev_rbe16(p);
				p += 2;
			} else if (c == 0xdb && end - p >= 4) {
				kn = ev_rbe32(p);
				p += 4;
			} else {
				r->why = "map key is not a string";
				return -1;
			}
			RNEED(kn);
			if (ref_str(r, p, kn) != 0)
				return -1;
			p += kn;
			ref_lit(r, ":");
		}
		if (ref_val(r, &p, end, depth + 1) != 0)
			return -1;
	}
	ref_lit(r, is_map ? "}" : "]");
	*pp = p;
	return 0;
}

/* ev_msgpack_to_json() by the oracle: 0 and the text in r->b, or -1 and
 * the message in msg */
static int ref_to_json(const uint8_t *p, size_t n, struct ref *r, char *msg,
		       size_t msgn)
{
	const uint8_t *end = p + n;

	r->b.len = 0;
	r->why = NULL;
	if (ref_val(r, &p, end, 1) != 0) {
		snprintf(msg, msgn, "invalid record: %s", r->why);
		return -1;
	}
	if (p != end) {
		snprintf(msg, msgn, "trailing bytes after msgpack value");
		return -1;
	}
	return 0;
}

/* The library and the oracle agree on the n bytes at p, copied into a
 * buffer of exactly n bytes. */
static void same_as_ref(const uint8_t *p, size_t n)
{
	uint8_t *x = malloc(n ? n : 1);
	struct ev_buf got = {0};
	struct ref r = {{0}, NULL};
	struct ev_error err;
	char msg[256];
	int rr, rg;

	assert_non_null(x);
	memcpy(x, p, n);
	rr = ref_to_json(x, n, &r, msg, sizeof(msg));
	rg = ev_msgpack_to_json(x, n, &got, &err);
	if ((rr == 0) != (rg == 0))
		fail_msg("library %d ('%s'), oracle %d ('%s')", rg,
			 rg ? err.msg : "", rr, rr ? msg : "");
	if (rr == 0 && (got.len != r.b.len || memcmp(got.p, r.b.p, got.len)))
		fail_msg("library '%.*s', oracle '%.*s'", (int)got.len,
			 (const char *)got.p, (int)r.b.len,
			 (const char *)r.b.p);
	if (rr != 0 && strcmp(err.msg, msg) != 0)
		fail_msg("library says '%s', oracle '%s'", err.msg, msg);
	ev_buf_free(&got);
	ev_buf_free(&r.b);
	free(x);
}

/* ------------------------------------------------------------- generator */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: the same values on every run */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static unsigned rndn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static void put_bytes(struct ev_buf *b, const void *p, size_t n)
{
	if (ev_buf_append(b, p, n) != 0)
		fail_msg("out of memory");
}

static void put_byte(struct ev_buf *b, unsigned c)
{
	uint8_t x = (uint8_t)c;

	put_bytes(b, &x, 1);
}

static void put_be(struct ev_buf *b, uint64_t v, int n)
{
	while (n-- > 0)
		put_byte(b, (unsigned)(v >> (8 * n)));
}

/* Text for a string: mostly ASCII, and every kind of byte JSON escapes,
 * UTF-8 of every length, and bytes that are not UTF-8. */
static void gen_text(struct ev_buf *t, size_t n)
{
	static const char *const odd[] =
		{"\"", "\\", "\n", "\t", "\x01", "\x1f", "\x7f", "/",
		 "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc2\x80",
		 "\xef\xbf\xbf",
		 /* not UTF-8: a lone continuation, 0xff, overlong, a
		  * surrogate, a cut sequence */
		 "\x80", "\xff", "\xc0\x80", "\xed\xa0\x80", "\xe2\x82"};
	unsigned mode = rndn(4);

	while (t->len < n) {
		unsigned k = rndn(100);
		if (mode == 0 || k < 90 - 20 * mode)
			put_byte(t, 'a' + rndn(26));
		else
			put_bytes(
				t, odd[k % (sizeof(odd) / sizeof(*odd))],
				strlen(odd[k % (sizeof(odd) / sizeof(*odd))]));
	}
	t->len = n; /* a sequence may be cut at the end */
}

static void gen_str(struct ev_buf *b)
{
	struct ev_buf t = {0};
	size_t n = rndn(8) == 0 ? rndn(200) : rndn(40);

	gen_text(&t, n);
	if (n < 32 && rndn(4) != 0) {
		put_byte(b, 0xa0 | (unsigned)n);
	} else if (n < 256 && rndn(3) != 0) {
		put_byte(b, 0xd9);
		put_byte(b, (unsigned)n);
	} else if (rndn(2)) {
		put_byte(b, 0xda);
		put_be(b, n, 2);
	} else {
		put_byte(b, 0xdb);
		put_be(b, n, 4);
	}
	put_bytes(b, t.p, t.len);
	ev_buf_free(&t);
}

static void gen_val(struct ev_buf *b, int depth)
{
	unsigned k = rndn(depth > 6 ? 12 : 16), n, i;
	double d;
	float f;
	uint64_t u;
	uint32_t w;

	switch (k) {
	case 0:
		put_byte(b, rndn(128)); /* positive fixint */
		break;
	case 1:
		put_byte(b, 0xe0 | rndn(32)); /* negative fixint */
		break;
	case 2: /* uint 8..64 and int 8..64, every width */
		n = rndn(8);
		put_byte(b, 0xcc + n);
		put_be(b, rnd(), 1 << (n & 3));
		break;
	case 3:
		put_byte(b, rndn(3) == 0 ? 0xc0 : 0xc2 + rndn(2));
		break;
	case 4:
		d = (double)(int64_t)rnd() / (double)(1ull << rndn(64));
		if (rndn(4) == 0)
			d = ldexp((double)(rnd() >> 11),
				  (int)rndn(2000) - 1100);
		memcpy(&u, &d, 8);
		put_byte(b, 0xcb);
		put_be(b, u, 8);
		break;
	case 5:
		f = (float)((double)(int32_t)rnd() / 1000.0);
		memcpy(&w, &f, 4);
		put_byte(b, 0xca);
		put_be(b, w, 4);
		break;
	case 6:
	case 7:
	case 8:
	case 9:
	case 10:
	case 11:
		gen_str(b);
		break;
	case 12:
	case 13: /* an array */
		n = rndn(6);
		if (rndn(4))
			put_byte(b, 0x90 | n);
		else
			put_byte(b, 0xdc), put_be(b, n, 2);
		for (i = 0; i < n; i++)
			gen_val(b, depth + 1);
		break;
	default: /* a map */
		n = rndn(6);
		if (rndn(4))
			put_byte(b, 0x80 | n);
		else
			put_byte(b, 0xde), put_be(b, n, 2);
		for (i = 0; i < n; i++) {
			gen_str(b);
			gen_val(b, depth + 1);
		}
		break;
	}
}

/* ----------------------------------------------------------------- tests */

/* Random values, whole, cut short and with a byte changed: the same text,
 * or the same message, as the oracle. */
static void test_random_values(void **state)
{
	struct ev_buf b = {0};
	int i, j;

	(void)state;
	for (i = 0; i < 20000; i++) {
		b.len = 0;
		gen_val(&b, 1);
		same_as_ref(b.p, b.len);
		for (j = 0; j < 4 && b.len > 0; j++) {
			size_t at = rndn((unsigned)b.len);
			same_as_ref(b.p, at);
			b.p[at] ^= (uint8_t)(1 + rndn(255));
			same_as_ref(b.p, b.len);
		}
	}
	ev_buf_free(&b);
}

/* A string of every length to 70 with one byte to escape or check at every
 * place (or none), followed by 0 to 20 more bytes of the value: each path
 * of the string writer, at each distance from the end of the input. */
static void test_string_every_place(void **state)
{
	static const char *const odd[] = {NULL,	  "\"",	      "\\",
					  "\x01", "\xc3\xa9", "\xff"};
	struct ev_buf b = {0};
	size_t n, at, after, k, i;

	(void)state;
	for (n = 0; n <= 70; n++)
		for (k = 0; k < sizeof(odd) / sizeof(*odd); k++)
			for (at = 0; at < (odd[k] ? n : 1); at++)
				for (after = 0; after <= 20; after++) {
					size_t ol = odd[k] ? strlen(odd[k]) : 0;
					b.len = 0;
					put_byte(&b, 0xdc); /* [str, 0...] */
					put_be(&b, 1 + after, 2);
					put_byte(&b, 0xd9);
					put_byte(&b,
						 (unsigned)(n > ol ? n : ol));
					for (i = 0; i < at; i++)
						put_byte(&b, 'a' + i % 26);
					if (ol)
						put_bytes(&b, odd[k], ol);
					for (i = at + ol; i < n; i++)
						put_byte(&b, 'A' + i % 26);
					for (i = 0; i < after; i++)
						put_byte(&b, 0);
					same_as_ref(b.p, b.len);
					/* alone, the string last in the input
					 */
					same_as_ref(b.p + 3, b.len - 3 - after);
				}
	ev_buf_free(&b);
}

/* ev_json_put_str() reads nothing past its n bytes */
static void test_put_str_exact(void **state)
{
	struct ev_buf got = {0}, t = {0};
	struct ref r = {{0}, NULL};
	size_t n;
	int i, rg, rr;

	(void)state;
	for (i = 0; i < 5000; i++) {
		char *x;
		n = rndn(60);
		t.len = 0;
		gen_text(&t, n);
		x = malloc(n ? n : 1);
		assert_non_null(x);
		memcpy(x, t.p, n);
		got.len = r.b.len = 0;
		rg = ev_json_put_str(&got, x, n);
		rr = ref_str(&r, (const uint8_t *)x, n);
		assert_int_equal(rg == 0, rr == 0);
		if (rr == 0) {
			assert_int_equal(got.len, r.b.len);
			assert_memory_equal(got.p, r.b.p, got.len);
		}
		free(x);
	}
	ev_buf_free(&got);
	ev_buf_free(&t);
	ev_buf_free(&r.b);
}

/* Nesting to the limit and one past it, arrays and maps. */
static void test_nesting_edges(void **state)
{
	struct ev_buf b = {0};
	int d, i, m;

	(void)state;
	for (m = 0; m < 2; m++)
		for (d = EV_READ_DEPTH - 2; d <= EV_READ_DEPTH + 2; d++) {
			b.len = 0;
			for (i = 0; i < d; i++) {
				put_byte(&b, m ? 0x81 : 0x92);
				if (m)
					put_bytes(&b, "\xa1k", 2);
				else
					put_byte(&b, 0x01);
			}
			put_byte(&b, 0xc0);
			same_as_ref(b.p, b.len);
			same_as_ref(b.p, b.len - 1); /* the innermost cut */
		}
	ev_buf_free(&b);
}

/* A random record (evlog(5) RECORDS): every field in its usual
 * encoding and in others, some left out. */
static void gen_record(struct ev_buf *b)
{
	uint8_t *count;
	unsigned n = 0;
	uint64_t w;

	b->len = 0;
	put_byte(b, 0x80);
#define FIELD(k) (put_byte(b, (k)), n++)
	FIELD(EV_K_ID);
	gen_str(b);
	FIELD(EV_K_TYPE);
	gen_str(b);
	if (rndn(2)) {
		FIELD(EV_K_STREAM);
		gen_str(b);
	}
	if (rndn(2)) {
		FIELD(EV_K_VERSION);
		if (rndn(2))
			put_byte(b, rndn(128));
		else
			put_byte(b, 0xcd), put_be(b, rndn(65536), 2);
	}
	FIELD(EV_K_TIME);
	switch (rndn(4)) {
	case 0: /* timestamp 32 */
		put_bytes(b, "\xd6\xff", 2);
		put_be(b, rnd(), 4);
		break;
	case 1: /* timestamp 96 */
		put_bytes(b, "\xc7\x0c\xff", 3);
		put_be(b, rndn(4) ? rndn(1000000000) : rnd(), 4);
		put_be(b, rnd() >> rndn(64), 8);
		break;
	default: /* timestamp 64, as evpub writes it; at times out of range */
		w = (uint64_t)(rndn(8) ? rndn(1000000000)
				       : 999999990 + rndn(20))
		    << 34;
		w |= rndn(8) ? rnd() >> 34 & 0xffffffffull : rnd() >> 30;
		put_bytes(b, "\xd7\xff", 2);
		put_be(b, w, 8);
		break;
	}
	if (rndn(2)) {
		FIELD(EV_K_SCHEMA);
		put_byte(b, 1 + rndn(127));
	}
	if (rndn(4) == 0) {
		FIELD(EV_K_KEY);
		gen_str(b);
	}
	if (rndn(4)) {
		FIELD(EV_K_DATA);
		if (rndn(8) == 0) {
			put_byte(b, 0xc4);
			put_byte(b, 3);
			put_bytes(b, "\x00\x01\x02", 3);
		} else {
			gen_val(b, 2);
		}
	}
	if (rndn(2)) {
		FIELD(EV_K_META);
		put_byte(b, 0x82);
		gen_str(b);
		gen_val(b, 3);
		gen_str(b);
		gen_str(b);
	}
	if (rndn(2)) {
		FIELD(EV_K_PREV);
		switch (rndn(4)) {
		case 0:
			put_byte(b, rndn(128));
			break;
		case 1:
			put_byte(b, 0xcf), put_be(b, rnd(), 8);
			break;
		default:
			put_byte(b, 0xce), put_be(b, rnd(), 4);
		}
	}
#undef FIELD
	count = b->p;
	*count = (uint8_t)(0x80 | n);
}

/* ev_record_to_json() against decode and ev_event_to_json(), on random
 * records, whole, cut short and with a byte changed: both accept it, and
 * write the same text, or both refuse it. */
static void test_records(void **state)
{
	struct ev_buf b = {0}, a = {0}, c = {0};
	struct ev_event ev;
	struct ev_error err;
	size_t at;
	uint8_t *x;
	int i, j, ra, rc;

	(void)state;
	for (i = 0; i < 30000; i++) {
		gen_record(&b);
		for (j = 0; j < 3; j++) {
			size_t n = b.len;
			if (j == 1) {
				n = rndn((unsigned)b.len);
			} else if (j == 2) {
				at = rndn((unsigned)b.len);
				b.p[at] ^= (uint8_t)(1 + rndn(255));
			}
			x = malloc(n ? n : 1);
			assert_non_null(x);
			memcpy(x, b.p, n);
			a.len = c.len = 0;
			ra = ev_record_to_json(x, n, 7, &a, &err);
			rc = ev_event_decode(x, n, &ev, &err);
			if (rc == 0)
				rc = ev_event_check_deep(&ev, &err);
			if (rc == 0) {
				ev.offset = 7;
				rc = ev_event_to_json(&ev, &c, 0, &err);
			}
			if ((ra == 0) != (rc == 0))
				fail_msg("record %d.%d: ev_record_to_json %d, "
					 "decode %d ('%s')",
					 i, j, ra, rc, err.msg);
			if (ra == 0 &&
			    (a.len != c.len || memcmp(a.p, c.p, a.len) != 0))
				fail_msg("record %d.%d:\n%.*s\n%.*s", i, j,
					 (int)a.len, a.p, (int)c.len, c.p);
			free(x);
		}
	}
	ev_buf_free(&a);
	ev_buf_free(&b);
	ev_buf_free(&c);
}

/* Integers: ev_fmt_u64 and ev_fmt_i64 as printf at every edge. */
static void test_integers_printf(void **state)
{
	char got[32], want[32];
	uint64_t v, p;
	int i, s;

	(void)state;
	for (i = 0; i < 200000; i++) {
		v = rnd() >> rndn(64);
		if (i < 64 * 3) { /* 2^k - 1, 2^k, 2^k + 1 */
			v = (1ull << (i / 3)) + (uint64_t)(i % 3) - 1;
		} else if (i < 64 * 3 + 20 * 3) {
			for (p = 1, s = 0; s < (i - 64 * 3) / 3; s++)
				p *= 10; /* 10^k - 1, 10^k, 10^k + 1 */
			v = p + (uint64_t)((i - 64 * 3) % 3) - 1;
		}
		*ev_fmt_u64(got, v) = '\0';
		snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
		assert_string_equal(got, want);
		*ev_fmt_i64(got, (int64_t)v) = '\0';
		snprintf(want, sizeof(want), "%lld", (long long)(int64_t)v);
		assert_string_equal(got, want);
	}
	*ev_fmt_u64(got, UINT64_MAX) = '\0';
	assert_string_equal(got, "18446744073709551615");
	*ev_fmt_i64(got, INT64_MIN) = '\0';
	assert_string_equal(got, "-9223372036854775808");
}

/* ev_time_format() as gmtime_r() and strftime() over the whole range of
 * ev_time_t, consecutive times in one second (its cache) and the
 * fraction at 3, 6 or 9 digits. */
static void test_time_format(void **state)
{
	char got[40], want[64], frac[16];
	ev_time_t t = 0;
	int64_t sec, ns;
	struct tm tm;
	time_t tt;
	int i;

	(void)state;
	for (i = 0; i < 300000; i++) {
		if (i % 3 == 0)
			t = (ev_time_t)rnd();
		else
			t += (ev_time_t)rndn(
				1000000000); /* mostly the same second */
		if (t == INT64_MIN)
			continue;
		if (i % 7 == 0)
			t -= t % 1000000; /* milliseconds */
		else if (i % 7 == 1)
			t -= t % 1000; /* microseconds */
		sec = t / 1000000000;
		ns = t % 1000000000;
		if (ns < 0)
			ns += 1000000000, sec--;
		tt = (time_t)sec;
		assert_non_null(gmtime_r(&tt, &tm));
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		if (ns % 1000000 == 0)
			snprintf(frac, sizeof(frac), ".%03lldZ",
				 (long long)(ns / 1000000));
		else if (ns % 1000 == 0)
			snprintf(frac, sizeof(frac), ".%06lldZ",
				 (long long)(ns / 1000));
		else
			snprintf(frac, sizeof(frac), ".%09lldZ", (long long)ns);
		strcat(want, frac);
		assert_int_equal(ev_time_format(t, got), strlen(want));
		assert_string_equal(got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_values),
		cmocka_unit_test(test_string_every_place),
		cmocka_unit_test(test_put_str_exact),
		cmocka_unit_test(test_nesting_edges),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_integers_printf),
		cmocka_unit_test(test_time_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
