/*
 * test_cursor.c - lib/cursor.c: cursor files (evtail --cursor-file), one
 * line "evlog-cursor 1 log=LOGID next=OFFSET" as evtail(1) describes
 * them.  A store and a load give back what was stored; a missing file is
 * EV_ENOENT; anything that is not such a line is EV_EDATA; a store
 * replaces the file atomically and leaves no temporary file behind.
 */
#include <dirent.h>
#include <fcntl.h>

#include "unit.h"

static const char ID[] = "0123456789abcdef0123456789abcdef";

struct fixture {
	char *dir;
	char path[4200];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = unit_tmpdir();
	snprintf(f->path, sizeof(f->path), "%s/c.cur", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unit_rmtree(f->dir);
	free(f);
	return 0;
}

static void put(const char *path, const char *text)
{
	assert_int_equal(unit_write_file(path, text, strlen(text)), 0);
}

/* the names in dir, sorted, joined by spaces */
static void list_dir(const char *dir, char *out, size_t n)
{
	struct dirent **v;
	int i, k;

	k = scandir(dir, &v, NULL, alphasort);
	assert_true(k >= 0);
	out[0] = '\0';
	for (i = 0; i < k; i++) {
		if (strcmp(v[i]->d_name, ".") != 0 &&
		    strcmp(v[i]->d_name, "..") != 0) {
			if (out[0] != '\0')
				strncat(out, " ", n - strlen(out) - 1);
			strncat(out, v[i]->d_name, n - strlen(out) - 1);
		}
		free(v[i]);
	}
	free(v);
}

static void store_ok(const char *path, const char *id, uint64_t next)
{
	struct ev_cursor c;
	struct ev_error err;

	memset(&c, 0, sizeof(c));
	memcpy(c.log_id, id, 33);
	c.next = next;
	if (ev_cursor_store(path, &c, &err) != 0)
		fail_msg("ev_cursor_store: %s", err.msg);
}

/* ------------------------------------------------------------ round trips */

static void test_store_then_load(void **state)
{
	struct fixture *f = *state;
	struct ev_cursor c;
	struct ev_error err;
	size_t n;
	char *text;

	store_ok(f->path, ID, 12345);
	/* the line evtail(1) documents */
	text = unit_read_file(f->path, &n);
	assert_non_null(text);
	assert_string_equal(
		text, "evlog-cursor 1 log=0123456789abcdef0123456789abcdef"
		      " next=12345\n");
	free(text);
	memset(&c, 0x55, sizeof(c));
	assert_int_equal(ev_cursor_load(f->path, &c, &err), 0);
	assert_string_equal(c.log_id, ID);
	assert_true(c.next == 12345);
}

static void test_round_trip_extremes(void **state)
{
	struct fixture *f = *state;
	static const uint64_t nexts[] = {0, 1, 4294967296ULL, UINT64_MAX};
	struct ev_cursor c;
	struct ev_error err;
	size_t i;

	for (i = 0; i < sizeof(nexts) / sizeof(nexts[0]); i++) {
		store_ok(f->path, "ffffffffffffffffffffffffffffffff", nexts[i]);
		memset(&c, 0, sizeof(c));
		assert_int_equal(ev_cursor_load(f->path, &c, &err), 0);
		assert_string_equal(c.log_id,
				    "ffffffffffffffffffffffffffffffff");
		if (c.next != nexts[i])
			fail_msg("stored next=%llu, loaded %llu",
				 (unsigned long long)nexts[i],
				 (unsigned long long)c.next);
	}
}

/* written by hand: no newline at the end is as good */
static void test_load_without_newline(void **state)
{
	struct fixture *f = *state;
	struct ev_cursor c;
	struct ev_error err;

	put(f->path,
	    "evlog-cursor 1 log=0123456789abcdef0123456789abcdef next=7");
	assert_int_equal(ev_cursor_load(f->path, &c, &err), 0);
	assert_string_equal(c.log_id, ID);
	assert_true(c.next == 7);
}

/* ------------------------------------------------------------ missing */

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	struct ev_cursor c;
	struct ev_error err;

	assert_int_equal(ev_cursor_load(f->path, &c, &err), EV_ENOENT);
	/* and nothing was created */
	assert_int_equal(access(f->path, F_OK), -1);
}

