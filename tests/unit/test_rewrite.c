/*
 * test_rewrite.c - ev_rewrite() (lib/rewrite.c, lib/placing.c): a plain
 * copy that keeps offsets and the log id; drops and splits that renumber
 * a stream and write the offset map; the statuses of a target that
 * exists or is the source, and of a stop; a swap that a crash cut short,
 * finished by the next run from its marker; and a writer that finds its
 * log swapped away, and follows its path to the log there now.
 */
#include <sys/stat.h>

#include "evutil.h"

static const char *const lines[] = {
	"{\"id\":\"a1\",\"type\":\"Created\",\"stream\":\"o-1\"}",
	"{\"id\":\"a2\",\"type\":\"Noise\",\"stream\":\"o-1\"}",
	"{\"id\":\"a3\",\"type\":\"Batch\",\"stream\":\"o-1\","
	"\"data\":{\"items\":[1,2,3]}}",
	"{\"id\":\"a4\",\"type\":\"Created\",\"stream\":\"o-2\"}",
	"{\"id\":\"a5\",\"type\":\"Created\",\"stream\":\"o-1\"}",
};

static const char drop_split[] = "type Noise\n"
				 "from 1\n"
				 "  drop\n"
				 "type Batch\n"
				 "from 1\n"
				 "  split data.items data.item\n";

/* The ids of log, in offset order, one per line, into out. */
static void ids(const char *path, struct ev_buf *out)
{
	struct ev_log *log;
	struct ev_reader *rd;
	struct ev_rec rec;
	struct ev_event ev;
	struct ev_error err;

	out->len = 0;
	assert_int_equal(ev_log_open(&log, path, &err), 0);
	assert_int_equal(ev_reader_open(&rd, log, &err), 0);
	while (ev_reader_next(rd, &rec, &err) == 1) {
		assert_int_equal(ev_event_decode(rec.p, rec.n, &ev, &err), 0);
		assert_int_equal(ev_buf_printf(out, "%llu %.*s %llu\n",
					       (unsigned long long)rec.offset,
					       (int)ev.id.n, ev.id.p,
					       (unsigned long long)ev.version),
				 0);
	}
	assert_int_equal(ev_buf_putc(out, '\0'), 0);
	ev_reader_free(rd);
	ev_log_close(log);
}

static void test_copy_keeps_offsets_and_id(void **state)
{
	struct elog a;
	struct ev_rewrite_opts o;
	struct ev_rewrite_result res;
	struct ev_error err;
	struct ev_log *n;
	struct ev_buf b1 = {0}, b2 = {0};
	char target[4300];

	(void)state;
	elog_create(&a, 0);
	elog_append(&a, lines, 5);
	snprintf(target, sizeof(target), "%s/new", a.dir);
	memset(&o, 0, sizeof(o));
	o.source = a.path;
	o.target = target;
	assert_int_equal(ev_rewrite(&o, &res, &err), 0);
	assert_int_equal(res.read, 5);
	assert_int_equal(res.unchanged, 5);
	assert_int_equal(res.written, 5);
	assert_int_equal(res.offsets_kept, 1);
	assert_null(res.offsets_path);
	assert_int_equal(res.renumbered, 0);
	assert_string_equal(res.target, target);
	ids(a.path, &b1);
	ids(target, &b2);
	assert_string_equal((char *)b1.p, (char *)b2.p);
	assert_int_equal(ev_log_open(&n, target, &err), 0);
	assert_string_equal(ev_log_id(n), ev_log_id(a.log));
	ev_log_close(n);
	/* again onto it: it exists */
	ev_rewrite_result_free(&res);
	assert_int_equal(ev_rewrite(&o, &res, &err), EV_EEXIST);
	assert_int_equal(ev_exit_code(err.code), EV_EXIT_CANTCREAT);
	/* onto the source itself */
	o.target = a.path;
	assert_int_equal(ev_rewrite(&o, &res, &err), EV_EUSAGE);
	ev_rewrite_result_free(&res);
	ev_buf_free(&b1);
	ev_buf_free(&b2);
	elog_free(&a);
}

