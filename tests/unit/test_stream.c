/*
 * test_stream.c - lib/stream.c: ev_stream_read, reading one stream by
 * walking its links back from its newest event (evlog(5) RECORDS, key
 * 10, and STATE).
 *
 * The log is written in the test through the public writer, from JSON
 * lines, with the events of several streams interleaved (and some with
 * no stream), over several writer sessions, batches and segments.  Every
 * read is checked against what the test wrote: the offsets and versions,
 * in order.  Links that cannot be followed (a record written before
 * links, a link to another stream) are made by rewriting one record of
 * an uncompressed log in place, with its batch checksum fixed, so that
 * only the link is wrong: ev_stream_read must then return 1 without
 * calling back, and the caller scans.
 */
#include "logutil.h"

/* ------------------------------------------------------------ the log */

#define MAXEV 2000

/* what the test wrote: the stream and version of each offset */
struct written {
	char stream[MAXEV][16]; /* "" for none */
	uint64_t version[MAXEV];
	uint64_t n;
};

/*
 * Stream of event i: order-1 and stock-1 (names of one length) often,
 * order-10 (a name that starts with another's) less often, and every
 * seventh event in none.
 */
static const char *stream_of(uint64_t i)
{
	if (i % 7 == 6)
		return "";
	switch (i % 5) {
	case 0:
	case 3:
		return "order-1";
	case 1:
	case 4:
		return "stock-1";
	default:
		return "order-10";
	}
}

/* Append events w->n .. w->n + count - 1 in one writer session. */
static void append(struct tlog *t, struct written *w, uint64_t count,
		   size_t batch_bytes, size_t pad)
{
	struct ev_parse_opts po;
	struct ev_parser *ps;
	struct ev_writer_opts o;
	struct ev_writer *wr;
	struct ev_error err;
	const uint8_t *rec;
	char line[4096], stream[40], padding[2048];
	size_t n;
	ev_time_t tm;
	uint64_t i, k;

	assert_true(w->n + count <= MAXEV);
	assert_true(pad < sizeof(padding));
	memset(padding, 'p', pad);
	padding[pad] = '\0';
	memset(&po, 0, sizeof(po));
	po.format = EV_FMT_ENVELOPE;
	ps = ev_parser_new(&po);
	assert_non_null(ps);
	memset(&o, 0, sizeof(o));
	o.batch_bytes = batch_bytes;
	o.unlinked = 1;
	if (ev_writer_open(&wr, t->log, &o, &err) != 0)
		fail_msg("ev_writer_open: %s", err.msg);
	for (i = w->n; i < w->n + count; i++) {
		const char *s = stream_of(i);
		stream[0] = '\0';
		if (*s)
			snprintf(stream, sizeof(stream), ",\"stream\":\"%s\"",
				 s);
		snprintf(line, sizeof(line),
			 "{\"id\":\"e%llu\",\"type\":\"T\"%s,"
			 "\"time\":\"2024-01-01T00:00:00Z\","
			 "\"data\":{\"i\":%llu,\"pad\":\"%s\"}}",
			 (unsigned long long)i, stream, (unsigned long long)i,
			 padding);
		if (ev_parser_line(ps, line, strlen(line), EV_TIME_NONE,
				   &err) != 1)
			fail_msg("ev_parser_line: %s", err.msg);
		ev_parser_record(ps, 0, &rec, &n, &tm);
		if (ev_writer_add(wr, rec, n, tm, &err) != 0)
			fail_msg("ev_writer_add: %s", err.msg);
		snprintf(w->stream[i], sizeof(w->stream[i]), "%s", s);
		/* the version: one more than the stream's last */
		w->version[i] = 0;
		if (*s) {
			w->version[i] = 1;
			for (k = i; k-- > 0;)
				if (strcmp(w->stream[k], s) == 0) {
					w->version[i] = w->version[k] + 1;
					break;
				}
		}
	}
	if (ev_writer_close(wr, &err) != 0)
		fail_msg("ev_writer_close: %s", err.msg);
	ev_parser_free(ps);
	w->n += count;
}

