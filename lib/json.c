/*
 * json.c - struct ev_json: a streaming JSON (RFC 8259) to MessagePack
 * transcoder.  It goes straight from text to msgpack bytes, with no DOM.
 *
 * Integers that fit int64/uint64 stay integers; every other number becomes
 * a float64.  Strings are checked for UTF-8 and escapes are decoded.  Keys
 * and duplicate keys are kept in input order.  The accepted language is
 * exactly RFC 8259 (checked against JSONTestSuite in tests/unit).
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

void ev_json_init(struct ev_json *js, const char *p, size_t n)
{
	js->p = p;
	js->start = p;
	js->end = p + n;
	js->errp = NULL;
	js->errmsg = NULL;
	js->depth = 0;
}

int ev_json_fail(struct ev_json *js, const char *p, const char *msg)
{
	if (js->errmsg == NULL) {
		js->errp = p;
		js->errmsg = msg;
	}
	return EV_EDATA;
}

/* --------------------------------------------------------------- numbers */

static const double pow10_exact[23] = {
	1e0,  1e1,  1e2,  1e3,	1e4,  1e5,  1e6,  1e7,	1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* Correctly rounded conversion of a validated JSON number, independent of
 * the process locale. */
double ev_json_strtod(const char *s, size_t n, int *ok)
{
	char small[80], *tmp = small, *endp;
	double d;

	if (n >= sizeof(small)) {
		tmp = malloc(n + 1);
		if (tmp == NULL) {
			*ok = 0;
			return 0;
		}
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	pthread_once(&c_locale_once, c_locale_init);
	if (c_locale != (locale_t)0)
		d = strtod_l(tmp, &endp, c_locale);
	else
		d = strtod(tmp, &endp);
	*ok = (endp == tmp + n);
	if (tmp != small)
		free(tmp);
	return d;
}

static inline int is_digit(int c)
{
	return (unsigned)(c - '0') < 10;
}

static uint8_t *number(struct ev_json *js, uint8_t *o)
{
	const char *start = js->p, *p = js->p, *end = js->end;
	int neg = 0, is_float = 0, ok;
	uint64_t m = 0;
	int ndig = 0;	   /* significant digits accumulated in m */
	int dropped = 0;   /* integer digits beyond what m holds */
	int frac = 0;	   /* fraction digits accumulated in m */
	int64_t exp10 = 0; /* explicit exponent */
	int esign = 1, overflow = 0;
	double d;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (p >= end || !is_digit(*p)) {
		ev_json_fail(js, p, "invalid number");
		return NULL;
	}
	if (*p == '0') {
		p++;
		if (p < end && is_digit(*p)) {
			ev_json_fail(js, p, "leading zero in number");
			return NULL;
		}
	} else {
		while (p < end && is_digit(*p)) {
			if (ndig < 19) {
				m = m * 10 + (uint64_t)(*p - '0');
				ndig++;
			} else if (ndig == 19 && !overflow) {
				/* the 20th digit may still fit uint64 */
				uint64_t c = (uint64_t)(*p - '0');
				if (m > (UINT64_MAX - c) / 10)
					overflow = 1, dropped++;
				else
					m = m * 10 + c, ndig++;
			} else {
				dropped++;
			}
			p++;
		}
	}
	if (p < end && *p == '.') {
		is_float = 1;
		p++;
		if (p >= end || !is_digit(*p)) {
			ev_json_fail(js, p,
				     "expected digit after '.' in number");
			return NULL;
		}
		while (p < end && is_digit(*p)) {
			if (ndig < 19 && !dropped && !overflow) {
				if (m == 0 && *p == '0') {
					frac++; /* leading zeros: no digit used
						 */
				} else {
					m = m * 10 + (uint64_t)(*p - '0');
					ndig++;
					frac++;
				}
			} else {
				overflow = 1;
			}
			p++;
		}
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		is_float = 1;
		p++;
		if (p < end && (*p == '+' || *p == '-')) {
			esign = *p == '-' ? -1 : 1;
			p++;
		}
		if (p >= end || !is_digit(*p)) {
			ev_json_fail(js, p,
				     "expected digit in number exponent");
			return NULL;
		}
		while (p < end && is_digit(*p)) {
			if (exp10 < 100000)
				exp10 = exp10 * 10 + (*p - '0');
			p++;
		}
	}
	js->p = p;
	if (!is_float && !overflow && !dropped) {
		if (!neg) {
			if (m < 0x80) {
				*o++ = (uint8_t)m;
				return o;
			}
			return ev_mp_uint(o, m);
		}
		if (m <= (uint64_t)INT64_MAX + 1) {
			if (m == (uint64_t)INT64_MAX + 1)
				return ev_mp_int(o, INT64_MIN);
			return ev_mp_int(o, -(int64_t)m);
		}
	}
	/* Clinger's fast path: exact operands, one correctly rounded op */
	if (!overflow && !dropped && m <= (1ull << 53)) {
		int64_t e = esign * exp10 - frac;
		if (e >= -22 && e <= 22) {
			d = (double)m;
			d = e < 0 ? d / pow10_exact[-e] : d * pow10_exact[e];
			return ev_mp_double(o, neg ? -d : d);
		}
	}
	d = ev_json_strtod(start, (size_t)(p - start), &ok);
	if (!ok) {
		ev_json_fail(js, start, "invalid number");
		return NULL;
	}
	if (isinf(d)) {
		ev_json_fail(js, start, "number out of range for float64");
		return NULL;
	}
	return ev_mp_double(o, d);
}

/* --------------------------------------------------------------- strings */

static inline int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t ev_utf8_valid(const uint8_t *p, size_t n)
{
	const uint8_t *s = p, *end = p + n;
	uint64_t w;
	int k;

	while (p < end) {
		if (end - p >= 8) {
			memcpy(&w, p, 8);
			if ((w & 0x8080808080808080ull) == 0) {
				p += 8;
				continue;
			}
		}
		if (*p < 0x80) {
			p++;
			continue;
		}
		k = ev_utf8_seq(p, end);
		if (k == 0)
			break;
		p += k;
	}
	return (size_t)(p - s);
}

/*
 * Decode the string body at js->p (just after the opening quote) into dst.
 * Returns the end of the decoded bytes, or NULL on error.  dst must have
 * room for the raw length of the string.  js->p ends after the closing
 * quote.
 */
static uint8_t *string_body(struct ev_json *js, uint8_t *dst)
{
	const char *p = js->p, *end = js->end, *q;
	unsigned cp, lo;
	int k, h1, h2, h3, h4;

	for (;;) {
		q = ev_scan_special(p, end);
		memcpy(dst, p, (size_t)(q - p));
		dst += q - p;
		p = q;
		if (p >= end) {
			ev_json_fail(js, p, "unterminated string");
			return NULL;
		}
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			js->p = p + 1;
			return dst;
		}
		if (c >= 0x80) {
			k = ev_utf8_seq((const uint8_t *)p,
					(const uint8_t *)end);
			if (k == 0) {
				ev_json_fail(js, p, "invalid UTF-8 in string");
				return NULL;
			}
			memcpy(dst, p, (size_t)k);
			dst += k;
			p += k;
			continue;
		}
		if (c < 0x20) {
			ev_json_fail(js, p, "control character in string");
			return NULL;
		}
		/* backslash */
		if (p + 1 >= end) {
			ev_json_fail(js, p, "unterminated string");
			return NULL;
		}
		switch (p[1]) {
		case '"':
			*dst++ = '"';
			break;
		case '\\':
			*dst++ = '\\';
			break;
		case '/':
			*dst++ = '/';
			break;
		case 'b':
			*dst++ = '\b';
			break;
		case 'f':
			*dst++ = '\f';
			break;
		case 'n':
			*dst++ = '\n';
			break;
		case 'r':
			*dst++ = '\r';
			break;
		case 't':
			*dst++ = '\t';
			break;
		case 'u':
			if (end - p < 6 || (h1 = hexval(p[2])) < 0 ||
			    (h2 = hexval(p[3])) < 0 ||
			    (h3 = hexval(p[4])) < 0 ||
			    (h4 = hexval(p[5])) < 0) {
				ev_json_fail(js, p,
					     "invalid \\u escape in string");
				return NULL;
			}
			cp = (unsigned)(h1 << 12 | h2 << 8 | h3 << 4 | h4);
			if (cp >= 0xDC00 && cp <= 0xDFFF) {
				ev_json_fail(js, p,
					     "lone surrogate in \\u escape");
				return NULL;
			}
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (end - p < 12 || p[6] != '\\' ||
				    p[7] != 'u' || (h1 = hexval(p[8])) < 0 ||
				    (h2 = hexval(p[9])) < 0 ||
				    (h3 = hexval(p[10])) < 0 ||
				    (h4 = hexval(p[11])) < 0) {
					ev_json_fail(
						js, p,
						"lone surrogate in \\u escape");
					return NULL;
				}
				lo = (unsigned)(h1 << 12 | h2 << 8 | h3 << 4 |
						h4);
				if (lo < 0xDC00 || lo > 0xDFFF) {
					ev_json_fail(
						js, p,
						"lone surrogate in \\u escape");
					return NULL;
				}
				cp = 0x10000 + ((cp - 0xD800) << 10) +
				     (lo - 0xDC00);
				p += 6;
			}
			if (cp < 0x80) {
				*dst++ = (uint8_t)cp;
			} else if (cp < 0x800) {
				*dst++ = (uint8_t)(0xC0 | (cp >> 6));
				*dst++ = (uint8_t)(0x80 | (cp & 0x3F));
			} else if (cp < 0x10000) {
				*dst++ = (uint8_t)(0xE0 | (cp >> 12));
				*dst++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
				*dst++ = (uint8_t)(0x80 | (cp & 0x3F));
			} else {
				*dst++ = (uint8_t)(0xF0 | (cp >> 18));
				*dst++ = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
				*dst++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
				*dst++ = (uint8_t)(0x80 | (cp & 0x3F));
			}
			p += 4;
			break;
		default:
			ev_json_fail(js, p, "invalid escape in string");
			return NULL;
		}
		p += 2;
	}
}