static void test_drop_and_split_renumber_and_map(void **state)
{
	struct elog a;
	struct ev_rewrite_opts o;
	struct ev_rewrite_result res;
	struct ev_upcaster *u;
	struct ev_error err;
	struct ev_buf b = {0};
	char target[4300], spec[4300], *map;
	size_t len;

	(void)state;
	elog_create(&a, 0);
	elog_append(&a, lines, 5);
	snprintf(spec, sizeof(spec), "%s/ds.upcast", a.dir);
	assert_int_equal(unit_write_file(spec, drop_split, strlen(drop_split)),
			 0);
	assert_int_equal(ev_upcaster_load(&u, spec, &err), 0);
	snprintf(target, sizeof(target), "%s/new", a.dir);
	memset(&o, 0, sizeof(o));
	o.source = a.path;
	o.target = target;
	o.upcaster = u;
	assert_int_equal(ev_rewrite(&o, &res, &err), 0);
	assert_int_equal(res.read, 5);
	assert_int_equal(res.dropped, 1);
	assert_int_equal(res.split, 1);
	assert_int_equal(res.parts, 3);
	assert_int_equal(res.written, 6);
	assert_int_equal(res.offsets_kept, 0);
	assert_int_equal(res.renumbered, 1);
	assert_string_equal(res.renumbered_names[0], "o-1");
	ids(target, &b);
	assert_string_equal((char *)b.p, "0 a1 1\n"
					 "1 a3:1 2\n"
					 "2 a3:2 3\n"
					 "3 a3:3 4\n"
					 "4 a4 1\n"
					 "5 a5 5\n");
	map = unit_read_file(res.offsets_path, &len);
	assert_non_null(map);
	assert_non_null(strstr(map, "\n1 1 0\n2 1 3\n"));
	free(map);
	ev_rewrite_result_free(&res);
	ev_upcaster_free(u);
	ev_buf_free(&b);
	elog_free(&a);
}

static void test_stop_leaves_nothing(void **state)
{
	struct elog a;
	struct ev_rewrite_opts o;
	struct ev_rewrite_result res;
	struct ev_error err;
	volatile sig_atomic_t stop = 1;
	char target[4300];
	struct stat st;

	(void)state;
	elog_create(&a, 0);
	elog_append(&a, lines, 5);
	snprintf(target, sizeof(target), "%s/new", a.dir);
	memset(&o, 0, sizeof(o));
	o.source = a.path;
	o.target = target;
	o.stop = &stop;
	assert_int_equal(ev_rewrite(&o, &res, &err), EV_ERR);
	assert_string_equal(err.msg, "interrupted");
	assert_int_not_equal(stat(target, &st), 0);
	ev_rewrite_result_free(&res);
	elog_free(&a);
}

/*
 * A swap a crash cut short after the exchange: the log's name holds the
 * new log, the old one is still at the temporary name, and the marker
 * says so.  The next run in place finishes the swap, and only that.
 */
static void test_marker_finishes_a_swap(void **state)
{
	struct elog a;
	struct ev_rewrite_opts o;
	struct ev_rewrite_result res;
	struct ev_error err;
	struct ev_buf b1 = {0}, b2 = {0};
	struct stat so, sn;
	char nw[4300], tmp[4300], marker[4300], pre[4300], text[9000];

	(void)state;
	elog_create(&a, 0);
	elog_append(&a, lines, 5);
	ev_log_close(a.log);
	a.log = NULL;
	snprintf(nw, sizeof(nw), "%s/new", a.dir);
	memset(&o, 0, sizeof(o));
	o.source = a.path;
	o.target = nw;
	assert_int_equal(ev_rewrite(&o, &res, &err), 0);
	ev_rewrite_result_free(&res);
	/* as the crash left it: log <-> .log.rewrite-1, then the marker */
	snprintf(tmp, sizeof(tmp), "%s/.log.rewrite-1", a.dir);
	assert_int_equal(stat(a.path, &so), 0);
	assert_int_equal(stat(nw, &sn), 0);
	assert_int_equal(rename(a.path, tmp), 0);
	assert_int_equal(rename(nw, a.path), 0);
	snprintf(marker, sizeof(marker), "%s/.log.rewrite-swap", a.dir);
	snprintf(text, sizeof(text),
		 "evlog-rewrite-swap 1\ntemp .log.rewrite-1\n"
		 "old log.pre-rewrite-20261206T180000Z\noffsets -\n"
		 "old-inode %llu %llu\nnew-inode %llu %llu\n",
		 (unsigned long long)so.st_dev, (unsigned long long)so.st_ino,
		 (unsigned long long)sn.st_dev, (unsigned long long)sn.st_ino);
	assert_int_equal(unit_write_file(marker, text, strlen(text)), 0);
	o.target = NULL;
	o.in_place = 1;
	assert_int_equal(ev_rewrite(&o, &res, &err), 0);
	assert_int_equal(res.finished_swap, 1);
	assert_int_equal(res.read, 0);
	assert_non_null(
		strstr(res.old_path, "log.pre-rewrite-20261206T180000Z"));
	snprintf(pre, sizeof(pre), "%s/log.pre-rewrite-20261206T180000Z",
		 a.dir);
	assert_int_equal(stat(pre, &sn), 0);
	assert_int_equal(sn.st_ino, so.st_ino);
	assert_int_not_equal(stat(marker, &sn), 0);
	assert_int_not_equal(stat(tmp, &sn), 0);
	ids(pre, &b1);
	ids(a.path, &b2);
	assert_string_equal((char *)b1.p, (char *)b2.p);
	ev_rewrite_result_free(&res);
	ev_buf_free(&b1);
	ev_buf_free(&b2);
	elog_free(&a);
}

