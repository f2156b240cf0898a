/*
 * expr.c - struct ev_expr: the filter language of --where, parsed and
 * compiled once (the grammar and its comparison rules are in evtail(1),
 * "Filter expressions").  Recursive descent:
 *
 *	expr := and ('or' and)*
 *	and  := not ('and' not)*
 *	not  := 'not' not | '(' expr ')' | test
 *	test := PATH OP VALUE | PATH 'exists' | PATH 'in' '[' VALUE, ... ']'
 *	      | PATH '=~' /REGEX/FLAGS | PATH 'like' GLOB
 *	      | PATH 'contains' VALUE
 *
 * Every error names the column it found, with the expression and a
 * caret under it.  Regexes are compiled (and JIT-compiled) here.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "expr_int.h"

struct parser {
	const char *src;
	const char *p;
	struct ev_error *err;
	int failed;
	unsigned depth; /* the ( and not around ps->p */
	unsigned tests; /* the conditions read so far */
};

/* the first names of a path */
static const char *const fields[] = {
	"data", "meta", "offset",  "id",     "type",	  "stream",
	"key",	"time", "version", "schema", "partition",
};

/* how a value is read: as typed, as a time, or as a string whatever it
 * looks like (envelope strings, like patterns) */
enum { VAL_TYPED, VAL_TIME, VAL_STRING };

/* the most of an expression an error shows, in bytes */
#define SHOWN 76

/* Limits on a hostile expression, as on a JSON literal: parsing,
 * evaluating and freeing the tree recurse as deep as it is, which an
 * expression nested or chained past these would make deep enough to
 * exhaust the stack. */
#define NEST_MAX 64
#define TESTS_MAX 1024

/* a limit on a time's text, to say so rather than to parse it */
#define TIME_MAX 128

static int failv(struct parser *ps, const char *at, int code, const char *fmt,
		 va_list ap) __attribute__((format(printf, 4, 0)));

/* Characters (not bytes) in [p, end). */
static size_t chars(const char *p, const char *end)
{
	size_t n = 0;

	for (; p < end; p++)
		if (((unsigned char)*p & 0xc0) != 0x80)
			n++;
	return n;
}

static int failv(struct parser *ps, const char *at, int code, const char *fmt,
		 va_list ap)
{
	char what[512], shown[SHOWN + 8], *o = shown;
	const char *from = ps->src, *to = ps->src + strlen(ps->src), *q;
	size_t col = 1 + chars(ps->src, at), caret;

	if (ps->failed)
		return ps->err != NULL ? ps->err->code : code;
	ps->failed = 1;
	if (code != EV_EUSAGE)
		return ev_seterr(ps->err, code, "out of memory");
	vsnprintf(what, sizeof(what), fmt, ap);
	/* a long expression is shown around the column, cut with ... */
	if (to - from > SHOWN) {
		if (at - from > SHOWN / 2)
			from = at - SHOWN / 2;
		while (from > ps->src && ((unsigned char)*from & 0xc0) == 0x80)
			from--;
		if (to - from > SHOWN - 6)
			to = from + SHOWN - 6;
		while (to > from && ((unsigned char)*to & 0xc0) == 0x80)
			to--;
	}
	if (from > ps->src)
		o += sprintf(o, "...");
	caret = (size_t)(o - shown) + chars(from, at);
	for (q = from; q < to; q++)
		*o++ = *q == '\t' || *q == '\n' || *q == '\r' ? ' ' : *q;
	if (*to != '\0')
		o += sprintf(o, "...");
	*o = '\0';
	ev_seterr(ps->err, EV_EUSAGE, "column %zu: %s\n  %s\n  %*s^", col, what,
		  shown, (int)caret, "");
	if (ps->err != NULL)
		ps->err->column = col;
	return EV_EUSAGE;
}

static int fail(struct parser *ps, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, const char *at, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = failv(ps, at, EV_EUSAGE, fmt, ap);
	va_end(ap);
	return r;
}

static void *oom(struct parser *ps)
{
	if (!ps->failed) {
		ps->failed = 1;
		ev_seterr(ps->err, EV_ERR, "out of memory");
	}
	return NULL;
}

