/*
 * state.c - struct ev_state: what writers must know to append to streams
 * and to drop duplicates (evlog(5) STATE): each stream's last version and
 * offset, and the ids of the last dedupe-window events.
 *
 * The state is derived from the log.  Snapshots in LOG/state/ (written
 * atomically now and then) say what it was up to some offset: tables
 * sorted by a 64-bit hash, read whole, checked by CRC-32C and searched
 * in place, so that opening a log of any size costs one read of each
 * file and no table building.  What changed since the snapshot (replayed
 * from the log, or appended by this writer) sits in memory, in small
 * open-addressing overlays that are looked at first.  A missing, damaged
 * or stale snapshot only means a longer replay: the log is the truth.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog_private.h"

/* overlay entries */
struct srec {
	uint64_t h;		/* 0 = empty slot */
	uint32_t name_off, name_len;
	uint64_t last_version, last_offset, first_offset, count;
};

struct idrec {
	uint64_t h;		/* 0 = empty slot */
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
#define S_ENT 48		/* h, last_version, last_offset, first_offset,
				 * count, name_off u32, name_len u32 */
#define I_ENT 16		/* h, offset */
#define S_PAGE 64		/* entries per page */
#define I_PAGE 256
#define SNAP_VERSION 2
#define NSLOT 8

struct slot {			/* one page, read and checked */
	uint64_t page;
	int used;
	struct ev_buf b;	/* its entries, then its names */
	uint64_t names_lo;	/* blob offset of b's names */
	size_t ent_len;
};

struct snap {
	struct ev_buf b;	/* whole: the file */
	const uint8_t *ent;
	const uint8_t *names;
	uint64_t count, names_len;
	uint32_t page;
	size_t esz;
	int streams;
	uint64_t size;		/* the file's, as checked */
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
	uint64_t window;	/* 0: no dedupe */
	uint64_t covered;	/* reflects the events before this offset */
	uint64_t snap_covered;	/* ... and the snapshot this */
};

static const uint8_t s_magic[8] = {'E', 'V', 'S', 'T', 'R', 'E', 'A', 'M'};
static const uint8_t i_magic[8] = {'E', 'V', 'I', 'D', 'S', 'N', 'A', 'P'};

uint64_t ev_hash64(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull), w;

	/* little-endian loads: snapshots are sorted by this hash, so it
	 * must not depend on the machine */
	while (n >= 8) {
		w = ev_get64(s);
		h ^= w * 0xff51afd7ed558ccdull;
		h = ((h << 27) | (h >> 37)) * 0xc4ceb9fe1a85ec53ull;
		s += 8;
		n -= 8;
	}
	w = 0;
	while (n > 0)
		w = (w << 8) | s[--n];
	h ^= w * 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h | 1; /* never 0, the empty slot */
}

/* ------------------------------------------------------------ snapshots */

/* The names range [lo, hi) of the n entries at pe; -1 when it is not
 * one well-formed range inside the blob. */
static int page_names(const struct snap *sn, const uint8_t *pe, size_t n,
		      uint64_t *lo, uint64_t *hi)
{
	const uint8_t *last;

	*lo = *hi = 0;
	if (!sn->streams || n == 0)
		return 0;
	last = pe + (n - 1) * S_ENT;
	*lo = ev_get32(pe + 40);
	*hi = (uint64_t)ev_get32(last + 40) + ev_get32(last + 44);
	return *lo <= *hi && *hi <= sn->names_len ? 0 : -1;
}

/* Check a page: its CRC over its entries and their names (nm: the
 * names [lo, hi)), hashes in order and not 0, each name inside. */
static int page_check(const struct snap *sn, const uint8_t *pe, size_t n,
		      const uint8_t *nm, uint64_t lo, uint64_t hi, uint32_t want)
{
	uint32_t c = ev_crc32c(0, pe, n * sn->esz);
	uint64_t prev = 0, h, off, len;
	size_t i;

	if (sn->streams)
		c = ev_crc32c(c, nm, hi - lo);
	if (c != want)
		return -1;
	for (i = 0; i < n; i++) {
		const uint8_t *e = pe + i * sn->esz;
		h = ev_get64(e);
		if (h == 0 || h < prev)
			return -1;
		prev = h;
		if (!sn->streams)
			continue;
		off = ev_get32(e + 40);
		len = ev_get32(e + 44);
		if (len == 0 || off < lo || off + len > hi)
			return -1;
	}
	return 0;
}

static size_t page_count(const struct snap *sn, uint64_t p)
{
	uint64_t left = sn->count - p * sn->page;

	return left < sn->page ? (size_t)left : sn->page;
}

/* Read and check page p into a slot (reading by page). */
static struct slot *page_get(struct snap *sn, uint64_t p)
{
	struct slot *sl;
	uint64_t lo, hi;
	uint8_t cb[4];
	size_t n, k;

	for (k = 0; k < NSLOT; k++)
		if (sn->slot[k].used && sn->slot[k].page == p)
			return &sn->slot[k];
	if (sn->bad)
		return NULL;
	sl = &sn->slot[sn->next_slot++ % NSLOT];
	sl->used = 0;
	n = page_count(sn, p);
	sl->ent_len = n * sn->esz;
	if (ev_buf_reserve(&sl->b, sl->ent_len) != 0 ||
	    ev_read_full(sn->fd, sl->b.p, sl->ent_len,
			 SNAP_HDR + p * sn->page * sn->esz) != 1 ||
	    page_names(sn, sl->b.p, n, &lo, &hi) != 0 ||
	    hi - lo > ((uint64_t)1 << 30) ||
	    ev_buf_reserve(&sl->b, sl->ent_len + (hi - lo)) != 0 ||
	    (hi > lo && ev_read_full(sn->fd, sl->b.p + sl->ent_len, hi - lo,
				     sn->names_at + lo) != 1) ||
	    ev_read_full(sn->fd, cb, 4, sn->pcrc_at + 4 * p) != 1 ||
	    page_check(sn, sl->b.p, n, sl->b.p + sl->ent_len, lo, hi,
		       ev_get32(cb)) != 0) {
		sn->bad = 1;
		return NULL;
	}
	sl->page = p;
	sl->names_lo = lo;
	sl->used = 1;
	return sl;
}

