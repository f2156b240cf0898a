/*
 * luaval.c - struct ev_lua: a sandboxed Lua 5.4 state, and the lossless
 * conversion between the MessagePack values of records and Lua values.
 *
 * The sandbox has no os, io, package, debug or coroutine library and no
 * way to load code (load, loadfile, dofile, require, string.dump); an
 * allocator with a cap bounds its memory, and a count hook its
 * instructions per call (pcall and xpcall cannot catch that one); no
 * metatable with __gc is set, as finalizers run with hooks off; and no
 * file can change what another sees (push_env(), and the metatables of
 * strings, arrays and events are protected: getmetatable() gives a plain
 * value, setmetatable() refuses, and neither rawset() nor a debug library
 * can reach them).
 *
 * JSON null is the light userdata evlog.null; arrays carry a metatable
 * (evlog.array) so that empty ones stay arrays.  What a step leaves
 * alone comes back as it was: every table made from a record remembers,
 * on the C side, the bytes it came from (an origin, keyed by the
 * table's address; the tables are anchored for the call, so no address
 * is reused), so an object keeps its key order, a value its encoding
 * (a uint64 above 2^63-1 is a float in Lua) and an object that is not
 * changed its duplicate keys.  Keys a step adds follow, sorted.
 *
 * Nothing is made before it is read.  An event table starts empty: its
 * fields come from its record (a full userdata kept in it under a light
 * userdata key, struct lzrec) when first read.  A table made from a
 * record holds its arrays and objects as lazy tables: empty, with a
 * metatable of ours that fills them (one level) on first use, and with
 * the record and where their bytes are in it as their only entry; one
 * never opened goes back as those bytes.  Both carry their record, so
 * they may outlive the call.  The raw functions of the base library
 * (next, rawget, rawset, rawlen, getmetatable, setmetatable) are
 * replaced by ones that open a lazy table first, so no step can tell.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "luaval_int.h"
#include "mpskip_int.h"

#define HOOK_EVERY 1000

static const char null_sentinel = 0;
static const char rec_key = 0; /* an event table's record, under &rec_key */

/* the fields of an event table */
enum {
	EK_OFFSET,
	EK_ID,
	EK_TYPE,
	EK_STREAM,
	EK_VERSION,
	EK_TIME,
	EK_SCHEMA,
	EK_PARTITION, /* a Kafka log's events' */
	EK_KEY,
	EK_DATA_BASE64,
	EK_DATA,
	EK_META,
	NEVENT_KEYS
};
static const char *const event_keys[NEVENT_KEYS] = {
	"offset", "id",	       "type", "stream",      "version", "time",
	"schema", "partition", "key",  "data_base64", "data",	 "meta",
};
/* what pairs() lists before it is read: all but data and meta */
#define SCALAR_FIELDS ((1u << EK_DATA) - 1)

/* The record of an event table (or of a value pushed): the fields not
 * yet in the table, and the bytes of its strings, data and meta. */
struct lzrec {
	uint32_t pending; /* 1 << EK_*: present and not yet in the table */
	uint32_t at[NEVENT_KEYS], len[NEVENT_KEYS]; /* in bytes[] */
	uint64_t offset, version, schema;
	int32_t partition;
	ev_time_t time;
	size_t tlen; /* the time as text, once made */
	char tstr[40];
	uint8_t bytes[];
};

/* the kinds of table (by metatable) */
enum { TK_PLAIN, TK_ARRAY, TK_LAZY_A, TK_LAZY_O, TK_EVENT };

struct origin {
	const void *t;
	const uint8_t *p;
	size_t n;
	uint32_t gen;
	int dups;
};

/* an entry of an object's origin, being matched to its table */
struct oent {
	const uint8_t *kp; /* the key as encoded */
	const uint8_t *k;  /* its text */
	const uint8_t *v, *vend;
	size_t at, len; /* the value written, in out */
	uint32_t kn;
	int state; /* OE_* */
};
enum { OE_OPEN, OE_SUPERSEDED, OE_MATCHED };

/* a key of a table written in iteration order, to sort */
struct nkey {
	const char *p;
	size_t n;
	size_t at, len; /* its value written, in out */
};

/* Small blocks (most of what an event makes: its tables, their parts and
 * its strings) come from free lists by size class, carved from slabs
 * kept until the state is closed: glibc's malloc and free were a tenth
 * of a Lua step's time. */
#define POOL_ALIGN 16
#define POOL_MAX 512 /* larger blocks go to malloc */
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

/* a key kept: its text as Lua holds it, and its place in the registry */
#define KEY_SLOTS 256
#define KEY_MAX 40 /* Lua's short strings */
struct kslot {
	const char *p;
	size_t n;
	int ref;
};

struct ev_lua {
	lua_State *L;
	size_t mem, mem_limit;
	uint64_t insn_limit, budget;
	int killed;
	const volatile sig_atomic_t *stop; /* set: end the call */
	int interrupted;
	int array_ref, anchor_ref, event_mt_ref, lazy_a_ref, lazy_o_ref;
	/* the metatables, to tell kinds of table by address */
	const void *mt_array, *mt_lazy_a, *mt_lazy_o, *mt_event;
	const char *ekeys[NEVENT_KEYS]; /* event_keys as Lua holds them */
	/* the current protected call */
	int in_call;
	lua_Integer nanchored;
	uint32_t gen;
	const void *rec_anchored; /* the record anchored last, this call */
	struct origin *org;
	size_t org_cap, org_used;
	/* scratch of put_map() and put_new_map(), used as stacks */
	struct oent *oe;
	size_t noe, oe_cap;
	struct nkey *nk;
	size_t nnk, nk_cap;
	uint32_t *hslot;
	size_t nhslot, hslot_cap;
	struct ev_buf data, meta, tmp, asmb;
	struct kslot kcache[KEY_SLOTS];
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
		/* a list that a sweep made is in no order: the next block is
		 * seldom in cache */
		if (pl->free[c] != NULL)
			__builtin_prefetch(pl->free[c], 1);
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

