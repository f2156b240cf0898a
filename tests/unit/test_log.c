/*
 * test_log.c - lib/writer.c, lib/reader*.c and lib/log.c through the
 * public API: appending and reading back, segment rolls, seeking by
 * offset and by time, torn tails (readers stop cleanly, writers cut them
 * with a notice) and damage (readers stop with EV_EDATA naming segment,
 * offset and byte; writers refuse and point at evctl verify and repair).
 */
#include "logutil.h"

/* ------------------------------------------------------------ helpers */

/* read-ahead threads of the readers the tests open */
static int g_ra = 1;

static struct ev_reader *open_reader(struct tlog *t)
{
	struct ev_reader *r;
	struct ev_error err;

	if (ev_reader_open(&r, t->log, &err) != 0)
		fail_msg("ev_reader_open: %s", err.msg);
	ev_reader_set_readahead(r, g_ra);
	return r;
}

/*
 * Read from the reader's position to the end, checking that offsets are
 * contiguous from first and that offset k holds event k + shift.
 * Returns the number read; *status gets the final ev_reader_next result.
 */
static int read_rest(struct ev_reader *r, uint64_t first, int shift,
		     int *status, struct ev_error *err)
{
	struct ev_rec rec;
	uint64_t want = first;
	int n = 0, rr;

	while ((rr = ev_reader_next(r, &rec, err)) == 1) {
		if (rec.offset != want)
			fail_msg("offset %llu after %llu",
				 (unsigned long long)rec.offset,
				 (unsigned long long)want - 1);
		if (tlog_seq(&rec) != (int)rec.offset + shift)
			fail_msg("offset %llu holds event %d",
				 (unsigned long long)rec.offset,
				 tlog_seq(&rec));
		want++;
		n++;
	}
	*status = rr;
	return n;
}

static void read_all_ok(struct tlog *t, int count)
{
	struct ev_reader *r = open_reader(t);
	struct ev_error err;
	int st, n;

	n = read_rest(r, 0, 0, &st, &err);
	if (st != 0)
		fail_msg("reading stopped with %d: %s", st, err.msg);
	assert_int_equal(n, count);
	assert_true(ev_reader_first_offset(r) == 0);
	assert_true(ev_reader_end_offset(r) == (uint64_t)count);
	ev_reader_free(r);
}

/* ------------------------------------------------------------ basics */

static void test_append_read_all(void **state)
{
	struct tlog t;
	struct ev_reader *r;
	struct ev_rec rec;
	struct ev_error err;
	uint64_t *segs;
	int i;

	(void)state;
	tlog_create(&t, 0, 1);
	/* an empty log reads as empty */
	r = open_reader(&t);
	assert_int_equal(ev_reader_next(r, &rec, &err), 0);
	assert_true(ev_reader_end_offset(r) == 0);
	assert_int_equal(strlen(ev_reader_log_id(r)), 32);
	assert_string_equal(ev_reader_log_id(r), ev_log_id(t.log));
	ev_reader_free(r);
	/* many small appends, from several writers in turn */
	for (i = 0; i < 10; i++)
		tlog_append(&t, i * 2000, 2000, 1500, tlog_time_inorder);
	read_all_ok(&t, 20000);
	assert_int_equal(tlog_segments(&t, &segs), 1);
	free(segs);
	/* at the end, next keeps saying 0 */
	r = open_reader(&t);
	assert_int_equal(ev_reader_seek(r, 20000, &err), 0);
	assert_int_equal(ev_reader_next(r, &rec, &err), 0);
	assert_int_equal(ev_reader_next(r, &rec, &err), 0);
	ev_reader_free(r);
	ev_reader_free(NULL);
	tlog_free(&t);
}

/* the default writer settings: threaded, synced, large batches */
static void test_threaded_synced_writer(void **state)
{
	struct tlog t;
	struct ev_writer_opts o;
	struct ev_writer *w;
	struct ev_error err;
	struct ev_buf rec = {0};
	uint64_t durable = 0;
	int i;

	(void)state;
	tlog_create(&t, 0, 1);
	memset(&o, 0, sizeof(o));
	o.threaded = 1;
	o.sync = EV_SYNC_BATCH;
	o.sync_set = 1;
	o.batch_events = 700;
	assert_int_equal(ev_writer_open(&w, t.log, &o, &err), 0);
	for (i = 0; i < 5000; i++) {
		tlog_event(i, tlog_time_inorder(i), &rec);
		assert_int_equal(ev_writer_add(w, rec.p, rec.len,
					       tlog_time_inorder(i), &err),
				 0);
	}
	assert_int_equal(ev_writer_flush(w, &err), 0);
	assert_int_equal(ev_writer_pending(w), 0);
	/* group commit: one sync can cover several queued batches */
	durable = ev_writer_syncs(w);
	assert_true(durable >= 1 && durable <= (5000 + 699) / 700);
	assert_int_equal(ev_writer_close(w, &err), 0);
	read_all_ok(&t, 5000);
	ev_buf_free(&rec);
	tlog_free(&t);
}

