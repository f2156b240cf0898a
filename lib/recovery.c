/*
 * recovery.c - the tail of a log as a writer knows it: the head file and
 * the head segment's files, which the writer keeps open, and what it does
 * with them each time it takes the lock (evlog(5) WRITERS): re-read the
 * head, adopt what other writers appended, and repair what a crashed
 * writer left behind (bytes past the durable end, a segment created but
 * never published, a missing head).  When it opens a log, the writer also
 * checks the head segment's batches from the head's recovery point on, so
 * that it refuses to append to a damaged one; the recovery point moves as
 * batches are synced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "writer_int.h"

/* A one-line notice to the caller's callback, if any. */
void ev_writer_notice(struct ev_writer *w, const char *fmt, ...)
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

void ev_writer_close_segment(struct ev_writer *w)
{
	if (w->seg_fd >= 0)
		close(w->seg_fd);
	if (w->idx_fd >= 0)
		close(w->idx_fd);
	if (w->tix_fd >= 0)
		close(w->tix_fd);
	if (w->six_fd >= 0)
		close(w->six_fd);
	w->seg_fd = w->idx_fd = w->tix_fd = w->six_fd = -1;
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

int ev_writer_open_segment(struct ev_writer *w, uint64_t base,
			   struct ev_error *err)
{
	char name[40];

	struct stat st;

	ev_writer_close_segment(w);
	ev_segment_name(name, sizeof(name), base, "seg");
	/* never through a symbolic link, never anything but a regular
	 * file of the log directory: the writer may truncate it */
	w->seg_fd = ev_openat(w->log->dirfd, name,
			      O_RDWR | O_NOFOLLOW | O_NONBLOCK, 0);
	if (w->seg_fd < 0 && errno == ELOOP)
		return ev_seterr(err, EV_EDATA,
				 "log '%s': segment '%s' is a symbolic link; "
				 "refusing to append",
				 w->log->path, name);
	if (w->seg_fd < 0)
		return ev_seterr_errno(err, errno == ENOENT ? EV_EDATA : EV_EIO,
				       errno, "cannot open segment '%s/%s'",
				       w->log->path, name);
	if (fstat(w->seg_fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		ev_writer_close_segment(w);
		return ev_seterr(err, EV_EDATA,
				 "log '%s': segment '%s' is not a regular "
				 "file; refusing to append",
				 w->log->path, name);
	}
	{
		/* batches go packed only into a segment with the feature */
		uint8_t hb[EV_SEGHDR_SIZE];
		__atomic_store_n(&w->seg_packed,
				 ev_read_full(w->seg_fd, hb, sizeof(hb), 0) ==
						 1 &&
					 (ev_get32(hb + 16) &
					  EV_INCOMPAT_PACKED),
				 __ATOMIC_RELAXED);
	}
	w->idx_fd = open_index(w, base, 0);
	w->tix_fd = open_index(w, base, 1);
	w->six_fd = ev_six_open_append(w->log->dirfd, base, w->head.salt);
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
	ev_setremedy(err, EV_REMEDY_VERIFY_REPAIR, w->log->path);
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
		r = ev_segment_read_batch(w->seg_fd, *pos, size, salt, &h,
					  &stored, why);
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
 * them first), cut a torn remainder (with what follows a sector a power
 * cut lost, ev_segment_torn()), refuse real damage.
 */
static int recover_tail(struct ev_writer *w, uint64_t size,
			struct ev_error *err)
{
	uint64_t pos = w->head.end, next = w->head.next;
	ev_time_t mt = w->head.max_time;
	const char *why;

	if (walk_valid(w, w->head.salt, size, &pos, &next, &mt, &why) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s'",
				       w->log->path);
	if (pos < size) {
		if (!ev_segment_torn(w->seg_fd, pos, size, w->head.salt) &&
		    ev_segment_valid_after(w->seg_fd, pos + 1, size,
					   w->head.salt))
			return damaged(w, w->head.seg_base, pos,
				       why ? why : "invalid batch", err);
		if (ftruncate(w->seg_fd, (off_t)pos) != 0)
			return ev_seterr_errno(
				err, EV_EIO, errno,
				"cannot truncate torn tail of '%s'",
				w->log->path);
		ev_writer_notice(w,
				 "truncated a torn tail of %llu bytes at "
				 "byte %llu of segment %020llu (%s)",
				 (unsigned long long)(size - pos),
				 (unsigned long long)pos,
				 (unsigned long long)w->head.seg_base,
				 why ? why : "incomplete batch");
	}
	if (fdatasync(w->seg_fd) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot sync '%s'",
				       w->log->path);
	w->syncs++;
	{
		/* checked and synced: the recovery point follows, if it was
		 * at the durable end or everything before was checked when
		 * this writer opened the log */
		if (w->head.checked == w->head.end || w->open_checked)
			w->head.checked = pos;
		w->head.end = pos;
		w->head.next = next;
		w->head.max_time = mt;
		/* the dead writer may have left index entries for what was
		 * cut, or none for what was adopted: rebuild them */
		if (ev_index_rebuild(w->log, w->head.seg_base, w->head.salt,
				     pos, &w->head.last_index,
				     &w->head.max_time, err) != 0)
			return err->code;
		if (ev_writer_open_segment(w, w->head.seg_base, err) != 0)
			return err->code;
	}
	return 1; /* head changed */
}

/* Write our head to the head file. */
int ev_writer_publish(struct ev_writer *w, struct ev_error *err)
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
		w->head.checked = EV_SEGHDR_SIZE;
		ev_writer_notice(w,
				 "head file was missing; started an empty log");
		if (ev_writer_open_segment(w, 0, err) != 0)
			return err->code;
		return ev_writer_publish(w, err);
	}
	w->head.seg_base = segs[nseg - 1];
	free(segs);
	if (ev_writer_open_segment(w, w->head.seg_base, err) != 0)
		return err->code;
	ev_segment_name(name, sizeof(name), w->head.seg_base, "seg");
	if (fstat(w->seg_fd, &st) != 0 ||
	    ev_read_full(w->seg_fd, hb, sizeof(hb), 0) < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read '%s/%s'", w->log->path,
				       name);
	if (ev_seghdr_decode(hb, (size_t)st.st_size, &sh, name, err) != 0) {
		ev_setremedy(err, EV_REMEDY_REPAIR, w->log->path);
		return err->code;
	}
	if (sh.base != w->head.seg_base)
		return damaged(w, w->head.seg_base, 0,
			       "segment header names another offset", err);
	if (memcmp(sh.id, w->log->id, 16) != 0)
		return damaged(w, w->head.seg_base, 0,
			       "segment belongs to another log", err);
	size = (uint64_t)st.st_size;
	pos = EV_SEGHDR_SIZE;
	next = sh.base;
	r = walk_valid(w, sh.salt, size, &pos, &next, &mt, &why);
	if (r != 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read '%s/%s'", w->log->path,
				       name);
	if (pos < size) {
		if (!ev_segment_torn(w->seg_fd, pos, size, sh.salt) &&
		    ev_segment_valid_after(w->seg_fd, pos + 1, size, sh.salt))
			return damaged(w, sh.base, pos,
				       why ? why : "invalid batch", err);
		if (ftruncate(w->seg_fd, (off_t)pos) != 0)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot truncate '%s/%s'",
					       w->log->path, name);
		ev_writer_notice(w,
				 "truncated a torn tail of %llu bytes at "
				 "byte %llu of segment %020llu (%s)",
				 (unsigned long long)(size - pos),
				 (unsigned long long)pos,
				 (unsigned long long)sh.base,
				 why ? why : "incomplete batch");
	}
	if (fdatasync(w->seg_fd) != 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot sync '%s/%s'", w->log->path,
				       name);
	w->head.end = pos;
	w->head.next = next;
	w->head.salt = sh.salt;
	w->head.max_time = mt;
	w->head.checked = pos; /* all of it, and synced */
	if (ev_index_rebuild(w->log, sh.base, sh.salt, pos, &w->head.last_index,
			     &w->head.max_time, err) != 0)
		return err->code;
	if (ev_writer_open_segment(w, sh.base, err) != 0)
		return err->code;
	return ev_writer_publish(w, err);
}

