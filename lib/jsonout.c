/*
 * jsonout.c - MessagePack to JSON text: numbers, strings and whole values.
 *
 * Floats print in the shortest form that reads back to the same float64,
 * and always with a '.' or an exponent, so they stay floats when read
 * again: fixed notation from 1e-5 to below 1e15 (and above while the
 * digits reach the units), exponent notation otherwise (evlog(5) JSON
 * form).  Integers print exactly.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
/* EV_NO_SIMD: the portable code, where SSE2 is there (its unit test) */
#if defined(__SSE2__) && !defined(EV_NO_SIMD)
#define EV_JSON_SSE2 1
#include <emmintrin.h>
#endif

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

/* how many decimal digits v has */
static inline int ndigits(uint64_t v)
{
	int n = 1;

	for (;;) {
		if (v < 10)
			return n;
		if (v < 100)
			return n + 1;
		if (v < 1000)
			return n + 2;
		if (v < 10000)
			return n + 3;
		v /= 10000;
		n += 4;
	}
}

char *ev_fmt_u64(char *o, uint64_t v)
{
	char *e = o + ndigits(v), *t = e;
	uint32_t w;

	while (v > UINT32_MAX) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		t -= 2;
		memcpy(t, digits2 + 2 * r, 2);
	}
	/* the rest in 32 bits: cheaper divisions */
	for (w = (uint32_t)v; w >= 100; w /= 100) {
		t -= 2;
		memcpy(t, digits2 + 2 * (w % 100), 2);
	}
	if (w >= 10)
		memcpy(t - 2, digits2 + 2 * w, 2);
	else
		t[-1] = (char)('0' + w);
	return e;
}

