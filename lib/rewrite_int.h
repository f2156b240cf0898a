/*
 * rewrite_int.h - internals of ev_rewrite() shared by rewrite.c (the
 * copy of the events into the new log, its check and its seal) and
 * placing.c (the temporary directory beside the target, what interrupted
 * runs left there, and the renames that give the new log its name or
 * swap it in).  rewrite.c calls placing.c, never the other way round.
 * cmd/ never includes this file.
 */
#ifndef EVLOG_REWRITE_INT_H
#define EVLOG_REWRITE_INT_H

#include <time.h>

#include "evlog_private.h"

#define TICK_EVERY 1024 /* records between looks at the clock */

/* A stream the rewrite changed: events of it dropped, split or moved
 * (delta: written minus read), or versions it numbered afresh. */
struct smark {
	uint64_t h; /* 0: an empty slot */
	size_t name_off, name_len;
	int64_t delta;
	int renumbered;
};

struct rw {
	const struct ev_rewrite_opts *o;
	struct ev_rewrite_result *res;
	const char *name_src; /* the source as named */
	char *dir;	      /* the target's directory */
	char *shown;	      /* in place: as the user named it */
	char *base;	      /* and its name there */
	char *tmp;	      /* .BASE.rewrite-PID, in dir */
	char *tmp_path;	      /* DIR/.BASE.rewrite-PID */
	char *marker;	      /* .BASE.rewrite-swap */
	int pfd, tfd, lockfd;
	int made;    /* tmp exists and is ours to remove */
	int swapped; /* the exchange is done: nothing to remove */
	struct ev_log *src, *dst;
	struct ev_reader *rd;
	struct ev_writer *w;
	struct ev_state *st;
	uint64_t expect; /* the next offset of the source */
	uint64_t next;	 /* the next offset of the new log */
	int clean;	 /* no event has moved an offset or a stream yet */
	uint64_t digest; /* of the records written (rewrite.c digest()) */
	struct ev_buf map, rel;
	struct smark *sm;
	size_t sm_cap, sm_n;
	struct ev_buf sm_names;
	struct verifier *vf; /* reads the new log back as it is written */
	struct timespec t0;
	uint64_t tick_n;
	int64_t tick_at;
};

/* placing.c */
/* A string printed as printf would, malloc'ed; NULL out of memory. */
char *ev_rw_dupf(const char *fmt, ...) EV_PRINTF(1, 2);
/* The names of a run (target, its directory, the temporary) and the
 * directory opened; EV_EUSAGE when the target is the source, EV_EEXIST
 * when it exists. */
int ev_rw_names(struct rw *r, struct ev_error *err);
/* In place, a swap an earlier run left half done: 0 none (or not begun:
 * the rewrite starts over), 1 finished now (nothing else to do), <0. */
int ev_rw_swap_resume(struct rw *r, struct ev_error *err);
/* Remove what interrupted runs into the target left (EV_EAGAIN when a
 * running one holds its temporary log). */
int ev_rw_clear_leftovers(struct rw *r, struct ev_error *err);
/* Remove the directory name in pfd and what it holds: 0, or -1. */
int ev_rw_remove_tree(int pfd, const char *name);
/* The offset map beside the temporary, or, offsets kept, a stale map
 * of an earlier rewrite into the same name removed. */
int ev_rw_write_map(struct rw *r, struct ev_error *err);
void ev_rw_remove_stale_map(struct rw *r);
/* The new log to its name (must still be free), or swapped in for the
 * source, the marker saying how far the swap got. */
int ev_rw_place(struct rw *r, struct ev_error *err);
int ev_rw_swap(struct rw *r, struct ev_error *err);

#endif