static void skip_ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
	       *ps->p == '\r')
		ps->p++;
}

/* Length of the word at p: a path or keyword stops at an operator too,
 * a bare value only at a space, a bracket, a comma or a quote. */
static size_t word_len(const char *p, int value)
{
	return strcspn(p, value ? " \t\n\r()[],'\"" : " \t\n\r()[],'\"<>=!~&|");
}

/* Is the word at p exactly kw? */
static int is_word(const char *p, const char *kw)
{
	size_t n = strlen(kw);

	return strncmp(p, kw, n) == 0 && word_len(p, 0) == n;
}

/* What is at p, for a message: a word, or one character. */
static int token_len(const char *p)
{
	size_t n = word_len(p, 1);

	if (n == 0)
		n = *p != '\0' ? 1 : 0;
	while ((p[n] & 0xc0) == 0x80)
		n++; /* a whole character */
	return n > 40 ? 40 : (int)n;
}

static void node_free(struct ex_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	node_free(n->a);
	node_free(n->b);
	free(n->rest);
	for (i = 0; i < n->nlits; i++)
		free(n->lits[i].s);
	free(n->lits);
	if (n->md != NULL)
		pcre2_match_data_free(n->md);
	if (n->re != NULL)
		pcre2_code_free(n->re);
	free(n->glob);
	free(n);
}

static struct ex_node *node(struct parser *ps, enum ex_kind kind,
			    struct ex_node *a, struct ex_node *b)
{
	struct ex_node *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		node_free(a);
		node_free(b);
		return oom(ps);
	}
	n->kind = kind;
	n->a = a;
	n->b = b;
	return n;
}

/* A quoted string at ps->p: *out is its text, NUL-terminated (free it).
 * A backslash escapes the quote, a backslash, and gives \n and \t. */
