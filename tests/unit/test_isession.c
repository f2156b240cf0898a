/*
 * test_isession.c - lib/isession.c: the interpreter of evtail -i, driven
 * without a terminal: command lines in, what they print out of a
 * memory stream.  The log holds N numbered events (logutil.h: event i
 * is "e<i>", type "T<i % 5>", data {"i":i,"pad":...}) so that what a
 * move or a search must find is known by arithmetic; N is past the
 * first backward windows, so that prev and find-prev cross windows.
 * tests/interactive-stdin.bats checks the commands' exact output through
 * evtail; this file checks the parts only a caller of the library sees:
 * positions across windows, the stop flag, the progress callback,
 * completion candidates, the prompt and cutting lines to the screen.
 */
#include "logutil.h"

#define N 5000

struct fix {
	struct tlog t;
	struct ev_reader *rd;
	struct ev_isession *s;
	volatile sig_atomic_t stop;
	int progress_calls;
	char *out;
	size_t outn;
};

static void on_progress(void *ctx, const char *what, uint64_t done,
			uint64_t total)
{
	struct fix *f = ctx;

	(void)what;
	assert_true(done <= total);
	f->progress_calls++;
	if (f->progress_calls == 2)
		f->stop = 1; /* Ctrl-C, in the middle of a long command */
}

static struct fix *open_fix(int rows, int cols, int color)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct ev_isession_opts o;
	struct ev_error err;

	assert_non_null(f);
	tlog_create(&f->t, 0, 0);
	tlog_append(&f->t, 0, N, 4096, tlog_time_inorder);
	if (ev_reader_open(&f->rd, f->t.log, &err) != 0)
		fail_msg("ev_reader_open: %s", err.msg);
	memset(&o, 0, sizeof(o));
	o.name = "L";
	o.rows = rows;
	o.cols = cols;
	o.color = color;
	o.stop = &f->stop;
	if (ev_isession_new(&f->s, f->t.log, f->rd, &o, &err) != 0)
		fail_msg("ev_isession_new: %s", err.msg);
	return f;
}

static void close_fix(struct fix *f)
{
	ev_isession_free(f->s);
	ev_reader_free(f->rd);
	tlog_free(&f->t);
	free(f->out);
	free(f);
}

/* Run line; its status, and its output in f->out. */
static int run(struct fix *f, const char *line, struct ev_error *err)
{
	FILE *m;
	int r;

	free(f->out);
	f->out = NULL;
	m = open_memstream(&f->out, &f->outn);
	assert_non_null(m);
	r = ev_isession_run(f->s, line, m, err);
	fclose(m);
	return r;
}

static void run_ok(struct fix *f, const char *line)
{
	struct ev_error err;
	int r = run(f, line, &err);

	if (r != 0)
		fail_msg("'%s': %d %s", line, r, err.msg);
}