/* ev_fmt_u64, the one- and two-digit numbers (most in records) inline */
static inline char *fmt_u64(char *o, uint64_t v)
{
	if (v < 10) {
		*o = (char)('0' + v);
		return o + 1;
	}
	if (v < 100) {
		memcpy(o, digits2 + 2 * v, 2);
		return o + 2;
	}
	return ev_fmt_u64(o, v);
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

/* The p significant digits of a (> 0) nearest to it, as printf rounds,
 * in dig (no point), and the decimal exponent of the first. */
static void near_digits(double a, int p, char *dig, int *x)
{
	char buf[48], *s = buf;
	int n = 0;

	snprintf(buf, sizeof(buf), "%.*e", p - 1, a);
	for (; *s != '\0' && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9' && n < p)
			dig[n++] = *s; /* skips a caller's LC_NUMERIC point */
	*x = *s == 'e' ? atoi(s + 1) : 0;
}

/* Do the p digits dig, the first at 10^x, read back as a? */
static int reads_back(const char *dig, int p, int x, double a, double *v)
{
	char buf[48];
	int ok, n;

	/* DIGITS e EXP, the digits read as an integer */
	memcpy(buf, dig, (size_t)p);
	buf[p] = 'e';
	n = (int)(ev_fmt_i64(buf + p + 1, x - p + 1) - buf);
	*v = ev_json_strtod(buf, (size_t)n, &ok);
	return ok && *v == a;
}

/* Some p-digit decimal that reads back as a, in dig and x: the nearest
 * to a, else its neighbour on the other side of a.  The neighbour is
 * needed when a is a power of two: the float below it is nearer than
 * the float above, so more of its rounding interval lies above it. */
static int digits_of(double a, int p, char *dig, int *x)
{
	uint64_t bits;
	double v;
	int i;

	near_digits(a, p, dig, x);
	if (reads_back(dig, p, *x, a, &v))
		return 1;
	memcpy(&bits, &a, sizeof(bits));
	if ((bits & 0xfffffffffffffull) != 0 || (bits >> 52) == 0)
		return 0; /* not a power of two: the nearest was the one */
	if (v < a) {
		for (i = p - 1; i >= 0 && dig[i] == '9'; i--)
			dig[i] = '0';
		if (i < 0) {
			dig[0] = '1';
			++*x;
		} else {
			dig[i]++;
		}
	} else {
		for (i = p - 1; i >= 0 && dig[i] == '0'; i--)
			dig[i] = '9';
		dig[i]--; /* the first digit is not 0 */
		if (dig[0] == '0') {
			memmove(dig, dig + 1, (size_t)(p - 1));
			dig[p - 1] = '9';
			--*x;
		}
	}
	return reads_back(dig, p, *x, a, &v);
}

/*
 * Slow path: the fewest significant digits that read back (a binary
 * search over 1 to 17: if p digits do, p + 1 do), in fixed notation
 * from 1e-5 to 1e15 as the fast path writes, and above when the digits
 * reach the units (9007199254740992.0), else in exponent notation.
 */
static char *fmt_double_slow(char *o, double d)
{
	char dig[20], best[20];
	int lo = 1, hi = 17, mid, x, bx = 0, bp = 17, i;
	double a = fabs(d);

	while (lo <= hi) {
		mid = (lo + hi) / 2;
		if (digits_of(a, mid, dig, &x)) {
			memcpy(best, dig, (size_t)mid);
			bp = mid;
			bx = x;
			hi = mid - 1;
		} else {
			lo = mid + 1;
		}
	}
	if (lo > 17) /* not reached: 17 digits always read back */
		near_digits(a, 17, best, &bx);
	while (bp > 1 && best[bp - 1] == '0')
		bp--;
	if (d < 0)
		*o++ = '-';
	if (bx >= -5 && (bx < 15 || bx < bp)) {
		if (bx < 0) {
			*o++ = '0';
			*o++ = '.';
			for (i = -1; i > bx; i--)
				*o++ = '0';
			memcpy(o, best, (size_t)bp);
			return o + bp;
		}
		for (i = 0; i <= bx; i++)
			*o++ = i < bp ? best[i] : '0';
		*o++ = '.';
		if (bp <= bx + 1) {
			*o++ = '0';
			return o;
		}
		memcpy(o, best + bx + 1, (size_t)(bp - bx - 1));
		return o + bp - bx - 1;
	}
	*o++ = best[0];
	if (bp > 1) {
		*o++ = '.';
		memcpy(o, best + 1, (size_t)(bp - 1));
		o += bp - 1;
	}
	*o++ = 'e';
	*o++ = bx < 0 ? '-' : '+';
	if (bx < 0)
		bx = -bx;
	if (bx < 10)
		*o++ = '0';
	return ev_fmt_u64(o, (uint64_t)bx);
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

/*
 * Which of the 16 bytes at s a JSON string cannot take as they are, a bit
 * per byte (bit i for s[i]): '"', '\\', the control characters, and the
 * bytes of 0x80 and up (checked as UTF-8 before they are copied).
 */
#if defined(EV_JSON_SSE2)
static inline unsigned special16(const uint8_t *s)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i m = _mm_or_si128(
		_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
			     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
		/* signed: the bytes of 0x80 and up are below 0x20 too */
		_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));

	return (unsigned)_mm_movemask_epi8(m);
}
#else
/* The same for 8 bytes, in a 64-bit word: each byte's test is exact (no
 * carry crosses into the next byte), its result in the byte's high bit,
 * and the 8 high bits are gathered by one multiplication. */
static inline unsigned special8(const uint8_t *s)
{
	const uint64_t ones = 0x0101010101010101ull;
	const uint64_t lo7 = 0x7f7f7f7f7f7f7f7full;
	uint64_t w, q, b, m;

	memcpy(&w, s, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w); /* s[0] in the low byte */
#endif
	q = w ^ (ones * '"');
	b = w ^ (ones * '\\');
	m = w | ~((w & lo7) + ones * 0x60); /* 0x80 and up, below 0x20 */
	m |= ~(((q & lo7) + lo7) | q);	    /* '"' */
	m |= ~(((b & lo7) + lo7) | b);	    /* '\\' */
	m = (m >> 7) & ones;
	return (unsigned)((m * 0x0102040810204080ull) >> 56);
}

static inline unsigned special16(const uint8_t *s)
{
	return special8(s) | special8(s + 8) << 8;
}
#endif

/*
 * A short string (n <= 16, 16 bytes readable at s) with nothing to escape
 * as JSON at *op, and 1; 0 (and nothing written) for any other.
 */
static inline int put_short(char **op, const uint8_t *s, unsigned n)
{
	char *o = *op;

	if ((special16(s) & ((1u << n) - 1)) != 0)
		return 0;
	o[0] = '"';
	memcpy(o + 1, s, 16);
	o[n + 1] = '"';
	*op = o + n + 2;
	return 1;
}

static char *put_str_any(char *o, const uint8_t *s, size_t n,
			 const uint8_t *lim);

/* put_str() of a string longer than 16 bytes: when it has nothing to
 * escape (most often), 16 bytes at a time, the last 16 overlapping the
 * ones before; else put_str_any() */
static __attribute__((noinline)) char *
put_str_long(char *o, const uint8_t *s, size_t n, const uint8_t *lim)
{
	size_t i;

	for (i = 0; i + 16 <= n; i += 16) {
		if (special16(s + i) != 0)
			return put_str_any(o, s, n, lim);
		memcpy(o + 1 + i, s + i, 16);
	}
	if (i < n) {
		if (special16(s + n - 16) != 0)
			return put_str_any(o, s, n, lim);
		memcpy(o + 1 + n - 16, s + n - 16, 16);
	}
	o[0] = '"';
	o[n + 1] = '"';
	return o + n + 2;
}

/*
 * s (n bytes) as a JSON string at o; NULL when s is not valid UTF-8.  lim
 * is how far past s it is safe to read: s is checked 16 bytes at a time,
 * and a short string in one 16-byte load when 16 bytes can be read.  Up
 * to 15 bytes past the string's JSON are written over: the output must
 * have room to spare (JSON_BOUND, ev_json_put_str()).
 */
static inline char *put_str(char *o, const uint8_t *s, size_t n,
			    const uint8_t *lim)
{
	if (n <= 16 && lim - s >= 16 && put_short(&o, s, (unsigned)n))
		return o;
	return n > 16 ? put_str_long(o, s, n, lim) : put_str_any(o, s, n, lim);
}

/* put_str(), for any string: escapes, UTF-8, short strings near lim */
static __attribute__((noinline)) char *put_str_any(char *o, const uint8_t *s,
						   size_t n, const uint8_t *lim)
{
	/* s[verb..i) went out as it is, the i - verb bytes before o */
	size_t i = 0, r, k, verb = 0;
	uint8_t tmp[16] = {0};
	unsigned m;
	uint8_t c;

	if (n < 16 && lim - s < 16) {
		/* a short string near the end of what may be read */
		memcpy(tmp, s, n);
		if ((special16(tmp) & ((1u << n) - 1)) == 0) {
			memcpy(o + 1, tmp, 16);
			goto done;
		}
	}
	*o++ = '"';
	while (i < n) {
		r = n - i;
		if (r >= 16 || lim - (s + i) >= 16) {
			m = special16(s + i);
			memcpy(o, s + i, 16);
			if (r < 16)
				m &= (1u << r) - 1;
		} else if (n >= 16 && n - 16 >= verb) {
			/* the last 16 bytes of s, whose first 16 - r went out
			 * as they are: written again, the same */
			m = special16(s + n - 16) >> (16 - r);
			memcpy(o - (16 - r), s + n - 16, 16);
		} else if ((c = s[i]) >= 0x20 && c != '"' && c != '\\' &&
			   c < 0x80) {
			/* the last bytes before lim, one at a time */
			*o++ = (char)c;
			i++;
			continue;
		} else {
			m = 1;
		}
		if (m == 0) {
			k = r < 16 ? r : 16;
			o += k;
			i += k;
			continue;
		}
		k = (size_t)__builtin_ctz(m);
		o += k;
		i += k;
		/* s[i] is not copied as it is, nor are the bytes of 0x80 and
		 * up after it (text in another script) */
		c = s[i];
		if (c >= 0x80) {
			do {
				k = (size_t)ev_utf8_seq(s + i, s + n);
				if (k == 0)
					return NULL;
				memcpy(o, s + i, k);
				o += k;
				i += k;
			} while (i < n && s[i] >= 0x80);
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
		verb = ++i;
	}
	*o++ = '"';
	return o;
done:
	o[0] = '"';
	o[n + 1] = '"';
	return o + n + 2;
}

int ev_json_put_str(struct ev_buf *b, const char *s, size_t n)
{
	char *o;

	/* 6 bytes per input byte at worst, the quotes, and the 16-byte
	 * stores of put_str() */
	if (ev_buf_reserve(b, 6 * n + 2 + 16) != 0)
		return EV_ERR;
	o = put_str((char *)b->p + b->len, (const uint8_t *)s, n,
		    (const uint8_t *)s + n);
	if (o == NULL)
		return EV_EDATA;
	b->len = (size_t)((uint8_t *)o - b->p);
	return 0;
}

int ev_json_string(struct ev_buf *out, const char *s, size_t n)
{
	return ev_json_put_str(out, s, n);
}

/* ------------------------------------------------------------- base64 */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_put(char *o, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];
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
	return o;
}

int ev_base64_encode(struct ev_buf *b, const uint8_t *p, size_t n)
{
	char *o;

	if (ev_buf_reserve(b, (n + 2) / 3 * 4) != 0)
		return EV_ERR;
	o = b64_put((char *)b->p + b->len, p, n);
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
	if (n == 0)
		return 0;
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

/* ------------------------------------------------------------- values */

/*
 * The fast writer below works on a pre-reserved output region.  No JSON
 * text is longer than 7 bytes per msgpack byte plus a constant: the worst
 * is a control character in a string, 1 byte becoming 6 ("\u0001").
 */
#define JSON_BOUND(n) (7 * (size_t)(n) + 256)

static char *put_lit(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

#define NEED(k)                                           \
	do {                                              \
		if ((size_t)(end - p) < (size_t)(k)) {    \
			*why = "truncated msgpack value"; \
			return NULL;                      \
		}                                         \
	} while (0)

/*
 * One msgpack value (the JSON image only) as JSON at o.  Containers are
 * followed on a stack of their own, not by recursion: the innermost open
 * one has left values still to come (the one being written included) and
 * is a map when in_map; the ones around it are saved in left_at[] and
 * map_at[].  A container opened with sp others open is at depth
 * depth + sp.
 */
static char *mpj(const uint8_t **pp, const uint8_t *end, char *o, int depth,
		 const char **why)
{
	uint32_t left_at[EV_READ_DEPTH + 2], left = 0;
	uint8_t map_at[EV_READ_DEPTH + 2];
	const uint8_t *p = *pp, *kp;
	uint32_t n, kn;
	int sp = 0, is_map, in_map = 0;
	uint8_t c;
	double d;
	uint64_t u;

value:
	NEED(1);
	c = *p++;
	if ((c & 0xe0) == 0xa0) {
		n = c & 0x1f;
		/* the most common value: a short string, 16 bytes readable */
		if (n <= 16 && end - p >= 16 && put_short(&o, p, n)) {
			p += n;
			goto next;
		}
		goto str;
	}
	if (c <= 0x7f) {
		o = fmt_u64(o, c);
		goto next;
	}
	if (c >= 0xe0) {
		o = ev_fmt_i64(o, (int8_t)c);
		goto next;
	}
	if (c <= 0x8f) {
		n = c & 0x0f;
		is_map = 1;
		goto container;
	}
	if (c <= 0x9f) {
		n = c & 0x0f;
		is_map = 0;
		goto container;
	}
	switch (c) {
	case 0xc0:
		o = put_lit(o, "null", 4);
		goto next;
	case 0xc2:
		o = put_lit(o, "false", 5);
		goto next;
	case 0xc3:
		o = put_lit(o, "true", 4);
		goto next;
	case 0xca: {
		float f;
		uint32_t w;
		NEED(4);
		w = ev_rbe32(p);
		memcpy(&f, &w, 4);
		d = f;
		p += 4;
		goto flt;
	}
	case 0xcb:
		NEED(8);
		u = ev_rbe64(p);
		memcpy(&d, &u, 8);
		p += 8;
		goto flt;
	case 0xcc:
		NEED(1);
		o = fmt_u64(o, *p);
		p += 1;
		goto next;
	case 0xcd:
		NEED(2);
		o = ev_fmt_u64(o, ev_rbe16(p));
		p += 2;
		goto next;
	case 0xce:
		NEED(4);
		o = ev_fmt_u64(o, ev_rbe32(p));
		p += 4;
		goto next;
	case 0xcf:
		NEED(8);
		o = ev_fmt_u64(o, ev_rbe64(p));
		p += 8;
		goto next;
	case 0xd0:
		NEED(1);
		o = ev_fmt_i64(o, (int8_t)*p);
		p += 1;
		goto next;
	case 0xd1:
		NEED(2);
		o = ev_fmt_i64(o, (int16_t)ev_rbe16(p));
		p += 2;
		goto next;
	case 0xd2:
		NEED(4);
		o = ev_fmt_i64(o, (int32_t)ev_rbe32(p));
		p += 4;
		goto next;
	case 0xd3:
		NEED(8);
		o = ev_fmt_i64(o, (int64_t)ev_rbe64(p));
		p += 8;
		goto next;
	case 0xd9:
		NEED(1);
		n = *p++;
		goto str;
	case 0xda:
		NEED(2);
		n = ev_rbe16(p);
		p += 2;
		goto str;
	case 0xdb:
		NEED(4);
		n = ev_rbe32(p);
		p += 4;
		goto str;
	case 0xdc:
		NEED(2);
		n = ev_rbe16(p);
		p += 2;
		is_map = 0;
		goto container;
	case 0xdd:
		NEED(4);
		n = ev_rbe32(p);
		p += 4;
		is_map = 0;
		goto container;
	case 0xde:
		NEED(2);
		n = ev_rbe16(p);
		p += 2;
		is_map = 1;
		goto container;
	case 0xdf:
		NEED(4);
		n = ev_rbe32(p);
		p += 4;
		is_map = 1;
		goto container;
	case 0xc4:
	case 0xc5:
	case 0xc6:
		*why = "binary value inside data or meta";
		return NULL;
	case 0xc1:
		*why = "invalid msgpack byte 0xc1";
		return NULL;
	default:
		*why = "msgpack extension value inside data or meta";
		return NULL;
	}
str:
	NEED(n);
	o = put_str(o, p, n, end);
	if (o == NULL) {
		*why = "string is not valid UTF-8";
		return NULL;
	}
	p += n;
	goto next;
flt:
	if (!isfinite(d)) {
		*why = "non-finite float";
		return NULL;
	}
	o = ev_fmt_double(o, d);
	goto next;
container:
	if (depth + sp > EV_READ_DEPTH || sp >= (int)sizeof(map_at)) {
		*why = "nesting deeper than 66 levels";
		return NULL;
	}
	if ((uint64_t)n * (is_map ? 2 : 1) > (uint64_t)(end - p)) {
		*why = "container larger than the record";
		return NULL;
	}
	*o++ = is_map ? '{' : '[';
	if (n == 0) {
		*o++ = is_map ? '}' : ']';
		goto next;
	}
	left_at[sp] = left;
	map_at[sp] = (uint8_t)in_map;
	sp++;
	left = n;
	in_map = is_map;
	goto element;
next:
	/* a value is written: the next one of the innermost container, or
	 * its end (and maybe the end of the containers around it) */
	while (sp > 0) {
		if (--left > 0) {
			*o++ = ',';
			goto element;
		}
		*o++ = in_map ? '}' : ']';
		sp--;
		left = left_at[sp];
		in_map = map_at[sp];
	}
	*pp = p;
	return o;
element:
	if (!in_map)
		goto value;
	/* a map's key: must be a string; most often a short one, with 16
	 * bytes readable after its header */
	NEED(1);
	kp = p;
	c = *kp++;
	if ((c & 0xe0) == 0xa0) {
		kn = c & 0x1f;
		if (kn <= 16 && end - kp >= 16 && put_short(&o, kp, kn)) {
			p = kp + kn;
			*o++ = ':';
			goto value;
		}
	} else if (c == 0xd9 && end - kp >= 1) {
		kn = *kp++;
	} else if (c == 0xda && end - kp >= 2) {
		kn = ev_rbe16(kp);
		kp += 2;
	} else if (c == 0xdb && end - kp >= 4) {
		kn = ev_rbe32(kp);
		kp += 4;
	} else {
		*why = "map key is not a string";
		return NULL;
	}
	if ((size_t)(end - kp) < kn) {
		*why = "truncated msgpack value";
		return NULL;
	}
	o = put_str(o, kp, kn, end);
	if (o == NULL) {
		*why = "string is not valid UTF-8";
		return NULL;
	}
	p = kp + kn;
	*o++ = ':';
	goto value;
}

int ev_json_put_mp(struct ev_buf *b, const uint8_t **pp, const uint8_t *end,
		   int depth, struct ev_error *err)
{
	const char *why = NULL;
	char *o;

	if (ev_buf_reserve(b, JSON_BOUND(end - *pp)) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	o = mpj(pp, end, (char *)b->p + b->len, depth, &why);
	if (o == NULL)
		return ev_seterr(err, EV_EDATA, "invalid record: %s", why);
	b->len = (size_t)((uint8_t *)o - b->p);
	return 0;
}

int ev_msgpack_to_json(const uint8_t *p, size_t n, struct ev_buf *out,
		       struct ev_error *err)
{
	const uint8_t *end = p + n;
	int r = ev_json_put_mp(out, &p, end, 1, err);

	if (r == 0 && p != end)
		return ev_seterr(err, EV_EDATA,
				 "trailing bytes after msgpack value");
	return r;
}

static char *put_key(char *o, const char *lit, size_t n)
{
	memcpy(o, lit, n);
	return o + n;
}
#define KEY(o, s) put_key((o), (s), sizeof(s) - 1)

/* A string field of the envelope: returns NULL on error. */
static inline char *env_str(const uint8_t **pp, const uint8_t *end, char *o,
			    int nonempty, const char **why)
{
	const uint8_t *p = *pp;
	struct ev_mp_item it;

	/* str8 and fixstr (nearly every one) read here */
	if (end - p >= 2 && (*p == 0xd9 || (*p & 0xe0) == 0xa0)) {
		it.n = *p == 0xd9 ? p[1] : *p & 0x1fu;
		p += *p == 0xd9 ? 2 : 1;
		if ((size_t)(end - p) < it.n)
			goto wrong;
		it.p = p;
		*pp = p + it.n;
	} else if (ev_mp_read(pp, end, &it) != 0 || it.type != EV_MP_STR) {
		goto wrong;
	}
	if (nonempty && it.n == 0)
		goto wrong;
	o = put_str(o, it.p, it.n, end);
	if (o == NULL)
		*why = "string is not valid UTF-8";
	return o;
wrong:
	*why = "envelope field has the wrong type";
	return NULL;
}

int ev_record_to_json(const uint8_t *rec, size_t n, uint64_t offset,
		      struct ev_buf *out, struct ev_error *err)
{
	const uint8_t *p = rec, *end = rec + n;
	const char *why = "malformed record";
	struct ev_mp_item it;
	unsigned count, i, k, last = 0, seen = 0;
	ev_time_t t;
	char *o;
	size_t tl;

	if (ev_buf_reserve(out, JSON_BOUND(n)) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	o = (char *)out->p + out->len;
	if (n == 0 || rec[0] < 0x83 || rec[0] > 0x8a) {
		why = "not a record map";
		goto bad;
	}
	count = rec[0] & 0x0f;
	p++;
	o = KEY(o, "{\"offset\":");
	o = fmt_u64(o, offset);
	for (i = 0; i < count; i++) {
		if (p >= end || (k = *p++) <= last || k > EV_K_MAX) {
			why = "unknown or out-of-order field key";
			goto bad;
		}
		if (last < EV_K_SCHEMA && k > EV_K_SCHEMA)
			o = KEY(o, ",\"schema\":1");
		last = k;
		seen |= 1u << k;
		switch (k) {
		case EV_K_ID:
			o = env_str(&p, end, KEY(o, ",\"id\":"), 1, &why);
			break;
		case EV_K_TYPE:
			o = env_str(&p, end, KEY(o, ",\"type\":"), 1, &why);
			break;
		case EV_K_STREAM:
			o = env_str(&p, end, KEY(o, ",\"stream\":"), 1, &why);
			break;
		case EV_K_KEY:
			o = env_str(&p, end, KEY(o, ",\"key\":"), 1, &why);
			break;
		case EV_K_VERSION:
		case EV_K_SCHEMA:
			if (p < end && *p >= 1 && *p <= 0x7f) {
				it.v.u = *p++; /* a positive fixint */
			} else if (ev_mp_read(&p, end, &it) != 0 ||
				   it.type != EV_MP_UINT || it.v.u == 0) {
				why = "version or schema is not a positive integer";
				goto bad;
			}
			o = k == EV_K_VERSION ? KEY(o, ",\"version\":")
					      : KEY(o, ",\"schema\":");
			o = fmt_u64(o, it.v.u);
			break;
		case EV_K_TIME:
			if (end - p >= 10 && p[0] == 0xd7 && p[1] == 0xff) {
				/* timestamp 64, as evpub writes it: as
				 * ev_mp_time_decode() reads it */
				uint64_t w = ev_rbe64(p + 2);
				if ((w >> 34) > 999999999 ||
				    ev_time_from_sec(
					    (int64_t)(w & ((1ull << 34) - 1)),
					    (long)(w >> 34), &t) != 0) {
					why = "time is not a valid timestamp";
					goto bad;
				}
				p += 10;
			} else if (ev_mp_read(&p, end, &it) != 0 ||
				   ev_mp_time_decode(&it, &t) != 0) {
				why = "time is not a valid timestamp";
				goto bad;
			}
			o = KEY(o, ",\"time\":\"");
			tl = ev_time_format(t, o);
			o += tl;
			*o++ = '"';
			break;
		case EV_K_DATA:
			if (p < end &&
			    (*p == 0xc4 || *p == 0xc5 || *p == 0xc6)) {
				if (ev_mp_read(&p, end, &it) != 0) {
					why = "truncated data";
					goto bad;
				}
				/* base64 is 4/3 of the bytes: within the bound
				 */
				o = b64_put(KEY(o, ",\"data_base64\":\""), it.p,
					    it.n);
				*o++ = '"';
				break;
			}
			o = mpj(&p, end, KEY(o, ",\"data\":"), 2, &why);
			break;
		case EV_K_PREV:
			/* the stream chain is for readers, not for JSON */
			if (end - p >= 5 && *p == 0xce) {
				p += 5; /* a uint 32 (most often) */
			} else if (ev_mp_read(&p, end, &it) != 0 ||
				   it.type != EV_MP_UINT) {
				why = "previous offset is not an unsigned integer";
				goto bad;
			}
			break;
		case EV_K_META:
			if (p >= end || !((*p >= 0x80 && *p <= 0x8f) ||
					  *p == 0xde || *p == 0xdf)) {
				why = "meta is not a map";
				goto bad;
			}
			o = mpj(&p, end, KEY(o, ",\"meta\":"), 2, &why);
			break;
		}
		if (o == NULL)
			goto bad;
	}
	if ((seen &
	     ((1u << EV_K_ID) | (1u << EV_K_TYPE) | (1u << EV_K_TIME))) !=
	    ((1u << EV_K_ID) | (1u << EV_K_TYPE) | (1u << EV_K_TIME))) {
		why = "missing id, type or time";
		goto bad;
	}
	if (p != end) {
		why = "trailing bytes after the record map";
		goto bad;
	}
	if (last < EV_K_SCHEMA)
		o = KEY(o, ",\"schema\":1");
	*o++ = '}';
	out->len = (size_t)((uint8_t *)o - out->p);
	return 0;
bad:
	return ev_seterr(err, EV_EDATA, "invalid record: %s", why);
}