/* the offsets of stream s written, oldest first; returns how many */
static size_t offsets_of(const struct written *w, const char *s, uint64_t *out)
{
	size_t n = 0;
	uint64_t i;

	for (i = 0; i < w->n; i++)
		if (strcmp(w->stream[i], s) == 0)
			out[n++] = i;
	return n;
}

/* ------------------------------------------------------------ reading */

struct got {
	uint64_t off[MAXEV], ver[MAXEV];
	size_t n;
	int stop_at; /* return 5 from the call with this index (1-based) */
	const char *stream; /* each event must name it */
};

static int collect(void *ctx, const struct ev_rec *rec)
{
	struct got *g = ctx;
	struct ev_event ev;
	struct ev_error err;

	if (ev_event_decode(rec->p, rec->n, &ev, &err) != 0)
		fail_msg("offset %llu: %s", (unsigned long long)rec->offset,
			 err.msg);
	if (g->stream != NULL &&
	    (ev.stream.n != strlen(g->stream) ||
	     memcmp(ev.stream.p, g->stream, ev.stream.n) != 0))
		fail_msg("offset %llu is of stream '%.*s', not '%s'",
			 (unsigned long long)rec->offset, (int)ev.stream.n,
			 ev.stream.p, g->stream);
	assert_true(g->n < MAXEV);
	g->off[g->n] = rec->offset;
	g->ver[g->n] = ev.version;
	g->n++;
	if (g->stop_at != 0 && (int)g->n == g->stop_at)
		return 5;
	return 0;
}

/* ev_stream_read of stream s, which must return want_r */
static void read_stream(struct tlog *t, const char *s, uint64_t from,
			uint64_t last, int want_r, struct got *g, uint64_t *end)
{
	struct ev_error err;
	int r;

	memset(g, 0, sizeof(*g));
	g->stream = s;
	ev_error_clear(&err);
	*end = 12345678;
	r = ev_stream_read(t->log, s, strlen(s), from, last, collect, g, end,
			   &err);
	if (r != want_r)
		fail_msg(
			"'%s' from %llu last %llu: returned %d (%s), expected %d",
			s, (unsigned long long)from, (unsigned long long)last,
			r, err.msg, want_r);
}

/*
 * g must hold exactly the events of stream s with versions lo..hi, in
 * order (lo > hi: none).
 */
static void expect_versions(const struct written *w, const char *s,
			    const struct got *g, uint64_t lo, uint64_t hi)
{
	static uint64_t offs[MAXEV];
	size_t n = offsets_of(w, s, offs), i;

	if (lo > hi) {
		if (g->n != 0)
			fail_msg("'%s': %zu events, expected none", s, g->n);
		return;
	}
	assert_true(hi <= n);
	if (g->n != hi - lo + 1)
		fail_msg("'%s': %zu events, expected versions %llu to %llu", s,
			 g->n, (unsigned long long)lo, (unsigned long long)hi);
	for (i = 0; i < g->n; i++) {
		if (g->ver[i] != lo + i || g->off[i] != offs[lo + i - 1])
			fail_msg("'%s': event %zu is version %llu at %llu, "
				 "expected version %llu at %llu",
				 s, i, (unsigned long long)g->ver[i],
				 (unsigned long long)g->off[i],
				 (unsigned long long)(lo + i),
				 (unsigned long long)offs[lo + i - 1]);
	}
}

static uint64_t count_of(const struct written *w, const char *s)
{
	static uint64_t offs[MAXEV];

	return offsets_of(w, s, offs);
}

/* ------------------------------------------------------------ fixture */

struct fixture {
	struct tlog t;
	struct written w;
};

/* 200 events in three writer sessions, small batches; a snapshot of
 * the state after the second, so the third is replayed */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ev_state *st;
	struct ev_error err;

	assert_non_null(f);
	tlog_create(&f->t, 0, 1);
	append(&f->t, &f->w, 80, 512, 10);
	append(&f->t, &f->w, 70, 2048, 3);
	if (ev_state_load(&st, f->t.log, 0, &err) != 0 ||
	    ev_state_snapshot(st, &err) != 0)
		fail_msg("snapshot: %s", err.msg);
	ev_state_free(st);
	append(&f->t, &f->w, 50, 700, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tlog_free(&f->t);
	free(f);
	return 0;
}

