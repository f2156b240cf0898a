/*
 * evtest.c - a small helper for the robustness tests (crash, corruption,
 * golden).  It reads the on-disk format straight from evlog(5), with no
 * code from lib/, so it doubles as an independent oracle of the layout.
 * The bats files compile it into their temporary directory with $CC.
 *
 *   evtest trickle SEED MAXLINES MAXDELAY_US
 *       copy stdin to stdout in random groups of 1..MAXLINES lines, one
 *       write(2) per group, sleeping up to MAXDELAY_US between groups
 *   evtest flip FILE POS MASK
 *       XOR the byte at POS with MASK (1..255); prints "POS OLD NEW"
 *   evtest seghdr-flags FILE COMPAT INCOMPAT
 *       OR the flags into bytes 12..15 and 16..19 of a segment header and
 *       recompute its CRC-32C (bytes 60..63 over bytes 0..59)
 *   evtest batches FILE
 *       walk a segment's batch headers: "POS BASE COUNT STORED_LEN" each
 *   evtest records FILE POS
 *       the records of the stored (codec 0) batch at byte POS of a
 *       segment: "POS LEN" each, POS the record's first byte in the file
 *   evtest head FILE
 *       decode a head file: "SEG_BASE END NEXT RECOVERY_POINT"
 *   evtest head-rp FILE POS
 *       set a head file's recovery point (bytes 56..59) to POS and
 *       recompute its CRC-32C
 *   evtest snap-version FILE VERSION
 *       set the last version of the first stream of a stream snapshot
 *       (LOG/state/streams) and recompute its page's CRC-32C; prints
 *       the stream's name
 *   evtest crc32c
 *       CRC-32C of stdin, as 8 hex digits
 *   evtest ckpt-write FILE LOGID NEXT
 *       write a projection checkpoint (evlog(5) Projection checkpoints)
 *       of log LOGID at offset NEXT, definition hash 0 ("--count"), with
 *       an empty state, over FILE
 *   evtest ckpt FILE
 *       check a projection checkpoint (magic, length, CRC-32C, version)
 *       and print "LOGID NEXT DEF_HASH STATE_BYTES SKIPS"; exit 1 when
 *       it is damaged
 *
 * Exit status: 0 ok, 1 failure, 64 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static int fail(const char *what, const char *name)
{
	fprintf(stderr, "evtest: %s '%s': %s\n", what, name, strerror(errno));
	return 1;
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = write(fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static uint64_t rs = 88172645463325252ull;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static int trickle(unsigned long long seed, unsigned maxlines,
		   unsigned maxdelay)
{
	static char buf[1 << 16];
	char *line = NULL, *l = NULL;
	size_t cap = 0, len = 0, lc = 0;
	ssize_t n;
	unsigned want = 1, have = 0;
	struct timespec ts;

	rs ^= seed * 0x9e3779b97f4a7c15ull;
	if (rs == 0)
		rs = 1;
	setvbuf(stdin, buf, _IOFBF, sizeof(buf));
	for (;;) {
		n = getline(&l, &lc, stdin);
		if (n > 0) {
			if (len + (size_t)n > cap) {
				cap = (len + (size_t)n) * 2;
				line = realloc(line, cap);
				if (line == NULL)
					return 1;
			}
			memcpy(line + len, l, (size_t)n);
			len += (size_t)n;
			have++;
		}
		if (len > 0 && (have >= want || n <= 0)) {
			if (write_all(1, line, len) != 0)
				return errno == EPIPE ? 0 : 1;
			len = 0;
			have = 0;
			want = 1 + (unsigned)(rnd() % maxlines);
			if (maxdelay > 0) {
				unsigned us = (unsigned)(rnd() % maxdelay);
				ts.tv_sec = us / 1000000;
				ts.tv_nsec = (long)(us % 1000000) * 1000;
				nanosleep(&ts, NULL);
			}
		}
		if (n <= 0)
			break;
	}
	free(line);
	free(l);
	return 0;
}

static int flip(const char *name, long long pos, unsigned mask)
{
	uint8_t b, nb;
	int fd = open(name, O_RDWR);

	if (fd < 0)
		return fail("cannot open", name);
	if (pread(fd, &b, 1, pos) != 1) {
		fprintf(stderr, "evtest: '%s' has no byte %lld\n", name, pos);
		close(fd);
		return 1;
	}
	nb = (uint8_t)(b ^ mask);
	if (pwrite(fd, &nb, 1, pos) != 1) {
		close(fd);
		return fail("cannot write", name);
	}
	close(fd);
	printf("%lld 0x%02x 0x%02x\n", pos, b, nb);
	return 0;
}

static int seghdr_flags(const char *name, uint32_t compat, uint32_t incompat)
{
	uint8_t h[64];
	int fd = open(name, O_RDWR);

	if (fd < 0)
		return fail("cannot open", name);
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		close(fd);
		return fail("cannot read the header of", name);
	}
	put32(h + 12, get32(h + 12) | compat);
	put32(h + 16, get32(h + 16) | incompat);
	put32(h + 60, crc32c(0, h, 60));
	if (pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		close(fd);
		return fail("cannot write", name);
	}
	close(fd);
	return 0;
}

static int records(const char *name, const char *spos)
{
	uint8_t h[64], b[10];
	uint64_t pos = strtoull(spos, NULL, 10), end, len;
	int fd = open(name, O_RDONLY), shift, k;

	if (fd < 0)
		return fail("cannot open", name);
	if (pread(fd, h, sizeof(h), (off_t)pos) != (ssize_t)sizeof(h) ||
	    h[44] != 0) {
		close(fd);
		return fail("not a stored batch in", name);
	}
	end = pos + 64 + get32(h);
	pos += 64;
	while (pos < end) {
		if (pread(fd, b, sizeof(b), (off_t)pos) <= 0)
			break;
		len = 0;
		for (k = 0, shift = 0; k < 10; k++, shift += 7) {
			len |= (uint64_t)(b[k] & 0x7f) << shift;
			if (!(b[k] & 0x80))
				break;
		}
		pos += (uint64_t)k + 1;
		printf("%llu %llu\n", (unsigned long long)pos,
		       (unsigned long long)len);
		pos += len;
	}
	close(fd);
	return 0;
}

static int batches(const char *name)
{
	uint8_t h[64];
	uint64_t pos = 64;
	int fd = open(name, O_RDONLY);

	if (fd < 0)
		return fail("cannot open", name);
	while (pread(fd, h, sizeof(h), (off_t)pos) == (ssize_t)sizeof(h)) {
		if (get32(h + 60) != crc32c(0, h, 60))
			break;
		printf("%llu %llu %u %u\n", (unsigned long long)pos,
		       (unsigned long long)get64(h + 8), get32(h + 4),
		       get32(h));
		pos += 64 + get32(h);
	}
	close(fd);
	return 0;
}

static int head(const char *name)
{
	uint8_t h[64];
	int fd = open(name, O_RDONLY);

	if (fd < 0)
		return fail("cannot open", name);
	if (read(fd, h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    memcmp(h, "EVHD", 4) != 0 || get32(h + 60) != crc32c(0, h, 60)) {
		fprintf(stderr, "evtest: '%s' is not a valid head file\n",
			name);
		close(fd);
		return 1;
	}
	close(fd);
	printf("%llu %llu %llu %u\n", (unsigned long long)get64(h + 8),
	       (unsigned long long)get64(h + 16),
	       (unsigned long long)get64(h + 24), get32(h + 56));
	return 0;
}

static int head_rp(const char *name, uint32_t rp)
{
	uint8_t h[64];
	int fd = open(name, O_RDWR);

	if (fd < 0)
		return fail("cannot open", name);
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		close(fd);
		return fail("cannot read", name);
	}
	put32(h + 56, rp);
	put32(h + 60, crc32c(0, h, 60));
	if (pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		close(fd);
		return fail("cannot write", name);
	}
	close(fd);
	return 0;
}

static int snap_version(const char *name, uint64_t v)
{
	enum { HDR = 64, ENT = 48 };
	uint8_t *b = NULL, *e, *last;
	uint64_t count, names_len, n, lo, hi, names_at;
	uint32_t page, c;
	off_t size;
	int fd = open(name, O_RDWR), rc = 1;

	if (fd < 0)
		return fail("cannot open", name);
	size = lseek(fd, 0, SEEK_END);
	if (size < HDR || (b = malloc((size_t)size)) == NULL ||
	    pread(fd, b, (size_t)size, 0) != (ssize_t)size)
		goto out;
	page = get32(b + 12);
	count = get64(b + 40);
	names_len = get64(b + 48);
	if (page == 0 || count == 0)
		goto out;
	n = count < page ? count : page;
	e = b + HDR;
	last = e + (n - 1) * ENT;
	for (c = 0; c < 8; c++)
		e[8 + c] = (uint8_t)(v >> (8 * c));
	names_at = HDR + count * ENT;
	lo = get32(e + 40);
	hi = (uint64_t)get32(last + 40) + get32(last + 44);
	c = crc32c(0, e, n * ENT);
	c = crc32c(c, b + names_at + lo, hi - lo);
	put32(b + names_at + names_len, c);
	if (pwrite(fd, b, (size_t)size, 0) == (ssize_t)size) {
		printf("%.*s\n", (int)get32(e + 44), b + names_at + lo);
		rc = 0;
	}
out:
	free(b);
	close(fd);
	return rc ? fail("cannot rewrite", name) : 0;
}

static int crc_stdin(void)
{
	uint8_t buf[65536];
	uint32_t c = 0;
	ssize_t n;

	while ((n = read(0, buf, sizeof(buf))) > 0)
		c = crc32c(c, buf, (size_t)n);
	printf("%08x\n", c);
	return n < 0;
}

/* ------------------------------------------------------------ checkpoints */

