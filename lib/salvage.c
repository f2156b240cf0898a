/*
 * salvage.c - struct ev_salvage: the events that can still be read from
 * a file that evctl repair moved to lost+found (evtail(1) SALVAGE).
 *
 * Such a file is damaged by definition: a whole segment, the bytes of a
 * segment from a cut on (NAME.seg.from-byte-BYTE), or the bytes of a
 * batch replaced by a gap (NAME.seg.damaged-offsets-FIRST-LAST), the
 * last two without a segment header.  A first pass over the batch
 * headers splits the file into parts (ev_salvage_open): batches whose
 * header checks out, gap markers, and bad bytes between them, found
 * again by resynchronising on the next header that checks out.  Reading
 * then decodes part by part; a batch whose payload fails its checksum,
 * or bad bytes that still start where a batch should, give the records
 * that decode one by one, each checked as a reader checks a record,
 * until the first that does not.  Every length comes from the file and
 * is bounded by the limits of evlog(5) and by the file's size before
 * anything is allocated or read.
 *
 * This is the one place where a payload whose checksum fails is read:
 * the strict reader (reader.c) never comes here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog_private.h"

enum part_kind {
	PART_BATCH, /* a header that checks out; the payload may not */
	PART_GAP,   /* a gap marker: its events were lost before */
	PART_BAD,   /* bytes that are not a batch */
	PART_HOLE,  /* offsets that no byte of the file holds */
};

struct part {
	enum part_kind kind;
	uint64_t pos, end;    /* bytes of the file */
	uint64_t base;	      /* first offset, if known */
	uint64_t count;	      /* offsets, if counted */
	int known;	      /* base is known */
	int counted;	      /* and count too */
	struct ev_batchhdr h; /* PART_BATCH, PART_GAP */
};

struct ev_salvage {
	int fd;
	char *path;
	uint64_t size;
	uint64_t salt;
	int have_salt;
	int salt_hint; /* the salt came from the log's segment, not the file */
	uint64_t next; /* the offset expected next, while planning */
	int have_next;
	uint64_t name_last; /* the last lost offset the file name gives */
	int have_last;
	char id_hex[33];
	char hdr_why[160]; /* a damaged segment header */
	int hdr_warned;

	struct part *p;
	size_t n, cap;
	size_t at;     /* the part read next */
	size_t warned; /* parts before this one were reported */
	uint64_t first, end;
	uint64_t recovered; /* records given, over all passes */
	int damaged;	    /* a damaged part was met */
	int quiet;	    /* finding the end: no reports */
	struct ev_buf stored;
	struct ev_codec *codec;
};

/* ------------------------------------------------------------ names */

/* digits at *s: a number, advancing *s; -1 when none or too large */
static int num(const char **s, uint64_t *v)
{
	const char *p = *s;

	*v = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (*v > (UINT64_MAX - 9) / 10)
			return -1;
		*v = *v * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	return 0;
}

enum name_kind { NAME_OTHER, NAME_SEGMENT, NAME_FROM_BYTE, NAME_DAMAGED };

/*
 * What repair named the file (evctl(1) repair): SEGMENT.seg,
 * SEGMENT.seg.from-byte-BYTE or SEGMENT.seg.damaged-offsets-FIRST-LAST,
 * SEGMENT the 20 digits of a segment's base offset.
 */
static enum name_kind parse_name(const char *path, uint64_t *seg, uint64_t *a,
				 uint64_t *b)
{
	const char *s = strrchr(path, '/'), *t;

	s = s ? s + 1 : path;
	t = s;
	if (num(&t, seg) != 0 || t - s != 20 || strncmp(t, ".seg", 4) != 0)
		return NAME_OTHER;
	t += 4;
	if (*t == '\0')
		return NAME_SEGMENT;
	if (strncmp(t, ".from-byte-", 11) == 0) {
		t += 11;
		if (num(&t, a) == 0 && *t == '\0')
			return NAME_FROM_BYTE;
	} else if (strncmp(t, ".damaged-offsets-", 17) == 0) {
		t += 17;
		if (num(&t, a) == 0 && *t++ == '-' && num(&t, b) == 0 &&
		    *t == '\0' && *a <= *b)
			return NAME_DAMAGED;
	}
	return NAME_OTHER;
}

