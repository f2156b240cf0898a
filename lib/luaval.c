/*
 * luaval.c - struct ev_lua: a sandboxed Lua 5.4 state, and the lossless
 * conversion between the MessagePack values of records and Lua values.
 *
 * The sandbox has no os, io, package, debug or coroutine library and no
 * way to load code (load, loadfile, dofile, require, string.dump); an
 * allocator with a cap bounds its memory, and a count hook its
 * instructions per call (pcall and xpcall cannot catch that one).
 *
 * JSON null is the light userdata evlog.null; arrays carry a metatable
 * (evlog.array) so that empty ones stay arrays.  What a step leaves
 * alone comes back as it was: every table made from a record remembers,
 * on the C side, the bytes it came from (an origin, keyed by the
 * table's address; the tables are anchored for the call, so no address
 * is reused), so an object keeps its key order, a value its encoding
 * (a uint64 above 2^63-1 is a float in Lua) and an object that is not
 * changed its duplicate keys.  Keys a step adds follow, sorted.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "luaval_int.h"

#define HOOK_EVERY 1000
/* stack slots of the C function converting: the anchor of the tables
 * made, and the array metatable (see set_slots()) */
#define SLOT_ANCHOR (l->slot)
#define SLOT_ARRAY_MT (l->slot + 1)

static const char null_sentinel = 0;

/* the fields of an event table */
static const char *const event_keys[] = {
	"offset", "id",	 "type",	"stream", "version", "time",
	"schema", "key", "data_base64", "data",	  "meta",
};
#define NEVENT_KEYS (sizeof(event_keys) / sizeof(event_keys[0]))
#define EK_DATA 9
#define EK_META 10

struct origin {
	const void *t;
	const uint8_t *p;
	size_t n;
	uint32_t gen;
	int dups;
};

struct skey {
	const char *p;
	size_t n;
};

/* Small blocks (most of what an event makes: its tables, their parts and
 * its strings) come from free lists by size class, carved from slabs
 * kept until the state is closed: glibc's malloc and free were a tenth
 * of a Lua step's time. */
#define POOL_ALIGN 16
#define POOL_MAX 256 /* larger blocks go to malloc */
#define POOL_CLASSES (POOL_MAX / POOL_ALIGN)
#define SLAB_BYTES (64u << 10)

struct slab {
	struct slab *next;
	max_align_t mem[];
};

struct pool {
	void *free[POOL_CLASSES];
	struct slab *slabs;
	char *cur, *end; /* what is left of the newest slab */
};

struct ev_lua {
	lua_State *L;
	size_t mem, mem_limit;
	uint64_t insn_limit, budget;
	int killed;
	int array_ref, anchor_ref, event_mt_ref;
	int slot; /* SLOT_ANCHOR in the running C function */
	/* the event table pushed last: its data and meta are converted
	 * when first read (lazy), from these bytes */
	const void *lz_table;
	const uint8_t *lz_p[2];
	size_t lz_n[2];
	int lz_pending[2];
	const char *ekeys[NEVENT_KEYS]; /* event_keys as Lua holds them */
	/* the current protected call */
	int in_call;
	lua_Integer nanchored;
	uint32_t gen;
	struct origin *org;
	size_t org_cap, org_used;
	struct skey *keys;
	size_t nkeys, keys_cap;
	struct ev_buf data, meta, tmp;
	const char *time_str; /* the time pushed with the event */
	ev_time_t time;
	struct pool pool;
};

static struct ev_lua *getl(lua_State *L)
{
	struct ev_lua *l;

	memcpy(&l, lua_getextraspace(L), sizeof(l));
	return l;
}

/* ------------------------------------------------------------ the state */

static size_t pool_class(size_t n)
{
	return (n - 1) / POOL_ALIGN;
}

static void *pool_get(struct pool *pl, size_t n)
{
	size_t c = pool_class(n), sz = (c + 1) * POOL_ALIGN;
	void *p = pl->free[c];
	struct slab *s;

	if (p != NULL) {
		memcpy(&pl->free[c], p, sizeof(void *));
		return p;
	}
	if ((size_t)(pl->end - pl->cur) < sz) {
		s = malloc(sizeof(*s) + SLAB_BYTES);
		if (s == NULL)
			return NULL;
		s->next = pl->slabs;
		pl->slabs = s;
		pl->cur = (char *)s->mem;
		pl->end = pl->cur + SLAB_BYTES;
	}
	p = pl->cur;
	pl->cur += sz;
	return p;
}

static void pool_put(struct pool *pl, void *p, size_t n)
{
	size_t c = pool_class(n);

	memcpy(p, &pl->free[c], sizeof(void *));
	pl->free[c] = p;
}