static void test_segment_roll(void **state)
{
	struct tlog t;
	struct ev_reader *r;
	struct ev_error err;
	struct ev_log_info info;
	uint64_t *segs;
	char path[4300];
	size_t n, i;
	int st;

	(void)state;
	tlog_create(&t, 64 << 10, 0);
	tlog_append(&t, 0, 3000, 2000, tlog_time_inorder);
	tlog_append(&t, 3000, 3000, 2000, tlog_time_inorder);
	n = tlog_segments(&t, &segs);
	if (n < 4)
		fail_msg("only %zu segments for 600 KB at 64 KB each", n);
	for (i = 0; i < n; i++) {
		if (tlog_size(tlog_file(&t, segs[i], "seg", path,
					sizeof(path))) > 64 << 10)
			fail_msg("segment %zu is larger than segment_bytes", i);
		/* segments are named by their first offset */
		if (i > 0)
			assert_true(segs[i] > segs[i - 1]);
	}
	assert_true(segs[0] == 0);
	read_all_ok(&t, 6000);
	/* seek into each segment and read across the rest */
	for (i = 0; i < n; i++) {
		r = open_reader(&t);
		assert_int_equal(ev_reader_seek(r, segs[i] + 1, &err), 0);
		assert_int_equal(read_rest(r, segs[i] + 1, 0, &st, &err),
				 6000 - (int)segs[i] - 1);
		assert_int_equal(st, 0);
		ev_reader_free(r);
	}
	assert_int_equal(ev_log_info(t.log, &info, &err), 0);
	assert_true(info.segments == n);
	assert_true(info.events == 6000);
	assert_true(info.next_offset == 6000);
	free(info.seg);
	free(segs);
	tlog_free(&t);
}

static void test_seek_every_offset(void **state)
{
	struct tlog t;
	struct ev_reader *r;
	struct ev_rec rec;
	struct ev_error err;
	int k, n = 3000;

	(void)state;
	tlog_create(&t, 64 << 10, 1);
	tlog_append(&t, 0, n, 700, tlog_time_inorder);
	r = open_reader(&t);
	for (k = 0; k < n; k++) {
		assert_int_equal(ev_reader_seek(r, (uint64_t)k, &err), 0);
		assert_int_equal(ev_reader_next(r, &rec, &err), 1);
		if (rec.offset != (uint64_t)k || tlog_seq(&rec) != k)
			fail_msg("seek to %d gave offset %llu", k,
				 (unsigned long long)rec.offset);
	}
	/* backwards, and past the end */
	for (k = n - 1; k >= 0; k -= 97) {
		assert_int_equal(ev_reader_seek(r, (uint64_t)k, &err), 0);
		assert_int_equal(ev_reader_next(r, &rec, &err), 1);
		assert_true(rec.offset == (uint64_t)k);
	}
	assert_int_equal(ev_reader_seek(r, (uint64_t)n, &err), 0);
	assert_int_equal(ev_reader_next(r, &rec, &err), 0);
	assert_int_equal(ev_reader_seek(r, UINT64_MAX, &err), 0);
	assert_int_equal(ev_reader_next(r, &rec, &err), 0);
	ev_reader_free(r);
	tlog_free(&t);
}

/* times out of order: event i at a scrambled millisecond */
static ev_time_t scrambled(int i)
{
	uint64_t x = (uint64_t)i * 2654435761u;

	/* mostly increasing, with some events far in the past or future */
	return 1700000000000000000LL + (ev_time_t)i * 1000000 +
	       ((ev_time_t)(x % 2001) - 1000) * 1000000 *
		       (i % 13 == 0 ? 50 : 1);
}

/*
 * Seeking by time is conservative: after ev_reader_seek_time(t), reading
 * on never misses an event whose time is >= t.
 */
static void check_seek_time(struct tlog *t, int n, ev_time_t probe)
{
	struct ev_reader *r = open_reader(t);
	struct ev_rec rec;
	struct ev_error err;
	char *seen = calloc((size_t)n, 1);
	int i, rr;

	assert_non_null(seen);
	assert_int_equal(ev_reader_seek_time(r, probe, &err), 0);
	while ((rr = ev_reader_next(r, &rec, &err)) == 1)
		seen[rec.offset] = 1;
	if (rr != 0)
		fail_msg("reading after seek_time failed: %s", err.msg);
	for (i = 0; i < n; i++)
		if (!seen[i] && scrambled(i) >= probe)
			fail_msg("seek_time(%lld) skipped event %d at %lld",
				 (long long)probe, i, (long long)scrambled(i));
	free(seen);
	ev_reader_free(r);
}

static void test_seek_time_out_of_order(void **state)
{
	struct tlog t;
	ev_time_t lo = INT64_MAX, hi = INT64_MIN, tm;
	int i, n = 4000, seglog;

	(void)state;
	for (seglog = 0; seglog < 2; seglog++) {
		tlog_create(&t, seglog ? 64 << 10 : 0, 1);
		tlog_append(&t, 0, n, 600, scrambled);
		for (i = 0; i < n; i++) {
			tm = scrambled(i);
			lo = tm < lo ? tm : lo;
			hi = tm > hi ? tm : hi;
		}
		check_seek_time(&t, n, lo - 1);
		check_seek_time(&t, n, lo);
		check_seek_time(&t, n, hi);
		check_seek_time(&t, n, hi + 1);
		check_seek_time(&t, n, INT64_MIN + 1);
		check_seek_time(&t, n, INT64_MAX);
		for (i = 0; i < n; i += 37) {
			check_seek_time(&t, n, scrambled(i));
			check_seek_time(&t, n, scrambled(i) + 1);
		}
		tlog_free(&t);
	}
}

/* ------------------------------------------------------------ torn tails */

static void save_file(const char *path, struct ev_buf *b)
{
	size_t n;
	char *p = unit_read_file(path, &n);

	assert_non_null(p);
	b->len = 0;
	assert_int_equal(ev_buf_append(b, p, n), 0);
	free(p);
}

static void restore_file(const char *path, const struct ev_buf *b)
{
	assert_int_equal(unit_write_file(path, b->p, b->len), 0);
}

