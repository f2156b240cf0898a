/*
 * snapshot.c - the snapshots of struct ev_state in LOG/state/ (evlog(5)
 * STATE): tables sorted by a 64-bit hash, for streams with a names
 * blob, each with a header CRC and one CRC-32C per page.  A writer reads
 * a snapshot whole; a reader after one stream reads and checks only the
 * pages its search touches.  Snapshots are built from the state (the
 * snapshot it started from merged with its overlay) on two threads and
 * replaced atomically, the ids before the streams.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_int.h"

static const uint8_t s_magic[8] = {'E', 'V', 'S', 'T', 'R', 'E', 'A', 'M'};
static const uint8_t i_magic[8] = {'E', 'V', 'I', 'D', 'S', 'N', 'A', 'P'};

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
		      const uint8_t *nm, uint64_t lo, uint64_t hi,
		      uint32_t want)
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
		if (!sn->streams) {
			if (ev_get64(e + 8) >= sn->covered)
				return -1;
			continue;
		}
		off = ev_get32(e + 40);
		len = ev_get32(e + 44);
		if (len == 0 || off < lo || off + len > hi)
			return -1;
		/* a CRC does not make the values sane: versions count the
		 * stream's events, one per offset, so the last version is at
		 * most its last offset + 1, which lies below what the
		 * snapshot covers (else the next version wraps to 0) */
		if (ev_get64(e + 16) >= sn->covered ||
		    ev_get64(e + 24) > ev_get64(e + 16) ||
		    ev_get64(e + 8) == 0 ||
		    ev_get64(e + 8) > ev_get64(e + 16) + 1)
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
const uint8_t *ev_snap_ent(struct snap *sn, uint64_t k, const uint8_t **name)
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
		*name = sl->b.p + sl->ent_len +
			(ev_get32(e + 40) - sl->names_lo);
	return e;
}

static uint64_t ent_hash(struct snap *sn, uint64_t k)
{
	const uint8_t *e = ev_snap_ent(sn, k, NULL);

	return e != NULL ? ev_get64(e) : 0;
}

/*
 * The first entry whose hash is >= h, in a table sorted by hash:
 * interpolation while the hashes look uniform (they are, unless the file
 * is hostile), then bisection, so a lookup costs a few cache misses (or
 * page reads) in a table of any size and never more than a binary
 * search.  A page that does not check out ends it with sn->bad set.
 */
uint64_t ev_snap_find(struct snap *sn, uint64_t h)
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
			mid = lo + (uint64_t)((unsigned __int128)(h - hl) *
					      (hi - 1 - lo) / (hh - hl));
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
static int snap_header_ok(struct snap *sn, struct ev_log *log, const uint8_t *p,
			  uint64_t size, uint64_t first, uint64_t end,
			  uint64_t *covered)
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
	sn->covered = *covered;
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

