/*
 * project.c - struct ev_projection: a Lua projection (evproject -p),
 * which folds events into one state per partition.  The file runs in
 * the sandbox of luaval.c, and events reach it as the event tables
 * upcast steps get (their data decoded when first read).
 *
 * The states live in Lua, in one table keyed by the partition keys
 * (strings, numbers, booleans, or evlog.null); they become msgpack only
 * to be output, saved, or kept aside while a handler runs in atomic
 * mode.  Keys are put in order (as JSON values) when the states are
 * listed, not kept in order as they come.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "luaval_int.h"

#define MAX_DEF_BYTES (16u << 20) /* a projection file */
#define MAX_EMITS 10000		  /* events emitted for one event */
#define MAX_KEY_JSON 200	  /* a partition key in a message */

/* on = {Type = fn}: by type, sorted */
struct handler {
	char *type;
	size_t n;
	int ref;
};

/* a state being listed: its key as msgpack, in keys */
struct kent {
	size_t at, n;
};

struct ev_projection {
	struct ev_lua *lua;
	char *file, *name, *desc;
	uint64_t file_hash;
	int global, atomic, spoilt;
	int part_ref, init_ref, any_ref, result_ref; /* LUA_NOREF: none */
	struct handler *on;
	size_t non;
	int states_ref, key_ref, null_ref;
	const void *null; /* evlog.null */
	uint64_t nstates;
	/* the event being applied, for emit() */
	const struct ev_event *ev;
	/* SQL for db:exec() and db:rows(), and the db table's reference */
	ev_projection_sql_fn sql;
	void *sql_ctx;
	int db_ref;
	struct ev_buf params, rows;
	size_t nrows;
	/* the events it emitted: records end to end */
	struct ev_buf erecs;
	size_t *eend;
	ev_time_t *etime;
	size_t nemit, ecap;
	struct ev_buf edata, emeta, eumeta;
	struct ev_buf snap; /* the state before the handlers, atomic */
	/* the last failure */
	struct ev_projection_failure fail;
	struct ev_buf ftype, fkey, fwhere, fwhy;
	/* listing */
	struct ev_buf keys, out;
	struct kent *kent;
	size_t nkent, kcap;
};

/* ------------------------------------------------------------ loading */

static int read_def(const char *path, char **out, size_t *n,
		    struct ev_error *err)
{
	struct stat st;
	size_t got = 0;
	ssize_t k;
	char *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open '%s'", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)MAX_DEF_BYTES) {
		close(fd);
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' is not a regular file of at most %u MiB",
				 path, MAX_DEF_BYTES >> 20);
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
	if (got < (size_t)st.st_size) {
		free(p);
		return ev_seterr(err, EV_EIO, "cannot read '%s'", path);
	}
	p[got] = '\0';
	*out = p;
	*n = got;
	return 0;
}

/* The line that defines the function at idx (0 for a C one). */
static int fn_line(lua_State *L, int idx)
{
	lua_Debug ar;

	lua_pushvalue(L, idx);
	if (!lua_getinfo(L, ">S", &ar))
		return 0;
	return ar.linedefined > 0 ? ar.linedefined : 0;
}

/* A failure that Lua does not place, placed at the function at idx. */
static int fail_at(lua_State *L, struct ev_projection *p, int idx,
		   const char *fmt, ...)
{
	va_list ap;
	int line = lua_type(L, idx) == LUA_TFUNCTION ? fn_line(L, idx) : 0;

	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	if (line > 0)
		lua_pushfstring(L, "%s:%d: %s", p->file, line,
				lua_tostring(L, -1));
	else
		lua_pushfstring(L, "%s: %s", p->file, lua_tostring(L, -1));
	return lua_error(L);
}

static int emit_fn(lua_State *L);

static int handler_cmp(const void *a, const void *b)
{
	const struct handler *x = a, *y = b;
	int c = memcmp(x->type, y->type, x->n < y->n ? x->n : y->n);

	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* field name of the definition at idx: a function (its reference) or
 * nothing */
static int def_fn(struct ev_projection *p, lua_State *L, int idx,
		  const char *name)
{
	lua_getfield(L, idx, name);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return LUA_NOREF;
	}
	if (lua_type(L, -1) != LUA_TFUNCTION)
		luaL_error(L, "%s: %s is a %s value, not a function", p->file,
			   name, luaL_typename(L, -1));
	return luaL_ref(L, LUA_REGISTRYINDEX);
}

struct def_ctx {
	struct ev_projection *p;
	int ref;
};

static int def_body(struct ev_lua *l, void *vctx)
{
	struct def_ctx *c = vctx;
	struct ev_projection *p = c->p;
	lua_State *L = ev_lua_state(l);
	struct handler *h;
	const char *s;
	size_t n;
	int d, on;

	lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
	d = lua_gettop(L);
	p->part_ref = def_fn(p, L, d, "partition_by");
	p->init_ref = def_fn(p, L, d, "init");
	p->any_ref = def_fn(p, L, d, "any");
	p->result_ref = def_fn(p, L, d, "result");
	lua_getfield(L, d, "on");
	on = lua_gettop(L);
	if (!lua_isnil(L, on) && lua_type(L, on) != LUA_TTABLE)
		luaL_error(L, "%s: on is a %s value, not a table of handlers",
			   p->file, luaL_typename(L, on));
	if (lua_type(L, on) == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, on)) {
			if (lua_type(L, -2) != LUA_TSTRING)
				luaL_error(L,
					   "%s: on has a %s key, not an event "
					   "type",
					   p->file, luaL_typename(L, -2));
			s = lua_tolstring(L, -2, &n);
			if (lua_type(L, -1) != LUA_TFUNCTION)
				fail_at(L, p, -1,
					"on.%s is a %s value, not a function",
					s, luaL_typename(L, -1));
			h = realloc(p->on, (p->non + 1) * sizeof(*h));
			if (h == NULL)
				luaL_error(L, "out of memory");
			p->on = h;
			h += p->non;
			h->type = malloc(n + 1);
			if (h->type == NULL)
				luaL_error(L, "out of memory");
			memcpy(h->type, s, n + 1);
			h->n = n;
			h->ref = luaL_ref(L, LUA_REGISTRYINDEX);
			p->non++;
		}
	}
	if (p->non == 0 && p->any_ref == LUA_NOREF)
		luaL_error(L, "%s: the projection has no handlers (on or any)",
			   p->file);
	if (p->non > 1)
		qsort(p->on, p->non, sizeof(*p->on), handler_cmp);
	/* the state of the run */
	lua_newtable(L);
	p->states_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pushboolean(L, 0);
	p->key_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_getglobal(L, "evlog");
	lua_getfield(L, -1, "null");
	p->null = lua_touserdata(L, -1);
	p->null_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	/* emit(), a global of the sandbox (the file's globals read
	 * through to them) */
	lua_pushlightuserdata(L, p);
	lua_pushcclosure(L, emit_fn, 1);
	lua_setglobal(L, "emit");
	return 0;
}

