/*
 * resolve.c - each batch resolved against the stream and dedupe state
 * (evlog(5) STATE), on the writer thread under the lock: duplicates
 * dropped, expected versions checked, stream events numbered and linked
 * to their stream's previous event, and the records to write built,
 * spliced from the records as added when they can be.  The decoding and
 * hashing is done beforehand on the adding thread (ev_writer_prep_ri).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "writer_int.h"

/* records whose state slots are fetched ahead of their resolving */
#define PREFETCH_AHEAD 16

/* the streams checked so far, to go back to when a resolve starts over */
int ev_writer_save_touched(struct ev_writer *w, uint64_t **out, size_t *n)
{
	*out = NULL;
	*n = w->touched_cap;
	if (w->touched_cap == 0)
		return 0;
	*out = malloc(w->touched_cap * sizeof(**out));
	if (*out == NULL)
		return -1;
	memcpy(*out, w->touched, w->touched_cap * sizeof(**out));
	return 0;
}

void ev_writer_restore_touched(struct ev_writer *w, const uint64_t *saved,
			       size_t n)
{
	/* the table may have grown since (n: the saved one's size): clear
	 * it, put back the saved hashes */
	size_t i, j, cap = w->touched_cap;

	if (cap > 0)
		memset(w->touched, 0, cap * sizeof(*w->touched));
	w->touched_n = 0;
	for (i = 0; saved != NULL && i < n; i++) {
		if (saved[i] == 0)
			continue;
		for (j = saved[i] & (cap - 1); w->touched[j] != 0;
		     j = (j + 1) & (cap - 1))
			;
		w->touched[j] = saved[i];
		w->touched_n++;
	}
}

/* Is stream h in the table of streams met? */
static int touched_has(const struct ev_writer *w, uint64_t h)
{
	size_t j, cap = w->touched_cap;

	if (cap == 0)
		return 0;
	for (j = h & (cap - 1); w->touched[j] != 0; j = (j + 1) & (cap - 1))
		if (w->touched[j] == h)
			return 1;
	return 0;
}

/* Has this writer met stream h (name[0..n)) before?  Marks it met, and
 * keeps its name for ev_writer_recheck_touched(). */
static int first_touch(struct ev_writer *w, uint64_t h, const char *name,
		       size_t n)
{
	uint8_t e[12];
	size_t j, cap;

	if ((w->touched_n + 1) * 2 > w->touched_cap) {
		uint64_t *old = w->touched, *nt;
		size_t oc = w->touched_cap, i;
		cap = oc ? oc * 2 : 64;
		nt = ev_zalloc(cap, sizeof(*nt));
		if (nt == NULL)
			return -1;
		for (i = 0; i < oc; i++) {
			if (old[i] == 0)
				continue;
			for (j = old[i] & (cap - 1); nt[j] != 0;
			     j = (j + 1) & (cap - 1))
				;
			nt[j] = old[i];
		}
		free(old);
		w->touched = nt;
		w->touched_cap = cap;
	}
	cap = w->touched_cap;
	for (j = h & (cap - 1); w->touched[j] != 0; j = (j + 1) & (cap - 1))
		if (w->touched[j] == h)
			return 0;
	ev_put64(e, h);
	ev_put32(e + 8, (uint32_t)n);
	if (ev_buf_append(&w->touched_names, e, sizeof(e)) != 0 ||
	    ev_buf_append(&w->touched_names, name, n) != 0)
		return -1;
	w->touched[j] = h;
	w->touched_n++;
	return 1;
}

/*
 * The writer has just followed a rewrite in place to the log now at its
 * path (evlog(5) Writers), and loaded that log's state into w->st; old
 * is the old log's state as the swap left it, or NULL when it could not
 * be read.  A stream whose expectation this writer checked stays checked
 * if the new log has it as the old one had it: existing or not, at the
 * same version.  One that the rewrite changed (events of it dropped,
 * split or moved) is met afresh: with an expected version or no stream
 * expected, its next event is a conflict (the versions this writer
 * counted on are not the new log's; stale_version()); with the stream
 * expected to exist, that is checked again against the new log.
 * 0, or -1 out of memory.
 */
