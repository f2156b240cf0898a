/*
 * test_input.c - lib/input.c: events read from a file descriptor.
 *
 * NDJSON lines: blank lines, CRLF, a last line without a newline, the
 * positions reported (line and byte offset), bad and over-long lines
 * (the input goes on after them), a read that times out, and a read
 * error.
 */
#include <errno.h>
#include <fcntl.h>

#include "unit.h"

#define NOW 1736500000000000000LL

/* An input over a temporary file holding text. */
struct tin {
	char *dir;
	int fd;
	struct ev_input *in;
};

static void tin_open(struct tin *t, const char *text, size_t n,
		     enum ev_format fmt)
{
	struct ev_parse_opts o;
	struct ev_error err;
	char path[4096];

	memset(&o, 0, sizeof(o));
	o.format = fmt;
	t->dir = unit_tmpdir();
	snprintf(path, sizeof(path), "%s/in", t->dir);
	assert_int_equal(unit_write_file(path, text, n), 0);
	t->fd = open(path, O_RDONLY);
	assert_true(t->fd >= 0);
	assert_int_equal(ev_input_new(&t->in, t->fd, "in", &o, &err), 0);
}

static void tin_close(struct tin *t)
{
	ev_input_free(t->in);
	close(t->fd);
	unit_rmtree(t->dir);
}

/* the next line has one event of this type, at line and byte */
static void next_is(struct tin *t, const char *type, uint64_t line,
		    uint64_t byte)
{
	struct ev_error err;
	struct ev_input_pos pos;
	struct ev_event ev;
	const uint8_t *rec;
	size_t n;
	ev_time_t tm;
	int r;

	r = ev_input_next(t->in, -1, NOW, &err);
	if (r != 1)
		fail_msg("want one event of type %s, got %d: %s", type, r,
			 err.msg);
	ev_input_record(t->in, 0, &rec, &n, &tm);
	assert_int_equal(ev_event_decode(rec, n, &ev, &err), 0);
	assert_int_equal(ev.type.n, strlen(type));
	assert_memory_equal(ev.type.p, type, ev.type.n);
	assert_true(tm == NOW);
	ev_input_where(t->in, &pos);
	assert_int_equal(pos.line, line);
	assert_int_equal(pos.byte, byte);
}

static void test_lines(void **state)
{
	static const char text[] = "\n{\"type\":\"A\"}\r\n  \n\t\r\n"
				   "{\"type\":\"B\"}\n{\"type\":\"C\"}";
	struct tin t;
	struct ev_error err;

	(void)state;
	tin_open(&t, text, sizeof(text) - 1, EV_FMT_ENVELOPE);
	next_is(&t, "A", 2, 1);
	next_is(&t, "B", 5, 21);
	/* the last line needs no newline */
	next_is(&t, "C", 6, 34);
	assert_int_equal(ev_input_next(t.in, -1, NOW, &err), 0);
	assert_int_equal(ev_input_next(t.in, -1, NOW, &err), 0);
	tin_close(&t);
}

static void test_bad_lines_go_on(void **state)
{
	static const char text[] = "{\"type\":\"A\"}\n{\"type\":\"\"}\nnope\n"
				   "[]\n{\"type\":\"B\"}\n";
	struct tin t;
	struct ev_error err;
	struct ev_input_pos pos;

	(void)state;
	tin_open(&t, text, sizeof(text) - 1, EV_FMT_ENVELOPE);
	next_is(&t, "A", 1, 0);
	assert_int_equal(ev_input_next(t.in, -1, NOW, &err), EV_EDATA);
	assert_string_equal(err.msg, "field 'type' must be a non-empty string");
	assert_int_equal(err.column, 9);
	assert_int_equal(ev_input_broken(t.in), 0);
	ev_input_where(t.in, &pos);
	assert_int_equal(pos.line, 2);
	assert_int_equal(pos.byte, 13);
	assert_int_equal(ev_input_next(t.in, -1, NOW, &err), EV_EDATA);
	assert_string_equal(err.msg, "expected '{': an event is a JSON object");
	assert_int_equal(err.column, 1);
	assert_int_equal(ev_input_next(t.in, -1, NOW, &err), EV_EDATA);
	next_is(&t, "B", 5, 33);
	tin_close(&t);

	/* a CloudEvents batch of none is no event, and no end */
	tin_open(&t, "[]\n[]\n", 6, EV_FMT_CLOUDEVENTS);
	assert_int_equal(ev_input_next(t.in, -1, NOW, &err), 0);
	tin_close(&t);
}

/* a blank line of len bytes: over EV_MAX_LINE it is refused, counted,
 * and the input goes on (far over, it is skipped as it is read) */
