/*
 * test_upcast_plan.c - the fast path of upcasting (upcast_plan.c: a
 * chain's declarative steps compiled into a plan) against the general
 * path (upcast_run.c: the event as a tree), side by side: generated sets of
 * steps and generated records, canonical or not, well formed or not,
 * each upcast by two upcasters of the same set, one with its plans off.
 * Every record that comes out must be the same, byte for byte, and so
 * must every result, failure and message; and the plans must take most
 * of the records, so that what is compared is the fast path.
 */
#include <inttypes.h>
#include <sys/stat.h>

#include "unit.h"

#include "../../lib/upcast_int.h"

/* ------------------------------------------------------------ random */

static uint64_t rs = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return n ? (uint32_t)(rs % n) : 0;
}

static const char *const keys[] = {
	"a",
	"b",
	"cur",
	"total",
	"x",
	"items",
	"source",
	"origin",
	/* 32 bytes and more: a str8 key */
	"a_key_of_thirty_two_bytes_or_so_",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *key(void)
{
	return keys[rnd(NKEYS)];
}

/* ------------------------------------------------------------ records */

static void put(struct ev_buf *b, const void *p, size_t n)
{
	assert_int_equal(ev_buf_append(b, p, n), 0);
}

static void putc8(struct ev_buf *b, uint8_t c)
{
	put(b, &c, 1);
}

static void put_uint(struct ev_buf *b, uint64_t v)
{
	uint8_t t[9];

	if (rnd(20) == 0 && v < 0x10000) {
		/* longer than it need be */
		t[0] = 0xcd;
		t[1] = (uint8_t)(v >> 8);
		t[2] = (uint8_t)v;
		put(b, t, 3);
		return;
	}
	put(b, t, (size_t)(ev_mp_uint(t, v) - t));
}

static void put_str(struct ev_buf *b, const char *s)
{
	size_t n = strlen(s);
	uint8_t t[5];

	if (rnd(25) == 0 && n < 32) {
		t[0] = 0xd9; /* str8 for a short string */
		t[1] = (uint8_t)n;
		put(b, t, 2);
	} else {
		put(b, t, (size_t)(ev_mp_str_hdr(t, n) - t));
	}
	put(b, s, n);
}

static void put_hdr(struct ev_buf *b, int map, size_t n)
{
	uint8_t t[5];

	if (rnd(25) == 0 && n < 16) {
		t[0] = map ? 0xde : 0xdc; /* 16 bits for a short one */
		t[1] = 0;
		t[2] = (uint8_t)n;
		put(b, t, 3);
		return;
	}
	put(b, t,
	    (size_t)((map ? ev_mp_map_hdr(t, n) : ev_mp_array_hdr(t, n)) - t));
}

static void put_value(struct ev_buf *b, int depth)
{
	static const char *const strs[] = {"",	    "USD", "7",	  "-2.5",
					   "12abc", "web", "ios", "x"};
	uint8_t t[9];
	size_t n, i;

	switch (rnd(depth >= 3 ? 7 : 10)) {
	case 0:
		putc8(b, 0xc0);
		return;
	case 1:
		putc8(b, rnd(2) ? 0xc3 : 0xc2);
		return;
	case 2:
		put_uint(b, rnd(3) ? rnd(200) : rnd(100000));
		return;
	case 3:
		put(b, t, (size_t)(ev_mp_int(t, -(int64_t)rnd(1000) - 1) - t));
		return;
	case 4:
		put(b, t, (size_t)(ev_mp_double(t, (double)rnd(1000) / 8) - t));
		return;
	case 5:
	case 6:
		put_str(b, rnd(3) ? strs[rnd(8)] : key());
		return;
	case 7:
		n = rnd(4);
		put_hdr(b, 0, n);
		for (i = 0; i < n; i++)
			put_value(b, depth + 1);
		return;
	default:
		n = rnd(5);
		put_hdr(b, 1, n);
		for (i = 0; i < n; i++) {
			put_str(b, key()); /* repeated keys too */
			put_value(b, depth + 1);
		}
		return;
	}
}

static void put_object(struct ev_buf *b)
{
	size_t n = rnd(7), i;

	put_hdr(b, 1, n);
	for (i = 0; i < n; i++) {
		if (rnd(60) == 0)
			put_uint(b, 3); /* not a string key: damaged */
		else
			put_str(b, key());
		put_value(b, 1);
	}
}

static const char *const types[] = {"T1", "T2", "T3"};

/* A record, as evpub stores them mostly, but not always. */
static void make_record(struct ev_buf *b, unsigned seq)
{
	char id[32];
	uint8_t t[16];
	int has_stream = rnd(2), has_version = has_stream && rnd(3);
	int has_schema = rnd(5) != 0, has_key = rnd(4) == 0;
	int has_data = rnd(8) != 0, has_meta = rnd(3) != 0;
	int has_prev = rnd(6) == 0;
	unsigned count =
		3 + (unsigned)(has_stream + has_version + has_schema + has_key +
			       has_data + has_meta + has_prev);

	b->len = 0;
	putc8(b, (uint8_t)(0x80 | count));
	putc8(b, EV_K_ID);
	snprintf(id, sizeof(id), "%.28s%u",
		 rnd(4) ? "e" : "an-id-long-enough-for-a-str8-header-", seq);
	put_str(b, id);
	putc8(b, EV_K_TYPE);
	put_str(b, types[rnd(3)]);
	if (has_stream) {
		putc8(b, EV_K_STREAM);
		put_str(b, rnd(2) ? "s-1" : "s-2");
	}
	if (has_version) {
		putc8(b, EV_K_VERSION);
		put_uint(b, 1 + rnd(300));
	}
	putc8(b, EV_K_TIME);
	if (rnd(10) == 0) {
		t[0] = 0xd6; /* timestamp 32 */
		t[1] = 0xff;
		t[2] = 0x65;
		t[3] = 0x92;
		t[4] = 0x00;
		t[5] = (uint8_t)rnd(256);
		put(b, t, 6);
	} else {
		put(b, t,
		    (size_t)(ev_mp_time(t, (ev_time_t)1704067200000000000ll +
						   (ev_time_t)rnd(1000000) *
							   1000) -
			     t));
	}
	if (has_schema) {
		putc8(b, EV_K_SCHEMA);
		put_uint(b, 1 + rnd(4));
	}
	if (has_key) {
		putc8(b, EV_K_KEY);
		put_str(b, "k");
	}
	if (has_data) {
		putc8(b, EV_K_DATA);
		switch (rnd(12)) {
		case 0:
			putc8(b, 0xc4); /* binary */
			putc8(b, 2);
			putc8(b, 'h');
			putc8(b, 'i');
			break;
		case 1:
			put_value(b, 2); /* anything */
			break;
		default:
			put_object(b);
			break;
		}
	}
	if (has_meta) {
		putc8(b, EV_K_META);
		if (rnd(40) == 0)
			put_str(b, "not an object");
		else
			put_object(b);
	}
	if (has_prev) {
		putc8(b, EV_K_PREV);
		put_uint(b, rnd(1000));
	}
	if (rnd(50) == 0 && b->len > 4)
		b->len -= 1 + rnd(3); /* torn */
}

/* ------------------------------------------------------------ sets */

static void path(struct ev_buf *s)
{
	size_t n = 1 + rnd(3), i;

	ev_buf_puts(s, rnd(3) ? "data" : "meta");
	for (i = 0; i < n; i++) {
		ev_buf_putc(s, '.');
		ev_buf_puts(s, rnd(12) ? key() : "0");
	}
}

static void json_value(struct ev_buf *s)
{
	static const char *const vals[] = {
		"1",	 "\"USD\"",
		"true",	 "null",
		"{}",	 "{\"a\":1,\"b\":[2]}",
		"[1,2]", "2.5",
		"\"x\"", "{\"cur\":\"EUR\"}",
		"-3",	 "\"12\"",
	};

	ev_buf_puts(s, vals[rnd(sizeof(vals) / sizeof(vals[0]))]);
}

static void op(struct ev_buf *s, int last)
{
	static const char *const tables[] = {
		"{\"1\": 2, \"USD\": \"EUR\"}",
		"[[1, \"one\"], [null, 0], [\"x\", {\"y\": 1}]]",
		"{\"web\": \"W\"} else \"?\"",
	};

	ev_buf_puts(s, "  ");
	switch (rnd(last ? 16 : 14)) {
	case 0:
	case 1:
		ev_buf_puts(s, "set ");
		path(s);
		ev_buf_putc(s, ' ');
		json_value(s);
		break;
	case 2:
	case 3:
		ev_buf_puts(s, "default ");
		path(s);
		ev_buf_putc(s, ' ');
		json_value(s);
		break;
	case 4:
	case 5:
		ev_buf_puts(s, rnd(2) ? "move " : "rename ");
		path(s);
		ev_buf_putc(s, ' ');
		path(s);
		break;
	case 6:
	case 7:
		ev_buf_puts(s, "copy ");
		path(s);
		ev_buf_putc(s, ' ');
		path(s);
		break;
	case 8:
		ev_buf_puts(s, "remove ");
		if (rnd(10) == 0)
			ev_buf_puts(s, rnd(2) ? "data" : "meta");
		else
			path(s);
		break;
	case 9:
		ev_buf_puts(s, "map ");
		path(s);
		ev_buf_putc(s, ' ');
		ev_buf_puts(s, tables[rnd(3)]);
		break;
	case 10:
		ev_buf_puts(s, "scale ");
		path(s);
		ev_buf_puts(s, rnd(2) ? " 100" : " 0.5 round");
		break;
	case 11:
		ev_buf_puts(s, rnd(2) ? "tonumber " : "tostring ");
		path(s);
		break;
	case 12:
		ev_buf_puts(s, "set ");
		ev_buf_puts(s, rnd(2) ? "data " : "meta ");
		ev_buf_puts(s, "{\"a\":{\"b\":1},\"x\":2}");
		break;
	case 13:
		ev_buf_puts(s, "retype ");
		ev_buf_puts(s, types[rnd(3)]);
		break;
	case 14:
		ev_buf_puts(s, "drop");
		break;
	default:
		ev_buf_puts(s, "split data.items");
		if (rnd(2))
			ev_buf_puts(s, " data.item");
		break;
	}
	ev_buf_putc(s, '\n');
}

/* A set: each type a chain of one to three steps, from 1 or 2. */
static void make_set(struct ev_buf *s)
{
	size_t t, v, k, nops;
	unsigned first, nsteps;

	s->len = 0;
	for (t = 0; t < 3; t++) {
		if (t > 0 && rnd(3) == 0)
			continue;
		first = rnd(4) ? 1 : 2;
		nsteps = 1 + rnd(3);
		ev_buf_printf(s, "type %s\n", types[t]);
		for (v = first; v < first + nsteps; v++) {
			ev_buf_printf(s, "from %zu\n", v);
			nops = 1 + rnd(5);
			for (k = 0; k < nops; k++)
				op(s, k == nops - 1);
		}
	}
	ev_buf_putc(s, '\0');
	s->len--;
}

/* ------------------------------------------------------------ compare */

struct side {
	int r, changed, damaged;
	struct ev_buf out;
	char msg[sizeof(((struct ev_error *)0)->msg)];
	struct ev_upcast_failure f;
};

static void run_one(struct ev_upcaster *u, const struct ev_buf *rec,
		    struct side *sd)
{
	struct ev_error err;
	const uint8_t *p;
	size_t n;
	int i;

	memset(&err, 0, sizeof(err));
	sd->out.len = 0;
	sd->msg[0] = '\0';
	sd->changed = -1;
	/* as a scan does: what it wants, then the apply */
	(void)ev_upcaster_wants(u, rec->p, rec->len);
	sd->r = ev_upcaster_apply(u, rec->p, rec->len, 42, &sd->changed, &err);
	sd->damaged = sd->r < 0 ? ev_upcaster_damaged(u) : 0;
	if (sd->r < 0) {
		snprintf(sd->msg, sizeof(sd->msg), "%s", err.msg);
		if (!sd->damaged)
			sd->f = *ev_upcaster_last_failure(u);
		return;
	}
	for (i = 0; i < sd->r; i++) {
		ev_upcaster_record(u, i, &p, &n);
		/* each record framed by its length */
		assert_int_equal(ev_buf_printf(&sd->out, "%zu:", n), 0);
		put(&sd->out, p, n);
	}
}

static void hex(const struct ev_buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		fprintf(stderr, "%02x", b->p[i]);
	fprintf(stderr, "\n");
}

/* applies the fast path did that changed the event */
static uint64_t fast_changed;

static void compare(struct ev_upcaster *fast, struct ev_upcaster *slow,
		    const struct ev_buf *rec, const char *set)
{
	static struct side a, b;
	uint64_t runs = fast->plan_runs;

	run_one(fast, rec, &a);
	run_one(slow, rec, &b);
	if (fast->plan_runs > runs && a.changed == 1)
		fast_changed++;
	if (a.r == b.r && a.changed == b.changed && a.damaged == b.damaged &&
	    a.out.len == b.out.len &&
	    memcmp(a.out.p, b.out.p, a.out.len) == 0 &&
	    strcmp(a.msg, b.msg) == 0 &&
	    (a.r >= 0 || a.damaged || memcmp(&a.f, &b.f, sizeof(a.f)) == 0))
		return;
	fprintf(stderr, "set:\n%s\nrecord: ", set);
	hex(rec);
	fprintf(stderr, "fast: %d changed %d damaged %d %s\n", a.r, a.changed,
		a.damaged, a.msg);
	hex(&a.out);
	fprintf(stderr, "general: %d changed %d damaged %d %s\n", b.r,
		b.changed, b.damaged, b.msg);
	hex(&b.out);
	fail_msg("the fast path and the general path differ");
}

static void load_pair(const char *dir, const char *text,
		      struct ev_upcaster **fast, struct ev_upcaster **slow)
{
	char p[4200];
	struct ev_error err;

	snprintf(p, sizeof(p), "%s/a.upcast", dir);
	assert_int_equal(unit_write_file(p, text, strlen(text)), 0);
	if (ev_upcaster_load(fast, p, &err) != 0)
		fail_msg("load: %s\n%s", err.msg, text);
	assert_int_equal(ev_upcaster_load(slow, p, &err), 0);
	ev_upcaster_set_plans(*slow, 0);
}

/* Generated sets and records: the two paths agree on each, and the fast
 * path takes most of those it could. */
static void test_generated(void **state)
{
	struct ev_buf set = {0}, rec = {0};
	struct ev_upcaster *fast, *slow;
	uint64_t runs = 0, falls = 0;
	char *dir = unit_tmpdir();
	unsigned i, j, seq = 0;

	(void)state;
	for (i = 0; i < 400; i++) {
		make_set(&set);
		load_pair(dir, (const char *)set.p, &fast, &slow);
		for (j = 0; j < 150; j++) {
			make_record(&rec, seq++);
			compare(fast, slow, &rec, (const char *)set.p);
		}
		runs += fast->plan_runs;
		falls += fast->plan_falls;
		assert_int_equal(slow->plan_runs, 0);
		ev_upcaster_free(fast);
		ev_upcaster_free(slow);
	}
	/* the plans did most of the work (the rest: failures, splits,
	 * arrays on a path, binary data, damaged records) */
	print_message("fast path: %" PRIu64 " applies (%" PRIu64
		      " changed the event), %" PRIu64
		      " given to the general path\n",
		      runs, fast_changed, falls);
	assert_true(runs > falls);
	assert_true(fast_changed > runs / 4);
	ev_buf_free(&set);
	ev_buf_free(&rec);
	unit_rmtree(dir);
}

/* The set of the bench (bench/run, set N) on events like its data: all
 * of them by the plans, the same bytes as the general path. */
static void test_bench_set(void **state)
{
	static const char *const lines[] = {
		"{\"id\":\"d71ed84b-4bf8-485c-8986-21df1bb662fe\",\"type\":"
		"\"OrderCreated\",\"stream\":\"order-63253\",\"version\":1,"
		"\"time\":\"2024-01-01T00:00:00.029Z\",\"schema\":1,\"data\":{"
		"\"customerId\":\"cus_37528\",\"amount\":22096,\"taxRate\":0."
		"1900,\"channel\":\"marketplace\",\"items\":[{\"sku\":\"SKU-"
		"35237\",\"name\":\"Desk lamp\",\"qty\":4,\"unitPrice\":5524}]}"
		",\"meta\":{\"correlationId\":\"01HK153X0XGJ19F7GXJCX0XDA3\","
		"\"causationId\":\"01HK153X0XGJ19F7GXJCX0XDA3\",\"userId\":"
		"\"user-37528\",\"source\":\"ios\"}}",
		"{\"id\":\"4f528df0-5005-4211-9b7e-e51bb37e7f51\",\"type\":"
		"\"PaymentAuthorized\",\"stream\":\"order-36670\",\"version\":"
		"12,\"time\":\"2024-01-01T08:28:37.732Z\",\"schema\":2,\"data\":"
		"{\"paymentId\":\"pay_fe67e44d0794\",\"amount\":23541,\"currency"
		"\":\"EUR\",\"card\":{\"brand\":\"amex\",\"last4\":\"8557\"}},"
		"\"meta\":{\"correlationId\":\"01HK2277F49ZNEXZ159H0B2ANH\","
		"\"causationId\":\"31095649-b094-4c3f-8e39-de77b8591b60\","
		"\"userId\":\"user-6622\",\"source\":\"ios\"}}",
		"{\"id\":\"x1\",\"type\":\"OrderCreated\",\"time\":"
		"\"2024-01-01T00:00:00Z\",\"schema\":2,\"data\":{\"currency\":"
		"\"USD\",\"total\":{\"amount\":3}},\"meta\":{}}",
	};
	const char *set =
		"type OrderCreated\nfrom 1\n  default data.currency "
		"\"USD\"\nfrom 2\n  copy meta.source meta.origin\n  "
		"set meta.upcast true\n  move data.currency "
		"data.total.currency\ntype PaymentAuthorized\nfrom 1\n"
		"  default data.currency \"USD\"\nfrom 2\n  copy "
		"meta.source meta.origin\n  set meta.upcast true\n  "
		"move data.currency data.total.currency\n";
	struct ev_upcaster *fast, *slow;
	struct ev_parse_opts po;
	struct ev_parser *ps;
	struct ev_error err;
	struct ev_buf rec = {0};
	char *dir = unit_tmpdir();
	const uint8_t *p;
	ev_time_t t;
	size_t i, n;

	(void)state;
	load_pair(dir, set, &fast, &slow);
	memset(&po, 0, sizeof(po));
	ps = ev_parser_new(&po);
	assert_non_null(ps);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (ev_parser_line(ps, lines[i], strlen(lines[i]), 0, &err) !=
		    1)
			fail_msg("%s", err.msg);
		ev_parser_record(ps, 0, &p, &n, &t);
		rec.len = 0;
		put(&rec, p, n);
		compare(fast, slow, &rec, set);
	}
	assert_int_equal(fast->plan_runs, 3);
	assert_int_equal(fast->plan_falls, 0);
	ev_parser_free(ps);
	ev_upcaster_free(fast);
	ev_upcaster_free(slow);
	ev_buf_free(&rec);
	unit_rmtree(dir);
}

