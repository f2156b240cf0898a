/*
 * jsonout.c - MessagePack to JSON text: numbers, strings and whole values.
 *
 * Floats print in the shortest form that reads back to the same float64,
 * and always with a '.' or an exponent, so they stay floats when read
 * again.  Integers print exactly.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "evlog_private.h"

static const char digits2[] = "00010203040506070809"
			      "10111213141516171819"
			      "20212223242526272829"
			      "30313233343536373839"
			      "40414243444546474849"
			      "50515253545556575859"
			      "60616263646566676869"
			      "70717273747576777879"
			      "80818283848586878889"
			      "90919293949596979899";

char *ev_fmt_u64(char *o, uint64_t v)
{
	char tmp[24], *t = tmp + sizeof(tmp);
	size_t n;

	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		t -= 2;
		memcpy(t, digits2 + 2 * r, 2);
	}
	if (v >= 10) {
		t -= 2;
		memcpy(t, digits2 + 2 * v, 2);
	} else {
		*--t = (char)('0' + v);
	}
	n = (size_t)(tmp + sizeof(tmp) - t);
	memcpy(o, t, n);
	return o + n;
}

char *ev_fmt_i64(char *o, int64_t v)
{
	if (v < 0) {
		*o++ = '-';
		return ev_fmt_u64(o, (uint64_t)0 - (uint64_t)v);
	}
	return ev_fmt_u64(o, (uint64_t)v);
}

static const double pow10_tab[23] = {
	1e0,  1e1,  1e2,  1e3,	1e4,  1e5,  1e6,  1e7,	1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Slow path: the shortest of %.15g, %.16g, %.17g that reads back. */
static char *fmt_double_slow(char *o, double d)
{
	char buf[40];
	int prec, ok, n = 0, i, isfloat = 0;

	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, sizeof(buf), "%.*g", prec, d);
		for (i = 0; i < n; i++)
			if (buf[i] == ',')
				buf[i] = '.'; /* a caller's LC_NUMERIC */
		if (ev_json_strtod(buf, (size_t)n, &ok) == d && ok)
			break;
	}
	for (i = 0; i < n; i++)
		if (buf[i] == '.' || buf[i] == 'e')
			isfloat = 1;
	memcpy(o, buf, (size_t)n);
	o += n;
	if (!isfloat) {
		memcpy(o, ".0", 2);
		o += 2;
	}
	return o;
}

char *ev_fmt_double(char *o, double d)
{
	double a = fabs(d), s;
	uint64_t m, cand;
	int k, j, nd;
	char tmp[24], *t;

	if (a == 0) {
		if (signbit(d))
			*o++ = '-';
		memcpy(o, "0.0", 3);
		return o + 3;
	}
	if (a < 1e-5 || a >= 1e15)
		return fmt_double_slow(o, d);
	/* Find the fewest fraction digits k for which an integer m gives
	 * m / 10^k == a.  With exact operands the division is correctly
	 * rounded, exactly as strtod rounds "m e-k". */
	for (k = 0; k <= 22; k++) {
		s = a * pow10_tab[k];
		if (s >= 1125899906842624.0) /* 2^50 */
			break;
		m = (uint64_t)(s + 0.5);
		for (j = -1; j <= 1; j++) {
			cand = m + (uint64_t)(int64_t)j;
			if ((double)cand / pow10_tab[k] != a)
				continue;
			if (d < 0)
				*o++ = '-';
			t = ev_fmt_u64(tmp, cand);
			nd = (int)(t - tmp);
			if (k == 0) {
				memcpy(o, tmp, (size_t)nd);
				o += nd;
				memcpy(o, ".0", 2);
				return o + 2;
			}
			if (nd <= k) {
				*o++ = '0';
				*o++ = '.';
				memset(o, '0', (size_t)(k - nd));
				o += k - nd;
				memcpy(o, tmp, (size_t)nd);
				return o + nd;
			}
			memcpy(o, tmp, (size_t)(nd - k));
			o += nd - k;
			*o++ = '.';
			memcpy(o, tmp + nd - k, (size_t)k);
			return o + k;
		}
	}
	return fmt_double_slow(o, d);
}

/* ------------------------------------------------------------- strings */

static const char hexdig[] = "0123456789abcdef";

int ev_json_put_str(struct ev_buf *b, const char *s, size_t n)
{
	const char *p = s, *end = s + n, *q;
	char *o;
	int k;

	if (ev_buf_reserve(b, 6 * n + 2) != 0)
		return EV_ERR;
	o = (char *)b->p + b->len;
	*o++ = '"';
	for (;;) {
		q = ev_scan_special(p, end);
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		p = q;
		if (p >= end)
			break;
		unsigned char c = (unsigned char)*p;
		if (c >= 0x80) {
			k = ev_utf8_seq((const uint8_t *)p, (const uint8_t *)end);
			if (k == 0)
				return EV_EDATA;
			memcpy(o, p, (size_t)k);
			o += k;
			p += k;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\t':
			*o++ = 't';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hexdig[c >> 4];
			*o++ = hexdig[c & 15];
		}
		p++;
	}
	*o++ = '"';
	b->len = (size_t)((uint8_t *)o - b->p);
	return 0;
}