/* What a writer reported durable: "OFFSET ID" or "OFFSET ID dup" lines. */
static void on_acks(void *ctx, const struct ev_ack *a, size_t n)
{
	struct ev_buf *b = ctx;
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(ev_buf_printf(b, "%llu %.*s%s\n",
					       (unsigned long long)a[i].offset,
					       (int)a[i].id_n, a[i].id,
					       a[i].duplicate ? " dup" : ""),
				 0);
}

/* Add the NDJSON line to w, as evpub does. */
static int add_line(struct ev_writer *w, const char *line, struct ev_error *err)
{
	struct ev_parse_opts po;
	struct ev_parser *ps;
	const uint8_t *p;
	size_t n;
	ev_time_t t;
	int r;

	memset(&po, 0, sizeof(po));
	ps = ev_parser_new(&po);
	assert_non_null(ps);
	assert_int_equal(ev_parser_line(ps, line, strlen(line), EV_TIME_NONE,
					err),
			 1);
	ev_parser_record(ps, 0, &p, &n, &t);
	r = ev_writer_add(w, p, n, t, err);
	ev_parser_free(ps);
	return r;
}

/* Rewrite the log of a in place, through upcaster spec (NULL: none). */
static void rewrite_in_place(struct elog *a, const char *spec,
			     struct ev_rewrite_result *res)
{
	struct ev_rewrite_opts o;
	struct ev_upcaster *u = NULL;
	struct ev_error err;
	char path[4300];

	memset(&o, 0, sizeof(o));
	if (spec != NULL) {
		snprintf(path, sizeof(path), "%s/up.upcast", a->dir);
		assert_int_equal(unit_write_file(path, spec, strlen(spec)), 0);
		assert_int_equal(ev_upcaster_load(&u, path, &err), 0);
	}
	o.source = a->path;
	o.in_place = 1;
	o.upcaster = u;
	if (ev_rewrite(&o, res, &err) != 0)
		fail_msg("ev_rewrite: %s", err.msg);
	ev_upcaster_free(u);
}

/*
 * A writer that appended to a log before a rewrite in place swapped a
 * new log in, and appends again after: it follows the path to the new
 * log, and what it appends next is there, numbered and deduplicated
 * against it (its earlier event, which the rewrite copied, and another
 * that the rewrite renumbered); the old log keeps what it had.
 */
static void test_writer_follows_a_rewrite_in_place(void **state)
{
	struct elog a;
	struct ev_writer *w;
	struct ev_writer_opts wo;
	struct ev_rewrite_result res;
	struct ev_error err;
	struct ev_buf acks = {0}, b = {0};
	int threaded;

	(void)state;
	for (threaded = 0; threaded < 2; threaded++) {
		elog_create(&a, 0);
		elog_append(&a, lines, 5);
		memset(&wo, 0, sizeof(wo));
		wo.threaded = threaded;
		wo.on_durable = on_acks;
		wo.ctx = &acks;
		acks.len = 0;
		assert_int_equal(ev_writer_open(&w, a.log, &wo, &err), 0);
		assert_int_equal(add_line(w,
					  "{\"id\":\"b1\",\"type\":\"T\","
					  "\"stream\":\"o-2\"}",
					  &err),
				 0);
		assert_int_equal(ev_writer_flush(w, &err), 0);
		rewrite_in_place(&a, drop_split, &res);
		assert_int_equal(res.offsets_kept, 0);
		assert_int_equal(add_line(w,
					  "{\"id\":\"b2\",\"type\":\"T\","
					  "\"stream\":\"o-2\"}",
					  &err),
				 0);
		assert_int_equal(add_line(w, "{\"id\":\"b1\",\"type\":\"T\"}",
					  &err),
				 0);
		assert_int_equal(add_line(w, "{\"id\":\"a5\",\"type\":\"T\"}",
					  &err),
				 0);
		assert_int_equal(ev_writer_close(w, &err), 0);
		assert_int_equal(ev_buf_putc(&acks, '\0'), 0);
		assert_string_equal((char *)acks.p, "5 b1\n"
						    "7 b2\n"
						    "6 b1 dup\n"
						    "5 a5 dup\n");
		ids(a.path, &b);
		assert_string_equal((char *)b.p, "0 a1 1\n"
						 "1 a3:1 2\n"
						 "2 a3:2 3\n"
						 "3 a3:3 4\n"
						 "4 a4 1\n"
						 "5 a5 5\n"
						 "6 b1 2\n"
						 "7 b2 3\n");
		ids(res.old_path, &b);
		assert_string_equal((char *)b.p, "0 a1 1\n"
						 "1 a2 2\n"
						 "2 a3 3\n"
						 "3 a4 1\n"
						 "4 a5 4\n"
						 "5 b1 2\n");
		ev_rewrite_result_free(&res);
		elog_free(&a);
	}
	ev_buf_free(&acks);
	ev_buf_free(&b);
}