/* What a plan does not take goes to the general path whole: a Lua step
 * or a split in the chain leaves it without a plan. */
static void test_no_plan(void **state)
{
	static const char *const sets[] = {
		"type T1\nfrom 1\n  split data.items\n",
		"type T1\nfrom 1\n  retype T2\ntype T2\nfrom 1\n  set data.a "
		"1\n",
	};
	struct ev_upcaster *fast, *slow;
	struct ev_buf rec = {0};
	char *dir = unit_tmpdir();
	size_t i;
	unsigned j;

	(void)state;
	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		load_pair(dir, sets[i], &fast, &slow);
		for (j = 0; j < 200; j++) {
			make_record(&rec, j);
			compare(fast, slow, &rec, sets[i]);
		}
		ev_upcaster_free(fast);
		ev_upcaster_free(slow);
	}
	ev_buf_free(&rec);
	unit_rmtree(dir);
}

/* ev_mp_skip_quick() answers as ev_mp_skip_fast() does: on records and
 * every cut of them, and on random bytes that lean to msgpack's leads. */
static void skip_same(const uint8_t *p, size_t n)
{
	const uint8_t *a = p, *b = p;
	int ra = ev_mp_skip_fast(&a, p + n), rb = ev_mp_skip_quick(&b, p + n);

	assert_int_equal(ra, rb);
	if (ra == 0)
		assert_ptr_equal(a, b);
}

