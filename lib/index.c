/*
 * index.c - the sparse offset and time indexes of a segment
 * (evlog(5) INDEXES).  Indexes are caches: every entry a reader uses is
 * checked against the segment, and a missing or bad index means a scan.
 * A segment's index files are created, with their header, by segment.c;
 * writers append their entries, and ev_index_rebuild() replaces both.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog_private.h"

void ev_tix_entry(uint8_t out[EV_TIX_ENTRY], ev_time_t t, uint32_t rel,
		  uint64_t salt)
{
	uint8_t tmp[20];

	ev_put64(out, (uint64_t)t);
	ev_put32(out + 8, rel);
	memcpy(tmp, out, 12);
	ev_put64(tmp + 12, salt);
	ev_put32(out + 12, ev_crc32c(0, tmp, 20));
}

int ev_tix_entry_ok(const uint8_t *e, uint64_t salt)
{
	uint8_t tmp[20];

	memcpy(tmp, e, 12);
	ev_put64(tmp + 12, salt);
	return ev_get32(e + 12) == ev_crc32c(0, tmp, 20);
}

/* Open an index file and check its header; returns fd and entry count. */
static int index_open(int dirfd, uint64_t base, uint64_t salt, int time,
		      uint64_t *count)
{
	char name[40];
	uint8_t h[EV_IDXHDR_SIZE], want[EV_IDXHDR_SIZE];
	struct stat st;
	int fd;

	ev_segment_name(name, sizeof(name), base, time ? "tix" : "idx");
	fd = ev_openat(dirfd, name, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	ev_index_header(want, time, salt);
	if (fstat(fd, &st) != 0 || ev_read_full(fd, h, sizeof(h), 0) != 1 ||
	    memcmp(h, want, sizeof(h)) != 0) {
		close(fd);
		return -1;
	}
	*count = ((uint64_t)st.st_size - EV_IDXHDR_SIZE) /
		 (time ? EV_TIX_ENTRY : EV_IDX_ENTRY);
	return fd;
}

int ev_index_find(int dirfd, uint64_t base, uint64_t salt, uint64_t target,
		  uint64_t limit, uint64_t *pos, uint64_t *off)
{
	uint64_t count, lo, hi, mid, rel;
	uint8_t e[EV_IDX_ENTRY];
	int fd, found = 0;

	if (target < base)
		return 0;
	fd = index_open(dirfd, base, salt, 0, &count);
	if (fd < 0)
		return 0;
	rel = target - base;
	/* last entry with relative offset <= rel */
	lo = 0;
	hi = count;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ev_read_full(fd, e, sizeof(e),
				 EV_IDXHDR_SIZE + mid * EV_IDX_ENTRY) != 1)
			goto out;
		if (ev_get32(e) <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* step back past entries beyond the durable end */
	while (lo > 0) {
		lo--;
		if (ev_read_full(fd, e, sizeof(e),
				 EV_IDXHDR_SIZE + lo * EV_IDX_ENTRY) != 1)
			goto out;
		if (ev_get32(e + 4) < limit && ev_get32(e) <= rel) {
			*pos = ev_get32(e + 4);
			*off = base + ev_get32(e);
			found = 1;
			break;
		}
	}
out:
	close(fd);
	return found;
}

/*
 * The whole offset index of a segment, for a reader that seeks often
 * (ev_reader_get): one read, then every lookup is in memory.
 */
uint64_t ev_index_load(int dirfd, uint64_t base, uint64_t salt,
		       uint64_t seg_size, struct ev_buf *out)
{
	uint64_t count;
	int fd = index_open(dirfd, base, salt, 0, &count);

	out->len = 0;
	if (fd < 0)
		return 0;
	/* an index larger than its segment can need is damaged: its size
	 * must not decide how much memory a reader takes */
	if (count > ev_index_max_entries(seg_size) ||
	    ev_buf_reserve(out, count * EV_IDX_ENTRY) != 0 ||
	    ev_read_full(fd, out->p, count * EV_IDX_ENTRY, EV_IDXHDR_SIZE) != 1)
		count = 0;
	close(fd);
	out->len = count * EV_IDX_ENTRY;
	return count;
}

/* ev_index_find over entries loaded by ev_index_load */
int ev_index_find_mem(const uint8_t *ents, uint64_t count, uint64_t base,
		      uint64_t target, uint64_t limit, uint64_t *pos,
		      uint64_t *off)
{
	uint64_t lo = 0, hi = count, mid, rel;
	const uint8_t *e;

	if (target < base)
		return 0;
	rel = target - base;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ev_get32(ents + mid * EV_IDX_ENTRY) <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo > 0) {
		e = ents + --lo * EV_IDX_ENTRY;
		if (ev_get32(e + 4) < limit && ev_get32(e) <= rel) {
			*pos = ev_get32(e + 4);
			*off = base + ev_get32(e);
			return 1;
		}
	}
	return 0;
}

