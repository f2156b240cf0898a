/*
 * reader_seek.c - where a reader reads next: seeks by offset (through
 * the offset index) and by time (through the time index, checked
 * against the segment), random access (ev_reader_get), reading
 * backwards a batch at a time, and a log's append time at an offset.
 */
#include <string.h>
#include <sys/stat.h>

#include "reader_int.h"

static size_t seg_for(const struct ev_reader *r, uint64_t offset)
{
	size_t lo = 0, hi = r->nseg;

	/* last segment with base <= offset */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->segs[mid] <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? 0 : lo - 1;
}

static int seek_in_seg(struct ev_reader *r, size_t i, uint64_t offset,
		       struct ev_error *err)
{
	uint64_t pos, off;
	struct ev_batchhdr h;
	const char *why;
	int rr;

	r->skip_time = EV_TIME_NONE;
	if (r->sv != NULL) {
		/* salvage reads from the start, skipping up to offset */
		ev_salvage_rewind(r->sv);
		r->in_batch = 0;
		r->rp = r->rend = NULL;
		r->raw_count = 0;
		r->next = r->first;
		r->skip_to = offset;
		return 0;
	}
	if (r->random && (r->log != NULL || r->arc != NULL) && r->fd >= 0 &&
	    r->si == i && r->si != SEG_GONE && r->seg_base == r->segs[i]) {
		/* a jump within the open segment: no need to reopen it */
		ev_prefetch_cancel(r);
		r->in_batch = 0;
		r->rp = r->rend = NULL;
		r->pos = EV_SEGHDR_SIZE;
		r->next = r->seg_base;
	} else if (r->log != NULL || r->arc != NULL || r->fd < 0) {
		rr = ev_reader_seg_open(r, i, err);
		if (rr != 0)
			return rr;
	} else {
		ev_reader_seg_close(r);
		rr = ev_reader_seg_open(r, 0, err);
		if (rr != 0)
			return rr;
	}
	r->skip_to = offset;
	if (r->random && r->log != NULL &&
	    (!r->ix_have || r->ix_seg != r->seg_base)) {
		struct stat st;
		r->ix_count =
			fstat(r->fd, &st) != 0
				? 0
				: ev_index_load(r->dirfd, r->seg_base, r->salt,
						(uint64_t)st.st_size, &r->ix);
		r->ix_seg = r->seg_base;
		r->ix_have = 1;
	}
	/* the segment's first batch is where it opened: no index for it */
	if (r->log != NULL && offset > r->seg_base &&
	    (r->random ? ev_index_find_mem(r->ix.p, r->ix_count, r->seg_base,
					   offset, r->limit, &pos, &off)
		       : ev_index_find(r->dirfd, r->seg_base, r->salt, offset,
				       r->limit, &pos, &off))) {
		/* trust the entry only if a real batch starts there */
		if (ev_segment_read_batch(r->fd, pos, r->limit, r->salt, &h,
					  NULL, &why) == 0 &&
		    h.base == off && off >= r->seg_base) {
			r->pos = pos;
			r->next = off;
		}
	}
	return 0;
}

int ev_reader_seek(struct ev_reader *r, uint64_t offset, struct ev_error *err)
{
	if (offset < r->first)
		offset = r->first;
	return seek_in_seg(r, r->log || r->arc ? seg_for(r, offset) : 0, offset,
			   err);
}

int ev_reader_get(struct ev_reader *r, uint64_t offset, struct ev_rec *rec,
		  struct ev_error *err)
{
	const uint8_t *p, *end, *rp = NULL;
	size_t n = 0;
	uint64_t o;
	int rr;

	r->random = 1;
	if (offset < r->first || offset >= r->end)
		return 0;
	if (r->raw_count > 0 && offset >= r->raw_base &&
	    offset - r->raw_base < r->raw_count) {
		/* the batch in hand holds it: walk its records again */
		p = r->raw.p;
		end = r->raw.p + r->raw.len;
		for (o = r->raw_base; o <= offset; o++)
			if (ev_payload_next(&p, end, &rp, &n) != 0)
				return ev_reader_seg_damage(
					r, o, r->bh_pos,
					"record framing is damaged", err);
		rec->offset = offset;
		rec->p = rp;
		rec->n = n;
		rec->append_time = r->raw_append;
		rec->kafka = 0;
		return 1;
	}
	rr = ev_reader_seek(r, offset, err);
	if (rr != 0)
		return rr;
	rr = ev_reader_next(r, rec, err);
	if (rr == 1 && rec->offset != offset)
		return 0;
	return rr;
}

/*
 * Reading backwards, a batch at a time (position.c: where the last N
 * matches begin): the records of the batch that holds offset hi - 1,
 * from the batch's first to hi - 1, oldest first, each given to fn;
 * *lo the batch's first offset.  1 done; 0 when the batch cannot be
 * told (hi - 1 in a gap, salvage, an archive, no log): the caller reads
 * forwards instead; <0 an error, fn's too.
 */
