/*
 * corrindex_int.h - the writer's side of the correlation index
 * (corrindex.c, evlog(5) CORRELATION INDEX), for writer.c: the entries
 * of the batches a writer appends, collected as it appends them, and
 * written as runs when it closes, so that it never reads them back.
 */
#ifndef EVLOG_CORRINDEX_INT_H
#define EVLOG_CORRINDEX_INT_H

#include "evlog_private.h"

struct ev_cixw;

/* NULL out of memory (the index is then left to readers). */
struct ev_cixw *ev_cixw_new(struct ev_log *log);
/* The records of a batch appended at base: its payload, framed. */
void ev_cixw_batch(struct ev_cixw *cw, uint64_t base, const uint8_t *payload,
		   size_t len, uint32_t count);
/* Write what was collected, then index what the index does not cover
 * (other writers' batches); free cw.  0, or <0 (a cache: the caller
 * only says so). */
int ev_cixw_finish(struct ev_cixw *cw, struct ev_error *err);
/* Free cw, writing nothing (a writer that failed). */
void ev_cixw_free(struct ev_cixw *cw);

/*
 * For trace.c: the first offset of an event whose id is keys[i], for each
 * of the n keys, into offs[i] (UINT64_MAX: none), flags as for
 * ev_corrindex_find().  Without an index to look in (log NULL: an archive
 * or a segment file, or EV_CIX_IGNORE) one scan serves every key.  0, or
 * <0.
 */
int ev_corrindex_first_ids(struct ev_log *log, struct ev_reader *rd,
			   const struct ev_str *keys, size_t n, int flags,
			   uint64_t *offs, struct ev_error *err);

#endif
