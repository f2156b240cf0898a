/*
 * lockfile_int.h - the lock file one process holds for as long as it
 * runs something that must not run twice: a consumer group (group.c)
 * and a projection (checkpoint.c).  evlog(5) Groups describes the locks.
 */
#ifndef EVLOG_LOCKFILE_INT_H
#define EVLOG_LOCKFILE_INT_H

#include <sys/types.h>

#include "evlog_private.h"

enum {
	EV_LOCKFILE_OK = 0,
	EV_LOCKFILE_BUSY = 1,	/* another process holds it */
	EV_LOCKFILE_EOPEN = -1, /* it cannot be opened (or made): errno */
	EV_LOCKFILE_ELOCK = -2, /* it cannot be locked: errno */
};

/*
 * Take the lock file name in dirfd, made (mode 0644) when missing: its
 * flock, the mark on byte 0 that ev_lockfile_busy() tests for, and the
 * process's lock on byte 1.  wait is how long to wait for a holder to
 * let go, in seconds: 0 not at all, < 0 for as long as it takes.
 * EV_LOCKFILE_OK with the descriptor in *fd (closing it releases all
 * three), EV_LOCKFILE_BUSY with *holder the holder's pid when it can be
 * told (0 otherwise; holder may be NULL), or an EV_LOCKFILE_E* with
 * errno set.
 */
int ev_lockfile_take(int dirfd, const char *name, double wait, int *fd,
		     pid_t *holder);
/* Does a process hold lock file name in dirfd?  Takes no lock, creates
 * nothing, needs no write permission: 1 or 0. */
int ev_lockfile_busy(int dirfd, const char *name);

#endif