int ev_path_in_lost_found(const char *path)
{
	const char *e = strrchr(path, '/'), *d;

	if (e == NULL)
		return 0;
	while (e > path && e[-1] == '/')
		e--;
	for (d = e; d > path && d[-1] != '/'; d--)
		;
	return e - d == 10 && memcmp(d, "lost+found", 10) == 0;
}

/*
 * The segment of the log that a file of its lost+found came from
 * (LOG/lost+found/NAME: LOG/SEGMENT.seg), for what a file without a
 * segment header lacks: the salt, and where its offsets start.  Best
 * effort: anything amiss leaves them unknown.
 */
static void from_log_segment(struct ev_salvage *s, uint64_t seg,
			     enum name_kind kind, uint64_t byte)
{
	char *dir, segname[40], w[160];
	uint8_t hb[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	struct ev_batchhdr h;
	struct stat st;
	const char *why;
	uint64_t pos = EV_SEGHDR_SIZE, next, size;
	size_t dl;
	int fd, found = 0;

	if (!ev_path_in_lost_found(s->path))
		return;
	dl = (size_t)(strrchr(s->path, '/') - s->path);
	ev_segment_name(segname, sizeof(segname), seg, "seg");
	dir = malloc(dl + 4 + sizeof(segname));
	if (dir == NULL)
		return;
	snprintf(dir, dl + 4 + sizeof(segname), "%.*s/../%s", (int)dl, s->path,
		 segname);
	fd = open(dir, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    ev_read_full(fd, hb, sizeof(hb), 0) != 1 ||
	    ev_seghdr_check(hb, sizeof(hb), &sh, w, sizeof(w)) != 0 ||
	    sh.base != seg) {
		close(fd);
		return;
	}
	size = (uint64_t)st.st_size;
	next = sh.base;
	/* the batches before the file's bytes are still the log's: they
	 * lead to a cut at byte BYTE, or to the gap marker that stands for
	 * the file's offsets */
	while (!found && pos < size && (kind != NAME_FROM_BYTE || pos < byte) &&
	       ev_segment_read_batch(fd, pos, size, sh.salt, &h, NULL, &why) ==
		       0 &&
	       h.base == next) {
		found = kind == NAME_DAMAGED && ev_batch_is_gap(&h) &&
			h.base == s->next;
		pos += EV_BATCHHDR_SIZE + h.stored_len;
		next = h.base + h.count;
	}
	if (kind == NAME_FROM_BYTE && pos == byte)
		found = 1;
	close(fd);
	if (!found)
		return;
	s->salt = sh.salt;
	s->have_salt = s->salt_hint = 1;
	if (kind == NAME_FROM_BYTE) {
		s->next = next;
		s->have_next = 1;
	}
}

/* ------------------------------------------------------------ planning */

static int add_part(struct ev_salvage *s, const struct part *pt)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct part *np = realloc(s->p, cap * sizeof(*np));
		if (np == NULL)
			return EV_ERR;
		s->p = np;
		s->cap = cap;
	}
	s->p[s->n++] = *pt;
	return 0;
}

/*
 * Does a batch header that checks out start at pos?  Its checksum, its
 * salt (learnt from the first such header when the file does not say),
 * its fields and its payload's place in the file; and offsets that do
 * not go back.  A header whose payload the file cuts short is one too:
 * *cut is set.
 */