int ev_index_entry(int dirfd, uint64_t base, uint64_t salt, uint64_t k,
		   uint64_t *off, uint64_t *pos)
{
	uint64_t count;
	uint8_t e[EV_IDX_ENTRY];
	int fd, r = 0;

	fd = index_open(dirfd, base, salt, 0, &count);
	if (fd < 0)
		return 0;
	if (k < count && ev_read_full(fd, e, sizeof(e),
				      EV_IDXHDR_SIZE + k * EV_IDX_ENTRY) == 1) {
		*off = base + ev_get32(e);
		*pos = ev_get32(e + 4);
		r = 1;
	}
	close(fd);
	return r;
}

int ev_tindex_find(int dirfd, uint64_t base, uint64_t salt, ev_time_t t,
		   uint64_t *off, ev_time_t *tmax, uint64_t *entry)
{
	uint64_t count, lo, hi, mid;
	uint8_t e[EV_TIX_ENTRY];
	int fd, found = 0;

	fd = index_open(dirfd, base, salt, 1, &count);
	if (fd < 0)
		return 0;
	/* last entry with T < t */
	lo = 0;
	hi = count;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ev_read_full(fd, e, sizeof(e),
				 EV_IDXHDR_SIZE + mid * EV_TIX_ENTRY) != 1 ||
		    !ev_tix_entry_ok(e, salt))
			goto out;
		if ((ev_time_t)ev_get64(e) < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0) {
		if (ev_read_full(fd, e, sizeof(e),
				 EV_IDXHDR_SIZE + (lo - 1) * EV_TIX_ENTRY) !=
			    1 ||
		    !ev_tix_entry_ok(e, salt))
			goto out;
		*off = base + ev_get32(e + 8);
		*tmax = (ev_time_t)ev_get64(e);
		*entry = lo - 1;
		found = 1;
	}
out:
	close(fd);
	return found;
}

/* The summary index too: there (a missing one is made by the rebuild,
 * from the batches, once), with the right header and whole entries, in
 * order, that check out. */