static int set_desc(struct ev_projection *p)
{
	struct ev_buf b = {0};

	if (ev_buf_printf(&b, "-p %s%s", p->file,
			  p->global ? " --global" : "") != 0 ||
	    ev_buf_putc(&b, '\0') != 0) {
		ev_buf_free(&b);
		return EV_ERR;
	}
	free(p->desc);
	p->desc = (char *)b.p;
	return 0;
}

static char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	size_t n;

	b = b ? b + 1 : path;
	n = strlen(b);
	if (n > 4 && strcmp(b + n - 4, ".lua") == 0)
		n -= 4;
	return strndup(b, n);
}

int ev_projection_load(struct ev_projection **out, const char *path,
		       const char *name, struct ev_error *err)
{
	struct ev_projection *p;
	struct def_ctx c;
	char *text = NULL;
	const char *line, *rest;
	size_t n = 0, nline;
	int r;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	p->part_ref = p->init_ref = p->any_ref = p->result_ref = LUA_NOREF;
	p->states_ref = p->key_ref = p->null_ref = p->db_ref = LUA_NOREF;
	p->file = strdup(path);
	p->name = name != NULL ? strdup(name) : base_name(path);
	if (p->file == NULL || p->name == NULL || set_desc(p) != 0) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	if ((r = read_def(path, &text, &n, err)) != 0)
		goto fail;
	p->file_hash = ev_hash64(text, n);
	if ((r = ev_lua_new(&p->lua, 0, 0, err)) != 0)
		goto fail;
	c.p = p;
	if ((r = ev_lua_load_value(p->lua, p->file, text, n, LUA_TTABLE, &c.ref,
				   err)) != 0)
		goto placed;
	if ((r = ev_lua_protected(p->lua, def_body, &c, err)) != 0) {
		r = EV_EUSAGE;
		goto placed;
	}
	free(text);
	*out = p;
	return 0;
placed:
	/* Lua names the file as the chunk: whole when it cut it short,
	 * and line 1 when it says none (a run-time error at load) */
	if (strncmp(err->msg, p->file, strlen(p->file)) != 0 ||
	    err->msg[strlen(p->file)] != ':') {
		char msg[2 * sizeof(err->msg) + 64];
		if ((rest = ev_lua_split(p->file, err->msg, &line, &nline)) !=
		    NULL)
			snprintf(msg, sizeof(msg), "%s:%.*s: %s", p->file,
				 (int)nline, line, rest);
		else
			snprintf(msg, sizeof(msg), "%s:1: %s", p->file,
				 err->msg);
		ev_seterr(err, r, "%s", msg);
	}
	err->code = r;
fail:
	free(text);
	ev_projection_free(p);
	return r;
}

void ev_projection_free(struct ev_projection *p)
{
	size_t i;

	if (p == NULL)
		return;
	ev_lua_free(p->lua);
	for (i = 0; i < p->non; i++)
		free(p->on[i].type);
	free(p->on);
	free(p->file);
	free(p->name);
	free(p->desc);
	ev_buf_free(&p->erecs);
	free(p->eend);
	free(p->etime);
	ev_buf_free(&p->edata);
	ev_buf_free(&p->emeta);
	ev_buf_free(&p->eumeta);
	ev_buf_free(&p->snap);
	ev_buf_free(&p->params);
	ev_buf_free(&p->rows);
	ev_buf_free(&p->ftype);
	ev_buf_free(&p->fkey);
	ev_buf_free(&p->fwhere);
	ev_buf_free(&p->fwhy);
	ev_buf_free(&p->keys);
	ev_buf_free(&p->out);
	free(p->kent);
	free(p);
}

const char *ev_projection_name(const struct ev_projection *p)
{
	return p->name;
}

int ev_projection_set_global(struct ev_projection *p, int on,
			     struct ev_error *err)
{
	if (on && p->part_ref != LUA_NOREF)
		return ev_seterr(err, EV_EUSAGE,
				 "%s: the projection has partition_by, so it "
				 "has no global state",
				 p->file);
	p->global = on != 0;
	if (set_desc(p) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}

void ev_projection_set_atomic(struct ev_projection *p, int on)
{
	p->atomic = on != 0;
}

uint64_t ev_projection_hash(const struct ev_projection *p)
{
	uint8_t b[16];

	if (!p->global)
		return p->file_hash;
	memcpy(b, &p->file_hash, 8);
	memcpy(b + 8, "--global", 8);
	return ev_hash64(b, sizeof(b));
}

const char *ev_projection_describe(const struct ev_projection *p)
{
	return p->desc;
}

static const struct handler *find_handler(const struct ev_projection *p,
					  const char *type, size_t n)
{
	struct handler k;

	if (p->non == 0)
		return NULL;
	k.type = (char *)type;
	k.n = n;
	return bsearch(&k, p->on, p->non, sizeof(*p->on), handler_cmp);
}

int ev_projection_wants_type(const struct ev_projection *p, const char *type,
			     size_t n)
{
	return p->any_ref != LUA_NOREF || find_handler(p, type, n) != NULL;
}

/* ------------------------------------------------------------ keys */

/* The partition key at idx as msgpack, appended to b (it is valid:
 * check_key() saw it). */
static int key_to_mp(lua_State *L, int idx, struct ev_buf *b)
{
	uint8_t t[16], *o = t;
	const char *s;
	size_t n;

	if (ev_buf_reserve(b, 16) != 0)
		return -1;
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &n);
		return ev_buf_mp_str(b, s, n);
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			o = ev_mp_int(o, (int64_t)lua_tointeger(L, idx));
		else
			o = ev_mp_double(o, (double)lua_tonumber(L, idx));
		break;
	case LUA_TBOOLEAN:
		*o++ = lua_toboolean(L, idx) ? 0xc3 : 0xc2;
		break;
	default:
		*o++ = 0xc0; /* evlog.null */
		break;
	}
	return ev_buf_append(b, t, (size_t)(o - t));
}