static void append_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "ab");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void reader_stops_cleanly(struct tlog *t, int want)
{
	struct ev_reader *r = open_reader(t);
	struct ev_error err;
	int st, n;

	n = read_rest(r, 0, 0, &st, &err);
	if (st != 0)
		fail_msg("reader stopped with %d (%s) after %d events", st,
			 err.msg, n);
	if (n != want)
		fail_msg("reader read %d events, want %d", n, want);
	ev_reader_free(r);
}

/*
 * A crash after writing and before publishing: batches past the head's
 * durable end, the last of them torn.
 */
static void make_unpublished_tail(struct tlog *t, struct ev_buf *head,
				  int *published, int *complete)
{
	char seg[4300], hpath[4300];
	struct tbatch *b;
	size_t nb, i;
	off_t size;

	tlog_append(t, 0, 1000, 800, tlog_time_inorder);
	snprintf(hpath, sizeof(hpath), "%s/head", t->path);
	save_file(hpath, head);
	size = tlog_size(tlog_file(t, 0, "seg", seg, sizeof(seg)));
	tlog_append(t, 1000, 300, 800, tlog_time_inorder);
	restore_file(hpath, head);
	/* cut the segment in the middle of the third unpublished batch */
	nb = tlog_batches(seg, &b, NULL);
	for (i = 0; i < nb && b[i].pos < (uint64_t)size; i++)
		;
	assert_true(i + 3 < nb);
	assert_int_equal(truncate(seg, (off_t)(b[i + 2].pos + 40)), 0);
	*published = 1000;
	*complete = (int)b[i + 2].base;
	free(b);
}

static void test_torn_tail_readers(void **state)
{
	struct tlog t;
	struct ev_buf head = {0}, seg0 = {0};
	struct ev_reader *r;
	struct ev_error err;
	char seg[4300], hpath[4300];
	uint8_t garbage[3000];
	int published, complete, st, i;

	(void)state;
	tlog_create(&t, 0, 1);
	make_unpublished_tail(&t, &head, &published, &complete);
	tlog_file(&t, 0, "seg", seg, sizeof(seg));
	snprintf(hpath, sizeof(hpath), "%s/head", t.path);
	/* with the head, reading stops at the durable end */
	reader_stops_cleanly(&t, published);
	/* without it, at the last complete batch */
	assert_int_equal(unlink(hpath), 0);
	reader_stops_cleanly(&t, complete);
	/* a lone segment file reads the same way */
	assert_int_equal(ev_reader_open_segment(&r, seg, &err), 0);
	assert_int_equal(read_rest(r, 0, 0, &st, &err), complete);
	assert_int_equal(st, 0);
	assert_null(ev_reader_watch_path(r));
	ev_reader_free(r);
	restore_file(hpath, &head);

	/* garbage appended after the durable end */
	for (i = 0; i < (int)sizeof(garbage); i++)
		garbage[i] = (uint8_t)(i * 151 + 3);
	save_file(seg, &seg0);
	assert_int_equal(truncate(seg, (off_t)tlog_size(seg) - 40), 0);
	append_bytes(seg, garbage, sizeof(garbage));
	reader_stops_cleanly(&t, published);
	assert_int_equal(unlink(hpath), 0);
	reader_stops_cleanly(&t, complete);
	restore_file(hpath, &head);
	restore_file(seg, &seg0);
	/* a torn tail that is only a batch header */
	{
		struct tbatch *b;
		size_t nb = tlog_batches(seg, &b, NULL);
		assert_int_equal(truncate(seg, (off_t)(b[nb - 1].pos +
						       EV_BATCHHDR_SIZE)),
				 0);
		assert_int_equal(unlink(hpath), 0);
		reader_stops_cleanly(&t, (int)b[nb - 1].base);
		assert_int_equal(truncate(seg, (off_t)(b[nb - 1].pos + 10)), 0);
		reader_stops_cleanly(&t, (int)b[nb - 1].base);
		free(b);
	}
	ev_buf_free(&head);
	ev_buf_free(&seg0);
	tlog_free(&t);
}

static void test_writer_truncates_torn_tail(void **state)
{
	struct tlog t;
	struct ev_buf head = {0};
	char seg[4300], hpath[4300];
	uint8_t garbage[500];
	int published, complete, round;

	(void)state;
	for (round = 0; round < 3; round++) {
		tlog_create(&t, 0, 1);
		make_unpublished_tail(&t, &head, &published, &complete);
		tlog_file(&t, 0, "seg", seg, sizeof(seg));
		snprintf(hpath, sizeof(hpath), "%s/head", t.path);
		if (round == 1) {
			/* the head is lost too */
			assert_int_equal(unlink(hpath), 0);
		} else if (round == 2) {
			/* a fresh log: only garbage past the durable end */
			tlog_free(&t);
			tlog_create(&t, 0, 1);
			tlog_append(&t, 0, 1000, 800, tlog_time_inorder);
			tlog_file(&t, 0, "seg", seg, sizeof(seg));
			memset(garbage, 0xa5, sizeof(garbage));
			append_bytes(seg, garbage, sizeof(garbage));
			complete = 1000;
		}
		t.notices = 0;
		/* the next writer adopts complete batches, cuts the rest
		 * and says so */
		tlog_append(&t, complete, 500, 800, tlog_time_inorder);
		if (t.notices == 0)
			fail_msg("round %d: the torn tail was cut silently",
				 round);
		if (strstr(t.last_notice, "torn tail") == NULL)
			fail_msg("round %d: notice '%s'", round, t.last_notice);
		read_all_ok(&t, complete + 500);
		{
			struct ev_verify_report rep;
			struct ev_error err;
			if (ev_log_verify(t.log, &rep, NULL, NULL, &err) != 0)
				fail_msg("round %d: verify: %s", round,
					 err.msg);
			assert_true(rep.records == (uint64_t)complete + 500);
		}
		tlog_free(&t);
	}
	ev_buf_free(&head);
}

