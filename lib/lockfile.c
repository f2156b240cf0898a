/*
 * lockfile.c - the lock file of a consumer group or a projection, which
 * one process holds for as long as it runs (evlog(5) Groups).
 *
 * The holder keeps two locks on one descriptor of the lock file: a flock,
 * which is what keeps the others out, and an OFD write lock, which only
 * says that it is there: F_OFD_GETLK tests for it without taking
 * anything, so a monitoring probe never makes a holder find its lock
 * busy (and needs no write permission).
 *
 * Both belong to the open file description, which a handler's supervisor
 * shares from fork() until it closes what it inherited: for that moment
 * a holder killed with SIGKILL still holds its lock.  So the holder also
 * takes a process-associated (POSIX) lock on byte 1, which no child
 * inherits and which dies with the process: a contender that finds the
 * flock taken but that lock free knows the holder is gone, and waits a
 * moment for the flock instead of calling it busy.  That lock also tells
 * a contender who the holder is (F_GETLK gives its pid).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lockfile_int.h"

/* Write locks: the holder's mark on byte 0 (OFD), its process's on byte
 * 1 (POSIX), and the whole file, which a probe tests for either. */
static const struct flock ofd_mark = {
	.l_type = F_WRLCK,
	.l_whence = SEEK_SET,
	.l_start = 0,
	.l_len = 1,
	.l_pid = 0,
};
static const struct flock process_mark = {
	.l_type = F_WRLCK,
	.l_whence = SEEK_SET,
	.l_start = 1,
	.l_len = 1,
	.l_pid = 0,
};
static const struct flock ofd_whole_file = {
	.l_type = F_WRLCK,
	.l_whence = SEEK_SET,
	.l_start = 0,
	.l_len = 0,
	.l_pid = 0,
};

/* Is the process that took the flock of fd's file alive?  Its POSIX lock
 * says so; a holder that has the flock but not yet that lock looks gone
 * for an instant, which only makes a contender look again. */
static int holder_alive(int fd)
{
	struct flock fl = process_mark;

	if (fcntl(fd, F_GETLK, &fl) != 0)
		return 1; /* cannot tell: as before, busy */
	return fl.l_type != F_UNLCK;
}

/* Its pid, when the lock tells it (not across pid namespaces): or 0. */
static pid_t holder_pid(int fd)
{
	struct flock fl = process_mark;

	if (fcntl(fd, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK)
		return 0;
	return fl.l_pid > 0 ? fl.l_pid : 0;
}

/* The flock of a holder that died is held by its handlers' supervisors
 * only until they close what they inherited; wait that long, at most 2 s,
 * while no live process marks the file.  0 with the flock taken. */
static int flock_of_dead_holder(int fd)
{
	const struct timespec tick = {0, 2 * 1000 * 1000};
	int i;

	for (i = 0; i < 1000 && !holder_alive(fd); i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		nanosleep(&tick, NULL);
	}
	errno = EWOULDBLOCK;
	return -1;
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The flock of fd: 0, or -1 with errno (EWOULDBLOCK: busy, after
 * waiting until wait seconds from t0 have passed). */
static int take_flock(int fd, double wait, const struct timespec *t0)
{
	int r;

	if (wait < 0) {
		do
			r = flock(fd, LOCK_EX);
		while (r != 0 && errno == EINTR);
		if (r != 0 && errno == EWOULDBLOCK)
			r = flock_of_dead_holder(fd);
		return r;
	}
	for (;;) {
		double left;
		do
			r = flock(fd, LOCK_EX | LOCK_NB);
		while (r != 0 && errno == EINTR);
		if (r == 0 || errno != EWOULDBLOCK)
			return r;
		if (flock_of_dead_holder(fd) == 0)
			return 0;
		left = wait - since(t0);
		if (left <= 0) {
			errno = EWOULDBLOCK;
			return -1;
		}
		/* flock(2) has no timeout: look again every 20 ms */
		{
			struct timespec tick = {0, 20 * 1000 * 1000};
			if (left < 0.02)
				tick.tv_nsec = (long)(left * 1e9) + 1;
			nanosleep(&tick, NULL);
		}
	}
}

/* Is fd still the lock file dirfd/name?  A group or projection that
 * never saved removes its lock file when it lets go, so a lock taken on
 * a file since unlinked must be taken again on the new one. */
static int lock_current(int dirfd, const char *name, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) != 0 || fstatat(dirfd, name, &b, 0) != 0)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int ev_lockfile_take(int dirfd, const char *name, double wait, int *out,
		     pid_t *holder)
{
	struct timespec t0;
	int fd;

	if (holder != NULL)
		*holder = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
again:
	fd = ev_openat(dirfd, name, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return EV_LOCKFILE_EOPEN;
	if (take_flock(fd, wait, &t0) != 0) {
		int e = errno;
		if (e == EWOULDBLOCK && holder != NULL)
			*holder = holder_pid(fd);
		close(fd);
		errno = e;
		return e == EWOULDBLOCK ? EV_LOCKFILE_BUSY : EV_LOCKFILE_ELOCK;
	}
	if (!lock_current(dirfd, name, fd)) {
		close(fd);
		goto again;
	}
	/*
	 * The mark that ev_lockfile_busy() tests for.  Only the flock
	 * holder takes it, so it cannot conflict; should a file system
	 * refuse it anyway (NFS emulates flock with byte-range locks), the
	 * lock looks free to probes, and the flock still keeps holders
	 * apart.
	 */
	(void)fcntl(fd, F_OFD_SETLK, &ofd_mark);
	(void)fcntl(fd, F_SETLK, &process_mark);
	*out = fd;
	return EV_LOCKFILE_OK;
}

int ev_lockfile_busy(int dirfd, const char *name)
{
	struct flock fl = ofd_whole_file;
	int fd, r;

	fd = ev_openat(dirfd, name, O_RDONLY, 0);
	if (fd < 0)
		return 0; /* no lock file: nobody has held it */
	r = fcntl(fd, F_OFD_GETLK, &fl);
	close(fd);
	return r == 0 && fl.l_type != F_UNLCK;
}
