/*
 * reader.c - struct ev_reader: reads records from a log or one segment,
 * here its segments and batches (a segment opened and checked, batch
 * after batch, salvage, gaps, a log grown since); reader_open.c makes
 * and frees a reader, reader_seek.c seeks, and reader_ahead.c reads
 * ahead on threads (reader_int.h has what they share).
 *
 * Readers take no lock.  They stop at the durable end published in the
 * head file, read one batch at a time into bounded buffers, and check
 * every batch (evlog(5) READERS).  Bad bytes inside the durable range, or
 * followed by a valid batch, are damage; bad bytes at the very end of a
 * log without a head, or of a lone segment file, are a torn tail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_int.h"
#include "reader_int.h"

int ev_reader_seg_damage(struct ev_reader *r, uint64_t off, uint64_t pos,
			 const char *why, struct ev_error *err)
{
	ev_seterr(err, EV_EDATA,
		  "damaged data in '%s': segment %020llu, offset %llu, "
		  "byte %llu: %s",
		  r->path, (unsigned long long)r->seg_base,
		  (unsigned long long)off, (unsigned long long)pos, why);
	if (r->log != NULL)
		ev_setremedy(err, EV_REMEDY_VERIFY, r->path);
	return EV_EDATA;
}

void ev_reader_seg_close(struct ev_reader *r)
{
	ev_prefetch_cancel(r);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->in_batch = 0;
	r->rp = r->rend = NULL;
}

/* Is segment index i the last one readers may see? */
static int is_last(const struct ev_reader *r, size_t i)
{
	if (r->log == NULL && r->arc == NULL)
		return 1;
	if (r->have_head)
		return r->segs[i] >= r->head.seg_base;
	return i + 1 >= r->nseg;
}

/* Is the segment being read the last one readers may see? */
static int cur_is_last(const struct ev_reader *r)
{
	if (r->si == SEG_GONE)
		return r->have_head && r->seg_base >= r->head.seg_base;
	return is_last(r, r->si);
}

/*
 * The next event to read was removed by evctl trim: say so, with where
 * the log starts now (ev_reader_first_offset), rather than reading on
 * from a list of segments that no longer exist.
 */
static int trimmed(struct ev_reader *r, uint64_t off, struct ev_error *err)
{
	return ev_seterr(err, EV_EDATA,
			 "offset %llu of '%s' was trimmed; the log now starts "
			 "at %llu",
			 (unsigned long long)off, r->path,
			 (unsigned long long)r->first);
}

/*
 * Read the list of segments again (a roll or a trim since), up to the
 * head's.  The segment being read keeps its open descriptor; si is
 * found again in the new list, or SEG_GONE when trim removed it.
 */
static int relist(struct ev_reader *r, struct ev_error *err)
{
	uint64_t *segs = NULL;
	size_t nseg = 0, k;

	if (ev_log_segments(r->dirfd, &segs, &nseg, err) != 0)
		return err->code;
	if (r->have_head)
		while (nseg > 0 && segs[nseg - 1] > r->head.seg_base)
			nseg--;
	if (nseg == 0) {
		free(segs);
		return ev_seterr(err, EV_EDATA, "log '%s' has no segments",
				 r->path);
	}
	free(r->segs);
	r->segs = segs;
	r->nseg = nseg;
	r->first = segs[0];
	if (r->fd < 0)
		return 0;
	r->si = SEG_GONE;
	for (k = 0; k < nseg; k++)
		if (segs[k] == r->seg_base)
			r->si = k;
	return 0;
}

/* The segment that starts at offset, if the list has it. */
static int seg_at(const struct ev_reader *r, uint64_t offset, size_t *i)
{
	size_t k;

	for (k = 0; k < r->nseg; k++)
		if (r->segs[k] == offset) {
			*i = k;
			return 1;
		}
	return 0;
}