static int header_at(struct ev_salvage *s, uint64_t pos, struct ev_batchhdr *h,
		     int *cut)
{
	uint8_t hb[EV_BATCHHDR_SIZE];
	uint64_t salt;
	const char *why;

	*cut = 0;
	if (s->size - pos < EV_BATCHHDR_SIZE ||
	    ev_read_full(s->fd, hb, sizeof(hb), pos) != 1)
		return 0;
	salt = ev_get64(hb + 48);
	if (s->have_salt && salt != s->salt) {
		/* a salt from the log's segment, which a later segment of
		 * the same name replaced, gives way to the file's own */
		if (!s->salt_hint || s->n > 0 ||
		    ev_batchhdr_decode(hb, salt, h, &why) != 0)
			return 0;
		s->salt_hint = 0;
		s->have_next = 0;
	}
	if (ev_batchhdr_decode(hb, salt, h, &why) != 0)
		return 0;
	if (s->have_next && h->base < s->next)
		return 0;
	if (s->size - pos - EV_BATCHHDR_SIZE < h->stored_len) {
		if (ev_batch_is_gap(h))
			return 0;
		*cut = 1;
	}
	s->salt = salt;
	s->have_salt = 1;
	return 1;
}

/* The next header that checks out after the bad bytes at pos, or 0. */
static int resync(struct ev_salvage *s, uint64_t pos, uint64_t *at,
		  struct ev_batchhdr *h)
{
	uint8_t chunk[65536 + EV_BATCHHDR_SIZE], saltb[8];
	uint64_t from = pos + 1, c;
	size_t got, i;
	int cut;

	ev_put64(saltb, s->salt);
	while (from + EV_BATCHHDR_SIZE <= s->size) {
		got = (size_t)(s->size - from < sizeof(chunk) ? s->size - from
							      : sizeof(chunk));
		if (ev_read_full(s->fd, chunk, got, from) != 1)
			return 0;
		for (i = 0; i + EV_BATCHHDR_SIZE <= got; i++) {
			/* the salt first, when known: most positions fail
			 * on it without a checksum */
			if (s->have_salt &&
			    memcmp(chunk + i + 48, saltb, 8) != 0)
				continue;
			if (ev_get32(chunk + i + 60) !=
			    ev_crc32c(0, chunk + i, 60))
				continue;
			c = from + i;
			if (header_at(s, c, h, &cut)) {
				*at = c;
				return 1;
			}
		}
		if (got < sizeof(chunk))
			break;
		from += got - EV_BATCHHDR_SIZE + 1;
	}
	return 0;
}

static int plan(struct ev_salvage *s, uint64_t pos)
{
	struct ev_batchhdr h, h2;
	struct part pt;
	uint64_t at;
	int cut, found;

	while (pos < s->size) {
		memset(&pt, 0, sizeof(pt));
		if (header_at(s, pos, &h, &cut)) {
			if (s->have_next && h.base > s->next) {
				pt.kind = PART_HOLE;
				pt.pos = pt.end = pos;
				pt.base = s->next;
				pt.count = h.base - s->next;
				pt.known = pt.counted = 1;
				if (add_part(s, &pt) != 0)
					return EV_ERR;
			}
			pt.kind = ev_batch_is_gap(&h) ? PART_GAP : PART_BATCH;
			pt.pos = pos;
			pt.end = cut ? s->size
				     : pos + EV_BATCHHDR_SIZE + h.stored_len;
			pt.base = h.base;
			pt.count = h.count;
			pt.known = pt.counted = 1;
			pt.h = h;
			if (add_part(s, &pt) != 0)
				return EV_ERR;
			s->next = h.base + h.count;
			s->have_next = 1;
			pos = pt.end;
			continue;
		}
		found = resync(s, pos, &at, &h2);
		pt.kind = PART_BAD;
		pt.pos = pos;
		pt.end = found ? at : s->size;
		pt.known = s->have_next;
		pt.base = s->next;
		if (s->have_next && found) {
			pt.count = h2.base - s->next;
			pt.counted = 1;
		} else if (s->have_next && s->have_last &&
			   s->name_last >= s->next) {
			pt.count = s->name_last - s->next + 1;
			pt.counted = 1;
		}
		if (add_part(s, &pt) != 0)
			return EV_ERR;
		if (pt.counted)
			s->next += pt.count;
		else
			s->have_next = 0; /* the offsets are lost with them */
		pos = pt.end;
	}
	/* what the name says was lost, and no byte holds */
	if (s->have_last && s->have_next && s->next <= s->name_last) {
		memset(&pt, 0, sizeof(pt));
		pt.kind = PART_HOLE;
		pt.pos = pt.end = s->size;
		pt.base = s->next;
		pt.count = s->name_last - s->next + 1;
		pt.known = pt.counted = 1;
		if (add_part(s, &pt) != 0)
			return EV_ERR;
	}
	return 0;
}

