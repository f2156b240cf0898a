/*
 * test_replay.c - struct ev_replay (lib/replay.c): stored events
 * appended to another log as a sink, keeping ids and versions; the
 * duplicates and the version conflict it reports, renumbering, and
 * ev_log_remove(), which removes only a log.  The replay marks of
 * lib/mark.c are tested here too: they are what a replay adds.
 */
#include "evutil.h"

static const char *const lines[] = {
	"{\"id\":\"e0\",\"type\":\"T\",\"stream\":\"s-1\","
	"\"time\":\"2025-01-10T09:00:00Z\",\"data\":{\"n\":0}}",
	"{\"id\":\"e1\",\"type\":\"T\",\"stream\":\"s-2\",\"key\":\"k\","
	"\"time\":\"2025-01-10T09:00:01Z\",\"meta\":{\"u\":1}}",
	"{\"id\":\"e2\",\"type\":\"T\",\"stream\":\"s-1\","
	"\"time\":\"2025-01-10T09:00:02Z\"}",
	"{\"id\":\"e3\",\"type\":\"N\",\"time\":\"2025-01-10T09:00:03Z\"}",
};

/* Every event of src, from offset from on, through the replay sink;
 * the first error, or 0 after a flush. */
static int replay_all(struct ev_log *src, struct ev_replay *rp, uint64_t from,
		      struct ev_error *err)
{
	struct ev_reader *rd;
	struct ev_rec rec;
	struct ev_event ev;
	int r;

	assert_int_equal(ev_reader_open(&rd, src, err), 0);
	assert_int_equal(ev_reader_seek(rd, from, err), 0);
	while ((r = ev_reader_next(rd, &rec, err)) == 1) {
		assert_int_equal(ev_event_decode(rec.p, rec.n, &ev, err), 0);
		if ((r = ev_replay_sink(rp, &rec, &ev, err)) != 0)
			break;
	}
	ev_reader_free(rd);
	if (r < 0)
		return r;
	return ev_replay_flush(rp, err);
}

/* The event at offset off of log, decoded into ev (its bytes in b). */
static void event_at(struct ev_log *log, uint64_t off, struct ev_buf *b,
		     struct ev_event *ev)
{
	struct ev_reader *rd;
	struct ev_rec rec;
	struct ev_error err;

	assert_int_equal(ev_reader_open(&rd, log, &err), 0);
	assert_int_equal(ev_reader_get(rd, off, &rec, &err), 1);
	b->len = 0;
	assert_int_equal(ev_buf_append(b, rec.p, rec.n), 0);
	ev_reader_free(rd);
	assert_int_equal(ev_event_decode(b->p, b->len, ev, &err), 0);
}

static void test_keeps_ids_and_versions_then_dedupes(void **state)
{
	struct elog a, b;
	struct ev_replay *rp;
	struct ev_error err;
	struct ev_buf buf = {0};
	struct ev_event ev;

	(void)state;
	elog_create(&a, 0);
	elog_append(&a, lines, 4);
	elog_create(&b, 0);
	assert_int_equal(ev_replay_open(&rp, b.log, "a", 0, &err), 0);
	assert_int_equal(replay_all(a.log, rp, 0, &err), 0);
	assert_int_equal(ev_replay_stats(rp)->appended, 4);
	assert_int_equal(ev_replay_stats(rp)->duplicates, 0);
	assert_int_equal(ev_replay_close(rp, &err), 0);
	event_at(b.log, 2, &buf, &ev);
	assert_int_equal(ev.id.n, 2);
	assert_memory_equal(ev.id.p, "e2", 2);
	assert_int_equal(ev.version, 2);
	assert_int_equal(ev.prev, 0); /* linked in b */
	assert_int_equal(ev.time, 1736499602000000000LL);
	event_at(b.log, 1, &buf, &ev);
	assert_memory_equal(ev.key.p, "k", 1);
	assert_non_null(ev.meta);
	/* again: every id is there */
	assert_int_equal(ev_replay_open(&rp, b.log, "a", 0, &err), 0);
	assert_int_equal(replay_all(a.log, rp, 0, &err), 0);
	assert_int_equal(ev_replay_stats(rp)->appended, 0);
	assert_int_equal(ev_replay_stats(rp)->duplicates, 4);
	assert_int_equal(ev_replay_close(rp, &err), 0);
	ev_buf_free(&buf);
	elog_free(&b);
	elog_free(&a);
}