static int six_sound(int dirfd, uint64_t base, uint64_t salt)
{
	uint8_t want[EV_IDXHDR_SIZE], hdr[EV_IDXHDR_SIZE], e[EV_SIX_ENTRY];
	char name[40];
	struct stat st;
	uint64_t k, count, prev = 0;
	int fd, ok;

	ev_segment_name(name, sizeof(name), base, "six");
	fd = ev_openat(dirfd, name, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	ev_six_header(want, salt);
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	     st.st_size >= EV_IDXHDR_SIZE &&
	     (st.st_size - EV_IDXHDR_SIZE) % EV_SIX_ENTRY == 0 &&
	     ev_read_full(fd, hdr, sizeof(hdr), 0) == 1 &&
	     memcmp(hdr, want, sizeof(hdr)) == 0;
	count = ok ? ((uint64_t)st.st_size - EV_IDXHDR_SIZE) / EV_SIX_ENTRY : 0;
	for (k = 0; k < count && ok; k++) {
		ok = ev_read_full(fd, e, sizeof(e),
				  EV_IDXHDR_SIZE + k * EV_SIX_ENTRY) == 1 &&
		     ev_six_entry_ok(e, salt) &&
		     (k == 0 || ev_get32(e + 4) > prev);
		prev = ev_get32(e + 4);
	}
	close(fd);
	return ok;
}

/*
 * Are a segment's index files sound: the right headers, then entries that
 * ascend, time entries whose checksums hold, and positions past the
 * segment header?  Indexes are appended without a sync while their
 * segment is the head, so a power cut can leave zeros or lose entries
 * among them; a writer opening the log checks the head segment's and
 * rebuilds them when they are not (ev_index_rebuild()).
 */
int ev_index_sound(int dirfd, uint64_t base, uint64_t salt)
{
	uint8_t want[EV_IDXHDR_SIZE], hdr[EV_IDXHDR_SIZE], e[EV_TIX_ENTRY];
	char name[40];
	struct stat st;
	uint64_t k, count, rel, pos, prev_rel = 0, prev_pos = 0;
	int t, fd, ok = 1;

	for (t = 0; t < 2 && ok; t++) {
		size_t esz = t ? EV_TIX_ENTRY : EV_IDX_ENTRY;
		ev_segment_name(name, sizeof(name), base, t ? "tix" : "idx");
		fd = ev_openat(dirfd, name, O_RDONLY | O_NONBLOCK, 0);
		if (fd < 0)
			return errno == ENOENT ? 1 : 0; /* remade on open */
		ev_index_header(want, t, salt);
		ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		     ev_read_full(fd, hdr, sizeof(hdr), 0) == 1 &&
		     memcmp(hdr, want, sizeof(hdr)) == 0;
		count = ok ? ((uint64_t)st.st_size - EV_IDXHDR_SIZE) / esz : 0;
		for (k = 0; k < count && ok; k++) {
			if (ev_read_full(fd, e, esz,
					 EV_IDXHDR_SIZE + k * esz) != 1) {
				ok = 0;
				break;
			}
			rel = ev_get32(t ? e + 8 : e);
			pos = t ? EV_SEGHDR_SIZE : ev_get32(e + 4);
			if ((t && !ev_tix_entry_ok(e, salt)) ||
			    pos < EV_SEGHDR_SIZE ||
			    (k > 0 &&
			     (rel <= prev_rel || (!t && pos <= prev_pos))))
				ok = 0;
			prev_rel = rel;
			prev_pos = pos;
		}
		close(fd);
	}
	return ok && six_sound(dirfd, base, salt);
}

/* The summary entry of the batch h at pos (payload read and decoded):
 * appended to six, or nothing when the batch does not read. */
static void six_rebuild_entry(struct ev_buf *six, int fd, uint64_t base,
			      uint64_t pos, uint64_t limit, uint64_t salt,
			      struct ev_codec *codec, struct ev_buf *stored,
			      struct ev_buf *raw)
{
	uint8_t body[EV_SUM_BODY], e[EV_SIX_ENTRY];
	struct ev_batchhdr h;
	const char *why;

	if (codec == NULL ||
	    ev_segment_read_batch(fd, pos, limit, salt, &h, stored, &why) !=
		    0 ||
	    ev_batch_is_gap(&h) ||
	    EV_BATCHHDR_SIZE + (uint64_t)h.stored_len < EV_SUM_MIN_BATCH ||
	    ev_codec_decode(codec, &h, stored->p, raw, &why) != 0 ||
	    ev_summary_body(body, raw->p, raw->len) != 0)
		return;
	ev_six_entry(e, (uint32_t)(h.base - base), (uint32_t)pos, &h, body,
		     salt);
	ev_buf_append(six, e, EV_SIX_ENTRY);
}

/* 1 when file name of dirfd holds exactly the n bytes at p */
static int same_file(int dirfd, const char *name, const void *p, size_t n)
{
	struct stat st;
	uint8_t *q;
	int fd, same = 0;

	fd = ev_openat(dirfd, name, O_RDONLY, 0);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == n && (q = malloc(n ? n : 1)) != NULL) {
		same = ev_read_full(fd, q, n, 0) == 1 && memcmp(p, q, n) == 0;
		free(q);
	}
	close(fd);
	return same;
}

int ev_index_rebuild(struct ev_log *log, uint64_t base, uint64_t salt,
		     uint64_t limit, uint64_t *last_index, ev_time_t *max_time,
		     struct ev_error *err)
{
	return ev_index_rebuild_ex(log, base, salt, limit, last_index, max_time,
				   0, NULL, err);
}

