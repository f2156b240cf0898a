/*
 * test_luaval.c - struct ev_lua (issue 10's Lua conversion): msgpack
 * values to Lua and back without loss (null, empty arrays and objects,
 * key order, 64-bit integers, repeated keys, binary data), what tables
 * a script builds become, the event table, loading files, and the
 * sandbox's limits on instructions and memory.
 */
#include "unit.h"

#include <lauxlib.h>

#include "luaval_int.h"

/* JSON text to msgpack, into b. */
static void mp(const char *json, struct ev_buf *b)
{
	struct ev_json js;

	b->len = 0;
	ev_json_init(&js, json, strlen(json));
	if (ev_json_value(&js, b) != 0)
		fail_msg("bad JSON in a test: %s", json);
}

/* msgpack to JSON text (NUL-terminated, in b). */
static const char *json_of(const uint8_t *p, size_t n, struct ev_buf *b)
{
	struct ev_error err;

	b->len = 0;
	if (ev_msgpack_to_json(p, n, b, &err) != 0)
		fail_msg("to JSON: %s", err.msg);
	ev_buf_putc(b, '\0');
	return (const char *)b->p;
}

struct conv {
	const uint8_t *in;
	size_t n;
	const char *script; /* a function(v) returning the value, or NULL */
	int ref;
	struct ev_buf out;
};

static int conv_body(struct ev_lua *l, void *vctx)
{
	struct conv *c = vctx;
	lua_State *L = ev_lua_state(l);

	if (c->script != NULL)
		lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
	ev_lua_push_value(l, c->in, c->n);
	if (c->script != NULL)
		lua_call(L, 1, 1);
	c->out.len = 0;
	ev_lua_to_msgpack(l, -1, &c->out, EV_MAX_DEPTH, "data", c->in, c->n);
	return 0;
}

/* json through Lua (and script, a chunk returning a function of the
 * value), back to JSON; or "FAIL: message". */
static char *through(struct ev_lua *l, const char *json, const char *script)
{
	struct conv c;
	struct ev_buf in = {0}, txt = {0};
	struct ev_error err;
	char *r;

	memset(&c, 0, sizeof(c));
	mp(json, &in);
	c.in = in.p;
	c.n = in.len;
	c.script = script;
	if (script != NULL &&
	    ev_lua_load_function(l, "s.lua", script, strlen(script), &c.ref,
				 &err) != 0)
		fail_msg("load: %s", err.msg);
	if (ev_lua_protected(l, conv_body, &c, &err) != 0) {
		r = malloc(strlen(err.msg) + 8);
		sprintf(r, "FAIL: %s", err.msg);
	} else {
		r = strdup(json_of(c.out.p, c.out.len, &txt));
	}
	ev_buf_free(&in);
	ev_buf_free(&txt);
	ev_buf_free(&c.out);
	return r;
}

/* json through the function at ref (loaded once, so that it may keep
 * what it is given from call to call), back to JSON. */
static char *through_ref(struct ev_lua *l, const char *json, int ref)
{
	struct conv c;
	struct ev_buf in = {0}, txt = {0};
	struct ev_error err;
	char *r;

	memset(&c, 0, sizeof(c));
	mp(json, &in);
	c.in = in.p;
	c.n = in.len;
	c.script = "";
	c.ref = ref;
	if (ev_lua_protected(l, conv_body, &c, &err) != 0) {
		r = malloc(strlen(err.msg) + 8);
		sprintf(r, "FAIL: %s", err.msg);
	} else {
		r = strdup(json_of(c.out.p, c.out.len, &txt));
	}
	ev_buf_free(&in);
	ev_buf_free(&txt);
	ev_buf_free(&c.out);
	return r;
}

static struct ev_lua *state_new(size_t mem, uint64_t insns)
{
	struct ev_lua *l;
	struct ev_error err;

	if (ev_lua_new(&l, mem, insns, &err) != 0)
		fail_msg("ev_lua_new: %s", err.msg);
	return l;
}

static void assert_through(struct ev_lua *l, const char *json,
			   const char *script, const char *want)
{
	char *got = through(l, json, script);

	assert_string_equal(got, want);
	free(got);
}

