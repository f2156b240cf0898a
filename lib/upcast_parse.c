/*
 * upcast_parse.c - the files of a set of upcasting steps, one at a time:
 * a spec file (*.upcast) parsed into steps of operations on dotted
 * paths, a Lua file (TYPE.N.lua) loaded as one step of the set's
 * sandboxed state (luaval.c); and the chains and steps they add to the
 * set.  upcast_load.c says which files, and checks the whole.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "luaval_int.h"
#include "upcast_int.h"

#define MAX_SPEC_BYTES (16u << 20) /* a spec or Lua file */

static const struct opdef {
	const char *name;
	enum op_kind kind;
	const char *usage;
} opdefs[] = {
	{"copy", OP_COPY, "copy FROM TO"},
	{"default", OP_DEFAULT, "default PATH VALUE"},
	{"delete", OP_REMOVE, "delete PATH"},
	{"drop", OP_DROP, "drop"},
	{"map", OP_MAP, "map PATH TABLE [else VALUE]"},
	{"move", OP_MOVE, "move FROM TO"},
	{"remove", OP_REMOVE, "remove PATH"},
	{"rename", OP_MOVE, "rename FROM TO"},
	{"retype", OP_RETYPE, "retype TYPE"},
	{"scale", OP_SCALE, "scale PATH FACTOR [round]"},
	{"set", OP_SET, "set PATH VALUE"},
	{"split", OP_SPLIT, "split PATH [INTO]"},
	{"tonumber", OP_TONUMBER, "tonumber PATH"},
	{"tostring", OP_TOSTRING, "tostring PATH"},
};
#define NOPDEFS (sizeof(opdefs) / sizeof(opdefs[0]))

/* ------------------------------------------------------------ loading */

struct parse {
	struct ev_upcaster *u;
	const char *file;
	unsigned line;
	const char *lstart, *p, *end;
	struct chain *chain;
	struct step *step;
	struct ev_error *err;
	struct ev_buf buf;
};

static int perr(struct parse *ps, const char *fmt, ...) EV_PRINTF(2, 3);

static int perr(struct parse *ps, const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ev_seterr(ps->err, EV_EUSAGE, "%s:%u: %s", ps->file, ps->line,
			 msg);
}

