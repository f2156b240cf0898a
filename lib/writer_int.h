/*
 * writer_int.h - internals of struct ev_writer, shared by the modules
 * that make up the writer: writer.c (the batch pipeline, its threads and
 * the public ev_writer_* API), recovery.c (the tail: what a writer checks
 * and repairs when it takes the lock or opens a log) and resolve.c (each
 * batch resolved against the stream and dedupe state, under the lock).
 * writer.c calls recovery.c and resolve.c, never the other way round.
 * cmd/ never includes this file.
 */
#ifndef WRITER_INT_H
#define WRITER_INT_H

#include <pthread.h>

#include "evlog_private.h"

#define QUEUE_MAX 16

/* What became of one record handed to the writer. */
struct wack {
	uint64_t offset;   /* assigned, or the original's when dup */
	const uint8_t *id; /* into raw */
	size_t id_n;
	int dup;
};

/* A record being resolved: what resolving reads of its decoded head,
 * and its hashes (80 bytes, not a whole struct ev_event: every batch in
 * flight holds one per record, and their pages are new to the process).
 * stream_p is NULL when the event names no stream. */
struct rinfo {
	const uint8_t *rec;
	const char *id_p, *stream_p;
	uint32_t n, id_n, stream_n;
	uint64_t version, prev;
	ev_time_t time;
	uint64_t ih, sh;
};

struct wbatch {
	struct ev_buf raw;	  /* framed records, as added */
	struct ev_buf res;	  /* framed records, as resolved */
	struct ev_buf stored;	  /* what goes to disk */
	const struct ev_buf *src; /* raw or res: what is compressed */
	uint64_t *tags;		  /* per record added */
	size_t tags_cap;
	struct wack *acks; /* per record added, once resolved */
	size_t acks_cap;
	uint32_t count; /* records added */
	uint32_t kept;	/* records written (no duplicates) */
	uint32_t acked; /* records resolved (all, or up to a conflict) */
	ev_time_t min_time, max_time;
	uint8_t codec;
	uint64_t base;		  /* assigned when appended */
	uint8_t sum[EV_SUM_BODY]; /* its summary (evlog(5) Summaries) */
	int has_sum;
	uint32_t crc;	  /* of stored */
	struct rinfo *ri; /* per record, decoded by the adding thread */
	size_t ri_cap;
	int ri_ready;
	struct wbatch *next;
};

/* This writer's own ids in the group being appended, by offset. */
struct gid {
	const uint8_t *id;
	size_t n;
};

struct ev_writer {
	struct ev_log *log; /* the caller's, or own_log */
	/* the log this writer opened itself when it followed a rewrite in
	 * place to the log now at the path (evlog(5) Writers), or NULL;
	 * closed with the writer */
	struct ev_log *own_log;
	struct ev_writer_opts o;
	struct ev_cixw *cix; /* the correlation index's entries, or NULL */
	enum ev_sync sync;
	size_t batch_bytes;
	uint32_t batch_events;
	int level;
	int seg_packed; /* the head segment has the packed feature (atomic:
			 * the compressing threads read it) */

	int lock_fd, head_fd;
	int seg_fd, idx_fd, tix_fd, six_fd;
	struct ev_head head;		/* the tail as we know it */
	uint8_t head_raw[EV_HEAD_SIZE]; /* head file as last read/written */
	int have_tail;
	int open_checked; /* the head segment checked when this
			   * writer opened the log */
	int verbatim;	  /* ev_writer_verbatim() */
	struct ev_codec *codec;

	struct wbatch *cur;

	int threaded;
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	struct wbatch *q_head, *q_tail;
	int q_len, busy, stop;
	struct wbatch *free_list;

	int failed;
	struct ev_error ferr;
	uint64_t failed_tag;
	uint64_t syncs;

	/* streams and dedupe (evlog(5) STATE), used under the lock */
	struct ev_state *st;
	struct ev_reader *dup_rd; /* to confirm a duplicate's id */
	struct gid *gids;	  /* ids appended in this group */
	size_t ngids, gids_cap;
	uint64_t gids_base; /* offset of gids[0] */
	uint64_t epoch;	    /* state/epoch when st was loaded */
	int head_moved;	    /* tail_sync saw another head */
	int state_whole;    /* a snapshot page was damaged: read
			     * snapshots whole, checked first */
	uint64_t *touched;  /* hashes of streams checked (expect) */
	size_t touched_n, touched_cap;
	/* and their names, as they were met: hash u64, length u32, name
	 * (ev_writer_recheck_touched()) */
	struct ev_buf touched_names;
	/* streams met before a rewrite in place changed them: the version
	 * the old log had, then as in touched_names */
	struct ev_buf stale;
	struct ev_buf tmp;

