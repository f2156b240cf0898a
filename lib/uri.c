/*
 * uri.c - RFC 3986 URIs for the JSON Schema modules: the strict grammar
 * of URI and URI-reference (the `uri` and `uri-reference` formats), IP
 * address literals, reference resolution (section 5.2, with dot-segment
 * removal), fragments and percent-decoding.
 *
 * Validation follows the ABNF of RFC 3986 appendix A exactly: ASCII only
 * (an IRI is not a URI), every '%' starts a full escape, '[' and ']'
 * only around an IP literal.  Resolution is lenient instead: it splits
 * any string with the regular expression of appendix B, as the RFC
 * intends, so a reference with a stray character still resolves.
 */
#include <stdlib.h>
#include <string.h>

#include "evlog.h"
#include "jschema_int.h"

/* ------------------------------------------------------------- classes */

enum {
	C_ALPHA = 1,
	C_DIGIT = 2,
	C_HEX = 4,
	C_UNRES = 8,  /* unreserved: ALPHA DIGIT - . _ ~ */
	C_SUB = 16,   /* sub-delims: ! $ & ' ( ) * + , ; = */
	C_SCHEME = 32 /* ALPHA DIGIT + - . */
};

#define ALNUM (C_UNRES | C_SCHEME)
static const unsigned char classes[256] = {
	['a' ... 'f'] = C_ALPHA | C_HEX | ALNUM,
	['g' ... 'z'] = C_ALPHA | ALNUM,
	['A' ... 'F'] = C_ALPHA | C_HEX | ALNUM,
	['G' ... 'Z'] = C_ALPHA | ALNUM,
	['0' ... '9'] = C_DIGIT | C_HEX | ALNUM,
	['-'] = C_UNRES | C_SCHEME,
	['.'] = C_UNRES | C_SCHEME,
	['_'] = C_UNRES,
	['~'] = C_UNRES,
	['+'] = C_SUB | C_SCHEME,
	['!'] = C_SUB,
	['$'] = C_SUB,
	['&'] = C_SUB,
	['\''] = C_SUB,
	['('] = C_SUB,
	[')'] = C_SUB,
	['*'] = C_SUB,
	[','] = C_SUB,
	[';'] = C_SUB,
	['='] = C_SUB,
};
#undef ALNUM

static unsigned char cls(unsigned char c)
{
	return classes[c];
}

static int is_hex(unsigned char c)
{
	return (cls(c) & C_HEX) != 0;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

/*
 * Span of characters from s[i] on that are unreserved, sub-delims,
 * pct-encoded, or in extra, and for an IRI (RFC 3987) any non-ASCII
 * byte (ucschar and iprivate, whose UTF-8 the caller checks); returns
 * the index after them, or (size_t)-1 on a bad escape.
 */
static size_t span(const char *s, size_t i, size_t n, const char *extra,
		   int iri)
{
	while (i < n) {
		unsigned char c = (unsigned char)s[i];

		if ((cls(c) & (C_UNRES | C_SUB)) || (iri && c >= 0x80)) {
			i++;
		} else if (c == '%') {
			if (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) ||
			    !is_hex((unsigned char)s[i + 2]))
				return (size_t)-1;
			i += 3;
		} else if (c != '\0' && extra != NULL && strchr(extra, c)) {
			i++;
		} else {
			break;
		}
	}
	return i;
}

/* ---------------------------------------------------------- IP literals */

int ev_uri_ipv4_valid(const char *s, size_t n)
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;

		if (part > 0) {
			if (i >= n || s[i] != '.')
				return 0;
			start = ++i;
		}
		while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255)
			return 0;
		if (s[start] == '0' && i - start > 1)
			return 0; /* leading zero: octal to some parsers */
	}
	return i == n;
}