static void set_range(struct ev_salvage *s)
{
	size_t i;
	int any = 0;

	for (i = 0; i < s->n; i++) {
		const struct part *pt = &s->p[i];
		if (!pt->known)
			continue;
		if (!any || pt->base < s->first)
			s->first = pt->base;
		if (!any || pt->base + pt->count > s->end)
			s->end = pt->base + pt->count;
		any = 1;
	}
	if (!any)
		s->first = s->end = 0;
}

static int find_end(struct ev_salvage *s, struct ev_error *err);

int ev_salvage_open(struct ev_salvage **out, const char *path,
		    struct ev_error *err)
{
	static const char hx[] = "0123456789abcdef";
	struct ev_salvage *s;
	struct ev_seghdr sh;
	struct stat st;
	uint8_t hb[EV_SEGHDR_SIZE];
	uint64_t seg = 0, a = 0, b = 0, start = 0;
	enum name_kind kind;
	int r, k;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(path)) == NULL ||
	    (s->codec = ev_codec_new()) == NULL) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	/* not blocking on a FIFO: it is refused below */
	s->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0) {
		r = ev_seterr_errno(err, errno == ENOENT ? EV_ENOENT : EV_EIO,
				    errno, "cannot open '%s'", path);
		goto fail;
	}
	if (fstat(s->fd, &st) != 0) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot stat '%s'",
				    path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = ev_seterr(err, EV_ENOENT, "'%s' is not a regular file",
			      path);
		goto fail;
	}
	s->size = (uint64_t)st.st_size;
	memset(s->id_hex, '0', 32);
	kind = parse_name(path, &seg, &a, &b);
	r = s->size >= 8 ? ev_read_full(s->fd, hb, 8, 0) : 0;
	if (r < 0) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s'",
				    path);
		goto fail;
	}
	if (r == 1 && memcmp(hb, ev_seg_magic, 8) == 0) {
		/* a whole segment, header and all */
		start = EV_SEGHDR_SIZE;
		r = s->size >= EV_SEGHDR_SIZE
			    ? ev_read_full(s->fd, hb, sizeof(hb), 0)
			    : 0;
		if (r < 0) {
			r = ev_seterr_errno(err, EV_EIO, errno,
					    "cannot read '%s'", path);
			goto fail;
		}
		if (ev_seghdr_check(hb, r == 1 ? sizeof(hb) : 0, &sh,
				    s->hdr_why, sizeof(s->hdr_why)) == 0) {
			s->salt = sh.salt;
			s->have_salt = 1;
			s->next = sh.base;
			s->have_next = 1;
			for (k = 0; k < 16; k++) {
				s->id_hex[2 * k] = hx[sh.id[k] >> 4];
				s->id_hex[2 * k + 1] = hx[sh.id[k] & 15];
			}
			s->hdr_why[0] = '\0';
		} else if (sh.unsupported) {
			r = ev_seterr(err, EV_EDATA,
				      "cannot read '%s': segment file %s", path,
				      s->hdr_why);
			ev_sethint(err, "it was written by a newer version of "
					"evlog; use that version to read it");
			goto fail;
		} else if (kind == NAME_SEGMENT) {
			/* the name still says where its offsets start */
			s->next = seg;
			s->have_next = 1;
		}
	} else if (kind == NAME_DAMAGED) {
		s->next = a;
		s->have_next = 1;
		s->name_last = b;
		s->have_last = 1;
		from_log_segment(s, seg, kind, 0);
	} else if (kind == NAME_FROM_BYTE) {
		from_log_segment(s, seg, kind, a);
	}
	if ((r = plan(s, start)) != 0) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	set_range(s);
	if ((r = find_end(s, err)) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	ev_salvage_free(s);
	return r;
}

