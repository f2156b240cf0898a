/*
 * reader.c - struct ev_reader: reads records from a log or one segment.
 *
 * Readers take no lock.  They stop at the durable end published in the
 * head file, read one batch at a time into bounded buffers, and check
 * every batch (evlog(5) READERS).  Bad bytes inside the durable range, or
 * followed by a valid batch, are damage; bad bytes at the very end of a
 * log without a head, or of a lone segment file, are a torn tail.
 *
 * While the caller works through one batch, worker threads read, check
 * and decompress the next ones (read-ahead) into a ring of RA_DEPTH
 * batches, in order: a thread claims the next batch, reads and checks it,
 * publishes where the one after starts (so that another thread may read
 * that one meanwhile) and decompresses it.  A batch of the ring is used
 * only if it is exactly the batch the reader wants next; anything unusual
 * (an error, a seek, a new segment) empties the ring and is redone on the
 * caller's thread, so the workers never change what a reader returns,
 * only when.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_int.h"
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
	int took_skip; /* prefetch_take() gave batches passed by: */
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

struct ra_arg {
	struct ev_reader *r;
	int k;
};

static int claimable(const struct prefetch *pf)
{
	return pf->active && pf->claim_ok && !pf->halted &&
	       (pf->n == 0 || (pf->n < RA_DEPTH && pf->bytes < RA_BYTES)) &&
	       pf->claim_pos < pf->limit &&
	       pf->limit - pf->claim_pos >= EV_BATCHHDR_SIZE;
}

/*
 * With pf->mu held: slot s, claimed for a batch to read, takes the
 * buffers of an idle slot when it has none yet, so that a read that
 * passes most batches by (a run of them takes a slot but no buffer)
 * decompresses into a few warm buffers, not a fresh pair per slot (page
 * faults: a batch of 256 KiB is 64 of them, each a page to zero).
 */
static void slot_warm(struct prefetch *pf, struct ra_slot *s)
{
	struct ra_slot *t;
	struct ev_buf tmp;
	size_t k;

	for (k = pf->n; k < RA_DEPTH; k++) {
		t = &pf->s[(pf->head + k) % RA_DEPTH];
		if (s->raw.cap == 0 && t->raw.cap > 0) {
			tmp = s->raw;
			s->raw = t->raw;
			t->raw = tmp;
		}
		if (s->stored.cap == 0 && t->stored.cap > 0) {
			tmp = s->stored;
			s->stored = t->stored;
			t->stored = tmp;
		}
	}
}

/* The summary entry of the batch at pos of the current segment, if its
 * summary index has one; read-only, so the read-ahead threads use it. */