static int quoted(struct parser *ps, char **out, size_t *outn)
{
	const char *start = ps->p, *p = ps->p + 1;
	char q = *start, *s, *o;

	s = malloc(strlen(p) + 1);
	if (s == NULL)
		return oom(ps), EV_ERR;
	for (o = s; *p != q; p++) {
		if (*p == '\0') {
			free(s);
			return fail(ps, start, "this string has no closing %c",
				    q);
		}
		if (*p == '\\' &&
		    (p[1] == q || p[1] == '\\' || p[1] == 'n' || p[1] == 't')) {
			p++;
			*o++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	ps->p = p + 1;
	*out = s;
	*outn = (size_t)(o - s);
	return 0;
}

/* Is s[0..n) a JSON number?  *is_int when it has no fraction or
 * exponent. */
static int json_number(const char *s, size_t n, int *is_int)
{
	size_t i = 0;

	*is_int = 1;
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < n && s[i] == '.') {
		*is_int = 0;
		if (++i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		*is_int = 0;
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == n;
}

/* A number word (json_number()) into lit: an integer when it fits 64
 * bits, else a double; a double that overflows or underflows is an
 * error. */
static int number(struct parser *ps, const char *at, char *s, int is_int,
		  struct ex_lit *lit)
{
	char *e;
	double d;

	errno = 0;
	if (is_int && s[0] == '-') {
		long long v = strtoll(s, &e, 10);
		if (errno == 0) {
			lit->v.type = v < 0 ? EV_MP_INT : EV_MP_UINT;
			if (v < 0)
				lit->v.v.i = v;
			else
				lit->v.v.u = (uint64_t)v;
			return 0;
		}
	} else if (is_int) {
		unsigned long long v = strtoull(s, &e, 10);
		if (errno == 0) {
			lit->v.type = EV_MP_UINT;
			lit->v.v.u = v;
			return 0;
		}
	}
	errno = 0;
	d = strtod(s, &e);
	if (isinf(d) || (errno == ERANGE && d == 0))
		return fail(ps, at,
			    "'%s' is out of range: a number must fit a "
			    "double (about 1e308, and 2e-308 near zero)",
			    s);
	lit->v.type = EV_MP_FLOAT;
	lit->v.v.f = d;
	return 0;
}

/* A JSON array or object at ps->p, kept as msgpack in lit: equal only
 * to a value stored with the same bytes. */
static int container(struct parser *ps, struct ex_lit *lit)
{
	struct ev_json js;
	struct ev_buf b = {0};

	ev_json_init(&js, ps->p, strlen(ps->p));
	if (ev_json_value(&js, &b) != 0) {
		ev_buf_free(&b);
		if (js.errmsg == NULL)
			return oom(ps), EV_ERR;
		return fail(ps, js.errp != NULL ? js.errp : ps->p,
			    "not a JSON %s: %s",
			    *ps->p == '[' ? "array" : "object",
			    js.errmsg != NULL ? js.errmsg : "bad value");
	}
	lit->s = (char *)b.p;
	lit->v.type = *ps->p == '[' ? EV_MP_ARRAY : EV_MP_MAP;
	lit->v.p = b.p;
	lit->v.n = (uint32_t)b.len;
	ps->p = js.p;
	return 0;
}

/* One value at ps->p into lit, read as mode says. */
static int value(struct parser *ps, int mode, struct ex_lit *lit)
{
	const char *at;
	char *s = NULL;
	size_t n = 0;
	int is_int, r;

	skip_ws(ps);
	at = ps->p;
	memset(lit, 0, sizeof(*lit));
	if (mode == VAL_TYPED && (*at == '[' || *at == '{'))
		return container(ps, lit);
	if (*at == '"' || *at == '\'') {
		if ((r = quoted(ps, &s, &n)) != 0)
			return r;
	} else {
		n = word_len(at, 1);
		if (n == 0 || is_word(at, "and") || is_word(at, "or"))
			return fail(ps, at, "expected a value");
		s = strndup(at, n);
		if (s == NULL)
			return oom(ps), EV_ERR;
		ps->p += n;
	}
	lit->s = s;
	if (mode == VAL_TIME) {
		/* no time is this long: say so, rather than cut it */
		if (n >= TIME_MAX)
			return fail(ps, at,
				    "a time of %zu characters is not a time",
				    n);
		r = ev_time_parse_user(s, ev_now(), &lit->t);
		if (r == EV_EDATA)
			return fail(ps, at,
				    "'%s' is out of range: times run "
				    "from " EV_TIME_RANGE,
				    s);
		if (r != 0)
			return fail(ps, at,
				    "'%s' is not a time (RFC 3339, a date, "
				    "or -1h)",
				    s);
		lit->is_time = 1;
		return 0;
	}
	if (mode == VAL_TYPED && *at != '"' && *at != '\'') {
		if (strcmp(s, "null") == 0) {
			lit->v.type = EV_MP_NIL;
			return 0;
		}
		if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
			lit->v.type = EV_MP_BOOL;
			lit->v.v.b = s[0] == 't';
			return 0;
		}
		if (json_number(s, n, &is_int))
			return number(ps, at, s, is_int, lit);
	}
	lit->v.type = EV_MP_STR;
	lit->v.p = (const uint8_t *)s;
	lit->v.n = (uint32_t)n;
	return 0;
}

static struct ex_lit *add_lit(struct parser *ps, struct ex_node *n)
{
	struct ex_lit *nv = realloc(n->lits, (n->nlits + 1) * sizeof(*nv));

	if (nv == NULL)
		return oom(ps);
	n->lits = nv;
	memset(&nv[n->nlits], 0, sizeof(*nv));
	return &nv[n->nlits++];
}

/* in [v, ...] */
static int list(struct parser *ps, struct ex_node *n, int mode)
{
	struct ex_lit *lit;
	int r;

	skip_ws(ps);
	if (*ps->p != '[')
		return fail(ps, ps->p,
			    "expected '[' after in, as in "
			    "in [1, 2, \"three\"]");
	ps->p++;
	skip_ws(ps);
	if (*ps->p == ']') {
		ps->p++;
		return 0;
	}
	for (;;) {
		if ((lit = add_lit(ps, n)) == NULL)
			return EV_ERR;
		if ((r = value(ps, mode, lit)) != 0)
			return r;
		skip_ws(ps);
		if (*ps->p == ']') {
			ps->p++;
			return 0;
		}
		if (*ps->p != ',')
			return fail(ps, ps->p,
				    "expected ',' or ']' in the list");
		ps->p++;
	}
}

/* =~ /REGEX/FLAGS: flags i (any case), m (^ and $ at lines), s (. takes
 * a newline).  ECMAScript-like: \uhhhh, $ only at the end, and a
 * reference to an unset group matches the empty string. */
static int regex(struct parser *ps, struct ex_node *n)
{
	const char *start, *p;
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_ALT_BSUX |
			PCRE2_MATCH_UNSET_BACKREF | PCRE2_DOLLAR_ENDONLY;
	pcre2_compile_context *cc;
	PCRE2_SIZE eoff;
	int ecode;
	char msg[160];

	skip_ws(ps);
	start = ps->p;
	if (*start != '/')
		return fail(ps, start, "expected a /regex/ after =~");
	for (p = start + 1; *p != '/'; p++) {
		if (*p == '\0')
			return fail(ps, start, "this /regex/ has no closing /");
		if (*p == '\\' && p[1] != '\0')
			p++;
	}
	ps->p = p + 1;
	while (*ps->p >= 'a' && *ps->p <= 'z') {
		if (*ps->p == 'i')
			opts |= PCRE2_CASELESS;
		else if (*ps->p == 'm')
			opts = (opts | PCRE2_MULTILINE) & ~PCRE2_DOLLAR_ENDONLY;
		else if (*ps->p == 's')
			opts |= PCRE2_DOTALL;
		else
			return fail(ps, ps->p,
				    "unknown regex flag '%c' (i, m or s)",
				    *ps->p);
		ps->p++;
	}
	if ((cc = pcre2_compile_context_create(NULL)) == NULL)
		return oom(ps), EV_ERR;
	pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
	n->re = pcre2_compile((PCRE2_SPTR)(start + 1), (size_t)(p - start - 1),
			      opts, &ecode, &eoff, cc);
	pcre2_compile_context_free(cc);
	if (n->re == NULL) {
		pcre2_get_error_message(ecode, (PCRE2_UCHAR *)msg, sizeof(msg));
		return fail(ps, start + 1 + eoff, "bad regex: %s", msg);
	}
	/* without JIT (a platform without it) pcre2_match() interprets */
	(void)pcre2_jit_compile(n->re, PCRE2_JIT_COMPLETE);
	n->md = pcre2_match_data_create_from_pattern(n->re, NULL);
	if (n->md == NULL)
		return oom(ps), EV_ERR;
	return 0;
}

/* The path at ps->p into n: its field, and the rest after data./meta. */
static int path(struct parser *ps, struct ex_node *n)
{
	const char *at = ps->p, *s;
	size_t len = word_len(at, 0), first, i;
	const char *sug;

	if (len == 0)
		return fail(ps, at, "expected a path such as data.amount");
	first = strcspn(at, ".");
	if (first > len)
		first = len;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i]) == first &&
		    memcmp(fields[i], at, first) == 0)
			break;
	if (i == sizeof(fields) / sizeof(fields[0])) {
		sug = ev_suggest(at, first, fields,
				 sizeof(fields) / sizeof(fields[0]));
		if (sug != NULL && first < len)
			return fail(ps, at,
				    "'%.*s' is neither a field of the envelope "
				    "nor a data. or meta. path; did you mean "
				    "'%s%.*s'?",
				    (int)len, at, sug, (int)(len - first),
				    at + first);
		if (sug != NULL)
			return fail(ps, at,
				    "'%.*s' is neither a field of the envelope "
				    "nor a data. or meta. path; did you mean "
				    "'%s'?",
				    (int)len, at, sug);
		return fail(ps, at,
			    "'%.*s' is neither a field of the envelope nor a "
			    "data. or meta. path; did you mean 'data.%.*s'?",
			    (int)len, at, (int)len, at);
	}
	n->field = (enum ex_field)i;
	if (first < len && i > EXF_META)
		return fail(ps, at + first, "'%s' has no fields: '%.*s'",
			    fields[i], (int)len, at);
	for (s = at + first; s < at + len; s++)
		if (*s == '.' && (s + 1 == at + len || s[1] == '.'))
			return fail(ps, s + 1,
				    "'%.*s' has an empty name after a dot",
				    (int)len, at);
	if (first < len &&
	    (n->rest = strndup(at + first + 1, len - first - 1)) == NULL)
		return oom(ps), EV_ERR;
	if (n->rest != NULL) {
		n->seg0n = strcspn(n->rest, ".");
		if (n->rest[n->seg0n] == '.')
			n->rest2 = n->rest + n->seg0n + 1;
	}
	ps->p += len;
	return 0;
}