	if (nsize == 0) {
		if (ptr == NULL)
			return NULL;
		if (osize <= POOL_MAX)
			pool_put(&l->pool, ptr, osize);
		else
			free(ptr);
		l->mem -= osize;
		return NULL;
	}
	if (ptr == NULL) {
		/* a new block (osize says what for): most are small */
		if (l->mem + nsize > l->mem_limit)
			return NULL;
		p = nsize <= POOL_MAX ? pool_get(&l->pool, nsize)
				      : malloc(nsize);
		if (p != NULL)
			l->mem += nsize;
		return p;
	}
	/* Lua counts on shrinking never failing */
	if (nsize > osize && l->mem - osize + nsize > l->mem_limit)
		return NULL;
	if (osize <= POOL_MAX && nsize <= POOL_MAX &&
	    pool_class(osize) == pool_class(nsize)) {
		p = ptr;
	} else if (osize > POOL_MAX && nsize > POOL_MAX) {
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
		} else {
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
	if (l->stop != NULL && *l->stop) {
		l->killed = l->interrupted = 1;
		luaL_error(L, "interrupted");
	}
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

/* ------------------------------------------------------------ kinds */

/*
 * Lua runs finalizers with hooks off, so neither the instruction budget
 * nor anything else could stop one (in a step, or in lua_close()): no
 * table of the sandbox gets a metatable with a __gc field.  One given
 * later does not count (Lua marks a table for finalization only as its
 * metatable is set); the metatables of ours are out of a step's reach.
 */
static void no_gc(lua_State *L, int mt, const char *what)
{
	if (lua_type(L, mt) != LUA_TTABLE)
		return;
	lua_pushliteral(L, "__gc");
	if (lua_rawget(L, mt) != LUA_TNIL)
		luaL_error(L, "%s: __gc is not allowed in the sandbox", what);
	lua_pop(L, 1);
}

/* The array metatable, pushed. */
static void push_array_mt(struct ev_lua *l)
{
	lua_rawgeti(l->L, LUA_REGISTRYINDEX, l->array_ref);
}

static int table_kind(struct ev_lua *l, int idx)
{
	lua_State *L = l->L;
	const void *mt;

	if (!lua_getmetatable(L, idx))
		return TK_PLAIN;
	mt = lua_topointer(L, -1);
	lua_pop(L, 1);
	if (mt == l->mt_array)
		return TK_ARRAY;
	if (mt == l->mt_lazy_a)
		return TK_LAZY_A;
	if (mt == l->mt_lazy_o)
		return TK_LAZY_O;
	if (mt == l->mt_event)
		return TK_EVENT;
	return TK_PLAIN; /* a metatable of the step's */
}

static int is_lazy(int kind)
{
	return kind == TK_LAZY_A || kind == TK_LAZY_O;
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

/* Keep the value at idx alive until the end of the call. */
static void anchor(struct ev_lua *l, int idx)
{
	lua_State *L = l->L;

	idx = lua_absindex(L, idx);
	lua_rawgeti(L, LUA_REGISTRYINDEX, l->anchor_ref);
	lua_pushvalue(L, idx);
	lua_rawseti(L, -2, ++l->nanchored);
	lua_pop(L, 1);
}

/* The record at idx, whose bytes origins are about to point into. */
static void anchor_rec(struct ev_lua *l, int idx)
{
	const void *r = lua_touserdata(l->L, idx);

	if (r != l->rec_anchored) {
		anchor(l, idx);
		l->rec_anchored = r;
	}
}

/* ------------------------------------------------------------ to Lua */

#define SMALL_MAP 16

struct skey {
	const char *p;
	size_t n;
};

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

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		n++;
	}
	return n;
}

static int is_map_byte(uint8_t c)
{
	return (c & 0xf0) == 0x80 || c == 0xde || c == 0xdf;
}

static int is_array_byte(uint8_t c)
{
	return (c & 0xf0) == 0x90 || c == 0xdc || c == 0xdd;
}

/* Push the key s (n bytes).  The keys of objects come again and again:
 * the short ones are kept in the registry, found here by their bytes,
 * which is cheaper than Lua's interning them anew. */
static void push_key(struct ev_lua *l, const char *s, size_t n)
{
	lua_State *L = l->L;
	struct kslot *k;
	size_t h;

	if (n == 0 || n > KEY_MAX) {
		lua_pushlstring(L, s, n);
		return;
	}
	h = (n * 0x9E37u ^ (uint8_t)s[0] * 0x3B1u ^ (uint8_t)s[n - 1] * 0x1F3u ^
	     (uint8_t)s[n / 2] * 0x71u) &
	    (KEY_SLOTS - 1);
	k = &l->kcache[h];
	if (k->n == n && memcmp(k->p, s, n) == 0) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, k->ref);
		return;
	}
	k->p = lua_pushlstring(L, s, n);
	k->n = n;
	lua_pushvalue(L, -1);
	if (k->ref == 0)
		k->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	else
		lua_rawseti(L, LUA_REGISTRYINDEX, k->ref);
}

/* Push the value at *pp (in the bytes of the record at index rec): a
 * scalar as itself, an array or object as a lazy table. */
static void push_item(struct ev_lua *l, const uint8_t **pp, const uint8_t *end,
		      int rec)
{
	lua_State *L = l->L;
	const uint8_t *start = *pp;
	const struct lzrec *r;
	struct ev_mp_item it;
	uint8_t c;
	size_t n;

	if (*pp >= end)
		luaL_error(L, "malformed msgpack value");
	c = **pp;
	n = c & 0x1f;
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
	if (is_map_byte(c) || is_array_byte(c)) {
		if (ev_mp_skip_quick(pp, end) != 0)
			luaL_error(L, "malformed msgpack value");
		r = lua_touserdata(L, rec);
		lua_createtable(L, 0, 1);
		lua_rawgeti(L, LUA_REGISTRYINDEX,
			    is_map_byte(c) ? l->lazy_o_ref : l->lazy_a_ref);
		lua_setmetatable(L, -2);
		lua_pushvalue(L, rec);
		lua_pushinteger(L, (lua_Integer)((uint64_t)(start - r->bytes)
							 << 32 |
						 (uint64_t)(*pp - start)));
		lua_rawset(L, -3);
		return;
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
	default:
		luaL_error(L, "a msgpack %s value has no Lua form",
			   it.type == EV_MP_BIN ? "binary" : "extension");
	}
}

/*
 * Fill the table at t (0: a new one, pushed) with one level of the
 * array or object at p (n bytes, in the record at index rec): its
 * scalars, and its arrays and objects as lazy tables.  The table gets
 * the array metatable or none, and p as its origin.
 */
static void fill(struct ev_lua *l, int t, int rec, const uint8_t *p, size_t n)
{
	lua_State *L = l->L;
	const uint8_t *end = p + n, *start = p;
	struct ev_mp_item it, key;
	struct skey ks[SMALL_MAP];
	uint32_t i;
	int dups = 0;

	luaL_checkstack(L, 6, "nested too deep");
	if (ev_mp_read(&p, end, &it) != 0 ||
	    (it.type != EV_MP_ARRAY && it.type != EV_MP_MAP))
		luaL_error(L, "malformed msgpack value");
	if (t == 0) {
		if (it.type == EV_MP_ARRAY)
			lua_createtable(L, (int)(it.n < 1u << 20 ? it.n : 0),
					0);
		else
			lua_createtable(L, 0,
					(int)(it.n < 1u << 20 ? it.n : 0));
		t = lua_gettop(L);
	}
	if (it.type == EV_MP_ARRAY) {
		for (i = 0; i < it.n; i++) {
			push_item(l, &p, end, rec);
			lua_rawseti(L, t, (lua_Integer)i + 1);
		}
		push_array_mt(l);
	} else {
		for (i = 0; i < it.n; i++) {
			if (p < end && (*p & 0xe0) == 0xa0 &&
			    (size_t)(end - p) > (size_t)(*p & 0x1f)) {
				key.p = p + 1;
				key.n = *p & 0x1f;
				p += 1 + key.n;
			} else if (ev_mp_read(&p, end, &key) != 0 ||
				   key.type != EV_MP_STR) {
				luaL_error(L, "an object key is not a string");
			}
			if (i < SMALL_MAP) {
				ks[i].p = (const char *)key.p;
				ks[i].n = key.n;
			}
			push_key(l, (const char *)key.p, key.n);
			push_item(l, &p, end, rec);
			lua_rawset(L, t);
		}
		/* repeated keys: the table holds fewer than the map */
		if (it.n <= SMALL_MAP)
			dups = small_dups(ks, it.n);
		else
			dups = table_count(L, t) != it.n;
		lua_pushnil(L);
	}
	lua_setmetatable(L, t);
	anchor(l, t);
	anchor_rec(l, rec);
	org_put(l, lua_topointer(L, t), start, (size_t)(p - start), dups);
}

