/*
 * test_state.c - lib/state.c and lib/stream.c through the public API:
 * the streams of a log as ev_state_load() finds them, with and without
 * a snapshot, with a damaged or a stale one; one stream looked up
 * (ev_state_lookup) and read along its links (ev_stream_read).
 *
 * Event i of a test log has id "e<i>" and offset i; it belongs to
 * stream "s<i % 3>", except every fifth, which has no stream.  The
 * writer numbers each stream's versions from 1, so every figure a test
 * expects is computed from i alone.
 */
#include <dirent.h>

#include "logutil.h"

#define N 300 /* events appended by setup */
#define NSTREAMS 3

/* the stream of event i, -1 for none */
static int stream_of(int i)
{
	return i % 5 == 4 ? -1 : i % 3;
}

/* what the state should say about stream s after events 0..n-1 */
static void expect(int s, int n, struct ev_stream_info *want)
{
	int i;

	memset(want, 0, sizeof(*want));
	want->first_offset = want->last_offset = EV_NO_PREV;
	for (i = 0; i < n; i++) {
		if (stream_of(i) != s)
			continue;
		if (want->first_offset == EV_NO_PREV)
			want->first_offset = (uint64_t)i;
		want->last_offset = (uint64_t)i;
		want->count++;
		want->last_version = want->count;
	}
}

static void assert_info(const struct ev_stream_info *got,
			const struct ev_stream_info *want, int s)
{
	if (got->last_version != want->last_version ||
	    got->last_offset != want->last_offset ||
	    got->first_offset != want->first_offset ||
	    got->count != want->count)
		fail_msg("stream s%d: version %llu, offsets %llu..%llu, count "
			 "%llu; want %llu, %llu..%llu, %llu",
			 s, (unsigned long long)got->last_version,
			 (unsigned long long)got->first_offset,
			 (unsigned long long)got->last_offset,
			 (unsigned long long)got->count,
			 (unsigned long long)want->last_version,
			 (unsigned long long)want->first_offset,
			 (unsigned long long)want->last_offset,
			 (unsigned long long)want->count);
}

static void append(struct tlog *t, int from, int count)
{
	struct ev_writer_opts o;
	struct ev_writer *w;
	struct ev_error err;
	struct ev_buf rec = {0};
	struct ev_fields f;
	char id[16], stream[8];
	ev_time_t tm;
	int i;

	memset(&o, 0, sizeof(o));
	o.notice = tlog_notice;
	o.ctx = t;
	if (ev_writer_open(&w, t->log, &o, &err) != 0)
		fail_msg("ev_writer_open: %s", err.msg);
	for (i = from; i < from + count; i++) {
		snprintf(id, sizeof(id), "e%07d", i);
		snprintf(stream, sizeof(stream), "s%d", stream_of(i));
		tm = tlog_time_inorder(i);
		ev_fields_init(&f);
		f.id = id;
		f.id_n = strlen(id);
		f.type = "T";
		f.type_n = 1;
		f.time = tm;
		if (stream_of(i) >= 0) {
			f.stream = stream;
			f.stream_n = strlen(stream);
		}
		rec.len = 0;
		if (ev_record_encode(&f, tm, &rec, NULL, &err) != 0)
			fail_msg("ev_record_encode: %s", err.msg);
		if (ev_writer_add(w, rec.p, rec.len, tm, &err) != 0)
			fail_msg("ev_writer_add: %s", err.msg);
	}
	if (ev_writer_close(w, &err) != 0)
		fail_msg("ev_writer_close: %s", err.msg);
	ev_buf_free(&rec);
}

static int setup(void **state)
{
	struct tlog *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	tlog_create(t, 0, 1);
	append(t, 0, N);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tlog *t = *state;

	tlog_free(t);
	free(t);
	return 0;
}

static struct ev_state *load(struct tlog *t, int want_ids)
{
	struct ev_state *st;
	struct ev_error err;

	if (ev_state_load(&st, t->log, want_ids, &err) != 0)
		fail_msg("ev_state_load: %s", err.msg);
	return st;
}

/* every stream of st against events 0..n-1 */
static void check_streams(struct ev_state *st, int n)
{
	struct ev_stream_info got, want;
	char name[8];
	int s;

	assert_int_equal(ev_state_stream_count(st), NSTREAMS);
	for (s = 0; s < NSTREAMS; s++) {
		snprintf(name, sizeof(name), "s%d", s);
		assert_int_equal(ev_state_stream(st, name, strlen(name), &got),
				 1);
		assert_ptr_equal(got.name, name);
		assert_int_equal(got.name_len, strlen(name));
		expect(s, n, &want);
		assert_info(&got, &want, s);
	}
	/* no such stream, nor one named by a prefix or an extension */
	assert_int_equal(ev_state_stream(st, "s9", 2, &got), 0);
	assert_int_equal(ev_state_stream(st, "s", 1, &got), 0);
	assert_int_equal(ev_state_stream(st, "s10", 3, &got), 0);
}

