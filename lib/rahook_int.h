/*
 * rahook_int.h - work on a reader's read-ahead threads for the reader's
 * caller: the hook of reader_ahead.c, and what scan.c does with it (upcasting
 * by the plans, with an upcaster per thread: upcast.c).
 */
#ifndef EVLOG_RAHOOK_INT_H
#define EVLOG_RAHOOK_INT_H

#include "evlog_private.h"

/* The most read-ahead threads a reader has (reader_int.h's RA_THREADS). */
#define EV_RA_MAX_THREADS 4

/*
 * reader_ahead.c: what the read-ahead threads do with each batch they read
 * ahead, for the reader's caller (scan.c upcasts there).  batch() runs on
 * thread k (0 .. EV_RA_MAX_THREADS - 1), at most one call per thread at
 * a time, with the batch's header and its payload (raw, n bytes: the
 * bh->count records as ev_payload_next() reads them); *aux is the slot
 * of the ring's (NULL at first, then what batch() made of an earlier
 * batch).  It returns the bytes *aux holds, counted in the ring's
 * bound, or (size_t)-1 when it did nothing.  free_aux() frees an aux.
 */
struct ev_reader_hook {
	size_t (*batch)(void *ctx, int k, const struct ev_batchhdr *bh,
			const uint8_t *raw, size_t n, void **aux);
	void (*free_aux)(void *ctx, void *aux);
	void *ctx;
};
/* Set the hook (NULL: none): waits for the threads to finish what they
 * are on, and frees what the old hook made. */
void ev_reader_set_hook(struct ev_reader *r, const struct ev_reader_hook *h);
/* What the hook made of the batch of the record ev_reader_next() gave
 * last, or NULL (the caller's thread read that batch: no hook ran). */
void *ev_reader_hook_aux(const struct ev_reader *r);

/*
 * upcast.c: an upcaster for another thread (a reader's read-ahead
 * thread: scan.c) that upcasts by u's plans only: u's set, read only (u
 * outlives it), and the rest its own; ev_upcaster_free() frees it.
 * ev_upcaster_append() then upcasts rec as ev_upcaster_apply() would,
 * when a plan does it (upcast_plan.c), the record it becomes appended
 * to out: 1 (one record), 0 (dropped), EV_UPCAST_AS_IS (no step for it:
 * it stays as stored, ev_upcaster_wants() would say 0), or
 * EV_UPCAST_GIVE_UP (no plan: a Lua step, a split, a failure, damage;
 * the caller's upcaster is to do it, out as it was).
 */
#define EV_UPCAST_GIVE_UP (-1000)
#define EV_UPCAST_AS_IS (-1001)
struct ev_upcaster *ev_upcaster_worker(const struct ev_upcaster *u);
int ev_upcaster_append(struct ev_upcaster *u, struct ev_buf *out,
		       const uint8_t *rec, size_t n);
/*
 * The same for the declarative steps of rec's chain that come before a
 * Lua step (h: what ev_upcaster_peek() found of rec): 1 with the record
 * they make, at the Lua step's version, appended to out, which
 * ev_upcaster_apply() then upcasts as it would rec; 0 when there are
 * none or a plan cannot do them (out as it was).  scan.c runs them on
 * the scan's thread, off the thread of the Lua steps.
 */
int ev_upcaster_prefix(struct ev_upcaster *u, struct ev_buf *out,
		       const uint8_t *rec, size_t n,
		       const struct ev_upcast_hint *h);

#endif