void ev_salvage_free(struct ev_salvage *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->p);
	free(s->path);
	ev_buf_free(&s->stored);
	ev_codec_free(s->codec);
	free(s);
}

uint64_t ev_salvage_first(const struct ev_salvage *s)
{
	return s->first;
}

uint64_t ev_salvage_end(const struct ev_salvage *s)
{
	return s->end;
}

const char *ev_salvage_log_id(const struct ev_salvage *s)
{
	return s->id_hex;
}

void ev_salvage_rewind(struct ev_salvage *s)
{
	s->at = 0;
}

/* ------------------------------------------------------------ reading */

/*
 * The records at the start of raw that a reader would take, at most
 * max: framed, decoding as events, with times in [lo, hi] unless lo is
 * EV_TIME_NONE.  Cuts raw after the last; returns how many.
 */
static uint32_t good_records(struct ev_buf *raw, uint64_t max, ev_time_t lo,
			     ev_time_t hi)
{
	const uint8_t *p, *end, *rec;
	struct ev_event ev;
	struct ev_error e;
	size_t n;
	uint32_t k = 0;

	if (raw->len == 0)
		return 0;
	p = raw->p;
	end = raw->p + raw->len;
	while (k < max && k < UINT32_MAX &&
	       ev_payload_next(&p, end, &rec, &n) == 0) {
		if (ev_event_decode(rec, n, &ev, &e) != 0 ||
		    ev_event_check_deep(&ev, &e) != 0 ||
		    (lo != EV_TIME_NONE && (ev.time < lo || ev.time > hi)))
			break;
		k++;
		raw->len = (size_t)(p - raw->p);
	}
	if (k == 0)
		raw->len = 0;
	return k;
}

/* Read n bytes at pos into s->stored (n bounded by the caller). */
static int read_stored(struct ev_salvage *s, uint64_t pos, size_t n,
		       struct ev_error *err)
{
	s->stored.len = 0;
	if (ev_buf_reserve(&s->stored, n ? n : 1) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (n > 0 && ev_read_full(s->fd, s->stored.p, n, pos) != 1)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s'",
				       s->path);
	s->stored.len = n;
	return 0;
}

/* Decode what the stored bytes give, whatever their checksum says:
 * codec 1 by frame, as far as it goes; codec 2 whole or not at all;
 * codec 0 as they are. */