static void state_path(const struct tlog *t, const char *name, char *buf,
		       size_t n)
{
	snprintf(buf, n, "%s/state/%s", t->path, name);
}

/* ------------------------------------------------------------ loading */

static void test_load(void **state)
{
	struct tlog *t = *state;
	struct ev_state *st = load(t, 0);

	check_streams(st, N);
	ev_state_free(st);
	/* with the dedupe ids: the same streams, and the ids */
	st = load(t, 1);
	check_streams(st, N);
	ev_state_free(st);
	ev_state_free(NULL);
}

static void test_load_ids(void **state)
{
	struct tlog *t = *state;
	struct ev_state *st = load(t, 1);
	uint64_t offs[4];

	assert_int_equal(ev_state_id_candidates(st, "e0000123", 8, offs, 4), 1);
	assert_int_equal(offs[0], 123);
	assert_int_equal(ev_state_id_candidates(st, "e9999999", 8, offs, 4), 0);
	ev_state_free(st);
	/* without them, none */
	st = load(t, 0);
	assert_int_equal(ev_state_id_candidates(st, "e0000123", 8, offs, 4), 0);
	ev_state_free(st);
}

/* Room made ahead (a writer's hint) keeps every id, and the ids
 * applied after it are found as before. */
static void test_reserve_ids(void **state)
{
	struct tlog *t = *state;
	struct ev_state *st = load(t, 1);
	struct ev_str id, stream = {NULL, 0};
	struct ev_error err;
	uint64_t offs[4], n;
	uint8_t hdr[64];
	char buf[16], path[4400];
	long size;
	FILE *f;
	int i;

	assert_int_equal(ev_state_reserve_ids(st, 0), 0);
	assert_int_equal(ev_state_reserve_ids(st, 50000), 0);
	/* more than the window: bounded by it, not an error */
	assert_int_equal(ev_state_reserve_ids(st, UINT64_MAX / 2), 0);
	assert_int_equal(ev_state_reserve_ids(st, UINT64_MAX), 0);
	assert_int_equal(ev_state_id_candidates(st, "e0000123", 8, offs, 4), 1);
	assert_int_equal(offs[0], 123);
	for (i = N; i < N + 5000; i++) {
		snprintf(buf, sizeof(buf), "e%07d", i);
		id.p = buf;
		id.n = strlen(buf);
		assert_int_equal(ev_state_apply(st, &id, &stream, 0,
						(uint64_t)i),
				 0);
	}
	for (i = 0; i < N + 5000; i += 7) {
		snprintf(buf, sizeof(buf), "e%07d", i);
		assert_int_equal(ev_state_id_candidates(st, buf, strlen(buf),
							offs, 4),
				 1);
		assert_int_equal(offs[0], (uint64_t)i);
	}
	assert_int_equal(ev_state_id_candidates(st, "e9999999", 8, offs, 4), 0);
	/* the ids file, written as it is built from the table sized
	 * ahead, holds every id: its header and size */
	if (ev_state_snapshot(st, &err) != 0)
		fail_msg("ev_state_snapshot: %s", err.msg);
	ev_state_free(st);
	state_path(t, "ids", path, sizeof(path));
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	fclose(f);
	n = ev_get64(hdr + 40);
	assert_int_equal(n, N + 5000);
	assert_int_equal(size, 64 + n * 16 + 4 * ((n + 255) / 256));
	assert_int_equal(ev_get32(hdr + 60), ev_crc32c(0, hdr, 60));
}

/* Names of 8 to 16 bytes (compared by two overlapping words) that
 * differ only in their first, a middle or their last byte are
 * different streams, even under one hash (forced here). */