int ev_reader_seg_open(struct ev_reader *r, size_t i, struct ev_error *err)
{
	char name[40];
	uint8_t hb[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	struct stat st;
	char why[160];
	int rr;

	ev_reader_seg_close(r);
	if (r->arc != NULL) {
		ev_segment_name(name, sizeof(name), r->segs[i], "seg");
		r->seg_base = r->segs[i];
		rr = ev_arcsrc_segment(r->arc, r->segs[i], &r->fd, err);
		if (rr != 0)
			return rr;
	} else if (r->log != NULL) {
		ev_segment_name(name, sizeof(name), r->segs[i], "seg");
		r->seg_base = r->segs[i]; /* named in messages from here on */
		r->fd = ev_openat(r->dirfd, name, O_RDONLY, 0);
	} else {
		snprintf(name, sizeof(name), "%s", "segment");
		/* not blocking on a FIFO: it is refused below */
		r->fd = open(r->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	}
	if (r->fd < 0)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno,
				       "cannot open segment %020llu of '%s'",
				       (unsigned long long)(r->log ? r->segs[i]
								   : 0),
				       r->path);
	if (fstat(r->fd, &st) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot stat '%s'",
				       r->path);
	if (r->log == NULL && r->arc == NULL && !S_ISREG(st.st_mode))
		return ev_seterr(err, EV_ENOENT,
				 "'%s' is not an evlog log or segment",
				 r->path);
	rr = ev_read_full(r->fd, hb, sizeof(hb), 0);
	if (rr < 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s'",
				       r->path);
	/* a file named on the command line that does not even start as a
	 * segment does is not a damaged one: it is something else */
	if (r->log == NULL && r->arc == NULL &&
	    (st.st_size == 0 ||
	     memcmp(hb, ev_seg_magic,
		    st.st_size < 8 ? (size_t)st.st_size : 8) != 0))
		return ev_seterr(err, EV_ENOENT,
				 "'%s' is not an evlog log or segment",
				 r->path);
	if (ev_seghdr_check(hb, rr == 1 ? sizeof(hb) : 0, &sh, why,
			    sizeof(why)) != 0) {
		if (sh.unsupported) {
			ev_seterr(err, EV_EDATA,
				  "cannot read '%s': segment %s %s", r->path,
				  r->log || r->arc ? name : "file", why);
			ev_sethint(err, "it was written by a newer version of "
					"evlog; use that version to read it");
			return EV_EDATA;
		}
		if (r->log != NULL || r->arc != NULL)
			return ev_reader_seg_damage(r, r->segs[i], 0, why, err);
		return ev_seterr(err, EV_EDATA,
				 "damaged data in '%s': byte 0: %s", r->path,
				 why);
	}
	if (r->log != NULL || r->arc != NULL) {
		const uint8_t *id =
			r->arc ? ev_arcsrc_log(r->arc)->id : r->log->id;
		if (sh.base != r->segs[i])
			return ev_reader_seg_damage(
				r, r->segs[i], 0,
				"segment header names another offset", err);
		if (memcmp(sh.id, id, 16) != 0)
			return ev_reader_seg_damage(
				r, r->segs[i], 0,
				"segment belongs to another log", err);
	} else {
		static const char hx[] = "0123456789abcdef";
		int k;
		for (k = 0; k < 16; k++) {
			r->id_hex[2 * k] = hx[sh.id[k] >> 4];
			r->id_hex[2 * k + 1] = hx[sh.id[k] & 15];
		}
		r->id_hex[32] = '\0';
	}
	r->si = i;
	r->seg_base = sh.base;
	r->salt = sh.salt;
	r->pos = EV_SEGHDR_SIZE;
	r->next = sh.base;
	r->tail_is_torn_ok = 0;
	if (r->have_head && is_last(r, i)) {
		if (r->head.salt != sh.salt)
			return ev_reader_seg_damage(r, sh.base, 0,
						    "head file does not "
						    "match the segment",
						    err);
		r->limit = r->head.end;
	} else {
		r->limit = (uint64_t)st.st_size;
		/* without a head, the end of the last segment may be torn */
		r->tail_is_torn_ok = is_last(r, i);
	}
	return 0;
}

int ev_reader_is_archive(const struct ev_reader *r)
{
	return r->arc != NULL;
}

/* Salvage: the next records the file still gives.  1, 0 at the end, <0. */
static int salvage_batch(struct ev_reader *r, struct ev_error *err)
{
	int rr;

	for (;;) {
		rr = ev_salvage_next(r->sv, &r->bh, &r->raw, r->notice, r->nctx,
				     err);
		if (rr <= 0)
			return rr;
		r->next = r->bh.base + r->bh.count;
		if (r->skip_to >= r->next)
			continue;
		r->raw_base = r->bh.base;
		r->raw_count = r->bh.count;
		r->raw_append = r->bh.append_time;
		r->raw_known = 0;
		r->rp = r->raw.p;
		r->rend = r->raw.p + r->raw.len;
		r->roff = r->bh.base;
		r->rleft = r->bh.count;
		r->in_batch = 1;
		return 1;
	}
}

/* Report the gap in r->bh, which the reader passes over, once. */
static void gap_passed(struct ev_reader *r)
{
	uint64_t first = r->bh.base, last = r->bh.base + r->bh.count - 1;
	struct ev_log *log = r->log;
	char otext[64];
	unsigned i;

	if (r->skip_to > first)
		first = r->skip_to;
	if (log != NULL) {
		for (i = 0; i < log->ngap_warned; i++)
			if (log->gap_warned[i] == r->bh.base)
				return;
		if (log->ngap_warned <
		    sizeof(log->gap_warned) / sizeof(log->gap_warned[0]))
			log->gap_warned[log->ngap_warned++] = r->bh.base;
		log->gap_events += last - first + 1;
	} else {
		if (r->gap_warned == r->bh.base + 1)
			return;
		r->gap_warned = r->bh.base + 1;
	}
	ev_say(r->notice, r->nctx,
	       "'%s': %s lost to damage and repaired as a gap (%llu %s); "
	       "reading on after them",
	       r->path, ev_offsets_text(otext, sizeof(otext), first, last),
	       (unsigned long long)(last - first + 1),
	       ev_plural(last - first + 1, "event", "events"));
}

/* Bad bytes at r->pos: damage, or a torn tail (returns 0: the end). */
static int bad_batch(struct ev_reader *r, const char *why, int incomplete,
		     struct ev_error *err)
{
	(void)incomplete;
	if (r->tail_is_torn_ok &&
	    !ev_segment_valid_after(r->fd, r->pos + 1, r->limit, r->salt)) {
		r->at_end_torn = 1;
		r->limit = r->pos; /* stop here */
		return 0;
	}
	return ev_reader_seg_damage(r, r->next, r->pos, why, err);
}

/* The current segment's summary index, when the read skips: loaded
 * once per segment, before any read-ahead thread may use it; and again
 * when a follower finds the segment grown and has read past the last
 * entry it has (writers append entries as they append batches). */
static void six_ready(struct ev_reader *r)
{
	struct stat st;

	if (r->skip == NULL || r->random || r->fd < 0)
		return;
	if (r->six_have && r->six_seg == r->seg_base &&
	    r->six_salt == r->salt &&
	    (r->limit == r->six_limit ||
	     (r->six_count > 0 &&
	      r->pos <= ev_get32(r->six.p + (r->six_count - 1) * EV_SIX_ENTRY +
				 4))))
		return;
	ev_prefetch_cancel(r);
	r->six_count = 0;
	/* a log's segments only: a lone file or an archive has none */
	if (r->log != NULL && r->arc == NULL && r->sv == NULL &&
	    fstat(r->fd, &st) == 0)
		r->six_count = ev_six_load(r->dirfd, r->seg_base, r->salt,
					   (uint64_t)st.st_size, &r->six);
	r->six_seg = r->seg_base;
	r->six_salt = r->salt;
	r->six_limit = r->limit;
	r->six_have = 1;
}

void ev_reader_set_skip(struct ev_reader *r, struct ev_skip *s)
{
	ev_prefetch_cancel(r);
	ev_skip_free(r->skip);
	r->skip = s;
	r->six_have = 0;
}

uint64_t ev_reader_skipped(const struct ev_reader *r)
{
	return r->skipped;
}

/* Load the next batch.  1 loaded, 0 at the end, <0 error. */
static int next_batch(struct ev_reader *r, struct ev_error *err)
{
	const char *why;
	int rr, header_only;

	r->aux_ok = 0; /* until a thread's batch is taken */
	if (r->sv != NULL)
		return salvage_batch(r, err);
	for (;;) {
		if (r->pos >= r->limit) {
			size_t k;
			if (cur_is_last(r))
				return 0;
			if (r->si != SEG_GONE && r->si + 1 >= r->nseg)
				return 0;
			if (r->si != SEG_GONE && r->segs[r->si + 1] == r->next)
				k = r->si + 1;
			else if (r->si == SEG_GONE && seg_at(r, r->next, &k))
				;
			else if (r->next < r->first)
				return trimmed(r, r->next, err);
			else
				return ev_reader_seg_damage(
					r, r->next, r->pos,
					"next segment does not continue "
					"the offsets",
					err);
			rr = ev_reader_seg_open(r, k, err);
			if (rr == EV_ENOENT && r->log != NULL) {
				/* trimmed since we listed the segments */
				if ((rr = relist(r, err)) != 0)
					return rr;
				if (r->next < r->first)
					return trimmed(r, r->next, err);
				rr = seg_at(r, r->next, &k)
					     ? ev_reader_seg_open(r, k, err)
					     : ev_reader_seg_damage(
						       r, r->next, r->pos,
						       "next segment does "
						       "not continue the "
						       "offsets",
						       err);
			}
			if (rr != 0)
				return rr;
			continue;
		}
		six_ready(r);
		/* (while the threads read ahead, the one that comes to it
		 * takes it) */
		if ((!r->pf.started || !r->pf.active) && ev_spare_take(r)) {
			header_only = 0;
			goto loaded;
		}
		/* a read that skips has the threads from its first batch on:
		 * the batches it wants may be few and far apart, and the
		 * first one is often a while in coming */
		if (r->skip != NULL && !r->random && !r->pf.started)
			ev_prefetch_start(r, r->pos);
		if (ev_prefetch_take(r)) {
			if (r->took_skip) {
				/* a run of batches passed by */
				r->pos = r->run_end;
				r->next = r->run_next;
				r->skipped += r->run_n;
				ev_prefetch_start(r, r->pos);
				continue;
			}
			header_only = 0;
			goto loaded;
		}
		/* batches wholly before the seek target: header only */
		rr = ev_segment_read_batch(r->fd, r->pos, r->limit, r->salt,
					   &r->bh, NULL, &why);
		if (rr == EV_EIO || rr == EV_ERR)
			return ev_seterr(err, rr, "cannot read '%s': %s",
					 r->path, why);
		if (rr != 0)
			return bad_batch(r, why, rr == 1, err);
		if (r->bh.base != r->next)
			return ev_reader_seg_damage(
				r, r->next, r->pos,
				"batch offset does not continue the log", err);
		header_only = r->skip_to >= r->bh.base + r->bh.count ||
			      (r->skip_time != EV_TIME_NONE &&
			       !ev_batch_is_gap(&r->bh) &&
			       r->bh.max_time < r->skip_time);
		if (!header_only &&
		    ev_reader_can_skip(r, r->salt, r->pos, &r->bh)) {
			header_only = 1;
			r->skipped++;
		}
		if (!header_only) {
			rr = ev_segment_read_batch(r->fd, r->pos, r->limit,
						   r->salt, &r->bh, &r->stored,
						   &why);
			if (rr == EV_EIO || rr == EV_ERR)
				return ev_seterr(err, rr,
						 "cannot read '%s': %s",
						 r->path, why);
			if (rr != 0)
				return bad_batch(r, why, rr == 1, err);
			rr = ev_codec_decode(r->codec, &r->bh, r->stored.p,
					     &r->raw, &why);
			if (rr != 0)
				return rr == EV_EDATA
					       ? ev_reader_seg_damage(r,
								      r->next,
								      r->pos,
								      why, err)
					       : ev_seterr(err, rr, "%s", why);
		}
loaded:
		if (!header_only && !ev_batch_is_gap(&r->bh) &&
		    r->bh.max_time >= r->skip_time)
			r->skip_time = EV_TIME_NONE; /* every batch from here */
		r->bh_pos = r->pos;
		r->pos += EV_BATCHHDR_SIZE + r->bh.stored_len;
		r->next = r->bh.base + r->bh.count;
		if (header_only) {
			if (r->skip != NULL && !r->random)
				ev_prefetch_start(r, r->pos);
			continue;
		}
		if (ev_batch_is_gap(&r->bh)) {
			gap_passed(r);
			if (!r->random)
				ev_prefetch_start(r, r->pos);
			continue;
		}
		r->raw_base = r->bh.base;
		r->raw_count = r->bh.count;
		r->raw_append = r->bh.append_time;
		r->raw_known = 1;
		r->raw_seg = r->seg_base;
		r->raw_salt = r->salt;
		r->raw_pos = r->bh_pos;
		r->raw_bh = r->bh;
		if (!r->random)
			ev_prefetch_start(r, r->pos);
		r->rp = r->raw.p;
		r->rend = r->raw.p + r->raw.len;
		r->roff = r->bh.base;
		r->rleft = r->bh.count;
		r->in_batch = 1;
		return 1;
	}
}

int ev_reader_next(struct ev_reader *r, struct ev_rec *rec,
		   struct ev_error *err)
{
	const uint8_t *p;
	size_t n;
	int rr;

	for (;;) {
		if (r->in_batch) {
			if (r->rleft == 0) {
				r->in_batch = 0;
				if (r->rp != r->rend)
					return ev_reader_seg_damage(
						r, r->roff, r->bh_pos,
						"batch payload has bytes "
						"after its last record",
						err);
				continue;
			}
			if (ev_payload_next(&r->rp, r->rend, &p, &n) != 0)
				return ev_reader_seg_damage(
					r, r->roff, r->bh_pos,
					"record framing is damaged", err);
			r->rleft--;
			if (r->roff++ < r->skip_to)
				continue;
			rec->offset = r->roff - 1;
			rec->p = p;
			rec->n = n;
			rec->append_time = r->bh.append_time;
			rec->kafka = 0;
			return 1;
		}
		rr = next_batch(r, err);
		if (rr <= 0)
			return rr;
	}
}

int ev_reader_refresh(struct ev_reader *r, struct ev_error *err)
{
	struct ev_head h;
	int rr;

	if (r->arc != NULL)
		return 0; /* an archive does not grow */
	if (r->log == NULL) {
		/* a lone segment: its end is wherever valid batches stop */
		struct stat st;
		if (r->fd < 0 || fstat(r->fd, &st) != 0 ||
		    (uint64_t)st.st_size <= r->limit)
			return 0;
		r->limit = (uint64_t)st.st_size;
		r->at_end_torn = 0;
		return 1;
	}
	if (!r->have_head)
		return 0;
	rr = ev_head_read(r->dirfd, &h);
	if (rr != 0)
		return 0; /* keep the old view; the writer will fix it */
	if (memcmp(&h, &r->head, sizeof(h)) == 0)
		return 0;
	if (h.next < r->head.next)
		return 0; /* a stale head; never go backwards */
	if (h.seg_base != r->head.seg_base) {
		struct stat st;
		r->head = h;
		rr = relist(r, err);
		if (rr != 0)
			return rr;
		/* the segment we are in is now sealed: read to its end */
		if (r->fd >= 0 && fstat(r->fd, &st) == 0 &&
		    r->seg_base != h.seg_base)
			r->limit = (uint64_t)st.st_size;
	} else {
		r->head = h;
		if (r->seg_base == h.seg_base)
			r->limit = h.end;
	}
	r->end = h.next;
	return 1;
}

void ev_log_set_notice(struct ev_log *log, ev_notice_fn fn, void *ctx)
{
	log->notice = fn;
	log->notice_ctx = ctx;
}

void ev_reader_set_notice(struct ev_reader *r, ev_notice_fn fn, void *ctx)
{
	r->notice = fn;
	r->nctx = ctx;
}

uint64_t ev_log_gap_events(const struct ev_log *log)
{
	return log->gap_events;
}

uint64_t ev_reader_tell(const struct ev_reader *r)
{
	return r->in_batch ? r->roff : r->next;
}

uint64_t ev_reader_first_offset(const struct ev_reader *r)
{
	return r->first;
}

uint64_t ev_reader_end_offset(const struct ev_reader *r)
{
	return r->end;
}

const char *ev_reader_log_id(const struct ev_reader *r)
{
	return r->id_hex;
}

const char *ev_reader_watch_path(const struct ev_reader *r)
{
	return r->log ? r->path : NULL;
}

const char *ev_reader_path(const struct ev_reader *r)
{
	return r->path;
}
