/*
 * crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of every header and payload in evlog(5).  Uses the SSE4.2 crc32
 * instruction when the CPU has it, and a slicing-by-8 table otherwise.
 * Both paths are exported to the unit tests, which check them against the
 * RFC 3720 vectors.
 */
#include <pthread.h>

#include "evlog_private.h"

uint32_t ev_crc32c_table(uint32_t crc, const void *p, size_t n);
uint32_t ev_crc32c_hw(uint32_t crc, const void *p, size_t n);
int ev_crc32c_have_hw(void);

static uint32_t crc_table[8][256];
static int have_sse42;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

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
	uint64_t w;

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
