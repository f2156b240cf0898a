/*
 * mpread.c - bounds-checked MessagePack reading.  Records can come from a
 * crafted file or an archive from elsewhere and still pass their CRC, so
 * every declared length is checked against the bytes that remain before
 * it is used, and nothing is allocated from a declared size.
 */
#include <stdlib.h>

#include "evlog_private.h"

#define NEED(k)                                      \
	do {                                         \
		if ((size_t)(end - p) < (size_t)(k)) \
			return -1;                   \
	} while (0)

int ev_mp_read(const uint8_t **pp, const uint8_t *end, struct ev_mp_item *it)
{
	const uint8_t *p = *pp;
	uint8_t c;
	uint32_t n;
	uint64_t u;

	NEED(1);
	c = *p++;
	if (c <= 0x7f) {
		it->type = EV_MP_UINT;
		it->v.u = c;
	} else if (c >= 0xe0) {
		it->type = EV_MP_INT;
		it->v.i = (int8_t)c;
	} else if (c <= 0x8f) {
		it->type = EV_MP_MAP;
		it->n = c & 0x0f;
	} else if (c <= 0x9f) {
		it->type = EV_MP_ARRAY;
		it->n = c & 0x0f;
	} else if (c <= 0xbf) {
		it->type = EV_MP_STR;
		n = c & 0x1f;
		goto payload;
	} else {
		switch (c) {
		case 0xc0:
			it->type = EV_MP_NIL;
			break;
		case 0xc2:
		case 0xc3:
			it->type = EV_MP_BOOL;
			it->v.b = c == 0xc3;
			break;
		case 0xc4:
		case 0xc5:
		case 0xc6:
			it->type = EV_MP_BIN;
			goto len;
		case 0xd9:
		case 0xda:
		case 0xdb:
			it->type = EV_MP_STR;
len:
			if (c == 0xc4 || c == 0xd9) {
				NEED(1);
				n = *p++;
			} else if (c == 0xc5 || c == 0xda) {
				NEED(2);
				n = ev_rbe16(p);
				p += 2;
			} else {
				NEED(4);
				n = ev_rbe32(p);
				p += 4;
			}
			goto payload;
		case 0xca: {
			float f;
			uint32_t w;
			NEED(4);
			w = ev_rbe32(p);
			memcpy(&f, &w, 4);
			it->type = EV_MP_FLOAT;
			it->v.f = f;
			p += 4;
			break;
		}
		case 0xcb:
			NEED(8);
			u = ev_rbe64(p);
			memcpy(&it->v.f, &u, 8);
			it->type = EV_MP_FLOAT;
			p += 8;
			break;
		case 0xcc:
			NEED(1);
			it->type = EV_MP_UINT;
			it->v.u = *p++;
			break;
		case 0xcd:
			NEED(2);
			it->type = EV_MP_UINT;
			it->v.u = ev_rbe16(p);
			p += 2;
			break;
		case 0xce:
			NEED(4);
			it->type = EV_MP_UINT;
			it->v.u = ev_rbe32(p);
			p += 4;
			break;
		case 0xcf:
			NEED(8);
			it->type = EV_MP_UINT;
			it->v.u = ev_rbe64(p);
			p += 8;
			break;
		case 0xd0:
			NEED(1);
			it->type = EV_MP_INT;
			it->v.i = (int8_t)*p++;
			break;
		case 0xd1:
			NEED(2);
			it->type = EV_MP_INT;
			it->v.i = (int16_t)ev_rbe16(p);
			p += 2;
			break;
		case 0xd2:
			NEED(4);
			it->type = EV_MP_INT;
			it->v.i = (int32_t)ev_rbe32(p);
			p += 4;
			break;
		case 0xd3:
			NEED(8);
			it->type = EV_MP_INT;
			it->v.i = (int64_t)ev_rbe64(p);
			p += 8;
			break;
		case 0xdc:
			NEED(2);
			it->type = EV_MP_ARRAY;
			it->n = ev_rbe16(p);
			p += 2;
			break;
		case 0xdd:
			NEED(4);
			it->type = EV_MP_ARRAY;
			it->n = ev_rbe32(p);
			p += 4;
			break;
		case 0xde:
			NEED(2);
			it->type = EV_MP_MAP;
			it->n = ev_rbe16(p);
			p += 2;
			break;
		case 0xdf:
			NEED(4);
			it->type = EV_MP_MAP;
			it->n = ev_rbe32(p);
			p += 4;
			break;
		case 0xd4:
		case 0xd5:
		case 0xd6:
		case 0xd7:
		case 0xd8:
			n = 1u << (c - 0xd4);
			NEED(1);
			it->type = EV_MP_EXT;
			it->ext_type = (int8_t)*p++;
			goto payload;
		case 0xc7:
		case 0xc8:
		case 0xc9:
			if (c == 0xc7) {
				NEED(2);
				n = *p++;
			} else if (c == 0xc8) {
				NEED(3);
				n = ev_rbe16(p);
				p += 2;
			} else {
				NEED(5);
				n = ev_rbe32(p);
				p += 4;
			}
			it->type = EV_MP_EXT;
			it->ext_type = (int8_t)*p++;
			goto payload;
		default: /* 0xc1 is never used */
			return -1;
		}
	}
	*pp = p;
	return 0;
payload:
	NEED(n);
	it->p = p;
	it->n = n;
	*pp = p + n;
	return 0;
}