int ev_json_string(struct ev_buf *out, const char *s, size_t n)
{
	return ev_json_put_str(out, s, n);
}

/* ------------------------------------------------------------- values */

int ev_json_put_mp(struct ev_buf *b, const uint8_t **pp, const uint8_t *end,
		   int depth, struct ev_error *err)
{
	struct ev_mp_item it;
	uint32_t k;
	char *o;
	int r;

	if (ev_mp_read(pp, end, &it) != 0)
		return ev_seterr(err, EV_EDATA, "truncated or invalid msgpack value");
	if (ev_buf_reserve(b, 32) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	o = (char *)b->p + b->len;
	switch (it.type) {
	case EV_MP_NIL:
		memcpy(o, "null", 4);
		b->len += 4;
		return 0;
	case EV_MP_BOOL:
		if (it.v.b) {
			memcpy(o, "true", 4);
			b->len += 4;
		} else {
			memcpy(o, "false", 5);
			b->len += 5;
		}
		return 0;
	case EV_MP_UINT:
		b->len = (size_t)((uint8_t *)ev_fmt_u64(o, it.v.u) - b->p);
		return 0;
	case EV_MP_INT:
		b->len = (size_t)((uint8_t *)ev_fmt_i64(o, it.v.i) - b->p);
		return 0;
	case EV_MP_FLOAT:
		if (!isfinite(it.v.f))
			return ev_seterr(err, EV_EDATA, "non-finite float in record");
		b->len = (size_t)((uint8_t *)ev_fmt_double(o, it.v.f) - b->p);
		return 0;
	case EV_MP_STR:
		r = ev_json_put_str(b, (const char *)it.p, it.n);
		if (r == EV_EDATA)
			return ev_seterr(err, EV_EDATA,
					 "string is not valid UTF-8 in record");
		if (r != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		return 0;
	case EV_MP_BIN:
		return ev_seterr(err, EV_EDATA, "binary value inside data or meta");
	case EV_MP_EXT:
		return ev_seterr(err, EV_EDATA,
				 "msgpack extension value inside data or meta");
	case EV_MP_ARRAY:
	case EV_MP_MAP:
		break;
	}
	if (depth >= EV_MAX_DEPTH)
		return ev_seterr(err, EV_EDATA, "nesting deeper than 64 levels");
	if ((uint64_t)it.n > (uint64_t)(end - *pp))
		return ev_seterr(err, EV_EDATA, "container larger than the record");
	b->p[b->len++] = it.type == EV_MP_MAP ? '{' : '[';
	for (k = 0; k < it.n; k++) {
		if (k > 0 && ev_buf_putc(b, ',') != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		if (it.type == EV_MP_MAP) {
			struct ev_mp_item key;
			if (ev_mp_read(pp, end, &key) != 0 || key.type != EV_MP_STR)
				return ev_seterr(err, EV_EDATA,
						 "map key is not a string in record");
			r = ev_json_put_str(b, (const char *)key.p, key.n);
			if (r != 0)
				return ev_seterr(err, r == EV_EDATA ? EV_EDATA : EV_ERR,
						 "string is not valid UTF-8 in record");
			if (ev_buf_putc(b, ':') != 0)
				return ev_seterr(err, EV_ERR, "out of memory");
		}
		r = ev_json_put_mp(b, pp, end, depth + 1, err);
		if (r != 0)
			return r;
	}
	return ev_buf_putc(b, it.type == EV_MP_MAP ? '}' : ']') == 0
		       ? 0
		       : ev_seterr(err, EV_ERR, "out of memory");
}

int ev_msgpack_to_json(const uint8_t *p, size_t n, struct ev_buf *out,
		       struct ev_error *err)
{
	const uint8_t *end = p + n;
	int r = ev_json_put_mp(out, &p, end, 1, err);

	if (r == 0 && p != end)
		return ev_seterr(err, EV_EDATA, "trailing bytes after msgpack value");
	return r;
}

/* ------------------------------------------------------------- base64 */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int ev_base64_encode(struct ev_buf *b, const uint8_t *p, size_t n)
{
	char *o;
	size_t i;

	if (ev_buf_reserve(b, (n + 2) / 3 * 4) != 0)
		return EV_ERR;
	o = (char *)b->p + b->len;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	b->len = (size_t)((uint8_t *)o - b->p);
	return 0;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict RFC 4648 base64 with padding.  EV_EDATA when invalid. */
int ev_base64_decode(const char *s, size_t n, struct ev_buf *out)
{
	size_t i;
	int v[4], k;
	uint8_t *o;

	if (n % 4 != 0)
		return EV_EDATA;
	if (ev_buf_reserve(out, n / 4 * 3) != 0)
		return EV_ERR;
	o = out->p + out->len;
	for (i = 0; i < n; i += 4) {
		int pad = 0;
		for (k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad || (v[k] = b64val((unsigned char)s[i + k])) < 0)
				return EV_EDATA;
		}
		if (pad == 1 && s[i + 2] == '=')
			return EV_EDATA;
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		*o++ = (uint8_t)(w >> 16);
		if (pad < 2)
			*o++ = (uint8_t)(w >> 8);
		if (pad < 1)
			*o++ = (uint8_t)w;
	}
	out->len = (size_t)(o - out->p);
	return 0;
}