/* Operators, longest first; '=' and friends get a hint. */
static const struct {
	const char *s;
	enum ex_op op;
} ops[] = {
	{"==", EXOP_EQ},    {"!=", EXOP_NE}, {"<=", EXOP_LE}, {">=", EXOP_GE},
	{"=~", EXOP_MATCH}, {"<", EXOP_LT},  {">", EXOP_GT},
};

static const char op_list[] = "==, !=, <, <=, >, >=, =~, in, like, "
			      "contains or exists";

static int operator(struct parser *ps, struct ex_node *n)
{
	const char *at = ps->p;
	size_t len = strspn(at, "<>=!~&|"), i;

	if (len > 0) {
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (strlen(ops[i].s) == len &&
			    memcmp(ops[i].s, at, len) == 0) {
				n->op = ops[i].op;
				ps->p += len;
				return 0;
			}
		if (len == 1 && *at == '=')
			return fail(ps, at,
				    "unknown operator '='; did you "
				    "mean '=='?");
		return fail(ps, at, "unknown operator '%.*s': use %s", (int)len,
			    at, op_list);
	}
	len = word_len(at, 0);
	if (is_word(at, "exists"))
		n->op = EXOP_EXISTS;
	else if (is_word(at, "in"))
		n->op = EXOP_IN;
	else if (is_word(at, "like"))
		n->op = EXOP_LIKE;
	else if (is_word(at, "contains"))
		n->op = EXOP_CONTAINS;
	else if (len > 0)
		return fail(ps, at, "unknown operator '%.*s': use %s", (int)len,
			    at, op_list);
	else
		return fail(ps, at, "expected an operator: %s", op_list);
	ps->p += len;
	return 0;
}

