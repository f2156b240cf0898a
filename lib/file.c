/*
 * file.c - files as the library writes them: read and written in full,
 * created synced, and replaced atomically.
 *
 * Every file the library rewrites as a whole is replaced here, in one
 * way: the new bytes go to a temporary file beside it, which is synced,
 * renamed over it, and the directory is synced, so a crash leaves the
 * old file or the new one, never a part of either.  The temporary's name
 * (NAME.tmp.RANDOM) is unique to one call and cannot be guessed, so
 * writers never collide and nobody can plant a file in its place, and a
 * failed replace removes it.  Files updated in place (the head, by
 * writers and repair) and appended to (segments, indexes) are not
 * replaced, and do not come here.
 *
 * Every file of a log or a state directory is opened by ev_openat(),
 * which opens regular files only: never through a symbolic link, which
 * someone with write access to a shared directory could plant to make a
 * more privileged tool write elsewhere, and never a FIFO or a device,
 * which would block the tool or feed it endless bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "evlog_private.h"

int ev_openat(int dirfd, const char *name, int flags, int mode)
{
	struct stat st;
	int fd;

	/* O_NONBLOCK opens a FIFO without waiting for its other end, and
	 * changes nothing for regular files (Linux ignores it for them) */
	if (!(flags & O_DIRECTORY))
		flags |= O_NOFOLLOW | O_NONBLOCK;
	do
		fd = openat(dirfd, name, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0 || (flags & O_DIRECTORY))
		return fd;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = EV_ENOTREG;
		return -1;
	}
	return fd;
}

int ev_fsync_dir(int dirfd)
{
	return fsync(dirfd);
}

int ev_read_full(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;
	ssize_t r;
	size_t got = 0;

	while (got < n) {
		r = pread(fd, p + got, n - got, (off_t)(off + got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (int)(got == n ? 1 : 0); /* 0 = short */
}

int ev_write_full(int fd, const void *buf, size_t n, uint64_t off)
{
	const uint8_t *p = buf;
	ssize_t r;
	size_t done = 0;

	while (done < n) {
		r = pwrite(fd, p + done, n - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = ENOSPC;
			return -1;
		}
		done += (size_t)r;
	}
	return 0;
}

int ev_file_create(int dirfd, const char *name, const void *p, size_t n)
{
	int fd, e;

	fd = ev_openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return -1;
	if (ev_write_full(fd, p, n, 0) != 0 || fsync(fd) != 0) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) != 0) {
		e = errno;
		goto fail;
	}
	return 0;
fail:
	unlinkat(dirfd, name, 0);
	errno = e;
	return -1;
}

/* numbers the temporaries of this process, should getrandom() fail */
static unsigned tmp_seq;

/* 64 bits for a temporary's name: from getrandom(2), not from ev_random(),
 * whose deterministic test mode would make the names predictable again
 * (and would shift the bytes of the logs tests compare) */
static unsigned long long tmp_suffix(void)
{
	unsigned long long v;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((unsigned long long)getpid() << 32) ^
	       (unsigned long long)ts.tv_nsec ^
	       ((unsigned long long)ts.tv_sec << 40) ^
	       __atomic_add_fetch(&tmp_seq, 1, __ATOMIC_RELAXED);
}

int ev_tmpfile_open(struct ev_tmpfile *t, int dirfd, const char *name)
{
	int tries, k, fd;

	t->dirfd = dirfd;
	for (tries = 0; tries < 100; tries++) {
		k = snprintf(t->name, sizeof(t->name), "%s.tmp.%016llx", name,
			     tmp_suffix());
		if (k < 0 || (size_t)k >= sizeof(t->name)) {
			errno = ENAMETOOLONG;
			break;
		}
		fd = ev_openat(dirfd, t->name, O_WRONLY | O_CREAT | O_EXCL,
			       0644);
		if (fd >= 0)
			return fd;
		/* a name taken, by chance or by someone else: another */
		if (errno != EEXIST)
			break;
	}
	t->name[0] = '\0';
	return -1;
}

int ev_tmpfile_write(struct ev_tmpfile *t, int dirfd, const char *name,
		     const void *p, size_t n)
{
	int fd = ev_tmpfile_open(t, dirfd, name), e;

	if (fd < 0)
		return -1;
	if (ev_write_full(fd, p, n, 0) != 0 || fsync(fd) != 0) {
		e = errno;
		close(fd);
		ev_tmpfile_remove(t);
		errno = e;
		return -1;
	}
	if (close(fd) != 0) {
		e = errno;
		ev_tmpfile_remove(t);
		errno = e;
		return -1;
	}
	return 0;
}

int ev_tmpfile_rename(struct ev_tmpfile *t, const char *name)
{
	int e;

	if (renameat(t->dirfd, t->name, t->dirfd, name) != 0) {
		e = errno;
		unlinkat(t->dirfd, t->name, 0);
		t->name[0] = '\0';
		errno = e;
		return -1;
	}
	t->name[0] = '\0';
	return 0;
}

void ev_tmpfile_remove(struct ev_tmpfile *t)
{
	if (t->name[0] != '\0')
		unlinkat(t->dirfd, t->name, 0);
	t->name[0] = '\0';
}

int ev_file_replace(int dirfd, const char *name, const void *p, size_t n)
{
	struct ev_tmpfile t;

	if (ev_tmpfile_write(&t, dirfd, name, p, n) != 0 ||
	    ev_tmpfile_rename(&t, name) != 0)
		return -1;
	return ev_fsync_dir(dirfd);
}

int ev_file_replace_path(const char *path, const void *p, size_t n)
{
	char dir[4096];
	const char *slash = strrchr(path, '/'), *name = path;
	int dfd, r, e;

	if (slash == NULL) {
		strcpy(dir, ".");
	} else {
		size_t k = slash == path ? 1 : (size_t)(slash - path);
		if (k >= sizeof(dir)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, k);
		dir[k] = '\0';
		name = slash + 1;
	}
	if (*name == '\0') {
		errno = EISDIR;
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	r = ev_file_replace(dfd, name, p, n);
	e = errno;
	close(dfd);
	errno = e;
	return r;
}
