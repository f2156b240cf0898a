/*
 * writer.c - struct ev_writer: appends batches to a log.  This file holds
 * the batch pipeline, its threads and the public ev_writer_* API; the
 * tail and its recovery are in recovery.c, the resolve step in resolve.c
 * (writer_int.h).
 *
 * The lock file is held per batch, not per process (evlog(5) WRITERS):
 * each time the writer takes it, it re-reads the head, adopts what other
 * writers appended, and repairs what a crashed writer left behind (bytes
 * past the durable end, a segment created but never published).  A batch
 * is durable once written and fdatasync'ed; only then is the head moved
 * and the batch reported.  A failed write or sync is not retried: the
 * segment is cut back to the last durable end and the writer fails.
 * A log swapped away by a rewrite in place is followed to the log now at
 * its path (follow()).
 *
 * With opts.threaded, batches are resolved, compressed and written on a
 * second thread while the caller keeps encoding; a bounded queue keeps
 * memory flat.  A third thread helps compress: it takes each batch of a
 * group as soon as the batch is resolved, while the writer thread goes
 * on resolving the next.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "corrindex_int.h"
#include "writer_int.h"

/* a group's batches go to their segment with one pwritev(), two iovecs
 * a batch */
#if defined(IOV_MAX) && IOV_MAX < 2 * (QUEUE_MAX + 1)
#error "IOV_MAX is below the iovecs of a group of batches"
#endif

static void unlock_log(struct ev_writer *w)
{
	flock(w->lock_fd, LOCK_UN);
}

/* Does log's path still name the directory log holds (by device and
 * inode)?  1 another or nothing, 0 yes or cannot tell. */
static int moved(const struct ev_log *log)
{
	struct stat held, named;

	if (fstat(log->dirfd, &held) != 0)
		return 0;
	if (stat(log->path, &named) == 0)
		return named.st_dev != held.st_dev ||
		       named.st_ino != held.st_ino;
	return errno == ENOENT || errno == ENOTDIR;
}

/*
 * The log's path names another directory than the one this writer holds
 * the lock of: a rewrite in place swapped a new log in by rename, under
 * the old log's lock (evlog(5) Writers), and put the old one aside, where
 * nothing more must be appended.  Follow the path: open the log there,
 * take its lock, and load what ev_writer_open() would (the tail, checked;
 * the stream state, when expectations were checked), so that what this
 * writer has not appended yet goes to the new log, resolved against it.
 * The old log's lock is held on entry; on return, the new log's is, or
 * none after an error.  What the old log holds of this writer's batches
 * the rewrite copied under the lock: they are in the new log.
 */
static int follow(struct ev_writer *w, struct ev_error *err)
{
	struct ev_log *old = w->log, *prev = w->own_log, *nl = NULL;
	struct ev_state *old_st = NULL;
	struct ev_head h;
	struct ev_error e;
	int lfd = -1, hfd = -1, tries, r;

	/* the streams whose expectation was checked: their versions in the
	 * old log as the swap left it, to compare with the new log's */
	if (w->st != NULL && w->touched_n > 0 &&
	    ev_head_read(old->dirfd, &h) == 0 &&
	    ev_state_catch_up(w->st, h.next, &e) == 0) {
		old_st = w->st;
		w->st = NULL;
	}
	ev_writer_state_drop(w);
	unlock_log(w);
	for (tries = 0;; tries++) {
		if (tries == 10) {
			ev_seterr(&e, EV_EAGAIN,
				  "it was replaced again each "
				  "time this writer opened it");
			goto gone;
		}
		if (ev_log_open(&nl, old->path, &e) != 0)
			goto gone;
		lfd = ev_openat(nl->dirfd, "lock", O_RDWR | O_CREAT, 0644);
		if (lfd >= 0)
			hfd = ev_openat(nl->dirfd, "head", O_RDWR | O_CREAT,
					0644);
		if (lfd < 0 || hfd < 0) {
			ev_seterr_errno(&e, EV_EIO, errno,
					"cannot open '%s/%s' for writing",
					nl->path, lfd < 0 ? "lock" : "head");
			goto gone;
		}
		while (flock(lfd, LOCK_EX) != 0) {
			if (errno != EINTR) {
				ev_seterr_errno(&e, EV_EIO, errno,
						"cannot lock '%s/lock'",
						nl->path);
				goto gone;
			}
		}
		if (!moved(nl))
			break;
		/* rewritten again meanwhile: the log there now */
		close(lfd);
		close(hfd);
		ev_log_close(nl);
		nl = NULL;
		lfd = hfd = -1;
	}
	/* the old log's files go, the new one's come */
	ev_reader_free(w->dup_rd);
	w->dup_rd = NULL;
	ev_cixw_free(w->cix); /* a cache: readers index what it lacks */
	w->cix = NULL;
	ev_writer_close_segment(w);
	close(w->lock_fd);
	close(w->head_fd);
	w->lock_fd = lfd;
	w->head_fd = hfd;
	nl->notice = old->notice;
	nl->notice_ctx = old->notice_ctx;
	/* under mu: ev_writer_log_id() reads it from the adding thread */
	pthread_mutex_lock(&w->mu);
	w->log = w->own_log = nl;
	pthread_mutex_unlock(&w->mu);
	memset(&w->head, 0, sizeof(w->head));
	memset(w->head_raw, 0, sizeof(w->head_raw));
	w->have_tail = w->open_checked = w->state_whole = 0;
	w->shared = 1; /* the rewrite wrote what is there */
	w->level = nl->cfg.level;
	w->sync = w->o.sync_set ? w->o.sync : nl->cfg.sync;
	if (nl->cfg.correlation_index)
		w->cix = ev_cixw_new(nl);
	r = ev_writer_tail_sync(w, err);
	if (r == 0)
		r = ev_writer_check_head(w, err);
	if (r == 0)
		w->open_checked = 1;
	if (r == 0 && w->touched_n > 0 && !w->verbatim &&
	    (r = ev_writer_state_sync(w, err)) == 0 &&
	    ev_writer_recheck_touched(w, old_st) != 0)
		r = ev_seterr(err, EV_ERR, "out of memory");
	ev_state_free(old_st);
	ev_log_close(prev); /* a log this writer followed before */
	if (r != 0) {
		unlock_log(w);
		return r;
	}
	ev_writer_notice(w,
			 "'%s' was rewritten in place while it was open for "
			 "writing; appending to the rewritten log",
			 nl->path);
	return 0;
gone:
	if (lfd >= 0)
		close(lfd);
	if (hfd >= 0)
		close(hfd);
	ev_log_close(nl);
	ev_state_free(old_st);
	ev_seterr(err, EV_EAGAIN,
		  "'%s' was replaced by another log while it was open for "
		  "writing (a rewrite in place); nothing more was appended",
		  old->path);
	ev_sethint(err, "cannot append to what is at '%s' now: %s", old->path,
		   e.msg);
	return EV_EAGAIN;
}

