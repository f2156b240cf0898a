/*
 * mpwrite.c - MessagePack encoders.  Each writes the smallest encoding of
 * its value into a buffer the caller has reserved room in, and returns the
 * end.  Smallest-form encoding keeps records deterministic (evlog(5)).
 */
#include "evlog_private.h"

uint8_t *ev_mp_uint(uint8_t *o, uint64_t v)
{
	if (v < 0x80) {
		*o++ = (uint8_t)v;
	} else if (v <= 0xff) {
		*o++ = 0xcc;
		*o++ = (uint8_t)v;
	} else if (v <= 0xffff) {
		*o++ = 0xcd;
		ev_be16(o, (uint16_t)v);
		o += 2;
	} else if (v <= 0xffffffffu) {
		*o++ = 0xce;
		ev_be32(o, (uint32_t)v);
		o += 4;
	} else {
		*o++ = 0xcf;
		ev_be64(o, v);
		o += 8;
	}
	return o;
}

uint8_t *ev_mp_int(uint8_t *o, int64_t v)
{
	if (v >= 0)
		return ev_mp_uint(o, (uint64_t)v);
	if (v >= -32) {
		*o++ = (uint8_t)(int8_t)v;
	} else if (v >= INT8_MIN) {
		*o++ = 0xd0;
		*o++ = (uint8_t)(int8_t)v;
	} else if (v >= INT16_MIN) {
		*o++ = 0xd1;
		ev_be16(o, (uint16_t)(int16_t)v);
		o += 2;
	} else if (v >= INT32_MIN) {
		*o++ = 0xd2;
		ev_be32(o, (uint32_t)(int32_t)v);
		o += 4;
	} else {
		*o++ = 0xd3;
		ev_be64(o, (uint64_t)v);
		o += 8;
	}
	return o;
}

static uint8_t *hdr(uint8_t *o, size_t n, uint8_t fix, size_t fixmax,
		    uint8_t c8, uint8_t c16, uint8_t c32)
{
	if (n <= fixmax) {
		*o++ = (uint8_t)(fix | n);
	} else if (c8 && n <= 0xff) {
		*o++ = c8;
		*o++ = (uint8_t)n;
	} else if (n <= 0xffff) {
		*o++ = c16;
		ev_be16(o, (uint16_t)n);
		o += 2;
	} else {
		*o++ = c32;
		ev_be32(o, (uint32_t)n);
		o += 4;
	}
	return o;
}

uint8_t *ev_mp_str_hdr(uint8_t *o, size_t n)
{
	return hdr(o, n, 0xa0, 31, 0xd9, 0xda, 0xdb);
}

uint8_t *ev_mp_bin_hdr(uint8_t *o, size_t n)
{
	if (n <= 0xff) {
		*o++ = 0xc4;
		*o++ = (uint8_t)n;
		return o;
	}
	return hdr(o, n, 0, 0, 0, 0xc5, 0xc6);
}

uint8_t *ev_mp_map_hdr(uint8_t *o, size_t n)
{
	return hdr(o, n, 0x80, 15, 0, 0xde, 0xdf);
}

uint8_t *ev_mp_array_hdr(uint8_t *o, size_t n)
{
	return hdr(o, n, 0x90, 15, 0, 0xdc, 0xdd);
}

uint8_t *ev_mp_double(uint8_t *o, double d)
{
	uint64_t u;

	memcpy(&u, &d, 8);
	*o++ = 0xcb;
	ev_be64(o, u);
	return o + 8;
}

/* msgpack timestamp extension (type -1) in its smallest form */
uint8_t *ev_mp_time(uint8_t *o, ev_time_t t)
{
	int64_t sec = t / 1000000000;
	int64_t ns = t % 1000000000;

	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	if (ns == 0 && sec >= 0 && sec <= 0xffffffffLL) {
		*o++ = 0xd6;
		*o++ = 0xff;
		ev_be32(o, (uint32_t)sec);
		return o + 4;
	}
	if (sec >= 0 && sec < (1LL << 34)) {
		*o++ = 0xd7;
		*o++ = 0xff;
		ev_be64(o, ((uint64_t)ns << 34) | (uint64_t)sec);
		return o + 8;
	}
	*o++ = 0xc7;
	*o++ = 12;
	*o++ = 0xff;
	ev_be32(o, (uint32_t)ns);
	ev_be64(o + 4, (uint64_t)sec);
	return o + 12;
}

int ev_buf_mp_str(struct ev_buf *b, const char *s, size_t n)
{
	uint8_t *o;

	if (ev_buf_reserve(b, n + 5) != 0)
		return EV_ERR;
	o = ev_mp_str_hdr(b->p + b->len, n);
	memcpy(o, s, n);
	b->len = (size_t)(o + n - b->p);
	return 0;
}