static void test_short_names(void **state)
{
	struct tlog *t = *state;
	struct ev_state *st = load(t, 0);
	struct ev_sref ref;
	char names[3][20];
	size_t n, k, m;
	uint64_t off = N, sh;

	for (n = 8; n <= 16; n++) {
		sh = 0x5eed0000 + n;
		for (k = 0; k < 3; k++) {
			memset(names[k], 'a', n);
			names[k][n] = 0;
		}
		names[1][0] = 'b';
		names[2][n - 1] = 'c';
		names[2][n / 2] = 'c';
		for (k = 0; k < 3; k++)
			for (m = 0; m <= k; m++) {
				memset(&ref, 0, sizeof(ref));
				ev_state_stream_h(st, names[k], n, sh, &ref);
				assert_int_equal(ev_state_apply_h(st, &ref,
								  names[k], n,
								  sh, 0, m + 1,
								  off++),
						 0);
			}
		for (k = 0; k < 3; k++) {
			assert_int_equal(ev_state_stream_h(st, names[k], n, sh,
							   &ref),
					 1);
			assert_int_equal(ref.count, k + 1);
			assert_int_equal(ref.last_version, k + 1);
		}
		/* nor is a name one byte shorter or longer */
		assert_int_equal(ev_state_stream_h(st, names[0], n - 1, sh,
						   &ref),
				 0);
		memset(names[0] + n, 'a', 2);
		assert_int_equal(ev_state_stream_h(st, names[0], n + 1, sh,
						   &ref),
				 0);
	}
	ev_state_free(st);
}

struct seen {
	int calls, stop_at;
	uint64_t count[NSTREAMS];
	int times[NSTREAMS];
};

static int visit(void *ctx, const struct ev_stream_info *s)
{
	struct seen *v = ctx;
	int k;

	v->calls++;
	assert_int_equal(s->name_len, 2);
	assert_int_equal(s->name[0], 's');
	k = s->name[1] - '0';
	assert_true(k >= 0 && k < NSTREAMS);
	v->times[k]++;
	v->count[k] = s->count;
	return v->calls == v->stop_at ? 7 : 0;
}

static void test_foreach(void **state)
{
	struct tlog *t = *state;
	struct ev_state *st = load(t, 0);
	struct ev_stream_info want;
	struct seen v;
	int s;

	/* each stream once, with its count */
	memset(&v, 0, sizeof(v));
	assert_int_equal(ev_state_foreach_stream(st, visit, &v), 0);
	assert_int_equal(v.calls, NSTREAMS);
	for (s = 0; s < NSTREAMS; s++) {
		expect(s, N, &want);
		assert_int_equal(v.times[s], 1);
		assert_int_equal(v.count[s], want.count);
	}
	/* fn's first non-zero stops it, and is returned */
	memset(&v, 0, sizeof(v));
	v.stop_at = 2;
	assert_int_equal(ev_state_foreach_stream(st, visit, &v), 7);
	assert_int_equal(v.calls, 2);
	ev_state_free(st);
}

/* ------------------------------------------------------------ snapshots */

static void snapshot(struct tlog *t)
{
	struct ev_state *st = load(t, 1);
	struct ev_error err;

	if (ev_state_snapshot(st, &err) != 0)
		fail_msg("ev_state_snapshot: %s", err.msg);
	ev_state_free(st);
}

static void test_snapshot(void **state)
{
	struct tlog *t = *state;
	struct ev_state *st;
	struct ev_error err;
	char dir[4400];
	struct dirent *de;
	DIR *d;
	int files = 0;

	/* none yet: a writer makes one only every few thousand events */
	assert_int_equal(ev_state_snapshot_status(t->log, UINT64_MAX, &err), 0);
	snapshot(t);
	assert_int_equal(ev_state_snapshot_status(t->log, UINT64_MAX, &err), 1);
	/* the two files, and nothing else (no temporary) */
	snprintf(dir, sizeof(dir), "%s/state", t->path);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.') {
			files++;
			assert_true(strcmp(de->d_name, "streams") == 0 ||
				    strcmp(de->d_name, "ids") == 0);
		}
	closedir(d);
	assert_int_equal(files, 2);
	/* loaded from it, the same */
	st = load(t, 1);
	check_streams(st, N);
	ev_state_free(st);
	/* checked against a shorter log, as after a cut, it is stale */
	assert_int_equal(ev_state_snapshot_status(t->log, N - 1, &err), 2);
	assert_int_equal(ev_state_snapshot_status(t->log, N, &err), 1);
	/* events after it are replayed on top of it */
	append(t, N, 100);
	assert_int_equal(ev_state_snapshot_status(t->log, UINT64_MAX, &err), 1);
	st = load(t, 0);
	check_streams(st, N + 100);
	ev_state_free(st);
}

/* A table puts an entry first at the slot of its hash's top bits, and
 * a snapshot reads the table in slot order: entries of the last slot
 * wrap round to the start, among entries at home there (hashes forced
 * here), and the files still hold every one in order, each found again
 * by its hash. */
static uint64_t wrapped_hash(int k)
{
	return k % 2 ? UINT64_MAX - (uint64_t)k : (uint64_t)k + 1;
}