/* The key at idx as JSON text, cut short, into b (NUL-terminated). */
static void key_to_json(lua_State *L, int idx, struct ev_buf *b)
{
	struct ev_buf m = {0};
	struct ev_error e2;

	b->len = 0;
	if (key_to_mp(L, idx, &m) != 0 ||
	    ev_msgpack_to_json(m.p, m.len, b, &e2) != 0) {
		b->len = 0;
		ev_buf_puts(b, "?");
	}
	if (b->len > MAX_KEY_JSON) {
		b->len = MAX_KEY_JSON;
		ev_buf_puts(b, "...");
	}
	ev_buf_putc(b, '\0');
	ev_buf_free(&m);
}

/* A key partition_by may return: raises otherwise. */
static void check_key(lua_State *L, struct ev_projection *p, int idx, int fn)
{
	const char *s;
	double d;
	size_t n;

	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &n);
		if (ev_utf8_valid((const uint8_t *)s, n) != n)
			fail_at(L, p, fn,
				"partition_by returned a string that is not "
				"UTF-8");
		return;
	case LUA_TNUMBER:
		d = (double)lua_tonumber(L, idx);
		if (!lua_isinteger(L, idx) && !isfinite(d))
			fail_at(L, p, fn,
				"partition_by returned a number that is not "
				"finite");
		return;
	case LUA_TBOOLEAN:
		return;
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, idx) == p->null)
			return;
		break;
	default:
		break;
	}
	fail_at(L, p, fn,
		"partition_by returned a %s value, not a string, a number, a "
		"boolean or evlog.null",
		luaL_typename(L, idx));
}

/* Compare two msgpack keys as JSON values. */
static int key_rank(const struct ev_mp_item *it)
{
	switch (it->type) {
	case EV_MP_NIL:
		return 0;
	case EV_MP_BOOL:
		return 1;
	case EV_MP_UINT:
	case EV_MP_INT:
	case EV_MP_FLOAT:
		return 2;
	case EV_MP_STR:
		return 3;
	default:
		return 4;
	}
}

static int num_cmp(const struct ev_mp_item *a, const struct ev_mp_item *b)
{
	double x, y;

	if (a->type != EV_MP_FLOAT && b->type != EV_MP_FLOAT) {
		/* UINT is above INT64_MAX only; INT is below 0 only when
		 * read as INT */
		if (a->type == EV_MP_UINT && b->type == EV_MP_UINT)
			return (a->v.u > b->v.u) - (a->v.u < b->v.u);
		if (a->type == EV_MP_UINT)
			return b->v.i < 0 || a->v.u > (uint64_t)b->v.i ? 1
			       : a->v.u < (uint64_t)b->v.i	       ? -1
								       : 0;
		if (b->type == EV_MP_UINT)
			return -num_cmp(b, a);
		return (a->v.i > b->v.i) - (a->v.i < b->v.i);
	}
	x = a->type == EV_MP_FLOAT  ? a->v.f
	    : a->type == EV_MP_UINT ? (double)a->v.u
				    : (double)a->v.i;
	y = b->type == EV_MP_FLOAT  ? b->v.f
	    : b->type == EV_MP_UINT ? (double)b->v.u
				    : (double)b->v.i;
	return (x > y) - (x < y);
}

static int kent_cmp(const void *va, const void *vb, void *base)
{
	const struct kent *ka = va, *kb = vb;
	const uint8_t *pa = (const uint8_t *)base + ka->at;
	const uint8_t *pb = (const uint8_t *)base + kb->at;
	struct ev_mp_item a, b;
	int ra, rb, c;

	if (ev_mp_read(&pa, pa + ka->n, &a) != 0 ||
	    ev_mp_read(&pb, pb + kb->n, &b) != 0)
		return 0;
	ra = key_rank(&a);
	rb = key_rank(&b);
	if (ra != rb)
		return ra - rb;
	switch (ra) {
	case 1:
		return a.v.b - b.v.b;
	case 2:
		return num_cmp(&a, &b);
	case 3:
		c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);
		return c ? c : (a.n > b.n) - (a.n < b.n);
	default:
		return 0;
	}
}

/* ------------------------------------------------------------ emit */

static void put_uuid(char out[37], const uint8_t b[16])
{
	static const char hex[] = "0123456789abcdef";
	int i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

/* The id of emit n of the source event src: a UUID of version 8 from
 * two hashes of "NAME\0SOURCEID\0N". */
static int emit_id(struct ev_projection *p, const struct ev_str *src, size_t n,
		   char out[37])
{
	struct ev_buf b = {0};
	uint64_t h1, h2;
	uint8_t u[16];
	int i;

	if (ev_buf_append(&b, p->name, strlen(p->name) + 1) != 0 ||
	    ev_buf_append(&b, src->p, src->n) != 0 ||
	    ev_buf_printf(&b, "%c%zu", 0, n) != 0) {
		ev_buf_free(&b);
		return -1;
	}
	h1 = ev_hash64(b.p, b.len);
	if (ev_buf_putc(&b, 1) != 0) {
		ev_buf_free(&b);
		return -1;
	}
	h2 = ev_hash64(b.p, b.len);
	ev_buf_free(&b);
	for (i = 0; i < 8; i++) {
		u[i] = (uint8_t)(h1 >> (56 - 8 * i));
		u[8 + i] = (uint8_t)(h2 >> (56 - 8 * i));
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x80);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	put_uuid(out, u);
	return 0;
}

/* The string field name of the emit table at 1, or NULL. */
static const char *emit_str(lua_State *L, const char *name, size_t *n)
{
	const char *s;

	lua_getfield(L, 1, name);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		*n = 0;
		return NULL;
	}
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "emit: %s is a %s value, not a string", name,
			   luaL_typename(L, -1));
	s = lua_tolstring(L, -1, n);
	if (*n == 0)
		luaL_error(L, "emit: %s is empty", name);
	if (ev_utf8_valid((const uint8_t *)s, *n) != *n)
		luaL_error(L, "emit: %s is not UTF-8", name);
	lua_pop(L, 1); /* the table keeps it */
	return s;
}

static void oom(lua_State *L)
{
	luaL_error(L, "out of memory");
}

/* The meta of an emitted event: the emit's own (p->eumeta), without
 * causationId, then causationId and, unless it gave one,
 * correlationId. */
