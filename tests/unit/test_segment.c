/*
 * test_segment.c - lib/segment.c: the byte layouts of evlog(5) SEGMENTS
 * and BATCHES.  Segment and batch headers encode and decode, every
 * single-bit flip of a batch header is caught, feature flags behave as
 * the format requires, the zstd codec refuses frames that disagree with
 * their header, and record framing rejects what it must.
 */
#include <fcntl.h>

#include <zstd.h>

#include "unit.h"
#include "alloc_track.h"

static const uint8_t seg_id[16] = {0, 1, 2,  3,	 4,  5,	 6,  7,
				   8, 9, 10, 11, 12, 13, 14, 15};

static void fix_crc(uint8_t *h)
{
	ev_put32(h + 60, ev_crc32c(0, h, 60));
}

/* ------------------------------------------------------------ segments */

/* the codec ev_codec_compress() chose */
static uint8_t codec_out;

static void test_seghdr_roundtrip(void **state)
{
	uint8_t h[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	struct ev_error err;
	int i;

	(void)state;
	ev_seghdr_encode(h, 12345, 0x1122334455667788ull, seg_id);
	assert_memory_equal(h, ev_seg_magic, 8);
	assert_int_equal(ev_get16(h + 8), EV_FORMAT_VERSION);
	assert_int_equal(ev_get16(h + 10), EV_SEGHDR_SIZE);
	assert_int_equal(ev_get32(h + 12), 0);
	assert_int_equal(ev_get32(h + 16), 0);
	/* reserved fields are written as zero */
	for (i = 20; i < 24; i++)
		assert_int_equal(h[i], 0);
	for (i = 56; i < 60; i++)
		assert_int_equal(h[i], 0);
	/* little-endian fields, never a native struct */
	assert_int_equal(h[24], 0x39);
	assert_int_equal(h[25], 0x30);
	assert_int_equal(h[32], 0x88);
	assert_int_equal(h[39], 0x11);
	assert_int_equal(ev_get32(h + 60), ev_crc32c(0, h, 60));
	memset(&sh, 0xaa, sizeof(sh));
	assert_int_equal(ev_seghdr_decode(h, sizeof(h), &sh, "s", &err), 0);
	assert_int_equal(sh.version, EV_FORMAT_VERSION);
	assert_int_equal(sh.compat, 0);
	assert_int_equal(sh.incompat, 0);
	assert_true(sh.base == 12345);
	assert_true(sh.salt == 0x1122334455667788ull);
	assert_memory_equal(sh.id, seg_id, 16);
}

static void test_seghdr_bad_magic(void **state)
{
	uint8_t h[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	struct ev_error err;
	int i;

	(void)state;
	for (i = 0; i < 8; i++) {
		ev_seghdr_encode(h, 0, 1, seg_id);
		h[i] ^= 0x20;
		fix_crc(h); /* the magic alone is wrong */
		assert_int_equal(ev_seghdr_decode(h, sizeof(h), &sh, "x.seg",
						  &err),
				 EV_EDATA);
		assert_non_null(strstr(err.msg, "bad magic"));
		assert_non_null(strstr(err.msg, "'x.seg'"));
	}
}

/* every single-bit flip of a segment header is refused */
static void test_seghdr_bit_flips(void **state)
{
	uint8_t h[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	struct ev_error err;
	int bit;

	(void)state;
	for (bit = 0; bit < EV_SEGHDR_SIZE * 8; bit++) {
		ev_seghdr_encode(h, 7, 99, seg_id);
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (ev_seghdr_decode(h, sizeof(h), &sh, "s", &err) != EV_EDATA)
			fail_msg("flip of bit %d accepted", bit);
		if (bit >= 64 && strstr(err.msg, "checksum") == NULL)
			fail_msg("flip of bit %d: '%s'", bit, err.msg);
	}
}

static void test_seghdr_incompatible_flag(void **state)
{
	/* bit 0 is the gaps feature (evlog(5) Gaps), bit 1 packed */
	static const uint32_t flags[] = {4u, 0x80u, 0x10000u, 0x80000000u};
	uint8_t h[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	struct ev_error err;
	char want[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		ev_seghdr_encode(h, 0, 1, seg_id);
		ev_put32(h + 16, flags[i]);
		fix_crc(h);
		assert_int_equal(ev_seghdr_decode(h, sizeof(h), &sh, "00.seg",
						  &err),
				 EV_EDATA);
		snprintf(want, sizeof(want), "0x%08x", flags[i]);
		if (strstr(err.msg, "incompatible") == NULL ||
		    strstr(err.msg, want) == NULL ||
		    strstr(err.msg, "'00.seg'") == NULL)
			fail_msg("unclear refusal: '%s'", err.msg);
	}
}

static void test_seghdr_compatible_flag(void **state)
{
	uint8_t h[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	struct ev_error err;

	(void)state;
	ev_seghdr_encode(h, 64, 5, seg_id);
	ev_put32(h + 12, 0x80000001u);
	fix_crc(h);
	assert_int_equal(ev_seghdr_decode(h, sizeof(h), &sh, "s", &err), 0);
	assert_int_equal(sh.compat, 0x80000001u);
	assert_true(sh.base == 64);
}

static void test_seghdr_other_refusals(void **state)
{
	uint8_t h[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	struct ev_error err;

	(void)state;
	/* a later format version */
	ev_seghdr_encode(h, 0, 1, seg_id);
	ev_put16(h + 8, 2);
	fix_crc(h);
	assert_int_equal(ev_seghdr_decode(h, sizeof(h), &sh, "s", &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "version 2"));
	/* a different header size */
	ev_seghdr_encode(h, 0, 1, seg_id);
	ev_put16(h + 10, 128);
	fix_crc(h);
	assert_int_equal(ev_seghdr_decode(h, sizeof(h), &sh, "s", &err),
			 EV_EDATA);
	/* shorter than a header */
	ev_seghdr_encode(h, 0, 1, seg_id);
	assert_int_equal(ev_seghdr_decode(h, EV_SEGHDR_SIZE - 1, &sh, "s",
					  &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "shorter"));
	assert_int_equal(ev_seghdr_decode(h, 0, &sh, "s", &err), EV_EDATA);
}

/* ------------------------------------------------------------ batches */

static struct ev_batchhdr sample_batch(void)
{
	struct ev_batchhdr b;

	memset(&b, 0, sizeof(b));
	b.stored_len = 1000;
	b.count = 10;
	b.raw_len = 4000;
	b.payload_crc = 0xdeadbeef;
	b.base = 1000000;
	b.salt = 0x0102030405060708ull;
	b.min_time = 1700000000LL * 1000000000;
	b.max_time = 1700000001LL * 1000000000;
	b.append_time = 1700000002LL * 1000000000;
	b.codec = EV_CODEC_ZSTD;
	return b;
}

static void test_batchhdr_roundtrip(void **state)
{
	struct ev_batchhdr b = sample_batch(), d;
	uint8_t h[EV_BATCHHDR_SIZE];
	const char *why = NULL;

	(void)state;
	ev_batchhdr_encode(h, &b);
	assert_int_equal(ev_get32(h + 60), ev_crc32c(0, h, 60));
	assert_int_equal(h[45], 0);
	assert_int_equal(ev_get16(h + 46), 0);
	memset(&d, 0x55, sizeof(d));
	assert_int_equal(ev_batchhdr_decode(h, b.salt, &d, &why), 0);
	assert_int_equal(d.stored_len, b.stored_len);
	assert_int_equal(d.count, b.count);
	assert_int_equal(d.raw_len, b.raw_len);
	assert_int_equal(d.payload_crc, b.payload_crc);
	assert_true(d.base == b.base);
	assert_true(d.salt == b.salt);
	assert_true(d.min_time == b.min_time);
	assert_true(d.max_time == b.max_time);
	assert_true(d.append_time == b.append_time);
	assert_int_equal(d.codec, b.codec);
	/* negative times survive */
	b.min_time = -5;
	b.max_time = -1;
	ev_batchhdr_encode(h, &b);
	assert_int_equal(ev_batchhdr_decode(h, b.salt, &d, &why), 0);
	assert_true(d.min_time == -5 && d.max_time == -1);
}

/* every single-bit flip anywhere in the 64 bytes is detected */
static void test_batchhdr_bit_flips(void **state)
{
	struct ev_batchhdr b = sample_batch(), d;
	uint8_t h[EV_BATCHHDR_SIZE];
	const char *why;
	int bit;

	(void)state;
	for (bit = 0; bit < EV_BATCHHDR_SIZE * 8; bit++) {
		ev_batchhdr_encode(h, &b);
		h[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		why = NULL;
		if (ev_batchhdr_decode(h, b.salt, &d, &why) != EV_EDATA)
			fail_msg("flip of bit %d (byte %d) not detected", bit,
				 bit / 8);
		assert_non_null(why);
	}
}

static void test_batchhdr_salt_mismatch(void **state)
{
	struct ev_batchhdr b = sample_batch(), d;
	uint8_t h[EV_BATCHHDR_SIZE];
	const char *why = NULL;

	(void)state;
	ev_batchhdr_encode(h, &b);
	assert_int_equal(ev_batchhdr_decode(h, b.salt ^ 1, &d, &why), EV_EDATA);
	assert_non_null(strstr(why, "salt"));
}

/* a header with a consistent CRC whose fields break a rule */
/* A header that begins in the last bytes of a sector whose new content a
 * power cut lost (zeros there), the rest of it in the next sector: a torn
 * tail, not damage; a flipped byte there instead is damage. */
static void test_torn_header_at_a_sector_end(void **state)
{
	struct ev_batchhdr b = sample_batch();
	uint8_t file[2048], hdr[EV_BATCHHDR_SIZE];
	char *dir = unit_tmpdir(), path[512];
	size_t k;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/torn.seg", dir);
	for (k = 1; k < 16; k++) {
		uint64_t pos = 512 - k;
		memset(file, 0xab, sizeof(file));
		b.stored_len = 1000;
		ev_batchhdr_encode(hdr, &b);
		memcpy(file + pos, hdr, sizeof(hdr));
		memset(file + pos, 0, k); /* the sector's new bytes lost */
		if (hdr[0] == 0 && k == 1)
			continue; /* nothing was lost */
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, file, sizeof(file)),
				 (ssize_t)sizeof(file));
		if (ev_segment_torn(fd, pos, sizeof(file), b.salt) != 1)
			fail_msg("k=%zu: not torn", k);
		/* the same header with a byte flipped: damage */
		memcpy(file + pos, hdr, sizeof(hdr));
		file[pos + 20] ^= 0x10;
		assert_int_equal(pwrite(fd, file, sizeof(file), 0),
				 (ssize_t)sizeof(file));
		assert_int_equal(ev_segment_torn(fd, pos, sizeof(file), b.salt),
				 0);
		close(fd);
	}
}

static int decode_modified(void (*mod)(struct ev_batchhdr *), const char **why)
{
	struct ev_batchhdr b = sample_batch(), d;
	uint8_t h[EV_BATCHHDR_SIZE];

	mod(&b);
	ev_batchhdr_encode(h, &b);
	*why = NULL;
	return ev_batchhdr_decode(h, b.salt, &d, why);
}

static void m_codec3(struct ev_batchhdr *b)
{
	b->codec = 3; /* 2 is packed */
}
static void m_codecff(struct ev_batchhdr *b)
{
	b->codec = 0xff;
}
static void m_raw_over(struct ev_batchhdr *b)
{
	b->raw_len = EV_MAX_BATCH + 1;
}
static void m_raw_max(struct ev_batchhdr *b)
{
	b->raw_len = EV_MAX_BATCH;
}
static void m_raw_zero(struct ev_batchhdr *b)
{
	b->raw_len = 0;
}
static void m_stored_over(struct ev_batchhdr *b)
{
	b->stored_len = EV_MAX_STORED + 1;
}
static void m_stored_max(struct ev_batchhdr *b)
{
	b->stored_len = EV_MAX_STORED;
}
static void m_stored_zero(struct ev_batchhdr *b)
{
	b->stored_len = 0;
}
static void m_stored_huge(struct ev_batchhdr *b)
{
	b->stored_len = 0xffffffffu;
}
static void m_count_zero(struct ev_batchhdr *b)
{
	b->count = 0;
}
static void m_count_over(struct ev_batchhdr *b)
{
	b->count = b->raw_len / 2 + 1;
}
static void m_none_mismatch(struct ev_batchhdr *b)
{
	b->codec = EV_CODEC_NONE;
	b->stored_len = b->raw_len - 1;
}
static void m_none_ok(struct ev_batchhdr *b)
{
	b->codec = EV_CODEC_NONE;
	b->stored_len = b->raw_len;
}
static void m_times(struct ev_batchhdr *b)
{
	b->min_time = b->max_time + 1;
}
static void m_base(struct ev_batchhdr *b)
{
	b->base = UINT64_MAX - 5;
}

static void test_batchhdr_field_rules(void **state)
{
	static const struct {
		const char *name;
		void (*mod)(struct ev_batchhdr *);
		int ok;
		const char *why;
	} cases[] = {
		{"codec 3", m_codec3, 0, "codec"},
		{"codec 0xff", m_codecff, 0, "codec"},
		{"raw over the limit", m_raw_over, 0, "length"},
		{"raw at the limit", m_raw_max, 1, NULL},
		{"raw zero", m_raw_zero, 0, "length"},
		{"stored over the limit", m_stored_over, 0, "stored length"},
		{"stored at the limit", m_stored_max, 1, NULL},
		{"stored zero", m_stored_zero, 0, "stored length"},
		{"stored 4 GB", m_stored_huge, 0, "stored length"},
		{"count zero", m_count_zero, 0, "count"},
		{"count over half the bytes", m_count_over, 0, "count"},
		{"uncompressed with a different stored length", m_none_mismatch,
		 0, "stored length"},
		{"uncompressed", m_none_ok, 1, NULL},
		{"inverted times", m_times, 0, "time"},
		{"offsets past 2^64", m_base, 0, "offset"},
	};
	const char *why;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = decode_modified(cases[i].mod, &why);
		if (cases[i].ok && r != 0)
			fail_msg("%s: refused: %s", cases[i].name, why);
		if (!cases[i].ok && (r != EV_EDATA || why == NULL ||
				     strstr(why, cases[i].why) == NULL))
			fail_msg("%s: got %d '%s'", cases[i].name, r,
				 why ? why : "");
	}
}

static void test_batchhdr_reserved(void **state)
{
	struct ev_batchhdr b = sample_batch(), d;
	uint8_t h[EV_BATCHHDR_SIZE];
	const char *why;
	int i;

	(void)state;
	for (i = 45; i < 48; i++) {
		ev_batchhdr_encode(h, &b);
		h[i] = 1;
		fix_crc(h);
		why = NULL;
		assert_int_equal(ev_batchhdr_decode(h, b.salt, &d, &why),
				 EV_EDATA);
		/* bit 0 of the flags marks a gap, whose fields a data
		 * batch does not have */
		assert_non_null(
			strstr(why, i == 46 ? "gap marker" : "reserved"));
	}
}

/* ------------------------------------------------------------ codec */

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	size_t i;

	/* compressible but not trivial */
	for (i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)("abcdefgh{}:,\"0123"[(seed >> 33) % 17]);
	}
}

static void test_codec_roundtrip(void **state)
{
	static const size_t sizes[] = {1, 100, 4096, 100000, 1u << 20};
	static const int levels[] = {1, 3, 19};
	struct ev_codec *c = ev_codec_new();
	struct ev_buf out = {0}, raw = {0};
	struct ev_batchhdr h;
	struct ev_error err;
	const char *why;
	uint8_t *src;
	size_t i, l;

	(void)state;
	assert_non_null(c);
	src = malloc(1u << 20);
	assert_non_null(src);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill(src, sizes[i], i);
		for (l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
			if (levels[l] == 19 && sizes[i] > 100000)
				continue; /* slow and adds nothing */
			assert_int_equal(ev_codec_compress(c, levels[l], 0, src,
							   sizes[i], &out,
							   &codec_out, &err),
					 0);
			memset(&h, 0, sizeof(h));
			h.codec = EV_CODEC_ZSTD;
			h.raw_len = (uint32_t)sizes[i];
			h.stored_len = (uint32_t)out.len;
			why = NULL;
			if (ev_codec_decode(c, &h, out.p, &raw, &why) != 0)
				fail_msg("%zu bytes at level %d: %s", sizes[i],
					 levels[l], why);
			assert_int_equal(raw.len, sizes[i]);
			assert_memory_equal(raw.p, src, sizes[i]);
		}
	}
	/* stored uncompressed: a copy */
	memset(&h, 0, sizeof(h));
	h.codec = EV_CODEC_NONE;
	h.raw_len = h.stored_len = 100;
	assert_int_equal(ev_codec_decode(c, &h, src, &raw, &why), 0);
	assert_int_equal(raw.len, 100);
	assert_memory_equal(raw.p, src, 100);
	free(src);
	ev_buf_free(&out);
	ev_buf_free(&raw);
	ev_codec_free(c);
	ev_codec_free(NULL);
}

/*
 * Salvage: a zstd frame cut short, or damaged in its last part, still
 * gives the bytes its first blocks decode to; never more than the cap,
 * and never bytes it did not decode.
 */
static void test_codec_salvage(void **state)
{
	struct ev_codec *c = ev_codec_new();
	struct ev_buf out = {0}, raw = {0};
	struct ev_error err;
	size_t n = 600000, cut;
	uint8_t *src = malloc(n);

	(void)state;
	assert_non_null(c);
	assert_non_null(src);
	fill(src, n, 3);
	assert_int_equal(ev_codec_compress(c, 1, 0, src, n, &out, &codec_out,
					   &err),
			 0);
	/* whole: all of it */
	assert_int_equal(ev_codec_salvage(c, EV_CODEC_ZSTD, out.p, out.len, n,
					  &raw),
			 0);
	assert_int_equal(raw.len, n);
	assert_memory_equal(raw.p, src, n);
	/* the cap holds */
	assert_int_equal(ev_codec_salvage(c, EV_CODEC_ZSTD, out.p, out.len,
					  1000, &raw),
			 0);
	assert_int_equal(raw.len, 1000);
	assert_memory_equal(raw.p, src, 1000);
	/* cut after its first blocks (128 KiB each): a prefix, at least
	 * the first block */
	cut = out.len - out.len / 4;
	assert_int_equal(ev_codec_salvage(c, EV_CODEC_ZSTD, out.p, cut, n,
					  &raw),
			 0);
	assert_true(raw.len >= 131072 && raw.len < n);
	assert_memory_equal(raw.p, src, raw.len);
	/* not a frame at all: nothing */
	memset(out.p, 0, 16);
	assert_int_equal(ev_codec_salvage(c, EV_CODEC_ZSTD, out.p, out.len, n,
					  &raw),
			 0);
	assert_int_equal(raw.len, 0);
	assert_int_equal(ev_codec_salvage(c, EV_CODEC_ZSTD, out.p, 0, n, &raw),
			 0);
	assert_int_equal(raw.len, 0);
	free(src);
	ev_buf_free(&out);
	ev_buf_free(&raw);
	ev_codec_free(c);
}

/* a buffer of n bytes: noise, with the three patterns of the packed
 * form (evlog(5) Batches, codec 2) and lookalikes that must stay as
 * they are, at places that depend on seed */
static void fill_patterns(uint8_t *p, size_t n, unsigned seed)
{
	static const char *const bits[] = {
		"\xd9\x24"
		"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0ff",
		"\xd9\x24"
		"0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0FF", /* upper */
		"\xd9\x24"
		"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f", /* short */
		"\xd9\x24"
		"0f1e2d3c4b5a-4978-8695-a4b3c2d1e0ffaa", /* dash */
		"\xba"
		"01HK153X0XGJ19F7GXJCX0XDA3",
		"\xba"
		"7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
		"\xba"
		"00000000000000000000000000",
		"\xba"
		"8ZZZZZZZZZZZZZZZZZZZZZZZZZ", /* past 128 bits */
		"\xba"
		"01hk153x0xgj19f7gxjcx0xda3", /* lower case */
		"\xba"
		"01HK153X0XGJ19F7GXJCX0XDAU", /* not base 32 */
		"\xd7\xff\x00\x00\x00\x00\x65\x92\x00\x00",
		"\xd7\xff\xff\xff\xff\xff\xff\xff\xff\xff",
		"\xd7\xfe",
		"\xd9",
		"\xba",
		"\xd7",
	};
	size_t i = 0, k;
	uint32_t x = seed * 2654435761u + 1;

	while (i < n) {
		x = x * 1103515245u + 12345u;
		if ((x >> 16) % 3 == 0) {
			const char *b = bits[(x >> 8) %
					     (sizeof(bits) / sizeof(bits[0]))];
			size_t len = b[0] == '\xd7' && b[1] == '\xff'
					     ? 10
					     : strlen(b);
			for (k = 0; k < len && i < n; k++)
				p[i++] = (uint8_t)b[k];
		} else {
			p[i++] = (uint8_t)(x >> 24);
		}
	}
}

static void test_pack_roundtrip(void **state)
{
	static const size_t sizes[] = {1, 9, 10, 38, 100, 4096, 300000};
	struct ev_buf pk = {0}, out = {0}, raw = {0};
	struct ev_codec *c = ev_codec_new();
	struct ev_batchhdr h;
	struct ev_error err;
	const char *why;
	uint8_t *src = malloc(300000), *back = malloc(300000);
	size_t i;
	unsigned seed;
	int r;

	(void)state;
	assert_non_null(src);
	assert_non_null(back);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (seed = 0; seed < 20; seed++) {
			fill_patterns(src, sizes[i], seed);
			r = ev_pack(src, sizes[i], &pk);
			assert_true(r == 0 || r == 1);
			if (r == 0)
				continue;
			assert_int_equal(ev_unpacked_len(pk.p, pk.len),
					 (long long)sizes[i]);
			assert_int_equal(ev_unpack(pk.p, pk.len, back,
						   sizes[i]),
					 0);
			assert_memory_equal(back, src, sizes[i]);
			/* one byte more or less is not this payload */
			assert_int_equal(ev_unpack(pk.p, pk.len, back,
						   sizes[i] - 1),
					 -1);
		}
	}
	/* nothing to pack: 0, and the codec stays 1 */
	memset(src, 'a', 1000);
	assert_int_equal(ev_pack(src, 1000, &pk), 0);
	assert_int_equal(ev_codec_compress(c, 1, 1, src, 1000, &out, &codec_out,
					   &err),
			 0);
	assert_int_equal(codec_out, EV_CODEC_ZSTD);
	/* through the codec: 2, and back */
	fill_patterns(src, 300000, 7);
	assert_int_equal(ev_codec_compress(c, 1, 1, src, 300000, &out,
					   &codec_out, &err),
			 0);
	assert_int_equal(codec_out, EV_CODEC_PACKED);
	memset(&h, 0, sizeof(h));
	h.codec = EV_CODEC_PACKED;
	h.raw_len = 300000;
	h.stored_len = (uint32_t)out.len;
	why = NULL;
	if (ev_codec_decode(c, &h, out.p, &raw, &why) != 0)
		fail_msg("packed: %s", why);
	assert_int_equal(raw.len, 300000);
	assert_memory_equal(raw.p, src, 300000);
	/* salvage gives it whole, as codec 2 or as a frame of either */
	assert_int_equal(ev_codec_salvage(c, EV_CODEC_PACKED, out.p, out.len,
					  300000, &raw),
			 0);
	assert_int_equal(raw.len, 300000);
	assert_memory_equal(raw.p, src, 300000);
	assert_int_equal(ev_codec_salvage(c, EV_CODEC_ZSTD_ANY, out.p, out.len,
					  EV_MAX_BATCH, &raw),
			 0);
	assert_int_equal(raw.len, 300000);
	assert_memory_equal(raw.p, src, 300000);
	/* and nothing when the frame is cut */
	assert_int_equal(ev_codec_salvage(c, EV_CODEC_PACKED, out.p,
					  out.len - 10, 300000, &raw),
			 0);
	assert_int_equal(raw.len, 0);
	/* a header that says another length, or codec 1: damage */
	h.raw_len = 299999;
	assert_int_equal(ev_codec_decode(c, &h, out.p, &raw, &why), EV_EDATA);
	assert_string_equal(why, "packed payload does not unpack");
	h.codec = EV_CODEC_ZSTD;
	h.raw_len = 300000;
	assert_int_equal(ev_codec_decode(c, &h, out.p, &raw, &why), EV_EDATA);
	/* a frame content size at or past the uncompressed length */
	assert_int_equal(ev_codec_compress(c, 1, 0, src, 1000, &out, &codec_out,
					   &err),
			 0);
	h.codec = EV_CODEC_PACKED;
	h.raw_len = 1000;
	h.stored_len = (uint32_t)out.len;
	assert_int_equal(ev_codec_decode(c, &h, out.p, &raw, &why), EV_EDATA);
	assert_string_equal(why,
			    "zstd frame size does not match the batch header");
	free(src);
	free(back);
	ev_buf_free(&pk);
	ev_buf_free(&out);
	ev_buf_free(&raw);
	ev_codec_free(c);
}