int ev_snap_load(struct ev_log *log, int dirfd, const char *name, int streams,
		 int lazy, uint64_t first, uint64_t end, struct snap *sn,
		 uint64_t *covered)
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
		    !snap_header_ok(sn, log, hb, (uint64_t)st.st_size, first,
				    end, covered)) {
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
int ev_snap_whole(struct snap *sn)
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

void ev_snap_free(struct snap *sn)
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
const uint8_t *ev_snap_stream(struct ev_state *st, const char *name, size_t n,
			      uint64_t h)
{
	const uint8_t *e, *nm;
	uint64_t k;

	if (st->ss.count == 0)
		return NULL;
	for (k = ev_snap_find(&st->ss, h); k < st->ss.count; k++) {
		e = ev_snap_ent(&st->ss, k, &nm);
		if (e == NULL || ev_get64(e) != h)
			break;
		if (ev_get32(e + 44) == n && memcmp(nm, name, n) == 0)
			return e;
	}
	return NULL;
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

/*
 * Tables in probe order.  A state table puts an entry of hash h first at
 * slot ev_home(h), the hash's top bits, and linear probing moves it only
 * a few slots on, or round to the start of the table: read slot by slot,
 * the entries come nearly sorted by hash.  One pass gives them sorted by
 * (hash, offset or slot), each entry moved back past the few that came
 * before it out of order: those of the cluster at the start of the table
 * whose home is there come first, those that wrapped round from the end
 * of the table last.  An order the table does not have (hostile hashes)
 * costs time, never the result.
 */
static inline void put_sorted(struct idrec *v, size_t m, uint64_t h,
			      uint64_t off)
{
	while (m > 0 &&
	       (v[m - 1].h > h || (v[m - 1].h == h && v[m - 1].off > off))) {
		v[m] = v[m - 1];
		m--;
	}
	v[m].h = h;
	v[m].off = off;
}

/* The slots of a table of cap in the order above: slot i is read in
 * pass 0 (the first cluster, not wrapped), 1 (the rest) or 2 (the first
 * cluster, wrapped round).  e: the first empty slot. */
static inline int probe_pass(uint64_t h, size_t i, size_t e, size_t cap)
{
	if (i >= e)
		return 1;
	return ev_home(h, cap) <= i ? 0 : 2;
}

/* The overlay's ids in the window, sorted, at v (room for st->i_n of
 * them): how many. */
static size_t sorted_ids(const struct ev_state *st, uint64_t oldest,
			 struct idrec *v)
{
	const struct idrec *t = st->ids;
	size_t cap = st->i_cap, e, i, m = 0;
	int pass;

	for (e = 0; e < cap && t[e].h != 0; e++)
		;
	for (pass = 0; pass < 3; pass++)
		for (i = pass == 1 ? e : 0; i < (pass == 1 ? cap : e); i++)
			if (t[i].h != 0 && t[i].off >= oldest &&
			    probe_pass(t[i].h, i, e, cap) == pass)
				put_sorted(v, m++, t[i].h, t[i].off);
	return m;
}

/* The overlay's streams as (hash, slot), sorted, at v: how many. */
static size_t sorted_streams(const struct ev_state *st, struct idrec *v)
{
	const struct srec *t = st->s;
	size_t cap = st->s_cap, e, i, m = 0;
	int pass;

	for (e = 0; e < cap && t[e].h != 0; e++)
		;
	for (pass = 0; pass < 3; pass++)
		for (i = pass == 1 ? e : 0; i < (pass == 1 ? cap : e); i++)
			if (t[i].h != 0 &&
			    probe_pass(t[i].h, i, e, cap) == pass)
				put_sorted(v, m++, t[i].h, i);
	return m;
}

/*
 * The ids file, in b: the overlay and the snapshot, merged, in the
 * window.  The overlay's ids are sorted into b itself, after room for
 * the snapshot's, and merged forward in place: an entry is written at
 * or before the place of the first overlay id not yet merged.
 */
static int build_ids(struct ev_state *st, struct ev_buf *b)
{
	uint64_t oldest = oldest_id(st), k = 0, n = 0;
	struct idrec *v;
	size_t m, j = 0;

	if (ev_buf_reserve(b, SNAP_HDR + (st->i_n + st->is.count) * I_ENT) != 0)
		return -1;
	snap_header(b, i_magic, st);
	/* aligned: b is malloc'ed, SNAP_HDR and I_ENT are multiples of 16 */
	v = (struct idrec *)(void *)(b->p + SNAP_HDR + st->is.count * I_ENT);
	m = sorted_ids(st, oldest, v);
	while (j < m || k < st->is.count) {
		uint64_t h, off;
		const uint8_t *e =
			k < st->is.count ? st->is.ent + k * I_ENT : NULL;
		if (e != NULL &&
		    (j == m || ev_get64(e) < v[j].h ||
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
	return snap_finish(b, 0, n, 0);
}

/*
 * The ids file written as it is built, through a 1 MiB buffer, instead
 * of built whole in memory first (build_ids()).  After a bulk load of a
 * million ids the file is 16 MB, and on a virtual machine the first
 * touch of 16 MB of new pages costs some 25 ms, at the end of the run
 * where nothing else overlaps it.  The overlay is read stretch by
 * stretch: a run of slots between two empty ones holds exactly the
 * entries whose home is in it (linear probing never passes an empty
 * slot), so sorting each run, merged with the snapshot's entries, gives
 * the file's order.  The run at the end of the table takes the entries
 * that wrapped round to its start.  Each page's CRC is taken as the
 * page is written; the page CRCs follow the entries, and the header,
 * whose count is known only then, goes last over the first bytes.
 * (Starting each chunk's writeback as it is written, sync_file_range(),
 * made the end of a bulk load longer here: 70 ms against 54.)  A table
 * out of this order (hostile hashes) makes it return 1:
 * the caller builds the file whole instead.
 */
/* bytes: whole pages; 1 MiB: with larger writes the kernel takes larger
 * pages for the page cache, and the end of a bulk load of a million
 * events took 39 ms against 49 with 64 KiB */
#define IDS_CHUNK (I_PAGE * I_ENT * 256)

struct ids_out {
	int fd;
	uint8_t *buf;
	size_t len;
	uint64_t at; /* the file offset of buf */
	uint64_t n;  /* entries put */
	uint64_t last_h, last_off;
	struct ev_buf crcs;
	/* the snapshot's entries, merged in: the next one */
	const struct snap *is;
	uint64_t k, oldest;
	int disorder;
};

static int ids_flush(struct ids_out *o)
{
	size_t p;

	for (p = 0; p < o->len; p += I_PAGE * I_ENT) {
		size_t n = o->len - p < I_PAGE * I_ENT ? o->len - p
						       : I_PAGE * I_ENT;
		if (ev_buf_reserve(&o->crcs, 4) != 0)
			return -1;
		ev_put32(o->crcs.p + o->crcs.len, ev_crc32c(0, o->buf + p, n));
		o->crcs.len += 4;
	}
	if (o->len > 0 && ev_write_full(o->fd, o->buf, o->len, o->at) != 0)
		return -1;
	o->at += o->len;
	o->len = 0;
	return 0;
}

static int ids_emit(struct ids_out *o, uint64_t h, uint64_t off)
{
	if (off < o->oldest)
		return 0;
	if (o->n > 0 &&
	    (h < o->last_h || (h == o->last_h && off < o->last_off))) {
		o->disorder = 1;
		return 1;
	}
	if (o->len == IDS_CHUNK && ids_flush(o) != 0)
		return -1;
	ev_put64(o->buf + o->len, h);
	ev_put64(o->buf + o->len + 8, off);
	o->len += I_ENT;
	o->n++;
	o->last_h = h;
	o->last_off = off;
	return 0;
}

/* Put an overlay entry, after the snapshot's entries that sort first. */
static int ids_put(struct ids_out *o, uint64_t h, uint64_t off)
{
	int r;

	while (o->k < o->is->count) {
		const uint8_t *e = o->is->ent + o->k * I_ENT;
		if (!(ev_get64(e) < h ||
		      (ev_get64(e) == h && ev_get64(e + 8) < off)))
			break;
		o->k++;
		r = ids_emit(o, ev_get64(e), ev_get64(e + 8));
		if (r != 0)
			return r;
	}
	return ids_emit(o, h, off);
}

/* Sort the run u[0..m) and put it. */
static int ids_run(struct ids_out *o, struct idrec *u, size_t m)
{
	size_t i;
	int r;

	for (i = 1; i < m; i++) {
		struct idrec x = u[i];
		put_sorted(u, i, x.h, x.off);
	}
	for (i = 0; i < m; i++)
		if ((r = ids_put(o, u[i].h, u[i].off)) != 0)
			return r;
	return 0;
}

static int ids_add(struct idrec **u, size_t *m, size_t *cap,
		   const struct idrec *x)
{
	if (*m == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		struct idrec *nu = realloc(*u, nc * sizeof(*nu));
		if (nu == NULL)
			return -1;
		*u = nu;
		*cap = nc;
	}
	(*u)[(*m)++] = *x;
	return 0;
}

/* 0 written (not synced), 1 out of order, -1 error (errno) */
static int stream_ids(struct ev_state *st, int fd)
{
	const struct idrec *t = st->ids;
	size_t cap = st->i_cap, e = 0, i, m = 0, ucap = 0, np;
	struct ids_out o;
	struct idrec *u = NULL;
	uint8_t hdr[SNAP_HDR];
	struct ev_buf hb = {hdr, 0, sizeof(hdr)};
	int r = -1;

	memset(&o, 0, sizeof(o));
	o.fd = fd;
	o.at = SNAP_HDR;
	o.is = &st->is;
	o.oldest = oldest_id(st);
	o.buf = malloc(IDS_CHUNK);
	if (o.buf == NULL)
		goto out;
	if (t != NULL)
		for (e = 0; e < cap && t[e].h != 0; e++)
			;
	if (e == cap && cap > 0) {
		r = 1; /* no empty slot: no runs to read it by */
		goto out;
	}
	/* the run at the start: the entries whose home is there */
	for (i = 0; i < e; i++)
		if (ev_home(t[i].h, cap) <= i && ids_add(&u, &m, &ucap, &t[i]))
			goto out;
	if ((r = ids_run(&o, u, m)) != 0)
		goto out;
	r = -1;
	m = 0;
	for (i = e; i < cap; i++) {
		if (t[i].h != 0 && ids_add(&u, &m, &ucap, &t[i]))
			goto out;
		if (t[i].h != 0 && i + 1 < cap)
			continue;
		if (i + 1 == cap) {
			/* the last run: and what wrapped round to the start */
			size_t j;
			for (j = 0; j < e; j++)
				if (ev_home(t[j].h, cap) > j &&
				    ids_add(&u, &m, &ucap, &t[j]))
					goto out;
		}
		if (m > 0 && (r = ids_run(&o, u, m)) != 0)
			goto out;
		r = -1;
		m = 0;
	}
	/* the snapshot's entries after the overlay's last */
	for (; o.k < o.is->count; o.k++) {
		const uint8_t *x = o.is->ent + o.k * I_ENT;
		if ((r = ids_emit(&o, ev_get64(x), ev_get64(x + 8))) != 0)
			goto out;
	}
	r = -1;
	if (ids_flush(&o) != 0)
		goto out;
	np = (o.n + I_PAGE - 1) / I_PAGE;
	if (o.crcs.len != 4 * np ||
	    ev_write_full(fd, o.crcs.p, o.crcs.len, o.at) != 0)
		goto out;
	snap_header(&hb, i_magic, st);
	ev_put32(hdr + 12, I_PAGE);
	ev_put64(hdr + 40, o.n);
	ev_put64(hdr + 48, 0);
	ev_put32(hdr + 56, 0);
	ev_put32(hdr + 60, ev_crc32c(0, hdr, 60));
	if (ev_write_full(fd, hdr, SNAP_HDR, 0) != 0)
		goto out;
	r = 0;
out:
	free(o.buf);
	free(u);
	ev_buf_free(&o.crcs);
	return r;
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
int ev_build_streams(struct ev_state *st, struct ev_buf *b)
{
	/* the overlay's streams by hash: (hash, slot) */
	struct idrec *v = malloc((st->s_n + 1) * sizeof(*v));
	struct ev_buf names = {0};
	uint64_t k = 0, n = 0;
	size_t m = 0, j = 0;
	int r = -1;

	if (v == NULL ||
	    ev_buf_reserve(b, SNAP_HDR + (st->s_n + st->ss.count) * S_ENT) !=
		    0 ||
	    ev_buf_reserve(&names, st->names_len + st->ss.names_len + 1) != 0)
		goto out;
	m = sorted_streams(st, v);
	snap_header(b, s_magic, st);
	while (j < m || k < st->ss.count) {
		const uint8_t *e =
			k < st->ss.count ? st->ss.ent + k * S_ENT : NULL;
		if (e != NULL && (j == m || ev_get64(e) <= v[j].h)) {
			const char *nm =
				(const char *)st->ss.names + ev_get32(e + 40);
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
				       s->last_offset, s->first_offset,
				       s->count, st->names + s->name_off,
				       s->name_len) != 0)
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
	int r, e; /* result, and its errno */
};

/* Build the ids file and write it, not yet under its name: as it is
 * built (stream_ids()), or whole when the table is out of order. */
static void *ids_job(void *arg)
{
	struct ids_job *j = arg;
	int fd, r, e;

	errno = 0;
	fd = ev_tmpfile_open(&j->t, j->dirfd, "ids");
	if (fd < 0) {
		j->r = -1;
		j->e = errno;
		return NULL;
	}
	r = stream_ids(j->st, fd);
	if (r == 0 && fsync(fd) != 0)
		r = -1;
	e = errno;
	if (close(fd) != 0 && r == 0) {
		r = -1;
		e = errno;
	}
	if (r != 0)
		ev_tmpfile_remove(&j->t);
	if (r == 1) {
		errno = 0;
		r = build_ids(j->st, &j->b);
		if (r == 0)
			r = ev_tmpfile_write(&j->t, j->dirfd, "ids", j->b.p,
					     j->b.len);
		e = errno;
	}
	j->r = r;
	j->e = e;
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
	if (ev_snap_whole(&st->ss) != 0 || ev_snap_whole(&st->is) != 0) {
		ev_seterr(err, EV_EDATA,
			  "the stream state in '%s/state' is "
			  "damaged",
			  st->log->path);
		ev_setremedy(err, EV_REMEDY_REPAIR_STATE, st->log->path);
		return EV_EDATA;
	}
	if (ev_log_mkdir(st->log, "state", err) != 0)
		return err->code;
	dirfd = ev_openat(st->log->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	if (dirfd < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot open '%s/state'", st->log->path);
	/* both files are built and written at once (the ids on a thread of
	 * their own: at the end of a bulk load they are most of the time it
	 * takes), then renamed in order: the ids first, since the streams
	 * file is used only with ids of the same point, so a crash between
	 * the two costs a replay */
	ij.dirfd = dirfd;
	if (st->window > 0)
		threaded = pthread_create(&thr, NULL, ids_job, &ij) == 0;
	sr = ev_build_streams(st, &b);
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
				    "cannot write '%s/state/ids'",
				    st->log->path);
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

int ev_state_copy_base(struct ev_log *from, uint64_t first, struct ev_log *to,
		       struct ev_error *err)
{
	struct ev_buf b = {0};
	struct snap sn;
	uint64_t covered;
	int dirfd = -1, r = 0;

	dirfd = ev_openat(from->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	/* the same checks as a reader's: a base that would not be used is
	 * not copied */
	memset(&sn, 0, sizeof(sn));
	sn.streams = 1;
	sn.esz = S_ENT;
	if (dirfd < 0 || read_file(dirfd, "base", &b) != 0 ||
	    b.len < SNAP_HDR ||
	    !snap_header_ok(&sn, from, b.p, b.len, first, first, &covered))
		goto out;
	close(dirfd);
	dirfd = -1;
	memcpy(b.p + 16, to->id, 16);
	ev_put32(b.p + 60, ev_crc32c(0, b.p, 60));
	if ((r = ev_log_mkdir(to, "state", err)) != 0)
		goto out;
	dirfd = ev_openat(to->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	if (dirfd < 0 || ev_file_replace(dirfd, "base", b.p, b.len) != 0)
		r = ev_seterr_errno(err, EV_EIO, errno,
				    "cannot write '%s/state/base'", to->path);
out:
	if (dirfd >= 0)
		close(dirfd);
	ev_buf_free(&b);
	return r;
}
