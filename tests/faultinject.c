/*
 * faultinject.c - an LD_PRELOAD shim that makes one system call fail, or
 * kills the process at it, for tests/faultinject.bats and tests/crash.bats.
 * The top Makefile builds tests/faultinject.so from it.
 *
 * Environment:
 *   EVFI_CALL    fdatasync, fsync, write, pwrite, pwritev, pipe2 or
 *                rename: the call to hit (pwrite covers pwrite64, pwritev
 *                covers pwritev64; pipe2 is how a handler's pipes are
 *                made; rename covers renameat and renameat2, and its
 *                EVFI_PATH is matched against the path renamed)
 *   EVFI_NTH     hit the Nth matching call, counting from 1 (default 1)
 *   EVFI_COUNT   hit this many matching calls from the Nth on (default 1;
 *                0 means every one)
 *   EVFI_PATH    count only calls on descriptors whose path contains this
 *                string, such as ".seg" or "/head"; a trailing '$' means
 *                the path must end with it (default: all)
 *   EVFI_ERRNO   EIO (default), ENOSPC, EDQUOT, EROFS or EMFILE
 *   EVFI_SHORT   with write, pwrite or pwritev: really write the first half
 *                of the bytes and return that short count, as a full disk
 *                does, instead of failing with nothing written
 *   EVFI_KILL    "before" or "after": raise SIGKILL just before or just
 *                after the call instead of failing it (a deterministic
 *                crash point)
 *   EVFI_LOG     a file to which one line is appended per hit
 *
 * Descriptors 0-2 are never counted for write unless EVFI_PATH is set, so
 * stdio chatter does not shift the count.
 *
 * Recording (tests/powerloss.bats): with EVFI_RECORD set, every call
 * that changes a file or directory under EVFI_ROOT (a path prefix) is
 * appended to the file EVFI_RECORD as one line, in the order the calls
 * completed, and the bytes written go to EVFI_RECORD.data.  The lines,
 * fields separated by tabs:
 *   write PATH OFFSET LENGTH DATA-OFFSET  (write, pwrite, pwritev)
 *   trunc PATH LENGTH                     (ftruncate, and O_TRUNC)
 *   creat PATH                            (open made a new file)
 *   mkdir PATH
 *   rename OLD NEW
 *   unlink PATH
 *   fsync PATH                            (fsync or fdatasync of a file)
 *   dirsync PATH                          (fsync of a directory)
 *   out LENGTH DATA-OFFSET                (fwrite to stdout: evpub's acks)
 * Paths are absolute.  Each call and its line are made under one lock, so
 * the order is the order of the calls; a sync is recorded once it has
 * returned, and a failed call is not recorded.  tests/powerloss.py builds
 * crash states from the record.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum {
	C_NONE,
	C_FDATASYNC,
	C_FSYNC,
	C_WRITE,
	C_PWRITE,
	C_PWRITEV,
	C_PIPE2,
	C_RENAME
};

static int cfg_done, cfg_call, cfg_errno = EIO, cfg_short, cfg_kill;
static long cfg_nth = 1, cfg_count = 1;
static const char *cfg_path, *cfg_log, *cfg_record, *cfg_root;
static long counter;

static void config(void)
{
	const char *s;

	if (__atomic_load_n(&cfg_done, __ATOMIC_ACQUIRE))
		return;
	s = getenv("EVFI_CALL");
	if (s == NULL)
		cfg_call = C_NONE;
	else if (strcmp(s, "fdatasync") == 0)
		cfg_call = C_FDATASYNC;
	else if (strcmp(s, "fsync") == 0)
		cfg_call = C_FSYNC;
	else if (strcmp(s, "write") == 0)
		cfg_call = C_WRITE;
	else if (strcmp(s, "pwrite") == 0)
		cfg_call = C_PWRITE;
	else if (strcmp(s, "pwritev") == 0)
		cfg_call = C_PWRITEV;
	else if (strcmp(s, "pipe2") == 0)
		cfg_call = C_PIPE2;
	else if (strcmp(s, "rename") == 0)
		cfg_call = C_RENAME;
	if ((s = getenv("EVFI_NTH")) != NULL)
		cfg_nth = strtol(s, NULL, 10);
	if ((s = getenv("EVFI_COUNT")) != NULL)
		cfg_count = strtol(s, NULL, 10);
	if ((s = getenv("EVFI_ERRNO")) != NULL) {
		if (strcmp(s, "ENOSPC") == 0)
			cfg_errno = ENOSPC;
		else if (strcmp(s, "EDQUOT") == 0)
			cfg_errno = EDQUOT;
		else if (strcmp(s, "EROFS") == 0)
			cfg_errno = EROFS;
		else if (strcmp(s, "EMFILE") == 0)
			cfg_errno = EMFILE;
	}
	s = getenv("EVFI_SHORT");
	cfg_short = s != NULL && *s && strcmp(s, "0") != 0;
	s = getenv("EVFI_KILL");
	if (s != NULL && strcmp(s, "before") == 0)
		cfg_kill = 1;
	else if (s != NULL && strcmp(s, "after") == 0)
		cfg_kill = 2;
	cfg_path = getenv("EVFI_PATH");
	if (cfg_path != NULL && *cfg_path == '\0')
		cfg_path = NULL;
	cfg_log = getenv("EVFI_LOG");
	cfg_record = getenv("EVFI_RECORD");
	if (cfg_record != NULL && *cfg_record == '\0')
		cfg_record = NULL;
	cfg_root = getenv("EVFI_ROOT");
	__atomic_store_n(&cfg_done, 1, __ATOMIC_RELEASE);
}

static void *next_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL)
		abort();
	return p;
}

static int fd_path(int fd, char *out, size_t n)
{
	char link[64];
	ssize_t r;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	r = readlink(link, out, n - 1);
	if (r < 0)
		return -1;
	out[r] = '\0';
	return 0;
}

/* ------------------------------------------------------------ recording */

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static int rec_fd = -1, rec_data_fd = -1;
static long long rec_data_off;