int ev_index_rebuild_ex(struct ev_log *log, uint64_t base, uint64_t salt,
			uint64_t limit, uint64_t *last_index,
			ev_time_t *max_time, int dry, int *changed,
			struct ev_error *err)
{
	struct ev_buf *bufs[3];
	const char *exts[3] = {"idx", "tix", "six"};
	int k;
	struct ev_buf idx = {0}, tix = {0}, six = {0}, stored = {0}, raw = {0};
	struct ev_codec *codec = ev_codec_new();
	struct ev_batchhdr h;
	char name[40];
	uint64_t pos = EV_SEGHDR_SIZE, li = EV_SEGHDR_SIZE;
	ev_time_t mt = EV_TIME_NONE;
	uint8_t e[EV_TIX_ENTRY];
	const char *why;
	int fd, rc = 0;

	ev_segment_name(name, sizeof(name), base, "seg");
	fd = ev_openat(log->dirfd, name, O_RDONLY, 0);
	if (fd < 0) {
		ev_codec_free(codec);
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot open '%s/%s'", log->path, name);
	}
	if (ev_buf_reserve(&idx, EV_IDXHDR_SIZE) != 0 ||
	    ev_buf_reserve(&tix, EV_IDXHDR_SIZE) != 0 ||
	    ev_buf_reserve(&six, EV_IDXHDR_SIZE) != 0) {
		rc = ev_seterr(err, EV_ERR, "out of memory");
		goto out;
	}
	ev_index_header(idx.p, 0, salt);
	idx.len = EV_IDXHDR_SIZE;
	ev_index_header(tix.p, 1, salt);
	tix.len = EV_IDXHDR_SIZE;
	ev_six_header(six.p, salt);
	six.len = EV_IDXHDR_SIZE;
	while (pos < limit) {
		if (ev_segment_read_batch(fd, pos, limit, salt, &h, NULL,
					  &why) != 0)
			break;
		if (pos - li >= EV_INDEX_INTERVAL) {
			ev_put32(e, (uint32_t)(h.base - base));
			ev_put32(e + 4, (uint32_t)pos);
			ev_buf_append(&idx, e, EV_IDX_ENTRY);
			if (mt != EV_TIME_NONE) {
				ev_tix_entry(e, mt, (uint32_t)(h.base - base),
					     salt);
				ev_buf_append(&tix, e, EV_TIX_ENTRY);
			}
			li = pos;
		}
		if (!ev_batch_is_gap(&h) &&
		    EV_BATCHHDR_SIZE + (uint64_t)h.stored_len >=
			    EV_SUM_MIN_BATCH)
			six_rebuild_entry(&six, fd, base, pos, limit, salt,
					  codec, &stored, &raw);
		if (mt == EV_TIME_NONE || h.max_time > mt)
			mt = h.max_time;
		pos += EV_BATCHHDR_SIZE + h.stored_len;
	}
	bufs[0] = &idx;
	bufs[1] = &tix;
	bufs[2] = &six;
	if (changed)
		*changed = 0;
	for (k = 0; k < 3; k++) {
		ev_segment_name(name, sizeof(name), base, exts[k]);
		/* one that holds what it would get is left alone */
		if ((changed || dry) &&
		    same_file(log->dirfd, name, bufs[k]->p, bufs[k]->len))
			continue;
		if (changed)
			*changed = 1;
		if (!dry && ev_file_replace(log->dirfd, name, bufs[k]->p,
					    bufs[k]->len) != 0) {
			rc = ev_seterr_errno(err, EV_EIO, errno,
					     "cannot write '%s/%s'", log->path,
					     name);
			goto out;
		}
	}
	if (last_index)
		*last_index = li;
	if (max_time)
		*max_time = mt;
out:
	close(fd);
	ev_buf_free(&idx);
	ev_buf_free(&tix);
	ev_buf_free(&six);
	ev_buf_free(&stored);
	ev_buf_free(&raw);
	ev_codec_free(codec);
	return rc;
}

/* ------------------------------------------------------------ summaries */

/*
 * The summary index NNNN.six (evlog(5) Summaries): one 64-byte entry per
 * batch of at least EV_SUM_MIN_BATCH bytes, saying which types and which
 * stream categories its events have, exactly for a few, else as a Bloom
 * filter, so that a reader after some types or categories passes by
 * the batches that have none of them without reading their payloads.
 */

