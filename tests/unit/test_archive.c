/*
 * test_archive.c - lib/archive.c through the public API: the formats by
 * name, export in each format and reading the archive in place (every
 * offset by seek, forward and backward across segments), import, and
 * the probe that tells an archive from a segment file.
 */
#include <archive.h>
#include <archive_entry.h>

#include "logutil.h"

static void test_format_names(void **state)
{
	(void)state;
	assert_int_equal(ev_archive_format_by_name("a.tar"), EV_ARCHIVE_TAR);
	assert_int_equal(ev_archive_format_by_name("a.tar.zst"),
			 EV_ARCHIVE_TAR_ZST);
	assert_int_equal(ev_archive_format_by_name("a.tzst"),
			 EV_ARCHIVE_TAR_ZST);
	assert_int_equal(ev_archive_format_by_name("a.tar.gz"),
			 EV_ARCHIVE_TAR_GZ);
	assert_int_equal(ev_archive_format_by_name("a.tgz"), EV_ARCHIVE_TAR_GZ);
	assert_int_equal(ev_archive_format_by_name("dir/a.zip"),
			 EV_ARCHIVE_ZIP);
	assert_int_equal(ev_archive_format_by_name(".tar"), EV_ARCHIVE_NONE);
	assert_int_equal(ev_archive_format_by_name("a.tar.bz2"),
			 EV_ARCHIVE_NONE);
	assert_int_equal(ev_archive_format_by_name(""), EV_ARCHIVE_NONE);
	assert_int_equal(ev_archive_format_parse("tar"), EV_ARCHIVE_TAR);
	assert_int_equal(ev_archive_format_parse("tar.zst"),
			 EV_ARCHIVE_TAR_ZST);
	assert_int_equal(ev_archive_format_parse("tar.gz"), EV_ARCHIVE_TAR_GZ);
	assert_int_equal(ev_archive_format_parse("zip"), EV_ARCHIVE_ZIP);
	assert_int_equal(ev_archive_format_parse("TAR"), EV_ARCHIVE_NONE);
	assert_int_equal(ev_archive_format_parse("tgz"), EV_ARCHIVE_NONE);
}

/* Read the whole archive, checking offset k holds event k. */
static int read_all(const char *path, int count)
{
	struct ev_reader *r;
	struct ev_error err;
	struct ev_rec rec;
	int n = 0, rr;

	if (ev_reader_open_archive(&r, path, &err) != 0)
		fail_msg("ev_reader_open_archive: %s", err.msg);
	assert_true(ev_reader_is_archive(r));
	assert_int_equal(ev_reader_end_offset(r), (uint64_t)count);
	while ((rr = ev_reader_next(r, &rec, &err)) == 1) {
		assert_int_equal(rec.offset, (uint64_t)n);
		assert_int_equal(tlog_seq(&rec), n);
		n++;
	}
	assert_int_equal(rr, 0);
	ev_reader_free(r);
	return n;
}

static void test_export_each_format_read_in_place(void **state)
{
	static const enum ev_archive_format fmts[] = {EV_ARCHIVE_TAR,
						      EV_ARCHIVE_TAR_ZST,
						      EV_ARCHIVE_TAR_GZ,
						      EV_ARCHIVE_ZIP};
	struct ev_export_report rep;
	struct ev_error err;
	struct tlog t;
	char path[4300];
	size_t i;

	(void)state;
	tlog_create(&t, 65536, 0);
	tlog_append(&t, 0, 3000, 4096, tlog_time_inorder);
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		snprintf(path, sizeof(path), "%s/a%zu", t.dir, i);
		if (ev_log_export(t.log, path, fmts[i], &rep, &err) != 0)
			fail_msg("ev_log_export: %s", err.msg);
		assert_int_equal(rep.first, 0);
		assert_int_equal(rep.end, 3000);
		assert_true(rep.segments >= 2);
		assert_int_equal(ev_archive_probe(path), 1);
		assert_int_equal(read_all(path, 3000), 3000);
	}
	/* a segment file is not an archive; nor is a directory */
	snprintf(path, sizeof(path), "%s/00000000000000000000.seg", t.path);
	assert_int_equal(ev_archive_probe(path), 0);
	assert_int_equal(ev_archive_probe(t.path), 0);
	tlog_free(&t);
}

static void test_seek_across_segments(void **state)
{
	struct ev_reader *r;
	struct ev_error err;
	struct ev_rec rec;
	struct tlog t;
	char path[4300];
	int k, offs[] = {2999, 0, 1500, 1, 2998, 700, 700, 2000, 10};

	(void)state;
	tlog_create(&t, 65536, 0);
	tlog_append(&t, 0, 3000, 4096, tlog_time_inorder);
	snprintf(path, sizeof(path), "%s/a.tar.zst", t.dir);
	if (ev_log_export(t.log, path, EV_ARCHIVE_TAR_ZST, NULL, &err) != 0)
		fail_msg("ev_log_export: %s", err.msg);
	if (ev_reader_open_archive(&r, path, &err) != 0)
		fail_msg("ev_reader_open_archive: %s", err.msg);
	/* forward and backward: a segment behind means a second pass */
	for (k = 0; k < (int)(sizeof(offs) / sizeof(offs[0])); k++) {
		assert_int_equal(ev_reader_get(r, (uint64_t)offs[k], &rec,
					       &err),
				 1);
		assert_int_equal(rec.offset, (uint64_t)offs[k]);
		assert_int_equal(tlog_seq(&rec), offs[k]);
	}
	assert_int_equal(ev_reader_get(r, 3000, &rec, &err), 0);
	/* by time: the first event at or after event 2500's time */
	assert_int_equal(ev_reader_seek_time(r, tlog_time_inorder(2500), &err),
			 0);
	while (ev_reader_next(r, &rec, &err) == 1 && tlog_seq(&rec) < 2500)
		;
	assert_int_equal(tlog_seq(&rec), 2500);
	/* nothing to refresh: an archive does not grow */
	assert_int_equal(ev_reader_refresh(r, &err), 0);
	assert_null(ev_reader_watch_path(r));
	ev_reader_free(r);
	tlog_free(&t);
}

