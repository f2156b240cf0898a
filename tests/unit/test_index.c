/*
 * test_index.c - lib/index.c: the sparse offset (.idx) and time (.tix)
 * indexes of a segment, and the guarantee that they are only caches.
 *
 * A log is written through the public API with small batches, so there
 * are many batches between index entries.  The index lookups must give
 * the right entries; with the indexes missing or corrupted in any way,
 * seeks by offset and by time must still be right; ev_index_rebuild must
 * reproduce the writer's files byte for byte; ev_log_verify must notice a
 * bad entry and ev_log_repair must fix it.
 */
#include "logutil.h"

#define N 20000

/* mostly increasing, some events late or early */
static ev_time_t jittered(int i)
{
	uint64_t x = (uint64_t)i * 2654435761u;

	return 1700000000000000000LL + (ev_time_t)i * 1000000 +
	       ((ev_time_t)(x % 201) - 100) * 1000000;
}

struct fixture {
	struct tlog t;
	char seg[4300], idx[4300], tix[4300];
	struct tbatch *b;
	size_t nb;
	uint64_t salt;
	struct ev_head head;
	struct ev_buf idx0, tix0; /* the writer's index files */
};

static void load(const char *path, struct ev_buf *b)
{
	size_t n;
	char *p = unit_read_file(path, &n);

	if (p == NULL)
		fail_msg("cannot read '%s'", path);
	b->len = 0;
	assert_int_equal(ev_buf_append(b, p, n), 0);
	free(p);
}