/*
 * Index entries past the durable end, for batches that were never
 * published and are then lost (sync=none and a power cut, or a head
 * update lost with the batch): the writer that cuts the tail must leave
 * indexes that still verify, and readers must stay correct.
 */
static void test_writer_recovery_keeps_indexes_valid(void **state)
{
	struct tlog t;
	struct ev_buf head = {0};
	struct ev_verify_report rep;
	struct ev_reader *r;
	struct ev_rec rec;
	struct ev_error err;
	struct tbatch *b;
	char seg[4300], hpath[4300];
	size_t nb, i;
	int k;

	(void)state;
	tlog_create(&t, 0, 1);
	tlog_append(&t, 0, 1000, 800, tlog_time_inorder);
	snprintf(hpath, sizeof(hpath), "%s/head", t.path);
	save_file(hpath, &head);
	tlog_append(&t, 1000, 600, 800, tlog_time_inorder);
	restore_file(hpath, &head);
	tlog_file(&t, 0, "seg", seg, sizeof(seg));
	nb = tlog_batches(seg, &b, NULL);
	for (i = 0; i < nb && b[i].base < 1000; i++)
		;
	/* the unpublished batches are gone, their index entries are not */
	assert_int_equal(truncate(seg, (off_t)b[i].pos + 30), 0);
	free(b);
	t.notices = 0;
	tlog_append(&t, 1000, 900, 500, tlog_time_inorder);
	assert_true(t.notices > 0);
	r = open_reader(&t);
	for (k = 0; k < 1900; k += 7) {
		assert_int_equal(ev_reader_seek(r, (uint64_t)k, &err), 0);
		assert_int_equal(ev_reader_next(r, &rec, &err), 1);
		assert_true(rec.offset == (uint64_t)k && tlog_seq(&rec) == k);
	}
	ev_reader_free(r);
	if (ev_log_verify(t.log, &rep, NULL, NULL, &err) != 0)
		fail_msg("after the writer's tail repair, verify says: %s",
			 err.msg);
	ev_buf_free(&head);
	tlog_free(&t);
}

/* ------------------------------------------------------------ damage */

static void expect_damage(struct tlog *t, int readable, uint64_t seg_base,
			  const struct tbatch *bad)
{
	struct ev_reader *r;
	struct ev_error err;
	char want[128];
	int st, n;

	if (ev_reader_open(&r, t->log, &err) != 0) {
		/* refusing to open at all is fine too, if it says why */
		assert_int_equal(err.code, EV_EDATA);
		return;
	}
	ev_reader_set_readahead(r, g_ra);
	n = read_rest(r, 0, 0, &st, &err);
	if (st != EV_EDATA)
		fail_msg(
			"damage at byte %llu: reader returned %d after %d events",
			(unsigned long long)bad->pos, st, n);
	assert_int_equal(n, readable);
	snprintf(want, sizeof(want), "segment %020llu, offset %llu, byte %llu",
		 (unsigned long long)seg_base, (unsigned long long)bad->base,
		 (unsigned long long)bad->pos);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	ev_reader_free(r);
}

static void test_damage_then_valid_batch(void **state)
{
	struct tlog t;
	struct tbatch *b;
	struct ev_buf seg0 = {0};
	char seg[4300], hpath[4300];
	size_t nb;
	int where, k;

	(void)state;
	tlog_create(&t, 0, 1);
	tlog_append(&t, 0, 2000, 800, tlog_time_inorder);
	tlog_file(&t, 0, "seg", seg, sizeof(seg));
	snprintf(hpath, sizeof(hpath), "%s/head", t.path);
	nb = tlog_batches(seg, &b, NULL);
	assert_true(nb > 10);
	save_file(seg, &seg0);
	k = (int)nb / 2;
	/* a payload byte, a header byte, the length field, the salt */
	for (where = 0; where < 4; where++) {
		static const int at[] = {EV_BATCHHDR_SIZE + 5, 20, 1, 50};
		restore_file(seg, &seg0);
		tlog_flip(seg, (off_t)b[k].pos + at[where], 0x40);
		expect_damage(&t, (int)b[k].base, 0, &b[k]);
		/* without the head, a valid batch after the damage still
		 * makes it damage, not a torn tail */
		{
			struct ev_buf h = {0};
			save_file(hpath, &h);
			assert_int_equal(unlink(hpath), 0);
			expect_damage(&t, (int)b[k].base, 0, &b[k]);
			restore_file(hpath, &h);
			ev_buf_free(&h);
		}
	}
	restore_file(seg, &seg0);
	read_all_ok(&t, 2000);
	free(b);
	ev_buf_free(&seg0);
	tlog_free(&t);
}

/* damage in a sealed segment, with later segments intact */
static void test_damage_in_earlier_segment(void **state)
{
	struct tlog t;
	struct tbatch *b;
	uint64_t *segs;
	char seg[4300];
	size_t n, nb;

	(void)state;
	tlog_create(&t, 64 << 10, 0);
	tlog_append(&t, 0, 3000, 1500, tlog_time_inorder);
	n = tlog_segments(&t, &segs);
	assert_true(n >= 3);
	tlog_file(&t, segs[1], "seg", seg, sizeof(seg));
	nb = tlog_batches(seg, &b, NULL);
	assert_true(nb > 3);
	tlog_flip(seg, (off_t)b[nb - 1].pos + EV_BATCHHDR_SIZE + 2, 0x01);
	/* the last batch of a sealed segment is damage, not a torn tail */
	expect_damage(&t, (int)b[nb - 1].base, segs[1], &b[nb - 1]);
	free(b);
	free(segs);
	tlog_free(&t);
}