int ev_mp_skip(const uint8_t **pp, const uint8_t *end, int depth)
{
	struct ev_mp_item it;
	uint64_t k, count;

	if (ev_mp_read(pp, end, &it) != 0)
		return -1;
	if (it.type != EV_MP_ARRAY && it.type != EV_MP_MAP)
		return 0;
	if (depth > EV_READ_DEPTH)
		return -1;
	count = it.type == EV_MP_MAP ? 2ull * it.n : it.n;
	/* each element takes at least one byte */
	if (count > (uint64_t)(end - *pp))
		return -1;
	for (k = 0; k < count; k++)
		if (ev_mp_skip(pp, end, depth + 1) != 0)
			return -1;
	return 0;
}

/*
 * Skip one value as ev_mp_skip() does, but faster, without recursion
 * and without reading items in full: for the hot paths that skip
 * values of records known to decode (upcasting).  Nesting is not
 * limited (nothing recurses).
 */
int ev_mp_skip_fast(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	uint64_t left = 1;
	size_t n;
	uint8_t c;

	while (left > 0) {
		if (p >= end || left > (uint64_t)(end - p))
			return -1;
		c = *p++;
		left--;
		if (c <= 0x7f || c >= 0xe0)
			continue;
		if (c <= 0x8f) {
			left += 2u * (c & 0x0f);
			continue;
		}
		if (c <= 0x9f) {
			left += c & 0x0f;
			continue;
		}
		if (c <= 0xbf) {
			n = c & 0x1f;
			goto advance;
		}
		switch (c) {
		case 0xc0:
		case 0xc2:
		case 0xc3:
			continue;
		case 0xcc:
		case 0xd0:
			n = 1;
			goto advance;
		case 0xcd:
		case 0xd1:
			n = 2;
			goto advance;
		case 0xca:
		case 0xce:
		case 0xd2:
			n = 4;
			goto advance;
		case 0xcb:
		case 0xcf:
		case 0xd3:
			n = 8;
			goto advance;
		case 0xc4:
		case 0xd9:
			if (end - p < 1)
				return -1;
			n = p[0];
			p += 1;
			goto advance;
		case 0xc5:
		case 0xda:
			if (end - p < 2)
				return -1;
			n = ev_rbe16(p);
			p += 2;
			goto advance;
		case 0xc6:
		case 0xdb:
			if (end - p < 4)
				return -1;
			n = ev_rbe32(p);
			p += 4;
			goto advance;
		case 0xdc:
		case 0xde:
			if (end - p < 2)
				return -1;
			left += (uint64_t)ev_rbe16(p) * (c == 0xde ? 2 : 1);
			p += 2;
			continue;
		case 0xdd:
		case 0xdf:
			if (end - p < 4)
				return -1;
			left += (uint64_t)ev_rbe32(p) * (c == 0xdf ? 2 : 1);
			p += 4;
			continue;
		case 0xd4:
		case 0xd5:
		case 0xd6:
		case 0xd7:
		case 0xd8:
			n = 1 + (1u << (c - 0xd4));
			goto advance;
		case 0xc7:
		case 0xc8:
		case 0xc9:
			n = c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4;
			if ((size_t)(end - p) < n + 1)
				return -1;
			n = (c == 0xc7	 ? p[0]
			     : c == 0xc8 ? ev_rbe16(p)
					 : ev_rbe32(p)) +
			    n + 1;
			goto advance;
		default:
			return -1;
		}
advance:
		if ((size_t)(end - p) < n)
			return -1;
		p += n;
	}
	*pp = p;
	return 0;
}