static void emit_meta(lua_State *L, struct ev_projection *p, int has_meta)
{
	const struct ev_event *ev = p->ev;
	const uint8_t *q, *end, *k0, *cv = NULL;
	struct ev_mp_item it, kt;
	struct ev_buf *m = &p->emeta;
	uint8_t hdr[8];
	size_t cn = 0, count = 0, body;
	int has_corr = 0;
	uint32_t i;

	m->len = 0;
	if (ev_buf_reserve(m, 5) != 0)
		oom(L);
	m->len = 5; /* room for the header */
	body = m->len;
	if (has_meta) {
		q = p->eumeta.p;
		end = q + p->eumeta.len;
		if (ev_mp_read(&q, end, &it) != 0 || it.type != EV_MP_MAP)
			luaL_error(L, "emit: meta is not an object");
		for (i = 0; i < it.n; i++) {
			k0 = q;
			if (ev_mp_read(&q, end, &kt) != 0 ||
			    kt.type != EV_MP_STR || ev_mp_skip_fast(&q, end))
				luaL_error(L, "emit: meta is not an object");
			if (kt.n == 11 && memcmp(kt.p, "causationId", 11) == 0)
				continue;
			if (kt.n == 13 &&
			    memcmp(kt.p, "correlationId", 13) == 0)
				has_corr = 1;
			if (ev_buf_append(m, k0, (size_t)(q - k0)) != 0)
				oom(L);
			count++;
		}
	}
	if (ev_buf_mp_str(m, "causationId", 11) != 0 ||
	    ev_buf_mp_str(m, ev->id.p, ev->id.n) != 0)
		oom(L);
	count++;
	if (!has_corr) {
		if (ev->meta == NULL ||
		    ev_mp_path(ev->meta, ev->meta_len, "correlationId", &cv,
			       &cn) != 1)
			cv = NULL;
		if (ev_buf_mp_str(m, "correlationId", 13) != 0 ||
		    (cv != NULL ? ev_buf_append(m, cv, cn)
				: ev_buf_mp_str(m, ev->id.p, ev->id.n)) != 0)
			oom(L);
		count++;
	}
	/* the header, just before the body */
	i = (uint32_t)(ev_mp_map_hdr(hdr, count) - hdr);
	memcpy(m->p + body - i, hdr, i);
	memmove(m->p, m->p + body - i, m->len - (body - i));
	m->len -= body - i;
}

static const char *const emit_keys[] = {
	"data", "key", "meta", "stream", "time", "type",
};

/* emit(t): encode t as a record, with its id and meta, into erecs. */
static int emit_fn(lua_State *L)
{
	struct ev_projection *p = lua_touserdata(L, lua_upvalueindex(1));
	const struct ev_event *ev = p->ev;
	struct ev_fields f;
	struct ev_error e2;
	const char *s;
	char id[37];
	size_t n, i, at;
	ev_time_t t;
	int has_meta = 0;

	if (ev == NULL)
		luaL_error(L, "emit: only the handlers of an event may emit");
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	if (p->nemit >= MAX_EMITS)
		luaL_error(L, "emit: more than %d events for one event",
			   MAX_EMITS);
	/* a misspelt field would be lost: there are none but these */
	if (!lua_getmetatable(L, 1)) {
		lua_pushnil(L);
		while (lua_next(L, 1)) {
			lua_pop(L, 1);
			s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
							   : NULL;
			for (i = 0; s != NULL &&
				    i < sizeof(emit_keys) / sizeof(*emit_keys);
			     i++)
				if (strcmp(s, emit_keys[i]) == 0)
					break;
			if (s == NULL ||
			    i == sizeof(emit_keys) / sizeof(*emit_keys))
				luaL_error(L,
					   "emit: the event has a field %s%s%s "
					   "that no emitted event has (type, "
					   "stream, key, data, meta, time)",
					   s ? "'" : "",
					   s ? s
					     : "that is not "
					       "a string",
					   s ? "'" : "");
		}
	} else {
		lua_pop(L, 1);
	}
	ev_fields_init(&f);
	f.type = emit_str(L, "type", &f.type_n);
	if (f.type == NULL)
		luaL_error(L, "emit: the event has no type");
	f.stream = emit_str(L, "stream", &f.stream_n);
	f.key = emit_str(L, "key", &f.key_n);
	s = emit_str(L, "time", &n);
	if (s == NULL)
		f.time = ev->time;
	else if (ev_time_parse(s, n, &f.time) != 0)
		luaL_error(L, "emit: time '%s' is not an RFC 3339 time", s);
	lua_getfield(L, 1, "data");
	if (!lua_isnil(L, -1)) {
		p->edata.len = 0;
		ev_lua_to_msgpack(p->lua, -1, &p->edata, EV_MAX_DEPTH - 1,
				  "emit: data", NULL, 0);
		f.data = p->edata.p;
		f.data_n = p->edata.len;
	}
	lua_pop(L, 1);
	lua_getfield(L, 1, "meta");
	if (!lua_isnil(L, -1)) {
		if (lua_type(L, -1) != LUA_TTABLE)
			luaL_error(L, "emit: meta is a %s value, not a table",
				   luaL_typename(L, -1));
		p->eumeta.len = 0;
		ev_lua_to_msgpack(p->lua, -1, &p->eumeta, EV_MAX_DEPTH - 1,
				  "emit: meta", NULL, 0);
		has_meta = 1;
	}
	lua_pop(L, 1);
	emit_meta(L, p, has_meta);
	f.meta = p->emeta.p;
	f.meta_n = p->emeta.len;
	if (emit_id(p, &ev->id, p->nemit, id) != 0)
		oom(L);
	f.id = id;
	f.id_n = 36;
	if (p->nemit == p->ecap) {
		size_t cap = p->ecap ? 2 * p->ecap : 8;
		size_t *ne = realloc(p->eend, cap * sizeof(*ne));
		ev_time_t *nt;
		if (ne == NULL)
			oom(L);
		p->eend = ne;
		nt = realloc(p->etime, cap * sizeof(*nt));
		if (nt == NULL)
			oom(L);
		p->etime = nt;
		p->ecap = cap;
	}
	at = p->erecs.len;
	if (ev_record_encode(&f, f.time, &p->erecs, &t, &e2) != 0) {
		p->erecs.len = at;
		luaL_error(L, "emit: %s", e2.msg);
	}
	p->eend[p->nemit] = p->erecs.len;
	p->etime[p->nemit] = t;
	p->nemit++;
	return 0;
}

size_t ev_projection_emitted_count(const struct ev_projection *p)
{
	return p->nemit;
}