static void test_skip_quick(void **state)
{
	static const uint8_t lead[] = {0x81, 0x82, 0x8f, 0x90, 0x92, 0x9f, 0xa1,
				       0xa3, 0xbf, 0xc0, 0xc1, 0xc2, 0xc4, 0xcb,
				       0xcc, 0xd4, 0xd7, 0xd9, 0xdc, 0xdd, 0xde,
				       0xdf, 0x00, 0x7f, 0xe0, 0xff};
	struct ev_buf rec = {0};
	uint8_t buf[64];
	size_t k, cut;
	unsigned j, i;

	(void)state;
	for (j = 0; j < 300; j++) {
		make_record(&rec, j);
		for (cut = 0; cut <= rec.len; cut++)
			skip_same(rec.p, cut);
		for (k = 1; k < rec.len; k++)
			skip_same(rec.p + k, rec.len - k);
	}
	for (j = 0; j < 200000; j++) {
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = rnd(2) ? lead[rnd(sizeof(lead))]
					: (uint8_t)rnd(256);
		skip_same(buf, 1 + rnd(sizeof(buf)));
	}
	ev_buf_free(&rec);
}

/* ev_upcaster_prefix() then ev_upcaster_apply() of what it made, as a
 * scan's Lua thread does (scan.c), gives what ev_upcaster_apply() gives
 * of the record: generated sets, each type's chain ended by a Lua step
 * that keeps what it got, and a step that fails now and then. */