/* Take the lock, following the log's path to the log there now when a
 * rewrite in place swapped it (follow()).  0 with the lock held, or the
 * error without it. */
static int lock_log(struct ev_writer *w, struct ev_error *err)
{
	while (flock(w->lock_fd, LOCK_EX) != 0) {
		if (errno != EINTR)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot lock '%s/lock'",
					       w->log->path);
	}
	if (moved(w->log))
		return follow(w, err);
	return 0;
}

static int roll(struct ev_writer *w, struct ev_error *err)
{
	uint64_t salt;
	int r;

	/* the segment's indexes are complete: make them durable, since a
	 * writer checks and rebuilds only the head segment's (caches: a
	 * failure is not an error) */
	if (w->idx_fd >= 0)
		(void)fdatasync(w->idx_fd);
	if (w->tix_fd >= 0)
		(void)fdatasync(w->tix_fd);
	if (w->six_fd >= 0)
		(void)fdatasync(w->six_fd);
	r = ev_segment_create(w->log, w->head.next, &salt, err);
	if (r != 0)
		return r;
	w->syncs += 2;
	w->head.seg_base = w->head.next;
	w->head.salt = salt;
	w->head.end = EV_SEGHDR_SIZE;
	w->head.max_time = EV_TIME_NONE;
	w->head.last_index = EV_SEGHDR_SIZE;
	w->head.checked = EV_SEGHDR_SIZE; /* the header is synced */
	return ev_writer_open_segment(w, w->head.seg_base, err);
}

/* Cut back to the durable end after a failed write or sync, and sync
 * the cut (best effort), so that a power cut does not bring back whole
 * batches said not to be written, for the next writer to adopt. */
static int fail_io(struct ev_writer *w, const char *what, int e,
		   struct ev_error *err)
{
	if (ftruncate(w->seg_fd, (off_t)w->head.end) == 0)
		(void)fdatasync(w->seg_fd);
	ev_seterr_errno(err, EV_EIO, e,
			"%s '%s' failed; nothing after offset "
			"%llu was written",
			what, w->log->path, (unsigned long long)w->head.next);
	return EV_EIO;
}

/* The index entries of a group, written with one write() a file. */
struct ixbuf {
	uint8_t six[(QUEUE_MAX + 1) * EV_SIX_ENTRY];
	uint8_t idx[(QUEUE_MAX + 1) * EV_IDX_ENTRY];
	uint8_t tix[(QUEUE_MAX + 1) * EV_TIX_ENTRY];
	size_t nsix, nidx, ntix; /* bytes */
};

static void index_batch(struct ev_writer *w, uint64_t pos, uint64_t base,
			const struct wbatch *b, struct ixbuf *x)
{
	uint32_t rel = (uint32_t)(base - w->head.seg_base);

	if (w->six_fd >= 0 && b->has_sum) {
		/* the summary of every batch big enough to have one */
		struct ev_batchhdr h;
		h.count = b->kept;
		h.payload_crc = b->crc;
		ev_six_entry(x->six + x->nsix, rel, (uint32_t)pos, &h, b->sum,
			     w->head.salt);
		x->nsix += EV_SIX_ENTRY;
	}
	if (pos - w->head.last_index < EV_INDEX_INTERVAL)
		return;
	if (w->idx_fd >= 0) {
		ev_put32(x->idx + x->nidx, rel);
		ev_put32(x->idx + x->nidx + 4, (uint32_t)pos);
		x->nidx += EV_IDX_ENTRY;
	}
	if (w->tix_fd >= 0 && w->head.max_time != EV_TIME_NONE) {
		ev_tix_entry(x->tix + x->ntix, w->head.max_time, rel,
			     w->head.salt);
		x->ntix += EV_TIX_ENTRY;
	}
	w->head.last_index = pos;
}

/* Append n bytes of entries to an index; on failure, empty it (it is a
 * cache: kept consistent by emptying it), or give it up. */
