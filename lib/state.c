/*
 * state.c - struct ev_state: what writers must know to append to streams
 * and to drop duplicates (evlog(5) STATE): each stream's last version and
 * offset, and the ids of the last dedupe-window events.
 *
 * The state is derived from the log and kept in memory.  Snapshots in
 * LOG/state/ (written atomically now and then) say what it was up to some
 * offset; loading one and replaying the events after it brings a writer
 * or a reader up to date.  A missing, damaged or stale snapshot only
 * means a longer replay: the log is the truth.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog_private.h"

struct srec {
	uint64_t h;		/* 0 = empty slot */
	uint32_t name_off, name_len;
	uint64_t last_version, last_offset, first_offset, count;
};

struct idrec {
	uint64_t h;		/* 0 = empty slot */
	uint64_t off;
};

struct ev_state {
	struct ev_log *log;
	struct srec *s;
	size_t s_cap, s_n;
	char *names;
	size_t names_len, names_cap;
	struct idrec *ids;
	size_t i_cap, i_n;
	uint64_t window;	/* 0: no dedupe */
	uint64_t covered;	/* reflects the events before this offset */
	uint64_t snap_covered;	/* ... and the newest snapshot this */
};

uint64_t ev_hash64(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull), w;

	while (n >= 8) {
		memcpy(&w, s, 8);
		h ^= w * 0xff51afd7ed558ccdull;
		h = ((h << 27) | (h >> 37)) * 0xc4ceb9fe1a85ec53ull;
		s += 8;
		n -= 8;
	}
	w = 0;
	memcpy(&w, s, n);
	h ^= w * 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h | 1; /* never 0, the empty slot */
}

/* ------------------------------------------------------------ streams */