static void store(const char *path, const struct ev_buf *b)
{
	assert_int_equal(unit_write_file(path, b->p, b->len), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tlog_create(&f->t, 0, 1);
	/* three writers in turn: the index continues across them */
	tlog_append(&f->t, 0, 7000, 500, jittered);
	tlog_append(&f->t, 7000, 6000, 700, jittered);
	tlog_append(&f->t, 13000, N - 13000, 400, jittered);
	tlog_file(&f->t, 0, "seg", f->seg, sizeof(f->seg));
	tlog_file(&f->t, 0, "idx", f->idx, sizeof(f->idx));
	tlog_file(&f->t, 0, "tix", f->tix, sizeof(f->tix));
	f->nb = tlog_batches(f->seg, &f->b, &f->salt);
	assert_int_equal(ev_head_read(f->t.log->dirfd, &f->head), 0);
	load(f->idx, &f->idx0);
	load(f->tix, &f->tix0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->b);
	ev_buf_free(&f->idx0);
	ev_buf_free(&f->tix0);
	tlog_free(&f->t);
	free(f);
	return 0;
}

/* put the writer's indexes back */
static void restore(struct fixture *f)
{
	store(f->idx, &f->idx0);
	store(f->tix, &f->tix0);
}

static const struct tbatch *batch_at(const struct fixture *f, uint64_t pos)
{
	size_t i;

	for (i = 0; i < f->nb; i++)
		if (f->b[i].pos == pos)
			return &f->b[i];
	return NULL;
}

/* the shape of the log the other tests rely on */
static void test_fixture_shape(void **state)
{
	struct fixture *f = *state;
	size_t entries = (f->idx0.len - EV_IDXHDR_SIZE) / EV_IDX_ENTRY, i;
	uint64_t prev = EV_SEGHDR_SIZE;

	assert_true(f->nb > 1000);
	assert_true(entries > 50);
	assert_int_equal((f->idx0.len - EV_IDXHDR_SIZE) % EV_IDX_ENTRY, 0);
	assert_int_equal((f->tix0.len - EV_IDXHDR_SIZE) % EV_TIX_ENTRY, 0);
	/* entries are at least 4 KiB apart, several batches each */
	for (i = 0; i < entries; i++) {
		uint64_t pos = ev_get32(f->idx0.p + EV_IDXHDR_SIZE + i * 8 + 4);
		assert_true(pos - prev >= EV_INDEX_INTERVAL);
		assert_non_null(batch_at(f, pos));
		prev = pos;
	}
	assert_true(f->nb / entries >= 5);
}

/* ------------------------------------------------------------ lookups */

static void test_index_find(void **state)
{
	struct fixture *f = *state;
	size_t entries = (f->idx0.len - EV_IDXHDR_SIZE) / EV_IDX_ENTRY, k;
	const uint8_t *e = f->idx0.p + EV_IDXHDR_SIZE;
	uint64_t pos, off, target, limit;
	int found, want;
	const struct tbatch *b;

	(void)state;
	restore(f);
	limit = f->head.end;
	for (target = 0; target < N; target++) {
		/* the last entry at or before target */
		want = -1;
		for (k = 0; k < entries && ev_get32(e + k * 8) <= target; k++)
			want = (int)k;
		found = ev_index_find(f->t.log->dirfd, 0, f->salt, target,
				      limit, &pos, &off);
		if (want < 0) {
			assert_int_equal(found, 0);
			continue;
		}
		if (!found || off != ev_get32(e + want * 8) ||
		    pos != ev_get32(e + want * 8 + 4))
			fail_msg("target %llu: got %d pos %llu off %llu",
				 (unsigned long long)target, found,
				 (unsigned long long)pos,
				 (unsigned long long)off);
		b = batch_at(f, pos);
		assert_non_null(b);
		assert_true(b->base == off && off <= target);
	}
	/* entries at or past the limit are not used */
	k = entries / 2;
	limit = ev_get32(e + k * 8 + 4);
	assert_int_equal(ev_index_find(f->t.log->dirfd, 0, f->salt, N - 1,
				       limit, &pos, &off),
			 1);
	assert_true(pos == ev_get32(e + (k - 1) * 8 + 4));
	/* another segment's salt: the file is not ours */
	assert_int_equal(ev_index_find(f->t.log->dirfd, 0, f->salt ^ 1, N - 1,
				       f->head.end, &pos, &off),
			 0);
}

static void test_tindex_find(void **state)
{
	struct fixture *f = *state;
	size_t entries = (f->tix0.len - EV_IDXHDR_SIZE) / EV_TIX_ENTRY, k;
	const uint8_t *e = f->tix0.p + EV_IDXHDR_SIZE;
	ev_time_t t, tmax, T;
	uint64_t off, entry;
	int i, found, want;

	(void)state;
	restore(f);
	assert_true(entries > 50);
	for (k = 0; k < entries; k++)
		assert_true(ev_tix_entry_ok(e + k * EV_TIX_ENTRY, f->salt));
	for (i = 0; i < N; i += 3) {
		t = jittered(i) + (i % 2);
		want = -1;
		for (k = 0; k < entries; k++) {
			T = (ev_time_t)ev_get64(e + k * EV_TIX_ENTRY);
			if (T < t)
				want = (int)k;
		}
		found = ev_tindex_find(f->t.log->dirfd, 0, f->salt, t, &off,
				       &tmax, &entry);
		if (want < 0) {
			assert_int_equal(found, 0);
			continue;
		}
		assert_int_equal(found, 1);
		assert_true(off == ev_get32(e + want * EV_TIX_ENTRY + 8));
		assert_true(tmax ==
			    (ev_time_t)ev_get64(e + want * EV_TIX_ENTRY));
		assert_true(tmax < t);
	}
	/* what an entry promises: every event before it is at or before T */
	for (k = 0; k < entries; k++) {
		T = (ev_time_t)ev_get64(e + k * EV_TIX_ENTRY);
		off = ev_get32(e + k * EV_TIX_ENTRY + 8);
		for (i = 0; i < (int)off; i++)
			if (jittered(i) > T)
				fail_msg(
					"tix entry %zu: event %d at %lld is after "
					"its time %lld",
					k, i, (long long)jittered(i),
					(long long)T);
	}
}

/* ------------------------------------------------------------ readers */

/* seeks by offset and by time are right, whatever the indexes say */
static void check_reader(struct fixture *f, const char *what)
{
	struct ev_reader *r;
	struct ev_rec rec;
	struct ev_error err;
	char *seen;
	int k, i, rr;
	ev_time_t t;

	if (ev_reader_open(&r, f->t.log, &err) != 0)
		fail_msg("%s: ev_reader_open: %s", what, err.msg);
	for (k = 0; k < N; k += 53) {
		if (ev_reader_seek(r, (uint64_t)k, &err) != 0)
			fail_msg("%s: seek %d: %s", what, k, err.msg);
		rr = ev_reader_next(r, &rec, &err);
		if (rr != 1 || rec.offset != (uint64_t)k || tlog_seq(&rec) != k)
			fail_msg("%s: seek to %d gave %d, offset %llu", what, k,
				 rr, (unsigned long long)rec.offset);
	}
	seen = malloc(N);
	assert_non_null(seen);
	for (k = 0; k < N; k += 2857) {
		t = jittered(k);
		memset(seen, 0, N);
		if (ev_reader_seek_time(r, t, &err) != 0)
			fail_msg("%s: seek_time: %s", what, err.msg);
		while ((rr = ev_reader_next(r, &rec, &err)) == 1)
			seen[rec.offset] = 1;
		if (rr != 0)
			fail_msg("%s: reading after seek_time: %s", what,
				 err.msg);
		for (i = 0; i < N; i++)
			if (!seen[i] && jittered(i) >= t)
				fail_msg("%s: seek_time(%lld) skipped event %d",
					 what, (long long)t, i);
	}
	free(seen);
	ev_reader_free(r);
}

static void test_reader_with_indexes(void **state)
{
	struct fixture *f = *state;

	restore(f);
	check_reader(f, "intact indexes");
}

static void test_scan_fallback(void **state)
{
	struct fixture *f = *state;
	uint64_t pos, off, entry;
	ev_time_t tmax;

	assert_int_equal(unlink(f->idx), 0);
	assert_int_equal(unlink(f->tix), 0);
	assert_int_equal(ev_index_find(f->t.log->dirfd, 0, f->salt, N / 2,
				       f->head.end, &pos, &off),
			 0);
	assert_int_equal(ev_tindex_find(f->t.log->dirfd, 0, f->salt,
					jittered(N / 2), &off, &tmax, &entry),
			 0);
	check_reader(f, "no indexes");
	/* empty index files (header only) */
	{
		struct ev_buf h = {0};
		assert_int_equal(ev_buf_append(&h, f->idx0.p, EV_IDXHDR_SIZE),
				 0);
		store(f->idx, &h);
		h.len = 0;
		assert_int_equal(ev_buf_append(&h, f->tix0.p, EV_IDXHDR_SIZE),
				 0);
		store(f->tix, &h);
		ev_buf_free(&h);
	}
	check_reader(f, "empty indexes");
	restore(f);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd32(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

enum damage {
	D_POS_PLUS_ONE,
	D_POS_NEXT_ENTRY,
	D_REL_PLUS_THREE,
	D_REL_ZERO_POS_RANDOM,
	D_GARBAGE,
	D_BAD_HEADER,
	D_TRUNCATED_AND_BEYOND,
	D_REVERSED,
	D_TIX_BIT_FLIPS,
	D_TIX_TIMES_ZERO,
	D_COUNT
};

static const char *const damage_name[] = {
	"idx positions off by one",
	"idx positions of the next entry",
	"idx offsets off by three",
	"idx offsets zero, positions random",
	"garbage in both files",
	"bad headers",
	"truncated entries and entries past the end",
	"entries in reverse order",
	"tix bits flipped",
	"tix times zeroed",
};

static void apply_damage(struct fixture *f, enum damage d)
{
	struct ev_buf idx = {0}, tix = {0};
	size_t ni, nt, k;
	uint8_t *e;

	assert_int_equal(ev_buf_append(&idx, f->idx0.p, f->idx0.len), 0);
	assert_int_equal(ev_buf_append(&tix, f->tix0.p, f->tix0.len), 0);
	ni = (idx.len - EV_IDXHDR_SIZE) / EV_IDX_ENTRY;
	nt = (tix.len - EV_IDXHDR_SIZE) / EV_TIX_ENTRY;
	e = idx.p + EV_IDXHDR_SIZE;
	switch (d) {
	case D_POS_PLUS_ONE:
		for (k = 0; k < ni; k++)
			ev_put32(e + k * 8 + 4, ev_get32(e + k * 8 + 4) + 1);
		break;
	case D_POS_NEXT_ENTRY:
		for (k = 0; k + 1 < ni; k++)
			ev_put32(e + k * 8 + 4, ev_get32(e + (k + 1) * 8 + 4));
		break;
	case D_REL_PLUS_THREE:
		for (k = 0; k < ni; k++)
			ev_put32(e + k * 8, ev_get32(e + k * 8) + 3);
		break;
	case D_REL_ZERO_POS_RANDOM:
		for (k = 0; k < ni; k++) {
			ev_put32(e + k * 8, 0);
			ev_put32(e + k * 8 + 4,
				 rnd32() % (uint32_t)f->head.end);
		}
		break;
	case D_GARBAGE:
		for (k = EV_IDXHDR_SIZE; k < idx.len; k++)
			idx.p[k] = (uint8_t)rnd32();
		for (k = EV_IDXHDR_SIZE; k < tix.len; k++)
			tix.p[k] = (uint8_t)rnd32();
		break;
	case D_BAD_HEADER:
		idx.p[3] ^= 1;
		tix.p[9] ^= 1; /* the salt */
		break;
	case D_TRUNCATED_AND_BEYOND:
		ev_put32(e + (ni - 1) * 8, 0x7fffffff);
		ev_put32(e + (ni - 1) * 8 + 4, 0x7fffffff);
		idx.len -= 3;
		tix.len -= 5;
		break;
	case D_REVERSED:
		for (k = 0; k < ni / 2; k++) {
			uint8_t tmp[8];
			memcpy(tmp, e + k * 8, 8);
			memcpy(e + k * 8, e + (ni - 1 - k) * 8, 8);
			memcpy(e + (ni - 1 - k) * 8, tmp, 8);
		}
		break;
	case D_TIX_BIT_FLIPS:
		for (k = 0; k < nt; k++)
			tix.p[EV_IDXHDR_SIZE + k * EV_TIX_ENTRY +
			      rnd32() % 12] ^= (uint8_t)(1u << (rnd32() % 8));
		break;
	case D_TIX_TIMES_ZERO:
		for (k = 0; k < nt; k++)
			memset(tix.p + EV_IDXHDR_SIZE + k * EV_TIX_ENTRY, 0, 8);
		break;
	default:
		break;
	}
	store(f->idx, &idx);
	store(f->tix, &tix);
	ev_buf_free(&idx);
	ev_buf_free(&tix);
}

static void test_corrupt_indexes(void **state)
{
	struct fixture *f = *state;
	int d;

	for (d = 0; d < D_COUNT; d++) {
		apply_damage(f, (enum damage)d);
		check_reader(f, damage_name[d]);
	}
	restore(f);
}

/*
 * A time entry whose checksum is right but whose offset is not (a
 * crafted file, or a writer bug): the reader cannot tell from the entry
 * alone, and must still never skip an event at or after the time.
 */
static void test_tix_wrong_offset_valid_checksum(void **state)
{
	struct fixture *f = *state;
	struct ev_buf tix = {0};
	size_t nt, k;
	uint8_t *e;

	assert_int_equal(ev_buf_append(&tix, f->tix0.p, f->tix0.len), 0);
	nt = (tix.len - EV_IDXHDR_SIZE) / EV_TIX_ENTRY;
	e = tix.p + EV_IDXHDR_SIZE;
	/* each entry names the offset of the entry after the next */
	for (k = 0; k + 2 < nt; k++)
		ev_tix_entry(e + k * EV_TIX_ENTRY,
			     (ev_time_t)ev_get64(e + k * EV_TIX_ENTRY),
			     ev_get32(e + (k + 2) * EV_TIX_ENTRY + 8), f->salt);
	store(f->tix, &tix);
	ev_buf_free(&tix);
	check_reader(f, "tix offsets moved on, checksums recomputed");
	restore(f);
}

/* ------------------------------------------------------------ rebuild */

static void test_rebuild_equals_writer(void **state)
{
	struct fixture *f = *state;
	struct ev_buf idx = {0}, tix = {0};
	struct ev_error err;
	uint64_t li = 0;
	ev_time_t mt = 0;

	assert_int_equal(unlink(f->idx), 0);
	apply_damage(f, D_GARBAGE);
	assert_int_equal(unlink(f->tix), 0);
	if (ev_index_rebuild(f->t.log, 0, f->salt, f->head.end, &li, &mt,
			     &err) != 0)
		fail_msg("ev_index_rebuild: %s", err.msg);
	load(f->idx, &idx);
	load(f->tix, &tix);
	assert_int_equal(idx.len, f->idx0.len);
	assert_memory_equal(idx.p, f->idx0.p, idx.len);
	assert_int_equal(tix.len, f->tix0.len);
	assert_memory_equal(tix.p, f->tix0.p, tix.len);
	assert_true(li == f->head.last_index);
	assert_true(mt == f->head.max_time);
	ev_buf_free(&idx);
	ev_buf_free(&tix);
	restore(f);
}

/* the same across segment rolls: every segment's files */
static void test_rebuild_multi_segment(void **state)
{
	struct tlog t;
	struct ev_buf a[2] = {{0}}, b[2] = {{0}};
	struct ev_error err;
	struct ev_head head;
	struct tbatch *bt;
	uint64_t *segs, salt, limit;
	char path[4300];
	const char *ext[2] = {"idx", "tix"};
	size_t n, i;
	int x;

	(void)state;
	tlog_create(&t, 64 << 10, 0);
	tlog_append(&t, 0, 4000, 300, jittered);
	tlog_append(&t, 4000, 4000, 900, jittered);
	n = tlog_segments(&t, &segs);
	assert_true(n >= 4);
	assert_int_equal(ev_head_read(t.log->dirfd, &head), 0);
	for (i = 0; i < n; i++) {
		tlog_file(&t, segs[i], "seg", path, sizeof(path));
		tlog_batches(path, &bt, &salt);
		free(bt);
		/* sealed segments end at their size, the last at the head */
		limit = i + 1 == n ? head.end : (uint64_t)tlog_size(path);
		for (x = 0; x < 2; x++) {
			tlog_file(&t, segs[i], ext[x], path, sizeof(path));
			load(path, &a[x]);
			assert_int_equal(unlink(path), 0);
		}
		assert_int_equal(ev_index_rebuild(t.log, segs[i], salt, limit,
						  NULL, NULL, &err),
				 0);
		for (x = 0; x < 2; x++) {
			tlog_file(&t, segs[i], ext[x], path, sizeof(path));
			load(path, &b[x]);
			if (a[x].len != b[x].len ||
			    memcmp(a[x].p, b[x].p, a[x].len) != 0)
				fail_msg(
					"segment %zu: rebuilt .%s differs from "
					"the writer's",
					i, ext[x]);
		}
	}
	/* ev_log_repair rebuilds them all, and verify agrees */
	for (i = 0; i < n; i++) {
		tlog_file(&t, segs[i], "idx", path, sizeof(path));
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(ev_log_repair(t.log, 0, NULL, NULL, &err), 0);
	{
		struct ev_verify_report rep;
		assert_int_equal(ev_log_verify(t.log, &rep, NULL, NULL, &err),
				 0);
		assert_true(rep.segments == n);
		assert_true(rep.records == 8000);
	}
	free(segs);
	for (x = 0; x < 2; x++) {
		ev_buf_free(&a[x]);
		ev_buf_free(&b[x]);
	}
	tlog_free(&t);
}

/* ------------------------------------------------------------ verify */

static void verify_ok(struct fixture *f)
{
	struct ev_verify_report rep;
	struct ev_error err;

	if (ev_log_verify(f->t.log, &rep, NULL, NULL, &err) != 0)
		fail_msg("verify: %s", err.msg);
	assert_true(rep.records == N);
	assert_true(rep.batches == f->nb);
	assert_true(rep.segments == 1);
	assert_true(rep.index_problems == 0);
}

static void verify_index_problem(struct fixture *f, const char *what)
{
	struct ev_verify_report rep;
	struct ev_error err;

	if (ev_log_verify(f->t.log, &rep, NULL, NULL, &err) != EV_EDATA)
		fail_msg("%s: verify passed", what);
	if (strstr(err.msg, "index") == NULL)
		fail_msg("%s: message '%s'", what, err.msg);
	if (err.remedy != EV_REMEDY_REPAIR_INDEXES ||
	    strcmp(err.subject, f->t.path) != 0)
		fail_msg("%s: remedy %d for '%s'", what, err.remedy,
			 err.subject);
	assert_true(rep.index_problems == 1);
}

static void repair_restores(struct fixture *f, const char *what)
{
	struct ev_buf idx = {0}, tix = {0};
	struct ev_error err;

	if (ev_log_repair(f->t.log, 0, NULL, NULL, &err) != 0)
		fail_msg("%s: repair: %s", what, err.msg);
	verify_ok(f);
	load(f->idx, &idx);
	load(f->tix, &tix);
	if (idx.len != f->idx0.len || memcmp(idx.p, f->idx0.p, idx.len) != 0 ||
	    tix.len != f->tix0.len || memcmp(tix.p, f->tix0.p, tix.len) != 0)
		fail_msg("%s: repaired indexes differ from the writer's", what);
	ev_buf_free(&idx);
	ev_buf_free(&tix);
}

static void test_verify_and_repair(void **state)
{
	struct fixture *f = *state;
	static const enum damage detectable[] = {
		D_POS_PLUS_ONE,	 D_POS_NEXT_ENTRY, D_REL_PLUS_THREE,
		D_GARBAGE,	 D_BAD_HEADER,	   D_REVERSED,
		D_TIX_BIT_FLIPS, D_TIX_TIMES_ZERO,
	};
	size_t i;

	restore(f);
	verify_ok(f);
	/* one entry pointing at the wrong position */
	{
		struct ev_buf idx = {0};
		assert_int_equal(ev_buf_append(&idx, f->idx0.p, f->idx0.len),
				 0);
		ev_put32(idx.p + EV_IDXHDR_SIZE + 5 * 8 + 4,
			 ev_get32(idx.p + EV_IDXHDR_SIZE + 5 * 8 + 4) + 64);
		store(f->idx, &idx);
		ev_buf_free(&idx);
	}
	verify_index_problem(f, "one wrong entry");
	repair_restores(f, "one wrong entry");
	for (i = 0; i < sizeof(detectable) / sizeof(detectable[0]); i++) {
		apply_damage(f, detectable[i]);
		verify_index_problem(f, damage_name[detectable[i]]);
		repair_restores(f, damage_name[detectable[i]]);
	}
	/* missing files */
	assert_int_equal(unlink(f->tix), 0);
	verify_index_problem(f, "missing tix");
	repair_restores(f, "missing tix");
	assert_int_equal(unlink(f->idx), 0);
	verify_index_problem(f, "missing idx");
	repair_restores(f, "missing idx");
}

/* bskip: the summary of a batch's records (evlog(5) Summaries) */
static size_t put_rec(uint8_t *o, const char *id, const char *type,
		      const char *stream)
{
	uint8_t r[128], *q = r;
	size_t n;

	*q++ = stream ? 0x84 : 0x83;
	*q++ = 1;
	*q++ = (uint8_t)(0xa0 | strlen(id));
	memcpy(q, id, strlen(id));
	q += strlen(id);
	*q++ = 2;
	*q++ = (uint8_t)(0xa0 | strlen(type));
	memcpy(q, type, strlen(type));
	q += strlen(type);
	if (stream) {
		*q++ = 3;
		*q++ = (uint8_t)(0xa0 | strlen(stream));
		memcpy(q, stream, strlen(stream));
		q += strlen(stream);
	}
	memcpy(q, "\x05\xd6\xff\x00\x00\x00\x01", 7);
	q += 7;
	n = (size_t)(q - r);
	o[0] = (uint8_t)n; /* one-byte varint */
	memcpy(o + 1, r, n);
	return n + 1;
}

static void test_summary_body(void **state)
{
	uint8_t raw[4096], body[EV_SUM_BODY], e[EV_SIX_ENTRY];
	uint64_t k;
	size_t n = 0;
	char t[16];
	struct ev_batchhdr h;
	int i;

	(void)state;
	n += put_rec(raw + n, "a", "Alpha", "order-1");
	n += put_rec(raw + n, "b", "Beta", "order-2");
	n += put_rec(raw + n, "c", "Alpha", NULL);
	n += put_rec(raw + n, "d", "Alpha", "cart");
	assert_int_equal(ev_summary_body(body, raw, n), 0);
	/* exact: Alpha, Beta, order, cart */
	assert_int_equal(body[0], 0);
	assert_int_equal(body[1], 4);
	k = ev_sum_type_key("Alpha", 5);
	assert_true(ev_sum_may_hold(body, &k, 1));
	k = ev_sum_type_key("Gamma", 5);
	assert_false(ev_sum_may_hold(body, &k, 1));
	k = ev_sum_stream_key("order-77", 8);
	assert_true(ev_sum_may_hold(body, &k, 1));
	k = ev_sum_stream_key("order", 5);
	assert_true(ev_sum_may_hold(body, &k, 1));
	k = ev_sum_stream_key("cart-1", 6);
	assert_true(ev_sum_may_hold(body, &k, 1));
	/* a type named like a category is another key */
	k = ev_sum_type_key("order", 5);
	assert_false(ev_sum_may_hold(body, &k, 1));
	/* the entry: checked, and tied to its batch */
	memset(&h, 0, sizeof(h));
	h.base = 107;
	h.count = 4;
	h.payload_crc = 0x12345678;
	ev_six_entry(e, 7, 4160, &h, body, 99);
	assert_true(ev_six_entry_ok(e, 99));
	assert_false(ev_six_entry_ok(e, 98));
	assert_true(ev_six_entry_matches(e, 100, 4160, &h, 99));
	assert_false(ev_six_entry_matches(e, 100, 4224, &h, 99));
	h.count = 5;
	assert_false(ev_six_entry_matches(e, 100, 4160, &h, 99));
	h.count = 4;
	e[30] ^= 1;
	assert_false(ev_six_entry_ok(e, 99));
	/* more than ten names: a Bloom filter that holds every one */
	n = 0;
	for (i = 0; i < 12; i++) {
		snprintf(t, sizeof(t), "Type%02d", i);
		n += put_rec(raw + n, "x", t, NULL);
	}
	assert_int_equal(ev_summary_body(body, raw, n), 0);
	assert_int_equal(body[0], 1);
	assert_int_equal(body[1], 0);
	for (i = 0; i < 12; i++) {
		snprintf(t, sizeof(t), "Type%02d", i);
		k = ev_sum_type_key(t, strlen(t));
		assert_true(ev_sum_may_hold(body, &k, 1));
	}
	/* a record that does not read: no summary */
	raw[1] = 0x90;
	assert_int_equal(ev_summary_body(body, raw, n), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_shape),
		cmocka_unit_test(test_summary_body),
		cmocka_unit_test(test_index_find),
		cmocka_unit_test(test_tindex_find),
		cmocka_unit_test(test_reader_with_indexes),
		cmocka_unit_test(test_scan_fallback),
		cmocka_unit_test(test_corrupt_indexes),
		cmocka_unit_test(test_tix_wrong_offset_valid_checksum),
		cmocka_unit_test(test_rebuild_equals_writer),
		cmocka_unit_test(test_verify_and_repair),
		cmocka_unit_test_setup_teardown(test_rebuild_multi_segment,
						NULL, NULL),
	};

	return cmocka_run_group_tests_name("index", tests, setup, teardown);
}