static void pool_free(struct pool *pl)
{
	struct slab *s, *next;

	for (s = pl->slabs; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	memset(pl, 0, sizeof(*pl));
}

static void *lalloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct ev_lua *l = ud;
	void *p;

	if (ptr == NULL)
		osize = 0;
	if (nsize == 0) {
		if (ptr != NULL && osize <= POOL_MAX)
			pool_put(&l->pool, ptr, osize);
		else
			free(ptr);
		l->mem -= osize;
		return NULL;
	}
	/* Lua counts on shrinking never failing */
	if (nsize > osize && l->mem - osize + nsize > l->mem_limit)
		return NULL;
	if (ptr != NULL && osize <= POOL_MAX && nsize <= POOL_MAX &&
	    pool_class(osize) == pool_class(nsize)) {
		p = ptr;
	} else if (ptr != NULL && osize > POOL_MAX && nsize > POOL_MAX) {
		p = realloc(ptr, nsize);
		if (p == NULL)
			return NULL;
	} else {
		p = nsize <= POOL_MAX ? pool_get(&l->pool, nsize)
				      : malloc(nsize);
		if (p == NULL) {
			if (nsize > osize)
				return NULL;
			/* a shrink stays where it is (a malloc'd block
			 * that Lua later frees into the pool is then kept
			 * until the state is closed, as slabs are not:
			 * only when even a slab could not be had) */
			p = ptr;
		} else if (ptr != NULL) {
			memcpy(p, ptr, osize < nsize ? osize : nsize);
			if (osize <= POOL_MAX)
				pool_put(&l->pool, ptr, osize);
			else
				free(ptr);
		}
	}
	l->mem = l->mem - osize + nsize;
	return p;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
	struct ev_lua *l = getl(L);

	(void)ar;
	if (!l->killed && l->budget >= HOOK_EVERY) {
		l->budget -= HOOK_EVERY;
		return;
	}
	l->killed = 1;
	l->budget = 0;
	luaL_error(L, "the step ran for more than %I instructions",
		   (lua_Integer)l->insn_limit);
}

/* pcall and xpcall as in the base library, except that they cannot
 * catch the end of the instruction budget */
static int finish_pcall(lua_State *L, int status, int extra)
{
	if (getl(L)->killed)
		return lua_error(L);
	if (status != LUA_OK) {
		lua_pushboolean(L, 0);
		lua_pushvalue(L, -2);
		return 2;
	}
	return lua_gettop(L) - extra;
}

static int sb_pcall(lua_State *L)
{
	int status;

	luaL_checkany(L, 1);
	lua_pushboolean(L, 1);
	lua_insert(L, 1);
	status = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0);
	return finish_pcall(L, status, 0);
}

static int sb_xpcall(lua_State *L)
{
	int n = lua_gettop(L), status;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushboolean(L, 1);
	lua_pushvalue(L, 1);
	lua_rotate(L, 3, 2);
	status = lua_pcall(L, n - 2, LUA_MULTRET, 2);
	return finish_pcall(L, status, 2);
}

static int lv_array(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	lua_rawgeti(L, LUA_REGISTRYINDEX, getl(L)->array_ref);
	lua_setmetatable(L, 1);
	return 1;
}

static int lv_isarray(lua_State *L)
{
	int r = 0;

	if (lua_type(L, 1) == LUA_TTABLE && lua_getmetatable(L, 1)) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, getl(L)->array_ref);
		r = lua_rawequal(L, -1, -2);
	}
	lua_pushboolean(L, r);
	return 1;
}

static void push_mp(struct ev_lua *l, const uint8_t **pp, const uint8_t *end);
static int set_slots(struct ev_lua *l);

/* Which lazy field (0 data, 1 meta) the key at idx of table t is, or -1. */
static int lazy_field(struct ev_lua *l, int t, int idx)
{
	lua_State *L = l->L;
	const char *k;

	if (lua_topointer(L, t) != l->lz_table ||
	    lua_type(L, idx) != LUA_TSTRING)
		return -1;
	k = lua_tostring(L, idx);
	return k == l->ekeys[EK_DATA] ? 0 : k == l->ekeys[EK_META] ? 1 : -1;
}

/* event.data or event.meta, read first: made from the record now */
static int lz_index(lua_State *L)
{
	struct ev_lua *l = getl(L);
	const uint8_t *p;
	int f = lazy_field(l, 1, 2), old;

	if (f < 0 || !l->lz_pending[f])
		return 0;
	l->lz_pending[f] = 0;
	old = set_slots(l);
	p = l->lz_p[f];
	push_mp(l, &p, p + l->lz_n[f]);
	l->slot = old;
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1);
	return 1;
}

/* set before it was read: the record's value is gone */
static int lz_newindex(lua_State *L)
{
	struct ev_lua *l = getl(L);
	int f = lazy_field(l, 1, 2);

	if (f >= 0)
		l->lz_pending[f] = 0;
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return 0;
}