/* Every byte value at every place of a UUID (36 lowercase hex digits and
 * dashes in a str8) and a ULID (26 of Crockford's base 32 in a fixstr):
 * packed exactly when the place allows it, and unpacked to the same
 * bytes (the parsers read 8 digits at a time). */
static void test_pack_every_character(void **state)
{
	static const char uuid[] = "0189abcd-ef01-7234-8567-89abcdef0123";
	static const char ulid[] = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
	static const char crock[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	struct ev_buf pk = {0};
	uint8_t in[38], back[38];
	size_t n;
	int pos, c, valid, packed = 0;

	(void)state;
	for (pos = 0; pos < 36 + 26; pos++) {
		for (c = 0; c < 256; c++) {
			if (pos < 36) {
				in[0] = 0xd9;
				in[1] = 36;
				memcpy(in + 2, uuid, 36);
				in[2 + pos] = (uint8_t)c;
				n = 38;
				if (pos == 8 || pos == 13 || pos == 18 ||
				    pos == 23)
					valid = c == '-';
				else
					valid = (c >= '0' && c <= '9') ||
						(c >= 'a' && c <= 'f');
			} else {
				in[0] = 0xba;
				memcpy(in + 1, ulid, 26);
				in[1 + pos - 36] = (uint8_t)c;
				n = 27;
				if (pos == 36)
					valid = c >= '0' && c <= '7';
				else
					valid = c != 0 &&
						strchr(crock, c) != NULL;
			}
			if (ev_pack(in, n, &pk) != valid)
				fail_msg("place %d, byte 0x%02x: packed %d",
					 pos, c, !valid);
			if (!valid)
				continue;
			packed++;
			assert_int_equal(ev_unpack(pk.p, pk.len, back, n), 0);
			assert_memory_equal(back, in, n);
		}
	}
	/* 32 places of 16 digits and 4 dashes; 8 first characters and 25
	 * places of 32 */
	assert_int_equal(packed, 32 * 16 + 4 + 8 + 25 * 32);
	ev_buf_free(&pk);
}

/* Any change to a packed form unpacks to n bytes or is refused: never a
 * read or a write out of bounds (run under ASan). */
static void test_unpack_hostile(void **state)
{
	struct ev_buf pk = {0};
	uint8_t src[2000], back[2000], *m;
	size_t i, n = sizeof(src);
	int bit;

	(void)state;
	fill_patterns(src, n, 3);
	assert_int_equal(ev_pack(src, n, &pk), 1);
	m = malloc(pk.len);
	assert_non_null(m);
	for (i = 0; i < pk.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(m, pk.p, pk.len);
			m[i] ^= (uint8_t)(1u << bit);
			if (ev_unpack(m, pk.len, back, n) == 0 &&
			    ev_unpacked_len(m, pk.len) != (long long)n)
				fail_msg("byte %zu bit %d: unpacked to a "
					 "length it does not say",
					 i, bit);
		}
	}
	/* cut anywhere: refused */
	for (i = 0; i < pk.len; i++)
		assert_int_equal(ev_unpack(pk.p, i, back, n), -1);
	/* huge section lengths */
	memcpy(m, pk.p, pk.len);
	ev_put32(m + 12, 0xffffffffu);
	assert_int_equal(ev_unpack(m, pk.len, back, n), -1);
	assert_int_equal(ev_unpacked_len(m, pk.len), -1);
	memcpy(m, pk.p, pk.len);
	ev_put32(m, 0xfffffff0u);
	assert_int_equal(ev_unpack(m, pk.len, back, n), -1);
	free(m);
	ev_buf_free(&pk);
}