#define CKPT_HDR 24

static const uint8_t ckpt_magic[8] = {'E', 'V', 'L', 'C', 'K', 'P', 'T', '\n'};

static uint8_t *mp_str(uint8_t *o, const char *s)
{
	size_t n = strlen(s);

	*o++ = (uint8_t)(0xa0 | n); /* fixstr: the keys and ids here */
	memcpy(o, s, n);
	return o + n;
}

static uint8_t *mp_u64(uint8_t *o, uint64_t v)
{
	int i;

	*o++ = 0xcf;
	for (i = 7; i >= 0; i--)
		*o++ = (uint8_t)(v >> (8 * i));
	return o;
}

static int ckpt_write(const char *name, const char *log_id,
		      unsigned long long next)
{
	uint8_t b[256], *o = b + CKPT_HDR;
	uint64_t body;
	int fd, rc;

	if (strlen(log_id) != 32) {
		fprintf(stderr, "evtest: '%s' is not a log id\n", log_id);
		return 64;
	}
	memcpy(b, ckpt_magic, 8);
	put32(b + 8, 1);
	put32(b + 12, 0);
	*o++ = 0x85;
	o = mp_str(o, "log");
	*o++ = 0xd9; /* str8: 32 bytes do not fit a fixstr */
	*o++ = 32;
	memcpy(o, log_id, 32);
	o += 32;
	o = mp_str(o, "next");
	o = mp_u64(o, next);
	o = mp_str(o, "def-hash");
	*o++ = 0x00;
	o = mp_str(o, "def");
	o = mp_str(o, "--count");
	o = mp_str(o, "state");
	*o++ = 0xc4; /* bin8, empty */
	*o++ = 0;
	body = (uint64_t)(o - b) - CKPT_HDR;
	put32(b + 16, (uint32_t)body);
	put32(b + 20, (uint32_t)(body >> 32));
	put32(o, crc32c(0, b, (size_t)(o - b)));
	o += 4;
	fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail("cannot create", name);
	rc = write_all(fd, (const char *)b, (size_t)(o - b));
	if (close(fd) != 0 || rc != 0)
		return fail("cannot write", name);
	return 0;
}