static int recording(void)
{
	config();
	return cfg_record != NULL;
}

/* Take the lock, opening the record on first use.  0: recording. */
static int rec_lock(void)
{
	char data[PATH_MAX];

	pthread_mutex_lock(&rec_mu);
	if (rec_fd >= 0)
		return 0;
	snprintf(data, sizeof(data), "%s.data", cfg_record);
	/* raw system calls: open() itself is wrapped */
	rec_fd = (int)syscall(SYS_openat, AT_FDCWD, cfg_record,
			      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	rec_data_fd =
		(int)syscall(SYS_openat, AT_FDCWD, data,
			     O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (rec_fd < 0 || rec_data_fd < 0)
		abort();
	rec_data_off = lseek(rec_data_fd, 0, SEEK_END);
	return 0;
}

static void rec_unlock(void)
{
	pthread_mutex_unlock(&rec_mu);
}

static int under_root(const char *path)
{
	size_t n;

	if (path[0] != '/')
		return 0;
	if (cfg_root == NULL || *cfg_root == '\0')
		return 1;
	n = strlen(cfg_root);
	return strncmp(path, cfg_root, n) == 0 &&
	       (path[n] == '/' || path[n] == '\0');
}

/* the absolute path of NAME relative to DIRFD (not normalized) */
static int at_path(int dirfd, const char *name, char *out, size_t n)
{
	char base[PATH_MAX];
	int k;

	if (name[0] == '/') {
		k = snprintf(out, n, "%s", name);
	} else {
		if (dirfd == AT_FDCWD) {
			if (getcwd(base, sizeof(base)) == NULL)
				return -1;
		} else if (fd_path(dirfd, base, sizeof(base)) != 0) {
			return -1;
		}
		k = snprintf(out, n, "%s/%s", base, name);
	}
	return k < 0 || (size_t)k >= n ? -1 : 0;
}

/* is FD a file under the root?  Its path in PATH. */
static int fd_recorded(int fd, char *path, size_t n)
{
	return fd_path(fd, path, n) == 0 && under_root(path);
}

static void rec_line(const char *fmt, ...)
{
	char line[2 * PATH_MAX + 128];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(line) - 1)
		abort();
	line[k++] = '\n';
	if (syscall(SYS_write, rec_fd, line, (size_t)k) != k)
		abort();
}

/* append N bytes to the data file; their offset there */
static long long rec_data(const void *p, size_t n)
{
	long long at = rec_data_off;
	const char *c = p;
	long w;

	while (n > 0) {
		w = syscall(SYS_write, rec_data_fd, c, n);
		if (w <= 0)
			abort();
		c += w;
		n -= (size_t)w;
		rec_data_off += w;
	}
	return at;
}

/* the offset a write() to FD lands at */
static long long write_offset(int fd)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && (fl & O_APPEND) && fstat(fd, &st) == 0)
		return (long long)st.st_size;
	return (long long)lseek(fd, 0, SEEK_CUR);
}