/* Untouched values come back byte for byte. */
static void test_round_trip_is_exact(void **state)
{
	static const char *const values[] = {
		"null",
		"true",
		"0",
		"-1",
		"9223372036854775807",
		"-9223372036854775808",
		"18446744073709551615",
		"0.1",
		"-2.5e-300",
		"\"\"",
		"\"caf\\u00e9\"",
		"[]",
		"{}",
		"[[],{},[null]]",
		"{\"b\":1,\"a\":2,\"c\":{\"z\":[],\"y\":{}}}",
		"{\"k\":1,\"k\":2,\"o\":{\"q\":null,\"q\":[1]}}",
	};
	struct ev_lua *l = state_new(0, 0);
	struct ev_buf in = {0}, txt = {0};
	struct conv c;
	struct ev_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		memset(&c, 0, sizeof(c));
		mp(values[i], &in);
		c.in = in.p;
		c.n = in.len;
		if (ev_lua_protected(l, conv_body, &c, &err) != 0)
			fail_msg("%s: %s", values[i], err.msg);
		if (c.out.len != in.len || memcmp(c.out.p, in.p, in.len) != 0)
			fail_msg("%s came back as %s", values[i],
				 json_of(c.out.p, c.out.len, &txt));
		ev_buf_free(&c.out);
	}
	ev_buf_free(&in);
	ev_buf_free(&txt);
	ev_lua_free(l);
}

static void test_values_in_lua(void **state)
{
	struct ev_lua *l = state_new(0, 0);

	(void)state;
	assert_through(l,
		       "[null,[],{},9223372036854775807,18446744073709551615,"
		       "1.0,\"s\"]",
		       "return function(v) return {v[1] == evlog.null, "
		       "evlog.isarray(v[2]), evlog.isarray(v[3]), "
		       "math.type(v[4]), v[4] == math.maxinteger, "
		       "math.type(v[5]), math.type(v[6]), type(v[1]), #v} "
		       "end\n",
		       "[true,true,false,\"integer\",true,\"float\",\"float\","
		       "\"userdata\",7]");
	ev_lua_free(l);
}

static void test_changes_keep_order(void **state)
{
	struct ev_lua *l = state_new(0, 0);

	(void)state;
	/* kept keys in their order, then new ones sorted */
	assert_through(l, "{\"z\":1,\"b\":2,\"m\":3}",
		       "return function(v) v.y = 0 v.a = 0 v.b = nil "
		       "v.m = 'x' return v end\n",
		       "{\"z\":1,\"m\":\"x\",\"a\":0,\"y\":0}");
	/* a repeated key, once changed, is kept once, where it came last;
	 * an untouched object beside it keeps its own */
	assert_through(l, "{\"k\":1,\"o\":{\"q\":1,\"q\":2},\"k\":2}",
		       "return function(v) v.n = 1 return v end\n",
		       "{\"o\":{\"q\":1,\"q\":2},\"k\":2,\"n\":1}");
	/* and so in an object of more keys than are compared pairwise:
	 * the repeat found by the table holding fewer */
	assert_through(l,
		       "{\"o\":{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,"
		       "\"f\":1,\"g\":1,\"h\":1,\"i\":1,\"j\":1,\"k\":1,"
		       "\"l\":1,\"m\":1,\"n\":1,\"o\":1,\"p\":1,\"q\":1,"
		       "\"a\":2}}",
		       "return function(v) v.x = 1 return v end\n",
		       "{\"o\":{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,"
		       "\"f\":1,\"g\":1,\"h\":1,\"i\":1,\"j\":1,\"k\":1,"
		       "\"l\":1,\"m\":1,\"n\":1,\"o\":1,\"p\":1,\"q\":1,"
		       "\"a\":2},\"x\":1}");
	assert_through(l,
		       "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,"
		       "\"g\":1,\"h\":1,\"i\":1,\"j\":1,\"k\":1,\"l\":1,"
		       "\"m\":1,\"n\":1,\"o\":1,\"p\":1,\"q\":1,\"a\":2}",
		       "return function(v) v.x = 1 return v end\n",
		       "{\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,"
		       "\"h\":1,\"i\":1,\"j\":1,\"k\":1,\"l\":1,\"m\":1,"
		       "\"n\":1,\"o\":1,\"p\":1,\"q\":1,\"a\":2,\"x\":1}");
	/* arrays grow and shrink, and stay arrays when emptied */
	assert_through(l, "{\"a\":[1,2],\"b\":[3]}",
		       "return function(v) v.a[3] = 3 v.b[1] = nil "
		       "return v end\n",
		       "{\"a\":[1,2,3],\"b\":[]}");
	/* objects emptied stay objects */
	assert_through(l, "{\"o\":{\"x\":1}}",
		       "return function(v) v.o.x = nil return v end\n",
		       "{\"o\":{}}");
	/* a table moved keeps its order */
	assert_through(l, "{\"o\":{\"z\":1,\"a\":2}}",
		       "return function(v) return {moved = v.o} end\n",
		       "{\"moved\":{\"z\":1,\"a\":2}}");
	ev_lua_free(l);
}