/* ------------------------------------------------------------ tests */

static void test_whole_streams(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {"order-1", "stock-1", "order-10"};
	static struct got g;
	uint64_t end;
	size_t i;

	for (i = 0; i < 3; i++) {
		uint64_t k = count_of(&f->w, names[i]);
		assert_true(k >= 20);
		read_stream(&f->t, names[i], 0, 0, 0, &g, &end);
		expect_versions(&f->w, names[i], &g, 1, k);
		assert_true(end == 200);
		/* from_version 1 is the same as 0 */
		read_stream(&f->t, names[i], 1, 0, 0, &g, &end);
		expect_versions(&f->w, names[i], &g, 1, k);
	}
}

static void test_from_version(void **state)
{
	struct fixture *f = *state;
	static struct got g;
	uint64_t k = count_of(&f->w, "order-1"), end;

	read_stream(&f->t, "order-1", 3, 0, 0, &g, &end);
	expect_versions(&f->w, "order-1", &g, 3, k);
	read_stream(&f->t, "order-1", k - 1, 0, 0, &g, &end);
	expect_versions(&f->w, "order-1", &g, k - 1, k);
	read_stream(&f->t, "order-1", k, 0, 0, &g, &end);
	expect_versions(&f->w, "order-1", &g, k, k);
	/* past the newest: nothing, and no error */
	read_stream(&f->t, "order-1", k + 1, 0, 0, &g, &end);
	expect_versions(&f->w, "order-1", &g, 1, 0);
	assert_true(end == 200);
	read_stream(&f->t, "order-1", UINT64_MAX, 0, 0, &g, &end);
	expect_versions(&f->w, "order-1", &g, 1, 0);
}

static void test_last(void **state)
{
	struct fixture *f = *state;
	static struct got g;
	uint64_t k = count_of(&f->w, "stock-1"), end;

	read_stream(&f->t, "stock-1", 0, 1, 0, &g, &end);
	expect_versions(&f->w, "stock-1", &g, k, k);
	read_stream(&f->t, "stock-1", 0, 3, 0, &g, &end);
	expect_versions(&f->w, "stock-1", &g, k - 2, k);
	read_stream(&f->t, "stock-1", 0, k, 0, &g, &end);
	expect_versions(&f->w, "stock-1", &g, 1, k);
	read_stream(&f->t, "stock-1", 0, k + 10, 0, &g, &end);
	expect_versions(&f->w, "stock-1", &g, 1, k);
	assert_true(end == 200);
}

/* both limits: the newest `last` of those from from_version on */
static void test_from_version_and_last(void **state)
{
	struct fixture *f = *state;
	static struct got g;
	uint64_t k = count_of(&f->w, "order-10"), end;

	read_stream(&f->t, "order-10", 2, 3, 0, &g, &end);
	expect_versions(&f->w, "order-10", &g, k - 2, k);
	read_stream(&f->t, "order-10", k - 1, 5, 0, &g, &end);
	expect_versions(&f->w, "order-10", &g, k - 1, k);
	read_stream(&f->t, "order-10", k + 1, 5, 0, &g, &end);
	expect_versions(&f->w, "order-10", &g, 1, 0);
}

static void test_unknown_stream(void **state)
{
	struct fixture *f = *state;
	static struct got g;
	uint64_t end;

	read_stream(&f->t, "nosuch", 0, 0, 0, &g, &end);
	assert_int_equal(g.n, 0);
	assert_true(end == 200);
	/* a prefix of a stream's name is another stream */
	read_stream(&f->t, "order-", 0, 0, 0, &g, &end);
	assert_int_equal(g.n, 0);
	read_stream(&f->t, "order-100", 0, 0, 0, &g, &end);
	assert_int_equal(g.n, 0);
}

/* the name is n bytes, not a C string */
static void test_name_length(void **state)
{
	struct fixture *f = *state;
	static struct got g;
	struct ev_error err;
	uint64_t end;

	memset(&g, 0, sizeof(g));
	g.stream = "order-1";
	assert_int_equal(ev_stream_read(f->t.log, "order-10", 7, 0, 0, collect,
					&g, &end, &err),
			 0);
	expect_versions(&f->w, "order-1", &g, 1, count_of(&f->w, "order-1"));
}

