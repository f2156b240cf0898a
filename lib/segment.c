/*
 * segment.c - a segment's bytes: its header (struct ev_seghdr), its
 * batches (struct ev_batchhdr, the payload codec struct ev_codec, record
 * framing), reading and checking them, and creating a segment with its
 * two index files.
 *
 * Byte layouts are specified in evlog(5) SEGMENTS and BATCHES; this file
 * implements them.  Everything read from a segment is checked before use:
 * lengths against limits and against the file size, both CRCs, the salt,
 * and the offsets' continuity.  The index files' entries are index.c's;
 * only their header, written when a segment is created, is here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "evlog_private.h"

const uint8_t ev_seg_magic[8] = {0x89, 'E', 'V', 'L', 'O', 'G', '\r', '\n'};

void ev_seghdr_encode(uint8_t out[EV_SEGHDR_SIZE], uint64_t base, uint64_t salt,
		      const uint8_t id[16])
{
	memset(out, 0, EV_SEGHDR_SIZE);
	memcpy(out, ev_seg_magic, 8);
	ev_put16(out + 8, EV_FORMAT_VERSION);
	ev_put16(out + 10, EV_SEGHDR_SIZE);
	ev_put32(out + 12, 0); /* compatible features */
	ev_put32(out + 16, 0); /* incompatible features */
	ev_put64(out + 24, base);
	ev_put64(out + 32, salt);
	memcpy(out + 40, id, 16);
	ev_put32(out + 60, ev_crc32c(0, out, 60));
}

char *ev_offsets_text(char *buf, size_t n, uint64_t first, uint64_t last)
{
	if (first == last)
		snprintf(buf, n, "offset %llu", (unsigned long long)first);
	else
		snprintf(buf, n, "offsets %llu to %llu",
			 (unsigned long long)first, (unsigned long long)last);
	return buf;
}

void ev_seghdr_add_incompat(uint8_t hdr[EV_SEGHDR_SIZE], uint32_t bits)
{
	ev_put32(hdr + 16, ev_get32(hdr + 16) | bits);
	ev_put32(hdr + 60, ev_crc32c(0, hdr, 60));
}

int ev_seghdr_check(const uint8_t *in, size_t n, struct ev_seghdr *h, char *why,
		    size_t whylen)
{
	uint32_t incompat;

	h->unsupported = 0;
	if (n < EV_SEGHDR_SIZE) {
		snprintf(why, whylen, "file is shorter than its header");
		return EV_EDATA;
	}
	if (memcmp(in, ev_seg_magic, 8) != 0) {
		snprintf(why, whylen, "not an evlog segment (bad magic)");
		return EV_EDATA;
	}
	if (ev_get32(in + 60) != ev_crc32c(0, in, 60)) {
		snprintf(why, whylen, "header checksum mismatch at byte 0");
		return EV_EDATA;
	}
	h->version = ev_get16(in + 8);
	if (h->version != EV_FORMAT_VERSION) {
		h->unsupported = 1;
		snprintf(
			why, whylen,
			"format version %u is not supported (this is version %d)",
			h->version, EV_FORMAT_VERSION);
		return EV_EDATA;
	}
	if (ev_get16(in + 10) != EV_SEGHDR_SIZE) {
		snprintf(why, whylen, "unexpected header size %u",
			 ev_get16(in + 10));
		return EV_EDATA;
	}
	h->compat = ev_get32(in + 12);
	incompat = ev_get32(in + 16);
	if (incompat & ~EV_INCOMPAT_KNOWN) {
		h->unsupported = 1;
		snprintf(why, whylen,
			 "uses incompatible features 0x%08x unknown to this "
			 "version of evlog",
			 incompat & ~EV_INCOMPAT_KNOWN);
		return EV_EDATA;
	}
	h->incompat = incompat;
	h->base = ev_get64(in + 24);
	h->salt = ev_get64(in + 32);
	memcpy(h->id, in + 40, 16);
	return 0;
}

int ev_seghdr_decode(const uint8_t *in, size_t n, struct ev_seghdr *h,
		     const char *name, struct ev_error *err)
{
	char why[160];

	if (ev_seghdr_check(in, n, h, why, sizeof(why)) != 0)
		return ev_seterr(err, EV_EDATA, "segment '%s': %s", name, why);
	return 0;
}

void ev_batchhdr_encode(uint8_t out[EV_BATCHHDR_SIZE],
			const struct ev_batchhdr *b)
{
	memset(out, 0, EV_BATCHHDR_SIZE);
	ev_put32(out + 0, b->stored_len);
	ev_put32(out + 4, b->count);
	ev_put64(out + 8, b->base);
	ev_put64(out + 16, (uint64_t)b->min_time);
	ev_put64(out + 24, (uint64_t)b->max_time);
	ev_put64(out + 32, (uint64_t)b->append_time);
	ev_put32(out + 40, b->raw_len);
	out[44] = b->codec;
	ev_put16(out + 46, b->flags);
	ev_put64(out + 48, b->salt);
	ev_put32(out + 56, b->payload_crc);
	ev_put32(out + 60, ev_crc32c(0, out, 60));
}

/*
 * Check a batch header.  Returns 0, or EV_EDATA with why set to a short
 * reason.  It does not look at the payload.
 */