static int loose_decode(struct ev_salvage *s, uint8_t codec, size_t cap,
			struct ev_buf *raw, struct ev_error *err)
{
	raw->len = 0;
	if (codec != EV_CODEC_NONE) {
		if (ev_codec_salvage(s->codec, codec, s->stored.p,
				     s->stored.len, cap, raw) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		return 0;
	}
	if (ev_buf_append(raw, s->stored.p,
			  s->stored.len < cap ? s->stored.len : cap) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}

static int is_zstd(const struct ev_buf *b)
{
	static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd};

	return b->len >= 4 && memcmp(b->p, magic, 4) == 0;
}

/* "bytes P to Q" of a part, or "byte P" for a header alone */
static const char *bytes_text(char *buf, size_t n, const struct part *pt)
{
	if (pt->end <= pt->pos + 1)
		snprintf(buf, n, "byte %llu", (unsigned long long)pt->pos);
	else
		snprintf(buf, n, "bytes %llu to %llu",
			 (unsigned long long)pt->pos,
			 (unsigned long long)(pt->end - 1));
	return buf;
}

/*
 * Say what a damaged part gave and what it lost.  got: the records
 * recovered from its start.
 */
static void report(struct ev_salvage *s, const struct part *pt, const char *why,
		   uint64_t got, ev_notice_fn notice, void *ctx)
{
	char bt[64], o1[64], o2[64], rec[160], lost[160];

	if (s->quiet)
		return;
	s->damaged = 1;
	if (s->at <= s->warned)
		return; /* said on an earlier pass */
	s->warned = s->at;
	bytes_text(bt, sizeof(bt), pt);
	rec[0] = lost[0] = '\0';
	if (got > 0)
		snprintf(rec, sizeof(rec),
			 "; recovered %s (%llu %s), unverified: the damage "
			 "may have changed them",
			 ev_offsets_text(o1, sizeof(o1), pt->base,
					 pt->base + got - 1),
			 (unsigned long long)got,
			 ev_plural(got, "event", "events"));
	if (!pt->known)
		snprintf(lost, sizeof(lost),
			 "; the events they held are lost, at offsets "
			 "that are not known");
	else if (!pt->counted)
		snprintf(lost, sizeof(lost),
			 "; the events they held from offset %llu on are "
			 "lost",
			 (unsigned long long)(pt->base + got));
	else if (pt->count == 0)
		snprintf(lost, sizeof(lost), "; they held no event");
	else if (got < pt->count)
		snprintf(lost, sizeof(lost), "; lost %s (%llu %s)",
			 ev_offsets_text(o2, sizeof(o2), pt->base + got,
					 pt->base + pt->count - 1),
			 (unsigned long long)(pt->count - got),
			 ev_plural(pt->count - got, "event", "events"));
	ev_say(notice, ctx, "'%s': %s: %s%s%s", s->path, bt, why, rec, lost);
}

/* A part of bad bytes: if its offsets are known, it may still start as
 * a batch whose header is what was damaged. */
static int bad_part(struct ev_salvage *s, const struct part *pt,
		    struct ev_batchhdr *bh, struct ev_buf *raw,
		    ev_notice_fn notice, void *ctx, struct ev_error *err)
{
	uint64_t n = pt->end - pt->pos;
	uint32_t got = 0;
	int r;

	raw->len = 0;
	if (pt->known && n > EV_BATCHHDR_SIZE) {
		n -= EV_BATCHHDR_SIZE;
		if (n > EV_MAX_STORED)
			n = EV_MAX_STORED;
		if ((r = read_stored(s, pt->pos + EV_BATCHHDR_SIZE, (size_t)n,
				     err)) != 0 ||
		    (r = loose_decode(s,
				      is_zstd(&s->stored) ? EV_CODEC_ZSTD_ANY
							  : EV_CODEC_NONE,
				      EV_MAX_BATCH, raw, err)) != 0)
			return r;
		got = good_records(raw, pt->counted ? pt->count : UINT32_MAX,
				   EV_TIME_NONE, EV_TIME_NONE);
	}
	report(s, pt, "not a valid batch", got, notice, ctx);
	if (got == 0)
		return 0;
	memset(bh, 0, sizeof(*bh));
	bh->base = pt->base;
	bh->count = got;
	bh->min_time = bh->max_time = bh->append_time = EV_TIME_NONE;
	return 1;
}

/* A batch whose header checks out: whole, or what its payload gives. */
static int batch_part(struct ev_salvage *s, const struct part *pt,
		      struct ev_batchhdr *bh, struct ev_buf *raw,
		      ev_notice_fn notice, void *ctx, struct ev_error *err)
{
	const struct ev_batchhdr *h = &pt->h;
	uint64_t have = pt->end - pt->pos - EV_BATCHHDR_SIZE;
	const char *why = NULL;
	uint32_t got;
	int r;

	if ((r = read_stored(s, pt->pos + EV_BATCHHDR_SIZE, (size_t)have,
			     err)) != 0)
		return r;
	if (have < h->stored_len)
		why = "batch cut short by the end of the file";
	else if (ev_crc32c(0, s->stored.p, h->stored_len) != h->payload_crc)
		why = "batch payload checksum mismatch";
	else if ((r = ev_codec_decode(s->codec, h, s->stored.p, raw, &why)) ==
		 EV_ERR)
		return ev_seterr(err, EV_ERR, "%s", why);
	if (why == NULL) {
		size_t len = raw->len;
		got = good_records(raw, h->count, h->min_time, h->max_time);
		if (got == h->count && raw->len == len) {
			*bh = *h;
			return 1; /* the batch as a reader reads it */
		}
		why = got < h->count ? "record damaged"
				     : "batch payload has bytes after its last "
				       "record";
	} else {
		if ((r = loose_decode(s, h->codec, h->raw_len, raw, err)) != 0)
			return r;
		got = good_records(raw, h->count, h->min_time, h->max_time);
	}
	report(s, pt, why, got, notice, ctx);
	if (got == 0)
		return 0;
	*bh = *h;
	bh->count = got;
	bh->stored_len = 0;
	return 1;
}

/*
 * The end is after the last event that can be recovered, not after the
 * last offset a header names, so that "the last N events" are events:
 * decode the last parts, quietly, until one gives some.
 */
static int find_end(struct ev_salvage *s, struct ev_error *err)
{
	struct ev_batchhdr bh;
	struct ev_buf raw = {0};
	size_t i = s->n;
	int r = 0;

	s->quiet = 1;
	while (i-- > 0) {
		const struct part *pt = &s->p[i];
		if (!pt->known)
			continue;
		if (pt->kind == PART_BATCH)
			r = batch_part(s, pt, &bh, &raw, NULL, NULL, err);
		else if (pt->kind == PART_BAD)
			r = bad_part(s, pt, &bh, &raw, NULL, NULL, err);
		else
			continue;
		if (r != 0)
			break;
	}
	if (r == 1)
		s->end = bh.base + bh.count;
	s->quiet = 0;
	ev_buf_free(&raw);
	return r < 0 ? r : 0;
}

int ev_salvage_next(struct ev_salvage *s, struct ev_batchhdr *bh,
		    struct ev_buf *raw, ev_notice_fn notice, void *ctx,
		    struct ev_error *err)
{
	char o[64], why[240];
	int r;