/* A msgpack str header, inline for the short strings most JSON holds */
static inline uint8_t *str_hdr(uint8_t *o, size_t n)
{
	if (EV_LIKELY(n <= 31)) {
		*o++ = (uint8_t)(0xa0 | n);
		return o;
	}
	return ev_mp_str_hdr(o, n);
}

/*
 * Copy the n bytes at p to o, where the input holds at least avail bytes
 * from p and the output has room for 4 bytes per input byte left (as
 * ev_json_value reserves): short strings are copied in one or two fixed
 * 32-byte moves, which need no call and no loop.
 */
static inline uint8_t *copy_short(uint8_t *o, const char *p, size_t n,
				  size_t avail)
{
	if (EV_LIKELY(n <= 32 && avail >= 32))
		memcpy(o, p, 32);
	else if (n <= 64 && avail >= 64)
		memcpy(o, p, 64);
	else
		memcpy(o, p, n);
	return o + n;
}

static uint8_t *string_slow(struct ev_json *js, uint8_t *o);

/* String value at js->p (on the opening quote) as a msgpack str. */
static inline uint8_t *string(struct ev_json *js, uint8_t *o)
{
	const char *p = js->p + 1, *q;
	size_t n;

	/* fast path: no escapes and ASCII up to the closing quote */
	q = ev_scan_special(p, js->end);
	if (EV_LIKELY(q < js->end && *q == '"')) {
		n = (size_t)(q - p);
		o = str_hdr(o, n);
		js->p = q + 1;
		return copy_short(o, p, n, (size_t)(js->end - p));
	}
	return string_slow(js, o);
}