/*
 * A segment named by the head's next offset exists: a writer created it
 * while rolling and died before publishing.  Adopt it if its header is
 * sound (its batches are checked like any tail), drop it if not.  The
 * caller repeats this until there is none, as a head that a power cut
 * set back may be older than several rolls.
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
	ok = fstat(fd, &st) == 0 && ev_read_full(fd, hb, sizeof(hb), 0) == 1 &&
	     ev_seghdr_decode(hb, (size_t)st.st_size, &sh, name, &e2) == 0 &&
	     sh.base == w->head.next && memcmp(sh.id, w->log->id, 16) == 0;
	close(fd);
	if (!ok && sh.unsupported)
		return ev_seterr(
			err, EV_EDATA,
			"log '%s': segment %020llu was written by a newer "
			"version of evlog; refusing to append",
			w->log->path, (unsigned long long)w->head.next);
	if (!ok) {
		const char *ext[4] = {"seg", "idx", "tix", "six"};
		int i;
		if (st.st_size > EV_SEGHDR_SIZE)
			return damaged(w, w->head.next, 0,
				       "unpublished segment with a bad header",
				       err);
		for (i = 0; i < 4; i++) {
			ev_segment_name(name, sizeof(name), w->head.next,
					ext[i]);
			unlinkat(w->log->dirfd, name, 0);
		}
		ev_fsync_dir(w->log->dirfd);
		ev_writer_notice(w,
				 "removed an incomplete segment %020llu "
				 "left by an interrupted writer",
				 (unsigned long long)w->head.next);
		return 0;
	}
	w->head.seg_base = sh.base;
	w->head.salt = sh.salt;
	w->head.end = EV_SEGHDR_SIZE;
	w->head.max_time = EV_TIME_NONE;
	w->head.last_index = EV_SEGHDR_SIZE;
	w->head.checked = EV_SEGHDR_SIZE;
	if (ev_writer_open_segment(w, sh.base, err) != 0)
		return err->code;
	if ((uint64_t)st.st_size > EV_SEGHDR_SIZE) {
		int r = recover_tail(w, (uint64_t)st.st_size, err);
		if (r < 0)
			return r;
	}
	return 1;
}

/*
 * The head segment just opened is the one the head names: its header
 * decodes, and names the head's base offset, salt and this log.  Checked
 * before any tail is cut, so that a file copied or moved under the
 * head segment's name is refused as it is, never truncated.
 */