/* Entry k, and for streams its name; NULL (sn->bad set) when the page
 * it is in does not check out. */
static const uint8_t *snap_ent(struct snap *sn, uint64_t k,
			       const uint8_t **name)
{
	const uint8_t *e;
	struct slot *sl;

	if (!sn->lazy) {
		e = sn->ent + k * sn->esz;
		if (name != NULL)
			*name = sn->names + ev_get32(e + 40);
		return e;
	}
	sl = page_get(sn, k / sn->page);
	if (sl == NULL)
		return NULL;
	e = sl->b.p + (k % sn->page) * sn->esz;
	if (name != NULL)
		*name = sl->b.p + sl->ent_len + (ev_get32(e + 40) - sl->names_lo);
	return e;
}

static uint64_t ent_hash(struct snap *sn, uint64_t k)
{
	const uint8_t *e = snap_ent(sn, k, NULL);

	return e != NULL ? ev_get64(e) : 0;
}

/*
 * The first entry whose hash is >= h, in a table sorted by hash:
 * interpolation while the hashes look uniform (they are, unless the file
 * is hostile), then bisection, so a lookup costs a few cache misses (or
 * page reads) in a table of any size and never more than a binary
 * search.  A page that does not check out ends it with sn->bad set.
 */
static uint64_t snap_find(struct snap *sn, uint64_t h)
{
	uint64_t lo = 0, hi = sn->count, mid, hl, hh, hm;
	int tries = 0;

	while (lo < hi && !sn->bad) {
		hl = ent_hash(sn, lo);
		hh = ent_hash(sn, hi - 1);
		if (sn->bad)
			break;
		if (h <= hl)
			return lo;
		if (h > hh)
			return hi;
		if (tries++ < 6 && hh > hl)
			mid = lo + (uint64_t)((unsigned __int128)(h - hl) * (hi - 1 - lo) /
					      (hh - hl));
		else
			mid = lo + (hi - lo) / 2;
		if (mid <= lo)
			mid = lo + 1;
		if (mid >= hi)
			mid = hi - 1;
		hm = ent_hash(sn, mid);
		if (hm < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int read_file(int dirfd, const char *name, struct ev_buf *b)
{
	struct stat st;
	int fd = ev_openat(dirfd, name, O_RDONLY, 0), r;

	if (fd < 0)
		return -1;
	b->len = 0;
	if (fstat(fd, &st) != 0 || st.st_size < SNAP_HDR ||
	    st.st_size > (off_t)1 << 40 ||
	    ev_buf_reserve(b, (size_t)st.st_size) != 0) {
		close(fd);
		return -1;
	}
	r = ev_read_full(fd, b->p, (size_t)st.st_size, 0);
	close(fd);
	if (r != 1)
		return -1;
	b->len = (size_t)st.st_size;
	return 0;
}

/* Check a header against the log and the file's size; fills sn's
 * layout.  1 good, 0 not. */
static int snap_header_ok(struct snap *sn, struct ev_log *log,
			  const uint8_t *p, uint64_t size, uint64_t first,
			  uint64_t end, uint64_t *covered)
{
	uint64_t count, names_len, npages;

	if (memcmp(p, sn->streams ? s_magic : i_magic, 8) != 0 ||
	    ev_get32(p + 8) != SNAP_VERSION ||
	    ev_get32(p + 60) != ev_crc32c(0, p, 60) ||
	    memcmp(p + 16, log->id, 16) != 0)
		return 0;
	sn->page = ev_get32(p + 12);
	count = ev_get64(p + 40);
	names_len = ev_get64(p + 48);
	*covered = ev_get64(p + 32);
	if (sn->page == 0 || sn->page > 65536 || count > size / sn->esz ||
	    names_len > size || (!sn->streams && names_len != 0))
		return 0;
	npages = (count + sn->page - 1) / sn->page;
	if (SNAP_HDR + count * sn->esz + names_len + 4 * npages != size)
		return 0;
	if (*covered > end || *covered < first)
		return 0; /* from a longer log (repaired), or trimmed past */
	sn->count = count;
	sn->size = size;
	sn->names_len = names_len;
	sn->names_at = SNAP_HDR + count * sn->esz;
	sn->pcrc_at = sn->names_at + names_len;
	return 1;
}

/*
 * Open a snapshot and check it: magic, version, header CRC, log id,
 * layout, and that what it covers lies within [first, end].  Read whole
 * (lazy 0), every page is checked now; by page (lazy 1), each page when
 * first used.  Returns 1 usable, 0 not.
 */
/* Check every page of a snapshot read whole; sets ent and names. */
static int check_all(struct snap *sn)
{
	uint64_t p, np, lo, hi;

	sn->ent = sn->b.p + SNAP_HDR;
	sn->names = sn->b.p + sn->names_at;
	np = (sn->count + sn->page - 1) / sn->page;
	for (p = 0; p < np; p++) {
		const uint8_t *pe = sn->ent + p * sn->page * sn->esz;
		size_t n = page_count(sn, p);
		if (page_names(sn, pe, n, &lo, &hi) != 0 ||
		    page_check(sn, pe, n, sn->names + lo, lo, hi,
			       ev_get32(sn->b.p + sn->pcrc_at + 4 * p)) != 0)
			return -1;
	}
	return 0;
}

static int snap_load(struct ev_log *log, int dirfd, const char *name,
		     int streams, int lazy, uint64_t first, uint64_t end,
		     struct snap *sn, uint64_t *covered)
{
	uint8_t hb[SNAP_HDR];
	struct stat st;

	sn->count = 0;
	sn->streams = streams;
	sn->esz = streams ? S_ENT : I_ENT;
	if (lazy) {
		sn->fd = ev_openat(dirfd, name, O_RDONLY, 0);
		if (sn->fd < 0)
			return 0;
		sn->lazy = 1;
		if (fstat(sn->fd, &st) != 0 || st.st_size < SNAP_HDR ||
		    ev_read_full(sn->fd, hb, SNAP_HDR, 0) != 1 ||
		    !snap_header_ok(sn, log, hb, (uint64_t)st.st_size, first, end,
				    covered)) {
			sn->count = 0;
			return 0;
		}
		return 1;
	}
	if (read_file(dirfd, name, &sn->b) != 0 ||
	    !snap_header_ok(sn, log, sn->b.p, sn->b.len, first, end, covered)) {
		sn->count = 0;
		return 0;
	}
	if (check_all(sn) != 0) {
		sn->count = 0;
		return 0;
	}
	return 1;
}

/* A snapshot read by page, read whole now and every page checked (to
 * merge it into a new one); -1 when a page does not check out. */
static int snap_whole(struct snap *sn)
{
	struct stat st;
	int k;

	if (!sn->lazy)
		return 0;
	if (sn->bad || fstat(sn->fd, &st) != 0 ||
	    (uint64_t)st.st_size != sn->size ||
	    ev_buf_reserve(&sn->b, (size_t)st.st_size) != 0 ||
	    ev_read_full(sn->fd, sn->b.p, (size_t)st.st_size, 0) != 1 ||
	    check_all(sn) != 0) {
		sn->bad = 1;
		return -1;
	}
	sn->b.len = (size_t)st.st_size;
	close(sn->fd);
	sn->fd = -1;
	sn->lazy = 0;
	for (k = 0; k < NSLOT; k++) {
		ev_buf_free(&sn->slot[k].b);
		sn->slot[k].used = 0;
	}
	return 0;
}

static void snap_free(struct snap *sn)
{
	int k;

	if (sn->lazy && sn->fd >= 0)
		close(sn->fd);
	for (k = 0; k < NSLOT; k++)
		ev_buf_free(&sn->slot[k].b);
	ev_buf_free(&sn->b);
	memset(sn, 0, sizeof(*sn));
}

/* A stream's entry in the snapshot, or NULL (then see ss.bad). */
static const uint8_t *snap_stream(struct ev_state *st, const char *name,
				  size_t n, uint64_t h)
{
	const uint8_t *e, *nm;
	uint64_t k;

	if (st->ss.count == 0)
		return NULL;
	for (k = snap_find(&st->ss, h); k < st->ss.count; k++) {
		e = snap_ent(&st->ss, k, &nm);
		if (e == NULL || ev_get64(e) != h)
			break;
		if (ev_get32(e + 44) == n && memcmp(nm, name, n) == 0)
			return e;
	}
	return NULL;
}

/* ------------------------------------------------------------ overlay */

static int s_grow(struct ev_state *st)
{
	size_t cap = st->s_cap ? st->s_cap * 2 : 1024, i, j;
	struct srec *ns = ev_zalloc(cap, sizeof(*ns));

	if (ns == NULL)
		return EV_ERR;
	for (i = 0; i < st->s_cap; i++) {
		if (st->s[i].h == 0)
			continue;
		for (j = st->s[i].h & (cap - 1); ns[j].h != 0; j = (j + 1) & (cap - 1))
			;
		ns[j] = st->s[i];
	}
	free(st->s);
	st->s = ns;
	st->s_cap = cap;
	return 0;
}

static struct srec *s_find(struct ev_state *st, const char *name, size_t n,
			   uint64_t h)
{
	size_t j;

	if (st->s_cap == 0)
		return NULL;
	for (j = h & (st->s_cap - 1); st->s[j].h != 0; j = (j + 1) & (st->s_cap - 1))
		if (st->s[j].h == h && st->s[j].name_len == n &&
		    memcmp(st->names + st->s[j].name_off, name, n) == 0)
			return &st->s[j];
	return NULL;
}

static struct srec *s_insert(struct ev_state *st, const char *name, size_t n,
			     uint64_t h)
{
	struct srec *r;
	size_t j;

	if ((st->s_n + 1) * 10 >= st->s_cap * 7 && s_grow(st) != 0)
		return NULL;
	if (st->names_len + n > st->names_cap) {
		size_t cap = st->names_cap ? st->names_cap * 2 : 65536;
		char *nn;
		while (cap < st->names_len + n)
			cap *= 2;
		if (cap > UINT32_MAX)
			return NULL;
		nn = realloc(st->names, cap);
		if (nn == NULL)
			return NULL;
		st->names = nn;
		st->names_cap = cap;
	}
	memcpy(st->names + st->names_len, name, n);
	for (j = h & (st->s_cap - 1); st->s[j].h != 0; j = (j + 1) & (st->s_cap - 1))
		;
	r = &st->s[j];
	memset(r, 0, sizeof(*r));
	r->h = h;
	r->name_off = (uint32_t)st->names_len;
	r->name_len = (uint32_t)n;
	r->first_offset = EV_NO_PREV;
	r->last_offset = EV_NO_PREV;
	st->names_len += n;
	st->s_n++;
	return r;
}

static uint64_t oldest_id(const struct ev_state *st)
{
	return st->covered > st->window ? st->covered - st->window : 0;
}

static int i_rebuild(struct ev_state *st, size_t cap)
{
	struct idrec *ni = ev_zalloc(cap, sizeof(*ni));
	uint64_t oldest = oldest_id(st);
	size_t i, j, n = 0;

	if (ni == NULL)
		return EV_ERR;
	for (i = 0; i < st->i_cap; i++) {
		if (st->ids[i].h == 0 || st->ids[i].off < oldest)
			continue; /* out of the window */
		for (j = st->ids[i].h & (cap - 1); ni[j].h != 0; j = (j + 1) & (cap - 1))
			;
		ni[j] = st->ids[i];
		n++;
	}
	free(st->ids);
	st->ids = ni;
	st->i_cap = cap;
	st->i_n = n;
	return 0;
}

static int i_insert(struct ev_state *st, uint64_t h, uint64_t off)
{
	size_t j;

	if ((st->i_n + 1) * 10 >= st->i_cap * 7) {
		/* first drop what left the window; grow only if still full */
		size_t cap = st->i_cap ? st->i_cap : 4096;
		uint64_t live = st->i_n;
		if (st->window < live)
			live = st->window;
		while ((live + 1) * 10 >= cap * 5)
			cap *= 2;
		if (i_rebuild(st, cap) != 0)
			return EV_ERR;
	}
	for (j = h & (st->i_cap - 1); st->ids[j].h != 0; j = (j + 1) & (st->i_cap - 1))
		;
	st->ids[j].h = h;
	st->ids[j].off = off;
	st->i_n++;
	return 0;
}

/* ------------------------------------------------------------ lookups */

void ev_state_prefetch(const struct ev_state *st, uint64_t sh, uint64_t ih)
{
	if (sh != 0 && st->s_cap > 0)
		__builtin_prefetch(&st->s[sh & (st->s_cap - 1)]);
	if (ih != 0 && st->i_cap > 0)
		__builtin_prefetch(&st->ids[ih & (st->i_cap - 1)]);
}

int ev_state_stream_h(struct ev_state *st, const char *name, size_t n,
		      uint64_t h, struct ev_sref *r)
{
	const uint8_t *e;

	r->ov = s_find(st, name, n, h);
	if (r->ov != NULL) {
		const struct srec *s = r->ov;
		r->exists = 1;
		r->last_version = s->last_version;
		r->last_offset = s->last_offset;
		r->first_offset = s->first_offset;
		r->count = s->count;
		return 1;
	}
	e = snap_stream(st, name, n, h);
	r->exists = e != NULL;
	r->last_version = e ? ev_get64(e + 8) : 0;
	r->last_offset = e ? ev_get64(e + 16) : EV_NO_PREV;
	r->first_offset = e ? ev_get64(e + 24) : EV_NO_PREV;
	r->count = e ? ev_get64(e + 32) : 0;
	return r->exists;
}

int ev_state_stream(struct ev_state *st, const char *name, size_t n,
		    struct ev_stream_info *out)
{
	struct ev_sref r;

	if (!ev_state_stream_h(st, name, n, ev_hash64(name, n), &r))
		return 0;
	out->name = name;
	out->name_len = n;
	out->last_version = r.last_version;
	out->last_offset = r.last_offset;
	out->first_offset = r.first_offset;
	out->count = r.count;
	return 1;
}

size_t ev_state_id_candidates_h(struct ev_state *st, uint64_t h, uint64_t *offs,
				size_t max)
{
	uint64_t oldest = oldest_id(st), k;
	size_t j, n = 0;

	if (st->window == 0)
		return 0;
	if (st->i_cap > 0)
		for (j = h & (st->i_cap - 1); st->ids[j].h != 0;
		     j = (j + 1) & (st->i_cap - 1))
			if (st->ids[j].h == h && st->ids[j].off >= oldest && n < max)
				offs[n++] = st->ids[j].off;
	if (st->is.count > 0)
		for (k = snap_find(&st->is, h); k < st->is.count && n < max;
		     k++) {
			const uint8_t *e = snap_ent(&st->is, k, NULL);
			if (e == NULL || ev_get64(e) != h)
				break;
			if (ev_get64(e + 8) >= oldest)
				offs[n++] = ev_get64(e + 8);
		}
	return n;
}

size_t ev_state_id_candidates(struct ev_state *st, const char *id, size_t n,
			      uint64_t *offs, size_t max)
{
	return ev_state_id_candidates_h(st, ev_hash64(id, n), offs, max);
}

/* ------------------------------------------------------------ applying */

int ev_state_apply_h(struct ev_state *st, const struct ev_sref *ref,
		     const char *name, size_t n, uint64_t sh, uint64_t ih,
		     uint64_t version, uint64_t offset)
{
	struct srec *r;

	if (st->window > 0 && i_insert(st, ih, offset) != 0)
		return EV_ERR;
	if (name != NULL) {
		r = ref->ov;
		if (r == NULL) {
			/* new to the overlay: from the snapshot, or new */
			if ((r = s_insert(st, name, n, sh)) == NULL)
				return EV_ERR;
			if (ref->exists) {
				r->first_offset = ref->first_offset;
				r->count = ref->count;
			}
		}
		r->last_version = version;
		r->last_offset = offset;
		if (r->first_offset == EV_NO_PREV)
			r->first_offset = offset;
		r->count++;
	}
	if (offset + 1 > st->covered)
		st->covered = offset + 1;
	return 0;
}

int ev_state_apply(struct ev_state *st, const struct ev_str *id,
		   const struct ev_str *stream, uint64_t version, uint64_t offset)
{
	struct ev_sref r;
	uint64_t sh = 0;

	memset(&r, 0, sizeof(r));
	if (stream->p != NULL) {
		sh = ev_hash64(stream->p, stream->n);
		ev_state_stream_h(st, stream->p, stream->n, sh, &r);
		/* an event without a version (older logs) is the next one */
		if (version == 0)
			version = r.last_version + 1;
	}
	return ev_state_apply_h(st, &r, stream->p, stream->n, sh,
				ev_hash64(id->p, id->n), version, offset);
}

/* Replay the events [st->covered, to) of the log. */
int ev_state_catch_up(struct ev_state *st, uint64_t to, struct ev_error *err)
{
	struct ev_reader *rd;
	struct ev_rec rec;
	struct ev_event ev;
	int r;

	if (st->covered >= to)
		return 0;
	r = ev_reader_open(&rd, st->log, err);
	if (r != 0)
		return r;
	if (st->covered < ev_reader_first_offset(rd))
		st->covered = ev_reader_first_offset(rd);
	r = ev_reader_seek(rd, st->covered, err);
	while (r == 0 && st->covered < to &&
	       (r = ev_reader_next(rd, &rec, err)) == 1) {
		r = ev_event_decode_head(rec.p, rec.n, &ev, err);
		if (r != 0)
			break;
		if (ev_state_apply(st, &ev.id, &ev.stream, ev.version,
				   rec.offset) != 0)
			r = ev_seterr(err, EV_ERR, "out of memory");
	}
	ev_reader_free(rd);
	if (r < 0)
		return r;
	/* a reader's end may be short of a writer's head: both are fine */
	return 0;
}

/* ------------------------------------------------------------ loading */

static void reset(struct ev_state *st)
{
	free(st->s);
	free(st->names);
	free(st->ids);
	snap_free(&st->ss);
	snap_free(&st->is);
	st->s = NULL;
	st->names = NULL;
	st->ids = NULL;
	st->s_cap = st->s_n = st->names_len = st->names_cap = 0;
	st->i_cap = st->i_n = 0;
	st->covered = st->snap_covered = 0;
}

/* Read the snapshots; both must cover the same point, or neither is
 * used.  Returns 1 when they are in use. */
static int load_snaps(struct ev_state *st, uint64_t first, uint64_t end,
		      int base_ok, int lazy)
{
	uint64_t c1 = 0, c2 = 0;
	int dirfd, ok;

	dirfd = ev_openat(st->log->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	if (dirfd < 0)
		return 0;
	ok = snap_load(st->log, dirfd, "streams", 1, lazy, first, end, &st->ss,
		       &c1);
	if (ok && st->window > 0)
		ok = snap_load(st->log, dirfd, "ids", 0, lazy, first, end, &st->is,
			       &c2) &&
		     c2 == c1;
	if (!ok && base_ok) {
		snap_free(&st->ss);
		snap_free(&st->is);
		/* the base trim left: the streams as of the first offset */
		ok = snap_load(st->log, dirfd, "base", 1, lazy, first, first,
			       &st->ss, &c1);
		if (!ok)
			snap_free(&st->ss);
	}
	close(dirfd);
	if (!ok) {
		snap_free(&st->ss);
		snap_free(&st->is);
		return 0;
	}
	st->covered = st->snap_covered = c1;
	return 1;
}

static int state_new(struct ev_state **out, struct ev_log *log, int want_ids,
		     uint64_t *first, uint64_t *end, struct ev_error *err)
{
	struct ev_state *st = calloc(1, sizeof(*st));
	struct ev_reader *rd;
	int r;

	*out = NULL;
	if (st == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	st->log = log;
	st->window = want_ids ? log->cfg.dedupe_window : 0;
	r = ev_reader_open(&rd, log, err);
	if (r != 0) {
		free(st);
		return r;
	}
	*first = ev_reader_first_offset(rd);
	*end = ev_reader_end_offset(rd);
	ev_reader_free(rd);
	*out = st;
	return 0;
}

int ev_state_load(struct ev_state **out, struct ev_log *log, int want_ids,
		  struct ev_error *err)
{
	return ev_state_load_lazy(out, log, want_ids, 0, err);
}

int ev_state_load_lazy(struct ev_state **out, struct ev_log *log,
		       int want_ids, int lazy, struct ev_error *err)
{
	struct ev_state *st;
	uint64_t first, end;
	int r;

	r = state_new(&st, log, want_ids, &first, &end, err);
	if (r != 0)
		return r;
	if (!load_snaps(st, first, end, 1, lazy))
		st->covered = first;
	r = ev_state_catch_up(st, end, err);
	if (r != 0) {
		ev_state_free(st);
		return r;
	}
	*out = st;
	return 0;
}

void ev_state_free(struct ev_state *st)
{
	if (st == NULL)
		return;
	reset(st);
	free(st);
}

int ev_state_snapshot_status(struct ev_log *log, uint64_t end_at,
			     struct ev_error *err)
{
	struct ev_state *st;
	uint64_t first, end;
	int dirfd, r, have;

	r = state_new(&st, log, 1, &first, &end, err);
	if (r != 0)
		return r;
	dirfd = ev_openat(log->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	have = dirfd >= 0 && (faccessat(dirfd, "streams", F_OK, 0) == 0 ||
			      faccessat(dirfd, "ids", F_OK, 0) == 0);
	if (dirfd >= 0)
		close(dirfd);
	if (end_at != UINT64_MAX)
		end = end_at; /* as it would be after a cut */
	r = !have ? 0 : load_snaps(st, first, end, 0, 0) ? 1 : 2;
	ev_state_free(st);
	return r;
}

int ev_state_damaged(const struct ev_state *st)
{
	return st->ss.bad || st->is.bad;
}

uint64_t ev_state_covered(const struct ev_state *st)
{
	return st->covered;
}

uint64_t ev_state_unsaved(const struct ev_state *st)
{
	return st->covered - st->snap_covered;
}

/* ------------------------------------------------------------ writing */

static void snap_header(struct ev_buf *b, const uint8_t magic[8],
			const struct ev_state *st)
{
	memset(b->p, 0, SNAP_HDR);
	memcpy(b->p, magic, 8);
	ev_put32(b->p + 8, SNAP_VERSION);
	memcpy(b->p + 16, st->log->id, 16);
	ev_put64(b->p + 32, st->covered);
	b->len = SNAP_HDR;
}

/* Complete a snapshot of count entries (and names_len bytes of names)
 * laid out in b: the header's counts and CRC, then the page CRCs. */
static int snap_finish(struct ev_buf *b, int streams, uint64_t count,
		       uint64_t names_len)
{
	struct snap sn;
	uint64_t p, np, lo, hi;

	memset(&sn, 0, sizeof(sn));
	sn.streams = streams;
	sn.esz = streams ? S_ENT : I_ENT;
	sn.page = streams ? S_PAGE : I_PAGE;
	sn.count = count;
	sn.names_len = names_len;
	np = (count + sn.page - 1) / sn.page;
	if (ev_buf_reserve(b, 4 * np) != 0)
		return -1;
	ev_put32(b->p + 12, sn.page);
	ev_put64(b->p + 40, count);
	ev_put64(b->p + 48, names_len);
	ev_put32(b->p + 56, 0);
	ev_put32(b->p + 60, ev_crc32c(0, b->p, 60));
	for (p = 0; p < np; p++) {
		const uint8_t *pe = b->p + SNAP_HDR + p * sn.page * sn.esz;
		size_t n = page_count(&sn, p);
		uint32_t c = ev_crc32c(0, pe, n * sn.esz);
		if (page_names(&sn, pe, n, &lo, &hi) != 0)
			return -1;
		if (streams)
			c = ev_crc32c(c, b->p + SNAP_HDR + count * sn.esz + lo,
				      hi - lo);
		ev_put32(b->p + b->len, c);
		b->len += 4;
	}
	return 0;
}

static int cmp_idrec(const void *a, const void *b)
{
	const struct idrec *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return (x->off > y->off) - (x->off < y->off);
}

/*
 * Sort by (hash, offset or slot).  Hashes are uniform, so one pass puts each
 * id in the bucket of its top 16 bits (a million ids make about 15 to a
 * bucket), and an insertion sort orders each bucket: a tenth of what
 * qsort takes, and a third of a four-pass radix sort, at the end of
 * every bulk load.
 */
static int sort_hashed(struct idrec *v, size_t m)
{
	struct idrec *tmp;
	size_t *at, i, j, k, lo;

	if (m < 4096) {
		qsort(v, m, sizeof(*v), cmp_idrec);
		return 0;
	}
	tmp = malloc(m * sizeof(*tmp));
	at = calloc(65537, sizeof(*at));
	if (tmp == NULL || at == NULL) {
		free(tmp);
		free(at);
		return -1;
	}
	for (i = 0; i < m; i++)
		at[(v[i].h >> 48) + 1]++;
	for (k = 1; k <= 65536; k++)
		at[k] += at[k - 1];
	/* at[k]: where bucket k's next id goes, then where it ends */
	for (i = 0; i < m; i++)
		tmp[at[v[i].h >> 48]++] = v[i];
	for (lo = 0, k = 0; k < 65536; lo = at[k++])
		for (i = lo + 1; i < at[k]; i++) {
			struct idrec e = tmp[i];
			for (j = i; j > lo && cmp_idrec(&tmp[j - 1], &e) > 0; j--)
				tmp[j] = tmp[j - 1];
			tmp[j] = e;
		}
	memcpy(v, tmp, m * sizeof(*v));
	free(tmp);
	free(at);
	return 0;
}

/* The ids file, in b: the overlay and the snapshot, merged, in the
 * window. */
static int build_ids(struct ev_state *st, struct ev_buf *b)
{
	uint64_t oldest = oldest_id(st), k = 0, n = 0;
	struct idrec *v = malloc((st->i_n + 1) * sizeof(*v));
	size_t i, m = 0, j = 0;

	if (v == NULL)
		return -1;
	for (i = 0; i < st->i_cap; i++)
		if (st->ids[i].h != 0 && st->ids[i].off >= oldest)
			v[m++] = st->ids[i];
	if (sort_hashed(v, m) != 0) {
		free(v);
		return -1;
	}
	if (ev_buf_reserve(b, SNAP_HDR + (m + st->is.count) * I_ENT) != 0) {
		free(v);
		return -1;
	}
	snap_header(b, i_magic, st);
	while (j < m || k < st->is.count) {
		uint64_t h, off;
		const uint8_t *e = k < st->is.count ? st->is.ent + k * I_ENT : NULL;
		if (e != NULL && (j == m || ev_get64(e) < v[j].h ||
				  (ev_get64(e) == v[j].h && ev_get64(e + 8) < v[j].off))) {
			h = ev_get64(e);
			off = ev_get64(e + 8);
			k++;
		} else {
			h = v[j].h;
			off = v[j].off;
			j++;
		}
		if (off < oldest)
			continue;
		ev_put64(b->p + b->len, h);
		ev_put64(b->p + b->len + 8, off);
		b->len += I_ENT;
		n++;
	}
	free(v);
	return snap_finish(b, 0, n, 0);
}

static int put_stream(struct ev_buf *b, struct ev_buf *names, uint64_t h,
		      uint64_t lv, uint64_t lo, uint64_t fo, uint64_t c,
		      const char *name, size_t n)
{
	uint8_t *e;

	if (ev_buf_reserve(b, S_ENT) != 0 || names->len + n > UINT32_MAX ||
	    ev_buf_append(names, name, n) != 0)
		return -1;
	e = b->p + b->len;
	ev_put64(e, h);
	ev_put64(e + 8, lv);
	ev_put64(e + 16, lo);
	ev_put64(e + 24, fo);
	ev_put64(e + 32, c);
	ev_put32(e + 40, (uint32_t)(names->len - n));
	ev_put32(e + 44, (uint32_t)n);
	b->len += S_ENT;
	return 0;
}

/* A streams file, in b: the snapshot's streams, each superseded by its
 * overlay entry when it has one, and the overlay's new streams. */
static int build_streams(struct ev_state *st, struct ev_buf *b)
{
	/* the overlay's streams by hash: (hash, slot) */
	struct idrec *v = malloc((st->s_n + 1) * sizeof(*v));
	struct ev_buf names = {0};
	uint64_t k = 0, n = 0;
	size_t i, m = 0, j = 0;
	int r = -1;

	if (v == NULL ||
	    ev_buf_reserve(b, SNAP_HDR + (st->s_n + st->ss.count) * S_ENT) != 0 ||
	    ev_buf_reserve(&names, st->names_len + st->ss.names_len + 1) != 0)
		goto out;
	for (i = 0; i < st->s_cap; i++)
		if (st->s[i].h != 0) {
			v[m].h = st->s[i].h;
			v[m++].off = i;
		}
	if (sort_hashed(v, m) != 0)
		goto out;
	snap_header(b, s_magic, st);
	while (j < m || k < st->ss.count) {
		const uint8_t *e = k < st->ss.count ? st->ss.ent + k * S_ENT : NULL;
		if (e != NULL && (j == m || ev_get64(e) <= v[j].h)) {
			const char *nm = (const char *)st->ss.names + ev_get32(e + 40);
			size_t nl = ev_get32(e + 44);
			k++;
			/* superseded by the overlay? */
			if (s_find(st, nm, nl, ev_get64(e)) != NULL)
				continue;
			if (put_stream(b, &names, ev_get64(e), ev_get64(e + 8),
				       ev_get64(e + 16), ev_get64(e + 24),
				       ev_get64(e + 32), nm, nl) != 0)
				goto out;
		} else {
			const struct srec *s = &st->s[v[j++].off];
			if (put_stream(b, &names, s->h, s->last_version,
				       s->last_offset, s->first_offset, s->count,
				       st->names + s->name_off, s->name_len) != 0)
				goto out;
		}
		n++;
	}
	if (ev_buf_append(b, names.p, names.len) != 0 ||
	    snap_finish(b, 1, n, names.len) != 0)
		goto out;
	r = 0;
out:
	free(v);
	ev_buf_free(&names);
	return r;
}

struct ids_job {
	struct ev_state *st;
	int dirfd;
	struct ev_buf b;
	struct ev_tmpfile t;
	int r, e;	/* result, and its errno */
};

/* Build the ids file and write it, not yet under its name. */
static void *ids_job(void *arg)
{
	struct ids_job *j = arg;

	errno = 0;
	j->r = build_ids(j->st, &j->b);
	if (j->r == 0)
		j->r = ev_tmpfile_write(&j->t, j->dirfd, "ids", j->b.p, j->b.len);
	j->e = errno;
	return NULL;
}

int ev_state_snapshot(struct ev_state *st, struct ev_error *err)
{
	struct ev_buf b = {0};
	struct ev_tmpfile streams = {-1, ""};
	struct ids_job ij = {st, -1, {0}, {-1, ""}, 0, 0};
	pthread_t thr;
	int dirfd, r = 0, threaded = 0, sr;

	/* merging needs every entry of the snapshot it starts from */
	if (snap_whole(&st->ss) != 0 || snap_whole(&st->is) != 0) {
		ev_seterr(err, EV_EDATA, "the stream state in '%s/state' is "
					 "damaged",
			  st->log->path);
		ev_setremedy(err, EV_REMEDY_REPAIR_STATE, st->log->path);
		return EV_EDATA;
	}
	if (mkdirat(st->log->dirfd, "state", 0755) != 0 && errno != EEXIST)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot create '%s/state'", st->log->path);
	dirfd = ev_openat(st->log->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	if (dirfd < 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot open '%s/state'",
				       st->log->path);
	/* both files are built and written at once (the ids on a thread of
	 * their own: at the end of a bulk load they are most of the time it
	 * takes), then renamed in order: the ids first, since the streams
	 * file is used only with ids of the same point, so a crash between
	 * the two costs a replay */
	ij.dirfd = dirfd;
	if (st->window > 0)
		threaded = pthread_create(&thr, NULL, ids_job, &ij) == 0;
	sr = build_streams(st, &b);
	if (sr == 0)
		sr = ev_tmpfile_write(&streams, dirfd, "streams", b.p, b.len);
	if (threaded)
		pthread_join(thr, NULL);
	else if (st->window > 0)
		ids_job(&ij);
	if (st->window > 0 && ij.r == 0 &&
	    ev_tmpfile_rename(&ij.t, "ids") != 0) {
		ij.r = -1;
		ij.e = errno;
	}
	if (st->window > 0 && ij.r != 0) {
		r = ev_seterr_errno(err, EV_EIO, ij.e ? ij.e : ENOMEM,
				    "cannot write '%s/state/ids'", st->log->path);
		goto out;
	}
	if (sr != 0 || ev_tmpfile_rename(&streams, "streams") != 0 ||
	    ev_fsync_dir(dirfd) != 0) {
		r = ev_seterr_errno(err, EV_EIO, errno,
				    "cannot write '%s/state/streams'",
				    st->log->path);
		goto out;
	}
	st->snap_covered = st->covered;
out:
	ev_tmpfile_remove(&ij.t);
	ev_tmpfile_remove(&streams);
	close(dirfd);
	ev_buf_free(&b);
	ev_buf_free(&ij.b);
	return r;
}

/*
 * The base (evlog(5) STATE): every stream as of offset at, which is to
 * become the log's first.  Trim writes it before it removes segments,
 * so that a stream whose events are all gone keeps its version even
 * when the snapshots are lost or no longer fit the log.  Built from the
 * base of the log's present first offset, if there is one, and the
 * events up to at.
 */
int ev_state_write_base(struct ev_log *log, uint64_t at, struct ev_error *err)
{
	struct ev_state *st;
	struct ev_buf b = {0};
	uint64_t first, end, c = 0;
	int dirfd, r;

	r = state_new(&st, log, 0, &first, &end, err);
	if (r != 0)
		return r;
	if (mkdirat(log->dirfd, "state", 0755) != 0 && errno != EEXIST) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot create '%s/state'",
				    log->path);
		goto out;
	}
	dirfd = ev_openat(log->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	if (dirfd < 0) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot open '%s/state'",
				    log->path);
		goto out;
	}
	if (snap_load(log, dirfd, "base", 1, 0, first, first, &st->ss, &c))
		st->covered = st->snap_covered = c;
	else
		st->covered = first;
	r = ev_state_catch_up(st, at, err);
	if (r == 0 && st->covered != at)
		r = ev_seterr(err, EV_EDATA, "cannot read '%s' up to offset %llu",
			      log->path, (unsigned long long)at);
	if (r == 0 && (build_streams(st, &b) != 0 ||
		       ev_file_replace(dirfd, "base", b.p, b.len) != 0))
		r = ev_seterr_errno(err, EV_EIO, errno,
				    "cannot write '%s/state/base'", log->path);
	close(dirfd);
out:
	ev_buf_free(&b);
	ev_state_free(st);
	return r;
}

/* ------------------------------------------------------------ epoch */

/*
 * state/epoch counts the cuts and trims (evlog(5) STATE): a writer that
 * keeps the state in memory across batches reloads it when the count
 * changed, since the events it was built from may be gone, and others
 * may stand at their offsets.
 */
uint64_t ev_state_epoch(struct ev_log *log)
{
	char buf[32];
	ssize_t n;
	int fd = ev_openat(log->dirfd, "state/epoch", O_RDONLY, 0);

	if (fd < 0)
		return 0;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10);
}

int ev_state_bump_epoch(struct ev_log *log, struct ev_error *err)
{
	char buf[32];
	struct ev_buf b = {0};
	int dirfd, r = 0;

	if (mkdirat(log->dirfd, "state", 0755) != 0 && errno != EEXIST)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot create '%s/state'", log->path);
	dirfd = ev_openat(log->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	if (dirfd < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot open '%s/state'", log->path);
	snprintf(buf, sizeof(buf), "%llu\n",
		 (unsigned long long)(ev_state_epoch(log) + 1));
	if (ev_buf_append(&b, buf, strlen(buf)) != 0 ||
	    ev_file_replace(dirfd, "epoch", b.p, b.len) != 0)
		r = ev_seterr_errno(err, EV_EIO, errno,
				    "cannot write '%s/state/epoch'", log->path);
	close(dirfd);
	ev_buf_free(&b);
	return r;
}

/* ------------------------------------------------------------ listing */

int ev_state_foreach_stream(struct ev_state *st,
			    int (*fn)(void *ctx, const struct ev_stream_info *s),
			    void *ctx)
{
	struct ev_stream_info si;
	uint64_t k;
	size_t i;
	int r;

	if (snap_whole(&st->ss) != 0)
		return -1;
	for (i = 0; i < st->s_cap; i++) {
		const struct srec *s = &st->s[i];
		if (s->h == 0)
			continue;
		si.name = st->names + s->name_off;
		si.name_len = s->name_len;
		si.last_version = s->last_version;
		si.last_offset = s->last_offset;
		si.first_offset = s->first_offset;
		si.count = s->count;
		if ((r = fn(ctx, &si)) != 0)
			return r;
	}
	for (k = 0; k < st->ss.count; k++) {
		const uint8_t *e = st->ss.ent + k * S_ENT;
		si.name = (const char *)st->ss.names + ev_get32(e + 40);
		si.name_len = ev_get32(e + 44);
		if (s_find(st, si.name, si.name_len, ev_get64(e)) != NULL)
			continue; /* listed from the overlay */
		si.last_version = ev_get64(e + 8);
		si.last_offset = ev_get64(e + 16);
		si.first_offset = ev_get64(e + 24);
		si.count = ev_get64(e + 32);
		if ((r = fn(ctx, &si)) != 0)
			return r;
	}
	return 0;
}

static int count_one(void *ctx, const struct ev_stream_info *s)
{
	(void)s;
	(*(uint64_t *)ctx)++;
	return 0;
}

uint64_t ev_state_stream_count(const struct ev_state *st)
{
	uint64_t n = 0;

	ev_state_foreach_stream((struct ev_state *)st, count_one, &n);
	return n;
}

/* ------------------------------------------------------------ one stream */

int ev_state_lookup(struct ev_log *log, const char *name, size_t n,
		    struct ev_stream_info *out, uint64_t *end,
		    struct ev_error *err)
{
	struct ev_state *st;
	struct ev_reader *rd;
	struct ev_rec rec;
	struct ev_event ev;
	uint64_t first;
	int r, found = 0;

	memset(out, 0, sizeof(*out));
	out->name = name;
	out->name_len = n;
	out->first_offset = out->last_offset = EV_NO_PREV;
	r = state_new(&st, log, 0, &first, end, err);
	if (r != 0)
		return r;
	/* by page: only the pages the search touches are read */
	if (load_snaps(st, first, *end, 1, 1)) {
		found = ev_state_stream(st, name, n, out);
		if (st->ss.bad) {
			/* a page did not check out: the snapshot read whole
			 * and checked, or the base, or the log */
			snap_free(&st->ss);
			memset(out, 0, sizeof(*out));
			out->name = name;
			out->first_offset = out->last_offset = EV_NO_PREV;
			found = 0;
			if (load_snaps(st, first, *end, 1, 0))
				found = ev_state_stream(st, name, n, out);
			else
				st->covered = first;
		}
	} else {
		st->covered = first;
	}
	out->name = name;
	out->name_len = n;
	/* the events since the snapshot */
	r = ev_reader_open(&rd, log, err);
	if (r == 0)
		r = ev_reader_seek(rd, st->covered, err);
	while (r == 0 && (r = ev_reader_next(rd, &rec, err)) == 1) {
		if (rec.offset >= *end)
			break;
		r = ev_event_decode_head(rec.p, rec.n, &ev, err);
		if (r != 0)
			break;
		if (ev.stream.p == NULL || ev.stream.n != n ||
		    memcmp(ev.stream.p, name, n) != 0)
			continue;
		out->last_version = ev.version ? ev.version : out->last_version + 1;
		out->last_offset = rec.offset;
		if (out->first_offset == EV_NO_PREV)
			out->first_offset = rec.offset;
		out->count++;
		found = 1;
	}
	ev_reader_free(rd);
	ev_state_free(st);
	if (r < 0)
		return r;
	return found;
}