static void long_line(size_t len)
{
	const char *head = "{\"type\":\"A\"}\n";
	const char *tail = "{\"type\":\"B\"}\n";
	size_t hn = strlen(head), tn = strlen(tail);
	char *text = malloc(hn + len + 1 + tn);
	struct tin t;
	struct ev_error err;
	struct ev_input_pos pos;

	assert_non_null(text);
	memcpy(text, head, hn);
	memset(text + hn, ' ', len);
	text[hn + len] = '\n';
	memcpy(text + hn + len + 1, tail, tn);
	tin_open(&t, text, hn + len + 1 + tn, EV_FMT_ENVELOPE);
	next_is(&t, "A", 1, 0);
	if (len > EV_MAX_LINE) {
		assert_int_equal(ev_input_next(t.in, -1, NOW, &err), EV_EDATA);
		assert_string_equal(err.msg, "line longer than 4194304 bytes");
		assert_int_equal(err.column, 0);
		assert_int_equal(ev_input_broken(t.in), 0);
		ev_input_where(t.in, &pos);
		assert_int_equal(pos.line, 2);
		assert_int_equal(pos.byte, hn);
	}
	next_is(&t, "B", 3, hn + len + 1);
	assert_int_equal(ev_input_next(t.in, -1, NOW, &err), 0);
	tin_close(&t);
	free(text);
}

static void test_long_lines(void **state)
{
	(void)state;
	long_line(EV_MAX_LINE + 1);
	long_line(3 * EV_MAX_LINE);
	/* at the limit, a line is read (and being blank, skipped) */
	long_line(EV_MAX_LINE);
}

static void test_timeout_and_pipe(void **state)
{
	struct ev_parse_opts o;
	struct ev_input *in;
	struct ev_error err;
	int fds[2];

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(ev_input_new(&in, fds[0], "pipe", &o, &err), 0);
	/* nothing to read: a short wait says so */
	assert_int_equal(ev_input_next(in, 1, NOW, &err), EV_EAGAIN);
	/* half a line: still nothing */
	assert_int_equal(write(fds[1], "{\"type\":", 8), 8);
	assert_int_equal(ev_input_next(in, 1, NOW, &err), EV_EAGAIN);
	assert_int_equal(write(fds[1], "\"A\"}\n", 5), 5);
	assert_int_equal(ev_input_next(in, 1, NOW, &err), 1);
	close(fds[1]);
	assert_int_equal(ev_input_next(in, -1, NOW, &err), 0);
	ev_input_free(in);
	close(fds[0]);
}

static void test_read_error(void **state)
{
	struct ev_parse_opts o;
	struct ev_input *in;
	struct ev_error err;
	char *dir = unit_tmpdir();
	int fd;

	(void)state;
	memset(&o, 0, sizeof(o));
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(ev_input_new(&in, fd, "adir", &o, &err), 0);
	assert_int_equal(ev_input_next(in, -1, NOW, &err), EV_EIO);
	assert_string_equal(err.msg, "cannot read 'adir': Is a directory");
	ev_input_free(in);
	close(fd);
	unit_rmtree(dir);
	ev_input_free(NULL);
}

/*
 * The parser reads a time in the minute of the last one from that
 * minute on (lib/parser.c parse_time): every time, in order across
 * seconds, minutes, days and years, and bad ones on a known minute,
 * reads as ev_time_parse() reads it.
 */
static void test_times_in_order(void **state)
{
	static const char *const tails[] = {
		"59.999Z",	"60.000Z",	"5a.000Z", "00.00aZ",
		"00.000z",	"00.000",	"00.00Z",  "00.0000Z",
		"00.000+00:00", "00.000-01:30", "09.1Z",   "-1.000Z",
		"00.000ZZ",	"0:.000Z",	" 0.000Z",
	};
	struct ev_parser *ps = ev_parser_new(NULL);
	struct ev_error err;
	char ts[64], line[128];
	ev_time_t t = 1703980680000000000LL, want, got; /* 2023-12-30 */
	uint64_t x = 88172645463325252ULL;
	const uint8_t *rec;
	size_t n, k;
	int i, r, ok;

	(void)state;
	assert_non_null(ps);
	for (i = 0; i < 20000; i++) {
		static const int64_t steps[] = {1000000LL,
						7000000LL,
						999000000LL,
						1000000000LL,
						59000000000LL,
						61000000000LL,
						3600000000000LL,
						86400000000000LL * 200};
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t += steps[x % (i % 500 == 0 ? 8 : 7)];
		n = ev_time_format(t, ts);
		k = x % 40;
		if (k < sizeof(tails) / sizeof(tails[0]) && n == 24) {
			/* a bad (or other) form on the minute just read */
			snprintf(ts + 17, sizeof(ts) - 17, "%s", tails[k]);
			n = strlen(ts);
		}
		ok = ev_time_parse(ts, n, &want) == 0;
		snprintf(line, sizeof(line), "{\"type\":\"T\",\"time\":\"%s\"}",
			 ts);
		r = ev_parser_line(ps, line, strlen(line), NOW, &err);
		if (r != (ok ? 1 : EV_EDATA))
			fail_msg("'%s': parser %d, ev_time_parse %s", ts, r,
				 ok ? "ok" : "bad");
		if (!ok)
			continue;
		ev_parser_record(ps, 0, &rec, &n, &got);
		if (got != want)
			fail_msg("'%s': %lld, want %lld", ts, (long long)got,
				 (long long)want);
	}
	ev_parser_free(ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_bad_lines_go_on),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_timeout_and_pipe),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_times_in_order),
	};

	return cmocka_run_group_tests_name("input", tests, NULL, NULL);
}