/* The bytes the lazy table at idx stands for; its record is pushed. */
static const uint8_t *lazy_bytes(struct ev_lua *l, int idx, size_t *n)
{
	lua_State *L = l->L;
	const struct lzrec *r;
	uint64_t at;

	lua_pushnil(L);
	if (!lua_next(L, idx) || lua_type(L, -2) != LUA_TUSERDATA ||
	    !lua_isinteger(L, -1))
		luaL_error(L, "a lazy table lost its record");
	r = lua_touserdata(L, -2);
	at = (uint64_t)lua_tointeger(L, -1);
	lua_pop(L, 1);
	*n = (size_t)(at & 0xffffffffu);
	return r->bytes + (at >> 32);
}

/* Open the lazy table at idx: filled, its record gone. */
static void lazy_open(struct ev_lua *l, int idx)
{
	lua_State *L = l->L;
	const uint8_t *p;
	size_t n;
	int rec;

	idx = lua_absindex(L, idx);
	p = lazy_bytes(l, idx, &n);
	rec = lua_gettop(L);
	lua_pushvalue(L, rec);
	lua_pushnil(L);
	lua_rawset(L, idx);
	fill(l, idx, rec, p, n);
	lua_pop(L, 1);
}

/* Open the table at idx if it is lazy. */
static void open_lazy(struct ev_lua *l, int idx)
{
	if (lua_type(l->L, idx) == LUA_TTABLE && is_lazy(table_kind(l, idx)))
		lazy_open(l, idx);
}

/* ------------------------------------------------------------ events */

/* Which field of an event the key at idx is, or -1. */
static int event_key(struct ev_lua *l, int idx)
{
	const char *s;
	int i;

	if (lua_type(l->L, idx) != LUA_TSTRING)
		return -1;
	s = lua_tostring(l->L, idx);
	for (i = 0; i < NEVENT_KEYS; i++)
		if (s == l->ekeys[i])
			return i;
	return -1;
}

/* The record of the event table at idx, or NULL (a table a step made). */
static struct lzrec *event_rec(lua_State *L, int idx)
{
	struct lzrec *r = NULL;

	if (lua_rawgetp(L, idx, &rec_key) == LUA_TUSERDATA)
		r = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return r;
}

/* Push field k of the record at index rec. */
static void push_field(struct ev_lua *l, int rec, int k)
{
	lua_State *L = l->L;
	struct lzrec *r = lua_touserdata(L, rec);
	const uint8_t *q;

	switch (k) {
	case EK_OFFSET:
		lua_pushinteger(L, (lua_Integer)r->offset);
		break;
	case EK_VERSION:
		lua_pushinteger(L, (lua_Integer)r->version);
		break;
	case EK_SCHEMA:
		lua_pushinteger(L, (lua_Integer)r->schema);
		break;
	case EK_PARTITION:
		lua_pushinteger(L, (lua_Integer)r->partition);
		break;
	case EK_TIME:
		r->tlen = ev_time_format(r->time, r->tstr);
		lua_pushlstring(L, r->tstr, r->tlen);
		break;
	case EK_DATA_BASE64:
		l->tmp.len = 0;
		if (ev_base64_encode(&l->tmp, r->bytes + r->at[k], r->len[k]) !=
		    0)
			luaL_error(L, "out of memory");
		lua_pushlstring(L, (const char *)l->tmp.p, l->tmp.len);
		break;
	case EK_DATA:
	case EK_META:
		/* data may be a scalar (a number, a string, ...), which has
		 * no table to fill */
		q = r->bytes + r->at[k];
		if (r->len[k] > 0 && (is_map_byte(q[0]) || is_array_byte(q[0])))
			fill(l, 0, rec, q, r->len[k]);
		else
			push_item(l, &q, q + r->len[k], rec);
		break;
	default:
		lua_pushlstring(L, (const char *)r->bytes + r->at[k],
				r->len[k]);
	}
}

/* Put the fields of mask still pending into the event table at idx. */
static void event_fill(struct ev_lua *l, int idx, uint32_t mask)
{
	lua_State *L = l->L;
	struct lzrec *r;
	int k, rec;

	idx = lua_absindex(L, idx);
	if (lua_rawgetp(L, idx, &rec_key) != LUA_TUSERDATA) {
		lua_pop(L, 1);
		return;
	}
	rec = lua_gettop(L);
	r = lua_touserdata(L, rec);
	for (k = 0; k < NEVENT_KEYS; k++) {
		if (!(r->pending & mask & (1u << k)))
			continue;
		lua_pushstring(L, event_keys[k]);
		push_field(l, rec, k);
		lua_rawset(L, idx);
		r->pending &= ~(1u << k);
	}
	lua_pop(L, 1);
}

/* event.FIELD, not in the table yet: made from the record now */
static int ev_index(lua_State *L)
{
	struct ev_lua *l = getl(L);
	struct lzrec *r;
	int k;

	lua_settop(L, 2);
	k = event_key(l, 2);
	if (k < 0 || lua_rawgetp(L, 1, &rec_key) != LUA_TUSERDATA)
		return 0;
	r = lua_touserdata(L, 3);
	if (!(r->pending & (1u << k)))
		return 0;
	push_field(l, 3, k);
	r->pending &= ~(1u << k);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, -2);
	lua_rawset(L, 1);
	return 1;
}

/* set before it was read: the record's value is gone */
static int ev_newindex(lua_State *L)
{
	struct ev_lua *l = getl(L);
	struct lzrec *r;
	int k = event_key(l, 2);

	if (k >= 0 && (r = event_rec(L, 1)) != NULL)
		r->pending &= ~(1u << k);
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return 0;
}

static int sb_next(lua_State *L);