static void test_writer_refuses_damage(void **state)
{
	struct tlog t;
	struct tbatch *b;
	struct ev_buf before = {0}, after = {0}, head = {0};
	struct ev_writer *w;
	struct ev_writer_opts o;
	struct ev_error err;
	char seg[4300], hpath[4300];
	size_t nb, i;
	int round, published, complete;

	(void)state;
	for (round = 0; round < 2; round++) {
		tlog_create(&t, 0, 1);
		tlog_file(&t, 0, "seg", seg, sizeof(seg));
		snprintf(hpath, sizeof(hpath), "%s/head", t.path);
		if (round == 0) {
			/* head lost, damage in the middle of the segment */
			tlog_append(&t, 0, 2000, 800, tlog_time_inorder);
			nb = tlog_batches(seg, &b, NULL);
			tlog_flip(seg, (off_t)b[nb / 2].pos + 70, 0x10);
			assert_int_equal(unlink(hpath), 0);
		} else {
			/* unpublished batches, the first of them damaged */
			make_unpublished_tail(&t, &head, &published, &complete);
			nb = tlog_batches(seg, &b, NULL);
			for (i = 0; i < nb && b[i].base < 1000; i++)
				;
			tlog_flip(seg, (off_t)b[i].pos + 70, 0x10);
		}
		free(b);
		save_file(seg, &before);
		memset(&o, 0, sizeof(o));
		o.notice = tlog_notice;
		o.ctx = &t;
		if (ev_writer_open(&w, t.log, &o, &err) != EV_EDATA)
			fail_msg("round %d: the writer accepted a damaged log",
				 round);
		if (strstr(err.msg, "segment") == NULL ||
		    strstr(err.msg, "byte") == NULL)
			fail_msg("round %d: message '%s'", round, err.msg);
		if (err.remedy != EV_REMEDY_VERIFY_REPAIR ||
		    strcmp(err.subject, t.path) != 0)
			fail_msg("round %d: remedy %d for '%s'", round,
				 err.remedy, err.subject);
		/* and nothing was cut */
		save_file(seg, &after);
		assert_int_equal(after.len, before.len);
		assert_memory_equal(after.p, before.p, before.len);
		tlog_free(&t);
	}
	ev_buf_free(&before);
	ev_buf_free(&after);
	ev_buf_free(&head);
}

/* ------------------------------------------------------------ the log */

static void test_log_create_open(void **state)
{
	struct ev_log_config cfg;
	struct ev_error err;
	struct ev_log *log;
	struct tlog t;
	char other[4300];

	(void)state;
	tlog_create(&t, 0, 3);
	assert_int_equal(strlen(ev_log_id(t.log)), 32);
	assert_string_equal(ev_log_path(t.log), t.path);
	assert_int_equal(ev_log_get_config(t.log)->level, 3);
	assert_true(ev_log_created(t.log) > 0);
	/* creating over an existing log fails */
	ev_log_config_init(&cfg);
	assert_int_equal(ev_log_create(t.path, &cfg, &err), EV_ERR);
	assert_non_null(strstr(err.msg, "already exists"));
	/* bad settings */
	snprintf(other, sizeof(other), "%s/other", t.dir);
	cfg.segment_bytes = 1000;
	assert_int_equal(ev_log_create(other, &cfg, &err), EV_EUSAGE);
	ev_log_config_init(&cfg);
	cfg.level = 20;
	assert_int_equal(ev_log_create(other, &cfg, &err), EV_EUSAGE);
	/* a missing log */
	assert_int_equal(ev_log_open(&log, other, &err), EV_ENOENT);
	assert_null(log);
	assert_int_equal(ev_exit_code(EV_ENOENT), 66);
	/* not a log: 'not an evlog log' (66), not damaged */
	assert_int_equal(ev_log_open(&log, t.dir, &err), EV_ENOENT);
	assert_non_null(strstr(err.msg, "not an evlog log"));
	ev_log_close(NULL);
	tlog_free(&t);
}

/* ------------------------------------------------------------ read-ahead */

/* the tests above again, with two read-ahead threads */
static void with_ra2(void (*f)(void **), void **state)
{
	g_ra = 2;
	f(state);
	g_ra = 1;
}

static void test_ra2_again(void **state)
{
	with_ra2(test_append_read_all, state);
	with_ra2(test_segment_roll, state);
	with_ra2(test_seek_every_offset, state);
	with_ra2(test_torn_tail_readers, state);
	with_ra2(test_damage_then_valid_batch, state);
	with_ra2(test_damage_in_earlier_segment, state);
}

/*
 * Damage in each batch the ring may hold when the reader gets there: the
 * next one and those queued behind it, with the reader slow (the ring
 * full) or fast.  The events before it are all read, then the damage is
 * reported where it is, as without read-ahead.
 */