int ev_writer_recheck_touched(struct ev_writer *w, struct ev_state *old)
{
	struct ev_buf kept = {0};
	const uint8_t *p = w->touched_names.p;
	const uint8_t *end = p + w->touched_names.len;
	struct ev_sref a, b;
	uint8_t v[8];
	uint64_t h;
	uint32_t n;
	int r = 0, same;

	while (r == 0 && end - p >= 12) {
		const char *name = (const char *)p + 12;
		h = ev_get64(p);
		n = ev_get32(p + 8);
		if ((size_t)(end - p - 12) < n)
			break;
		/* the names of streams still met (a resolve that started
		 * over may have forgotten some) */
		if (touched_has(w, h) && old != NULL) {
			same = ev_state_stream_h(old, name, n, h, &a) ==
				       ev_state_stream_h(w->st, name, n, h,
							 &b) &&
			       a.last_version == b.last_version;
			if (same)
				r = ev_buf_append(&kept, p, 12 + (size_t)n);
			else if (w->o.expect != EV_EXPECT_EXISTS) {
				ev_put64(v, a.last_version);
				if (ev_buf_append(&w->stale, v, 8) != 0 ||
				    ev_buf_append(&w->stale, p, 12 + (size_t)n))
					r = -1;
			}
		}
		p += 12 + (size_t)n;
	}
	if (w->touched_cap > 0)
		memset(w->touched, 0, w->touched_cap * sizeof(*w->touched));
	w->touched_n = 0;
	w->touched_names.len = 0;
	for (p = kept.p, end = p + kept.len; r == 0 && p < end;
	     p += 12 + (size_t)n) {
		h = ev_get64(p);
		n = ev_get32(p + 8);
		if (!touched_has(w, h) &&
		    first_touch(w, h, (const char *)p + 12, n) < 0)
			r = -1;
	}
	ev_buf_free(&kept);
	return r;
}

/* A stream met before a rewrite in place changed it: 1 with the version
 * the old log had it at, 0 not one. */
static int stale_version(const struct ev_writer *w, uint64_t h,
			 const struct ev_str *name, uint64_t *version)
{
	const uint8_t *p = w->stale.p, *end = p + w->stale.len;
	uint32_t n;

	for (; end - p >= 20; p += 20 + (size_t)n) {
		n = ev_get32(p + 16);
		if ((size_t)(end - p - 20) < n)
			break;
		if (ev_get64(p + 8) == h && n == name->n &&
		    memcmp(p + 20, name->p, n) == 0) {
			*version = ev_get64(p);
			return 1;
		}
	}
	return 0;
}

/* Is the event at offset off (before this group) the one with this id?
 * 1 yes, 0 no, <0 error. */
static int id_at(struct ev_writer *w, uint64_t off, const struct ev_str *id,
		 struct ev_error *err)
{
	struct ev_rec rec;
	struct ev_event ev;
	int r;

	if (w->dup_rd == NULL) {
		r = ev_reader_open(&w->dup_rd, w->log, err);
		if (r != 0)
			return r;
	}
	r = ev_reader_refresh(w->dup_rd, err);
	if (r < 0)
		return r;
	if (off < ev_reader_first_offset(w->dup_rd))
		return 0; /* trimmed meanwhile */
	r = ev_reader_seek(w->dup_rd, off, err);
	if (r != 0)
		return r;
	r = ev_reader_next(w->dup_rd, &rec, err);
	if (r <= 0)
		return r;
	if (rec.offset != off || ev_event_decode(rec.p, rec.n, &ev, err) != 0)
		return 0;
	return ev.id.n == id->n && memcmp(ev.id.p, id->p, id->n) == 0;
}

/* The offset of an earlier event with this id within the dedupe window:
 * 1 found, 0 none, <0 error. */
