/*
 * faultinject.c - an LD_PRELOAD shim that makes one system call fail, or
 * kills the process at it, for tests/faultinject.bats and tests/crash.bats.
 * The top Makefile builds tests/faultinject.so from it.
 *
 * Environment:
 *   EVFI_CALL    fdatasync, fsync, write, pwrite, pwritev or pipe2: the
 *                call to hit (pwrite covers pwrite64, pwritev covers
 *                pwritev64; pipe2 is how a handler's pipes are made)
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
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { C_NONE, C_FDATASYNC, C_FSYNC, C_WRITE, C_PWRITE, C_PWRITEV, C_PIPE2 };

static int cfg_done, cfg_call, cfg_errno = EIO, cfg_short, cfg_kill;
static long cfg_nth = 1, cfg_count = 1;
static const char *cfg_path, *cfg_log;
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

/* 0: let the call through; 1: hit it (*nth set) */
static int hit(int call, int fd, long *nth)
{
	char path[4096];
	long c;

	config();
	if (cfg_call != call)
		return 0;
	if (cfg_path != NULL) {
		size_t pl = strlen(cfg_path), l;
		if (fd_path(fd, path, sizeof(path)) != 0)
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

int fdatasync(int fd)
{
	static int (*real)(int);
	long nth;
	int r;

	if (real == NULL)
		real = (int (*)(int))next_sym("fdatasync");
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
