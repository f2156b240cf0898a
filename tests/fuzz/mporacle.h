/*
 * mporacle.h - msgpack-c as the oracle for libevlog's MessagePack
 * reader (lib/mpread.c) and writers: is the value libevlog reads at some
 * bytes the value msgpack-c unpacks from them?
 *
 * The fuzz targets and the unit tests share it.  Only one direction is
 * asserted: what libevlog accepts, msgpack-c must decode to the same
 * value.  libevlog is the stricter reader (UTF-8, its own depth of 64),
 * so the other direction does not hold.  msgpack-c's C unpacker has a
 * fixed stack of 32 containers (MSGPACK_EMBED_STACK_SIZE, built into the
 * library): a value nested deeper, which libevlog reads, is outside the
 * oracle and mpo_check() says so instead of comparing.
 */
#ifndef EVLOG_MPORACLE_H
#define EVLOG_MPORACLE_H

#include <string.h>

#include <msgpack.h>

#include "evlog_private.h"

#define MPO_MAX_DEPTH 32 /* msgpack-c's unpacker */

/* Containers nested at p (1 for an array of scalars), or -1; counted
 * up to EV_MAX_DEPTH + 1. */
static inline int mpo_depth(const uint8_t **p, const uint8_t *end, int lim)
{
	struct ev_mp_item it;
	uint64_t k, count;
	int d, max = 0;

	if (ev_mp_read(p, end, &it) != 0)
		return -1;
	if (it.type != EV_MP_ARRAY && it.type != EV_MP_MAP)
		return 0;
	if (lim == 0)
		return 1;
	count = it.type == EV_MP_MAP ? 2ull * it.n : it.n;
	if (count > (uint64_t)(end - *p))
		return -1;
	for (k = 0; k < count; k++) {
		d = mpo_depth(p, end, lim - 1);
		if (d < 0)
			return -1;
		if (d > max)
			max = d;
	}
	return max + 1;
}

/* The value at *p as libevlog reads it is o: 0, or -1 with *why. */
static inline int mpo_same(const uint8_t **p, const uint8_t *end,
			   const msgpack_object *o, const char **why)
{
	struct ev_mp_item it;
	uint32_t i;
	double f;

	if (ev_mp_read(p, end, &it) != 0) {
		*why = "libevlog cannot read it";
		return -1;
	}
	switch (it.type) {
	case EV_MP_NIL:
		if (o->type == MSGPACK_OBJECT_NIL)
			return 0;
		break;
	case EV_MP_BOOL:
		if (o->type == MSGPACK_OBJECT_BOOLEAN &&
		    o->via.boolean == (it.v.b != 0))
			return 0;
		break;
	case EV_MP_UINT:
		if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    o->via.u64 == it.v.u)
			return 0;
		break;
	case EV_MP_INT:
		/* msgpack-c calls a signed encoding of 5 positive */
		if (it.v.i >= 0 && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    o->via.u64 == (uint64_t)it.v.i)
			return 0;
		if (it.v.i < 0 && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
		    o->via.i64 == it.v.i)
			return 0;
		break;
	case EV_MP_FLOAT:
		f = o->via.f64;
		/* the same bits, NaNs included */
		if ((o->type == MSGPACK_OBJECT_FLOAT32 ||
		     o->type == MSGPACK_OBJECT_FLOAT64) &&
		    memcmp(&f, &it.v.f, sizeof(f)) == 0)
			return 0;
		break;
	case EV_MP_STR:
		if (o->type == MSGPACK_OBJECT_STR && o->via.str.size == it.n &&
		    (it.n == 0 || memcmp(o->via.str.ptr, it.p, it.n) == 0))
			return 0;
		break;
	case EV_MP_BIN:
		if (o->type == MSGPACK_OBJECT_BIN && o->via.bin.size == it.n &&
		    (it.n == 0 || memcmp(o->via.bin.ptr, it.p, it.n) == 0))
			return 0;
		break;
	case EV_MP_EXT:
		if (o->type == MSGPACK_OBJECT_EXT &&
		    o->via.ext.type == it.ext_type && o->via.ext.size == it.n &&
		    (it.n == 0 || memcmp(o->via.ext.ptr, it.p, it.n) == 0))
			return 0;
		break;
	case EV_MP_ARRAY:
		if (o->type != MSGPACK_OBJECT_ARRAY ||
		    o->via.array.size != it.n)
			break;
		for (i = 0; i < it.n; i++)
			if (mpo_same(p, end, &o->via.array.ptr[i], why) != 0)
				return -1;
		return 0;
	case EV_MP_MAP:
		if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size != it.n)
			break;
		for (i = 0; i < it.n; i++)
			if (mpo_same(p, end, &o->via.map.ptr[i].key, why) !=
				    0 ||
			    mpo_same(p, end, &o->via.map.ptr[i].val, why) != 0)
				return -1;
		return 0;
	}
	*why = "msgpack-c unpacks another value";
	return -1;
}

enum { MPO_SAME = 0, MPO_DIFFERS = -1, MPO_TOO_DEEP = 1 };

/*
 * The n bytes at b hold one value that libevlog accepts: does msgpack-c
 * unpack exactly those bytes to the same value?  MPO_SAME, MPO_DIFFERS
 * with *why, or MPO_TOO_DEEP when the value is nested deeper than
 * msgpack-c unpacks (and msgpack-c refuses it).
 */
static inline int mpo_check(const uint8_t *b, size_t n, const char **why)
{
	msgpack_unpacked res;
	msgpack_unpack_return r;
	const uint8_t *p = b;
	size_t off = 0;
	int rc = MPO_SAME;

	msgpack_unpacked_init(&res);
	r = msgpack_unpack_next(&res, (const char *)b, n, &off);
	if (r != MSGPACK_UNPACK_SUCCESS) {
		p = b;
		if (r == MSGPACK_UNPACK_NOMEM_ERROR &&
		    mpo_depth(&p, b + n, EV_MAX_DEPTH + 1) > MPO_MAX_DEPTH) {
			rc = MPO_TOO_DEEP;
		} else {
			*why = "msgpack-c refuses it";
			rc = MPO_DIFFERS;
		}
	} else if (off != n) {
		*why = "msgpack-c reads another length";
		rc = MPO_DIFFERS;
	} else if (mpo_same(&p, b + n, &res.data, why) != 0) {
		rc = MPO_DIFFERS;
	} else if (p != b + n) {
		*why = "libevlog reads another length";
		rc = MPO_DIFFERS;
	}
	msgpack_unpacked_destroy(&res);
	return rc;
}

#endif
