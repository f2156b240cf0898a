/*
 * state_int.h - internals of struct ev_state shared by state.c (the
 * state: its overlay, lookups, loading and replay) and snapshot.c (the
 * snapshot files in LOG/state/, read and written).  state.c calls
 * snapshot.c, never the other way round.
 */
#ifndef EVLOG_STATE_INT_H
#define EVLOG_STATE_INT_H

#include <pthread.h>

#include "evlog_private.h"

/* overlay entries; a stream's is one cache line (the table is aligned),
 * with the name in it when it is short, so that a lookup in a large
 * table costs one miss, not two */
#define S_PRE 16
struct srec {
	uint64_t h; /* 0 = empty slot */
	uint32_t name_off, name_len;
	uint64_t last_version, last_offset, first_offset, count;
	char pre[S_PRE]; /* the name's first bytes */
};

struct idrec {
	uint64_t h; /* 0 = empty slot */
	uint64_t off;
};

/*
 * A snapshot file (evlog(5) STATE): a header with its own CRC, a table
 * sorted by hash, for streams the names blob, and one CRC-32C per page
 * of entries (and the names they point to).  A writer reads it whole
 * and checks every page; a reader after one stream reads and checks
 * only the pages its search touches.
 */
#define SNAP_HDR 64
/* a streams entry: h, last_version, last_offset, first_offset, count,
 * name_off u32, name_len u32 */
#define S_ENT 48
#define I_ENT 16  /* h, offset */
#define S_PAGE 64 /* entries per page */
#define I_PAGE 256
#define SNAP_VERSION 2
#define NSLOT 8

struct slot { /* one page, read and checked */
	uint64_t page;
	int used;
	struct ev_buf b;   /* its entries, then its names */
	uint64_t names_lo; /* blob offset of b's names */
	size_t ent_len;
};

struct snap {
	struct ev_buf b; /* whole: the file */
	const uint8_t *ent;
	const uint8_t *names;
	uint64_t count, names_len;
	uint32_t page;
	size_t esz;
	int streams;
	uint64_t size;	  /* the file's, as checked */
	uint64_t covered; /* the offsets its entries may name are below */
	/* by page: the file, and the pages read */
	int lazy, fd, bad;
	uint64_t names_at, pcrc_at;
	struct slot slot[NSLOT];
	unsigned next_slot;
};

struct ev_state {
	struct ev_log *log;
	/* the overlay: streams and ids since the snapshot */
	struct srec *s;
	size_t s_cap, s_n;
	char *names;
	size_t names_len, names_cap;
	struct idrec *ids;
	size_t i_cap, i_n;
	/* the snapshot */
	struct snap ss, is;
	uint64_t window;       /* 0: no dedupe */
	uint64_t covered;      /* reflects the events before this offset */
	uint64_t snap_covered; /* ... and the snapshot this */
	uint64_t replayed;     /* events read from the log into it */
	/* the ids table sized ahead by ev_state_reserve_ids(), set aside
	 * while a thread faults its pages in (pf_done once it has), and
	 * put in use by the next insert after that (state.c) */
	struct idrec *pend;
	size_t pend_cap;
	pthread_t pf;
	int pf_on, pf_done, pf_stop; /* pf_stop: reset() stops the thread */
};

/*
 * The slot where an entry of hash h is looked for first in a table of
 * cap slots (a power of two, at least 2): the hash's top bits, so that
 * the table holds its entries nearly in the order of their hashes, the
 * snapshots' order (linear probing moves an entry only a few slots on,
 * or round to the start).  Writing a snapshot is then a pass over the
 * table, not a sort (sort_probed() in snapshot.c).
 */
static inline size_t ev_home(uint64_t h, size_t cap)
{
	return (size_t)(h >> (64 - __builtin_ctzll((unsigned long long)cap)));
}

/* The n <= S_PRE bytes of a and b equal?  From 8 bytes on (most stream
 * names), two loads of 8 that overlap, inside both, and no call. */
static inline int pre_equal(const char *a, const char *b, size_t n)
{
	uint64_t x0, x1, y0, y1;

	if (n < 8)
		return memcmp(a, b, n) == 0;
	memcpy(&x0, a, 8);
	memcpy(&y0, b, 8);
	memcpy(&x1, a + n - 8, 8);
	memcpy(&y1, b + n - 8, 8);
	return ((x0 ^ y0) | (x1 ^ y1)) == 0;
}

static inline struct srec *s_find(struct ev_state *st, const char *name,
				  size_t n, uint64_t h)
{
	size_t j;

	if (st->s_cap == 0)
		return NULL;
	for (j = ev_home(h, st->s_cap); st->s[j].h != 0;
	     j = (j + 1) & (st->s_cap - 1))
		if (st->s[j].h == h && st->s[j].name_len == n &&
		    (n <= S_PRE ? pre_equal(st->s[j].pre, name, n)
				: memcmp(st->names + st->s[j].name_off, name,
					 n) == 0))
			return &st->s[j];
	return NULL;
}

static inline uint64_t oldest_id(const struct ev_state *st)
{
	return st->covered > st->window ? st->covered - st->window : 0;
}

/* snapshot.c: the snapshot files, read by page or whole, and written */
int ev_snap_load(struct ev_log *log, int dirfd, const char *name, int streams,
		 int lazy, uint64_t first, uint64_t end, struct snap *sn,
		 uint64_t *covered);
void ev_snap_free(struct snap *sn);
/* every entry read and checked: 0, or -1 when a page is damaged */
int ev_snap_whole(struct snap *sn);
/* the index of the entry with hash h, or sn->count */
uint64_t ev_snap_find(struct snap *sn, uint64_t h);
const uint8_t *ev_snap_ent(struct snap *sn, uint64_t k, const uint8_t **names);
const uint8_t *ev_snap_stream(struct ev_state *st, const char *name, size_t n,
			      uint64_t h);
/* a streams table of st (snapshot and overlay merged) into b */
int ev_build_streams(struct ev_state *st, struct ev_buf *b);

#endif
