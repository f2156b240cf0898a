/*
 * writer.c - struct ev_writer: appends batches to a log.
 *
 * The lock file is held per batch, not per process (evlog(5) WRITERS):
 * each time the writer takes it, it re-reads the head, adopts what other
 * writers appended, and repairs what a crashed writer left behind (bytes
 * past the durable end, a segment created but never published).  A batch
 * is durable once written and fdatasync'ed; only then is the head moved
 * and the batch reported.  A failed write or sync is not retried: the
 * segment is cut back to the last durable end and the writer fails.
 *
 * With opts.threaded, batches are compressed and written on a second
 * thread while the caller keeps encoding; a bounded queue keeps memory
 * flat.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "evlog_private.h"

#define QUEUE_MAX 3

struct wbatch {
	struct ev_buf raw;    /* framed records */
	struct ev_buf stored; /* what goes to disk */
	uint32_t count;
	ev_time_t min_time, max_time;
	uint8_t codec;
	uint64_t base; /* assigned when appended */
	struct wbatch *next;
};

struct ev_writer {
	struct ev_log *log;
	struct ev_writer_opts o;
	enum ev_sync sync;
	size_t batch_bytes;
	uint32_t batch_events;
	int level;

	int lock_fd, head_fd;
	int seg_fd, idx_fd, tix_fd;
	struct ev_head head;		/* the tail as we know it */
	uint8_t head_raw[EV_HEAD_SIZE];	/* head file as last read/written */
	int have_tail;
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
	uint64_t syncs;
};

static void notice(struct ev_writer *w, const char *fmt, ...) EV_PRINTF(2, 3);