static void test_new_tables(void **state)
{
	struct ev_lua *l = state_new(0, 0);

	(void)state;
	assert_through(l, "null",
		       "return function(v) return {{}, evlog.array({}), "
		       "{1, 2}, {b = 1, a = {true}}, 2^53, -0.5, "
		       "math.mininteger} end\n",
		       "[{},[],[1,2],{\"a\":[true],\"b\":1},9007199254740992.0,"
		       "-0.5,-9223372036854775808]");
	assert_through(l, "null",
		       "return function(v) return {1, 2, x = 3} end\n",
		       "FAIL: data: a table is neither an array (keys 1 to n) "
		       "nor an object (string keys)");
	assert_through(l, "null", "return function(v) return {[0] = 1} end\n",
		       "FAIL: data: a table is neither an array (keys 1 to n) "
		       "nor an object (string keys)");
	assert_through(l, "null", "return function(v) return {[1.5] = 1} end\n",
		       "FAIL: data: a table is neither an array (keys 1 to n) "
		       "nor an object (string keys)");
	assert_through(l, "null",
		       "return function(v) return evlog.array({a = 1}) end\n",
		       "FAIL: data: an array has a key other than 1 to 0");
	assert_through(l, "null", "return function(v) return {f = io} end\n",
		       "{}");
	assert_through(l, "null", "return function(v) return coroutine end\n",
		       "FAIL: data: a nil value has no JSON form");
	assert_through(l, "null",
		       "return function(v) return {u = evlog.array} end\n",
		       "FAIL: data: a function value has no JSON form");
	ev_lua_free(l);
}

/* Arrays and objects in a value are made when first used, a level at a
 * time, and those never used go back as their bytes; a step cannot tell
 * (issue 10, section 6). */