static void test_snapshot_wrapped(void **state)
{
	struct tlog *t = *state;
	struct ev_state *st = load(t, 1);
	struct ev_sref ref;
	struct ev_error err;
	char name[16];
	uint64_t offs[4], h;
	int k;

	for (k = 0; k < 40; k++) {
		h = wrapped_hash(k);
		snprintf(name, sizeof(name), "w%d", k);
		memset(&ref, 0, sizeof(ref));
		assert_int_equal(ev_state_stream_h(st, name, strlen(name), h,
						   &ref),
				 0);
		assert_int_equal(ev_state_apply_h(st, &ref, name, strlen(name),
						  h, h, 1, (uint64_t)k),
				 0);
	}
	if (ev_state_snapshot(st, &err) != 0)
		fail_msg("ev_state_snapshot: %s", err.msg);
	ev_state_free(st);
	/* from the snapshot alone: nothing after it to replay */
	st = load(t, 1);
	for (k = 0; k < 40; k++) {
		h = wrapped_hash(k);
		snprintf(name, sizeof(name), "w%d", k);
		assert_int_equal(ev_state_stream_h(st, name, strlen(name), h,
						   &ref),
				 1);
		assert_null(ref.ov);
		assert_int_equal(ref.count, 1);
		assert_int_equal(ref.last_offset, k);
		assert_int_equal(ev_state_id_candidates_h(st, h, offs, 4), 1);
		assert_int_equal(offs[0], k);
	}
	assert_int_equal(ev_state_stream_count(st), NSTREAMS + 40);
	ev_state_free(st);
}

/* More ids than the ids file is written in at once (65,536 entries):
 * it takes several writes, its pages' checksums run on across them, and
 * every id is found again from the file alone. */
static void test_snapshot_chunks(void **state)
{
	struct tlog *t = *state;
	struct ev_state *st = load(t, 1);
	struct ev_sref ref;
	struct ev_error err;
	uint64_t offs[8], h, k;
	const uint64_t n = 200000;
	size_t c, j;
	int found;

	for (k = 0; k < n; k++) {
		h = ev_hash64(&k, sizeof(k));
		memset(&ref, 0, sizeof(ref));
		assert_int_equal(ev_state_apply_h(st, &ref, NULL, 0, 0, h, 0,
						  k % N),
				 0);
	}
	if (ev_state_snapshot(st, &err) != 0)
		fail_msg("ev_state_snapshot: %s", err.msg);
	ev_state_free(st);
	st = load(t, 1);
	assert_int_equal(ev_state_damaged(st), 0);
	/* every one: the file is sorted by hash, so only all of them
	 * reach every page of every chunk */
	for (k = 0; k < n; k++) {
		h = ev_hash64(&k, sizeof(k));
		c = ev_state_id_candidates_h(st, h, offs, 8);
		for (found = 0, j = 0; j < c && j < 8; j++)
			found |= offs[j] == k % N;
		if (!found)
			fail_msg("id %llu not found in the snapshot",
				 (unsigned long long)k);
	}
	assert_int_equal(ev_state_damaged(st), 0);
	ev_state_free(st);
}

static void test_damaged_snapshot(void **state)
{
	struct tlog *t = *state;
	struct ev_state *st;
	struct ev_stream_info got, want;
	struct ev_error err;
	char path[4400];
	uint64_t end;

	snapshot(t);
	/* one byte of the first entry: its page no longer checks out */
	state_path(t, "streams", path, sizeof(path));
	tlog_flip(path, 64 + 8, 0x01);
	assert_int_equal(ev_state_snapshot_status(t->log, UINT64_MAX, &err), 2);
	/* the state is the log's all the same */
	st = load(t, 1);
	check_streams(st, N);
	ev_state_free(st);
	assert_int_equal(ev_state_lookup(t->log, "s0", 2, &got, &end, &err), 1);
	expect(0, N, &want);
	assert_info(&got, &want, 0);
	/* a writer's state, read by page, cannot be merged into a new
	 * snapshot: the error says so, and what mends it */
	if (ev_state_load_lazy(&st, t->log, 1, 1, &err) != 0)
		fail_msg("ev_state_load_lazy: %s", err.msg);
	assert_int_equal(ev_state_snapshot(st, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "is damaged"));
	assert_non_null(strstr(err.msg, t->path));
	assert_null(strstr(err.msg, "evctl"));
	assert_int_equal(err.remedy, EV_REMEDY_REPAIR_STATE);
	assert_string_equal(err.subject, t->path);
	ev_state_free(st);
	/* and a snapshot made from the log replaces the damaged one */
	snapshot(t);
	assert_int_equal(ev_state_snapshot_status(t->log, UINT64_MAX, &err), 1);
}