void ev_projection_emitted(const struct ev_projection *p, size_t i,
			   const uint8_t **rec, size_t *n, ev_time_t *time)
{
	size_t at = i > 0 ? p->eend[i - 1] : 0;

	*rec = p->erecs.p + at;
	*n = p->eend[i] - at;
	if (time != NULL)
		*time = p->etime[i];
}

/* ------------------------------------------------------------ db */

/* a row of db:rows(), kept as msgpack until the SQL is done (no Lua
 * error may cross the caller's code) */
static int keep_row(void *ctx, const uint8_t *map, size_t n)
{
	struct ev_projection *p = ctx;

	if (ev_buf_append(&p->rows, map, n) != 0)
		return EV_ERR;
	p->nrows++;
	return 0;
}

/* db:exec(sql, ...) and db:rows(sql, ...) (upvalue 2: 1 for rows) */
static int db_call(lua_State *L)
{
	struct ev_projection *p = lua_touserdata(L, lua_upvalueindex(1));
	int rows = (int)lua_tointeger(L, lua_upvalueindex(2));
	const char *what = rows ? "db:rows" : "db:exec";
	const uint8_t *q, *end;
	struct ev_error e2;
	uint8_t hdr[8];
	const char *sql;
	size_t i, at, n = (size_t)lua_gettop(L);
	int r;

	if (n < 1 || lua_type(L, 1) != LUA_TTABLE)
		luaL_error(L, "%s: call it as %s(sql, ...)", what, what);
	if (lua_type(L, 2) != LUA_TSTRING)
		luaL_error(L, "%s: the SQL is a %s value, not a string", what,
			   luaL_typename(L, 2));
	sql = lua_tostring(L, 2);
	if (p->sql == NULL)
		luaL_error(L, "%s: the projection has no database", what);
	if (p->ev == NULL)
		luaL_error(L, "%s: only the handlers of an event may use db",
			   what);
	p->params.len = 0;
	at = (size_t)(ev_mp_array_hdr(hdr, n - 2) - hdr);
	if (ev_buf_append(&p->params, hdr, at) != 0)
		luaL_error(L, "out of memory");
	for (i = 3; i <= n; i++)
		ev_lua_to_msgpack(p->lua, (int)i, &p->params, EV_MAX_DEPTH - 1,
				  "SQL parameter", NULL, 0);
	p->rows.len = 0;
	p->nrows = 0;
	r = p->sql(p->sql_ctx, sql, p->params.p, p->params.len,
		   rows ? keep_row : NULL, p, &e2);
	if (r != 0)
		luaL_error(L, "%s",
			   r == EV_ERR && e2.msg[0] == '\0' ? "out of memory"
							    : e2.msg);
	if (!rows)
		return 0;
	lua_createtable(L, p->nrows < 1u << 20 ? (int)p->nrows : 0, 0);
	q = p->rows.p;
	end = q + p->rows.len;
	for (i = 0; i < p->nrows; i++) {
		const uint8_t *v = q;
		if (ev_mp_skip_fast(&q, end) != 0)
			luaL_error(L, "%s: a row is not msgpack", what);
		ev_lua_push_value(p->lua, v, (size_t)(q - v));
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static int db_body(struct ev_lua *l, void *vctx)
{
	struct ev_projection *p = vctx;
	lua_State *L = ev_lua_state(l);

	lua_createtable(L, 0, 2);
	lua_pushlightuserdata(L, p);
	lua_pushinteger(L, 0);
	lua_pushcclosure(L, db_call, 2);
	lua_setfield(L, -2, "exec");
	lua_pushlightuserdata(L, p);
	lua_pushinteger(L, 1);
	lua_pushcclosure(L, db_call, 2);
	lua_setfield(L, -2, "rows");
	p->db_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

int ev_projection_set_sql(struct ev_projection *p, ev_projection_sql_fn fn,
			  void *ctx, struct ev_error *err)
{
	p->sql = fn;
	p->sql_ctx = ctx;
	if (fn == NULL || p->db_ref != LUA_NOREF)
		return 0;
	if (ev_lua_protected(p->lua, db_body, p, err) != 0)
		return ev_seterr(err, EV_ERR, "%s", err->msg);
	return 0;
}

/* ------------------------------------------------------------ applying */

enum { ST_PARTITION, ST_INIT, ST_ON, ST_ANY };

struct apply_ctx {
	struct ev_projection *p;
	const struct ev_event *ev;
	const struct handler *h;
	int stage;
	int have_key, is_new, snapped;
};

/* Run handler fn (a reference) on the state at s and the event at e; a
 * table it returns replaces the state: 1 then. */
static int run_handler(lua_State *L, struct ev_projection *p, int fn, int s,
		       int e, const char *what, const char *type)
{
	int f;

	lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
	f = lua_gettop(L);
	lua_pushvalue(L, f);
	lua_pushvalue(L, s);
	lua_pushvalue(L, e);
	if (p->sql != NULL) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, p->db_ref);
		lua_call(L, 3, 1);
	} else {
		lua_call(L, 2, 1);
	}
	if (lua_isnil(L, -1)) {
		lua_pop(L, 2);
		return 0;
	}
	if (lua_type(L, -1) != LUA_TTABLE)
		fail_at(L, p, f,
			"%s%s returned a %s value, not a table (the state) or "
			"nil",
			what, type, luaL_typename(L, -1));
	lua_replace(L, s);
	lua_pop(L, 1);
	return 1;
}

static int apply_body(struct ev_lua *l, void *vctx)
{
	struct apply_ctx *c = vctx;
	struct ev_projection *p = c->p;
	lua_State *L = ev_lua_state(l);
	int e, k, st, s, f = 0, found, replaced = 0;

	luaL_checkstack(L, 16, "too many values");
	ev_lua_push_event(l, c->ev);
	e = lua_gettop(L);
	/* the partition */
	if (p->part_ref != LUA_NOREF) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, p->part_ref);
		f = lua_gettop(L);
		lua_pushvalue(L, f);
		lua_pushvalue(L, e);
		lua_call(L, 1, 1);
		if (lua_isnil(L, -1))
			return 0;
	} else if (p->global || c->ev->stream.p == NULL) {
		lua_pushlightuserdata(L, (void *)p->null);
	} else {
		lua_pushlstring(L, c->ev->stream.p, c->ev->stream.n);
	}
	k = lua_gettop(L);
	/* its state */
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->states_ref);
	st = lua_gettop(L);
	lua_pushvalue(L, k);
	found = lua_rawget(L, st) != LUA_TNIL;
	/* a key in the table was checked when it went in */
	if (!found && f != 0)
		check_key(L, p, k, f);
	lua_pushvalue(L, k);
	lua_rawseti(L, LUA_REGISTRYINDEX, p->key_ref);
	c->have_key = 1;
	if (!found) {
		lua_pop(L, 1);
		c->stage = ST_INIT;
		if (p->init_ref != LUA_NOREF) {
			lua_rawgeti(L, LUA_REGISTRYINDEX, p->init_ref);
			f = lua_gettop(L);
			lua_pushvalue(L, f);
			lua_call(L, 0, 1);
			if (lua_type(L, -1) != LUA_TTABLE)
				fail_at(L, p, f,
					"init returned a %s value, not a "
					"table (the state)",
					luaL_typename(L, -1));
			lua_remove(L, f);
		} else {
			lua_newtable(L);
		}
		c->is_new = 1;
	} else if (p->atomic) {
		p->snap.len = 0;
		ev_lua_to_msgpack(l, -1, &p->snap, EV_MAX_DEPTH, "the state",
				  NULL, 0);
		c->snapped = 1;
	}
	s = lua_gettop(L);
	if (c->h != NULL) {
		c->stage = ST_ON;
		replaced |=
			run_handler(L, p, c->h->ref, s, e, "on.", c->h->type);
	}
	if (p->any_ref != LUA_NOREF) {
		c->stage = ST_ANY;
		replaced |= run_handler(L, p, p->any_ref, s, e, "any", "");
	}
	if (c->is_new || replaced) {
		lua_pushvalue(L, k);
		lua_pushvalue(L, s);
		lua_rawset(L, st);
	}
	if (c->is_new)
		p->nstates++;
	return 0;
}

