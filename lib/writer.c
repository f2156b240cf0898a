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
 * With opts.threaded, batches are resolved, compressed and written on a
 * second thread while the caller keeps encoding; a bounded queue keeps
 * memory flat.  A third thread helps compress: it takes each batch of a
 * group as soon as the batch is resolved, while the writer thread goes
 * on resolving the next.
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

#define QUEUE_MAX 8

/* What became of one record handed to the writer. */
struct wack {
	uint64_t offset;	/* assigned, or the original's when dup */
	const uint8_t *id;	/* into raw */
	size_t id_n;
	int dup;
};

/* A record being resolved: decoded, hashed. */
struct rinfo {
	const uint8_t *rec;
	size_t n;
	struct ev_event ev;
	uint64_t ih, sh;
};

struct wbatch {
	struct ev_buf raw;    /* framed records, as added */
	struct ev_buf res;    /* framed records, as resolved */
	struct ev_buf stored; /* what goes to disk */
	const struct ev_buf *src; /* raw or res: what is compressed */
	uint64_t *tags;	      /* per record added */
	size_t tags_cap;
	struct wack *acks;    /* per record added, once resolved */
	size_t acks_cap;
	uint32_t count;	      /* records added */
	uint32_t kept;	      /* records written (no duplicates) */
	uint32_t acked;	      /* records resolved (all, or up to a conflict) */
	ev_time_t min_time, max_time;
	uint8_t codec;
	uint64_t base; /* assigned when appended */
	struct rinfo *ri;     /* per record, decoded by the adding thread */
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
	uint64_t failed_tag;
	uint64_t syncs;

	/* streams and dedupe (evlog(5) STATE), used under the lock */
	struct ev_state *st;
	struct ev_reader *dup_rd;	/* to confirm a duplicate's id */
	struct gid *gids;		/* ids appended in this group */
	size_t ngids, gids_cap;
	uint64_t gids_base;		/* offset of gids[0] */
	uint64_t epoch;			/* state/epoch when st was loaded */
	int head_moved;			/* tail_sync saw another head */
	int state_whole;		/* a snapshot page was damaged: read
					 * snapshots whole, checked first */
	uint64_t *touched;		/* hashes of streams checked (expect) */
	size_t touched_n, touched_cap;
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
			w->head_moved = 1;
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
		w->head_moved = 1;
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
static int prepare(struct ev_writer *w, struct ev_codec *codec,
		   struct wbatch *b, struct ev_error *err)
{
	const struct ev_buf *src = b->src;