/* pairs(event): the fields but data and meta are all listed */
static int ev_pairs(lua_State *L)
{
	event_fill(getl(L), 1, SCALAR_FIELDS);
	lua_pushcfunction(L, sb_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

/* ------------------------------------------------------------ lazy tables */

static int lz_index(lua_State *L)
{
	open_lazy(getl(L), 1);
	lua_settop(L, 2);
	lua_rawget(L, 1);
	return 1;
}

static int lz_newindex(lua_State *L)
{
	open_lazy(getl(L), 1);
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return 0;
}

static int lz_len(lua_State *L)
{
	open_lazy(getl(L), 1);
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
	return 1;
}

static int lz_pairs(lua_State *L)
{
	open_lazy(getl(L), 1);
	lua_pushcfunction(L, sb_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

/* ------------------------------------------------------------ sandbox */

/*
 * The raw functions of the base library, as there (lbaselib.c), but
 * that a lazy table is opened first, an event table's fields put in,
 * and an event table's record never listed.
 */
static void raw_prepare(lua_State *L)
{
	struct ev_lua *l = getl(L);
	int kind = table_kind(l, 1);

	if (is_lazy(kind))
		open_lazy(l, 1);
	else if (kind == TK_EVENT)
		event_fill(l, 1, SCALAR_FIELDS);
}

static int sb_next(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 2);
	raw_prepare(L);
	while (lua_next(L, 1)) {
		if (lua_touserdata(L, -2) != (void *)&rec_key)
			return 2;
		lua_pop(L, 1);
	}
	lua_pushnil(L);
	return 1;
}

static int sb_rawget(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkany(L, 2);
	lua_settop(L, 2);
	raw_prepare(L);
	if (lua_touserdata(L, 2) == (void *)&rec_key) {
		lua_pushnil(L);
		return 1;
	}
	lua_rawget(L, 1);
	return 1;
}

static int sb_rawset(lua_State *L)
{
	struct ev_lua *l = getl(L);
	struct lzrec *r;
	int k;

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkany(L, 2);
	luaL_checkany(L, 3);
	lua_settop(L, 3);
	if (lua_touserdata(L, 2) == (void *)&rec_key)
		return 1;
	open_lazy(l, 1);
	if ((k = event_key(l, 2)) >= 0 && (r = event_rec(L, 1)) != NULL)
		r->pending &= ~(1u << k);
	lua_rawset(L, 1);
	return 1;
}

static int sb_rawlen(lua_State *L)
{
	int t = lua_type(L, 1);

	luaL_argexpected(L, t == LUA_TTABLE || t == LUA_TSTRING, 1,
			 "table or string");
	if (t == LUA_TTABLE)
		open_lazy(getl(L), 1);
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
	return 1;
}

static int sb_getmetatable(lua_State *L)
{
	struct ev_lua *l = getl(L);

	luaL_checkany(L, 1);
	open_lazy(l, 1);
	if (!lua_getmetatable(L, 1)) {
		lua_pushnil(L);
		return 1;
	}
	luaL_getmetafield(L, 1, "__metatable");
	return 1;
}

static int sb_setmetatable(lua_State *L)
{
	int t = lua_type(L, 2);

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2,
			 "nil or table");
	open_lazy(getl(L), 1);
	if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
		return luaL_error(L, "cannot change a protected metatable");
	lua_settop(L, 2);
	no_gc(L, 2, "setmetatable");
	lua_setmetatable(L, 1);
	return 1;
}

static int lv_array(lua_State *L)
{
	if (lua_isnone(L, 1))
		lua_newtable(L); /* evlog.array(): an empty one */
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	open_lazy(getl(L), 1);
	push_array_mt(getl(L));
	lua_setmetatable(L, 1);
	return 1;
}

static int lv_isarray(lua_State *L)
{
	struct ev_lua *l = getl(L);
	int k;

	k = lua_type(L, 1) == LUA_TTABLE ? table_kind(l, 1) : TK_PLAIN;
	lua_pushboolean(L, k == TK_ARRAY || k == TK_LAZY_A);
	return 1;
}

/*
 * A metatable of ours into the registry: its ref, and its address.  All
 * steps share it, so it is protected: getmetatable() gives its name (or
 * false), never the table, and setmetatable() refuses the tables that
 * carry it; one step cannot change how another's arrays behave, nor how
 * they are told apart.
 */
static int new_mt(lua_State *L, const luaL_Reg *fns, const char *name,
		  const void **addr)
{
	lua_newtable(L);
	luaL_setfuncs(L, fns, 0);
	if (name != NULL) {
		lua_pushstring(L, name);
		lua_setfield(L, -2, "__name");
		lua_pushstring(L, name);
	} else {
		lua_pushboolean(L, 0);
	}
	lua_setfield(L, -2, "__metatable");
	*addr = lua_topointer(L, -1);
	return luaL_ref(L, LUA_REGISTRYINDEX);
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
	static const luaL_Reg raw[] = {
		{"getmetatable", sb_getmetatable},
		{"next", sb_next},
		{"pcall", sb_pcall},
		{"rawget", sb_rawget},
		{"rawlen", sb_rawlen},
		{"rawset", sb_rawset},
		{"setmetatable", sb_setmetatable},
		{"xpcall", sb_xpcall},
		{NULL, NULL},
	};
	static const luaL_Reg lazy_fns[] = {
		{"__index", lz_index},
		{"__len", lz_len},
		{"__newindex", lz_newindex},
		{"__pairs", lz_pairs},
		{NULL, NULL},
	};
	static const luaL_Reg event_fns[] = {
		{"__index", ev_index},
		{"__newindex", ev_newindex},
		{"__pairs", ev_pairs},
		{NULL, NULL},
	};
	static const luaL_Reg array_fns[] = {{NULL, NULL}};
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
	luaL_setfuncs(L, raw, 0);
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
	/* the methods of strings are the string library as loaded: no
	 * file may change them for the others */
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);
	l->array_ref = new_mt(L, array_fns, "evlog.array", &l->mt_array);
	l->lazy_a_ref = new_mt(L, lazy_fns, "evlog.array", &l->mt_lazy_a);
	l->lazy_o_ref = new_mt(L, lazy_fns, NULL, &l->mt_lazy_o);
	lua_pushboolean(L, 0);
	l->anchor_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_newtable(L);
	luaL_setfuncs(L, event_fns, 0);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	l->mt_event = lua_topointer(L, -1);
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
	/* an event's tables die young, and little lives: few cycles, run
	 * once the heap is ten times what lived after the last (fewer
	 * instructions than generational collection; at the memory limit
	 * Lua collects at once, before it fails) */
	lua_gc(L, LUA_GCINC, 1000, 400, 0);
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
	free(l->oe);
	free(l->nk);
	free(l->hslot);
	ev_buf_free(&l->data);
	ev_buf_free(&l->meta);
	ev_buf_free(&l->tmp);
	ev_buf_free(&l->asmb);
	free(l);
}

void ev_lua_set_stop(struct ev_lua *l, const volatile sig_atomic_t *stop)
{
	l->stop = stop;
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

static int pcall_body(lua_State *L)
{
	struct pcall_ctx *c = lua_touserdata(L, 1);
	struct ev_lua *l = c->l;
	lua_Integer i;

	/* the last call's anchors go: cleared, or with a table grown large
	 * a new one */
	if (lua_rawgeti(L, LUA_REGISTRYINDEX, l->anchor_ref) != LUA_TTABLE ||
	    l->nanchored > 1024) {
		lua_createtable(L, 64, 0);
		lua_rawseti(L, LUA_REGISTRYINDEX, l->anchor_ref);
	} else {
		for (i = 1; i <= l->nanchored; i++) {
			lua_pushnil(L);
			lua_rawseti(L, -2, i);
		}
	}
	lua_pop(L, 1);
	l->nanchored = 0;
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
	l->killed = l->interrupted = 0;
	l->rec_anchored = NULL;
	l->noe = l->nnk = l->nhslot = 0;
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
	if (l->interrupted) {
		lua_settop(L, 0);
		return ev_seterr(err, EV_EAGAIN, "interrupted");
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
	int type; /* LUA_TFUNCTION or LUA_TTABLE: what the file returns */
	int ref;
};

/*
 * A file's environment, pushed.  Its globals are its own, and the
 * sandbox's are read through, but nothing shared is within reach: the
 * tables of the libraries are its own copies, _G is the environment,
 * and neither its metatable nor the sandbox's globals can be had.  So
 * what one file sets (string.upper = ..., _G.x = ...) no other sees.
 */
static void push_env(lua_State *L)
{
	static const char *const libs[] = {
		LUA_STRLIBNAME,	 LUA_TABLIBNAME, LUA_MATHLIBNAME,
		LUA_UTF8LIBNAME, "evlog",
	};
	size_t i;

	lua_createtable(L, 0, 8);
	for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		lua_getglobal(L, libs[i]);
		lua_createtable(L, 0, 32);
		lua_pushnil(L);
		while (lua_next(L, -3)) {
			lua_pushvalue(L, -2);
			lua_insert(L, -2);
			lua_rawset(L, -4);
		}
		lua_setfield(L, -3, libs[i]);
		lua_pop(L, 1);
	}
	lua_pushvalue(L, -1);
	lua_setfield(L, -2, "_G");
	lua_createtable(L, 0, 2);
	lua_pushglobaltable(L);
	lua_setfield(L, -2, "__index");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
}

static int load_body(struct ev_lua *l, void *vctx)
{
	struct load_ctx *c = vctx;
	lua_State *L = l->L;
	char chunk[1100];

	snprintf(chunk, sizeof(chunk), "@%s", c->name);
	if (luaL_loadbufferx(L, c->text, c->n, chunk, "t") != LUA_OK)
		lua_error(L);
	push_env(L);
	if (lua_setupvalue(L, -2, 1) == NULL)
		lua_pop(L, 1);
	lua_call(L, 0, 1);
	if (lua_type(L, -1) != c->type)
		luaL_error(L, "%s: returns %s, not a %s", c->name,
			   lua_isnil(L, -1)
				   ? "nothing"
				   : lua_pushfstring(L, "a %s value",
						     luaL_typename(L, -1)),
			   lua_typename(L, c->type));
	c->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	return 0;
}

int ev_lua_load_value(struct ev_lua *l, const char *name, const char *text,
		      size_t n, int type, int *ref, struct ev_error *err)
{
	struct load_ctx c = {name, text, n, type, LUA_NOREF};
	int r;

	r = ev_lua_protected(l, load_body, &c, err);
	if (r != 0)
		return err->code = EV_EUSAGE;
	*ref = c.ref;
	return 0;
}

int ev_lua_load_function(struct ev_lua *l, const char *name, const char *text,
			 size_t n, int *ref, struct ev_error *err)
{
	return ev_lua_load_value(l, name, text, n, LUA_TFUNCTION, ref, err);
}

const char *ev_lua_split(const char *file, const char *why, const char **line,
			 size_t *nline)
{
	size_t fl = strlen(file), pl, dl;
	const char *c;

	for (c = strchr(why, ':'); c != NULL; c = strchr(c + 1, ':')) {
		pl = (size_t)(c - why);
		dl = strspn(c + 1, "0123456789");
		if (dl == 0 || strncmp(c + 1 + dl, ": ", 2) != 0)
			continue;
		if ((pl == fl && memcmp(why, file, fl) == 0) ||
		    (pl > 3 && pl - 3 <= fl && memcmp(why, "...", 3) == 0 &&
		     memcmp(why + 3, file + fl - (pl - 3), pl - 3) == 0)) {
			*line = c + 1;
			*nline = dl;
			return c + 1 + dl + 2;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ pushing */

/* A new record of size bytes, pushed. */
static struct lzrec *new_rec(struct ev_lua *l, size_t size)
{
	struct lzrec *r;

	if (size > UINT32_MAX)
		luaL_error(l->L, "a value of %zu bytes is too large", size);
	r = lua_newuserdatauv(l->L, sizeof(*r) + size, 0);
	memset(r, 0, sizeof(*r));
	return r;
}

void ev_lua_push_value(struct ev_lua *l, const uint8_t *p, size_t n)
{
	lua_State *L = l->L;
	struct lzrec *r;
	const uint8_t *q;

	luaL_checkstack(L, 8, "nested too deep");
	r = new_rec(l, n);
	if (n)
		memcpy(r->bytes, p, n);
	if (n > 0 && (is_map_byte(p[0]) || is_array_byte(p[0]))) {
		fill(l, 0, lua_gettop(L), r->bytes, n);
	} else {
		q = r->bytes;
		push_item(l, &q, r->bytes + n, lua_gettop(L));
	}
	lua_remove(L, -2);
}

static void rec_put(struct lzrec *r, size_t *at, int k, const void *p, size_t n)
{
	if (p == NULL)
		return;
	r->at[k] = (uint32_t)*at;
	r->len[k] = (uint32_t)n;
	r->pending |= 1u << k;
	memcpy(r->bytes + *at, p, n);
	*at += n;
}

void ev_lua_push_event(struct ev_lua *l, const struct ev_event *ev)
{
	lua_State *L = l->L;
	struct lzrec *r;
	size_t at = 0;

	luaL_checkstack(L, 8, "nested too deep");
	lua_createtable(L, 0, 4);
	r = new_rec(l, ev->id.n + ev->type.n + ev->stream.n + ev->key.n +
			       ev->data_len + ev->meta_len);
	r->offset = ev->offset;
	r->version = ev->version;
	r->schema = ev->schema ? ev->schema : 1;
	r->time = ev->time;
	r->pending = 1u << EK_OFFSET | 1u << EK_TIME | 1u << EK_SCHEMA;
	if (ev->version != 0)
		r->pending |= 1u << EK_VERSION;
	r->partition = ev->partition;
	if (ev->has_partition)
		r->pending |= 1u << EK_PARTITION;
	rec_put(r, &at, EK_ID, ev->id.p, ev->id.n);
	rec_put(r, &at, EK_TYPE, ev->type.p, ev->type.n);
	rec_put(r, &at, EK_STREAM, ev->stream.p, ev->stream.n);
	rec_put(r, &at, EK_KEY, ev->key.p, ev->key.n);
	rec_put(r, &at, ev->data_is_binary ? EK_DATA_BASE64 : EK_DATA, ev->data,
		ev->data_len);
	rec_put(r, &at, EK_META, ev->meta, ev->meta_len);
	lua_rawsetp(L, -2, &rec_key);
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

	if (p == NULL || p >= end)
		return 0;
	/* the common small ones, without ev_mp_read() */
	if (*p <= 0x7f)
		return lua_isinteger(L, idx) && lua_tointeger(L, idx) == *p;
	if ((*p & 0xe0) == 0xa0) {
		if ((size_t)(end - p) <= (size_t)(*p & 0x1f) ||
		    lua_type(L, idx) != LUA_TSTRING)
			return 0;
		s = lua_tolstring(L, idx, &n);
		return n == (size_t)(*p & 0x1f) && memcmp(s, p + 1, n) == 0;
	}
	if (ev_mp_read(&p, end, &it) != 0)
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

/* The n elements 1..n of the table at idx (checked to be an array);
 * o its origin, or NULL. */
static int put_array(struct ev_lua *l, int idx, struct ev_buf *out, int depth,
		     const char *what, const struct origin *o, lua_Integer n)
{
	lua_State *L = l->L;
	lua_Integer i;
	const uint8_t *p = NULL, *end = NULL, *v;
	struct ev_mp_item it;
	size_t start = out->len;
	uint32_t ocount = 0;
	int changed;

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
			if (ev_mp_skip_quick(&p, end) != 0)
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

static int nkey_cmp(const void *a, const void *b)
{
	const struct nkey *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->p, y->p, n);

	return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

static void sort_keys(struct nkey *k, size_t n)
{
	struct nkey t;
	size_t i, j;

	if (n > 8) {
		qsort(k, n, sizeof(*k), nkey_cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		t = k[i];
		for (j = i; j > 0 && nkey_cmp(&k[j - 1], &t) > 0; j--)
			k[j] = k[j - 1];
		k[j] = t;
	}
}

/* Room for one more on a scratch stack of l. */
static void *grow(struct ev_lua *l, void **v, size_t *cap, size_t used,
		  size_t size)
{
	size_t ncap;
	void *nv;

	if (used < *cap)
		return *v;
	ncap = *cap ? 2 * *cap : 64;
	nv = realloc(*v, ncap * size);
	if (nv == NULL)
		luaL_error(l->L, "out of memory");
	*v = nv;
	*cap = ncap;
	return nv;
}

static void push_nkey(struct ev_lua *l, const char *s, size_t n, size_t at,
		      size_t len)
{
	struct nkey *k;

	grow(l, (void **)&l->nk, &l->nk_cap, l->nnk, sizeof(*l->nk));
	k = &l->nk[l->nnk++];
	k->p = s;
	k->n = n;
	k->at = at;
	k->len = len;
}

/*
 * Replace out from start (values written in the order the table gave
 * them) by the object: a header of count, the entries of its origin
 * that are in the table (l->oe from ob) in their order, then the new
 * keys (l->nk from kb) sorted.
 */
static void assemble(struct ev_lua *l, struct ev_buf *out, size_t start,
		     size_t count, size_t ob, size_t kb)
{
	struct ev_buf *a = &l->asmb;
	size_t need = 5 + (out->len - start), i;
	const struct nkey *k;
	uint8_t *o;

	sort_keys(l->nk + kb, l->nnk - kb);
	for (i = ob; i < l->noe; i++)
		if (l->oe[i].state == OE_MATCHED)
			need += (size_t)(l->oe[i].v - l->oe[i].kp);
	for (i = kb; i < l->nnk; i++)
		need += 5 + l->nk[i].n;
	a->len = 0;
	reserve(l, a, need);
	o = ev_mp_map_hdr(a->p, count);
	for (i = ob; i < l->noe; i++) {
		const struct oent *e = &l->oe[i];
		if (e->state != OE_MATCHED)
			continue;
		memcpy(o, e->kp, (size_t)(e->v - e->kp));
		o += e->v - e->kp;
		memcpy(o, out->p + e->at, e->len);
		o += e->len;
	}
	for (i = kb; i < l->nnk; i++) {
		k = &l->nk[i];
		o = ev_mp_str_hdr(o, k->n);
		memcpy(o, k->p, k->n);
		o += k->n;
		memcpy(o, out->p + k->at, k->len);
		o += k->len;
	}
	a->len = (size_t)(o - a->p);
	out->len = start;
	put_bytes(l, out, a->p, a->len);
}

/* A key of a string-keyed table in the table on top-1, or an error. */
static const char *map_key(struct ev_lua *l, size_t *n, const char *what)
{
	if (lua_type(l->L, -2) != LUA_TSTRING)
		luaL_error(l->L, "%s: an object has a key that is not a string",
			   what);
	return lua_tolstring(l->L, -2, n);
}

#define HASHED_MAP 12 /* objects of more entries: looked up by hash */

static uint32_t key_hash(const void *p, size_t n)
{
	return (uint32_t)ev_hash64(p, n);
}

/* The entry among l->oe[ob..] of key s (n bytes), or -1. */
static long find_oent(struct ev_lua *l, size_t ob, size_t hb, size_t hmask,
		      const char *s, size_t n)
{
	const struct oent *e;
	size_t i, h;
	uint32_t x;

	if (hmask == 0) {
		for (i = ob; i < l->noe; i++) {
			e = &l->oe[i];
			if (e->kn == n && e->state != OE_SUPERSEDED &&
			    (n == 0 || e->k[0] == (uint8_t)s[0]) &&
			    memcmp(e->k, s, n) == 0)
				return (long)i;
		}
		return -1;
	}
	for (h = key_hash(s, n) & hmask;; h = (h + 1) & hmask) {
		x = l->hslot[hb + h];
		if (x == 0)
			return -1;
		e = &l->oe[ob + x - 1];
		if (e->kn == n && memcmp(e->k, s, n) == 0)
			return (long)(ob + x - 1);
	}
}

/*
 * An object made from o: written in one pass over the table, each value
 * against the origin's value of its key; as the origin's bytes when
 * nothing changed.  Of repeated keys in the origin the last holds the
 * value, and its place.
 */
static int put_map(struct ev_lua *l, int idx, struct ev_buf *out, int depth,
		   const char *what, const struct origin *o)
{
	lua_State *L = l->L;
	const uint8_t *p = o->p, *end = o->p + o->n, *kp;
	size_t start = out->len, ob = l->noe, kb = l->nnk, hb = l->nhslot;
	size_t count = 0, matched = 0, live, hmask = 0, i, at, n, h;
	struct ev_mp_item it, key;
	struct oent *e;
	const char *s;
	long j;
	int changed = 0;

	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_MAP)
		luaL_error(L, "%s: malformed object", what);
	for (i = 0; i < it.n; i++) {
		kp = p;
		if (p < end && (*p & 0xe0) == 0xa0 &&
		    (size_t)(end - p) > (size_t)(*p & 0x1f)) {
			key.p = p + 1; /* most keys are short */
			key.n = *p & 0x1f;
			p += 1 + key.n;
		} else if (ev_mp_read(&p, end, &key) != 0 ||
			   key.type != EV_MP_STR) {
			luaL_error(L, "%s: malformed object", what);
		}
		grow(l, (void **)&l->oe, &l->oe_cap, l->noe, sizeof(*l->oe));
		e = &l->oe[l->noe++];
		e->kp = kp;
		e->k = key.p;
		e->kn = key.n;
		e->v = p;
		if (ev_mp_skip_quick(&p, end) != 0)
			luaL_error(L, "%s: malformed object", what);
		e->vend = p;
		e->state = OE_OPEN;
	}
	live = it.n;
	if (it.n > HASHED_MAP || o->dups) {
		/* slots of entries + 1, the last of repeated keys winning */
		for (n = 16; n < 2 * (size_t)it.n; n *= 2)
			;
		hmask = n - 1;
		while (l->nhslot + n > l->hslot_cap)
			grow(l, (void **)&l->hslot, &l->hslot_cap, l->hslot_cap,
			     sizeof(*l->hslot));
		memset(l->hslot + hb, 0, n * sizeof(*l->hslot));
		l->nhslot += n;
		for (i = ob; i < l->noe; i++) {
			e = &l->oe[i];
			for (h = key_hash(e->k, e->kn) & hmask;;
			     h = (h + 1) & hmask) {
				uint32_t *x = &l->hslot[hb + h];
				if (*x == 0) {
					*x = (uint32_t)(i - ob + 1);
					break;
				}
				if (l->oe[ob + *x - 1].kn == e->kn &&
				    memcmp(l->oe[ob + *x - 1].k, e->k, e->kn) ==
					    0) {
					l->oe[ob + *x - 1].state =
						OE_SUPERSEDED;
					live--;
					*x = (uint32_t)(i - ob + 1);
					break;
				}
			}
		}
	}
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		s = map_key(l, &n, what);
		j = find_oent(l, ob, hb, hmask, s, n);
		at = out->len;
		if (j >= 0) {
			e = &l->oe[j];
			if (!put_value(l, -1, out, depth - 1, what, e->v,
				       e->vend))
				changed = 1;
			e = &l->oe[j];
			e->state = OE_MATCHED;
			e->at = at;
			e->len = out->len - at;
			matched++;
		} else {
			put_value(l, -1, out, depth - 1, what, NULL, NULL);
			push_nkey(l, s, n, at, out->len - at);
			changed = 1;
		}
		lua_pop(L, 1);
		count++;
	}
	if (!changed && matched == live) {
		/* as it was, repeated keys and all */
		out->len = start;
		put_bytes(l, out, o->p, o->n);
	} else {
		assemble(l, out, start, count, ob, kb);
	}
	l->noe = ob;
	l->nnk = kb;
	l->nhslot = hb;
	return !changed && matched == live;
}

/* An object the step made: its keys sorted. */
static void put_new_map(struct ev_lua *l, int idx, struct ev_buf *out,
			int depth, const char *what, lua_Integer count)
{
	lua_State *L = l->L;
	size_t start = out->len, kb = l->nnk, at, n;
	const char *s;

	if (count == 0) {
		put_hdr(l, out, 1, 0);
		return;
	}
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		s = map_key(l, &n, what);
		at = out->len;
		put_value(l, -1, out, depth - 1, what, NULL, NULL);
		push_nkey(l, s, n, at, out->len - at);
		lua_pop(L, 1);
	}
	assemble(l, out, start, (size_t)count, l->noe, kb);
	l->nnk = kb;
}

/* A table the step made: keys 1..n make an array, others an object. */
/* Append the value at idx if it is a scalar that can go without a
 * failure; 0 when it is not. */
static int put_simple(struct ev_lua *l, int idx, struct ev_buf *out)
{
	lua_State *L = l->L;
	const char *s;
	lua_Number d;
	size_t n;

	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN:
		reserve(l, out, 1);
		out->p[out->len++] = lua_toboolean(L, idx) ? 0xc3 : 0xc2;
		return 1;
	case LUA_TNUMBER:
		reserve(l, out, 9);
		if (lua_isinteger(L, idx)) {
			out->len = (size_t)(ev_mp_int(out->p + out->len,
						      lua_tointeger(L, idx)) -
					    out->p);
			return 1;
		}
		d = lua_tonumber(L, idx);
		if (!isfinite(d))
			return 0;
		out->len =
			(size_t)(ev_mp_double(out->p + out->len, d) - out->p);
		return 1;
	case LUA_TSTRING:
		s = lua_tolstring(L, idx, &n);
		if (ev_utf8_valid((const uint8_t *)s, n) != n)
			return 0;
		put_str(l, out, s, n);
		return 1;
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, idx) != (void *)&null_sentinel)
			return 0;
		reserve(l, out, 1);
		out->p[out->len++] = 0xc0;
		return 1;
	default:
		return 0;
	}
}

/* A table the step made of string keys and scalars, in one pass; 0 (and
 * nothing written) when it is not one. */
static int put_flat_map(struct ev_lua *l, int idx, struct ev_buf *out)
{
	lua_State *L = l->L;
	size_t start = out->len, kb = l->nnk, count = 0, at, n;
	const char *s;

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		at = out->len;
		if (lua_type(L, -2) != LUA_TSTRING || !put_simple(l, -1, out)) {
			lua_pop(L, 2);
			out->len = start;
			l->nnk = kb;
			return 0;
		}
		s = lua_tolstring(L, -2, &n);
		push_nkey(l, s, n, at, out->len - at);
		lua_pop(L, 1);
		count++;
	}
	assemble(l, out, start, count, l->noe, kb);
	l->nnk = kb;
	return 1;
}

static void put_new_table(struct ev_lua *l, int idx, struct ev_buf *out,
			  int depth, const char *what)
{
	lua_State *L = l->L;
	lua_Integer count = 0, k, max = 0;
	int ints = 1, strs = 1;

	if (put_flat_map(l, idx, out))
		return;
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
		put_array(l, idx, out, depth, what, NULL, count);
		return;
	}
	if (!strs)
		luaL_error(L,
			   "%s: a table is neither an array (keys 1 to n) "
			   "nor an object (string keys)",
			   what);
	put_new_map(l, idx, out, depth, what, count);
}