int ev_batchhdr_decode(const uint8_t *in, uint64_t salt, struct ev_batchhdr *b,
		       const char **why)
{
	if (ev_get32(in + 60) != ev_crc32c(0, in, 60)) {
		*why = "batch header checksum mismatch";
		return EV_EDATA;
	}
	b->stored_len = ev_get32(in + 0);
	b->count = ev_get32(in + 4);
	b->base = ev_get64(in + 8);
	b->min_time = (ev_time_t)ev_get64(in + 16);
	b->max_time = (ev_time_t)ev_get64(in + 24);
	b->append_time = (ev_time_t)ev_get64(in + 32);
	b->raw_len = ev_get32(in + 40);
	b->codec = in[44];
	b->salt = ev_get64(in + 48);
	b->payload_crc = ev_get32(in + 56);
	b->flags = ev_get16(in + 46);
	if (b->salt != salt) {
		*why = "batch salt does not match its segment";
		return EV_EDATA;
	}
	if (b->flags == EV_BATCH_GAP && in[45] == 0) {
		/* a gap marker: offsets, and filler nobody reads */
		if (b->codec != EV_CODEC_NONE || b->raw_len != 0 ||
		    b->payload_crc != 0 || b->count == 0 ||
		    b->min_time > b->max_time) {
			*why = "gap marker fields out of range";
			return EV_EDATA;
		}
		if (b->base > UINT64_MAX - b->count) {
			*why = "batch offset out of range";
			return EV_EDATA;
		}
		return 0;
	}
	if (in[45] != 0 || b->flags != 0) {
		*why = "reserved batch header bytes are not zero";
		return EV_EDATA;
	}
	if (b->codec != EV_CODEC_NONE && b->codec != EV_CODEC_ZSTD &&
	    b->codec != EV_CODEC_PACKED) {
		*why = "unknown batch codec";
		return EV_EDATA;
	}
	if (b->count == 0 || b->raw_len == 0 || b->raw_len > EV_MAX_BATCH ||
	    b->count > b->raw_len / 2) {
		*why = "batch record count or length out of range";
		return EV_EDATA;
	}
	if (b->stored_len == 0 || b->stored_len > EV_MAX_STORED ||
	    (b->codec == EV_CODEC_NONE && b->stored_len != b->raw_len)) {
		*why = "batch stored length out of range";
		return EV_EDATA;
	}
	if (b->min_time > b->max_time) {
		*why = "batch time range is inverted";
		return EV_EDATA;
	}
	if (b->base > UINT64_MAX - b->count) {
		*why = "batch offset out of range";
		return EV_EDATA;
	}
	return 0;
}

/* ------------------------------------------------------------ packing */

/*
 * The packed form (evlog(5) Batches, codec 2): the raw payload with three
 * byte patterns taken out of it and stored apart, where zstd compresses
 * them better: a str 8 of a UUID in lowercase text (d9 24 and 36
 * characters) as its 16 bytes, a fixstr of a ULID (ba and 26 characters
 * of Crockford's base 32) as its 16 bytes, and a timestamp 64 (d7 ff and
 * 8 bytes) as the difference from the one before.  It is a change of
 * bytes, not of values: any bytes that match are packed, in a string or
 * not, and unpacking gives back the same bytes.
 */
#define PK_HDR 16

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, 8);
}
#define PK_UUID 1
#define PK_ULID 2
#define PK_TIME 3

static const char crockford[33] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/* the two characters of each 10-bit value in Crockford's base 32 */
static const char crockpair[2049] =
	"000102030405060708090A0B0C0D0E0F0G0H0J0K0M0N0P0Q0R0S0T0V0W0X0Y0Z"
	"101112131415161718191A1B1C1D1E1F1G1H1J1K1M1N1P1Q1R1S1T1V1W1X1Y1Z"
	"202122232425262728292A2B2C2D2E2F2G2H2J2K2M2N2P2Q2R2S2T2V2W2X2Y2Z"
	"303132333435363738393A3B3C3D3E3F3G3H3J3K3M3N3P3Q3R3S3T3V3W3X3Y3Z"
	"404142434445464748494A4B4C4D4E4F4G4H4J4K4M4N4P4Q4R4S4T4V4W4X4Y4Z"
	"505152535455565758595A5B5C5D5E5F5G5H5J5K5M5N5P5Q5R5S5T5V5W5X5Y5Z"
	"606162636465666768696A6B6C6D6E6F6G6H6J6K6M6N6P6Q6R6S6T6V6W6X6Y6Z"
	"707172737475767778797A7B7C7D7E7F7G7H7J7K7M7N7P7Q7R7S7T7V7W7X7Y7Z"
	"808182838485868788898A8B8C8D8E8F8G8H8J8K8M8N8P8Q8R8S8T8V8W8X8Y8Z"
	"909192939495969798999A9B9C9D9E9F9G9H9J9K9M9N9P9Q9R9S9T9V9W9X9Y9Z"
	"A0A1A2A3A4A5A6A7A8A9AAABACADAEAFAGAHAJAKAMANAPAQARASATAVAWAXAYAZ"
	"B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBFBGBHBJBKBMBNBPBQBRBSBTBVBWBXBYBZ"
	"C0C1C2C3C4C5C6C7C8C9CACBCCCDCECFCGCHCJCKCMCNCPCQCRCSCTCVCWCXCYCZ"
	"D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDFDGDHDJDKDMDNDPDQDRDSDTDVDWDXDYDZ"
	"E0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFEGEHEJEKEMENEPEQERESETEVEWEXEYEZ"
	"F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFFFGFHFJFKFMFNFPFQFRFSFTFVFWFXFYFZ"
	"G0G1G2G3G4G5G6G7G8G9GAGBGCGDGEGFGGGHGJGKGMGNGPGQGRGSGTGVGWGXGYGZ"
	"H0H1H2H3H4H5H6H7H8H9HAHBHCHDHEHFHGHHHJHKHMHNHPHQHRHSHTHVHWHXHYHZ"
	"J0J1J2J3J4J5J6J7J8J9JAJBJCJDJEJFJGJHJJJKJMJNJPJQJRJSJTJVJWJXJYJZ"
	"K0K1K2K3K4K5K6K7K8K9KAKBKCKDKEKFKGKHKJKKKMKNKPKQKRKSKTKVKWKXKYKZ"
	"M0M1M2M3M4M5M6M7M8M9MAMBMCMDMEMFMGMHMJMKMMMNMPMQMRMSMTMVMWMXMYMZ"
	"N0N1N2N3N4N5N6N7N8N9NANBNCNDNENFNGNHNJNKNMNNNPNQNRNSNTNVNWNXNYNZ"
	"P0P1P2P3P4P5P6P7P8P9PAPBPCPDPEPFPGPHPJPKPMPNPPPQPRPSPTPVPWPXPYPZ"
	"Q0Q1Q2Q3Q4Q5Q6Q7Q8Q9QAQBQCQDQEQFQGQHQJQKQMQNQPQQQRQSQTQVQWQXQYQZ"
	"R0R1R2R3R4R5R6R7R8R9RARBRCRDRERFRGRHRJRKRMRNRPRQRRRSRTRVRWRXRYRZ"
	"S0S1S2S3S4S5S6S7S8S9SASBSCSDSESFSGSHSJSKSMSNSPSQSRSSSTSVSWSXSYSZ"
	"T0T1T2T3T4T5T6T7T8T9TATBTCTDTETFTGTHTJTKTMTNTPTQTRTSTTTVTWTXTYTZ"
	"V0V1V2V3V4V5V6V7V8V9VAVBVCVDVEVFVGVHVJVKVMVNVPVQVRVSVTVVVWVXVYVZ"
	"W0W1W2W3W4W5W6W7W8W9WAWBWCWDWEWFWGWHWJWKWMWNWPWQWRWSWTWVWWWXWYWZ"
	"X0X1X2X3X4X5X6X7X8X9XAXBXCXDXEXFXGXHXJXKXMXNXPXQXRXSXTXVXWXXXYXZ"
	"Y0Y1Y2Y3Y4Y5Y6Y7Y8Y9YAYBYCYDYEYFYGYHYJYKYMYNYPYQYRYSYTYVYWYXYYYZ"
	"Z0Z1Z2Z3Z4Z5Z6Z7Z8Z9ZAZBZCZDZEZFZGZHZJZKZMZNZPZQZRZSZTZVZWZXZYZZ";