/* The offsets at the start of each line of f->out. */
static int offsets(struct fix *f, uint64_t *v, int max)
{
	const char *p = f->out;
	int n = 0;

	while (p != NULL && *p != '\0' && n < max) {
		v[n++] = strtoull(p, NULL, 10);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return n;
}

static void test_prev_across_windows(void **state)
{
	struct fix *f = open_fix(0, 0, 0);
	uint64_t v[3000];
	int n, i;

	(void)state;
	/* from the end, 2500 back: more than the first windows hold */
	run_ok(f, "prev 2500");
	n = offsets(f, v, 3000);
	assert_int_equal(n, 2500);
	for (i = 0; i < n; i++)
		assert_int_equal(v[i], N - 2500 + i);
	/* and with a filter: the T3 events before the current one, 2500 */
	run_ok(f, "filter type T3");
	run_ok(f, "prev 1500");
	n = offsets(f, v, 3000);
	assert_int_equal(n, 500); /* there are only 500 of them */
	for (i = 0; i < n; i++)
		assert_int_equal(v[i], 3 + 5 * i);
	close_fix(f);
}

static void test_next_goto_and_where(void **state)
{
	struct fix *f = open_fix(0, 0, 0);
	struct ev_error err;
	uint64_t v[10];

	(void)state;
	run_ok(f, "filter where data.i >= 4990 and data.i < 4993");
	run_ok(f, "goto start");
	assert_int_equal(offsets(f, v, 10), 1);
	assert_int_equal(v[0], 4990);
	run_ok(f, "next 5");
	assert_int_equal(offsets(f, v, 10), 2);
	assert_int_equal(v[0], 4991);
	assert_int_equal(v[1], 4992);
	assert_int_equal(run(f, "next", &err), EV_ENOENT);
	assert_string_equal(err.msg, "next: at the end of the log");
	run_ok(f, "filter clear");
	run_ok(f, "goto 1234");
	assert_int_equal(offsets(f, v, 10), 1);
	assert_int_equal(v[0], 1234);
	run_ok(f, "format template {offset}/{data.i}");
	run_ok(f, "next 2");
	assert_string_equal(f->out, "1235/1235\n1236/1236\n");
	close_fix(f);
}

static void test_find_wraps_and_repeats(void **state)
{
	struct fix *f = open_fix(0, 0, 0);
	uint64_t v[4];

	(void)state;
	run_ok(f, "goto 4000");
	/* nothing after 4000 holds "i":12 as a whole number: round from
	 * the start to event 12 */
	run_ok(f, "find /\"i\":12[,}]/");
	assert_int_equal(offsets(f, v, 4), 1);
	assert_int_equal(v[0], 12);
	run_ok(f, "find-prev /\"i\":49[0-9][0-9],/");
	assert_int_equal(offsets(f, v, 4), 1);
	assert_int_equal(v[0], 4999); /* round from the end */
	run_ok(f, "find-prev");
	assert_int_equal(offsets(f, v, 4), 1);
	assert_int_equal(v[0], 4998);
	close_fix(f);
}

static void test_stop_and_progress(void **state)
{
	struct fix *f = open_fix(0, 0, 0);
	struct ev_isession_opts o;
	struct ev_error err;
	int r;

	(void)state;
	/* a session whose progress callback sets the stop flag */
	ev_isession_free(f->s);
	memset(&o, 0, sizeof(o));
	o.name = "L";
	o.stop = &f->stop;
	o.progress = on_progress;
	o.ctx = f;
	if (ev_isession_new(&f->s, f->t.log, f->rd, &o, &err) != 0)
		fail_msg("ev_isession_new: %s", err.msg);
	/* a whole-log command reports its progress; the flag set, it
	 * ends at the next window, and the session goes on */
	run_ok(f, "stats");
	assert_true(f->progress_calls >= 1);
	f->stop = 1;
	r = run(f, "stats", &err);
	assert_int_equal(r, EV_EAGAIN);
	assert_string_equal(err.msg, "stats: interrupted");
	f->stop = 0;
	r = run(f, "find nothing-like-this", &err);
	assert_int_equal(r, EV_ENOENT);
	f->stop = 1;
	r = run(f, "save /dev/null", &err);
	assert_int_equal(r, EV_EAGAIN);
	assert_string_equal(err.msg, "save: interrupted");
	f->stop = 0;
	run_ok(f, "goto 10"); /* the session goes on */
	close_fix(f);
}

static void test_screen_cuts_lines(void **state)
{
	struct fix *f = open_fix(5, 30, 0);
	struct ev_error err;
	FILE *m;
	char *line;
	int lines = 0;

	(void)state;
	m = open_memstream(&f->out, &f->outn);
	assert_int_equal(ev_isession_screen(f->s, m, &err), 0);
	fclose(m);
	/* rows - 2 events, each cut to 30 columns with an ellipsis */
	for (line = strtok(f->out, "\n"); line != NULL;
	     line = strtok(NULL, "\n")) {
		size_t cols = 0;
		const char *p;

		for (p = line; *p; p++)
			cols += (*p & 0xc0) != 0x80;
		assert_int_equal(cols, 30);
		assert_non_null(strstr(line, "\xe2\x80\xa6"));
		lines++;
	}
	assert_int_equal(lines, 3);
	free(f->out);
	f->out = NULL;
	run_ok(f, "prev");
	/* the one before the current event, the last on the screen */
	assert_int_equal(strtoull(f->out, NULL, 10), N - 2);
	close_fix(f);
}

static void test_highlight(void **state)
{
	struct fix *f = open_fix(0, 0, 1);

	(void)state;
	/* pretty: the data shows, and the match in it */
	run_ok(f, "find \"i\":121,");
	assert_int_equal(strtoull(f->out, NULL, 10), 121);
	assert_non_null(strstr(f->out, "\033[7m\"i\":121,\033[27m"));
	/* pretty does not show the id: nothing to highlight */
	run_ok(f, "find /e000012[0-9]/");
	assert_int_equal(strtoull(f->out, NULL, 10), 122);
	assert_null(strstr(f->out, "\033[7m"));
	/* as JSON it does, every match in the line */
	run_ok(f, "format json");
	run_ok(f, "find /1[0-9]3/");
	assert_non_null(strstr(f->out, "{\"offset\":\033[7m123\033[27m,"));
	assert_non_null(strstr(f->out, "\"e0000\033[7m123\033[27m\""));
	assert_non_null(strstr(f->out, "\"i\":\033[7m123\033[27m,"));
	close_fix(f);
}

static int has(char **v, const char *s)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static void test_completion(void **state)
{
	struct fix *f = open_fix(0, 0, 0);
	char **v;
	size_t n;

	(void)state;
	assert_int_equal(ev_isession_complete(f->s, "fi", 0, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_true(has(v, "filter") && has(v, "filters") && has(v, "find") &&
		    has(v, "find-prev"));
	ev_isession_complete_free(v);
	assert_int_equal(ev_isession_complete(f->s, "filter type T", 12, &v,
					      &n),
			 0);
	assert_int_equal(n, 5);
	assert_string_equal(v[0], "T0");
	ev_isession_complete_free(v);
	assert_int_equal(ev_isession_complete(f->s, "help go", 5, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "goto");
	ev_isession_complete_free(v);
	assert_int_equal(ev_isession_complete(f->s, "save o", 5, &v, &n),
			 EV_ISESSION_FILES);
	ev_isession_complete_free(v);
	/* field paths of the current event */
	run_ok(f, "goto 3");
	assert_int_equal(ev_isession_complete(f->s, "filter where data.", 13,
					      &v, &n),
			 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "data.i");
	assert_string_equal(v[1], "data.pad");
	ev_isession_complete_free(v);
	/* no streams in this log: none, and no failure */
	assert_int_equal(ev_isession_complete(f->s, "stream x", 7, &v, &n), 0);
	assert_int_equal(n, 0);
	ev_isession_complete_free(v);
	close_fix(f);
}

static void test_prompt_and_errors(void **state)
{
	struct fix *f = open_fix(0, 0, 0);
	struct ev_error err;

	(void)state;
	assert_string_equal(ev_isession_prompt(f->s), "L> ");
	run_ok(f, "filter type T1");
	run_ok(f, "filter where data.i > 3");
	assert_string_equal(ev_isession_prompt(f->s),
			    "L [type T1, where data.i > 3]> ");
	assert_int_equal(run(f, "filter where (", &err), EV_EUSAGE);
	assert_string_equal(ev_isession_prompt(f->s),
			    "L [type T1, where data.i > 3]> ");
	assert_int_equal(run(f, "quit", &err), EV_ISESSION_QUIT);
	assert_int_equal(run(f, "gotoo 1", &err), EV_EUSAGE);
	assert_string_equal(err.msg, "no command 'gotoo'; did you mean "
				     "'goto'? (see 'help')");
	assert_int_equal(run(f, "# a comment", &err), 0);
	assert_string_equal(f->out, "");
	close_fix(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prev_across_windows),
		cmocka_unit_test(test_next_goto_and_where),
		cmocka_unit_test(test_find_wraps_and_repeats),
		cmocka_unit_test(test_stop_and_progress),
		cmocka_unit_test(test_screen_cuts_lines),
		cmocka_unit_test(test_highlight),
		cmocka_unit_test(test_completion),
		cmocka_unit_test(test_prompt_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