static struct ex_node *test(struct parser *ps)
{
	struct ex_node *n = node(ps, EX_TEST, NULL, NULL);
	struct ex_lit *lit;
	int mode, r;

	if (n == NULL)
		return NULL;
	if (path(ps, n) != 0)
		goto fail;
	skip_ws(ps);
	if (operator(ps, n) != 0)
		goto fail;
	/* time compares as a time, and the string fields of the envelope
	 * as strings whatever the literal looks like */
	mode = n->field == EXF_TIME ? VAL_TIME
	       : n->field == EXF_ID || n->field == EXF_TYPE ||
			       n->field == EXF_STREAM || n->field == EXF_KEY
		       ? VAL_STRING
		       : VAL_TYPED;
	switch (n->op) {
	case EXOP_EXISTS:
		return n;
	case EXOP_IN:
		r = list(ps, n, mode);
		break;
	case EXOP_MATCH:
		r = regex(ps, n);
		break;
	case EXOP_LIKE:
		if ((lit = add_lit(ps, n)) == NULL)
			goto fail;
		if ((r = value(ps, VAL_STRING, lit)) == 0 &&
		    (n->glob = strdup(lit->s)) == NULL)
			r = EV_ERR, oom(ps);
		break;
	case EXOP_CONTAINS:
		if ((lit = add_lit(ps, n)) == NULL)
			goto fail;
		/* on time, a part of its RFC 3339 text */
		r = value(ps, mode == VAL_TIME ? VAL_STRING : mode, lit);
		break;
	default:
		if ((lit = add_lit(ps, n)) == NULL)
			goto fail;
		r = value(ps, mode, lit);
		break;
	}
	if (r == 0)
		return n;
fail:
	node_free(n);
	return NULL;
}

static struct ex_node *expr_or(struct parser *ps);

static struct ex_node *expr_not(struct parser *ps)
{
	struct ex_node *n;
	const char *open;