static void skip_ws(struct parse *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* The next bare word (up to a space or a comment), or n 0. */
static const char *word(struct parse *ps, size_t *n)
{
	const char *s;

	skip_ws(ps);
	s = ps->p;
	if (s < ps->end && *s == '#') {
		*n = 0;
		return s;
	}
	while (ps->p < ps->end && *ps->p != ' ' && *ps->p != '\t')
		ps->p++;
	*n = (size_t)(ps->p - s);
	return s;
}

static int at_end(struct parse *ps)
{
	skip_ws(ps);
	return ps->p >= ps->end || *ps->p == '#';
}

static int no_more(struct parse *ps, const char *what)
{
	size_t n;
	const char *s;

	if (at_end(ps))
		return 0;
	s = word(ps, &n);
	return perr(ps, "unexpected '%.*s' after %s", (int)n, s, what);
}

static struct chain *get_chain(struct ev_upcaster *u, const char *type,
			       size_t n)
{
	struct chain *c, **slot, **nv;
	size_t i;

	if (2 * (u->nchains + 1) > u->tab_cap) {
		size_t cap = u->tab_cap ? 2 * u->tab_cap : 16;
		nv = calloc(cap, sizeof(*nv));
		if (nv == NULL)
			return NULL;
		for (i = 0; i < u->nchains; i++)
			*ev_upcast_chain_slot(nv, cap, u->chains[i]->type,
					      u->chains[i]->type_n) =
				u->chains[i];
		free(u->tab);
		u->tab = nv;
		u->tab_cap = cap;
	}
	slot = ev_upcast_chain_slot(u->tab, u->tab_cap, type, n);
	if (*slot != NULL)
		return *slot;
	c = calloc(1, sizeof(*c));
	nv = realloc(u->chains, (u->nchains + 1) * sizeof(*nv));
	if (c == NULL || nv == NULL || (c->type = malloc(n + 1)) == NULL) {
		free(c);
		if (nv != NULL)
			u->chains = nv;
		return NULL;
	}
	memcpy(c->type, type, n);
	c->type[n] = '\0';
	c->type_n = n;
	u->chains = nv;
	u->chains[u->nchains++] = c;
	*slot = c;
	return c;
}

static struct step *add_step(struct ev_upcaster *u, struct chain *c,
			     uint64_t from, const char *file, unsigned line)
{
	struct step *st = calloc(1, sizeof(*st)), **nv;

	if (st == NULL)
		return NULL;
	if (c->nsteps == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4;
		nv = realloc(c->steps, cap * sizeof(*nv));
		if (nv == NULL) {
			free(st);
			return NULL;
		}
		c->steps = nv;
		c->cap = cap;
	}
	st->from = from;
	st->chain = c;
	st->file = file;
	st->line = line;
	st->seq = u->nsteps++;
	st->lua_ref = LUA_NOREF;
	c->steps[c->nsteps++] = st;
	return st;
}

/* A type name: a bare word, or a JSON string; *out is malloc'ed. */
static int type_name(struct parse *ps, const char *what, char **out,
		     size_t *outn)
{
	struct ev_json js;
	const char *s;
	size_t n;

	skip_ws(ps);
	ps->buf.len = 0;
	if (ps->p < ps->end && *ps->p == '"') {
		ev_json_init(&js, ps->p, (size_t)(ps->end - ps->p));
		if (ev_json_string_raw(&js, &ps->buf) != 0)
			return perr(ps, "%s: %s", what,
				    js.errmsg ? js.errmsg : "bad string");
		ps->p = js.p;
	} else {
		s = word(ps, &n);
		if (ev_buf_append(&ps->buf, s, n) != 0)
			return ev_seterr(ps->err, EV_ERR, "out of memory");
	}
	if (ps->buf.len == 0)
		return perr(ps, "%s: expected a type name", what);
	if (ev_has_control((const char *)ps->buf.p, ps->buf.len) ||
	    ev_utf8_valid(ps->buf.p, ps->buf.len) != ps->buf.len)
		return perr(ps,
			    "%s: a type name has no control characters "
			    "and is UTF-8",
			    what);
	*out = malloc(ps->buf.len + 1);
	if (*out == NULL)
		return ev_seterr(ps->err, EV_ERR, "out of memory");
	memcpy(*out, ps->buf.p, ps->buf.len);
	(*out)[ps->buf.len] = '\0';
	*outn = ps->buf.len;
	return 0;
}

static int parse_path(struct parse *ps, const char *opname, struct path *pa)
{
	static const char *const envelope[] = {
		"offset",  "id",   "type", "stream",
		"version", "time", "key",  "schema",
	};
	const char *s, *q;
	size_t n, i;
	int k;

	s = word(ps, &n);
	if (n == 0)
		return perr(ps, "%s: expected a path such as data.amount",
			    opname);
	q = memchr(s, '.', n);
	k = q ? (int)(q - s) : (int)n;
	if (!((k == 4 &&
	       (memcmp(s, "data", 4) == 0 || memcmp(s, "meta", 4) == 0)))) {
		for (i = 0; i < sizeof(envelope) / sizeof(envelope[0]); i++)
			if (strlen(envelope[i]) == (size_t)k &&
			    memcmp(envelope[i], s, (size_t)k) == 0)
				break;
		if (i < sizeof(envelope) / sizeof(envelope[0]))
			return perr(ps,
				    "%s: '%.*s' is not in data or meta: "
				    "operations change data and meta, "
				    "retype the type, and a Lua step the "
				    "rest",
				    opname, (int)n, s);
		return perr(ps,
			    "%s: '%.*s' is not a path in data or meta; did "
			    "you mean 'data.%.*s'?",
			    opname, (int)n, s, (int)n, s);
	}
	if (s[n - 1] == '.' || memmem(s, n, "..", 2) != NULL)
		return perr(ps,
			    "%s: '%.*s' is not a dotted path such as "
			    "data.amount",
			    opname, (int)n, s);
	pa->text = malloc(n + 1);
	pa->seg = calloc(n / 2 + 2, sizeof(*pa->seg));
	if (pa->text == NULL || pa->seg == NULL)
		return ev_seterr(ps->err, EV_ERR, "out of memory");
	memcpy(pa->text, s, n);
	pa->text[n] = '\0';
	for (q = pa->text; *q != '\0';) {
		size_t m = strcspn(q, ".");
		pa->seg[pa->n].p = q;
		pa->seg[pa->n].n = m;
		pa->n++;
		q += m;
		if (*q == '.')
			q++;
	}
	if (pa->n > EV_MAX_DEPTH)
		return perr(ps, "%s: '%s' is deeper than %d levels", opname,
			    pa->text, EV_MAX_DEPTH);
	return 0;
}

/* One JSON value into b. */
static int json_arg(struct parse *ps, const char *opname, struct ev_buf *b)
{
	struct ev_json js;

	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p == '#')
		return perr(ps, "%s: expected a JSON value", opname);
	ev_json_init(&js, ps->p, (size_t)(ps->end - ps->p));
	if (ev_json_value(&js, b) != 0)
		return perr(ps, "%s: bad JSON value at column %zu: %s", opname,
			    ev_json_column(ps->lstart,
					   js.errp ? js.errp : js.p),
			    js.errmsg ? js.errmsg : "invalid JSON");
	ps->p = js.p;
	if (ps->p < ps->end && *ps->p != ' ' && *ps->p != '\t' && *ps->p != '#')
		return perr(ps,
			    "%s: bad JSON value at column %zu: expected "
			    "a space after it",
			    opname, ev_json_column(ps->lstart, ps->p));
	return 0;
}