static void test_path_in_lost_found(void **state)
{
	(void)state;
	assert_true(ev_path_in_lost_found("L/lost+found/x.seg"));
	assert_true(ev_path_in_lost_found("/a/b/lost+found//x"));
	assert_true(ev_path_in_lost_found("lost+found/x"));
	assert_false(ev_path_in_lost_found("x.seg"));
	assert_false(ev_path_in_lost_found("L/x.seg"));
	assert_false(ev_path_in_lost_found("L/not-lost+found/x"));
	assert_false(ev_path_in_lost_found("L/lost+found"));
	assert_false(ev_path_in_lost_found("/x"));
}

/* frames that disagree with the header are refused */
static void test_codec_rejects_mismatch(void **state)
{
	struct ev_codec *c = ev_codec_new();
	struct ev_buf out = {0}, raw = {0}, two = {0};
	struct ev_batchhdr h;
	struct ev_error err;
	const char *why;
	uint8_t src[5000];
	ZSTD_CCtx *cc;
	size_t n;

	(void)state;
	fill(src, sizeof(src), 42);
	assert_int_equal(ev_codec_compress(c, 1, 0, src, sizeof(src), &out,
					   &codec_out, &err),
			 0);
	memset(&h, 0, sizeof(h));
	h.codec = EV_CODEC_ZSTD;
	h.stored_len = (uint32_t)out.len;
	/* declared uncompressed size differs from the frame's */
	h.raw_len = sizeof(src) + 1;
	why = NULL;
	assert_int_equal(ev_codec_decode(c, &h, out.p, &raw, &why), EV_EDATA);
	assert_non_null(strstr(why, "size"));
	h.raw_len = sizeof(src) - 1;
	assert_int_equal(ev_codec_decode(c, &h, out.p, &raw, &why), EV_EDATA);
	/* stored length longer than the frame (trailing bytes) */
	h.raw_len = sizeof(src);
	assert_int_equal(ev_buf_append(&two, out.p, out.len), 0);
	assert_int_equal(ev_buf_append(&two, "\0\0\0\0", 4), 0);
	h.stored_len = (uint32_t)two.len;
	assert_int_equal(ev_codec_decode(c, &h, two.p, &raw, &why), EV_EDATA);
	/* two whole frames where the header promises one */
	two.len = 0;
	assert_int_equal(ev_codec_compress(c, 1, 0, src, 2500, &out, &codec_out,
					   &err),
			 0);
	assert_int_equal(ev_buf_append(&two, out.p, out.len), 0);
	assert_int_equal(ev_codec_compress(c, 1, 0, src + 2500, 2500, &out,
					   &codec_out, &err),
			 0);
	assert_int_equal(ev_buf_append(&two, out.p, out.len), 0);
	h.stored_len = (uint32_t)two.len;
	assert_int_equal(ev_codec_decode(c, &h, two.p, &raw, &why), EV_EDATA);
	/* stored length shorter than the frame */
	assert_int_equal(ev_codec_compress(c, 1, 0, src, sizeof(src), &out,
					   &codec_out, &err),
			 0);
	h.stored_len = (uint32_t)out.len - 1;
	assert_int_equal(ev_codec_decode(c, &h, out.p, &raw, &why), EV_EDATA);
	/* a frame that does not declare its content size */
	cc = ZSTD_createCCtx();
	assert_non_null(cc);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
	ev_buf_reserve(&two, ZSTD_compressBound(sizeof(src)));
	{
		ZSTD_inBuffer in = {src, sizeof(src), 0};
		ZSTD_outBuffer ob = {two.p, two.cap, 0};
		assert_int_equal(ZSTD_compressStream2(cc, &ob, &in, ZSTD_e_end),
				 0);
		n = ob.pos;
	}
	ZSTD_freeCCtx(cc);
	assert_true(ZSTD_getFrameContentSize(two.p, n) ==
		    ZSTD_CONTENTSIZE_UNKNOWN);
	h.stored_len = (uint32_t)n;
	h.raw_len = sizeof(src);
	assert_int_equal(ev_codec_decode(c, &h, two.p, &raw, &why), EV_EDATA);
	/* garbage */
	memset(two.p, 0x5a, 100);
	h.stored_len = 100;
	assert_int_equal(ev_codec_decode(c, &h, two.p, &raw, &why), EV_EDATA);
	ev_buf_free(&out);
	ev_buf_free(&raw);
	ev_buf_free(&two);
	ev_codec_free(c);
}