/* the callback's non-zero return stops the read and is returned */
static void test_callback_stops(void **state)
{
	struct fixture *f = *state;
	static struct got g;
	struct ev_error err;
	uint64_t end;

	memset(&g, 0, sizeof(g));
	g.stream = "stock-1";
	g.stop_at = 2;
	assert_int_equal(ev_stream_read(f->t.log, "stock-1", 7, 6, 0, collect,
					&g, &end, &err),
			 5);
	expect_versions(&f->w, "stock-1", &g, 6, 7);
}

/* events appended after a read are there for the next one */
static void test_appended_later(void **state)
{
	struct fixture *f = *state;
	static struct got g;
	uint64_t k, end;

	read_stream(&f->t, "order-1", 0, 0, 0, &g, &end);
	append(&f->t, &f->w, 30, 400, 1);
	k = count_of(&f->w, "order-1");
	read_stream(&f->t, "order-1", 0, 0, 0, &g, &end);
	expect_versions(&f->w, "order-1", &g, 1, k);
	assert_true(end == 230);
}

/* with no snapshot at all, the state comes from a replay of the log */
static void test_without_snapshot(void **state)
{
	struct fixture *f = *state;
	static struct got g;
	char p[4400];
	uint64_t end;

	snprintf(p, sizeof(p), "%s/state/streams", f->t.path);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/state/ids", f->t.path);
	unlink(p);
	read_stream(&f->t, "stock-1", 0, 0, 0, &g, &end);
	expect_versions(&f->w, "stock-1", &g, 1, count_of(&f->w, "stock-1"));
	assert_true(end == 200);
}

/* a stream's events in many segments: the links cross them */
static void test_across_segments(void **state)
{
	static struct written w;
	static struct got g;
	struct tlog t;
	uint64_t *segs, end;
	size_t nseg;

	(void)state;
	memset(&w, 0, sizeof(w));
	tlog_create(&t, EV_MIN_SEGMENT_BYTES, 0);
	append(&t, &w, 400, 8192, 400);
	append(&t, &w, 200, 8192, 400);
	nseg = tlog_segments(&t, &segs);
	free(segs);
	if (nseg < 3)
		fail_msg("%zu segments: the test needs more", nseg);
	read_stream(&t, "order-10", 0, 0, 0, &g, &end);
	expect_versions(&w, "order-10", &g, 1, count_of(&w, "order-10"));
	assert_true(end == 600);
	read_stream(&t, "order-1", 5, 0, 0, &g, &end);
	expect_versions(&w, "order-1", &g, 5, count_of(&w, "order-1"));
	tlog_free(&t);
}

/* segments trimmed away: a stream reads from its oldest event left */
static void test_trimmed(void **state)
{
	static struct written w;
	static struct got g;
	struct ev_trim_opts o;
	struct ev_reader *rd;
	struct ev_error err;
	struct tlog t;
	uint64_t first, end, lo, k, i;

	(void)state;
	memset(&w, 0, sizeof(w));
	tlog_create(&t, EV_MIN_SEGMENT_BYTES, 0);
	append(&t, &w, 600, 8192, 400);
	memset(&o, 0, sizeof(o));
	o.before = EV_TIME_NONE;
	o.keep_events = 300;
	if (ev_log_trim(t.log, &o, NULL, NULL, &err) != 0)
		fail_msg("ev_log_trim: %s", err.msg);
	if (ev_reader_open(&rd, t.log, &err) != 0)
		fail_msg("ev_reader_open: %s", err.msg);
	first = ev_reader_first_offset(rd);
	ev_reader_free(rd);
	if (first == 0 || first > 300)
		fail_msg("first offset %llu after the trim",
			 (unsigned long long)first);
	k = count_of(&w, "order-1");
	for (i = first; strcmp(w.stream[i], "order-1") != 0; i++)
		;
	lo = w.version[i];
	assert_true(lo > 1);
	read_stream(&t, "order-1", 0, 0, 0, &g, &end);
	expect_versions(&w, "order-1", &g, lo, k);
	assert_true(end == 600);
	/* what is left of it, as asked */
	read_stream(&t, "order-1", lo + 1, 2, 0, &g, &end);
	expect_versions(&w, "order-1", &g, k - 1, k);
	tlog_free(&t);
}