static void test_ra_damage_in_ring(void **state)
{
	struct tlog t;
	struct tbatch *b;
	struct ev_buf seg0 = {0};
	struct ev_reader *r;
	struct ev_rec rec;
	struct ev_error err;
	char seg[4300];
	size_t nb;
	int k, th, slow, n, st;

	(void)state;
	tlog_create(&t, 0, 1);
	tlog_append(&t, 0, 3000, 800, tlog_time_inorder);
	tlog_file(&t, 0, "seg", seg, sizeof(seg));
	nb = tlog_batches(seg, &b, NULL);
	assert_true(nb > 12);
	save_file(seg, &seg0);
	for (th = 1; th <= 2; th++)
		for (k = 1; k < 10; k++)
			for (slow = 0; slow < 2; slow++) {
				restore_file(seg, &seg0);
				tlog_flip(seg,
					  (off_t)b[k].pos + EV_BATCHHDR_SIZE +
						  3,
					  0x10);
				g_ra = th;
				r = open_reader(&t);
				/* the first batch, then the ring fills */
				assert_int_equal(ev_reader_next(r, &rec, &err),
						 1);
				if (slow)
					usleep(20000);
				n = 1 + read_rest(r, 1, 0, &st, &err);
				if (st != EV_EDATA)
					fail_msg("threads %d, damage in batch "
						 "%d: %d after %d events",
						 th, k, st, n);
				assert_int_equal(n, (int)b[k].base);
				{
					char want[128];
					snprintf(want, sizeof(want),
						 "offset %llu, byte %llu",
						 (unsigned long long)b[k].base,
						 (unsigned long long)b[k].pos);
					if (strstr(err.msg, want) == NULL)
						fail_msg("'%s' lacks '%s'",
							 err.msg, want);
				}
				/* and it says so again */
				assert_int_equal(ev_reader_next(r, &rec, &err),
						 EV_EDATA);
				ev_reader_free(r);
			}
	g_ra = 1;
	restore_file(seg, &seg0);
	free(b);
	ev_buf_free(&seg0);
	tlog_free(&t);
}

/* Seeks (by offset and by time) while batches are queued in the ring,
 * across segments, forwards and back. */
static void test_ra_seek_while_queued(void **state)
{
	struct tlog t;
	struct ev_reader *r;
	struct ev_rec rec;
	struct ev_error err;
	int n = 4000, th, i, j, k;
	uint64_t x = 12345;

	(void)state;
	tlog_create(&t, 64 << 10, 1);
	tlog_append(&t, 0, n, 700, tlog_time_inorder);
	for (th = 1; th <= 2; th++) {
		g_ra = th;
		r = open_reader(&t);
		for (i = 0; i < 300; i++) {
			x = x * 6364136223846793005u + 1442695040888963407u;
			k = (int)((x >> 33) % (uint64_t)n);
			if (i % 3 == 0) {
				assert_int_equal(ev_reader_seek_time(
							 r,
							 tlog_time_inorder(k),
							 &err),
						 0);
				/* a seek by time may start earlier */
				do
					assert_int_equal(ev_reader_next(r, &rec,
									&err),
							 1);
				while (rec.offset < (uint64_t)k);
			} else {
				assert_int_equal(ev_reader_seek(r, (uint64_t)k,
								&err),
						 0);
				assert_int_equal(ev_reader_next(r, &rec, &err),
						 1);
			}
			if (rec.offset != (uint64_t)k || tlog_seq(&rec) != k)
				fail_msg("threads %d: seek to %d gave %llu", th,
					 k, (unsigned long long)rec.offset);
			/* read on through a few batches, sometimes letting
			 * the ring fill first */
			if (i % 5 == 0)
				usleep(2000);
			for (j = 1; j < (int)(x >> 60) * 40 && k + j < n; j++) {
				assert_int_equal(ev_reader_next(r, &rec, &err),
						 1);
				assert_true(rec.offset == (uint64_t)(k + j));
				assert_int_equal(tlog_seq(&rec), k + j);
			}
		}
		/* to the end, and past it */
		assert_int_equal(ev_reader_seek(r, (uint64_t)n - 5, &err), 0);
		for (j = 0; j < 5; j++)
			assert_int_equal(ev_reader_next(r, &rec, &err), 1);
		assert_int_equal(ev_reader_next(r, &rec, &err), 0);
		assert_int_equal(ev_reader_next(r, &rec, &err), 0);
		assert_int_equal(ev_reader_seek(r, 17, &err), 0);
		assert_int_equal(read_rest(r, 17, 0, &j, &err), n - 17);
		assert_int_equal(j, 0);
		ev_reader_free(r);
	}
	g_ra = 1;
	tlog_free(&t);
}

/*
 * Follow: the reader at its end, or in the middle with the ring full,
 * while a writer appends (and rolls segments); after a refresh it reads
 * on, every event once and in order.
 */
static void test_ra_follow_refresh(void **state)
{
	struct tlog t;
	struct ev_reader *r;
	struct ev_rec rec;
	struct ev_error err;
	int th, round, st, at, j;

	(void)state;
	for (th = 1; th <= 2; th++) {
		g_ra = th;
		tlog_create(&t, 64 << 10, 1);
		tlog_append(&t, 0, 1000, 700, tlog_time_inorder);
		r = open_reader(&t);
		assert_int_equal(read_rest(r, 0, 0, &st, &err), 1000);
		assert_int_equal(st, 0);
		at = 1000;
		for (round = 0; round < 6; round++) {
			tlog_append(&t, at, 1000, 700, tlog_time_inorder);
			assert_int_equal(ev_reader_refresh(r, &err), 1);
			if (round % 2 == 0) {
				/* to the end */
				assert_int_equal(read_rest(r, (uint64_t)at, 0,
							   &st, &err),
						 1000);
				assert_int_equal(st, 0);
				at += 1000;
				continue;
			}
			/* a few events, the ring fills, the log grows */
			for (j = 0; j < 10; j++) {
				assert_int_equal(ev_reader_next(r, &rec, &err),
						 1);
				assert_true(rec.offset == (uint64_t)(at + j));
			}
			usleep(10000);
			tlog_append(&t, at + 1000, 1000, 700,
				    tlog_time_inorder);
			assert_int_equal(ev_reader_refresh(r, &err), 1);
			assert_int_equal(read_rest(r, (uint64_t)at + 10, 0, &st,
						   &err),
					 1990);
			assert_int_equal(st, 0);
			at += 2000;
		}
		assert_int_equal(ev_reader_next(r, &rec, &err), 0);
		assert_true(ev_reader_end_offset(r) == (uint64_t)at);
		ev_reader_free(r);
		tlog_free(&t);
	}
	g_ra = 1;
}