/* Put the state of the failed apply back (atomic mode). */
static int restore_body(struct ev_lua *l, void *vctx)
{
	struct ev_projection *p = vctx;
	lua_State *L = ev_lua_state(l);

	lua_rawgeti(L, LUA_REGISTRYINDEX, p->states_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->key_ref);
	ev_lua_push_value(l, p->snap.p, p->snap.len);
	lua_rawset(L, -3);
	return 0;
}

static void set_text(struct ev_buf *b, const char *s, size_t n)
{
	b->len = 0;
	if (ev_buf_append(b, s, n) != 0 || ev_buf_putc(b, '\0') != 0)
		b->len = 0;
}

/* A Lua message as the projection's: luaval words the end of the
 * instruction budget for upcast steps. */
static void put_why(struct ev_buf *b, const char *why)
{
	static const char budget[] = "the step ran for more than";

	b->len = 0;
	if (strncmp(why, budget, sizeof(budget) - 1) == 0)
		ev_buf_printf(b, "the handler ran for more than%s",
			      why + sizeof(budget) - 1);
	else
		ev_buf_puts(b, why);
	ev_buf_putc(b, '\0');
}

/* Word the failure of an apply: its parts in p->fail, the whole in
 * err. */
static int apply_failed(struct ev_projection *p, const struct ev_event *ev,
			int have_key, struct ev_error *err)
{
	lua_State *L = ev_lua_state(p->lua);
	struct ev_projection_failure *f = &p->fail;
	const char *why = err->msg, *line, *rest;
	char msg[2 * sizeof(err->msg) + 64], at[EV_PLACE_MAX];
	size_t nline;

	set_text(&p->ftype, ev->type.p, ev->type.n);
	f->offset = ev->offset;
	f->type = (const char *)p->ftype.p;
	f->partition = NULL;
	/* --global: one state, no partition to name (its key is null) */
	if (have_key && !p->global) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, p->key_ref);
		key_to_json(L, -1, &p->fkey);
		lua_pop(L, 1);
		f->partition = (const char *)p->fkey.p;
	}
	rest = ev_lua_split(p->file, why, &line, &nline);
	p->fwhere.len = 0;
	if (rest != NULL) {
		ev_buf_printf(&p->fwhere, "%s:%.*s", p->file, (int)nline, line);
		why = rest;
	} else {
		ev_buf_puts(&p->fwhere, p->file);
	}
	ev_buf_putc(&p->fwhere, '\0');
	put_why(&p->fwhy, why);
	f->where = (const char *)p->fwhere.p;
	f->why = (const char *)p->fwhy.p;
	if (f->where == NULL || f->why == NULL || f->type == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	/* a Kafka log's event by its record's place, P:O */
	snprintf(msg, sizeof(msg), "offset %s: %s: %s%s%s%s: %s",
		 ev_place_str(at, ev->has_partition, ev->partition, f->offset),
		 f->type, f->partition ? "partition " : "",
		 f->partition ? f->partition : "", f->partition ? ": " : "",
		 f->where, f->why);
	return ev_seterr(err, EV_EDATA, "%s", msg);
}

/* Apply ev, whose handler on[type] is h (or none). */
static int apply_with(struct ev_projection *p, const struct ev_event *ev,
		      const struct handler *h, struct ev_error *err)
{
	struct apply_ctx c;
	struct ev_error e2;
	int r;

	p->nemit = 0;
	p->erecs.len = 0;
	if (h == NULL && p->any_ref == LUA_NOREF)
		return 0;
	memset(&c, 0, sizeof(c));
	c.h = h;
	c.p = p;
	c.ev = ev;
	p->ev = ev;
	r = ev_lua_protected(p->lua, apply_body, &c, err);
	p->ev = NULL;
	if (r == 0)
		return 0;
	p->nemit = 0;
	p->erecs.len = 0;
	if (c.stage >= ST_ON && !c.is_new) {
		if (c.snapped) {
			if (ev_lua_protected(p->lua, restore_body, p, &e2) != 0)
				p->spoilt = 1;
		} else {
			p->spoilt = 1;
		}
	}
	return apply_failed(p, ev, c.have_key, err);
}

int ev_projection_apply(struct ev_projection *p, const struct ev_event *ev,
			struct ev_error *err)
{
	return apply_with(p, ev, find_handler(p, ev->type.p, ev->type.n), err);
}