/* the two lowercase hexadecimal digits of each byte */
static const char hexpair[513] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* value of a character: lowercase hexadecimal, Crockford's base 32 in
 * upper case; 0xff for any other */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
/* the table uuid_parse() reads where words cannot be read as below */
static const uint8_t hex_of[256] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff,
};
#endif
static const uint8_t crock_of[256] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
	0x11, 0xff, 0x12, 0x13, 0xff, 0x14, 0x15, 0xff, 0x16, 0x17, 0x18, 0x19,
	0x1a, 0xff, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff,
};

/* where the digit pairs of a UUID's 36 characters are, around the four
 * dashes at 8, 13, 18 and 23 */
static const uint8_t uuid_at[16] = {0,	2,  4,	6,  9,	11, 14, 16,
				    19, 21, 24, 26, 28, 30, 32, 34};

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* 8 lowercase hex digits at h to their 4 bytes at v, a word at a time:
 * 0 if one is not a digit */
static inline int hex8(const uint8_t *h, uint8_t *v)
{
	const uint64_t hb = 0x8080808080808080ull, one = 0x0101010101010101ull;
	uint64_t x, dig, af, n;
	uint32_t r;

	memcpy(&x, h, 8);
	/* per byte, with no carries as every byte is below 0x80: in
	 * '0'..'9', in 'a'..'f' */
	dig = (x + 0x50 * one) & ~(x + 0x46 * one);
	af = (x + 0x1f * one) & ~(x + 0x19 * one);
	if ((x & hb) != 0 || ((dig | af) & hb) != hb)
		return 0;
	n = (x & 0x0f * one) + ((af & hb) >> 7) * 9;
	/* the first digit of each pair is the high nibble */
	n = ((n << 4) | (n >> 8)) & 0x00ff00ff00ff00ffull;
	n = (n | (n >> 8)) & 0x0000ffff0000ffffull;
	r = (uint32_t)(n | (n >> 16));
	memcpy(v, &r, 4);
	return 1;
}