/* A lone segment file that grows (evtail -f of a .seg file), and one
 * whose tail is torn: the ring stops where the reader would. */
static void test_ra_lone_segment(void **state)
{
	struct tlog t;
	struct ev_reader *r;
	struct ev_error err;
	struct ev_buf seg0 = {0};
	struct tbatch *b;
	char seg[4300];
	size_t nb;
	int th, st;

	(void)state;
	tlog_create(&t, 0, 1);
	tlog_append(&t, 0, 1000, 700, tlog_time_inorder);
	tlog_file(&t, 0, "seg", seg, sizeof(seg));
	save_file(seg, &seg0);
	tlog_append(&t, 1000, 1000, 700, tlog_time_inorder);
	nb = tlog_batches(seg, &b, NULL);
	for (th = 1; th <= 2; th++) {
		struct ev_buf full = {0};
		save_file(seg, &full);
		restore_file(seg, &seg0);
		assert_int_equal(ev_reader_open_segment(&r, seg, &err), 0);
		ev_reader_set_readahead(r, th);
		assert_int_equal(read_rest(r, 0, 0, &st, &err), 1000);
		assert_int_equal(st, 0);
		/* it grows, torn in the middle of a batch */
		assert_int_equal(unit_write_file(seg, full.p,
						 (size_t)b[nb - 3].pos + 100),
				 0);
		assert_int_equal(ev_reader_refresh(r, &err), 1);
		assert_int_equal(read_rest(r, 1000, 0, &st, &err),
				 (int)b[nb - 4].base + (int)b[nb - 4].count -
					 1000);
		assert_int_equal(st, 0);
		/* the rest of it is written */
		restore_file(seg, &full);
		assert_int_equal(ev_reader_refresh(r, &err), 1);
		assert_int_equal(read_rest(r, b[nb - 3].base, 0, &st, &err),
				 2000 - (int)b[nb - 3].base);
		assert_int_equal(st, 0);
		ev_reader_free(r);
		ev_buf_free(&full);
	}
	free(b);
	ev_buf_free(&seg0);
	tlog_free(&t);
}

/* the basic tests again, with no read-ahead thread: the reader reads
 * each batch itself */
static void test_ra0_again(void **state)
{
	g_ra = 0;
	test_append_read_all(state);
	test_segment_roll(state);
	test_seek_every_offset(state);
	test_torn_tail_readers(state);
	test_damage_then_valid_batch(state);
	g_ra = 1;
}

/* A reader that keeps its batch reads up to offset at, then is freed:
 * its log keeps the batch of at.  The readers after it (g_ra) read
 * with 0, 1 or 2 threads. */
static void probe_at(struct tlog *t, uint64_t at)
{
	struct ev_reader *r;
	struct ev_rec rec;
	struct ev_error err;

	r = open_reader(t);
	/* as evtail's probe reads (lib/explain.c): with no read-ahead
	 * thread, the batch it stops in is its own, not a ring slot's */
	ev_reader_set_readahead(r, 0);
	ev_reader_keep_batch(r);
	if (at > 0)
		assert_int_equal(ev_reader_seek(r, at, &err), 0);
	assert_int_equal(ev_reader_next(r, &rec, &err), 1);
	assert_true(rec.offset == at);
	ev_reader_free(r);
	assert_non_null(t->log->spare);
}

/*
 * The batch a probe leaves: the next reader that reads it takes it (its
 * payload damaged on disk since then is not seen), one that passes it by
 * or starts after it drops it, and either reads every event right.
 */
static void test_spare_batch(void **state)
{
	struct tlog t;
	struct ev_reader *r;
	struct ev_error err;
	struct ev_buf seg0 = {0};
	struct tbatch *b;
	char seg[4300];
	size_t nb, k;
	int th, st;

	(void)state;
	tlog_create(&t, 0, 1);
	tlog_append(&t, 0, 3000, 800, tlog_time_inorder);
	tlog_file(&t, 0, "seg", seg, sizeof(seg));
	nb = tlog_batches(seg, &b, NULL);
	assert_true(nb > 12);
	save_file(seg, &seg0);
	for (th = 0; th <= 2; th++) {
		g_ra = th;
		/* the first batch, then damage in its payload: the reader
		 * after the probe reads the batch the probe left */
		probe_at(&t, 0);
		tlog_flip(seg, (off_t)b[0].pos + EV_BATCHHDR_SIZE + 3, 0x10);
		r = open_reader(&t);
		assert_int_equal(read_rest(r, 0, 0, &st, &err), 3000);
		assert_int_equal(st, 0);
		assert_null(t.log->spare);
		ev_reader_free(r);
		/* without it, the damage is seen */
		r = open_reader(&t);
		assert_int_equal(read_rest(r, 0, 0, &st, &err), 0);
		assert_int_equal(st, EV_EDATA);
		ev_reader_free(r);
		restore_file(seg, &seg0);
		/* a batch further on: kept until the read, or the thread
		 * reading ahead, comes to it */
		k = nb / 2;
		probe_at(&t, b[k].base + 1);
		tlog_flip(seg, (off_t)b[k].pos + EV_BATCHHDR_SIZE + 3, 0x10);
		r = open_reader(&t);
		assert_int_equal(read_rest(r, 0, 0, &st, &err), 3000);
		assert_int_equal(st, 0);
		assert_null(t.log->spare);
		ev_reader_free(r);
		restore_file(seg, &seg0);
		/* a read that starts past it drops it */
		probe_at(&t, b[k].base);
		r = open_reader(&t);
		assert_int_equal(ev_reader_seek(r, b[k + 1].base, &err), 0);
		assert_int_equal(read_rest(r, b[k + 1].base, 0, &st, &err),
				 3000 - (int)b[k + 1].base);
		assert_int_equal(st, 0);
		assert_null(t.log->spare);
		ev_reader_free(r);
		/* and one that seeks into it reads it from where it seeks */
		probe_at(&t, b[k].base);
		r = open_reader(&t);
		assert_int_equal(ev_reader_seek(r, b[k].base + 2, &err), 0);
		assert_int_equal(read_rest(r, b[k].base + 2, 0, &st, &err),
				 3000 - (int)b[k].base - 2);
		assert_int_equal(st, 0);
		ev_reader_free(r);
		/* a log closed with one frees it (leak checks) */
		probe_at(&t, b[k].base);
	}
	g_ra = 1;
	free(b);
	ev_buf_free(&seg0);
	tlog_free(&t);
}