static void rec_write(const char *path, long long off, const void *p, size_t n)
{
	long long at = rec_data(p, n);

	rec_line("write\t%s\t%lld\t%zu\t%lld", path, off, n, at);
}

static void note(const char *call, int fd, long nth, const char *what)
{
	char line[600], path[4096];
	int lfd, n;

	if (cfg_log == NULL)
		return;
	if (fd_path(fd, path, sizeof(path)) != 0)
		strcpy(path, "?");
	n = snprintf(line, sizeof(line), "%s #%ld fd %d (%s): %s\n", call, nth,
		     fd, path, what);
	lfd = open(cfg_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (lfd >= 0) {
		/* the raw system call: write() itself may be wrapped */
		syscall(SYS_write, lfd, line, (size_t)n);
		close(lfd);
	}
}

/* 0: let the call through; 1: hit it (*nth set); path, when not NULL,
 * is what EVFI_PATH is matched against instead of fd's */
static int hit_at(int call, int fd, const char *name, long *nth)
{
	char path[4096];
	long c;

	config();
	if (cfg_call != call)
		return 0;
	if (cfg_path != NULL) {
		size_t pl = strlen(cfg_path), l;
		if (name != NULL)
			snprintf(path, sizeof(path), "%s", name);
		else if (fd_path(fd, path, sizeof(path)) != 0)
			return 0;
		l = strlen(path);
		if (cfg_path[pl - 1] == '$') {
			if (l < pl - 1 ||
			    memcmp(path + l - (pl - 1), cfg_path, pl - 1) != 0)
				return 0;
		} else if (strstr(path, cfg_path) == NULL) {
			return 0;
		}
	} else if (call == C_WRITE && fd <= 2) {
		return 0;
	}
	c = __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
	*nth = c;
	if (c < cfg_nth)
		return 0;
	return cfg_count == 0 || c < cfg_nth + cfg_count;
}

static int hit(int call, int fd, long *nth)
{
	return hit_at(call, fd, NULL, nth);
}

static const char *errname(void)
{
	switch (cfg_errno) {
	case ENOSPC:
		return "ENOSPC";
	case EDQUOT:
		return "EDQUOT";
	case EROFS:
		return "EROFS";
	case EMFILE:
		return "EMFILE";
	default:
		return "EIO";
	}
}

static void die_now(const char *call, int fd, long nth, const char *when)
{
	char what[64];

	snprintf(what, sizeof(what), "SIGKILL %s", when);
	note(call, fd, nth, what);
	raise(SIGKILL);
}

static int rec_sync(int (*real)(int), int fd)
{
	char path[PATH_MAX];
	struct stat st;
	int r;

	if (!fd_recorded(fd, path, sizeof(path)))
		return real(fd);
	rec_lock();
	r = real(fd);
	if (r == 0)
		rec_line("%s\t%s",
			 fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? "dirsync"
								    : "fsync",
			 path);
	rec_unlock();
	return r;
}

int fdatasync(int fd)
{
	static int (*real)(int);
	long nth;
	int r;

	if (real == NULL)
		real = (int (*)(int))next_sym("fdatasync");
	if (recording())
		return rec_sync(real, fd);
	if (!hit(C_FDATASYNC, fd, &nth))
		return real(fd);
	if (cfg_kill == 1)
		die_now("fdatasync", fd, nth, "before");
	if (cfg_kill == 2) {
		r = real(fd);
		die_now("fdatasync", fd, nth, "after");
		return r;
	}
	note("fdatasync", fd, nth, errname());
	errno = cfg_errno;
	return -1;
}

int fsync(int fd)
{
	static int (*real)(int);
	long nth;
	int r;

	if (real == NULL)
		real = (int (*)(int))next_sym("fsync");
	if (recording())
		return rec_sync(real, fd);
	if (!hit(C_FSYNC, fd, &nth))
		return real(fd);
	if (cfg_kill == 1)
		die_now("fsync", fd, nth, "before");
	if (cfg_kill == 2) {
		r = real(fd);
		die_now("fsync", fd, nth, "after");
		return r;
	}
	note("fsync", fd, nth, errname());
	errno = cfg_errno;
	return -1;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	long nth;
	ssize_t r;

	if (real == NULL)
		real = (ssize_t(*)(int, const void *, size_t))next_sym("write");
	if (recording()) {
		char path[PATH_MAX];
		long long off;
		if (!fd_recorded(fd, path, sizeof(path)))
			return real(fd, buf, n);
		rec_lock();
		off = write_offset(fd);
		r = real(fd, buf, n);
		if (r > 0)
			rec_write(path, off, buf, (size_t)r);
		rec_unlock();
		return r;
	}
	if (!hit(C_WRITE, fd, &nth))
		return real(fd, buf, n);
	if (cfg_kill == 1)
		die_now("write", fd, nth, "before");
	if (cfg_kill == 2) {
		r = real(fd, buf, n);
		die_now("write", fd, nth, "after");
		return r;
	}
	if (cfg_short && n > 1) {
		note("write", fd, nth, "short write");
		return real(fd, buf, n / 2);
	}
	note("write", fd, nth, errname());
	errno = cfg_errno;
	return -1;
}

static ssize_t do_pwrite(const char *name, int fd, const void *buf, size_t n,
			 off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	long nth;
	ssize_t r;

	if (real == NULL)
		real = (ssize_t(*)(int, const void *, size_t, off_t))next_sym(
			"pwrite64");
	if (recording()) {
		char path[PATH_MAX];
		if (!fd_recorded(fd, path, sizeof(path)))
			return real(fd, buf, n, off);
		rec_lock();
		r = real(fd, buf, n, off);
		if (r > 0)
			rec_write(path, (long long)off, buf, (size_t)r);
		rec_unlock();
		return r;
	}
	if (!hit(C_PWRITE, fd, &nth))
		return real(fd, buf, n, off);
	if (cfg_kill == 1)
		die_now(name, fd, nth, "before");
	if (cfg_kill == 2) {
		r = real(fd, buf, n, off);
		die_now(name, fd, nth, "after");
		return r;
	}
	if (cfg_short && n > 1) {
		note(name, fd, nth, "short write");
		return real(fd, buf, n / 2, off);
	}
	note(name, fd, nth, errname());
	errno = cfg_errno;
	return -1;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return do_pwrite("pwrite", fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return do_pwrite("pwrite64", fd, buf, n, off);
}

static ssize_t do_pwritev(const char *name, int fd, const struct iovec *iov,
			  int cnt, off_t off)
{
	static ssize_t (*real)(int, const struct iovec *, int, off_t);
	long nth;
	ssize_t r;
	size_t total = 0, want, k;
	struct iovec part[64];
	int i, np = 0;

	if (real == NULL)
		real = (ssize_t(*)(int, const struct iovec *, int,
				   off_t))next_sym("pwritev64");
	if (recording()) {
		char path[PATH_MAX];
		if (!fd_recorded(fd, path, sizeof(path)))
			return real(fd, iov, cnt, off);
		rec_lock();
		r = real(fd, iov, cnt, off);
		/* the bytes that landed, as one write */
		for (i = 0; i < cnt && r > 0 && (ssize_t)total < r; i++) {
			k = iov[i].iov_len;
			if ((ssize_t)(total + k) > r)
				k = (size_t)r - total;
			rec_data(iov[i].iov_base, k);
			total += k;
		}
		if (r > 0)
			rec_line("write\t%s\t%lld\t%zd\t%lld", path,
				 (long long)off, r, rec_data_off - r);
		rec_unlock();
		return r;
	}
	if (!hit(C_PWRITEV, fd, &nth))
		return real(fd, iov, cnt, off);
	if (cfg_kill == 1)
		die_now(name, fd, nth, "before");
	if (cfg_kill == 2) {
		r = real(fd, iov, cnt, off);
		die_now(name, fd, nth, "after");
		return r;
	}
	for (i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	if (cfg_short && total > 1 && cnt <= 64) {
		/* the first half of the bytes really land, as on a full disk */
		want = total / 2;
		for (i = 0; i < cnt && want > 0; i++) {
			k = iov[i].iov_len < want ? iov[i].iov_len : want;
			part[np].iov_base = iov[i].iov_base;
			part[np].iov_len = k;
			np++;
			want -= k;
		}
		note(name, fd, nth, "short write");
		return real(fd, part, np, off);
	}
	note(name, fd, nth, errname());
	errno = cfg_errno;
	return -1;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return do_pwritev("pwritev", fd, iov, cnt, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return do_pwritev("pwritev64", fd, iov, cnt, off);
}

/* pipe2 has no descriptor to count by path: EVFI_PATH never matches it */
int pipe2(int fds[2], int flags)
{
	static int (*real)(int[2], int);
	long nth;

	if (real == NULL)
		real = (int (*)(int[2], int))next_sym("pipe2");
	if (!hit(C_PIPE2, -1, &nth))
		return real(fds, flags);
	if (cfg_kill == 1)
		die_now("pipe2", -1, nth, "before");
	if (cfg_kill == 2) {
		int r = real(fds, flags);
		die_now("pipe2", -1, nth, "after");
		return r;
	}
	note("pipe2", -1, nth, errname());
	errno = cfg_errno;
	return -1;
}

/* ---------------------------------- calls that are only ever recorded */

static int do_ftruncate(const char *name, int fd, off_t len)
{
	static int (*real)(int, off_t);
	char path[PATH_MAX];
	int r;

	if (real == NULL)
		real = (int (*)(int, off_t))next_sym(name);
	if (!recording() || !fd_recorded(fd, path, sizeof(path)))
		return real(fd, len);
	rec_lock();
	r = real(fd, len);
	if (r == 0)
		rec_line("trunc\t%s\t%lld", path, (long long)len);
	rec_unlock();
	return r;
}

int ftruncate(int fd, off_t len)
{
	return do_ftruncate("ftruncate", fd, len);
}

int ftruncate64(int fd, off_t len)
{
	return do_ftruncate("ftruncate64", fd, len);
}

static int do_openat(const char *name, int dirfd, const char *file, int flags,
		     mode_t mode)
{
	static int (*real[2])(int, const char *, int, ...);
	int (*fn)(int, const char *, int, ...);
	char path[PATH_MAX], made[PATH_MAX];
	struct stat st;
	int fd, existed;

	fn = real[name[6] != '\0'];
	if (fn == NULL)
		fn = real[name[6] != '\0'] =
			(int (*)(int, const char *, int, ...))next_sym(name);
	if (!(flags & (O_CREAT | O_TRUNC)) || !recording() ||
	    at_path(dirfd, file, path, sizeof(path)) != 0 || !under_root(path))
		return fn(dirfd, file, flags, mode);
	rec_lock();
	existed = stat(path, &st) == 0;
	fd = fn(dirfd, file, flags, mode);
	if (fd >= 0 && fd_path(fd, made, sizeof(made)) == 0) {
		if (!existed)
			rec_line("creat\t%s", made);
		else if ((flags & O_TRUNC) && S_ISREG(st.st_mode))
			rec_line("trunc\t%s\t0", made);
	}
	rec_unlock();
	return fd;
}

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int openat(int dirfd, const char *file, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return do_openat("openat", dirfd, file, flags, mode);
}

int openat64(int dirfd, const char *file, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return do_openat("openat64", dirfd, file, flags, mode);
}

int open(const char *file, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return do_openat("openat", AT_FDCWD, file, flags, mode);
}

int open64(const char *file, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return do_openat("openat64", AT_FDCWD, file, flags, mode);
}

/* rename: 0 let it through, 1 it failed (errno set); or no return */
static int rename_hit(const char *call, int ofd, const char *old,
		      int (*real)(void *), void *args)
{
	char path[PATH_MAX];
	long nth;
	int r;

	config();
	if (cfg_call != C_RENAME)
		return 0;
	if (at_path(ofd, old, path, sizeof(path)) != 0)
		snprintf(path, sizeof(path), "%s", old);
	if (!hit_at(C_RENAME, ofd, path, &nth))
		return 0;
	if (cfg_kill == 1)
		die_now(call, ofd, nth, "before");
	if (cfg_kill == 2) {
		r = real(args);
		die_now(call, ofd, nth, "after");
		return r;
	}
	note(call, ofd, nth, errname());
	errno = cfg_errno;
	return 1;
}

struct rename_args {
	int (*fn)(int, const char *, int, const char *, unsigned);
	int ofd, nfd;
	const char *old, *new;
	unsigned flags;
};

static int rename_call(void *p)
{
	struct rename_args *a = p;

	return a->fn(a->ofd, a->old, a->nfd, a->new, a->flags);
}

int renameat2(int ofd, const char *old, int nfd, const char *new,
	      unsigned flags)
{
	static int (*real)(int, const char *, int, const char *, unsigned);
	struct rename_args a;
	char op[PATH_MAX], np[PATH_MAX];
	int r;

	if (real == NULL)
		real = (int (*)(int, const char *, int, const char *,
				unsigned))next_sym("renameat2");
	a.fn = real;
	a.ofd = ofd;
	a.nfd = nfd;
	a.old = old;
	a.new = new;
	a.flags = flags;
	if (rename_hit("renameat2", ofd, old, rename_call, &a))
		return -1;
	/* an exchange is no rename the recording knows */
	if (!recording() || (flags & 2) != 0 ||
	    at_path(ofd, old, op, sizeof(op)) != 0 ||
	    at_path(nfd, new, np, sizeof(np)) != 0 ||
	    !(under_root(op) || under_root(np)))
		return real(ofd, old, nfd, new, flags);
	rec_lock();
	r = real(ofd, old, nfd, new, flags);
	if (r == 0)
		rec_line("rename\t%s\t%s", op, np);
	rec_unlock();
	return r;
}

static int renameat_call(void *p)
{
	struct rename_args *a = p;
	int (*fn)(int, const char *, int, const char *) =
		(int (*)(int, const char *, int, const char *))(void *)a->fn;

	return fn(a->ofd, a->old, a->nfd, a->new);
}

int renameat(int ofd, const char *old, int nfd, const char *new)
{
	static int (*real)(int, const char *, int, const char *);
	struct rename_args a;
	char op[PATH_MAX], np[PATH_MAX];
	int r;

	if (real == NULL)
		real = (int (*)(int, const char *, int, const char *))next_sym(
			"renameat");
	a.fn = (int (*)(int, const char *, int, const char *, unsigned))(
		void *)real;
	a.ofd = ofd;
	a.nfd = nfd;
	a.old = old;
	a.new = new;
	a.flags = 0;
	if (rename_hit("renameat", ofd, old, renameat_call, &a))
		return -1;
	if (!recording() || at_path(ofd, old, op, sizeof(op)) != 0 ||
	    at_path(nfd, new, np, sizeof(np)) != 0 ||
	    !(under_root(op) || under_root(np)))
		return real(ofd, old, nfd, new);
	rec_lock();
	r = real(ofd, old, nfd, new);
	if (r == 0)
		rec_line("rename\t%s\t%s", op, np);
	rec_unlock();
	return r;
}

int rename(const char *old, const char *new)
{
	return renameat(AT_FDCWD, old, AT_FDCWD, new);
}

int unlinkat(int dirfd, const char *file, int flags)
{
	static int (*real)(int, const char *, int);
	char path[PATH_MAX];
	int r;

	if (real == NULL)
		real = (int (*)(int, const char *, int))next_sym("unlinkat");
	if (!recording() || at_path(dirfd, file, path, sizeof(path)) != 0 ||
	    !under_root(path))
		return real(dirfd, file, flags);
	rec_lock();
	r = real(dirfd, file, flags);
	if (r == 0)
		rec_line("unlink\t%s", path);
	rec_unlock();
	return r;
}

int unlink(const char *file)
{
	return unlinkat(AT_FDCWD, file, 0);
}

int rmdir(const char *file)
{
	return unlinkat(AT_FDCWD, file, AT_REMOVEDIR);
}

int mkdirat(int dirfd, const char *file, mode_t mode)
{
	static int (*real)(int, const char *, mode_t);
	char path[PATH_MAX];
	int r;

	if (real == NULL)
		real = (int (*)(int, const char *, mode_t))next_sym("mkdirat");
	if (!recording() || at_path(dirfd, file, path, sizeof(path)) != 0 ||
	    !under_root(path))
		return real(dirfd, file, mode);
	rec_lock();
	r = real(dirfd, file, mode);
	if (r == 0)
		rec_line("mkdir\t%s", path);
	rec_unlock();
	return r;
}

int mkdir(const char *file, mode_t mode)
{
	return mkdirat(AT_FDCWD, file, mode);
}

/* evpub prints its acks with fwrite once a batch is durable */
size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
	static size_t (*real)(const void *, size_t, size_t, FILE *);
	size_t r;
	long long at;

	if (real == NULL)
		real = (size_t(*)(const void *, size_t, size_t,
				  FILE *))next_sym("fwrite");
	if (f != stdout || !recording())
		return real(p, size, n, f);
	rec_lock();
	r = real(p, size, n, f);
	if (r > 0) {
		at = rec_data(p, r * size);
		rec_line("out\t%zu\t%lld", r * size, at);
	}
	rec_unlock();
	return r;
}