/* Append the value at idx; 1 when it is the value at orig as it was
 * (and so appended as those bytes). */
/* The event table at idx as an object of all its fields. */
static void put_event(struct ev_lua *l, int idx, struct ev_buf *out, int depth,
		      const char *what)
{
	lua_State *L = l->L;
	int t;

	event_fill(l, idx, ~0u);
	lua_createtable(L, 0, NEVENT_KEYS);
	t = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_type(L, -2) != LUA_TSTRING) {
			lua_pop(L, 1);
			continue;
		}
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, t);
	}
	put_new_table(l, t, out, depth, what);
	lua_pop(L, 1);
}

static int put_value(struct ev_lua *l, int idx, struct ev_buf *out, int depth,
		     const char *what, const uint8_t *orig,
		     const uint8_t *orig_end)
{
	lua_State *L = l->L;
	const struct origin *o;
	const uint8_t *p;
	size_t n;
	lua_Number d;
	lua_Integer an;
	int t = lua_type(L, idx), same, kind;

	idx = lua_absindex(L, idx);
	if (t != LUA_TTABLE && same_scalar(L, idx, orig, orig_end)) {
		put_bytes(l, out, orig, (size_t)(orig_end - orig));
		return 1;
	}
	switch (t) {
	case LUA_TBOOLEAN:
	case LUA_TNUMBER:
	case LUA_TSTRING:
	case LUA_TLIGHTUSERDATA:
		if (put_simple(l, idx, out))
			return 0;
		if (t == LUA_TNUMBER) {
			d = lua_tonumber(L, idx);
			luaL_error(L, "%s: %s is not a JSON number", what,
				   d != d ? "nan" : "inf");
		}
		if (t == LUA_TSTRING)
			luaL_error(L, "%s: a string is not valid UTF-8", what);
		break; /* a light userdata that is not evlog.null */
	case LUA_TTABLE:
		if (depth <= 0)
			luaL_error(L, "%s: nested deeper than %d levels", what,
				   EV_MAX_DEPTH);
		luaL_checkstack(L, 6, "nested too deep");
		kind = table_kind(l, idx);
		if (is_lazy(kind)) {
			/* never opened: its bytes */
			p = lazy_bytes(l, idx, &n);
			put_bytes(l, out, p, n);
			lua_pop(L, 1);
			return p == orig;
		}
		if (kind == TK_EVENT) {
			/* an event kept whole (a projection's state may hold
			 * one): its fields, as an object */
			put_event(l, idx, out, depth, what);
			return 0;
		}
		o = org_get(l, lua_topointer(L, idx));
		if (kind == TK_ARRAY) {
			if (o != NULL && !is_array_byte(o->p[0]))
				o = NULL;
			an = (lua_Integer)lua_rawlen(L, idx);
			check_array(l, idx, an, what);
			same = put_array(l, idx, out, depth, what, o, an);
		} else if (o != NULL && is_map_byte(o->p[0])) {
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

int ev_lua_is_array(struct ev_lua *l, int idx)
{
	int k;

	if (lua_type(l->L, idx) != LUA_TTABLE)
		return 0;
	k = table_kind(l, idx);
	return k == TK_ARRAY || k == TK_LAZY_A;
}

/* ------------------------------------------------------------ events back */

/* Push field k of the event table at idx, without metamethods; nil
 * when it is not among the keys present. */
static int rawfield(lua_State *L, int idx, uint32_t present, int k)
{
	if (!(present & (1u << k))) {
		lua_pushnil(L);
		return LUA_TNIL;
	}
	lua_pushstring(L, event_keys[k]);
	return lua_rawget(L, idx);
}

/* The string field k of the event at idx, or NULL when absent; from its
 * record r while it is not in the table. */
static const char *ev_str_field(lua_State *L, int idx, const struct lzrec *r,
				uint32_t present, int k, size_t *n)
{
	const char *s;

	if (r != NULL && (r->pending & (1u << k))) {
		*n = r->len[k];
		return (const char *)r->bytes + r->at[k];
	}
	if (rawfield(L, idx, present, k) == LUA_TNIL) {
		lua_pop(L, 1);
		*n = 0;
		return NULL;
	}
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "the event's %s is a %s, not a string",
			   event_keys[k], luaL_typename(L, -1));
	s = lua_tolstring(L, -1, n);
	lua_pop(L, 1); /* the table keeps it */
	if (*n == 0)
		luaL_error(L, "the event's %s is empty", event_keys[k]);
	return s;
}

/* The bytes of data or meta of record r, what a table there was made
 * from, or NULL. */
static const uint8_t *rec_part(const struct lzrec *r, int k, size_t *n)
{
	*n = r != NULL ? r->len[k] : 0;
	return *n > 0 ? r->bytes + r->at[k] : NULL;
}

int ev_lua_is_list(struct ev_lua *l, int idx)
{
	lua_State *L = l->L;
	const struct lzrec *r;
	int kind;

	idx = lua_absindex(L, idx);
	/* an event table as it came (the usual answer) */
	r = event_rec(L, idx);
	if (r != NULL && (r->pending & (1u << EK_TYPE)))
		return 0;
	kind = table_kind(l, idx);
	if (is_lazy(kind)) {
		lazy_open(l, idx);
		kind = table_kind(l, idx);
	}
	if (rawfield(L, idx, ~0u, EK_TYPE) != LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	lua_pop(L, 1);
	return kind == TK_ARRAY || lua_rawlen(L, idx) > 0;
}

void ev_lua_to_fields(struct ev_lua *l, int idx, struct ev_fields *f)
{
	lua_State *L = l->L;
	const struct lzrec *r;
	const char *s;
	size_t n, i;
	lua_Integer v = 0;
	uint32_t pend, present = 0;
	int slot;

	idx = lua_absindex(L, idx);
	ev_fields_init(f);
	if (lua_type(L, idx) != LUA_TTABLE)
		luaL_error(L, "returned a %s, not an event table",
			   luaL_typename(L, idx));
	luaL_checkstack(L, 8, "nested too deep");
	r = event_rec(L, idx);
	if (r == NULL && is_lazy(table_kind(l, idx)))
		lazy_open(l, idx);
	pend = r != NULL ? r->pending : 0;
	/* the keys it has (data and meta kept as they go by) */
	lua_pushnil(L);
	lua_pushnil(L);
	slot = lua_gettop(L) - 1;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_touserdata(L, -2) == (void *)&rec_key) {
			lua_pop(L, 1);
			continue;
		}
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "the event has a key that is not a "
				      "string");
		s = lua_tolstring(L, -2, &n);
		for (i = 0; i < NEVENT_KEYS; i++)
			if (l->ekeys[i] == s)
				break;
		if (i == NEVENT_KEYS)
			luaL_error(L,
				   "the event has a field '%s' that no "
				   "event has",
				   s);
		present |= 1u << i;
		if (i == EK_DATA || i == EK_META)
			lua_copy(L, -1, slot + (i == EK_META));
		lua_pop(L, 1);
	}
	f->type = ev_str_field(L, idx, r, present, EK_TYPE, &f->type_n);
	if (f->type == NULL)
		luaL_error(L, "the event has no type");
	f->stream = ev_str_field(L, idx, r, present, EK_STREAM, &f->stream_n);
	f->key = ev_str_field(L, idx, r, present, EK_KEY, &f->key_n);
	if (pend & (1u << EK_VERSION)) {
		f->version = r->version;
	} else {
		rawfield(L, idx, present, EK_VERSION);
		if (!lua_isnil(L, -1)) {
			if (!lua_isinteger(L, -1) ||
			    (v = lua_tointeger(L, -1)) < 1)
				luaL_error(L, "the event's version is not a "
					      "positive integer");
			f->version = (uint64_t)v;
		}
		lua_pop(L, 1);
	}
	if (pend & (1u << EK_TIME)) {
		f->time = r->time;
	} else {
		rawfield(L, idx, present, EK_TIME);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L,
				   "the event's time is %s, not an RFC 3339 "
				   "string",
				   lua_isnil(L, -1)
					   ? "missing"
					   : lua_pushfstring(
						     L, "a %s",
						     luaL_typename(L, -1)));
		s = lua_tolstring(L, -1, &n);
		if (r != NULL && r->tlen == n && n > 0 &&
		    memcmp(s, r->tstr, n) == 0)
			f->time = r->time;
		else if (ev_time_parse(s, n, &f->time) != 0)
			luaL_error(L,
				   "the event's time '%s' is not an RFC 3339 "
				   "time",
				   s);
		lua_pop(L, 1);
	}
	l->data.len = 0;
	if (pend & (1u << EK_DATA_BASE64)) {
		f->data = r->bytes + r->at[EK_DATA_BASE64];
		f->data_n = r->len[EK_DATA_BASE64];
		f->data_bin = 1;
	} else {
		rawfield(L, idx, present, EK_DATA_BASE64);
		if (!lua_isnil(L, -1)) {
			if (lua_type(L, -1) != LUA_TSTRING)
				luaL_error(L, "the event's data_base64 is not "
					      "a string");
			s = lua_tolstring(L, -1, &n);
			if (ev_base64_decode(s, n, &l->data) != 0)
				luaL_error(L, "the event's data_base64 is not "
					      "base64");
			f->data = l->data.p != NULL ? l->data.p
						    : (const uint8_t *)"";
			f->data_n = l->data.len;
			f->data_bin = 1;
		}
		lua_pop(L, 1);
	}
	if (pend & (1u << EK_DATA)) {
		/* never read: as it was */
		if (f->data_bin)
			luaL_error(L, "the event has both data and "
				      "data_base64");
		f->data = r->bytes + r->at[EK_DATA];
		f->data_n = r->len[EK_DATA];
	} else {
		lua_pushvalue(L, slot);
		if (!lua_isnil(L, -1)) {
			if (f->data_bin)
				luaL_error(L, "the event has both data and "
					      "data_base64");
			/* n is rec_part()'s before the call (the order of
			 * arguments' evaluation is unspecified) */
			const uint8_t *orig = rec_part(r, EK_DATA, &n);
			l->data.len = 0;
			ev_lua_to_msgpack(l, -1, &l->data, EV_MAX_DEPTH - 1,
					  "data", orig, n);
			f->data = l->data.p;
			f->data_n = l->data.len;
		}
		lua_pop(L, 1);
	}
	l->meta.len = 0;
	if (pend & (1u << EK_META)) {
		f->meta = r->bytes + r->at[EK_META];
		f->meta_n = r->len[EK_META];
	} else {
		lua_pushvalue(L, slot + 1);
		if (!lua_isnil(L, -1)) {
			const uint8_t *orig = rec_part(r, EK_META, &n);
			ev_lua_to_msgpack(l, -1, &l->meta, EV_MAX_DEPTH - 1,
					  "meta", orig, n);
			if (!is_map_byte(l->meta.p[0]))
				luaL_error(L, "the event's meta is not an "
					      "object");
			f->meta = l->meta.p;
			f->meta_n = l->meta.len;
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
}