/* ev_reader_find_last() of type T3 (every fifth event, 3 on) over a log
 * of several segments: it reads backwards, and the read that follows
 * from where it says gives the last n, in order. */
static void check_find_last(struct tlog *t, struct ev_filter *f, int n,
			    int count)
{
	struct ev_reader *r = open_reader(t);
	struct ev_rec rec;
	struct ev_error err;
	uint64_t at;
	int matched = count / 5 + (count % 5 > 3), want, got = 0, rr;

	assert_int_equal(ev_reader_find_last(r, f, (uint64_t)n, &at, &err), 0);
	want = n > matched ? 0 : 3 + 5 * (matched - n);
	if (at != (uint64_t)want)
		fail_msg("-n %d: at %llu, not %d", n, (unsigned long long)at,
			 want);
	assert_int_equal(ev_reader_seek(r, at, &err), 0);
	while ((rr = ev_reader_next(r, &rec, &err)) == 1) {
		assert_true(rec.offset == at);
		assert_int_equal(tlog_seq(&rec), (int)at);
		got += at % 5 == 3;
		at++;
	}
	assert_int_equal(rr, 0);
	assert_true(at == (uint64_t)count);
	assert_int_equal(got, n < matched ? n : matched);
	ev_reader_free(r);
}

static void test_find_last(void **state)
{
	static const int ns[] = {1, 2, 3, 40, 333, 599, 600, 601, 5000};
	struct ev_filter *f = ev_filter_new();
	struct tlog t;
	struct tbatch *b;
	uint64_t *segs, at;
	struct ev_reader *r;
	struct ev_error err;
	char seg[4300];
	size_t i, nseg, nb;

	(void)state;
	assert_non_null(f);
	assert_int_equal(ev_filter_add_type(f, "T3"), 0);
	tlog_create(&t, 64 << 10, 0);
	tlog_append(&t, 0, 3000, 1500, tlog_time_inorder);
	nseg = tlog_segments(&t, &segs);
	assert_true(nseg >= 3);
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		check_find_last(&t, f, ns[i], 3000);
	/* none of the type, and none at all */
	r = open_reader(&t);
	ev_filter_free(f);
	f = ev_filter_new();
	assert_int_equal(ev_filter_add_type(f, "T9"), 0);
	assert_int_equal(ev_reader_find_last(r, f, 5, &at, &err), 0);
	assert_true(at == 0);
	ev_reader_free(r);
	ev_filter_free(f);
	f = ev_filter_new();
	assert_int_equal(ev_filter_add_type(f, "T3"), 0);
	/* damage in the first segment is not read for the last few
	 * matches (as without a filter), and stops a search that goes
	 * back to it */
	tlog_file(&t, segs[0], "seg", seg, sizeof(seg));
	nb = tlog_batches(seg, &b, NULL);
	assert_true(nb > 1);
	tlog_flip(seg, (off_t)b[0].pos + EV_BATCHHDR_SIZE + 2, 0x01);
	check_find_last(&t, f, 3, 3000);
	r = open_reader(&t);
	assert_int_equal(ev_reader_find_last(r, f, 600, &at, &err), EV_EDATA);
	ev_reader_free(r);
	free(b);
	free(segs);
	ev_filter_free(f);
	tlog_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_create_open),
		cmocka_unit_test(test_append_read_all),
		cmocka_unit_test(test_threaded_synced_writer),
		cmocka_unit_test(test_segment_roll),
		cmocka_unit_test(test_seek_every_offset),
		cmocka_unit_test(test_seek_time_out_of_order),
		cmocka_unit_test(test_torn_tail_readers),
		cmocka_unit_test(test_writer_truncates_torn_tail),
		cmocka_unit_test(test_writer_recovery_keeps_indexes_valid),
		cmocka_unit_test(test_damage_then_valid_batch),
		cmocka_unit_test(test_damage_in_earlier_segment),
		cmocka_unit_test(test_writer_refuses_damage),
		cmocka_unit_test(test_ra2_again),
		cmocka_unit_test(test_ra_damage_in_ring),
		cmocka_unit_test(test_ra_seek_while_queued),
		cmocka_unit_test(test_ra_follow_refresh),
		cmocka_unit_test(test_ra_lone_segment),
		cmocka_unit_test(test_ra0_again),
		cmocka_unit_test(test_spare_batch),
		cmocka_unit_test(test_find_last),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