	/* the compression helper (threaded): it and the writer thread take
	 * the batches of a group in turn, under zmu */
	int zrun, zstop, zbusy;
	pthread_t zthr;
	pthread_mutex_t zmu;
	pthread_cond_t zcv_work, zcv_done;
	struct wbatch **zjob;
	int zjob_n, znext, zfail;
	struct ev_error zerr;
	struct ev_codec *zcodec;
	/* the adding thread's, to compress a batch of the group while the
	 * queue is full (zhelp); zgen counts the zadd()s, under mu */
	struct ev_codec *mcodec;
	uint64_t zgen;

	/* a pipelined group commit: when more batches wait, the writer
	 * thread hands the last group's fdatasync to the sync thread and
	 * resolves and compresses the next group meanwhile, the lock still
	 * held; the group is published and reported (pend_finish) before
	 * the next is written */
	int srun, sstop, sreq, sdone, serr;
	pthread_t sthr;
	pthread_mutex_t smu;
	pthread_cond_t scv;
	int pend_n; /* batches written, not yet synced */
	struct wbatch *pend_ws[QUEUE_MAX + 1]; /* them */
	uint64_t pend_pos[QUEUE_MAX + 1], pend_base[QUEUE_MAX + 1];
	uint64_t pend_end, pend_next;
	struct wbatch *pend_bs[QUEUE_MAX + 1]; /* the group, to report */
	int pend_nres;
	int chain;    /* groups appended under the lock as it is held */
	int appended; /* this writer has taken the lock for a group */
	int shared;   /* and seen another writer's batches since */

	/* ev_writer_expect_bytes(): the input's size, and the events it
	 * holds as judged from the first batch (set on the adding thread
	 * before the batch is handed over), to size the state's tables */
	uint64_t expect_bytes, expect_ids;
	/* ev_writer_trust_records(): decode the records without
	 * validating their strings again */
	int trusted;
	/* buffers for what a batch resolves to and what it compresses
	 * to, lent to a batch of the group being appended and taken back
	 * once it is written (writer.c, writer thread): as many as a group
	 * has batches, not one pair for every batch in flight */
	struct ev_buf *spare;
	size_t nspare, spare_cap;
};

/* recovery.c: the tail of the log as this writer knows it */
void ev_writer_notice(struct ev_writer *w, const char *fmt, ...)
	EV_PRINTF(2, 3);
void ev_writer_close_segment(struct ev_writer *w);
int ev_writer_open_segment(struct ev_writer *w, uint64_t base,
			   struct ev_error *err);
/* Write w->head to the head file. */
int ev_writer_publish(struct ev_writer *w, struct ev_error *err);
/* Re-read the tail under the lock, adopting and repairing.  0 or error. */
int ev_writer_tail_sync(struct ev_writer *w, struct ev_error *err);
/* Check the head segment's batches from the recovery point to the
 * durable end, once, when the writer opens the log. */
int ev_writer_check_head(struct ev_writer *w, struct ev_error *err);

/* resolve.c: batches against the stream and dedupe state, under the lock */
int ev_writer_prep_ri(struct ev_writer *w, struct wbatch *b, uint32_t *bad);
int ev_writer_resolve(struct ev_writer *w, struct wbatch *b, uint64_t *next,
		      struct ev_error *err);
int ev_writer_state_sync(struct ev_writer *w, struct ev_error *err);
void ev_writer_state_drop(struct ev_writer *w);
int ev_writer_save_touched(struct ev_writer *w, uint64_t **out, size_t *n);
void ev_writer_restore_touched(struct ev_writer *w, const uint64_t *saved,
			       size_t n);
/* After following a rewrite in place, with w->st the new log's and old
 * the old log's (NULL: unknown): forget the streams checked whose
 * version the rewrite changed.  0, or -1 out of memory. */
int ev_writer_recheck_touched(struct ev_writer *w, struct ev_state *old);

#endif
