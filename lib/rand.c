/*
 * rand.c - random bytes, UUIDv7 and the clock.
 *
 * When EVLOG_TEST_SEED and SOURCE_DATE_EPOCH are both set, random bytes
 * come from xoshiro256** generators seeded with EVLOG_TEST_SEED and the
 * clock reads SOURCE_DATE_EPOCH, so tests can reproduce logs byte for byte.
 * Ids and format bytes (log ids, salts) draw from separate generators:
 * the parsing thread makes ids while the writer thread makes salts, and
 * with one shared stream their interleaving would decide the bytes.
 * Otherwise random bytes come from getrandom(2), buffered.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "evlog_private.h"

static pthread_mutex_t rnd_lock = PTHREAD_MUTEX_INITIALIZER;
static int rnd_mode = -1; /* 0 system, 1 deterministic */
static uint64_t xs[2][4]; /* 0: format bytes, 1: ids */
static ev_time_t fixed_now;
static uint8_t pool[256];
static size_t pool_left;

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro(uint64_t *s)
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static void rnd_init(void)
{
	const char *seed = getenv("EVLOG_TEST_SEED");
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	uint64_t s;
	int i;

	rnd_mode = 0;
	if (seed && *seed && sde && *sde) {
		s = strtoull(seed, NULL, 10);
		for (i = 0; i < 4; i++)
			xs[0][i] = splitmix(&s);
		s ^= 0x6964732d73747265ull; /* a different stream for ids */
		for (i = 0; i < 4; i++)
			xs[1][i] = splitmix(&s);
		fixed_now = (ev_time_t)strtoll(sde, NULL, 10) * 1000000000;
		rnd_mode = 1;
	}
}

static pthread_once_t rnd_once = PTHREAD_ONCE_INIT;

int ev_test_mode(void)
{
	pthread_once(&rnd_once, rnd_init);
	return rnd_mode;
}

static void random_from(int stream, void *out, size_t n)
{
	uint8_t *o = out;
	uint64_t v;
	size_t k;
	ssize_t got;

	pthread_once(&rnd_once, rnd_init);
	pthread_mutex_lock(&rnd_lock);
	while (n > 0) {
		if (rnd_mode == 1) {
			/* little-endian, so a log written under the test
			 * source has the same bytes on every machine */
			uint8_t b[8];
			ev_put64(b, xoshiro(xs[stream]));
			k = n < 8 ? n : 8;
			memcpy(o, b, k);
		} else {
			if (pool_left == 0) {
				got = getrandom(pool, sizeof(pool), 0);
				if (got != (ssize_t)sizeof(pool)) {
					/* getrandom on Linux >= 3.17 does not
					 * fail for 256 bytes; fall back to a
					 * time-seeded generator rather than
					 * abort */
					struct timespec ts;
					clock_gettime(CLOCK_REALTIME, &ts);
					uint64_t s =
						(uint64_t)ts.tv_nsec ^
						((uint64_t)ts.tv_sec << 20);
					for (k = 0; k < sizeof(pool); k += 8) {
						v = splitmix(&s);
						memcpy(pool + k, &v, 8);
					}
				}
				pool_left = sizeof(pool);
			}
			k = n < pool_left ? n : pool_left;
			memcpy(o, pool + sizeof(pool) - pool_left, k);
			pool_left -= k;
		}
		o += k;
		n -= k;
	}
	pthread_mutex_unlock(&rnd_lock);
}

void ev_random(void *out, size_t n)
{
	random_from(0, out, n);
}

ev_time_t ev_now(void)
{
	struct timespec ts;

	if (ev_test_mode() == 1)
		return fixed_now;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (ev_time_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, 12 bits of
 * rand_a used as a counter within one millisecond so that ids made by one
 * process are strictly increasing, variant 10, 62 random bits.
 */
void ev_uuid7(ev_time_t now, char out[37])
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t last_ms;
	static unsigned seq;
	static const char hx[] = "0123456789abcdef";
	uint8_t u[16];
	uint64_t ms = now > 0 ? (uint64_t)(now / 1000000) : 0;
	unsigned sq;
	int i, j;

	random_from(1, u + 6, 10);
	pthread_mutex_lock(&lock);
	if (ms <= last_ms) {
		if (++seq > 0xfff) {
			last_ms++;
			seq = 0;
		}
		ms = last_ms;
	} else {
		last_ms = ms;
		seq = (unsigned)(u[6] & 0x07) << 8 | u[7]; /* random start */
	}
	sq = seq; /* read under the lock: another thread may bump it next */
	pthread_mutex_unlock(&lock);
	for (i = 0; i < 6; i++)
		u[i] = (uint8_t)(ms >> (40 - 8 * i));
	u[6] = (uint8_t)(0x70 | (sq >> 8));
	u[7] = (uint8_t)sq;
	u[8] = (uint8_t)(0x80 | (u[8] & 0x3f));
	for (i = 0, j = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = hx[u[i] >> 4];
		out[j++] = hx[u[i] & 15];
	}
	out[36] = '\0';
}