	if (w->level > 0) {
		if (ev_codec_compress(codec, w->level, src->p, src->len,
				      &b->stored, err) != 0)
			return err->code;
		b->codec = EV_CODEC_ZSTD;
	}
	if (w->level == 0 || b->stored.len >= src->len) {
		b->stored.len = 0;
		if (ev_buf_append(&b->stored, src->p, src->len) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		b->codec = EV_CODEC_NONE;
	}
	return 0;
}

/*
 * The compression helper.  The writer thread hands it each batch of a
 * group as soon as the batch is resolved (zadd), so compressing one
 * overlaps resolving the next; then both threads take the batches left
 * (zfinish).  Everything is under zmu; zbusy says the helper holds a
 * batch.
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
	struct ev_error e;
	int i, r;

	pthread_mutex_lock(&w->zmu);
	for (;;) {
		while (!w->zstop && (w->zjob == NULL || w->zfail ||
				     w->znext >= w->zjob_n))
			pthread_cond_wait(&w->zcv_work, &w->zmu);
		if (w->zstop)
			break;
		i = w->znext++;
		w->zbusy = 1;
		pthread_mutex_unlock(&w->zmu);
		r = prepare(w, w->zcodec, w->zjob[i], &e);
		pthread_mutex_lock(&w->zmu);
		if (r != 0 && !w->zfail) {
			w->zfail = 1;
			w->zerr = e;
		}
		w->zbusy = 0;
		pthread_cond_broadcast(&w->zcv_done);
	}
	pthread_mutex_unlock(&w->zmu);
	return NULL;
}

static int needs_roll(const struct ev_writer *w, const struct wbatch *b,
		      uint64_t end, uint64_t next)
{
	return end > EV_SEGHDR_SIZE &&
	       (end + EV_BATCHHDR_SIZE + b->stored.len > w->log->cfg.segment_bytes ||
		next - w->head.seg_base + b->count > UINT32_MAX);
}

/* ------------------------------------------------------------ resolving */

/* the streams checked so far, to go back to when a resolve starts over */
static int save_touched(struct ev_writer *w, uint64_t **out, size_t *n)
{
	*out = NULL;
	*n = w->touched_cap;
	if (w->touched_cap == 0)
		return 0;
	*out = malloc(w->touched_cap * sizeof(**out));
	if (*out == NULL)
		return -1;
	memcpy(*out, w->touched, w->touched_cap * sizeof(**out));
	return 0;
}

static void restore_touched(struct ev_writer *w, const uint64_t *saved,
			    size_t n)
{
	/* the table may have grown since (n: the saved one's size): clear
	 * it, put back the saved hashes */
	size_t i, j, cap = w->touched_cap;

	if (cap > 0)
		memset(w->touched, 0, cap * sizeof(*w->touched));
	w->touched_n = 0;
	for (i = 0; saved != NULL && i < n; i++) {
		if (saved[i] == 0)
			continue;
		for (j = saved[i] & (cap - 1); w->touched[j] != 0;
		     j = (j + 1) & (cap - 1))
			;
		w->touched[j] = saved[i];
		w->touched_n++;
	}
}

/* Has this writer met stream h before?  Marks it met. */
static int first_touch(struct ev_writer *w, uint64_t h)
{
	size_t j, cap;

	if ((w->touched_n + 1) * 2 > w->touched_cap) {
		uint64_t *old = w->touched, *nt;
		size_t oc = w->touched_cap, i;
		cap = oc ? oc * 2 : 64;
		nt = ev_zalloc(cap, sizeof(*nt));
		if (nt == NULL)
			return -1;
		for (i = 0; i < oc; i++) {
			if (old[i] == 0)
				continue;
			for (j = old[i] & (cap - 1); nt[j] != 0; j = (j + 1) & (cap - 1))
				;
			nt[j] = old[i];
		}
		free(old);
		w->touched = nt;
		w->touched_cap = cap;
	}
	cap = w->touched_cap;
	for (j = h & (cap - 1); w->touched[j] != 0; j = (j + 1) & (cap - 1))
		if (w->touched[j] == h)
			return 0;
	w->touched[j] = h;
	w->touched_n++;
	return 1;
}

/* Is the event at offset off (before this group) the one with this id?
 * 1 yes, 0 no, <0 error. */
static int id_at(struct ev_writer *w, uint64_t off, const struct ev_str *id,
		 struct ev_error *err)
{
	struct ev_rec rec;
	struct ev_event ev;
	int r;