/* 36 characters of a lowercase UUID to 16 bytes */
static int uuid_parse(const uint8_t *t, uint8_t v[16])
{
	uint8_t h[32];

	if (t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-')
		return 0;
	memcpy(h, t, 8);
	memcpy(h + 8, t + 9, 4);
	memcpy(h + 12, t + 14, 4);
	memcpy(h + 16, t + 19, 4);
	memcpy(h + 20, t + 24, 12);
	return hex8(h, v) & hex8(h + 8, v + 4) & hex8(h + 16, v + 8) &
	       hex8(h + 24, v + 12);
}
#else
/* 36 characters of a lowercase UUID to 16 bytes */
static int uuid_parse(const uint8_t *t, uint8_t v[16])
{
	unsigned bad = 0, hi, lo;
	int i;

	if (t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-')
		return 0;
	for (i = 0; i < 16; i++) {
		hi = hex_of[t[uuid_at[i]]];
		lo = hex_of[t[uuid_at[i] + 1]];
		bad |= hi | lo;
		v[i] = (uint8_t)(hi << 4 | lo);
	}
	return !(bad & 0x80);
}
#endif

static void uuid_format(const uint8_t v[16], uint8_t *t)
{
	/* unrolled, the places constants: a third of the instructions of
	 * the loop */
#define HEX2(i) memcpy(t + uuid_at[i], hexpair + 2 * v[i], 2)
	HEX2(0);
	HEX2(1);
	HEX2(2);
	HEX2(3);
	HEX2(4);
	HEX2(5);
	HEX2(6);
	HEX2(7);
	HEX2(8);
	HEX2(9);
	HEX2(10);
	HEX2(11);
	HEX2(12);
	HEX2(13);
	HEX2(14);
	HEX2(15);
#undef HEX2
	t[8] = t[13] = t[18] = t[23] = '-';
}

/* 26 characters of a ULID to its 128 bits, big-endian */
static int ulid_parse(const uint8_t *t, uint8_t v[16])
{
	uint64_t hi, lo = 0;
	unsigned bad = 0, d;
	int i;

	if (t[0] < '0' || t[0] > '7')
		return 0;
	/* 3 bits, then 25 characters of 5: the upper 64 bits take the
	 * first 13 characters but one bit */
	hi = (uint64_t)(t[0] - '0');
	/* unrolled; a bad character's bits do not matter, as bad has
	 * them */
#pragma GCC unroll 12
	for (i = 1; i < 13; i++) {
		d = crock_of[t[i]];
		bad |= d;
		hi = hi << 5 | d;
	}
	/* hi has 3 + 60 = 63 bits; character 13 gives its last bit and
	 * the first 4 of lo */
	d = crock_of[t[13]];
	bad |= d;
	hi = hi << 1 | (d & 31) >> 4;
	lo = d & 15;
#pragma GCC unroll 12
	for (i = 14; i < 26; i++) {
		d = crock_of[t[i]];
		bad |= d;
		lo = lo << 5 | d;
	}
	if (bad & 0x80)
		return 0;
	put_be64(v, hi);
	put_be64(v + 8, lo);
	return 1;
}

static void ulid_format(const uint8_t v[16], uint8_t *t)
{
	uint64_t hi = get_be64(v), lo = get_be64(v + 8);

	/* as ulid_parse: 13 characters from lo's 64 bits and hi's last,
	 * 13 from the 63 bits of hi above it; two characters at a time,
	 * unrolled */
#define PAIR(i, x) memcpy(t + (i), crockpair + 2 * ((x)&1023), 2)
	PAIR(24, lo);
	PAIR(22, lo >> 10);
	PAIR(20, lo >> 20);
	PAIR(18, lo >> 30);
	PAIR(16, lo >> 40);
	PAIR(14, lo >> 50);
	t[13] = (uint8_t)crockford[(lo >> 60) | (hi & 1) << 4];
	hi >>= 1;
	PAIR(11, hi);
	PAIR(9, hi >> 10);
	PAIR(7, hi >> 20);
	PAIR(5, hi >> 30);
	PAIR(3, hi >> 40);
	PAIR(1, hi >> 50);
#undef PAIR
	t[0] = (uint8_t)crockford[(hi >> 60) & 7];
}

static const uint8_t *next_of(const uint8_t *from, const uint8_t *end, int c)
{
	const uint8_t *q =
		from < end ? memchr(from, c, (size_t)(end - from)) : NULL;

	return q != NULL ? q : end;
}

/*
 * The patterns of codec 2 (evlog(5)), each found by its first byte: a
 * UUID, a str8 of 36 characters, and a ULID, a fixstr of 26, stored as
 * their 16 bytes; a timestamp64, as the difference from the one before.
 */
static const struct pk_pattern {
	uint8_t kind;	 /* PK_UUID, PK_ULID, PK_TIME */
	uint8_t len;	 /* its msgpack bytes, header included */
	uint8_t hdr[2];	 /* the header */
	uint8_t hdr_len; /* the bytes of the header */
	int (*parse)(const uint8_t *t, uint8_t v[16]); /* 16-byte ones */
	void (*format)(const uint8_t v[16], uint8_t *t);
} pk_patterns[3] = {
	{PK_UUID, 38, {0xd9, 0x24}, 2, uuid_parse, uuid_format},
	{PK_ULID, 27, {0xba, 0}, 1, ulid_parse, ulid_format},
	{PK_TIME, 10, {0xd7, 0xff}, 2, NULL, NULL},
};

/* The pattern pt at q (its first byte there): its length, 0 if it is not
 * one; a 16-byte one in v */
static size_t pk_match(const struct pk_pattern *pt, const uint8_t *q,
		       const uint8_t *end, uint8_t v[16])
{
	if (end - q < pt->len || q[0] != pt->hdr[0] ||
	    (pt->hdr_len > 1 && q[1] != pt->hdr[1]))
		return 0;
	if (pt->parse != NULL && !pt->parse(q + pt->hdr_len, v))
		return 0;
	return pt->len;
}

int ev_pack(const uint8_t *raw, size_t n, struct ev_buf *out)
{
	const uint8_t *end = raw + n, *lit = raw, *q, *next[3];
	const struct pk_pattern *pt;
	uint8_t *gp, *kp, *dp, *rp, *o, v[16];
	size_t s = 0, l = 0, len;
	uint64_t prev = 0, t, z;
	int j;

	/* worst case per pattern: 4 bytes of gap, 1 of kind, 16 of bytes
	 * (or 10 of difference) for at least 10 bytes of input: sections
	 * are laid out at their worst, then moved together */
	out->len = 0;
	if (ev_buf_reserve(out, PK_HDR + 4 * n + 64) != 0)
		return EV_ERR;
	gp = out->p + PK_HDR;	    /* gaps: n/10 * 4 at most */
	kp = gp + n / 10 * 4 + 4;   /* kinds: n/10 */
	dp = kp + n / 10 + 1;	    /* differences: n/10 * 10 */
	rp = dp + n / 10 * 10 + 10; /* bytes: n/27 * 16 */
	o = rp + n / 27 * 16 + 16;  /* literals: n */
	/* where the next first byte of each pattern is */
	for (j = 0; j < 3; j++)
		next[j] = next_of(raw, end, pk_patterns[j].hdr[0]);
	for (;;) {
		j = next[1] < next[0] ? 1 : 0;
		if (next[2] < next[j])
			j = 2;
		if ((q = next[j]) == end)
			break;
		pt = &pk_patterns[j];
		if ((len = pk_match(pt, q, end, v)) == 0) {
			next[j] = next_of(q + 1, end, pt->hdr[0]);
			continue;
		}
		gp = ev_uleb_put(gp, (uint64_t)(q - lit));
		memcpy(o + l, lit, (size_t)(q - lit));
		l += (size_t)(q - lit);
		kp[s++] = pt->kind;
		if (pt->kind == PK_TIME) {
			t = get_be64(q + 2);
			z = t - prev; /* mod 2^64, then zigzag */
			z = (z << 1) ^ (uint64_t) - (int64_t)(z >> 63);
			prev = t;
			dp = ev_uleb_put(dp, z);
		} else {
			memcpy(rp, v, 16);
			rp += 16;
		}
		lit = q + len;
		for (j = 0; j < 3; j++)
			if (next[j] < lit)
				next[j] = next_of(lit, end,
						  pk_patterns[j].hdr[0]);
	}
	if (s == 0)
		return 0;
	memcpy(o + l, lit, (size_t)(end - lit));
	l += (size_t)(end - lit);
	{
		uint8_t *base = out->p + PK_HDR, *w;
		size_t gl = (size_t)(gp - base), dl, rl;
		uint8_t *k0 = base + n / 10 * 4 + 4;
		uint8_t *d0 = k0 + n / 10 + 1;
		uint8_t *r0 = d0 + n / 10 * 10 + 10;
		uint8_t *o0 = r0 + n / 27 * 16 + 16;
		dl = (size_t)(dp - d0);
		rl = (size_t)(rp - r0);
		w = base + gl;
		memmove(w, k0, s);
		w += s;
		memmove(w, d0, dl);
		w += dl;
		memmove(w, r0, rl);
		w += rl;
		memmove(w, o0, l);
		w += l;
		ev_put32(out->p, (uint32_t)s);
		ev_put32(out->p + 4, (uint32_t)gl);
		ev_put32(out->p + 8, (uint32_t)dl);
		ev_put32(out->p + 12, (uint32_t)l);
		out->len = (size_t)(w - out->p);
	}
	return 1;
}

static int get_uleb(const uint8_t **pp, const uint8_t *end, int max,
		    uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t x = 0;
	int i;

	for (i = 0; i < max; i++) {
		if (p >= end)
			return -1;
		x |= (uint64_t)(*p & 0x7f) << (7 * i);
		if (!(*p++ & 0x80)) {
			*pp = p;
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* The sizes in a packed payload's header (evlog(5)), checked against
 * its m bytes: 0, or -1 when they do not fit. */
static int pk_sizes(const uint8_t *pk, size_t m, size_t *s, size_t *g,
		    size_t *d, size_t *l)
{
	size_t rest;

	if (m < PK_HDR)
		return -1;
	*s = ev_get32(pk);
	*g = ev_get32(pk + 4);
	*d = ev_get32(pk + 8);
	*l = ev_get32(pk + 12);
	rest = m - PK_HDR;
	if (*g > rest || *s > rest - *g || *d > rest - *g - *s ||
	    *l > rest - *g - *s - *d || (rest - *g - *s - *d - *l) % 16 != 0)
		return -1;
	return 0;
}

long long ev_unpacked_len(const uint8_t *pk, size_t m)
{
	size_t s, g, d, l, i, n;

	if (pk_sizes(pk, m, &s, &g, &d, &l) != 0)
		return -1;
	for (n = l, i = 0; i < s; i++) {
		uint8_t k = pk[PK_HDR + g + i];
		if (k < PK_UUID || k > PK_TIME)
			return -1;
		n += pk_patterns[k - PK_UUID].len;
	}
	return (long long)n;
}

int ev_unpack(const uint8_t *pk, size_t m, uint8_t *out, size_t n)
{
	const struct pk_pattern *pt;
	const uint8_t *gp, *ge, *kp, *dp, *de, *rp, *re, *lp, *le;
	uint8_t *o = out, *oe = out + n;
	size_t s, g, d, l, i;
	uint64_t gap, z, prev = 0;

	if (pk_sizes(pk, m, &s, &g, &d, &l) != 0)
		return -1;
	gp = pk + PK_HDR;
	ge = gp + g;
	kp = ge;
	dp = kp + s;
	de = dp + d;
	rp = de;
	re = pk + m - l;
	lp = re;
	le = pk + m;
	for (i = 0; i < s; i++) {
		if (gp < ge && *gp < 0x80)
			gap = *gp++; /* the usual case, a gap under 128 */
		else if (get_uleb(&gp, ge, 4, &gap) != 0)
			return -1;
		if (gap > (uint64_t)(le - lp) || gap > (uint64_t)(oe - o))
			return -1;
		memcpy(o, lp, (size_t)gap);
		o += gap;
		lp += gap;
		switch (kp[i]) {
		case PK_UUID:
		case PK_ULID:
			pt = &pk_patterns[kp[i] - PK_UUID];
			if (re - rp < 16 || oe - o < pt->len)
				return -1;
			/* a ULID's header is 1 byte: format() writes over o[1]
			 */
			memcpy(o, pt->hdr, 2);
			pt->format(rp, o + pt->hdr_len);
			rp += 16;
			o += pt->len;
			break;
		case PK_TIME:
			if (get_uleb(&dp, de, 10, &z) != 0 || oe - o < 10)
				return -1;
			prev += (z >> 1) ^ (uint64_t) - (int64_t)(z & 1);
			o[0] = 0xd7;
			o[1] = 0xff;
			put_be64(o + 2, prev);
			o += 10;
			break;
		default:
			return -1;
		}
	}
	if (gp != ge || dp != de || rp != re ||
	    (size_t)(le - lp) != (size_t)(oe - o))
		return -1;
	memcpy(o, lp, (size_t)(le - lp));
	return 0;
}

/* ------------------------------------------------------------ payloads */

struct ev_codec {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	struct ev_buf pk; /* the packed form, codec 2 */
};

struct ev_codec *ev_codec_new(void)
{
	return calloc(1, sizeof(struct ev_codec));
}

void ev_codec_free(struct ev_codec *c)
{
	if (c == NULL)
		return;
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	ev_buf_free(&c->pk);
	free(c);
}

/* Compress raw into out (replacing its contents). */
int ev_codec_compress(struct ev_codec *c, int level, int pack,
		      const uint8_t *raw, size_t n, struct ev_buf *out,
		      uint8_t *codec, struct ev_error *err)
{
	size_t bound, r;
	int p = 0;

	if (c->cctx == NULL) {
		c->cctx = ZSTD_createCCtx();
		if (c->cctx == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
	}
	if (pack) {
		p = ev_pack(raw, n, &c->pk);
		if (p < 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		/* packing never grows what writers write; nothing else is
		 * stored packed */
		if (p == 1 && c->pk.len < n) {
			raw = c->pk.p;
			n = c->pk.len;
		} else {
			p = 0;
		}
	}
	bound = ZSTD_compressBound(n);
	ZSTD_CCtx_reset(c->cctx, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 0);
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 1);
	ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_windowLog, 0);
	/*
	 * A writer closes a batch once it passes its target (256 KiB by
	 * default), so batches fall just past the size up to which zstd
	 * picks its small-input parameters.  At level 1 the one that
	 * differs is the shortest match: 5 bytes below that size, 6 above.
	 * Keep zstd's choice for the size we aim at.  Records repeat keys,
	 * hashes and offsets in runs of 5 bytes (a msgpack uint32 is 5):
	 * gen_events.py data takes 1.7 % fewer bytes, wikiticker 3.3 %
	 * fewer, GH Archive 2.7 % more, at the same speed.
	 */
	if (level == 1)
		ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_minMatch, 5);
	out->len = 0;
	if (ev_buf_reserve_exact(out, bound) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	r = ZSTD_compress2(c->cctx, out->p, bound, raw, n);
	if (ZSTD_isError(r))
		return ev_seterr(err, EV_ERR, "zstd compression failed: %s",
				 ZSTD_getErrorName(r));
	out->len = r;
	*codec = p ? EV_CODEC_PACKED : EV_CODEC_ZSTD;
	return 0;
}

static int need_dctx(struct ev_codec *c)
{
	if (c->dctx == NULL) {
		c->dctx = ZSTD_createDCtx();
		if (c->dctx == NULL)
			return -1;
		ZSTD_DCtx_setParameter(c->dctx, ZSTD_d_windowLogMax,
				       EV_WINDOWLOG_MAX);
	}
	return 0;
}

/*
 * Decode a stored payload into raw (replacing its contents) and check the
 * record framing.  why gets a short reason on EV_EDATA.
 */
int ev_codec_decode(struct ev_codec *c, const struct ev_batchhdr *h,
		    const uint8_t *stored, struct ev_buf *raw, const char **why)
{
	unsigned long long fcs;
	size_t r;
	ZSTD_inBuffer in;
	ZSTD_outBuffer ob;
	struct ev_buf *dst = raw;

	raw->len = 0;
	if (ev_batch_is_gap(h))
		return 0; /* no records */
	if (h->codec == EV_CODEC_NONE) {
		if (ev_buf_append(raw, stored, h->stored_len) != 0) {
			*why = "out of memory";
			return EV_ERR;
		}
		return 0;
	}
	if (need_dctx(c) != 0) {
		*why = "out of memory";
		return EV_ERR;
	}
	/* one frame of exactly the declared sizes; the streaming API
	 * enforces windowLogMax, and decodes in one pass when the whole
	 * frame and its output fit, as they do here */
	fcs = ZSTD_getFrameContentSize(stored, h->stored_len);
	if (h->codec == EV_CODEC_PACKED ? fcs < PK_HDR || fcs >= h->raw_len
					: fcs != h->raw_len) {
		*why = "zstd frame size does not match the batch header";
		return EV_EDATA;
	}
	if (ZSTD_findFrameCompressedSize(stored, h->stored_len) !=
	    h->stored_len) {
		*why = "zstd frame length does not match the batch header";
		return EV_EDATA;
	}
	if (h->codec == EV_CODEC_PACKED) {
		dst = &c->pk;
		dst->len = 0;
	}
	if (ev_buf_reserve(dst, (size_t)fcs) != 0 ||
	    ev_buf_reserve(raw, h->raw_len) != 0) {
		*why = "out of memory";
		return EV_ERR;
	}
	ZSTD_DCtx_reset(c->dctx, ZSTD_reset_session_only);
	in.src = stored;
	in.size = h->stored_len;
	in.pos = 0;
	ob.dst = dst->p;
	ob.size = (size_t)fcs;
	ob.pos = 0;
	r = ZSTD_decompressStream(c->dctx, &ob, &in);
	if (ZSTD_isError(r) || r != 0 || ob.pos != fcs || in.pos != in.size) {
		*why = "zstd payload does not decompress";
		return EV_EDATA;
	}
	if (h->codec == EV_CODEC_PACKED) {
		if (ev_unpack(dst->p, ob.pos, raw->p, h->raw_len) != 0) {
			*why = "packed payload does not unpack";
			return EV_EDATA;
		}
		raw->len = h->raw_len;
		return 0;
	}
	r = ob.pos;
	raw->len = r;
	return 0;
}

/*
 * As much as a damaged zstd frame still gives: its output up to where
 * decoding fails, at most cap bytes, in raw (replacing its contents).
 * Only for salvage (evtail(1) SALVAGE): nothing says the bytes are right.
 */
int ev_codec_salvage(struct ev_codec *c, uint8_t codec, const uint8_t *in,
		     size_t n, size_t cap, struct ev_buf *raw)
{
	ZSTD_inBuffer ib;
	ZSTD_outBuffer ob;
	size_t r;
	struct ev_buf *dst = codec == EV_CODEC_ZSTD ? raw : &c->pk;

	raw->len = 0;
	if (need_dctx(c) != 0)
		return EV_ERR;
	dst->len = 0;
	if (ev_buf_reserve(raw, cap) != 0 || ev_buf_reserve(dst, cap) != 0)
		return EV_ERR;
	ZSTD_DCtx_reset(c->dctx, ZSTD_reset_session_only);
	ib.src = in;
	ib.size = n;
	ib.pos = 0;
	ob.dst = dst->p;
	ob.size = cap;
	ob.pos = 0;
	/* block by block, keeping what each gave before an error */
	r = 1;
	while (ib.pos < ib.size && ob.pos < ob.size) {
		size_t before_in = ib.pos, before_out = ob.pos;
		r = ZSTD_decompressStream(c->dctx, &ob, &ib);
		if (ZSTD_isError(r) || r == 0 ||
		    (ib.pos == before_in && ob.pos == before_out))
			break;
	}
	if (codec == EV_CODEC_ZSTD) {
		raw->len = ob.pos;
		return 0;
	}
	/* the packed form keeps its literals last: only a whole frame
	 * gives records, and then all of them.  A frame whose codec is not
	 * known (its header is damaged) is packed if it unpacks. */
	if (r == 0) {
		long long len = ev_unpacked_len(dst->p, ob.pos);
		if (codec == EV_CODEC_PACKED && len != (long long)cap)
			len = -1;
		if (len >= 0 && (size_t)len <= cap &&
		    ev_unpack(dst->p, ob.pos, raw->p, (size_t)len) == 0) {
			raw->len = (size_t)len;
			return 0;
		}
	}
	if (codec != EV_CODEC_PACKED) {
		memcpy(raw->p, dst->p, ob.pos);
		raw->len = ob.pos;
	}
	return 0;
}

/* Check that a raw payload holds exactly count framed records. */
int ev_payload_check(const uint8_t *p, size_t n, uint32_t count,
		     const char **why)
{
	const uint8_t *end = p + n, *rec;
	size_t len;
	uint32_t i;

	for (i = 0; i < count; i++) {
		if (ev_payload_next(&p, end, &rec, &len) != 0) {
			*why = "record framing is damaged";
			return EV_EDATA;
		}
	}
	if (p != end) {
		*why = "batch payload has bytes after its last record";
		return EV_EDATA;
	}
	return 0;
}

int ev_payload_next(const uint8_t **pp, const uint8_t *end, const uint8_t **rec,
		    size_t *n)
{
	const uint8_t *p = *pp;
	uint64_t len = 0;
	int shift = 0;

	for (;;) {
		if (p >= end || shift > 21)
			return -1;
		len |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p++ & 0x80))
			break;
		shift += 7;
	}
	if (len == 0 || len > EV_MAX_RECORD || len > (uint64_t)(end - p))
		return -1;
	*rec = p;
	*n = (size_t)len;
	*pp = p + len;
	return 0;
}

/* ------------------------------------------------------------ files */

void ev_segment_name(char *out, size_t n, uint64_t base, const char *ext)
{
	snprintf(out, n, "%020llu.%s", (unsigned long long)base, ext);
}

/*
 * Read and check the batch at pos of an open segment.  Fills h and, when
 * stored is not NULL, the stored payload.  Returns 0, EV_EDATA (why set)
 * when the bytes there are not a valid batch, 1 when the file ends first
 * (why set), or EV_EIO.
 */
int ev_segment_read_batch(int fd, uint64_t pos, uint64_t limit, uint64_t salt,
			  struct ev_batchhdr *h, struct ev_buf *stored,
			  const char **why)
{
	uint8_t hdr[EV_BATCHHDR_SIZE];
	int r;

	if (limit - pos < EV_BATCHHDR_SIZE) {
		*why = "incomplete batch header";
		return 1;
	}
	r = ev_read_full(fd, hdr, sizeof(hdr), pos);
	if (r < 0) {
		*why = strerror(errno);
		return EV_EIO;
	}
	if (r == 0) {
		*why = "incomplete batch header";
		return 1;
	}
	if (ev_batchhdr_decode(hdr, salt, h, why) != 0)
		return EV_EDATA;
	if (limit - pos - EV_BATCHHDR_SIZE < h->stored_len) {
		*why = "incomplete batch payload";
		return 1;
	}
	if (stored != NULL)
		stored->len = 0;
	if (stored == NULL || ev_batch_is_gap(h))
		return 0; /* a gap's filler is never read */
	stored->len = 0;
	if (ev_buf_reserve(stored, h->stored_len) != 0) {
		*why = "out of memory";
		return EV_ERR;
	}
	r = ev_read_full(fd, stored->p, h->stored_len, pos + EV_BATCHHDR_SIZE);
	if (r < 0) {
		*why = strerror(errno);
		return EV_EIO;
	}
	if (r == 0) {
		*why = "incomplete batch payload";
		return 1;
	}
	stored->len = h->stored_len;
	if (ev_crc32c(0, stored->p, h->stored_len) != h->payload_crc) {
		*why = "batch payload checksum mismatch";
		return EV_EDATA;
	}
	return 0;
}

/*
 * Is there a valid batch anywhere in [from, limit)?  Used to tell a torn
 * tail (nothing valid after the bad bytes) from damage (something is).
 * Reads in bounded chunks and checks every candidate fully.
 */
int ev_segment_valid_after(int fd, uint64_t from, uint64_t limit, uint64_t salt)
{
	uint64_t at;
	struct ev_batchhdr h;

	return ev_segment_find_valid(fd, from, limit, salt, &at, &h);
}

int ev_segment_find_valid(int fd, uint64_t from, uint64_t limit, uint64_t salt,
			  uint64_t *at, struct ev_batchhdr *out)
{
	uint8_t chunk[65536 + EV_BATCHHDR_SIZE];
	uint8_t saltb[8];
	struct ev_batchhdr h;
	struct ev_buf stored = {0};
	uint64_t pos = from, cand;
	size_t got, i;
	const char *why;
	int r, found = 0;

	ev_put64(saltb, salt);
	while (pos + EV_BATCHHDR_SIZE <= limit && !found) {
		got = (size_t)(limit - pos < sizeof(chunk) ? limit - pos
							   : sizeof(chunk));
		r = ev_read_full(fd, chunk, got, pos);
		if (r <= 0)
			break;
		for (i = 48; i + 8 <= got && i + 16 <= got; i++) {
			if (memcmp(chunk + i, saltb, 8) != 0)
				continue;
			cand = pos + i - 48;
			if (cand < from)
				continue;
			if (ev_segment_read_batch(fd, cand, limit, salt, &h,
						  &stored, &why) == 0) {
				found = 1;
				*at = cand;
				*out = h;
				break;
			}
		}
		if (got < sizeof(chunk))
			break;
		pos += got - EV_BATCHHDR_SIZE;
	}
	ev_buf_free(&stored);
	return found;
}

/*
 * Does the bad batch at pos look like a write that never reached the disk,
 * rather than damage?  A power cut can lose any of the sectors written
 * since the last sync, and a lost sector of a file being extended reads
 * as zeros; later batches of the same unsynced run may have landed.  So:
 * the batch's length field is zero (no batch has one), or a sector it
 * covers is zeros from where the batch (or the sector) starts to where
 * the sector (or the file) ends, 16 bytes at least, so a few zeros of
 * real data are not taken for a lost sector; the next batch's length
 * field would be in the same sector.  Nothing after such a batch was
 * acknowledged: the sync that would have covered it never returned.
 */
int ev_segment_torn(int fd, uint64_t pos, uint64_t limit, uint64_t salt)
{
	uint8_t buf[EV_SECTOR], hdr[EV_BATCHHDR_SIZE];
	struct ev_batchhdr h;
	const char *why;
	uint64_t end, at, from, stop;
	size_t n, i;
	int decoded;

	if (limit - pos < 4 || ev_read_full(fd, buf, 4, pos) != 1)
		return 0;
	if (ev_get32(buf) == 0)
		return 1;
	end = pos + EV_BATCHHDR_SIZE;
	decoded = limit - pos >= EV_BATCHHDR_SIZE &&
		  ev_read_full(fd, hdr, sizeof(hdr), pos) == 1 &&
		  ev_batchhdr_decode(hdr, salt, &h, &why) == 0;
	if (decoded)
		end += h.stored_len;
	if (end > limit)
		end = limit;
	for (at = pos / EV_SECTOR * EV_SECTOR; at < end; at += EV_SECTOR) {
		from = at > pos ? at : pos;
		stop = at + EV_SECTOR < limit ? at + EV_SECTOR : limit;
		n = (size_t)(stop - from);
		/* a piece this short is zero by chance too, but not the
		 * first bytes of a header that does not check out: those
		 * at the end of a sector that a power cut lost, the rest
		 * in the next one (the header's first byte is its length's
		 * lowest) */
		if ((n < 16 && !(from == pos && !decoded)) ||
		    ev_read_full(fd, buf, n, from) != 1)
			continue;
		for (i = 0; i < n && buf[i] == 0; i++)
			;
		if (i == n)
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ creating */

static const uint8_t idx_magic[4] = {'E', 'V', 'I', 'X'};
static const uint8_t tix_magic[4] = {'E', 'V', 'T', 'X'};
static const uint8_t six_magic[4] = {'E', 'V', 'S', 'X'};

void ev_index_header(uint8_t out[EV_IDXHDR_SIZE], int time, uint64_t salt)
{
	memcpy(out, time ? tix_magic : idx_magic, 4);
	ev_put16(out + 4, 1);
	ev_put16(out + 6, time ? EV_TIX_ENTRY : EV_IDX_ENTRY);
	ev_put64(out + 8, salt);
}

/* the summary index's header (evlog(5) Summaries) */
void ev_six_header(uint8_t out[EV_IDXHDR_SIZE], uint64_t salt)
{
	memcpy(out, six_magic, 4);
	ev_put16(out + 4, 1);
	ev_put16(out + 6, EV_SIX_ENTRY);
	ev_put64(out + 8, salt);
}

int ev_segment_create(struct ev_log *log, uint64_t base, uint64_t *salt,
		      struct ev_error *err)
{
	uint8_t hdr[EV_SEGHDR_SIZE], ih[EV_IDXHDR_SIZE];
	char name[40];
	const char *ext[4] = {"seg", "idx", "tix", "six"};
	uint8_t rnd[8];
	int fd, i;

	/* bytes, read little-endian as they are written: the same salt on
	 * every machine under the deterministic test source */
	ev_random(rnd, sizeof(rnd));
	*salt = ev_get64(rnd);
	for (i = 0; i < 4; i++) {
		ev_segment_name(name, sizeof(name), base, ext[i]);
		/* a summary index left behind by a trim or a cut is
		 * another segment's: replaced */
		fd = ev_openat(log->dirfd, name,
			       O_RDWR | O_CREAT | (i == 3 ? O_TRUNC : O_EXCL),
			       0644);
		if (fd < 0)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot create '%s/%s'",
					       log->path, name);
		if (i == 0) {
			ev_seghdr_encode(hdr, base, *salt, log->id);
			/* writers keep its summary index (evlog(5)) */
			ev_put32(hdr + 12, EV_COMPAT_SUMMARIES);
			/* and may pack its batches when they compress */
			if (log->cfg.level > 0)
				ev_put32(hdr + 16, EV_INCOMPAT_PACKED);
			ev_put32(hdr + 60, ev_crc32c(0, hdr, 60));
		} else if (i == 3) {
			ev_six_header(ih, *salt);
		} else {
			ev_index_header(ih, i == 2, *salt);
		}
		if (ev_write_full(fd, i == 0 ? hdr : ih,
				  i == 0 ? sizeof(hdr) : sizeof(ih), 0) != 0 ||
		    (i == 0 && fdatasync(fd) != 0)) {
			int e = errno;
			close(fd);
			unlinkat(log->dirfd, name, 0);
			return ev_seterr_errno(err, EV_EIO, e,
					       "cannot write '%s/%s'",
					       log->path, name);
		}
		close(fd);
	}
	if (ev_fsync_dir(log->dirfd) != 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot sync directory '%s'", log->path);
	return 0;
}