int ev_uri_ipv6_valid(const char *s, size_t n)
{
	size_t i = 0;
	int groups = 0, dbl = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		dbl = 1;
		i = 2;
		if (i == n)
			return 1;
	} else if (n == 0 || s[0] == ':') {
		return 0;
	}
	for (;;) {
		size_t start = i;

		while (i < n && is_hex((unsigned char)s[i]))
			i++;
		if (i < n && s[i] == '.') {
			/* the last 32 bits as a dotted quad */
			if (!ev_uri_ipv4_valid(s + start, n - start))
				return 0;
			groups += 2;
			break;
		}
		if (i == start || i - start > 4)
			return 0;
		groups++;
		if (i == n)
			break;
		if (s[i] != ':' || groups >= 8)
			return 0;
		i++;
		if (i < n && s[i] == ':') {
			if (dbl)
				return 0;
			dbl = 1;
			i++;
			if (i == n)
				break;
		} else if (i == n) {
			return 0;
		}
	}
	return dbl ? groups <= 7 : groups == 8;
}

/* ------------------------------------------------------------- grammar */

/* length of a valid scheme followed by ':' at s, or 0 */
static size_t scheme_len(const char *s, size_t n)
{
	size_t i = 1;

	if (n == 0 || !(cls((unsigned char)s[0]) & C_ALPHA))
		return 0;
	while (i < n && (cls((unsigned char)s[i]) & C_SCHEME))
		i++;
	return i < n && s[i] == ':' ? i : 0;
}

int ev_uri_is_absolute(const char *s, size_t n)
{
	return scheme_len(s, n) > 0;
}

/* IP-literal without its brackets: IPv6address / IPvFuture */
static int ip_literal(const char *s, size_t n)
{
	size_t i;

	if (n > 0 && (s[0] == 'v' || s[0] == 'V')) {
		for (i = 1; i < n && is_hex((unsigned char)s[i]); i++)
			;
		if (i == 1 || i >= n || s[i] != '.')
			return 0;
		i++;
		if (i == n)
			return 0;
		for (; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if (!(cls(c) & (C_UNRES | C_SUB)) && c != ':')
				return 0;
		}
		return 1;
	}
	return ev_uri_ipv6_valid(s, n);
}

/* authority = [ userinfo "@" ] host [ ":" port ], all of s[0..n) */
static int authority(const char *s, size_t n, int iri)
{
	const char *at = memchr(s, '@', n);
	size_t i = 0, e;

	if (at != NULL) {
		e = span(s, 0, (size_t)(at - s), ":", iri);
		if (e != (size_t)(at - s))
			return 0;
		i = e + 1;
	}
	if (i < n && s[i] == '[') {
		const char *rb = memchr(s + i, ']', n - i);

		if (rb == NULL ||
		    !ip_literal(s + i + 1, (size_t)(rb - s) - i - 1))
			return 0;
		i = (size_t)(rb - s) + 1;
	} else {
		i = span(s, i, n, NULL,
			 iri); /* reg-name (IPv4address is one too) */
		if (i == (size_t)-1)
			return 0;
	}
	if (i < n && s[i] == ':')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
	return i == n;
}

static int valid(const char *s, size_t n, int allow_relative, int iri)
{
	size_t i = scheme_len(s, n), e;

	if (i > 0) {
		i++; /* the ':' */
	} else {
		if (!allow_relative)
			return 0;
		/* path-noscheme: no ':' in the first segment */
		for (e = 0; e < n && s[e] != '/' && s[e] != '?' && s[e] != '#';
		     e++)
			if (s[e] == ':')
				return 0;
	}
	if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
		i += 2;
		for (e = i; e < n && s[e] != '/' && s[e] != '?' && s[e] != '#';
		     e++)
			;
		if (!authority(s + i, e - i, iri))
			return 0;
		i = e;
	}
	/* path: segments of pchar separated by '/' ("//" after no
	 * authority cannot happen here: it was taken as one) */
	i = span(s, i, n, ":@/", iri);
	if (i == (size_t)-1)
		return 0;
	if (i < n && s[i] == '?') {
		i = span(s, i + 1, n, ":@/?", iri);
		if (i == (size_t)-1)
			return 0;
	}
	if (i < n && s[i] == '#') {
		i = span(s, i + 1, n, ":@/?", iri);
		if (i == (size_t)-1)
			return 0;
	}
	return i == n;
}