static void test_conflict_names_offset_and_stream(void **state)
{
	static const char *const other[] = {
		"{\"id\":\"x\",\"type\":\"X\",\"stream\":\"s-1\"}"};
	struct elog a, b;
	struct ev_replay *rp;
	struct ev_error err;
	struct ev_buf buf = {0};
	struct ev_event ev;

	(void)state;
	elog_create(&a, 0);
	elog_append(&a, lines, 4);
	elog_create(&b, 0);
	elog_append(&b, other, 1);
	assert_int_equal(ev_replay_open(&rp, b.log, "a.evlog", 0, &err), 0);
	assert_int_equal(replay_all(a.log, rp, 0, &err), EV_EAGAIN);
	assert_string_equal(err.msg,
			    "offset 0 of 'a.evlog': event 'e0': stream "
			    "'s-1' is at version 1, event has "
			    "version 1, expected 2");
	ev_replay_close(rp, &err);
	/* renumbered: s-1 goes on from version 1 in b */
	assert_int_equal(ev_replay_open(&rp, b.log, "a.evlog", 1, &err), 0);
	assert_int_equal(replay_all(a.log, rp, 0, &err), 0);
	assert_int_equal(ev_replay_stats(rp)->appended, 4);
	assert_int_equal(ev_replay_close(rp, &err), 0);
	event_at(b.log, 3, &buf, &ev);
	assert_memory_equal(ev.id.p, "e2", 2);
	assert_int_equal(ev.version, 3);
	ev_buf_free(&buf);
	elog_free(&b);
	elog_free(&a);
}

static void test_marks(void **state)
{
	static const char *const one[] = {
		"{\"id\":\"m\",\"type\":\"T\",\"stream\":\"s\","
		"\"meta\":{\"replay\":\"old\",\"u\":\"x\",\"replayedAt\":1}}"};
	const struct ev_mark m = {"r2", 1736500000000000000LL};
	struct elog a;
	struct ev_buf buf = {0}, out = {0}, json = {0};
	struct ev_event ev, mev;
	struct ev_error err;

	(void)state;
	elog_create(&a, 0);
	elog_append(&a, one, 1);
	event_at(a.log, 0, &buf, &ev);
	ev.offset = 0;
	assert_int_equal(ev_record_mark(&ev, &m, &out, &err), 0);
	assert_int_equal(ev_event_decode(out.p, out.len, &mev, &err), 0);
	mev.offset = 0;
	assert_int_equal(ev_event_to_json(&mev, &json, EV_JSON_NO_OFFSET, &err),
			 0);
	assert_int_equal(ev_buf_putc(&json, 0), 0);
	/* the old marks replaced, the rest kept, version and all */
	assert_non_null(strstr((char *)json.p, "\"version\":1,"));
	assert_non_null(strstr((char *)json.p,
			       "\"meta\":{\"u\":\"x\",\"replay\":\"r2\","
			       "\"replayedAt\":\"2025-01-10T09:06:40.000Z\"}"));
	assert_memory_equal(mev.id.p, "m", 1);
	assert_int_equal(mev.time, ev.time);
	/* an event without meta gets one */
	ev.meta = NULL;
	ev.meta_len = 0;
	out.len = 0;
	assert_int_equal(ev_record_mark(&ev, &m, &out, &err), 0);
	assert_int_equal(ev_event_decode(out.p, out.len, &mev, &err), 0);
	assert_non_null(mev.meta);
	ev_buf_free(&buf);
	ev_buf_free(&out);
	ev_buf_free(&json);
	elog_free(&a);
}

static void test_log_remove(void **state)
{
	struct elog a;
	struct ev_error err;
	char *dir = unit_tmpdir(), path[4200];

	(void)state;
	elog_create(&a, 0);
	elog_append(&a, lines, 4);
	ev_log_close(a.log);
	a.log = NULL;
	assert_int_equal(ev_log_remove(a.path, &err), 0);
	assert_int_equal(access(a.path, F_OK), -1);
	/* not a log: left alone */
	snprintf(path, sizeof(path), "%s/plain", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(ev_log_remove(path, &err), EV_EUSAGE);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(ev_log_remove("/nonexistent/x", &err), EV_EIO);
	unit_rmtree(dir);
	elog_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keeps_ids_and_versions_then_dedupes),
		cmocka_unit_test(test_conflict_names_offset_and_stream),
		cmocka_unit_test(test_marks),
		cmocka_unit_test(test_log_remove),
	};

	return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}