/* A msgpack value at *p (before end): its first byte in *c, its
 * unsigned value (uint) or length (str, bin, array, map), and *p past
 * its header (and past the payload of str, bin and ext).  -1 when it is
 * not one this reader knows or is cut short. */
static int mp_item(const uint8_t **p, const uint8_t *end, uint8_t *c,
		   uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t n = 0, pay = 0;
	int k = 0, i;

	if (q >= end)
		return -1;
	*c = *q++;
	if (*c <= 0x7f) {
		n = *c;
	} else if (*c >= 0x80 && *c <= 0x9f) {
		n = *c & 0x0f;
	} else if (*c >= 0xa0 && *c <= 0xbf) {
		pay = n = *c & 0x1f;
	} else if (*c == 0xc0 || *c == 0xc2 || *c == 0xc3) {
		n = 0;
	} else if (*c >= 0xcc && *c <= 0xcf) {
		k = 1 << (*c - 0xcc);
	} else if (*c == 0xc4 || *c == 0xd9) {
		k = 1;
	} else if (*c == 0xc5 || *c == 0xda || *c == 0xdc || *c == 0xde) {
		k = 2;
	} else if (*c == 0xc6 || *c == 0xdb || *c == 0xdd || *c == 0xdf) {
		k = 4;
	} else if (*c == 0xd6 || *c == 0xd7) {
		pay = 1 + (*c == 0xd6 ? 4 : 8); /* fixext 4/8: type, data */
	} else if (*c == 0xc7) {
		if (end - q < 2)
			return -1;
		pay = 1 + (uint64_t)q[0];
		q++;
	} else {
		return -1;
	}
	if (end - q < k)
		return -1;
	for (i = 0; i < k; i++)
		n = n << 8 | *q++;
	if (*c == 0xc4 || *c == 0xc5 || *c == 0xc6 || *c == 0xd9 ||
	    *c == 0xda || *c == 0xdb)
		pay = n;
	if ((uint64_t)(end - q) < pay)
		return -1;
	*p = q + pay;
	*v = n;
	return 0;
}