static void test_import_round_trip_and_refusals(void **state)
{
	struct ev_import_report rep;
	struct ev_import_opts o;
	struct ev_error err;
	struct tlog t;
	char arc[4300], dst[4300];

	(void)state;
	tlog_create(&t, 65536, 0);
	tlog_append(&t, 0, 1000, 4096, tlog_time_inorder);
	snprintf(arc, sizeof(arc), "%s/a.zip", t.dir);
	snprintf(dst, sizeof(dst), "%s/copy", t.dir);
	if (ev_log_export(t.log, arc, EV_ARCHIVE_ZIP, NULL, &err) != 0)
		fail_msg("ev_log_export: %s", err.msg);
	memset(&o, 0, sizeof(o));
	if (ev_log_import(arc, dst, &o, &rep, &err) != 0)
		fail_msg("ev_log_import: %s", err.msg);
	assert_int_equal(rep.events, 1000);
	assert_true(rep.segments >= 1);
	/* a second import finds it there */
	assert_int_equal(ev_log_import(arc, dst, &o, &rep, &err), EV_EEXIST);
	assert_string_equal(err.msg + strlen(err.msg) - strlen("exists"),
			    "exists");
	/* a limit below the archive's size */
	snprintf(dst, sizeof(dst), "%s/copy2", t.dir);
	o.max_bytes = 1000;
	assert_int_equal(ev_log_import(arc, dst, &o, &rep, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "unpacks to more than 1000 bytes"));
	/* a missing archive */
	snprintf(arc, sizeof(arc), "%s/none.tar", t.dir);
	assert_int_equal(ev_log_import(arc, dst, NULL, &rep, &err), EV_ENOENT);
	tlog_free(&t);
}

/* An archive built here: its entries, all regular files of "x". */
static void write_tar(const char *path, const char *const *names, int n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	int i;

	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, 1);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, "x", 1), 1);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
}

static void test_import_names(void **state)
{
	static const struct {
		const char *name, *why;
	} bad[] = {
		{"../x", "a path with '..'"},
		{"a/../meta", "a path with '..'"},
		{"a/..", "a path with '..'"},
		{"/meta", "an absolute path"},
		{"a/b/meta", "not a file of a log"},
		{"a/00000000000000000000.sag", "not a file of a log"},
		{"a/0000000000000000000.seg", "not a file of a log"},
		{"a/99999999999999999999.seg", "not a file of a log"},
		{"a//meta", "not a file of a log"},
		{"a b/meta", "not a file of a log"},
	};
	struct ev_error err;
	struct tlog t;
	char arc[4300], dst[4300];
	size_t i;

	(void)state;
	tlog_create(&t, 0, 1);
	snprintf(arc, sizeof(arc), "%s/n.tar", t.dir);
	snprintf(dst, sizeof(dst), "%s/dst", t.dir);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *names[] = {bad[i].name};
		char want[300];
		write_tar(arc, names, 1);
		assert_int_equal(ev_log_import(arc, dst, NULL, NULL, &err),
				 EV_EDATA);
		snprintf(want, sizeof(want), "entry '%s' refused: %s",
			 bad[i].name, bad[i].why);
		if (strstr(err.msg, want) == NULL)
			fail_msg("%s: %s", bad[i].name, err.msg);
	}
	tlog_free(&t);
}

/* The memfds of segments this process holds. */
static int memfds(void)
{
	char path[64], link[256];
	int fd, n = 0;
	ssize_t k;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		k = readlink(path, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		link[k] = '\0';
		n += strstr(link, "memfd:evlog-segment") != NULL;
	}
	return n;
}

static void test_one_segment_in_memory(void **state)
{
	struct ev_reader *r;
	struct ev_error err;
	struct ev_rec rec;
	struct tlog t;
	char cmd[9000];
	int n = 0;

	(void)state;
	tlog_create(&t, 65536, 0);
	tlog_append(&t, 0, 3000, 4096, tlog_time_inorder);
	/* the segments in descending order: the first one met, kept while
	 * listing, is the last one read */
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && tar cf '%s/rev.tar' meta head "
		 "$(ls *.seg | sort -r)",
		 t.path, t.dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/rev.tar", t.dir);
	if (ev_reader_open_archive(&r, cmd, &err) != 0)
		fail_msg("ev_reader_open_archive: %s", err.msg);
	assert_int_equal(memfds(), 1);
	while (ev_reader_next(r, &rec, &err) == 1) {
		assert_int_equal(tlog_seq(&rec), n);
		n++;
		assert_true(memfds() <= 1);
	}
	assert_int_equal(n, 3000);
	ev_reader_free(r);
	assert_int_equal(memfds(), 0);
	tlog_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_export_each_format_read_in_place),
		cmocka_unit_test(test_seek_across_segments),
		cmocka_unit_test(test_import_round_trip_and_refusals),
		cmocka_unit_test(test_import_names),
		cmocka_unit_test(test_one_segment_in_memory),
	};

	return cmocka_run_group_tests_name("archive", tests, NULL, NULL);
}