static int check_seghdr(struct ev_writer *w, struct ev_error *err)
{
	uint8_t hb[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	char why[160];
	int r;

	r = ev_read_full(w->seg_fd, hb, sizeof(hb), 0);
	if (r < 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s'",
				       w->log->path);
	if (ev_seghdr_check(hb, r == 1 ? sizeof(hb) : 0, &sh, why,
			    sizeof(why)) != 0) {
		if (sh.unsupported) {
			ev_seterr(err, EV_EDATA,
				  "log '%s': segment %020llu %s; refusing to "
				  "append",
				  w->log->path,
				  (unsigned long long)w->head.seg_base, why);
			ev_sethint(err, "it was written by a newer version of "
					"evlog; use that version");
			return EV_EDATA;
		}
		return damaged(w, w->head.seg_base, 0, why, err);
	}
	if (sh.base != w->head.seg_base)
		return damaged(w, w->head.seg_base, 0,
			       "segment header names another offset", err);
	if (memcmp(sh.id, w->log->id, 16) != 0)
		return damaged(w, w->head.seg_base, 0,
			       "segment belongs to another log", err);
	if (sh.salt != w->head.salt)
		return damaged(w, w->head.seg_base, 0,
			       "segment header does not match the head file",
			       err);
	return 0;
}

/* Re-read the tail under the lock.  Returns 0 or an error. */
int ev_writer_tail_sync(struct ev_writer *w, struct ev_error *err)
{
	uint8_t raw[EV_HEAD_SIZE];
	struct ev_head h;
	struct stat st;
	int r, changed = 0;

	r = ev_read_full(w->head_fd, raw, sizeof(raw), 0);
	if (r < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read '%s/head'", w->log->path);
	if (!(w->have_tail && r == 1 &&
	      memcmp(raw, w->head_raw, sizeof(raw)) == 0)) {
		if (r != 1 || ev_head_decode(raw, &h) != 0) {
			ev_writer_notice(w,
					 "head file of '%s' is missing or "
					 "damaged; rebuilding it from the "
					 "last segment",
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
			if (ev_writer_open_segment(w, h.seg_base, err) != 0 ||
			    check_seghdr(w, err) != 0)
				return err->code;
		}
		w->head = h;
		memcpy(w->head_raw, raw, sizeof(raw));
		w->have_tail = 1;
		w->head_moved = 1;
	}
	if (fstat(w->seg_fd, &st) != 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot stat segment");
	if ((uint64_t)st.st_size < w->head.end)
		return damaged(w, w->head.seg_base, (uint64_t)st.st_size,
			       "segment is shorter than its durable end", err);
	if ((uint64_t)st.st_size > w->head.end) {
		r = recover_tail(w, (uint64_t)st.st_size, err);
		if (r < 0)
			return r;
		changed = 1;
	}
	/* one segment after another: after a power cut the head may be
	 * older than several rolls, since it is written but not synced */
	while ((r = adopt_rolled(w, err)) > 0)
		changed = 1;
	if (r < 0)
		return r;
	if (changed)
		return ev_writer_publish(w, err);
	return 0;
}

/*
 * Walk the batches of the head segment from *pos to the durable end:
 * headers, payload CRCs, and offsets continuing from next (from the first
 * batch's own when next is UINT64_MAX), up to the head's next offset.
 * Returns 0, EV_EDATA with *pos at the bad batch and *why, or EV_EIO or
 * EV_ERR with *why.
 */
static int check_batches(struct ev_writer *w, uint64_t *pos, uint64_t next,
			 const char **why)
{
	struct ev_batchhdr h;
	struct ev_buf stored = {0};
	int r = 0;

	*why = NULL;
	while (*pos < w->head.end) {
		r = ev_segment_read_batch(w->seg_fd, *pos, w->head.end,
					  w->head.salt, &h, &stored, why);
		if (r == EV_EIO || r == EV_ERR)
			break;
		if (r == 0 && next != UINT64_MAX && h.base != next) {
			r = EV_EDATA;
			*why = "batch offset does not continue the log";
		}
		if (r != 0) {
			r = EV_EDATA;
			break;
		}
		next = h.base + h.count;
		*pos += EV_BATCHHDR_SIZE + h.stored_len;
	}
	if (r == 0 && next != UINT64_MAX && next != w->head.next) {
		r = EV_EDATA;
		*why = "head's next offset does not match the segment";
	}
	ev_buf_free(&stored);
	return r;
}

/*
 * Check the head segment when a writer opens the log, so that it refuses
 * to append to a damaged one: its header, then its batches from the
 * recovery point (evlog(5) Head) to the durable end.  What is before the
 * recovery point was checked and synced by a writer already; damage there
 * is left to readers and 'evctl verify'.  A recovery point that is not
 * one (none, past the durable end, not on a batch boundary, or not
 * leading to the head's next offset) is not trusted: the whole segment
 * is checked, as it always was.  Costs one read of what was appended
 * since the recovery point last moved.
 */
int ev_writer_check_head(struct ev_writer *w, struct ev_error *err)
{
	uint64_t pos;
	const char *why;
	int r;

	/* the header first: this log's, this offset's, this salt's */
	if ((r = check_seghdr(w, err)) != 0)
		return r;
	r = EV_EDATA;
	if (w->head.checked > EV_SEGHDR_SIZE &&
	    w->head.checked <= w->head.end) {
		pos = w->head.checked;
		r = check_batches(w, &pos, UINT64_MAX, &why);
	}
	if (r == EV_EDATA) {
		/* from the start, which also tells bad data from a bad
		 * recovery point */
		pos = EV_SEGHDR_SIZE;
		r = check_batches(w, &pos, w->head.seg_base, &why);
		if (r == EV_EDATA)
			return damaged(w, w->head.seg_base, pos, why, err);
	}
	if (r != 0)
		return ev_seterr(err, r, "cannot read '%s': %s", w->log->path,
				 why);
	/* its indexes are appended unsynced: a power cut may have left
	 * holes in them */
	if (!ev_index_sound(w->log->dirfd, w->head.seg_base, w->head.salt)) {
		if (ev_index_rebuild(w->log, w->head.seg_base, w->head.salt,
				     w->head.end, &w->head.last_index,
				     &w->head.max_time, err) != 0 ||
		    ev_writer_open_segment(w, w->head.seg_base, err) != 0)
			return err->code;
	}
	return 0;
}