static int mp_is_uint(uint8_t c)
{
	return c <= 0x7f || (c >= 0xcc && c <= 0xcf);
}

static int mp_skip(const uint8_t **p, const uint8_t *end, int depth)
{
	uint8_t c;
	uint64_t n, i;

	if (depth > 64 || mp_item(p, end, &c, &n) != 0)
		return -1;
	if ((c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf)
		n *= 2;
	else if (!((c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd))
		return 0;
	for (i = 0; i < n; i++)
		if (mp_skip(p, end, depth + 1) != 0)
			return -1;
	return 0;
}

static int ckpt_check(const char *name)
{
	uint8_t *b = NULL, c;
	const uint8_t *p, *end, *key;
	char log_id[33] = "";
	uint64_t size, body, n, keys, next = 0, hash = 0, state = 0, skips = 0;
	uint64_t v, i;
	int fd = open(name, O_RDONLY), rc = 1;
	off_t sz;

	if (fd < 0)
		return fail("cannot open", name);
	sz = lseek(fd, 0, SEEK_END);
	if (sz < CKPT_HDR + 4 || (b = malloc((size_t)sz)) == NULL ||
	    pread(fd, b, (size_t)sz, 0) != sz)
		goto bad;
	size = (uint64_t)sz;
	body = get64(b + 16);
	if (memcmp(b, ckpt_magic, 8) != 0 || body != size - CKPT_HDR - 4 ||
	    crc32c(0, b, (size_t)size - 4) != get32(b + size - 4) ||
	    get32(b + 8) != 1 || get32(b + 12) != 0)
		goto bad;
	p = b + CKPT_HDR;
	end = p + body;
	if (mp_item(&p, end, &c, &keys) != 0 ||
	    !((c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf))
		goto bad;
	for (i = 0; i < keys; i++) {
		if (mp_item(&p, end, &c, &n) != 0 ||
		    !((c >= 0xa0 && c <= 0xbf) || c == 0xd9))
			goto bad;
		key = p - n;
		if (n == 3 && memcmp(key, "log", 3) == 0) {
			if (mp_item(&p, end, &c, &v) != 0 || v != 32)
				goto bad;
			memcpy(log_id, p - 32, 32);
			log_id[32] = '\0';
		} else if (n == 4 && memcmp(key, "next", 4) == 0) {
			if (mp_item(&p, end, &c, &next) != 0 || !mp_is_uint(c))
				goto bad;
		} else if (n == 8 && memcmp(key, "def-hash", 8) == 0) {
			if (mp_item(&p, end, &c, &hash) != 0 || !mp_is_uint(c))
				goto bad;
		} else if (n == 5 && memcmp(key, "state", 5) == 0) {
			if (mp_item(&p, end, &c, &state) != 0 || c < 0xc4 ||
			    c > 0xc6)
				goto bad;
		} else if (n == 5 && memcmp(key, "skips", 5) == 0) {
			const uint8_t *q = p;
			if (mp_item(&q, end, &c, &skips) != 0 ||
			    mp_skip(&p, end, 0) != 0)
				goto bad;
		} else if (mp_skip(&p, end, 0) != 0) {
			goto bad;
		}
	}
	if (p != end || log_id[0] == '\0')
		goto bad;
	printf("%s %llu %llu %llu %llu\n", log_id, (unsigned long long)next,
	       (unsigned long long)hash, (unsigned long long)state,
	       (unsigned long long)skips);
	rc = 0;
bad:
	if (rc != 0)
		fprintf(stderr, "evtest: '%s' is not a sound checkpoint\n",
			name);
	free(b);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	crc_init();
	if (strcmp(cmd, "trickle") == 0 && argc == 5)
		return trickle(strtoull(argv[2], NULL, 10),
			       (unsigned)strtoul(argv[3], NULL, 10) ?: 1,
			       (unsigned)strtoul(argv[4], NULL, 10));
	if (strcmp(cmd, "flip") == 0 && argc == 5)
		return flip(argv[2], strtoll(argv[3], NULL, 10),
			    (unsigned)strtoul(argv[4], NULL, 0) & 0xff);
	if (strcmp(cmd, "seghdr-flags") == 0 && argc == 5)
		return seghdr_flags(argv[2],
				    (uint32_t)strtoul(argv[3], NULL, 0),
				    (uint32_t)strtoul(argv[4], NULL, 0));
	if (strcmp(cmd, "records") == 0 && argc == 4)
		return records(argv[2], argv[3]);
	if (strcmp(cmd, "batches") == 0 && argc == 3)
		return batches(argv[2]);
	if (strcmp(cmd, "head") == 0 && argc == 3)
		return head(argv[2]);
	if (strcmp(cmd, "head-rp") == 0 && argc == 4)
		return head_rp(argv[2], (uint32_t)strtoul(argv[3], NULL, 0));
	if (strcmp(cmd, "snap-version") == 0 && argc == 4)
		return snap_version(argv[2], strtoull(argv[3], NULL, 0));
	if (strcmp(cmd, "crc32c") == 0 && argc == 2)
		return crc_stdin();
	if (strcmp(cmd, "ckpt-write") == 0 && argc == 5)
		return ckpt_write(argv[2], argv[3],
				  strtoull(argv[4], NULL, 10));
	if (strcmp(cmd, "ckpt") == 0 && argc == 3)
		return ckpt_check(argv[2]);
	fprintf(stderr,
		"usage: evtest trickle SEED MAXLINES MAXDELAY_US | "
		"flip FILE POS MASK |\n"
		"       seghdr-flags FILE COMPAT INCOMPAT | batches FILE | "
		"head FILE | head-rp FILE POS |\n"
		"       snap-version FILE VERSION | crc32c |\n"
		"       ckpt-write FILE LOGID NEXT | ckpt FILE\n");
	return 64;
}