uint64_t ev_sum_type_key(const char *type, size_t n)
{
	return ev_hash64(type, n);
}

uint64_t ev_sum_stream_key(const char *stream, size_t n)
{
	const char *dash = memchr(stream, '-', n);

	/* the category: the name up to its first '-' */
	if (dash != NULL)
		n = (size_t)(dash - stream);
	return ev_hash64(stream, n) ^ EV_SUM_CAT_XOR;
}

static void bloom_set(uint8_t *bits, uint64_t k)
{
	uint32_t a = (uint32_t)k, b = (uint32_t)(k >> 32), i, bit;

	for (i = 0; i < EV_SUM_BLOOM_K; i++) {
		bit = (a + i * b) % EV_SUM_BLOOM_BITS;
		bits[bit / 8] |= (uint8_t)(1u << (bit % 8));
	}
}

static int bloom_has(const uint8_t *bits, uint64_t k)
{
	uint32_t a = (uint32_t)k, b = (uint32_t)(k >> 32), i, bit;

	for (i = 0; i < EV_SUM_BLOOM_K; i++) {
		bit = (a + i * b) % EV_SUM_BLOOM_BITS;
		if (!(bits[bit / 8] & (1u << (bit % 8))))
			return 0;
	}
	return 1;
}

struct sumb {
	uint64_t ex[EV_SUM_EXACT_MAX];
	int n, bloom;
	uint8_t bits[EV_SUM_BLOOM_BITS / 8];
};

/* Names seen in the batch, with their keys: most batches have a few
 * types and categories, each hashed once. */
#define SEEN_MAX 32
struct seen {
	struct ev_str s[SEEN_MAX];
	uint64_t k[SEEN_MAX];
	int n, last;
};

/* a == b, n bytes each: names are short, so without a call */
static inline int name_eq(const char *a, const char *b, size_t n)
{
	uint64_t x, y, u, v;
	size_t i;

	if (n > 16)
		return memcmp(a, b, n) == 0;
	if (n >= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&u, a + n - 8, 8);
		memcpy(&v, b + n - 8, 8);
		return x == y && u == v;
	}
	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static uint64_t seen_key(struct seen *sn, const char *p, size_t n, int cat)
{
	uint64_t k;
	int i = sn->last;

	if (i < sn->n && sn->s[i].n == n && name_eq(sn->s[i].p, p, n))
		return sn->k[i];
	for (i = 0; i < sn->n; i++)
		if (sn->s[i].n == n && name_eq(sn->s[i].p, p, n)) {
			sn->last = i;
			return sn->k[i];
		}
	k = cat ? ev_hash64(p, n) ^ EV_SUM_CAT_XOR : ev_sum_type_key(p, n);
	if (sn->n < SEEN_MAX) {
		sn->s[sn->n].p = p;
		sn->s[sn->n].n = n;
		sn->k[sn->n] = k;
		sn->last = sn->n++;
	}
	return k;
}

static void sum_add(struct sumb *s, uint64_t k)
{
	int i;

	if (!s->bloom) {
		for (i = 0; i < s->n; i++)
			if (s->ex[i] == k)
				return;
		if (s->n < EV_SUM_EXACT_MAX) {
			s->ex[s->n++] = k;
			return;
		}
		s->bloom = 1;
		for (i = 0; i < s->n; i++)
			bloom_set(s->bits, s->ex[i]);
	}
	bloom_set(s->bits, k);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A str at *pp (fixstr or str 8, what writers write for names): 0 with
 * its bytes, or -1 for the general path. */
static inline int quick_str(const uint8_t **pp, const uint8_t *end,
			    struct ev_str *s)
{
	const uint8_t *p = *pp;
	size_t n;

	if (p >= end)
		return -1;
	if ((*p & 0xe0) == 0xa0) {
		n = *p & 0x1f;
		p++;
	} else if (*p == 0xd9 && end - p >= 2) {
		n = p[1];
		p += 2;
	} else {
		return -1;
	}
	if ((size_t)(end - p) < n)
		return -1;
	s->p = (const char *)p;
	s->n = n;
	*pp = p + n;
	return 0;
}

/* The type and stream of a record: 0, or -1 when it does not start as
 * a record does (the reader then reports it). */
static int peek_ts(const uint8_t *rec, size_t n, struct ev_str *type,
		   struct ev_str *stream)
{
	const uint8_t *p = rec, *end = rec + n;
	struct ev_mp_item it;
	struct ev_str id;

	/* the common form first: fixmap, id and type as fixstr or str 8 */
	if (n >= 4 && rec[0] >= 0x83 && rec[0] <= 0x8a && rec[1] == EV_K_ID) {
		p = rec + 2;
		if (quick_str(&p, end, &id) == 0 && p < end &&
		    *p == EV_K_TYPE) {
			p++;
			if (quick_str(&p, end, type) == 0) {
				stream->p = NULL;
				stream->n = 0;
				if (p < end && *p == EV_K_STREAM) {
					p++;
					if (quick_str(&p, end, stream) == 0)
						return 0;
				} else {
					return 0;
				}
			}
		}
	}
	if (ev_event_peek_type(rec, n, type) != 0)
		return -1;
	p = (const uint8_t *)type->p + type->n;
	stream->p = NULL;
	stream->n = 0;
	if (p < end && *p == EV_K_STREAM) {
		p++;
		if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_STR)
			return -1;
		stream->p = (const char *)it.p;
		stream->n = it.n;
	}
	return 0;
}