/* ------------------------------------------------------------ bad links */

/*
 * Rewrite the record at offset of an uncompressed log in place: the same
 * record with link prev (EV_NO_PREV: none) and, when pad is set, data
 * {"pad":"..."} sized so that the record keeps its length.  The batch's
 * payload checksum and header are written afresh, so the log reads as
 * valid, with only the link changed.
 */
static void rewrite_link(struct tlog *t, uint64_t offset, uint64_t prev,
			 int pad)
{
	char path[4400];
	struct tbatch *b;
	struct ev_batchhdr h;
	struct ev_event ev;
	struct ev_fields fl;
	struct ev_error err;
	struct ev_buf out = {0};
	const uint8_t *q, *end, *rec = NULL;
	uint8_t *file, *payload, data[600], *o;
	const char *why;
	uint64_t salt, *segs, k;
	size_t nb, i, len, n = 0, nseg, s, padn;

	nseg = tlog_segments(t, &segs);
	for (s = nseg; s-- > 0;)
		if (segs[s] <= offset)
			break;
	tlog_file(t, segs[s], "seg", path, sizeof(path));
	free(segs);
	nb = tlog_batches(path, &b, &salt);
	for (i = 0; i < nb; i++)
		if (b[i].base <= offset && offset < b[i].base + b[i].count)
			break;
	assert_true(i < nb);
	file = (uint8_t *)unit_read_file(path, &len);
	assert_non_null(file);
	assert_int_equal(ev_batchhdr_decode(file + b[i].pos, salt, &h, &why),
			 0);
	assert_int_equal(h.codec, EV_CODEC_NONE);
	payload = file + b[i].pos + EV_BATCHHDR_SIZE;
	q = payload;
	end = payload + h.stored_len;
	for (k = h.base; k <= offset; k++)
		assert_int_equal(ev_payload_next(&q, end, &rec, &n), 0);
	if (ev_event_decode(rec, n, &ev, &err) != 0)
		fail_msg("offset %llu: %s", (unsigned long long)offset,
			 err.msg);
	for (padn = 0; padn < 300; padn++) {
		ev_fields_init(&fl);
		fl.type = ev.type.p;
		fl.type_n = ev.type.n;
		fl.id = ev.id.p;
		fl.id_n = ev.id.n;
		fl.stream = ev.stream.p;
		fl.stream_n = ev.stream.n;
		fl.key = ev.key.p;
		fl.key_n = ev.key.n;
		fl.time = ev.time;
		fl.version = ev.version;
		fl.schema = ev.schema;
		fl.data = ev.data;
		fl.data_n = ev.data_len;
		fl.meta = ev.meta;
		fl.meta_n = ev.meta_len;
		fl.prev = prev;
		fl.resolved = 1;
		if (pad) {
			o = ev_mp_map_hdr(data, 1);
			o = ev_mp_str_hdr(o, 3);
			memcpy(o, "pad", 3);
			o = ev_mp_str_hdr(o + 3, padn);
			memset(o, 'q', padn);
			fl.data = data;
			fl.data_n = (size_t)(o + padn - data);
		}
		out.len = 0;
		if (ev_record_encode(&fl, ev.time, &out, NULL, &err) != 0)
			fail_msg("ev_record_encode: %s", err.msg);
		if (out.len == n || !pad)
			break;
	}
	if (out.len != n)
		fail_msg("the rewritten record is %zu bytes, not %zu", out.len,
			 n);
	memcpy((uint8_t *)rec, out.p, n);
	h.payload_crc = ev_crc32c(0, payload, h.stored_len);
	ev_batchhdr_encode(file + b[i].pos, &h);
	assert_int_equal(unit_write_file(path, file, len), 0);
	/* the rewrite says what was meant */
	if (ev_event_decode(rec, n, &ev, &err) != 0)
		fail_msg("rewritten: %s", err.msg);
	assert_true(ev.prev == prev);
	ev_buf_free(&out);
	free(file);
	free(b);
}