static void test_lazy_tables(void **state)
{
	struct ev_lua *l = state_new(0, 0);
	struct ev_error err;
	const char *script;
	char *got;
	int ref;

	(void)state;
	/* read a level down, null inside; what is left alone comes back as
	 * it was, repeated keys and all */
	assert_through(l,
		       "{\"o\":{\"a\":1,\"a\":2,\"n\":null},"
		       "\"l\":[[1],{\"k\":1,\"k\":1}]}",
		       "return function(v) assert(v.o.a == 2 and "
		       "v.o.n == evlog.null and v.l[1][1] == 1 and "
		       "v.o.x == nil) return v end\n",
		       "{\"o\":{\"a\":1,\"a\":2,\"n\":null},"
		       "\"l\":[[1],{\"k\":1,\"k\":1}]}");
	/* written a level or two down: order kept, new keys after */
	assert_through(l,
		       "{\"o\":{\"z\":1,\"a\":2},\"p\":[1,2],"
		       "\"d\":{\"b\":{\"x\":0}}}",
		       "return function(v) v.o.b = 3 v.p[3] = 3 v.d.b.c = 1 "
		       "return v end\n",
		       "{\"o\":{\"z\":1,\"a\":2,\"b\":3},\"p\":[1,2,3],"
		       "\"d\":{\"b\":{\"x\":0,\"c\":1}}}");
	assert_through(l, "{\"o\":{\"a\":1,\"b\":2}}",
		       "return function(v) v.o.a = nil return v end\n",
		       "{\"o\":{\"b\":2}}");
	/* pairs, ipairs and # */
	assert_through(l,
		       "{\"o\":{\"a\":1,\"b\":2},\"p\":[5,6,7],"
		       "\"q\":[1,2]}",
		       "return function(v) local n, s = 0, 0 "
		       "for k in pairs(v.o) do n = n + 1 end "
		       "for i, x in ipairs(v.p) do s = s + x end "
		       "return {n, s, #v.q} end\n",
		       "[2,18,2]");
	/* the raw functions, each the first to touch its table */
	assert_through(l,
		       "{\"o\":{\"a\":1},\"p\":[5,6],\"q\":{\"b\":2},"
		       "\"r\":[1],\"s\":{\"c\":3},\"u\":[9],"
		       "\"w\":{\"d\":4},\"x\":{\"e\":5}}",
		       "return function(v) local k = next(v.o) "
		       "rawset(v.w, 'f', 6) setmetatable(v.x, {}) "
		       "return {k, rawget(v.q, 'b'), rawlen(v.p), "
		       "getmetatable(v.s) == nil, "
		       "getmetatable(v.r) == getmetatable(evlog.array({})), "
		       "evlog.isarray(v.u), evlog.isarray(v.o), v.w, v.x.e} "
		       "end\n",
		       "[\"a\",2,2,true,true,true,false,{\"d\":4,\"f\":6},"
		       "5]");
	assert_through(l, "{\"o\":{\"a\":1}}",
		       "return function(v) return evlog.array(v.o) end\n",
		       "FAIL: data: an array has a key other than 1 to 0");
	/* moved elsewhere unopened: its bytes, repeated keys and all */
	assert_through(l, "{\"o\":{\"q\":1,\"q\":2},\"a\":[{\"r\":1,\"r\":1}]}",
		       "return function(v) return {m = v.o, n = v.a} end\n",
		       "{\"m\":{\"q\":1,\"q\":2},\"n\":[{\"r\":1,\"r\":1}]}");
	/* kept past its call, and given back or read in later ones */
	script = "local kept return function(v) "
		 "if kept == nil then kept = v return 0 end "
		 "if v == 1 then return {kept.o.a, kept.p[1]} end "
		 "return kept end\n";
	assert_int_equal(ev_lua_load_function(l, "k.lua", script,
					      strlen(script), &ref, &err),
			 0);
	got = through_ref(l, "{\"o\":{\"a\":1,\"a\":2},\"p\":[3]}", ref);
	assert_string_equal(got, "0");
	free(got);
	got = through_ref(l, "2", ref);
	assert_string_equal(got, "{\"o\":{\"a\":1,\"a\":2},\"p\":[3]}");
	free(got);
	got = through_ref(l, "1", ref);
	assert_string_equal(got, "[2,3]");
	free(got);
	ev_lua_free(l);
}

struct ev_call {
	const struct ev_event *ev;
	int ref;
	struct ev_fields f;
	struct ev_buf d, m;
	int has_data, has_meta;
};

static int event_body(struct ev_lua *l, void *vctx)
{
	struct ev_call *c = vctx;
	lua_State *L = ev_lua_state(l);

	lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);
	ev_lua_push_event(l, c->ev);
	lua_call(L, 1, 1);
	ev_lua_to_fields(l, -1, &c->f);
	c->has_data = c->f.data != NULL;
	c->has_meta = c->f.meta != NULL;
	if (c->has_data)
		ev_buf_append(&c->d, c->f.data, c->f.data_n);
	if (c->has_meta)
		ev_buf_append(&c->m, c->f.meta, c->f.meta_n);
	return 0;
}

