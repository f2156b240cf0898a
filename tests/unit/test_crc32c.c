/*
 * test_crc32c.c - lib/crc32c.c: CRC-32C against the RFC 3720 B.4 vectors,
 * for both the table and the SSE4.2 path, plus incremental use, unaligned
 * buffers and every length up to 64 against a bitwise reference.
 */
#include "unit.h"

/* not in a header: crc32c.c exports them for these tests only */
uint32_t ev_crc32c_table(uint32_t crc, const void *p, size_t n);
uint32_t ev_crc32c_hw(uint32_t crc, const void *p, size_t n);
int ev_crc32c_have_hw(void);

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

struct impl {
	const char *name;
	crc_fn fn;
};

/* bit at a time, straight from the definition: the reference */
static uint32_t crc_ref(uint32_t crc, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	int k;

	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return ~crc;
}

static const uint8_t iscsi_read_pdu[48] = {
	0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
	0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void check_vectors(crc_fn fn, const char *name)
{
	uint8_t buf[32];
	int i;

	memset(buf, 0, sizeof(buf));
	if (fn(0, buf, 32) != 0x8A9136AAu)
		fail_msg("%s: 32 zero bytes gave %08x", name, fn(0, buf, 32));
	memset(buf, 0xff, sizeof(buf));
	if (fn(0, buf, 32) != 0x62A8AB43u)
		fail_msg("%s: 32 0xff bytes gave %08x", name, fn(0, buf, 32));
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	if (fn(0, buf, 32) != 0x46DD794Eu)
		fail_msg("%s: incrementing bytes gave %08x", name,
			 fn(0, buf, 32));
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	if (fn(0, buf, 32) != 0x113FDB5Cu)
		fail_msg("%s: decrementing bytes gave %08x", name,
			 fn(0, buf, 32));
	if (fn(0, iscsi_read_pdu, 48) != 0xD9963A56u)
		fail_msg("%s: iSCSI read PDU gave %08x", name,
			 fn(0, iscsi_read_pdu, 48));
	if (fn(0, "123456789", 9) != 0xE3069283u)
		fail_msg("%s: \"123456789\" gave %08x", name,
			 fn(0, "123456789", 9));
	assert_int_equal(fn(0, "", 0), 0);
}

static int have_hw(void)
{
	if (ev_crc32c_have_hw())
		return 1;
	/* without SSE4.2 the hw path would fault: the dispatcher must
	 * then use the table, which the other tests cover */
	print_message("# this CPU has no SSE4.2: hardware path not run\n");
	return 0;
}

static void test_ref_vectors(void **state)
{
	(void)state;
	check_vectors(crc_ref, "reference");
}

static void test_table_vectors(void **state)
{
	(void)state;
	check_vectors(ev_crc32c_table, "table");
}

static void test_hw_vectors(void **state)
{
	(void)state;
	if (have_hw())
		check_vectors(ev_crc32c_hw, "sse4.2");
}

static void test_dispatch_vectors(void **state)
{
	(void)state;
	check_vectors(ev_crc32c, "ev_crc32c");
}

static void impls(struct impl *v, int *n)
{
	*n = 0;
	v[(*n)++] = (struct impl){"table", ev_crc32c_table};
	v[(*n)++] = (struct impl){"ev_crc32c", ev_crc32c};
	if (ev_crc32c_have_hw())
		v[(*n)++] = (struct impl){"sse4.2", ev_crc32c_hw};
}

/* every length 0..64 at every alignment 0..15 against the reference */
static void test_lengths_and_alignment(void **state)
{
	uint8_t *mem = malloc(64 + 16 + 8);
	struct impl v[3];
	size_t len, al;
	uint32_t want;
	int n, i;

	(void)state;
	assert_non_null(mem);
	for (i = 0; i < 64 + 16 + 8; i++)
		mem[i] = (uint8_t)(i * 131 + 7);
	impls(v, &n);
	for (al = 0; al < 16; al++) {
		for (len = 0; len <= 64; len++) {
			want = crc_ref(0, mem + al, len);
			for (i = 0; i < n; i++)
				if (v[i].fn(0, mem + al, len) != want)
					fail_msg(
						"%s: length %zu at offset %zu: "
						"%08x, want %08x",
						v[i].name, len, al,
						v[i].fn(0, mem + al, len),
						want);
		}
	}
	free(mem);
}

/* crc(crc(a), b) == crc(a b) for every split point */
static void test_incremental(void **state)
{
	uint8_t buf[200];
	struct impl v[3];
	size_t split, len;
	uint32_t one, two;
	int n, i;

	(void)state;
	for (i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (uint8_t)(i ^ 0x5a);
	impls(v, &n);
	for (len = 0; len <= sizeof(buf); len += 13) {
		for (i = 0; i < n; i++) {
			one = v[i].fn(0, buf, len);
			assert_int_equal(one, crc_ref(0, buf, len));
			for (split = 0; split <= len; split++) {
				two = v[i].fn(v[i].fn(0, buf, split),
					      buf + split, len - split);
				if (two != one)
					fail_msg(
						"%s: split %zu of %zu gave %08x, "
						"one-shot %08x",
						v[i].name, split, len, two,
						one);
			}
		}
	}
	/* and byte at a time */
	for (i = 0; i < n; i++) {
		two = 0;
		for (len = 0; len < sizeof(buf); len++)
			two = v[i].fn(two, buf + len, 1);
		assert_int_equal(two, crc_ref(0, buf, sizeof(buf)));
	}
}

/* a longer pseudo-random buffer, where the 8-byte loops do the work */
static void test_long_buffer(void **state)
{
	size_t n = 1 << 16, i;
	uint8_t *buf = malloc(n + 1);
	uint64_t x = 88172645463325252ull;
	uint32_t want;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < n + 1; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	want = crc_ref(0, buf + 1, n);
	assert_int_equal(ev_crc32c_table(0, buf + 1, n), want);
	assert_int_equal(ev_crc32c(0, buf + 1, n), want);
	if (ev_crc32c_have_hw())
		assert_int_equal(ev_crc32c_hw(0, buf + 1, n), want);
	/* a single flipped bit changes the CRC */
	buf[1000] ^= 0x10;
	assert_int_not_equal(ev_crc32c(0, buf + 1, n), want);
	free(buf);
}

/* the hardware path reads long buffers as three stripes of 4096 bytes at
 * once: lengths about its multiples, a CRC carried in, and pieces split
 * anywhere, all against the reference */
static void test_stripes(void **state)
{
	static const size_t lens[] = {12287, 12288, 12289,  12295,
				      12296, 24575, 24576,  24577,
				      36864, 40000, 102400, 102407};
	size_t n = 102407 + 1, i, k, cut;
	uint8_t *buf = malloc(n);
	uint64_t x = 0x9E3779B97F4A7C15ull;
	uint32_t want;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		want = crc_ref(0x12345678u, buf + 1, lens[k]);
		assert_int_equal(ev_crc32c(0x12345678u, buf + 1, lens[k]),
				 want);
		assert_int_equal(ev_crc32c_table(0x12345678u, buf + 1, lens[k]),
				 want);
		if (!ev_crc32c_have_hw())
			continue;
		assert_int_equal(ev_crc32c_hw(0x12345678u, buf + 1, lens[k]),
				 want);
		for (cut = 1; cut < lens[k]; cut += 4093)
			assert_int_equal(ev_crc32c_hw(ev_crc32c_hw(0x12345678u,
								   buf + 1,
								   cut),
						      buf + 1 + cut,
						      lens[k] - cut),
					 want);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_vectors),
		cmocka_unit_test(test_table_vectors),
		cmocka_unit_test(test_hw_vectors),
		cmocka_unit_test(test_dispatch_vectors),
		cmocka_unit_test(test_lengths_and_alignment),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_long_buffer),
		cmocka_unit_test(test_stripes),
	};

	return cmocka_run_group_tests_name("crc32c", tests, NULL, NULL);
}