/* an uncompressed log of 60 events in one session */
static void small_log(struct tlog *t, struct written *w)
{
	memset(w, 0, sizeof(*w));
	tlog_create(t, 0, 0);
	append(t, w, 60, 600, 5);
}

/* the offset of version v of stream s */
static uint64_t offset_of(const struct written *w, const char *s, uint64_t v)
{
	uint64_t i;

	for (i = 0; i < w->n; i++)
		if (strcmp(w->stream[i], s) == 0 && w->version[i] == v)
			return i;
	fail_msg("no version %llu of '%s'", (unsigned long long)v, s);
	return 0;
}

static void test_rewrite_keeps_log_valid(void **state)
{
	static struct written w;
	static struct got g;
	struct tlog t;
	uint64_t end, at;

	(void)state;
	small_log(&t, &w);
	/* the same link written back: nothing changes */
	at = offset_of(&w, "order-1", 3);
	rewrite_link(&t, at, offset_of(&w, "order-1", 2), 0);
	read_stream(&t, "order-1", 0, 0, 0, &g, &end);
	expect_versions(&w, "order-1", &g, 1, count_of(&w, "order-1"));
	tlog_free(&t);
}

/* version 3 of order-1 links to version 2 of stock-1: the version is
 * right, the stream is not */
static void test_link_to_another_stream(void **state)
{
	static struct written w;
	static struct got g;
	struct tlog t;
	uint64_t end, k;

	(void)state;
	small_log(&t, &w);
	k = count_of(&w, "order-1");
	assert_true(k >= 6);
	assert_true(offset_of(&w, "stock-1", 2) < offset_of(&w, "order-1", 3));
	rewrite_link(&t, offset_of(&w, "order-1", 3),
		     offset_of(&w, "stock-1", 2), 0);
	read_stream(&t, "order-1", 0, 0, 1, &g, &end);
	assert_int_equal(g.n, 0); /* nothing was called back */
	/* reads that stop before the bad link are fine */
	read_stream(&t, "order-1", 3, 0, 0, &g, &end);
	expect_versions(&w, "order-1", &g, 3, k);
	read_stream(&t, "order-1", 0, k - 2, 0, &g, &end);
	expect_versions(&w, "order-1", &g, 3, k);
	/* one more is one too many */
	read_stream(&t, "order-1", 0, k - 1, 1, &g, &end);
	assert_int_equal(g.n, 0);
	read_stream(&t, "order-1", 2, 0, 1, &g, &end);
	assert_int_equal(g.n, 0);
	/* other streams do not care */
	read_stream(&t, "stock-1", 0, 0, 0, &g, &end);
	expect_versions(&w, "stock-1", &g, 1, count_of(&w, "stock-1"));
	tlog_free(&t);
}

/* version 4 of order-1 links to version 2: the stream is right, the
 * version is not */
static void test_link_skips_a_version(void **state)
{
	static struct written w;
	static struct got g;
	struct tlog t;
	uint64_t end, k;

	(void)state;
	small_log(&t, &w);
	k = count_of(&w, "order-1");
	rewrite_link(&t, offset_of(&w, "order-1", 4),
		     offset_of(&w, "order-1", 2), 0);
	read_stream(&t, "order-1", 0, 0, 1, &g, &end);
	assert_int_equal(g.n, 0);
	read_stream(&t, "order-1", 3, 0, 1, &g, &end);
	assert_int_equal(g.n, 0);
	read_stream(&t, "order-1", 4, 0, 0, &g, &end);
	expect_versions(&w, "order-1", &g, 4, k);
	tlog_free(&t);
}