static int s_grow(struct ev_state *st)
{
	size_t cap = st->s_cap ? st->s_cap * 2 : 1024, i, j;
	struct srec *ns = calloc(cap, sizeof(*ns));

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

int ev_state_stream(struct ev_state *st, const char *name, size_t n,
		    struct ev_stream_info *out)
{
	struct srec *r = s_find(st, name, n, ev_hash64(name, n));

	if (r == NULL)
		return 0;
	out->name = st->names + r->name_off;
	out->name_len = r->name_len;
	out->last_version = r->last_version;
	out->last_offset = r->last_offset;
	out->first_offset = r->first_offset;
	out->count = r->count;
	return 1;
}

/* ------------------------------------------------------------ ids */

static int i_rebuild(struct ev_state *st, size_t cap)
{
	struct idrec *ni = calloc(cap, sizeof(*ni));
	uint64_t oldest = st->covered > st->window ? st->covered - st->window : 0;
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

/* Offsets within the window whose id hashes like this one; the caller
 * confirms each against the record.  Returns how many were written. */
size_t ev_state_id_candidates(struct ev_state *st, const char *id, size_t n,
			      uint64_t *offs, size_t max)
{
	uint64_t h = ev_hash64(id, n);
	uint64_t oldest = st->covered > st->window ? st->covered - st->window : 0;
	size_t j, k = 0;

	if (st->window == 0 || st->i_cap == 0)
		return 0;
	for (j = h & (st->i_cap - 1); st->ids[j].h != 0; j = (j + 1) & (st->i_cap - 1))
		if (st->ids[j].h == h && st->ids[j].off >= oldest && k < max)
			offs[k++] = st->ids[j].off;
	return k;
}

/* ------------------------------------------------------------ applying */

int ev_state_apply(struct ev_state *st, const struct ev_str *id,
		   const struct ev_str *stream, uint64_t version, uint64_t offset)
{
	struct srec *r;
	uint64_t h;

	if (st->window > 0 && i_insert(st, ev_hash64(id->p, id->n), offset) != 0)
		return EV_ERR;
	if (stream->p != NULL) {
		h = ev_hash64(stream->p, stream->n);
		r = s_find(st, stream->p, stream->n, h);
		if (r == NULL && (r = s_insert(st, stream->p, stream->n, h)) == NULL)
			return EV_ERR;
		/* an event without a version (older logs) is the next one */
		r->last_version = version ? version : r->last_version + 1;
		r->last_offset = offset;
		if (r->first_offset == EV_NO_PREV)
			r->first_offset = offset;
		r->count++;
	}
	if (offset + 1 > st->covered)
		st->covered = offset + 1;
	return 0;
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
		r = ev_event_decode(rec.p, rec.n, &ev, err);
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

/* ------------------------------------------------------------ snapshots */

static const uint8_t s_magic[8] = {'E', 'V', 'S', 'T', 'R', 'E', 'A', 'M'};
static const uint8_t i_magic[8] = {'E', 'V', 'I', 'D', 'S', 'N', 'A', 'P'};

static int read_file(int dirfd, const char *name, struct ev_buf *b)
{
	struct stat st;
	int fd = ev_openat(dirfd, name, O_RDONLY, 0), r;

	if (fd < 0)
		return -1;
	b->len = 0;
	if (fstat(fd, &st) != 0 || ev_buf_reserve(b, (size_t)st.st_size) != 0) {
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

/* Load the stream snapshot: 1 loaded, 0 unusable. */
static int load_streams(struct ev_state *st, int dirfd, uint64_t first,
			uint64_t end)
{
	struct ev_buf b = {0};
	const uint8_t *p, *e;
	uint64_t covered, count, k;
	int ok = 0;

	if (read_file(dirfd, "streams", &b) != 0 || b.len < 56 ||
	    memcmp(b.p, s_magic, 8) != 0 || ev_get32(b.p + 8) != 1 ||
	    memcmp(b.p + 16, st->log->id, 16) != 0 ||
	    ev_get32(b.p + b.len - 4) != ev_crc32c(0, b.p, b.len - 4))
		goto out;
	covered = ev_get64(b.p + 32);
	count = ev_get64(b.p + 40);
	if (covered > end || covered < first)
		goto out; /* from a longer log (repaired), or trimmed past */
	p = b.p + 48;
	e = b.p + b.len - 4;
	for (k = 0; k < count; k++) {
		struct srec *r;
		uint32_t n;
		if ((size_t)(e - p) < 36)
			goto out;
		n = ev_get32(p + 32);
		if ((size_t)(e - p) - 36 < n)
			goto out;
		r = s_insert(st, (const char *)p + 36, n,
			     ev_hash64(p + 36, n));
		if (r == NULL)
			goto out;
		r->last_version = ev_get64(p);
		r->last_offset = ev_get64(p + 8);
		r->first_offset = ev_get64(p + 16);
		r->count = ev_get64(p + 24);
		p += 36 + n;
	}
	st->covered = covered;
	ok = 1;
out:
	ev_buf_free(&b);
	return ok;
}

/* Load the id snapshot, for the same covered offset: 1 or 0. */
static int load_ids(struct ev_state *st, int dirfd)
{
	struct ev_buf b = {0};
	uint64_t count, k, covered;
	const uint8_t *p;
	int ok = 0;

	if (read_file(dirfd, "ids", &b) != 0 || b.len < 56 ||
	    memcmp(b.p, i_magic, 8) != 0 || ev_get32(b.p + 8) != 1 ||
	    memcmp(b.p + 16, st->log->id, 16) != 0 ||
	    ev_get32(b.p + b.len - 4) != ev_crc32c(0, b.p, b.len - 4))
		goto out;
	covered = ev_get64(b.p + 32);
	count = ev_get64(b.p + 40);
	if (covered != st->covered || (b.len - 52) / 16 != count)
		goto out;
	p = b.p + 48;
	for (k = 0; k < count; k++, p += 16)
		if (i_insert(st, ev_get64(p), ev_get64(p + 8)) != 0)
			goto out;
	ok = 1;
out:
	ev_buf_free(&b);
	return ok;
}

static void reset(struct ev_state *st)
{
	free(st->s);
	free(st->names);
	free(st->ids);
	st->s = NULL;
	st->names = NULL;
	st->ids = NULL;
	st->s_cap = st->s_n = st->names_len = st->names_cap = 0;
	st->i_cap = st->i_n = 0;
	st->covered = 0;
}

int ev_state_load(struct ev_state **out, struct ev_log *log, int want_ids,
		  struct ev_error *err)
{
	struct ev_state *st = calloc(1, sizeof(*st));
	struct ev_reader *rd;
	uint64_t first, end;
	int dirfd, r;

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
	first = ev_reader_first_offset(rd);
	end = ev_reader_end_offset(rd);
	ev_reader_free(rd);
	dirfd = ev_openat(log->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	if (dirfd >= 0) {
		if (load_streams(st, dirfd, first, end)) {
			st->snap_covered = st->covered;
			/* ids must match the same point, or none are used */
			if (st->window > 0 && !load_ids(st, dirfd)) {
				reset(st);
				st->snap_covered = 0;
			}
		} else {
			reset(st);
		}
		close(dirfd);
	}
	if (st->covered == 0)
		st->covered = first;
	r = ev_state_catch_up(st, end, err);
	if (r != 0) {
		ev_state_free(st);
		return r;
	}
	*out = st;
	return 0;
}

int ev_state_snapshot_status(struct ev_log *log, struct ev_error *err)
{
	struct ev_state *st = calloc(1, sizeof(*st));
	struct ev_reader *rd;
	uint64_t first, end;
	int dirfd, r, have;

	if (st == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	st->log = log;
	st->window = log->cfg.dedupe_window;
	r = ev_reader_open(&rd, log, err);
	if (r != 0) {
		free(st);
		return r;
	}
	first = ev_reader_first_offset(rd);
	end = ev_reader_end_offset(rd);
	ev_reader_free(rd);
	dirfd = ev_openat(log->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	have = dirfd >= 0 && (faccessat(dirfd, "streams", F_OK, 0) == 0 ||
			      faccessat(dirfd, "ids", F_OK, 0) == 0);
	r = 0;
	if (have)
		r = load_streams(st, dirfd, first, end) &&
				    (st->window == 0 || load_ids(st, dirfd))
			    ? 1
			    : 2;
	if (dirfd >= 0)
		close(dirfd);
	ev_state_free(st);
	return r;
}

void ev_state_free(struct ev_state *st)
{
	if (st == NULL)
		return;
	reset(st);
	free(st);
}

uint64_t ev_state_stream_count(const struct ev_state *st)
{
	return st->s_n;
}

uint64_t ev_state_covered(const struct ev_state *st)
{
	return st->covered;
}

uint64_t ev_state_unsaved(const struct ev_state *st)
{
	return st->covered - st->snap_covered;
}

static int write_snapshot(int dirfd, const char *name, struct ev_buf *b)
{
	char tmp[64];
	int fd;

	ev_put32(b->p + 8, 1);
	if (ev_buf_reserve(b, 4) != 0)
		return -1;
	ev_put32(b->p + b->len, ev_crc32c(0, b->p, b->len));
	b->len += 4;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", name, (long)getpid());
	fd = ev_openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	if (ev_write_full(fd, b->p, b->len, 0) != 0 || fsync(fd) != 0) {
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, name) != 0) {
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

int ev_state_snapshot(struct ev_state *st, struct ev_error *err)
{
	struct ev_buf b = {0};
	uint64_t oldest = st->covered > st->window ? st->covered - st->window : 0;
	size_t i;
	uint64_t n = 0;
	uint8_t e[36];
	int dirfd, r = 0;

	if (mkdirat(st->log->dirfd, "state", 0755) != 0 && errno != EEXIST)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot create '%s/state'", st->log->path);
	dirfd = ev_openat(st->log->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	if (dirfd < 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot open '%s/state'",
				       st->log->path);
	/* the ids first: a stream snapshot is used only with its ids */
	if (st->window > 0) {
		if (ev_buf_reserve(&b, 48 + st->i_n * 16) != 0)
			goto oom;
		memset(b.p, 0, 48);
		memcpy(b.p, i_magic, 8);
		memcpy(b.p + 16, st->log->id, 16);
		ev_put64(b.p + 32, st->covered);
		b.len = 48;
		for (i = 0; i < st->i_cap; i++) {
			if (st->ids[i].h == 0 || st->ids[i].off < oldest)
				continue;
			if (ev_buf_reserve(&b, 16) != 0)
				goto oom;
			ev_put64(b.p + b.len, st->ids[i].h);
			ev_put64(b.p + b.len + 8, st->ids[i].off);
			b.len += 16;
			n++;
		}
		ev_put64(b.p + 40, n);
		if (write_snapshot(dirfd, "ids", &b) != 0) {
			r = ev_seterr_errno(err, EV_EIO, errno,
					    "cannot write '%s/state/ids'",
					    st->log->path);
			goto out;
		}
	}
	b.len = 0;
	if (ev_buf_reserve(&b, 48) != 0)
		goto oom;
	memset(b.p, 0, 48);
	memcpy(b.p, s_magic, 8);
	memcpy(b.p + 16, st->log->id, 16);
	ev_put64(b.p + 32, st->covered);
	ev_put64(b.p + 40, st->s_n);
	b.len = 48;
	for (i = 0; i < st->s_cap; i++) {
		const struct srec *s = &st->s[i];
		if (s->h == 0)
			continue;
		if (ev_buf_reserve(&b, 36 + s->name_len) != 0)
			goto oom;
		ev_put64(e, s->last_version);
		ev_put64(e + 8, s->last_offset);
		ev_put64(e + 16, s->first_offset);
		ev_put64(e + 24, s->count);
		ev_put32(e + 32, s->name_len);
		memcpy(b.p + b.len, e, 36);
		memcpy(b.p + b.len + 36, st->names + s->name_off, s->name_len);
		b.len += 36 + s->name_len;
	}
	if (write_snapshot(dirfd, "streams", &b) != 0 ||
	    ev_fsync_dir(dirfd) != 0) {
		r = ev_seterr_errno(err, EV_EIO, errno,
				    "cannot write '%s/state/streams'",
				    st->log->path);
		goto out;
	}
	st->snap_covered = st->covered;
	goto out;
oom:
	r = ev_seterr(err, EV_ERR, "out of memory");
out:
	close(dirfd);
	ev_buf_free(&b);
	return r;
}

int ev_state_foreach_stream(struct ev_state *st,
			    int (*fn)(void *ctx, const struct ev_stream_info *s),
			    void *ctx)
{
	struct ev_stream_info si;
	size_t i;
	int r;

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
	return 0;
}

/* ------------------------------------------------------------ one stream */

/* Find one stream in the snapshot without building the map: 1 found,
 * 0 not in it; *covered is what the snapshot covers (first when none is
 * usable). */
static int snapshot_find(struct ev_log *log, const char *name, size_t n,
			 uint64_t first, uint64_t end, struct ev_stream_info *out,
			 uint64_t *covered)
{
	struct ev_buf b = {0};
	const uint8_t *p, *e;
	uint64_t count, k;
	int dirfd, found = 0;

	*covered = first;
	dirfd = ev_openat(log->dirfd, "state", O_RDONLY | O_DIRECTORY, 0);
	if (dirfd < 0)
		return 0;
	if (read_file(dirfd, "streams", &b) != 0 || b.len < 52 ||
	    memcmp(b.p, s_magic, 8) != 0 || ev_get32(b.p + 8) != 1 ||
	    memcmp(b.p + 16, log->id, 16) != 0 ||
	    ev_get32(b.p + b.len - 4) != ev_crc32c(0, b.p, b.len - 4) ||
	    ev_get64(b.p + 32) > end || ev_get64(b.p + 32) < first)
		goto out;
	count = ev_get64(b.p + 40);
	p = b.p + 48;
	e = b.p + b.len - 4;
	for (k = 0; k < count; k++) {
		uint32_t len;
		if ((size_t)(e - p) < 36)
			goto out;
		len = ev_get32(p + 32);
		if ((size_t)(e - p) - 36 < len)
			goto out;
		if (len == n && memcmp(p + 36, name, n) == 0) {
			out->last_version = ev_get64(p);
			out->last_offset = ev_get64(p + 8);
			out->first_offset = ev_get64(p + 16);
			out->count = ev_get64(p + 24);
			found = 1;
		}
		p += 36 + len;
	}
	*covered = ev_get64(b.p + 32);
	close(dirfd);
	ev_buf_free(&b);
	return found;
out:
	/* unusable: from the first event */
	*covered = first;
	close(dirfd);
	ev_buf_free(&b);
	return 0;
}

int ev_state_lookup(struct ev_log *log, const char *name, size_t n,
		    struct ev_stream_info *out, uint64_t *end,
		    struct ev_error *err)
{
	struct ev_reader *rd;
	struct ev_rec rec;
	struct ev_event ev;
	uint64_t first, covered;
	int r, found;

	memset(out, 0, sizeof(*out));
	out->name = name;
	out->name_len = n;
	out->first_offset = out->last_offset = EV_NO_PREV;
	r = ev_reader_open(&rd, log, err);
	if (r != 0)
		return r;
	first = ev_reader_first_offset(rd);
	*end = ev_reader_end_offset(rd);
	found = snapshot_find(log, name, n, first, *end, out, &covered);
	/* the events since the snapshot */
	r = ev_reader_seek(rd, covered, err);
	while (r == 0 && (r = ev_reader_next(rd, &rec, err)) == 1) {
		if (rec.offset >= *end)
			break;
		r = ev_event_decode(rec.p, rec.n, &ev, err);
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
	if (r < 0)
		return r;
	return found;
}

/* ------------------------------------------------------------ the writer */

/*
 * The writer resolves each record with one probe per map, hashes
 * computed once and the slots prefetched a few records ahead: at a
 * million streams and ids the tables are far bigger than the caches, and
 * the misses, not the work, are what a lookup costs.
 */
void ev_state_prefetch(const struct ev_state *st, uint64_t sh, uint64_t ih)
{
	if (sh != 0 && st->s_cap > 0)
		__builtin_prefetch(&st->s[sh & (st->s_cap - 1)]);
	if (ih != 0 && st->i_cap > 0)
		__builtin_prefetch(&st->ids[ih & (st->i_cap - 1)]);
}

size_t ev_state_id_candidates_h(struct ev_state *st, uint64_t h, uint64_t *offs,
				size_t max)
{
	uint64_t oldest = st->covered > st->window ? st->covered - st->window : 0;
	size_t j, k = 0;

	if (st->window == 0 || st->i_cap == 0)
		return 0;
	for (j = h & (st->i_cap - 1); st->ids[j].h != 0; j = (j + 1) & (st->i_cap - 1))
		if (st->ids[j].h == h && st->ids[j].off >= oldest && k < max)
			offs[k++] = st->ids[j].off;
	return k;
}

void *ev_state_stream_h(struct ev_state *st, const char *name, size_t n,
			uint64_t h, uint64_t *last_version, uint64_t *last_offset)
{
	struct srec *r = s_find(st, name, n, h);

	*last_version = r ? r->last_version : 0;
	*last_offset = r ? r->last_offset : EV_NO_PREV;
	return r;
}

int ev_state_apply_h(struct ev_state *st, void *ref, const char *name,
		     size_t n, uint64_t sh, uint64_t ih, uint64_t version,
		     uint64_t offset)
{
	struct srec *r = ref;

	if (st->window > 0 && i_insert(st, ih, offset) != 0)
		return EV_ERR;
	if (name != NULL) {
		/* an insert may move the table: the ref is good only for
		 * a stream that was there */
		if (r == NULL && (r = s_insert(st, name, n, sh)) == NULL)
			return EV_ERR;
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
