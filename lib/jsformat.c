/*
 * jsformat.c - the JSON Schema `format` checks (draft 2020-12, 7.3):
 * dates and times (RFC 3339, with its leap-second rule), durations
 * (RFC 3339 appendix A), e-mail addresses (RFC 5321, RFC 6531 for
 * idn-email), host names (RFC 1123, with IDNA2008 labels: RFC 5890-5893
 * and Punycode, RFC 3492), IP addresses, URIs and IRIs (uri.c), UUIDs,
 * JSON pointers (RFC 6901 and the relative ones), URI templates
 * (RFC 6570) and ECMA-262 regexes (ecmare.c).
 *
 * Each check reads the string once, on the stack: no allocation, as
 * `format: date-time` is checked on every event of a type.
 *
 * Not covered (best effort, documented for the idn-* formats): Unicode
 * normalisation (NFC) of U-labels, and the IDNA2008 tables are those
 * of the python3-idna release the table was generated from.
 */
#include <string.h>

#include "jschema_int.h"

/* --------------------------------------------------------------- helpers */

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* two ASCII digits as a number, or -1 */
static int d2(const char *p)
{
	if (!is_digit((unsigned char)p[0]) || !is_digit((unsigned char)p[1]))
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/*
 * Next code point of UTF-8 s[*i..n), advancing *i; -1 when malformed
 * (overlong, surrogate, beyond U+10FFFF or cut short).
 */
static int32_t utf8_next(const char *s, size_t n, size_t *i)
{
	const unsigned char *p = (const unsigned char *)s + *i;
	size_t left = n - *i, len, k;
	uint32_t c;

	if (p[0] < 0x80) {
		*i += 1;
		return p[0];
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else {
		return -1;
	}
	if (left < len)
		return -1;
	for (k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (p[k] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*i += len;
	return (int32_t)c;
}

static int utf8_valid(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n)
		if (utf8_next(s, n, &i) < 0)
			return 0;
	return 1;
}

/* ------------------------------------------------------- dates and times */

static int leap_year(int y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* full-date: exactly YYYY-MM-DD at s (10 bytes) */
static int full_date(const char *s)
{
	static const unsigned char mdays[] = {31, 28, 31, 30, 31, 30,
					      31, 31, 30, 31, 30, 31};
	int y1 = d2(s), y2 = d2(s + 2), m = d2(s + 5), d = d2(s + 8), y;

	if (y1 < 0 || y2 < 0 || m < 1 || m > 12 || d < 1 || s[4] != '-' ||
	    s[7] != '-')
		return 0;
	y = y1 * 100 + y2;
	return d <= mdays[m - 1] + (m == 2 && leap_year(y));
}

/*
 * full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM), all of s[0..n).  A leap
 * second (:60) only at 23:59 UTC, the offset taken away.
 */
static int full_time(const char *s, size_t n)
{
	int h, m, sec, oh = 0, om = 0, sign = 0, utc;
	size_t i = 8;

	if (n < 9 || s[2] != ':' || s[5] != ':')
		return 0;
	h = d2(s);
	m = d2(s + 3);
	sec = d2(s + 6);
	if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60)
		return 0;
	if (s[i] == '.') {
		size_t f = ++i;

		while (i < n && is_digit((unsigned char)s[i]))
			i++;
		if (i == f)
			return 0;
	}
	if (i == n)
		return 0; /* the offset is required */
	if (s[i] == 'Z' || s[i] == 'z') {
		if (i + 1 != n)
			return 0;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '+' ? 1 : -1;
		if (n - i != 6 || s[i + 3] != ':')
			return 0;
		oh = d2(s + i + 1);
		om = d2(s + i + 4);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return 0;
	} else {
		return 0;
	}
	if (sec == 60) {
		utc = h * 60 + m - sign * (oh * 60 + om);
		utc = (utc % 1440 + 1440) % 1440;
		if (utc != 23 * 60 + 59)
			return 0;
	}
	return 1;
}

static int check_date_time(const char *s, size_t n)
{
	if (n < 20 || (s[10] != 'T' && s[10] != 't'))
		return 0;
	return full_date(s) && full_time(s + 11, n - 11);
}

static int check_date(const char *s, size_t n)
{
	return n == 10 && full_date(s);
}

/*
 * duration (RFC 3339 appendix A): P, then weeks alone, or date units
 * from Y, M, D and time units (after T) from H, M, S, each group a run
 * of consecutive units in that order, at least one unit after P and
 * after T.  Whole numbers only.
 */
static int check_duration(const char *s, size_t n)
{
	static const char dunits[] = "YMD", tunits[] = "HMS";
	const char *units = dunits;
	size_t i = 1;
	int last = -1, any = 0, in_time = 0, week = 0;

	if (n < 2 || s[0] != 'P')
		return 0;
	while (i < n) {
		size_t start = i;
		const char *u;
		int k;

		if (s[i] == 'T') {
			if (in_time || week || i + 1 == n)
				return 0;
			in_time = 1;
			units = tunits;
			last = -1;
			any = 0;
			i++;
			continue;
		}
		while (i < n && is_digit((unsigned char)s[i]))
			i++;
		if (i == start || i == n)
			return 0;
		if (s[i] == 'W' && !in_time) {
			if (start != 1 || i + 1 != n)
				return 0; /* weeks alone */
			week = 1;
			i++;
			continue;
		}
		u = strchr(units, s[i]);
		if (s[i] == '\0' || u == NULL)
			return 0;
		k = (int)(u - units);
		if (last >= 0 && k != last + 1)
			return 0;
		last = k;
		any = 1;
		i++;
	}
	return any || week;
}

/* ------------------------------------------------------------ Punycode */

#define PUNY_MAX 64 /* code points of one label: at most 63 octets */

enum { P_BASE = 36, P_TMIN = 1, P_TMAX = 26, P_SKEW = 38, P_DAMP = 700 };

static uint32_t puny_adapt(uint32_t delta, uint32_t npoints, int first)
{
	uint32_t k = 0;

	delta = first ? delta / P_DAMP : delta / 2;
	delta += delta / npoints;
	while (delta > ((P_BASE - P_TMIN) * P_TMAX) / 2) {
		delta /= P_BASE - P_TMIN;
		k += P_BASE;
	}
	return k + (P_BASE - P_TMIN + 1) * delta / (delta + P_SKEW);
}

static uint32_t puny_t(uint32_t k, uint32_t bias)
{
	return k <= bias ? P_TMIN : k >= bias + P_TMAX ? P_TMAX : k - bias;
}

/* RFC 3492 6.2: decode s[0..n) into out (*on code points); 0 or -1 */
static int puny_decode(const char *s, size_t n, uint32_t *out, size_t *on)
{
	uint32_t cp = 128, i = 0, bias = 72;
	size_t b = 0, in, o = 0, j;

	for (j = 0; j < n; j++)
		if (s[j] == '-')
			b = j;
	if (b > PUNY_MAX)
		return -1;
	for (j = 0; j < b; j++) {
		if ((unsigned char)s[j] >= 0x80)
			return -1;
		out[o++] = (unsigned char)s[j];
	}
	in = b > 0 ? b + 1 : 0;
	while (in < n) {
		uint32_t oldi = i, w = 1, k, digit, t;

		for (k = P_BASE;; k += P_BASE) {
			unsigned char c;

			if (in >= n)
				return -1;
			c = (unsigned char)s[in++];
			if (c >= '0' && c <= '9')
				digit = c - '0' + 26;
			else if (c >= 'a' && c <= 'z')
				digit = c - 'a';
			else if (c >= 'A' && c <= 'Z')
				digit = c - 'A';
			else
				return -1;
			if (digit > (UINT32_MAX - i) / w)
				return -1;
			i += digit * w;
			t = puny_t(k, bias);
			if (digit < t)
				break;
			if (w > UINT32_MAX / (P_BASE - t))
				return -1;
			w *= P_BASE - t;
		}
		bias = puny_adapt(i - oldi, (uint32_t)o + 1, oldi == 0);
		if (i / (o + 1) > UINT32_MAX - cp)
			return -1;
		cp += i / (uint32_t)(o + 1);
		i %= (uint32_t)(o + 1);
		if (cp < 0x80 || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		if (o >= PUNY_MAX)
			return -1;
		memmove(out + i + 1, out + i, (o - i) * sizeof(*out));
		out[i++] = cp;
		o++;
	}
	*on = o;
	return 0;
}

static char puny_digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + d - 26);
}

/* RFC 3492 6.3: encode cp[0..n) into out (room for cap bytes); the
 * length, or -1 when it does not fit */
static int puny_encode(const uint32_t *cp, size_t n, char *out, size_t cap)
{
	uint32_t c = 128, delta = 0, bias = 72, h, b = 0, m, q, k, t;
	size_t o = 0, j;

	for (j = 0; j < n; j++)
		if (cp[j] < 0x80) {
			if (o >= cap)
				return -1;
			out[o++] = (char)cp[j];
			b++;
		}
	h = b;
	if (b > 0) {
		if (o >= cap)
			return -1;
		out[o++] = '-';
	}
	while (h < n) {
		m = UINT32_MAX;
		for (j = 0; j < n; j++)
			if (cp[j] >= c && cp[j] < m)
				m = cp[j];
		if (m - c > (UINT32_MAX - delta) / (h + 1))
			return -1;
		delta += (m - c) * (h + 1);
		c = m;
		for (j = 0; j < n; j++) {
			if (cp[j] < c && ++delta == 0)
				return -1;
			if (cp[j] != c)
				continue;
			for (q = delta, k = P_BASE;; k += P_BASE) {
				t = puny_t(k, bias);
				if (q < t)
					break;
				if (o >= cap)
					return -1;
				out[o++] =
					puny_digit(t + (q - t) % (P_BASE - t));
				q = (q - t) / (P_BASE - t);
			}
			if (o >= cap)
				return -1;
			out[o++] = puny_digit(q);
			bias = puny_adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		c++;
	}
	return (int)o;
}

/* ------------------------------------------------------------ host names */

/* properties of jsformat_idna.c, with ASCII's: LDH is PVALID (upper
 * case too: host names are case-insensitive), the rest DISALLOWED */
#define I_CLASS(p) ((p)&3u)
#define I_BIDI(p) (((p) >> 2) & 7u)
#define I_MARK(p) (((p) >> 5) & 1u)
#define I_VIRAMA(p) (((p) >> 6) & 1u)
#define I_SCRIPT(p) (((p) >> 7) & 7u)
#define I_JOIN(p) (((p) >> 10) & 7u)

enum { B_L, B_R, B_AL, B_AN, B_EN, B_OTHER, B_NSM, B_BAD };
enum { S_GREEK = 1, S_HEBREW, S_HIRAGANA, S_KATAKANA, S_HAN };
enum { J_L = 1, J_D, J_R, J_T };

static unsigned props(uint32_t c)
{
	if (c >= 0x80)
		return ev_jsformat_idna_props(c);
	if (is_alpha((unsigned char)c))
		return 1 | B_L << 2;
	if (is_digit((unsigned char)c))
		return 1 | B_EN << 2;
	if (c == '-')
		return 1 | B_OTHER << 2;
	return 0;
}

/* what a label tells about the Bidi rule (RFC 5893 2) */
struct bidi {
	int rtl_domain; /* some label has an R, AL or AN */
	int bad;	/* some label breaks the rule */
};

static void bidi_label(const uint32_t *cp, size_t n, struct bidi *bd)
{
	unsigned first = I_BIDI(props(cp[0])), last = B_NSM, c;
	int en = 0, an = 0, rtl = first == B_R || first == B_AL, ok = 1;
	size_t j;

	if (first != B_L && !rtl)
		ok = 0; /* rule 1 */
	for (j = 0; j < n; j++) {
		c = I_BIDI(props(cp[j]));
		if (c == B_R || c == B_AL || c == B_AN)
			bd->rtl_domain = 1;
		en |= c == B_EN;
		an |= c == B_AN;
		if (c != B_NSM)
			last = c;
		if (rtl ? (c == B_L || c == B_BAD) /* rule 2 */
			: (c == B_R || c == B_AL || c == B_AN ||
			   c == B_BAD)) /* rule 5 */
			ok = 0;
	}
	if (rtl) {
		if ((last != B_R && last != B_AL && last != B_EN &&
		     last != B_AN) ||
		    (en && an))
			ok = 0; /* rules 3 and 4 */
	} else if (last != B_L && last != B_EN) {
		ok = 0; /* rule 6 */
	}
	if (!ok)
		bd->bad = 1;
}

/* RFC 5892 appendix A.1: ZERO WIDTH NON-JOINER and JOINER */
static int contextj(const uint32_t *cp, size_t n, size_t j)
{
	size_t k;
	int ok = 0;

	if (j > 0 && I_VIRAMA(props(cp[j - 1])))
		return 1;
	if (cp[j] != 0x200c)
		return 0;
	for (k = j; k-- > 0;) {
		unsigned jt = I_JOIN(props(cp[k]));

		if (jt == J_T)
			continue;
		ok = jt == J_L || jt == J_D;
		break;
	}
	if (!ok)
		return 0;
	for (k = j + 1; k < n; k++) {
		unsigned jt = I_JOIN(props(cp[k]));

		if (jt == J_T)
			continue;
		return jt == J_R || jt == J_D;
	}
	return 0;
}

/* RFC 5892 appendix A.3 to A.9 */
static int contexto(const uint32_t *cp, size_t n, size_t j)
{
	uint32_t c = cp[j];
	size_t k;

	switch (c) {
	case 0x00b7: /* MIDDLE DOT: between two l */
		return j > 0 && j + 1 < n && cp[j - 1] == 'l' &&
		       cp[j + 1] == 'l';
	case 0x0375: /* GREEK KERAIA: before Greek */
		return j + 1 < n && I_SCRIPT(props(cp[j + 1])) == S_GREEK;
	case 0x05f3: /* HEBREW GERESH, GERSHAYIM: after Hebrew */
	case 0x05f4:
		return j > 0 && I_SCRIPT(props(cp[j - 1])) == S_HEBREW;
	case 0x30fb: /* KATAKANA MIDDLE DOT: with Hiragana, Katakana, Han */
		for (k = 0; k < n; k++) {
			unsigned sc = I_SCRIPT(props(cp[k]));

			if (cp[k] != 0x30fb &&
			    (sc == S_HIRAGANA || sc == S_KATAKANA ||
			     sc == S_HAN))
				return 1;
		}
		return 0;
	default:
		break;
	}
	/* ARABIC-INDIC DIGITS and EXTENDED ARABIC-INDIC DIGITS not mixed */
	for (k = 0; k < n; k++) {
		if (c >= 0x0660 && c <= 0x0669 && cp[k] >= 0x06f0 &&
		    cp[k] <= 0x06f9)
			return 0;
		if (c >= 0x06f0 && c <= 0x06f9 && cp[k] >= 0x0660 &&
		    cp[k] <= 0x0669)
			return 0;
	}
	return c >= 0x0660 && c <= 0x06f9;
}

/* a U-label (RFC 5891 5.4, without the NFC check) */
static int ulabel(const uint32_t *cp, size_t n, struct bidi *bd)
{
	size_t j;

	if (n == 0 || cp[0] == '-' || cp[n - 1] == '-')
		return 0;
	if (n >= 4 && cp[2] == '-' && cp[3] == '-')
		return 0;
	if (I_MARK(props(cp[0])))
		return 0;
	for (j = 0; j < n; j++) {
		unsigned p = props(cp[j]);

		switch (I_CLASS(p)) {
		case 1:
			break;
		case 2:
			if (!contextj(cp, n, j))
				return 0;
			break;
		case 3:
			if (!contexto(cp, n, j))
				return 0;
			break;
		default:
			return 0;
		}
	}
	bidi_label(cp, n, bd);
	return 1;
}

/*
 * An ASCII label s[0..n): LDH, 1 to 63 octets, no hyphen at either end;
 * an "xn--" one must be the Punycode of a valid U-label that is not all
 * ASCII, in its one canonical spelling.  idn: also refuse other labels
 * with "--" in the third and fourth place (reserved, RFC 5891 4.2.3.1).
 */
static int alabel(const char *s, size_t n, int idn, struct bidi *bd)
{
	uint32_t cp[PUNY_MAX];
	char back[PUNY_MAX];
	size_t j, on = 0;
	int len, nonascii = 0;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (j = 0; j < n; j++) {
		unsigned char c = (unsigned char)s[j];

		if (!is_alpha(c) && !is_digit(c) && c != '-')
			return 0;
		cp[j] = c;
	}
	if (n < 4 || s[2] != '-' || s[3] != '-') {
		bidi_label(cp, n, bd);
		return 1;
	}
	if (lower((unsigned char)s[0]) != 'x' ||
	    lower((unsigned char)s[1]) != 'n')
		return !idn;
	if (puny_decode(s + 4, n - 4, cp, &on) != 0)
		return 0;
	for (j = 0; j < on; j++)
		nonascii |= cp[j] >= 0x80;
	if (!nonascii)
		return 0;
	len = puny_encode(cp, on, back, sizeof(back));
	if (len != (int)(n - 4))
		return 0;
	for (j = 0; j < n - 4; j++)
		if (lower((unsigned char)back[j]) !=
		    lower((unsigned char)s[4 + j]))
			return 0;
	return ulabel(cp, on, bd);
}

/* hostname: RFC 1123 names of LDH labels, at most 253 octets */
static int check_hostname(const char *s, size_t n)
{
	struct bidi bd = {0, 0};
	size_t i = 0, e;

	if (n == 0 || n > 253)
		return 0;
	for (;;) {
		for (e = i; e < n && s[e] != '.'; e++)
			;
		if (!alabel(s + i, e - i, 0, &bd))
			return 0;
		if (e == n)
			break;
		i = e + 1;
	}
	return !(bd.rtl_domain && bd.bad);
}

/* idn-hostname: labels separated by '.' or U+3002, U+FF0E, U+FF61;
 * U-labels of at most 63 octets as A-labels, 253 for the whole name */
static int check_idn_hostname(const char *s, size_t n)
{
	struct bidi bd = {0, 0};
	uint32_t cp[PUNY_MAX];
	char a[64];
	size_t i = 0, total = 0;

	if (n == 0)
		return 0;
	for (;;) {
		size_t on = 0, start = i, alen;
		int ascii = 1, sep = 0;

		while (i < n) {
			int32_t c = utf8_next(s, n, &i);

			if (c < 0)
				return 0;
			if (c == '.' || c == 0x3002 || c == 0xff0e ||
			    c == 0xff61) {
				sep = 1;
				break;
			}
			if (on >= PUNY_MAX)
				return 0;
			ascii &= c < 0x80;
			cp[on++] = (uint32_t)c;
		}
		if (ascii) {
			/* on bytes from start */
			if (!alabel(s + start, on, 1, &bd))
				return 0;
			alen = on;
		} else {
			int len;

			if (!ulabel(cp, on, &bd))
				return 0;
			len = puny_encode(cp, on, a, sizeof(a));
			if (len < 0 || len + 4 > 63)
				return 0;
			alen = (size_t)len + 4;
		}
		total += alen;
		if (!sep)
			break;
		if (i == n)
			return 0; /* a separator at the end */
		total++;
	}
	return total <= 253 && !(bd.rtl_domain && bd.bad);
}

/* ------------------------------------------------------------- e-mail */

static int atext(unsigned char c, int idn)
{
	if (is_alpha(c) || is_digit(c))
		return 1;
	if (c >= 0x80)
		return idn;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/*
 * Mailbox (RFC 5321 4.1.2): Local-part "@" ( Domain / address-literal ),
 * the local part a dot-string or a quoted string of at most 64 octets;
 * idn (RFC 6531): UTF-8 in the local part and an idn-hostname domain.
 */
static int check_email(const char *s, size_t n, int idn)
{
	size_t i = 0, at;

	if (idn && !utf8_valid(s, n))
		return 0;
	if (n > 0 && s[0] == '"') {
		for (i = 1; i < n && s[i] != '"'; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c == '\\') {
				if (++i >= n || (unsigned char)s[i] < 32 ||
				    (unsigned char)s[i] > 126)
					return 0;
			} else if ((c < 32 || c > 126) && !(idn && c >= 0x80)) {
				return 0;
			}
		}
		if (i >= n)
			return 0;
		i++;
	} else {
		for (;;) {
			size_t start = i;

			while (i < n && atext((unsigned char)s[i], idn))
				i++;
			if (i == start)
				return 0; /* empty atom: leading, trailing or
					     double dot */
			if (i < n && s[i] == '.')
				i++;
			else
				break;
		}
	}
	if (i == 0 || i > 64 || i >= n || s[i] != '@')
		return 0;
	at = ++i;
	if (at < n && s[at] == '[') {
		if (s[n - 1] != ']')
			return 0;
		if (n - at - 2 >= 5 && lower((unsigned char)s[at + 1]) == 'i' &&
		    lower((unsigned char)s[at + 2]) == 'p' &&
		    lower((unsigned char)s[at + 3]) == 'v' &&
		    s[at + 4] == '6' && s[at + 5] == ':')
			return ev_uri_ipv6_valid(s + at + 6, n - at - 7);
		return ev_uri_ipv4_valid(s + at + 1, n - at - 2);
	}
	return idn ? check_idn_hostname(s + at, n - at)
		   : check_hostname(s + at, n - at);
}

/* --------------------------------------------------------------- others */

static int check_uuid(const char *s, size_t n)
{
	size_t i;

	if (n != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!is_hex((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

/* RFC 6901: "" or "/"-prefixed tokens, '~' only as ~0 and ~1 */
static int check_json_pointer(const char *s, size_t n)
{
	size_t i;

	if (n > 0 && s[0] != '/')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '~' &&
		    (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1')))
			return 0;
	return 1;
}

/* draft-handrews-relative-json-pointer: an integer, then "#" or a
 * JSON pointer */
static int check_relative_json_pointer(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_digit((unsigned char)s[0]))
		return 0;
	if (s[0] == '0')
		i = 1;
	else
		while (i < n && is_digit((unsigned char)s[i]))
			i++;
	if (i < n && s[i] == '#')
		return i + 1 == n;
	return check_json_pointer(s + i, n - i);
}

/* pct-encoded at s[i] */
static int pct(const char *s, size_t n, size_t i)
{
	return i + 2 < n && s[i] == '%' && is_hex((unsigned char)s[i + 1]) &&
	       is_hex((unsigned char)s[i + 2]);
}

/* RFC 6570 (level 4) */
static int check_uri_template(const char *s, size_t n)
{
	size_t i = 0;

	if (!utf8_valid(s, n))
		return 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (!pct(s, n, i))
				return 0;
			i += 3;
			continue;
		}
		if (c == '{') {
			i++;
			if (i < n && strchr("+#./;?&=,!@|", s[i]) &&
			    s[i] != '\0')
				i++;
			for (;;) {
				size_t start = i;
				int dot = 1; /* no '.' first nor doubled */

				while (i < n) {
					if (pct(s, n, i)) {
						i += 3;
						dot = 0;
					} else if (is_alpha((unsigned char)
								    s[i]) ||
						   is_digit((unsigned char)
								    s[i]) ||
						   s[i] == '_') {
						i++;
						dot = 0;
					} else if (s[i] == '.' && !dot) {
						i++;
						dot = 1;
					} else {
						break;
					}
				}
				if (i == start || dot)
					return 0;
				if (i < n && s[i] == ':') {
					size_t d = ++i;

					if (i >= n || s[i] < '1' || s[i] > '9')
						return 0;
					while (i < n &&
					       is_digit((unsigned char)s[i]))
						i++;
					if (i - d > 4)
						return 0;
				} else if (i < n && s[i] == '*') {
					i++;
				}
				if (i < n && s[i] == ',') {
					i++;
					continue;
				}
				if (i < n && s[i] == '}') {
					i++;
					break;
				}
				return 0;
			}
			continue;
		}
		/* literals: not CTL, SP, '"', '%', '<', '>', '\', '^', '`',
		 * '{', '|', '}' (the apostrophe is allowed, as the suite
		 * and RFC 6570's errata have it) */
		if (c <= 0x20 || c == 0x7f || strchr("\"<>\\^`{|}", c))
			return 0;
		i++;
	}
	return 1;
}

/* ------------------------------------------------------------- dispatch */

int ev_jsformat_check(const char *format, const char *s, size_t n)
{
	switch (format[0]) {
	case 'd':
		if (strcmp(format, "date-time") == 0)
			return check_date_time(s, n);
		if (strcmp(format, "date") == 0)
			return check_date(s, n);
		if (strcmp(format, "duration") == 0)
			return check_duration(s, n);
		break;
	case 'e':
		if (strcmp(format, "email") == 0)
			return check_email(s, n, 0);
		break;
	case 'h':
		if (strcmp(format, "hostname") == 0)
			return check_hostname(s, n);
		break;
	case 'i':
		if (strcmp(format, "ipv4") == 0)
			return ev_uri_ipv4_valid(s, n);
		if (strcmp(format, "ipv6") == 0)
			return ev_uri_ipv6_valid(s, n);
		if (strcmp(format, "idn-email") == 0)
			return check_email(s, n, 1);
		if (strcmp(format, "idn-hostname") == 0)
			return check_idn_hostname(s, n);
		if (strcmp(format, "iri") == 0)
			return utf8_valid(s, n) && ev_uri_iri_valid(s, n, 0);
		if (strcmp(format, "iri-reference") == 0)
			return utf8_valid(s, n) && ev_uri_iri_valid(s, n, 1);
		break;
	case 'j':
		if (strcmp(format, "json-pointer") == 0)
			return check_json_pointer(s, n);
		break;
	case 'r':
		if (strcmp(format, "regex") == 0)
			return ev_ecmare_valid(s, n); /* ECMA-262, u flag */
		if (strcmp(format, "relative-json-pointer") == 0)
			return check_relative_json_pointer(s, n);
		break;
	case 't':
		if (strcmp(format, "time") == 0)
			return full_time(s, n);
		break;
	case 'u':
		if (strcmp(format, "uri") == 0)
			return ev_uri_valid(s, n, 0);
		if (strcmp(format, "uri-reference") == 0)
			return ev_uri_valid(s, n, 1);
		if (strcmp(format, "uuid") == 0)
			return check_uuid(s, n);
		if (strcmp(format, "uri-template") == 0)
			return check_uri_template(s, n);
		break;
	default:
		break;
	}
	return -1;
}
