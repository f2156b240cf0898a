/*
 * reader_int.h - internals of struct ev_reader shared by reader.c (its
 * segments and batches: a segment opened and checked, batch after
 * batch, salvage, gaps, growth), reader_open.c (a reader made and
 * freed), reader_seek.c (seeks by offset and time, random access,
 * reading backwards) and reader_ahead.c (the read-ahead threads and the
 * spare batch).  Calls go one way: reader_seek.c to reader_open.c to
 * reader.c to reader_ahead.c, each also to any below it; never back up.
 */
#ifndef EVLOG_READER_INT_H
#define EVLOG_READER_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "evlog_private.h"
#include "rahook_int.h"

/* batches read ahead at most, the bytes they may hold (stored and
 * decompressed; past it, one at a time), and threads reading them */
#define RA_DEPTH 8
#define RA_BYTES (4u << 20)
#define RA_THREADS 2
_Static_assert(RA_THREADS <= EV_RA_MAX_THREADS, "EV_RA_MAX_THREADS");

struct ev_reader {
	struct ev_log *log; /* NULL when reading one segment file */
	char *path;	    /* log directory or segment file */
	int dirfd;
	uint64_t *segs;
	size_t nseg;
	struct ev_head head;
	int have_head;
	char id_hex[33];

	/* current segment: segs[si], unless trim removed it from the list
	 * (SEG_GONE) while we still read it through fd */
	size_t si;
	int fd;
	uint64_t seg_base, salt;
	uint64_t limit;	     /* readable end in bytes */
	int tail_is_torn_ok; /* bad bytes at the end may be a torn tail */
	uint64_t pos;	     /* next batch */
	uint64_t next;	     /* its expected offset */

	/* current batch */
	struct ev_batchhdr bh;
	uint64_t bh_pos;
	struct ev_buf stored, raw;
	const uint8_t *rp, *rend;
	uint64_t roff;
	uint32_t rleft;
	int in_batch;
	/* the batch whose records are in raw (ev_reader_get) */
	uint64_t raw_base, raw_count;
	ev_time_t raw_append;
	/* and where it is, for the log to keep when r is freed */
	int keep_batch, raw_known;
	uint64_t raw_seg, raw_salt, raw_pos;
	struct ev_batchhdr raw_bh;
	int random; /* random access: no read-ahead */
	/* random access: the current segment's offset index, read whole */
	struct ev_buf ix;
	uint64_t ix_count, ix_seg;
	int ix_have;

	uint64_t skip_to;
	/* after a seek by time, until a batch reaches it: batches whose
	 * times all come before are passed by their headers */
	ev_time_t skip_time;
	uint64_t first, end;
	ev_notice_fn notice; /* gaps passed over */
	void *nctx;
	uint64_t gap_warned; /* a lone segment's last gap reported, + 1 */
	int at_end_torn;     /* stopped at a torn tail */
	struct ev_codec *codec;
	/* skipping by summaries (evlog(5) Summaries): what the read wants,
	 * and the summary index of segment six_seg (salt six_salt) */
	struct ev_skip *skip;
	struct ev_buf six;
	uint64_t six_count, six_seg, six_salt;
	uint64_t six_limit; /* the segment's readable end when loaded */
	int six_have;
	int took_skip; /* ev_prefetch_take() gave batches passed by: */
	uint64_t run_end, run_next; /* where they end, the offset after */
	uint64_t run_n;		    /* and how many */
	uint64_t skipped;	    /* batches passed by */
	struct ev_salvage *sv;	    /* reading a file of lost+found */
	struct ev_arcsrc *arc;	    /* reading a log in an archive */
	/* the hook's work on the batch in raw, when a thread did it */
	struct ev_reader_hook hook;
	void *aux;
	int aux_ok;

	/* read-ahead: a ring of batches read, checked and decompressed
	 * ahead by worker threads, taken in order */
	struct prefetch {
		pthread_t thr[RA_THREADS];
		struct ev_codec *codec[RA_THREADS];
		int nthr, want_thr;
		pthread_mutex_t mu;
		pthread_cond_t cv;   /* room or work for the threads, or stop */
		pthread_cond_t done; /* a slot is done, or a thread idle */
		int started, stop;
		/* the batches it follows: from claim_pos in fd up to limit */
		int active, halted;
		int fd;
		uint64_t limit, salt, seg;
		uint64_t claim_pos; /* the next batch, once claim_ok */
		int claim_ok;	    /* 0 while the batch before is read */
		size_t head, n;	    /* the oldest slot, and slots in use */
		uint64_t bytes;	    /* what the slots in use hold */
		int busy;	    /* threads working outside the lock */
		struct ra_slot {
			int done, rc;
			int skipped; /* a run of batches passed by */
			uint64_t run_end, run_next, run_n;
			uint64_t pos, limit, bytes;
			const char *why;
			struct ev_batchhdr bh;
			struct ev_buf stored, raw;
			void *aux; /* the hook's, kept from batch to batch */
			int aux_ok;
		} s[RA_DEPTH];
	} pf;
};

/* r->si when trim removed the segment being read from the list */
#define SEG_GONE ((size_t)-1)

/* reader.c: segment i of the list (or the one file) opened and checked,
 * the one before closed: the reader at its first batch */
int ev_reader_seg_open(struct ev_reader *r, size_t i, struct ev_error *err);
/* reader.c: the current segment closed, what was read ahead dropped */
void ev_reader_seg_close(struct ev_reader *r);
/* reader.c: damage at offset off, byte pos of the current segment */
int ev_reader_seg_damage(struct ev_reader *r, uint64_t off, uint64_t pos,
			 const char *why, struct ev_error *err);

/* reader_ahead.c: the read-ahead ring reads on from pos, unless it
 * already does; ev_prefetch_take() gives the batch at r->pos (1) or
 * empties the ring (0); cancel drops what was read ahead; free stops
 * the threads */
void ev_prefetch_start(struct ev_reader *r, uint64_t pos);
int ev_prefetch_take(struct ev_reader *r);
void ev_prefetch_cancel(struct ev_reader *r);
void ev_prefetch_free(struct ev_reader *r);
/* reader_ahead.c: may the batch with header h at pos be passed by
 * unread (its summary rules the read out)? */
int ev_reader_can_skip(const struct ev_reader *r, uint64_t salt, uint64_t pos,
		       const struct ev_batchhdr *h);
/* reader_ahead.c: the log's spare batch, given by a reader that kept
 * its batch (ev_reader_keep_batch) and taken by the next that wants it */
void ev_spare_give(struct ev_reader *r);
int ev_spare_take(struct ev_reader *r);

#endif