int ev_projection_apply_record(struct ev_projection *p, const uint8_t *rec,
			       size_t n, uint64_t offset, struct ev_error *err)
{
	const struct handler *h = NULL;
	struct ev_event ev;
	struct ev_str type;
	int r;

	if (ev_event_peek_type(rec, n, &type) == 0) {
		h = find_handler(p, type.p, type.n);
		if (h == NULL && p->any_ref == LUA_NOREF) {
			p->nemit = 0;
			p->erecs.len = 0;
			return 0;
		}
	}
	if ((r = ev_event_decode(rec, n, &ev, err)) != 0) {
		char msg[2 * sizeof(err->msg) + 64];
		snprintf(msg, sizeof(msg), "offset %" PRIu64 ": %s", offset,
			 err->msg);
		return ev_seterr(err, r, "%s", msg);
	}
	ev.offset = offset;
	return apply_with(p, &ev, h, err);
}

const struct ev_projection_failure *
ev_projection_last_failure(const struct ev_projection *p)
{
	return &p->fail;
}

/* ------------------------------------------------------------ listing */

uint64_t ev_projection_count(const struct ev_projection *p)
{
	return p->nstates;
}

/* The keys of every state, as msgpack, in order. */
static int keys_body(struct ev_lua *l, void *vctx)
{
	struct ev_projection *p = vctx;
	lua_State *L = ev_lua_state(l);
	size_t at;

	p->keys.len = 0;
	p->nkent = 0;
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->states_ref);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		if (p->nkent == p->kcap) {
			size_t cap = p->kcap ? 2 * p->kcap : 64;
			struct kent *nk = realloc(p->kent, cap * sizeof(*nk));
			if (nk == NULL)
				oom(L);
			p->kent = nk;
			p->kcap = cap;
		}
		at = p->keys.len;
		if (key_to_mp(L, -1, &p->keys) != 0)
			oom(L);
		p->kent[p->nkent].at = at;
		p->kent[p->nkent].n = p->keys.len - at;
		p->nkent++;
	}
	return 0;
}

static int sorted_keys(struct ev_projection *p, struct ev_error *err)
{
	int r = ev_lua_protected(p->lua, keys_body, p, err);

	if (r != 0)
		return ev_seterr(err, EV_ERR, "%s", err->msg);
	if (p->nkent > 1)
		qsort_r(p->kent, p->nkent, sizeof(*p->kent), kent_cmp,
			p->keys.p);
	return 0;
}

struct state_ctx {
	struct ev_projection *p;
	const uint8_t *key;
	size_t key_n;
	int raw;   /* as it is, not through result */
	int found; /* out */
};

/* The state of key (msgpack) into p->out. */
static int state_body(struct ev_lua *l, void *vctx)
{
	struct state_ctx *c = vctx;
	struct ev_projection *p = c->p;
	lua_State *L = ev_lua_state(l);
	int f;

	lua_rawgeti(L, LUA_REGISTRYINDEX, p->states_ref);
	ev_lua_push_value(l, c->key, c->key_n);
	if (lua_rawget(L, -2) == LUA_TNIL)
		return 0;
	c->found = 1;
	if (!c->raw && p->result_ref != LUA_NOREF) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, p->result_ref);
		f = lua_gettop(L);
		lua_pushvalue(L, f);
		lua_pushvalue(L, -3);
		lua_call(L, 1, 1);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			lua_pushlightuserdata(L, (void *)p->null);
		}
	}
	p->out.len = 0;
	ev_lua_to_msgpack(l, -1, &p->out, EV_MAX_DEPTH,
			  !c->raw && p->result_ref != LUA_NOREF ? "the result"
								: "the state",
			  NULL, 0);
	return 0;
}

static int state_of(struct ev_projection *p, struct state_ctx *c,
		    struct ev_error *err)
{
	const char *why = err->msg, *line, *rest;
	struct ev_buf kj = {0}, wb = {0};
	char msg[2 * sizeof(err->msg) + 64];
	struct ev_error e2;
	size_t nline;
	int bad = 0;

	c->p = p;
	c->found = 0;
	if (ev_lua_protected(p->lua, state_body, c, err) == 0)
		return 0;
	/* "partition KEY: ", but for --global's one state */
	if (!p->global)
		bad = ev_buf_puts(&kj, "partition ") != 0 ||
		      ev_msgpack_to_json(c->key, c->key_n, &kj, &e2) != 0 ||
		      ev_buf_puts(&kj, ": ") != 0;
	if (bad || ev_buf_putc(&kj, '\0') != 0) {
		ev_buf_free(&kj);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	if ((rest = ev_lua_split(p->file, why, &line, &nline)) != NULL) {
		put_why(&wb, rest);
		snprintf(msg, sizeof(msg), "%s%s:%.*s: %s", (const char *)kj.p,
			 p->file, (int)nline, line,
			 wb.p ? (const char *)wb.p : rest);
	} else {
		put_why(&wb, why);
		snprintf(msg, sizeof(msg), "%s%s: %s", (const char *)kj.p,
			 p->file, wb.p ? (const char *)wb.p : why);
	}
	ev_buf_free(&kj);
	ev_buf_free(&wb);
	return ev_seterr(err, EV_EDATA, "%s", msg);
}

int ev_projection_each(struct ev_projection *p, ev_projection_fn fn, void *ctx,
		       struct ev_error *err)
{
	struct state_ctx c;
	size_t i;
	int r;

	if ((r = sorted_keys(p, err)) != 0)
		return r;
	memset(&c, 0, sizeof(c));
	for (i = 0; i < p->nkent; i++) {
		c.key = p->keys.p + p->kent[i].at;
		c.key_n = p->kent[i].n;
		if ((r = state_of(p, &c, err)) != 0)
			return r;
		if (!c.found)
			continue;
		if ((r = fn(ctx, c.key, c.key_n, p->out.p, p->out.len)) != 0)
			return r;
	}
	return 0;
}

int ev_projection_get(struct ev_projection *p, const char *key,
		      struct ev_buf *out, struct ev_error *err)
{
	struct ev_buf k = {0};
	struct state_ctx c;
	struct ev_json js;
	uint8_t b;
	int r;