static void test_prefix(void **state)
{
	static const char lua[] =
		"return function(e)\n"
		"  if e.offset ~= 42 then error('offset') end\n"
		"  if type(e.data) == 'table' and e.data.a == 7 then\n"
		"    error('a is 7') end\n"
		"  e.data = {got = e.data, schema = e.schema, type = e.type}\n"
		"  return e\n"
		"end\n";
	struct ev_buf set = {0}, rec = {0}, pre = {0}, wrap = {0};
	struct ev_upcaster *one, *two, *w;
	struct ev_upcast_hint h;
	struct ev_error err;
	static struct side a, b;
	char *dir = unit_tmpdir(), sub[4200], p[4300];
	const char *line;
	unsigned i, j, seq = 0, ran = 0, max[3];
	size_t t;
	int r;

	(void)state;
	for (i = 0; i < 150; i++) {
		make_set(&set);
		snprintf(sub, sizeof(sub), "%s/%u", dir, i);
		assert_int_equal(mkdir(sub, 0700), 0);
		snprintf(p, sizeof(p), "%s/a.upcast", sub);
		assert_int_equal(unit_write_file(p, set.p, set.len), 0);
		/* the last version of each type's chain: a Lua step after */
		memset(max, 0, sizeof(max));
		t = 3;
		for (line = (const char *)set.p; *line != '\0';
		     line = strchr(line, '\n') + 1) {
			unsigned v;
			if (strncmp(line, "type T", 6) == 0)
				t = (size_t)(line[6] - '1');
			else if (sscanf(line, "from %u", &v) == 1 && t < 3)
				max[t] = v;
		}
		for (t = 0; t < 3; t++) {
			if (max[t] == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s.%u.lua", sub, types[t],
				 max[t] + 1);
			assert_int_equal(unit_write_file(p, lua, strlen(lua)),
					 0);
		}
		if (ev_upcaster_load(&one, sub, &err) != 0)
			fail_msg("load: %s\n%s", err.msg, (const char *)set.p);
		assert_int_equal(ev_upcaster_load(&two, sub, &err), 0);
		assert_non_null(w = ev_upcaster_worker(two));
		for (j = 0; j < 150; j++) {
			make_record(&rec, seq++);
			run_one(one, &rec, &a);
			pre.len = 0;
			r = ev_upcaster_peek(two, rec.p, rec.len, &h)
				    ? ev_upcaster_prefix(w, &pre, rec.p,
							 rec.len, &h)
				    : 0;
			wrap.len = 0;
			put(&wrap, r == 1 ? pre.p : rec.p,
			    r == 1 ? pre.len : rec.len);
			ran += r == 1;
			run_one(two, &wrap, &b);
			if (a.r == b.r && a.damaged == b.damaged &&
			    a.out.len == b.out.len &&
			    memcmp(a.out.p, b.out.p, a.out.len) == 0 &&
			    strcmp(a.msg, b.msg) == 0 &&
			    (a.r >= 0 || a.damaged ||
			     memcmp(&a.f, &b.f, sizeof(a.f)) == 0))
				continue;
			fprintf(stderr, "set:\n%s\nrecord: ", set.p);
			hex(&rec);
			fprintf(stderr, "whole: %d %s\n", a.r, a.msg);
			hex(&a.out);
			fprintf(stderr, "in two (%d): %d %s\n", r, b.r, b.msg);
			hex(&b.out);
			fail_msg("the prefix and the whole apply differ");
		}
		ev_upcaster_free(w);
		ev_upcaster_free(one);
		ev_upcaster_free(two);
	}
	fprintf(stderr, "prefix: %u of %u records\n", ran, seq);
	assert_true(ran > seq / 10);
	ev_buf_free(&set);
	ev_buf_free(&rec);
	ev_buf_free(&pre);
	ev_buf_free(&wrap);
	ev_buf_free(&a.out);
	ev_buf_free(&b.out);
	unit_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_skip_quick),
		cmocka_unit_test(test_bench_set),
		cmocka_unit_test(test_no_plan),
		cmocka_unit_test(test_generated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