static int find_dup(struct ev_writer *w, const struct ev_str *id, uint64_t h,
		    uint64_t *orig, struct ev_error *err)
{
	uint64_t c[8];
	size_t n = ev_state_id_candidates_h(w->st, h, c, 8), i;
	int r;

	for (i = 0; i < n; i++) {
		if (c[i] >= w->gids_base) {
			const struct gid *g = &w->gids[c[i] - w->gids_base];
			if (c[i] - w->gids_base < w->ngids && g->n == id->n &&
			    memcmp(g->id, id->p, id->n) == 0) {
				*orig = c[i];
				return 1;
			}
			continue;
		}
		r = id_at(w, c[i], id, err);
		if (r < 0)
			return r;
		if (r == 1) {
			*orig = c[i];
			return 1;
		}
	}
	return 0;
}

static int conflict(struct ev_writer *w, struct wbatch *b, uint32_t i,
		    struct ev_error *err, const char *fmt, ...) EV_PRINTF(5, 6);

/* The first conflict: nothing from record i of b on is appended. */
static int conflict(struct ev_writer *w, struct wbatch *b, uint32_t i,
		    struct ev_error *err, const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->failed_tag = b->tags[i];
	return ev_seterr(err, EV_EAGAIN, "%s", msg);
}

/* Quote a stream name for a message, bounded. */
static const char *qname(const struct ev_str *s, char *buf, size_t n)
{
	snprintf(buf, n, "%.*s", (int)(s->n > 200 ? 200 : s->n), s->p);
	return buf;
}

/* Bytes of a msgpack uint from its first byte; 0 when not a uint. */
static size_t uint_len(uint8_t b)
{
	return b < 0x80	   ? 1
	       : b == 0xcc ? 2
	       : b == 0xcd ? 3
	       : b == 0xce ? 5
	       : b == 0xcf ? 9
			   : 0;
}

/*
 * Append to out the framed record with version v and link prev (none:
 * EV_NO_PREV), spliced from rec: the version sits right after the
 * stream (key 4 after key 3), the link is the last key (10).  Returns
 * -1 when rec is not laid out as our encoder lays it out; the caller
 * then encodes afresh.
 */
static int splice_record(struct ev_buf *out, const uint8_t *rec, size_t n,
			 const struct ev_event *ev, uint64_t v, uint64_t prev,
			 int framed)
{
	uint8_t vb[10], pb[10], old[10];
	size_t vpos, vend, pend = n, vl, pl = 0, len, k;
	unsigned cnt = rec[0] & 0x0f;
	uint8_t *o;

	vpos = (size_t)((const uint8_t *)ev->stream.p + ev->stream.n - rec);
	vend = vpos;
	if (ev->version != 0) {
		if (vpos + 1 >= n || rec[vpos] != EV_K_VERSION ||
		    (k = uint_len(rec[vpos + 1])) == 0)
			return -1;
		vend = vpos + 1 + k;
	} else {
		cnt++;
	}
	if (ev->prev != EV_NO_PREV) {
		k = (size_t)(ev_mp_uint(old, ev->prev) - old);
		if (n < vend + k + 1 || rec[n - k - 1] != EV_K_PREV ||
		    memcmp(rec + n - k, old, k) != 0)
			return -1;
		pend = n - k - 1;
		cnt--;
	}
	vb[0] = EV_K_VERSION;
	vl = (size_t)(ev_mp_uint(vb + 1, v) - vb);
	if (prev != EV_NO_PREV) {
		pb[0] = EV_K_PREV;
		pl = (size_t)(ev_mp_uint(pb + 1, prev) - pb);
		cnt++;
	}
	if (cnt < 3 || cnt > EV_K_MAX)
		return -1;
	len = 1 + (vpos - 1) + vl + (pend - vend) + pl;
	if (ev_buf_reserve(out, len + 10) != 0)
		return -2;
	o = out->p + out->len;
	if (framed)
		o = ev_uleb_put(o, len);
	*o++ = (uint8_t)(0x80 | cnt);
	memcpy(o, rec + 1, vpos - 1);
	o += vpos - 1;
	memcpy(o, vb, vl);
	o += vl;
	memcpy(o, rec + vend, pend - vend);
	o += pend - vend;
	memcpy(o, pb, pl);
	o += pl;
	out->len = (size_t)(o - out->p);
	return 0;
}