/*
 * A writer that checks an expected version: a stream it met before the
 * swap goes on unchecked if the rewrite left it as it was, and its next
 * event is a conflict if the rewrite renumbered it (the versions the
 * writer counted on are not the new log's); nothing of it is appended.
 */
static void test_writer_expectation_after_a_rewrite(void **state)
{
	struct elog a;
	struct ev_writer *w;
	struct ev_writer_opts wo;
	struct ev_rewrite_result res;
	struct ev_error err;
	struct ev_buf b = {0};
	int renumber;

	(void)state;
	for (renumber = 0; renumber < 2; renumber++) {
		elog_create(&a, 0);
		elog_append(&a, lines, 5);
		memset(&wo, 0, sizeof(wo));
		wo.threaded = 1;
		wo.expect = EV_EXPECT_VERSION;
		wo.expect_version = 4;
		assert_int_equal(ev_writer_open(&w, a.log, &wo, &err), 0);
		assert_int_equal(add_line(w,
					  "{\"id\":\"c1\",\"type\":\"T\","
					  "\"stream\":\"o-1\"}",
					  &err),
				 0);
		assert_int_equal(ev_writer_flush(w, &err), 0);
		rewrite_in_place(&a, renumber ? drop_split : NULL, &res);
		assert_int_equal(add_line(w,
					  "{\"id\":\"c2\",\"type\":\"T\","
					  "\"stream\":\"o-1\"}",
					  &err),
				 0);
		if (!renumber) {
			assert_int_equal(ev_writer_close(w, &err), 0);
			ids(a.path, &b);
			assert_non_null(strstr((char *)b.p, "5 c1 5\n"
							    "6 c2 6\n"));
		} else {
			assert_int_equal(ev_writer_close(w, &err), EV_EAGAIN);
			assert_string_equal(err.msg,
					    "stream 'o-1' is at version 6, "
					    "expected 5 (a rewrite in place "
					    "renumbered it)");
			ids(a.path, &b);
			assert_null(strstr((char *)b.p, "c2"));
			assert_non_null(strstr((char *)b.p, "6 c1 6\n"));
		}
		ev_rewrite_result_free(&res);
		elog_free(&a);
	}
	ev_buf_free(&b);
}

/*
 * A writer whose log was moved aside, with another log made at its path,
 * appends to that one; with a directory that is not a log there, it
 * appends nothing more, and says why.  The log moved aside keeps what it
 * had.
 */
static void test_writer_follows_another_log_or_fails(void **state)
{
	struct elog a;
	struct ev_writer *w;
	struct ev_writer_opts wo;
	struct ev_error err;
	struct ev_buf b = {0};
	char aside[4300];
	int log;

	(void)state;
	for (log = 0; log < 2; log++) {
		elog_create(&a, 0);
		elog_append(&a, lines, 2);
		memset(&wo, 0, sizeof(wo));
		assert_int_equal(ev_writer_open(&w, a.log, &wo, &err), 0);
		snprintf(aside, sizeof(aside), "%s/aside", a.dir);
		assert_int_equal(rename(a.path, aside), 0);
		if (log)
			assert_int_equal(ev_log_create(a.path, NULL, &err), 0);
		else
			assert_int_equal(mkdir(a.path, 0755), 0);
		assert_int_equal(add_line(w,
					  "{\"id\":\"l1\",\"type\":\"Late\"}",
					  &err),
				 0);
		if (log) {
			assert_int_equal(ev_writer_close(w, &err), 0);
			ids(a.path, &b);
			assert_string_equal((char *)b.p, "0 l1 0\n");
		} else {
			assert_int_equal(ev_writer_close(w, &err), EV_EAGAIN);
			assert_non_null(
				strstr(err.msg, "was replaced by another log"));
			assert_non_null(strstr(err.hint,
					       "cannot append to what is at"));
		}
		ids(aside, &b);
		assert_string_equal((char *)b.p, "0 a1 1\n1 a2 2\n");
		elog_free(&a);
	}
	ev_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_keeps_offsets_and_id),
		cmocka_unit_test(test_drop_and_split_renumber_and_map),
		cmocka_unit_test(test_stop_leaves_nothing),
		cmocka_unit_test(test_marker_finishes_a_swap),
		cmocka_unit_test(test_writer_follows_a_rewrite_in_place),
		cmocka_unit_test(test_writer_expectation_after_a_rewrite),
		cmocka_unit_test(test_writer_follows_another_log_or_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