	if (w->dup_rd == NULL) {
		r = ev_reader_open(&w->dup_rd, w->log, err);
		if (r != 0)
			return r;
	}
	r = ev_reader_refresh(w->dup_rd, err);
	if (r < 0)
		return r;
	if (off < ev_reader_first_offset(w->dup_rd))
		return 0; /* trimmed meanwhile */
	r = ev_reader_seek(w->dup_rd, off, err);
	if (r != 0)
		return r;
	r = ev_reader_next(w->dup_rd, &rec, err);
	if (r <= 0)
		return r;
	if (rec.offset != off || ev_event_decode(rec.p, rec.n, &ev, err) != 0)
		return 0;
	return ev.id.n == id->n && memcmp(ev.id.p, id->p, id->n) == 0;
}

/* The offset of an earlier event with this id within the dedupe window:
 * 1 found, 0 none, <0 error. */
static int find_dup(struct ev_writer *w, const struct ev_str *id, uint64_t h,
		    uint64_t *orig, struct ev_error *err)
{
	uint64_t c[8];
	size_t n = ev_state_id_candidates_h(w->st, h, c, 8), i;
	int r;

	for (i = 0; i < n; i++) {
		if (c[i] >= w->gids_base) {
			const struct gid *g = &w->gids[c[i] - w->gids_base];
			if (c[i] - w->gids_base < w->ngids && g->n == id->n &&
			    memcmp(g->id, id->p, id->n) == 0) {
				*orig = c[i];
				return 1;
			}
			continue;
		}
		r = id_at(w, c[i], id, err);
		if (r < 0)
			return r;
		if (r == 1) {
			*orig = c[i];
			return 1;
		}
	}
	return 0;
}

static int conflict(struct ev_writer *w, struct wbatch *b, uint32_t i,
		    struct ev_error *err, const char *fmt, ...) EV_PRINTF(5, 6);

/* The first conflict: nothing from record i of b on is appended. */
static int conflict(struct ev_writer *w, struct wbatch *b, uint32_t i,
		    struct ev_error *err, const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->failed_tag = b->tags[i];
	return ev_seterr(err, EV_EAGAIN, "%s", msg);
}

/* Quote a stream name for a message, bounded. */
static const char *qname(const struct ev_str *s, char *buf, size_t n)
{
	snprintf(buf, n, "%.*s", (int)(s->n > 200 ? 200 : s->n), s->p);
	return buf;
}

/* Bytes of a msgpack uint from its first byte; 0 when not a uint. */
static size_t uint_len(uint8_t b)
{
	return b < 0x80 ? 1 : b == 0xcc ? 2 : b == 0xcd ? 3 : b == 0xce ? 5
			    : b == 0xcf	    ? 9
					    : 0;
}

/*
 * Append to out the framed record with version v and link prev (none:
 * EV_NO_PREV), spliced from rec: the version sits right after the
 * stream (key 4 after key 3), the link is the last key (10).  Returns
 * -1 when rec is not laid out as our encoder lays it out; the caller
 * then encodes afresh.
 */
static int splice_record(struct ev_buf *out, const uint8_t *rec, size_t n,
		  const struct ev_event *ev, uint64_t v, uint64_t prev)
{
	uint8_t vb[10], pb[10], old[10];
	size_t vpos, vend, pend = n, vl, pl = 0, len, k;
	unsigned cnt = rec[0] & 0x0f;
	uint8_t *o;

	vpos = (size_t)((const uint8_t *)ev->stream.p + ev->stream.n - rec);
	vend = vpos;
	if (ev->version != 0) {
		if (vpos + 1 >= n || rec[vpos] != EV_K_VERSION ||
		    (k = uint_len(rec[vpos + 1])) == 0)
			return -1;
		vend = vpos + 1 + k;
	} else {
		cnt++;
	}
	if (ev->prev != EV_NO_PREV) {
		k = (size_t)(ev_mp_uint(old, ev->prev) - old);
		if (n < vend + k + 1 || rec[n - k - 1] != EV_K_PREV ||
		    memcmp(rec + n - k, old, k) != 0)
			return -1;
		pend = n - k - 1;
		cnt--;
	}
	vb[0] = EV_K_VERSION;
	vl = (size_t)(ev_mp_uint(vb + 1, v) - vb);
	if (prev != EV_NO_PREV) {
		pb[0] = EV_K_PREV;
		pl = (size_t)(ev_mp_uint(pb + 1, prev) - pb);
		cnt++;
	}
	if (cnt < 3 || cnt > EV_K_MAX)
		return -1;
	len = 1 + (vpos - 1) + vl + (pend - vend) + pl;
	if (ev_buf_reserve(out, len + 10) != 0)
		return -2;
	o = ev_uleb_put(out->p + out->len, len);
	*o++ = (uint8_t)(0x80 | cnt);
	memcpy(o, rec + 1, vpos - 1);
	o += vpos - 1;
	memcpy(o, vb, vl);
	o += vl;
	memcpy(o, rec + vend, pend - vend);
	o += pend - vend;
	memcpy(o, pb, pl);
	o += pl;
	out->len = (size_t)(o - out->p);
	return 0;
}

/* Append a framed record as it is. */
static int put_framed(struct ev_buf *out, const uint8_t *rec, size_t n)
{
	if (ev_buf_reserve(out, n + 10) != 0)
		return -1;
	out->len = (size_t)(ev_uleb_put(out->p + out->len, n) - out->p);
	memcpy(out->p + out->len, rec, n);
	out->len += n;
	return 0;
}

/* Encode the record afresh, with version v and link prev. */
static int reencode(struct ev_writer *w, struct ev_buf *out,
		    const struct ev_event *ev, uint64_t v, uint64_t prev,
		    struct ev_error *err)
{
	struct ev_fields f;

