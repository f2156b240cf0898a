/*
 * crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of every header and payload in evlog(5).  Uses the SSE4.2 crc32
 * instruction when the CPU has it, and a slicing-by-8 table otherwise.
 * Both paths are exported to the unit tests, which check them against the
 * RFC 3720 vectors.
 *
 * The crc32 instruction takes three cycles and can start one a cycle, so
 * one chain of it runs at a third of the speed the CPU allows: a long
 * buffer is read as three stripes at once, each with its own CRC, and
 * the three are put together as the CRC of the whole by appending
 * zeros to the first two (a table per stripe length, made once).
 */
#include <pthread.h>

#include "evlog_private.h"

uint32_t ev_crc32c_table(uint32_t crc, const void *p, size_t n);
uint32_t ev_crc32c_hw(uint32_t crc, const void *p, size_t n);
int ev_crc32c_have_hw(void);

static uint32_t crc_table[8][256];
static int have_sse42;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* bytes of one stripe of the three-way hardware loop */
#define STRIPE 4096
/* what STRIPE and 2 * STRIPE zero bytes make of a CRC register, one
 * table per byte of it */
static uint32_t zeros1[4][256], zeros2[4][256];

/* m (32 columns, the images of the bits) times v, over GF(2) */
static uint32_t gf2_times(const uint32_t m[32], uint32_t v)
{
	uint32_t r = 0;
	int i;

	for (i = 0; v != 0; i++, v >>= 1)
		if (v & 1)
			r ^= m[i];
	return r;
}

static void gf2_square(uint32_t out[32], const uint32_t m[32])
{
	int i;

	for (i = 0; i < 32; i++)
		out[i] = gf2_times(m, m[i]);
}

/* m (the images of the 32 bits) squared until it stands for 'bytes' zero
 * bytes, a power of 2, from what it stands for now, 'have' bytes (0: one
 * zero bit) */
static void zeros_matrix(uint32_t m[32], size_t have, size_t bytes)
{
	uint32_t sq[32];
	size_t bits;

	for (bits = have ? 8 * have : 1; bits < 8 * bytes; bits *= 2) {
		gf2_square(sq, m);
		memcpy(m, sq, sizeof(sq));
	}
}

/* the tables of m, one per byte of the register: linear, so each entry
 * is the entry without its lowest bit and that bit's column */
static void zeros_table(uint32_t t[4][256], const uint32_t m[32])
{
	int i, k;

	for (k = 0; k < 4; k++) {
		t[k][0] = 0;
		for (i = 1; i < 256; i++)
			t[k][i] = t[k][i & (i - 1)] ^
				  m[8 * k + __builtin_ctz((unsigned)i)];
	}
}

static uint32_t zeros(const uint32_t t[4][256], uint32_t c)
{
	return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^
	       t[3][c >> 24];
}

static void crc_init(void)
{
	uint32_t c;
	int i, j;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (j = 0; j < 8; j++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		c = crc_table[0][i];
		for (j = 1; j < 8; j++) {
			c = crc_table[0][c & 0xff] ^ (c >> 8);
			crc_table[j][i] = c;
		}
	}
#if defined(__x86_64__)
	__builtin_cpu_init();
	have_sse42 = __builtin_cpu_supports("sse4.2");
	if (have_sse42) {
		uint32_t m[32];
		/* one zero bit */
		m[0] = 0x82F63B78u;
		for (i = 1; i < 32; i++)
			m[i] = 1u << (i - 1);
		zeros_matrix(m, 0, STRIPE);
		zeros_table(zeros1, m);
		zeros_matrix(m, STRIPE, 2 * STRIPE);
		zeros_table(zeros2, m);
	}
#endif
}

uint32_t ev_crc32c_table(uint32_t crc, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	uint64_t w;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (n >= 8) {
		w = (uint64_t)ev_get32(p) | ((uint64_t)ev_get32(p + 4) << 32);
		w ^= crc;
		crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
		      crc_table[5][(w >> 16) & 0xff] ^
		      crc_table[4][(w >> 24) & 0xff] ^
		      crc_table[3][(w >> 32) & 0xff] ^
		      crc_table[2][(w >> 40) & 0xff] ^
		      crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t
ev_crc32c_hw(uint32_t crc, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	uint64_t c = ~crc;
	uint64_t w, w1, w2, c1, c2;
	size_t i;

	if (n >= 3 * STRIPE)
		pthread_once(&crc_once, crc_init);
	while (n >= 3 * STRIPE) {
		c1 = 0;
		c2 = 0;
		for (i = 0; i < STRIPE; i += 8) {
			memcpy(&w, p + i, 8);
			memcpy(&w1, p + STRIPE + i, 8);
			memcpy(&w2, p + 2 * STRIPE + i, 8);
			c = __builtin_ia32_crc32di(c, w);
			c1 = __builtin_ia32_crc32di(c1, w1);
			c2 = __builtin_ia32_crc32di(c2, w2);
		}
		c = zeros(zeros2, (uint32_t)c) ^ zeros(zeros1, (uint32_t)c1) ^
		    (uint32_t)c2;
		p += 3 * STRIPE;
		n -= 3 * STRIPE;
	}
	while (n >= 8) {
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		n -= 8;
	}
	while (n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#else
uint32_t ev_crc32c_hw(uint32_t crc, const void *buf, size_t n)
{
	return ev_crc32c_table(crc, buf, n);
}
#endif

int ev_crc32c_have_hw(void)
{
	pthread_once(&crc_once, crc_init);
	return have_sse42;
}

uint32_t ev_crc32c(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&crc_once, crc_init);
	if (have_sse42)
		return ev_crc32c_hw(crc, p, n);
	return ev_crc32c_table(crc, p, n);
}