static void notice(struct ev_writer *w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (w->o.notice == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->o.notice(w->o.ctx, msg);
}

static void close_segment(struct ev_writer *w)
{
	if (w->seg_fd >= 0)
		close(w->seg_fd);
	if (w->idx_fd >= 0)
		close(w->idx_fd);
	if (w->tix_fd >= 0)
		close(w->tix_fd);
	w->seg_fd = w->idx_fd = w->tix_fd = -1;
}

/* Open an index for appending; indexes are caches, so a missing or
 * empty one is recreated with its header, and failure is not an error. */
static int open_index(struct ev_writer *w, uint64_t base, int time)
{
	char name[40];
	uint8_t h[EV_IDXHDR_SIZE];
	struct stat st;
	int fd;

	ev_segment_name(name, sizeof(name), base, time ? "tix" : "idx");
	fd = ev_openat(w->log->dirfd, name, O_RDWR | O_APPEND | O_CREAT, 0644);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && st.st_size < EV_IDXHDR_SIZE) {
		ev_index_header(h, time, w->head.salt);
		if (ftruncate(fd, 0) != 0 ||
		    write(fd, h, sizeof(h)) != (ssize_t)sizeof(h)) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static int open_segment(struct ev_writer *w, uint64_t base, struct ev_error *err)
{
	char name[40];

	close_segment(w);
	ev_segment_name(name, sizeof(name), base, "seg");
	w->seg_fd = ev_openat(w->log->dirfd, name, O_RDWR, 0);
	if (w->seg_fd < 0)
		return ev_seterr_errno(err, errno == ENOENT ? EV_EDATA : EV_EIO,
				       errno, "cannot open segment '%s/%s'",
				       w->log->path, name);
	w->idx_fd = open_index(w, base, 0);
	w->tix_fd = open_index(w, base, 1);
	return 0;
}

static int damaged(struct ev_writer *w, uint64_t base, uint64_t pos,
		   const char *why, struct ev_error *err)
{
	ev_seterr(err, EV_EDATA,
		  "log '%s' is damaged: segment %020llu, byte %llu: %s; "
		  "refusing to append",
		  w->log->path, (unsigned long long)base,
		  (unsigned long long)pos, why);
	ev_sethint(err, "run 'evctl verify %s' to inspect and "
			"'evctl repair %s' to fix it",
		   w->log->path, w->log->path);
	return EV_EDATA;
}

/*
 * Walk the valid batches of the open segment from pos, continuing the
 * offsets from next.  Stops at the first byte that is not a valid batch,
 * at size.  Updates *pos, *next and *max_time.
 */
static int walk_valid(struct ev_writer *w, uint64_t salt, uint64_t size,
		      uint64_t *pos, uint64_t *next, ev_time_t *max_time,
		      const char **why)
{
	struct ev_batchhdr h;
	struct ev_buf stored = {0}, raw = {0};
	int r = 0;

	*why = NULL;
	while (*pos < size) {
		r = ev_segment_read_batch(w->seg_fd, *pos, size, salt, &h, &stored,
					  why);
		if (r == EV_EIO || r == EV_ERR)
			break;
		if (r != 0) {
			r = 0;
			break;
		}
		if (h.base != *next) {
			*why = "batch offset does not continue the log";
			break;
		}
		if (ev_codec_decode(w->codec, &h, stored.p, &raw, why) != 0 ||
		    ev_payload_check(raw.p, raw.len, h.count, why) != 0)
			break;
		*pos += EV_BATCHHDR_SIZE + h.stored_len;
		*next += h.count;
		if (*max_time == EV_TIME_NONE || h.max_time > *max_time)
			*max_time = h.max_time;
	}
	ev_buf_free(&stored);
	ev_buf_free(&raw);
	return r;
}

/*
 * The head segment has bytes past the durable end: a writer died after
 * writing and before publishing.  Adopt the complete batches (syncing
 * them first), cut a torn remainder, refuse real damage.
 */
static int recover_tail(struct ev_writer *w, uint64_t size, struct ev_error *err)
{
	uint64_t pos = w->head.end, next = w->head.next;
	ev_time_t mt = w->head.max_time;
	const char *why;

	if (walk_valid(w, w->head.salt, size, &pos, &next, &mt, &why) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s'",
				       w->log->path);
	if (pos < size) {
		if (ev_segment_valid_after(w->seg_fd, pos + 1, size, w->head.salt))
			return damaged(w, w->head.seg_base, pos,
				       why ? why : "invalid batch", err);
		if (ftruncate(w->seg_fd, (off_t)pos) != 0)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot truncate torn tail of '%s'",
					       w->log->path);
		notice(w, "truncated a torn tail of %llu bytes at byte %llu of "
			  "segment %020llu (%s)",
		       (unsigned long long)(size - pos), (unsigned long long)pos,
		       (unsigned long long)w->head.seg_base,
		       why ? why : "incomplete batch");
	}
	if (fdatasync(w->seg_fd) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot sync '%s'",
				       w->log->path);
	w->syncs++;
	{
		w->head.end = pos;
		w->head.next = next;
		w->head.max_time = mt;
		/* the dead writer may have left index entries for what was
		 * cut, or none for what was adopted: rebuild them */
		if (ev_index_rebuild(w->log, w->head.seg_base, w->head.salt, pos,
				     &w->head.last_index, &w->head.max_time,
				     err) != 0)
			return err->code;
		if (open_segment(w, w->head.seg_base, err) != 0)
			return err->code;
	}
	return 1; /* head changed */
}

/* Write our head to the head file. */
static int publish(struct ev_writer *w, struct ev_error *err)
{
	ev_head_encode(w->head_raw, &w->head);
	if (ev_write_full(w->head_fd, w->head_raw, EV_HEAD_SIZE, 0) != 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot write '%s/head'", w->log->path);
	return 0;
}

/* Full recovery when the head file is missing or unreadable. */
static int recover_scan(struct ev_writer *w, struct ev_error *err)
{
	uint64_t *segs = NULL, size, pos, next;
	size_t nseg;
	uint8_t hb[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	struct stat st;
	char name[40];
	ev_time_t mt = EV_TIME_NONE;
	const char *why;
	int r;

	if (ev_log_segments(w->log->dirfd, &segs, &nseg, err) != 0)
		return err->code;
	if (nseg == 0) {
		free(segs);
		memset(&w->head, 0, sizeof(w->head));
		if (ev_segment_create(w->log, 0, &w->head.salt, err) != 0)
			return err->code;
		w->head.end = EV_SEGHDR_SIZE;
		w->head.max_time = EV_TIME_NONE;
		w->head.last_index = EV_SEGHDR_SIZE;
		notice(w, "head file was missing; started an empty log");
		if (open_segment(w, 0, err) != 0)
			return err->code;
		return publish(w, err);
	}
	w->head.seg_base = segs[nseg - 1];
	free(segs);
	if (open_segment(w, w->head.seg_base, err) != 0)
		return err->code;
	ev_segment_name(name, sizeof(name), w->head.seg_base, "seg");
	if (fstat(w->seg_fd, &st) != 0 ||
	    ev_read_full(w->seg_fd, hb, sizeof(hb), 0) < 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s/%s'",
				       w->log->path, name);
	if (ev_seghdr_decode(hb, (size_t)st.st_size, &sh, name, err) != 0) {
		ev_sethint(err, "run 'evctl repair %s'", w->log->path);
		return err->code;
	}
	if (sh.base != w->head.seg_base)
		return damaged(w, w->head.seg_base, 0,
			       "segment header names another offset", err);
	size = (uint64_t)st.st_size;
	pos = EV_SEGHDR_SIZE;
	next = sh.base;
	r = walk_valid(w, sh.salt, size, &pos, &next, &mt, &why);
	if (r != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s/%s'",
				       w->log->path, name);
	if (pos < size) {
		if (ev_segment_valid_after(w->seg_fd, pos + 1, size, sh.salt))
			return damaged(w, sh.base, pos, why ? why : "invalid batch",
				       err);
		if (ftruncate(w->seg_fd, (off_t)pos) != 0)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot truncate '%s/%s'",
					       w->log->path, name);
		notice(w, "truncated a torn tail of %llu bytes at byte %llu of "
			  "segment %020llu (%s)",
		       (unsigned long long)(size - pos), (unsigned long long)pos,
		       (unsigned long long)sh.base, why ? why : "incomplete batch");
	}
	if (fdatasync(w->seg_fd) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot sync '%s/%s'",
				       w->log->path, name);
	w->head.end = pos;
	w->head.next = next;
	w->head.salt = sh.salt;
	w->head.max_time = mt;
	if (ev_index_rebuild(w->log, sh.base, sh.salt, pos, &w->head.last_index,
			     &w->head.max_time, err) != 0)
		return err->code;
	if (open_segment(w, sh.base, err) != 0)
		return err->code;
	return publish(w, err);
}

/*
 * A segment named by the head's next offset exists: a writer created it
 * while rolling and died before publishing.  Adopt it if its header is
 * sound (its batches are checked like any tail), drop it if not.
 */
static int adopt_rolled(struct ev_writer *w, struct ev_error *err)
{
	char name[40];
	uint8_t hb[EV_SEGHDR_SIZE];
	struct ev_seghdr sh = {0};
	struct ev_error e2;
	struct stat st = {0};
	int fd, ok;

	if (w->head.next == w->head.seg_base)
		return 0; /* the head segment is still empty: it is that one */
	ev_segment_name(name, sizeof(name), w->head.next, "seg");
	fd = ev_openat(w->log->dirfd, name, O_RDONLY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0
				       : ev_seterr_errno(err, EV_EIO, errno,
							 "cannot open '%s/%s'",
							 w->log->path, name);
	ok = fstat(fd, &st) == 0 &&
	     ev_read_full(fd, hb, sizeof(hb), 0) == 1 &&
	     ev_seghdr_decode(hb, (size_t)st.st_size, &sh, name, &e2) == 0 &&
	     sh.base == w->head.next && memcmp(sh.id, w->log->id, 16) == 0;
	close(fd);
	if (!ok && sh.unsupported)
		return ev_seterr(err, EV_EDATA,
				 "log '%s': segment %020llu was written by a newer "
				 "version of evlog; refusing to append",
				 w->log->path, (unsigned long long)w->head.next);
	if (!ok) {
		const char *ext[3] = {"seg", "idx", "tix"};
		int i;
		if (st.st_size > EV_SEGHDR_SIZE)
			return damaged(w, w->head.next, 0,
				       "unpublished segment with a bad header", err);
		for (i = 0; i < 3; i++) {
			ev_segment_name(name, sizeof(name), w->head.next, ext[i]);
			unlinkat(w->log->dirfd, name, 0);
		}
		ev_fsync_dir(w->log->dirfd);
		notice(w, "removed an incomplete segment %020llu left by an "
			  "interrupted writer",
		       (unsigned long long)w->head.next);
		return 0;
	}
	w->head.seg_base = sh.base;
	w->head.salt = sh.salt;
	w->head.end = EV_SEGHDR_SIZE;
	w->head.max_time = EV_TIME_NONE;
	w->head.last_index = EV_SEGHDR_SIZE;
	if (open_segment(w, sh.base, err) != 0)
		return err->code;
	if ((uint64_t)st.st_size > EV_SEGHDR_SIZE) {
		int r = recover_tail(w, (uint64_t)st.st_size, err);
		if (r < 0)
			return r;
	}
	return 1;
}

/* Re-read the tail under the lock.  Returns 0 or an error. */
static int tail_sync(struct ev_writer *w, struct ev_error *err)
{
	uint8_t raw[EV_HEAD_SIZE];
	struct ev_head h;
	struct stat st;
	int r, changed = 0;

	r = ev_read_full(w->head_fd, raw, sizeof(raw), 0);
	if (r < 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s/head'",
				       w->log->path);
	if (!(w->have_tail && r == 1 &&
	      memcmp(raw, w->head_raw, sizeof(raw)) == 0)) {
		if (r != 1 || ev_head_decode(raw, &h) != 0) {
			notice(w, "head file of '%s' is missing or damaged; "
				  "rebuilding it from the last segment",
			       w->log->path);
			if (recover_scan(w, err) != 0)
				return err->code;
			w->have_tail = 1;
			return 0;
		}
		if (!w->have_tail || h.seg_base != w->head.seg_base ||
		    w->seg_fd < 0) {
			w->head = h;
			if (open_segment(w, h.seg_base, err) != 0)
				return err->code;
		}
		w->head = h;
		memcpy(w->head_raw, raw, sizeof(raw));
		w->have_tail = 1;
	}
	if (fstat(w->seg_fd, &st) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot stat segment");
	if ((uint64_t)st.st_size < w->head.end)
		return damaged(w, w->head.seg_base, (uint64_t)st.st_size,
			       "segment is shorter than its durable end", err);
	if ((uint64_t)st.st_size > w->head.end) {
		r = recover_tail(w, (uint64_t)st.st_size, err);
		if (r < 0)
			return r;
		changed = 1;
	}
	r = adopt_rolled(w, err);
	if (r < 0)
		return r;
	if (r > 0)
		changed = 1;
	if (changed)
		return publish(w, err);
	return 0;
}

/*
 * Check every batch of the head segment up to the durable end (headers,
 * payload CRCs, offsets).  Run once when a writer opens the log, so that
 * it refuses to append to a log whose last segment is damaged.  Costs one
 * sequential read of the head segment.
 */
static int check_head_segment(struct ev_writer *w, struct ev_error *err)
{
	struct ev_batchhdr h;
	struct ev_seghdr sh;
	struct ev_buf stored = {0};
	uint8_t hb[EV_SEGHDR_SIZE];
	char hwhy[160];
	uint64_t pos = EV_SEGHDR_SIZE, next = w->head.seg_base;
	const char *why = NULL;
	int r, rc = 0;

	r = ev_read_full(w->seg_fd, hb, sizeof(hb), 0);
	if (r < 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s'",
				       w->log->path);
	if (ev_seghdr_check(hb, r == 1 ? sizeof(hb) : 0, &sh, hwhy,
			    sizeof(hwhy)) != 0) {
		if (sh.unsupported) {
			ev_seterr(err, EV_EDATA,
				  "log '%s': segment %020llu %s; refusing to append",
				  w->log->path, (unsigned long long)w->head.seg_base,
				  hwhy);
			ev_sethint(err, "it was written by a newer version of "
					"evlog; use that version");
			return EV_EDATA;
		}
		return damaged(w, w->head.seg_base, 0, hwhy, err);
	}
	if (sh.base != w->head.seg_base || sh.salt != w->head.salt)
		return damaged(w, w->head.seg_base, 0,
			       "segment header does not match the head file", err);
	while (pos < w->head.end) {
		r = ev_segment_read_batch(w->seg_fd, pos, w->head.end, w->head.salt,
					  &h, &stored, &why);
		if (r == EV_EIO || r == EV_ERR) {
			rc = ev_seterr(err, r, "cannot read '%s': %s", w->log->path,
				       why);
			break;
		}
		if (r == 0 && h.base != next) {
			r = EV_EDATA;
			why = "batch offset does not continue the log";
		}
		if (r != 0) {
			rc = damaged(w, w->head.seg_base, pos, why, err);
			break;
		}
		next = h.base + h.count;
		pos += EV_BATCHHDR_SIZE + h.stored_len;
	}
	if (rc == 0 && next != w->head.next)
		rc = damaged(w, w->head.seg_base, pos,
			     "head's next offset does not match the segment", err);
	ev_buf_free(&stored);
	return rc;
}

static int lock_log(struct ev_writer *w, struct ev_error *err)
{
	while (flock(w->lock_fd, LOCK_EX) != 0) {
		if (errno != EINTR)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot lock '%s/lock'",
					       w->log->path);
	}
	return 0;
}

static void unlock_log(struct ev_writer *w)
{
	flock(w->lock_fd, LOCK_UN);
}

static int roll(struct ev_writer *w, struct ev_error *err)
{
	uint64_t salt;
	int r;

	r = ev_segment_create(w->log, w->head.next, &salt, err);
	if (r != 0)
		return r;
	w->syncs += 2;
	w->head.seg_base = w->head.next;
	w->head.salt = salt;
	w->head.end = EV_SEGHDR_SIZE;
	w->head.max_time = EV_TIME_NONE;
	w->head.last_index = EV_SEGHDR_SIZE;
	return open_segment(w, w->head.seg_base, err);
}

/* Cut back to the durable end after a failed write or sync. */
static int fail_io(struct ev_writer *w, const char *what, int e,
		   struct ev_error *err)
{
	int t = ftruncate(w->seg_fd, (off_t)w->head.end);

	(void)t;
	ev_seterr_errno(err, EV_EIO, e, "%s '%s' failed; nothing after offset "
					"%llu was written",
			what, w->log->path, (unsigned long long)w->head.next);
	return EV_EIO;
}

static void index_batch(struct ev_writer *w, uint64_t pos, uint64_t base)
{
	uint8_t e[EV_TIX_ENTRY];
	uint32_t rel = (uint32_t)(base - w->head.seg_base);

	if (pos - w->head.last_index < EV_INDEX_INTERVAL)
		return;
	if (w->idx_fd >= 0) {
		ev_put32(e, rel);
		ev_put32(e + 4, (uint32_t)pos);
		if (write(w->idx_fd, e, EV_IDX_ENTRY) != EV_IDX_ENTRY) {
			/* a cache: keep it consistent by emptying it */
			if (ftruncate(w->idx_fd, EV_IDXHDR_SIZE) != 0) {
				close(w->idx_fd);
				w->idx_fd = -1;
			}
		}
	}
	if (w->tix_fd >= 0 && w->head.max_time != EV_TIME_NONE) {
		ev_tix_entry(e, w->head.max_time, rel, w->head.salt);
		if (write(w->tix_fd, e, EV_TIX_ENTRY) != EV_TIX_ENTRY) {
			if (ftruncate(w->tix_fd, EV_IDXHDR_SIZE) != 0) {
				close(w->tix_fd);
				w->tix_fd = -1;
			}
		}
	}
	w->head.last_index = pos;
}

/* Compress a batch (or store it as it is when that is not smaller). */
static int prepare(struct ev_writer *w, struct wbatch *b, struct ev_error *err)
{
	if (w->level > 0) {
		if (ev_codec_compress(w->codec, w->level, b->raw.p, b->raw.len,
				      &b->stored, err) != 0)
			return err->code;
		b->codec = EV_CODEC_ZSTD;
	}
	if (w->level == 0 || b->stored.len >= b->raw.len) {
		b->stored.len = 0;
		if (ev_buf_append(&b->stored, b->raw.p, b->raw.len) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		b->codec = EV_CODEC_NONE;
	}
	return 0;
}

static int needs_roll(const struct ev_writer *w, const struct wbatch *b,
		      uint64_t end, uint64_t next)
{
	return end > EV_SEGHDR_SIZE &&
	       (end + EV_BATCHHDR_SIZE + b->stored.len > w->log->cfg.segment_bytes ||
		next - w->head.seg_base + b->count > UINT32_MAX);
}

/*
 * Append prepared batches under one lock (group commit): as many as fit
 * in the head segment are written back to back and synced once; then the
 * head moves past all of them.  A roll ends a group.  Runs on the writer
 * thread.  Batches made durable are reported even when a later group
 * fails.
 */
static int append_batches(struct ev_writer *w, struct wbatch **bs, int n,
			  struct ev_error *err)
{
	uint8_t hdr[EV_BATCHHDR_SIZE];
	struct ev_batchhdr h;
	struct iovec iov[2];
	uint64_t pos[16], base[16], end, next;
	int i = 0, j, k, done = 0, r;
	ssize_t wr;

	if (lock_log(w, err) != 0)
		return err->code;
	r = tail_sync(w, err);
	while (r == 0 && i < n) {
		if (needs_roll(w, bs[i], w->head.end, w->head.next)) {
			r = roll(w, err);
			if (r != 0)
				break;
		}
		end = w->head.end;
		next = w->head.next;
		for (j = i; j < n; j++) {
			struct wbatch *b = bs[j];
			if (j > i && needs_roll(w, b, end, next))
				break;
			memset(&h, 0, sizeof(h));
			h.stored_len = (uint32_t)b->stored.len;
			h.count = b->count;
			h.base = next;
			h.min_time = b->min_time;
			h.max_time = b->max_time;
			h.append_time = ev_now();
			h.raw_len = (uint32_t)b->raw.len;
			h.codec = b->codec;
			h.salt = w->head.salt;
			h.payload_crc = ev_crc32c(0, b->stored.p, b->stored.len);
			ev_batchhdr_encode(hdr, &h);
			iov[0].iov_base = hdr;
			iov[0].iov_len = sizeof(hdr);
			iov[1].iov_base = b->stored.p;
			iov[1].iov_len = b->stored.len;
			do
				wr = pwritev(w->seg_fd, iov, 2, (off_t)end);
			while (wr < 0 && errno == EINTR);
			if (wr != (ssize_t)(sizeof(hdr) + b->stored.len)) {
				r = fail_io(w, "write to", wr < 0 ? errno : ENOSPC,
					    err);
				break;
			}
			pos[j - i] = end;
			base[j - i] = next;
			end += sizeof(hdr) + b->stored.len;
			next += b->count;
		}
		if (r != 0)
			break;
		if (w->sync == EV_SYNC_BATCH) {
			if (fdatasync(w->seg_fd) != 0) {
				r = fail_io(w, "fsync of", errno, err);
				break;
			}
			w->syncs++;
		}
		for (k = i; k < j; k++) {
			index_batch(w, pos[k - i], base[k - i]);
			if (w->head.max_time == EV_TIME_NONE ||
			    bs[k]->max_time > w->head.max_time)
				w->head.max_time = bs[k]->max_time;
			bs[k]->base = base[k - i];
		}
		{
			struct ev_head before = w->head;
			w->head.end = end;
			w->head.next = next;
			r = publish(w, err);
			if (r != 0) {
				/* unpublished means not written: cut it back,
				 * so it never reappears after an error */
				int e = errno;
				struct ev_error e3;
				w->head = before;
				if (ftruncate(w->seg_fd, (off_t)before.end) == 0)
					fdatasync(w->seg_fd);
				/* and drop the index entries written for it */
				if (ev_index_rebuild(w->log, before.seg_base,
						     before.salt, before.end,
						     &w->head.last_index, NULL,
						     &e3) == 0)
					open_segment(w, before.seg_base, &e3);
				ev_seterr_errno(err, EV_EIO, e,
						"cannot update '%s/head'; nothing "
						"after offset %llu was written",
						w->log->path,
						(unsigned long long)before.next);
				break;
			}
		}
		done = j;
		i = j;
	}
	unlock_log(w);
	if (w->o.on_durable != NULL)
		for (k = 0; k < done; k++)
			w->o.on_durable(w->o.ctx, bs[k]->base, bs[k]->raw.p,
					bs[k]->raw.len, bs[k]->count);
	return r;
}

static int process(struct ev_writer *w, struct wbatch **bs, int n,
		   struct ev_error *err)
{
	int i, r;

	for (i = 0; i < n; i++) {
		r = prepare(w, bs[i], err);
		if (r != 0) {
			/* append what was prepared, then fail */
			struct ev_error e2;
			if (i > 0 && append_batches(w, bs, i, &e2) != 0)
				*err = e2;
			return r;
		}
	}
	return append_batches(w, bs, n, err);
}

static void recycle(struct ev_writer *w, struct wbatch *b)
{
	b->raw.len = 0;
	b->stored.len = 0;
	b->count = 0;
	b->next = w->free_list;
	w->free_list = b;
}

static void *writer_thread(void *arg)
{
	struct ev_writer *w = arg;
	struct wbatch *bs[QUEUE_MAX + 1];
	struct ev_error e;
	int n, i, r, skip;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->q_head == NULL && !w->stop)
			pthread_cond_wait(&w->cv_work, &w->mu);
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
			w->failed = 1;
			w->ferr = e;
		}
		for (i = 0; i < n; i++)
			recycle(w, bs[i]);
		w->busy = 0;
		pthread_cond_broadcast(&w->cv_done);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int submit(struct ev_writer *w, struct ev_error *err)
{
	struct wbatch *b = w->cur;
	int r;

	w->cur = NULL;
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
	while (w->q_len >= QUEUE_MAX && !w->failed)
		pthread_cond_wait(&w->cv_done, &w->mu);
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
	w->batch_bytes = w->o.batch_bytes ? w->o.batch_bytes
					  : EV_DEFAULT_BATCH_BYTES;
	/* a full batch plus one more record still fits EV_MAX_BATCH */
	if (w->batch_bytes > EV_MAX_BATCH_BYTES)
		w->batch_bytes = EV_MAX_BATCH_BYTES;
	w->batch_events = w->o.batch_events ? w->o.batch_events
					    : EV_DEFAULT_BATCH_EVENTS;
	w->level = log->cfg.level;
	w->lock_fd = w->head_fd = w->seg_fd = w->idx_fd = w->tix_fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv_work, NULL);
	pthread_cond_init(&w->cv_done, NULL);
	w->codec = ev_codec_new();
	if (w->codec == NULL) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	w->lock_fd = ev_openat(log->dirfd, "lock", O_RDWR | O_CREAT, 0644);
	w->head_fd = ev_openat(log->dirfd, "head", O_RDWR | O_CREAT, 0644);
	if (w->lock_fd < 0 || w->head_fd < 0) {
		r = ev_seterr_errno(err, errno == EACCES ? EV_EIO : EV_EIO, errno,
				    "cannot open log '%s' for writing", log->path);
		goto fail;
	}
	/* recover now, so damage is reported before any input is read */
	r = lock_log(w, err);
	if (r != 0)
		goto fail;
	r = tail_sync(w, err);
	if (r == 0)
		r = check_head_segment(w, err);
	unlock_log(w);
	if (r != 0)
		goto fail;
	if (w->o.threaded) {
		if (pthread_create(&w->thr, NULL, writer_thread, w) != 0) {
			r = ev_seterr(err, EV_ERR, "cannot start writer thread");
			goto fail;
		}
		w->threaded = 1;
	}
	*out = w;
	return 0;
fail:
	ev_writer_close(w, NULL);
	return r;
}

int ev_writer_add(struct ev_writer *w, const uint8_t *rec, size_t n,
		  ev_time_t time, struct ev_error *err)
{
	struct wbatch *b = w->cur;
	uint8_t *o;
	int r;

	if (w->failed) {
		*err = w->ferr;
		return err->code;
	}
	if (n == 0 || n > EV_MAX_RECORD)
		return ev_seterr(err, EV_EDATA, "record of %zu bytes is out of "
						"range",
				 n);
	if (b != NULL && b->raw.len + n + 8 > EV_MAX_BATCH) {
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
	}
	if (ev_buf_reserve(&b->raw, n + 10) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	o = ev_uleb_put(b->raw.p + b->raw.len, n);
	memcpy(o, rec, n);
	b->raw.len = (size_t)(o + n - b->raw.p);
	if (b->count == 0 || time < b->min_time)
		b->min_time = time;
	if (b->count == 0 || time > b->max_time)
		b->max_time = time;
	b->count++;
	if (b->raw.len >= w->batch_bytes || b->count >= w->batch_events)
		return submit(w, err);
	return 0;
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
	while ((w->q_head != NULL || w->busy) && !w->failed)
		pthread_cond_wait(&w->cv_done, &w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cv_done, &w->mu);
	r = w->failed;
	if (r)
		*err = w->ferr;
	pthread_mutex_unlock(&w->mu);
	return r ? err->code : 0;
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
		ev_buf_free(&b->stored);
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
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_broadcast(&w->cv_work);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thr, NULL);
		if (r == 0 && w->failed) {
			*err = w->ferr;
			r = err->code;
		}
	}
	close_segment(w);
	if (w->lock_fd >= 0)
		close(w->lock_fd);
	if (w->head_fd >= 0)
		close(w->head_fd);
	free_list(w->free_list);
	free_list(w->q_head);
	if (w->cur) {
		w->cur->next = NULL;
		free_list(w->cur);
	}
	ev_codec_free(w->codec);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv_work);
	pthread_cond_destroy(&w->cv_done);
	free(w);
	return r;
}
