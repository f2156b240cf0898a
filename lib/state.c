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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state_int.h"

/* ------------------------------------------------------------ overlay */

/*
 * The overlay's tables, zeroed and aligned on a cache line.  A large one
 * (a writer's dedupe window of a million ids takes 32 MiB) is mapped in
 * transparent huge pages where the system allows them: every lookup is
 * at a random place in it, and with 4 KiB pages nearly every one would
 * also miss the TLB.
 */
#define TABLE_BIG (4u << 20)
#define HUGE_PAGE (2u << 20)

static void *table_alloc(size_t n, size_t sz)
{
	size_t bytes = n * sz, len;
	uint8_t *p, *a;
	void *q = NULL;

	if (sz != 0 && n > SIZE_MAX / sz - HUGE_PAGE)
		return NULL;
	if (bytes < TABLE_BIG) {
		if (posix_memalign(&q, 64, bytes) != 0)
			return NULL;
		return memset(q, 0, bytes);
	}
	/* a huge page boundary: over-map, then cut the ends off */
	len = bytes + HUGE_PAGE;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) &
			~(uintptr_t)(HUGE_PAGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + len > a + bytes)
		munmap(a + bytes, (size_t)(p + len - (a + bytes)));
#ifdef MADV_HUGEPAGE
	(void)madvise(a, bytes, MADV_HUGEPAGE); /* a hint: fine if refused */
#endif
	return a;
}

static void table_free(void *p, size_t n, size_t sz)
{
	if (p == NULL)
		return;
	if (n * sz < TABLE_BIG)
		free(p);
	else
		munmap(p, n * sz);
}

static int s_grow(struct ev_state *st)
{
	size_t cap = st->s_cap ? st->s_cap * 2 : 1024, i, j;
	struct srec *ns = table_alloc(cap, sizeof(*ns));

	if (ns == NULL)
		return EV_ERR;
	for (i = 0; i < st->s_cap; i++) {
		if (st->s[i].h == 0)
			continue;
		for (j = ev_home(st->s[i].h, cap); ns[j].h != 0;
		     j = (j + 1) & (cap - 1))
			;
		ns[j] = st->s[i];
	}
	table_free(st->s, st->s_cap, sizeof(*st->s));
	st->s = ns;
	st->s_cap = cap;
	return 0;
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
	for (j = ev_home(h, st->s_cap); st->s[j].h != 0;
	     j = (j + 1) & (st->s_cap - 1))
		;
	r = &st->s[j];
	memset(r, 0, sizeof(*r));
	r->h = h;
	r->name_off = (uint32_t)st->names_len;
	r->name_len = (uint32_t)n;
	memcpy(r->pre, name, n < S_PRE ? n : S_PRE);
	r->first_offset = EV_NO_PREV;
	r->last_offset = EV_NO_PREV;
	st->names_len += n;
	st->s_n++;
	return r;
}

/*
 * The ids table sized ahead for a bulk load is all new pages, and one
 * batch's ids land all over it: in use at once, every page of it would
 * take its first fault in the writer's first batch.  On a virtual
 * machine a new page costs 1.5 to 2.5 ms a MiB (the host backs it on
 * first touch), some 50 ms for the 32 MiB of a million ids, while the
 * pipeline waits for the writer thread.  So the table sized ahead waits
 * aside (pend) while a thread of its own faults its pages in
 * (MADV_POPULATE_WRITE), and the small table goes on growing as usual
 * below TABLE_BIG; the first insert after the thread is done (or when
 * the small one would grow past that) moves the ids over, into pages
 * that are ready.  A state freed first stops the thread at its next
 * 2 MiB.
 */