static const uint8_t *six_find(const struct ev_reader *r, uint64_t salt,
			       uint64_t pos)
{
	uint64_t lo = 0, hi = r->six_count, mid, p;
	const uint8_t *e;

	if (!r->six_have || r->six_salt != salt)
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		e = r->six.p + mid * EV_SIX_ENTRY;
		p = ev_get32(e + 4);
		if (p == pos)
			return e;
		if (p < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* May the batch with header h at pos be passed by unread? */
static int can_skip(const struct ev_reader *r, uint64_t salt, uint64_t pos,
		    const struct ev_batchhdr *h)
{
	const uint8_t *e;

	if (r->skip == NULL || r->random || ev_batch_is_gap(h))
		return 0;
	e = six_find(r, salt, pos);
	return e != NULL && ev_six_entry_matches(e, r->six_seg, pos, h, salt) &&
	       !ev_skip_may_match(r->skip, e + 16);
}

static int ring_spare(struct ev_reader *r, struct ra_slot *s);

static void *prefetch_main(void *arg)
{
	struct ev_reader *r = ((struct ra_arg *)arg)->r;
	struct prefetch *pf = &r->pf;
	int k = ((struct ra_arg *)arg)->k;
	struct ev_codec *codec = pf->codec[k];
	struct ev_reader_hook hook;
	struct ra_slot *s;
	const char *why;
	uint64_t pos;
	size_t aux_bytes;
	int rc, spare;

	free(arg);
	pthread_mutex_lock(&pf->mu);
	for (;;) {
		while (!pf->stop && !claimable(pf))
			pthread_cond_wait(&pf->cv, &pf->mu);
		if (pf->stop)
			break;
		s = &pf->s[(pf->head + pf->n) % RA_DEPTH];
		pf->n++;
		s->done = 0;
		s->skipped = 0;
		s->pos = pos = pf->claim_pos;
		s->limit = pf->limit;
		s->bytes = 0;
		s->aux_ok = 0;
		hook = r->hook; /* set only while no thread is busy */
		pf->claim_ok = 0;
		pf->busy++;
		pthread_mutex_unlock(&pf->mu);
		why = NULL;
		/* a batch its summary rules out: its header only, and so on
		 * for the run of such batches after it, in one slot (one
		 * hand-over per run, not per batch) */
		if (r->skip != NULL && six_find(r, pf->salt, pos) != NULL &&
		    ev_segment_read_batch(pf->fd, pos, s->limit, pf->salt,
					  &s->bh, NULL, &why) == 0 &&
		    can_skip(r, pf->salt, pos, &s->bh)) {
			struct ev_batchhdr h2;
			const char *why2;
			s->skipped = 1;
			s->run_n = 1;
			s->run_end = pos + EV_BATCHHDR_SIZE + s->bh.stored_len;
			s->run_next = s->bh.base + s->bh.count;
			while (s->run_n < 65536 && s->run_end < s->limit &&
			       six_find(r, pf->salt, s->run_end) != NULL &&
			       ev_segment_read_batch(pf->fd, s->run_end,
						     s->limit, pf->salt, &h2,
						     NULL, &why2) == 0 &&
			       h2.base == s->run_next &&
			       can_skip(r, pf->salt, s->run_end, &h2)) {
				s->run_end += EV_BATCHHDR_SIZE + h2.stored_len;
				s->run_next = h2.base + h2.count;
				s->run_n++;
			}
		}
		/* the batch a probe left (ev_reader_keep_batch) */
		spare = !s->skipped && ring_spare(r, s);
		if (!s->skipped && !spare &&
		    (s->raw.cap == 0 || s->stored.cap == 0)) {
			pthread_mutex_lock(&pf->mu);
			slot_warm(pf, s);
			pthread_mutex_unlock(&pf->mu);
		}
		rc = s->skipped || spare
			     ? 0
			     : ev_segment_read_batch(pf->fd, pos, s->limit,
						     pf->salt, &s->bh,
						     &s->stored, &why);
		pthread_mutex_lock(&pf->mu);
		if (rc == 0 && s->skipped) {
			pf->claim_pos = s->run_end;
			pf->claim_ok = 1;
			pthread_cond_signal(&pf->cv);
			s->rc = 0;
			s->why = NULL;
			s->done = 1;
			pf->busy--;
			pthread_cond_broadcast(&pf->done);
			continue;
		}
		if (rc == 0) {
			/* the next one may be read while this one is
			 * decompressed */
			pf->claim_pos =
				pos + EV_BATCHHDR_SIZE + s->bh.stored_len;
			pf->claim_ok = 1;
			s->bytes = (uint64_t)s->bh.stored_len + s->bh.raw_len;
			pf->bytes += s->bytes;
			pthread_cond_signal(&pf->cv);
		} else {
			pf->halted = 1; /* the reader redoes it, and stops */
		}
		pthread_mutex_unlock(&pf->mu);
		if (rc == 0 && !spare)
			rc = ev_codec_decode(codec, &s->bh, s->stored.p,
					     &s->raw, &why);
		/* the caller's work on the batch, while it is at hand */
		aux_bytes = (size_t)-1;
		if (rc == 0 && hook.batch != NULL && !ev_batch_is_gap(&s->bh))
			aux_bytes = hook.batch(hook.ctx, k, &s->bh, s->raw.p,
					       s->raw.len, &s->aux);
		pthread_mutex_lock(&pf->mu);
		if (aux_bytes != (size_t)-1) {
			s->aux_ok = 1;
			s->bytes += aux_bytes;
			pf->bytes += aux_bytes;
		}
		s->rc = rc;
		s->why = why;
		s->done = 1;
		if (rc != 0)
			pf->halted = 1;
		pf->busy--;
		pthread_cond_broadcast(&pf->done);
	}
	pthread_mutex_unlock(&pf->mu);
	return NULL;
}

/* With pf->mu held: wait for the threads to leave the slots, and empty
 * the ring; nothing is claimed until prefetch_start. */
static void ring_reset(struct prefetch *pf)
{
	pf->active = 0;
	while (pf->busy > 0)
		pthread_cond_wait(&pf->done, &pf->mu);
	pf->head = pf->n = 0;
	pf->bytes = 0;
	pf->halted = 0;
	pf->claim_ok = 0;
}

/* Drop whatever was read ahead (a jump, a new segment, a close). */
static void prefetch_cancel(struct ev_reader *r)
{
	struct prefetch *pf = &r->pf;

	if (!pf->started)
		return;
	pthread_mutex_lock(&pf->mu);
	ring_reset(pf);
	pthread_mutex_unlock(&pf->mu);
}

static int prefetch_init(struct ev_reader *r)
{
	struct prefetch *pf = &r->pf;
	struct ra_arg *a;
	int k;

	if (pthread_mutex_init(&pf->mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&pf->cv, NULL) != 0) {
		pthread_mutex_destroy(&pf->mu);
		return -1;
	}
	if (pthread_cond_init(&pf->done, NULL) != 0) {
		pthread_cond_destroy(&pf->cv);
		pthread_mutex_destroy(&pf->mu);
		return -1;
	}
	pf->started = 1;
	for (k = 0; k < pf->want_thr; k++) {
		pf->codec[k] = ev_codec_new();
		a = malloc(sizeof(*a));
		if (pf->codec[k] == NULL || a == NULL) {
			ev_codec_free(pf->codec[k]);
			free(a);
			break;
		}
		a->r = r;
		a->k = k;
		if (pthread_create(&pf->thr[k], NULL, prefetch_main, a) != 0) {
			ev_codec_free(pf->codec[k]);
			free(a);
			break;
		}
		pf->nthr++;
	}
	return pf->nthr > 0 ? 0 : -1;
}

static void prefetch_free(struct ev_reader *r)
{
	struct prefetch *pf = &r->pf;
	int k;

	if (!pf->started)
		return;
	pthread_mutex_lock(&pf->mu);
	pf->stop = 1;
	pthread_cond_broadcast(&pf->cv);
	pthread_mutex_unlock(&pf->mu);
	for (k = 0; k < pf->nthr; k++) {
		pthread_join(pf->thr[k], NULL);
		ev_codec_free(pf->codec[k]);
	}
	pthread_mutex_destroy(&pf->mu);
	pthread_cond_destroy(&pf->cv);
	pthread_cond_destroy(&pf->done);
	for (k = 0; k < RA_DEPTH; k++) {
		ev_buf_free(&pf->s[k].stored);
		ev_buf_free(&pf->s[k].raw);
		if (pf->s[k].aux != NULL)
			r->hook.free_aux(r->hook.ctx, pf->s[k].aux);
	}
}

/*
 * The batch at pos of the current segment is the next the reader wants:
 * the ring reads ahead from there, unless it already does.
 */
static void prefetch_start(struct ev_reader *r, uint64_t pos)
{
	struct prefetch *pf = &r->pf;
	uint64_t want;

	if (r->fd < 0 || pos >= r->limit || r->limit - pos < EV_BATCHHDR_SIZE ||
	    pf->want_thr == 0)
		return;
	if (!pf->started && prefetch_init(r) != 0)
		return;
	if (pf->nthr == 0)
		return;
	pthread_mutex_lock(&pf->mu);
	if (pf->active && pf->fd == r->fd && pf->salt == r->salt &&
	    r->limit >= pf->limit) {
		want = pf->n > 0 ? pf->s[pf->head].pos
				 : (pf->claim_ok ? pf->claim_pos : UINT64_MAX);
		if (want == pos) {
			if (r->limit > pf->limit) {
				/* the log grew (follow): read on */
				pf->limit = r->limit;
				pthread_cond_broadcast(&pf->cv);
			}
			pthread_mutex_unlock(&pf->mu);
			return;
		}
	}
	ring_reset(pf);
	pf->active = 1;
	pf->fd = r->fd;
	pf->limit = r->limit;
	pf->salt = r->salt;
	pf->seg = r->seg_base;
	pf->claim_pos = pos;
	pf->claim_ok = 1;
	pthread_cond_broadcast(&pf->cv);
	pthread_mutex_unlock(&pf->mu);
}

/*
 * Take the oldest batch of the ring if it is the batch at r->pos, valid,
 * and the one the reader would read itself; otherwise the ring is
 * emptied and the reader reads on its own.  Returns 1 when r->bh and
 * r->raw now hold it.
 */
static int prefetch_take(struct ev_reader *r)
{
	struct prefetch *pf = &r->pf;
	struct ra_slot *s;
	struct ev_buf tmp;

	if (!pf->started || r->random)
		return 0;
	pthread_mutex_lock(&pf->mu);
	if (pf->active && pf->fd == r->fd && r->limit > pf->limit) {
		/* the log grew (follow): read on */
		pf->limit = r->limit;
		pthread_cond_broadcast(&pf->cv);
	}
	for (;;) {
		if (!pf->active || pf->fd != r->fd)
			goto miss;
		if (pf->n > 0) {
			s = &pf->s[pf->head];
			if (s->pos != r->pos)
				goto miss;
			if (s->done)
				break;
		} else if (!claimable(pf) || pf->claim_pos != r->pos) {
			goto miss;
		}
		pthread_cond_wait(&pf->done, &pf->mu);
	}
	if (s->rc != 0 || s->limit > r->limit || s->bh.base != r->next ||
	    r->skip_to >= s->bh.base + s->bh.count)
		goto miss;
	r->bh = s->bh;
	r->took_skip = s->skipped;
	r->run_end = s->run_end;
	r->run_next = s->run_next;
	r->run_n = s->run_n;
	if (!s->skipped) {
		tmp = r->raw;
		r->raw = s->raw;
		s->raw = tmp;
		if (s->aux_ok) {
			void *aux = r->aux;
			r->aux = s->aux;
			s->aux = aux;
			r->aux_ok = 1;
			s->aux_ok = 0;
		}
	}
	/* a big batch's buffers are not kept idle in the ring */
	if (s->raw.cap > RA_BYTES / 4)
		ev_buf_free(&s->raw);
	if (s->stored.cap > RA_BYTES / 4)
		ev_buf_free(&s->stored);
	pf->bytes -= s->bytes;
	pf->head = (pf->head + 1) % RA_DEPTH;
	pf->n--;
	if (claimable(pf))
		pthread_cond_signal(&pf->cv);
	pthread_mutex_unlock(&pf->mu);
	return 1;
miss:
	ring_reset(pf);
	pthread_mutex_unlock(&pf->mu);
	return 0;
}

static int seg_damage(struct ev_reader *r, uint64_t off, uint64_t pos,
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

#define SEG_GONE ((size_t)-1)

static void close_seg(struct ev_reader *r)
{
	prefetch_cancel(r);
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

static int open_seg(struct ev_reader *r, size_t i, struct ev_error *err)
{
	char name[40];
	uint8_t hb[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	struct stat st;
	char why[160];
	int rr;

	close_seg(r);
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
			return seg_damage(r, r->segs[i], 0, why, err);
		return ev_seterr(err, EV_EDATA,
				 "damaged data in '%s': byte 0: %s", r->path,
				 why);
	}
	if (r->log != NULL || r->arc != NULL) {
		const uint8_t *id =
			r->arc ? ev_arcsrc_log(r->arc)->id : r->log->id;
		if (sh.base != r->segs[i])
			return seg_damage(r, r->segs[i], 0,
					  "segment header names another offset",
					  err);
		if (memcmp(sh.id, id, 16) != 0)
			return seg_damage(r, r->segs[i], 0,
					  "segment belongs to another log",
					  err);
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
			return seg_damage(r, sh.base, 0,
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

static int load_segments(struct ev_reader *r, struct ev_error *err)
{
	int h;

	free(r->segs);
	r->segs = NULL;
	r->nseg = 0;
	if (ev_log_segments(r->dirfd, &r->segs, &r->nseg, err) != 0)
		return err->code;
	h = ev_head_read(r->dirfd, &r->head);
	if (h == EV_EIO)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read '%s/head'", r->path);
	r->have_head = (h == 0);
	if (r->nseg == 0)
		return ev_seterr(err, EV_EDATA, "log '%s' has no segments",
				 r->path);
	if (r->have_head) {
		/* segments past the head's are not published yet */
		while (r->nseg > 0 && r->segs[r->nseg - 1] > r->head.seg_base)
			r->nseg--;
		if (r->nseg == 0 || r->segs[r->nseg - 1] != r->head.seg_base)
			return ev_seterr(err, EV_EDATA,
					 "damaged data in '%s': head names "
					 "segment %020llu, which is missing",
					 r->path,
					 (unsigned long long)r->head.seg_base);
		r->end = r->head.next;
	}
	r->first = r->segs[0];
	return 0;
}

/* Without a head: find the end by scanning the last segment. */
static int scan_end(struct ev_reader *r, struct ev_error *err)
{
	struct ev_batchhdr h;
	const char *why;
	int rr;

	rr = open_seg(r, r->nseg - 1, err);
	if (rr != 0)
		return rr;
	while (r->pos < r->limit) {
		rr = ev_segment_read_batch(r->fd, r->pos, r->limit, r->salt, &h,
					   &r->stored, &why);
		if (rr == EV_EIO)
			return ev_seterr(err, EV_EIO, "cannot read '%s': %s",
					 r->path, why);
		if (rr != 0 || h.base != r->next)
			break;
		r->pos += EV_BATCHHDR_SIZE + h.stored_len;
		r->next = h.base + h.count;
	}
	r->end = r->next;
	return 0;
}

static int reader_new(struct ev_reader **out, struct ev_error *err)
{
	struct ev_reader *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	r->fd = -1;
	r->dirfd = -1;
	r->skip_time = EV_TIME_NONE;
	/* a second thread only where there is a second processor */
	r->pf.want_thr = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? RA_THREADS : 1;
	r->codec = ev_codec_new();
	if (r->codec == NULL) {
		free(r);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	*out = r;
	return 0;
}

int ev_reader_open(struct ev_reader **out, struct ev_log *log,
		   struct ev_error *err)
{
	struct ev_reader *r;
	int rr;

	if ((rr = reader_new(&r, err)) != 0)
		return rr;
	r->log = log;
	r->notice = log->notice;
	r->nctx = log->notice_ctx;
	r->dirfd = log->dirfd;
	r->path = strdup(log->path);
	memcpy(r->id_hex, log->id_hex, 33);
	if (r->path == NULL) {
		rr = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	rr = load_segments(r, err);
	if (rr == 0 && !r->have_head)
		rr = scan_end(r, err);
	if (rr == 0)
		rr = open_seg(r, 0, err);
	if (rr != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	ev_reader_free(r);
	return rr;
}

int ev_reader_open_segment(struct ev_reader **out, const char *path,
			   struct ev_error *err)
{
	struct ev_reader *r;
	struct stat st;
	int rr;

	if (stat(path, &st) != 0)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open '%s'", path);
	if ((rr = reader_new(&r, err)) != 0)
		return rr;
	r->path = strdup(path);
	r->nseg = 1;
	r->segs = calloc(1, sizeof(uint64_t));
	if (r->path == NULL || r->segs == NULL) {
		rr = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	rr = open_seg(r, 0, err);
	if (rr != 0)
		goto fail;
	r->segs[0] = r->seg_base;
	r->first = r->seg_base;
	/* find the end */
	{
		struct ev_batchhdr h;
		const char *why;
		uint64_t pos = r->pos, next = r->next;
		while (pos < r->limit) {
			if (ev_segment_read_batch(r->fd, pos, r->limit, r->salt,
						  &h, NULL, &why) != 0 ||
			    h.base != next)
				break;
			pos += EV_BATCHHDR_SIZE + h.stored_len;
			next = h.base + h.count;
		}
		r->end = next;
	}
	*out = r;
	return 0;
fail:
	ev_reader_free(r);
	return rr;
}

int ev_reader_open_archive(struct ev_reader **out, const char *path,
			   struct ev_error *err)
{
	struct ev_reader *r;
	const uint64_t *bases;
	size_t n;
	int rr;

	if ((rr = reader_new(&r, err)) != 0)
		return rr;
	if ((r->path = strdup(path)) == NULL) {
		rr = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	if ((rr = ev_arcsrc_open(&r->arc, path, err)) != 0)
		goto fail;
	memcpy(r->id_hex, ev_arcsrc_log(r->arc)->id_hex, 33);
	n = ev_arcsrc_segments(r->arc, &bases);
	r->have_head = ev_arcsrc_head(r->arc, &r->head);
	if (r->have_head)
		while (n > 0 && bases[n - 1] > r->head.seg_base)
			n--;
	if (n == 0) {
		rr = ev_seterr(err, EV_EDATA, "log '%s' has no segments", path);
		goto fail;
	}
	if (r->have_head && bases[n - 1] != r->head.seg_base) {
		rr = ev_seterr(err, EV_EDATA,
			       "damaged data in '%s': head names segment "
			       "%020llu, which is missing",
			       path, (unsigned long long)r->head.seg_base);
		goto fail;
	}
	if ((r->segs = malloc(n * sizeof(uint64_t))) == NULL) {
		rr = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	memcpy(r->segs, bases, n * sizeof(uint64_t));
	r->nseg = n;
	r->first = r->segs[0];
	r->end = r->head.next;
	rr = r->have_head ? 0 : scan_end(r, err);
	if (rr == 0)
		rr = open_seg(r, 0, err);
	if (rr != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	ev_reader_free(r);
	return rr;
}

void ev_reader_set_readahead(struct ev_reader *r, int threads)
{
	if (!r->pf.started)
		r->pf.want_thr = threads < 1		? 0
				 : threads > RA_THREADS ? RA_THREADS
							: threads;
}

void ev_reader_set_hook(struct ev_reader *r, const struct ev_reader_hook *h)
{
	struct prefetch *pf = &r->pf;
	int k;

	if (pf->started) {
		pthread_mutex_lock(&pf->mu);
		while (pf->busy > 0)
			pthread_cond_wait(&pf->done, &pf->mu);
	}
	/* what the old hook made goes with it */
	for (k = 0; k < RA_DEPTH; k++) {
		if (pf->s[k].aux != NULL)
			r->hook.free_aux(r->hook.ctx, pf->s[k].aux);
		pf->s[k].aux = NULL;
		pf->s[k].aux_ok = 0;
	}
	if (r->aux != NULL)
		r->hook.free_aux(r->hook.ctx, r->aux);
	r->aux = NULL;
	r->aux_ok = 0;
	if (h != NULL)
		r->hook = *h;
	else
		memset(&r->hook, 0, sizeof(r->hook));
	if (pf->started)
		pthread_mutex_unlock(&pf->mu);
}

void *ev_reader_hook_aux(const struct ev_reader *r)
{
	return r->aux_ok ? r->aux : NULL;
}

int ev_reader_is_archive(const struct ev_reader *r)
{
	return r->arc != NULL;
}

int ev_reader_open_salvage(struct ev_reader **out, const char *path,
			   struct ev_error *err)
{
	struct ev_reader *r;
	int rr;

	if ((rr = reader_new(&r, err)) != 0)
		return rr;
	r->path = strdup(path);
	r->nseg = 1;
	r->segs = calloc(1, sizeof(uint64_t));
	if (r->path == NULL || r->segs == NULL) {
		rr = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	if ((rr = ev_salvage_open(&r->sv, path, err)) != 0)
		goto fail;
	r->first = r->next = r->seg_base = r->segs[0] = ev_salvage_first(r->sv);
	r->end = ev_salvage_end(r->sv);
	memcpy(r->id_hex, ev_salvage_log_id(r->sv), 33);
	*out = r;
	return 0;
fail:
	ev_reader_free(r);
	return rr;
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

/*
 * The spare batch: the batch a reader freed after ev_reader_keep_batch()
 * had decompressed last, kept by its log for the next reader that reads
 * the same batch (the same segment, salt, position and offsets), which
 * takes it rather than read and decompress it again.  The reader that
 * probes for a type's first event before the read proper gives it.
 */
struct ev_spare {
	uint64_t seg, salt, pos;
	struct ev_batchhdr bh;
	struct ev_buf raw;
};

void ev_reader_keep_batch(struct ev_reader *r)
{
	r->keep_batch = 1;
}

static void spare_free(struct ev_spare *sp)
{
	if (sp != NULL) {
		ev_buf_free(&sp->raw);
		free(sp);
	}
}

void ev_log_spare_free(struct ev_log *log)
{
	spare_free(__atomic_exchange_n(&log->spare, NULL, __ATOMIC_ACQ_REL));
}

static void spare_give(struct ev_reader *r)
{
	struct ev_spare *sp;

	if (r->log == NULL || r->sv != NULL || r->arc != NULL ||
	    !r->raw_known || r->raw.len == 0 ||
	    (sp = calloc(1, sizeof(*sp))) == NULL)
		return;
	sp->seg = r->raw_seg;
	sp->salt = r->raw_salt;
	sp->pos = r->raw_pos;
	sp->bh = r->raw_bh;
	sp->raw = r->raw;
	memset(&r->raw, 0, sizeof(r->raw));
	r->raw_known = 0;
	spare_free(__atomic_exchange_n(&r->log->spare, sp, __ATOMIC_ACQ_REL));
}

/* Take the log's spare batch when it is the batch at r->pos that the
 * reader would read whole: 1 when r->bh and r->raw now hold it. */
static int spare_take(struct ev_reader *r)
{
	struct ev_spare *sp, *none = NULL;
	struct ev_buf tmp;
	int use, ahead;

	if (r->log == NULL || r->sv != NULL || r->arc != NULL ||
	    __atomic_load_n(&r->log->spare, __ATOMIC_RELAXED) == NULL ||
	    (sp = __atomic_exchange_n(&r->log->spare, NULL,
				      __ATOMIC_ACQ_REL)) == NULL)
		return 0;
	use = sp->seg == r->seg_base && sp->salt == r->salt &&
	      sp->pos == r->pos && sp->bh.base == r->next &&
	      sp->pos < r->limit &&
	      r->limit - sp->pos >= EV_BATCHHDR_SIZE + sp->bh.stored_len &&
	      r->skip_to < sp->bh.base + sp->bh.count &&
	      (r->skip_time == EV_TIME_NONE ||
	       sp->bh.max_time >= r->skip_time) &&
	      !can_skip(r, r->salt, r->pos, &sp->bh);
	if (!use) {
		/* kept while the read may still come to it */
		ahead = sp->seg > r->seg_base ||
			(sp->seg == r->seg_base && sp->salt == r->salt &&
			 sp->pos > r->pos);
		if (!ahead ||
		    !__atomic_compare_exchange_n(&r->log->spare, &none, sp, 0,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			spare_free(sp);
		return 0;
	}
	r->bh = sp->bh;
	tmp = r->raw;
	r->raw = sp->raw;
	sp->raw = tmp;
	spare_free(sp);
	return 1;
}

/* The same, for a read-ahead thread about to read the batch of slot s
 * (its header checks out and is the spare's): 1 when s->bh and s->raw
 * now hold it. */
static int ring_spare(struct ev_reader *r, struct ra_slot *s)
{
	struct prefetch *pf = &r->pf;
	struct ev_spare *sp, *none = NULL;
	struct ev_batchhdr h;
	struct ev_buf tmp;
	const char *why;

	if (r->log == NULL || r->sv != NULL || r->arc != NULL ||
	    __atomic_load_n(&r->log->spare, __ATOMIC_RELAXED) == NULL ||
	    ev_segment_read_batch(pf->fd, s->pos, s->limit, pf->salt, &h, NULL,
				  &why) != 0 ||
	    (sp = __atomic_exchange_n(&r->log->spare, NULL,
				      __ATOMIC_ACQ_REL)) == NULL)
		return 0;
	if (sp->seg != pf->seg || sp->salt != pf->salt || sp->pos != s->pos ||
	    sp->bh.base != h.base || sp->bh.count != h.count ||
	    sp->bh.stored_len != h.stored_len || sp->bh.raw_len != h.raw_len ||
	    sp->bh.payload_crc != h.payload_crc || ev_batch_is_gap(&h)) {
		/* not this one: kept for a batch further on */
		if (!(sp->seg > pf->seg ||
		      (sp->seg == pf->seg && sp->salt == pf->salt &&
		       sp->pos > s->pos)) ||
		    !__atomic_compare_exchange_n(&r->log->spare, &none, sp, 0,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			spare_free(sp);
		return 0;
	}
	s->bh = h;
	tmp = s->raw;
	s->raw = sp->raw;
	sp->raw = tmp;
	spare_free(sp);
	return 1;
}

void ev_reader_free(struct ev_reader *r)
{
	if (r == NULL)
		return;
	if (r->keep_batch)
		spare_give(r);
	ev_salvage_free(r->sv);
	close_seg(r);
	ev_arcsrc_free(r->arc);
	prefetch_free(r);
	if (r->aux != NULL)
		r->hook.free_aux(r->hook.ctx, r->aux);
	free(r->segs);
	free(r->path);
	ev_buf_free(&r->ix);
	ev_buf_free(&r->six);
	ev_skip_free(r->skip);
	ev_buf_free(&r->stored);
	ev_buf_free(&r->raw);
	ev_codec_free(r->codec);
	free(r);
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
	return seg_damage(r, r->next, r->pos, why, err);
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
	prefetch_cancel(r);
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
	prefetch_cancel(r);
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
				return seg_damage(
					r, r->next, r->pos,
					"next segment does not continue "
					"the offsets",
					err);
			rr = open_seg(r, k, err);
			if (rr == EV_ENOENT && r->log != NULL) {
				/* trimmed since we listed the segments */
				if ((rr = relist(r, err)) != 0)
					return rr;
				if (r->next < r->first)
					return trimmed(r, r->next, err);
				rr = seg_at(r, r->next, &k)
					     ? open_seg(r, k, err)
					     : seg_damage(r, r->next, r->pos,
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
		if ((!r->pf.started || !r->pf.active) && spare_take(r)) {
			header_only = 0;
			goto loaded;
		}
		/* a read that skips has the threads from its first batch on:
		 * the batches it wants may be few and far apart, and the
		 * first one is often a while in coming */
		if (r->skip != NULL && !r->random && !r->pf.started)
			prefetch_start(r, r->pos);
		if (prefetch_take(r)) {
			if (r->took_skip) {
				/* a run of batches passed by */
				r->pos = r->run_end;
				r->next = r->run_next;
				r->skipped += r->run_n;
				prefetch_start(r, r->pos);
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
			return seg_damage(
				r, r->next, r->pos,
				"batch offset does not continue the log", err);
		header_only = r->skip_to >= r->bh.base + r->bh.count ||
			      (r->skip_time != EV_TIME_NONE &&
			       !ev_batch_is_gap(&r->bh) &&
			       r->bh.max_time < r->skip_time);
		if (!header_only && can_skip(r, r->salt, r->pos, &r->bh)) {
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
					       ? seg_damage(r, r->next, r->pos,
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
				prefetch_start(r, r->pos);
			continue;
		}
		if (ev_batch_is_gap(&r->bh)) {
			gap_passed(r);
			if (!r->random)
				prefetch_start(r, r->pos);
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
			prefetch_start(r, r->pos);
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
					return seg_damage(
						r, r->roff, r->bh_pos,
						"batch payload has bytes "
						"after its last record",
						err);
				continue;
			}
			if (ev_payload_next(&r->rp, r->rend, &p, &n) != 0)
				return seg_damage(r, r->roff, r->bh_pos,
						  "record framing is damaged",
						  err);
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

/* ------------------------------------------------------------ seeking */

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
		prefetch_cancel(r);
		r->in_batch = 0;
		r->rp = r->rend = NULL;
		r->pos = EV_SEGHDR_SIZE;
		r->next = r->seg_base;
	} else if (r->log != NULL || r->arc != NULL || r->fd < 0) {
		rr = open_seg(r, i, err);
		if (rr != 0)
			return rr;
	} else {
		close_seg(r);
		rr = open_seg(r, 0, err);
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
				return seg_damage(r, o, r->bh_pos,
						  "record framing is damaged",
						  err);
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
			return seg_damage(r, o, r->raw_pos,
					  "record framing is damaged", err);
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
		spare_give(r);
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
	rr = open_seg(r, i, err);
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