	if (s->hdr_why[0] != '\0' && !s->hdr_warned) {
		ev_say(notice, ctx,
		       "'%s': segment header: %s; reading the batches after "
		       "it",
		       s->path, s->hdr_why);
		s->hdr_warned = s->damaged = 1;
	}
	while (s->at < s->n) {
		const struct part *pt = &s->p[s->at++];
		switch (pt->kind) {
		case PART_BATCH:
			r = batch_part(s, pt, bh, raw, notice, ctx, err);
			break;
		case PART_BAD:
			r = bad_part(s, pt, bh, raw, notice, ctx, err);
			break;
		case PART_GAP:
			if (s->at > s->warned) {
				s->warned = s->at;
				ev_say(notice, ctx,
				       "'%s': %s lost to damage and repaired "
				       "as a gap (%llu %s); reading on after "
				       "them",
				       s->path,
				       ev_offsets_text(o, sizeof(o), pt->base,
						       pt->base + pt->count -
							       1),
				       (unsigned long long)pt->count,
				       ev_plural(pt->count, "event", "events"));
			}
			r = 0;
			break;
		default: /* PART_HOLE */
			snprintf(why, sizeof(why), "%s (%llu %s) %s",
				 ev_offsets_text(o, sizeof(o), pt->base,
						 pt->base + pt->count - 1),
				 (unsigned long long)pt->count,
				 ev_plural(pt->count, "event", "events"),
				 pt->count == 1 ? "is not in the file"
						: "are not in the file");
			s->damaged = 1;
			if (s->at > s->warned) {
				s->warned = s->at;
				ev_say(notice, ctx, "'%s': %s", s->path, why);
			}
			r = 0;
			break;
		}
		if (r != 0) {
			if (r == 1)
				s->recovered += bh->count;
			return r;
		}
	}
	if (s->damaged && s->recovered == 0)
		return ev_seterr(err, EV_EDATA,
				 "no event could be recovered from '%s'",
				 s->path);
	return 0;
}