static int init_state(lua_State *L)
{
	static const luaL_Reg libs[] = {
		{"_G", luaopen_base},
		{LUA_STRLIBNAME, luaopen_string},
		{LUA_TABLIBNAME, luaopen_table},
		{LUA_MATHLIBNAME, luaopen_math},
		{LUA_UTF8LIBNAME, luaopen_utf8},
	};
	static const char *const unsafe[] = {
		"dofile",  "loadfile", "load",
		"require", "print",    "collectgarbage",
	};
	struct ev_lua *l = getl(L);
	size_t i;

	for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		luaL_requiref(L, libs[i].name, libs[i].func, 1);
		lua_pop(L, 1);
	}
	lua_pushglobaltable(L);
	for (i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		lua_pushnil(L);
		lua_setfield(L, -2, unsafe[i]);
	}
	lua_pushcfunction(L, sb_pcall);
	lua_setfield(L, -2, "pcall");
	lua_pushcfunction(L, sb_xpcall);
	lua_setfield(L, -2, "xpcall");
	/* bytecode could break out; a step is a function of its event */
	lua_getfield(L, -1, LUA_STRLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);
	lua_getfield(L, -1, LUA_MATHLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "random");
	lua_pushnil(L);
	lua_setfield(L, -2, "randomseed");
	lua_pop(L, 1);
	lua_createtable(L, 0, 1);
	lua_pushliteral(L, "evlog.array");
	lua_setfield(L, -2, "__name");
	l->array_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pushboolean(L, 0);
	l->anchor_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_createtable(L, 0, 3);
	lua_pushcfunction(L, lz_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, lz_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	l->event_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	/* short strings are interned: a key of an event table is one of
	 * these by its address (kept alive in the registry) */
	lua_createtable(L, NEVENT_KEYS, 0);
	for (i = 0; i < NEVENT_KEYS; i++) {
		l->ekeys[i] = lua_pushstring(L, event_keys[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	luaL_ref(L, LUA_REGISTRYINDEX);
	lua_createtable(L, 0, 3);
	lua_pushlightuserdata(L, (void *)&null_sentinel);
	lua_setfield(L, -2, "null");
	lua_pushcfunction(L, lv_array);
	lua_setfield(L, -2, "array");
	lua_pushcfunction(L, lv_isarray);
	lua_setfield(L, -2, "isarray");
	lua_setfield(L, -2, "evlog");
	lua_pop(L, 1);
	return 0;
}

int ev_lua_new(struct ev_lua **out, size_t mem_limit, uint64_t insn_limit,
	       struct ev_error *err)
{
	struct ev_lua *l = calloc(1, sizeof(*l));
	lua_State *L;

	*out = NULL;
	if (l == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	l->mem_limit = mem_limit ? mem_limit : EV_LUA_MEM_LIMIT;
	l->insn_limit = insn_limit ? insn_limit : EV_LUA_INSN_LIMIT;
	l->budget = l->insn_limit;
	L = lua_newstate(lalloc, l);
	if (L == NULL) {
		free(l);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	l->L = L;
	memcpy(lua_getextraspace(L), &l, sizeof(l));
	lua_pushcfunction(L, init_state);
	if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
		ev_lua_free(l);
		return ev_seterr(err, EV_ERR,
				 "cannot set up Lua: out of memory");
	}
	lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
	/* an event's tables die young */
	lua_gc(L, LUA_GCGEN, 0, 0);
	*out = l;
	return 0;
}

void ev_lua_free(struct ev_lua *l)
{
	if (l == NULL)
		return;
	if (l->L != NULL)
		lua_close(l->L);
	pool_free(&l->pool);
	free(l->org);
	free(l->keys);
	ev_buf_free(&l->data);
	ev_buf_free(&l->meta);
	ev_buf_free(&l->tmp);
	free(l);
}

lua_State *ev_lua_state(struct ev_lua *l)
{
	return l->L;
}

/* ------------------------------------------------------------ calls */

struct pcall_ctx {
	struct ev_lua *l;
	int (*fn)(struct ev_lua *l, void *ctx);
	void *ctx;
	int rc;
};

/* Push the anchor and the array metatable on top, and make them the
 * slots of the running C function; returns the slot it had. */
static int set_slots(struct ev_lua *l)
{
	lua_State *L = l->L;
	int old = l->slot;

	lua_rawgeti(L, LUA_REGISTRYINDEX, l->anchor_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, l->array_ref);
	l->slot = lua_gettop(L) - 1;
	return old;
}

static int pcall_body(lua_State *L)
{
	struct pcall_ctx *c = lua_touserdata(L, 1);
	struct ev_lua *l = c->l;

	lua_createtable(L, 16, 0);
	lua_rawseti(L, LUA_REGISTRYINDEX, l->anchor_ref);
	set_slots(l);
	c->rc = c->fn(l, c->ctx);
	return 0;
}

int ev_lua_protected(struct ev_lua *l, int (*fn)(struct ev_lua *l, void *ctx),
		     void *ctx, struct ev_error *err)
{
	lua_State *L = l->L;
	struct pcall_ctx c = {l, fn, ctx, 0};
	const char *msg;
	int st;

	lua_settop(L, 0);
	l->budget = l->insn_limit;
	l->killed = 0;
	l->nanchored = 0;
	l->time_str = NULL;
	l->lz_table = NULL;
	l->nkeys = 0;
	if (++l->gen == 0) {
		/* every origin of 2^32 calls ago is stale: forget them */
		memset(l->org, 0, l->org_cap * sizeof(*l->org));
		l->gen = 1;
	}
	l->org_used = 0;
	l->in_call = 1;
	lua_pushcfunction(L, pcall_body);
	lua_pushlightuserdata(L, &c);
	st = lua_pcall(L, 1, 0, 0);
	l->in_call = 0;
	if (st == LUA_OK) {
		lua_settop(L, 0);
		return c.rc;
	}
	if (st == LUA_ERRMEM) {
		ev_seterr(err, EV_EDATA,
			  "out of memory: Lua may use %zu MiB in all",
			  l->mem_limit >> 20);
	} else {
		msg = lua_tostring(L, -1);
		if (msg != NULL)
			ev_seterr(err, EV_EDATA, "%s", msg);
		else
			ev_seterr(err, EV_EDATA, "(error object is a %s value)",
				  luaL_typename(L, -1));
	}
	lua_settop(L, 0);
	if (st == LUA_ERRMEM)
		lua_gc(L, LUA_GCCOLLECT);
	return EV_EDATA;
}

struct load_ctx {
	const char *name, *text;
	size_t n;
	int ref;
};

static int load_body(struct ev_lua *l, void *vctx)
{
	struct load_ctx *c = vctx;
	lua_State *L = l->L;
	char chunk[1100];

	snprintf(chunk, sizeof(chunk), "@%s", c->name);
	if (luaL_loadbufferx(L, c->text, c->n, chunk, "t") != LUA_OK)
		lua_error(L);
	/* its globals are its own; the sandbox's are read through */
	lua_createtable(L, 0, 0);
	lua_createtable(L, 0, 1);
	lua_pushglobaltable(L);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	if (lua_setupvalue(L, -2, 1) == NULL)
		lua_pop(L, 1);
	lua_call(L, 0, 1);
	if (!lua_isfunction(L, -1))
		luaL_error(L, "%s: returns %s, not a function", c->name,
			   lua_isnil(L, -1)
				   ? "nothing"
				   : lua_pushfstring(L, "a %s value",
						     luaL_typename(L, -1)));
	c->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

int ev_lua_load_function(struct ev_lua *l, const char *name, const char *text,
			 size_t n, int *ref, struct ev_error *err)
{
	struct load_ctx c = {name, text, n, LUA_NOREF};
	int r;

	r = ev_lua_protected(l, load_body, &c, err);
	if (r != 0)
		return err->code = EV_EUSAGE;
	*ref = c.ref;
	return 0;
}

/* ------------------------------------------------------------ origins */

static struct origin *org_slot(struct ev_lua *l, const void *t)
{
	size_t h = ((uintptr_t)t >> 4) * 0x9E3779B97F4A7C15ull;
	size_t i = (h >> 20) & (l->org_cap - 1);

	while (l->org[i].gen == l->gen && l->org[i].t != t)
		i = (i + 1) & (l->org_cap - 1);
	return &l->org[i];
}

static void org_put(struct ev_lua *l, const void *t, const uint8_t *p, size_t n,
		    int dups)
{
	struct origin *o;

	if (2 * (l->org_used + 1) > l->org_cap) {
		struct origin *old = l->org;
		size_t ocap = l->org_cap, i;
		size_t ncap = ocap ? 2 * ocap : 256;
		struct origin *nv = calloc(ncap, sizeof(*nv));
		if (nv == NULL)
			luaL_error(l->L, "out of memory");
		l->org = nv;
		l->org_cap = ncap;
		for (i = 0; i < ocap; i++)
			if (old[i].gen == l->gen)
				*org_slot(l, old[i].t) = old[i];
		free(old);
	}
	o = org_slot(l, t);
	if (o->gen != l->gen)
		l->org_used++;
	o->t = t;
	o->p = p;
	o->n = n;
	o->dups = dups;
	o->gen = l->gen;
}

static const struct origin *org_get(struct ev_lua *l, const void *t)
{
	const struct origin *o;

	if (l->org_cap == 0)
		return NULL;
	o = org_slot(l, t);
	return o->gen == l->gen ? o : NULL;
}

/* The table on top, made from p..p+n: anchored and remembered. */
static void track(struct ev_lua *l, const uint8_t *p, size_t n, int dups)
{
	lua_State *L = l->L;

	lua_pushvalue(L, -1);
	lua_rawseti(L, SLOT_ANCHOR, ++l->nanchored);
	org_put(l, lua_topointer(L, -1), p, n, dups);
}

/* ------------------------------------------------------------ to Lua */

#define SMALL_MAP 16

/* Do any of the n keys of a small map repeat? */
static int small_dups(const struct skey *ks, uint32_t n)
{
	uint32_t i, j;

	for (i = 1; i < n; i++)
		for (j = 0; j < i; j++)
			if (ks[i].n == ks[j].n &&
			    (ks[i].n == 0 || ks[i].p[0] == ks[j].p[0]) &&
			    memcmp(ks[i].p, ks[j].p, ks[i].n) == 0)
				return 1;
	return 0;
}

/* The number of keys of the table at idx. */
static uint32_t table_count(lua_State *L, int idx)
{
	uint32_t n = 0;

	idx = lua_absindex(L, idx);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		n++;
	}
	return n;
}

static void push_mp(struct ev_lua *l, const uint8_t **pp, const uint8_t *end)
{
	lua_State *L = l->L;
	const uint8_t *start = *pp;
	struct ev_mp_item it, key;
	struct skey ks[SMALL_MAP];
	uint32_t i;
	int dups = 0;

	if (*pp < end) {
		uint8_t c = **pp;
		size_t n = c & 0x1f;
		/* the common small items, without ev_mp_read() */
		if (c <= 0x7f) {
			lua_pushinteger(L, c);
			(*pp)++;
			return;
		}
		if ((c & 0xe0) == 0xa0 && (size_t)(end - *pp) > n) {
			lua_pushlstring(L, (const char *)*pp + 1, n);
			*pp += 1 + n;
			return;
		}
	}
	if (ev_mp_read(pp, end, &it) != 0)
		luaL_error(L, "malformed msgpack value");
	switch (it.type) {
	case EV_MP_NIL:
		lua_pushlightuserdata(L, (void *)&null_sentinel);
		break;
	case EV_MP_BOOL:
		lua_pushboolean(L, it.v.b);
		break;
	case EV_MP_UINT:
		if (it.v.u <= INT64_MAX)
			lua_pushinteger(L, (lua_Integer)it.v.u);
		else
			lua_pushnumber(L, (lua_Number)it.v.u);
		break;
	case EV_MP_INT:
		lua_pushinteger(L, it.v.i);
		break;
	case EV_MP_FLOAT:
		lua_pushnumber(L, it.v.f);
		break;
	case EV_MP_STR:
		lua_pushlstring(L, (const char *)it.p, it.n);
		break;
	case EV_MP_ARRAY:
		luaL_checkstack(L, 4, "nested too deep");
		lua_createtable(L, (int)(it.n < 1u << 20 ? it.n : 0), 0);
		for (i = 0; i < it.n; i++) {
			push_mp(l, pp, end);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		lua_pushvalue(L, SLOT_ARRAY_MT);
		lua_setmetatable(L, -2);
		track(l, start, (size_t)(*pp - start), 0);
		break;
	case EV_MP_MAP:
		luaL_checkstack(L, 6, "nested too deep");
		lua_createtable(L, 0, (int)(it.n < 1u << 20 ? it.n : 0));
		for (i = 0; i < it.n; i++) {
			if (*pp < end && (**pp & 0xe0) == 0xa0 &&
			    (size_t)(end - *pp) > (size_t)(**pp & 0x1f)) {
				key.p = *pp + 1;
				key.n = **pp & 0x1f;
				*pp += 1 + key.n;
			} else if (ev_mp_read(pp, end, &key) != 0 ||
				   key.type != EV_MP_STR) {
				luaL_error(L, "an object key is not a string");
			}
			if (i < SMALL_MAP) {
				ks[i].p = (const char *)key.p;
				ks[i].n = key.n;
			}
			lua_pushlstring(L, (const char *)key.p, key.n);
			push_mp(l, pp, end);
			lua_rawset(L, -3);
		}
		/* repeated keys: the table holds fewer than the map */
		if (it.n <= SMALL_MAP)
			dups = small_dups(ks, it.n);
		else
			dups = table_count(L, -1) != it.n;
		track(l, start, (size_t)(*pp - start), dups);
		break;
	default:
		luaL_error(L, "a msgpack %s value has no Lua form",
			   it.type == EV_MP_BIN ? "binary" : "extension");
	}
}

void ev_lua_push_value(struct ev_lua *l, const uint8_t *p, size_t n)
{
	push_mp(l, &p, p + n);
}

static void set_str(lua_State *L, const char *name, const struct ev_str *s)
{
	if (s->p == NULL)
		return;
	lua_pushlstring(L, s->p, s->n);
	lua_setfield(L, -2, name);
}

void ev_lua_push_event(struct ev_lua *l, const struct ev_event *ev)
{
	lua_State *L = l->L;
	char tb[40];
	size_t tn;

	luaL_checkstack(L, 8, "nested too deep");
	lua_createtable(L, 0, 10);
	lua_pushinteger(L, (lua_Integer)ev->offset);
	lua_setfield(L, -2, "offset");
	set_str(L, "id", &ev->id);
	set_str(L, "type", &ev->type);
	set_str(L, "stream", &ev->stream);
	if (ev->version != 0) {
		lua_pushinteger(L, (lua_Integer)ev->version);
		lua_setfield(L, -2, "version");
	}
	tn = ev_time_format(ev->time, tb);
	lua_pushlstring(L, tb, tn);
	l->time_str = lua_tostring(L, -1);
	l->time = ev->time;
	lua_setfield(L, -2, "time");
	lua_pushinteger(L, (lua_Integer)(ev->schema ? ev->schema : 1));
	lua_setfield(L, -2, "schema");
	set_str(L, "key", &ev->key);
	if (ev->data != NULL && ev->data_is_binary) {
		l->tmp.len = 0;
		if (ev_base64_encode(&l->tmp, ev->data, ev->data_len) != 0)
			luaL_error(L, "out of memory");
		lua_pushlstring(L, (const char *)l->tmp.p, l->tmp.len);
		lua_setfield(L, -2, "data_base64");
	}
	/* data and meta are made when first read: many steps touch one
	 * of them, or neither */
	l->lz_table = lua_topointer(L, -1);
	l->lz_p[0] = ev->data;
	l->lz_n[0] = ev->data_len;
	l->lz_pending[0] = ev->data != NULL && !ev->data_is_binary;
	l->lz_p[1] = ev->meta;
	l->lz_n[1] = ev->meta_len;
	l->lz_pending[1] = ev->meta != NULL;
	lua_rawgeti(L, LUA_REGISTRYINDEX, l->event_mt_ref);
	lua_setmetatable(L, -2);
}

/* ------------------------------------------------------------ from Lua */

static void reserve(struct ev_lua *l, struct ev_buf *out, size_t n)
{
	if (ev_buf_reserve(out, n) != 0)
		luaL_error(l->L, "out of memory");
}

static void put_bytes(struct ev_lua *l, struct ev_buf *out, const void *p,
		      size_t n)
{
	reserve(l, out, n);
	memcpy(out->p + out->len, p, n);
	out->len += n;
}

static void put_str(struct ev_lua *l, struct ev_buf *out, const char *s,
		    size_t n)
{
	uint8_t *o;

	reserve(l, out, n + 5);
	o = ev_mp_str_hdr(out->p + out->len, n);
	memcpy(o, s, n);
	out->len = (size_t)(o + n - out->p);
}

static void put_hdr(struct ev_lua *l, struct ev_buf *out, int map, size_t n)
{
	reserve(l, out, 5);
	out->len = (size_t)((map ? ev_mp_map_hdr(out->p + out->len, n)
				 : ev_mp_array_hdr(out->p + out->len, n)) -
			    out->p);
}

/* Is the Lua value at idx the msgpack scalar at p? */
static int same_scalar(lua_State *L, int idx, const uint8_t *p,
		       const uint8_t *end)
{
	struct ev_mp_item it;
	size_t n;
	const char *s;
	double d;

	if (p == NULL || ev_mp_read(&p, end, &it) != 0)
		return 0;
	switch (it.type) {
	case EV_MP_NIL:
		return lua_touserdata(L, idx) == (void *)&null_sentinel;
	case EV_MP_BOOL:
		return lua_type(L, idx) == LUA_TBOOLEAN &&
		       lua_toboolean(L, idx) == it.v.b;
	case EV_MP_UINT:
		if (it.v.u <= INT64_MAX)
			return lua_isinteger(L, idx) &&
			       lua_tointeger(L, idx) == (lua_Integer)it.v.u;
		return lua_type(L, idx) == LUA_TNUMBER &&
		       !lua_isinteger(L, idx) &&
		       lua_tonumber(L, idx) == (lua_Number)it.v.u;
	case EV_MP_INT:
		return lua_isinteger(L, idx) && lua_tointeger(L, idx) == it.v.i;
	case EV_MP_FLOAT:
		if (lua_type(L, idx) != LUA_TNUMBER || lua_isinteger(L, idx))
			return 0;
		d = lua_tonumber(L, idx);
		return memcmp(&d, &it.v.f, sizeof(d)) == 0;
	case EV_MP_STR:
		if (lua_type(L, idx) != LUA_TSTRING)
			return 0;
		s = lua_tolstring(L, idx, &n);
		return n == it.n && memcmp(s, it.p, n) == 0;
	default:
		return 0;
	}
}

static int put_value(struct ev_lua *l, int idx, struct ev_buf *out, int depth,
		     const char *what, const uint8_t *orig,
		     const uint8_t *orig_end);

static int is_array_mt(struct ev_lua *l, int idx)
{
	lua_State *L = l->L;
	int r;

	if (!lua_getmetatable(L, idx))
		return 0;
	r = lua_rawequal(L, -1, SLOT_ARRAY_MT);
	lua_pop(L, 1);
	return r;
}

int ev_lua_is_array(struct ev_lua *l, int idx)
{
	return lua_type(l->L, idx) == LUA_TTABLE &&
	       is_array_mt(l, lua_absindex(l->L, idx));
}

/* Check that the table at idx has the keys 1..n and no others. */
static void check_array(struct ev_lua *l, int idx, lua_Integer n,
			const char *what)
{
	lua_State *L = l->L;
	lua_Integer count = 0, k;

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (!lua_isinteger(L, -1) || (k = lua_tointeger(L, -1)) < 1 ||
		    k > n)
			luaL_error(L,
				   "%s: an array has a key other than 1 to %I",
				   what, n);
		count++;
	}
	if (count != n)
		luaL_error(L, "%s: an array has holes", what);
}

static int put_array(struct ev_lua *l, int idx, struct ev_buf *out, int depth,
		     const char *what, const struct origin *o)
{
	lua_State *L = l->L;
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx), i;
	const uint8_t *p = NULL, *end = NULL, *v;
	struct ev_mp_item it;
	size_t start = out->len;
	uint32_t ocount = 0;
	int changed;

	check_array(l, idx, n, what);
	if (o != NULL) {
		p = o->p;
		end = o->p + o->n;
		if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_ARRAY)
			luaL_error(L, "%s: malformed array", what);
		ocount = it.n;
	}
	changed = o == NULL || (lua_Integer)ocount != n;
	put_hdr(l, out, 0, (size_t)n);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, idx, i);
		v = NULL;
		if ((uint64_t)i <= ocount) {
			v = p;
			if (ev_mp_skip_fast(&p, end) != 0)
				luaL_error(L, "%s: malformed array", what);
		}
		if (!put_value(l, -1, out, depth - 1, what, v, p))
			changed = 1;
		lua_pop(L, 1);
	}
	if (!changed) {
		out->len = start;
		put_bytes(l, out, o->p, o->n);
	}
	return !changed;
}

