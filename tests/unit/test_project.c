/*
 * test_project.c - struct ev_projection (issue 11, Lua projections):
 * states by partition (the stream, partition_by, one global state),
 * handlers that change a state or return a new one, the sandbox,
 * errors with FILE:LINE, wrong types, atomic applies, emit() and its
 * ids and meta, the order of keys, result(), and save and restore.
 *
 * The projection files are written in a temporary directory that is
 * the working directory for the test, so messages name them as
 * "p.lua".
 */
#include "unit.h"

static char *tmp;
static char oldcwd[4096];

static int setup(void **state)
{
	(void)state;
	tmp = unit_tmpdir();
	if (getcwd(oldcwd, sizeof(oldcwd)) == NULL || chdir(tmp) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (chdir(oldcwd) != 0)
		return -1;
	unit_rmtree(tmp);
	return 0;
}

static void put(const char *name, const char *text)
{
	assert_int_equal(unit_write_file(name, text, strlen(text)), 0);
}

/* Load text as p.lua (name NULL: the default name). */
static struct ev_projection *load(const char *text, const char *name)
{
	struct ev_projection *p;
	struct ev_error err;

	put("p.lua", text);
	if (ev_projection_load(&p, "p.lua", name, &err) != 0)
		fail_msg("load: %s", err.msg);
	return p;
}

/* The error of loading text: its message, and its code in *code. */
static char msgbuf[2048];
static const char *load_fails(const char *text, int *code)
{
	struct ev_projection *p = NULL;
	struct ev_error err;

	put("p.lua", text);
	*code = ev_projection_load(&p, "p.lua", NULL, &err);
	assert_null(p);
	assert_true(*code < 0);
	snprintf(msgbuf, sizeof(msgbuf), "%s", err.msg);
	return msgbuf;
}

/* A record from one JSON line, into b. */
static void record(const char *line, struct ev_buf *b)
{
	struct ev_parse_opts po;
	struct ev_parser *ps;
	struct ev_error err;
	const uint8_t *rec;
	size_t n;
	ev_time_t t;

	memset(&po, 0, sizeof(po));
	ps = ev_parser_new(&po);
	assert_non_null(ps);
	if (ev_parser_line(ps, line, strlen(line), 1700000000000000000LL,
			   &err) != 1)
		fail_msg("%s: %s", line, err.msg);
	ev_parser_record(ps, 0, &rec, &n, &t);
	b->len = 0;
	assert_int_equal(ev_buf_append(b, rec, n), 0);
	ev_parser_free(ps);
}

/* Apply line as the event at offset: 0, or the error (its message in
 * msgbuf). */
static int apply(struct ev_projection *p, const char *line, uint64_t offset)
{
	struct ev_buf b = {0};
	struct ev_error err;
	int r;

	record(line, &b);
	r = ev_projection_apply_record(p, b.p, b.len, offset, &err);
	if (r != 0)
		snprintf(msgbuf, sizeof(msgbuf), "%s", err.msg);
	ev_buf_free(&b);
	return r;
}

static void apply_ok(struct ev_projection *p, const char *line, uint64_t offset)
{
	if (apply(p, line, offset) != 0)
		fail_msg("apply %s: %s", line, msgbuf);
}

static int line_fn(void *ctx, const uint8_t *k, size_t kn, const uint8_t *s,
		   size_t sn)
{
	struct ev_buf *b = ctx;
	struct ev_error err;

	if (ev_msgpack_to_json(k, kn, b, &err) != 0)
		fail_msg("key: %s", err.msg);
	ev_buf_putc(b, '=');
	if (ev_msgpack_to_json(s, sn, b, &err) != 0)
		fail_msg("state: %s", err.msg);
	ev_buf_putc(b, '\n');
	return 0;
}

/* Every state, KEY=STATE per line, as JSON (a malloc'd string). */
static char *states(struct ev_projection *p)
{
	struct ev_buf b = {0};
	struct ev_error err;

	if (ev_projection_each(p, line_fn, &b, &err) != 0)
		fail_msg("each: %s", err.msg);
	ev_buf_putc(&b, '\0');
	return (char *)b.p;
}

static void assert_states(struct ev_projection *p, const char *want)
{
	char *got = states(p);

	assert_string_equal(got, want);
	free(got);
}

/* The state of one partition as JSON, or "(none)". */
static char *get(struct ev_projection *p, const char *key)
{
	struct ev_buf mp = {0}, js = {0};
	struct ev_error err;
	int r = ev_projection_get(p, key, &mp, &err);

	if (r < 0)
		fail_msg("get: %s", err.msg);
	if (r == 0)
		ev_buf_puts(&js, "(none)");
	else if (ev_msgpack_to_json(mp.p, mp.len, &js, &err) != 0)
		fail_msg("get: %s", err.msg);
	ev_buf_putc(&js, '\0');
	ev_buf_free(&mp);
	return (char *)js.p;
}

#define DEP(stream, amount)                                                  \
	"{\"type\":\"MoneyDeposited\",\"stream\":\"" stream "\","            \
	"\"id\":\"id-" stream "-" #amount "\",\"data\":{\"amount\":" #amount \
	"}}"
#define WDR(stream, amount)                                                   \
	"{\"type\":\"MoneyWithdrawn\",\"stream\":\"" stream "\","             \
	"\"id\":\"idw-" stream "-" #amount "\",\"data\":{\"amount\":" #amount \
	"}}"

static const char balance[] =
	"-- balance.lua\n"
	"return {\n"
	"  partition_by = function(e) return e.stream end,\n"
	"  init = function() return { balance = 0 } end,\n"
	"  on = {\n"
	"    MoneyDeposited = function(s, e) s.balance = s.balance + "
	"e.data.amount end,\n"
	"    MoneyWithdrawn = function(s, e) s.balance = s.balance - "
	"e.data.amount end,\n"
	"  },\n"
	"}\n";

static void test_balance(void **state)
{
	struct ev_projection *p;
	char *s;

	(void)state;
	p = load(balance, NULL);
	assert_string_equal(ev_projection_name(p), "p");
	assert_true(ev_projection_wants_type(p, "MoneyDeposited", 14));
	assert_false(ev_projection_wants_type(p, "Other", 5));
	apply_ok(p, DEP("b", 10), 0);
	apply_ok(p, DEP("a", 5), 1);
	apply_ok(p, WDR("b", 3), 2);
	apply_ok(p, "{\"type\":\"Other\",\"stream\":\"c\"}", 3);
	apply_ok(p, DEP("a", 7), 4);
	assert_int_equal(ev_projection_count(p), 2);
	assert_states(p, "\"a\"={\"balance\":12}\n\"b\"={\"balance\":7}\n");
	s = get(p, "b");
	assert_string_equal(s, "{\"balance\":7}");
	free(s);
	s = get(p, "c");
	assert_string_equal(s, "(none)");
	free(s);
	assert_string_equal(ev_projection_describe(p), "-p p.lua");
	ev_projection_free(p);
	ev_projection_free(NULL);
}

/* a handler may return a new state; nil keeps it; any runs after on,
 * on the state on left */
static void test_new_state_and_any(void **state)
{
	struct ev_projection *p;

	(void)state;
	p = load("return {\n"
		 "  on = { A = function(s, e) return { n = (s.n or 0) + 10 } "
		 "end,\n"
		 "         B = function(s, e) s.b = true end },\n"
		 "  any = function(s, e) s.count = (s.count or 0) + 1;"
		 " s.last = e.type end,\n"
		 "}\n",
		 "x");
	apply_ok(p, "{\"type\":\"A\",\"stream\":\"s\"}", 0);
	apply_ok(p, "{\"type\":\"A\",\"stream\":\"s\"}", 1);
	apply_ok(p, "{\"type\":\"B\",\"stream\":\"s\"}", 2);
	apply_ok(p, "{\"type\":\"C\",\"stream\":\"t\"}", 3);
	/* the second A's new state has no count: any starts it again */
	assert_states(p, "\"s\"={\"b\":true,\"count\":2,\"last\":\"B\","
			 "\"n\":20}\n"
			 "\"t\"={\"count\":1,\"last\":\"C\"}\n");
	ev_projection_free(p);
}

/* a state may keep an event whole: it is saved as an object of its
 * fields */
static void test_keep_event(void **state)
{
	struct ev_projection *p;

	(void)state;
	p = load("return { any = function(s, e) s.last = e end }\n", NULL);
	apply_ok(p,
		 "{\"type\":\"A\",\"stream\":\"s\",\"id\":\"i1\","
		 "\"time\":\"2024-01-02T03:04:05Z\",\"data\":{\"b\":1,"
		 "\"a\":[2]},\"meta\":{\"m\":true}}",
		 9);
	assert_states(p, "\"s\"={\"last\":{\"data\":{\"b\":1,\"a\":[2]},"
			 "\"id\":\"i1\",\"meta\":{\"m\":true},\"offset\":9,"
			 "\"schema\":1,\"stream\":\"s\",\"time\":"
			 "\"2024-01-02T03:04:05.000Z\",\"type\":\"A\"}}\n");
	ev_projection_free(p);
}

static void test_sandbox(void **state)
{
	struct ev_projection *p;

	(void)state;
	p = load("return { any = function(s, e)\n"
		 "  s.os = type(os); s.io = type(io); s.require = "
		 "type(require)\n"
		 "  s.load = type(load); s.dofile = type(dofile);"
		 " s.loadfile = type(loadfile)\n"
		 "  s.package = type(package); s.debug = type(debug)\n"
		 "  s.dump = type(string.dump); s.string = type(string)\n"
		 "end }\n",
		 NULL);
	apply_ok(p, "{\"type\":\"A\",\"stream\":\"s\"}", 0);
	assert_states(p, "\"s\"={\"debug\":\"nil\",\"dofile\":\"nil\","
			 "\"dump\":\"nil\",\"io\":\"nil\",\"load\":\"nil\","
			 "\"loadfile\":\"nil\",\"os\":\"nil\",\"package\":"
			 "\"nil\",\"require\":\"nil\",\"string\":\"table\"}\n");
	ev_projection_free(p);
	/* using one is an error with its line */
	p = load("return { any = function(s, e)\n"
		 "  os.execute('touch pwned')\n"
		 "end }\n",
		 NULL);
	assert_int_equal(apply(p, "{\"type\":\"A\",\"stream\":\"s\"}", 4),
			 EV_EDATA);
	assert_string_equal(msgbuf,
			    "offset 4: A: partition \"s\": p.lua:2: attempt to "
			    "index a nil value (global 'os')");
	assert_int_equal(access("pwned", F_OK), -1);
	ev_projection_free(p);
	/* and at load time */
	{
		int code;
		const char *m =
			load_fails("io.open('x', 'w')\nreturn {}\n", &code);
		assert_int_equal(code, EV_EUSAGE);
		assert_string_equal(m, "p.lua:1: attempt to index a nil value "
				       "(global 'io')");
	}
}

static void test_load_errors(void **state)
{
	struct ev_projection *p = NULL;
	struct ev_error err;
	int code;

	(void)state;
	assert_string_equal(load_fails("return {\n on = {\n", &code),
			    "p.lua:3: unexpected symbol near <eof>");
	assert_int_equal(code, EV_EUSAGE);
	assert_string_equal(load_fails("local x = 1\n", &code),
			    "p.lua: returns nothing, not a table");
	assert_int_equal(code, EV_EUSAGE);
	assert_string_equal(load_fails("return function() end\n", &code),
			    "p.lua: returns a function value, not a table");
	assert_string_equal(
		load_fails("return { init = function() return "
			   "{} end }\n",
			   &code),
		"p.lua: the projection has no handlers (on or any)");
	assert_int_equal(code, EV_EUSAGE);
	assert_string_equal(
		load_fails("return { on = {} }\n", &code),
		"p.lua: the projection has no handlers (on or any)");
	assert_string_equal(load_fails("return { on = { A = 3 } }\n", &code),
			    "p.lua: on.A is a number value, not a function");
	assert_int_equal(code, EV_EUSAGE);
	assert_string_equal(load_fails("return { on = 3 }\n", &code),
			    "p.lua: on is a number value, not a table of "
			    "handlers");
	assert_string_equal(load_fails("return { any = function() end, "
				       "partition_by = 'stream' }\n",
				       &code),
			    "p.lua: partition_by is a string value, not a "
			    "function");
	assert_string_equal(load_fails("return { any = function() end,\n"
				       "  init = {} }\n",
				       &code),
			    "p.lua: init is a table value, not a function");
	assert_string_equal(load_fails("error('nope')\n", &code),
			    "p.lua:1: nope");
	/* no such file */
	assert_int_equal(ev_projection_load(&p, "missing.lua", NULL, &err),
			 EV_ENOENT);
	assert_null(p);
	assert_non_null(strstr(err.msg, "cannot open 'missing.lua'"));
	/* bytecode is refused */
	put("b.lua", "\033Lua");
	assert_int_equal(ev_projection_load(&p, "b.lua", NULL, &err),
			 EV_EUSAGE);
	assert_non_null(strstr(err.msg, "b.lua:1: attempt to load a binary "
					"chunk"));
}

static void test_handler_errors(void **state)
{
	const struct ev_projection_failure *f;
	struct ev_projection *p;

	(void)state;
	p = load("return {\n"
		 "  init = function() return { n = 0 } end,\n"
		 "  on = {\n"
		 "    Bad = function(s, e) s.n = s.n + e.data.missing end,\n"
		 "    Num = function(s, e)\n"
		 "      return s.n + 1\n"
		 "    end,\n"
		 "    Str = function(s, e) return 'x' end,\n"
		 "    Err = function(s, e) error({}) end,\n"
		 "    Loop = function(s, e) while true do end end,\n"
		 "  },\n"
		 "}\n",
		 NULL);
	assert_int_equal(apply(p,
			       "{\"type\":\"Bad\",\"stream\":\"acc-1\","
			       "\"data\":{}}",
			       17),
			 EV_EDATA);
	assert_string_equal(msgbuf, "offset 17: Bad: partition \"acc-1\": "
				    "p.lua:4: attempt to perform arithmetic "
				    "on a nil value (field 'missing')");
	f = ev_projection_last_failure(p);
	assert_int_equal(f->offset, 17);
	assert_string_equal(f->type, "Bad");
	assert_string_equal(f->partition, "\"acc-1\"");
	assert_string_equal(f->where, "p.lua:4");
	assert_string_equal(f->why, "attempt to perform arithmetic on a nil "
				    "value (field 'missing')");
	/* wrong return types name the handler's line */
	assert_int_equal(apply(p, "{\"type\":\"Num\",\"stream\":\"a\"}", 18),
			 EV_EDATA);
	assert_string_equal(msgbuf, "offset 18: Num: partition \"a\": "
				    "p.lua:5: on.Num returned a number value, "
				    "not a table (the state) or nil");
	assert_int_equal(apply(p, "{\"type\":\"Str\",\"stream\":\"a\"}", 19),
			 EV_EDATA);
	assert_string_equal(msgbuf, "offset 19: Str: partition \"a\": "
				    "p.lua:8: on.Str returned a string value, "
				    "not a table (the state) or nil");
	assert_int_equal(apply(p, "{\"type\":\"Err\"}", 20), EV_EDATA);
	assert_string_equal(msgbuf, "offset 20: Err: partition null: p.lua: "
				    "(error object is a table value)");
	assert_int_equal(apply(p, "{\"type\":\"Loop\",\"stream\":\"a\"}", 21),
			 EV_EDATA);
	assert_string_equal(msgbuf, "offset 21: Loop: partition \"a\": p.lua: "
				    "the handler ran for more than 100000000 "
				    "instructions");
	/* none of them left a partition */
	assert_int_equal(ev_projection_count(p), 0);
	ev_projection_free(p);

	/* init, partition_by and any */
	p = load("return {\n"
		 "  init = function() return 0 end,\n"
		 "  any = function(s, e) end,\n"
		 "}\n",
		 NULL);
	assert_int_equal(apply(p, "{\"type\":\"A\",\"stream\":\"a\"}", 1),
			 EV_EDATA);
	assert_string_equal(msgbuf, "offset 1: A: partition \"a\": p.lua:2: "
				    "init returned a number value, not a table "
				    "(the state)");
	ev_projection_free(p);
	p = load("return {\n"
		 "  partition_by = function(e)\n"
		 "    if e.type == 'T' then return {} end\n"
		 "    if e.type == 'N' then return 0/0 end\n"
		 "    return e.data.x.y\n"
		 "  end,\n"
		 "  any = function(s, e) return 5 end,\n"
		 "}\n",
		 NULL);
	assert_int_equal(apply(p, "{\"type\":\"T\"}", 1), EV_EDATA);
	assert_string_equal(msgbuf, "offset 1: T: p.lua:2: partition_by "
				    "returned a table value, not a string, a "
				    "number, a boolean or evlog.null");
	assert_null(ev_projection_last_failure(p)->partition);
	assert_int_equal(apply(p, "{\"type\":\"N\"}", 2), EV_EDATA);
	assert_string_equal(msgbuf, "offset 2: N: p.lua:2: partition_by "
				    "returned a number that is not finite");
	assert_int_equal(apply(p, "{\"type\":\"X\",\"data\":{}}", 3), EV_EDATA);
	assert_string_equal(msgbuf, "offset 3: X: p.lua:5: attempt to index "
				    "a nil value (field 'x')");
	assert_int_equal(apply(p,
			       "{\"type\":\"X\",\"data\":{\"x\":{\"y\":"
			       "1.5}}}",
			       4),
			 EV_EDATA);
	assert_string_equal(msgbuf, "offset 4: X: partition 1.5: p.lua:7: any "
				    "returned a number value, not a table (the "
				    "state) or nil");
	ev_projection_free(p);
}

/* A failed handler leaves the state as it was (atomic), or spoils the
 * projection so that it is not saved. */
static void test_atomic(void **state)
{
	static const char def[] =
		"return {\n"
		"  init = function() return { n = 0, items = {} } end,\n"
		"  on = {\n"
		"    Add = function(s, e) s.n = s.n + 1; s.items[#s.items + 1]"
		" = e.data.v end,\n"
		"    Half = function(s, e) s.n = 99; s.items[1] = 'gone';"
		" emit{type = 'X'}; error('half way') end,\n"
		"  },\n"
		"}\n";
	struct ev_projection *p;
	struct ev_buf b = {0};
	struct ev_error err;

	(void)state;
	p = load(def, NULL);
	ev_projection_set_atomic(p, 1);
	apply_ok(p, "{\"type\":\"Add\",\"stream\":\"s\",\"data\":{\"v\":1}}",
		 0);
	assert_int_equal(apply(p, "{\"type\":\"Half\",\"stream\":\"s\"}", 1),
			 EV_EDATA);
	assert_string_equal(msgbuf, "offset 1: Half: partition \"s\": p.lua:5: "
				    "half way");
	assert_int_equal(ev_projection_emitted_count(p), 0);
	/* a new partition that fails is not made */
	assert_int_equal(apply(p, "{\"type\":\"Half\",\"stream\":\"t\"}", 2),
			 EV_EDATA);
	apply_ok(p, "{\"type\":\"Add\",\"stream\":\"s\",\"data\":{\"v\":2}}",
		 3);
	assert_states(p, "\"s\"={\"items\":[1,2],\"n\":2}\n");
	assert_int_equal(ev_projection_save(p, &b, &err), 0);
	ev_projection_free(p);

	/* not atomic: the state is what the handler left, and it is not
	 * saved */
	p = load(def, NULL);
	apply_ok(p, "{\"type\":\"Add\",\"stream\":\"s\",\"data\":{\"v\":1}}",
		 0);
	/* a failure in a new partition spoils nothing */
	assert_int_equal(apply(p, "{\"type\":\"Half\",\"stream\":\"t\"}", 1),
			 EV_EDATA);
	b.len = 0;
	assert_int_equal(ev_projection_save(p, &b, &err), 0);
	assert_int_equal(apply(p, "{\"type\":\"Half\",\"stream\":\"s\"}", 2),
			 EV_EDATA);
	b.len = 0;
	assert_int_equal(ev_projection_save(p, &b, &err), EV_EUSAGE);
	assert_string_equal(err.msg, "p.lua: a handler failed and may have "
				     "left a state half changed: it is not "
				     "saved");
	assert_int_equal(b.len, 0);
	ev_buf_free(&b);
	ev_projection_free(p);
}

/* partition_by returning nil skips; an event without a handler makes
 * no partition; the default partition is the stream (null without) */
static void test_partitions(void **state)
{
	struct ev_projection *p;
	struct ev_error err;
	char *s;

	(void)state;
	p = load("return {\n"
		 "  partition_by = function(e) return e.data.k end,\n"
		 "  any = function(s, e) s.n = (s.n or 0) + 1 end,\n"
		 "}\n",
		 NULL);
	apply_ok(p, "{\"type\":\"A\",\"data\":{\"k\":\"x\"}}", 0);
	apply_ok(p, "{\"type\":\"A\",\"data\":{}}", 1);
	apply_ok(p, "{\"type\":\"A\",\"data\":{\"k\":null}}", 2);
	apply_ok(p, "{\"type\":\"A\",\"data\":{\"k\":\"x\"}}", 3);
	assert_states(p, "null={\"n\":1}\n\"x\"={\"n\":2}\n");
	assert_int_equal(ev_projection_set_global(p, 1, &err), EV_EUSAGE);
	assert_string_equal(err.msg, "p.lua: the projection has partition_by, "
				     "so it has no global state");
	ev_projection_free(p);

	p = load("return { on = { A = function(s, e) s.n = (s.n or 0) + 1 "
		 "end } }\n",
		 NULL);
	apply_ok(p, "{\"type\":\"A\",\"stream\":\"s1\"}", 0);
	apply_ok(p, "{\"type\":\"B\",\"stream\":\"s2\"}", 1);
	apply_ok(p, "{\"type\":\"A\"}", 2);
	apply_ok(p, "{\"type\":\"A\",\"stream\":\"s1\"}", 3);
	assert_states(p, "null={\"n\":1}\n\"s1\"={\"n\":2}\n");
	s = get(p, "null");
	assert_string_equal(s, "{\"n\":1}");
	free(s);
	ev_projection_free(p);
}

static void test_global(void **state)
{
	struct ev_projection *p;
	struct ev_error err;
	uint64_t h;

	(void)state;
	p = load("return {\n"
		 "  init = function() return { balance = 0 } end,\n"
		 "  on = {\n"
		 "    MoneyDeposited = function(s, e) s.balance = s.balance + "
		 "e.data.amount end,\n"
		 "    MoneyWithdrawn = function(s, e) s.balance = s.balance - "
		 "e.data.amount end,\n"
		 "  },\n"
		 "}\n",
		 NULL);
	h = ev_projection_hash(p);
	assert_int_equal(ev_projection_set_global(p, 1, &err), 0);
	assert_true(ev_projection_hash(p) != h);
	assert_string_equal(ev_projection_describe(p), "-p p.lua --global");
	apply_ok(p, DEP("a", 10), 0);
	apply_ok(p, DEP("b", 5), 1);
	apply_ok(p, WDR("a", 1), 2);
	assert_states(p, "null={\"balance\":14}\n");
	assert_int_equal(ev_projection_set_global(p, 0, &err), 0);
	assert_true(ev_projection_hash(p) == h);
	ev_projection_free(p);
}

/* Emitted events as JSON lines (no offsets). */
static char *emitted(struct ev_projection *p)
{
	struct ev_buf b = {0};
	struct ev_error err;
	const uint8_t *rec;
	struct ev_event ev;
	ev_time_t t;
	size_t i, n;

	for (i = 0; i < ev_projection_emitted_count(p); i++) {
		ev_projection_emitted(p, i, &rec, &n, &t);
		if (ev_event_decode(rec, n, &ev, &err) != 0 ||
		    ev_event_check_deep(&ev, &err) != 0)
			fail_msg("emitted record: %s", err.msg);
		assert_true(t == ev.time);
		if (ev_event_to_json(&ev, &b, EV_JSON_NO_OFFSET, &err) != 0)
			fail_msg("emitted record: %s", err.msg);
		ev_buf_putc(&b, '\n');
	}
	ev_buf_putc(&b, '\0');
	return (char *)b.p;
}

static const char saga[] =
	"return {\n"
	"  on = {\n"
	"    OrderPlaced = function(s, e)\n"
	"      s.state = 'reserving'\n"
	"      emit{type = 'inventory.reserve', stream = 'inventory-' .. "
	"e.data.order,\n"
	"           data = {order = e.data.order, items = e.data.items}}\n"
	"      emit{type = 'audit', key = 'k1', meta = {userId = 'u',"
	" causationId = 'mine'}, data = e.data}\n"
	"      emit{type = 'audit', meta = {correlationId = 'c9'},"
	" time = '2024-05-06T07:08:09Z'}\n"
	"    end,\n"
	"    Bad = function(s, e) emit{type = 'x', strem = 's'} end,\n"
	"    NoType = function(s, e) emit{data = 1} end,\n"
	"    NotStr = function(s, e) emit{type = 7} end,\n"
	"    Fn = function(s, e) emit{type = 'x', data = {f = type}} end,\n"
	"    Ctl = function(s, e) emit{type = 'a\\nb'} end,\n"
	"  },\n"
	"  result = function(s) emit{type = 'x'} end,\n"
	"}\n";

static void test_emit(void **state)
{
	struct ev_projection *p, *q;
	struct ev_buf b = {0};
	struct ev_error err;
	const char *src = "{\"type\":\"OrderPlaced\",\"stream\":\"order-1\","
			  "\"id\":\"src-1\",\"time\":\"2024-01-02T03:04:05Z\","
			  "\"data\":{\"order\":\"o1\",\"items\":[1,2]},"
			  "\"meta\":{\"correlationId\":\"corr-7\"}}";
	char *a, *c;

	(void)state;
	p = load(saga, "saga");
	apply_ok(p, src, 5);
	assert_int_equal(ev_projection_emitted_count(p), 3);
	a = emitted(p);
	assert_string_equal(
		a,
		/* a table of the handler's: keys sorted */
		"{\"id\":\"7ba6edce-f7ae-8e75-9070-0829323dc089\",\"type\":"
		"\"inventory.reserve\",\"stream\":\"inventory-o1\",\"time\":"
		"\"2024-01-02T03:04:05.000Z\",\"schema\":1,\"data\":{\"items\":"
		"[1,2],\"order\":\"o1\"},\"meta\":{\"causationId\":\"src-1\","
		"\"correlationId\":\"corr-7\"}}\n"
		/* e.data as it came; its own causationId replaced */
		"{\"id\":\"1b7f3352-fc35-8543-8883-4e00f2bb06d1\",\"type\":"
		"\"audit\",\"time\":\"2024-01-02T03:04:05.000Z\",\"schema\":1,"
		"\"key\":\"k1\",\"data\":{\"order\":\"o1\",\"items\":[1,2]},"
		"\"meta\":{\"userId\":\"u\",\"causationId\":\"src-1\","
		"\"correlationId\":\"corr-7\"}}\n"
		/* its own correlationId and time kept */
		"{\"id\":\"d72696ef-1869-8763-8927-039c0261c051\",\"type\":"
		"\"audit\",\"time\":\"2024-05-06T07:08:09.000Z\",\"schema\":1,"
		"\"meta\":{\"correlationId\":\"c9\",\"causationId\":"
		"\"src-1\"}}\n");
	/* the same source and name: the same records */
	q = load(saga, "saga");
	apply_ok(q, src, 99);
	c = emitted(q);
	assert_string_equal(a, c);
	free(c);
	ev_projection_free(q);
	/* another name, or another source: other ids */
	q = load(saga, NULL);
	apply_ok(q, src, 5);
	c = emitted(q);
	assert_string_not_equal(a, c);
	assert_null(strstr(c, "7ba6edce"));
	free(c);
	apply_ok(q,
		 "{\"type\":\"OrderPlaced\",\"id\":\"src-2\","
		 "\"data\":{\"order\":\"o1\"}}",
		 6);
	c = emitted(q);
	assert_null(strstr(c, "7ba6edce"));
	/* without a correlationId in the source, the source's id */
	assert_non_null(strstr(c, "\"meta\":{\"causationId\":\"src-2\","
				  "\"correlationId\":\"src-2\"}"));
	free(c);
	ev_projection_free(q);
	free(a);
	/* an apply that emits nothing has no emits of the last */
	apply_ok(p, "{\"type\":\"Other\"}", 7);
	assert_int_equal(ev_projection_emitted_count(p), 0);

	/* bad emits, and emits of a failed apply are dropped */
	assert_int_equal(apply(p, "{\"type\":\"Bad\",\"id\":\"b\"}", 8),
			 EV_EDATA);
	assert_string_equal(msgbuf, "offset 8: Bad: partition null: p.lua:10: "
				    "emit: the event has a field 'strem' that "
				    "no emitted event has (type, stream, key, "
				    "data, meta, time)");
	assert_int_equal(ev_projection_emitted_count(p), 0);
	assert_int_equal(apply(p, "{\"type\":\"NoType\"}", 9), EV_EDATA);
	assert_string_equal(msgbuf, "offset 9: NoType: partition null: "
				    "p.lua:11: emit: the event has no type");
	assert_int_equal(apply(p, "{\"type\":\"NotStr\"}", 10), EV_EDATA);
	assert_string_equal(msgbuf, "offset 10: NotStr: partition null: "
				    "p.lua:12: emit: type is a number value, "
				    "not a string");
	assert_int_equal(apply(p, "{\"type\":\"Fn\"}", 11), EV_EDATA);
	assert_string_equal(msgbuf, "offset 11: Fn: partition null: p.lua:13: "
				    "emit: data: a function value has no JSON "
				    "form");
	assert_int_equal(apply(p, "{\"type\":\"Ctl\"}", 12), EV_EDATA);
	assert_string_equal(msgbuf, "offset 12: Ctl: partition null: "
				    "p.lua:14: emit: field 'type' contains a "
				    "control character");
	/* result may not emit */
	assert_int_equal(ev_projection_each(p, line_fn, &b, &err), EV_EDATA);
	assert_string_equal(err.msg, "partition \"order-1\": p.lua:16: emit: "
				     "only the handlers of an event may emit");
	ev_buf_free(&b);
	ev_projection_free(p);
}

/* ids are UUIDs of version 8 */
static void test_emit_id_form(void **state)
{
	struct ev_projection *p;
	const uint8_t *rec;
	struct ev_event ev;
	struct ev_error err;
	size_t n;
	int i;

	(void)state;
	p = load(
		"return { any = function(s, e)\n"
		"  if e.type == 'M' then emit{type = 'x', meta = {}} return end\n"
		"  if e.type == 'L' then emit{type = 'x', meta = {1}} return end\n"
		"  for i = 1, 20 do emit{type = 'x'} end\n"
		"end }\n",
		"n");
	apply_ok(p, "{\"type\":\"M\",\"id\":\"s\"}", 0);
	assert_int_equal(ev_projection_emitted_count(p), 1);
	assert_int_equal(apply(p, "{\"type\":\"L\",\"id\":\"s\"}", 1),
			 EV_EDATA);
	assert_string_equal(msgbuf, "offset 1: L: partition null: p.lua:3: "
				    "emit: meta is not an object");
	apply_ok(p, "{\"type\":\"A\",\"id\":\"s\"}", 0);
	assert_int_equal(ev_projection_emitted_count(p), 20);
	for (i = 0; i < 20; i++) {
		ev_projection_emitted(p, (size_t)i, &rec, &n, NULL);
		assert_int_equal(ev_event_decode(rec, n, &ev, &err), 0);
		assert_int_equal(ev.id.n, 36);
		assert_true(ev.id.p[8] == '-' && ev.id.p[13] == '-' &&
			    ev.id.p[18] == '-' && ev.id.p[23] == '-');
		assert_true(ev.id.p[14] == '8');
		assert_non_null(strchr("89ab", ev.id.p[19]));
	}
	ev_projection_free(p);
}

/* Emitted records go into a log as evpub's do: numbered in their
 * streams, and a second append of the same ones is a duplicate. */
static void test_emit_to_log(void **state)
{
	struct ev_projection *p;
	struct ev_log_config cfg;
	struct ev_writer_opts wo;
	struct ev_writer *w;
	struct ev_reader *rd;
	struct ev_log *log;
	struct ev_rec rec;
	struct ev_event ev;
	struct ev_error err;
	const uint8_t *r;
	size_t n, i;
	ev_time_t t;
	int round, count = 0;

	(void)state;
	p = load("return { any = function(s, e)\n"
		 "  emit{type = 'cmd', stream = 'c-1', data = e.data}\n"
		 "  emit{type = 'cmd', stream = 'c-1'}\n"
		 "end }\n",
		 "saga");
	ev_log_config_init(&cfg);
	cfg.sync = EV_SYNC_NONE;
	assert_int_equal(ev_log_create("L", &cfg, &err), 0);
	assert_int_equal(ev_log_open(&log, "L", &err), 0);
	apply_ok(p, "{\"type\":\"A\",\"id\":\"a1\",\"data\":{\"x\":1}}", 0);
	for (round = 0; round < 2; round++) {
		memset(&wo, 0, sizeof(wo));
		wo.unlinked = 1;
		assert_int_equal(ev_writer_open(&w, log, &wo, &err), 0);
		for (i = 0; i < ev_projection_emitted_count(p); i++) {
			ev_projection_emitted(p, i, &r, &n, &t);
			if (ev_writer_add(w, r, n, t, &err) != 0)
				fail_msg("add: %s", err.msg);
		}
		if (ev_writer_close(w, &err) != 0)
			fail_msg("close: %s", err.msg);
	}
	assert_int_equal(ev_reader_open(&rd, log, &err), 0);
	while (ev_reader_next(rd, &rec, &err) == 1) {
		assert_int_equal(ev_event_decode(rec.p, rec.n, &ev, &err), 0);
		assert_int_equal(ev.version, (uint64_t)count + 1);
		count++;
	}
	assert_int_equal(count, 2);
	ev_reader_free(rd);
	ev_log_close(log);
	ev_projection_free(p);
}

/* a database of one table, kept as the calls it gets */
struct fakedb {
	struct ev_buf calls;
	int fail;
};

static int fake_sql(void *ctx, const char *sql, const uint8_t *params,
		    size_t pn, int (*row)(void *, const uint8_t *, size_t),
		    void *rctx, struct ev_error *err)
{
	struct fakedb *db = ctx;
	struct ev_buf m = {0};
	struct ev_json js;
	static const char *const rows[] = {
		"{\"id\":1,\"name\":\"a\"}",
		"{\"id\":2,\"name\":null}",
	};
	size_t i;
	int r;

	if (db->fail)
		return ev_seterr(err, EV_EDATA, "SQL: no such table: t");
	ev_buf_printf(&db->calls, "%s %s ", row ? "rows" : "exec", sql);
	if (ev_msgpack_to_json(params, pn, &db->calls, err) != 0)
		fail_msg("params: %s", err->msg);
	ev_buf_putc(&db->calls, '\n');
	for (i = 0; row != NULL && i < 2; i++) {
		m.len = 0;
		ev_json_init(&js, rows[i], strlen(rows[i]));
		assert_int_equal(ev_json_value(&js, &m), 0);
		if ((r = row(rctx, m.p, m.len)) != 0)
			return r;
	}
	ev_buf_free(&m);
	return 0;
}

static void test_db(void **state)
{
	struct ev_projection *p;
	struct fakedb db;
	struct ev_error err;

	(void)state;
	memset(&db, 0, sizeof(db));
	p = load("return { on = {\n"
		 "  A = function(s, e, db)\n"
		 "    db:exec('insert into t values (?, ?)', e.data.x, "
		 "{1, 2})\n"
		 "    local rows = db:rows('select * from t')\n"
		 "    s.n = #rows; s.first = rows[1].name; s.second = "
		 "rows[2].name\n"
		 "  end,\n"
		 "  B = function(s, e, db) db.exec('x') end,\n"
		 "  C = function(s, e, db) db:exec(5) end,\n"
		 "},\n"
		 "result = function(s) db:exec('x') end }\n",
		 NULL);
	/* no db: no third argument */
	assert_int_equal(apply(p, "{\"type\":\"A\",\"data\":{\"x\":7}}", 0),
			 EV_EDATA);
	assert_string_equal(msgbuf,
			    "offset 0: A: partition null: p.lua:3: "
			    "attempt to index a nil value (local 'db')");
	assert_int_equal(ev_projection_set_sql(p, fake_sql, &db, &err), 0);
	apply_ok(p, "{\"type\":\"A\",\"stream\":\"s\",\"data\":{\"x\":7}}", 1);
	ev_buf_putc(&db.calls, '\0');
	assert_string_equal((char *)db.calls.p,
			    "exec insert into t values (?, ?) [7,[1,2]]\n"
			    "rows select * from t []\n");
	assert_int_equal(apply(p, "{\"type\":\"B\",\"stream\":\"s\"}", 2),
			 EV_EDATA);
	assert_string_equal(msgbuf, "offset 2: B: partition \"s\": p.lua:7: "
				    "db:exec: call it as db:exec(sql, ...)");
	assert_int_equal(apply(p, "{\"type\":\"C\",\"stream\":\"s\"}", 3),
			 EV_EDATA);
	assert_string_equal(msgbuf, "offset 3: C: partition \"s\": p.lua:8: "
				    "db:exec: the SQL is a number value, not a "
				    "string");
	db.fail = 1;
	assert_int_equal(apply(p,
			       "{\"type\":\"A\",\"stream\":\"t\","
			       "\"data\":{\"x\":7}}",
			       4),
			 EV_EDATA);
	assert_string_equal(msgbuf, "offset 4: A: partition \"t\": p.lua:3: "
				    "SQL: no such table: t");
	/* result has no db: the global is nil */
	db.calls.len = 0;
	assert_int_equal(ev_projection_each(p, line_fn, &db.calls, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "partition \"s\": p.lua:10: attempt to "
				     "index a nil value (global 'db')");
	ev_projection_free(p);
	p = load("return { any = function(s, e, db) s.db = db == nil end }\n",
		 NULL);
	apply_ok(p, "{\"type\":\"A\"}", 0);
	assert_states(p, "null={\"db\":true}\n");
	ev_projection_free(p);
	ev_buf_free(&db.calls);
}

static const char counter[] =
	"return {\n"
	"  partition_by = function(e) return e.data.k end,\n"
	"  init = function() return { n = 0, sum = 0, list = evlog.array({}) } "
	"end,\n"
	"  any = function(s, e)\n"
	"    s.n = s.n + 1\n"
	"    s.sum = s.sum + e.data.v\n"
	"    s.last = e.data\n"
	"    if #s.list < 3 then s.list[#s.list + 1] = e.data.v end\n"
	"  end,\n"
	"}\n";

static const char *const mixed[] = {
	"{\"type\":\"A\",\"data\":{\"k\":\"b\",\"v\":1}}",
	"{\"type\":\"A\",\"data\":{\"k\":10,\"v\":9007199254740993}}",
	"{\"type\":\"A\",\"data\":{\"k\":\"10\",\"v\":-2}}",
	"{\"type\":\"A\",\"data\":{\"k\":2,\"v\":1.5}}",
	"{\"type\":\"A\",\"data\":{\"k\":true,\"v\":1}}",
	"{\"type\":\"A\",\"data\":{\"k\":null,\"v\":1}}",
	"{\"type\":\"A\",\"data\":{\"k\":false,\"v\":1}}",
	"{\"type\":\"A\",\"data\":{\"k\":-3,\"v\":1}}",
	"{\"type\":\"A\",\"data\":{\"k\":2.5,\"v\":1}}",
	"{\"type\":\"A\",\"data\":{\"k\":\"9\",\"v\":1}}",
	"{\"type\":\"A\",\"data\":{\"k\":\"a\",\"v\":1}}",
	"{\"type\":\"A\",\"data\":{\"k\":10,\"v\":1000}}",
	"{\"type\":\"A\",\"data\":{\"k\":\"b\",\"v\":2,\"z\":{\"y\":1,"
	"\"x\":[]}}}",
	"{\"type\":\"A\",\"data\":{\"k\":\"b\",\"v\":3}}",
	"{\"type\":\"A\",\"data\":{\"k\":\"b\",\"v\":4}}",
	"{\"type\":\"A\",\"data\":{\"k\":-9223372036854775808,"
	"\"v\":-9223372036854775807}}",
};
#define NMIXED (sizeof(mixed) / sizeof(mixed[0]))

/* keys in order as JSON values; 64-bit integers exact */
static void test_keys_and_numbers(void **state)
{
	struct ev_projection *p;
	size_t i;
	char *s;

	(void)state;
	p = load(counter, NULL);
	for (i = 0; i < NMIXED; i++)
		apply_ok(p, mixed[i], i);
	assert_int_equal(ev_projection_count(p), 12);
	assert_states(
		p,
		"null={\"last\":{\"k\":null,\"v\":1},\"list\":[1],\"n\":1,"
		"\"sum\":1}\n"
		"false={\"last\":{\"k\":false,\"v\":1},\"list\":[1],\"n\":1,"
		"\"sum\":1}\n"
		"true={\"last\":{\"k\":true,\"v\":1},\"list\":[1],\"n\":1,"
		"\"sum\":1}\n"
		"-9223372036854775808={\"last\":{\"k\":-9223372036854775808,"
		"\"v\":-9223372036854775807},\"list\":[-9223372036854775807],"
		"\"n\":1,\"sum\":-9223372036854775807}\n"
		"-3={\"last\":{\"k\":-3,\"v\":1},\"list\":[1],\"n\":1,"
		"\"sum\":1}\n"
		"2={\"last\":{\"k\":2,\"v\":1.5},\"list\":[1.5],\"n\":1,"
		"\"sum\":1.5}\n"
		"2.5={\"last\":{\"k\":2.5,\"v\":1},\"list\":[1],\"n\":1,"
		"\"sum\":1}\n"
		"10={\"last\":{\"k\":10,\"v\":1000},\"list\":"
		"[9007199254740993,1000],\"n\":2,\"sum\":9007199254741993}\n"
		"\"10\"={\"last\":{\"k\":\"10\",\"v\":-2},\"list\":[-2],"
		"\"n\":1,\"sum\":-2}\n"
		"\"9\"={\"last\":{\"k\":\"9\",\"v\":1},\"list\":[1],\"n\":1,"
		"\"sum\":1}\n"
		"\"a\"={\"last\":{\"k\":\"a\",\"v\":1},\"list\":[1],\"n\":1,"
		"\"sum\":1}\n"
		"\"b\"={\"last\":{\"k\":\"b\",\"v\":4},\"list\":[1,2,3],"
		"\"n\":4,\"sum\":10}\n");
	/* a string key first, then a JSON scalar */
	s = get(p, "10");
	assert_non_null(strstr(s, "\"k\":\"10\""));
	free(s);
	s = get(p, "2.5");
	assert_non_null(strstr(s, "\"k\":2.5"));
	free(s);
	s = get(p, "true");
	assert_non_null(strstr(s, "\"k\":true"));
	free(s);
	s = get(p, "2.5x");
	assert_string_equal(s, "(none)");
	free(s);
	ev_projection_free(p);
}

static void test_result(void **state)
{
	struct ev_projection *p;
	struct ev_buf b = {0};
	struct ev_error err;
	char *s;

	(void)state;
	p = load("return {\n"
		 "  on = { A = function(s, e) s.n = (s.n or 0) + 1 end },\n"
		 "  result = function(s)\n"
		 "    if s.n > 1 then return { count = s.n } end\n"
		 "    return s.missing.x\n"
		 "  end,\n"
		 "}\n",
		 NULL);
	apply_ok(p, "{\"type\":\"A\",\"stream\":\"a\"}", 0);
	apply_ok(p, "{\"type\":\"A\",\"stream\":\"a\"}", 1);
	assert_states(p, "\"a\"={\"count\":2}\n");
	s = get(p, "a");
	assert_string_equal(s, "{\"count\":2}");
	free(s);
	/* saved as it is */
	assert_int_equal(ev_projection_save(p, &b, &err), 0);
	s = NULL;
	{
		struct ev_buf j = {0};
		assert_int_equal(ev_msgpack_to_json(b.p, b.len, &j, &err), 0);
		ev_buf_putc(&j, '\0');
		assert_string_equal((char *)j.p, "[1,[[\"a\",{\"n\":2}]]]");
		ev_buf_free(&j);
	}
	apply_ok(p, "{\"type\":\"A\",\"stream\":\"b\"}", 2);
	b.len = 0;
	assert_int_equal(ev_projection_each(p, line_fn, &b, &err), EV_EDATA);
	assert_string_equal(err.msg, "partition \"b\": p.lua:5: attempt to "
				     "index a nil value (field 'missing')");
	ev_buf_free(&b);
	ev_projection_free(p);
}

/* apply half, save, restore into a fresh projection, apply the rest:
 * the same as one run */
static void test_save_restore(void **state)
{
	struct ev_projection *one, *a, *b;
	struct ev_buf blob = {0}, blob2 = {0};
	struct ev_error err;
	char *s1, *s2;
	size_t i;

	(void)state;
	one = load(counter, NULL);
	for (i = 0; i < NMIXED; i++)
		apply_ok(one, mixed[i], i);
	a = load(counter, NULL);
	for (i = 0; i < NMIXED / 2; i++)
		apply_ok(a, mixed[i], i);
	assert_int_equal(ev_projection_save(a, &blob, &err), 0);
	ev_projection_free(a);
	b = load(counter, NULL);
	apply_ok(b, mixed[0], 0); /* replaced by the restore */
	if (ev_projection_restore(b, blob.p, blob.len, &err) != 0)
		fail_msg("restore: %s", err.msg);
	assert_int_equal(ev_projection_count(b), 8);
	for (i = NMIXED / 2; i < NMIXED; i++)
		apply_ok(b, mixed[i], i);
	s1 = states(one);
	s2 = states(b);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	/* equal states, equal bytes */
	blob.len = 0;
	assert_int_equal(ev_projection_save(one, &blob, &err), 0);
	assert_int_equal(ev_projection_save(b, &blob2, &err), 0);
	assert_int_equal(blob.len, blob2.len);
	assert_memory_equal(blob.p, blob2.p, blob.len);
	ev_projection_free(one);

	/* a damaged blob: never a crash, never a success with other
	 * states; the projection then has none */
	for (i = 1; i < blob.len; i++) {
		if (ev_projection_restore(b, blob.p, i, &err) == 0)
			fail_msg("restore of %zu bytes succeeded", i);
		assert_int_equal(err.code, EV_EDATA);
		assert_int_equal(ev_projection_count(b), 0);
	}
	for (i = 0; i < blob.len * 8; i++) {
		blob2.len = 0;
		ev_buf_append(&blob2, blob.p, blob.len);
		blob2.p[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (ev_projection_restore(b, blob2.p, blob2.len, &err) == 0) {
			/* a flip may make another valid blob: then it
			 * must restore what it says */
			struct ev_buf again = {0};
			assert_int_equal(ev_projection_save(b, &again, &err),
					 0);
			ev_buf_free(&again);
		} else {
			assert_int_equal(err.code, EV_EDATA);
		}
	}
	assert_int_equal(ev_projection_restore(b,
					       (const uint8_t *)"\x92\x02"
								"\x90",
					       3, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "projection state: it is not a list of "
				     "states of format 1");
	/* a key twice */
	assert_int_equal(ev_projection_restore(b,
					       (const uint8_t *)"\x92\x01\x92"
								"\x92\xa1x\x80"
								"\x92\xa1x\x80",
					       11, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "projection state: partition 2 of 2 comes "
				     "twice");
	assert_int_equal(ev_projection_restore(b,
					       (const uint8_t *)"\x92\x01\x91"
								"\x92\xa1x\x01",
					       7, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "projection state: a state is not an "
				     "object");
	assert_int_equal(ev_projection_restore(b,
					       (const uint8_t *)"\x92\x01\x91"
								"\x92\x90\x80",
					       6, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "projection state: a partition key is "
				     "not a string, a number, a boolean or "
				     "null");
	/* nothing: no states */
	apply_ok(b, mixed[0], 0);
	assert_int_equal(ev_projection_count(b), 1);
	assert_int_equal(ev_projection_restore(b, NULL, 0, &err), 0);
	assert_int_equal(ev_projection_count(b), 0);
	assert_states(b, "");
	ev_buf_free(&blob);
	ev_buf_free(&blob2);
	ev_projection_free(b);
}

/* An event whose type has no handler is not decoded: a record that
 * would not decode is passed over. */
static void test_lazy(void **state)
{
	struct ev_projection *p;
	struct ev_buf b = {0};
	struct ev_error err;

	(void)state;
	p = load("return { on = { A = function(s, e) s.t = e.type end } }\n",
		 NULL);
	record("{\"type\":\"B\",\"stream\":\"s\",\"data\":{\"x\":1}}", &b);
	b.p[b.len - 1] ^= 0xff; /* the data's last byte */
	b.len--;
	assert_int_equal(ev_projection_apply_record(p, b.p, b.len, 3, &err), 0);
	record("{\"type\":\"A\",\"stream\":\"s\",\"data\":{\"x\":1}}", &b);
	b.len--;
	assert_int_equal(ev_projection_apply_record(p, b.p, b.len, 4, &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "offset 4: "));
	ev_buf_free(&b);
	ev_projection_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balance),
		cmocka_unit_test(test_new_state_and_any),
		cmocka_unit_test(test_keep_event),
		cmocka_unit_test(test_sandbox),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_handler_errors),
		cmocka_unit_test(test_atomic),
		cmocka_unit_test(test_partitions),
		cmocka_unit_test(test_global),
		cmocka_unit_test(test_emit),
		cmocka_unit_test(test_emit_id_form),
		cmocka_unit_test(test_emit_to_log),
		cmocka_unit_test(test_db),
		cmocka_unit_test(test_keys_and_numbers),
		cmocka_unit_test(test_result),
		cmocka_unit_test(test_save_restore),
		cmocka_unit_test(test_lazy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