/* Append a framed record as it is. */
static int put_framed(struct ev_buf *out, const uint8_t *rec, size_t n)
{
	if (ev_buf_reserve(out, n + 10) != 0)
		return -1;
	out->len = (size_t)(ev_uleb_put(out->p + out->len, n) - out->p);
	memcpy(out->p + out->len, rec, n);
	out->len += n;
	return 0;
}

/* Encode the record afresh, with version v and link prev, into out (as
 * it is, or framed through tmp). */
static int reencode(struct ev_buf *tmp, struct ev_buf *out,
		    const struct ev_event *ev, uint64_t v, uint64_t prev,
		    int framed, struct ev_error *err)
{
	struct ev_fields f;

	ev_fields_init(&f);
	f.type = ev->type.p;
	f.type_n = ev->type.n;
	f.id = ev->id.p;
	f.id_n = ev->id.n;
	f.stream = ev->stream.p;
	f.stream_n = ev->stream.n;
	f.key = ev->key.p;
	f.key_n = ev->key.n;
	f.time = ev->time;
	f.version = v;
	f.schema = ev->schema;
	f.data = ev->data;
	f.data_n = ev->data_len;
	f.data_bin = ev->data_is_binary;
	f.meta = ev->meta;
	f.meta_n = ev->meta_len;
	f.prev = prev;
	f.resolved = 1;
	if (!framed)
		return ev_record_encode(&f, ev->time, out, NULL, err);
	tmp->len = 0;
	if (ev_record_encode(&f, ev->time, tmp, NULL, err) != 0)
		return err->code;
	if (put_framed(out, tmp->p, tmp->len) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}

int ev_record_relink(struct ev_buf *out, const uint8_t *rec, size_t n,
		     const struct ev_event *ev, uint64_t v, uint64_t prev,
		     struct ev_error *err)
{
	int r = splice_record(out, rec, n, ev, v, prev, 0);

	if (r == -2)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (r != 0)
		return reencode(NULL, out, ev, v, prev, 0, err);
	return 0;
}

/*
 * Decode and hash the records of a batch on the adding thread, so that
 * the writer thread, which holds the lock, does only the lookups.  A
 * record that does not decode leaves it to ev_writer_resolve(), which
 * reports it.
 * Returns 0, 1 when record *bad does not decode, -1 out of memory.
 */
int ev_writer_prep_ri(struct ev_writer *w, struct wbatch *b, uint32_t *bad)
{
	const uint8_t *p = b->raw.p, *end = p + b->raw.len, *rec;
	struct ev_error e;
	struct ev_event ev;
	struct rinfo *ri;
	size_t n;
	uint32_t i;

	b->ri_ready = 0;
	if (b->ri_cap < b->count) {
		/* a quarter more: batches are recycled, and their counts vary
		 * a little from one to the next */
		size_t cap = b->count + b->count / 4;
		struct rinfo *nr = realloc(b->ri, cap * sizeof(*nr));
		if (nr == NULL)
			return -1;
		b->ri = nr;
		b->ri_cap = cap;
	}
	for (i = 0; i < b->count; i++) {
		ri = &b->ri[i];
		if (ev_payload_next(&p, end, &rec, &n) != 0 ||
		    (w->trusted ? ev_event_decode_head_trusted(rec, n, &ev, &e)
		     : w->o.unlinked ? ev_event_decode_head(rec, n, &ev, &e)
				     : ev_event_decode(rec, n, &ev, &e)) != 0) {
			*bad = i;
			return 1;
		}
		ri->rec = rec;
		ri->n = (uint32_t)n; /* at most EV_MAX_RECORD */
		ri->id_p = ev.id.p;
		ri->id_n = (uint32_t)ev.id.n;
		ri->stream_p = ev.stream.p;
		ri->stream_n = (uint32_t)ev.stream.n;
		ri->version = ev.version;
		ri->prev = ev.prev;
		ri->time = ev.time;
		ri->ih = ev_hash64(ev.id.p, ev.id.n);
		ri->sh = ev.stream.p ? ev_hash64(ev.stream.p, ev.stream.n) : 0;
	}
	b->ri_ready = 1;
	return 0;
}

/*
 * Resolve a batch against the state, under the lock: drop duplicates,
 * check expected versions, number stream events and link each to its
 * stream's previous event, and build the records to write in b->res.
 * Offsets are assigned from *next on.  Returns 0, or EV_EAGAIN at the
 * first conflict with b->acked set to the records before it.
 *
 * Two passes: the first decodes every record, hashes its id and stream
 * and prefetches their slots; the second does the work, by then mostly
 * from the cache.
 */
int ev_writer_resolve(struct ev_writer *w, struct wbatch *b, uint64_t *next,
		      struct ev_error *err)
{
	struct rinfo *ri;
	uint64_t orig, last_v, last_off, want_v;
	char nb[210];
	uint32_t i;
	int r;
	struct ev_sref ref;
	struct ev_event hd; /* what ri holds of the record's head */
	struct ev_event full;

	b->res.len = 0;
	b->kept = b->acked = 0;
	b->src = &b->res;
	if (b->acks_cap < b->count) {
		size_t cap = b->count + b->count / 4;
		struct wack *na = realloc(b->acks, cap * sizeof(*na));
		if (na == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		b->acks = na;
		b->acks_cap = cap;
	}
	if (ev_buf_reserve_exact(&b->res, b->raw.len + b->raw.len / 8) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (!b->ri_ready) {
		r = ev_writer_prep_ri(w, b, &i);
		if (r < 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		if (r > 0)
			return ev_seterr(err, EV_EDATA,
					 "record %u of a batch "
					 "does not decode",
					 i);
	}
	/* the slots of the records a little ahead, so that their cache
	 * misses overlap: all at once would evict the first before use */
	for (i = 0; i < b->count && i < PREFETCH_AHEAD; i++)
		ev_state_prefetch(w->st, b->ri[i].sh, b->ri[i].ih);
	for (i = 0; i < b->count; i++) {
		struct wack *a = &b->acks[i];
		const struct ev_event *ev;
		if (i + PREFETCH_AHEAD < b->count)
			ev_state_prefetch(w->st, b->ri[i + PREFETCH_AHEAD].sh,
					  b->ri[i + PREFETCH_AHEAD].ih);
		ri = &b->ri[i];
		memset(&hd, 0, sizeof(hd));
		hd.id.p = ri->id_p;
		hd.id.n = ri->id_n;
		hd.stream.p = ri->stream_p;
		hd.stream.n = ri->stream_n;
		hd.version = ri->version;
		hd.prev = ri->prev;
		hd.time = ri->time;
		ev = &hd;
		a->id = (const uint8_t *)ev->id.p;
		a->id_n = ev->id.n;
		/* a resent event is a duplicate whatever its version */
		r = find_dup(w, &ev->id, ri->ih, &orig, err);
		if (r < 0)
			return r;
		if (r == 1) {
			a->offset = orig;
			a->dup = 1;
			b->acked = i + 1;
			continue;
		}
		a->dup = 0;
		want_v = ev->version;
		last_off = EV_NO_PREV;
		memset(&ref, 0, sizeof(ref));
		if (ev->stream.p != NULL) {
			ev_state_stream_h(w->st, ev->stream.p, ev->stream.n,
					  ri->sh, &ref);
			last_v = ref.last_version;
			last_off = ref.last_offset;
			r = w->o.expect == EV_EXPECT_ANY
				    ? 0
				    : first_touch(w, ri->sh, ev->stream.p,
						  ev->stream.n);
			if (r < 0)
				return ev_seterr(err, EV_ERR, "out of memory");
			if (r == 1 && w->stale.len > 0 &&
			    stale_version(w, ri->sh, &ev->stream, &want_v))
				return conflict(
					w, b, i, err,
					"stream '%s' is at version %llu, "
					"expected %llu (a rewrite in place "
					"renumbered it)",
					qname(&ev->stream, nb, sizeof(nb)),
					(unsigned long long)last_v,
					(unsigned long long)want_v);
			if (r == 1 && w->o.expect == EV_EXPECT_NONE &&
			    ref.exists)
				return conflict(
					w, b, i, err,
					"stream '%s' is at version %llu, "
					"expected no stream",
					qname(&ev->stream, nb, sizeof(nb)),
					(unsigned long long)last_v);
			if (r == 1 && w->o.expect == EV_EXPECT_EXISTS &&
			    !ref.exists)
				return conflict(w, b, i, err,
						"stream '%s' does not exist, "
						"expected it to",
						qname(&ev->stream, nb,
						      sizeof(nb)));
			if (r == 1 && w->o.expect == EV_EXPECT_VERSION &&
			    last_v != w->o.expect_version)
				return conflict(
					w, b, i, err,
					"stream '%s' is at version %llu, "
					"expected %llu",
					qname(&ev->stream, nb, sizeof(nb)),
					(unsigned long long)last_v,
					(unsigned long long)
						w->o.expect_version);
			if (ev->version != 0 && !w->o.renumber &&
			    ev->version != last_v + 1)
				return conflict(
					w, b, i, err,
					"stream '%s' is at version %llu, "
					"event has version %llu",
					qname(&ev->stream, nb, sizeof(nb)),
					(unsigned long long)last_v,
					(unsigned long long)ev->version);
			want_v = last_v + 1;
		}
		if (want_v == ev->version && last_off == ev->prev) {
			if (put_framed(&b->res, ri->rec, ri->n) != 0)
				return ev_seterr(err, EV_ERR, "out of memory");
		} else {
			/* the same record, numbered and linked */
			r = splice_record(&b->res, ri->rec, ri->n, ev, want_v,
					  last_off, 1);
			if (r == -2)
				return ev_seterr(err, EV_ERR, "out of memory");
			/* not laid out as ours: encoded afresh, from the
			 * whole record (ri holds only its head) */
			if (r != 0 &&
			    (ev_event_decode(ri->rec, ri->n, &full, err) != 0 ||
			     reencode(&w->tmp, &b->res, &full, want_v, last_off,
				      1, err) != 0))
				return err->code;
		}
		if (ev_state_apply_h(w->st, &ref, ev->stream.p, ev->stream.n,
				     ri->sh, ri->ih, want_v, *next) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		if (w->ngids == w->gids_cap) {
			size_t cap = w->gids_cap ? 2 * w->gids_cap : 1024;
			struct gid *ng = realloc(w->gids, cap * sizeof(*ng));
			if (ng == NULL)
				return ev_seterr(err, EV_ERR, "out of memory");
			w->gids = ng;
			w->gids_cap = cap;
		}
		w->gids[w->ngids].id = a->id;
		w->gids[w->ngids++].n = a->id_n;
		a->offset = (*next)++;
		if (b->kept == 0 || ev->time < b->min_time)
			b->min_time = ev->time;
		if (b->kept == 0 || ev->time > b->max_time)
			b->max_time = ev->time;
		b->kept++;
		b->acked = i + 1;
	}
	if (b->res.len > EV_MAX_BATCH)
		return ev_seterr(err, EV_EDATA,
				 "a batch grew past %u bytes "
				 "when numbered",
				 EV_MAX_BATCH);
	return 0;
}

/* Bring the state up to the head, loading it the first time. */
int ev_writer_state_sync(struct ev_writer *w, struct ev_error *err)
{
	if (w->st != NULL && w->head_moved &&
	    (ev_state_covered(w->st) > w->head.next ||
	     ev_state_epoch(w->log) != w->epoch)) {
		/* the log was cut (a repair) or trimmed since: the events
		 * the state was built from may be gone, and others stand
		 * at their offsets; start over */
		ev_state_free(w->st);
		w->st = NULL;
	}
	w->head_moved = 0;
	if (w->st == NULL) {
		int r;
		w->epoch = ev_state_epoch(w->log);
		r = ev_state_load_lazy(&w->st, w->log, 1, !w->state_whole, err);
		/* a hint: without the room, the table grows as before */
		if (r == 0 && w->expect_ids > 0)
			(void)ev_state_reserve_ids(w->st, w->expect_ids);
		return r;
	}
	return ev_state_catch_up(w->st, w->head.next, err);
}

/* After a failure under the lock the state may hold what was not
 * written: forget it, to be loaded again. */
void ev_writer_state_drop(struct ev_writer *w)
{
	ev_state_free(w->st);
	w->st = NULL;
}