/* a directory where the file should be, or a file where a directory
 * should be: not missing, unreadable */
static void test_unreadable(void **state)
{
	struct fixture *f = *state;
	struct ev_cursor c;
	struct ev_error err;
	char want[4400];

	char path[4300];

	/* a directory is no cursor file: bad data, not an I/O error */
	assert_int_equal(mkdir(f->path, 0755), 0);
	ev_error_clear(&err);
	assert_int_equal(ev_cursor_load(f->path, &c, &err), EV_EDATA);
	snprintf(want, sizeof(want),
		 "cannot read cursor file '%s': not a regular file", f->path);
	assert_string_equal(err.msg, want);
	/* a path through a file: cannot be opened, and is not missing */
	snprintf(path, sizeof(path), "%s/f", f->dir);
	put(path, "x");
	snprintf(path, sizeof(path), "%s/f/c.cur", f->dir);
	ev_error_clear(&err);
	assert_int_equal(ev_cursor_load(path, &c, &err), EV_EIO);
	snprintf(want, sizeof(want), "cannot read cursor file '%s'", path);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message: %s", err.msg);
}

/* ------------------------------------------------------------ malformed */

static void expect_edata(struct fixture *f, const char *text, size_t n)
{
	struct ev_cursor c;
	struct ev_error err;
	char want[4300];
	int r;

	assert_int_equal(unit_write_file(f->path, text, n), 0);
	ev_error_clear(&err);
	r = ev_cursor_load(f->path, &c, &err);
	if (r != EV_EDATA)
		fail_msg("'%.*s': got %d, expected EV_EDATA", (int)n, text, r);
	snprintf(want, sizeof(want), "cursor file '%s' is not an evlog cursor",
		 f->path);
	if (strstr(err.msg, want) == NULL)
		fail_msg("'%.*s': message: %s", (int)n, text, err.msg);
}

#define GARBAGE(f, s) expect_edata((f), (s), sizeof(s) - 1)

static void test_garbage(void **state)
{
	struct fixture *f = *state;

	GARBAGE(f, "");
	GARBAGE(f, "\n");
	GARBAGE(f, "hello world\n");
	GARBAGE(f, "\x00\x01\x02\xff\xfe binary");
	GARBAGE(f,
		"{\"log\":\"0123456789abcdef0123456789abcdef\",\"next\":5}\n");
	/* another magic, another version */
	GARBAGE(f,
		"evlog-kursor 1 log=0123456789abcdef0123456789abcdef next=5\n");
	GARBAGE(f,
		"evlog-cursor 2 log=0123456789abcdef0123456789abcdef next=5\n");
	/* fields missing, renamed or swapped */
	GARBAGE(f, "evlog-cursor 1 next=5\n");
	GARBAGE(f, "evlog-cursor 1 log=0123456789abcdef0123456789abcdef\n");
	GARBAGE(f,
		"evlog-cursor 1 id=0123456789abcdef0123456789abcdef next=5\n");
	GARBAGE(f,
		"evlog-cursor 1 next=5 log=0123456789abcdef0123456789abcdef\n");
	/* next that is not a number, or more than one */
	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcdef next=\n");
	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcdef next=x\n");
	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcdef next=12x\n");
	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcdef next=1.5\n");
	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcdef next=5 6\n");
	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcdef next=5 junk\n");
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	const char *full = "evlog-cursor 1 log=0123456789abcdef0123456789abcdef"
			   " next=12345\n";
	size_t cut;

	/* every cut before the first digit of next: a torn write */
	for (cut = 0; cut < strlen(full) - strlen("12345\n"); cut++)
		expect_edata(f, full, cut);
}

static void test_wrong_id_length(void **state)
{
	struct fixture *f = *state;

	GARBAGE(f, "evlog-cursor 1 log= next=5\n");
	GARBAGE(f, "evlog-cursor 1 log=0 next=5\n");
	/* 31, 33, 40 and 41 characters */
	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcde next=5\n");
	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcdef0 next=5\n");
	GARBAGE(f, "evlog-cursor 1 log=0123456789abcdef0123456789abcdef01234567"
		   " next=5\n");
	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcdef012345678"
		" next=5\n");
}