/* A string with escapes, controls or non-ASCII bytes (or unterminated) */
static __attribute__((noinline)) uint8_t *string_slow(struct ev_json *js,
						      uint8_t *o)
{
	const char *p = js->p + 1;
	uint8_t *e;
	size_t n;
	int h;

	js->p = p;
	e = string_body(js, o + 5);
	if (e == NULL)
		return NULL;
	n = (size_t)(e - (o + 5));
	h = (int)(ev_mp_str_hdr(o, n) - o);
	if (h != 5)
		memmove(o + h, o + 5, n);
	return o + h + n;
}

int ev_json_string_raw(struct ev_json *js, struct ev_buf *b)
{
	uint8_t *e;

	if (js->p >= js->end || *js->p != '"')
		return ev_json_fail(js, js->p, "expected string");
	if (ev_buf_reserve(b, (size_t)(js->end - js->p)) != 0)
		return ev_json_fail(js, js->p, "out of memory");
	js->p++;
	e = string_body(js, b->p + b->len);
	if (e == NULL)
		return EV_EDATA;
	b->len = (size_t)(e - b->p);
	return 0;
}

/* --------------------------------------------------------------- values */

static uint8_t *value(struct ev_json *js, uint8_t *o);

/*
 * A value inside a container: strings and small positive integers, the
 * most of any JSON, without a call; the rest through value().  js->p
 * is before the value (after any whitespace).
 */