static void index_write(int *fd, const uint8_t *p, size_t n)
{
	if (*fd < 0 || n == 0 || write(*fd, p, n) == (ssize_t)n)
		return;
	if (ftruncate(*fd, EV_IDXHDR_SIZE) != 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Compress a batch (or store it as it is when that is not smaller). */
static int prepare(struct ev_writer *w, struct ev_codec *codec,
		   struct wbatch *b, struct ev_error *err)
{
	const struct ev_buf *src = b->src;

	if (w->level > 0) {
		/* packed only into a segment that says so (evlog(5)
		 * Segments); the write checks again where it lands */
		int pack = __atomic_load_n(&w->seg_packed, __ATOMIC_RELAXED);
		if (ev_codec_compress(codec, w->level, pack, src->p, src->len,
				      &b->stored, &b->codec, err) != 0)
			return err->code;
	}
	if (w->level == 0 || b->stored.len >= src->len) {
		b->stored.len = 0;
		if (ev_buf_append(&b->stored, src->p, src->len) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		b->codec = EV_CODEC_NONE;
	}
	/* its summary, here on the compressing thread, off the lock */
	b->has_sum = EV_BATCHHDR_SIZE + b->stored.len >= EV_SUM_MIN_BATCH &&
		     ev_summary_body(b->sum, src->p, src->len) == 0;
	return 0;
}

/*
 * The compression helper.  The writer thread hands it each batch of a
 * group as soon as the batch is resolved (zadd), so compressing one
 * overlaps resolving the next; then both threads take the batches left
 * (zfinish); and the adding thread takes one when it would otherwise wait
 * for room in the queue (zhelp).  Everything is under zmu; zbusy counts
 * the batches being compressed off the writer thread.
 */
static void zstart(struct ev_writer *w, struct wbatch **ws)
{
	if (!w->zrun)
		return;
	pthread_mutex_lock(&w->zmu);
	w->zjob = ws;
	w->zjob_n = w->znext = 0;
	w->zfail = 0;
	pthread_mutex_unlock(&w->zmu);
}

/* ws[0..n) of zstart's array are resolved: the helper may take them. */
static void zadd(struct ev_writer *w, int n)
{
	if (!w->zrun)
		return;
	pthread_mutex_lock(&w->zmu);
	w->zjob_n = n;
	pthread_cond_signal(&w->zcv_work);
	pthread_mutex_unlock(&w->zmu);
	/* an adding thread waiting for room in the queue may take it */
	pthread_mutex_lock(&w->mu);
	w->zgen++;
	pthread_cond_broadcast(&w->cv_done);
	pthread_mutex_unlock(&w->mu);
}

/*
 * Take the next batch of the group off the helper's queue and compress
 * it with codec, zmu held on entry and on return (released meanwhile);
 * the first failure is kept for zfinish.  zjob stays valid until
 * zdrain(), which waits for zbusy.
 */
static void ztake(struct ev_writer *w, struct ev_codec *codec)
{
	struct ev_error e;
	int i = w->znext++, r;

	w->zbusy++;
	pthread_mutex_unlock(&w->zmu);
	r = prepare(w, codec, w->zjob[i], &e);
	pthread_mutex_lock(&w->zmu);
	if (r != 0 && !w->zfail) {
		w->zfail = 1;
		w->zerr = e;
	}
	w->zbusy--;
	pthread_cond_broadcast(&w->zcv_done);
}

/*
 * The adding thread, while the queue is full: compress a batch of the
 * group being appended, if one waits, rather than wait idle.  1 if it
 * did.
 */
static int zhelp(struct ev_writer *w)
{
	if (!w->zrun || w->mcodec == NULL)
		return 0;
	pthread_mutex_lock(&w->zmu);
	if (w->zjob == NULL || w->zfail || w->znext >= w->zjob_n) {
		pthread_mutex_unlock(&w->zmu);
		return 0;
	}
	ztake(w, w->mcodec);
	pthread_mutex_unlock(&w->zmu);
	return 1;
}

/* Wait until the helper holds no batch, and close the group. */
static void zdrain(struct ev_writer *w, int fail)
{
	if (!w->zrun)
		return;
	pthread_mutex_lock(&w->zmu);
	if (fail)
		w->zfail = 1; /* no more taken */
	while (w->zbusy)
		pthread_cond_wait(&w->zcv_done, &w->zmu);
	w->zjob = NULL;
	pthread_mutex_unlock(&w->zmu);
}

/* The next batch of the group for the writer thread, or -1. */
static int zclaim(struct ev_writer *w)
{
	int i = -1;

	pthread_mutex_lock(&w->zmu);
	if (w->zjob != NULL && w->znext < w->zjob_n && !w->zfail)
		i = w->znext++;
	pthread_mutex_unlock(&w->zmu);
	return i;
}

/* Compress the n batches of the group: those the helper has not. */
static int zfinish(struct ev_writer *w, struct wbatch **ws, int n,
		   struct ev_error *err)
{
	int i, r = 0;

	if (!w->zrun) {
		for (i = 0; i < n && r == 0; i++)
			r = prepare(w, w->codec, ws[i], err);
		return r;
	}
	zadd(w, n);
	while ((i = zclaim(w)) >= 0) {
		r = prepare(w, w->codec, ws[i], err);
		if (r != 0)
			break;
	}
	zdrain(w, r != 0);
	if (r == 0 && w->zfail) {
		*err = w->zerr;
		r = err->code;
	}
	return r;
}

static void *zhelper(void *arg)
{
	struct ev_writer *w = arg;

	pthread_mutex_lock(&w->zmu);
	for (;;) {
		while (!w->zstop &&
		       (w->zjob == NULL || w->zfail || w->znext >= w->zjob_n))
			pthread_cond_wait(&w->zcv_work, &w->zmu);
		if (w->zstop)
			break;
		ztake(w, w->zcodec);
	}
	pthread_mutex_unlock(&w->zmu);
	return NULL;
}

static int needs_roll(const struct ev_writer *w, const struct wbatch *b,
		      uint64_t end, uint64_t next)
{
	return end > EV_SEGHDR_SIZE &&
	       (end + EV_BATCHHDR_SIZE + b->stored.len >
			w->log->cfg.segment_bytes ||
		next - w->head.seg_base + b->count > UINT32_MAX);
}

/*
 * A buffer of the writer's spares lent to b, if b has none of its own
 * (the writer thread only).  Batches waiting in the queue and the group
 * left pending keep only their records as added: a bulk load of a
 * million events touches some 12 MB less of new memory, and the
 * buffers it reuses are still in the cache.
 */
static void spare_lend(struct ev_writer *w, struct ev_buf *b)
{
	if (b->cap == 0 && w->nspare > 0) {
		*b = w->spare[--w->nspare];
		b->len = 0;
	}
}

/* b's buffer back to the spares (kept by b if there is no room). */
static void spare_return(struct ev_writer *w, struct ev_buf *b)
{
	if (b->cap == 0)
		return;
	if (w->nspare == w->spare_cap) {
		size_t cap =
			w->spare_cap ? 2 * w->spare_cap : 2 * QUEUE_MAX + 2;
		struct ev_buf *ns = realloc(w->spare, cap * sizeof(*ns));
		if (ns == NULL)
			return;
		w->spare = ns;
		w->spare_cap = cap;
	}
	w->spare[w->nspare++] = *b;
	memset(b, 0, sizeof(*b));
}

/* Report what became of the records of the first n batches. */
static void report(struct ev_writer *w, struct wbatch **bs, int n)
{
	struct ev_ack a[256];
	uint32_t i, k;
	int j;

	if (w->o.on_durable == NULL || w->verbatim)
		return; /* a verbatim writer makes no acks */
	for (j = 0; j < n; j++) {
		struct wbatch *b = bs[j];
		for (i = 0; i < b->acked; i += k) {
			for (k = 0; k < 256 && i + k < b->acked; k++) {
				const struct wack *x = &b->acks[i + k];
				a[k].offset = x->offset;
				a[k].id = (const char *)x->id;
				a[k].id_n = x->id_n;
				a[k].duplicate = x->dup;
				a[k].tag = b->tags[i + k];
			}
			w->o.on_durable(w->o.ctx, a, k);
		}
	}
}

/* A batch of a verbatim writer: its records as added. */
static int as_added(struct wbatch *b)
{
	b->src = &b->raw;
	b->kept = b->acked = b->count;
	return 0;
}

/*
 * The sync thread: an fdatasync of the head segment, asked for by the
 * writer thread (sync_start) and waited for (sync_wait), so that the
 * writer thread resolves the next group meanwhile.
 */
static void *syncer(void *arg)
{
	struct ev_writer *w = arg;
	int e;

	pthread_mutex_lock(&w->smu);
	for (;;) {
		while (!w->sreq && !w->sstop)
			pthread_cond_wait(&w->scv, &w->smu);
		if (!w->sreq)
			break;
		pthread_mutex_unlock(&w->smu);
		e = fdatasync(w->seg_fd) != 0 ? errno : 0;
		pthread_mutex_lock(&w->smu);
		w->serr = e;
		w->sreq = 0;
		w->sdone = 1;
		pthread_cond_broadcast(&w->scv);
	}
	pthread_mutex_unlock(&w->smu);
	return NULL;
}

static void sync_start(struct ev_writer *w)
{
	pthread_mutex_lock(&w->smu);
	w->sreq = 1;
	w->sdone = 0;
	pthread_cond_broadcast(&w->scv);
	pthread_mutex_unlock(&w->smu);
}

/* 0, or the errno of the fdatasync */
static int sync_wait(struct ev_writer *w)
{
	int e;

	pthread_mutex_lock(&w->smu);
	while (!w->sdone)
		pthread_cond_wait(&w->scv, &w->smu);
	e = w->serr;
	pthread_mutex_unlock(&w->smu);
	return e;
}

/*
 * May the group being written leave its sync to the sync thread?  Only
 * in the plain case (what a bulk evpub is): batches synced one group at
 * a time, no expected versions, no correlation index, and more batches
 * already waiting, which the writer thread takes next.  The lock is
 * then held on into the next group: at most PIPE_CHAIN groups in a row,
 * so that another writer waits no longer than that, and never once
 * another writer has appended since this one began (the lock is shared,
 * and taken per group as evlog(5) Writers has it).
 */
#define PIPE_CHAIN 8

static int may_pipeline(struct ev_writer *w)
{
	int more;

	if (!w->threaded || w->sync != EV_SYNC_BATCH || w->verbatim ||
	    w->o.one_batch || w->o.expect != EV_EXPECT_ANY || w->cix != NULL ||
	    w->shared || w->chain >= PIPE_CHAIN)
		return 0;
	pthread_mutex_lock(&w->mu);
	more = w->q_head != NULL && !w->stop;
	pthread_mutex_unlock(&w->mu);
	if (!more)
		return 0;
	if (!w->srun) {
		pthread_mutex_init(&w->smu, NULL);
		pthread_cond_init(&w->scv, NULL);
		if (pthread_create(&w->sthr, NULL, syncer, w) != 0) {
			pthread_mutex_destroy(&w->smu);
			pthread_cond_destroy(&w->scv);
			return 0;
		}
		w->srun = 1;
	}
	return 1;
}

/* The batches ws[0..n) at pos[], with offsets from base[], are synced:
 * index them and move the head past them.  0, or the error (the segment
 * cut back to the head as it was). */
static int advance_head(struct ev_writer *w, struct wbatch **ws,
			const uint64_t *pos, const uint64_t *base, int n,
			uint64_t end, uint64_t next, struct ev_error *err)
{
	struct ev_head before;
	struct ixbuf x;
	int k, r;

	x.nsix = x.nidx = x.ntix = 0;
	for (k = 0; k < n; k++) {
		index_batch(w, pos[k], base[k], ws[k], &x);
		if (w->head.max_time == EV_TIME_NONE ||
		    ws[k]->max_time > w->head.max_time)
			w->head.max_time = ws[k]->max_time;
		ws[k]->base = base[k];
	}
	index_write(&w->six_fd, x.six, x.nsix);
	index_write(&w->idx_fd, x.idx, x.nidx);
	index_write(&w->tix_fd, x.tix, x.ntix);
	before = w->head;
	w->head.end = end;
	w->head.next = next;
	/* synced, and sound: what this writer checked when it opened the
	 * log, and what writers published since */
	if (w->sync == EV_SYNC_BATCH && w->open_checked)
		w->head.checked = end;
	r = ev_writer_publish(w, err);
	if (r != 0) {
		/* unpublished means not written: cut it back, so it never
		 * reappears after an error */
		int e = errno;
		struct ev_error e3;
		w->head = before;
		if (ftruncate(w->seg_fd, (off_t)before.end) == 0)
			fdatasync(w->seg_fd);
		/* and drop the index entries written for it */
		if (ev_index_rebuild(w->log, before.seg_base, before.salt,
				     before.end, &w->head.last_index, NULL,
				     &e3) == 0)
			ev_writer_open_segment(w, before.seg_base, &e3);
		ev_seterr_errno(err, EV_EIO, e,
				"cannot update '%s/head'; nothing "
				"after offset %llu was written",
				w->log->path, (unsigned long long)before.next);
	}
	return r;
}

/*
 * The group left pending by the last append_batches: wait for its sync,
 * publish it and report it.  0, or the error: the segment is then cut
 * back to the durable end, and nothing of that group is reported.
 */
static int pend_finish(struct ev_writer *w, struct ev_error *err)
{
	int n = w->pend_n, e, r, k;

	if (n == 0)
		return 0;
	w->pend_n = 0;
	e = sync_wait(w);
	if (e != 0)
		r = fail_io(w, "fsync of", e, err);
	else {
		w->syncs++;
		r = advance_head(w, w->pend_ws, w->pend_pos, w->pend_base, n,
				 w->pend_end, w->pend_next, err);
	}
	if (r == 0) {
		report(w, w->pend_bs, w->pend_nres);
		return 0;
	}
	/* the duplicates before it, and the first record that was not
	 * written */
	for (k = 0; k < w->pend_nres && w->pend_bs[k]->kept == 0; k++)
		;
	report(w, w->pend_bs, k);
	if (k < w->pend_nres)
		w->failed_tag = w->pend_bs[k]->tags[0];
	return r;
}

/*
 * Append batches under one lock (group commit).  Under the lock, each
 * batch is resolved against the streams and ids of the log (duplicates
 * dropped, versions checked and assigned) and compressed; then as many
 * as fit in the head segment are written back to back and synced once,
 * and the head moves past all of them.  A roll ends a group.  Runs on the
 * writer thread.  Batches made durable are reported even when a later
 * group fails; at a conflict, the records before it are written and
 * reported, and EV_EAGAIN returned.
 */
static int append_batches(struct ev_writer *w, struct wbatch **bs, int n,
			  struct ev_error *err)
{
	uint8_t hdr[QUEUE_MAX + 1][EV_BATCHHDR_SIZE];
	struct ev_batchhdr h;
	struct ev_error cerr;
	struct iovec iov[2 * (QUEUE_MAX + 1)];
	struct wbatch *ws[QUEUE_MAX + 1];
	uint64_t pos[QUEUE_MAX + 1], base[QUEUE_MAX + 1], end, next;
	int i = 0, j, k, nw = 0, nres = 0, done = 0, acked, r = 0, cr = 0;
	int pending = 0, pfail = 0;
	uint64_t *touched_saved = NULL, d;
	size_t touched_n = 0;
	ssize_t wr;

	if (w->pend_n == 0) {
		if (lock_log(w, err) != 0)
			return err->code;
		r = ev_writer_tail_sync(w, err);
		/* another writer's batches since ours (the first time, the
		 * head is new to us whoever wrote it) */
		if (r == 0 && w->appended && w->head_moved)
			w->shared = 1;
		w->appended = 1;
		w->chain = 0;
		if (r == 0 && !w->verbatim)
			r = ev_writer_state_sync(w, err);
	}
	/* else the lock is held since the pending group: nothing moved */
	if (r == 0 && w->o.expect != EV_EXPECT_ANY &&
	    ev_writer_save_touched(w, &touched_saved, &touched_n) != 0)
		r = ev_seterr(err, EV_ERR, "out of memory");
	if (r == 0) {
again:
		if (w->pend_n > 0) {
			/* offsets on from the pending group's; its ids stay
			 * in gids, those before it are in the log */
			next = w->pend_next;
			d = w->head.next - w->gids_base;
			memmove(w->gids, w->gids + d,
				(w->ngids - d) * sizeof(*w->gids));
			w->ngids -= d;
			w->gids_base = w->head.next;
		} else {
			next = w->head.next;
			w->gids_base = next;
			w->ngids = 0;
		}
		nw = 0;
		zstart(w, ws);
		for (nres = 0; nres < n; nres++) {
			if (!w->verbatim)
				spare_lend(w, &bs[nres]->res);
			spare_lend(w, &bs[nres]->stored);
			r = w->verbatim ? as_added(bs[nres])
					: ev_writer_resolve(w, bs[nres], &next,
							    err);
			if (w->st != NULL && ev_state_damaged(w->st) &&
			    !w->state_whole) {
				/* a snapshot page did not check out: what was
				 * looked up there may be wrong; start over
				 * with the snapshots read whole and checked,
				 * or the log instead (the pending group
				 * published first, so the log has it) */
				zdrain(w, 1);
				if ((r = pend_finish(w, err)) != 0) {
					pfail = 1;
					break;
				}
				ev_writer_state_drop(w);
				w->state_whole = 1;
				if (w->o.expect != EV_EXPECT_ANY)
					ev_writer_restore_touched(w,
								  touched_saved,
								  touched_n);
				r = ev_writer_state_sync(w, err);
				if (r != 0)
					break;
				goto again;
			}
			if (r == EV_EAGAIN) {
				/* write what came before the conflict, unless
				 * the batch is all or nothing */
				cr = r;
				cerr = *err;
				r = 0;
				if (w->o.one_batch) {
					bs[nres]->kept = bs[nres]->acked = 0;
					/* it holds the prefix */
					ev_writer_state_drop(w);
				}
				if (bs[nres]->kept > 0)
					ws[nw++] = bs[nres];
				nres++;
				break;
			}
			if (r != 0)
				break;
			if (bs[nres]->kept > 0) {
				ws[nw++] = bs[nres];
				zadd(w, nw);
			}
		}
		if (r != 0) {
			zdrain(w, 1);
			nw = nres = 0;
		} else {
			r = zfinish(w, ws, nw, err);
			if (r != 0)
				nw = nres = 0;
		}
	}
	/* the pending group durable and published before this one is
	 * written; if it is not, neither is this one */
	if (w->pend_n > 0 && pend_finish(w, r != 0 ? &cerr : err) != 0) {
		if (r == 0)
			r = err->code;
		else
			*err = cerr;
		pfail = 1;
		cr = 0;
		nw = nres = 0;
	}
	while (r == 0 && i < nw) {
		if (needs_roll(w, ws[i], w->head.end, w->head.next)) {
			r = roll(w, err);
			if (r != 0)
				break;
		}
		end = w->head.end;
		next = w->head.next;
		for (j = i; j < nw; j++) {
			struct wbatch *b = ws[j];
			if (j > i && needs_roll(w, b, end, next))
				break;
			if (b->codec == EV_CODEC_PACKED && !w->seg_packed &&
			    (r = ev_codec_compress(w->codec, w->level, 0,
						   b->src->p, b->src->len,
						   &b->stored, &b->codec,
						   err)) != 0)
				break;
			if (b->stored.len + EV_BATCHHDR_SIZE < EV_SUM_MIN_BATCH)
				b->has_sum = 0;
			memset(&h, 0, sizeof(h));
			h.stored_len = (uint32_t)b->stored.len;
			h.count = b->kept;
			h.base = next;
			h.min_time = b->min_time;
			h.max_time = b->max_time;
			h.append_time = ev_now();
			h.raw_len = (uint32_t)b->src->len;
			h.codec = b->codec;
			h.salt = w->head.salt;
			h.payload_crc =
				ev_crc32c(0, b->stored.p, b->stored.len);
			b->crc = h.payload_crc;
			ev_batchhdr_encode(hdr[j - i], &h);
			iov[2 * (j - i)].iov_base = hdr[j - i];
			iov[2 * (j - i)].iov_len = EV_BATCHHDR_SIZE;
			iov[2 * (j - i) + 1].iov_base = b->stored.p;
			iov[2 * (j - i) + 1].iov_len = b->stored.len;
			pos[j - i] = end;
			base[j - i] = next;
			end += EV_BATCHHDR_SIZE + b->stored.len;
			next += b->kept;
		}
		/* the batches up to the next segment, with one call */
		if (r == 0 && j > i) {
			do
				wr = pwritev(w->seg_fd, iov, 2 * (j - i),
					     (off_t)w->head.end);
			while (wr < 0 && errno == EINTR);
			if (wr != (ssize_t)(end - w->head.end))
				r = fail_io(w, "write to",
					    wr < 0 ? errno : ENOSPC, err);
		}
		if (r != 0)
			break;
		/* written: what was compressed is needed no more, unless
		 * the correlation index reads it once the lock is let go */
		for (k = i; k < j && w->cix == NULL; k++) {
			spare_return(w, &ws[k]->res);
			spare_return(w, &ws[k]->stored);
		}
		if (i == 0 && j == nw && cr == 0 && may_pipeline(w)) {
			/* its sync on the sync thread, while the writer
			 * thread resolves the next group */
			for (k = 0; k < j; k++) {
				w->pend_ws[k] = ws[k];
				w->pend_pos[k] = pos[k];
				w->pend_base[k] = base[k];
			}
			w->pend_end = end;
			w->pend_next = next;
			for (k = 0; k < nres; k++)
				w->pend_bs[k] = bs[k];
			w->pend_nres = nres;
			w->pend_n = j;
			w->chain++;
			sync_start(w);
			pending = 1;
			break;
		}
		if (w->sync == EV_SYNC_BATCH) {
			if (fdatasync(w->seg_fd) != 0) {
				r = fail_io(w, "fsync of", errno, err);
				break;
			}
			w->syncs++;
		}
		r = advance_head(w, ws + i, pos, base, j - i, end, next, err);
		if (r != 0)
			break;
		done = j;
		i = j;
	}
	if (pending) {
		/* published and reported by pend_finish(), the lock held
		 * until then */
		free(touched_saved);
		return 0;
	}
	if (r != 0 && w->st != NULL)
		ev_writer_state_drop(w); /* it may hold what was not written */
	unlock_log(w);
	if (pfail) {
		/* reported as far as it goes by pend_finish() */
		free(touched_saved);
		return r;
	}
	/* the correlation index's entries of what was written */
	for (k = 0; w->cix != NULL && k < done; k++)
		ev_cixw_batch(w->cix, ws[k]->base, ws[k]->src->p,
			      ws[k]->src->len, ws[k]->kept);
	/* the resolved batches up to the first one not written */
	for (acked = 0, k = 0; acked < nres; acked++) {
		if (bs[acked]->kept == 0)
			continue;
		if (k == done)
			break;
		k++;
	}
	report(w, bs, r != 0 ? acked : nres);
	/* after a failure, the first record that was not written */
	if (r != 0 && acked < n && bs[acked]->count > 0)
		w->failed_tag = bs[acked]->tags[0];
	if (r == 0 && cr != 0) {
		*err = cerr;
		r = cr;
	}
	free(touched_saved);
	return r;
}

static int process(struct ev_writer *w, struct wbatch **bs, int n,
		   struct ev_error *err)
{
	return append_batches(w, bs, n, err);
}

static void recycle(struct ev_writer *w, struct wbatch *b)
{
	b->raw.len = 0;
	b->stored.len = 0;
	b->count = 0;
	b->ri_ready = 0;
	b->next = w->free_list;
	w->free_list = b;
}

static void *writer_thread(void *arg)
{
	struct ev_writer *w = arg;
	struct wbatch *bs[QUEUE_MAX + 1], *pbs[QUEUE_MAX + 1];
	struct ev_error e;
	int n, i, r, skip, pn = 0;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->q_head == NULL && !w->stop && w->pend_n == 0)
			pthread_cond_wait(&w->cv_work, &w->mu);
		if (w->q_head == NULL && w->pend_n > 0) {
			/* cannot happen (a group is left pending only when
			 * more wait), but never leave one unpublished */
			pthread_mutex_unlock(&w->mu);
			r = pend_finish(w, &e);
			unlock_log(w);
			pthread_mutex_lock(&w->mu);
			if (r != 0 && !w->failed) {
				w->ferr = e;
				__atomic_store_n(&w->failed, 1,
						 __ATOMIC_RELEASE);
			}
			for (i = 0; i < pn; i++)
				recycle(w, pbs[i]);
			pn = 0;
			w->busy = 0;
			pthread_cond_broadcast(&w->cv_done);
			continue;
		}
		if (w->q_head == NULL && w->stop)
			break;
		/* take everything queued: one group commit */
		for (n = 0; w->q_head != NULL && n < QUEUE_MAX + 1; n++) {
			bs[n] = w->q_head;
			w->q_head = bs[n]->next;
			w->q_len--;
		}
		if (w->q_head == NULL)
			w->q_tail = NULL;
		w->busy = 1;
		skip = w->failed;
		/* the queue has room again */
		pthread_cond_broadcast(&w->cv_done);
		pthread_mutex_unlock(&w->mu);
		r = skip ? 0 : process(w, bs, n, &e);
		pthread_mutex_lock(&w->mu);
		if (r != 0 && !w->failed) {
			w->ferr = e;
			/* ferr first: ev_writer_add() reads failed unlocked */
			__atomic_store_n(&w->failed, 1, __ATOMIC_RELEASE);
		}
		/* the group pending before is done with (process() finishes
		 * it first); this one, if pending now, is kept until then */
		for (i = 0; i < pn; i++)
			recycle(w, pbs[i]);
		pn = 0;
		if (w->pend_n > 0) {
			for (i = 0; i < n; i++)
				pbs[i] = bs[i];
			pn = n;
		} else {
			for (i = 0; i < n; i++)
				recycle(w, bs[i]);
		}
		/* still busy while a group is pending */
		w->busy = w->pend_n > 0;
		pthread_cond_broadcast(&w->cv_done);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Set *stop under mu, wake the thread waiting on cv, and join it. */
static void stop_thread(pthread_mutex_t *mu, pthread_cond_t *cv, int *stop,
			pthread_t thr)
{
	pthread_mutex_lock(mu);
	*stop = 1;
	pthread_cond_broadcast(cv);
	pthread_mutex_unlock(mu);
	pthread_join(thr, NULL);
}

static int submit(struct ev_writer *w, struct ev_error *err)
{
	struct wbatch *b = w->cur;
	uint32_t bad;
	int r;

	w->cur = NULL;
	if (b != NULL && b->count > 0 && !w->verbatim)
		(void)ev_writer_prep_ri(w, b, &bad);
	if (w->expect_bytes > 0 && w->expect_ids == 0 && b != NULL &&
	    b->count > 0)
		/* records are smaller than their JSON: an estimate from
		 * above, which the state bounds by its window */
		w->expect_ids =
			w->expect_bytes / (b->raw.len / b->count + 1) + 1;
	if (b == NULL || b->count == 0) {
		if (b != NULL) {
			pthread_mutex_lock(&w->mu);
			recycle(w, b);
			pthread_mutex_unlock(&w->mu);
		}
		return 0;
	}
	if (!w->threaded) {
		r = process(w, &b, 1, err);
		recycle(w, b);
		if (r != 0) {
			w->failed = 1;
			w->ferr = *err;
		}
		return r;
	}
	pthread_mutex_lock(&w->mu);
	while (w->q_len >= QUEUE_MAX && !w->failed) {
		/* no room: help compress the group being appended, or wait
		 * for room or for a batch to compress */
		uint64_t gen = w->zgen;
		int helped;
		pthread_mutex_unlock(&w->mu);
		helped = zhelp(w);
		pthread_mutex_lock(&w->mu);
		if (!helped && w->q_len >= QUEUE_MAX && !w->failed &&
		    w->zgen == gen)
			pthread_cond_wait(&w->cv_done, &w->mu);
	}
	b->next = NULL;
	if (w->q_tail)
		w->q_tail->next = b;
	else
		w->q_head = b;
	w->q_tail = b;
	w->q_len++;
	pthread_cond_signal(&w->cv_work);
	r = w->failed;
	if (r)
		*err = w->ferr;
	pthread_mutex_unlock(&w->mu);
	return r ? err->code : 0;
}

int ev_writer_open(struct ev_writer **out, struct ev_log *log,
		   const struct ev_writer_opts *opts, struct ev_error *err)
{
	struct ev_writer *w;
	int r;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	w->log = log;
	if (opts)
		w->o = *opts;
	w->sync = w->o.sync_set ? w->o.sync : log->cfg.sync;
	w->batch_bytes =
		w->o.batch_bytes ? w->o.batch_bytes : EV_DEFAULT_BATCH_BYTES;
	/* a full batch plus one more record still fits EV_MAX_BATCH */
	if (w->batch_bytes > EV_MAX_BATCH_BYTES)
		w->batch_bytes = EV_MAX_BATCH_BYTES;
	w->batch_events =
		w->o.batch_events ? w->o.batch_events : EV_DEFAULT_BATCH_EVENTS;
	w->level = log->cfg.level;
	w->lock_fd = w->head_fd = w->seg_fd = w->idx_fd = w->tix_fd =
		w->six_fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv_work, NULL);
	pthread_cond_init(&w->cv_done, NULL);
	pthread_mutex_init(&w->zmu, NULL);
	pthread_cond_init(&w->zcv_work, NULL);
	pthread_cond_init(&w->zcv_done, NULL);
	w->codec = ev_codec_new();
	if (w->codec == NULL) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	w->lock_fd = ev_openat(log->dirfd, "lock", O_RDWR | O_CREAT, 0644);
	if (w->lock_fd >= 0)
		w->head_fd =
			ev_openat(log->dirfd, "head", O_RDWR | O_CREAT, 0644);
	if (w->lock_fd < 0 || w->head_fd < 0) {
		r = ev_seterr_errno(err, EV_EIO, errno,
				    "cannot open '%s/%s' for writing",
				    log->path,
				    w->lock_fd < 0 ? "lock" : "head");
		goto fail;
	}
	/* recover now, so damage is reported before any input is read */
	r = lock_log(w, err);
	if (r != 0)
		goto fail;
	r = ev_writer_tail_sync(w, err);
	if (r == 0)
		r = ev_writer_check_head(w, err);
	unlock_log(w);
	if (r != 0)
		goto fail;
	w->open_checked = 1;
	/* 'correlation-index on': the entries of what we append, collected
	 * as we append it (without memory, readers index it instead); the
	 * log is another if the lock followed a rewrite in place */
	if (w->cix == NULL && w->log->cfg.correlation_index)
		w->cix = ev_cixw_new(w->log);
	if (w->o.threaded) {
		if (pthread_create(&w->thr, NULL, writer_thread, w) != 0) {
			r = ev_seterr(err, EV_ERR,
				      "cannot start writer thread");
			goto fail;
		}
		w->threaded = 1;
		/* without a helper, batches are compressed one at a time */
		if (w->level > 0 && (w->zcodec = ev_codec_new()) != NULL &&
		    pthread_create(&w->zthr, NULL, zhelper, w) == 0)
			w->zrun = 1;
		if (w->zrun)
			w->mcodec = ev_codec_new(); /* NULL: it only waits */
	}
	*out = w;
	return 0;
fail:
	ev_writer_close(w, NULL);
	return r;
}

void ev_writer_verbatim(struct ev_writer *w)
{
	w->verbatim = 1;
}

int ev_writer_add(struct ev_writer *w, const uint8_t *rec, size_t n,
		  ev_time_t time, struct ev_error *err)
{
	return ev_writer_add_tagged(w, rec, n, time, 0, err);
}

uint64_t ev_writer_failed_tag(const struct ev_writer *w)
{
	return w->failed_tag;
}

int ev_writer_add_tagged(struct ev_writer *w, const uint8_t *rec, size_t n,
			 ev_time_t time, uint64_t tag, struct ev_error *err)
{
	struct wbatch *b = w->cur;
	uint8_t *o;
	int r;

	/* without the lock, once per record: a failure is seen with its
	 * error, or at the next batch */
	if (__atomic_load_n(&w->failed, __ATOMIC_ACQUIRE)) {
		*err = w->ferr;
		return err->code;
	}
	if (n == 0 || n > EV_MAX_RECORD)
		return ev_seterr(err, EV_EDATA,
				 "record of %zu bytes is out of "
				 "range",
				 n);
	/* room for the versions and links ev_writer_resolve() may add */
	if (b != NULL &&
	    (b->raw.len + n + 8 + (size_t)(b->count + 1) * EV_RESOLVE_SLACK >
		     EV_MAX_BATCH ||
	     (w->o.one_batch && b->count >= w->batch_events))) {
		if (w->o.one_batch)
			return ev_seterr(err, EV_EUSAGE,
					 "more events than fit in one batch "
					 "(%u events, %u bytes)",
					 b->count, (unsigned)b->raw.len);
		r = submit(w, err);
		if (r != 0)
			return r;
		b = NULL;
	}
	if (b == NULL) {
		pthread_mutex_lock(&w->mu);
		b = w->free_list;
		if (b != NULL)
			w->free_list = b->next;
		pthread_mutex_unlock(&w->mu);
		if (b == NULL) {
			b = calloc(1, sizeof(*b));
			if (b == NULL)
				return ev_seterr(err, EV_ERR, "out of memory");
		}
		b->count = 0;
		b->raw.len = 0;
		w->cur = b;
		/* room for a batch and a record past it (a larger one grows
		 * it), not rounded up to twice that */
		if (ev_buf_reserve_exact(&b->raw, w->batch_bytes + 65536) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	}
	if (ev_buf_reserve(&b->raw, n + 10) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (b->count == b->tags_cap) {
		size_t cap = b->tags_cap ? 2 * b->tags_cap : 1024;
		uint64_t *nt = realloc(b->tags, cap * sizeof(*nt));
		if (nt == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		b->tags = nt;
		b->tags_cap = cap;
	}
	b->tags[b->count] = tag;
	o = ev_uleb_put(b->raw.p + b->raw.len, n);
	memcpy(o, rec, n);
	b->raw.len = (size_t)(o + n - b->raw.p);
	if (b->count == 0 || time < b->min_time)
		b->min_time = time;
	if (b->count == 0 || time > b->max_time)
		b->max_time = time;
	b->count++;
	if (!w->o.one_batch &&
	    (b->raw.len >= w->batch_bytes || b->count >= w->batch_events))
		return submit(w, err);
	return 0;
}

void ev_writer_discard(struct ev_writer *w)
{
	if (w->cur == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	recycle(w, w->cur);
	pthread_mutex_unlock(&w->mu);
	w->cur = NULL;
}

uint32_t ev_writer_pending(const struct ev_writer *w)
{
	return w->cur ? w->cur->count : 0;
}

int ev_writer_flush(struct ev_writer *w, struct ev_error *err)
{
	int r = submit(w, err);

	if (r != 0)
		return r;
	if (!w->threaded)
		return 0;
	pthread_mutex_lock(&w->mu);
	while ((w->q_head != NULL || w->busy) && !w->failed) {
		/* the queue drains: help compress its last groups, as an
		 * adding thread does while the queue is full (submit()) */
		uint64_t gen = w->zgen;
		int helped;
		pthread_mutex_unlock(&w->mu);
		helped = zhelp(w);
		pthread_mutex_lock(&w->mu);
		if (!helped && (w->q_head != NULL || w->busy) && !w->failed &&
		    w->zgen == gen)
			pthread_cond_wait(&w->cv_done, &w->mu);
	}
	while (w->busy)
		pthread_cond_wait(&w->cv_done, &w->mu);
	r = w->failed;
	if (r)
		*err = w->ferr;
	pthread_mutex_unlock(&w->mu);
	return r ? err->code : 0;
}

void ev_writer_expect_bytes(struct ev_writer *w, uint64_t bytes)
{
	w->expect_bytes = bytes;
}

void ev_writer_trust_records(struct ev_writer *w)
{
	w->trusted = w->o.unlinked;
}

void ev_writer_log_id(struct ev_writer *w, char id[33])
{
	struct ev_log *at = NULL;
	struct ev_error e;
	char *path = NULL;

	/* w->log changes (follow()) and the log it was closes under mu */
	pthread_mutex_lock(&w->mu);
	memcpy(id, w->log->id_hex, 33);
	if (moved(w->log))
		path = strdup(w->log->path);
	pthread_mutex_unlock(&w->mu);
	/* swapped since this writer's last append: the log there now is
	 * the one its next append follows to */
	if (path != NULL && ev_log_open(&at, path, &e) == 0)
		memcpy(id, at->id_hex, 33);
	ev_log_close(at);
	free(path);
}

uint64_t ev_writer_syncs(const struct ev_writer *w)
{
	return w->syncs;
}

static void free_list(struct wbatch *b)
{
	struct wbatch *n;

	for (; b != NULL; b = n) {
		n = b->next;
		ev_buf_free(&b->raw);
		ev_buf_free(&b->res);
		ev_buf_free(&b->stored);
		free(b->tags);
		free(b->acks);
		free(b->ri);
		free(b);
	}
}

int ev_writer_close(struct ev_writer *w, struct ev_error *err)
{
	struct ev_error tmp;
	int r = 0;

	if (w == NULL)
		return 0;
	if (err == NULL)
		err = &tmp;
	if (!w->failed && w->log != NULL && w->lock_fd >= 0 && w->cur != NULL)
		r = ev_writer_flush(w, err);
	else if (w->failed) {
		*err = w->ferr;
		r = err->code;
	}
	if (w->threaded) {
		stop_thread(&w->mu, &w->cv_work, &w->stop, w->thr);
		if (r == 0 && w->failed) {
			*err = w->ferr;
			r = err->code;
		}
	}
	if (w->zrun)
		stop_thread(&w->zmu, &w->zcv_work, &w->zstop, w->zthr);
	if (w->srun) {
		stop_thread(&w->smu, &w->scv, &w->sstop, w->sthr);
		pthread_mutex_destroy(&w->smu);
		pthread_cond_destroy(&w->scv);
		w->srun = 0;
	}
	if (r == 0 && w->cix != NULL) {
		/* the correlation index, a cache: failing to bring it up to
		 * date costs the next trace a scan of what we appended */
		struct ev_error e5;
		if (ev_cixw_finish(w->cix, &e5) != 0)
			ev_writer_notice(w, "correlation index: %s", e5.msg);
	} else {
		ev_cixw_free(w->cix);
	}
	w->cix = NULL;
	if (r == 0 && w->st != NULL &&
	    ev_state_unsaved(w->st) >= EV_SNAPSHOT_EVERY) {
		/* a snapshot shortens the next replay; failing to write one
		 * costs only that */
		struct ev_error e4;
		/* under the lock, with the state brought up to the head, so
		 * that a cut or trim since our last batch is seen, and a gap
		 * (a repair that leaves the head as it was) too: the epoch
		 * is read whether or not the head moved */
		int fl;
		do
			fl = flock(w->lock_fd, LOCK_EX);
		while (fl != 0 && errno == EINTR);
		if (fl != 0) {
			ev_seterr_errno(&e4, EV_EIO, errno,
					"cannot lock '%s/lock'", w->log->path);
			ev_writer_notice(w, "%s", e4.msg);
		} else if (!moved(w->log)) {
			w->head_moved = 1;
			if (ev_writer_tail_sync(w, &e4) != 0 ||
			    ev_writer_state_sync(w, &e4) != 0 ||
			    ev_state_snapshot(w->st, &e4) != 0)
				ev_writer_notice(w, "%s", e4.msg);
		}
		/* else rewritten in place since our last batch: this state
		 * is the old log's, which nobody appends to any more */
		if (fl == 0)
			unlock_log(w);
	}
	ev_state_free(w->st);
	ev_reader_free(w->dup_rd);
	free(w->gids);
	free(w->touched);
	ev_buf_free(&w->touched_names);
	ev_buf_free(&w->stale);
	ev_buf_free(&w->tmp);
	ev_writer_close_segment(w);
	if (w->lock_fd >= 0)
		close(w->lock_fd);
	if (w->head_fd >= 0)
		close(w->head_fd);
	while (w->nspare > 0)
		ev_buf_free(&w->spare[--w->nspare]);
	free(w->spare);
	free_list(w->free_list);
	free_list(w->q_head);
	if (w->cur) {
		w->cur->next = NULL;
		free_list(w->cur);
	}
	ev_codec_free(w->codec);
	ev_codec_free(w->zcodec);
	ev_codec_free(w->mcodec);
	pthread_mutex_destroy(&w->zmu);
	pthread_cond_destroy(&w->zcv_work);
	pthread_cond_destroy(&w->zcv_done);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv_work);
	pthread_cond_destroy(&w->cv_done);
	ev_log_close(w->own_log);
	free(w);
	return r;
}