/*
 * A hand-made frame: content size 300 in a raw block, with a window of
 * 2^wlog declared.  Whatever the frame declares, decoding allocates no
 * more than the batch's own size: the decoder sets ZSTD_d_windowLogMax
 * (evlog(5)), and the one-pass decode into the raw_len buffer needs no
 * window at all.
 */
static size_t craft_frame(uint8_t *f, int wlog, const uint8_t *content)
{
	size_t n = 0;

	f[n++] = 0x28;
	f[n++] = 0xb5;
	f[n++] = 0x2f;
	f[n++] = 0xfd;
	f[n++] = 0x40; /* FCS 2 bytes, not single segment */
	f[n++] = (uint8_t)((wlog - 10) << 3); /* window descriptor */
	f[n++] = (uint8_t)(300 - 256);	      /* FCS - 256, little-endian */
	f[n++] = 0;
	f[n++] = (uint8_t)((300 << 3) | 1); /* last raw block of 300 */
	f[n++] = (uint8_t)((300 << 3) >> 8);
	f[n++] = 0;
	memcpy(f + n, content, 300);
	return n + 300;
}

static void test_codec_window_limit(void **state)
{
	static const int wlogs[] = {20, EV_WINDOWLOG_MAX, EV_WINDOWLOG_MAX + 1,
				    27, 31};
	struct ev_codec *c = ev_codec_new();
	struct ev_buf raw = {0};
	struct ev_batchhdr h;
	uint8_t content[300], f[400];
	const char *why;
	size_t n, i, big;
	int r;

	(void)state;
	fill(content, sizeof(content), 7);
	memset(&h, 0, sizeof(h));
	h.codec = EV_CODEC_ZSTD;
	h.raw_len = 300;
	for (i = 0; i < sizeof(wlogs) / sizeof(wlogs[0]); i++) {
		n = craft_frame(f, wlogs[i], content);
		h.stored_len = (uint32_t)n;
		why = NULL;
		track_start();
		r = ev_codec_decode(c, &h, f, &raw, &why);
		big = track_stop();
		if (wlogs[i] <= EV_WINDOWLOG_MAX && r != 0)
			fail_msg("a 2^%d window was refused: %s", wlogs[i],
				 why);
		if (r == 0) {
			assert_int_equal(raw.len, 300);
			assert_memory_equal(raw.p, content, 300);
		} else {
			assert_int_equal(r, EV_EDATA);
		}
		if (big > (4u << 20))
			fail_msg("a frame declaring a 2^%d window made an "
				 "allocation of %zu bytes",
				 wlogs[i], big);
		ev_codec_free(c);
		c = ev_codec_new(); /* a fresh context allocates again */
	}
	ev_buf_free(&raw);
	ev_codec_free(c);
}