/* ------------------------------------------------------------ one stream */

static void test_lookup(void **state)
{
	struct tlog *t = *state;
	struct ev_stream_info got, want;
	struct ev_error err;
	uint64_t end = 0;
	int s, pass;

	/* without a snapshot, then with one and events after it */
	for (pass = 0; pass < 2; pass++) {
		int n = pass ? N + 50 : N;
		if (pass) {
			snapshot(t);
			append(t, N, 50);
		}
		for (s = 0; s < NSTREAMS; s++) {
			char name[8];
			snprintf(name, sizeof(name), "s%d", s);
			assert_int_equal(ev_state_lookup(t->log, name,
							 strlen(name), &got,
							 &end, &err),
					 1);
			expect(s, n, &want);
			assert_info(&got, &want, s);
			assert_int_equal(end, n);
		}
		assert_int_equal(ev_state_lookup(t->log, "nope", 4, &got, &end,
						 &err),
				 0);
		assert_int_equal(got.count, 0);
		assert_int_equal(end, n);
	}
}

struct walk {
	int n, stop_at;
	uint64_t off[N];
	uint64_t ver[N];
};

static int walk_one(void *ctx, const struct ev_rec *rec)
{
	struct walk *w = ctx;
	struct ev_event ev;
	struct ev_error err;

	if (ev_event_decode(rec->p, rec->n, &ev, &err) != 0)
		fail_msg("offset %llu: %s", (unsigned long long)rec->offset,
			 err.msg);
	assert_true(w->n < N);
	w->off[w->n] = rec->offset;
	w->ver[w->n] = ev.version;
	w->n++;
	return w->n == w->stop_at ? 5 : 0;
}

/* stream s read with from_version and last: the versions from..to,
 * each at the offset of that event */
static void read_stream(struct tlog *t, int s, uint64_t from_version,
			uint64_t last, uint64_t want_from, uint64_t want_to)
{
	struct walk *w = calloc(1, sizeof(*w));
	struct ev_error err;
	uint64_t end = 0, v = 0;
	char name[8];
	int i, k = 0;

	assert_non_null(w);
	snprintf(name, sizeof(name), "s%d", s);
	assert_int_equal(ev_stream_read(t->log, name, strlen(name),
					from_version, last, walk_one, w, &end,
					&err),
			 0);
	assert_int_equal(end, N);
	assert_int_equal(w->n,
			 want_to >= want_from ? want_to - want_from + 1 : 0);
	for (i = 0; i < N; i++) {
		if (stream_of(i) != s)
			continue;
		v++;
		if (v < want_from || v > want_to)
			continue;
		assert_int_equal(w->off[k], i);
		assert_int_equal(w->ver[k], v);
		k++;
	}
	assert_int_equal(k, w->n);
	free(w);
}

static void test_stream_read(void **state)
{
	struct tlog *t = *state;
	struct ev_stream_info want;
	struct walk *w;
	struct ev_error err;
	uint64_t end, k;

	expect(1, N, &want);
	k = want.count;
	assert_true(k > 10);
	/* all, oldest first (from_version 0 and 1 both mean all) */
	read_stream(t, 1, 0, 0, 1, k);
	read_stream(t, 1, 1, 0, 1, k);
	/* from a version on */
	read_stream(t, 1, 5, 0, 5, k);
	read_stream(t, 1, k, 0, k, k);
	read_stream(t, 1, k + 1, 0, 1, 0);
	/* the last few, and both limits at once */
	read_stream(t, 1, 0, 3, k - 2, k);
	read_stream(t, 1, 0, k + 10, 1, k);
	read_stream(t, 1, k - 5, 3, k - 2, k);
	read_stream(t, 1, k - 1, 3, k - 1, k);
	/* no such stream: nothing, and 0 */
	w = calloc(1, sizeof(*w));
	assert_non_null(w);
	assert_int_equal(ev_stream_read(t->log, "nope", 4, 0, 0, walk_one, w,
					&end, &err),
			 0);
	assert_int_equal(w->n, 0);
	/* fn's non-zero stops the walk and is returned */
	w->stop_at = 2;
	assert_int_equal(ev_stream_read(t->log, "s2", 2, 0, 0, walk_one, w,
					&end, &err),
			 5);
	assert_int_equal(w->n, 2);
	assert_int_equal(w->ver[0], 1);
	assert_int_equal(w->ver[1], 2);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_ids, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_short_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_foreach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_wrapped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_chunks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damaged_snapshot, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_read, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