	memset(&c, 0, sizeof(c));
	if (ev_buf_mp_str(&k, key, strlen(key)) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	c.key = k.p;
	c.key_n = k.len;
	r = state_of(p, &c, err);
	if (r == 0 && !c.found) {
		/* a number, true, false or null */
		k.len = 0;
		ev_json_init(&js, key, strlen(key));
		if (ev_json_value(&js, &k) == 0 && ev_json_ws(&js) == -1 &&
		    k.len > 0 &&
		    ((b = k.p[0]) < 0x80 || b >= 0xe0 ||
		     (b >= 0xc0 && b <= 0xc3) || (b >= 0xca && b <= 0xd3))) {
			c.key = k.p;
			c.key_n = k.len;
			r = state_of(p, &c, err);
		}
	}
	ev_buf_free(&k);
	if (r != 0)
		return r;
	if (!c.found)
		return 0;
	if (ev_buf_append(out, p->out.p, p->out.len) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 1;
}

/* ------------------------------------------------------------ saving */

int ev_projection_save(struct ev_projection *p, struct ev_buf *out,
		       struct ev_error *err)
{
	struct state_ctx c;
	uint8_t hdr[16], *o;
	size_t i, n = 0, start = out->len;
	int r;

	if (p->spoilt)
		return ev_seterr(err, EV_EUSAGE,
				 "%s: a handler failed and may have left a "
				 "state half changed: it is not saved",
				 p->file);
	if ((r = sorted_keys(p, err)) != 0)
		return r;
	o = ev_mp_array_hdr(hdr, 2);
	o = ev_mp_uint(o, 1);
	o = ev_mp_array_hdr(o, p->nkent);
	if (ev_buf_append(out, hdr, (size_t)(o - hdr)) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	memset(&c, 0, sizeof(c));
	c.raw = 1;
	for (i = 0; i < p->nkent; i++) {
		c.key = p->keys.p + p->kent[i].at;
		c.key_n = p->kent[i].n;
		if ((r = state_of(p, &c, err)) != 0)
			goto fail;
		if (!c.found)
			continue;
		n++;
		o = ev_mp_array_hdr(hdr, 2);
		if (ev_buf_append(out, hdr, (size_t)(o - hdr)) != 0 ||
		    ev_buf_append(out, c.key, c.key_n) != 0 ||
		    ev_buf_append(out, p->out.p, p->out.len) != 0) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			goto fail;
		}
	}
	if (n != p->nkent) {
		r = ev_seterr(err, EV_ERR, "the states changed while saved");
		goto fail;
	}
	return 0;
fail:
	out->len = start;
	return r;
}

struct restore_ctx {
	struct ev_projection *p;
	const uint8_t *blob;
	size_t n;
	uint64_t count;
};

static int restore_all(struct ev_lua *l, void *vctx)
{
	struct restore_ctx *c = vctx;
	struct ev_projection *p = c->p;
	lua_State *L = ev_lua_state(l);
	const uint8_t *q = c->blob, *end = c->blob + c->n, *k, *s;
	struct ev_mp_item it;
	uint64_t i;
	int st;

	lua_newtable(L);
	st = lua_gettop(L);
	ev_mp_read(&q, end, &it); /* [1, [...]]: checked */
	ev_mp_read(&q, end, &it);
	ev_mp_read(&q, end, &it);
	for (i = 0; i < c->count; i++) {
		ev_mp_read(&q, end, &it);
		k = q;
		ev_mp_skip_fast(&q, end);
		s = q;
		ev_mp_skip_fast(&q, end);
		ev_lua_push_value(l, k, (size_t)(s - k));
		lua_pushvalue(L, -1);
		if (lua_rawget(L, st) != LUA_TNIL)
			luaL_error(L,
				   "projection state: partition %d of %d "
				   "comes twice",
				   (int)i + 1, (int)c->count);
		lua_pop(L, 1);
		ev_lua_push_value(l, s, (size_t)(q - s));
		lua_rawset(L, st);
	}
	lua_rawseti(L, LUA_REGISTRYINDEX, p->states_ref);
	return 0;
}

/* Check a blob: [1, [[KEY, STATE], ...]], keys scalars, states
 * objects, all of it JSON. */
static int check_blob(const uint8_t *blob, size_t n, uint64_t *count,
		      const char **why)
{
	const uint8_t *q = blob, *end = blob + n, *v;
	struct ev_mp_item it;
	uint64_t i;

	*why = "it is not a list of states";
	if (ev_mp_read(&q, end, &it) != 0 || it.type != EV_MP_ARRAY ||
	    it.n != 2 || ev_mp_read(&q, end, &it) != 0 ||
	    it.type != EV_MP_UINT || it.v.u != 1) {
		*why = "it is not a list of states of format 1";
		return -1;
	}
	if (ev_mp_read(&q, end, &it) != 0 || it.type != EV_MP_ARRAY)
		return -1;
	*count = it.n;
	/* every entry takes at least 3 bytes */
	if (*count > (uint64_t)(end - q) / 3)
		return -1;
	for (i = 0; i < *count; i++) {
		if (ev_mp_read(&q, end, &it) != 0 || it.type != EV_MP_ARRAY ||
		    it.n != 2)
			return -1;
		v = q;
		if (ev_mp_check_json(&q, end, 0, why) != 0)
			return -1;
		if (ev_mp_read(&v, end, &it) != 0 || it.type == EV_MP_ARRAY ||
		    it.type == EV_MP_MAP) {
			*why = "a partition key is not a string, a number, a "
			       "boolean or null";
			return -1;
		}
		if (it.type == EV_MP_FLOAT && !isfinite(it.v.f))
			return -1;
		v = q;
		if (ev_mp_check_json(&q, end, 0, why) != 0)
			return -1;
		if (ev_mp_read(&v, end, &it) != 0 || it.type != EV_MP_MAP) {
			*why = "a state is not an object";
			return -1;
		}
	}
	if (q != end) {
		*why = "bytes follow the states";
		return -1;
	}
	return 0;
}

int ev_projection_restore(struct ev_projection *p, const uint8_t *blob,
			  size_t n, struct ev_error *err)
{
	struct restore_ctx c;
	const char *why;
	int r;

	memset(&c, 0, sizeof(c));
	c.p = p;
	c.blob = blob;
	c.n = n;
	if (n == 0) {
		r = 0;
		goto clear;
	}
	if (check_blob(blob, n, &c.count, &why) != 0) {
		r = ev_seterr(err, EV_EDATA, "projection state: %s", why);
		goto clear;
	}
	if ((r = ev_lua_protected(p->lua, restore_all, &c, err)) != 0)
		goto clear;
	p->nstates = c.count;
	p->spoilt = 0;
	return 0;
clear:
	/* no states rather than some */
	{
		struct ev_error e2;
		struct restore_ctx z;
		memset(&z, 0, sizeof(z));
		z.p = p;
		z.blob = (const uint8_t *)"\x92\x01\x90";
		z.n = 3;
		if (ev_lua_protected(p->lua, restore_all, &z, &e2) != 0 &&
		    r == 0)
			r = ev_seterr(err, EV_ERR, "%s", e2.msg);
		p->nstates = 0;
		p->spoilt = 0;
	}
	return r;
}