static inline uint8_t *member(struct ev_json *js, uint8_t *o)
{
	const char *p = js->p, *end = js->end;
	uint64_t m = 0;
	int k;

	if (EV_LIKELY(p < end)) {
		if (*p == '"')
			return string(js, o);
		if (*p >= '1' && *p <= '9') {
			/* up to 18 digits: no overflow, and a positive
			 * fixint or uint, as number() has it */
			for (k = 0; k < 18 && p < end && is_digit(*p); k++)
				m = m * 10 + (uint64_t)(*p++ - '0');
			if (p == end || !(is_digit(*p) || *p == '.' ||
					  *p == 'e' || *p == 'E')) {
				js->p = p;
				if (m < 0x80) {
					*o++ = (uint8_t)m;
					return o;
				}
				return ev_mp_uint(o, m);
			}
		}
	}
	return value(js, o);
}

/* Close a container whose 1-byte placeholder is at hdr; returns new end. */
static uint8_t *close_container(uint8_t *hdr, uint8_t *o, size_t count,
				int is_map)
{
	size_t len = (size_t)(o - hdr - 1);

	if (count <= 15) {
		*hdr = (uint8_t)((is_map ? 0x80 : 0x90) | count);
		return o;
	}
	if (count <= 0xffff) {
		memmove(hdr + 3, hdr + 1, len);
		hdr[0] = is_map ? 0xde : 0xdc;
		ev_be16(hdr + 1, (uint16_t)count);
		return o + 2;
	}
	memmove(hdr + 5, hdr + 1, len);
	hdr[0] = is_map ? 0xdf : 0xdd;
	ev_be32(hdr + 1, (uint32_t)count);
	return o + 4;
}

static uint8_t *object(struct ev_json *js, uint8_t *o)
{
	uint8_t *hdr = o++;
	size_t count = 0;
	int c;

	js->p++; /* '{' */
	c = ev_json_ws(js);
	if (c == '}') {
		js->p++;
		*hdr = 0x80;
		return o;
	}
	for (;;) {
		if (c != '"') {
			ev_json_fail(js, js->p,
				     c < 0 ? "unexpected end of input in object"
					   : "expected string key in object");
			return NULL;
		}
		o = string(js, o);
		if (o == NULL)
			return NULL;
		c = ev_json_ws(js);
		if (c != ':') {
			ev_json_fail(js, js->p,
				     "expected ':' after object key");
			return NULL;
		}
		js->p++;
		ev_json_ws(js);
		o = member(js, o);
		if (o == NULL)
			return NULL;
		count++;
		c = ev_json_ws(js);
		if (c == ',') {
			js->p++;
			c = ev_json_ws(js);
			continue;
		}
		if (c == '}') {
			js->p++;
			return close_container(hdr, o, count, 1);
		}
		ev_json_fail(js, js->p,
			     c < 0 ? "unexpected end of input in object"
				   : "expected ',' or '}' after object member");
		return NULL;
	}
}