static void test_event_table(void **state)
{
	struct ev_lua *l = state_new(0, 0);
	struct ev_parse_opts po;
	struct ev_parser *ps;
	struct ev_error err;
	struct ev_event ev, ev2;
	struct ev_buf other = {0};
	struct ev_call c;
	const uint8_t *rec;
	size_t n;
	ev_time_t t;
	const char *line =
		"{\"id\":\"i\",\"type\":\"T\",\"stream\":\"s\",\"version\":2,"
		"\"time\":\"2024-01-01T00:00:00.5Z\",\"schema\":3,\"key\":\"k\","
		"\"data\":{\"a\":1,\"a\":2},\"meta\":{\"m\":[]}}";
	const char *script =
		"return function(e) assert(e.offset == 42 and e.id == 'i' and "
		"e.type == 'T' and e.stream == 's' and e.version == 2 and "
		"e.schema == 3 and e.key == 'k' and "
		"e.time == '2024-01-01T00:00:00.500Z') "
		"local n = 0 for k in pairs(e) do n = n + 1 end "
		"e.type = 'U' e.n = n return e end\n";
	struct ev_buf txt = {0};

	(void)state;
	memset(&po, 0, sizeof(po));
	ps = ev_parser_new(&po);
	assert_int_equal(ev_parser_line(ps, line, strlen(line), 0, &err), 1);
	ev_parser_record(ps, 0, &rec, &n, &t);
	assert_int_equal(ev_event_decode(rec, n, &ev, &err), 0);
	ev.offset = 42;
	memset(&c, 0, sizeof(c));
	c.ev = &ev;
	/* a field no event has */
	assert_int_equal(ev_lua_load_function(l, "e.lua", script,
					      strlen(script), &c.ref, &err),
			 0);
	assert_int_equal(ev_lua_protected(l, event_body, &c, &err), EV_EDATA);
	assert_string_equal(err.msg, "the event has a field 'n' that no event "
				     "has");
	/* untouched data and meta are the record's own bytes, repeated keys
	 * and all; pairs() sees only what was read */
	script = "return function(e) local n = 0 for k in pairs(e) do "
		 "n = n + 1 end assert(n == 8, n) e.type = 'U' return e end\n";
	assert_int_equal(ev_lua_load_function(l, "e.lua", script,
					      strlen(script), &c.ref, &err),
			 0);
	assert_int_equal(ev_lua_protected(l, event_body, &c, &err), 0);
	assert_int_equal(c.f.type_n, 1);
	assert_memory_equal(c.f.type, "U", 1);
	assert_int_equal(c.f.time, ev.time);
	assert_int_equal(c.f.version, 2);
	assert_string_equal(json_of(c.d.p, c.d.len, &txt), "{\"a\":1,\"a\":2}");
	assert_string_equal(json_of(c.m.p, c.m.len, &txt), "{\"m\":[]}");
	/* read and changed, or removed */
	c.d.len = c.m.len = 0;
	script = "return function(e) e.data.b = 1 e.meta = nil return e end\n";
	assert_int_equal(ev_lua_load_function(l, "e.lua", script,
					      strlen(script), &c.ref, &err),
			 0);
	assert_int_equal(ev_lua_protected(l, event_body, &c, &err), 0);
	assert_string_equal(json_of(c.d.p, c.d.len, &txt), "{\"a\":2,\"b\":1}");
	assert_false(c.has_meta);
	/* the metatable is not the step's to change */
	script = "return function(e) setmetatable(e, nil) return e end\n";
	assert_int_equal(ev_lua_load_function(l, "e.lua", script,
					      strlen(script), &c.ref, &err),
			 0);
	assert_int_equal(ev_lua_protected(l, event_body, &c, &err), EV_EDATA);
	assert_string_equal(err.msg, "e.lua:1: cannot change a protected "
				     "metatable");
	/* next() lists what pairs() does, and nothing of ours */
	script = "return function(e) local n, k = 0, nil repeat "
		 "k = next(e, k) if k ~= nil then n = n + 1 end "
		 "until k == nil assert(n == 8, n) "
		 "assert(rawget(e, 'id') == 'i') return e end\n";
	assert_int_equal(ev_lua_load_function(l, "e.lua", script,
					      strlen(script), &c.ref, &err),
			 0);
	assert_int_equal(ev_lua_protected(l, event_body, &c, &err), 0);
	/* an event kept past its call is whole in a later one, what was
	 * never read of it too */
	script = "local kept return function(e) "
		 "if kept == nil then kept = e end return kept end\n";
	assert_int_equal(ev_lua_load_function(l, "e.lua", script,
					      strlen(script), &c.ref, &err),
			 0);
	assert_int_equal(ev_lua_protected(l, event_body, &c, &err), 0);
	ev2 = ev;
	ev2.type.p = "Z";
	mp("{\"b\":1}", &other);
	ev2.data = other.p;
	ev2.data_len = other.len;
	ev2.meta = NULL;
	c.ev = &ev2;
	c.d.len = c.m.len = 0;
	assert_int_equal(ev_lua_protected(l, event_body, &c, &err), 0);
	assert_memory_equal(c.f.type, "T", 1);
	assert_string_equal(json_of(c.d.p, c.d.len, &txt), "{\"a\":1,\"a\":2}");
	assert_string_equal(json_of(c.m.p, c.m.len, &txt), "{\"m\":[]}");
	ev_buf_free(&other);
	ev_buf_free(&c.d);
	ev_buf_free(&c.m);
	ev_buf_free(&txt);
	ev_parser_free(ps);
	ev_lua_free(l);
}