/*
 * evtail(1): LOGID is 32 hexadecimal digits and OFFSET a plain number.
 * sscanf's %llu would take a sign, blanks and any number of digits:
 * "next=-1" and "next=99999999999999999999" once loaded as
 * 18446744073709551615 and sent evtail to the end of the log.
 */
static void test_id_not_hex(void **state)
{
	struct fixture *f = *state;

	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcdeg next=5\n");
	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcde- next=5\n");
}

static void test_next_not_a_plain_number(void **state)
{
	struct fixture *f = *state;

	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcdef next=-1\n");
	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcdef next=+5\n");
	GARBAGE(f,
		"evlog-cursor 1 log=0123456789abcdef0123456789abcdef next= 5\n");
	GARBAGE(f, "evlog-cursor 1 log=0123456789abcdef0123456789abcdef"
		   " next=99999999999999999999\n");
}

/* ------------------------------------------------------------ atomic store */

static void test_store_replaces_atomically(void **state)
{
	struct fixture *f = *state;
	struct ev_cursor c;
	struct ev_error err;
	struct stat before, after;
	char names[4300], old[200];
	int fd;
	ssize_t r;

	store_ok(f->path, ID, 100);
	assert_int_equal(stat(f->path, &before), 0);
	/* a reader that opened the old cursor keeps reading it whole */
	fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	store_ok(f->path, "fedcba9876543210fedcba9876543210", 200);
	memset(old, 0, sizeof(old));
	r = pread(fd, old, sizeof(old) - 1, 0);
	close(fd);
	assert_true(r > 0);
	assert_string_equal(
		old, "evlog-cursor 1 log=0123456789abcdef0123456789abcdef"
		     " next=100\n");
	/* the name now leads to another file: renamed over, not rewritten */
	assert_int_equal(stat(f->path, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	assert_int_equal(ev_cursor_load(f->path, &c, &err), 0);
	assert_string_equal(c.log_id, "fedcba9876543210fedcba9876543210");
	assert_true(c.next == 200);
	/* no temporary file left behind */
	list_dir(f->dir, names, sizeof(names));
	assert_string_equal(names, "c.cur");
}

/* a cursor over garbage: the garbage is gone, whatever its length */
static void test_store_over_garbage(void **state)
{
	struct fixture *f = *state;
	struct ev_cursor c;
	struct ev_error err;
	char big[600], names[4300];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put(f->path, big);
	store_ok(f->path, ID, 3);
	assert_int_equal(ev_cursor_load(f->path, &c, &err), 0);
	assert_true(c.next == 3);
	list_dir(f->dir, names, sizeof(names));
	assert_string_equal(names, "c.cur");
}

/* a relative path: the file, and its temporary, in the current directory */
static void test_store_relative_path(void **state)
{
	struct fixture *f = *state;
	struct ev_cursor c;
	struct ev_error err;
	char cwd[4096], names[4300];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	store_ok("rel.cur", ID, 9);
	assert_int_equal(ev_cursor_load("rel.cur", &c, &err), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_true(c.next == 9);
	list_dir(f->dir, names, sizeof(names));
	assert_string_equal(names, "rel.cur");
}

/* a directory that does not exist: EV_EIO, nothing created */
static void test_store_fails(void **state)
{
	struct fixture *f = *state;
	struct ev_cursor c;
	struct ev_error err;
	char path[4300], want[4400], names[4300];

	memset(&c, 0, sizeof(c));
	memcpy(c.log_id, ID, 33);
	c.next = 1;
	snprintf(path, sizeof(path), "%s/nosuch/c.cur", f->dir);
	ev_error_clear(&err);
	assert_int_equal(ev_cursor_store(path, &c, &err), EV_EIO);
	snprintf(want, sizeof(want), "cannot write cursor file '%s'", path);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message: %s", err.msg);
	list_dir(f->dir, names, sizeof(names));
	assert_string_equal(names, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_store_then_load),
		T(test_round_trip_extremes),
		T(test_load_without_newline),
		T(test_missing_file),
		T(test_unreadable),
		T(test_garbage),
		T(test_truncated),
		T(test_wrong_id_length),
		T(test_id_not_hex),
		T(test_next_not_a_plain_number),
		T(test_store_replaces_atomically),
		T(test_store_over_garbage),
		T(test_store_relative_path),
		T(test_store_fails),
#undef T
	};

	return cmocka_run_group_tests_name("cursor", tests, NULL, NULL);
}