/* version 3 of order-1 has no link, as a record written before links */
static void test_record_without_link(void **state)
{
	static struct written w;
	static struct got g;
	struct tlog t;
	uint64_t end, k;

	(void)state;
	small_log(&t, &w);
	k = count_of(&w, "order-1");
	rewrite_link(&t, offset_of(&w, "order-1", 3), EV_NO_PREV, 1);
	read_stream(&t, "order-1", 0, 0, 1, &g, &end);
	assert_int_equal(g.n, 0);
	read_stream(&t, "order-1", 2, 0, 1, &g, &end);
	assert_int_equal(g.n, 0);
	/* down to version 3 and no further, the walk needs no link from it */
	read_stream(&t, "order-1", 3, 0, 0, &g, &end);
	expect_versions(&w, "order-1", &g, 3, k);
	read_stream(&t, "order-1", 0, k - 2, 0, &g, &end);
	expect_versions(&w, "order-1", &g, 3, k);
	assert_true(end == 60);
	tlog_free(&t);
}

/* a first event has no link, and needs none */
static void test_first_event_needs_no_link(void **state)
{
	static struct written w;
	static struct got g;
	struct tlog t;
	uint64_t end;

	(void)state;
	small_log(&t, &w);
	/* version 1's link is none already: written again, all reads work */
	rewrite_link(&t, offset_of(&w, "stock-1", 1), EV_NO_PREV, 1);
	read_stream(&t, "stock-1", 0, 0, 0, &g, &end);
	expect_versions(&w, "stock-1", &g, 1, count_of(&w, "stock-1"));
	tlog_free(&t);
}

static void test_commas(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(ev_commas(0, b), "0");
	assert_string_equal(ev_commas(999, b), "999");
	assert_string_equal(ev_commas(1000, b), "1,000");
	assert_string_equal(ev_commas(123456, b), "123,456");
	assert_string_equal(ev_commas(1234567, b), "1,234,567");
	assert_string_equal(ev_commas(UINT64_MAX, b),
			    "18,446,744,073,709,551,615");
}

/* evctl streams: the name column widens to the longest name, and JSON
 * escapes names */
static void test_streams_format(void **state)
{
	struct ev_stream_info v[2];
	struct ev_buf b = {0};

	(void)state;
	memset(v, 0, sizeof(v));
	v[0].name = "order-1";
	v[0].name_len = 7;
	v[0].last_version = 3;
	v[0].count = 1234;
	v[0].first_offset = 0;
	v[0].last_offset = 1500;
	v[1].name = "a\"b";
	v[1].name_len = 3;
	v[1].last_version = 1;
	v[1].count = 1;
	v[1].first_offset = v[1].last_offset = 7;
	assert_int_equal(ev_streams_format(&b, v, 2, 0), 0);
	assert_int_equal(ev_buf_putc(&b, '\0'), 0);
	assert_string_equal(
		(char *)b.p,
		"STREAM     VERSION     EVENTS        FIRST         LAST\n"
		"order-1          3      1,234            0        1,500\n"
		"a\"b              1          1            7            7\n");
	b.len = 0;
	assert_int_equal(ev_streams_format(&b, v + 1, 1, 1), 0);
	assert_int_equal(ev_buf_putc(&b, '\0'), 0);
	assert_string_equal((char *)b.p,
			    "{\"stream\":\"a\\\"b\",\"version\":1,\"events\":1,"
			    "\"first_offset\":7,\"last_offset\":7,"
			    "\"missing_versions\":0}\n");
	b.len = 0;
	assert_int_equal(ev_streams_format(&b, v, 0, 0), 0);
	assert_int_equal(b.len, 0);
	ev_buf_free(&b);
}
int main(void)
{
	const struct CMUnitTest tests[] = {
#define F(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		F(test_whole_streams),
		F(test_from_version),
		F(test_last),
		F(test_from_version_and_last),
		F(test_unknown_stream),
		F(test_name_length),
		F(test_callback_stops),
		F(test_appended_later),
		F(test_without_snapshot),
#undef F
		cmocka_unit_test(test_across_segments),
		cmocka_unit_test(test_trimmed),
		cmocka_unit_test(test_rewrite_keeps_log_valid),
		cmocka_unit_test(test_link_to_another_stream),
		cmocka_unit_test(test_link_skips_a_version),
		cmocka_unit_test(test_record_without_link),
		cmocka_unit_test(test_first_event_needs_no_link),
		cmocka_unit_test(test_commas),
		cmocka_unit_test(test_streams_format),
	};

	return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