int ev_mp_check_json(const uint8_t **pp, const uint8_t *end, int depth,
		     const char **why)
{
	struct ev_mp_item it;
	uint64_t k, count;

	if (ev_mp_read(pp, end, &it) != 0) {
		*why = "truncated or invalid msgpack value";
		return -1;
	}
	switch (it.type) {
	case EV_MP_STR:
		if (ev_utf8_valid(it.p, it.n) != it.n) {
			*why = "string is not valid UTF-8";
			return -1;
		}
		return 0;
	case EV_MP_BIN:
		*why = "binary value inside data or meta";
		return -1;
	case EV_MP_EXT:
		*why = "msgpack extension value inside data or meta";
		return -1;
	case EV_MP_FLOAT:
		if (it.v.f != it.v.f || it.v.f - it.v.f != 0) {
			*why = "non-finite float";
			return -1;
		}
		return 0;
	case EV_MP_ARRAY:
	case EV_MP_MAP:
		break;
	default:
		return 0;
	}
	if (depth > EV_READ_DEPTH) {
		*why = "nesting deeper than 66 levels";
		return -1;
	}
	count = it.n;
	if ((it.type == EV_MP_MAP ? 2 * count : count) >
	    (uint64_t)(end - *pp)) {
		*why = "container larger than the record";
		return -1;
	}
	for (k = 0; k < count; k++) {
		if (it.type == EV_MP_MAP) {
			const uint8_t *kp = *pp;
			struct ev_mp_item key;
			if (ev_mp_read(&kp, end, &key) != 0 ||
			    key.type != EV_MP_STR) {
				*why = "map key is not a string";
				return -1;
			}
			if (ev_utf8_valid(key.p, key.n) != key.n) {
				*why = "string is not valid UTF-8";
				return -1;
			}
			*pp = kp;
		}
		if (ev_mp_check_json(pp, end, depth + 1, why) != 0)
			return -1;
	}
	return 0;
}

int ev_mp_time_decode(const struct ev_mp_item *it, ev_time_t *t)
{
	int64_t sec;
	uint32_t ns;
	uint64_t w;

	if (it->type != EV_MP_EXT || it->ext_type != -1)
		return -1;
	if (it->n == 4) {
		sec = ev_rbe32(it->p);
		ns = 0;
	} else if (it->n == 8) {
		w = ev_rbe64(it->p);
		ns = (uint32_t)(w >> 34);
		sec = (int64_t)(w & ((1ull << 34) - 1));
	} else if (it->n == 12) {
		ns = ev_rbe32(it->p);
		sec = (int64_t)ev_rbe64(it->p + 4);
	} else {
		return -1;
	}
	if (ns > 999999999)
		return -1;
	/* representable as a time (EV_TIME_RANGE) */
	return ev_time_from_sec(sec, ns, t) == 0 ? 0 : -1;
}

int ev_mp_path(const uint8_t *p, size_t n, const char *path,
	       const uint8_t **val, size_t *val_len)
{
	const uint8_t *end = p + n, *found, *vstart;
	struct ev_mp_item it, key;
	size_t seg;
	uint32_t i;
	char *e;
	unsigned long idx;

	while (*path != '\0') {
		seg = strcspn(path, ".");
		if (ev_mp_read(&p, end, &it) != 0)
			return EV_EDATA;
		found = NULL;
		if (it.type == EV_MP_MAP) {
			for (i = 0; i < it.n; i++) {
				if (ev_mp_read(&p, end, &key) != 0)
					return EV_EDATA;
				vstart = p;
				if (ev_mp_skip(&p, end, 1) != 0)
					return EV_EDATA;
				/* the last of duplicate keys wins, as in jq */
				if (key.type == EV_MP_STR && key.n == seg &&
				    memcmp(key.p, path, seg) == 0)
					found = vstart;
			}
		} else if (it.type == EV_MP_ARRAY) {
			if (seg == 0 || path[0] < '0' || path[0] > '9')
				return 0;
			idx = strtoul(path, &e, 10);
			if (e != path + seg)
				return 0;
			for (i = 0; i < it.n; i++) {
				if (i == idx)
					found = p;
				if (ev_mp_skip(&p, end, 1) != 0)
					return EV_EDATA;
			}
		} else {
			return 0;
		}
		if (found == NULL)
			return 0;
		p = found;
		path += seg;
		if (*path == '.')
			path++;
	}
	vstart = p;
	if (ev_mp_skip(&p, end, 1) != 0)
		return EV_EDATA;
	*val = vstart;
	*val_len = (size_t)(p - vstart);
	return 1;
}