	ev_fields_init(&f);
	f.type = ev->type.p;
	f.type_n = ev->type.n;
	f.id = ev->id.p;
	f.id_n = ev->id.n;
	f.stream = ev->stream.p;
	f.stream_n = ev->stream.n;
	f.key = ev->key.p;
	f.key_n = ev->key.n;
	f.time = ev->time;
	f.version = v;
	f.schema = ev->schema;
	f.data = ev->data;
	f.data_n = ev->data_len;
	f.data_bin = ev->data_is_binary;
	f.meta = ev->meta;
	f.meta_n = ev->meta_len;
	f.prev = prev;
	f.resolved = 1;
	w->tmp.len = 0;
	if (ev_record_encode(&f, ev->time, &w->tmp, NULL, err) != 0)
		return err->code;
	if (put_framed(out, w->tmp.p, w->tmp.len) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}

/*
 * Decode and hash the records of a batch on the adding thread, so that
 * the writer thread, which holds the lock, does only the lookups.  A
 * record that does not decode leaves it to resolve(), which reports it.
 * Returns 0, 1 when record *bad does not decode, -1 out of memory.
 */
static int prep_ri(struct ev_writer *w, struct wbatch *b, uint32_t *bad)
{
	const uint8_t *p = b->raw.p, *end = p + b->raw.len, *rec;
	struct ev_error e;
	struct rinfo *ri;
	size_t n;
	uint32_t i;

	b->ri_ready = 0;
	if (b->ri_cap < b->count) {
		struct rinfo *nr = realloc(b->ri, b->count * sizeof(*nr));
		if (nr == NULL)
			return -1;
		b->ri = nr;
		b->ri_cap = b->count;
	}
	for (i = 0; i < b->count; i++) {
		ri = &b->ri[i];
		if (ev_payload_next(&p, end, &rec, &n) != 0 ||
		    (w->o.unlinked ? ev_event_decode_head(rec, n, &ri->ev, &e)
				   : ev_event_decode(rec, n, &ri->ev, &e)) != 0) {
			*bad = i;
			return 1;
		}
		ri->rec = rec;
		ri->n = n;
		ri->ih = ev_hash64(ri->ev.id.p, ri->ev.id.n);
		ri->sh = ri->ev.stream.p ? ev_hash64(ri->ev.stream.p,
						     ri->ev.stream.n)
					 : 0;
	}
	b->ri_ready = 1;
	return 0;
}

/*
 * Resolve a batch against the state, under the lock: drop duplicates,
 * check expected versions, number stream events and link each to its
 * stream's previous event, and build the records to write in b->res.
 * Offsets are assigned from *next on.  Returns 0, or EV_EAGAIN at the
 * first conflict with b->acked set to the records before it.
 *
 * Two passes: the first decodes every record, hashes its id and stream
 * and prefetches their slots; the second does the work, by then mostly
 * from the cache.
 */
static int resolve(struct ev_writer *w, struct wbatch *b, uint64_t *next,
		   struct ev_error *err)
{
	struct rinfo *ri;
	uint64_t orig, last_v, last_off, want_v;
	char nb[210];
	uint32_t i;
	int r;
	struct ev_sref ref;