int ev_uri_valid(const char *s, size_t n, int allow_relative)
{
	return valid(s, n, allow_relative, 0);
}

int ev_uri_iri_valid(const char *s, size_t n, int allow_relative)
{
	return valid(s, n, allow_relative, 1);
}

/* ------------------------------------------------------------ fragments */

size_t ev_uri_fragment(const char *s, const char **frag)
{
	const char *h = strchr(s, '#');

	if (h == NULL) {
		*frag = NULL;
		return strlen(s);
	}
	*frag = h + 1;
	return (size_t)(h - s);
}

int ev_uri_pct_decode(const char *s, size_t n, char **out)
{
	char *r = malloc(n + 1);
	size_t i, j = 0;

	*out = NULL;
	if (r == NULL)
		return EV_ERR;
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			if (s[i] == '\0')
				goto bad;
			r[j++] = s[i];
			continue;
		}
		if (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) ||
		    !is_hex((unsigned char)s[i + 2]))
			goto bad;
		r[j] = (char)(hexval((unsigned char)s[i + 1]) * 16 +
			      hexval((unsigned char)s[i + 2]));
		if (r[j] == '\0')
			goto bad; /* would cut the string short */
		j++;
		i += 2;
	}
	r[j] = '\0';
	*out = r;
	return 0;
bad:
	free(r);
	return EV_EDATA;
}

/* ----------------------------------------------------------- resolution */

/* the five components of appendix B; a NULL pointer is undefined */
struct parts {
	const char *scheme, *auth, *path, *query, *frag;
	size_t scheme_n, auth_n, path_n, query_n, frag_n;
};

static void split(const char *s, struct parts *p)
{
	size_t n = strlen(s), i = 0, e;

	memset(p, 0, sizeof(*p));
	e = strcspn(s, ":/?#");
	if (e > 0 && s[e] == ':') {
		p->scheme = s;
		p->scheme_n = e;
		i = e + 1;
	}
	if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
		p->auth = s + i + 2;
		p->auth_n = strcspn(p->auth, "/?#");
		i += 2 + p->auth_n;
	}
	p->path = s + i;
	p->path_n = strcspn(p->path, "?#");
	i += p->path_n;
	if (s[i] == '?') {
		p->query = s + i + 1;
		p->query_n = strcspn(p->query, "#");
		i += 1 + p->query_n;
	}
	if (s[i] == '#') {
		p->frag = s + i + 1;
		p->frag_n = n - i - 1;
	}
}

/*
 * remove_dot_segments (5.2.4) of in[0..n) into out, which has room for
 * n + 1 bytes; returns the output length.  The output is a stack of
 * segments, each starting with its '/' (or none for the first segment
 * of a relative path).
 */
static size_t remove_dots(const char *in, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		const char *p = in + i;
		size_t left = n - i, seg;

		if (left >= 3 && memcmp(p, "../", 3) == 0) {
			i += 3; /* A */
		} else if (left >= 2 && memcmp(p, "./", 2) == 0) {
			i += 2;
		} else if (left >= 3 && memcmp(p, "/./", 3) == 0) {
			i += 2; /* B: "/./" -> "/" */
		} else if (left == 2 && memcmp(p, "/.", 2) == 0) {
			out[o++] = '/'; /* B: "/." -> "/" */
			i += 2;
		} else if ((left >= 4 && memcmp(p, "/../", 4) == 0) ||
			   (left == 3 && memcmp(p, "/..", 3) == 0)) {
			/* C: drop the last output segment */
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			if (left == 3) {
				out[o++] = '/';
				i += 3;
			} else {
				i += 3; /* leave "/" as the next input */
			}
		} else if ((left == 1 && p[0] == '.') ||
			   (left == 2 && memcmp(p, "..", 2) == 0)) {
			i = n; /* D */
		} else {
			/* E: the first segment, with its leading '/' */
			seg = p[0] == '/' ? 1 : 0;
			while (i + seg < n && in[i + seg] != '/')
				seg++;
			memcpy(out + o, p, seg);
			o += seg;
			i += seg;
		}
	}
	return o;
}