int ev_reader_batch_back(struct ev_reader *r, uint64_t hi, uint64_t *lo,
			 int (*fn)(void *ctx, const struct ev_rec *rec),
			 void *ctx, struct ev_error *err)
{
	const uint8_t *p, *end;
	struct ev_rec rec;
	uint64_t o;
	int rr;

	if (r->log == NULL || r->sv != NULL || r->arc != NULL ||
	    hi <= r->first || hi > r->end)
		return 0;
	/* random access: the batch in hand, or a seek by the index held
	 * in memory, and no threads reading ahead of a read that goes
	 * the other way */
	if ((rr = ev_reader_get(r, hi - 1, &rec, err)) != 1)
		return rr;
	if (!r->raw_known || hi - 1 < r->raw_base ||
	    hi - 1 - r->raw_base >= r->raw_count)
		return 0;
	*lo = r->raw_base;
	memset(&rec, 0, sizeof(rec));
	p = r->raw.p;
	end = r->raw.p + r->raw.len;
	for (o = r->raw_base; o < hi; o++) {
		if (ev_payload_next(&p, end, &rec.p, &rec.n) != 0)
			return ev_reader_seg_damage(r, o, r->raw_pos,
						    "record framing is damaged",
						    err);
		rec.offset = o;
		rec.append_time = r->raw_append;
		if ((rr = fn(ctx, &rec)) != 0)
			return rr;
	}
	return 1;
}

void ev_reader_back_done(struct ev_reader *r)
{
	/* the read that follows starts in the batch in hand: it takes it
	 * rather than read and decompress it again */
	if (r->random && r->raw_known) {
		ev_spare_give(r);
		r->raw_count = 0;
	}
	r->random = 0;
}

/* Largest event time in segment i (walks batch headers). */
static int seg_max_time(struct ev_reader *r, size_t i, ev_time_t *mt,
			struct ev_error *err)
{
	struct ev_batchhdr h;
	const char *why;
	int rr;

	*mt = EV_TIME_NONE;
	if (r->have_head && (r->log || r->arc) &&
	    r->segs[i] == r->head.seg_base) {
		*mt = r->head.max_time;
		return 0;
	}
	rr = ev_reader_seg_open(r, i, err);
	if (rr != 0)
		return rr;
	while (r->pos < r->limit) {
		if (ev_segment_read_batch(r->fd, r->pos, r->limit, r->salt, &h,
					  NULL, &why) != 0)
			break;
		if (*mt == EV_TIME_NONE || h.max_time > *mt)
			*mt = h.max_time;
		r->pos += EV_BATCHHDR_SIZE + h.stored_len;
	}
	return 0;
}

/*
 * A time entry is trusted only when it agrees with the segment: time
 * entry k sits at the batch of offset entry k (the writer adds both
 * together), a valid batch starts there, and every batch since the
 * previous indexed one has a maximum time within the entry's.  So a
 * stale or crafted entry means a scan, never a skipped event.
 */
static int tix_entry_plausible(struct ev_reader *r, uint64_t k, uint64_t off,
			       ev_time_t tmax)
{
	uint64_t ioff, ipos, pos = EV_SEGHDR_SIZE, poff;
	struct ev_batchhdr h;
	const char *why;

	if (!ev_index_entry(r->dirfd, r->seg_base, r->salt, k, &ioff, &ipos) ||
	    ioff != off || ipos >= r->limit)
		return 0;
	if (k > 0 && (!ev_index_entry(r->dirfd, r->seg_base, r->salt, k - 1,
				      &poff, &pos) ||
		      pos >= ipos))
		return 0;
	while (pos < ipos) {
		if (ev_segment_read_batch(r->fd, pos, r->limit, r->salt, &h,
					  NULL, &why) != 0 ||
		    h.max_time > tmax)
			return 0;
		pos += EV_BATCHHDR_SIZE + h.stored_len;
	}
	return pos == ipos &&
	       ev_segment_read_batch(r->fd, ipos, r->limit, r->salt, &h, NULL,
				     &why) == 0 &&
	       h.base == off;
}

int ev_reader_seek_time(struct ev_reader *r, ev_time_t t, struct ev_error *err)
{
	size_t i = 0;
	ev_time_t mt, tmax;
	uint64_t off, entry;
	int rr;

	if (r->log != NULL || r->arc != NULL) {
		/* the first segment holding an event at or after t */
		for (i = 0; i + 1 < r->nseg; i++) {
			rr = seg_max_time(r, i, &mt, err);
			if (rr != 0)
				return rr;
			if (mt != EV_TIME_NONE && mt >= t)
				break;
		}
		rr = seek_in_seg(r, i, r->segs[i], err);
		if (rr != 0 || r->arc != NULL)
			return rr; /* an archive's indexes are not used */
		if (ev_tindex_find(r->dirfd, r->seg_base, r->salt, t, &off,
				   &tmax, &entry) &&
		    off > r->seg_base &&
		    tix_entry_plausible(r, entry, off, tmax) &&
		    (rr = seek_in_seg(r, i, off, err)) != 0)
			return rr;
	} else if ((rr = seek_in_seg(r, 0, r->first, err)) != 0) {
		return rr;
	}
	/* a batch whose maximum time is before t holds no event at or
	 * after it (evlog(5) Indexes): its payload need not be read, so a
	 * damaged one there does not stop the seek */
	if (r->sv == NULL)
		r->skip_time = t;
	return 0;
}

int ev_log_append_time(struct ev_log *log, uint64_t offset, ev_time_t *t,
		       struct ev_error *err)
{
	struct ev_reader *r;
	struct ev_rec rec;
	int rr;

	*t = EV_TIME_NONE;
	rr = ev_reader_open(&r, log, err);
	if (rr != 0)
		return rr;
	if (offset < r->end) {
		rr = ev_reader_seek(r, offset, err);
		if (rr == 0) {
			rr = ev_reader_next(r, &rec, err);
			if (rr == 1) {
				*t = rec.append_time;
				rr = 0;
			}
		}
	}
	ev_reader_free(r);
	return rr < 0 ? rr : 0;
}