static int key_cmp(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->p, y->p, n);

	return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

/* Does the key at entry i of the map at p come again later? */
static int key_again(const uint8_t *p, const uint8_t *end, const uint8_t *k,
		     size_t kn)
{
	struct ev_mp_item key;

	/* p is just past entry i */
	while (p < end) {
		if (ev_mp_read(&p, end, &key) != 0)
			return 0;
		if (key.n == kn && memcmp(key.p, k, kn) == 0)
			return 1;
		if (ev_mp_skip_fast(&p, end) != 0)
			return 0;
	}
	return 0;
}

static void push_key(struct ev_lua *l, const char *s, size_t n)
{
	if (l->nkeys == l->keys_cap) {
		size_t cap = l->keys_cap ? 2 * l->keys_cap : 64;
		struct skey *nv = realloc(l->keys, cap * sizeof(*nv));
		if (nv == NULL)
			luaL_error(l->L, "out of memory");
		l->keys = nv;
		l->keys_cap = cap;
	}
	l->keys[l->nkeys].p = s;
	l->keys[l->nkeys].n = n;
	l->nkeys++;
}

/* The keys of the table at idx that are not among those found in its
 * origin (l->keys[found..base)), sorted, onto l->keys from base. */
static void new_keys(struct ev_lua *l, int idx, size_t found)
{
	lua_State *L = l->L;
	const char *s;
	size_t n, base = l->nkeys, i;

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		s = lua_tolstring(L, -1, &n);
		for (i = found; i < base; i++)
			if (l->keys[i].n == n &&
			    (l->keys[i].p == s ||
			     memcmp(l->keys[i].p, s, n) == 0))
				break;
		if (i == base)
			push_key(l, s, n);
	}
	qsort(l->keys + base, l->nkeys - base, sizeof(*l->keys), key_cmp);
}