static char *put(char *w, const char *s, size_t n)
{
	memcpy(w, s, n);
	return w + n;
}

int ev_uri_resolve(const char *base, const char *ref, char **out)
{
	struct parts b, r, t;
	char *merged = NULL, *res, *w;
	size_t mn = 0, cap;
	int ret = EV_ERR;

	*out = NULL;
	if (ref == NULL)
		return EV_EDATA;
	split(base != NULL ? base : "", &b);
	split(ref, &r);
	memset(&t, 0, sizeof(t));
	/* 5.2.2, strict: a scheme in the reference is always its own */
	if (r.scheme != NULL) {
		t = r;
	} else {
		t.scheme = b.scheme;
		t.scheme_n = b.scheme_n;
		if (r.auth != NULL) {
			t.auth = r.auth;
			t.auth_n = r.auth_n;
			t.path = r.path;
			t.path_n = r.path_n;
			t.query = r.query;
			t.query_n = r.query_n;
		} else {
			t.auth = b.auth;
			t.auth_n = b.auth_n;
			if (r.path_n == 0) {
				t.path = b.path;
				t.path_n = b.path_n;
				if (r.query != NULL) {
					t.query = r.query;
					t.query_n = r.query_n;
				} else {
					t.query = b.query;
					t.query_n = b.query_n;
				}
			} else {
				t.query = r.query;
				t.query_n = r.query_n;
				if (r.path[0] == '/') {
					t.path = r.path;
					t.path_n = r.path_n;
				} else {
					/* 5.2.3 merge */
					size_t keep = 0, k;

					if (b.auth != NULL && b.path_n == 0) {
						merged = malloc(r.path_n + 2);
						if (merged == NULL)
							goto out;
						merged[mn++] = '/';
					} else {
						for (k = b.path_n; k > 0; k--)
							if (b.path[k - 1] ==
							    '/')
								break;
						keep = k;
						merged = malloc(keep +
								r.path_n + 1);
						if (merged == NULL)
							goto out;
						memcpy(merged, b.path, keep);
						mn = keep;
					}
					memcpy(merged + mn, r.path, r.path_n);
					mn += r.path_n;
					t.path = merged;
					t.path_n = mn;
				}
			}
		}
	}
	t.frag = r.frag;
	t.frag_n = r.frag_n;

	/* 5.3 recomposition, removing dot segments from the path: only a
	 * path taken from the base as is keeps them (5.2.2 does not touch
	 * it) */
	cap = t.scheme_n + t.auth_n + t.path_n + t.query_n + t.frag_n + 8;
	res = malloc(cap);
	if (res == NULL)
		goto out;
	w = res;
	if (t.scheme != NULL) {
		w = put(w, t.scheme, t.scheme_n);
		*w++ = ':';
	}
	if (t.auth != NULL) {
		w = put(w, "//", 2);
		w = put(w, t.auth, t.auth_n);
	}
	if (r.scheme == NULL && r.auth == NULL && r.path_n == 0)
		w = put(w, t.path, t.path_n);
	else
		w += remove_dots(t.path, t.path_n, w);
	if (t.query != NULL) {
		*w++ = '?';
		w = put(w, t.query, t.query_n);
	}
	if (t.frag != NULL) {
		*w++ = '#';
		w = put(w, t.frag, t.frag_n);
	}
	*w = '\0';
	*out = res;
	ret = 0;
out:
	free(merged);
	return ret;
}