/* ------------------------------------------------------------ framing */

static void test_payload_framing(void **state)
{
	static const uint8_t good[] = {3, 'a', 'b', 'c', 1, 'x'};
	const uint8_t *p, *rec;
	const char *why;
	uint8_t *big, *o;
	size_t n;

	(void)state;
	p = good;
	assert_int_equal(ev_payload_next(&p, good + sizeof(good), &rec, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(rec, "abc", 3);
	assert_int_equal(ev_payload_next(&p, good + sizeof(good), &rec, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rec[0], 'x');
	assert_ptr_equal(p, good + sizeof(good));
	assert_int_equal(ev_payload_next(&p, good + sizeof(good), &rec, &n),
			 -1);
	assert_int_equal(ev_payload_check(good, sizeof(good), 2, &why), 0);
	assert_int_equal(ev_payload_check(good, sizeof(good), 3, &why),
			 EV_EDATA);
	assert_int_equal(ev_payload_check(good, sizeof(good), 1, &why),
			 EV_EDATA);
	assert_non_null(strstr(why, "after its last record"));
	/* zero length */
	{
		static const uint8_t z[] = {0, 'a'};
		p = z;
		assert_int_equal(ev_payload_next(&p, z + 2, &rec, &n), -1);
	}
	/* length beyond the bytes that remain */
	{
		static const uint8_t s[] = {5, 'a', 'b'};
		p = s;
		assert_int_equal(ev_payload_next(&p, s + 3, &rec, &n), -1);
	}
	/* truncated varints */
	{
		static const uint8_t t1[] = {0x80};
		static const uint8_t t2[] = {0xff, 0xff};
		p = t1;
		assert_int_equal(ev_payload_next(&p, t1 + 1, &rec, &n), -1);
		p = t2;
		assert_int_equal(ev_payload_next(&p, t2 + 2, &rec, &n), -1);
		p = t2;
		assert_int_equal(ev_payload_next(&p, t2, &rec, &n), -1);
	}
	/* a varint longer than any legal record length */
	{
		static const uint8_t v[] = {0x80, 0x80, 0x80, 0x80, 0x01, 'a'};
		p = v;
		assert_int_equal(ev_payload_next(&p, v + sizeof(v), &rec, &n),
				 -1);
	}
	/* the record size limit, with the bytes present */
	big = malloc(EV_MAX_RECORD + 16);
	assert_non_null(big);
	memset(big, 'r', EV_MAX_RECORD + 16);
	o = ev_uleb_put(big, EV_MAX_RECORD);
	p = big;
	assert_int_equal(ev_payload_next(&p, o + EV_MAX_RECORD, &rec, &n), 0);
	assert_int_equal(n, EV_MAX_RECORD);
	o = ev_uleb_put(big, EV_MAX_RECORD + 1);
	p = big;
	assert_int_equal(ev_payload_next(&p, o + EV_MAX_RECORD + 1, &rec, &n),
			 -1);
	free(big);
}

/* ------------------------------------------------------------ files */

/* a segment file: header, then batches of framed records */
static size_t put_batch(uint8_t *o, uint64_t base, uint64_t salt,
			const char *recs)
{
	struct ev_batchhdr b;
	uint8_t payload[256], *q = payload;
	size_t n = strlen(recs);

	q = ev_uleb_put(q, n);
	memcpy(q, recs, n);
	q += n;
	memset(&b, 0, sizeof(b));
	b.stored_len = b.raw_len = (uint32_t)(q - payload);
	b.count = 1;
	b.base = base;
	b.salt = salt;
	b.codec = EV_CODEC_NONE;
	b.payload_crc = ev_crc32c(0, payload, b.stored_len);
	ev_batchhdr_encode(o, &b);
	memcpy(o + EV_BATCHHDR_SIZE, payload, b.stored_len);
	return EV_BATCHHDR_SIZE + b.stored_len;
}

static void test_read_batch_and_valid_after(void **state)
{
	uint8_t file[1024];
	struct ev_batchhdr h;
	struct ev_buf stored = {0};
	const uint64_t salt = 0xfeedfacecafebeefull;
	const char *why;
	char *dir, path[4200];
	size_t n = EV_SEGHDR_SIZE, b1, b2;
	int fd;

	(void)state;
	ev_seghdr_encode(file, 0, salt, seg_id);
	b1 = n;
	n += put_batch(file + n, 0, salt, "first record");
	b2 = n;
	n += put_batch(file + n, 1, salt, "second record");
	dir = unit_tmpdir();
	snprintf(path, sizeof(path), "%s/seg", dir);
	assert_int_equal(unit_write_file(path, file, n), 0);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(ev_segment_read_batch(fd, b1, n, salt, &h, &stored,
					       &why),
			 0);
	assert_int_equal(stored.len, 1 + strlen("first record"));
	assert_int_equal(ev_segment_read_batch(fd, b2, n, salt, &h, &stored,
					       &why),
			 0);
	assert_true(h.base == 1);
	/* the file (or the readable limit) ends inside a batch */
	assert_int_equal(ev_segment_read_batch(fd, b2, n - 1, salt, &h, &stored,
					       &why),
			 1);
	assert_non_null(strstr(why, "incomplete"));
	assert_int_equal(ev_segment_read_batch(fd, b2, b2 + 10, salt, &h,
					       &stored, &why),
			 1);
	/* a payload byte flipped */
	file[b1 + EV_BATCHHDR_SIZE + 3] ^= 1;
	assert_int_equal(pwrite(fd, file, n, 0), (ssize_t)n);
	assert_int_equal(ev_segment_read_batch(fd, b1, n, salt, &h, &stored,
					       &why),
			 EV_EDATA);
	assert_non_null(strstr(why, "payload checksum"));
	/* a valid batch follows the damage; none follows the last one */
	assert_int_equal(ev_segment_valid_after(fd, b1 + 1, n, salt), 1);
	assert_int_equal(ev_segment_valid_after(fd, b2 + 1, n, salt), 0);
	assert_int_equal(ev_segment_valid_after(fd, b1 + 1, n, salt ^ 1), 0);
	close(fd);
	ev_buf_free(&stored);
	unit_rmtree(dir);
}

/* a gap marker (evlog(5) Gaps): offsets and filler, no records */
static void test_gap_marker(void **state)
{
	struct ev_batchhdr b, d;
	uint8_t h[EV_BATCHHDR_SIZE], file[1024], sh[EV_SEGHDR_SIZE];
	struct ev_buf stored = {0}, raw = {0};
	struct ev_seghdr seg;
	struct ev_codec *c = ev_codec_new();
	const uint64_t salt = 0x0102030405060708ull;
	const char *why = NULL;
	char *dir, path[4200], whyb[160];
	size_t n = EV_SEGHDR_SIZE;
	int fd;

	(void)state;
	memset(&b, 0, sizeof(b));
	b.flags = EV_BATCH_GAP;
	b.count = 7;
	b.base = 100;
	b.stored_len = 500; /* filler */
	b.salt = salt;
	b.min_time = b.max_time = b.append_time = EV_TIME_NONE;
	ev_batchhdr_encode(h, &b);
	assert_int_equal(ev_get16(h + 46), EV_BATCH_GAP);
	assert_int_equal(ev_batchhdr_decode(h, salt, &d, &why), 0);
	assert_true(ev_batch_is_gap(&d));
	assert_true(d.base == 100 && d.count == 7 && d.stored_len == 500);
	/* a gap has no records: it decodes to nothing */
	assert_int_equal(ev_codec_decode(c, &d, NULL, &raw, &why), 0);
	assert_int_equal(raw.len, 0);
	/* a gap of no offsets, with a codec, or with a payload CRC is not one
	 */
	b.count = 0;
	ev_batchhdr_encode(h, &b);
	assert_int_equal(ev_batchhdr_decode(h, salt, &d, &why), EV_EDATA);
	b.count = 7;
	b.codec = EV_CODEC_ZSTD;
	ev_batchhdr_encode(h, &b);
	assert_int_equal(ev_batchhdr_decode(h, salt, &d, &why), EV_EDATA);
	b.codec = EV_CODEC_NONE;
	b.payload_crc = 1;
	ev_batchhdr_encode(h, &b);
	assert_int_equal(ev_batchhdr_decode(h, salt, &d, &why), EV_EDATA);
	b.payload_crc = 0;
	/* an unknown flag is damage */
	b.flags = 2;
	ev_batchhdr_encode(h, &b);
	assert_int_equal(ev_batchhdr_decode(h, salt, &d, &why), EV_EDATA);
	assert_non_null(strstr(why, "reserved"));
	b.flags = EV_BATCH_GAP;

	/* in a file: its filler is skipped, never read or checked */
	ev_seghdr_encode(file, 0, salt, seg_id);
	ev_seghdr_add_incompat(file, EV_INCOMPAT_GAPS);
	b.base = 0;
	b.stored_len = 100;
	ev_batchhdr_encode(file + n, &b);
	memset(file + n + EV_BATCHHDR_SIZE, 0xAA, 100);
	n += EV_BATCHHDR_SIZE + 100;
	dir = unit_tmpdir();
	snprintf(path, sizeof(path), "%s/seg", dir);
	assert_int_equal(unit_write_file(path, file, n), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(ev_segment_read_batch(fd, EV_SEGHDR_SIZE, n, salt, &d,
					       &stored, &why),
			 0);
	assert_true(ev_batch_is_gap(&d) && d.count == 7);
	assert_int_equal(stored.len, 0);
	/* its filler must lie inside the file */
	assert_int_equal(ev_segment_read_batch(fd, EV_SEGHDR_SIZE, n - 1, salt,
					       &d, &stored, &why),
			 1);
	close(fd);

	/* the segment says it holds gaps; a reader without the feature
	 * refuses it, naming the bit */
	assert_int_equal(ev_get32(file + 16), EV_INCOMPAT_GAPS);
	assert_int_equal(ev_seghdr_check(file, EV_SEGHDR_SIZE, &seg, whyb,
					 sizeof(whyb)),
			 0);
	assert_true(seg.incompat == EV_INCOMPAT_GAPS);
	memcpy(sh, file, sizeof(sh));
	ev_seghdr_add_incompat(sh, 0x4);
	assert_int_equal(ev_seghdr_check(sh, EV_SEGHDR_SIZE, &seg, whyb,
					 sizeof(whyb)),
			 EV_EDATA);
	assert_true(seg.unsupported);
	assert_non_null(strstr(whyb, "0x00000004"));
	ev_buf_free(&stored);
	ev_buf_free(&raw);
	ev_codec_free(c);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seghdr_roundtrip),
		cmocka_unit_test(test_seghdr_bad_magic),
		cmocka_unit_test(test_seghdr_bit_flips),
		cmocka_unit_test(test_seghdr_incompatible_flag),
		cmocka_unit_test(test_seghdr_compatible_flag),
		cmocka_unit_test(test_seghdr_other_refusals),
		cmocka_unit_test(test_batchhdr_roundtrip),
		cmocka_unit_test(test_batchhdr_bit_flips),
		cmocka_unit_test(test_batchhdr_salt_mismatch),
		cmocka_unit_test(test_torn_header_at_a_sector_end),
		cmocka_unit_test(test_batchhdr_field_rules),
		cmocka_unit_test(test_batchhdr_reserved),
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_codec_salvage),
		cmocka_unit_test(test_path_in_lost_found),
		cmocka_unit_test(test_codec_rejects_mismatch),
		cmocka_unit_test(test_codec_window_limit),
		cmocka_unit_test(test_pack_roundtrip),
		cmocka_unit_test(test_pack_every_character),
		cmocka_unit_test(test_unpack_hostile),
		cmocka_unit_test(test_payload_framing),
		cmocka_unit_test(test_read_batch_and_valid_after),
		cmocka_unit_test(test_gap_marker),
	};

	return cmocka_run_group_tests_name("segment", tests, NULL, NULL);
}
