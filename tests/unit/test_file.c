/*
 * test_file.c - lib/file.c: files created and replaced atomically.
 *
 * A replace leaves exactly the new bytes under the name and no temporary
 * beside it; a replace that fails at any step leaves the old file as it
 * was and no temporary either.  The failures are injected here by
 * interposing pwrite and fsync for this executable (the library is
 * linked in statically, so its calls come here first); a rename that
 * fails is a real one, over a directory.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>

#include "unit.h"

/* ------------------------------------------------------------ faults */

enum { FAULT_NONE, FAULT_PWRITE, FAULT_FSYNC };

static int fault_call; /* FAULT_*: the call to fail */
static int fault_skip; /* matching calls let through first */
static int fault_errno;
static int fault_hits;

static void fault_set(int call, int skip, int errnum)
{
	fault_call = call;
	fault_skip = skip;
	fault_errno = errnum;
	fault_hits = 0;
}

/* Should this call fail?  Sets errno when it should. */
static int fault_now(int call)
{
	if (fault_call != call)
		return 0;
	if (fault_skip-- > 0)
		return 0;
	fault_call = FAULT_NONE;
	fault_hits++;
	errno = fault_errno;
	return 1;
}

int fsync(int fd)
{
	static int (*real)(int);

	if (fault_now(FAULT_FSYNC))
		return -1;
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "fsync");
	return real(fd);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);

	if (fault_now(FAULT_PWRITE))
		return -1;
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "pwrite");
	return real(fd, buf, n, off);
}

/* ------------------------------------------------------------ helpers */

struct fx {
	char *dir;
	int dirfd;
	char path[4200]; /* dir/f */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = unit_tmpdir();
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dirfd >= 0);
	snprintf(f->path, sizeof(f->path), "%s/f", f->dir);
	fault_set(FAULT_NONE, 0, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fault_set(FAULT_NONE, 0, 0);
	close(f->dirfd);
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

/* The names in dir, sorted, joined by spaces ("" when empty). */
static const char *listing(const char *dir)
{
	static char out[4096];
	char *names[64], *t;
	struct dirent *de;
	size_t n = 0, i, j, len = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		assert_true(n < 64);
		names[n] = strdup(de->d_name);
		assert_non_null(names[n]);
		n++;
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s",
					i ? " " : "", names[i]);
		free(names[i]);
	}
	return out;
}

static void assert_content(const char *path, const char *want)
{
	size_t n;
	char *p = unit_read_file(path, &n);

	if (p == NULL)
		fail_msg("cannot read '%s'", path);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(p, want, n);
	free(p);
}

static void put(struct fx *f, const char *name, const char *s)
{
	char path[4300];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(unit_write_file(path, s, strlen(s)), 0);
}

/* ------------------------------------------------------------ replace */

static void test_replace_creates_and_replaces(void **state)
{
	struct fx *f = *state;
	static const char big[] = "a longer second version\nwith two lines\n";

	/* no file yet: it is created */
	assert_int_equal(ev_file_replace(f->dirfd, "f", "one\n", 4), 0);
	assert_content(f->path, "one\n");
	/* longer, then shorter: exactly the new bytes, nothing of the old */
	assert_int_equal(ev_file_replace(f->dirfd, "f", big, strlen(big)), 0);
	assert_content(f->path, big);
	assert_int_equal(ev_file_replace(f->dirfd, "f", "2", 1), 0);
	assert_content(f->path, "2");
	/* empty */
	assert_int_equal(ev_file_replace(f->dirfd, "f", "", 0), 0);
	assert_content(f->path, "");
	/* and no temporary is left beside it */
	assert_string_equal(listing(f->dir), "f");
}

static void test_replace_leaves_other_files(void **state)
{
	struct fx *f = *state;
	char g[4300];

	put(f, "g", "other\n");
	put(f, "f", "old\n");
	assert_int_equal(ev_file_replace(f->dirfd, "f", "new\n", 4), 0);
	assert_content(f->path, "new\n");
	assert_string_equal(listing(f->dir), "f g");
	snprintf(g, sizeof(g), "%s/g", f->dir);
	assert_content(g, "other\n");
}