/* map's table: {"from": to, ...} or [[from, to], ...]. */
static int map_table(struct parse *ps, struct op *op)
{
	const uint8_t *p = op->val.p, *end = op->val.p + op->val.len, *s;
	struct ev_mp_item it, pair;
	uint32_t i;
	int map;

	if (ev_mp_read(&p, end, &it) != 0 ||
	    (it.type != EV_MP_MAP && it.type != EV_MP_ARRAY))
		return perr(ps, "map: the table is an object {\"from\": to} "
				"or an array of [from, to] pairs");
	map = it.type == EV_MP_MAP;
	op->map = calloc(it.n ? it.n : 1, sizeof(*op->map));
	if (op->map == NULL)
		return ev_seterr(ps->err, EV_ERR, "out of memory");
	for (i = 0; i < it.n; i++) {
		struct mapent *m = &op->map[op->nmap++];
		if (!map && (ev_mp_read(&p, end, &pair) != 0 ||
			     pair.type != EV_MP_ARRAY || pair.n != 2))
			return perr(ps,
				    "map: entry %u of the table is not a "
				    "[from, to] pair",
				    i + 1);
		s = p;
		ev_mp_skip(&p, end, 2);
		m->from = s;
		m->from_n = (size_t)(p - s);
		s = p;
		ev_mp_skip(&p, end, 2);
		m->to = s;
		m->to_n = (size_t)(p - s);
	}
	return 0;
}

static const struct opdef *find_op(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < NOPDEFS; i++)
		if (strlen(opdefs[i].name) == n &&
		    memcmp(opdefs[i].name, s, n) == 0)
			return &opdefs[i];
	return NULL;
}

static int parse_op(struct parse *ps, const struct opdef *d, struct op *op)
{
	struct ev_mp_item it;
	const uint8_t *p;
	const char *s;
	size_t n;
	int r;

	op->kind = d->kind;
	op->name = d->name;
	op->line = ps->line;
	switch (d->kind) {
	case OP_SET:
	case OP_DEFAULT:
		if ((r = parse_path(ps, d->name, &op->a)) != 0 ||
		    (r = json_arg(ps, d->name, &op->val)) != 0)
			return r;
		if (op->a.n == 1 && op->a.text[0] == 'm' &&
		    !((op->val.p[0] & 0xf0) == 0x80 || op->val.p[0] == 0xde ||
		      op->val.p[0] == 0xdf))
			return perr(ps, "%s: meta is an object", d->name);
		break;
	case OP_MOVE:
	case OP_COPY:
		if ((r = parse_path(ps, d->name, &op->a)) != 0 ||
		    (r = parse_path(ps, d->name, &op->b)) != 0)
			return r;
		break;
	case OP_REMOVE:
	case OP_TONUMBER:
	case OP_TOSTRING:
		if ((r = parse_path(ps, d->name, &op->a)) != 0)
			return r;
		break;
	case OP_MAP:
		if ((r = parse_path(ps, d->name, &op->a)) != 0 ||
		    (r = json_arg(ps, d->name, &op->val)) != 0 ||
		    (r = map_table(ps, op)) != 0)
			return r;
		skip_ws(ps);
		s = ps->p;
		if (!at_end(ps)) {
			s = word(ps, &n);
			if (n != 4 || memcmp(s, "else", 4) != 0)
				return perr(ps,
					    "map: unexpected '%.*s' after the "
					    "table (else VALUE?)",
					    (int)n, s);
			op->else_at = op->val.len;
			if ((r = json_arg(ps, d->name, &op->val)) != 0)
				return r;
			/* the table moved if the buffer grew */
			free(op->map);
			op->map = NULL;
			op->nmap = 0;
			n = op->val.len;
			op->val.len = op->else_at;
			r = map_table(ps, op);
			op->val.len = n;
			if (r != 0)
				return r;
		}
		break;
	case OP_SCALE:
		if ((r = parse_path(ps, d->name, &op->a)) != 0 ||
		    (r = json_arg(ps, d->name, &op->val)) != 0)
			return r;
		p = op->val.p;
		ev_mp_read(&p, op->val.p + op->val.len, &it);
		if (it.type == EV_MP_UINT && it.v.u <= INT64_MAX) {
			op->factor_int = 1;
			op->ifactor = (int64_t)it.v.u;
			op->factor = (double)it.v.u;
		} else if (it.type == EV_MP_INT) {
			op->factor_int = 1;
			op->ifactor = it.v.i;
			op->factor = (double)it.v.i;
		} else if (it.type == EV_MP_FLOAT) {
			op->factor = it.v.f;
		} else {
			return perr(ps, "scale: the factor is a number");
		}
		if (!at_end(ps)) {
			s = word(ps, &n);
			if (n != 5 || memcmp(s, "round", 5) != 0)
				return perr(ps,
					    "scale: unexpected '%.*s' after "
					    "the factor (round?)",
					    (int)n, s);
			op->round = 1;
		}
		break;
	case OP_RETYPE:
		if ((r = type_name(ps, d->name, &op->type, &op->type_n)) != 0)
			return r;
		break;
	case OP_SPLIT:
		if ((r = parse_path(ps, d->name, &op->a)) != 0)
			return r;
		if (!at_end(ps) && (r = parse_path(ps, d->name, &op->b)) != 0)
			return r;
		break;
	case OP_DROP:
		break;
	}
	return no_more(ps, "its arguments");
}