static int put_map(struct ev_lua *l, int idx, struct ev_buf *out, int depth,
		   const char *what, const struct origin *o)
{
	lua_State *L = l->L;
	size_t start = out->len, total = 0, present = 0, base, i;
	size_t found = l->nkeys;
	const uint8_t *p = NULL, *end = NULL, *kp, *v;
	const char *ks;
	struct ev_mp_item it, key;
	int changed = o == NULL;
	uint32_t j;

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L,
				   "%s: an object has a key that is not "
				   "a string",
				   what);
		total++;
	}
	put_hdr(l, out, 1, total);
	if (o != NULL) {
		p = o->p;
		end = o->p + o->n;
		if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_MAP)
			luaL_error(L, "%s: malformed object", what);
		for (j = 0; j < it.n; j++) {
			kp = p;
			if (ev_mp_read(&p, end, &key) != 0)
				luaL_error(L, "%s: malformed object", what);
			v = p;
			if (ev_mp_skip_fast(&p, end) != 0)
				luaL_error(L, "%s: malformed object", what);
			/* of repeated keys, the last holds the value */
			if (o->dups && key_again(p, end, key.p, key.n))
				continue;
			ks = lua_pushlstring(L, (const char *)key.p, key.n);
			if (lua_rawget(L, idx) == LUA_TNIL) {
				lua_pop(L, 1);
				changed = 1;
				continue;
			}
			present++;
			push_key(l, ks, key.n);
			put_bytes(l, out, kp, (size_t)(v - kp));
			if (!put_value(l, -1, out, depth - 1, what, v, p))
				changed = 1;
			lua_pop(L, 1);
		}
	}
	if (present < total) {
		changed = 1;
		base = l->nkeys;
		new_keys(l, idx, found);
		for (i = base; i < l->nkeys; i++) {
			put_str(l, out, l->keys[i].p, l->keys[i].n);
			lua_pushlstring(L, l->keys[i].p, l->keys[i].n);
			lua_rawget(L, idx);
			put_value(l, -1, out, depth - 1, what, NULL, NULL);
			lua_pop(L, 1);
		}
	}
	l->nkeys = found;
	if (!changed) {
		/* as it was, repeated keys and all */
		out->len = start;
		put_bytes(l, out, o->p, o->n);
	}
	return !changed;
}

