/*
 * test_output.c - lib/output.c: the two positions of struct ev_output.
 * After a write that fails part way (a reader that went away, a full
 * non-blocking pipe), the position written out is the offset after the
 * last event whose every byte went out: never one cut by the failed
 * write (what evtail(1) promises for cursor files), and never short of
 * one that went out whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>

#include "unit.h"

/* One event record, as the writer stores it. */
static void make_record(struct ev_buf *rec)
{
	static const char json[] =
		"{\"id\":\"e\",\"type\":\"OrderPlaced\",\"stream\":\"order-1\","
		"\"data\":{\"note\":\"some padding so that an event is a "
		"line of a hundred bytes or more\"}}";
	struct ev_parse_opts o;
	struct ev_parser *ps;
	struct ev_error err;
	const uint8_t *p;
	size_t n;
	ev_time_t t;

	memset(&o, 0, sizeof(o));
	o.format = EV_FMT_ENVELOPE;
	ps = ev_parser_new(&o);
	assert_non_null(ps);
	if (ev_parser_line(ps, json, strlen(json), 1700000000000000000LL,
			   &err) != 1)
		fail_msg("ev_parser_line: %s", err.msg);
	ev_parser_record(ps, 0, &p, &n, &t);
	memset(rec, 0, sizeof(*rec));
	assert_int_equal(ev_buf_append(rec, p, n), 0);
	ev_parser_free(ps);
}

/* Format events at offsets first..first+count-1 into o (no flush). */
static void add_events(struct ev_output *o, const struct ev_buf *b,
		       uint64_t first, uint64_t count)
{
	struct ev_error err;
	struct ev_rec rec;
	uint64_t i;

	for (i = 0; i < count; i++) {
		rec.offset = first + i;
		rec.p = b->p;
		rec.n = b->len;
		rec.append_time = 1700000000000000000LL;
		if (ev_output_event(o, &rec, NULL, &err) != 0)
			fail_msg("ev_output_event: %s", err.msg);
	}
}

/* A pipe of one page whose write end does not block: a flush of more
 * than a page writes a page and fails (EAGAIN) part way. */
static void small_pipe(int fds[2])
{
	assert_int_equal(pipe(fds), 0);
	if (fcntl(fds[1], F_SETPIPE_SZ, 4096) < 0)
		skip(); /* a kernel without F_SETPIPE_SZ */
	assert_int_equal(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
}

static void test_cut_write_counts_whole_events(void **state)
{
	struct ev_output *o;
	struct ev_error err;
	struct ev_buf b;
	char got[8192];
	ssize_t n;
	uint64_t lines = 0;
	int fds[2], cap;
	ssize_t i;

	(void)state;
	make_record(&b);
	small_pipe(fds);
	cap = fcntl(fds[1], F_GETPIPE_SZ);
	assert_int_equal(ev_output_new(&o, fds[1], EV_OUT_JSON, NULL, 0, &err),
			 0);
	ev_output_set_position(o, 100);
	add_events(o, &b, 100, 200);
	assert_int_equal(ev_output_printed(o), 300);
	assert_int_equal(ev_output_flush(o, &err), EV_EIO);
	assert_int_equal(ev_output_errno(o), EAGAIN);
	/* what went out: whole lines, then part of one */
	n = read(fds[0], got, sizeof(got));
	assert_int_equal(n, cap);
	for (i = 0; i < n; i++)
		lines += got[i] == '\n';
	assert_true(lines > 0);
	assert_true(got[n - 1] != '\n'); /* the write cut an event */
	assert_int_equal(ev_output_written(o), 100 + lines);
	ev_output_free(o);
	close(fds[0]);
	close(fds[1]);
	ev_buf_free(&b);
}

static void test_nothing_out_keeps_the_start(void **state)
{
	struct ev_output *o;
	struct ev_error err;
	struct ev_buf b;
	int fds[2];

	(void)state;
	make_record(&b);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(fds), 0);
	close(fds[0]); /* the reader is gone before the first write */
	assert_int_equal(ev_output_new(&o, fds[1], EV_OUT_JSON, NULL, 0, &err),
			 0);
	ev_output_set_position(o, 7);
	add_events(o, &b, 7, 3);
	assert_int_equal(ev_output_flush(o, &err), EV_EIO);
	assert_int_equal(ev_output_errno(o), EPIPE);
	assert_int_equal(ev_output_written(o), 7);
	assert_int_equal(ev_output_printed(o), 10);
	ev_output_free(o);
	close(fds[1]);
	ev_buf_free(&b);
}

static void test_whole_flush_is_all_written(void **state)
{
	struct ev_output *o;
	struct ev_error err;
	struct ev_buf b;
	char got[4096];
	int fds[2];

	(void)state;
	make_record(&b);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(ev_output_new(&o, fds[1], EV_OUT_JSON, NULL, 0, &err),
			 0);
	ev_output_set_position(o, 0);
	add_events(o, &b, 0, 3);
	assert_int_equal(ev_output_flush(o, &err), 0);
	assert_int_equal(ev_output_written(o), 3);
	/* and again, after the marks of the first flush are gone */
	add_events(o, &b, 3, 2);
	assert_int_equal(ev_output_flush(o, &err), 0);
	assert_int_equal(ev_output_written(o), 5);
	assert_true(read(fds[0], got, sizeof(got)) > 0);
	ev_output_free(o);
	close(fds[0]);
	close(fds[1]);
	ev_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_write_counts_whole_events),
		cmocka_unit_test(test_nothing_out_keeps_the_start),
		cmocka_unit_test(test_whole_flush_is_all_written),
	};

	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