static void test_replace_path(void **state)
{
	struct fx *f = *state;
	char path[4300], cwd[4096];

	/* dir/name */
	assert_int_equal(ev_file_replace_path(f->path, "p1\n", 3), 0);
	assert_content(f->path, "p1\n");
	/* a bare name is in the working directory */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(ev_file_replace_path("f", "p2\n", 3), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_content(f->path, "p2\n");
	assert_string_equal(listing(f->dir), "f");
	/* a directory that does not exist */
	snprintf(path, sizeof(path), "%s/nodir/f", f->dir);
	errno = 0;
	assert_int_equal(ev_file_replace_path(path, "x", 1), -1);
	assert_int_equal(errno, ENOENT);
	/* a path naming no file */
	snprintf(path, sizeof(path), "%s/", f->dir);
	errno = 0;
	assert_int_equal(ev_file_replace_path(path, "x", 1), -1);
	assert_int_equal(errno, EISDIR);
	assert_string_equal(listing(f->dir), "f");
}

/* A failed write, a failed sync of the temporary and a failed rename
 * each leave the old file and no temporary. */
static void test_replace_failure_keeps_old(void **state)
{
	struct fx *f = *state;
	char sub[4300];

	put(f, "f", "old\n");

	fault_set(FAULT_PWRITE, 0, ENOSPC);
	errno = 0;
	assert_int_equal(ev_file_replace(f->dirfd, "f", "new\n", 4), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(fault_hits, 1);
	assert_content(f->path, "old\n");
	assert_string_equal(listing(f->dir), "f");

	fault_set(FAULT_FSYNC, 0, EIO);
	errno = 0;
	assert_int_equal(ev_file_replace(f->dirfd, "f", "new\n", 4), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(fault_hits, 1);
	assert_content(f->path, "old\n");
	assert_string_equal(listing(f->dir), "f");

	/* a rename over a directory that is not empty fails for real */
	snprintf(sub, sizeof(sub), "%s/d", f->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put(f, "d/inside", "x");
	errno = 0;
	assert_int_equal(ev_file_replace(f->dirfd, "d", "new\n", 4), -1);
	assert_true(errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST);
	assert_string_equal(listing(sub), "inside");
	assert_string_equal(listing(f->dir), "d f");
	assert_content(f->path, "old\n");
}

/* The directory's sync fails after the rename: the file is the new one,
 * but the caller is told that it may not last. */
static void test_replace_dir_sync_failure(void **state)
{
	struct fx *f = *state;

	put(f, "f", "old\n");
	fault_set(FAULT_FSYNC, 1, EIO); /* the temporary's passes */
	errno = 0;
	assert_int_equal(ev_file_replace(f->dirfd, "f", "new\n", 4), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(fault_hits, 1);
	assert_content(f->path, "new\n");
	assert_string_equal(listing(f->dir), "f");
}

/* ------------------------------------------------------------ temporaries */

static void test_tmpfiles_are_unique(void **state)
{
	struct fx *f = *state;
	struct ev_tmpfile a, b;
	const struct ev_tmpfile *t;
	char pid[32];
	size_t i;

	/* two at once for one name: two temporaries, beside the file, named
	 * NAME.tmp. and 16 random hex digits: nothing to guess them by */
	put(f, "f", "old\n");
	assert_int_equal(ev_tmpfile_write(&a, f->dirfd, "f", "A", 1), 0);
	assert_int_equal(ev_tmpfile_write(&b, f->dirfd, "f", "B", 1), 0);
	assert_string_not_equal(a.name, b.name);
	snprintf(pid, sizeof(pid), ".%ld.", (long)getpid());
	for (t = &a; t != NULL; t = t == &a ? &b : NULL) {
		assert_int_equal(strlen(t->name), 6 + 16);
		assert_memory_equal(t->name, "f.tmp.", 6);
		for (i = 6; i < 22; i++)
			assert_non_null(strchr("0123456789abcdef", t->name[i]));
		assert_null(strstr(t->name, pid));
	}
	assert_content(f->path, "old\n");
	/* renamed in order: the last one wins, and both names are gone */
	assert_int_equal(ev_tmpfile_rename(&a, "f"), 0);
	assert_content(f->path, "A");
	assert_string_equal(a.name, "");
	assert_int_equal(ev_tmpfile_rename(&b, "f"), 0);
	assert_content(f->path, "B");
	assert_string_equal(listing(f->dir), "f");
}

static void test_tmpfile_remove(void **state)
{
	struct fx *f = *state;
	struct ev_tmpfile t;

	put(f, "f", "old\n");
	assert_int_equal(ev_tmpfile_write(&t, f->dirfd, "f", "new", 3), 0);
	assert_string_not_equal(listing(f->dir), "f");
	ev_tmpfile_remove(&t);
	assert_string_equal(t.name, "");
	assert_string_equal(listing(f->dir), "f");
	assert_content(f->path, "old\n");
	/* a second remove does nothing */
	ev_tmpfile_remove(&t);
	assert_string_equal(listing(f->dir), "f");
	/* a temporary whose write fails is removed by that call */
	fault_set(FAULT_PWRITE, 0, EIO);
	assert_int_equal(ev_tmpfile_write(&t, f->dirfd, "f", "new", 3), -1);
	assert_string_equal(t.name, "");
	assert_string_equal(listing(f->dir), "f");
}

/* A temporary left by a dead process of the same pid is passed over,
 * and left alone. */
/* Temporaries planted where a writer might put its own, symbolic links
 * among them, are never written through: the writer's name is another. */
static void test_planted_tmpfile_passed_over(void **state)
{
	struct fx *f = *state;
	char name[400], target[400], want[2000];
	unsigned n;

	snprintf(target, sizeof(target), "%s/target", f->dir);
	put(f, "target", "kept");
	for (n = 1; n <= 3; n++) {
		snprintf(name, sizeof(name), "%s/f.tmp.%ld.%u", f->dir,
			 (long)getpid(), n);
		assert_int_equal(symlink(target, name), 0);
	}
	assert_int_equal(ev_file_replace(f->dirfd, "f", "new\n", 4), 0);
	assert_content(f->path, "new\n");
	assert_content(target, "kept");
	snprintf(want, sizeof(want),
		 "f f.tmp.%ld.1 f.tmp.%ld.2 f.tmp.%ld.3 target", (long)getpid(),
		 (long)getpid(), (long)getpid());
	assert_string_equal(listing(f->dir), want);
}

/* ev_openat() opens regular files only: not through a symbolic link, and
 * not a FIFO, which it must not wait on; directories as asked. */
static void test_openat_regular_only(void **state)
{
	struct fx *f = *state;
	char path[400];
	int fd;

	put(f, "f", "x");
	snprintf(path, sizeof(path), "%s/link", f->dir);
	assert_int_equal(symlink(f->path, path), 0);
	snprintf(path, sizeof(path), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(mkdirat(f->dirfd, "d", 0755), 0);

	fd = ev_openat(f->dirfd, "f", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_int_equal(ev_openat(f->dirfd, "link", O_RDONLY, 0), -1);
	assert_int_equal(errno, ELOOP);
	errno = 0;
	assert_int_equal(ev_openat(f->dirfd, "link", O_RDWR | O_CREAT, 0644),
			 -1);
	assert_int_equal(errno, ELOOP);
	assert_content(f->path, "x");
	errno = 0;
	assert_int_equal(ev_openat(f->dirfd, "fifo", O_RDONLY, 0), -1);
	assert_int_equal(errno, EV_ENOTREG);
	errno = 0;
	assert_int_equal(ev_openat(f->dirfd, "fifo", O_RDWR, 0), -1);
	assert_int_equal(errno, EV_ENOTREG);
	errno = 0;
	assert_int_equal(ev_openat(f->dirfd, "d", O_RDONLY, 0), -1);
	assert_int_equal(errno, EV_ENOTREG);
	fd = ev_openat(f->dirfd, "d", O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	close(fd);
}

static void test_create(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ev_file_create(f->dirfd, "f", "one", 3), 0);
	assert_content(f->path, "one");
	/* never over a file that exists */
	errno = 0;
	assert_int_equal(ev_file_create(f->dirfd, "f", "two", 3), -1);
	assert_int_equal(errno, EEXIST);
	assert_content(f->path, "one");
	/* a failed sync leaves nothing */
	fault_set(FAULT_FSYNC, 0, EIO);
	assert_int_equal(ev_file_create(f->dirfd, "g", "two", 3), -1);
	assert_int_equal(errno, EIO);
	assert_string_equal(listing(f->dir), "f");
}

/* ------------------------------------------------------------ concurrency */

#define WRITERS 4
#define ROUNDS 25

struct writer_arg {
	int dirfd;
	int id;
	int failures;
};

static void *writer(void *p)
{
	struct writer_arg *a = p;
	char buf[64];
	int i, n;

	for (i = 0; i < ROUNDS; i++) {
		/* lengths differ, so a mixed or torn file would show */
		n = snprintf(buf, sizeof(buf), "writer %d round %d %.*s\n",
			     a->id, i, a->id * 7,
			     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		if (ev_file_replace(a->dirfd, "f", buf, (size_t)n) != 0)
			a->failures++;
	}
	return NULL;
}

static void test_concurrent_replaces(void **state)
{
	struct fx *f = *state;
	struct writer_arg a[WRITERS];
	pthread_t thr[WRITERS];
	char want[64], *p;
	size_t n;
	int i, matches = 0;

	for (i = 0; i < WRITERS; i++) {
		a[i].dirfd = f->dirfd;
		a[i].id = i;
		a[i].failures = 0;
		assert_int_equal(pthread_create(&thr[i], NULL, writer, &a[i]),
				 0);
	}
	for (i = 0; i < WRITERS; i++) {
		pthread_join(thr[i], NULL);
		assert_int_equal(a[i].failures, 0);
	}
	/* the file is one writer's last version, whole */
	p = unit_read_file(f->path, &n);
	assert_non_null(p);
	for (i = 0; i < WRITERS; i++) {
		snprintf(want, sizeof(want), "writer %d round %d %.*s\n", i,
			 ROUNDS - 1, i * 7,
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		matches += n == strlen(want) && memcmp(p, want, n) == 0;
	}
	free(p);
	assert_int_equal(matches, 1);
	assert_string_equal(listing(f->dir), "f");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_replace_creates_and_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_leaves_other_files,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_path, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replace_failure_keeps_old,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_dir_sync_failure,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmpfiles_are_unique, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tmpfile_remove, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_planted_tmpfile_passed_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_openat_regular_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_replaces, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
