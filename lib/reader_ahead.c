/*
 * reader_ahead.c - the batches a reader takes rather than reads itself:
 * the read-ahead ring, and the spare batch (below) a log keeps between
 * readers; with the summary lookups the threads use.
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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "reader_int.h"

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
int ev_reader_can_skip(const struct ev_reader *r, uint64_t salt, uint64_t pos,
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
		    ev_reader_can_skip(r, pf->salt, pos, &s->bh)) {
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
			       ev_reader_can_skip(r, pf->salt, s->run_end,
						  &h2)) {
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
 * the ring; nothing is claimed until ev_prefetch_start. */
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
void ev_prefetch_cancel(struct ev_reader *r)
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

void ev_prefetch_free(struct ev_reader *r)
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
void ev_prefetch_start(struct ev_reader *r, uint64_t pos)
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
int ev_prefetch_take(struct ev_reader *r)
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

void ev_spare_give(struct ev_reader *r)
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
int ev_spare_take(struct ev_reader *r)
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
	      !ev_reader_can_skip(r, r->salt, r->pos, &sp->bh);
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