static void test_loading(void **state)
{
	struct ev_lua *l = state_new(0, 0);
	struct ev_error err;
	int ref;

	(void)state;
	assert_int_equal(ev_lua_load_function(l, "a.lua", "return 1 +", 10,
					      &ref, &err),
			 EV_EUSAGE);
	assert_string_equal(err.msg, "a.lua:1: unexpected symbol near <eof>");
	assert_int_equal(ev_lua_load_function(l, "a.lua", "return {}", 9, &ref,
					      &err),
			 EV_EUSAGE);
	assert_string_equal(err.msg,
			    "a.lua: returns a table value, not a function");
	assert_int_equal(ev_lua_load_function(l, "a.lua", "\x1bLua", 4, &ref,
					      &err),
			 EV_EUSAGE);
	assert_non_null(strstr(err.msg, "attempt to load a binary chunk"));
	assert_int_equal(ev_lua_load_function(l, "a.lua", "while 1 do end", 14,
					      &ref, &err),
			 EV_EUSAGE);
	assert_non_null(strstr(err.msg, "ran for more than"));
	ev_lua_free(l);
}

static void test_limits(void **state)
{
	struct ev_lua *l = state_new(4u << 20, 100000);

	(void)state;
	assert_through(l, "null", "return function(v) while true do end end\n",
		       "FAIL: the step ran for more than 100000 instructions");
	assert_through(l, "null",
		       "return function(v) while true do pcall(function() "
		       "while true do end end) end end\n",
		       "FAIL: the step ran for more than 100000 instructions");
	assert_through(l, "null",
		       "return function(v) while true do xpcall(function() "
		       "while true do end end, function(m) return m end) end "
		       "end\n",
		       "FAIL: the step ran for more than 100000 instructions");
	assert_through(l, "null",
		       "return function(v) return string.rep('x', 8 << 20) "
		       "end\n",
		       "FAIL: out of memory: Lua may use 4 MiB in all");
	assert_through(l, "null",
		       "return function(v) local t = {} for i = 1, 64 do "
		       "t[i] = string.rep('x', 1 << 20) .. i end end\n",
		       "FAIL: out of memory: Lua may use 4 MiB in all");
	/* garbage is collected before the limit is reached */
	assert_through(l, "null",
		       "return function(v) for i = 1, 32 do "
		       "local s = string.rep('x', 1 << 20) .. i end "
		       "return 1 end\n",
		       "1");
	/* a caught memory error is the script's to handle */
	assert_through(l, "null",
		       "return function(v) local ok = pcall(string.rep, 'x', "
		       "8 << 20) return ok end\n",
		       "false");
	/* and the state is fine after all that */
	assert_through(l, "[1]", "return function(v) v[2] = 2 return v end\n",
		       "[1,2]");
	ev_lua_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_is_exact),
		cmocka_unit_test(test_values_in_lua),
		cmocka_unit_test(test_changes_keep_order),
		cmocka_unit_test(test_new_tables),
		cmocka_unit_test(test_lazy_tables),
		cmocka_unit_test(test_event_table),
		cmocka_unit_test(test_loading),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