int ev_summary_body(uint8_t out[EV_SUM_BODY], const uint8_t *raw, size_t len)
{
	const uint8_t *p = raw, *end = raw + len, *rec;
	struct ev_str t, s;
	struct sumb sb;
	struct seen st, sc;
	uint32_t v[EV_SUM_EXACT_MAX];
	uint64_t key;
	size_t n, cn;
	int i, k, nt, nc;

	memset(&sb, 0, sizeof(sb));
	st.n = st.last = sc.n = sc.last = 0;
	while (p < end) {
		if (ev_payload_next(&p, end, &rec, &n) != 0 ||
		    peek_ts(rec, n, &t, &s) != 0)
			return -1;
		/* each name is hashed and added once (while the batch has
		 * fewer than SEEN_MAX of them) */
		nt = st.n;
		key = seen_key(&st, t.p, t.n, 0);
		if (st.n != nt || nt == SEEN_MAX)
			sum_add(&sb, key);
		if (s.p != NULL) {
			for (cn = 0; cn < s.n && s.p[cn] != '-'; cn++)
				;
			nc = sc.n;
			key = seen_key(&sc, s.p, cn, 1);
			if (sc.n != nc || nc == SEEN_MAX)
				sum_add(&sb, key);
		}
	}
	memset(out, 0, EV_SUM_BODY);
	if (sb.bloom) {
		out[0] = 1;
		memcpy(out + 4, sb.bits, sizeof(sb.bits));
		return 0;
	}
	for (i = 0; i < sb.n; i++)
		v[i] = (uint32_t)(sb.ex[i] >> 32);
	qsort(v, (size_t)sb.n, sizeof(v[0]), u32_cmp);
	for (i = k = 0; i < sb.n; i++)
		if (k == 0 || v[i] != v[k - 1])
			v[k++] = v[i];
	out[0] = 0;
	out[1] = (uint8_t)k;
	for (i = 0; i < k; i++)
		ev_put32(out + 4 + 4 * i, v[i]);
	return 0;
}

int ev_sum_may_hold(const uint8_t *body, const uint64_t *keys, size_t n)
{
	size_t i;
	int j;

	for (i = 0; i < n; i++) {
		if (body[0] == 1) {
			if (bloom_has(body + 4, keys[i]))
				return 1;
			continue;
		}
		if (body[0] != 0)
			return 1;
		for (j = 0; j < body[1] && j < EV_SUM_EXACT_MAX; j++)
			if (ev_get32(body + 4 + 4 * j) ==
			    (uint32_t)(keys[i] >> 32))
				return 1;
	}
	return 0;
}

static uint32_t six_crc(const uint8_t *e, uint64_t salt)
{
	uint8_t tmp[68];

	memcpy(tmp, e, 60);
	ev_put64(tmp + 60, salt);
	return ev_crc32c(0, tmp, sizeof(tmp));
}