	skip_ws(ps);
	if ((is_word(ps->p, "not") || *ps->p == '(') && ps->depth >= NEST_MAX)
		return fail(ps, ps->p, "nested more than %d levels", NEST_MAX),
		       NULL;
	if (is_word(ps->p, "not")) {
		ps->p += 3;
		ps->depth++;
		n = expr_not(ps);
		ps->depth--;
		if (n == NULL)
			return NULL;
		return node(ps, EX_NOT, n, NULL);
	}
	if (*ps->p != '(') {
		if (*ps->p == ')' || *ps->p == '\0')
			return fail(ps, ps->p,
				    "expected a condition such as "
				    "data.amount > 10"),
			       NULL;
		if (++ps->tests > TESTS_MAX)
			return fail(ps, ps->p, "more than %d conditions",
				    TESTS_MAX),
			       NULL;
		return test(ps);
	}
	open = ps->p++;
	ps->depth++;
	n = expr_or(ps);
	ps->depth--;
	if (n == NULL)
		return NULL;
	skip_ws(ps);
	if (*ps->p == ')') {
		ps->p++;
		return n;
	}
	if (*ps->p == '\0')
		fail(ps, open, "this ( has no closing )");
	else
		fail(ps, ps->p,
		     "unexpected '%.*s' after a complete condition: expected "
		     "and, or or )",
		     token_len(ps->p), ps->p);
	node_free(n);
	return NULL;
}

static struct ex_node *expr_and(struct parser *ps)
{
	struct ex_node *a, *b;

	if ((a = expr_not(ps)) == NULL)
		return NULL;
	for (;;) {
		skip_ws(ps);
		if (!is_word(ps->p, "and"))
			return a;
		ps->p += 3;
		if ((b = expr_not(ps)) == NULL) {
			node_free(a);
			return NULL;
		}
		if ((a = node(ps, EX_AND, a, b)) == NULL)
			return NULL;
	}
}

static struct ex_node *expr_or(struct parser *ps)
{
	struct ex_node *a, *b;

	if ((a = expr_and(ps)) == NULL)
		return NULL;
	for (;;) {
		skip_ws(ps);
		if (!is_word(ps->p, "or"))
			return a;
		ps->p += 2;
		if ((b = expr_and(ps)) == NULL) {
			node_free(a);
			return NULL;
		}
		if ((a = node(ps, EX_OR, a, b)) == NULL)
			return NULL;
	}
}

/* Does any test look at field f? */
static int uses(const struct ex_node *n, enum ex_field f)
{
	if (n == NULL)
		return 0;
	if (n->kind == EX_TEST)
		return n->field == f;
	return uses(n->a, f) || uses(n->b, f);
}

/* Does the top-level 'and' chain hold a test of type? */
static int has_type_test(const struct ex_node *n)
{
	if (n->kind == EX_AND)
		return has_type_test(n->a) || has_type_test(n->b);
	return n->kind == EX_TEST && n->field == EXF_TYPE;
}

int ev_expr_compile(struct ev_expr **out, const char *src, struct ev_error *err)
{
	struct parser ps = {src, src, err, 0, 0, 0};
	struct ev_expr *e;
	struct ex_node *root;

	*out = NULL;
	root = expr_or(&ps);
	if (root != NULL) {
		skip_ws(&ps);
		if (*ps.p != '\0') {
			fail(&ps, ps.p,
			     "unexpected '%.*s' after a complete condition: "
			     "expected and, or or the end",
			     token_len(ps.p), ps.p);
			node_free(root);
			root = NULL;
		}
	}
	if (root == NULL)
		return err != NULL ? err->code : EV_EUSAGE;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		node_free(root);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	e->root = root;
	e->has_type = has_type_test(root);
	/* neither is in the record: the place it was read from */
	e->has_offset = uses(root, EXF_OFFSET) || uses(root, EXF_PARTITION);
	*out = e;
	return 0;
}

void ev_expr_free(struct ev_expr *e)
{
	if (e == NULL)
		return;
	node_free(e->root);
	free(e->idx[0].kv);
	free(e->idx[1].kv);
	ev_buf_free(&e->scratch);
	free(e);
}