/* A table the step made: keys 1..n make an array, others an object. */
static void put_new_table(struct ev_lua *l, int idx, struct ev_buf *out,
			  int depth, const char *what)
{
	lua_State *L = l->L;
	lua_Integer count = 0, k, max = 0;
	int ints = 1, strs = 1;

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		count++;
		if (lua_type(L, -1) == LUA_TSTRING) {
			ints = 0;
		} else if (lua_isinteger(L, -1) &&
			   (k = lua_tointeger(L, -1)) >= 1) {
			strs = 0;
			if (k > max)
				max = k;
		} else {
			ints = strs = 0;
		}
	}
	if (count > 0 && ints && max == count) {
		put_array(l, idx, out, depth, what, NULL);
		return;
	}
	if (!strs)
		luaL_error(L,
			   "%s: a table is neither an array (keys 1 to n) "
			   "nor an object (string keys)",
			   what);
	put_map(l, idx, out, depth, what, NULL);
}

/* Append the value at idx; 1 when it is the value at orig as it was
 * (and so appended as those bytes). */
static int put_value(struct ev_lua *l, int idx, struct ev_buf *out, int depth,
		     const char *what, const uint8_t *orig,
		     const uint8_t *orig_end)
{
	lua_State *L = l->L;
	const struct origin *o;
	const char *s;
	size_t n;
	lua_Number d;
	int t = lua_type(L, idx), same;

	idx = lua_absindex(L, idx);
	if (t != LUA_TTABLE && same_scalar(L, idx, orig, orig_end)) {
		put_bytes(l, out, orig, (size_t)(orig_end - orig));
		return 1;
	}
	switch (t) {
	case LUA_TBOOLEAN:
		reserve(l, out, 1);
		out->p[out->len++] = lua_toboolean(L, idx) ? 0xc3 : 0xc2;
		return 0;
	case LUA_TNUMBER:
		reserve(l, out, 9);
		if (lua_isinteger(L, idx)) {
			out->len = (size_t)(ev_mp_int(out->p + out->len,
						      lua_tointeger(L, idx)) -
					    out->p);
			return 0;
		}
		d = lua_tonumber(L, idx);
		if (!isfinite(d))
			luaL_error(L, "%s: %s is not a JSON number", what,
				   d != d ? "nan" : "inf");
		out->len =
			(size_t)(ev_mp_double(out->p + out->len, d) - out->p);
		return 0;
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &n);
		if (ev_utf8_valid((const uint8_t *)s, n) != n)
			luaL_error(L, "%s: a string is not valid UTF-8", what);
		put_str(l, out, s, n);
		return 0;
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, idx) == (void *)&null_sentinel) {
			reserve(l, out, 1);
			out->p[out->len++] = 0xc0;
			return 0;
		}
		break;
	case LUA_TTABLE:
		if (depth <= 0)
			luaL_error(L, "%s: nested deeper than %d levels", what,
				   EV_MAX_DEPTH);
		luaL_checkstack(L, 6, "nested too deep");
		o = org_get(l, lua_topointer(L, idx));
		if (is_array_mt(l, idx)) {
			if (o != NULL && (o->p[0] & 0xf0) != 0x90 &&
			    o->p[0] != 0xdc && o->p[0] != 0xdd)
				o = NULL;
			same = put_array(l, idx, out, depth, what, o);
		} else if (o != NULL && ((o->p[0] & 0xf0) == 0x80 ||
					 o->p[0] == 0xde || o->p[0] == 0xdf)) {
			same = put_map(l, idx, out, depth, what, o);
		} else {
			put_new_table(l, idx, out, depth, what);
			return 0;
		}
		return same && o->p == orig;
	default:
		break;
	}
	luaL_error(L, "%s: a %s value has no JSON form", what,
		   luaL_typename(L, idx));
	return 0;
}