void ev_six_entry(uint8_t out[EV_SIX_ENTRY], uint32_t rel, uint32_t pos,
		  const struct ev_batchhdr *h, const uint8_t body[EV_SUM_BODY],
		  uint64_t salt)
{
	ev_put32(out, rel);
	ev_put32(out + 4, pos);
	ev_put32(out + 8, h->count);
	ev_put32(out + 12, h->payload_crc);
	memcpy(out + 16, body, EV_SUM_BODY);
	ev_put32(out + 60, six_crc(out, salt));
}

int ev_six_entry_ok(const uint8_t *e, uint64_t salt)
{
	const uint8_t *b = e + 16;
	int i;

	if (ev_get32(e + 60) != six_crc(e, salt) || b[0] > 1 || b[2] != 0 ||
	    b[3] != 0 || (b[0] == 1 && b[1] != 0) ||
	    (b[0] == 0 && b[1] > EV_SUM_EXACT_MAX))
		return 0;
	/* exact: ascending, then zeros */
	for (i = 1; b[0] == 0 && i < b[1]; i++)
		if (ev_get32(b + 4 + 4 * i) <= ev_get32(b + 4 + 4 * (i - 1)))
			return 0;
	for (i = b[0] == 0 ? 4 + 4 * b[1] : EV_SUM_BODY; i < EV_SUM_BODY; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

int ev_six_entry_matches(const uint8_t *e, uint64_t base, uint64_t pos,
			 const struct ev_batchhdr *h, uint64_t salt)
{
	return h->base >= base && ev_get32(e) == (uint64_t)(h->base - base) &&
	       ev_get32(e + 4) == pos && ev_get32(e + 8) == h->count &&
	       ev_get32(e + 12) == h->payload_crc && !ev_batch_is_gap(h) &&
	       ev_six_entry_ok(e, salt);
}

int ev_six_open_append(int dirfd, uint64_t base, uint64_t salt)
{
	char name[40];
	uint8_t h[EV_IDXHDR_SIZE], want[EV_IDXHDR_SIZE];
	struct stat st;
	int fd;

	ev_segment_name(name, sizeof(name), base, "six");
	fd = ev_openat(dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK,
		       0644);
	if (fd < 0)
		return -1;
	ev_six_header(want, salt);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	if (st.st_size < EV_IDXHDR_SIZE ||
	    ev_read_full(fd, h, sizeof(h), 0) != 1 ||
	    memcmp(h, want, sizeof(h)) != 0 ||
	    (st.st_size - EV_IDXHDR_SIZE) % EV_SIX_ENTRY != 0) {
		/* another segment's, or torn: start it over */
		if (ftruncate(fd, 0) != 0 ||
		    write(fd, want, sizeof(want)) != (ssize_t)sizeof(want)) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

uint64_t ev_six_load(int dirfd, uint64_t base, uint64_t salt, uint64_t seg_size,
		     struct ev_buf *out)
{
	char name[40];
	uint8_t h[EV_IDXHDR_SIZE], want[EV_IDXHDR_SIZE];
	struct stat st;
	uint64_t count = 0, k;
	int fd;

	out->len = 0;
	ev_segment_name(name, sizeof(name), base, "six");
	fd = ev_openat(dirfd, name, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	ev_six_header(want, salt);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < EV_IDXHDR_SIZE ||
	    ev_read_full(fd, h, sizeof(h), 0) != 1 ||
	    memcmp(h, want, sizeof(h)) != 0)
		goto out;
	count = ((uint64_t)st.st_size - EV_IDXHDR_SIZE) / EV_SIX_ENTRY;
	/* one entry per EV_SUM_MIN_BATCH bytes at most, as the offset
	 * index: more is damage, and must not decide the memory used */
	if (count > ev_index_max_entries(seg_size) ||
	    ev_buf_reserve(out, count * EV_SIX_ENTRY) != 0 ||
	    ev_read_full(fd, out->p, count * EV_SIX_ENTRY, EV_IDXHDR_SIZE) !=
		    1) {
		count = 0;
		goto out;
	}
	for (k = 1; k < count; k++)
		if (ev_get32(out->p + k * EV_SIX_ENTRY + 4) <=
		    ev_get32(out->p + (k - 1) * EV_SIX_ENTRY + 4)) {
			count = 0; /* not in order: not used */
			break;
		}
out:
	close(fd);
	out->len = count * EV_SIX_ENTRY;
	return count;
}