static int parse_line(struct parse *ps)
{
	const struct opdef *d;
	const char *names[NOPDEFS + 2], *s, *sug;
	struct op *op;
	char *tname;
	size_t n, i, tn;
	uint64_t from;
	char *e;
	int r;

	s = word(ps, &n);
	if (n == 0)
		return 0;
	if (n == 4 && memcmp(s, "type", 4) == 0) {
		if ((r = type_name(ps, "type", &tname, &tn)) != 0)
			return r;
		ps->chain = get_chain(ps->u, tname, tn);
		free(tname);
		if (ps->chain == NULL)
			return ev_seterr(ps->err, EV_ERR, "out of memory");
		if (ps->chain->file == NULL) {
			ps->chain->file = ps->file;
			ps->chain->line = ps->line;
		}
		ps->step = NULL;
		return no_more(ps, "the type");
	}
	if (n == 4 && memcmp(s, "from", 4) == 0) {
		if (ps->chain == NULL)
			return perr(ps, "'from' before any 'type': name the "
					"event type first");
		s = word(ps, &n);
		from = n && s[0] >= '0' && s[0] <= '9' ? strtoull(s, &e, 10)
						       : 0;
		if (n == 0 || e != s + n || from == 0 || from == UINT64_MAX)
			return perr(ps,
				    "from: '%.*s' is not a version (1, "
				    "2, ...)",
				    (int)n, s);
		ps->step = add_step(ps->u, ps->chain, from, ps->file, ps->line);
		if (ps->step == NULL)
			return ev_seterr(ps->err, EV_ERR, "out of memory");
		return no_more(ps, "the version");
	}
	d = find_op(s, n);
	if (d == NULL) {
		for (i = 0; i < NOPDEFS; i++)
			names[i] = opdefs[i].name;
		names[NOPDEFS] = "type";
		names[NOPDEFS + 1] = "from";
		sug = ev_suggest(s, n, names, NOPDEFS + 2);
		if (sug != NULL)
			return perr(ps,
				    "unknown operation '%.*s'; did you mean "
				    "'%s'?",
				    (int)n, s, sug);
		return perr(ps, "unknown operation '%.*s'", (int)n, s);
	}
	if (ps->step == NULL)
		return perr(ps,
			    "'%s' outside a step: begin one with 'from N' "
			    "after 'type NAME'",
			    d->name);
	if (ps->step->nops > 0 &&
	    ps->step->ops[ps->step->nops - 1].kind == OP_DROP)
		return perr(ps, "'%s' after 'drop': nothing follows a drop",
			    d->name);
	if (ps->step->nops == ps->step->cap) {
		size_t cap = ps->step->cap ? 2 * ps->step->cap : 4;
		op = realloc(ps->step->ops, cap * sizeof(*op));
		if (op == NULL)
			return ev_seterr(ps->err, EV_ERR, "out of memory");
		ps->step->ops = op;
		ps->step->cap = cap;
	}
	op = &ps->step->ops[ps->step->nops++];
	memset(op, 0, sizeof(*op));
	if ((r = parse_op(ps, d, op)) != 0)
		return r;
	return 0;
}