static void *prefault_main(void *arg)
{
	struct ev_state *st = arg;

#ifdef MADV_POPULATE_WRITE
	uint8_t *p = (uint8_t *)st->pend;
	size_t len = st->pend_cap * sizeof(*st->pend), at;

	/* a huge page at a time: the call holds the process's memory map
	 * lock, which the other threads' mmap() and munmap() wait for.  A
	 * hint: an older kernel refuses it, and the pages are faulted in
	 * as they are used. */
	for (at = 0;
	     at < len && !__atomic_load_n(&st->pf_stop, __ATOMIC_RELAXED);
	     at += HUGE_PAGE)
		if (madvise(p + at, len - at < HUGE_PAGE ? len - at : HUGE_PAGE,
			    MADV_POPULATE_WRITE) != 0)
			break;
#endif
	__atomic_store_n(&st->pf_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void prefault_join(struct ev_state *st)
{
	if (st->pf_on) {
		pthread_join(st->pf, NULL);
		st->pf_on = 0;
	}
}

/* Move the window's ids into ni, a zeroed table of cap slots. */
static void i_move(struct ev_state *st, struct idrec *ni, size_t cap)
{
	uint64_t oldest = oldest_id(st);
	size_t i, j, n = 0;

	for (i = 0; i < st->i_cap; i++) {
		if (st->ids[i].h == 0 || st->ids[i].off < oldest)
			continue; /* out of the window */
		for (j = ev_home(st->ids[i].h, cap); ni[j].h != 0;
		     j = (j + 1) & (cap - 1))
			;
		ni[j] = st->ids[i];
		n++;
	}
	table_free(st->ids, st->i_cap, sizeof(*st->ids));
	st->ids = ni;
	st->i_cap = cap;
	st->i_n = n;
}

/* The table set aside by ev_state_reserve_ids() put in use. */
static void i_take_pend(struct ev_state *st)
{
	prefault_join(st);
	i_move(st, st->pend, st->pend_cap);
	st->pend = NULL;
	st->pend_cap = 0;
	st->pf_done = 0;
}

static int i_rebuild(struct ev_state *st, size_t cap)
{
	struct idrec *ni = table_alloc(cap, sizeof(*ni));

	if (ni == NULL)
		return EV_ERR;
	i_move(st, ni, cap);
	return 0;
}

static int i_insert(struct ev_state *st, uint64_t h, uint64_t off)
{
	size_t j;
	int full = (st->i_n + 1) * 10 >= st->i_cap * 7;

	/* the table set aside, once its pages are in; or when the small
	 * one, full, would grow to a large one itself (a fresh log's is
	 * empty: it grows from 4096 slots meanwhile) */
	if (st->pend != NULL &&
	    (__atomic_load_n(&st->pf_done, __ATOMIC_ACQUIRE) ||
	     (full && st->i_cap * 2 * sizeof(*st->ids) >= TABLE_BIG))) {
		i_take_pend(st);
		full = (st->i_n + 1) * 10 >= st->i_cap * 7;
	}
	if (full) {
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
	for (j = ev_home(h, st->i_cap); st->ids[j].h != 0;
	     j = (j + 1) & (st->i_cap - 1))
		;
	st->ids[j].h = h;
	st->ids[j].off = off;
	st->i_n++;
	return 0;
}

/*
 * Room for n more ids (at most the window's worth) without growing: a
 * writer told how many events are coming sizes its table once, rather
 * than doubling it as they come (each doubling inserts every id again,
 * into fresh pages).  0, or EV_ERR out of memory (nothing changed).
 */
int ev_state_reserve_ids(struct ev_state *st, uint64_t n)
{
	uint64_t cap = st->i_cap ? st->i_cap : 4096, live = st->i_n + n;

	if (st->window == 0 || live < n)
		return 0;
	if (live > st->window)
		live = st->window;
	if (live > ((uint64_t)1 << 36))
		return 0; /* past any table this machine holds: a hint only */
	/* as i_insert() grows it: the table stays below 70 % full */
	while ((live + 1) * 10 >= cap * 7)
		cap *= 2;
	if (cap <= st->i_cap || cap > SIZE_MAX / sizeof(*st->ids) ||
	    st->pend != NULL)
		return 0;
	if (cap * sizeof(*st->ids) < TABLE_BIG)
		return i_rebuild(st, (size_t)cap);
	st->pend = table_alloc((size_t)cap, sizeof(*st->pend));
	if (st->pend == NULL)
		return EV_ERR;
	st->pend_cap = (size_t)cap;
	st->pf_done = 0;
	st->pf_on = pthread_create(&st->pf, NULL, prefault_main, st) == 0;
	if (!st->pf_on)
		i_take_pend(st);
	return 0;
}

/* ------------------------------------------------------------ lookups */

void ev_state_prefetch(const struct ev_state *st, uint64_t sh, uint64_t ih)
{
	if (sh != 0 && st->s_cap > 0)
		__builtin_prefetch(&st->s[ev_home(sh, st->s_cap)]);
	if (ih != 0 && st->i_cap > 0)
		__builtin_prefetch(&st->ids[ev_home(ih, st->i_cap)]);
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
	e = ev_snap_stream(st, name, n, h);
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
		for (j = ev_home(h, st->i_cap); st->ids[j].h != 0;
		     j = (j + 1) & (st->i_cap - 1))
			if (st->ids[j].h == h && st->ids[j].off >= oldest &&
			    n < max)
				offs[n++] = st->ids[j].off;
	if (st->is.count > 0)
		for (k = ev_snap_find(&st->is, h); k < st->is.count && n < max;
		     k++) {
			const uint8_t *e = ev_snap_ent(&st->is, k, NULL);
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
		   const struct ev_str *stream, uint64_t version,
		   uint64_t offset)
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
		if (rec.offset >= to)
			break; /* past a gap */
		r = ev_event_decode_head(rec.p, rec.n, &ev, err);
		if (r != 0)
			break;
		if (ev_state_apply(st, &ev.id, &ev.stream, ev.version,
				   rec.offset) != 0)
			r = ev_seterr(err, EV_ERR, "out of memory");
		st->replayed++;
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
	table_free(st->s, st->s_cap, sizeof(*st->s));
	free(st->names);
	/* a table not put in use: its thread stops at its next step */
	__atomic_store_n(&st->pf_stop, 1, __ATOMIC_RELAXED);
	prefault_join(st);
	st->pf_stop = 0;
	table_free(st->pend, st->pend_cap, sizeof(*st->pend));
	st->pend = NULL;
	st->pend_cap = 0;
	st->pf_done = 0;
	table_free(st->ids, st->i_cap, sizeof(*st->ids));
	ev_snap_free(&st->ss);
	ev_snap_free(&st->is);
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
	ok = ev_snap_load(st->log, dirfd, "streams", 1, lazy, first, end,
			  &st->ss, &c1);
	if (ok && st->window > 0)
		ok = ev_snap_load(st->log, dirfd, "ids", 0, lazy, first, end,
				  &st->is, &c2) &&
		     c2 == c1;
	if (!ok && base_ok) {
		ev_snap_free(&st->ss);
		ev_snap_free(&st->is);
		/* the base trim left: the streams as of the first offset */
		ok = ev_snap_load(st->log, dirfd, "base", 1, lazy, first, first,
				  &st->ss, &c1);
		if (!ok)
			ev_snap_free(&st->ss);
	}
	close(dirfd);
	if (!ok) {
		ev_snap_free(&st->ss);
		ev_snap_free(&st->is);
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

int ev_state_load_lazy(struct ev_state **out, struct ev_log *log, int want_ids,
		       int lazy, struct ev_error *err)
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

int ev_state_load_upto(struct ev_state **out, struct ev_log *log, int want_ids,
		       uint64_t to, struct ev_error *err)
{
	struct ev_state *st;
	uint64_t first, end;
	int r;

	r = state_new(&st, log, want_ids, &first, &end, err);
	if (r != 0)
		return r;
	if (to > end)
		to = end;
	if (to < first)
		to = first;
	if (!load_snaps(st, first, to, 1, 0))
		st->covered = first;
	r = ev_state_catch_up(st, to, err);
	if (r != 0) {
		ev_state_free(st);
		return r;
	}
	*out = st;
	return 0;
}

uint64_t ev_state_replayed(const struct ev_state *st)
{
	return st->replayed;
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

int ev_state_write_base(struct ev_log *log, uint64_t at, struct ev_error *err)
{
	struct ev_state *st;
	struct ev_buf b = {0};
	uint64_t first, end, c = 0;
	int dirfd, r;

	r = state_new(&st, log, 0, &first, &end, err);
	if (r != 0)
		return r;
	if ((r = ev_log_mkdir(log, "state", err)) != 0)
		goto out;
	dirfd = ev_openat(log->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	if (dirfd < 0) {
		r = ev_seterr_errno(err, EV_EIO, errno,
				    "cannot open '%s/state'", log->path);
		goto out;
	}
	if (ev_snap_load(log, dirfd, "base", 1, 0, first, first, &st->ss, &c))
		st->covered = st->snap_covered = c;
	else
		st->covered = first;
	r = ev_state_catch_up(st, at, err);
	if (r == 0 && st->covered != at)
		r = ev_seterr(err, EV_EDATA,
			      "cannot read '%s' up to offset %llu", log->path,
			      (unsigned long long)at);
	if (r == 0 && (ev_build_streams(st, &b) != 0 ||
		       ev_file_replace(dirfd, "base", b.p, b.len) != 0))
		r = ev_seterr_errno(err, EV_EIO, errno,
				    "cannot write '%s/state/base'", log->path);
	close(dirfd);
out:
	ev_buf_free(&b);
	ev_state_free(st);
	return r;
}

/*
 * Forget the snapshots, streams and ids, before a repair replaces
 * events they count with a gap: a crash before they are rebuilt then
 * costs a replay, never a count of events the log no longer holds.
 * 1 when there were some, 0 when there were none, or an error.
 */
int ev_state_drop_snapshots(struct ev_log *log, struct ev_error *err)
{
	const char *name[2] = {"ids", "streams"};
	int dirfd, r = 0, i;

	dirfd = ev_openat(log->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	if (dirfd < 0)
		return 0; /* none to drop */
	for (i = 0; i < 2 && r >= 0; i++) {
		if (unlinkat(dirfd, name[i], 0) == 0)
			r = 1;
		else if (errno != ENOENT)
			r = -1;
	}
	if (r < 0 || (r == 1 && ev_fsync_dir(dirfd) != 0))
		r = ev_seterr_errno(err, EV_EIO, errno,
				    "cannot remove the snapshots in '%s/state'",
				    log->path);
	close(dirfd);
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

	if (ev_log_mkdir(log, "state", err) != 0)
		return err->code;
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
			    int (*fn)(void *ctx,
				      const struct ev_stream_info *s),
			    void *ctx)
{
	struct ev_stream_info si;
	uint64_t k;
	size_t i;
	int r;

	if (ev_snap_whole(&st->ss) != 0)
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
			ev_snap_free(&st->ss);
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
		out->last_version =
			ev.version ? ev.version : out->last_version + 1;
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