static uint8_t *array(struct ev_json *js, uint8_t *o)
{
	uint8_t *hdr = o++;
	size_t count = 0;
	int c;

	js->p++; /* '[' */
	c = ev_json_ws(js);
	if (c == ']') {
		js->p++;
		*hdr = 0x90;
		return o;
	}
	for (;;) {
		o = member(js, o);
		if (o == NULL)
			return NULL;
		count++;
		c = ev_json_ws(js);
		if (c == ',') {
			js->p++;
			ev_json_ws(js);
			continue;
		}
		if (c == ']') {
			js->p++;
			return close_container(hdr, o, count, 0);
		}
		ev_json_fail(js, js->p,
			     c < 0 ? "unexpected end of input in array"
				   : "expected ',' or ']' after array element");
		return NULL;
	}
}

static uint8_t *literal(struct ev_json *js, uint8_t *o, const char *word,
			size_t n, uint8_t byte)
{
	if ((size_t)(js->end - js->p) < n || memcmp(js->p, word, n) != 0) {
		ev_json_fail(js, js->p, "invalid literal");
		return NULL;
	}
	js->p += n;
	*o++ = byte;
	return o;
}

static uint8_t *value(struct ev_json *js, uint8_t *o)
{
	uint8_t *r;

	if (js->p >= js->end) {
		ev_json_fail(js, js->p,
			     "unexpected end of input, expected value");
		return NULL;
	}
	switch (*js->p) {
	case '"':
		return string(js, o);
	case '{':
		if (++js->depth > EV_MAX_DEPTH) {
			ev_json_fail(js, js->p,
				     "nesting deeper than 64 levels");
			return NULL;
		}
		r = object(js, o);
		js->depth--;
		return r;
	case '[':
		if (++js->depth > EV_MAX_DEPTH) {
			ev_json_fail(js, js->p,
				     "nesting deeper than 64 levels");
			return NULL;
		}
		r = array(js, o);
		js->depth--;
		return r;
	case 't':
		return literal(js, o, "true", 4, 0xc3);
	case 'f':
		return literal(js, o, "false", 5, 0xc2);
	case 'n':
		return literal(js, o, "null", 4, 0xc0);
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		return number(js, o);
	default:
		ev_json_fail(js, js->p, "expected value");
		return NULL;
	}
}

int ev_json_value(struct ev_json *js, struct ev_buf *b)
{
	size_t remain = (size_t)(js->end - js->p);
	uint8_t *o;

	/* Worst case output is under 4 bytes per input byte ("1e1" is 3
	 * bytes of text and 9 of float64), so one reservation covers it. */
	if (ev_buf_reserve(b, 4 * remain + 64) != 0)
		return ev_json_fail(js, js->p, "out of memory");
	o = value(js, b->p + b->len);
	if (o == NULL)
		return EV_EDATA;
	b->len = (size_t)(o - b->p);
	return 0;
}

/* ------------------------------------------------------------- errors */

/* column of p in the line, counted in characters, 1-based */
size_t ev_json_column(const char *start, const char *p)
{
	size_t col = 1;

	for (; start < p; start++)
		if (((unsigned char)*start & 0xC0) != 0x80)
			col++;
	return col;
}

int ev_parse_fail(struct ev_json *js, struct ev_error *err)
{
	ev_seterr(err, EV_EDATA, "%s",
		  js->errmsg ? js->errmsg : "invalid JSON");
	err->column = ev_json_column(js->start, js->errp ? js->errp : js->p);
	return EV_EDATA;
}