/* A whole file into a malloc'ed, NUL-terminated buffer. */
static int read_file(const char *path, char **out, size_t *n,
		     struct ev_error *err)
{
	struct stat st;
	char *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k;
	size_t got = 0;

	*out = NULL;
	if (fd < 0)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open '%s'", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)MAX_SPEC_BYTES) {
		close(fd);
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' is not a regular file of at most %u "
				 "MiB",
				 path, MAX_SPEC_BYTES >> 20);
	}
	p = malloc((size_t)st.st_size + 1);
	if (p == NULL) {
		close(fd);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	while (got < (size_t)st.st_size &&
	       (k = read(fd, p + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)k;
	close(fd);
	p[got] = '\0';
	*out = p;
	*n = got;
	return 0;
}

static const char *keep_name(struct ev_upcaster *u, const char *path)
{
	char **nv = realloc(u->files, (u->nfiles + 1) * sizeof(*nv));

	if (nv == NULL)
		return NULL;
	u->files = nv;
	if ((nv[u->nfiles] = strdup(path)) == NULL)
		return NULL;
	return nv[u->nfiles++];
}

int ev_upcast_load_spec(struct ev_upcaster *u, const char *path,
			struct ev_error *err)
{
	struct parse ps;
	char *text;
	size_t n;
	const char *p, *nl;
	int r;

	if ((r = read_file(path, &text, &n, err)) != 0)
		return r;
	memset(&ps, 0, sizeof(ps));
	ps.u = u;
	ps.err = err;
	ps.file = keep_name(u, path);
	if (ps.file == NULL) {
		free(text);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	if (ev_utf8_valid((const uint8_t *)text, n) != n) {
		free(text);
		return ev_seterr(err, EV_EUSAGE, "%s: not UTF-8 text", path);
	}
	for (p = text; p < text + n; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(text + n - p));
		if (nl == NULL)
			nl = text + n;
		ps.line++;
		ps.lstart = ps.p = p;
		ps.end = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if ((r = parse_line(&ps)) != 0)
			break;
	}
	ev_buf_free(&ps.buf);
	free(text);
	return r;
}

/* TYPE.N.lua: the step of TYPE from version N. */
/* A Lua file that does not load is named whole, with the line where Lua
 * says one, else line 1: FILE:LINE: MESSAGE. */
static int lua_load_error(const char *file, int r, struct ev_error *err)
{
	char msg[2 * sizeof(err->msg) + 32];
	const char *line, *rest;
	size_t nline;

	if (r == EV_ERR || (strncmp(err->msg, file, strlen(file)) == 0 &&
			    err->msg[strlen(file)] == ':'))
		return r; /* named already */
	if ((rest = ev_lua_split(file, err->msg, &line, &nline)) != NULL)
		snprintf(msg, sizeof(msg), "%s:%.*s: %s", file, (int)nline,
			 line, rest);
	else
		snprintf(msg, sizeof(msg), "%s:1: %s", file, err->msg);
	return ev_seterr(err, r, "%s", msg);
}

int ev_upcast_load_lua(struct ev_upcaster *u, const char *path,
		       struct ev_error *err)
{
	const char *base = strrchr(path, '/'), *dot;
	struct chain *c;
	struct step *st;
	const char *file;
	char *text, *e = NULL;
	size_t n, bn;
	uint64_t from = 0;
	int r, ref;

	base = base ? base + 1 : path;
	bn = strlen(base) - 4; /* without .lua */
	dot = bn > 0 ? memrchr(base, '.', bn) : NULL;
	if (dot != NULL && dot > base && dot[1] >= '0' && dot[1] <= '9')
		from = strtoull(dot + 1, &e, 10);
	if (dot == NULL || dot == base || from == 0 || from == UINT64_MAX ||
	    e != base + bn)
		return ev_seterr(err, EV_EUSAGE,
				 "%s:1: a Lua step is named TYPE.N.lua, N "
				 "the version it upcasts from "
				 "(OrderCreated.1.lua)",
				 path);
	if (u->lua == NULL && (r = ev_lua_new(&u->lua, 0, 0, err)) != 0)
		return r;
	ev_lua_set_stop(u->lua, u->stop);
	if ((r = read_file(path, &text, &n, err)) != 0)
		return r;
	if ((file = keep_name(u, path)) == NULL) {
		free(text);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	r = ev_lua_load_function(u->lua, file, text, n, &ref, err);
	free(text);
	if (r != 0)
		return lua_load_error(file, r, err);
	c = get_chain(u, base, (size_t)(dot - base));
	if (c == NULL || (st = add_step(u, c, from, file, 1)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	st->is_lua = 1;
	st->lua_ref = ref;
	return 0;
}