	b->res.len = 0;
	b->kept = b->acked = 0;
	b->src = &b->res;
	if (b->acks_cap < b->count) {
		struct wack *na = realloc(b->acks, b->count * sizeof(*na));
		if (na == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		b->acks = na;
		b->acks_cap = b->count;
	}
	if (ev_buf_reserve(&b->res, b->raw.len + b->raw.len / 8) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (!b->ri_ready) {
		r = prep_ri(w, b, &i);
		if (r < 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		if (r > 0)
			return ev_seterr(err, EV_EDATA, "record %u of a batch "
							"does not decode",
					 i);
	}
	for (i = 0; i < b->count; i++)
		ev_state_prefetch(w->st, b->ri[i].sh, b->ri[i].ih);
	for (i = 0; i < b->count; i++) {
		struct wack *a = &b->acks[i];
		const struct ev_event *ev;
		ri = &b->ri[i];
		ev = &ri->ev;
		a->id = (const uint8_t *)ev->id.p;
		a->id_n = ev->id.n;
		/* a resent event is a duplicate whatever its version */
		r = find_dup(w, &ev->id, ri->ih, &orig, err);
		if (r < 0)
			return r;
		if (r == 1) {
			a->offset = orig;
			a->dup = 1;
			b->acked = i + 1;
			continue;
		}
		a->dup = 0;
		want_v = ev->version;
		last_off = EV_NO_PREV;
		memset(&ref, 0, sizeof(ref));
		if (ev->stream.p != NULL) {
			ev_state_stream_h(w->st, ev->stream.p, ev->stream.n,
					  ri->sh, &ref);
			last_v = ref.last_version;
			last_off = ref.last_offset;
			r = w->o.expect == EV_EXPECT_ANY ? 0
							 : first_touch(w, ri->sh);
			if (r < 0)
				return ev_seterr(err, EV_ERR, "out of memory");
			if (r == 1 && w->o.expect == EV_EXPECT_NONE &&
			    ref.exists)
				return conflict(w, b, i, err,
						"stream '%s' is at version %llu, "
						"expected no stream",
						qname(&ev->stream, nb, sizeof(nb)),
						(unsigned long long)last_v);
			if (r == 1 && w->o.expect == EV_EXPECT_EXISTS &&
			    !ref.exists)
				return conflict(w, b, i, err,
						"stream '%s' does not exist, "
						"expected it to",
						qname(&ev->stream, nb, sizeof(nb)));
			if (r == 1 && w->o.expect == EV_EXPECT_VERSION &&
			    last_v != w->o.expect_version)
				return conflict(w, b, i, err,
						"stream '%s' is at version %llu, "
						"expected %llu",
						qname(&ev->stream, nb, sizeof(nb)),
						(unsigned long long)last_v,
						(unsigned long long)w->o.expect_version);
			if (ev->version != 0 && !w->o.renumber &&
			    ev->version != last_v + 1)
				return conflict(w, b, i, err,
						"stream '%s' is at version %llu, "
						"event has version %llu",
						qname(&ev->stream, nb, sizeof(nb)),
						(unsigned long long)last_v,
						(unsigned long long)ev->version);
			want_v = last_v + 1;
		}
		if (want_v == ev->version && last_off == ev->prev) {
			if (put_framed(&b->res, ri->rec, ri->n) != 0)
				return ev_seterr(err, EV_ERR, "out of memory");
		} else {
			/* the same record, numbered and linked */
			r = splice_record(&b->res, ri->rec, ri->n, ev, want_v, last_off);
			if (r == -2)
				return ev_seterr(err, EV_ERR, "out of memory");
			if (r != 0 && w->o.unlinked &&
			    ev_event_decode(ri->rec, ri->n, &ri->ev, err) != 0)
				return err->code;
			if (r != 0 &&
			    reencode(w, &b->res, ev, want_v, last_off, err) != 0)
				return err->code;
		}
		if (ev_state_apply_h(w->st, &ref, ev->stream.p, ev->stream.n, ri->sh,
				     ri->ih, want_v, *next) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		if (w->ngids == w->gids_cap) {
			size_t cap = w->gids_cap ? 2 * w->gids_cap : 1024;
			struct gid *ng = realloc(w->gids, cap * sizeof(*ng));
			if (ng == NULL)
				return ev_seterr(err, EV_ERR, "out of memory");
			w->gids = ng;
			w->gids_cap = cap;
		}
		w->gids[w->ngids].id = a->id;
		w->gids[w->ngids++].n = a->id_n;
		a->offset = (*next)++;
		if (b->kept == 0 || ev->time < b->min_time)
			b->min_time = ev->time;
		if (b->kept == 0 || ev->time > b->max_time)
			b->max_time = ev->time;
		b->kept++;
		b->acked = i + 1;
	}
	if (b->res.len > EV_MAX_BATCH)
		return ev_seterr(err, EV_EDATA, "a batch grew past %u bytes "
						"when numbered",
				 EV_MAX_BATCH);
	return 0;
}

/* Bring the state up to the head, loading it the first time. */
static int state_sync(struct ev_writer *w, struct ev_error *err)
{
	if (w->st != NULL && w->head_moved &&
	    (ev_state_covered(w->st) > w->head.next ||
	     ev_state_epoch(w->log) != w->epoch)) {
		/* the log was cut (a repair) or trimmed since: the events
		 * the state was built from may be gone, and others stand
		 * at their offsets; start over */
		ev_state_free(w->st);
		w->st = NULL;
	}
	w->head_moved = 0;
	if (w->st == NULL) {
		w->epoch = ev_state_epoch(w->log);
		return ev_state_load_lazy(&w->st, w->log, 1, !w->state_whole, err);
	}
	return ev_state_catch_up(w->st, w->head.next, err);
}

/* After a failure under the lock the state may hold what was not
 * written: forget it, to be loaded again. */
static void state_drop(struct ev_writer *w)
{
	ev_state_free(w->st);
	w->st = NULL;
}

/* Report what became of the records of the first n batches. */
static void report(struct ev_writer *w, struct wbatch **bs, int n)
{
	struct ev_ack a[256];
	uint32_t i, k;
	int j;

	if (w->o.on_durable == NULL)
		return;
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
	uint8_t hdr[EV_BATCHHDR_SIZE];
	struct ev_batchhdr h;
	struct ev_error cerr;
	struct iovec iov[2];
	struct wbatch *ws[QUEUE_MAX + 1];
	uint64_t pos[QUEUE_MAX + 1], base[QUEUE_MAX + 1], end, next;
	int i = 0, j, k, nw = 0, nres = 0, done = 0, acked, r, cr = 0;
	uint64_t *touched_saved = NULL;
	size_t touched_n = 0;
	ssize_t wr;

	if (lock_log(w, err) != 0)
		return err->code;
	r = tail_sync(w, err);
	if (r == 0)
		r = state_sync(w, err);
	if (r == 0 && w->o.expect != EV_EXPECT_ANY &&
	    save_touched(w, &touched_saved, &touched_n) != 0)
		r = ev_seterr(err, EV_ERR, "out of memory");
	if (r == 0) {
again:
		next = w->head.next;
		w->gids_base = next;
		w->ngids = 0;
		nw = 0;
		zstart(w, ws);
		for (nres = 0; nres < n; nres++) {
			r = resolve(w, bs[nres], &next, err);
			if (w->st != NULL && ev_state_damaged(w->st) &&
			    !w->state_whole) {
				/* a snapshot page did not check out: what was
				 * looked up there may be wrong; start over
				 * with the snapshots read whole and checked,
				 * or the log instead */
				zdrain(w, 1);
				state_drop(w);
				w->state_whole = 1;
				if (w->o.expect != EV_EXPECT_ANY)
					restore_touched(w, touched_saved,
							touched_n);
				r = state_sync(w, err);
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
					state_drop(w); /* it holds the prefix */
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
			next += b->kept;
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
			    ws[k]->max_time > w->head.max_time)
				w->head.max_time = ws[k]->max_time;
			ws[k]->base = base[k - i];
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
	if (r != 0 && w->st != NULL)
		state_drop(w); /* it may hold what was not written */
	unlock_log(w);
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
			w->ferr = e;
			/* ferr first: ev_writer_add() reads failed unlocked */
			__atomic_store_n(&w->failed, 1, __ATOMIC_RELEASE);
		}
		for (i = 0; i < n; i++)
			recycle(w, bs[i]);
		w->busy = 0;
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
	if (b != NULL && b->count > 0)
		(void)prep_ri(w, b, &bad);
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
	pthread_mutex_init(&w->zmu, NULL);
	pthread_cond_init(&w->zcv_work, NULL);
	pthread_cond_init(&w->zcv_done, NULL);
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
		/* without a helper, batches are compressed one at a time */
		if (w->level > 0 && (w->zcodec = ev_codec_new()) != NULL &&
		    pthread_create(&w->zthr, NULL, zhelper, w) == 0)
			w->zrun = 1;
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
		return ev_seterr(err, EV_EDATA, "record of %zu bytes is out of "
						"range",
				 n);
	/* room for the versions and links resolve() may add */
	if (b != NULL && (b->raw.len + n + 8 +
				  (size_t)(b->count + 1) * EV_RESOLVE_SLACK >
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
	if (r == 0 && w->st != NULL &&
	    ev_state_unsaved(w->st) >= EV_SNAPSHOT_EVERY) {
		/* a snapshot shortens the next replay; failing to write one
		 * costs only that */
		struct ev_error e4;
		/* under the lock, with the state brought up to the head, so
		 * that a cut or trim since our last batch is seen */
		if (lock_log(w, &e4) == 0) {
			if (tail_sync(w, &e4) != 0 || state_sync(w, &e4) != 0 ||
			    ev_state_snapshot(w->st, &e4) != 0)
				notice(w, "%s", e4.msg);
			unlock_log(w);
		} else {
			notice(w, "%s", e4.msg);
		}
	}
	ev_state_free(w->st);
	ev_reader_free(w->dup_rd);
	free(w->gids);
	free(w->touched);
	ev_buf_free(&w->tmp);
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
	ev_codec_free(w->zcodec);
	pthread_mutex_destroy(&w->zmu);
	pthread_cond_destroy(&w->zcv_work);
	pthread_cond_destroy(&w->zcv_done);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv_work);
	pthread_cond_destroy(&w->cv_done);
	free(w);
	return r;
}