void ev_lua_to_msgpack(struct ev_lua *l, int idx, struct ev_buf *out, int depth,
		       const char *what, const uint8_t *orig, size_t orig_n)
{
	put_value(l, lua_absindex(l->L, idx), out, depth, what, orig,
		  orig ? orig + orig_n : NULL);
}

/* ------------------------------------------------------------ events */

/* Push field name of the table at idx, without metamethods. */
static int rawfield(lua_State *L, int idx, const char *name)
{
	lua_pushstring(L, name);
	return lua_rawget(L, idx);
}

/* The string field name of the event at idx, or NULL when absent. */
static const char *opt_str(lua_State *L, int idx, const char *name, size_t *n)
{
	const char *s;

	if (rawfield(L, idx, name) == LUA_TNIL) {
		lua_pop(L, 1);
		*n = 0;
		return NULL;
	}
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "the event's %s is a %s, not a string", name,
			   luaL_typename(L, -1));
	s = lua_tolstring(L, -1, n);
	lua_pop(L, 1); /* the table keeps it */
	if (*n == 0)
		luaL_error(L, "the event's %s is empty", name);
	return s;
}

void ev_lua_to_fields(struct ev_lua *l, int idx, struct ev_fields *f)
{
	lua_State *L = l->L;
	const char *s;
	size_t n, i;
	lua_Integer v = 0;
	int lazy;

	idx = lua_absindex(L, idx);
	ev_fields_init(f);
	if (lua_type(L, idx) != LUA_TTABLE)
		luaL_error(L, "returned a %s, not an event table",
			   luaL_typename(L, idx));
	luaL_checkstack(L, 6, "nested too deep");
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "the event has a key that is not a "
				      "string");
		s = lua_tolstring(L, -1, &n);
		for (i = 0; i < NEVENT_KEYS; i++)
			if (l->ekeys[i] == s)
				break;
		if (i == NEVENT_KEYS)
			luaL_error(L,
				   "the event has a field '%s' that no "
				   "event has",
				   s);
	}
	f->type = opt_str(L, idx, "type", &f->type_n);
	if (f->type == NULL)
		luaL_error(L, "the event has no type");
	f->stream = opt_str(L, idx, "stream", &f->stream_n);
	f->key = opt_str(L, idx, "key", &f->key_n);
	rawfield(L, idx, "version");
	if (!lua_isnil(L, -1)) {
		if (!lua_isinteger(L, -1) || (v = lua_tointeger(L, -1)) < 1)
			luaL_error(L, "the event's version is not a positive "
				      "integer");
		f->version = (uint64_t)v;
	}
	lua_pop(L, 1);
	rawfield(L, idx, "time");
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "the event's time is %s, not an RFC 3339 string",
			   lua_isnil(L, -1)
				   ? "missing"
				   : lua_pushfstring(L, "a %s",
						     luaL_typename(L, -1)));
	s = lua_tolstring(L, -1, &n);
	if (s == l->time_str)
		f->time = l->time;
	else if (ev_time_parse(s, n, &f->time) != 0)
		luaL_error(L, "the event's time '%s' is not an RFC 3339 time",
			   s);
	lua_pop(L, 1);
	l->data.len = 0;
	rawfield(L, idx, "data_base64");
	if (!lua_isnil(L, -1)) {
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "the event's data_base64 is not a "
				      "string");
		s = lua_tolstring(L, -1, &n);
		if (ev_base64_decode(s, n, &l->data) != 0)
			luaL_error(L, "the event's data_base64 is not "
				      "base64");
		f->data = l->data.p != NULL ? l->data.p : (const uint8_t *)"";
		f->data_n = l->data.len;
		f->data_bin = 1;
	}
	lua_pop(L, 1);
	lazy = lua_topointer(L, idx) == l->lz_table;
	if (lazy && l->lz_pending[0]) {
		/* never read: as it was */
		f->data = l->lz_p[0];
		f->data_n = l->lz_n[0];
		if (f->data_bin)
			luaL_error(L, "the event has both data and "
				      "data_base64");
	}
	rawfield(L, idx, "data");
	if (!lua_isnil(L, -1)) {
		if (f->data_bin)
			luaL_error(L, "the event has both data and "
				      "data_base64");
		ev_lua_to_msgpack(l, -1, &l->data, EV_MAX_DEPTH - 1, "data",
				  lazy ? l->lz_p[0] : NULL, l->lz_n[0]);
		f->data = l->data.p;
		f->data_n = l->data.len;
	}
	lua_pop(L, 1);
	l->meta.len = 0;
	if (lazy && l->lz_pending[1]) {
		f->meta = l->lz_p[1];
		f->meta_n = l->lz_n[1];
	}
	rawfield(L, idx, "meta");
	if (!lua_isnil(L, -1)) {
		ev_lua_to_msgpack(l, -1, &l->meta, EV_MAX_DEPTH - 1, "meta",
				  lazy ? l->lz_p[1] : NULL, l->lz_n[1]);
		if (!((l->meta.p[0] & 0xf0) == 0x80 || l->meta.p[0] == 0xde ||
		      l->meta.p[0] == 0xdf))
			luaL_error(L, "the event's meta is not an object");
		f->meta = l->meta.p;
		f->meta_n = l->meta.len;
	}
	lua_pop(L, 1);
}
